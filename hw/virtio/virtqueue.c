/*
 * Split virtqueues (virtio 1.2 section 2.7): taking descriptor chains from
 * the available ring, returning them through the used ring, and deciding
 * when the driver wants an interrupt.
 *
 * Every field the driver writes is read once into a local and checked
 * before use: indices against the queue size, chains against loops and
 * their length, indirect tables against nesting and their size, buffer
 * addresses against guest RAM.  Anything wrong breaks the device
 * (virtio_error) and nothing of the chain is used.
 *
 * Threads: big lock held.  Under KVM the driver runs on other threads at
 * the same time, so loads of the indices the driver publishes are followed
 * by an acquire fence, the used index is published with a release store,
 * and the interrupt decision reads the driver's flags after a full fence
 * (section 2.7.13 and 2.7.7).
 */
#include <string.h>

#include "hw/virtio/virtio.h"
#include "system/memory.h"

/* Byte offsets inside the available and used rings (section 2.7.6, 2.7.8). */
#define AVAIL_FLAGS     0
#define AVAIL_IDX       1      /* in uint16_t units */
#define AVAIL_RING      2
#define USED_FLAGS      0
#define USED_IDX        2
#define USED_RING       4

/* At most this many buffers in one chain, indirect tables included. */
#define VIRTQ_MAX_SG    VIRTQUEUE_MAX_SIZE

static uint16_t load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static uint16_t *used_idx_ptr(struct virtqueue *vq)
{
    return (uint16_t *)(vq->used_hva + USED_IDX);
}

static uint16_t *avail_event_ptr(struct virtqueue *vq)
{
    return (uint16_t *)(vq->used_hva + USED_RING + 8u * vq->num);
}

static uint16_t used_event(struct virtqueue *vq)
{
    return load16(&vq->avail_hva[AVAIL_RING + vq->num]);
}

static bool is_pow2(unsigned n)
{
    return n && !(n & (n - 1));
}

bool virtqueue_enable(struct virtqueue *vq)
{
    struct virtio_device *vdev = vq->vdev;

    /* Section 2.7: a split queue's size is a power of two, so the free-running
     * 16-bit indices stay consistent modulo it when they wrap. */
    if (!is_pow2(vq->num) || vq->num > vq->num_max) {
        virtio_error(vdev, "queue %u: size %u is not a power of two up to %u", vq->index,
                     vq->num, vq->num_max);
        return false;
    }
    /* Table 2.7.x: descriptor table 16-byte, available ring 2-byte, used
     * ring 4-byte aligned. */
    if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3)) {
        virtio_error(vdev, "queue %u: misaligned rings (desc 0x%" G_GINT64_MODIFIER
                     "x avail 0x%" G_GINT64_MODIFIER "x used 0x%" G_GINT64_MODIFIER "x)",
                     vq->index, vq->desc, vq->avail, vq->used);
        return false;
    }
    vq->desc_hva = ram_hva(vq->desc, vring_desc_size(vq->num));
    vq->avail_hva = ram_hva(vq->avail, vring_avail_size(vq->num));
    vq->used_hva = ram_hva(vq->used, vring_used_size(vq->num));
    if (!vq->desc_hva || !vq->avail_hva || !vq->used_hva) {
        virtio_error(vdev, "queue %u: rings outside guest RAM (desc 0x%" G_GINT64_MODIFIER
                     "x avail 0x%" G_GINT64_MODIFIER "x used 0x%" G_GINT64_MODIFIER "x)",
                     vq->index, vq->desc, vq->avail, vq->used);
        vq->desc_hva = NULL;
        vq->avail_hva = NULL;
        vq->used_hva = NULL;
        return false;
    }
    vq->ready = true;
    return true;
}

void virtqueue_disable(struct virtqueue *vq)
{
    vq->ready = false;
    vq->desc_hva = NULL;
    vq->avail_hva = NULL;
    vq->used_hva = NULL;
}

/*
 * Reads avail->idx into shadow_avail_idx: false (and the device broken)
 * when the driver claims more new entries than the queue holds.
 */
static bool fetch_avail_idx(struct virtqueue *vq)
{
    uint16_t idx = load16(&vq->avail_hva[AVAIL_IDX]);

    if ((uint16_t)(idx - vq->last_avail_idx) > vq->num) {
        virtio_error(vq->vdev, "queue %u: available index moved from %u to %u", vq->index,
                     vq->last_avail_idx, idx);
        return false;
    }
    vq->shadow_avail_idx = idx;
    /* The ring entries and descriptors behind the new index are read after it. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return true;
}

bool virtqueue_empty(struct virtqueue *vq)
{
    if (!vq->ready || vq->vdev->broken) {
        return true;
    }
    if (vq->shadow_avail_idx != vq->last_avail_idx) {
        return false;
    }
    if (!fetch_avail_idx(vq)) {
        return true;
    }
    return vq->shadow_avail_idx == vq->last_avail_idx;
}

/* The buffers of one chain as the walk collects them. */
struct chain {
    struct iovec sg[VIRTQ_MAX_SG];
    unsigned out_num;
    unsigned in_num;
};

static bool chain_add(struct virtqueue *vq, struct chain *c, const struct vring_desc *d)
{
    void *hva;

    if (d->len == 0) {
        return true;    /* an empty buffer carries nothing: no iovec */
    }
    if (c->out_num + c->in_num >= VIRTQ_MAX_SG) {
        virtio_error(vq->vdev, "queue %u: chain has more than %u buffers", vq->index,
                     VIRTQ_MAX_SG);
        return false;
    }
    hva = ram_hva(d->addr, d->len);
    if (!hva) {
        virtio_error(vq->vdev, "queue %u: buffer 0x%" G_GINT64_MODIFIER "x+0x%x outside guest "
                     "RAM", vq->index, d->addr, d->len);
        return false;
    }
    if (d->flags & VRING_DESC_F_WRITE) {
        c->sg[c->out_num + c->in_num] = (struct iovec){ hva, d->len };
        c->in_num++;
    } else {
        /* Section 2.7.4.2: device-readable buffers come first. */
        if (c->in_num) {
            virtio_error(vq->vdev, "queue %u: device-readable buffer after a writable one",
                         vq->index);
            return false;
        }
        c->sg[c->out_num] = (struct iovec){ hva, d->len };
        c->out_num++;
    }
    return true;
}

static void read_desc(const struct vring_desc *table, unsigned i, struct vring_desc *d)
{
    /* One copy: the driver may rewrite the entry while it is checked. */
    memcpy(d, &table[i], sizeof(*d));
    d->addr = GUINT64_FROM_LE(d->addr);
    d->len = GUINT32_FROM_LE(d->len);
    d->flags = GUINT16_FROM_LE(d->flags);
    d->next = GUINT16_FROM_LE(d->next);
}

/* Walks the chain at head of table (size entries); indirect: inside a table. */
static bool walk_chain(struct virtqueue *vq, const struct vring_desc *table, unsigned size,
                       unsigned head, bool indirect, struct chain *c)
{
    struct virtio_device *vdev = vq->vdev;
    unsigned i = head;

    /* A chain visits each entry at most once: more steps mean a loop. */
    for (unsigned steps = 0;; steps++) {
        struct vring_desc d;

        if (steps >= size) {
            virtio_error(vdev, "queue %u: descriptor chain loops or is longer than %u",
                         vq->index, size);
            return false;
        }
        read_desc(table, i, &d);
        if (d.flags & VRING_DESC_F_INDIRECT) {
            const struct vring_desc *sub;

            /* Section 2.7.5.3.1: no nested table, no INDIRECT with NEXT, only
             * when the feature was negotiated, a whole number of entries. */
            if (indirect || !virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC) ||
                (d.flags & VRING_DESC_F_NEXT) || d.len == 0 ||
                d.len % sizeof(struct vring_desc) ||
                d.len / sizeof(struct vring_desc) > VIRTQ_MAX_SG) {
                virtio_error(vdev, "queue %u: invalid indirect descriptor (flags 0x%x, "
                             "length %u)", vq->index, d.flags, d.len);
                return false;
            }
            sub = ram_hva(d.addr, d.len);
            if (!sub) {
                virtio_error(vdev, "queue %u: indirect table 0x%" G_GINT64_MODIFIER "x+0x%x "
                             "outside guest RAM", vq->index, d.addr, d.len);
                return false;
            }
            return walk_chain(vq, sub, d.len / sizeof(struct vring_desc), 0, true, c);
        }
        if (!chain_add(vq, c, &d)) {
            return false;
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            return true;
        }
        if (d.next >= size) {
            virtio_error(vdev, "queue %u: next descriptor %u past the %s of %u", vq->index,
                         d.next, indirect ? "indirect table" : "queue", size);
            return false;
        }
        i = d.next;
    }
}

void *virtqueue_pop(struct virtqueue *vq, size_t size)
{
    /* Everything here runs under the big lock: one walk at a time. */
    static struct chain chain;
    struct chain *c = &chain;
    struct virtq_elem *elem;
    size_t sg_off;
    unsigned head, total;

    g_assert(size >= sizeof(struct virtq_elem));
    if (virtqueue_empty(vq)) {
        return NULL;
    }
    head = load16(&vq->avail_hva[AVAIL_RING + vq->last_avail_idx % vq->num]);
    if (head >= vq->num) {
        virtio_error(vq->vdev, "queue %u: head descriptor %u past the queue of %u", vq->index,
                     head, vq->num);
        return NULL;
    }
    c->out_num = 0;
    c->in_num = 0;
    if (!walk_chain(vq, vq->desc_hva, vq->num, head, false, c)) {
        return NULL;
    }
    vq->last_avail_idx++;
    /* Section 2.7.10: with event idx, "kick me once you pass this entry". */
    if (vq->notification && virtio_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX)) {
        store16(avail_event_ptr(vq), vq->last_avail_idx);
    }

    total = c->out_num + c->in_num;
    sg_off = (size + _Alignof(struct iovec) - 1) & ~(_Alignof(struct iovec) - 1);
    elem = g_malloc0(sg_off + total * sizeof(struct iovec));
    elem->index = head;
    elem->out_num = c->out_num;
    elem->in_num = c->in_num;
    elem->out_sg = (struct iovec *)((uint8_t *)elem + sg_off);
    elem->in_sg = elem->out_sg + c->out_num;
    memcpy(elem->out_sg, c->sg, total * sizeof(struct iovec));
    vq->inuse++;
    return elem;
}

void virtqueue_unpop(struct virtqueue *vq, const struct virtq_elem *elem)
{
    (void)elem;
    vq->last_avail_idx--;
    vq->inuse--;
}

void virtqueue_fill(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len,
                    unsigned idx)
{
    uint8_t *e;
    uint32_t id = GUINT32_TO_LE(elem->index), le_len = GUINT32_TO_LE(len);

    if (!vq->ready) {
        return;     /* reset while the request was in flight: nothing to return */
    }
    /* What the device wrote into the guest's buffers may overwrite decoded code. */
    for (unsigned i = 0, left = len; i < elem->in_num && left; i++) {
        size_t n = MIN(elem->in_sg[i].iov_len, left);

        ram_dma_written(elem->in_sg[i].iov_base, n);
        left -= (unsigned)n;
    }
    e = vq->used_hva + USED_RING + 8u * ((uint16_t)(vq->used_idx + idx) % vq->num);
    memcpy(e, &id, 4);
    memcpy(e + 4, &le_len, 4);
    vq->inuse--;
}

void virtqueue_flush(struct virtqueue *vq, unsigned count)
{
    if (!vq->ready) {
        return;
    }
    vq->used_idx += count;
    /* The entries are visible before the index that publishes them. */
    __atomic_store_n(used_idx_ptr(vq), GUINT16_TO_LE(vq->used_idx), __ATOMIC_RELEASE);
    /* An index that passed the last signalled one cannot be judged by event idx. */
    if ((uint16_t)(vq->used_idx - vq->signalled_used) < count) {
        vq->signalled_used_valid = false;
    }
}

void virtqueue_push(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len)
{
    virtqueue_fill(vq, elem, len, 0);
    virtqueue_flush(vq, 1);
}

/* Section 2.7.10: whether the used index moved across the driver's used_event. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static bool should_notify(struct virtqueue *vq)
{
    struct virtio_device *vdev = vq->vdev;
    uint16_t old;
    bool valid;

    /* The used index is published before the driver's wishes are read. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (virtio_has_feature(vdev, VIRTIO_F_NOTIFY_ON_EMPTY) && !vq->inuse &&
        virtqueue_empty(vq)) {
        return true;
    }
    if (!virtio_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX)) {
        return !(load16(&vq->avail_hva[AVAIL_FLAGS]) & VRING_AVAIL_F_NO_INTERRUPT);
    }
    old = vq->signalled_used;
    valid = vq->signalled_used_valid;
    vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    return !valid || need_event(used_event(vq), vq->used_idx, old);
}

void virtqueue_notify(struct virtqueue *vq)
{
    struct virtio_device *vdev = vq->vdev;

    if (!vq->ready || vdev->broken || !should_notify(vq)) {
        return;
    }
    __atomic_or_fetch(&vdev->isr, VIRTIO_ISR_QUEUE, __ATOMIC_SEQ_CST);
    if (vdev->transport) {
        vdev->transport->notify(vdev, vq->vector);
    }
}

void virtqueue_set_notification(struct virtqueue *vq, bool enable)
{
    vq->notification = enable;
    if (!vq->ready) {
        return;
    }
    if (virtio_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX)) {
        if (enable) {
            store16(avail_event_ptr(vq), vq->shadow_avail_idx);
        }
    } else {
        store16(vq->used_hva + USED_FLAGS, enable ? 0 : VRING_USED_F_NO_NOTIFY);
    }
    if (enable) {
        /* The caller checks the ring again after this: it must not miss an
         * entry the driver added before it saw notifications back on. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

void virtqueue_reset(struct virtqueue *vq)
{
    virtqueue_disable(vq);
    vq->num = vq->num_max;
    vq->desc = vq->avail = vq->used = 0;
    vq->last_avail_idx = 0;
    vq->shadow_avail_idx = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->notification = true;
    vq->inuse = 0;
    vq->vector = VIRTIO_NO_VECTOR;
}
