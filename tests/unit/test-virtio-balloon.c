/*
 * virtio-balloon against a fake transport and guest RAM of the test's own:
 * inflate gives pages back to the host (they read as zero and leave the
 * resident set), deflate takes PFNs and touches nothing, a PFN outside RAM
 * breaks the device without a crash, num_pages/actual in the config, the
 * BALLOON_CHANGE event and its throttle, statistics and their polling,
 * free page reporting, and the monitors' replies (QMP balloon,
 * query-balloon, qom properties, HMP), which are QEMU 7.2's.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "hw/device.h"
#include "hw/virtio/virtio-balloon.h"
#include "hw/virtio/virtio.h"
#include "qapi/monitor.h"
#include "qapi/qmp-balloon.h"
#include "qapi/qmp.h"
#include "system/keyval.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "tests/unit/balloon-stats.h"
#include "tests/unit/virtio-driver.h"

#define RAM_SIZE        (32ull << 20)
#define QUEUE_BASE      0x10000ull      /* queue i's rings at QUEUE_BASE + i * 0x4000 */
#define BUF_BASE        0x100000ull     /* buffers the driver hands over */
#define PAGES_BASE      0x800000ull     /* pages put into the balloon */
#define QSIZE           16

static struct tq queues[4];

/* ---- the device ---- */

static struct dev_config cfg;

/* A balloon as a driver sets it up: features acked, queues live, DRIVER_OK. */
static struct virtio_device *balloon_start(const char *opts, uint64_t acked)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev;

    cfg.type = device_type_find("virtio-balloon-device");
    g_assert_nonnull(cfg.type);
    cfg.props = opts ? kv_parse(opts, NULL, &err) : NULL;
    g_assert_no_error(err);
    vdev = virtio_balloon_new(&cfg, RAM_SIZE, &err);
    g_assert_no_error(err);
    vd_driver_start(vdev, acked | (1ull << VIRTIO_F_VERSION_1), queues, QUEUE_BASE, QSIZE);
    return vdev;
}

static void balloon_stop(struct virtio_device *vdev)
{
    virtio_device_free(vdev);
    kv_free(cfg.props);
    cfg.props = NULL;
}

static void fill(uint64_t gpa, uint64_t len, uint8_t v)
{
    memset(ram_hva(gpa, len), v, len);
}

static bool all_bytes(uint64_t gpa, uint64_t len, uint8_t v)
{
    const uint8_t *p = ram_hva(gpa, len);

    for (uint64_t i = 0; i < len; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

static bool resident(uint64_t gpa)
{
    unsigned char vec = 0;

    g_assert_cmpint(mincore(ram_hva(gpa, 4096), 4096, &vec), ==, 0);
    return vec & 1;
}

/* A buffer of PFNs at BUF_BASE + off. */
static struct buf pfn_buf(uint64_t off, const uint32_t *pfns, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        put32(BUF_BASE + off + 4 * i, pfns[i]);
    }
    return (struct buf){ BUF_BASE + off, 4 * n, false };
}

/* ---- QMP, through a session of the test's own ---- */

static GString *transcript;
static struct qmp_session *sess;

static void out_append(void *opaque, const char *text, size_t len)
{
    g_string_append_len(opaque, text, len);
}

static const char *ask(const char *in)
{
    g_string_truncate(transcript, 0);
    qmp_session_feed(sess, in, strlen(in));
    return transcript->str;
}

/* The event lines in the transcript, without their timestamps. */
static char *events(void)
{
    GString *out = g_string_new(NULL);
    g_auto(GStrv) lines = g_strsplit(transcript->str, "\r\n", -1);

    for (unsigned i = 0; lines[i]; i++) {
        const char *ev = strstr(lines[i], "\"event\": ");

        if (g_str_has_prefix(lines[i], "{\"timestamp\": ") && ev) {
            g_string_append_printf(out, "{%s\n", ev);
        }
    }
    return g_string_free(out, FALSE);
}

/* Runs the main loop for ms milliseconds (timers). */
static void run_loop(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(2000);
    }
}

/* ---- tests ---- */

static void test_features_config(void)
{
    struct virtio_device *vdev = balloon_start(NULL, 0);

    /* QEMU 7.2's defaults: statistics and page poisoning offered, the
     * 16-byte config, three queues of 128. */
    g_assert_true(vdev->host_features & (1ull << VIRTIO_BALLOON_F_STATS_VQ));
    g_assert_true(vdev->host_features & (1ull << VIRTIO_BALLOON_F_PAGE_POISON));
    g_assert_false(vdev->host_features & (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
    g_assert_false(vdev->host_features & (1ull << VIRTIO_BALLOON_F_MUST_TELL_HOST));
    g_assert_cmpuint(vdev->ops->device_id, ==, VIRTIO_ID_BALLOON);
    g_assert_cmpuint(vdev->ops->config_size, ==, 16);
    g_assert_cmpuint(vdev->nvqs, ==, 3);
    g_assert_cmpuint(vdev->vqs[0].num_max, ==, 128);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 4), ==, 0);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 4), ==, 0);
    balloon_stop(vdev);

    vdev = balloon_start("deflate-on-oom=on,page-poison=off,free-page-reporting=on", 0);
    g_assert_true(vdev->host_features & (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
    g_assert_true(vdev->host_features & (1ull << VIRTIO_BALLOON_F_PAGE_REPORTING));
    g_assert_false(vdev->host_features & (1ull << VIRTIO_BALLOON_F_PAGE_POISON));
    g_assert_cmpuint(vdev->ops->config_size, ==, 8);
    g_assert_cmpuint(vdev->nvqs, ==, 4);
    g_assert_cmpuint(vdev->vqs[VIRTIO_BALLOON_Q_REPORTING].num_max, ==, 32);
    balloon_stop(vdev);
}

static void test_create_errors(void)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev = balloon_start(NULL, 0);
    struct dev_config c2 = { .type = cfg.type };

    /* QEMU 7.2's words for a second balloon and for free-page-hint. */
    g_assert_null(virtio_balloon_new(&c2, RAM_SIZE, &err));
    g_assert_cmpstr(err->message, ==, "Only one balloon device is supported");
    balloon_stop(vdev);
    g_clear_error(&err);

    c2.props = kv_parse("free-page-hint=on", NULL, &err);
    g_assert_no_error(err);
    g_assert_null(virtio_balloon_new(&c2, RAM_SIZE, &err));
    g_assert_cmpstr(err->message, ==, "'free-page-hint' requires 'iothread' to be set");
    kv_free(c2.props);
}

static void test_inflate_discards(void)
{
    uint64_t stats = 1ull << VIRTIO_BALLOON_F_STATS_VQ;
    struct virtio_device *vdev = balloon_start(NULL, stats);
    /* Two runs of contiguous pages and one page on its own. */
    const uint32_t pfns[] = {
        PAGES_BASE >> 12, (PAGES_BASE >> 12) + 1, (PAGES_BASE >> 12) + 2,
        (PAGES_BASE >> 12) + 7, (PAGES_BASE >> 12) + 5,
    };
    struct buf b = pfn_buf(0, pfns, G_N_ELEMENTS(pfns));

    fill(PAGES_BASE, 8 * 4096, 0xaa);
    g_assert_true(resident(PAGES_BASE));
    tq_add_chain(&queues[VIRTIO_BALLOON_Q_INFLATE], &b, 1, true);
    g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_BALLOON_Q_INFLATE]), ==, 1);
    g_assert_cmpuint(tq_used_len(&queues[VIRTIO_BALLOON_Q_INFLATE], 0), ==, 0);
    g_assert_cmpuint(notifies, ==, 1);
    g_assert_false(vdev->broken);
    /* The host took the pages back: gone from the resident set, zero when
     * the guest reads them again; the others kept their contents. */
    g_assert_false(resident(PAGES_BASE + 4096));
    g_assert_false(resident(PAGES_BASE + 7 * 4096));
    for (unsigned i = 0; i < 8; i++) {
        bool ballooned = i <= 2 || i == 5 || i == 7;

        g_assert_true(all_bytes(PAGES_BASE + i * 4096ull, 4096, ballooned ? 0 : 0xaa));
    }
    balloon_stop(vdev);
}

static void test_deflate(void)
{
    struct virtio_device *vdev = balloon_start(NULL, 0);
    const uint32_t pfns[] = { PAGES_BASE >> 12, (PAGES_BASE >> 12) + 1 };
    struct buf b = pfn_buf(0, pfns, 2);

    fill(PAGES_BASE, 2 * 4096, 0x55);
    tq_add_chain(&queues[VIRTIO_BALLOON_Q_DEFLATE], &b, 1, true);
    g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_BALLOON_Q_DEFLATE]), ==, 1);
    g_assert_cmpuint(notifies, ==, 1);
    g_assert_true(all_bytes(PAGES_BASE, 2 * 4096, 0x55));
    g_assert_false(vdev->broken);
    balloon_stop(vdev);
}

static void test_bad_pfn(void)
{
    struct virtio_device *vdev = balloon_start(NULL, 0);
    /* The last page of RAM is fine, the next one and a PFN far away are not. */
    const uint32_t ok[] = { (RAM_SIZE >> 12) - 1 };
    const uint32_t bad[] = { PAGES_BASE >> 12, RAM_SIZE >> 12, 0xffffffff };
    struct buf b = pfn_buf(0, ok, 1);

    tq_add_chain(&queues[VIRTIO_BALLOON_Q_INFLATE], &b, 1, true);
    g_assert_false(vdev->broken);
    g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_BALLOON_Q_INFLATE]), ==, 1);

    b = pfn_buf(64, bad, G_N_ELEMENTS(bad));
    tq_add_chain(&queues[VIRTIO_BALLOON_Q_INFLATE], &b, 1, true);
    g_assert_true(vdev->broken);
    g_assert_true(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_BALLOON_Q_INFLATE]), ==, 1);

    /* The same on deflate, after the driver reset the device. */
    virtio_set_status(vdev, 0);
    g_assert_false(vdev->broken);
    balloon_stop(vdev);
    vdev = balloon_start(NULL, 0);
    b = pfn_buf(64, bad + 2, 1);
    tq_add_chain(&queues[VIRTIO_BALLOON_Q_DEFLATE], &b, 1, true);
    g_assert_true(vdev->broken);
    balloon_stop(vdev);
}

static void test_target_actual_event(void)
{
    struct virtio_device *vdev = balloon_start(NULL, 0);
    g_autofree char *ev1 = NULL, *ev2 = NULL, *ev3 = NULL;

    g_assert_cmpstr(ask("{\"execute\": \"query-balloon\"}"), ==,
                    "{\"return\": {\"actual\": 33554432}}\r\n");
    /* 24 MiB of 32: the host wants 8 MiB, 2048 pages, and says so with a
     * config interrupt. */
    g_assert_cmpstr(ask("{\"execute\": \"balloon\", \"arguments\": {\"value\": 25165824}}"),
                    ==, "{\"return\": {}}\r\n");
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 4), ==, 2048);
    g_assert_cmpuint(notifies, ==, 1);
    g_assert_true(vdev->isr & VIRTIO_ISR_CONFIG);
    /* The driver cannot change num_pages; actual is its to write. */
    virtio_config_write(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 5, 4);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 4), ==, 2048);

    g_string_truncate(transcript, 0);
    virtio_config_write(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 1024, 4);
    ev1 = events();
    g_assert_cmpstr(ev1, ==, "{\"event\": \"BALLOON_CHANGE\", \"data\": "
                             "{\"actual\": 29360128}}\n");
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 4), ==, 1024);
    g_assert_cmpstr(ask("{\"execute\": \"query-balloon\"}"), ==,
                    "{\"return\": {\"actual\": 29360128}}\r\n");

    /* Within the second: held back, then only the latest goes out. */
    g_string_truncate(transcript, 0);
    virtio_config_write(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 1536, 4);
    virtio_config_write(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 2048, 4);
    /* The same value again is no change. */
    virtio_config_write(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 2048, 4);
    ev2 = events();
    g_assert_cmpstr(ev2, ==, "");
    run_loop(1300);
    ev3 = events();
    g_assert_cmpstr(ev3, ==, "{\"event\": \"BALLOON_CHANGE\", \"data\": "
                             "{\"actual\": 25165824}}\n");

    /* Clamped to RAM: a target above it asks for nothing back. */
    g_assert_cmpstr(ask("{\"execute\": \"balloon\", \"arguments\": {\"value\": 1099511627776}}"),
                    ==, "{\"return\": {}}\r\n");
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 4), ==, 0);
    g_assert_cmpstr(ask("{\"execute\": \"balloon\", \"arguments\": {\"value\": 0}}"), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"Parameter 'target' expects a size\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"balloon\", \"arguments\": {\"value\": -1}}"), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"Parameter 'target' expects a size\"}}\r\n");

    /* QEMU keeps the target and actual over a device reset. */
    g_assert_cmpstr(ask("{\"execute\": \"balloon\", \"arguments\": {\"value\": 16777216}}"),
                    ==, "{\"return\": {}}\r\n");
    virtio_set_status(vdev, 0);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 4), ==, 4096);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 4), ==, 2048);
    balloon_stop(vdev);
}

/* Without a balloon: QEMU 7.2's replies, the argument checks first. */
static const struct {
    const char *in, *reply;
} no_balloon_cases[] = {
    { "{\"execute\": \"query-balloon\"}",
      "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": "
      "\"No balloon device has been activated\"}}\r\n" },
    { "{\"execute\": \"balloon\", \"arguments\": {\"value\": 1}}",
      "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": "
      "\"No balloon device has been activated\"}}\r\n" },
    { "{\"execute\": \"balloon\", \"arguments\": {\"value\": \"x\"}}",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": "
      "\"Invalid parameter type for 'value', expected: integer\"}}\r\n" },
    { "{\"execute\": \"balloon\"}",
      "{\"error\": {\"class\": \"GenericError\", \"desc\": "
      "\"Parameter 'value' is missing\"}}\r\n" },
    { "{\"execute\": \"human-monitor-command\", "
      "\"arguments\": {\"command-line\": \"info balloon\"}}",
      "{\"return\": \"Error: No balloon device has been activated\\r\\n\"}\r\n" },
};

static void test_no_balloon(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(no_balloon_cases); i++) {
        g_assert_cmpstr(ask(no_balloon_cases[i].in), ==, no_balloon_cases[i].reply);
    }
}

static void hmp_check(const char *line, const char *want)
{
    g_autofree char *got = hmp_execute(line);

    g_assert_cmpstr(got, ==, want);
}

static void test_hmp(void)
{
    struct virtio_device *vdev = balloon_start(NULL, 0);

    hmp_check("info balloon", "balloon: actual=32\r\n");
    hmp_check("balloon 20", "");
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 4), ==, 3072);
    hmp_check("balloon 0x10", "");
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_NUM_PAGES, 4), ==, 4096);
    virtio_config_write(vdev, VIRTIO_BALLOON_CFG_ACTUAL, 4096, 4);
    hmp_check("info balloon", "balloon: actual=16\r\n");
    /* QEMU 7.2's replies to bad arguments. */
    hmp_check("balloon 0", "Error: Parameter 'target' expects a size\r\n");
    hmp_check("balloon -3", "enter a positive value\r\nTry \"help balloon\" for more "
                            "information\r\n");
    hmp_check("balloon", "unexpected end of expression\r\nTry \"help balloon\" for more "
                         "information\r\n");
    hmp_check("balloon abc", "invalid char 'a' in expression\r\nTry \"help balloon\" for "
                             "more information\r\n");
    hmp_check("balloon 10M", "balloon: extraneous characters at the end of line\r\n"
                             "Try \"help balloon\" for more information\r\n");
    hmp_check("info balloon x", "balloon: extraneous characters at the end of line\r\n"
                                "Try \"help info balloon\" for more information\r\n");
    hmp_check("help balloon",
              "balloon target -- request VM to change its memory allocation (in MB)\r\n");
    hmp_check("help info balloon", "info balloon  -- show balloon information\r\n");
    balloon_stop(vdev);
}

/* One statistic as the driver writes it: le16 tag, le64 value. */
static void put_stat(uint64_t gpa, uint16_t tag, uint64_t val)
{
    put16(gpa, tag);
    put64(gpa + 2, val);
}

static void test_stats(void)
{
    struct virtio_device *vdev = balloon_start(NULL, 1ull << VIRTIO_BALLOON_F_STATS_VQ);
    struct tq *q = &queues[VIRTIO_BALLOON_Q_STATS];
    struct buf b = { BUF_BASE, 50, false };
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) before = NULL, after = NULL, iv = NULL, v = NULL;
    g_autofree char *before_s = NULL, *after_s = NULL;

    before = balloon_qom_get("guest-stats", &err);
    g_assert_no_error(err);
    before_s = qmp_to_json(before);
    /* QEMU 7.2's layout and order before the driver reported anything. */
    g_assert_cmpstr(before_s, ==, BALLOON_GUEST_STATS_UNREPORTED);

    /* Five statistics, one with a tag from the future (ignored). */
    put_stat(BUF_BASE, VIRTIO_BALLOON_S_SWAP_IN, 7);
    put_stat(BUF_BASE + 10, VIRTIO_BALLOON_S_MEMFREE, 1234567);
    put_stat(BUF_BASE + 20, 99, 1);
    put_stat(BUF_BASE + 30, VIRTIO_BALLOON_S_MEMTOT, 33554432);
    put_stat(BUF_BASE + 40, VIRTIO_BALLOON_S_HTLB_PGFAIL, 0);
    tq_add_chain(q, &b, 1, true);
    /* The device keeps the buffer until it wants new values. */
    g_assert_cmpuint(tq_used_idx(q), ==, 0);
    after = balloon_qom_get("guest-stats", &err);
    g_assert_no_error(err);
    after_s = qmp_to_json(after);
    g_assert_nonnull(strstr(after_s, "\"stat-swap-in\": 7,"));
    g_assert_nonnull(strstr(after_s, "\"stat-free-memory\": 1234567,"));
    g_assert_nonnull(strstr(after_s, "\"stat-total-memory\": 33554432,"));
    g_assert_nonnull(strstr(after_s, "\"stat-htlb-pgfail\": 0,"));
    g_assert_nonnull(strstr(after_s, "\"stat-swap-out\": 18446744073709551615,"));
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(after), "last-update"),
                    >=, g_get_real_time() / G_USEC_PER_SEC - 5);

    /* Polling: the first interval fires at once and hands the buffer back. */
    iv = balloon_qom_get("guest-stats-polling-interval", &err);
    g_assert_cmpint(json_node_get_int(iv), ==, 0);
    v = json_node_init_int(json_node_alloc(), 2);
    g_assert_true(balloon_qom_set("guest-stats-polling-interval", v, &err));
    g_assert_no_error(err);
    run_loop(100);
    g_assert_cmpuint(tq_used_idx(q), ==, 1);
    g_assert_cmpuint(notifies, ==, 1);
    g_clear_pointer(&iv, json_node_unref);
    iv = balloon_qom_get("guest-stats-polling-interval", &err);
    g_assert_cmpint(json_node_get_int(iv), ==, 2);

    /* QEMU 7.2's refusals. */
    json_node_set_int(v, -1);
    g_assert_false(balloon_qom_set("guest-stats-polling-interval", v, &err));
    g_assert_cmpstr(err->message, ==, "timer value must be greater than zero");
    g_clear_error(&err);
    json_node_set_int(v, 1ll << 32);
    g_assert_false(balloon_qom_set("guest-stats-polling-interval", v, &err));
    g_assert_cmpstr(err->message, ==, "timer value is too big");
    g_clear_error(&err);
    g_assert_false(balloon_qom_set("guest-stats", v, &err));
    g_assert_cmpstr(err->message, ==,
                    "Property 'virtio-balloon-device.guest-stats' is not writable");
    g_clear_error(&err);
    json_node_set_string(v, "x");
    g_assert_false(balloon_qom_set("guest-stats-polling-interval", v, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter type for "
                    "'guest-stats-polling-interval', expected: integer");
    g_clear_error(&err);

    /* The driver's next buffer; a device reset drops the one held. */
    tq_add_chain(q, &b, 1, true);
    g_assert_cmpuint(tq_used_idx(q), ==, 1);
    json_node_set_int(v, 0);
    g_assert_true(balloon_qom_set("guest-stats-polling-interval", v, &err));
    virtio_set_status(vdev, 0);
    balloon_stop(vdev);
}

static void test_reporting(void)
{
    uint64_t feats = (1ull << VIRTIO_BALLOON_F_PAGE_REPORTING) |
                     (1ull << VIRTIO_BALLOON_F_PAGE_POISON);
    struct virtio_device *vdev = balloon_start("free-page-reporting=on", feats);
    struct tq *q = &queues[VIRTIO_BALLOON_Q_REPORTING];
    /* A two-page range, and one that starts mid-page: only its whole page goes. */
    struct buf b[2] = { { PAGES_BASE, 8192, true }, { PAGES_BASE + 0x3800, 0x1800, true } };

    fill(PAGES_BASE, 5 * 4096, 0x11);
    tq_add_chain(q, b, 2, true);
    g_assert_cmpuint(tq_used_idx(q), ==, 1);
    g_assert_true(all_bytes(PAGES_BASE, 8192, 0));
    g_assert_true(all_bytes(PAGES_BASE + 0x2000, 0x2000, 0x11));
    g_assert_true(all_bytes(PAGES_BASE + 0x4000, 0x1000, 0));

    /* A driver that poisons free pages keeps them: a discarded page would
     * read as zero instead of its poison. */
    fill(PAGES_BASE, 2 * 4096, 0x11);
    virtio_config_write(vdev, VIRTIO_BALLOON_CFG_POISON_VAL, 0xaaaaaaaa, 4);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_BALLOON_CFG_POISON_VAL, 4), ==,
                     0xaaaaaaaa);
    tq_add_chain(q, b, 1, true);
    g_assert_cmpuint(tq_used_idx(q), ==, 2);
    g_assert_true(all_bytes(PAGES_BASE, 8192, 0x11));
    balloon_stop(vdev);
}

int main(int argc, char **argv)
{
    int ret;

    vd_test_init(&argc, &argv, RAM_SIZE, NULL);
    runstate_set(RUN_STATE_RUNNING);
    transcript = g_string_new(NULL);
    sess = qmp_session_new(out_append, transcript);
    qmp_session_open(sess);
    ask("{\"execute\": \"qmp_capabilities\"}");

    g_test_add_func("/virtio-balloon/features-config", test_features_config);
    g_test_add_func("/virtio-balloon/create-errors", test_create_errors);
    g_test_add_func("/virtio-balloon/inflate-discards", test_inflate_discards);
    g_test_add_func("/virtio-balloon/deflate", test_deflate);
    g_test_add_func("/virtio-balloon/bad-pfn", test_bad_pfn);
    g_test_add_func("/virtio-balloon/no-balloon", test_no_balloon);
    g_test_add_func("/virtio-balloon/target-actual-event", test_target_actual_event);
    g_test_add_func("/virtio-balloon/hmp", test_hmp);
    g_test_add_func("/virtio-balloon/stats", test_stats);
    g_test_add_func("/virtio-balloon/reporting", test_reporting);
    ret = g_test_run();

    qmp_session_free(sess);
    g_string_free(transcript, TRUE);
    ram_free_all();
    return ret;
}
