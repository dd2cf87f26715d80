/*
 * Creation functions of the devices built so far, for the device table
 * (hw/device-table.c) and the machines.
 */
#ifndef HYVM_DEVICES_H
#define HYVM_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct machine;
struct dev_config;
struct chardev;
struct pci_device;

/* isa-serial: a 16550A at iobase/irq (index= picks COM1..COM4 defaults). */
int serial_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* The machine's own serial ports (-serial): COM index 0..3 on chr. */
int serial_create_isa(unsigned index, struct chardev *chr, GError **errp);

/* isa-debug-exit: iobase (0x501), iosize (2); a write of v exits (v << 1) | 1. */
int isa_debug_exit_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* isa-debugcon: iobase (0xe9), chardev; reads return readback (0xe9). */
int debugcon_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* pc-testdev: the port and MMIO test device of kvm-unit-tests. */
int pc_testdev_realize(struct machine *m, const struct dev_config *cfg, GError **errp);

/* pvpanic: ioport (0x505), events (3); guest panic reports. */
int pvpanic_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* pvpanic-pci: the same register in BAR 0 of 1b36:0011; addr, events. */
int pvpanic_pci_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* pvpanic-mmio (microvm only): the register at addr (0xfea01000); events. */
int pvpanic_mmio_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* i6300esb: Intel's 6300ESB watchdog timer (PCI 8086:25ab); addr. */
int i6300esb_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* The clock (ns) the i6300esb devices made from now on read; NULL: the
 * guest's virtual clock (system/vclock.h).  Unit tests give a fake one and then call
 * i6300esb_update(), which takes the stage ends due by now_ns. */
void i6300esb_set_clock(int64_t (*clock_ns)(void));
void i6300esb_update(struct pci_device *pci, int64_t now_ns);
/* -M pc's ACPI PM registers and power button (PIIX4 layout, 0x600 and 0xb2),
 * on a PCI bus as the PIIX4's function 00:01.3 whose PMBA places them;
 * firmware: its registers as after power-on, for SeaBIOS to program. */
int acpi_pm_create(bool firmware, GError **errp);

#endif
