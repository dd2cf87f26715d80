/*
 * hyvm-img commit: qemu-img 7.2's commit.  Copies what the images above the
 * base hold (the top and any images between) down into the base: by
 * default the top's own backing, with -b any image further down.  Then, unless -d
 * or -b, the top is emptied (the driver's make_empty).  A base smaller than
 * the top grows to the top's size first, as QEMU's commit job does.
 *
 * Each image of the chain is opened on its own without its backing (top and
 * base writable, those between read-only), so the base can be written while
 * the layers above are read: a layer's allocated ranges read its own data.
 * The base keeps its own backing chain (read-only), which copy-on-write of
 * partial clusters in the base needs.
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

#define COMMIT_BUF_SIZE (2u << 20)

struct commit_chain {
    GPtrArray *layers; /* struct bdrv *: top first, the base excluded */
    struct bdrv *base;
};

static bool commit_same_file(const char *a, const char *b)
{
    g_autofree char *ra = realpath(a, NULL);
    g_autofree char *rb = realpath(b, NULL);

    return ra && rb ? !strcmp(ra, rb) : !strcmp(a, b);
}

/* Opens the images below top down to the base; 0, or 1 after printing. */
static int commit_open_chain(struct commit_chain *ch, struct bdrv *top, const char *filename,
                             const char *base_name, int flags)
{
    struct bdrv *cur = top;

    g_ptr_array_add(ch->layers, top);
    if (!top->backing_file[0]) {
        img_error("Image does not have a backing file");
        return 1;
    }
    for (;;) {
        g_autofree char *path = NULL;
        const char *fmt = cur->backing_format[0] ? cur->backing_format : NULL;
        bool is_base;
        struct bdrv *n;

        if (!cur->backing_file[0] || ch->layers->len > 64) {
            img_error("Did not find '%s' in the backing chain of '%s'", base_name, filename);
            return 1;
        }
        path = bdrv_backing_path(cur);
        is_base = !base_name || commit_same_file(path, base_name) ||
                  !strcmp(cur->backing_file, base_name);
        n = img_open(path, fmt, is_base ? flags : (flags & ~BDRV_O_RDWR) | BDRV_O_NO_BACKING,
                     false);
        if (!n) {
            return 1;
        }
        if (is_base) {
            ch->base = n;
            return 0;
        }
        g_ptr_array_add(ch->layers, n);
        cur = n;
    }
}

/*
 * What the layers hold at off: the layer that answers (NULL when none does)
 * and whether it holds zeroes; *pnum bytes alike.
 */
static int commit_status(struct commit_chain *ch, uint64_t off, uint64_t bytes,
                         struct bdrv **from, bool *zero, uint64_t *pnum)
{
    uint64_t want = bytes;

    *from = NULL;
    *zero = false;
    for (guint i = 0; i < ch->layers->len; i++) {
        struct bdrv *n = g_ptr_array_index(ch->layers, i);
        int64_t len = bdrv_length(n);
        uint64_t got = 0;
        int st;

        if (len < 0) {
            return (int)len;
        }
        if (off >= (uint64_t)len) {
            continue;
        }
        st = bdrv_block_status(n, off, MIN(want, (uint64_t)len - off), &got, NULL, NULL);
        if (st < 0) {
            return st;
        }
        want = MIN(want, MAX(got, 1));
        if (st & BDRV_BLOCK_ALLOCATED) {
            *from = n;
            *zero = (st & BDRV_BLOCK_ZERO) != 0;
            break;
        }
    }
    *pnum = want;
    return 0;
}

static int commit_copy(struct commit_chain *ch, int64_t len, bool writethrough)
{
    uint8_t *buf = g_malloc(COMMIT_BUF_SIZE);
    int ret = 0;

    for (uint64_t off = 0; off < (uint64_t)len;) {
        struct bdrv *from;
        uint64_t n = 0;
        bool zero;

        ret = commit_status(ch, off, MIN((uint64_t)len - off, (uint64_t)1 << 30), &from, &zero,
                            &n);
        if (ret < 0) {
            break;
        }
        if (from) {
            n = MIN(n, COMMIT_BUF_SIZE);
            if (zero) {
                ret = bdrv_pwrite_zeroes(ch->base, off, n, 0);
            } else {
                ret = bdrv_pread(from, off, buf, n);
                ret = ret < 0 ? ret : bdrv_pwrite(ch->base, off, buf, n);
            }
            if (ret >= 0 && writethrough) {
                ret = bdrv_flush(ch->base);
            }
            if (ret < 0) {
                break;
            }
        }
        off += n;
        img_progress_print((float)n / (float)len * 100, 100);
    }
    g_free(buf);
    return ret < 0 ? ret : bdrv_flush(ch->base);
}

static int commit_run(struct bdrv *top, const char *filename, const char *base_name, int flags,
                      bool drop, bool writethrough)
{
    struct commit_chain ch = { .layers = g_ptr_array_new() };
    GError *err = NULL;
    int64_t len, base_len;
    int ret = 1, r;

    if (commit_open_chain(&ch, top, filename, base_name, flags)) {
        goto out;
    }
    len = bdrv_length(top);
    base_len = bdrv_length(ch.base);
    if (len < 0 || base_len < 0) {
        img_error("Could not get the image sizes: %s",
                  g_strerror((int)-(len < 0 ? len : base_len)));
        goto out;
    }
    if (base_len < len && bdrv_truncate(ch.base, (uint64_t)len, false, NULL, &err) < 0) {
        img_error("%s", err ? err->message : "Could not resize the base image");
        g_clear_error(&err);
        goto out;
    }
    r = commit_copy(&ch, len, writethrough);
    if (r < 0) {
        img_error("%s", g_strerror(-r));
        goto out;
    }
    if (drop) {
        r = top->drv->make_empty ? top->drv->make_empty(top) : -ENOTSUP;
        if (r < 0) {
            img_error("Could not empty %s: %s", filename, g_strerror(-r));
            goto out;
        }
    }
    ret = 0;
out:
    /* layers[0] is the top: the caller's. */
    for (guint i = 1; i < ch.layers->len; i++) {
        bdrv_unref(g_ptr_array_index(ch.layers, i));
    }
    g_ptr_array_free(ch.layers, TRUE);
    bdrv_unref(ch.base);
    return ret;
}

int img_commit(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *cache = "writeback", *base = NULL;
    bool progress = false, quiet = false, drop = true, writethrough = false;
    int c, ret, flags = BDRV_O_RDWR | BDRV_O_UNMAP;
    const char *filename;
    struct bdrv *top;

    while ((c = img_getopt(argc, argv, ":f:ht:b:dpqr:", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 't':
            cache = optarg;
            break;
        case 'b':
            base = optarg;
            /* -b implies -d: the top stays as it is. */
            drop = false;
            break;
        case 'd':
            drop = false;
            break;
        case 'p':
            progress = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'r':
            /* Accepted; the copy runs unthrottled. */
            if (img_cvtnum("rate limit", optarg, 0, INT64_MAX) < 0) {
                return 1;
            }
            break;
        }
    }
    if (quiet) {
        progress = false;
    }
    filename = img_one_filename(argc, argv);
    if (img_parse_cache(cache, &flags, &writethrough) < 0) {
        img_error("Invalid cache option: %s", cache);
        return 1;
    }
    top = img_open(filename, fmt, flags | BDRV_O_NO_BACKING, false);
    if (!top) {
        return 1;
    }
    img_progress_init(progress, 1.0f);
    img_progress_print(0, 100);
    ret = commit_run(top, filename, base, flags, drop, writethrough);
    if (!ret) {
        img_progress_print(100, 0);
    }
    img_progress_end();
    bdrv_unref(top);
    if (!ret) {
        img_qprintf(quiet, "Image committed.\n");
    }
    return ret;
}
