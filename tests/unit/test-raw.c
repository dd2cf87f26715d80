/*
 * The raw format over a file node: pass-through, QEMU's offset/size window
 * and its messages, the sector 0 guard of a probed raw image, create and
 * measure.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "file-node.h"

extern const struct block_driver bdrv_raw;

static char *tmpdir;

static struct bdrv *new_node(const struct block_driver *drv, const char *path, int flags)
{
    struct bdrv *bs = g_new0(struct bdrv, 1);

    bs->drv = drv;
    bs->opaque = g_malloc0(drv->state_size);
    bs->filename = g_strdup(path);
    bs->flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->request_alignment = 1;
    bs->refcnt = 1;
    return bs;
}

static void free_node(struct bdrv *bs)
{
    if (bs->drv->close) {
        bs->drv->close(bs);
    }
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs);
}

/* A raw node over a file node, built as block.c builds them. */
static struct bdrv *open_raw(const char *path, int flags, const char *raw_opts, GError **errp)
{
    g_autofree char *fo = g_strdup_printf("filename=%s", path);
    struct kv_list *fopts = kv_parse(fo, NULL, NULL);
    struct kv_list *ropts = kv_parse(raw_opts ? raw_opts : "", NULL, NULL);
    struct bdrv *file = new_node(&bdrv_file, path, flags);
    struct bdrv *bs = new_node(&bdrv_raw, path, flags);
    int ret;

    g_assert_nonnull(fopts);
    g_assert_nonnull(ropts);
    ret = bdrv_file.open(file, fopts, flags, errp);
    g_assert_cmpint(ret, ==, 0);
    bs->file = file;
    bs->request_alignment = file->request_alignment;
    ret = bdrv_raw.open(bs, ropts, flags, errp);
    kv_free(fopts);
    kv_free(ropts);
    if (ret < 0) {
        free_node(bs);
        free_node(file);
        return NULL;
    }
    return bs;
}

static void close_raw(struct bdrv *bs)
{
    struct bdrv *file = bs->file;

    free_node(bs);
    free_node(file);
}

static char *make_file(const char *name, size_t size)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    g_autofree uint8_t *data = g_malloc(size);

    for (size_t i = 0; i < size; i++) {
        data[i] = (uint8_t)(i / 512 + 1); /* each sector its own byte */
    }
    g_assert_true(g_file_set_contents(path, (char *)data, size, NULL));
    return path;
}

static uint8_t file_byte(const char *path, off_t off)
{
    uint8_t b = 0xee;
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(pread(fd, &b, 1, off), ==, 1);
    close(fd);
    return b;
}

static void test_passthrough(void)
{
    g_autofree char *path = make_file("pass.img", 65536);
    uint8_t buf[1024];
    uint64_t pnum, map;
    struct bdrv *bs, *file;
    int st;

    bs = open_raw(path, BDRV_O_RDWR, NULL, NULL);
    g_assert_nonnull(bs);
    g_assert_cmpint(bdrv_length(bs), ==, 65536);
    g_assert_cmpint(bdrv_pread(bs, 1000, buf, 100), ==, 0);
    g_assert_cmpint(buf[0], ==, 2);
    memset(buf, 0xcd, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, 1024), ==, 0);
    g_assert_cmpint(file_byte(path, 1023), ==, 0xcd);
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 0, 512, 0), ==, 0);
    g_assert_cmpint(file_byte(path, 511), ==, 0);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);

    st = bdrv_block_status(bs, 0, 65536, &pnum, &map, &file);
    g_assert_true(st & BDRV_BLOCK_DATA);
    g_assert_true(st & BDRV_BLOCK_ALLOCATED);
    g_assert_true(st & BDRV_BLOCK_OFFSET_VALID);
    g_assert_true(file == bs->file);
    g_assert_cmpuint(map, ==, 0);
    close_raw(bs);
}

static void test_window(void)
{
    g_autofree char *path = make_file("window.img", 65536);
    uint8_t buf[512];
    uint64_t pnum, map;
    struct bdrv *bs, *file;
    GError *err = NULL;

    bs = open_raw(path, BDRV_O_RDWR, "offset=4k,size=8192", &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_length(bs), ==, 8192);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, 512), ==, 0);
    g_assert_cmpint(buf[0], ==, 9); /* file sector 8 */
    memset(buf, 0x42, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(bs, 8192 - 512, buf, 512), ==, 0);
    g_assert_cmpint(file_byte(path, 4096 + 8192 - 1), ==, 0x42);
    g_assert_cmpint(file_byte(path, 4096 + 8192), ==, 25);
    /* Outside the window: nothing read or written. */
    g_assert_cmpint(bdrv_pwrite(bs, 8192 - 256, buf, 512), ==, -ENOSPC);
    g_assert_cmpint(file_byte(path, 4096 + 8192), ==, 25);
    g_assert_cmpint(bdrv_pread(bs, 8192, buf, 1), ==, -EINVAL);
    g_assert_cmpint(bdrv_block_status(bs, 512, 1024, &pnum, &map, &file), >, 0);
    g_assert_cmpuint(map, ==, 4096 + 512);
    g_assert_cmpint(bdrv_truncate(bs, 16384, false, NULL, &err), ==, -ENOTSUP);
    g_assert_cmpstr(err->message, ==, "Cannot resize fixed-size raw disks");
    g_clear_error(&err);
    close_raw(bs);

    /* Without size the window runs to the end and follows truncate. */
    bs = open_raw(path, BDRV_O_RDWR, "offset=1024", &err);
    g_assert_cmpint(bdrv_length(bs), ==, 65536 - 1024);
    g_assert_cmpint(bdrv_truncate(bs, 4096, true, NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_length(bs->file), ==, 4096 + 1024);
    close_raw(bs);
}

static void expect_open_error(const char *path, const char *opts, const char *want)
{
    GError *err = NULL;

    g_assert_null(open_raw(path, 0, opts, &err));
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
}

/* QEMU 7.2's messages, from qemu-img info --image-opts driver=raw,... */
static void test_window_errors(void)
{
    g_autofree char *path = make_file("werr.img", 65536);

    expect_open_error(path, "offset=100M",
                      "Offset (104857600) cannot be greater than size of the containing file "
                      "(65536)");
    expect_open_error(path, "offset=1k,size=64k",
                      "The sum of offset (1024) and size (65536) has to be smaller or equal to "
                      "the  actual size of the containing file (65536)");
    expect_open_error(path, "size=1000", "Specified size is not multiple of 512");
    expect_open_error(path, "size=1x",
                      "Parameter 'size' expects a non-negative number below 2^64\n"
                      "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, "
                      "peta-\nand exabytes, respectively.");
}

static void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

/* A probed raw image refuses to become something the probe would open as
 * another format; anything else goes through. */
static void test_probed_sector0(void)
{
    g_autofree char *path = make_file("probed.img", 65536);
    uint8_t sector[512], head[8];
    struct iovec iov[2];
    struct bdrv *bs;

    bs = open_raw(path, BDRV_O_RDWR | BDRV_O_PROBED_RAW, NULL, NULL);
    g_assert_nonnull(bs);
    g_assert_cmpuint(bs->request_alignment, >=, 512);

    memset(sector, 0, sizeof(sector));
    memcpy(sector, "QFI\xfb", 4);
    put_be32(sector + 4, 3);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sector, 512), ==, -EPERM);
    g_assert_cmpint(file_byte(path, 0), ==, 1);
    /* Sector 1 is not guarded. */
    g_assert_cmpint(bdrv_pwrite(bs, 512, sector, 512), ==, 0);

    /* Harmless on its own: bytes 4..7 of a qcow2 version. */
    memset(sector, 0, sizeof(sector));
    put_be32(sector + 4, 3);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sector, 512), ==, 0);
    /* ...and now the magic alone, laid over them, is refused. */
    memcpy(head, "QFI\xfb", 4);
    g_assert_cmpint(bdrv_pwrite(bs, 0, head, 4), ==, -EPERM);
    g_assert_cmpint(file_byte(path, 0), ==, 0);

    /* A split vector across sector 0 and 1 arrives whole. */
    memset(sector, 0x11, sizeof(sector));
    iov[0] = (struct iovec){ sector, 100 };
    iov[1] = (struct iovec){ sector + 100, 412 };
    g_assert_cmpint(bs->drv->pwritev(bs, 0, 512, iov, 2), ==, 0);
    g_assert_cmpint(file_byte(path, 0), ==, 0x11);
    g_assert_cmpint(file_byte(path, 511), ==, 0x11);
    close_raw(bs);

    /* raw given explicitly: no guard. */
    bs = open_raw(path, BDRV_O_RDWR, NULL, NULL);
    memset(sector, 0, sizeof(sector));
    memcpy(sector, "QFI\xfb", 4);
    put_be32(sector + 4, 3);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sector, 512), ==, 0);
    g_assert_cmpint(file_byte(path, 0), ==, 'Q');
    close_raw(bs);
}

static void test_create_measure(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "create.img", NULL);
    struct kv_list *opts = kv_parse("size=1000,preallocation=full", NULL, NULL);
    struct bdrv_measure m;
    struct stat st;
    GError *err = NULL;
    struct bdrv *bs;

    g_assert_cmpint(bdrv_raw.create(path, opts, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 1024);
    g_assert_cmpint(st.st_blocks, >=, 2);
    g_assert_cmpstr(bdrv_raw.create_opts[0].name, ==, "size");
    g_assert_cmpstr(bdrv_raw.create_opts[0].help, ==, "Virtual disk size");
    g_assert_null(bdrv_raw.create_opts[1].name);

    g_assert_cmpint(bdrv_raw.measure(opts, NULL, 1000, &m, &err), ==, 0);
    g_assert_cmpuint(m.required, ==, 1024);
    g_assert_cmpuint(m.fully_allocated, ==, 1024);
    bs = open_raw(path, 0, NULL, NULL);
    g_assert_cmpint(bdrv_raw.measure(opts, bs, 0, &m, &err), ==, 0);
    g_assert_cmpuint(m.required, ==, 1024);
    close_raw(bs);
    kv_free(opts);
}

/* Through block.c: no format given, so the probe guesses raw and guards. */
static void test_open_probed(void)
{
    g_autofree char *path = make_file("open.img", 65536);
    uint8_t sector[512];
    GError *err = NULL;
    struct bdrv *bs;

    bs = bdrv_open(path, NULL, NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_true(bs->drv == &bdrv_raw);
    memset(sector, 0, sizeof(sector));
    memcpy(sector, "QFI\xfb", 4);
    put_be32(sector + 4, 2);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sector, 512), ==, -EPERM);
    bdrv_unref(bs);

    bs = bdrv_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sector, 512), ==, 0);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("hyvm-raw-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/raw/passthrough", test_passthrough);
    g_test_add_func("/raw/window", test_window);
    g_test_add_func("/raw/window-errors", test_window_errors);
    g_test_add_func("/raw/probed-sector0", test_probed_sector0);
    g_test_add_func("/raw/create-measure", test_create_measure);
    g_test_add_func("/raw/open-probed", test_open_probed);
    ret = g_test_run();
    tmpdir_remove(tmpdir);
    g_free(tmpdir);
    return ret;
}
