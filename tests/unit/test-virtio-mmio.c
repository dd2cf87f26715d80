/*
 * The virtio-mmio transport (hw/virtio/virtio-mmio.c) driven through the
 * MMIO dispatch as Linux's virtio_mmio driver drives it: a tiny device with
 * one queue of 8 entries that answers each request by writing 4 bytes,
 * version 2 and legacy version 1 (ring addresses, QueuePFN layout), the
 * interrupt line following InterruptStatus, resets, the transports QEMU's
 * bus search picks, kicks through an ioeventfd as KVM signals them, and
 * -M microvm's transports, kernel command line and DSDT entries.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "accel/accel.h"
#include "hw/device.h"
#include "hw/irq.h"
#include "hw/virtio/virtio-mmio.h"
#include "hw/virtio/virtio.h"
#include "machine/e820.h"
#include "machine/machine-internal.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/le.h"
#include "system/memory.h"
#include "tests/unit/guest-ram.h"
#include "tests/unit/io-access.h"

#define MiB (1ull << 20)
#define RAM_SIZE (16 * MiB)
#define BASE VIRTIO_MMIO_BASE
#define GSI 5
#define RING 0x100000ull        /* page-aligned rings */
#define BUF 0x200000ull         /* the request buffer */
#define QSIZE 8
#define TEST_FEATURE 5          /* a device feature bit */
#define CONFIG_SIZE 8

/* ---- a tiny device: each request gets 4 bytes, "abcd" ---- */

struct test_dev {
    struct virtio_device vdev;   /* first: the core frees the struct through it */
    unsigned requests;
    unsigned resets;
    unsigned config_writes;
    uint64_t features;
};

static struct test_dev *test_dev_of(struct virtio_device *vdev)
{
    return (struct test_dev *)((char *)vdev - offsetof(struct test_dev, vdev));
}

static void test_dev_handle(struct virtio_device *vdev, unsigned queue)
{
    struct test_dev *d = test_dev_of(vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *elem;

    while ((elem = virtqueue_pop(vq, sizeof(*elem)))) {
        size_t n = iov_from_buf(elem->in_sg, elem->in_num, 0, "abcd", 4);

        d->requests++;
        virtqueue_push(vq, elem, n);
        g_free(elem);
    }
    virtqueue_notify(vq);
}

static void test_dev_reset(struct virtio_device *vdev)
{
    test_dev_of(vdev)->resets++;
}

static void test_dev_config_written(struct virtio_device *vdev, unsigned offset, unsigned len)
{
    test_dev_of(vdev)->config_writes++;
}

static void test_dev_set_features(struct virtio_device *vdev, uint64_t features)
{
    test_dev_of(vdev)->features = features;
}

static const struct virtio_dev_ops test_dev_ops = {
    .name = "virtio-test",
    .device_id = VIRTIO_ID_RNG,
    .config_size = CONFIG_SIZE,
    .config_written = test_dev_config_written,
    .set_features = test_dev_set_features,
    .reset = test_dev_reset,
};

static const struct dev_prop no_props[] = { { NULL } };

static int test_dev_realize(struct machine *m, const struct dev_config *cfg, GError **errp);

static const struct device_type test_dev_type = {
    .name = "virtio-test-device", .bus = "virtio-bus", .props = no_props,
    .realize = test_dev_realize,
};

static struct test_dev *last_dev;

static int test_dev_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    struct test_dev *d = g_new0(struct test_dev, 1);
    int ret;

    virtio_init(&d->vdev, &test_dev_ops, cfg, 1, QSIZE, 1ull << TEST_FEATURE);
    d->vdev.vqs[0].handle = test_dev_handle;
    for (unsigned i = 0; i < CONFIG_SIZE; i++) {
        d->vdev.config[i] = 0x11 * (i + 1);
    }
    ret = virtio_plug(m, cfg, &d->vdev, errp);
    if (ret < 0) {
        virtio_device_free(&d->vdev);
        return ret;
    }
    last_dev = d;
    return 0;
}

static struct test_dev *plug_dev(void)
{
    const struct dev_config cfg = { .type = &test_dev_type };
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(test_dev_realize(NULL, &cfg, &err), ==, 0);
    g_assert_no_error(err);
    return last_dev;
}

/* ---- the interrupt lines ---- */

static int gsi_level[64];
static unsigned gsi_changes[64];

static void record_irq(void *opaque, unsigned gsi, int level)
{
    g_assert_cmpuint(gsi, <, G_N_ELEMENTS(gsi_level));
    if (gsi_level[gsi] != level) {
        gsi_changes[gsi]++;
    }
    gsi_level[gsi] = level;
}

/* ---- register access as the guest does it ---- */

static uint32_t rd(uint64_t base, unsigned reg)
{
    return mmio_rd(base + reg, 4);
}

static void wr(uint64_t base, unsigned reg, uint32_t v)
{
    mmio_wr(base + reg, v, 4);
}

static uint32_t rd_n(uint64_t base, unsigned reg, unsigned size)
{
    return mmio_rd(base + reg, size);
}

static void wr_n(uint64_t base, unsigned reg, uint32_t v, unsigned size)
{
    mmio_wr(base + reg, v, size);
}

static void setup(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(ram_add_region(0, RAM_SIZE, &err), ==, 0);
    memset(gsi_level, 0, sizeof(gsi_level));
    memset(gsi_changes, 0, sizeof(gsi_changes));
    irq_set_route(record_irq, NULL);
}

static void teardown(void)
{
    virtio_cleanup_all();
    virtio_mmio_destroy_all();
    io_unregister_all();
    ram_free_all();
    irq_set_route(NULL, NULL);
}

static struct virtio_mmio *create(uint64_t base, unsigned gsi, bool legacy)
{
    g_autoptr(GError) err = NULL;
    struct virtio_mmio *t = virtio_mmio_create(base, gsi, legacy, &err);

    g_assert_no_error(err);
    g_assert_nonnull(t);
    return t;
}

/* ---- the driver's side of a request ---- */

struct ring {
    uint64_t desc, avail, used;
};

/* One 16-byte device-writable buffer made available as the n-th request. */
static void give_buffer(const struct ring *r, uint16_t n)
{
    put64(r->desc, BUF);
    put32(r->desc + 8, 16);
    put16(r->desc + 12, VRING_DESC_F_WRITE);
    put16(r->desc + 14, 0);
    put16(r->avail + 4 + 2 * (n % QSIZE), 0);
    put16(r->avail + 2, n + 1);
}

static void check_used(const struct ring *r, uint16_t n)
{
    char buf[4];

    g_assert_cmpuint(get16(r->used + 2), ==, n + 1);
    g_assert_cmpuint(get32(r->used + 4 + 8 * (n % QSIZE)), ==, 0);      /* id */
    g_assert_cmpuint(get32(r->used + 4 + 8 * (n % QSIZE) + 4), ==, 4);  /* len */
    g_assert_cmpint(ram_read(BUF, buf, 4), ==, 0);
    g_assert_cmpint(memcmp(buf, "abcd", 4), ==, 0);
}

static void clear_rings(void)
{
    static const uint8_t zero[2 * 4096];

    g_assert_cmpint(ram_write(RING, zero, sizeof(zero)), ==, 0);
    g_assert_cmpint(ram_write(BUF, zero, 16), ==, 0);
}

/* Linux's virtio_mmio probe and setup for version 2 (4.2.3); ok: whether
 * the device takes the rings. */
static void driver_init_v2_ok(uint64_t base, const struct ring *r, bool ok)
{
    uint32_t f0, f1;

    g_assert_cmphex(rd(base, VIRTIO_MMIO_MAGIC_VALUE), ==, 0x74726976);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_VERSION), ==, 2);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_DEVICE_ID), ==, VIRTIO_ID_RNG);
    g_assert_cmphex(rd(base, VIRTIO_MMIO_VENDOR_ID), ==, 0x554d4551);
    wr(base, VIRTIO_MMIO_STATUS, 0);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    wr(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    f1 = rd(base, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f0 = rd(base, VIRTIO_MMIO_DEVICE_FEATURES);
    g_assert_true(f1 & 1);                                   /* VERSION_1 */
    g_assert_true(f0 & (1u << TEST_FEATURE));
    g_assert_true(f0 & (1u << VIRTIO_RING_F_INDIRECT_DESC));
    /* Legacy-only bits are hidden from a 1.x driver, as QEMU hides them. */
    g_assert_false(f0 & (1u << VIRTIO_F_NOTIFY_ON_EMPTY));
    g_assert_false(f0 & (1u << VIRTIO_F_ANY_LAYOUT));
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES, 1);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES, 1u << TEST_FEATURE);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                                 VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_true(rd(base, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);

    wr(base, VIRTIO_MMIO_QUEUE_SEL, 1);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);   /* no queue 1 */
    wr(base, VIRTIO_MMIO_QUEUE_SEL, 0);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, QSIZE);
    wr(base, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    wr(base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc);
    wr(base, VIRTIO_MMIO_QUEUE_DESC_HIGH, r->desc >> 32);
    wr(base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)r->avail);
    wr(base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, r->avail >> 32);
    wr(base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)r->used);
    wr(base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, r->used >> 32);
    wr(base, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_QUEUE_READY), ==, ok);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                                 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void driver_init_v2(uint64_t base, const struct ring *r)
{
    driver_init_v2_ok(base, r, true);
}

/* Linux's interrupt handler: read the cause, acknowledge it. */
static uint32_t driver_irq(uint64_t base)
{
    uint32_t isr = rd(base, VIRTIO_MMIO_INTERRUPT_STATUS);

    wr(base, VIRTIO_MMIO_INTERRUPT_ACK, isr);
    return isr;
}

/* A board with one version-2 transport and the device plugged into it. */
static struct test_dev *plug_v2(void)
{
    setup();
    create(BASE, GSI, false);
    return plug_dev();
}

/* The same with a driver up. */
static struct test_dev *start_v2(const struct ring *r)
{
    struct test_dev *d = plug_v2();

    clear_rings();
    driver_init_v2(BASE, r);
    return d;
}

/* ---- tests ---- */

static void test_empty(void)
{
    setup();
    create(BASE, GSI, false);
    create(BASE + VIRTIO_MMIO_SIZE, GSI + 1, true);
    for (unsigned i = 0; i < 2; i++) {
        uint64_t b = BASE + i * VIRTIO_MMIO_SIZE;

        g_assert_cmphex(rd(b, VIRTIO_MMIO_MAGIC_VALUE), ==, VIRTIO_MMIO_MAGIC);
        g_assert_cmpuint(rd(b, VIRTIO_MMIO_VERSION), ==, i ? 1 : 2);
        g_assert_cmphex(rd(b, VIRTIO_MMIO_VENDOR_ID), ==, VIRTIO_MMIO_VENDOR);
        g_assert_cmpuint(rd(b, VIRTIO_MMIO_DEVICE_ID), ==, 0);   /* no driver binds */
        wr(b, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
        g_assert_cmpuint(rd(b, VIRTIO_MMIO_STATUS), ==, 0);
        g_assert_cmpuint(rd(b, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);
    }
    teardown();
}

static void test_v2_request(void)
{
    const struct ring r = { RING, RING + 0x100, RING + 0x200 };
    struct test_dev *d;

    d = start_v2(&r);
    g_assert_cmphex(d->features, ==, (1ull << VIRTIO_F_VERSION_1) | (1ull << TEST_FEATURE));
    g_assert_cmphex(d->vdev.vqs[0].desc, ==, r.desc);
    g_assert_cmphex(d->vdev.vqs[0].avail, ==, r.avail);
    g_assert_cmphex(d->vdev.vqs[0].used, ==, r.used);

    for (uint16_t n = 0; n < 3; n++) {
        give_buffer(&r, n);
        g_assert_cmpint(gsi_level[GSI], ==, 0);
        wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        g_assert_cmpuint(d->requests, ==, n + 1u);
        check_used(&r, n);
        /* The line stays high until the driver acknowledges. */
        g_assert_cmpint(gsi_level[GSI], ==, 1);
        g_assert_cmpuint(driver_irq(BASE), ==, VIRTIO_ISR_QUEUE);
        g_assert_cmpint(gsi_level[GSI], ==, 0);
        g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    }
    g_assert_cmpuint(gsi_changes[GSI], ==, 6);

    /* A notify for a queue that does not exist does nothing. */
    wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    g_assert_cmpuint(d->requests, ==, 3);

    /* A config change: generation and InterruptStatus bit 1. */
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_CONFIG_GENERATION), ==, 0);
    virtio_notify_config(&d->vdev);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_CONFIG_GENERATION), ==, 1);
    g_assert_cmpint(gsi_level[GSI], ==, 1);
    g_assert_cmpuint(driver_irq(BASE), ==, VIRTIO_ISR_CONFIG);
    g_assert_cmpint(gsi_level[GSI], ==, 0);

    /* QueueReady = 0 turns the queue off; 1 brings it back as written. */
    wr(BASE, VIRTIO_MMIO_QUEUE_READY, 0);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    give_buffer(&r, 3);
    wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(d->requests, ==, 3);
    teardown();
}

/* Status 0: the device resets, the queue is off, the line low. */
static void test_v2_reset(void)
{
    const struct ring r = { RING, RING + 0x100, RING + 0x200 };
    struct test_dev *d;

    d = start_v2(&r);
    give_buffer(&r, 0);
    wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpint(gsi_level[GSI], ==, 1);
    d->resets = 0;
    wr(BASE, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(d->resets, ==, 1);
    g_assert_cmpint(gsi_level[GSI], ==, 0);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    g_assert_cmphex(d->vdev.guest_features, ==, 0);

    /* The same driver starts again from scratch and works. */
    clear_rings();
    driver_init_v2(BASE, &r);
    give_buffer(&r, 0);
    wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    check_used(&r, 0);

    /* A system reset does the same from the board's side. */
    virtio_mmio_reset(virtio_mmio_at(0));
    g_assert_cmpint(gsi_level[GSI], ==, 0);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    teardown();
}

/* Rings outside RAM or of a bad size: refused, the device needs a reset. */
static void test_v2_bad_queue(void)
{
    const struct ring r = { RING, RING + 0x100, RAM_SIZE - 8 };
    struct test_dev *d;

    d = plug_v2();
    driver_init_v2_ok(BASE, &r, false);
    g_assert_true(d->vdev.broken);
    /* A 1.x driver is told (2.1.2): DEVICE_NEEDS_RESET and a config interrupt. */
    g_assert_true(rd(BASE, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    wr(BASE, VIRTIO_MMIO_STATUS, 0);
    g_assert_false(d->vdev.broken);

    wr(BASE, VIRTIO_MMIO_QUEUE_NUM, QSIZE * 2);   /* more than QueueNumMax */
    wr(BASE, VIRTIO_MMIO_QUEUE_DESC_LOW, RING);
    wr(BASE, VIRTIO_MMIO_QUEUE_DRIVER_LOW, RING + 0x100);
    wr(BASE, VIRTIO_MMIO_QUEUE_DEVICE_LOW, RING + 0x200);
    wr(BASE, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    wr(BASE, VIRTIO_MMIO_STATUS, 0);

    wr(BASE, VIRTIO_MMIO_QUEUE_NUM, 0x10000 | QSIZE);   /* not truncated to 8 */
    wr(BASE, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    teardown();
}

/* Registers only the other interface has are ignored (and logged). */
static void test_wrong_version_registers(void)
{
    struct test_dev *d;

    setup();
    create(BASE, GSI, false);
    create(BASE + VIRTIO_MMIO_SIZE, GSI + 1, true);
    d = plug_dev();        /* the legacy one, the highest */
    g_assert_true(d->vdev.legacy);
    wr(BASE + VIRTIO_MMIO_SIZE, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_false(d->vdev.vqs[0].ready);
    g_assert_cmpuint(rd(BASE + VIRTIO_MMIO_SIZE, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    wr(BASE + VIRTIO_MMIO_SIZE, VIRTIO_MMIO_QUEUE_DESC_LOW, RING);

    d = plug_dev();        /* version 2 */
    g_assert_false(d->vdev.legacy);
    wr(BASE, VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
    wr(BASE, VIRTIO_MMIO_QUEUE_PFN, RING >> 12);
    g_assert_false(d->vdev.vqs[0].ready);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_QUEUE_PFN), ==, 0);
    teardown();
}

/* Registers take aligned 32-bit accesses only; the config space any width. */
static void test_access_width(void)
{
    struct test_dev *d;

    d = plug_v2();
    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_MAGIC_VALUE, 2), ==, 0);
    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_MAGIC_VALUE, 1), ==, 0);
    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_MAGIC_VALUE + 2, 4), ==, 0);
    wr_n(BASE, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
    wr_n(BASE, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 2);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_STATUS), ==, 0);

    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_CONFIG + 1, 1), ==, 0x22);
    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_CONFIG + 2, 2), ==, 0x4433);
    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_CONFIG + 4, 4), ==, 0x88776655);
    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_CONFIG + CONFIG_SIZE, 4), ==, 0);
    wr_n(BASE, VIRTIO_MMIO_CONFIG, 0xaa, 1);
    g_assert_cmpuint(d->config_writes, ==, 1);
    g_assert_cmphex(d->vdev.config[0], ==, 0xaa);
    wr_n(BASE, VIRTIO_MMIO_CONFIG + 6, 0xbbcc, 2);
    g_assert_cmpuint(d->config_writes, ==, 2);
    g_assert_cmphex(rd_n(BASE, VIRTIO_MMIO_CONFIG + 4, 4), ==, 0xbbcc6655);
    teardown();
}

/* Legacy version 1 (4.2.4) as Linux drives it. */
static void driver_init_legacy(uint64_t base, uint64_t ring, unsigned page)
{
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_VERSION), ==, 1);
    wr(base, VIRTIO_MMIO_GUEST_PAGE_SIZE, page);
    wr(base, VIRTIO_MMIO_STATUS, 0);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES, (1u << TEST_FEATURE) |
                                          (1u << VIRTIO_F_NOTIFY_ON_EMPTY));
    wr(base, VIRTIO_MMIO_QUEUE_SEL, 0);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_QUEUE_PFN), ==, 0);
    g_assert_cmpuint(rd(base, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, QSIZE);
    wr(base, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    wr(base, VIRTIO_MMIO_QUEUE_ALIGN, page);
    wr(base, VIRTIO_MMIO_QUEUE_PFN, ring / page);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                                 VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_legacy(void)
{
    /* 2.7.2 legacy layout: avail after 8 descriptors, used at the next page. */
    const struct ring r = { RING, RING + 16 * QSIZE, RING + 4096 };
    struct virtqueue *vq;
    struct test_dev *d;

    setup();
    create(BASE, GSI, true);
    d = plug_dev();
    vq = &d->vdev.vqs[0];
    clear_rings();

    /* One feature word: no VERSION_1, the legacy bits offered. */
    wr(BASE, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    g_assert_cmphex(rd(BASE, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);
    wr(BASE, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    g_assert_true(rd(BASE, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_F_NOTIFY_ON_EMPTY));
    g_assert_true(rd(BASE, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << TEST_FEATURE));

    driver_init_legacy(BASE, RING, 4096);
    g_assert_cmphex(d->features, ==, (1ull << TEST_FEATURE) | (1ull << VIRTIO_F_NOTIFY_ON_EMPTY));
    g_assert_true(vq->ready);
    g_assert_cmphex(vq->desc, ==, r.desc);
    g_assert_cmphex(vq->avail, ==, r.avail);
    g_assert_cmphex(vq->used, ==, r.used);
    g_assert_cmphex(rd(BASE, VIRTIO_MMIO_QUEUE_PFN), ==, RING >> 12);

    give_buffer(&r, 0);
    wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    check_used(&r, 0);
    g_assert_cmpint(gsi_level[GSI], ==, 1);
    g_assert_cmpuint(driver_irq(BASE), ==, VIRTIO_ISR_QUEUE);
    g_assert_cmpint(gsi_level[GSI], ==, 0);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_CONFIG_GENERATION), ==, 0);   /* not in v1 */

    /* QueuePFN 0 (the driver's del_vq) turns the queue off. */
    wr(BASE, VIRTIO_MMIO_QUEUE_PFN, 0);
    g_assert_false(vq->ready);
    g_assert_cmpuint(rd(BASE, VIRTIO_MMIO_QUEUE_PFN), ==, 0);

    /* Status 0 keeps the guest page size: Linux writes it once at probe. */
    wr(BASE, VIRTIO_MMIO_STATUS, 0);
    wr(BASE, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    wr(BASE, VIRTIO_MMIO_QUEUE_PFN, RING >> 12);
    g_assert_true(vq->ready);
    g_assert_cmphex(vq->desc, ==, RING);

    /* A system reset forgets it (QEMU's), and the queue. */
    virtio_mmio_reset(virtio_mmio_at(0));
    g_assert_false(vq->ready);
    wr(BASE, VIRTIO_MMIO_QUEUE_PFN, RING);
    g_assert_cmphex(vq->desc, ==, RING);

    /* A 64 KiB alignment moves the used ring; a bad one is refused. */
    wr(BASE, VIRTIO_MMIO_STATUS, 0);
    wr(BASE, VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
    wr(BASE, VIRTIO_MMIO_QUEUE_ALIGN, 0x10000);
    wr(BASE, VIRTIO_MMIO_QUEUE_PFN, RING >> 12);
    g_assert_cmphex(vq->used, ==, RING + 0x10000);
    wr(BASE, VIRTIO_MMIO_QUEUE_PFN, 0);
    wr(BASE, VIRTIO_MMIO_QUEUE_ALIGN, 3000);
    wr(BASE, VIRTIO_MMIO_QUEUE_PFN, RING >> 12);
    g_assert_false(vq->ready);
    teardown();
}

/* QEMU's bus search: the free transport created last. */
static void test_plug_order(void)
{
    g_autoptr(GError) err = NULL;
    const struct dev_config cfg = { .type = &test_dev_type };
    struct test_dev *d[3];

    setup();
    /* No transport at all (-M pc): QEMU's message. */
    g_assert_cmpint(test_dev_realize(NULL, &cfg, &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "No 'virtio-bus' bus found for device 'virtio-test-device'");
    g_clear_error(&err);

    for (unsigned i = 0; i < 3; i++) {
        create(BASE + i * VIRTIO_MMIO_SIZE, GSI + i, false);
    }
    for (unsigned i = 0; i < 3; i++) {
        d[i] = plug_dev();
    }
    for (unsigned i = 0; i < 3; i++) {
        g_assert_true(virtio_mmio_get_device(virtio_mmio_at(2 - i)) == &d[i]->vdev);
        g_assert_cmpuint(rd(BASE + (2 - i) * VIRTIO_MMIO_SIZE, VIRTIO_MMIO_DEVICE_ID), ==,
                         VIRTIO_ID_RNG);
    }
    g_assert_cmpint(test_dev_realize(NULL, &cfg, &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "No 'virtio-bus' bus found for device 'virtio-test-device'");
    teardown();
}

/* ---- ioeventfd ---- */

static struct accel_ioeventfd efd_seen;
static bool efd_assigned;
static unsigned efd_calls;
static int efd_result;

static int fake_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    efd_calls++;
    if (efd_result < 0) {
        return efd_result;
    }
    efd_seen = *e;
    efd_assigned = assign;
    return 0;
}

static const struct accel_ops fake_kvm = {
    .name = "kvm",
    .ioeventfd = fake_ioeventfd,
};

static struct test_dev *plug_dev_kvm(void)
{
    static struct machine m = { .accel = &fake_kvm };
    const struct dev_config cfg = { .type = &test_dev_type };
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(test_dev_realize(&m, &cfg, &err), ==, 0);
    return last_dev;
}

/* What KVM does on the driver's QueueNotify write: signal the eventfd. */
static void kvm_kick(void)
{
    uint64_t one = 1;

    g_assert_cmpint(write(efd_seen.fd, &one, sizeof(one)), ==, sizeof(one));
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* As start_v2 under a KVM-like accelerator whose ioeventfd assignment
 * returns result; global: a -global set while the transport is made. */
static struct test_dev *start_kvm(const struct ring *r, int result, const char *global)
{
    struct test_dev *d;

    setup();
    efd_calls = 0;
    efd_result = result;
    if (global) {
        g_assert_cmpint(device_global_add(global, NULL), ==, 0);
    }
    create(BASE, GSI, false);
    device_globals_clear();
    d = plug_dev_kvm();
    clear_rings();
    driver_init_v2(BASE, r);
    return d;
}

static void test_ioeventfd(void)
{
    const struct ring r = { RING, RING + 0x100, RING + 0x200 };
    struct test_dev *d;

    d = start_kvm(&r, 0, NULL);
    /* Assigned at DRIVER_OK: QueueNotify, 4 bytes, the queue's index. */
    g_assert_true(efd_assigned);
    g_assert_cmphex(efd_seen.addr, ==, BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
    g_assert_cmpuint(efd_seen.len, ==, 4);
    g_assert_false(efd_seen.pio);
    g_assert_true(efd_seen.datamatch);
    g_assert_cmpuint(efd_seen.data, ==, 0);
    give_buffer(&r, 0);
    kvm_kick();
    g_assert_cmpuint(d->requests, ==, 1);
    check_used(&r, 0);
    g_assert_cmpint(gsi_level[GSI], ==, 1);
    driver_irq(BASE);
    /* The driver's reset takes them away. */
    wr(BASE, VIRTIO_MMIO_STATUS, 0);
    g_assert_false(efd_assigned);
    teardown();

    /* A backend that refuses: kicks keep the register path. */
    d = start_kvm(&r, -ENOTSUP, NULL);
    g_assert_cmpuint(efd_calls, ==, 1);
    give_buffer(&r, 0);
    wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(d->requests, ==, 1);
    /* ...and it is not asked again. */
    wr(BASE, VIRTIO_MMIO_STATUS, 0);
    driver_init_v2(BASE, &r);
    g_assert_cmpuint(efd_calls, ==, 1);
    teardown();

    /* -global virtio-mmio.ioeventfd=off: never asked. */
    d = start_kvm(&r, 0, "virtio-mmio.ioeventfd=off");
    g_assert_cmpuint(efd_calls, ==, 0);
    give_buffer(&r, 0);
    wr(BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(d->requests, ==, 1);
    teardown();
}

/* ---- -M microvm ---- */

static int fake_add_ram(uint64_t gpa, uint64_t size, void *hva, GError **errp)
{
    return 0;
}

static void fake_set_irq(unsigned gsi, int level)
{
    record_irq(NULL, gsi, level);
}

static const struct accel_ops fake_tcg = {
    .name = "tcg",
    .add_ram = fake_add_ram,
    .set_irq = fake_set_irq,
};

struct board {
    struct machine m;
    struct hyvm_config *cfg;
};

/* Builds the board "-M machine [-global global]" with ndev test devices as
 * main() does; the board's init result, with *errp set on failure. */
static int board_init_global(struct board *b, const char *machine, const char *global,
                             unsigned ndev, GError **errp)
{
    g_autofree char *mopt = g_strdup(machine);
    g_autofree char *gopt = g_strdup(global);
    char *argv[] = { "hyvm", "-M", mopt, "-m", "64", "-nodefaults", "-global", gopt, NULL };
    g_autoptr(GError) err = NULL;

    memset(b, 0, sizeof(*b));
    b->cfg = config_parse(G_N_ELEMENTS(argv) - (global ? 1 : 3), argv, &err);
    g_assert_no_error(err);
    for (unsigned i = 0; i < ndev; i++) {
        struct dev_config *dc = g_new0(struct dev_config, 1);

        dc->type = &test_dev_type;
        g_ptr_array_add(b->cfg->devices, dc);
    }
    b->m.cfg = b->cfg;
    b->m.opts = b->cfg->machine_opts;
    b->m.ram_size = b->cfg->ram_size;
    b->m.ncpus = 1;
    b->m.accel = &fake_tcg;
    b->m.type = machine_type_resolve(machine_type_find(b->cfg->machine));
    g_assert_nonnull(b->m.type);
    memset(gsi_level, 0, sizeof(gsi_level));
    return b->m.type->init(&b->m, errp);
}

static int board_init(struct board *b, const char *machine, unsigned ndev, GError **errp)
{
    return board_init_global(b, machine, NULL, ndev, errp);
}

static void board_free(struct board *b)
{
    virtio_cleanup_all();
    virtio_mmio_destroy_all();
    io_unregister_all();
    ram_free_all();
    irq_set_route(NULL, NULL);
    if (b->m.reset_hooks) {
        g_array_free(b->m.reset_hooks, TRUE);
    }
    config_free(b->cfg);
}

static unsigned transport_count(void)
{
    unsigned n = 0;

    while (virtio_mmio_at(n)) {
        n++;
    }
    return n;
}

static void check_layout(unsigned n, unsigned gsi_base)
{
    g_assert_cmpuint(transport_count(), ==, n);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(virtio_mmio_get_base(virtio_mmio_at(i)), ==, 0xfeb00000 + 0x200 * i);
        g_assert_cmpuint(virtio_mmio_get_gsi(virtio_mmio_at(i)), ==, gsi_base + i);
    }
}

/* Occurrences of needle (len bytes) in the ACPI tables' RAM. */
static unsigned acpi_count(const void *needle, size_t len)
{
    const uint8_t *p = ram_hva(X86_ACPI_TABLES_START, X86_ACPI_TABLES_SIZE);
    unsigned n = 0;

    g_assert_nonnull(p);
    for (size_t i = 0; i + len <= X86_ACPI_TABLES_SIZE; i++) {
        n += !memcmp(p + i, needle, len);
    }
    return n;
}

/* The _CRS extended interrupt descriptor QEMU gives a transport: consumer,
 * level-triggered, active high, exclusive, one GSI. */
static unsigned acpi_count_irq(uint32_t gsi)
{
    const uint8_t d[] = { 0x89, 0x06, 0x00, 0x01, 0x01, gsi, gsi >> 8, gsi >> 16, gsi >> 24 };

    return acpi_count(d, sizeof(d));
}

/* acpi=off: 8 transports on GSI 5-12, the used ones on the command line. */
static void test_microvm_no_acpi(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *cmdline = NULL;
    struct board b;

    g_assert_cmpint(board_init(&b, "microvm,acpi=off,rtc=off", 2, &err), ==, 0);
    g_assert_no_error(err);
    check_layout(8, 5);
    g_assert_nonnull(virtio_mmio_get_device(virtio_mmio_at(7)));
    g_assert_nonnull(virtio_mmio_get_device(virtio_mmio_at(6)));
    g_assert_null(virtio_mmio_get_device(virtio_mmio_at(5)));
    /* QEMU 7.2's words and order, appended to -append. */
    cmdline = microvm_kernel_cmdline(&b.m, "console=ttyS0");
    g_assert_cmpstr(cmdline, ==, "console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 "
                    "virtio_mmio.device=512@0xfeb00c00:11");
    /* Legacy by default, as QEMU's microvm. */
    g_assert_cmpuint(rd(0xfeb00e00, VIRTIO_MMIO_VERSION), ==, 1);

    /* A system reset resets the devices and lowers their lines. */
    wr(0xfeb00e00, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    g_assert_cmpuint(rd(0xfeb00e00, VIRTIO_MMIO_STATUS), ==, 1);
    machine_reset(&b.m);     /* no -kernel: nothing to load again */
    g_assert_cmpuint(rd(0xfeb00e00, VIRTIO_MMIO_STATUS), ==, 0);
    board_free(&b);

    g_assert_cmpint(board_init(&b, "microvm,acpi=off,rtc=off,auto-kernel-cmdline=off", 1,
                               &err), ==, 0);
    cmdline = (g_free(cmdline), microvm_kernel_cmdline(&b.m, ""));
    g_assert_cmpstr(cmdline, ==, "");
    board_free(&b);

    g_assert_cmpint(board_init(&b, "microvm,acpi=off,rtc=off", 0, &err), ==, 0);
    cmdline = (g_free(cmdline), microvm_kernel_cmdline(&b.m, "quiet"));
    g_assert_cmpstr(cmdline, ==, "quiet");
    board_free(&b);
}

/* acpi=on: the DSDT lists the used transports; the command line stays. */
static void test_microvm_acpi(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *cmdline = NULL;
    struct board b;

    /* ioapic2 (auto: on with the software CPU): 24 transports on GSI 24-47. */
    g_assert_cmpint(board_init(&b, "microvm,rtc=off", 2, &err), ==, 0);
    g_assert_no_error(err);
    check_layout(24, 24);
    cmdline = microvm_kernel_cmdline(&b.m, "console=ttyS0");
    g_assert_cmpstr(cmdline, ==, "console=ttyS0");
    g_assert_cmpuint(acpi_count("LNRO0005", 8), ==, 2);
    g_assert_cmpuint(acpi_count("VR23", 4), ==, 1);
    g_assert_cmpuint(acpi_count("VR22", 4), ==, 1);
    g_assert_cmpuint(acpi_count_irq(47), ==, 1);
    g_assert_cmpuint(acpi_count_irq(46), ==, 1);
    board_free(&b);

    /* ioapic2=off: 8 transports on GSI 16-23. */
    g_assert_cmpint(board_init(&b, "microvm,rtc=off,ioapic2=off", 1, &err), ==, 0);
    g_assert_no_error(err);
    check_layout(8, 16);
    g_assert_cmpuint(acpi_count("LNRO0005", 8), ==, 1);
    g_assert_cmpuint(acpi_count("VR07", 4), ==, 1);
    g_assert_cmpuint(acpi_count_irq(23), ==, 1);
    board_free(&b);
}

/* -global virtio-mmio.force-legacy=off: version 2 transports. */
static void test_microvm_force_legacy_off(void)
{
    g_autoptr(GError) err = NULL;
    struct board b;

    g_assert_cmpint(board_init_global(&b, "microvm,acpi=off,rtc=off",
                                      "virtio-mmio.force-legacy=off", 1, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpuint(rd(0xfeb00e00, VIRTIO_MMIO_VERSION), ==, 2);
    g_assert_cmpuint(rd(0xfeb00c00, VIRTIO_MMIO_VERSION), ==, 2);
    board_free(&b);
}

/* Nine devices on eight transports: QEMU's message for the ninth. */
static void test_microvm_full(void)
{
    g_autoptr(GError) err = NULL;
    struct board b;

    g_assert_cmpint(board_init(&b, "microvm,acpi=off,rtc=off", 9, &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "No 'virtio-bus' bus found for device 'virtio-test-device'");
    board_free(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-mmio/empty", test_empty);
    g_test_add_func("/virtio-mmio/v2/request", test_v2_request);
    g_test_add_func("/virtio-mmio/v2/reset", test_v2_reset);
    g_test_add_func("/virtio-mmio/v2/bad-queue", test_v2_bad_queue);
    g_test_add_func("/virtio-mmio/wrong-version-registers", test_wrong_version_registers);
    g_test_add_func("/virtio-mmio/access-width", test_access_width);
    g_test_add_func("/virtio-mmio/legacy", test_legacy);
    g_test_add_func("/virtio-mmio/plug-order", test_plug_order);
    g_test_add_func("/virtio-mmio/ioeventfd", test_ioeventfd);
    g_test_add_func("/virtio-mmio/microvm/no-acpi", test_microvm_no_acpi);
    g_test_add_func("/virtio-mmio/microvm/acpi", test_microvm_acpi);
    g_test_add_func("/virtio-mmio/microvm/force-legacy-off", test_microvm_force_legacy_off);
    g_test_add_func("/virtio-mmio/microvm/full", test_microvm_full);
    return g_test_run();
}
