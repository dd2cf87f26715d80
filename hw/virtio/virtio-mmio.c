/*
 * The virtio-mmio transport (virtio 1.2 section 4.2): the register window
 * of hw/virtio/virtio-mmio.h mapped onto the core's calls (virtio.h).
 *
 * Version 2 keeps what the driver writes for a queue (QueueNum, the three
 * ring addresses) in the transport until it writes QueueReady = 1, and the
 * two feature words until it sets FEATURES_OK (4.2.3.1, 4.2.3.2).  The
 * legacy version 1 has neither: each DriverFeatures write is final, and
 * writing QueuePFN lays the queue out as one block of guest pages with the
 * used ring at QueueAlign (2.7.2 legacy interfaces, 4.2.4) and enables it;
 * writing 0 to QueuePFN disables it.
 *
 * Under KVM, from DRIVER_OK until the device resets, each queue's
 * QueueNotify write (the queue's index, 4 bytes) signals an ioeventfd
 * that the main loop turns into the kick, so the vCPU does not leave the
 * guest for it (QEMU's ioeventfd=on, the default; -global
 * virtio-mmio.ioeventfd=off keeps kicks on the register path).
 *
 * Threads: see virtio-mmio.h; all of it runs with the big lock held.
 */
#include <errno.h>
#include <string.h>

#include "accel/accel.h"
#include "hw/device.h"
#include "hw/irq.h"
#include "hw/virtio/virtio-ioeventfd.h"
#include "hw/virtio/virtio-mmio.h"
#include "hw/virtio/virtio.h"
#include "machine/machine.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

/* Legacy default for QueueAlign and the page size Linux writes (4.2.4). */
#define VIRTIO_MMIO_LEGACY_ALIGN 4096

/*
 * Feature bits only a legacy driver may see (virtio 1.2 section 6.3):
 * QEMU hides them from a version 2 driver.
 */
#define VIRTIO_MMIO_LEGACY_ONLY_FEATURES                                       \
    ((1ull << VIRTIO_F_NOTIFY_ON_EMPTY) | (1ull << VIRTIO_F_ANY_LAYOUT) |      \
     (1ull << VIRTIO_F_BAD_FEATURE))

/* What the driver wrote for one queue before enabling it. */
struct virtio_mmio_queue {
    uint32_t num;
    uint64_t desc, driver, device;   /* version 2 */
    uint32_t align, pfn;             /* legacy */
};

struct virtio_mmio {
    uint64_t base;
    unsigned gsi;
    bool legacy;
    bool level;                      /* the line as last set */
    struct virtio_device *vdev;      /* NULL: an empty transport */
    struct virtio_mmio_queue *queues;
    struct virtio_ioeventfd *efds;   /* one per queue */
    unsigned nqueues;                /* vdev->nvqs */
    uint32_t device_features_sel;
    uint32_t driver_features_sel;
    uint32_t driver_features[2];     /* version 2: taken at FEATURES_OK */
    uint32_t queue_sel;
    unsigned page_shift;             /* legacy GuestPageSize, as a shift */
    bool ioeventfd;                  /* the ioeventfd property, off after a failure */
    bool efd_on;                     /* the queues' ioeventfds are assigned */
    const struct accel_ops *accel;   /* ioeventfds; NULL without a machine */
};

static GPtrArray *virtio_mmio_list;    /* struct virtio_mmio *, in creation order */

/* ---- interrupt ---- */

static void virtio_mmio_set_level(struct virtio_mmio *t, bool level)
{
    if (t->level != level) {
        t->level = level;
        irq_set_level(t->gsi, level);
    }
}

/* 4.2.2 InterruptStatus: the line follows it. */
static void virtio_mmio_update_irq(struct virtio_mmio *t)
{
    virtio_mmio_set_level(t, t->vdev && t->vdev->isr != 0);
}

/* ---- the core's transport hooks ---- */

static void virtio_mmio_notify(struct virtio_device *vdev, uint16_t vector)
{
    virtio_mmio_update_irq(vdev->transport_opaque);
}

static void virtio_mmio_queues_reset(struct virtio_mmio *t)
{
    for (unsigned i = 0; t->vdev && i < t->vdev->nvqs; i++) {
        struct virtio_mmio_queue *q = &t->queues[i];

        q->num = t->vdev->vqs[i].num_max;
        q->desc = q->driver = q->device = 0;
        q->align = VIRTIO_MMIO_LEGACY_ALIGN;
        q->pfn = 0;
    }
}

/* ---- ioeventfd (KVM): kicks that do not stop the vCPU ---- */

/* Queue n's QueueNotify write, matched by the value (4.2.2: the queue index). */
static int virtio_mmio_ioeventfd_set(void *opaque, unsigned n, bool assign)
{
    struct virtio_mmio *t = opaque;
    const struct accel_ioeventfd e = {
        .addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4, .datamatch = true, .data = n,
        .fd = t->efds[n].fd,
    };

    return t->accel->ioeventfd(&e, assign);
}

/*
 * The ioeventfds follow DRIVER_OK, as QEMU starts and stops them.  Kicks
 * that arrived while they were assigned are served when they go.  A
 * backend that refuses leaves kicks on the register path.
 */
static void virtio_mmio_ioeventfd_update(struct virtio_mmio *t)
{
    bool on = t->ioeventfd && t->accel && t->accel->ioeventfd &&
              (t->vdev->status & VIRTIO_CONFIG_S_DRIVER_OK);

    if (on == t->efd_on) {
        return;
    }
    if (t->efd_on) {
        virtio_ioeventfd_stop(t->efds, t->nqueues, virtio_mmio_ioeventfd_set, t);
        t->efd_on = false;
        return;
    }
    if (!virtio_ioeventfd_start(t->efds, t->nqueues, virtio_mmio_ioeventfd_set, t)) {
        warn_report("virtio-mmio@0x%" G_GINT64_MODIFIER "x: ioeventfd is not available; "
                    "kicks take the slow path", t->base);
        t->ioeventfd = false;
        return;
    }
    t->efd_on = true;
}

/*
 * Device reset (status 0 or the core's): queues and the driver's feature
 * words are forgotten, the line goes low.  The selectors and the legacy
 * page size stay: Linux writes GuestPageSize once at probe, before the
 * reset that starts every driver (QEMU keeps them too).
 */
static void virtio_mmio_device_reset(struct virtio_device *vdev)
{
    struct virtio_mmio *t = vdev->transport_opaque;

    virtio_mmio_queues_reset(t);
    t->driver_features[0] = t->driver_features[1] = 0;
    virtio_mmio_set_level(t, false);
    virtio_mmio_ioeventfd_update(t);
}

static const struct virtio_transport_ops virtio_mmio_transport_ops = {
    .name = "virtio-mmio",
    .notify = virtio_mmio_notify,
    .reset = virtio_mmio_device_reset,
};

/* ---- registers ---- */

/* A driver mistake, under -d guest_errors (fmt: a string literal). */
#define virtio_mmio_guest_error(t, fmt, ...)                                       \
    log_mask(LOG_GUEST_ERROR, "virtio-mmio@0x%" G_GINT64_MODIFIER "x: " fmt "\n", \
             (t)->base, __VA_ARGS__)

/* The selected queue, NULL when QueueSel names none. */
static struct virtqueue *virtio_mmio_vq(const struct virtio_mmio *t)
{
    return t->queue_sel < t->vdev->nvqs ? &t->vdev->vqs[t->queue_sel] : NULL;
}

static uint32_t virtio_mmio_device_features(const struct virtio_mmio *t)
{
    uint64_t f = t->vdev->host_features;

    /* Legacy has one feature word (4.2.4): no VERSION_1 or anything above. */
    if (t->legacy) {
        return t->device_features_sel ? 0 : (uint32_t)f;
    }
    f &= ~VIRTIO_MMIO_LEGACY_ONLY_FEATURES;
    return t->device_features_sel < 2 ? (uint32_t)(f >> (32 * t->device_features_sel)) : 0;
}

/* A version 2 register read or written by a legacy driver, or the reverse. */
static bool virtio_mmio_wrong_version(const struct virtio_mmio *t, unsigned offset,
                                      bool legacy_reg)
{
    if (t->legacy == legacy_reg) {
        return false;
    }
    virtio_mmio_guest_error(t, "register 0x%03x does not exist in %s mode", offset,
                            t->legacy ? "legacy" : "non-legacy");
    return true;
}

static uint32_t virtio_mmio_reg_read(struct virtio_mmio *t, unsigned offset)
{
    struct virtio_device *vdev = t->vdev;
    struct virtqueue *vq = virtio_mmio_vq(t);

    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return t->legacy ? 1 : 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return vdev->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return virtio_mmio_device_features(t);
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return vq ? vq->num_max : 0;   /* 0: the queue does not exist */
    case VIRTIO_MMIO_QUEUE_PFN:
        if (virtio_mmio_wrong_version(t, offset, true)) {
            return 0;
        }
        return vq && vq->ready ? t->queues[t->queue_sel].pfn : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        if (virtio_mmio_wrong_version(t, offset, false)) {
            return 0;
        }
        return vq && vq->ready;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return vdev->isr;
    case VIRTIO_MMIO_STATUS:
        return vdev->status;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        if (virtio_mmio_wrong_version(t, offset, false)) {
            return 0;
        }
        return vdev->config_generation;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        /* No shared memory regions: a length of -1 says so (4.2.2). */
        if (virtio_mmio_wrong_version(t, offset, false)) {
            return 0;
        }
        return UINT32_MAX;
    default:
        virtio_mmio_guest_error(t, "read of write-only or unknown register 0x%03x", offset);
        return 0;
    }
}

static void virtio_mmio_driver_features(struct virtio_mmio *t, uint32_t v)
{
    if (t->legacy) {
        /* One word, acked as written (4.2.4); the high word does not exist. */
        if (!t->driver_features_sel) {
            virtio_set_guest_features(t->vdev, v);
        }
    } else if (t->driver_features_sel < 2) {
        t->driver_features[t->driver_features_sel] = v;
    }
}

/*
 * Legacy QueuePFN (2.7.2 legacy interfaces): descriptors at the page
 * number, the available ring right after them, the used ring at the next
 * QueueAlign boundary.  0 turns the queue off.
 */
static void virtio_mmio_legacy_layout(struct virtio_mmio *t, struct virtqueue *vq)
{
    const struct virtio_mmio_queue *q = &t->queues[vq->index];
    uint64_t align = q->align;

    if (vq->ready) {
        virtqueue_disable(vq);
    }
    if (!q->pfn) {
        return;
    }
    if (!align || (align & (align - 1))) {
        virtio_mmio_guest_error(t, "queue %u: QueueAlign %u is not a power of two",
                                vq->index, q->align);
        return;
    }
    vq->num = q->num <= VIRTQUEUE_MAX_SIZE ? q->num : 0;
    vq->desc = (uint64_t)q->pfn << t->page_shift;
    vq->avail = vq->desc + vring_desc_size(vq->num);
    vq->used = (vq->avail + vring_avail_size(vq->num) + align - 1) & ~(align - 1);
    virtqueue_enable(vq);
}

/* Version 2 QueueReady (4.2.3.2): the queue takes what the driver wrote. */
static void virtio_mmio_set_ready(struct virtio_mmio *t, struct virtqueue *vq, uint32_t v)
{
    const struct virtio_mmio_queue *q = &t->queues[vq->index];

    if (!v) {
        virtqueue_disable(vq);
        return;
    }
    if (vq->ready) {
        return;
    }
    vq->num = q->num <= VIRTQUEUE_MAX_SIZE ? q->num : 0;
    vq->desc = q->desc;
    vq->avail = q->driver;
    vq->used = q->device;
    virtqueue_enable(vq);
}

/* The low or high half of a version 2 ring address. */
static void virtio_mmio_set_addr(uint64_t *addr, unsigned offset, uint32_t v)
{
    if (offset & 4) {
        *addr = (*addr & UINT32_MAX) | (uint64_t)v << 32;
    } else {
        *addr = (*addr & ~(uint64_t)UINT32_MAX) | v;
    }
}

static void virtio_mmio_queue_write(struct virtio_mmio *t, unsigned offset, uint32_t v)
{
    struct virtqueue *vq = virtio_mmio_vq(t);
    struct virtio_mmio_queue *q;
    bool legacy_reg = offset == VIRTIO_MMIO_QUEUE_ALIGN || offset == VIRTIO_MMIO_QUEUE_PFN;

    if (offset != VIRTIO_MMIO_QUEUE_NUM && virtio_mmio_wrong_version(t, offset, legacy_reg)) {
        return;
    }
    if (!vq) {
        virtio_mmio_guest_error(t, "register 0x%03x written for queue %u, which does not "
                                "exist", offset, t->queue_sel);
        return;
    }
    q = &t->queues[vq->index];
    switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM:
        q->num = v;
        break;
    case VIRTIO_MMIO_QUEUE_ALIGN:
        q->align = v;
        break;
    case VIRTIO_MMIO_QUEUE_PFN:
        q->pfn = v;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        virtio_mmio_set_ready(t, vq, v);
        return;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        virtio_mmio_set_addr(&q->desc, offset, v);
        return;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        virtio_mmio_set_addr(&q->driver, offset, v);
        return;
    default:
        virtio_mmio_set_addr(&q->device, offset, v);
        return;
    }
    /* A legacy queue's layout follows each of its three registers. */
    if (t->legacy && (q->pfn || vq->ready)) {
        virtio_mmio_legacy_layout(t, vq);
    }
}

static void virtio_mmio_set_status(struct virtio_mmio *t, uint8_t status)
{
    struct virtio_device *vdev = t->vdev;

    /* 4.2.3.1: the driver's feature words count once it sets FEATURES_OK. */
    if (!t->legacy && (status & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        virtio_set_guest_features(vdev, (uint64_t)t->driver_features[1] << 32 |
                                        t->driver_features[0]);
    }
    virtio_set_status(vdev, status);
    virtio_mmio_ioeventfd_update(t);
}

static void virtio_mmio_reg_write(struct virtio_mmio *t, unsigned offset, uint32_t v)
{
    struct virtio_device *vdev = t->vdev;

    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->device_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        virtio_mmio_driver_features(t, v);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->driver_features_sel = v;
        break;
    case VIRTIO_MMIO_GUEST_PAGE_SIZE:
        if (!virtio_mmio_wrong_version(t, offset, true)) {
            /* A power of two (4.2.4); QEMU takes its lowest set bit. */
            t->page_shift = v ? (unsigned)__builtin_ctz(v) : 0;
        }
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        t->queue_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_ALIGN:
    case VIRTIO_MMIO_QUEUE_PFN:
    case VIRTIO_MMIO_QUEUE_READY:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        virtio_mmio_queue_write(t, offset, v);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (v < vdev->nvqs) {
            virtio_queue_kick(vdev, v);
        } else {
            virtio_mmio_guest_error(t, "QueueNotify for queue %u, which does not exist", v);
        }
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        __atomic_and_fetch(&vdev->isr, ~v, __ATOMIC_SEQ_CST);
        virtio_mmio_update_irq(t);
        break;
    case VIRTIO_MMIO_STATUS:
        virtio_mmio_set_status(t, v);
        break;
    case VIRTIO_MMIO_SHM_SEL:
        virtio_mmio_wrong_version(t, offset, false);
        break;
    default:
        virtio_mmio_guest_error(t, "write of read-only or unknown register 0x%03x", offset);
        break;
    }
}

/*
 * An empty transport (QEMU's behaviour): magic, version and vendor read
 * as usual so Linux's probe accepts the window, device ID 0 so no driver
 * claims it; everything else reads 0 and writes are dropped.
 */
static uint64_t virtio_mmio_empty_read(const struct virtio_mmio *t, uint64_t offset)
{
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return t->legacy ? 1 : 2;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    default:
        return 0;
    }
}

static uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_mmio *t = opaque;

    if (!t->vdev) {
        return virtio_mmio_empty_read(t, offset);
    }
    if (offset >= VIRTIO_MMIO_CONFIG) {
        return virtio_config_read(t->vdev, offset - VIRTIO_MMIO_CONFIG, size);
    }
    /* 4.2.2: registers are 32 bits wide, and so is every access to them. */
    if (size != 4 || (offset & 3)) {
        virtio_mmio_guest_error(t, "%u-byte read at 0x%03x: registers take aligned 32-bit "
                                "accesses", size, (unsigned)offset);
        return 0;
    }
    return virtio_mmio_reg_read(t, offset);
}

static void virtio_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct virtio_mmio *t = opaque;

    if (!t->vdev) {
        return;
    }
    if (offset >= VIRTIO_MMIO_CONFIG) {
        virtio_config_write(t->vdev, offset - VIRTIO_MMIO_CONFIG, value, size);
        return;
    }
    if (size != 4 || (offset & 3)) {
        virtio_mmio_guest_error(t, "%u-byte write at 0x%03x: registers take aligned 32-bit "
                                "accesses", size, (unsigned)offset);
        return;
    }
    virtio_mmio_reg_write(t, offset, value);
}

static const struct io_ops virtio_mmio_io_ops = {
    .read = virtio_mmio_read,
    .write = virtio_mmio_write,
};

/* ---- transports ---- */

/* A -global virtio-mmio.NAME, else the device table's default. */
static bool virtio_mmio_global_bool(const char *name)
{
    const struct device_type *type = device_type_find("virtio-mmio");
    const struct dev_config cfg = { .type = type };

    return !type || dev_config_bool(&cfg, name);
}

struct virtio_mmio *virtio_mmio_create(uint64_t base, unsigned gsi, bool legacy,
                                       GError **errp)
{
    struct virtio_mmio *t = g_new0(struct virtio_mmio, 1);

    t->base = base;
    t->gsi = gsi;
    t->legacy = legacy;
    t->ioeventfd = virtio_mmio_global_bool("ioeventfd");
    if (io_register_mmio(base, VIRTIO_MMIO_SIZE, "virtio-mmio", &virtio_mmio_io_ops, t,
                         errp) < 0) {
        g_free(t);
        return NULL;
    }
    if (!virtio_mmio_list) {
        virtio_mmio_list = g_ptr_array_new();
    }
    g_ptr_array_add(virtio_mmio_list, t);
    return t;
}

bool virtio_mmio_force_legacy(void)
{
    return virtio_mmio_global_bool("force-legacy");
}

struct virtio_mmio *virtio_mmio_at(unsigned i)
{
    return virtio_mmio_list && i < virtio_mmio_list->len ?
           g_ptr_array_index(virtio_mmio_list, i) : NULL;
}

uint64_t virtio_mmio_get_base(const struct virtio_mmio *t)
{
    return t->base;
}

unsigned virtio_mmio_get_gsi(const struct virtio_mmio *t)
{
    return t->gsi;
}

struct virtio_device *virtio_mmio_get_device(const struct virtio_mmio *t)
{
    return t->vdev;
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
    if (t->vdev) {
        virtio_reset(t->vdev);
    }
    t->device_features_sel = 0;
    t->driver_features_sel = 0;
    t->queue_sel = 0;
    t->page_shift = 0;
    virtio_mmio_set_level(t, false);
}

/* QEMU's bus search meets the transports from the last created down. */
int virtio_mmio_plug(struct machine *m, const struct dev_config *cfg,
                     struct virtio_device *vdev, GError **errp)
{
    for (unsigned i = virtio_mmio_list ? virtio_mmio_list->len : 0; i-- > 0;) {
        struct virtio_mmio *t = g_ptr_array_index(virtio_mmio_list, i);

        if (t->vdev) {
            continue;
        }
        t->vdev = vdev;
        t->accel = m ? m->accel : NULL;
        t->queues = g_new0(struct virtio_mmio_queue, vdev->nvqs);
        t->efds = g_new(struct virtio_ioeventfd, vdev->nvqs);
        t->nqueues = vdev->nvqs;
        for (unsigned q = 0; q < vdev->nvqs; q++) {
            virtio_ioeventfd_init(&t->efds[q], vdev, q);
        }
        virtio_mmio_queues_reset(t);
        vdev->transport = &virtio_mmio_transport_ops;
        vdev->transport_opaque = t;
        vdev->legacy = t->legacy;
        return 0;
    }
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "No 'virtio-bus' bus found for device '%s'",
                cfg->type->name);
    return -ENODEV;
}

void virtio_mmio_destroy_all(void)
{
    for (unsigned i = 0; virtio_mmio_list && i < virtio_mmio_list->len; i++) {
        struct virtio_mmio *t = g_ptr_array_index(virtio_mmio_list, i);

        /* The devices may be gone already (virtio_cleanup_all). */
        virtio_ioeventfd_destroy(t->efds, t->nqueues);
        g_free(t->efds);
        g_free(t->queues);
        g_free(t);
    }
    if (virtio_mmio_list) {
        g_ptr_array_free(virtio_mmio_list, TRUE);
        virtio_mmio_list = NULL;
    }
}
