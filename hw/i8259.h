/*
 * The PC's two cascaded 8259A interrupt controllers (master at ports
 * 0x20-0x21, slave at 0xa0-0xa1 on the master's IR2) and the PIIX edge/level
 * control registers (ELCR, ports 0x4d0-0x4d1), for the software CPU.  Under
 * KVM the in-kernel irqchip plays this part instead.
 *
 * Threads: every function here is called with the big lock held
 * (system/main-loop.h), from the vCPU thread (ports, INTA) or from devices
 * (i8259_set_irq).  The on_intr_change hook runs under the same lock.
 */
#ifndef HYVM_I8259_H
#define HYVM_I8259_H

#include <stdbool.h>
#include <glib.h>

struct i8259;

/*
 * Called whenever the master's INT output (the CPU's INTR pin) changes, so a
 * vCPU sleeping in HLT can be kicked.  level is the new state.
 */
typedef void (*i8259_intr_fn)(void *opaque, bool level);

/*
 * Creates both chips in their power-on state and claims their ports with
 * io_register_pio().  on_intr_change may be NULL.  NULL with errp set when a
 * port range is taken.
 */
struct i8259 *i8259_create(i8259_intr_fn on_intr_change, void *opaque, GError **errp);
/* Frees the state; only once its ports are gone (io_unregister_all()). */
void i8259_free(struct i8259 *pic);
/* Back to the power-on state (system reset): uninitialised, ELCR all edge. */
void i8259_reset(struct i8259 *pic);

/*
 * Drives input line irq (0-7 master, 8-15 slave; 2 is the cascade and is
 * ignored) to level (0 or not 0).  Lines outside 0-15 are ignored.
 */
void i8259_set_irq(struct i8259 *pic, unsigned irq, int level);
/* The state of the master's INT output, i.e. the CPU's INTR pin. */
bool i8259_has_interrupt(const struct i8259 *pic);
/*
 * The interrupt-acknowledge cycle (both INTA pulses at once): returns the
 * vector (0-255) and updates ISR/IRR on the master and, through IR2, the
 * slave.  With nothing left to deliver it returns the spurious vector of
 * IR7 (master) or IR15 (slave) without setting an ISR bit, as the 8259A does.
 */
int i8259_ack(struct i8259 *pic);

#endif
