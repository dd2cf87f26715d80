/*
 * A pool of worker threads that runs blocking functions (synchronous block
 * driver I/O) off the thread that runs a glib main context, and delivers each
 * completion back on that context.
 *
 * Threads: thread_pool_submit() from any thread; func runs on a worker with
 * every signal blocked; cb runs on the thread iterating the pool's
 * GMainContext (hyvm's main thread, under the big lock like every main-loop
 * callback), or inside thread_pool_drain() on the thread that drains.
 * Workers start on demand, up to THREAD_POOL_MAX_THREADS, and exit after
 * THREAD_POOL_IDLE_MS without work (the numbers of QEMU's util/thread-pool.c).
 */
#ifndef HYVM_THREAD_POOL_H
#define HYVM_THREAD_POOL_H

#include <glib.h>

#define THREAD_POOL_MAX_THREADS 64
#define THREAD_POOL_IDLE_MS 10000

struct thread_pool;

/* Runs on a worker: returns 0 or -errno, passed to the completion. */
typedef int thread_pool_func(void *arg);
/* Runs on the main context with func's return value. */
typedef void thread_pool_cb(void *opaque, int ret);

/* ctx NULL means the default (main) context. */
struct thread_pool *thread_pool_new(GMainContext *ctx);
/* Drains every request (their completions run here), stops the workers. */
void thread_pool_free(struct thread_pool *pool);
/* The pool of the default main context, made on first use. */
struct thread_pool *thread_pool_default(void);

/*
 * Queues func(arg); cb(opaque, ret) follows on the pool's context.  owner
 * tags the request for thread_pool_drain() (a backend passes itself); NULL
 * is a tag like any other.
 */
void thread_pool_submit(struct thread_pool *pool, thread_pool_func *func, void *arg,
                        thread_pool_cb *cb, void *opaque, const void *owner);

/*
 * Waits until every request tagged owner has run its completion, including
 * requests those completions submit with the same tag.  Completions of any
 * owner that finish meanwhile run here, on the caller's thread; the caller
 * holds what a main-loop callback holds (the big lock in hyvm).
 */
void thread_pool_drain(struct thread_pool *pool, const void *owner);

/* Requests tagged owner not yet completed (queued, running or done but not
 * delivered). */
unsigned thread_pool_in_flight(struct thread_pool *pool, const void *owner);

/* Live worker threads (for tests of the lazy start and the idle exit). */
unsigned thread_pool_threads(struct thread_pool *pool);

/* Test hook: idle time in ms after which a worker exits (default above). */
void thread_pool_set_idle_ms(struct thread_pool *pool, unsigned ms);

#endif
