/*
 * img-writer: a process that writes to an image through the block layer until
 * it is killed, for the kill -9 test (test-crash.py) and the locking test.
 *
 *   img-writer write IMAGE FORMAT SEED LOG [direct]   random I/O until SIGKILL
 *   img-writer hold IMAGE FORMAT [FLAGS]     open read-write, print "ready", wait
 *
 * write: random writes, write-zeroes, discards, compressed writes and flushes
 * over the first 7/8 of the disk (allocation, copy-on-write over a backing, L2
 * and refcount growth).  The last 1/8 holds "canary" slots: before writing one
 * the writer appends "begin SLOT" to LOG, after writing it and flushing
 * "durable SLOT OFFSET LENGTH BYTE".  A durable canary must survive the kill:
 * the test reads it back.  LOG lines are single write(2)s, which a SIGKILL
 * cannot tear (they are in the page cache before the next I/O starts).
 *
 * hold: FLAGS "shared" opens with BDRV_O_FORCE_SHARE; the process exits when
 * its stdin closes.
 *
 * Threads: one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "block/block.h"

#define SLOT_SIZE 65536

static void log_line(int fd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void log_line(int fd, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (write(fd, buf, (size_t)n) != n) {
        perror("img-writer: log");
        exit(1);
    }
}

static void fail(const char *what, int ret)
{
    fprintf(stderr, "img-writer: %s: %s\n", what, g_strerror(-ret));
    exit(1);
}

static uint64_t pick_len(GRand *r, uint64_t max)
{
    uint64_t len;

    switch (g_rand_int_range(r, 0, 4)) {
    case 0:
        len = g_rand_int_range(r, 1, 4097);
        break;
    case 1:
        len = 65536;
        break;
    default:
        len = g_rand_int_range(r, 1, 300000);
        break;
    }
    return MIN(len, max);
}

static void canary(struct bdrv *bs, GRand *r, int logfd, uint64_t area, uint64_t nslots)
{
    uint64_t slot = g_rand_int_range(r, 0, (gint32)nslots);
    uint64_t off = area + slot * SLOT_SIZE + g_rand_int_range(r, 0, 4096);
    uint64_t len = g_rand_int_range(r, 1, SLOT_SIZE - 4096);
    uint8_t byte = (uint8_t)g_rand_int_range(r, 1, 256);
    uint8_t *buf = g_malloc(len);
    int ret;

    memset(buf, byte, len);
    log_line(logfd, "begin %" G_GUINT64_FORMAT "\n", slot);
    ret = bdrv_pwrite(bs, off, buf, len);
    if (ret < 0) {
        fail("canary write", ret);
    }
    ret = bdrv_flush(bs);
    if (ret < 0) {
        fail("flush", ret);
    }
    log_line(logfd, "durable %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
             " %u\n", slot, off, len, byte);
    g_free(buf);
}

static int run_writer(const char *image, const char *fmt, guint32 seed, const char *logpath,
                      int flags)
{
    GError *err = NULL;
    struct bdrv *bs = bdrv_open(image, fmt, NULL, BDRV_O_RDWR | BDRV_O_UNMAP | flags, &err);
    int logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0644);
    GRand *r = g_rand_new_with_seed(seed);
    uint64_t size, area, nslots;
    uint8_t *buf = g_malloc(300000);

    if (!bs) {
        fprintf(stderr, "img-writer: %s\n", err->message);
        return 1;
    }
    if (logfd < 0) {
        perror(logpath);
        return 1;
    }
    size = (uint64_t)bdrv_length(bs);
    area = size / 8 * 7 / SLOT_SIZE * SLOT_SIZE;
    nslots = (size - area) / SLOT_SIZE;
    if (nslots == 0) {
        fprintf(stderr, "img-writer: image too small\n");
        return 1;
    }
    log_line(logfd, "started %u\n", seed);
    for (;;) {
        int kind = g_rand_int_range(r, 0, 100);
        uint64_t len = pick_len(r, area);
        uint64_t off = (uint64_t)g_rand_double_range(r, 0, (double)(area - len + 1));
        int ret = 0;

        if (g_rand_int_range(r, 0, 3) == 0) {
            off -= off % 65536;
        }
        if (kind < 45) {
            for (uint64_t i = 0; i < len; i += 8) {
                guint64 v = ((guint64)g_rand_int(r) << 32) | g_rand_int(r);

                memcpy(buf + i, &v, MIN(8, len - i));
            }
            ret = bdrv_pwrite(bs, off, buf, len);
        } else if (kind < 60) {
            ret = bdrv_pwrite_zeroes(bs, off, len, g_rand_boolean(r) ? BDRV_REQ_MAY_UNMAP : 0);
        } else if (kind < 75) {
            ret = bdrv_discard(bs, off, len);
            ret = ret == -ENOTSUP ? 0 : ret;
        } else if (kind < 80) {
            /* Compressed: whole clusters of 64 KiB-aligned compressible data; refused
             * where the driver does not take them (allocated clusters, small clusters). */
            memset(buf, g_rand_int_range(r, 0, 3), 65536);
            off -= off % 65536;
            bdrv_pwrite_compressed(bs, off, 65536, buf);
        } else if (kind < 90) {
            canary(bs, r, logfd, area, nslots);
        } else {
            ret = bdrv_flush(bs);
        }
        if (ret < 0) {
            fprintf(stderr, "img-writer: op %d at %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT
                    ": %s\n", kind, off, len, g_strerror(-ret));
            return 1;
        }
    }
}

static int run_hold(const char *image, const char *fmt, const char *flags)
{
    GError *err = NULL;
    int f = BDRV_O_RDWR;
    struct bdrv *bs;
    char c;

    if (flags && strstr(flags, "shared")) {
        f |= BDRV_O_FORCE_SHARE;
    }
    if (flags && strstr(flags, "readonly")) {
        f &= ~BDRV_O_RDWR;
    }
    bs = bdrv_open(image, fmt, NULL, f, &err);
    if (!bs) {
        fprintf(stderr, "img-writer: %s\n", err->message);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (read(STDIN_FILENO, &c, 1) > 0) {
    }
    bdrv_unref(bs);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 6 || argc == 7) && !strcmp(argv[1], "write")) {
        int flags = argc == 7 && !strcmp(argv[6], "direct") ? BDRV_O_NOCACHE : 0;

        return run_writer(argv[2], argv[3], (guint32)strtoul(argv[4], NULL, 0), argv[5], flags);
    }
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "hold")) {
        return run_hold(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    }
    fprintf(stderr, "usage: img-writer write IMAGE FORMAT SEED LOG [direct]\n"
                    "       img-writer hold IMAGE FORMAT [shared|readonly]\n");
    return 2;
}
