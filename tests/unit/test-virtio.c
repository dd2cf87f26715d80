/*
 * The virtio core (hw/virtio/virtio.c, virtqueue.c) driven as a driver and
 * a transport would: a fake device with two queues, a fake transport that
 * counts interrupts, rings laid out in guest RAM by hand (virtio 1.2
 * section 2.7).  Malformed chains must break the device, once, without any
 * buffer outside guest RAM being used.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "hw/virtio/virtio.h"
#include "system/log.h"
#include "system/memory.h"
#include "tests/unit/guest-ram.h"

#define RAM_SIZE   (1u << 20)
#define QSIZE      8
#define DESC       0x1000u
#define AVAIL      0x2000u
#define USED       0x3000u
#define BUF        0x10000u
#define INDIRECT   0x8000u

struct fake_dev {
    struct virtio_device vdev;
    unsigned kicks;
    unsigned resets;
    uint64_t acked;
};

static unsigned notifies;
static uint16_t last_vector;
static unsigned transport_resets;

static void fake_notify(struct virtio_device *vdev, uint16_t vector)
{
    (void)vdev;
    notifies++;
    last_vector = vector;
}

static void fake_transport_reset(struct virtio_device *vdev)
{
    (void)vdev;
    transport_resets++;
}

static const struct virtio_transport_ops fake_transport = {
    .name = "fake", .notify = fake_notify, .reset = fake_transport_reset,
};

static void fake_handle(struct virtio_device *vdev, unsigned q)
{
    (void)q;
    ((struct fake_dev *)vdev)->kicks++;
}

static void fake_reset(struct virtio_device *vdev)
{
    ((struct fake_dev *)vdev)->resets++;
}

static void fake_set_features(struct virtio_device *vdev, uint64_t f)
{
    ((struct fake_dev *)vdev)->acked = f;
}

/* Byte 0 is writable, the rest read-only. */
static uint8_t saved_config[8];
static void fake_config_written(struct virtio_device *vdev, unsigned off, unsigned len)
{
    (void)off;
    (void)len;
    memcpy(vdev->config + 1, saved_config + 1, 7);
}

static const struct virtio_dev_ops fake_ops = {
    .name = "fake", .device_id = 99, .config_size = 8,
    .reset = fake_reset, .set_features = fake_set_features,
    .config_written = fake_config_written,
};

static char *log_path;

static struct fake_dev *setup(bool version1)
{
    struct fake_dev *d = g_new0(struct fake_dev, 1);
    uint64_t f = 1ull << VIRTIO_RING_F_INDIRECT_DESC;
    GError *err = NULL;
    struct virtqueue *vq;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, &err), ==, 0);
    virtio_init(&d->vdev, &fake_ops, NULL, 2, QSIZE, 1ull << 5);
    d->vdev.transport = &fake_transport;
    d->vdev.vqs[0].handle = fake_handle;
    memcpy(d->vdev.config, "\1\2\3\4\5\6\7\10", 8);
    memcpy(saved_config, d->vdev.config, 8);
    if (version1) {
        f |= 1ull << VIRTIO_F_VERSION_1;
    }
    virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    g_assert_true(virtio_set_guest_features(&d->vdev, f));
    virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK);
    vq = &d->vdev.vqs[0];
    vq->num = QSIZE;
    vq->desc = DESC;
    vq->avail = AVAIL;
    vq->used = USED;
    g_assert_true(virtqueue_enable(vq));
    virtio_set_status(&d->vdev, d->vdev.status | VIRTIO_CONFIG_S_DRIVER_OK);
    notifies = 0;
    return d;
}

static void teardown(struct fake_dev *d)
{
    virtio_device_free(&d->vdev);
    ram_free_all();
}

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    put64(table + 16 * i, addr);
    put32(table + 16 * i + 8, len);
    put16(table + 16 * i + 12, flags);
    put16(table + 16 * i + 14, next);
}

/* Makes head the next available entry and publishes it. */
static void make_avail(uint16_t head)
{
    uint16_t idx = get16(AVAIL + 2);

    put16(AVAIL + 4 + 2 * (idx % QSIZE), head);
    put16(AVAIL + 2, idx + 1);
}

static void *hva(uint64_t gpa)
{
    return ram_hva(gpa, 1);
}

static unsigned log_lines(void)
{
    g_autofree char *text = NULL;
    unsigned n = 0;

    fflush(NULL);
    if (!g_file_get_contents(log_path, &text, NULL, NULL)) {
        return 0;
    }
    for (const char *p = text; *p; p++) {
        n += *p == '\n';
    }
    return n;
}

/* The next chain, which must be there with out readable and in writable buffers. */
static struct virtq_elem *pop_expect(struct virtqueue *vq, size_t size, unsigned out, unsigned in)
{
    struct virtq_elem *e = virtqueue_pop(vq, size);

    g_assert_nonnull(e);
    g_assert_cmpuint(e->out_num, ==, out);
    g_assert_cmpuint(e->in_num, ==, in);
    return e;
}

static void test_direct_chain(void)
{
    struct fake_dev *d = setup(true);
    struct virtqueue *vq = &d->vdev.vqs[0];
    struct virtq_elem *e;

    put_desc(DESC, 3, BUF, 16, VRING_DESC_F_NEXT, 5);
    put_desc(DESC, 5, BUF + 0x100, 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    put_desc(DESC, 1, BUF + 0x200, 1, VRING_DESC_F_WRITE, 0);
    make_avail(3);
    g_assert_false(virtqueue_empty(vq));
    e = pop_expect(vq, sizeof(*e), 1, 2);
    g_assert_cmpuint(e->index, ==, 3);
    g_assert_true(e->out_sg[0].iov_base == hva(BUF));
    g_assert_cmpuint(e->out_sg[0].iov_len, ==, 16);
    g_assert_true(e->in_sg[0].iov_base == hva(BUF + 0x100));
    g_assert_true(e->in_sg[1].iov_base == hva(BUF + 0x200));
    g_assert_cmpuint(iov_size(e->in_sg, e->in_num), ==, 33);
    g_assert_null(virtqueue_pop(vq, sizeof(*e)));

    virtqueue_push(vq, e, 33);
    g_assert_cmpuint(get16(USED + 2), ==, 1);
    g_assert_cmpuint(get32(USED + 4), ==, 3);
    g_assert_cmpuint(get32(USED + 8), ==, 33);
    virtqueue_notify(vq);
    g_assert_cmpuint(notifies, ==, 1);
    g_assert_cmpuint(d->vdev.isr & VIRTIO_ISR_QUEUE, ==, VIRTIO_ISR_QUEUE);
    g_free(e);
    teardown(d);
}

static void test_indirect_chain(void)
{
    struct fake_dev *d = setup(true);
    struct virtqueue *vq = &d->vdev.vqs[0];
    struct virtq_elem *e;

    put_desc(INDIRECT, 0, BUF, 8, VRING_DESC_F_NEXT, 2);
    put_desc(INDIRECT, 2, BUF + 0x40, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    put_desc(INDIRECT, 1, BUF + 0x400, 1, VRING_DESC_F_WRITE, 0);
    put_desc(DESC, 0, INDIRECT, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    e = pop_expect(vq, 64, 1, 2);
    g_assert_true(e->in_sg[0].iov_base == hva(BUF + 0x40));
    g_assert_cmpuint(e->in_sg[1].iov_len, ==, 1);
    g_assert_false(d->vdev.broken);
    virtqueue_push(vq, e, 0);
    g_free(e);
    teardown(d);
}

static void test_suppression(void)
{
    struct fake_dev *d = setup(true);
    struct virtqueue *vq = &d->vdev.vqs[0];
    struct virtq_elem *e;

    /* Without event idx: the driver's NO_INTERRUPT flag. */
    put_desc(DESC, 0, BUF, 8, 0, 0);
    put16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    make_avail(0);
    e = virtqueue_pop(vq, sizeof(*e));
    virtqueue_push(vq, e, 0);
    g_free(e);
    virtqueue_notify(vq);
    g_assert_cmpuint(notifies, ==, 0);
    put16(AVAIL, 0);
    virtqueue_notify(vq);
    g_assert_cmpuint(notifies, ==, 1);

    /* Without event idx the device asks for no kicks through used->flags. */
    virtqueue_set_notification(vq, false);
    g_assert_cmpuint(get16(USED), ==, VRING_USED_F_NO_NOTIFY);
    virtqueue_set_notification(vq, true);
    g_assert_cmpuint(get16(USED), ==, 0);
    teardown(d);
}

static void test_event_idx(void)
{
    struct fake_dev *d = setup(true);
    struct virtqueue *vq = &d->vdev.vqs[0];

    virtio_reset(&d->vdev);
    virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_DRIVER);
    virtio_set_guest_features(&d->vdev, (1ull << VIRTIO_F_VERSION_1) |
                              (1ull << VIRTIO_RING_F_EVENT_IDX));
    virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    memset(hva(DESC), 0, 0x3000);
    vq->num = QSIZE;
    vq->desc = DESC;
    vq->avail = AVAIL;
    vq->used = USED;
    g_assert_true(virtqueue_enable(vq));
    virtio_set_status(&d->vdev, d->vdev.status | VIRTIO_CONFIG_S_DRIVER_OK);
    notifies = 0;

    for (unsigned i = 0; i < 4; i++) {
        put_desc(DESC, i, BUF + 16 * i, 16, 0, 0);
        make_avail(i);
    }
    /* The driver wants an interrupt once used passes entry 2 (used_event = 2). */
    put16(AVAIL + 4 + 2 * QSIZE, 2);
    for (unsigned i = 0; i < 4; i++) {
        struct virtq_elem *e = virtqueue_pop(vq, sizeof(*e));

        g_assert_nonnull(e);
        /* avail_event follows what the device took */
        g_assert_cmpuint(get16(USED + 4 + 8 * QSIZE), ==, i + 1);
        virtqueue_push(vq, e, 0);
        virtqueue_notify(vq);
        g_free(e);
    }
    /* The first notify has nothing to compare with and signals; then only
     * the push that made used_idx 3 (passing used_event 2) does. */
    g_assert_cmpuint(notifies, ==, 2);
    teardown(d);
}

/* Each malformed chain breaks the device without a buffer being handed out. */
static void check_broken(struct fake_dev *d, unsigned lines_before)
{
    struct virtqueue *vq = &d->vdev.vqs[0];

    g_assert_null(virtqueue_pop(vq, sizeof(struct virtq_elem)));
    g_assert_true(d->vdev.broken);
    g_assert_cmpuint(d->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET, ==,
                     VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmpuint(d->vdev.isr & VIRTIO_ISR_CONFIG, ==, VIRTIO_ISR_CONFIG);
    g_assert_cmpuint(notifies, ==, 1);
    g_assert_cmpuint(log_lines(), ==, lines_before + 1);
    /* Still broken, nothing more logged, kicks ignored. */
    make_avail(0);
    g_assert_null(virtqueue_pop(vq, sizeof(struct virtq_elem)));
    virtio_queue_kick(&d->vdev, 0);
    g_assert_cmpuint(d->kicks, ==, 0);
    g_assert_cmpuint(log_lines(), ==, lines_before + 1);
    /* The driver reset clears it. */
    virtio_set_status(&d->vdev, 0);
    g_assert_false(d->vdev.broken);
    g_assert_cmpuint(d->vdev.status, ==, 0);
    g_assert_false(vq->ready);
}

enum bad_kind {
    BAD_HEAD, BAD_NEXT, BAD_LOOP, BAD_OUTSIDE_RAM, BAD_WRAP, BAD_READ_AFTER_WRITE,
    BAD_INDIRECT_LEN, BAD_INDIRECT_ZERO, BAD_INDIRECT_NESTED, BAD_INDIRECT_NEXT,
    BAD_INDIRECT_OUTSIDE, BAD_INDIRECT_LOOP, BAD_AVAIL_JUMP, BAD_INDIRECT_UNNEGOTIATED,
};

static void test_malformed(gconstpointer data)
{
    enum bad_kind kind = GPOINTER_TO_INT(data);
    struct fake_dev *d = setup(kind != BAD_INDIRECT_UNNEGOTIATED);
    unsigned before = log_lines();

    if (kind == BAD_INDIRECT_UNNEGOTIATED) {
        /* Renegotiate without INDIRECT_DESC (VERSION_1 only). */
        virtio_reset(&d->vdev);
        virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_DRIVER);
        virtio_set_guest_features(&d->vdev, 1ull << VIRTIO_F_VERSION_1);
        virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
        d->vdev.vqs[0].num = QSIZE;
        d->vdev.vqs[0].desc = DESC;
        d->vdev.vqs[0].avail = AVAIL;
        d->vdev.vqs[0].used = USED;
        g_assert_true(virtqueue_enable(&d->vdev.vqs[0]));
        virtio_set_status(&d->vdev, d->vdev.status | VIRTIO_CONFIG_S_DRIVER_OK);
        put_desc(DESC, 0, INDIRECT, 16, VRING_DESC_F_INDIRECT, 0);
        put_desc(INDIRECT, 0, BUF, 16, 0, 0);
        make_avail(0);
        notifies = 0;
        check_broken(d, before);
        teardown(d);
        return;
    }
    switch (kind) {
    case BAD_HEAD:
        make_avail(QSIZE);
        break;
    case BAD_NEXT:
        put_desc(DESC, 0, BUF, 16, VRING_DESC_F_NEXT, QSIZE + 3);
        make_avail(0);
        break;
    case BAD_LOOP:
        put_desc(DESC, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
        put_desc(DESC, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
        make_avail(0);
        break;
    case BAD_OUTSIDE_RAM:
        put_desc(DESC, 0, RAM_SIZE - 8, 16, 0, 0);
        make_avail(0);
        break;
    case BAD_WRAP:
        put_desc(DESC, 0, UINT64_MAX - 4, 16, 0, 0);
        make_avail(0);
        break;
    case BAD_READ_AFTER_WRITE:
        put_desc(DESC, 0, BUF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
        put_desc(DESC, 1, BUF, 16, 0, 0);
        make_avail(0);
        break;
    case BAD_INDIRECT_LEN:
        put_desc(DESC, 0, INDIRECT, 20, VRING_DESC_F_INDIRECT, 0);
        make_avail(0);
        break;
    case BAD_INDIRECT_ZERO:
        put_desc(DESC, 0, INDIRECT, 0, VRING_DESC_F_INDIRECT, 0);
        make_avail(0);
        break;
    case BAD_INDIRECT_NESTED:
        put_desc(INDIRECT, 0, INDIRECT + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
        put_desc(DESC, 0, INDIRECT, 16, VRING_DESC_F_INDIRECT, 0);
        make_avail(0);
        break;
    case BAD_INDIRECT_NEXT:
        put_desc(INDIRECT, 0, BUF, 16, 0, 0);
        put_desc(DESC, 0, INDIRECT, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
        put_desc(DESC, 1, BUF, 16, 0, 0);
        make_avail(0);
        break;
    case BAD_INDIRECT_OUTSIDE:
        put_desc(DESC, 0, RAM_SIZE - 16, 64, VRING_DESC_F_INDIRECT, 0);
        make_avail(0);
        break;
    case BAD_INDIRECT_LOOP:
        put_desc(INDIRECT, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
        put_desc(INDIRECT, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
        put_desc(DESC, 0, INDIRECT, 32, VRING_DESC_F_INDIRECT, 0);
        make_avail(0);
        break;
    case BAD_AVAIL_JUMP:
        put16(AVAIL + 2, QSIZE + 1);
        break;
    case BAD_INDIRECT_UNNEGOTIATED:
        break;
    }
    check_broken(d, before);
    teardown(d);
}

/* A chain as long as the queue is fine; one entry more is not possible
 * without a loop, which the walk stops. */
static void test_full_length_chain(void)
{
    struct fake_dev *d = setup(true);
    struct virtq_elem *e;

    for (unsigned i = 0; i < QSIZE; i++) {
        put_desc(DESC, i, BUF + 16 * i, 16, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
    }
    make_avail(0);
    e = virtqueue_pop(&d->vdev.vqs[0], sizeof(*e));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->out_num, ==, QSIZE);
    g_free(e);
    teardown(d);
}

static void test_enable_checks(void)
{
    struct fake_dev *d = setup(true);
    struct virtqueue *vq = &d->vdev.vqs[1];
    static const struct { uint16_t num; uint64_t desc, avail, used; } bad[] = {
        { 6, DESC, AVAIL, USED },                 /* not a power of two */
        { 16, DESC, AVAIL, USED },                /* above num_max */
        { 8, DESC + 8, AVAIL, USED },             /* misaligned table */
        { 8, DESC, AVAIL + 1, USED },             /* misaligned avail */
        { 8, DESC, AVAIL, USED + 2 },             /* misaligned used */
        { 8, RAM_SIZE - 64, AVAIL, USED },        /* table past RAM */
        { 8, DESC, AVAIL, RAM_SIZE - 16 },        /* used ring past RAM */
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        vq->num = bad[i].num;
        vq->desc = bad[i].desc;
        vq->avail = bad[i].avail;
        vq->used = bad[i].used;
        g_assert_false(virtqueue_enable(vq));
        g_assert_false(vq->ready);
        g_assert_true(d->vdev.broken);
        virtio_set_status(&d->vdev, 0);
    }
    teardown(d);
}

static void test_status_and_features(void)
{
    struct fake_dev *d = g_new0(struct fake_dev, 1);
    GError *err = NULL;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, &err), ==, 0);
    virtio_init(&d->vdev, &fake_ops, NULL, 1, QSIZE, 1ull << 5);
    d->vdev.transport = &fake_transport;
    d->vdev.vqs[0].handle = fake_handle;
    g_assert_true(d->vdev.host_features & (1ull << VIRTIO_F_VERSION_1));
    g_assert_true(d->vdev.host_features & (1ull << 5));

    /* A driver cannot ack what was not offered. */
    virtio_set_guest_features(&d->vdev, (1ull << 5) | (1ull << 7) | (1ull << 40));
    g_assert_cmphex(d->acked, ==, 1ull << 5);
    /* Modern transport: FEATURES_OK without VERSION_1 does not stick. */
    virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_cmpuint(d->vdev.status & VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    virtio_set_guest_features(&d->vdev, (1ull << 5) | (1ull << VIRTIO_F_VERSION_1));
    virtio_set_status(&d->vdev, VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_cmpuint(d->vdev.status & VIRTIO_CONFIG_S_FEATURES_OK, ==,
                     VIRTIO_CONFIG_S_FEATURES_OK);
    /* Features are fixed from then on. */
    g_assert_false(virtio_set_guest_features(&d->vdev, 0));
    g_assert_true(virtio_has_feature(&d->vdev, 5));

    /* A chain made available before DRIVER_OK is handled at DRIVER_OK. */
    d->vdev.vqs[0].desc = DESC;
    d->vdev.vqs[0].avail = AVAIL;
    d->vdev.vqs[0].used = USED;
    g_assert_true(virtqueue_enable(&d->vdev.vqs[0]));
    put_desc(DESC, 0, BUF, 16, 0, 0);
    make_avail(0);
    g_assert_cmpuint(d->kicks, ==, 0);
    virtio_set_status(&d->vdev, d->vdev.status | VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_cmpuint(d->kicks, ==, 1);
    virtio_queue_kick(&d->vdev, 0);
    g_assert_cmpuint(d->kicks, ==, 2);
    virtio_queue_kick(&d->vdev, 7);     /* no such queue: ignored */
    g_assert_cmpuint(d->kicks, ==, 2);

    /* Reset: the device's hook, queues and transport state back. */
    transport_resets = 0;
    virtio_set_status(&d->vdev, 0);
    g_assert_cmpuint(d->resets, ==, 1);
    g_assert_cmpuint(transport_resets, ==, 1);
    g_assert_cmpuint(d->vdev.guest_features, ==, 0);
    g_assert_false(d->vdev.vqs[0].ready);
    g_assert_cmpuint(d->vdev.vqs[0].num, ==, QSIZE);
    teardown(d);
}

static void test_config_space(void)
{
    struct fake_dev *d = setup(true);

    g_assert_cmphex(virtio_config_read(&d->vdev, 0, 4), ==, 0x04030201);
    g_assert_cmphex(virtio_config_read(&d->vdev, 4, 4), ==, 0x08070605);
    g_assert_cmphex(virtio_config_read(&d->vdev, 6, 4), ==, 0);     /* straddles the end */
    g_assert_cmphex(virtio_config_read(&d->vdev, 100, 1), ==, 0);
    virtio_config_write(&d->vdev, 0, 0xaabbccdd, 4);                /* only byte 0 sticks */
    g_assert_cmphex(virtio_config_read(&d->vdev, 0, 4), ==, 0x040302dd);
    virtio_config_write(&d->vdev, 7, 0xffff, 2);                     /* out of range */
    g_assert_cmphex(virtio_config_read(&d->vdev, 4, 4), ==, 0x08070605);

    notifies = 0;
    virtio_notify_config(&d->vdev);
    g_assert_cmpuint(d->vdev.config_generation, ==, 1);
    g_assert_cmpuint(notifies, ==, 1);
    g_assert_cmpuint(last_vector, ==, VIRTIO_NO_VECTOR);
    teardown(d);
}

static void test_iov(void)
{
    uint8_t a[3] = { 0 }, b[5] = { 0 }, out[8];
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

    g_assert_cmpuint(iov_size(iov, 2), ==, 8);
    g_assert_cmpuint(iov_from_buf(iov, 2, 2, "wxyz", 4), ==, 4);
    g_assert_cmpuint(a[2], ==, 'w');
    g_assert_cmpmem(b, 3, "xyz", 3);
    g_assert_cmpuint(iov_from_buf(iov, 2, 6, "12345", 5), ==, 2);   /* bounded */
    g_assert_cmpuint(iov_to_buf(iov, 2, 0, out, sizeof(out)), ==, 8);
    g_assert_cmpmem(out + 2, 6, "wxyz12", 6);
    g_assert_cmpuint(iov_to_buf(iov, 2, 9, out, 1), ==, 0);
}

int main(int argc, char **argv)
{
    static const char *const bad_names[] = {
        "head", "next", "loop", "outside-ram", "wrap", "readable-after-writable",
        "indirect-len", "indirect-zero", "indirect-nested", "indirect-next",
        "indirect-outside", "indirect-loop", "avail-jump", "indirect-unnegotiated",
    };
    g_autofree char *dir = g_dir_make_tmp("hyvm-virtio-XXXXXX", NULL);
    GError *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    log_path = g_build_filename(dir, "log", NULL);
    g_assert_cmpint(log_set_file(log_path, &err), ==, 0);
    log_set_mask(LOG_GUEST_ERROR);

    g_test_add_func("/virtio/direct-chain", test_direct_chain);
    g_test_add_func("/virtio/indirect-chain", test_indirect_chain);
    g_test_add_func("/virtio/suppression", test_suppression);
    g_test_add_func("/virtio/event-idx", test_event_idx);
    g_test_add_func("/virtio/full-length-chain", test_full_length_chain);
    g_test_add_func("/virtio/enable-checks", test_enable_checks);
    g_test_add_func("/virtio/status-features", test_status_and_features);
    g_test_add_func("/virtio/config-space", test_config_space);
    g_test_add_func("/virtio/iov", test_iov);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_names); i++) {
        g_autofree char *name = g_strdup_printf("/virtio/malformed/%s", bad_names[i]);

        g_test_add_data_func(name, GINT_TO_POINTER(i), test_malformed);
    }
    ret = g_test_run();
    g_unlink(log_path);
    g_rmdir(dir);
    g_free(log_path);
    return ret;
}
