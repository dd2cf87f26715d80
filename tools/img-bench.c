/*
 * hyvm-img bench: qemu-img 7.2's bench.  -c requests of -s bytes, -d at a
 * time, at -o and then every -S bytes on (wrapping at the image's end), read
 * or with -w written with the --pattern byte; with --flush-interval a flush
 * every that many writes, after the requests before it have completed
 * unless --no-drain.  Prints what it sends and the time the run took.
 *
 * qemu-img's own quirks kept: -q does not silence the two lines, -n asks
 * for aio=native (so it needs -t none), a request past the end fails with
 * "Failed request: Input/output error" and exit 1.  -d 0, on which qemu-img
 * waits forever, is refused.
 *
 * The depth is a number of threads (at most 64, QEMU's thread-pool size),
 * each doing synchronous requests on the node in turn; the node's drivers
 * take requests from several threads at once (block.h).
 *
 * Threads: main thread and the depth workers; the workers share struct
 * bench and take its lock for the request counter and flushes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

#define BENCH_MAX_THREADS 64

struct bench {
    struct bdrv *bs;
    int64_t image_size;
    uint64_t offset;
    uint64_t step;
    uint64_t bufsize;
    uint8_t pattern;
    bool write;
    bool drain;
    int count;
    int flush_interval;
    int nthreads;

    GMutex lock;
    GCond cond;
    int issued;    /* requests handed out */
    int completed; /* requests finished */
    int ret;       /* first failure */
};

/* Request i's offset: at -o, then -S further each time, wrapping at the end. */
static uint64_t bench_offset(const struct bench *b, int i)
{
    if (i == 0 || b->image_size <= 0) {
        return i == 0 ? b->offset : 0;
    }
    return (uint64_t)(((unsigned __int128)b->offset + (unsigned __int128)b->step * i) %
                      (uint64_t)b->image_size);
}

/* The next request's number, after the flush that is due before it; -1 at
 * the end or after a failure. */
static int bench_next(struct bench *b)
{
    int i;

    g_mutex_lock(&b->lock);
    if (b->ret || b->issued >= b->count) {
        g_mutex_unlock(&b->lock);
        return -1;
    }
    i = b->issued++;
    if (b->write && b->flush_interval && i && i % b->flush_interval == 0) {
        int ret;

        /* Drain: the writes before the flush complete first; the lock keeps
         * later requests from starting meanwhile. */
        while (b->drain && b->completed < i && !b->ret) {
            g_cond_wait(&b->cond, &b->lock);
        }
        ret = bdrv_flush(b->bs);
        if (ret < 0 && !b->ret) {
            b->ret = ret;
        }
    }
    g_mutex_unlock(&b->lock);
    return i;
}

static int bench_request(struct bench *b, uint64_t off, uint8_t *buf)
{
    if (b->image_size < 0 || off > (uint64_t)b->image_size ||
        b->bufsize > (uint64_t)b->image_size - off) {
        return -EIO;
    }
    return b->write ? bdrv_pwrite(b->bs, off, buf, b->bufsize)
                    : bdrv_pread(b->bs, off, buf, b->bufsize);
}

static gpointer bench_worker(gpointer opaque)
{
    struct bench *b = opaque;
    uint8_t *buf = NULL;
    int i;

    if (posix_memalign((void **)&buf, 4096, MAX(b->bufsize, 1))) {
        g_mutex_lock(&b->lock);
        b->ret = b->ret ? b->ret : -ENOMEM;
        g_mutex_unlock(&b->lock);
        return NULL;
    }
    memset(buf, b->pattern, b->bufsize);
    while ((i = bench_next(b)) >= 0) {
        int ret = bench_request(b, bench_offset(b, i), buf);

        g_mutex_lock(&b->lock);
        if (ret < 0 && !b->ret) {
            b->ret = ret;
        }
        b->completed++;
        g_cond_broadcast(&b->cond);
        g_mutex_unlock(&b->lock);
    }
    free(buf);
    return NULL;
}

static int bench_run(struct bench *b)
{
    GThread *th[BENCH_MAX_THREADS];
    struct timespec t0, t1;

    g_mutex_init(&b->lock);
    g_cond_init(&b->cond);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < b->nthreads; i++) {
        th[i] = g_thread_new("bench", bench_worker, b);
    }
    for (int i = 0; i < b->nthreads; i++) {
        g_thread_join(th[i]);
    }
    if (!b->ret && b->write && b->flush_interval) {
        /* QEMU's last flush once every request has completed. */
        b->ret = bdrv_flush(b->bs);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (b->ret < 0) {
        img_error("Failed request: %s", g_strerror(-b->ret));
        return 1;
    }
    printf("Run completed in %3.3f seconds.\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
    return 0;
}

struct bench_args {
    const char *fmt;
    const char *cache;
    int count;
    int depth;
    int64_t offset;
    int64_t bufsize;
    int64_t step;
    int pattern;
    int flush_interval;
    int flags;
    bool write;
    bool drain;
    bool force_share;
    bool has_pattern;
};

static int bench_int(const char *arg, int min, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 0);
    if (errno || end == arg || *end || v < min || v > INT_MAX) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* One option's argument; 0, or 1 after printing. */
static int bench_option(struct bench_args *a, int c, const char *arg)
{
    int64_t v;

    switch (c) {
    case 'c':
        if (bench_int(arg, 0, &a->count) < 0) {
            img_error("Invalid request count specified");
            return 1;
        }
        break;
    case 'd':
        if (bench_int(arg, 1, &a->depth) < 0) {
            img_error("Invalid queue depth specified");
            return 1;
        }
        break;
    case 'o':
        v = img_cvtnum("offset", arg, 0, INT64_MAX);
        if (v < 0) {
            return 1;
        }
        a->offset = v;
        break;
    case 's':
        v = img_cvtnum("buffer size", arg, 0, INT_MAX);
        if (v < 0) {
            return 1;
        }
        a->bufsize = v;
        break;
    case 'S':
        v = img_cvtnum("step_size", arg, 0, INT_MAX);
        if (v < 0) {
            return 1;
        }
        a->step = v;
        break;
    case IMG_OPT_PATTERN:
        if (bench_int(arg, 0, &a->pattern) < 0 || a->pattern > 0xff) {
            img_error("Invalid pattern byte specified");
            return 1;
        }
        a->has_pattern = true;
        break;
    case IMG_OPT_FLUSH_INTERVAL:
        if (bench_int(arg, 0, &a->flush_interval) < 0) {
            img_error("Invalid flush interval specified");
            return 1;
        }
        break;
    }
    return 0;
}

static int bench_start(struct bench_args *a, const char *filename)
{
    struct bench b = { 0 };
    bool writethrough;
    int flags = a->flags, ret;

    if (img_parse_cache(a->cache, &flags, &writethrough) < 0) {
        img_error("Invalid cache mode");
        return 1;
    }
    if (a->write) {
        flags |= BDRV_O_RDWR;
    }
    if ((flags & BDRV_O_NATIVE_AIO) && !(flags & BDRV_O_NOCACHE)) {
        img_error("Could not open '%s': aio=native was specified, but it requires "
                  "cache.direct=on, which was not specified.", filename);
        return 1;
    }
    b.bs = img_open(filename, a->fmt, flags, a->force_share);
    if (!b.bs) {
        return 1;
    }
    b.image_size = bdrv_length(b.bs);
    b.offset = (uint64_t)a->offset;
    b.bufsize = (uint64_t)a->bufsize;
    b.step = a->step ? (uint64_t)a->step : (uint64_t)a->bufsize;
    b.pattern = (uint8_t)a->pattern;
    b.write = a->write;
    b.drain = a->drain;
    b.count = a->count;
    b.flush_interval = a->flush_interval;
    b.nthreads = MAX(1, MIN(MIN(a->depth, BENCH_MAX_THREADS), MAX(a->count, 1)));
    printf("Sending %d %s requests, %" PRId64 " bytes each, %d in parallel (starting at "
           "offset %" PRId64 ", step size %" PRIu64 ")\n", a->count,
           a->write ? "write" : "read", a->bufsize, a->depth, a->offset, b.step);
    if (a->flush_interval) {
        printf("Sending flush every %d requests\n", a->flush_interval);
    }
    fflush(stdout);
    ret = bench_run(&b);
    bdrv_unref(b.bs);
    return ret;
}

int img_bench(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, IMG_OPT_FLUSH_INTERVAL },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "pattern", required_argument, NULL, IMG_OPT_PATTERN },
        { "no-drain", no_argument, NULL, IMG_OPT_NO_DRAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct bench_args a = {
        .cache = "writeback", .count = 75000, .depth = 64, .bufsize = 4096, .drain = true,
    };
    const char *filename;
    int c;

    while ((c = img_getopt(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            a.fmt = optarg;
            break;
        case 'n':
            /* As qemu-img 7.2: -n selects aio=native. */
            a.flags |= BDRV_O_NATIVE_AIO;
            break;
        case 'i':
            if (!strcmp(optarg, "native")) {
                a.flags |= BDRV_O_NATIVE_AIO;
            } else if (!strcmp(optarg, "threads") || !strcmp(optarg, "io_uring")) {
                /* io_uring runs on the threads here. */
                a.flags &= ~BDRV_O_NATIVE_AIO;
            } else {
                img_error("Invalid aio option: %s", optarg);
                return 1;
            }
            break;
        case 'q':
            /* qemu-img's bench prints its lines even so. */
            break;
        case 't':
            a.cache = optarg;
            break;
        case 'w':
            a.write = true;
            break;
        case 'U':
            a.force_share = true;
            break;
        case IMG_OPT_NO_DRAIN:
            a.drain = false;
            break;
        default:
            if (bench_option(&a, c, optarg)) {
                return 1;
            }
            break;
        }
    }
    filename = img_one_filename(argc, argv);
    if (a.flush_interval && !a.write) {
        img_error("--flush-interval is only available in write tests");
        return 1;
    }
    if (a.has_pattern && !a.write) {
        /* Accepted and unused, as qemu-img does for reads. */
        a.has_pattern = false;
    }
    return bench_start(&a, filename);
}
