/*
 * The userspace i8254 programmable interval timer (Intel 82C54) with the
 * timer-2 bits of port 0x61 (system control port B).
 *
 * Time is the guest's virtual clock (system/vclock.h), or a clock a test
 * injects, counted at 1.193182 MHz.  Channel 0's output drives IRQ 0
 * through the callback given at creation; the machine arms a timer for
 * i8254_next_event_ns() and calls i8254_update() when it fires.
 *
 * Threads: every function here and the port handlers run with the big lock
 * held (system/main-loop.h).
 */
#ifndef HYVM_I8254_H
#define HYVM_I8254_H

#include <stdint.h>
#include <glib.h>

#define I8254_FREQ_HZ   1193182u
#define I8254_IOBASE    0x40    /* counters 0-2 at 0x40-0x42, control word at 0x43 */
#define I8254_PORT_B    0x61    /* bit 0 timer-2 gate, bit 5 timer-2 output */

struct i8254;

/*
 * Registers ports 0x40-0x43 and 0x61.  clock_ns may be NULL for the
 * guest's virtual clock (system/vclock.h).  irq(opaque, level) follows channel 0's output pin; it is called
 * only when the level changes, the first time from here (the reset state,
 * mode 3, has OUT high).  NULL with errp set when a port is already claimed.
 * Guest writes can move the next event: the caller re-arms its timer from
 * i8254_next_event_ns() after port writes (i8254_set_change_hook) as well
 * as after updates.
 */
struct i8254 *i8254_create(int64_t (*clock_ns)(void), void (*irq)(void *opaque, int level),
                           void *opaque, GError **errp);

/*
 * The clock time at which channel 0's output next changes, or -1 when it
 * will not change without a guest write.  Always later than the time of the
 * last i8254_update() or port access.
 */
int64_t i8254_next_event_ns(struct i8254 *pit);

/*
 * Brings IRQ 0 up to date with channel 0's output at now_ns, delivering
 * every edge that fell in between (a guest's lost ticks of more than one
 * period collapse into one rising edge, as edge-triggered PICs would see).
 */
void i8254_update(struct i8254 *pit, int64_t now_ns);

/* fn(opaque) runs after each guest write to ports 0x40-0x43 (under the
 * big lock), so the owner of the timer can re-arm it. */
void i8254_set_change_hook(struct i8254 *pit, void (*fn)(void *opaque), void *opaque);

#endif
