/*
 * Entropy back ends for virtio-rng, QEMU 7.2's user-creatable objects:
 *
 *   -object rng-random,id=ID[,filename=PATH]   reads PATH (/dev/urandom by
 *                                              default) through a
 *                                              non-blocking fd
 *   -object rng-builtin,id=ID                  the host's getrandom()
 *
 * and the anonymous rng-builtin a virtio-rng creates when no rng= names
 * one.  rng-egd is refused by the command line as not supported yet.
 *
 * A front end asks for up to N bytes and gets them later through its
 * callback, on the main loop: the fd is watched by glib, so a slow source
 * never stalls the main loop or a vCPU.  A delivery may be shorter than
 * the request (what one read returned), never longer.
 *
 * Threads: big lock held.  rng_backend_request() and _cancel() may run on
 * a vCPU thread (a queue kick); callbacks run on the main thread.
 */
#ifndef HYVM_RNG_BACKEND_H
#define HYVM_RNG_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

struct rng_backend;

/* The largest delivery: bigger requests are cut to this. */
#define RNG_BACKEND_MAX_CHUNK   (64 * 1024)

typedef void rng_backend_receive(void *opaque, const uint8_t *buf, size_t len);

/*
 * -object TYPE,id=ID[,filename=F] after the command line checked its keys:
 * registers the object (opened later, by rng_backend_open()).  Fails on a
 * duplicate ID with QEMU's message.
 */
int rng_backend_create(const char *type, const char *id, const char *filename,
                       GError **errp);
/* The object named ID, or NULL. */
struct rng_backend *rng_backend_find(const char *id);
/* A virtio-rng's own rng-builtin (no ID); the caller frees it. */
struct rng_backend *rng_backend_new_builtin(void);
/* Frees a backend rng_backend_new_builtin() made (registered ones are
 * freed by rng_backends_clear()). */
void rng_backend_free(struct rng_backend *b);

/* Opens the source (rng-random's file) once; later calls return 0. */
int rng_backend_open(struct rng_backend *b, GError **errp);
/* Opens every registered object, as QEMU does at start-up. */
int rng_backends_open_all(GError **errp);

/* Queues a request for up to size bytes; cb(opaque, ...) delivers them. */
void rng_backend_request(struct rng_backend *b, size_t size, rng_backend_receive *cb,
                         void *opaque);
/* Drops opaque's requests not yet delivered (device reset, cleanup). */
void rng_backend_cancel(struct rng_backend *b, void *opaque);

/* For QOM's /objects: every registered object in creation order. */
void rng_backend_foreach(void (*cb)(struct rng_backend *b, void *opaque), void *opaque);
const char *rng_backend_id(const struct rng_backend *b);
const char *rng_backend_type(const struct rng_backend *b);   /* "rng-random" ... */
const char *rng_backend_filename(const struct rng_backend *b); /* NULL: builtin */
bool rng_backend_opened(const struct rng_backend *b);

/* Closes and forgets every registered object (exit, config_free). */
void rng_backends_clear(void);

#endif
