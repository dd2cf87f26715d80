/*
 * MSI-X (PCI Local Bus Specification 3.0, section 6.8.2) for a function
 * whose vector table and pending bit array share a memory BAR of their own,
 * as QEMU's msix_init_exclusive_bar lays it out: the table at offset 0, the
 * PBA at 0x800 of a 4 KiB BAR (further up in a larger BAR when the table
 * needs the room).
 *
 * The device sends vector n with msix_notify(); a masked vector (its own
 * mask bit, the function mask, or MSI-X off) sets its pending bit instead,
 * and the message goes out when the guest unmasks it.  Messages reach the
 * CPUs through hw/irq.h's msi_send(), only while the function may master
 * the bus.  pci.c calls msix_config_written() after config writes and
 * msix_reset() on system reset for every function with MSI-X.
 *
 * Threads: msix_init on the main thread while the machine is built; all
 * the rest with the big lock held (vCPU register accesses, device
 * completions on the main loop).
 */
#ifndef HYVM_MSIX_H
#define HYVM_MSIX_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct pci_device;

#define MSIX_MAX_VECTORS        2048    /* the 11-bit table size field */
#define MSIX_ENTRY_SIZE         16
#define MSIX_CAP_SIZE           12

/* Message Control (capability + 2) and the vector control's mask bit. */
#define MSIX_CTRL_QSIZE         0x07ff
#define MSIX_CTRL_MASKALL       0x4000
#define MSIX_CTRL_ENABLE        0x8000
#define MSIX_ENTRY_ADDR_LO      0
#define MSIX_ENTRY_ADDR_HI      4
#define MSIX_ENTRY_DATA         8
#define MSIX_ENTRY_CTRL         12
#define MSIX_ENTRY_CTRL_MASKBIT 1

/*
 * Adds the capability and registers BAR bar (32-bit memory) holding a
 * table of nvectors (1..2048) entries, all masked.  0, or -errno.
 */
int msix_init_exclusive_bar(struct pci_device *d, unsigned nvectors, unsigned bar,
                            GError **errp);

/* The function has an MSI-X capability (msix_init ran). */
bool msix_present(const struct pci_device *d);
/* The guest turned it on (the enable bit): INTx is then not used. */
bool msix_enabled(const struct pci_device *d);
unsigned msix_nvectors(const struct pci_device *d);
/* The vector is held back: its mask bit, the function mask, or MSI-X off. */
bool msix_is_masked(const struct pci_device *d, unsigned vector);
bool msix_is_pending(const struct pci_device *d, unsigned vector);
/* The message the table holds for vector. */
void msix_get_message(const struct pci_device *d, unsigned vector, uint64_t *addr,
                      uint32_t *data);

/* Signals vector: sends its message, or sets its pending bit while masked.
 * Nothing happens while MSI-X is off or for a vector past the table. */
void msix_notify(struct pci_device *d, unsigned vector);

/*
 * Called by pci.c after every config write: the enable and function-mask
 * bits; unmasking delivers pending vectors, enabling drops INTx.
 */
void msix_config_written(struct pci_device *d, unsigned addr, unsigned len);
/* Power-on state: off, every vector masked, table and PBA cleared. */
void msix_reset(struct pci_device *d);

#endif
