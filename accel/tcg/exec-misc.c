/*
 * Flag and miscellaneous instructions: clc stc cmc cld std cli sti, the
 * nop forms (nop, pause, endbr, prefetch, fences, clflush), ud0/ud1/ud2,
 * cpuid, rdtsc/rdtscp, rdrand/rdseed, salc (Intel SDM vol. 2, each
 * instruction's page).
 *
 * CPUID answers from cpu->cpuid, the table tcg_cpu_setup_cpuid()
 * (tcg-cpuid.c) made for the -cpu model over tcg_cpuid_supported(): the
 * leaves and feature bits the software CPU implements.  Without a table
 * (unit tests) it answers from tcg_cpuid_supported() itself.  The TSC
 * follows the host's monotonic clock at a fixed TCG_TSC_HZ.
 *
 * Operand conventions this file relies on: rdrand/rdseed write ops[0] (a
 * register of in->op_size); the others use no operands.
 *
 * Threads: runs on the vCPU thread that owns cpu.  Its one piece of
 * shared state is the TSC epoch, set once by whichever vCPU reads the TSC
 * first (under a mutex) and read-only after that.
 */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "accel/tcg/tcg-cpu.h"
#include "arch/x86/cpu-models.h"
#include "system/vclock.h"

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

/* nop, pause, endbr32/64, prefetch*, lfence/sfence: a vCPU that executes
 * in order on a host with x86's ordering needs nothing done (stores are
 * never non-temporal here); prefetches never fault. */
enum tcg_status exec_nop(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)cpu;
    (void)in;
    return TCG_OK;
}

/* SDM vol. 2B MFENCE: with vCPUs on their threads at once, a store before
 * it must be seen by every other vCPU before a load after it: the host's. */
enum tcg_status exec_mfence(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)cpu;
    (void)in;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
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
 * A leaf above the highest of its range.  With a model's table, as QEMU's
 * TCG does for every vendor: the highest basic leaf (same subleaf), except
 * in the hypervisor range up to its own top (SDM vol. 2A CPUID: "invalid
 * EAX input returns the data of the highest basic leaf").  Without one
 * (the bare supported set of the unit tests), as the host's vendor does:
 * Intel parts the highest basic leaf, AMD ones zeros (APM vol. 3, CPUID).
 */
static uint32_t cpuid_clamp(const struct x86_cpuid_entry *t, unsigned n, bool model,
                            uint32_t fn)
{
    const struct x86_cpuid_entry *l0 = cpuid_find(t, n, 0, 0);
    const struct x86_cpuid_entry *x0 = cpuid_find(t, n, 0x80000000, 0);
    const struct x86_cpuid_entry *h0 = cpuid_find(t, n, 0x40000000, 0);
    uint32_t level = l0 ? l0->eax : 0;
    /* "GenuineIntel" in ebx, edx, ecx. */
    bool intel = l0 && l0->ebx == 0x756e6547 && l0->edx == 0x49656e69 &&
                 l0->ecx == 0x6c65746e;
    uint32_t over = model || intel ? level : 0xffffffff;

    if (fn & 0x80000000) {
        return !x0 || fn > x0->eax ? over : fn;
    }
    if (model && h0 && fn >= 0x40000000 && fn <= h0->eax) {
        return fn;
    }
    return fn > level ? over : fn;
}

/*
 * SDM vol. 2A CPUID.  Most answers come from cpu->cpuid, the table the
 * -cpu model gave this vCPU; a few follow the running vCPU:
 *   01H:ECX.OSXSAVE    CR4.OSXSAVE where XSAVE is offered
 *   01H:EDX.APIC       clear while IA32_APIC_BASE's enable bit is
 *   0DH.0/1:EBX        the XSAVE area size for the current XCR0
 *   0BH, 1FH           subleaves past the last level: type 0, the subleaf
 *                      number in ECX and the x2APIC ID in EDX
 */
enum tcg_status exec_cpuid(struct tcg_cpu *cpu, const struct insn *in)
{
    struct x86_cpuid_entry local[32];
    const struct x86_cpuid_entry *t = cpu->cpuid, *e;
    unsigned n = cpu->ncpuid;
    uint32_t fn = (uint32_t)cpu->st.regs[R_EAX], idx = (uint32_t)cpu->st.regs[R_ECX];
    uint32_t r[4] = { 0, 0, 0, 0 };

    (void)in;
    if (!t) {
        n = tcg_cpuid_supported(local, G_N_ELEMENTS(local));
        t = local;
    }
    fn = cpuid_clamp(t, n, cpu->cpuid != NULL, fn);
    e = cpuid_find(t, n, fn, idx);
    if (e) {
        r[0] = e->eax;
        r[1] = e->ebx;
        r[2] = e->ecx;
        r[3] = e->edx;
    } else if (fn == 0xb || fn == 0x1f) {
        const struct x86_cpuid_entry *s0 = cpuid_find(t, n, fn, 0);

        if (s0 && s0->ebx) {
            r[2] = idx & 0xff;
            r[3] = s0->edx;
        }
    }
    if (fn == 1) {
        r[2] &= ~(1u << 27);
        if ((r[2] & (1u << 26)) && (cpu->st.cr4 & CR4_OSXSAVE)) {
            r[2] |= 1u << 27;
        }
        /* a globally disabled local APIC is not there (SDM vol. 3, 11.4.3) */
        if (!(cpu->st.apic_base & MSR_IA32_APICBASE_ENABLE)) {
            r[3] &= ~(1u << 9);
        }
    }
    if (fn == 0xd && idx <= 1 && e && r[1]) {
        const struct x86_cpuid_entry *s0 = cpuid_find(t, n, 0xd, 0);
        uint64_t comps = s0 ? ((uint64_t)s0->edx << 32 | s0->eax) : 1;

        r[1] = x86_xsave_size((cpu->xcr0 & comps) | 1);
    }
    tcg_reg_write(cpu, R_EAX, 4, false, r[0]);
    tcg_reg_write(cpu, R_EBX, 4, false, r[1]);
    tcg_reg_write(cpu, R_ECX, 4, false, r[2]);
    tcg_reg_write(cpu, R_EDX, 4, false, r[3]);
    return TCG_OK;
}

/* ---- time stamp counter (SDM vol. 3, 18.17) ---- */

/*
 * The guest's TSC runs at TCG_TSC_HZ on the guest's virtual clock (the
 * host's CLOCK_MONOTONIC, so guest time keeps pace with the host whatever
 * speed the CPU runs at; with -icount the instruction count): tsc = ns
 * since the epoch scaled to TCG_TSC_HZ, plus the vCPU's tsc_offset.  One
 * epoch for every vCPU (the first call), so vCPUs whose TSC was set to the
 * same value stay in step.
 */
static uint64_t monotonic_ns(void)
{
    int64_t now = vclock_virtual_ns();

    return now > 0 ? (uint64_t)now : 0;
}

static uint64_t (*tsc_clock)(void) = monotonic_ns;
static uint64_t tsc_epoch;
static bool tsc_epoch_set;

void tcg_tsc_set_clock(uint64_t (*clock_ns)(void))
{
    tsc_clock = clock_ns ? clock_ns : monotonic_ns;
    __atomic_store_n(&tsc_epoch_set, false, __ATOMIC_RELEASE);
}

uint64_t tcg_tsc_from_ns(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * TCG_TSC_HZ / 1000000000u);
}

/* Ticks since the epoch, which the first caller sets. */
static uint64_t tsc_ticks(void)
{
    uint64_t now = tsc_clock();

    if (!__atomic_load_n(&tsc_epoch_set, __ATOMIC_ACQUIRE)) {
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

        pthread_mutex_lock(&lock);
        if (!tsc_epoch_set) {
            tsc_epoch = now;
            __atomic_store_n(&tsc_epoch_set, true, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&lock);
    }
    return tcg_tsc_from_ns(now > tsc_epoch ? now - tsc_epoch : 0);
}

uint64_t tcg_guest_tsc(struct tcg_cpu *cpu)
{
    return tsc_ticks() + cpu->tsc_offset;
}

void tcg_set_guest_tsc(struct tcg_cpu *cpu, uint64_t v)
{
    cpu->tsc_offset = v - tsc_ticks();
}

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

enum tcg_status exec_rdtsc(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (!tsc_allowed(cpu)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    put_edx_eax(cpu, tcg_guest_tsc(cpu));
    return TCG_OK;
}

/* rdtscp: #UD unless the model offers it (CPUID.80000001H:EDX.RDTSCP[27]);
 * also ECX = IA32_TSC_AUX[31:0]. */
enum tcg_status exec_rdtscp(struct tcg_cpu *cpu, const struct insn *in)
{
    (void)in;
    if (!tcg_cpuid_has(cpu, 0x80000001, 3, 27)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (!tsc_allowed(cpu)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    put_edx_eax(cpu, tcg_guest_tsc(cpu));
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
