/*
 * A cache of cluster-sized metadata tables (L2 tables, refcount blocks) read
 * from a qcow2 node's file, with least-recently-used eviction.
 *
 * Threads: every call under the node's qcow2_state.lock (see qcow2.h).
 * Contract: tables are kept in on-disk (big-endian) form; a table returned by
 * get stays in place until put; a dirty table is written back on flush or when
 * evicted.  Offsets are file offsets of whole clusters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"

struct qcow2_cache_entry {
    uint64_t offset; /* 0: free slot (cluster 0 is the header, never a table) */
    void *table;
    unsigned ref;
    bool dirty;
    uint64_t lru;
};

struct qcow2_cache {
    struct bdrv *bs;
    size_t table_size;
    unsigned n;
    struct qcow2_cache_entry *e;
    GHashTable *index; /* offset -> entry index + 1 */
    GHashTable *by_table; /* table pointer -> entry index + 1 */
    uint64_t lru_clock;
    bool flush_first; /* flush the file before writing a dirty table */
};

void qcow2_cache_set_flush_first(struct qcow2_cache *c, bool on)
{
    c->flush_first = on;
}

struct qcow2_cache *qcow2_cache_create(struct bdrv *bs, unsigned n)
{
    struct qcow2_state *s = bs->opaque;
    struct qcow2_cache *c = g_new0(struct qcow2_cache, 1);

    c->bs = bs;
    c->table_size = s->cluster_size;
    c->n = MAX(n, 4u);
    c->e = g_new0(struct qcow2_cache_entry, c->n);
    c->index = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    c->by_table = g_hash_table_new(g_direct_hash, g_direct_equal);
    return c;
}

/* The metadata kind this cache holds: what its write-backs overwrite. */
static unsigned cache_kind(struct qcow2_cache *c)
{
    struct qcow2_state *s = c->bs->opaque;

    return c == s->l2_cache ? QCOW2_OL_ACTIVE_L2 : QCOW2_OL_REFCOUNT_BLOCK;
}

static int cache_entry_write_nf(struct qcow2_cache *c, struct qcow2_cache_entry *e,
                                bool flushed)
{
    int ret;

    if (!e->dirty) {
        return 0;
    }
    if (c->flush_first && !flushed) {
        /* What the table's new entries point at (data, refcounts) first. */
        ret = bdrv_flush(c->bs->file);
        if (ret < 0) {
            return ret;
        }
    }
    ret = qcow2_pre_write_check(c->bs, cache_kind(c), e->offset, c->table_size);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_pwrite(c->bs->file, e->offset, e->table, c->table_size);
    if (ret < 0) {
        return ret;
    }
    e->dirty = false;
    return 0;
}

static int cache_entry_write(struct qcow2_cache *c, struct qcow2_cache_entry *e)
{
    return cache_entry_write_nf(c, e, false);
}

static void cache_entry_drop(struct qcow2_cache *c, struct qcow2_cache_entry *e)
{
    if (e->offset) {
        g_hash_table_remove(c->index, &e->offset);
    }
    e->offset = 0;
    e->dirty = false;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
    if (!c) {
        return;
    }
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset) {
            cache_entry_write(c, &c->e[i]);
        }
        free(c->e[i].table);
    }
    g_hash_table_destroy(c->index);
    g_hash_table_destroy(c->by_table);
    g_free(c->e);
    g_free(c);
}

static struct qcow2_cache_entry *cache_lookup(struct qcow2_cache *c, uint64_t offset)
{
    gpointer v = g_hash_table_lookup(c->index, &offset);

    return v ? &c->e[GPOINTER_TO_UINT(v) - 1] : NULL;
}

/* A free slot, or the least recently used unreferenced one (written back). */
static int cache_victim(struct qcow2_cache *c, struct qcow2_cache_entry **out)
{
    struct qcow2_cache_entry *best = NULL;
    int ret;

    for (unsigned i = 0; i < c->n; i++) {
        struct qcow2_cache_entry *e = &c->e[i];

        if (e->ref) {
            continue;
        }
        if (!e->offset) {
            best = e;
            break;
        }
        if (!best || e->lru < best->lru) {
            best = e;
        }
    }
    if (!best) {
        return -ENOMEM; /* every table held: a caller leaks references */
    }
    ret = cache_entry_write(c, best);
    if (ret < 0) {
        return ret;
    }
    cache_entry_drop(c, best);
    if (!best->table) {
        if (posix_memalign(&best->table, 4096, c->table_size)) {
            best->table = NULL;
            return -ENOMEM;
        }
        g_hash_table_insert(c->by_table, best->table,
                            GUINT_TO_POINTER((unsigned)(best - c->e) + 1));
    }
    *out = best;
    return 0;
}

static int cache_do_get(struct bdrv *bs, struct qcow2_cache *c, uint64_t offset, void **table,
                        bool read)
{
    struct qcow2_cache_entry *e = cache_lookup(c, offset);
    int ret;

    if (offset == 0 || offset % c->table_size) {
        return -EIO;
    }
    if (!e) {
        uint64_t *key;

        ret = cache_victim(c, &e);
        if (ret < 0) {
            return ret;
        }
        if (read) {
            ret = bdrv_pread(bs->file, offset, e->table, c->table_size);
            if (ret < 0) {
                return ret;
            }
        } else {
            memset(e->table, 0, c->table_size);
        }
        e->offset = offset;
        key = g_new(uint64_t, 1);
        *key = offset;
        g_hash_table_insert(c->index, key, GUINT_TO_POINTER((unsigned)(e - c->e) + 1));
    } else if (!read) {
        memset(e->table, 0, c->table_size);
    }
    e->ref++;
    e->lru = ++c->lru_clock;
    *table = e->table;
    return 0;
}

int qcow2_cache_get(struct bdrv *bs, struct qcow2_cache *c, uint64_t offset, void **table)
{
    return cache_do_get(bs, c, offset, table, true);
}

int qcow2_cache_get_empty(struct bdrv *bs, struct qcow2_cache *c, uint64_t offset,
                          void **table)
{
    return cache_do_get(bs, c, offset, table, false);
}

static struct qcow2_cache_entry *cache_entry_of(struct qcow2_cache *c, const void *table)
{
    gpointer v = g_hash_table_lookup(c->by_table, table);
    struct qcow2_cache_entry *e = v ? &c->e[GPOINTER_TO_UINT(v) - 1] : NULL;

    return e && e->offset ? e : NULL;
}

void qcow2_cache_put(struct qcow2_cache *c, void **table)
{
    struct qcow2_cache_entry *e;

    if (!*table) {
        return;
    }
    e = cache_entry_of(c, *table);
    if (e && e->ref) {
        e->ref--;
    }
    *table = NULL;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, void *table)
{
    struct qcow2_cache_entry *e = cache_entry_of(c, table);

    if (e) {
        e->dirty = true;
    }
}

int qcow2_cache_write_part(struct bdrv *bs, struct qcow2_cache *c, void *table, size_t start,
                           size_t len)
{
    struct qcow2_cache_entry *e = cache_entry_of(c, table);
    size_t end;
    int ret;

    if (!e) {
        return -EIO;
    }
    if (e->dirty) {
        /* Other changes are pending too: write the whole table. */
        return cache_entry_write(c, e);
    }
    /* Whole 512-byte sectors: what the file writes atomically in practice. */
    end = MIN(c->table_size, (start + len + 511) & ~(size_t)511);
    start &= ~(size_t)511;
    ret = qcow2_pre_write_check(bs, cache_kind(c), e->offset + start, end - start);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_pwrite(bs->file, e->offset + start, (uint8_t *)table + start, end - start);
    return ret < 0 ? ret : 0;
}

int qcow2_cache_flush(struct bdrv *bs, struct qcow2_cache *c)
{
    int result = 0;
    bool flushed = false;

    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset && c->e[i].dirty && c->flush_first && !flushed) {
            int ret = bdrv_flush(bs->file);

            if (ret < 0) {
                return ret;
            }
            flushed = true;
        }
        if (c->e[i].offset) {
            int ret = cache_entry_write_nf(c, &c->e[i], flushed);

            if (ret < 0 && result == 0) {
                result = ret;
            }
        }
    }
    return result;
}

void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset)
{
    struct qcow2_cache_entry *e = cache_lookup(c, offset);

    if (e && !e->ref) {
        cache_entry_drop(c, e);
    }
}

int qcow2_cache_empty(struct bdrv *bs, struct qcow2_cache *c)
{
    int ret = qcow2_cache_flush(bs, c);

    if (ret < 0) {
        return ret;
    }
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset && !c->e[i].ref) {
            cache_entry_drop(c, &c->e[i]);
        }
    }
    return 0;
}
