/*
 * The worker pool behind asynchronous block I/O (see thread-pool.h).
 *
 * Threads: pool->lock guards the queues, the per-owner counts and the thread
 * counts.  Workers take a request from 'queued', run it unlocked, and put it
 * on 'done'; the first request on an empty 'done' writes the eventfd, so one
 * wake-up of the main context delivers a whole batch.  Completions are popped
 * one at a time, so a completion that drains (or submits) may re-enter.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>

#include "block/thread-pool.h"

struct tp_req {
    thread_pool_func *func;
    void *arg;
    thread_pool_cb *cb;
    void *opaque;
    const void *owner;
    int ret;
};

struct thread_pool {
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* workers: a request was queued, or stop */
    pthread_cond_t done_cond; /* drainers: a request finished; free: a worker left */
    GQueue queued;
    GQueue done;
    GHashTable *owners; /* owner -> requests not yet completed */
    unsigned pending;   /* all owners */
    unsigned threads;
    unsigned idle;
    unsigned idle_ms;
    bool stopping;
    int efd;
    GSource *source;
};

static void tp_owner_add(struct thread_pool *pool, const void *owner, int delta)
{
    unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(pool->owners, owner)) + delta;

    if (n) {
        g_hash_table_insert(pool->owners, (gpointer)owner, GUINT_TO_POINTER(n));
    } else {
        g_hash_table_remove(pool->owners, owner);
    }
    pool->pending += delta;
}

static unsigned tp_owner_count(struct thread_pool *pool, const void *owner)
{
    return GPOINTER_TO_UINT(g_hash_table_lookup(pool->owners, owner));
}

static void tp_notify(struct thread_pool *pool)
{
    uint64_t one = 1;

    /* A full counter already means "readable": nothing to retry. */
    (void)!write(pool->efd, &one, sizeof(one));
}

static bool tp_wait_work(struct thread_pool *pool)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->idle_ms / 1000;
    deadline.tv_nsec += (long)(pool->idle_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (g_queue_is_empty(&pool->queued) && !pool->stopping) {
        int rc;

        pool->idle++;
        rc = pthread_cond_timedwait(&pool->work_cond, &pool->lock, &deadline);
        pool->idle--;
        if (rc == ETIMEDOUT) {
            break;
        }
    }
    return !g_queue_is_empty(&pool->queued);
}

static void *tp_worker(void *opaque)
{
    struct thread_pool *pool = opaque;

    pthread_mutex_lock(&pool->lock);
    while (tp_wait_work(pool)) {
        struct tp_req *req = g_queue_pop_head(&pool->queued);
        bool first;

        pthread_mutex_unlock(&pool->lock);
        req->ret = req->func(req->arg);
        pthread_mutex_lock(&pool->lock);
        first = g_queue_is_empty(&pool->done);
        g_queue_push_tail(&pool->done, req);
        if (first) {
            tp_notify(pool);
        }
        pthread_cond_broadcast(&pool->done_cond);
    }
    pool->threads--;
    pthread_cond_broadcast(&pool->done_cond);
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Called with the lock held.  A worker inherits the creator's signal mask:
 * block everything for it so signals reach the main and vCPU threads. */
static void tp_spawn(struct thread_pool *pool)
{
    sigset_t all, old;
    pthread_attr_t attr;
    pthread_t tid;

    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&tid, &attr, tp_worker, pool) == 0) {
        pool->threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

void thread_pool_submit(struct thread_pool *pool, thread_pool_func *func, void *arg,
                        thread_pool_cb *cb, void *opaque, const void *owner)
{
    struct tp_req *req = g_new0(struct tp_req, 1);

    req->func = func;
    req->arg = arg;
    req->cb = cb;
    req->opaque = opaque;
    req->owner = owner;
    pthread_mutex_lock(&pool->lock);
    tp_owner_add(pool, owner, 1);
    g_queue_push_tail(&pool->queued, req);
    if (pool->queued.length > pool->idle && pool->threads < THREAD_POOL_MAX_THREADS) {
        tp_spawn(pool);
    }
    if (pool->threads == 0) {
        /* Not even one worker could start: run it here rather than never. */
        g_queue_pop_tail(&pool->queued);
        pthread_mutex_unlock(&pool->lock);
        req->ret = func(arg);
        pthread_mutex_lock(&pool->lock);
        if (g_queue_is_empty(&pool->done)) {
            tp_notify(pool);
        }
        g_queue_push_tail(&pool->done, req);
    } else {
        pthread_cond_signal(&pool->work_cond);
    }
    pthread_mutex_unlock(&pool->lock);
}

/* Delivers every finished request, oldest first; returns how many. */
static unsigned tp_run_completions(struct thread_pool *pool)
{
    unsigned n = 0;
    struct tp_req *req;

    pthread_mutex_lock(&pool->lock);
    while ((req = g_queue_pop_head(&pool->done))) {
        pthread_mutex_unlock(&pool->lock);
        if (req->cb) {
            req->cb(req->opaque, req->ret);
        }
        pthread_mutex_lock(&pool->lock);
        tp_owner_add(pool, req->owner, -1);
        pthread_cond_broadcast(&pool->done_cond);
        g_free(req);
        n++;
    }
    pthread_mutex_unlock(&pool->lock);
    return n;
}

static gboolean tp_source_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
    tp_run_completions(opaque);
    return G_SOURCE_CONTINUE;
}

static void tp_drain_until(struct thread_pool *pool, const void *owner, bool all)
{
    pthread_mutex_lock(&pool->lock);
    while (all ? pool->pending : tp_owner_count(pool, owner)) {
        if (g_queue_is_empty(&pool->done)) {
            pthread_cond_wait(&pool->done_cond, &pool->lock);
            continue;
        }
        pthread_mutex_unlock(&pool->lock);
        tp_run_completions(pool);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
}

void thread_pool_drain(struct thread_pool *pool, const void *owner)
{
    tp_drain_until(pool, owner, false);
}

unsigned thread_pool_in_flight(struct thread_pool *pool, const void *owner)
{
    unsigned n;

    pthread_mutex_lock(&pool->lock);
    n = tp_owner_count(pool, owner);
    pthread_mutex_unlock(&pool->lock);
    return n;
}

unsigned thread_pool_threads(struct thread_pool *pool)
{
    unsigned n;

    pthread_mutex_lock(&pool->lock);
    n = pool->threads;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void thread_pool_set_idle_ms(struct thread_pool *pool, unsigned ms)
{
    pthread_mutex_lock(&pool->lock);
    pool->idle_ms = ms;
    pthread_cond_broadcast(&pool->work_cond);
    pthread_mutex_unlock(&pool->lock);
}

struct thread_pool *thread_pool_new(GMainContext *ctx)
{
    struct thread_pool *pool = g_new0(struct thread_pool, 1);
    pthread_condattr_t ca;

    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->work_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&pool->done_cond, NULL);
    g_queue_init(&pool->queued);
    g_queue_init(&pool->done);
    pool->owners = g_hash_table_new(g_direct_hash, g_direct_equal);
    pool->idle_ms = THREAD_POOL_IDLE_MS;
    pool->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (pool->efd < 0) {
        g_error("thread pool: eventfd: %s", g_strerror(errno));
    }
    pool->source = g_unix_fd_source_new(pool->efd, G_IO_IN);
    g_source_set_callback(pool->source, (GSourceFunc)(void (*)(void))tp_source_cb, pool, NULL);
    g_source_attach(pool->source, ctx);
    return pool;
}

void thread_pool_free(struct thread_pool *pool)
{
    if (!pool) {
        return;
    }
    tp_drain_until(pool, NULL, true);
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work_cond);
    while (pool->threads) {
        pthread_cond_wait(&pool->done_cond, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    g_source_destroy(pool->source);
    g_source_unref(pool->source);
    close(pool->efd);
    g_hash_table_destroy(pool->owners);
    pthread_cond_destroy(&pool->work_cond);
    pthread_cond_destroy(&pool->done_cond);
    pthread_mutex_destroy(&pool->lock);
    g_free(pool);
}

struct thread_pool *thread_pool_default(void)
{
    static gsize once;
    static struct thread_pool *pool;

    if (g_once_init_enter(&once)) {
        pool = thread_pool_new(NULL);
        g_once_init_leave(&once, 1);
    }
    return pool;
}
