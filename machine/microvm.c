/*
 * -M microvm: a minimal board without PCI, for direct kernel boot, as
 * QEMU's: RAM, the ISA serial port, the i8259 pair and i8254 (pic=, pit=,
 * modelled by the accelerator), one or two IOAPICs (ioapic2=), ACPI in its
 * hardware-reduced form with the generic event device for power button
 * and soft-off (acpi=), or an MP table with acpi=off, and the user's
 * -device list.  The virtio-mmio transports come with the virtio issue.
 */
#include <errno.h>
#include <string.h>

#include "accel/accel.h"
#include "hw/acpi-ged.h"
#include "machine/acpi-build.h"
#include "machine/machine-internal.h"
#include "system/error.h"

/* microvm keeps all RAM below 3 GiB, the rest above 4 GiB. */
#define MICROVM_LOW_RAM_LIMIT 0xc0000000ull

static const struct machine_prop microvm_props[] = {
    { "isa-serial", "bool", "Set off to leave out the ISA serial port", true },
    { "graphics", "bool", "Set on/off to enable/disable graphics emulation", true },
    { "acpi", "OnOffAuto", "Enable ACPI", true },
    { "pic", "OnOffAuto", "Enable i8259 PIC", true },
    { "pit", "OnOffAuto", "Enable i8254 PIT", true },
    { "rtc", "OnOffAuto", "Enable MC146818 RTC", true },
    { "ioapic2", "OnOffAuto", "Enable second IO-APIC", true },
    { "pcie", "OnOffAuto", "Enable PCIe", false },
    { "x-option-roms", "bool", "Set off to disable loading option ROMs", true },
    { "auto-kernel-cmdline", "bool", "Set off to disable adding virtio-mmio devices to the kernel cmdline", true },
    { "kernel", "string", "Linux kernel image file", true },
    { "initrd", "string", "Linux initial ramdisk file", true },
    { "append", "string", "Linux kernel command line", true },
    { "smm", "OnOffAuto", "Enable SMM", false },
    { "memory-backend", "link<memory-backend>", "Set RAM backend", false },
    { NULL }
};

/* Hardware-reduced ACPI: FADT, DSDT with the GED and COM1, MADT. */
static int microvm_acpi_tables(struct machine *m, bool rtc, GError **errp)
{
    g_autofree struct acpi_build_config *ac = g_new0(struct acpi_build_config, 1);

    acpi_build_config_microvm(ac, m->ncpus);
    ac->nioapics = machine_ioapic2_enabled(m) ? 2 : 1;
    ac->rtc = rtc;
    ac->serial_mask = machine_prop_on(m, "isa-serial", true) ? 1 : 0;
    return acpi_build_tables(ac, &m->acpi_rsdp, errp);
}

static int microvm_init(struct machine *m, GError **errp)
{
    bool acpi = machine_prop_on(m, "acpi", true);
    /* QEMU's rule for rtc=auto: on, but with KVM's in-kernel irqchip. */
    bool rtc = machine_prop_on(m, "rtc", !strcmp(m->accel->name, "tcg"));
    int ret;

    if (machine_ioapic2_enabled(m) && strcmp(m->accel->name, "tcg")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "-machine ioapic2=on: a second IOAPIC needs the software CPU's "
                    "interrupt controllers (-accel tcg)");
        return -ENOTSUP;
    }
    ret = x86_machine_setup_ram(m, MICROVM_LOW_RAM_LIMIT, errp);
    if (ret < 0) {
        return ret;
    }
    x86_machine_setup_irq(m);
    if (machine_prop_on(m, "isa-serial", true)) {
        ret = x86_machine_create_serials(m, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (rtc) {
        ret = x86_machine_create_rtc(m, false, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (acpi) {
        ret = acpi_ged_create(errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = machine_create_devices(m, errp);
    if (ret < 0) {
        return ret;
    }
    /* Without ACPI, the MP table tells the kernel about the vCPUs and the IOAPIC. */
    return acpi ? microvm_acpi_tables(m, rtc, errp) : x86_machine_build_mptable(m, false, errp);
}

const struct machine_type machine_microvm = {
    .name = "microvm",
    .desc = "microvm (i386)",
    .props = microvm_props,
    .init = microvm_init,
    .max_cpus = 288,
    .hotpluggable_cpus = false,
    .ram_id = "microvm.ram",
};
