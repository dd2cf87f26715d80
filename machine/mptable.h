/*
 * The MultiProcessor Specification 1.4 tables (chapter 4) for a -kernel
 * boot without firmware: the MP floating pointer structure and the base
 * MP configuration table, as SeaBIOS leaves them for a QEMU guest.
 * Linux reads them when ACPI is off (-M microvm,acpi=off, or acpi=off on
 * its command line) to find the vCPUs, the IOAPIC and the ISA interrupt
 * routing.
 *
 * Threads: main thread, while the machine is built (before any vCPU runs).
 */
#ifndef HYVM_MPTABLE_H
#define HYVM_MPTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Where the IOAPIC and the local APICs sit (MP spec 4.3.3, 4.2). */
#define MPTABLE_IOAPIC_ADDR 0xfec00000u
#define MPTABLE_LAPIC_ADDR 0xfee00000u
/* QEMU's IOAPIC version register (82093AA-compatible, 24 pins). */
#define MPTABLE_IOAPIC_VERSION 0x20
/* The local APIC version register's low byte (hw/lapic.h, LAPIC_VERSION). */
#define MPTABLE_LAPIC_VERSION 0x14

/* A PCI device's interrupt pin wired to an IOAPIC input (MP spec D.3). */
struct mptable_pci_irq {
    uint8_t dev;             /* device number on bus 0, 0-31 */
    uint8_t pin;             /* 0 = INTA# .. 3 = INTD# */
    uint8_t ioapic_pin;      /* the IOAPIC input it drives */
};

struct mptable_config {
    unsigned ncpus;
    /* APIC ID of vCPU i (ncpus entries; the first is the BSP); NULL: i. */
    const uint32_t *apic_ids;
    /* CPUID leaf 1 EAX (signature) and EDX (feature flags) as the vCPUs
     * report them; both 0: SeaBIOS's fallback 0x600 / 0x201. */
    uint32_t cpuid_signature, cpuid_features;
    uint8_t ioapic_id;
    /* The machine has a PCI host bridge: bus 0 gets an entry (ID 0) and the
     * ISA bus ID 1, as under SeaBIOS; without one ISA is bus 0.  ISA IRQs
     * 5, 9, 10 and 11, where SeaBIOS routes the PCI links, then get no ISA
     * entry, as SeaBIOS writes it. */
    bool has_pci;
    /* Optional, with has_pci: one I/O interrupt entry per element (active
     * high, level triggered).  An IOAPIC input below 16 taken here loses
     * its ISA identity entry too. */
    const struct mptable_pci_irq *pci_irqs;
    unsigned n_pci_irqs;
};

/*
 * Writes the floating pointer at X86_MPTABLE_START (machine/e820.h) and the
 * configuration table right behind it, all within X86_MPTABLE_SIZE bytes.
 * The table lists: a processor entry per vCPU (enabled; BSP flag on the
 * first), the PCI and ISA buses, the IOAPIC at MPTABLE_IOAPIC_ADDR, ISA
 * IRQs 0-15 on IOAPIC inputs of the same number except IRQ 0 on input 2
 * (the override ACPI's MADT also reports) and IRQ 2 left out (and those
 * has_pci and pci_irqs take, see above), the PCI entries, ExtINT on the
 * BSP's LINT0 and NMI on every LINT1.
 * Returns 0, or -E2BIG / -EINVAL / -EFAULT with errp set.
 */
int mptable_build(const struct mptable_config *c, GError **errp);

#endif
