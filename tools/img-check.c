/*
 * hyvm-img check: qemu-img check's options, repair pass, summary and exit
 * codes (0 clean, 1 check failed, 2 corruptions, 3 leaks, 63 no check for
 * this format), over the driver's check callback.
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

/* qemu-img's exit code for a format without checks. */
#define IMG_CHECK_UNSUPPORTED 63

static int img_run_check(struct bdrv *bs, struct bdrv_check_result *res, int fix)
{
    memset(res, 0, sizeof(*res));
    if (!bs->drv->check) {
        return -ENOTSUP;
    }
    return bs->drv->check(bs, res, fix);
}

static void img_json_int(JsonBuilder *b, const char *name, int64_t v, bool always)
{
    if (always || v) {
        json_builder_set_member_name(b, name);
        json_builder_add_int_value(b, v);
    }
}

/* ImageCheck: the optional members appear when not zero. */
static void img_check_json(const struct bdrv_check_result *r, const char *filename,
                           const char *format, bool quiet)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    JsonNode *root;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, filename);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, format);
    img_json_int(b, "check-errors", r->check_errors, true);
    img_json_int(b, "image-end-offset", r->image_end_offset, false);
    img_json_int(b, "corruptions", r->corruptions, false);
    img_json_int(b, "leaks", r->leaks, false);
    img_json_int(b, "corruptions-fixed", r->corruptions_fixed, false);
    img_json_int(b, "leaks-fixed", r->leaks_fixed, false);
    img_json_int(b, "total-clusters", r->total_clusters, false);
    img_json_int(b, "allocated-clusters", r->allocated_clusters, false);
    img_json_int(b, "fragmented-clusters", r->fragmented_clusters, false);
    img_json_int(b, "compressed-clusters", r->compressed_clusters, false);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    if (!quiet) {
        img_json_print(root);
    }
    json_node_unref(root);
}

static void img_check_human(const struct bdrv_check_result *r, bool quiet)
{
    if (!(r->corruptions || r->leaks || r->check_errors)) {
        img_qprintf(quiet, "No errors were found on the image.\n");
    } else {
        if (r->corruptions) {
            img_qprintf(quiet, "\n%d errors were found on the image.\n"
                        "Data may be corrupted, or further writes to the image may corrupt "
                        "it.\n", r->corruptions);
        }
        if (r->leaks) {
            img_qprintf(quiet, "\n%d leaked clusters were found on the image.\n"
                        "This means waste of disk space, but no harm to data.\n", r->leaks);
        }
        if (r->check_errors) {
            img_qprintf(quiet, "\n%d internal errors have occurred during the check.\n",
                        r->check_errors);
        }
    }
    if (r->total_clusters && r->allocated_clusters) {
        img_qprintf(quiet, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " = %0.2f%% allocated, "
                    "%0.2f%% fragmented, %0.2f%% compressed clusters\n",
                    r->allocated_clusters, r->total_clusters,
                    r->allocated_clusters * 100.0 / r->total_clusters,
                    r->fragmented_clusters * 100.0 / r->allocated_clusters,
                    r->compressed_clusters * 100.0 / r->allocated_clusters);
    }
    if (r->image_end_offset) {
        img_qprintf(quiet, "Image end offset: %" G_GINT64_FORMAT "\n", r->image_end_offset);
    }
}

struct img_check_args {
    const char *fmt;
    const char *filename;
    const char *cache;
    int fix;
    bool json;
    bool quiet;
    bool force_share;
};

/* Check, and with -r repair then check again; returns the exit code. */
static int img_check_image(const struct img_check_args *a)
{
    int flags = BDRV_O_CHECK | (a->fix ? BDRV_O_RDWR : 0);
    struct bdrv_check_result r;
    bool writethrough;
    struct bdrv *bs;
    int ret;

    if (a->cache && img_parse_cache(a->cache, &flags, &writethrough) < 0) {
        img_error("Invalid source cache option: %s", a->cache);
        return 1;
    }
    bs = img_open(a->filename, a->fmt, flags, a->force_share);
    if (!bs) {
        return 1;
    }
    ret = img_run_check(bs, &r, a->fix);
    if (ret == -ENOTSUP) {
        img_error("This image format does not support checks");
        bdrv_unref(bs);
        return IMG_CHECK_UNSUPPORTED;
    }
    if (ret == 0 && (r.corruptions_fixed || r.leaks_fixed)) {
        int leaks_fixed = r.leaks_fixed, corruptions_fixed = r.corruptions_fixed;

        if (!a->json) {
            img_qprintf(a->quiet, "The following inconsistencies were found and repaired:\n\n"
                        "    %d leaked clusters\n    %d corruptions\n\n"
                        "Double checking the fixed image now...\n",
                        leaks_fixed, corruptions_fixed);
        }
        ret = img_run_check(bs, &r, 0);
        r.leaks_fixed = leaks_fixed;
        r.corruptions_fixed = corruptions_fixed;
    }
    if (ret == 0) {
        if (a->json) {
            img_check_json(&r, a->filename, bs->drv->name, a->quiet);
        } else {
            img_check_human(&r, a->quiet);
        }
    }
    bdrv_unref(bs);
    if (ret < 0 || r.check_errors) {
        if (ret < 0) {
            img_error("Check failed: %s", g_strerror(-ret));
        } else {
            img_error("Check failed");
        }
        return 1;
    }
    return r.corruptions ? 2 : r.leaks ? 3 : 0;
}

int img_check(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct img_check_args a = { 0 };
    int c;

    while ((c = img_getopt(argc, argv, ":hf:r:T:qU", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            a.fmt = optarg;
            break;
        case 'r':
            if (!strcmp(optarg, "leaks")) {
                a.fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                a.fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                img_error_exit("Unknown option value for -r (expecting 'leaks' or 'all'): %s",
                               optarg);
            }
            break;
        case 'T':
            a.cache = optarg;
            break;
        case 'q':
            a.quiet = true;
            break;
        case 'U':
            a.force_share = true;
            break;
        case IMG_OPT_OUTPUT:
            if (img_parse_output(optarg, &a.json) < 0) {
                return 1;
            }
            break;
        }
    }
    a.filename = img_one_filename(argc, argv);
    return img_check_image(&a);
}
