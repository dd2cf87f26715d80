/*
 * Bit operations: BT BTS BTR BTC, BSF BSR, LZCNT TZCNT POPCNT, the BMI1/2
 * group ANDN BEXTR BLSI BLSMSK BLSR BZHI PDEP PEXT, and CRC32 (SDM vol. 2,
 * each instruction's page).
 *
 * Operand convention (decoder, insn.h), Intel order:
 *   BT*      ops[0] bit base (r/m), ops[1] bit offset (register or imm8)
 *   BSF BSR LZCNT TZCNT POPCNT   ops[0] dest, ops[1] source
 *   ANDN     ops[0] dest, ops[1] first source (VEX.vvvv), ops[2] r/m
 *   BEXTR, BZHI   ops[0] dest, ops[1] r/m, ops[2] control/index (VEX.vvvv)
 *   BLSI BLSMSK BLSR   ops[0] dest (VEX.vvvv), ops[1] r/m
 *   PDEP PEXT     ops[0] dest, ops[1] source (VEX.vvvv), ops[2] mask (r/m)
 *   CRC32    ops[0] r32/r64 accumulator, ops[1] r/m8/16/32/64 (its size
 *            says how many bytes are folded in)
 *
 * Undefined flags are set as AMD Zen sets them (measured against the host
 * by tests/unit/test-tcg-alu.c); each handler says how.  Only BT* can have
 * a memory destination; it writes before touching CF, so a fault leaves
 * the state as it was.
 *
 * Threads: handlers touch only the calling vCPU's struct tcg_cpu.
 */
#include "accel/tcg/tcg-cpu.h"

static unsigned op_size(const struct insn *in)
{
    return in->ops[0].size ? in->ops[0].size : in->op_size;
}

static uint64_t flag_if(bool c, uint64_t f) { return c ? f : 0; }

/* ---- BT, BTS, BTR, BTC ---- */

enum bt_kind { B_T, B_S, B_R, B_C };

/*
 * With a memory base and a register offset the offset is a signed integer
 * of the operand size and may reach outside the operand: the access is the
 * operand-sized unit at ea + size * (offset >> log2(bits)) (SDM vol. 2, BT,
 * "bit offset operand").  An immediate offset, or a register base, is taken
 * modulo the operand's width.
 */
static enum tcg_status bt_common(struct tcg_cpu *cpu, const struct insn *in, enum bt_kind k)
{
    unsigned size = op_size(in), bits = size * 8, shift = size == 2 ? 4 : size == 4 ? 5 : 6;
    uint64_t off, v, bit, r;
    bool far = in->ops[0].kind == OPK_MEM && in->ops[1].kind != OPK_IMM;
    uint64_t addr = 0;
    enum tcg_status st;

    st = tcg_src_read(cpu, in, 1, size, &off);
    if (st != TCG_OK)
        return st;
    if (far) {
        uint64_t soff = (off & tcg_size_sign(size)) ? off | ~tcg_size_mask(size) : off;
        /* arithmetic shift of the signed offset, done on unsigned values */
        uint64_t units = (soff >> 63) ? ~(~soff >> shift) : soff >> shift;

        addr = (tcg_ea(cpu, in) + units * size) & tcg_size_mask(in->addr_size);
        v = 0;
        st = k == B_T ? tcg_mem_read(cpu, in->mem.seg, addr, &v, size)
                      : tcg_mem_read_rmw(cpu, in->mem.seg, addr, &v, size);
    } else {
        st = k == B_T ? tcg_src_read(cpu, in, 0, size, &v) : tcg_dst_read(cpu, in, 0, size, &v);
    }
    if (st != TCG_OK)
        return st;
    bit = off & (bits - 1);
    switch (k) {
    case B_S: r = v | (1ull << bit); break;
    case B_R: r = v & ~(1ull << bit); break;
    case B_C: r = v ^ (1ull << bit); break;
    default: r = v; break;
    }
    if (k != B_T) {
        st = far ? tcg_mem_write(cpu, in->mem.seg, addr, &r, size)
                 : tcg_op_write(cpu, in, 0, r);
        if (st != TCG_OK)
            return st;      /* a fault leaves CF as it was */
    }
    /* CF is the selected bit.  ZF is unaffected; OF SF AF PF are undefined
     * and AMD Zen leaves them as they were. */
    tcg_flags_set(cpu, RFLAGS_CF, flag_if((v >> bit) & 1, RFLAGS_CF));
    return TCG_OK;
}

enum tcg_status exec_bt(struct tcg_cpu *cpu, const struct insn *in) { return bt_common(cpu, in, B_T); }
enum tcg_status exec_bts(struct tcg_cpu *cpu, const struct insn *in) { return bt_common(cpu, in, B_S); }
enum tcg_status exec_btr(struct tcg_cpu *cpu, const struct insn *in) { return bt_common(cpu, in, B_R); }
enum tcg_status exec_btc(struct tcg_cpu *cpu, const struct insn *in) { return bt_common(cpu, in, B_C); }

/* ---- BSF, BSR ---- */

/*
 * A zero source sets ZF and leaves the destination as it was, all 64 bits
 * of it even for a 32-bit operand (AMD APM vol. 3, BSF/BSR; the SDM calls
 * the destination undefined).  The undefined CF OF SF AF are cleared by AMD
 * Zen and PF is the parity of the index found (set for a zero source).
 */
static enum tcg_status bsx(struct tcg_cpu *cpu, const struct insn *in, bool rev)
{
    unsigned size = op_size(in);
    uint64_t s, r;
    enum tcg_status st = tcg_src_read(cpu, in, 1, size, &s);

    if (st != TCG_OK)
        return st;
    if (s == 0) {
        tcg_flags_set(cpu, TCG_FLAGS_ARITH, RFLAGS_ZF | RFLAGS_PF);
        return TCG_OK;
    }
    r = rev ? 63 - (uint64_t)__builtin_clzll(s) : (uint64_t)__builtin_ctzll(s);
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, tcg_flags_szp(r, 1) & RFLAGS_PF);
    return tcg_op_write(cpu, in, 0, r);
}

enum tcg_status exec_bsf(struct tcg_cpu *cpu, const struct insn *in) { return bsx(cpu, in, false); }
enum tcg_status exec_bsr(struct tcg_cpu *cpu, const struct insn *in) { return bsx(cpu, in, true); }

/* ---- LZCNT, TZCNT, POPCNT ---- */

/* CF: the source was zero; ZF: the count is zero (SDM vol. 2, LZCNT,
 * TZCNT).  Of the undefined ones AMD Zen clears SF AF PF and leaves OF. */
static enum tcg_status xzcnt(struct tcg_cpu *cpu, const struct insn *in, bool lead)
{
    unsigned size = op_size(in), bits = size * 8;
    uint64_t s, r;
    enum tcg_status st = tcg_src_read(cpu, in, 1, size, &s);

    if (st != TCG_OK)
        return st;
    if (s == 0)
        r = bits;
    else if (lead)
        r = (uint64_t)__builtin_clzll(s) - (64 - bits);
    else
        r = (uint64_t)__builtin_ctzll(s);
    tcg_flags_set(cpu, TCG_FLAGS_ARITH & ~RFLAGS_OF,
                  flag_if(s == 0, RFLAGS_CF) | flag_if(r == 0, RFLAGS_ZF));
    return tcg_op_write(cpu, in, 0, r);
}

enum tcg_status exec_lzcnt(struct tcg_cpu *cpu, const struct insn *in) { return xzcnt(cpu, in, true); }
enum tcg_status exec_tzcnt(struct tcg_cpu *cpu, const struct insn *in) { return xzcnt(cpu, in, false); }

/* POPCNT clears OF SF AF CF PF and sets ZF for a zero source. */
enum tcg_status exec_popcnt(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t s;
    enum tcg_status st = tcg_src_read(cpu, in, 1, size, &s);

    if (st != TCG_OK)
        return st;
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, flag_if(s == 0, RFLAGS_ZF));
    return tcg_op_write(cpu, in, 0, (uint64_t)__builtin_popcountll(s));
}

/* ---- BMI1 / BMI2 ---- */

static enum tcg_status read2(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                             unsigned j, unsigned size, uint64_t *a, uint64_t *b)
{
    enum tcg_status st = tcg_src_read(cpu, in, i, size, a);

    if (st != TCG_OK)
        return st;
    return tcg_src_read(cpu, in, j, size, b);
}

/* ANDN, BLSI, BLSMSK, BLSR, BZHI: SF ZF from the result, OF clear, CF as
 * given.  The undefined PF is the result's parity and AF is clear on AMD
 * Zen. */
static void bmi_flags(struct tcg_cpu *cpu, uint64_t r, unsigned size, bool cf)
{
    uint64_t f = tcg_flags_szp(r, size);

    tcg_flags_set(cpu, TCG_FLAGS_ARITH, f | flag_if(cf, RFLAGS_CF));
}

enum tcg_status exec_andn(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t a, b, r;
    enum tcg_status st = read2(cpu, in, 1, 2, size, &a, &b);

    if (st != TCG_OK)
        return st;
    r = ~a & b & tcg_size_mask(size);
    bmi_flags(cpu, r, size, false);
    return tcg_op_write(cpu, in, 0, r);
}

/* BEXTR: len bits from start (control bits 7:0 and 15:8); ZF from the
 * result, CF OF clear.  Of the undefined ones AMD Zen sets AF, clears SF and
 * sets PF from the result. */
enum tcg_status exec_bextr(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in), bits = size * 8;
    uint64_t s, ctl, r = 0, start, len;
    enum tcg_status st = read2(cpu, in, 1, 2, size, &s, &ctl);

    if (st != TCG_OK)
        return st;
    start = ctl & 0xff;
    len = (ctl >> 8) & 0xff;
    if (start < bits) {
        r = s >> start;
        if (len < 64)
            r &= (1ull << len) - 1;
    }
    tcg_flags_set(cpu, TCG_FLAGS_ARITH,
                  (tcg_flags_szp(r, size) & ~RFLAGS_SF) | RFLAGS_AF);
    return tcg_op_write(cpu, in, 0, r);
}

/* BLSI: lowest set bit; CF = (src != 0). */
enum tcg_status exec_blsi(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t s, r;
    enum tcg_status st = tcg_src_read(cpu, in, 1, size, &s);

    if (st != TCG_OK)
        return st;
    r = s & (0 - s) & tcg_size_mask(size);
    bmi_flags(cpu, r, size, s != 0);
    return tcg_op_write(cpu, in, 0, r);
}

/* BLSMSK: mask up to the lowest set bit; CF = (src == 0), ZF clear. */
enum tcg_status exec_blsmsk(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t s, r;
    enum tcg_status st = tcg_src_read(cpu, in, 1, size, &s);

    if (st != TCG_OK)
        return st;
    r = (s ^ (s - 1)) & tcg_size_mask(size);
    bmi_flags(cpu, r, size, s == 0);
    return tcg_op_write(cpu, in, 0, r);
}

/* BLSR: clear the lowest set bit; CF = (src == 0). */
enum tcg_status exec_blsr(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t s, r;
    enum tcg_status st = tcg_src_read(cpu, in, 1, size, &s);

    if (st != TCG_OK)
        return st;
    r = s & (s - 1) & tcg_size_mask(size);
    bmi_flags(cpu, r, size, s == 0);
    return tcg_op_write(cpu, in, 0, r);
}

/* BZHI: clear bits from index (bits 7:0 of the index operand) up; CF when
 * the index is beyond the operand. */
enum tcg_status exec_bzhi(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in), bits = size * 8;
    uint64_t s, idx, n, r;
    enum tcg_status st = read2(cpu, in, 1, 2, size, &s, &idx);

    if (st != TCG_OK)
        return st;
    n = idx & 0xff;
    r = n < bits ? s & ((1ull << n) - 1) : s;
    bmi_flags(cpu, r, size, n > bits - 1);
    return tcg_op_write(cpu, in, 0, r);
}

/* PDEP: deposit the low source bits at the mask's set bits.  No flags. */
enum tcg_status exec_pdep(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t s, mask, r = 0, k = 1;
    enum tcg_status st = read2(cpu, in, 1, 2, size, &s, &mask);

    if (st != TCG_OK)
        return st;
    for (; mask; mask &= mask - 1, k <<= 1)
        if (s & k)
            r |= mask & (0 - mask);
    return tcg_op_write(cpu, in, 0, r);
}

/* PEXT: gather the source bits at the mask's set bits to the bottom. */
enum tcg_status exec_pext(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t s, mask, r = 0, k = 1;
    enum tcg_status st = read2(cpu, in, 1, 2, size, &s, &mask);

    if (st != TCG_OK)
        return st;
    for (; mask; mask &= mask - 1, k <<= 1)
        if (s & mask & (0 - mask))
            r |= k;
    return tcg_op_write(cpu, in, 0, r);
}

/* ---- CRC32 ---- */

/*
 * CRC-32C (Castagnoli), bit-reflected polynomial 0x82F63B78, with no
 * initial or final inversion: the accumulator is taken and returned as is
 * (SDM vol. 2, CRC32).  The source's bytes are folded in from the lowest.
 */
enum tcg_status exec_crc32(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned ssize = in->ops[1].size ? in->ops[1].size : in->op_size;
    uint64_t acc, s;
    uint32_t crc;
    enum tcg_status st = tcg_src_read(cpu, in, 0, 4, &acc);

    if (st != TCG_OK)
        return st;
    st = tcg_src_read(cpu, in, 1, ssize, &s);
    if (st != TCG_OK)
        return st;
    crc = (uint32_t)acc;
    for (unsigned i = 0; i < ssize * 8; i++) {
        crc ^= (uint32_t)(s >> i) & 1;
        crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
    }
    return tcg_op_write(cpu, in, 0, crc);
}
