/*
 * Image locking compatible with QEMU's, so hyvm and QEMU protect each
 * other's images.
 *
 * QEMU (block/file-posix.c, 2.10 onwards) takes open-file-description
 * locks (fcntl F_OFD_SETLK, see fcntl(2) "Open file description locks")
 * on single bytes of the image file: byte 100 + i is read-locked while the
 * opener holds permission bit i, byte 200 + i while it refuses to share
 * bit i with anyone else.  An opener that wants bit i tests byte 200 + i,
 * one that refuses to share bit i tests byte 100 + i, with F_OFD_GETLK
 * and a write lock, which conflicts with any other description's read
 * lock.  Nobody ever holds a write lock, so holders never conflict with
 * one another.  The bits are QEMU 7.2's BLK_PERM_*; libvirt owns byte 0.
 *
 * A format node's lock lives on its protocol ("file"/"host_device") node;
 * the node-level functions below accept either and walk down bs->file.
 *
 * Threads: called by whoever opens, reopens and closes nodes, with no I/O
 * in flight on them.
 */
#ifndef HYVM_FILE_LOCK_H
#define HYVM_FILE_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct bdrv;

/* QEMU 7.2's permission bits (include/block/block-common.h); the byte
 * offsets are derived from the bit numbers, so these values are ABI. */
enum {
    BLK_PERM_CONSISTENT_READ = 0x01, /* "consistent read" */
    BLK_PERM_WRITE = 0x02,           /* "write" */
    BLK_PERM_WRITE_UNCHANGED = 0x04, /* "write unchanged" */
    BLK_PERM_RESIZE = 0x08,          /* "resize" */
    BLK_PERM_ALL = 0x0f,
};

#define FILE_LOCK_PERM_BASE 100   /* QEMU's RAW_LOCK_PERM_BASE */
#define FILE_LOCK_SHARED_BASE 200 /* QEMU's RAW_LOCK_SHARED_BASE */

/* What one file descriptor holds. */
struct file_lock {
    uint64_t perm;          /* permissions held */
    uint64_t shared;        /* permissions others may hold */
    uint64_t locked_perm;   /* bits whose byte 100 + i is locked in the fd */
    uint64_t locked_unshared; /* bits whose byte 200 + i is locked in the fd */
};

/* "consistent read, write": the names QEMU prints; g_free the result. */
char *file_lock_perm_names(uint64_t perm);

/*
 * Read-locks the bytes of perm and of unshared (the bits NOT shared) in
 * fd, as far as l (may be NULL: nothing locked yet) does not hold them;
 * with unlock, also releases held bytes no longer asked for.  l follows.
 * Error "Failed to lock byte N" (with ": strerror" unless EAGAIN/EACCES).
 */
int file_lock_apply(int fd, struct file_lock *l, uint64_t perm, uint64_t unshared,
                    bool unlock, GError **errp);
/*
 * Whether another open file description conflicts with holding perm and
 * sharing only shared: errors 'Failed to get "write" lock' (someone does not
 * share what we want) or 'Failed to get shared "write" lock' (someone holds
 * what we refuse to share).  Locks of fd's own description never conflict.
 */
int file_lock_check(int fd, uint64_t perm, uint64_t shared, GError **errp);
/*
 * Moves fd from l's permissions to (perm, shared) as QEMU's prepare/commit
 * does: lock the union, check, then drop what is no longer needed; on a
 * conflict l's old locks are restored and the error gets QEMU's second
 * line "\nIs another process using the image [filename]?".
 */
int file_lock_set(int fd, struct file_lock *l, uint64_t perm, uint64_t shared,
                  const char *filename, GError **errp);
/* Drops every byte l holds in fd (closing fd drops them too). */
void file_lock_release(int fd, struct file_lock *l);

/*
 * The permissions a node opened with BDRV_O_* flags takes, as QEMU's
 * qemu-img/qemu-io (blk_new_open) and format drivers take them:
 * "consistent read" unless BDRV_O_NO_IO, "write" with BDRV_O_RDWR; all
 * shared.  metadata: a format whose metadata lives in the file (qcow2,
 * QEMU's bdrv_default_perms_for_storage) also takes "resize" when
 * writable and shares neither "write" nor "resize".  unshare: bits a user
 * of the node refuses to share (a guest device without share-rw=on refuses
 * "write").  BDRV_O_FORCE_SHARE shares everything.
 */
void file_lock_default_perms(int flags, bool metadata, uint64_t unshare, uint64_t *perm,
                             uint64_t *shared);

/* ---- node level: bs is a protocol node or any node above one ---- */

/* The protocol node holding bs's lock and fd, or NULL. */
struct bdrv *bdrv_lock_node(struct bdrv *bs);
/* The file descriptor of bs's protocol node (for libaio), or -1. */
int bdrv_file_fd(struct bdrv *bs);
/* Current permissions of bs's protocol node (0, BLK_PERM_ALL without locking). */
void bdrv_file_get_perm(struct bdrv *bs, uint64_t *perm, uint64_t *shared);
/* Sets the permissions outright (the defaults are recomputed by the calls
 * below, which is what most callers want). */
int bdrv_file_set_perm(struct bdrv *bs, uint64_t perm, uint64_t shared, GError **errp);
/*
 * A format node whose metadata lives in its file (qcow2) calls this once
 * opened (or block.c does for it): the file then refuses others "write" and
 * "resize", as QEMU's does; a reader gets 'Failed to get shared "write"
 * lock' while QEMU writes the image.  raw never calls it.
 */
int bdrv_file_lock_metadata(struct bdrv *bs, GError **errp);
/* A user of the node (a guest device) refuses to share these bits more. */
int bdrv_file_lock_unshare(struct bdrv *bs, uint64_t unshare, GError **errp);
/*
 * Reopens bs's protocol node with new BDRV_O_RDWR / BDRV_O_FORCE_SHARE /
 * BDRV_O_NO_IO (e.g. read-write for commit, back to read-only after): a
 * new fd when the access mode changes, permissions recomputed and checked
 * on the old fd before the swap.  On failure nothing changed.  Only the
 * protocol node's flags are updated; the caller updates format nodes.
 */
int bdrv_file_reopen(struct bdrv *bs, int flags, GError **errp);

#endif
