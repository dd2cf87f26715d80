/*
 * MC146818 real-time clock and CMOS memory (Motorola MC146818A datasheet;
 * the PC's use of CMOS bytes as IBM's AT technical reference and QEMU's
 * pc_cmos_init() lay them out).
 *
 * What the model keeps and what it leaves out, following QEMU 7.2:
 * - The guest's time is a count of nanoseconds that runs from the clock
 *   (base_s, sub_ns and ref_ns below).  The date and time registers are
 *   bytes refreshed from it when the guest reads them with the clock
 *   running (SET clear, divider in a time base mode); with SET or the
 *   divider in reset the bytes stay as they are and the guest may write
 *   them.  Leaving SET (or divider reset) restarts the count from the
 *   bytes: with SET the sub-second phase continues, after divider reset
 *   the first update comes half a second later (datasheet, "Divider
 *   Control").  A write to a time byte while running restarts it at once.
 * - Register C's update-ended (UF) and alarm (AF) flags are not stepped
 *   by a timer: they are worked out when something looks, from the guest
 *   seconds that passed since the last look.  A timer is armed only for
 *   an interrupt the guest enabled and has not yet got (UF with UIE, AF
 *   with AIE, PF with PIE), so an idle guest never wakes the host.
 * - The periodic interrupt runs, as QEMU's, only with PIE set, on the
 *   32.768 kHz grid of the clock at the rate of register A's RS bits; it
 *   keeps running in divider reset.  Missed ticks collapse into one.
 * - UIP reads 1 in the last 244 us (8 cycles of 32.768 kHz) of each guest
 *   second while the clock runs.
 * - Alarm bytes 0xc0-0xff are "don't care" (datasheet, "Alarm"), in
 *   either data mode.  In 12-hour mode the alarm hour's own bit 7 says PM
 *   (QEMU looks at the hours register's instead).
 * - Bit 7 of the index is the NMI mask of the PC: kept, acted on by
 *   nothing.  The index port reads 0xff; index 0x37 (the IBM PS/2 century
 *   byte) is 0x32, as QEMU makes it.
 * - Lost-tick slewing (driftfix=slew), square-wave output and the 0x0f
 *   shutdown byte's suspend value written on S3 are not modelled.
 *
 * Threads: vCPU threads (ports), the timer's thread (the main loop's, or
 * with -icount the vCPU's) and the machine
 * (CMOS set-up, reset), always with the big lock held.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hw/irq.h"
#include "hw/rtc.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/vclock.h"

#define NS_PER_SEC      1000000000ll
#define SEC_PER_DAY     86400
#define RTC_XTAL_HZ     32768
/* Eight 32.768 kHz cycles: how long UIP is seen before an update. */
#define UIP_HOLD_NS     (8 * NS_PER_SEC / RTC_XTAL_HZ)

#define REG_A_DV        0x70    /* divider control */
#define REG_A_DV_RESET  0x60    /* 11x: dividers held in reset */
#define REG_A_DV_RUN    0x20    /* 0x00-0x20: a time base that runs */
#define REG_A_RS        0x0f    /* rate select */
#define REG_C_FLAGS     (RTC_REG_C_PF | RTC_REG_C_AF | RTC_REG_C_UF)
#define DONT_CARE(b)    (((b) & 0xc0) == 0xc0)

/* CMOS bytes of the PC (IBM AT technical reference, "CMOS RAM"). */
#define CMOS_SHUTDOWN       0x0f
#define CMOS_FLOPPY         0x10
#define CMOS_EQUIPMENT      0x14
#define CMOS_BASE_MEM       0x15    /* 0x15-0x16, KiB */
#define CMOS_EXT_MEM        0x17    /* 0x17-0x18, KiB above 1 MiB */
#define CMOS_EXT_MEM2       0x30    /* 0x30-0x31, the same */
#define CMOS_MEM_16M        0x34    /* 0x34-0x35, 64 KiB above 16 MiB (Bochs BIOS) */
#define CMOS_BOOT_3         0x38    /* third boot device, floppy signature check */
#define CMOS_BOOT_12        0x3d    /* first and second boot devices */
#define CMOS_MEM_4G         0x5b    /* 0x5b-0x5d, 64 KiB above 4 GiB (Bochs BIOS) */
#define CMOS_HD_TYPES       0x12    /* hard disk 0 (high nibble) and 1 types */
#define CMOS_HD0_TYPE       0x19    /* extended type when the nibble is 0xf */
#define CMOS_HD1_TYPE       0x1a
#define CMOS_HD0_INFO       0x1b    /* 0x1b-0x23: disk 0's parameters */
#define CMOS_HD1_INFO       0x24    /* 0x24-0x2c */
#define CMOS_HD_TRANSLATION 0x39    /* 2 bits per IDE disk (Bochs BIOS) */
#define CMOS_NCPUS          0x5f    /* vCPUs - 1 (Bochs BIOS) */
#define EQUIP_FPU           0x02
#define EQUIP_MOUSE         0x04
#define SHUTDOWN_S3_RESUME  0xfe

#define KiB 1024ull
#define MiB (1024 * KiB)

struct rtc {
    uint8_t cmos[RTC_CMOS_SIZE];
    uint8_t index;
    bool nmi_masked;
    int irq_level;
    int64_t (*clock_ns)(void);
    struct vtimer *timer;       /* NULL with an injected clock */

    /* The guest's time at clock t: base_s seconds + sub_ns + (t - ref_ns) ns. */
    int64_t base_s;
    int64_t sub_ns;
    int64_t ref_ns;
    /* The same for the time -rtc base= alone gives, for the change offset. */
    int64_t orig_s, orig_sub_ns, orig_ref_ns;

    int64_t seen_ns;            /* UF and AF are worked out up to here */
    uint32_t period;            /* periodic interrupt, 32.768 kHz cycles; 0 off */
    int64_t next_tick;          /* its next tick on the 32.768 kHz grid */

    void (*changed)(void *opaque, int64_t offset);
    void *changed_opaque;
};


/* ---- arithmetic ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/* The 32.768 kHz cycle count at clock t (t >= 0), rounded down or up. */
static int64_t ns_to_xtal(int64_t t, bool round_up)
{
    __int128 v = (__int128)t * RTC_XTAL_HZ;

    return (int64_t)((v + (round_up ? NS_PER_SEC - 1 : 0)) / NS_PER_SEC);
}

/* When a tick at cycle k is delivered: one nanosecond after the cycle
 * starts, as QEMU times it. */
static int64_t xtal_tick_ns(int64_t k)
{
    return (int64_t)((__int128)k * NS_PER_SEC / RTC_XTAL_HZ) + 1;
}

/* ---- the guest's time ---- */

static bool rtc_divider_reset(const struct rtc *s)
{
    return (s->cmos[RTC_REG_A] & REG_A_DV_RESET) == REG_A_DV_RESET;
}

/* The time registers follow the clock (datasheet, "Update Cycle"). */
static bool rtc_running(const struct rtc *s)
{
    return !(s->cmos[RTC_REG_B] & RTC_REG_B_SET) &&
           (s->cmos[RTC_REG_A] & REG_A_DV) <= REG_A_DV_RUN;
}

/* The guest's whole second at clock t, and the nanoseconds into it. */
static int64_t rtc_guest_sec(const struct rtc *s, int64_t t, int64_t *frac)
{
    int64_t x = s->sub_ns + (t - s->ref_ns);

    if (frac) {
        *frac = floor_mod(x, NS_PER_SEC);
    }
    return s->base_s + floor_div(x, NS_PER_SEC);
}

/* The clock time at which guest second sec begins. */
static int64_t rtc_second_start(const struct rtc *s, int64_t sec)
{
    return s->ref_ns + (sec - s->base_s) * NS_PER_SEC - s->sub_ns;
}

static uint8_t rtc_to_reg(const struct rtc *s, int v)
{
    if (s->cmos[RTC_REG_B] & RTC_REG_B_DM) {
        return (uint8_t)v;
    }
    v = (v % 100 + 100) % 100;
    return (uint8_t)((v / 10) << 4 | v % 10);
}

/* A register's value; -1 for the don't-care pattern, as QEMU reads it. */
static int rtc_from_reg(const struct rtc *s, uint8_t b)
{
    if (DONT_CARE(b)) {
        return -1;
    }
    if (s->cmos[RTC_REG_B] & RTC_REG_B_DM) {
        return b;
    }
    return (b >> 4) * 10 + (b & 15);
}

/* An hours byte as 0-23: bit 7 is PM in 12-hour mode, ignored in 24-hour mode. */
static int rtc_hour_from_reg(const struct rtc *s, uint8_t b)
{
    int h = rtc_from_reg(s, b & 0x7f);

    if (s->cmos[RTC_REG_B] & RTC_REG_B_24H) {
        return h;
    }
    h %= 12;                    /* 12 AM is 0, 12 PM is 12 */
    return b & 0x80 ? h + 12 : h;
}

static void rtc_tm_to_regs(struct rtc *s, const struct tm *tm)
{
    uint8_t *c = s->cmos;
    int year = tm->tm_year + 1900;

    c[RTC_SECONDS] = rtc_to_reg(s, tm->tm_sec);
    c[RTC_MINUTES] = rtc_to_reg(s, tm->tm_min);
    if (c[RTC_REG_B] & RTC_REG_B_24H) {
        c[RTC_HOURS] = rtc_to_reg(s, tm->tm_hour);
    } else {
        c[RTC_HOURS] = rtc_to_reg(s, tm->tm_hour % 12 ? tm->tm_hour % 12 : 12) |
                       (tm->tm_hour >= 12 ? 0x80 : 0);
    }
    c[RTC_DAY_OF_WEEK] = rtc_to_reg(s, tm->tm_wday + 1);
    c[RTC_DAY_OF_MONTH] = rtc_to_reg(s, tm->tm_mday);
    c[RTC_MONTH] = rtc_to_reg(s, tm->tm_mon + 1);
    c[RTC_YEAR] = rtc_to_reg(s, year % 100);
    c[RTC_CENTURY] = rtc_to_reg(s, year / 100);
}

static void rtc_regs_to_tm(const struct rtc *s, struct tm *tm)
{
    const uint8_t *c = s->cmos;

    memset(tm, 0, sizeof(*tm));
    tm->tm_sec = rtc_from_reg(s, c[RTC_SECONDS]);
    tm->tm_min = rtc_from_reg(s, c[RTC_MINUTES]);
    tm->tm_hour = rtc_hour_from_reg(s, c[RTC_HOURS]);
    tm->tm_wday = rtc_from_reg(s, c[RTC_DAY_OF_WEEK]) - 1;
    tm->tm_mday = rtc_from_reg(s, c[RTC_DAY_OF_MONTH]);
    tm->tm_mon = rtc_from_reg(s, c[RTC_MONTH]) - 1;
    tm->tm_year = rtc_from_reg(s, c[RTC_YEAR]) + rtc_from_reg(s, c[RTC_CENTURY]) * 100 - 1900;
}

/* Refreshes the time bytes from the clock (not while SET holds them). */
static void rtc_refresh_regs(struct rtc *s, int64_t now)
{
    time_t sec = (time_t)rtc_guest_sec(s, now, NULL);
    struct tm tm;

    if (s->cmos[RTC_REG_B] & RTC_REG_B_SET) {
        return;
    }
    if (gmtime_r(&sec, &tm)) {
        rtc_tm_to_regs(s, &tm);
    }
}

/* The guest's seconds ahead of what -rtc base= alone would show now. */
static int64_t rtc_offset(const struct rtc *s, int64_t now)
{
    int64_t orig = s->orig_s + floor_div(s->orig_sub_ns + (now - s->orig_ref_ns), NS_PER_SEC);

    return rtc_guest_sec(s, now, NULL) - orig;
}

/* Restarts the count from the time bytes: the guest set the time. */
static void rtc_set_time_from_regs(struct rtc *s, int64_t now)
{
    struct tm tm;

    rtc_regs_to_tm(s, &tm);
    s->base_s = (int64_t)timegm(&tm);
    s->ref_ns = now;
    s->seen_ns = now;
    if (s->changed) {
        s->changed(s->changed_opaque, rtc_offset(s, now));
    }
}

/* ---- the alarm ---- */

/* The next value >= v that an alarm field f accepts below lim, or -1. */
static int alarm_next(int f, int v, int lim)
{
    if (f < 0) {
        return v < lim ? v : -1;
    }
    return f >= v && f < lim ? f : -1;
}

/* The first time of day >= t (seconds, 0..86400) the alarm matches, or -1. */
static int alarm_first_match(int ah, int am, int as, int t)
{
    int h0 = t / 3600, m0 = t / 60 % 60, s0 = t % 60;

    for (int h = alarm_next(ah, h0, 24); h >= 0; h = alarm_next(ah, h + 1, 24)) {
        for (int m = alarm_next(am, h == h0 ? m0 : 0, 60); m >= 0; m = alarm_next(am, m + 1, 60)) {
            int x = alarm_next(as, h == h0 && m == m0 ? s0 : 0, 60);

            if (x >= 0) {
                return h * 3600 + m * 60 + x;
            }
        }
    }
    return -1;
}

/*
 * Seconds from guest second sec to the next second (1..86400 later)
 * whose time of day matches the alarm bytes, or -1 if none ever does
 * (a value out of range; datasheet, "Alarm").
 */
static int64_t rtc_alarm_delta(const struct rtc *s, int64_t sec)
{
    uint8_t hb = s->cmos[RTC_HOURS_ALARM];
    int ah = DONT_CARE(hb) ? -1 : rtc_hour_from_reg(s, hb);
    int am = rtc_from_reg(s, s->cmos[RTC_MINUTES_ALARM]);
    int as = rtc_from_reg(s, s->cmos[RTC_SECONDS_ALARM]);
    int tod = (int)floor_mod(sec, SEC_PER_DAY);
    int t = alarm_first_match(ah, am, as, tod + 1);

    if (t >= 0) {
        return t - tod;
    }
    t = alarm_first_match(ah, am, as, 0);
    return t < 0 ? -1 : t + SEC_PER_DAY - tod;
}

/* ---- register C and IRQ 8 ---- */

static void rtc_set_irq(struct rtc *s, int level)
{
    if (level != s->irq_level) {
        s->irq_level = level;
        irq_set_level(RTC_IRQ, level);
    }
}

/*
 * Sets flags in register C; a flag that was clear and is enabled in
 * register B sets IRQF and raises IRQ 8 (datasheet, "Register C").  A
 * flag already set raised the line when it was set and the line stays up
 * until register C is read, so nothing more is due for it.
 */
static void rtc_set_flags(struct rtc *s, uint8_t flags)
{
    uint8_t fresh = flags & ~s->cmos[RTC_REG_C];

    s->cmos[RTC_REG_C] |= flags;
    if (fresh & s->cmos[RTC_REG_B] & REG_C_FLAGS) {
        s->cmos[RTC_REG_C] |= RTC_REG_C_IRQF;
        rtc_set_irq(s, 1);
    }
}

/* Everything that happened between the last look and now. */
static void rtc_catch_up(struct rtc *s, int64_t now)
{
    uint8_t flags = 0;

    if (now > s->seen_ns) {
        /* The dividers in reset stop the update cycle (datasheet, "Divider Control"). */
        if (!rtc_divider_reset(s)) {
            int64_t a = rtc_guest_sec(s, s->seen_ns, NULL);
            int64_t b = rtc_guest_sec(s, now, NULL);

            if (b > a) {
                int64_t d = rtc_alarm_delta(s, a);

                flags |= RTC_REG_C_UF;
                if (d > 0 && d <= b - a) {
                    flags |= RTC_REG_C_AF;
                }
            }
        }
        s->seen_ns = now;
    }
    if (s->period && now >= xtal_tick_ns(s->next_tick)) {
        int64_t first_after = ns_to_xtal(now, true);    /* the first tick later than now */
        int64_t n = (first_after - s->next_tick + s->period - 1) / s->period;

        flags |= RTC_REG_C_PF;
        s->next_tick += n * s->period;
    }
    if (flags) {
        rtc_set_flags(s, flags);
    }
}

/* RS 1 and 2 repeat RS 8 and 9 (datasheet, "Periodic Interrupt Rate"). */
static uint32_t rtc_period(const struct rtc *s)
{
    unsigned rs = s->cmos[RTC_REG_A] & REG_A_RS;

    if (!(s->cmos[RTC_REG_B] & RTC_REG_B_PIE) || rs == 0) {
        return 0;
    }
    if (rs <= 2) {
        rs += 7;
    }
    return 1u << (rs - 1);
}

/*
 * PIE or the rate changed.  As QEMU: a newly enabled interrupt comes one
 * period from now; a changed rate counts the new period from the last
 * tick, or ticks at once when that is already past.
 */
static void rtc_periodic_restart(struct rtc *s, int64_t now, uint32_t old_period)
{
    int64_t k = ns_to_xtal(now, false), since = 0;

    s->period = rtc_period(s);
    if (!s->period) {
        return;
    }
    if (old_period) {
        since = CLAMP(k - (s->next_tick - (int64_t)old_period), 0, (int64_t)s->period);
    }
    s->next_tick = k + s->period - since;
}

int64_t rtc_next_event_ns(struct rtc *s)
{
    int64_t next = s->period ? xtal_tick_ns(s->next_tick) : -1;
    uint8_t want = s->cmos[RTC_REG_B] & ~s->cmos[RTC_REG_C] & (RTC_REG_B_UIE | RTC_REG_B_AIE);
    int64_t sec, t, d;

    if (!want || rtc_divider_reset(s)) {
        return next;
    }
    sec = rtc_guest_sec(s, s->seen_ns, NULL);
    if (want & RTC_REG_B_UIE) {
        t = rtc_second_start(s, sec + 1);
        next = next < 0 ? t : MIN(next, t);
    }
    if ((want & RTC_REG_B_AIE) && (d = rtc_alarm_delta(s, sec)) > 0) {
        t = rtc_second_start(s, sec + d);
        next = next < 0 ? t : MIN(next, t);
    }
    return next;
}

/* Arms the timer for the next update, alarm or periodic interrupt. */
static void rtc_rearm(struct rtc *s)
{
    int64_t next;

    if (!s->timer) {
        return;
    }
    next = rtc_next_event_ns(s);
    vtimer_mod(s->timer, next);
}

void rtc_update(struct rtc *s, int64_t now_ns)
{
    rtc_catch_up(s, now_ns);
    rtc_rearm(s);
}

/* ---- guest accesses ---- */

static bool rtc_is_time_reg(unsigned idx)
{
    return idx <= RTC_YEAR || idx == RTC_CENTURY;
}

static void rtc_write_reg_a(struct rtc *s, uint8_t v, int64_t now)
{
    uint32_t old_period = s->period;
    bool rate_changed = (s->cmos[RTC_REG_A] ^ v) & REG_A_RS;

    if ((v & REG_A_DV_RESET) == REG_A_DV_RESET) {
        if (rtc_running(s)) {
            rtc_refresh_regs(s, now);   /* the bytes stop where the clock was */
        }
    } else if (rtc_divider_reset(s) && (v & REG_A_DV) <= REG_A_DV_RUN &&
               !(s->cmos[RTC_REG_B] & RTC_REG_B_SET)) {
        /* Out of reset the first update comes 500 ms later (datasheet). */
        s->sub_ns = NS_PER_SEC / 2;
        rtc_set_time_from_regs(s, now);
    }
    s->cmos[RTC_REG_A] = v & ~RTC_REG_A_UIP;    /* UIP is read-only */
    if (rate_changed) {
        rtc_periodic_restart(s, now, old_period);
    }
}

static void rtc_write_reg_b(struct rtc *s, uint8_t v, int64_t now)
{
    uint32_t old_period = s->period;
    bool pie_changed = (s->cmos[RTC_REG_B] ^ v) & RTC_REG_B_PIE;

    if (v & RTC_REG_B_SET) {
        if (rtc_running(s)) {
            rtc_refresh_regs(s, now);
        }
        v &= ~RTC_REG_B_UIE;    /* SET clears UIE (datasheet, "Register B") */
    } else if ((s->cmos[RTC_REG_B] & RTC_REG_B_SET) &&
               (s->cmos[RTC_REG_A] & REG_A_DV) <= REG_A_DV_RUN) {
        /* The time the guest wrote starts now, keeping the sub-second phase. */
        rtc_guest_sec(s, now, &s->sub_ns);
        rtc_set_time_from_regs(s, now);
    }
    /* A flag already set that becomes enabled interrupts at once. */
    if (v & s->cmos[RTC_REG_C] & REG_C_FLAGS) {
        s->cmos[RTC_REG_C] |= RTC_REG_C_IRQF;
        rtc_set_irq(s, 1);
    } else {
        s->cmos[RTC_REG_C] &= ~RTC_REG_C_IRQF;
        rtc_set_irq(s, 0);
    }
    s->cmos[RTC_REG_B] = v;
    if (pie_changed) {
        rtc_periodic_restart(s, now, old_period);
    }
}

static void rtc_write_data(struct rtc *s, uint8_t v, int64_t now)
{
    if (s->index == RTC_PS2_CENTURY) {
        s->index = RTC_CENTURY;
    }
    if (rtc_is_time_reg(s->index)) {
        if (rtc_running(s)) {
            /* The other bytes must show the time now, not at the last read. */
            rtc_refresh_regs(s, now);
            s->cmos[s->index] = v;
            rtc_set_time_from_regs(s, now);
        } else {
            s->cmos[s->index] = v;
        }
        return;
    }
    switch (s->index) {
    case RTC_REG_A:
        rtc_write_reg_a(s, v, now);
        break;
    case RTC_REG_B:
        rtc_write_reg_b(s, v, now);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        log_mask(LOG_GUEST_ERROR, "rtc: write 0x%02x to read-only register %c ignored\n",
                 v, s->index == RTC_REG_C ? 'C' : 'D');
        break;
    default:
        s->cmos[s->index] = v;  /* alarm bytes and CMOS memory */
        break;
    }
}

static uint8_t rtc_read_data(struct rtc *s, int64_t now)
{
    int64_t frac;
    uint8_t v;

    if (s->index == RTC_PS2_CENTURY) {
        s->index = RTC_CENTURY;
    }
    if (rtc_is_time_reg(s->index)) {
        if (rtc_running(s)) {
            rtc_refresh_regs(s, now);
        }
        return s->cmos[s->index];
    }
    switch (s->index) {
    case RTC_REG_A:
        v = s->cmos[RTC_REG_A];
        rtc_guest_sec(s, now, &frac);
        if (rtc_running(s) && frac >= NS_PER_SEC - UIP_HOLD_NS) {
            v |= RTC_REG_A_UIP;
        }
        return v;
    case RTC_REG_C:
        /* Reading C clears it and releases IRQ 8 (datasheet, "Register C"). */
        v = s->cmos[RTC_REG_C];
        s->cmos[RTC_REG_C] = 0;
        rtc_set_irq(s, 0);
        return v;
    default:
        return s->cmos[s->index];
    }
}

static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtc *s = opaque;
    int64_t now = s->clock_ns();
    uint64_t val = 0;

    rtc_catch_up(s, now);
    /* A wider access reaches consecutive ports, one byte each, as on ISA. */
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = 0xff;       /* the index register is write-only */

        if (offset + i == 1) {
            b = rtc_read_data(s, now);
        }
        val |= (uint64_t)b << (8 * i);
    }
    rtc_rearm(s);
    return val;
}

static void rtc_io_write(void *opaque, uint64_t offset, uint64_t val, unsigned size)
{
    struct rtc *s = opaque;
    int64_t now = s->clock_ns();

    rtc_catch_up(s, now);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = val >> (8 * i);

        if (offset + i == 0) {
            s->index = b & 0x7f;
            s->nmi_masked = b & 0x80;
        } else if (offset + i == 1) {
            rtc_write_data(s, b, now);
        }
    }
    rtc_rearm(s);
}

static const struct io_ops rtc_io_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
};

/* ---- the machine's side ---- */

void rtc_cmos_set(struct rtc *s, unsigned index, uint8_t value)
{
    if (index < RTC_CMOS_SIZE) {
        s->cmos[index] = value;
        rtc_rearm(s);
    }
}

uint8_t rtc_cmos_get(const struct rtc *s, unsigned index)
{
    return index < RTC_CMOS_SIZE ? s->cmos[index] : 0;
}

static void rtc_cmos_set16(struct rtc *s, unsigned index, unsigned v)
{
    s->cmos[index] = v & 0xff;
    s->cmos[index + 1] = (v >> 8) & 0xff;
}

void rtc_cmos_init_microvm(struct rtc *s, uint64_t below_4g, uint64_t above_4g)
{
    uint64_t ext = below_4g > MiB ? (below_4g - MiB) / KiB : 0;
    uint64_t mid = below_4g > 16 * MiB ? (below_4g - 16 * MiB) / (64 * KiB) : 0;
    uint64_t high = above_4g / (64 * KiB);

    rtc_cmos_set16(s, CMOS_BASE_MEM, MIN(below_4g / KiB, 640));
    rtc_cmos_set16(s, CMOS_EXT_MEM, MIN(ext, 65535));
    rtc_cmos_set16(s, CMOS_EXT_MEM2, MIN(ext, 65535));
    rtc_cmos_set16(s, CMOS_MEM_16M, MIN(mid, 65535));
    s->cmos[CMOS_MEM_4G] = high & 0xff;
    s->cmos[CMOS_MEM_4G + 1] = (high >> 8) & 0xff;
    s->cmos[CMOS_MEM_4G + 2] = (high >> 16) & 0xff;
}

/* SeaBIOS's boot device nibbles: a/b floppy, c disk, d CD-ROM, n network. */
static int boot_nibble(char c)
{
    switch (c) {
    case 'a':
    case 'b':
        return 1;
    case 'c':
        return 2;
    case 'd':
        return 3;
    case 'n':
        return 4;
    default:
        return 0;
    }
}

/* QEMU's set_boot_dev(): up to three devices into 0x3d (first, second)
 * and 0x38 (third; bit 0 clear: check the floppy boot signature). */
int rtc_cmos_set_boot_order(struct rtc *s, const char *boot_order, GError **errp)
{
    int dev[3] = { 0, 0, 0 };
    size_t n;

    if (!boot_order) {
        boot_order = "cad";
    }
    n = strlen(boot_order);
    if (n > 3) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Too many boot devices for PC");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        dev[i] = boot_nibble(boot_order[i]);
        if (!dev[i]) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Invalid boot device for PC: '%c'", boot_order[i]);
            return -EINVAL;
        }
    }
    s->cmos[CMOS_BOOT_12] = dev[1] << 4 | dev[0];
    s->cmos[CMOS_BOOT_3] = dev[2] << 4;
    return 0;
}

int rtc_cmos_init_pc(struct rtc *s, uint64_t below_4g, uint64_t above_4g, unsigned ncpus,
                     const char *boot_order, GError **errp)
{
    if (rtc_cmos_set_boot_order(s, boot_order, errp) < 0) {
        return -EINVAL;
    }
    rtc_cmos_init_microvm(s, below_4g, above_4g);
    /* Past 255 vCPUs the BIOS must ask fw_cfg; QEMU writes 0 then. */
    s->cmos[CMOS_NCPUS] = ncpus >= 1 && ncpus <= 255 ? ncpus - 1 : 0;
    s->cmos[CMOS_EQUIPMENT] = EQUIP_FPU | EQUIP_MOUSE;
    s->cmos[CMOS_FLOPPY] = 0;               /* no drives */
    return 0;
}

/*
 * QEMU's pc_cmos_init_late() for one IDE hard disk: the drive type
 * nibble in 0x12 (0xf: "see 0x19/0x1a", type 47 user-defined), the AT's
 * parameter block for the first two disks (cylinders, heads, write
 * precompensation 0xffff, control byte with bit 3 for more than 8 heads,
 * landing zone, sectors), and the translation bits in 0x39 for all four.
 */
void rtc_cmos_set_ide_disk(struct rtc *s, unsigned n, uint16_t cylinders, uint8_t heads,
                           uint8_t sectors, unsigned translation)
{
    static const uint8_t type_ofs[2] = { CMOS_HD0_TYPE, CMOS_HD1_TYPE };
    static const uint8_t info_ofs[2] = { CMOS_HD0_INFO, CMOS_HD1_INFO };

    if (n > 3) {
        return;
    }
    s->cmos[CMOS_HD_TRANSLATION] = (s->cmos[CMOS_HD_TRANSLATION] & ~(3u << (2 * n))) |
                                   (translation & 3) << (2 * n);
    if (n > 1) {
        return;
    }
    s->cmos[CMOS_HD_TYPES] |= n == 0 ? 0xf0 : 0x0f;
    s->cmos[type_ofs[n]] = 47;
    rtc_cmos_set16(s, info_ofs[n], cylinders);
    s->cmos[info_ofs[n] + 2] = heads;
    s->cmos[info_ofs[n] + 3] = 0xff;
    s->cmos[info_ofs[n] + 4] = 0xff;
    s->cmos[info_ofs[n] + 5] = 0xc0 | (heads > 8 ? 0x08 : 0);
    rtc_cmos_set16(s, info_ofs[n] + 6, cylinders);
    s->cmos[info_ofs[n] + 8] = sectors;
}

void rtc_reset(struct rtc *s)
{
    int64_t now = s->clock_ns();

    if (s->cmos[CMOS_SHUTDOWN] != SHUTDOWN_S3_RESUME) {
        s->cmos[CMOS_SHUTDOWN] = 0;
    }
    s->cmos[RTC_REG_B] &= ~(RTC_REG_B_PIE | RTC_REG_B_AIE | RTC_REG_B_SQWE);
    s->cmos[RTC_REG_C] = 0;
    s->period = 0;
    s->seen_ns = now;
    rtc_set_irq(s, 0);
    rtc_rearm(s);
}

void rtc_get_time(struct rtc *s, struct tm *tm)
{
    time_t t;

    if (rtc_running(s)) {
        rtc_refresh_regs(s, s->clock_ns());
    }
    rtc_regs_to_tm(s, tm);
    /* Fill in the day of the year and a consistent weekday, as gmtime does. */
    t = timegm(tm);
    gmtime_r(&t, tm);
}

bool rtc_nmi_masked(const struct rtc *s)
{
    return s->nmi_masked;
}

void rtc_set_change_hook(struct rtc *s, void (*fn)(void *opaque, int64_t offset), void *opaque)
{
    s->changed = fn;
    s->changed_opaque = opaque;
}

/* ---- creation ---- */

/* -rtc base=: the guest's seconds and nanoseconds at creation. */
static bool rtc_parse_base(const char *base, int64_t *sec, int64_t *ns, GError **errp)
{
    struct timespec now;
    struct tm tm;
    int n = -1;

    clock_gettime(CLOCK_REALTIME, &now);
    *ns = now.tv_nsec;
    if (!base || !strcmp(base, "utc")) {
        *sec = now.tv_sec;
        return true;
    }
    if (!strcmp(base, "localtime")) {
        localtime_r(&now.tv_sec, &tm);
        *sec = (int64_t)timegm(&tm);
        return true;
    }
    memset(&tm, 0, sizeof(tm));
    *ns = 0;
    if (sscanf(base, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != (int)strlen(base)) {
        memset(&tm, 0, sizeof(tm));
        n = -1;
        if (sscanf(base, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 ||
            n != (int)strlen(base)) {
            n = -1;
        }
    }
    if (n < 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
        tm.tm_sec < 0 || tm.tm_sec > 60) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "invalid datetime format; valid formats: '2006-06-17T16:01:21' or "
                    "'2006-06-17'");
        return false;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *sec = (int64_t)timegm(&tm);
    return true;
}

static void rtc_timer_expired(void *opaque)
{
    struct rtc *s = opaque;

    rtc_update(s, s->clock_ns());
}

/* The one on ports 0x70-0x71 (only one can hold them), for rtc_default(). */
static struct rtc *rtc_current;

struct rtc *rtc_default(void)
{
    return rtc_current;
}

static struct rtc *rtc_new(int64_t (*clock_ns)(void), const char *base, GError **errp)
{
    struct rtc *s = g_new0(struct rtc, 1);
    struct tm tm;
    time_t t;

    if (!rtc_parse_base(base, &s->base_s, &s->sub_ns, errp)) {
        g_free(s);
        return NULL;
    }
    s->clock_ns = clock_ns;
    s->ref_ns = s->seen_ns = s->clock_ns();
    s->orig_s = s->base_s;
    s->orig_sub_ns = s->sub_ns;
    s->orig_ref_ns = s->ref_ns;

    /* QEMU's power-on values: 32.768 kHz time base, 1024 Hz rate, BCD,
     * 24-hour mode, valid RAM and time (VRT). */
    s->cmos[RTC_REG_A] = REG_A_DV_RUN | 0x06;
    s->cmos[RTC_REG_B] = RTC_REG_B_24H;
    s->cmos[RTC_REG_C] = 0;
    s->cmos[RTC_REG_D] = RTC_REG_D_VRT;
    t = (time_t)s->base_s;
    if (gmtime_r(&t, &tm)) {
        rtc_tm_to_regs(s, &tm);
    }

    if (io_register_pio(RTC_IOBASE, 2, "rtc", &rtc_io_ops, s, errp) < 0) {
        g_free(s);
        return NULL;
    }
    rtc_current = s;
    return s;
}

struct rtc *rtc_create(int64_t (*clock_ns)(void), const char *base, GError **errp)
{
    return rtc_new(clock_ns, base, errp);
}

struct rtc *rtc_create_on(enum vclock_type clock, const char *base, GError **errp)
{
    struct rtc *s = rtc_new(clock == VCLOCK_VIRTUAL ? vclock_virtual_ns : vclock_host_ns,
                            base, errp);

    if (s) {
        s->timer = vtimer_new(clock, "mc146818rtc", rtc_timer_expired, s);
    }
    return s;
}

void rtc_free(struct rtc *s)
{
    if (!s) {
        return;
    }
    if (rtc_current == s) {
        rtc_current = NULL;
    }
    vtimer_free(s->timer);
    io_unregister_pio(RTC_IOBASE, 2);
    g_free(s);
}
