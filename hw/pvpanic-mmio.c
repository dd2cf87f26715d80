/*
 * pvpanic-mmio: the pvpanic event register (hw/pvpanic.h) as one byte of
 * MMIO, for -M microvm, where there is no PCI bus and a guest may not
 * probe ISA ports.  QEMU 7.2 has no such device; hyvm's is the same
 * register as QEMU's pvpanic-isa, at addr= (default 0xfea01000: the page
 * after the generic event device's, in the block below the virtio-mmio
 * window that QEMU's microvm leaves empty), and the DSDT describes it as
 * QEMU0001 "PEVM" with a Memory32Fixed resource, which Linux's
 * pvpanic-mmio driver maps.  With -M microvm,acpi=off nothing describes
 * it: a guest must know the address.
 *
 * Only microvm: on -M pc the addresses below the IOAPIC belong to the PCI
 * window where BARs are placed, and pc has the ISA pvpanic and
 * pvpanic-pci, which QEMU has too; the device is refused there.
 *
 * Threads: created on the main thread; accessed by vCPU threads with the
 * big lock held.
 */
#include <errno.h>
#include <string.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "hw/pvpanic.h"
#include "machine/machine.h"
#include "system/error.h"
#include "system/memory.h"

#define PVPANIC_MMIO_WIDTH 1

int pvpanic_mmio_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    uint64_t addr = dev_config_uint(cfg, "addr");
    struct pvpanic *p;
    int ret;

    if (!m || !m->type || strcmp(m->type->name, "microvm")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "pvpanic-mmio is a -M microvm device; use pvpanic (ISA) or pvpanic-pci");
        return -ENODEV;
    }
    if (m->pvpanic_mmio) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "only one pvpanic-mmio device");
        return -EEXIST;
    }
    /* Memory32Fixed holds a 32-bit address (ACPI 6.5, 6.4.3.4). */
    if (addr == 0 || addr > UINT32_MAX) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "pvpanic-mmio: addr 0x%" G_GINT64_MODIFIER "x is not a 32-bit address "
                    "above 0", addr);
        return -EINVAL;
    }
    if (ram_hva(addr, PVPANIC_MMIO_WIDTH)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "pvpanic-mmio: addr 0x%" G_GINT64_MODIFIER "x is guest RAM", addr);
        return -EINVAL;
    }
    p = g_new0(struct pvpanic, 1);
    p->events = dev_config_uint(cfg, "events") & PVPANIC_EVENTS;
    p->width = PVPANIC_MMIO_WIDTH;
    ret = io_register_mmio(addr, PVPANIC_MMIO_WIDTH, "pvpanic-mmio", &pvpanic_ops, p, errp);
    if (ret < 0) {
        g_free(p);
        return ret;
    }
    m->pvpanic_mmio = addr;
    return 0;
}
