/*
 * The "raw" format: the image is the bytes of its file, optionally a window
 * of them (QEMU's raw options "offset" and "size").
 *
 * A raw image chosen by the probe (BDRV_O_PROBED_RAW) refuses writes that
 * would make sector 0 look like another format, as QEMU's raw-format.c
 * does: otherwise a guest could write a qcow2 header pointing at any host
 * file as its backing file, and the next probe would open that file.
 *
 * Threads: I/O callbacks on any thread at once (no state changes after
 * open); open, truncate and create on one thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "system/log.h"

extern const struct block_driver bdrv_file;
extern const struct block_driver bdrv_host_device;

struct raw_state {
    uint64_t offset; /* where the image starts in the file */
    uint64_t size;   /* with has_size: the window's length */
    bool has_size;
    bool probed;     /* BDRV_O_PROBED_RAW: sector 0 guarded */
};

#define RAW_SIZE_HELP                                                            \
    "expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or " \
    "E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively."

static int raw_parse_size_opt(const struct kv_list *opts, const char *key, bool *has,
                              uint64_t *val, GError **errp)
{
    const char *v = kv_get(opts, key);

    *has = v != NULL;
    *val = 0;
    if (v && parse_size(v, 1, val) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Parameter '%s' " RAW_SIZE_HELP,
                    key);
        return -EINVAL;
    }
    return 0;
}

static int raw_open(struct bdrv *bs, const struct kv_list *opts, int flags, GError **errp)
{
    struct raw_state *s = bs->opaque;
    bool has_offset;
    int64_t real;
    int ret;

    if (!bs->file) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "A block device must be specified "
                    "for \"file\"");
        return -EINVAL;
    }
    ret = raw_parse_size_opt(opts, "offset", &has_offset, &s->offset, errp);
    if (ret == 0) {
        ret = raw_parse_size_opt(opts, "size", &s->has_size, &s->size, errp);
    }
    if (ret < 0) {
        return ret;
    }
    real = bdrv_length(bs->file);
    if (real < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno((int)-real),
                    "Could not get image size: %s", g_strerror((int)-real));
        return (int)real;
    }
    if (s->offset > (uint64_t)real) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Offset (%" G_GUINT64_FORMAT ") cannot be greater than size of the "
                    "containing file (%" G_GINT64_FORMAT ")", s->offset, real);
        return -EINVAL;
    }
    if (s->has_size && (uint64_t)real - s->offset < s->size) {
        /* QEMU's message, double space included. */
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "The sum of offset (%" G_GUINT64_FORMAT ") and size (%" G_GUINT64_FORMAT
                    ") has to be smaller or equal to the  actual size of the containing file "
                    "(%" G_GINT64_FORMAT ")", s->offset, s->size, real);
        return -EINVAL;
    }
    /* A size off the sector grid would round up past the window. */
    if (s->has_size && s->size % BDRV_SECTOR_SIZE) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Specified size is not multiple of %d", BDRV_SECTOR_SIZE);
        return -EINVAL;
    }
    s->probed = flags & BDRV_O_PROBED_RAW;
    bs->request_alignment = bs->file->request_alignment;
    if (s->probed) {
        /* Whole sectors only, so a write to sector 0 is always checked whole
         * (QEMU's raw_refresh_limits); block-io does read-modify-write. */
        bs->request_alignment = MAX(bs->request_alignment, BDRV_SECTOR_SIZE);
    }
    return 0;
}

/* The window check of QEMU's raw_adjust_offset: a request that does not
 * fit the fixed size fails rather than touch bytes outside it. */
static int raw_adjust(struct bdrv *bs, uint64_t *off, uint64_t bytes, bool write)
{
    struct raw_state *s = bs->opaque;

    if (s->has_size && (*off > s->size || bytes > s->size - *off)) {
        return write ? -ENOSPC : -EINVAL;
    }
    if (*off > (uint64_t)INT64_MAX - s->offset) {
        return -EINVAL;
    }
    *off += s->offset;
    return 0;
}

static int raw_preadv(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                      int niov)
{
    int ret = raw_adjust(bs, &off, bytes, false);

    return ret < 0 ? ret : bdrv_preadv(bs->file, off, bytes, iov, niov);
}

/* Copies up to len bytes of the vector into buf; returns how many. */
static size_t raw_iov_copy(const struct iovec *iov, int niov, uint8_t *buf, size_t len)
{
    size_t done = 0;

    for (int i = 0; i < niov && done < len; i++) {
        size_t n = MIN(iov[i].iov_len, len - done);

        memcpy(buf + done, iov[i].iov_base, n);
        done += n;
    }
    return done;
}

/*
 * A write touching sector 0 of a probed image: the sector as it would be
 * afterwards must still probe as raw.  The checked copy is what gets
 * written, so a guest changing its buffer meanwhile cannot slip past.
 */
static int raw_pwritev_sector0(struct bdrv *bs, uint64_t off, uint64_t bytes,
                               struct iovec *iov, int niov)
{
    size_t head = MIN(bytes, BDRV_SECTOR_SIZE - off);
    struct iovec *viov;
    const char *fmt;
    uint8_t *sector;
    uint64_t foff = 0;
    int ret, n = 0;

    if (posix_memalign((void **)&sector, 4096, BDRV_SECTOR_SIZE)) {
        return -ENOMEM;
    }
    if (off || head < BDRV_SECTOR_SIZE) {
        ret = raw_adjust(bs, &foff, BDRV_SECTOR_SIZE, false);
        ret = ret < 0 ? ret : bdrv_pread(bs->file, foff, sector, BDRV_SECTOR_SIZE);
        if (ret < 0) {
            free(sector);
            return ret;
        }
    }
    if (raw_iov_copy(iov, niov, sector + off, head) != head) {
        free(sector);
        return -EINVAL;
    }
    fmt = bdrv_probe_format(sector, BDRV_SECTOR_SIZE, NULL);
    if (strcmp(fmt, "raw")) {
        log_mask(LOG_GUEST_ERROR, "%s: write to sector 0 refused: it would make the probed "
                 "raw image look like %s\n", bs->filename ? bs->filename : "raw", fmt);
        free(sector);
        return -EPERM;
    }
    /* The checked head, then the rest of the caller's vector. */
    viov = g_new(struct iovec, niov + 1);
    viov[n++] = (struct iovec){ sector + off, head };
    for (int i = 0, skip = (int)head; i < niov; i++) {
        size_t len = iov[i].iov_len;

        if ((size_t)skip >= len) {
            skip -= (int)len;
            continue;
        }
        viov[n++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, len - skip };
        skip = 0;
    }
    ret = raw_adjust(bs, &off, bytes, true);
    if (ret == 0) {
        ret = bdrv_pwritev(bs->file, off, bytes, viov, n);
    }
    g_free(viov);
    free(sector);
    return ret;
}

static int raw_pwritev(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                       int niov)
{
    struct raw_state *s = bs->opaque;
    int ret;

    if (s->probed && off < BDRV_SECTOR_SIZE && bytes) {
        return raw_pwritev_sector0(bs, off, bytes, iov, niov);
    }
    ret = raw_adjust(bs, &off, bytes, true);
    return ret < 0 ? ret : bdrv_pwritev(bs->file, off, bytes, iov, niov);
}

static int raw_pwrite_zeroes(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    int ret = raw_adjust(bs, &off, bytes, true);

    return ret < 0 ? ret : bdrv_pwrite_zeroes(bs->file, off, bytes, flags);
}

static int raw_discard(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    int ret = raw_adjust(bs, &off, bytes, true);

    return ret < 0 ? ret : bdrv_discard(bs->file, off, bytes);
}

static int raw_flush(struct bdrv *bs)
{
    return bdrv_flush(bs->file);
}

/* As QEMU's raw_getlength: the window, shrunk if the file shrank. */
static int64_t raw_length(struct bdrv *bs)
{
    struct raw_state *s = bs->opaque;
    int64_t len = bdrv_length(bs->file);

    if (len < 0) {
        return len;
    }
    if ((uint64_t)len < s->offset) {
        return 0;
    }
    len -= (int64_t)s->offset;
    return s->has_size ? MIN((int64_t)s->size, len) : len;
}

static int64_t raw_allocated_size(struct bdrv *bs)
{
    return bdrv_allocated_size(bs->file);
}

/* Every byte is the image's own: the file's answer, allocated here. */
static int raw_block_status(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum,
                            uint64_t *map, struct bdrv **file)
{
    int ret = raw_adjust(bs, &off, bytes, false);

    if (ret < 0) {
        return ret;
    }
    ret = bdrv_block_status(bs->file, off, bytes, pnum, map, file);
    if (ret == 0 && *pnum == 0) {
        /* Past the file's end (a shrunk file): zeroes. */
        *pnum = bytes;
        *map = off;
        *file = bs->file;
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
    }
    return ret < 0 ? ret : (ret | BDRV_BLOCK_ALLOCATED) & ~BDRV_BLOCK_RECURSE;
}

static int raw_truncate(struct bdrv *bs, uint64_t size, bool shrink, const char *prealloc,
                        GError **errp)
{
    struct raw_state *s = bs->opaque;

    if (s->has_size) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Cannot resize fixed-size raw disks");
        return -ENOTSUP;
    }
    if ((uint64_t)INT64_MAX - size < s->offset) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Disk size too large for the chosen offset");
        return -EINVAL;
    }
    return bdrv_truncate(bs->file, size + s->offset, shrink, prealloc, errp);
}

/* raw's own -o is "size"; the file protocol takes the rest (preallocation,
 * nocow, extent_size_hint). */
static int raw_create(const char *filename, const struct kv_list *opts, GError **errp)
{
    /* Named directly: block.c's references are weak and would not link
     * the protocol drivers in by themselves. */
    const struct block_driver *proto =
        bdrv_is_block_device(filename) ? &bdrv_host_device : &bdrv_file;

    return proto->create(filename, opts, errp);
}

static int raw_measure(const struct kv_list *opts, struct bdrv *in, uint64_t size,
                       struct bdrv_measure *out, GError **errp)
{
    uint64_t required = (size + BDRV_SECTOR_SIZE - 1) / BDRV_SECTOR_SIZE * BDRV_SECTOR_SIZE;

    if (in) {
        int64_t len = bdrv_length(in);

        if (len < 0) {
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno((int)-len),
                        "Unable to get image size: %s", g_strerror((int)-len));
            return (int)len;
        }
        required = (uint64_t)len;
    }
    /* Unallocated sectors count towards a raw file's size. */
    out->required = required;
    out->fully_allocated = required;
    out->bitmaps = 0;
    return 0;
}

static const struct create_opt_desc raw_create_opts[] = {
    { "size", CREATE_OPT_SIZE, "Virtual disk size", NULL },
    { NULL, 0, NULL, NULL },
};

/* No probe: raw is what the registry falls back to when nothing matches. */
const struct block_driver bdrv_raw = {
    .name = "raw",
    .state_size = sizeof(struct raw_state),
    .open = raw_open,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .pwrite_zeroes = raw_pwrite_zeroes,
    .discard = raw_discard,
    .flush = raw_flush,
    .length = raw_length,
    .allocated_size = raw_allocated_size,
    .truncate = raw_truncate,
    .block_status = raw_block_status,
    .create = raw_create,
    .create_opts = raw_create_opts,
    .measure = raw_measure,
};
