/*
 * Control transfer: jmp, jcc, jcxz, loop/loope/loopne, call and ret near
 * and far, iret (real mode and vm86), int3/int n/into/int1, bound
 * (Intel SDM vol. 2, each instruction's page).
 *
 * Operand conventions this file relies on (decode-tables.c fills them):
 *   - ops[0] is the target: OPK_REL (next rip + imm), a register or memory
 *     operand holding the new rip (near indirect), OPK_FARPTR (imm offset,
 *     sel selector) or a memory operand holding offset then selector
 *     (far indirect: in->op_size bytes of offset, then 2 of selector).
 *   - jcc's condition is the low 4 bits of in->opcode (70-7F, 0F 80-8F).
 *   - ret and ret far: ops[0], when present, is the imm16 to release.
 *   - int n: ops[0] is the imm8 vector.  bound: ops[0] the register index,
 *     ops[1] the memory pair.
 *   - The width of rip (and of the pushed return address) is in->op_size;
 *     in 64-bit mode 4 is taken as 8 (near branches default to 64 bits
 *     there, SDM vol. 1, 3.6.1).  A 16-bit width wraps ip at 64 KiB.
 *   - jcxz and the loop family count in rCX of in->addr_size.
 *
 * Far jmp/call/ret in protected and long mode go to tcg_far_jump() and
 * tcg_far_return() (exec-system.c, which checks descriptors); real mode
 * and vm86 are done here.
 *
 * A branch that faults (#GP for a target beyond CS.limit or not canonical)
 * changes no register: targets are checked before anything is committed.
 * Exceptions are returned through tcg_raise(); delivery through the IDT,
 * and software interrupts' return address, are part 2's.
 *
 * Threads: runs on the vCPU thread that owns cpu.
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "system/log.h"

#define RF_IOPL (3ull << 12)

/* A new rip must be canonical in 64-bit mode and within CS.limit
 * elsewhere, real mode included (SDM vol. 2A JMP, "Operation"). */
static bool target_ok(const struct tcg_cpu *cpu, uint64_t t)
{
    if (cpu->mode == MODE_LONG64) {
        uint64_t hi = t >> 47;

        return hi == 0 || hi == 0x1ffff;
    }
    return t <= cpu->st.seg[S_CS].limit;
}

/* Jumps to target, truncated to the width of rip. */
static enum tcg_status branch(struct tcg_cpu *cpu, const struct insn *in, uint64_t target)
{
    target &= tcg_size_mask(tcg_near_op_size(cpu, in));
    if (!target_ok(cpu, target)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->st.rip = target;
    return TCG_JUMPED;
}

/* The target of a near jmp/call, untruncated. */
static enum tcg_status near_target(struct tcg_cpu *cpu, const struct insn *in, uint64_t *t)
{
    if (in->ops[0].kind == OPK_REL) {
        *t = cpu->next_rip + in->ops[0].imm;
        return TCG_OK;
    }
    return tcg_op_read(cpu, in, 0, t);
}

enum tcg_status exec_jmp(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t t;
    enum tcg_status s = near_target(cpu, in, &t);

    if (s != TCG_OK) {
        return s;
    }
    return branch(cpu, in, t);
}

enum tcg_status exec_jcc(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!tcg_cond(cpu, in->opcode & 15)) {
        return TCG_OK;
    }
    return branch(cpu, in, cpu->next_rip + in->ops[0].imm);
}

enum tcg_status exec_jcxz(struct tcg_cpu *cpu, const struct insn *in)
{
    if (cpu->st.regs[R_ECX] & tcg_size_mask(in->addr_size)) {
        return TCG_OK;
    }
    return branch(cpu, in, cpu->next_rip + in->ops[0].imm);
}

/*
 * SDM vol. 2A LOOP/LOOPcc: rCX (address size) is decremented, flags are
 * untouched; the branch is taken while the count is not zero (and, for
 * loope/loopne, ZF is 1/0).  rCX is written only once the target checks out.
 *
 * On the AMD host a repeat prefix on loope/loopne (E1/E0) picks the
 * condition instead of the opcode: after F3 the branch wants ZF = 1, after
 * F2 ZF = 0, the last of them counting (checked natively; loop E2 is not
 * affected).  Undocumented, so other vendors keep the opcode's condition.
 */
static enum tcg_status loop_common(struct tcg_cpu *cpu, const struct insn *in, int zf_want)
{
    uint64_t am = tcg_size_mask(in->addr_size);
    uint64_t cx = (cpu->st.regs[R_ECX] - 1) & am;
    bool take = cx != 0;
    enum tcg_status s = TCG_OK;

    if (zf_want >= 0 && in->last_rep && !tcg_host_is_intel()) {
        zf_want = in->last_rep == 0xf3;
    }
    if (take && zf_want >= 0) {
        take = !!(cpu->st.rflags & RFLAGS_ZF) == zf_want;
    }
    if (take) {
        s = branch(cpu, in, cpu->next_rip + in->ops[0].imm);
        if (s == TCG_EXCEPTION) {
            return s;
        }
    }
    tcg_reg_write(cpu, R_ECX, in->addr_size, false, cx);
    return s;
}

enum tcg_status exec_loop(struct tcg_cpu *cpu, const struct insn *in)
{
    return loop_common(cpu, in, -1);
}

enum tcg_status exec_loope(struct tcg_cpu *cpu, const struct insn *in)
{
    return loop_common(cpu, in, 1);
}

enum tcg_status exec_loopne(struct tcg_cpu *cpu, const struct insn *in)
{
    return loop_common(cpu, in, 0);
}

/*
 * SDM vol. 2A CALL (near): the target is read first (call [rsp] uses the old
 * rSP).  Outside 64-bit mode the CS limit is checked before the push, as
 * the SDM orders it.  In 64-bit mode the host checks the push first: a bad
 * stack (#SS, #PF) wins over a non-canonical target, whose #GP(0) then
 * comes with nothing written.  So the stack slot is probed for a write,
 * then the target checked, then the return address pushed.
 */
enum tcg_status exec_call(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    uint64_t t;
    enum tcg_status s = near_target(cpu, in, &t);

    if (s != TCG_OK) {
        return s;
    }
    t &= tcg_size_mask(size);
    if (cpu->mode == MODE_LONG64) {
        uint64_t lin;
        uint8_t b[8];

        if ((s = tcg_linear(cpu, S_SS, cpu->st.regs[R_ESP] - size, size, ACC_WRITE,
                            &lin)) != TCG_OK ||
            (s = tcg_read_lin(cpu, lin, b, size, ACC_WRITE)) != TCG_OK) {
            return s;
        }
    }
    if (!target_ok(cpu, t)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if ((s = tcg_push(cpu, cpu->next_rip & tcg_size_mask(size), size)) != TCG_OK) {
        return s;
    }
    cpu->st.rip = t;
    return TCG_JUMPED;
}

/* Releases n bytes of stack after a return (stack address size). */
static void sp_release(struct tcg_cpu *cpu, uint64_t n)
{
    unsigned asz = tcg_stack_addr_size(cpu);

    tcg_reg_write(cpu, R_ESP, asz, false,
                  (cpu->st.regs[R_ESP] + n) & tcg_size_mask(asz));
}

static uint64_t ret_imm(const struct insn *in)
{
    return in->nops > 0 && in->ops[0].kind == OPK_IMM ? in->ops[0].imm & 0xffff : 0;
}

/* SDM vol. 2B RET (near), with the optional imm16. */
enum tcg_status exec_ret(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    uint64_t old_sp = cpu->st.regs[R_ESP];
    uint64_t t;
    enum tcg_status s;

    if ((s = tcg_pop(cpu, &t, size)) != TCG_OK) {
        return s;
    }
    t &= tcg_size_mask(size);
    if (!target_ok(cpu, t)) {
        cpu->st.regs[R_ESP] = old_sp;
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    sp_release(cpu, ret_imm(in));
    cpu->st.rip = t;
    return TCG_JUMPED;
}

/* ---- far transfers ---- */

static bool real_like(const struct tcg_cpu *cpu)
{
    return !(cpu->st.cr0 & CR0_PE) ||
           (cpu->mode != MODE_LONG64 && (cpu->st.rflags & RFLAGS_VM));
}

/*
 * The offset size of a far jmp/call pointer: REX.W asks for m16:64, which
 * Intel has and AMD does not (APM vol. 3, JMP (Far) and CALL (Far): the AMD
 * host reads m16:32; a far CALL still pushes 8-byte values then, see
 * exec_call_far).
 */
static unsigned far_size(const struct tcg_cpu *cpu, const struct insn *in)
{
    if (cpu->mode == MODE_LONG64 && (in->rex & 8)) {
        /* REX.W wins over 66, then AMD takes m16:32 (with or without 66,
         * measured on Zen 4). */
        return tcg_host_is_intel() ? 8 : 4;
    }
    return in->op_size;
}

/* Selector and offset of a far jmp/call operand. */
static enum tcg_status far_target(struct tcg_cpu *cpu, const struct insn *in,
                                  uint16_t *sel, uint64_t *off)
{
    unsigned size = far_size(cpu, in);
    uint8_t b[10] = { 0 };
    uint64_t ea;
    enum tcg_status s;

    if (in->ops[0].kind == OPK_FARPTR) {
        *sel = in->ops[0].sel;
        *off = in->ops[0].imm & tcg_size_mask(size);
        return TCG_OK;
    }
    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    /* Two reads, the offset first: where the pointer straddles a bad
     * page or the end of the canonical range, the host faults on the
     * offset's bytes first. */
    ea = tcg_ea(cpu, in);
    if ((s = tcg_mem_read(cpu, in->mem.seg, ea, b, size)) != TCG_OK ||
        (s = tcg_mem_read(cpu, in->mem.seg, (ea + size) & tcg_size_mask(in->addr_size),
                          b + size, 2)) != TCG_OK) {
        return s;
    }
    *off = 0;
    memcpy(off, b, size);
    *sel = (uint16_t)(b[size] | (b[size + 1] << 8));
    return TCG_OK;
}

/* Loads CS the real-mode way and jumps (SDM vol. 3, 20.1.1: base =
 * selector * 16, the limit and rights are kept). */
static enum tcg_status far_jump_real(struct tcg_cpu *cpu, uint16_t sel, uint64_t off)
{
    if (off > cpu->st.seg[S_CS].limit) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->st.seg[S_CS].selector = sel;
    cpu->st.seg[S_CS].base = (uint64_t)sel << 4;
    cpu->st.rip = off;
    return TCG_JUMPED;
}

enum tcg_status exec_jmp_far(struct tcg_cpu *cpu, const struct insn *in)
{
    uint16_t sel;
    uint64_t off;
    enum tcg_status s = far_target(cpu, in, &sel, &off);

    if (s != TCG_OK) {
        return s;
    }
    if (!real_like(cpu)) {
        /* Protected-mode descriptor checks: exec-system.c. */
        return tcg_far_jump(cpu, sel, off, false, far_size(cpu, in));
    }
    return far_jump_real(cpu, sel, off);
}

enum tcg_status exec_call_far(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = far_size(cpu, in);
    uint64_t old_sp = cpu->st.regs[R_ESP];
    uint16_t sel;
    uint64_t off;
    enum tcg_status s = far_target(cpu, in, &sel, &off);

    if (s != TCG_OK) {
        return s;
    }
    if (!real_like(cpu)) {
        /* AMD with REX.W: the pointer is m16:32 (the decoder's operand
         * size) but CS and the return address are pushed as 8 bytes each
         * (measured on Zen 4). */
        return tcg_far_jump(cpu, sel, off, true,
                            cpu->mode == MODE_LONG64 && (in->rex & 8) ? 8 : size);
    }
    if (off > cpu->st.seg[S_CS].limit) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if ((s = tcg_push(cpu, cpu->st.seg[S_CS].selector, size)) != TCG_OK ||
        (s = tcg_push(cpu, cpu->next_rip & tcg_size_mask(size), size)) != TCG_OK) {
        cpu->st.regs[R_ESP] = old_sp;
        return s;
    }
    return far_jump_real(cpu, sel, off);
}

enum tcg_status exec_ret_far(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->op_size;
    uint64_t old_sp = cpu->st.regs[R_ESP];
    uint64_t off, sel;
    enum tcg_status s;

    if (!real_like(cpu)) {
        return tcg_far_return(cpu, size, (uint16_t)ret_imm(in));
    }
    if ((s = tcg_pop(cpu, &off, size)) != TCG_OK ||
        (s = tcg_pop(cpu, &sel, size)) != TCG_OK) {
        cpu->st.regs[R_ESP] = old_sp;
        return s;
    }
    off &= tcg_size_mask(size);
    if (off > cpu->st.seg[S_CS].limit) {
        cpu->st.regs[R_ESP] = old_sp;
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    sp_release(cpu, ret_imm(in));
    return far_jump_real(cpu, (uint16_t)sel, off);
}

/*
 * SDM vol. 2A IRET.  Real-address mode and vm86 with IOPL 3 pop ip, cs,
 * flags.  A 32-bit iret keeps VM, VIF, VIP and the reserved bits (EFLAGS =
 * popped & 257FD5H | EFLAGS & 1A0000H), and in vm86 IOPL too (1A3000H); a
 * 16-bit one replaces bits 15:0 (but IOPL in vm86).  vm86 with IOPL < 3 is
 * #GP(0), VME not being offered.  Protected and IA-32e mode (privilege
 * changes, task returns, returns to vm86) are tcg_iret() in exec-system.c.
 * Any IRET ends the blocking of NMIs (SDM vol. 3, 6.7.1).
 */
enum tcg_status exec_iret(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->op_size;
    uint64_t old_sp = cpu->st.regs[R_ESP];
    uint64_t off, sel, fl, keep;
    bool vm86 = (cpu->st.cr0 & CR0_PE) && cpu->mode != MODE_LONG64 &&
                (cpu->st.rflags & RFLAGS_VM);
    enum tcg_status s;

    if ((cpu->st.cr0 & CR0_PE) && !vm86) {
        return tcg_iret(cpu, size);
    }
    if (vm86 && (cpu->st.rflags & RFLAGS_IOPL) != RFLAGS_IOPL) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if ((s = tcg_pop(cpu, &off, size)) != TCG_OK ||
        (s = tcg_pop(cpu, &sel, size)) != TCG_OK ||
        (s = tcg_pop(cpu, &fl, size)) != TCG_OK) {
        cpu->st.regs[R_ESP] = old_sp;
        return s;
    }
    off &= tcg_size_mask(size);
    if (off > cpu->st.seg[S_CS].limit) {
        cpu->st.regs[R_ESP] = old_sp;
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (size == 2) {
        keep = ~0xffffull | (vm86 ? RF_IOPL : 0);
        cpu->st.rflags = (cpu->st.rflags & keep) | (fl & ~keep & 0xffff);
    } else {
        keep = 0x1a0000ull | (vm86 ? RF_IOPL : 0);
        cpu->st.rflags = (fl & 0x257fd5 & ~keep) | (cpu->st.rflags & keep);
    }
    cpu->st.rflags = (cpu->st.rflags & ~0x8028ull) | RFLAGS_FIXED;
    cpu->nmi_blocked = false;
    cpu->dbg_rf_loaded = true;
    return far_jump_real(cpu, (uint16_t)sel, off);
}

/* ---- software interrupts ---- */

/* int n in vm86 with IOPL < 3 is #GP(0) (SDM vol. 3, 20.3.3 without VME
 * redirection, which is part 2's). */
enum tcg_status exec_int(struct tcg_cpu *cpu, const struct insn *in)
{
    if (cpu->mode != MODE_LONG64 && (cpu->st.rflags & RFLAGS_VM) &&
        ((cpu->st.rflags & RFLAGS_IOPL) >> 12) < 3) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return tcg_raise(cpu, in->ops[0].imm & 0xff);
}

enum tcg_status exec_int3(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    return tcg_raise(cpu, EXC_BP);
}

enum tcg_status exec_into(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (cpu->mode == MODE_LONG64) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (!(cpu->st.rflags & RFLAGS_OF)) {
        return TCG_OK;
    }
    return tcg_raise(cpu, EXC_OF);
}

enum tcg_status exec_int1(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    return tcg_raise(cpu, EXC_DB);
}

/* SDM vol. 2A BOUND: #BR unless lower <= index <= upper, signed, where the
 * bounds are the two operand-size values at the memory operand. */
enum tcg_status exec_bound(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->op_size == 2 ? 2 : 4;
    uint8_t b[8];
    uint64_t ea, idx;
    int32_t lo, hi, x;
    enum tcg_status s;

    if (cpu->mode == MODE_LONG64 || !in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    ea = tcg_ea(cpu, in);
    /* Two reads, lower bound first, each with its own limit check and
     * the second's offset wrapping at the address size: the AMD host
     * faults on the lower one's page before the upper one's #GP. */
    if ((s = tcg_mem_read(cpu, in->mem.seg, ea, b, size)) != TCG_OK ||
        (s = tcg_mem_read(cpu, in->mem.seg, (ea + size) & tcg_size_mask(in->addr_size),
                          b + size, size)) != TCG_OK) {
        return s;
    }
    idx = tcg_reg_read(cpu, in->ops[0].reg, size, false);
    if (size == 2) {
        lo = (int16_t)(b[0] | (b[1] << 8));
        hi = (int16_t)(b[2] | (b[3] << 8));
        x = (int16_t)idx;
    } else {
        uint32_t l, h;

        memcpy(&l, b, 4);
        memcpy(&h, b + 4, 4);
        lo = (int32_t)l;
        hi = (int32_t)h;
        x = (int32_t)(uint32_t)idx;
    }
    if (x < lo || x > hi) {
        return tcg_raise(cpu, EXC_BR);
    }
    return TCG_OK;
}
