/*
 * hyvm-img dd: qemu-img 7.2's dd.  Operands if=, of=, bs= (default 512),
 * count= and skip= (in blocks of bs); the output is created anew with -O's
 * format (default raw) and filled block by block, as qemu-img does (every
 * block is written, zeroes included).
 *
 * The output's size follows qemu-img 7.2 exactly, oddity included: count
 * first cuts the input size to count * bs, and skip is then taken off that
 * (so count=2 skip=1 copies one block); a skip past that size prints
 * "cannot skip to specified offset", makes an empty output and exits 0.
 *
 * Threads: main thread.
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

struct dd_args {
    const char *in;
    const char *out;
    int64_t bs;
    int64_t count;
    int64_t skip;
    bool has_count;
    bool has_skip;
};

/* One "name=value" operand; 0, or 1 after printing. */
static int dd_operand(struct dd_args *d, const char *arg)
{
    const char *eq = strchr(arg, '=');
    g_autofree char *name = g_strndup(arg, eq ? (size_t)(eq - arg) : strlen(arg));
    const char *val = eq ? eq + 1 : NULL;
    int64_t v;

    if (val && !strcmp(name, "if")) {
        d->in = val;
    } else if (val && !strcmp(name, "of")) {
        d->out = val;
    } else if (val && !strcmp(name, "bs")) {
        v = img_cvtnum("bs", val, 1, INT_MAX);
        if (v < 0) {
            return 1;
        }
        d->bs = v;
    } else if (val && !strcmp(name, "count")) {
        v = img_cvtnum("count", val, 0, INT64_MAX);
        if (v < 0) {
            return 1;
        }
        d->count = v;
        d->has_count = true;
    } else if (val && !strcmp(name, "skip")) {
        v = img_cvtnum("skip", val, 0, INT64_MAX);
        if (v < 0) {
            return 1;
        }
        d->skip = v;
        d->has_skip = true;
    } else {
        img_error("unrecognized operand %s", name);
        return 1;
    }
    return 0;
}

static int dd_copy(struct bdrv *in, struct bdrv *out, int64_t in_pos, int64_t size, int64_t bs)
{
    uint8_t *buf = g_malloc(bs);
    int64_t out_pos = 0;
    int ret = 0;

    while (in_pos < size) {
        int64_t n = MIN(bs, size - in_pos);

        ret = bdrv_pread(in, in_pos, buf, n);
        if (ret < 0) {
            img_error("error while reading from input image file: %s", g_strerror(-ret));
            break;
        }
        ret = bdrv_pwrite(out, out_pos, buf, n);
        if (ret < 0) {
            img_error("error while writing to output image file: %s", g_strerror(-ret));
            break;
        }
        in_pos += n;
        out_pos += n;
    }
    g_free(buf);
    return ret < 0 ? 1 : 0;
}

static int dd_run(struct dd_args *d, const char *fmt, const char *out_fmt, bool force_share)
{
    struct bdrv *in, *out = NULL;
    const struct block_driver *drv;
    GError *err = NULL;
    int64_t size, in_pos;
    bool skip_past;
    int ret = 1;

    in = img_open(d->in, fmt, 0, force_share);
    if (!in) {
        return 1;
    }
    drv = bdrv_find_format(out_fmt);
    if (!drv) {
        img_error("Unknown file format");
        goto out;
    }
    if (!drv->create) {
        img_error("Format driver '%s' does not support image creation", out_fmt);
        goto out;
    }
    size = bdrv_length(in);
    if (size < 0) {
        img_error("Failed to get size for '%s'", d->in);
        goto out;
    }
    if (d->has_count && d->count <= INT64_MAX / d->bs && d->count * d->bs < size) {
        size = d->count * d->bs;
    }
    skip_past = d->has_skip && (d->skip > INT64_MAX / d->bs || size < d->bs * d->skip);
    if (bdrv_create(out_fmt, d->out, skip_past ? 0 : (uint64_t)(size - d->bs * d->skip), NULL,
                    &err) < 0) {
        img_error("%s: error while creating output image: %s", d->out,
                  err ? err->message : "unknown error");
        g_clear_error(&err);
        goto out;
    }
    out = img_open(d->out, out_fmt, BDRV_O_RDWR, false);
    if (!out) {
        goto out;
    }
    if (skip_past) {
        /* As dd(1): an empty output, and qemu-img's warning. */
        img_error("%s: cannot skip to specified offset", d->in);
        in_pos = size;
    } else {
        in_pos = d->skip * d->bs;
    }
    ret = dd_copy(in, out, in_pos, size, d->bs);
out:
    bdrv_unref(out);
    bdrv_unref(in);
    return ret;
}

int img_dd(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct dd_args d = { .bs = BDRV_SECTOR_SIZE };
    const char *fmt = NULL, *out_fmt = "raw";
    bool force_share = false;
    int c;

    while ((c = img_getopt(argc, argv, ":hf:O:U", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'U':
            force_share = true;
            break;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (dd_operand(&d, argv[i])) {
            return 1;
        }
    }
    if (!d.in || !d.out) {
        img_error("Must specify both input and output files");
        return 1;
    }
    return dd_run(&d, fmt, out_fmt, force_share);
}
