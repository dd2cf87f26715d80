/*
 * The integer ALU: ADD OR ADC SBB AND SUB XOR CMP TEST, INC DEC NEG NOT,
 * the BCD adjusts DAA DAS AAA AAS AAM AAD, and ADCX/ADOX (SDM vol. 2,
 * chapter 3 and 4, each instruction's "Operation" and "Flags Affected").
 *
 * Operand convention (from the decoder, insn.h): Intel order, ops[0] is the
 * destination and sets the operation size; ops[1] the source.  INC DEC NEG
 * NOT have one operand.  AAM/AAD take the base as ops[0] (an immediate);
 * with no operand the base is 10.  DAA..AAS have none (AL/AX implicit).
 *
 * LOCK: one vCPU thread runs at a time (part 1), so a locked
 * read-modify-write is the same read then write.
 *
 * Every handler writes its destination before it touches RFLAGS, so a
 * fault on the write (#PF, #GP) leaves the state as it was and the
 * instruction restarts cleanly; the same holds in the other families.
 *
 * Undefined flags are set as AMD Zen sets them: the BCD rules below were
 * measured over every AX and every AF/CF/OF/SF/ZF/PF input, and
 * tests/unit/test-tcg-alu.c checks them against the host in a 32-bit code
 * segment.
 *
 * Threads: handlers touch only the calling vCPU's struct tcg_cpu.
 */
#include "accel/tcg/tcg-cpu.h"

static unsigned op_size(const struct insn *in)
{
    return in->ops[0].size ? in->ops[0].size : in->op_size;
}

enum alu_kind { K_ADD, K_OR, K_ADC, K_SBB, K_AND, K_SUB, K_XOR, K_CMP, K_TEST };

/* Inlined into each handler, so that k folds to one case. */
static inline __attribute__((always_inline)) enum tcg_status
alu2(struct tcg_cpu *cpu, const struct insn *in, enum alu_kind k)
{
    unsigned size = op_size(in);
    uint64_t m = tcg_size_mask(size);
    uint64_t a, b, c, r;
    enum tcg_status st;

    /* A destination in memory is checked for writing before it is read
     * (the processor's read-for-write; see tcg_mem_read_rmw). */
    st = (k == K_CMP || k == K_TEST) ? tcg_src_read(cpu, in, 0, size, &a)
                                     : tcg_dst_read(cpu, in, 0, size, &a);
    if (st != TCG_OK)
        return st;
    st = tcg_src_read(cpu, in, 1, size, &b);
    if (st != TCG_OK)
        return st;
    c = (k == K_ADC || k == K_SBB) ? cpu->st.rflags & RFLAGS_CF : 0;
    switch (k) {
    case K_ADD: case K_ADC: r = (a + b + c) & m; break;
    case K_SUB: case K_CMP: case K_SBB: r = (a - b - c) & m; break;
    case K_OR: r = a | b; break;
    case K_AND: case K_TEST: r = a & b; break;
    default: r = a ^ b; break;
    }
    if (k != K_CMP && k != K_TEST) {
        st = tcg_op_write(cpu, in, 0, r);
        if (st != TCG_OK)
            return st;      /* a fault leaves the flags as they were */
    }
    switch (k) {
    case K_ADD: case K_ADC: tcg_flags_add(cpu, a, b, c, r, size); break;
    case K_SUB: case K_CMP: case K_SBB: tcg_flags_sub(cpu, a, b, c, r, size); break;
    default: tcg_flags_logic(cpu, r, size); break;
    }
    return TCG_OK;
}

enum tcg_status exec_add(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_ADD); }
enum tcg_status exec_or(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_OR); }
enum tcg_status exec_adc(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_ADC); }
enum tcg_status exec_sbb(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_SBB); }
enum tcg_status exec_and(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_AND); }
enum tcg_status exec_sub(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_SUB); }
enum tcg_status exec_xor(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_XOR); }
enum tcg_status exec_cmp(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_CMP); }
enum tcg_status exec_test(struct tcg_cpu *cpu, const struct insn *in) { return alu2(cpu, in, K_TEST); }

/* INC/DEC leave CF alone (SDM vol. 2, INC, DEC). */
/* Inlined into each handler, so that k folds to one case. */
static inline __attribute__((always_inline)) enum tcg_status
incdec(struct tcg_cpu *cpu, const struct insn *in, bool dec)
{
    unsigned size = op_size(in);
    uint64_t cf = cpu->st.rflags & RFLAGS_CF;
    uint64_t a, r;
    enum tcg_status st = tcg_dst_read(cpu, in, 0, size, &a);

    if (st != TCG_OK)
        return st;
    r = (dec ? a - 1 : a + 1) & tcg_size_mask(size);
    st = tcg_op_write(cpu, in, 0, r);
    if (st != TCG_OK)
        return st;
    if (dec)
        tcg_flags_sub(cpu, a, 1, 0, r, size);
    else
        tcg_flags_add(cpu, a, 1, 0, r, size);
    tcg_flags_set(cpu, RFLAGS_CF, cf);
    return TCG_OK;
}

enum tcg_status exec_inc(struct tcg_cpu *cpu, const struct insn *in) { return incdec(cpu, in, false); }
enum tcg_status exec_dec(struct tcg_cpu *cpu, const struct insn *in) { return incdec(cpu, in, true); }

/* NEG is 0 - x: CF = (x != 0), the rest as SUB (SDM vol. 2, NEG). */
enum tcg_status exec_neg(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t a, r;
    enum tcg_status st = tcg_dst_read(cpu, in, 0, size, &a);

    if (st != TCG_OK)
        return st;
    r = (0 - a) & tcg_size_mask(size);
    st = tcg_op_write(cpu, in, 0, r);
    if (st == TCG_OK)
        tcg_flags_sub(cpu, 0, a, 0, r, size);
    return st;
}

/* NOT changes no flag. */
enum tcg_status exec_not(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = op_size(in);
    uint64_t a;
    enum tcg_status st = tcg_dst_read(cpu, in, 0, size, &a);

    if (st != TCG_OK)
        return st;
    return tcg_op_write(cpu, in, 0, ~a & tcg_size_mask(size));
}

/*
 * ADCX adds with CF as carry and writes only CF; ADOX does the same with OF
 * (SDM vol. 2, ADCX, ADOX).
 */
static enum tcg_status adcx_adox(struct tcg_cpu *cpu, const struct insn *in, uint64_t flag)
{
    unsigned size = op_size(in);
    uint64_t m = tcg_size_mask(size);
    uint64_t a, b, c = (cpu->st.rflags & flag) ? 1 : 0, r;
    enum tcg_status st;

    st = tcg_src_read(cpu, in, 0, size, &a);
    if (st != TCG_OK)
        return st;
    st = tcg_src_read(cpu, in, 1, size, &b);
    if (st != TCG_OK)
        return st;
    r = (a + b + c) & m;
    st = tcg_op_write(cpu, in, 0, r);
    if (st != TCG_OK)
        return st;
    /* carry out of the top bit, as in tcg_flags_add */
    tcg_flags_set(cpu, flag, (((a & b) | ((a | b) & ~r)) & tcg_size_sign(size)) ? flag : 0);
    return TCG_OK;
}

enum tcg_status exec_adcx(struct tcg_cpu *cpu, const struct insn *in) { return adcx_adox(cpu, in, RFLAGS_CF); }
enum tcg_status exec_adox(struct tcg_cpu *cpu, const struct insn *in) { return adcx_adox(cpu, in, RFLAGS_OF); }

/* ---- BCD (legal outside 64-bit mode only; the decoder raises #UD there) ---- */

static uint64_t al_get(struct tcg_cpu *cpu) { return cpu->st.regs[R_EAX] & 0xff; }
static uint64_t ax_get(struct tcg_cpu *cpu) { return cpu->st.regs[R_EAX] & 0xffff; }
static void al_set(struct tcg_cpu *cpu, uint64_t v)
{
    cpu->st.regs[R_EAX] = (cpu->st.regs[R_EAX] & ~0xffull) | (v & 0xff);
}
static void ax_set(struct tcg_cpu *cpu, uint64_t v)
{
    cpu->st.regs[R_EAX] = (cpu->st.regs[R_EAX] & ~0xffffull) | (v & 0xffff);
}

/*
 * DAA/DAS as the SDM writes them (vol. 2, DAA, DAS).  The undefined OF is,
 * on AMD Zen, set when the sign of AL goes 0 -> 1 (DAA) or 1 -> 0 (DAS)
 * across the two adjustments.
 */
static enum tcg_status daa_das(struct tcg_cpu *cpu, bool sub)
{
    uint64_t al = al_get(cpu), old_al = al;
    bool old_cf = cpu->st.rflags & RFLAGS_CF, cf = false, af = false;
    uint64_t f;

    if ((al & 0xf) > 9 || (cpu->st.rflags & RFLAGS_AF)) {
        cf = old_cf || (sub ? al < 6 : al + 6 > 0xff);
        al = (sub ? al - 6 : al + 6) & 0xff;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (sub ? al - 0x60 : al + 0x60) & 0xff;
        cf = true;
    } else if (!sub) {
        cf = false;
    }
    al_set(cpu, al);
    f = tcg_flags_szp(al, 1) | (cf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0);
    if (sub ? (old_al & ~al & 0x80) : (~old_al & al & 0x80))
        f |= RFLAGS_OF;
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, f);
    return TCG_OK;
}

enum tcg_status exec_daa(struct tcg_cpu *cpu, const struct insn *in) { (void)in; return daa_das(cpu, false); }
enum tcg_status exec_das(struct tcg_cpu *cpu, const struct insn *in) { (void)in; return daa_das(cpu, true); }

/*
 * AAA/AAS: AX +/- 0x106 when AL's low digit is above 9 or AF is set, then
 * AL &= 0x0f (SDM vol. 2, AAA, AAS).  The undefined SF ZF PF OF are, on AMD
 * Zen, those of the 16-bit AX +/- 0x106 (or of AX unchanged), before the
 * mask.
 */
static enum tcg_status aaa_aas(struct tcg_cpu *cpu, bool sub)
{
    uint64_t ax = ax_get(cpu), t = ax, f;

    if ((ax & 0xf) > 9 || (cpu->st.rflags & RFLAGS_AF)) {
        t = (sub ? ax - 0x106 : ax + 0x106) & 0xffff;
        f = tcg_flags_szp(t, 2) | RFLAGS_AF | RFLAGS_CF;
        if (sub ? ((ax ^ 0x106) & (ax ^ t) & 0x8000) : ((ax ^ t) & (0x106 ^ t) & 0x8000))
            f |= RFLAGS_OF;
    } else {
        f = tcg_flags_szp(t, 2);
    }
    ax_set(cpu, t & 0xff0f);
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, f);
    return TCG_OK;
}

enum tcg_status exec_aaa(struct tcg_cpu *cpu, const struct insn *in) { (void)in; return aaa_aas(cpu, false); }
enum tcg_status exec_aas(struct tcg_cpu *cpu, const struct insn *in) { (void)in; return aaa_aas(cpu, true); }

static uint64_t bcd_base(const struct insn *in)
{
    return in->nops >= 1 && in->ops[0].kind == OPK_IMM ? in->ops[0].imm & 0xff : 10;
}

/* AAM: AH = AL / base, AL = AL % base; base 0 is #DE (SDM vol. 2, AAM).  The
 * undefined OF AF CF are clear on AMD Zen. */
enum tcg_status exec_aam(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t base = bcd_base(in), al = al_get(cpu);

    if (base == 0)
        return tcg_raise(cpu, EXC_DE);
    ax_set(cpu, (al / base) << 8 | (al % base));
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, tcg_flags_szp(al % base, 1));
    return TCG_OK;
}

/* AAD: AL = AL + AH * base, AH = 0 (SDM vol. 2, AAD).  AMD Zen sets every
 * flag as the 8-bit ADD of AL and the low byte of AH * base. */
enum tcg_status exec_aad(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t ax = ax_get(cpu), a = ax & 0xff, b = ((ax >> 8) * bcd_base(in)) & 0xff;
    uint64_t r = (a + b) & 0xff;

    ax_set(cpu, r);
    tcg_flags_add(cpu, a, b, 0, r, 1);
    return TCG_OK;
}
