/*
 * virtio-rng (virtio 1.2 section 5.4).  The driver posts device-writable
 * buffers on the request queue; the device takes them, asks its back end
 * for as many bytes as they hold (at most the rate limit's remaining
 * quota), and when the bytes come fills the buffers in order and gives
 * them back.  A buffer the bytes only partly cover goes back with what it
 * got, as QEMU does; buffers no bytes reached wait for the next delivery.
 *
 * Rate limit, QEMU's: at most max-bytes per period milliseconds.  The
 * period starts at the first request after the previous one ended; when
 * it ends the quota is full again and waiting buffers are served.
 *
 * Threads: big lock held.  The queue handler runs on a vCPU thread (or
 * the main thread at DRIVER_OK); deliveries and the timer on the main
 * loop.  Requests never wait in a handler: the back end answers later.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hw/device.h"
#include "hw/virtio/rng-backend.h"
#include "hw/virtio/virtio-rng.h"
#include "hw/virtio/virtio.h"
#include "system/error.h"

#include "system/container-of.h"

struct virtio_rng {
    struct virtio_device vdev;      /* first: the core frees the struct through it */
    struct rng_backend *rng;
    bool own_rng;                   /* the default rng-builtin, freed with the device */
    uint64_t max_bytes;             /* per period, below 2^63 */
    uint32_t period_ms;
    int64_t quota;                  /* bytes left in this period */
    guint timer;                    /* the period's end, 0 while none runs */
    bool requested;                 /* a back-end request is outstanding */
    GQueue pending;                 /* struct virtq_elem *: taken, not filled yet */
    uint64_t pending_bytes;         /* device-writable bytes of pending */
};

static struct virtio_rng *to_rng(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_rng, vdev);
}

static bool virtio_rng_ready(struct virtio_rng *s)
{
    return virtio_driver_ok(&s->vdev) && s->vdev.vqs[0].ready;
}

static void virtio_rng_drop_pending(struct virtio_rng *s)
{
    g_queue_clear_full(&s->pending, g_free);
    s->pending_bytes = 0;
}

static void virtio_rng_process(struct virtio_rng *s);

static gboolean virtio_rng_period_end(gpointer opaque)
{
    struct virtio_rng *s = opaque;

    s->timer = 0;
    s->quota = (int64_t)s->max_bytes;
    virtio_rng_process(s);
    return G_SOURCE_REMOVE;
}

/*
 * Takes buffers while they would not exceed the quota.  Section 5.4.6.1:
 * the driver must not post device-readable buffers; one that does is a
 * guest error.
 */
static bool virtio_rng_take_buffers(struct virtio_rng *s)
{
    struct virtqueue *vq = &s->vdev.vqs[0];
    struct virtq_elem *elem;

    while (s->pending_bytes < (uint64_t)s->quota && (elem = virtqueue_pop(vq, sizeof(*elem)))) {
        if (elem->out_num || !elem->in_num) {
            virtio_error(&s->vdev, "request with %u device-readable and %u writable buffers",
                         elem->out_num, elem->in_num);
            g_free(elem);
            virtio_rng_drop_pending(s);
            return false;
        }
        g_queue_push_tail(&s->pending, elem);
        s->pending_bytes += iov_size(elem->in_sg, elem->in_num);
    }
    return !s->vdev.broken;
}

static void virtio_rng_receive(void *opaque, const uint8_t *buf, size_t len);

static void virtio_rng_process(struct virtio_rng *s)
{
    uint64_t size;

    if (!virtio_rng_ready(s) || s->requested) {
        return;
    }
    if (!s->timer) {
        s->timer = g_timeout_add(s->period_ms, virtio_rng_period_end, s);
    }
    if (s->quota <= 0 || !virtio_rng_take_buffers(s)) {
        return;
    }
    size = MIN(s->pending_bytes, (uint64_t)s->quota);
    if (size) {
        s->requested = true;
        rng_backend_request(s->rng, MIN(size, RNG_BACKEND_MAX_CHUNK), virtio_rng_receive, s);
    }
}

/* The back end's bytes: into the waiting buffers, in the order taken. */
static void virtio_rng_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_rng *s = opaque;
    struct virtqueue *vq = &s->vdev.vqs[0];
    size_t off = 0;

    s->requested = false;
    if (!virtio_rng_ready(s)) {
        return;
    }
    s->quota -= (int64_t)len;
    while (off < len && !g_queue_is_empty(&s->pending)) {
        struct virtq_elem *elem = g_queue_pop_head(&s->pending);
        size_t room = iov_size(elem->in_sg, elem->in_num);
        size_t n = iov_from_buf(elem->in_sg, elem->in_num, 0, buf + off, len - off);

        s->pending_bytes -= room;
        virtqueue_push(vq, elem, (uint32_t)n);
        g_free(elem);
        off += n;
    }
    virtqueue_notify(vq);
    virtio_rng_process(s);
}

static void virtio_rng_handle(struct virtio_device *vdev, unsigned queue)
{
    virtio_rng_process(to_rng(vdev));
}

static void virtio_rng_status_changed(struct virtio_device *vdev, uint8_t old_status)
{
    virtio_rng_process(to_rng(vdev));
}

/* Section 2.1.2 reset: what was taken is forgotten with the rings. */
static void virtio_rng_reset(struct virtio_device *vdev)
{
    struct virtio_rng *s = to_rng(vdev);

    if (s->rng) {
        rng_backend_cancel(s->rng, s);
    }
    s->requested = false;
    virtio_rng_drop_pending(s);
}

static void virtio_rng_cleanup(struct virtio_device *vdev)
{
    struct virtio_rng *s = to_rng(vdev);

    virtio_rng_reset(vdev);
    if (s->timer) {
        g_source_remove(s->timer);
        s->timer = 0;
    }
    if (s->own_rng) {
        rng_backend_free(s->rng);
    }
}

static const struct virtio_dev_ops virtio_rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .pci_class = 0x00ff00,      /* QEMU's PCI_CLASS_OTHERS: "Class 0255" */
    .config_size = 0,           /* section 5.4.4: no configuration */
    .status_changed = virtio_rng_status_changed,
    .reset = virtio_rng_reset,
    .cleanup = virtio_rng_cleanup,
};

/* ---- realize ---- */

static int virtio_rng_parse(struct virtio_rng *s, const struct dev_config *cfg, GError **errp)
{
    const char *id = dev_config_str(cfg, "rng");

    s->max_bytes = dev_config_uint(cfg, "max-bytes");
    s->period_ms = (uint32_t)dev_config_uint(cfg, "period");
    if (!s->period_ms) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "'period' parameter expects a positive integer");
        return -EINVAL;
    }
    if (s->max_bytes > G_MAXINT64) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "'max-bytes' parameter must be non-negative, and less than 2^63");
        return -EINVAL;
    }
    s->quota = (int64_t)s->max_bytes;
    if (id) {
        s->rng = rng_backend_find(id);
        if (!s->rng) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Device '%s' not found", id);
            return -ENOENT;
        }
    } else {
        /* QEMU 7.2 gives a device without rng= its own rng-builtin. */
        s->rng = rng_backend_new_builtin();
        s->own_rng = true;
    }
    return rng_backend_open(s->rng, errp);
}

struct virtio_device *virtio_rng_new(const struct dev_config *cfg, GError **errp)
{
    struct virtio_rng *s = g_new0(struct virtio_rng, 1);

    g_queue_init(&s->pending);
    virtio_init(&s->vdev, &virtio_rng_ops, cfg, 1, VIRTIO_RNG_QUEUE_SIZE, 0);
    s->vdev.vqs[0].handle = virtio_rng_handle;
    if (virtio_rng_parse(s, cfg, errp) < 0) {
        virtio_device_free(&s->vdev);
        return NULL;
    }
    return &s->vdev;
}

int virtio_rng_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    return virtio_plug_new(m, cfg, virtio_rng_new(cfg, errp), errp);
}
