/*
 * qcow2 consistency check and repair: qemu-img check [-r leaks|all], and the
 * repair open runs on a dirty image with lazy refcounts.
 *
 * The walk follows qcow2.txt: every cluster the header, the active and
 * snapshot L1/L2 tables (data, compressed spans), the snapshot table, the
 * refcount table and blocks and the bitmaps extension reach is counted in an
 * in-memory refcount array (same packing as a refcount block, so its slices
 * can be written out as refcount blocks when the structure is rebuilt).  The
 * counts are compared with the stored refcounts; the messages on stderr and
 * which counter each one moves are QEMU's (block/qcow2-refcount.c), so
 * scripts reading qemu-img check's output read ours.
 *
 * Repair order never loses data: refcounts that are too low are raised (or
 * the whole structure rebuilt from the walk and only then switched to in the
 * header), leaks are lowered only to what the walk found, COPIED flags are
 * rewritten last from the repaired refcounts.
 *
 * Threads: called with no I/O in flight on the node (block.h); the metadata
 * caches are flushed and emptied first because repairs write tables directly.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "system/error.h"

/* Largest in-memory refcount array we allocate (bytes): the array follows the
 * file's length, and a sparse file can claim any length.  With 16-bit
 * refcounts this covers 128 Mi clusters (8 TiB of 64 KiB clusters). */
#define CHECK_MAX_IMRT_BYTES (256ull << 20)

/* check_l1 flags */
enum { CHECK_FRAG_INFO = 1 };

struct chk {
    struct bdrv *bs;
    struct qcow2_state *s;
    struct bdrv_check_result *res;
    void *rt;         /* in-memory refcounts, refcount-block packing */
    int64_t nb;       /* entries of rt in use (clusters) */
    int64_t file_len; /* length of bs->file */
};

/* ---- In-memory refcount array ---- */

static uint64_t imrt_bytes(const struct qcow2_state *s, int64_t entries)
{
    uint64_t b = (((uint64_t)entries << s->refcount_order) + 7) / 8;
    /* Whole clusters, so a slice can go to disk as a refcount block. */
    return (b + s->cluster_size - 1) & ~((uint64_t)s->cluster_size - 1);
}

/* Entry k of the array, refcount_order bits wide, packed as in a refcount
 * block (qcow2.txt: sub-byte widths from the least significant bit up,
 * wider entries big-endian). */
static uint64_t imrt_get(const struct qcow2_state *s, const void *rt, int64_t k)
{
    const uint8_t *p = rt;
    uint32_t o = s->refcount_order;

    switch (o) {
    case 0: case 1: case 2: {
        unsigned bits = 1u << o, per = 8 / bits;
        return (p[k / per] >> ((k % per) * bits)) & ((1u << bits) - 1);
    }
    case 3:
        return p[k];
    case 4:
        return qcow2_ld16(p + k * 2);
    case 5:
        return qcow2_ld32(p + k * 4);
    default:
        return qcow2_ld64(p + k * 8);
    }
}

static void imrt_set(const struct qcow2_state *s, void *rt, int64_t k, uint64_t v)
{
    uint8_t *p = rt;
    uint32_t o = s->refcount_order;

    switch (o) {
    case 0: case 1: case 2: {
        unsigned bits = 1u << o, per = 8 / bits, sh = (k % per) * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << sh);
        p[k / per] = (uint8_t)((p[k / per] & ~mask) | ((v << sh) & mask));
        break;
    }
    case 3:
        p[k] = (uint8_t)v;
        break;
    case 4:
        qcow2_st16(p + k * 2, (uint16_t)v);
        break;
    case 5:
        qcow2_st32(p + k * 4, (uint32_t)v);
        break;
    default:
        qcow2_st64(p + k * 8, v);
        break;
    }
}

static int imrt_resize(const struct qcow2_state *s, void **rt, int64_t *n, int64_t new_n)
{
    uint64_t old_b = *rt ? imrt_bytes(s, *n) : 0, new_b = imrt_bytes(s, new_n);
    void *p;

    if (new_b == old_b && *rt) {
        *n = new_n;
        return 0;
    }
    if (new_b > CHECK_MAX_IMRT_BYTES || new_b > SIZE_MAX) {
        return -EFBIG;
    }
    p = g_try_realloc(*rt, new_b ? new_b : s->cluster_size);
    if (!p) {
        return -ENOMEM;
    }
    if (new_b > old_b) {
        memset((uint8_t *)p + old_b, 0, new_b - old_b);
    }
    *rt = p;
    *n = new_n;
    return 0;
}

/* Counts one more reference to every cluster of [offset, offset+size). */
static int inc_refs(struct chk *c, uint64_t offset, uint64_t size)
{
    struct qcow2_state *s = c->s;
    uint64_t start, last;
    int ret;

    if (size == 0) {
        return 0;
    }
    /* The last cluster may be partly past the end of the file; a whole
     * cluster past it is corruption (QEMU's rule). */
    if (offset > INT64_MAX - size ||
        (int64_t)(offset + size) - c->file_len >= (int64_t)s->cluster_size) {
        fprintf(stderr, "ERROR: counting reference for region exceeding the end of the file by "
                "one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64 "\n", offset, size);
        c->res->corruptions++;
        return 0;
    }
    start = qcow2_start_of_cluster(s, offset);
    last = qcow2_start_of_cluster(s, offset + size - 1);
    for (uint64_t co = start; co <= last; co += s->cluster_size) {
        int64_t k = (int64_t)(co >> s->cluster_bits);
        uint64_t rc;
        if (k >= c->nb) {
            ret = imrt_resize(s, &c->rt, &c->nb, k + 1);
            if (ret < 0) {
                c->res->check_errors++;
                return ret;
            }
        }
        rc = imrt_get(s, c->rt, k);
        if (rc == s->refcount_max) {
            fprintf(stderr, "ERROR: overflow cluster offset=0x%" PRIx64 "\n", co);
            fprintf(stderr, "Use qemu-img amend to increase the refcount entry width or "
                    "qemu-img convert to create a clean copy if the image cannot be opened "
                    "for writing\n");
            c->res->corruptions++;
            continue;
        }
        imrt_set(s, c->rt, k, rc + 1);
    }
    return 0;
}

/* ---- L1 / L2 walk ---- */

/* Makes a misaligned preallocated-zero entry a plain zero entry (QEMU's
 * fix_l2_entry_by_zero); the caller counted the corruption. */
static int fix_l2_entry_by_zero(struct chk *c, uint64_t l2_offset, uint64_t *t, unsigned idx)
{
    struct qcow2_state *s = c->s;
    int ret;

    if (s->extended_l2) {
        uint64_t bm = qcow2_l2_get_bitmap(s, t, idx);
        bm |= bm << 32;
        bm &= QCOW2_L2_BITMAP_ALL_ZERO;
        qcow2_l2_set_bitmap(s, t, idx, bm);
        qcow2_l2_set(s, t, idx, 0);
    } else {
        qcow2_l2_set(s, t, idx, QCOW_OFLAG_ZERO);
    }
    ret = qcow2_pre_write_check(c->bs, QCOW2_OL_ACTIVE_L2,
                                l2_offset + (uint64_t)idx * s->l2_entry_size, s->l2_entry_size);
    if (ret >= 0) {
        ret = bdrv_pwrite(c->bs->file, l2_offset + (uint64_t)idx * s->l2_entry_size,
                          (uint8_t *)t + (size_t)idx * s->l2_entry_size, s->l2_entry_size);
    }
    if (ret >= 0) {
        ret = bdrv_flush(c->bs->file);
    }
    if (ret < 0) {
        fprintf(stderr, "ERROR: Failed to overwrite L2 table entry: %s\n", g_strerror(-ret));
        c->res->check_errors++;
        return ret;
    }
    c->res->corruptions--;
    c->res->corruptions_fixed++;
    return 0;
}

static int check_l2_compressed(struct chk *c, uint64_t e, uint64_t bm, int i, int flags)
{
    struct qcow2_state *s = c->s;
    uint64_t host, bytes;

    if (e & QCOW_OFLAG_COPIED) {
        fprintf(stderr, "ERROR: coffset=0x%" PRIx64 ": copied flag must never be set for "
                "compressed clusters\n", e & s->cluster_offset_mask);
        e &= ~QCOW_OFLAG_COPIED;
        c->res->corruptions++;
    }
    if (bm) {
        fprintf(stderr, "ERROR compressed cluster %d with non-zero subcluster allocation "
                "bitmap, entry=0x%" PRIx64 "\n", i, e);
        c->res->corruptions++;
        return 0;
    }
    qcow2_compressed_range(s, e, &host, &bytes);
    if (flags & CHECK_FRAG_INFO) {
        c->res->allocated_clusters++;
        c->res->compressed_clusters++;
        /* Compressed data shares sectors: always counted as fragmented. */
        c->res->fragmented_clusters++;
    }
    return inc_refs(c, host, bytes);
}

static int check_l2(struct chk *c, uint64_t l2_offset, int flags, int fix)
{
    struct qcow2_state *s = c->s;
    uint64_t next_contiguous = 0;
    g_autofree uint64_t *t = g_malloc(s->cluster_size);
    int ret;

    ret = bdrv_pread(c->bs->file, l2_offset, t, s->cluster_size);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l2\n");
        c->res->check_errors++;
        return ret;
    }

    for (unsigned i = 0; i < s->l2_size; i++) {
        uint64_t e = qcow2_l2_get(s, t, i), bm = qcow2_l2_get_bitmap(s, t, i);
        enum qcow2_subcluster_type type = qcow2_cluster_type(s, e);
        uint64_t off = e & L2E_OFFSET_MASK;

        if (type != QCOW2_SUBCLUSTER_COMPRESSED && (e & L2E_STD_RESERVED_MASK)) {
            fprintf(stderr, "ERROR found l2 entry with reserved bits set: %" PRIx64 "\n", e);
            c->res->corruptions++;
        }
        switch (type) {
        case QCOW2_SUBCLUSTER_COMPRESSED:
            ret = check_l2_compressed(c, e, bm, (int)i, flags);
            if (ret < 0) {
                return ret;
            }
            break;
        case QCOW2_SUBCLUSTER_NORMAL:
        case QCOW2_SUBCLUSTER_ZERO_ALLOC:
        case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
            if ((bm >> 32) & bm) {
                c->res->corruptions++;
                fprintf(stderr, "ERROR offset=%" PRIx64 ": Allocated cluster has corrupted "
                        "subcluster allocation bitmap\n", off);
            }
            if (qcow2_offset_into_cluster(s, off)) {
                bool data = s->extended_l2 ? (bm & QCOW2_L2_BITMAP_ALL_ALLOC) != 0
                                           : !(e & QCOW_OFLAG_ZERO);
                c->res->corruptions++;
                if (!data) {
                    fprintf(stderr, "%s offset=%" PRIx64 ": Preallocated cluster is not "
                            "properly aligned; L2 entry corrupted.\n",
                            fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR", off);
                    if ((fix & BDRV_FIX_ERRORS) && fix_l2_entry_by_zero(c, l2_offset, t, i) == 0) {
                        continue; /* the cluster is no longer referenced */
                    }
                } else {
                    fprintf(stderr, "ERROR offset=%" PRIx64 ": Data cluster is not properly "
                            "aligned; L2 entry corrupted.\n", off);
                }
            }
            if (flags & CHECK_FRAG_INFO) {
                c->res->allocated_clusters++;
                if (next_contiguous && off != next_contiguous) {
                    c->res->fragmented_clusters++;
                }
                next_contiguous = off + s->cluster_size;
            }
            ret = inc_refs(c, off, s->cluster_size);
            if (ret < 0) {
                return ret;
            }
            break;
        case QCOW2_SUBCLUSTER_ZERO_PLAIN:
            break;
        default:
            if (bm & QCOW2_L2_BITMAP_ALL_ALLOC) {
                c->res->corruptions++;
                fprintf(stderr, "ERROR: Unallocated cluster has non-zero subcluster "
                        "allocation map\n");
            }
            break;
        }
    }
    return 0;
}

static int check_l1(struct chk *c, uint64_t l1_offset, uint32_t l1_size, int flags, int fix)
{
    struct qcow2_state *s = c->s;
    uint64_t bytes = (uint64_t)l1_size * 8;
    g_autofree uint64_t *l1 = NULL;
    int ret;

    if (!l1_size) {
        return 0;
    }
    ret = inc_refs(c, l1_offset, bytes);
    if (ret < 0) {
        return ret;
    }
    l1 = g_try_malloc(bytes);
    if (!l1) {
        c->res->check_errors++;
        return -ENOMEM;
    }
    ret = bdrv_pread(c->bs->file, l1_offset, l1, bytes);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l1\n");
        c->res->check_errors++;
        return ret;
    }
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t e = GUINT64_FROM_BE(l1[i]), l2_offset;
        if (!e) {
            continue;
        }
        if (e & L1E_RESERVED_MASK) {
            fprintf(stderr, "ERROR found L1 entry with reserved bits set: %" PRIx64 "\n", e);
            c->res->corruptions++;
        }
        l2_offset = e & L1E_OFFSET_MASK;
        ret = inc_refs(c, l2_offset, s->cluster_size);
        if (ret < 0) {
            return ret;
        }
        if (qcow2_offset_into_cluster(s, l2_offset)) {
            fprintf(stderr, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 "
                    "entry corrupted\n", l2_offset);
            c->res->corruptions++;
        }
        ret = check_l2(c, l2_offset, flags, fix);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* ---- Other metadata ---- */

/* The bitmaps extension (qcow2.txt "Bitmaps"): directory, bitmap tables and
 * their data clusters, when the autoclear bit says the extension is valid. */
static int check_bitmaps(struct chk *c)
{
    struct qcow2_state *s = c->s;
    const struct qcow2_unknown_ext *ext = NULL;
    uint64_t dir_size, dir_offset;
    int ret;

    if (!(s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
        return 0;
    }
    for (unsigned i = 0; i < s->nb_unknown_exts; i++) {
        if (s->unknown_exts[i].type == QCOW2_EXT_BITMAPS && s->unknown_exts[i].len >= 24) {
            ext = &s->unknown_exts[i];
        }
    }
    if (!ext) {
        return 0;
    }
    dir_size = qcow2_ld64(ext->data + 8);
    dir_offset = qcow2_ld64(ext->data + 16);
    if (dir_size > (64u << 20) || qcow2_offset_into_cluster(s, dir_offset)) {
        c->res->corruptions++;
        return 0;
    }
    ret = inc_refs(c, dir_offset, dir_size);
    if (ret < 0) {
        return ret;
    }
    g_autofree uint8_t *dir = g_malloc(dir_size ? dir_size : 1);
    if (bdrv_pread(c->bs->file, dir_offset, dir, dir_size) < 0) {
        c->res->corruptions++;
        return 0;
    }
    for (uint64_t p = 0; p + 24 <= dir_size;) {
        uint64_t tab_off = qcow2_ld64(dir + p);
        uint32_t tab_size = qcow2_ld32(dir + p + 8);
        uint16_t name_size = qcow2_ld16(dir + p + 18);
        uint32_t extra = qcow2_ld32(dir + p + 20);

        ret = inc_refs(c, tab_off, (uint64_t)tab_size * 8);
        if (ret < 0) {
            return ret;
        }
        if ((uint64_t)tab_size * 8 <= (64u << 20) && !qcow2_offset_into_cluster(s, tab_off)) {
            g_autofree uint64_t *tab = g_malloc((uint64_t)tab_size * 8 + 8);
            if (bdrv_pread(c->bs->file, tab_off, tab, (uint64_t)tab_size * 8) < 0) {
                c->res->corruptions++;
            } else {
                for (uint32_t j = 0; j < tab_size; j++) {
                    uint64_t off = GUINT64_FROM_BE(tab[j]) & L1E_OFFSET_MASK;
                    if (off && (ret = inc_refs(c, off, s->cluster_size)) < 0) {
                        return ret;
                    }
                }
            }
        } else {
            c->res->corruptions++;
        }
        p += (24 + (uint64_t)extra + name_size + 7) & ~7ull;
    }
    return 0;
}

/* How far past the file's end check -r all grows the file to reach a
 * refcount block the table names. */
#define CHECK_MAX_GROW_BYTES (64ull << 20)

static int check_refblocks(struct chk *c, int fix, bool *rebuild)
{
    struct qcow2_state *s = c->s;
    int ret;

    for (uint64_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t offset = s->refcount_table[i] & REFT_OFFSET_MASK;
        int64_t cluster = (int64_t)(offset >> s->cluster_bits);

        if (s->refcount_table[i] & REFT_RESERVED_MASK) {
            fprintf(stderr, "ERROR refcount table entry %" PRIu64 " has reserved bits set\n", i);
            c->res->corruptions++;
            *rebuild = true;
            continue;
        }
        if (qcow2_offset_into_cluster(s, offset)) {
            fprintf(stderr, "ERROR refcount block %" PRIu64 " is not cluster aligned; refcount "
                    "table entry corrupted\n", i);
            c->res->corruptions++;
            *rebuild = true;
            continue;
        }
        if (cluster >= c->nb) {
            c->res->corruptions++;
            fprintf(stderr, "%s refcount block %" PRIu64 " is outside image\n",
                    fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR", i);
            if (fix & BDRV_FIX_ERRORS) {
                GError *err = NULL;
                int64_t len;
                ret = -EINVAL;
                /* Growing the file to reach the block is QEMU's repair; a
                 * length this check could not count any more is refused
                 * (-EFBIG), and the structure is rebuilt instead. */
                /* Unlike QEMU, only a block just past the end is reached by
                 * growing: an offset far beyond it is a corrupt entry, and
                 * growing a 4 MiB image to 1 TiB to honour it helps nobody. */
                if (offset <= (uint64_t)INT64_MAX - s->cluster_size &&
                    offset - MIN(offset, (uint64_t)c->file_len) <= CHECK_MAX_GROW_BYTES) {
                    ret = -EFBIG;
                    if (imrt_bytes(s, (int64_t)qcow2_size_to_clusters(s, offset + s->cluster_size))
                        <= CHECK_MAX_IMRT_BYTES) {
                        ret = bdrv_truncate(c->bs->file, offset + s->cluster_size, false, "off",
                                            &err);
                    }
                }
                if (ret >= 0 && (len = bdrv_length(c->bs->file)) >= 0) {
                    c->file_len = len;
                    ret = imrt_resize(s, &c->rt, &c->nb,
                                      (int64_t)qcow2_size_to_clusters(s, (uint64_t)len));
                    if (ret < 0) {
                        c->res->check_errors++;
                        return ret;
                    }
                    if (cluster < c->nb) {
                        c->res->corruptions--;
                        c->res->corruptions_fixed++;
                        ret = inc_refs(c, offset, s->cluster_size);
                        if (ret < 0) {
                            return ret;
                        }
                        continue;
                    }
                    ret = -EINVAL;
                }
                *rebuild = true;
                fprintf(stderr, "ERROR could not resize image: %s\n",
                        err ? err->message : g_strerror(-ret));
                g_clear_error(&err);
            }
            continue;
        }
        if (offset) {
            ret = inc_refs(c, offset, s->cluster_size);
            if (ret < 0) {
                return ret;
            }
            if (imrt_get(s, c->rt, cluster) != 1) {
                fprintf(stderr, "ERROR refcount block %" PRIu64 " refcount=%" PRIu64 "\n", i,
                        imrt_get(s, c->rt, cluster));
                c->res->corruptions++;
                *rebuild = true;
            }
        }
    }
    return 0;
}

static int calculate_refcounts(struct chk *c, int fix, bool *rebuild)
{
    struct qcow2_state *s = c->s;
    int ret;

    /* A rebuild may have written past the old end of the file. */
    c->file_len = bdrv_length(c->bs->file);
    if (c->file_len < 0) {
        c->res->check_errors++;
        return (int)c->file_len;
    }
    ret = inc_refs(c, 0, s->cluster_size); /* header */
    if (ret < 0) {
        return ret;
    }
    ret = check_l1(c, s->l1_table_offset, s->l1_size, CHECK_FRAG_INFO, fix);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < s->nb_snapshots && s->snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snapshots[i];
        if (qcow2_offset_into_cluster(s, sn->l1_table_offset)) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_offset=%#" PRIx64 ": L1 table is not "
                    "cluster aligned; snapshot table entry corrupted\n", sn->id_str, sn->name,
                    sn->l1_table_offset);
            c->res->corruptions++;
            continue;
        }
        if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_size=%#" PRIx32 ": L1 table is too "
                    "large; snapshot table entry corrupted\n", sn->id_str, sn->name,
                    sn->l1_size);
            c->res->corruptions++;
            continue;
        }
        ret = check_l1(c, sn->l1_table_offset, sn->l1_size, 0, fix);
        if (ret < 0) {
            return ret;
        }
    }
    ret = inc_refs(c, s->snapshots_offset, s->snapshots_size);
    if (ret >= 0) {
        ret = inc_refs(c, s->refcount_table_offset, s->refcount_table_size * 8);
    }
    if (ret >= 0) {
        ret = check_bitmaps(c);
    }
    if (ret < 0) {
        return ret;
    }
    return check_refblocks(c, fix, rebuild);
}

/* ---- Compare and repair ---- */

static void compare_refcounts(struct chk *c, int fix, bool *rebuild, int64_t *highest)
{
    struct qcow2_state *s = c->s;
    struct bdrv_check_result *res = c->res;

    *highest = 0;
    for (int64_t i = 0; i < c->nb; i++) {
        uint64_t r1, r2;
        int ret = qcow2_get_refcount(c->bs, (uint64_t)i, &r1);
        int *fixed = NULL;

        if (ret < 0) {
            fprintf(stderr, "Can't get refcount for cluster %" PRId64 ": %s\n", i,
                    g_strerror(-ret));
            res->check_errors++;
            continue;
        }
        r2 = imrt_get(s, c->rt, i);
        if (r1 > 0 || r2 > 0) {
            *highest = i;
        }
        if (r1 == r2) {
            continue;
        }
        /* A used cluster with refcount 0 could be handed out again by any
         * refcount update: only a rebuild repairs that safely. */
        if (r1 == 0) {
            *rebuild = true;
        } else if (r1 > r2 && (fix & BDRV_FIX_LEAKS)) {
            fixed = &res->leaks_fixed;
        } else if (r1 < r2 && (fix & BDRV_FIX_ERRORS)) {
            fixed = &res->corruptions_fixed;
        }
        fprintf(stderr, "%s cluster %" PRId64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
                fixed ? "Repairing" : r1 < r2 ? "ERROR" : "Leaked", i, r1, r2);
        if (fixed && qcow2_set_refcount(c->bs, (uint64_t)i, r2) >= 0) {
            (*fixed)++;
            continue;
        }
        if (r1 < r2) {
            res->corruptions++;
        } else {
            res->leaks++;
        }
    }
}

/* Finds count free clusters in the in-memory array from *first_free on,
 * growing it past the end when needed, and marks them used. */
static int64_t alloc_clusters_imrt(struct chk *c, int64_t count, int64_t *first_free)
{
    struct qcow2_state *s = c->s;
    int64_t cl = *first_free, run = 0;
    bool first_gap = true;
    int ret;

    for (; cl < c->nb && run < count; cl++) {
        if (!imrt_get(s, c->rt, cl)) {
            if (first_gap) {
                *first_free = cl;
                first_gap = false;
            }
            run++;
        } else {
            run = 0;
        }
    }
    if (run < count) {
        ret = imrt_resize(s, &c->rt, &c->nb, cl + count - run);
        if (ret < 0) {
            return ret;
        }
    }
    cl -= run;
    for (int64_t i = 0; i < count; i++) {
        imrt_set(s, c->rt, cl + i, 1);
    }
    return cl << s->cluster_bits;
}

/* Writes the refcount blocks covering used clusters of [first, end) from the
 * in-memory array, allocating them in it.  Returns 1 when the new refcount
 * table (*rt, *rt_entries) grew, 0 when not, -errno. */
static int write_refblocks(struct chk *c, int64_t first, int64_t end, uint64_t **rt,
                           uint64_t *rt_entries)
{
    struct qcow2_state *s = c->s;
    int64_t first_free = 0;
    bool grown = false;
    int ret;

    for (int64_t cl = first; cl < end; cl++) {
        int64_t idx, start;
        int64_t rb_off;

        if (!imrt_get(s, c->rt, cl)) {
            continue;
        }
        idx = cl >> s->refcount_block_bits;
        start = idx << s->refcount_block_bits;
        if ((uint64_t)idx < *rt_entries && (*rt)[idx]) {
            rb_off = (int64_t)(*rt)[idx];
        } else {
            if (first_free < start) {
                first_free = start; /* not inside a block already written */
            }
            rb_off = alloc_clusters_imrt(c, 1, &first_free);
            if (rb_off < 0) {
                error_report("ERROR allocating refblock: %s", g_strerror((int)-rb_off));
                return (int)rb_off;
            }
            if ((rb_off >> s->cluster_bits) >= end) {
                end = (rb_off >> s->cluster_bits) + 1; /* its own block must be written */
            }
            if ((uint64_t)idx >= *rt_entries) {
                uint64_t n = (((uint64_t)idx + 1) * 8 + s->cluster_size - 1) /
                             s->cluster_size * s->cluster_size / 8;
                if (n * 8 > QCOW2_MAX_REFTABLE_BYTES) {
                    error_report("ERROR allocating reftable memory");
                    return -EFBIG;
                }
                *rt = g_renew(uint64_t, *rt, n);
                memset(*rt + *rt_entries, 0, (n - *rt_entries) * 8);
                *rt_entries = n;
                grown = true;
            }
            (*rt)[idx] = (uint64_t)rb_off;
        }
        /* The array's size is whole clusters: the slice is always complete. */
        ret = bdrv_pwrite(c->bs->file, (uint64_t)rb_off,
                          (uint8_t *)c->rt + (uint64_t)idx * s->cluster_size, s->cluster_size);
        if (ret < 0) {
            error_report("ERROR writing refblock: %s", g_strerror(-ret));
            return ret;
        }
        cl = start + s->refcount_block_size - 1;
    }
    return grown;
}

/* Writes refcount blocks and a refcount table for the in-memory counts
 * (allocating their clusters in them); *rt_out gets the table, host-endian. */
static int write_new_structure(struct chk *c, uint64_t **rt_out, uint64_t *entries_out,
                               int64_t *off_out, int64_t *clusters_out)
{
    struct qcow2_state *s = c->s;
    g_autofree uint64_t *rt = NULL;
    uint64_t rt_entries = 0;
    int64_t rt_offset = -1, rt_clusters = 0;
    int ret;

    ret = write_refblocks(c, 0, c->nb, &rt, &rt_entries);
    if (ret < 0) {
        return ret;
    }
    /* Placing the table changes the counts, which may need another block,
     * which may grow the table: repeat until it stops growing. */
    do {
        int64_t first_free = 0;
        rt_clusters = (int64_t)qcow2_size_to_clusters(s, rt_entries * 8);
        rt_offset = alloc_clusters_imrt(c, rt_clusters, &first_free);
        if (rt_offset < 0) {
            error_report("ERROR allocating reftable: %s", g_strerror((int)-rt_offset));
            return (int)rt_offset;
        }
        ret = write_refblocks(c, rt_offset >> s->cluster_bits,
                              (rt_offset >> s->cluster_bits) + rt_clusters, &rt, &rt_entries);
        if (ret < 0) {
            return ret;
        }
    } while (ret > 0);

    g_autofree uint64_t *be = g_new0(uint64_t, rt_clusters * s->cluster_size / 8);
    for (uint64_t i = 0; i < rt_entries; i++) {
        be[i] = GUINT64_TO_BE(rt[i]);
    }
    ret = bdrv_pwrite(c->bs->file, (uint64_t)rt_offset, be,
                      (uint64_t)rt_clusters * s->cluster_size);
    if (ret >= 0) {
        ret = bdrv_flush(c->bs->file);
    }
    if (ret < 0) {
        error_report("ERROR writing reftable: %s", g_strerror(-ret));
        return ret;
    }
    *rt_out = g_steal_pointer(&rt);
    *entries_out = rt_entries;
    *off_out = rt_offset;
    *clusters_out = rt_clusters;
    return 0;
}

/* Points the header at a new refcount table, and at a new refcount_order
 * when new_order >= 0: header bytes 48-99 go out in one write (one sector). */
static int switch_header(struct bdrv *bs, uint64_t rt_offset, uint32_t rt_clusters, int new_order)
{
    uint8_t hdr[52];
    int ret;

    ret = bdrv_pread(bs->file, QCOW2_HDR_REFCOUNT_TABLE_OFFSET, hdr, sizeof(hdr));
    if (ret < 0) {
        return ret;
    }
    qcow2_st64(hdr, rt_offset);
    qcow2_st32(hdr + 8, rt_clusters);
    if (new_order >= 0) {
        qcow2_st32(hdr + QCOW2_HDR_REFCOUNT_ORDER - QCOW2_HDR_REFCOUNT_TABLE_OFFSET,
                   (uint32_t)new_order);
    }
    ret = bdrv_pwrite(bs->file, QCOW2_HDR_REFCOUNT_TABLE_OFFSET, hdr,
                      new_order >= 0 ? sizeof(hdr) : 12);
    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    return ret;
}

static void install_table(struct qcow2_state *s, uint64_t *rt, uint64_t entries, int64_t off,
                          int64_t clusters)
{
    g_free(s->refcount_table);
    s->refcount_table = rt;
    s->refcount_table_offset = (uint64_t)off;
    s->refcount_table_size = entries;
    s->refcount_table_clusters = (uint32_t)clusters;
    s->free_cluster_index = 0;
}

/* Builds a new refcount structure from the walk alone and switches the
 * header to it; the old one is leaked (the second pass frees it). */
static int rebuild_refcount_structure(struct chk *c)
{
    struct qcow2_state *s = c->s;
    uint64_t *rt = NULL, entries;
    int64_t off, clusters;
    int ret;

    ret = qcow2_cache_empty(c->bs, s->refcount_cache);
    if (ret >= 0) {
        ret = write_new_structure(c, &rt, &entries, &off, &clusters);
    }
    if (ret < 0) {
        return ret;
    }
    ret = switch_header(c->bs, (uint64_t)off, (uint32_t)clusters, -1);
    if (ret < 0) {
        error_report("ERROR setting reftable: %s", g_strerror(-ret));
        g_free(rt);
        return ret;
    }
    install_table(s, rt, entries, off, clusters);
    return 0;
}

static void set_refcount_order(struct qcow2_state *s, uint32_t order)
{
    s->refcount_order = order;
    s->refcount_bits = 1u << order;
    s->refcount_max = order == 6 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
    s->refcount_block_bits = s->cluster_bits + 3 - order;
    s->refcount_block_size = 1u << s->refcount_block_bits;
}

/*
 * amend refcount_bits=N: the stored refcounts are copied into refcount blocks
 * of the new width (placed in free clusters), the header switches to the new
 * table and order in one write, then the old blocks and table are freed.
 */
int qcow2_change_refcount_order(struct bdrv *bs, int new_order, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    struct qcow2_state ns = *s;
    struct bdrv_check_result res = { 0 };
    struct chk c = { .bs = bs, .s = &ns, .res = &res };
    g_autofree uint64_t *old_rt = NULL;
    uint64_t old_entries = s->refcount_table_size, old_off = s->refcount_table_offset;
    uint64_t *rt = NULL, entries;
    uint32_t old_clusters = s->refcount_table_clusters;
    int64_t nb, off, clusters;
    int ret;

    set_refcount_order(&ns, (uint32_t)new_order);
    /* Deferred frees are applied first: the copy takes the final counts. */
    ret = qcow2_writeback(bs);
    c.file_len = bdrv_length(bs->file);
    if (ret >= 0 && c.file_len < 0) {
        ret = (int)c.file_len;
    }
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to flush metadata: %s",
                    g_strerror(-ret));
        return ret;
    }
    nb = (int64_t)qcow2_size_to_clusters(s, (uint64_t)c.file_len);
    ret = imrt_resize(&ns, &c.rt, &c.nb, nb);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                    "Failed to allocate refcount buffer: %s", g_strerror(-ret));
        return ret;
    }
    for (int64_t k = 0; k < nb; k++) {
        uint64_t rc;
        ret = qcow2_get_refcount(bs, (uint64_t)k, &rc);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to read refcounts: %s",
                        g_strerror(-ret));
            goto out;
        }
        if (rc > ns.refcount_max) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "Cannot decrease refcount entry width to %u bits: Cluster at offset "
                        "%#" PRIx64 " has a refcount of %" PRIu64, ns.refcount_bits,
                        (uint64_t)k << s->cluster_bits, rc);
            ret = -EINVAL;
            goto out;
        }
        imrt_set(&ns, c.rt, k, rc);
    }

    ret = write_new_structure(&c, &rt, &entries, &off, &clusters);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "Failed to write the new refcount structure: %s", g_strerror(-ret));
        goto out;
    }
    ret = qcow2_cache_empty(bs, s->refcount_cache);
    if (ret >= 0) {
        ret = switch_header(bs, (uint64_t)off, (uint32_t)clusters, new_order);
    }
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to update the image header: %s",
                    g_strerror(-ret));
        g_free(rt);
        goto out;
    }
    old_rt = s->refcount_table;
    s->refcount_table = NULL;
    set_refcount_order(s, (uint32_t)new_order);
    install_table(s, rt, entries, off, clusters);

    /* The old blocks and table are counted once in the new structure. */
    for (uint64_t i = 0; i < old_entries; i++) {
        uint64_t rb = old_rt[i] & REFT_OFFSET_MASK;
        if (rb && !qcow2_offset_into_cluster(s, rb)) {
            qcow2_free_clusters(bs, rb, s->cluster_size);
        }
    }
    qcow2_free_clusters(bs, old_off, (uint64_t)old_clusters * s->cluster_size);
    ret = qcow2_cache_flush(bs, s->refcount_cache);
out:
    g_free(c.rt);
    return ret;
}

/* Rewrites COPIED flags of the active tables from the stored refcounts. */
static int check_oflag_copied(struct chk *c, int fix)
{
    struct qcow2_state *s = c->s;
    struct bdrv_check_result *res = c->res;
    g_autofree uint64_t *t = g_malloc(s->cluster_size);
    bool repair;
    int ret;

    if (fix & BDRV_FIX_ERRORS) {
        repair = true;
    } else if (fix & BDRV_FIX_LEAKS) {
        /* Only when the refcounts are known good after the leak repair. */
        repair = !res->check_errors && !res->corruptions && !res->leaks;
    } else {
        repair = false;
    }

    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l1e = s->l1_table[i], l2_offset = l1e & L1E_OFFSET_MASK, rc;
        int dirty = 0;

        if (!l2_offset) {
            continue;
        }
        if (qcow2_get_refcount(c->bs, l2_offset >> s->cluster_bits, &rc) < 0) {
            continue; /* reported by the comparison already */
        }
        if ((rc == 1) != ((l1e & QCOW_OFLAG_COPIED) != 0)) {
            res->corruptions++;
            fprintf(stderr, "%s OFLAG_COPIED L2 cluster: l1_index=%" PRIu32 " l1_entry=%" PRIx64
                    " refcount=%" PRIu64 "\n", repair ? "Repairing" : "ERROR", i, l1e, rc);
            if (repair) {
                s->l1_table[i] = rc == 1 ? l1e | QCOW_OFLAG_COPIED : l1e & ~QCOW_OFLAG_COPIED;
                ret = qcow2_write_l1_entry(c->bs, i);
                if (ret < 0) {
                    res->check_errors++;
                    return ret;
                }
                res->corruptions--;
                res->corruptions_fixed++;
            }
        }
        if (qcow2_offset_into_cluster(s, l2_offset)) {
            continue;
        }
        ret = bdrv_pread(c->bs->file, l2_offset, t, s->cluster_size);
        if (ret < 0) {
            fprintf(stderr, "ERROR: Could not read L2 table: %s\n", g_strerror(-ret));
            res->check_errors++;
            return ret;
        }
        for (unsigned j = 0; j < s->l2_size; j++) {
            uint64_t e = qcow2_l2_get(s, t, j);
            enum qcow2_subcluster_type type = qcow2_cluster_type(s, e);
            if (type != QCOW2_SUBCLUSTER_NORMAL && type != QCOW2_SUBCLUSTER_ZERO_ALLOC &&
                type != QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
                continue;
            }
            if (qcow2_get_refcount(c->bs, (e & L2E_OFFSET_MASK) >> s->cluster_bits, &rc) < 0) {
                continue;
            }
            if ((rc == 1) != ((e & QCOW_OFLAG_COPIED) != 0)) {
                res->corruptions++;
                fprintf(stderr, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64
                        " refcount=%" PRIu64 "\n", repair ? "Repairing" : "ERROR", e, rc);
                if (repair) {
                    qcow2_l2_set(s, t, j, rc == 1 ? e | QCOW_OFLAG_COPIED
                                                   : e & ~QCOW_OFLAG_COPIED);
                    dirty++;
                }
            }
        }
        if (dirty) {
            ret = qcow2_pre_write_check(c->bs, QCOW2_OL_ACTIVE_L2, l2_offset, s->cluster_size);
            if (ret >= 0) {
                ret = bdrv_pwrite(c->bs->file, l2_offset, t, s->cluster_size);
            }
            if (ret < 0) {
                fprintf(stderr, "ERROR: Could not write L2 table: %s\n", g_strerror(-ret));
                res->check_errors++;
                return ret;
            }
            res->corruptions -= dirty;
            res->corruptions_fixed += dirty;
        }
    }
    return bdrv_flush(c->bs->file);
}

static int check_refcounts(struct chk *c, int fix)
{
    struct qcow2_state *s = c->s;
    struct bdrv_check_result *res = c->res, pre;
    int64_t highest = 0;
    bool rebuild = false;
    int ret;

    c->file_len = bdrv_length(c->bs->file);
    if (c->file_len < 0) {
        res->check_errors++;
        return (int)c->file_len;
    }
    int64_t nb = (int64_t)qcow2_size_to_clusters(s, (uint64_t)c->file_len);
    res->total_clusters = (int64_t)qcow2_size_to_clusters(s, s->size);
    if (nb > INT_MAX || imrt_bytes(s, nb) > CHECK_MAX_IMRT_BYTES) {
        fprintf(stderr, "ERROR image file too large to check: %" PRId64 " clusters of %" PRIu32
                " bytes would need %" PRIu64 " MiB of refcounts in memory (limit %llu MiB)\n",
                nb, s->cluster_size, imrt_bytes(s, MIN(nb, (int64_t)1 << 55)) >> 20,
                CHECK_MAX_IMRT_BYTES >> 20);
        res->check_errors++;
        return -EFBIG;
    }
    ret = imrt_resize(s, &c->rt, &c->nb, nb);
    if (ret < 0) {
        res->check_errors++;
        return ret;
    }

    ret = calculate_refcounts(c, fix, &rebuild);
    if (ret < 0) {
        return ret;
    }
    /* When only leaks/too-low refcounts need fixing, the comparison runs a
     * second time with repairs; this first run's counters are dropped then. */
    pre = *res;
    compare_refcounts(c, 0, &rebuild, &highest);

    if (rebuild && (fix & BDRV_FIX_ERRORS)) {
        struct bdrv_check_result old = *res;
        int fresh_leaks = 0;

        fprintf(stderr, "Rebuilding refcount structure\n");
        ret = rebuild_refcount_structure(c);
        if (ret < 0) {
            res->check_errors++;
            return ret;
        }
        res->corruptions = 0;
        res->leaks = 0;
        /* Refcounts the old structure could not deliver are moot now (QEMU
         * keeps counting them, which leaves a repaired image marked corrupt). */
        res->check_errors = pre.check_errors;
        /* Count again against the new structure. */
        rebuild = false;
        memset(c->rt, 0, imrt_bytes(s, c->nb));
        ret = calculate_refcounts(c, 0, &rebuild);
        if (ret < 0) {
            return ret;
        }
        if (fix & BDRV_FIX_LEAKS) {
            /* The old structure is leaked now: free it.  Leaks the rebuild
             * itself left behind stay counted. */
            struct bdrv_check_result saved = *res;
            memset(res, 0, sizeof(*res));
            compare_refcounts(c, BDRV_FIX_LEAKS, &rebuild, &highest);
            if (rebuild) {
                fprintf(stderr, "ERROR rebuilt refcount structure is still broken\n");
            }
            fresh_leaks = res->leaks;
            *res = saved;
        }
        if (res->corruptions < old.corruptions) {
            res->corruptions_fixed += old.corruptions - res->corruptions;
        }
        if (res->leaks < old.leaks) {
            res->leaks_fixed += old.leaks - res->leaks;
        }
        res->leaks += fresh_leaks;
    } else if (fix) {
        if (rebuild) {
            fprintf(stderr, "ERROR need to rebuild refcount structures\n");
            res->check_errors++;
            return -EIO;
        }
        if (res->leaks || res->corruptions) {
            *res = pre;
            compare_refcounts(c, fix, &rebuild, &highest);
        }
    }

    ret = check_oflag_copied(c, fix);
    if (ret < 0) {
        return ret;
    }
    res->image_end_offset = (highest + 1) * (int64_t)s->cluster_size;
    return 0;
}


/*
 * Open in check mode (BDRV_O_CHECK) drops a snapshot table it cannot read.
 * Counting without it would call every cluster only a snapshot uses leaked
 * and -r would free them: read it again here and stop the check when it
 * still cannot be read, as QEMU does (-r all cuts down entries with too
 * much extra data instead).  Then v3 entries without the extra data v3
 * requires (64-bit VM state size, disk size) are counted.  *incomplete:
 * entries needing the table rewritten.
 */
static int check_snapshot_table(struct bdrv *bs, struct bdrv_check_result *res, int fix,
                                int *incomplete)
{
    struct qcow2_state *s = bs->opaque;
    uint8_t hdr[12];
    GError *err = NULL;
    int ret;

    *incomplete = 0;
    if (!s->snapshots) {
        ret = bdrv_pread(bs->file, QCOW2_HDR_NB_SNAPSHOTS, hdr, sizeof(hdr));
        if (ret < 0) {
            fprintf(stderr, "ERROR failed to read the snapshot table pointer from the image "
                    "header: %s\n", g_strerror(-ret));
            res->check_errors++;
            return ret;
        }
        s->nb_snapshots = qcow2_ld32(hdr);
        s->snapshots_offset = qcow2_ld64(hdr + 4);
        if (s->nb_snapshots == 0) {
            return 0;
        }
        ret = (fix & BDRV_FIX_ERRORS) ? qcow2_read_snapshots_repair(bs, incomplete, &err)
                                      : qcow2_read_snapshots(bs, &err);
        /* Entries cut down need the table rewritten, as incomplete ones. */
        res->corruptions += *incomplete;
        if (ret < 0) {
            error_report("ERROR failed to read the snapshot table: %s",
                    err ? err->message : g_strerror(-ret));
            g_clear_error(&err);
            res->check_errors++;
            s->nb_snapshots = 0;
            s->snapshots_offset = 0;
            return ret;
        }
    }
    for (uint32_t i = 0; s->version >= 3 && i < s->nb_snapshots; i++) {
        if (s->snapshots[i].extra_data_size < QCOW2_SN_V3_MIN_EXTRA) {
            fprintf(stderr, "%s snapshot table entry %" PRIu32 " is incomplete\n",
                    fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR", i);
            res->corruptions++;
            (*incomplete)++;
        }
    }
    return 0;
}

/* Rewrites the snapshot table with complete entries (after the refcounts are
 * repaired: writing it frees the old table's clusters). */
static int fix_snapshot_table(struct bdrv *bs, struct bdrv_check_result *res, int incomplete)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (s->snapshots[i].extra_data_size < QCOW2_SN_EXTRA_SIZE) {
            s->snapshots[i].extra_data_size = QCOW2_SN_EXTRA_SIZE;
        }
    }
    ret = qcow2_write_snapshots(bs);
    if (ret < 0) {
        fprintf(stderr, "ERROR failed to update the snapshot table: %s\n", g_strerror(-ret));
        res->check_errors++;
        return ret;
    }
    res->corruptions -= incomplete;
    res->corruptions_fixed += incomplete;
    return 0;
}

int qcow2_check(struct bdrv *bs, struct bdrv_check_result *res, int fix)
{
    struct qcow2_state *s = bs->opaque;
    struct chk c = { .bs = bs, .s = s, .res = res };
    struct bdrv_check_result snap = { 0 };
    int incomplete, ret;

    memset(res, 0, sizeof(*res));
    if (fix && bs->read_only) {
        res->check_errors++;
        return -EACCES;
    }
    /* Kept apart: a refcount rebuild resets the refcount counters only. */
    ret = check_snapshot_table(bs, &snap, fix, &incomplete);
    if (ret < 0) {
        res->check_errors += snap.check_errors;
        return ret;
    }
    /* Tables are read from the file and repairs write it directly: the
     * caches must hold nothing newer (dirty L2 tables, frees not yet applied),
     * and nothing stale afterwards. */
    ret = qcow2_writeback(bs);
    if (ret >= 0) {
        ret = qcow2_cache_empty(bs, s->l2_cache);
    }
    if (ret >= 0) {
        ret = qcow2_cache_flush(bs, s->refcount_cache);
    }
    if (ret < 0) {
        res->check_errors++;
        return ret;
    }

    ret = check_refcounts(&c, fix);
    g_free(c.rt);
    res->has_bfi = true;
    if (fix) {
        int r2 = qcow2_cache_empty(bs, s->l2_cache);
        if (ret >= 0 && r2 < 0) {
            ret = r2;
        }
    }
    if (ret >= 0 && incomplete && (fix & BDRV_FIX_ERRORS)) {
        ret = fix_snapshot_table(bs, &snap, incomplete);
    }
    res->corruptions += snap.corruptions;
    res->corruptions_fixed += snap.corruptions_fixed;
    res->check_errors += snap.check_errors;
    if (ret < 0) {
        return ret;
    }
    if (fix && res->check_errors == 0 && res->corruptions == 0) {
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            return ret;
        }
        return qcow2_mark_consistent(bs);
    }
    return 0;
}
