/*
 * -M pc: the i440FX PC.  This first version has RAM, the ISA serial ports,
 * the PIIX4's ACPI PM registers (power button, soft-off) and the user's
 * -device list; the chipset, firmware and PCI come with
 * later issues and their options are refused by name until then.
 */
#include "hw/devices.h"
#include "hw/pci.h"
#include "machine/machine-internal.h"

/* RAM above this goes above 4 GiB, as QEMU's pc does for -m >= 3.5G. */
#define PC_LOW_RAM_LIMIT 0xc0000000ull

static const struct machine_prop pc_props[] = {
    { "graphics", "bool", "Set on/off to enable/disable graphics emulation", true },
    { "acpi", "OnOffAuto", "Enable ACPI", false },
    { "hpet", "bool", "Enable HPET", false },
    { "pit", "OnOffAuto", "Enable i8254 PIT", false },
    { "smm", "OnOffAuto", "Enable SMM", false },
    { "usb", "bool", "Set on/off to enable/disable usb", false },
    { "vmport", "OnOffAuto", "Enable vmport (pc & q35)", false },
    { "kernel-irqchip", "on|off|split", "Configure KVM in-kernel irqchip", false },
    { "kernel", "string", "Linux kernel image file", false },
    { "initrd", "string", "Linux initial ramdisk file", false },
    { "append", "string", "Linux kernel command line", false },
    { "firmware", "string", "Firmware image", false },
    { "memory-backend", "link<memory-backend>", "Set RAM backend", false },
    { NULL }
};

static int pc_init(struct machine *m, GError **errp)
{
    int ret = x86_machine_setup_ram(m, PC_LOW_RAM_LIMIT, errp);

    if (ret < 0) {
        return ret;
    }
    x86_machine_setup_irq(m);
    ret = x86_machine_create_serials(m, errp);
    if (ret < 0) {
        return ret;
    }
    ret = acpi_pm_create(errp);
    if (ret < 0) {
        return ret;
    }
    ret = pci_host_create_pc(m, errp);
    if (ret < 0) {
        return ret;
    }
    ret = machine_create_devices(m, errp);
    if (ret < 0) {
        return ret;
    }
    pci_firmware_setup();
    return 0;
}

const struct machine_type machine_pc = {
    .name = "pc-i440fx-7.2",
    .desc = "Standard PC (i440FX + PIIX, 1996)",
    .is_default = true,
    .props = pc_props,
    .init = pc_init,
    .max_cpus = 255,
    .hotpluggable_cpus = true,
    .ram_id = "pc.ram",
};

const struct machine_type machine_pc_alias = {
    .name = "pc",
    .alias = "pc-i440fx-7.2",
    .desc = "Standard PC (i440FX + PIIX, 1996)",
    .props = pc_props,
    .init = pc_init,
    .max_cpus = 255,
    .hotpluggable_cpus = true,
    .ram_id = "pc.ram",
};
