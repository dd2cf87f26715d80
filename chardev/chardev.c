/*
 * Character devices: the registry, option parsing for -chardev and the
 * short -serial/-monitor spellings, the front-end API and the helpers the
 * back ends share (an fd reader that respects the front end's room, a
 * write-all that waits).
 *
 * Threads: the registry changes on the main thread during start-up and in
 * chardev_cleanup_all().  chr_fe_write_all() and chr_fe_accept_input() come
 * from vCPU threads or the main thread; all of it runs with the big lock
 * held, which is what serialises a back end's state.
 *
 * A chardev is never freed: chardev_cleanup_all() closes its back end and
 * takes it out of the registry, but a front end that still points at it
 * (a UART whose vCPU is being torn down) only sees writes dropped.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "chardev/chardev-internal.h"
#include "system/error.h"
#include "system/keyval.h"

static GPtrArray *chardevs;     /* live, in creation order */
static GPtrArray *retired;      /* closed by chardev_cleanup_all() */

/* ---- options ---- */

const char *chr_opt_get(const struct chr_opts *o, const char *key)
{
    for (unsigned i = o->keys->len; i-- > 0;) {
        if (!strcmp(g_ptr_array_index(o->keys, i), key)) {
            return g_ptr_array_index(o->values, i);
        }
    }
    return NULL;
}

void chr_error(GError **errp, const struct chr_opts *o, int code, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, HYVM_ERROR, code, "%s: %s", o->where, msg);
}

int chr_opt_bool(const struct chr_opts *o, const char *key, bool def, bool *out,
                 GError **errp)
{
    const char *v = chr_opt_get(o, key);

    *out = def;
    if (v && !parse_bool(v, out)) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Parameter '%s' expects 'on' or 'off'", key);
        return -EINVAL;
    }
    return 0;
}

int chr_opt_uint(const struct chr_opts *o, const char *key, uint64_t def, uint64_t *out,
                 GError **errp)
{
    const char *v = chr_opt_get(o, key);

    *out = def;
    if (v && parse_uint(v, out) < 0) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Parameter '%s' expects a number", key);
        return -EINVAL;
    }
    return 0;
}

static struct chr_opts *chr_opts_new(const char *where)
{
    struct chr_opts *o = g_new0(struct chr_opts, 1);

    o->where = g_strdup(where);
    o->keys = g_ptr_array_new_with_free_func(g_free);
    o->values = g_ptr_array_new_with_free_func(g_free);
    return o;
}

static void chr_opts_add(struct chr_opts *o, const char *key, const char *value)
{
    g_ptr_array_add(o->keys, g_strdup(key));
    g_ptr_array_add(o->values, g_strdup(value));
}

static void chr_opts_free(struct chr_opts *o)
{
    if (o) {
        g_free(o->where);
        g_ptr_array_free(o->keys, TRUE);
        g_ptr_array_free(o->values, TRUE);
        g_free(o);
    }
}

/* Adds "key=value,..." (QEMU's syntax, system/keyval.c) to o. */
static int chr_opts_parse(struct chr_opts *o, const char *str, const char *implied_key,
                          GError **errp)
{
    GError *err = NULL;
    struct kv_list *kv = kv_parse(str, implied_key, &err);

    if (!kv) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "%s", err->message);
        g_error_free(err);
        return -EINVAL;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        chr_opts_add(o, kv->items[i].key, kv->items[i].value);
    }
    kv_free(kv);
    return 0;
}

/*
 * QEMU's -chardev keys.  Keys that belong to another back end are accepted
 * as QEMU accepts them (it has one option list for all back ends); keys
 * asking for something hyvm does not do yet are refused below.
 */
static const char *const chr_known_keys[] = {
    "backend", "id", "mux", "path", "host", "port", "server", "wait", "delay",
    "nodelay", "reconnect", "telnet", "tn3270", "websocket", "append", "signal",
    "fd", "local", "localaddr", "localport", "to", "ipv4", "ipv6", "tls-creds",
    "tls-authz", "logfile", "logappend", "abstract", "tight", "name", "debug",
    "size", "chardev", "width", "height", "cols", "rows", "input-path",
};
/* Refused whenever given. */
static const char *const chr_unsupported_keys[] = {
    "fd", "to", "ipv4", "ipv6", "tls-creds", "tls-authz", "logfile", "logappend",
    "localaddr", "localport", "input-path",
};
/* Refused when on (off is what hyvm does anyway). */
static const char *const chr_unsupported_bools[] = {
    "telnet", "tn3270", "websocket", "abstract",
};

static int chr_opts_check(const struct chr_opts *o, GError **errp)
{
    for (unsigned i = 0; i < o->keys->len; i++) {
        const char *key = g_ptr_array_index(o->keys, i);
        bool known = false;

        for (unsigned k = 0; k < G_N_ELEMENTS(chr_known_keys) && !known; k++) {
            known = !strcmp(key, chr_known_keys[k]);
        }
        if (!known) {
            chr_error(errp, o, HYVM_ERROR_FAILED, "Invalid parameter '%s'", key);
            return -EINVAL;
        }
    }
    for (unsigned k = 0; k < G_N_ELEMENTS(chr_unsupported_keys); k++) {
        if (chr_opt_get(o, chr_unsupported_keys[k])) {
            chr_error(errp, o, HYVM_ERROR_UNSUPPORTED, "'%s' is not supported yet",
                      chr_unsupported_keys[k]);
            return -ENOTSUP;
        }
    }
    for (unsigned k = 0; k < G_N_ELEMENTS(chr_unsupported_bools); k++) {
        bool on;

        if (chr_opt_bool(o, chr_unsupported_bools[k], false, &on, errp) < 0) {
            return -EINVAL;
        }
        if (on) {
            chr_error(errp, o, HYVM_ERROR_UNSUPPORTED, "'%s' is not supported yet",
                      chr_unsupported_bools[k]);
            return -ENOTSUP;
        }
    }
    return 0;
}

/* QEMU's identifiers: a letter, then letters, digits, '-', '.', '_'. */
static bool chr_id_valid(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

/* ---- the registry ---- */

struct chardev *chardev_find(const char *id)
{
    for (unsigned i = 0; chardevs && i < chardevs->len; i++) {
        struct chardev *chr = g_ptr_array_index(chardevs, i);

        if (!strcmp(chr->id, id)) {
            return chr;
        }
    }
    return NULL;
}

const char *chardev_label(const struct chardev *chr)
{
    return chr->id;
}

bool chardev_is_mux(const struct chardev *chr)
{
    return chr && chr->ops == &chr_mux_ops;
}

void chardev_foreach(void (*cb)(struct chardev *chr, void *opaque), void *opaque)
{
    for (unsigned i = 0; chardevs && i < chardevs->len; i++) {
        cb(g_ptr_array_index(chardevs, i), opaque);
    }
}

char *chardev_filename(struct chardev *chr)
{
    if (chr->ops->filename) {
        return chr->ops->filename(chr);
    }
    return g_strdup(chr->ops->name);
}

bool chardev_frontend_open(struct chardev *chr)
{
    if (chr->ops->has_fe) {
        return chr->ops->has_fe(chr);
    }
    return chr->fe != NULL;
}

void chr_register(struct chardev *chr)
{
    if (!chardevs) {
        chardevs = g_ptr_array_new();
    }
    g_ptr_array_add(chardevs, chr);
}

static const struct {
    const char *name;
    const struct chardev_ops *ops;
} chr_backends[] = {
    { "null", &chr_null_ops },
    { "file", &chr_file_ops },
    { "pipe", &chr_pipe_ops },
    { "stdio", &chr_stdio_ops },
    { "socket", &chr_socket_ops },
    { "pty", &chr_pty_ops },
    /* A text console needs a display; without one it shows nothing. */
    { "vc", &chr_null_ops },
};

/* QEMU back ends a later issue brings. */
static const char *const chr_backends_later[] = {
    "serial", "tty", "parallel", "parport", "udp", "ringbuf", "memory", "msmouse",
    "wctablet", "braille", "testdev", "spicevmc", "spiceport", "qemu-vdagent",
    "dbus", "mux",
};

static struct chardev *chr_open(const struct chardev_ops *ops, const char *id,
                                const struct chr_opts *o, GError **errp)
{
    struct chardev *chr = g_malloc0(ops->size);

    chr->id = g_strdup(id);
    chr->ops = ops;
    if (ops->open(chr, o, errp) < 0) {
        g_free(chr->id);
        g_free(chr);
        return NULL;
    }
    chr_register(chr);
    return chr;
}

/* Creates the chardev id from parsed options (backend=, mux=, ...). */
static struct chardev *chr_create(const struct chr_opts *o, const char *id, GError **errp)
{
    const char *backend = chr_opt_get(o, "backend");
    const struct chardev_ops *ops = NULL;
    struct chardev *base;
    bool mux;

    if (!id) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "chardev: no id specified");
        return NULL;
    }
    if (!chr_id_valid(id)) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (!backend) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "chardev: \"%s\" missing backend", id);
        return NULL;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(chr_backends) && !ops; i++) {
        if (!strcmp(backend, chr_backends[i].name)) {
            ops = chr_backends[i].ops;
        }
    }
    if (!ops) {
        for (unsigned i = 0; i < G_N_ELEMENTS(chr_backends_later); i++) {
            if (!strcmp(backend, chr_backends_later[i])) {
                chr_error(errp, o, HYVM_ERROR_UNSUPPORTED,
                          "char driver '%s' is not supported yet", backend);
                return NULL;
            }
        }
        chr_error(errp, o, HYVM_ERROR_FAILED, "'%s' is not a valid char driver name",
                  backend);
        return NULL;
    }
    if (chr_opts_check(o, errp) < 0 || chr_opt_bool(o, "mux", false, &mux, errp) < 0) {
        return NULL;
    }
    if (chardev_find(id)) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Duplicate ID '%s' for chardev", id);
        return NULL;
    }
    if (!mux) {
        return chr_open(ops, id, o, errp);
    }
    /* mux=on: the back end is "ID-base", the mux in front of it is "ID". */
    {
        g_autofree char *base_id = g_strdup_printf("%s-base", id);
        GError *err = NULL;
        struct chardev *m;

        if (chardev_find(base_id)) {
            chr_error(errp, o, HYVM_ERROR_FAILED, "Duplicate ID '%s' for chardev", base_id);
            return NULL;
        }
        base = chr_open(ops, base_id, o, errp);
        if (!base) {
            return NULL;
        }
        m = chr_mux_create(id, base, &err);
        if (!m) {
            chr_error(errp, o, HYVM_ERROR_FAILED, "%s", err->message);
            g_error_free(err);
        }
        return m;
    }
}

struct chardev *chardev_new_from_opts(const char *optarg, GError **errp)
{
    g_autofree char *where = g_strdup_printf("-chardev %s", optarg);
    struct chr_opts *o = chr_opts_new(where);
    struct chardev *chr = NULL;

    if (chr_opts_parse(o, optarg, "backend", errp) == 0) {
        chr = chr_create(o, chr_opt_get(o, "id"), errp);
    }
    chr_opts_free(o);
    return chr;
}

/* Which option a label came from, for messages: "serial0" is -serial. */
static const char *chr_cli_option(const char *label)
{
    if (g_str_has_prefix(label, "serial")) {
        return "-serial";
    }
    if (g_str_has_prefix(label, "compat_monitor")) {
        return "-monitor";
    }
    if (g_str_has_prefix(label, "qmp")) {
        return "-qmp";
    }
    if (g_str_has_prefix(label, "parallel")) {
        return "-parallel";
    }
    return "-chardev";
}

/*
 * The short spellings QEMU's -serial/-monitor take (qemu_chr_parse_compat):
 * fills o, or fails with QEMU's "'SPEC' is not a valid char driver".
 */
static int chr_parse_cli(struct chr_opts *o, const char *spec, GError **errp)
{
    static const char *const plain[] = { "null", "stdio", "pty", "vc" };
    const char *p;

    for (unsigned i = 0; i < G_N_ELEMENTS(plain); i++) {
        if (!strcmp(spec, plain[i])) {
            chr_opts_add(o, "backend", spec);
            return 0;
        }
    }
    if (g_str_has_prefix(spec, "vc:")) {
        /* "vc:80Cx24C": a console size, for a console nobody sees. */
        chr_opts_add(o, "backend", "vc");
        return 0;
    }
    if ((p = g_str_has_prefix(spec, "file:") ? spec + 5 : NULL)) {
        chr_opts_add(o, "backend", "file");
        chr_opts_add(o, "path", p);
        return 0;
    }
    if ((p = g_str_has_prefix(spec, "pipe:") ? spec + 5 : NULL)) {
        chr_opts_add(o, "backend", "pipe");
        chr_opts_add(o, "path", p);
        return 0;
    }
    if ((p = g_str_has_prefix(spec, "unix:") ? spec + 5 : NULL)) {
        chr_opts_add(o, "backend", "socket");
        return chr_opts_parse(o, p, "path", errp);
    }
    if ((p = g_str_has_prefix(spec, "tcp:") ? spec + 4 : NULL)) {
        /* tcp:[HOST]:PORT[,opt...]: the host ends at the first ':'. */
        const char *colon = strchr(p, ':');
        const char *comma;
        g_autofree char *host = NULL;
        g_autofree char *port = NULL;

        if (!colon) {
            goto invalid;
        }
        comma = strchr(colon, ',');
        host = g_strndup(p, colon - p);
        port = comma ? g_strndup(colon + 1, comma - colon - 1) : g_strdup(colon + 1);
        if (!*port) {
            goto invalid;
        }
        chr_opts_add(o, "backend", "socket");
        chr_opts_add(o, "host", host);
        chr_opts_add(o, "port", port);
        return comma ? chr_opts_parse(o, comma + 1, NULL, errp) : 0;
    }
    if (g_str_has_prefix(spec, "telnet:") || g_str_has_prefix(spec, "tn3270:") ||
        g_str_has_prefix(spec, "websocket:") || g_str_has_prefix(spec, "udp:") ||
        g_str_has_prefix(spec, "/dev/") || g_str_has_prefix(spec, "COM") ||
        g_str_has_prefix(spec, "con:") || !strcmp(spec, "msmouse") ||
        !strcmp(spec, "braille") || !strcmp(spec, "testdev")) {
        chr_error(errp, o, HYVM_ERROR_UNSUPPORTED,
                  "character backend '%s' is not supported yet", spec);
        return -ENOTSUP;
    }
invalid:
    chr_error(errp, o, HYVM_ERROR_FAILED, "'%s' is not a valid char driver", spec);
    return -EINVAL;
}

struct chardev *chardev_new_from_cli(const char *spec, const char *label, GError **errp)
{
    g_autofree char *where = g_strdup_printf("%s %s", chr_cli_option(label), spec);
    struct chr_opts *o;
    struct chardev *chr = NULL;
    const char *p;

    if (!strcmp(spec, "none")) {
        return NULL;
    }
    o = chr_opts_new(where);
    if ((p = g_str_has_prefix(spec, "chardev:") ? spec + 8 : NULL)) {
        chr = chardev_find(p);
        if (!chr) {
            chr_error(errp, o, HYVM_ERROR_FAILED,
                      "could not connect serial device to character backend '%s'", spec);
        }
    } else {
        /* "mon:SPEC": the same back end with a mux the monitor joins. */
        bool mux = g_str_has_prefix(spec, "mon:");

        if (chr_parse_cli(o, mux ? spec + 4 : spec, errp) == 0) {
            if (mux) {
                chr_opts_add(o, "mux", "on");
            }
            chr = chr_create(o, label, errp);
        }
    }
    chr_opts_free(o);
    return chr;
}

void chardev_cleanup_all(void)
{
    /* Newest first: a mux closes before the back end under it. */
    while (chardevs && chardevs->len) {
        struct chardev *chr = g_ptr_array_steal_index(chardevs, chardevs->len - 1);

        if (!chr->closed) {
            chr->closed = true;
            chr->ops->close(chr);
            chr->be_open = false;
        }
        if (!retired) {
            retired = g_ptr_array_new();
        }
        g_ptr_array_add(retired, chr);
    }
    chardev_restore_terminal();
}

/* ---- front ends ---- */

int chr_fe_init(struct char_fe *fe, struct chardev *chr, GError **errp)
{
    fe->chr = NULL;
    fe->can_receive = NULL;
    fe->receive = NULL;
    fe->event = NULL;
    fe->opaque = NULL;
    fe->mux_index = -1;
    if (!chr) {
        return 0;
    }
    if (chr->ops->fe_attach) {
        int ret = chr->ops->fe_attach(chr, fe, errp);

        if (ret < 0) {
            return ret;
        }
    } else if (chr->fe) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Device '%s' is in use", chr->id);
        return -EBUSY;
    } else {
        chr->fe = fe;
    }
    fe->chr = chr;
    return 0;
}

void chr_fe_set_handlers(struct char_fe *fe, int (*can_receive)(void *opaque),
                         void (*receive)(void *opaque, const uint8_t *buf, int len),
                         void (*event)(void *opaque, enum chr_event event), void *opaque)
{
    struct chardev *chr = fe->chr;

    fe->can_receive = can_receive;
    fe->receive = receive;
    fe->event = event;
    fe->opaque = opaque;
    if (!chr || chr->closed) {
        return;
    }
    if (chr->ops->fe_handlers_set) {
        chr->ops->fe_handlers_set(chr, fe);
        return;
    }
    /* A back end that is already connected tells the newcomer so. */
    if (chr->be_open && event) {
        event(opaque, CHR_EVENT_OPENED);
    }
    if (chr->ops->accept_input) {
        chr->ops->accept_input(chr, fe);
    }
}

int chr_fe_write_all(struct char_fe *fe, const uint8_t *buf, int len)
{
    struct chardev *chr = fe->chr;

    if (!chr || chr->closed || len <= 0) {
        return len;
    }
    return chr->ops->write(chr, buf, len);
}

void chr_fe_accept_input(struct char_fe *fe)
{
    struct chardev *chr = fe->chr;

    if (chr && !chr->closed && chr->ops->accept_input) {
        chr->ops->accept_input(chr, fe);
    }
}

void chr_fe_deinit(struct char_fe *fe)
{
    struct chardev *chr = fe->chr;

    if (chr) {
        if (chr->ops->fe_detach) {
            chr->ops->fe_detach(chr, fe);
        } else if (chr->fe == fe) {
            chr->fe = NULL;
        }
    }
    fe->chr = NULL;
    fe->can_receive = NULL;
    fe->receive = NULL;
    fe->event = NULL;
    fe->mux_index = -1;
}

/* ---- back end to front end ---- */

int chr_be_can_receive(struct chardev *chr)
{
    struct char_fe *fe = chr->fe;

    if (!fe || !fe->receive || !fe->can_receive) {
        return 0;
    }
    return fe->can_receive(fe->opaque);
}

void chr_be_receive(struct chardev *chr, const uint8_t *buf, int len)
{
    struct char_fe *fe = chr->fe;

    if (fe && fe->receive && len > 0) {
        fe->receive(fe->opaque, buf, len);
    }
}

void chr_be_event(struct chardev *chr, enum chr_event event)
{
    struct char_fe *fe = chr->fe;

    if (event == CHR_EVENT_OPENED) {
        chr->be_open = true;
    } else if (event == CHR_EVENT_CLOSED) {
        chr->be_open = false;
    }
    if (fe && fe->event) {
        fe->event(fe->opaque, event);
    }
}

/* ---- the fd reader ---- */

static gboolean chr_reader_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct chr_reader *r = opaque;
    uint8_t buf[4096];
    int room = chr_be_can_receive(r->chr);
    ssize_t n;

    if (room <= 0) {
        /* The front end is full: sleep until chr_reader_kick(). */
        r->watch = 0;
        return G_SOURCE_REMOVE;
    }
    n = read(fd, buf, MIN((size_t)room, sizeof(buf)));
    if (n > 0) {
        chr_be_receive(r->chr, buf, n);
        return G_SOURCE_CONTINUE;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    r->watch = 0;
    r->active = false;
    r->on_eof(r->chr, n < 0 ? errno : 0);
    return G_SOURCE_REMOVE;
}

void chr_reader_start(struct chr_reader *r, struct chardev *chr, int fd,
                      void (*on_eof)(struct chardev *chr, int err))
{
    chr_reader_stop(r);
    r->chr = chr;
    r->fd = fd;
    r->on_eof = on_eof;
    r->active = true;
    r->watch = g_unix_fd_add(fd, G_IO_IN, chr_reader_ready, r);
}

void chr_reader_stop(struct chr_reader *r)
{
    if (r->watch) {
        g_source_remove(r->watch);
        r->watch = 0;
    }
    r->active = false;
}

void chr_reader_kick(struct chr_reader *r)
{
    /* g_unix_fd_add() attaches to the main context from any thread. */
    if (r->active && !r->watch) {
        r->watch = g_unix_fd_add(r->fd, G_IO_IN, chr_reader_ready, r);
    }
}

int chr_fd_write_all(int fd, const uint8_t *buf, int len, bool is_socket)
{
    int done = 0;

    while (done < len) {
        ssize_t n = is_socket ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                              : write(fd, buf + done, len - done);

        if (n > 0) {
            done += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };

            if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                return -errno;
            }
            if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
                return -EPIPE;
            }
        } else {
            return n < 0 ? -errno : -EIO;
        }
    }
    return len;
}

const char *chardev_backend_name(const struct chardev *chr)
{
    return chr->ops->name;
}
