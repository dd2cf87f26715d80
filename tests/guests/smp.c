/*
 * SMP bring-up and inter-processor interrupts through the local APICs in
 * xAPIC mode (SDM vol. 3, "Multiple-Processor (MP) Initialization" and
 * "Issuing Interprocessor Interrupts"; the MP specification 1.4, B.4).
 * Run with "-smp N -append cpus=N" (and together=1 for the checks on every CPU at once).
 *
 * The BSP copies smp-trampoline.S below 1 MiB and starts the APs with
 * INIT and two start-up IPIs to all excluding self.  Each AP enters the
 * same mode as the BSP, counts itself with LOCK XADD, records the APIC ID
 * its own APIC page shows, sets its logical ID for the flat model and
 * waits in HLT with interrupts on, doing what the BSP asks in ap_cmd[].
 * Then: fixed IPIs by physical ID, the all-excluding-self shorthand, an
 * IPI from each AP to the BSP, the logical flat model, lowest priority,
 * and INIT stopping a running AP that a new SIPI restarts; a spin lock
 * the BSP frees only between a release and its next LOCK BTS, with PAUSE
 * between (SeaBIOS's smp_scan, waiting for its APs), reaching every AP.
 * Then every
 * CPU at once: locked instructions on shared counters and bits (none may
 * lose an update), and cross-modifying code (the BSP patches a function
 * the APs keep calling; after they see the signal and serialise, they
 * must run the new bytes, SDM vol. 3, 8.1.3).
 *
 * Every wait is bounded by a loop count: a missing IPI is a failed check,
 * not a hang.  Built as smp32 and smp64.
 */
#include "x86.h"

#define APIC_BASE_ADDR 0xfee00000ul
#define APIC_ID 0x20
#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360

/* ICR fields ("Interrupt Command Register (ICR)"). */
#define ICR_FIXED (0u << 8)
#define ICR_LOWEST (1u << 8)
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)
#define ICR_LOGICAL (1u << 11)
#define ICR_BUSY (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL_TRIG (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)

#define SMP_TRAMP_BASE 0x8000u  /* as in smp-trampoline.S */
#define VEC_IPI 0x40
#define VEC_WAKE 0x41
#define MAX_CPUS 16             /* APIC IDs counted per ID below this */
#define STACK_SLOTS 32          /* AP starts, restarts included */
#define AP_STACK_SIZE 4096
#define SPIN_MAX 20000000ul

enum { CMD_IDLE, CMD_SPIN, CMD_IPI_BSP, CMD_ATOMICS, CMD_XMOD, CMD_HANDOFF };

struct smp_tramp_params {
    uint16_t gdt_limit;
    uint32_t gdt_base;
    uint16_t pad0;
    uint16_t idt_limit;
    uint64_t idt_base;
    uint16_t pad1[3];
    uint32_t cr3, entry, stacks, stack_size, nslots, next_slot;
} __attribute__((packed));

extern const uint8_t smp_tramp_start[], smp_tramp_end[], smp_tramp_params[];

static uint8_t ap_stacks[STACK_SLOTS][AP_STACK_SIZE] __attribute__((aligned(16)));

/* Written by the APs. */
static volatile unsigned arrived;                       /* LOCK XADD */
static volatile uint32_t arrival_id[STACK_SLOTS];       /* APIC ID of the n-th arrival */
static volatile uint32_t arrival_cpuid[STACK_SLOTS];    /* CPUID.1:EBX[31:24] there */
static volatile unsigned starts[MAX_CPUS];              /* by APIC ID */
static volatile unsigned ipis[MAX_CPUS];                /* VEC_IPI taken, by APIC ID */
static volatile unsigned long spins[MAX_CPUS];          /* CMD_SPIN loops */
/* Written by the BSP. */
static volatile unsigned ap_cmd[MAX_CPUS];
static volatile unsigned bsp_id;

static volatile uint32_t *apic_reg(unsigned off)
{
    return (volatile uint32_t *)(APIC_BASE_ADDR + off);
}

static uint32_t apic_read(unsigned off)
{
    return *apic_reg(off);
}

static void apic_write(unsigned off, uint32_t v)
{
    *apic_reg(off) = v;
}

static unsigned my_apic_id(void)
{
    return apic_read(APIC_ID) >> 24;
}

static void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}

/* Waits until *p reaches at least want; whether it did. */
static int wait_at_least(volatile unsigned *p, unsigned want)
{
    for (unsigned long i = 0; *p < want && i < SPIN_MAX; i++) {
        cpu_relax();
    }
    return *p >= want;
}

static void delay(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        cpu_relax();
    }
}

/* Sends an IPI and waits (bounded) for the APIC to take the next one. */
static int send_ipi(unsigned dest, uint32_t lo)
{
    apic_write(APIC_ICR_HI, dest << 24);
    apic_write(APIC_ICR_LO, lo);
    for (unsigned long i = 0; i < SPIN_MAX; i++) {
        if (!(apic_read(APIC_ICR_LO) & ICR_BUSY)) {
            return 1;
        }
        cpu_relax();
    }
    return 0;
}

static void on_ipi(struct exc_frame *f)
{
    unsigned id = my_apic_id();

    if (id < MAX_CPUS) {
        __atomic_fetch_add(&ipis[id], 1, __ATOMIC_SEQ_CST);
    }
    apic_write(APIC_EOI, 0);
}

/* Only wakes the AP from HLT to read its command. */
static void on_wake(struct exc_frame *f)
{
    apic_write(APIC_EOI, 0);
}

/* The APIC software enabled, priority 0, the LINT pins masked; the flat
 * logical model with one bit per APIC ID below 8 ("Logical Destination Mode"). */
static void apic_setup(unsigned id)
{
    apic_write(APIC_SVR, 0x100 | 0xff);
    apic_write(APIC_TPR, 0);
    apic_write(APIC_LVT_LINT0, 0x10000);
    apic_write(APIC_LVT_LINT1, 0x10000);
    apic_write(APIC_DFR, 0xffffffffu);
    apic_write(APIC_LDR, id < 8 ? 1u << (24 + id) : 0);
}

/* ---- every CPU at once: locked instructions ---- */

#define ATOMIC_ITERS 20000u

static volatile uint32_t c_add, c_inc, c_sub, c_xadd, c_cas, c_plain, spin_word;
static volatile uint32_t bits_bts, bits_or;
static volatile uint64_t c_wide __attribute__((aligned(8)));
#if MODE_BITS == 64
static volatile uint64_t c_dwide[2] __attribute__((aligned(16)));
#endif
static volatile unsigned atomics_bad, atomics_done, atomics_stuck;

/* LOCK CMPXCHG8B: *p += 1 as one 64-bit compare-and-exchange (both modes). */
static void inc_cmpxchg8b(volatile uint64_t *p)
{
    uint32_t lo = (uint32_t)*p, hi = (uint32_t)(*p >> 32);
    uint8_t ok;

    do {
        uint64_t n = (((uint64_t)hi << 32) | lo) + 1;

        __asm__ volatile("lock cmpxchg8b %0; setz %1"
                         : "+m"(*p), "=q"(ok), "+a"(lo), "+d"(hi)
                         : "b"((uint32_t)n), "c"((uint32_t)(n >> 32))
                         : "memory", "cc");
    } while (!ok);
}

#if MODE_BITS == 64
/* LOCK CMPXCHG16B: both halves += 1 in one exchange. */
static void inc_cmpxchg16b(volatile uint64_t *p)
{
    uint64_t lo = p[0], hi = p[1];
    uint8_t ok;

    do {
        __asm__ volatile("lock cmpxchg16b %0; setz %1"
                         : "+m"(*(volatile uint64_t (*)[2])p), "=q"(ok), "+a"(lo), "+d"(hi)
                         : "b"(lo + 1), "c"(hi + 1)
                         : "memory", "cc");
    } while (!ok);
}
#endif

/*
 * One CPU's share: counters every CPU adds to, a spin lock taken with
 * XCHG (locked without a prefix) around a plain increment, and this CPU's
 * own bit in words every CPU changes (set, then cleared: finding it
 * already set, or already clear, means another CPU's store undid ours).
 */
static void atomics_run(unsigned me)
{
    uint32_t bit = 1u << me;
    unsigned bad = 0;

    for (unsigned i = 0; i < ATOMIC_ITERS; i++) {
        uint32_t v = 1, one;
        uint8_t cf;

        __asm__ volatile("lock addl $3, %0" : "+m"(c_add) : : "cc");
        __asm__ volatile("lock incl %0" : "+m"(c_inc) : : "cc");
        __asm__ volatile("lock subl $2, %0" : "+m"(c_sub) : : "cc");
        __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(c_xadd) : : "cc");
        v = c_cas;
        while (!__atomic_compare_exchange_n(&c_cas, &v, v + 1, 0, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST)) {
        }
        for (unsigned long k = 0;; k++) {
            one = 1;
            __asm__ volatile("xchgl %0, %1" : "+r"(one), "+m"(spin_word) : : "memory");
            if (!one) {
                break;
            }
            if (k == SPIN_MAX) {
                /* A lost release: the lock stays taken with nobody holding it. */
                atomics_stuck = 1;
                goto out;
            }
            cpu_relax();
        }
        c_plain = c_plain + 1;
        __asm__ volatile("movl $0, %0" : "=m"(spin_word) : : "memory");
        inc_cmpxchg8b(&c_wide);
#if MODE_BITS == 64
        inc_cmpxchg16b(c_dwide);
#endif
        __asm__ volatile("lock btsl %2, %0; setc %1" : "+m"(bits_bts), "=q"(cf) : "r"(me) : "cc");
        bad += cf;
        __asm__ volatile("lock btrl %2, %0; setc %1" : "+m"(bits_bts), "=q"(cf) : "r"(me) : "cc");
        bad += !cf;
        __asm__ volatile("lock orl %1, %0" : "+m"(bits_or) : "r"(bit) : "cc");
        bad += !(bits_or & bit);
        __asm__ volatile("lock andl %1, %0" : "+m"(bits_or) : "r"(~bit) : "cc");
        bad += !!(bits_or & bit);
    }
out:
    __atomic_fetch_add(&atomics_bad, bad, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&atomics_done, 1, __ATOMIC_SEQ_CST);
}

/* ---- every CPU at once: cross-modifying code ---- */

static uint8_t xmod_page[4096] __attribute__((aligned(4096)));
/* The hand-off lock (bit 0) and the APs that held it. */
static volatile uint32_t handoff_lock, handoff_count;
#define HANDOFF_TRIES 1000000ul

/* An AP: takes the lock as SeaBIOS's APs do (PAUSE, LOCK BTS), counts
 * itself, frees it. */
static void handoff_run(void)
{
    __asm__ volatile("1: pause\n\t"
                     "lock btsl $0, %0\n\t"
                     "jc 1b" : "+m"(handoff_lock) : : "cc", "memory");
    __atomic_fetch_add(&handoff_count, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&handoff_lock, 0, __ATOMIC_SEQ_CST);
}

static volatile uint32_t xmod_gen, xmod_stop;
static volatile uint32_t xmod_runs[MAX_CPUS], xmod_stale;

typedef uint32_t (*xmod_fn)(void);

/* Calls the patched function until told to stop: once it has seen generation g and
 * serialised, the function must return g or later. */
static void xmod_run(unsigned id)
{
    xmod_fn f = (xmod_fn)(ulong)xmod_page;

    while (!xmod_stop) {
        uint32_t g = xmod_gen;

        (void)cpuid(0, 0);      /* serialising */
        if (f() < g) {
            __atomic_fetch_add(&xmod_stale, 1, __ATOMIC_SEQ_CST);
        }
        xmod_runs[id]++;
    }
}

void smp_ap_main(void);

/* Where the trampoline lands, on the AP's own stack; never returns. */
void smp_ap_main(void)
{
    unsigned id = my_apic_id(), n;

    apic_setup(id);
    /* LOCK XADD: every arrival gets a slot of its own. */
    n = __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
    if (n < STACK_SLOTS) {
        arrival_id[n] = id;
        arrival_cpuid[n] = cpuid(1, 0).b >> 24;
    }
    if (id >= MAX_CPUS) {
        for (;;) {
            __asm__ volatile("cli; hlt");
        }
    }
    __atomic_fetch_add(&starts[id], 1, __ATOMIC_SEQ_CST);
    for (;;) {
        unsigned cmd;

        /* IF clear while deciding to sleep: STI's shadow lets HLT start
         * before an interrupt sent meanwhile is taken (SDM vol. 3, 6.8.3). */
        __asm__ volatile("cli" : : : "memory");
        cmd = ap_cmd[id];
        if (cmd == CMD_SPIN) {
            __asm__ volatile("sti" : : : "memory");
            while (ap_cmd[id] == CMD_SPIN) {
                spins[id]++;
            }
        } else if (cmd == CMD_ATOMICS || cmd == CMD_XMOD) {
            ap_cmd[id] = CMD_IDLE;
            __asm__ volatile("sti" : : : "memory");
            if (cmd == CMD_ATOMICS) {
                atomics_run(id);
            } else {
                xmod_run(id);
            }
        } else if (cmd == CMD_HANDOFF) {
            ap_cmd[id] = CMD_IDLE;
            __asm__ volatile("sti" : : : "memory");
            handoff_run();
        } else if (cmd == CMD_IPI_BSP) {
            ap_cmd[id] = CMD_IDLE;
            send_ipi(bsp_id, ICR_FIXED | ICR_ASSERT | VEC_IPI);
            __asm__ volatile("sti" : : : "memory");
        } else {
            __asm__ volatile("sti; hlt" : : : "memory");
        }
    }
}

static void setup_trampoline(void)
{
    struct smp_tramp_params *p;
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr = { 0, 0 }, idtr = { 0, 0 };

    memcpy((void *)(ulong)SMP_TRAMP_BASE, smp_tramp_start, smp_tramp_end - smp_tramp_start);
    p = (struct smp_tramp_params *)(ulong)(SMP_TRAMP_BASE + (smp_tramp_params - smp_tramp_start));
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    __asm__ volatile("sidt %0" : "=m"(idtr));
    p->gdt_limit = gdtr.limit;
    p->gdt_base = gdtr.base;
    p->idt_limit = idtr.limit;
    p->idt_base = idtr.base;
    p->cr3 = read_cr3();
    p->entry = (uint32_t)(ulong)smp_ap_main;
    p->stacks = (uint32_t)(ulong)ap_stacks;
    p->stack_size = AP_STACK_SIZE;
    p->nslots = STACK_SLOTS;
    p->next_slot = 0;
}

/* INIT, then two start-up IPIs (MP spec B.4; SDM vol. 3, "Typical AP
 * Initialization Sequence"); dest_lo: the shorthand or 0. */
static int start_aps(unsigned dest, uint32_t dest_lo)
{
    int ok = send_ipi(dest, dest_lo | ICR_INIT | ICR_ASSERT | ICR_LEVEL_TRIG);

    ok &= send_ipi(dest, dest_lo | ICR_INIT | ICR_LEVEL_TRIG);  /* de-assert */
    delay(10000);
    ok &= send_ipi(dest, dest_lo | ICR_SIPI | ICR_ASSERT | (SMP_TRAMP_BASE >> 12));
    delay(1000);
    ok &= send_ipi(dest, dest_lo | ICR_SIPI | ICR_ASSERT | (SMP_TRAMP_BASE >> 12));
    return ok;
}

static unsigned ncpus;
static unsigned ap_ids[MAX_CPUS];   /* the APs that arrived, by APIC ID */
static unsigned nap;

static void test_bringup(void)
{
    unsigned want = ncpus - 1, seen = 0, distinct = 1, own = 1, once = 1;

    report(start_aps(0, ICR_ALL_BUT_SELF), "INIT and two SIPIs sent to all excluding self");
    wait_at_least(&arrived, want);
    delay(200000);      /* a straggler or an AP started twice would show now */
    report(arrived == want, "%u APs arrived (want %u)", arrived, want);
    for (unsigned n = 0; n < arrived && n < STACK_SLOTS; n++) {
        uint32_t id = arrival_id[n];

        if (id == 0 || id >= ncpus || (seen & (1u << id))) {
            distinct = 0;
        } else {
            seen |= 1u << id;
            ap_ids[nap++] = id;
        }
        if (arrival_cpuid[n] != id) {
            own = 0;
        }
        printf("%s: AP %u: APIC ID %u, CPUID initial APIC ID %u\n", test_name, n, (unsigned)id,
               (unsigned)arrival_cpuid[n]);
    }
    report(distinct && seen == ((1u << ncpus) - 2),
           "APIC IDs distinct and 1..%u (mask %x)", ncpus - 1, seen);
    report(own, "each AP reads its own APIC ID at FEE00020h (its CPUID initial APIC ID)");
    for (unsigned i = 0; i < nap; i++) {
        once &= starts[ap_ids[i]] == 1;
    }
    report(nap && once, "each AP started once: the second SIPI is ignored");
}

/* The ipis[] of every APIC ID below MAX_CPUS, copied. */
static void snapshot(unsigned *out)
{
    for (unsigned i = 0; i < MAX_CPUS; i++) {
        out[i] = ipis[i];
    }
}

/* ipis[] grew by want[i] for each ID i (unset entries: 0). */
static int grew_by(const unsigned *before, const unsigned *want)
{
    int ok = 1;

    for (unsigned i = 0; i < MAX_CPUS; i++) {
        if (ipis[i] - before[i] != want[i]) {
            printf("%s: APIC ID %u: %u IPIs, want %u\n", test_name, i, ipis[i] - before[i],
                   want[i]);
            ok = 0;
        }
    }
    return ok;
}

static void test_fixed(void)
{
    unsigned before[MAX_CPUS], want[MAX_CPUS] = { 0 };
    int sent = 1;

    snapshot(before);
    for (unsigned round = 1; round <= 3; round++) {
        for (unsigned i = 0; i < nap; i++) {
            sent &= send_ipi(ap_ids[i], ICR_FIXED | ICR_ASSERT | VEC_IPI);
            sent &= wait_at_least(&ipis[ap_ids[i]], before[ap_ids[i]] + round);
        }
    }
    delay(100000);
    for (unsigned i = 0; i < nap; i++) {
        want[ap_ids[i]] = 3;
    }
    report(sent && grew_by(before, want),
           "fixed IPI by physical APIC ID: each AP takes each of 3 exactly once");

    snapshot(before);
    sent = send_ipi(0, ICR_ALL_BUT_SELF | ICR_FIXED | ICR_ASSERT | VEC_IPI);
    for (unsigned i = 0; i < nap; i++) {
        sent &= wait_at_least(&ipis[ap_ids[i]], before[ap_ids[i]] + 1);
        want[ap_ids[i]] = 1;
    }
    delay(100000);
    report(sent && grew_by(before, want), "all-excluding-self reaches every AP, not the BSP");
}

static void test_to_bsp(void)
{
    unsigned before = ipis[bsp_id];
    int ok = 1;

    for (unsigned i = 0; i < nap; i++) {
        ap_cmd[ap_ids[i]] = CMD_IPI_BSP;
        ok &= send_ipi(ap_ids[i], ICR_FIXED | ICR_ASSERT | VEC_WAKE);
        ok &= wait_at_least(&ipis[bsp_id], before + i + 1);
    }
    delay(100000);
    report(ok && ipis[bsp_id] - before == nap, "an IPI from each AP reaches the BSP: %u of %u",
           ipis[bsp_id] - before, nap);
}

static void test_logical(void)
{
    unsigned before[MAX_CPUS], want[MAX_CPUS] = { 0 };
    unsigned mask = 0, got = 0;
    int sent = 1;

    /* The odd APIC IDs: a strict subset of the APs from 3 CPUs on. */
    for (unsigned i = 0; i < nap; i++) {
        if ((ap_ids[i] & 1) && ap_ids[i] < 8) {
            mask |= 1u << ap_ids[i];
            want[ap_ids[i]] = 1;
        }
    }
    snapshot(before);
    sent = send_ipi(mask, ICR_LOGICAL | ICR_FIXED | ICR_ASSERT | VEC_IPI);
    for (unsigned i = 0; i < MAX_CPUS; i++) {
        if (want[i]) {
            sent &= wait_at_least(&ipis[i], before[i] + 1);
        }
    }
    delay(100000);
    report(mask && sent && grew_by(before, want),
           "logical flat destination %x reaches exactly those APs", mask);

    /* Lowest priority among the same APs: one of them takes it. */
    snapshot(before);
    sent = send_ipi(mask, ICR_LOGICAL | ICR_LOWEST | ICR_ASSERT | VEC_IPI);
    for (unsigned long n = 0; n < SPIN_MAX && !got; n++) {
        for (unsigned i = 0; i < MAX_CPUS; i++) {
            got |= ipis[i] - before[i];
        }
        cpu_relax();
    }
    delay(100000);
    got = 0;
    for (unsigned i = 0; i < MAX_CPUS; i++) {
        unsigned d = ipis[i] - before[i];

        got += d;
        if (d && !(mask & (1u << i))) {
            got = 100;
        }
    }
    report(mask && sent && got == 1, "lowest priority to %x: exactly one of them takes it (%u)",
           mask, got);
}

/*
 * Waits until spins[id] has grown by n and the BSP has seen it move at
 * least `steps` times: where vCPUs take turns (hyvm's software CPU), each
 * move seen is another turn of that AP's, and the others had theirs in
 * between.  Whether it did.
 */
static int spins_grow(unsigned id, unsigned long n, unsigned steps)
{
    unsigned long start = spins[id], last = start;
    unsigned seen = 0;

    for (unsigned long i = 0; i < SPIN_MAX; i++) {
        unsigned long now = spins[id];

        if (now != last) {
            seen++;
            last = now;
        }
        if (now - start >= n && seen >= steps) {
            return 1;
        }
        cpu_relax();
    }
    return 0;
}

/* Lets n TSC ticks go by (bounded by the loop count too). */
static void tsc_wait(uint64_t n)
{
    uint64_t start = rdtsc();

    for (unsigned long i = 0; i < SPIN_MAX && rdtsc() - start < n; i++) {
        cpu_relax();
    }
}

/*
 * Long enough for every vCPU to run, whether they take turns (hyvm's
 * software CPU) or the host schedules their threads: many turns of the
 * spinning peer, then some 100 ms at a few GHz with the peer still running.
 */
static int window(unsigned peer)
{
    int ok = spins_grow(peer, 200000, 8);

    tsc_wait(300000000ull);
    return ok && spins_grow(peer, 1000, 2);
}

static void test_init_restart(void)
{
    unsigned target, peer, starts_before, arrived_before;
    unsigned long s1, s2;
    int ok;

    if (nap < 2) {
        report_skip("INIT and restart: needs 2 APs (-smp 3 or more)");
        return;
    }
    target = ap_ids[0];
    peer = ap_ids[1];
    ap_cmd[target] = CMD_SPIN;
    ap_cmd[peer] = CMD_SPIN;
    send_ipi(target, ICR_FIXED | ICR_ASSERT | VEC_WAKE);
    send_ipi(peer, ICR_FIXED | ICR_ASSERT | VEC_WAKE);
    ok = spins_grow(target, 1000, 1) && spins_grow(peer, 1000, 1);
    report(ok, "APs %u and %u running a loop", target, peer);
    if (!ok) {
        ap_cmd[target] = ap_cmd[peer] = CMD_IDLE;
        return;
    }
    /* INIT to a running AP: it waits for a SIPI.  Its loop count must
     * stand still while the peer's goes on. */
    starts_before = starts[target];
    arrived_before = arrived;
    ok = send_ipi(target, ICR_INIT | ICR_ASSERT | ICR_LEVEL_TRIG);
    ok &= send_ipi(target, ICR_INIT | ICR_LEVEL_TRIG);
    /* INIT may reach it only after its thread runs again (QEMU): a window
     * before the first count too. */
    ok &= window(peer);
    s1 = spins[target];
    ok &= window(peer);
    s2 = spins[target];
    report(ok && s1 == s2, "INIT stops a running AP: %lu then %lu loops while its peer ran",
           s1, s2);
    /* A start-up IPI by physical ID: back through the trampoline. */
    ap_cmd[target] = CMD_IDLE;
    ap_cmd[peer] = CMD_IDLE;
    send_ipi(peer, ICR_FIXED | ICR_ASSERT | VEC_WAKE);
    ok = send_ipi(target, ICR_SIPI | ICR_ASSERT | (SMP_TRAMP_BASE >> 12));
    ok &= wait_at_least(&starts[target], starts_before + 1);
    delay(100000);
    report(ok && starts[target] == starts_before + 1 && arrived == arrived_before + 1 &&
           arrival_id[arrived_before % STACK_SLOTS] == target,
           "a SIPI restarts it at the trampoline: %u starts", starts[target]);
    /* And it takes IPIs again (its APIC was reset by INIT). */
    {
        unsigned before = ipis[target];

        ok = send_ipi(target, ICR_FIXED | ICR_ASSERT | VEC_IPI);
        ok &= wait_at_least(&ipis[target], before + 1);
        report(ok && ipis[target] == before + 1, "the restarted AP takes a fixed IPI");
    }
}

/* Gives every AP cmd and wakes it. */
static void all_aps(unsigned cmd)
{
    for (unsigned i = 0; i < nap; i++) {
        ap_cmd[ap_ids[i]] = cmd;
        send_ipi(ap_ids[i], ICR_FIXED | ICR_ASSERT | VEC_WAKE);
    }
}

/*
 * The BSP holds the lock and frees it only for the PAUSE before it takes
 * it back, in one straight run of code (SeaBIOS's smp_scan).  A CPU that
 * spins there must let a waiting AP in at that PAUSE, not after the LOCK
 * BTS behind it: with vCPUs taking turns, a turn given up at the end of
 * the run would always leave the lock held.
 */
static void test_handoff(void)
{
    unsigned long k;

    handoff_lock = 1;
    handoff_count = 0;
    all_aps(CMD_HANDOFF);
    for (k = 0; handoff_count != nap && k < HANDOFF_TRIES; k++) {
        __asm__ volatile("movl $0, %0\n\t"
                         "1: pause\n\t"
                         "lock btsl $0, %0\n\t"
                         "jc 1b" : "+m"(handoff_lock) : : "cc", "memory");
    }
    handoff_lock = 0;
    report(handoff_count == nap, "a spin lock freed only across a PAUSE reaches %u of %u APs",
           (unsigned)handoff_count, nap);
}

static void test_atomics(void)
{
    uint32_t n = (nap + 1) * ATOMIC_ITERS;
    int done, ok;

    all_aps(CMD_ATOMICS);
    atomics_run(bsp_id);
    done = wait_at_least(&atomics_done, nap + 1);
    report(done && c_add == 3 * n && c_inc == n && c_sub == (uint32_t)(-2 * (int32_t)n),
           "%u CPUs: LOCK ADD/INC/SUB lose no update (%u %u %u for %u)", nap + 1,
           (unsigned)c_add, (unsigned)c_inc, (unsigned)-c_sub, (unsigned)n);
    ok = c_xadd == n && c_cas == n && c_plain == n && c_wide == n && !atomics_stuck;
#if MODE_BITS == 64
    ok &= c_dwide[0] == n && c_dwide[1] == n;
#endif
    report(done && ok, "LOCK XADD, LOCK CMPXCHG, an XCHG spin lock, CMPXCHG8B%s count %u each",
           MODE_BITS == 64 ? ", CMPXCHG16B" : "", (unsigned)n);
    report(done && atomics_bad == 0 && bits_bts == 0 && bits_or == 0,
           "LOCK BTS/BTR/OR/AND on shared words never undo another CPU's bit (%u lost)",
           atomics_bad);
}

static void test_xmod(void)
{
    uint32_t before[MAX_CPUS];
    int ok = 1;

    /* mov eax, imm32; ret */
    xmod_page[0] = 0xb8;
    *(volatile uint32_t *)(xmod_page + 1) = 0;
    xmod_page[5] = 0xc3;
    all_aps(CMD_XMOD);
    for (uint32_t g = 1; g <= 100 && ok; g++) {
        for (unsigned i = 0; i < nap; i++) {
            before[i] = xmod_runs[ap_ids[i]];
        }
        *(volatile uint32_t *)(xmod_page + 1) = g;
        xmod_gen = g;
        /* Two more calls by every AP: at least one of them after it saw g. */
        for (unsigned i = 0; i < nap; i++) {
            for (unsigned long k = 0; xmod_runs[ap_ids[i]] - before[i] < 2; k++) {
                if (k == SPIN_MAX) {
                    ok = 0;
                    break;
                }
                cpu_relax();
            }
        }
    }
    xmod_stop = 1;
    delay(100000);
    report(ok && xmod_stale == 0,
           "cross-modifying code: %u APs ran each of 100 patches once signalled (%u stale)",
           nap, (unsigned)xmod_stale);

}

int main(const struct mb_info *mbi)
{
    char buf[16];
    uint32_t n;

    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "smp64" : "smp32";
    if (!mb_cmdline_arg(mbi, "cpus", buf, sizeof(buf)) || parse_uint(buf, &n) || n < 2 ||
        n > MAX_CPUS) {
        printf("%s: give cpus=N (2..%u) as for -smp N\n", test_name, MAX_CPUS);
        return 0x55;
    }
    ncpus = n;
    x86_setup();
    /* The i8259 stays quiet: all its lines masked (OCW1). */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    bsp_id = my_apic_id();
    apic_setup(bsp_id);
    set_handler(VEC_IPI, on_ipi);
    set_handler(VEC_WAKE, on_wake);
    setup_trampoline();
    __asm__ volatile("sti");
    report(bsp_id == 0, "BSP APIC ID %u", bsp_id);
    test_bringup();
    if (!nap) {
        return report_summary();
    }
    test_fixed();
    test_to_bsp();
    test_logical();
    test_init_restart();
    test_handoff();
    /* together=1: every CPU at once too (KVM without hardware virtualization emulates
     * locked instructions and cannot do CMPXCHG16B). */
    if (mb_cmdline_arg(mbi, "together", buf, sizeof(buf))) {
        test_atomics();
        test_xmod();
    }
    __asm__ volatile("cli");
    return report_summary();
}
