/*
 * Board set-up shared by pc and microvm: the RAM layout around the 4 GiB
 * hole, interrupt routing and the ISA serial ports.
 *
 * Threads: main thread, while the machine is built.
 */
#include <errno.h>
#include <string.h>

#include "accel/accel.h"
#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/devices.h"
#include "hw/hpet.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "hw/rtc.h"
#include "machine/machine-internal.h"
#include "machine/mptable.h"
#include "system/config.h"
#include "system/error.h"
#include "system/memory.h"

#define FOUR_GIB (1ull << 32)

int x86_machine_setup_ram(struct machine *m, uint64_t low_limit, GError **errp)
{
    uint64_t low = MIN(m->ram_size, low_limit);
    uint64_t high = m->ram_size - low;
    int ret;

    ret = ram_add_region(0, low, errp);
    if (ret < 0) {
        return ret;
    }
    if (high) {
        ret = ram_add_region(FOUR_GIB, high, errp);
        if (ret < 0) {
            return ret;
        }
    }
    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);

        ret = m->accel->add_ram(r->gpa, r->size, r->hva, errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static void x86_irq_route(void *opaque, unsigned gsi, int level)
{
    struct machine *m = opaque;

    m->accel->set_irq(gsi, level);
}

void x86_machine_setup_irq(struct machine *m)
{
    irq_set_route(x86_irq_route, m);
}

int x86_machine_create_serials(struct machine *m, GError **errp)
{
    const struct hyvm_config *cfg = m->cfg;
    unsigned n = cfg->serials->len;

    if (n > 4) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "-serial %s: too many serial ports (at most 4)",
                    (const char *)g_ptr_array_index(cfg->serials, 4));
        return -EINVAL;
    }
    for (unsigned i = 0; i < n; i++) {
        const char *spec = g_ptr_array_index(cfg->serials, i);
        g_autofree char *label = g_strdup_printf("serial%u", i);
        struct chardev *chr;
        int ret;

        if (!strcmp(spec, "none")) {
            continue;
        }
        chr = chardev_new_from_cli(spec, label, errp);
        if (!chr) {
            return -EINVAL;
        }
        ret = serial_create_isa(i, chr, errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/*
 * bus= on buses whose name is fixed (QEMU's pci.0 and isa.0 of -M pc), and
 * a PCI device on a board without PCI.  Devices on buses they create
 * themselves (virtio-serial, virtio-mmio) check their bus= when they plug.
 */
static int device_check_bus(const struct dev_config *dc, GError **errp)
{
    const char *kind = dc->type->bus;
    bool pci = !strcmp(kind, "PCI"), isa = !strcmp(kind, "ISA");

    if (pci && !pci_bus_present()) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "No 'PCI' bus found for device '%s'",
                    dc->type->name);
        return -ENODEV;
    }
    if (!dc->bus || (!pci && !isa)) {
        return 0;
    }
    if (pci && !strcmp(dc->bus, "pci.0")) {
        return 0;
    }
    if (isa && !strcmp(dc->bus, "isa.0")) {
        return 0;
    }
    if (isa && !strcmp(dc->bus, "pci.0") && pci_bus_present()) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Device '%s' can't go on PCI bus",
                    dc->type->name);
    } else {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Bus '%s' not found", dc->bus);
    }
    return -ENODEV;
}

int machine_create_devices(struct machine *m, GError **errp)
{
    const GPtrArray *devs = m->cfg->devices;

    for (unsigned i = 0; i < devs->len; i++) {
        const struct dev_config *dc = g_ptr_array_index(devs, i);
        int ret;

        if (!dc->type->realize) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                        "-device %s: this device is not supported yet", dc->type->name);
            return -ENOTSUP;
        }
        ret = device_check_bus(dc, errp);
        if (ret == 0) {
            ret = dc->type->realize(m, dc, errp);
        }
        if (ret < 0) {
            /* QEMU names the option the error came from. */
            if (dc->spec && errp && *errp) {
                g_prefix_error(errp, "%s: ", dc->spec);
            }
            return ret;
        }
    }
    return 0;
}

int x86_machine_build_mptable(struct machine *m, bool has_pci, GError **errp)
{
    const struct mptable_config c = {
        .ncpus = m->ncpus,
        .ioapic_id = 0,
        .has_pci = has_pci,
    };

    return mptable_build(&c, errp);
}

static void x86_hpet_legacy(void *opaque, bool on)
{
    struct machine *m = opaque;

    if (m->accel->hpet_legacy) {
        m->accel->hpet_legacy(on);
    }
}

static void x86_hpet_reset(void *opaque)
{
    hpet_reset(opaque);
}

int x86_machine_create_hpet(struct machine *m, GError **errp)
{
    struct hpet *hpet = hpet_create(NULL, x86_hpet_legacy, m, errp);

    if (!hpet) {
        return -EBUSY;
    }
    machine_add_reset(m, x86_hpet_reset, hpet);
    return 0;
}

static void x86_rtc_reset(void *opaque)
{
    rtc_reset(opaque);
}

int x86_machine_create_rtc(struct machine *m, bool pc, GError **errp)
{
    struct rtc *rtc = rtc_create_on(m->cfg->rtc_clock_vm ? VCLOCK_VIRTUAL : VCLOCK_HOST,
                                    m->cfg->rtc_base, errp);
    uint64_t below = 0, above = 0;

    if (!rtc) {
        return -EBUSY;
    }
    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);

        if (r->gpa < FOUR_GIB) {
            below += r->size;
        } else {
            above += r->size;
        }
    }
    if (pc) {
        if (rtc_cmos_init_pc(rtc, below, above, m->ncpus, m->cfg->boot_order, errp) < 0) {
            return -EINVAL;
        }
    } else {
        rtc_cmos_init_microvm(rtc, below, above);
    }
    machine_add_reset(m, x86_rtc_reset, rtc);
    return 0;
}

uint8_t x86_machine_serial_mask(const struct machine *m)
{
    uint8_t mask = 0;

    for (unsigned i = 0; i < m->cfg->serials->len && i < 4; i++) {
        if (strcmp(g_ptr_array_index(m->cfg->serials, i), "none")) {
            mask |= 1u << i;
        }
    }
    return mask;
}
