/*
 * -M pc: the i440FX PC.  So far it has RAM, the ISA serial ports, the
 * PIIX4's ACPI PM registers (power button, soft-off), fw_cfg, the PCI host
 * with the PIIX3 and the user's -device list, set up as SeaBIOS would leave
 * them; the rest of the chipset and the firmware come with later issues and
 * their options are refused by name until then.
 */
#include <errno.h>

#include "accel/accel.h"
#include "arch/x86/cpu-models.h"
#include "hw/devices.h"
#include "hw/fw-cfg.h"
#include "hw/i8042.h"
#include "hw/ide.h"
#include "hw/pci.h"
#include "machine/acpi-build.h"
#include "machine/e820.h"
#include "machine/machine-internal.h"
#include "system/config.h"
#include "system/error.h"
#include "system/le.h"
#include "system/memory.h"

/* RAM above this goes above 4 GiB, as QEMU's pc does for -m >= 3.5G. */
#define PC_LOW_RAM_LIMIT 0xc0000000ull

static const struct machine_prop pc_props[] = {
    { "graphics", "bool", "Set on/off to enable/disable graphics emulation", true },
    { "acpi", "OnOffAuto", "Enable ACPI", true },
    { "hpet", "bool", "Enable HPET", true },
    { "pit", "OnOffAuto", "Enable i8254 PIT", true },
    { "smm", "OnOffAuto", "Enable SMM", false },
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

static void pc_fw_cfg_reset(void *opaque)
{
    fw_cfg_reset(opaque);
}

/*
 * "etc/e820": the RAM ranges as QEMU lists them for SeaBIOS (which adds
 * its own reserved areas): 20-byte entries of address, length and type.
 */
static int pc_fw_cfg_e820(struct fw_cfg *fw, GError **errp)
{
    uint8_t table[RAM_MAX_REGIONS * 20] = { 0 };
    unsigned n = 0;

    for (unsigned i = 0; i < ram_region_count() && i < RAM_MAX_REGIONS; i++) {
        const struct ram_region *r = ram_region_get(i);
        uint8_t *e = table + 20 * n++;

        st64(e, r->gpa);
        st64(e + 8, r->size);
        st32(e + 16, E820_RAM);
    }
    return fw_cfg_add_file(fw, "etc/e820", table, 20 * n, errp);
}

/*
 * fw_cfg as QEMU's PC fills it for a -kernel boot without firmware: what
 * kvm-unit-tests reads (vCPU count, RAM size), the generic items every
 * fw_cfg has and the RAM map.  The ACPI, SMBIOS and boot files and the
 * kernel items come with firmware.
 */
static int pc_fw_cfg_create(struct machine *m, GError **errp)
{
    const struct hyvm_config *cfg = m->cfg;
    const struct x86_cpu_topo topo = {
        .sockets = cfg->smp_sockets, .dies = cfg->smp_dies,
        .cores = cfg->smp_cores, .threads = cfg->smp_threads,
    };
    unsigned maxcpus = MAX(MAX(cfg->smp_maxcpus, m->ncpus), 1u);
    static const uint8_t uuid[16];
    struct fw_cfg *fw = fw_cfg_create_io(FW_CFG_IO_BASE, errp);

    if (!fw) {
        return -EBUSY;
    }
    machine_add_reset(m, pc_fw_cfg_reset, fw);
    m->fw_cfg = fw;
    fw_cfg_add_bytes(fw, FW_CFG_UUID, uuid, sizeof(uuid));
    fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, cfg->nographic);
    fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, 0);
    fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, m->ncpus);
    /* QEMU's apic_id_limit: the last possible vCPU's APIC ID + 1. */
    fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, x86_topo_apicid(&topo, maxcpus - 1) + 1);
    fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, m->ram_size);
    fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
    return pc_fw_cfg_e820(fw, errp);
}

/* The ACPI tables QEMU's firmware would hand Linux: FADT with the PIIX4
 * PM blocks, DSDT, MADT, HPET (machine/acpi-build.c). */
static int pc_acpi_tables(struct machine *m, bool hpet, GError **errp)
{
    g_autofree struct acpi_build_config *ac = g_new0(struct acpi_build_config, 1);

    acpi_build_config_pc(ac, m->ncpus);
    ac->pci_mem32_start = MIN(m->ram_size, PC_LOW_RAM_LIMIT);
    ac->hpet = hpet;
    ac->serial_mask = x86_machine_serial_mask(m);
    ac->pvpanic_isa = m->pvpanic_isa;
    ac->pvpanic_ioport = m->pvpanic_ioport;
    return acpi_build_tables(ac, &m->acpi_rsdp, errp);
}

static void pc_i8042_reset(void *opaque)
{
    i8042_reset(opaque);
    port92_reset();
}

static int pc_init(struct machine *m, GError **errp)
{
    bool acpi = machine_prop_on(m, "acpi", true);
    bool hpet = machine_prop_on(m, "hpet", true);
    struct i8042 *kbc;
    int ret;

    ret = x86_machine_setup_ram(m, PC_LOW_RAM_LIMIT, errp);
    if (ret < 0) {
        return ret;
    }
    x86_machine_setup_irq(m);
    ret = x86_machine_create_serials(m, errp);
    if (ret < 0) {
        return ret;
    }
    if (acpi) {
        ret = acpi_pm_create(errp);
        if (ret < 0) {
            return ret;
        }
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
    ret = machine_create_devices(m, errp);
    if (ret < 0) {
        return ret;
    }
    pci_firmware_setup();
    /* The ELCR write above reaches only a PIC hyvm models in userspace;
     * an accelerator with its own PIC takes the bits here. */
    if (m->accel->pic_set_level_triggered) {
        m->accel->pic_set_level_triggered(pci_firmware_elcr());
    }
    pc_bios_state_setup();
    if (acpi) {
        ret = pc_acpi_tables(m, hpet, errp);
        if (ret < 0) {
            return ret;
        }
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
