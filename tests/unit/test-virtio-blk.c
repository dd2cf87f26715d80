/*
 * virtio-blk (hw/virtio/virtio-blk.c) driven as a driver would: the rings
 * laid out in guest RAM, the device reached through the core's transport
 * calls with a fake transport that counts interrupts, over raw and qcow2
 * images made in a temporary directory and opened by -drive / -blockdev
 * as hyvm's command line does.  Data read and written through the queue
 * is checked against the image's bytes.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block-backend.h"
#include "block/block.h"
#include "block/drive.h"
#include "hw/device.h"
#include "hw/virtio/virtio-blk.h"
#include "hw/virtio/virtio.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/memory.h"

#include "file-node.h"
#include "guest-ram.h"

#define RAM_SIZE     (32ull << 20)
#define QUEUE_NUM    64
#define RING_BASE    0x10000ull    /* queue q's rings at RING_BASE + q * 0x4000 */
#define HEAP_BASE    0x100000ull   /* headers, status bytes and data after it */
#define IMAGE_SIZE   (64ull << 20)

static char *tmpdir;
static unsigned n_notify;
static bool keep_image;     /* tdev_try leaves the image's bytes alone */

static void fake_notify(struct virtio_device *vdev, uint16_t vector)
{
    n_notify++;
}

static void fake_reset(struct virtio_device *vdev)
{
}

static const struct virtio_transport_ops fake_transport = {
    .name = "fake",
    .notify = fake_notify,
    .reset = fake_reset,
};

/* The driver's view of one split queue (virtio 1.2 section 2.7). */
struct tq {
    uint64_t desc, avail, used;
    uint16_t avail_idx;
    uint16_t next_desc;
};

struct tdev {
    struct hyvm_config *cfg;
    struct virtio_device *vdev;
    struct blk *blk;
    struct tq q[2];
    uint64_t heap;
    char *path;
};

/* One guest buffer of a chain. */
struct tbuf {
    uint64_t gpa;
    uint32_t len;
    bool write;     /* device-writable */
};

/* A request as the test queued it. */
struct treq {
    uint16_t head;
    uint64_t status;
};

static uint64_t heap_alloc(struct tdev *t, uint64_t len)
{
    uint64_t gpa = t->heap;

    t->heap = (t->heap + len + 63) & ~63ull;
    g_assert_cmpuint(t->heap, <=, RAM_SIZE);
    return gpa;
}

static uint8_t get8(uint64_t gpa)
{
    uint8_t v;

    g_assert_cmpint(ram_read(gpa, &v, 1), ==, 0);
    return v;
}

/* ---- setting up ---- */

static char *image_new(const char *name, const char *fmt, uint64_t size)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    GError *err = NULL;

    g_assert_cmpint(bdrv_create(fmt, path, size, NULL, &err), ==, 0);
    g_assert_no_error(err);
    return path;
}

/* The byte at offset off of the test pattern. */
static uint8_t pattern(uint64_t off, unsigned seed)
{
    return (uint8_t)(off * 7 + off / 512 + seed * 13 + 1);
}

static void fill_pattern(uint8_t *buf, uint64_t off, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = pattern(off + i, seed);
    }
}

/*
 * Parses a command line of -drive/-blockdev and one -device, opens the
 * drives, fills the first MiB of drive d0 (when writable) with the pattern
 * and builds the device.  NULL with *errp when the device refuses.
 */
static struct tdev *tdev_try(struct machine *m, const char *drive, const char *device,
                             GError **errp)
{
    struct tdev *t = g_new0(struct tdev, 1);
    char *argv[8];
    int argc = 0;
    GError *err = NULL;

    argv[argc++] = (char *)"hyvm";
    if (g_str_has_prefix(drive, "-blockdev ")) {
        argv[argc++] = (char *)"-blockdev";
        argv[argc++] = (char *)drive + strlen("-blockdev ");
    } else {
        argv[argc++] = (char *)"-drive";
        argv[argc++] = (char *)drive;
    }
    argv[argc++] = (char *)"-device";
    argv[argc++] = (char *)device;
    argv[argc] = NULL;
    t->cfg = config_parse(argc, argv, &err);
    g_assert_no_error(err);
    g_assert_nonnull(t->cfg);
    g_assert_cmpint(drives_init(t->cfg, &err), ==, 0);
    g_assert_no_error(err);
    t->blk = blk_by_name("d0");
    if (!keep_image && t->blk && blk_is_inserted(t->blk) && !blk_is_read_only(t->blk)) {
        uint8_t *buf = g_malloc(1 << 20);

        fill_pattern(buf, 0, 1 << 20, 0);
        g_assert_cmpint(blk_pwrite(t->blk, 0, buf, 1 << 20), ==, 0);
        g_free(buf);
    }
    if (m) {
        m->cfg = t->cfg;
    }
    t->vdev = virtio_blk_create(m, g_ptr_array_index(t->cfg->devices, 0), errp);
    t->heap = HEAP_BASE;
    return t;
}

static void tdev_free(struct tdev *t)
{
    if (t->vdev) {
        virtio_device_free(t->vdev);
    }
    drives_close();
    config_free(t->cfg);
    g_free(t->path);
    g_free(t);
}

static struct tdev *tdev_new_full(const char *fmt, uint64_t size, const char *drive_extra,
                                  const char *dev_extra)
{
    static unsigned n;
    g_autofree char *name = g_strdup_printf("img%u.%s", n++, fmt);
    char *path = image_new(name, fmt, size);
    g_autofree char *drive = g_strdup_printf("if=none,id=d0,file=%s,format=%s%s", path, fmt,
                                             drive_extra);
    g_autofree char *device = g_strdup_printf("virtio-blk-device,drive=d0%s", dev_extra);
    GError *err = NULL;
    struct tdev *t = tdev_try(NULL, drive, device, &err);

    g_assert_no_error(err);
    g_assert_nonnull(t->vdev);
    t->path = path;
    return t;
}

static struct tdev *tdev_new(const char *fmt, const char *dev_extra)
{
    return tdev_new_full(fmt, IMAGE_SIZE, "", dev_extra);
}

/* Driver initialization (section 3.1.1) with the features in want. */
static void tdev_start(struct tdev *t, uint64_t want)
{
    struct virtio_device *vdev = t->vdev;
    uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    vdev->transport = &fake_transport;
    virtio_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    virtio_set_status(vdev, st);
    g_assert_true(virtio_set_guest_features(vdev, vdev->host_features & want));
    st |= VIRTIO_CONFIG_S_FEATURES_OK;
    virtio_set_status(vdev, st);
    g_assert_cmphex(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK, !=, 0);
    for (unsigned i = 0; i < vdev->nvqs && i < 2; i++) {
        struct virtqueue *vq = &vdev->vqs[i];
        uint64_t base = RING_BASE + i * 0x4000ull;
        uint8_t zero[0x4000] = { 0 };

        g_assert_cmpint(ram_write(base, zero, sizeof(zero)), ==, 0);
        t->q[i] = (struct tq){ .desc = base, .avail = base + 0x1000, .used = base + 0x2000 };
        vq->num = QUEUE_NUM;
        vq->desc = t->q[i].desc;
        vq->avail = t->q[i].avail;
        vq->used = t->q[i].used;
        g_assert_true(virtqueue_enable(vq));
    }
    virtio_set_status(vdev, st | VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_true(virtio_driver_ok(vdev));
}

/* What a Linux 1.x driver acks, without event idx (the test counts interrupts):
 * no legacy NOTIFY_ON_EMPTY or ANY_LAYOUT. */
#define WANT_ALL (~(1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_F_NOTIFY_ON_EMPTY | \
                  1ull << VIRTIO_F_ANY_LAYOUT))

/* ---- the driver side of a queue ---- */

static uint16_t tq_add(struct tq *q, const struct tbuf *b, unsigned n)
{
    uint16_t head = q->next_desc;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (head + i) % QUEUE_NUM;
        uint16_t flags = (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
                         (b[i].write ? VRING_DESC_F_WRITE : 0);

        put64(q->desc + 16 * idx, b[i].gpa);
        put32(q->desc + 16 * idx + 8, b[i].len);
        put16(q->desc + 16 * idx + 12, flags);
        put16(q->desc + 16 * idx + 14, (idx + 1) % QUEUE_NUM);
    }
    q->next_desc = (head + n) % QUEUE_NUM;
    put16(q->avail + 4 + 2 * (q->avail_idx % QUEUE_NUM), head);
    q->avail_idx++;
    put16(q->avail + 2, q->avail_idx);
    return head;
}

/*
 * Queues a request on queue qi: the 16-byte header (its own buffer, or
 * sharing one with the first data buffer when hdr_joined), the data
 * buffers, then a status byte; the status is preset to 0xff.
 */
static struct treq blk_req(struct tdev *t, unsigned qi, uint32_t type, uint64_t sector,
                           const struct tbuf *data, unsigned ndata)
{
    struct tbuf b[16];
    unsigned n = 0;
    struct treq r;
    uint64_t hdr = heap_alloc(t, 16);

    put32(hdr, type);
    put32(hdr + 4, 0);
    put64(hdr + 8, sector);
    b[n++] = (struct tbuf){ hdr, 16, false };
    for (unsigned i = 0; i < ndata; i++) {
        b[n++] = data[i];
    }
    r.status = heap_alloc(t, 1);
    put8(r.status, 0xff);
    b[n++] = (struct tbuf){ r.status, 1, true };
    r.head = tq_add(&t->q[qi], b, n);
    return r;
}

/* The used ring's index of queue qi: how many chains the device returned. */
static uint16_t used_idx(const struct tdev *t, unsigned qi)
{
    return get16(t->q[qi].used + 2);
}

static void kick(struct tdev *t, unsigned qi)
{
    virtio_queue_kick(t->vdev, qi);
}

/* Runs the main loop until queue qi's used index reaches want. */
static void wait_used(struct tdev *t, unsigned qi, uint16_t want)
{
    gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;

    while (used_idx(t, qi) != want) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(100);
        }
    }
}

/* The used length of head, from the used ring (section 2.7.8). */
static uint32_t used_len(struct tdev *t, unsigned qi, uint16_t head)
{
    uint16_t idx = used_idx(t, qi);

    for (uint16_t i = 0; i < idx && i < QUEUE_NUM; i++) {
        uint64_t e = t->q[qi].used + 4 + 8ull * ((idx - 1 - i) % QUEUE_NUM);

        if (get32(e) == head) {
            return get32(e + 4);
        }
    }
    g_assert_not_reached();
}

/* Queues one request on queue 0, kicks, waits for it; returns its status. */
static uint8_t run_req(struct tdev *t, uint32_t type, uint64_t sector, const struct tbuf *data,
                       unsigned ndata, uint32_t *len)
{
    uint16_t before = used_idx(t, 0);
    struct treq r = blk_req(t, 0, type, sector, data, ndata);

    kick(t, 0);
    wait_used(t, 0, before + 1);
    if (len) {
        *len = used_len(t, 0, r.head);
    }
    return get8(r.status);
}

/* A discard / write-zeroes segment (section 5.2.6). */
static uint8_t run_dwz(struct tdev *t, uint32_t type, uint64_t sector, uint32_t num,
                       uint32_t flags)
{
    uint64_t seg = heap_alloc(t, 16);
    struct tbuf b = { seg, 16, false };

    put64(seg, sector);
    put32(seg + 8, num);
    put32(seg + 12, flags);
    return run_req(t, type, sector, &b, 1, NULL);
}

static void read_file(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, len, (off_t)off), ==, (ssize_t)len);
    close(fd);
}

/* ---- tests ---- */

static void test_config(void)
{
    struct tdev *t = tdev_new("raw", ",serial=abc");
    struct virtio_device *vdev = t->vdev;
    uint64_t f = vdev->host_features;

    g_assert_cmpuint(vdev->nvqs, ==, 1);
    g_assert_cmpuint(vdev->vqs[0].num_max, ==, 256);
    g_assert_cmpuint(vdev->ops->device_id, ==, VIRTIO_ID_BLOCK);
    /* What QEMU 7.2 offers for a writable drive, one queue. */
    g_assert_true(f & (1ull << VIRTIO_BLK_F_SEG_MAX));
    g_assert_true(f & (1ull << VIRTIO_BLK_F_GEOMETRY));
    g_assert_true(f & (1ull << VIRTIO_BLK_F_BLK_SIZE));
    g_assert_true(f & (1ull << VIRTIO_BLK_F_TOPOLOGY));
    g_assert_true(f & (1ull << VIRTIO_BLK_F_FLUSH));
    g_assert_true(f & (1ull << VIRTIO_BLK_F_CONFIG_WCE));
    g_assert_true(f & (1ull << VIRTIO_BLK_F_DISCARD));
    g_assert_true(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
    g_assert_true(f & (1ull << VIRTIO_F_VERSION_1));
    g_assert_false(f & (1ull << VIRTIO_BLK_F_SIZE_MAX));
    g_assert_false(f & (1ull << VIRTIO_BLK_F_RO));
    g_assert_false(f & (1ull << VIRTIO_BLK_F_MQ));

    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_CAPACITY, 8), ==, IMAGE_SIZE / 512);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_SIZE_MAX, 4), ==, 0);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_SEG_MAX, 4), ==, 254);
    /* 64 MiB: 130 cylinders of 16 heads, 63 sectors, as QEMU's info qtree shows. */
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_CYLINDERS, 2), ==, 130);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_HEADS, 1), ==, 16);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_SECTORS, 1), ==, 63);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_BLK_SIZE, 4), ==, 512);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_PHYS_BLOCK_EXP, 1), ==, 0);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_WRITEBACK, 1), ==, 1);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_NUM_QUEUES, 2), ==, 1);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4), ==,
                     4194303);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4), ==, 1);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_DISCARD_ALIGNMENT, 4), ==, 1);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, 4), ==,
                     4194303);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 1), ==, 1);
    /* The driver cannot change the capacity. */
    virtio_config_write(vdev, VIRTIO_BLK_CFG_CAPACITY, 5, 4);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_CAPACITY, 8), ==, IMAGE_SIZE / 512);
    tdev_free(t);

    /* Block sizes, topology, a small queue, discard and write-zeroes off. */
    t = tdev_new("raw", ",logical_block_size=4096,physical_block_size=16384,queue-size=64,"
                 "discard=off,write-zeroes=off,seg-max-adjust=off,min_io_size=8192");
    vdev = t->vdev;
    g_assert_cmpuint(vdev->vqs[0].num_max, ==, 64);
    g_assert_false(vdev->host_features & (1ull << VIRTIO_BLK_F_DISCARD));
    g_assert_false(vdev->host_features & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_SEG_MAX, 4), ==, 126);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_BLK_SIZE, 4), ==, 4096);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_PHYS_BLOCK_EXP, 1), ==, 2);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_MIN_IO_SIZE, 2), ==, 2);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4), ==, 0);
    tdev_free(t);
}

/* QMP's view: the device path of a drive, and block_resize's config change. */
static void test_qdev_resize(void)
{
    struct tdev *t = tdev_new("raw", ",id=vb0");
    GError *err = NULL;
    uint8_t gen;

    g_assert_cmpstr(virtio_blk_qdev(t->blk), ==, "/machine/peripheral/vb0/virtio-backend");
    tdev_start(t, WANT_ALL);
    gen = t->vdev->config_generation;
    n_notify = 0;
    g_assert_cmpint(bdrv_truncate(blk_bs(t->blk), 2 * IMAGE_SIZE, false, "off", &err), ==, 0);
    g_assert_no_error(err);
    virtio_blk_resized(t->blk);
    g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_CAPACITY, 8), ==,
                     2 * IMAGE_SIZE / 512);
    g_assert_cmpuint(n_notify, ==, 1);
    g_assert_cmpuint(t->vdev->isr & VIRTIO_ISR_CONFIG, !=, 0);
    g_assert_cmpuint(t->vdev->config_generation, !=, gen);
    /* The new sectors can be read. */
    {
        struct tbuf b = { heap_alloc(t, 4096), 4096, true };

        g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 2 * IMAGE_SIZE / 512 - 8, &b, 1, NULL), ==,
                         VIRTIO_BLK_S_OK);
    }
    tdev_free(t);

    t = tdev_new("raw", "");
    g_assert_cmpstr(virtio_blk_qdev(t->blk), ==,
                    "/machine/peripheral-anon/device[0]/virtio-backend");
    tdev_free(t);
}

/* Reads through several descriptors of odd sizes; checked against the file. */
static void check_read(struct tdev *t, bool raw_file)
{
    const uint32_t sizes[3] = { 100, 1948, 2048 };
    uint64_t sector = 37;
    uint8_t got[4096], want[4096];
    struct tbuf b[3];
    uint32_t len, off = 0;

    for (unsigned i = 0; i < 3; i++) {
        b[i] = (struct tbuf){ heap_alloc(t, sizes[i]), sizes[i], true };
    }
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, sector, b, 3, &len), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(len, ==, 4096 + 1);   /* data and status written */
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpint(ram_read(b[i].gpa, got + off, sizes[i]), ==, 0);
        off += sizes[i];
    }
    fill_pattern(want, sector * 512, sizeof(want), 0);
    g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    if (raw_file) {
        read_file(t->path, sector * 512, want, sizeof(want));
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    }
}

/* Writes with the header and the first data bytes in one buffer (any
 * layout, section 2.6.4), then checks the image. */
static void check_write(struct tdev *t, bool raw_file)
{
    uint64_t sector = 1000;
    uint8_t data[3072], got[3072];
    uint64_t joined = heap_alloc(t, 16 + 1024);
    uint64_t rest = heap_alloc(t, 2048);
    struct tbuf b[2];
    struct treq r;
    uint32_t len;

    fill_pattern(data, 0, sizeof(data), 5);
    put32(joined, VIRTIO_BLK_T_OUT);
    put32(joined + 4, 0);
    put64(joined + 8, sector);
    g_assert_cmpint(ram_write(joined + 16, data, 1024), ==, 0);
    g_assert_cmpint(ram_write(rest, data + 1024, 2048), ==, 0);
    b[0] = (struct tbuf){ joined, 16 + 1024, false };
    b[1] = (struct tbuf){ rest, 2048, false };
    r.status = heap_alloc(t, 1);
    put8(r.status, 0xff);
    {
        struct tbuf chain[3] = { b[0], b[1], { r.status, 1, true } };
        uint16_t before = used_idx(t, 0);

        r.head = tq_add(&t->q[0], chain, 3);
        kick(t, 0);
        wait_used(t, 0, before + 1);
    }
    g_assert_cmpuint(get8(r.status), ==, VIRTIO_BLK_S_OK);
    len = used_len(t, 0, r.head);
    g_assert_cmpuint(len, ==, 1);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &len), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(len, ==, 1);
    g_assert_cmpint(blk_pread(t->blk, sector * 512, got, sizeof(got)), ==, 0);
    g_assert_cmpmem(got, sizeof(got), data, sizeof(data));
    if (raw_file) {
        read_file(t->path, sector * 512, got, sizeof(got));
        g_assert_cmpmem(got, sizeof(got), data, sizeof(data));
    }
}

static void test_rw_raw(void)
{
    struct tdev *t = tdev_new("raw", "");

    tdev_start(t, WANT_ALL);
    check_read(t, true);
    check_write(t, true);
    g_assert_cmpuint(n_notify, >, 0);
    tdev_free(t);
}

static void test_rw_qcow2(void)
{
    struct tdev *t = tdev_new("qcow2", "");

    tdev_start(t, WANT_ALL);
    check_read(t, false);
    check_write(t, false);
    tdev_free(t);
}

/* Many reads and writes in one kick, all completed, each in the image. */
static void test_batch(void)
{
    struct tdev *t = tdev_new("raw", "");
    struct treq r[16];
    uint64_t buf[16];
    uint16_t before;

    tdev_start(t, WANT_ALL);
    before = used_idx(t, 0);
    for (unsigned i = 0; i < 16; i++) {
        uint8_t data[4096];
        struct tbuf b;

        buf[i] = heap_alloc(t, 4096);
        b = (struct tbuf){ buf[i], 4096, !(i & 1) };
        if (i & 1) {
            fill_pattern(data, 0, sizeof(data), i);
            g_assert_cmpint(ram_write(buf[i], data, sizeof(data)), ==, 0);
        }
        r[i] = blk_req(t, 0, (i & 1) ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, 4096 + 8 * i, &b, 1);
    }
    kick(t, 0);
    wait_used(t, 0, before + 16);
    for (unsigned i = 0; i < 16; i++) {
        uint8_t got[4096], want[4096];

        g_assert_cmpuint(get8(r[i].status), ==, VIRTIO_BLK_S_OK);
        if (i & 1) {
            fill_pattern(want, 0, sizeof(want), i);
            read_file(t->path, (4096 + 8 * i) * 512ull, got, sizeof(got));
        } else {
            read_file(t->path, (4096 + 8 * i) * 512ull, want, sizeof(want));
            g_assert_cmpint(ram_read(buf[i], got, sizeof(got)), ==, 0);
        }
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    }
    tdev_free(t);
}

/* Adjacent writes of one kick reach the backend as one request (QEMU's
 * request-merging); with request-merging=off each is its own. */
static void check_merging(const char *dev_extra, uint64_t want_ops)
{
    struct tdev *t = tdev_new("raw", dev_extra);
    const uint64_t sectors[5] = { 256, 248, 264, 232, 240 };   /* 232..271 and 512 */
    uint64_t ops;
    uint16_t before;
    struct treq r[6];

    tdev_start(t, WANT_ALL);
    ops = blk_get_stats(t->blk)->nr_ops[BLK_ACCT_WRITE];
    before = used_idx(t, 0);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t sector = i < 5 ? sectors[i] : 512;
        uint8_t data[4096];
        /* Two buffers each, so the merged request has ten. */
        struct tbuf b[2] = { { heap_alloc(t, 1024), 1024, false },
                             { heap_alloc(t, 3072), 3072, false } };

        fill_pattern(data, sector * 512, sizeof(data), 40);
        g_assert_cmpint(ram_write(b[0].gpa, data, 1024), ==, 0);
        g_assert_cmpint(ram_write(b[1].gpa, data + 1024, 3072), ==, 0);
        r[i] = blk_req(t, 0, VIRTIO_BLK_T_OUT, sector, b, 2);
    }
    kick(t, 0);
    wait_used(t, 0, before + 6);
    for (unsigned i = 0; i < 6; i++) {
        g_assert_cmpuint(get8(r[i].status), ==, VIRTIO_BLK_S_OK);
        g_assert_cmpuint(used_len(t, 0, r[i].head), ==, 1);
    }
    g_assert_cmpuint(blk_get_stats(t->blk)->nr_ops[BLK_ACCT_WRITE] - ops, ==, want_ops);
    {
        uint8_t got[40 * 512], want[40 * 512];

        read_file(t->path, 232 * 512, got, sizeof(got));
        fill_pattern(want, 232 * 512, sizeof(want), 40);
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
        read_file(t->path, 512 * 512, got, 4096);
        fill_pattern(want, 512 * 512, 4096, 40);
        g_assert_cmpmem(got, 4096, want, 4096);
    }
    tdev_free(t);
}

static void test_merging(void)
{
    check_merging("", 2);
    check_merging(",request-merging=off", 6);
}

static void check_id(struct tdev *t, uint32_t room, const char *want, size_t want_len)
{
    uint64_t buf = heap_alloc(t, room);
    struct tbuf b = { buf, room, true };
    char got[64];
    uint32_t len;

    memset(got, 0x55, sizeof(got));
    g_assert_cmpint(ram_write(buf, got, room), ==, 0);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_GET_ID, 0, &b, 1, &len), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(len, ==, room + 1);
    g_assert_cmpint(ram_read(buf, got, room), ==, 0);
    g_assert_cmpmem(got, want_len, want, want_len);
    if (want_len < room) {
        g_assert_cmpuint((uint8_t)got[want_len], ==, 0x55);   /* nothing past it */
    }
}

static void test_get_id(void)
{
    struct tdev *t = tdev_new("raw", ",serial=hyvm-0123456789abcdefXYZ");

    tdev_start(t, WANT_ALL);
    /* 20 bytes, not NUL-terminated when the serial is longer. */
    check_id(t, 20, "hyvm-0123456789abcde", 20);
    check_id(t, 8, "hyvm-012", 8);
    tdev_free(t);

    t = tdev_new("raw", ",serial=abc");
    tdev_start(t, WANT_ALL);
    check_id(t, 20, "abc", 4);
    tdev_free(t);

    t = tdev_new("raw", "");
    tdev_start(t, WANT_ALL);
    check_id(t, 20, "", 1);
    tdev_free(t);
}

static void check_zero(struct tdev *t, uint64_t sector, uint32_t n, bool zero)
{
    g_autofree uint8_t *got = g_malloc(n * 512);

    g_assert_cmpint(blk_pread(t->blk, sector * 512, got, n * 512), ==, 0);
    for (uint32_t i = 0; i < n * 512; i++) {
        if (zero) {
            g_assert_cmpuint(got[i], ==, 0);
        } else {
            g_assert_cmpuint(got[i], ==, pattern(sector * 512 + i, 0));
        }
    }
}

static void test_discard_write_zeroes(void)
{
    const char *fmts[] = { "raw", "qcow2" };

    for (unsigned i = 0; i < 2; i++) {
        struct tdev *t = tdev_new_full(fmts[i], IMAGE_SIZE, ",discard=unmap", "");

        tdev_start(t, WANT_ALL);
        check_zero(t, 8, 8, false);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 8, 4, 0), ==, VIRTIO_BLK_S_OK);
        check_zero(t, 8, 4, true);
        check_zero(t, 12, 4, false);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 12, 2,
                                 VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), ==, VIRTIO_BLK_S_OK);
        check_zero(t, 12, 2, true);
        check_zero(t, 14, 2, false);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_DISCARD, 128, 128, 0), ==, VIRTIO_BLK_S_OK);
        /* Unmap on a discard, unknown flags: UNSUPP (section 5.2.6.2). */
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_DISCARD, 128, 8,
                                 VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), ==, VIRTIO_BLK_S_UNSUPP);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 8, 1, 2), ==,
                         VIRTIO_BLK_S_UNSUPP);
        /* Past the end, or more than max-*-sectors: IOERR. */
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, IMAGE_SIZE / 512 - 1, 2, 0), ==,
                         VIRTIO_BLK_S_IOERR);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_DISCARD, 0, 4194304, 0), ==,
                         VIRTIO_BLK_S_IOERR);
        tdev_free(t);
    }

    /* Commands the device does not offer. */
    {
        struct tdev *t = tdev_new("raw", ",discard=off,write-zeroes=off");

        tdev_start(t, WANT_ALL);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_DISCARD, 0, 8, 0), ==, VIRTIO_BLK_S_UNSUPP);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), ==,
                         VIRTIO_BLK_S_UNSUPP);
        check_zero(t, 0, 8, false);
        tdev_free(t);
    }

    /* max-write-zeroes-sectors is enforced. */
    {
        struct tdev *t = tdev_new("raw", ",max-write-zeroes-sectors=8");

        tdev_start(t, WANT_ALL);
        g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, 4),
                         ==, 8);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 9, 0), ==,
                         VIRTIO_BLK_S_IOERR);
        g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), ==, VIRTIO_BLK_S_OK);
        tdev_free(t);
    }
}

static void test_out_of_range(void)
{
    struct tdev *t = tdev_new_full("raw", 1 << 20, "", "");
    uint64_t big = heap_alloc(t, 2 << 20);
    struct tbuf b = { big, 4096, true };
    uint64_t last = (1 << 20) / 512;

    tdev_start(t, WANT_ALL);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, last - 8, &b, 1, NULL), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, last - 7, &b, 1, NULL), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, UINT64_MAX - 3, &b, 1, NULL), ==,
                     VIRTIO_BLK_S_IOERR);
    b.write = false;
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_OUT, last, &b, 1, NULL), ==, VIRTIO_BLK_S_IOERR);
    /* Buffers larger than the whole disk. */
    b = (struct tbuf){ big, 2 << 20, true };
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 0, &b, 1, NULL), ==, VIRTIO_BLK_S_IOERR);
    /* Not whole sectors. */
    b = (struct tbuf){ big, 700, true };
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 0, &b, 1, NULL), ==, VIRTIO_BLK_S_IOERR);
    /* Unknown and SCSI request types. */
    g_assert_cmpuint(run_req(t, 0x20, 0, NULL, 0, NULL), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(run_req(t, 2, 0, NULL, 0, NULL), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_false(t->vdev->broken);
    tdev_free(t);

    /* 4096-byte blocks: a request must start and end on one. */
    t = tdev_new("raw", ",logical_block_size=4096,physical_block_size=4096");
    tdev_start(t, WANT_ALL);
    b = (struct tbuf){ heap_alloc(t, 8192), 4096, true };
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 8, &b, 1, NULL), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 1, &b, 1, NULL), ==, VIRTIO_BLK_S_IOERR);
    b.len = 512;
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 8, &b, 1, NULL), ==, VIRTIO_BLK_S_IOERR);
    tdev_free(t);
}

/* Chains without a whole header or a status byte break the device. */
static void test_bad_headers(void)
{
    struct tdev *t = tdev_new("raw", "");
    uint64_t hdr = heap_alloc(t, 16), st = heap_alloc(t, 4096);
    struct tbuf chains[3][2] = {
        { { hdr, 8, false }, { st, 1, true } },        /* header too short */
        { { hdr, 16, false }, { 0, 0, false } },       /* no device-writable buffer */
        { { st, 1, true }, { 0, 0, false } },          /* no header at all */
    };
    const unsigned lens[3] = { 2, 1, 1 };

    for (unsigned i = 0; i < 3; i++) {
        uint16_t used;

        tdev_start(t, WANT_ALL);
        put32(hdr, VIRTIO_BLK_T_IN);
        put64(hdr + 8, 0);
        used = used_idx(t, 0);
        tq_add(&t->q[0], chains[i], lens[i]);
        kick(t, 0);
        g_assert_true(t->vdev->broken);
        g_assert_cmpuint(used_idx(t, 0), ==, used);
        /* A broken device takes nothing more until reset. */
        {
            struct tbuf b = { st, 512, true };

            blk_req(t, 0, VIRTIO_BLK_T_IN, 0, &b, 1);
            kick(t, 0);
            g_assert_cmpuint(used_idx(t, 0), ==, used);
        }
        virtio_set_status(t->vdev, 0);
        g_assert_false(t->vdev->broken);
    }
    /* It works again after the reset. */
    tdev_start(t, WANT_ALL);
    check_read(t, true);
    tdev_free(t);
}

static void test_read_only(void)
{
    g_autofree char *path = image_new("ro.img", "raw", 1 << 20);
    g_autofree char *drive = g_strdup_printf("if=none,id=d0,file=%s,format=raw,readonly=on",
                                             path);
    GError *err = NULL;
    struct tdev *t;
    struct tbuf b;
    uint8_t data[512], got[512];

    /* A pattern in the image before it is opened read-only. */
    fill_pattern(data, 0, sizeof(data), 9);
    {
        int fd = open(path, O_WRONLY);

        g_assert_cmpint(pwrite(fd, data, sizeof(data), 0), ==, sizeof(data));
        close(fd);
    }
    t = tdev_try(NULL, drive, "virtio-blk-device,drive=d0", &err);
    g_assert_no_error(err);
    g_assert_true(t->vdev->host_features & (1ull << VIRTIO_BLK_F_RO));
    tdev_start(t, WANT_ALL);
    b = (struct tbuf){ heap_alloc(t, 512), 512, true };
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 0, &b, 1, NULL), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpint(ram_read(b.gpa, got, 512), ==, 0);
    g_assert_cmpmem(got, 512, data, 512);
    memset(got, 0, sizeof(got));
    g_assert_cmpint(ram_write(b.gpa, got, 512), ==, 0);
    b.write = false;
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_OUT, 0, &b, 1, NULL), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(run_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0), ==, VIRTIO_BLK_S_IOERR);
    read_file(path, 0, got, sizeof(got));
    g_assert_cmpmem(got, 512, data, 512);
    tdev_free(t);
}

/* A reset with writes in flight: they finish first, then the queues reset. */
static void test_reset_in_flight(void)
{
    struct tdev *t = tdev_new("raw", "");
    uint16_t before;

    tdev_start(t, WANT_ALL);
    before = used_idx(t, 0);
    for (unsigned i = 0; i < 8; i++) {
        uint8_t data[65536];
        struct tbuf b = { heap_alloc(t, sizeof(data)), sizeof(data), false };

        fill_pattern(data, 0, sizeof(data), 20 + i);
        g_assert_cmpint(ram_write(b.gpa, data, sizeof(data)), ==, 0);
        blk_req(t, 0, VIRTIO_BLK_T_OUT, 8192 + 128 * i, &b, 1);
    }
    kick(t, 0);
    g_assert_cmpuint(blk_in_flight(t->blk), >, 0);
    virtio_set_status(t->vdev, 0);
    g_assert_cmpuint(blk_in_flight(t->blk), ==, 0);
    g_assert_cmpuint(used_idx(t, 0), ==, (uint16_t)(before + 8));
    g_assert_cmpuint(t->vdev->status, ==, 0);
    for (unsigned i = 0; i < 8; i++) {
        uint8_t want[65536], got[65536];

        fill_pattern(want, 0, sizeof(want), 20 + i);
        g_assert_cmpint(blk_pread(t->blk, (8192 + 128 * i) * 512ull, got, sizeof(got)), ==, 0);
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    }
    /* Exit with requests in flight drains them too. */
    tdev_start(t, WANT_ALL);
    {
        struct tbuf b = { heap_alloc(t, 4096), 4096, true };

        blk_req(t, 0, VIRTIO_BLK_T_IN, 0, &b, 1);
        kick(t, 0);
    }
    tdev_free(t);
}

/* Completions inside one kick are one interrupt; later ones one each. */
static void test_interrupts(void)
{
    struct tdev *t = tdev_new("raw", ",serial=x");
    uint16_t before;

    tdev_start(t, WANT_ALL);
    before = used_idx(t, 0);
    n_notify = 0;
    for (unsigned i = 0; i < 4; i++) {
        struct tbuf b = { heap_alloc(t, 20), 20, true };

        blk_req(t, 0, VIRTIO_BLK_T_GET_ID, 0, &b, 1);
    }
    kick(t, 0);
    g_assert_cmpuint(used_idx(t, 0), ==, (uint16_t)(before + 4));
    g_assert_cmpuint(n_notify, ==, 1);

    /* The driver asked for no interrupts: none (section 2.7.7). */
    put16(t->q[0].avail, VRING_AVAIL_F_NO_INTERRUPT);
    n_notify = 0;
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(n_notify, ==, 0);
    tdev_free(t);
}

/* Cache modes: the driver's choice through FLUSH or the writeback field. */
static void test_write_cache(void)
{
    struct tdev *t = tdev_new("raw", "");

    g_assert_true(blk_enable_write_cache(t->blk));
    /* A driver without CONFIG_WCE nor FLUSH gets writethrough at DRIVER_OK. */
    tdev_start(t, WANT_ALL & ~(1ull << VIRTIO_BLK_F_CONFIG_WCE | 1ull << VIRTIO_BLK_F_FLUSH));
    g_assert_false(blk_enable_write_cache(t->blk));
    g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_WRITEBACK, 1), ==, 0);
    virtio_set_status(t->vdev, 0);
    g_assert_true(blk_enable_write_cache(t->blk));

    /* With CONFIG_WCE the driver writes the writeback field. */
    tdev_start(t, WANT_ALL);
    g_assert_true(blk_enable_write_cache(t->blk));
    virtio_config_write(t->vdev, VIRTIO_BLK_CFG_WRITEBACK, 0, 1);
    g_assert_false(blk_enable_write_cache(t->blk));
    g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_WRITEBACK, 1), ==, 0);
    check_write(t, true);
    virtio_config_write(t->vdev, VIRTIO_BLK_CFG_WRITEBACK, 1, 1);
    g_assert_true(blk_enable_write_cache(t->blk));
    virtio_config_write(t->vdev, VIRTIO_BLK_CFG_WRITEBACK, 0, 1);
    virtio_set_status(t->vdev, 0);
    g_assert_true(blk_enable_write_cache(t->blk));
    tdev_free(t);

    /* write-cache=off: the original mode is writethrough; FLUSH still offered. */
    t = tdev_new("raw", ",write-cache=off");
    g_assert_false(blk_enable_write_cache(t->blk));
    g_assert_true(t->vdev->host_features & (1ull << VIRTIO_BLK_F_FLUSH));
    tdev_free(t);
    t = tdev_new("raw", ",write-cache=off,config-wce=off");
    g_assert_false(t->vdev->host_features & (1ull << VIRTIO_BLK_F_FLUSH));
    g_assert_false(t->vdev->host_features & (1ull << VIRTIO_BLK_F_CONFIG_WCE));
    tdev_free(t);
}

static void test_multiqueue(void)
{
    struct tdev *t = tdev_new("qcow2", ",num-queues=2");
    struct tbuf b;
    struct treq r;
    uint8_t got[2048], want[2048];

    g_assert_cmpuint(t->vdev->nvqs, ==, 2);
    g_assert_true(t->vdev->host_features & (1ull << VIRTIO_BLK_F_MQ));
    g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_NUM_QUEUES, 2), ==, 2);
    tdev_start(t, WANT_ALL);
    b = (struct tbuf){ heap_alloc(t, sizeof(got)), sizeof(got), true };
    r = blk_req(t, 1, VIRTIO_BLK_T_IN, 3, &b, 1);
    kick(t, 1);
    wait_used(t, 1, 1);
    g_assert_cmpuint(get8(r.status), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(used_idx(t, 0), ==, 0);
    g_assert_cmpint(ram_read(b.gpa, got, sizeof(got)), ==, 0);
    fill_pattern(want, 3 * 512, sizeof(want), 0);
    g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    tdev_free(t);

    /* num-queues' default: one per vCPU for virtio-blk-pci, one otherwise. */
    {
        g_autofree char *path = image_new("mq.img", "raw", 1 << 20);
        g_autofree char *drive = g_strdup_printf("if=none,id=d0,file=%s,format=raw", path);
        struct machine m = { .ncpus = 3 };
        GError *err = NULL;

        t = tdev_try(&m, drive, "virtio-blk-pci,drive=d0", &err);
        g_assert_no_error(err);
        g_assert_cmpuint(t->vdev->nvqs, ==, 3);
        tdev_free(t);
        t = tdev_try(&m, drive, "virtio-blk-device,drive=d0", &err);
        g_assert_no_error(err);
        g_assert_cmpuint(t->vdev->nvqs, ==, 1);
        tdev_free(t);
    }
}

/* The geometry from an MBR partition's end (QEMU's hd_geometry_guess): 4
 * heads of 32 sectors as QEMU's info qtree shows for this image, or by
 * size when the partition says more than 16 heads. */
static void check_geometry(unsigned end_head, unsigned end_sector, unsigned cyls,
                           unsigned heads, unsigned secs)
{
    g_autofree char *path = image_new("mbr.img", "raw", IMAGE_SIZE);
    g_autofree char *drive = g_strdup_printf("if=none,id=d0,file=%s,format=raw", path);
    uint8_t mbr[512] = { 0 };
    uint8_t *p = mbr + 0x1be;
    GError *err = NULL;
    struct tdev *t;
    int fd;

    p[1] = 1;
    p[2] = 1;
    p[4] = 0x83;
    p[5] = (uint8_t)end_head;
    p[6] = (uint8_t)end_sector;
    p[7] = 0xff;
    p[8] = 32;                  /* start LBA 32, 131040 sectors */
    p[12] = 0xe0;
    p[13] = 0xff;
    p[14] = 0x01;
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    fd = open(path, O_WRONLY);
    g_assert_cmpint(pwrite(fd, mbr, sizeof(mbr), 0), ==, sizeof(mbr));
    close(fd);
    keep_image = true;
    t = tdev_try(NULL, drive, "virtio-blk-device,drive=d0", &err);
    keep_image = false;
    g_assert_no_error(err);
    g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_CYLINDERS, 2), ==, cyls);
    g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_HEADS, 1), ==, heads);
    g_assert_cmpuint(virtio_config_read(t->vdev, VIRTIO_BLK_CFG_SECTORS, 1), ==, secs);
    tdev_free(t);
    g_remove(path);
}

static void test_geometry(void)
{
    check_geometry(3, 32, 1024, 4, 32);
    check_geometry(254, 63, 130, 16, 63);
}

/* Builds one random chain: a header (whole, split, or cut short), data buffers
 * of random sizes and directions, and usually a status byte. */
static unsigned random_chain(struct tdev *t, GRand *rnd, struct tbuf *b, uint64_t *status)
{
    static const uint32_t types[] = {
        VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID,
        VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, VIRTIO_BLK_T_IN | VIRTIO_BLK_T_BARRIER,
        2, 10, 12, 0xffffffff,
    };
    uint32_t type = types[g_rand_int_range(rnd, 0, G_N_ELEMENTS(types))];
    uint64_t cap = IMAGE_SIZE / 512;
    uint64_t sector = g_rand_int_range(rnd, 0, 8) ? (uint64_t)g_rand_int_range(rnd, 0, cap + 64)
                                                   : ((uint64_t)g_rand_int(rnd) << 32);
    uint64_t hdr = heap_alloc(t, 32);
    bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID ||
                      g_rand_int_range(rnd, 0, 10) == 0;
    unsigned n = 0, ndata = g_rand_int_range(rnd, 0, 4);
    int shape = g_rand_int_range(rnd, 0, 20);

    put32(hdr, type);
    put32(hdr + 4, 0);
    put64(hdr + 8, sector);
    put64(hdr + 16, sector % 64);          /* a discard/write-zeroes segment */
    put32(hdr + 24, g_rand_int_range(rnd, 0, 70));
    put32(hdr + 28, g_rand_int_range(rnd, 0, 8) ? 0 : g_rand_int_range(rnd, 0, 4));
    if (shape == 0) {
        b[n++] = (struct tbuf){ hdr, 8, false };                  /* cut short */
    } else if (shape == 1) {
        b[n++] = (struct tbuf){ hdr, 8, false };
        b[n++] = (struct tbuf){ hdr + 8, 8, false };              /* split */
    } else if (shape == 2 && !dev_writes) {
        b[n++] = (struct tbuf){ hdr, 32, false };                 /* with a segment */
        ndata = 0;
    } else {
        b[n++] = (struct tbuf){ hdr, 16, false };
    }
    for (unsigned i = 0; i < ndata; i++) {
        uint32_t len = g_rand_int_range(rnd, 0, 4) ? 512u * g_rand_int_range(rnd, 1, 17)
                                                     : (uint32_t)g_rand_int_range(rnd, 1, 1500);

        b[n++] = (struct tbuf){ heap_alloc(t, len), len, dev_writes };
    }
    *status = heap_alloc(t, 1);
    put8(*status, 0xff);
    if (shape != 3) {
        b[n++] = (struct tbuf){ *status, 1, true };
    } else if (b[n - 1].write) {
        *status = b[n - 1].gpa + b[n - 1].len - 1;   /* the last data byte is the status */
    }
    return n;
}

/*
 * Random requests, well and badly formed, in random batches: each either
 * completes with a defined status or breaks the device, never more; the
 * host neither crashes nor touches memory it should not (run it under
 * valgrind or ASan).
 */
static void test_random_requests(void)
{
    struct tdev *t = tdev_new_full("qcow2", IMAGE_SIZE, ",discard=unmap", ",serial=rnd");
    GRand *rnd = g_rand_new_with_seed(20261126);
    unsigned done = 0, breaks = 0;

    tdev_start(t, WANT_ALL);
    for (unsigned round = 0; round < 150; round++) {
        unsigned nreq = g_rand_int_range(rnd, 1, 9);
        uint64_t status[8];
        uint16_t before = used_idx(t, 0);
        gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;

        t->heap = HEAP_BASE;
        for (unsigned i = 0; i < nreq; i++) {
            struct tbuf b[8];
            unsigned n = random_chain(t, rnd, b, &status[i]);

            tq_add(&t->q[0], b, n);
        }
        kick(t, 0);
        while (used_idx(t, 0) != (uint16_t)(before + nreq) &&
               !(t->vdev->broken && !blk_in_flight(t->blk))) {
            g_assert_cmpint(g_get_monotonic_time(), <, end);
            if (!g_main_context_iteration(NULL, FALSE)) {
                g_usleep(100);
            }
        }
        if (t->vdev->broken) {
            breaks++;
            virtio_set_status(t->vdev, 0);
            tdev_start(t, WANT_ALL);
            continue;
        }
        for (unsigned i = 0; i < nreq; i++) {
            g_assert_cmpuint(get8(status[i]), <=, VIRTIO_BLK_S_UNSUPP);
        }
        done += nreq;
    }
    g_assert_cmpuint(done, >, 100);
    g_assert_cmpuint(breaks, >, 5);
    g_rand_free(rnd);
    tdev_free(t);
}

/* -device errors, with QEMU 7.2's messages. */
static void expect_error(const char *drive, const char *device, const char *msg)
{
    GError *err = NULL;
    struct tdev *t = tdev_try(NULL, drive, device, &err);

    g_assert_null(t->vdev);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
    g_error_free(err);
    tdev_free(t);
}

static void test_errors(void)
{
    g_autofree char *path = image_new("err.img", "raw", 1 << 20);
    g_autofree char *drive = g_strdup_printf("if=none,id=d0,file=%s,format=raw", path);

    expect_error(drive, "virtio-blk-pci", "drive property not set");
    expect_error(drive, "virtio-blk-pci,drive=d1",
                 "Property 'virtio-blk-device.drive' can't find value 'd1'");
    expect_error("if=none,id=d0", "virtio-blk-pci,drive=d0",
                 "Device needs media, but drive is empty");
    expect_error(drive, "virtio-blk-pci,drive=d0,num-queues=0",
                 "num-queues property must be larger than 0");
    expect_error(drive, "virtio-blk-pci,drive=d0,queue-size=100",
                 "invalid queue-size property (100), must be a power of 2 (max 1024)");
    expect_error(drive, "virtio-blk-pci,drive=d0,queue-size=2",
                 "invalid queue-size property (2), must be > 2");
    expect_error(drive, "virtio-blk-pci,drive=d0,logical_block_size=1000",
                 "Property .logical_block_size doesn't take value '1000', it's not a power "
                 "of 2");
    expect_error(drive, "virtio-blk-pci,drive=d0,logical_block_size=256",
                 "Property .logical_block_size doesn't take value 256 (minimum: 512, "
                 "maximum: 2097152)");
    expect_error(drive, "virtio-blk-pci,drive=d0,logical_block_size=4096",
                 "logical_block_size > physical_block_size not supported");
    expect_error(drive, "virtio-blk-pci,drive=d0,max-discard-sectors=0",
                 "invalid max-discard-sectors property (0), must be between 1 and 4194303");
    expect_error(drive, "virtio-blk-pci,drive=d0,max-write-zeroes-sectors=4194304",
                 "invalid max-write-zeroes-sectors property (4194304), must be between 1 "
                 "and 4194303");
}

/* A drive serves one device; the image refuses other writers. */
static void test_drive_in_use(void)
{
    g_autofree char *path = image_new("use.img", "raw", 1 << 20);
    g_autofree char *drive = g_strdup_printf("if=none,id=d0,file=%s,format=raw", path);
    g_autofree char *bdev = g_strdup_printf("-blockdev driver=file,filename=%s,node-name=n0",
                                            path);
    GError *err = NULL;
    struct tdev *t = tdev_try(NULL, drive, "virtio-blk-pci,drive=d0", &err);
    struct virtio_device *second;
    struct bdrv *other;

    g_assert_no_error(err);
    second = virtio_blk_create(NULL, g_ptr_array_index(t->cfg->devices, 0), &err);
    g_assert_null(second);
    g_assert_cmpstr(err->message, ==, "Drive 'd0' is already in use by another device");
    g_clear_error(&err);
    /* QEMU's image lock: another writer is refused while the guest has the disk. */
    other = bdrv_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    g_assert_null(other);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "Failed to get \"write\" lock"));
    g_clear_error(&err);
    other = bdrv_open(path, "raw", NULL, 0, &err);
    g_assert_no_error(err);
    bdrv_unref(other);
    tdev_free(t);

    /* A -blockdev node: two devices conflict unless both share it. */
    t = tdev_try(NULL, bdev, "virtio-blk-device,drive=n0", &err);
    g_assert_no_error(err);
    g_assert_nonnull(t->vdev);
    second = virtio_blk_create(NULL, g_ptr_array_index(t->cfg->devices, 0), &err);
    g_assert_null(second);
    g_assert_nonnull(strstr(err->message, "Permission conflict on node 'n0'"));
    g_clear_error(&err);
    tdev_free(t);

    t = tdev_try(NULL, bdev, "virtio-blk-device,drive=n0,share-rw=on", &err);
    g_assert_no_error(err);
    second = virtio_blk_create(NULL, g_ptr_array_index(t->cfg->devices, 0), &err);
    g_assert_no_error(err);
    other = bdrv_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    bdrv_unref(other);
    virtio_device_free(second);
    tdev_free(t);

    /* A read-only node makes a read-only disk. */
    {
        g_autofree char *ro = g_strdup_printf("%s,read-only=on", bdev);

        t = tdev_try(NULL, ro, "virtio-blk-device,drive=n0", &err);
        g_assert_no_error(err);
        g_assert_true(t->vdev->host_features & (1ull << VIRTIO_BLK_F_RO));
        tdev_free(t);
    }
}

/* A -blockdev qcow2 node through its node-name, read and written. */
static void test_blockdev_qcow2(void)
{
    g_autofree char *path = image_new("bd.qcow2", "qcow2", IMAGE_SIZE);
    g_autofree char *bdev = g_strdup_printf("-blockdev driver=qcow2,node-name=q0,"
                                            "file.driver=file,file.filename=%s", path);
    GError *err = NULL;
    struct tdev *t = tdev_try(NULL, bdev, "virtio-blk-device,drive=q0", &err);
    uint8_t data[4096], got[4096];
    struct tbuf b;

    g_assert_no_error(err);
    g_assert_nonnull(t->vdev);
    tdev_start(t, WANT_ALL);
    fill_pattern(data, 0, sizeof(data), 33);
    b = (struct tbuf){ heap_alloc(t, sizeof(data)), sizeof(data), false };
    g_assert_cmpint(ram_write(b.gpa, data, sizeof(data)), ==, 0);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_OUT, 77, &b, 1, NULL), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), ==, VIRTIO_BLK_S_OK);
    b.write = true;
    b.gpa = heap_alloc(t, sizeof(got));
    g_assert_cmpuint(run_req(t, VIRTIO_BLK_T_IN, 77, &b, 1, NULL), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpint(ram_read(b.gpa, got, sizeof(got)), ==, 0);
    g_assert_cmpmem(got, sizeof(got), data, sizeof(data));
    tdev_free(t);

    /* The bytes are in the image, read by a fresh open. */
    {
        struct bdrv *bs = bdrv_open(path, "qcow2", NULL, 0, &err);

        g_assert_no_error(err);
        g_assert_cmpint(bdrv_pread(bs, 77 * 512, got, sizeof(got)), ==, 0);
        g_assert_cmpmem(got, sizeof(got), data, sizeof(data));
        bdrv_unref(bs);
    }
}

int main(int argc, char **argv)
{
    GError *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-virtio-blk-XXXXXX", &err);
    g_assert_no_error(err);
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, &err), ==, 0);
    g_assert_no_error(err);

    g_test_add_func("/virtio-blk/config", test_config);
    g_test_add_func("/virtio-blk/qdev-resize", test_qdev_resize);
    g_test_add_func("/virtio-blk/rw-raw", test_rw_raw);
    g_test_add_func("/virtio-blk/rw-qcow2", test_rw_qcow2);
    g_test_add_func("/virtio-blk/batch", test_batch);
    g_test_add_func("/virtio-blk/merging", test_merging);
    g_test_add_func("/virtio-blk/get-id", test_get_id);
    g_test_add_func("/virtio-blk/discard-write-zeroes", test_discard_write_zeroes);
    g_test_add_func("/virtio-blk/out-of-range", test_out_of_range);
    g_test_add_func("/virtio-blk/bad-headers", test_bad_headers);
    g_test_add_func("/virtio-blk/read-only", test_read_only);
    g_test_add_func("/virtio-blk/reset-in-flight", test_reset_in_flight);
    g_test_add_func("/virtio-blk/interrupts", test_interrupts);
    g_test_add_func("/virtio-blk/write-cache", test_write_cache);
    g_test_add_func("/virtio-blk/multiqueue", test_multiqueue);
    g_test_add_func("/virtio-blk/random-requests", test_random_requests);
    g_test_add_func("/virtio-blk/geometry", test_geometry);
    g_test_add_func("/virtio-blk/errors", test_errors);
    g_test_add_func("/virtio-blk/drive-in-use", test_drive_in_use);
    g_test_add_func("/virtio-blk/blockdev-qcow2", test_blockdev_qcow2);
    ret = g_test_run();

    ram_free_all();
    tmpdir_remove(tmpdir);
    g_free(tmpdir);
    return ret;
}
