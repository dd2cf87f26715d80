/*
 * The HPET (hw/hpet.c) as a guest programs it: every access goes through
 * io_mmio() as a vCPU's loads and stores would, time is a fake clock the
 * test moves, and the GSIs the device raises are captured with
 * irq_set_route(), so each interrupt falls on a known nanosecond.  One
 * HPET lives for the whole process; each case starts from hpet_reset().
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "hw/hpet.h"
#include "hw/irq.h"
#include "system/memory.h"

#define NGSI    32
#define TICK    HPET_TICK_NS

static struct hpet *hpet;
static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

/* ---- captured lines ---- */

static int level[NGSI];
static unsigned raises[NGSI], lowers[NGSI];
static int64_t raise_at[NGSI][64];
static unsigned hook_on, hook_off;
static bool hook_state;

static void record_irq(void *opaque, unsigned gsi, int lvl)
{
    g_assert_true(opaque == level);
    g_assert_cmpuint(gsi, <, NGSI);
    if (lvl && !level[gsi]) {
        if (raises[gsi] < G_N_ELEMENTS(raise_at[gsi])) {
            raise_at[gsi][raises[gsi]] = fake_now;
        }
        raises[gsi]++;
    } else if (!lvl && level[gsi]) {
        lowers[gsi]++;
    }
    level[gsi] = lvl;
}

static void record_legacy(void *opaque, bool on)
{
    g_assert_true(opaque == &hook_state);
    if (on) {
        hook_on++;
    } else {
        hook_off++;
    }
    hook_state = on;
}

static void clear_records(void)
{
    memset(level, 0, sizeof(level));
    memset(raises, 0, sizeof(raises));
    memset(lowers, 0, sizeof(lowers));
    memset(raise_at, 0, sizeof(raise_at));
    hook_on = hook_off = 0;
}

/* Each case: a fresh device state at a new time, nothing recorded. */
static void start(void)
{
    fake_now += 1000000;
    hpet_reset(hpet);
    clear_records();
    hook_state = false;
}

/* ---- guest accesses ---- */

static uint32_t rd32(unsigned off)
{
    uint32_t v = 0xdeadbeef;

    io_mmio(HPET_BASE + off, &v, 4, false);
    return v;
}

static uint64_t rd64(unsigned off)
{
    uint64_t v = 0xdeadbeefdeadbeefull;

    io_mmio(HPET_BASE + off, &v, 8, false);
    return v;
}

static void wr32(unsigned off, uint32_t v)
{
    io_mmio(HPET_BASE + off, &v, 4, true);
}

static void wr64(unsigned off, uint64_t v)
{
    io_mmio(HPET_BASE + off, &v, 8, true);
}

/* What the main loop does: fire the timer source at each event up to t. */
static void run_until(int64_t t)
{
    int64_t e;

    while ((e = hpet_next_event_ns(hpet)) >= 0 && e <= t) {
        g_assert_cmpint(e, >=, fake_now);
        fake_now = e;
        hpet_update(hpet, e);
    }
    fake_now = t;
    hpet_update(hpet, t);
}

/* Timer n: edge or level, interrupt enabled, routed to gsi, plus extra bits. */
static void timer_setup(unsigned n, unsigned gsi, uint32_t extra)
{
    wr32(HPET_REG_TN_CONFIG(n), HPET_TN_INT_ENB | gsi << HPET_TN_ROUTE_SHIFT | extra);
}

/* ---- cases ---- */

static void test_capabilities(void)
{
    start();
    g_assert_cmphex(rd32(HPET_REG_CAP), ==, 0x8086a201);
    g_assert_cmpuint(rd32(HPET_REG_CAP + 4), ==, 10000000);    /* 10 ns in fs */
    g_assert_cmphex(rd64(HPET_REG_CAP), ==, 0x009896808086a201ull);
    g_assert_cmphex(rd64(HPET_REG_CONFIG), ==, 0);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 0);
    g_assert_cmphex(rd64(HPET_REG_COUNTER), ==, 0);
    for (unsigned n = 0; n < HPET_NUM_TIMERS; n++) {
        /* Periodic-capable, 64-bit, no FSB; may route to IOAPIC pin 2 (QEMU -M pc). */
        g_assert_cmphex(rd32(HPET_REG_TN_CONFIG(n)), ==, 0x30);
        g_assert_cmphex(rd32(HPET_REG_TN_CONFIG(n) + 4), ==, 0x4);
        g_assert_cmphex(rd64(HPET_REG_TN_CMP(n)), ==, UINT64_MAX);
        g_assert_cmphex(rd64(HPET_REG_TN_FSB(n)), ==, 0);
    }
    /* Capabilities are read-only, so are the timers' capability bits. */
    wr64(HPET_REG_CAP, 0);
    g_assert_cmphex(rd32(HPET_REG_CAP), ==, 0x8086a201);
    wr64(HPET_REG_TN_CONFIG(0), UINT64_MAX);
    g_assert_cmphex(rd32(HPET_REG_TN_CONFIG(0) + 4), ==, 0x4);
    /* FSB delivery is not there: its enable bit stays 0. */
    g_assert_cmphex(rd32(HPET_REG_TN_CONFIG(0)) & (HPET_TN_FSB_EN | HPET_TN_FSB_CAP), ==, 0);
    /* Only ENABLE_CNF and LEG_RT_CNF are writable in the general configuration. */
    wr64(HPET_REG_CONFIG, UINT64_MAX);
    g_assert_cmphex(rd64(HPET_REG_CONFIG), ==, 3);
    hpet_reset(hpet);
    g_assert_cmphex(rd64(HPET_REG_CONFIG), ==, 0);
    g_assert_cmphex(rd32(HPET_REG_TN_CONFIG(0)), ==, 0x30);
}

static void test_counter(void)
{
    int64_t t0;

    start();
    /* Halted: the clock moves, the counter does not. */
    fake_now += 5000;
    g_assert_cmphex(rd64(HPET_REG_COUNTER), ==, 0);
    /* Running: one tick per 10 ns. */
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    fake_now = t0 + 12345;
    g_assert_cmpuint(rd64(HPET_REG_COUNTER), ==, 1234);
    g_assert_cmpuint(rd32(HPET_REG_COUNTER), ==, 1234);
    g_assert_cmpuint(rd32(HPET_REG_COUNTER + 4), ==, 0);
    /* A write while running is ignored (software halts it first). */
    wr64(HPET_REG_COUNTER, 0x55);
    g_assert_cmpuint(rd64(HPET_REG_COUNTER), ==, 1234);
    /* Halting holds the value. */
    wr32(HPET_REG_CONFIG, 0);
    fake_now += 1000000;
    g_assert_cmpuint(rd64(HPET_REG_COUNTER), ==, 1234);
    /* Written while halted, by halves or whole. */
    wr32(HPET_REG_COUNTER + 4, 0x12345678);
    g_assert_cmphex(rd64(HPET_REG_COUNTER), ==, 0x12345678000004d2ull);
    wr32(HPET_REG_COUNTER, 0x9abcdef0);
    g_assert_cmphex(rd64(HPET_REG_COUNTER), ==, 0x123456789abcdef0ull);
    wr64(HPET_REG_COUNTER, 0xfffffffffffffff0ull);
    g_assert_cmphex(rd64(HPET_REG_COUNTER), ==, 0xfffffffffffffff0ull);
    /* Running again from there; 64 bits wrap. */
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    fake_now = t0 + 20 * TICK + 9;
    g_assert_cmphex(rd64(HPET_REG_COUNTER), ==, 4);
    wr32(HPET_REG_CONFIG, 0);
}

static void test_oneshot(void)
{
    int64_t t0;

    start();
    /* Nothing armed while no timer interrupt is enabled. */
    wr64(HPET_REG_TN_CMP(0), 1000);
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    t0 = fake_now;
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, -1);
    timer_setup(0, 2, 0);
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, t0 + 1000 * TICK);
    run_until(t0 + 1000 * TICK - 1);
    g_assert_cmpuint(raises[2], ==, 0);
    run_until(t0 + 1000000 * TICK);
    /* One pulse on GSI 2 at the match, none after; edge: no status bit. */
    g_assert_cmpuint(raises[2], ==, 1);
    g_assert_cmpuint(lowers[2], ==, 1);
    g_assert_cmpint(raise_at[2][0], ==, t0 + 1000 * TICK);
    g_assert_cmpint(level[2], ==, 0);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 0);
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, -1);
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)), ==, 1000);
    /* A new comparator re-arms the one-shot, relative to the running counter. */
    wr64(HPET_REG_TN_CMP(0), 1000000 + 500);
    run_until(fake_now + 1000 * TICK);
    g_assert_cmpuint(raises[2], ==, 2);
    g_assert_cmpint(raise_at[2][1], ==, t0 + 1000500 * TICK);
    /* Only GSI 2 ever moved. */
    for (unsigned g = 0; g < NGSI; g++) {
        if (g != 2) {
            g_assert_cmpuint(raises[g], ==, 0);
        }
    }
    wr32(HPET_REG_CONFIG, 0);
}

static void test_periodic(void)
{
    const uint64_t period = 10000;      /* 100 us */
    int64_t t0;

    start();
    /* Linux's way: with Tn_VAL_SET_CNF the first write sets the comparator. */
    timer_setup(0, 2, HPET_TN_PERIODIC | HPET_TN_SETVAL);
    g_assert_cmphex(rd32(HPET_REG_TN_CONFIG(0)) & HPET_TN_SETVAL, ==, HPET_TN_SETVAL);
    wr64(HPET_REG_TN_CMP(0), 2 * period);
    g_assert_cmphex(rd32(HPET_REG_TN_CONFIG(0)) & HPET_TN_SETVAL, ==, 0);
    wr32(HPET_REG_TN_CMP(0), period);   /* the period only */
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)), ==, 2 * period);
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    run_until(t0 + 11 * period * TICK + 5);
    /* Interrupts at the first comparator, then every period after it. */
    g_assert_cmpuint(raises[2], ==, 10);
    for (unsigned k = 0; k < 10; k++) {
        g_assert_cmpint(raise_at[2][k], ==, t0 + (int64_t)((2 + k) * period * TICK));
    }
    /* The comparator accumulates the period. */
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)), ==, 12 * period);
    /* A late main loop: missed periods collapse into one interrupt. */
    fake_now += 5 * period * TICK + 3;
    hpet_update(hpet, fake_now);
    g_assert_cmpuint(raises[2], ==, 11);
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)), ==, 17 * period);
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, t0 + (int64_t)(17 * period * TICK));
    /* Clearing Tn_INT_ENB_CNF stops the timer (QEMU), comparator and all. */
    wr32(HPET_REG_TN_CONFIG(0), HPET_TN_PERIODIC | 2 << HPET_TN_ROUTE_SHIFT);
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, -1);
    run_until(fake_now + 10 * period * TICK);
    g_assert_cmpuint(raises[2], ==, 11);
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)), ==, 17 * period);
    /*
     * A comparator write starts it again without interrupts (no host timer
     * for it): the comparator steps past the counter, caught up at access.
     */
    wr32(HPET_REG_TN_CMP(0), period);
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, -1);
    run_until(fake_now + 10 * period * TICK + 7);
    g_assert_cmpuint(raises[2], ==, 11);
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)) % period, ==, 0);
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)), >, rd64(HPET_REG_COUNTER));
    g_assert_cmpuint(rd64(HPET_REG_TN_CMP(0)), <=, rd64(HPET_REG_COUNTER) + period);
    wr32(HPET_REG_CONFIG, 0);
}

static void test_periodic_min_period(void)
{
    int64_t t0;
    uint64_t cmp, ctr;

    start();
    /* A 1 us period would be a million host wake-ups a second. */
    timer_setup(1, 2, HPET_TN_PERIODIC | HPET_TN_SETVAL);
    wr64(HPET_REG_TN_CMP(1), 100);
    wr32(HPET_REG_TN_CMP(1), 100);
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    run_until(t0 + 1000000);            /* 1 ms */
    g_assert_cmpuint(raises[2], >=, 1000000 / HPET_MIN_PERIOD_NS - 1);
    g_assert_cmpuint(raises[2], <=, 1000000 / HPET_MIN_PERIOD_NS + 1);
    for (unsigned k = 1; k < raises[2] && k < 64; k++) {
        g_assert_cmpint(raise_at[2][k] - raise_at[2][k - 1], >=, HPET_MIN_PERIOD_NS);
    }
    /* The comparator stays on the period's grid, just ahead of the counter. */
    cmp = rd64(HPET_REG_TN_CMP(1));
    ctr = rd64(HPET_REG_COUNTER);
    g_assert_cmpuint(cmp % 100, ==, 0);
    g_assert_cmpuint(cmp, >, ctr);
    g_assert_cmpuint(cmp, <=, ctr + 100);
    wr32(HPET_REG_CONFIG, 0);
}

static void test_level(void)
{
    int64_t t0;

    start();
    timer_setup(1, 2, HPET_TN_LEVEL);
    timer_setup(2, 2, HPET_TN_LEVEL);
    wr64(HPET_REG_TN_CMP(1), 100);
    wr64(HPET_REG_TN_CMP(2), 200);
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    run_until(t0 + 150 * TICK);
    /* Timer 1 holds GSI 2 and its status bit. */
    g_assert_cmpint(level[2], ==, 1);
    g_assert_cmpint(raise_at[2][0], ==, t0 + 100 * TICK);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 2);
    /* Writing 0s or another timer's bit clears nothing. */
    wr32(HPET_REG_STATUS, 0x5);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 2);
    g_assert_cmpint(level[2], ==, 1);
    run_until(t0 + 250 * TICK);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 6);
    /* Both hold the shared line: it drops only when both are cleared. */
    wr32(HPET_REG_STATUS, 0x2);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 4);
    g_assert_cmpint(level[2], ==, 1);
    wr64(HPET_REG_STATUS, 0x4);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 0);
    g_assert_cmpint(level[2], ==, 0);
    g_assert_cmpuint(raises[2], ==, 1);
    g_assert_cmpuint(lowers[2], ==, 1);
    /* Halting the block releases a held line too. */
    wr64(HPET_REG_TN_CMP(1), 300);
    run_until(t0 + 300 * TICK);
    g_assert_cmpint(level[2], ==, 1);
    wr32(HPET_REG_CONFIG, 0);
    g_assert_cmpint(level[2], ==, 0);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 0);
}

static void test_legacy(void)
{
    int64_t t0;

    start();
    /* Pretend the PIT and the RTC hold their lines high. */
    irq_set_level(0, 1);
    irq_set_level(8, 1);
    timer_setup(0, 2, 0);
    timer_setup(1, 2, 0);
    timer_setup(2, 2, 0);
    wr64(HPET_REG_TN_CMP(0), 100);
    wr64(HPET_REG_TN_CMP(1), 200);
    wr64(HPET_REG_TN_CMP(2), 300);
    wr32(HPET_REG_CONFIG, HPET_CFG_LEGACY);
    /* The machine is told, and the PIT's and RTC's levels are cut off. */
    g_assert_cmpuint(hook_on, ==, 1);
    g_assert_true(hook_state);
    g_assert_cmpint(level[0], ==, 0);
    g_assert_cmpint(level[8], ==, 0);
    clear_records();
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_LEGACY | HPET_CFG_ENABLE);
    g_assert_cmpuint(hook_on + hook_off, ==, 0);    /* no change, no call */
    run_until(t0 + 1000 * TICK);
    /* Timer 0 takes IRQ 0 (IOAPIC pin 2), timer 1 IRQ 8; timer 2 keeps its route. */
    g_assert_cmpuint(raises[0], ==, 1);
    g_assert_cmpint(raise_at[0][0], ==, t0 + 100 * TICK);
    g_assert_cmpuint(raises[8], ==, 1);
    g_assert_cmpint(raise_at[8][0], ==, t0 + 200 * TICK);
    g_assert_cmpuint(raises[2], ==, 1);
    g_assert_cmpint(raise_at[2][0], ==, t0 + 300 * TICK);
    /* Off again: the machine reconnects the PIT and the RTC. */
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    g_assert_cmpuint(hook_off, ==, 1);
    g_assert_false(hook_state);
    /* Timer 0 is back on its own route. */
    wr64(HPET_REG_TN_CMP(0), 2000);
    run_until(t0 + 3000 * TICK);
    g_assert_cmpuint(raises[0], ==, 1);
    g_assert_cmpuint(raises[2], ==, 2);
    /* A reset leaves legacy mode and says so. */
    wr32(HPET_REG_CONFIG, HPET_CFG_LEGACY);
    g_assert_cmpuint(hook_on, ==, 1);
    hpet_reset(hpet);
    g_assert_cmpuint(hook_off, ==, 2);
    g_assert_false(hook_state);
    hpet_reset(hpet);
    g_assert_cmpuint(hook_off, ==, 2);
}

static void test_legacy_level(void)
{
    start();
    /* A level timer 0 in legacy mode holds GSI 0 until its status is cleared. */
    timer_setup(0, 2, HPET_TN_LEVEL);
    wr64(HPET_REG_TN_CMP(0), 10);
    wr32(HPET_REG_CONFIG, HPET_CFG_LEGACY | HPET_CFG_ENABLE);
    run_until(fake_now + 100 * TICK);
    g_assert_cmpint(level[0], ==, 1);
    g_assert_cmpint(level[2], ==, 0);
    /* Leaving legacy mode moves the held level to the timer's own route. */
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    g_assert_cmpint(level[0], ==, 0);
    g_assert_cmpint(level[2], ==, 1);
    wr32(HPET_REG_STATUS, 1);
    g_assert_cmpint(level[2], ==, 0);
    wr32(HPET_REG_CONFIG, 0);
}

static void test_32bit(void)
{
    int64_t t0;

    start();
    /* Tn_32MODE_CNF drops the comparator's upper half. */
    wr32(HPET_REG_TN_CONFIG(0), HPET_TN_32BIT);
    g_assert_cmphex(rd64(HPET_REG_TN_CMP(0)), ==, 0xffffffffull);
    wr64(HPET_REG_TN_CMP(0), 0x1234567800000100ull);
    g_assert_cmphex(rd64(HPET_REG_TN_CMP(0)), ==, 0x100);
    /* One-shot: an interrupt when the low 32 bits wrap, then at the match. */
    wr64(HPET_REG_COUNTER, 0x1fffff000ull);
    timer_setup(0, 2, HPET_TN_32BIT);
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    run_until(t0 + 0x2000 * TICK);
    g_assert_cmpuint(raises[2], ==, 2);
    g_assert_cmpint(raise_at[2][0], ==, t0 + 0x1000 * TICK);
    g_assert_cmpint(raise_at[2][1], ==, t0 + 0x1100 * TICK);
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, -1);
    wr32(HPET_REG_CONFIG, 0);

    /* Periodic: the comparator steps modulo 2^32 across the wrap. */
    start();
    wr64(HPET_REG_COUNTER, 0xffffff00ull);
    timer_setup(1, 2, HPET_TN_32BIT | HPET_TN_PERIODIC | HPET_TN_SETVAL);
    wr32(HPET_REG_TN_CMP(1), 0xffffff00u + 10000);
    wr32(HPET_REG_TN_CMP(1), 10000);
    g_assert_cmphex(rd64(HPET_REG_TN_CMP(1)), ==, (0xffffff00u + 10000) & 0xffffffffu);
    t0 = fake_now;
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    run_until(t0 + 30000 * TICK);
    g_assert_cmpuint(raises[2], ==, 3);
    g_assert_cmpint(raise_at[2][0], ==, t0 + 10000 * TICK);
    g_assert_cmpint(raise_at[2][2], ==, t0 + 30000 * TICK);
    g_assert_cmphex(rd64(HPET_REG_TN_CMP(1)), ==, (0xffffff00u + 40000) & 0xffffffffu);
    wr32(HPET_REG_CONFIG, 0);
}

static void test_bad_accesses(void)
{
    uint8_t b = 0xff;
    uint16_t w = 0xffff;
    uint32_t l = 0xffffffff;
    uint64_t q = UINT64_MAX;

    start();
    /* Narrow and unaligned accesses are dropped; reads give 0. */
    b = HPET_CFG_ENABLE;
    io_mmio(HPET_BASE + HPET_REG_CONFIG, &b, 1, true);
    w = HPET_CFG_ENABLE;
    io_mmio(HPET_BASE + HPET_REG_CONFIG, &w, 2, true);
    l = HPET_CFG_ENABLE << 8;
    io_mmio(HPET_BASE + HPET_REG_CONFIG - 1, &l, 4, true);
    q = HPET_CFG_ENABLE;
    io_mmio(HPET_BASE + HPET_REG_CONFIG + 4, &q, 8, true);
    g_assert_cmphex(rd64(HPET_REG_CONFIG), ==, 0);
    b = 0xff;
    io_mmio(HPET_BASE + HPET_REG_CAP, &b, 1, false);
    g_assert_cmphex(b, ==, 0);
    w = 0xffff;
    io_mmio(HPET_BASE + HPET_REG_CAP + 2, &w, 2, false);
    g_assert_cmphex(w, ==, 0);
    l = 0xffffffff;
    io_mmio(HPET_BASE + HPET_REG_CAP + 2, &l, 4, false);
    g_assert_cmphex(l, ==, 0);
    q = UINT64_MAX;
    io_mmio(HPET_BASE + HPET_REG_CAP + 4, &q, 8, false);
    g_assert_cmphex(q, ==, 0);
    /* Straddling the end of the block. */
    l = 0xffffffff;
    io_mmio(HPET_BASE + HPET_LEN - 2, &l, 4, true);
    io_mmio(HPET_BASE + HPET_LEN - 2, &l, 4, false);
    /* Reserved offsets and timers beyond the third read 0 and keep nothing. */
    for (unsigned off = 0; off < HPET_LEN; off += 8) {
        if (off == HPET_REG_CAP || off == HPET_REG_CONFIG || off == HPET_REG_STATUS ||
            off == HPET_REG_COUNTER || off < HPET_REG_TN_CONFIG(HPET_NUM_TIMERS)) {
            continue;
        }
        wr64(off, UINT64_MAX);
        g_assert_cmphex(rd64(off), ==, 0);
    }
    wr64(0x30, UINT64_MAX);
    g_assert_cmphex(rd64(0x30), ==, 0);
    wr64(HPET_REG_TN_CONFIG(0) + 0x18, UINT64_MAX);
    g_assert_cmphex(rd64(HPET_REG_TN_CONFIG(0) + 0x18), ==, 0);
    /* Routes past the IOAPIC's pins reach nothing, without harm. */
    timer_setup(2, 31, HPET_TN_LEVEL);
    wr64(HPET_REG_TN_CMP(2), 5);
    wr32(HPET_REG_CONFIG, HPET_CFG_ENABLE);
    run_until(fake_now + 100 * TICK);
    g_assert_cmphex(rd64(HPET_REG_STATUS), ==, 4);
    for (unsigned g = 0; g < NGSI; g++) {
        g_assert_cmpuint(raises[g], ==, 0);
    }
    /* A comparator far ahead never fires, and time does not overflow. */
    wr32(HPET_REG_STATUS, 4);
    timer_setup(2, 2, 0);
    wr64(HPET_REG_TN_CMP(2), INT64_MAX);
    g_assert_cmpint(hpet_next_event_ns(hpet), ==, -1);
    wr32(HPET_REG_CONFIG, 0);
}

static void test_create_free(void)
{
    GError *err = NULL;

    start();
    /* One block at FED00000h: a second one does not fit. */
    g_assert_null(hpet_create(fake_clock, NULL, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    wr32(HPET_REG_CONFIG, HPET_CFG_LEGACY);
    hpet_free(hpet);
    g_assert_cmpuint(hook_off, ==, 0);
    /* Freed, the range reads as unclaimed MMIO; a new device starts from reset. */
    g_assert_cmphex(rd32(HPET_REG_CAP), ==, 0);
    hpet = hpet_create(fake_clock, record_legacy, &hook_state, &err);
    g_assert_no_error(err);
    g_assert_cmphex(rd32(HPET_REG_CAP), ==, 0x8086a201);
    g_assert_cmphex(rd64(HPET_REG_CONFIG), ==, 0);
    hpet_free(NULL);
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    g_test_init(&argc, &argv, NULL);
    irq_set_route(record_irq, level);
    fake_now = 1000000000;
    hpet = hpet_create(fake_clock, record_legacy, &hook_state, &err);
    g_assert_no_error(err);
    g_assert_nonnull(hpet);

    g_test_add_func("/hpet/capabilities", test_capabilities);
    g_test_add_func("/hpet/counter", test_counter);
    g_test_add_func("/hpet/oneshot", test_oneshot);
    g_test_add_func("/hpet/periodic", test_periodic);
    g_test_add_func("/hpet/periodic-min-period", test_periodic_min_period);
    g_test_add_func("/hpet/level", test_level);
    g_test_add_func("/hpet/legacy", test_legacy);
    g_test_add_func("/hpet/legacy-level", test_legacy_level);
    g_test_add_func("/hpet/32bit", test_32bit);
    g_test_add_func("/hpet/bad-accesses", test_bad_accesses);
    g_test_add_func("/hpet/create-free", test_create_free);
    return g_test_run();
}
