/*
 * Unit-test helpers for the block layer's protocol level: a "file" node
 * built by hand (as block.c builds one, without the registry) and removal
 * of a flat temporary directory.
 */
#ifndef HYVM_TEST_FILE_NODE_H
#define HYVM_TEST_FILE_NODE_H

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "system/keyval.h"

extern const struct block_driver bdrv_file;

/* Opens path with the file driver; extra adds options ("locking=off"). */
static inline struct bdrv *file_node_open(const char *path, int flags, const char *extra,
                                          GError **errp)
{
    struct bdrv *bs = g_new0(struct bdrv, 1);
    char *o = g_strdup_printf("filename=%s%s%s", path, extra ? "," : "", extra ? extra : "");
    struct kv_list *opts = kv_parse(o, NULL, NULL);
    int ret;

    g_assert_nonnull(opts);
    bs->drv = &bdrv_file;
    bs->opaque = g_malloc0(bdrv_file.state_size);
    bs->filename = g_strdup(path);
    bs->flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->request_alignment = 1;
    bs->refcnt = 1;
    ret = bdrv_file.open(bs, opts, flags, errp);
    kv_free(opts);
    g_free(o);
    if (ret < 0) {
        g_free(bs->opaque);
        g_free(bs->filename);
        g_free(bs);
        return NULL;
    }
    return bs;
}

static inline void file_node_close(struct bdrv *bs)
{
    bdrv_file.close(bs);
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs);
}

/* Removes dir and the files in it (the tests make no subdirectories). */
static inline void tmpdir_remove(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);

        g_remove(p);
    }
    if (d) {
        g_dir_close(d);
    }
    g_rmdir(dir);
}

#endif
