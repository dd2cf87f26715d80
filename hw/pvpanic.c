/*
 * pvpanic (ISA): the port through which a guest kernel reports a panic
 * (QEMU's docs/specs/pvpanic.rst).  A read returns the events the device
 * offers (the "events" property: bit 0 panicked, bit 1 crash kernel
 * loaded); a write of bit 0 is a guest panic (GUEST_PANICKED, then the VM
 * powers off with reason guest-panic, or pauses in "guest-panicked" with
 * -no-shutdown), a write of bit 1 only reports GUEST_CRASHLOADED.
 *
 * Threads: accessed by vCPU threads with the big lock held; the run state
 * acts on the request on the main thread.
 */
#include <errno.h>
#include <stdint.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "system/error.h"
#include "system/memory.h"
#include "system/runstate.h"

#define PVPANIC_PANICKED      (1u << 0)
#define PVPANIC_CRASH_LOADED  (1u << 1)

struct pvpanic {
    uint8_t events;
};

static uint64_t pvpanic_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pvpanic *p = opaque;

    return p->events;
}

static void pvpanic_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pvpanic *p = opaque;
    uint8_t ev = value & p->events;

    if (ev & PVPANIC_PANICKED) {
        vm_request_panic();
    } else if (ev & PVPANIC_CRASH_LOADED) {
        vm_report_crashloaded();
    }
}

static const struct io_ops pvpanic_ops = {
    .read = pvpanic_read,
    .write = pvpanic_write,
};

int pvpanic_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    uint64_t ioport = dev_config_uint(cfg, "ioport");
    uint64_t events = dev_config_uint(cfg, "events");
    struct pvpanic *p;
    int ret;

    if (ioport > 0xffff) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "pvpanic: ioport 0x%" G_GINT64_MODIFIER "x is outside the I/O space",
                    ioport);
        return -EINVAL;
    }
    p = g_new0(struct pvpanic, 1);
    p->events = events & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
    ret = io_register_pio(ioport, 1, "pvpanic", &pvpanic_ops, p, errp);
    if (ret < 0) {
        g_free(p);
    }
    return ret;
}
