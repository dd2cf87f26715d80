/*
 * qcow2 truncate (qemu-img resize, block_resize, amend size=).
 *
 * Growing widens the L1 table as needed (qcow2.txt "Cluster mapping": one L1
 * entry per L2 table) and optionally preallocates the new part; shrinking
 * discards the clusters past the new end, drops L2 tables no longer reachable
 * and trims the file's free tail.  Errors and their wording are QEMU's
 * (qcow2_co_truncate).  The header's size field is written last, so a crash
 * leaves the old size with at most leaked clusters.
 *
 * Threads: called with no I/O in flight on the node (block.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "block/qcow2.h"
#include "system/error.h"

/* Zeroes L1 entries from new_l1_size on (on disk first), then frees the L2
 * tables they pointed at.  The table itself keeps its size, as QEMU's. */
static int shrink_l1(struct bdrv *bs, uint64_t new_l1_size)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    if (new_l1_size >= s->l1_size) {
        return 0;
    }
    ret = bdrv_pwrite_zeroes(bs->file, s->l1_table_offset + new_l1_size * 8,
                             (s->l1_size - new_l1_size) * 8, 0);
    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        return ret;
    }
    for (uint64_t i = new_l1_size; i < s->l1_size; i++) {
        uint64_t l2 = s->l1_table[i] & L1E_OFFSET_MASK;
        s->l1_table[i] = 0;
        if (!l2) {
            continue;
        }
        qcow2_cache_discard(s->l2_cache, l2);
        /* Failures only leak the table. */
        qcow2_free_clusters(bs, l2, s->cluster_size);
    }
    return 0;
}

/* Cuts the file after the last cluster with a nonzero refcount. */
static void trim_file_tail(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    int64_t len = bdrv_length(bs->file);
    int64_t last;
    GError *err = NULL;

    if (len <= 0) {
        return;
    }
    for (last = (int64_t)qcow2_size_to_clusters(s, (uint64_t)len) - 1; last >= 0; last--) {
        uint64_t rc;
        if (qcow2_get_refcount(bs, (uint64_t)last, &rc) < 0) {
            return;
        }
        if (rc) {
            break;
        }
    }
    if ((uint64_t)(last + 1) * s->cluster_size < (uint64_t)len) {
        if (bdrv_truncate(bs->file, (uint64_t)(last + 1) * s->cluster_size, true, "off",
                          &err) < 0) {
            warn_report("Failed to truncate the tail of the image: %s",
                    err ? err->message : "unknown error");
            g_clear_error(&err);
        }
    }
}

static int write_size(struct bdrv *bs, uint64_t size)
{
    uint8_t be[8];
    int ret;

    qcow2_st64(be, size);
    ret = bdrv_pwrite(bs->file, QCOW2_HDR_SIZE, be, sizeof(be));
    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    return ret;
}

static int shrink(struct bdrv *bs, uint64_t size, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t start = (size + s->cluster_size - 1) & ~((uint64_t)s->cluster_size - 1);
    int ret;

    if (start < s->size) {
        ret = qcow2_cluster_discard(bs, start, s->size - start, false);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                        "Failed to discard cropped clusters: %s", g_strerror(-ret));
            return ret;
        }
    }
    /* The discard clears entries in cached tables and frees later: settle
     * that before L2 tables themselves go. */
    ret = qcow2_writeback(bs);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "Failed to discard cropped clusters: %s", g_strerror(-ret));
        return ret;
    }
    ret = shrink_l1(bs, qcow2_l1_entries_for(s, size));
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "Failed to reduce the number of L2 tables: %s", g_strerror(-ret));
        return ret;
    }
    ret = qcow2_writeback(bs);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to write back metadata: %s",
                    g_strerror(-ret));
        return ret;
    }
    return 0;
}

static int grow(struct bdrv *bs, uint64_t size, enum qcow2_prealloc mode, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t old = s->size;
    int ret;

    ret = qcow2_grow_l1(bs, qcow2_l1_entries_for(s, size), true);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to grow the L1 table: %s",
                    g_strerror(-ret));
        return ret;
    }
    if (mode != QCOW2_PREALLOC_OFF) {
        ret = qcow2_preallocate(bs, old, size - old, mode);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                        "Preallocation failed: %s", g_strerror(-ret));
            return ret;
        }
    }
    return 0;
}

int qcow2_truncate(struct bdrv *bs, uint64_t size, bool shrink_ok, const char *prealloc,
                   GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    enum qcow2_prealloc mode = QCOW2_PREALLOC_OFF;
    uint64_t old = s->size;
    int ret;

    if (prealloc && qcow2_parse_prealloc(prealloc, &mode, errp) < 0) {
        return -EINVAL;
    }
    if (size % BDRV_SECTOR_SIZE) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "The new size must be a multiple of %u", (unsigned)BDRV_SECTOR_SIZE);
        return -EINVAL;
    }
    if (bs->read_only) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_PERM, "Image is read-only");
        return -EACCES;
    }
    /* Snapshots record their own size only from v3 on (extra data). */
    if (s->nb_snapshots && s->version < 3) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
                    "Can't resize a v2 image which has snapshots");
        return -ENOTSUP;
    }
    /* The L1 table may not exceed QEMU's 32 MiB. */
    if (qcow2_l1_entries_for(s, size) > QCOW2_MAX_L1_BYTES / 8) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Failed to grow the L1 table: %s",
                    g_strerror(EFBIG));
        return -EFBIG;
    }

    if (size < old) {
        if (!shrink_ok) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "Use the --shrink option to perform a shrink operation.");
            return -EINVAL;
        }
        if (mode != QCOW2_PREALLOC_OFF) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "Preallocation can't be used for shrinking an image");
            return -EINVAL;
        }
        ret = shrink(bs, size, errp);
    } else if (size > old) {
        ret = grow(bs, size, mode, errp);
    } else {
        ret = 0;
    }
    if (ret < 0) {
        return ret;
    }

    ret = write_size(bs, size);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to update the image size: %s",
                    g_strerror(-ret));
        return ret;
    }
    s->size = size;

    if (size < old) {
        trim_file_tail(bs);
    } else if (size > old && bs->backing_file[0]) {
        /* With a backing file the new area must read as zeroes, not as
         * whatever the (longer) backing file holds there (QEMU zero-writes
         * it the same way). */
        ret = bdrv_pwrite_zeroes(bs, old, size - old, BDRV_REQ_MAY_UNMAP);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                        "Failed to zero the new area: %s", g_strerror(-ret));
            return ret;
        }
    }
    return 0;
}
