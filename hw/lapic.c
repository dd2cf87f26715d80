/*
 * The local APIC in xAPIC mode (Intel SDM vol. 3, chapter 11, "Advanced
 * Programmable Interrupt Controller (APIC)"; chapter 10 in older editions).
 *
 * What the model keeps and what it leaves out:
 * - Registers behave as the SDM's "Local APIC Register Address Map" lists
 *   them, with QEMU's choices where the SDM leaves room: version 50014h
 *   (6 LVT entries, no CMCI, no EOI-broadcast suppression), a writable
 *   xAPIC ID, APR and RRD not implemented (APR reads 0, RRD is an illegal
 *   register), accesses narrower than 32 bits read 0 and write nothing.
 * - Where QEMU 7.2 departs from the SDM, this follows the SDM (and KVM):
 *   reserved LVT and ICR bits read 0; vectors 0-15 are refused with an
 *   illegal-vector error (QEMU delivers them); errors gather in a hidden
 *   register that a write to the ESR latches into the readable one, and
 *   raise the error LVT's interrupt ("Error Handling"; QEMU's ESR never
 *   clears); software disable (SVR[8] = 0) masks every LVT entry and keeps
 *   the mask bits set while it lasts ("Local APIC State After It Has Been
 *   Software Disabled"); a globally disabled APIC (IA32_APIC_BASE[11] = 0)
 *   returns to its reset state and may be enabled again (QEMU refuses).
 * - While software disabled, fixed interrupts are not accepted and nothing
 *   in the IRR is delivered.
 * - Interrupt acceptance is instantaneous: delivery status bits read 0.
 * - IPIs to this APIC alone (self shorthand, its own physical ID) are
 *   delivered here; every other IPI goes whole to the owner's ipi hook,
 *   which delivers it over the APICs it has (lapic_ipi_matches(),
 *   lapic_deliver(); INIT and SIPI on the vCPU).  Without the hook only
 *   this APIC's share is delivered and the rest is logged as not
 *   implemented, as are INIT, SIPI and SMI to self.
 * - The timer counts a 1 GHz bus clock through the divider (QEMU's rate).
 *   One-shot and periodic counts are computed from the time the count
 *   started; a switch between the two keeps the count going.  TSC-deadline
 *   mode keeps the deadline as a clock time the caller computed from the
 *   guest TSC.  Periodic interrupts are at least LAPIC_MIN_PERIOD_NS apart;
 *   ticks missed meanwhile collapse into one.
 *
 * Threads: big lock held everywhere (see hw/lapic.h).
 */
#include <string.h>

#include <glib.h>

#include "hw/i8254.h"
#include "hw/lapic.h"
#include "system/log.h"
#include "system/vclock.h"

#define NR_LVT 6
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

/* Writable bits of each LVT entry (SDM vol. 3, figure "Local Vector Table
 * (LVT)"): vector, delivery mode, polarity, trigger mode, mask, timer mode. */
static const uint32_t lvt_writable[NR_LVT] = {
    [LVT_TIMER] = 0x000700ff,
    [LVT_THERMAL] = 0x000107ff,
    [LVT_PERF] = 0x000107ff,
    [LVT_LINT0] = 0x0001a7ff,
    [LVT_LINT1] = 0x0001a7ff,
    [LVT_ERROR] = 0x000100ff,
};

#define TIMER_MODE_MASK (3u << 17)
/* ICR low bits a write keeps: vector, delivery mode, destination mode,
 * level, trigger mode, destination shorthand (delivery status reads 0). */
#define ICR_LO_WRITABLE 0x000ccfffu

struct lapic {
    int64_t (*clock_ns)(void);
    struct lapic_hooks hooks;
    bool bsp;
    uint8_t reset_id;

    uint64_t base;              /* IA32_APIC_BASE */
    uint8_t id;
    uint8_t tpr;
    uint32_t ldr, dfr, svr;
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t esr;               /* what the ESR reads: latched by the last ESR write */
    uint32_t esr_pending;       /* errors since then */
    bool in_error;              /* delivering the error LVT: no recursion */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[NR_LVT];       /* remote IRR (bit 14) of LINT0/1 kept here too */
    bool lint[2];               /* input pin levels */

    uint32_t tmict, tdcr;
    unsigned shift;             /* log2 of the divider */
    int64_t load_ns;            /* clock time the current count started */
    bool stopped;               /* a one-shot ran out, then became periodic */
    int64_t done_ns;            /* timer events up to here are delivered */
    uint64_t deadline_tsc;      /* IA32_TSC_DEADLINE; 0: disarmed */
    int64_t deadline_ns;
};

/* ---- helpers ---- */

static void notify(struct lapic *s)
{
    if (s->hooks.changed) {
        s->hooks.changed(s->hooks.opaque);
    }
}

static void notify_timer(struct lapic *s)
{
    if (s->hooks.timer_changed) {
        s->hooks.timer_changed(s->hooks.opaque);
    }
}

static bool get_bit(const uint32_t *v, unsigned n)
{
    return (v[(n >> 5) & 7] >> (n & 31)) & 1;
}

static void set_bit(uint32_t *v, unsigned n, bool on)
{
    if (on) {
        v[(n >> 5) & 7] |= 1u << (n & 31);
    } else {
        v[(n >> 5) & 7] &= ~(1u << (n & 31));
    }
}

/* The highest vector set in a 256-bit register, or -1. */
static int highest(const uint32_t *v)
{
    for (int i = 7; i >= 0; i--) {
        if (v[i]) {
            return i * 32 + 31 - __builtin_clz(v[i]);
        }
    }
    return -1;
}

bool lapic_enabled(const struct lapic *s)
{
    return (s->base & LAPIC_BASE_ENABLE) != 0;
}

bool lapic_sw_enabled(const struct lapic *s)
{
    return (s->svr & LAPIC_SVR_ENABLE) != 0;
}

static bool accepting(const struct lapic *s)
{
    return lapic_enabled(s) && lapic_sw_enabled(s);
}

/* PPR: the TPR, or the class of the highest in-service vector if that is
 * higher ("Processor Priority Register (PPR)"). */
static uint8_t ppr(const struct lapic *s)
{
    int isrv = highest(s->isr);

    if (isrv < 0 || (s->tpr >> 4) >= (isrv >> 4)) {
        return s->tpr;
    }
    return (uint8_t)(isrv & 0xf0);
}

static unsigned timer_mode(const struct lapic *s)
{
    return s->lvt[LVT_TIMER] & TIMER_MODE_MASK;
}

static void local_deliver(struct lapic *s, unsigned lvt);

/* Errors are recorded and raise the error LVT's interrupt ("Error Handling"). */
static void apic_error(struct lapic *s, uint32_t bits)
{
    s->esr_pending |= bits;
    if (!s->in_error) {
        s->in_error = true;
        local_deliver(s, LVT_ERROR);
        s->in_error = false;
    }
}

/* A fixed interrupt arrives ("Interrupt Acceptance for Fixed Interrupts");
 * false when it is not accepted. */
static bool accept(struct lapic *s, unsigned vector, bool level)
{
    vector &= 0xff;
    if (!accepting(s)) {
        return false;
    }
    /* Vectors 0-15 are illegal and never accepted. */
    if (vector < 16) {
        apic_error(s, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
        return false;
    }
    set_bit(s->irr, vector, true);
    set_bit(s->tmr, vector, level);
    notify(s);
    return true;
}

void lapic_accept(struct lapic *s, unsigned vector, bool level_triggered)
{
    accept(s, vector, level_triggered);
}

uint8_t lapic_id(const struct lapic *s)
{
    return s->id;
}

/* A message from the bus ("Interrupt Sources", "Local Interrupts"). */
bool lapic_deliver(struct lapic *s, unsigned delivery_mode, unsigned vector,
                   bool level_triggered)
{
    switch (delivery_mode) {
    case LAPIC_DM_FIXED:
    case LAPIC_DM_LOWEST:
        accept(s, vector, level_triggered);
        return true;
    case LAPIC_DM_NMI:
        if (s->hooks.nmi) {
            s->hooks.nmi(s->hooks.opaque);
        }
        return true;
    default:
        return false;
    }
}

/* The delivery of one LVT entry ("Local Vector Table"). */
static void local_deliver(struct lapic *s, unsigned i)
{
    uint32_t lvt = s->lvt[i];
    unsigned mode = (lvt >> 8) & 7;

    if (lvt & LAPIC_LVT_MASKED) {
        return;
    }
    if (i == LVT_TIMER || i == LVT_ERROR) {
        mode = LAPIC_DM_FIXED;      /* these have no delivery-mode field */
    }
    switch (mode) {
    case LAPIC_DM_FIXED:
        if ((i == LVT_LINT0 || i == LVT_LINT1) && (lvt & LAPIC_LVT_LEVEL)) {
            /* Level-triggered: once until the EOI clears remote IRR. */
            if (!(lvt & LAPIC_LVT_REMOTE_IRR) && accept(s, lvt & 0xff, true)) {
                s->lvt[i] |= LAPIC_LVT_REMOTE_IRR;
            }
        } else {
            accept(s, lvt & 0xff, false);
        }
        break;
    case LAPIC_DM_NMI:
        if (s->hooks.nmi) {
            s->hooks.nmi(s->hooks.opaque);
        }
        break;
    case LAPIC_DM_EXTINT:
        notify(s);      /* the i8259 answers the acknowledge */
        break;
    default:
        log_mask(LOG_UNIMP, "lapic %u: LVT %03x delivery mode %u not implemented\n", s->id,
                 LAPIC_LVT_TIMER + i * 0x10, mode);
        break;
    }
}

/* ---- priority, acknowledge, EOI ---- */

int lapic_pending(struct lapic *s)
{
    int irrv;

    if (!accepting(s)) {
        return -1;
    }
    irrv = highest(s->irr);
    /* Deliverable only if its class is above the processor priority's
     * ("Interrupt, Task, and Processor Priority"). */
    if (irrv < 0 || (irrv & 0xf0) <= (ppr(s) & 0xf0)) {
        return -1;
    }
    return irrv;
}

int lapic_priority(const struct lapic *s)
{
    return ppr(s);
}

int lapic_ack(struct lapic *s)
{
    int v = lapic_pending(s);

    if (v < 0) {
        return -1;
    }
    set_bit(s->irr, (unsigned)v, false);
    set_bit(s->isr, (unsigned)v, true);
    notify(s);
    return v;
}

bool lapic_pic_passes(const struct lapic *s)
{
    uint32_t lint0 = s->lvt[LVT_LINT0];

    if (!lapic_enabled(s)) {
        return true;
    }
    return !(lint0 & LAPIC_LVT_MASKED) && ((lint0 >> 8) & 7) == LAPIC_DM_EXTINT;
}

/* A level-triggered LINT entry waits for the EOI of its vector (remote IRR). */
static void eoi_lint(struct lapic *s, unsigned vector)
{
    for (unsigned pin = 0; pin < 2; pin++) {
        uint32_t *lvt = &s->lvt[LVT_LINT0 + pin];

        if ((*lvt & LAPIC_LVT_REMOTE_IRR) && (*lvt & 0xff) == vector) {
            *lvt &= ~LAPIC_LVT_REMOTE_IRR;
            if (s->lint[pin]) {
                local_deliver(s, LVT_LINT0 + pin);
            }
        }
    }
}

/* EOI: the highest in-service vector is done ("EOI Register"). */
static void eoi(struct lapic *s)
{
    int v = highest(s->isr);

    if (v < 0) {
        return;
    }
    set_bit(s->isr, (unsigned)v, false);
    if (get_bit(s->tmr, (unsigned)v)) {
        eoi_lint(s, (unsigned)v);
        if (s->hooks.eoi) {
            s->hooks.eoi(s->hooks.opaque, (unsigned)v);
        }
    }
    notify(s);
}

void lapic_set_lint(struct lapic *s, unsigned pin, bool level)
{
    bool old;
    uint32_t lvt;

    if (pin > 1) {
        return;
    }
    old = s->lint[pin];
    s->lint[pin] = level;
    lvt = s->lvt[LVT_LINT0 + pin];
    switch ((lvt >> 8) & 7) {
    case LAPIC_DM_FIXED:
        if ((lvt & LAPIC_LVT_LEVEL) ? level && !(lvt & LAPIC_LVT_REMOTE_IRR) : level && !old) {
            local_deliver(s, LVT_LINT0 + pin);
        }
        break;
    case LAPIC_DM_EXTINT:
        notify(s);
        break;
    default:
        /* NMI, SMI and INIT are edge-triggered ("Trigger Mode"). */
        if (level && !old) {
            local_deliver(s, LVT_LINT0 + pin);
        }
        break;
    }
}

/* ---- IPIs ---- */

/* The ICR's destination names this APIC ("Determining IPI Destination"). */
bool lapic_match_dest(const struct lapic *s, uint8_t dest, bool logical)
{
    uint8_t ldr = s->ldr >> 24;

    if (dest == 0xff) {
        return true;        /* broadcast, physical or logical */
    }
    if (!logical) {
        return dest == s->id;
    }
    if ((s->dfr >> 28) == 0xf) {
        return (dest & ldr) != 0;                               /* flat model */
    }
    return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);    /* cluster model */
}

/*
 * The IPI may reach another APIC, so the bus delivers it, this APIC's
 * share included: a logical destination may name several APICs, FFh names
 * all, and lowest priority must see every candidate.
 */
static bool to_bus(const struct lapic *s, unsigned shorthand, uint8_t dest, bool logical)
{
    switch (shorthand) {
    case LAPIC_SHORTHAND_NONE:
        return logical || dest == 0xff || dest != s->id;
    case LAPIC_SHORTHAND_SELF:
        return false;
    default:
        return true;
    }
}

bool lapic_ipi_matches(const struct lapic *s, const struct lapic_ipi *ipi, bool is_sender)
{
    switch (ipi->shorthand) {
    case LAPIC_SHORTHAND_NONE:
        return lapic_match_dest(s, ipi->dest, ipi->logical);
    case LAPIC_SHORTHAND_SELF:
        return is_sender;
    case LAPIC_SHORTHAND_ALL:
        return true;
    default:
        return !is_sender;
    }
}

/* An ICR low write sends the IPI ("Interrupt Command Register (ICR)"). */
static void send_ipi(struct lapic *s)
{
    uint32_t lo = s->icr_lo;
    unsigned vector = lo & 0xff, mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
    uint8_t dest = s->icr_hi >> 24;
    bool self = false, others = false;

    switch (shorthand) {
    case 0:
        self = lapic_match_dest(s, dest, (lo >> 11) & 1);
        others = !self || dest == 0xff;
        break;
    case 1: self = true; break;
    case 2: self = others = true; break;
    default: others = true; break;
    }
    /* INIT level de-assert only resyncs arbitration IDs: nothing to do. */
    if (mode == LAPIC_DM_INIT && !(lo & (1u << 14)) && (lo & (1u << 15))) {
        return;
    }
    if ((mode == LAPIC_DM_FIXED || mode == LAPIC_DM_LOWEST) && vector < 16) {
        apic_error(s, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    if (s->hooks.ipi && to_bus(s, shorthand, dest, (lo >> 11) & 1)) {
        struct lapic_ipi ipi = {
            .source = s->id,
            .dest = dest,
            .logical = (lo >> 11) & 1,
            .shorthand = (uint8_t)shorthand,
            .delivery_mode = (uint8_t)mode,
            .vector = (uint8_t)vector,
            .level = (lo >> 14) & 1,
            .trigger_level = (lo >> 15) & 1,
        };

        s->hooks.ipi(s->hooks.opaque, &ipi);
        return;
    }
    if (others) {
        log_mask(LOG_UNIMP, "lapic %u: IPI (ICR %08x:%08x) to other processors not "
                 "implemented\n", s->id, s->icr_hi, lo);
    }
    if (!self) {
        return;
    }
    switch (mode) {
    case LAPIC_DM_FIXED:
    case LAPIC_DM_LOWEST:
        accept(s, vector, false);
        break;
    case LAPIC_DM_NMI:
        if (s->hooks.nmi) {
            s->hooks.nmi(s->hooks.opaque);
        }
        break;
    default:
        log_mask(LOG_UNIMP, "lapic %u: IPI delivery mode %u to self not implemented\n",
                 s->id, mode);
        break;
    }
}

/* ---- timer ("APIC Timer") ---- */

static int64_t now_ns(const struct lapic *s)
{
    return s->clock_ns();
}

static int64_t period_ns(const struct lapic *s)
{
    return (int64_t)s->tmict << s->shift;
}

/* The first expiry of the count-down timer after time t, or -1. */
static int64_t count_expiry_after(const struct lapic *s, int64_t t)
{
    int64_t p = period_ns(s), e;

    if (!s->tmict || s->stopped || timer_mode(s) == LAPIC_TIMER_TSC_DEADLINE) {
        return -1;
    }
    if (timer_mode(s) != LAPIC_TIMER_PERIODIC) {
        e = s->load_ns + p;
        return e > t ? e : -1;
    }
    if (t < s->load_ns) {
        return s->load_ns + p;
    }
    return s->load_ns + ((t - s->load_ns) / p + 1) * p;
}

void lapic_timer_update(struct lapic *s, int64_t now)
{
    if (now < s->done_ns) {
        return;
    }
    if (timer_mode(s) == LAPIC_TIMER_TSC_DEADLINE) {
        /* Firing disarms: the MSR reads 0 afterwards ("TSC-Deadline Mode"). */
        if (s->deadline_tsc && now >= s->deadline_ns) {
            s->deadline_tsc = 0;
            local_deliver(s, LVT_TIMER);
        }
    } else {
        int64_t e = count_expiry_after(s, s->done_ns);

        if (e >= 0 && e <= now) {
            local_deliver(s, LVT_TIMER);
        }
    }
    s->done_ns = now;
}

int64_t lapic_next_event_ns(struct lapic *s)
{
    int64_t e;

    /* A masked timer keeps counting but has nothing to deliver; its state
     * is a function of the clock, so nothing needs to run meanwhile. */
    if (s->lvt[LVT_TIMER] & LAPIC_LVT_MASKED) {
        return -1;
    }
    if (timer_mode(s) == LAPIC_TIMER_TSC_DEADLINE) {
        return s->deadline_tsc ? s->deadline_ns : -1;
    }
    e = count_expiry_after(s, s->done_ns);
    if (e >= 0 && timer_mode(s) == LAPIC_TIMER_PERIODIC &&
        e < s->done_ns + LAPIC_MIN_PERIOD_NS) {
        e = s->done_ns + LAPIC_MIN_PERIOD_NS;
    }
    return e;
}

/* Counts since load_ns. */
static uint64_t elapsed_ticks(const struct lapic *s, int64_t now)
{
    return now > s->load_ns ? (uint64_t)(now - s->load_ns) >> s->shift : 0;
}

static uint32_t current_count(const struct lapic *s)
{
    uint64_t t;

    if (!s->tmict || s->stopped || timer_mode(s) == LAPIC_TIMER_TSC_DEADLINE) {
        return 0;
    }
    t = elapsed_ticks(s, now_ns(s));
    if (timer_mode(s) == LAPIC_TIMER_PERIODIC) {
        return s->tmict - (uint32_t)(t % s->tmict);
    }
    return t >= s->tmict ? 0 : s->tmict - (uint32_t)t;
}

/* Divide configuration: bits 0, 1 and 3 give 2, 4, ..., 128, or 1 for 1011b. */
static unsigned divide_shift(uint32_t tdcr)
{
    unsigned v = (tdcr & 3) | ((tdcr >> 1) & 4);

    return (v + 1) & 7;
}

static void write_tdcr(struct lapic *s, uint32_t val)
{
    int64_t now = now_ns(s);
    unsigned shift = divide_shift(val & 0xb);

    /* Keep the count where it is: re-base the load time for the new rate. */
    if (s->tmict && now > s->load_ns) {
        s->load_ns = now - (int64_t)(elapsed_ticks(s, now) << shift);
    }
    s->tdcr = val & 0xb;
    s->shift = shift;
    notify_timer(s);
}

static void write_tmict(struct lapic *s, uint32_t val)
{
    /* Ignored in TSC-deadline mode ("TSC-Deadline Mode"). */
    if (timer_mode(s) == LAPIC_TIMER_TSC_DEADLINE) {
        return;
    }
    s->tmict = val;
    s->stopped = false;
    s->load_ns = s->done_ns = now_ns(s);
    notify_timer(s);
}

uint64_t lapic_get_tsc_deadline(struct lapic *s)
{
    if (timer_mode(s) != LAPIC_TIMER_TSC_DEADLINE) {
        return 0;
    }
    lapic_timer_update(s, now_ns(s));
    return s->deadline_tsc;
}

void lapic_set_tsc_deadline(struct lapic *s, uint64_t tsc, int64_t deadline_ns)
{
    if (timer_mode(s) != LAPIC_TIMER_TSC_DEADLINE) {
        return;
    }
    s->deadline_tsc = tsc;
    s->deadline_ns = deadline_ns;
    /* A deadline already past fires at once. */
    lapic_timer_update(s, now_ns(s));
    notify_timer(s);
}

/*
 * The count goes on across a switch between one-shot and periodic mode:
 * a periodic count becomes a one-shot from the current period's start, and
 * a one-shot that already ran out stays at 0 (KVM's behaviour, which
 * kvm-unit-tests' apic test checks).  Into or out of TSC-deadline mode the
 * timer is disarmed ("TSC-Deadline Mode").
 */
static void timer_mode_change(struct lapic *s, uint32_t old, uint32_t val, int64_t now)
{
    unsigned from = old & TIMER_MODE_MASK, to = val & TIMER_MODE_MASK;
    uint64_t t;

    /* The reserved mode 11b counts as a one-shot. */
    from = from == TIMER_MODE_MASK ? LAPIC_TIMER_ONESHOT : from;
    to = to == TIMER_MODE_MASK ? LAPIC_TIMER_ONESHOT : to;
    if (from == to) {
        return;
    }
    if (from == LAPIC_TIMER_TSC_DEADLINE || to == LAPIC_TIMER_TSC_DEADLINE) {
        s->tmict = 0;
        s->deadline_tsc = 0;
        s->stopped = false;
        return;
    }
    if (!s->tmict || s->stopped) {
        return;
    }
    t = elapsed_ticks(s, now);
    if (from == LAPIC_TIMER_PERIODIC) {
        s->load_ns += (int64_t)((t - t % s->tmict) << s->shift);
    } else if (t >= s->tmict) {
        s->stopped = true;
    }
}

/* ---- registers ---- */

static void write_lvt(struct lapic *s, unsigned i, uint32_t val)
{
    uint32_t old = s->lvt[i];

    val &= lvt_writable[i];
    if (!lapic_sw_enabled(s)) {
        val |= LAPIC_LVT_MASKED;
    }
    if (i == LVT_TIMER) {
        int64_t now = now_ns(s);

        /* Deliver what fell due under the old entry first. */
        lapic_timer_update(s, now);
        timer_mode_change(s, old, val, now);
    }
    if (i == LVT_LINT0 || i == LVT_LINT1) {
        val |= old & LAPIC_LVT_REMOTE_IRR;
    }
    s->lvt[i] = val;
    if (i == LVT_TIMER) {
        notify_timer(s);
    }
    notify(s);
}

static void write_svr(struct lapic *s, uint32_t val)
{
    s->svr = val & 0x3ff;
    if (!lapic_sw_enabled(s)) {
        for (unsigned i = 0; i < NR_LVT; i++) {
            s->lvt[i] |= LAPIC_LVT_MASKED;
        }
        notify_timer(s);
    }
    notify(s);
}

/* The register at a 16-byte-aligned offset; *ok false for a reserved one. */
static uint32_t read_reg(struct lapic *s, unsigned off, bool *ok)
{
    unsigned i = (off >> 4) & 7;

    *ok = true;
    switch (off) {
    case LAPIC_ID: return (uint32_t)s->id << 24;
    case LAPIC_VER: return LAPIC_VERSION;
    case LAPIC_TPR: return s->tpr;
    case LAPIC_APR: return 0;
    case LAPIC_PPR: return ppr(s);
    case LAPIC_EOI: return 0;
    case LAPIC_LDR: return s->ldr;
    case LAPIC_DFR: return s->dfr;
    case LAPIC_SVR: return s->svr;
    case LAPIC_ESR: return s->esr;
    case LAPIC_ICR_LO: return s->icr_lo;
    case LAPIC_ICR_HI: return s->icr_hi;
    case LAPIC_TMICT: return s->tmict;
    case LAPIC_TMCCT: return current_count(s);
    case LAPIC_TDCR: return s->tdcr;
    default:
        break;
    }
    if (off >= LAPIC_ISR && off < LAPIC_ISR + 0x80) {
        return s->isr[i];
    }
    if (off >= LAPIC_TMR && off < LAPIC_TMR + 0x80) {
        return s->tmr[i];
    }
    if (off >= LAPIC_IRR && off < LAPIC_IRR + 0x80) {
        return s->irr[i];
    }
    if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR) {
        return s->lvt[(off - LAPIC_LVT_TIMER) >> 4];
    }
    *ok = false;
    return 0;
}

uint32_t lapic_read(struct lapic *s, unsigned offset)
{
    bool ok;
    uint32_t v;

    offset &= 0xff0;
    lapic_timer_update(s, now_ns(s));
    v = read_reg(s, offset, &ok);
    if (!ok) {
        log_mask(LOG_GUEST_ERROR, "lapic %u: read of reserved register %03x\n", s->id, offset);
        apic_error(s, LAPIC_ESR_ILLEGAL_REGISTER);
    }
    return v;
}

/* Writes to the read-only registers (version, APR, PPR, ISR, TMR, IRR,
 * current count) are ignored, as on hardware. */
static bool write_reg(struct lapic *s, unsigned off, uint32_t val)
{
    switch (off) {
    case LAPIC_ID: s->id = val >> 24; return true;
    case LAPIC_TPR: s->tpr = val & 0xff; notify(s); return true;
    case LAPIC_EOI: eoi(s); return true;
    case LAPIC_LDR: s->ldr = val & 0xff000000u; return true;
    case LAPIC_DFR: s->dfr = val | 0x0fffffffu; return true;
    case LAPIC_SVR: write_svr(s, val); return true;
    case LAPIC_ESR:
        s->esr = s->esr_pending;
        s->esr_pending = 0;
        return true;
    case LAPIC_ICR_LO:
        s->icr_lo = val & ICR_LO_WRITABLE;
        send_ipi(s);
        return true;
    case LAPIC_ICR_HI: s->icr_hi = val & 0xff000000u; return true;
    case LAPIC_TMICT: write_tmict(s, val); return true;
    case LAPIC_TDCR: write_tdcr(s, val); return true;
    case LAPIC_VER: case LAPIC_APR: case LAPIC_PPR: case LAPIC_TMCCT:
        return true;
    default:
        break;
    }
    if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR) {
        write_lvt(s, (off - LAPIC_LVT_TIMER) >> 4, val);
        return true;
    }
    return off >= LAPIC_ISR && off < LAPIC_IRR + 0x80;
}

void lapic_write(struct lapic *s, unsigned offset, uint32_t val)
{
    offset &= 0xff0;
    lapic_timer_update(s, now_ns(s));
    if (!write_reg(s, offset, val)) {
        log_mask(LOG_GUEST_ERROR, "lapic %u: write of reserved register %03x value %08x\n",
                 s->id, offset, val);
        apic_error(s, LAPIC_ESR_ILLEGAL_REGISTER);
    }
}

static uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct lapic *s = opaque;

    if (size < 4) {
        return 0;
    }
    if (size == 8) {
        return lapic_read(s, offset) | (uint64_t)lapic_read(s, offset + 4) << 32;
    }
    return lapic_read(s, offset);
}

static void lapic_mmio_write(void *opaque, uint64_t offset, uint64_t val, unsigned size)
{
    struct lapic *s = opaque;

    if (size < 4) {
        return;
    }
    lapic_write(s, offset, (uint32_t)val);
    if (size == 8) {
        lapic_write(s, offset + 4, (uint32_t)(val >> 32));
    }
}

const struct io_ops lapic_mmio_ops = {
    .read = lapic_mmio_read,
    .write = lapic_mmio_write,
};

/* ---- base, CR8, reset ---- */

uint64_t lapic_get_base(const struct lapic *s)
{
    return s->base;
}

/* The register state of "Local APIC State After Power-Up or Reset". */
static void reset_regs(struct lapic *s)
{
    int64_t now = now_ns(s);

    s->id = s->reset_id;
    s->tpr = 0;
    s->ldr = 0;
    s->dfr = 0xffffffffu;
    s->svr = 0xff;
    memset(s->isr, 0, sizeof(s->isr));
    memset(s->tmr, 0, sizeof(s->tmr));
    memset(s->irr, 0, sizeof(s->irr));
    s->esr = s->esr_pending = 0;
    s->icr_lo = s->icr_hi = 0;
    for (unsigned i = 0; i < NR_LVT; i++) {
        s->lvt[i] = LAPIC_LVT_MASKED;
    }
    /* The firmware's virtual-wire set-up, which QEMU and KVM apply at reset:
     * the BSP takes the i8259 through LINT0 in ExtINT mode. */
    if (s->bsp) {
        s->lvt[LVT_LINT0] = LAPIC_DM_EXTINT << 8;
    }
    s->tmict = s->tdcr = 0;
    s->stopped = false;
    s->shift = divide_shift(0);
    s->load_ns = s->done_ns = now;
    s->deadline_tsc = 0;
    s->deadline_ns = 0;
}

void lapic_set_base(struct lapic *s, uint64_t val)
{
    bool was = lapic_enabled(s);

    s->base = (val & ~LAPIC_BASE_BSP) | (s->base & LAPIC_BASE_BSP);
    if (was && !lapic_enabled(s)) {
        /* "Enabling or Disabling the Local APIC": prior set-up is lost. */
        reset_regs(s);
    }
    notify_timer(s);
    notify(s);
}

uint8_t lapic_get_cr8(struct lapic *s)
{
    return s->tpr >> 4;
}

void lapic_set_cr8(struct lapic *s, uint8_t cr8)
{
    s->tpr = (uint8_t)((cr8 & 0xf) << 4);
    notify(s);
}

static void reset_quiet(struct lapic *s)
{
    s->base = LAPIC_DEFAULT_BASE | LAPIC_BASE_ENABLE | (s->bsp ? LAPIC_BASE_BSP : 0);
    reset_regs(s);
}

/* INIT keeps the ID and IA32_APIC_BASE; the BSP's virtual wire is a
 * power-on set-up, so LINT0 is masked like every other entry. */
void lapic_init_reset(struct lapic *s)
{
    uint8_t id = s->id;

    reset_regs(s);
    s->id = id;
    s->lvt[LVT_LINT0] = LAPIC_LVT_MASKED;
    notify_timer(s);
    notify(s);
}

void lapic_reset(struct lapic *s)
{
    reset_quiet(s);
    notify_timer(s);
    notify(s);
}

struct lapic *lapic_create(uint8_t id, bool bsp, int64_t (*clock_ns)(void),
                           const struct lapic_hooks *hooks)
{
    struct lapic *s = g_new0(struct lapic, 1);

    s->clock_ns = clock_ns ? clock_ns : vclock_virtual_ns;
    if (hooks) {
        s->hooks = *hooks;
    }
    s->bsp = bsp;
    s->reset_id = id;
    reset_quiet(s);
    return s;
}

void lapic_free(struct lapic *s)
{
    g_free(s);
}
