/*
 * hyvm-img resize: qemu-img resize's [+|-]size, --shrink and
 * --preallocation, its checks and messages, over bdrv_truncate().
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

static const char *const img_prealloc_modes[] = { "off", "metadata", "falloc", "full", NULL };

static bool img_prealloc_valid(const char *mode)
{
    for (size_t i = 0; img_prealloc_modes[i]; i++) {
        if (!strcmp(mode, img_prealloc_modes[i])) {
            return true;
        }
    }
    return false;
}

/*
 * The size argument as QEMU's size option reads it: up to 2^64 - 1, which
 * then counts as a (negative) int64.  false after the message.
 */
static bool img_resize_parse(const char *s, int64_t *n)
{
    int64_t v;
    int ret = img_parse_size(s, &v);

    if (ret == -ERANGE) {
        /* Above INT64_MAX: QEMU takes it as a negative size, refused later. */
        *n = -1;
        return true;
    }
    if (ret < 0) {
        img_error("Parameter 'size' expects a non-negative number below 2^64\n"
                  "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                  "and exabytes, respectively.");
        return false;
    }
    *n = v;
    return true;
}

struct img_resize_args {
    const char *fmt;
    const char *filename;
    const char *prealloc;
    int64_t n;
    int relative; /* +1 grow by n, -1 shrink by n, 0 absolute */
    bool shrink;
    bool quiet;
};

static int img_resize_image(const struct img_resize_args *a)
{
    struct bdrv *bs = img_open(a->filename, a->fmt, BDRV_O_RDWR, false);
    int64_t cur, total;
    GError *err = NULL;
    int ret = 1;

    if (!bs) {
        return 1;
    }
    cur = bdrv_length(bs);
    if (cur < 0) {
        img_error("Failed to inquire current image length: %s", g_strerror((int)-cur));
        goto out;
    }
    if (a->n < 0) {
        total = -1;
    } else if (a->relative) {
        total = a->relative > 0 ? (a->n > INT64_MAX - cur ? -1 : cur + a->n) : cur - a->n;
    } else {
        total = a->n;
    }
    if (total <= 0) {
        img_error("New image size must be positive");
        goto out;
    }
    if (total <= cur && strcmp(a->prealloc, "off")) {
        img_error("Preallocation can only be used for growing images");
        goto out;
    }
    if (total < cur && !a->shrink) {
        img_error("Use the --shrink option to perform a shrink operation.");
        img_warn("Shrinking an image will delete all data beyond the shrunken image's end. "
                 "Before performing such an operation, make sure there is no important "
                 "data there.");
        goto out;
    }
    if (bdrv_truncate(bs, (uint64_t)total, a->shrink, a->prealloc, &err) < 0) {
        img_error("%s", err ? err->message : "Image format driver does not support resize");
        g_clear_error(&err);
        goto out;
    }
    img_qprintf(a->quiet, "Image resized.\n");
    ret = 0;
out:
    bdrv_unref(bs);
    return ret;
}

int img_resize(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "preallocation", required_argument, NULL, IMG_OPT_PREALLOCATION },
        { "shrink", no_argument, NULL, IMG_OPT_SHRINK },
        { NULL, 0, NULL, 0 },
    };
    struct img_resize_args a = { .prealloc = "off" };
    const char *size;
    int c;

    /* The size is taken off the end first, so that "-1G" is no option. */
    if (argc < 3) {
        img_error_exit("Not enough arguments");
    }
    size = argv[--argc];
    while ((c = img_getopt(argc, argv, ":f:hq", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            a.fmt = optarg;
            break;
        case 'q':
            a.quiet = true;
            break;
        case IMG_OPT_PREALLOCATION:
            if (!img_prealloc_valid(optarg)) {
                img_error("Invalid preallocation mode '%s'", optarg);
                return 1;
            }
            a.prealloc = optarg;
            break;
        case IMG_OPT_SHRINK:
            a.shrink = true;
            break;
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting image file name and size");
    }
    a.filename = argv[optind];
    if (size[0] == '+' || size[0] == '-') {
        a.relative = size[0] == '+' ? 1 : -1;
        size++;
    }
    if (!img_resize_parse(size, &a.n)) {
        return 1;
    }
    return img_resize_image(&a);
}
