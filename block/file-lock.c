/*
 * QEMU-compatible image locks on a file descriptor: the byte layout and the
 * prepare/check/commit order of QEMU's block/file-posix.c (see file-lock.h).
 * The node-level functions of file-lock.h live in file-posix.c, beside the
 * fd they lock.
 *
 * Threads: any, one caller per fd at a time (open/reopen/close paths).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "block/file-lock.h"

#define FILE_LOCK_NBITS 4 /* bits of BLK_PERM_ALL */

static const char *const file_lock_names[FILE_LOCK_NBITS] = {
    "consistent read", "write", "write unchanged", "resize",
};

char *file_lock_perm_names(uint64_t perm)
{
    GString *s = g_string_new(NULL);

    for (int i = 0; i < FILE_LOCK_NBITS; i++) {
        if (perm & (1ULL << i)) {
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", file_lock_names[i]);
        }
    }
    return g_string_free(s, FALSE);
}

/* One byte, F_RDLCK or F_UNLCK, on the open file description (fcntl(2)). */
static int file_lock_byte(int fd, int byte, short type)
{
    struct flock fl = {
        .l_type = type,
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
    };

    while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* -EAGAIN when another description holds any lock on byte. */
static int file_lock_test_byte(int fd, int byte)
{
    struct flock fl = {
        .l_type = F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
    };

    while (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    return fl.l_type == F_UNLCK ? 0 : -EAGAIN;
}

/* QEMU leaves out the errno text for the usual "someone holds it" errors. */
static void file_lock_error(GError **errp, int err, const char *msg)
{
    if (err == EAGAIN || err == EACCES) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "%s", msg);
    } else {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s", msg,
                    g_strerror(err));
    }
}

/* Locks/unlocks the bytes base + i of want, given the bits already held. */
static int file_lock_apply_range(int fd, int base, uint64_t want, uint64_t *held, bool unlock,
                                 GError **errp)
{
    for (int i = 0; i < FILE_LOCK_NBITS; i++) {
        uint64_t bit = 1ULL << i;
        int ret;

        if ((want & bit) && !(*held & bit)) {
            ret = file_lock_byte(fd, base + i, F_RDLCK);
            if (ret < 0) {
                char *msg = g_strdup_printf("Failed to lock byte %d", base + i);

                file_lock_error(errp, -ret, msg);
                g_free(msg);
                return ret;
            }
            *held |= bit;
        } else if (unlock && (*held & bit) && !(want & bit)) {
            ret = file_lock_byte(fd, base + i, F_UNLCK);
            if (ret < 0) {
                g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(-ret),
                            "Failed to unlock byte %d: %s", base + i, g_strerror(-ret));
                return ret;
            }
            *held &= ~bit;
        }
    }
    return 0;
}

int file_lock_apply(int fd, struct file_lock *l, uint64_t perm, uint64_t unshared,
                    bool unlock, GError **errp)
{
    /* Without a record: lock everything asked, or unlock everything else. */
    uint64_t held_perm = l ? l->locked_perm : (unlock ? BLK_PERM_ALL : 0);
    uint64_t held_unshared = l ? l->locked_unshared : (unlock ? BLK_PERM_ALL : 0);
    int ret;

    ret = file_lock_apply_range(fd, FILE_LOCK_PERM_BASE, perm & BLK_PERM_ALL, &held_perm,
                                unlock, errp);
    if (l) {
        l->locked_perm = held_perm;
    }
    if (ret < 0) {
        return ret;
    }
    ret = file_lock_apply_range(fd, FILE_LOCK_SHARED_BASE, unshared & BLK_PERM_ALL,
                                &held_unshared, unlock, errp);
    if (l) {
        l->locked_unshared = held_unshared;
    }
    return ret;
}

static int file_lock_check_range(int fd, int base, uint64_t bits, const char *fmt,
                                 GError **errp)
{
    for (int i = 0; i < FILE_LOCK_NBITS; i++) {
        int ret;

        if (!(bits & (1ULL << i))) {
            continue;
        }
        ret = file_lock_test_byte(fd, base + i);
        if (ret < 0) {
            char *msg = g_strdup_printf(fmt, file_lock_names[i]);

            file_lock_error(errp, -ret, msg);
            g_free(msg);
            return ret;
        }
    }
    return 0;
}

int file_lock_check(int fd, uint64_t perm, uint64_t shared, GError **errp)
{
    int ret;

    /* What we want must not be unshared by another (their byte 200 + i). */
    ret = file_lock_check_range(fd, FILE_LOCK_SHARED_BASE, perm & BLK_PERM_ALL,
                                "Failed to get \"%s\" lock", errp);
    if (ret < 0) {
        return ret;
    }
    /* What we refuse to share must not be held by another (byte 100 + i). */
    return file_lock_check_range(fd, FILE_LOCK_PERM_BASE, ~shared & BLK_PERM_ALL,
                                 "Failed to get shared \"%s\" lock", errp);
}

int file_lock_set(int fd, struct file_lock *l, uint64_t perm, uint64_t shared,
                  const char *filename, GError **errp)
{
    GError *err = NULL;
    int ret;

    perm &= BLK_PERM_ALL;
    shared &= BLK_PERM_ALL;
    /* Only giving up permissions cannot conflict: skip the check. */
    if ((l->perm | perm) != l->perm || (l->shared & shared) != l->shared) {
        ret = file_lock_apply(fd, l, l->perm | perm, ~l->shared | ~shared, false, &err);
        if (ret == 0) {
            ret = file_lock_check(fd, perm, shared, &err);
            if (ret < 0) {
                /* QEMU's hint, printed on the line after the error. */
                GError *hinted = g_error_new(err->domain, err->code,
                                             "%s\nIs another process using the image [%s]?",
                                             err->message, filename);

                g_error_free(err);
                err = hinted;
            }
        }
        if (ret < 0) {
            g_propagate_error(errp, err);
            /* Back to exactly the old bytes; unlocking does not fail in practice. */
            file_lock_apply(fd, l, l->perm, ~l->shared, true, NULL);
            return ret;
        }
    }
    file_lock_apply(fd, l, perm, ~shared, true, NULL);
    l->perm = perm;
    l->shared = shared;
    return 0;
}

void file_lock_release(int fd, struct file_lock *l)
{
    file_lock_apply(fd, l, 0, 0, true, NULL);
    l->perm = 0;
    l->shared = BLK_PERM_ALL;
}

void file_lock_default_perms(int flags, bool metadata, uint64_t unshare, uint64_t *perm,
                             uint64_t *shared)
{
    uint64_t p = (flags & BDRV_O_NO_IO) ? 0 : BLK_PERM_CONSISTENT_READ;
    uint64_t s = BLK_PERM_ALL;

    if (flags & BDRV_O_RDWR) {
        p |= BLK_PERM_WRITE;
        if (metadata) {
            /* A format may grow its file when it allocates. */
            p |= BLK_PERM_RESIZE;
        }
    }
    if (metadata) {
        /* Nobody else may change the metadata under us or move the end. */
        s &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
    s &= ~unshare;
    if (flags & BDRV_O_FORCE_SHARE) {
        s = BLK_PERM_ALL;
    }
    *perm = p;
    *shared = s;
}
