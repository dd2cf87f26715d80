/*
 * The software CPU as an accelerator ("-accel tcg"): struct accel_ops over
 * the interpreter of accel/tcg/.  Guest RAM needs no registration (the MMU
 * finds it through ram_hva()); a kick sets a flag the dispatch loop reads
 * between blocks.
 *
 * Exceptions are delivered through the IDT (exec-system.c); one that
 * cannot be, even as #DF, ends the run as a triple fault does under KVM,
 * with the registers printed.  External interrupts come from the
 * userspace i8259, i8254 and vCPU 0's local APIC (interrupts.c) and are
 * taken between blocks; NMI from inject-nmi; INIT and SIPI from other
 * vCPUs' APICs.
 *
 * Threads: init, add_ram and vcpu_init on the main thread at start-up;
 * vcpu_run on the vCPU's thread, every vCPU at once (see "turn" below;
 * with -icount one at a time, icount.c);
 * get/set_state with the vCPU parked (or, for "info registers", racing
 * benignly with it); vcpu_kick and tcg_cpu_request_exit from any thread.
 */
#include <errno.h>
#include <sched.h>
#include <unistd.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <stdio.h>

#include "accel/accel.h"
#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-cpuid.h"
#include "accel/tcg/tcg-internal.h"
#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-translate.h"
#include "arch/x86/cpu-models.h"
#include "machine/machine.h"
#include "system/config.h"
#include "arch/x86/cpu.h"
#include "system/cpus.h"
#include "system/error.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/log.h"
#include "system/runstate.h"
#include "system/vclock.h"

struct tcg_vcpu {
    struct tcg_cpu cpu;
    volatile bool kick;         /* set by vcpu_kick, read by the loop */
    volatile bool stop;         /* leave tcg_run: a kick, or another vCPU's turn */
    bool halted;                /* HLT, or an AP waiting for a SIPI */
    bool wait_sipi;             /* an AP after RESET or INIT (halted too) */
    bool shutdown;              /* reported an exception: stopped until reset */
    /* INIT and start-up IPIs from other vCPUs (interrupts.c), taken by
     * this vCPU's loop: STARTUP_INIT, STARTUP_SIPI | vector, in one word so
     * that an INIT and the SIPI after it are taken together and in order. */
    volatile uint32_t startup_req;
    bool slice_over;            /* -icount: a PAUSE ended this vCPU's turn early */
};
#define STARTUP_INIT 0x80000000u
#define STARTUP_SIPI 0x40000000u

/*
 * Each vCPU runs guest code on its own thread, all at once (multi-threaded
 * TCG, -accel tcg,thread=multi, the default): locked instructions are
 * atomic through locked.c and the host's locked instructions, stores into
 * code reach every vCPU's blocks through code-pages.c, and x86's ordering
 * is the host's own.
 *
 * With -accel tcg,thread=single the vCPUs take turns instead: each has its
 * thread, but only the holder of the execution turn runs guest code.  A
 * vCPU that waits longer than TCG_SLICE_NS asks the holder to yield; a
 * halted vCPU waits outside the turn.  With one vCPU there is no turn.
 */
#define TCG_SLICE_NS 2000000

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct tcg_vcpu *holder;
    unsigned waiters;
    uint64_t handovers;         /* counts every take of the turn */
    unsigned nvcpus;
} turn = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

static __thread struct tcg_cpu *tcg_self;
static GPtrArray *tcg_cpus;     /* struct tcg_cpu *, by vCPU index */
bool tcg_mttcg;
static bool tcg_overcommitted;  /* more vCPUs at once than the host has CPUs */

unsigned tcg_cpu_index(const struct tcg_cpu *cpu)
{
    const struct vcpu *v = cpu->vcpu;

    return v ? v->index : 0;
}

void tcg_cpu_request_exit(struct tcg_cpu *cpu)
{
    struct tcg_vcpu *p = (struct tcg_vcpu *)cpu;

    if (cpu->vcpu) {
        __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
    }
}

unsigned tcg_cpu_count(void)
{
    return tcg_cpus ? tcg_cpus->len : 0;
}

struct tcg_cpu *tcg_cpu_at(unsigned i)
{
    return tcg_cpus && i < tcg_cpus->len ? g_ptr_array_index(tcg_cpus, i) : NULL;
}

struct tcg_cpu *tcg_current_cpu(void)
{
    return tcg_self;
}

static void deadline_in(struct timespec *ts, long ns)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += ns;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* Takes the turn; false when this vCPU was kicked meanwhile. */
static bool turn_take(struct tcg_vcpu *p)
{
    if (turn.nvcpus <= 1) {
        return true;
    }
    pthread_mutex_lock(&turn.lock);
    turn.waiters++;
    while (turn.holder && !p->kick) {
        struct timespec ts;

        deadline_in(&ts, TCG_SLICE_NS);
        if (pthread_cond_timedwait(&turn.cond, &turn.lock, &ts) == ETIMEDOUT && turn.holder) {
            __atomic_store_n(&turn.holder->stop, true, __ATOMIC_RELEASE);
        }
    }
    turn.waiters--;
    if (turn.holder) {
        pthread_mutex_unlock(&turn.lock);
        return false;
    }
    turn.holder = p;
    turn.handovers++;
    pthread_mutex_unlock(&turn.lock);
    return true;
}

/* Gives the turn up; after a yield, waits until another vCPU took it. */
static void turn_give(struct tcg_vcpu *p, bool yield)
{
    uint64_t seen;

    if (turn.nvcpus <= 1) {
        return;
    }
    pthread_mutex_lock(&turn.lock);
    turn.holder = NULL;
    seen = turn.handovers;
    pthread_cond_broadcast(&turn.cond);
    while (yield && turn.waiters && turn.handovers == seen && !p->kick) {
        struct timespec ts;

        deadline_in(&ts, TCG_SLICE_NS);
        pthread_cond_timedwait(&turn.cond, &turn.lock, &ts);
    }
    pthread_mutex_unlock(&turn.lock);
}

static void turn_wake(void)
{
    pthread_mutex_lock(&turn.lock);
    pthread_cond_broadcast(&turn.cond);
    pthread_mutex_unlock(&turn.lock);
}

static int tcg_probe(const struct accel_host_facts *host, bool strict, char **why)
{
    return 0;   /* the interpreter runs anywhere */
}

static int tcg_init(struct machine *m, GError **errp)
{
    if (m->cfg && m->cfg->icount) {
        tcg_icount_enable(m->cfg->icount_shift, m->cfg->icount_sleep);
    }
    ram_set_write_hook(tcg_ram_written);
    mem_set_map_hook(tcg_map_changed);
    return tcg_irqchip_init(m, errp);
}

static int tcg_add_ram(uint64_t gpa, uint64_t size, void *hva, GError **errp)
{
    return 0;
}

/*
 * x86_cpu_state keeps the x87 registers in stack order (ST(i), as FXSAVE
 * and KVM do); the software CPU keeps them by physical number R(i), which
 * MMX aliases and pushes and pops do not move.  to_phys picks the direction.
 */
static void fpu_rotate(struct x86_fpu_state *f, bool to_phys)
{
    unsigned top = (f->fsw >> 11) & 7;
    __typeof__(f->st[0]) tmp[8];

    for (unsigned i = 0; i < 8; i++) {
        if (to_phys) {
            tmp[(top + i) & 7] = f->st[i];
        } else {
            tmp[i] = f->st[(top + i) & 7];
        }
    }
    memcpy(f->st, tmp, sizeof(tmp));
}

/* Loads st and recomputes everything derived from it. */
static void tcg_load_state(struct tcg_vcpu *p, const struct x86_cpu_state *st)
{
    struct tcg_cpu *cpu = &p->cpu;

    cpu->st = *st;
    fpu_rotate(&cpu->st.fpu, true);
    cpu->st.rflags |= RFLAGS_FIXED;
    /* Derive the CPL from CS rather than from the previous mode. */
    cpu->mode = MODE_PROT32;
    cpu->cpl = 0;
    tcg_cpu_mode_changed(cpu);
    tcg_tlb_flush(cpu);
    tcg_blocks_flush(cpu->blocks);
}

/* The CPUID the guest sees: the -cpu model, limited to what the software
 * CPU implements, with the -smp topology (tcg-cpuid.c). */
static int setup_cpuid(struct tcg_vcpu *p, struct vcpu *vcpu, GError **errp)
{
    const struct hyvm_config *cfg = vcpu->m->cfg;
    struct x86_cpu_topo topo = { cfg->smp_sockets, cfg->smp_dies, cfg->smp_cores,
                                 cfg->smp_threads };

    return tcg_cpu_setup_cpuid(&p->cpu, vcpu->m->cpu_def, vcpu->index, &topo, errp);
}

static int tcg_vcpu_init(struct vcpu *vcpu, GError **errp)
{
    struct tcg_vcpu *p = g_new0(struct tcg_vcpu, 1);
    struct x86_cpu_state st;

    p->cpu.vcpu = vcpu;
    p->cpu.blocks = tcg_blocks_new();
    if (setup_cpuid(p, vcpu, errp) < 0) {
        tcg_blocks_free(p->cpu.blocks);
        g_free(p);
        return -1;
    }
    if (vcpu->m->cfg->tcg_jit) {
        static bool warned;
        g_autoptr(GError) err = NULL;

        /* Without a code buffer the interpreter runs every block; one line
         * says so, however many vCPUs are refused. */
        p->cpu.jit = jit_buf_create(vcpu->m->cfg->tcg_tb_size ? vcpu->m->cfg->tcg_tb_size
                                                              : TCG_JIT_BUF_SIZE, &err);
        if (!p->cpu.jit && !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED)) {
            warn_report("tcg: jit=on, but the translator cannot run: %s; using the interpreter",
                        err->message);
        }
        if (p->cpu.jit && (g_getenv("HYVM_TCG_STATS") || log_enabled(LOG_TB_STATS))) {
            p->cpu.jit_fallbacks = g_new0(uint64_t, OP__MAX);
        }
    }
    x86_cpu_state_reset(&st, vcpu->index == 0);
    tcg_load_state(p, &st);
    p->halted = p->wait_sipi = st.wait_for_sipi;
    vcpu->accel_priv = p;
    p->cpu.icount_limit = UINT64_MAX;
    if (tcg_icount_on) {
        tcg_icount_add_vcpu(vcpu->index);
    } else if (vcpu->m->cfg->tcg_single_thread) {
        turn.nvcpus = MAX(turn.nvcpus, vcpu->index + 1);
    } else if (vcpu->index > 0) {
        tcg_mttcg = true;   /* before any vCPU runs: blocks are decoded for it */
        tcg_overcommitted = vcpu->index + 1 > (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1);
    }
    if (!tcg_cpus) {
        tcg_cpus = g_ptr_array_new();
    }
    if (tcg_cpus->len <= vcpu->index) {
        g_ptr_array_set_size(tcg_cpus, vcpu->index + 1);
    }
    g_ptr_array_index(tcg_cpus, vcpu->index) = &p->cpu;
    return 0;
}

static const char *const exc_names[32] = {
    [EXC_DE] = "#DE", [EXC_DB] = "#DB", [EXC_NMI] = "NMI", [EXC_BP] = "#BP",
    [EXC_OF] = "#OF", [EXC_BR] = "#BR", [EXC_UD] = "#UD", [EXC_NM] = "#NM",
    [EXC_DF] = "#DF", [EXC_TS] = "#TS", [EXC_NP] = "#NP", [EXC_SS] = "#SS",
    [EXC_GP] = "#GP", [EXC_PF] = "#PF", [EXC_MF] = "#MF", [EXC_AC] = "#AC",
    [EXC_MC] = "#MC", [EXC_XM] = "#XM",
};

/*
 * A fault while delivering #DF shuts the CPU down (SDM vol. 3, 6.15,
 * interrupt 8): reported like KVM's triple fault, naming the exception
 * that started it.
 */
static void tcg_report_triple_fault(struct vcpu *vcpu, struct tcg_cpu *cpu,
                                    const struct tcg_exception *first, uint64_t rip)
{
    const char *name = first->vector < 32 && exc_names[first->vector]
                           ? exc_names[first->vector] : "exception";
    g_autofree char *err = NULL;

    if (first->has_error_code) {
        err = g_strdup_printf(" (error code 0x%x)", first->error_code);
    }
    bql_lock();
    error_report("vCPU %u: guest triple fault (%s%s, vector %u, at %04x:%016llx could not "
                 "be delivered)", vcpu->index, name, err ? err : "", first->vector,
                 cpu->st.seg[S_CS].selector, (unsigned long long)rip);
    x86_cpu_state_dump(&cpu->st, stderr);
    bql_unlock();
}

static bool take_interrupt(struct tcg_vcpu *p);

/* Delivers the exception the loop returned; false after a triple fault. */
static bool deliver_or_shut_down(struct vcpu *vcpu, struct tcg_vcpu *p)
{
    struct tcg_exception first = p->cpu.exc;
    uint64_t rip = p->cpu.st.rip;

    if (tcg_deliver_exception(&p->cpu)) {
        return true;
    }
    tcg_report_triple_fault(vcpu, &p->cpu, &first, rip);
    p->shutdown = true;     /* like a CPU in shutdown: once, until reset */
    return false;
}

/*
 * Runs the guest until a kick, a HLT with nothing to wake it, or the end.
 * External interrupts are taken here, between blocks: the loop returns
 * TCG_STOP when INTR is up and IF is set, and a halted CPU wakes when one
 * is delivered.  A TCG_STOP an I/O access asked for (the VM is ending or
 * pausing) returns at once so that no further instruction runs.
 */
/*
 * INIT and SIPI (SDM vol. 3, 9.4.4): INIT gives the reset register values
 * and puts an AP in the wait-for-SIPI state (the local APIC was reset by the
 * sender's bus, interrupts.c); a SIPI while waiting starts it in real mode
 * at vector << 12.  A vCPU that holds the execution turn applies them to
 * another vCPU at once (that one is outside guest code, so the order of
 * INIT and the SIPIs after it is kept); anything else leaves a request the
 * target's loop takes.
 */
static void apply_init(struct tcg_vcpu *p)
{
    uint64_t apic_base = p->cpu.st.apic_base;
    bool bsp = apic_base & MSR_IA32_APICBASE_BSP;
    struct x86_cpu_state st;

    /* The BSP restarts at the reset vector; an AP waits for a SIPI. */
    x86_cpu_state_reset(&st, bsp);
    st.apic_base = apic_base;
    tcg_load_state(p, &st);
    p->cpu.irq_inhibit = 0;
    p->cpu.nmi_blocked = false;
    p->halted = p->wait_sipi = st.wait_for_sipi;
    log_mask(LOG_INT, "tcg: vCPU %u: INIT\n", ((struct vcpu *)p->cpu.vcpu)->index);
}

static void apply_sipi(struct tcg_vcpu *p, unsigned vector)
{
    struct x86_segment *cs = &p->cpu.st.seg[S_CS];

    if (!p->wait_sipi) {
        return;     /* a SIPI to a running CPU is ignored */
    }
    cs->selector = (uint16_t)(vector << 8);
    cs->base = (uint64_t)vector << 12;
    p->cpu.st.rip = 0;
    p->halted = p->wait_sipi = false;
    tcg_cpu_mode_changed(&p->cpu);
    log_mask(LOG_INT, "tcg: vCPU %u: start-up IPI, vector 0x%02x\n",
             ((struct vcpu *)p->cpu.vcpu)->index, vector);
}

static void take_init_sipi(struct tcg_vcpu *p)
{
    uint32_t req = __atomic_exchange_n(&p->startup_req, 0, __ATOMIC_ACQ_REL);

    if (req & STARTUP_INIT) {
        apply_init(p);
    }
    if (req & STARTUP_SIPI) {
        apply_sipi(p, req & 0xff);
    }
}

/* The caller runs guest code on another vCPU than p and holds the turn. */
static bool may_touch(const struct tcg_vcpu *p)
{
    return tcg_self && tcg_self != &p->cpu && turn.nvcpus > 1 &&
           __atomic_load_n(&turn.holder, __ATOMIC_ACQUIRE) == (struct tcg_vcpu *)tcg_self;
}

/* One turn of the loop below; returns with the turn still held. */
static enum vcpu_exit tcg_vcpu_loop(struct vcpu *vcpu, struct tcg_vcpu *p)
{
    for (;;) {
        enum tcg_status st;
        uint64_t rip;

        if (p->kick) {
            p->kick = false;
            p->stop = false;
            return VCPU_EXIT_KICKED;
        }
        if (p->shutdown) {
            return VCPU_EXIT_HALTED;
        }
        if (p->startup_req) {
            take_init_sipi(p);
        }
        if (p->wait_sipi) {
            return VCPU_EXIT_HALTED;
        }
        rip = p->cpu.st.rip;
        if (!take_interrupt(p)) {
            tcg_report_triple_fault(vcpu, &p->cpu, &p->cpu.exc, rip);
            p->shutdown = true;
            return VCPU_EXIT_SHUTDOWN;
        }
        if (p->halted) {
            return VCPU_EXIT_HALTED;
        }
        st = tcg_run(&p->cpu, &p->stop);
        switch (st) {
        case TCG_EXCEPTION:
            if (!deliver_or_shut_down(vcpu, p)) {
                return VCPU_EXIT_SHUTDOWN;
            }
            break;
        case TCG_HALT:
            p->halted = true;
            break;
        default:
            if (!p->kick && p->stop) {
                /* another vCPU's turn */
                p->stop = false;
                turn_give(p, true);
                if (!turn_take(p)) {
                    p->kick = false;
                    return VCPU_EXIT_KICKED;
                }
                break;
            }
            if (!p->kick && tcg_event_ready(&p->cpu) && !vm_exit_requested() &&
                !vm_pause_pending() && !vm_reset_pending()) {
                break;      /* stopped for the interrupt or NMI: take it */
            }
            p->kick = false;
            p->stop = false;
            return VCPU_EXIT_KICKED;
        }
    }
}

/*
 * -icount (icount.c): the loop above in turns counted in instructions, with
 * the virtual clock's timers run here between blocks.  Returns only for a
 * kick (keeping the turn) or a triple fault; a halted vCPU passes its turn
 * on instead of returning, and when no vCPU has anything to run the holder
 * of the turn moves the clock on to the next timer.
 */
static enum vcpu_exit icount_vcpu_run(struct vcpu *vcpu, struct tcg_vcpu *p)
{
    while (tcg_icount_wait_turn(vcpu->index, &p->kick)) {
        uint64_t slice_end = tcg_icount_slice_end(&p->cpu);

        p->slice_over = false;
        for (;;) {
            enum tcg_status st;
            uint64_t rip;

            if (p->kick || vm_exit_requested() || vm_pause_pending() || vm_reset_pending()) {
                goto kicked;
            }
            tcg_icount_run_timers();
            vclock_icount_adjust();
            if (p->startup_req) {
                take_init_sipi(p);
            }
            rip = p->cpu.st.rip;
            if (!p->shutdown && !p->wait_sipi && !take_interrupt(p)) {
                tcg_report_triple_fault(vcpu, &p->cpu, &p->cpu.exc, rip);
                p->shutdown = true;
                return VCPU_EXIT_SHUTDOWN;
            }
            if (p->shutdown || p->halted) {
                if (tcg_icount_pass_turn(vcpu->index)) {
                    break;
                }
                tcg_icount_idle(&p->kick);      /* nobody has anything to run */
                continue;
            }
            if (p->cpu.icount >= slice_end || p->slice_over) {
                if (tcg_icount_pass_turn(vcpu->index)) {
                    break;
                }
                slice_end = tcg_icount_slice_end(&p->cpu);
                p->slice_over = false;
            }
            tcg_icount_set_limit(&p->cpu, slice_end);
            st = tcg_run(&p->cpu, &p->stop);
            if (st == TCG_EXCEPTION && !deliver_or_shut_down(vcpu, p)) {
                return VCPU_EXIT_SHUTDOWN;
            }
            if (st == TCG_HALT) {
                p->halted = true;
            }
            /* Otherwise the budget ran out, an interrupt came or a kick: all seen above. */
            p->stop = false;
        }
    }
kicked:
    p->kick = false;
    p->stop = false;
    return VCPU_EXIT_KICKED;
}

bool tcg_icount_has_work(unsigned index)
{
    const struct tcg_cpu *cpu = tcg_cpu_at(index);
    const struct tcg_vcpu *p = (const struct tcg_vcpu *)cpu;

    if (!cpu || p->shutdown) {
        return false;
    }
    if (p->startup_req) {
        return true;
    }
    return !p->halted || (!p->wait_sipi && (cpu->nmi_req ||
                                            (cpu->irq_req && (cpu->st.rflags & RFLAGS_IF))));
}

/*
 * Runs the guest until a kick, a HLT with nothing to wake it, or the end.
 * External interrupts are taken here, between blocks: the loop returns
 * TCG_STOP when INTR is up and IF is set, and a halted CPU wakes when one
 * is delivered.  A TCG_STOP an I/O access asked for (the VM is ending or
 * pausing) returns at once so that no further instruction runs.
 */
static enum vcpu_exit tcg_vcpu_run(struct vcpu *vcpu)
{
    struct tcg_vcpu *p = vcpu->accel_priv;
    enum vcpu_exit why;

    tcg_self = &p->cpu;
    if (tcg_icount_on) {
        return icount_vcpu_run(vcpu, p);
    }
    if (!turn_take(p)) {
        p->kick = false;
        p->stop = false;
        return VCPU_EXIT_KICKED;
    }
    why = tcg_vcpu_loop(vcpu, p);
    turn_give(p, false);
    return why;
}

/*
 * PAUSE (SDM vol. 2B): a spin-wait hint.  A vCPU spinning on a lock that a
 * vCPU waiting for the turn holds cannot win before that one runs, so with
 * another vCPU waiting it gives the turn up right after the PAUSE instead
 * of spinning out its slice.  Right after, not at the end of the block: a
 * spinner may free a lock only across its PAUSE and take it back with the
 * next instruction (SeaBIOS's BSP waiting for its APs: "movl $0, lock;
 * 1: pause; lock bts $0, lock; jc 1b"), and a turn given up at the end of
 * that block would always leave the lock held.
 */
enum tcg_status exec_pause(struct tcg_cpu *cpu, const struct insn *in)
{
    struct tcg_vcpu *p = (struct tcg_vcpu *)cpu;

    (void)in;
    if (tcg_icount_on && tcg_self == cpu && tcg_cpu_count() > 1) {
        /* -icount: the spinning vCPU's turn ends here, the same place every run. */
        p->slice_over = true;
        cpu->icount_limit = 0;
        return TCG_STOP;
    }
    if (turn.nvcpus > 1 && __atomic_load_n(&turn.waiters, __ATOMIC_RELAXED) &&
        tcg_self == cpu) {
        __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
        return TCG_STOP;    /* retired: the block ends after it */
    }
    /* vCPUs at once on fewer host CPUs: the one this spins for may be waiting for a host
     * CPU, so this one lets it have its own. */
    if (tcg_overcommitted && tcg_self == cpu) {
        sched_yield();
    }
    return TCG_OK;
}

void tcg_stop_after_insn(struct tcg_cpu *cpu)
{
    struct tcg_vcpu *p = (struct tcg_vcpu *)cpu;

    if (!cpu->vcpu) {
        return;     /* a unit test's CPU: nothing waits for it */
    }
    __atomic_store_n(&p->kick, true, __ATOMIC_RELEASE);
    __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
    if (cpu->blocks) {
        *tcg_blocks_hit(cpu->blocks) = true;
    }
}

void tcg_vcpu_init_signal(struct vcpu *vcpu)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    if (!p) {
        return;
    }
    if (may_touch(p)) {
        __atomic_store_n(&p->startup_req, 0, __ATOMIC_RELEASE);
        apply_init(p);
    } else {
        /* Replaces a SIPI not taken yet: after the INIT it would be one too early. */
        __atomic_store_n(&p->startup_req, STARTUP_INIT, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
    cpus_wake(vcpu);
}

void tcg_vcpu_sipi(struct vcpu *vcpu, uint8_t vector)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    if (!p) {
        return;
    }
    if (may_touch(p) && !p->startup_req) {
        apply_sipi(p, vector);
    } else {
        uint32_t old = __atomic_load_n(&p->startup_req, __ATOMIC_ACQUIRE), req;

        do {
            req = (old & STARTUP_INIT) | STARTUP_SIPI | vector;
        } while (!__atomic_compare_exchange_n(&p->startup_req, &old, req, false,
                                              __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    }
    __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
    cpus_wake(vcpu);
}

static void tcg_vcpu_nmi(struct vcpu *vcpu)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    if (p) {
        __atomic_store_n(&p->cpu.nmi_req, true, __ATOMIC_RELEASE);
        __atomic_store_n(&p->kick, true, __ATOMIC_RELEASE);
        __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
        cpus_wake(vcpu);
        if (tcg_icount_on) {
            tcg_icount_wake();
        }
    }
}

static void tcg_vcpu_kick(struct vcpu *vcpu)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    if (p) {
        __atomic_store_n(&p->kick, true, __ATOMIC_RELEASE);
        __atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
        turn_wake();
        if (tcg_icount_on) {
            tcg_icount_wake();
        }
    }
}

static int tcg_get_state(struct vcpu *vcpu, struct x86_cpu_state *st)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    *st = p->cpu.st;
    fpu_rotate(&st->fpu, false);
    st->halted = p->halted;
    st->wait_for_sipi = p->wait_sipi;
    return 0;
}

static int tcg_set_state(struct vcpu *vcpu, const struct x86_cpu_state *st)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    tcg_load_state(p, st);
    p->halted = st->halted || st->wait_for_sipi;
    p->wait_sipi = st->wait_for_sipi;
    p->startup_req = 0;
    p->shutdown = false;
    /* A loaded state starts outside any shadow or NMI handler, with the
     * MSRs kept outside st at their power-on values. */
    p->cpu.irq_inhibit = 0;
    p->cpu.nmi_blocked = false;
    p->cpu.nmi_req = false;
    tcg_msr_reset(&p->cpu);
    return 0;
}

static void tcg_set_irq(unsigned gsi, int level)
{
    tcg_irqchip_set_irq(gsi, level);
}

void tcg_vcpu_set_intr(struct vcpu *vcpu, bool level)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    if (!p) {
        return;
    }
    __atomic_store_n(&p->cpu.irq_req, level, __ATOMIC_RELEASE);
    if (level) {
        cpus_wake(vcpu);
        if (tcg_icount_on && !tcg_self) {
            tcg_icount_wake();      /* from outside the vCPUs: ends an idle wait */
        }
    }
}

/*
 * Takes a pending external interrupt if the CPU accepts one now (IF set,
 * no STI/MOV SS shadow): the acknowledge cycle, then IDT delivery as for
 * a fault at the current RIP (SDM vol. 3, 6.4.1), which also ends HLT.
 * False when the delivery itself could not be done (a triple fault).
 */
static bool take_interrupt(struct tcg_vcpu *p)
{
    struct tcg_cpu *cpu = &p->cpu;
    int vec;

    /* NMI: not masked by IF, held off by MOV SS's shadow and while an
     * earlier NMI's handler runs, until its IRET (SDM vol. 3, 6.7.1). */
    if (__atomic_load_n(&cpu->nmi_req, __ATOMIC_ACQUIRE) && !cpu->nmi_blocked &&
        cpu->irq_inhibit != TCG_SHADOW_SS) {
        __atomic_store_n(&cpu->nmi_req, false, __ATOMIC_RELAXED);
        p->halted = false;
        cpu->nmi_blocked = true;
        cpu->exc = (struct tcg_exception){ .vector = EXC_NMI };
        log_mask(LOG_INT, "tcg: NMI\n");
        return tcg_deliver_exception(cpu);
    }

    if (!__atomic_load_n(&cpu->irq_req, __ATOMIC_ACQUIRE) || cpu->irq_inhibit ||
        !(cpu->st.rflags & RFLAGS_IF)) {
        return true;
    }
    vec = tcg_irqchip_ack(cpu);
    if (vec < 0) {
        return true;
    }
    p->halted = false;
    cpu->exc = (struct tcg_exception){ .vector = (uint8_t)vec };
    log_mask(LOG_INT, "tcg: external interrupt, vector 0x%02x\n", vec);
    return tcg_deliver_exception(cpu);
}

static int cmp_count_desc(const void *a, const void *b, void *counts)
{
    uint64_t x = ((const uint64_t *)counts)[*(const unsigned *)a];
    uint64_t y = ((const uint64_t *)counts)[*(const unsigned *)b];

    return x < y ? 1 : x > y ? -1 : 0;
}

/* HYVM_TCG_STATS and -d tb-stats: the operations translated code left to their handlers
 * most often. */
static void print_fallbacks(unsigned index, uint64_t *counts)
{
    unsigned order[OP__MAX];
    g_autoptr(GString) line = g_string_new(NULL);

    if (!counts) {
        return;
    }
    for (unsigned i = 0; i < OP__MAX; i++) {
        order[i] = i;
    }
    g_qsort_with_data(order, OP__MAX, sizeof(order[0]), cmp_count_desc, counts);
    for (unsigned i = 0; i < 16 && counts[order[i]]; i++) {
        g_string_append_printf(line, " %s %llu", insn_op_name(order[i]),
                               (unsigned long long)counts[order[i]]);
    }
    if (g_getenv("HYVM_TCG_STATS")) {
        fprintf(stderr, "hyvm: tcg: vCPU %u jit handler calls:%s\n", index,
                line->len ? line->str : " none");
    }
    log_mask(LOG_TB_STATS, "tcg: vCPU %u: translated code called the handlers of:%s\n", index,
             line->len ? line->str : " none");
}

static void tcg_vcpu_destroy(struct vcpu *vcpu)
{
    struct tcg_vcpu *p = vcpu->accel_priv;

    if (!p) {
        return;
    }
    /* For tests/bench/cpu.py: host instructions per guest instruction. */
    if (g_getenv("HYVM_TCG_STATS")) {
        fprintf(stderr, "hyvm: tcg: vCPU %u retired %llu instructions\n", vcpu->index,
                (unsigned long long)p->cpu.icount);
        if (p->cpu.jit) {
            fprintf(stderr, "hyvm: tcg: vCPU %u jit translated %llu blocks, ran %llu "
                    "translated blocks (and %llu more chained), reset its code buffer %llu "
                    "times\n", vcpu->index,
                    (unsigned long long)p->cpu.jit_translated,
                    (unsigned long long)p->cpu.jit_runs,
                    (unsigned long long)p->cpu.jit_chains,
                    (unsigned long long)p->cpu.jit_resets);
        }
    }
    print_fallbacks(vcpu->index, p->cpu.jit_fallbacks);
    if (tcg_cpus && vcpu->index < tcg_cpus->len) {
        g_ptr_array_index(tcg_cpus, vcpu->index) = NULL;
    }
    tcg_blocks_free(p->cpu.blocks);
    tcg_code_cpu_free(&p->cpu);
    if (p->cpu.jit) {
        jit_buf_destroy(p->cpu.jit);
    }
    g_free(p->cpu.jit_fallbacks);
    tcg_cpu_free_cpuid(&p->cpu);
    g_free(p);
    vcpu->accel_priv = NULL;
}

const struct accel_ops accel_tcg_ops = {
    .name = "tcg",
    .desc = "the software CPU (a translator to host code, over an x86-64 interpreter)",
    .probe = tcg_probe,
    .init = tcg_init,
    .add_ram = tcg_add_ram,
    .vcpu_init = tcg_vcpu_init,
    .vcpu_run = tcg_vcpu_run,
    .vcpu_kick = tcg_vcpu_kick,
    .vcpu_nmi = tcg_vcpu_nmi,
    .reset = tcg_irqchip_reset,
    .hpet_legacy = tcg_irqchip_pit_gate,
    .get_state = tcg_get_state,
    .set_state = tcg_set_state,
    .set_irq = tcg_set_irq,
    .vcpu_destroy = tcg_vcpu_destroy,
};
