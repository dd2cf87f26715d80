/*
 * The "file" protocol driver on temporary files: read/write, reads past the
 * end, zeroes, discard and holes through block_status, truncate and create
 * with QEMU's messages, O_DIRECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "file-node.h"
#include "block/file-lock.h"


static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void make_file(const char *path, uint64_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, (off_t)size), ==, 0);
    close(fd);
}

static int rd(struct bdrv *bs, uint64_t off, void *buf, uint64_t n)
{
    struct iovec iov = { buf, n };

    return bdrv_file.preadv(bs, off, n, &iov, 1);
}

static int wr(struct bdrv *bs, uint64_t off, const void *buf, uint64_t n)
{
    struct iovec iov = { (void *)buf, n };

    return bdrv_file.pwritev(bs, off, n, &iov, 1);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static int status(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum)
{
    uint64_t map = ~0ULL;
    struct bdrv *file = NULL;
    int ret = bdrv_file.block_status(bs, off, bytes, pnum, &map, &file);

    g_assert_cmpint(ret, >=, 0);
    g_assert_true(ret & BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpuint(map, ==, off);
    g_assert_true(file == bs);
    return ret;
}

static void test_rw(void)
{
    g_autofree char *path = tmp_path("rw.img");
    uint8_t buf[8192], out[8192];
    struct bdrv *bs;

    make_file(path, 1 << 20);
    bs = file_node_open(path, BDRV_O_RDWR, NULL, NULL);
    g_assert_nonnull(bs);
    g_assert_cmpint(bdrv_file.length(bs), ==, 1 << 20);
    g_assert_cmpuint(bs->request_alignment, ==, 1);
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 7 + 3);
    }
    g_assert_cmpint(wr(bs, 4093, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(rd(bs, 4093, out, sizeof(out)), ==, 0);
    g_assert_cmpmem(buf, sizeof(buf), out, sizeof(out));
    g_assert_cmpint(rd(bs, 0, out, 4093), ==, 0);
    g_assert_true(all_zero(out, 4093));
    g_assert_cmpint(bdrv_file.flush(bs), ==, 0);
    file_node_close(bs);
}

/* A vector longer than IOV_MAX goes out in several syscalls. */
static void test_many_iovs(void)
{
    g_autofree char *path = tmp_path("iov.img");
    const int n = IOV_MAX * 2 + 5;
    struct iovec *iov = g_new(struct iovec, n);
    uint8_t *data = g_malloc(n * 3), *back = g_malloc0(n * 3);
    struct bdrv *bs;

    make_file(path, 0);
    bs = file_node_open(path, BDRV_O_RDWR, NULL, NULL);
    g_assert_nonnull(bs);
    for (int i = 0; i < n * 3; i++) {
        data[i] = (uint8_t)(i ^ (i >> 8));
    }
    for (int i = 0; i < n; i++) {
        iov[i] = (struct iovec){ data + i * 3, 3 };
    }
    g_assert_cmpint(bdrv_file.pwritev(bs, 100, n * 3, iov, n), ==, 0);
    /* The caller's vector is left as it was. */
    g_assert_true(iov[0].iov_base == data && iov[n - 1].iov_len == 3);
    for (int i = 0; i < n; i++) {
        iov[i] = (struct iovec){ back + i * 3, 3 };
    }
    g_assert_cmpint(bdrv_file.preadv(bs, 100, n * 3, iov, n), ==, 0);
    g_assert_cmpmem(data, n * 3, back, n * 3);
    file_node_close(bs);
    g_free(iov);
    g_free(data);
    g_free(back);
}

/* A file shorter than what is read: the rest reads as zeroes. */
static void test_short_file(void)
{
    g_autofree char *path = tmp_path("short.img");
    uint8_t buf[4096];
    struct bdrv *bs;

    g_assert_true(g_file_set_contents(path, "0123456789", 10, NULL));
    bs = file_node_open(path, 0, NULL, NULL);
    g_assert_nonnull(bs);
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(rd(bs, 0, buf, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, 10, "0123456789", 10);
    g_assert_true(all_zero(buf + 10, sizeof(buf) - 10));
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(rd(bs, 1 << 20, buf, sizeof(buf)), ==, 0);
    g_assert_true(all_zero(buf, sizeof(buf)));
    /* Read-only: writes fail in the kernel. */
    g_assert_cmpint(wr(bs, 0, buf, 1), ==, -EBADF);
    file_node_close(bs);
}

static void test_holes_zeroes_discard(void)
{
    g_autofree char *path = tmp_path("sparse.img");
    const uint64_t mib = 1 << 20;
    uint8_t *buf = g_malloc(65536), *out = g_malloc(65536);
    uint64_t pnum;
    struct bdrv *bs;
    int st;

    make_file(path, 4 * mib);
    bs = file_node_open(path, BDRV_O_RDWR, NULL, NULL);
    g_assert_nonnull(bs);
    memset(buf, 0x5a, 65536);
    g_assert_cmpint(wr(bs, mib, buf, 65536), ==, 0);

    st = status(bs, 0, 4 * mib, &pnum);
    if (st & BDRV_BLOCK_DATA) {
        g_test_skip("filesystem without SEEK_HOLE");
        file_node_close(bs);
        return;
    }
    g_assert_cmpint(st, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpuint(pnum, ==, mib);
    st = status(bs, mib, 3 * mib, &pnum);
    g_assert_cmpint(st, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpuint(pnum, ==, 65536);
    /* The trailing hole. */
    st = status(bs, mib + 65536, 3 * mib - 65536, &pnum);
    g_assert_cmpint(st, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpuint(pnum, ==, 3 * mib - 65536);

    /* Zeroes that may unmap punch a hole. */
    g_assert_cmpint(bdrv_file.pwrite_zeroes(bs, mib, 32768, BDRV_REQ_MAY_UNMAP), ==, 0);
    g_assert_cmpint(rd(bs, mib, out, 65536), ==, 0);
    g_assert_true(all_zero(out, 32768));
    g_assert_cmpmem(out + 32768, 32768, buf, 32768);
    st = status(bs, mib, 65536, &pnum);
    g_assert_cmpint(st, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpuint(pnum, ==, 32768);

    /* Plain zeroes read back as zeroes, whatever the filesystem did. */
    g_assert_cmpint(bdrv_file.pwrite_zeroes(bs, mib + 32768, 4096, 0), ==, 0);
    g_assert_cmpint(rd(bs, mib + 32768, out, 8192), ==, 0);
    g_assert_true(all_zero(out, 4096));
    g_assert_cmpmem(out + 4096, 4096, buf, 4096);

    /* Discard punches a hole too; the length stays. */
    g_assert_cmpint(bdrv_file.discard(bs, mib + 32768, 32768), ==, 0);
    st = status(bs, mib, 65536, &pnum);
    g_assert_cmpint(st, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
    g_assert_cmpuint(pnum, ==, 65536);
    g_assert_cmpint(bdrv_file.length(bs), ==, 4 * mib);

    /* Zeroes past the end extend the file, sparsely when they may unmap. */
    g_assert_cmpint(bdrv_file.pwrite_zeroes(bs, 5 * mib, mib, BDRV_REQ_MAY_UNMAP), ==, 0);
    g_assert_cmpint(bdrv_file.length(bs), ==, 6 * mib);
    g_assert_cmpint(bdrv_file.allocated_size(bs), <, 2 * 65536 + 8192);
    g_assert_cmpint(bdrv_file.pwrite_zeroes(bs, 6 * mib, 4096, 0), ==, 0);
    g_assert_cmpint(bdrv_file.length(bs), ==, 6 * mib + 4096);
    g_assert_cmpint(rd(bs, 5 * mib, out, 65536), ==, 0);
    g_assert_true(all_zero(out, 65536));
    file_node_close(bs);
    g_free(buf);
    g_free(out);
}

static void test_truncate(void)
{
    g_autofree char *path = tmp_path("trunc.img");
    GError *err = NULL;
    struct bdrv *bs;

    make_file(path, 1 << 20);
    bs = file_node_open(path, BDRV_O_RDWR, NULL, NULL);
    g_assert_nonnull(bs);
    g_assert_cmpint(bdrv_file.truncate(bs, 2 << 20, false, NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file.length(bs), ==, 2 << 20);

    g_assert_cmpint(bdrv_file.truncate(bs, 512 << 10, false, "off", &err), <, 0);
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
    g_assert_cmpstr(err->message, ==, "Use the --shrink option to perform a shrink operation.");
    g_clear_error(&err);
    g_assert_cmpint(bdrv_file.length(bs), ==, 2 << 20);

    g_assert_cmpint(bdrv_file.truncate(bs, 1000, true, "full", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Cannot use preallocation for shrinking files");
    g_clear_error(&err);
    g_assert_cmpint(bdrv_file.truncate(bs, 1000, true, NULL, &err), ==, 0);
    g_assert_cmpint(bdrv_file.length(bs), ==, 1000);

    g_assert_cmpint(bdrv_file.truncate(bs, 4 << 20, false, "metadata", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Unsupported preallocation mode: metadata");
    g_clear_error(&err);
    g_assert_cmpint(bdrv_file.length(bs), ==, 1000);

    g_assert_cmpint(bdrv_file.truncate(bs, 1 << 20, false, "full", &err), ==, 0);
    g_assert_cmpint(bdrv_file.allocated_size(bs), >=, 1 << 20);
    g_assert_cmpint(bdrv_file.truncate(bs, 2 << 20, false, "falloc", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file.length(bs), ==, 2 << 20);
    g_assert_cmpint(bdrv_file.allocated_size(bs), >=, 2 << 20);
    file_node_close(bs);
}

static int create(const char *path, const char *o, GError **errp)
{
    struct kv_list *opts = kv_parse(o, NULL, NULL);
    int ret;

    g_assert_nonnull(opts);
    ret = bdrv_file.create(path, opts, errp);
    kv_free(opts);
    return ret;
}

static void test_create(void)
{
    g_autofree char *path = tmp_path("create.img");
    g_autofree char *bad = tmp_path("no/such/dir/x.img");
    g_autofree char *want = NULL;
    GError *err = NULL;
    struct stat st;

    g_assert_cmpint(create(path, "size=1000", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 1024); /* rounded up to sectors, as qemu-img */

    /* An existing file is emptied first. */
    g_assert_cmpint(create(path, "size=1073741824", &err), ==, 0);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 1 << 30);
    /* The first block is allocated ("disk size: 4 KiB" in qemu-img info). */
    g_assert_cmpint(st.st_blocks * 512, ==, 4096);

    g_assert_cmpint(create(path, "size=1048576,preallocation=full", &err), ==, 0);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_blocks * 512, >=, 1 << 20);

    g_assert_cmpint(create(path, "size=1048576,preallocation=metadata", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Unsupported preallocation mode: metadata");
    g_clear_error(&err);
    g_assert_cmpint(create(path, "size=1048576,preallocation=bogus", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "invalid parameter value: bogus");
    g_clear_error(&err);
    g_assert_cmpint(create(path, "size=1048576,nocow=maybe", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Parameter 'nocow' expects 'on' or 'off'");
    g_clear_error(&err);
    g_assert_cmpint(create(path, "size=1048576,nocow=on,extent_size_hint=1M", &err), ==, 0);
    g_assert_no_error(err);

    g_assert_cmpint(create(bad, "size=1", &err), ==, -ENOENT);
    want = g_strdup_printf("Could not create '%s': No such file or directory", bad);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);

    /* The -o names qemu-img create -f raw -o help x lists, in its order. */
    g_assert_cmpstr(bdrv_file.create_opts[0].name, ==, "extent_size_hint");
    g_assert_cmpstr(bdrv_file.create_opts[1].name, ==, "nocow");
    g_assert_cmpstr(bdrv_file.create_opts[2].help, ==,
                    "Preallocation mode (allowed values: off, falloc, full)");
    g_assert_cmpstr(bdrv_file.create_opts[3].name, ==, "size");
    g_assert_null(bdrv_file.create_opts[4].name);
}

static void test_open_errors(void)
{
    g_autofree char *missing = tmp_path("missing.img");
    g_autofree char *path = tmp_path("err.img");
    g_autofree char *want = NULL;
    GError *err = NULL;

    g_assert_null(file_node_open(missing, 0, NULL, &err));
    want = g_strdup_printf("Could not open '%s': No such file or directory", missing);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    g_free(want);

    g_assert_null(file_node_open(tmpdir, 0, NULL, &err));
    want = g_strdup_printf("'file' driver requires '%s' to be a regular file", tmpdir);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);

    make_file(path, 4096);
    g_assert_null(file_node_open(path, 0, "locking=maybe", &err));
    g_assert_cmpstr(err->message, ==, "invalid parameter value: maybe");
    g_clear_error(&err);
    g_assert_null(file_node_open(path, BDRV_O_RDWR | BDRV_O_FORCE_SHARE, NULL, &err));
    g_assert_cmpstr(err->message, ==, "force-share=on can only be used with read-only images");
    g_clear_error(&err);
}

static void test_no_flush(void)
{
    g_autofree char *path = tmp_path("noflush.img");
    struct bdrv *bs;

    make_file(path, 4096);
    bs = file_node_open(path, BDRV_O_RDWR | BDRV_O_NO_FLUSH, NULL, NULL);
    g_assert_nonnull(bs);
    g_assert_cmpint(bdrv_file.flush(bs), ==, 0);
    file_node_close(bs);
}

static void test_direct(void)
{
    g_autofree char *path = tmp_path("direct.img");
    GError *err = NULL;
    struct bdrv *bs;
    uint8_t *buf;
    int fd;

    make_file(path, 1 << 20);
    /* Allocated data at the start, as qemu-img create leaves it, so the
     * alignment probe meets real blocks rather than a hole. */
    fd = open(path, O_RDWR);
    g_assert_cmpint(pwrite(fd, "hyvm", 4, 0), ==, 4);
    g_assert_cmpint(fsync(fd), ==, 0);
    close(fd);
    bs = file_node_open(path, BDRV_O_RDWR | BDRV_O_NOCACHE, NULL, &err);
    if (!bs && err->code == G_FILE_ERROR_INVAL) {
        g_test_skip("O_DIRECT not supported here");
        g_clear_error(&err);
        return;
    }
    g_assert_no_error(err);
    g_test_message("O_DIRECT request_alignment %u", bs->request_alignment);
    g_assert_true(bs->request_alignment == 512 || bs->request_alignment == 1024 ||
                  bs->request_alignment == 2048 || bs->request_alignment == 4096);
    g_assert_cmpint(posix_memalign((void **)&buf, 4096, 8192), ==, 0);
    g_assert_cmpint(rd(bs, 0, buf, 4096), ==, 0);
    g_assert_cmpmem(buf, 4, "hyvm", 4);
    memset(buf, 0x77, 8192);
    g_assert_cmpint(wr(bs, 8192, buf, 8192), ==, 0);
    memset(buf, 0, 8192);
    g_assert_cmpint(rd(bs, 8192, buf, 4096), ==, 0);
    g_assert_cmpint(buf[0], ==, 0x77);
    /* Aligned zeroes and a read across the end of the file. */
    g_assert_cmpint(bdrv_file.pwrite_zeroes(bs, 8192, 4096, 0), ==, 0);
    g_assert_cmpint(rd(bs, 8192, buf, 4096), ==, 0);
    g_assert_true(all_zero(buf, 4096));
    file_node_close(bs);
    free(buf);
}

/* The test files are all directly in dir. */
#define THREAD_BLOCKS 2048

struct thread_job {
    struct bdrv *bs;
    int id;
};

/* Thread id writes data to blocks id, id + 4, ... and zeroes (that may
 * unmap) to the block after each, all past the end the file had. */
static gpointer thread_writer(gpointer opaque)
{
    struct thread_job *job = opaque;
    uint8_t buf[4096];

    for (int i = job->id; i < THREAD_BLOCKS; i += 4) {
        memset(buf, i + 1, sizeof(buf));
        g_assert_cmpint(wr(job->bs, (uint64_t)i * 8192, buf, 4096), ==, 0);
        g_assert_cmpint(bdrv_file.pwrite_zeroes(job->bs, (uint64_t)i * 8192 + 4096, 4096,
                                                (i & 4) ? BDRV_REQ_MAY_UNMAP : 0), ==, 0);
    }
    return NULL;
}

/* Writes and zeroes from several threads at once, each growing the file:
 * zeroes past the end never cut off another thread's data. */
static void test_threads(void)
{
    g_autofree char *path = tmp_path("threads.img");
    struct thread_job jobs[4];
    GThread *t[4];
    uint8_t buf[8192];
    struct bdrv *bs;

    make_file(path, 0);
    bs = file_node_open(path, BDRV_O_RDWR, NULL, NULL);
    g_assert_nonnull(bs);
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct thread_job){ bs, i };
        t[i] = g_thread_new("writer", thread_writer, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(t[i]);
    }
    g_assert_cmpint(bdrv_file.length(bs), ==, THREAD_BLOCKS * 8192);
    for (int i = 0; i < THREAD_BLOCKS; i++) {
        g_assert_cmpint(rd(bs, (uint64_t)i * 8192, buf, 8192), ==, 0);
        g_assert_cmpint(buf[0], ==, (uint8_t)(i + 1));
        g_assert_cmpint(buf[4095], ==, (uint8_t)(i + 1));
        g_assert_true(all_zero(buf + 4096, 4096));
    }
    file_node_close(bs);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("hyvm-file-posix-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/file-posix/rw", test_rw);
    g_test_add_func("/file-posix/many-iovs", test_many_iovs);
    g_test_add_func("/file-posix/short-file", test_short_file);
    g_test_add_func("/file-posix/holes-zeroes-discard", test_holes_zeroes_discard);
    g_test_add_func("/file-posix/truncate", test_truncate);
    g_test_add_func("/file-posix/create", test_create);
    g_test_add_func("/file-posix/open-errors", test_open_errors);
    g_test_add_func("/file-posix/no-flush", test_no_flush);
    g_test_add_func("/file-posix/direct", test_direct);
    g_test_add_func("/file-posix/threads", test_threads);
    ret = g_test_run();
    tmpdir_remove(tmpdir);
    g_free(tmpdir);
    return ret;
}
