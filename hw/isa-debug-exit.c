/*
 * isa-debug-exit: a port that ends hyvm with an exit status the guest
 * chooses, for test programs (kvm-unit-tests, the guests in tests/guests).
 *
 * A write of v exits with (v << 1) | 1, so a guest can never fake a clean
 * exit 0.  As in QEMU, the value is the whole access (outb, outw or outl,
 * within iosize) and the offset inside the range does not matter; an access
 * wider than the range reaches the device byte by byte (system/memory.c),
 * and the first byte's request wins.  The process keeps the low 8 bits of
 * the status, so for exit codes only bits 0-6 of v count either way.
 * Reads return 0.
 *
 * Threads: the write comes from a vCPU thread with the big lock held;
 * vm_request_exit() only records the request for the main loop.
 */
#include <errno.h>
#include <stdint.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "system/error.h"
#include "system/memory.h"
#include "system/runstate.h"

struct isa_debug_exit {
    uint16_t iobase;
    uint16_t iosize;
};

static uint64_t isa_debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void isa_debug_exit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    /* exit(2) keeps 8 bits; the int carries the low 32 as QEMU's exit() call does. */
    uint32_t status = ((uint32_t)value << 1) | 1;

    vm_request_exit((int)status, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
}

static const struct io_ops isa_debug_exit_ops = {
    .read = isa_debug_exit_read,
    .write = isa_debug_exit_write,
};

int isa_debug_exit_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    uint64_t iobase = dev_config_uint(cfg, "iobase");
    uint64_t iosize = dev_config_uint(cfg, "iosize");
    struct isa_debug_exit *d;
    int ret;

    if (iobase > 0xffff || iosize > 0x10000 - iobase) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "isa-debug-exit: iobase 0x%" G_GINT64_MODIFIER "x, iosize 0x%"
                    G_GINT64_MODIFIER "x is outside the I/O space", iobase, iosize);
        return -EINVAL;
    }
    if (!iosize) {
        /* QEMU accepts an empty range; the device then answers nowhere. */
        return 0;
    }
    d = g_new0(struct isa_debug_exit, 1);
    d->iobase = iobase;
    d->iosize = iosize;
    ret = io_register_pio(d->iobase, d->iosize, "isa-debug-exit", &isa_debug_exit_ops, d,
                          errp);
    if (ret < 0) {
        g_free(d);
    }
    return ret;
}
