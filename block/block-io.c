/*
 * The generic I/O entry points on a node: argument checks, the defaults for
 * drivers that leave a callback out, and bounce buffers for requests a node
 * opened with O_DIRECT cannot take as they are (offset, length or memory not
 * on its request_alignment).
 *
 * Threads: any; see block.h.  A bounced write is read-modify-write of the
 * aligned blocks around it, so two unaligned writes into one block at once
 * from two threads would race: the callers here (format drivers' metadata
 * writes, hyvm-img) never do that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"

static bool bdrv_iov_aligned(uint64_t off, uint64_t bytes, const struct iovec *iov, int niov,
                             uint32_t align)
{
    if (align <= 1) {
        return true;
    }
    if (off % align || bytes % align) {
        return false;
    }
    for (int i = 0; i < niov; i++) {
        if ((uintptr_t)iov[i].iov_base % align || iov[i].iov_len % align) {
            return false;
        }
    }
    return true;
}

static void *bdrv_bounce_alloc(size_t len, uint32_t align)
{
    void *p = NULL;

    if (posix_memalign(&p, MAX(align, sizeof(void *)), len ? len : align)) {
        return NULL;
    }
    return p;
}

/* The aligned blocks around [off, off+bytes) and a buffer for them. */
static uint8_t *bdrv_bounce_window(uint64_t off, uint64_t bytes, uint32_t align,
                                   uint64_t *start, uint64_t *len)
{
    *start = off / align * align;
    *len = (off + bytes + align - 1) / align * align - *start;
    return bdrv_bounce_alloc(*len, align);
}

static void iov_to_buf(const struct iovec *iov, int niov, uint8_t *buf, uint64_t bytes)
{
    for (int i = 0; i < niov && bytes; i++) {
        size_t n = MIN(iov[i].iov_len, bytes);

        memcpy(buf, iov[i].iov_base, n);
        buf += n;
        bytes -= n;
    }
}

static void buf_to_iov(const uint8_t *buf, const struct iovec *iov, int niov, uint64_t bytes)
{
    for (int i = 0; i < niov && bytes; i++) {
        size_t n = MIN(iov[i].iov_len, bytes);

        memcpy(iov[i].iov_base, buf, n);
        buf += n;
        bytes -= n;
    }
}

static int bdrv_check_request(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (off > INT64_MAX || bytes > INT64_MAX - off) {
        return -EIO;
    }
    return 0;
}

int bdrv_preadv(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov)
{
    uint32_t align = bs->request_alignment;
    uint64_t start, len;
    uint8_t *bounce;
    struct iovec biov;
    int ret = bdrv_check_request(bs, off, bytes);

    if (ret < 0 || !bytes) {
        return ret;
    }
    if (!bs->drv->preadv) {
        return -ENOTSUP;
    }
    if (bdrv_iov_aligned(off, bytes, iov, niov, align)) {
        return bs->drv->preadv(bs, off, bytes, iov, niov);
    }
    bounce = bdrv_bounce_window(off, bytes, align, &start, &len);
    if (!bounce) {
        return -ENOMEM;
    }
    biov = (struct iovec){ bounce, len };
    ret = bs->drv->preadv(bs, start, len, &biov, 1);
    if (ret >= 0) {
        buf_to_iov(bounce + (off - start), iov, niov, bytes);
        ret = 0;
    }
    free(bounce);
    return ret;
}

int bdrv_pwritev(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov)
{
    uint32_t align = bs->request_alignment;
    uint64_t start, len;
    uint8_t *bounce;
    struct iovec biov;
    int ret = bdrv_check_request(bs, off, bytes);

    if (ret < 0 || !bytes) {
        return ret;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    if (!bs->drv->pwritev) {
        return -ENOTSUP;
    }
    if (bdrv_iov_aligned(off, bytes, iov, niov, align)) {
        return bs->drv->pwritev(bs, off, bytes, iov, niov);
    }
    bounce = bdrv_bounce_window(off, bytes, align, &start, &len);
    if (!bounce) {
        return -ENOMEM;
    }
    biov = (struct iovec){ bounce, len };
    /* Read the partial blocks at both ends, then lay the new bytes over. */
    ret = bs->drv->preadv(bs, start, len, &biov, 1);
    if (ret >= 0) {
        iov_to_buf(iov, niov, bounce + (off - start), bytes);
        biov = (struct iovec){ bounce, len };
        ret = bs->drv->pwritev(bs, start, len, &biov, 1);
    }
    free(bounce);
    return ret;
}

int bdrv_pread(struct bdrv *bs, uint64_t off, void *buf, uint64_t bytes)
{
    struct iovec iov = { buf, bytes };

    return bdrv_preadv(bs, off, bytes, &iov, 1);
}

int bdrv_pwrite(struct bdrv *bs, uint64_t off, const void *buf, uint64_t bytes)
{
    struct iovec iov = { (void *)buf, bytes };

    return bdrv_pwritev(bs, off, bytes, &iov, 1);
}

/* Zeroes by writing a zero buffer, in pieces of at most 1 MiB. */
static int bdrv_write_zero_buffers(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    uint64_t chunk = MIN(bytes, 1u << 20);
    uint32_t align = MAX(bs->request_alignment, 1);
    void *zero = bdrv_bounce_alloc((chunk + align - 1) / align * align, align);
    int ret = 0;

    if (!zero) {
        return -ENOMEM;
    }
    memset(zero, 0, (chunk + align - 1) / align * align);
    while (bytes && ret >= 0) {
        uint64_t n = MIN(bytes, chunk);

        ret = bdrv_pwrite(bs, off, zero, n);
        off += n;
        bytes -= n;
    }
    free(zero);
    return ret < 0 ? ret : 0;
}

int bdrv_pwrite_zeroes(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    int ret = bdrv_check_request(bs, off, bytes);

    if (ret < 0 || !bytes) {
        return ret;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    if (bs->drv->pwrite_zeroes) {
        ret = bs->drv->pwrite_zeroes(bs, off, bytes, flags);
        if (ret != -ENOTSUP) {
            return ret;
        }
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        return -ENOTSUP;
    }
    return bdrv_write_zero_buffers(bs, off, bytes);
}

int bdrv_pwrite_compressed(struct bdrv *bs, uint64_t off, uint64_t bytes, const void *buf)
{
    int ret = bdrv_check_request(bs, off, bytes);

    if (ret < 0) {
        return ret;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    if (!bs->drv->pwrite_compressed) {
        return -ENOTSUP;
    }
    return bs->drv->pwrite_compressed(bs, off, bytes, buf);
}

int bdrv_discard(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    int ret = bdrv_check_request(bs, off, bytes);

    if (ret < 0 || !bytes) {
        return ret;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    /* A discard is advice: a node that cannot is not an error. */
    if (!bs->drv->discard) {
        return 0;
    }
    ret = bs->drv->discard(bs, off, bytes);
    return ret == -ENOTSUP ? 0 : ret;
}

int bdrv_flush(struct bdrv *bs)
{
    int ret = 0;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->flush) {
        ret = bs->drv->flush(bs);
    } else if (bs->file) {
        ret = bdrv_flush(bs->file);
    }
    return ret;
}

int64_t bdrv_length(struct bdrv *bs)
{
    int64_t len;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    len = bs->drv->length(bs);
    /* QEMU counts every node in whole sectors: a file of 1000 bytes is a
     * 1024-byte disk whose tail reads zeroes, while a format's own size
     * (a qcow2 header's) loses its partial sector. */
    if (len > 0 && len % BDRV_SECTOR_SIZE) {
        len -= len % BDRV_SECTOR_SIZE;
        len += bs->drv->is_protocol ? BDRV_SECTOR_SIZE : 0;
    }
    return len;
}

int64_t bdrv_allocated_size(struct bdrv *bs)
{
    int64_t total = 0;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->allocated_size) {
        return bs->drv->allocated_size(bs);
    }
    /* A format node takes what its file takes. */
    if (bs->file) {
        total = bdrv_allocated_size(bs->file);
    }
    return total;
}

int bdrv_truncate(struct bdrv *bs, uint64_t size, bool shrink, const char *prealloc,
                  GError **errp)
{
    if (!bs->drv || !bs->drv->truncate) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Image format driver does not support resize");
        return -ENOTSUP;
    }
    if (bs->read_only) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_ACCES, "Image is read-only");
        return -EPERM;
    }
    return bs->drv->truncate(bs, size, shrink, prealloc, errp);
}

int bdrv_block_status(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum,
                      uint64_t *map, struct bdrv **file)
{
    int64_t len = bdrv_length(bs);
    struct bdrv *f = NULL;
    uint64_t m = 0;
    int ret;

    *pnum = 0;
    if (len < 0) {
        return (int)len;
    }
    if (off >= (uint64_t)len) {
        return 0;
    }
    bytes = MIN(bytes, (uint64_t)len - off);
    if (!bytes) {
        return 0;
    }
    if (!bs->drv->block_status) {
        /* Every byte is this node's own: a protocol's at the same offset, a
         * format's at the same offset of its file. */
        *pnum = bytes;
        if (map) {
            *map = off;
        }
        if (file) {
            *file = bs->file ? bs->file : bs;
        }
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
    }
    ret = bs->drv->block_status(bs, off, bytes, pnum, &m, &f);
    if (ret < 0) {
        return ret;
    }
    if (*pnum == 0 || *pnum > bytes) {
        /* A driver must make progress and stay in range; keep callers safe. */
        *pnum = bytes;
    }
    /* Data a format maps to its protocol file may sit in a hole there
     * (preallocated, never written): QEMU asks the file and reports those
     * bytes as zeroes too, so map and convert see them as such. */
    if ((ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ZERO)) ==
            (BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID) &&
        f && f != bs && f->drv->is_protocol) {
        uint64_t fnum = 0;
        int fret = bdrv_block_status(f, m, *pnum, &fnum, NULL, NULL);

        if (fret == 0 && fnum == 0) {
            ret |= BDRV_BLOCK_ZERO; /* wholly past the file's end */
        } else if (fret > 0 && (fret & BDRV_BLOCK_ZERO)) {
            *pnum = MIN(*pnum, fnum);
            ret |= BDRV_BLOCK_ZERO;
        }
    }
    /* As QEMU: what reads data or zeroes from this node is allocated here;
     * the rest of a node without a backing (or past its backing's end)
     * reads zeroes without being allocated. */
    if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
        ret |= BDRV_BLOCK_ALLOCATED;
    } else if (!bs->drv->is_protocol &&
               (!bs->backing || (int64_t)off >= bdrv_length(bs->backing))) {
        ret |= BDRV_BLOCK_ZERO;
    }
    if (map) {
        *map = m;
    }
    if (file) {
        *file = f;
    }
    return ret;
}

int bdrv_is_allocated_above(struct bdrv *top, struct bdrv *base, uint64_t off,
                            uint64_t bytes, uint64_t *pnum)
{
    uint64_t want = bytes;

    *pnum = 0;
    for (struct bdrv *n = top; n && n != base; n = n->backing) {
        uint64_t got = 0;
        int64_t len = bdrv_length(n);
        int ret;

        if (len < 0) {
            return (int)len;
        }
        if (off >= (uint64_t)len) {
            /* Past a shorter image's end: reads are zeroes from this node
             * (QEMU counts a shorter backing as unallocated below). */
            if (n == top) {
                *pnum = want;
                return 0;
            }
            continue;
        }
        ret = bdrv_block_status(n, off, want, &got, NULL, NULL);
        if (ret < 0) {
            return ret;
        }
        if (ret & BDRV_BLOCK_ALLOCATED) {
            *pnum = got;
            return 1;
        }
        want = MIN(want, got);
    }
    *pnum = want;
    return 0;
}
