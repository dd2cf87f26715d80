/* Shared by the machine files; not for the rest of hyvm. */
#ifndef HYVM_MACHINE_INTERNAL_H
#define HYVM_MACHINE_INTERNAL_H

#include "machine/machine.h"

extern const struct machine_type machine_microvm;
extern const struct machine_type machine_pc;
extern const struct machine_type machine_pc_alias;

const struct machine_type *machine_type_resolve(const struct machine_type *t);
int machine_check_props(const struct machine *m, GError **errp);
bool machine_prop_on(const struct machine *m, const char *name, bool dflt);

/* microvm.c: append (-append) with what the board adds for the kernel:
 * on microvm with acpi=off, its used virtio-mmio transports. */
char *microvm_kernel_cmdline(const struct machine *m, const char *append);

/* x86.c: what every x86 board does the same way. */
/* Guest RAM below the PCI hole up to low_limit, the rest above 4 GiB. */
int x86_machine_setup_ram(struct machine *m, uint64_t low_limit, GError **errp);
/* Routes device GSIs to the accelerator's interrupt controller. */
void x86_machine_setup_irq(struct machine *m);
/* The ISA serial ports of -serial (and the machine's default). */
int x86_machine_create_serials(struct machine *m, GError **errp);
/* The MP table for m's vCPUs (MP spec 1.4), with a PCI bus or not. */
int x86_machine_build_mptable(struct machine *m, bool has_pci, GError **errp);
/* The HPET (-M pc,hpet=on), its legacy route gating the accelerator's PIT. */
int x86_machine_create_hpet(struct machine *m, GError **errp);
/* The MC146818 RTC at 0x70 with the CMOS bytes of the board (pc: QEMU's
 * pc_cmos_init; microvm: the memory sizes only), reset with the machine. */
int x86_machine_create_rtc(struct machine *m, bool pc, GError **errp);
/* Bit n: the machine made COMn+1 (for the ACPI tables). */
uint8_t x86_machine_serial_mask(const struct machine *m);
/* Every -device, in command-line order. */
int machine_create_devices(struct machine *m, GError **errp);

/* pc-firmware.c: the BIOS image of -M pc without -kernel (-bios, -L, the
 * default bios-256k.bin, found by system/datadir.c as QEMU finds it):
 * pc_firmware_load() maps it at the top of 4 GiB and makes the PAM windows
 * over its low alias. */
int pc_firmware_load(struct machine *m, GError **errp);
int pc_firmware_check(const struct machine *m, GError **errp);

/* bios-state.c: the vector table, i8259 and i8254 as SeaBIOS leaves them
 * for a -kernel boot.  pc_bios_state_setup() writes the vector table (before
 * the kernel is loaded); pc_bios_kernel_loaded() points the boot state at a
 * stub that programs the chips and enters the kernel. */
void pc_bios_state_setup(void);

/* machine/pc-fw-cfg.c: fw_cfg while the board is built, then the files
 * that need every device (acpi NULL: -M acpi=off). */
struct acpi_build_config;
int pc_fw_cfg_create(struct machine *m, GError **errp);
int pc_fw_cfg_machine_done(struct machine *m, const struct acpi_build_config *acpi,
                           GError **errp);
void pc_bios_kernel_loaded(struct machine *m);

#endif
