/*
 * The block layer's worker pool: functions run on workers, in parallel;
 * completions come back on the thread that iterates the pool's context, in
 * batches; drain waits for one owner's requests including follow-ups; workers
 * start lazily and leave when idle.
 */
#include <pthread.h>
#include <unistd.h>

#include <glib.h>

#include "block/thread-pool.h"
#include "system/main-loop.h"

struct job {
    int value;
    pthread_t ran_on;
};

struct tally {
    GMainContext *ctx;
    pthread_t main_thread;
    int completed;
    int wrong_thread;
    int wrong_ret;
    gint executed; /* atomic: workers count here */
};

static struct tally *cur;
static pthread_t main_thread_id;

static int job_func(void *arg)
{
    struct job *j = arg;

    j->ran_on = pthread_self();
    g_usleep(g_random_int_range(0, 200));
    g_atomic_int_inc(&cur->executed);
    return -j->value;
}

static void job_done(void *opaque, int ret)
{
    struct job *j = opaque;

    if (!pthread_equal(pthread_self(), cur->main_thread)) {
        cur->wrong_thread++;
    }
    if (ret != -j->value || pthread_equal(j->ran_on, cur->main_thread)) {
        cur->wrong_ret++;
    }
    cur->completed++;
}

static void tally_init(struct tally *t)
{
    *t = (struct tally){ .ctx = g_main_context_new(), .main_thread = pthread_self() };
    cur = t;
}

static void test_many_jobs(void)
{
    enum { N = 2000 };
    struct tally t;
    struct thread_pool *pool;
    struct job *jobs = g_new0(struct job, N);
    gint64 deadline;

    tally_init(&t);
    pool = thread_pool_new(t.ctx);
    g_assert_cmpuint(thread_pool_threads(pool), ==, 0);
    for (int i = 0; i < N; i++) {
        jobs[i].value = i;
        thread_pool_submit(pool, job_func, &jobs[i], job_done, &jobs[i], &t);
    }
    g_assert_cmpuint(thread_pool_threads(pool), >, 1);
    g_assert_cmpuint(thread_pool_threads(pool), <=, THREAD_POOL_MAX_THREADS);
    deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (t.completed < N && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(t.ctx, TRUE);
    }
    g_assert_cmpint(t.completed, ==, N);
    g_assert_cmpint(t.wrong_thread, ==, 0);
    g_assert_cmpint(t.wrong_ret, ==, 0);
    g_assert_cmpuint(thread_pool_in_flight(pool, &t), ==, 0);
    thread_pool_free(pool);
    g_assert_cmpuint(t.executed, ==, N);
    g_main_context_unref(t.ctx);
    g_free(jobs);
}

/* Jobs that only finish when all of them run at once: proves parallelism. */
static pthread_barrier_t barrier;

static int barrier_func(void *arg)
{
    pthread_barrier_wait(&barrier);
    return 0;
}

static void count_done(void *opaque, int ret)
{
    (*(int *)opaque)++;
}

static void test_parallel(void)
{
    enum { N = 16 };
    GMainContext *ctx = g_main_context_new();
    struct thread_pool *pool = thread_pool_new(ctx);
    int done = 0;

    pthread_barrier_init(&barrier, NULL, N);
    for (int i = 0; i < N; i++) {
        thread_pool_submit(pool, barrier_func, NULL, count_done, &done, NULL);
    }
    thread_pool_drain(pool, NULL);
    g_assert_cmpint(done, ==, N);
    g_assert_cmpuint(thread_pool_threads(pool), >=, N);
    thread_pool_free(pool);
    pthread_barrier_destroy(&barrier);
    g_main_context_unref(ctx);
}

/* Every finished request is delivered by a single wake-up of the context. */
static void test_batch(void)
{
    enum { N = 100 };
    struct tally t;
    struct thread_pool *pool;
    struct job jobs[N];
    gint64 deadline;

    tally_init(&t);
    pool = thread_pool_new(t.ctx);
    for (int i = 0; i < N; i++) {
        jobs[i].value = i;
        thread_pool_submit(pool, job_func, &jobs[i], job_done, &jobs[i], NULL);
    }
    deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (g_atomic_int_get(&t.executed) < N && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmpint(g_atomic_int_get(&t.executed), ==, N);
    /* A worker counts 'executed' just before it queues the result: give the
     * last one time to do so, then one wake-up must deliver all of them. */
    g_usleep(200000);
    g_assert_true(g_main_context_iteration(t.ctx, FALSE));
    g_assert_cmpint(t.completed, ==, N);
    g_assert_cmpint(t.wrong_thread, ==, 0);
    thread_pool_free(pool);
    g_main_context_unref(t.ctx);
}

/* drain(owner) returns with all of owner's completions run, follow-ups too,
 * and does not wait for other owners. */
struct chain {
    struct thread_pool *pool;
    int left;
    int completions;
};

static int quick_func(void *arg)
{
    g_usleep(1000);
    return 0;
}

static int gate_open;

static int gated_func(void *arg)
{
    while (!g_atomic_int_get(&gate_open)) {
        g_usleep(500);
    }
    return 0;
}

static void chain_done(void *opaque, int ret)
{
    struct chain *c = opaque;

    c->completions++;
    if (c->left-- > 0) {
        thread_pool_submit(c->pool, quick_func, NULL, chain_done, c, c);
    }
}

static void test_drain(void)
{
    GMainContext *ctx = g_main_context_new();
    struct thread_pool *pool = thread_pool_new(ctx);
    struct chain a = { .pool = pool, .left = 5 };
    int other_done = 0;

    g_atomic_int_set(&gate_open, 0);
    thread_pool_submit(pool, gated_func, NULL, count_done, &other_done, &other_done);
    for (int i = 0; i < 10; i++) {
        thread_pool_submit(pool, quick_func, NULL, chain_done, &a, &a);
    }
    g_assert_cmpuint(thread_pool_in_flight(pool, &a), ==, 10);
    thread_pool_drain(pool, &a);
    /* 10 first requests plus 5 follow-ups, submitted by completions. */
    g_assert_cmpint(a.completions, ==, 15);
    g_assert_cmpuint(thread_pool_in_flight(pool, &a), ==, 0);
    g_assert_cmpint(other_done, ==, 0);
    g_assert_cmpuint(thread_pool_in_flight(pool, &other_done), ==, 1);
    g_atomic_int_set(&gate_open, 1);
    thread_pool_drain(pool, &other_done);
    g_assert_cmpint(other_done, ==, 1);
    thread_pool_free(pool);
    g_main_context_unref(ctx);
}

static void test_idle_exit(void)
{
    GMainContext *ctx = g_main_context_new();
    struct thread_pool *pool = thread_pool_new(ctx);
    int done = 0;
    gint64 deadline;

    thread_pool_set_idle_ms(pool, 30);
    for (int i = 0; i < 4; i++) {
        thread_pool_submit(pool, quick_func, NULL, count_done, &done, NULL);
    }
    g_assert_cmpuint(thread_pool_threads(pool), >=, 1);
    thread_pool_drain(pool, NULL);
    g_assert_cmpint(done, ==, 4);
    deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
    while (thread_pool_threads(pool) && g_get_monotonic_time() < deadline) {
        g_usleep(5000);
    }
    g_assert_cmpuint(thread_pool_threads(pool), ==, 0);
    /* And the pool starts again on demand. */
    thread_pool_submit(pool, quick_func, NULL, count_done, &done, NULL);
    thread_pool_drain(pool, NULL);
    g_assert_cmpint(done, ==, 5);
    thread_pool_free(pool);
    g_main_context_unref(ctx);
}

/* Freeing a pool with work in flight delivers every completion first. */
static void test_free_drains(void)
{
    GMainContext *ctx = g_main_context_new();
    struct thread_pool *pool = thread_pool_new(ctx);
    int done = 0;

    for (int i = 0; i < 50; i++) {
        thread_pool_submit(pool, quick_func, NULL, count_done, &done, GINT_TO_POINTER(i % 3));
    }
    thread_pool_free(pool);
    g_assert_cmpint(done, ==, 50);
    g_main_context_unref(ctx);
}

/*
 * In hyvm's main loop the default context's poll drops the big lock, so a
 * worker (standing in for a vCPU thread) can take it while the main thread
 * sleeps, and completions run with it held, on the main thread.
 */
static int bql_func(void *arg)
{
    bql_lock();
    (*(int *)arg)++;
    bql_unlock();
    return 7;
}

static void bql_done(void *opaque, int ret)
{
    g_assert_true(bql_locked());
    g_assert_true(pthread_equal(pthread_self(), main_thread_id));
    g_assert_cmpint(ret, ==, 7);
    (*(int *)opaque)++;
}

static void test_main_loop_bql(void)
{
    struct thread_pool *pool;
    int ran = 0, done = 0;
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    main_loop_init();
    bql_lock();
    pool = thread_pool_default();
    g_assert_true(pool == thread_pool_default());
    for (int i = 0; i < 8; i++) {
        thread_pool_submit(pool, bql_func, &ran, bql_done, &done, NULL);
    }
    while (done < 8 && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(done, ==, 8);
    g_assert_cmpint(ran, ==, 8);
    bql_unlock();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_thread_id = pthread_self();
    g_test_add_func("/thread-pool/many-jobs", test_many_jobs);
    g_test_add_func("/thread-pool/parallel", test_parallel);
    g_test_add_func("/thread-pool/batch", test_batch);
    g_test_add_func("/thread-pool/drain", test_drain);
    g_test_add_func("/thread-pool/idle-exit", test_idle_exit);
    g_test_add_func("/thread-pool/free-drains", test_free_drains);
    g_test_add_func("/thread-pool/main-loop-bql", test_main_loop_bql);
    return g_test_run();
}
