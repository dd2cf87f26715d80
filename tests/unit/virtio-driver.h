/*
 * A guest driver's side of a virtio device for the unit tests: a fake
 * transport that counts notifications, split queues laid out in guest RAM
 * (tests/unit/guest-ram.h), descriptor chains made available, the used
 * ring read back, feature/status negotiation in the order virtio 1.2
 * section 3.1.1 gives, and main-loop pumping for devices that answer later.
 * Single-threaded: the test runs with the big lock held.
 */
#ifndef HYVM_TESTS_VIRTIO_DRIVER_H
#define HYVM_TESTS_VIRTIO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "hw/virtio/virtio.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "tests/unit/guest-ram.h"

#define VD_QUEUE_STRIDE 0x4000ull   /* queue i's rings at base + i * VD_QUEUE_STRIDE */
#define VD_QSIZE_MAX    256

/* ---- the fake transport ---- */

static unsigned notifies G_GNUC_UNUSED;

static inline void fake_notify(struct virtio_device *vdev, uint16_t vector)
{
    notifies++;
}

static const struct virtio_transport_ops fake_transport G_GNUC_UNUSED = {
    .name = "fake",
    .notify = fake_notify,
};

/* ---- a driver's view of one queue ---- */

struct tq {
    struct virtio_device *vdev;
    unsigned index;
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx, next_desc, used_seen;
    uint64_t head_gpa[VD_QSIZE_MAX];    /* the buffer each head descriptor points to */
};

struct buf {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

/* Queue i of vdev with size entries, its rings zeroed at desc (section 2.7). */
static inline void tq_setup_at(struct tq *q, struct virtio_device *vdev, unsigned i,
                               uint64_t desc, uint16_t size)
{
    struct virtqueue *vq = &vdev->vqs[i];

    g_assert_cmpuint(size, <=, VD_QSIZE_MAX);
    *q = (struct tq){ .vdev = vdev, .index = i, .size = size, .desc = desc };
    q->avail = q->desc + 0x1000;
    q->used = q->desc + 0x2000;
    memset(ram_hva(q->desc, VD_QUEUE_STRIDE), 0, VD_QUEUE_STRIDE);
    vq->num = size;
    vq->desc = q->desc;
    vq->avail = q->avail;
    vq->used = q->used;
    g_assert_true(virtqueue_enable(vq));
}

/* Makes a chain of n buffers available; kick: notify the device. */
static inline void tq_add_chain(struct tq *q, const struct buf *b, unsigned n, bool kick)
{
    uint16_t head = q->next_desc;

    for (unsigned i = 0; i < n; i++) {
        uint64_t d = q->desc + 16ull * ((head + i) % q->size);

        put64(d, b[i].gpa);
        put32(d + 8, b[i].len);
        put16(d + 12, (b[i].write ? VRING_DESC_F_WRITE : 0) |
                      (i + 1 < n ? VRING_DESC_F_NEXT : 0));
        put16(d + 14, (head + i + 1) % q->size);
    }
    if (n) {
        q->head_gpa[head] = b[0].gpa;
    }
    q->next_desc = (head + n) % q->size;
    put16(q->avail + 4 + 2 * (q->avail_idx % q->size), head);
    put16(q->avail + 2, ++q->avail_idx);
    if (kick) {
        virtio_queue_kick(q->vdev, q->index);
    }
}

static inline uint16_t tq_used_idx(const struct tq *q)
{
    return get16(q->used + 2);
}

static inline uint32_t tq_used_id(const struct tq *q, unsigned i)
{
    return get32(q->used + 4 + 8 * (i % q->size));
}

static inline uint32_t tq_used_len(const struct tq *q, unsigned i)
{
    return get32(q->used + 4 + 8 * (i % q->size) + 4);
}

/* The next used entry the test has not looked at: its buffer and length. */
static inline bool tq_next_used(struct tq *q, uint64_t *gpa, uint32_t *len)
{
    uint32_t id;

    *gpa = 0;
    *len = 0;
    if (tq_used_idx(q) == q->used_seen) {
        return false;
    }
    id = tq_used_id(q, q->used_seen);
    g_assert_cmpuint(id, <, q->size);
    *gpa = q->head_gpa[id];
    *len = tq_used_len(q, q->used_seen);
    q->used_seen++;
    return true;
}

/* ---- the driver's start-up ---- */

/*
 * As a driver brings a device up (section 3.1.1): ACKNOWLEDGE, DRIVER, the
 * features it acks, FEATURES_OK, every queue live (queues[i] at
 * base + i * VD_QUEUE_STRIDE), DRIVER_OK; then the notify count restarts.
 */
static inline void vd_driver_start(struct virtio_device *vdev, uint64_t features,
                                   struct tq *queues, uint64_t base, uint16_t size)
{
    uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    vdev->transport = &fake_transport;
    virtio_set_status(vdev, st);
    g_assert_true(virtio_set_guest_features(vdev, features));
    virtio_set_status(vdev, st |= VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        tq_setup_at(&queues[i], vdev, i, base + i * VD_QUEUE_STRIDE, size);
    }
    virtio_set_status(vdev, st | VIRTIO_CONFIG_S_DRIVER_OK);
    notifies = 0;
}

/* ---- the test program ---- */

/*
 * A device test's start: GLib's test framework, the big lock held as a
 * vCPU thread would hold it, ram_size bytes of guest RAM at 0 and, for a
 * tmp_template, a temporary directory (returned; NULL without one).
 */
static inline char *vd_test_init(int *argc, char ***argv, uint64_t ram_size,
                                 const char *tmp_template)
{
    g_autoptr(GError) err = NULL;
    char *dir = NULL;

    g_test_init(argc, argv, NULL);
    bql_lock();
    g_assert_cmpint(ram_add_region(0, ram_size, &err), ==, 0);
    if (tmp_template) {
        dir = g_dir_make_tmp(tmp_template, &err);
        g_assert_no_error(err);
    }
    return dir;
}

/* ---- the main loop ---- */

/* Runs the main loop until q holds n used entries the test has not seen; false after ~3 s. */
static inline bool tq_pump_until_used(const struct tq *q, uint16_t n)
{
    for (unsigned i = 0; i < 3000; i++) {
        if ((uint16_t)(tq_used_idx(q) - q->used_seen) >= n) {
            return true;
        }
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(1000);
        }
    }
    return (uint16_t)(tq_used_idx(q) - q->used_seen) >= n;
}

/* Runs the loop for a while, for checks that something does NOT happen. */
static inline void pump_for_ms(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        g_usleep(1000);
    }
}

#endif
