/*
 * aio=native: Linux AIO (io_setup(2), io_submit(2), io_getevents(2)) on a file
 * descriptor opened with O_DIRECT, completions delivered on a glib main
 * context through an eventfd (io_set_eventfd).
 *
 * Only reads and writes go here; flush, write-zeroes and discard stay on the
 * thread pool (Linux AIO's IOCB_CMD_FSYNC is refused by most filesystems).
 *
 * Batching: requests submitted while plugged (aio_native_plug) are queued and
 * go in one io_submit at the matching unplug; requests submitted on the
 * thread that is iterating the context (a main-loop callback) are queued and
 * go in one io_submit before the context next polls; others go at once.
 *
 * Threads: submit, plug and unplug from any thread (hyvm: under the big
 * lock); callbacks run on the thread that iterates the context, or inside
 * aio_native_drain() on the thread that drains.
 */
#ifndef HYVM_AIO_NATIVE_H
#define HYVM_AIO_NATIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <glib.h>

/* Requests in flight per context: io_setup's nr_events (QEMU uses 1024; a
 * smaller ring keeps within fs.aio-max-nr when many contexts exist). */
#define AIO_NATIVE_MAX_EVENTS 256

struct aio_native;

typedef void aio_native_cb(void *opaque, int ret);

/* ctx NULL = the default context.  NULL with errp set when the kernel has no
 * AIO or the aio-max-nr limit is reached. */
struct aio_native *aio_native_new(GMainContext *ctx, GError **errp);
/* Drains every request (their callbacks run here), then frees. */
void aio_native_free(struct aio_native *an);
/* The default context's instance, made on first use; NULL when io_setup
 * failed (the reason is logged once), and the caller uses the thread pool. */
struct aio_native *aio_native_default(void);

/* Whether a request at off of bytes bytes can go to Linux AIO: O_DIRECT wants
 * the offset and length on the device's logical block (align). */
static inline bool aio_native_aligned(uint64_t off, uint64_t bytes, uint32_t align)
{
    return align && bytes && off % align == 0 && bytes % align == 0;
}

/*
 * Reads or writes bytes at off of fd into / from iov (niov entries covering
 * at least bytes).  The buffers stay the caller's until cb; the iov array is
 * copied.  Buffers not on align in memory (or too many of them) go through a
 * bounce buffer.  Returns 0 and cb(opaque, 0 or -errno) follows; a short read
 * (end of file) is padded with zeroes, a short write is -ENOSPC, as QEMU's
 * linux-aio.c.  Returns -EINVAL (no callback) for unaligned off/bytes.
 */
int aio_native_submit(struct aio_native *an, int fd, bool write, uint64_t off,
                      const struct iovec *iov, int niov, uint64_t bytes, uint32_t align,
                      aio_native_cb *cb, void *opaque, const void *owner);

/* Nestable; the last unplug submits what was queued in one io_submit. */
void aio_native_plug(struct aio_native *an);
void aio_native_unplug(struct aio_native *an);

/* Submits what is queued (plugged or not) and waits until owner's requests
 * have run their callbacks; other owners' callbacks that come meanwhile run
 * too. */
void aio_native_drain(struct aio_native *an, const void *owner);
unsigned aio_native_in_flight(struct aio_native *an, const void *owner);

/* Counters for tests: io_submit calls made and iocbs they took. */
void aio_native_stats(struct aio_native *an, uint64_t *submit_calls, uint64_t *iocbs);

#endif
