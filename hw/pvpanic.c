/*
 * pvpanic (ISA): the port through which a guest kernel reports a panic
 * (QEMU's docs/specs/pvpanic.rst), and the event register that the PCI
 * and MMIO transports share (hw/pvpanic.h).  A read returns the events
 * the device offers (the "events" property: bit 0 panicked, bit 1 crash
 * kernel loaded); a write of bit 0 is a guest panic (GUEST_PANICKED, then
 * what -action panic= says), a write of bit 1 only reports
 * GUEST_CRASHLOADED.
 *
 * Guests find the port as QEMU 7.2's pvpanic-isa shows it: the DSDT's
 * QEMU0001 device "PEVT" (machine/acpi-build.c; Linux's pvpanic-mmio
 * driver binds to it) and, on -M pc, the fw_cfg file "etc/pvpanic-port"
 * (the port, le16) that firmware reads.
 *
 * Threads: accessed by vCPU threads with the big lock held; the run state
 * acts on the request on the main thread.
 */
#include <errno.h>
#include <stdint.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "hw/fw-cfg.h"
#include "hw/pvpanic.h"
#include "machine/machine.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"

/* QEMU's register is one byte wide (PCI: two) and answers each byte of a
 * wider access; bytes past it read 0, as unclaimed MMIO does. */
static uint64_t pvpanic_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pvpanic *p = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        if (offset + i < p->width) {
            v |= (uint64_t)p->events << (8 * i);
        }
    }
    return v;
}

static void pvpanic_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pvpanic *p = opaque;
    uint8_t ev;

    if (offset >= p->width) {
        return;
    }
    ev = value >> (8 * offset);
    if ((ev & ~p->events) && !p->logged) {
        p->logged = true;
        log_mask(LOG_GUEST_ERROR, "pvpanic: unknown event 0x%x ignored\n", ev & ~p->events);
    }
    ev &= p->events;
    if (ev & PVPANIC_PANICKED) {
        vm_request_panic();
    } else if (ev & PVPANIC_CRASH_LOADED) {
        vm_report_crashloaded();
    }
}

const struct io_ops pvpanic_ops = {
    .read = pvpanic_read,
    .write = pvpanic_write,
};

/* QEMU's pvpanic-isa hands the port to firmware; a second device would
 * take the same file, which QEMU refuses, and so does hyvm. */
static int pvpanic_fw_cfg(struct machine *m, uint16_t ioport, GError **errp)
{
    uint8_t le[2] = { ioport & 0xff, ioport >> 8 };

    if (!m) {
        return 0;       /* unit tests: no board */
    }
    if (m->pvpanic_isa) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "only one pvpanic device: the machine already has one at port 0x%x",
                    m->pvpanic_ioport);
        return -EEXIST;
    }
    return m->fw_cfg ? fw_cfg_add_file(m->fw_cfg, "etc/pvpanic-port", le, sizeof(le), errp) : 0;
}

int pvpanic_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    uint64_t ioport = dev_config_uint(cfg, "ioport");
    struct pvpanic *p;
    int ret;

    if (ioport > 0xffff) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "pvpanic: ioport 0x%" G_GINT64_MODIFIER "x is outside the I/O space",
                    ioport);
        return -EINVAL;
    }
    ret = pvpanic_fw_cfg(m, ioport, errp);
    if (ret < 0) {
        return ret;
    }
    p = g_new0(struct pvpanic, 1);
    p->events = dev_config_uint(cfg, "events") & PVPANIC_EVENTS;
    p->width = 1;
    ret = io_register_pio(ioport, 1, "pvpanic", &pvpanic_ops, p, errp);
    if (ret < 0) {
        g_free(p);
        return ret;
    }
    if (m) {
        m->pvpanic_isa = true;
        m->pvpanic_ioport = ioport;
    }
    return 0;
}
