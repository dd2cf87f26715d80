/*
 * hyvm-img create: qemu-img create's options, checks, "Formatting ..." line
 * and messages (QEMU 7.2's bdrv_img_create), over bdrv_create().
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

/*
 * The order and defaults of the "Formatting" line: QEMU prints its merged
 * option list (the format's, then the protocol's) in declaration order, each
 * option that is set or has a default.
 */
struct img_fmt_field {
    const char *name;
    const char *def;
};

static const struct img_fmt_field img_qcow2_fields[] = {
    { "encryption", NULL },       { "encrypt.format", NULL },  { "encrypt.key-secret", NULL },
    { "encrypt.cipher-alg", NULL }, { "cluster_size", "65536" }, { "extended_l2", "off" },
    { "preallocation", NULL },    { "compression_type", "zlib" }, { "size", NULL },
    { "compat", NULL },           { "backing_file", NULL },    { "backing_fmt", NULL },
    { "data_file", NULL },        { "data_file_raw", NULL },   { "lazy_refcounts", "off" },
    { "refcount_bits", "16" },    { "nocow", NULL },           { "extent_size_hint", NULL },
    { NULL, NULL },
};

static const struct img_fmt_field img_file_fields[] = {
    { "size", NULL }, { "nocow", NULL }, { "preallocation", NULL },
    { "extent_size_hint", NULL }, { NULL, NULL },
};

/* The backing file as seen from the new image: relative names are relative
 * to the new image's directory. */
static char *img_backing_path(const char *filename, const char *backing)
{
    char *dir, *path;

    if (g_path_is_absolute(backing)) {
        return g_strdup(backing);
    }
    dir = g_path_get_dirname(filename);
    path = strcmp(dir, ".") ? g_build_filename(dir, backing, NULL) : g_strdup(backing);
    g_free(dir);
    return path;
}

/* Opens the backing image to check it and learn its size (and format when
 * none was given, for the 7.2 error).  Returns 0 or -1 after printing. */
static int img_create_backing(const char *filename, const char *backing, const char *bfmt,
                              int64_t *size)
{
    char *path = img_backing_path(filename, backing);
    GError *err = NULL;
    struct bdrv *bs;
    int64_t len;

    /* The whole chain, read-only and sharing (QEMU opens it force-share=on:
     * a running guest's image may be the base). */
    bs = bdrv_open(path, bfmt, NULL, BDRV_O_NO_IO | BDRV_O_FORCE_SHARE, &err);
    g_free(path);
    if (!bs) {
        img_error("%s: %s\nCould not open backing image.", filename, err->message);
        g_error_free(err);
        return -1;
    }
    if (!bfmt) {
        /* QEMU 7.2 refuses an implied backing format; its hint has no
         * newline at the end. */
        fflush(stdout);
        fprintf(stderr, "%s: %s: Backing file specified without backing format\n"
                        "Detected format of %s.", img_progname(), filename, bs->drv->name);
        bdrv_unref(bs);
        return -1;
    }
    len = bdrv_length(bs);
    bdrv_unref(bs);
    if (len < 0) {
        img_error("%s: Could not get size of '%s': %s", filename, backing,
                  g_strerror((int)-len));
        return -1;
    }
    if (*size < 0) {
        *size = len;
    }
    return 0;
}

static void img_append_field(GString *line, GHashTable *printed, const char *name,
                             const char *value)
{
    if (value && !g_hash_table_contains(printed, name)) {
        g_string_append_printf(line, " %s=%s", name, value);
        g_hash_table_add(printed, (gpointer)name);
    }
}

/* What is set and has no place in the table comes after, in the order the
 * driver (then the protocol) declares it. */
static void img_append_rest(GString *line, GHashTable *printed, GHashTable *shown,
                            const struct create_opt_desc *d, bool with_defaults)
{
    for (; d && d->name; d++) {
        const char *v = g_hash_table_lookup(shown, d->name);

        img_append_field(line, printed, d->name, v ? v : with_defaults ? d->def : NULL);
    }
}

static void img_print_formatting(const char *filename, const char *fmt,
                                 const struct block_driver *drv, GHashTable *shown)
{
    const struct block_driver *proto = bdrv_find_format("file");
    const struct img_fmt_field *fields = NULL;
    GHashTable *printed = g_hash_table_new(g_str_hash, g_str_equal);
    GString *line = g_string_new(NULL);

    if (!strcmp(fmt, "qcow2")) {
        fields = img_qcow2_fields;
    } else if (!strcmp(fmt, "raw") || !strcmp(fmt, "file")) {
        fields = img_file_fields;
    }
    g_string_printf(line, "Formatting '%s', fmt=%s", filename, fmt);
    for (; fields && fields->name; fields++) {
        const char *v = g_hash_table_lookup(shown, fields->name);

        img_append_field(line, printed, fields->name, v ? v : fields->def);
    }
    img_append_rest(line, printed, shown, drv->create_opts, !fields);
    if (proto && proto != drv) {
        img_append_rest(line, printed, shown, proto->create_opts, false);
    }
    printf("%s\n", line->str);
    fflush(stdout);
    g_string_free(line, TRUE);
    g_hash_table_destroy(printed);
}

struct img_create_args {
    const char *fmt;
    const char *base_fmt;
    const char *base_filename;
    const char *filename;
    char *options;
    int64_t size; /* -1: not given */
    bool quiet;
    bool unsafe;
};

/* bdrv_img_create: checks, backing, "Formatting", then the driver. */
static int img_create_image(struct img_create_args *a)
{
    const struct block_driver *drv = bdrv_find_format(a->fmt);
    struct {
        struct kv_list *drv_opts; /* what bdrv_create gets */
        GHashTable *shown;        /* name -> value the "Formatting" line shows */
    } o;
    const char *bfile, *bfmt, *osize;
    GError *err = NULL;
    int ret = 1;

    if (!drv) {
        img_error("%s: Unknown file format '%s'", a->filename, a->fmt);
        return 1;
    }
    o.shown = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    o.drv_opts = img_create_opts_parse(drv, a->options, o.shown, &err);
    if (!o.drv_opts) {
        img_error("%s: %s", a->filename, err->message);
        g_error_free(err);
        g_hash_table_destroy(o.shown);
        return 1;
    }
    osize = kv_get(o.drv_opts, "size");
    if (osize && a->size >= 0) {
        img_error("%s: The image size must be specified only once", a->filename);
        goto out;
    }
    if (osize) {
        a->size = g_ascii_strtoll(osize, NULL, 10);
    }
    if (a->base_filename) {
        if (!img_create_opt_find(drv, "backing_file")) {
            img_error("%s: Backing file not supported for file format '%s'", a->filename,
                      a->fmt);
            goto out;
        }
        img_kv_set(o.drv_opts, "backing_file", a->base_filename);
        g_hash_table_insert(o.shown, g_strdup("backing_file"), g_strdup(a->base_filename));
    }
    if (a->base_fmt) {
        if (!img_create_opt_find(drv, "backing_fmt")) {
            img_error("%s: Backing file format not supported for file format '%s'",
                      a->filename, a->fmt);
            goto out;
        }
        img_kv_set(o.drv_opts, "backing_fmt", a->base_fmt);
        g_hash_table_insert(o.shown, g_strdup("backing_fmt"), g_strdup(a->base_fmt));
    }
    bfile = kv_get(o.drv_opts, "backing_file");
    bfmt = kv_get(o.drv_opts, "backing_fmt");
    if (bfile && !strcmp(bfile, a->filename)) {
        img_error("%s: Error: Trying to create an image with the same filename as the backing "
                  "file", a->filename);
        goto out;
    }
    if (bfile && !bfile[0]) {
        img_error("%s: Expected backing file name, got empty string", a->filename);
        goto out;
    }
    if (bfile && !bfmt && a->unsafe) {
        img_error("%s: Backing file specified without backing format", a->filename);
        goto out;
    }
    if (bfile && !a->unsafe && img_create_backing(a->filename, bfile, bfmt, &a->size) < 0) {
        goto out;
    }
    if (a->size < 0) {
        img_error("%s: Image creation needs a size parameter", a->filename);
        goto out;
    }
    g_hash_table_insert(o.shown, g_strdup("size"),
                        g_strdup_printf("%" G_GINT64_FORMAT, a->size));
    if (!a->quiet) {
        img_print_formatting(a->filename, a->fmt, drv, o.shown);
    }
    if (bfmt && !bfile) {
        img_error("%s: Backing format cannot be used without backing file", a->filename);
        goto out;
    }
    if (bdrv_create(a->fmt, a->filename, (uint64_t)a->size, o.drv_opts, &err) < 0) {
        img_error("%s: %s", a->filename, err ? err->message : "Could not create image");
        g_clear_error(&err);
        goto out;
    }
    ret = 0;
out:
    kv_free(o.drv_opts);
    g_hash_table_destroy(o.shown);
    return ret;
}

int img_create(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { NULL, 0, NULL, 0 },
    };
    struct img_create_args a = { .fmt = "raw", .size = -1 };
    int c, ret;

    while ((c = img_getopt(argc, argv, ":F:b:f:ho:qu", long_opts, 1)) != -1) {
        switch (c) {
        case 'F':
            a.base_fmt = optarg;
            break;
        case 'b':
            a.base_filename = optarg;
            break;
        case 'f':
            a.fmt = optarg;
            break;
        case 'o':
            if (!img_opts_add(&a.options, optarg)) {
                return 1;
            }
            break;
        case 'q':
            a.quiet = true;
            break;
        case 'u':
            a.unsafe = true;
            break;
        }
    }
    a.filename = optind < argc ? argv[optind] : NULL;
    if (img_opts_want_help(a.options)) {
        ret = img_print_opts_help(a.fmt, a.filename);
        g_free(a.options);
        return ret;
    }
    if (optind >= argc) {
        img_error_exit("Expecting image file name");
    }
    optind++;
    if (optind < argc && img_parse_image_size(argv[optind++], &a.size) < 0) {
        g_free(a.options);
        return 1;
    }
    if (optind != argc) {
        img_error_exit("Unexpected argument: %s", argv[optind]);
    }
    ret = img_create_image(&a);
    g_free(a.options);
    return ret;
}
