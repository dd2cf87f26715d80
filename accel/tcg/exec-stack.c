/*
 * The stack family: push and pop in all forms, pusha/popa, pushf/popf,
 * enter and leave (Intel SDM vol. 2, each instruction's page; vol. 1, 6.2
 * for the stack and its address size).
 *
 * Operand conventions this file relies on (decode-tables.c fills them):
 *   - push: ops[0] is the source (register, memory, immediate sign-extended
 *     to 64 bits in imm, or a segment register as OPK_SREG);
 *     pop: ops[0] is the destination.  The width pushed or popped is
 *     in->op_size; in 64-bit mode a size of 4 is taken as 8 (the default
 *     operand size of stack operations there is 64, SDM vol. 1, 3.6.1).
 *   - enter: ops[0] the imm16 frame size, ops[1] the imm8 nesting level.
 *   - pusha/popa/pushf/popf/leave have no operands that are used.
 *
 * A fault in the middle (a #SS, a #PF on the second page) leaves rSP as
 * it was, so the instruction restarts; the handlers commit their register
 * changes at the end, except popa, which like the host keeps the registers
 * it popped before the fault.  Memory written before a fault stays
 * written, as on hardware.  Where the SDM leaves the order of checks open
 * the host's was measured with the differential tester (tests/diff).
 *
 * Threads: runs on the vCPU thread that owns cpu.
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"

/* rSP (or rBP) moved by delta within the stack address size: the bits above
 * it are kept, as a 16-bit stack changes only SP. */
static uint64_t sp_move(uint64_t sp, uint64_t delta, uint64_t am)
{
    return (sp & ~am) | ((sp + delta) & am);
}

static enum tcg_status stack_write(struct tcg_cpu *cpu, uint64_t sp, uint64_t am,
                                   uint64_t val, unsigned size)
{
    uint8_t b[8];

    memcpy(b, &val, sizeof(b));
    return tcg_mem_write(cpu, S_SS, sp & am, b, size);
}

static enum tcg_status stack_read(struct tcg_cpu *cpu, uint64_t sp, uint64_t am,
                                  uint64_t *val, unsigned size)
{
    uint8_t b[8] = { 0 };
    enum tcg_status s = tcg_mem_read(cpu, S_SS, sp & am, b, size);

    memcpy(val, b, sizeof(b));
    *val &= tcg_size_mask(size);
    return s;
}

/* Checks that size bytes at SS:sp could be written, without writing. */
static enum tcg_status stack_probe(struct tcg_cpu *cpu, uint64_t sp, uint64_t am, unsigned size)
{
    uint8_t b[8];
    uint64_t lin;
    enum tcg_status s = tcg_linear(cpu, S_SS, sp & am, size, ACC_WRITE, &lin);

    if (s != TCG_OK) {
        return s;
    }
    return tcg_read_lin(cpu, lin, b, size, ACC_WRITE);
}

/* Sets rSP to sp, changing only the stack address size's bits. */
static void set_sp(struct tcg_cpu *cpu, uint64_t sp, unsigned asz)
{
    tcg_reg_write(cpu, R_ESP, asz, false, sp & tcg_size_mask(asz));
}

/*
 * SDM vol. 2B PUSH.  The value is read before rSP moves, so "push rsp"
 * pushes the old value and "push [rsp+8]" addresses with the old rSP.  A
 * segment register is pushed zero-extended to the full width (AMD, and
 * checked on the host in 64-bit mode; recent Intel parts write only the low
 * 16 bits in 32-bit mode).
 */
enum tcg_status exec_push(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    const struct operand *op = &in->ops[0];
    uint64_t v;
    enum tcg_status s;

    switch (op->kind) {
    case OPK_IMM:
        v = op->imm;
        break;
    case OPK_SREG:
        if (op->reg >= S__MAX) {
            return tcg_raise(cpu, EXC_UD);
        }
        v = cpu->st.seg[op->reg].selector;
        break;
    default:
        if ((s = tcg_op_read(cpu, in, 0, &v)) != TCG_OK) {
            return s;
        }
        break;
    }
    return tcg_push(cpu, v & tcg_size_mask(size), size);
}

/*
 * SDM vol. 2B POP.  rSP is incremented before the destination is written,
 * so "pop [rsp+8]" addresses with the new rSP and "pop rsp" leaves the
 * popped value.  A fault on the write puts rSP back.
 */
enum tcg_status exec_pop(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    uint64_t old_sp = cpu->st.regs[R_ESP];
    uint64_t v;
    enum tcg_status s;

    if ((s = tcg_pop(cpu, &v, size)) != TCG_OK) {
        return s;
    }
    if (in->ops[0].kind == OPK_SREG) {
        if (in->ops[0].reg >= S__MAX || in->ops[0].reg == S_CS) {
            s = tcg_raise(cpu, EXC_UD);
        } else {
            /* Descriptor checks and real-mode bases: exec-system.c. */
            s = tcg_load_seg(cpu, in->ops[0].reg, (uint16_t)v);
        }
    } else {
        s = tcg_op_write(cpu, in, 0, v & tcg_size_mask(size));
    }
    if (s != TCG_OK) {
        cpu->st.regs[R_ESP] = old_sp;
    }
    return s;
}

/* SDM vol. 2B PUSHA/PUSHAD: eAX eCX eDX eBX, the original eSP, eBP eSI eDI. */
enum tcg_status exec_pusha(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->op_size == 2 ? 2 : 4;
    unsigned asz = tcg_stack_addr_size(cpu);
    uint64_t am = tcg_size_mask(asz);
    uint64_t sp = cpu->st.regs[R_ESP];
    enum tcg_status s;

    if (cpu->mode == MODE_LONG64) {
        return tcg_raise(cpu, EXC_UD);
    }
    for (unsigned r = R_EAX; r <= R_EDI; r++) {
        sp = sp_move(sp, -(uint64_t)size, am);
        if ((s = stack_write(cpu, sp, am, cpu->st.regs[r], size)) != TCG_OK) {
            return s;
        }
    }
    set_sp(cpu, sp, asz);
    return TCG_OK;
}

/*
 * SDM vol. 2B POPA/POPAD: the reverse order; the saved eSP is skipped.
 * Each register is written as it is popped and eSP only at the end: a
 * fault half-way leaves the registers popped so far changed and eSP as it
 * was, which is what the host does.
 */
enum tcg_status exec_popa(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->op_size == 2 ? 2 : 4;
    unsigned asz = tcg_stack_addr_size(cpu);
    uint64_t am = tcg_size_mask(asz);
    uint64_t sp = cpu->st.regs[R_ESP];
    uint64_t v;
    enum tcg_status s;

    if (cpu->mode == MODE_LONG64) {
        return tcg_raise(cpu, EXC_UD);
    }
    for (int r = R_EDI; r >= R_EAX; r--) {
        if ((s = stack_read(cpu, sp, am, &v, size)) != TCG_OK) {
            return s;
        }
        if (r != R_ESP) {
            tcg_reg_write(cpu, r, size, false, v);
        }
        sp = sp_move(sp, size, am);
    }
    set_sp(cpu, sp, asz);
    return TCG_OK;
}

static bool in_vm86(const struct tcg_cpu *cpu)
{
    return cpu->mode != MODE_LONG64 && (cpu->st.rflags & RFLAGS_VM);
}

static unsigned iopl(const struct tcg_cpu *cpu)
{
    return (cpu->st.rflags >> 12) & 3;
}

/*
 * SDM vol. 2B PUSHF: the image has VM and RF clear.  In vm86 with IOPL < 3
 * it is #GP(0) unless CR4.VME lets a 16-bit pushf show VIF as IF.
 */
enum tcg_status exec_pushf(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    uint64_t f = cpu->st.rflags & ~(RFLAGS_VM | RFLAGS_RF);

    if (in_vm86(cpu) && iopl(cpu) < 3) {
        if (!(cpu->st.cr4 & CR4_VME) || size != 2) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        f = (f & ~RFLAGS_IF) | RFLAGS_IOPL;
        if (cpu->st.rflags & RFLAGS_VIF) {
            f |= RFLAGS_IF;
        }
    }
    return tcg_push(cpu, f & tcg_size_mask(size), size);
}

/*
 * SDM vol. 2B POPF, which bits may change:
 *   real mode or CPL 0: all but VM, VIF, VIP (RF is cleared);
 *   CPL > 0: not IOPL either, and not IF when CPL > IOPL;
 *   vm86, IOPL 3: not IOPL; vm86, IOPL < 3: #GP(0), unless CR4.VME and a
 *   16-bit pop, which moves IF into VIF (#GP if that would set TF, or set
 *   VIF while VIP is pending).
 * A 16-bit pop changes only bits 15:0.  Bit 1 is always 1, the reserved
 * bits (3, 5, 15, 22 and up) always 0.
 */
#define POPF_BITS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | \
                   RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_OF | RFLAGS_IOPL | \
                   RFLAGS_NT | RFLAGS_AC | RFLAGS_ID)

enum tcg_status exec_popf(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    uint64_t old_sp = cpu->st.regs[R_ESP];
    uint64_t v, mask = POPF_BITS;
    uint64_t f = cpu->st.rflags;
    enum tcg_status s;

    if (in_vm86(cpu) && iopl(cpu) < 3 && (!(cpu->st.cr4 & CR4_VME) || size != 2)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if ((s = tcg_pop(cpu, &v, size)) != TCG_OK) {
        return s;
    }
    if (in_vm86(cpu)) {
        if (iopl(cpu) < 3) {
            /* CR4.VME, 16-bit (SDM vol. 3, 20.3.3.2). */
            if ((v & RFLAGS_TF) || ((v & RFLAGS_IF) && (f & RFLAGS_VIP))) {
                cpu->st.regs[R_ESP] = old_sp;
                return tcg_raise_err(cpu, EXC_GP, 0);
            }
            f = (f & ~RFLAGS_VIF) | ((v & RFLAGS_IF) ? RFLAGS_VIF : 0);
            mask &= ~(RFLAGS_IF | RFLAGS_IOPL);
        } else {
            mask &= ~RFLAGS_IOPL;
        }
    } else if ((cpu->st.cr0 & CR0_PE) && cpu->cpl > 0) {
        mask &= ~RFLAGS_IOPL;
        if (cpu->cpl > iopl(cpu)) {
            mask &= ~RFLAGS_IF;
        }
    }
    if (size == 2) {
        mask &= 0xffff;
    } else {
        f &= ~RFLAGS_RF;
    }
    cpu->st.rflags = (f & ~mask) | (v & mask) | RFLAGS_FIXED;
    return TCG_OK;
}

/*
 * SDM vol. 2A ENTER: push rBP; FrameTemp = rSP; for level L > 0 copy the
 * L-1 frame pointers below rBP and push FrameTemp; rBP = FrameTemp;
 * rSP -= size.  Pushes are of the operand size, addresses and rSP of the
 * stack address size (checked against the host in 64-bit mode).  Registers
 * change only at the end.
 *
 * After the pushes the final rSP is probed for a write of the operand size
 * (SDM: "#PF if a write using the final value of the stack pointer would
 * cause a page fault"); the host probes exactly that many bytes there,
 * after the pushes have reached memory.
 */
enum tcg_status exec_enter(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    unsigned asz = tcg_stack_addr_size(cpu);
    uint64_t am = tcg_size_mask(asz);
    uint64_t alloc = in->ops[0].imm & 0xffff;
    unsigned level = in->ops[1].imm & 31;
    uint64_t sp = cpu->st.regs[R_ESP], bp = cpu->st.regs[R_EBP];
    uint64_t frame, v;
    enum tcg_status s;

    sp = sp_move(sp, -(uint64_t)size, am);
    if ((s = stack_write(cpu, sp, am, bp, size)) != TCG_OK) {
        return s;
    }
    frame = sp;
    if (level > 0) {
        for (unsigned i = 1; i < level; i++) {
            bp = sp_move(bp, -(uint64_t)size, am);
            if ((s = stack_read(cpu, bp, am, &v, size)) != TCG_OK) {
                return s;
            }
            sp = sp_move(sp, -(uint64_t)size, am);
            if ((s = stack_write(cpu, sp, am, v, size)) != TCG_OK) {
                return s;
            }
        }
        sp = sp_move(sp, -(uint64_t)size, am);
        if ((s = stack_write(cpu, sp, am, frame, size)) != TCG_OK) {
            return s;
        }
    }
    sp = sp_move(sp, -alloc, am);
    if ((s = stack_probe(cpu, sp, am, size)) != TCG_OK) {
        return s;
    }
    tcg_reg_write(cpu, R_EBP, size, false, frame & tcg_size_mask(size));
    set_sp(cpu, sp, asz);
    return TCG_OK;
}

/* SDM vol. 2A LEAVE: rSP = rBP (stack address size), then pop rBP
 * (operand size). */
enum tcg_status exec_leave(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = tcg_near_op_size(cpu, in);
    unsigned asz = tcg_stack_addr_size(cpu);
    uint64_t am = tcg_size_mask(asz);
    uint64_t sp = (cpu->st.regs[R_ESP] & ~am) | (cpu->st.regs[R_EBP] & am);
    uint64_t v;
    enum tcg_status s;

    if ((s = stack_read(cpu, sp, am, &v, size)) != TCG_OK) {
        return s;
    }
    sp = sp_move(sp, size, am);
    set_sp(cpu, sp, asz);
    tcg_reg_write(cpu, R_EBP, size, false, v);
    return TCG_OK;
}
