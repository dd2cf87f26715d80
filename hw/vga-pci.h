/*
 * QEMU's std VGA as a PCI function (hw/vga-pci.c) and what the machines
 * call to create the default one.
 */
#ifndef HYVM_VGA_PCI_H
#define HYVM_VGA_PCI_H

#include <stdint.h>
#include <glib.h>

struct machine;
struct dev_config;

/* -device VGA: vgamem_mb, mmio, qemu-extended-regs, edid, xres/yres,
 * romfile/rombar/romsize and addr, as QEMU 7.2's. */
int vga_pci_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/*
 * -M pc's display as QEMU picks it: with -vga std, or by default unless
 * -nodefaults or a -device VGA is given; nothing with -vga none.  Call
 * before the -device list, so it takes the slot QEMU gives it (00:02.0).
 */
int vga_create_default(struct machine *m, GError **errp);
/* Boards without a VGA (microvm): QEMU's warning when -vga asked for one. */
void vga_warn_unused(const struct machine *m);

/*
 * A 128-byte EDID 1.4 block (VESA E-EDID standard, release A2) for a
 * monitor named "QEMU Monitor" from "RHT" whose preferred mode is xres x
 * yres (0: 1280 x 800, QEMU's default), which the guest reads at offset 0
 * of BAR 2 (SeaBIOS copies it for VBE/DDC).
 */
void vga_edid_build(uint8_t edid[128], uint32_t xres, uint32_t yres);

#endif
