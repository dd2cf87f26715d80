/*
 * The virtio-pci transport (see hw/virtio/virtio-pci.h): the legacy I/O
 * BAR, the modern BAR with its capabilities, MSI-X, INTx and the PCI
 * configuration access capability, mapped onto the core's calls
 * (hw/virtio/virtio.h).
 *
 * A transitional function serves both interfaces at once; the one the
 * driver writes last is the one vdev->legacy names.  The modern interface
 * keeps what the driver writes for a queue (size, ring addresses) and its
 * feature words here until queue_enable = 1 and FEATURES_OK (4.1.4.3.2,
 * 3.1.1); a legacy write is final: GUEST_FEATURES acks at once, QUEUE_PFN
 * lays the queue out and enables it (4.1.5.1.3.1 legacy interface).
 *
 * Under KVM, once the driver sets DRIVER_OK, each queue's notification
 * address is an ioeventfd (accel_ops.ioeventfd): the vCPU writes it
 * without leaving the guest and the main loop runs the kick.
 *
 * Threads: see virtio-pci.h; all of it runs with the big lock held.
 */
#include <errno.h>
#include <string.h>

#include "accel/accel.h"
#include "hw/device.h"
#include "hw/msix.h"
#include "hw/pci.h"
#include "hw/virtio/virtio-ioeventfd.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio.h"
#include "machine/boot-order.h"
#include "machine/machine.h"
#include "system/error.h"
#include "system/le.h"
#include "system/log.h"
#include "system/memory.h"

/* QEMU's VIRTIO_QUEUE_MAX: queue_select and QUEUE_SEL take values below it. */
#define VIRTIO_PCI_QUEUE_MAX    1024

/* Feature bits a modern driver never sees (virtio 1.2 section 6.3). */
#define VIRTIO_PCI_LEGACY_ONLY_FEATURES                                        \
    ((1ull << VIRTIO_F_NOTIFY_ON_EMPTY) | (1ull << VIRTIO_F_ANY_LAYOUT) |      \
     (1ull << VIRTIO_F_BAD_FEATURE))

const char *const virtio_pci_on_off_auto[] = { "on", "off", "auto", NULL };

/* What a modern driver wrote for a queue before enabling it. */
struct virtio_pci_queue {
    uint16_t num;
    uint64_t desc, driver, device;
};

struct virtio_pci {
    struct pci_device *pci;
    struct virtio_device *vdev;
    bool legacy_io;              /* BAR0: the legacy interface is offered */
    bool modern;                 /* BAR4 and the capabilities */
    bool ioeventfd;              /* the ioeventfd= property, off after a failure */
    const struct accel_ops *accel;   /* ioeventfds; NULL without a machine */
    uint64_t efd_bar0, efd_bar4; /* where the ioeventfds are assigned, or unmapped */
    unsigned efd_mmio_len;       /* 0 (any length) or 2 */
    struct virtio_ioeventfd *efds;   /* one per queue; NULL until plugged */
    unsigned nvectors;           /* MSI-X table size, 0: none */
    unsigned legacy_size;        /* BAR0's size */
    unsigned cfg_cap;            /* config offset of the PCI cfg access capability */
    uint32_t dfselect, gfselect;
    uint32_t guest_features[2];  /* modern: taken at FEATURES_OK */
    uint16_t queue_sel;
    unsigned nqueues;
    struct virtio_pci_queue queues[];   /* vdev->nvqs */
};

/* ---- interrupts ---- */

static void virtio_pci_notify(struct virtio_device *vdev, uint16_t vector)
{
    struct virtio_pci *p = vdev->transport_opaque;

    if (msix_enabled(p->pci)) {
        if (vector != VIRTIO_NO_VECTOR) {
            msix_notify(p->pci, vector);
        }
        return;
    }
    /* INTx follows the ISR (4.1.4.5): high until the driver reads it. */
    pci_set_irq(p->pci, __atomic_load_n(&vdev->isr, __ATOMIC_SEQ_CST) != 0);
}

/* 4.1.4.5: reading the ISR clears it and lowers INTx. */
static uint8_t virtio_pci_isr_read(struct virtio_pci *p)
{
    uint8_t isr = __atomic_exchange_n(&p->vdev->isr, 0, __ATOMIC_SEQ_CST);

    pci_set_irq(p->pci, 0);
    return isr;
}

/* A vector the driver may use: one the MSI-X table holds (4.1.4.3: else
 * the device answers VIRTIO_NO_VECTOR, so the driver learns it failed). */
static uint16_t virtio_pci_vector(const struct virtio_pci *p, uint64_t v)
{
    return v < p->nvectors ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

/* ---- the core's transport hooks ---- */

static void virtio_pci_queues_reset(struct virtio_pci *p)
{
    for (unsigned i = 0; i < p->nqueues; i++) {
        struct virtio_pci_queue *q = &p->queues[i];

        q->num = p->vdev->vqs[i].num_max;
        q->desc = q->driver = q->device = 0;
    }
}

/* ---- ioeventfd (KVM): kicks that do not stop the vCPU ---- */

/*
 * Queue n's notifications as QEMU registers them: the modern one by
 * address (notify + 4 * n, any length where KVM takes it, else 2 bytes),
 * the legacy QUEUE_NOTIFY port by the value written (4.1.4.8).
 */
static int virtio_pci_ioeventfd_one(struct virtio_pci *p, unsigned n, uint64_t bar0,
                                    uint64_t bar4, bool assign)
{
    struct accel_ioeventfd e = { .fd = p->efds[n].fd };
    int ret = 0;

    if (bar4 != PCI_BAR_UNMAPPED) {
        e.addr = bar4 + VIRTIO_PCI_NOTIFY_OFFSET + VIRTIO_PCI_NOTIFY_MULTIPLIER * n;
        e.len = p->efd_mmio_len;
        ret = p->accel->ioeventfd(&e, assign);
        if (ret == -ENOTSUP && assign && e.len == 0) {
            e.len = p->efd_mmio_len = 2;
            ret = p->accel->ioeventfd(&e, assign);
        }
    }
    if (ret == 0 && bar0 != PCI_BAR_UNMAPPED) {
        e = (struct accel_ioeventfd){
            .addr = bar0 + VIRTIO_PCI_QUEUE_NOTIFY, .len = 2, .pio = true, .datamatch = true,
            .data = n, .fd = p->efds[n].fd,
        };
        ret = p->accel->ioeventfd(&e, assign);
        if (ret < 0 && assign && bar4 != PCI_BAR_UNMAPPED) {
            virtio_pci_ioeventfd_one(p, n, PCI_BAR_UNMAPPED, bar4, false);
        }
    }
    return ret;
}

/* Where virtio_pci_ioeventfd_set assigns or removes: BAR0's and BAR4's addresses. */
struct virtio_pci_efd_where {
    struct virtio_pci *p;
    uint64_t bar0, bar4;
};

static int virtio_pci_ioeventfd_set(void *opaque, unsigned n, bool assign)
{
    const struct virtio_pci_efd_where *w = opaque;

    return virtio_pci_ioeventfd_one(w->p, n, w->bar0, w->bar4, assign);
}

/*
 * The ioeventfds follow DRIVER_OK and where the BARs decode (QEMU starts
 * them at DRIVER_OK and its memory API moves them with the BARs).  Kicks
 * that arrived while they were assigned are served when they go.  A
 * backend that refuses leaves kicks on the ordinary exit path.
 */
static void virtio_pci_ioeventfd_update(struct virtio_pci *p)
{
    bool on = p->ioeventfd && p->accel && p->accel->ioeventfd &&
              (p->vdev->status & VIRTIO_CONFIG_S_DRIVER_OK);
    uint64_t bar0 = on && p->legacy_io ? p->pci->bar[VIRTIO_PCI_LEGACY_BAR].mapped
                                       : PCI_BAR_UNMAPPED;
    uint64_t bar4 = on && p->modern ? p->pci->bar[VIRTIO_PCI_MODERN_BAR].mapped
                                    : PCI_BAR_UNMAPPED;

    if (bar0 == p->efd_bar0 && bar4 == p->efd_bar4) {
        return;
    }
    if (p->efd_bar0 != PCI_BAR_UNMAPPED || p->efd_bar4 != PCI_BAR_UNMAPPED) {
        struct virtio_pci_efd_where old = { p, p->efd_bar0, p->efd_bar4 };

        virtio_ioeventfd_stop(p->efds, p->nqueues, virtio_pci_ioeventfd_set, &old);
    }
    p->efd_bar0 = p->efd_bar4 = PCI_BAR_UNMAPPED;
    if (bar0 == PCI_BAR_UNMAPPED && bar4 == PCI_BAR_UNMAPPED) {
        return;
    }
    if (!virtio_ioeventfd_start(p->efds, p->nqueues, virtio_pci_ioeventfd_set,
                                &(struct virtio_pci_efd_where){ p, bar0, bar4 })) {
        warn_report("%s: ioeventfd is not available; kicks take the slow path",
                    p->pci->type_name);
        p->ioeventfd = false;
        return;
    }
    p->efd_bar0 = bar0;
    p->efd_bar4 = bar4;
}

/* Device reset (status 0, the core's, or the system's): the driver's queue
 * and feature settings are forgotten and INTx goes low. */
static void virtio_pci_device_reset(struct virtio_device *vdev)
{
    struct virtio_pci *p = vdev->transport_opaque;

    virtio_pci_queues_reset(p);
    p->guest_features[0] = p->guest_features[1] = 0;
    p->queue_sel = 0;
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        vdev->vqs[i].vector = VIRTIO_NO_VECTOR;
    }
    pci_set_irq(p->pci, 0);
    virtio_pci_ioeventfd_update(p);
}

static const struct virtio_transport_ops virtio_pci_transport_ops = {
    .name = "virtio-pci",
    .notify = virtio_pci_notify,
    .reset = virtio_pci_device_reset,
};

/* A driver mistake, under -d guest_errors (fmt: a string literal). */
#define virtio_pci_guest_error(p, fmt, ...)                                      \
    log_mask(LOG_GUEST_ERROR, "%s %02x.%x: " fmt "\n", (p)->pci->type_name,     \
             PCI_SLOT((p)->pci->devfn), PCI_FUNC((p)->pci->devfn), __VA_ARGS__)

/* The selected queue, NULL when queue_select names none. */
static struct virtqueue *virtio_pci_vq(const struct virtio_pci *p)
{
    return p->queue_sel < p->vdev->nvqs ? &p->vdev->vqs[p->queue_sel] : NULL;
}

/* The driver wrote the status byte (either interface). */
static void virtio_pci_set_status(struct virtio_pci *p, uint8_t status)
{
    struct virtio_device *vdev = p->vdev;

    /* 3.1.1: a modern driver's feature words count once it sets FEATURES_OK. */
    if (!vdev->legacy && (status & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        virtio_set_guest_features(vdev, (uint64_t)p->guest_features[1] << 32 |
                                         p->guest_features[0]);
    }
    virtio_set_status(vdev, status);
    virtio_pci_ioeventfd_update(p);
}

/* ---- the legacy I/O BAR (4.1.4.8) ---- */

static unsigned virtio_pci_legacy_header(const struct virtio_pci *p)
{
    return msix_enabled(p->pci) ? VIRTIO_PCI_LEGACY_HEADER_MSIX : VIRTIO_PCI_LEGACY_HEADER;
}

static uint32_t virtio_pci_legacy_reg_read(struct virtio_pci *p, unsigned offset)
{
    struct virtio_device *vdev = p->vdev;
    struct virtqueue *vq = virtio_pci_vq(p);

    switch (offset) {
    case VIRTIO_PCI_HOST_FEATURES:
        return (uint32_t)vdev->host_features;
    case VIRTIO_PCI_GUEST_FEATURES:
        return (uint32_t)vdev->guest_features;
    case VIRTIO_PCI_QUEUE_PFN:
        return vq ? vq->desc >> VIRTIO_PCI_QUEUE_ADDR_SHIFT : 0;
    case VIRTIO_PCI_QUEUE_NUM:
        return vq ? vq->num : 0;
    case VIRTIO_PCI_QUEUE_SEL:
        return p->queue_sel;
    case VIRTIO_PCI_STATUS:
        return vdev->status;
    case VIRTIO_PCI_ISR:
        return virtio_pci_isr_read(p);
    case VIRTIO_MSI_CONFIG_VECTOR:
        return vdev->config_vector;
    case VIRTIO_MSI_QUEUE_VECTOR:
        return vq ? vq->vector : VIRTIO_NO_VECTOR;
    default:
        return UINT32_MAX;
    }
}

/*
 * QUEUE_PFN (2.7.2 legacy interfaces): descriptors at the page, the
 * available ring right after them, the used ring at the next 4096-byte
 * boundary; the queue is enabled at once.  0 resets the device, as QEMU
 * does (Linux writes it when it tears a queue down).
 */
static void virtio_pci_legacy_pfn(struct virtio_pci *p, uint32_t pfn)
{
    struct virtqueue *vq = virtio_pci_vq(p);

    if (!pfn) {
        virtio_reset(p->vdev);
        return;
    }
    if (!vq) {
        virtio_pci_guest_error(p, "QUEUE_PFN for queue %u, which does not exist",
                               p->queue_sel);
        return;
    }
    if (vq->ready) {
        virtqueue_disable(vq);
    }
    vq->desc = (uint64_t)pfn << VIRTIO_PCI_QUEUE_ADDR_SHIFT;
    vq->avail = vq->desc + vring_desc_size(vq->num);
    vq->used = align_up(vq->avail + vring_avail_size(vq->num), VIRTIO_PCI_VRING_ALIGN);
    virtqueue_enable(vq);
}

static void virtio_pci_legacy_reg_write(struct virtio_pci *p, unsigned offset, uint32_t v)
{
    struct virtio_device *vdev = p->vdev;
    struct virtqueue *vq = virtio_pci_vq(p);

    vdev->legacy = true;
    switch (offset) {
    case VIRTIO_PCI_GUEST_FEATURES:
        /* A driver that acks BAD_FEATURE did not negotiate: assume nothing. */
        virtio_set_guest_features(vdev, (v & (1u << VIRTIO_F_BAD_FEATURE)) ? 0 : v);
        break;
    case VIRTIO_PCI_QUEUE_PFN:
        virtio_pci_legacy_pfn(p, v);
        break;
    case VIRTIO_PCI_QUEUE_SEL:
        if (v < VIRTIO_PCI_QUEUE_MAX) {
            p->queue_sel = v;
        }
        break;
    case VIRTIO_PCI_QUEUE_NOTIFY:
        if (v < vdev->nvqs) {
            virtio_queue_kick(vdev, v);
        }
        break;
    case VIRTIO_PCI_STATUS:
        virtio_pci_set_status(p, v);
        /* Linux before 2.6.34 never set bus mastering: QEMU does it for it. */
        if ((v & 0xff) == (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)) {
            pci_config_write(p->pci, PCI_COMMAND,
                             p->pci->config[PCI_COMMAND] | PCI_COMMAND_MASTER, 1);
        }
        break;
    case VIRTIO_MSI_CONFIG_VECTOR:
        vdev->config_vector = virtio_pci_vector(p, v & 0xffff);
        break;
    case VIRTIO_MSI_QUEUE_VECTOR:
        if (vq) {
            vq->vector = virtio_pci_vector(p, v & 0xffff);
        }
        break;
    default:
        virtio_pci_guest_error(p, "write of read-only or unknown legacy register 0x%02x",
                               offset);
        break;
    }
}

static uint64_t virtio_pci_legacy_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_pci *p = opaque;
    unsigned hdr = virtio_pci_legacy_header(p);

    if (offset >= hdr) {
        return virtio_config_read(p->vdev, offset - hdr, size);
    }
    return virtio_pci_legacy_reg_read(p, offset) & (~0ull >> (64 - 8 * size));
}

static void virtio_pci_legacy_write(void *opaque, uint64_t offset, uint64_t value,
                                    unsigned size)
{
    struct virtio_pci *p = opaque;
    unsigned hdr = virtio_pci_legacy_header(p);

    if (offset >= hdr) {
        virtio_config_write(p->vdev, offset - hdr, value, size);
        return;
    }
    virtio_pci_legacy_reg_write(p, offset, value);
}

static const struct io_ops virtio_pci_legacy_ops = {
    .read = virtio_pci_legacy_read,
    .write = virtio_pci_legacy_write,
};

/* ---- the modern BAR: common configuration (4.1.4.3) ---- */

static uint32_t virtio_pci_device_features(const struct virtio_pci *p)
{
    uint64_t f = p->vdev->host_features & ~VIRTIO_PCI_LEGACY_ONLY_FEATURES;

    return p->dfselect < 2 ? (uint32_t)(f >> (32 * p->dfselect)) : 0;
}

static uint32_t virtio_pci_common_read(struct virtio_pci *p, unsigned offset)
{
    struct virtio_device *vdev = p->vdev;
    struct virtqueue *vq = virtio_pci_vq(p);
    const struct virtio_pci_queue *q = vq ? &p->queues[vq->index] : NULL;

    switch (offset) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return p->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return virtio_pci_device_features(p);
    case VIRTIO_PCI_COMMON_GFSELECT:
        return p->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return p->gfselect < 2 ? p->guest_features[p->gfselect] : 0;
    case VIRTIO_PCI_COMMON_MSIX:
        return vdev->config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:
        return vdev->nvqs;
    case VIRTIO_PCI_COMMON_STATUS:
        return vdev->status;
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return vdev->config_generation;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return p->queue_sel;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return q ? q->num : 0;   /* 0: the queue does not exist */
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return vq ? vq->vector : VIRTIO_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return vq && vq->ready;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return p->queue_sel;    /* queue n notifies at n * the multiplier */
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        return q ? q->desc >> (offset & 4 ? 32 : 0) : 0;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        return q ? q->driver >> (offset & 4 ? 32 : 0) : 0;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        return q ? q->device >> (offset & 4 ? 32 : 0) : 0;
    default:
        return 0;
    }
}

/* The low or high half of a ring address. */
static void virtio_pci_set_addr(uint64_t *addr, unsigned offset, uint32_t v)
{
    if (offset & 4) {
        *addr = (*addr & UINT32_MAX) | (uint64_t)v << 32;
    } else {
        *addr = (*addr & ~(uint64_t)UINT32_MAX) | v;
    }
}

/* queue_enable = 1: the queue takes what the driver wrote (4.1.4.3.2). */
static void virtio_pci_queue_enable(struct virtio_pci *p, struct virtqueue *vq, uint32_t v)
{
    const struct virtio_pci_queue *q = &p->queues[vq->index];

    if (v != 1) {
        /* 4.1.4.3.2: the driver never writes 0 (queue_reset does that). */
        virtio_pci_guest_error(p, "queue_enable %u written for queue %u", v, vq->index);
        return;
    }
    if (vq->ready) {
        return;
    }
    vq->num = q->num;
    vq->desc = q->desc;
    vq->avail = q->driver;
    vq->used = q->device;
    virtqueue_enable(vq);
}

/* The queue registers: the driver sets them before enabling the queue. */
static void virtio_pci_common_queue_write(struct virtio_pci *p, unsigned offset, uint32_t v)
{
    struct virtqueue *vq = virtio_pci_vq(p);
    struct virtio_pci_queue *q;

    if (!vq) {
        virtio_pci_guest_error(p, "common config 0x%02x written for queue %u, which does "
                               "not exist", offset, p->queue_sel);
        return;
    }
    q = &p->queues[vq->index];
    if (offset == VIRTIO_PCI_COMMON_Q_MSIX) {
        vq->vector = virtio_pci_vector(p, v & 0xffff);
        return;
    }
    if (offset == VIRTIO_PCI_COMMON_Q_ENABLE) {
        virtio_pci_queue_enable(p, vq, v & 0xffff);
        return;
    }
    if (vq->ready) {
        virtio_pci_guest_error(p, "common config 0x%02x written while queue %u is enabled",
                               offset, vq->index);
        return;
    }
    switch (offset) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        /* The core checks the size (a power of two up to the maximum) at enable. */
        if (v && v <= VIRTQUEUE_MAX_SIZE) {
            q->num = v;
        }
        break;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        virtio_pci_set_addr(&q->desc, offset, v);
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        virtio_pci_set_addr(&q->driver, offset, v);
        break;
    default:
        virtio_pci_set_addr(&q->device, offset, v);
        break;
    }
}

static void virtio_pci_common_write(struct virtio_pci *p, unsigned offset, uint32_t v)
{
    struct virtio_device *vdev = p->vdev;

    vdev->legacy = false;
    switch (offset) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        p->dfselect = v;
        break;
    case VIRTIO_PCI_COMMON_GFSELECT:
        p->gfselect = v;
        break;
    case VIRTIO_PCI_COMMON_GF:
        if (p->gfselect < 2) {
            p->guest_features[p->gfselect] = v;
        }
        break;
    case VIRTIO_PCI_COMMON_MSIX:
        vdev->config_vector = virtio_pci_vector(p, v & 0xffff);
        break;
    case VIRTIO_PCI_COMMON_STATUS:
        virtio_pci_set_status(p, v);
        break;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        if (v < VIRTIO_PCI_QUEUE_MAX) {
            p->queue_sel = v;
        }
        break;
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        virtio_pci_common_queue_write(p, offset, v);
        break;
    default:
        virtio_pci_guest_error(p, "write of read-only or unknown common config 0x%02x",
                               offset);
        break;
    }
}

/* ---- the modern BAR ---- */

static uint64_t virtio_pci_modern_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_pci *p = opaque;
    unsigned off = offset % VIRTIO_PCI_REGION_SIZE;
    uint64_t mask = ~0ull >> (64 - 8 * size);

    switch (offset / VIRTIO_PCI_REGION_SIZE) {
    case VIRTIO_PCI_COMMON_OFFSET / VIRTIO_PCI_REGION_SIZE:
        if (size == 8) {
            /* Two dwords, as the memory core splits it for QEMU. */
            return virtio_pci_common_read(p, off) |
                   (uint64_t)virtio_pci_common_read(p, off + 4) << 32;
        }
        return virtio_pci_common_read(p, off) & mask;
    case VIRTIO_PCI_ISR_OFFSET / VIRTIO_PCI_REGION_SIZE:
        return virtio_pci_isr_read(p);
    case VIRTIO_PCI_DEVICE_OFFSET / VIRTIO_PCI_REGION_SIZE:
        return virtio_config_read(p->vdev, off, size);
    default:
        return 0;   /* notifications are write-only */
    }
}

static void virtio_pci_modern_write(void *opaque, uint64_t offset, uint64_t value,
                                    unsigned size)
{
    struct virtio_pci *p = opaque;
    unsigned off = offset % VIRTIO_PCI_REGION_SIZE;

    switch (offset / VIRTIO_PCI_REGION_SIZE) {
    case VIRTIO_PCI_COMMON_OFFSET / VIRTIO_PCI_REGION_SIZE:
        virtio_pci_common_write(p, off, value & (~0ull >> (64 - 8 * MIN(size, 4u))));
        if (size == 8) {
            virtio_pci_common_write(p, off + 4, value >> 32);
        }
        break;
    case VIRTIO_PCI_ISR_OFFSET / VIRTIO_PCI_REGION_SIZE:
        break;      /* read-only */
    case VIRTIO_PCI_DEVICE_OFFSET / VIRTIO_PCI_REGION_SIZE:
        virtio_config_write(p->vdev, off, value, size);
        break;
    default:
        /* 4.1.4.4: queue n's address is n * notify_off_multiplier; the value
         * written is the queue index, which the address already says. */
        if (off / VIRTIO_PCI_NOTIFY_MULTIPLIER < p->vdev->nvqs) {
            virtio_queue_kick(p->vdev, off / VIRTIO_PCI_NOTIFY_MULTIPLIER);
        }
        break;
    }
}

static const struct io_ops virtio_pci_modern_ops = {
    .read = virtio_pci_modern_read,
    .write = virtio_pci_modern_write,
};

/* ---- config space ---- */

/*
 * The PCI configuration access capability (4.1.4.9): cap.offset and
 * cap.length (1, 2 or 4) name bytes of the modern BAR (QEMU does not look
 * at cap.bar) which pci_cfg_data reads and writes.
 */
static bool virtio_pci_cfg_window(const struct virtio_pci *p, uint64_t *offset,
                                  unsigned *len)
{
    const uint8_t *cap = p->pci->config + p->cfg_cap;

    *len = ld32(cap + VIRTIO_PCI_CAP_LENGTH);
    if (*len != 1 && *len != 2 && *len != 4) {
        return false;
    }
    *offset = ld32(cap + VIRTIO_PCI_CAP_OFFSET) & ~(uint64_t)(*len - 1);
    return *offset + *len <= VIRTIO_PCI_MODERN_BAR_SIZE;
}

static bool virtio_pci_cfg_data_touched(const struct virtio_pci *p, unsigned addr,
                                        unsigned len)
{
    unsigned data = p->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA;

    return p->cfg_cap && addr < data + 4 && data < addr + len;
}

static void virtio_pci_config_read(struct pci_device *d, unsigned addr, unsigned len)
{
    struct virtio_pci *p = d->opaque;
    uint64_t offset;
    unsigned n;

    if (virtio_pci_cfg_data_touched(p, addr, len) && virtio_pci_cfg_window(p, &offset, &n)) {
        uint64_t v = virtio_pci_modern_read(p, offset, n);

        for (unsigned i = 0; i < n; i++) {
            d->config[p->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA + i] = v >> (8 * i);
        }
    }
}

static void virtio_pci_config_written(struct pci_device *d, unsigned addr, unsigned len)
{
    struct virtio_pci *p = d->opaque;
    struct virtio_device *vdev = p->vdev;
    uint64_t offset;
    unsigned n;

    /* Without bus mastering the device cannot use its rings: QEMU stops
     * it by clearing DRIVER_OK. */
    if (addr <= PCI_COMMAND && addr + len > PCI_COMMAND &&
        !(d->config[PCI_COMMAND] & PCI_COMMAND_MASTER) &&
        (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        virtio_set_status(vdev, vdev->status & ~VIRTIO_CONFIG_S_DRIVER_OK);
    }
    /* The BARs may have moved or stopped decoding. */
    virtio_pci_ioeventfd_update(p);
    if (virtio_pci_cfg_data_touched(p, addr, len) && virtio_pci_cfg_window(p, &offset, &n)) {
        virtio_pci_modern_write(p, offset,
                                ld32(d->config + p->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA) &
                                (~0u >> (32 - 8 * n)), n);
    }
}

/* System reset: the device and the transport back to power-on (pci.c has
 * already reset config space and MSI-X). */
static void virtio_pci_system_reset(struct pci_device *d)
{
    struct virtio_pci *p = d->opaque;

    virtio_reset(p->vdev);
    p->dfselect = p->gfselect = 0;
}

/* The bus goes (exit, tests): the eventfds and their sources with it. */
static void virtio_pci_destroy(struct pci_device *d)
{
    struct virtio_pci *p = d->opaque;

    if (p->efds) {
        virtio_ioeventfd_destroy(p->efds, p->nqueues);
        g_free(p->efds);
    }
}

/* One vendor capability pointing at region [offset, offset + length) of BAR4. */
static int virtio_pci_add_cap(struct virtio_pci *p, uint8_t type, unsigned size,
                              uint32_t offset, uint32_t length, GError **errp)
{
    int cap = pci_add_capability(p->pci, PCI_CAP_ID_VNDR, size, errp);
    uint8_t *c;

    if (cap < 0) {
        return cap;
    }
    c = p->pci->config + cap;
    c[VIRTIO_PCI_CAP_LEN] = size;
    c[VIRTIO_PCI_CAP_CFG_TYPE] = type;
    c[VIRTIO_PCI_CAP_BAR] = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_MODERN_BAR;
    st32(c + VIRTIO_PCI_CAP_OFFSET, offset);
    st32(c + VIRTIO_PCI_CAP_LENGTH, length);
    return cap;
}

/* BAR4 and its capabilities, in QEMU's order (so at QEMU's offsets). */
static int virtio_pci_modern_init(struct virtio_pci *p, GError **errp)
{
    static const struct {
        uint8_t type;
        uint32_t offset;
    } regions[] = {
        { VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET },
        { VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET },
        { VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET },
        { VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET },
    };
    int cap;

    for (unsigned i = 0; i < G_N_ELEMENTS(regions); i++) {
        bool notify = regions[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG;

        cap = virtio_pci_add_cap(p, regions[i].type,
                                 notify ? VIRTIO_PCI_NOTIFY_CAP_SIZE : VIRTIO_PCI_CAP_SIZE,
                                 regions[i].offset, VIRTIO_PCI_REGION_SIZE, errp);
        if (cap < 0) {
            return cap;
        }
        if (notify) {
            st32(p->pci->config + cap + VIRTIO_PCI_NOTIFY_CAP_MULT,
                 VIRTIO_PCI_NOTIFY_MULTIPLIER);
        }
    }
    if (pci_register_bar(p->pci, VIRTIO_PCI_MODERN_BAR,
                         PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH,
                         VIRTIO_PCI_MODERN_BAR_SIZE, "virtio-pci", &virtio_pci_modern_ops, p,
                         errp) < 0) {
        return -EINVAL;
    }
    /* The access capability: the driver writes bar, offset, length and data. */
    cap = virtio_pci_add_cap(p, VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_CFG_CAP_SIZE, 0, 0, errp);
    if (cap < 0) {
        return cap;
    }
    p->cfg_cap = cap;
    p->pci->wmask[cap + VIRTIO_PCI_CAP_BAR] = 0xff;
    memset(p->pci->wmask + cap + VIRTIO_PCI_CAP_OFFSET, 0xff, 8);
    memset(p->pci->wmask + cap + VIRTIO_PCI_CFG_CAP_DATA, 0xff, 4);
    return 0;
}

/* ---- properties ---- */

static bool virtio_pci_type_has_prop(const struct device_type *t, const char *name)
{
    for (const struct dev_prop *pr = t->props; pr && pr->name; pr++) {
        if (!strcmp(pr->name, name)) {
            return true;
        }
    }
    return false;
}

/* disable-legacy: auto means legacy on, the bus being conventional PCI. */
static int virtio_pci_parse_legacy(const struct dev_config *cfg, bool *legacy, GError **errp)
{
    const char *v = dev_config_str(cfg, "disable-legacy");

    if (!v || !strcmp(v, "auto") || !strcmp(v, "off")) {
        *legacy = true;
    } else if (!strcmp(v, "on")) {
        *legacy = false;
    } else {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Parameter 'disable-legacy' does not accept value '%s'", v);
        return -EINVAL;
    }
    return 0;
}

/* vectors: 4294967295 (QEMU's "unspecified") is the device's own choice. */
static unsigned virtio_pci_parse_vectors(const struct dev_config *cfg,
                                         const struct virtio_device *vdev)
{
    uint64_t n;

    if (!virtio_pci_type_has_prop(cfg->type, "vectors")) {
        return 0;
    }
    n = dev_config_uint(cfg, "vectors");
    return n == UINT32_MAX ? vdev->nvqs + 1 : (unsigned)n;
}

static int virtio_pci_parse(struct virtio_pci *p, const struct dev_config *cfg,
                            GError **errp)
{
    if (virtio_pci_parse_legacy(cfg, &p->legacy_io, errp) < 0) {
        return -EINVAL;
    }
    p->modern = !dev_config_bool(cfg, "disable-modern");
    if (!p->legacy_io && !p->modern) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "device cannot work as neither modern nor legacy mode is enabled");
        return -EINVAL;
    }
    p->ioeventfd = !virtio_pci_type_has_prop(cfg->type, "ioeventfd") ||
                   dev_config_bool(cfg, "ioeventfd");
    p->nvectors = virtio_pci_parse_vectors(cfg, p->vdev);
    return 0;
}

/* ---- plugging ---- */

/* Table 4.1.2.1: the transitional device IDs, by virtio device ID. */
static uint16_t virtio_pci_transitional_id(uint16_t virtio_id)
{
    static const uint16_t ids[][2] = {
        { VIRTIO_ID_NET, 0x1000 }, { VIRTIO_ID_BLOCK, 0x1001 }, { VIRTIO_ID_BALLOON, 0x1002 },
        { VIRTIO_ID_CONSOLE, 0x1003 }, { 8 /* SCSI */, 0x1004 }, { VIRTIO_ID_RNG, 0x1005 },
        { 9 /* 9P */, 0x1009 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
        if (ids[i][0] == virtio_id) {
            return ids[i][1];
        }
    }
    return VIRTIO_PCI_DEVICE_ID_MODERN + virtio_id;
}

static void virtio_pci_set_ids(struct virtio_pci *p)
{
    struct virtio_device *vdev = p->vdev;
    uint16_t id = vdev->ops->device_id;

    if (p->legacy_io) {
        /* Transitional (4.1.2.3): QEMU's old IDs, the virtio ID as subsystem. */
        pci_set_ids(p->pci, VIRTIO_PCI_VENDOR_ID, virtio_pci_transitional_id(id), 0,
                    vdev->ops->pci_class);
        st16(p->pci->config + PCI_SUBSYSTEM_ID, id);
    } else {
        pci_set_ids(p->pci, VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_DEVICE_ID_MODERN + id, 1,
                    vdev->ops->pci_class);
    }
    p->pci->config[PCI_INTERRUPT_PIN] = 1;
}

static int virtio_pci_init_function(struct virtio_pci *p, GError **errp)
{
    struct virtio_device *vdev = p->vdev;
    g_autoptr(GError) err = NULL;

    virtio_pci_set_ids(p);
    if (p->modern && virtio_pci_modern_init(p, errp) < 0) {
        return -EINVAL;
    }
    if (p->nvectors &&
        msix_init_exclusive_bar(p->pci, p->nvectors, VIRTIO_PCI_MSIX_BAR, &err) < 0) {
        warn_report("unable to init msix vectors to %u", p->nvectors);
        p->nvectors = 0;
    }
    if (p->legacy_io) {
        unsigned hdr = msix_present(p->pci) ? VIRTIO_PCI_LEGACY_HEADER_MSIX
                                            : VIRTIO_PCI_LEGACY_HEADER;

        p->legacy_size = pow2_ceil(hdr + vdev->ops->config_size);
        if (pci_register_bar(p->pci, VIRTIO_PCI_LEGACY_BAR, PCI_BAR_SPACE_IO, p->legacy_size,
                             "virtio-pci", &virtio_pci_legacy_ops, p, errp) < 0) {
            return -EINVAL;
        }
    }
    p->pci->config_read = virtio_pci_config_read;
    p->pci->config_written = virtio_pci_config_written;
    p->pci->reset = virtio_pci_system_reset;
    p->pci->destroy = virtio_pci_destroy;
    return 0;
}

/*
 * bootindex=: the function's Open Firmware path as QEMU's
 * get_fw_dev_path() builds it for the bootorder file, e.g.
 * "/pci@i0cf8/scsi@4/disk@0,0": the i440FX host bridge, the function
 * named by its PCI class (virtio-blk is mass storage "scsi", virtio-net
 * "ethernet") at slot[,function] in hex, then the device's own node.
 */
static int virtio_pci_boot_index(const struct virtio_pci *p, const struct dev_config *cfg,
                                 GError **errp)
{
    const char *cls, *node;
    g_autofree char *path = NULL;
    unsigned slot = p->pci->devfn >> 3, fn = p->pci->devfn & 7;

    if (!dev_config_str(cfg, "bootindex")) {
        return 0;
    }
    switch (p->vdev->ops->device_id) {
    case VIRTIO_ID_BLOCK:
        cls = "scsi";
        node = "disk@0,0";
        break;
    case VIRTIO_ID_NET:
        cls = "ethernet";
        node = "ethernet-phy@0";
        break;
    default:
        return 0;
    }
    path = fn ? g_strdup_printf("/pci@i0cf8/%s@%x,%x/%s", cls, slot, fn, node)
              : g_strdup_printf("/pci@i0cf8/%s@%x/%s", cls, slot, node);
    return boot_order_add(dev_config_int(cfg, "bootindex"), path, errp);
}

int virtio_pci_plug(struct machine *m, const struct dev_config *cfg,
                    struct virtio_device *vdev, GError **errp)
{
    struct virtio_pci *p = g_malloc0(sizeof(*p) + vdev->nvqs * sizeof(p->queues[0]));
    int devfn;

    p->vdev = vdev;
    p->nqueues = vdev->nvqs;
    p->accel = m ? m->accel : NULL;
    p->efd_bar0 = p->efd_bar4 = PCI_BAR_UNMAPPED;
    if (virtio_pci_parse(p, cfg, errp) < 0 || pci_parse_addr(cfg, &devfn, errp) < 0) {
        g_free(p);
        return -EINVAL;
    }
    p->pci = pci_device_add(cfg->type->name, cfg->id, devfn,
                            dev_config_bool(cfg, "multifunction"), errp);
    if (!p->pci) {
        g_free(p);
        return -EINVAL;
    }
    /* The bus frees p with the function, whatever happens next. */
    p->pci->opaque = p;
    if (virtio_pci_boot_index(p, cfg, errp) < 0) {
        return -EINVAL;
    }
    /* VERSION_1 only with the modern interface; BAD_FEATURE for legacy
     * drivers to find (QEMU's virtio_pci_pre_plugged). */
    if (!p->modern) {
        vdev->host_features &= ~(1ull << VIRTIO_F_VERSION_1);
    }
    vdev->host_features |= 1ull << VIRTIO_F_BAD_FEATURE;
    vdev->legacy = !p->modern;
    vdev->transport = &virtio_pci_transport_ops;
    vdev->transport_opaque = p;
    virtio_pci_queues_reset(p);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        vdev->vqs[i].vector = VIRTIO_NO_VECTOR;
    }
    if (virtio_pci_init_function(p, errp) < 0) {
        vdev->transport = NULL;
        vdev->transport_opaque = NULL;
        return -EINVAL;
    }
    p->efds = g_new(struct virtio_ioeventfd, vdev->nvqs);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        virtio_ioeventfd_init(&p->efds[i], vdev, i);
    }
    return 0;
}
