/*
 * Linux AIO for aio=native (see aio-native.h).
 *
 * Threads: an->lock guards the queues and counts; io_submit runs under it
 * (it does not block on O_DIRECT files for long), io_getevents outside it.
 * Callbacks run unlocked, one at a time, so they may submit or drain.
 * Requests move pending -> (io_submit) in flight -> (io_getevents) done ->
 * (callback) freed; a request io_submit refuses goes straight to done.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libaio.h>

#include "block/aio-native.h"
#include "system/error.h"

#include "system/container-of.h"

struct an_req {
    struct iocb iocb;
    aio_native_cb *cb;
    void *opaque;
    const void *owner;
    struct iovec *iov; /* the caller's, copied */
    int niov;
    uint64_t bytes;
    bool write;
    void *bounce;      /* aligned copy, or NULL */
    struct iovec biov;
    int ret;
};

struct aio_native {
    pthread_mutex_t lock;
    io_context_t ctx;
    int efd;
    GSource *source;
    GMainContext *gctx;
    GQueue pending;
    GQueue done;
    unsigned in_flight;  /* submitted to the kernel */
    unsigned plugged;
    GHashTable *owners;  /* owner -> requests whose callback has not run */
    unsigned total;
    uint64_t submit_calls;
    uint64_t submitted;
};

struct an_source {
    GSource source;
    struct aio_native *an;
    gpointer tag;
};

static void an_owner_add(struct aio_native *an, const void *owner, int delta)
{
    unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(an->owners, owner)) + delta;

    if (n) {
        g_hash_table_insert(an->owners, (gpointer)owner, GUINT_TO_POINTER(n));
    } else {
        g_hash_table_remove(an->owners, owner);
    }
    an->total += delta;
}

static void an_notify(struct aio_native *an)
{
    uint64_t one = 1;

    (void)!write(an->efd, &one, sizeof(one));
}

/* Lock held.  Sends queued requests, as many as the ring has room for, in one
 * io_submit; EAGAIN leaves them queued until completions make room. */
static void an_submit_pending(struct aio_native *an)
{
    while (!g_queue_is_empty(&an->pending) && an->in_flight < AIO_NATIVE_MAX_EVENTS) {
        struct iocb *cbs[AIO_NATIVE_MAX_EVENTS];
        unsigned n = 0;
        GList *l = an->pending.head;
        int ret;

        for (; l && n < AIO_NATIVE_MAX_EVENTS - an->in_flight; l = l->next) {
            cbs[n++] = &((struct an_req *)l->data)->iocb;
        }
        do {
            ret = io_submit(an->ctx, n, cbs);
        } while (ret == -EINTR);
        an->submit_calls++;
        /* EAGAIN with nothing in flight would never clear: fail the head. */
        if ((ret == -EAGAIN && an->in_flight) || ret == 0) {
            return;
        }
        if (ret < 0) {
            /* The first iocb is the one refused: complete it with the error. */
            struct an_req *req = g_queue_pop_head(&an->pending);

            req->ret = ret;
            if (g_queue_is_empty(&an->done)) {
                an_notify(an);
            }
            g_queue_push_tail(&an->done, req);
            continue;
        }
        for (int i = 0; i < ret; i++) {
            g_queue_pop_head(&an->pending);
        }
        an->in_flight += ret;
        an->submitted += ret;
    }
}

static void an_zero_tail(struct an_req *req, uint64_t from)
{
    uint64_t pos = 0;

    for (int i = 0; i < req->niov && pos < req->bytes; i++) {
        uint64_t len = MIN(req->iov[i].iov_len, req->bytes - pos);

        if (pos + len > from) {
            uint64_t skip = from > pos ? from - pos : 0;

            memset((uint8_t *)req->iov[i].iov_base + skip, 0, len - skip);
        }
        pos += len;
    }
}

static void an_copy_out(struct an_req *req)
{
    uint64_t pos = 0;

    for (int i = 0; i < req->niov && pos < req->bytes; i++) {
        uint64_t len = MIN(req->iov[i].iov_len, req->bytes - pos);

        memcpy(req->iov[i].iov_base, (uint8_t *)req->bounce + pos, len);
        pos += len;
    }
}

/* The result of one io_event (io_getevents(2)):
 * res is the byte count or -errno. */
static int an_result(struct an_req *req, const struct io_event *ev)
{
    int64_t res = (int64_t)(long)ev->res;
    if (res < 0) {
        return (int)res;
    }
    if ((uint64_t)res == req->bytes) {
        if (!req->write && req->bounce) {
            an_copy_out(req);
        }
        return 0;
    }
    if (req->write) {
        return -ENOSPC;
    }
    if (req->bounce) {
        an_copy_out(req);
    }
    an_zero_tail(req, (uint64_t)res);
    return 0;
}

/* Moves finished iocbs to 'done'.  min 0 never blocks. */
static void an_reap(struct aio_native *an, int min)
{
    struct io_event ev[64];
    int n;

    do {
        struct timespec zero = { 0, 0 };

        n = io_getevents(an->ctx, min, G_N_ELEMENTS(ev), ev, min ? NULL : &zero);
        if (n == -EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        pthread_mutex_lock(&an->lock);
        for (int i = 0; i < n; i++) {
            struct an_req *req = container_of(ev[i].obj, struct an_req, iocb);

            req->ret = an_result(req, &ev[i]);
            g_queue_push_tail(&an->done, req);
        }
        an->in_flight -= n;
        if (!an->plugged) {
            an_submit_pending(an);
        }
        pthread_mutex_unlock(&an->lock);
        min = 0;
    } while (n == G_N_ELEMENTS(ev) || n == -EINTR);
}

static void an_free_req(struct an_req *req)
{
    free(req->bounce);
    g_free(req->iov);
    g_free(req);
}

static void an_run_callbacks(struct aio_native *an)
{
    struct an_req *req;

    pthread_mutex_lock(&an->lock);
    while ((req = g_queue_pop_head(&an->done))) {
        pthread_mutex_unlock(&an->lock);
        req->cb(req->opaque, req->ret);
        pthread_mutex_lock(&an->lock);
        an_owner_add(an, req->owner, -1);
        an_free_req(req);
    }
    pthread_mutex_unlock(&an->lock);
}

/* Before the context polls: whatever this iteration's callbacks queued goes
 * in one io_submit. */
static gboolean an_prepare(GSource *source, gint *timeout)
{
    struct aio_native *an = ((struct an_source *)source)->an;
    bool ready;

    *timeout = -1;
    pthread_mutex_lock(&an->lock);
    if (!an->plugged) {
        an_submit_pending(an);
    }
    ready = !g_queue_is_empty(&an->done);
    pthread_mutex_unlock(&an->lock);
    return ready;
}

static gboolean an_check(GSource *source)
{
    struct an_source *s = (struct an_source *)source;
    bool ready;

    if (g_source_query_unix_fd(source, s->tag) & G_IO_IN) {
        return TRUE;
    }
    pthread_mutex_lock(&s->an->lock);
    ready = !g_queue_is_empty(&s->an->done);
    pthread_mutex_unlock(&s->an->lock);
    return ready;
}

static gboolean an_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    struct aio_native *an = ((struct an_source *)source)->an;
    uint64_t v;

    while (read(an->efd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
    an_reap(an, 0);
    an_run_callbacks(an);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs an_source_funcs = {
    .prepare = an_prepare,
    .check = an_check,
    .dispatch = an_dispatch,
};

static bool an_buffers_aligned(const struct iovec *iov, int niov, uint32_t align)
{
    if (niov > IOV_MAX) {
        return false;
    }
    for (int i = 0; i < niov; i++) {
        if ((uintptr_t)iov[i].iov_base % align || iov[i].iov_len % align) {
            return false;
        }
    }
    return true;
}

static int an_bounce(struct an_req *req, uint32_t align)
{
    uint64_t pos = 0;

    if (posix_memalign(&req->bounce, MAX(align, sizeof(void *)), req->bytes)) {
        return -ENOMEM;
    }
    for (int i = 0; req->write && i < req->niov && pos < req->bytes; i++) {
        uint64_t len = MIN(req->iov[i].iov_len, req->bytes - pos);

        memcpy((uint8_t *)req->bounce + pos, req->iov[i].iov_base, len);
        pos += len;
    }
    req->biov.iov_base = req->bounce;
    req->biov.iov_len = req->bytes;
    return 0;
}

/* The entries of iov that cover exactly bytes (the last one clipped). */
static int an_clip_iov(struct an_req *req)
{
    uint64_t pos = 0;

    for (int i = 0; i < req->niov; i++) {
        if (pos + req->iov[i].iov_len >= req->bytes) {
            req->iov[i].iov_len = req->bytes - pos;
            req->niov = i + 1;
            return 0;
        }
        pos += req->iov[i].iov_len;
    }
    return -EINVAL;
}

int aio_native_submit(struct aio_native *an, int fd, bool write, uint64_t off,
                      const struct iovec *iov, int niov, uint64_t bytes, uint32_t align,
                      aio_native_cb *cb, void *opaque, const void *owner)
{
    struct an_req *req;
    bool defer;

    if (!aio_native_aligned(off, bytes, align) || niov <= 0 || off > INT64_MAX) {
        return -EINVAL;
    }
    req = g_new0(struct an_req, 1);
    req->cb = cb;
    req->opaque = opaque;
    req->owner = owner;
    req->write = write;
    req->bytes = bytes;
    req->niov = niov;
    req->iov = g_memdup2(iov, sizeof(*iov) * niov);
    if (an_clip_iov(req) < 0 ||
        (!an_buffers_aligned(req->iov, req->niov, align) && an_bounce(req, align) < 0)) {
        an_free_req(req);
        return -EINVAL;
    }
    if (req->bounce) {
        (write ? io_prep_pwritev : io_prep_preadv)(&req->iocb, fd, &req->biov, 1, (long long)off);
    } else {
        (write ? io_prep_pwritev : io_prep_preadv)(&req->iocb, fd, req->iov, req->niov,
                                                   (long long)off);
    }
    io_set_eventfd(&req->iocb, an->efd);

    defer = g_main_context_is_owner(an->gctx);
    pthread_mutex_lock(&an->lock);
    an_owner_add(an, owner, 1);
    g_queue_push_tail(&an->pending, req);
    if (!an->plugged && !defer) {
        an_submit_pending(an);
    }
    pthread_mutex_unlock(&an->lock);
    return 0;
}

void aio_native_plug(struct aio_native *an)
{
    pthread_mutex_lock(&an->lock);
    an->plugged++;
    pthread_mutex_unlock(&an->lock);
}

void aio_native_unplug(struct aio_native *an)
{
    pthread_mutex_lock(&an->lock);
    if (an->plugged && --an->plugged == 0) {
        an_submit_pending(an);
    }
    pthread_mutex_unlock(&an->lock);
}

static void an_drain_until(struct aio_native *an, const void *owner, bool all)
{
    for (;;) {
        bool wait;

        pthread_mutex_lock(&an->lock);
        if (!(all ? an->total : GPOINTER_TO_UINT(g_hash_table_lookup(an->owners, owner)))) {
            pthread_mutex_unlock(&an->lock);
            return;
        }
        an_submit_pending(an);
        wait = g_queue_is_empty(&an->done) && an->in_flight;
        pthread_mutex_unlock(&an->lock);
        an_reap(an, wait ? 1 : 0);
        an_run_callbacks(an);
    }
}

void aio_native_drain(struct aio_native *an, const void *owner)
{
    an_drain_until(an, owner, false);
}

unsigned aio_native_in_flight(struct aio_native *an, const void *owner)
{
    unsigned n;

    pthread_mutex_lock(&an->lock);
    n = GPOINTER_TO_UINT(g_hash_table_lookup(an->owners, owner));
    pthread_mutex_unlock(&an->lock);
    return n;
}

void aio_native_stats(struct aio_native *an, uint64_t *submit_calls, uint64_t *iocbs)
{
    pthread_mutex_lock(&an->lock);
    *submit_calls = an->submit_calls;
    *iocbs = an->submitted;
    pthread_mutex_unlock(&an->lock);
}

struct aio_native *aio_native_new(GMainContext *gctx, GError **errp)
{
    struct aio_native *an = g_new0(struct aio_native, 1);
    struct an_source *s;
    int ret;

    ret = io_setup(AIO_NATIVE_MAX_EVENTS, &an->ctx);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(-ret),
                    "Linux AIO is not available: io_setup: %s", g_strerror(-ret));
        g_free(an);
        return NULL;
    }
    an->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (an->efd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "eventfd: %s",
                    g_strerror(errno));
        io_destroy(an->ctx);
        g_free(an);
        return NULL;
    }
    pthread_mutex_init(&an->lock, NULL);
    g_queue_init(&an->pending);
    g_queue_init(&an->done);
    an->owners = g_hash_table_new(g_direct_hash, g_direct_equal);
    an->gctx = gctx ? gctx : g_main_context_default();
    s = (struct an_source *)g_source_new(&an_source_funcs, sizeof(*s));
    s->an = an;
    s->tag = g_source_add_unix_fd(&s->source, an->efd, G_IO_IN);
    an->source = &s->source;
    g_source_attach(an->source, an->gctx);
    return an;
}

void aio_native_free(struct aio_native *an)
{
    if (!an) {
        return;
    }
    an_drain_until(an, NULL, true);
    g_source_destroy(an->source);
    g_source_unref(an->source);
    io_destroy(an->ctx);
    close(an->efd);
    g_hash_table_destroy(an->owners);
    pthread_mutex_destroy(&an->lock);
    g_free(an);
}

struct aio_native *aio_native_default(void)
{
    static gsize once;
    static struct aio_native *an;

    if (g_once_init_enter(&once)) {
        GError *err = NULL;

        an = aio_native_new(NULL, &err);
        if (!an) {
            warn_report("aio=native falls back to the thread pool: %s", err->message);
            g_error_free(err);
        }
        g_once_init_leave(&once, 1);
    }
    return an;
}
