/*
 * The node graph: the driver registry, the format probe, opening a format
 * node over its file node and its backing chain, and closing.
 *
 * Threads: whoever opens and closes (the main thread, hyvm-img's main); no
 * I/O may be in flight on a node being closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "block/file-lock.h"

/*
 * The drivers.  Formats with a probe come first in the order they are
 * asked; raw has none and is what remains (QEMU's rule: a probe that finds
 * nothing guesses raw, with a warning).
 */
extern const struct block_driver bdrv_qcow2;
extern const struct block_driver bdrv_raw;
extern const struct block_driver bdrv_file;
extern const struct block_driver bdrv_host_device;

static const struct block_driver *const bdrv_formats[] = {
    &bdrv_qcow2,
    &bdrv_raw,
};

static const char *const bdrv_format_list[] = { "qcow2", "raw", NULL };

/* A chain deeper than this is refused; QEMU has no limit but a loop check. */
#define BDRV_MAX_CHAIN 64

/* Probe reads this much of the file's start (qcow2 needs 8 bytes; raw's
 * sector 0 check needs 512). */
#define BDRV_PROBE_BYTES 2048

static unsigned bdrv_node_counter;

const struct block_driver *bdrv_find_format(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bdrv_formats); i++) {
        if (!strcmp(bdrv_formats[i]->name, name)) {
            return bdrv_formats[i];
        }
    }
    if (!strcmp(name, "file")) {
        return &bdrv_file;
    }
    if (!strcmp(name, "host_device")) {
        return &bdrv_host_device;
    }
    return NULL;
}

const char *const *bdrv_format_names(void)
{
    return bdrv_format_list;
}

const char *bdrv_probe_format(const uint8_t *buf, size_t len, const char *filename)
{
    const struct block_driver *best = NULL;
    int best_score = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(bdrv_formats); i++) {
        int score;

        if (!bdrv_formats[i]->probe) {
            continue;
        }
        score = bdrv_formats[i]->probe(buf, len, filename);
        if (score > best_score) {
            best_score = score;
            best = bdrv_formats[i];
        }
    }
    return best ? best->name : "raw";
}

/* As QEMU's host_device probe: block and character devices. */
bool bdrv_is_block_device(const char *filename)
{
    struct stat st;

    return stat(filename, &st) == 0 && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode));
}

static struct bdrv *bdrv_new_node(const struct block_driver *drv, const char *filename,
                                  int flags)
{
    struct bdrv *bs = g_new0(struct bdrv, 1);

    bs->drv = drv;
    bs->opaque = g_malloc0(drv->state_size ? drv->state_size : 1);
    bs->filename = g_strdup(filename);
    bs->node_name = g_strdup_printf("#block%u", bdrv_node_counter++);
    bs->flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->request_alignment = 1;
    bs->refcnt = 1;
    return bs;
}

static void bdrv_free_node(struct bdrv *bs)
{
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs->node_name);
    g_free(bs);
}

/* The options of prefix's child ("file." keys, prefix stripped), or of the
 * node itself (keys without a dot) when prefix is NULL. */
static struct kv_list *bdrv_child_opts(const struct kv_list *opts, const char *prefix)
{
    struct kv_list *l = g_new0(struct kv_list, 1);
    size_t plen = prefix ? strlen(prefix) : 0;

    l->items = g_new0(struct kv_pair, (opts ? opts->n : 0) + 1);
    for (unsigned i = 0; opts && i < opts->n; i++) {
        const char *k = opts->items[i].key;

        if (prefix ? strncmp(k, prefix, plen) || k[plen] != '.' : strchr(k, '.') != NULL) {
            continue;
        }
        l->items[l->n].key = g_strdup(prefix ? k + plen + 1 : k);
        l->items[l->n].value = g_strdup(opts->items[i].value);
        l->n++;
    }
    return l;
}

static void kv_add(struct kv_list *l, const char *key, const char *value)
{
    l->items = g_renew(struct kv_pair, l->items, l->n + 1);
    l->items[l->n].key = g_strdup(key);
    l->items[l->n].value = g_strdup(value);
    l->n++;
}

struct bdrv *bdrv_open_file(const char *filename, const struct kv_list *opts, int flags,
                            GError **errp)
{
    const struct block_driver *drv =
        bdrv_find_format(bdrv_is_block_device(filename) ? "host_device" : "file");
    struct kv_list *fopts;
    struct bdrv *bs;
    int ret;

    if (!drv) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Unknown protocol driver");
        return NULL;
    }
    fopts = bdrv_child_opts(opts, NULL);
    bs = bdrv_new_node(drv, filename, flags);

    if (!kv_get(fopts, "filename")) {
        kv_add(fopts, "filename", filename);
    }
    ret = drv->open(bs, fopts, flags, errp);
    kv_free(fopts);
    if (ret < 0) {
        bdrv_free_node(bs);
        return NULL;
    }
    return bs;
}

/*
 * The canonical paths of the images being opened on this thread, outermost
 * first, so a backing chain that comes back to one of them is a loop.
 */
static __thread GPtrArray *bdrv_opening;

static bool bdrv_opening_contains(const char *real)
{
    for (unsigned i = 0; bdrv_opening && i < bdrv_opening->len; i++) {
        if (!strcmp(g_ptr_array_index(bdrv_opening, i), real)) {
            return true;
        }
    }
    return false;
}

static void bdrv_warn_probed_raw(const char *filename)
{
    fprintf(stderr,
            "WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
            "         Automatically detecting the format is dangerous for raw images, "
            "write operations on block 0 will be restricted.\n"
            "         Specify the 'raw' format explicitly to remove the restrictions.\n",
            filename);
}

static const char *bdrv_probe_file(struct bdrv *file, GError **errp)
{
    uint8_t buf[BDRV_PROBE_BYTES];
    int64_t len = bdrv_length(file);
    size_t n;
    int ret;

    if (len < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Could not determine size of '%s': %s",
                    file->filename, g_strerror((int)-len));
        return NULL;
    }
    n = (size_t)MIN((int64_t)sizeof(buf), len);
    memset(buf, 0, sizeof(buf));
    ret = n ? bdrv_pread(file, 0, buf, n) : 0;
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Could not read image for determining "
                    "its format: %s", g_strerror(-ret));
        return NULL;
    }
    return bdrv_probe_format(buf, n, file->filename);
}

struct bdrv *bdrv_open_on(struct bdrv *file, const char *fmt, const struct kv_list *opts,
                          int flags, GError **errp)
{
    const struct block_driver *drv = NULL;
    struct kv_list *own_opts;
    struct bdrv *bs;
    int ret;

    if (fmt && !(drv = bdrv_find_format(fmt))) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Unknown driver '%s'", fmt);
        bdrv_unref(file);
        return NULL;
    }
    if (!drv) {
        const char *probed = bdrv_probe_file(file, errp);

        if (!probed) {
            bdrv_unref(file);
            return NULL;
        }
        drv = bdrv_find_format(probed);
        if (!drv) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Unknown driver '%s'", probed);
            bdrv_unref(file);
            return NULL;
        }
        /* As QEMU: the warning is for those who could write sector 0. */
        if (!strcmp(probed, "raw") && (flags & BDRV_O_RDWR)) {
            bdrv_warn_probed_raw(file->filename);
            flags |= BDRV_O_PROBED_RAW;
        }
    }
    bs = bdrv_new_node(drv, file->filename, flags);
    bs->file = file;
    bs->request_alignment = file->request_alignment;
    own_opts = bdrv_child_opts(opts, NULL);
    ret = drv->open(bs, own_opts, flags, errp);
    kv_free(own_opts);
    /* A format with metadata (not raw) keeps others from writing or
     * resizing under it, as QEMU's locks say (block/file-lock.h). */
    if (ret >= 0 && drv != &bdrv_raw) {
        ret = bdrv_file_lock_metadata(bs, errp);
        if (ret < 0 && bs->drv->close) {
            bs->drv->close(bs);
        }
    }
    if (ret < 0) {
        if (bs->backing) {
            bdrv_unref(bs->backing);
        }
        bdrv_unref(file);
        bdrv_free_node(bs);
        return NULL;
    }
    return bs;
}

static struct bdrv *bdrv_open_format(const char *filename, const char *fmt,
                                     const struct kv_list *opts, int flags, GError **errp)
{
    const struct block_driver *drv = fmt ? bdrv_find_format(fmt) : NULL;
    struct kv_list *file_opts;
    struct bdrv *file;

    if (fmt && !drv) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Unknown driver '%s'", fmt);
        return NULL;
    }
    if (drv && drv->is_protocol) {
        return bdrv_open_file(filename, opts, flags, errp);
    }
    file_opts = bdrv_child_opts(opts, "file");
    file = bdrv_open_file(filename, file_opts, flags, errp);
    kv_free(file_opts);
    if (!file) {
        return NULL;
    }
    return bdrv_open_on(file, fmt, opts, flags, errp);
}

struct bdrv *bdrv_open(const char *filename, const char *fmt, const struct kv_list *opts,
                       int flags, GError **errp)
{
    char *real = realpath(filename, NULL);
    bool outermost = !bdrv_opening;
    struct bdrv *bs;

    if (outermost) {
        bdrv_opening = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(bdrv_opening, real ? real : g_strdup(filename));
    bs = bdrv_open_format(filename, fmt, opts, flags, errp);
    g_ptr_array_remove_index(bdrv_opening, bdrv_opening->len - 1);
    if (outermost) {
        g_ptr_array_free(bdrv_opening, TRUE);
        bdrv_opening = NULL;
    }
    return bs;
}

/* The backing file's path: as recorded when absolute (or when the image's
 * own name has no directory), else relative to the image's directory. */
char *bdrv_backing_path(struct bdrv *bs)
{
    char *dir;
    char *path;

    if (g_path_is_absolute(bs->backing_file)) {
        return g_strdup(bs->backing_file);
    }
    dir = g_path_get_dirname(bs->filename);
    path = strcmp(dir, ".") ? g_build_filename(dir, bs->backing_file, NULL)
                            : g_strdup(bs->backing_file);
    g_free(dir);
    return path;
}

int bdrv_open_backing(struct bdrv *bs, GError **errp)
{
    /* A backing image is only read through this chain (commit reopens it). */
    int flags = bs->flags & ~(BDRV_O_RDWR | BDRV_O_PROBED_RAW | BDRV_O_CHECK);
    char *path, *real;
    GError *err = NULL;
    struct bdrv *backing;

    if (!bs->backing_file[0] || (bs->flags & BDRV_O_NO_BACKING)) {
        return 0;
    }
    path = bdrv_backing_path(bs);
    real = realpath(path, NULL);
    if (real && bdrv_opening_contains(real)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_LOOP,
                    "Could not open backing file: Backing file '%s' creates an infinite loop.",
                    bs->backing_file);
        free(real);
        g_free(path);
        return -ELOOP;
    }
    free(real);
    if (bdrv_opening && bdrv_opening->len >= BDRV_MAX_CHAIN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_LOOP,
                    "Could not open backing file: the backing chain is deeper than %d images",
                    BDRV_MAX_CHAIN);
        g_free(path);
        return -ELOOP;
    }
    backing = bdrv_open(path, bs->backing_format[0] ? bs->backing_format : NULL, NULL, flags,
                        &err);
    g_free(path);
    if (!backing) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "Could not open backing file: %s",
                    err->message);
        g_error_free(err);
        return -EINVAL;
    }
    bs->backing = backing;
    return 0;
}

void bdrv_ref(struct bdrv *bs)
{
    bs->refcnt++;
}

void bdrv_unref(struct bdrv *bs)
{
    if (!bs || --bs->refcnt > 0) {
        return;
    }
    if (bs->drv->close) {
        bs->drv->close(bs);
    }
    if (bs->backing) {
        bdrv_unref(bs->backing);
    }
    if (bs->file) {
        bdrv_unref(bs->file);
    }
    bdrv_free_node(bs);
}

int bdrv_create(const char *fmt, const char *filename, uint64_t size,
                const struct kv_list *opts, GError **errp)
{
    const struct block_driver *drv = bdrv_find_format(fmt);
    struct kv_list *all;
    char num[32];
    int ret;

    if (!drv) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Unknown file format '%s'", fmt);
        return -EINVAL;
    }
    if (!drv->create) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "Format driver '%s' does not support image creation", fmt);
        return -ENOTSUP;
    }
    /* The drivers read "size" as a plain number of bytes: the caller's. */
    all = g_new0(struct kv_list, 1);
    for (unsigned i = 0; opts && i < opts->n; i++) {
        if (strcmp(opts->items[i].key, "size")) {
            kv_add(all, opts->items[i].key, opts->items[i].value);
        }
    }
    snprintf(num, sizeof(num), "%" G_GUINT64_FORMAT, size);
    kv_add(all, "size", num);
    ret = drv->create(filename, all, errp);
    kv_free(all);
    return ret;
}
