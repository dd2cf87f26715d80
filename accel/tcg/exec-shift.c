/*
 * Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR by 1, CL or imm8,
 * SHLD SHRD, and the flagless BMI2 forms SARX SHLX SHRX RORX (SDM vol. 2,
 * "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD", "SARX/SHLX/SHRX",
 * "RORX").
 *
 * Operand convention (decoder, insn.h): ops[0] is the destination and sets
 * the size; the count is the last operand (CL as a 1-byte register, or an
 * immediate).  A form decoded with no count operand (D0/D1 "by 1") counts 1.
 * SHLD/SHRD: ops[0] dest, ops[1] source register, ops[2] count.
 * SARX/SHLX/SHRX: ops[0] dest, ops[1] r/m source, ops[2] count (VEX.vvvv).
 * RORX: ops[0] dest, ops[1] r/m source, ops[2] imm8.
 *
 * The count is masked to 5 bits (6 with a 64-bit operand).  A masked count
 * of 0 changes no flag; the destination is still written (a 32-bit register
 * gets its upper half cleared, as AMD Zen does).
 *
 * Undefined flags are set as AMD Zen sets them (measured against the host
 * by tests/unit/test-tcg-alu.c): OF for counts above 1 follows the
 * count-1 formula expressed on the result (ROL, RCL: MSB(r) ^ CF; ROR, RCR,
 * SHR, SHRD: the top two result bits differ; SHL, SHLD: MSB(dest << count)
 * ^ CF), and AF is set by SHL SHR SAR SHLD SHRD.
 *
 * Threads: handlers touch only the calling vCPU's struct tcg_cpu.
 */
#include "accel/tcg/tcg-cpu.h"

/* Shifts that are defined for any n: C's << and >> are not at >= 64. */
static uint64_t shl64(uint64_t x, unsigned n) { return n >= 64 ? 0 : x << n; }
static uint64_t shr64(uint64_t x, unsigned n) { return n >= 64 ? 0 : x >> n; }

static unsigned op_size(const struct insn *in)
{
    return in->ops[0].size ? in->ops[0].size : in->op_size;
}

static enum tcg_status read_count(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                  uint64_t *count)
{
    if (in->nops <= i) {
        *count = 1;
        return TCG_OK;
    }
    return tcg_src_read(cpu, in, i, 1, count);
}

static uint64_t count_mask(unsigned size) { return size == 8 ? 63 : 31; }

static bool msb(uint64_t v, unsigned size) { return v & tcg_size_sign(size); }

static uint64_t flag_if(bool c, uint64_t f) { return c ? f : 0; }

enum shift_kind { S_ROL, S_ROR, S_RCL, S_RCR, S_SHL, S_SHR, S_SAR };

/* Inlined into each handler, so that k folds to one case. */
static inline __attribute__((always_inline)) enum tcg_status
shift(struct tcg_cpu *cpu, const struct insn *in, enum shift_kind k)
{
    unsigned size = op_size(in), bits = size * 8;
    uint64_t m = tcg_size_mask(size), a, cnt, r;
    uint64_t cf_in = cpu->st.rflags & RFLAGS_CF ? 1 : 0;
    uint64_t fmask = 0, f = 0;
    unsigned c, n;
    bool cf;
    enum tcg_status st;

    st = tcg_dst_read(cpu, in, 0, size, &a);
    if (st != TCG_OK)
        return st;
    st = read_count(cpu, in, 1, &cnt);
    if (st != TCG_OK)
        return st;
    c = cnt & count_mask(size);
    r = a;
    if (c == 0)
        return tcg_op_write(cpu, in, 0, r);

    switch (k) {
    case S_ROL:
    case S_ROR:
        /* Only CF and OF change (SDM vol. 2, RCL/RCR/ROL/ROR). */
        n = c % bits;
        if (n)
            r = k == S_ROL ? ((a << n) | (a >> (bits - n))) & m
                           : ((a >> n) | (a << (bits - n))) & m;
        cf = k == S_ROL ? (r & 1) : msb(r, size);
        fmask = RFLAGS_CF | RFLAGS_OF;
        f = flag_if(cf, RFLAGS_CF);
        /* OF (count 1; AMD Zen uses the same formula for any count):
         * ROL MSB(r) ^ CF, ROR the top two bits of r differ. */
        if (k == S_ROL ? (msb(r, size) != cf) : (msb(r, size) != msb(r << 1, size)))
            f |= RFLAGS_OF;
        break;
    case S_RCL:
    case S_RCR:
        /* A rotate through CF over bits + 1 positions. */
        n = size == 1 ? c % 9 : size == 2 ? c % 17 : c;
        cf = cf_in;
        if (n) {
            if (k == S_RCL) {
                r = (shl64(a, n) | shl64(cf_in, n - 1) | shr64(a, bits + 1 - n)) & m;
                cf = shr64(a, bits - n) & 1;
            } else {
                r = (shr64(a, n) | shl64(cf_in, bits - n) | shl64(a, bits + 1 - n)) & m;
                cf = (a >> (n - 1)) & 1;
            }
        }
        fmask = RFLAGS_CF | RFLAGS_OF;
        f = flag_if(cf, RFLAGS_CF);
        if (k == S_RCL ? (msb(r, size) != cf) : (msb(r, size) != msb(r << 1, size)))
            f |= RFLAGS_OF;
        break;
    case S_SHL:
        /* CF is the last bit out, 0 once the count passes the width (8- and
         * 16-bit operands take counts up to 31). */
        r = shl64(a, c) & m;
        cf = c <= bits ? shr64(a, bits - c) & 1 : 0;
        fmask = TCG_FLAGS_ARITH;
        f = tcg_flags_szp(r, size) | flag_if(cf, RFLAGS_CF) | RFLAGS_AF;
        if (msb(r, size) != cf)
            f |= RFLAGS_OF;
        break;
    case S_SHR:
        /* OF: the original MSB for a count of 1 (SDM), which is where the
         * top two result bits differ; AMD Zen applies that to any count. */
        r = a >> c;
        cf = (a >> (c - 1)) & 1;
        fmask = TCG_FLAGS_ARITH;
        f = tcg_flags_szp(r, size) | flag_if(cf, RFLAGS_CF) | RFLAGS_AF;
        if (msb(r, size) != msb(r << 1, size))
            f |= RFLAGS_OF;
        break;
    case S_SAR: {
        /* Sign-extend to 64 bits, then shift in copies of the sign. */
        uint64_t sa = msb(a, size) ? a | ~m : a;

        r = (msb(a, size) ? ~(~sa >> c) : sa >> c) & m;
        cf = ((msb(a, size) ? ~(~sa >> (c - 1)) : sa >> (c - 1)) & 1);
        fmask = TCG_FLAGS_ARITH;
        f = tcg_flags_szp(r, size) | flag_if(cf, RFLAGS_CF) | RFLAGS_AF;
        break;
    }
    }
    st = tcg_op_write(cpu, in, 0, r);
    if (st == TCG_OK)
        tcg_flags_set(cpu, fmask, f);
    return st;
}

enum tcg_status exec_rol(struct tcg_cpu *cpu, const struct insn *in) { return shift(cpu, in, S_ROL); }
enum tcg_status exec_ror(struct tcg_cpu *cpu, const struct insn *in) { return shift(cpu, in, S_ROR); }
enum tcg_status exec_rcl(struct tcg_cpu *cpu, const struct insn *in) { return shift(cpu, in, S_RCL); }
enum tcg_status exec_rcr(struct tcg_cpu *cpu, const struct insn *in) { return shift(cpu, in, S_RCR); }
enum tcg_status exec_shl(struct tcg_cpu *cpu, const struct insn *in) { return shift(cpu, in, S_SHL); }
enum tcg_status exec_shr(struct tcg_cpu *cpu, const struct insn *in) { return shift(cpu, in, S_SHR); }
enum tcg_status exec_sar(struct tcg_cpu *cpu, const struct insn *in) { return shift(cpu, in, S_SAR); }

/*
 * SHLD/SHRD: dest shifted with bits of the source coming in (SDM vol. 2,
 * SHLD, SHRD).  CF is the last bit shifted out of dest; OF says whether the
 * sign changed.
 */
static enum tcg_status shxd(struct tcg_cpu *cpu, const struct insn *in, bool left)
{
    unsigned size = op_size(in), bits = size * 8, c;
    uint64_t m = tcg_size_mask(size), a, b, cnt, r, f;
    bool cf;
    enum tcg_status st;

    st = tcg_dst_read(cpu, in, 0, size, &a);
    if (st == TCG_OK)
        st = tcg_src_read(cpu, in, 1, size, &b);
    if (st == TCG_OK)
        st = read_count(cpu, in, 2, &cnt);
    if (st != TCG_OK)
        return st;
    c = cnt & count_mask(size);
    if (c == 0)
        return tcg_op_write(cpu, in, 0, a);
    if (c > bits) {
        /* Only a 16-bit operand gets here (counts 17..31), where the SDM
         * leaves result and flags undefined.  AMD Zen shifts the
         * 48-bit dest:src:src (SHLD) or src:src:dest (SHRD), so the result
         * is src rotated by count - 16; CF and OF come out as the plain
         * SHL/SHR of dest would set them (so CF = OF = 0 here). */
        unsigned n = c - bits;

        r = left ? ((b << n) | (b >> (bits - n))) & m : ((b >> n) | (b << (bits - n))) & m;
    } else if (left) {
        r = (shl64(a, c) | shr64(b, bits - c)) & m;
    } else {
        r = (shr64(a, c) | shl64(b, bits - c)) & m;
    }
    /* CF is the last bit shifted out of dest (0 past its width).  OF, beyond
     * a count of 1, is set by AMD Zen as SHL/SHR set theirs: for SHLD
     * MSB(dest << count) ^ CF, for SHRD the top two result bits differ.
     * AF is set. */
    cf = left ? shr64(a, bits - c) & 1 : shr64(a, c - 1) & 1;
    if (left && c > bits)
        cf = 0;
    f = tcg_flags_szp(r, size) | flag_if(cf, RFLAGS_CF) | RFLAGS_AF;
    if (left ? msb(shl64(a, c), size) != cf : msb(r, size) != msb(r << 1, size))
        f |= RFLAGS_OF;
    st = tcg_op_write(cpu, in, 0, r);
    if (st == TCG_OK)
        tcg_flags_set(cpu, TCG_FLAGS_ARITH, f);
    return st;
}

enum tcg_status exec_shld(struct tcg_cpu *cpu, const struct insn *in) { return shxd(cpu, in, true); }
enum tcg_status exec_shrd(struct tcg_cpu *cpu, const struct insn *in) { return shxd(cpu, in, false); }

/* BMI2 shifts: no flag changes, count masked like the legacy forms. */
enum shx_kind { X_SAR, X_SHL, X_SHR, X_ROR };

static enum tcg_status shx(struct tcg_cpu *cpu, const struct insn *in, enum shx_kind k)
{
    unsigned size = op_size(in), bits = size * 8, c;
    uint64_t m = tcg_size_mask(size), a, cnt, r;
    enum tcg_status st;

    st = tcg_src_read(cpu, in, 1, size, &a);
    if (st == TCG_OK)
        st = tcg_src_read(cpu, in, 2, size, &cnt);
    if (st != TCG_OK)
        return st;
    c = cnt & count_mask(size);
    switch (k) {
    case X_SHL: r = (a << c) & m; break;
    case X_SHR: r = a >> c; break;
    case X_SAR: r = msb(a, size) ? ~(~(a | ~m) >> c) & m : a >> c; break;
    default: r = c ? ((a >> c) | (a << (bits - c))) & m : a; break;
    }
    return tcg_op_write(cpu, in, 0, r);
}

enum tcg_status exec_sarx(struct tcg_cpu *cpu, const struct insn *in) { return shx(cpu, in, X_SAR); }
enum tcg_status exec_shlx(struct tcg_cpu *cpu, const struct insn *in) { return shx(cpu, in, X_SHL); }
enum tcg_status exec_shrx(struct tcg_cpu *cpu, const struct insn *in) { return shx(cpu, in, X_SHR); }
enum tcg_status exec_rorx(struct tcg_cpu *cpu, const struct insn *in) { return shx(cpu, in, X_ROR); }
