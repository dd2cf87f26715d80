/*
 * The High Precision Event Timer of -M pc (IA-PC HPET Specification 1.0a),
 * as QEMU 7.2 gives it: one timer block of 1 KiB at FED00000h, a 64-bit
 * main counter at 100 MHz (10 ns), three timers that can all be periodic
 * and 64-bit, the legacy replacement route, and no FSB (MSI) delivery.
 *
 * Interrupts are GSIs raised with irq_set_level() (hw/irq.h).  A timer
 * uses its Tn_INT_ROUTE_CNF GSI; with LEG_RT_CNF set, timer 0 uses GSI 0
 * (the PIT's IRQ 0, IOAPIC pin 2) and timer 1 GSI 8 (the RTC's), and the
 * machine must cut the PIT's and the RTC's own outputs: the legacy_route
 * hook tells it when.  Edge-triggered timers pulse their line; a
 * level-triggered one holds it, and its Tn_INT_STS bit, until the guest
 * writes 1 to that bit.
 *
 * Time is nanoseconds of the clock given at creation (NULL: the guest's
 * virtual clock, system/vclock.h).  The device owns a timer on that clock
 * that fires at hpet_next_event_ns() and calls hpet_update(); tests with a
 * fake clock call hpet_update() themselves and never run the main loop.
 *
 * Threads: MMIO handlers (vCPU threads), the timer and every function here
 * run with the big lock held.
 */
#ifndef HYVM_HPET_H
#define HYVM_HPET_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#define HPET_BASE       0xfed00000ull
#define HPET_LEN        0x400u
#define HPET_NUM_TIMERS 3
#define HPET_TICK_NS    10              /* QEMU's counter period */
#define HPET_PERIOD_FS  10000000u       /* the same in femtoseconds (COUNTER_CLK_PERIOD) */
/*
 * General capabilities, bits 31-0: vendor 8086h, LEG_RT_CAP, COUNT_SIZE_CAP,
 * NUM_TIM_CAP 2 (three timers), REV_ID 1.  The ACPI HPET table's event
 * timer block ID is this value.
 */
#define HPET_CAP_ID     0x8086a201u
/* Tn_INT_ROUTE_CAP of -M pc (QEMU's "hpet-intcap" for PIIX): IOAPIC pin 2 only. */
#define HPET_PC_INTCAP  0x4u
/*
 * A periodic timer never interrupts more often than this: a guest's tiny
 * period would otherwise keep the main loop busy.  Periods in between
 * collapse into one interrupt; the comparator still steps by the period.
 */
#define HPET_MIN_PERIOD_NS 50000

/* Register offsets (HPET 1.0a, 2.3.1 "Register Overview"). */
#define HPET_REG_CAP        0x000
#define HPET_REG_CONFIG     0x010
#define HPET_REG_STATUS     0x020
#define HPET_REG_COUNTER    0x0f0
#define HPET_REG_TN_CONFIG(n)   (0x100 + 0x20 * (n))
#define HPET_REG_TN_CMP(n)      (0x108 + 0x20 * (n))
#define HPET_REG_TN_FSB(n)      (0x110 + 0x20 * (n))

/* General configuration (2.3.5). */
#define HPET_CFG_ENABLE     (1u << 0)
#define HPET_CFG_LEGACY     (1u << 1)

/* Timer N configuration and capabilities (2.3.8). */
#define HPET_TN_LEVEL       (1u << 1)   /* Tn_INT_TYPE_CNF */
#define HPET_TN_INT_ENB     (1u << 2)   /* Tn_INT_ENB_CNF */
#define HPET_TN_PERIODIC    (1u << 3)   /* Tn_TYPE_CNF */
#define HPET_TN_PER_CAP     (1u << 4)   /* Tn_PER_INT_CAP */
#define HPET_TN_SIZE_CAP    (1u << 5)   /* Tn_SIZE_CAP: 64-bit */
#define HPET_TN_SETVAL      (1u << 6)   /* Tn_VAL_SET_CNF */
#define HPET_TN_32BIT       (1u << 8)   /* Tn_32MODE_CNF */
#define HPET_TN_ROUTE_SHIFT 9           /* Tn_INT_ROUTE_CNF, bits 13-9 */
#define HPET_TN_FSB_EN      (1u << 14)  /* Tn_FSB_EN_CNF (not supported: reads 0) */
#define HPET_TN_FSB_CAP     (1u << 15)  /* Tn_FSB_INT_DEL_CAP (clear) */

struct hpet;

/*
 * Maps the register block at HPET_BASE and puts the device in its reset
 * state.  clock_ns NULL: the virtual clock.  legacy_route(opaque, on) runs
 * when the guest sets (on) or clears LEG_RT_CNF, and on a reset that
 * clears it: while on, the machine stops the i8254's channel 0 and the
 * RTC from driving GSI 0 and 8 (the HPET lowers both lines right after
 * the call); when off again, it lets them drive the lines and re-asserts
 * their current levels.  legacy_route may be NULL.  NULL with errp set
 * when the MMIO range is taken.
 */
struct hpet *hpet_create(int64_t (*clock_ns)(void), void (*legacy_route)(void *opaque, bool on),
                         void *opaque, GError **errp);
/* Unmaps the registers, removes the timer source and frees s (NULL is fine). */
void hpet_free(struct hpet *s);
/* System reset: counter halted at 0, timers idle, lines low (QEMU's hpet_reset). */
void hpet_reset(struct hpet *s);

/*
 * The clock time of the next interrupt of a timer whose Tn_INT_ENB_CNF is
 * set, or -1 when none will come without a guest write.
 */
int64_t hpet_next_event_ns(struct hpet *s);
/* Delivers every timer event due by now_ns and re-arms the timer source. */
void hpet_update(struct hpet *s, int64_t now_ns);

#endif
