/*
 * Operands of the software CPU: general registers by number and size,
 * effective addresses, the read/write of a decoded operand whatever its
 * kind, and the stack push/pop every family uses.
 *
 * Threads: everything here works on one struct tcg_cpu and runs on its
 * vCPU thread.
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"

static enum tcg_status mem_operand_read(struct tcg_cpu *cpu, const struct insn *in,
                                        unsigned size, uint64_t *val)
{
    uint8_t buf[8] = { 0 };
    enum tcg_status st;

    if (size > 8) {
        size = 8;   /* wider operands are read by their handlers */
    }
    st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), buf, size);
    if (st == TCG_OK) {
        uint64_t v;

        memcpy(&v, buf, sizeof(v));     /* the host is little-endian, as x86 */
        *val = v;
    }
    return st;
}

enum tcg_status tcg_op_read_slow(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                 uint64_t *val)
{
    const struct operand *op = &in->ops[i & 3];

    if (__builtin_expect(op->kind == OPK_REG, 1)) {
        *val = tcg_reg_read(cpu, op->reg, op->size, op->hi8);
        return TCG_OK;
    }
    switch (op->kind) {
    case OPK_MEM:
        return mem_operand_read(cpu, in, op->size, val);
    case OPK_IMM:
        *val = op->imm & tcg_size_mask(op->size ? op->size : 8);
        return TCG_OK;
    case OPK_REL:
    case OPK_FARPTR:
        /* The raw (sign-extended) displacement or offset; the handler adds
         * next_rip or reads op->sel itself. */
        *val = op->imm;
        return TCG_OK;
    case OPK_SREG:
        if (op->reg >= S__MAX) {
            return tcg_raise(cpu, EXC_UD);
        }
        *val = cpu->st.seg[op->reg].selector;
        return TCG_OK;
    case OPK_CREG:
        return tcg_read_cr(cpu, op->reg, val);
    case OPK_DREG:
        return tcg_read_dr(cpu, op->reg, val);
    default:
        return tcg_raise(cpu, EXC_UD);
    }
}

enum tcg_status tcg_dst_read_slow(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                  unsigned size, uint64_t *val)
{
    const struct operand *op = &in->ops[i & 3];
    uint64_t v = 0;
    enum tcg_status st;

    if (op->kind != OPK_MEM) {
        return tcg_src_read(cpu, in, i, size, val);
    }
    st = tcg_mem_read_rmw(cpu, in->mem.seg, tcg_ea(cpu, in), &v, size > 8 ? 8 : size);
    if (st == TCG_OK) {
        *val = v & tcg_size_mask(size);
    }
    return st;
}

enum tcg_status tcg_op_write_slow(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                  uint64_t val)
{
    const struct operand *op = &in->ops[i & 3];

    if (__builtin_expect(op->kind == OPK_REG, 1)) {
        tcg_reg_write(cpu, op->reg, op->size, op->hi8, val);
        return TCG_OK;
    }
    switch (op->kind) {
    case OPK_MEM: {
        unsigned size = op->size > 8 ? 8 : op->size;

        return tcg_mem_write(cpu, in->mem.seg, tcg_ea(cpu, in), &val, size);
    }
    case OPK_SREG:
        if (op->reg >= S__MAX || op->reg == S_CS) {
            return tcg_raise(cpu, EXC_UD);      /* mov cs, r/m is #UD (SDM vol. 2, MOV) */
        }
        return tcg_load_seg(cpu, op->reg, (uint16_t)val);
    case OPK_CREG:
        return tcg_write_cr(cpu, op->reg, val);
    case OPK_DREG:
        return tcg_write_dr(cpu, op->reg, val);
    default:
        return tcg_raise(cpu, EXC_UD);
    }
}

static inline void set_sp(struct tcg_cpu *cpu, unsigned asz, uint64_t sp)
{
    tcg_reg_write(cpu, R_ESP, asz, false, sp);
}

/* The store happens before RSP changes, so a fault leaves RSP as it was. */
enum tcg_status tcg_push(struct tcg_cpu *cpu, uint64_t val, unsigned size)
{
    unsigned asz = tcg_stack_addr_size(cpu);
    uint64_t sp = (cpu->st.regs[R_ESP] - size) & tcg_size_mask(asz);
    enum tcg_status st = tcg_mem_write(cpu, S_SS, sp, &val, size);

    if (st == TCG_OK) {
        set_sp(cpu, asz, sp);
    }
    return st;
}

enum tcg_status tcg_pop(struct tcg_cpu *cpu, uint64_t *val, unsigned size)
{
    unsigned asz = tcg_stack_addr_size(cpu);
    uint64_t sp = cpu->st.regs[R_ESP] & tcg_size_mask(asz);
    uint64_t v = 0;
    enum tcg_status st;

    if (size > 8) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = tcg_mem_read(cpu, S_SS, sp, &v, size);
    if (st == TCG_OK) {
        set_sp(cpu, asz, sp + size);
        *val = v;
    }
    return st;
}
