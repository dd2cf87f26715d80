/*
 * System instructions of the software CPU (issues 5 and 6): port I/O
 * through the shared dispatch with the TSS I/O permission bitmap, HLT,
 * descriptor-table registers, LAR/LSL/VERR/VERW, segment loads with the
 * protected-mode checks, far transfers to code segments, through call
 * gates (with the stack switch to an inner level and the far return to an
 * outer one) and to tasks (TSS and task gates, SDM vol. 3, 7.3), control
 * and debug registers, the MSRs Linux and its firmware use, the small
 * 64-bit helpers (SWAPGS, RD/WR FS/GS base, XGETBV/XSETBV), and the
 * delivery of exceptions and interrupts through the IDT (real, protected,
 * vm86 and IA-32e mode; interrupt, trap and task gates; #DF and shutdown)
 * with every form of IRET back.  SYSCALL/SYSENTER and the debug hooks are
 * exec-syscall.c's.
 *
 * Threads: handlers run on the vCPU thread that owns the struct tcg_cpu;
 * device access takes the big lock around io_pio().
 */
#include <string.h>

#include "accel/tcg/interrupts.h"
#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "system/log.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"

#define SEL_RPL(s) ((s) & 3u)
#define SEL_TI 4u
#define SEL_ERR(s) ((uint32_t)((s) & 0xfffcu))

/* Descriptor fields (SDM vol. 3, 3.4.5, figure 3-8). */
#define DESC_TYPE(d) ((unsigned)((d) >> 40) & 0xfu)
#define DESC_S(d) (((d) >> 44) & 1)
#define DESC_DPL(d) ((unsigned)((d) >> 45) & 3u)
#define DESC_P(d) (((d) >> 47) & 1)
#define DESC_L(d) (((d) >> 53) & 1)
#define DESC_DB(d) (((d) >> 54) & 1)

#define TYPE_CODE 8u
#define TYPE_CONFORMING 4u     /* code */
#define TYPE_EXPDOWN 4u        /* data */
#define TYPE_RW 2u             /* code: readable; data: writable */
#define TYPE_ACCESSED 1u

static inline uint64_t mask_of(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline bool prot_mode(const struct tcg_cpu *cpu)
{
    return (cpu->st.cr0 & CR0_PE) && !(cpu->st.rflags & RFLAGS_VM);
}

/* ---- mode ---- */

void tcg_cpu_mode_changed(struct tcg_cpu *cpu)
{
    const struct x86_segment *cs = &cpu->st.seg[S_CS];
    enum cpu_mode old = cpu->mode;

    if (!(cpu->st.cr0 & CR0_PE)) {
        cpu->mode = MODE_REAL16;
        cpu->cpl = 0;
        return;
    }
    if (cpu->st.rflags & RFLAGS_VM) {
        cpu->mode = MODE_REAL16;
        cpu->cpl = 3;
        return;
    }
    /*
     * CPL is CS.RPL once CS was loaded in protected mode (SDM vol. 3, 5.5);
     * right after CR0.PE is set, CS still holds a real-mode selector and
     * CPL stays 0 until the far jump.
     */
    if (old != MODE_REAL16 || cpu->cpl != 0) {
        cpu->cpl = cs->selector & 3;
    }
    if ((cpu->st.efer & EFER_LMA) && cs->l) {
        cpu->mode = MODE_LONG64;
    } else {
        cpu->mode = cs->db ? MODE_PROT32 : MODE_PROT16;
    }
}

/* ---- descriptors ---- */

/*
 * Reads the 8-byte descriptor sel names from the GDT or LDT, and where it
 * lies (for the accessed and busy bits).  Beyond the table: #GP(sel).
 */
static enum tcg_status read_desc(struct tcg_cpu *cpu, uint16_t sel, uint64_t *d,
                                 uint64_t *addr)
{
    uint64_t base, limit;
    unsigned idx = sel & ~7u;

    if (sel & SEL_TI) {
        const struct x86_segment *ldt = &cpu->st.seg[S_LDTR];

        if (ldt->unusable || !ldt->present) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
        base = ldt->base;
        limit = ldt->limit;
    } else {
        base = cpu->st.gdt.base;
        limit = cpu->st.gdt.limit;
    }
    if ((uint64_t)idx + 7 > limit) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    *addr = base + idx;
    if (cpu->mode != MODE_LONG64) {
        *addr &= 0xffffffffull;
    }
    return tcg_read_lin_sys(cpu, *addr, d, 8);
}

static void desc_to_seg(struct x86_segment *s, uint16_t sel, uint64_t d)
{
    uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)(((d >> 48) & 0xf) << 16);

    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    s->g = (d >> 55) & 1;
    s->limit = s->g ? (limit << 12) | 0xfff : limit;
    s->type = DESC_TYPE(d);
    s->s = DESC_S(d);
    s->dpl = DESC_DPL(d);
    s->dpl_valid = true;
    s->present = DESC_P(d);
    s->avl = (d >> 52) & 1;
    s->l = DESC_L(d);
    s->db = DESC_DB(d);
}

/* SDM vol. 3, 3.4.5.1: the processor sets the accessed bit on a load. */
static enum tcg_status set_accessed(struct tcg_cpu *cpu, uint64_t addr, uint64_t *d)
{
    uint8_t b;

    if (*d & (1ull << 40)) {
        return TCG_OK;
    }
    *d |= 1ull << 40;
    b = (uint8_t)(*d >> 40);
    return tcg_write_lin_sys(cpu, addr + 5, &b, 1);
}

static void real_mode_seg(struct tcg_cpu *cpu, unsigned seg, uint16_t sel)
{
    struct x86_segment *s = &cpu->st.seg[seg];

    s->selector = sel;
    s->base = (uint64_t)sel << 4;
    if (cpu->st.rflags & RFLAGS_VM) {
        /* Virtual-8086 mode: fixed 64 KiB read/write segments at DPL 3. */
        s->limit = 0xffff;
        s->type = seg == S_CS ? 0xb : 0x3;
        s->s = s->present = true;
        s->dpl = 3;
        s->db = s->g = s->l = false;
        s->unusable = false;
    }
}

/* MOV to a segment register, POP, LDS and friends (SDM vol. 2, MOV; vol. 3, 5.6). */
enum tcg_status tcg_load_seg(struct tcg_cpu *cpu, unsigned seg, uint16_t sel)
{
    struct x86_segment *s;
    enum tcg_status st;
    uint64_t d, addr;
    unsigned dpl, type;

    if (seg >= S_LDTR || seg == S_CS) {
        return tcg_raise(cpu, EXC_UD);
    }
    s = &cpu->st.seg[seg];
    if (!prot_mode(cpu)) {
        real_mode_seg(cpu, seg, sel);
        return TCG_OK;
    }
    if ((sel & ~3u) == 0) {
        /* A null selector: #GP for SS except at CPL < 3 in 64-bit mode
         * with RPL = CPL; else the register becomes unusable. */
        if (seg == S_SS && (cpu->mode != MODE_LONG64 || cpu->cpl == 3 ||
                            SEL_RPL(sel) != cpu->cpl)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        s->selector = sel;
        s->unusable = true;
        s->present = false;
        if (cpu->mode != MODE_LONG64) {
            s->base = 0;
        }
        if (seg == S_SS) {
            s->dpl = cpu->cpl;
        }
        return TCG_OK;
    }
    st = read_desc(cpu, sel, &d, &addr);
    if (st != TCG_OK) {
        return st;
    }
    dpl = DESC_DPL(d);
    type = DESC_TYPE(d);
    if (seg == S_SS) {
        if (SEL_RPL(sel) != cpu->cpl || !DESC_S(d) || (type & TYPE_CODE) ||
            !(type & TYPE_RW) || dpl != cpu->cpl) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
        if (!DESC_P(d)) {
            return tcg_raise_err(cpu, EXC_SS, SEL_ERR(sel));
        }
    } else {
        if (!DESC_S(d) || ((type & TYPE_CODE) && !(type & TYPE_RW))) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
        /* Data and non-conforming code: max(CPL, RPL) <= DPL. */
        if ((!(type & TYPE_CODE) || !(type & TYPE_CONFORMING)) &&
            (SEL_RPL(sel) > dpl || cpu->cpl > dpl)) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
        if (!DESC_P(d)) {
            return tcg_raise_err(cpu, EXC_NP, SEL_ERR(sel));
        }
    }
    st = set_accessed(cpu, addr, &d);
    if (st != TCG_OK) {
        return st;
    }
    /* In 64-bit mode too a selector load sets FS/GS base from the
     * descriptor, zero-extended (SDM vol. 3, 3.4.4). */
    desc_to_seg(s, sel, d);
    return TCG_OK;
}

/*
 * Checks a far transfer's target code segment (SDM vol. 3, 5.8.1 and 5.8.2)
 * and returns its descriptor.  Call gates and task switches are part 2.
 */
static enum tcg_status check_code_seg(struct tcg_cpu *cpu, uint16_t sel, uint64_t *d,
                                      uint64_t *addr, bool is_ret)
{
    enum tcg_status st;
    unsigned dpl, type;

    if ((sel & ~3u) == 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = read_desc(cpu, sel, d, addr);
    if (st != TCG_OK) {
        return st;
    }
    dpl = DESC_DPL(*d);
    type = DESC_TYPE(*d);
    if (!DESC_S(*d)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    if (!(type & TYPE_CODE)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    if (is_ret) {
        /* A return goes to the same or an outer level: RPL >= CPL (5.8.6). */
        if (SEL_RPL(sel) < cpu->cpl) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
        if ((type & TYPE_CONFORMING) ? dpl > SEL_RPL(sel) : dpl != SEL_RPL(sel)) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
    } else if (type & TYPE_CONFORMING) {
        if (dpl > cpu->cpl) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
    } else if (SEL_RPL(sel) > cpu->cpl || dpl != cpu->cpl) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    if (!DESC_P(*d)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(sel));
    }
    if ((cpu->st.efer & EFER_LMA) && DESC_L(*d) && DESC_DB(*d)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    return TCG_OK;
}

/* The new rip must lie within the new CS limit, except in 64-bit code. */
static bool rip_fits(bool is64, uint64_t rip, uint32_t limit)
{
    return is64 ? tcg_canonical(rip) : rip <= limit;
}

/*
 * One push of a far CALL.  flat64: the pushes happen in 64-bit mode while
 * the instruction began outside it, so rSP is a flat 64-bit address (no SS
 * base or limit; a non-canonical one is #SS(0), SDM vol. 3, 3.3.7.1).
 */
static enum tcg_status far_push(struct tcg_cpu *cpu, bool flat64, unsigned asz, uint64_t *sp,
                                uint64_t val, unsigned size)
{
    uint64_t nsp = (*sp - size) & mask_of(asz);
    enum tcg_status st;

    if (flat64) {
        if (!tcg_canonical(nsp) || !tcg_canonical(nsp + size - 1)) {
            return tcg_raise_err(cpu, EXC_SS, 0);
        }
        st = tcg_write_lin(cpu, nsp, &val, size);
    } else {
        st = tcg_mem_write(cpu, S_SS, nsp, &val, size);
    }
    if (st == TCG_OK) {
        *sp = nsp;
    }
    return st;
}

static enum tcg_status task_switch(struct tcg_cpu *cpu, uint16_t sel, int why,
                                   uint64_t ret_rip);
static enum tcg_status task_trap(struct tcg_cpu *cpu);
static enum tcg_status push_lin(struct tcg_cpu *cpu, uint64_t base, uint64_t *sp,
                                uint64_t mask, uint64_t v, unsigned size);
static enum tcg_status tss_stack(struct tcg_cpu *cpu, unsigned n, unsigned ist, uint64_t *sp,
                                 uint16_t *ss, uint32_t ext);

/*
 * The stack segment of an inner level, from the TSS for a call gate
 * (5.8.5): #TS(selector) unless a writable data segment at DPL = RPL =
 * cpl, #SS(selector) if absent.
 */
static enum tcg_status inner_stack_seg(struct tcg_cpu *cpu, uint16_t sel, unsigned cpl,
                                       struct x86_segment *out, uint64_t *d, uint64_t *addr)
{
    enum tcg_status st;

    if ((sel & ~3u) == 0) {
        return tcg_raise_err(cpu, EXC_TS, 0);
    }
    st = read_desc(cpu, sel, d, addr);
    if (st != TCG_OK) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    if (SEL_RPL(sel) != cpl || DESC_DPL(*d) != cpl || !DESC_S(*d) ||
        (DESC_TYPE(*d) & TYPE_CODE) || !(DESC_TYPE(*d) & TYPE_RW)) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    if (!DESC_P(*d)) {
        return tcg_raise_err(cpu, EXC_SS, SEL_ERR(sel));
    }
    desc_to_seg(out, sel, *d);
    return TCG_OK;
}

/*
 * A far CALL to an inner level through a call gate (5.8.5): the new stack
 * from the TSS gets the caller's SS and rSP, the gate's count of
 * parameters copied from the caller's stack (none in IA-32e mode), then
 * CS and the return rIP, all of the gate's size.  Nothing changes unless
 * every push succeeds.
 */
static enum tcg_status gate_call_inner(struct tcg_cpu *cpu, const struct x86_segment *ncs,
                                       uint64_t off, unsigned gsize, unsigned nparams)
{
    const bool lma = cpu->st.efer & EFER_LMA;
    const unsigned old_cpl = cpu->cpl, new_cpl = ncs->dpl;
    const enum cpu_mode old_mode = cpu->mode;
    unsigned oasz = tcg_stack_addr_size(cpu);
    uint64_t params[31], nsp, mask, sd = 0, sa = 0;
    struct x86_segment nss;
    uint16_t ss_sel;
    enum tcg_status st;

    st = tss_stack(cpu, new_cpl, 0, &nsp, &ss_sel, 0);
    if (st != TCG_OK) {
        return st;
    }
    if (lma) {
        memset(&nss, 0, sizeof(nss));
        nss.selector = (uint16_t)new_cpl;
        nss.unusable = true;
        nss.dpl = new_cpl;
        mask = ~0ull;
        if (!tcg_canonical(nsp)) {
            return tcg_raise_err(cpu, EXC_SS, 0);
        }
    } else {
        st = inner_stack_seg(cpu, ss_sel, new_cpl, &nss, &sd, &sa);
        if (st != TCG_OK) {
            return st;
        }
        mask = nss.db ? 0xffffffffull : 0xffffull;
        nsp &= mask;
    }
    for (unsigned i = 0; i < nparams && st == TCG_OK; i++) {
        params[i] = 0;
        st = tcg_mem_read(cpu, S_SS, (cpu->st.regs[R_ESP] + i * gsize) & mask_of(oasz),
                          &params[i], gsize);
    }
    cpu->cpl = new_cpl;
    if (lma) {
        cpu->mode = MODE_LONG64;
    }
    if (st == TCG_OK) {
        st = push_lin(cpu, nss.base, &nsp, mask, cpu->st.seg[S_SS].selector, gsize);
    }
    if (st == TCG_OK) {
        st = push_lin(cpu, nss.base, &nsp, mask, cpu->st.regs[R_ESP], gsize);
    }
    for (unsigned i = nparams; i > 0 && st == TCG_OK; i--) {
        st = push_lin(cpu, nss.base, &nsp, mask, params[i - 1], gsize);
    }
    if (st == TCG_OK) {
        st = push_lin(cpu, nss.base, &nsp, mask, cpu->st.seg[S_CS].selector, gsize);
    }
    if (st == TCG_OK) {
        st = push_lin(cpu, nss.base, &nsp, mask, cpu->next_rip, gsize);
    }
    if (st == TCG_OK && !lma) {
        st = set_accessed(cpu, sa, &sd);
        nss.type |= TYPE_ACCESSED;
    }
    cpu->mode = old_mode;
    if (st != TCG_OK) {
        cpu->cpl = old_cpl;
        return st;
    }
    cpu->st.seg[S_CS] = *ncs;
    cpu->st.seg[S_SS] = nss;
    if (mask == 0xffffull) {
        tcg_reg_write(cpu, R_ESP, 2, false, nsp);
    } else {
        cpu->st.regs[R_ESP] = nsp;
    }
    cpu->st.rip = off;
    tcg_cpu_mode_changed(cpu);
    return TCG_JUMPED;
}

/*
 * Far JMP/CALL through a call gate (SDM vol. 3, 5.8.3 to 5.8.5; vol. 2,
 * CALL and JMP): the gate's DPL against CPL and RPL, then the target code
 * segment, whose DPL may be lower than CPL only for a CALL to a
 * non-conforming segment (a stack switch).
 */
static enum tcg_status far_gate(struct tcg_cpu *cpu, uint16_t gsel, uint64_t g, uint64_t gaddr,
                                bool is_call)
{
    const bool lma = cpu->st.efer & EFER_LMA;
    const unsigned gsize = lma ? 8 : (DESC_TYPE(g) & 8) ? 4 : 2;
    uint16_t csel = (uint16_t)(g >> 16);
    uint64_t off = (g & 0xffff) | (gsize > 2 ? ((g >> 48) & 0xffff) << 16 : 0);
    uint64_t cd, caddr, hi = 0;
    struct x86_segment ncs;
    unsigned new_cpl, type;
    enum tcg_status st;

    if (DESC_DPL(g) < cpu->cpl || DESC_DPL(g) < SEL_RPL(gsel)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(gsel));
    }
    if (!DESC_P(g)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(gsel));
    }
    if (lma) {
        /* The 16-byte gate: offset 63:32, then a zero type field (5.8.3.1). */
        uint64_t limit = (gsel & SEL_TI) ? cpu->st.seg[S_LDTR].limit : cpu->st.gdt.limit;

        if ((uint64_t)(gsel & ~7u) + 15 > limit) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(gsel));
        }
        st = tcg_read_lin_sys(cpu, gaddr + 8, &hi, 8);
        if (st != TCG_OK) {
            return st;
        }
        if ((hi >> 40) & 0x1f) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(gsel));
        }
        off |= (hi & 0xffffffffull) << 32;
    }
    if ((csel & ~3u) == 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = read_desc(cpu, csel, &cd, &caddr);
    if (st != TCG_OK) {
        return st;
    }
    type = DESC_TYPE(cd);
    if (!DESC_S(cd) || !(type & TYPE_CODE) || DESC_DPL(cd) > cpu->cpl ||
        (lma && (!DESC_L(cd) || DESC_DB(cd))) ||
        (!is_call && !(type & TYPE_CONFORMING) && DESC_DPL(cd) != cpu->cpl)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(csel));
    }
    if (!DESC_P(cd)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(csel));
    }
    new_cpl = (type & TYPE_CONFORMING) ? cpu->cpl : DESC_DPL(cd);
    desc_to_seg(&ncs, (uint16_t)((csel & ~3u) | new_cpl), cd);
    ncs.type |= TYPE_ACCESSED;
    if (gsize == 2) {
        off &= 0xffff;
    }
    if (!rip_fits(lma, off, ncs.limit)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = set_accessed(cpu, caddr, &cd);
    if (st != TCG_OK) {
        return st;
    }
    if (is_call && new_cpl < cpu->cpl) {
        return gate_call_inner(cpu, &ncs, off, gsize, lma ? 0 : (unsigned)(g >> 32) & 0x1f);
    }
    if (is_call) {
        uint64_t old_sp = cpu->st.regs[R_ESP];

        st = tcg_push(cpu, cpu->st.seg[S_CS].selector, gsize);
        if (st == TCG_OK) {
            st = tcg_push(cpu, cpu->next_rip, gsize);
        }
        if (st != TCG_OK) {
            cpu->st.regs[R_ESP] = old_sp;
            return st;
        }
    }
    cpu->st.seg[S_CS] = ncs;
    cpu->st.rip = off;
    tcg_cpu_mode_changed(cpu);
    return TCG_JUMPED;
}

/* Far JMP/CALL to a TSS or a task gate: DPL >= CPL and RPL (7.3 step 2). */
static enum tcg_status far_task(struct tcg_cpu *cpu, uint16_t sel, uint64_t d, bool is_call)
{
    enum tcg_status st;

    if (DESC_DPL(d) < cpu->cpl || DESC_DPL(d) < SEL_RPL(sel)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    if (!DESC_P(d)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(sel));
    }
    if (DESC_TYPE(d) == 5) {
        sel = (uint16_t)(d >> 16);
    }
    st = task_switch(cpu, sel, is_call ? 1 : 0, cpu->next_rip);
    return st == TCG_OK ? task_trap(cpu) : st;
}

/*
 * The order of a far CALL's steps differs by vendor.  Intel checks the new
 * rip against the target's limit before it pushes, on the stack of the
 * mode the call starts in.  AMD (APM vol. 3, CALL (Far), "CALLF_PROTECTED"
 * pseudocode) loads CS first, then pushes CS and rIP as the new mode
 * pushes (a call from 16/32-bit code into a 64-bit segment pushes at the
 * flat RSP; into a 16/32-bit segment with SS.B), and only then checks the
 * new rip, so a #GP(0) for the offset comes after the return address was
 * stored (CS and rSP are restored, the stored bytes stay).
 */
enum tcg_status tcg_far_jump(struct tcg_cpu *cpu, uint16_t sel, uint64_t off, bool is_call,
                             unsigned op_size)
{
    const bool amd = !tcg_host_is_intel();
    struct x86_segment ncs;
    enum tcg_status st;
    uint64_t rip = off & mask_of(op_size);
    uint64_t d, addr;
    bool is64 = false, fits;

    if (prot_mode(cpu) && (sel & ~3u) != 0) {
        const bool lma = cpu->st.efer & EFER_LMA;

        st = read_desc(cpu, sel, &d, &addr);
        if (st != TCG_OK) {
            return st;
        }
        /* A TSS or a task gate: a task switch (7.3); none in IA-32e mode. */
        if (!lma && !DESC_S(d) && (DESC_TYPE(d) == 5 || (DESC_TYPE(d) & 5) == 1)) {
            return far_task(cpu, sel, d, is_call);
        }
        /* A call gate: 16/32-bit (types 4, 0xc), 64-bit in IA-32e mode (5.8.3). */
        if (!DESC_S(d) && (DESC_TYPE(d) == 0xc || (!lma && DESC_TYPE(d) == 4))) {
            return far_gate(cpu, sel, d, addr, is_call);
        }
    }
    if (!prot_mode(cpu)) {
        ncs = cpu->st.seg[S_CS];
        ncs.selector = sel;
        ncs.base = (uint64_t)sel << 4;
        fits = rip <= ncs.limit;
    } else {
        st = check_code_seg(cpu, sel, &d, &addr, false);
        if (st != TCG_OK) {
            return st;
        }
        desc_to_seg(&ncs, (uint16_t)((sel & ~3u) | cpu->cpl), d);
        ncs.type |= TYPE_ACCESSED;
        is64 = (cpu->st.efer & EFER_LMA) && ncs.l;
        fits = rip_fits(is64, rip, ncs.limit);
        if (fits || amd) {
            st = set_accessed(cpu, addr, &d);
            if (st != TCG_OK) {
                return st;
            }
        }
    }
    if (!fits && !(amd && is_call)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (is_call) {
        /* Both pushes before anything else changes: a fault leaves rSP
         * and CS as they were. */
        bool to64 = amd && prot_mode(cpu) ? is64 : cpu->mode == MODE_LONG64;
        unsigned asz = to64 ? 8 : (cpu->st.seg[S_SS].db ? 4 : 2);
        bool flat64 = to64 && cpu->mode != MODE_LONG64;
        uint64_t sp = cpu->st.regs[R_ESP] & mask_of(asz);

        st = far_push(cpu, flat64, asz, &sp, cpu->st.seg[S_CS].selector, op_size);
        if (st == TCG_OK) {
            st = far_push(cpu, flat64, asz, &sp, cpu->next_rip, op_size);
        }
        if (st != TCG_OK) {
            return st;
        }
        if (!fits) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        tcg_reg_write(cpu, R_ESP, asz, false, sp);
    }
    cpu->st.seg[S_CS] = ncs;
    cpu->st.rip = rip;
    tcg_cpu_mode_changed(cpu);
    return TCG_JUMPED;
}

/* Data segments the new, outer CPL may not use become null (SDM vol. 2,
 * RET and IRET). */
static void null_inner_data_segs(struct tcg_cpu *cpu, unsigned cpl)
{
    static const unsigned segs[] = { S_ES, S_DS, S_FS, S_GS };

    for (unsigned i = 0; i < G_N_ELEMENTS(segs); i++) {
        struct x86_segment *s = &cpu->st.seg[segs[i]];

        if (!s->unusable && (!(s->type & TYPE_CODE) || !(s->type & TYPE_CONFORMING)) &&
            s->dpl < cpl) {
            s->selector = 0;
            s->unusable = true;
        }
    }
}

/*
 * A far RET to an outer level (5.8.6; vol. 2 RET, "RETURN-TO-OUTER-
 * PRIVILEGE-LEVEL"): after rIP and CS, and imm bytes of parameters, come
 * rSP and SS of the caller; imm is released from both stacks.  The CS
 * descriptor d (at addr) has passed check_code_seg().
 */
static enum tcg_status far_return_outer(struct tcg_cpu *cpu, unsigned op_size, uint16_t imm,
                                        uint64_t sp, unsigned asz, uint64_t rip, uint16_t csel,
                                        uint64_t d, uint64_t addr)
{
    const bool lma = cpu->st.efer & EFER_LMA;
    const unsigned rpl = SEL_RPL(csel);
    uint64_t osp = (sp + 2ull * op_size + imm) & mask_of(asz);
    uint64_t nsp = 0, nss_sel = 0, sd = 0, sa = 0;
    struct x86_segment ncs, nss;
    enum tcg_status st;

    st = tcg_mem_read(cpu, S_SS, osp, &nsp, op_size);
    if (st == TCG_OK) {
        st = tcg_mem_read(cpu, S_SS, (osp + op_size) & mask_of(asz), &nss_sel, op_size);
    }
    if (st != TCG_OK) {
        return st;
    }
    nss_sel &= 0xffff;
    desc_to_seg(&ncs, csel, d);
    if ((nss_sel & ~3u) == 0) {
        /* Null SS: only for 64-bit code below CPL 3. */
        if (!lma || !ncs.l || rpl == 3) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        memset(&nss, 0, sizeof(nss));
        nss.selector = (uint16_t)nss_sel;
        nss.unusable = true;
        nss.dpl = rpl;
    } else {
        st = read_desc(cpu, (uint16_t)nss_sel, &sd, &sa);
        if (st != TCG_OK) {
            return st;
        }
        if (SEL_RPL(nss_sel) != rpl || DESC_DPL(sd) != rpl || !DESC_S(sd) ||
            (DESC_TYPE(sd) & TYPE_CODE) || !(DESC_TYPE(sd) & TYPE_RW)) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(nss_sel));
        }
        if (!DESC_P(sd)) {
            return tcg_raise_err(cpu, EXC_SS, SEL_ERR(nss_sel));
        }
        desc_to_seg(&nss, (uint16_t)nss_sel, sd);
    }
    if (!rip_fits(lma && ncs.l, rip & mask_of(op_size), ncs.limit)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = set_accessed(cpu, addr, &d);
    if (st == TCG_OK && sa) {
        st = set_accessed(cpu, sa, &sd);
        nss.type |= TYPE_ACCESSED;
    }
    if (st != TCG_OK) {
        return st;
    }
    ncs.type |= TYPE_ACCESSED;
    cpu->st.seg[S_CS] = ncs;
    cpu->st.seg[S_SS] = nss;
    if (lma && ncs.l) {
        cpu->st.regs[R_ESP] = nsp + imm;
    } else {
        tcg_reg_write(cpu, R_ESP, nss.db ? 4 : 2, false, nsp + imm);
    }
    cpu->st.rip = rip & mask_of(op_size);
    cpu->cpl = rpl;
    null_inner_data_segs(cpu, rpl);
    tcg_cpu_mode_changed(cpu);
    return TCG_JUMPED;
}

/*
 * Far RET.  AMD reads the CS slot before the rip slot, and when the
 * selector's RPL differs from CPL (a return to another privilege level,
 * or a #GP to come) it reads the outer SS and rSP slots too (SS first),
 * all before any descriptor check, so their faults come first; measured
 * on Zen 4, consistent with the APM's RETF pseudocode popping everything
 * before READ_DESCRIPTOR.
 */
enum tcg_status tcg_far_return(struct tcg_cpu *cpu, unsigned op_size, uint16_t imm)
{
    unsigned asz = cpu->mode == MODE_LONG64 ? 8 : (cpu->st.seg[S_SS].db ? 4 : 2);
    uint64_t sp = cpu->st.regs[R_ESP] & mask_of(asz);
    uint64_t rip = 0, csel = 0, d, addr;
    uint64_t cs_off = (sp + op_size) & mask_of(asz);
    struct x86_segment ncs;
    enum tcg_status st;

    if (!tcg_host_is_intel()) {
        st = tcg_mem_read(cpu, S_SS, cs_off, &csel, op_size);
        if (st == TCG_OK) {
            st = tcg_mem_read(cpu, S_SS, sp, &rip, op_size);
        }
        if (st == TCG_OK && prot_mode(cpu) && SEL_RPL(csel) != cpu->cpl) {
            uint64_t osp = (sp + 2ull * op_size + imm) & mask_of(asz);
            uint64_t ossel = 0, orsp = 0;

            st = tcg_mem_read(cpu, S_SS, (osp + op_size) & mask_of(asz), &ossel, op_size);
            if (st == TCG_OK) {
                st = tcg_mem_read(cpu, S_SS, osp, &orsp, op_size);
            }
        }
    } else {
        st = tcg_mem_read(cpu, S_SS, sp, &rip, op_size);
        if (st == TCG_OK) {
            st = tcg_mem_read(cpu, S_SS, cs_off, &csel, op_size);
        }
    }
    if (st != TCG_OK) {
        return st;
    }
    rip &= mask_of(op_size);
    if (!prot_mode(cpu)) {
        ncs = cpu->st.seg[S_CS];
        ncs.selector = (uint16_t)csel;
        ncs.base = (csel & 0xffff) << 4;
        if (rip > ncs.limit) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
    } else {
        st = check_code_seg(cpu, (uint16_t)csel, &d, &addr, true);
        if (st != TCG_OK) {
            return st;
        }
        if (SEL_RPL(csel) > cpu->cpl) {
            return far_return_outer(cpu, op_size, imm, sp, asz, rip, (uint16_t)csel, d, addr);
        }
        desc_to_seg(&ncs, (uint16_t)csel, d);
        if (!rip_fits((cpu->st.efer & EFER_LMA) && ncs.l, rip, ncs.limit)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        st = set_accessed(cpu, addr, &d);
        if (st != TCG_OK) {
            return st;
        }
        ncs.type |= TYPE_ACCESSED;
    }
    if (asz != 8 && prot_mode(cpu) && (cpu->st.efer & EFER_LMA) && ncs.l &&
        !tcg_host_is_intel()) {
        /* AMD updates rSP as the new mode does: a return from 16/32-bit
         * code into a 64-bit segment adds to the whole RSP, carries out of
         * SP/ESP included (measured on Zen 4; the pops above still wrap
         * within the old stack size). */
        cpu->st.regs[R_ESP] += 2ull * op_size + imm;
    } else {
        tcg_reg_write(cpu, R_ESP, asz, false, sp + 2ull * op_size + imm);
    }
    cpu->st.seg[S_CS] = ncs;
    cpu->st.rip = rip;
    tcg_cpu_mode_changed(cpu);
    return TCG_JUMPED;
}

/* ---- control and debug registers ---- */

/* CR0 bits that exist (SDM vol. 3, 2.5); the others are reserved. */
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
                   CR0_NW | CR0_CD | CR0_PG)
#define CR4_VALID (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | \
                   CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP | \
                   CR4_FSGSBASE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP)

/*
 * CR4 bits of features the CPU model may lack: setting one it does not
 * offer is #GP(0), as on a processor without it (SDM vol. 3, 2.5).  The
 * x87/SSE/XSAVE enables are left to their own files.
 */
static bool cr4_offered(const struct tcg_cpu *cpu, uint64_t set)
{
    static const struct { uint64_t bit; uint32_t leaf; uint8_t reg, b; } need[] = {
        { CR4_VME, 1, 3, 1 }, { CR4_PVI, 1, 3, 1 }, { CR4_DE, 1, 3, 2 },
        { CR4_FSGSBASE, 7, 1, 0 }, { CR4_SMEP, 7, 1, 7 }, { CR4_SMAP, 7, 1, 20 },
        { CR4_UMIP, 7, 2, 2 },
    };

    for (unsigned i = 0; set && i < G_N_ELEMENTS(need); i++) {
        if ((set & need[i].bit) && !tcg_cpuid_has(cpu, need[i].leaf, need[i].reg, need[i].b)) {
            return false;
        }
    }
    return true;
}

enum tcg_status tcg_read_cr(struct tcg_cpu *cpu, unsigned n, uint64_t *val)
{
    switch (n) {
    case 0:
        *val = cpu->st.cr0;
        return TCG_OK;
    case 2:
        *val = cpu->st.cr2;
        return TCG_OK;
    case 3:
        *val = cpu->st.cr3;
        return TCG_OK;
    case 4:
        *val = cpu->st.cr4;
        return TCG_OK;
    case 8:
        *val = tcg_apic_get_cr8(cpu);     /* TPR[7:4] (SDM vol. 3, 11.8.6) */
        return TCG_OK;
    default:
        return tcg_raise(cpu, EXC_UD);
    }
}

static enum tcg_status write_cr0(struct tcg_cpu *cpu, uint64_t val)
{
    uint64_t old = cpu->st.cr0;

    if (val & ~0xffffffffull) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    val = (val & CR0_VALID) | CR0_ET;     /* ET is fixed at 1 since the i486 */
    if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD))) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    /* Paging stays on while PCIDs are in use (SDM vol. 2, MOV CR). */
    if (!(val & CR0_PG) && (cpu->st.cr4 & CR4_PCIDE)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if ((val & CR0_PG) && !(old & CR0_PG) && (cpu->st.efer & EFER_LME)) {
        /* Activating IA-32e mode (SDM vol. 3, 10.8.5): PAE must be on
         * and CS.L clear. */
        if (!(cpu->st.cr4 & CR4_PAE) || cpu->st.seg[S_CS].l) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->st.efer |= EFER_LMA;
    } else if (!(val & CR0_PG) && (old & CR0_PG) && (cpu->st.efer & EFER_LMA)) {
        /* Leaving IA-32e mode is only possible from compatibility mode. */
        if (cpu->mode == MODE_LONG64) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->st.efer &= ~EFER_LMA;
    }
    cpu->st.cr0 = val;
    if ((old ^ val) & (CR0_PG | CR0_PE | CR0_WP)) {
        tcg_tlb_flush(cpu);
    }
    tcg_cpu_mode_changed(cpu);
    return TCG_OK;
}

enum tcg_status tcg_write_cr(struct tcg_cpu *cpu, unsigned n, uint64_t val)
{
    switch (n) {
    case 0:
        return write_cr0(cpu, val);
    case 2:
        cpu->st.cr2 = val;
        return TCG_OK;
    case 3: {
        /*
         * With CR4.PCIDE, bit 63 asks to keep the new PCID's TLB entries
         * (SDM vol. 3, 4.10.4.1) and is not stored.  The TLB here is not
         * tagged by PCID, so it keeps entries only when nothing changes;
         * flushing more than asked is always allowed.
         */
        bool keep = false;

        if (cpu->st.efer & EFER_LMA) {
            if ((cpu->st.cr4 & CR4_PCIDE) && (val >> 63)) {
                keep = true;
                val &= ~(1ull << 63);
            }
            if (val & ~((1ull << TCG_PHYS_BITS) - 1)) {
                return tcg_raise_err(cpu, EXC_GP, 0);
            }
        } else {
            val &= 0xffffffffull;
        }
        if (!keep || val != cpu->st.cr3) {
            tcg_tlb_flush(cpu);
        }
        cpu->st.cr3 = val;
        return TCG_OK;
    }
    case 4: {
        uint64_t old = cpu->st.cr4;

        if (val & ~(CR4_VALID | CR4_PCIDE)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        if ((cpu->st.efer & EFER_LMA) && !(val & CR4_PAE)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        if (!cr4_offered(cpu, val & ~old)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        /* PCIDE (4.10.1): offered, IA-32e mode, and set only with CR3[11:0] = 0. */
        if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
            (!tcg_cpuid_has(cpu, 1, 2, 17) || !(cpu->st.efer & EFER_LMA) ||
             (cpu->st.cr3 & 0xfff))) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->st.cr4 = val;
        if ((old ^ val) & (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PCIDE)) {
            tcg_tlb_flush(cpu);
        }
        return TCG_OK;
    }
    case 8:
        if (val & ~0xfull) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        tcg_apic_set_cr8(cpu, (uint8_t)val);
        return TCG_OK;
    default:
        return tcg_raise(cpu, EXC_UD);
    }
}

/*
 * Debug registers (SDM vol. 3, 18.2).  DR4/DR5 alias DR6/DR7 unless CR4.DE.
 * With DR7.GD set, any MOV DR is a #DB fault with DR6.BD set, and GD is
 * cleared so the handler may use them (18.2.4).  The breakpoints
 * themselves fire through tcg_debug_before/after (exec-syscall.c).
 */
#define DR6_FIXED 0xffff0ff0ull
#define DR7_FIXED 0x400ull
#define DR6_BD (1ull << 13)
#define DR7_GD (1ull << 13)

static enum tcg_status dr_index(struct tcg_cpu *cpu, unsigned *n)
{
    if (*n == 4 || *n == 5) {
        if (cpu->st.cr4 & CR4_DE) {
            return tcg_raise(cpu, EXC_UD);
        }
        *n += 2;
    }
    if (*n > 7) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->st.dr[7] & DR7_GD) {
        cpu->st.dr[6] |= DR6_BD;
        cpu->st.dr[7] &= ~DR7_GD;
        return tcg_raise(cpu, EXC_DB);
    }
    return TCG_OK;
}

enum tcg_status tcg_read_dr(struct tcg_cpu *cpu, unsigned n, uint64_t *val)
{
    enum tcg_status st = dr_index(cpu, &n);

    if (st == TCG_OK) {
        *val = cpu->st.dr[n];
    }
    return st;
}

enum tcg_status tcg_write_dr(struct tcg_cpu *cpu, unsigned n, uint64_t val)
{
    enum tcg_status st = dr_index(cpu, &n);

    if (st != TCG_OK) {
        return st;
    }
    if (cpu->mode != MODE_LONG64) {
        val &= 0xffffffffull;
    }
    if ((n == 6 || n == 7) && (val >> 32)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (n == 6) {
        val = (val & 0x1e00full) | DR6_FIXED;       /* B0-B3, BD, BS, BT, RTM */
    } else if (n == 7) {
        val = (val & ~0xd800ull & 0xffffffffull) | DR7_FIXED;
    }
    cpu->st.dr[n] = val;
    return TCG_OK;
}

/* ---- handlers ---- */

/*
 * The I/O permission bitmap (SDM vol. 1, 19.5.2): in protected mode with
 * CPL > IOPL, and always in vm86, every bit of the ports accessed must be
 * clear in the bitmap at the I/O map base of a 32/64-bit TSS; bits past
 * the TSS limit count as set.  The two bytes holding the port's bits are
 * read as the processor reads them, as supervisor (implicit) accesses.
 */
enum tcg_status tcg_io_check(struct tcg_cpu *cpu, uint16_t port, unsigned size)
{
    const struct x86_segment *tr = &cpu->st.seg[S_TR];
    bool vm86 = cpu->mode != MODE_LONG64 && (cpu->st.rflags & RFLAGS_VM);
    uint64_t mask = cpu->st.efer & EFER_LMA ? ~0ull : 0xffffffffull;
    uint16_t base = 0, bits = 0;
    enum tcg_status st;

    if (__builtin_expect((cpu->st.dr[7] & 0xff) != 0, 0)) {
        tcg_debug_check_io(cpu, port, size);        /* reported after the insn */
    }
    if (!(cpu->st.cr0 & CR0_PE) ||
        (!vm86 && cpu->cpl <= ((cpu->st.rflags & RFLAGS_IOPL) >> 12))) {
        return TCG_OK;
    }
    /* A TR never loaded (the null selector of reset) counts as no TSS:
     * the reset TR's base 0 would put the bitmap at 0. */
    if (tr->unusable || !tr->present || (tr->selector & ~3u) == 0 ||
        (tr->type & ~2u) != 9 || tr->limit < 0x67 || size == 0 || size > 4) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = tcg_read_lin_sys(cpu, (tr->base + 0x66) & mask, &base, 2);
    if (st != TCG_OK) {
        return st;
    }
    if ((uint64_t)base + port / 8 + 1 > tr->limit) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = tcg_read_lin_sys(cpu, (tr->base + base + port / 8) & mask, &bits, 2);
    if (st != TCG_OK) {
        return st;
    }
    if ((bits >> (port & 7)) & ((1u << size) - 1)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return TCG_OK;
}

/*
 * IN/OUT (SDM vol. 2): E4-E7 take the port as imm8, EC-EF in DX; bit 0 of
 * the opcode picks byte or the operand size.
 */
static enum tcg_status port_io(struct tcg_cpu *cpu, const struct insn *in, bool is_write)
{
    unsigned size = (in->opcode & 1) ? (in->op_size == 2 ? 2 : 4) : 1;
    uint16_t port;
    uint32_t val = 0;
    enum tcg_status st;

    if (in->opcode & 8) {
        port = (uint16_t)cpu->st.regs[R_EDX];
    } else {
        port = 0;
        for (unsigned i = 0; i < in->nops && i < 4; i++) {
            if (in->ops[i].kind == OPK_IMM) {
                port = in->ops[i].imm & 0xff;
            }
        }
    }
    st = tcg_io_check(cpu, port, size);
    if (st != TCG_OK) {
        return st;
    }
    if (is_write) {
        val = (uint32_t)cpu->st.regs[R_EAX];
    }
    bql_lock();
    io_pio(port, &val, size, is_write);
    bql_unlock();
    if (!is_write) {
        tcg_reg_write(cpu, R_EAX, size, false, val);
    }
    /* A write that powered the machine off or paused it (isa-debug-exit,
     * ACPI S5, pvpanic) is the last instruction the guest runs. */
    if (is_write && (vm_exit_requested() || vm_pause_pending() || vm_reset_pending())) {
        return TCG_STOP;
    }
    return TCG_OK;
}

enum tcg_status exec_in(struct tcg_cpu *cpu, const struct insn *in)
{
    return port_io(cpu, in, false);
}

enum tcg_status exec_out(struct tcg_cpu *cpu, const struct insn *in)
{
    return port_io(cpu, in, true);
}

enum tcg_status exec_hlt(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = tcg_need_cpl0(cpu);

    return st == TCG_OK ? TCG_HALT : st;
}

/* LGDT/LIDT/SGDT/SIDT: limit, then a 24/32-bit base, or 64-bit in 64-bit mode. */
static enum tcg_status dtable_load(struct tcg_cpu *cpu, const struct insn *in,
                                   struct x86_dtable *t)
{
    uint64_t ea, base = 0;
    uint16_t limit;
    enum tcg_status st;
    unsigned bsize = cpu->mode == MODE_LONG64 ? 8 : 4;

    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = tcg_need_cpl0(cpu);
    if (st != TCG_OK) {
        return st;
    }
    ea = tcg_ea(cpu, in);
    st = tcg_mem_read(cpu, in->mem.seg, ea, &limit, 2);
    if (st == TCG_OK) {
        st = tcg_mem_read(cpu, in->mem.seg, (ea + 2) & mask_of(in->addr_size), &base, bsize);
    }
    if (st != TCG_OK) {
        return st;
    }
    if (bsize == 4 && in->op_size == 2) {
        base &= 0xffffff;
    }
    if (bsize == 8 && !tcg_canonical(base)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    t->base = base;
    t->limit = limit;
    return TCG_OK;
}

static enum tcg_status dtable_store(struct tcg_cpu *cpu, const struct insn *in,
                                    const struct x86_dtable *t)
{
    uint64_t ea;
    enum tcg_status st;
    unsigned bsize = cpu->mode == MODE_LONG64 ? 8 : 4;

    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    if ((cpu->st.cr4 & CR4_UMIP) && cpu->cpl) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    ea = tcg_ea(cpu, in);
    st = tcg_mem_write(cpu, in->mem.seg, ea, &t->limit, 2);
    if (st == TCG_OK) {
        st = tcg_mem_write(cpu, in->mem.seg, (ea + 2) & mask_of(in->addr_size), &t->base,
                           bsize);
    }
    return st;
}

enum tcg_status exec_lgdt(struct tcg_cpu *cpu, const struct insn *in)
{
    return dtable_load(cpu, in, &cpu->st.gdt);
}

enum tcg_status exec_lidt(struct tcg_cpu *cpu, const struct insn *in)
{
    return dtable_load(cpu, in, &cpu->st.idt);
}

enum tcg_status exec_sgdt(struct tcg_cpu *cpu, const struct insn *in)
{
    return dtable_store(cpu, in, &cpu->st.gdt);
}

enum tcg_status exec_sidt(struct tcg_cpu *cpu, const struct insn *in)
{
    return dtable_store(cpu, in, &cpu->st.idt);
}

/* The 16-byte system descriptors of IA-32e mode keep base bits 63:32 in
 * the second quadword (SDM vol. 3, 8.2.3). */
static enum tcg_status system_desc_load(struct tcg_cpu *cpu, uint16_t sel, unsigned want1,
                                        unsigned want2, struct x86_segment *out,
                                        uint64_t *addr)
{
    uint64_t d, hi = 0;
    enum tcg_status st;
    unsigned type;

    if (sel & SEL_TI) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    st = read_desc(cpu, sel, &d, addr);
    if (st != TCG_OK) {
        return st;
    }
    type = DESC_TYPE(d);
    if (DESC_S(d) || (type != want1 && type != want2)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    if (!DESC_P(d)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(sel));
    }
    if (cpu->st.efer & EFER_LMA) {
        if ((uint64_t)(sel & ~7u) + 15 > cpu->st.gdt.limit) {
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
        st = tcg_read_lin_sys(cpu, *addr + 8, &hi, 8);
        if (st != TCG_OK) {
            return st;
        }
        /* The upper half's type field must be 0 (SDM vol. 3, figure 8-4)
         * and the 64-bit base canonical (LLDT/LTR, 64-bit mode
         * exceptions): #GP(selector). */
        if (((hi >> 40) & 0x1f) != 0) {     /* bits 12:8 of the 4th dword */
            return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
        }
    }
    desc_to_seg(out, sel, d);
    out->base |= (hi & 0xffffffffull) << 32;
    if ((cpu->st.efer & EFER_LMA) && !tcg_canonical(out->base)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel));
    }
    return TCG_OK;
}

/* The selector operand of LLDT/LTR/VERR...: a register or a word in memory. */
static enum tcg_status read_sel_operand(struct tcg_cpu *cpu, const struct insn *in,
                                        uint16_t *sel)
{
    uint64_t v = 0;
    enum tcg_status st;

    if (in->has_mem) {
        st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), &v, 2);
    } else {
        st = tcg_op_read(cpu, in, 0, &v);
    }
    *sel = (uint16_t)v;
    return st;
}

/* ---- LAR, LSL, VERR, VERW (SDM vol. 2, each instruction's page) ---- */

/*
 * The descriptor sel names, for the instructions that answer with ZF
 * instead of faulting: *found is false for a null selector or one beyond
 * its table; a page fault on the table still faults.
 */
static enum tcg_status probe_desc(struct tcg_cpu *cpu, uint16_t sel, uint64_t *d, bool *found)
{
    const struct x86_segment *ldt = &cpu->st.seg[S_LDTR];
    uint64_t addr;

    *found = false;
    if ((sel & ~3u) == 0 || ((sel & SEL_TI) && (ldt->unusable || !ldt->present))) {
        return TCG_OK;
    }
    if ((uint64_t)(sel & ~7u) + 7 > ((sel & SEL_TI) ? ldt->limit : cpu->st.gdt.limit)) {
        return TCG_OK;
    }
    *found = true;
    return read_desc(cpu, sel, d, &addr);
}

/* The privilege rule of LAR/LSL/VERR: DPL >= CPL and DPL >= RPL, except
 * for conforming code segments. */
static bool desc_visible(const struct tcg_cpu *cpu, uint16_t sel, uint64_t d)
{
    unsigned type = DESC_TYPE(d);

    if (DESC_S(d) && (type & TYPE_CODE) && (type & TYPE_CONFORMING)) {
        return true;
    }
    return DESC_DPL(d) >= cpu->cpl && DESC_DPL(d) >= SEL_RPL(sel);
}

/* System types LAR (lar true) or LSL accept, legacy and IA-32e mode. */
static bool sys_type_ok(const struct tcg_cpu *cpu, unsigned type, bool lar)
{
    if (cpu->st.efer & EFER_LMA) {
        return type == 2 || type == 9 || type == 0xb || (lar && type == 0xc);
    }
    switch (type) {
    case 1: case 2: case 3: case 9: case 0xb:
        return true;
    case 4: case 5: case 0xc:
        return lar;     /* gates have no limit */
    default:
        return false;
    }
}

static enum tcg_status lar_lsl(struct tcg_cpu *cpu, const struct insn *in, bool lar)
{
    uint64_t v = 0, d = 0;
    enum tcg_status st;
    bool found, ok;

    if (!prot_mode(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = tcg_op_read(cpu, in, 1, &v);
    if (st == TCG_OK) {
        st = probe_desc(cpu, (uint16_t)v, &d, &found);
    }
    if (st != TCG_OK) {
        return st;
    }
    ok = found && (DESC_S(d) || sys_type_ok(cpu, DESC_TYPE(d), lar)) &&
         desc_visible(cpu, (uint16_t)v, d);
    tcg_flags_set(cpu, RFLAGS_ZF, ok ? RFLAGS_ZF : 0);
    if (!ok) {
        return TCG_OK;
    }
    if (lar) {
        v = (d >> 32) & (in->op_size == 2 ? 0xff00ull : 0xf0ff00ull);
    } else {
        struct x86_segment s;

        desc_to_seg(&s, (uint16_t)v, d);
        v = s.limit;
    }
    return tcg_op_write(cpu, in, 0, v);
}

enum tcg_status exec_lar(struct tcg_cpu *cpu, const struct insn *in)
{
    return lar_lsl(cpu, in, true);
}

enum tcg_status exec_lsl(struct tcg_cpu *cpu, const struct insn *in)
{
    return lar_lsl(cpu, in, false);
}

/* VERR/VERW: ZF = the segment is readable/writable at CPL and RPL. */
static enum tcg_status verr_verw(struct tcg_cpu *cpu, const struct insn *in, bool write)
{
    enum tcg_status st;
    uint64_t d = 0;
    uint16_t sel;
    bool found, ok;

    if (!prot_mode(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = read_sel_operand(cpu, in, &sel);
    if (st == TCG_OK) {
        st = probe_desc(cpu, sel, &d, &found);
    }
    if (st != TCG_OK) {
        return st;
    }
    ok = found && DESC_S(d) && desc_visible(cpu, sel, d);
    if (ok && write) {
        ok = !(DESC_TYPE(d) & TYPE_CODE) && (DESC_TYPE(d) & TYPE_RW);
    } else if (ok) {
        ok = !(DESC_TYPE(d) & TYPE_CODE) || (DESC_TYPE(d) & TYPE_RW);
    }
    tcg_flags_set(cpu, RFLAGS_ZF, ok ? RFLAGS_ZF : 0);
    return TCG_OK;
}

enum tcg_status exec_verr(struct tcg_cpu *cpu, const struct insn *in)
{
    return verr_verw(cpu, in, false);
}

enum tcg_status exec_verw(struct tcg_cpu *cpu, const struct insn *in)
{
    return verr_verw(cpu, in, true);
}

enum tcg_status exec_lldt(struct tcg_cpu *cpu, const struct insn *in)
{
    struct x86_segment s;
    enum tcg_status st;
    uint16_t sel;
    uint64_t addr;

    if (!prot_mode(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = tcg_need_cpl0(cpu);
    if (st == TCG_OK) {
        st = read_sel_operand(cpu, in, &sel);
    }
    if (st != TCG_OK) {
        return st;
    }
    if ((sel & ~3u) == 0) {
        cpu->st.seg[S_LDTR].selector = sel;
        cpu->st.seg[S_LDTR].unusable = true;
        return TCG_OK;
    }
    st = system_desc_load(cpu, sel, 2, 2, &s, &addr);
    if (st == TCG_OK) {
        cpu->st.seg[S_LDTR] = s;
    }
    return st;
}

enum tcg_status exec_ltr(struct tcg_cpu *cpu, const struct insn *in)
{
    struct x86_segment s;
    enum tcg_status st;
    uint16_t sel;
    uint64_t addr;
    uint8_t b;

    if (!prot_mode(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = tcg_need_cpl0(cpu);
    if (st == TCG_OK) {
        st = read_sel_operand(cpu, in, &sel);
    }
    if (st != TCG_OK) {
        return st;
    }
    if ((sel & ~3u) == 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    /* An available 16-bit (1) or 32/64-bit (9) TSS; LTR marks it busy. */
    st = system_desc_load(cpu, sel, 1, 9, &s, &addr);
    if (st != TCG_OK) {
        return st;
    }
    s.type |= 2;
    b = (uint8_t)(s.type | (s.dpl << 5) | 0x80);
    st = tcg_write_lin_sys(cpu, addr + 5, &b, 1);
    if (st == TCG_OK) {
        cpu->st.seg[S_TR] = s;
    }
    return st;
}

/* SLDT/STR/SMSW: a register gets the operand size, memory a word. */
static enum tcg_status store_word_or_reg(struct tcg_cpu *cpu, const struct insn *in,
                                         uint64_t v)
{
    if (in->has_mem) {
        return tcg_mem_write(cpu, in->mem.seg, tcg_ea(cpu, in), &v, 2);
    }
    return tcg_op_write(cpu, in, 0, v);
}

enum tcg_status exec_sldt(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!prot_mode(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if ((cpu->st.cr4 & CR4_UMIP) && cpu->cpl) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return store_word_or_reg(cpu, in, cpu->st.seg[S_LDTR].selector);
}

enum tcg_status exec_str(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!prot_mode(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if ((cpu->st.cr4 & CR4_UMIP) && cpu->cpl) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return store_word_or_reg(cpu, in, cpu->st.seg[S_TR].selector);
}

enum tcg_status exec_smsw(struct tcg_cpu *cpu, const struct insn *in)
{
    if ((cpu->st.cr4 & CR4_UMIP) && cpu->cpl) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return store_word_or_reg(cpu, in, cpu->st.cr0);
}

/* LMSW loads CR0 bits 3:0 but can set PE only, never clear it. */
enum tcg_status exec_lmsw(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = tcg_need_cpl0(cpu);
    uint16_t v;

    if (st == TCG_OK) {
        st = read_sel_operand(cpu, in, &v);
    }
    if (st != TCG_OK) {
        return st;
    }
    return write_cr0(cpu, (cpu->st.cr0 & ~0xeull) | (v & 0xf) | (cpu->st.cr0 & CR0_PE));
}

enum tcg_status exec_clts(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = tcg_need_cpl0(cpu);

    if (st == TCG_OK) {
        cpu->st.cr0 &= ~CR0_TS;
    }
    return st;
}

/*
 * MOV to/from CRn and DRn: the register operand is always 64 bits in
 * 64-bit mode and 32 bits elsewhere, whatever the prefixes (SDM vol. 2,
 * MOV-Move to/from Control Registers).  0F 20/21 read, 0F 22/23 write.
 */
static enum tcg_status mov_ctl(struct tcg_cpu *cpu, const struct insn *in, bool dr)
{
    unsigned size = cpu->mode == MODE_LONG64 ? 8 : 4;
    const struct operand *gpr = NULL, *ctl = NULL;
    enum tcg_status st = tcg_need_cpl0(cpu);
    uint64_t v;

    if (st != TCG_OK) {
        return st;
    }
    for (unsigned i = 0; i < 2; i++) {
        if (in->ops[i].kind == OPK_REG) {
            gpr = &in->ops[i];
        } else if (in->ops[i].kind == (dr ? OPK_DREG : OPK_CREG)) {
            ctl = &in->ops[i];
        }
    }
    if (!gpr || !ctl) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (!(in->opcode & 2)) {
        st = dr ? tcg_read_dr(cpu, ctl->reg, &v) : tcg_read_cr(cpu, ctl->reg, &v);
        if (st == TCG_OK) {
            tcg_reg_write(cpu, gpr->reg, size, false, v);
        }
        return st;
    }
    v = tcg_reg_read(cpu, gpr->reg, size, false);
    return dr ? tcg_write_dr(cpu, ctl->reg, v) : tcg_write_cr(cpu, ctl->reg, v);
}

enum tcg_status exec_mov_cr(struct tcg_cpu *cpu, const struct insn *in)
{
    return mov_ctl(cpu, in, false);
}

enum tcg_status exec_mov_dr(struct tcg_cpu *cpu, const struct insn *in)
{
    return mov_ctl(cpu, in, true);
}

enum tcg_status exec_invlpg(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = tcg_need_cpl0(cpu);
    uint64_t lin, base;

    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (st != TCG_OK) {
        return st;
    }
    /* No segment checks: INVLPG never faults on its address. */
    base = (cpu->mode != MODE_LONG64 || in->mem.seg == S_FS || in->mem.seg == S_GS)
               ? cpu->st.seg[in->mem.seg % S__MAX].base : 0;
    lin = base + tcg_ea(cpu, in);
    if (cpu->mode != MODE_LONG64) {
        lin &= 0xffffffffull;
    }
    tcg_tlb_flush_page(cpu, lin);
    return TCG_OK;
}

/* WBINVD and INVD: no caches to write back or drop. */
enum tcg_status exec_wbinvd(struct tcg_cpu *cpu, const struct insn *in)
{
    return tcg_need_cpl0(cpu);
}

enum tcg_status exec_swapgs(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t t;

    if (cpu->mode != MODE_LONG64) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->cpl) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    t = cpu->st.seg[S_GS].base;
    cpu->st.seg[S_GS].base = cpu->msr_kernel_gs_base;
    cpu->msr_kernel_gs_base = t;
    return TCG_OK;
}

/* RD/WR FS/GS BASE: 64-bit mode with CR4.FSGSBASE (SDM vol. 2). */
static enum tcg_status fsgsbase(struct tcg_cpu *cpu, const struct insn *in, unsigned seg,
                                bool wr)
{
    const struct operand *op = &in->ops[0];
    unsigned size = in->op_size == 8 ? 8 : 4;

    if (cpu->mode != MODE_LONG64 || !(cpu->st.cr4 & CR4_FSGSBASE) || op->kind != OPK_REG) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (wr) {
        uint64_t v = tcg_reg_read(cpu, op->reg, size, false);

        if (!tcg_canonical(v)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->st.seg[seg].base = v;
    } else {
        tcg_reg_write(cpu, op->reg, size, false, cpu->st.seg[seg].base);
    }
    return TCG_OK;
}

enum tcg_status exec_rdfsbase(struct tcg_cpu *cpu, const struct insn *in)
{
    return fsgsbase(cpu, in, S_FS, false);
}

enum tcg_status exec_rdgsbase(struct tcg_cpu *cpu, const struct insn *in)
{
    return fsgsbase(cpu, in, S_GS, false);
}

enum tcg_status exec_wrfsbase(struct tcg_cpu *cpu, const struct insn *in)
{
    return fsgsbase(cpu, in, S_FS, true);
}

enum tcg_status exec_wrgsbase(struct tcg_cpu *cpu, const struct insn *in)
{
    return fsgsbase(cpu, in, S_GS, true);
}

/* XCR0: x87 always, and SSE; no AVX state (SDM vol. 1, 13.3). */
#define XCR0_SUPPORTED 3ull     /* x87 and SSE: CPUID leaf 0xD (tcg-cpuid.c) */

enum tcg_status exec_xgetbv(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!(cpu->st.cr4 & CR4_OSXSAVE)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if ((uint32_t)cpu->st.regs[R_ECX] != 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->st.regs[R_EAX] = (cpu->xcr0 | 1) & 0xffffffffull;
    cpu->st.regs[R_EDX] = (cpu->xcr0 | 1) >> 32;
    return TCG_OK;
}

enum tcg_status exec_xsetbv(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t v = (cpu->st.regs[R_EAX] & 0xffffffffull) | (cpu->st.regs[R_EDX] << 32);
    enum tcg_status st;

    if (!(cpu->st.cr4 & CR4_OSXSAVE)) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = tcg_need_cpl0(cpu);
    if (st != TCG_OK) {
        return st;
    }
    if ((uint32_t)cpu->st.regs[R_ECX] != 0 || !(v & 1) || (v & ~XCR0_SUPPORTED) ||
        ((v & 4) && !(v & 2))) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->xcr0 = v;
    return TCG_OK;
}

/* STAC/CLAC: RFLAGS.AC at CPL 0 (SMAP, SDM vol. 2). */
/* STAC/CLAC: #UD, not #GP, outside CPL 0 or without SMAP (SDM vol. 2,
 * STAC "Protected Mode Exceptions"). */
static bool smap_insn_ok(const struct tcg_cpu *cpu)
{
    return cpu->cpl == 0 && tcg_cpuid_has(cpu, 7, 1, 20);
}

enum tcg_status exec_stac(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!smap_insn_ok(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    cpu->st.rflags |= RFLAGS_AC;
    return TCG_OK;
}

enum tcg_status exec_clac(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!smap_insn_ok(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    cpu->st.rflags &= ~RFLAGS_AC;
    return TCG_OK;
}

/* MOV Sreg, r/m16 and MOV r/m, Sreg (a register destination takes the
 * zero-extended selector, memory a word). */
enum tcg_status exec_mov_sreg(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t v = 0;
    enum tcg_status st;

    if (in->ops[0].kind == OPK_SREG) {
        if (in->has_mem) {
            st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), &v, 2);
        } else {
            st = tcg_op_read(cpu, in, 1, &v);
        }
        if (st != TCG_OK) {
            return st;
        }
        if (in->ops[0].reg == S_CS || in->ops[0].reg >= S_LDTR) {
            return tcg_raise(cpu, EXC_UD);
        }
        return tcg_load_seg(cpu, in->ops[0].reg, (uint16_t)v);
    }
    st = tcg_op_read(cpu, in, 1, &v);
    if (st != TCG_OK) {
        return st;
    }
    return store_word_or_reg(cpu, in, v);
}

/* LDS/LES/LFS/LGS/LSS: offset then selector from memory (SDM vol. 2, LDS). */
static enum tcg_status load_far_ptr(struct tcg_cpu *cpu, const struct insn *in, unsigned seg)
{
    unsigned size = in->op_size;
    uint64_t ea, off = 0;
    uint16_t sel = 0;
    enum tcg_status st;

    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->mode == MODE_LONG64 && (in->rex & 8)) {
        /* AMD ignores REX.W here, with or without 66: the pointer is
         * m16:32 and the register write is 32 bits (APM vol. 3, LSS;
         * measured on Zen 4); Intel reads m16:64. */
        size = tcg_host_is_intel() ? 8 : 4;
    }
    ea = tcg_ea(cpu, in);
    st = tcg_mem_read(cpu, in->mem.seg, ea, &off, size);
    if (st == TCG_OK) {
        st = tcg_mem_read(cpu, in->mem.seg, (ea + size) & mask_of(in->addr_size), &sel, 2);
    }
    if (st == TCG_OK) {
        st = tcg_load_seg(cpu, seg, sel);
    }
    if (st == TCG_OK) {
        tcg_reg_write(cpu, in->ops[0].reg, size, false, off);
    }
    return st;
}

enum tcg_status exec_lds(struct tcg_cpu *cpu, const struct insn *in)
{
    return load_far_ptr(cpu, in, S_DS);
}

enum tcg_status exec_les(struct tcg_cpu *cpu, const struct insn *in)
{
    return load_far_ptr(cpu, in, S_ES);
}

enum tcg_status exec_lfs(struct tcg_cpu *cpu, const struct insn *in)
{
    return load_far_ptr(cpu, in, S_FS);
}

enum tcg_status exec_lgs(struct tcg_cpu *cpu, const struct insn *in)
{
    return load_far_ptr(cpu, in, S_GS);
}

enum tcg_status exec_lss(struct tcg_cpu *cpu, const struct insn *in)
{
    return load_far_ptr(cpu, in, S_SS);
}

/*
 * ARPL r/m16, r16 (SDM vol. 2, ARPL): raises the RPL of the destination
 * selector to the source's, ZF telling whether it did; no other flag
 * changes.  The decoder gives #UD in real mode and MOVSXD in 64-bit mode;
 * vm86 is #UD too.  Unlike the read-modify-writes of the ALU, the AMD
 * host reads the destination as a plain read and writes it only when the
 * RPL changes (a read-only segment or page faults only then).
 */
enum tcg_status exec_arpl(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t d, s;
    enum tcg_status st;

    if (!prot_mode(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    st = tcg_src_read(cpu, in, 0, 2, &d);
    if (st == TCG_OK) {
        st = tcg_src_read(cpu, in, 1, 2, &s);
    }
    if (st != TCG_OK) {
        return st;
    }
    if ((d & 3) < (s & 3)) {
        st = tcg_op_write(cpu, in, 0, (d & ~3ull) | (s & 3));
        if (st != TCG_OK) {
            return st;
        }
        tcg_flags_set(cpu, RFLAGS_ZF, RFLAGS_ZF);
    } else {
        tcg_flags_set(cpu, RFLAGS_ZF, 0);
    }
    return TCG_OK;
}

/* ---- exception and interrupt delivery (SDM vol. 3, 6.12 and 6.14) ---- */

/* The error code naming IDT entry vec (SDM vol. 3, 6.13, figure 6-7). */
static inline uint32_t idt_err(unsigned vec, uint32_t ext)
{
    return (vec << 3) | 2 | ext;
}

/* Pushes size bytes at *sp (already in the new stack's address space). */
static enum tcg_status push_lin(struct tcg_cpu *cpu, uint64_t base, uint64_t *sp,
                                uint64_t mask, uint64_t v, unsigned size)
{
    uint64_t lin;

    *sp = (*sp - size) & mask;
    lin = base + *sp;
    if (cpu->mode != MODE_LONG64 || !(cpu->st.efer & EFER_LMA)) {
        lin &= 0xffffffffull;
    }
    return tcg_write_lin(cpu, lin, &v, size);
}

/* Real mode: the IVT's far pointer; FLAGS, CS, IP on the stack (6.x, 20.1.4). */
static enum tcg_status deliver_real(struct tcg_cpu *cpu, unsigned vec, uint64_t ret)
{
    uint64_t sp = cpu->st.regs[R_ESP];
    uint32_t ptr = 0;
    enum tcg_status st;

    if ((uint64_t)vec * 4 + 3 > cpu->st.idt.limit) {
        return tcg_raise_err(cpu, EXC_GP, idt_err(vec, 0));
    }
    st = tcg_read_lin(cpu, (cpu->st.idt.base + vec * 4) & 0xffffffffull, &ptr, 4, ACC_READ);
    if (st == TCG_OK) {
        st = tcg_push(cpu, cpu->st.rflags & 0xffff, 2);
    }
    if (st == TCG_OK) {
        st = tcg_push(cpu, cpu->st.seg[S_CS].selector, 2);
    }
    if (st == TCG_OK) {
        st = tcg_push(cpu, ret & 0xffff, 2);
    }
    if (st != TCG_OK) {
        cpu->st.regs[R_ESP] = sp;
        return st;
    }
    cpu->st.rflags &= ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC);
    cpu->st.seg[S_CS].selector = ptr >> 16;
    cpu->st.seg[S_CS].base = (uint64_t)(ptr >> 16) << 4;
    cpu->st.rip = ptr & 0xffff;
    return TCG_OK;
}

/* ---- task switches (SDM vol. 3, 7.3) ---- */

/* The reasons of a task switch (int, for the forward declaration above). */
enum { TS_JMP = 0, TS_CALL = 1, TS_IRET = 2 };

/* Offsets of the dynamic fields in a 32-bit and a 16-bit TSS (7.2.1, 7.6). */
struct tss_layout {
    unsigned link, cr3, ip, flags, regs, sregs, ldt, size, min_limit;
};
static const struct tss_layout tss32 = { 0, 0x1c, 0x20, 0x24, 0x28, 0x48, 0x60, 4, 0x67 };
static const struct tss_layout tss16 = { 0, 0, 0x0e, 0x10, 0x12, 0x22, 0x2a, 2, 0x2b };

static enum tcg_status tss_rw(struct tcg_cpu *cpu, uint64_t base, unsigned off, void *v,
                              unsigned size, bool write)
{
    uint64_t lin = (base + off) & 0xffffffffull;

    return write ? tcg_write_lin_sys(cpu, lin, v, size) : tcg_read_lin_sys(cpu, lin, v, size);
}

/* Sets (busy true) or clears the busy bit of the TSS descriptor sel names. */
static enum tcg_status tss_set_busy(struct tcg_cpu *cpu, uint16_t sel, bool busy)
{
    uint64_t d, addr;
    enum tcg_status st = read_desc(cpu, sel, &d, &addr);
    uint8_t b;

    if (st != TCG_OK) {
        return st;
    }
    b = (uint8_t)(d >> 40);
    b = busy ? (b | 2) : (b & ~2);
    return tcg_write_lin_sys(cpu, addr + 5, &b, 1);
}

/* A segment register of the new task, checked as 7.3 step 12 says:
 * faults are #TS(selector), #NP or #SS for an absent one. */
static enum tcg_status task_load_seg(struct tcg_cpu *cpu, unsigned seg, uint16_t sel)
{
    uint64_t d, addr;
    unsigned type, dpl;
    enum tcg_status st;

    if ((sel & ~3u) == 0) {
        if (seg == S_CS || seg == S_SS) {
            return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
        }
        memset(&cpu->st.seg[seg], 0, sizeof(cpu->st.seg[seg]));
        cpu->st.seg[seg].selector = sel;
        cpu->st.seg[seg].unusable = true;
        return TCG_OK;
    }
    st = read_desc(cpu, sel, &d, &addr);
    if (st != TCG_OK) {
        if (cpu->exc.vector == EXC_GP) {
            cpu->exc.vector = EXC_TS;
        }
        return st;
    }
    type = DESC_TYPE(d);
    dpl = DESC_DPL(d);
    if (!DESC_S(d)) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    if (seg == S_CS) {
        if (!(type & TYPE_CODE) ||
            ((type & TYPE_CONFORMING) ? dpl > SEL_RPL(sel) : dpl != SEL_RPL(sel))) {
            return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
        }
    } else if (seg == S_SS) {
        if ((type & TYPE_CODE) || !(type & TYPE_RW) || SEL_RPL(sel) != cpu->cpl ||
            dpl != cpu->cpl) {
            return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
        }
    } else if (((type & TYPE_CODE) && !(type & TYPE_RW)) ||
               ((!(type & TYPE_CODE) || !(type & TYPE_CONFORMING)) &&
                (dpl < cpu->cpl || dpl < SEL_RPL(sel)))) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    if (!DESC_P(d)) {
        return tcg_raise_err(cpu, seg == S_SS ? EXC_SS : EXC_NP, SEL_ERR(sel));
    }
    st = set_accessed(cpu, addr, &d);
    if (st == TCG_OK) {
        desc_to_seg(&cpu->st.seg[seg], sel, d);
    }
    return st;
}

/* The LDT of the new task: null, or an LDT descriptor in the GDT. */
static enum tcg_status task_load_ldt(struct tcg_cpu *cpu, uint16_t sel)
{
    struct x86_segment *ldt = &cpu->st.seg[S_LDTR];
    uint64_t d, addr;
    enum tcg_status st;

    if ((sel & ~3u) == 0) {
        memset(ldt, 0, sizeof(*ldt));
        ldt->selector = sel;
        ldt->unusable = true;
        return TCG_OK;
    }
    if (sel & SEL_TI) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    st = read_desc(cpu, sel, &d, &addr);
    if (st != TCG_OK) {
        if (cpu->exc.vector == EXC_GP) {
            cpu->exc.vector = EXC_TS;
        }
        return st;
    }
    if (DESC_S(d) || DESC_TYPE(d) != 2) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    if (!DESC_P(d)) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    desc_to_seg(ldt, sel, d);
    return TCG_OK;
}

/*
 * After a JMP, CALL or IRET switched tasks: the T flag of the new 32-bit
 * TSS (offset 64H, bit 0) asks for a #DB trap in the new task with
 * DR6.BT set (SDM vol. 3, 7.2.1, 18.3.1.5).
 */
static enum tcg_status task_trap(struct tcg_cpu *cpu)
{
    const struct x86_segment *tr = &cpu->st.seg[S_TR];
    uint8_t t = 0;

    if (!(tr->type & 8) || tss_rw(cpu, tr->base, 0x64, &t, 1, false) != TCG_OK || !(t & 1)) {
        return TCG_JUMPED;
    }
    cpu->st.dr[6] |= 1ull << 15;
    return tcg_raise(cpu, EXC_DB);
}

/*
 * Switches to the task whose TSS sel names, for a JMP, a CALL (or an
 * interrupt through a task gate) or an IRET with NT set: the steps of
 * 7.3.  The checks of the new TSS come first (#TS/#GP/#NP, nothing
 * changed); then the current state goes into the old TSS at the return
 * point ret_rip, the busy bits and the link change as table 7-2 says,
 * and the new task's state is loaded.  Faults while loading its segments
 * are taken in the new task's context, as on the processor.
 */
static enum tcg_status task_switch(struct tcg_cpu *cpu, uint16_t sel, int why,
                                   uint64_t ret_rip)
{
    static const unsigned order32[6] = { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS };
    const struct x86_segment *otr = &cpu->st.seg[S_TR];
    const struct tss_layout *ol = (otr->type & 8) ? &tss32 : &tss16, *nl;
    unsigned exc = why == TS_IRET ? EXC_TS : EXC_GP;
    struct x86_segment ntr;
    uint8_t tss[0x68];
    uint64_t d, addr, fl, v;
    uint16_t osel = otr->selector, sels[6] = { 0 }, ldt = 0;
    unsigned type, nsregs;
    enum tcg_status st;

    if (sel & SEL_TI) {
        return tcg_raise_err(cpu, exc, SEL_ERR(sel));
    }
    st = read_desc(cpu, sel, &d, &addr);
    if (st != TCG_OK) {
        return st;
    }
    type = DESC_TYPE(d);
    if (DESC_S(d) || (type & 5) != 1 || ((type & 2) != 0) != (why == TS_IRET)) {
        return tcg_raise_err(cpu, exc, SEL_ERR(sel));
    }
    if (!DESC_P(d)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(sel));
    }
    desc_to_seg(&ntr, sel, d);
    nl = (type & 8) ? &tss32 : &tss16;
    if (ntr.limit < nl->min_limit || otr->unusable || otr->limit < ol->min_limit) {
        return tcg_raise_err(cpu, EXC_TS, SEL_ERR(sel));
    }
    memset(tss, 0, sizeof(tss));
    st = tss_rw(cpu, ntr.base, 0, tss, nl->min_limit + 1, false);
    if (st != TCG_OK) {
        return st;
    }

    /* The old task's state (7.3 step 7); IRET leaves NT clear in it. */
    fl = cpu->st.rflags & ~(why == TS_IRET ? RFLAGS_NT : 0);
    st = tss_rw(cpu, otr->base, ol->ip, &ret_rip, ol->size, true);
    if (st == TCG_OK) {
        st = tss_rw(cpu, otr->base, ol->flags, &fl, ol->size, true);
    }
    for (unsigned i = 0; i < 8 && st == TCG_OK; i++) {
        st = tss_rw(cpu, otr->base, ol->regs + i * ol->size, &cpu->st.regs[i], ol->size, true);
    }
    for (unsigned i = 0; i < (ol == &tss32 ? 6u : 4u) && st == TCG_OK; i++) {
        st = tss_rw(cpu, otr->base, ol->sregs + i * ol->size,
                    &cpu->st.seg[order32[i]].selector, 2, true);
    }
    /* Busy bits and the link (table 7-2). */
    if (st == TCG_OK && why != TS_CALL) {
        st = tss_set_busy(cpu, osel, false);
    }
    if (st == TCG_OK && why != TS_IRET) {
        st = tss_set_busy(cpu, sel, true);
        d |= 2ull << 40;
    }
    if (st == TCG_OK && why == TS_CALL) {
        st = tss_rw(cpu, ntr.base, 0, &osel, 2, true);
    }
    if (st != TCG_OK) {
        return st;
    }

    /* The new task (steps 8 to 12). */
    desc_to_seg(&cpu->st.seg[S_TR], sel, d);
    cpu->st.cr0 |= CR0_TS;
    v = 0;
    memcpy(&v, tss + nl->ip, nl->size);
    cpu->st.rip = v;
    fl = 0;
    memcpy(&fl, tss + nl->flags, nl->size);
    if (why == TS_CALL) {
        fl |= RFLAGS_NT;
    }
    if (nl == &tss32) {
        uint32_t cr3;

        memcpy(&cr3, tss + nl->cr3, 4);
        if ((cpu->st.cr0 & CR0_PG) && cr3 != cpu->st.cr3) {
            cpu->st.cr3 = cr3;
            tcg_tlb_flush(cpu);
        }
        cpu->st.rflags = (fl & 0x3f7fd5ull) | RFLAGS_FIXED;
    } else {
        cpu->st.rflags = (cpu->st.rflags & ~0xffffull) | (fl & 0x7fd5) | RFLAGS_FIXED;
    }
    for (unsigned i = 0; i < 8; i++) {
        v = 0;
        memcpy(&v, tss + nl->regs + i * nl->size, nl->size);
        if (nl == &tss32) {
            cpu->st.regs[i] = v;
        } else {
            tcg_reg_write(cpu, i, 2, false, v);
        }
    }
    nsregs = nl == &tss32 ? 6 : 4;
    for (unsigned i = 0; i < nsregs; i++) {
        memcpy(&sels[i], tss + nl->sregs + i * nl->size, 2);
    }
    memcpy(&ldt, tss + nl->ldt, 2);
    /* The selectors first, so a fault below shows the new task's. */
    for (unsigned i = 0; i < nsregs; i++) {
        cpu->st.seg[order32[i]].selector = sels[i];
    }
    if (cpu->st.rflags & RFLAGS_VM) {
        for (unsigned i = 0; i < nsregs; i++) {
            real_mode_seg(cpu, order32[i], sels[i]);
        }
        cpu->cpl = 3;
        tcg_cpu_mode_changed(cpu);
        return task_load_ldt(cpu, ldt);
    }
    st = task_load_ldt(cpu, ldt);
    cpu->cpl = SEL_RPL(sels[1]);
    if (st == TCG_OK) {
        st = task_load_seg(cpu, S_CS, sels[1]);
    }
    if (st == TCG_OK) {
        st = task_load_seg(cpu, S_SS, sels[2]);
    }
    for (unsigned i = 0; i < nsregs && st == TCG_OK; i++) {
        if (order32[i] != S_CS && order32[i] != S_SS) {
            st = task_load_seg(cpu, order32[i], sels[i]);
        }
    }
    tcg_cpu_mode_changed(cpu);
    if (st == TCG_OK && cpu->st.rip > cpu->st.seg[S_CS].limit) {
        st = tcg_raise_err(cpu, EXC_GP, 0);
    }
    return st;
}

/* Reads the stack pointer for ring n from the TSS (7.2.1 and 8.7). */
static enum tcg_status tss_stack(struct tcg_cpu *cpu, unsigned n, unsigned ist, uint64_t *sp,
                                 uint16_t *ss, uint32_t ext)
{
    const struct x86_segment *tr = &cpu->st.seg[S_TR];
    uint64_t off;
    unsigned size;
    enum tcg_status st;
    uint64_t v = 0;
    uint16_t sel = 0;

    if (cpu->st.efer & EFER_LMA) {
        off = ist ? 0x24 + (ist - 1) * 8 : 4 + n * 8;
        size = 8;
    } else if (tr->type & 8) {
        off = 4 + n * 8;                /* 32-bit TSS: ESPn, then SSn */
        size = 4;
    } else {
        off = 2 + n * 4;                /* 16-bit TSS: SPn, then SSn */
        size = 2;
    }
    if (tr->unusable || off + size - 1 > tr->limit ||
        (!(cpu->st.efer & EFER_LMA) && off + size + 1 > tr->limit)) {
        return tcg_raise_err(cpu, EXC_TS, (tr->selector & 0xfffc) | ext);
    }
    st = tcg_read_lin_sys(cpu, tr->base + off, &v, size);
    if (st == TCG_OK && !(cpu->st.efer & EFER_LMA)) {
        st = tcg_read_lin_sys(cpu, tr->base + off + size, &sel, 2);
    }
    *sp = v;
    *ss = sel;
    return st;
}

/* The exceptions of the fault class (SDM vol. 3, table 6-1); #DB is not
 * one here, as an instruction breakpoint pushes RF clear. */
static bool exc_is_fault(unsigned vec)
{
    switch (vec) {
    case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP:
    case EXC_SS: case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM:
    case 20: case 21:
        return true;
    default:
        return false;
    }
}

/*
 * An interrupt or exception through a task gate (6.11.2, 7.3): a switch
 * to the task, as a CALL does, then the error code on the new task's
 * stack.
 */
static enum tcg_status deliver_task_gate(struct tcg_cpu *cpu, const struct tcg_exception *e,
                                         unsigned soft, uint16_t tss_sel, uint64_t ret)
{
    enum tcg_status st = task_switch(cpu, tss_sel, TS_CALL, ret);

    if (st == TCG_OK && e->has_error_code && !soft) {
        unsigned size = (cpu->st.seg[S_TR].type & 8) ? 4 : 2;

        st = tcg_push(cpu, e->error_code, size);
    }
    if (st == TCG_OK && e->vector == EXC_PF && !soft) {
        cpu->st.cr2 = e->cr2;
    }
    return st;
}

/*
 * Delivers exc through the IDT once.  Nothing changes unless it succeeds;
 * a fault on the way is left in cpu->exc.  ext is the EXT bit of the error
 * codes this delivery raises (an event not caused by INT n).
 */
static enum tcg_status deliver_once(struct tcg_cpu *cpu, const struct tcg_exception *e,
                                    unsigned soft, uint32_t ext)
{
    const bool lma = cpu->st.efer & EFER_LMA;
    const unsigned vec = e->vector;
    const unsigned esize = lma ? 16 : 8;
    uint64_t ret = soft ? cpu->next_rip : cpu->st.rip;
    uint64_t g = 0, ghi = 0, cdesc, caddr, off, sp, ss_base = 0, sp_mask;
    struct x86_segment ncs, nss = cpu->st.seg[S_SS];
    unsigned type, gsize, new_cpl, old_cpl = cpu->cpl;
    uint16_t sel, ss_sel = 0;
    bool switch_stack;
    const bool vm86 = !lma && (cpu->st.rflags & RFLAGS_VM);
    enum tcg_status st;

    if (!(cpu->st.cr0 & CR0_PE)) {
        return deliver_real(cpu, vec, ret);
    }
    if ((uint64_t)vec * esize + esize - 1 > cpu->st.idt.limit) {
        return tcg_raise_err(cpu, EXC_GP, idt_err(vec, ext));
    }
    st = tcg_read_lin_sys(cpu, cpu->st.idt.base + vec * esize, &g, 8);
    if (st == TCG_OK && lma) {
        st = tcg_read_lin_sys(cpu, cpu->st.idt.base + vec * esize + 8, &ghi, 8);
    }
    if (st != TCG_OK) {
        return st;
    }
    type = (g >> 40) & 0x1f;            /* with the S bit, which must be 0 */
    if (lma ? (type != 0xe && type != 0xf)
            : (type != 0x5 && type != 0x6 && type != 0x7 && type != 0xe && type != 0xf)) {
        return tcg_raise_err(cpu, EXC_GP, idt_err(vec, ext));
    }
    if (soft == 1 && DESC_DPL(g) < cpu->cpl) {
        return tcg_raise_err(cpu, EXC_GP, idt_err(vec, 0));
    }
    if (!DESC_P(g)) {
        return tcg_raise_err(cpu, EXC_NP, idt_err(vec, ext));
    }
    if (type == 0x5) {
        return deliver_task_gate(cpu, e, soft, (uint16_t)(g >> 16), ret);
    }
    gsize = lma ? 8 : (type & 8) ? 4 : 2;
    sel = (g >> 16) & 0xffff;
    off = (g & 0xffff) | (gsize > 2 ? ((g >> 48) & 0xffff) << 16 : 0) |
          ((ghi & 0xffffffffull) << 32);

    /* The handler's code segment (6.12.1.1). */
    if ((sel & ~3u) == 0) {
        return tcg_raise_err(cpu, EXC_GP, ext);
    }
    st = read_desc(cpu, sel, &cdesc, &caddr);
    if (st != TCG_OK) {
        cpu->exc.error_code |= ext;
        return st;
    }
    if (!DESC_S(cdesc) || !(DESC_TYPE(cdesc) & TYPE_CODE) || DESC_DPL(cdesc) > cpu->cpl ||
        (lma && (!DESC_L(cdesc) || DESC_DB(cdesc)))) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel) | ext);
    }
    /* From vm86 only a ring-0, non-conforming handler (6.12.1.1, 20.3.1.1). */
    if (vm86 && (DESC_DPL(cdesc) != 0 || (DESC_TYPE(cdesc) & TYPE_CONFORMING))) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(sel) | ext);
    }
    if (!DESC_P(cdesc)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(sel) | ext);
    }
    new_cpl = (DESC_TYPE(cdesc) & TYPE_CONFORMING) ? cpu->cpl : DESC_DPL(cdesc);
    switch_stack = new_cpl < cpu->cpl || (lma && ((g >> 32) & 7) != 0);

    /* The stack the handler runs on (6.12.1.1 and 6.14.4, 6.14.5). */
    if (switch_stack) {
        unsigned ist = lma ? (unsigned)((g >> 32) & 7) : 0;

        st = tss_stack(cpu, new_cpl, ist, &sp, &ss_sel, ext);
        if (st != TCG_OK) {
            return st;
        }
        if (lma) {
            /* IA-32e: SS becomes a null selector at the new CPL, RSP aligned. */
            if (new_cpl == cpu->cpl) {
                ss_sel = cpu->st.seg[S_SS].selector;
            } else {
                memset(&nss, 0, sizeof(nss));
                ss_sel = new_cpl;
                nss.selector = ss_sel;
                nss.unusable = true;
                nss.dpl = new_cpl;
            }
        } else {
            uint64_t sdesc, saddr;

            if ((ss_sel & ~3u) == 0) {
                return tcg_raise_err(cpu, EXC_TS, ext);
            }
            st = read_desc(cpu, ss_sel, &sdesc, &saddr);
            if (st != TCG_OK) {
                return tcg_raise_err(cpu, EXC_TS, SEL_ERR(ss_sel) | ext);
            }
            if ((ss_sel & 3) != new_cpl || DESC_DPL(sdesc) != new_cpl || !DESC_S(sdesc) ||
                (DESC_TYPE(sdesc) & TYPE_CODE) || !(DESC_TYPE(sdesc) & TYPE_RW)) {
                return tcg_raise_err(cpu, EXC_TS, SEL_ERR(ss_sel) | ext);
            }
            if (!DESC_P(sdesc)) {
                return tcg_raise_err(cpu, EXC_SS, SEL_ERR(ss_sel) | ext);
            }
            desc_to_seg(&nss, ss_sel, sdesc);
        }
    } else {
        sp = cpu->st.regs[R_ESP];
    }
    if (lma) {
        /* IA-32e mode aligns RSP to 16 bytes before the frame (6.14.2). */
        sp_mask = ~0ull;
        sp &= ~0xfull;
        ss_base = 0;
        if (!tcg_canonical(sp)) {
            return tcg_raise_err(cpu, EXC_SS, ext);
        }
    } else {
        sp_mask = nss.db ? 0xffffffffull : 0xffffull;
        ss_base = nss.base;
        sp &= sp_mask;
    }

    /* The frame: the pushes run at the handler's privilege. */
    {
        uint64_t old_sp = cpu->st.regs[R_ESP];
        uint64_t flags = cpu->st.rflags;
        uint64_t nsp = sp;

        if (!soft && exc_is_fault(vec)) {
            flags |= RFLAGS_RF;     /* 18.3.1.1: faults push RF set */
        }
        enum cpu_mode old_mode = cpu->mode;

        cpu->cpl = new_cpl;
        if (lma) {
            cpu->mode = MODE_LONG64;    /* 64-bit addresses for the frame */
        }
        st = TCG_OK;
        if (vm86) {
            /* The vm86 data segments go on the ring-0 stack (6.12.1.1). */
            static const unsigned vsegs[4] = { S_GS, S_FS, S_DS, S_ES };

            for (unsigned i = 0; i < 4 && st == TCG_OK; i++) {
                st = push_lin(cpu, ss_base, &nsp, sp_mask, cpu->st.seg[vsegs[i]].selector,
                              gsize);
            }
        }
        if (st == TCG_OK && (lma || switch_stack)) {
            if (lma || new_cpl < old_cpl) {
                st = push_lin(cpu, ss_base, &nsp, sp_mask, cpu->st.seg[S_SS].selector, gsize);
                if (st == TCG_OK) {
                    st = push_lin(cpu, ss_base, &nsp, sp_mask, old_sp, gsize);
                }
            }
        }
        if (st == TCG_OK) {
            st = push_lin(cpu, ss_base, &nsp, sp_mask, flags, gsize);
        }
        if (st == TCG_OK) {
            st = push_lin(cpu, ss_base, &nsp, sp_mask, cpu->st.seg[S_CS].selector, gsize);
        }
        if (st == TCG_OK) {
            st = push_lin(cpu, ss_base, &nsp, sp_mask, ret, gsize);
        }
        if (st == TCG_OK && e->has_error_code && !soft) {
            st = push_lin(cpu, ss_base, &nsp, sp_mask, e->error_code, gsize);
        }
        cpu->mode = old_mode;
        if (st == TCG_OK) {
            st = set_accessed(cpu, caddr, &cdesc);
        }
        if (st != TCG_OK) {
            cpu->cpl = old_cpl;
            return st;
        }
        sp = nsp;
    }

    /* Commit. */
    desc_to_seg(&ncs, (uint16_t)((sel & ~3u) | new_cpl), cdesc);
    cpu->st.seg[S_CS] = ncs;
    if (switch_stack) {
        cpu->st.seg[S_SS] = nss;
    }
    if (vm86) {
        static const unsigned dsegs[4] = { S_ES, S_DS, S_FS, S_GS };

        for (unsigned i = 0; i < 4; i++) {
            memset(&cpu->st.seg[dsegs[i]], 0, sizeof(cpu->st.seg[dsegs[i]]));
            cpu->st.seg[dsegs[i]].unusable = true;
        }
    }
    if (lma || sp_mask == ~0ull) {
        cpu->st.regs[R_ESP] = sp;
    } else {
        tcg_reg_write(cpu, R_ESP, nss.db ? 4 : 2, false, sp);
    }
    if (e->vector == EXC_PF && !soft) {
        cpu->st.cr2 = e->cr2;
    }
    cpu->st.rflags &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
    if (!(type & 1)) {
        cpu->st.rflags &= ~RFLAGS_IF;   /* an interrupt gate, not a trap gate */
    }
    cpu->st.rip = lma ? off : off & (gsize == 2 ? 0xffffull : 0xffffffffull);
    cpu->cpl = new_cpl;
    tcg_cpu_mode_changed(cpu);
    return TCG_OK;
}

/* Contributory exceptions and #PF decide when a second fault is #DF (6.15, table 6-5). */
static bool makes_double_fault(unsigned first, unsigned second)
{
    bool c1 = first == EXC_DE || (first >= EXC_TS && first <= EXC_GP);
    bool c2 = second == EXC_DE || (second >= EXC_TS && second <= EXC_GP);

    return (c1 && c2) || (first == EXC_PF && (c2 || second == EXC_PF));
}

bool tcg_deliver_exception(struct tcg_cpu *cpu)
{
    struct tcg_exception cur = cpu->exc;
    unsigned soft = cur.soft;
    uint32_t ext = soft == 1 ? 0 : 1;

    log_mask(LOG_INT, "tcg: exception %u%s, error code 0x%x, at %04x:%016llx\n", cur.vector,
             soft ? " (software)" : "", cur.has_error_code ? cur.error_code : 0,
             cpu->st.seg[S_CS].selector, (unsigned long long)cpu->st.rip);
    for (unsigned tries = 0; tries < 3; tries++) {
        struct tcg_exception next;

        /* CR2 takes the address when the #PF happens, also when its
         * delivery faults in turn (SDM vol. 3, 4.7 and 6.15). */
        if (cur.vector == EXC_PF && !soft) {
            cpu->st.cr2 = cur.cr2;
        }
        if (deliver_once(cpu, &cur, soft, ext) == TCG_OK) {
            return true;
        }
        next = cpu->exc;
        if (next.vector == EXC_PF) {
            cpu->st.cr2 = next.cr2;     /* even if it becomes #DF */
        }
        if (cur.vector == EXC_DF) {
            break;      /* a fault while delivering #DF: shutdown */
        }
        if (makes_double_fault(cur.vector, next.vector)) {
            next = (struct tcg_exception){ .vector = EXC_DF, .has_error_code = true };
        }
        log_mask(LOG_INT, "tcg: exception %u while delivering %u\n", next.vector, cur.vector);
        cur = next;
        soft = 0;
        ext = 1;
    }
    cpu->exc = cur;
    return false;
}

/* ---- IRET in protected mode and IA-32e mode ---- */

/*
 * IRET at CPL 0 with VM set in the popped EFLAGS (SDM vol. 2, IRET,
 * RETURN-TO-VIRTUAL-8086-MODE): ESP, SS, ES, DS, FS and GS follow the
 * EFLAGS slot; EFLAGS is taken whole and the segments get vm86's fixed
 * attributes at CPL 3.
 */
static enum tcg_status iret_to_vm86(struct tcg_cpu *cpu, uint64_t sp, unsigned asz,
                                    uint64_t rip, uint16_t csel, uint64_t fl)
{
    static const unsigned segs[5] = { S_SS, S_ES, S_DS, S_FS, S_GS };
    uint32_t v[6] = { 0 };
    enum tcg_status st = TCG_OK;

    for (unsigned i = 0; i < 6 && st == TCG_OK; i++) {
        st = tcg_mem_read(cpu, S_SS, (sp + 12 + 4 * i) & mask_of(asz), &v[i], 4);
    }
    if (st != TCG_OK) {
        return st;
    }
    cpu->st.rflags = (fl & 0x3f7fd5ull) | RFLAGS_FIXED;
    real_mode_seg(cpu, S_CS, csel);
    for (unsigned i = 0; i < 5; i++) {
        real_mode_seg(cpu, segs[i], (uint16_t)v[i + 1]);
    }
    cpu->st.regs[R_ESP] = v[0];
    cpu->st.rip = rip & 0xffff;
    cpu->cpl = 3;
    cpu->dbg_rf_loaded = true;
    cpu->nmi_blocked = false;
    tcg_cpu_mode_changed(cpu);
    return TCG_JUMPED;
}

enum tcg_status tcg_iret(struct tcg_cpu *cpu, unsigned op_size)
{
    const bool lma = cpu->st.efer & EFER_LMA;
    const bool m64 = cpu->mode == MODE_LONG64;
    unsigned asz = m64 ? 8 : (cpu->st.seg[S_SS].db ? 4 : 2);
    uint64_t sp = cpu->st.regs[R_ESP] & mask_of(asz);
    uint64_t rip = 0, csel = 0, fl = 0, nsp = 0, nss_sel = 0, d, addr, mask;
    struct x86_segment ncs, nss = cpu->st.seg[S_SS];
    unsigned rpl, cpl = cpu->cpl;
    bool outer;
    enum tcg_status st;

    if (cpu->st.rflags & RFLAGS_NT) {
        uint16_t link = 0;

        /* A task return (7.3): to the task in the back link of this
         * TSS; there are no tasks in IA-32e mode. */
        if (lma) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        st = tss_rw(cpu, cpu->st.seg[S_TR].base, 0, &link, 2, false);
        if (st == TCG_OK) {
            st = task_switch(cpu, link, TS_IRET, cpu->next_rip);
        }
        if (st == TCG_OK) {
            cpu->nmi_blocked = false;
            return task_trap(cpu);
        }
        return st;
    }
    st = tcg_mem_read(cpu, S_SS, sp, &rip, op_size);
    if (st == TCG_OK) {
        st = tcg_mem_read(cpu, S_SS, (sp + op_size) & mask_of(asz), &csel, op_size);
    }
    if (st == TCG_OK) {
        st = tcg_mem_read(cpu, S_SS, (sp + 2 * op_size) & mask_of(asz), &fl, op_size);
    }
    if (st != TCG_OK) {
        return st;
    }
    if ((fl & RFLAGS_VM) && !lma && cpl == 0 && op_size == 4) {
        return iret_to_vm86(cpu, sp, asz, rip, (uint16_t)csel, fl);
    }
    rip &= mask_of(op_size);
    csel &= 0xffff;
    rpl = csel & 3;
    if ((csel & ~3u) == 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = read_desc(cpu, (uint16_t)csel, &d, &addr);
    if (st != TCG_OK) {
        return st;
    }
    if (!DESC_S(d) || !(DESC_TYPE(d) & TYPE_CODE) || rpl < cpl ||
        ((DESC_TYPE(d) & TYPE_CONFORMING) ? DESC_DPL(d) > rpl : DESC_DPL(d) != rpl)) {
        return tcg_raise_err(cpu, EXC_GP, SEL_ERR(csel));
    }
    if (!DESC_P(d)) {
        return tcg_raise_err(cpu, EXC_NP, SEL_ERR(csel));
    }
    desc_to_seg(&ncs, (uint16_t)csel, d);
    outer = rpl > cpl;
    /* 64-bit mode always pops SS:RSP; elsewhere only on a return outward. */
    if (outer || m64) {
        st = tcg_mem_read(cpu, S_SS, (sp + 3 * op_size) & mask_of(asz), &nsp, op_size);
        if (st == TCG_OK) {
            st = tcg_mem_read(cpu, S_SS, (sp + 4 * op_size) & mask_of(asz), &nss_sel, op_size);
        }
        if (st != TCG_OK) {
            return st;
        }
        nss_sel &= 0xffff;
        if ((nss_sel & ~3u) == 0) {
            /* A null SS only for 64-bit code at CPL < 3 (SDM vol. 2, IRET). */
            if (!lma || !ncs.l || rpl == 3 || (nss_sel & 3) != rpl) {
                return tcg_raise_err(cpu, EXC_GP, 0);
            }
            memset(&nss, 0, sizeof(nss));
            nss.selector = (uint16_t)nss_sel;
            nss.unusable = true;
            nss.dpl = rpl;
        } else {
            uint64_t sd, sa;

            st = read_desc(cpu, (uint16_t)nss_sel, &sd, &sa);
            if (st != TCG_OK) {
                return st;
            }
            if ((nss_sel & 3) != rpl || DESC_DPL(sd) != rpl || !DESC_S(sd) ||
                (DESC_TYPE(sd) & TYPE_CODE) || !(DESC_TYPE(sd) & TYPE_RW)) {
                return tcg_raise_err(cpu, EXC_GP, SEL_ERR(nss_sel));
            }
            if (!DESC_P(sd)) {
                return tcg_raise_err(cpu, EXC_SS, SEL_ERR(nss_sel));
            }
            st = set_accessed(cpu, sa, &sd);
            if (st != TCG_OK) {
                return st;
            }
            desc_to_seg(&nss, (uint16_t)nss_sel, sd);
        }
    }
    if (!((lma && ncs.l) ? tcg_canonical(rip) : rip <= ncs.limit)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = set_accessed(cpu, addr, &d);
    if (st != TCG_OK) {
        return st;
    }

    /* RFLAGS: IOPL only at CPL 0, IF only with CPL <= IOPL (SDM vol. 2, IRET). */
    mask = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF |
           RFLAGS_DF | RFLAGS_OF | RFLAGS_NT;
    if (op_size >= 4) {
        mask |= RFLAGS_RF | RFLAGS_AC | RFLAGS_ID;
        if (cpl == 0) {
            mask |= RFLAGS_VIF | RFLAGS_VIP;
        }
    }
    if (cpl == 0) {
        mask |= RFLAGS_IOPL;
    }
    if (cpl <= ((cpu->st.rflags & RFLAGS_IOPL) >> 12)) {
        mask |= RFLAGS_IF;
    }
    if (op_size == 2) {
        mask &= 0xffff;
    }
    cpu->st.rflags = (cpu->st.rflags & ~mask) | (fl & mask) | RFLAGS_FIXED;
    cpu->dbg_rf_loaded = true;
    cpu->nmi_blocked = false;

    cpu->st.seg[S_CS] = ncs;
    if (outer || m64) {
        cpu->st.seg[S_SS] = nss;
        if (m64 || (lma && ncs.l)) {
            cpu->st.regs[R_ESP] = nsp;
        } else {
            tcg_reg_write(cpu, R_ESP, nss.db ? 4 : 2, false, nsp);
        }
    } else {
        tcg_reg_write(cpu, R_ESP, asz, false, sp + 3ull * op_size);
    }
    cpu->st.rip = rip;
    cpu->cpl = rpl;
    if (outer) {
        null_inner_data_segs(cpu, rpl);
    }
    tcg_cpu_mode_changed(cpu);
    return TCG_JUMPED;
}
