/*
 * qcow2 internals shared by block/qcow2*.c (docs/interop/qcow2.txt in QEMU is
 * the format's spec; field names below follow it).
 *
 * Layout of the driver: qcow2.c (open, header, I/O callbacks, the driver
 * table), qcow2-cluster.c (L1/L2 lookup and allocation), qcow2-refcount.c
 * (refcount table and blocks, cluster allocation), qcow2-cache.c (table cache),
 * qcow2-compress.c (zlib/zstd), qcow2-create.c (create), qcow2-check.c,
 * qcow2-snapshot.c, qcow2-amend.c, qcow2-resize.c (check, internal snapshots,
 * amend, measure, truncate).
 *
 * Threads and locking: struct qcow2_state.lock guards every metadata structure
 * (L1, caches, refcounts, header fields, snapshots).  Every qcow2_* function
 * declared here expects the caller to hold s->lock, or to be a callback that
 * block.h runs with no I/O in flight (open, close, check, snapshots, amend,
 * truncate, change_backing_file), which need not take it.  None of them takes
 * the lock itself (GMutex is not recursive).
 *
 * Byte order: the in-memory L1 table and refcount table are host-endian; L2
 * tables and refcount blocks live in the cache in on-disk (big-endian) form and
 * are read and written through the accessors below.
 *
 * Ordering (crash safety, see qcow2.txt "Cluster mapping" and QEMU's rules):
 * a refcount increase reaches the file before any L2/L1 entry that points at
 * the cluster; guest data reaches the file before the L2 entry that maps it; a
 * new L2 table before the L1 entry; an L2 entry is cleared before the refcount
 * of the cluster it pointed at is decreased.  Refcount increases, new L2
 * tables and L1 entries are written through (refcounts deferred only with lazy
 * refcounts, under the dirty bit); L2 entries of guest writes, discards and
 * zeroes are kept dirty in the L2 cache, which flushes the file before it
 * writes a table back, and the clusters they stopped pointing at are freed by
 * qcow2_writeback after the tables are stable.  A kill at any point leaves at
 * worst leaked clusters.  One-thread callbacks of the other files run after a
 * qcow2_writeback and with the caches emptied after them (qcow2.c wraps them).
 */
#ifndef HYVM_QCOW2_H
#define HYVM_QCOW2_H

#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <glib.h>

#include "block/block.h"

/* ---- Big-endian helpers (qcow2 is big-endian throughout) ---- */

static inline uint16_t qcow2_ld16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return GUINT16_FROM_BE(v);
}

static inline uint32_t qcow2_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static inline uint64_t qcow2_ld64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

static inline void qcow2_st16(void *p, uint16_t v)
{
    v = GUINT16_TO_BE(v);
    memcpy(p, &v, 2);
}

static inline void qcow2_st32(void *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static inline void qcow2_st64(void *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

/* ---- Header (qcow2.txt "Header") ---- */

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

/* Byte offsets of header fields. */
#define QCOW2_HDR_MAGIC 0
#define QCOW2_HDR_VERSION 4
#define QCOW2_HDR_BACKING_FILE_OFFSET 8
#define QCOW2_HDR_BACKING_FILE_SIZE 16
#define QCOW2_HDR_CLUSTER_BITS 20
#define QCOW2_HDR_SIZE 24
#define QCOW2_HDR_CRYPT_METHOD 32
#define QCOW2_HDR_L1_SIZE 36
#define QCOW2_HDR_L1_TABLE_OFFSET 40
#define QCOW2_HDR_REFCOUNT_TABLE_OFFSET 48
#define QCOW2_HDR_REFCOUNT_TABLE_CLUSTERS 56
#define QCOW2_HDR_NB_SNAPSHOTS 60
#define QCOW2_HDR_SNAPSHOTS_OFFSET 64
#define QCOW2_HDR_INCOMPATIBLE 72 /* v3 from here on */
#define QCOW2_HDR_COMPATIBLE 80
#define QCOW2_HDR_AUTOCLEAR 88
#define QCOW2_HDR_REFCOUNT_ORDER 96
#define QCOW2_HDR_HEADER_LENGTH 100
#define QCOW2_HDR_COMPRESSION_TYPE 104

#define QCOW2_HDR_V2_LENGTH 72
#define QCOW2_HDR_V3_MIN_LENGTH 104
/* What QEMU (and we) write for v3: through compression_type, padded to 8. */
#define QCOW2_HDR_V3_LENGTH 112

#define QCOW2_CRYPT_NONE 0
#define QCOW2_CRYPT_AES 1
#define QCOW2_CRYPT_LUKS 2

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21 /* QEMU's implementation limit, 2 MiB */
#define QCOW2_MIN_EXTL2_CLUSTER_BITS 14
#define QCOW2_MAX_REFCOUNT_ORDER 6
#define QCOW2_MAX_BACKING_FILE_NAME 1023
/* QEMU's limits on table sizes, in bytes. */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
/* QEMU's limits on the snapshot table. */
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOTS_BYTES (64u << 20)
#define QCOW2_MAX_SNAPSHOT_EXTRA_DATA 1024

/* Header extension types (qcow2.txt "Header extensions"). */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO_HEADER 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* Feature name table entries: 48 bytes, type byte, bit byte, 46-byte name. */
#define QCOW2_FEATURE_ENTRY_SIZE 48
#define QCOW2_FEATURE_NAME_SIZE 46
enum { QCOW2_FEAT_INCOMPATIBLE = 0, QCOW2_FEAT_COMPATIBLE = 1, QCOW2_FEAT_AUTOCLEAR = 2 };

/* incompatible_features */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN                                                      \
    (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION | \
     QCOW2_INCOMPAT_EXTL2)
/* compatible_features */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
/* autoclear_features */
#define QCOW2_AUTOCLEAR_BITMAPS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ull << 1)

/* compression_type (header byte 104) */
enum { QCOW2_COMPRESSION_ZLIB = 0, QCOW2_COMPRESSION_ZSTD = 1 };

/* ---- L1 / L2 / refcount table entries (qcow2.txt "Cluster mapping") ---- */

#define QCOW_OFLAG_COPIED (1ull << 63)     /* refcount is exactly one */
#define QCOW_OFLAG_COMPRESSED (1ull << 62) /* L2: compressed cluster descriptor */
#define QCOW_OFLAG_ZERO (1ull << 0)        /* L2 (v3, not extended L2): reads zeroes */

#define L1E_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9-55 */
#define L1E_RESERVED_MASK 0x7f000000000001ffull
#define L2E_OFFSET_MASK 0x00fffffffffffe00ull /* standard: bits 9-55 */
#define L2E_STD_RESERVED_MASK 0x3f000000000001feull /* bits 1-8, 56-61 */
#define REFT_OFFSET_MASK 0xfffffffffffffe00ull /* refcount table: bits 9-63 */
#define REFT_RESERVED_MASK 0x1ffull

/* Extended L2 (incompatible bit 4): 16-byte entries, 32 subclusters. */
#define QCOW2_SUBCLUSTERS 32
#define QCOW2_L2_BITMAP_ALL_ALLOC 0x00000000ffffffffull
#define QCOW2_L2_BITMAP_ALL_ZERO 0xffffffff00000000ull
#define QCOW_OFLAG_SUB_ALLOC(x) (1ull << (x))
#define QCOW_OFLAG_SUB_ZERO(x) (1ull << ((x) + 32))

/* ---- Snapshot table entry (qcow2.txt "Snapshots") ---- */

#define QCOW2_SN_L1_TABLE_OFFSET 0
#define QCOW2_SN_L1_SIZE 8
#define QCOW2_SN_ID_STR_SIZE 12
#define QCOW2_SN_NAME_SIZE 14
#define QCOW2_SN_DATE_SEC 16
#define QCOW2_SN_DATE_NSEC 20
#define QCOW2_SN_VM_CLOCK_NSEC 24
#define QCOW2_SN_VM_STATE_SIZE 32
#define QCOW2_SN_EXTRA_DATA_SIZE 36
#define QCOW2_SN_HEADER_SIZE 40
/* Extra data, offsets relative to the start of the extra data. */
#define QCOW2_SN_EXTRA_VM_STATE_SIZE_LARGE 0
#define QCOW2_SN_EXTRA_DISK_SIZE 8
#define QCOW2_SN_EXTRA_ICOUNT 16
#define QCOW2_SN_EXTRA_SIZE 24 /* what QEMU writes */
#define QCOW2_SN_V3_MIN_EXTRA 16

/* One internal snapshot as held in memory (read/written by qcow2-snapshot.c). */
struct qcow2_snapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id_str;
    char *name;
    uint64_t disk_size;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount; /* -1: not recorded */
    uint32_t extra_data_size;
    void *unknown_extra_data; /* extra data beyond what we know, kept verbatim */
};

/* A feature name table entry (header extension 0x6803f857). */
struct qcow2_feature {
    uint8_t type; /* QCOW2_FEAT_* */
    uint8_t bit;
    char name[QCOW2_FEATURE_NAME_SIZE + 1];
};

/* A header extension we keep verbatim on header rewrites (unknown, bitmaps). */
struct qcow2_unknown_ext {
    uint32_t type;
    uint32_t len;
    uint8_t *data;
};

/* ---- Table cache (qcow2-cache.c) ---- */

struct qcow2_cache;

/* ---- Cluster types (qcow2.txt "Standard/Compressed Cluster Descriptor") ---- */

enum qcow2_subcluster_type {
    QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN, /* no host offset: backing or zeroes */
    QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC, /* extended L2: host cluster, subcluster unused */
    QCOW2_SUBCLUSTER_ZERO_PLAIN,        /* reads zeroes, no host offset */
    QCOW2_SUBCLUSTER_ZERO_ALLOC,        /* reads zeroes, host cluster preallocated */
    QCOW2_SUBCLUSTER_NORMAL,            /* data at host offset */
    QCOW2_SUBCLUSTER_COMPRESSED,        /* compressed descriptor */
    QCOW2_SUBCLUSTER_INVALID,           /* bitmap both allocated and zero, etc. */
};

enum qcow2_prealloc {
    QCOW2_PREALLOC_OFF,
    QCOW2_PREALLOC_METADATA,
    QCOW2_PREALLOC_FALLOC,
    QCOW2_PREALLOC_FULL,
};

/* ---- Driver state (bs->opaque) ---- */

struct qcow2_state {
    GMutex lock;

    /* Header values. */
    uint32_t version;        /* 2 or 3 */
    uint32_t cluster_bits;
    uint32_t cluster_size;
    uint64_t size;           /* virtual size, bytes */
    uint32_t crypt_method;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;  /* 72 for v2 */
    uint8_t compression_type; /* QCOW2_COMPRESSION_* */
    uint64_t backing_file_offset; /* as read; rewritten by qcow2_update_header */
    uint32_t backing_file_size;

    /* Derived geometry. */
    bool extended_l2;
    uint32_t l2_entry_size;  /* 8, or 16 with extended L2 */
    uint32_t l2_bits;        /* log2(entries per L2 table) */
    uint32_t l2_size;        /* entries per L2 table */
    uint32_t subcluster_bits; /* log2(subcluster size); == cluster_bits without extl2 */
    uint32_t subcluster_size;
    uint32_t refcount_bits;  /* 1 << refcount_order */
    uint64_t refcount_max;   /* largest refcount value */
    uint32_t refcount_block_bits; /* log2(refcounts per refcount block) */
    uint32_t refcount_block_size; /* refcounts per refcount block */
    /* Largest compressed descriptor pieces (x = 62 - (cluster_bits - 8)). */
    uint32_t csize_shift;
    uint64_t csize_mask;
    uint64_t cluster_offset_mask; /* compressed host offset mask */

    /* Active L1 table, host-endian; l1_alloc entries allocated (>= l1_size). */
    uint64_t l1_table_offset;
    uint32_t l1_size;
    uint32_t l1_alloc;
    uint64_t *l1_table;

    /* Refcount table, host-endian; refcount_table_size entries. */
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint64_t refcount_table_size;
    uint64_t *refcount_table;

    struct qcow2_cache *l2_cache;
    struct qcow2_cache *refcount_cache;

    /* Cluster index where the next free-cluster search starts. */
    uint64_t free_cluster_index;
    /* Next byte for packing compressed clusters (0: none; qemu's free_byte_offset). */
    uint64_t free_byte_offset;

    /* Internal snapshots (qcow2-snapshot.c owns these). */
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size; /* bytes of the table on disk */
    struct qcow2_snapshot *snapshots;

    /* Header extensions. */
    struct qcow2_feature *features; /* from the image's feature table, or NULL */
    unsigned nb_features;
    struct qcow2_unknown_ext *unknown_exts; /* kept verbatim, in image order */
    unsigned nb_unknown_exts;
    bool has_bitmaps_ext;    /* bitmaps extension present (kept, never used) */

    /* Flags. */
    bool use_lazy_refcounts; /* lazy refcounts on and image opened read/write */
    bool dirty_marked;       /* the dirty bit is set on disk by us */
    bool signaled_corruption; /* a corruption message was printed */
    bool read_only;

    /* L2 entries cleared in cached (not yet written) L2 tables whose clusters
     * are freed by qcow2_writeback once the tables are stable (see there). */
    GArray *pending_frees;
    /* Header bytes past what we know (header_length > 112), kept verbatim. */
    uint8_t *unknown_header_fields;
    uint32_t unknown_header_fields_size;
    int open_flags; /* BDRV_O_* the node was opened with */
};

/* The driver table (qcow2.c) and create options (qcow2-create.c). */
extern const struct block_driver bdrv_qcow2;
extern const struct create_opt_desc qcow2_create_opts[];

/* ---- Entry helpers ---- */

static inline uint64_t qcow2_start_of_cluster(const struct qcow2_state *s, uint64_t off)
{
    return off & ~((uint64_t)s->cluster_size - 1);
}

static inline uint64_t qcow2_offset_into_cluster(const struct qcow2_state *s, uint64_t off)
{
    return off & (s->cluster_size - 1);
}

static inline uint64_t qcow2_size_to_clusters(const struct qcow2_state *s, uint64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}

static inline uint64_t qcow2_l1_index(const struct qcow2_state *s, uint64_t off)
{
    return off >> (s->l2_bits + s->cluster_bits);
}

static inline uint64_t qcow2_l2_index(const struct qcow2_state *s, uint64_t off)
{
    return (off >> s->cluster_bits) & (s->l2_size - 1);
}

/* L1 entries needed for a virtual size. */
static inline uint64_t qcow2_l1_entries_for(const struct qcow2_state *s, uint64_t size)
{
    uint64_t shift = s->cluster_bits + s->l2_bits;
    return (size + (1ull << shift) - 1) >> shift;
}

/* Entry idx of an L2 table held in on-disk form (from the cache). */
static inline uint64_t qcow2_l2_get(const struct qcow2_state *s, const uint64_t *t, unsigned idx)
{
    return GUINT64_FROM_BE(t[(size_t)idx * (s->l2_entry_size / 8)]);
}

static inline void qcow2_l2_set(const struct qcow2_state *s, uint64_t *t, unsigned idx,
                                uint64_t v)
{
    t[(size_t)idx * (s->l2_entry_size / 8)] = GUINT64_TO_BE(v);
}

/* Extended L2 subcluster bitmap of entry idx; 0 without extended L2. */
static inline uint64_t qcow2_l2_get_bitmap(const struct qcow2_state *s, const uint64_t *t,
                                           unsigned idx)
{
    return s->extended_l2 ? GUINT64_FROM_BE(t[(size_t)idx * 2 + 1]) : 0;
}

static inline void qcow2_l2_set_bitmap(const struct qcow2_state *s, uint64_t *t, unsigned idx,
                                       uint64_t v)
{
    if (s->extended_l2) {
        t[(size_t)idx * 2 + 1] = GUINT64_TO_BE(v);
    }
}

/* Whole-cluster type of an L2 entry, bitmap ignored: NORMAL, COMPRESSED,
 * ZERO_PLAIN, ZERO_ALLOC or UNALLOCATED_PLAIN. */
enum qcow2_subcluster_type qcow2_cluster_type(const struct qcow2_state *s, uint64_t l2_entry);
/* Type of subcluster sc (0..31; 0 without extended L2) of an entry and bitmap. */
enum qcow2_subcluster_type qcow2_subcluster_type(const struct qcow2_state *s, uint64_t l2_entry,
                                                 uint64_t bitmap, unsigned sc);
/* A compressed descriptor's host byte offset and byte length of stored data
 * (whole 512-byte sectors, as qcow2.txt counts them, less the offset into the
 * first sector). */
void qcow2_compressed_range(const struct qcow2_state *s, uint64_t l2_entry, uint64_t *host,
                            uint64_t *bytes);

/* ---- qcow2.c: header ---- */

/* Rewrites the first cluster: header, extensions (backing format, feature
 * table, kept unknown/bitmaps extensions), backing file name.  -ENOSPC when it
 * does not fit in one cluster. */
int qcow2_update_header(struct bdrv *bs);
/* Sets / clears the dirty bit on disk (v3 only; no-op on v2).  mark_dirty
 * flushes the file first; mark_clean flushes metadata and the file first. */
int qcow2_mark_dirty(struct bdrv *bs);
int qcow2_mark_clean(struct bdrv *bs);
/* Sets the corrupt bit and writes the header (v3). */
int qcow2_mark_corrupt(struct bdrv *bs);
/* Clears the corrupt bit (check -r all after a clean result). */
int qcow2_mark_consistent(struct bdrv *bs);
/* Reports metadata corruption on stderr as QEMU does: fatal -> "qcow2: Marking
 * image as corrupt: <msg>; further corruption events will be suppressed" and
 * the corrupt bit set; else "qcow2: Image is corrupt: <msg>; further non-fatal
 * corruption events will be suppressed".  Once per node. */
void qcow2_signal_corruption(struct bdrv *bs, bool fatal, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Metadata kinds a write may be allowed to overlap (its own kind). */
enum {
    QCOW2_OL_HEADER = 1 << 0,
    QCOW2_OL_ACTIVE_L1 = 1 << 1,
    QCOW2_OL_ACTIVE_L2 = 1 << 2,
    QCOW2_OL_REFCOUNT_TABLE = 1 << 3,
    QCOW2_OL_REFCOUNT_BLOCK = 1 << 4,
    QCOW2_OL_SNAPSHOT_TABLE = 1 << 5,
    QCOW2_OL_INACTIVE_L1 = 1 << 6,
};
/* QEMU's metadata overlap check: before writing [offset, offset+size) of the
 * file, make sure it overwrites no metadata but the kinds in ignore.  On an
 * overlap the image is marked corrupt ("Preventing invalid write on
 * metadata (overlaps with ...)") and -EIO returned: a corrupt refcount must
 * never let data land on a table. */
int qcow2_pre_write_check(struct bdrv *bs, unsigned ignore, uint64_t offset, uint64_t size);

/* Frees what l2_entry pointed at, later: the caller cleared or replaced the
 * entry in a cached L2 table and marked the table dirty.  Writes back (below)
 * when many are pending. */
int qcow2_free_deferred(struct bdrv *bs, uint64_t l2_entry);
/* Makes the file consistent: flushes the file (data and refcount increases
 * stable), writes dirty L2 tables, flushes again, then applies pending frees
 * and writes deferred (lazy) refcount blocks.  No final file flush. */
int qcow2_writeback(struct bdrv *bs);

/* ---- qcow2-cache.c ---- */

/* A cache of n cluster-sized tables read from bs->file, LRU eviction. */
struct qcow2_cache *qcow2_cache_create(struct bdrv *bs, unsigned n);
/* Writes dirty tables and frees. */
void qcow2_cache_destroy(struct qcow2_cache *c);
/* A table at file offset (cluster aligned), read if not cached; held until put. */
int qcow2_cache_get(struct bdrv *bs, struct qcow2_cache *c, uint64_t offset, void **table);
/* As get, for a newly allocated cluster: no read, contents zero-filled. */
int qcow2_cache_get_empty(struct bdrv *bs, struct qcow2_cache *c, uint64_t offset,
                          void **table);
void qcow2_cache_put(struct qcow2_cache *c, void **table);
/* Marks a held table dirty (written on flush or eviction). */
void qcow2_cache_mark_dirty(struct qcow2_cache *c, void *table);
/* Writes [start, start+len) bytes of a held table to the file now. */
int qcow2_cache_write_part(struct bdrv *bs, struct qcow2_cache *c, void *table, size_t start,
                           size_t len);
/* Flush the file before writing back a dirty table (the L2 cache: entries
 * added lazily point at data and refcounts that must be stable first). */
void qcow2_cache_set_flush_first(struct qcow2_cache *c, bool on);
/* Writes every dirty table (no file flush after; one before with flush_first). */
int qcow2_cache_flush(struct bdrv *bs, struct qcow2_cache *c);
/* Drops the cached table at offset, if any, without writing (cluster freed). */
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset);
/* Flushes then drops every table (after an L1 switch, e.g. snapshot goto). */
int qcow2_cache_empty(struct bdrv *bs, struct qcow2_cache *c);

/* ---- qcow2-refcount.c ---- */

/* Loads the refcount table (open); frees it (close). */
int qcow2_refcount_init(struct bdrv *bs, GError **errp);
void qcow2_refcount_close(struct bdrv *bs);
/* Refcount of host cluster cluster_index (0 past the table). */
int qcow2_get_refcount(struct bdrv *bs, uint64_t cluster_index, uint64_t *rc);
/* Adds addend to the refcount of every host cluster overlapping
 * [offset, offset+length).  Allocates refcount blocks and grows the refcount
 * table as needed.  Increases are written through before returning (unless
 * lazy refcounts); -ERANGE on overflow or underflow, nothing changed. */
int qcow2_update_refcount(struct bdrv *bs, uint64_t offset, uint64_t length, int64_t addend);
/* Sets one cluster's refcount (check's repairs). */
int qcow2_set_refcount(struct bdrv *bs, uint64_t cluster_index, uint64_t value);
/* Allocates contiguous free clusters for bytes (refcount 1, written through);
 * returns the host offset or -errno. */
int64_t qcow2_alloc_clusters(struct bdrv *bs, uint64_t bytes);
/* Allocates clusters at a given offset when free: returns how many of n
 * clusters from offset could be taken (refcount set to 1), or -errno. */
int64_t qcow2_alloc_clusters_at(struct bdrv *bs, uint64_t offset, uint64_t n);
/* size bytes (< cluster) for compressed data, packed after the last ones. */
int64_t qcow2_alloc_bytes(struct bdrv *bs, uint64_t size);
/* Decreases refcounts of [off, off+len) by one (the caller cleared the L2/L1
 * entries first). */
int qcow2_free_clusters(struct bdrv *bs, uint64_t offset, uint64_t length);
/* Frees what an L2 entry points at: normal/zero-alloc cluster or compressed range. */
int qcow2_free_any_cluster(struct bdrv *bs, uint64_t l2_entry);
/* Writes dirty refcount blocks (lazy refcounts). */
int qcow2_refcount_flush(struct bdrv *bs);
/* Refcount block entry accessors for refcount_order (block in on-disk form). */
uint64_t qcow2_refblock_get(const struct qcow2_state *s, const void *block, uint64_t idx);
void qcow2_refblock_set(const struct qcow2_state *s, void *block, uint64_t idx, uint64_t v);

/* ---- qcow2-cluster.c ---- */

/* The L2 table at l2_offset from the cache; release with qcow2_l2_put. */
int qcow2_l2_load(struct bdrv *bs, uint64_t l2_offset, uint64_t **table);
void qcow2_l2_put(struct bdrv *bs, uint64_t **table);
/* Writes entries [first, first+n) of a held L2 table through to the file (the
 * whole table, after a file flush, when it holds lazily added entries). */
int qcow2_l2_write(struct bdrv *bs, uint64_t *table, unsigned first, unsigned n);
/* Writes the 512-byte sector of the active L1 table holding entry idx. */
int qcow2_write_l1_entry(struct bdrv *bs, uint32_t idx);
/* Grows the active L1 table to at least min_size entries (exact: exactly),
 * writing the new table, then the header, then freeing the old table. */
int qcow2_grow_l1(struct bdrv *bs, uint64_t min_size, bool exact);
/* Maps guest offset: *bytes in (request) / out (bytes alike from offset, within
 * one L2 table).  *host is the host offset of offset for NORMAL/ZERO_ALLOC/
 * UNALLOCATED_ALLOC, the raw L2 entry for COMPRESSED. */
int qcow2_get_host_offset(struct bdrv *bs, uint64_t offset, uint64_t *bytes, uint64_t *host,
                          enum qcow2_subcluster_type *type);
/* As qcow2_get_host_offset, also giving the first cluster's raw L2 entry; the
 * run stops where the COPIED flag changes (in-place writes need it set). */
int qcow2_get_host_offset_ex(struct bdrv *bs, uint64_t offset, uint64_t *bytes, uint64_t *host,
                             enum qcow2_subcluster_type *type, uint64_t *l2_entry);
/* The L2 table covering guest offset, owned by the active L1 alone (COPIED):
 * allocated, or copied from a shared one, and linked into the L1 table first
 * (growing it as needed).  Release with qcow2_l2_put. */
int qcow2_l2_get_for_write(struct bdrv *bs, uint64_t offset, uint64_t **table);
/* Frees whole clusters of [offset, offset+bytes) (offset rounded down to a
 * cluster; the end cluster aligned or the image end).  zero (v3 only, else
 * -ENOTSUP): the clusters then read as zeroes (zero flag / zero bitmap) instead
 * of falling through to the backing file.  The L2 tables are written back and
 * the clusters freed later (qcow2_writeback). */
int qcow2_cluster_discard(struct bdrv *bs, uint64_t offset, uint64_t bytes, bool zero);
/* Whole clusters read as zeroes (v3): as qcow2_cluster_discard(zero), but
 * without unmap our own allocated clusters stay allocated (ZERO_ALLOC). */
int qcow2_cluster_zeroize(struct bdrv *bs, uint64_t offset, uint64_t bytes, bool unmap);
/* Allocates clusters for [offset, offset+bytes) with the given mode (create
 * and truncate preallocation); METADATA leaves them reading as zeroes. */
int qcow2_preallocate(struct bdrv *bs, uint64_t offset, uint64_t bytes,
                      enum qcow2_prealloc mode);
/* "off"/"metadata"/"falloc"/"full" -> mode; error names the bad value. */
int qcow2_parse_prealloc(const char *s, enum qcow2_prealloc *mode, GError **errp);

/* ---- qcow2-compress.c ---- */

/* Compresses src into dest (raw deflate, window bits -12 for zlib; zstd frame).
 * Returns the compressed length, -ENOSPC when it does not fit dest_size, or
 * -EIO. */
ssize_t qcow2_compress(int type, void *dest, size_t dest_size, const void *src,
                       size_t src_size);
/* Decompresses exactly dest_size bytes; -EIO when the data is short/invalid. */
int qcow2_decompress(int type, void *dest, size_t dest_size, const void *src, size_t src_size);

/* ---- qcow2-create.c ---- */

int qcow2_create(const char *filename, const struct kv_list *opts, GError **errp);

/* ---- Maintenance: qcow2-check.c, qcow2-snapshot.c, qcow2-amend.c,
 * qcow2-resize.c ---- */

/* qemu-img check (qcow2-check.c).  Also called by open on a dirty image
 * (lazy refcounts) with BDRV_FIX_ERRORS | BDRV_FIX_LEAKS, after the refcount
 * table, L1 table, caches and snapshots are loaded. */
int qcow2_check(struct bdrv *bs, struct bdrv_check_result *res, int fix);

/* Reads s->nb_snapshots entries at s->snapshots_offset into s->snapshots,
 * validating them (open calls it; error text as QEMU's). */
int qcow2_read_snapshots(struct bdrv *bs, GError **errp);
void qcow2_free_snapshots(struct qcow2_state *s);
/* Writes s->snapshots to a new table, updates the header, frees the old one. */
int qcow2_write_snapshots(struct bdrv *bs);
/* Adds addend to the refcount of every L2 table and cluster reachable from the
 * L1 table (l1_offset, l1_size) and rewrites the COPIED flags of the active
 * tables accordingly. */
int qcow2_update_snapshot_refcount(struct bdrv *bs, uint64_t l1_offset, uint32_t l1_size,
                                   int addend);
int qcow2_snapshot_create(struct bdrv *bs, struct bdrv_snapshot *sn);
int qcow2_snapshot_goto(struct bdrv *bs, const char *id_or_name);
int qcow2_snapshot_delete(struct bdrv *bs, const char *id, const char *name, GError **errp);
int qcow2_snapshot_list(struct bdrv *bs, struct bdrv_snapshot **list);

int qcow2_amend(struct bdrv *bs, const struct kv_list *opts, bool force, GError **errp);
int qcow2_measure(const struct kv_list *opts, struct bdrv *in, uint64_t size,
                  struct bdrv_measure *out, GError **errp);
int qcow2_truncate(struct bdrv *bs, uint64_t size, bool shrink, const char *prealloc,
                   GError **errp);

/* Rewrites the refcount table and blocks with 1 << new_order bit entries,
 * switches the header (table offset/clusters and refcount_order in one
 * write), frees the old structure (qcow2-check.c; amend refcount_bits=N). */
int qcow2_change_refcount_order(struct bdrv *bs, int new_order, GError **errp);
/* As qcow2_read_snapshots, for check -r all: entries with more than 1024
 * bytes of extra data are cut down and snapshots past QEMU's 64 MiB table
 * limit dropped (*dropped counts both); the caller rewrites the table. */
int qcow2_read_snapshots_repair(struct bdrv *bs, int *dropped, GError **errp);

#endif
