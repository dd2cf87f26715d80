/*
 * Reading qcow2 images that QEMU's qemu-img makes (the oracle): every create
 * option that changes the layout, compressed clusters (zlib, zstd), zero
 * clusters, backing chains, block status; and malformed headers that must
 * fail to open with QEMU's message, never crash.  Tests skip without qemu-img.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "file-node.h"

#define IMG_SIZE (6u << 20)

static char *tmpdir;
static uint8_t *pattern; /* IMG_SIZE bytes: data, zeroes and holes */

static bool have_qemu_img(void)
{
    g_autofree char *p = g_find_program_in_path("qemu-img");

    if (!p) {
        g_test_skip("qemu-img not installed");
    }
    return p != NULL;
}

/* Runs a command line; asserts it exits 0. */
static void run(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void run(const char *fmt, ...)
{
    g_autofree char *cmd = NULL, *out = NULL, *err = NULL;
    int status = 0;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_printerr("command failed: %s\n%s%s", cmd, out, err);
        g_assert_not_reached();
    }
}

static char *path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void write_file(const char *name, const void *buf, size_t len)
{
    g_autofree char *p = path(name);

    g_assert_true(g_file_set_contents(p, buf, len, NULL));
}

static void make_pattern(void)
{
    GRand *r = g_rand_new_with_seed(42);

    pattern = g_malloc0(IMG_SIZE);
    for (uint32_t off = 0; off < IMG_SIZE; off += 4096) {
        uint32_t kind = g_rand_int_range(r, 0, 4);

        if (kind == 0) {
            continue; /* zero block: becomes a hole */
        }
        for (uint32_t i = 0; i < 4096; i += 4) {
            /* Compressible (repeating) or random data. */
            uint32_t v = kind == 1 ? off / 4096 : g_rand_int(r);

            memcpy(pattern + off + i, &v, 4);
        }
    }
    g_rand_free(r);
}

static struct bdrv *open_img(const char *name, int flags, GError **errp)
{
    g_autofree char *p = path(name);

    return bdrv_open(p, "qcow2", NULL, flags, errp);
}

/* Reads the whole image in odd-sized pieces and compares with expect. */
static void assert_reads(struct bdrv *bs, const uint8_t *expect, uint64_t size)
{
    g_autofree uint8_t *buf = g_malloc(size);
    uint64_t off = 0, step = 12345;

    g_assert_cmpint(bdrv_length(bs), ==, (int64_t)size);
    while (off < size) {
        uint64_t n = MIN(step, size - off);

        g_assert_cmpint(bdrv_pread(bs, off, buf + off, n), ==, 0);
        off += n;
        step = step * 7 % 300000 + 1;
    }
    g_assert_true(memcmp(buf, expect, size) == 0);
}

static void check_convert(const char *opts, bool compress)
{
    g_autofree char *raw = path("src.raw"), *img = path("img.qcow2");
    g_autoptr(GError) err = NULL;
    struct bdrv *bs;

    if (!have_qemu_img()) {
        return;
    }
    write_file("src.raw", pattern, IMG_SIZE);
    run("qemu-img convert -f raw -O qcow2 %s %s %s %s %s", compress ? "-c" : "",
        opts[0] ? "-o" : "", opts, raw, img);
    bs = open_img("img.qcow2", 0, &err);
    g_assert_no_error(err);
    assert_reads(bs, pattern, IMG_SIZE);
    bdrv_unref(bs);
}

static void test_default(void) { check_convert("", false); }
static void test_v2(void) { check_convert("compat=0.10", false); }
static void test_cluster_512(void) { check_convert("cluster_size=512", false); }
static void test_cluster_2m(void) { check_convert("cluster_size=2M", false); }
static void test_refcount_1(void) { check_convert("refcount_bits=1", false); }
static void test_refcount_64(void) { check_convert("refcount_bits=64", false); }
static void test_extended_l2(void) { check_convert("extended_l2=on", false); }
static void test_zlib(void) { check_convert("", true); }
static void test_zstd(void) { check_convert("compression_type=zstd", true); }
static void test_zlib_4k(void) { check_convert("cluster_size=4096", true); }

/* Zero clusters over a backing file, a backing file shorter than its overlay,
 * unallocated subclusters, and what block status says of each. */
static void test_backing_and_zero(void)
{
    g_autofree char *base = path("base.qcow2"), *top = path("top.qcow2");
    g_autofree uint8_t *expect = g_malloc0(8 << 20);
    g_autoptr(GError) err = NULL;
    uint64_t pnum, map;
    struct bdrv *bs, *file;

    if (!have_qemu_img()) {
        return;
    }
    run("qemu-img create -f qcow2 %s 4M", base);
    run("qemu-io -f qcow2 -c 'write -P 0x11 0 4M' %s", base);
    run("qemu-img create -f qcow2 -F qcow2 -b %s %s 8M", base, top);
    run("qemu-io -f qcow2 -c 'write -z 64k 64k' -c 'write -P 0x22 1M 100k' "
        "-c 'write -P 0x33 7M 64k' %s", top);
    memset(expect, 0x11, 4 << 20);
    memset(expect + (64 << 10), 0, 64 << 10);
    memset(expect + (1 << 20), 0x22, 100 << 10);
    memset(expect + (7 << 20), 0x33, 64 << 10);

    bs = open_img("top.qcow2", 0, &err);
    g_assert_no_error(err);
    g_assert_nonnull(bs->backing);
    g_assert_cmpstr(bs->backing_format, ==, "qcow2");
    assert_reads(bs, expect, 8 << 20);

    g_assert_cmpint(bdrv_block_status(bs, 0, 64 << 10, &pnum, &map, &file), ==, 0);
    g_assert_cmpint(pnum, ==, 64 << 10);
    g_assert_cmpint(bdrv_block_status(bs, 64 << 10, 1 << 20, &pnum, &map, &file) &
                    (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA), ==, BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, 64 << 10);
    g_assert_cmpint(bdrv_block_status(bs, 1 << 20, 64 << 10, &pnum, &map, &file) &
                    (BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID), ==,
                    BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID);
    bdrv_unref(bs);

    /* Opened without its backing file: unallocated ranges read zeroes. */
    bs = open_img("top.qcow2", BDRV_O_NO_BACKING, &err);
    g_assert_no_error(err);
    g_assert_null(bs->backing);
    g_assert_cmpstr(bs->backing_file, ==, base);
    memset(expect, 0, 1 << 20);
    memset(expect + (1124 << 10), 0, (4 << 20) - (1124 << 10));
    memset(expect + (1 << 20) + (100 << 10), 0, 28 << 10); /* rest of the COW'd cluster */
    {
        g_autofree uint8_t *buf = g_malloc(8 << 20);

        g_assert_cmpint(bdrv_pread(bs, 0, buf, 8 << 20), ==, 0);
        /* The 1M cluster was copied up with the base's bytes around the write. */
        g_assert_cmpint(buf[0], ==, 0);
        g_assert_cmpint(buf[(1 << 20) + 5], ==, 0x22);
        g_assert_cmpint(buf[(1 << 20) + (100 << 10)], ==, 0x11);
        g_assert_cmpint(buf[(2 << 20)], ==, 0);
        g_assert_cmpint(buf[(7 << 20) + 1], ==, 0x33);
    }
    bdrv_unref(bs);
}

/* Extended L2: a 4k write into a 64k cluster allocates one subcluster only. */
static void test_subclusters(void)
{
    g_autofree char *base = path("sbase.qcow2"), *top = path("stop.qcow2");
    g_autofree uint8_t *expect = g_malloc(1 << 20), *buf = g_malloc(1 << 20);
    g_autoptr(GError) err = NULL;
    struct bdrv *bs;

    if (!have_qemu_img()) {
        return;
    }
    run("qemu-img create -f qcow2 %s 1M", base);
    run("qemu-io -f qcow2 -c 'write -P 0x44 0 1M' %s", base);
    run("qemu-img create -f qcow2 -o extended_l2=on -F qcow2 -b %s %s 1M", base, top);
    run("qemu-io -f qcow2 -c 'write -P 0x55 4k 2k' -c 'write -z 16k 4k' %s", top);
    memset(expect, 0x44, 1 << 20);
    memset(expect + 4096, 0x55, 2048);
    memset(expect + 16384, 0, 4096);
    bs = open_img("stop.qcow2", 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, 1 << 20), ==, 0);
    g_assert_true(memcmp(buf, expect, 1 << 20) == 0);
    bdrv_unref(bs);
}

/* ---- Malformed images ---- */

static uint8_t *base_image(size_t *len)
{
    g_autofree char *p = path("good.qcow2");
    gchar *data;
    gsize n;

    run("qemu-img create -f qcow2 %s 1M", p);
    g_assert_true(g_file_get_contents(p, &data, &n, NULL));
    *len = n;
    return (uint8_t *)data;
}

static void expect_open_error(const uint8_t *img, size_t len, int flags, const char *msg)
{
    g_autoptr(GError) err = NULL;
    struct bdrv *bs;

    write_file("bad.qcow2", img, len);
    bs = open_img("bad.qcow2", flags, &err);
    if (bs) {
        g_printerr("opened, expected: %s\n", msg);
        g_assert_not_reached();
    }
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_printerr("got \"%s\", expected \"%s\"\n", err->message, msg);
        g_assert_not_reached();
    }
}

static void test_malformed(void)
{
    g_autofree uint8_t *good = NULL;
    g_autofree uint8_t *img = NULL;
    size_t len;

    if (!have_qemu_img()) {
        return;
    }
    good = base_image(&len);
    img = g_malloc(len);

#define MUTATE(stmt, flags, msg)         \
    do {                                 \
        memcpy(img, good, len);          \
        stmt;                            \
        expect_open_error(img, len, flags, msg); \
    } while (0)

    MUTATE(qcow2_st32(img + 4, 4), 0, "Unsupported qcow2 version 4");
    MUTATE(qcow2_st32(img + 20, 8), 0, "Unsupported cluster size: 2^8");
    MUTATE(qcow2_st32(img + 20, 30), 0, "Unsupported cluster size: 2^30");
    MUTATE(qcow2_st32(img + 96, 7), 0, "Reference count entry width too large");
    MUTATE(qcow2_st32(img + 100, 96), 0, "qcow2 header too short");
    MUTATE(qcow2_st32(img + 100, 70000), 0, "qcow2 header exceeds cluster size");
    MUTATE(qcow2_st64(img + 8, 70000), 0, "Invalid backing file offset");
    MUTATE((qcow2_st64(img + 8, 65000), qcow2_st32(img + 16, 1000)), 0,
           "Backing file name too long");
    MUTATE(qcow2_st32(img + 36, 10u << 20), 0, "Active L1 table too large");
    MUTATE(qcow2_st64(img + 40, 12345), 0, "Active L1 table offset invalid");
    MUTATE(qcow2_st32(img + 36, 0), 0, "L1 table is too small");
    MUTATE(qcow2_st64(img + 24, 1ull << 40), 0, "L1 table is too small");
    MUTATE(qcow2_st64(img + 24, ~0ull), 0, "Image is too big");
    MUTATE(qcow2_st32(img + 56, 0), 0, "Image does not contain a reference count table");
    MUTATE(qcow2_st32(img + 56, 1u << 20), 0, "Reference count table too large");
    MUTATE(qcow2_st64(img + 48, 77), 0, "Reference count table offset invalid");
    MUTATE(qcow2_st32(img + 60, 100000), 0, "Snapshot table too large");
    MUTATE(qcow2_st32(img + 32, 1), 0, "AES-CBC encrypted qcow2 images is no longer supported");
    /* bit 1 and an unknown bit: named from the feature table, and by number. */
    MUTATE(qcow2_st64(img + 72, (1ull << 2) | (1ull << 40)), 0,
           "Unsupported qcow2 feature(s): external data file, Unknown incompatible feature: "
           "10000000000");
    MUTATE(qcow2_st64(img + 72, 1ull << 1), BDRV_O_RDWR,
           "qcow2: Image is corrupt; cannot be opened read/write");
    MUTATE(img[104] = 1, 0, "Compression type incompatible feature bit must be set");
    MUTATE(img[104] = 9, 0, "unknown compression type: 9");
    MUTATE(qcow2_st32(img + 116, 100000), 0, "Header extension too large");
    MUTATE(memset(img, 0, 4), 0, "Image is not in qcow2 format");
    /* Truncated to part of the header: read as zero-padded, as QEMU does. */
    memcpy(img, good, len);
    expect_open_error(img, 50, 0, "qcow2 header too short");
    expect_open_error(img, 0, 0, "Image is not in qcow2 format");
#undef MUTATE
}

/* A corrupt image opens read-only; bad L2 pointers fail reads with -EIO. */
static void test_bad_l2(void)
{
    g_autofree char *p = path("l2.qcow2");
    g_autoptr(GError) err = NULL;
    uint8_t buf[512];
    struct bdrv *bs;
    int fd;

    if (!have_qemu_img()) {
        return;
    }
    run("qemu-img create -f qcow2 %s 1M", p);
    run("qemu-io -f qcow2 -c 'write -P 1 0 64k' %s", p);
    /* L1 at cluster 3; point entry 0 at an unaligned L2 offset. */
    fd = open(p, O_RDWR);
    g_assert_cmpint(fd, >=, 0);
    qcow2_st64(buf, 0x8000000000012345ull);
    g_assert_cmpint(pwrite(fd, buf, 8, 3 * 65536), ==, 8);
    close(fd);
    bs = open_img("l2.qcow2", 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, -EIO);
    bdrv_unref(bs);

    /* Read/write: the corrupt bit is set, writes stop, and the image can no
     * longer be opened read/write (qemu-img check -r all clears it). */
    bs = open_img("l2.qcow2", BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, -EIO);
    g_assert_cmpint(bdrv_pwrite(bs, 70000, buf, 512), ==, -EIO);
    bdrv_unref(bs);
    bs = open_img("l2.qcow2", BDRV_O_RDWR, &err);
    g_assert_null(bs);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, "qcow2: Image is corrupt; cannot be opened read/write");
    g_clear_error(&err);
    {
        g_autofree char *out = NULL;
        g_autofree char *cmd = g_strdup_printf("qemu-img info --output=json %s", p);

        g_assert_true(g_spawn_command_line_sync(cmd, &out, NULL, NULL, NULL));
        g_assert_nonnull(strstr(out, "\"corrupt\": true"));
    }
}

/*
 * Random damage to the metadata of a small image (header, refcount table and
 * block, L1 and L2 tables): open may fail, reads and writes may fail, but
 * nothing crashes or hangs.  Built with sanitizers this also catches stray
 * accesses.
 */
static void test_damage(void)
{
    g_autofree char *p = path("dmg.qcow2"), *good = NULL;
    g_autofree uint8_t *buf = g_malloc(256 << 10);
    GRand *r = g_rand_new_with_seed(g_test_rand_int());
    gsize len;

    if (!have_qemu_img()) {
        g_rand_free(r);
        return;
    }
    run("qemu-img create -f qcow2 -o cluster_size=4096 %s 256k", p);
    run("qemu-io -f qcow2 -c 'write -P 7 0 100k' -c 'write -z 120k 8k' %s", p);
    g_assert_true(g_file_get_contents(p, &good, &len, NULL));
    int iters = g_getenv("QCOW2_DAMAGE_ITERS") ? atoi(g_getenv("QCOW2_DAMAGE_ITERS")) : 300;

    for (int iter = 0; iter < iters; iter++) {
        g_autofree uint8_t *img = g_memdup2(good, len);
        g_autoptr(GError) err = NULL;
        struct bdrv *bs;
        int hits = g_rand_int_range(r, 1, 6);

        for (int h = 0; h < hits; h++) {
            /* Metadata lives in the first 5 clusters; the L2 table after data. */
            size_t at = g_rand_boolean(r) ? g_rand_int_range(r, 0, 5 * 4096)
                                          : g_rand_int_range(r, 0, (gint32)len);

            img[at] = (uint8_t)g_rand_int(r);
        }
        {
            int fd = open(p, O_WRONLY | O_TRUNC);

            g_assert_cmpint(fd, >=, 0);
            g_assert_cmpint(write(fd, img, len), ==, (ssize_t)len);
            close(fd);
        }
        bs = bdrv_open(p, "qcow2", NULL, BDRV_O_RDWR, &err);
        if (!bs) {
            g_assert_nonnull(err);
            continue;
        }
        if (bdrv_length(bs) <= (256 << 10)) {
            bdrv_pread(bs, 0, buf, bdrv_length(bs));
            bdrv_pwrite(bs, 8192, buf, 4096);
            bdrv_discard(bs, 0, 16384);
        }
        bdrv_unref(bs);
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    g_assert_nonnull(bdrv_qcow2.name); /* links the driver in */
    tmpdir = g_dir_make_tmp("test-qcow2-XXXXXX", NULL);
    make_pattern();
    g_test_add_func("/qcow2/read/default", test_default);
    g_test_add_func("/qcow2/read/v2", test_v2);
    g_test_add_func("/qcow2/read/cluster-512", test_cluster_512);
    g_test_add_func("/qcow2/read/cluster-2m", test_cluster_2m);
    g_test_add_func("/qcow2/read/refcount-1", test_refcount_1);
    g_test_add_func("/qcow2/read/refcount-64", test_refcount_64);
    g_test_add_func("/qcow2/read/extended-l2", test_extended_l2);
    g_test_add_func("/qcow2/read/compressed-zlib", test_zlib);
    g_test_add_func("/qcow2/read/compressed-zstd", test_zstd);
    g_test_add_func("/qcow2/read/compressed-4k", test_zlib_4k);
    g_test_add_func("/qcow2/read/backing-zero", test_backing_and_zero);
    g_test_add_func("/qcow2/read/subclusters", test_subclusters);
    g_test_add_func("/qcow2/open/malformed", test_malformed);
    g_test_add_func("/qcow2/open/bad-l2", test_bad_l2);
    g_test_add_func("/qcow2/open/damage", test_damage);
    ret = g_test_run();
    tmpdir_remove(tmpdir);
    g_free(pattern);
    return ret;
}
