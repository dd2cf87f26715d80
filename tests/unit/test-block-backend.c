/*
 * Block backends: asynchronous read/write/flush/zeroes/discard with
 * completions on the main context, cache modes, detect-zeroes, discard=ignore,
 * read-only and bounds refusals, statistics, the name registry, eject, drain,
 * and the Linux AIO path on an O_DIRECT file.
 *
 * The nodes are a "raw" node over a "file" node of drivers defined here: they
 * count flushes, zero writes and discards, so the cache modes can be checked
 * exactly, and they fail a read on request.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/aio-native.h"
#include "block/block-backend.h"
#include "block/file-lock.h"
#include "block/thread-pool.h"

/* ---- drivers of this test ---- */

struct tfile {
    int fd;
};

static gint n_flush, n_zeroes, n_discard, n_pwritev, n_preadv;
static uint64_t fail_read_off = UINT64_MAX;
static int last_zero_flags;

static int tf_preadv(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov)
{
    struct tfile *s = bs->opaque;
    ssize_t n;

    g_atomic_int_inc(&n_preadv);
    if (off == fail_read_off) {
        return -EIO;
    }
    n = preadv(s->fd, iov, niov, (off_t)off);
    return n < 0 ? -errno : (uint64_t)n == bytes ? 0 : -EIO;
}

static int tf_pwritev(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov)
{
    struct tfile *s = bs->opaque;
    ssize_t n;

    g_atomic_int_inc(&n_pwritev);
    n = pwritev(s->fd, iov, niov, (off_t)off);
    return n < 0 ? -errno : (uint64_t)n == bytes ? 0 : -EIO;
}

static int tf_punch(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    struct tfile *s = bs->opaque;

    return fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                     (off_t)bytes) < 0 ? -errno : 0;
}

static int tf_pwrite_zeroes(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    g_atomic_int_inc(&n_zeroes);
    last_zero_flags = flags;
    if (flags & BDRV_REQ_MAY_UNMAP) {
        return tf_punch(bs, off, bytes);
    }
    return -ENOTSUP; /* the generic layer writes zero buffers */
}

static int tf_discard(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    g_atomic_int_inc(&n_discard);
    return tf_punch(bs, off, bytes);
}

static int tf_flush(struct bdrv *bs)
{
    struct tfile *s = bs->opaque;

    g_atomic_int_inc(&n_flush);
    return fdatasync(s->fd) < 0 ? -errno : 0;
}

static int64_t tf_length(struct bdrv *bs)
{
    struct tfile *s = bs->opaque;
    struct stat st;

    return fstat(s->fd, &st) < 0 ? -errno : st.st_size;
}

static void tf_close(struct bdrv *bs)
{
    struct tfile *s = bs->opaque;

    close(s->fd);
}

static int t_open_unused(struct bdrv *bs, const struct kv_list *opts, int flags, GError **errp)
{
    return -ENOTSUP;
}

static const struct block_driver test_file = {
    .name = "file",
    .state_size = sizeof(struct tfile),
    .is_protocol = true,
    .open = t_open_unused,
    .close = tf_close,
    .preadv = tf_preadv,
    .pwritev = tf_pwritev,
    .pwrite_zeroes = tf_pwrite_zeroes,
    .discard = tf_discard,
    .flush = tf_flush,
    .length = tf_length,
};

/* raw with an optional window starting at 'offset' (the rest of the file). */
struct traw {
    uint64_t offset;
};

static int tr_preadv(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov)
{
    struct traw *s = bs->opaque;

    return bdrv_preadv(bs->file, off + s->offset, bytes, iov, niov);
}

static int tr_pwritev(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov)
{
    struct traw *s = bs->opaque;

    return bdrv_pwritev(bs->file, off + s->offset, bytes, iov, niov);
}

static int tr_pwrite_zeroes(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    struct traw *s = bs->opaque;

    return bdrv_pwrite_zeroes(bs->file, off + s->offset, bytes, flags);
}

static int tr_discard(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    struct traw *s = bs->opaque;

    return bdrv_discard(bs->file, off + s->offset, bytes);
}

static int64_t tr_length(struct bdrv *bs)
{
    struct traw *s = bs->opaque;
    int64_t len = bdrv_length(bs->file);

    return len < 0 ? len : len - (int64_t)s->offset;
}

static const struct block_driver test_raw = {
    .name = "raw",
    .state_size = sizeof(struct traw),
    .open = t_open_unused,
    .preadv = tr_preadv,
    .pwritev = tr_pwritev,
    .pwrite_zeroes = tr_pwrite_zeroes,
    .discard = tr_discard,
    .length = tr_length,
};

/* ---- fixture ---- */

#define IMG_SIZE (1 << 20)

static char *tmpdir;
static GMainContext *ctx;
static struct thread_pool *pool;
static pthread_t main_thread;

static struct bdrv *node_new(const struct block_driver *drv, int flags, struct bdrv *file)
{
    struct bdrv *bs = g_new0(struct bdrv, 1);

    bs->drv = drv;
    bs->opaque = g_malloc0(drv->state_size);
    bs->filename = g_strdup("test.img");
    bs->node_name = g_strdup("#test");
    bs->flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->request_alignment = 1;
    bs->refcnt = 1;
    bs->file = file;
    return bs;
}

static char *img_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* A raw node over a file node on a new IMG_SIZE file; window at offset. */
static struct bdrv *open_raw(const char *name, int flags, uint64_t offset, int oflags)
{
    char *path = img_path(name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | oflags, 0644);
    struct bdrv *file, *raw;

    g_free(path);
    if (fd < 0) {
        return NULL;
    }
    g_assert_cmpint(ftruncate(fd, IMG_SIZE), ==, 0);
    file = node_new(&test_file, flags, NULL);
    ((struct tfile *)file->opaque)->fd = fd;
    if (oflags & O_DIRECT) {
        file->request_alignment = 4096;
    }
    raw = node_new(&test_raw, flags, file);
    ((struct traw *)raw->opaque)->offset = offset;
    raw->request_alignment = file->request_alignment;
    return raw;
}

static int file_fd(struct bdrv *bs)
{
    return ((struct tfile *)bs->opaque)->fd;
}

/* A backend over a new raw image; the backend holds the only reference. */
static void reset_counters(void);

static struct blk *new_blk(int flags, int perm)
{
    struct bdrv *bs = open_raw("disk.img", flags, 0, 0);
    struct blk *blk = blk_new(bs, perm);

    reset_counters();
    bdrv_unref(bs);
    blk_set_aio_context(blk, pool, NULL);
    return blk;
}

struct result {
    int ret;
    bool done;
    bool in_call;
};

static bool submitting;

static void result_cb(void *opaque, int ret)
{
    struct result *r = opaque;

    g_assert_true(pthread_equal(pthread_self(), main_thread));
    r->in_call = submitting;
    r->ret = ret;
    r->done = true;
}

static int wait_result(struct result *r)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (!r->done && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_assert_true(r->done);
    g_assert_false(r->in_call);
    return r->ret;
}

static int do_write(struct blk *blk, uint64_t off, void *buf, uint64_t len)
{
    struct iovec iov = { buf, len };
    struct result r = { 0 };

    submitting = true;
    blk_aio_pwritev(blk, off, len, &iov, 1, result_cb, &r);
    submitting = false;
    return wait_result(&r);
}

static int do_read(struct blk *blk, uint64_t off, void *buf, uint64_t len)
{
    struct iovec iov = { buf, len };
    struct result r = { 0 };

    submitting = true;
    blk_aio_preadv(blk, off, len, &iov, 1, result_cb, &r);
    submitting = false;
    return wait_result(&r);
}

static int do_flush(struct blk *blk)
{
    struct result r = { 0 };

    submitting = true;
    blk_aio_flush(blk, result_cb, &r);
    submitting = false;
    return wait_result(&r);
}

static int do_zeroes(struct blk *blk, uint64_t off, uint64_t len, int flags)
{
    struct result r = { 0 };

    submitting = true;
    blk_aio_pwrite_zeroes(blk, off, len, flags, result_cb, &r);
    submitting = false;
    return wait_result(&r);
}

static int do_discard(struct blk *blk, uint64_t off, uint64_t len)
{
    struct result r = { 0 };

    submitting = true;
    blk_aio_discard(blk, off, len, result_cb, &r);
    submitting = false;
    return wait_result(&r);
}

static void reset_counters(void)
{
    n_flush = n_zeroes = n_discard = n_pwritev = n_preadv = 0;
    last_zero_flags = -1;
    fail_read_off = UINT64_MAX;
}

/* Bytes the image file occupies on disk. */
static int64_t disk_usage(struct blk *blk)
{
    struct stat st;

    g_assert_cmpint(fstat(file_fd(blk_bs(blk)->file), &st), ==, 0);
    return (int64_t)st.st_blocks * 512;
}

/* ---- tests ---- */

static void test_read_write(void)
{
    struct blk *blk = new_blk(BDRV_O_RDWR, BLK_PERM_WRITE);
    uint8_t a[3000], b[5000], out[8000], direct[8000];
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    struct result r = { 0 };

    memset(a, 0xa5, sizeof(a));
    memset(b, 0x5a, sizeof(b));
    submitting = true;
    blk_aio_pwritev(blk, 12345, sizeof(a) + sizeof(b), iov, 2, result_cb, &r);
    submitting = false;
    g_assert_cmpint(wait_result(&r), ==, 0);
    g_assert_cmpint(do_read(blk, 12345, out, sizeof(out)), ==, 0);
    g_assert_cmpmem(out, 3000, a, 3000);
    g_assert_cmpmem(out + 3000, 5000, b, 5000);
    /* What the file holds, bypassing the block layer. */
    g_assert_cmpint(pread(file_fd(blk_bs(blk)->file), direct, sizeof(direct), 12345), ==,
                    sizeof(direct));
    g_assert_cmpmem(direct, sizeof(direct), out, sizeof(out));
    /* The synchronous calls see the same data. */
    memset(out, 0, sizeof(out));
    g_assert_cmpint(blk_pread(blk, 12345, out, sizeof(out)), ==, 0);
    g_assert_cmpmem(out, 3000, a, 3000);
    g_assert_cmpint(blk_getlength(blk), ==, IMG_SIZE);
    g_assert_true(blk_is_inserted(blk));
    g_assert_false(blk_is_read_only(blk));
    g_assert_false(blk_uses_native_aio(blk));
    blk_unref(blk);
}

static void test_cache_modes(void)
{
    struct blk *blk = new_blk(BDRV_O_RDWR, BLK_PERM_WRITE);
    uint8_t buf[4096];

    memset(buf, 1, sizeof(buf));
    /* writeback: writes do not flush; a flush does. */
    reset_counters();
    g_assert_true(blk_enable_write_cache(blk));
    for (int i = 0; i < 4; i++) {
        g_assert_cmpint(do_write(blk, i * 4096, buf, sizeof(buf)), ==, 0);
    }
    g_assert_cmpint(n_flush, ==, 0);
    g_assert_cmpint(do_flush(blk), ==, 0);
    g_assert_cmpint(n_flush, ==, 1);

    /* writethrough: each write and zero write is flushed before it completes. */
    reset_counters();
    blk_set_enable_write_cache(blk, false);
    for (int i = 0; i < 4; i++) {
        g_assert_cmpint(do_write(blk, i * 4096, buf, sizeof(buf)), ==, 0);
    }
    g_assert_cmpint(n_flush, ==, 4);
    g_assert_cmpint(do_zeroes(blk, 0, 4096, 0), ==, 0);
    g_assert_cmpint(n_flush, ==, 5);
    g_assert_cmpint(blk_pwrite(blk, 0, buf, 512), ==, 0);
    g_assert_cmpint(n_flush, ==, 6);
    /* Reads never flush. */
    g_assert_cmpint(do_read(blk, 0, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(n_flush, ==, 6);
    blk_unref(blk);

    /* unsafe: BDRV_O_NO_FLUSH makes flushes succeed without reaching the file. */
    blk = new_blk(BDRV_O_RDWR | BDRV_O_NO_FLUSH, BLK_PERM_WRITE);
    reset_counters();
    g_assert_cmpint(do_flush(blk), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(n_flush, ==, 0);
    blk_unref(blk);
}

static void test_zeroes_discard(void)
{
    struct blk *blk = new_blk(BDRV_O_RDWR | BDRV_O_UNMAP, BLK_PERM_WRITE);
    uint8_t *buf = g_malloc(256 << 10), *out = g_malloc(256 << 10);
    int64_t full, holed;

    memset(buf, 0x77, 256 << 10);
    g_assert_cmpint(do_write(blk, 0, buf, 256 << 10), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    full = disk_usage(blk);
    g_assert_cmpint(full, >=, 256 << 10);

    /* Zeroes that may unmap punch a hole. */
    reset_counters();
    g_assert_cmpint(do_zeroes(blk, 0, 128 << 10, BDRV_REQ_MAY_UNMAP), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 1);
    g_assert_cmpint(last_zero_flags & BDRV_REQ_MAY_UNMAP, !=, 0);
    holed = disk_usage(blk);
    g_assert_cmpint(holed, <=, full - (128 << 10));
    g_assert_cmpint(do_read(blk, 0, out, 256 << 10), ==, 0);
    for (int i = 0; i < 128 << 10; i++) {
        g_assert_cmpint(out[i], ==, 0);
    }
    g_assert_cmpint(out[128 << 10], ==, 0x77);

    /* Zeroes without MAY_UNMAP write zeroes, data stays allocated. */
    reset_counters();
    g_assert_cmpint(do_zeroes(blk, 128 << 10, 64 << 10, 0), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 1);
    g_assert_cmpint(last_zero_flags, ==, 0);
    g_assert_cmpint(disk_usage(blk), ==, holed);

    /* discard=unmap: a discard reaches the file. */
    reset_counters();
    g_assert_cmpint(do_discard(blk, 192 << 10, 64 << 10), ==, 0);
    g_assert_cmpint(n_discard, ==, 1);
    g_assert_cmpint(disk_usage(blk), <=, holed - (64 << 10));
    blk_unref(blk);

    /* discard=ignore: succeeds, nothing reaches the file; MAY_UNMAP is dropped. */
    blk = new_blk(BDRV_O_RDWR, BLK_PERM_WRITE);
    g_assert_cmpint(do_write(blk, 0, buf, 256 << 10), ==, 0);
    reset_counters();
    g_assert_cmpint(do_discard(blk, 0, 64 << 10), ==, 0);
    g_assert_cmpint(n_discard, ==, 0);
    g_assert_cmpint(do_zeroes(blk, 0, 64 << 10, BDRV_REQ_MAY_UNMAP), ==, 0);
    g_assert_cmpint(last_zero_flags, ==, 0);
    g_assert_cmpint(do_read(blk, 0, out, 64 << 10), ==, 0);
    g_assert_cmpint(out[0], ==, 0);
    g_assert_cmpint(out[(64 << 10) - 1], ==, 0);
    g_assert_cmpuint(blk_get_stats(blk)->nr_ops[BLK_ACCT_UNMAP], ==, 1);
    blk_unref(blk);
    g_free(buf);
    g_free(out);
}

static void test_detect_zeroes(void)
{
    struct blk *blk = new_blk(BDRV_O_RDWR | BDRV_O_UNMAP, BLK_PERM_WRITE);
    uint8_t *data = g_malloc(128 << 10), *zero = g_malloc0(128 << 10);
    int64_t full;

    memset(data, 0x33, 128 << 10);
    g_assert_cmpint(do_write(blk, 0, data, 128 << 10), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    full = disk_usage(blk);

    /* off: a zero buffer is written as data. */
    reset_counters();
    g_assert_cmpint(do_write(blk, 0, zero, 4096), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 0);
    g_assert_cmpint(n_pwritev, ==, 1);

    /* on: it becomes a zero write that may not unmap; data stays data. */
    reset_counters();
    blk_set_detect_zeroes(blk, BLK_DETECT_ZEROES_ON);
    g_assert_cmpint(do_write(blk, 0, zero, 64 << 10), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 1);
    g_assert_cmpint(last_zero_flags, ==, 0);
    g_assert_cmpint(do_write(blk, 0, data, 4096), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 1);

    /* unmap with discard=unmap: the zeroes become a hole. */
    reset_counters();
    blk_set_detect_zeroes(blk, BLK_DETECT_ZEROES_UNMAP);
    g_assert_cmpint(do_write(blk, 64 << 10, zero, 64 << 10), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 1);
    g_assert_cmpint(last_zero_flags & BDRV_REQ_MAY_UNMAP, !=, 0);
    g_assert_cmpint(disk_usage(blk), <=, full - (64 << 10));
    /* A buffer with one non-zero byte at the end is data. */
    zero[(64 << 10) - 1] = 1;
    g_assert_cmpint(do_write(blk, 64 << 10, zero, 64 << 10), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 1);
    g_assert_cmpint(n_pwritev, ==, 1);
    /* Still counted as writes. */
    g_assert_cmpuint(blk_get_stats(blk)->nr_ops[BLK_ACCT_WRITE], ==, 6);
    /* The synchronous write detects zeroes too. */
    zero[(64 << 10) - 1] = 0;
    g_assert_cmpint(blk_pwrite(blk, 0, zero, 4096), ==, 0);
    g_assert_cmpint(n_zeroes, ==, 2);
    blk_unref(blk);
    g_free(data);
    g_free(zero);
}

static void test_read_only(void)
{
    uint8_t buf[4096] = { 1 }, out[4096];
    struct blk *blk;

    /* A writable node through a backend without write permission. */
    blk = new_blk(BDRV_O_RDWR, 0);
    g_assert_true(blk_is_read_only(blk));
    reset_counters();
    g_assert_cmpint(do_write(blk, 0, buf, sizeof(buf)), ==, -EPERM);
    g_assert_cmpint(do_zeroes(blk, 0, 4096, 0), ==, -EPERM);
    g_assert_cmpint(do_discard(blk, 0, 4096), ==, -EPERM);
    g_assert_cmpint(blk_pwrite(blk, 0, buf, sizeof(buf)), ==, -EPERM);
    g_assert_cmpint(n_pwritev + n_zeroes + n_discard, ==, 0);
    g_assert_cmpint(do_read(blk, 0, out, sizeof(out)), ==, 0);
    g_assert_cmpint(out[0], ==, 0);
    g_assert_cmpint(do_flush(blk), ==, 0);
    g_assert_cmpuint(blk_get_stats(blk)->failed_ops[BLK_ACCT_WRITE], ==, 2);
    g_assert_cmpuint(blk_get_stats(blk)->failed_ops[BLK_ACCT_UNMAP], ==, 1);
    blk_unref(blk);

    /* A read-only node, even with write permission asked. */
    blk = new_blk(0, BLK_PERM_WRITE);
    g_assert_true(blk_is_read_only(blk));
    g_assert_cmpint(do_write(blk, 0, buf, sizeof(buf)), ==, -EPERM);
    blk_unref(blk);
}

static void test_bounds_and_media(void)
{
    struct blk *blk = new_blk(BDRV_O_RDWR, BLK_PERM_WRITE);
    uint8_t buf[8192];
    struct bdrv *bs;

    memset(buf, 9, sizeof(buf));
    g_assert_cmpint(do_read(blk, IMG_SIZE - 4096, buf, 8192), ==, -EIO);
    g_assert_cmpint(do_write(blk, IMG_SIZE, buf, 1), ==, -EIO);
    g_assert_cmpint(do_zeroes(blk, UINT64_MAX - 10, 4096, 0), ==, -EIO);
    g_assert_cmpint(do_discard(blk, IMG_SIZE + 4096, 4096), ==, -EIO);
    g_assert_cmpint(blk_pread(blk, IMG_SIZE - 1, buf, 2), ==, -EIO);
    /* Exactly up to the end is fine, and a zero-length request at the end. */
    g_assert_cmpint(do_write(blk, IMG_SIZE - 4096, buf, 4096), ==, 0);
    g_assert_cmpint(do_read(blk, IMG_SIZE, buf, 0), ==, 0);
    g_assert_cmpuint(blk_get_stats(blk)->invalid_ops[BLK_ACCT_READ], ==, 1);
    g_assert_cmpuint(blk_get_stats(blk)->invalid_ops[BLK_ACCT_WRITE], ==, 2);
    g_assert_cmpuint(blk_get_stats(blk)->invalid_ops[BLK_ACCT_UNMAP], ==, 1);
    g_assert_cmpuint(blk_get_stats(blk)->failed_ops[BLK_ACCT_READ], ==, 0);
    /* A vector shorter than the request is refused, not overrun. */
    {
        struct iovec iov = { buf, 512 };
        struct result r = { 0 };

        blk_aio_preadv(blk, 0, 4096, &iov, 1, result_cb, &r);
        g_assert_cmpint(wait_result(&r), ==, -EINVAL);
    }

    /* Eject: no medium until a node is inserted again. */
    bs = blk_bs(blk);
    bdrv_ref(bs);
    blk_remove_bs(blk);
    g_assert_false(blk_is_inserted(blk));
    g_assert_null(blk_bs(blk));
    g_assert_cmpint(blk_getlength(blk), ==, -ENOMEDIUM);
    g_assert_cmpint(do_read(blk, 0, buf, 512), ==, -ENOMEDIUM);
    g_assert_cmpint(do_flush(blk), ==, -ENOMEDIUM);
    g_assert_cmpint(blk_pread(blk, 0, buf, 512), ==, -ENOMEDIUM);
    blk_insert_bs(blk, bs);
    bdrv_unref(bs);
    g_assert_cmpint(do_read(blk, IMG_SIZE - 4096, buf, 4096), ==, 0);
    g_assert_cmpint(buf[0], ==, 9);
    blk_unref(blk);
}

static void test_stats(void)
{
    struct blk *blk = new_blk(BDRV_O_RDWR | BDRV_O_UNMAP, BLK_PERM_WRITE);
    const struct blk_stats *st = blk_get_stats(blk);
    uint8_t buf[4096] = { 0 };

    g_assert_cmpint(blk_idle_time_ns(blk), ==, -1);
    g_assert_cmpuint(st->nr_ops[BLK_ACCT_READ] + st->nr_ops[BLK_ACCT_WRITE], ==, 0);
    reset_counters();
    buf[0] = 1;
    for (int i = 0; i < 3; i++) {
        g_assert_cmpint(do_write(blk, i * 4096, buf, 4096), ==, 0);
    }
    g_assert_cmpint(do_read(blk, 0, buf, 1000), ==, 0);
    g_assert_cmpint(do_read(blk, 0, buf, 24), ==, 0);
    g_assert_cmpint(do_zeroes(blk, 0, 512, 0), ==, 0);
    g_assert_cmpint(do_discard(blk, 8192, 4096), ==, 0);
    g_assert_cmpint(do_flush(blk), ==, 0);
    fail_read_off = 4096;
    g_assert_cmpint(do_read(blk, 4096, buf, 100), ==, -EIO);

    g_assert_cmpuint(st->nr_bytes[BLK_ACCT_WRITE], ==, 3 * 4096 + 512);
    g_assert_cmpuint(st->nr_ops[BLK_ACCT_WRITE], ==, 4);
    g_assert_cmpuint(st->nr_bytes[BLK_ACCT_READ], ==, 1024);
    g_assert_cmpuint(st->nr_ops[BLK_ACCT_READ], ==, 2);
    g_assert_cmpuint(st->failed_ops[BLK_ACCT_READ], ==, 1);
    g_assert_cmpuint(st->nr_bytes[BLK_ACCT_UNMAP], ==, 4096);
    g_assert_cmpuint(st->nr_ops[BLK_ACCT_UNMAP], ==, 1);
    g_assert_cmpuint(st->nr_ops[BLK_ACCT_FLUSH], ==, 1);
    g_assert_cmpuint(st->nr_bytes[BLK_ACCT_FLUSH], ==, 0);
    /* The last write ended at 3 * 4096; discards do not count. */
    g_assert_cmpuint(st->wr_highest_offset, ==, 3 * 4096);
    for (int t = 0; t < BLK_ACCT_NR; t++) {
        g_assert_cmpuint(st->total_time_ns[t], >, 0);
        g_assert_cmpuint(st->invalid_ops[t], ==, 0);
        g_assert_cmpuint(st->merged[t], ==, 0);
    }
    g_assert_cmpint(blk_idle_time_ns(blk), >=, 0);
    g_assert_cmpint(blk_idle_time_ns(blk), <, 5 * G_USEC_PER_SEC * 1000LL);
    blk_unref(blk);
}

static void test_registry(void)
{
    struct blk *a = new_blk(BDRV_O_RDWR, BLK_PERM_WRITE);
    struct blk *b = blk_new(NULL, 0);
    struct blk *c = new_blk(BDRV_O_RDWR, BLK_PERM_WRITE);
    GError *err = NULL;

    g_assert_cmpstr(blk_name(a), ==, "");
    g_assert_null(blk_next(NULL));
    g_assert_true(blk_set_name(a, "drive0", &err));
    g_assert_true(blk_set_name(b, "cd0", &err));
    g_assert_false(blk_set_name(c, "drive0", &err));
    g_assert_cmpstr(err->message, ==, "Device with id 'drive0' already exists");
    g_clear_error(&err);
    g_assert_true(blk_by_name("drive0") == a);
    g_assert_true(blk_by_name("cd0") == b);
    g_assert_null(blk_by_name("drive1"));
    g_assert_true(blk_next(NULL) == a);
    g_assert_true(blk_next(a) == b);
    g_assert_null(blk_next(b));
    g_assert_false(blk_is_inserted(b));
    g_assert_true(blk_is_read_only(b));
    blk_unref(a);
    g_assert_null(blk_by_name("drive0"));
    g_assert_true(blk_next(NULL) == b);
    blk_unref(b);
    blk_unref(c);
    g_assert_null(blk_next(NULL));
}

static void count_cb(void *opaque, int ret)
{
    g_assert_cmpint(ret, ==, 0);
    (*(int *)opaque)++;
}

/* Many requests in flight at once; drain returns after all completed. */
static void test_drain(void)
{
    enum { N = 200 };
    struct blk *blk = new_blk(BDRV_O_RDWR, BLK_PERM_WRITE);
    static uint8_t bufs[N][512];
    struct iovec iov[N];
    int done = 0;

    for (int i = 0; i < N; i++) {
        memset(bufs[i], i, 512);
        iov[i] = (struct iovec){ bufs[i], 512 };
        blk_aio_pwritev(blk, i * 512, 512, &iov[i], 1, count_cb, &done);
        if (i % 50 == 0) {
            blk_aio_flush(blk, count_cb, &done);
        }
    }
    g_assert_cmpuint(blk_in_flight(blk), >, 0);
    g_assert_cmpint(done, <, N + 4);
    blk_drain(blk);
    g_assert_cmpint(done, ==, N + 4);
    g_assert_cmpuint(blk_in_flight(blk), ==, 0);
    for (int i = 0; i < N; i++) {
        uint8_t out[512];

        g_assert_cmpint(blk_pread(blk, i * 512, out, 512), ==, 0);
        g_assert_cmpmem(out, 512, bufs[i], 512);
    }
    /* Freeing a backend with requests in flight completes them first. */
    done = 0;
    for (int i = 0; i < 10; i++) {
        blk_aio_preadv(blk, i * 512, 512, &iov[i], 1, count_cb, &done);
    }
    blk_unref(blk);
    g_assert_cmpint(done, ==, 10);
}

/* ---- Linux AIO ---- */

static struct blk *native_blk(struct aio_native **pan, uint64_t window)
{
    int flags = BDRV_O_RDWR | BDRV_O_NOCACHE | BDRV_O_NATIVE_AIO;
    struct bdrv *bs = open_raw("direct.img", flags, window, O_DIRECT);
    GError *err = NULL;
    struct blk *blk;

    reset_counters();
    if (!bs) {
        g_test_skip("O_DIRECT is not supported on the temporary directory");
        return NULL;
    }
    *pan = aio_native_new(ctx, &err);
    if (!*pan) {
        g_test_skip(err->message);
        g_error_free(err);
        bdrv_unref(bs);
        return NULL;
    }
    blk_file_fd_hook = file_fd;
    blk = blk_new(bs, BLK_PERM_WRITE);
    bdrv_unref(bs);
    blk_set_aio_context(blk, pool, *pan);
    return blk;
}

static void test_native(void)
{
    struct aio_native *an;
    struct blk *blk = native_blk(&an, 0);
    uint8_t *abuf, *out, *odd;
    uint64_t calls, iocbs;

    if (!blk) {
        return;
    }
    g_assert_true(blk_uses_native_aio(blk));
    abuf = aligned_alloc(4096, 64 << 10);
    out = aligned_alloc(4096, 64 << 10);
    odd = g_malloc((64 << 10) + 1);
    memset(abuf, 0xc3, 64 << 10);
    reset_counters();
    /* Aligned buffers go straight to the kernel. */
    g_assert_cmpint(do_write(blk, 8192, abuf, 64 << 10), ==, 0);
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(iocbs, ==, 1);
    g_assert_cmpint(n_pwritev, ==, 0);
    g_assert_cmpint(do_read(blk, 8192, out, 64 << 10), ==, 0);
    g_assert_cmpmem(out, 64 << 10, abuf, 64 << 10);
    g_assert_cmpint(n_preadv, ==, 0);
    /* A buffer off the memory alignment is bounced, still Linux AIO. */
    memset(odd + 1, 0x3c, 4096);
    g_assert_cmpint(do_write(blk, 0, odd + 1, 4096), ==, 0);
    memset(odd, 0, 64 << 10);
    g_assert_cmpint(do_read(blk, 0, odd + 1, 4096), ==, 0);
    g_assert_cmpint(odd[1], ==, 0x3c);
    g_assert_cmpint(odd[4096], ==, 0x3c);
    g_assert_cmpint(odd[4097], ==, 0);
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(iocbs, ==, 4);
    /* An offset off the block size goes to the pool, which bounces it. */
    g_assert_cmpint(do_write(blk, 100, abuf, 300), ==, 0);
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(iocbs, ==, 4);
    g_assert_cmpint(blk_pread(blk, 0, out, 512), ==, 0);
    g_assert_cmpint(out[99], ==, 0x3c);
    g_assert_cmpint(out[100], ==, 0xc3);
    g_assert_cmpint(out[399], ==, 0xc3);
    g_assert_cmpint(out[400], ==, 0x3c);

    /* Writethrough: the Linux AIO write is followed by a flush. */
    blk_set_enable_write_cache(blk, false);
    g_assert_cmpint(n_flush, ==, 0);
    g_assert_cmpint(do_write(blk, 8192, abuf, 4096), ==, 0);
    g_assert_cmpint(n_flush, ==, 1);
    blk_set_enable_write_cache(blk, true);

    /* Stats count Linux AIO requests as any other. */
    g_assert_cmpuint(blk_get_stats(blk)->nr_ops[BLK_ACCT_WRITE], ==, 4);
    g_assert_cmpuint(blk_get_stats(blk)->nr_bytes[BLK_ACCT_READ], ==, (64 << 10) + 4096);
    blk_unref(blk);
    aio_native_free(an);
    free(abuf);
    free(out);
    g_free(odd);
}

/* Requests between plug and unplug go to the kernel in one io_submit. */
static void test_native_batch(void)
{
    enum { N = 16 };
    struct aio_native *an;
    struct blk *blk = native_blk(&an, 0);
    uint8_t *buf;
    struct iovec iov[N];
    uint64_t calls0, iocbs0, calls, iocbs;
    int done = 0;

    if (!blk) {
        return;
    }
    buf = aligned_alloc(4096, N * 4096);
    for (int i = 0; i < N; i++) {
        memset(buf + i * 4096, i + 1, 4096);
        iov[i] = (struct iovec){ buf + i * 4096, 4096 };
    }
    aio_native_stats(an, &calls0, &iocbs0);
    blk_io_plug(blk);
    for (int i = 0; i < N; i++) {
        blk_aio_pwritev(blk, i * 4096, 4096, &iov[i], 1, count_cb, &done);
    }
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(calls, ==, calls0);
    blk_io_unplug(blk);
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(calls - calls0, ==, 1);
    g_assert_cmpuint(iocbs - iocbs0, ==, N);
    blk_drain(blk);
    g_assert_cmpint(done, ==, N);

    /* Read back in one batch too, and check. */
    memset(buf, 0, N * 4096);
    done = 0;
    blk_io_plug(blk);
    for (int i = 0; i < N; i++) {
        blk_aio_preadv(blk, i * 4096, 4096, &iov[i], 1, count_cb, &done);
    }
    blk_io_unplug(blk);
    while (done < N) {
        g_main_context_iteration(ctx, TRUE);
    }
    for (int i = 0; i < N; i++) {
        g_assert_cmpint(buf[i * 4096], ==, i + 1);
        g_assert_cmpint(buf[i * 4096 + 4095], ==, i + 1);
    }
    blk_unref(blk);
    aio_native_free(an);
    free(buf);
}

/* Requests that main-loop callbacks submit in one iteration go to the kernel
 * together, before the context polls again. */
struct fanout {
    struct blk *blk;
    struct iovec *iov;
    int n;
    int done;
};

static void fanout_read_cb(void *opaque, int ret)
{
    struct fanout *f = opaque;

    g_assert_cmpint(ret, ==, 0);
    f->done++;
}

static void fanout_start_cb(void *opaque, int ret)
{
    struct fanout *f = opaque;

    g_assert_cmpint(ret, ==, 0);
    for (int i = 0; i < f->n; i++) {
        blk_aio_preadv(f->blk, i * 4096, 4096, &f->iov[i], 1, fanout_read_cb, f);
    }
}

static void test_native_iteration_batch(void)
{
    enum { N = 8 };
    struct aio_native *an;
    struct blk *blk = native_blk(&an, 0);
    struct fanout f = { .blk = blk, .n = N };
    struct iovec iov[N];
    uint64_t calls0, iocbs0, calls, iocbs;
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    uint8_t *buf;

    if (!blk) {
        return;
    }
    buf = aligned_alloc(4096, (N + 1) * 4096);
    for (int i = 0; i < N; i++) {
        iov[i] = (struct iovec){ buf + i * 4096, 4096 };
    }
    f.iov = iov;
    blk_aio_flush(blk, fanout_start_cb, &f);
    while (!f.done && g_get_monotonic_time() < deadline) {
        aio_native_stats(an, &calls0, &iocbs0);
        g_main_context_iteration(ctx, TRUE);
    }
    /* The iteration that ran the flush's callback submitted nothing itself. */
    while (f.done < N && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_assert_cmpint(f.done, ==, N);
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(iocbs - iocbs0, ==, N);
    g_assert_cmpuint(calls - calls0, ==, 1);
    blk_unref(blk);
    aio_native_free(an);
    free(buf);
}

/* More requests than the AIO ring holds: the rest wait and go as it drains. */
static void test_native_ring_full(void)
{
    enum { N = AIO_NATIVE_MAX_EVENTS * 2 + 37, BLOCKS = IMG_SIZE / 4096 };
    struct aio_native *an;
    struct blk *blk = native_blk(&an, 0);
    struct iovec *iov;
    uint8_t *buf;
    uint64_t calls, iocbs;
    int done = 0;

    if (!blk) {
        return;
    }
    buf = aligned_alloc(4096, (size_t)N * 4096);
    iov = g_new(struct iovec, N);
    for (int i = 0; i < BLOCKS; i++) {
        memset(buf + i * 4096, i, 4096);
    }
    g_assert_cmpint(blk_pwrite(blk, 0, buf, IMG_SIZE), ==, 0);
    memset(buf, 0xff, (size_t)N * 4096);
    blk_io_plug(blk);
    for (int i = 0; i < N; i++) {
        iov[i] = (struct iovec){ buf + (size_t)i * 4096, 4096 };
        blk_aio_preadv(blk, (uint64_t)(i % BLOCKS) * 4096, 4096, &iov[i], 1, count_cb, &done);
    }
    blk_io_unplug(blk);
    blk_drain(blk);
    g_assert_cmpint(done, ==, N);
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(iocbs, ==, N);
    g_assert_cmpuint(calls, >=, 3);
    for (int i = 0; i < N; i++) {
        g_assert_cmpint(buf[(size_t)i * 4096], ==, (i % BLOCKS) & 0xff);
        g_assert_cmpint(buf[(size_t)i * 4096 + 4095], ==, (i % BLOCKS) & 0xff);
    }
    blk_unref(blk);
    aio_native_free(an);
    free(buf);
    g_free(iov);
}

/* A raw node with an offset window cannot bypass raw: the pool serves it. */
static void test_native_window(void)
{
    struct aio_native *an;
    struct blk *blk = native_blk(&an, 4096);
    uint8_t *buf;

    if (!blk) {
        return;
    }
    g_assert_false(blk_uses_native_aio(blk));
    buf = aligned_alloc(4096, 4096);
    memset(buf, 0xee, 4096);
    g_assert_cmpint(do_write(blk, 0, buf, 4096), ==, 0);
    g_assert_cmpint(pread(file_fd(blk_bs(blk)->file), buf, 4096, 4096), ==, 4096);
    g_assert_cmpint(buf[0], ==, 0xee);
    blk_unref(blk);
    aio_native_free(an);
    free(buf);
}

/* The real raw and file drivers, opened as -drive would with cache=none,
 * aio=native: requests reach Linux AIO through file-posix's descriptor. */
static void test_native_real_drivers(void)
{
    int flags = BDRV_O_RDWR | BDRV_O_NOCACHE | BDRV_O_NATIVE_AIO;
    char *path = img_path("real.img");
    GError *err = NULL;
    struct aio_native *an;
    struct bdrv *bs;
    struct blk *blk;
    uint8_t *buf, *out;
    uint64_t calls, iocbs;
    int fd;

    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, IMG_SIZE), ==, 0);
    close(fd);
    bs = bdrv_open(path, "raw", NULL, flags, &err);
    if (!bs) {
        g_test_skip(err->message);
        g_error_free(err);
        goto out;
    }
    an = aio_native_new(ctx, &err);
    if (!an) {
        g_test_skip(err->message);
        g_error_free(err);
        bdrv_unref(bs);
        goto out;
    }
    blk_file_fd_hook = bdrv_file_fd;
    blk = blk_new(bs, BLK_PERM_WRITE);
    bdrv_unref(bs);
    blk_set_aio_context(blk, pool, an);
    g_assert_true(blk_uses_native_aio(blk));
    buf = aligned_alloc(4096, 16384);
    out = aligned_alloc(4096, 16384);
    memset(buf, 0x6b, 16384);
    g_assert_cmpint(do_write(blk, 65536, buf, 16384), ==, 0);
    memset(out, 0, 16384);
    g_assert_cmpint(do_read(blk, 65536, out, 16384), ==, 0);
    g_assert_cmpmem(out, 16384, buf, 16384);
    aio_native_stats(an, &calls, &iocbs);
    g_assert_cmpuint(iocbs, ==, 2);
    g_assert_cmpint(do_flush(blk), ==, 0);
    /* Unaligned: the pool and block-io's bounce buffers. */
    g_assert_cmpint(do_write(blk, 65537, buf, 10), ==, 0);
    g_assert_cmpint(blk_pread(blk, 65536, out, 16), ==, 0);
    g_assert_cmpint(out[0], ==, 0x6b);
    blk_unref(blk);
    aio_native_free(an);
    free(buf);
    free(out);
    /* The data is in the file, seen without the block layer. */
    fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, out = g_malloc(16), 16, 65536), ==, 16);
    g_assert_cmpint(out[0], ==, 0x6b);
    g_free(out);
    close(fd);
out:
    g_unlink(path);
    g_free(path);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-block-backend-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    main_thread = pthread_self();
    ctx = g_main_context_new();
    pool = thread_pool_new(ctx);
    g_test_add_func("/block-backend/read-write", test_read_write);
    g_test_add_func("/block-backend/cache-modes", test_cache_modes);
    g_test_add_func("/block-backend/zeroes-discard", test_zeroes_discard);
    g_test_add_func("/block-backend/detect-zeroes", test_detect_zeroes);
    g_test_add_func("/block-backend/read-only", test_read_only);
    g_test_add_func("/block-backend/bounds-media", test_bounds_and_media);
    g_test_add_func("/block-backend/stats", test_stats);
    g_test_add_func("/block-backend/registry", test_registry);
    g_test_add_func("/block-backend/drain", test_drain);
    g_test_add_func("/block-backend/native", test_native);
    g_test_add_func("/block-backend/native-batch", test_native_batch);
    g_test_add_func("/block-backend/native-iteration-batch", test_native_iteration_batch);
    g_test_add_func("/block-backend/native-ring-full", test_native_ring_full);
    g_test_add_func("/block-backend/native-window", test_native_window);
    g_test_add_func("/block-backend/native-real-drivers", test_native_real_drivers);
    ret = g_test_run();
    thread_pool_free(pool);
    g_main_context_unref(ctx);
    for (const char *n = "disk.img"; n; n = strcmp(n, "disk.img") ? NULL : "direct.img") {
        char *p = img_path(n);

        g_unlink(p);
        g_free(p);
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
