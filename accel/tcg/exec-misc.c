/*
 * Flag and miscellaneous instructions: clc stc cmc cld std cli sti, the
 * nop forms (nop, pause, endbr, prefetch, fences, clflush), ud0/ud1/ud2,
 * cpuid, rdtsc/rdtscp, rdrand/rdseed, salc (Intel SDM vol. 2, each
 * instruction's page).
 *
 * CPUID answers from cpu->cpuid, the table x86_cpu_build_cpuid() made for
 * the -cpu model, filtered by tcg_cpuid_supported() below: the leaves and
 * feature bits the software CPU implements.  Without a table (unit tests)
 * it answers from tcg_cpuid_supported() itself.
 *
 * Operand conventions this file relies on: rdrand/rdseed write ops[0] (a
 * register of in->op_size); the others use no operands.
 *
 * Threads: runs on the vCPU thread that owns cpu.  No state of its own.
 */
#include <cpuid.h>
#include <string.h>
#include <sys/random.h>
#include <x86intrin.h>

#include "accel/tcg/tcg-cpu.h"
#include "arch/x86/cpu-models.h"

#define RFLAGS_IOPL_SHIFT 12

enum tcg_status exec_clc(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->st.rflags &= ~RFLAGS_CF;
    return TCG_OK;
}

enum tcg_status exec_stc(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->st.rflags |= RFLAGS_CF;
    return TCG_OK;
}

enum tcg_status exec_cmc(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->st.rflags ^= RFLAGS_CF;
    return TCG_OK;
}

enum tcg_status exec_cld(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->st.rflags &= ~RFLAGS_DF;
    return TCG_OK;
}

enum tcg_status exec_std(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->st.rflags |= RFLAGS_DF;
    return TCG_OK;
}

/*
 * SDM vol. 2A CLI / vol. 2B STI: IF changes in real mode and when
 * CPL <= IOPL; otherwise VIF does, at CPL 3 with CR4.PVI or in vm86 with
 * CR4.VME (STI is #GP(0) there while VIP is set); otherwise #GP(0).
 * STI's one-instruction interrupt shadow comes with interrupt delivery in
 * part 2.
 */
static enum tcg_status set_if(struct tcg_cpu *cpu, bool on)
{
    unsigned iopl = (cpu->st.rflags >> RFLAGS_IOPL_SHIFT) & 3;
    bool vm86 = cpu->mode != MODE_LONG64 && (cpu->st.rflags & RFLAGS_VM);
    uint64_t bit = RFLAGS_IF;

    if (cpu->st.cr0 & CR0_PE) {
        bool virt;

        if (vm86) {
            virt = iopl < 3;
            if (virt && !(cpu->st.cr4 & CR4_VME)) {
                return tcg_raise_err(cpu, EXC_GP, 0);
            }
        } else {
            virt = cpu->cpl > iopl;
            if (virt && !(cpu->cpl == 3 && (cpu->st.cr4 & CR4_PVI))) {
                return tcg_raise_err(cpu, EXC_GP, 0);
            }
        }
        if (virt) {
            if (on && (cpu->st.rflags & RFLAGS_VIP)) {
                return tcg_raise_err(cpu, EXC_GP, 0);
            }
            bit = RFLAGS_VIF;
        }
    }
    if (on) {
        cpu->st.rflags |= bit;
    } else {
        cpu->st.rflags &= ~bit;
    }
    return TCG_OK;
}

enum tcg_status exec_cli(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    return set_if(cpu, false);
}

enum tcg_status exec_sti(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    return set_if(cpu, true);
}

/* nop, pause, endbr32/64, prefetch*, lfence/mfence/sfence: one vCPU that
 * executes in order needs nothing done; prefetches never fault. */
enum tcg_status exec_nop(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)cpu;
    (void)in;
    return TCG_OK;
}

/* SDM vol. 2A CLFLUSH: no cache to flush, but the operand is checked as a
 * byte read would be (segment limit, canonical form). */
enum tcg_status exec_clflush(struct tcg_cpu *cpu, const struct insn *in)
{
    uint64_t lin;

    if (!in->has_mem) {
        return tcg_raise(cpu, EXC_UD);
    }
    return tcg_linear(cpu, in->mem.seg, tcg_ea(cpu, in), 1, ACC_READ, &lin);
}

enum tcg_status exec_ud(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    return tcg_raise(cpu, EXC_UD);
}

/* ---- CPUID ---- */

/* Feature bits the software CPU implements, by leaf and register (SDM vol.
 * 2A CPUID, tables 3-10, 3-11, 3-8; AMD APM vol. 3, E.4.2). */
#define F1_EDX ((1u << 3) |   /* pse: 4 MiB pages (mmu.c) */ \
                (1u << 4) |   /* tsc: rdtsc */ \
                (1u << 5) |   /* msr: rdmsr/wrmsr */ \
                (1u << 6) |   /* pae: 64-bit paging entries */ \
                (1u << 8) |   /* cx8: cmpxchg8b */ \
                (1u << 9) |   /* apic: the userspace LAPIC */ \
                (1u << 13) |  /* pge: the TLB flushes globals too, which is allowed */ \
                (1u << 15) |  /* cmov */ \
                (1u << 17) |  /* pse36 (mmu.c) */ \
                (1u << 19))   /* clflush */
#define F1_ECX ((1u << 13) |  /* cx16: cmpxchg16b */ \
                (1u << 22) |  /* movbe */ \
                (1u << 23) |  /* popcnt */ \
                (1u << 30))   /* rdrand */
#define F7_EBX ((1u << 0) |   /* fsgsbase: rd/wr fs/gs base (exec-system.c) */ \
                (1u << 3) |   /* bmi1: andn bextr blsi blsmsk blsr tzcnt */ \
                (1u << 8) |   /* bmi2: bzhi mulx pdep pext rorx sarx shlx shrx */ \
                (1u << 9) |   /* erms: rep movsb/stosb are fine to use */ \
                (1u << 18) |  /* rdseed */ \
                (1u << 19))   /* adx: adcx adox */
#define FX_EDX ((1u << 20) |  /* nx (mmu.c) */ \
                (1u << 27) |  /* rdtscp */ \
                (1u << 29))   /* lm */
#define FX_ECX ((1u << 0) |   /* lahf-lm: lahf/sahf in 64-bit mode */ \
                (1u << 5))    /* abm: lzcnt */

static void put_vendor(struct x86_cpuid_entry *e, const uint32_t v[3])
{
    e->ebx = v[0];
    e->edx = v[1];
    e->ecx = v[2];
}

/*
 * The leaves the software CPU offers, for x86_cpu_build_cpuid()'s
 * "supported" argument:
 *   0            highest basic leaf 7; the host's vendor string (the
 *                undefined flags follow the host's vendor, see flags.c)
 *   1            the host's family/model/stepping; CLFLUSH size 64 bytes,
 *                one logical processor, APIC ID 0; F1_EDX, F1_ECX
 *   7.0          F7_EBX
 *   80000000     highest extended leaf 80000008; the vendor again
 *   80000001     the signature of leaf 1; FX_EDX, FX_ECX
 *   80000002-4   the brand string "hyvm software CPU"
 *   80000008     40 physical, 48 linear address bits
 * Not yet: x87/MMX/SSE/XSAVE, sysenter/syscall (part 2), PAT, MCE/MCA;
 * their bits come with the code that runs them.  Returns how many
 * entries it wrote (at most max).
 */
unsigned tcg_cpuid_supported(struct x86_cpuid_entry *out, unsigned max)
{
    static const char brand[48] = "hyvm software CPU";
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
        e->ecx = F1_ECX;
        e->edx = F1_EDX;
    }
    if ((e = x86_cpuid_add(out, &n, max, 7, 0, true))) {
        e->ebx = F7_EBX;
    }
    if ((e = x86_cpuid_add(out, &n, max, 0x80000000, 0, false))) {
        e->eax = 0x80000008;
        put_vendor(e, vendor);
    }
    if ((e = x86_cpuid_add(out, &n, max, 0x80000001, 0, false))) {
        e->eax = a & 0x0fff3fff;
        e->ecx = FX_ECX;
        e->edx = FX_EDX;
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

static const struct x86_cpuid_entry *cpuid_find(const struct x86_cpuid_entry *t, unsigned n,
                                                uint32_t fn, uint32_t idx)
{
    for (unsigned i = 0; i < n; i++) {
        if (t[i].function == fn && (!t[i].has_index || t[i].index == idx)) {
            return &t[i];
        }
    }
    return NULL;
}

/*
 * SDM vol. 2A CPUID.  A leaf above the highest of its range: Intel parts
 * answer with the highest basic leaf, AMD ones with zeros (APM vol. 3,
 * CPUID); which one follows the vendor the table names.  A leaf in range
 * that the table lacks reads as zeros.
 */
enum tcg_status exec_cpuid(struct tcg_cpu *cpu, const struct insn *in)
{
    struct x86_cpuid_entry local[16];
    const struct x86_cpuid_entry *t = cpu->cpuid, *e, *l0, *x0;
    unsigned n = cpu->ncpuid;
    uint32_t fn = (uint32_t)cpu->st.regs[R_EAX], idx = (uint32_t)cpu->st.regs[R_ECX];
    uint32_t r[4] = { 0, 0, 0, 0 };
    bool intel;

    (void)in;
    if (!t) {
        n = tcg_cpuid_supported(local, 16);
        t = local;
    }
    l0 = cpuid_find(t, n, 0, 0);
    x0 = cpuid_find(t, n, 0x80000000, 0);
    /* "GenuineIntel" in ebx, edx, ecx. */
    intel = l0 && l0->ebx == 0x756e6547 && l0->edx == 0x49656e69 && l0->ecx == 0x6c65746e;
    if (fn < 0x80000000) {
        if (l0 && fn > l0->eax) {
            fn = intel ? l0->eax : 0xffffffff;
        }
    } else if (fn < 0x90000000) {
        if (!x0 || fn > x0->eax) {
            fn = intel && l0 ? l0->eax : 0xffffffff;
        }
    }
    e = cpuid_find(t, n, fn, idx);
    if (e) {
        r[0] = e->eax;
        r[1] = e->ebx;
        r[2] = e->ecx;
        r[3] = e->edx;
    }
    if (fn == 1) {
        /* OSXSAVE mirrors CR4.OSXSAVE where XSAVE is offered. */
        r[2] &= ~(1u << 27);
        if ((r[2] & (1u << 26)) && (cpu->st.cr4 & CR4_OSXSAVE)) {
            r[2] |= 1u << 27;
        }
    }
    tcg_reg_write(cpu, R_EAX, 4, false, r[0]);
    tcg_reg_write(cpu, R_EBX, 4, false, r[1]);
    tcg_reg_write(cpu, R_ECX, 4, false, r[2]);
    tcg_reg_write(cpu, R_EDX, 4, false, r[3]);
    return TCG_OK;
}

/* ---- time stamp counter and random numbers ---- */

/* CR4.TSD makes rdtsc/rdtscp #GP(0) outside ring 0 (SDM vol. 2B RDTSC). */
static bool tsc_allowed(const struct tcg_cpu *cpu)
{
    return !((cpu->st.cr4 & CR4_TSD) && cpu->cpl > 0 && (cpu->st.cr0 & CR0_PE));
}

static void put_edx_eax(struct tcg_cpu *cpu, uint64_t v)
{
    tcg_reg_write(cpu, R_EAX, 4, false, (uint32_t)v);
    tcg_reg_write(cpu, R_EDX, 4, false, (uint32_t)(v >> 32));
}

/* The guest's TSC: the host's plus the vCPU's offset. */
enum tcg_status exec_rdtsc(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (!tsc_allowed(cpu)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    put_edx_eax(cpu, __rdtsc() + cpu->tsc_offset);
    return TCG_OK;
}

/* rdtscp: also ECX = IA32_TSC_AUX[31:0]. */
enum tcg_status exec_rdtscp(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned aux;

    (void)in;
    if (!tsc_allowed(cpu)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    put_edx_eax(cpu, __rdtscp(&aux) + cpu->tsc_offset);
    tcg_reg_write(cpu, R_ECX, 4, false, (uint32_t)cpu->msr_tsc_aux);
    return TCG_OK;
}

/*
 * SDM vol. 2B RDRAND/RDSEED: CF = 1 and a value, or CF = 0 and 0 when none
 * is ready; OF SF ZF AF PF are cleared.  The value is the host kernel's
 * (getrandom, which does not block once the pool is initialised).
 */
static enum tcg_status rand_common(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned size = in->ops[0].size ? in->ops[0].size : in->op_size;
    uint64_t v = 0;
    bool ok = size <= sizeof(v) && getrandom(&v, size, GRND_NONBLOCK) == (ssize_t)size;

    if (!ok) {
        v = 0;
    }
    cpu->st.rflags &= ~(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF |
                        RFLAGS_OF);
    if (ok) {
        cpu->st.rflags |= RFLAGS_CF;
    }
    return tcg_op_write(cpu, in, 0, v);
}

enum tcg_status exec_rdrand(struct tcg_cpu *cpu, const struct insn *in)
{
    return rand_common(cpu, in);
}

enum tcg_status exec_rdseed(struct tcg_cpu *cpu, const struct insn *in)
{
    return rand_common(cpu, in);
}

/* salc (D6, undocumented by Intel, AMD APM vol. 3 lists it as invalid in
 * 64-bit mode): AL = CF ? FF : 00, flags unchanged. */
enum tcg_status exec_salc(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (cpu->mode == MODE_LONG64) {
        return tcg_raise(cpu, EXC_UD);
    }
    tcg_reg_write(cpu, R_EAX, 1, false, (cpu->st.rflags & RFLAGS_CF) ? 0xff : 0);
    return TCG_OK;
}
