/*
 * Interrupt lines.  Devices raise and lower GSIs; the accelerator routes them
 * to its in-kernel irqchip (KVM) or to the userspace i8259/IOAPIC (software
 * CPU).  Devices never know which.
 */
#ifndef HYVM_IRQ_H
#define HYVM_IRQ_H

typedef void (*irq_route_fn)(void *opaque, unsigned gsi, int level);

/* Called with the big lock held. */
void irq_set_level(unsigned gsi, int level);
/* The machine installs the route once, before devices run. */
void irq_set_route(irq_route_fn fn, void *opaque);

#endif
