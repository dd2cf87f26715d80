/*
 * pvpanic-pci: the pvpanic event register (hw/pvpanic.h) behind a PCI
 * function, as QEMU 7.2's hw/misc/pvpanic-pci.c shows it to a guest:
 * Red Hat 1b36:0011, revision 1, class 0880h (other system peripheral),
 * no interrupt, and BAR 0 a 32-bit memory BAR whose first two bytes are
 * the register (QEMU's region is two bytes; a guest sizes the BAR as 16,
 * the least PCI 3.0 section 6.2.5.1 allows, and the rest reads 0).
 * Linux's pvpanic-pci driver binds to it.
 *
 * Threads: created on the main thread; the BAR is accessed by vCPU
 * threads with the big lock held.
 */
#include <errno.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "hw/pci.h"
#include "hw/pvpanic.h"
#include "system/memory.h"

#define PCI_DEVICE_ID_REDHAT_PVPANIC  0x0011
#define PCI_CLASS_SYSTEM_OTHER        0x088000
#define PVPANIC_PCI_REVISION          1
#define PVPANIC_PCI_BAR_SIZE          16
#define PVPANIC_PCI_WIDTH             2

int pvpanic_pci_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    struct pci_device *pci;
    struct pvpanic *p;

    (void)m;
    pci = pci_device_add_cfg(cfg, errp);
    if (!pci) {
        return -EINVAL;
    }
    p = g_new0(struct pvpanic, 1);
    p->events = dev_config_uint(cfg, "events") & PVPANIC_EVENTS;
    p->width = PVPANIC_PCI_WIDTH;
    pci->opaque = p;     /* the bus frees it */
    pci_set_ids(pci, PCI_VENDOR_ID_REDHAT, PCI_DEVICE_ID_REDHAT_PVPANIC,
                PVPANIC_PCI_REVISION, PCI_CLASS_SYSTEM_OTHER);
    return pci_register_bar(pci, 0, 0, PVPANIC_PCI_BAR_SIZE, "pvpanic-pci", &pvpanic_ops, p,
                            errp);
}
