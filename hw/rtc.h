/*
 * The MC146818 real-time clock and its 128 bytes of CMOS memory at ports
 * 0x70 (index; bit 7 masks NMI) and 0x71 (data), interrupting on IRQ 8, as
 * QEMU 7.2's mc146818rtc on -M pc and -M microvm.
 *
 * Time is nanoseconds of the clock given at creation: the host's
 * CLOCK_MONOTONIC (-rtc clock=host or rt) or the guest's virtual clock
 * (clock=vm), the date itself taken from -rtc base= or the host's wall
 * clock once, at creation; a fake clock in tests.  On a vclock the device
 * arms its own timer for the next interrupt it has to raise; with no
 * interrupt enabled nothing is armed.
 * With a fake clock no timer exists: tests call rtc_update() at
 * rtc_next_event_ns().
 *
 * Threads: every function here and the port handlers run with the big lock
 * held (system/main-loop.h); the timer's callback runs on the main thread,
 * which holds it.  The change hook runs under it too.
 */
#ifndef HYVM_RTC_H
#define HYVM_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <glib.h>

#include "system/vclock.h"

#define RTC_IOBASE      0x70
#define RTC_IRQ         8
#define RTC_CMOS_SIZE   128

/* Register indices (MC146818A datasheet, "Address Map"). */
#define RTC_SECONDS         0x00
#define RTC_SECONDS_ALARM   0x01
#define RTC_MINUTES         0x02
#define RTC_MINUTES_ALARM   0x03
#define RTC_HOURS           0x04
#define RTC_HOURS_ALARM     0x05
#define RTC_DAY_OF_WEEK     0x06
#define RTC_DAY_OF_MONTH    0x07
#define RTC_MONTH           0x08
#define RTC_YEAR            0x09
#define RTC_REG_A           0x0a
#define RTC_REG_B           0x0b
#define RTC_REG_C           0x0c
#define RTC_REG_D           0x0d
#define RTC_CENTURY         0x32    /* the PC's century byte */
#define RTC_PS2_CENTURY     0x37    /* IBM PS/2's, an alias of 0x32 */

#define RTC_REG_A_UIP   0x80
#define RTC_REG_B_SET   0x80
#define RTC_REG_B_PIE   0x40
#define RTC_REG_B_AIE   0x20
#define RTC_REG_B_UIE   0x10
#define RTC_REG_B_SQWE  0x08
#define RTC_REG_B_DM    0x04    /* binary instead of BCD */
#define RTC_REG_B_24H   0x02
#define RTC_REG_C_IRQF  0x80
#define RTC_REG_C_PF    0x40
#define RTC_REG_C_AF    0x20
#define RTC_REG_C_UF    0x10
#define RTC_REG_D_VRT   0x80

struct rtc;

/*
 * Creates the RTC and registers ports 0x70-0x71 (an error naming both
 * claimants when one is taken), running on clock (-rtc clock=vm: the
 * guest's virtual clock; host or rt: the host's) with a timer on it.  base
 * is -rtc base=: NULL or "utc" (the host's UTC),
 * "localtime" (the host's local time), or a date "2006-06-17T16:01:21" /
 * "2006-06-17" that the clock starts from.  Registers A-D start as
 * QEMU's: 0x26, 0x02 (BCD, 24-hour), 0x00, 0x80.
 */
struct rtc *rtc_create_on(enum vclock_type clock, const char *base, GError **errp);
/* The same on a clock the caller injects and advances (tests): no timer;
 * the caller calls rtc_update(). */
struct rtc *rtc_create(int64_t (*clock_ns)(void), const char *base, GError **errp);
/* Unregisters the ports and the timer, frees everything. */
void rtc_free(struct rtc *rtc);

/*
 * System reset, as QEMU's: PIE, AIE and SQWE off, register C cleared and
 * IRQ 8 lowered, the shutdown status byte 0x0f cleared unless it holds
 * 0xfe (S3 resume).  The time and the rest of CMOS stay.
 */
void rtc_reset(struct rtc *rtc);

/*
 * CMOS bytes as the machine (not the guest) sets and reads them: the raw
 * byte, without the side effects of a guest access.  Indices >= 128 are
 * ignored (get returns 0).
 */
void rtc_cmos_set(struct rtc *rtc, unsigned index, uint8_t value);
uint8_t rtc_cmos_get(const struct rtc *rtc, unsigned index);

/*
 * What QEMU's pc_cmos_init() writes for a board without floppy or IDE
 * disks: base memory 640 KiB (0x15-0x16), extended memory in KiB above
 * 1 MiB, at most 65535 (0x17-0x18 and 0x30-0x31), RAM between 16 MiB and
 * the end of low RAM in 64 KiB units (0x34-0x35), RAM above 4 GiB in
 * 64 KiB units (0x5b-0x5d), the vCPU count - 1 (0x5f), the equipment byte
 * (0x14: FPU, PS/2 mouse), no floppy drives (0x10) and the boot order
 * (0x3d, 0x38; boot_order NULL means QEMU's default "cad").  below_4g and
 * above_4g are the RAM sizes below and above 4 GiB.  A boot order with
 * more than three devices or a letter other than a-d, n is an error in
 * QEMU's words.
 */
int rtc_cmos_init_pc(struct rtc *rtc, uint64_t below_4g, uint64_t above_4g, unsigned ncpus,
                     const char *boot_order, GError **errp);
/* The boot order bytes alone (0x3d, 0x38), as init_pc writes them: -boot
 * once= at start and order= again after the first reset. */
int rtc_cmos_set_boot_order(struct rtc *rtc, const char *boot_order, GError **errp);
/*
 * An IDE hard disk for the BIOS, as QEMU's pc_cmos_init_late(): n is
 * 0 primary master, 1 primary slave, 2 secondary master, 3 secondary
 * slave; cylinders/heads/sectors the disk's geometry (1..16383, 1..16,
 * 1..63); translation QEMU's BIOS CHS translation - 1 (0 none, 1 LBA,
 * 2 large, 3 rechs).  Disks 0 and 1 get the type and parameter bytes
 * (0x12, 0x19/0x1a, 0x1b-0x2c); every disk its bits in 0x39.  CD-ROMs
 * get nothing.  The IDE controller calls it for each hard disk.
 */
void rtc_cmos_set_ide_disk(struct rtc *rtc, unsigned n, uint16_t cylinders, uint8_t heads,
                           uint8_t sectors, unsigned translation);
/* The RTC on ports 0x70-0x71 (the board's), NULL when there is none. */
struct rtc *rtc_default(void);
/* microvm's share of the above: only the memory-size bytes. */
void rtc_cmos_init_microvm(struct rtc *rtc, uint64_t below_4g, uint64_t above_4g);

/*
 * The clock time at which the RTC next raises IRQ 8 (a periodic,
 * update-ended or alarm interrupt that is enabled and not already
 * pending), or -1 when none can come without a guest access.
 */
int64_t rtc_next_event_ns(struct rtc *rtc);
/* Brings the flags of register C and IRQ 8 up to now_ns (tests, timer). */
void rtc_update(struct rtc *rtc, int64_t now_ns);

/* The guest's date and time now, as the registers show it (QMP rtc-time). */
void rtc_get_time(struct rtc *rtc, struct tm *tm);
/* Whether the last index write set bit 7 (NMI disabled); nothing acts on it. */
bool rtc_nmi_masked(const struct rtc *rtc);
/*
 * fn(opaque, offset) runs after the guest sets the time, with the guest's
 * time minus the time the base would show now, in seconds (QMP's
 * RTC_CHANGE event).
 */
void rtc_set_change_hook(struct rtc *rtc, void (*fn)(void *opaque, int64_t offset),
                         void *opaque);

#endif
