/*
 * Instructions with a memory operand, in 64-bit code and in 32-bit code with flat segments, as
 * host code (issue 11, point 2): MOV
 * loads and stores, MOVZX/MOVSX/MOVSXD loads, the ALU operations with a memory source, CMP and
 * TEST of memory, read-modify-write ALU operations on memory (LOCK kept: the host's locked
 * instruction on the same RAM is the guest's), INC/DEC/NOT/NEG of memory, PUSH, POP, CALL rel
 * and RET.
 *
 * The address: the effective address as the handler's tcg_ea(), FS and GS adding their base,
 * the others none (SDM vol. 1, 3.3.7.1); in 32-bit code only ES, SS and DS while they are flat
 * writable data (cpu->jit_flat), whose checks then cannot fail but for an access past 4 GiB,
 * which crosses a page (below).  The access then looks in the fast TLB
 * (struct tcg_tlb_fast), in the host code QEMU's TCG uses for the same thing:
 *
 *     mov edx, eax; shr edx, 7; and edx, (size-1) << 5   ; the slot's offset
 *     lea r8, [rax + size - 1]; and r8, -4096; or r8, [rbx + tlb_ctx]
 *     cmp r8, [rbx + rdx + tlbf.read|write]; jne slow    ; page, context, permission
 *     mov rdx, [rbx + rdx + tlbf.addend]                 ; [rax + rdx] is the host byte
 *
 * An access that crosses a page compares the next page against the slot of the first, which
 * never holds it, so it takes the slow path; a non-canonical address matches no tag.  The slow
 * path (jit-translate.c) calls the instruction's handler, which does everything (walk, fault,
 * MMIO, a write to a page with decoded code, alignment checks), fills the slot, and comes back
 * after the instruction.  Nothing is written before the access is known to succeed, so a fault
 * leaves the guest as it was before the instruction.
 *
 * The TLB check changes the host's EFLAGS: where only they hold the guest's flags, these are
 * spilled first (jit_flags_spill).
 *
 * Threads: called by the translating vCPU thread only.
 */
#include "accel/tcg/jit-tr.h"

#define OFF_RSP (JIT_OFF_REGS + 8 * 4)

/*
 * The memory operand can be reached from here: 64-bit mode with 64- or 32-bit addressing, or
 * 32-bit code with 32-bit addressing through ES, SS or DS (when flat, see emit_lin).
 */
bool jit_mem_ok(const struct jit_tr *t, const struct insn *in)
{
    if (!in->has_mem || in->mem.disp != (int32_t)in->mem.disp) {
        return false;
    }
    if (t->mode == MODE_LONG64) {
        return (in->addr_size == 8 || in->addr_size == 4) && in->mem.seg <= S_GS;
    }
    return t->mode == MODE_PROT32 && in->addr_size == 4 &&
           (in->mem.seg == S_ES || in->mem.seg == S_SS || in->mem.seg == S_DS);
}

static bool sized(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static bool is_reg(const struct operand *o)
{
    return o->kind == OPK_REG && sized(o->size);
}

/*
 * rax = the linear address of in's memory operand (r9 is scratch).  In 32-bit code that is the
 * offset when the segment is flat (cpu->jit_flat); the jump returned goes to the slow path
 * when it is not (NULL in 64-bit mode).
 */
uint8_t *jit_emit_lin(struct jit_tr *t, const struct insn *in)
{
    jit_emit_ea(t, in, JIT_R9);
    if (t->mode != MODE_LONG64) {
        /* TEST byte [flat], 1 << seg (F6 /0 ib). */
        jit_emit_op_mem(&t->e, false, false, false, 0xf6, -1, 0, JIT_RBX, JIT_NO_INDEX, 0,
                        JIT_OFF_FLAT, false, 0);
        if (jit_emit_room(&t->e, 1)) {
            jit_put8(&t->e, (uint8_t)(1u << in->mem.seg));
        }
        return jit_emit_jcc(&t->e, JIT_CC_E, NULL);
    }
    if (in->mem.seg == S_FS || in->mem.seg == S_GS) {
        /* ADD rax, [rbx + base] (REX.W 03 /r). */
        jit_emit_op_mem(&t->e, false, true, false, 0x03, -1, JIT_RAX, JIT_RBX, JIT_NO_INDEX, 0,
                        JIT_OFF_SEG_BASE(in->mem.seg), false, 0);
    }
    return NULL;
}

/* The fast TLB check of size bytes at rax; returns the jump to the slow path. */
uint8_t *jit_emit_tlb(struct jit_tr *t, unsigned size, bool write)
{
    struct jit_emit *e = &t->e;
    int32_t tag = JIT_OFF_TLBF + (write ? (int32_t)offsetof(struct tcg_tlb_fast, write)
                                        : (int32_t)offsetof(struct tcg_tlb_fast, read));
    uint8_t *slow;

    _Static_assert(sizeof(struct tcg_tlb_fast) == 32, "slot offset (lin >> 7) & mask");
    jit_emit_mov32_rr(e, JIT_RDX, JIT_RAX);
    jit_emit_op_rr(e, false, 0xc1, -1, 5, JIT_RDX);            /* shr edx, 7 */
    if (jit_emit_room(e, 1)) {
        jit_put8(e, 7);
    }
    jit_emit_alu_ri(e, JIT_AND, false, JIT_RDX, (TCG_TLB_FAST_SIZE - 1) << 5);
    jit_emit_lea(e, JIT_R8, JIT_RAX, JIT_NO_INDEX, 0, (int32_t)size - 1);
    jit_emit_alu_ri(e, JIT_AND, true, JIT_R8, -4096);
    /* OR r8, [rbx + ctx] (REX.W 0B /r); CMP r8, [rbx + rdx + tag] (REX.W 3B /r). */
    jit_emit_op_mem(e, false, true, false, 0x0b, -1, JIT_R8, JIT_RBX, JIT_NO_INDEX, 0,
                    JIT_OFF_CTX, false, 0);
    jit_emit_op_mem(e, false, true, false, 0x3b, -1, JIT_R8, JIT_RBX, JIT_RDX, 0, tag, false,
                    0);
    slow = jit_emit_jcc(e, JIT_CC_NE, NULL);
    jit_emit_op_mem(e, false, true, false, 0x8b, -1, JIT_RDX, JIT_RBX, JIT_RDX, 0,
                    JIT_OFF_TLBF + (int32_t)offsetof(struct tcg_tlb_fast, addend), false, 0);
    return slow;
}

/* reg = size bytes at [rax + rdx], zero- or sign-extended to 64 bits. */
static void emit_load(struct jit_emit *e, enum jit_reg reg, unsigned size, bool sign)
{
    switch (size) {
    case 1:
        jit_emit_op_mem(e, false, sign, false, 0x0f, sign ? 0xbe : 0xb6, reg, JIT_RAX, JIT_RDX,
                        0, 0, false, 0);
        break;
    case 2:
        jit_emit_op_mem(e, false, sign, false, 0x0f, sign ? 0xbf : 0xb7, reg, JIT_RAX, JIT_RDX,
                        0, 0, false, 0);
        break;
    case 4:
        jit_emit_op_mem(e, false, sign, false, sign ? 0x63 : 0x8b, -1, reg, JIT_RAX, JIT_RDX, 0,
                        0, false, 0);
        break;
    default:
        jit_emit_op_mem(e, false, true, false, 0x8b, -1, reg, JIT_RAX, JIT_RDX, 0, 0, false, 0);
        break;
    }
}

/* An instruction on [rax + rdx] with reg (RCX: CL needs no REX), sized: opc8 or opc8 + 1. */
static void emit_on_mem(struct jit_emit *e, bool lock, unsigned size, int opc8, int reg)
{
    if (lock && jit_emit_room(e, 1)) {
        jit_put8(e, 0xf0);
    }
    jit_emit_op_mem(e, size == 2, size == 8, false, size == 1 ? opc8 : opc8 + 1, -1, reg,
                    JIT_RAX, JIT_RDX, 0, 0, false, 0);
}

/* A guest register = rcx (a 32-bit value zero-extended in rcx already). */
static void store_reg(struct jit_emit *e, const struct operand *d)
{
    jit_emit_st(e, d->size == 4 ? JIT_S64 : jit_size_of(d->size), JIT_RCX, JIT_RBX,
                jit_reg_off(d));
}

/* rcx = a register or immediate source, zero-extended (an immediate: its 64-bit value). */
static void load_src(struct jit_emit *e, const struct operand *s)
{
    if (s->kind == OPK_IMM) {
        jit_emit_movi(e, JIT_RCX, s->imm);
    } else {
        jit_emit_ld(e, jit_size_of(s->size), false, JIT_RCX, JIT_RBX, jit_reg_off(s));
    }
}

/*
 * The start of an instruction on its memory operand: the flags kept (*before: where they are
 * then, for the slow path), rcx = src if there is one (read before the address), rax = the
 * linear address, the fast TLB checked for size bytes.  Returns the jump to the slow path;
 * *seg gets the segment check's (32-bit code).
 */
static uint8_t *begin_access(struct jit_tr *t, const struct insn *in, const struct operand *src,
                             unsigned size, bool write, uint8_t *before, uint8_t **seg)
{
    jit_flags_spill(t);
    *before = t->flags;
    if (src) {
        load_src(&t->e, src);
    }
    *seg = jit_emit_lin(t, in);
    return jit_emit_tlb(t, size, write);
}

/* r8 = the host address of the operand, after a TLB hit (lea r8, [rax + rdx]). */
static void host_addr_r8(struct jit_emit *e)
{
    jit_emit_op_mem(e, false, true, false, 0x8d, -1, JIT_R8, JIT_RAX, JIT_RDX, 0, 0, false, 0);
}

/* MOV r, m; MOVZX/MOVSX/MOVSXD r, m. */
static bool load(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    bool sign = in->op != OP_MOV && in->op != OP_MOVZX && s->size < d->size;
    uint8_t before, *slow, *seg;

    if (!is_reg(d) || s->kind != OPK_MEM || !sized(s->size) ||
        (in->op == OP_MOV && s->size != d->size)) {
        return false;
    }
    slow = begin_access(t, in, NULL, s->size, false, &before, &seg);
    emit_load(&t->e, JIT_RCX, s->size, sign);
    if (sign && d->size == 4) {
        jit_emit_mov32_rr(&t->e, JIT_RCX, JIT_RCX);
    }
    store_reg(&t->e, d);
    jit_add_mem_stub(t, slow, seg, before);
    return true;
}

/* MOV m, r/imm. */
static bool store(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    uint8_t before, *slow, *seg;

    if (d->kind != OPK_MEM || !sized(d->size) || !(is_reg(s) || s->kind == OPK_IMM)) {
        return false;
    }
    slow = begin_access(t, in, s, d->size, true, &before, &seg);
    emit_on_mem(&t->e, false, d->size, 0x88, JIT_RCX);
    jit_add_mem_stub(t, slow, seg, before);
    return true;
}

/* The opcode rows of ADD OR ADC SBB AND SUB XOR CMP, and TEST's 84. */
static int alu_opc(unsigned op)
{
    switch (op) {
    case OP_ADD: return 0x00;
    case OP_OR: return 0x08;
    case OP_AND: return 0x20;
    case OP_SUB: return 0x28;
    case OP_XOR: return 0x30;
    case OP_CMP: return 0x38;
    case OP_TEST: return 0x84;
    default: return -1;     /* ADC and SBB take CF in: left to their handlers */
    }
}

/*
 * OP r, m (a load, then the register form on the guest register); OP m, r/imm: CMP and TEST
 * compare in host registers, the others change host memory in place ([rax + rdx], with LOCK
 * if the guest had it).
 */
static bool alu(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    int opc = alu_opc(in->op);
    bool to_mem = d->kind == OPK_MEM, rmw = to_mem && in->op != OP_CMP && in->op != OP_TEST;
    unsigned size = d->size;
    uint8_t before, *slow, *seg;

    if (opc < 0 || in->nops != 2 || !sized(size)) {
        return false;
    }
    if (to_mem ? !(is_reg(s) || s->kind == OPK_IMM) : !(is_reg(d) && s->kind == OPK_MEM)) {
        return false;
    }
    if ((in->prefixes & PFX_LOCK) && !rmw) {
        return false;       /* #UD: the handler raises it */
    }
    slow = begin_access(t, in, to_mem ? s : NULL, size, rmw, &before, &seg);
    if (rmw) {
        emit_on_mem(&t->e, in->prefixes & PFX_LOCK, size, opc, JIT_RCX);
    } else if (to_mem) {
        /* rax = the memory operand; CMP/TEST r/m=rax, reg=rcx: [m] - src, [m] & src. */
        emit_load(&t->e, JIT_RAX, size, false);
        if (size == 2 && jit_emit_room(&t->e, 1)) {
            jit_put8(&t->e, 0x66);
        }
        jit_emit_op_rr(&t->e, size == 8, size == 1 ? opc : opc + 1, -1, JIT_RCX, JIT_RAX);
    } else {
        emit_load(&t->e, JIT_RCX, size, false);
        jit_emit_op_mem(&t->e, size == 2, size == 8, false, size == 1 ? opc : opc + 1, -1,
                        JIT_RCX, JIT_RBX, JIT_NO_INDEX, 0, jit_reg_off(d), false, 0);
        if (size == 4 && in->op != OP_CMP && in->op != OP_TEST) {
            jit_emit_st_imm32(&t->e, false, JIT_RBX, jit_reg_off(d) + 4, 0);
        }
    }
    jit_flags_set_by_host(t);
    jit_add_mem_stub(t, slow, seg, before);
    return true;
}

/* INC DEC NOT NEG m (FE/FF /0 /1, F6/F7 /2 /3), LOCK kept; INC and DEC keep CF. */
static bool alu1(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0];
    bool incdec = in->op == OP_INC || in->op == OP_DEC;
    int digit = in->op == OP_INC ? 0 : in->op == OP_DEC ? 1 : in->op == OP_NOT ? 2 : 3;
    uint8_t before, *slow, *seg;

    if (d->kind != OPK_MEM || !sized(d->size)) {
        return false;
    }
    slow = begin_access(t, in, NULL, d->size, true, &before, &seg);
    if (incdec) {
        /* CF in: movzx ecx, byte [flags]; shr ecx, 1. */
        jit_emit_ld(&t->e, JIT_S8, false, JIT_RCX, JIT_RBX, jit_flags_mem_off(t));
        jit_emit_op_rr(&t->e, false, 0xd1, -1, 5, JIT_RCX);
    }
    emit_on_mem(&t->e, in->prefixes & PFX_LOCK, d->size, incdec ? 0xfe : 0xf6, digit);
    if (in->op != OP_NOT) {
        jit_flags_set_by_host(t);
    }
    jit_add_mem_stub(t, slow, seg, before);
    return true;
}

/*
 * SHL SHR SAR m, imm8 with a count that is not 0 once masked: then every flag is written (the
 * undefined ones as AMD's processors and the handler set them), so the host's EFLAGS, which the
 * TLB check changed, need not hold the guest's before; only where those flags are dead or the
 * host is AMD's.
 */
static bool shift(struct jit_tr *t, const struct insn *in)
{
    static const int8_t digit[] = { [OP_SHL] = 4, [OP_SAL] = 4, [OP_SHR] = 5, [OP_SAR] = 7 };
    const struct operand *d = &in->ops[0], *c = &in->ops[1];
    uint8_t before, *slow, *seg;

    if (d->kind != OPK_MEM || !sized(d->size) || in->nops < 2 || c->kind != OPK_IMM ||
        !(c->imm & (d->size == 8 ? 63 : 31)) || !(jit_flags_dead(t) || t->host_is_amd)) {
        return false;
    }
    slow = begin_access(t, in, NULL, d->size, true, &before, &seg);
    emit_on_mem(&t->e, false, d->size, 0xc0, digit[in->op]);
    if (jit_emit_room(&t->e, 1)) {
        jit_put8(&t->e, (uint8_t)c->imm);
    }
    jit_flags_set_by_host(t);
    jit_add_mem_stub(t, slow, seg, before);
    return true;
}

/*
 * CMPXCHG m, r ([LOCK] 0F B0/B1): the host's on the same RAM with the guest's RAX in the host's
 * (compared, and loaded on a mismatch, whole or in part as the operand size says), flags as
 * CMP.
 */
static bool cmpxchg(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0], *s = &in->ops[1];
    uint8_t before, *slow, *seg;

    if (d->kind != OPK_MEM || !sized(d->size) || !is_reg(s) || s->size != d->size) {
        return false;
    }
    slow = begin_access(t, in, s, d->size, true, &before, &seg);
    host_addr_r8(&t->e);
    jit_emit_ld(&t->e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_REGS);
    if ((in->prefixes & PFX_LOCK) && jit_emit_room(&t->e, 1)) {
        jit_put8(&t->e, 0xf0);
    }
    jit_emit_op_mem(&t->e, d->size == 2, d->size == 8, false, 0x0f, d->size == 1 ? 0xb0 : 0xb1,
                    JIT_RCX, JIT_R8, JIT_NO_INDEX, 0, 0, false, 0);
    jit_flags_set_by_host(t);
    jit_emit_st(&t->e, JIT_S64, JIT_RAX, JIT_RBX, JIT_OFF_REGS);
    jit_add_mem_stub(t, slow, seg, before);
    return true;
}

/*
 * BT BTS BTR BTC m, imm8 ([LOCK] 0F BA /4../7 ib): the offset is masked to the operand, so
 * the access stays in it.  CF is the bit; the SDM leaves OF SF AF PF undefined and AMD keeps
 * them, as the handler: only where they are dead or the host is AMD's, which then gets the
 * guest's flags back after the TLB check.
 */
static bool bt_mem(struct jit_tr *t, const struct insn *in)
{
    static const uint8_t digit[] = { [OP_BT] = 4, [OP_BTS] = 5, [OP_BTR] = 6, [OP_BTC] = 7 };
    const struct operand *d = &in->ops[0], *c = &in->ops[1];
    bool dead = jit_flags_dead(t);
    uint8_t before, *slow, *seg;

    if (d->kind != OPK_MEM || d->size < 2 || !sized(d->size) || c->kind != OPK_IMM ||
        (!dead && !t->host_is_amd)) {
        return false;
    }
    slow = begin_access(t, in, NULL, d->size, in->op != OP_BT, &before, &seg);
    host_addr_r8(&t->e);
    if (!dead) {
        jit_flags_to_host(t);
    }
    if ((in->prefixes & PFX_LOCK) && jit_emit_room(&t->e, 1)) {
        jit_put8(&t->e, 0xf0);
    }
    jit_emit_op_mem(&t->e, d->size == 2, d->size == 8, false, 0x0f, 0xba, digit[in->op], JIT_R8,
                    JIT_NO_INDEX, 0, 0, false, 0);
    if (jit_emit_room(&t->e, 1)) {
        jit_put8(&t->e, (uint8_t)c->imm);
    }
    t->flags = JIT_F_HOST;
    jit_add_mem_stub(t, slow, seg, before);
    return true;
}

/* rax = rsp - 8, the fast TLB checked for writing 8 bytes there. */
static uint8_t *emit_push_slot(struct jit_tr *t)
{
    jit_emit_ld(&t->e, JIT_S64, false, JIT_RAX, JIT_RBX, OFF_RSP);
    jit_emit_lea(&t->e, JIT_RAX, JIT_RAX, JIT_NO_INDEX, 0, -8);
    return jit_emit_tlb(t, 8, true);
}

/* rax = rsp and rcx = the 8 bytes there, through the fast TLB (the jump to the slow path). */
static uint8_t *emit_pop_slot(struct jit_tr *t)
{
    uint8_t *slow;

    jit_emit_ld(&t->e, JIT_S64, false, JIT_RAX, JIT_RBX, OFF_RSP);
    slow = jit_emit_tlb(t, 8, false);
    emit_load(&t->e, JIT_RCX, 8, false);
    return slow;
}

/* rsp = rax + 8, after a pop. */
static void emit_rsp_up(struct jit_tr *t)
{
    jit_emit_lea(&t->e, JIT_RAX, JIT_RAX, JIT_NO_INDEX, 0, 8);
    jit_emit_st(&t->e, JIT_S64, JIT_RAX, JIT_RBX, OFF_RSP);
}

/* PUSH r64/imm (the value read before RSP moves: PUSH RSP pushes the old one). */
static bool push(struct jit_tr *t, const struct insn *in)
{
    const struct operand *s = &in->ops[0];
    uint8_t before, *slow;

    if (t->mode != MODE_LONG64 || in->op_size != 8 ||
        !((s->kind == OPK_REG && s->size == 8) || s->kind == OPK_IMM)) {
        return false;
    }
    jit_flags_spill(t);
    before = t->flags;
    if (s->kind == OPK_IMM) {
        jit_emit_movi(&t->e, JIT_RCX, s->imm);
    } else {
        jit_emit_ld(&t->e, JIT_S64, false, JIT_RCX, JIT_RBX, jit_reg_off(s));
    }
    slow = emit_push_slot(t);
    emit_on_mem(&t->e, false, 8, 0x88, JIT_RCX);
    jit_emit_st(&t->e, JIT_S64, JIT_RAX, JIT_RBX, OFF_RSP);
    jit_add_mem_stub(t, slow, NULL, before);
    return true;
}

/* POP r64: RSP moves first, then the register is written (POP RSP keeps the value read). */
static bool pop(struct jit_tr *t, const struct insn *in)
{
    const struct operand *d = &in->ops[0];
    uint8_t before, *slow;

    if (t->mode != MODE_LONG64 || in->op_size != 8 || d->kind != OPK_REG || d->size != 8) {
        return false;
    }
    jit_flags_spill(t);
    before = t->flags;
    slow = emit_pop_slot(t);
    emit_rsp_up(t);
    store_reg(&t->e, d);
    jit_add_mem_stub(t, slow, NULL, before);
    return true;
}

/* jne to the slow path unless reg is canonical (r11 is scratch). */
static uint8_t *emit_canonical_check(struct jit_emit *e, enum jit_reg reg)
{
    jit_emit_mov_rr(e, JIT_R11, reg);
    jit_emit_op_rr(e, true, 0xc1, -1, 4, JIT_R11);     /* shl r11, 16 */
    if (jit_emit_room(e, 1)) {
        jit_put8(e, 16);
    }
    jit_emit_op_rr(e, true, 0xc1, -1, 7, JIT_R11);     /* sar r11, 16 */
    if (jit_emit_room(e, 1)) {
        jit_put8(e, 16);
    }
    jit_emit_alu_rr(e, JIT_CMP, true, JIT_R11, reg);
    return jit_emit_jcc(e, JIT_CC_NE, NULL);
}

/* A block's last instruction jumped to the address in reg: st.rip = reg, and on from there. */
static void emit_jumped_exit(struct jit_tr *t, enum jit_reg reg, uint8_t **field, int64_t target)
{
    jit_emit_st(&t->e, JIT_S64, reg, JIT_RBX, JIT_OFF_RIP);
    *field = jit_emit_leave(t, t->i, t->icount + 1, target);
}

/* CALL rel32: the target checked, the return address pushed, out to the target. */
static bool call(struct jit_tr *t, const struct insn *in)
{
    uint32_t next = t->off + in->len;
    uint8_t before, *slow, *bad, *out;

    if (t->mode != MODE_LONG64 || in->op_size != 8 || in->ops[0].kind != OPK_REL) {
        return false;
    }
    jit_flags_spill(t);
    before = t->flags;
    jit_emit_guest_rip(t, JIT_RCX, next);
    jit_emit_movi(&t->e, JIT_R10, in->ops[0].imm);
    jit_emit_alu_rr(&t->e, JIT_ADD, true, JIT_R10, JIT_RCX);
    bad = emit_canonical_check(&t->e, JIT_R10);
    slow = emit_push_slot(t);
    emit_on_mem(&t->e, false, 8, 0x88, JIT_RCX);
    jit_emit_st(&t->e, JIT_S64, JIT_RAX, JIT_RBX, OFF_RSP);
    emit_jumped_exit(t, JIT_R10, &out, (int64_t)next + (int64_t)in->ops[0].imm);
    jit_add_mem_stub(t, slow, bad, before);
    jit_add_stub(t, out, JIT_STUB_EPILOGUE);
    return true;
}

/*
 * JMP r/m64 and CALL r/m64: the target read (from the register, or through the fast TLB) and
 * checked, for CALL the return address pushed, out to the target.  Any slow path runs the
 * handler, which does all of it again: nothing was written before.
 */
static bool indirect(struct jit_tr *t, const struct insn *in)
{
    const struct operand *s = &in->ops[0];
    bool is_call = in->op == OP_CALL;
    uint8_t before, *slow = NULL, *bad, *push = NULL, *out;

    if (in->op_size != 8 || s->size != 8 || !(s->kind == OPK_REG || s->kind == OPK_MEM) ||
        (s->kind == OPK_MEM && !jit_mem_ok(t, in))) {
        return false;
    }
    jit_flags_spill(t);
    before = t->flags;
    if (s->kind == OPK_REG) {
        jit_emit_ld(&t->e, JIT_S64, false, JIT_R10, JIT_RBX, jit_reg_off(s));
    } else {
        jit_emit_lin(t, in);    /* 64-bit mode: no segment check to jump from */
        slow = jit_emit_tlb(t, 8, false);
        emit_load(&t->e, JIT_R10, 8, false);
    }
    bad = emit_canonical_check(&t->e, JIT_R10);
    if (is_call) {
        jit_emit_guest_rip(t, JIT_RCX, t->off + in->len);
        push = emit_push_slot(t);
        emit_on_mem(&t->e, false, 8, 0x88, JIT_RCX);
        jit_emit_st(&t->e, JIT_S64, JIT_RAX, JIT_RBX, OFF_RSP);
    }
    emit_jumped_exit(t, JIT_R10, &out, JIT_DYNAMIC);
    if (slow) {
        jit_add_mem_stub3(t, slow, bad, push, before);
    } else {
        jit_add_mem_stub3(t, bad, push, NULL, before);
    }
    jit_add_stub(t, out, JIT_STUB_EPILOGUE);
    return true;
}

/* RET (C3): the return address read and checked, RSP moved, out to it. */
static bool ret(struct jit_tr *t, const struct insn *in)
{
    uint8_t before, *slow, *bad, *out;

    if (t->mode != MODE_LONG64 || in->op_size != 8 || in->nops != 0) {
        return false;
    }
    jit_flags_spill(t);
    before = t->flags;
    slow = emit_pop_slot(t);
    bad = emit_canonical_check(&t->e, JIT_RCX);
    emit_rsp_up(t);
    emit_jumped_exit(t, JIT_RCX, &out, JIT_DYNAMIC);
    jit_add_mem_stub(t, slow, bad, before);
    jit_add_stub(t, out, JIT_STUB_EPILOGUE);
    return true;
}

bool jit_inline_mem(struct jit_tr *t)
{
    const struct insn *in = &t->insn[t->i];

    if (in->op == OP_SSE) {
        return jit_inline_sse(t);
    }

    if (t->mode != MODE_LONG64 && t->mode != MODE_PROT32) {
        return false;
    }
    switch (in->op) {
    case OP_PUSH:
        return push(t, in);
    case OP_POP:
        return pop(t, in);
    case OP_CALL:
        return in->ops[0].kind == OPK_REL ? call(t, in)
                                          : t->mode == MODE_LONG64 && indirect(t, in);
    case OP_JMP:
        return t->mode == MODE_LONG64 && in->ops[0].kind != OPK_REL && indirect(t, in);
    case OP_RET:
        return ret(t, in);
    default:
        break;
    }
    if (!jit_mem_ok(t, in)) {
        return false;
    }
    switch (in->op) {
    case OP_MOV:
        return in->ops[0].kind == OPK_MEM ? store(t, in) : load(t, in);
    case OP_MOVZX: case OP_MOVSX: case OP_MOVSXD:
        return load(t, in);
    case OP_ADD: case OP_OR: case OP_AND: case OP_SUB: case OP_XOR: case OP_CMP: case OP_TEST:
        return alu(t, in);
    case OP_INC: case OP_DEC: case OP_NOT: case OP_NEG:
        return alu1(t, in);
    case OP_SHL: case OP_SAL: case OP_SHR: case OP_SAR:
        return shift(t, in);
    case OP_CMPXCHG:
        return cmpxchg(t, in);
    case OP_BT: case OP_BTS: case OP_BTR: case OP_BTC:
        return bt_mem(t, in);
    default:
        return false;
    }
}
