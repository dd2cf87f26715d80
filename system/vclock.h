/*
 * The guest's clocks and timers on them (QEMU's QEMU_CLOCK_VIRTUAL and
 * QEMU_CLOCK_HOST).
 *
 * VCLOCK_VIRTUAL is what the guest's timers count: the PIT, the local
 * APICs, the HPET, the ACPI PM timer, the TSC of the software CPU and, with
 * -rtc clock=vm, the RTC.  Normally it is the host's CLOCK_MONOTONIC.  With
 * -icount it is the guest's retired instructions, 2^shift ns each, plus
 * the time idle periods skipped: the accelerator counts and runs the timers
 * when the clock reaches them (icount mode, below), so that what the guest
 * sees follows from its instructions alone.
 *
 * VCLOCK_HOST is the host's CLOCK_MONOTONIC always (-rtc clock=host|rt).
 *
 * Threads: vclock_ns() from any thread.  Timers are created, armed and run
 * with the big lock held; a host timer, and a virtual one without icount,
 * is a glib source of the main loop.
 */
#ifndef HYVM_VCLOCK_H
#define HYVM_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

enum vclock_type { VCLOCK_VIRTUAL, VCLOCK_HOST };

int64_t vclock_ns(enum vclock_type type);
/* The host's CLOCK_MONOTONIC in ns. */
int64_t vclock_host_ns(void);
/* vclock_ns(VCLOCK_VIRTUAL), for the devices' clock_ns hooks. */
int64_t vclock_virtual_ns(void);

struct vtimer;
typedef void vtimer_cb(void *opaque);

struct vtimer *vtimer_new(enum vclock_type type, const char *name, vtimer_cb *cb,
                          void *opaque);
/* Fires once when the timer's clock reaches deadline_ns; a negative
 * deadline disarms it.  A deadline already past fires at once (soon). */
void vtimer_mod(struct vtimer *t, int64_t deadline_ns);
void vtimer_free(struct vtimer *t);

/* ---- icount: the accelerator's side ---- */

/* -icount shift=N (0..10), or shift=auto (VCLOCK_ICOUNT_AUTO). */
#define VCLOCK_ICOUNT_AUTO (-1)
#define VCLOCK_ICOUNT_MAX_SHIFT 10

struct vclock_icount_ops {
    /* Instructions every vCPU retired so far, summed.  Read by the thread
     * that runs guest code, or any thread while none does. */
    uint64_t (*retired)(void);
    /* A timer was armed earlier than the running vCPU's budget allows: it
     * must come back to its loop (called with the big lock held, on the
     * thread that armed it). */
    void (*deadline_moved)(void);
};

/* Switches VCLOCK_VIRTUAL to counting instructions; before any timer is
 * created.  sleep: idle periods pass in host time (else at once). */
void vclock_icount_enable(int shift, bool sleep, const struct vclock_icount_ops *ops);
bool vclock_icount(void);
bool vclock_icount_sleep(void);
/* The virtual clock's nearest timer deadline, or INT64_MAX. */
int64_t vclock_next_deadline(void);
/* Instructions until the clock reaches ns (at least 1; UINT64_MAX: never). */
uint64_t vclock_icount_until(int64_t ns);
/* Runs the virtual timers whose deadline has passed, in deadline order
 * (big lock held).  True when any ran. */
bool vclock_run_timers(void);
/* All vCPUs idle: moves the virtual clock forward by ns (no instructions). */
void vclock_warp(int64_t ns);
/* shift=auto: keeps the virtual clock near the host's (called now and
 * then by the accelerator, between slices). */
void vclock_icount_adjust(void);

#endif
