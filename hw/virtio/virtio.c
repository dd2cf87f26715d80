/*
 * The virtio device core: feature negotiation, the status byte, device
 * reset, kicks, the config space and the list of plugged devices (virtio
 * 1.2 sections 2.1-2.5, 3.1).  The queues themselves are in virtqueue.c.
 *
 * Threads: big lock held (vCPU threads for register accesses, the main
 * thread for completions and timers).
 */
#include <stdarg.h>
#include <string.h>

#include "hw/device.h"
#include "hw/virtio/virtio.h"
#include "system/log.h"

/* Plugged devices in creation order. */
static GPtrArray *devices;

void virtio_init(struct virtio_device *vdev, const struct virtio_dev_ops *ops,
                 const struct dev_config *cfg, unsigned nvqs, uint16_t queue_size,
                 uint64_t device_features)
{
    vdev->ops = ops;
    vdev->id = cfg && cfg->id ? g_strdup(cfg->id) : NULL;
    vdev->type_name = cfg ? cfg->type->name : ops->name;
    /* What every hyvm transport and queue supports (section 6). */
    vdev->host_features = device_features | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
                          (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_F_VERSION_1) |
                          (1ull << VIRTIO_F_NOTIFY_ON_EMPTY) | (1ull << VIRTIO_F_ANY_LAYOUT);
    vdev->config = g_malloc0(ops->config_size ? ops->config_size : 1);
    vdev->config_vector = VIRTIO_NO_VECTOR;
    vdev->nvqs = nvqs;
    vdev->vqs = g_new0(struct virtqueue, nvqs);
    for (unsigned i = 0; i < nvqs; i++) {
        struct virtqueue *vq = &vdev->vqs[i];

        vq->vdev = vdev;
        vq->index = i;
        vq->num_max = queue_size;
        virtqueue_reset(vq);
    }
}

static const char *vdev_name(const struct virtio_device *vdev)
{
    return vdev->id ? vdev->id : vdev->type_name;
}

void virtio_error(struct virtio_device *vdev, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    if (vdev->broken) {
        return;     /* logged once until the driver resets the device */
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    log_mask(LOG_GUEST_ERROR, "%s: %s; the device needs a reset\n", vdev_name(vdev), msg);
    vdev->broken = true;
    /* Section 2.1.2: a 1.x driver learns it from DEVICE_NEEDS_RESET and a
     * config change interrupt; a legacy one has no such bit. */
    if (!vdev->legacy && virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
        vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
        virtio_notify_config(vdev);
    }
}

void virtio_notify_config(struct virtio_device *vdev)
{
    /* Section 2.1.2 / 4.x: no interrupts before the driver is ready for them. */
    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    vdev->config_generation++;
    __atomic_or_fetch(&vdev->isr, VIRTIO_ISR_CONFIG, __ATOMIC_SEQ_CST);
    if (vdev->transport) {
        vdev->transport->notify(vdev, vdev->config_vector);
    }
}

bool virtio_set_guest_features(struct virtio_device *vdev, uint64_t features)
{
    if (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK) {
        return false;   /* section 2.2: fixed once FEATURES_OK is set */
    }
    /* A driver may only accept what was offered. */
    vdev->guest_features = features & vdev->host_features;
    if (vdev->ops->set_features) {
        vdev->ops->set_features(vdev, vdev->guest_features);
    }
    return true;
}

void virtio_reset(struct virtio_device *vdev)
{
    if (vdev->ops->reset) {
        vdev->ops->reset(vdev);
    }
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        virtqueue_reset(&vdev->vqs[i]);
    }
    vdev->status = 0;
    vdev->guest_features = 0;
    vdev->isr = 0;
    vdev->broken = false;
    vdev->config_vector = VIRTIO_NO_VECTOR;
    if (vdev->transport && vdev->transport->reset) {
        vdev->transport->reset(vdev);
    }
}

/* Chains made available before DRIVER_OK, without a kick, are taken now. */
static void kick_pending_queues(struct virtio_device *vdev)
{
    for (unsigned i = 0; i < vdev->nvqs && !vdev->broken; i++) {
        struct virtqueue *vq = &vdev->vqs[i];

        if (vq->ready && vq->handle && !virtqueue_empty(vq)) {
            vq->handle(vdev, i);
        }
    }
}

void virtio_set_status(struct virtio_device *vdev, uint8_t status)
{
    uint8_t old = vdev->status;

    if (status == 0) {
        virtio_reset(vdev);
        return;
    }
    /* Section 3.1.1: a 1.x device accepts FEATURES_OK only with VERSION_1. */
    if ((status & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !vdev->legacy && !virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
        log_mask(LOG_GUEST_ERROR, "%s: FEATURES_OK without VERSION_1 refused\n",
                 vdev_name(vdev));
        status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    vdev->status = status | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
    if (vdev->ops->status_changed) {
        vdev->ops->status_changed(vdev, old);
    }
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
        kick_pending_queues(vdev);
    }
}

void virtio_queue_kick(struct virtio_device *vdev, unsigned n)
{
    struct virtqueue *vq;

    if (n >= vdev->nvqs) {
        log_mask(LOG_GUEST_ERROR, "%s: notify of queue %u, it has %u\n", vdev_name(vdev), n,
                 vdev->nvqs);
        return;
    }
    vq = &vdev->vqs[n];
    /* Like QEMU, a kick before DRIVER_OK is served (some drivers fill a
     * control queue first); a broken device ignores kicks until reset. */
    if (!vq->ready || vdev->broken || !vq->handle) {
        return;
    }
    vq->handle(vdev, n);
}

uint64_t virtio_config_read(struct virtio_device *vdev, unsigned offset, unsigned len)
{
    uint64_t v = 0;

    if (len > 8 || offset >= vdev->ops->config_size ||
        len > vdev->ops->config_size - offset) {
        return 0;
    }
    memcpy(&v, vdev->config + offset, len);
    return GUINT64_FROM_LE(v);
}

void virtio_config_write(struct virtio_device *vdev, unsigned offset, uint64_t val,
                         unsigned len)
{
    uint64_t le = GUINT64_TO_LE(val);

    /* A device with nothing writable keeps its config as it is. */
    if (!vdev->ops->config_written || len > 8 || offset >= vdev->ops->config_size ||
        len > vdev->ops->config_size - offset) {
        return;
    }
    memcpy(vdev->config + offset, &le, len);
    vdev->ops->config_written(vdev, offset, len);
}

/* ---- the device list ---- */

void virtio_device_register(struct virtio_device *vdev)
{
    if (!devices) {
        devices = g_ptr_array_new();
    }
    g_ptr_array_add(devices, vdev);
}

struct virtio_device *virtio_device_next(struct virtio_device *prev)
{
    guint i = 0;

    if (!devices) {
        return NULL;
    }
    if (prev) {
        if (!g_ptr_array_find(devices, prev, &i)) {
            return NULL;
        }
        i++;
    }
    return i < devices->len ? g_ptr_array_index(devices, i) : NULL;
}

void virtio_device_free(struct virtio_device *vdev)
{
    if (!vdev) {
        return;
    }
    if (devices) {
        g_ptr_array_remove(devices, vdev);
    }
    if (vdev->ops->cleanup) {
        vdev->ops->cleanup(vdev);
    }
    g_free(vdev->config);
    g_free(vdev->vqs);
    g_free(vdev->id);
    g_free(vdev);   /* the device's struct: vdev is its first member */
}

void virtio_cleanup_all(void)
{
    while (devices && devices->len) {
        virtio_device_free(g_ptr_array_index(devices, devices->len - 1));
    }
    g_clear_pointer(&devices, g_ptr_array_unref);
}
