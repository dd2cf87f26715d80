/*
 * rng-random and rng-builtin (see rng-backend.h).  Requests wait in a FIFO;
 * rng-random serves the head from a glib fd watch that exists only while
 * requests wait, rng-builtin from an idle source with getrandom().
 *
 * Threads: big lock held everywhere.  A request from a vCPU thread attaches
 * the source to the default main context, which wakes the main thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib-unix.h>

#include "hw/virtio/rng-backend.h"
#include "system/error.h"

struct rng_request {
    size_t size;
    rng_backend_receive *cb;
    void *opaque;
};

struct rng_backend {
    char *id;                   /* NULL for a device's own builtin */
    const char *type;           /* "rng-random", "rng-builtin" */
    char *filename;             /* rng-random only */
    int fd;                     /* rng-random, -1 until opened */
    bool opened;
    bool exhausted;             /* end of file or a read error: no more bytes */
    GQueue requests;            /* struct rng_request * */
    guint source;               /* the fd watch or idle source while requests wait */
};

/* The -object instances, in creation order. */
static GPtrArray *rng_objects;

static struct rng_backend *rng_backend_alloc(const char *type, const char *id,
                                             const char *filename)
{
    struct rng_backend *b = g_new0(struct rng_backend, 1);

    b->id = g_strdup(id);
    b->type = !strcmp(type, "rng-random") ? "rng-random" : "rng-builtin";
    /* QEMU 7.2's rng-random reads /dev/urandom unless told otherwise. */
    if (b->type[4] == 'r') {
        b->filename = g_strdup(filename ? filename : "/dev/urandom");
    }
    b->fd = -1;
    g_queue_init(&b->requests);
    return b;
}

int rng_backend_create(const char *type, const char *id, const char *filename,
                       GError **errp)
{
    struct rng_backend *b;

    if (strcmp(type, "rng-random") && strcmp(type, "rng-builtin")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "object type '%s' is not supported yet", type);
        return -ENOTSUP;
    }
    if (rng_backend_find(id)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Duplicate ID '%s' for object", id);
        return -EEXIST;
    }
    if (!rng_objects) {
        rng_objects = g_ptr_array_new();
    }
    b = rng_backend_alloc(type, id, filename);
    b->opened = !b->filename;     /* rng-builtin has nothing to open */
    g_ptr_array_add(rng_objects, b);
    return 0;
}

struct rng_backend *rng_backend_find(const char *id)
{
    for (guint i = 0; id && rng_objects && i < rng_objects->len; i++) {
        struct rng_backend *b = g_ptr_array_index(rng_objects, i);

        if (!strcmp(b->id, id)) {
            return b;
        }
    }
    return NULL;
}

struct rng_backend *rng_backend_new_builtin(void)
{
    struct rng_backend *b = rng_backend_alloc("rng-builtin", NULL, NULL);

    b->opened = true;
    return b;
}

static void rng_backend_destroy(struct rng_backend *b)
{
    if (b->source) {
        g_source_remove(b->source);
    }
    g_queue_clear_full(&b->requests, g_free);
    if (b->fd >= 0) {
        close(b->fd);
    }
    g_free(b->id);
    g_free(b->filename);
    g_free(b);
}

void rng_backend_free(struct rng_backend *b)
{
    if (b && !b->id) {
        rng_backend_destroy(b);
    }
}

int rng_backend_open(struct rng_backend *b, GError **errp)
{
    if (b->opened) {
        return 0;
    }
    if (b->filename) {
        b->fd = open(b->filename, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (b->fd < 0) {
            int err = errno;

            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Could not open '%s': %s",
                        b->filename, g_strerror(err));
            return -err;
        }
    }
    b->opened = true;
    return 0;
}

int rng_backends_open_all(GError **errp)
{
    for (guint i = 0; rng_objects && i < rng_objects->len; i++) {
        int ret = rng_backend_open(g_ptr_array_index(rng_objects, i), errp);

        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* Takes the head request off the queue and hands it len bytes. */
static void rng_backend_deliver(struct rng_backend *b, const uint8_t *buf, size_t len)
{
    struct rng_request *r = g_queue_pop_head(&b->requests);

    r->cb(r->opaque, buf, len);
    g_free(r);
}

/* The main-loop source stops: b->source names it no more. */
static gboolean rng_backend_source_stop(struct rng_backend *b)
{
    b->source = 0;
    return G_SOURCE_REMOVE;
}

/* After a delivery: the source goes on while requests wait. */
static gboolean rng_backend_source_next(struct rng_backend *b)
{
    return g_queue_is_empty(&b->requests) ? rng_backend_source_stop(b) : G_SOURCE_CONTINUE;
}

/* The fd is readable: one read for the head request. */
static gboolean rng_random_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct rng_backend *b = opaque;
    struct rng_request *r = g_queue_peek_head(&b->requests);
    uint8_t buf[RNG_BACKEND_MAX_CHUNK];
    ssize_t n;

    if (!r) {
        return rng_backend_source_stop(b);  /* nothing waits (cancelled) */
    }
    n = read(fd, buf, MIN(r->size, sizeof(buf)));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        /* A file that ended (or failed) gives no more: requests keep
         * waiting rather than spinning on an fd that is always ready. */
        warn_report("rng-random: %s: %s; no more entropy from it", b->filename,
                    n < 0 ? g_strerror(errno) : "end of file");
        b->exhausted = true;
        return rng_backend_source_stop(b);
    }
    rng_backend_deliver(b, buf, (size_t)n);
    return rng_backend_source_next(b);
}

/* Serves the requests that waited when the idle source ran; ones the
 * callbacks add wait for the next round. */
static gboolean rng_builtin_ready(gpointer opaque)
{
    struct rng_backend *b = opaque;
    uint8_t buf[RNG_BACKEND_MAX_CHUNK];

    for (guint todo = g_queue_get_length(&b->requests); todo > 0; todo--) {
        struct rng_request *r = g_queue_peek_head(&b->requests);
        ssize_t n;

        if (!r) {
            break;
        }
        do {
            n = getrandom(buf, MIN(r->size, sizeof(buf)), 0);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            warn_report("rng-builtin: getrandom: %s", g_strerror(errno));
            return rng_backend_source_stop(b);
        }
        rng_backend_deliver(b, buf, (size_t)n);
    }
    return rng_backend_source_next(b);
}

void rng_backend_request(struct rng_backend *b, size_t size, rng_backend_receive *cb,
                         void *opaque)
{
    struct rng_request *r;

    if (!size || !b->opened || b->exhausted) {
        return;
    }
    r = g_new0(struct rng_request, 1);
    r->size = size;
    r->cb = cb;
    r->opaque = opaque;
    g_queue_push_tail(&b->requests, r);
    if (b->source) {
        return;
    }
    if (b->fd >= 0) {
        b->source = g_unix_fd_add(b->fd, G_IO_IN, rng_random_ready, b);
    } else {
        b->source = g_idle_add(rng_builtin_ready, b);
    }
}

void rng_backend_cancel(struct rng_backend *b, void *opaque)
{
    GList *l = b->requests.head;

    while (l) {
        GList *next = l->next;
        struct rng_request *r = l->data;

        if (r->opaque == opaque) {
            g_free(r);
            g_queue_delete_link(&b->requests, l);
        }
        l = next;
    }
    /* An idle or fd source left without requests removes itself when it
     * next runs; removing it here could pull it from under its own
     * dispatch. */
}

void rng_backend_foreach(void (*cb)(struct rng_backend *b, void *opaque), void *opaque)
{
    for (guint i = 0; rng_objects && i < rng_objects->len; i++) {
        cb(g_ptr_array_index(rng_objects, i), opaque);
    }
}

const char *rng_backend_id(const struct rng_backend *b)
{
    return b->id;
}

const char *rng_backend_type(const struct rng_backend *b)
{
    return b->type;
}

const char *rng_backend_filename(const struct rng_backend *b)
{
    return b->filename;
}

bool rng_backend_opened(const struct rng_backend *b)
{
    return b->opened;
}

void rng_backends_clear(void)
{
    for (guint i = 0; rng_objects && i < rng_objects->len; i++) {
        rng_backend_destroy(g_ptr_array_index(rng_objects, i));
    }
    g_clear_pointer(&rng_objects, g_ptr_array_unref);
}
