/*
 * hyvm-img: messages, option helpers, size parsing and printing, image
 * opening, "-o help", progress and QEMU-ordered JSON, shared by the
 * subcommands.  See img-common.h for each contract.
 *
 * Threads: the main thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hyvm-version.h"
#include "qapi/qmp.h"
#include "tools/img-common.h"

static char *img_prog;

void img_set_progname(const char *argv0)
{
    g_free(img_prog);
    img_prog = g_path_get_basename(argv0 && *argv0 ? argv0 : "hyvm-img");
}

const char *img_progname(void)
{
    return img_prog ? img_prog : "hyvm-img";
}

void img_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", img_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void img_warn(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: warning: ", img_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void img_error_exit(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", img_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information\n", img_progname());
    exit(1);
}

void img_qprintf(bool quiet, const char *fmt, ...)
{
    va_list ap;

    if (quiet) {
        return;
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

void img_help(void)
{
    const char *const *fmts = bdrv_format_names();

    printf("%s version " HYVM_VERSION " (qemu-img " HYVM_QEMU_VERSION " command line)\n"
           "usage: %s [standard options] command [command options]\n"
           "QEMU disk image utility\n\n"
           "    '-h', '--help'       display this help and exit\n"
           "    '-V', '--version'    output version information and exit\n\n"
           "Command syntax (as qemu-img's; --object and --image-opts are refused):\n"
           "  amend [-p] [-q] [-f fmt] [-t cache] [--force] -o options filename\n"
           "  bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-i aio] "
           "[-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] "
           "[-S step_size] [-t cache] [-w] [-U] filename\n"
           "  check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U] "
           "filename\n"
           "  commit [-q] [-f fmt] [-t cache] [-b base] [-r rate_limit] [-d] [-p] filename\n"
           "  compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1 "
           "filename2\n"
           "  convert [-U] [-C] [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] "
           "[-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] "
           "[-S sparse_size] [-r rate_limit] [-m num_coroutines] [-W] filename "
           "[filename2 [...]] output_filename\n"
           "  create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] "
           "filename [size]\n"
           "  dd [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] "
           "if=input of=output\n"
           "  info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename\n"
           "  map [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] "
           "filename\n"
           "  measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [-f fmt] "
           "filename]\n"
           "  snapshot [-U] [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename\n"
           "  rebase [-U] [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file "
           "[-F backing_fmt] filename\n"
           "  resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename "
           "[+ | -]size\n\n"
           "Sizes take the suffixes k, M, G, T, P and E (powers of 1024); cache modes are\n"
           "none, writeback, writethrough, directsync and unsafe.\n\n"
           "Supported formats:",
           img_progname(), img_progname());
    for (size_t i = 0; fmts && fmts[i]; i++) {
        printf(" %s", fmts[i]);
    }
    printf("\n");
    exit(0);
}

void img_unrecognized_option(const char *option)
{
    img_error_exit("unrecognized option '%s'", option);
}

void img_missing_argument(const char *option)
{
    img_error_exit("missing argument for option '%s'", option);
}

int img_refuse_object(const char *arg)
{
    img_error("--object '%s': objects (secrets, throttle groups) are not supported", arg);
    return 1;
}

int img_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               int refused)
{
    int c = getopt_long(argc, argv, optstring, longopts, NULL);

    switch (c) {
    case ':':
        img_missing_argument(argv[optind - 1]);
    case '?':
        img_unrecognized_option(argv[optind - 1]);
    case 'h':
        img_help();
    case IMG_OPT_OBJECT:
        img_refuse_object(optarg);
        exit(refused);
    case IMG_OPT_IMAGE_OPTS:
        img_refuse_image_opts();
        exit(refused);
    }
    return c;
}

const char *img_one_filename(int argc, char **argv)
{
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    return argv[optind];
}

int img_refuse_image_opts(void)
{
    img_error("--image-opts is not supported: give a plain filename and -f");
    return 1;
}

int img_parse_output(const char *arg, bool *json)
{
    if (!strcmp(arg, "json")) {
        *json = true;
        return 0;
    }
    if (!strcmp(arg, "human")) {
        *json = false;
        return 0;
    }
    img_error("--output must be used with human or json as argument.");
    return -1;
}

int img_parse_cache(const char *mode, int *flags, bool *writethrough)
{
    int f = *flags & ~(BDRV_O_NOCACHE | BDRV_O_NO_FLUSH);

    if (!strcmp(mode, "off") || !strcmp(mode, "none")) {
        f |= BDRV_O_NOCACHE;
        *writethrough = false;
    } else if (!strcmp(mode, "directsync")) {
        f |= BDRV_O_NOCACHE;
        *writethrough = true;
    } else if (!strcmp(mode, "writeback")) {
        *writethrough = false;
    } else if (!strcmp(mode, "unsafe")) {
        f |= BDRV_O_NO_FLUSH;
        *writethrough = false;
    } else if (!strcmp(mode, "writethrough")) {
        *writethrough = true;
    } else {
        return -1;
    }
    *flags = f;
    return 0;
}

/* The power of 1024 a suffix letter stands for, or -1. */
static int img_suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B': return 0;
    case 'K': return 10;
    case 'M': return 20;
    case 'G': return 30;
    case 'T': return 40;
    case 'P': return 50;
    case 'E': return 60;
    default: return -1;
    }
}

int img_parse_size(const char *s, int64_t *out)
{
    const char *p = s;
    uint64_t whole = 0, mul = 1, frac_bytes = 0;
    double frac = 0;
    bool hex = false, has_frac = false, any = false;
    int shift = 0;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && g_ascii_isxdigit(p[2])) {
        hex = true;
        p += 2;
    }
    for (; hex ? g_ascii_isxdigit(*p) : g_ascii_isdigit(*p); p++) {
        unsigned d = (unsigned)g_ascii_xdigit_value(*p);

        if (whole > (UINT64_MAX - d) / (hex ? 16 : 10)) {
            return -ERANGE;
        }
        whole = whole * (hex ? 16 : 10) + d;
        any = true;
    }
    if (!hex && *p == '.' && g_ascii_isdigit(p[1])) {
        char *end;

        /* The fraction is read as a double, as QEMU does ("0.99E"). */
        frac = g_ascii_strtod(p, &end);
        p = end;
        has_frac = true;
    }
    if (!any) {
        return -EINVAL;
    }
    if (*p) {
        shift = img_suffix_shift(*p);
        if (shift < 0) {
            return -EINVAL;
        }
        if (hex && shift) {
            img_warn("Using a multiplier suffix on hex numbers is deprecated: %s", s);
        }
        p++;
    }
    if (*p || (has_frac && shift == 0)) {
        return -EINVAL;
    }
    mul = (uint64_t)1 << shift;
    if (has_frac) {
        frac_bytes = (uint64_t)(frac * (double)mul);
    }
    if (whole > (UINT64_MAX - frac_bytes) / mul) {
        return -ERANGE;
    }
    whole = whole * mul + frac_bytes;
    if (whole > INT64_MAX) {
        return -ERANGE;
    }
    *out = (int64_t)whole;
    return 0;
}

int64_t img_cvtnum(const char *name, const char *value, int64_t min, int64_t max)
{
    int64_t v = 0;
    int ret = img_parse_size(value, &v);

    if (ret < 0 && ret != -ERANGE) {
        img_error("Invalid %s specified. You may use k, M, G, T, P or E suffixes for", name);
        img_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
        return ret;
    }
    if (ret == -ERANGE || v < min || v > max) {
        img_error("Invalid %s specified. Must be between %" PRId64 " and %" PRId64 ".", name,
                  min, max);
        return -ERANGE;
    }
    return v;
}

int img_parse_image_size(const char *s, int64_t *out)
{
    int64_t v = img_cvtnum("image size", s, 0, INT64_MAX);

    if (v < 0) {
        return -1;
    }
    *out = v;
    return 0;
}

char *img_size_to_str(uint64_t bytes)
{
    static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int exp, i;

    /* Pick the unit in which the value is below 1000 (so "1000 KiB" reads
     * "0.977 MiB"), as QEMU's size_to_str: the binary exponent of
     * bytes * 1024 / 1000, ten bits per unit. */
    frexp((double)bytes / (1000.0 / 1024.0), &exp);
    i = exp > 0 ? (exp - 1) / 10 : 0;
    if (i > 6) {
        i = 6;
    }
    return g_strdup_printf("%0.3g %sB", (double)bytes / (double)((uint64_t)1 << (i * 10)),
                           units[i]);
}

struct bdrv *img_open(const char *filename, const char *fmt, int flags, bool force_share)
{
    GError *err = NULL;
    struct bdrv *bs;

    if (force_share) {
        if (flags & BDRV_O_RDWR) {
            img_error("Could not open '%s': force-share=on can only be used with read-only "
                      "images", filename);
            return NULL;
        }
        flags |= BDRV_O_FORCE_SHARE;
    }
    bs = bdrv_open(filename, fmt, NULL, flags, &err);
    if (!bs) {
        img_error("Could not open '%s': %s", filename, err ? err->message : "unknown error");
        g_clear_error(&err);
        return NULL;
    }
    return bs;
}

bool img_opts_want_help(const char *opts)
{
    bool help = false;
    char **parts;

    if (!opts) {
        return false;
    }
    parts = g_strsplit(opts, ",", -1);
    for (char **p = parts; *p; p++) {
        if (!strcmp(*p, "help") || !strcmp(*p, "?")) {
            help = true;
        }
    }
    g_strfreev(parts);
    return help;
}

static bool img_opts_valid(const char *opts)
{
    size_t len = strlen(opts), i = len;

    /* QEMU refuses an empty list, a leading comma, and a trailing lone
     * comma (",," is an escaped comma), which would swallow what qemu-img
     * appends after it. */
    if (!opts[0] || opts[0] == ',') {
        return false;
    }
    while (i > 0 && opts[i - 1] == ',') {
        i--;
    }
    return (len - i) % 2 == 0;
}

bool img_opts_add(char **accum, const char *arg)
{
    char *old = *accum;

    if (!img_opts_valid(arg)) {
        img_error("Invalid option list: %s", arg);
        g_free(old);
        *accum = NULL;
        return false;
    }
    *accum = old ? g_strdup_printf("%s,%s", old, arg) : g_strdup(arg);
    g_free(old);
    return true;
}

static const struct create_opt_desc *img_find_desc(const struct create_opt_desc *d,
                                                   const char *name)
{
    for (; d && d->name; d++) {
        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

const struct create_opt_desc *img_create_opt_find(const struct block_driver *drv,
                                                  const char *name)
{
    const struct block_driver *proto = bdrv_find_format("file");
    const struct create_opt_desc *d = img_find_desc(drv->create_opts, name);

    if (!d && proto && proto != drv) {
        d = img_find_desc(proto->create_opts, name);
    }
    return d;
}

void img_kv_set(struct kv_list *l, const char *key, const char *value)
{
    for (unsigned i = 0; i < l->n; i++) {
        if (!strcmp(l->items[i].key, key)) {
            g_free(l->items[i].value);
            l->items[i].value = g_strdup(value);
            return;
        }
    }
    l->items = g_renew(struct kv_pair, l->items, l->n + 1);
    l->items[l->n].key = g_strdup(key);
    l->items[l->n].value = g_strdup(value);
    l->n++;
}

/* Checks one value against its description (QEMU's QemuOpt types); sets
 * what the driver gets and what "Formatting" shows. */
static bool img_check_opt(const struct create_opt_desc *d, const char *value, char **drv_val,
                          char **shown, GError **errp)
{
    uint64_t u;
    int64_t s;
    bool b;

    switch (d->type) {
    case CREATE_OPT_BOOL:
        if (!parse_bool(value, &b)) {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "Parameter '%s' expects 'on' or 'off'", d->name);
            return false;
        }
        *drv_val = g_strdup(b ? "on" : "off");
        *shown = g_strdup(value);
        return true;
    case CREATE_OPT_NUMBER:
        if (parse_uint(value, &u) < 0) {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "Parameter '%s' expects a number", d->name);
            return false;
        }
        *drv_val = g_strdup_printf("%" G_GUINT64_FORMAT, u);
        break;
    case CREATE_OPT_SIZE:
        if (img_parse_size(value, &s) < 0) {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "Parameter '%s' expects a non-negative number below 2^64\n"
                        "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, "
                        "peta-\nand exabytes, respectively.", d->name);
            return false;
        }
        *drv_val = g_strdup_printf("%" G_GINT64_FORMAT, s);
        break;
    default:
        *drv_val = g_strdup(value);
        break;
    }
    *shown = g_strdup(*drv_val);
    return true;
}

struct kv_list *img_create_opts_parse(const struct block_driver *drv, const char *options,
                                      GHashTable *shown, GError **errp)
{
    struct kv_list *out = g_new0(struct kv_list, 1);
    struct kv_list *l = NULL;

    if (options && !(l = kv_parse(options, NULL, errp))) {
        kv_free(out);
        return NULL;
    }
    for (unsigned i = 0; l && i < l->n; i++) {
        const struct create_opt_desc *d = img_create_opt_find(drv, l->items[i].key);
        char *dv, *sv;

        if (!d) {
            g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                        "Invalid parameter '%s'", l->items[i].key);
            goto fail;
        }
        if (!img_check_opt(d, l->items[i].value, &dv, &sv, errp)) {
            goto fail;
        }
        img_kv_set(out, d->name, dv);
        if (shown) {
            g_hash_table_insert(shown, g_strdup(d->name), sv);
        } else {
            g_free(sv);
        }
        g_free(dv);
    }
    if (l) {
        kv_free(l);
    }
    return out;
fail:
    kv_free(l);
    kv_free(out);
    return NULL;
}

static const char *img_opt_type_str(enum create_opt_type t)
{
    switch (t) {
    case CREATE_OPT_BOOL: return "bool (on/off)";
    case CREATE_OPT_NUMBER: return "num";
    case CREATE_OPT_SIZE: return "size";
    default: return "str";
    }
}

static gint img_desc_cmp(gconstpointer a, gconstpointer b)
{
    const struct create_opt_desc *x = *(const struct create_opt_desc *const *)a;
    const struct create_opt_desc *y = *(const struct create_opt_desc *const *)b;

    return strcmp(x->name, y->name);
}

/* Adds the descs whose names are not in list yet (the format's own win). */
static void img_add_descs(GPtrArray *list, const struct create_opt_desc *descs)
{
    for (; descs && descs->name; descs++) {
        bool dup = false;

        for (guint i = 0; i < list->len; i++) {
            const struct create_opt_desc *d = g_ptr_array_index(list, i);

            dup |= !strcmp(d->name, descs->name);
        }
        if (!dup) {
            g_ptr_array_add(list, (gpointer)descs);
        }
    }
}

int img_print_opts_help(const char *fmt, const char *filename)
{
    const struct block_driver *drv = bdrv_find_format(fmt);
    GPtrArray *list;

    if (!drv) {
        img_error("Unknown file format '%s'", fmt);
        return 1;
    }
    list = g_ptr_array_new();
    img_add_descs(list, drv->create_opts);
    if (filename) {
        const struct block_driver *proto = bdrv_find_format("file");

        if (proto && proto != drv) {
            img_add_descs(list, proto->create_opts);
        }
    }
    g_ptr_array_sort(list, img_desc_cmp);
    if (filename) {
        printf("Supported options:\n");
    } else {
        printf("Supported %s options:\n", fmt);
    }
    for (guint i = 0; i < list->len; i++) {
        const struct create_opt_desc *d = g_ptr_array_index(list, i);
        char *head = g_strdup_printf("%s=<%s>", d->name, img_opt_type_str(d->type));

        printf("  %-22s", head);
        if (d->help) {
            printf(" - %s", d->help);
        }
        printf("\n");
        g_free(head);
    }
    if (!filename) {
        printf("\nThe protocol level may support further options.\n"
               "Specify the target filename to include those options.\n");
    }
    g_ptr_array_free(list, TRUE);
    return 0;
}

/* Progress, as QEMU's qemu-progress.c keeps it. */
static struct {
    bool on;
    float current;
    float last_print;
    float min_skip;
} img_progress;

void img_progress_init(bool enabled, float min_skip)
{
    img_progress.on = enabled;
    img_progress.current = 0;
    img_progress.last_print = 0;
    img_progress.min_skip = min_skip;
}

void img_progress_print(float delta, int max)
{
    float current = max == 0 ? delta : img_progress.current + delta / 100 * (float)max;

    if (current > 100) {
        current = 100;
    }
    img_progress.current = current;
    if (current > img_progress.last_print + img_progress.min_skip ||
        current < img_progress.last_print - img_progress.min_skip ||
        current == 0 || current == 100) {
        img_progress.last_print = current;
        if (img_progress.on) {
            printf("    (%3.2f/100%%)\r", current);
            fflush(stdout);
        }
    }
}

void img_progress_end(void)
{
    if (img_progress.on) {
        printf("\n");
        fflush(stdout);
    }
    img_progress.on = false;
}

/*
 * QDict's order: 512 buckets chosen by tdb's string hash, walked from bucket
 * 0 up; a bucket lists its keys newest first.
 */
#define IMG_QDICT_BUCKETS 512

static unsigned img_qdict_bucket(const char *key)
{
    size_t len = strlen(key);
    unsigned v = 0x238F13AFu * (unsigned)len;

    for (size_t i = 0; i < len; i++) {
        v += (unsigned)(unsigned char)key[i] << (i * 5 % 24);
    }
    return (1103515243u * v + 12345u) % IMG_QDICT_BUCKETS;
}

struct img_member {
    const char *name;
    unsigned bucket;
    guint index;
};

static gint img_member_cmp(gconstpointer a, gconstpointer b)
{
    const struct img_member *x = a, *y = b;

    if (x->bucket != y->bucket) {
        return x->bucket < y->bucket ? -1 : 1;
    }
    return x->index > y->index ? -1 : x->index < y->index;
}

const char **img_json_members(JsonObject *obj, guint *n)
{
    GList *names = json_object_get_members(obj);
    guint len = g_list_length(names), i = 0;
    struct img_member *m = g_new0(struct img_member, len + 1);
    const char **out = g_new0(const char *, len + 1);

    for (GList *l = names; l; l = l->next, i++) {
        m[i].name = l->data;
        m[i].bucket = img_qdict_bucket(l->data);
        m[i].index = i;
    }
    qsort(m, len, sizeof(*m), (int (*)(const void *, const void *))img_member_cmp);
    for (i = 0; i < len; i++) {
        out[i] = m[i].name;
    }
    g_free(m);
    g_list_free(names);
    *n = len;
    return out;
}

static void img_json_indent(GString *out, int level)
{
    for (int i = 0; i < level; i++) {
        g_string_append(out, "    ");
    }
}

static void img_json_value(GString *out, JsonNode *node, int level)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *obj = json_node_get_object(node);
        guint n;
        const char **names = img_json_members(obj, &n);

        if (!n) {
            g_string_append(out, "{}");
        } else {
            g_string_append(out, "{\n");
            for (guint i = 0; i < n; i++) {
                img_json_indent(out, level + 1);
                qmp_json_append_string(out, names[i]);
                g_string_append(out, ": ");
                img_json_value(out, json_object_get_member(obj, names[i]), level + 1);
                g_string_append(out, i + 1 < n ? ",\n" : "\n");
            }
            img_json_indent(out, level);
            g_string_append_c(out, '}');
        }
        g_free(names);
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(node);
        guint n = json_array_get_length(arr);

        if (!n) {
            /* QEMU's pretty printer opens and closes an empty list on two lines. */
            g_string_append(out, "[\n");
            img_json_indent(out, level);
            g_string_append_c(out, ']');
            break;
        }
        g_string_append(out, "[\n");
        for (guint i = 0; i < n; i++) {
            img_json_indent(out, level + 1);
            img_json_value(out, json_array_get_element(arr, i), level + 1);
            g_string_append(out, i + 1 < n ? ",\n" : "\n");
        }
        img_json_indent(out, level);
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(node)) {
        case G_TYPE_BOOLEAN:
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
            break;
        case G_TYPE_DOUBLE:
            g_string_append_printf(out, "%.17g", json_node_get_double(node));
            break;
        case G_TYPE_STRING:
            qmp_json_append_string(out, json_node_get_string(node));
            break;
        default:
            g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
            break;
        }
        break;
    }
}

void img_json_print(JsonNode *node)
{
    GString *out = g_string_new(NULL);

    img_json_value(out, node, 0);
    printf("%s\n", out->str);
    g_string_free(out, TRUE);
}

/* One row of "Snapshot list:" (QEMU's bdrv_snapshot_dump); NULL = header. */
void img_snapshot_dump(const struct bdrv_snapshot *sn)
{
    char date[64] = "", clock[64], icount[32] = "";
    time_t t;
    struct tm tm;
    uint64_t secs;
    char *size;

    if (!sn) {
        printf("%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
               "ICOUNT");
        return;
    }
    t = (time_t)sn->date_sec;
    if (localtime_r(&t, &tm)) {
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    }
    secs = sn->vm_clock_nsec / 1000000000;
    snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d", (int)(secs / 3600),
             (int)((secs / 60) % 60), (int)(secs % 60),
             (int)((sn->vm_clock_nsec / 1000000) % 1000));
    if (sn->icount != UINT64_MAX) {
        snprintf(icount, sizeof(icount), "%" PRId64, (int64_t)sn->icount);
    }
    size = img_size_to_str(sn->vm_state_size);
    printf("%-9s %-16s %8s%20s%13s%11s", sn->id, sn->name, size, date, clock, icount);
    g_free(size);
}

