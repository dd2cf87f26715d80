/*
 * RDMSR/WRMSR (SDM vol. 4 for the numbers): EFER, PAT (and #GP for a
 * reserved memory type), MTRRs, FS/GS base and KERNEL_GS_BASE with SWAPGS
 * (64-bit), APIC_BASE, the TSC (it counts up, WRMSR sets it), and #GP(0)
 * for an MSR that does not exist.  Built as msr32 and msr64.
 */
#include "x86.h"

#define MSR_TSC 0x10u
#define MSR_APIC_BASE 0x1bu
#define MSR_MTRRCAP 0xfeu
#define MSR_MTRR_PHYSBASE0 0x200u
#define MSR_MTRR_PHYSMASK0 0x201u
#define MSR_MTRR_DEF_TYPE 0x2ffu
#define MSR_PAT 0x277u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u

static int efer_lm(void)
{
    return cpuid(0x80000000, 0).a >= 0x80000001 && ((cpuid(0x80000001, 0).d >> 29) & 1);
}

static void test_efer(void)
{
    uint64_t efer = rdmsr(MSR_EFER);

#ifdef __x86_64__
    report((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "EFER %llx has LME and LMA",
           (unsigned long long)efer);
    /* LMA is read-only: writing it clear changes nothing while paging is on. */
    report(wrmsr_safe(MSR_EFER, efer & ~(uint64_t)EFER_LMA) == 0 &&
           (rdmsr(MSR_EFER) & EFER_LMA), "EFER.LMA stays set");
    /* LME may not change while paging is on (vol. 3, "IA32_EFER"; 10.8.5). */
    if (!qemu_differs("EFER.LME write with paging on")) {
        int r = wrmsr_safe(MSR_EFER, efer & ~(uint64_t)EFER_LME);

        report(r == 13 && exc.error == 0 && (rdmsr(MSR_EFER) & EFER_LME),
               "clearing EFER.LME with paging on: #GP(0) (%d)", r);
    }
#else
    report(!(efer & EFER_LMA), "EFER %llx has no LMA", (unsigned long long)efer);
    /* Paging off: LME may be set and cleared; LMA stays clear without CR0.PG. */
    if (efer_lm()) {
        wrmsr(MSR_EFER, efer | EFER_LME);
        report((rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA)) == EFER_LME,
               "EFER.LME sets with paging off, LMA does not follow");
        wrmsr(MSR_EFER, efer);
    }
#endif
    wrmsr(MSR_EFER, efer | EFER_SCE);
    report(rdmsr(MSR_EFER) & EFER_SCE, "EFER.SCE sets");
    wrmsr(MSR_EFER, efer);
    /* QEMU's TCG takes reserved bits, unknown MSRs and reserved PAT types
     * silently, and ignores RDMSR/WRMSR of the TSC. */
    if (!qemu_differs("EFER reserved bit")) {
        report(wrmsr_safe(MSR_EFER, efer | (1ull << 20)) == 13, "EFER reserved bit 20: #GP");
    }
}

static void test_pat_mtrr(void)
{
    uint64_t pat = rdmsr(MSR_PAT), v;
    int r;

    /* The power-on value (vol. 3, "Programming the PAT"): WB WT UC- UC, twice. */
    report(pat == 0x0007040600070406ull, "PAT %llx is the reset value",
           (unsigned long long)pat);
    wrmsr(MSR_PAT, 0x0000000001050607ull);
    report(rdmsr(MSR_PAT) == 0x0000000001050607ull, "PAT write reads back");
    /* Type 2 is reserved (the PAT memory-type encodings). */
    r = quirks ? 13 : wrmsr_safe(MSR_PAT, 0x0000000000000002ull);
    report(r == 13 && exc.error == 0, "PAT with reserved type 2: #GP(0) (%d)", r);
    wrmsr(MSR_PAT, pat);
    if (!((cpuid(1, 0).d >> 12) & 1)) {
        report_skip("MTRRs: not in CPUID");
        return;
    }
    r = rdmsr_safe(MSR_MTRRCAP, &v);
    report(r == 0 && (v & 0xff) >= 1, "MTRRcap %llx: at least one variable range",
           (unsigned long long)v);
    wrmsr(MSR_MTRR_DEF_TYPE, 0xc06);
    report(rdmsr(MSR_MTRR_DEF_TYPE) == 0xc06, "MTRRdefType write reads back");
    wrmsr(MSR_MTRR_PHYSBASE0, 0x80000000ull | 0);      /* UC at 2 GiB */
    wrmsr(MSR_MTRR_PHYSMASK0, 0xf80000000ull | 0x800);
    report(rdmsr(MSR_MTRR_PHYSBASE0) == 0x80000000ull &&
           rdmsr(MSR_MTRR_PHYSMASK0) == (0xf80000000ull | 0x800),
           "MTRRphysBase0/Mask0 read back");
    wrmsr(MSR_MTRR_PHYSMASK0, 0);
}

#ifdef __x86_64__
static uint64_t fsgs_data[4] = { 0x1111, 0x2222, 0x3333, 0x4444 };

static uint64_t read_fs8(void)
{
    uint64_t v;

    __asm__ volatile("mov %%fs:8, %0" : "=r"(v));
    return v;
}

static uint64_t read_gs8(void)
{
    uint64_t v;

    __asm__ volatile("mov %%gs:8, %0" : "=r"(v));
    return v;
}
#endif

static void test_bases(void)
{
#ifdef __x86_64__
    int r;

    wrmsr(MSR_FS_BASE, (ulong)&fsgs_data[0]);
    wrmsr(MSR_GS_BASE, (ulong)&fsgs_data[1]);
    report(read_fs8() == 0x2222 && read_gs8() == 0x3333, "FS/GS base MSRs move %%fs:, %%gs:");
    wrmsr(MSR_KERNEL_GS_BASE, (ulong)&fsgs_data[2]);
    __asm__ volatile("swapgs");
    report(read_gs8() == 0x4444 && rdmsr(MSR_GS_BASE) == (ulong)&fsgs_data[2] &&
           rdmsr(MSR_KERNEL_GS_BASE) == (ulong)&fsgs_data[1],
           "swapgs exchanges GS base and KERNEL_GS_BASE");
    __asm__ volatile("swapgs");
    report(read_gs8() == 0x3333, "a second swapgs swaps back");
    r = quirks ? 13 : wrmsr_safe(MSR_FS_BASE, 0x0000800000000000ull);
    report(r == 13, "non-canonical FS base: #GP (%d)", r);
    wrmsr(MSR_FS_BASE, 0);
    wrmsr(MSR_GS_BASE, 0);
#else
    report_skip("FS/GS base, swapgs: 64-bit mode");
#endif
}

static void test_tsc_apic(void)
{
    uint64_t t1, t2, v;

    t1 = rdtsc();
    t2 = rdtsc();
    report(t2 > t1, "TSC counts up: %llx then %llx", (unsigned long long)t1,
           (unsigned long long)t2);
    if (qemu_differs("TSC through MSR 10h")) {
        goto apic;
    }
    report(rdmsr(MSR_TSC) >= t2, "MSR 10h reads the TSC");
    wrmsr(MSR_TSC, 0x100000000000ull);
    t1 = rdtsc();
    report(t1 >= 0x100000000000ull && t1 < 0x100000000000ull + 0x100000000ull,
           "wrmsr 10h sets the TSC: %llx", (unsigned long long)t1);
apic:
    v = rdmsr(MSR_APIC_BASE);
    report((v & 0xfffff000ull) == 0xfee00000ull && (v & 0x100),
           "APIC_BASE %llx: FEE00000, BSP", (unsigned long long)v);
}

#define MSR_TSC_ADJUST 0x3bu
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_CSTAR 0xc0000083u
#define MSR_FMASK 0xc0000084u
#define MSR_TSC_AUX 0xc0000103u
#define X86_CR4_FSGSBASE (1ul << 16)

/* The MSRs of fast system calls hold what was written (kvm-unit-tests' msr test
 * checks the same); the 64-bit entry points must be canonical. */
static void test_readback(void)
{
    static const struct { uint32_t idx; uint64_t val; int lm; } rb[] = {
        { MSR_SYSENTER_CS, 0x1234, 0 },
        { MSR_SYSENTER_ESP, 0x12345678, 0 },
        { MSR_SYSENTER_EIP, 0x87654321, 0 },
        { MSR_STAR, 0x0023001000000000ull, 1 },
        { MSR_LSTAR, 0xffffffff81000000ull, 1 },
        { MSR_CSTAR, 0x0000000012345000ull, 1 },
        { MSR_FMASK, 0x47700, 1 },
    };
    int lm = efer_lm();
    int r;

    for (unsigned i = 0; i < sizeof(rb) / sizeof(rb[0]); i++) {
        uint64_t old, v = 0;

        if (rb[i].lm && !lm) {
            continue;
        }
        r = rdmsr_safe(rb[i].idx, &old);
        r = r ? r : wrmsr_safe(rb[i].idx, rb[i].val);
        r = r ? r : rdmsr_safe(rb[i].idx, &v);
        report(r == 0 && v == rb[i].val, "MSR %x reads back %llx: %llx (%d)", rb[i].idx,
               (unsigned long long)rb[i].val, (unsigned long long)v, r);
        wrmsr(rb[i].idx, old);
    }
    if (lm && !quirks) {
        r = wrmsr_safe(MSR_LSTAR, 0x0000800000000000ull);
        report(r == 13, "non-canonical LSTAR: #GP (%d)", r);
    }
}

static int near(uint64_t got, uint64_t want)
{
    return got - want + 0x100000000ull < 0x200000000ull;
}

static void test_tsc_extras(void)
{
    struct cpuid c7 = cpuid(7, 0);
    uint64_t adj, t;
    uint32_t aux, lo, hi;
    ulong pid;

    if (!((c7.b >> 1) & 1)) {
        report_skip("TSC_ADJUST: not in CPUID");
    } else {
        /* A TSC write moves TSC_ADJUST by as much; writing TSC_ADJUST moves the
         * TSC (vol. 3, 18.17.3). */
        adj = rdmsr(MSR_TSC_ADJUST);
        t = rdtsc();
        wrmsr(MSR_TSC, t + 0x1000000000ull);
        /* The TSC ran on between RDTSC and WRMSR: "the same" within 2^32 ticks. */
        report(near(rdmsr(MSR_TSC_ADJUST) - adj, 0x1000000000ull),
               "TSC write moved TSC_ADJUST by the same: %llx",
               (unsigned long long)(rdmsr(MSR_TSC_ADJUST) - adj));
        t = rdtsc();
        wrmsr(MSR_TSC_ADJUST, rdmsr(MSR_TSC_ADJUST) + 0x2000000000ull);
        report(near(rdtsc() - t, 0x2000000000ull), "TSC_ADJUST write moves the TSC");
    }
    if (!((cpuid(0x80000001, 0).d >> 27) & 1)) {
        report_skip("RDTSCP, TSC_AUX: not in CPUID");
        return;
    }
    wrmsr(MSR_TSC_AUX, 0x42);
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
    report(aux == 0x42 && rdmsr(MSR_TSC_AUX) == 0x42, "rdtscp returns TSC_AUX in ECX: %x", aux);
    if (!((c7.c >> 22) & 1)) {
        report_skip("RDPID: not in CPUID");
        return;
    }
    __asm__ volatile("rdpid %0" : "=r"(pid));
    report(pid == 0x42, "rdpid returns TSC_AUX: %lx", (unsigned long)pid);
}

#ifdef __x86_64__
ASMFN(do_wrfsbase, "wrfs_at: wrfsbase %rdi\n\tret");
extern char wrfs_at[];
#endif

static void test_fsgsbase(void)
{
#ifdef __x86_64__
    ulong cr4 = read_cr4(), v;
    int r;

    if (!(cpuid(7, 0).b & 1)) {
        report_skip("RDFSBASE family: not in CPUID");
        return;
    }
    r = exc_catch(do_wrfsbase, 0x1234);
    report(r == 6 && exc.rip == (ulong)wrfs_at, "wrfsbase with CR4.FSGSBASE clear: #UD (%d)", r);
    write_cr4(cr4 | X86_CR4_FSGSBASE);
    r = exc_catch(do_wrfsbase, (ulong)&fsgs_data[1]);
    __asm__ volatile("rdfsbase %0" : "=r"(v));
    report(r == -1 && v == (ulong)&fsgs_data[1] && rdmsr(MSR_FS_BASE) == v &&
           read_fs8() == 0x3333, "wrfsbase/rdfsbase and the FS_BASE MSR agree: %lx",
           (unsigned long)v);
    __asm__ volatile("wrgsbase %0\n\trdgsbase %0" : "+r"(v));
    report(rdmsr(MSR_GS_BASE) == (ulong)&fsgs_data[1], "wrgsbase/rdgsbase");
    wrmsr(MSR_FS_BASE, 0);
    wrmsr(MSR_GS_BASE, 0);
    write_cr4(cr4);
#else
    report_skip("RDFSBASE family: 64-bit mode");
#endif
}

static void test_unknown(void)
{
    uint64_t v;
    int r;

    if (qemu_differs("unknown MSRs")) {
        return;
    }
    r = rdmsr_safe(0x12345678u, &v);

    report(r == 13 && exc.error == 0, "rdmsr of an MSR that does not exist: #GP(0) (%d)", r);
    r = wrmsr_safe(0x12345678u, 0);
    report(r == 13 && exc.error == 0, "wrmsr of an MSR that does not exist: #GP(0) (%d)", r);
    r = rdmsr_safe(0xc0001234u, &v);
    report(r == 13 && exc.error == 0, "rdmsr C0001234h: #GP(0) (%d)", r);
}

int main(const struct mb_info *mbi)
{
    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "msr64" : "msr32";
    x86_setup();
    test_efer();
    test_pat_mtrr();
    test_bases();
    test_tsc_apic();
    test_readback();
    test_tsc_extras();
    test_fsgsbase();
    test_unknown();
    return report_summary();
}
