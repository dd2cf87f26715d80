/*
 * Multiply and divide: MUL, IMUL (one, two and three operands), DIV, IDIV
 * and the flagless BMI2 MULX (SDM vol. 2, MUL, IMUL, DIV, IDIV, MULX).
 *
 * Operand convention (decoder, insn.h).  MUL, DIV, IDIV and one-operand
 * IMUL (F6/F7 /4../7) name only their r/m source (ops[0]; the code takes
 * the last operand, ops[nops - 1]), and its size sets the operation size.  rAX and rDX are implicit.  Two-operand
 * IMUL (0F AF): ops[0] dest and first factor, ops[1] source.  Three-operand
 * IMUL (69, 6B): ops[0] dest, ops[1] r/m, ops[2] the immediate.  The form
 * is told by nops (1, 2 or 3), as decode-tables.c lists them.
 * MULX: ops[0] high half (ModRM.reg), ops[1] low half (VEX.vvvv), ops[2]
 * the r/m source; rDX/eDX is the implicit factor.
 *
 * Division checks for #DE before dividing: a zero divisor or a quotient
 * that does not fit the destination (SDM vol. 2, DIV, IDIV).
 *
 * Undefined flags are set as AMD Zen sets them (measured against the host
 * by tests/unit/test-tcg-alu.c); see mul_flags() and div_flags().
 *
 * Threads: handlers touch only the calling vCPU's struct tcg_cpu.
 */
#include "accel/tcg/tcg-cpu.h"

typedef unsigned __int128 u128;

static uint64_t sext(uint64_t v, unsigned size)
{
    uint64_t m = tcg_size_mask(size);

    v &= m;
    return (v & tcg_size_sign(size)) ? v | ~m : v;
}

/* rAX/rDX pair used by the implicit forms; 8-bit uses AL -> AX (AH:AL). */
static uint64_t reg_get(struct tcg_cpu *cpu, unsigned r, unsigned size)
{
    return cpu->st.regs[r] & tcg_size_mask(size);
}

static void reg_set(struct tcg_cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
    if (size == 4)      /* a 32-bit write zero-extends (SDM vol. 1, 3.4.1.1) */
        cpu->st.regs[r] = v & 0xffffffffull;
    else
        cpu->st.regs[r] = (cpu->st.regs[r] & ~tcg_size_mask(size)) | (v & tcg_size_mask(size));
}

/* Writes the double-width product/dividend halves: AX for bytes, rDX:rAX
 * otherwise. */
static void set_pair(struct tcg_cpu *cpu, unsigned size, uint64_t lo, uint64_t hi)
{
    if (size == 1) {
        reg_set(cpu, R_EAX, 2, (lo & 0xff) | (hi & 0xff) << 8);
    } else {
        reg_set(cpu, R_EAX, size, lo);
        reg_set(cpu, R_EDX, size, hi);
    }
}

/*
 * Flags after MUL/IMUL: CF = OF = "the high half is significant" (SDM
 * vol. 2, MUL, IMUL).  SF ZF AF PF are undefined; AMD Zen leaves all four
 * as they were (measured over every form and size, tests/unit/test-tcg-alu.c).
 */
static void mul_flags(struct tcg_cpu *cpu, bool overflow)
{
    tcg_flags_set(cpu, RFLAGS_CF | RFLAGS_OF, overflow ? RFLAGS_CF | RFLAGS_OF : 0);
}

static unsigned src_index(const struct insn *in)
{
    return in->nops ? in->nops - 1 : 0;
}

enum tcg_status exec_mul(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned i = src_index(in), size = in->ops[i].size;
    uint64_t m = tcg_size_mask(size), b, lo, hi;
    enum tcg_status st = tcg_src_read(cpu, in, i, size, &b);
    u128 p;

    if (st != TCG_OK)
        return st;
    p = (u128)reg_get(cpu, R_EAX, size) * b;
    lo = (uint64_t)p & m;
    hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (size * 8)) & m;
    set_pair(cpu, size, lo, hi);
    mul_flags(cpu, hi != 0);
    return TCG_OK;
}

/* Signed product of two size-byte values, as a 128-bit two's complement. */
static u128 smul(uint64_t a, uint64_t b, unsigned size)
{
    __int128 p = (__int128)(int64_t)sext(a, size) * (int64_t)sext(b, size);

    return (u128)p;
}

/* The product fits in size bytes iff the 128-bit value equals the sign
 * extension of its low size bytes. */
static bool sfits(u128 p, unsigned size)
{
    uint64_t lo = (uint64_t)p;
    u128 ext = (u128)(__int128)(int64_t)sext(lo, size);

    return ext == p;
}

enum tcg_status exec_imul(struct tcg_cpu *cpu, const struct insn *in)
{
    /* The decoder gives F6/F7 /5 one operand, 0F AF two, 69/6B three. */
    bool one_op = in->nops <= 1, three_op = in->nops >= 3;
    enum tcg_status st;

    if (one_op) {
        unsigned i = src_index(in), size = in->ops[i].size;
        uint64_t m = tcg_size_mask(size), b, lo, hi;
        u128 p;

        st = tcg_src_read(cpu, in, i, size, &b);
        if (st != TCG_OK)
            return st;
        p = smul(reg_get(cpu, R_EAX, size), b, size);
        lo = (uint64_t)p & m;
        hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (size * 8)) & m;
        set_pair(cpu, size, lo, hi);
        mul_flags(cpu, !sfits(p, size));
        return TCG_OK;
    } else {
        unsigned size = in->ops[0].size;
        uint64_t a, b;
        u128 p;

        st = tcg_src_read(cpu, in, three_op ? 1 : 0, size, &a);
        if (st == TCG_OK)
            st = tcg_src_read(cpu, in, three_op ? 2 : 1, size, &b);
        if (st != TCG_OK)
            return st;
        p = smul(a, b, size);
        st = tcg_op_write(cpu, in, 0, (uint64_t)p & tcg_size_mask(size));
        if (st == TCG_OK)
            mul_flags(cpu, !sfits(p, size));
        return st;
    }
}

/*
 * Flags after DIV/IDIV: all six undefined (SDM vol. 2, DIV, IDIV).  AMD Zen
 * sets AF, clears SF ZF PF and leaves CF OF as they were, whatever the
 * operands (measured, tests/unit/test-tcg-alu.c).
 */
static void div_flags(struct tcg_cpu *cpu)
{
    tcg_flags_set(cpu, RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF | RFLAGS_AF, RFLAGS_AF);
}

/* The dividend: AX for bytes, rDX:rAX otherwise. */
static u128 dividend(struct tcg_cpu *cpu, unsigned size)
{
    if (size == 1)
        return reg_get(cpu, R_EAX, 2);
    return (u128)reg_get(cpu, R_EDX, size) << (size * 8) | reg_get(cpu, R_EAX, size);
}

enum tcg_status exec_div(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned i = src_index(in), size = in->ops[i].size;
    uint64_t d, q, r;
    u128 n, q128;
    enum tcg_status st = tcg_src_read(cpu, in, i, size, &d);

    if (st != TCG_OK)
        return st;
    if (d == 0)
        return tcg_raise(cpu, EXC_DE);
    n = dividend(cpu, size);
    q128 = n / d;
    if (q128 > tcg_size_mask(size))
        return tcg_raise(cpu, EXC_DE);
    q = (uint64_t)q128;
    r = (uint64_t)(n % d);
    div_flags(cpu);
    set_pair(cpu, size, q, r);
    return TCG_OK;
}

enum tcg_status exec_idiv(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned i = src_index(in), size = in->ops[i].size, bits = size * 8;
    uint64_t d, q, r;
    u128 n, nmag, dmag, qmag, rmag;
    bool nneg, dneg;
    enum tcg_status st = tcg_src_read(cpu, in, i, size, &d);

    if (st != TCG_OK)
        return st;
    if (d == 0)
        return tcg_raise(cpu, EXC_DE);
    /* Work on magnitudes in unsigned arithmetic: no signed overflow even
     * for the most negative dividend divided by -1. */
    n = dividend(cpu, size);
    nneg = (n >> (2 * bits - 1)) & 1;
    if (bits * 2 < 128 && nneg)
        n |= ~(u128)0 << (2 * bits);        /* sign-extend to 128 bits */
    nmag = nneg ? -n : n;
    dneg = d & tcg_size_sign(size);
    dmag = dneg ? (u128)(-sext(d, size)) : d;
    qmag = nmag / dmag;
    rmag = nmag % dmag;
    /* The quotient must lie in [-2^(bits-1), 2^(bits-1) - 1]. */
    if (nneg != dneg ? qmag > ((u128)1 << (bits - 1)) : qmag > ((u128)1 << (bits - 1)) - 1)
        return tcg_raise(cpu, EXC_DE);
    q = (uint64_t)(nneg != dneg ? -qmag : qmag);
    r = (uint64_t)(nneg ? -rmag : rmag);     /* the remainder has the dividend's sign */
    div_flags(cpu);
    set_pair(cpu, size, q, r);
    return TCG_OK;
}

/* MULX: rDX * src, unsigned, high half to ops[0], low to ops[1]; when both
 * name one register it gets the high half (SDM vol. 2, MULX). */
enum tcg_status exec_mulx(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->ops[0].size ? in->ops[0].size : in->op_size;
    uint64_t m = tcg_size_mask(size), b, lo, hi;
    enum tcg_status st = tcg_src_read(cpu, in, 2, size, &b);
    u128 p;

    if (st != TCG_OK)
        return st;
    p = (u128)reg_get(cpu, R_EDX, size) * b;
    lo = (uint64_t)p & m;
    hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (size * 8)) & m;
    st = tcg_op_write(cpu, in, 1, lo);
    if (st != TCG_OK)
        return st;
    return tcg_op_write(cpu, in, 0, hi);
}
