/*
 * The block layer: a graph of nodes, each one driver over its children.
 *
 * A format node ("qcow2", "raw") reads its metadata and data through its
 * "file" child, a protocol node ("file", "host_device") that owns the file
 * descriptor; a qcow2 node may have a "backing" child, any node of any format.
 * hyvm-img and the machine's disks (block/block-backend.h) use the same nodes.
 *
 * Threads: driver I/O callbacks (preadv, pwritev, pwrite_zeroes, discard, flush,
 * block_status) are called synchronously and may be called from several threads
 * at once (the AIO thread pool, hyvm-img's convert workers); a driver serializes
 * what needs it under its own lock.  open, close, truncate, create, check,
 * snapshots, amend and change_backing_file are called from one thread with no
 * I/O in flight on the node.
 *
 * Errors: negative errno inside; GError at open/create/check/amend edges, with
 * QEMU's wording where users see it.
 */
#ifndef HYVM_BLOCK_H
#define HYVM_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "system/keyval.h"

#define BDRV_SECTOR_SIZE 512

/* Open flags (struct bdrv.flags). */
enum {
    BDRV_O_RDWR = 1 << 0,
    BDRV_O_NOCACHE = 1 << 1,     /* cache.direct=on: O_DIRECT on the file */
    BDRV_O_NO_FLUSH = 1 << 2,    /* cache.no-flush=on (cache=unsafe): flush is a no-op */
    BDRV_O_NATIVE_AIO = 1 << 3,  /* aio=native: libaio on the file */
    BDRV_O_NO_BACKING = 1 << 4,  /* do not open the backing chain (-u, info w/o chain) */
    BDRV_O_FORCE_SHARE = 1 << 5, /* -U / force-share=on: take no locks that stop others */
    BDRV_O_NO_LOCK = 1 << 6,     /* locking=off */
    BDRV_O_UNMAP = 1 << 7,       /* discard=unmap: discards reach the file */
    BDRV_O_CHECK = 1 << 8,       /* opened for check: tolerate what check repairs */
    BDRV_O_PROBED_RAW = 1 << 9,  /* raw chosen by the probe: sector 0 write-protected */
    BDRV_O_INACTIVE = 1 << 10,   /* reserved for migration; never set yet */
    BDRV_O_NO_IO = 1 << 11,      /* metadata only (info/measure): no data I/O follows */
};

/* pwrite_zeroes flags. */
enum {
    BDRV_REQ_MAY_UNMAP = 1 << 0, /* the zeroes may be a hole / zero cluster */
    BDRV_REQ_NO_FALLBACK = 1 << 1, /* fail with -ENOTSUP rather than write buffers */
};

/* block_status flags, as QEMU's: what a range is at this node. */
enum {
    BDRV_BLOCK_DATA = 1 << 0,         /* reads return data stored here or below */
    BDRV_BLOCK_ZERO = 1 << 1,         /* reads return zeroes */
    BDRV_BLOCK_OFFSET_VALID = 1 << 2, /* *map is the offset in *file */
    BDRV_BLOCK_ALLOCATED = 1 << 3,    /* this node (not its backing) answers */
    BDRV_BLOCK_COMPRESSED = 1 << 4,   /* stored compressed (no valid offset) */
    BDRV_BLOCK_RECURSE = 1 << 5,      /* the answer lies in *file: ask it too */
};

struct bdrv;

/* One -o option of create/amend, for "-o help" and parsing. */
enum create_opt_type { CREATE_OPT_STRING, CREATE_OPT_BOOL, CREATE_OPT_NUMBER, CREATE_OPT_SIZE };

struct create_opt_desc {
    const char *name;
    enum create_opt_type type;
    const char *help;
    const char *def; /* default as printed by "-o help", or NULL */
};

/* qemu-img check's counters (ImageCheck). */
struct bdrv_check_result {
    int corruptions;
    int leaks;
    int check_errors;
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset;
    int64_t allocated_clusters;
    int64_t total_clusters;
    int64_t fragmented_clusters;
    int64_t compressed_clusters;
    bool has_bfi; /* the cluster counters above are filled */
};

enum bdrv_check_fix { BDRV_FIX_LEAKS = 1, BDRV_FIX_ERRORS = 2 };

/* One internal snapshot (QEMUSnapshotInfo). */
struct bdrv_snapshot {
    char id[128];
    char name[256];
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount; /* -1 when not recorded */
};

/* qemu-img measure's answer. */
struct bdrv_measure {
    uint64_t required;
    uint64_t fully_allocated;
    uint64_t bitmaps; /* always 0 here: no persistent bitmaps */
};

/*
 * A driver.  Members marked (req) must be set; the rest may be NULL and the
 * generic layer answers (-ENOTSUP, or the child's answer for filters).
 */
struct block_driver {
    const char *name; /* (req) format or protocol name: "qcow2", "raw", "file" */
    size_t state_size; /* (req) bytes of driver state, at bs->opaque */
    bool is_protocol;  /* opens a filename itself; no "file" child */
    /* 0 = not this format; higher wins.  buf holds the file's first bytes. */
    int (*probe)(const uint8_t *buf, size_t len, const char *filename);
    /* (req) A protocol driver reads "filename" from opts; a format driver
     * finds bs->file opened already and opens its backing itself through
     * bdrv_open_backing(). */
    int (*open)(struct bdrv *bs, const struct kv_list *opts, int flags, GError **errp);
    void (*close)(struct bdrv *bs);
    int (*preadv)(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov);
    int (*pwritev)(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov);
    int (*pwrite_zeroes)(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags);
    int (*pwrite_compressed)(struct bdrv *bs, uint64_t off, uint64_t bytes, const void *buf);
    int (*discard)(struct bdrv *bs, uint64_t off, uint64_t bytes);
    int (*flush)(struct bdrv *bs);
    int64_t (*length)(struct bdrv *bs); /* (req) virtual size in bytes */
    /* Bytes the node's file takes on its host (qemu-img's "disk size"). */
    int64_t (*allocated_size)(struct bdrv *bs);
    int (*truncate)(struct bdrv *bs, uint64_t size, bool shrink, const char *prealloc,
                    GError **errp);
    /* Status of [off, off + bytes): flags above, *pnum bytes alike (> 0),
     * *map and *file where OFFSET_VALID.  Returns flags or -errno.  The layer adds
     * ALLOCATED to DATA or ZERO, and ZERO where an unallocated range has no
     * backing below it. */
    int (*block_status)(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum,
                        uint64_t *map, struct bdrv **file);
    /* Creates an image; opts are -o's pairs plus "size" (bytes as a number). */
    int (*create)(const char *filename, const struct kv_list *opts, GError **errp);
    const struct create_opt_desc *create_opts;
    int (*check)(struct bdrv *bs, struct bdrv_check_result *res, int fix);
    int (*amend)(struct bdrv *bs, const struct kv_list *opts, bool force, GError **errp);
    /* "format-specific" of qemu-img info --output=json: {"type":..,"data":{..}} members
     * of data added to obj in qemu-img's order; NULL = none. */
    void (*info_specific)(struct bdrv *bs, JsonBuilder *data);
    uint32_t (*cluster_size)(struct bdrv *bs); /* qemu-img info's cluster_size; 0 = none */
    bool (*is_dirty)(struct bdrv *bs);
    int (*change_backing_file)(struct bdrv *bs, const char *file, const char *fmt);
    int (*make_empty)(struct bdrv *bs);
    int (*measure)(const struct kv_list *opts, struct bdrv *in, uint64_t size,
                   struct bdrv_measure *out, GError **errp);
    int (*snapshot_create)(struct bdrv *bs, struct bdrv_snapshot *sn);
    int (*snapshot_goto)(struct bdrv *bs, const char *id_or_name);
    int (*snapshot_delete)(struct bdrv *bs, const char *id, const char *name, GError **errp);
    int (*snapshot_list)(struct bdrv *bs, struct bdrv_snapshot **list); /* returns count */
};

/* A node.  Fields are read by anyone; written by block.c and the driver. */
struct bdrv {
    const struct block_driver *drv;
    void *opaque;                /* driver state, drv->state_size bytes */
    char *filename;              /* the file as given ("a.qcow2") */
    char *node_name;             /* -blockdev node-name, or generated "#blockN" */
    int flags;                   /* BDRV_O_* */
    struct bdrv *file;           /* the protocol child of a format node, or NULL */
    struct bdrv *backing;        /* backing node, or NULL */
    char backing_file[4096];     /* as recorded in the image ("" when none) */
    char backing_format[32];     /* as recorded in the image ("" when none) */
    uint32_t request_alignment;  /* bytes; 512 or 4096 with O_DIRECT, else 1 */
    bool read_only;
    bool encrypted;
    int refcnt;
};

/* Every driver, in probe order: formats first, raw last (it never probes). */
const struct block_driver *bdrv_find_format(const char *name);
/* Names of formats hyvm-img create / -drive format= know, NULL-terminated. */
const char *const *bdrv_format_names(void);

/*
 * Opens filename as a format node over a "file" protocol node.  fmt NULL
 * probes: a probed raw image gets QEMU's warning on stderr ("WARNING: Image
 * format was not specified for '%s' and probing guessed raw. ...") once and
 * BDRV_O_PROBED_RAW.  opts may hold driver options ("file.locking", "backing"
 * ...) or be NULL.  Opens the backing chain unless BDRV_O_NO_BACKING.
 */
struct bdrv *bdrv_open(const char *filename, const char *fmt, const struct kv_list *opts,
                       int flags, GError **errp);
/* Opens a format node over file, taking over the caller's reference to it
 * (dropped on failure); fmt NULL probes. */
struct bdrv *bdrv_open_on(struct bdrv *file, const char *fmt, const struct kv_list *opts,
                          int flags, GError **errp);
/* Opens only the protocol node ("file" or "host_device" for block devices). */
struct bdrv *bdrv_open_file(const char *filename, const struct kv_list *opts, int flags,
                            GError **errp);
/* For format drivers: opens bs's backing as recorded (backing_file, backing_format),
 * relative to bs's own directory; sets bs->backing.  A chain that loops fails. */
int bdrv_open_backing(struct bdrv *bs, GError **errp);
void bdrv_unref(struct bdrv *bs);
/* The backing file as opened: bs->backing_file relative to bs's directory
 * (qemu-img info's "full-backing-filename"). */
char *bdrv_backing_path(struct bdrv *bs);
void bdrv_ref(struct bdrv *bs);

/* The probe: the format name of the file's first bytes ("raw" when none). */
const char *bdrv_probe_format(const uint8_t *buf, size_t len, const char *filename);

/* Synchronous I/O on a node; any alignment (the layer bounces for O_DIRECT). */
int bdrv_pread(struct bdrv *bs, uint64_t off, void *buf, uint64_t bytes);
int bdrv_pwrite(struct bdrv *bs, uint64_t off, const void *buf, uint64_t bytes);
int bdrv_preadv(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov);
int bdrv_pwritev(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov);
int bdrv_pwrite_zeroes(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags);
int bdrv_pwrite_compressed(struct bdrv *bs, uint64_t off, uint64_t bytes, const void *buf);
int bdrv_discard(struct bdrv *bs, uint64_t off, uint64_t bytes);
int bdrv_flush(struct bdrv *bs);
int64_t bdrv_length(struct bdrv *bs);
int64_t bdrv_allocated_size(struct bdrv *bs);
int bdrv_truncate(struct bdrv *bs, uint64_t size, bool shrink, const char *prealloc,
                  GError **errp);
/* As the driver's, with a node that has none: DATA|OFFSET_VALID over itself
 * (protocol) or asking bs->file (format).  bytes is clipped to the length. */
int bdrv_block_status(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum,
                      uint64_t *map, struct bdrv **file);
/* Whether [off, off+bytes) is allocated in top or any node down to base
 * (exclusive); *pnum bytes alike.  1 allocated, 0 not, -errno. */
int bdrv_is_allocated_above(struct bdrv *top, struct bdrv *base, uint64_t off,
                            uint64_t bytes, uint64_t *pnum);

/* Creates filename of format fmt with size bytes and -o pairs opts. */
int bdrv_create(const char *fmt, const char *filename, uint64_t size,
                const struct kv_list *opts, GError **errp);

/* "file:" and "json:" prefixes are not supported: one plain path. */
bool bdrv_is_block_device(const char *filename);

#endif
