/*
 * qcow2 amend (qemu-img amend -o ...) and measure (qemu-img measure).
 *
 * amend changes what qcow2.txt lets change in place: compat (version 2 <-> 3),
 * lazy_refcounts (compatible bit 0), refcount_bits (refcount_order: the
 * refcount structure is rewritten) and size; the order of the steps, what is
 * refused and the wording are QEMU 7.2's (qcow2_amend_options): upgrade first,
 * downgrade last, so the features a downgrade must drop are gone by then.
 *
 * measure reproduces qemu-img measure's arithmetic (qcow2_measure,
 * qcow2_calc_prealloc_size, qcow2_refcount_metadata_size): header, L1, L2 and
 * refcount metadata of a fully allocated image, minus the data clusters the
 * input does not use.
 *
 * Threads: amend runs with no I/O in flight on the node (block.h); measure
 * reads the input node only through the synchronous block_status.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "block/qcow2.h"


#define L1E_SIZE 8

static int set_err(GError **errp, int ret, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int set_err(GError **errp, int ret, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, G_FILE_ERROR, ret == -EIO ? G_FILE_ERROR_IO : G_FILE_ERROR_INVAL,
                        msg);
    return ret;
}

/* ---- Option parsing shared by amend and measure ---- */

/* compat: "0.10"/"v2" -> 2, "1.1"/"v3" -> 3, else 0. */
static int parse_compat(const char *v)
{
    if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
        return 2;
    }
    if (!strcmp(v, "1.1") || !strcmp(v, "v3")) {
        return 3;
    }
    return 0;
}

static bool valid_refcount_bits(uint64_t bits)
{
    return bits > 0 && bits <= 64 && !(bits & (bits - 1));
}

static int ctz64(uint64_t v)
{
    return __builtin_ctzll(v);
}

/* ---- Downgrade helpers ---- */

/* Walks every L2 table reachable from the active and snapshot L1 tables. */
typedef int (*l2_visit_fn)(struct bdrv *bs, uint64_t l2_offset, void *opaque);

static int visit_l1(struct bdrv *bs, const uint64_t *l1, uint32_t n, bool host_endian,
                    l2_visit_fn fn, void *opaque)
{
    struct qcow2_state *s = bs->opaque;

    for (uint32_t i = 0; i < n; i++) {
        uint64_t e = host_endian ? l1[i] : GUINT64_FROM_BE(l1[i]);
        uint64_t l2 = e & L1E_OFFSET_MASK;
        if (!l2) {
            continue;
        }
        if (qcow2_offset_into_cluster(s, l2)) {
            return -EIO;
        }
        int ret = fn(bs, l2, opaque);
        if (ret != 0) {
            return ret;
        }
    }
    return 0;
}

static int visit_all_l2(struct bdrv *bs, l2_visit_fn fn, void *opaque)
{
    struct qcow2_state *s = bs->opaque;
    int ret = visit_l1(bs, s->l1_table, s->l1_size, true, fn, opaque);

    for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snapshots[i];
        uint64_t bytes = (uint64_t)sn->l1_size * L1E_SIZE;
        if (bytes > QCOW2_MAX_L1_BYTES || qcow2_offset_into_cluster(s, sn->l1_table_offset)) {
            return -EIO;
        }
        g_autofree uint64_t *l1 = g_malloc(bytes + 8);
        ret = bdrv_pread(bs->file, sn->l1_table_offset, l1, bytes);
        if (ret >= 0) {
            ret = visit_l1(bs, l1, sn->l1_size, false, fn, opaque);
        }
    }
    return ret;
}

static int find_compressed(struct bdrv *bs, uint64_t l2_offset, void *opaque)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t *t;
    int ret = qcow2_l2_load(bs, l2_offset, &t), found = 0;

    if (ret < 0) {
        return ret;
    }
    for (uint32_t j = 0; j < s->l2_size && !found; j++) {
        found = qcow2_cluster_type(s, qcow2_l2_get(s, t, j)) == QCOW2_SUBCLUSTER_COMPRESSED;
    }
    qcow2_l2_put(bs, &t);
    return found;
}

/* v2 has no zero flag (qcow2.txt, standard descriptor bit 0): zero clusters
 * become unallocated (no backing: they read zeroes anyway) or real clusters
 * of zeroes. */
static int expand_zero_l2(struct bdrv *bs, uint64_t l2_offset, void *opaque)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t *t, l2_rc;
    bool dirty = false;
    int ret;

    ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits, &l2_rc);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_l2_load(bs, l2_offset, &t);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t j = 0; j < s->l2_size; j++) {
        uint64_t e = qcow2_l2_get(s, t, j), off;
        enum qcow2_subcluster_type type = qcow2_cluster_type(s, e);

        if (type != QCOW2_SUBCLUSTER_ZERO_PLAIN && type != QCOW2_SUBCLUSTER_ZERO_ALLOC) {
            continue;
        }
        if (type == QCOW2_SUBCLUSTER_ZERO_PLAIN) {
            if (!bs->backing_file[0]) {
                qcow2_l2_set(s, t, j, 0);
                dirty = true;
                continue;
            }
            int64_t n = qcow2_alloc_clusters(bs, s->cluster_size);
            if (n < 0) {
                ret = (int)n;
                break;
            }
            off = (uint64_t)n;
            /* A shared L2 table holds the new cluster once per sharer. */
            if (l2_rc > 1) {
                ret = qcow2_update_refcount(bs, off, s->cluster_size, (int64_t)l2_rc - 1);
                if (ret < 0) {
                    break;
                }
            }
        } else {
            off = e & L2E_OFFSET_MASK;
        }
        ret = bdrv_pwrite_zeroes(bs->file, off, s->cluster_size, 0);
        if (ret < 0) {
            break;
        }
        e = type == QCOW2_SUBCLUSTER_ZERO_PLAIN ? off | (l2_rc == 1 ? QCOW_OFLAG_COPIED : 0)
                                                : e & ~QCOW_OFLAG_ZERO;
        qcow2_l2_set(s, t, j, e);
        dirty = true;
    }
    if (ret >= 0 && dirty) {
        ret = bdrv_flush(bs->file); /* zeroes on disk before the entries */
        if (ret >= 0) {
            ret = qcow2_l2_write(bs, t, 0, s->l2_size);
        }
    }
    qcow2_l2_put(bs, &t);
    return ret < 0 ? ret : 0;
}

static int downgrade(struct bdrv *bs, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    /* The walks below read L2 tables and refcounts: settle deferred work. */
    ret = qcow2_writeback(bs);
    if (ret < 0) {
        return set_err(errp, ret, "Failed to write back metadata: %s", g_strerror(-ret));
    }

    if (s->refcount_order != 4) {
        return set_err(errp, -ENOTSUP, "compat=0.10 requires refcount_bits=16");
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE) {
        return set_err(errp, -ENOTSUP, "Cannot downgrade an image with a data file");
    }
    /* v2 readers would not know these snapshot fields matter. */
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (s->snapshots[i].vm_state_size > UINT32_MAX || s->snapshots[i].disk_size != s->size) {
            return set_err(errp, -ENOTSUP, "Internal snapshots prevent downgrade of image");
        }
    }
    if (s->compression_type != QCOW2_COMPRESSION_ZLIB) {
        ret = visit_all_l2(bs, find_compressed, NULL);
        if (ret < 0) {
            return set_err(errp, ret, "Failed to check for compressed clusters: %s",
                           g_strerror(-ret));
        }
        if (ret > 0) {
            return set_err(errp, -ENOTSUP, "Cannot downgrade an image with zstd compression "
                           "type and existing compressed clusters");
        }
        s->compression_type = QCOW2_COMPRESSION_ZLIB;
        s->incompatible_features &= ~QCOW2_INCOMPAT_COMPRESSION;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            return set_err(errp, ret, "Failed to make the image clean: %s", g_strerror(-ret));
        }
    }
    if (s->incompatible_features) {
        return set_err(errp, -ENOTSUP, "Cannot downgrade an image with incompatible features "
                       "%#" PRIx64 " set", s->incompatible_features);
    }
    s->compatible_features = 0;
    s->autoclear_features = 0;
    s->use_lazy_refcounts = false;

    ret = visit_all_l2(bs, expand_zero_l2, NULL);
    if (ret >= 0) {
        ret = qcow2_cache_flush(bs, s->l2_cache);
    }
    if (ret < 0) {
        return set_err(errp, ret, "Failed to turn zero into data clusters: %s",
                       g_strerror(-ret));
    }
    s->version = 2;
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        s->version = 3;
        return set_err(errp, ret, "Failed to update the image header: %s", g_strerror(-ret));
    }
    return 0;
}

static int upgrade(struct bdrv *bs, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    /* v3 requires the 64-bit VM state size and the disk size in every
     * snapshot's extra data; the table is written in that form anyway. */
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (s->snapshots[i].extra_data_size < QCOW2_SN_V3_MIN_EXTRA) {
            ret = qcow2_write_snapshots(bs);
            if (ret < 0) {
                return set_err(errp, ret, "Failed to update the snapshot table: %s",
                               g_strerror(-ret));
            }
            break;
        }
    }
    s->version = 3;
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        s->version = 2;
        return set_err(errp, ret, "Failed to update the image header: %s", g_strerror(-ret));
    }
    return 0;
}

static int set_lazy_refcounts(struct bdrv *bs, bool on, int version, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    if (on) {
        if (version < 3) {
            return set_err(errp, -EINVAL, "Lazy refcounts only supported with compatibility "
                           "level 1.1 and above (use compat=1.1 or greater)");
        }
        s->compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
    } else {
        /* Refcounts must be exact before lazy updates are forbidden. */
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            return set_err(errp, ret, "Failed to make the image clean: %s", g_strerror(-ret));
        }
        s->compatible_features &= ~QCOW2_COMPAT_LAZY_REFCOUNTS;
    }
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        s->compatible_features ^= QCOW2_COMPAT_LAZY_REFCOUNTS;
        return set_err(errp, ret, "Failed to update the image header: %s", g_strerror(-ret));
    }
    s->use_lazy_refcounts = on && !bs->read_only;
    return 0;
}

/* ---- amend ---- */

struct amend_opts {
    int new_version;
    uint64_t new_size;
    bool lazy;
    uint64_t refcount_bits;
};

static const char *const create_only_opts[] = {
    "cluster_size", "preallocation", "encryption", "encrypt.format", "compression_type",
    "extended_l2", "backing_file", "backing_fmt", NULL,
};

static int parse_amend_opts(struct qcow2_state *s, const struct kv_list *opts,
                            struct amend_opts *o, GError **errp)
{
    o->new_version = (int)s->version;
    o->new_size = 0;
    o->lazy = (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    o->refcount_bits = s->refcount_bits;

    for (unsigned i = 0; opts && i < opts->n; i++) {
        const char *k = opts->items[i].key, *v = opts->items[i].value;
        if (!strcmp(k, "compat")) {
            o->new_version = parse_compat(v);
            if (!o->new_version) {
                return set_err(errp, -EINVAL, "Unknown compatibility level %s", v);
            }
        } else if (!strcmp(k, "size")) {
            if (parse_size(v, 1, &o->new_size) < 0) {
                return set_err(errp, -EINVAL, "Parameter 'size' expects a non-negative number "
                               "below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, "
                               "mega-, giga-, tera-, peta-\nand exabytes, respectively.");
            }
        } else if (!strcmp(k, "lazy_refcounts")) {
            if (!parse_bool(v, &o->lazy)) {
                return set_err(errp, -EINVAL, "Parameter 'lazy_refcounts' expects 'on' or 'off'");
            }
        } else if (!strcmp(k, "refcount_bits")) {
            if (parse_uint(v, &o->refcount_bits) < 0) {
                return set_err(errp, -EINVAL, "Parameter 'refcount_bits' expects a number");
            }
            if (!valid_refcount_bits(o->refcount_bits)) {
                return set_err(errp, -EINVAL, "Refcount width must be a power of two and may "
                               "not exceed 64 bits");
            }
        } else if (!strcmp(k, "data_file") || !strcmp(k, "data_file_raw")) {
            return set_err(errp, -EINVAL, "data-file can only be set for images that use an "
                           "external data file");
        } else if (g_str_has_prefix(k, "encrypt.") && strcmp(k, "encrypt.format")) {
            return set_err(errp, -EINVAL,
                           "Can't amend encryption options - encryption not present");
        } else {
            for (const char *const *c = create_only_opts; *c; c++) {
                if (!strcmp(k, *c)) {
                    if (!strcmp(k, "backing_file") || !strcmp(k, "backing_fmt")) {
                        return set_err(errp, -EINVAL, "Cannot amend the backing file\nYou can "
                                       "use 'qemu-img rebase' instead.");
                    }
                    return set_err(errp, -EINVAL, "Invalid parameter '%s'\nThis option is only "
                                   "supported for image creation", k);
                }
            }
            return set_err(errp, -EINVAL, "Invalid parameter '%s'", k);
        }
    }
    return 0;
}

int qcow2_amend(struct bdrv *bs, const struct kv_list *opts, bool force, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    int old_version = (int)s->version;
    struct amend_opts o;
    int ret;

    ret = parse_amend_opts(s, opts, &o, errp);
    if (ret < 0) {
        return ret;
    }
    if (bs->read_only) {
        return set_err(errp, -EACCES, "Image is read-only");
    }
    /* Upgrade first: later steps may need v3. */
    if (o.new_version > old_version) {
        ret = upgrade(bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (o.refcount_bits != s->refcount_bits) {
        if (o.new_version < 3 && o.refcount_bits != 16) {
            return set_err(errp, -EINVAL, "Refcount widths other than 16 bits require "
                           "compatibility level 1.1 or above (use compat=1.1 or greater)");
        }
        ret = qcow2_change_refcount_order(bs, ctz64(o.refcount_bits), errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        return set_err(errp, ret, "Failed to update the image header: %s", g_strerror(-ret));
    }
    if (o.lazy != ((s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0)) {
        ret = set_lazy_refcounts(bs, o.lazy, o.new_version, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (o.new_size) {
        /* amend sets exactly the size given: shrinking included. */
        ret = qcow2_truncate(bs, o.new_size, true, "off", errp);
        if (ret < 0) {
            return ret;
        }
    }
    /* Downgrade last, once features it cannot keep are gone. */
    if (o.new_version < old_version) {
        ret = downgrade(bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* ---- measure ---- */

/* Refcount table and block bytes needed to count `clusters` clusters plus the
 * refcount metadata itself: the fixed point of blocks(table, blocks). */
static uint64_t refcount_metadata_size(uint64_t clusters, uint64_t cluster_size, int order)
{
    uint64_t per_block = cluster_size * 8 >> order;
    uint64_t blocks_per_table_cluster = cluster_size / 8;
    uint64_t table = 0, blocks = 0, n = 0, last;

    do {
        last = n;
        blocks = (clusters + table + blocks + per_block - 1) / per_block;
        table = (blocks + blocks_per_table_cluster - 1) / blocks_per_table_cluster;
        n = clusters + blocks + table;
    } while (n != last);
    return (blocks + table) * cluster_size;
}

/* Bytes of a fully allocated image of virtual size `size` (QEMU's
 * qcow2_calc_prealloc_size). */
static uint64_t calc_prealloc_size(uint64_t size, uint64_t cs, int order, bool extl2)
{
    uint64_t l2e = extl2 ? 16 : 8;
    uint64_t aligned = (size + cs - 1) / cs * cs;
    uint64_t meta = cs; /* header */
    uint64_t nl2e, nl1e;

    nl2e = aligned / cs;
    nl2e = (nl2e + cs / l2e - 1) / (cs / l2e) * (cs / l2e);
    meta += nl2e * l2e;
    nl1e = nl2e * l2e / cs;
    nl1e = (nl1e + cs / 8 - 1) / (cs / 8) * (cs / 8);
    meta += nl1e * 8;
    meta += refcount_metadata_size((meta + aligned) / cs, cs, order);
    return meta + aligned;
}

/* Block status of bs looking down its backing chain (QEMU's
 * bdrv_block_status_above with base NULL). */
static int status_above(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum)
{
    uint64_t map;
    struct bdrv *file;
    int ret = bdrv_block_status(bs, off, bytes, pnum, &map, &file);

    if (ret < 0 || (ret & BDRV_BLOCK_ALLOCATED) || !bs->backing) {
        return ret;
    }
    int64_t blen = bdrv_length(bs->backing);
    if (blen < 0) {
        return (int)blen;
    }
    if (off >= (uint64_t)blen) {
        return BDRV_BLOCK_ZERO;
    }
    uint64_t n = MIN(*pnum, (uint64_t)blen - off);
    ret = status_above(bs->backing, off, n, pnum);
    if (ret >= 0 && (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO))) {
        ret |= BDRV_BLOCK_ALLOCATED;
    }
    return ret;
}

static int measure_input(struct bdrv *in, uint64_t cs, bool has_backing, uint64_t *vsize,
                         uint64_t *required, GError **errp)
{
    int64_t ssize = bdrv_length(in);

    if (ssize < 0) {
        return set_err(errp, (int)ssize, "Unable to get image virtual_size: %s",
                       g_strerror((int)-ssize));
    }
    *vsize = ((uint64_t)ssize + cs - 1) / cs * cs;
    if (has_backing) {
        /* The new backing may share nothing with the input: count it all. */
        *required = *vsize;
        return 0;
    }
    for (uint64_t off = 0, pnum = 0; off < (uint64_t)ssize; off += pnum) {
        int ret = status_above(in, off, (uint64_t)ssize - off, &pnum);
        if (ret < 0) {
            return set_err(errp, ret, "Unable to get block status: %s", g_strerror(-ret));
        }
        if (pnum == 0) {
            return set_err(errp, -EIO, "Unable to get block status: %s", g_strerror(EIO));
        }
        if (ret & BDRV_BLOCK_ZERO) {
            continue; /* zeroes need no data cluster without a backing file */
        }
        if ((ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) ==
            (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) {
            /* Whole clusters, as QEMU counts them. */
            pnum = (off + pnum + cs - 1) / cs * cs - off;
            *required += off % cs + pnum;
        }
    }
    return 0;
}

int qcow2_measure(const struct kv_list *opts, struct bdrv *in, uint64_t size,
                  struct bdrv_measure *out, GError **errp)
{
    uint64_t cs = 65536, refcount_bits = 16, required = 0, vsize, l2_tables;
    int version = 3;
    bool extl2 = false, has_backing = false, full = false;
    const char *v;
    int ret;

    if ((v = kv_get(opts, "cluster_size"))) {
        if (parse_size(v, 1, &cs) < 0) {
            return set_err(errp, -EINVAL, "Parameter 'cluster_size' expects a non-negative "
                           "number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, "
                           "mega-, giga-, tera-, peta-\nand exabytes, respectively.");
        }
    }
    if ((v = kv_get(opts, "extended_l2")) && !parse_bool(v, &extl2)) {
        return set_err(errp, -EINVAL, "Parameter 'extended_l2' expects 'on' or 'off'");
    }
    if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1))) {
        return set_err(errp, -EINVAL, "Cluster size must be a power of two between 512 and "
                       "2048k");
    }
    if (extl2 && cs < 16384) {
        return set_err(errp, -EINVAL, "Extended L2 entries are only supported with cluster "
                       "sizes of at least 16384 bytes");
    }
    if ((v = kv_get(opts, "compat"))) {
        version = parse_compat(v);
        if (!version) {
            return set_err(errp, -EINVAL, "Invalid compatibility level: '%s'", v);
        }
    }
    if ((v = kv_get(opts, "refcount_bits"))) {
        if (parse_uint(v, &refcount_bits) < 0) {
            return set_err(errp, -EINVAL, "Parameter 'refcount_bits' expects a number");
        }
        if (!valid_refcount_bits(refcount_bits)) {
            return set_err(errp, -EINVAL, "Refcount width must be a power of two and may not "
                           "exceed 64 bits");
        }
        if (version < 3 && refcount_bits != 16) {
            return set_err(errp, -EINVAL, "Different refcount widths than 16 bits require "
                           "compatibility level 1.1 or above (use compat=1.1 or greater)");
        }
    }
    if ((v = kv_get(opts, "preallocation"))) {
        if (!strcmp(v, "falloc") || !strcmp(v, "full")) {
            full = true;
        } else if (strcmp(v, "off") && strcmp(v, "metadata")) {
            return set_err(errp, -EINVAL, "invalid parameter value: %s", v);
        }
    }
    has_backing = kv_get(opts, "backing_file") != NULL;
    if ((v = kv_get(opts, "encrypt.format")) && !strcmp(v, "luks")) {
        return set_err(errp, -ENOTSUP, "LUKS encryption is not supported");
    }

    vsize = (size + cs - 1) / cs * cs;
    l2_tables = (vsize / cs + cs / (extl2 ? 16 : 8) - 1) / (cs / (extl2 ? 16 : 8));
    if (l2_tables * L1E_SIZE > QCOW2_MAX_L1_BYTES) {
        return set_err(errp, -EINVAL, "The image size is too large (try using a larger cluster "
                       "size)");
    }
    if (in) {
        ret = measure_input(in, cs, has_backing, &vsize, &required, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (full) {
        required = vsize;
    }
    out->fully_allocated = calc_prealloc_size(vsize, cs, ctz64(refcount_bits), extl2);
    /* Metadata for the full image stays counted: QEMU overestimates alike. */
    out->required = out->fully_allocated - vsize + required;
    out->bitmaps = 0;
    return 0;
}
