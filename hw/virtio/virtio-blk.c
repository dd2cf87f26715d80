/*
 * virtio-blk (virtio 1.2 section 5.2) on a block backend.
 *
 * The device takes a queue's chains, checks each request's headers, and
 * hands the data buffers (iovecs straight into guest RAM) to the backend's
 * asynchronous requests, a queue's run of them between blk_io_plug and
 * blk_io_unplug so Linux AIO submits them together.  Each completion writes
 * the status byte, pushes the chain to the used ring and interrupts the
 * driver.  Behaviour follows QEMU 7.2's hw/block/virtio-blk.c where the
 * spec leaves a choice: which features are offered, what a bad request
 * gets (IOERR, UNSUPP, or a broken device), the config values.
 *
 * Threads: the queue handlers run on a vCPU thread or the main thread with
 * the big lock held; the backend's completions run on the main loop, also
 * under the big lock, never inside the call that submitted them.  Reset and
 * exit drain the backend, so no completion arrives after its request's
 * queue was reset.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hw/virtio/virtio-blk.h"
#include "hw/virtio/virtio.h"

#include "block/block-backend.h"
#include "block/geometry.h"
#include "block/drive.h"
#include "block/file-lock.h"
#include "hw/device.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/error.h"
#include "system/le.h"

#include "system/container-of.h"

#define VIRTIO_BLK_SECTOR_BITS   9
#define VIRTIO_BLK_SECTOR_SIZE   512u
/* QEMU's VIRTIO_QUEUE_MAX: the most queues one device has. */
#define VIRTIO_BLK_QUEUES_MAX    1024u
/* num-queues' default: one per vCPU on PCI, one on virtio-mmio. */
#define VIRTIO_BLK_AUTO_QUEUES   0xffffu
/* QEMU's VIRTIO_BLK_MAX_MERGE_REQS and IOV_MAX: a handler's run of reads or
 * writes, and the most buffers one merged request takes. */
#define VIRTIO_BLK_MERGE_MAX     32
#define VIRTIO_BLK_IOV_MAX       1024
/* logical/physical_block_size limits (QEMU's MIN/MAX_BLOCK_SIZE). */
#define VIRTIO_BLK_MIN_BLOCK     512u
#define VIRTIO_BLK_MAX_BLOCK     (2u * 1024 * 1024)

struct virtio_blk {
    struct virtio_device vdev;      /* first: the core frees the struct through it */
    struct blk *blk;                /* referenced; a -blockdev node gets its own */
    char *qom_path;                 /* the backend's user in permission messages */
    char *serial;                   /* NULL: GET_ID answers an empty string */
    uint64_t features;              /* the device's own bits (section 5.2.3) */
    uint16_t num_queues;
    uint16_t queue_size;
    uint32_t logical_block_size;
    uint32_t physical_block_size;
    uint32_t min_io_size;
    uint32_t opt_io_size;
    uint32_t discard_granularity;
    uint32_t max_discard_sectors;
    uint32_t max_write_zeroes_sectors;
    uint32_t cyls, heads, secs;     /* the geometry QEMU guesses */
    uint64_t sector_mask;           /* 512-byte sectors per logical block, minus 1 */
    bool seg_max_adjust;
    bool share_rw;
    bool request_merging;
    bool original_wce;              /* the write cache at realize; reset returns to it */
    /* While a queue's handler runs, its completions are notified once, at the end. */
    struct virtqueue *batch_vq;
    bool batch_notify;
    /* Reads or writes the running handler took, submitted (adjacent ones
     * merged) when the direction changes, at a flush and at its end. */
    struct virtio_blk_req *pending[VIRTIO_BLK_MERGE_MAX];
    unsigned npending;
    bool pending_write;
};

/* One request: the chain and what its completion needs. */
struct virtio_blk_req {
    struct virtq_elem elem;         /* first: virtqueue_pop() allocates the request */
    struct virtio_blk *s;
    struct virtqueue *vq;
    uint8_t *status;                /* the last byte of the last device-writable buffer */
    uint32_t in_len;                /* device-writable bytes: the used length, as QEMU's */
    /* Reads and writes only: */
    uint64_t sector;
    uint64_t bytes;
    struct iovec *iov;              /* the data buffers, until submitted */
    int niov;
    struct virtio_blk_req *next;    /* the rest of a merged run */
};

/* Devices that hold a backend, so a second one cannot take it. */
static GPtrArray *virtio_blk_devices;

/* ---- config space (section 5.2.4) ---- */

static uint64_t virtio_blk_sectors(struct virtio_blk *s)
{
    int64_t len = blk_getlength(s->blk);

    return len > 0 ? (uint64_t)len >> VIRTIO_BLK_SECTOR_BITS : 0;
}

static unsigned virtio_blk_log2(uint32_t v)
{
    unsigned n = 0;

    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

/* Rebuilds the whole config from the device's state: the driver may only
 * change writeback, the rest is restored after each write. */
static void virtio_blk_update_config(struct virtio_blk *s)
{
    uint8_t *c = s->vdev.config;
    uint32_t bs = s->logical_block_size;
    int64_t len = blk_getlength(s->blk);
    uint32_t granularity;

    memset(c, 0, VIRTIO_BLK_CFG_MAX_SIZE);
    st64(c + VIRTIO_BLK_CFG_CAPACITY, virtio_blk_sectors(s));
    /* Linux queues seg_max + 2 descriptors per request (header, status). */
    st32(c + VIRTIO_BLK_CFG_SEG_MAX, s->seg_max_adjust ? s->queue_size - 2u : 126u);
    st16(c + VIRTIO_BLK_CFG_CYLINDERS, (uint16_t)s->cyls);
    c[VIRTIO_BLK_CFG_HEADS] = (uint8_t)s->heads;
    /* A capacity that is not whole cylinders of blocks: sectors in blocks. */
    if (len > 0 && (uint64_t)len / s->heads / s->secs % bs) {
        c[VIRTIO_BLK_CFG_SECTORS] = (uint8_t)(s->secs & ~s->sector_mask);
    } else {
        c[VIRTIO_BLK_CFG_SECTORS] = (uint8_t)s->secs;
    }
    st32(c + VIRTIO_BLK_CFG_BLK_SIZE, bs);
    c[VIRTIO_BLK_CFG_PHYS_BLOCK_EXP] = (uint8_t)virtio_blk_log2(s->physical_block_size / bs);
    st16(c + VIRTIO_BLK_CFG_MIN_IO_SIZE, (uint16_t)(s->min_io_size / bs));
    st32(c + VIRTIO_BLK_CFG_OPT_IO_SIZE, s->opt_io_size / bs);
    c[VIRTIO_BLK_CFG_WRITEBACK] = blk_enable_write_cache(s->blk);
    st16(c + VIRTIO_BLK_CFG_NUM_QUEUES, s->num_queues);
    if (s->features & (1ull << VIRTIO_BLK_F_DISCARD)) {
        granularity = s->discard_granularity == UINT32_MAX ? bs : s->discard_granularity;
        st32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, s->max_discard_sectors);
        st32(c + VIRTIO_BLK_CFG_DISCARD_ALIGNMENT, granularity >> VIRTIO_BLK_SECTOR_BITS);
        /* One segment per request, as QEMU: no user API makes more. */
        st32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
    }
    if (s->features & (1ull << VIRTIO_BLK_F_WRITE_ZEROES)) {
        st32(c + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, s->max_write_zeroes_sectors);
        st32(c + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, 1);
        c[VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
    }
}

/* ---- requests (section 5.2.6) ---- */

static void virtio_blk_complete(struct virtio_blk_req *req, uint8_t status)
{
    struct virtio_blk *s = req->s;
    struct virtqueue *vq = req->vq;

    *req->status = status;
    virtqueue_push(vq, &req->elem, req->in_len);
    if (vq == s->batch_vq) {
        s->batch_notify = true;
    } else {
        virtqueue_notify(vq);
    }
    g_free(req);
}

/* A backend request ended: a host I/O error is the guest's IOERR. */
static void virtio_blk_io_done(void *opaque, int ret)
{
    virtio_blk_complete(opaque, ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* Whether [sector, +bytes) is whole logical blocks inside the disk. */
static bool virtio_blk_range_ok(struct virtio_blk *s, uint64_t sector, uint64_t bytes)
{
    uint64_t n = bytes >> VIRTIO_BLK_SECTOR_BITS;
    uint64_t total = virtio_blk_sectors(s);

    if (n > VIRTIO_BLK_MAX_REQUEST_SECTORS || (sector & s->sector_mask) ||
        bytes % s->logical_block_size) {
        return false;
    }
    return sector <= total && n <= total - sector;
}

/* [skip, skip + len) of iov as a new array: a request's data without its
 * headers.  The backend copies the array, so the caller frees it at once. */
static struct iovec *virtio_blk_iov_slice(const struct iovec *iov, unsigned n, size_t skip,
                                          size_t len, int *niov)
{
    struct iovec *out = g_new(struct iovec, n ? n : 1);

    *niov = iov_slice(out, iov, n, skip, len);
    return out;
}

/* A read or write run ended: each of its requests gets the result. */
static void virtio_blk_rw_done(void *opaque, int ret)
{
    struct virtio_blk_req *req = opaque, *next;

    for (; req; req = next) {
        next = req->next;
        virtio_blk_complete(req, ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
    }
}

static int virtio_blk_sector_cmp(const void *a, const void *b)
{
    const struct virtio_blk_req *x = *(struct virtio_blk_req *const *)a;
    const struct virtio_blk_req *y = *(struct virtio_blk_req *const *)b;

    return x->sector < y->sector ? -1 : x->sector > y->sector;
}

/* Submits reqs[0..n), whose sectors follow one another, as one request. */
static void virtio_blk_submit_run(struct virtio_blk *s, struct virtio_blk_req **reqs, unsigned n,
                                  bool is_write)
{
    struct virtio_blk_req *first = reqs[0];
    struct iovec *iov = first->iov;
    uint64_t bytes = first->bytes;
    int niov = first->niov;

    first->next = NULL;
    if (n > 1) {
        niov = 0;
        for (unsigned i = 0; i < n; i++) {
            niov += reqs[i]->niov;
        }
        iov = g_new(struct iovec, niov);
        niov = 0;
        bytes = 0;
        for (unsigned i = 0; i < n; i++) {
            memcpy(iov + niov, reqs[i]->iov, reqs[i]->niov * sizeof(*iov));
            niov += reqs[i]->niov;
            bytes += reqs[i]->bytes;
            reqs[i]->next = i + 1 < n ? reqs[i + 1] : NULL;
        }
    }
    if (is_write) {
        blk_aio_pwritev(s->blk, first->sector << VIRTIO_BLK_SECTOR_BITS, bytes, iov, niov,
                        virtio_blk_rw_done, first);
    } else {
        blk_aio_preadv(s->blk, first->sector << VIRTIO_BLK_SECTOR_BITS, bytes, iov, niov,
                       virtio_blk_rw_done, first);
    }
    /* The backend copied the array and completes later, never in the call. */
    if (n > 1) {
        g_free(iov);
    }
    for (unsigned i = 0; i < n; i++) {
        g_clear_pointer(&reqs[i]->iov, g_free);
    }
}

/*
 * Submits the pending reads or writes in sector order, each run of
 * adjacent ones as one backend request (QEMU's request-merging), within
 * the largest request and IOV_MAX buffers.
 */
static void virtio_blk_submit_pending(struct virtio_blk *s)
{
    struct virtio_blk_req **r = s->pending;
    unsigned n = s->npending, start = 0;
    uint64_t end = 0, bytes = 0;
    size_t niov = 0;

    s->npending = 0;
    if (!n) {
        return;
    }
    qsort(r, n, sizeof(*r), virtio_blk_sector_cmp);
    for (unsigned i = 0; i < n; i++) {
        if (i > start && (r[i]->sector != end || niov + r[i]->niov > VIRTIO_BLK_IOV_MAX ||
                          bytes + r[i]->bytes >
                          (uint64_t)VIRTIO_BLK_MAX_REQUEST_SECTORS << VIRTIO_BLK_SECTOR_BITS)) {
            virtio_blk_submit_run(s, r + start, i - start, s->pending_write);
            start = i;
        }
        if (i == start) {
            niov = 0;
            bytes = 0;
        }
        end = r[i]->sector + (r[i]->bytes >> VIRTIO_BLK_SECTOR_BITS);
        niov += r[i]->niov;
        bytes += r[i]->bytes;
    }
    virtio_blk_submit_run(s, r + start, n - start, s->pending_write);
}

/* VIRTIO_BLK_T_IN / T_OUT: the data goes straight between guest RAM and the backend. */
static void virtio_blk_rw(struct virtio_blk_req *req, bool is_write, uint64_t sector)
{
    struct virtio_blk *s = req->s;
    const struct virtq_elem *e = &req->elem;
    const struct iovec *sg = is_write ? e->out_sg : e->in_sg;
    unsigned n = is_write ? e->out_num : e->in_num;
    size_t skip = is_write ? VIRTIO_BLK_OUTHDR_SIZE : 0;
    size_t bytes = iov_size(sg, n) - (is_write ? VIRTIO_BLK_OUTHDR_SIZE : 1);

    if (!virtio_blk_range_ok(s, sector, bytes)) {
        virtio_blk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    req->sector = sector;
    req->bytes = bytes;
    req->iov = virtio_blk_iov_slice(sg, n, skip, bytes, &req->niov);
    if (s->npending && (s->npending == VIRTIO_BLK_MERGE_MAX || s->pending_write != is_write)) {
        virtio_blk_submit_pending(s);
    }
    s->pending[s->npending++] = req;
    s->pending_write = is_write;
    if (!s->request_merging) {
        virtio_blk_submit_pending(s);
    }
}

/* VIRTIO_BLK_T_GET_ID: the serial, NUL-terminated only when shorter than 20 bytes. */
static void virtio_blk_get_id(struct virtio_blk_req *req)
{
    const char *serial = req->s->serial ? req->s->serial : "";
    size_t room = iov_size(req->elem.in_sg, req->elem.in_num) - 1;
    size_t n = MIN(strlen(serial) + 1, MIN(room, (size_t)VIRTIO_BLK_ID_BYTES));

    iov_from_buf(req->elem.in_sg, req->elem.in_num, 0, serial, n);
    virtio_blk_complete(req, VIRTIO_BLK_S_OK);
}

/*
 * VIRTIO_BLK_T_DISCARD and T_WRITE_ZEROES (section 5.2.6.2): one segment.
 * false when the segment is cut short (a broken device).
 */
static bool virtio_blk_discard_write_zeroes(struct virtio_blk_req *req, uint32_t type)
{
    struct virtio_blk *s = req->s;
    const struct virtq_elem *e = &req->elem;
    bool wz = (type & ~VIRTIO_BLK_T_BARRIER) == VIRTIO_BLK_T_WRITE_ZEROES;
    unsigned bit = wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
    size_t seg_len = iov_size(e->out_sg, e->out_num) - VIRTIO_BLK_OUTHDR_SIZE;
    uint8_t d[VIRTIO_BLK_DWZ_SIZE];
    uint64_t sector;
    uint32_t num, flags;

    /* Direction bit clear, several segments, or a command not offered. */
    if (!(type & VIRTIO_BLK_T_OUT) || seg_len > sizeof(d) || !(s->features & (1ull << bit))) {
        virtio_blk_complete(req, VIRTIO_BLK_S_UNSUPP);
        return true;
    }
    if (iov_to_buf(e->out_sg, e->out_num, VIRTIO_BLK_OUTHDR_SIZE, d, sizeof(d)) != sizeof(d)) {
        virtio_error(&s->vdev, "virtio-blk discard/write_zeroes header too short");
        return false;
    }
    sector = ld64(d);
    num = ld32(d + 8);
    flags = ld32(d + 12);
    if (num > (wz ? s->max_write_zeroes_sectors : s->max_discard_sectors) ||
        !virtio_blk_range_ok(s, sector, (uint64_t)num << VIRTIO_BLK_SECTOR_BITS)) {
        virtio_blk_complete(req, VIRTIO_BLK_S_IOERR);
    } else if (flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ||
               (!wz && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))) {
        /* Unknown flags, or unmap on a discard: UNSUPP (section 5.2.6.2). */
        virtio_blk_complete(req, VIRTIO_BLK_S_UNSUPP);
    } else if (wz) {
        blk_aio_pwrite_zeroes(s->blk, sector << VIRTIO_BLK_SECTOR_BITS,
                              (uint64_t)num << VIRTIO_BLK_SECTOR_BITS,
                              (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ? BDRV_REQ_MAY_UNMAP : 0,
                              virtio_blk_io_done, req);
    } else {
        blk_aio_discard(s->blk, sector << VIRTIO_BLK_SECTOR_BITS,
                        (uint64_t)num << VIRTIO_BLK_SECTOR_BITS, virtio_blk_io_done, req);
    }
    return true;
}

/*
 * Starts one request, or completes it at once.  false when the chain
 * breaks the spec (no header, no status byte): the device is then broken
 * (section 2.1.2) and the caller drops the request.
 */
static bool virtio_blk_handle_request(struct virtio_blk_req *req)
{
    struct virtio_blk *s = req->s;
    struct virtq_elem *e = &req->elem;
    uint8_t hdr[VIRTIO_BLK_OUTHDR_SIZE];
    struct iovec *last;
    uint32_t type;

    if (e->out_num < 1 || e->in_num < 1) {
        virtio_error(&s->vdev, "virtio-blk missing headers");
        return false;
    }
    if (iov_to_buf(e->out_sg, e->out_num, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
        virtio_error(&s->vdev, "virtio-blk request outhdr too short");
        return false;
    }
    last = &e->in_sg[e->in_num - 1];
    if (last->iov_len < 1) {
        virtio_error(&s->vdev, "virtio-blk request inhdr too short");
        return false;
    }
    req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    req->in_len = (uint32_t)MIN(iov_size(e->in_sg, e->in_num), (size_t)UINT32_MAX);
    type = ld32(hdr);

    /* T_OUT is the direction and BARRIER a legacy flag QEMU always ignored. */
    switch (type & ~(VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER)) {
    case VIRTIO_BLK_T_IN:
        virtio_blk_rw(req, type & VIRTIO_BLK_T_OUT, ld64(hdr + 8));
        return true;
    case VIRTIO_BLK_T_FLUSH:
        /* The writes taken before it are submitted before it. */
        virtio_blk_submit_pending(s);
        blk_aio_flush(s->blk, virtio_blk_io_done, req);
        return true;
    case VIRTIO_BLK_T_GET_ID:
        virtio_blk_get_id(req);
        return true;
    case VIRTIO_BLK_T_DISCARD & ~VIRTIO_BLK_T_OUT:
    case VIRTIO_BLK_T_WRITE_ZEROES & ~VIRTIO_BLK_T_OUT:
        return virtio_blk_discard_write_zeroes(req, type);
    default:
        virtio_blk_complete(req, VIRTIO_BLK_S_UNSUPP);
        return true;
    }
}

/* The driver kicked a queue: take every chain, kicks off meanwhile (section 2.7.10). */
static void virtio_blk_handle_queue(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_blk *s = container_of(vdev, struct virtio_blk, vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtio_blk_req *req;

    s->batch_vq = vq;
    s->batch_notify = false;
    blk_io_plug(s->blk);
    do {
        virtqueue_set_notification(vq, false);
        while ((req = virtqueue_pop(vq, sizeof(*req)))) {
            req->s = s;
            req->vq = vq;
            if (!virtio_blk_handle_request(req)) {
                g_free(req);
                break;
            }
        }
        virtqueue_set_notification(vq, true);
    } while (vq->ready && !vdev->broken && !virtqueue_empty(vq));
    virtio_blk_submit_pending(s);
    blk_io_unplug(s->blk);
    s->batch_vq = NULL;
    if (s->batch_notify) {
        virtqueue_notify(vq);
    }
}

/* ---- device callbacks ---- */

/* Section 5.2.5: writeback is the only field the driver writes. */
static void virtio_blk_config_written(struct virtio_device *vdev, unsigned offset,
                                      unsigned len)
{
    struct virtio_blk *s = container_of(vdev, struct virtio_blk, vdev);

    if (offset <= VIRTIO_BLK_CFG_WRITEBACK && offset + len > VIRTIO_BLK_CFG_WRITEBACK) {
        blk_set_enable_write_cache(s->blk, vdev->config[VIRTIO_BLK_CFG_WRITEBACK] != 0);
    }
    virtio_blk_update_config(s);
}

/*
 * At DRIVER_OK a driver without CONFIG_WCE picked the cache mode by
 * acking FLUSH (section 5.2.5.1, legacy WCE): writeback with it,
 * writethrough without.  A driver with CONFIG_WCE sets it through the
 * config instead, so its choice is left alone.
 */
static void virtio_blk_status_changed(struct virtio_device *vdev, uint8_t old_status)
{
    struct virtio_blk *s = container_of(vdev, struct virtio_blk, vdev);

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
        virtio_has_feature(vdev, VIRTIO_BLK_F_CONFIG_WCE)) {
        return;
    }
    blk_set_enable_write_cache(s->blk, virtio_has_feature(vdev, VIRTIO_BLK_F_FLUSH));
    virtio_blk_update_config(s);
}

/* In-flight requests complete (into the rings, before the core resets them). */
static void virtio_blk_reset(struct virtio_device *vdev)
{
    struct virtio_blk *s = container_of(vdev, struct virtio_blk, vdev);

    blk_drain(s->blk);
    blk_set_enable_write_cache(s->blk, s->original_wce);
    virtio_blk_update_config(s);
}

static void virtio_blk_release(struct virtio_blk *s)
{
    if (virtio_blk_devices) {
        g_ptr_array_remove(virtio_blk_devices, s);
    }
    if (s->blk) {
        blk_drain(s->blk);
        blk_unref(s->blk);
        s->blk = NULL;
    }
    g_free(s->qom_path);
    g_free(s->serial);
}

static void virtio_blk_cleanup(struct virtio_device *vdev)
{
    virtio_blk_release(container_of(vdev, struct virtio_blk, vdev));
}

static const struct virtio_dev_ops virtio_blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .pci_class = 0x010000,              /* mass storage, SCSI (QEMU's class) */
    .config_size = VIRTIO_BLK_CFG_MAX_SIZE,
    .config_written = virtio_blk_config_written,
    .status_changed = virtio_blk_status_changed,
    .reset = virtio_blk_reset,
    .cleanup = virtio_blk_cleanup,
};

/* ---- realize ---- */

/* QEMU's path of the device's backend user, for permission messages. */
static char *virtio_blk_qom_path(struct machine *m, const struct dev_config *cfg)
{
    unsigned anon = 0;

    if (cfg->id) {
        return g_strdup_printf("/machine/peripheral/%s/virtio-backend", cfg->id);
    }
    for (guint i = 0; m && m->cfg && m->cfg->devices && i < m->cfg->devices->len; i++) {
        const struct dev_config *d = g_ptr_array_index(m->cfg->devices, i);

        if (d == cfg) {
            break;
        }
        anon += !d->id;
    }
    return g_strdup_printf("/machine/peripheral-anon/device[%u]/virtio-backend", anon);
}

/* A size property: QEMU's checks when it is set (0 means "from the backend"). */
static int virtio_blk_block_size(const struct dev_config *cfg, const char *name, uint32_t *out,
                                 GError **errp)
{
    uint64_t v = dev_config_uint(cfg, name);

    if (v && (v < VIRTIO_BLK_MIN_BLOCK || v > VIRTIO_BLK_MAX_BLOCK)) {
        return virtio_fail(errp, "Property .%s doesn't take value %" G_GUINT64_FORMAT
                           " (minimum: %u, maximum: %u)", name, v, VIRTIO_BLK_MIN_BLOCK,
                           VIRTIO_BLK_MAX_BLOCK);
    }
    if (v & (v - 1)) {
        return virtio_fail(errp, "Property .%s doesn't take value '%" G_GUINT64_FORMAT
                           "', it's not a power of 2", name, v);
    }
    *out = v ? (uint32_t)v : VIRTIO_BLK_SECTOR_SIZE;
    return 0;
}

static struct virtio_blk *virtio_blk_user_of(struct blk *blk, struct bdrv *bs)
{
    for (guint i = 0; virtio_blk_devices && i < virtio_blk_devices->len; i++) {
        struct virtio_blk *o = g_ptr_array_index(virtio_blk_devices, i);

        if ((blk && o->blk == blk) || (bs && blk_bs(o->blk) == bs)) {
            return o;
        }
    }
    return NULL;
}

/*
 * drive=: a -drive id, else a -blockdev node-name (which gets a backend of
 * its own, as QEMU's anonymous BlockBackend).  A backend serves one device;
 * two devices on one node must both share "write" (share-rw=on).
 */
static int virtio_blk_attach(struct virtio_blk *s, const char *name, GError **errp)
{
    struct blk *blk = blk_by_name(name);
    struct bdrv *bs = blk ? NULL : drive_find_node(name);
    struct virtio_blk *o;

    if (!blk && !bs) {
        return virtio_fail(errp, "Property 'virtio-blk-device.drive' can't find value '%s'",
                           name);
    }
    if (blk && virtio_blk_user_of(blk, NULL)) {
        return virtio_fail(errp, "Drive '%s' is already in use by another device", name);
    }
    o = bs ? virtio_blk_user_of(NULL, bs) : NULL;
    if (o && (!o->share_rw || !s->share_rw)) {
        bool o_writes = !blk_is_read_only(o->blk);

        return virtio_fail(errp, "Permission conflict on node '%s': permissions 'write' "
                           "are both required by block device '%s' (uses node '%s' as "
                           "'root' child) and unshared by block device '%s' (uses node "
                           "'%s' as 'root' child).", bs->node_name,
                           o_writes ? o->qom_path : s->qom_path, bs->node_name,
                           o_writes ? s->qom_path : o->qom_path, bs->node_name);
    }
    if (blk) {
        blk_ref(blk);
    } else {
        blk = blk_new(bs, bs->read_only ? 0 : BLK_PERM_WRITE);
    }
    s->blk = blk;
    if (!blk_is_inserted(blk)) {
        return virtio_fail(errp, "Device needs media, but drive is empty");
    }
    return 0;
}

/* Properties that need no backend, in the order QEMU checks them. */
static int virtio_blk_parse(struct virtio_blk *s, struct machine *m,
                            const struct dev_config *cfg, GError **errp)
{
    const char *serial = dev_config_str(cfg, "serial");
    uint64_t nq = dev_config_uint(cfg, "num-queues");
    uint64_t qs = dev_config_uint(cfg, "queue-size");

    s->serial = serial ? g_strdup(serial) : NULL;
    s->seg_max_adjust = dev_config_bool(cfg, "seg-max-adjust");
    s->request_merging = dev_config_bool(cfg, "request-merging");
    s->min_io_size = (uint32_t)dev_config_uint(cfg, "min_io_size");
    s->opt_io_size = (uint32_t)dev_config_uint(cfg, "opt_io_size");
    s->discard_granularity = (uint32_t)dev_config_uint(cfg, "discard_granularity");
    s->max_discard_sectors = (uint32_t)dev_config_uint(cfg, "max-discard-sectors");
    s->max_write_zeroes_sectors = (uint32_t)dev_config_uint(cfg, "max-write-zeroes-sectors");
    if (nq == VIRTIO_BLK_AUTO_QUEUES) {
        bool pci = cfg->type && !g_strcmp0(cfg->type->bus, "PCI");

        nq = pci && m && m->ncpus ? MIN(m->ncpus, VIRTIO_BLK_QUEUES_MAX) : 1;
    }
    if (!nq) {
        return virtio_fail(errp, "num-queues property must be larger than 0");
    }
    if (nq > VIRTIO_BLK_QUEUES_MAX) {
        return virtio_fail(errp, "num-queues property must be <= %u",
                           VIRTIO_BLK_QUEUES_MAX);
    }
    if (qs <= 2) {
        return virtio_fail(errp, "invalid queue-size property (%" G_GUINT64_FORMAT
                           "), must be > 2", qs);
    }
    if ((qs & (qs - 1)) || qs > VIRTQUEUE_MAX_SIZE) {
        return virtio_fail(errp, "invalid queue-size property (%" G_GUINT64_FORMAT
                           "), must be a power of 2 (max %u)", qs, VIRTQUEUE_MAX_SIZE);
    }
    s->num_queues = (uint16_t)nq;
    s->queue_size = (uint16_t)qs;
    return 0;
}

/* write-cache=on|off overrides the drive's cache mode; auto keeps it. */
static void virtio_blk_apply_cache(struct virtio_blk *s, const struct dev_config *cfg)
{
    const char *wc = dev_config_str(cfg, "write-cache");

    if (!g_strcmp0(wc, "on") || !g_strcmp0(wc, "off")) {
        blk_set_enable_write_cache(s->blk, !strcmp(wc, "on"));
    }
    s->original_wce = blk_enable_write_cache(s->blk);
}

/* Geometry as QEMU's hd_geometry_guess: from an MBR partition's end CHS
 * when one fits in 16 heads, else 16 heads, 63 sectors by size. */
static void virtio_blk_guess_geometry(struct virtio_blk *s)
{
    struct hd_geometry g;

    hd_geometry_guess(s->blk, virtio_blk_sectors(s), &g);
    s->cyls = g.cylinders;
    s->heads = g.heads;
    s->secs = g.sectors;
}

/* The backend-dependent checks of QEMU's realize, in its order. */
static int virtio_blk_check(struct virtio_blk *s, GError **errp)
{
    uint32_t bs = s->logical_block_size;

    if (bs > s->physical_block_size) {
        return virtio_fail(errp, "logical_block_size > physical_block_size not supported");
    }
    if (s->min_io_size % bs) {
        return virtio_fail(errp, "min_io_size must be a multiple of logical_block_size");
    }
    if (s->opt_io_size % bs) {
        return virtio_fail(errp, "opt_io_size must be a multiple of logical_block_size");
    }
    if (s->discard_granularity != UINT32_MAX && s->discard_granularity % bs) {
        return virtio_fail(errp,
                           "discard_granularity must be a multiple of logical_block_size");
    }
    if ((s->features & (1ull << VIRTIO_BLK_F_DISCARD)) &&
        (!s->max_discard_sectors || s->max_discard_sectors > VIRTIO_BLK_MAX_REQUEST_SECTORS)) {
        return virtio_fail(errp, "invalid max-discard-sectors property (%u), must be "
                           "between 1 and %u", s->max_discard_sectors,
                           VIRTIO_BLK_MAX_REQUEST_SECTORS);
    }
    if ((s->features & (1ull << VIRTIO_BLK_F_WRITE_ZEROES)) &&
        (!s->max_write_zeroes_sectors ||
         s->max_write_zeroes_sectors > VIRTIO_BLK_MAX_REQUEST_SECTORS)) {
        return virtio_fail(errp, "invalid max-write-zeroes-sectors property (%u), must be "
                           "between 1 and %u", s->max_write_zeroes_sectors,
                           VIRTIO_BLK_MAX_REQUEST_SECTORS);
    }
    return 0;
}

/*
 * The features QEMU 7.2 offers (its get_features): FLUSH with a write
 * cache or CONFIG_WCE, RO for a read-only backend, MQ with more queues.
 * SIZE_MAX is not offered: size_max is 0.
 */
static uint64_t virtio_blk_features(struct virtio_blk *s, const struct dev_config *cfg)
{
    uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_GEOMETRY |
                 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_TOPOLOGY;

    if (dev_config_bool(cfg, "config-wce")) {
        f |= 1ull << VIRTIO_BLK_F_CONFIG_WCE;
    }
    if (dev_config_bool(cfg, "discard")) {
        f |= 1ull << VIRTIO_BLK_F_DISCARD;
    }
    if (dev_config_bool(cfg, "write-zeroes")) {
        f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    }
    if (blk_enable_write_cache(s->blk) || (f & (1ull << VIRTIO_BLK_F_CONFIG_WCE))) {
        f |= 1ull << VIRTIO_BLK_F_FLUSH;
    }
    if (blk_is_read_only(s->blk)) {
        f |= 1ull << VIRTIO_BLK_F_RO;
    }
    if (s->num_queues > 1) {
        f |= 1ull << VIRTIO_BLK_F_MQ;
    }
    return f;
}

struct virtio_device *virtio_blk_create(struct machine *m, const struct dev_config *cfg,
                                        GError **errp)
{
    struct virtio_blk *s = g_new0(struct virtio_blk, 1);
    const char *drive = dev_config_str(cfg, "drive");

    s->qom_path = virtio_blk_qom_path(m, cfg);
    /* Property values first (QEMU checks them as they are set), then realize's checks. */
    if (virtio_blk_block_size(cfg, "logical_block_size", &s->logical_block_size, errp) < 0 ||
        virtio_blk_block_size(cfg, "physical_block_size", &s->physical_block_size, errp) < 0) {
        goto fail;
    }
    if (!drive || !*drive) {
        virtio_fail(errp, "drive property not set");
        goto fail;
    }
    s->share_rw = dev_config_bool(cfg, "share-rw");
    if (virtio_blk_attach(s, drive, errp) < 0 || virtio_blk_parse(s, m, cfg, errp) < 0) {
        goto fail;
    }
    virtio_blk_apply_cache(s, cfg);
    virtio_blk_guess_geometry(s);
    s->features = virtio_blk_features(s, cfg);
    if (virtio_blk_check(s, errp) < 0) {
        goto fail;
    }
    /* A guest disk refuses other writers unless share-rw=on (QEMU's blkconf). */
    if (!s->share_rw && bdrv_file_lock_unshare(blk_bs(s->blk), BLK_PERM_WRITE, errp) < 0) {
        goto fail;
    }
    s->sector_mask = s->logical_block_size / VIRTIO_BLK_SECTOR_SIZE - 1;
    virtio_init(&s->vdev, &virtio_blk_ops, cfg, s->num_queues, s->queue_size, s->features);
    for (unsigned i = 0; i < s->num_queues; i++) {
        s->vdev.vqs[i].handle = virtio_blk_handle_queue;
    }
    virtio_blk_update_config(s);
    if (!virtio_blk_devices) {
        virtio_blk_devices = g_ptr_array_new();
    }
    g_ptr_array_add(virtio_blk_devices, s);
    return &s->vdev;

fail:
    virtio_blk_release(s);
    g_free(s);
    return NULL;
}

void virtio_blk_resized(struct blk *blk)
{
    for (guint i = 0; virtio_blk_devices && i < virtio_blk_devices->len; i++) {
        struct virtio_blk *s = g_ptr_array_index(virtio_blk_devices, i);

        if (s->blk == blk) {
            virtio_blk_update_config(s);
            virtio_notify_config(&s->vdev);
        }
    }
}

const char *virtio_blk_qdev(struct blk *blk)
{
    struct virtio_blk *s = virtio_blk_user_of(blk, NULL);

    return s ? s->qom_path : NULL;
}

int virtio_blk_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    /* Any failure reads as -EINVAL, the plug's -ENODEV included. */
    return virtio_plug_new(m, cfg, virtio_blk_create(m, cfg, errp), errp) < 0 ? -EINVAL : 0;
}
