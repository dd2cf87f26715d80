/*
 * Interrupt lines: the one place devices' GSI levels go through.
 *
 * The machine installs the route (to KVM's in-kernel irqchip or to the
 * userspace i8259/IOAPIC) before any device runs; until then a level change
 * goes nowhere, so a device may be realized and reset before the machine
 * has decided where its interrupts land.
 *
 * Threads: everything here runs with the big lock held.
 */
#include <stddef.h>

#include "hw/irq.h"

static irq_route_fn irq_route;
static void *irq_route_opaque;

void irq_set_route(irq_route_fn fn, void *opaque)
{
    irq_route = fn;
    irq_route_opaque = opaque;
}

void irq_set_level(unsigned gsi, int level)
{
    if (irq_route) {
        irq_route(irq_route_opaque, gsi, level ? 1 : 0);
    }
}
