/*
 * virtio-rng against a fake transport and guest RAM of the test's own:
 * buffers filled in order with the bytes of an rng-random file, the
 * default rng-builtin, the max-bytes/period rate limit, what a reset does
 * to a request in flight, a file that ends, chains the spec forbids
 * (section 5.4.6.1) breaking the device without a crash, and QEMU 7.2's
 * messages for bad properties and objects.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "hw/device.h"
#include "hw/virtio/rng-backend.h"
#include "hw/virtio/virtio-rng.h"
#include "hw/virtio/virtio.h"
#include "system/keyval.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "tests/unit/file-node.h"
#include "tests/unit/virtio-driver.h"

#define RAM_SIZE        (16ull << 20)
#define QUEUE_BASE      0x10000ull
#define BUF_BASE        0x100000ull
#define QSIZE           VIRTIO_RNG_QUEUE_SIZE

/* ---- a driver's view of the request queue ---- */

static struct tq q;

static void tq_setup(struct virtio_device *vdev)
{
    tq_setup_at(&q, vdev, 0, QUEUE_BASE, QSIZE);
}

/* One descriptor chain of n buffers at gpa[i]/len[i]; write: device-writable. */
static void tq_add(const uint64_t *gpa, const uint32_t *len, unsigned n, bool write)
{
    struct buf b[QSIZE];

    g_assert_cmpuint(n, <=, QSIZE);
    for (unsigned i = 0; i < n; i++) {
        b[i] = (struct buf){ gpa[i], len[i], write };
    }
    tq_add_chain(&q, b, n, false);
}

static void tq_add_buf(uint64_t gpa, uint32_t len)
{
    tq_add(&gpa, &len, 1, true);
}

static void tq_kick(void)
{
    virtio_queue_kick(q.vdev, 0);
}

/* ---- the device ---- */

static char *tmp_dir;
static struct dev_config cfg;

static struct virtio_device *rng_new(const char *opts, GError **errp)
{
    g_autoptr(GError) err = NULL;

    cfg.type = device_type_find("virtio-rng-device");
    g_assert_nonnull(cfg.type);
    kv_free(cfg.props);
    cfg.props = opts ? kv_parse(opts, NULL, &err) : NULL;
    g_assert_no_error(err);
    return virtio_rng_new(&cfg, errp);
}

/* A device as the driver sets it up: VERSION_1 acked, queue live, DRIVER_OK. */
static struct virtio_device *rng_start(const char *opts)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev = rng_new(opts, &err);
    g_assert_no_error(err);
    g_assert_nonnull(vdev);
    g_assert_cmpuint(vdev->ops->device_id, ==, VIRTIO_ID_RNG);
    vd_driver_start(vdev, vdev->host_features, &q, QUEUE_BASE, QSIZE);
    return vdev;
}

static void rng_stop(struct virtio_device *vdev)
{
    virtio_device_free(vdev);
    rng_backends_clear();
    kv_free(cfg.props);
    cfg.props = NULL;
    /* Sources the device left (timers, watches) must not fire later. */
    pump_for_ms(5);
}

/* A file of n bytes 0, 1, 2, ... (mod 251, so blocks differ). */
static char *pattern_file(const char *name, size_t n)
{
    char *path = g_build_filename(tmp_dir, name, NULL);
    g_autofree uint8_t *data = g_malloc(n ? n : 1);

    for (size_t i = 0; i < n; i++) {
        data[i] = (uint8_t)(i % 251);
    }
    g_assert_true(g_file_set_contents(path, (const char *)data, (gssize)n, NULL));
    return path;
}

static bool guest_has_pattern(uint64_t gpa, size_t len, size_t from)
{
    const uint8_t *p = ram_hva(gpa, len);

    for (size_t i = 0; i < len; i++) {
        if (p[i] != (uint8_t)((from + i) % 251)) {
            return false;
        }
    }
    return true;
}

/* A device on rng-random "r" reading a pattern_file of n bytes. */
static struct virtio_device *rng_start_file(const char *name, size_t n, const char *opts)
{
    g_autofree char *path = pattern_file(name, n);
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(rng_backend_create("rng-random", "r", path, &err), ==, 0);
    g_assert_no_error(err);
    return rng_start(opts);
}

/* ---- tests ---- */

/* Buffers are filled in order from the file; a chain of two parts too. */
static void test_random_file(void)
{
    struct virtio_device *vdev;
    const uint64_t gpa2[2] = { BUF_BASE + 0x2000, BUF_BASE + 0x3000 };
    const uint32_t len2[2] = { 10, 30 };

    vdev = rng_start_file("entropy", 4096, "rng=r");
    g_assert_true(rng_backend_opened(rng_backend_find("r")));
    memset(ram_hva(BUF_BASE, 0x4000), 0xee, 0x4000);

    tq_add_buf(BUF_BASE, 64);
    tq_add_buf(BUF_BASE + 0x1000, 100);
    tq_kick();
    g_assert_true(tq_pump_until_used(&q, 2));
    g_assert_cmpuint(tq_used_len(&q, 0), ==, 64);
    g_assert_cmpuint(tq_used_len(&q, 1), ==, 100);
    g_assert_true(guest_has_pattern(BUF_BASE, 64, 0));
    g_assert_true(guest_has_pattern(BUF_BASE + 0x1000, 100, 64));
    /* Nothing past the buffers was written. */
    g_assert_cmpuint(((uint8_t *)ram_hva(BUF_BASE + 64, 1))[0], ==, 0xee);
    g_assert_cmpuint(notifies, >, 0);

    tq_add(gpa2, len2, 2, true);
    tq_kick();
    g_assert_true(tq_pump_until_used(&q, 3));
    g_assert_cmpuint(tq_used_len(&q, 2), ==, 40);
    g_assert_true(guest_has_pattern(gpa2[0], 10, 164));
    g_assert_true(guest_has_pattern(gpa2[1], 30, 174));
    rng_stop(vdev);
}

/* Without rng= the device has its own rng-builtin (QEMU 7.2). */
static void test_builtin_default(void)
{
    struct virtio_device *vdev = rng_start(NULL);
    const uint8_t *p = ram_hva(BUF_BASE, 64);
    bool nonzero = false;

    memset(ram_hva(BUF_BASE, 64), 0, 64);
    tq_add_buf(BUF_BASE, 64);
    tq_kick();
    g_assert_true(tq_pump_until_used(&q, 1));
    g_assert_cmpuint(tq_used_len(&q, 0), ==, 64);
    for (unsigned i = 0; i < 64; i++) {
        nonzero |= p[i] != 0;
    }
    g_assert_true(nonzero);
    rng_stop(vdev);
}

/* Buffers made available before DRIVER_OK, without a kick, are served. */
static void test_builtin_object_early_buffers(void)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev;
    uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                 VIRTIO_CONFIG_S_FEATURES_OK;

    g_assert_cmpint(rng_backend_create("rng-builtin", "b", NULL, &err), ==, 0);
    vdev = rng_new("rng=b", &err);
    g_assert_no_error(err);
    vdev->transport = &fake_transport;
    virtio_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    g_assert_true(virtio_set_guest_features(vdev, vdev->host_features));
    virtio_set_status(vdev, st);
    tq_setup(vdev);
    tq_add_buf(BUF_BASE, 16);
    pump_for_ms(10);
    g_assert_cmpuint(tq_used_idx(&q), ==, 0);     /* not before DRIVER_OK */
    virtio_set_status(vdev, st | VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_true(tq_pump_until_used(&q, 1));
    g_assert_cmpuint(tq_used_len(&q, 0), ==, 16);
    rng_stop(vdev);
}

/* max-bytes=16,period=300: 16 bytes at once, the next 16 a period later. */
static void test_rate_limit(void)
{
    struct virtio_device *vdev;
    gint64 start;

    vdev = rng_start_file("limited", 4096, "rng=r,max-bytes=16,period=300");
    start = g_get_monotonic_time();
    for (unsigned i = 0; i < 4; i++) {
        tq_add_buf(BUF_BASE + 0x100 * i, 8);
    }
    tq_kick();
    g_assert_true(tq_pump_until_used(&q, 2));
    pump_for_ms(100);
    g_assert_cmpuint(tq_used_idx(&q), ==, 2);
    g_assert_true(tq_pump_until_used(&q, 4));
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 250 * 1000);
    g_assert_true(guest_has_pattern(BUF_BASE + 0x300, 8, 24));

    /* A buffer bigger than the quota gets the quota's worth. */
    tq_add_buf(BUF_BASE + 0x1000, 64);
    tq_kick();
    g_assert_true(tq_pump_until_used(&q, 5));
    g_assert_cmpuint(tq_used_len(&q, 4), ==, 16);
    rng_stop(vdev);
}

/* A reset while the back end has a request: nothing reaches the old ring. */
static void test_reset_in_flight(void)
{
    struct virtio_device *vdev;

    vdev = rng_start_file("reset", 4096, "rng=r");
    tq_add_buf(BUF_BASE, 32);
    tq_kick();                  /* the request waits for the main loop */
    virtio_set_status(vdev, 0);
    pump_for_ms(20);
    g_assert_cmpuint(tq_used_idx(&q), ==, 0);

    /* The driver sets the device up again: it works from the file's start. */
    vd_driver_start(vdev, vdev->host_features, &q, QUEUE_BASE, QSIZE);
    tq_add_buf(BUF_BASE, 32);
    tq_kick();
    g_assert_true(tq_pump_until_used(&q, 1));
    g_assert_cmpuint(tq_used_len(&q, 0), ==, 32);
    g_assert_true(guest_has_pattern(BUF_BASE, 32, 0));
    rng_stop(vdev);
}

/* A file that ends: what it had is delivered, then buffers just wait. */
static void test_file_ends(void)
{
    struct virtio_device *vdev;

    vdev = rng_start_file("short", 10, "rng=r");
    tq_add_buf(BUF_BASE, 64);
    tq_add_buf(BUF_BASE + 0x100, 64);
    tq_kick();
    g_assert_true(tq_pump_until_used(&q, 1));
    g_assert_cmpuint(tq_used_len(&q, 0), ==, 10);
    g_assert_true(guest_has_pattern(BUF_BASE, 10, 0));
    pump_for_ms(30);
    g_assert_cmpuint(tq_used_idx(&q), ==, 1);
    g_assert_false(vdev->broken);
    rng_stop(vdev);
}

/* Section 5.4.6.1: device-readable buffers are a guest error. */
static void test_bad_chains(void)
{
    struct virtio_device *vdev = rng_start(NULL);
    const uint64_t gpa = BUF_BASE;
    const uint32_t len = 16;

    tq_add(&gpa, &len, 1, false);
    tq_kick();
    g_assert_true(vdev->broken);
    g_assert_true(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
    pump_for_ms(10);
    g_assert_cmpuint(tq_used_idx(&q), ==, 0);
    rng_stop(vdev);

    /* A buffer outside guest RAM: the core refuses the chain. */
    vdev = rng_start(NULL);
    tq_add_buf(RAM_SIZE - 8, 64);
    tq_kick();
    g_assert_true(vdev->broken);
    pump_for_ms(10);
    g_assert_cmpuint(tq_used_idx(&q), ==, 0);
    rng_stop(vdev);
}

static void expect_new_error(const char *opts, const char *msg)
{
    g_autoptr(GError) err = NULL;

    g_assert_null(rng_new(opts, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
}

/* QEMU 7.2's messages. */
static void test_errors(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *missing = g_build_filename(tmp_dir, "missing", NULL);
    g_autofree char *msg = g_strdup_printf("Could not open '%s': No such file or directory",
                                           missing);

    expect_new_error("period=0", "'period' parameter expects a positive integer");
    expect_new_error("max-bytes=9223372036854775808",
                     "'max-bytes' parameter must be non-negative, and less than 2^63");
    expect_new_error("rng=nope", "Device 'nope' not found");

    g_assert_cmpint(rng_backend_create("rng-random", "m", missing, &err), ==, 0);
    expect_new_error("rng=m", msg);
    g_assert_false(rng_backend_opened(rng_backend_find("m")));

    g_assert_cmpint(rng_backend_create("rng-builtin", "m", NULL, &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Duplicate ID 'm' for object");
    g_clear_error(&err);
    g_assert_cmpint(rng_backends_open_all(&err), <, 0);
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);

    /* rng-random reads /dev/urandom unless told otherwise. */
    g_assert_cmpint(rng_backend_create("rng-random", "u", NULL, &err), ==, 0);
    g_assert_cmpstr(rng_backend_filename(rng_backend_find("u")), ==, "/dev/urandom");
    g_assert_cmpstr(rng_backend_type(rng_backend_find("u")), ==, "rng-random");
    rng_backends_clear();
    g_assert_null(rng_backend_find("u"));
}

int main(int argc, char **argv)
{
    int ret;

    tmp_dir = vd_test_init(&argc, &argv, RAM_SIZE, "hyvm-rng-XXXXXX");

    g_test_add_func("/virtio-rng/random-file", test_random_file);
    g_test_add_func("/virtio-rng/builtin-default", test_builtin_default);
    g_test_add_func("/virtio-rng/builtin-early-buffers", test_builtin_object_early_buffers);
    g_test_add_func("/virtio-rng/rate-limit", test_rate_limit);
    g_test_add_func("/virtio-rng/reset-in-flight", test_reset_in_flight);
    g_test_add_func("/virtio-rng/file-ends", test_file_ends);
    g_test_add_func("/virtio-rng/bad-chains", test_bad_chains);
    g_test_add_func("/virtio-rng/errors", test_errors);
    ret = g_test_run();

    tmpdir_remove(tmp_dir);
    g_free(tmp_dir);
    ram_free_all();
    return ret;
}
