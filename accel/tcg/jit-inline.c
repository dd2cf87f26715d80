/*
 * Instructions the translator runs without their handler (issue 11), on general registers
 * and immediates only: MOV, MOVZX, MOVSX, MOVSXD, LEA, XCHG, the two-operand ALU operations
 * and TEST, INC, DEC, NEG, NOT, SETcc, CMOVcc, CLC/STC/CMC, NOP, BSWAP, Jcc and JMP, and the
 * shifts, rotates, IMUL and BTx whose undefined flags are dead or set by an AMD host as the
 * handlers set them, in 64-bit and 32-bit code.  Each does what its handler does (exec-fast.c, exec-alu.c, exec-mov.c,
 * exec-control.c): a 32-bit result clears bits 63:32 of its register, 8- and 16-bit results
 * leave the rest alone (SDM vol. 1, 3.4.1.1), AH..BH are byte 1 of RAX..RBX.  The guest's
 * register is the memory operand of the host instruction ("add dword [rbx + 8*r], ecx"), so
 * the partial writes and the flags come out of the host instruction itself.
 *
 * Anything else returns false: a memory operand goes to jit-mem.c, the rest (16-bit code,
 * undefined flags that may be read on an Intel host, ...) runs through its handler.
 *
 * Threads: called by the translating vCPU thread only.
 */
#include "accel/tcg/jit-tr.h"

/* AH..BH are byte 1 of RAX..RBX. */
int32_t jit_reg_off(const struct operand *o)
{
    if (o->hi8) {
        return JIT_OFF_REGS + 8 * (o->reg & 3) + 1;
    }
    return JIT_OFF_REGS + 8 * (o->reg & 15);
}

enum jit_size jit_size_of(unsigned bytes)
{
    switch (bytes) {
    case 1: return JIT_S8;
    case 2: return JIT_S16;
    case 4: return JIT_S32;
    default: return JIT_S64;
    }
}

static bool is_reg(const struct operand *o)
{
    return o->kind == OPK_REG && (o->size == 1 || o->size == 2 || o->size == 4 || o->size == 8);
}

/* [rbx + off] as the r/m operand of a sized instruction: opc8 for bytes, opc8 + 1 else (a
 * byte of rsi or rdi, a cached register's, needs a REX prefix to be SIL or DIL). */
static void op_reg_mem(struct jit_emit *e, unsigned size, int opc8, int reg, int32_t off)
{
    jit_emit_op_mem(e, size == 2, size == 8, size == 1 && jit_byte_reg_needs_rex(reg),
                    size == 1 ? opc8 : opc8 + 1, -1, reg, JIT_RBX, JIT_NO_INDEX, 0, off, false,
                    0);
}

/* The host register a register source operand is cached in (jit-translate.c), or -1. */
static int cached_src(const struct jit_tr *t, const struct operand *s)
{
    return s->kind == OPK_REG && !s->hi8 && jit_rc_cached(t, s->reg)
               ? t->rc_host[s->reg & 15] : -1;
}

/* The operand's immediate, masked to size bytes and sign-extended from there. */
static int64_t imm_sext(const struct operand *s, unsigned size)
{
    unsigned shift = 64 - 8 * size;

    return (int64_t)((uint64_t)s->imm << shift) >> shift;
}

/*
 * An ALU operation (the 80/81/83 group, /digit) or TEST (F6/F7 /0) of the register operand d
 * with an immediate, in the host's immediate form; false when there is none that fits
 * (a 16-bit immediate needs one of 16 bits, which these encoders do not write).
 */
static bool alu_imm(struct jit_tr *t, const struct operand *d, const struct operand *s,
                    int digit, bool test)
{
    struct jit_emit *e = &t->e;
    int64_t v = imm_sext(s, d->size);
    int32_t off = jit_reg_off(d);

    if (d->size == 1 || (!test && jit_fits_s8(v))) {
        jit_emit_op_mem(e, d->size == 2, d->size == 8, false,
                        d->size == 1 ? (test ? 0xf6 : 0x80) : 0x83, -1, test ? 0 : digit,
                        JIT_RBX, JIT_NO_INDEX, 0, off, false, 0);
        if (jit_emit_room(e, 1)) {
            jit_put8(e, (uint8_t)v);
        }
        return true;
    }
    if (d->size == 2 || !jit_fits_s32(v)) {
        return false;
    }
    jit_emit_op_mem(e, false, d->size == 8, false, test ? 0xf7 : 0x81, -1, test ? 0 : digit,
                    JIT_RBX, JIT_NO_INDEX, 0, off, true, (uint32_t)v);
    return true;
}

/*
 * t->hi_zero: the registers whose bits 63:32 this block's code has made 0 and nothing has
 * changed since.  A 64-bit write forgets it; 8- and 16-bit writes keep it.
 */
static void note_write(struct jit_tr *t, const struct operand *d, bool zero_high)
{
    uint16_t bit = (uint16_t)(1u << (d->reg & 15));

    if (d->size == 8 || (d->size == 4 && !zero_high)) {
        t->hi_zero &= (uint16_t)~bit;
    } else if (d->size == 4) {
        t->hi_zero |= bit;
    }
}

/* A 32-bit result in a register: bits 63:32 become 0 (MOV dword [off + 4], 0: no flags),
 * unless they are already (or the register is cached: the host's 32-bit result cleared them). */
static void clear_high(struct jit_tr *t, const struct operand *d)
{
    if (d->size == 4 && !(t->hi_zero >> (d->reg & 15) & 1) && !jit_rc_cached(t, d->reg)) {
        jit_emit_st_imm32(&t->e, false, JIT_RBX, jit_reg_off(d) + 4, 0);
    }
    note_write(t, d, true);
}

/* dst = the value in reg, sized (a 32-bit value must be zero-extended in reg already). */
static void store_reg(struct jit_tr *t, enum jit_reg reg, const struct operand *dst)
{
    jit_emit_st(&t->e, dst->size == 4 ? JIT_S64 : jit_size_of(dst->size), reg, JIT_RBX,
                jit_reg_off(dst));
    note_write(t, dst, true);
}

static void store_rax(struct jit_tr *t, const struct operand *dst)
{
    store_reg(t, JIT_RAX, dst);
}

/* reg = a source operand (register or immediate), zero-extended to 64 bits. */
static bool load_src(struct jit_emit *e, enum jit_reg reg, const struct operand *s)
{
    if (s->kind == OPK_IMM) {
        jit_emit_movi(e, reg, s->imm);
        return true;
    }
    jit_emit_ld(e, jit_size_of(s->size), false, reg, JIT_RBX, jit_reg_off(s));
    return true;
}

static bool src_ok(const struct operand *s)
{
    return is_reg(s) || s->kind == OPK_IMM;
}

static bool alu2_ok(const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];

    return in->nops == 2 && is_reg(d) && src_ok(s) && (s->kind != OPK_REG || s->size == d->size) &&
           !(in->prefixes & PFX_LOCK);
}

static bool mov_ok(const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];

    return is_reg(d) && src_ok(s) && (s->kind != OPK_REG || s->size == d->size);
}

static bool movx_ok(const struct insn *in)
{
    return is_reg(&in->ops[0]) && is_reg(&in->ops[1]) && in->ops[0].size != 1;
}

static bool lea_ok(const struct insn *in)
{
    const struct operand *d = &in->ops[0];

    return is_reg(d) && d->size != 1 && in->has_mem && in->mem.disp == (int32_t)in->mem.disp;
}

static bool xchg_ok(const struct insn *in)
{
    return is_reg(&in->ops[0]) && is_reg(&in->ops[1]) && in->ops[0].size == in->ops[1].size;
}

enum jit_flag_use jit_flag_use(const struct jit_tr *t, const struct insn *in)
{
    if (t->mode != MODE_LONG64 && t->mode != MODE_PROT32) {
        return JIT_FLAGS_OTHER;
    }
    switch (in->op) {
    case OP_ADD: case OP_OR: case OP_AND: case OP_SUB: case OP_XOR: case OP_CMP: case OP_TEST:
        return alu2_ok(in) ? JIT_FLAGS_KILL : JIT_FLAGS_OTHER;
    case OP_NEG:
        return is_reg(&in->ops[0]) && !(in->prefixes & PFX_LOCK) ? JIT_FLAGS_KILL
                                                                  : JIT_FLAGS_OTHER;
    case OP_NOT:
        return is_reg(&in->ops[0]) ? JIT_FLAGS_NONE : JIT_FLAGS_OTHER;
    case OP_MOV:
        return mov_ok(in) ? JIT_FLAGS_NONE : JIT_FLAGS_OTHER;
    case OP_MOVZX: case OP_MOVSX: case OP_MOVSXD:
        return movx_ok(in) ? JIT_FLAGS_NONE : JIT_FLAGS_OTHER;
    case OP_LEA:
        return lea_ok(in) ? JIT_FLAGS_NONE : JIT_FLAGS_OTHER;
    case OP_XCHG:
        return xchg_ok(in) ? JIT_FLAGS_NONE : JIT_FLAGS_OTHER;
    case OP_NOP: case OP_ENDBR:
        return JIT_FLAGS_NONE;
    default:
        return JIT_FLAGS_OTHER;
    }
}

/* ADD OR ADC SBB AND SUB XOR CMP (the jit_alu numbers are their opcode rows) and TEST. */
static bool alu2(struct jit_tr *t, const struct insn *in)
{
    static const int8_t row[] = {
        [OP_ADD] = JIT_ADD, [OP_OR] = JIT_OR, [OP_ADC] = JIT_ADC, [OP_SBB] = JIT_SBB,
        [OP_AND] = JIT_AND, [OP_SUB] = JIT_SUB, [OP_XOR] = JIT_XOR, [OP_CMP] = JIT_CMP,
    };
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    bool test = in->op == OP_TEST;
    int src = cached_src(t, s);

    if (!alu2_ok(in)) {
        return false;
    }
    if (in->op == OP_ADC || in->op == OP_SBB) {
        jit_flags_cf_to_host(t);
    }
    if (s->kind == OPK_IMM && alu_imm(t, d, s, test ? 0 : row[in->op], test)) {
        src = -2;       /* done */
    } else if (src < 0) {
        load_src(&t->e, JIT_RCX, s);
        src = JIT_RCX;
    }
    if (src == -2) {
        /* the immediate form above */
    } else if (test) {
        op_reg_mem(&t->e, d->size, 0x84, src, jit_reg_off(d));
    } else {
        op_reg_mem(&t->e, d->size, row[in->op] * 8, src, jit_reg_off(d));
    }
    jit_flags_set_by_host(t);
    if (!test && in->op != OP_CMP) {
        clear_high(t, d);
    }
    return true;
}

/* INC DEC (FE/FF /0 /1: CF kept), NEG NOT (F6/F7 /3 /2). */
static bool alu1(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0];
    int opc, digit;

    if (!is_reg(d) || (in->prefixes & PFX_LOCK)) {
        return false;
    }
    switch (in->op) {
    case OP_INC: opc = 0xfe; digit = 0; break;
    case OP_DEC: opc = 0xfe; digit = 1; break;
    case OP_NOT: opc = 0xf6; digit = 2; break;
    default: opc = 0xf6; digit = 3; break;
    }
    if (in->op == OP_INC || in->op == OP_DEC) {
        jit_flags_cf_to_host(t);
    }
    op_reg_mem(&t->e, d->size, opc, digit, jit_reg_off(d));
    if (in->op != OP_NOT) {
        jit_flags_set_by_host(t);
    }
    clear_high(t, d);
    return true;
}

static bool mov(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    struct jit_emit *e = &t->e;

    if (!mov_ok(in)) {
        return false;
    }
    if (s->kind == OPK_IMM && d->size >= 4) {
        uint64_t v = d->size == 4 ? (uint32_t)s->imm : s->imm;

        if (v < 0x80000000ull || (d->size == 8 && (uint64_t)(int64_t)(int32_t)v == v)) {
            jit_emit_st_imm32(e, true, JIT_RBX, jit_reg_off(d), (int32_t)v);
            note_write(t, d, true);
            return true;
        }
        jit_emit_movi(e, JIT_RAX, v);
    } else if (cached_src(t, s) >= 0) {
        /* MOV r/m, r (88/89) from the host register: a 32-bit one clears bits 63:32 below. */
        op_reg_mem(e, d->size, 0x88, cached_src(t, s), jit_reg_off(d));
        if (d->size == 4) {
            clear_high(t, d);
        } else {
            note_write(t, d, false);
        }
        return true;
    } else {
        load_src(e, JIT_RAX, s);
    }
    store_rax(t, d);
    return true;
}

/* MOVZX, MOVSX, MOVSXD r, r (MOVSXD with a 32-bit destination is a MOV). */
static bool movx(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    struct jit_emit *e = &t->e;
    bool sign = in->op != OP_MOVZX && s->size < d->size;

    if (!movx_ok(in)) {
        return false;
    }
    jit_emit_ld(e, jit_size_of(s->size), sign, JIT_RAX, JIT_RBX, jit_reg_off(s));
    if (sign && d->size == 4) {
        jit_emit_mov32_rr(e, JIT_RAX, JIT_RAX);
    }
    store_rax(t, d);
    return true;
}

void jit_emit_ea(struct jit_tr *t, const struct insn *in, enum jit_reg index)
{
    const struct insn_mem *m = &in->mem;
    struct jit_emit *e = &t->e;
    int idx = JIT_NO_INDEX, scale = 0;

    if (m->base == INSN_REG_RIP) {
        /* Only 64-bit mode has RIP-relative addressing: no wrap. */
        jit_emit_guest_rip(t, JIT_RAX, t->off + in->len);
    } else if (m->base != INSN_REG_NONE) {
        jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_REGS + 8 * (m->base & 15));
    } else {
        jit_emit_movi(e, JIT_RAX, 0);
    }
    if (m->index != INSN_REG_NONE) {
        jit_emit_ld(e, JIT_S64, false, index, JIT_RBX, JIT_OFF_REGS + 8 * (m->index & 15));
        idx = index;
        scale = m->scale == 8 ? 3 : m->scale == 4 ? 2 : m->scale == 2 ? 1 : 0;
    }
    if (idx != JIT_NO_INDEX || m->disp) {
        jit_emit_lea(e, JIT_RAX, JIT_RAX, idx, scale, (int32_t)m->disp);
    }
    if (in->addr_size == 2) {
        jit_emit_op_rr(e, false, 0x0f, 0xb7, JIT_RAX, JIT_RAX);    /* movzx eax, ax */
    } else if (in->addr_size == 4) {
        jit_emit_mov32_rr(e, JIT_RAX, JIT_RAX);
    }
}

/* LEA r, m: the effective address, truncated to the address size, then to the operand size. */
static bool lea(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0];
    struct jit_emit *e = &t->e;

    if (!lea_ok(in)) {
        return false;
    }
    jit_emit_ea(t, in, JIT_RCX);
    if (d->size == 2) {
        jit_emit_op_rr(e, false, 0x0f, 0xb7, JIT_RAX, JIT_RAX);    /* movzx eax, ax */
    } else if (d->size == 4) {
        jit_emit_mov32_rr(e, JIT_RAX, JIT_RAX);
    }
    store_rax(t, d);
    return true;
}

/* XCHG r, r (never locked: only a memory operand is). */
static bool xchg(struct jit_tr *t, const struct insn *in)
{
    const struct operand *a = &in->ops[0], *b = &in->ops[1];
    struct jit_emit *e = &t->e;

    if (!xchg_ok(in)) {
        return false;
    }
    jit_emit_ld(e, jit_size_of(a->size), false, JIT_RAX, JIT_RBX, jit_reg_off(a));
    jit_emit_ld(e, jit_size_of(b->size), false, JIT_RCX, JIT_RBX, jit_reg_off(b));
    store_rax(t, b);
    store_reg(t, JIT_RCX, a);
    return true;
}

/* SETcc r8 (0F 90+cc /0 on the register's byte). */
static bool setcc(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0];

    if (d->kind != OPK_REG || d->size != 1) {
        return false;
    }
    jit_flags_to_host(t);
    jit_emit_op_mem(&t->e, false, false, false, 0x0f, 0x90 | (in->opcode & 15), 0, JIT_RBX,
                    JIT_NO_INDEX, 0, jit_reg_off(d), false, 0);
    return true;
}

/* CMOVcc r32/r64, r (a 32-bit CMOVcc writes its destination, zero-extended, either way). */
static bool cmovcc(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    struct jit_emit *e = &t->e;

    if (!is_reg(d) || !is_reg(s) || d->size < 4 || s->size != d->size) {
        return false;
    }
    jit_flags_to_host(t);
    jit_emit_ld(e, jit_size_of(d->size), false, JIT_RAX, JIT_RBX, jit_reg_off(d));
    jit_emit_ld(e, jit_size_of(s->size), false, JIT_RCX, JIT_RBX, jit_reg_off(s));
    jit_emit_op_rr(e, d->size == 8, 0x0f, 0x40 | (in->opcode & 15), JIT_RAX, JIT_RCX);
    store_rax(t, d);
    return true;
}

/* CLC STC CMC on the host's CF (F8, F9, F5). */
static bool carry(struct jit_tr *t, const struct insn *in)
{
    uint8_t op = in->op == OP_CLC ? 0xf8 : in->op == OP_STC ? 0xf9 : 0xf5;

    jit_flags_to_host(t);
    if (jit_emit_room(&t->e, 1)) {
        jit_put8(&t->e, op);
    }
    t->flags = JIT_F_HOST;
    return true;
}

/*
 * The SDM leaves some flags of shifts and IMUL undefined; the handlers set them as AMD's
 * processors do.  The host instruction can stand in for the handler where no one reads its
 * flags (t's liveness), or on an AMD host, with the guest's flags in the host's EFLAGS first
 * (a count of 0 keeps them all; rotates keep all but CF and OF).
 */
static bool undefined_flags_ok(struct jit_tr *t)
{
    if (jit_flags_dead(t)) {
        return true;
    }
    if (!t->host_is_amd) {
        return false;
    }
    jit_flags_to_host(t);
    return true;
}

/*
 * SHL SHR SAR ROL ROR r, imm8|CL (C0/C1 ib, D2/D3 with the count in CL).  The host masks the
 * count as the guest does; a count of 0 still writes a 32-bit register whole, as the handler.
 */
static bool shift(struct jit_tr *t, const struct insn *in)
{
    static const int8_t digit[] = {
        [OP_ROL] = 0, [OP_ROR] = 1, [OP_SHL] = 4, [OP_SAL] = 4, [OP_SHR] = 5, [OP_SAR] = 7,
    };
    const struct operand *d = &in->ops[0], *c = in->nops > 1 ? &in->ops[1] : NULL;
    struct jit_emit *e = &t->e;
    bool cl;

    if (!is_reg(d) || !c) {
        return false;
    }
    cl = c->kind == OPK_REG && c->reg == 1 && !c->hi8 && c->size == 1;
    if ((!cl && c->kind != OPK_IMM) || !undefined_flags_ok(t)) {
        return false;
    }
    if (cl) {
        jit_emit_ld(e, JIT_S8, false, JIT_RCX, JIT_RBX, JIT_OFF_REGS + 8 * 1);
        op_reg_mem(e, d->size, 0xd2, digit[in->op], jit_reg_off(d));
    } else {
        op_reg_mem(e, d->size, 0xc0, digit[in->op], jit_reg_off(d));
        if (jit_emit_room(e, 1)) {
            jit_put8(e, (uint8_t)c->imm);
        }
    }
    clear_high(t, d);
    jit_flags_set_by_host(t);   /* the guest's, or dead */
    return true;
}

/* IMUL r32/r64, r [, imm] (0F AF). */
static bool imul(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *a = &in->ops[1];
    const struct operand *b = in->nops == 3 ? &in->ops[2] : d;
    struct jit_emit *e = &t->e;

    if (in->nops < 2 || !is_reg(d) || d->size < 4 || !is_reg(a) || a->size != d->size ||
        (b->kind != OPK_IMM && b != d) || !undefined_flags_ok(t)) {
        return false;
    }
    jit_emit_ld(e, jit_size_of(d->size), false, JIT_RAX, JIT_RBX, jit_reg_off(a));
    load_src(e, JIT_RCX, b);
    jit_emit_op_rr(e, d->size == 8, 0x0f, 0xaf, JIT_RAX, JIT_RCX);
    store_rax(t, d);
    jit_flags_set_by_host(t);
    return true;
}

/* JMP rel, the last instruction of its block: out through the taken-branch stub. */
static bool jmp(struct jit_tr *t, const struct insn *in)
{
    if (in->op_size == 2 || in->ops[0].kind != OPK_REL) {
        return false;
    }
    jit_add_stub(t, jit_emit_jmp(&t->e, NULL), JIT_STUB_TAKEN);
    return true;
}

/*
 * BT BTS BTR BTC r32/r64, r|imm8 on registers: the host's register form masks the bit offset
 * as the handler does; CF is the bit, the others undefined (AMD keeps them, as the handler).
 */
static bool bt(struct jit_tr *t, const struct insn *in)
{
    static const uint8_t rr[] = { [OP_BT] = 0xa3, [OP_BTS] = 0xab, [OP_BTR] = 0xb3,
                                  [OP_BTC] = 0xbb };
    static const uint8_t digit[] = { [OP_BT] = 4, [OP_BTS] = 5, [OP_BTR] = 6, [OP_BTC] = 7 };
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    struct jit_emit *e = &t->e;

    if (!is_reg(d) || d->size < 4 || !(s->kind == OPK_IMM || (is_reg(s) && s->size == d->size)) ||
        (in->prefixes & PFX_LOCK) || !undefined_flags_ok(t)) {
        return false;
    }
    jit_emit_ld(e, jit_size_of(d->size), false, JIT_RAX, JIT_RBX, jit_reg_off(d));
    if (s->kind == OPK_IMM) {
        jit_emit_op_rr(e, d->size == 8, 0x0f, 0xba, digit[in->op], JIT_RAX);
        if (jit_emit_room(e, 1)) {
            jit_put8(e, (uint8_t)s->imm);
        }
    } else {
        jit_emit_ld(e, jit_size_of(s->size), false, JIT_RCX, JIT_RBX, jit_reg_off(s));
        jit_emit_op_rr(e, d->size == 8, 0x0f, rr[in->op], JIT_RCX, JIT_RAX);
    }
    if (in->op != OP_BT) {
        store_rax(t, d);
    }
    t->flags = JIT_F_HOST;
    return true;
}

/* BSWAP r32/r64 (0F C8+r; a 16-bit BSWAP is undefined: left to the handler). */
static bool bswap(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0];
    struct jit_emit *e = &t->e;

    if (!is_reg(d) || d->size < 4) {
        return false;
    }
    jit_emit_ld(e, jit_size_of(d->size), false, JIT_RAX, JIT_RBX, jit_reg_off(d));
    if (jit_emit_room(e, 3)) {
        if (d->size == 8) {
            jit_put8(e, 0x48);
        }
        jit_put8(e, 0x0f);
        jit_put8(e, 0xc8);
    }
    store_rax(t, d);
    return true;
}

/* Jcc rel with the operand size of the mode: taken leaves through a stub (jit-translate.c). */
static bool jcc(struct jit_tr *t, const struct insn *in)
{
    /* The flag bits of O, B, E, BE, S, P (a set one is the condition; odd ones negate);
     * without the flags in the host's EFLAGS, no popfq for any condition. */
    static const uint16_t bits[] = { 0x800, 0x001, 0x040, 0x041, 0x080, 0x004 };
    unsigned cc = in->opcode & 15;

    if (in->op_size == 2 || in->ops[0].kind != OPK_REL) {
        return false;
    }
    if (!(t->flags & JIT_F_HOST) && cc < 12) {
        /* TEST dword [flags], bits (F7 /0 id): no popfq for the simple conditions. */
        jit_emit_op_mem(&t->e, false, false, false, 0xf7, -1, 0, JIT_RBX, JIT_NO_INDEX, 0,
                        jit_flags_mem_off(t), true, bits[cc / 2]);
        jit_add_stub(t, jit_emit_jcc(&t->e, cc & 1 ? JIT_CC_E : JIT_CC_NE, NULL),
                     JIT_STUB_TAKEN);
        return true;
    }
    if (!(t->flags & JIT_F_HOST)) {
        struct jit_emit *e = &t->e;

        /* L GE LE G: eax = flags with bit 7 = SF ^ OF (bit 11 shifted down), bit 6 = ZF. */
        jit_emit_ld(e, JIT_S32, false, JIT_RAX, JIT_RBX, jit_flags_mem_off(t));
        jit_emit_mov32_rr(e, JIT_RCX, JIT_RAX);
        jit_emit_op_rr(e, false, 0xc1, -1, 5, JIT_RCX);        /* shr ecx, 4 */
        if (jit_emit_room(e, 1)) {
            jit_put8(e, 4);
        }
        jit_emit_alu_ri(e, JIT_AND, false, JIT_RCX, 0x80);
        jit_emit_alu_rr(e, JIT_XOR, false, JIT_RAX, JIT_RCX);
        jit_emit_alu_ri(e, JIT_AND, false, JIT_RAX, cc >= 14 ? 0xc0 : 0x80);
        jit_add_stub(t, jit_emit_jcc(e, cc & 1 ? JIT_CC_E : JIT_CC_NE, NULL), JIT_STUB_TAKEN);
        return true;
    }
    jit_add_stub(t, jit_emit_jcc(&t->e, (enum jit_cc)cc, NULL), JIT_STUB_TAKEN);
    return true;
}

bool jit_inline(struct jit_tr *t)
{
    const struct insn *in = &t->insn[t->i];

    if (t->mode != MODE_LONG64 && t->mode != MODE_PROT32) {
        return false;
    }
    switch (in->op) {
    case OP_ADD: case OP_OR: case OP_ADC: case OP_SBB: case OP_AND: case OP_SUB: case OP_XOR:
    case OP_CMP: case OP_TEST:
        return alu2(t, in);
    case OP_INC: case OP_DEC: case OP_NEG: case OP_NOT:
        return alu1(t, in);
    case OP_MOV:
        return mov(t, in);
    case OP_MOVZX: case OP_MOVSX: case OP_MOVSXD:
        return movx(t, in);
    case OP_LEA:
        return lea(t, in);
    case OP_XCHG:
        return xchg(t, in);
    case OP_SETCC:
        return setcc(t, in);
    case OP_CMOVCC:
        return cmovcc(t, in);
    case OP_CLC: case OP_STC: case OP_CMC:
        return carry(t, in);
    case OP_JCC:
        return jcc(t, in);
    case OP_JMP:
        return jmp(t, in);
    case OP_SHL: case OP_SAL: case OP_SHR: case OP_SAR: case OP_ROL: case OP_ROR:
        return shift(t, in);
    case OP_IMUL:
        return imul(t, in);
    case OP_BT: case OP_BTS: case OP_BTR: case OP_BTC:
        return bt(t, in);
    case OP_BSWAP:
        return bswap(t, in);
    case OP_NOP: case OP_ENDBR:
        return true;
    default:
        return false;
    }
}
