/*
 * -M pc: the i440FX PC.  So far it has RAM, the ISA serial ports, the
 * PIIX4's ACPI PM function (power button, soft-off), fw_cfg, the PCI host
 * with the PIIX3 and the user's -device list.
 *
 * Without -kernel the board boots its firmware as QEMU does (SeaBIOS,
 * pc-firmware.c): every register is as after power-on and SeaBIOS sets the
 * machine up.  With -kernel hyvm enters the kernel directly and plays the
 * firmware's part itself: PCI assignment (hw/pci.c), the real-mode vector
 * table and chips (bios-state.c), ACPI and MP tables, all as SeaBIOS would
 * leave them.
 */
#include <errno.h>

#include "accel/accel.h"
#include "arch/x86/cpu-models.h"
#include "hw/devices.h"
#include "hw/i440fx-pam.h"
#include "hw/i8042.h"
#include "hw/ide.h"
#include "hw/pci.h"
#include "hw/rtc.h"
#include "hw/vga-pci.h"
#include "machine/acpi-build.h"
#include "machine/machine-internal.h"
#include "system/config.h"
#include "system/error.h"
#include "system/memory.h"

/* RAM above this goes above 4 GiB, as QEMU's pc does for -m >= 3.5G. */
#define PC_LOW_RAM_LIMIT 0xc0000000ull

static const struct machine_prop pc_props[] = {
    { "graphics", "bool", "Set on/off to enable/disable graphics emulation", true },
    { "acpi", "OnOffAuto", "Enable ACPI", true },
    { "hpet", "bool", "Enable HPET", true },
    { "pit", "OnOffAuto", "Enable i8254 PIT", true },
    { "smm", "OnOffAuto", "Enable SMM", true },
    { "usb", "bool", "Set on/off to enable/disable usb", false },
    { "vmport", "OnOffAuto", "Enable vmport (pc & q35)", false },
    { "kernel-irqchip", "on|off|split", "Configure KVM in-kernel irqchip", false },
    { "kernel", "string", "Linux kernel image file", true },
    { "initrd", "string", "Linux initial ramdisk file", true },
    { "append", "string", "Linux kernel command line", true },
    { "firmware", "string", "Firmware image", false },
    { "memory-backend", "link<memory-backend>", "Set RAM backend", false },
    { NULL }
};

/* The ACPI tables QEMU's firmware would hand Linux: FADT with the PIIX4
 * PM blocks, DSDT, MADT, HPET (machine/acpi-build.c), once every device
 * exists.  The same config goes to the firmware's table loader
 * (pc_fw_cfg_machine_done), and for a boot without firmware
 * acpi_build_tables() writes them into RAM itself. */
static void pc_acpi_config(struct machine *m, bool hpet, struct acpi_build_config *ac)
{
    acpi_build_config_pc(ac, m->ncpus);
    ac->pci_mem32_start = MIN(m->ram_size, PC_LOW_RAM_LIMIT);
    ac->hpet = hpet;
    ac->serial_mask = x86_machine_serial_mask(m);
    ac->pvpanic_isa = m->pvpanic_isa;
    ac->pvpanic_ioport = m->pvpanic_ioport;
}

/* The PCI functions as after power-on, then, without firmware, as SeaBIOS
 * leaves them; the i440FX's PAM bytes with them, so the first fetch after a
 * reset reads the BIOS ROM again (Intel 440FX datasheet, 3.2.17: PAM
 * defaults to 00h).  QEMU keeps PAM across a reset and SeaBIOS copies
 * itself back before it resets; both paths end in the same POST. */
static void pc_pci_reset(void *opaque)
{
    pci_bus_reset();
}

static void pc_i8042_reset(void *opaque)
{
    i8042_reset(opaque);
    port92_reset();
}

/* QEMU's pc_cmos_init_late(): the BIOS's CMOS bytes for the first four
 * IDE hard disks, once every drive is attached. */
static void pc_cmos_ide(void)
{
    struct ide_geometry g;

    for (unsigned n = 0; n < 4 && rtc_default(); n++) {
        if (ide_get_geometry(n, &g)) {
            rtc_cmos_set_ide_disk(rtc_default(), n, g.cylinders, g.heads, g.sectors,
                                  g.translation - 1);
        }
    }
}

static int pc_init(struct machine *m, GError **errp)
{
    bool acpi = machine_prop_on(m, "acpi", true);
    bool hpet = machine_prop_on(m, "hpet", true);
    g_autofree struct acpi_build_config *ac = g_new0(struct acpi_build_config, 1);
    struct i8042 *kbc;
    int ret;

    /*
     * hyvm has no System Management Mode.  QEMU's smm=auto turns it on with
     * TCG (and with a KVM that has it); here auto means off (smm=on is
     * refused with the options, system/options-machine.c), and the board
     * behaves as QEMU's with smm=off: the PIIX4 PM function tells SeaBIOS
     * that SMM is set up already (acpi-pm.c), so it never raises an SMI.
     */
    m->firmware = !m->cfg->kernel;
    ret = x86_machine_setup_ram(m, PC_LOW_RAM_LIMIT, errp);
    if (ret < 0) {
        return ret;
    }
    /* The BIOS ROM and the chipset's decoding below 1 MiB (hw/i440fx-pam.c);
     * without firmware the PCI side of the PAM ranges is empty. */
    if (m->firmware) {
        ret = pc_firmware_load(m, errp);
    } else {
        ret = pc_firmware_check(m, errp);
        if (ret == 0) {
            ret = i440fx_pam_create(NULL, 0, errp);
        }
    }
    if (ret < 0) {
        return ret;
    }
    x86_machine_setup_irq(m);
    ret = x86_machine_create_serials(m, errp);
    if (ret < 0) {
        return ret;
    }
    /* The PIIX3's ISA devices Linux looks for: the keyboard controller
     * (with the reset line), port 0x92, the HPET. */
    kbc = i8042_create(errp);
    if (!kbc || port92_create(errp) < 0) {
        return -EBUSY;
    }
    machine_add_reset(m, pc_i8042_reset, kbc);
    ret = x86_machine_create_rtc(m, true, errp);
    if (ret < 0) {
        return ret;
    }
    if (hpet) {
        ret = x86_machine_create_hpet(m, errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = pc_fw_cfg_create(m, errp);
    if (ret < 0) {
        return ret;
    }
    ret = pci_host_create_pc(m, errp);
    if (ret < 0) {
        return ret;
    }
    /* 00:01.1, the PIIX3's IDE function, with the if=ide drives. */
    ret = ide_piix_create(m, errp);
    if (ret < 0) {
        return ret;
    }
    if (acpi) {
        ret = acpi_pm_create(m->firmware, errp);
        if (ret < 0) {
            return ret;
        }
    }
    /* The display QEMU's board makes before the NICs and -device list,
     * so it lands on 00:02.0 as there (hw/vga-pci.c). */
    ret = vga_create_default(m, errp);
    if (ret < 0) {
        return ret;
    }
    ret = machine_create_devices(m, errp);
    if (ret < 0) {
        return ret;
    }
    pc_cmos_ide();
    /* Keeps the bus's power-on state for resets; assigns only without firmware. */
    pci_firmware_setup();
    machine_add_reset(m, pc_pci_reset, NULL);
    pc_acpi_config(m, hpet, ac);
    if (m->firmware) {
        /* SeaBIOS writes its own vector table and MP table, and places the
         * ACPI tables it gets through fw_cfg's table loader. */
        return pc_fw_cfg_machine_done(m, acpi ? ac : NULL, errp);
    }
    /* The ELCR write above reaches only a PIC hyvm models in userspace;
     * an accelerator with its own PIC takes the bits here. */
    if (m->accel->pic_set_level_triggered) {
        m->accel->pic_set_level_triggered(pci_firmware_elcr());
    }
    pc_bios_state_setup();
    if (acpi) {
        ret = acpi_build_tables(ac, &m->acpi_rsdp, errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = pc_fw_cfg_machine_done(m, acpi ? ac : NULL, errp);
    if (ret < 0) {
        return ret;
    }
    /* SeaBIOS always writes an MP table; Linux reads it without ACPI. */
    return x86_machine_build_mptable(m, true, errp);
}

const struct machine_type machine_pc = {
    .name = "pc-i440fx-7.2",
    .desc = "Standard PC (i440FX + PIIX, 1996)",
    .is_default = true,
    .props = pc_props,
    .init = pc_init,
    .kernel_loaded = pc_bios_kernel_loaded,
    .max_cpus = 255,
    .hotpluggable_cpus = true,
    .ram_id = "pc.ram",
    .default_nic = "virtio-net-pci",
};

const struct machine_type machine_pc_alias = {
    .name = "pc",
    .alias = "pc-i440fx-7.2",
    .desc = "Standard PC (i440FX + PIIX, 1996)",
    .props = pc_props,
    .init = pc_init,
    .kernel_loaded = pc_bios_kernel_loaded,
    .max_cpus = 255,
    .hotpluggable_cpus = true,
    .ram_id = "pc.ram",
    .default_nic = "virtio-net-pci",
};
