/*
 * Block backends (see block-backend.h): checks, cache modes, detect-zeroes,
 * statistics, and the routing of requests to the thread pool or Linux AIO.
 *
 * Threads: a backend's fields are changed under the big lock (main thread or
 * a vCPU holding it).  A request is a struct blk_req: its I/O runs on a pool
 * worker (blk_req_work) or in the kernel (Linux AIO), its completion
 * (blk_req_done) on the main loop, where the statistics are updated.  Both
 * the pool and Linux AIO are drained by owner = the backend.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "block/aio-native.h"
#include "block/block-backend.h"
#include "block/thread-pool.h"

struct blk {
    char *name;               /* NULL until blk_set_name */
    int refcnt;
    struct bdrv *bs;
    bool perm_write;
    bool write_cache;
    enum blk_detect_zeroes detect_zeroes;
    struct thread_pool *pool; /* NULL: thread_pool_default() */
    struct aio_native *an;    /* Linux AIO when in use, else NULL */
    bool an_set;              /* an chosen by blk_set_aio_context */
    struct aio_native *an_ctx;
    int native_fd;            /* the O_DIRECT descriptor, or -1 */
    uint32_t native_align;
    unsigned in_flight;
    struct blk_stats stats;
};

/* NOP: succeeds without I/O (discard=ignore); FAIL: refused before I/O. */
enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_ZEROES, BLK_OP_DISCARD, BLK_OP_FLUSH,
              BLK_OP_NOP, BLK_OP_FAIL };

struct blk_req {
    struct blk *blk;
    struct bdrv *bs;
    enum blk_op op;
    uint64_t off;
    uint64_t bytes;
    struct iovec *iov;
    int niov;
    int flags;
    bool flush_after;         /* write cache off: flush before completing */
    enum blk_detect_zeroes detect_zeroes;
    int ret;                  /* BLK_OP_FAIL: the error to report */
    enum blk_acct_type acct;
    int64_t start_ns;
    blk_cb *cb;
    void *opaque;
};

int (*blk_file_fd_hook)(struct bdrv *bs) = bdrv_file_fd;

/* Every backend (for drain_all) and the named ones in creation order. */
static GList *blk_all;
static GList *blk_named;

static int64_t blk_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct thread_pool *blk_pool(struct blk *blk)
{
    return blk->pool ? blk->pool : thread_pool_default();
}

/* ---- Linux AIO eligibility ---- */

static bool blk_is_posix_file(struct bdrv *bs)
{
    return bs && bs->drv && (!strcmp(bs->drv->name, "file") ||
                             !strcmp(bs->drv->name, "host_device"));
}

/*
 * Linux AIO goes straight to the file's descriptor, so it may only bypass
 * nodes that map guest offsets 1:1: a protocol node itself, or a raw node
 * with no offset/size window (its length equals its file's) and not probed
 * (a probed raw guards sector 0).
 */
static struct bdrv *blk_native_file(struct bdrv *bs)
{
    if (!bs || !bs->drv) {
        return NULL;
    }
    if (blk_is_posix_file(bs)) {
        return bs;
    }
    if (strcmp(bs->drv->name, "raw") || !blk_is_posix_file(bs->file) || bs->backing ||
        (bs->flags & BDRV_O_PROBED_RAW)) {
        return NULL;
    }
    if (bdrv_length(bs) != bdrv_length(bs->file)) {
        return NULL;
    }
    return bs->file;
}

static void blk_update_native(struct blk *blk)
{
    struct bdrv *file = blk_native_file(blk->bs);
    struct aio_native *an;
    int fd;

    blk->an = NULL;
    blk->native_fd = -1;
    if (!file || !blk_file_fd_hook ||
        (file->flags & (BDRV_O_NOCACHE | BDRV_O_NATIVE_AIO)) !=
            (BDRV_O_NOCACHE | BDRV_O_NATIVE_AIO)) {
        return;
    }
    fd = blk_file_fd_hook(file);
    an = blk->an_set ? blk->an_ctx : aio_native_default();
    if (fd < 0 || !an) {
        return;
    }
    blk->an = an;
    blk->native_fd = fd;
    blk->native_align = MAX(file->request_alignment, BDRV_SECTOR_SIZE);
}

/* ---- life cycle, registry ---- */

struct blk *blk_new(struct bdrv *bs, int perm)
{
    struct blk *blk = g_new0(struct blk, 1);

    blk->refcnt = 1;
    blk->perm_write = perm & BLK_PERM_WRITE;
    blk->write_cache = true;
    blk->native_fd = -1;
    blk_all = g_list_append(blk_all, blk);
    if (bs) {
        blk_insert_bs(blk, bs);
    }
    return blk;
}

void blk_ref(struct blk *blk)
{
    blk->refcnt++;
}

void blk_unref(struct blk *blk)
{
    if (!blk || --blk->refcnt > 0) {
        return;
    }
    blk_drain(blk);
    blk_remove_bs(blk);
    blk_all = g_list_remove(blk_all, blk);
    blk_named = g_list_remove(blk_named, blk);
    g_free(blk->name);
    g_free(blk);
}

bool blk_set_name(struct blk *blk, const char *name, GError **errp)
{
    struct blk *other = blk_by_name(name);

    if (other && other != blk) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "Device with id '%s' already exists", name);
        return false;
    }
    if (!blk->name) {
        blk_named = g_list_append(blk_named, blk);
    }
    g_free(blk->name);
    blk->name = g_strdup(name);
    return true;
}

const char *blk_name(struct blk *blk)
{
    return blk->name ? blk->name : "";
}

struct blk *blk_by_name(const char *name)
{
    for (GList *l = blk_named; l; l = l->next) {
        struct blk *blk = l->data;

        if (!strcmp(blk->name, name)) {
            return blk;
        }
    }
    return NULL;
}

struct blk *blk_next(struct blk *blk)
{
    GList *l = blk ? g_list_find(blk_named, blk) : NULL;

    if (!blk) {
        return blk_named ? blk_named->data : NULL;
    }
    return l && l->next ? l->next->data : NULL;
}

struct bdrv *blk_bs(struct blk *blk)
{
    return blk->bs;
}

void blk_insert_bs(struct blk *blk, struct bdrv *bs)
{
    g_assert(!blk->bs);
    bdrv_ref(bs);
    blk->bs = bs;
    blk_update_native(blk);
}

void blk_remove_bs(struct blk *blk)
{
    struct bdrv *bs = blk->bs;

    if (!bs) {
        return;
    }
    blk_drain(blk);
    blk->bs = NULL;
    blk->an = NULL;
    blk->native_fd = -1;
    bdrv_unref(bs);
}

bool blk_is_inserted(struct blk *blk)
{
    return blk->bs != NULL;
}

bool blk_is_read_only(struct blk *blk)
{
    return !blk->perm_write || !blk->bs || blk->bs->read_only;
}

int64_t blk_getlength(struct blk *blk)
{
    return blk->bs ? bdrv_length(blk->bs) : -ENOMEDIUM;
}

void blk_set_enable_write_cache(struct blk *blk, bool enable)
{
    blk->write_cache = enable;
}

bool blk_enable_write_cache(struct blk *blk)
{
    return blk->write_cache;
}

void blk_set_detect_zeroes(struct blk *blk, enum blk_detect_zeroes dz)
{
    blk->detect_zeroes = dz;
}

enum blk_detect_zeroes blk_get_detect_zeroes(struct blk *blk)
{
    return blk->detect_zeroes;
}

void blk_set_aio_context(struct blk *blk, struct thread_pool *pool, struct aio_native *an)
{
    blk_drain(blk);
    blk->pool = pool;
    blk->an_set = true;
    blk->an_ctx = an;
    blk_update_native(blk);
}

bool blk_uses_native_aio(struct blk *blk)
{
    return blk->an != NULL;
}

/* ---- checks ---- */

/* QEMU's blk_check_byte_request: no medium, then bounds. */
static int blk_check_request(struct blk *blk, uint64_t off, uint64_t bytes)
{
    int64_t len;

    if (!blk->bs) {
        return -ENOMEDIUM;
    }
    len = bdrv_length(blk->bs);
    if (len < 0) {
        return (int)len;
    }
    if (off > (uint64_t)len || (uint64_t)len - off < bytes) {
        return -EIO;
    }
    return 0;
}

/* QEMU refuses a write to a read-only node with -EPERM
 * (bdrv_co_write_req_prepare). */
static int blk_check_write(struct blk *blk, uint64_t off, uint64_t bytes)
{
    int ret = blk_check_request(blk, off, bytes);

    if (ret == 0 && blk_is_read_only(blk)) {
        ret = -EPERM;
    }
    return ret;
}

/* ---- synchronous ---- */

int blk_pread(struct blk *blk, uint64_t off, void *buf, uint64_t bytes)
{
    int ret = blk_check_request(blk, off, bytes);

    return ret < 0 ? ret : bdrv_pread(blk->bs, off, buf, bytes);
}

static int blk_flush_node(struct bdrv *bs)
{
    return (bs->flags & BDRV_O_NO_FLUSH) ? 0 : bdrv_flush(bs);
}

static int blk_write_node(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                          int niov, enum blk_detect_zeroes dz);

int blk_pwrite(struct blk *blk, uint64_t off, const void *buf, uint64_t bytes)
{
    struct iovec iov = { (void *)buf, bytes };
    int ret = blk_check_write(blk, off, bytes);

    if (ret == 0) {
        ret = blk_write_node(blk->bs, off, bytes, &iov, 1, blk->detect_zeroes);
    }
    if (ret == 0 && !blk->write_cache) {
        ret = blk_flush_node(blk->bs);
    }
    return ret;
}

int blk_flush(struct blk *blk)
{
    return blk->bs ? blk_flush_node(blk->bs) : -ENOMEDIUM;
}

/* ---- statistics (block/accounting.c's rules) ---- */

static void blk_account_done(struct blk *blk, struct blk_req *req, int ret)
{
    struct blk_stats *s = &blk->stats;
    int64_t now = blk_clock_ns();

    if (ret < 0) {
        s->failed_ops[req->acct]++;
    } else {
        s->nr_bytes[req->acct] += req->bytes;
        s->nr_ops[req->acct]++;
    }
    s->total_time_ns[req->acct] += now - req->start_ns;
    s->last_access_time_ns = now;
    if (req->acct == BLK_ACCT_WRITE && req->bytes) {
        s->wr_highest_offset = MAX(s->wr_highest_offset, req->off + req->bytes);
    }
}

static void blk_account_invalid(struct blk *blk, enum blk_acct_type type)
{
    blk->stats.invalid_ops[type]++;
    blk->stats.last_access_time_ns = blk_clock_ns();
}

const struct blk_stats *blk_get_stats(struct blk *blk)
{
    return &blk->stats;
}

int64_t blk_idle_time_ns(struct blk *blk)
{
    if (!blk->stats.last_access_time_ns) {
        return -1;
    }
    return blk_clock_ns() - blk->stats.last_access_time_ns;
}

/* ---- asynchronous ---- */

/* Whether the request's data is all zero bytes (detect-zeroes).  Checks the
 * first word first: most data is not zero and leaves at once. */
static bool blk_iov_is_zero(const struct iovec *iov, int niov, uint64_t bytes)
{
    for (int i = 0; i < niov && bytes; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t len = MIN(iov[i].iov_len, bytes);

        if (len && (p[0] || (len > 1 && memcmp(p, p + 1, len - 1)))) {
            return false;
        }
        bytes -= len;
    }
    return true;
}

static int blk_zero_flags(struct blk_req *req)
{
    int flags = req->flags;

    /* detect-zeroes=unmap and a caller's MAY_UNMAP act only with discard=unmap,
     * as QEMU's bdrv_co_do_pwrite_zeroes: discard=ignore never punches holes. */
    if (!(req->bs->flags & BDRV_O_UNMAP)) {
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    return flags;
}

/* A write, or with detect-zeroes a zero write when the data is all zeroes
 * (QEMU's bdrv_aligned_pwritev; unmap only with discard=unmap). */
static int blk_write_node(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                          int niov, enum blk_detect_zeroes dz)
{
    if (dz != BLK_DETECT_ZEROES_OFF && blk_iov_is_zero(iov, niov, bytes)) {
        int flags = dz == BLK_DETECT_ZEROES_UNMAP && (bs->flags & BDRV_O_UNMAP) ?
                    BDRV_REQ_MAY_UNMAP : 0;

        return bdrv_pwrite_zeroes(bs, off, bytes, flags);
    }
    return bdrv_pwritev(bs, off, bytes, iov, niov);
}

/* On a pool worker. */
static int blk_req_work(void *arg)
{
    struct blk_req *req = arg;
    struct bdrv *bs = req->bs;
    int ret;

    switch (req->op) {
    case BLK_OP_READ:
        return bdrv_preadv(bs, req->off, req->bytes, req->iov, req->niov);
    case BLK_OP_WRITE:
        ret = blk_write_node(bs, req->off, req->bytes, req->iov, req->niov,
                             req->detect_zeroes);
        break;
    case BLK_OP_ZEROES:
        ret = bdrv_pwrite_zeroes(bs, req->off, req->bytes, blk_zero_flags(req));
        break;
    case BLK_OP_DISCARD:
        return bdrv_discard(bs, req->off, req->bytes);
    case BLK_OP_FLUSH:
        return blk_flush_node(bs);
    case BLK_OP_NOP:
        return 0;
    default:
        return req->ret;
    }
    /* Write cache off (writethrough, directsync): the data is stable before
     * the guest hears the write completed. */
    if (ret == 0 && req->flush_after) {
        ret = blk_flush_node(bs);
    }
    return ret;
}

static void blk_req_free(struct blk_req *req)
{
    g_free(req->iov);
    g_free(req);
}

static void blk_submit(struct blk_req *req);

/* On the main loop. */
static void blk_req_done(void *opaque, int ret)
{
    struct blk_req *req = opaque;
    struct blk *blk = req->blk;

    if (req->op != BLK_OP_FAIL) {
        blk_account_done(blk, req, ret);
    }
    blk->in_flight--;
    req->cb(req->opaque, ret);
    blk_req_free(req);
}

/* A Linux AIO write finished: with the write cache off it still needs its
 * flush, which goes to the pool (Linux AIO has no usable fsync). */
static void blk_native_done(void *opaque, int ret)
{
    struct blk_req *req = opaque;

    if (ret == 0 && req->op == BLK_OP_WRITE && req->flush_after &&
        !(req->bs->flags & BDRV_O_NO_FLUSH)) {
        /* Still accounted as the write it is (req->acct). */
        req->op = BLK_OP_FLUSH;
        blk_submit(req);
        return;
    }
    blk_req_done(req, ret);
}

static struct blk_req *blk_req_new(struct blk *blk, enum blk_op op, enum blk_acct_type acct,
                                   uint64_t off, uint64_t bytes, blk_cb *cb, void *opaque)
{
    struct blk_req *req = g_new0(struct blk_req, 1);

    req->blk = blk;
    req->bs = blk->bs;
    req->op = op;
    req->acct = acct;
    req->off = off;
    req->bytes = bytes;
    req->cb = cb;
    req->opaque = opaque;
    req->flush_after = !blk->write_cache;
    req->detect_zeroes = blk->detect_zeroes;
    req->start_ns = blk_clock_ns();
    blk->in_flight++;
    return req;
}

/* Completes a request refused before any I/O, still from the main loop. */
static void blk_fail(struct blk *blk, enum blk_acct_type acct, int ret, blk_cb *cb,
                     void *opaque)
{
    struct blk_req *req = blk_req_new(blk, BLK_OP_FAIL, acct, 0, 0, cb, opaque);

    req->ret = ret;
    if (ret == -EIO) {
        blk_account_invalid(blk, acct);
    } else if (ret != -ENOMEDIUM) {
        blk->stats.failed_ops[acct]++;
        blk->stats.last_access_time_ns = blk_clock_ns();
    }
    thread_pool_submit(blk_pool(blk), blk_req_work, req, blk_req_done, req, blk);
}

static void blk_submit(struct blk_req *req)
{
    thread_pool_submit(blk_pool(req->blk), blk_req_work, req, blk_req_done, req, req->blk);
}

static bool blk_try_native(struct blk_req *req)
{
    struct blk *blk = req->blk;
    int ret;

    if (!blk->an || !aio_native_aligned(req->off, req->bytes, blk->native_align)) {
        return false;
    }
    if (req->op == BLK_OP_WRITE && req->detect_zeroes != BLK_DETECT_ZEROES_OFF &&
        blk_iov_is_zero(req->iov, req->niov, req->bytes)) {
        return false; /* the pool turns it into pwrite_zeroes */
    }
    ret = aio_native_submit(blk->an, blk->native_fd, req->op == BLK_OP_WRITE, req->off,
                            req->iov, req->niov, req->bytes, blk->native_align,
                            blk_native_done, req, blk);
    return ret == 0;
}

/* The vector must hold the bytes the request moves. */
static bool blk_iov_covers(const struct iovec *iov, int niov, uint64_t bytes)
{
    for (int i = 0; i < niov && bytes; i++) {
        bytes -= MIN(bytes, iov[i].iov_len);
    }
    return bytes == 0;
}

static void blk_aio_rw(struct blk *blk, bool write, uint64_t off, uint64_t bytes,
                       const struct iovec *iov, int niov, blk_cb *cb, void *opaque)
{
    enum blk_acct_type acct = write ? BLK_ACCT_WRITE : BLK_ACCT_READ;
    int ret = write ? blk_check_write(blk, off, bytes) : blk_check_request(blk, off, bytes);
    struct blk_req *req;

    if (ret == 0 && (niov < 0 || !blk_iov_covers(iov, niov, bytes))) {
        ret = -EINVAL;
    }
    if (ret < 0) {
        blk_fail(blk, acct, ret, cb, opaque);
        return;
    }
    req = blk_req_new(blk, write ? BLK_OP_WRITE : BLK_OP_READ, acct, off, bytes, cb, opaque);
    req->niov = niov;
    req->iov = g_memdup2(iov, sizeof(*iov) * MAX(niov, 0));
    if (!bytes || !blk_try_native(req)) {
        blk_submit(req);
    }
}

void blk_aio_preadv(struct blk *blk, uint64_t off, uint64_t bytes, const struct iovec *iov,
                    int niov, blk_cb *cb, void *opaque)
{
    blk_aio_rw(blk, false, off, bytes, iov, niov, cb, opaque);
}

void blk_aio_pwritev(struct blk *blk, uint64_t off, uint64_t bytes, const struct iovec *iov,
                     int niov, blk_cb *cb, void *opaque)
{
    blk_aio_rw(blk, true, off, bytes, iov, niov, cb, opaque);
}

void blk_aio_pwrite_zeroes(struct blk *blk, uint64_t off, uint64_t bytes, int flags,
                           blk_cb *cb, void *opaque)
{
    int ret = blk_check_write(blk, off, bytes);
    struct blk_req *req;

    if (ret < 0) {
        blk_fail(blk, BLK_ACCT_WRITE, ret, cb, opaque);
        return;
    }
    req = blk_req_new(blk, BLK_OP_ZEROES, BLK_ACCT_WRITE, off, bytes, cb, opaque);
    req->flags = flags & BDRV_REQ_MAY_UNMAP;
    blk_submit(req);
}

void blk_aio_discard(struct blk *blk, uint64_t off, uint64_t bytes, blk_cb *cb, void *opaque)
{
    int ret = blk_check_write(blk, off, bytes);
    struct blk_req *req;

    if (ret < 0) {
        blk_fail(blk, BLK_ACCT_UNMAP, ret, cb, opaque);
        return;
    }
    req = blk_req_new(blk, BLK_OP_DISCARD, BLK_ACCT_UNMAP, off, bytes, cb, opaque);
    /* discard=ignore: the request succeeds and nothing reaches the image
     * (QEMU's bdrv_co_pdiscard without BDRV_O_UNMAP). */
    if (!(blk->bs->flags & BDRV_O_UNMAP)) {
        req->op = BLK_OP_NOP;
    }
    blk_submit(req);
}

void blk_aio_flush(struct blk *blk, blk_cb *cb, void *opaque)
{
    if (!blk->bs) {
        blk_fail(blk, BLK_ACCT_FLUSH, -ENOMEDIUM, cb, opaque);
        return;
    }
    blk_submit(blk_req_new(blk, BLK_OP_FLUSH, BLK_ACCT_FLUSH, 0, 0, cb, opaque));
}

void blk_io_plug(struct blk *blk)
{
    if (blk->an) {
        aio_native_plug(blk->an);
    }
}

void blk_io_unplug(struct blk *blk)
{
    if (blk->an) {
        aio_native_unplug(blk->an);
    }
}

unsigned blk_in_flight(struct blk *blk)
{
    return blk->in_flight;
}

void blk_drain(struct blk *blk)
{
    /* A Linux AIO write may hand its flush to the pool: loop until both
     * are empty. */
    while (blk->in_flight) {
        if (blk->an) {
            aio_native_drain(blk->an, blk);
        }
        thread_pool_drain(blk_pool(blk), blk);
    }
}

void blk_drain_all(void)
{
    for (GList *l = blk_all; l; l = l->next) {
        blk_drain(l->data);
    }
}
