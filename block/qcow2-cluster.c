/*
 * qcow2 cluster mapping (qcow2.txt "Cluster mapping", "Extended L2 Entries"):
 * L1/L2 lookup, L1 growth, exclusive L2 tables for writing, discard/zeroing of
 * whole clusters and preallocation.
 *
 * Threads: every function under qcow2_state.lock (see qcow2.h).
 * Contract: metadata is written in crash-safe order: a new L2 table is written
 * whole before the L1 entry that points at it; cleared L2 entries stay in the
 * cache and what they pointed at is freed by qcow2_writeback once the table is
 * on disk; a grown L1 table is written before the header points at it, and
 * the old one is freed last.
 */
#include <errno.h>
#include <string.h>

#include "block/qcow2.h"

enum qcow2_subcluster_type qcow2_cluster_type(const struct qcow2_state *s, uint64_t l2_entry)
{
    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_SUBCLUSTER_COMPRESSED;
    }
    if ((l2_entry & QCOW_OFLAG_ZERO) && !s->extended_l2) {
        return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_SUBCLUSTER_ZERO_ALLOC
                                           : QCOW2_SUBCLUSTER_ZERO_PLAIN;
    }
    return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_SUBCLUSTER_NORMAL
                                       : QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
}

enum qcow2_subcluster_type qcow2_subcluster_type(const struct qcow2_state *s, uint64_t l2_entry,
                                                 uint64_t bitmap, unsigned sc)
{
    enum qcow2_subcluster_type t = qcow2_cluster_type(s, l2_entry);
    uint32_t alloc = (uint32_t)bitmap, zero = (uint32_t)(bitmap >> 32);

    if (!s->extended_l2) {
        return t;
    }
    if (t == QCOW2_SUBCLUSTER_COMPRESSED) {
        return bitmap ? QCOW2_SUBCLUSTER_INVALID : t;
    }
    if (alloc & zero) {
        return QCOW2_SUBCLUSTER_INVALID;
    }
    if (t == QCOW2_SUBCLUSTER_NORMAL) {
        if (zero & (1u << sc)) {
            return QCOW2_SUBCLUSTER_ZERO_ALLOC;
        }
        return (alloc & (1u << sc)) ? QCOW2_SUBCLUSTER_NORMAL
                                    : QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC;
    }
    if (alloc) {
        return QCOW2_SUBCLUSTER_INVALID; /* allocated subclusters need a host cluster */
    }
    return (zero & (1u << sc)) ? QCOW2_SUBCLUSTER_ZERO_PLAIN : QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
}

void qcow2_compressed_range(const struct qcow2_state *s, uint64_t l2_entry, uint64_t *host,
                            uint64_t *bytes)
{
    uint64_t nb_sectors = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;

    *host = l2_entry & s->cluster_offset_mask;
    *bytes = nb_sectors * 512 - (*host & 511);
}

int qcow2_l2_load(struct bdrv *bs, uint64_t l2_offset, uint64_t **table)
{
    struct qcow2_state *s = bs->opaque;
    void *t;
    int ret;

    if (!l2_offset || qcow2_offset_into_cluster(s, l2_offset)) {
        return -EIO;
    }
    ret = qcow2_cache_get(bs, s->l2_cache, l2_offset, &t);
    *table = ret < 0 ? NULL : t;
    return ret;
}

void qcow2_l2_put(struct bdrv *bs, uint64_t **table)
{
    struct qcow2_state *s = bs->opaque;

    qcow2_cache_put(s->l2_cache, (void **)table);
}

int qcow2_l2_write(struct bdrv *bs, uint64_t *table, unsigned first, unsigned n)
{
    struct qcow2_state *s = bs->opaque;

    if (!n) {
        return 0;
    }
    return qcow2_cache_write_part(bs, s->l2_cache, table, (size_t)first * s->l2_entry_size,
                                  (size_t)n * s->l2_entry_size);
}

int qcow2_write_l1_entry(struct bdrv *bs, uint32_t idx)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t buf[64];
    uint32_t first = idx & ~63u;

    /* The L1 table is allocated in whole clusters, so the sector is ours. */
    for (unsigned i = 0; i < 64; i++) {
        buf[i] = first + i < s->l1_alloc ? GUINT64_TO_BE(s->l1_table[first + i]) : 0;
    }
    return bdrv_pwrite(bs->file, s->l1_table_offset + (uint64_t)first * 8, buf, sizeof(buf));
}

int qcow2_grow_l1(struct bdrv *bs, uint64_t min_size, bool exact)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t new_size = min_size, bytes, alloc_entries;
    uint64_t *new_table, old_off = s->l1_table_offset, old_bytes;
    uint8_t hdr[12];
    int64_t off;
    int ret;

    if (min_size <= s->l1_size) {
        return 0;
    }
    if (!exact) {
        new_size = MAX(min_size, (uint64_t)s->l1_size + s->l1_size / 2);
    }
    if (new_size * 8 > QCOW2_MAX_L1_BYTES) {
        if (min_size * 8 > QCOW2_MAX_L1_BYTES) {
            return -EFBIG;
        }
        new_size = min_size;
    }
    bytes = (new_size * 8 + s->cluster_size - 1) & ~((uint64_t)s->cluster_size - 1);
    alloc_entries = bytes / 8;
    new_table = g_try_malloc0(bytes);
    if (!new_table) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        new_table[i] = GUINT64_TO_BE(s->l1_table[i]);
    }
    off = qcow2_alloc_clusters(bs, bytes);
    if (off < 0) {
        g_free(new_table);
        return (int)off;
    }
    /* Only the entries, as QEMU writes them: the cluster tail is never read. */
    ret = qcow2_pre_write_check(bs, 0, off, MAX(new_size * 8, 8));
    if (ret == 0) {
        ret = bdrv_pwrite(bs->file, off, new_table, MAX(new_size * 8, 8));
    }
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        g_free(new_table);
        qcow2_free_clusters(bs, off, bytes);
        return ret;
    }
    /* l1_size and l1_table_offset in one write. */
    qcow2_st32(hdr, (uint32_t)new_size);
    qcow2_st64(hdr + 4, off);
    ret = bdrv_pwrite(bs->file, QCOW2_HDR_L1_SIZE, hdr, 12);
    if (ret < 0) {
        g_free(new_table);
        qcow2_free_clusters(bs, off, bytes);
        return ret;
    }
    for (uint64_t i = 0; i < alloc_entries; i++) {
        new_table[i] = GUINT64_FROM_BE(new_table[i]);
    }
    old_bytes = (uint64_t)s->l1_size * 8;
    g_free(s->l1_table);
    s->l1_table = new_table;
    s->l1_table_offset = off;
    s->l1_size = (uint32_t)new_size;
    s->l1_alloc = (uint32_t)alloc_entries;
    if (old_off && old_bytes) {
        qcow2_free_clusters(bs, old_off, old_bytes);
    }
    return 0;
}

/* L1 entry idx's L2 table offset, checked; 0 when unallocated. */
static int64_t l1_l2_offset(struct bdrv *bs, uint64_t l1_idx)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t off;

    if (l1_idx >= s->l1_size) {
        return 0;
    }
    off = s->l1_table[l1_idx] & L1E_OFFSET_MASK;
    if (off && qcow2_offset_into_cluster(s, off)) {
        qcow2_signal_corruption(bs, true,
                                "L2 table offset %#" PRIx64 " unaligned (L1 index: %#" PRIx64 ")",
                                off, l1_idx);
        return -EIO;
    }
    if (off && off < s->cluster_size) {
        qcow2_signal_corruption(bs, true,
                                "L2 table offset %#" PRIx64 " overlaps the header (L1 index: %#"
                                PRIx64 ")", off, l1_idx);
        return -EIO;
    }
    return (int64_t)off;
}

static bool type_has_host(enum qcow2_subcluster_type t)
{
    return t == QCOW2_SUBCLUSTER_NORMAL || t == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
           t == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC;
}

int qcow2_get_host_offset_ex(struct bdrv *bs, uint64_t offset, uint64_t *bytes, uint64_t *host,
                             enum qcow2_subcluster_type *type, uint64_t *l2_entry)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t span = 1ull << (s->l2_bits + s->cluster_bits);
    uint64_t avail = span - (offset & (span - 1));
    uint64_t want = MIN(*bytes, avail), done, entry, bitmap, host_base;
    unsigned idx, sc, nsc = s->extended_l2 ? QCOW2_SUBCLUSTERS : 1;
    uint64_t *table;
    int64_t l2_off;
    enum qcow2_subcluster_type t;
    int ret;

    *host = 0;
    *l2_entry = 0;
    l2_off = l1_l2_offset(bs, qcow2_l1_index(s, offset));
    if (l2_off < 0) {
        return (int)l2_off;
    }
    if (!l2_off) {
        *bytes = want;
        *type = QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
        return 0;
    }
    ret = qcow2_l2_load(bs, l2_off, &table);
    if (ret < 0) {
        return ret;
    }
    idx = qcow2_l2_index(s, offset);
    entry = qcow2_l2_get(s, table, idx);
    bitmap = qcow2_l2_get_bitmap(s, table, idx);
    sc = s->extended_l2 ? (offset >> s->subcluster_bits) & (QCOW2_SUBCLUSTERS - 1) : 0;
    t = qcow2_subcluster_type(s, entry, bitmap, sc);
    *l2_entry = entry;

    if (t == QCOW2_SUBCLUSTER_INVALID) {
        qcow2_signal_corruption(bs, true,
                                "Invalid cluster entry found  (L2 offset: %#" PRIx64
                                ", L2 index: %#x)", (uint64_t)l2_off, idx);
        ret = -EIO;
        goto out;
    }
    if ((t == QCOW2_SUBCLUSTER_ZERO_PLAIN || t == QCOW2_SUBCLUSTER_ZERO_ALLOC) &&
        s->version < 3) {
        qcow2_signal_corruption(bs, true,
                                "Zero cluster entry found in pre-v3 image (L2 offset: %#"
                                PRIx64 ", L2 index: %#x)", (uint64_t)l2_off, idx);
        ret = -EIO;
        goto out;
    }
    host_base = entry & L2E_OFFSET_MASK;
    if (type_has_host(t) && qcow2_offset_into_cluster(s, host_base)) {
        qcow2_signal_corruption(bs, true,
                                "Cluster allocation offset %#" PRIx64
                                " unaligned (L2 offset: %#" PRIx64 ", L2 index: %#x)",
                                host_base, (uint64_t)l2_off, idx);
        ret = -EIO;
        goto out;
    }
    if (type_has_host(t) && host_base < s->cluster_size) {
        qcow2_signal_corruption(bs, true,
                                "Cluster allocation offset %#" PRIx64
                                " overlaps the header (L2 offset: %#" PRIx64 ", L2 index: %#x)",
                                host_base, (uint64_t)l2_off, idx);
        ret = -EIO;
        goto out;
    }

    /* Bytes to the end of this subcluster (cluster when compressed). */
    if (t == QCOW2_SUBCLUSTER_COMPRESSED) {
        done = s->cluster_size - qcow2_offset_into_cluster(s, offset);
    } else {
        done = s->subcluster_size - (offset & (s->subcluster_size - 1));
    }
    if (t != QCOW2_SUBCLUSTER_COMPRESSED) {
        uint64_t expect = host_base;

        /* Extend over further subclusters and clusters alike. */
        for (;;) {
            uint64_t e2, b2;

            if (done >= want) {
                break;
            }
            sc++;
            if (sc >= nsc) {
                sc = 0;
                idx++;
                expect += s->cluster_size;
                if (idx >= s->l2_size) {
                    break;
                }
            }
            e2 = qcow2_l2_get(s, table, idx);
            b2 = qcow2_l2_get_bitmap(s, table, idx);
            if (qcow2_subcluster_type(s, e2, b2, sc) != t) {
                break;
            }
            if ((e2 & QCOW_OFLAG_COPIED) != (entry & QCOW_OFLAG_COPIED)) {
                break;
            }
            if (type_has_host(t) && (e2 & L2E_OFFSET_MASK) != expect) {
                break;
            }
            done += s->subcluster_size;
        }
    }
    *bytes = MIN(done, want);
    *type = t;
    if (type_has_host(t)) {
        *host = host_base + qcow2_offset_into_cluster(s, offset);
    } else if (t == QCOW2_SUBCLUSTER_COMPRESSED) {
        *host = entry;
    }
    ret = 0;
out:
    qcow2_l2_put(bs, &table);
    return ret;
}

int qcow2_get_host_offset(struct bdrv *bs, uint64_t offset, uint64_t *bytes, uint64_t *host,
                          enum qcow2_subcluster_type *type)
{
    uint64_t entry;

    return qcow2_get_host_offset_ex(bs, offset, bytes, host, type, &entry);
}

int qcow2_l2_get_for_write(struct bdrv *bs, uint64_t offset, uint64_t **table)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t l1_idx = qcow2_l1_index(s, offset);
    int64_t old_off, new_off;
    uint64_t *old = NULL;
    void *t;
    int ret;

    if (l1_idx >= s->l1_size) {
        ret = qcow2_grow_l1(bs, l1_idx + 1, false);
        if (ret < 0) {
            return ret;
        }
    }
    old_off = l1_l2_offset(bs, l1_idx);
    if (old_off < 0) {
        return (int)old_off;
    }
    if (old_off && (s->l1_table[l1_idx] & QCOW_OFLAG_COPIED)) {
        return qcow2_l2_load(bs, old_off, table);
    }
    /* Unallocated, or shared with a snapshot: a table of our own. */
    new_off = qcow2_alloc_clusters(bs, s->cluster_size);
    if (new_off < 0) {
        return (int)new_off;
    }
    if (old_off) {
        ret = qcow2_l2_load(bs, old_off, &old);
        if (ret < 0) {
            qcow2_free_clusters(bs, new_off, s->cluster_size);
            return ret;
        }
    }
    ret = qcow2_cache_get_empty(bs, s->l2_cache, new_off, &t);
    if (ret < 0) {
        qcow2_l2_put(bs, &old);
        qcow2_free_clusters(bs, new_off, s->cluster_size);
        return ret;
    }
    if (old) {
        memcpy(t, old, s->cluster_size);
        qcow2_l2_put(bs, &old);
    }
    ret = qcow2_pre_write_check(bs, 0, new_off, s->cluster_size);
    if (ret >= 0) {
        ret = bdrv_pwrite(bs->file, new_off, t, s->cluster_size);
    }
    if (ret < 0) {
        qcow2_cache_put(s->l2_cache, &t);
        qcow2_free_clusters(bs, new_off, s->cluster_size);
        return ret;
    }
    s->l1_table[l1_idx] = (uint64_t)new_off | QCOW_OFLAG_COPIED;
    ret = qcow2_write_l1_entry(bs, (uint32_t)l1_idx);
    if (ret < 0) {
        s->l1_table[l1_idx] = old_off ? (uint64_t)old_off : 0;
        qcow2_cache_put(s->l2_cache, &t);
        qcow2_free_clusters(bs, new_off, s->cluster_size);
        return ret;
    }
    if (old_off) {
        qcow2_free_clusters(bs, old_off, s->cluster_size);
    }
    *table = t;
    return 0;
}

static int cluster_update(struct bdrv *bs, uint64_t offset, uint64_t bytes, bool zero,
                          bool unmap)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t end = offset + bytes;
    uint64_t span = 1ull << (s->l2_bits + s->cluster_bits);

    if (zero && s->version < 3) {
        return -ENOTSUP; /* v2 has no zero flag */
    }
    offset = qcow2_start_of_cluster(s, offset);
    while (offset < end) {
        uint64_t chunk_end = MIN(end, (offset & ~(span - 1)) + span);
        unsigned first = qcow2_l2_index(s, offset);
        unsigned n = (unsigned)qcow2_size_to_clusters(s, chunk_end - offset);
        uint64_t new_entry = 0, new_bitmap = 0;
        uint64_t *freed, *table;
        unsigned nfreed = 0;
        int64_t l2_off = l1_l2_offset(bs, qcow2_l1_index(s, offset));
        int ret;

        if (l2_off < 0) {
            return (int)l2_off;
        }
        if (zero && s->extended_l2) {
            new_bitmap = QCOW2_L2_BITMAP_ALL_ZERO;
        } else if (zero) {
            new_entry = QCOW_OFLAG_ZERO;
        }
        /* Nothing mapped and nothing to mark: skip without making a table. */
        if (!l2_off && !zero) {
            offset = chunk_end;
            continue;
        }
        if (!l2_off && zero && !bs->backing && !bs->backing_file[0]) {
            offset = chunk_end;
            continue;
        }
        ret = qcow2_l2_get_for_write(bs, offset, &table);
        if (ret < 0) {
            return ret;
        }
        freed = g_new(uint64_t, n);
        for (unsigned i = 0; i < n; i++) {
            uint64_t e = qcow2_l2_get(s, table, first + i);

            if (zero && !unmap && (e & QCOW_OFLAG_COPIED) && !(e & QCOW_OFLAG_COMPRESSED) &&
                (e & L2E_OFFSET_MASK)) {
                /* Keep our own cluster allocated, reading as zeroes (ZERO_ALLOC). */
                qcow2_l2_set(s, table, first + i, s->extended_l2 ? e : e | QCOW_OFLAG_ZERO);
                qcow2_l2_set_bitmap(s, table, first + i, new_bitmap);
                continue;
            }
            if (e & (L2E_OFFSET_MASK | QCOW_OFLAG_COMPRESSED)) {
                freed[nfreed++] = e;
            }
            qcow2_l2_set(s, table, first + i, new_entry);
            qcow2_l2_set_bitmap(s, table, first + i, new_bitmap);
        }
        /* The table is written back before the clusters are freed. */
        qcow2_cache_mark_dirty(s->l2_cache, table);
        qcow2_l2_put(bs, &table);
        ret = 0;
        for (unsigned i = 0; i < nfreed && ret == 0; i++) {
            ret = qcow2_free_deferred(bs, freed[i]);
        }
        g_free(freed);
        if (ret < 0) {
            return ret;
        }
        offset = chunk_end;
    }
    return 0;
}

int qcow2_cluster_discard(struct bdrv *bs, uint64_t offset, uint64_t bytes, bool zero)
{
    return cluster_update(bs, offset, bytes, zero, true);
}

int qcow2_cluster_zeroize(struct bdrv *bs, uint64_t offset, uint64_t bytes, bool unmap)
{
    return cluster_update(bs, offset, bytes, true, unmap);
}

int qcow2_preallocate(struct bdrv *bs, uint64_t offset, uint64_t bytes,
                      enum qcow2_prealloc mode)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t end = offset + bytes, file_end = 0;
    uint64_t span = 1ull << (s->l2_bits + s->cluster_bits);
    int64_t flen = bdrv_length(bs->file);
    const char *file_mode = "off";
    int ret;

    if (mode == QCOW2_PREALLOC_OFF) {
        return 0;
    }
    offset = qcow2_start_of_cluster(s, offset);
    while (offset < end) {
        uint64_t chunk_end = MIN(end, (offset & ~(span - 1)) + span);
        unsigned first = qcow2_l2_index(s, offset);
        unsigned n = (unsigned)qcow2_size_to_clusters(s, chunk_end - offset), need = 0;
        uint64_t *table;
        int64_t host;

        ret = qcow2_l2_get_for_write(bs, offset, &table);
        if (ret < 0) {
            return ret;
        }
        for (unsigned i = 0; i < n; i++) {
            if (qcow2_cluster_type(s, qcow2_l2_get(s, table, first + i)) !=
                QCOW2_SUBCLUSTER_NORMAL) {
                need++;
            }
        }
        if (need) {
            host = qcow2_alloc_clusters(bs, (uint64_t)need << s->cluster_bits);
            if (host < 0) {
                qcow2_l2_put(bs, &table);
                return (int)host;
            }
            if (flen > 0 && (uint64_t)host < (uint64_t)flen) {
                /* Reused space holds old bytes: these clusters must read as zeroes. */
                ret = bdrv_pwrite_zeroes(bs->file, host, (uint64_t)need << s->cluster_bits, 0);
                if (ret < 0) {
                    qcow2_l2_put(bs, &table);
                    return ret;
                }
            }
            file_end = MAX(file_end, (uint64_t)host + ((uint64_t)need << s->cluster_bits));
            for (unsigned i = 0; i < n; i++) {
                uint64_t e = qcow2_l2_get(s, table, first + i);

                if (qcow2_cluster_type(s, e) == QCOW2_SUBCLUSTER_NORMAL) {
                    continue;
                }
                /* A compressed cluster here would leak; only fresh ranges come here. */
                qcow2_l2_set(s, table, first + i, (uint64_t)host | QCOW_OFLAG_COPIED);
                /* With a backing file (extended L2 only), the backing still shows
                 * through unallocated subclusters of the preallocated cluster. */
                qcow2_l2_set_bitmap(s, table, first + i,
                                    bs->backing_file[0] ? 0 : QCOW2_L2_BITMAP_ALL_ALLOC);
                host += s->cluster_size;
            }
            ret = qcow2_l2_write(bs, table, first, n);
            if (ret < 0) {
                qcow2_l2_put(bs, &table);
                return ret;
            }
        }
        qcow2_l2_put(bs, &table);
        offset = chunk_end;
    }
    if (mode == QCOW2_PREALLOC_FALLOC) {
        file_mode = "falloc";
    } else if (mode == QCOW2_PREALLOC_FULL) {
        file_mode = "full";
    }
    flen = bdrv_length(bs->file);
    if (flen >= 0 && file_end > (uint64_t)flen) {
        ret = bdrv_truncate(bs->file, file_end, false, file_mode, NULL);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int qcow2_parse_prealloc(const char *str, enum qcow2_prealloc *mode, GError **errp)
{
    static const char *const names[] = { "off", "metadata", "falloc", "full" };

    if (!str) {
        *mode = QCOW2_PREALLOC_OFF;
        return 0;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!strcmp(str, names[i])) {
            *mode = (enum qcow2_prealloc)i;
            return 0;
        }
    }
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "Parameter 'preallocation' does not accept value '%s'", str);
    return -EINVAL;
}
