/*
 * hyvm-img amend: qemu-img amend's -o over the driver's amend callback,
 * with its option help, option checks and messages.
 *
 * Threads: main thread.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

/*
 * The create options a qcow2 image can change afterwards (QEMU's
 * qcow2_amend_opts); the rest are "only supported for image creation".
 * block.h has no amend list per driver: this is qcow2's, the one amender.
 */
static const char *const img_amend_names[] = {
    "backing_file", "backing_fmt", "compat", "data_file", "data_file_raw",
    "lazy_refcounts", "refcount_bits", "size", NULL,
};

static bool img_amendable(const char *name)
{
    for (size_t i = 0; img_amend_names[i]; i++) {
        if (!strcmp(img_amend_names[i], name)) {
            return true;
        }
    }
    return false;
}

static int img_amend_help(const char *fmt)
{
    const struct block_driver *drv = bdrv_find_format(fmt);

    if (!drv) {
        img_error("Unknown file format '%s'", fmt);
        return 1;
    }
    if (!drv->amend) {
        img_error("Format driver '%s' does not support option amendment", fmt);
        return 1;
    }
    printf("Amend options for '%s':\n", fmt);
    /* img_amend_names is sorted as QEMU's help is. */
    for (size_t i = 0; img_amend_names[i]; i++) {
        const struct create_opt_desc *d = img_create_opt_find(drv, img_amend_names[i]);
        const char *type;
        char *head;

        if (!d) {
            continue;
        }
        type = d->type == CREATE_OPT_BOOL ? "bool (on/off)"
               : d->type == CREATE_OPT_NUMBER ? "num"
               : d->type == CREATE_OPT_SIZE ? "size" : "str";
        head = g_strdup_printf("%s=<%s>", d->name, type);
        printf("  %-22s", head);
        if (d->help) {
            printf(" - %s", d->help);
        }
        printf("\n");
        g_free(head);
    }
    return 0;
}

/* Checks -o against the amendable options; prints QEMU's message. */
static struct kv_list *img_amend_opts(const struct block_driver *drv, const char *options)
{
    GError *err = NULL;
    struct kv_list *l = img_create_opts_parse(drv, options, NULL, &err);

    if (!l) {
        img_error("%s", err->message);
        g_error_free(err);
        return NULL;
    }
    for (unsigned i = 0; i < l->n; i++) {
        if (!img_amendable(l->items[i].key)) {
            img_error("Invalid parameter '%s'", l->items[i].key);
            fprintf(stderr, "This option is only supported for image creation\n");
            kv_free(l);
            return NULL;
        }
    }
    return l;
}

struct img_amend_args {
    const char *fmt;
    const char *cache;
    const char *filename;
    char *options;
    bool progress;
    bool quiet;
    bool force;
};

static int img_amend_image(struct img_amend_args *a)
{
    int flags = BDRV_O_RDWR;
    bool writethrough = false;
    struct kv_list *opts = NULL;
    GError *err = NULL;
    struct bdrv *bs;
    int ret = 1;

    if (img_parse_cache(a->cache ? a->cache : "writeback", &flags, &writethrough) < 0) {
        img_error("Invalid cache option: %s", a->cache);
        return 1;
    }
    bs = img_open(a->filename, a->fmt, flags, false);
    if (!bs) {
        return 1;
    }
    if (img_opts_want_help(a->options)) {
        ret = img_amend_help(bs->drv->name);
        goto out;
    }
    if (!bs->drv->amend) {
        img_error("Format driver '%s' does not support option amendment", bs->drv->name);
        goto out;
    }
    opts = img_amend_opts(bs->drv, a->options);
    if (!opts) {
        goto out;
    }
    img_progress_init(a->progress && !a->quiet, 1.0);
    /* The driver reports no progress of its own: 0 before, 100 after. */
    img_progress_print(0.f, 0);
    if (bs->drv->amend(bs, opts, a->force, &err) < 0) {
        img_progress_end();
        img_error("%s", err ? err->message : "Amending the image failed");
        g_clear_error(&err);
        goto out;
    }
    bdrv_flush(bs);
    img_progress_print(100.f, 0);
    img_progress_end();
    ret = 0;
out:
    if (opts) {
        kv_free(opts);
    }
    bdrv_unref(bs);
    return ret;
}

int img_amend(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force", no_argument, NULL, IMG_OPT_FORCE },
        { NULL, 0, NULL, 0 },
    };
    struct img_amend_args a = { 0 };
    int c, ret = 1;

    while ((c = img_getopt(argc, argv, ":ho:f:t:pq", long_opts, 1)) != -1) {
        switch (c) {
        case 'o':
            if (!img_opts_add(&a.options, optarg)) {
                goto out;
            }
            break;
        case 'f':
            a.fmt = optarg;
            break;
        case 't':
            a.cache = optarg;
            break;
        case 'p':
            a.progress = true;
            break;
        case 'q':
            a.quiet = true;
            break;
        case IMG_OPT_FORCE:
            a.force = true;
            break;
        }
    }
    if (!a.options) {
        img_error_exit("Must specify options (-o)");
    }
    if (a.fmt && img_opts_want_help(a.options)) {
        ret = img_amend_help(a.fmt);
        goto out;
    }
    if (optind != argc - 1) {
        img_error("Expecting one image file name");
        goto out;
    }
    a.filename = argv[optind];
    ret = img_amend_image(&a);
out:
    g_free(a.options);
    return ret;
}
