/*
 * hyvm-img convert: qemu-img 7.2's convert (options, checks in its order,
 * messages, exit codes) over a copy engine of our own.
 *
 * The engine: the main thread creates and opens the images, then starts
 * -m workers (threads; qemu-img's coroutines).  A worker takes the next
 * chunk under the plan lock: the source's block status decides whether the
 * chunk is data (read it), zeroes (no read) or, with -B, left to the
 * target's backing (nothing at all).  Data is scanned for zero runs of at
 * least -S bytes, which become holes (or pwrite_zeroes with MAY_UNMAP when
 * the target is not known to read zeroes).  Without -W the writes go out in
 * chunk order (each worker waits for its turn after reading); with -W as
 * they come.  With -c each cluster goes to the driver's pwrite_compressed,
 * which compresses on the calling worker's thread.
 *
 * -p counts the chunks that are read (qemu-img's "allocated" sectors),
 * planned once ahead; each chunk's progress is printed as it completes.
 *
 * Threads: main thread (options, open, create); workers read the shared
 * struct img_cvt and take its lock for the plan cursor, the write turn, the
 * first error and progress, which they print under that lock (the main
 * thread prints nothing while they run).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/img-common.h"
#include "tools/img.h"

/* qemu-img's request size (IO_BUF_SIZE) and its limits on -S and -m. */
#define CVT_BUF_SIZE (2u << 20)
#define CVT_MAX_SPARSE (16u << 20)
#define CVT_MAX_WORKERS 16
#define CVT_DEFAULT_WORKERS 8

enum cvt_kind { CVT_DATA, CVT_ZERO, CVT_BACKING };

struct img_cvt {
    /* Set up by the main thread before the workers start. */
    struct bdrv **src;
    int64_t *src_len;
    int nsrc;
    int64_t total;
    struct bdrv *target;
    uint64_t buf_size;     /* bytes a chunk holds at most */
    uint64_t min_sparse;   /* -S; 0 = write everything */
    uint64_t gran;         /* zero detection block, aligned to target offsets */
    uint64_t cluster;      /* -c: target cluster size */
    uint64_t rate;         /* -r bytes/s; 0 = unlimited */
    bool compress;
    bool has_zero_init;    /* the target reads zeroes wherever we do not write */
    bool target_backing;   /* -B: what the source's top leaves unallocated stays so */
    bool in_order;         /* not -W */
    bool writethrough;
    bool salvage;
    int nworkers;
    gint64 start_us;

    /* Under lock. */
    GMutex lock;
    GCond cond;
    uint64_t cursor;       /* next byte to plan */
    uint64_t next_seq;     /* sequence number of the next planned chunk */
    uint64_t write_turn;   /* the chunk whose writes may go now (in order) */
    uint64_t done;         /* bytes finished, for -p */
    uint64_t data_done;    /* bytes written as data, for -r */
    uint64_t copied;       /* what done counts up to; 0 = no -p */
    int running;
    int ret;               /* first error, negative errno */
    char *err;             /* its message, printed by the main thread */
    /* The last block status asked: [st_start, st_end) in global offsets. */
    uint64_t st_start, st_end;
    enum cvt_kind st_kind;
};

struct cvt_chunk {
    uint64_t off;
    uint64_t len;
    enum cvt_kind kind;
    uint64_t seq;
};

static void cvt_fail(struct img_cvt *c, int ret, char *msg)
{
    g_mutex_lock(&c->lock);
    if (!c->ret) {
        c->ret = ret;
        c->err = msg;
        msg = NULL;
    }
    g_cond_broadcast(&c->cond);
    g_mutex_unlock(&c->lock);
    g_free(msg);
}

/* The source holding global offset off and the offset inside it. */
static int cvt_src_at(struct img_cvt *c, uint64_t off, uint64_t *in, uint64_t *left)
{
    uint64_t base = 0;

    for (int i = 0; i < c->nsrc; i++) {
        if (off < base + (uint64_t)c->src_len[i]) {
            *in = off - base;
            *left = base + c->src_len[i] - off;
            return i;
        }
        base += c->src_len[i];
    }
    return -1;
}

/*
 * What [off, off + bytes) of src reads as, through its whole chain, or with
 * top_only (-B) whether the top image itself holds it.  *pnum: bytes alike.
 */
static int cvt_status(struct bdrv *src, uint64_t off, uint64_t bytes, bool top_only,
                      uint64_t *pnum, enum cvt_kind *kind)
{
    struct bdrv *n = src;
    uint64_t want = bytes;

    for (;;) {
        uint64_t got = 0;
        int64_t blen;
        int st = bdrv_block_status(n, off, want, &got, NULL, NULL);

        if (st < 0) {
            return st;
        }
        want = MIN(want, MAX(got, 1));
        if (st & BDRV_BLOCK_ALLOCATED) {
            *kind = (st & BDRV_BLOCK_ZERO) ? CVT_ZERO : CVT_DATA;
            break;
        }
        if (!n->backing) {
            *kind = CVT_ZERO;
            break;
        }
        if (top_only) {
            *kind = CVT_BACKING;
            break;
        }
        blen = bdrv_length(n->backing);
        if (blen < 0 || off >= (uint64_t)blen) {
            /* Past a shorter backing's end: zeroes. */
            *kind = CVT_ZERO;
            break;
        }
        want = MIN(want, (uint64_t)blen - off);
        n = n->backing;
    }
    *pnum = want;
    return 0;
}

/* Fills c->st_* for global offset off.  Called under the lock. */
static int cvt_refresh_status(struct img_cvt *c, uint64_t off)
{
    uint64_t in, left, pnum;
    enum cvt_kind kind;
    int i = cvt_src_at(c, off, &in, &left);
    int ret;

    if (i < 0) {
        return -EIO;
    }
    ret = cvt_status(c->src[i], in, MIN(left, (uint64_t)1 << 30), c->target_backing, &pnum,
                     &kind);
    if (ret < 0) {
        c->ret = c->ret ? c->ret : ret;
        if (!c->err) {
            c->err = g_strdup_printf("error while reading block status at offset %" PRIu64
                                     ": %s", off, g_strerror(-ret));
        }
        return ret;
    }
    c->st_start = off;
    c->st_end = off + pnum;
    c->st_kind = kind;
    return 0;
}

/* The next chunk, under the lock; false at the end or after an error. */
static bool cvt_plan(struct img_cvt *c, struct cvt_chunk *ch)
{
    uint64_t off = c->cursor, end, in = 0, left = 0;

    if (c->ret || off >= (uint64_t)c->total) {
        return false;
    }
    if (off < c->st_start || off >= c->st_end) {
        if (cvt_refresh_status(c, off) < 0) {
            return false;
        }
    }
    cvt_src_at(c, off, &in, &left);
    ch->kind = c->st_kind;
    end = MIN(c->st_end, off + c->buf_size);
    if (!c->compress) {
        end = MIN(end, off + left);
    } else if (ch->kind != CVT_DATA && end - off < c->cluster) {
        /* Less than a cluster alike: the whole cluster is read as data. */
        ch->kind = CVT_DATA;
        end = off + c->cluster;
    } else if (ch->kind == CVT_DATA) {
        /* Data runs on to its cluster's end (reading a little zero is fine). */
        end = (end + c->cluster - 1) / c->cluster * c->cluster;
        end = MIN(end, off - off % c->cluster + c->buf_size);
    } else {
        end = end - end % c->cluster;
        end = MAX(end, MIN(off + c->cluster, (uint64_t)c->total));
    }
    end = MIN(end, (uint64_t)c->total);
    ch->off = off;
    ch->len = end - off;
    ch->seq = c->next_seq++;
    c->cursor = end;
    return true;
}

/* Reads [off, off + len) of the concatenated sources. */
static int cvt_read(struct img_cvt *c, uint64_t off, uint64_t len, uint8_t *buf)
{
    while (len) {
        uint64_t in, left, n;
        int i = cvt_src_at(c, off, &in, &left);
        int ret;

        if (i < 0) {
            memset(buf, 0, len);
            return 0;
        }
        n = MIN(len, left);
        ret = bdrv_pread(c->src[i], in, buf, n);
        if (ret < 0 && c->salvage) {
            /* --salvage: read sector by sector, zeroes where a read fails. */
            for (uint64_t s = 0; s < n; s += BDRV_SECTOR_SIZE) {
                uint64_t k = MIN((uint64_t)BDRV_SECTOR_SIZE, n - s);

                if (bdrv_pread(c->src[i], in + s, buf + s, k) < 0) {
                    img_warn("error while reading offset %" PRIu64 ": %s", off + s,
                             g_strerror(-ret));
                    memset(buf + s, 0, k);
                }
            }
            ret = 0;
        }
        if (ret < 0) {
            return ret;
        }
        off += n;
        buf += n;
        len -= n;
    }
    return 0;
}

static bool cvt_is_zero(const uint8_t *p, size_t n)
{
    /* memcmp against itself one word on: vectorized by the C library. */
    if (n < 16) {
        for (size_t i = 0; i < n; i++) {
            if (p[i]) {
                return false;
            }
        }
        return true;
    }
    return !*(const uint64_t *)(const void *)p && !*(const uint64_t *)(const void *)(p + 8) &&
           !memcmp(p, p + 16, n - 16);
}

static void cvt_throttle(struct img_cvt *c, uint64_t bytes)
{
    uint64_t done;
    gint64 due, now;

    if (!c->rate) {
        return;
    }
    g_mutex_lock(&c->lock);
    c->data_done += bytes;
    done = c->data_done;
    g_mutex_unlock(&c->lock);
    due = c->start_us + (gint64)((double)done * G_USEC_PER_SEC / (double)c->rate);
    now = g_get_monotonic_time();
    if (due > now) {
        g_usleep((gulong)(due - now));
    }
}

static int cvt_write_zeroes(struct img_cvt *c, uint64_t off, uint64_t len)
{
    if (c->has_zero_init) {
        return 0;
    }
    return bdrv_pwrite_zeroes(c->target, off, len,
                              c->target_backing || !c->min_sparse ? 0 : BDRV_REQ_MAY_UNMAP);
}

static int cvt_write_data(struct img_cvt *c, uint64_t off, uint64_t len, const uint8_t *buf)
{
    cvt_throttle(c, len);
    return bdrv_pwrite(c->target, off, buf, len);
}

/* Data with -S: runs of whole zero blocks of at least min_sparse bytes are
 * zeroes, the rest is written.  Blocks follow the target's offsets. */
static int cvt_write_sparse(struct img_cvt *c, uint64_t off, uint64_t len, const uint8_t *buf,
                            uint64_t *fail_off)
{
    uint64_t pos = 0;

    while (pos < len) {
        uint64_t start = pos;
        bool zero;
        int ret;

        /* One block: to the next gran boundary of the target. */
        uint64_t blk = MIN(len - pos, c->gran - (off + pos) % c->gran);

        zero = cvt_is_zero(buf + pos, blk);
        pos += blk;
        while (pos < len) {
            blk = MIN(len - pos, c->gran - (off + pos) % c->gran);
            if (cvt_is_zero(buf + pos, blk) != zero) {
                break;
            }
            pos += blk;
        }
        if (zero && (pos - start >= c->min_sparse || pos == len)) {
            ret = cvt_write_zeroes(c, off + start, pos - start);
        } else {
            ret = cvt_write_data(c, off + start, pos - start, buf + start);
        }
        if (ret < 0) {
            *fail_off = off + start;
            return ret;
        }
    }
    return 0;
}

/* -c: each cluster compressed on its own; zero clusters are not stored. */
static int cvt_write_compressed(struct img_cvt *c, uint64_t off, uint64_t len,
                                const uint8_t *buf, uint64_t *fail_off)
{
    for (uint64_t pos = 0; pos < len;) {
        uint64_t n = MIN(len - pos, c->cluster - (off + pos) % c->cluster);
        int ret;

        if (cvt_is_zero(buf + pos, n)) {
            ret = cvt_write_zeroes(c, off + pos, n);
        } else {
            cvt_throttle(c, n);
            ret = bdrv_pwrite_compressed(c->target, off + pos, n, buf + pos);
            if (ret == -EINVAL && n < c->cluster) {
                /* A partial last cluster the driver will not compress. */
                ret = bdrv_pwrite(c->target, off + pos, buf + pos, n);
            }
        }
        if (ret < 0) {
            *fail_off = off + pos;
            return ret;
        }
        pos += n;
    }
    return 0;
}

static int cvt_write_chunk(struct img_cvt *c, const struct cvt_chunk *ch, const uint8_t *buf,
                           uint64_t *fail_off)
{
    int ret = 0;

    *fail_off = ch->off;
    switch (ch->kind) {
    case CVT_BACKING:
        return 0;
    case CVT_ZERO:
        ret = cvt_write_zeroes(c, ch->off, ch->len);
        break;
    case CVT_DATA:
        if (c->compress) {
            ret = cvt_write_compressed(c, ch->off, ch->len, buf, fail_off);
        } else if (c->min_sparse) {
            ret = cvt_write_sparse(c, ch->off, ch->len, buf, fail_off);
        } else {
            ret = cvt_write_data(c, ch->off, ch->len, buf);
        }
        break;
    }
    if (ret >= 0 && c->writethrough) {
        ret = bdrv_flush(c->target);
    }
    return ret;
}

/* Without -W: wait until every earlier chunk is written.  false on error. */
static bool cvt_wait_turn(struct img_cvt *c, uint64_t seq)
{
    bool ok;

    g_mutex_lock(&c->lock);
    while (c->in_order && c->write_turn != seq && !c->ret) {
        g_cond_wait(&c->cond, &c->lock);
    }
    ok = !c->ret;
    g_mutex_unlock(&c->lock);
    return ok;
}

static void cvt_chunk_done(struct img_cvt *c, const struct cvt_chunk *ch)
{
    g_mutex_lock(&c->lock);
    if (c->in_order) {
        c->write_turn = ch->seq + 1;
    }
    /* Progress counts what is copied, as qemu-img's: data (and zeroes
     * written as such with -S 0). */
    if (ch->kind == CVT_DATA || (!c->min_sparse && ch->kind == CVT_ZERO)) {
        c->done += ch->len;
        /* Printed here, under the lock, so each chunk shows as it lands. */
        if (c->copied) {
            img_progress_print((float)((double)c->done * 100.0 / (double)c->copied), 0);
        }
    }
    g_cond_broadcast(&c->cond);
    g_mutex_unlock(&c->lock);
}

static gpointer cvt_worker(gpointer opaque)
{
    struct img_cvt *c = opaque;
    uint8_t *buf = NULL;
    struct cvt_chunk ch;

    if (posix_memalign((void **)&buf, 4096, c->buf_size)) {
        cvt_fail(c, -ENOMEM, g_strdup("Out of memory"));
        buf = NULL;
    }
    for (;;) {
        uint64_t fail_off;
        int ret;

        g_mutex_lock(&c->lock);
        if (!buf || !cvt_plan(c, &ch)) {
            c->running--;
            g_cond_broadcast(&c->cond);
            g_mutex_unlock(&c->lock);
            break;
        }
        g_mutex_unlock(&c->lock);
        if (ch.kind == CVT_DATA) {
            ret = cvt_read(c, ch.off, ch.len, buf);
            if (ret < 0) {
                cvt_fail(c, ret, g_strdup_printf("error while reading at byte %" PRIu64 ": %s",
                                                 ch.off, g_strerror(-ret)));
                continue;
            }
        }
        if (!cvt_wait_turn(c, ch.seq)) {
            continue;
        }
        ret = cvt_write_chunk(c, &ch, buf, &fail_off);
        if (ret < 0) {
            cvt_fail(c, ret, g_strdup_printf("error while writing at byte %" PRIu64 ": %s",
                                             fail_off, g_strerror(-ret)));
            continue;
        }
        cvt_chunk_done(c, &ch);
    }
    free(buf);
    return NULL;
}

/* The bytes -p's percentage is of: the chunks the copy will read (or, with
 * -S 0, write as zeroes), planned once ahead as qemu-img does. */
static uint64_t cvt_count_copied(struct img_cvt *c)
{
    struct cvt_chunk ch;
    uint64_t total = 0;

    while (cvt_plan(c, &ch)) {
        if (ch.kind == CVT_DATA || (!c->min_sparse && ch.kind == CVT_ZERO)) {
            total += ch.len;
        }
    }
    c->cursor = 0;
    c->next_seq = 0;
    c->st_start = c->st_end = 0;
    return total;
}

/* Runs the workers and waits for them. */
static int cvt_copy(struct img_cvt *c, bool progress)
{
    GThread **th = g_new0(GThread *, c->nworkers);

    g_mutex_init(&c->lock);
    g_cond_init(&c->cond);
    c->copied = progress ? cvt_count_copied(c) : 0;
    c->running = c->nworkers;
    c->start_us = g_get_monotonic_time();
    for (int i = 0; i < c->nworkers; i++) {
        th[i] = g_thread_new("convert", cvt_worker, c);
    }
    for (int i = 0; i < c->nworkers; i++) {
        g_thread_join(th[i]);
    }
    g_free(th);
    if (c->ret) {
        img_error("%s", c->err ? c->err : g_strerror(-c->ret));
        return c->ret;
    }
    if (!c->copied) {
        /* Nothing to copy: qemu-img shows 100% one more time. */
        img_progress_print(100, 0);
    }
    return 0;
}

struct img_convert_args {
    const char *fmt;
    const char *out_fmt;
    const char *out_baseimg;
    const char *out_basefmt;
    const char *cache;
    const char *src_cache;
    const char *snapshot;
    char *options;
    int64_t min_sparse;
    int64_t rate;
    int nworkers;
    bool explicit_sparse;
    bool compress;
    bool progress;
    bool quiet;
    bool skip_create;
    bool ooo;
    bool force_share;
    bool target_is_zero;
    bool copy_range;
    bool salvage;
    bool bitmaps;
    bool skip_broken;
};

/* -l: "snapshot.id=ID,snapshot.name=NAME" or an ID or name.  0, or 1 after
 * printing. */
static int cvt_snapshot(struct bdrv *bs, const char *param)
{
    struct bdrv_snapshot *list = NULL;
    const char *id = NULL, *name = NULL;
    char **parts = NULL;
    int n, ret = 1;
    bool found = false;

    if (!strncmp(param, "snapshot.", 9)) {
        parts = g_strsplit(param, ",", -1);
        for (char **p = parts; *p; p++) {
            if (!strncmp(*p, "snapshot.id=", 12)) {
                id = *p + 12;
            } else if (!strncmp(*p, "snapshot.name=", 14)) {
                name = *p + 14;
            } else {
                char *eq = strchr(*p, '=');

                if (eq) {
                    *eq = 0;
                }
                img_error("Invalid parameter '%s'", *p);
                img_error("Failed in parsing snapshot param '%s'", param);
                g_strfreev(parts);
                return 1;
            }
        }
    } else {
        id = param;
        name = param;
    }
    n = bs->drv->snapshot_list ? bs->drv->snapshot_list(bs, &list) : -ENOTSUP;
    if (n == -ENOTSUP) {
        img_error("Failed to load snapshot: Block format '%s' used by device '' does not "
                  "support temporarily loading internal snapshots", bs->drv->name);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        bool id_ok = id && !strcmp(list[i].id, id);
        bool name_ok = name && !strcmp(list[i].name, name);

        if (param == id ? (id_ok || name_ok) : ((!id || id_ok) && (!name || name_ok))) {
            found = true;
        }
    }
    if (!found) {
        img_error("Failed to load snapshot: Can't find snapshot");
        goto out;
    }
    /* The block layer has no read-only view of a snapshot's state (QEMU's
     * bdrv_snapshot_load_tmp); refuse rather than convert the wrong data. */
    img_error("Failed to load snapshot: hyvm-img cannot read an internal snapshot in place; "
              "apply it to a copy with 'snapshot -a' first");
out:
    g_free(list);
    g_strfreev(parts);
    return ret;
}

/* Opens the sources; 0, or 1 after printing. */
static int cvt_open_sources(struct img_cvt *c, struct img_convert_args *a, char **files)
{
    int flags = 0;
    bool wt;

    if (img_parse_cache(a->src_cache, &flags, &wt) < 0) {
        img_error("Invalid source cache option: %s", a->src_cache);
        return 1;
    }
    c->src = g_new0(struct bdrv *, c->nsrc);
    c->src_len = g_new0(int64_t, c->nsrc);
    for (int i = 0; i < c->nsrc; i++) {
        c->src[i] = img_open(files[i], a->fmt, flags, a->force_share);
        if (!c->src[i]) {
            return 1;
        }
        c->src_len[i] = bdrv_length(c->src[i]);
        if (c->src_len[i] < 0) {
            img_error("Could not get size of %s: %s", files[i],
                      g_strerror((int)-c->src_len[i]));
            return 1;
        }
        c->total += c->src_len[i];
    }
    if (a->snapshot) {
        return cvt_snapshot(c->src[0], a->snapshot);
    }
    if (a->bitmaps) {
        for (int i = 0; i < c->nsrc; i++) {
            if (strcmp(c->src[i]->drv->name, "qcow2")) {
                img_error("Source lacks bitmap support");
                return 1;
            }
        }
    }
    return 0;
}

/* The target's create options (-o, -B, -F), or NULL after printing. */
static struct kv_list *cvt_create_opts(struct img_cvt *c, struct img_convert_args *a,
                                       const struct block_driver *drv)
{
    GError *err = NULL;
    struct kv_list *opts = img_create_opts_parse(drv, a->options, NULL, &err);

    (void)c;
    if (!opts) {
        img_error("%s", err->message);
        g_error_free(err);
        return NULL;
    }
    if (a->out_baseimg) {
        if (!img_create_opt_find(drv, "backing_file")) {
            img_error("Backing file not supported for file format '%s'", a->out_fmt);
            kv_free(opts);
            return NULL;
        }
        img_kv_set(opts, "backing_file", a->out_baseimg);
    }
    if (a->out_basefmt) {
        if (!img_create_opt_find(drv, "backing_fmt")) {
            img_error("Backing file format not supported for file format '%s'", a->out_fmt);
            kv_free(opts);
            return NULL;
        }
        img_kv_set(opts, "backing_fmt", a->out_basefmt);
    }
    return opts;
}

/* Checks on the target's options; returns the exit code, -1 to go on. */
static int cvt_check_target(struct img_cvt *c, struct img_convert_args *a,
                            const struct block_driver *drv, const struct kv_list *opts)
{
    const char *bfile = opts ? kv_get(opts, "backing_file") : NULL;
    const char *prealloc = opts ? kv_get(opts, "preallocation") : NULL;

    if (bfile) {
        a->out_baseimg = bfile;
    }
    c->target_backing = a->out_baseimg != NULL;
    if (a->target_is_zero && c->target_backing) {
        /* qemu-img 7.2 says so and exits 0 (its ret is still 0 here). */
        img_error("Cannot use --target-is-zero when the destination image has a backing file");
        return 0;
    }
    if (c->nsrc > 1 && a->out_baseimg) {
        img_error("Having a backing file for the target makes no sense when concatenating "
                  "multiple input images");
        return 1;
    }
    if (bfile && !kv_get(opts, "backing_fmt")) {
        img_error("Use of backing file requires explicit backing format");
        return 1;
    }
    if (a->compress) {
        if (drv && !drv->pwrite_compressed) {
            img_error("Compression not supported for this file format");
            return 1;
        }
        if (opts && (kv_get(opts, "encryption") || kv_get(opts, "encrypt.format"))) {
            img_error("Compression and encryption not supported at the same time");
            return 1;
        }
        if (prealloc && strcmp(prealloc, "off")) {
            img_error("Compression and preallocation not supported at the same time");
            return 1;
        }
    }
    if (a->bitmaps && drv && strcmp(drv->name, "qcow2")) {
        img_error("Destination lacks bitmap support");
        return 1;
    }
    return -1;
}

/* Opens the target and fills the engine's target fields; exit code or -1. */
static int cvt_open_target(struct img_cvt *c, struct img_convert_args *a, const char *out)
{
    int flags = BDRV_O_RDWR | (a->min_sparse ? BDRV_O_UNMAP : 0);
    uint32_t cl = 0;

    if (img_parse_cache(a->cache, &flags, &c->writethrough) < 0) {
        img_error("Invalid cache option: %s", a->cache);
        return 1;
    }
    c->target = img_open(out, a->out_fmt, flags, false);
    if (!c->target) {
        return 1;
    }
    if (a->compress && !c->target->drv->pwrite_compressed) {
        img_error("Compression not supported for this file format");
        return 1;
    }
    if (c->target->drv->cluster_size) {
        cl = c->target->drv->cluster_size(c->target);
    }
    c->buf_size = CVT_BUF_SIZE;
    if (a->compress) {
        if (!cl || cl > CVT_BUF_SIZE) {
            img_error("invalid cluster size");
            return 1;
        }
        c->cluster = cl;
        /* One cluster a chunk, as qemu-img's compressed requests. */
        c->buf_size = cl;
    }
    if (a->skip_create) {
        int64_t len = bdrv_length(c->target);

        if (len < 0) {
            img_error("unable to get output image length: %s", g_strerror((int)-len));
            return 1;
        }
        if (len < c->total) {
            img_error("output file is smaller than input file");
            return 1;
        }
    }
    c->min_sparse = (uint64_t)a->min_sparse;
    /* Zero runs are found in blocks on the target's clusters, so a skipped
     * run never splits a cluster into pieces that each need copy-on-write. */
    c->gran = MAX((uint64_t)BDRV_SECTOR_SIZE, cl);
    if (c->min_sparse) {
        uint64_t p2 = 1;

        while (p2 * 2 <= c->min_sparse) {
            p2 *= 2;
        }
        c->gran = MAX(c->gran, p2);
        c->gran = MIN(c->gran, c->buf_size);
    }
    /* A new image reads zeroes, preallocated or not (full writes zeroes,
     * falloc and metadata leave reads returning zeroes). */
    c->has_zero_init = a->target_is_zero ||
                       (!a->skip_create && c->min_sparse && !c->target_backing);
    if (!c->has_zero_init && !c->target_backing && c->min_sparse) {
        /* As qemu-img: zero the whole target cheaply if the driver can
         * (holes, zero clusters), then leave zero areas alone. */
        if (bdrv_pwrite_zeroes(c->target, 0, (uint64_t)c->total,
                               BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK) == 0) {
            c->has_zero_init = true;
        }
    }
    c->in_order = !a->ooo;
    c->compress = a->compress;
    c->nworkers = a->nworkers;
    c->rate = (uint64_t)a->rate;
    c->salvage = a->salvage;
    return -1;
}

/* Whether out names a file open as a source (creating it would destroy it). */
static bool cvt_target_is_source(struct img_cvt *c, const char *out)
{
    struct stat so, ss;

    if (stat(out, &so) < 0) {
        return false;
    }
    for (int i = 0; i < c->nsrc; i++) {
        if (stat(c->src[i]->filename, &ss) == 0 && ss.st_dev == so.st_dev &&
            ss.st_ino == so.st_ino) {
            return true;
        }
    }
    return false;
}

static int cvt_run(struct img_convert_args *a, int nsrc, char **files, const char *out)
{
    struct img_cvt c = { .nsrc = nsrc };
    const struct block_driver *drv = NULL;
    struct kv_list *opts = NULL;
    GError *err = NULL;
    int ret = 1;

    if (cvt_open_sources(&c, a, files)) {
        goto out;
    }
    if (!a->skip_create) {
        drv = bdrv_find_format(a->out_fmt);
        if (!drv) {
            img_error("Unknown file format '%s'", a->out_fmt);
            goto out;
        }
        if (!drv->create) {
            img_error("Format driver '%s' does not support image creation", a->out_fmt);
            goto out;
        }
        opts = cvt_create_opts(&c, a, drv);
        if (!opts) {
            goto out;
        }
    } else if (a->out_baseimg) {
        c.target_backing = true;
    }
    ret = cvt_check_target(&c, a, drv, opts);
    if (ret >= 0) {
        goto out;
    }
    ret = 1;
    if (!a->skip_create && cvt_target_is_source(&c, out)) {
        /* What QEMU's image lock says here; creating would truncate it. */
        img_error("%s: error while converting %s: Failed to get \"write\" lock\n"
                  "Is another process using the image [%s]?", out, a->out_fmt, out);
        goto out;
    }
    if (!a->skip_create &&
        bdrv_create(a->out_fmt, out, (uint64_t)c.total, opts, &err) < 0) {
        img_error("%s: error while converting %s: %s", out, a->out_fmt,
                  err ? err->message : "Could not create image");
        g_clear_error(&err);
        goto out;
    }
    if (a->skip_create && cvt_target_is_source(&c, out)) {
        img_error("Could not open '%s': Failed to get \"write\" lock\n"
                  "Is another process using the image [%s]?", out, out);
        goto out;
    }
    ret = cvt_open_target(&c, a, out);
    if (ret >= 0) {
        goto out;
    }
    ret = cvt_copy(&c, a->progress) < 0 ? 1 : 0;
    if (!ret) {
        img_progress_print(100, 0);
    }
out:
    img_progress_end();
    kv_free(opts);
    if (c.target) {
        bdrv_unref(c.target);
    }
    for (int i = 0; c.src && i < nsrc; i++) {
        bdrv_unref(c.src[i]);
    }
    g_free(c.src);
    g_free(c.src_len);
    g_free(c.err);
    return ret;
}

/* Option checks qemu-img makes before opening anything; exit code or -1. */
static int cvt_check_args(struct img_convert_args *a, int nsrc, const char *out)
{
    if (a->skip_broken && !a->bitmaps) {
        img_error("Use of --skip-broken-bitmaps requires --bitmaps");
        return 1;
    }
    if (a->compress && a->copy_range) {
        img_error("Cannot enable copy offloading when -c is used");
        return 1;
    }
    if (a->explicit_sparse && a->copy_range) {
        img_error("Cannot enable copy offloading when -S is used");
        return 1;
    }
    if (a->copy_range && a->salvage) {
        img_error("Cannot use copy offloading in salvaging mode");
        return 1;
    }
    if (a->skip_create && a->options) {
        img_error("-o has no effect when skipping image creation");
        return 1;
    }
    if (a->target_is_zero && !a->skip_create) {
        img_error("--target-is-zero requires use of -n flag");
        return 1;
    }
    if (a->options && img_opts_want_help(a->options)) {
        return img_print_opts_help(a->out_fmt, out);
    }
    if (nsrc < 1) {
        img_error("Must specify image file name");
        return 1;
    }
    return -1;
}

static int cvt_parse_sparse(struct img_convert_args *a, const char *arg)
{
    int64_t v;
    int r = img_parse_size(arg, &v);

    if (r < 0) {
        img_error("Invalid buffer size for sparse output specified. You may use k, M, G, T, "
                  "P or E suffixes for");
        img_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
        return -1;
    }
    if (v % BDRV_SECTOR_SIZE || v > CVT_MAX_SPARSE) {
        img_error("Invalid buffer size for sparse output specified. Valid sizes are multiples "
                  "of %d up to %u. Select 0 to disable sparse detection (fully allocates "
                  "output).", BDRV_SECTOR_SIZE, CVT_MAX_SPARSE);
        return -1;
    }
    a->min_sparse = v;
    a->explicit_sparse = true;
    return 0;
}

static int cvt_parse_workers(struct img_convert_args *a, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (end == arg || *end || v < 1 || v > CVT_MAX_WORKERS) {
        img_error("Invalid number of coroutines. Allowed number of coroutines is between 1 "
                  "and %d", CVT_MAX_WORKERS);
        return -1;
    }
    a->nworkers = (int)v;
    return 0;
}

static int cvt_parse_rate(struct img_convert_args *a, const char *arg)
{
    int64_t v;

    if (img_parse_size(arg, &v) < 0) {
        img_error("Invalid rate limit specified. You may use k, M, G, T, P or E suffixes "
                  "for");
        img_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
        return -1;
    }
    a->rate = v;
    return 0;
}

int img_convert(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { "target-image-opts", no_argument, NULL, IMG_OPT_TARGET_IMAGE_OPTS },
        { "salvage", no_argument, NULL, IMG_OPT_SALVAGE },
        { "target-is-zero", no_argument, NULL, IMG_OPT_TARGET_IS_ZERO },
        { "bitmaps", no_argument, NULL, IMG_OPT_BITMAPS },
        { "skip-broken-bitmaps", no_argument, NULL, IMG_OPT_SKIP_BROKEN },
        { NULL, 0, NULL, 0 },
    };
    struct img_convert_args a = {
        .out_fmt = NULL, .cache = "unsafe", .src_cache = "writeback",
        .min_sparse = 8 * BDRV_SECTOR_SIZE, .nworkers = CVT_DEFAULT_WORKERS,
    };
    int c, ret, nsrc;

    while ((c = img_getopt(argc, argv, ":hf:O:B:CcF:o:l:S:pt:T:qnm:WUr:", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            a.fmt = optarg;
            break;
        case 'O':
            a.out_fmt = optarg;
            break;
        case 'B':
            a.out_baseimg = optarg;
            break;
        case 'C':
            a.copy_range = true;
            break;
        case 'c':
            a.compress = true;
            break;
        case 'F':
            a.out_basefmt = optarg;
            break;
        case 'o':
            if (!img_opts_add(&a.options, optarg)) {
                return 1;
            }
            break;
        case 'l':
            a.snapshot = optarg;
            break;
        case 'S':
            if (cvt_parse_sparse(&a, optarg) < 0) {
                g_free(a.options);
                return 1;
            }
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
        case 'n':
            a.skip_create = true;
            break;
        case 'm':
            if (cvt_parse_workers(&a, optarg) < 0) {
                g_free(a.options);
                return 1;
            }
            break;
        case 'W':
            a.ooo = true;
            break;
        case 'U':
            a.force_share = true;
            break;
        case 'r':
            if (cvt_parse_rate(&a, optarg) < 0) {
                g_free(a.options);
                return 1;
            }
            break;
        case IMG_OPT_TARGET_IMAGE_OPTS:
            g_free(a.options);
            return img_refuse_image_opts();
        case IMG_OPT_SALVAGE:
            a.salvage = true;
            break;
        case IMG_OPT_TARGET_IS_ZERO:
            a.target_is_zero = true;
            break;
        case IMG_OPT_BITMAPS:
            a.bitmaps = true;
            break;
        case IMG_OPT_SKIP_BROKEN:
            a.skip_broken = true;
            break;
        }
    }
    if (!a.out_fmt) {
        a.out_fmt = "raw";
    }
    if (a.quiet) {
        a.progress = false;
    }
    nsrc = argc - optind - 1;
    ret = cvt_check_args(&a, nsrc, nsrc >= 1 ? argv[argc - 1] : NULL);
    if (ret < 0) {
        img_progress_init(a.progress, 1.0f);
        img_progress_print(0, 100);
        ret = cvt_run(&a, nsrc, argv + optind, argv[argc - 1]);
    }
    g_free(a.options);
    return ret;
}
