/*
 * HPET timer block (IA-PC HPET Specification 1.0a, section 2.3) with the
 * behaviour of QEMU 7.2's hw/timer/hpet.c, which guests on -M pc meet.
 *
 * What the model keeps and what it leaves out:
 * - The main counter is not stepped: while ENABLE_CNF is set it is the
 *   value it had when enabled plus the 10 ns ticks since; while clear it
 *   holds still and may be written.
 * - Each timer is armed for the clock time its comparator matches, as
 *   QEMU arms one host timer per HPET timer: when the guest enables the
 *   block (every timer whose comparator is not all ones), sets
 *   Tn_INT_ENB_CNF, or writes the comparator.  A comparator already passed
 *   matches one tick later (QEMU's "diff of 1") instead of after the
 *   counter wraps.  A one-shot timer fires once; a periodic one adds its
 *   period to the comparator until it is ahead of the counter, so missed
 *   periods collapse into one interrupt.
 * - A timer whose Tn_INT_ENB_CNF is clear still runs (its comparator
 *   moves in periodic mode) but interrupts nothing and arms no host timer:
 *   its events are caught up at the next register access.
 * - 32-bit one-shot timers also fire when the low 32 bits of the counter
 *   wrap to 0, then at the comparator (QEMU's wrap_flag).
 * - Writing the comparator of a periodic timer sets the period; with
 *   Tn_VAL_SET_CNF it also sets the comparator, and the bit clears itself
 *   (2.3.8, 2.3.9).  Linux writes twice: once with it, once without.
 * - Accesses are 32 bits to either half of a register or 64 bits to the
 *   whole of one (2.3.1).  Narrower or unaligned ones are dropped, reads
 *   giving 0, as QEMU refuses them.  A 64-bit write is one write, not two
 *   halves, so Tn_VAL_SET_CNF covers all of a 64-bit comparator.
 * - Lines: a level-triggered timer holds its GSI while its Tn_INT_STS bit
 *   is set; several timers on one GSI are ORed.  An edge-triggered timer
 *   pulses its GSI, unless a level timer already holds it high.  GSIs
 *   beyond the IOAPIC's 24 pins reach nothing (as in QEMU); routes outside
 *   Tn_INT_ROUTE_CAP are honoured, as QEMU does, and logged.
 * - No FSB delivery: Tn_FSB_INT_DEL_CAP is clear, Tn_FSB_EN_CNF reads 0,
 *   the FSB route register only stores what is written.
 *
 * Threads: vCPU threads (MMIO) and the thread that runs the timer (the
 * main loop's, or with -icount the vCPU's), with the big lock held.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "hw/hpet.h"
#include "hw/i8254.h"
#include "hw/irq.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/vclock.h"

#define HPET_NUM_GSIS   24              /* the IOAPIC's pins; more reach nothing */
#define LEGACY_GSI_T0   0               /* the PIT's IRQ 0 (IOAPIC pin 2) */
#define LEGACY_GSI_T1   8               /* the RTC's IRQ 8 */
#define CMP_IDLE        UINT64_MAX      /* reset comparator: not armed at enable */
#define NEVER           INT64_MAX

/* Writable bits (2.3.5, 2.3.8): FSB_EN is left out, as FSB is not supported. */
#define CFG_WRITE_MASK  (HPET_CFG_ENABLE | HPET_CFG_LEGACY)
#define TN_WRITE_MASK   (HPET_TN_LEVEL | HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_SETVAL | \
                         HPET_TN_32BIT | 0x1fu << HPET_TN_ROUTE_SHIFT)
#define TN_CAPS         (HPET_TN_PER_CAP | HPET_TN_SIZE_CAP)

struct hpet_timer {
    unsigned index;
    uint64_t config;        /* Tn_CONF_CAP; bits 63-32 are Tn_INT_ROUTE_CAP */
    uint64_t cmp;
    uint64_t fsb;
    uint64_t period;        /* periodic mode: what the comparator steps by */
    bool armed;
    bool wrap_pending;      /* 32-bit one-shot: the next event is the wrap */
    int64_t fire_ns;        /* when armed: the clock time of the next event */
};

struct hpet {
    struct hpet_timer timer[HPET_NUM_TIMERS];
    uint64_t config;
    uint64_t isr;           /* general interrupt status */
    uint64_t counter;       /* halted: the counter; running: its value at base_ns */
    int64_t base_ns;
    uint32_t lines;         /* GSIs this device holds high */
    int64_t (*clock_ns)(void);
    void (*legacy_route)(void *opaque, bool on);
    void *opaque;
    struct vtimer *vtimer;
    int64_t armed_ns;       /* vtimer's deadline, -1: none */
};

/* ---- the main counter ---- */

static bool hpet_enabled(const struct hpet *s)
{
    return s->config & HPET_CFG_ENABLE;
}

static uint64_t hpet_ticks(const struct hpet *s, int64_t now)
{
    if (!hpet_enabled(s) || now <= s->base_ns) {
        return s->counter;
    }
    return s->counter + (uint64_t)(now - s->base_ns) / HPET_TICK_NS;
}

/* The clock time the running counter reaches tick t (at or after now), or NEVER. */
static int64_t hpet_tick_ns(const struct hpet *s, uint64_t t)
{
    uint64_t d = t - s->counter;

    if (d > (uint64_t)(NEVER - s->base_ns) / HPET_TICK_NS) {
        return NEVER;
    }
    return s->base_ns + (int64_t)(d * HPET_TICK_NS);
}

/* ---- interrupts ---- */

static bool timer_32bit(const struct hpet_timer *t)
{
    return t->config & HPET_TN_32BIT;
}

static bool timer_periodic(const struct hpet_timer *t)
{
    return t->config & HPET_TN_PERIODIC;
}

/* The GSI a timer interrupts: the legacy route overrides timers 0 and 1 (2.3.5). */
static unsigned timer_gsi(const struct hpet *s, const struct hpet_timer *t)
{
    if (t->index <= 1 && (s->config & HPET_CFG_LEGACY)) {
        return t->index == 0 ? LEGACY_GSI_T0 : LEGACY_GSI_T1;
    }
    return (t->config >> HPET_TN_ROUTE_SHIFT) & 0x1f;
}

static bool timer_may_interrupt(const struct hpet *s, const struct hpet_timer *t)
{
    return hpet_enabled(s) && (t->config & HPET_TN_INT_ENB);
}

/* Brings the GSIs up to date with the level timers' status bits. */
static void hpet_sync_lines(struct hpet *s)
{
    uint32_t want = 0, diff;

    for (unsigned i = 0; i < HPET_NUM_TIMERS; i++) {
        const struct hpet_timer *t = &s->timer[i];
        unsigned gsi = timer_gsi(s, t);

        if ((s->isr & (1u << i)) && (t->config & HPET_TN_LEVEL) &&
            timer_may_interrupt(s, t) && gsi < HPET_NUM_GSIS) {
            want |= 1u << gsi;
        }
    }
    diff = want ^ s->lines;
    s->lines = want;
    for (unsigned gsi = 0; diff; gsi++, diff >>= 1) {
        if (diff & 1) {
            irq_set_level(gsi, (want >> gsi) & 1);
        }
    }
}

/*
 * A timer's interrupt (set) or its end (clear): QEMU's update_irq.  Level
 * timers set their status bit and hold the line; edge timers pulse it
 * and leave the status bit clear.
 */
static void timer_set_irq(struct hpet *s, struct hpet_timer *t, bool set)
{
    uint64_t bit = 1ull << t->index;
    unsigned gsi = timer_gsi(s, t);

    if (!set || !timer_may_interrupt(s, t)) {
        s->isr &= ~bit;
    } else if (t->config & HPET_TN_LEVEL) {
        s->isr |= bit;
    } else {
        s->isr &= ~bit;
        if (gsi < HPET_NUM_GSIS && !(s->lines & (1u << gsi))) {
            irq_set_level(gsi, 1);
            irq_set_level(gsi, 0);
        }
    }
    hpet_sync_lines(s);
}

/* ---- timers ---- */

/* Ticks from cur until the comparator matches; a match already passed is 1 (QEMU). */
static uint64_t timer_ticks_to_match(const struct hpet_timer *t, uint64_t cur)
{
    uint64_t d = t->cmp - cur;

    if (timer_32bit(t)) {
        return (int32_t)(uint32_t)d > 0 ? (uint32_t)d : 1;
    }
    return (int64_t)d > 0 ? d : 1;
}

static void timer_arm(struct hpet *s, struct hpet_timer *t, int64_t now)
{
    uint64_t cur = hpet_ticks(s, now);
    uint64_t d = timer_ticks_to_match(t, cur);

    /* 32-bit one-shot: an interrupt when the counter wraps, before the match. */
    t->wrap_pending = false;
    if (timer_32bit(t) && !timer_periodic(t)) {
        uint64_t wrap = (1ull << 32) - (uint32_t)cur;

        if (wrap < d) {
            d = wrap;
            t->wrap_pending = true;
        }
    }
    t->fire_ns = hpet_tick_ns(s, cur + d);
    t->armed = true;
}

static void timer_disarm(struct hpet *s, struct hpet_timer *t)
{
    t->armed = false;
    t->wrap_pending = false;
    timer_set_irq(s, t, false);
}

/* Periodic mode: steps the comparator past cur by whole periods (2.3.9). */
static void timer_step_comparator(struct hpet_timer *t, uint64_t cur)
{
    uint64_t behind = cur - t->cmp;

    if (timer_32bit(t)) {
        if ((int32_t)(uint32_t)behind >= 0) {
            t->cmp = (uint32_t)(t->cmp + ((uint32_t)behind / t->period + 1) * t->period);
        }
    } else if ((int64_t)behind >= 0) {
        t->cmp += (behind / t->period + 1) * t->period;
    }
}

/* The comparator matched (or the 32-bit counter wrapped) at or before now. */
static void timer_fire(struct hpet *s, struct hpet_timer *t, int64_t now)
{
    uint64_t cur = hpet_ticks(s, now);

    if (timer_periodic(t) && t->period) {
        timer_step_comparator(t, cur);
        t->fire_ns = hpet_tick_ns(s, cur + timer_ticks_to_match(t, cur));
        if (t->period < HPET_MIN_PERIOD_NS / HPET_TICK_NS &&
            t->fire_ns - now < HPET_MIN_PERIOD_NS) {
            t->fire_ns = now + HPET_MIN_PERIOD_NS;
        }
    } else if (t->wrap_pending) {
        t->wrap_pending = false;
        t->fire_ns = hpet_tick_ns(s, cur + timer_ticks_to_match(t, cur));
    } else {
        t->armed = false;
    }
    timer_set_irq(s, t, true);
}

/* Delivers the timers' events due by now, earliest first; true if there were any. */
static bool hpet_catch_up(struct hpet *s, int64_t now)
{
    bool fired = false;

    for (;;) {
        struct hpet_timer *due = NULL;

        for (unsigned i = 0; i < HPET_NUM_TIMERS; i++) {
            struct hpet_timer *t = &s->timer[i];

            if (t->armed && t->fire_ns <= now && (!due || t->fire_ns < due->fire_ns)) {
                due = t;
            }
        }
        if (!due) {
            return fired;
        }
        timer_fire(s, due, now);
        fired = true;
    }
}

int64_t hpet_next_event_ns(struct hpet *s)
{
    int64_t next = NEVER;

    for (unsigned i = 0; i < HPET_NUM_TIMERS; i++) {
        const struct hpet_timer *t = &s->timer[i];

        if (t->armed && timer_may_interrupt(s, t) && t->fire_ns < next) {
            next = t->fire_ns;
        }
    }
    return next == NEVER ? -1 : next;
}

/*
 * The timer follows hpet_next_event_ns().  The deadline armed last is
 * kept: guests read the counter very often.
 */
static void hpet_rearm(struct hpet *s)
{
    int64_t next = hpet_next_event_ns(s);

    if (s->vtimer && next != s->armed_ns) {
        s->armed_ns = next;
        vtimer_mod(s->vtimer, next);
    }
}

void hpet_update(struct hpet *s, int64_t now_ns)
{
    hpet_catch_up(s, now_ns);
    hpet_rearm(s);
}

static void hpet_timer_expired(void *opaque)
{
    struct hpet *s = opaque;

    s->armed_ns = -1;       /* a fired timer is disarmed */
    hpet_update(s, s->clock_ns());
}

/* ---- register writes ---- */

/* The legacy replacement route went on or off (2.3.5; QEMU's order of events). */
static void hpet_set_legacy(struct hpet *s, bool on)
{
    if (on) {
        if (s->legacy_route) {
            s->legacy_route(s->opaque, true);
        }
        /* The PIT's and the RTC's levels are cut off. */
        s->lines &= ~(1u << LEGACY_GSI_T0 | 1u << LEGACY_GSI_T1);
        irq_set_level(LEGACY_GSI_T0, 0);
        irq_set_level(LEGACY_GSI_T1, 0);
        hpet_sync_lines(s);
    } else {
        hpet_sync_lines(s);
        irq_set_level(LEGACY_GSI_T0, 0);
        if (s->legacy_route) {
            s->legacy_route(s->opaque, false);
        }
    }
}

static void hpet_write_config(struct hpet *s, uint64_t val, uint64_t mask, int64_t now)
{
    uint64_t old = s->config;
    uint64_t wm = mask & CFG_WRITE_MASK;
    uint64_t cur = hpet_ticks(s, now);

    s->config = (old & ~wm) | (val & wm);
    if (!(old & HPET_CFG_ENABLE) && (s->config & HPET_CFG_ENABLE)) {
        /* The counter runs from where it was halted; timers arm (QEMU). */
        s->base_ns = now;
        for (unsigned i = 0; i < HPET_NUM_TIMERS; i++) {
            if (s->timer[i].cmp != CMP_IDLE) {
                timer_arm(s, &s->timer[i], now);
            }
        }
    } else if ((old & HPET_CFG_ENABLE) && !(s->config & HPET_CFG_ENABLE)) {
        s->counter = cur;
        for (unsigned i = 0; i < HPET_NUM_TIMERS; i++) {
            timer_disarm(s, &s->timer[i]);
        }
    }
    if ((old ^ s->config) & HPET_CFG_LEGACY) {
        hpet_set_legacy(s, s->config & HPET_CFG_LEGACY);
    }
    hpet_sync_lines(s);
}

static void timer_write_config(struct hpet *s, struct hpet_timer *t, uint64_t val,
                               uint64_t mask, int64_t now)
{
    uint64_t old = t->config;
    uint64_t wm = mask & TN_WRITE_MASK;
    unsigned route;

    t->config = (old & ~wm) | (val & wm);
    if (wm & val & HPET_TN_32BIT) {
        /* Switching to 32 bits drops the upper halves (QEMU). */
        t->cmp = (uint32_t)t->cmp;
        t->period = (uint32_t)t->period;
    }
    route = (t->config >> HPET_TN_ROUTE_SHIFT) & 0x1f;
    if ((((old ^ t->config) >> HPET_TN_ROUTE_SHIFT) & 0x1f) &&
        !((t->config >> 32) & (1ull << route))) {
        log_mask(LOG_GUEST_ERROR, "hpet: timer %u routed to GSI %u, not in its capability "
                 "mask 0x%" PRIx64 "\n", t->index, route, t->config >> 32);
    }
    if (!(old & HPET_TN_INT_ENB) && (t->config & HPET_TN_INT_ENB) && hpet_enabled(s)) {
        timer_arm(s, t, now);
    } else if ((old & HPET_TN_INT_ENB) && !(t->config & HPET_TN_INT_ENB)) {
        timer_disarm(s, t);
    }
    hpet_sync_lines(s);
}

static void timer_write_cmp(struct hpet *s, struct hpet_timer *t, uint64_t val,
                            uint64_t mask, int64_t now)
{
    if (timer_32bit(t)) {
        mask &= UINT32_MAX;         /* the upper half is not there (2.3.8) */
    }
    if (!mask) {
        return;
    }
    if (!timer_periodic(t) || (t->config & HPET_TN_SETVAL)) {
        t->cmp = (t->cmp & ~mask) | (val & mask);
    }
    if (timer_periodic(t)) {
        /* The period keeps below half the counter's range (QEMU). */
        t->period = ((t->period & ~mask) | (val & mask)) &
                    (timer_32bit(t) ? INT32_MAX : INT64_MAX);
    }
    t->config &= ~(uint64_t)HPET_TN_SETVAL;
    if (hpet_enabled(s)) {
        timer_arm(s, t, now);
    }
}

static void hpet_write_status(struct hpet *s, uint64_t val, uint64_t mask)
{
    uint64_t clear = val & mask & s->isr;

    /* Write 1 to clear a level timer's status and release its line (2.3.6). */
    for (unsigned i = 0; i < HPET_NUM_TIMERS; i++) {
        if (clear & (1u << i)) {
            timer_set_irq(s, &s->timer[i], false);
        }
    }
}

static void hpet_write_counter(struct hpet *s, uint64_t val, uint64_t mask)
{
    if (hpet_enabled(s)) {
        /* 2.3.7: software halts the counter before writing it. */
        log_mask(LOG_GUEST_ERROR, "hpet: main counter written while running, ignored\n");
        return;
    }
    s->counter = (s->counter & ~mask) | (val & mask);
}

/* A write of the bytes in mask to the 64-bit register at reg (8-aligned). */
static void hpet_write_reg(struct hpet *s, unsigned reg, uint64_t val, uint64_t mask,
                           int64_t now)
{
    struct hpet_timer *t;

    switch (reg) {
    case HPET_REG_CAP:
        return;                     /* read-only */
    case HPET_REG_CONFIG:
        hpet_write_config(s, val, mask, now);
        return;
    case HPET_REG_STATUS:
        hpet_write_status(s, val, mask);
        return;
    case HPET_REG_COUNTER:
        hpet_write_counter(s, val, mask);
        return;
    }
    if (reg < HPET_REG_TN_CONFIG(0) || reg >= HPET_REG_TN_CONFIG(HPET_NUM_TIMERS)) {
        log_mask(LOG_GUEST_ERROR, "hpet: write to reserved offset 0x%x\n", reg);
        return;
    }
    t = &s->timer[(reg - HPET_REG_TN_CONFIG(0)) / 0x20];
    switch ((reg - HPET_REG_TN_CONFIG(0)) % 0x20) {
    case 0x00:
        timer_write_config(s, t, val, mask, now);
        break;
    case 0x08:
        timer_write_cmp(s, t, val, mask, now);
        break;
    case 0x10:
        t->fsb = (t->fsb & ~mask) | (val & mask);
        break;
    default:
        log_mask(LOG_GUEST_ERROR, "hpet: write to reserved offset 0x%x\n", reg);
        break;
    }
}

/*
 * The comparator as the guest sees it: a periodic one is past the counter
 * even while an interrupt waits out HPET_MIN_PERIOD_NS.
 */
static uint64_t timer_read_cmp(const struct hpet *s, const struct hpet_timer *t, int64_t now)
{
    struct hpet_timer view = *t;

    if (t->armed && timer_periodic(t) && t->period) {
        timer_step_comparator(&view, hpet_ticks(s, now));
    }
    return view.cmp;
}

static uint64_t hpet_read_reg(struct hpet *s, unsigned reg, int64_t now)
{
    const struct hpet_timer *t;

    switch (reg) {
    case HPET_REG_CAP:
        return (uint64_t)HPET_PERIOD_FS << 32 | HPET_CAP_ID;
    case HPET_REG_CONFIG:
        return s->config;
    case HPET_REG_STATUS:
        return s->isr;
    case HPET_REG_COUNTER:
        return hpet_ticks(s, now);
    }
    if (reg < HPET_REG_TN_CONFIG(0) || reg >= HPET_REG_TN_CONFIG(HPET_NUM_TIMERS)) {
        return 0;
    }
    t = &s->timer[(reg - HPET_REG_TN_CONFIG(0)) / 0x20];
    switch ((reg - HPET_REG_TN_CONFIG(0)) % 0x20) {
    case 0x00:
        return t->config;
    case 0x08:
        return timer_read_cmp(s, t, now);
    case 0x10:
        return t->fsb;
    default:
        return 0;
    }
}

/* ---- MMIO ---- */

/* 32-bit accesses to either half of a register, 64-bit ones to a whole one (2.3.1). */
static bool hpet_access_ok(uint64_t offset, unsigned size, bool is_write)
{
    if ((size == 4 || size == 8) && offset % size == 0 && offset + size <= HPET_LEN) {
        return true;
    }
    log_mask(LOG_GUEST_ERROR, "hpet: %u-byte %s at offset 0x%" PRIx64 " ignored\n",
             size, is_write ? "write" : "read", offset);
    return false;
}

static uint64_t hpet_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct hpet *s = opaque;
    int64_t now;
    uint64_t v;

    if (!hpet_access_ok(offset, size, false)) {
        return 0;
    }
    now = s->clock_ns();
    if (hpet_catch_up(s, now)) {
        hpet_rearm(s);
    }
    v = hpet_read_reg(s, offset & ~7u, now);
    if (size == 4) {
        return (uint32_t)(offset & 4 ? v >> 32 : v);
    }
    return v;
}

static void hpet_mmio_write(void *opaque, uint64_t offset, uint64_t val, unsigned size)
{
    struct hpet *s = opaque;
    uint64_t mask = UINT64_MAX;
    int64_t now;

    if (!hpet_access_ok(offset, size, true)) {
        return;
    }
    if (size == 4) {
        mask = offset & 4 ? 0xffffffff00000000ull : 0xffffffffull;
        val = offset & 4 ? val << 32 : (uint32_t)val;
    }
    now = s->clock_ns();
    hpet_catch_up(s, now);
    hpet_write_reg(s, offset & ~7u, val, mask, now);
    hpet_rearm(s);
}

static const struct io_ops hpet_mmio_ops = {
    .read = hpet_mmio_read,
    .write = hpet_mmio_write,
};

/* ---- creation and reset ---- */

void hpet_reset(struct hpet *s)
{
    bool was_legacy = s->config & HPET_CFG_LEGACY;

    for (unsigned i = 0; i < HPET_NUM_TIMERS; i++) {
        struct hpet_timer *t = &s->timer[i];

        t->index = i;
        t->armed = t->wrap_pending = false;
        t->cmp = CMP_IDLE;
        t->config = (uint64_t)HPET_PC_INTCAP << 32 | TN_CAPS;
        t->period = 0;
        t->fsb = 0;
    }
    s->isr = 0;
    s->config = 0;
    s->counter = 0;
    s->base_ns = 0;
    hpet_sync_lines(s);
    if (was_legacy && s->legacy_route) {
        s->legacy_route(s->opaque, false);
    }
    hpet_rearm(s);
}

struct hpet *hpet_create(int64_t (*clock_ns)(void), void (*legacy_route)(void *opaque, bool on),
                         void *opaque, GError **errp)
{
    struct hpet *s = g_new0(struct hpet, 1);

    s->clock_ns = clock_ns ? clock_ns : vclock_virtual_ns;
    s->legacy_route = legacy_route;
    s->opaque = opaque;
    hpet_reset(s);
    if (io_register_mmio(HPET_BASE, HPET_LEN, "hpet", &hpet_mmio_ops, s, errp) < 0) {
        g_free(s);
        return NULL;
    }
    s->armed_ns = -1;
    s->vtimer = vtimer_new(VCLOCK_VIRTUAL, "hpet", hpet_timer_expired, s);
    return s;
}

void hpet_free(struct hpet *s)
{
    if (!s) {
        return;
    }
    io_unregister_mmio(HPET_BASE, HPET_LEN);
    vtimer_free(s->vtimer);
    g_free(s);
}
