/*
 * The socket back end: a unix socket (path=) or TCP (host=, port=), as the
 * listening side (server=on) or the connecting side.
 *
 * A server takes one client at a time: while one is connected the listening
 * socket is not watched, so the next client waits in the backlog until the
 * first goes away, as with QEMU.  wait=on (the default for a server) holds
 * start-up until the first client arrives.  A client with reconnect=N tries
 * again every N seconds while it has no connection.  Bytes written while
 * nobody is connected are dropped.
 *
 * Threads: accept, read and reconnect run on the main thread; writes come
 * from any thread; all with the big lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "chardev/chardev-internal.h"
#include "system/error.h"
#include "system/runstate.h"

struct chr_socket {
    struct chardev chr;
    bool is_unix;
    bool server;
    bool nodelay;
    unsigned reconnect;     /* seconds; 0: never */
    char *path;             /* unix */
    char *host, *port;      /* tcp */
    char *desc;             /* "unix:PATH,server=on", as QEMU describes it */
    bool unlink_on_close;

    int listen_fd;
    guint listen_watch;
    int fd;                 /* the connection, or -1 */
    struct chr_reader reader;
    guint reconnect_timer;
};

static struct chr_socket *to_socket(struct chardev *chr)
{
    return container_of(chr, struct chr_socket, chr);
}

static gboolean socket_accept_ready(gint fd, GIOCondition cond, gpointer opaque);
static gboolean socket_reconnect_tick(gpointer opaque);

static void socket_listen_watch(struct chr_socket *s)
{
    if (s->listen_fd >= 0 && !s->listen_watch) {
        s->listen_watch = g_unix_fd_add(s->listen_fd, G_IO_IN, socket_accept_ready, s);
    }
}

static void socket_disconnect(struct chr_socket *s)
{
    if (s->fd < 0) {
        return;
    }
    chr_reader_stop(&s->reader);
    close(s->fd);
    s->fd = -1;
    chr_be_event(&s->chr, CHR_EVENT_CLOSED);
    if (s->server) {
        socket_listen_watch(s);
    } else if (s->reconnect && !s->reconnect_timer) {
        s->reconnect_timer = g_timeout_add_seconds(s->reconnect, socket_reconnect_tick, s);
    }
}

static void socket_eof(struct chardev *chr, int err)
{
    socket_disconnect(to_socket(chr));
}

static void socket_connected(struct chr_socket *s, int fd)
{
    int one = 1;

    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    if (!s->is_unix && s->nodelay) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    s->fd = fd;
    chr_reader_start(&s->reader, &s->chr, fd, socket_eof);
    chr_be_event(&s->chr, CHR_EVENT_OPENED);
}

static gboolean socket_accept_ready(gint lfd, GIOCondition cond, gpointer opaque)
{
    struct chr_socket *s = opaque;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return G_SOURCE_CONTINUE;
    }
    /* One client at a time: the next one waits until this one leaves. */
    s->listen_watch = 0;
    socket_connected(s, fd);
    return G_SOURCE_REMOVE;
}

static int socket_unix_addr(const struct chr_socket *s, struct sockaddr_un *sa,
                            const struct chr_opts *o, GError **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(s->path) >= sizeof(sa->sun_path)) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "UNIX socket path '%s' is too long", s->path);
        return -ENAMETOOLONG;
    }
    strcpy(sa->sun_path, s->path);
    return 0;
}

static int socket_resolve(const struct chr_socket *s, bool passive, struct addrinfo **res,
                          GError **errp, const struct chr_opts *o)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
    const char *host = s->host;
    int rc;

    if (!*host) {
        /* "tcp::4444": every IPv4 address, as QEMU listens then. */
        host = passive ? "0.0.0.0" : "localhost";
    }
    if (passive) {
        hints.ai_flags = AI_PASSIVE;
    }
    rc = getaddrinfo(host, s->port, &hints, res);
    if (rc) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s%saddress resolution failed for %s:%s: %s", o ? o->where : "",
                    o ? ": " : "", s->host, s->port, gai_strerror(rc));
        return -EINVAL;
    }
    return 0;
}

/* Connects once; on failure sets errp (without the option prefix). */
static int socket_try_connect(struct chr_socket *s, GError **errp)
{
    int fd = -1, err = 0;

    if (s->is_unix) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        g_strlcpy(sa.sun_path, s->path, sizeof(sa.sun_path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            err = errno;
        }
    } else {
        struct addrinfo *res, *ai;

        if (socket_resolve(s, false, &res, errp, NULL) < 0) {
            return -EINVAL;
        }
        err = ECONNREFUSED;
        for (ai = res; ai; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                err = 0;
                break;
            }
            err = errno;
            if (fd >= 0) {
                close(fd);
                fd = -1;
            }
        }
        freeaddrinfo(res);
    }
    if (err) {
        if (fd >= 0) {
            close(fd);
        }
        if (s->is_unix) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Failed to connect to '%s': %s", s->path, g_strerror(err));
        } else {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Failed to connect to '%s:%s': %s", s->host, s->port, g_strerror(err));
        }
        return -err;
    }
    socket_connected(s, fd);
    return 0;
}

static gboolean socket_reconnect_tick(gpointer opaque)
{
    struct chr_socket *s = opaque;

    if (s->fd >= 0 || socket_try_connect(s, NULL) == 0) {
        s->reconnect_timer = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static int socket_listen_unix(struct chr_socket *s, const struct chr_opts *o, GError **errp)
{
    struct sockaddr_un sa;
    struct stat st;

    if (socket_unix_addr(s, &sa, o, errp) < 0) {
        return -ENAMETOOLONG;
    }
    /* A socket left by an earlier run is replaced; any other file is not. */
    if (lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(s->path);
    }
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Failed to bind socket to %s: %s", s->path,
                  g_strerror(errno));
        return -errno;
    }
    s->unlink_on_close = true;
    if (listen(s->listen_fd, 1) < 0) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Failed to listen on socket: %s",
                  g_strerror(errno));
        return -errno;
    }
    s->desc = g_strdup_printf("unix:%s,server=on", s->path);
    return 0;
}

/* Binds and listens on the first address of family IPv4 (or not); -1 if none. */
static int socket_bind_first(const struct addrinfo *res, bool ipv4, int *err)
{
    int one = 1;

    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd;

        if ((ai->ai_family == AF_INET) != ipv4) {
            continue;
        }
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) {
            *err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0) {
            return fd;
        }
        *err = errno;
        close(fd);
    }
    return -1;
}

static int socket_listen_tcp(struct chr_socket *s, const struct chr_opts *o, GError **errp)
{
    struct addrinfo *res;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char addr[INET6_ADDRSTRLEN] = "";
    int err = EADDRNOTAVAIL;

    if (socket_resolve(s, true, &res, errp, o) < 0) {
        return -EINVAL;
    }
    /* IPv4 addresses first: "localhost" listens on 127.0.0.1, as in QEMU. */
    s->listen_fd = socket_bind_first(res, true, &err);
    if (s->listen_fd < 0) {
        s->listen_fd = socket_bind_first(res, false, &err);
    }
    freeaddrinfo(res);
    if (s->listen_fd < 0) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Failed to find an available port: %s",
                  g_strerror(err));
        return -err;
    }
    /* The address and port really bound (port=0 picks a free one). */
    getsockname(s->listen_fd, (struct sockaddr *)&ss, &sslen);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
        s->desc = g_strdup_printf("tcp:%s:%u,server=on", addr, ntohs(sin6->sin6_port));
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
        s->desc = g_strdup_printf("tcp:%s:%u,server=on", addr, ntohs(sin->sin_port));
    }
    return 0;
}

static void socket_release(struct chr_socket *s)
{
    chr_reader_stop(&s->reader);
    if (s->listen_watch) {
        g_source_remove(s->listen_watch);
        s->listen_watch = 0;
    }
    if (s->reconnect_timer) {
        g_source_remove(s->reconnect_timer);
        s->reconnect_timer = 0;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->unlink_on_close) {
        unlink(s->path);
        s->unlink_on_close = false;
    }
    g_clear_pointer(&s->path, g_free);
    g_clear_pointer(&s->host, g_free);
    g_clear_pointer(&s->port, g_free);
    g_clear_pointer(&s->desc, g_free);
}

static int socket_parse(struct chr_socket *s, const struct chr_opts *o, GError **errp)
{
    const char *path = chr_opt_get(o, "path");
    const char *host = chr_opt_get(o, "host");
    const char *port = chr_opt_get(o, "port");
    bool wait, delay, nodelay;
    uint64_t reconnect;

    if (chr_opt_bool(o, "server", false, &s->server, errp) < 0 ||
        chr_opt_bool(o, "wait", true, &wait, errp) < 0 ||
        chr_opt_bool(o, "delay", true, &delay, errp) < 0 ||
        chr_opt_bool(o, "nodelay", false, &nodelay, errp) < 0 ||
        chr_opt_uint(o, "reconnect", 0, &reconnect, errp) < 0) {
        return -EINVAL;
    }
    if (path && host) {
        chr_error(errp, o, HYVM_ERROR_FAILED,
                  "None or one of 'path', 'fd' or 'host' option required.");
        return -EINVAL;
    }
    if (!path && !host) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "chardev: socket: no host given");
        return -EINVAL;
    }
    if (host && !port) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "chardev: socket: no port given");
        return -EINVAL;
    }
    if (!s->server && chr_opt_get(o, "wait")) {
        chr_error(errp, o, HYVM_ERROR_FAILED,
                  "'wait' option is incompatible with socket in client connect mode");
        return -EINVAL;
    }
    if (s->server && reconnect) {
        chr_error(errp, o, HYVM_ERROR_FAILED,
                  "'reconnect' option is incompatible with socket in server listen mode");
        return -EINVAL;
    }
    if (reconnect > G_MAXUINT) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Parameter 'reconnect' expects a number");
        return -EINVAL;
    }
    s->is_unix = path != NULL;
    s->path = g_strdup(path);
    s->host = g_strdup(host);
    s->port = g_strdup(port);
    s->nodelay = nodelay || !delay;
    s->reconnect = reconnect;
    return wait ? 1 : 0;
}

static int socket_open(struct chardev *chr, const struct chr_opts *o, GError **errp)
{
    struct chr_socket *s = to_socket(chr);
    GError *err = NULL;
    int wait, ret;

    s->fd = s->listen_fd = -1;
    wait = socket_parse(s, o, errp);
    if (wait < 0) {
        socket_release(s);
        return wait;
    }
    if (!s->server) {
        ret = socket_try_connect(s, &err);
        if (ret == 0) {
            return 0;
        }
        if (s->reconnect) {
            /* Not fatal with reconnect: keep trying in the background. */
            error_report("Unable to connect character device %s: %s", chr->id, err->message);
            g_error_free(err);
            s->reconnect_timer = g_timeout_add_seconds(s->reconnect,
                                                       socket_reconnect_tick, s);
            return 0;
        }
        chr_error(errp, o, HYVM_ERROR_FAILED, "%s", err->message);
        g_error_free(err);
        socket_release(s);
        return ret;
    }
    ret = s->is_unix ? socket_listen_unix(s, o, errp) : socket_listen_tcp(s, o, errp);
    if (ret < 0) {
        socket_release(s);
        return ret;
    }
    socket_listen_watch(s);
    if (wait) {
        fprintf(stderr, "%s: %s: info: hyvm waiting for connection on: disconnected:%s\n",
                error_get_progname(), o->where, s->desc);
        fflush(stderr);
        /* The main loop's sources run meanwhile, so SIGINT/SIGTERM still end us. */
        while (s->fd < 0 && !vm_exit_requested()) {
            g_main_context_iteration(NULL, TRUE);
        }
    }
    return 0;
}

static int socket_write(struct chardev *chr, const uint8_t *buf, int len)
{
    struct chr_socket *s = to_socket(chr);

    /*
     * Nobody connected, or the peer went away: the bytes are lost, and the
     * reader notices the hang-up on the main thread.
     */
    if (s->fd >= 0) {
        chr_fd_write_all(s->fd, buf, len, true);
    }
    return len;
}

static void socket_accept_input(struct chardev *chr, struct char_fe *fe)
{
    struct chr_socket *s = to_socket(chr);

    if (s->fd >= 0) {
        chr_reader_kick(&s->reader);
    }
}

static void socket_close(struct chardev *chr)
{
    socket_release(to_socket(chr));
}

/* QEMU prefixes the address with "disconnected:" while no peer is there. */
static char *socket_filename(struct chardev *chr)
{
    struct chr_socket *s = to_socket(chr);
    g_autofree char *client = NULL;
    const char *desc = s->desc;

    if (!desc) {
        /* The connecting side: its peer's address. */
        client = s->is_unix ? g_strdup_printf("unix:%s", s->path)
                            : g_strdup_printf("tcp:%s:%s", s->host, s->port);
        desc = client;
    }
    return s->fd >= 0 ? g_strdup(desc) : g_strdup_printf("disconnected:%s", desc);
}

const struct chardev_ops chr_socket_ops = {
    .name = "socket",
    .size = sizeof(struct chr_socket),
    .open = socket_open,
    .write = socket_write,
    .accept_input = socket_accept_input,
    .close = socket_close,
    .filename = socket_filename,
};
