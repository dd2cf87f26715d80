/*
 * Interrupt lines and message-signalled interrupts.  Devices raise and lower
 * GSIs and send MSIs; the accelerator routes them to its in-kernel irqchip
 * (KVM) or to the userspace i8259/IOAPIC/LAPICs (software CPU).  Devices
 * never know which.
 */
#ifndef HYVM_IRQ_H
#define HYVM_IRQ_H

#include <stdint.h>

typedef void (*irq_route_fn)(void *opaque, unsigned gsi, int level);
typedef void (*msi_route_fn)(void *opaque, uint64_t addr, uint32_t data);

/* The x86 interrupt window: an MSI written here is an APIC bus message. */
#define MSI_ADDR_BASE           0xfee00000ull
#define MSI_ADDR_MASK           0xfff00000ull

/* Called with the big lock held. */
void irq_set_level(unsigned gsi, int level);
/* The machine installs the route once, before devices run. */
void irq_set_route(irq_route_fn fn, void *opaque);

/*
 * A bus master's MSI write of data (4 bytes) at addr (PCI 3.0, section
 * 6.8): into the interrupt window it goes to the accelerator's MSI route
 * (SDM vol. 3, 11.11); into RAM it is a plain memory write, as on real
 * hardware; anywhere else (device registers) it is dropped.  Big lock held.
 */
void msi_send(uint64_t addr, uint32_t data);
/* The accelerator installs its MSI route when it creates its irqchip. */
void msi_set_route(msi_route_fn fn, void *opaque);

#endif
