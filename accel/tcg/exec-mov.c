/*
 * Data movement: mov, movzx/movsx/movsxd, lea, xchg, cmpxchg (and 8b/16b),
 * xadd, bswap, movbe, cmovcc, setcc, cbw/cwde/cdqe, cwd/cdq/cqo, xlat,
 * lahf, sahf (Intel SDM vol. 2, each instruction's page).
 *
 * Operand conventions this file relies on (decode-tables.c fills them):
 *   - ops[0] is the destination, ops[1] the source (Intel order); an
 *     accumulator the encoding implies (cmpxchg's rAX, cbw's AL/AX/EAX,
 *     xlat's AL and rBX) is not read from ops[] but named here.
 *   - An immediate operand carries the value sign-extended to 64 bits where
 *     the encoding sign-extends; it is truncated here to the destination's
 *     size, so ops[1].size of an imm does not matter.
 *   - cmovcc/setcc take their condition from the low 4 bits of in->opcode.
 *   - cbw and cwd are one operation each, their width is in->op_size.
 *   - xlat's segment is in->mem.seg when PFX_SEG is set, else DS.
 *   - lahf/sahf touch AH directly (bits 15:8 of rAX), whatever the
 *     decoder's convention for hi8 registers.
 *
 * The read-modify-write forms read memory with write intent (see
 * rmw_read), and the undefined results (bswap r16) and access widths
 * (movsxd r16, m16) follow the host, as the differential tester
 * (tests/diff) measures them.
 *
 * Threads: runs on the vCPU thread that owns cpu.
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"

static inline uint64_t sext(uint64_t v, unsigned size)
{
    uint64_t m = tcg_size_mask(size);
    uint64_t sign = (m >> 1) + 1;

    v &= m;
    return (v ^ sign) - sign;
}

/*
 * The read-modify-write forms (xchg, cmpxchg, xadd with memory) read their
 * memory operand with write intent: the segment must be writable and the
 * page walk checks W, so a read-only target faults as a write would (#GP
 * for a code segment, #PF with W set in the error code), as on the host.
 * rmw_read returns the linear address for the write that follows.
 */
static enum tcg_status rmw_read(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                uint64_t *val, uint64_t *lin)
{
    unsigned size = in->ops[i].size;
    uint8_t b[8] = { 0 };
    enum tcg_status s;

    if (in->ops[i].kind != OPK_MEM) {
        *lin = 0;
        return tcg_op_read(cpu, in, i, val);
    }
    if ((s = tcg_linear(cpu, in->mem.seg, tcg_ea(cpu, in), size, ACC_WRITE, lin)) != TCG_OK ||
        (s = tcg_read_lin(cpu, *lin, b, size, ACC_WRITE)) != TCG_OK) {
        return s;
    }
    memcpy(val, b, sizeof(b));
    return TCG_OK;
}

static enum tcg_status rmw_write(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                 uint64_t lin, uint64_t val)
{
    uint8_t b[8];

    if (in->ops[i].kind != OPK_MEM) {
        return tcg_op_write(cpu, in, i, val);
    }
    memcpy(b, &val, sizeof(b));
    return tcg_write_lin(cpu, lin, b, in->ops[i].size);
}

/* Reads source operand i; an immediate comes back as its full 64-bit
 * (sign-extended) encoding value. */
static enum tcg_status read_src(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                uint64_t *v)
{
    if (in->ops[i].kind == OPK_IMM) {
        *v = in->ops[i].imm;
        return TCG_OK;
    }
    return tcg_op_read(cpu, in, i, v);
}

static uint64_t bswap_n(uint64_t v, unsigned size)
{
    uint64_t r = 0;

    for (unsigned i = 0; i < size; i++) {
        r = (r << 8) | ((v >> (8 * i)) & 0xff);
    }
    return r;
}

enum tcg_status exec_mov(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    enum tcg_status s = read_src(cpu, in, 1, &v);

    if (s != TCG_OK) {
        return s;
    }
    return tcg_op_write(cpu, in, 0, v & tcg_size_mask(in->ops[0].size));
}

enum tcg_status exec_movzx(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    enum tcg_status s = tcg_op_read(cpu, in, 1, &v);

    if (s != TCG_OK) {
        return s;
    }
    return tcg_op_write(cpu, in, 0, v & tcg_size_mask(in->ops[1].size));
}

/* movsx and movsxd: sign-extend the source to the destination's size.  A
 * movsxd with a 16- or 32-bit destination is a plain move (SDM vol. 2B
 * MOVSX/MOVSXD). */
enum tcg_status exec_movsx(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    unsigned ss = in->ops[1].size, ds = in->ops[0].size;
    enum tcg_status s;

    if (in->op == OP_MOVSXD && in->ops[1].kind == OPK_MEM && ss < 4 &&
        !tcg_host_is_intel()) {
        /* movsxd r16, m16: the AMD host reads a dword (it faults on the
         * bytes past the word) and keeps the low word. */
        uint8_t b[4];

        if ((s = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), b, 4)) != TCG_OK) {
            return s;
        }
        v = b[0] | ((uint64_t)b[1] << 8);
    } else if ((s = tcg_op_read(cpu, in, 1, &v)) != TCG_OK) {
        return s;
    }
    if (ss > ds) {
        ss = ds;
    }
    return tcg_op_write(cpu, in, 0, sext(v, ss) & tcg_size_mask(ds));
}

/* The address itself, truncated to the operand size (SDM vol. 2A LEA:
 * address and operand sizes combine by truncation or zero extension). */
enum tcg_status exec_lea(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    return tcg_op_write(cpu, in, 0, tcg_ea(cpu, in) & tcg_size_mask(in->ops[0].size));
}

/* Both values are read before either is written, and the memory one (if
 * any) is written first, so a fault there changes nothing. */
enum tcg_status exec_xchg(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned m = in->ops[1].kind == OPK_MEM ? 1 : 0, r = 1 - m;
    uint64_t vm, vr, lin;
    enum tcg_status s;

    if ((s = rmw_read(cpu, in, m, &vm, &lin)) != TCG_OK ||
        (s = tcg_op_read(cpu, in, r, &vr)) != TCG_OK ||
        (s = rmw_write(cpu, in, m, lin, vr)) != TCG_OK) {
        return s;
    }
    return tcg_op_write(cpu, in, r, vm);
}

/*
 * SDM vol. 2A CMPXCHG: flags as "cmp rAX, dest".  Equal: dest = src.  Not
 * equal: rAX = dest; a memory destination is written back with its own
 * value (the locked cycle always writes), a register destination is left
 * alone, so a 32-bit one keeps its upper half (the host does this: on a
 * miss only rAX is written and zero-extended, on a hit only dest).
 */
enum tcg_status exec_cmpxchg(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->ops[0].size;
    uint64_t m = tcg_size_mask(size);
    uint64_t dest, src, acc, lin;
    enum tcg_status s;

    if ((s = rmw_read(cpu, in, 0, &dest, &lin)) != TCG_OK ||
        (s = tcg_op_read(cpu, in, 1, &src)) != TCG_OK) {
        return s;
    }
    dest &= m;
    acc = tcg_reg_read(cpu, R_EAX, size, false) & m;
    if (acc == dest) {
        if ((s = rmw_write(cpu, in, 0, lin, src & m)) != TCG_OK) {
            return s;
        }
    } else {
        if (in->ops[0].kind == OPK_MEM && (s = rmw_write(cpu, in, 0, lin, dest)) != TCG_OK) {
            return s;
        }
        tcg_reg_write(cpu, R_EAX, size, false, dest);
    }
    tcg_flags_sub(cpu, acc, dest, 0, (acc - dest) & m, size);
    return TCG_OK;
}

/*
 * SDM vol. 2A CMPXCHG8B/CMPXCHG16B: compare rDX:rAX with the memory
 * operand; equal: ZF = 1 and store rCX:rBX; else ZF = 0 and load rDX:rAX
 * (as 32-bit writes for 8b, which clear the upper halves in 64-bit mode).
 * Memory is written either way.  Only ZF changes.
 */
static enum tcg_status cmpxchg_wide(struct tcg_cpu *cpu, const struct insn *in, unsigned half)
{
    uint64_t m = tcg_size_mask(half);
    uint64_t buf[2] = { 0, 0 }, lo = 0, hi = 0, off, lin;
    uint8_t bytes[16];
    unsigned seg = in->mem.seg;
    enum tcg_status s;

    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    off = tcg_ea(cpu, in);
    if (half == 8) {
        /* The 16-byte form needs a 16-byte aligned operand: #GP(0), checked
         * before the segment and canonical checks (as the host orders
         * them).  In 64-bit mode only FS and GS have a base. */
        uint64_t base = cpu->st.seg[seg].base;

        if (cpu->mode == MODE_LONG64 && seg != S_FS && seg != S_GS) {
            base = 0;
        }
        if ((off + base) & 15) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
    }
    /* A locked read-modify-write: read with write intent. */
    if ((s = tcg_linear(cpu, seg, off, 2 * half, ACC_WRITE, &lin)) != TCG_OK ||
        (s = tcg_read_lin(cpu, lin, bytes, 2 * half, ACC_WRITE)) != TCG_OK) {
        return s;
    }
    memcpy(&lo, bytes, half);
    memcpy(&hi, bytes + half, half);
    lo &= m;
    hi &= m;
    if (lo == (cpu->st.regs[R_EAX] & m) && hi == (cpu->st.regs[R_EDX] & m)) {
        buf[0] = cpu->st.regs[R_EBX] & m;
        buf[1] = cpu->st.regs[R_ECX] & m;
        memcpy(bytes, &buf[0], half);
        memcpy(bytes + half, &buf[1], half);
        if ((s = tcg_write_lin(cpu, lin, bytes, 2 * half)) != TCG_OK) {
            return s;
        }
        cpu->st.rflags |= RFLAGS_ZF;
    } else {
        if ((s = tcg_write_lin(cpu, lin, bytes, 2 * half)) != TCG_OK) {
            return s;
        }
        tcg_reg_write(cpu, R_EAX, half, false, lo);
        tcg_reg_write(cpu, R_EDX, half, false, hi);
        cpu->st.rflags &= ~RFLAGS_ZF;
    }
    return TCG_OK;
}

enum tcg_status exec_cmpxchg8b(struct tcg_cpu *cpu, const struct insn *in)
{
    return cmpxchg_wide(cpu, in, 4);
}

enum tcg_status exec_cmpxchg16b(struct tcg_cpu *cpu, const struct insn *in)
{
    return cmpxchg_wide(cpu, in, 8);
}

/* SDM vol. 2B XADD: temp = src + dest; src = dest; dest = temp.  Writing
 * dest last makes "xadd eax, eax" leave the sum, as the host does. */
enum tcg_status exec_xadd(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->ops[0].size;
    uint64_t m = tcg_size_mask(size);
    uint64_t dest, src, sum, lin;
    enum tcg_status s;

    if ((s = rmw_read(cpu, in, 0, &dest, &lin)) != TCG_OK ||
        (s = tcg_op_read(cpu, in, 1, &src)) != TCG_OK) {
        return s;
    }
    dest &= m;
    src &= m;
    sum = (dest + src) & m;
    if (in->ops[0].kind == OPK_MEM) {
        /* Memory first: a fault must leave the register source intact. */
        if ((s = rmw_write(cpu, in, 0, lin, sum)) != TCG_OK) {
            return s;
        }
        tcg_op_write(cpu, in, 1, dest);
    } else {
        tcg_op_write(cpu, in, 1, dest);
        tcg_op_write(cpu, in, 0, sum);
    }
    tcg_flags_add(cpu, dest, src, 0, sum, size);
    return TCG_OK;
}

/*
 * SDM vol. 2A BSWAP.  With a 16-bit operand the result is undefined; AMD
 * (Zen, checked on the host) and Intel both clear the low 16 bits and keep
 * the rest of the register, which is what a 16-bit write of 0 does.
 */
enum tcg_status exec_bswap(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->ops[0].size ? in->ops[0].size : in->op_size;
    uint64_t v;
    enum tcg_status s = tcg_op_read(cpu, in, 0, &v);

    if (s != TCG_OK) {
        return s;
    }
    if (size == 2) {
        return tcg_op_write(cpu, in, 0, 0);
    }
    return tcg_op_write(cpu, in, 0, bswap_n(v, size));
}

/* SDM vol. 2B MOVBE: a load or store with the bytes reversed. */
enum tcg_status exec_movbe(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->ops[0].size;
    uint64_t v;
    enum tcg_status s = tcg_op_read(cpu, in, 1, &v);

    if (s != TCG_OK) {
        return s;
    }
    return tcg_op_write(cpu, in, 0, bswap_n(v, size));
}

/*
 * SDM vol. 2A CMOVcc: the source is read (and may fault) whatever the
 * condition.  With a 32-bit operand in 64-bit mode the destination is
 * written even when the condition is false, so its upper half is cleared.
 */
enum tcg_status exec_cmovcc(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t v;
    enum tcg_status s = tcg_op_read(cpu, in, 1, &v);

    if (s != TCG_OK) {
        return s;
    }
    if (tcg_cond(cpu, in->opcode & 15)) {
        return tcg_op_write(cpu, in, 0, v);
    }
    if (in->ops[0].size == 4 && in->ops[0].kind == OPK_REG) {
        if ((s = tcg_op_read(cpu, in, 0, &v)) != TCG_OK) {
            return s;
        }
        return tcg_op_write(cpu, in, 0, v & 0xffffffffu);
    }
    return TCG_OK;
}

enum tcg_status exec_setcc(struct tcg_cpu *cpu, const struct insn *in)
{
    return tcg_op_write(cpu, in, 0, tcg_cond(cpu, in->opcode & 15) ? 1 : 0);
}

/* cbw / cwde / cdqe by operand size (SDM vol. 2A CBW/CWDE/CDQE). */
enum tcg_status exec_cbw(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->op_size;
    uint64_t v = tcg_reg_read(cpu, R_EAX, size / 2, false);

    tcg_reg_write(cpu, R_EAX, size, false, sext(v, size / 2) & tcg_size_mask(size));
    return TCG_OK;
}

/* cwd / cdq / cqo: rDX = the sign of rAX, replicated (SDM vol. 2A CWD). */
enum tcg_status exec_cwd(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->op_size;
    uint64_t v = tcg_reg_read(cpu, R_EAX, size, false);
    bool neg = (v >> (size * 8 - 1)) & 1;

    tcg_reg_write(cpu, R_EDX, size, false, neg ? tcg_size_mask(size) : 0);
    return TCG_OK;
}

/* SDM vol. 2B XLAT: AL = [seg:rBX + AL], the sum truncated to the address
 * size; DS unless overridden. */
enum tcg_status exec_xlat(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned seg = (in->prefixes & PFX_SEG) ? in->mem.seg : S_DS;
    uint64_t off = (tcg_reg_read(cpu, R_EBX, in->addr_size, false) +
                    (cpu->st.regs[R_EAX] & 0xff)) & tcg_size_mask(in->addr_size);
    uint8_t b;
    enum tcg_status s = tcg_mem_read(cpu, seg, off, &b, 1);

    if (s != TCG_OK) {
        return s;
    }
    tcg_reg_write(cpu, R_EAX, 1, false, b);
    return TCG_OK;
}

/* SF ZF AF PF CF: the flags lahf/sahf move, with bit 1 always set. */
#define LAHF_MASK (RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF)

enum tcg_status exec_lahf(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t ah = (cpu->st.rflags & LAHF_MASK) | RFLAGS_FIXED;

    (void)in;
    cpu->st.regs[R_EAX] = (cpu->st.regs[R_EAX] & ~0xff00ull) | (ah << 8);
    return TCG_OK;
}

enum tcg_status exec_sahf(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t ah = (cpu->st.regs[R_EAX] >> 8) & 0xff;

    (void)in;
    cpu->st.rflags = (cpu->st.rflags & ~(uint64_t)LAHF_MASK) | (ah & LAHF_MASK) | RFLAGS_FIXED;
    return TCG_OK;
}
