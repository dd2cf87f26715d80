/*
 * The node graph (block/block.c, block-io.c): the format probe, opening over
 * a file node, backing chains (relative paths, loops), allocation down a
 * chain, and the bounce path for requests a node cannot take as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static bool have_qemu_img(void)
{
    g_autofree char *p = g_find_program_in_path("qemu-img");

    return p != NULL;
}

static void run_ok(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    int status;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *out = NULL, *err = NULL;

    /* Output captured: the test's stdout is TAP. */
    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
    if (status != 0) {
        g_test_message("%s: %s%s", cmd, out, err);
    }
    g_assert_cmpint(status, ==, 0);
}

static void write_file(const char *path, const void *buf, size_t len)
{
    g_assert_true(g_file_set_contents(path, buf, (gssize)len, NULL));
}

static void test_probe(void)
{
    uint8_t q[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
    uint8_t zero[512] = { 0 };

    g_assert_cmpstr(bdrv_probe_format(q, sizeof(q), "x"), ==, "qcow2");
    g_assert_cmpstr(bdrv_probe_format(zero, sizeof(zero), "x"), ==, "raw");
    /* Too short to be anything: raw, and no read past the bytes given. */
    g_assert_cmpstr(bdrv_probe_format(q, 3, "x"), ==, "raw");
    g_assert_nonnull(bdrv_find_format("qcow2"));
    g_assert_nonnull(bdrv_find_format("raw"));
    g_assert_nonnull(bdrv_find_format("file"));
    g_assert_null(bdrv_find_format("vmdk"));
}

/* A probed raw image opened for writing says so once on stderr and is marked
 * for the sector 0 rule; an explicit format is not; a reader is not warned. */
static void test_open_raw(void)
{
    g_autofree char *path = tmp_path("plain.img");
    g_autoptr(GError) err = NULL;
    char buf[4096];
    struct bdrv *bs;

    memset(buf, 0xab, sizeof(buf));
    write_file(path, buf, sizeof(buf));
    if (g_test_subprocess()) {
        bs = bdrv_open(path, NULL, NULL, BDRV_O_RDWR, &err);
        g_assert_no_error(err);
        g_assert_cmpstr(bs->drv->name, ==, "raw");
        g_assert_true(bs->flags & BDRV_O_PROBED_RAW);
        bdrv_unref(bs);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*WARNING: Image format was not specified for '*plain.img' "
                              "and probing guessed raw.*");

    bs = bdrv_open(path, NULL, NULL, 0, &err);
    g_assert_no_error(err);
    g_assert_false(bs->flags & BDRV_O_PROBED_RAW);
    bdrv_unref(bs);
    bs = bdrv_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_false(bs->flags & BDRV_O_PROBED_RAW);
    g_assert_cmpint(bdrv_length(bs), ==, 4096);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(bdrv_pread(bs, 100, buf, 10), ==, 0);
    g_assert_cmpint((uint8_t)buf[0], ==, 0xab);
    bdrv_unref(bs);
}

static void test_open_errors(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;

    g_assert_null(bdrv_open("/nonexistent/x.img", "raw", NULL, 0, &err));
    g_assert_nonnull(strstr(err->message, "No such file or directory"));
    g_assert_null(bdrv_open("/dev/null", "vmdk", NULL, 0, &err2));
    g_assert_cmpstr(err2->message, ==, "Unknown driver 'vmdk'");
}

/* A chain recorded with a relative name opens from the image's directory,
 * wherever the caller stands; reads fall through to the bottom. */
static void test_backing_chain(void)
{
    g_autofree char *base = tmp_path("base.raw");
    g_autofree char *mid = tmp_path("mid.qcow2");
    g_autofree char *top = tmp_path("top.qcow2");
    g_autoptr(GError) err = NULL;
    uint8_t buf[512], pattern[65536];
    uint64_t pnum;
    struct bdrv *bs;

    if (!have_qemu_img()) {
        g_test_skip("qemu-img is not installed");
        return;
    }
    memset(pattern, 0x5a, sizeof(pattern));
    write_file(base, pattern, sizeof(pattern));
    run_ok("qemu-img create -q -f qcow2 -b base.raw -F raw %s", mid);
    run_ok("qemu-io -c 'write -P 0x11 4096 512' %s", mid);
    run_ok("qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 %s 1M", top);

    bs = bdrv_open(top, NULL, NULL, 0, &err);
    g_assert_no_error(err);
    g_assert_nonnull(bs->backing);
    g_assert_nonnull(bs->backing->backing);
    g_assert_cmpstr(bs->backing->backing->drv->name, ==, "raw");
    g_assert_cmpint(bdrv_length(bs), ==, 1 << 20);

    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(buf[0], ==, 0x5a);
    g_assert_cmpint(bdrv_pread(bs, 4096, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(buf[511], ==, 0x11);
    /* Past the 64 KiB base: zeroes. */
    g_assert_cmpint(bdrv_pread(bs, 65536 + 512, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(buf[0], ==, 0);

    /* Nothing is allocated in top; mid has the cluster with 4096. */
    g_assert_cmpint(bdrv_is_allocated_above(bs, NULL, 0, 65536, &pnum), ==, 1);
    g_assert_cmpint(bdrv_is_allocated_above(bs, bs->backing, 0, 65536, &pnum), ==, 0);
    g_assert_cmpuint(pnum, ==, 65536);
    g_assert_cmpint(bdrv_is_allocated_above(bs, bs->backing->backing, 0, 65536, &pnum), ==, 1);
    bdrv_unref(bs);

    /* Without the chain: metadata only. */
    bs = bdrv_open(top, "qcow2", NULL, BDRV_O_NO_BACKING, &err);
    g_assert_no_error(err);
    g_assert_null(bs->backing);
    g_assert_cmpstr(bs->backing_file, ==, "mid.qcow2");
    bdrv_unref(bs);
}

static void test_backing_loop(void)
{
    g_autofree char *a = tmp_path("loop-a.qcow2");
    g_autofree char *b = tmp_path("loop-b.qcow2");
    g_autoptr(GError) err = NULL;

    if (!have_qemu_img()) {
        g_test_skip("qemu-img is not installed");
        return;
    }
    run_ok("qemu-img create -q -f qcow2 %s 1M", a);
    run_ok("qemu-img create -q -f qcow2 -b loop-a.qcow2 -F qcow2 %s", b);
    run_ok("qemu-img rebase -u -b loop-b.qcow2 -F qcow2 %s", a);
    g_assert_null(bdrv_open(b, NULL, NULL, 0, &err));
    g_assert_nonnull(strstr(err->message, "infinite loop"));
}

/* An O_DIRECT node takes only aligned requests; the layer bounces the
 * rest, so callers see byte-exact reads and writes. */
static void test_bounce(void)
{
    g_autofree char *path = tmp_path("direct.img");
    g_autoptr(GError) err = NULL;
    uint8_t data[8192], out[100];
    struct bdrv *bs;
    int fd;

    memset(data, 0x33, sizeof(data));
    write_file(path, data, sizeof(data));
    fd = open(path, O_RDONLY | O_DIRECT);
    if (fd < 0) {
        g_test_skip("the temporary directory does not support O_DIRECT");
        return;
    }
    close(fd);
    bs = bdrv_open(path, "raw", NULL, BDRV_O_RDWR | BDRV_O_NOCACHE, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(bs->request_alignment, >=, 512);
    memset(out, 0x77, sizeof(out));
    g_assert_cmpint(bdrv_pwrite(bs, 1000, out, sizeof(out)), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 999, data, 102), ==, 0);
    g_assert_cmpint(data[0], ==, 0x33);
    g_assert_cmpint(data[1], ==, 0x77);
    g_assert_cmpint(data[100], ==, 0x77);
    g_assert_cmpint(data[101], ==, 0x33);
    bdrv_unref(bs);
}

static void test_create(void)
{
    g_autofree char *path = tmp_path("created.qcow2");
    g_autoptr(GError) err = NULL;
    struct bdrv *bs;

    g_assert_cmpint(bdrv_create("qcow2", path, 3 << 20, NULL, &err), ==, 0);
    g_assert_no_error(err);
    bs = bdrv_open(path, NULL, NULL, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(bs->drv->name, ==, "qcow2");
    g_assert_cmpint(bdrv_length(bs), ==, 3 << 20);
    bdrv_unref(bs);
    g_assert_cmpint(bdrv_create("vmdk", path, 1 << 20, NULL, &err), <, 0);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("hyvm-block-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/block/probe", test_probe);
    g_test_add_func("/block/open-raw", test_open_raw);
    g_test_add_func("/block/open-errors", test_open_errors);
    g_test_add_func("/block/backing-chain", test_backing_chain);
    g_test_add_func("/block/backing-loop", test_backing_loop);
    g_test_add_func("/block/bounce", test_bounce);
    g_test_add_func("/block/create", test_create);
    ret = g_test_run();
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf %s", tmpdir);

        if (system(cmd) != 0) {
            ret = ret ? ret : 1;
        }
    }
    return ret;
}
