/*
 * virtio-balloon (virtio 1.2 section 5.5).  The host sets num_pages, the
 * number of 4 KiB pages it wants back; the driver allocates pages inside
 * the guest and hands their PFNs over the inflate queue, gives them back
 * over the deflate queue and writes the count it holds to "actual".  An
 * inflated page is discarded (madvise MADV_DONTNEED), so the host gets its
 * memory back and the page reads as zero when the guest touches it again.
 * The statistics queue holds one buffer the driver fills with tag/value
 * pairs; the device keeps it and gives it back every
 * guest-stats-polling-interval seconds to ask for fresh values.  With
 * free-page-reporting=on a fourth queue carries free ranges the guest
 * reports, which are discarded the same way.
 *
 * The numbers, names and replies are QEMU 7.2's: properties, feature bits
 * offered (stats always, page-poison by default), config size, what
 * query-balloon and qom-get guest-stats show.
 *
 * Threads: big lock held.  Queue handlers and config writes run on vCPU
 * threads (or the main thread for kicks the core kept), the statistics
 * timer on the main loop.  Guest input (PFNs, buffers, config) is checked:
 * a PFN outside guest RAM is a guest error (virtio_error), never an
 * access outside RAM.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hw/device.h"
#include "hw/virtio/virtio-balloon.h"
#include "hw/virtio/virtio.h"
#include "machine/machine.h"
#include "qapi/qmp-balloon.h"
#include "system/error.h"
#include "system/le.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"

#include "system/container-of.h"

G_STATIC_ASSERT(VIRTIO_BALLOON_S_NR == BALLOON_STAT_NR);

#define BALLOON_PAGE_SIZE       (1u << VIRTIO_BALLOON_PFN_SHIFT)
/* QEMU's queue sizes: 128, and 32 for free page reporting. */
#define BALLOON_QUEUE_SIZE      128
#define BALLOON_REPORTING_SIZE  32
/* Config bytes: up to poison_val with page-poison, else num_pages and
 * actual only (QEMU's virtio_balloon_config_size()). */
#define BALLOON_CONFIG_FULL     16
#define BALLOON_CONFIG_SHORT    8
/* One statistic: le16 tag, le64 value, packed (section 5.5.6.3). */
#define BALLOON_STAT_SIZE       10
/* PFNs read from a buffer at a time. */
#define BALLOON_PFN_BATCH       256

struct virtio_balloon {
    struct virtio_device vdev;      /* first: the core frees us through it */
    uint64_t ram_size;
    bool can_discard;               /* host pages are 4 KiB: a PFN is a host page */

    uint32_t num_pages;             /* the host's target, in 4 KiB pages */
    uint32_t actual;                /* what the driver says it holds */
    uint32_t poison_val;            /* the driver's free-page fill (PAGE_POISON) */

    struct virtq_elem *stats_elem;  /* the driver's statistics buffer, held */
    uint64_t stats[VIRTIO_BALLOON_S_NR];
    int64_t stats_last_update;      /* seconds since the epoch; 0: never */
    int64_t stats_poll_interval;    /* seconds; 0: no polling */
    guint stats_timer;              /* g_timeout source, 0: none */
};

static struct virtio_balloon *to_balloon(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_balloon, vdev);
}

/* ---- config (section 5.5.4) ---- */

/* The config bytes the driver reads, from the device's state. */
static void balloon_config_update(struct virtio_balloon *s)
{
    uint8_t *cfg = s->vdev.config;

    st32(cfg + VIRTIO_BALLOON_CFG_NUM_PAGES, s->num_pages);
    st32(cfg + VIRTIO_BALLOON_CFG_ACTUAL, s->actual);
    if (s->vdev.ops->config_size >= BALLOON_CONFIG_FULL) {
        /* No free page hinting: the command id stays 0. */
        st32(cfg + VIRTIO_BALLOON_CFG_HINT_CMD_ID, 0);
        st32(cfg + VIRTIO_BALLOON_CFG_POISON_VAL, s->poison_val);
    }
}

static uint64_t balloon_actual_bytes(struct virtio_balloon *s)
{
    return s->ram_size - ((uint64_t)s->actual << VIRTIO_BALLOON_PFN_SHIFT);
}

/*
 * The driver may write actual and, with PAGE_POISON, poison_val; num_pages
 * is the device's (section 5.5.4: "the driver SHOULD NOT write num_pages").
 * A changed actual is BALLOON_CHANGE, as in QEMU.
 */
static void balloon_config_written(struct virtio_device *vdev, unsigned offset, unsigned len)
{
    struct virtio_balloon *s = to_balloon(vdev);
    uint32_t old_actual = s->actual;

    s->actual = ld32(vdev->config + VIRTIO_BALLOON_CFG_ACTUAL);
    if (vdev->ops->config_size >= BALLOON_CONFIG_FULL &&
        virtio_has_feature(vdev, VIRTIO_BALLOON_F_PAGE_POISON)) {
        s->poison_val = ld32(vdev->config + VIRTIO_BALLOON_CFG_POISON_VAL);
    }
    balloon_config_update(s);
    if (s->actual != old_actual) {
        balloon_event_change(balloon_actual_bytes(s));
    }
}

/* ---- inflate and deflate (section 5.5.6.1, 5.5.6.2) ---- */

/* Gives [hva, hva+len) back to the host: it reads as zero afterwards. */
static void balloon_discard(struct virtio_balloon *s, void *hva, size_t len)
{
    if (s->can_discard && len && madvise(hva, len, MADV_DONTNEED) < 0) {
        /* Not fatal: the guest just keeps the memory it gave. */
        log_mask(LOG_UNIMP, "virtio-balloon: madvise(MADV_DONTNEED): %s\n",
                 g_strerror(errno));
    }
}

/*
 * The PFNs of one buffer.  Runs of contiguous host pages are discarded
 * with one call.  False after a guest error (a PFN outside RAM).
 */
static bool balloon_pages(struct virtio_balloon *s, const struct virtq_elem *elem,
                          bool inflate)
{
    uint8_t buf[BALLOON_PFN_BATCH * 4];
    uint8_t *run = NULL;
    size_t run_len = 0, off = 0, got;

    while ((got = iov_to_buf(elem->out_sg, elem->out_num, off, buf, sizeof(buf))) >= 4) {
        for (size_t i = 0; i + 4 <= got; i += 4) {
            uint32_t pfn = ld32(buf + i);
            uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT;
            uint8_t *hva = ram_hva(gpa, BALLOON_PAGE_SIZE);

            if (!hva) {
                balloon_discard(s, run, run_len);
                virtio_error(&s->vdev, "virtio-balloon: %s PFN 0x%" PRIx32
                             " is not guest RAM", inflate ? "inflate" : "deflate", pfn);
                return false;
            }
            if (!inflate) {
                continue;       /* the page is the guest's again: nothing to do */
            }
            if (run && hva == run + run_len) {
                run_len += BALLOON_PAGE_SIZE;
                continue;
            }
            balloon_discard(s, run, run_len);
            run = hva;
            run_len = BALLOON_PAGE_SIZE;
        }
        off += got - got % 4;
    }
    balloon_discard(s, run, run_len);
    return true;
}

static void balloon_handle_pages(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_balloon *s = to_balloon(vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *elem;

    while ((elem = virtqueue_pop(vq, sizeof(*elem)))) {
        if (!balloon_pages(s, elem, queue == VIRTIO_BALLOON_Q_INFLATE)) {
            g_free(elem);
            return;
        }
        virtqueue_push(vq, elem, 0);
        g_free(elem);
    }
    virtqueue_notify(vq);
}

/* ---- free page reporting (section 5.5.6.4) ---- */

/*
 * Each device-writable buffer is a free range: discard its whole pages.
 * Not when the driver fills free pages with a poison value, since a
 * discarded page reads back as zero (QEMU skips them the same way).
 */
static void balloon_handle_report(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_balloon *s = to_balloon(vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *elem;

    while ((elem = virtqueue_pop(vq, sizeof(*elem)))) {
        for (unsigned i = 0; i < elem->in_num && !s->poison_val; i++) {
            uintptr_t start = (uintptr_t)elem->in_sg[i].iov_base;
            uintptr_t end = start + elem->in_sg[i].iov_len;
            uintptr_t a = (start + BALLOON_PAGE_SIZE - 1) & ~(uintptr_t)(BALLOON_PAGE_SIZE - 1);
            uintptr_t b = end & ~(uintptr_t)(BALLOON_PAGE_SIZE - 1);

            if (a < b) {
                balloon_discard(s, (void *)a, b - a);
            }
        }
        virtqueue_push(vq, elem, 0);
        g_free(elem);
    }
    virtqueue_notify(vq);
}

/* ---- statistics (section 5.5.6.3) ---- */

static void balloon_stats_reset(struct virtio_balloon *s)
{
    for (unsigned i = 0; i < VIRTIO_BALLOON_S_NR; i++) {
        s->stats[i] = UINT64_MAX;       /* "not reported", as QEMU shows it */
    }
}

static gboolean balloon_stats_poll(gpointer opaque);

static void balloon_stats_arm(struct virtio_balloon *s, int64_t secs)
{
    if (s->stats_timer) {
        g_source_remove(s->stats_timer);
    }
    s->stats_timer = g_timeout_add((guint)MIN(secs * 1000, G_MAXUINT), balloon_stats_poll, s);
}

static void balloon_stats_disarm(struct virtio_balloon *s)
{
    if (s->stats_timer) {
        g_source_remove(s->stats_timer);
        s->stats_timer = 0;
    }
}

/*
 * Giving the buffer back asks the driver for new values (section 5.5.6.3).
 * QEMU's timer runs on guest time: while the VM is stopped, or before the
 * driver has a buffer here, it just waits for another interval.
 */
static gboolean balloon_stats_poll(gpointer opaque)
{
    struct virtio_balloon *s = opaque;
    struct virtqueue *vq = &s->vdev.vqs[VIRTIO_BALLOON_Q_STATS];

    s->stats_timer = 0;
    if (!s->stats_elem || !virtio_has_feature(&s->vdev, VIRTIO_BALLOON_F_STATS_VQ) ||
        !virtio_driver_ok(&s->vdev) || !runstate_is_running()) {
        balloon_stats_arm(s, s->stats_poll_interval);
        return G_SOURCE_REMOVE;
    }
    virtqueue_push(vq, s->stats_elem, 0);
    virtqueue_notify(vq);
    g_free(s->stats_elem);
    s->stats_elem = NULL;
    return G_SOURCE_REMOVE;
}

static void balloon_handle_stats(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_balloon *s = to_balloon(vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *elem = virtqueue_pop(vq, sizeof(*elem));
    uint8_t st[BALLOON_STAT_SIZE];
    size_t off = 0;

    if (elem) {
        /* A driver that follows the spec has one buffer out; an older one
         * goes back so it is not lost. */
        if (s->stats_elem) {
            virtqueue_push(vq, s->stats_elem, 0);
            virtqueue_notify(vq);
            g_free(s->stats_elem);
        }
        s->stats_elem = elem;
        /* A driver may report fewer statistics than before (another kernel). */
        balloon_stats_reset(s);
        while (iov_to_buf(elem->out_sg, elem->out_num, off, st, sizeof(st)) == sizeof(st)) {
            uint16_t tag = ld16(st);

            if (tag < VIRTIO_BALLOON_S_NR) {
                s->stats[tag] = ld64(st + 2);
            }
            off += sizeof(st);
        }
        s->stats_last_update = g_get_real_time() / G_USEC_PER_SEC;
    }
    if (s->stats_poll_interval > 0) {
        balloon_stats_arm(s, s->stats_poll_interval);
    }
}

/* ---- the monitors' side (qapi/qmp-balloon.h) ---- */

/* QEMU's virtio_balloon_to_target(): clamped to RAM; the driver learns
 * of it through a config change (section 5.5.6). */
static void balloon_set_target(void *opaque, uint64_t target)
{
    struct virtio_balloon *s = opaque;

    target = MIN(target, s->ram_size);
    if (!target) {
        return;
    }
    s->num_pages = (s->ram_size - target) >> VIRTIO_BALLOON_PFN_SHIFT;
    balloon_config_update(s);
    if (s->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) {
        virtio_notify_config(&s->vdev);
    }
}

static uint64_t balloon_actual(void *opaque)
{
    return balloon_actual_bytes(opaque);
}

static void balloon_get_stats(void *opaque, uint64_t stats[BALLOON_STAT_NR],
                              int64_t *last_update)
{
    struct virtio_balloon *s = opaque;

    memcpy(stats, s->stats, sizeof(s->stats));
    *last_update = s->stats_last_update;
}

static int64_t balloon_get_poll_interval(void *opaque)
{
    const struct virtio_balloon *s = opaque;

    return s->stats_poll_interval;
}

/* QEMU's balloon_stats_set_poll_interval(): 0 stops polling, a new
 * interval restarts the timer, the first one fires at once. */
static bool balloon_set_poll_interval(void *opaque, int64_t secs, GError **errp)
{
    struct virtio_balloon *s = opaque;

    if (secs < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "timer value must be greater than zero");
        return false;
    }
    if (secs > UINT32_MAX) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "timer value is too big");
        return false;
    }
    if (secs == s->stats_poll_interval) {
        return true;
    }
    if (!secs) {
        balloon_stats_disarm(s);
    } else {
        balloon_stats_arm(s, s->stats_poll_interval ? secs : 0);
    }
    s->stats_poll_interval = secs;
    return true;
}

static const struct balloon_ops balloon_monitor_ops = {
    .set_target = balloon_set_target,
    .actual = balloon_actual,
    .get_stats = balloon_get_stats,
    .get_poll_interval = balloon_get_poll_interval,
    .set_poll_interval = balloon_set_poll_interval,
};

/* ---- device ops ---- */

static void balloon_set_features(struct virtio_device *vdev, uint64_t features)
{
    struct virtio_balloon *s = to_balloon(vdev);

    if (!((features >> VIRTIO_BALLOON_F_PAGE_POISON) & 1)) {
        s->poison_val = 0;
        balloon_config_update(s);
    }
}

/* QEMU keeps num_pages and actual over a reset: the target stays. */
static void balloon_reset(struct virtio_device *vdev)
{
    struct virtio_balloon *s = to_balloon(vdev);

    g_free(s->stats_elem);
    s->stats_elem = NULL;
    s->poison_val = 0;
    balloon_config_update(s);
}

static void balloon_cleanup(struct virtio_device *vdev)
{
    struct virtio_balloon *s = to_balloon(vdev);

    balloon_stats_disarm(s);
    g_free(s->stats_elem);
    s->stats_elem = NULL;
    balloon_remove_handler(s);
}

/* Two layouts of the config (see BALLOON_CONFIG_FULL); the PCI class is
 * QEMU's PCI_CLASS_OTHERS as a 16-bit class: base 0x00, sub 0xff. */
#define BALLOON_OPS(size) {                         \
        .name = "virtio-balloon",                   \
        .device_id = VIRTIO_ID_BALLOON,             \
        .pci_class = 0x00ff00,                      \
        .config_size = (size),                      \
        .config_written = balloon_config_written,   \
        .set_features = balloon_set_features,       \
        .reset = balloon_reset,                     \
        .cleanup = balloon_cleanup,                 \
    }
static const struct virtio_dev_ops virtio_balloon_ops[] = {
    BALLOON_OPS(BALLOON_CONFIG_FULL),
    BALLOON_OPS(BALLOON_CONFIG_SHORT),
};

struct virtio_device *virtio_balloon_new(const struct dev_config *cfg, uint64_t ram_size,
                                         GError **errp)
{
    bool poison = dev_config_bool(cfg, "page-poison");
    bool reporting = dev_config_bool(cfg, "free-page-reporting");
    uint64_t features = 1ull << VIRTIO_BALLOON_F_STATS_VQ;
    struct virtio_balloon *s;

    /* QEMU hints free pages to migration from an iothread; neither exists here. */
    if (dev_config_bool(cfg, "free-page-hint")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "'free-page-hint' requires 'iothread' to be set");
        return NULL;
    }
    if (dev_config_bool(cfg, "deflate-on-oom")) {
        features |= 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
    }
    if (poison) {
        features |= 1ull << VIRTIO_BALLOON_F_PAGE_POISON;
    }
    if (reporting) {
        features |= 1ull << VIRTIO_BALLOON_F_PAGE_REPORTING;
    }
    s = g_new0(struct virtio_balloon, 1);
    s->ram_size = ram_size;
    s->can_discard = sysconf(_SC_PAGESIZE) == BALLOON_PAGE_SIZE;
    balloon_stats_reset(s);
    virtio_init(&s->vdev, &virtio_balloon_ops[poison ? 0 : 1], cfg, reporting ? 4 : 3,
                BALLOON_QUEUE_SIZE, features);
    s->vdev.vqs[VIRTIO_BALLOON_Q_INFLATE].handle = balloon_handle_pages;
    s->vdev.vqs[VIRTIO_BALLOON_Q_DEFLATE].handle = balloon_handle_pages;
    s->vdev.vqs[VIRTIO_BALLOON_Q_STATS].handle = balloon_handle_stats;
    if (reporting) {
        struct virtqueue *vq = &s->vdev.vqs[VIRTIO_BALLOON_Q_REPORTING];

        vq->handle = balloon_handle_report;
        vq->num_max = vq->num = BALLOON_REPORTING_SIZE;
    }
    balloon_config_update(s);
    if (balloon_add_handler(&balloon_monitor_ops, s, cfg, errp) < 0 ||
        !balloon_set_poll_interval(s, dev_config_uint(cfg, "guest-stats-polling-interval"),
                                   errp)) {
        virtio_device_free(&s->vdev);
        return NULL;
    }
    return &s->vdev;
}

int virtio_balloon_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    return virtio_plug_new(m, cfg, virtio_balloon_new(cfg, m->ram_size, errp), errp);
}
