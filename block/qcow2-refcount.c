/*
 * qcow2 reference counts (qcow2.txt "Host cluster management"): the refcount
 * table, refcount blocks of any refcount_order, and cluster allocation.
 *
 * Threads: every function under qcow2_state.lock (see qcow2.h).
 * Contract: an increase is written to the file before the caller can point
 * metadata at the cluster (write-through, unless lazy refcounts defer it under
 * the dirty bit); new refcount blocks and a grown refcount table are placed at
 * the end of the image covering themselves, written before the table entry or
 * header that makes them reachable, and the old table is freed last.
 */
#include <errno.h>
#include <string.h>

#include "block/qcow2.h"

uint64_t qcow2_refblock_get(const struct qcow2_state *s, const void *block, uint64_t idx)
{
    const uint8_t *b = block;

    switch (s->refcount_order) {
    case 0:
        return (b[idx / 8] >> (idx % 8)) & 1;
    case 1:
        return (b[idx / 4] >> (2 * (idx % 4))) & 3;
    case 2:
        return (b[idx / 2] >> (4 * (idx % 2))) & 15;
    case 3:
        return b[idx];
    case 4:
        return qcow2_ld16(b + idx * 2);
    case 5:
        return qcow2_ld32(b + idx * 4);
    default:
        return qcow2_ld64(b + idx * 8);
    }
}

void qcow2_refblock_set(const struct qcow2_state *s, void *block, uint64_t idx, uint64_t v)
{
    uint8_t *b = block;
    unsigned bits, shift;

    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2:
        /* Sub-byte widths: bit 0 is the least significant (qcow2.txt). */
        bits = s->refcount_bits;
        shift = (idx % (8 / bits)) * bits;
        b[idx * bits / 8] &= ~(((1u << bits) - 1) << shift);
        b[idx * bits / 8] |= (uint8_t)(v << shift);
        break;
    case 3:
        b[idx] = (uint8_t)v;
        break;
    case 4:
        qcow2_st16(b + idx * 2, (uint16_t)v);
        break;
    case 5:
        qcow2_st32(b + idx * 4, (uint32_t)v);
        break;
    default:
        qcow2_st64(b + idx * 8, v);
        break;
    }
}

/* Byte range [start, end) of a refcount block holding entries [first, last]. */
static void refblock_byte_range(const struct qcow2_state *s, uint64_t first, uint64_t last,
                                size_t *start, size_t *len)
{
    uint64_t b0 = (first << s->refcount_order) / 8;
    uint64_t b1 = ((last + 1) << s->refcount_order) / 8;

    if (b1 == b0) {
        b1 = b0 + 1;
    }
    *start = b0;
    *len = b1 - b0;
}

int qcow2_refcount_init(struct bdrv *bs, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t bytes = (uint64_t)s->refcount_table_clusters << s->cluster_bits;
    int ret;

    s->refcount_table_size = bytes / 8;
    s->refcount_table = g_try_malloc0(MAX(bytes, 8));
    if (!s->refcount_table) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "Could not allocate refcount table");
        return -ENOMEM;
    }
    if (bytes) {
        ret = bdrv_pread(bs->file, s->refcount_table_offset, s->refcount_table, bytes);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                        "Could not initialize refcount handling: %s", g_strerror(-ret));
            return ret;
        }
    }
    for (uint64_t i = 0; i < s->refcount_table_size; i++) {
        s->refcount_table[i] = GUINT64_FROM_BE(s->refcount_table[i]);
    }
    return 0;
}

void qcow2_refcount_close(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    g_free(s->refcount_table);
    s->refcount_table = NULL;
}

/* Offset of the refcount block of group g, 0 when none; -EIO when corrupt. */
static int64_t refblock_offset(struct bdrv *bs, uint64_t g)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t off;

    if (g >= s->refcount_table_size) {
        return 0;
    }
    off = s->refcount_table[g] & REFT_OFFSET_MASK;
    if (off && qcow2_offset_into_cluster(s, off)) {
        qcow2_signal_corruption(bs, true,
                                "Refblock offset %#" PRIx64 " unaligned (reftable index: %#"
                                PRIx64 ")", off, g);
        return -EIO;
    }
    return (int64_t)off;
}

int qcow2_get_refcount(struct bdrv *bs, uint64_t cluster_index, uint64_t *rc)
{
    struct qcow2_state *s = bs->opaque;
    int64_t off = refblock_offset(bs, cluster_index >> s->refcount_block_bits);
    void *block;
    int ret;

    *rc = 0;
    if (off <= 0) {
        return (int)off;
    }
    ret = qcow2_cache_get(bs, s->refcount_cache, off, &block);
    if (ret < 0) {
        return ret;
    }
    *rc = qcow2_refblock_get(s, block, cluster_index & (s->refcount_block_size - 1));
    qcow2_cache_put(s->refcount_cache, &block);
    return 0;
}

static uint64_t file_end_cluster(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    int64_t len = bdrv_length(bs->file);

    return len > 0 ? qcow2_size_to_clusters(s, len) : 1;
}

/*
 * Places refcount blocks for the groups in need[] (and, when the table is too
 * small, a new refcount table) at the end of the image: blocks first, then the
 * table; every group the new area itself falls in is covered too.
 */
static int make_refcount_area(struct bdrv *bs, GArray *need, uint64_t avoid_end)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t start = MAX(file_end_cluster(bs), avoid_end);
    uint64_t epc = s->cluster_size / 8; /* refcount table entries per cluster */
    GArray *groups = g_array_new(false, false, sizeof(uint64_t));
    uint64_t new_entries = s->refcount_table_size, table_clusters = 0, k = 0;
    uint64_t *new_table = NULL;
    int ret = 0;

    g_array_append_vals(groups, need->data, need->len);
    for (int iter = 0; iter < 64; iter++) {
        uint64_t end, max_group = 0, old_k = k, old_t = table_clusters;

        k = groups->len;
        end = start + k + table_clusters;
        /* Groups the area itself lands in that lack a block. */
        for (uint64_t g = start >> s->refcount_block_bits;
             g <= (end - 1) >> s->refcount_block_bits; g++) {
            bool listed = false;

            for (unsigned i = 0; i < groups->len; i++) {
                listed |= g_array_index(groups, uint64_t, i) == g;
            }
            if (!listed && (g >= s->refcount_table_size || !s->refcount_table[g])) {
                g_array_append_val(groups, g);
            }
        }
        for (unsigned i = 0; i < groups->len; i++) {
            max_group = MAX(max_group, g_array_index(groups, uint64_t, i));
        }
        if (max_group >= s->refcount_table_size) {
            new_entries = MAX(max_group + 1, s->refcount_table_size + s->refcount_table_size / 2);
            new_entries = (new_entries + epc - 1) / epc * epc;
            table_clusters = new_entries / epc;
        }
        if (groups->len == old_k && table_clusters == old_t) {
            break;
        }
    }
    k = groups->len;
    /* Clusters past the file's end may be allocated but not written yet. */
    for (uint64_t c = start; c < start + k + table_clusters; c++) {
        uint64_t rc;

        ret = qcow2_get_refcount(bs, c, &rc);
        if (ret < 0) {
            goto out;
        }
        if (rc) {
            g_array_free(groups, true);
            return make_refcount_area(bs, need, c + 1);
        }
    }
    if (table_clusters && table_clusters * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
        ret = -EFBIG;
        goto out;
    }

    /* 1. Region clusters whose group already has a block: count them there. */
    for (uint64_t c = start; c < start + k + table_clusters; c++) {
        uint64_t g = c >> s->refcount_block_bits;

        if (g < s->refcount_table_size && s->refcount_table[g]) {
            ret = qcow2_update_refcount(bs, c << s->cluster_bits, 1, 1);
            if (ret < 0) {
                goto out;
            }
        }
    }
    /* 2. The new blocks, each counting the region clusters of its group. */
    for (uint64_t i = 0; i < k; i++) {
        uint64_t g = g_array_index(groups, uint64_t, i);
        uint64_t boff = (start + i) << s->cluster_bits;
        void *block;

        ret = qcow2_cache_get_empty(bs, s->refcount_cache, boff, &block);
        if (ret < 0) {
            goto out;
        }
        for (uint64_t c = start; c < start + k + table_clusters; c++) {
            if (c >> s->refcount_block_bits == g) {
                qcow2_refblock_set(s, block, c & (s->refcount_block_size - 1), 1);
            }
        }
        ret = qcow2_pre_write_check(bs, 0, boff, s->cluster_size);
        if (ret >= 0) {
            ret = bdrv_pwrite(bs->file, boff, block, s->cluster_size);
        }
        qcow2_cache_put(s->refcount_cache, &block);
        if (ret < 0) {
            goto out;
        }
    }
    /* 3. Make them reachable: table entries in place, or a new table. */
    if (!table_clusters) {
        for (uint64_t i = 0; i < k; i++) {
            uint64_t g = g_array_index(groups, uint64_t, i);
            uint64_t be = GUINT64_TO_BE((start + i) << s->cluster_bits);

            ret = bdrv_pwrite(bs->file, s->refcount_table_offset + g * 8, &be, 8);
            if (ret < 0) {
                goto out;
            }
            s->refcount_table[g] = (start + i) << s->cluster_bits;
        }
    } else {
        uint64_t toff = (start + k) << s->cluster_bits;
        uint64_t old_off = s->refcount_table_offset;
        uint64_t old_clusters = s->refcount_table_clusters;
        uint8_t hdr[12];

        new_table = g_try_malloc0(new_entries * 8);
        if (!new_table) {
            ret = -ENOMEM;
            goto out;
        }
        for (uint64_t i = 0; i < s->refcount_table_size; i++) {
            new_table[i] = GUINT64_TO_BE(s->refcount_table[i]);
        }
        for (uint64_t i = 0; i < k; i++) {
            uint64_t g = g_array_index(groups, uint64_t, i);

            new_table[g] = GUINT64_TO_BE((start + i) << s->cluster_bits);
        }
        ret = qcow2_pre_write_check(bs, 0, toff, new_entries * 8);
        if (ret == 0) {
            ret = bdrv_pwrite(bs->file, toff, new_table, new_entries * 8);
        }
        if (ret == 0) {
            ret = bdrv_flush(bs->file);
        }
        if (ret < 0) {
            goto out;
        }
        /* refcount_table_offset and refcount_table_clusters in one write. */
        qcow2_st64(hdr, toff);
        qcow2_st32(hdr + 8, (uint32_t)table_clusters);
        ret = bdrv_pwrite(bs->file, QCOW2_HDR_REFCOUNT_TABLE_OFFSET, hdr, 12);
        if (ret == 0) {
            ret = bdrv_flush(bs->file);
        }
        if (ret < 0) {
            goto out;
        }
        for (uint64_t i = 0; i < new_entries; i++) {
            new_table[i] = GUINT64_FROM_BE(new_table[i]);
        }
        g_free(s->refcount_table);
        s->refcount_table = new_table;
        new_table = NULL;
        s->refcount_table_offset = toff;
        s->refcount_table_clusters = (uint32_t)table_clusters;
        s->refcount_table_size = new_entries;
        ret = qcow2_free_clusters(bs, old_off, old_clusters << s->cluster_bits);
    }
out:
    g_free(new_table);
    g_array_free(groups, true);
    return ret;
}

/* Makes sure every group of clusters [first, last] has a refcount block. */
static int ensure_refblocks(struct bdrv *bs, uint64_t first, uint64_t last)
{
    struct qcow2_state *s = bs->opaque;
    GArray *need = g_array_new(false, false, sizeof(uint64_t));
    int ret = 0;

    for (uint64_t g = first >> s->refcount_block_bits; g <= last >> s->refcount_block_bits;
         g++) {
        int64_t off = refblock_offset(bs, g);

        if (off < 0) {
            ret = (int)off;
            goto out;
        }
        if (!off) {
            g_array_append_val(need, g);
        }
    }
    if (need->len) {
        ret = make_refcount_area(bs, need, last + 1);
    }
out:
    g_array_free(need, true);
    return ret;
}

static void refcount_freed(struct bdrv *bs, uint64_t cluster)
{
    struct qcow2_state *s = bs->opaque;

    if (cluster < s->free_cluster_index) {
        s->free_cluster_index = cluster;
    }
    /* Compressed data is no longer packed into a cluster that was freed (it
     * may be reallocated for anything). */
    if (s->free_byte_offset && s->free_byte_offset >> s->cluster_bits == cluster) {
        s->free_byte_offset = 0;
    }
    /* A freed table must not be found in a cache when the cluster is reused. */
    qcow2_cache_discard(s->l2_cache, cluster << s->cluster_bits);
    qcow2_cache_discard(s->refcount_cache, cluster << s->cluster_bits);
}

int qcow2_update_refcount(struct bdrv *bs, uint64_t offset, uint64_t length, int64_t addend)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t first, last, c;
    int ret;

    if (!length || !addend) {
        return 0;
    }
    first = offset >> s->cluster_bits;
    last = (offset + length - 1) >> s->cluster_bits;

    /* Check every cluster first so a failure changes nothing. */
    for (c = first; c <= last; c++) {
        uint64_t rc;

        ret = qcow2_get_refcount(bs, c, &rc);
        if (ret < 0) {
            return ret;
        }
        if ((addend < 0 && rc < (uint64_t)-addend) ||
            (addend > 0 && s->refcount_max - rc < (uint64_t)addend)) {
            return -ERANGE;
        }
    }
    if (addend > 0) {
        ret = ensure_refblocks(bs, first, last);
        if (ret < 0) {
            return ret;
        }
    }
    if (s->use_lazy_refcounts && !s->dirty_marked) {
        ret = qcow2_mark_dirty(bs);
        if (ret < 0) {
            return ret;
        }
    }
    for (c = first; c <= last;) {
        uint64_t g = c >> s->refcount_block_bits;
        uint64_t g_last = MIN(last, ((g + 1) << s->refcount_block_bits) - 1);
        int64_t boff = refblock_offset(bs, g);
        void *block;
        size_t bstart, blen;

        if (boff <= 0) {
            return boff < 0 ? (int)boff : -EIO;
        }
        ret = qcow2_cache_get(bs, s->refcount_cache, boff, &block);
        if (ret < 0) {
            return ret;
        }
        for (uint64_t i = c; i <= g_last; i++) {
            uint64_t idx = i & (s->refcount_block_size - 1);
            uint64_t rc = qcow2_refblock_get(s, block, idx) + addend;

            qcow2_refblock_set(s, block, idx, rc);
            if (rc == 0) {
                refcount_freed(bs, i);
            }
        }
        if (s->use_lazy_refcounts) {
            qcow2_cache_mark_dirty(s->refcount_cache, block);
            ret = 0;
        } else {
            refblock_byte_range(s, c & (s->refcount_block_size - 1),
                                g_last & (s->refcount_block_size - 1), &bstart, &blen);
            ret = qcow2_cache_write_part(bs, s->refcount_cache, block, bstart, blen);
        }
        qcow2_cache_put(s->refcount_cache, &block);
        if (ret < 0) {
            return ret;
        }
        c = g_last + 1;
    }
    return 0;
}

int qcow2_set_refcount(struct bdrv *bs, uint64_t cluster_index, uint64_t value)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t rc;
    int ret = qcow2_get_refcount(bs, cluster_index, &rc);

    if (ret < 0) {
        return ret;
    }
    if (value > s->refcount_max) {
        return -ERANGE;
    }
    return qcow2_update_refcount(bs, cluster_index << s->cluster_bits, 1,
                                 (int64_t)value - (int64_t)rc);
}

/* First run of n free clusters at or after the search hint. */
static int find_free(struct bdrv *bs, uint64_t n, uint64_t *out)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t c = MAX(s->free_cluster_index, 1), run = 0, start = c;
    bool first_free_seen = false;
    /* Clusters past the end of the refcount table are free by definition. */
    uint64_t covered = s->refcount_table_size << s->refcount_block_bits;

    while (run < n) {
        uint64_t rc = 0;
        int ret;

        if (c >= covered) {
            if (run == 0) {
                start = c;
            }
            if (!first_free_seen) {
                s->free_cluster_index = c;
            }
            *out = start;
            return 0;
        }
        ret = qcow2_get_refcount(bs, c, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc == 0) {
            if (!first_free_seen) {
                first_free_seen = true;
                s->free_cluster_index = c;
            }
            if (run == 0) {
                start = c;
            }
            run++;
        } else {
            run = 0;
        }
        c++;
    }
    *out = start;
    return 0;
}

int64_t qcow2_alloc_clusters(struct bdrv *bs, uint64_t bytes)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t n = qcow2_size_to_clusters(s, bytes), start;
    int ret;

    if (n == 0) {
        n = 1;
    }
    for (int tries = 0; tries < 16; tries++) {
        ret = find_free(bs, n, &start);
        if (ret < 0) {
            return ret;
        }
        if ((start + n) << s->cluster_bits > (1ull << 56)) {
            return -EFBIG; /* past what an L2 entry can hold */
        }
        ret = ensure_refblocks(bs, start, start + n - 1);
        if (ret < 0) {
            return ret;
        }
        /* New refcount blocks may have taken clusters of the run: look again. */
        {
            bool still_free = true;

            for (uint64_t c = start; c < start + n && still_free; c++) {
                uint64_t rc;

                ret = qcow2_get_refcount(bs, c, &rc);
                if (ret < 0) {
                    return ret;
                }
                still_free = rc == 0;
            }
            if (!still_free) {
                continue;
            }
        }
        ret = qcow2_update_refcount(bs, start << s->cluster_bits, n << s->cluster_bits, 1);
        if (ret < 0) {
            return ret;
        }
        if (s->free_cluster_index == start) {
            s->free_cluster_index = start + n;
        }
        return (int64_t)(start << s->cluster_bits);
    }
    return -EIO;
}

int64_t qcow2_alloc_clusters_at(struct bdrv *bs, uint64_t offset, uint64_t n)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t first = offset >> s->cluster_bits, i;
    int ret;

    for (i = 0; i < n; i++) {
        uint64_t rc;

        ret = qcow2_get_refcount(bs, first + i, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc) {
            break;
        }
    }
    if (i == 0) {
        return 0;
    }
    ret = ensure_refblocks(bs, first, first + i - 1);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_update_refcount(bs, offset, i << s->cluster_bits, 1);
    return ret < 0 ? ret : (int64_t)i;
}

int64_t qcow2_alloc_bytes(struct bdrv *bs, uint64_t size)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t off = s->free_byte_offset, into = qcow2_offset_into_cluster(s, off);
    int64_t new_off;
    int ret;

    if (size == 0 || size > s->cluster_size) {
        return -EINVAL;
    }
    if (off && into && into + size <= s->cluster_size) {
        /* Fits behind the last compressed data: one more user of the cluster. */
        ret = qcow2_update_refcount(bs, off, 1, 1);
        if (ret == 0) {
            s->free_byte_offset = off + size;
            return (int64_t)off;
        }
        if (ret != -ERANGE) {
            return ret;
        }
        off = 0; /* refcount full: start a new cluster */
    }
    new_off = qcow2_alloc_clusters(bs, off && into ? size - (s->cluster_size - into) : size);
    if (new_off < 0) {
        return new_off;
    }
    if (off && into && (uint64_t)new_off == qcow2_start_of_cluster(s, off) + s->cluster_size) {
        /* The next cluster came: the data spans the two, as QEMU packs it. */
        ret = qcow2_update_refcount(bs, off, 1, 1);
        if (ret == 0) {
            s->free_byte_offset = off + size;
            return (int64_t)off;
        }
        if (ret != -ERANGE) {
            qcow2_free_clusters(bs, new_off, s->cluster_size);
            return ret;
        }
    }
    s->free_byte_offset = new_off + size;
    return new_off;
}

int qcow2_free_clusters(struct bdrv *bs, uint64_t offset, uint64_t length)
{
    int ret = qcow2_update_refcount(bs, offset, length, -1);

    if (ret < 0) {
        qcow2_signal_corruption(bs, false,
                                "Could not free clusters at %#" PRIx64 " (%" PRIu64 " bytes): %s",
                                offset, length, g_strerror(-ret));
        /* A failed free leaks at worst; the caller's metadata is consistent. */
        return ret == -ERANGE ? 0 : ret;
    }
    return 0;
}

int qcow2_free_any_cluster(struct bdrv *bs, uint64_t l2_entry)
{
    struct qcow2_state *s = bs->opaque;

    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        uint64_t host, bytes;

        qcow2_compressed_range(s, l2_entry, &host, &bytes);
        /* Whole 512-byte sectors, as QEMU counts the clusters they touch. */
        return qcow2_free_clusters(bs, host & ~511ull, (bytes + (host & 511) + 511) & ~511ull);
    }
    if (l2_entry & L2E_OFFSET_MASK) {
        return qcow2_free_clusters(bs, l2_entry & L2E_OFFSET_MASK, s->cluster_size);
    }
    return 0;
}

int qcow2_refcount_flush(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    return s->refcount_cache ? qcow2_cache_flush(bs, s->refcount_cache) : 0;
}
