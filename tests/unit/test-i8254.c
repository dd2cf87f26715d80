/*
 * The i8254 PIT as guests program it: every access goes through io_pio()
 * exactly as a vCPU's IN/OUT would, and time is a fake clock the test moves,
 * so every count and every IRQ 0 edge falls on a known clock.  One PIT lives
 * for the whole process (ports cannot be unregistered); each case programs
 * the counters it uses from scratch.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "hw/i8254.h"
#include "system/memory.h"

#define FREQ    1193182ull

static struct i8254 *pit;
static int64_t fake_now;

/* ---- the fake clock and IRQ 0 ---- */

static int64_t fake_clock(void)
{
    return fake_now;
}

static int irq_level;
static unsigned irq_raises, irq_lowers;
static int64_t raise_at[64];

static void record_irq(void *opaque, int level)
{
    g_assert_true(opaque == &irq_level);
    g_assert_cmpint(level, !=, irq_level);      /* only changes are reported */
    if (level) {
        if (irq_raises < G_N_ELEMENTS(raise_at)) {
            raise_at[irq_raises] = fake_now;
        }
        irq_raises++;
    } else {
        irq_lowers++;
    }
    irq_level = level;
}

static void reset_counts(void)
{
    irq_raises = irq_lowers = 0;
    memset(raise_at, 0, sizeof(raise_at));
}

/* The first nanosecond, counted from t0, at which t clocks have passed. */
static int64_t tick_ns(int64_t t0, uint64_t t)
{
    return t0 + (int64_t)((t * 1000000000ull + FREQ - 1) / FREQ);
}

/* Whole clocks from t0 to t, as the chip counts them. */
static uint64_t ticks(int64_t t0, int64_t t)
{
    return (uint64_t)(t - t0) * FREQ / 1000000000ull;
}

/* Moves to t, lets the earlier programming run out, clears the records. */
static void start_at(int64_t t)
{
    fake_now = t;
    i8254_update(pit, t);
    reset_counts();
}

/* What the main loop does: fire the timer at each event up to t. */
static void run_until(int64_t t)
{
    int64_t e;

    while ((e = i8254_next_event_ns(pit)) >= 0 && e <= t) {
        g_assert_cmpint(e, >, fake_now - 1);
        fake_now = e;
        i8254_update(pit, e);
    }
    fake_now = t;
    i8254_update(pit, t);
}

/* ---- guest side ---- */

static uint8_t inb(uint16_t port)
{
    uint8_t v = 0;

    io_pio(port, &v, 1, false);
    return v;
}

static void outb(uint16_t port, uint8_t v)
{
    io_pio(port, &v, 1, true);
}

static void write_count(unsigned ch, uint16_t v)
{
    outb(0x40 + ch, v & 0xff);
    outb(0x40 + ch, v >> 8);
}

static uint16_t read_count(unsigned ch)
{
    uint8_t lo = inb(0x40 + ch);

    return lo | inb(0x40 + ch) << 8;
}

/* Counter latch command, then LSB and MSB. */
static uint16_t latch_count(unsigned ch)
{
    outb(0x43, ch << 6);
    return read_count(ch);
}

/* Channel 0 programmed as Linux's i8253 clockevent: control word, LSB, MSB. */
static int64_t program(unsigned ch, uint8_t cw, uint16_t count)
{
    outb(0x43, cw);
    write_count(ch, count);
    return fake_now;
}

/* ---- cases ---- */

static void check_periodic(int64_t start, uint16_t latch, unsigned periods)
{
    int64_t t0;

    start_at(start);
    t0 = program(0, 0x34, latch);            /* counter 0, LSB/MSB, mode 2, binary */
    g_assert_cmpint(irq_level, ==, 1);
    /* The first event is the falling edge when the count reaches 1. */
    g_assert_cmpint(i8254_next_event_ns(pit), ==, tick_ns(t0, latch - 1));
    run_until(tick_ns(t0, (uint64_t)latch * periods) + 1);
    g_assert_cmpuint(irq_raises, ==, periods);
    g_assert_cmpuint(irq_lowers, ==, periods);
    for (unsigned k = 1; k <= periods; k++) {
        g_assert_cmpint(raise_at[k - 1], ==, tick_ns(t0, (uint64_t)latch * k));
    }
    /* The count runs down and reloads. */
    fake_now = tick_ns(t0, (uint64_t)latch * periods + 100);
    g_assert_cmpuint(latch_count(0), ==, latch - 100);
    fake_now = tick_ns(t0, (uint64_t)latch * periods + latch - 1);
    g_assert_cmpuint(latch_count(0), ==, 1);
    fake_now = tick_ns(t0, (uint64_t)latch * (periods + 1));
    g_assert_cmpuint(latch_count(0), ==, latch);
}

static void test_mode2_1000hz(void)
{
    check_periodic(1000000000, 1193, 10);
}

static void test_mode2_100hz(void)
{
    check_periodic(3000000000, 11932, 10);
}

static void test_mode2_late_timer(void)
{
    int64_t t0;

    fake_now = 5000000000;
    t0 = program(0, 0x34, 1193);
    reset_counts();
    /* The timer fires 7.5 periods late: the lost ticks give one edge. */
    fake_now = tick_ns(t0, 1193 * 7 + 600);
    i8254_update(pit, fake_now);
    g_assert_cmpuint(irq_raises, ==, 1);
    g_assert_cmpint(irq_level, ==, 1);
    /* Late by less than the pulse: the low clock is still delivered. */
    reset_counts();
    fake_now = tick_ns(t0, 1193 * 8 + 3);
    i8254_update(pit, fake_now);
    g_assert_cmpuint(irq_lowers, ==, 1);
    g_assert_cmpuint(irq_raises, ==, 1);
    g_assert_cmpint(i8254_next_event_ns(pit), ==, tick_ns(t0, 1193 * 9 - 1));
}

static void test_mode0_oneshot(void)
{
    int64_t t0;

    start_at(7000000000);
    outb(0x43, 0x30);                        /* counter 0, LSB/MSB, mode 0 */
    g_assert_cmpint(irq_level, ==, 0);       /* OUT low from the control word */
    t0 = fake_now += 1000;
    write_count(0, 1000);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmpint(i8254_next_event_ns(pit), ==, tick_ns(t0, 1000));
    run_until(tick_ns(t0, 1000) - 1);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmpuint(latch_count(0), ==, 1);
    run_until(tick_ns(t0, 1000));
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmpuint(irq_raises, ==, 1);
    g_assert_cmpint(raise_at[0], ==, tick_ns(t0, 1000));
    g_assert_cmpint(i8254_next_event_ns(pit), ==, -1);
    /* Past terminal count the counter wraps and keeps going; OUT stays high. */
    run_until(tick_ns(t0, 1005));
    g_assert_cmpuint(latch_count(0), ==, 65531);
    g_assert_cmpint(irq_level, ==, 1);

    /* Rewriting: the first byte stops the count and drops OUT. */
    t0 = fake_now;
    write_count(0, 500);
    g_assert_cmpint(irq_level, ==, 0);
    run_until(tick_ns(t0, 499));
    g_assert_cmpint(irq_level, ==, 0);
    run_until(tick_ns(t0, 500));
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmpint(raise_at[irq_raises - 1], ==, tick_ns(t0, 500));
    fake_now = tick_ns(t0, 502);
    outb(0x40, 0x10);                        /* LSB only: counting stops */
    g_assert_cmpint(irq_level, ==, 0);
    run_until(tick_ns(t0, 10000));
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmpint(i8254_next_event_ns(pit), ==, -1);
    g_assert_cmpuint(latch_count(0), ==, 65534);
    t0 = fake_now;
    outb(0x40, 0x00);                        /* MSB: 0x0010 loaded */
    run_until(tick_ns(t0, 16));
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmpint(raise_at[irq_raises - 1], ==, tick_ns(t0, 16));
}

static void test_mode3_square(void)
{
    int64_t t0;

    start_at(9000000000);
    t0 = program(0, 0x36, 100);
    g_assert_cmpint(irq_level, ==, 1);
    run_until(tick_ns(t0, 49));
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmpuint(latch_count(0), ==, 2);
    run_until(tick_ns(t0, 50));
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmpuint(latch_count(0), ==, 100);    /* the second half reloads */
    fake_now = tick_ns(t0, 60);
    g_assert_cmpuint(latch_count(0), ==, 80);     /* by two each clock */
    run_until(tick_ns(t0, 100));
    g_assert_cmpint(irq_level, ==, 1);
    run_until(tick_ns(t0, 1000));
    g_assert_cmpuint(irq_raises, ==, 10);
    g_assert_cmpuint(irq_lowers, ==, 10);
    g_assert_cmpint(raise_at[3], ==, tick_ns(t0, 400));

    /* An odd count on counter 2, watched on port 0x61 bit 5: 3 high, 2 low. */
    outb(0x61, 0x01);
    t0 = program(2, 0xb6, 5);
    g_assert_cmpuint(latch_count(2), ==, 4);       /* an odd count loads N-1 */
    fake_now = tick_ns(t0, 1);
    g_assert_cmpuint(latch_count(2), ==, 2);
    for (unsigned t = 0; t < 10; t++) {
        fake_now = tick_ns(t0, t);
        g_assert_cmpuint(inb(0x61) & 0x20, ==, t % 5 < 3 ? 0x20 : 0);
    }
    outb(0x61, 0x00);
}

static void test_mode4_strobe(void)
{
    int64_t t0;

    start_at(11000000000);
    t0 = program(0, 0x38, 300);             /* mode 4 */
    reset_counts();                          /* the control word may raise OUT */
    g_assert_cmpint(irq_level, ==, 1);
    run_until(tick_ns(t0, 299));
    g_assert_cmpuint(irq_lowers, ==, 0);
    run_until(tick_ns(t0, 300));
    g_assert_cmpint(irq_level, ==, 0);
    run_until(tick_ns(t0, 301));
    g_assert_cmpint(irq_level, ==, 1);
    run_until(tick_ns(t0, 100000));
    g_assert_cmpuint(irq_lowers, ==, 1);
    g_assert_cmpuint(irq_raises, ==, 1);
    g_assert_cmpint(i8254_next_event_ns(pit), ==, -1);
}

static void test_latch_readback(void)
{
    int64_t t0;

    fake_now = 13000000000;
    t0 = program(0, 0x34, 5000);
    /* Null Count until the count has been loaded (one clock). */
    outb(0x43, 0xe2);                        /* read-back, status only, counter 0 */
    g_assert_cmphex(inb(0x40), ==, 0x80 | 0x40 | 0x34);
    fake_now = tick_ns(t0, 100);
    outb(0x43, 0x00);                        /* latch counter 0 */
    fake_now = tick_ns(t0, 200);
    outb(0x43, 0x00);                        /* ignored: the first latch holds */
    fake_now = tick_ns(t0, 300);
    g_assert_cmpuint(read_count(0), ==, 4900);
    g_assert_cmpuint(read_count(0), ==, 4700); /* live again */
    g_assert_cmpuint(latch_count(0), ==, 4700);

    /* Read-back of count and status: status first, then LSB, MSB. */
    outb(0x43, 0xc2);
    fake_now = tick_ns(t0, 400);
    g_assert_cmphex(inb(0x40), ==, 0x80 | 0x34);
    g_assert_cmpuint(read_count(0), ==, 4700);

    /* Counters 0 and 2 in one command; counter 2 in mode 0 has OUT low. */
    outb(0x61, 0x01);
    int64_t t2 = program(2, 0xb0, 0x1234);
    int64_t rb = fake_now = tick_ns(t0, 500);
    outb(0x43, 0xca);                        /* count and status, counters 0 and 2 */
    fake_now = tick_ns(t0, 900);
    g_assert_cmphex(inb(0x42), ==, 0x30);
    g_assert_cmpuint(read_count(2), ==, 0x1234 - ticks(t2, rb));
    g_assert_cmphex(inb(0x40), ==, 0x80 | 0x34);
    g_assert_cmpuint(read_count(0), ==, 4500);
    g_assert_cmpuint(ticks(t2, rb), >=, 99);

    /* The first status latch holds; read-back of the count alone. */
    t2 = program(2, 0xb0, 50);
    outb(0x43, 0xe8);                        /* status of counter 2: OUT low */
    fake_now = tick_ns(t2, 60);
    outb(0x43, 0xe8);                        /* ignored (OUT high by now) */
    g_assert_cmphex(inb(0x42), ==, 0x40 | 0x30);  /* Null Count: same clock */
    outb(0x43, 0xd8);                        /* count only, counter 2 */
    g_assert_cmpuint(read_count(2), ==, 0x10000 - 10);

    /* Mode 6 is mode 2 (datasheet: M2 is a don't-care for modes 2, 3). */
    t2 = program(2, 0xbc, 10);
    fake_now = tick_ns(t2, 9);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    fake_now = tick_ns(t2, 10);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);
    fake_now = tick_ns(t2, 19);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    outb(0x43, 0xe8);
    g_assert_cmphex(inb(0x42), ==, 0x3c);

    /* A control word drops a latch nobody read. */
    fake_now = tick_ns(t0, 1000);
    outb(0x43, 0x80);
    t2 = program(2, 0xb0, 0x4321);
    g_assert_cmpuint(read_count(2), ==, 0x4321);

    /* Latch in LSB-only and MSB-only access modes. */
    outb(0x43, 0x90);                        /* LSB only, mode 0 */
    t0 = fake_now;
    outb(0x42, 0x80);
    fake_now = tick_ns(t0, 0x20);
    outb(0x43, 0x80);
    fake_now = tick_ns(t0, 0x30);
    g_assert_cmpuint(inb(0x42), ==, 0x60);
    g_assert_cmpuint(inb(0x42), ==, 0x50);
    outb(0x43, 0xa0);                        /* MSB only, mode 0 */
    t0 = fake_now;
    outb(0x42, 0x12);
    fake_now = tick_ns(t0, 0x101);
    g_assert_cmpuint(inb(0x42), ==, 0x10);
    outb(0x61, 0x00);
}

static void test_bcd(void)
{
    int64_t t0;

    start_at(15000000000);
    t0 = program(0, 0x35, 0x1000);           /* mode 2, BCD, 1000 decimal */
    reset_counts();                          /* the control word may raise OUT */
    fake_now = tick_ns(t0, 1);
    g_assert_cmphex(latch_count(0), ==, 0x0999);
    fake_now = tick_ns(t0, 1000 + 12);
    g_assert_cmphex(latch_count(0), ==, 0x0988);
    run_until(tick_ns(t0, 3000));
    g_assert_cmpuint(irq_raises, ==, 3);
    g_assert_cmpint(raise_at[1], ==, tick_ns(t0, 2000));
    outb(0x43, 0xe2);
    g_assert_cmphex(inb(0x40), ==, 0x80 | 0x35);

    /* BCD count 0 means 10000; one-shot counting wraps at 10000. */
    outb(0x61, 0x01);
    t0 = program(2, 0xb1, 0x0000);
    fake_now = tick_ns(t0, 1);
    g_assert_cmphex(latch_count(2), ==, 0x9999);
    fake_now = tick_ns(t0, 10000 + 3);
    g_assert_cmphex(latch_count(2), ==, 0x9997);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);

    /* A count that is not BCD (0xB000, "11000") still counts modulo 10000. */
    t0 = program(2, 0xb5, 0xb000);
    fake_now = tick_ns(t0, 999);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    g_assert_cmphex(latch_count(2), ==, 0x0001);
    outb(0x61, 0x00);
}

/* Linux's pit_calibrate_tsc(): gate on, speaker off, mode 0, poll bit 5. */
static void test_tsc_calibration(void)
{
    const uint16_t latch = FREQ / (1000 / 50);   /* CAL_LATCH for 50 ms */
    unsigned loops = 0;
    int64_t t0;

    fake_now = 17000000000;
    outb(0x61, 0x02);                            /* speaker on, gate off */
    g_assert_cmphex(inb(0x61) & 0x03, ==, 0x02);
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    g_assert_cmphex(inb(0x61) & 0x03, ==, 0x01);
    outb(0x43, 0xb0);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    t0 = fake_now;
    outb(0x42, latch & 0xff);
    outb(0x42, latch >> 8);
    while (!(inb(0x61) & 0x20) && loops < 100000) {
        fake_now += 1000;
        loops++;
    }
    g_assert_cmpint(fake_now, >=, tick_ns(t0, latch));
    g_assert_cmpint(fake_now, <, tick_ns(t0, latch) + 1000);
    g_assert_cmpuint(loops, ==, (tick_ns(t0, latch) - t0 + 999) / 1000);

    /* quick_pit_calibrate(): count 0xffff, MSB falls once per 256 clocks. */
    t0 = program(2, 0xb0, 0xffff);
    fake_now = tick_ns(t0, 0x100);
    inb(0x42);
    g_assert_cmphex(inb(0x42), ==, 0xfe);
    fake_now = tick_ns(t0, 0x1234);
    g_assert_cmphex(inb(0x42), ==, 0xcb);        /* 0xffff - 0x1234 = 0xedcb */
    g_assert_cmphex(inb(0x42), ==, 0xed);

    /* With the gate low the count holds and OUT stays low. */
    outb(0x61, 0x00);
    t0 = program(2, 0xb0, 100);
    run_until(tick_ns(t0, 500));
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    g_assert_cmpuint(latch_count(2), ==, 100);
    outb(0x61, 0x01);
    t0 = fake_now;
    fake_now = tick_ns(t0, 99);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    outb(0x61, 0x00);                            /* pause at 1 left */
    fake_now = tick_ns(t0, 400);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    outb(0x61, 0x01);
    t0 = fake_now;
    fake_now = tick_ns(t0, 1);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);
    outb(0x61, 0x00);
}

static void test_gate_modes(void)
{
    int64_t t0;

    fake_now = 19000000000;
    outb(0x61, 0x00);
    /* Mode 1: OUT high until a gate rising edge, then low for the count. */
    program(2, 0xb2, 10);
    fake_now += 100000;
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);
    outb(0x61, 0x01);
    t0 = fake_now;
    fake_now = tick_ns(t0, 9);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    g_assert_cmpuint(latch_count(2), ==, 1);
    outb(0x61, 0x00);                            /* no effect in mode 1 */
    fake_now = tick_ns(t0, 10);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);
    outb(0x61, 0x01);                            /* retrigger */
    t0 = fake_now;
    fake_now = tick_ns(t0, 5);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);

    /* Mode 5: a trigger, then one clock low at terminal count. */
    outb(0x61, 0x00);
    program(2, 0xba, 20);
    outb(0x61, 0x01);
    t0 = fake_now;
    fake_now = tick_ns(t0, 19);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);
    fake_now = tick_ns(t0, 20);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    fake_now = tick_ns(t0, 21);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);

    /* Mode 2: a low gate forces OUT high and stops; high reloads. */
    t0 = program(2, 0xb4, 50);
    fake_now = tick_ns(t0, 49);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0);
    outb(0x61, 0x00);
    g_assert_cmpuint(inb(0x61) & 0x20, ==, 0x20);
    fake_now = tick_ns(t0, 500);
    g_assert_cmpuint(latch_count(2), ==, 1);
    outb(0x61, 0x01);
    t0 = fake_now;
    fake_now = tick_ns(t0, 10);
    g_assert_cmpuint(latch_count(2), ==, 40);
    outb(0x61, 0x00);
}

static void test_ports(void)
{
    /* 0x43 is write-only; 0x61 bit 4 follows the refresh clock. */
    g_assert_cmphex(inb(0x43), ==, 0xff);
    outb(0x61, 0x0c);
    fake_now = 15085ll * 2000000;
    g_assert_cmphex(inb(0x61) & 0x1f, ==, 0x0c);
    fake_now = 15085ll * 2000001;
    g_assert_cmphex(inb(0x61) & 0x1f, ==, 0x1c);
    outb(0x61, 0xf0);
    g_assert_cmphex(inb(0x61) & 0x0f, ==, 0x00);
    /* 16-bit accesses reach 0x40 and 0x41 a byte each, as the ISA bus splits them. */
    fake_now = 31000000000;
    outb(0x43, 0x10);                        /* counter 0, LSB only, mode 0 */
    outb(0x43, 0x50);                        /* counter 1, LSB only, mode 0 */
    uint16_t w = 0x2030;
    io_pio(0x40, &w, 2, true);
    fake_now = tick_ns(31000000000, 7);
    outb(0x43, 0x00);
    outb(0x43, 0x40);
    w = 0;
    io_pio(0x40, &w, 2, false);
    g_assert_cmphex(w, ==, 0x1929);
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    g_test_init(&argc, &argv, NULL);
    pit = i8254_create(fake_clock, record_irq, &irq_level, &err);
    g_assert_no_error(err);
    g_assert_nonnull(pit);
    /* Reset state: counter 0 in mode 3 with OUT high. */
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_null(i8254_create(fake_clock, NULL, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    g_test_add_func("/i8254/mode2-1000hz", test_mode2_1000hz);
    g_test_add_func("/i8254/mode2-100hz", test_mode2_100hz);
    g_test_add_func("/i8254/mode2-late-timer", test_mode2_late_timer);
    g_test_add_func("/i8254/mode0-oneshot", test_mode0_oneshot);
    g_test_add_func("/i8254/mode3-square", test_mode3_square);
    g_test_add_func("/i8254/mode4-strobe", test_mode4_strobe);
    g_test_add_func("/i8254/latch-readback", test_latch_readback);
    g_test_add_func("/i8254/bcd", test_bcd);
    g_test_add_func("/i8254/tsc-calibration", test_tsc_calibration);
    g_test_add_func("/i8254/gate-modes", test_gate_modes);
    g_test_add_func("/i8254/ports", test_ports);
    return g_test_run();
}
