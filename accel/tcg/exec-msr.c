/*
 * RDMSR and WRMSR on the software CPU: the model-specific registers a
 * Linux kernel and its firmware use (issue 6, item 3).  Split from
 * exec-system.c; the handlers are listed in exec-system.def.
 *
 * Threads: the vCPU's own thread.
 */
#include <string.h>

#include "accel/tcg/interrupts.h"
#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "system/log.h"

/*
 * The MSRs a Linux kernel and its firmware touch (issue 6, item 3), each
 * as SDM vol. 4 (Intel) or the APM / BKDG (AMD) define it; those that
 * belong to a feature exist only when the guest's CPUID offers it, as on
 * a processor without the feature.  Anything else is #GP(0).
 */
#define MSR_PLATFORM_ID 0x17
#define MSR_TSC_ADJUST 0x3b
#define MSR_SPEC_CTRL 0x48
#define MSR_PRED_CMD 0x49
#define MSR_UCODE_REV 0x8b
#define MSR_MTRRCAP 0xfe
#define MSR_ARCH_CAPABILITIES 0x10a
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MISC_ENABLE 0x1a0
#define MSR_MTRR_PHYS_FIRST 0x200
#define MSR_MTRR_PHYS_LAST 0x20f
#define MSR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_DEBUGCTL 0x1d9
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_AMD_PERF_CTL0 0xc0010000  /* PERF_CTL0-3, then PERF_CTR0-3 */
#define MSR_AMD_PERF_CTR3 0xc0010007
#define MSR_AMD_SYSCFG 0xc0010010
#define MSR_AMD_HWCR 0xc0010015
#define MSR_AMD_INT_PENDING_MSG 0xc0010055
#define MSR_AMD_DE_CFG 0xc0011029

#define PAT_RESET 0x0007040600070406ull
/* Fast strings on; branch trace and PEBS unavailable (SDM vol. 4, 2.1). */
#define MISC_ENABLE_RESET 0x1801ull
#define MISC_ENABLE_RO 0x1800ull
/* HWCR.TscFreqSel (bit 24): the TSC counts at the P0 rate (Linux warns
 * otherwise); read-only. */
#define HWCR_RESET (1ull << 24)
/* What ARCH_CAPABILITIES reports: an interpreter has no Meltdown, L1TF,
 * MDS, TAA or page-size-change machine checks (RDCL_NO, SKIP_L1DFL_VMENTRY,
 * MDS_NO, PSCHANGE_MC_NO, TAA_NO). */
#define ARCH_CAP_VALUE 0x169ull

/* EFER bits a guest may write: SCE, LME, NXE (LMA follows CR0.PG). */
#define EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

#define PHYS_ADDR_MASK ((1ull << TCG_PHYS_BITS) - 1)

/* The TSC as rdtsc reads it (exec-misc.c). */
static uint64_t guest_tsc(struct tcg_cpu *cpu)
{
    return tcg_guest_tsc(cpu);
}

static void set_guest_tsc(struct tcg_cpu *cpu, uint64_t v)
{
    tcg_set_guest_tsc(cpu, v);
}

/* The memory types a PAT entry or MTRR may hold: UC WC WT WP WB (UC-
 * only in the PAT). */
static bool mem_type_ok(unsigned t, bool pat)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

static bool bytes_are_types(uint64_t v, bool pat)
{
    for (unsigned i = 0; i < 8; i++) {
        if (!mem_type_ok((v >> (8 * i)) & 0xff, pat)) {
            return false;
        }
    }
    return true;
}

/* The fixed-range MTRRs in the order of msr_mtrr_fixed[], or -1. */
static int mtrr_fixed_index(uint32_t msr)
{
    if (msr == 0x250) {
        return 0;
    }
    if (msr == 0x258 || msr == 0x259) {
        return (int)msr - 0x258 + 1;
    }
    if (msr >= 0x268 && msr <= 0x26f) {
        return (int)msr - 0x268 + 3;
    }
    return -1;
}

static bool has_spec_ctrl(const struct tcg_cpu *cpu)
{
    return tcg_cpuid_has(cpu, 7, 3, 26) || tcg_cpuid_has(cpu, 7, 3, 27) ||
           tcg_cpuid_has(cpu, 7, 3, 31) || tcg_cpuid_has(cpu, 0x80000008, 1, 14) ||
           tcg_cpuid_has(cpu, 0x80000008, 1, 15) || tcg_cpuid_has(cpu, 0x80000008, 1, 24);
}

static bool has_tsc_aux(const struct tcg_cpu *cpu)
{
    return tcg_cpuid_has(cpu, 0x80000001, 3, 27) || tcg_cpuid_has(cpu, 7, 2, 22);
}

static enum tcg_status msr_unknown(struct tcg_cpu *cpu, const char *op, uint32_t msr)
{
    log_mask(LOG_UNIMP, "tcg: %s 0x%x: unknown MSR, #GP\n", op, msr);
    return tcg_raise_err(cpu, EXC_GP, 0);
}

/* The MSRs of AMD processors only; false when msr is none of them. */
static bool amd_msr_read(struct tcg_cpu *cpu, uint32_t msr, uint64_t *v)
{
    /* The legacy performance counters every AMD processor has (APM vol. 2,
     * 13.2.1) read as zero and take no writes, as under QEMU's TCG: Linux
     * then sees that nothing counts and runs without a PMU ("PMU not
     * available due to virtualization") instead of an NMI watchdog on a
     * counter that never moves.  INT_PENDING_MSG (Linux reads it for the
     * E400 erratum) is zero: no C1E. */
    if ((msr >= MSR_AMD_PERF_CTL0 && msr <= MSR_AMD_PERF_CTR3) ||
        msr == MSR_AMD_INT_PENDING_MSG) {
        *v = 0;
        return true;
    }
    switch (msr) {
    case MSR_AMD_HWCR: *v = cpu->msr_amd_hwcr_x ^ HWCR_RESET; return true;
    case MSR_AMD_SYSCFG: *v = cpu->msr_amd_syscfg; return true;
    case MSR_AMD_DE_CFG: *v = cpu->msr_amd_de_cfg; return true;
    default: return false;
    }
}

static enum tcg_status msr_read(struct tcg_cpu *cpu, uint32_t msr, uint64_t *v)
{
    int fixed = mtrr_fixed_index(msr);

    if (msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) {
        *v = cpu->msr_mtrr_var[msr - MSR_MTRR_PHYS_FIRST];
        return TCG_OK;
    }
    if (fixed >= 0) {
        *v = cpu->msr_mtrr_fixed[fixed];
        return TCG_OK;
    }
    if ((msr >> 16) == 0xc001 && tcg_guest_is_amd(cpu) && amd_msr_read(cpu, msr, v)) {
        return TCG_OK;
    }
    switch (msr) {
    case MSR_EFER: *v = cpu->st.efer; break;
    case MSR_STAR: *v = cpu->msr_star; break;
    case MSR_LSTAR: *v = cpu->msr_lstar; break;
    case MSR_CSTAR: *v = cpu->msr_cstar; break;
    case MSR_FMASK: *v = cpu->msr_fmask; break;
    case MSR_FS_BASE: *v = cpu->st.seg[S_FS].base; break;
    case MSR_GS_BASE: *v = cpu->st.seg[S_GS].base; break;
    case MSR_KERNEL_GS_BASE: *v = cpu->msr_kernel_gs_base; break;
    case MSR_IA32_TSC: *v = guest_tsc(cpu); break;
    case MSR_IA32_APICBASE: *v = cpu->st.apic_base; break;
    case MSR_SYSENTER_CS: *v = cpu->msr_sysenter_cs; break;
    case MSR_SYSENTER_ESP: *v = cpu->msr_sysenter_esp; break;
    case MSR_SYSENTER_EIP: *v = cpu->msr_sysenter_eip; break;
    case MSR_PAT: *v = cpu->msr_pat_x ^ PAT_RESET; break;
    /* VCNT 8 variable ranges, fixed ranges and write-combining (bits 8, 10). */
    case MSR_MTRRCAP: *v = 0x508; break;
    case MSR_MTRR_DEF_TYPE: *v = cpu->msr_mtrr_def_type; break;
    case MSR_MISC_ENABLE: *v = cpu->msr_misc_enable_x ^ MISC_ENABLE_RESET; break;
    case MSR_MCG_CAP: *v = 0; break;      /* no banks, no MCG_CTL */
    case MSR_MCG_STATUS: *v = cpu->msr_mcg_status; break;
    case MSR_DEBUGCTL: *v = cpu->msr_debugctl; break;
    /* Microcode revision 1 in bits 63:32 (Intel) or patch level 0 (AMD). */
    case MSR_UCODE_REV: *v = tcg_guest_is_amd(cpu) ? 0 : 1ull << 32; break;
    case MSR_PLATFORM_ID:
        if (tcg_guest_is_amd(cpu)) {
            return msr_unknown(cpu, "rdmsr", msr);
        }
        *v = 0;
        break;
    case MSR_TSC_AUX:
        if (!has_tsc_aux(cpu)) {
            return msr_unknown(cpu, "rdmsr", msr);
        }
        *v = cpu->msr_tsc_aux;
        break;
    case MSR_TSC_ADJUST:
        if (!tcg_cpuid_has(cpu, 7, 1, 1)) {
            return msr_unknown(cpu, "rdmsr", msr);
        }
        *v = cpu->msr_tsc_adjust;
        break;
    case MSR_SPEC_CTRL:
        if (!has_spec_ctrl(cpu)) {
            return msr_unknown(cpu, "rdmsr", msr);
        }
        *v = cpu->msr_spec_ctrl;
        break;
    case MSR_ARCH_CAPABILITIES:
        if (!tcg_cpuid_has(cpu, 7, 3, 29)) {
            return msr_unknown(cpu, "rdmsr", msr);
        }
        *v = ARCH_CAP_VALUE;
        break;
    case MSR_TSC_DEADLINE:
        /* Present with CPUID.01H:ECX.TSC_Deadline[24] (SDM vol. 3, 11.5.4.1). */
        if (!tcg_cpuid_has(cpu, 1, 2, 24)) {
            return msr_unknown(cpu, "rdmsr", msr);
        }
        *v = tcg_apic_get_tsc_deadline(cpu);
        break;
    default:
        /* PRED_CMD is write-only. */
        return msr_unknown(cpu, "rdmsr", msr);
    }
    return TCG_OK;
}

static enum tcg_status write_efer(struct tcg_cpu *cpu, uint64_t v)
{
    uint64_t old = cpu->st.efer;

    if ((v & ~(EFER_WRITABLE | EFER_LMA)) ||
        ((v & EFER_NXE) && !tcg_cpuid_has(cpu, 0x80000001, 3, 20)) ||
        ((v & EFER_LME) && !tcg_cpuid_has(cpu, 0x80000001, 3, 29))) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    /* LME may not change while paging is on (SDM vol. 3, 10.8.5). */
    if ((cpu->st.cr0 & CR0_PG) && ((v ^ old) & EFER_LME)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->st.efer = (v & EFER_WRITABLE) | (old & EFER_LMA);
    if ((old ^ cpu->st.efer) & EFER_NXE) {
        tcg_tlb_flush(cpu);
    }
    tcg_cpu_mode_changed(cpu);
    return TCG_OK;
}

/* The MTRRs (SDM vol. 3, 12.11.2): valid memory types, no reserved bits. */
static enum tcg_status write_mtrr(struct tcg_cpu *cpu, uint32_t msr, uint64_t v)
{
    int fixed = mtrr_fixed_index(msr);

    if (fixed >= 0) {
        if (!bytes_are_types(v, false)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->msr_mtrr_fixed[fixed] = v;
        return TCG_OK;
    }
    if (msr == MSR_MTRR_DEF_TYPE) {
        if ((v & ~0xcffull) || !mem_type_ok(v & 0xff, false)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->msr_mtrr_def_type = v;
        return TCG_OK;
    }
    if (msr & 1) {          /* PHYSMASKn: V in bit 11, the mask above */
        if (v & ~((PHYS_ADDR_MASK & ~0xfffull) | 0x800)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
    } else if ((v & ~((PHYS_ADDR_MASK & ~0xfffull) | 0xff)) || !mem_type_ok(v & 0xff, false)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->msr_mtrr_var[msr - MSR_MTRR_PHYS_FIRST] = v;
    return TCG_OK;
}

static bool amd_msr_write(struct tcg_cpu *cpu, uint32_t msr, uint64_t v, enum tcg_status *st)
{
    *st = TCG_OK;
    if ((msr >= MSR_AMD_PERF_CTL0 && msr <= MSR_AMD_PERF_CTR3) ||
        msr == MSR_AMD_INT_PENDING_MSG) {
        return true;        /* dropped: see amd_msr_read() */
    }
    switch (msr) {
    case MSR_AMD_HWCR:
        cpu->msr_amd_hwcr_x = v & ~HWCR_RESET;   /* bit 24 stays set */
        return true;
    case MSR_AMD_SYSCFG:
        /* The MTRR-related bits 22:18; memory encryption is not offered. */
        if (v & ~(0x1full << 18)) {
            *st = tcg_raise_err(cpu, EXC_GP, 0);
        } else {
            cpu->msr_amd_syscfg = v;
        }
        return true;
    case MSR_AMD_DE_CFG:
        cpu->msr_amd_de_cfg = v;
        return true;
    default:
        return false;
    }
}

/* The base MSRs of SYSCALL, SWAPGS and the FS/GS segments must be canonical. */
static enum tcg_status write_canonical(struct tcg_cpu *cpu, uint64_t *dst, uint64_t v)
{
    if (!tcg_canonical(v)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    *dst = v;
    return TCG_OK;
}

static enum tcg_status msr_write(struct tcg_cpu *cpu, uint32_t msr, uint64_t v)
{
    enum tcg_status st;

    if ((msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) ||
        msr == MSR_MTRR_DEF_TYPE || mtrr_fixed_index(msr) >= 0) {
        return write_mtrr(cpu, msr, v);
    }
    if ((msr >> 16) == 0xc001 && tcg_guest_is_amd(cpu) && amd_msr_write(cpu, msr, v, &st)) {
        return st;
    }
    switch (msr) {
    case MSR_EFER: return write_efer(cpu, v);
    case MSR_STAR: cpu->msr_star = v; return TCG_OK;
    case MSR_LSTAR: return write_canonical(cpu, &cpu->msr_lstar, v);
    case MSR_CSTAR: return write_canonical(cpu, &cpu->msr_cstar, v);
    case MSR_FS_BASE: return write_canonical(cpu, &cpu->st.seg[S_FS].base, v);
    case MSR_GS_BASE: return write_canonical(cpu, &cpu->st.seg[S_GS].base, v);
    case MSR_KERNEL_GS_BASE: return write_canonical(cpu, &cpu->msr_kernel_gs_base, v);
    case MSR_FMASK: cpu->msr_fmask = v & 0xffffffffull; return TCG_OK;
    case MSR_IA32_TSC: {
        /* A TSC write moves TSC_ADJUST by as much (SDM vol. 3, 18.17.3). */
        uint64_t old = guest_tsc(cpu);

        set_guest_tsc(cpu, v);
        cpu->msr_tsc_adjust += v - old;
        return TCG_OK;
    }
    case MSR_IA32_APICBASE:
        /* Bits 7:0, 9 and 10 (x2APIC is not offered) and those above the
         * physical width are reserved; the BSP bit is read-only. */
        if (v & ~(PHYS_ADDR_MASK & ~0x6ffull)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        v = (v & ~MSR_IA32_APICBASE_BSP) | (cpu->st.apic_base & MSR_IA32_APICBASE_BSP);
        if (v != cpu->st.apic_base) {
            /* The APIC page moves or goes: no TLB entry may keep it. */
            cpu->st.apic_base = v;
            tcg_apic_set_base(cpu, v);
            tcg_tlb_flush(cpu);
        }
        return TCG_OK;
    case MSR_TSC_DEADLINE:
        if (!tcg_cpuid_has(cpu, 1, 2, 24)) {
            return msr_unknown(cpu, "wrmsr", msr);
        }
        tcg_apic_set_tsc_deadline(cpu, v);
        return TCG_OK;
    case MSR_SYSENTER_CS: cpu->msr_sysenter_cs = v & 0xffff; return TCG_OK;
    case MSR_SYSENTER_ESP: return write_canonical(cpu, &cpu->msr_sysenter_esp, v);
    case MSR_SYSENTER_EIP: return write_canonical(cpu, &cpu->msr_sysenter_eip, v);
    case MSR_PAT:
        if (!bytes_are_types(v, true)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->msr_pat_x = v ^ PAT_RESET;
        return TCG_OK;
    case MSR_MISC_ENABLE:
        cpu->msr_misc_enable_x = (v | MISC_ENABLE_RO) ^ MISC_ENABLE_RESET;
        return TCG_OK;
    case MSR_MCG_STATUS:
        /* RIPV, EIPV, MCIP; the others are reserved. */
        if (v & ~7ull) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->msr_mcg_status = v;
        return TCG_OK;
    case MSR_UCODE_REV:
        return TCG_OK;      /* Linux writes 0 before CPUID to read it back */
    case MSR_DEBUGCTL:
        /* LBR (kept, no branch records are taken) and BTF, single step on
         * branches (tcg_debug_after); the rest is not offered. */
        if (v & ~3ull) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->msr_debugctl = v;
        return TCG_OK;
    case MSR_TSC_AUX:
        if (!has_tsc_aux(cpu) || (v >> 32)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->msr_tsc_aux = v;
        return TCG_OK;
    case MSR_TSC_ADJUST:
        if (!tcg_cpuid_has(cpu, 7, 1, 1)) {
            return msr_unknown(cpu, "wrmsr", msr);
        }
        /* The TSC moves with the adjustment (18.17.3). */
        set_guest_tsc(cpu, guest_tsc(cpu) + (v - cpu->msr_tsc_adjust));
        cpu->msr_tsc_adjust = v;
        return TCG_OK;
    case MSR_SPEC_CTRL:
        /* IBRS, STIBP, SSBD: accepted and kept; nothing speculates here. */
        if (!has_spec_ctrl(cpu)) {
            return msr_unknown(cpu, "wrmsr", msr);
        }
        if (v & ~7ull) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        cpu->msr_spec_ctrl = v;
        return TCG_OK;
    case MSR_PRED_CMD:
        /* IBPB: a barrier with nothing to flush. */
        if (!tcg_cpuid_has(cpu, 7, 3, 26) && !tcg_cpuid_has(cpu, 0x80000008, 1, 12)) {
            return msr_unknown(cpu, "wrmsr", msr);
        }
        return (v & ~1ull) ? tcg_raise_err(cpu, EXC_GP, 0) : TCG_OK;
    default:
        /* MTRRcap, MCG_CAP, ARCH_CAPABILITIES and UCODE_REV's kin are
         * read-only: #GP like an unknown MSR. */
        log_mask(LOG_UNIMP, "tcg: wrmsr 0x%x value 0x%llx: unknown or read-only MSR, #GP\n",
                 msr, (unsigned long long)v);
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
}

void tcg_msr_reset(struct tcg_cpu *cpu)
{
    cpu->msr_star = cpu->msr_lstar = cpu->msr_cstar = cpu->msr_fmask = 0;
    cpu->msr_kernel_gs_base = cpu->msr_tsc_aux = 0;
    cpu->msr_sysenter_cs = cpu->msr_sysenter_esp = cpu->msr_sysenter_eip = 0;
    /* Zero is the reset state of each (the *_x fields hold MSR ^ reset). */
    cpu->msr_pat_x = cpu->msr_mtrr_def_type = cpu->msr_misc_enable_x = 0;
    memset(cpu->msr_mtrr_var, 0, sizeof(cpu->msr_mtrr_var));
    memset(cpu->msr_mtrr_fixed, 0, sizeof(cpu->msr_mtrr_fixed));
    cpu->msr_spec_ctrl = cpu->msr_mcg_status = cpu->msr_tsc_adjust = 0;
    cpu->msr_amd_hwcr_x = cpu->msr_amd_syscfg = cpu->msr_amd_de_cfg = 0;
    cpu->msr_debugctl = 0;
    cpu->dbg_data_hits = 0;
    cpu->dbg_rf_loaded = false;
}

enum tcg_status exec_rdmsr(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = tcg_need_cpl0(cpu);
    uint64_t v = 0;

    if (st == TCG_OK) {
        st = msr_read(cpu, (uint32_t)cpu->st.regs[R_ECX], &v);
    }
    if (st == TCG_OK) {
        cpu->st.regs[R_EAX] = v & 0xffffffffull;
        cpu->st.regs[R_EDX] = v >> 32;
    }
    return st;
}

enum tcg_status exec_wrmsr(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = tcg_need_cpl0(cpu);

    if (st != TCG_OK) {
        return st;
    }
    return msr_write(cpu, (uint32_t)cpu->st.regs[R_ECX],
                     (cpu->st.regs[R_EAX] & 0xffffffffull) | (cpu->st.regs[R_EDX] << 32));
}
