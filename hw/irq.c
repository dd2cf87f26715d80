/*
 * Interrupt lines and MSIs: the one place devices' GSI levels and message
 * writes go through.
 *
 * The machine installs the line route (to KVM's in-kernel irqchip or to the
 * userspace i8259/IOAPIC) before any device runs; until then a level change
 * goes nowhere, so a device may be realized and reset before the machine
 * has decided where its interrupts land.  The accelerator installs the MSI
 * route with its interrupt controllers; an MSI sent before that is dropped.
 *
 * Threads: everything here runs with the big lock held.
 */
#include <stddef.h>

#include <glib.h>

#include "hw/irq.h"
#include "system/log.h"
#include "system/memory.h"

static irq_route_fn irq_route;
static void *irq_route_opaque;
static msi_route_fn msi_route;
static void *msi_route_opaque;

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

void msi_set_route(msi_route_fn fn, void *opaque)
{
    msi_route = fn;
    msi_route_opaque = opaque;
}

void msi_send(uint64_t addr, uint32_t data)
{
    uint8_t b[4] = { data, data >> 8, data >> 16, data >> 24 };

    if ((addr & MSI_ADDR_MASK) == MSI_ADDR_BASE) {
        if (msi_route) {
            msi_route(msi_route_opaque, addr, data);
        } else {
            log_mask(LOG_UNIMP, "MSI 0x%" G_GINT64_MODIFIER "x/0x%x dropped: the "
                     "accelerator takes no MSIs\n", addr, data);
        }
        return;
    }
    /*
     * A message programmed elsewhere is a DMA write like any other, but
     * only into RAM: one aimed at a device register (the sender's own
     * notify register, say) could call back into the sender forever.
     */
    if (ram_write(addr, b, sizeof(b)) < 0) {
        log_mask(LOG_GUEST_ERROR, "MSI 0x%" G_GINT64_MODIFIER "x/0x%x: neither the "
                 "interrupt window nor RAM; dropped\n", addr, data);
    }
}
