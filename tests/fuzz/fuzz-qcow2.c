/*
 * Fuzz target: a qcow2 image file, through the block layer's open, read,
 * block-status, snapshot list, info and check paths (block/qcow2*.c).
 *
 * The input is the image, stored compactly: its 512-byte chunk i goes to
 * file offset i * cluster_size (cluster_bits from the header when it is a
 * valid 9..21, else 512), the rest of each cluster reads as zero.  So 4 KiB
 * of input describe images with 512 B to 2 MiB clusters: the header, the L1,
 * refcount and L2 tables and the data all start on a cluster.  Seeds are
 * small valid images built here: v3 and v2, 1-bit..64-bit refcounts,
 * zero and compressed (zlib and zstd) clusters, extended L2 entries, an
 * internal snapshot, a raw backing file and a backing that loops.
 *
 * Each input is opened three times (qcow2 spec: nothing read from the file is
 * trusted): without its backing (BDRV_O_NO_BACKING), with it when the name is
 * a plain file name in the private directory (b.img is a raw backing, the
 * image's own name a loop), and as check does (BDRV_O_CHECK, check -r none).
 * Reads are bounded: the whole disk up to 1 MiB, else the first and last
 * 64 KiB and 64 KiB at the start of each of up to 512 block-status extents
 * (4 MiB in all).  A block status that breaks block.h's contract (zero or
 * overlong *pnum) aborts, as a crash does.
 *
 * The image's error messages go to /dev/null (HYVM_FUZZ_VERBOSE=1 keeps
 * them); sanitizer reports still reach the original stderr.
 *
 * Threads: one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "tests/fuzz/fuzz.h"

const char fuzz_target_name[] = "qcow2";

/* Big-endian fields for designated initializers (the qcow2 spec's byte order). */
#define B16(o, v) [(o)] = (uint8_t)((v) >> 8), [(o) + 1] = (uint8_t)(v)
#define B32(o, v) B16((o), (uint32_t)(v) >> 16), B16((o) + 2, (uint32_t)(v))
#define B64(o, v) B32((o), (uint64_t)(v) >> 32), B32((o) + 4, (uint64_t)(v))
#define CH(i) ((i) * 512)          /* input offset of chunk i */
#define COPIED (1ULL << 63)        /* L1/L2 entry: refcount is exactly one */
#define COMPRESSED (1ULL << 62)    /* L2 entry: compressed cluster descriptor */

/* The header fields every seed sets (qcow2 spec, "Header"). */
#define HEADER(version, cbits, size, l1_size, l1_off, rt_off) \
    [0] = 'Q', [1] = 'F', [2] = 'I', [3] = 0xfb, B32(4, version), B32(20, cbits), \
    B64(24, size), B32(36, l1_size), B64(40, l1_off), B64(48, rt_off), B32(56, 1)

/* 512 bytes of ("hyvm" x 16, 64 zero bytes) x 4 as raw deflate, window bits 12. */
#define DEFLATED_512 \
    0xcb, 0xa8, 0x2c, 0xcb, 0xcd, 0xa0, 0x00, 0x33, 0x50, 0x08, 0x32, 0x46, 0xed, 0x1f, \
    0x50, 0xfb, 0x01
/* 64 KiB of the same pattern as a zstd frame. */
#define ZSTD_64K \
    0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0xff, 0xad, 0x00, 0x00, 0x28, 0x68, 0x79, 0x76, \
    0x6d, 0x00, 0x04, 0x00, 0x41, 0xff, 0x81, 0xe9, 0x90, 0x3f, 0x48, 0x40, 0x9c, 0x74, \
    0xb3, 0xe4, 0x88

/*
 * 512-byte clusters, 4 KiB disk: L1 at cluster 1, refcount table at 2, its block
 * at 3 (16-bit), L2 at 4: guest cluster 0 data (cluster 5), 1 a zero cluster, 2
 * compressed (cluster 6), the rest unallocated.
 */
#define SMALL_TABLES(zero_entry) \
    B64(CH(1), COPIED | CH(4)), \
    B64(CH(2), CH(3)), \
    B16(CH(3) + 0, 1), B16(CH(3) + 2, 1), B16(CH(3) + 4, 1), B16(CH(3) + 6, 1), \
    B16(CH(3) + 8, 1), B16(CH(3) + 10, 1), B16(CH(3) + 12, 1), \
    B64(CH(4), COPIED | CH(5)), B64(CH(4) + 8, zero_entry), \
    B64(CH(4) + 16, COMPRESSED | CH(6)), \
    [CH(5)] = 'h', [CH(5) + 1] = 'y', [CH(5) + 2] = 'v', [CH(5) + 3] = 'm', \
    [CH(5) + 511] = 0x42, \
    [CH(6)] = DEFLATED_512

static const uint8_t seed_v3[7 * 512] = {
    HEADER(3, 9, 4096, 1, CH(1), CH(2)),
    B32(96, 4), B32(100, 104),
    SMALL_TABLES(1),
};

/* v2 over the raw backing "b.img" (format in the 0xe2792aca extension); guest
 * cluster 1 is unallocated and reads from it. */
static const uint8_t seed_v2_backing[7 * 512] = {
    HEADER(2, 9, 4096, 1, CH(1), CH(2)),
    B64(8, 0x100), B32(16, 5),
    B32(72, 0xe2792aca), B32(76, 3), [80] = 'r', [81] = 'a', [82] = 'w',
    [0x100] = 'b', [0x101] = '.', [0x102] = 'i', [0x103] = 'm', [0x104] = 'g',
    SMALL_TABLES(0),
};

/* v3 whose backing is itself: the chain loops. */
static const uint8_t seed_v3_loop[7 * 512] = {
    HEADER(3, 9, 4096, 1, CH(1), CH(2)),
    B64(8, 0x100), B32(16, 9),
    B32(96, 4), B32(100, 104),
    B32(104, 0xe2792aca), B32(108, 5), [112] = 'q', [113] = 'c', [114] = 'o', [115] = 'w',
    [116] = '2',
    [0x100] = 'i', [0x101] = 'm', [0x102] = 'g', [0x103] = '.', [0x104] = 'q',
    [0x105] = 'c', [0x106] = 'o', [0x107] = 'w', [0x108] = '2',
    SMALL_TABLES(1),
};

/*
 * 64 KiB clusters with extended L2 entries and zstd (incompatible bits 3 and 4,
 * header_length 112, compression_type 1); 1 MiB disk.  Guest cluster 0 is all
 * allocated (cluster 5), 1 all zero subclusters, 2 half allocated and a quarter
 * zero (cluster 7), 3 compressed (cluster 6).  Refcounts for clusters 0..7.
 */
static const uint8_t seed_extl2_zstd[8 * 512] = {
    HEADER(3, 16, 1 << 20, 1, 0x10000, 0x20000),
    B64(72, 0x18), B32(96, 4), B32(100, 112), [104] = 1,
    B64(CH(1), COPIED | 0x40000),
    B64(CH(2), 0x30000),
    B16(CH(3) + 0, 1), B16(CH(3) + 2, 1), B16(CH(3) + 4, 1), B16(CH(3) + 6, 1),
    B16(CH(3) + 8, 1), B16(CH(3) + 10, 1), B16(CH(3) + 12, 1), B16(CH(3) + 14, 1),
    B64(CH(4) + 0, COPIED | 0x50000), B64(CH(4) + 8, 0x00000000ffffffffULL),
    B64(CH(4) + 16, 0), B64(CH(4) + 24, 0xffffffff00000000ULL),
    B64(CH(4) + 32, COPIED | 0x70000), B64(CH(4) + 40, 0xff0000000000ffffULL),
    B64(CH(4) + 48, COMPRESSED | 0x60000), B64(CH(4) + 56, 0),
    [CH(5)] = 'd', [CH(5) + 1] = 'a', [CH(5) + 2] = 't', [CH(5) + 3] = 'a',
    [CH(6)] = ZSTD_64K,
    [CH(7)] = 0x77, [CH(7) + 100] = 0x78,
};

/*
 * 512-byte clusters, 64-bit refcounts (refcount_order 6) and one internal
 * snapshot "s1" (table at cluster 7, its L1 at 6) sharing the L2 table and the
 * data cluster, whose refcounts are therefore 2 and whose entries lack COPIED.
 */
static const uint8_t seed_snapshot[8 * 512] = {
    HEADER(3, 9, 4096, 1, CH(1), CH(2)),
    B32(60, 1), B64(64, CH(7)),
    B32(96, 6), B32(100, 104),
    B64(CH(1), CH(4)),
    B64(CH(2), CH(3)),
    B64(CH(3) + 0, 1), B64(CH(3) + 8, 1), B64(CH(3) + 16, 1), B64(CH(3) + 24, 1),
    B64(CH(3) + 32, 2), B64(CH(3) + 40, 2), B64(CH(3) + 48, 1), B64(CH(3) + 56, 1),
    B64(CH(4), CH(5)), B64(CH(4) + 8, 1),
    [CH(5)] = 's', [CH(5) + 1] = 'n', [CH(5) + 2] = 'a', [CH(5) + 3] = 'p',
    B64(CH(6), CH(4)),
    /* The snapshot table entry (qcow2 spec, "Snapshot table"). */
    B64(CH(7), CH(6)), B32(CH(7) + 8, 1), B16(CH(7) + 12, 1), B16(CH(7) + 14, 2),
    B32(CH(7) + 16, 0x65000000), B32(CH(7) + 20, 0), B64(CH(7) + 24, 0),
    B32(CH(7) + 32, 0), B32(CH(7) + 36, 16),
    B64(CH(7) + 40, 0), B64(CH(7) + 48, 4096),
    [CH(7) + 56] = '1', [CH(7) + 57] = 's', [CH(7) + 58] = '1',
};

/* 1-bit refcounts (refcount_order 0), lazy refcounts with the dirty bit set. */
static const uint8_t seed_dirty_rc1[7 * 512] = {
    HEADER(3, 9, 4096, 1, CH(1), CH(2)),
    B64(72, 1), B64(80, 1), B32(96, 0), B32(100, 104),
    B64(CH(1), COPIED | CH(4)),
    B64(CH(2), CH(3)),
    [CH(3)] = 0x7f,  /* clusters 0..6: bit i of byte 0 (LSB first) */
    B64(CH(4), COPIED | CH(5)), B64(CH(4) + 8, 1),
    B64(CH(4) + 16, COMPRESSED | CH(6)),
    [CH(5)] = 0xee,
    [CH(6)] = DEFLATED_512,
};

#define SEED(a) { (const char *)(a), sizeof(a) }

const struct fuzz_seed fuzz_seeds[] = {
    SEED(seed_v3),
    SEED(seed_v2_backing),
    SEED(seed_v3_loop),
    SEED(seed_extl2_zstd),
    SEED(seed_snapshot),
    SEED(seed_dirty_rc1),
    { NULL },
};

#define READ_ALL_LIMIT (1u << 20)
#define READ_BUDGET (4u << 20)
#define READ_CHUNK 65536u
#define MAX_EXTENTS 512

static char *fuzz_dir;
static char *fuzz_image;   /* "img.qcow2" in fuzz_dir, rewritten for every input */
static int fuzz_stderr = -1;

extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static void fuzz_cleanup(void)
{
    char *b = g_build_filename(fuzz_dir, "b.img", NULL);

    g_unlink(b);
    g_unlink(fuzz_image);
    g_rmdir(fuzz_dir);
    g_free(b);
}

static void fuzz_init(void)
{
    uint8_t backing[4096];
    char *b;
    int devnull;

    /* tmpfs when there is one: every input is a new file, and closing a node may sync. */
    fuzz_dir = g_strdup("/dev/shm/hyvm-fuzz-qcow2-XXXXXX");
    if (!g_mkdtemp(fuzz_dir)) {
        g_free(fuzz_dir);
        fuzz_dir = g_dir_make_tmp("hyvm-fuzz-qcow2-XXXXXX", NULL);
    }
    g_assert_nonnull(fuzz_dir);
    fuzz_image = g_build_filename(fuzz_dir, "img.qcow2", NULL);
    b = g_build_filename(fuzz_dir, "b.img", NULL);
    for (size_t i = 0; i < sizeof(backing); i++) {
        backing[i] = (uint8_t)(i * 7 + 1);
    }
    g_assert_true(g_file_set_contents(b, (const char *)backing, sizeof(backing), NULL));
    g_free(b);
    atexit(fuzz_cleanup);
    fuzz_stderr = dup(STDERR_FILENO);
    if (__sanitizer_set_report_fd) {
        __sanitizer_set_report_fd((void *)(intptr_t)fuzz_stderr);
    }
    if (!g_getenv("HYVM_FUZZ_VERBOSE")) {
        devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        close(devnull);
    }
}

static G_NORETURN void fuzz_contract(const char *what, uint64_t off, uint64_t pnum,
                                     uint64_t len)
{
    dprintf(fuzz_stderr, "fuzz-qcow2: block_status at %#" G_GINT64_MODIFIER "x of %#"
            G_GINT64_MODIFIER "x: %s (pnum %#" G_GINT64_MODIFIER "x)\n", off, len, what, pnum);
    abort();
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void fuzz_write_image(const uint8_t *data, size_t size)
{
    uint32_t bits = size >= 24 ? be32_at(data + 20) : 0;
    uint64_t spacing = bits >= 9 && bits <= 21 ? 1ull << bits : 512;
    int fd = open(fuzz_image, O_RDWR | O_CREAT | O_TRUNC, 0600);

    g_assert_cmpint(fd, >=, 0);
    for (size_t i = 0; i * 512 < size; i++) {
        size_t n = MIN(512, size - i * 512);

        g_assert_cmpint(pwrite(fd, data + i * 512, n, (off_t)(i * spacing)), ==, (ssize_t)n);
    }
    close(fd);
}

static void fuzz_read_range(struct bdrv *bs, uint8_t *buf, uint64_t off, uint64_t len,
                            uint64_t *budget)
{
    while (len && *budget) {
        uint64_t n = MIN(MIN(len, READ_CHUNK), *budget);

        bdrv_pread(bs, off, buf, n);
        off += n;
        len -= n;
        *budget -= n;
    }
}

static void fuzz_read(struct bdrv *bs)
{
    int64_t len = bdrv_length(bs);
    uint64_t budget = READ_BUDGET;
    uint8_t *buf;
    uint64_t off = 0;

    if (len <= 0) {
        return;
    }
    buf = g_malloc(READ_CHUNK);
    if ((uint64_t)len <= READ_ALL_LIMIT) {
        fuzz_read_range(bs, buf, 0, len, &budget);
    } else {
        fuzz_read_range(bs, buf, 0, READ_CHUNK, &budget);
        fuzz_read_range(bs, buf, len - READ_CHUNK, READ_CHUNK, &budget);
    }
    for (int n = 0; off < (uint64_t)len && n < MAX_EXTENTS; n++) {
        uint64_t pnum = 0, map = 0;
        struct bdrv *file = NULL;
        int ret = bdrv_block_status(bs, off, len - off, &pnum, &map, &file);

        if (ret < 0) {
            break;
        }
        if (pnum == 0) {
            fuzz_contract("no progress", off, pnum, len);
        }
        if (pnum > (uint64_t)len - off) {
            fuzz_contract("past the end", off, pnum, len);
        }
        if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_COMPRESSED)) {
            fuzz_read_range(bs, buf, off, MIN(pnum, READ_CHUNK), &budget);
        }
        off += pnum;
    }
    g_free(buf);
}

static void fuzz_metadata(struct bdrv *bs)
{
    struct bdrv_snapshot *list = NULL;
    JsonBuilder *b;

    if (bs->drv->snapshot_list) {
        bs->drv->snapshot_list(bs, &list);
        g_free(list);
    }
    if (bs->drv->info_specific) {
        b = json_builder_new();
        json_builder_begin_object(b);
        bs->drv->info_specific(bs, b);
        json_builder_end_object(b);
        g_object_unref(b);
    }
    if (bs->drv->cluster_size) {
        bs->drv->cluster_size(bs);
    }
    if (bs->drv->is_dirty) {
        bs->drv->is_dirty(bs);
    }
}

/* A backing is opened only by a plain name in the private directory. */
static bool fuzz_backing_safe(const uint8_t *data, size_t size)
{
    uint64_t off;
    uint32_t len;

    if (size < 20) {
        return false;
    }
    off = (uint64_t)be32_at(data + 8) << 32 | be32_at(data + 12);
    len = be32_at(data + 16);
    if (len == 0 || len > 64 || off >= 512 || off + len > MIN(size, 512)) {
        return false;       /* none (the first open did it all), or not a plain name */
    }
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = data[off + i];

        if (!g_ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return !(len <= 2 && data[off] == '.');
}

static void fuzz_open(int flags, bool check)
{
    GError *err = NULL;
    struct bdrv *bs = bdrv_open(fuzz_image, "qcow2", NULL, flags | BDRV_O_NO_LOCK, &err);

    g_clear_error(&err);
    if (!bs) {
        return;
    }
    if (check) {
        struct bdrv_check_result res = { 0 };

        if (bs->drv->check) {
            bs->drv->check(bs, &res, 0);
        }
    } else {
        fuzz_metadata(bs);
        fuzz_read(bs);
    }
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_dir) {
        fuzz_init();
    }
    fuzz_write_image(data, size);
    fuzz_open(BDRV_O_NO_BACKING, false);
    if (fuzz_backing_safe(data, size)) {
        fuzz_open(0, false);
    }
    fuzz_open(BDRV_O_NO_BACKING | BDRV_O_CHECK, true);
    return 0;
}
