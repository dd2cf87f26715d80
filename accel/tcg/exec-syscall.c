/*
 * Fast system calls and the small system instructions of the software CPU
 * (issue 6, item 3): SYSCALL/SYSRET, SYSENTER/SYSEXIT, RDPMC, RDPID,
 * MONITOR/MWAIT, RSM and INVPCID; the lookup of CPUID feature bits the
 * guest was offered (tcg_cpuid_has); and the debug-register machinery of
 * SDM vol. 3, chapter 18: instruction, data and I/O breakpoints, single
 * step (with DEBUGCTL.BTF), as hooks the dispatch loop calls around an
 * instruction (tcg-cpu.h says when).  MOV DR, DR7.GD and the RF image of
 * faults are exec-system.c's.
 *
 * Where Intel and AMD differ (SYSCALL outside 64-bit mode, SYSENTER in
 * long mode, SYSRET with a non-canonical RCX) the vendor the guest's CPUID
 * names decides, as on the processor it imitates.
 *
 * Threads: runs on the vCPU thread that owns the struct tcg_cpu.
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "arch/x86/cpu-models.h"
#include "system/log.h"

/* ---- CPUID lookups ---- */

/*
 * Leaf (subleaf 0) of the CPUID the guest sees.  Without a table (unit
 * tests) the supported set stands in for it, as exec_cpuid() does.
 */
static bool cpuid_leaf(const struct tcg_cpu *cpu, uint32_t leaf, uint32_t r[4])
{
    struct x86_cpuid_entry local[32];
    const struct x86_cpuid_entry *t = cpu->cpuid;
    unsigned n = cpu->ncpuid;

    if (!t) {
        n = tcg_cpuid_supported(local, G_N_ELEMENTS(local));
        t = local;
    }
    for (unsigned i = 0; i < n; i++) {
        if (t[i].function == leaf && (!t[i].has_index || t[i].index == 0)) {
            r[0] = t[i].eax;
            r[1] = t[i].ebx;
            r[2] = t[i].ecx;
            r[3] = t[i].edx;
            return true;
        }
    }
    return false;
}

bool tcg_cpuid_has(const struct tcg_cpu *cpu, uint32_t leaf, unsigned reg, unsigned bit)
{
    uint32_t r[4] = { 0, 0, 0, 0 };

    if (reg > 3 || bit > 31 || !cpuid_leaf(cpu, leaf, r)) {
        return false;
    }
    return (r[reg] >> bit) & 1;
}

bool tcg_guest_is_amd(const struct tcg_cpu *cpu)
{
    uint32_t r[4] = { 0, 0, 0, 0 };

    /* "AuthenticAMD" in ebx, edx, ecx; Hygon's parts follow AMD too. */
    if (!cpuid_leaf(cpu, 0, r)) {
        return false;
    }
    return (r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163) ||
           (r[1] == 0x6f677948 && r[3] == 0x6e65476e && r[2] == 0x656e6975);
}

/* ---- flat segments of the fast system calls ---- */

/* A flat code (code true) or data segment at dpl, as SYSCALL, SYSRET,
 * SYSENTER and SYSEXIT load them without reading the GDT (SDM vol. 2). */
static void flat_seg(struct x86_segment *s, uint16_t sel, bool code, unsigned dpl, bool l)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->type = code ? 0xb : 0x3;     /* execute/read, accessed; read/write, accessed */
    s->s = true;
    s->present = true;
    s->dpl = dpl;
    s->dpl_valid = true;
    s->g = true;
    s->l = code && l;
    s->db = !s->l;
}

static enum tcg_status enter_flat(struct tcg_cpu *cpu, uint16_t cs, uint16_t ss, bool l,
                                  unsigned cpl, uint64_t rip)
{
    flat_seg(&cpu->st.seg[S_CS], cs, true, cpl, l);
    flat_seg(&cpu->st.seg[S_SS], ss, false, cpl, false);
    cpu->st.rip = rip;
    cpu->cpl = cpl;
    tcg_cpu_mode_changed(cpu);
    cpu->cpl = cpl;
    return TCG_JUMPED;
}

/*
 * SYSCALL (SDM vol. 2B; APM vol. 3): in IA-32e mode RCX takes the return
 * rip and R11 RFLAGS, RFLAGS loses the SFMASK bits and RF, and the target is
 * 64-bit code at LSTAR (CSTAR from compatibility mode, AMD only).  AMD
 * also has the legacy-mode form: ECX takes the return eip, IF, VM and RF
 * are cleared and STAR[31:0] is the target.
 */
enum tcg_status exec_syscall(struct tcg_cpu *cpu, const struct insn *in)
{
    uint16_t cs = (uint16_t)(cpu->msr_star >> 32) & 0xfffc;
    bool amd = tcg_guest_is_amd(cpu);

    (void)in;
    if (!(cpu->st.efer & EFER_SCE) || (!amd && cpu->mode != MODE_LONG64)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->st.efer & EFER_LMA) {
        uint64_t target = cpu->mode == MODE_LONG64 ? cpu->msr_lstar : cpu->msr_cstar;

        cpu->st.regs[R_ECX] = cpu->next_rip;
        cpu->st.regs[R_R11] = cpu->st.rflags & ~RFLAGS_RF;
        cpu->st.rflags &= ~(cpu->msr_fmask | RFLAGS_RF);
        cpu->st.rflags |= RFLAGS_FIXED;
        return enter_flat(cpu, cs, cs + 8, true, 0, target);
    }
    tcg_reg_write(cpu, R_ECX, 4, false, cpu->next_rip);
    cpu->st.rflags &= ~(RFLAGS_IF | RFLAGS_VM | RFLAGS_RF);
    return enter_flat(cpu, cs, cs + 8, false, 0, cpu->msr_star & 0xffffffffull);
}

/*
 * SYSRET: back to CPL 3, 64-bit code with REX.W (CS = STAR[63:48] + 16),
 * 32-bit code without (CS = STAR[63:48]); SS = STAR[63:48] + 8 either way.
 * Intel raises #GP(0) at CPL 0 for a non-canonical RCX; AMD loads it and
 * the fetch at CPL 3 faults.
 */
enum tcg_status exec_sysret(struct tcg_cpu *cpu, const struct insn *in)
{
    uint16_t base = (uint16_t)(cpu->msr_star >> 48);
    bool amd = tcg_guest_is_amd(cpu);
    bool to64 = in->op_size == 8;

    if (!(cpu->st.efer & EFER_SCE) || (!amd && cpu->mode != MODE_LONG64)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (!(cpu->st.cr0 & CR0_PE) || (cpu->st.rflags & RFLAGS_VM) || cpu->cpl != 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (cpu->st.efer & EFER_LMA) {
        uint64_t rip = to64 ? cpu->st.regs[R_ECX] : (uint32_t)cpu->st.regs[R_ECX];

        if (to64 && !amd && !tcg_canonical(rip)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->st.rflags = (cpu->st.regs[R_R11] & 0x3c7fd7ull) | RFLAGS_FIXED;
        return enter_flat(cpu, (uint16_t)((to64 ? base + 16 : base) | 3),
                          (uint16_t)((base + 8) | 3), to64, 3, rip);
    }
    cpu->st.rflags |= RFLAGS_IF;
    return enter_flat(cpu, base | 3, (uint16_t)((base + 8) | 3), false, 3,
                      (uint32_t)cpu->st.regs[R_ECX]);
}

/*
 * SYSENTER (SDM vol. 2B): to CPL 0 at SYSENTER_CS:SYSENTER_EIP with
 * SYSENTER_ESP; 64-bit code in IA-32e mode.  AMD has it in legacy mode
 * only (#UD in long mode).
 */
enum tcg_status exec_sysenter(struct tcg_cpu *cpu, const struct insn *in)
{
    const bool lma = cpu->st.efer & EFER_LMA;
    uint16_t cs = (uint16_t)cpu->msr_sysenter_cs & 0xfffc;

    (void)in;
    if (lma && tcg_guest_is_amd(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (!(cpu->st.cr0 & CR0_PE) || cs == 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->st.rflags &= ~(RFLAGS_VM | RFLAGS_IF | RFLAGS_RF);
    if (lma) {
        cpu->st.regs[R_ESP] = cpu->msr_sysenter_esp;
    } else {
        tcg_reg_write(cpu, R_ESP, 4, false, cpu->msr_sysenter_esp);
    }
    return enter_flat(cpu, cs, cs + 8, lma, 0,
                      lma ? cpu->msr_sysenter_eip : (uint32_t)cpu->msr_sysenter_eip);
}

/*
 * SYSEXIT: to CPL 3 at (E/R)DX with (E/R)CX as the stack; CS is
 * SYSENTER_CS + 16 (32-bit code) or + 32 with REX.W (64-bit code), SS 8
 * above it.
 */
enum tcg_status exec_sysexit(struct tcg_cpu *cpu, const struct insn *in)
{
    const bool lma = cpu->st.efer & EFER_LMA;
    uint16_t base = (uint16_t)cpu->msr_sysenter_cs & 0xfffc;
    bool to64 = in->op_size == 8;

    if (lma && tcg_guest_is_amd(cpu)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (!(cpu->st.cr0 & CR0_PE) || (cpu->st.rflags & RFLAGS_VM) || cpu->cpl != 0 ||
        base == 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (to64) {
        if (!tcg_canonical(cpu->st.regs[R_EDX]) || !tcg_canonical(cpu->st.regs[R_ECX])) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->st.regs[R_ESP] = cpu->st.regs[R_ECX];
        return enter_flat(cpu, (uint16_t)((base + 32) | 3), (uint16_t)((base + 40) | 3), true,
                          3, cpu->st.regs[R_EDX]);
    }
    tcg_reg_write(cpu, R_ESP, 4, false, cpu->st.regs[R_ECX]);
    return enter_flat(cpu, (uint16_t)((base + 16) | 3), (uint16_t)((base + 24) | 3), false, 3,
                      (uint32_t)cpu->st.regs[R_EDX]);
}

/* ---- small system instructions ---- */

/*
 * RDPMC (SDM vol. 2B): #GP(0) outside ring 0 without CR4.PCE, and #GP(0)
 * for a counter the processor lacks; the software CPU has none (CPUID
 * leaf 0AH is zero), so every counter is one it lacks.
 */
enum tcg_status exec_rdpmc(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (cpu->cpl != 0 && !(cpu->st.cr4 & CR4_PCE)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    log_mask(LOG_GUEST_ERROR, "tcg: rdpmc of counter 0x%x: no performance counters, #GP\n",
             (uint32_t)cpu->st.regs[R_ECX]);
    return tcg_raise_err(cpu, EXC_GP, 0);
}

/* RDPID (CPUID.7.0:ECX bit 22): IA32_TSC_AUX into a 64-bit register in
 * 64-bit mode, a 32-bit one elsewhere. */
enum tcg_status exec_rdpid(struct tcg_cpu *cpu, const struct insn *in)
{
    if (!tcg_cpuid_has(cpu, 7, 2, 22) || in->ops[0].kind != OPK_REG) {
        return tcg_raise(cpu, EXC_UD);
    }
    tcg_reg_write(cpu, in->ops[0].reg, cpu->mode == MODE_LONG64 ? 8 : 4, false,
                  cpu->msr_tsc_aux & 0xffffffffull);
    return TCG_OK;
}

/*
 * MONITOR/MWAIT (CPUID.1:ECX bit 3): #UD when not offered and outside
 * ring 0.  MONITOR checks DS:rAX as a byte read would and ECX (no
 * extensions: 0); MWAIT accepts ECX bit 0 (interrupts break the wait) and
 * returns at once, which the SDM allows ("may be a NOP").
 */
enum tcg_status exec_monitor(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned seg = (in->prefixes & PFX_SEG) ? in->mem.seg : S_DS;
    uint64_t lin;

    if (!tcg_cpuid_has(cpu, 1, 2, 3) || cpu->cpl != 0) {
        return tcg_raise(cpu, EXC_UD);
    }
    if ((uint32_t)cpu->st.regs[R_ECX] != 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return tcg_linear(cpu, seg % S_LDTR, cpu->st.regs[R_EAX] & tcg_size_mask(in->addr_size), 1,
                      ACC_READ, &lin);
}

enum tcg_status exec_mwait(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (!tcg_cpuid_has(cpu, 1, 2, 3) || cpu->cpl != 0) {
        return tcg_raise(cpu, EXC_UD);
    }
    if ((uint32_t)cpu->st.regs[R_ECX] & ~1u) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return TCG_OK;
}

/* RSM: the software CPU never enters SMM, so it is always #UD. */
enum tcg_status exec_rsm(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    return tcg_raise(cpu, EXC_UD);
}

/*
 * INVPCID r, m128 (CPUID.7.0:EBX bit 10): the type in the register, the
 * descriptor {PCID in bits 11:0, zeros to 63, linear address} in memory.
 * Types 0-3 each invalidate a subset of the TLB; flushing all of it is
 * what the SDM allows of any of them (4.10.4.1).
 */
enum tcg_status exec_invpcid(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t desc[2] = { 0, 0 }, type;
    const struct operand *reg = NULL;
    enum tcg_status st;
    bool pcide = cpu->st.cr4 & CR4_PCIDE;

    for (unsigned i = 0; i < in->nops && i < 4; i++) {
        if (in->ops[i].kind == OPK_REG) {
            reg = &in->ops[i];
        }
    }
    if (!tcg_cpuid_has(cpu, 7, 1, 10) || !reg || !in->has_mem ||
        (cpu->st.rflags & RFLAGS_VM)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->cpl != 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), desc, 16);
    if (st != TCG_OK) {
        return st;
    }
    type = tcg_reg_read(cpu, reg->reg, cpu->mode == MODE_LONG64 ? 8 : 4, false);
    if (type > 3 || (desc[0] >> 12) != 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (type <= 1 && !pcide && (desc[0] & 0xfff) != 0) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (type == 0 && !tcg_canonical(desc[1])) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    tcg_tlb_flush(cpu);
    return TCG_OK;
}

/* ---- debug registers (SDM vol. 3, 18.2 and 18.3) ---- */

#define DR6_BS (1ull << 14)
#define DR7_ENABLES 0xffull

/* R/W (0: execute, 1: write, 2: I/O, 3: read/write) and length of bp i. */
static inline unsigned dr7_rw(uint64_t dr7, unsigned i)
{
    return (unsigned)(dr7 >> (16 + 4 * i)) & 3;
}

static inline uint64_t dr7_len(uint64_t dr7, unsigned i)
{
    static const uint8_t len[4] = { 1, 2, 8, 4 };

    return len[(dr7 >> (18 + 4 * i)) & 3];
}

static inline bool dr7_on(uint64_t dr7, unsigned i)
{
    return (dr7 >> (2 * i)) & 3;
}

/* Records data breakpoints an access of [lin, lin + size) hits (18.2.5:
 * the breakpoint's range is its address aligned down to its length). */
void tcg_debug_check_data(struct tcg_cpu *cpu, uint64_t lin, unsigned size, bool write)
{
    const uint64_t dr7 = cpu->st.dr[7];

    for (unsigned i = 0; i < 4; i++) {
        unsigned rw = dr7_rw(dr7, i);
        uint64_t len, a;

        if (!dr7_on(dr7, i) || rw == 0 || rw == 2 || (rw == 1 && !write)) {
            continue;
        }
        len = dr7_len(dr7, i);
        a = cpu->st.dr[i] & ~(len - 1);
        if (lin < a + len && a < lin + size) {
            cpu->dbg_data_hits |= 1u << i;
        }
    }
}

/* A #DB the debug registers raise; the handler it enters may use them,
 * so DR7.GD goes (18.2.4). */
/* I/O breakpoints (18.2.4, R/W = 10b, only with CR4.DE): the port range
 * of bp i is its DR aligned down to its length, as for data. */
void tcg_debug_check_io(struct tcg_cpu *cpu, uint16_t port, unsigned size)
{
    const uint64_t dr7 = cpu->st.dr[7];

    if (!(cpu->st.cr4 & CR4_DE)) {
        return;
    }
    for (unsigned i = 0; i < 4; i++) {
        uint64_t len, a;

        if (!dr7_on(dr7, i) || dr7_rw(dr7, i) != 2) {
            continue;
        }
        len = dr7_len(dr7, i);
        a = (cpu->st.dr[i] & 0xffff) & ~(len - 1);
        if (port < a + len && a < (uint64_t)port + size) {
            cpu->dbg_data_hits |= 1u << i;
        }
    }
}

static enum tcg_status raise_db(struct tcg_cpu *cpu)
{
    enum tcg_status st = tcg_raise(cpu, EXC_DB);

    cpu->st.dr[7] &= ~(1ull << 13);

    cpu->exc.soft = 0;
    return st;
}

/*
 * Instruction breakpoints (18.3.1.1) are faults taken before the
 * instruction at CS:rIP runs, unless RFLAGS.RF is set.
 */
enum tcg_status tcg_debug_before(struct tcg_cpu *cpu)
{
    const uint64_t dr7 = cpu->st.dr[7];
    uint64_t lin = cpu->st.seg[S_CS].base + cpu->st.rip;
    unsigned hits = 0;

    cpu->dbg_data_hits = 0;
    if (!(dr7 & DR7_ENABLES) || (cpu->st.rflags & RFLAGS_RF)) {
        return TCG_OK;
    }
    if (cpu->mode == MODE_LONG64) {
        lin = cpu->st.rip;
    } else {
        lin &= 0xffffffffull;
    }
    for (unsigned i = 0; i < 4; i++) {
        if (dr7_on(dr7, i) && dr7_rw(dr7, i) == 0 && cpu->st.dr[i] == lin) {
            hits |= 1u << i;
        }
    }
    if (!hits) {
        return TCG_OK;
    }
    cpu->st.dr[6] = (cpu->st.dr[6] & ~0xfull) | hits;
    return raise_db(cpu);
}

/*
 * After an instruction completed: the data breakpoints it hit and the
 * single-step trap of an instruction that began with TF set (18.3.1.2,
 * 18.3.1.4) are one #DB trap with DR6 naming them.  RF, which only spares
 * one instruction from its breakpoint, is cleared once an instruction
 * completes, unless that instruction (IRET) loaded it.  cpu->next_rip
 * must still be the fall-through rIP of the instruction (for BTF).
 */
enum tcg_status tcg_debug_after(struct tcg_cpu *cpu, uint64_t old_rflags)
{
    unsigned hits = cpu->dbg_data_hits;
    bool step = old_rflags & RFLAGS_TF;

    /* DEBUGCTL.BTF: single step on branches only (18.4.4), that is on an
     * instruction that did not fall through to the next one. */
    if (step && (cpu->msr_debugctl & 2) && cpu->st.rip == cpu->next_rip) {
        step = false;
    }

    cpu->dbg_data_hits = 0;
    if ((old_rflags & RFLAGS_RF) && !cpu->dbg_rf_loaded) {
        cpu->st.rflags &= ~RFLAGS_RF;
    }
    cpu->dbg_rf_loaded = false;
    if (!hits && !step) {
        return TCG_OK;
    }
    if (hits) {
        cpu->st.dr[6] = (cpu->st.dr[6] & ~0xfull) | hits;
    }
    if (step) {
        cpu->st.dr[6] |= DR6_BS;
    }
    return raise_db(cpu);
}
