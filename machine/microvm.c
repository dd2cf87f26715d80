/*
 * -M microvm: a minimal board without PCI, for direct kernel boot.  This
 * first version has RAM, the ISA serial port and the user's -device list;
 * its option set (pit, pic, rtc, acpi, virtio-mmio, ...) comes with the
 * machines issue and is refused by name until then.
 */
#include "machine/machine-internal.h"

/* microvm keeps all RAM below 3 GiB, the rest above 4 GiB. */
#define MICROVM_LOW_RAM_LIMIT 0xc0000000ull

static const struct machine_prop microvm_props[] = {
    { "isa-serial", "bool", "Set off to leave out the ISA serial port", true },
    { "graphics", "bool", "Set on/off to enable/disable graphics emulation", true },
    { "acpi", "OnOffAuto", "Enable ACPI", false },
    { "pic", "OnOffAuto", "Enable i8259 PIC", false },
    { "pit", "OnOffAuto", "Enable i8254 PIT", false },
    { "rtc", "OnOffAuto", "Enable MC146818 RTC", false },
    { "ioapic2", "OnOffAuto", "Enable second IO-APIC", false },
    { "pcie", "OnOffAuto", "Enable PCIe", false },
    { "x-option-roms", "bool", "Set off to disable loading option ROMs", false },
    { "auto-kernel-cmdline", "bool", "Set off to disable adding virtio-mmio devices to the kernel cmdline", false },
    { "kernel", "string", "Linux kernel image file", false },
    { "initrd", "string", "Linux initial ramdisk file", false },
    { "append", "string", "Linux kernel command line", false },
    { "smm", "OnOffAuto", "Enable SMM", false },
    { "memory-backend", "link<memory-backend>", "Set RAM backend", false },
    { NULL }
};

static int microvm_init(struct machine *m, GError **errp)
{
    int ret = x86_machine_setup_ram(m, MICROVM_LOW_RAM_LIMIT, errp);

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
    return machine_create_devices(m, errp);
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
