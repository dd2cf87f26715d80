/*
 * isa-debugcon: Bochs' port 0xe9 console.  A byte written to the port goes
 * to the chardev; a read returns "readback" (0xe9 by default), which is how
 * a guest (SeaBIOS, OVMF) tells that the port is there.
 *
 * Like QEMU's, the port is one byte wide: a wider OUT reaches it as its low
 * byte, the rest falls on the unclaimed ports after it (system/memory.c).
 *
 * Threads: writes come from vCPU threads with the big lock held.
 */
#include <errno.h>
#include <stdint.h>

#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/devices.h"
#include "system/error.h"
#include "system/memory.h"

struct debugcon {
    struct char_fe fe;
    uint8_t readback;
};

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
    struct debugcon *d = opaque;

    return d->readback;
}

static void debugcon_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct debugcon *d = opaque;
    uint8_t ch = value;

    chr_fe_write_all(&d->fe, &ch, 1);
}

static const struct io_ops debugcon_ops = {
    .read = debugcon_read,
    .write = debugcon_write,
};

int debugcon_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    uint64_t iobase = dev_config_uint(cfg, "iobase");
    const char *id = dev_config_str(cfg, "chardev");
    struct chardev *chr;
    struct debugcon *d;
    int ret;

    if (!id || !*id) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Can't create debugcon device, empty char device");
        return -EINVAL;
    }
    chr = chardev_find(id);
    if (!chr) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Property 'isa-debugcon.chardev' can't find value '%s'", id);
        return -ENOENT;
    }
    if (iobase > 0xffff) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "isa-debugcon: iobase 0x%" G_GINT64_MODIFIER "x is outside the I/O space",
                    iobase);
        return -EINVAL;
    }
    d = g_new0(struct debugcon, 1);
    /* QEMU's readback is a uint32 of which a byte read sees the low 8 bits. */
    d->readback = dev_config_uint(cfg, "readback");
    ret = chr_fe_init(&d->fe, chr, errp);
    if (ret < 0) {
        g_free(d);
        return ret;
    }
    ret = io_register_pio(iobase, 1, "debugcon", &debugcon_ops, d, errp);
    if (ret < 0) {
        chr_fe_deinit(&d->fe);
        g_free(d);
    }
    return ret;
}
