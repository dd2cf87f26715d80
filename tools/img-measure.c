/*
 * hyvm-img measure: qemu-img measure's --size / input image, -O and -o,
 * human and JSON output, over the output driver's measure callback.
 *
 * Threads: main thread.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

struct img_measure_args {
    const char *fmt;
    const char *out_fmt;
    const char *filename;
    const char *snapshot;
    char *options;
    int64_t size; /* -1 without --size */
    bool json;
    bool force_share;
};

static void img_measure_print(const struct bdrv_measure *m, bool bitmaps, bool json)
{
    if (!json) {
        printf("required size: %" PRIu64 "\n", m->required);
        printf("fully allocated size: %" PRIu64 "\n", m->fully_allocated);
        if (bitmaps) {
            printf("bitmaps size: %" PRIu64 "\n", m->bitmaps);
        }
    } else {
        g_autoptr(JsonBuilder) b = json_builder_new();
        JsonNode *root;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "required");
        json_builder_add_int_value(b, (int64_t)m->required);
        json_builder_set_member_name(b, "fully-allocated");
        json_builder_add_int_value(b, (int64_t)m->fully_allocated);
        if (bitmaps) {
            json_builder_set_member_name(b, "bitmaps");
            json_builder_add_int_value(b, (int64_t)m->bitmaps);
        }
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        img_json_print(root);
        json_node_unref(root);
    }
}

static int img_measure_run(struct img_measure_args *a)
{
    const struct block_driver *drv;
    struct bdrv *in = NULL;
    struct kv_list *opts = NULL;
    struct bdrv_measure m = { 0 };
    GError *err = NULL;
    uint64_t size;
    char num[32];
    int ret = 1;

    if (a->filename) {
        in = img_open(a->filename, a->fmt, 0, a->force_share);
        if (!in) {
            return 1;
        }
        if (a->snapshot) {
            img_error("Failed to load snapshot: loading an internal snapshot for reading is "
                      "not supported");
            goto out;
        }
    }
    drv = bdrv_find_format(a->out_fmt);
    if (!drv) {
        img_error("Unknown file format '%s'", a->out_fmt);
        goto out;
    }
    if (!drv->create_opts) {
        img_error("Format driver '%s' does not support image creation", drv->name);
        goto out;
    }
    opts = img_create_opts_parse(drv, a->options, NULL, &err);
    if (!opts) {
        img_error("%s", err->message);
        img_error("Invalid options for file format '%s'", a->out_fmt);
        g_error_free(err);
        goto out;
    }
    if (a->size >= 0) {
        snprintf(num, sizeof(num), "%" PRId64, a->size);
        img_kv_set(opts, "size", num);
    }
    if (!drv->measure) {
        img_error("Block driver '%s' does not support size measurement", drv->name);
        goto out;
    }
    if (in) {
        int64_t len = bdrv_length(in);

        if (len < 0) {
            img_error("Failed to get size of '%s': %s", a->filename, g_strerror((int)-len));
            goto out;
        }
        size = (uint64_t)len;
    } else {
        size = kv_get(opts, "size") ? g_ascii_strtoull(kv_get(opts, "size"), NULL, 10) : 0;
    }
    if (drv->measure(opts, in, size, &m, &err) < 0) {
        img_error("%s", err ? err->message : "Size measurement failed");
        g_clear_error(&err);
        goto out;
    }
    /* QEMU reports the bitmaps' size when the target can hold persistent
     * bitmaps (qcow2) and the source could have them (qcow2). */
    img_measure_print(&m, in && !strcmp(drv->name, "qcow2") && !strcmp(in->drv->name, "qcow2"),
                      a->json);
    ret = 0;
out:
    if (opts) {
        kv_free(opts);
    }
    if (in) {
        bdrv_unref(in);
    }
    return ret;
}

int img_measure(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "size", required_argument, NULL, IMG_OPT_SIZE },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct img_measure_args a = { .out_fmt = "raw", .size = -1 };
    int c, ret;

    while ((c = img_getopt(argc, argv, ":hf:O:o:l:U", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            a.fmt = optarg;
            break;
        case 'O':
            a.out_fmt = optarg;
            break;
        case 'o':
            if (!img_opts_add(&a.options, optarg)) {
                return 1;
            }
            break;
        case 'l':
            a.snapshot = optarg;
            break;
        case 'U':
            a.force_share = true;
            break;
        case IMG_OPT_OUTPUT:
            if (img_parse_output(optarg, &a.json) < 0) {
                g_free(a.options);
                return 1;
            }
            break;
        case IMG_OPT_SIZE:
            a.size = img_cvtnum("image size", optarg, 0, INT64_MAX);
            if (a.size < 0) {
                g_free(a.options);
                return 1;
            }
            break;
        }
    }
    ret = 1;
    if (argc - optind > 1) {
        img_error("At most one filename argument is allowed.");
        goto out;
    }
    a.filename = argc - optind == 1 ? argv[optind] : NULL;
    if (!a.filename && (a.fmt || a.snapshot)) {
        img_error("--image-opts, -f, and -l require a filename argument.");
    } else if (a.filename && a.size >= 0) {
        img_error("--size N cannot be used together with a filename.");
    } else if (!a.filename && a.size < 0) {
        img_error("Either --size N or one filename must be specified.");
    } else {
        ret = img_measure_run(&a);
    }
out:
    g_free(a.options);
    return ret;
}
