/*
 * Handlers for the commonest operand forms, chosen once per decoded
 * instruction (cpu-exec.c asks tcg_fast_handler() before the table): MOV,
 * MOVZX, LEA and the two-operand ALU operations (ADD OR ADC SBB AND SUB
 * XOR CMP TEST) on 32- and 64-bit operands in registers, immediates and memory,
 * and Jcc per condition.  The operand kinds, the size and the condition
 * are known when the handler is chosen, so each does its work without the
 * generic operand switch and with the masks folded.
 *
 * Each computes exactly what the generic handler of its operation does
 * (exec-mov.c exec_mov/exec_movzx/exec_lea, exec-alu.c alu2, exec-control.c
 * exec_jcc): same values, same flags, same faults, in the same order (a
 * read-modify-write reads memory for writing, stores, then sets flags); the
 * differential tests run through them.
 *
 * Threads: handlers touch only the calling vCPU's struct tcg_cpu.
 */
#include "accel/tcg/tcg-cpu.h"

/* The generic handlers these stand in for, where a rare case goes back. */
enum tcg_status exec_jcc(struct tcg_cpu *cpu, const struct insn *in);

/* A 32-bit write zero-extends to 64 bits (SDM vol. 1, 3.4.1.1). */
#define REG_SET(cpu, r, size, v) \
    ((cpu)->st.regs[(r)] = (size) == 8 ? (uint64_t)(v) : (uint64_t)(v) & 0xffffffffull)

/* ---- MOV ---- */

#define MOV_FORMS(SZ)                                                                   \
static enum tcg_status mov_rr##SZ(struct tcg_cpu *cpu, const struct insn *in)          \
{                                                                                          \
    REG_SET(cpu, in->ops[0].reg & 15, SZ, cpu->st.regs[in->ops[1].reg & 15]);            \
    return TCG_OK;                                                                         \
}                                                                                          \
static enum tcg_status mov_ri##SZ(struct tcg_cpu *cpu, const struct insn *in)          \
{                                                                                          \
    REG_SET(cpu, in->ops[0].reg & 15, SZ, in->ops[1].imm);                               \
    return TCG_OK;                                                                         \
}                                                                                          \
static enum tcg_status mov_rm##SZ(struct tcg_cpu *cpu, const struct insn *in)          \
{                                                                                          \
    uint64_t v = 0;                                                                        \
    enum tcg_status st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), &v, SZ);        \
                                                                                           \
    if (st == TCG_OK) {                                                                    \
        REG_SET(cpu, in->ops[0].reg & 15, SZ, v);                                        \
    }                                                                                      \
    return st;                                                                             \
}                                                                                          \
static enum tcg_status mov_mr##SZ(struct tcg_cpu *cpu, const struct insn *in)          \
{                                                                                          \
    uint64_t v = cpu->st.regs[in->ops[1].reg & 15];                                        \
                                                                                           \
    return tcg_mem_write(cpu, in->mem.seg, tcg_ea(cpu, in), &v, SZ);                     \
}

MOV_FORMS(4)
MOV_FORMS(8)

/* ---- MOVZX, LEA ---- */

#define MOVZX_FORMS(SZ)                                                                 \
static enum tcg_status movzx_r##SZ(struct tcg_cpu *cpu, const struct insn *in)         \
{                                                                                          \
    const struct operand *s = &in->ops[1];                                                 \
                                                                                           \
    REG_SET(cpu, in->ops[0].reg & 15, SZ, tcg_reg_read(cpu, s->reg, s->size, s->hi8));   \
    return TCG_OK;                                                                         \
}                                                                                          \
static enum tcg_status movzx_m##SZ(struct tcg_cpu *cpu, const struct insn *in)         \
{                                                                                          \
    uint64_t v = 0;                                                                        \
    enum tcg_status st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), &v,               \
                                      in->ops[1].size);                                    \
                                                                                           \
    if (st == TCG_OK) {                                                                    \
        REG_SET(cpu, in->ops[0].reg & 15, SZ, v);                                        \
    }                                                                                      \
    return st;                                                                             \
}                                                                                          \
static enum tcg_status lea_r##SZ(struct tcg_cpu *cpu, const struct insn *in)           \
{                                                                                          \
    REG_SET(cpu, in->ops[0].reg & 15, SZ, tcg_ea(cpu, in));                              \
    return TCG_OK;                                                                         \
}

MOVZX_FORMS(4)
MOVZX_FORMS(8)

/* ---- Jcc ---- */

/*
 * Not taken: nothing.  Taken in 64-bit mode without a 66h prefix: the
 * 64-bit target must be canonical (#GP(0) otherwise, rip unchanged); any
 * other mode or width goes to exec_jcc, which truncates and checks the CS
 * limit.
 */
#define JCC(cc)                                                                           \
static enum tcg_status jcc_##cc(struct tcg_cpu *cpu, const struct insn *in)              \
{                                                                                          \
    uint64_t t;                                                                            \
                                                                                           \
    if (!tcg_cond(cpu, cc)) {                                                              \
        return TCG_OK;                                                                     \
    }                                                                                      \
    if (cpu->mode != MODE_LONG64 || in->op_size == 2) {                                    \
        return exec_jcc(cpu, in);                                                          \
    }                                                                                      \
    t = cpu->next_rip + in->ops[0].imm;                                                    \
    if ((uint64_t)(((int64_t)(t << 16)) >> 16) != t) {                                     \
        return tcg_raise_err(cpu, EXC_GP, 0);                                              \
    }                                                                                      \
    cpu->st.rip = t;                                                                       \
    return TCG_JUMPED;                                                                     \
}

JCC(0) JCC(1) JCC(2) JCC(3) JCC(4) JCC(5) JCC(6) JCC(7)
JCC(8) JCC(9) JCC(10) JCC(11) JCC(12) JCC(13) JCC(14) JCC(15)

static const tcg_exec_fn jcc_fn[16] = {
    jcc_0, jcc_1, jcc_2, jcc_3, jcc_4, jcc_5, jcc_6, jcc_7,
    jcc_8, jcc_9, jcc_10, jcc_11, jcc_12, jcc_13, jcc_14, jcc_15,
};

/* ---- ADD OR ADC SBB AND SUB XOR CMP TEST ---- */

enum fast_alu { F_ADD, F_OR, F_ADC, F_SBB, F_AND, F_SUB, F_XOR, F_CMP, F_TEST };

/* ADC and SBB take CF as it was before the instruction (0 or 1). */
static inline __attribute__((always_inline)) uint64_t
carry_in(const struct tcg_cpu *cpu, enum fast_alu k)
{
    return (k == F_ADC || k == F_SBB) ? cpu->st.rflags & RFLAGS_CF : 0;
}

static inline __attribute__((always_inline)) uint64_t
alu_result(enum fast_alu k, uint64_t a, uint64_t b, uint64_t c, uint64_t m)
{
    switch (k) {
    case F_ADD: case F_ADC: return (a + b + c) & m;
    case F_SUB: case F_CMP: case F_SBB: return (a - b - c) & m;
    case F_OR: return a | b;
    case F_AND: case F_TEST: return a & b;
    default: return a ^ b;
    }
}

static inline __attribute__((always_inline)) void
alu_flags(struct tcg_cpu *cpu, enum fast_alu k, uint64_t a, uint64_t b, uint64_t c, uint64_t r,
          unsigned size)
{
    switch (k) {
    case F_ADD: case F_ADC: tcg_flags_add(cpu, a, b, c, r, size); break;
    case F_SUB: case F_CMP: case F_SBB: tcg_flags_sub(cpu, a, b, c, r, size); break;
    default: tcg_flags_logic(cpu, r, size); break;
    }
}

/* Register destination: a op b on size bytes, the register written
 * (unless CMP/TEST), then the flags. */
static inline __attribute__((always_inline)) enum tcg_status
fast_alu(struct tcg_cpu *cpu, const struct insn *in, enum fast_alu k, unsigned size, uint64_t b)
{
    const uint64_t m = tcg_size_mask(size);
    const unsigned d = in->ops[0].reg & 15;
    const uint64_t c = carry_in(cpu, k);
    uint64_t a = cpu->st.regs[d] & m, r;

    b &= m;
    r = alu_result(k, a, b, c, m);
    if (k != F_CMP && k != F_TEST) {
        REG_SET(cpu, d, size, r);
    }
    alu_flags(cpu, k, a, b, c, r, size);
    return TCG_OK;
}

/* Register destination, memory source (read after the register, as alu2). */
static inline __attribute__((always_inline)) enum tcg_status
fast_alu_rm(struct tcg_cpu *cpu, const struct insn *in, enum fast_alu k, unsigned size)
{
    uint64_t b = 0;
    enum tcg_status st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), &b, size);

    if (st != TCG_OK) {
        return st;
    }
    return fast_alu(cpu, in, k, size, b);
}

/* Memory destination: read (for writing, unless CMP/TEST), store, flags. */
static inline __attribute__((always_inline)) enum tcg_status
fast_alu_m(struct tcg_cpu *cpu, const struct insn *in, enum fast_alu k, unsigned size, uint64_t b)
{
    const uint64_t m = tcg_size_mask(size);
    const uint64_t ea = tcg_ea(cpu, in);
    uint64_t a = 0, r;
    enum tcg_status st;

    if (k == F_CMP || k == F_TEST) {
        st = tcg_mem_read(cpu, in->mem.seg, ea, &a, size);
    } else {
        st = tcg_mem_read_rmw(cpu, in->mem.seg, ea, &a, size);
    }
    if (st != TCG_OK) {
        return st;
    }
    const uint64_t c = carry_in(cpu, k);

    b &= m;
    r = alu_result(k, a, b, c, m);
    if (k != F_CMP && k != F_TEST) {
        st = tcg_mem_write(cpu, in->mem.seg, ea, &r, size);
        if (st != TCG_OK) {
            return st;
        }
    }
    alu_flags(cpu, k, a, b, c, r, size);
    return TCG_OK;
}

#define ALU_FORMS(name, k, SZ)                                                          \
static enum tcg_status name##_rr##SZ(struct tcg_cpu *cpu, const struct insn *in)       \
{                                                                                          \
    return fast_alu(cpu, in, k, SZ, cpu->st.regs[in->ops[1].reg & 15]);                  \
}                                                                                          \
static enum tcg_status name##_ri##SZ(struct tcg_cpu *cpu, const struct insn *in)       \
{                                                                                          \
    return fast_alu(cpu, in, k, SZ, in->ops[1].imm);                                     \
}                                                                                          \
static enum tcg_status name##_rm##SZ(struct tcg_cpu *cpu, const struct insn *in)       \
{                                                                                          \
    return fast_alu_rm(cpu, in, k, SZ);                                                  \
}                                                                                          \
static enum tcg_status name##_mr##SZ(struct tcg_cpu *cpu, const struct insn *in)       \
{                                                                                          \
    return fast_alu_m(cpu, in, k, SZ, cpu->st.regs[in->ops[1].reg & 15]);                \
}                                                                                          \
static enum tcg_status name##_mi##SZ(struct tcg_cpu *cpu, const struct insn *in)       \
{                                                                                          \
    return fast_alu_m(cpu, in, k, SZ, in->ops[1].imm);                                   \
}

#define ALU_OPS(X) X(add, F_ADD) X(or, F_OR) X(adc, F_ADC) X(sbb, F_SBB) X(and, F_AND) \
                   X(sub, F_SUB) X(xor, F_XOR) X(cmp, F_CMP) X(test, F_TEST)
#define ALU_BOTH(name, k) ALU_FORMS(name, k, 4) ALU_FORMS(name, k, 8)
ALU_OPS(ALU_BOTH)

/* ---- the choice ---- */

/* A 32- or 64-bit general register operand (not AH..BH). */
static bool gpr(const struct operand *o)
{
    return o->kind == OPK_REG && !o->hi8 && (o->size == 4 || o->size == 8);
}

/* Operand forms of the ALU operations. */
enum alu_form { AF_RR, AF_RI, AF_RM, AF_MR, AF_MI };

static tcg_exec_fn alu_form(const struct insn *in, enum alu_form f, bool q)
{
#define PICK(name, k)                                                                     \
    case k:                                                                               \
        switch (f) {                                                                      \
        case AF_RR: return q ? name##_rr8 : name##_rr4;                                   \
        case AF_RI: return q ? name##_ri8 : name##_ri4;                                   \
        case AF_RM: return q ? name##_rm8 : name##_rm4;                                   \
        case AF_MR: return q ? name##_mr8 : name##_mr4;                                   \
        default: return q ? name##_mi8 : name##_mi4;                                      \
        }
    enum fast_alu k;

    switch (in->op) {
    case OP_ADD: k = F_ADD; break;
    case OP_OR: k = F_OR; break;
    case OP_ADC: k = F_ADC; break;
    case OP_SBB: k = F_SBB; break;
    case OP_AND: k = F_AND; break;
    case OP_SUB: k = F_SUB; break;
    case OP_XOR: k = F_XOR; break;
    case OP_CMP: k = F_CMP; break;
    case OP_TEST: k = F_TEST; break;
    default: return NULL;
    }
    switch (k) {
    ALU_OPS(PICK)
    }
    return NULL;
#undef PICK
}

static bool is_alu(unsigned op)
{
    switch (op) {
    case OP_ADD: case OP_OR: case OP_ADC: case OP_SBB: case OP_AND: case OP_SUB: case OP_XOR:
    case OP_CMP: case OP_TEST:
        return true;
    default:
        return false;
    }
}

tcg_exec_fn tcg_fast_handler(const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    bool q;

    if (in->op == OP_JCC && in->nops == 1 && d->kind == OPK_REL) {
        return jcc_fn[in->opcode & 15];
    }
    if (in->nops != 2) {
        return NULL;
    }
    if (d->kind == OPK_MEM && in->has_mem && (d->size == 4 || d->size == 8)) {
        q = d->size == 8;
        if (in->op == OP_MOV && gpr(s) && s->size == d->size) {
            return q ? mov_mr8 : mov_mr4;
        }
        if (is_alu(in->op) && gpr(s) && s->size == d->size) {
            return alu_form(in, AF_MR, q);
        }
        if (is_alu(in->op) && s->kind == OPK_IMM) {
            return alu_form(in, AF_MI, q);
        }
        return NULL;
    }
    if (!gpr(d)) {
        return NULL;
    }
    q = d->size == 8;
    switch (in->op) {
    case OP_MOV:
        if (gpr(s) && s->size == d->size) {
            return q ? mov_rr8 : mov_rr4;
        }
        if (s->kind == OPK_IMM) {
            return q ? mov_ri8 : mov_ri4;
        }
        if (s->kind == OPK_MEM && s->size == d->size && in->has_mem) {
            return q ? mov_rm8 : mov_rm4;
        }
        return NULL;
    case OP_MOVZX:
        if (s->kind == OPK_REG && (s->size == 1 || s->size == 2)) {
            return q ? movzx_r8 : movzx_r4;
        }
        if (s->kind == OPK_MEM && in->has_mem && (s->size == 1 || s->size == 2)) {
            return q ? movzx_m8 : movzx_m4;
        }
        return NULL;
    case OP_LEA:
        return in->has_mem && s->kind == OPK_MEM ? (q ? lea_r8 : lea_r4) : NULL;
    case OP_ADD: case OP_OR: case OP_ADC: case OP_SBB: case OP_AND: case OP_SUB: case OP_XOR:
    case OP_CMP: case OP_TEST:
        if (gpr(s) && s->size == d->size) {
            return alu_form(in, AF_RR, q);
        }
        if (s->kind == OPK_IMM) {
            return alu_form(in, AF_RI, q);
        }
        if (s->kind == OPK_MEM && s->size == d->size && in->has_mem) {
            return alu_form(in, AF_RM, q);
        }
        return NULL;
    default:
        return NULL;
    }
}
