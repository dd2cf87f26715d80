/*
 * Which transport a virtio device goes on: the bus its -device type names
 * ("PCI" for virtio-*-pci, "virtio-bus" for virtio-*-device on microvm's
 * virtio-mmio transports).  Kept apart from the core so that the core and
 * its tests do not pull in both transports.
 *
 * Threads: main thread, while the machine is built.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "hw/device.h"
#include "hw/virtio/virtio.h"
#include "system/error.h"

int virtio_plug(struct machine *m, const struct dev_config *cfg, struct virtio_device *vdev,
                GError **errp)
{
    const char *bus = cfg->type->bus;
    int ret;

    if (!strcmp(bus, "PCI")) {
        ret = virtio_pci_plug(m, cfg, vdev, errp);
    } else if (!strcmp(bus, "virtio-bus")) {
        ret = virtio_mmio_plug(m, cfg, vdev, errp);
    } else {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s: no virtio transport for bus %s",
                    cfg->type->name, bus);
        ret = -EINVAL;
    }
    if (ret < 0) {
        return ret;
    }
    virtio_device_register(vdev);
    return 0;
}

int virtio_plug_new(struct machine *m, const struct dev_config *cfg, struct virtio_device *vdev,
                    GError **errp)
{
    int ret;

    if (!vdev) {
        return -EINVAL;
    }
    ret = virtio_plug(m, cfg, vdev, errp);
    if (ret < 0) {
        virtio_device_free(vdev);
    }
    return ret;
}

int virtio_fail(GError **errp, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, HYVM_ERROR, HYVM_ERROR_FAILED, msg);
    g_free(msg);
    return -EINVAL;
}
