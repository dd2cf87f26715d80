/*
 * The "file" and "host_device" protocol drivers: a node that owns one file
 * descriptor on a regular file or a block device, with QEMU's image locks
 * (file-lock.h) and QEMU's messages.
 *
 * Threads: preadv, pwritev, pwrite_zeroes, discard, flush, block_status,
 * length and allocated_size run on any thread at once: they use only
 * positioned syscalls (preadv2/pwritev2, fallocate, ioctl) and lseek
 * SEEK_DATA/SEEK_HOLE, whose file position nobody reads; what they learn at
 * run time (a filesystem without FALLOC_FL_ZERO_RANGE, a failed fdatasync)
 * is kept in atomics.  open, close, truncate, create and the lock
 * functions of file-lock.h run on one thread with no I/O in flight.
 *
 * Contract: iov describes exactly bytes; with O_DIRECT the caller (block-io)
 * hands requests aligned to bs->request_alignment in offset, length and
 * memory.  Reads past the end of the file return zeroes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "block/block.h"
#include "block/file-lock.h"

/* Largest alignment the O_DIRECT probe tries; QEMU's MAX_BLOCKSIZE. */
#define FILE_MAX_ALIGN 4096
/* Zero buffer used when the filesystem cannot zero a range itself. */
#define FILE_ZERO_BUF 65536
#define FILE_ZERO_IOVS 16

/* Capabilities found missing at run time (struct file_state.nocaps). */
enum {
    FILE_NO_ZERO_RANGE = 1 << 0, /* fallocate(FALLOC_FL_ZERO_RANGE) */
    FILE_NO_PUNCH = 1 << 1,      /* fallocate(FALLOC_FL_PUNCH_HOLE) */
    FILE_NO_ZEROOUT = 1 << 2,    /* ioctl(BLKZEROOUT) */
    FILE_NO_DISCARD = 1 << 3,    /* ioctl(BLKDISCARD) */
};

struct file_state {
    int fd;
    int open_flags;   /* O_* of fd */
    char *filename;   /* as opened; for reopen and the lock hint */
    bool is_device;
    uint32_t sector_size; /* a device's logical block size (BLKSSZGET) */
    bool use_lock;
    bool metadata;    /* a format keeps metadata in this file (file-lock.h) */
    uint64_t unshare; /* bits users refuse to share */
    struct file_lock lock;
    int nocaps;       /* atomic FILE_NO_* */
    int flush_error;  /* atomic: errno of a failed fdatasync, sticky */
};

extern const struct block_driver bdrv_file;
extern const struct block_driver bdrv_host_device;

static bool file_has_cap(struct file_state *s, int cap)
{
    return !(__atomic_load_n(&s->nocaps, __ATOMIC_RELAXED) & cap);
}

static void file_drop_cap(struct file_state *s, int cap)
{
    __atomic_fetch_or(&s->nocaps, cap, __ATOMIC_RELAXED);
}

static int file_open_flags(int flags)
{
    int o = O_CLOEXEC | ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY);

    if (flags & BDRV_O_NOCACHE) {
        o |= O_DIRECT;
    }
    return o;
}

/* ---- length ---- */

static int64_t file_fd_length(int fd, bool device)
{
    struct stat st;
    uint64_t size;

    if (device) {
        if (ioctl(fd, BLKGETSIZE64, &size) == 0) {
            return (int64_t)size;
        }
        off_t end = lseek(fd, 0, SEEK_END);

        return end < 0 ? -errno : end;
    }
    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    return st.st_size;
}

static int64_t file_length(struct bdrv *bs)
{
    struct file_state *s = bs->opaque;

    return file_fd_length(s->fd, s->is_device);
}

static int64_t file_allocated_size(struct bdrv *bs)
{
    struct file_state *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/* ---- read and write ---- */

/* Drops the first n bytes of the vector (*iov, *niov), in place. */
static void file_iov_advance(struct iovec **iov, int *niov, size_t n)
{
    while (n && *niov) {
        if (n < (*iov)->iov_len) {
            (*iov)->iov_base = (char *)(*iov)->iov_base + n;
            (*iov)->iov_len -= n;
            return;
        }
        n -= (*iov)->iov_len;
        (*iov)++;
        (*niov)--;
    }
}

static void file_iov_zero(struct iovec *iov, int niov, uint64_t bytes)
{
    for (int i = 0; i < niov && bytes; i++) {
        size_t n = MIN(iov[i].iov_len, bytes);

        memset(iov[i].iov_base, 0, n);
        bytes -= n;
    }
}

/*
 * preadv2/pwritev2 until bytes are done; the caller's vector is only
 * copied when a transfer comes back short.  A read that meets the end of
 * the file fills the rest with zeroes (a raw image shorter than its
 * length reads as zero-padded, as QEMU's does).
 */
static int file_rw(struct bdrv *bs, bool write, uint64_t off, uint64_t bytes, struct iovec *iov,
                   int niov)
{
    struct file_state *s = bs->opaque;
    struct iovec *copy = NULL, *cur = iov;
    uint64_t done = 0;
    int n = niov, ret = 0;

    while (done < bytes) {
        int cnt = MIN(n, IOV_MAX);
        ssize_t r = write ? pwritev2(s->fd, cur, cnt, (off_t)(off + done), 0)
                          : preadv2(s->fd, cur, cnt, (off_t)(off + done), 0);

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            ret = -errno;
            break;
        }
        if (r == 0 && write) {
            ret = -EIO;
            break;
        }
        if (!write && (uint64_t)r < bytes - done) {
            /* Short: at the end of the file (O_DIRECT cannot go on from an
             * unaligned end) or past IOV_MAX entries. */
            int64_t len = file_fd_length(s->fd, s->is_device);

            if (r == 0 || (len >= 0 && off + done + r >= (uint64_t)len)) {
                if (!copy) {
                    copy = g_memdup2(cur, sizeof(*cur) * n);
                    cur = copy;
                }
                file_iov_advance(&cur, &n, r);
                file_iov_zero(cur, n, bytes - done - r);
                break;
            }
        }
        done += r;
        if (done < bytes) {
            if (!copy) {
                copy = g_memdup2(cur, sizeof(*cur) * n);
                cur = copy;
            }
            file_iov_advance(&cur, &n, r);
            if (!n) {
                ret = -EINVAL; /* vector shorter than bytes */
                break;
            }
        }
    }
    g_free(copy);
    return ret;
}

static int file_preadv(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                       int niov)
{
    return file_rw(bs, false, off, bytes, iov, niov);
}

static int file_pwritev(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                        int niov)
{
    return file_rw(bs, true, off, bytes, iov, niov);
}

/* ---- zeroes and discard ---- */

static int file_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
    while (fallocate(fd, mode, (off_t)off, (off_t)len) < 0) {
        if (errno != EINTR) {
            return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
        }
    }
    return 0;
}

static void *file_zero_buf(void)
{
    static gsize once;
    static void *buf;

    if (g_once_init_enter(&once)) {
        /* Aligned for O_DIRECT; never freed. */
        if (posix_memalign(&buf, FILE_MAX_ALIGN, FILE_ZERO_BUF) != 0) {
            abort();
        }
        memset(buf, 0, FILE_ZERO_BUF);
        g_once_init_leave(&once, 1);
    }
    return buf;
}

/* The last resort: write zero buffers, 1 MiB per syscall from one 64 KiB
 * buffer repeated in the vector. */
static int file_write_zero_bufs(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    struct iovec iov[FILE_ZERO_IOVS];
    void *zero = file_zero_buf();

    while (bytes) {
        uint64_t chunk = MIN(bytes, (uint64_t)FILE_ZERO_BUF * FILE_ZERO_IOVS);
        uint64_t left = chunk;
        int n = 0, ret;

        while (left) {
            iov[n].iov_base = zero;
            iov[n].iov_len = MIN(left, FILE_ZERO_BUF);
            left -= iov[n].iov_len;
            n++;
        }
        ret = file_rw(bs, true, off, chunk, iov, n);
        if (ret < 0) {
            return ret;
        }
        off += chunk;
        bytes -= chunk;
    }
    return 0;
}

/*
 * The part of [off, off + bytes) past the end of the file: extended without
 * ever shrinking the file (another thread may be writing beyond us, so no
 * ftruncate): a hole up to the last byte, allocated there (fallocate(2)
 * mode 0 grows i_size only).
 */
static int file_extend_sparse(struct file_state *s, uint64_t off, uint64_t bytes)
{
    int64_t len = file_fd_length(s->fd, false);

    if (len < 0) {
        return (int)len;
    }
    if (off + bytes <= (uint64_t)len) {
        return 0;
    }
    return file_fallocate(s->fd, 0, off + bytes - 1, 1);
}

static int file_zeroes_regular(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    struct file_state *s = bs->opaque;
    int ret;

    if ((flags & BDRV_REQ_MAY_UNMAP) && file_has_cap(s, FILE_NO_PUNCH)) {
        /* A hole reads as zeroes and frees the space (fallocate(2)). */
        ret = file_fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, bytes);
        if (ret == 0) {
            return file_extend_sparse(s, off, bytes);
        }
        if (ret == -ENOTSUP) {
            file_drop_cap(s, FILE_NO_PUNCH);
        } else if (ret != -EINVAL) {
            return ret;
        }
    }
    if (file_has_cap(s, FILE_NO_ZERO_RANGE)) {
        /* Unwritten extents; grows the file when the range passes its end. */
        ret = file_fallocate(s->fd, FALLOC_FL_ZERO_RANGE, off, bytes);
        if (ret == 0 || (ret != -ENOTSUP && ret != -EINVAL)) {
            return ret;
        }
        if (ret == -ENOTSUP) {
            file_drop_cap(s, FILE_NO_ZERO_RANGE);
        }
    }
    if (file_has_cap(s, FILE_NO_PUNCH)) {
        /* tmpfs and others: punch, then allocate the range again. */
        ret = file_fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, bytes);
        if (ret == 0) {
            ret = file_fallocate(s->fd, 0, off, bytes);
            if (ret != -ENOTSUP) {
                return ret;
            }
            return file_extend_sparse(s, off, bytes);
        }
        if (ret == -ENOTSUP) {
            file_drop_cap(s, FILE_NO_PUNCH);
        } else if (ret != -EINVAL) {
            return ret;
        }
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        return -ENOTSUP;
    }
    return file_write_zero_bufs(bs, off, bytes);
}

static int file_zeroes_device(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    struct file_state *s = bs->opaque;

    if (file_has_cap(s, FILE_NO_ZEROOUT)) {
        uint64_t range[2] = { off, bytes };
        int r;

        /* BLKZEROOUT: the kernel zeroes (and may unmap) the range. */
        do {
            r = ioctl(s->fd, BLKZEROOUT, range);
        } while (r < 0 && errno == EINTR);
        if (r == 0) {
            return 0;
        }
        if (errno == ENOTTY || errno == EOPNOTSUPP) {
            file_drop_cap(s, FILE_NO_ZEROOUT);
        } else if (errno != EINVAL) {
            return -errno; /* EINVAL: unaligned, write buffers instead */
        }
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        return -ENOTSUP;
    }
    return file_write_zero_bufs(bs, off, bytes);
}

static int file_pwrite_zeroes(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    struct file_state *s = bs->opaque;

    if (!bytes) {
        return 0;
    }
    return s->is_device ? file_zeroes_device(bs, off, bytes, flags)
                        : file_zeroes_regular(bs, off, bytes, flags);
}

static int file_discard(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    struct file_state *s = bs->opaque;
    int ret;

    if (s->is_device) {
        /* BLKDISCARD takes whole logical blocks; a discard is advice, so
         * the partial blocks at either end are left alone. */
        uint64_t start = (off + s->sector_size - 1) / s->sector_size * s->sector_size;
        uint64_t end = (off + bytes) / s->sector_size * s->sector_size;
        uint64_t range[2] = { start, end - start };

        if (!file_has_cap(s, FILE_NO_DISCARD)) {
            return -ENOTSUP;
        }
        if (end <= start) {
            return 0;
        }
        while (ioctl(s->fd, BLKDISCARD, range) < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ENOTTY || errno == EOPNOTSUPP) {
                file_drop_cap(s, FILE_NO_DISCARD);
                return -ENOTSUP;
            }
            return -errno;
        }
        return 0;
    }
    if (!file_has_cap(s, FILE_NO_PUNCH)) {
        return -ENOTSUP;
    }
    ret = file_fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, bytes);
    if (ret == -ENOTSUP) {
        file_drop_cap(s, FILE_NO_PUNCH);
    }
    return ret;
}

/*
 * fdatasync(2).  A failed one may have dropped dirty pages the kernel will
 * not write again, so, as QEMU, every later flush fails with that error.
 */
static int file_flush(struct bdrv *bs)
{
    struct file_state *s = bs->opaque;
    int err = __atomic_load_n(&s->flush_error, __ATOMIC_ACQUIRE);

    if (bs->flags & BDRV_O_NO_FLUSH) {
        return 0;
    }
    if (err) {
        return -err;
    }
    while (fdatasync(s->fd) < 0) {
        if (errno == EINTR) {
            continue;
        }
        err = errno;
        __atomic_store_n(&s->flush_error, err, __ATOMIC_RELEASE);
        return -err;
    }
    return 0;
}

/* ---- block status ---- */

/*
 * SEEK_DATA then SEEK_HOLE (lseek(2)): 0 with *data and *hole set around
 * start, -ENXIO in a trailing hole or past the end, other -errno when the
 * filesystem cannot tell.
 */
static int file_find_allocation(int fd, off_t start, off_t *data, off_t *hole)
{
    off_t d, h;

    d = lseek(fd, start, SEEK_DATA);
    if (d < 0) {
        return -errno;
    }
    if (d < start) {
        return -EIO;
    }
    if (d > start) {
        *hole = start;
        *data = d;
        return 0;
    }
    h = lseek(fd, start, SEEK_HOLE);
    if (h < 0) {
        return -errno;
    }
    if (h <= start) {
        return -EBUSY; /* a hole dug between the two calls */
    }
    *data = start;
    *hole = h;
    return 0;
}

static int file_block_status(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum,
                             uint64_t *map, struct bdrv **file)
{
    struct file_state *s = bs->opaque;
    off_t data = 0, hole = 0;
    int ret = file_find_allocation(s->fd, (off_t)off, &data, &hole);
    int status;

    if (ret == -ENXIO) {
        *pnum = bytes;
        status = BDRV_BLOCK_ZERO;
    } else if (ret < 0) {
        *pnum = bytes;
        status = BDRV_BLOCK_DATA;
    } else if ((uint64_t)data == off) {
        uint64_t n = (uint64_t)hole - off;
        uint32_t align = MAX(bs->request_alignment, 1);

        /* A data extent ending in a partial block at the end of the file. */
        n = (n + align - 1) / align * align;
        *pnum = MIN(n, bytes);
        status = BDRV_BLOCK_DATA;
    } else {
        *pnum = MIN((uint64_t)data - off, bytes);
        status = BDRV_BLOCK_ZERO;
    }
    if (!*pnum) {
        *pnum = bytes;
    }
    *map = off;
    *file = bs;
    return status | BDRV_BLOCK_OFFSET_VALID;
}

/* ---- truncate ---- */

/* QEMU writes the first block of a file grown from empty so that later
 * O_DIRECT alignment probes see allocated data (and qemu-img info shows
 * "disk size: 4 KiB" for a new raw image); we do the same. */
static void file_allocate_first_block(int fd, uint64_t size)
{
    size_t n = size < FILE_MAX_ALIGN ? BDRV_SECTOR_SIZE : FILE_MAX_ALIGN;
    ssize_t r;

    do {
        r = pwrite(fd, file_zero_buf(), n, 0);
    } while (r < 0 && errno == EINTR);
}

static int file_prealloc_full(int fd, uint64_t from, uint64_t to, GError **errp)
{
    void *zero = file_zero_buf();

    if (ftruncate(fd, (off_t)to) < 0) {
        int err = errno;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                    "Could not resize file: %s", g_strerror(err));
        return -err;
    }
    while (from < to) {
        ssize_t r = pwrite(fd, zero, MIN(to - from, FILE_ZERO_BUF), (off_t)from);

        if (r < 0) {
            int err = errno;

            if (err == EINTR) {
                continue;
            }
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                        "Could not write zeros for preallocation: %s", g_strerror(err));
            return -err;
        }
        from += r;
    }
    if (fsync(fd) < 0) {
        int err = errno;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                    "Could not flush file to disk: %s", g_strerror(err));
        return -err;
    }
    return 0;
}

/* Resizes a regular file to exactly size; prealloc fills what grows
 * (QEMU's handle_aiocb_truncate).  On failure the old length is restored. */
static int file_truncate_fd(int fd, uint64_t size, const char *prealloc, GError **errp)
{
    struct stat st;
    uint64_t cur;
    int ret = 0;

    if (!prealloc) {
        prealloc = "off";
    }
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(-ret), "Could not stat file: %s",
                    g_strerror(-ret));
        return ret;
    }
    cur = st.st_size;
    if (strcmp(prealloc, "off") && strcmp(prealloc, "falloc") && strcmp(prealloc, "full")) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Unsupported preallocation mode: %s", prealloc);
        return -ENOTSUP;
    }
    if (cur > size && strcmp(prealloc, "off")) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Cannot use preallocation for shrinking files");
        return -ENOTSUP;
    }
    if (!strcmp(prealloc, "off")) {
        if (ftruncate(fd, (off_t)size) < 0) {
            ret = -errno;
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(-ret),
                        "Could not resize file: %s", g_strerror(-ret));
            return ret;
        }
        if (cur == 0 && size > 0) {
            file_allocate_first_block(fd, size);
        }
        return 0;
    }
    if (!strcmp(prealloc, "falloc")) {
        if (size != cur) {
            ret = -posix_fallocate(fd, (off_t)cur, (off_t)(size - cur));
            if (ret < 0) {
                g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(-ret),
                            "Could not preallocate new data: %s", g_strerror(-ret));
            } else if (cur == 0) {
                file_allocate_first_block(fd, size);
            }
        }
    } else {
        ret = file_prealloc_full(fd, cur, size, errp);
    }
    if (ret < 0 && ftruncate(fd, (off_t)cur) < 0) {
        g_warning("Failed to restore old file length: %s", g_strerror(errno));
    }
    return ret;
}

static int file_truncate(struct bdrv *bs, uint64_t size, bool shrink, const char *prealloc,
                         GError **errp)
{
    struct file_state *s = bs->opaque;
    int64_t cur = file_length(bs);

    if (cur < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno((int)-cur),
                    "Failed to fstat() the file: %s", g_strerror((int)-cur));
        return (int)cur;
    }
    if (s->is_device) {
        if (prealloc && strcmp(prealloc, "off")) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "Preallocation mode '%s' unsupported for this non-regular file",
                        prealloc);
            return -ENOTSUP;
        }
        if (size > (uint64_t)cur) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Cannot grow device files");
            return -EINVAL;
        }
        if (size != (uint64_t)cur) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Cannot resize device files");
            return -ENOTSUP;
        }
        return 0;
    }
    if (size < (uint64_t)cur && !shrink) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Use the --shrink option to perform a shrink operation.");
        return -EINVAL;
    }
    return file_truncate_fd(s->fd, size, prealloc, errp);
}

/* ---- open and close ---- */

/*
 * request_alignment for O_DIRECT, as QEMU's raw_probe_alignment: the
 * logical block size of a device, else the smallest read size the kernel
 * accepts; "any size works" (a hole, NFS) means the safe 4096.
 */
static int file_probe_alignment(int fd, bool device, uint32_t *align, GError **errp)
{
    static const size_t sizes[] = { 1, 512, 1024, 2048, 4096 };
    size_t max = MAX((size_t)FILE_MAX_ALIGN, (size_t)sysconf(_SC_PAGESIZE));
    unsigned int ssz = 0;
    void *buf;

    if (device && ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz) {
        *align = ssz;
        return 0;
    }
    if (posix_memalign(&buf, max, max) != 0) {
        return -ENOMEM;
    }
    *align = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        /* Linux fails misaligned O_DIRECT reads with EINVAL only. */
        if (pread(fd, buf, sizes[i], 0) >= 0 || errno != EINVAL) {
            *align = sizes[i] == 1 ? max : sizes[i];
            break;
        }
    }
    free(buf);
    if (!*align) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Could not find working O_DIRECT alignment\nTry cache.direct=off");
        return -EINVAL;
    }
    return 0;
}

static int file_parse_locking(const struct kv_list *opts, int flags, bool *use, GError **errp)
{
    const char *v = kv_get(opts, "locking");

    if (!v || !strcmp(v, "auto") || !strcmp(v, "on")) {
        *use = true;
    } else if (!strcmp(v, "off")) {
        *use = false;
    } else {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "invalid parameter value: %s", v);
        return -EINVAL;
    }
    if (flags & BDRV_O_NO_LOCK) {
        *use = false;
    }
    return 0;
}

/* Checks the opened file's type and, for a writable device, BLKROGET. */
static int file_check_type(int fd, bool device, const char *drv, const char *filename,
                           bool rdwr, GError **errp)
{
    struct stat st;
    int ro = 0;

    if (fstat(fd, &st) < 0) {
        int err = errno;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "Could not stat file: %s",
                    g_strerror(err));
        return -err;
    }
    if (!device && !S_ISREG(st.st_mode)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "'%s' driver requires '%s' to be a regular file", drv, filename);
        return -EINVAL;
    }
    if (device && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "'%s' driver requires '%s' to be either a character or block device",
                    drv, filename);
        return -EINVAL;
    }
    /* A block device set read-only (blockdev --setro) opens O_RDWR fine
     * and fails every write with EPERM: refuse it at open. */
    if (rdwr && S_ISBLK(st.st_mode) && ioctl(fd, BLKROGET, &ro) == 0 && ro) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_ACCES,
                    "The device is not writable: %s", g_strerror(EACCES));
        return -EACCES;
    }
    return 0;
}

static int file_open_common(struct bdrv *bs, const struct kv_list *opts, int flags,
                            bool device, GError **errp)
{
    struct file_state *s = bs->opaque;
    const char *filename = kv_get(opts, "filename");
    uint64_t perm, shared;
    unsigned int ssz = 0;
    int ret;

    s->fd = -1;
    s->lock.shared = BLK_PERM_ALL;
    if (!filename) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "The '%s' block driver requires a file name", bs->drv->name);
        return -EINVAL;
    }
    ret = file_parse_locking(opts, flags, &s->use_lock, errp);
    if (ret < 0) {
        return ret;
    }
    if ((flags & BDRV_O_FORCE_SHARE) && (flags & BDRV_O_RDWR)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "force-share=on can only be used with read-only images");
        return -EINVAL;
    }
    s->is_device = device;
    s->open_flags = file_open_flags(flags);
    s->fd = open(filename, s->open_flags);
    if (s->fd < 0) {
        int err = errno == EROFS ? EACCES : errno;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "Could not open '%s': %s",
                    filename, g_strerror(err));
        return -err;
    }
    ret = file_check_type(s->fd, device, bs->drv->name, filename, flags & BDRV_O_RDWR, errp);
    if (ret < 0) {
        goto fail;
    }
    s->sector_size = BDRV_SECTOR_SIZE;
    if (device && ioctl(s->fd, BLKSSZGET, &ssz) == 0 && ssz) {
        s->sector_size = ssz;
    }
    bs->request_alignment = 1;
    if (s->open_flags & O_DIRECT) {
        ret = file_probe_alignment(s->fd, device, &bs->request_alignment, errp);
        if (ret < 0) {
            goto fail;
        }
    }
    s->filename = g_strdup(filename);
    if (s->use_lock) {
        file_lock_default_perms(flags, false, 0, &perm, &shared);
        ret = file_lock_set(s->fd, &s->lock, perm, shared, filename, errp);
        if (ret < 0) {
            goto fail;
        }
    }
    return 0;

fail:
    close(s->fd);
    s->fd = -1;
    g_free(s->filename);
    s->filename = NULL;
    return ret;
}

static int file_open(struct bdrv *bs, const struct kv_list *opts, int flags, GError **errp)
{
    return file_open_common(bs, opts, flags, false, errp);
}

static int hdev_open(struct bdrv *bs, const struct kv_list *opts, int flags, GError **errp)
{
    return file_open_common(bs, opts, flags, true, errp);
}

static void file_close(struct bdrv *bs)
{
    struct file_state *s = bs->opaque;

    if (s->fd >= 0) {
        /* Closing the only fd of the description drops its locks. */
        close(s->fd);
        s->fd = -1;
    }
    g_free(s->filename);
    s->filename = NULL;
}

/* ---- create ---- */

static int file_create_parse(const struct kv_list *opts, uint64_t *size, const char **prealloc,
                             bool *nocow, bool *has_hint, uint64_t *hint, GError **errp)
{
    const char *v;

    *size = 0;
    v = kv_get(opts, "size");
    if (v && parse_size(v, 1, size) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Parameter 'size' expects a non-negative number below 2^64\n"
                    "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, "
                    "peta-\nand exabytes, respectively.");
        return -EINVAL;
    }
    if (*size > (uint64_t)INT64_MAX - BDRV_SECTOR_SIZE) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Image size too large");
        return -EINVAL;
    }
    /* QEMU rounds the file's size up to whole sectors. */
    *size = (*size + BDRV_SECTOR_SIZE - 1) / BDRV_SECTOR_SIZE * BDRV_SECTOR_SIZE;
    *prealloc = kv_get(opts, "preallocation");
    if (!*prealloc) {
        *prealloc = "off";
    }
    if (strcmp(*prealloc, "off") && strcmp(*prealloc, "metadata") &&
        strcmp(*prealloc, "falloc") && strcmp(*prealloc, "full")) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "invalid parameter value: %s",
                    *prealloc);
        return -EINVAL;
    }
    *nocow = false;
    v = kv_get(opts, "nocow");
    if (v && !parse_bool(v, nocow)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Parameter 'nocow' expects 'on' or 'off'");
        return -EINVAL;
    }
    *has_hint = false;
    *hint = 1 << 20; /* QEMU's default extent size hint */
    v = kv_get(opts, "extent_size_hint");
    if (v) {
        if (parse_size(v, 1, hint) < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "Parameter 'extent_size_hint' expects a non-negative number below "
                        "2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, "
                        "tera-, peta-\nand exabytes, respectively.");
            return -EINVAL;
        }
        *has_hint = true;
    }
    if (*hint > UINT32_MAX) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Extent size hint is too large");
        return -EINVAL;
    }
    return 0;
}

/* Best effort, as QEMU: btrfs NOCOW and the XFS extent size hint. */
static void file_create_attrs(int fd, bool nocow, bool has_hint, uint64_t hint)
{
    struct fsxattr attr;
    int flags, ret;

    if (nocow && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
        flags |= FS_NOCOW_FL;
        ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    ret = ioctl(fd, FS_IOC_FSGETXATTR, &attr);
    if (ret == 0) {
        attr.fsx_xflags |= FS_XFLAG_EXTSIZE;
        attr.fsx_extsize = (uint32_t)hint;
        ret = ioctl(fd, FS_IOC_FSSETXATTR, &attr);
    }
    if (ret < 0 && has_hint && hint) {
        int err = errno;
        const char *prog = g_get_prgname();

        /* QEMU's warn_report line: "qemu-img: warning: ..." */
        g_printerr("%s%swarning: Failed to set extent size hint: %s\n", prog ? prog : "",
                   prog ? ": " : "", g_strerror(err));
    }
}

/*
 * Creates (or empties) filename and gives it size bytes, as QEMU's
 * raw_co_create: under locks that keep others from resizing it meanwhile.
 */
static int file_create(const char *filename, const struct kv_list *opts, GError **errp)
{
    struct file_lock lock = { .shared = BLK_PERM_ALL };
    uint64_t size, hint;
    const char *prealloc;
    bool nocow, has_hint;
    int fd, ret;

    ret = file_create_parse(opts, &size, &prealloc, &nocow, &has_hint, &hint, errp);
    if (ret < 0) {
        return ret;
    }
    if (!strcmp(prealloc, "metadata")) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Unsupported preallocation mode: metadata");
        return -ENOTSUP;
    }
    fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                    "Could not create '%s': %s", filename, g_strerror(err));
        return -err;
    }
    ret = file_lock_set(fd, &lock, BLK_PERM_WRITE | BLK_PERM_RESIZE,
                        BLK_PERM_ALL & ~BLK_PERM_RESIZE, filename, errp);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    ret = file_truncate_fd(fd, 0, "off", errp);
    if (ret == 0) {
        file_create_attrs(fd, nocow, has_hint, hint);
        ret = file_truncate_fd(fd, size, prealloc, errp);
    }
    file_lock_release(fd, &lock);
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(-ret),
                    "Could not close the new file: %s", g_strerror(-ret));
    }
    return ret;
}

/* A device is not created: it must exist and be large enough (QEMU's
 * hdev_co_create_opts). */
static int hdev_create(const char *filename, const struct kv_list *opts, GError **errp)
{
    uint64_t size, hint;
    const char *prealloc;
    bool nocow, has_hint;
    int64_t len;
    int fd, ret;

    ret = file_create_parse(opts, &size, &prealloc, &nocow, &has_hint, &hint, errp);
    if (ret < 0) {
        return ret;
    }
    if (strcmp(prealloc, "off")) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Only preallocation=off is supported for host devices");
        return -ENOTSUP;
    }
    fd = open(filename, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "Could not open device: %s",
                    g_strerror(err));
        return -err;
    }
    ret = file_check_type(fd, true, "host_device", filename, false, errp);
    if (ret == 0) {
        len = file_fd_length(fd, true);
        if (len < 0) {
            ret = (int)len;
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(-ret),
                        "Could not get size of device: %s", g_strerror(-ret));
        } else if ((uint64_t)len < size) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
                        "Device is too small: %s", g_strerror(ENOSPC));
            ret = -ENOSPC;
        }
    }
    close(fd);
    return ret;
}

/* As "qemu-img create -f raw -o help x" lists them (the merged help is sorted). */
static const struct create_opt_desc file_create_opts[] = {
    { "extent_size_hint", CREATE_OPT_SIZE, "Extent size hint for the image file, 0 to disable",
      NULL },
    { "nocow", CREATE_OPT_BOOL, "Turn off copy-on-write (valid only on btrfs)", NULL },
    { "preallocation", CREATE_OPT_STRING,
      "Preallocation mode (allowed values: off, falloc, full)", NULL },
    { "size", CREATE_OPT_SIZE, "Virtual disk size", NULL },
    { NULL, 0, NULL, NULL },
};

/* ---- locks of a node (file-lock.h) ---- */

struct bdrv *bdrv_lock_node(struct bdrv *bs)
{
    while (bs && bs->drv != &bdrv_file && bs->drv != &bdrv_host_device) {
        bs = bs->file;
    }
    return bs;
}

int bdrv_file_fd(struct bdrv *bs)
{
    bs = bdrv_lock_node(bs);
    return bs ? ((struct file_state *)bs->opaque)->fd : -1;
}

void bdrv_file_get_perm(struct bdrv *bs, uint64_t *perm, uint64_t *shared)
{
    struct file_state *s;

    bs = bdrv_lock_node(bs);
    s = bs ? bs->opaque : NULL;
    *perm = s && s->use_lock ? s->lock.perm : 0;
    *shared = s && s->use_lock ? s->lock.shared : BLK_PERM_ALL;
}

int bdrv_file_set_perm(struct bdrv *bs, uint64_t perm, uint64_t shared, GError **errp)
{
    struct file_state *s;

    bs = bdrv_lock_node(bs);
    if (!bs) {
        return 0;
    }
    s = bs->opaque;
    if (!s->use_lock) {
        return 0;
    }
    return file_lock_set(s->fd, &s->lock, perm, shared, s->filename, errp);
}

/* Recomputes the node's permissions from its flags and users. */
static int file_update_perms(struct bdrv *bs, GError **errp)
{
    struct file_state *s = bs->opaque;
    uint64_t perm, shared;

    if (!s->use_lock) {
        return 0;
    }
    file_lock_default_perms(bs->flags, s->metadata, s->unshare, &perm, &shared);
    return file_lock_set(s->fd, &s->lock, perm, shared, s->filename, errp);
}

int bdrv_file_lock_metadata(struct bdrv *bs, GError **errp)
{
    struct file_state *s;
    int ret;

    bs = bdrv_lock_node(bs);
    if (!bs) {
        return 0;
    }
    s = bs->opaque;
    s->metadata = true;
    ret = file_update_perms(bs, errp);
    if (ret < 0) {
        s->metadata = false;
    }
    return ret;
}

int bdrv_file_lock_unshare(struct bdrv *bs, uint64_t unshare, GError **errp)
{
    struct file_state *s;
    uint64_t old;
    int ret;

    bs = bdrv_lock_node(bs);
    if (!bs) {
        return 0;
    }
    s = bs->opaque;
    old = s->unshare;
    s->unshare |= unshare & BLK_PERM_ALL;
    ret = file_update_perms(bs, errp);
    if (ret < 0) {
        s->unshare = old;
    }
    return ret;
}

int bdrv_file_reopen(struct bdrv *bs, int flags, GError **errp)
{
    const int mutable = BDRV_O_RDWR | BDRV_O_FORCE_SHARE | BDRV_O_NO_IO;
    struct file_state *s;
    struct file_lock nl = { .shared = BLK_PERM_ALL };
    uint64_t perm = 0, shared = BLK_PERM_ALL;
    int nflags, oflags, fd, ret;

    bs = bdrv_lock_node(bs);
    if (!bs) {
        return 0;
    }
    s = bs->opaque;
    nflags = (bs->flags & ~mutable) | (flags & mutable);
    if ((nflags & BDRV_O_FORCE_SHARE) && (nflags & BDRV_O_RDWR)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "force-share=on can only be used with read-only images");
        return -EINVAL;
    }
    oflags = file_open_flags(nflags);
    fd = s->fd;
    if (oflags != s->open_flags) {
        fd = open(s->filename, oflags);
        if (fd < 0) {
            int err = errno == EROFS ? EACCES : errno;

            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                        "Could not reopen file: %s", g_strerror(err));
            return -err;
        }
        ret = file_check_type(fd, s->is_device, bs->drv->name, s->filename,
                              nflags & BDRV_O_RDWR, errp);
        if (ret < 0) {
            close(fd);
            return ret;
        }
    }
    if (s->use_lock) {
        struct file_lock old = s->lock;

        /* Checked on the old fd, whose own locks never conflict with it. */
        file_lock_default_perms(nflags, s->metadata, s->unshare, &perm, &shared);
        ret = file_lock_set(s->fd, &s->lock, perm, shared, s->filename, errp);
        if (ret == 0 && fd != s->fd) {
            ret = file_lock_apply(fd, &nl, perm, ~shared, false, errp);
            if (ret < 0) {
                file_lock_set(s->fd, &s->lock, old.perm, old.shared, s->filename, NULL);
            }
        }
        if (ret < 0) {
            if (fd != s->fd) {
                close(fd);
            }
            return ret;
        }
    }
    if (fd != s->fd) {
        close(s->fd);
        s->fd = fd;
        s->open_flags = oflags;
        nl.perm = perm;
        nl.shared = shared;
        if (s->use_lock) {
            s->lock = nl;
        }
    }
    bs->flags = nflags;
    bs->read_only = !(nflags & BDRV_O_RDWR);
    return 0;
}

/* ---- the drivers ---- */

const struct block_driver bdrv_file = {
    .name = "file",
    .state_size = sizeof(struct file_state),
    .is_protocol = true,
    .open = file_open,
    .close = file_close,
    .preadv = file_preadv,
    .pwritev = file_pwritev,
    .pwrite_zeroes = file_pwrite_zeroes,
    .discard = file_discard,
    .flush = file_flush,
    .length = file_length,
    .allocated_size = file_allocated_size,
    .truncate = file_truncate,
    .block_status = file_block_status,
    .create = file_create,
    .create_opts = file_create_opts,
};

const struct block_driver bdrv_host_device = {
    .name = "host_device",
    .state_size = sizeof(struct file_state),
    .is_protocol = true,
    .open = hdev_open,
    .close = file_close,
    .preadv = file_preadv,
    .pwritev = file_pwritev,
    .pwrite_zeroes = file_pwrite_zeroes,
    .discard = file_discard,
    .flush = file_flush,
    .length = file_length,
    .allocated_size = file_allocated_size,
    .truncate = file_truncate,
    .block_status = file_block_status,
    .create = hdev_create,
    .create_opts = file_create_opts,
};
