/*
 * The MC146818 RTC as guests use it: every access goes through io_pio()
 * exactly as a vCPU's IN/OUT would, IRQ 8 is watched through an irq route,
 * and time is a fake clock the test moves, so every interrupt falls on a
 * known nanosecond.  The guest's date comes from -rtc base=DATE so the
 * registers' values are known too.  Expected CMOS bytes are what
 * qemu-system-x86_64 7.2 shows at ports 0x70/0x71 for the same machine.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "hw/irq.h"
#include "hw/rtc.h"
#include "system/memory.h"

#define NS      1000000000ll
#define T0      (1000 * NS)     /* the fake clock at creation */
#define BASE    "2006-06-17T16:01:21"

static struct rtc *rtc;
static int64_t fake_now;

/* ---- the fake clock, IRQ 8 and the guest ---- */

static int64_t fake_clock(void)
{
    return fake_now;
}

static int irq8;
static unsigned raises, other_gsi;
static int64_t raise_at[16];

static void record_irq(void *opaque, unsigned gsi, int level)
{
    if (gsi != RTC_IRQ) {
        other_gsi++;
        return;
    }
    if (level && !irq8) {
        if (raises < G_N_ELEMENTS(raise_at)) {
            raise_at[raises] = fake_now;
        }
        raises++;
    }
    irq8 = level;
}

static void outb(uint16_t port, uint8_t v)
{
    io_pio(port, &v, 1, true);
}

static uint8_t inb(uint16_t port)
{
    uint8_t v = 0;

    io_pio(port, &v, 1, false);
    return v;
}

static uint8_t cmos_read(uint8_t idx)
{
    outb(0x70, idx);
    return inb(0x71);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
    outb(0x70, idx);
    outb(0x71, v);
}

static struct rtc *make_rtc(const char *base)
{
    GError *err = NULL;

    fake_now = T0;
    irq8 = 0;
    raises = other_gsi = 0;
    memset(raise_at, 0, sizeof(raise_at));
    rtc = rtc_create(fake_clock, base, &err);
    g_assert_no_error(err);
    g_assert_nonnull(rtc);
    return rtc;
}

static void drop_rtc(void)
{
    rtc_free(rtc);
    rtc = NULL;
    g_assert_cmpuint(other_gsi, ==, 0);
}

/*
 * What the main loop does up to clock t: fire the timer at each event,
 * and what a guest's interrupt handler does: read register C when IRQ 8
 * went up (ack) or leave it (no ack).
 */
static unsigned run_until(int64_t t, bool ack)
{
    unsigned n = 0;
    int64_t e;

    while ((e = rtc_next_event_ns(rtc)) >= 0 && e <= t) {
        g_assert_cmpint(e, >=, fake_now);
        fake_now = e;
        rtc_update(rtc, e);
        g_assert_cmpint(irq8, ==, 1);   /* an event is an interrupt */
        if (ack) {
            cmos_read(RTC_REG_C);
            g_assert_cmpint(irq8, ==, 0);
        }
        g_assert_cmpuint(++n, <, 100000);
    }
    fake_now = t;
    return n;
}

/* ---- tests ---- */

static void test_power_on(void)
{
    make_rtc(BASE);
    g_assert_cmphex(cmos_read(RTC_REG_A), ==, 0x26);
    g_assert_cmphex(cmos_read(RTC_REG_B), ==, 0x02);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, 0x00);
    g_assert_cmphex(cmos_read(RTC_REG_D), ==, 0x80);      /* VRT */
    g_assert_cmphex(inb(0x70), ==, 0xff);                 /* the index is write-only */
    /* No interrupt enabled: nothing to wake the host for. */
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, -1);
    drop_rtc();
}

static void test_bcd_time(void)
{
    make_rtc(BASE);
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x21);
    g_assert_cmphex(cmos_read(RTC_MINUTES), ==, 0x01);
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x16);
    g_assert_cmphex(cmos_read(RTC_DAY_OF_WEEK), ==, 0x07);   /* Saturday */
    g_assert_cmphex(cmos_read(RTC_DAY_OF_MONTH), ==, 0x17);
    g_assert_cmphex(cmos_read(RTC_MONTH), ==, 0x06);
    g_assert_cmphex(cmos_read(RTC_YEAR), ==, 0x06);
    g_assert_cmphex(cmos_read(RTC_CENTURY), ==, 0x20);
    g_assert_cmphex(cmos_read(RTC_PS2_CENTURY), ==, 0x20);   /* the PS/2 alias */
    /* The clock runs: 39.5 s later it is 16:02:00. */
    fake_now += 39 * NS + NS / 2;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(cmos_read(RTC_MINUTES), ==, 0x02);
    /* Across midnight, month and year: 2006-12-31T23:59:59 + 1 s. */
    drop_rtc();
    make_rtc("2006-12-31T23:59:59");
    fake_now += NS;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x00);
    g_assert_cmphex(cmos_read(RTC_DAY_OF_MONTH), ==, 0x01);
    g_assert_cmphex(cmos_read(RTC_MONTH), ==, 0x01);
    g_assert_cmphex(cmos_read(RTC_YEAR), ==, 0x07);
    g_assert_cmphex(cmos_read(RTC_DAY_OF_WEEK), ==, 0x02);   /* Monday */
    drop_rtc();
}

static void test_binary_time(void)
{
    make_rtc(BASE);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_DM);
    g_assert_cmpuint(cmos_read(RTC_SECONDS), ==, 21);
    g_assert_cmpuint(cmos_read(RTC_MINUTES), ==, 1);
    g_assert_cmpuint(cmos_read(RTC_HOURS), ==, 16);
    g_assert_cmpuint(cmos_read(RTC_DAY_OF_MONTH), ==, 17);
    g_assert_cmpuint(cmos_read(RTC_MONTH), ==, 6);
    g_assert_cmpuint(cmos_read(RTC_YEAR), ==, 6);
    g_assert_cmpuint(cmos_read(RTC_CENTURY), ==, 20);
    /* Index 0x37 becomes 0x32, for writes too, as QEMU does. */
    outb(0x70, RTC_PS2_CENTURY);
    g_assert_cmpuint(inb(0x71), ==, 20);
    outb(0x71, 19);
    g_assert_cmpuint(inb(0x71), ==, 19);
    g_assert_cmpuint(cmos_read(RTC_CENTURY), ==, 19);
    g_assert_cmpuint(cmos_read(RTC_YEAR), ==, 6);
    drop_rtc();
}

static void test_12_hour(void)
{
    struct tm tm;

    make_rtc(BASE);
    cmos_write(RTC_REG_B, 0);                   /* BCD, 12-hour */
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x84);      /* 4 PM */
    cmos_write(RTC_REG_B, RTC_REG_B_DM);        /* binary, 12-hour */
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x84);
    drop_rtc();

    make_rtc("2006-06-17");
    cmos_write(RTC_REG_B, 0);
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x12);      /* 12 AM */
    fake_now += 12 * 3600 * NS;
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x92);      /* 12 PM */
    /* A guest writes 1 PM in 12-hour mode; 24-hour mode then shows 13. */
    cmos_write(RTC_HOURS, 0x81);
    rtc_get_time(rtc, &tm);
    g_assert_cmpint(tm.tm_hour, ==, 13);
    cmos_write(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x13);
    drop_rtc();
}

static void test_base(void)
{
    GError *err = NULL;
    const char *bad[] = { "2006-13-01", "2006-06-17T24:00:00", "yesterday", "2006-06-17T1",
                          "2006-06-17 16:01:21" };
    struct tm tm;
    time_t host;
    int64_t diff;

    make_rtc("2006-06-17");
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x00);
    fake_now += 61 * NS + NS / 2;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x01);
    g_assert_cmphex(cmos_read(RTC_MINUTES), ==, 0x01);
    rtc_get_time(rtc, &tm);
    g_assert_cmpint(tm.tm_year, ==, 106);
    g_assert_cmpint(tm.tm_mon, ==, 5);
    g_assert_cmpint(tm.tm_mday, ==, 17);
    g_assert_cmpint(tm.tm_wday, ==, 6);
    g_assert_cmpint(tm.tm_sec, ==, 1);
    drop_rtc();

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(rtc_create(fake_clock, bad[i], &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "invalid datetime format"));
        g_clear_error(&err);
    }

    /* utc and localtime follow the host's clock: TZ five hours west. */
    setenv("TZ", "EST5", 1);
    tzset();
    make_rtc("utc");
    rtc_get_time(rtc, &tm);
    host = time(NULL);
    diff = (int64_t)timegm(&tm) - host;
    g_assert_cmpint(diff, >=, -2);
    g_assert_cmpint(diff, <=, 2);
    drop_rtc();
    make_rtc("localtime");
    rtc_get_time(rtc, &tm);
    diff = (int64_t)timegm(&tm) - time(NULL);
    g_assert_cmpint(diff, >=, -5 * 3600 - 2);
    g_assert_cmpint(diff, <=, -5 * 3600 + 2);
    drop_rtc();
    unsetenv("TZ");
    tzset();
}

static int64_t change_offset;
static unsigned changes;

static void record_change(void *opaque, int64_t offset)
{
    g_assert_true(opaque == &changes);
    change_offset = offset;
    changes++;
}

static void test_guest_set_time(void)
{
    struct tm want = { .tm_year = 130, .tm_mon = 0, .tm_mday = 2,
                       .tm_hour = 3, .tm_min = 4, .tm_sec = 5 };
    struct tm base = { .tm_year = 106, .tm_mon = 5, .tm_mday = 17,
                       .tm_hour = 16, .tm_min = 1, .tm_sec = 21 };

    make_rtc(BASE);
    changes = 0;
    rtc_set_change_hook(rtc, record_change, &changes);
    /* As Linux sets the clock: SET, the bytes, SET off. */
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_SET);
    cmos_write(RTC_SECONDS, 0x05);
    cmos_write(RTC_MINUTES, 0x04);
    cmos_write(RTC_HOURS, 0x03);
    cmos_write(RTC_DAY_OF_MONTH, 0x02);
    cmos_write(RTC_MONTH, 0x01);
    cmos_write(RTC_YEAR, 0x30);
    cmos_write(RTC_CENTURY, 0x20);
    g_assert_cmpuint(changes, ==, 0);
    fake_now += 3 * NS;                         /* SET holds the bytes */
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x05);
    cmos_write(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmpuint(changes, ==, 1);
    g_assert_cmpint(change_offset, ==, (int64_t)(timegm(&want) - timegm(&base) - 3));

    /* The new time is kept across reads and runs on with the clock. */
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x05);
    fake_now += 10 * NS;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x15);
    g_assert_cmphex(cmos_read(RTC_MINUTES), ==, 0x04);
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x03);
    g_assert_cmphex(cmos_read(RTC_DAY_OF_WEEK), ==, 0x04);   /* 2030-01-02: Wednesday */
    g_assert_cmphex(cmos_read(RTC_YEAR), ==, 0x30);
    g_assert_cmphex(cmos_read(RTC_CENTURY), ==, 0x20);
    fake_now += 3600 * NS;
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x04);

    /* A write while running takes effect at once, the rest runs on. */
    cmos_write(RTC_MINUTES, 0x30);
    g_assert_cmpuint(changes, ==, 2);
    fake_now += 2 * NS;
    g_assert_cmphex(cmos_read(RTC_MINUTES), ==, 0x30);
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x17);
    g_assert_cmphex(cmos_read(RTC_HOURS), ==, 0x04);
    drop_rtc();
}

static void test_uip_set(void)
{
    make_rtc(BASE);                             /* a date base starts on a whole second */
    fake_now = T0 + NS - 244141;
    g_assert_cmphex(cmos_read(RTC_REG_A), ==, 0x26);
    fake_now = T0 + NS - 244140;                /* the last 244 us before the update */
    g_assert_cmphex(cmos_read(RTC_REG_A), ==, 0xa6);
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x21);   /* not updated yet */
    fake_now = T0 + NS;
    g_assert_cmphex(cmos_read(RTC_REG_A), ==, 0x26);
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x22);
    /* UIP is read-only. */
    cmos_write(RTC_REG_A, 0xa6);
    g_assert_cmphex(cmos_read(RTC_REG_A), ==, 0x26);

    /* SET freezes the bytes and UIP; clearing it continues the same phase. */
    fake_now = T0 + NS + NS / 4;
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_SET);
    fake_now = T0 + 5 * NS - 1000;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x22);
    g_assert_cmphex(cmos_read(RTC_REG_A), ==, 0x26);
    cmos_write(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x22);
    g_assert_cmphex(cmos_read(RTC_REG_A), ==, 0xa6);     /* still 1 us before a second */
    fake_now = T0 + 5 * NS;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x23);
    drop_rtc();
}

static void test_divider_reset(void)
{
    make_rtc(BASE);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE);
    fake_now = T0 + NS / 4;
    cmos_write(RTC_REG_A, 0x76);                /* dividers in reset */
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, -1);     /* no update, no UIE */
    fake_now = T0 + 10 * NS;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x21);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, 0x00);
    g_assert_cmpint(irq8, ==, 0);
    /* Out of reset the first update comes 500 ms later. */
    cmos_write(RTC_REG_A, 0x26);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + 10 * NS + NS / 2);
    fake_now = T0 + 10 * NS + NS / 2 - 1;
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x21);
    g_assert_cmpuint(run_until(T0 + 10 * NS + NS / 2, true), ==, 1);
    g_assert_cmphex(cmos_read(RTC_SECONDS), ==, 0x22);
    drop_rtc();
}

/* Rising edges of IRQ 8 over one second of steady periodic interrupts. */
static unsigned periodic_edges_per_second(uint8_t rs)
{
    unsigned n;

    make_rtc(BASE);
    cmos_write(RTC_REG_A, 0x20 | rs);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_PIE);
    run_until(T0 + NS + 1, true);
    raises = 0;
    n = run_until(T0 + 2 * NS + 1, true);
    g_assert_cmpuint(n, ==, raises);
    /* Evenly spaced (to the nanosecond rounding of the 32.768 kHz grid). */
    if (raises >= 3) {
        int64_t d = raise_at[1] - raise_at[0];

        g_assert_cmpint(d, >=, NS / n - 1);
        g_assert_cmpint(d, <=, NS / n + 1);
        g_assert_cmpint(raise_at[2] - raise_at[1], >=, d - 1);
        g_assert_cmpint(raise_at[2] - raise_at[1], <=, d + 1);
    }
    drop_rtc();
    return n;
}

static void test_periodic(void)
{
    g_assert_cmpuint(periodic_edges_per_second(6), ==, 1024);
    g_assert_cmpuint(periodic_edges_per_second(3), ==, 8192);
    g_assert_cmpuint(periodic_edges_per_second(15), ==, 2);
    g_assert_cmpuint(periodic_edges_per_second(1), ==, 256);    /* RS 1 is RS 8 */
    g_assert_cmpuint(periodic_edges_per_second(2), ==, 128);
    g_assert_cmpuint(periodic_edges_per_second(0), ==, 0);      /* RS 0: none */

    /* Without PIE no timer, and PF stays clear (as QEMU). */
    make_rtc(BASE);
    fake_now = T0 + 3 * NS;
    g_assert_cmphex(cmos_read(RTC_REG_C) & RTC_REG_C_PF, ==, 0);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, -1);
    /* An unacknowledged periodic interrupt keeps IRQ 8 up: one edge. */
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_PIE);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + 3 * NS + NS / 1024 + 1);
    run_until(T0 + 4 * NS, false);
    g_assert_cmpuint(raises, ==, 1);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, RTC_REG_C_IRQF | RTC_REG_C_PF | RTC_REG_C_UF);
    g_assert_cmpint(irq8, ==, 0);
    /* PIE off: the timer stops. */
    cmos_write(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, -1);
    drop_rtc();
}

static void test_uie(void)
{
    make_rtc(BASE);
    fake_now = T0 + NS / 3;
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + NS);
    g_assert_cmpuint(run_until(T0 + 5 * NS + NS / 2, true), ==, 5);
    for (unsigned i = 0; i < 5; i++) {
        g_assert_cmpint(raise_at[i], ==, T0 + (i + 1) * NS);
    }
    /* The guest does not read C: no more interrupts, no more timer. */
    run_until(T0 + 6 * NS + NS / 2, false);
    g_assert_cmpuint(raises, ==, 6);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, -1);
    fake_now = T0 + 20 * NS;
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, RTC_REG_C_IRQF | RTC_REG_C_UF);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + 21 * NS);
    /* SET clears UIE. */
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE | RTC_REG_B_SET);
    g_assert_cmphex(cmos_read(RTC_REG_B), ==, RTC_REG_B_24H | RTC_REG_B_SET);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, -1);
    drop_rtc();
}

static void test_alarm(void)
{
    make_rtc(BASE);                             /* 16:01:21 */
    /* Every minute at :30: hours and minutes don't care. */
    cmos_write(RTC_SECONDS_ALARM, 0x30);
    cmos_write(RTC_MINUTES_ALARM, 0xc0);
    cmos_write(RTC_HOURS_ALARM, 0xff);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + 9 * NS);
    g_assert_cmpuint(run_until(T0 + 130 * NS, true), ==, 3);
    g_assert_cmpint(raise_at[0], ==, T0 + 9 * NS);
    g_assert_cmpint(raise_at[1], ==, T0 + 69 * NS);
    g_assert_cmpint(raise_at[2], ==, T0 + 129 * NS);
    /* What C showed at the alarm: AF with UF (an update came too). */
    fake_now = T0 + 189 * NS;
    rtc_update(rtc, fake_now);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==,
                    RTC_REG_C_IRQF | RTC_REG_C_AF | RTC_REG_C_UF);
    drop_rtc();

    /* A full time: 16:05:00, 219 s away; seconds don't care: each second
     * of 16:05. */
    make_rtc(BASE);
    cmos_write(RTC_SECONDS_ALARM, 0x00);
    cmos_write(RTC_MINUTES_ALARM, 0x05);
    cmos_write(RTC_HOURS_ALARM, 0x16);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + 219 * NS);
    cmos_write(RTC_SECONDS_ALARM, 0xc0);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + 219 * NS);
    g_assert_cmpuint(run_until(T0 + 219 * NS + 5 * NS, true), ==, 6);
    /* 16:01 has passed today: tomorrow, 24 h minus 21 s from now. */
    cmos_write(RTC_MINUTES_ALARM, 0x01);
    cmos_write(RTC_SECONDS_ALARM, 0x00);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, fake_now + (86400 - 21 - 224) * NS);
    /* 12-hour mode: 4 PM is 0x84 in the alarm too. */
    cmos_write(RTC_REG_B, RTC_REG_B_AIE);
    cmos_write(RTC_HOURS_ALARM, 0x84);
    cmos_write(RTC_MINUTES_ALARM, 0x10);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, fake_now + (600 - 81 - 224) * NS);
    /* An hour that never comes: no timer. */
    cmos_write(RTC_HOURS_ALARM, 0x25);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE);
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, -1);
    drop_rtc();

    /* Everything don't care: every second. */
    make_rtc(BASE);
    cmos_write(RTC_SECONDS_ALARM, 0xc0);
    cmos_write(RTC_MINUTES_ALARM, 0xc0);
    cmos_write(RTC_HOURS_ALARM, 0xc0);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_AIE);
    g_assert_cmpuint(run_until(T0 + 3 * NS, true), ==, 3);
    drop_rtc();
}

static void test_reg_c(void)
{
    make_rtc(BASE);
    /* Flags set without interrupts enabled: no IRQ, no timer. */
    fake_now = T0 + 2 * NS;
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, RTC_REG_C_UF);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, 0x00);      /* read clears */
    g_assert_cmpint(irq8, ==, 0);
    /* UF already set when UIE is enabled: the interrupt comes at once. */
    fake_now = T0 + 3 * NS;
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE);
    g_assert_cmpint(irq8, ==, 1);
    g_assert_cmpuint(raises, ==, 1);
    /* Disabling it drops IRQF and the line; enabling again raises it. */
    cmos_write(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmpint(irq8, ==, 0);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_UIE);
    g_assert_cmpint(irq8, ==, 1);
    /* Reading C lowers IRQ 8 and clears every flag. */
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, RTC_REG_C_IRQF | RTC_REG_C_UF);
    g_assert_cmpint(irq8, ==, 0);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, 0x00);
    /* C and D are read-only. */
    cmos_write(RTC_REG_C, 0xff);
    cmos_write(RTC_REG_D, 0x00);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, 0x00);
    g_assert_cmphex(cmos_read(RTC_REG_D), ==, 0x80);
    drop_rtc();
}

static void test_reset(void)
{
    make_rtc(BASE);
    cmos_write(0x0f, 0x05);
    cmos_write(0x40, 0x5a);
    cmos_write(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_DM | RTC_REG_B_PIE | RTC_REG_B_AIE |
               RTC_REG_B_UIE);
    run_until(T0 + NS / 2, false);
    g_assert_cmpint(irq8, ==, 1);
    rtc_reset(rtc);
    g_assert_cmpint(irq8, ==, 0);
    g_assert_cmphex(cmos_read(RTC_REG_B), ==, RTC_REG_B_24H | RTC_REG_B_DM | RTC_REG_B_UIE);
    g_assert_cmphex(cmos_read(RTC_REG_C), ==, 0x00);
    g_assert_cmphex(cmos_read(0x0f), ==, 0x00);
    g_assert_cmphex(cmos_read(0x40), ==, 0x5a);           /* CMOS memory stays */
    g_assert_cmpint(rtc_next_event_ns(rtc), ==, T0 + NS); /* UIE stays */
    cmos_write(0x0f, 0xfe);                     /* S3 resume survives reset */
    rtc_reset(rtc);
    g_assert_cmphex(cmos_read(0x0f), ==, 0xfe);
    drop_rtc();
}

static void test_nmi_mask(void)
{
    make_rtc(BASE);
    outb(0x70, 0x80 | RTC_REG_D);
    g_assert_true(rtc_nmi_masked(rtc));
    g_assert_cmphex(inb(0x71), ==, 0x80);
    outb(0x70, 0x80 | 0x50);
    outb(0x71, 0xa5);
    g_assert_cmphex(rtc_cmos_get(rtc, 0x50), ==, 0xa5);
    outb(0x70, 0x50);
    g_assert_false(rtc_nmi_masked(rtc));
    g_assert_cmphex(inb(0x71), ==, 0xa5);
    cmos_write(0x7f, 0x42);
    g_assert_cmphex(cmos_read(0xff), ==, 0x42);      /* bit 7 is not part of the index */
    /* The machine's side ignores indices past the end. */
    rtc_cmos_set(rtc, 200, 1);
    g_assert_cmphex(rtc_cmos_get(rtc, 200), ==, 0);
    /* A 16-bit OUT to 0x70 writes the index, then the data byte. */
    {
        uint16_t w = 0x3c51;

        io_pio(0x70, &w, 2, true);
        g_assert_cmphex(rtc_cmos_get(rtc, 0x51), ==, 0x3c);
    }
    drop_rtc();
}

static void test_ports_busy(void)
{
    GError *err = NULL;

    make_rtc(BASE);
    g_assert_null(rtc_create(fake_clock, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    drop_rtc();
    /* Freed: the ports can be claimed again. */
    make_rtc(NULL);
    drop_rtc();
}

/* The CMOS bytes QEMU 7.2 shows for -M pc -nodefaults. */
static void check_pc_cmos(uint64_t below, uint64_t above, unsigned ncpus, const uint8_t *want)
{
    static const uint8_t idx[] = { 0x10, 0x14, 0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35,
                                   0x38, 0x3d, 0x5b, 0x5c, 0x5d, 0x5f };
    GError *err = NULL;

    make_rtc(BASE);
    g_assert_cmpint(rtc_cmos_init_pc(rtc, below, above, ncpus, NULL, &err), ==, 0);
    g_assert_no_error(err);
    for (unsigned i = 0; i < G_N_ELEMENTS(idx); i++) {
        if (cmos_read(idx[i]) != want[i]) {
            g_error("CMOS 0x%02x: 0x%02x, want 0x%02x", idx[i], cmos_read(idx[i]), want[i]);
        }
    }
    drop_rtc();
}

static void test_cmos_memory(void)
{
    /*                                  10    14    15    16    17    18    30    31
     *                                  34    35    38    3d    5b    5c    5d    5f */
    static const uint8_t m128[] = { 0x00, 0x06, 0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
                                    0x00, 0x07, 0x30, 0x12, 0x00, 0x00, 0x00, 0x00 };
    static const uint8_t g3[] = { 0x00, 0x06, 0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
                                  0x00, 0xbf, 0x30, 0x12, 0x00, 0x00, 0x00, 0x00 };
    static const uint8_t g6[] = { 0x00, 0x06, 0x80, 0x02, 0xff, 0xff, 0xff, 0xff,
                                  0x00, 0xbf, 0x30, 0x12, 0x00, 0xc0, 0x00, 0x03 };
    static const uint8_t m8[] = { 0x00, 0x06, 0x80, 0x02, 0x00, 0x1c, 0x00, 0x1c,
                                  0x00, 0x00, 0x30, 0x12, 0x00, 0x00, 0x00, 0x00 };
    GError *err = NULL;

    check_pc_cmos(128 << 20, 0, 1, m128);
    check_pc_cmos(3ull << 30, 0, 1, g3);
    check_pc_cmos(3ull << 30, 3ull << 30, 4, g6);      /* -m 6G -smp 4 */
    check_pc_cmos(8 << 20, 0, 1, m8);

    /* -boot order=ndc; and what QEMU refuses. */
    make_rtc(BASE);
    g_assert_cmpint(rtc_cmos_init_pc(rtc, 512 << 20, 0, 1, "ndc", &err), ==, 0);
    g_assert_cmphex(cmos_read(0x3d), ==, 0x34);
    g_assert_cmphex(cmos_read(0x38), ==, 0x20);
    g_assert_cmphex(cmos_read(0x35), ==, 0x1f);
    g_assert_cmpint(rtc_cmos_init_pc(rtc, 512 << 20, 0, 1, "cdne", &err), ==, -EINVAL);
    g_assert_cmpstr(err->message, ==, "Too many boot devices for PC");
    g_clear_error(&err);
    g_assert_cmpint(rtc_cmos_init_pc(rtc, 512 << 20, 0, 1, "e", &err), ==, -EINVAL);
    g_assert_cmpstr(err->message, ==, "Invalid boot device for PC: 'e'");
    g_clear_error(&err);
    drop_rtc();

    /* microvm: the memory bytes only (-M microvm,rtc=on -m 6G -smp 2). */
    make_rtc(BASE);
    rtc_cmos_init_microvm(rtc, 3ull << 30, 3ull << 30);
    g_assert_cmphex(cmos_read(0x15), ==, 0x80);
    g_assert_cmphex(cmos_read(0x16), ==, 0x02);
    g_assert_cmphex(cmos_read(0x17), ==, 0xff);
    g_assert_cmphex(cmos_read(0x31), ==, 0xff);
    g_assert_cmphex(cmos_read(0x35), ==, 0xbf);
    g_assert_cmphex(cmos_read(0x5c), ==, 0xc0);
    g_assert_cmphex(cmos_read(0x14), ==, 0x00);
    g_assert_cmphex(cmos_read(0x3d), ==, 0x00);
    g_assert_cmphex(cmos_read(0x5f), ==, 0x00);
    drop_rtc();
}

/*
 * IDE hard disks (rtc_cmos_set_ide_disk) as QEMU 7.2 writes them for
 * -nodefaults -drive if=ide,index=0 (100 MiB raw: 203/16/63, no
 * translation), index=1 (1 GiB: 2080/16/63, LBA), index=3 (100 MiB) and a
 * CD-ROM at index 2 (nothing): CMOS 0x12-0x2c and 0x39 read from QEMU.
 */
static void test_cmos_ide(void)
{
    static const uint8_t want_12_2c[] = {
        0xff, 0x00, 0x06, 0x80, 0x02, 0xff, 0xff, 0x2f, 0x2f, 0xcb, 0x00, 0x10,
        0xff, 0xff, 0xc8, 0xcb, 0x00, 0x3f, 0x20, 0x08, 0x10, 0xff, 0xff, 0xc8,
        0x20, 0x08, 0x3f,
    };
    GError *err = NULL;

    make_rtc(BASE);
    g_assert_cmpint(rtc_cmos_init_pc(rtc, 128 << 20, 0, 1, NULL, &err), ==, 0);
    g_assert_true(rtc_default() == rtc);
    rtc_cmos_set_ide_disk(rtc, 0, 203, 16, 63, 0);
    rtc_cmos_set_ide_disk(rtc, 1, 2080, 16, 63, 1);
    rtc_cmos_set_ide_disk(rtc, 3, 203, 16, 63, 0);
    rtc_cmos_set_ide_disk(rtc, 4, 1, 1, 1, 3);      /* no such disk: nothing */
    for (unsigned i = 0; i < sizeof(want_12_2c); i++) {
        if (cmos_read(0x12 + i) != want_12_2c[i]) {
            g_error("CMOS 0x%02x: 0x%02x, want 0x%02x", 0x12 + i, cmos_read(0x12 + i),
                    want_12_2c[i]);
        }
    }
    g_assert_cmphex(cmos_read(0x39), ==, 0x04);
    /* A disk of 8 heads or fewer: control byte without bit 3. */
    rtc_cmos_set_ide_disk(rtc, 0, 100, 8, 32, 3);
    g_assert_cmphex(cmos_read(0x20), ==, 0xc0);
    g_assert_cmphex(cmos_read(0x39), ==, 0x07);
    /* -boot once=: the order bytes alone. */
    g_assert_cmpint(rtc_cmos_set_boot_order(rtc, "dn", &err), ==, 0);
    g_assert_cmphex(cmos_read(0x3d), ==, 0x43);
    g_assert_cmphex(cmos_read(0x38), ==, 0x00);
    drop_rtc();
    g_assert_null(rtc_default());
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    irq_set_route(record_irq, NULL);
    g_test_add_func("/rtc/power-on", test_power_on);
    g_test_add_func("/rtc/bcd-time", test_bcd_time);
    g_test_add_func("/rtc/binary-time", test_binary_time);
    g_test_add_func("/rtc/12-hour", test_12_hour);
    g_test_add_func("/rtc/base", test_base);
    g_test_add_func("/rtc/guest-set-time", test_guest_set_time);
    g_test_add_func("/rtc/uip-set", test_uip_set);
    g_test_add_func("/rtc/divider-reset", test_divider_reset);
    g_test_add_func("/rtc/periodic", test_periodic);
    g_test_add_func("/rtc/uie", test_uie);
    g_test_add_func("/rtc/alarm", test_alarm);
    g_test_add_func("/rtc/reg-c", test_reg_c);
    g_test_add_func("/rtc/reset", test_reset);
    g_test_add_func("/rtc/nmi-mask", test_nmi_mask);
    g_test_add_func("/rtc/ports-busy", test_ports_busy);
    g_test_add_func("/rtc/cmos-memory", test_cmos_memory);
    g_test_add_func("/rtc/cmos-ide", test_cmos_ide);
    return g_test_run();
}
