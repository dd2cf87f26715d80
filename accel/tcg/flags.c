/*
 * RFLAGS results of the arithmetic families (SDM vol. 1, 3.4.3.1 "Status
 * Flags"; vol. 2, the "Flags Affected" section of each instruction) and the
 * condition codes of Jcc/SETcc/CMOVcc (SDM vol. 1, appendix B).
 *
 * Flags are computed eagerly from the operands and the truncated result.
 * Where the SDM leaves a flag undefined the handlers (exec-alu.c,
 * exec-shift.c, exec-muldiv.c, exec-bits.c) set it as AMD Zen does, each
 * rule measured against the host by tests/unit/test-tcg-alu.c.  Intel parts
 * set several of them differently; tcg_host_is_intel() is where such rules
 * would be chosen, once measured on an Intel host (none are yet).
 *
 * Threads: everything here is a pure function of its arguments, except the
 * vendor probe, which is computed once and cached (any thread).
 */
#include <cpuid.h>
#include <string.h>

#include "accel/tcg/tcg-cpu.h"

void tcg_flags_set(struct tcg_cpu *cpu, uint64_t mask, uint64_t bits)
{
    cpu->st.rflags = (cpu->st.rflags & ~mask) | (bits & mask);
}

/* PF: set if the low byte of the result has an even number of 1 bits. */
static uint64_t parity_flag(uint64_t res)
{
    return (__builtin_parity((unsigned)(res & 0xff)) ? 0 : RFLAGS_PF);
}

uint64_t tcg_flags_szp(uint64_t res, unsigned size)
{
    uint64_t f = parity_flag(res);

    res &= tcg_size_mask(size);
    if (res == 0)
        f |= RFLAGS_ZF;
    if (res & tcg_size_sign(size))
        f |= RFLAGS_SF;
    return f;
}

/*
 * a + b + carry_in = res.  The carry out of each bit position is
 * (a & b) | ((a | b) & ~res); CF is the one out of the top bit, AF the one
 * out of bit 3.  OF: both inputs have the same sign and the result differs.
 */
void tcg_flags_add(struct tcg_cpu *cpu, uint64_t a, uint64_t b, uint64_t carry_in,
                   uint64_t res, unsigned size)
{
    uint64_t sign = tcg_size_sign(size);
    uint64_t carries = (a & b) | ((a | b) & ~res);
    uint64_t f = tcg_flags_szp(res, size);

    (void)carry_in;     /* folded into res already */
    if (carries & sign)
        f |= RFLAGS_CF;
    if ((a ^ b ^ res) & 0x10)
        f |= RFLAGS_AF;
    if ((a ^ res) & (b ^ res) & sign)
        f |= RFLAGS_OF;
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, f);
}

/*
 * a - b - borrow_in = res.  The borrow out of each bit position is
 * (~a & b) | (~(a ^ b) & res).  OF: the inputs differ in sign and the
 * result's sign differs from a's.
 */
void tcg_flags_sub(struct tcg_cpu *cpu, uint64_t a, uint64_t b, uint64_t borrow_in,
                   uint64_t res, unsigned size)
{
    uint64_t sign = tcg_size_sign(size);
    uint64_t borrows = (~a & b) | (~(a ^ b) & res);
    uint64_t f = tcg_flags_szp(res, size);

    (void)borrow_in;
    if (borrows & sign)
        f |= RFLAGS_CF;
    if ((a ^ b ^ res) & 0x10)
        f |= RFLAGS_AF;
    if ((a ^ b) & (a ^ res) & sign)
        f |= RFLAGS_OF;
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, f);
}

/* AND, OR, XOR, TEST: CF = OF = 0, SF ZF PF from the result.  AF is
 * undefined; AMD and Intel both clear it. */
void tcg_flags_logic(struct tcg_cpu *cpu, uint64_t res, unsigned size)
{
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, tcg_flags_szp(res, size));
}

/* SDM vol. 1, table B-1: cc 0..15 = o no b ae e ne be a s ns p np l ge le g;
 * the odd codes negate the even one below them. */
bool tcg_cond(const struct tcg_cpu *cpu, unsigned cc)
{
    uint64_t f = cpu->st.rflags;
    bool of = f & RFLAGS_OF, cf = f & RFLAGS_CF, zf = f & RFLAGS_ZF;
    bool sf = f & RFLAGS_SF, pf = f & RFLAGS_PF;
    bool r;

    switch ((cc >> 1) & 7) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return (cc & 1) ? !r : r;
}

bool tcg_host_is_intel(void)
{
    /* 0: not probed yet, 1: Intel, 2: other.  Racing first calls compute
     * the same answer, so a relaxed store is enough. */
    static int vendor;
    int v = __atomic_load_n(&vendor, __ATOMIC_RELAXED);

    if (!v) {
        unsigned a, b, c, d;
        char id[12];

        v = 2;
        if (__get_cpuid(0, &a, &b, &c, &d)) {
            memcpy(id, &b, 4);
            memcpy(id + 4, &d, 4);
            memcpy(id + 8, &c, 4);
            if (!memcmp(id, "GenuineIntel", 12))
                v = 1;
        }
        __atomic_store_n(&vendor, v, __ATOMIC_RELAXED);
    }
    return v == 1;
}

enum tcg_status tcg_src_read(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                             unsigned size, uint64_t *val)
{
    const struct operand *o = &in->ops[i];
    enum tcg_status st;

    if (o->kind == OPK_IMM) {
        /* The decoder sign-extends imm8/imm32 to 64 bits where the encoding
         * does (SDM vol. 2, 2.2.1.5); the operation sees size bytes. */
        *val = o->imm & tcg_size_mask(size);
        return TCG_OK;
    }
    st = tcg_op_read(cpu, in, i, val);
    *val &= tcg_size_mask(size);
    return st;
}
