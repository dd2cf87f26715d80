/*
 * hyvm-img compare: qemu-img 7.2's compare.  Walks both images by block
 * status through their backing chains: ranges that read zeroes in both are
 * skipped, ranges allocated in both are read and compared, and a range
 * allocated in one only must read zeroes there.  With -s (strict) a
 * difference in allocation or a size difference is a mismatch too.
 *
 * Exit codes as qemu-img's: 0 identical, 1 different, 2 an image could not
 * be opened, 3 block status failed, 4 a read failed.  A mismatch is reported
 * at its first differing 512-byte sector, as qemu-img does.
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

#define CMP_BUF_SIZE (2u << 20)

enum { CMP_SAME = 0, CMP_DIFFER = 1, CMP_OPEN_ERR = 2, CMP_STATUS_ERR = 3, CMP_READ_ERR = 4 };

struct cmp_img {
    const char *filename;
    struct bdrv *bs;
    int64_t len;
    uint8_t *buf;
};

/*
 * Status through the chain (QEMU's bdrv_block_status_above with no base):
 * the flags of the first node that answers for [off, off + bytes), or ZERO
 * alone when none does.  Only DATA, ZERO and ALLOCATED are kept: what the
 * strict mode compares.
 */
static int cmp_status(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum)
{
    const int keep = BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
    uint64_t want = bytes;
    struct bdrv *n = bs;

    for (;;) {
        uint64_t got = 0;
        int64_t blen;
        int st = bdrv_block_status(n, off, want, &got, NULL, NULL);

        if (st < 0) {
            return st;
        }
        want = MIN(want, MAX(got, 1));
        if ((st & BDRV_BLOCK_ALLOCATED) || !n->backing) {
            *pnum = want;
            return st & keep;
        }
        blen = bdrv_length(n->backing);
        if (blen < 0 || off >= (uint64_t)blen) {
            *pnum = want;
            return BDRV_BLOCK_ZERO;
        }
        want = MIN(want, (uint64_t)blen - off);
        n = n->backing;
    }
}

/* The length of the leading part of buf, in whole sectors, that is zero
 * (or all of len). */
static uint64_t cmp_zero_prefix(const uint8_t *buf, uint64_t len)
{
    uint64_t pos = 0;

    while (pos < len) {
        uint64_t n = MIN((uint64_t)BDRV_SECTOR_SIZE, len - pos);

        /* Compare with itself one byte on: vectorized by the C library. */
        if (buf[pos] || (n > 1 && memcmp(buf + pos, buf + pos + 1, n - 1))) {
            return pos;
        }
        pos += n;
    }
    return len;
}

/* The same for two buffers being equal. */
static uint64_t cmp_equal_prefix(const uint8_t *a, const uint8_t *b, uint64_t len)
{
    uint64_t pos = 0;

    while (pos < len) {
        uint64_t n = MIN((uint64_t)BDRV_SECTOR_SIZE, len - pos);

        if (memcmp(a + pos, b + pos, n)) {
            return pos;
        }
        pos += n;
    }
    return len;
}

static int cmp_read(struct cmp_img *im, uint64_t off, uint64_t len)
{
    int ret = bdrv_pread(im->bs, off, im->buf, len);

    if (ret < 0) {
        img_error("Error while reading offset %" PRIu64 " of %s: %s", off, im->filename,
                  g_strerror(-ret));
        return CMP_READ_ERR;
    }
    return CMP_SAME;
}

/* [off, off + len) of im must read zeroes. */
static int cmp_check_empty(struct cmp_img *im, uint64_t off, uint64_t len, bool quiet)
{
    uint64_t z;
    int ret = cmp_read(im, off, len);

    if (ret) {
        return ret;
    }
    z = cmp_zero_prefix(im->buf, len);
    if (z != len) {
        img_qprintf(quiet, "Content mismatch at offset %" PRIu64 "!\n", off + z);
        return CMP_DIFFER;
    }
    return CMP_SAME;
}

static int cmp_status_failed(const char *filename, int ret)
{
    img_error("Sector allocation test failed for %s", filename);
    (void)ret;
    return CMP_STATUS_ERR;
}

/* One step over the common length; *chunk gets the bytes handled. */
static int cmp_step(struct cmp_img *a, struct cmp_img *b, uint64_t off, uint64_t end,
                    bool strict, bool quiet, uint64_t *chunk)
{
    uint64_t n1, n2;
    int s1 = cmp_status(a->bs, off, end - off, &n1);
    int s2;
    bool alloc1, alloc2;

    if (s1 < 0) {
        return cmp_status_failed(a->filename, s1);
    }
    s2 = cmp_status(b->bs, off, end - off, &n2);
    if (s2 < 0) {
        return cmp_status_failed(b->filename, s2);
    }
    *chunk = MIN(n1, n2);
    if (strict && s1 != s2) {
        img_qprintf(quiet, "Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
        return CMP_DIFFER;
    }
    if ((s1 & BDRV_BLOCK_ZERO) && (s2 & BDRV_BLOCK_ZERO)) {
        return CMP_SAME;
    }
    alloc1 = s1 & BDRV_BLOCK_ALLOCATED;
    alloc2 = s2 & BDRV_BLOCK_ALLOCATED;
    *chunk = MIN(*chunk, CMP_BUF_SIZE);
    if (alloc1 == alloc2) {
        uint64_t eq;
        int ret;

        if (!alloc1) {
            return CMP_SAME;
        }
        ret = cmp_read(a, off, *chunk);
        ret = ret ? ret : cmp_read(b, off, *chunk);
        if (ret) {
            return ret;
        }
        eq = cmp_equal_prefix(a->buf, b->buf, *chunk);
        if (eq != *chunk) {
            img_qprintf(quiet, "Content mismatch at offset %" PRIu64 "!\n", off + eq);
            return CMP_DIFFER;
        }
        return CMP_SAME;
    }
    return cmp_check_empty(alloc1 ? a : b, off, *chunk, quiet);
}

/* What lies past the shorter image's end in the longer one must be zero. */
static int cmp_overhang(struct cmp_img *over, uint64_t from, uint64_t total, bool quiet)
{
    for (uint64_t off = from; off < total;) {
        uint64_t chunk;
        int st = cmp_status(over->bs, off, total - off, &chunk);
        int ret;

        if (st < 0) {
            return cmp_status_failed(over->filename, st);
        }
        if ((st & BDRV_BLOCK_ALLOCATED) && !(st & BDRV_BLOCK_ZERO)) {
            chunk = MIN(chunk, CMP_BUF_SIZE);
            ret = cmp_check_empty(over, off, chunk, quiet);
            if (ret) {
                return ret;
            }
        }
        off += chunk;
        img_progress_print((float)chunk / (float)total * 100, 100);
    }
    return CMP_SAME;
}

static int cmp_images(struct cmp_img *a, struct cmp_img *b, bool strict, bool quiet)
{
    uint64_t common = (uint64_t)MIN(a->len, b->len);
    uint64_t total = (uint64_t)MAX(a->len, b->len);
    int ret;

    if (strict && a->len != b->len) {
        img_qprintf(quiet, "Strict mode: Image size mismatch!\n");
        return CMP_DIFFER;
    }
    for (uint64_t off = 0; off < common;) {
        uint64_t chunk = 0;

        ret = cmp_step(a, b, off, common, strict, quiet, &chunk);
        if (ret) {
            return ret;
        }
        off += chunk;
        img_progress_print((float)chunk / (float)total * 100, 100);
    }
    if (a->len != b->len) {
        img_qprintf(quiet, "Warning: Image size mismatch!\n");
        ret = cmp_overhang(a->len > b->len ? a : b, common, total, quiet);
        if (ret) {
            return ret;
        }
    }
    img_qprintf(quiet, "Images are identical.\n");
    return CMP_SAME;
}

static int cmp_open(struct cmp_img *im, const char *filename, const char *fmt, int flags,
                    bool force_share)
{
    im->filename = filename;
    im->bs = img_open(filename, fmt, flags, force_share);
    if (!im->bs) {
        return CMP_OPEN_ERR;
    }
    im->len = bdrv_length(im->bs);
    if (im->len < 0) {
        img_error("Can't get size of %s: %s", filename, g_strerror((int)-im->len));
        return CMP_OPEN_ERR;
    }
    if (posix_memalign((void **)&im->buf, 4096, CMP_BUF_SIZE)) {
        im->buf = NULL;
        img_error("Out of memory");
        return CMP_OPEN_ERR;
    }
    return CMP_SAME;
}

int img_compare(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt1 = NULL, *fmt2 = NULL, *cache = "writeback";
    bool progress = false, quiet = false, strict = false, force_share = false, wt;
    struct cmp_img a = { 0 }, b = { 0 };
    int c, ret, flags = 0;

    while ((c = img_getopt(argc, argv, ":hf:F:T:pqsU", long_opts, CMP_OPEN_ERR)) != -1) {
        switch (c) {
        case 'f':
            fmt1 = optarg;
            break;
        case 'F':
            fmt2 = optarg;
            break;
        case 'T':
            cache = optarg;
            break;
        case 'p':
            progress = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 's':
            strict = true;
            break;
        case 'U':
            force_share = true;
            break;
        }
    }
    /* -q wins over -p, as in qemu-img. */
    if (quiet) {
        progress = false;
    }
    if (optind != argc - 2) {
        img_error_exit("Expecting two image file names");
    }
    if (img_parse_cache(cache, &flags, &wt) < 0) {
        img_error("Invalid source cache option: %s", cache);
        return CMP_OPEN_ERR;
    }
    img_progress_init(progress, 2.0f);
    img_progress_print(0, 100);
    ret = cmp_open(&a, argv[optind], fmt1, flags, force_share);
    if (!ret) {
        ret = cmp_open(&b, argv[optind + 1], fmt2, flags, force_share);
    }
    if (!ret) {
        ret = cmp_images(&a, &b, strict, quiet);
    }
    img_progress_end();
    free(a.buf);
    free(b.buf);
    bdrv_unref(a.bs);
    bdrv_unref(b.bs);
    return ret;
}
