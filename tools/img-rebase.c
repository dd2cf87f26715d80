/*
 * hyvm-img rebase: qemu-img 7.2's rebase.  With -u only the header changes
 * (the driver's change_backing_file).  In safe mode every range the image
 * does not hold itself is read from the old backing chain and from the new
 * backing file, and the 512-byte sectors that differ are written into the
 * image, so that it reads the same over its new backing; then the header
 * changes.  -b "" removes the backing file (the old backing's data is copied
 * wherever it is not zero).
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

#define REBASE_BUF_SIZE (2u << 20)

struct rebase_args {
    const char *fmt;
    const char *out_base;    /* -b; "" removes; NULL (only with -u) too */
    const char *out_basefmt; /* -F */
    const char *cache;
    const char *src_cache;
    bool unsafe;
    bool progress;
    bool quiet;
    bool force_share;
};

struct rebase_job {
    struct bdrv *bs;
    struct bdrv *old_b;     /* bs->backing, or NULL */
    struct bdrv *new_b;     /* opened here, or NULL for none */
    int64_t len, old_len, new_len;
    uint8_t *buf_old, *buf_new;
    bool writethrough;
};

/* Reads [off, off + n) of b into buf, zeroes past its end (or for none). */
static int rebase_read(struct bdrv *b, int64_t blen, uint64_t off, uint64_t n, uint8_t *buf)
{
    uint64_t have = 0;

    if (b && off < (uint64_t)blen) {
        have = MIN(n, (uint64_t)blen - off);
        int ret = bdrv_pread(b, off, buf, have);

        if (ret < 0) {
            return ret;
        }
    }
    memset(buf + have, 0, n - have);
    return 0;
}

/* Writes the sectors of [off, off + n) where the two buffers differ. */
static int rebase_write_diff(struct rebase_job *j, uint64_t off, uint64_t n)
{
    uint64_t pos = 0;

    while (pos < n) {
        uint64_t start, k = MIN((uint64_t)BDRV_SECTOR_SIZE, n - pos);
        int ret;

        if (!memcmp(j->buf_old + pos, j->buf_new + pos, k)) {
            pos += k;
            continue;
        }
        start = pos;
        do {
            pos += k;
            k = MIN((uint64_t)BDRV_SECTOR_SIZE, n - pos);
        } while (pos < n && memcmp(j->buf_old + pos, j->buf_new + pos, k));
        ret = bdrv_pwrite(j->bs, off + start, j->buf_old + start, pos - start);
        if (ret >= 0 && j->writethrough) {
            ret = bdrv_flush(j->bs);
        }
        if (ret < 0) {
            img_error("Error while writing to COW image: %s", g_strerror(-ret));
            return ret;
        }
    }
    return 0;
}

/* Safe mode's copy: 0, or 1 after printing. */
static int rebase_copy(struct rebase_job *j)
{
    for (uint64_t off = 0; off < (uint64_t)j->len;) {
        uint64_t n = MIN((uint64_t)j->len - off, REBASE_BUF_SIZE);
        int st = bdrv_block_status(j->bs, off, n, &n, NULL, NULL);

        if (st < 0) {
            img_error("error while reading image metadata: %s", g_strerror(-st));
            return 1;
        }
        if (!(st & BDRV_BLOCK_ALLOCATED)) {
            int ret = rebase_read(j->old_b, j->old_len, off, n, j->buf_old);

            if (ret < 0) {
                img_error("error while reading from old backing file");
                return 1;
            }
            ret = rebase_read(j->new_b, j->new_len, off, n, j->buf_new);
            if (ret < 0) {
                img_error("error while reading from new backing file");
                return 1;
            }
            if (rebase_write_diff(j, off, n) < 0) {
                return 1;
            }
        }
        off += n;
        img_progress_print((float)n / (float)j->len * 100, 100);
    }
    return 0;
}

/* Opens the new backing file as the image will name it. */
static int rebase_open_new(struct rebase_job *j, struct rebase_args *a)
{
    int flags = 0;
    bool wt;
    g_autofree char *dir = g_path_get_dirname(j->bs->filename);
    g_autofree char *path = NULL;
    GError *err = NULL;

    if (img_parse_cache(a->src_cache, &flags, &wt) < 0) {
        img_error("Invalid source cache option: %s", a->src_cache);
        return 1;
    }
    if (!a->out_base || !a->out_base[0]) {
        return 0;
    }
    path = g_path_is_absolute(a->out_base) || !strcmp(dir, ".")
               ? g_strdup(a->out_base) : g_build_filename(dir, a->out_base, NULL);
    if (a->force_share) {
        flags |= BDRV_O_FORCE_SHARE;
    }
    j->new_b = bdrv_open(path, a->out_basefmt, NULL, flags, &err);
    if (!j->new_b) {
        img_error("Could not open new backing file '%s': %s", a->out_base, err->message);
        g_error_free(err);
        return 1;
    }
    j->new_len = bdrv_length(j->new_b);
    return j->new_len < 0 ? 1 : 0;
}

static int rebase_change(struct bdrv *bs, struct rebase_args *a)
{
    const char *file = a->out_base && a->out_base[0] ? a->out_base : NULL;
    int ret;

    if (file && !a->out_basefmt) {
        img_error("Could not change the backing file to '%s': backing format must be "
                  "specified", file);
        return 1;
    }
    ret = bs->drv->change_backing_file ? bs->drv->change_backing_file(bs, file, a->out_basefmt)
                                       : -ENOTSUP;
    if (ret == -ENOSPC) {
        img_error("Could not change the backing file to '%s': No space left in the file "
                  "header", a->out_base ? a->out_base : "");
        return 1;
    }
    if (ret < 0) {
        img_error("Could not change the backing file to '%s': %s",
                  a->out_base ? a->out_base : "", g_strerror(-ret));
        return 1;
    }
    return 0;
}

static int rebase_run(struct rebase_args *a, const char *filename)
{
    struct rebase_job j = { 0 };
    int flags = BDRV_O_RDWR | (a->unsafe ? BDRV_O_NO_BACKING : 0);
    int ret = 1;

    if (img_parse_cache(a->cache, &flags, &j.writethrough) < 0) {
        img_error("Invalid cache option: %s", a->cache);
        return 1;
    }
    j.bs = img_open(filename, a->fmt, flags, false);
    if (!j.bs) {
        return 1;
    }
    if (a->out_basefmt && !bdrv_find_format(a->out_basefmt)) {
        img_error("Invalid format name: '%s'", a->out_basefmt);
        goto out;
    }
    if (!a->unsafe) {
        j.old_b = j.bs->backing;
        j.len = bdrv_length(j.bs);
        j.old_len = j.old_b ? bdrv_length(j.old_b) : 0;
        if (j.len < 0 || j.old_len < 0 || rebase_open_new(&j, a)) {
            goto out;
        }
        j.buf_old = g_malloc(REBASE_BUF_SIZE);
        j.buf_new = g_malloc(REBASE_BUF_SIZE);
        if (rebase_copy(&j)) {
            goto out;
        }
    }
    ret = rebase_change(j.bs, a);
out:
    g_free(j.buf_old);
    g_free(j.buf_new);
    bdrv_unref(j.new_b);
    bdrv_unref(j.bs);
    return ret;
}

int img_rebase(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct rebase_args a = { .cache = "writeback", .src_cache = "writeback" };
    int c, ret;
    const char *filename;

    while ((c = img_getopt(argc, argv, ":hf:F:b:upt:T:qU", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            a.fmt = optarg;
            break;
        case 'F':
            a.out_basefmt = optarg;
            break;
        case 'b':
            a.out_base = optarg;
            break;
        case 'u':
            a.unsafe = true;
            break;
        case 'p':
            a.progress = true;
            break;
        case 't':
            a.cache = optarg;
            break;
        case 'T':
            a.src_cache = optarg;
            break;
        case 'q':
            a.quiet = true;
            break;
        case 'U':
            a.force_share = true;
            break;
        }
    }
    if (a.quiet) {
        a.progress = false;
    }
    filename = img_one_filename(argc, argv);
    if (!a.unsafe && !a.out_base) {
        img_error_exit("Must specify backing file (-b) or use unsafe mode (-u)");
    }
    img_progress_init(a.progress, 2.0f);
    img_progress_print(0, 100);
    ret = rebase_run(&a, filename);
    if (!ret) {
        img_progress_print(100, 0);
    }
    img_progress_end();
    return ret;
}
