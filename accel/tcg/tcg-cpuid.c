/*
 * What the software CPU implements, as CPUID leaves and feature bits for
 * x86_cpu_build_cpuid_opts() (arch/x86/cpu-models.c), and the table each
 * vCPU answers CPUID from (exec_cpuid in exec-misc.c).
 *
 * The rule (DESIGN.md, "The software CPU"): a feature bit is listed here
 * only once the code that runs it has landed, so no model (not even
 * "max") offers what the interpreter lacks; a model bit missing here is
 * dropped with QEMU's "TCG doesn't support requested feature" warning.
 *
 * Threads: main thread (start-up); the tables are read-only afterwards.
 */
#include <cpuid.h>
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-cpuid.h"
#include "arch/x86/cpu-models.h"

enum { EAX, EBX, ECX, EDX };

struct tcg_feature {
    uint32_t leaf, index;
    uint8_t reg, bit;
    bool landed;            /* false: written, not merged yet: not offered */
};
#define YES true
#define NOT_YET false

/*
 * One line per feature bit, with the file that implements it (SDM vol.
 * 2A CPUID, tables 3-8 to 3-11; AMD APM vol. 3, E.4.2; QEMU's names).
 */
static const struct tcg_feature tcg_features[] = {
    /* CPUID.01H:EDX */
    { 1, 0, EDX, 0, YES },          /* fpu: x87 (exec-x87.c, x87-float.c) */
    { 1, 0, EDX, 2, YES },          /* de: CR4.DE, DR4/DR5 (exec-system.c) */
    { 1, 0, EDX, 3, YES },          /* pse: 4 MiB pages (mmu.c) */
    { 1, 0, EDX, 4, YES },          /* tsc: rdtsc, CR4.TSD (exec-misc.c) */
    { 1, 0, EDX, 5, YES },          /* msr: rdmsr/wrmsr (exec-system.c) */
    { 1, 0, EDX, 6, YES },          /* pae: 64-bit paging entries (mmu.c) */
    { 1, 0, EDX, 7, YES },          /* mce: CR4.MCE (exec-system.c); no #MC ever occurs */
    { 1, 0, EDX, 8, YES },          /* cx8: cmpxchg8b (exec-mov.c) */
    { 1, 0, EDX, 9, YES },          /* apic: the userspace LAPIC */
    { 1, 0, EDX, 11, YES },         /* sep: sysenter/sysexit (exec-syscall.c) */
    { 1, 0, EDX, 12, YES },         /* mtrr: MTRRcap/def type/variable MSRs (exec-system.c) */
    { 1, 0, EDX, 13, YES },         /* pge: global pages (mmu.c) */
    { 1, 0, EDX, 14, YES },         /* mca: MCG_CAP (no banks), MCG_STATUS (exec-system.c) */
    { 1, 0, EDX, 15, YES },         /* cmov (exec-mov.c) */
    { 1, 0, EDX, 16, YES },         /* pat: IA32_PAT (exec-system.c); no caches to type */
    { 1, 0, EDX, 17, YES },         /* pse36 (mmu.c) */
    { 1, 0, EDX, 19, YES },         /* clflush (exec-misc.c) */
    { 1, 0, EDX, 23, YES },         /* mmx (exec-sse-int.c, emms exec-sse.c) */
    { 1, 0, EDX, 24, YES },         /* fxsr: fxsave/fxrstor, CR4.OSFXSR (exec-fpstate.c) */
    { 1, 0, EDX, 25, YES },         /* sse (exec-sse.c, exec-sse-fp.c) */
    { 1, 0, EDX, 26, YES },         /* sse2 (exec-sse.c, exec-sse-int.c, exec-sse-fp.c) */
    /* CPUID.01H:ECX */
    { 1, 0, ECX, 0, YES },          /* pni: SSE3 (exec-sse-fp.c, exec-sse-int.c, exec-x87.c) */
    { 1, 0, ECX, 1, YES },          /* pclmulqdq (exec-sse-int.c) */
    { 1, 0, ECX, 3, YES },          /* monitor: monitor/mwait, mwait returns (exec-syscall.c) */
    { 1, 0, ECX, 9, YES },          /* ssse3 (exec-sse-int.c) */
    { 1, 0, ECX, 13, YES },         /* cx16: cmpxchg16b (exec-mov.c) */
    { 1, 0, ECX, 17, YES },         /* pcid: CR4.PCIDE, CR3[63] (exec-system.c; untagged TLB) */
    { 1, 0, ECX, 19, YES },         /* sse4.1 (exec-sse-int.c, exec-sse-fp.c) */
    { 1, 0, ECX, 20, YES },         /* sse4.2 (exec-sse-int.c) */
    { 1, 0, ECX, 22, YES },         /* movbe (exec-mov.c) */
    { 1, 0, ECX, 23, YES },         /* popcnt (exec-bits.c) */
    { 1, 0, ECX, 24, YES },         /* tsc-deadline: LAPIC timer mode, MSR 0x6e0 (hw/lapic.c) */
    { 1, 0, ECX, 26, YES },         /* xsave (exec-fpstate.c; xgetbv, xsetbv: exec-system.c) */
    { 1, 0, ECX, 30, YES },         /* rdrand (exec-misc.c) */
    /* CPUID.06H:EAX */
    { 6, 0, EAX, 2, YES },          /* arat: no C-states stop the LAPIC timer */
    /* CPUID.07H.0:EBX, ECX, EDX */
    { 7, 0, EBX, 0, YES },          /* fsgsbase: rd/wr fs/gs base (exec-system.c) */
    { 7, 0, EBX, 1, YES },          /* tsc-adjust: IA32_TSC_ADJUST (exec-system.c) */
    { 7, 0, EBX, 3, YES },          /* bmi1: andn bextr blsi blsmsk blsr tzcnt (exec-bits.c) */
    { 7, 0, EBX, 7, YES },          /* smep (mmu.c) */
    { 7, 0, EBX, 8, YES },          /* bmi2: bzhi mulx pdep pext rorx sar/shl/shrx (exec-bits.c) */
    { 7, 0, EBX, 9, YES },          /* erms: rep movsb/stosb (exec-string.c) */
    { 7, 0, EBX, 10, YES },         /* invpcid (exec-syscall.c) */
    { 7, 0, EBX, 18, YES },         /* rdseed (exec-misc.c) */
    { 7, 0, EBX, 19, YES },         /* adx: adcx adox (exec-alu.c) */
    { 7, 0, EBX, 20, YES },         /* smap: stac/clac, EFLAGS.AC (mmu.c, exec-system.c) */
    { 7, 0, ECX, 2, YES },          /* umip (exec-system.c) */
    { 7, 0, ECX, 22, YES },         /* rdpid (exec-syscall.c) */
    { 7, 0, EDX, 26, YES },         /* spec-ctrl: IA32_SPEC_CTRL.IBRS, PRED_CMD (exec-system.c) */
    { 7, 0, EDX, 27, YES },         /* stibp: IA32_SPEC_CTRL.STIBP (exec-system.c) */
    { 7, 0, EDX, 29, YES },         /* arch-capabilities: the *_NO bits (exec-system.c) */
    { 7, 0, EDX, 31, YES },         /* ssbd: IA32_SPEC_CTRL.SSBD (exec-system.c) */
    /* CPUID.0DH.1:EAX */
    { 0xd, 1, EAX, 0, YES },        /* xsaveopt (exec-fpstate.c) */
    /* CPUID.80000001H:EDX, ECX */
    { 0x80000001, 0, EDX, 11, YES }, /* syscall: syscall/sysret (exec-syscall.c) */
    { 0x80000001, 0, EDX, 20, YES }, /* nx (mmu.c) */
    { 0x80000001, 0, EDX, 27, YES }, /* rdtscp (exec-misc.c) */
    { 0x80000001, 0, EDX, 29, YES }, /* lm: long mode (cpu-exec.c, exec-system.c) */
    { 0x80000001, 0, ECX, 0, YES }, /* lahf-lm: lahf/sahf in 64-bit mode (exec-mov.c) */
    { 0x80000001, 0, ECX, 5, YES }, /* abm: lzcnt (exec-bits.c) */
};

/* XSAVE state components saved (SDM vol. 1, 13.1): x87 and SSE (exec-fpstate.c). */
#define TCG_XCR0_SUPPORTED 0x3u

static void put_vendor(struct x86_cpuid_entry *e, const uint32_t v[3])
{
    e->ebx = v[0];
    e->edx = v[1];
    e->ecx = v[2];
}

static uint32_t *reg_of(struct x86_cpuid_entry *e, unsigned reg)
{
    switch (reg) {
    case EAX: return &e->eax;
    case EBX: return &e->ebx;
    case ECX: return &e->ecx;
    default: return &e->edx;
    }
}

/* Sets the listed bits of leaf fn.index in e. */
static void put_features(struct x86_cpuid_entry *e)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(tcg_features); i++) {
        const struct tcg_feature *f = &tcg_features[i];

        if (f->landed && f->leaf == e->function && f->index == e->index) {
            *reg_of(e, f->reg) |= 1u << f->bit;
        }
    }
}

static bool feature_listed(uint32_t leaf, uint32_t index, unsigned reg, unsigned bit)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(tcg_features); i++) {
        const struct tcg_feature *f = &tcg_features[i];

        if (f->landed && f->leaf == leaf && f->index == index && f->reg == reg &&
            f->bit == bit) {
            return true;
        }
    }
    return false;
}

/*
 * The leaves the software CPU offers, for x86_cpu_build_cpuid_opts()'s
 * "supported" argument, and what a vCPU without a model table (unit tests)
 * answers:
 *   0            highest basic leaf 7; the host's vendor string (the
 *                undefined flags follow the host's vendor, see flags.c)
 *   1            the host's family/model/stepping; CLFLUSH size 64 bytes,
 *                one logical processor, APIC ID 0; the features above
 *   6, 7.0       the features above
 *   0D.0, 0D.1   the XSAVE components (x87, SSE) once xsave is listed;
 *                the XSAVE features
 *   80000000     highest extended leaf 80000008; the vendor again
 *   80000001     the signature of leaf 1; the features above
 *   80000002-4   the brand string "hyvm software CPU"
 *   80000008     40 physical, 48 linear address bits
 * A model's identity (vendor, signature, levels, brand) is its own: these
 * only matter for their feature bits.  Returns how many entries it wrote
 * (at most max).
 */
unsigned tcg_cpuid_supported(struct x86_cpuid_entry *out, unsigned max)
{
    static const char brand[48] = "hyvm software CPU";
    static const struct { uint32_t fn, index; bool has_index; } leaves[] = {
        { 6, 0, false }, { 7, 0, true }, { 0xd, 0, true }, { 0xd, 1, true },
    };
    uint32_t a, b, c, d, vendor[3];
    unsigned n = 0;
    struct x86_cpuid_entry *e;

    __cpuid(0, a, b, c, d);
    vendor[0] = b;
    vendor[1] = d;
    vendor[2] = c;
    if ((e = x86_cpuid_add(out, &n, max, 0, 0, false))) {
        e->eax = 7;
        put_vendor(e, vendor);
    }
    __cpuid(1, a, b, c, d);
    if ((e = x86_cpuid_add(out, &n, max, 1, 0, false))) {
        e->eax = a & 0x0fff3fff;
        e->ebx = (8u << 8) | (1u << 16);
        put_features(e);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(leaves); i++) {
        if ((e = x86_cpuid_add(out, &n, max, leaves[i].fn, leaves[i].index,
                               leaves[i].has_index))) {
            put_features(e);
        }
        if (e && e->function == 0xd && e->index == 0 && feature_listed(1, 0, ECX, 26)) {
            e->eax = TCG_XCR0_SUPPORTED;
            e->ebx = e->ecx = x86_xsave_size(TCG_XCR0_SUPPORTED);
        }
    }
    if ((e = x86_cpuid_add(out, &n, max, 0x80000000, 0, false))) {
        e->eax = 0x80000008;
        put_vendor(e, vendor);
    }
    if ((e = x86_cpuid_add(out, &n, max, 0x80000001, 0, false))) {
        e->eax = a & 0x0fff3fff;
        put_features(e);
    }
    for (unsigned l = 0; l < 3; l++) {
        if ((e = x86_cpuid_add(out, &n, max, 0x80000002 + l, 0, false))) {
            memcpy(&e->eax, brand + 16 * l, 4);
            memcpy(&e->ebx, brand + 16 * l + 4, 4);
            memcpy(&e->ecx, brand + 16 * l + 8, 4);
            memcpy(&e->edx, brand + 16 * l + 12, 4);
        }
    }
    if ((e = x86_cpuid_add(out, &n, max, 0x80000008, 0, false))) {
        e->eax = 0x3028;
    }
    return n;
}

#define TCG_CPUID_MAX 64

int tcg_cpu_setup_cpuid(struct tcg_cpu *cpu, const struct x86_cpu_def *def, unsigned index,
                        const struct x86_cpu_topo *topo, GError **errp)
{
    struct x86_cpuid_entry sup[32];
    unsigned nsup = tcg_cpuid_supported(sup, G_N_ELEMENTS(sup));
    struct x86_cpuid_entry *t = g_new0(struct x86_cpuid_entry, TCG_CPUID_MAX);
    struct x86_cpu_def *own = NULL;
    unsigned n = TCG_CPUID_MAX;
    struct x86_cpuid_opts o = {
        .accel = "TCG",
        .synth_max = true,
        .no_host = true,
        .hv_vendor = "TCGTCGTCGTCG",    /* QEMU's TCG signature leaf */
        .tsc_hz = TCG_TSC_HZ,
        .topo = topo,
        .index = index,
    };
    int ret;

    if (!def) {
        def = own = x86_cpu_parse("qemu64", errp);
    }
    ret = def ? x86_cpu_build_cpuid_opts(def, sup, nsup, &o, t, &n, errp) : -1;
    x86_cpu_def_free(own);
    if (ret < 0) {
        g_free(t);
        return -1;
    }
    tcg_cpu_free_cpuid(cpu);
    cpu->cpuid = t;
    cpu->ncpuid = n;
    /* Power-on: the TSC counts from the common epoch, the same on every vCPU
     * (the first call starts it), so that Linux finds them synchronized. */
    cpu->tsc_offset = 0;
    (void)tcg_guest_tsc(cpu);
    return 0;
}

void tcg_cpu_free_cpuid(struct tcg_cpu *cpu)
{
    g_free((void *)cpu->cpuid);
    cpu->cpuid = NULL;
    cpu->ncpuid = 0;
}
