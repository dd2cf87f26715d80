/*
 * -M microvm: a minimal board without PCI, for direct kernel boot, as
 * QEMU's: RAM, the ISA serial port, the i8259 pair and i8254 (pic=, pit=,
 * modelled by the accelerator), one or two IOAPICs (ioapic2=), ACPI in its
 * hardware-reduced form with the generic event device for power button
 * and soft-off (acpi=), or an MP table with acpi=off, QEMU's virtio-mmio
 * transports and the user's -device list.
 *
 * The transports (hw/virtio/virtio-mmio.h), as QEMU 7.2 lays them out:
 * transport i at 0xfeb00000 + i * 512, 8 of them on GSI 5 + i (acpi=off)
 * or 16 + i (acpi=on), 24 on GSI 24 + i with ioapic2 (which needs ACPI).
 * A virtio-*-device goes onto the highest free one.  The guest learns of
 * the used ones from the DSDT (acpi=on: LNRO0005 devices, level-triggered
 * active high as QEMU's) or from "virtio_mmio.device=512@BASE:GSI" entries
 * appended to the kernel command line (acpi=off, auto-kernel-cmdline=on).
 */
#include <errno.h>
#include <string.h>

#include "accel/accel.h"
#include "hw/acpi-ged.h"
#include "hw/vga-pci.h"
#include "hw/virtio/virtio-mmio.h"
#include "machine/acpi-build.h"
#include "machine/machine-internal.h"
#include "system/error.h"
#include "system/memory.h"

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

static bool microvm_is(const struct machine *m)
{
    return m && m->type && machine_type_resolve(m->type) == &machine_microvm;
}

static void microvm_virtio_mmio_reset(void *opaque)
{
    virtio_mmio_reset(opaque);
}

/* QEMU's transports, created before the -device list that fills them. */
static int microvm_create_virtio_mmio(struct machine *m, bool acpi, GError **errp)
{
    bool legacy = virtio_mmio_force_legacy();
    unsigned n = 8, gsi_base = acpi ? 16 : 5;

    if (acpi && machine_ioapic2_enabled(m)) {
        n = 24;
        gsi_base = 24;
    }
    for (unsigned i = 0; i < n; i++) {
        struct virtio_mmio *t = virtio_mmio_create(VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE,
                                                   gsi_base + i, legacy, errp);

        if (!t) {
            return -EBUSY;
        }
        machine_add_reset(m, microvm_virtio_mmio_reset, t);
    }
    return 0;
}

/*
 * QEMU's microvm firmware (qboot) masks the i8259 pair before it starts the
 * kernel (QEMU 7.2's "info pic" then shows master IMR 0xfb, slave 0xff,
 * vector bases untouched), and Linux on hardware-reduced ACPI never touches
 * the chips.  Unmasked, the i8254's IRQ 0 reaches the BSP through LINT0 in
 * virtual-wire mode as vector 0 (the reset vector base) and the kernel dies
 * of a "divide error" once it enables interrupts.  hyvm has no firmware, so
 * the board does the masking: at power-on and after every system reset,
 * which returns the chips to their reset state.  OCW1 alone, as qboot does.
 */
static void microvm_pic_mask(void *opaque)
{
    uint8_t master = 0xfb, slave = 0xff;    /* the cascade (IRQ 2) stays open */

    (void)opaque;
    io_pio(0x21, &master, 1, true);
    io_pio(0xa1, &slave, 1, true);
}

/* The transports holding a device, the highest first (QEMU's order). */
static unsigned microvm_used_transports(struct virtio_mmio **out, unsigned max)
{
    unsigned n = 0, count = 0;

    while (virtio_mmio_at(count)) {
        count++;
    }
    for (unsigned i = count; i-- > 0 && n < max;) {
        if (virtio_mmio_get_device(virtio_mmio_at(i))) {
            out[n++] = virtio_mmio_at(i);
        }
    }
    return n;
}

char *microvm_kernel_cmdline(const struct machine *m, const char *append)
{
    struct virtio_mmio *used[ACPI_MAX_VIRTIO_MMIO];
    GString *s = g_string_new(append);
    unsigned n;

    /* QEMU edits the command line only without ACPI and with -kernel. */
    if (!microvm_is(m) || machine_prop_on(m, "acpi", true) ||
        !machine_prop_on(m, "auto-kernel-cmdline", true)) {
        return g_string_free(s, FALSE);
    }
    n = microvm_used_transports(used, G_N_ELEMENTS(used));
    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(s, " virtio_mmio.device=%u@0x%" G_GINT64_MODIFIER "x:%u",
                               VIRTIO_MMIO_SIZE, virtio_mmio_get_base(used[i]),
                               virtio_mmio_get_gsi(used[i]));
    }
    return g_string_free(s, FALSE);
}

/* Hardware-reduced ACPI: FADT, DSDT with the GED, COM1, the pvpanic
 * devices and the used virtio-mmio transports, MADT. */
static int microvm_acpi_tables(struct machine *m, bool rtc, GError **errp)
{
    g_autofree struct acpi_build_config *ac = g_new0(struct acpi_build_config, 1);
    struct virtio_mmio *used[ACPI_MAX_VIRTIO_MMIO];

    acpi_build_config_microvm(ac, m->ncpus);
    ac->nioapics = machine_ioapic2_enabled(m) ? 2 : 1;
    ac->rtc = rtc;
    ac->serial_mask = machine_prop_on(m, "isa-serial", true) ? 1 : 0;
    ac->pvpanic_isa = m->pvpanic_isa;
    ac->pvpanic_ioport = m->pvpanic_ioport;
    ac->pvpanic_mmio = m->pvpanic_mmio;
    ac->nvirtio_mmio = microvm_used_transports(used, G_N_ELEMENTS(used));
    for (unsigned i = 0; i < ac->nvirtio_mmio; i++) {
        ac->virtio_mmio[i] = (struct acpi_virtio_mmio){
            .base = virtio_mmio_get_base(used[i]),
            .size = VIRTIO_MMIO_SIZE,
            .gsi = virtio_mmio_get_gsi(used[i]),
        };
    }
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
    if (machine_pic_enabled(m)) {
        microvm_pic_mask(NULL);
        machine_add_reset(m, microvm_pic_mask, NULL);
    }
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
    ret = microvm_create_virtio_mmio(m, acpi, errp);
    if (ret < 0) {
        return ret;
    }
    vga_warn_unused(m);     /* microvm has no VGA, as QEMU's */
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
