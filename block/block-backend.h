/*
 * A block backend: a user's handle on a root node (QEMU's BlockBackend).  The
 * machine's disks, QMP (query-block, query-blockstats, eject/change,
 * block_resize) and -drive hold nodes through one.  It adds what a user of a
 * disk sees and a node does not: the -drive id, media that can be ejected,
 * bounds and read-only checks, cache modes (write cache on/off, no-flush),
 * detect-zeroes, discard=ignore, statistics, and asynchronous requests whose
 * completions run on the main loop.
 *
 * Threads: everything here is called from the main thread or from a vCPU
 * thread holding the big lock.  A request's I/O runs on the thread pool or
 * Linux AIO; its callback runs on the main loop (the backend's context),
 * under the big lock, after the statistics are updated.  The synchronous
 * blk_pread/blk_pwrite run on the caller's thread.
 *
 * Errors: negative errno, as QEMU's block layer: -ENOMEDIUM with no medium,
 * -EIO for a request that does not lie within the length, -EPERM for a write
 * to a read-only backend.
 */
#ifndef HYVM_BLOCK_BACKEND_H
#define HYVM_BLOCK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <glib.h>

#include "block/block.h"
#include "block/file-lock.h" /* BLK_PERM_* */

struct blk;
struct thread_pool;
struct aio_native;

typedef void blk_cb(void *opaque, int ret);

/* detect-zeroes=off|on|unmap (BlockdevDetectZeroesOptions). */
enum blk_detect_zeroes { BLK_DETECT_ZEROES_OFF, BLK_DETECT_ZEROES_ON, BLK_DETECT_ZEROES_UNMAP };

/* The kinds of request counted (BlockAcctType). */
enum blk_acct_type { BLK_ACCT_READ, BLK_ACCT_WRITE, BLK_ACCT_FLUSH, BLK_ACCT_UNMAP, BLK_ACCT_NR };

/*
 * query-blockstats' counters (BlockAcctStats), counted as QEMU's
 * block/accounting.c: a request that completes adds its bytes and one
 * operation; one that fails adds one failed operation; both add their latency
 * to total_time_ns and set last_access_time_ns.  A request refused before it
 * starts (out of bounds) adds one invalid operation and sets
 * last_access_time_ns only.  Zero writes count as writes, discards as unmap.
 */
struct blk_stats {
    uint64_t nr_bytes[BLK_ACCT_NR];
    uint64_t nr_ops[BLK_ACCT_NR];
    uint64_t failed_ops[BLK_ACCT_NR];
    uint64_t invalid_ops[BLK_ACCT_NR];
    uint64_t merged[BLK_ACCT_NR];      /* never merged: always 0 */
    uint64_t total_time_ns[BLK_ACCT_NR];
    int64_t last_access_time_ns;       /* CLOCK_MONOTONIC; 0 = never accessed */
    /* wr_highest_offset: the end of the furthest write or zero write that
     * reached the node, failed or not (QEMU's bdrv_co_write_req_finish). */
    uint64_t wr_highest_offset;
};

/*
 * A backend over bs (NULL: no medium, e.g. an empty CD-ROM drive).  It takes
 * its own reference on bs.  perm: BLK_PERM_* bits of file-lock.h; read-only
 * unless perm has BLK_PERM_WRITE and bs is writable.  (Image locks are the
 * opener's business: block.c / drive.c.)  The write cache starts enabled; detect-zeroes off.
 */
struct blk *blk_new(struct bdrv *bs, int perm);
/* Drains, drops bs and the name, frees at the last reference. */
void blk_unref(struct blk *blk);
void blk_ref(struct blk *blk);

/* Names the backend (-drive id) and lists it for blk_by_name/blk_next.
 * Fails with QEMU's "Device with id '%s' already exists". */
bool blk_set_name(struct blk *blk, const char *name, GError **errp);
const char *blk_name(struct blk *blk); /* "" when unnamed */
struct blk *blk_by_name(const char *name);
/* Named backends in creation order: blk_next(NULL) is the first. */
struct blk *blk_next(struct blk *blk);

struct bdrv *blk_bs(struct blk *blk);
/* eject/change: remove drains first, then drops the reference. */
void blk_insert_bs(struct blk *blk, struct bdrv *bs);
void blk_remove_bs(struct blk *blk);
bool blk_is_inserted(struct blk *blk);
bool blk_is_read_only(struct blk *blk);
int64_t blk_getlength(struct blk *blk);

/* Cache modes: writeback = write cache on; writethrough and directsync =
 * off (each write and zero write is followed by a flush before it
 * completes); unsafe = the node's BDRV_O_NO_FLUSH (a flush does nothing). */
void blk_set_enable_write_cache(struct blk *blk, bool enable);
bool blk_enable_write_cache(struct blk *blk);
/* unmap only acts when the node has BDRV_O_UNMAP (discard=unmap). */
void blk_set_detect_zeroes(struct blk *blk, enum blk_detect_zeroes dz);
enum blk_detect_zeroes blk_get_detect_zeroes(struct blk *blk);

/* Synchronous, on the caller's thread, bounds and read-only checked. */
int blk_pread(struct blk *blk, uint64_t off, void *buf, uint64_t bytes);
int blk_pwrite(struct blk *blk, uint64_t off, const void *buf, uint64_t bytes);
int blk_flush(struct blk *blk);

/*
 * Asynchronous requests.  cb(opaque, 0 or -errno) always follows on the main
 * loop, never inside the call, even for a request refused at once.  The
 * buffers stay the caller's until then; the iov array is copied.  Discard
 * with discard=ignore (no BDRV_O_UNMAP) succeeds without I/O, as QEMU's.
 */
void blk_aio_preadv(struct blk *blk, uint64_t off, uint64_t bytes, const struct iovec *iov,
                    int niov, blk_cb *cb, void *opaque);
void blk_aio_pwritev(struct blk *blk, uint64_t off, uint64_t bytes, const struct iovec *iov,
                     int niov, blk_cb *cb, void *opaque);
/* flags: BDRV_REQ_MAY_UNMAP. */
void blk_aio_pwrite_zeroes(struct blk *blk, uint64_t off, uint64_t bytes, int flags,
                           blk_cb *cb, void *opaque);
void blk_aio_discard(struct blk *blk, uint64_t off, uint64_t bytes, blk_cb *cb, void *opaque);
void blk_aio_flush(struct blk *blk, blk_cb *cb, void *opaque);

/* Batching (a virtqueue's run of requests): with aio=native, what is submitted
 * between plug and the matching unplug goes to the kernel in one io_submit. */
void blk_io_plug(struct blk *blk);
void blk_io_unplug(struct blk *blk);

/* Waits until every request of blk has completed (callbacks run here). */
void blk_drain(struct blk *blk);
/* Every backend, named or not. */
void blk_drain_all(void);
/* Requests submitted and not yet completed. */
unsigned blk_in_flight(struct blk *blk);

const struct blk_stats *blk_get_stats(struct blk *blk);
/* query-blockstats' idle_time_ns: since the last access; -1 when never. */
int64_t blk_idle_time_ns(struct blk *blk);

/* Whether requests go through Linux AIO (aio=native on a raw chain over an
 * O_DIRECT file node).  Decided at insert. */
bool blk_uses_native_aio(struct blk *blk);

/*
 * The descriptor of a "file"/"host_device" node for Linux AIO, or -1:
 * file-posix.c's bdrv_file_fd by default; tests with their own file driver
 * set theirs.  NULL: aio=native uses the thread pool.
 */
extern int (*blk_file_fd_hook)(struct bdrv *bs);

/* Tests: run this backend's requests on another pool / AIO context (whose
 * GMainContext the test iterates).  an NULL disables Linux AIO. */
void blk_set_aio_context(struct blk *blk, struct thread_pool *pool, struct aio_native *an);

#endif
