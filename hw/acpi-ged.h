/*
 * -M microvm's ACPI generic event device (ACPI 6.5, 5.6.9) and the
 * hardware-reduced sleep and reset registers (4.8.3.6, 4.8.3.7), at the
 * addresses and with the values QEMU 7.2's microvm uses, so that the
 * FADT and DSDT of machine/acpi-build.c describe them:
 *   0xfea00000  event selector (32-bit read, read clears): bit 1 is the
 *               power button; the DSDT's _EVT notifies \_SB.PWRB on it
 *   0xfea00200  sleep control: SLP_EN with SLP_TYP 5 powers off
 *   0xfea00201  sleep status (reads 0)
 *   0xfea00202  reset: writing 0x42 resets the machine
 * The event is signalled by a pulse on GSI 9 (edge, active high).
 *
 * Threads: registers are accessed by vCPU threads and the power button is
 * pressed by the main thread, both with the big lock held.
 */
#ifndef HYVM_ACPI_GED_H
#define HYVM_ACPI_GED_H

#include <glib.h>

#define ACPI_GED_EVT_BASE   0xfea00000ull
#define ACPI_GED_EVT_LEN    4
#define ACPI_GED_REGS_BASE  0xfea00200ull
#define ACPI_GED_REG_SLEEP_CTL 0
#define ACPI_GED_REG_SLEEP_STS 1
#define ACPI_GED_REG_RESET     2
#define ACPI_GED_REGS_LEN   3
#define ACPI_GED_IRQ        9
#define ACPI_GED_RESET_VALUE 0x42
#define ACPI_GED_SLP_TYP_S5 5
#define ACPI_GED_PWR_DOWN_EVT 0x2

/*
 * Registers the device's MMIO and makes it the machine's power button
 * (runstate_set_power_button: system_powerdown).
 */
int acpi_ged_create(GError **errp);

#endif
