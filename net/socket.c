/*
 * -netdev socket, as QEMU 7.2's: Ethernet frames between the guest's NIC
 * and another program (a test's peer, another VM) over
 *   listen=[HOST]:PORT   TCP; one connection at a time, the link down
 *                        until a client connects and after it leaves;
 *   connect=HOST:PORT    TCP to a listening peer (no reconnection);
 *   udp=HOST:PORT,localaddr=HOST:PORT   one datagram per frame;
 *   mcast=MADDR:PORT[,localaddr=ADDR]   multicast, one datagram per frame;
 *   fd=N                 an inherited stream or datagram socket.
 * On TCP every frame is preceded by its length, a 32-bit big-endian word.
 * Frames carry no virtio-net header.  IPv4 only, as QEMU's.
 *
 * Flow control: a frame the NIC cannot take (no RX buffers) stops reading
 * until it goes through; a frame the socket cannot take (EAGAIN) is queued
 * by net.c until the socket is writable again.
 *
 * Threads: the main thread's glib loop (fd callbacks) and vCPU threads (the
 * NIC sends), both with the big lock held.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "net/net.h"
#include "system/iov.h"
#include "system/error.h"
#include "system/keyval.h"

/* The largest frame on a socket: the seam's (QEMU's NET_BUFSIZE). */
#define NET_SOCKET_BUFSIZE NET_FRAME_MAX
/* Above this many iovecs a frame is copied into one buffer to be sent. */
#define NET_SOCKET_MAX_IOV 64

struct net_socket {
    struct net_client nc;
    int fd;                      /* connected or datagram socket, or -1 */
    int listen_fd;               /* listen=: the listening socket, or -1 */
    bool stream;                 /* TCP framing (length words) */
    bool connecting;             /* connect= still in progress */
    bool has_dst;                /* udp=/mcast=: where frames go */
    struct sockaddr_in dst;
    guint read_watch, write_watch, listen_watch;

    /* Stream input: the length word, then the frame being assembled. */
    uint8_t len_buf[4];
    unsigned len_have;
    uint32_t frame_len;
    uint32_t frame_have;
    uint8_t *frame;              /* NET_SOCKET_BUFSIZE */
    uint8_t *chunk;              /* NET_SOCKET_BUFSIZE: what one read() got */

    /* Stream output: the tail of a frame the socket took only in part. */
    GByteArray *out;
};

static void net_socket_read_poll(struct net_socket *s, bool on);
static void net_socket_write_poll(struct net_socket *s, bool on);

/* ---- addresses ---- */

static int net_socket_parse_port(const char *p, uint16_t *port, GError **errp)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(p, &end, 0);
    if (end == p || *end || errno || v < 0 || v > 65535) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "port number '%s' is invalid", p);
        return -EINVAL;
    }
    *port = v;
    return 0;
}

static int net_socket_resolve(const char *host, struct in_addr *out, GError **errp)
{
    struct addrinfo hints = { .ai_family = AF_INET }, *res;

    if (!*host) {
        out->s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if (g_ascii_isdigit(*host)) {
        if (!inet_aton(host, out)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "host address '%s' is not a valid IPv4 address", host);
            return -EINVAL;
        }
        return 0;
    }
    if (getaddrinfo(host, NULL, &hints, &res) || !res) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "can't resolve host address '%s'",
                    host);
        return -EINVAL;
    }
    *out = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

/* "HOST:PORT" with an empty HOST meaning any address, as QEMU's parse. */
static int net_socket_parse_addr(const char *str, struct sockaddr_in *sa, GError **errp)
{
    const char *colon = strchr(str, ':');
    g_autofree char *host = NULL;
    uint16_t port;

    memset(sa, 0, sizeof(*sa));
    if (!colon || !colon[1]) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "host address '%s' doesn't contain ':' separating host from port", str);
        return -EINVAL;
    }
    host = g_strndup(str, colon - str);
    sa->sin_family = AF_INET;
    if (net_socket_resolve(host, &sa->sin_addr, errp) < 0 ||
        net_socket_parse_port(colon + 1, &port, errp) < 0) {
        return -EINVAL;
    }
    sa->sin_port = htons(port);
    return 0;
}

static void net_socket_errno(GError **errp, int err, const char *what)
{
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s: %s", what, g_strerror(err));
}

static void net_socket_bind_error(GError **errp, int err, const struct sockaddr_in *sa)
{
    g_autofree char *what = g_strdup_printf("can't bind ip=%s to socket",
                                            inet_ntoa(sa->sin_addr));

    net_socket_errno(errp, err, what);
}

/* ---- connection state ---- */

static void net_socket_rx_reset(struct net_socket *s)
{
    s->len_have = 0;
    s->frame_len = 0;
    s->frame_have = 0;
}

static gboolean net_socket_accept_cb(gint fd, GIOCondition cond, gpointer opaque);

/* The stream ended (EOF, an error, a bad length): the link goes down,
 * frames the NIC queued for us are dropped, listen= waits for the next
 * client. */
static void net_socket_disconnect(struct net_socket *s)
{
    net_socket_read_poll(s, false);
    net_socket_write_poll(s, false);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->connecting = false;
    net_socket_rx_reset(s);
    g_byte_array_set_size(s->out, 0);
    s->nc.link_down = true;
    net_client_set_info(&s->nc, "%s", "");
    if (s->listen_fd >= 0 && !s->listen_watch) {
        s->listen_watch = g_unix_fd_add(s->listen_fd, G_IO_IN, net_socket_accept_cb, s);
    }
    net_queue_flush(&s->nc);
}

/* A frame we sent went through after all: read again. */
static void net_socket_sent(struct net_client *nc, ssize_t ret)
{
    struct net_socket *s = container_of(nc, struct net_socket, nc);

    if (s->fd >= 0 && !s->connecting) {
        net_socket_read_poll(s, true);
    }
}

static void net_socket_deliver(struct net_socket *s, uint8_t *buf, size_t len)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    if (net_send(&s->nc, &iov, 1, net_socket_sent) == 0) {
        net_socket_read_poll(s, false);
    }
}

/* Splits a stream into frames: 4-byte big-endian length, then the frame.
 * False when the peer announced a frame larger than any NIC takes. */
static bool net_socket_stream_input(struct net_socket *s, const uint8_t *p, size_t n)
{
    while (n) {
        if (s->len_have < sizeof(s->len_buf)) {
            s->len_buf[s->len_have++] = *p++;
            n--;
            if (s->len_have == sizeof(s->len_buf)) {
                s->frame_len = (uint32_t)s->len_buf[0] << 24 | s->len_buf[1] << 16 |
                               s->len_buf[2] << 8 | s->len_buf[3];
                s->frame_have = 0;
                if (s->frame_len > NET_SOCKET_BUFSIZE) {
                    return false;
                }
            }
        } else {
            size_t take = MIN(n, (size_t)(s->frame_len - s->frame_have));

            memcpy(s->frame + s->frame_have, p, take);
            s->frame_have += take;
            p += take;
            n -= take;
        }
        if (s->len_have == sizeof(s->len_buf) && s->frame_have == s->frame_len) {
            if (s->frame_len) {
                net_socket_deliver(s, s->frame, s->frame_len);
            }
            net_socket_rx_reset(s);
        }
    }
    return true;
}

static gboolean net_socket_read_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_socket *s = opaque;
    ssize_t n;

    if (s->stream) {
        n = recv(fd, s->chunk, NET_SOCKET_BUFSIZE, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return G_SOURCE_CONTINUE;
        }
        if (n <= 0 || !net_socket_stream_input(s, s->chunk, n)) {
            s->read_watch = 0;
            net_socket_disconnect(s);
            return G_SOURCE_REMOVE;
        }
        return G_SOURCE_CONTINUE;
    }
    n = recv(fd, s->frame, NET_SOCKET_BUFSIZE, 0);
    if (n > 0) {
        net_socket_deliver(s, s->frame, n);
    }
    /* A read watch may have been dropped by the delivery (flow control). */
    return s->read_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Stream output left over from a partial write; true when all is out. */
static bool net_socket_flush_out(struct net_socket *s)
{
    while (s->out->len) {
        ssize_t n = send(s->fd, s->out->data, s->out->len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                g_byte_array_set_size(s->out, 0);   /* the reader will see the end */
            }
            return !s->out->len;
        }
        g_byte_array_remove_range(s->out, 0, n);
    }
    return true;
}

static bool net_socket_connect_done(struct net_socket *s)
{
    int err = 0;
    socklen_t len = sizeof(err);

    s->connecting = false;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        return false;
    }
    net_socket_read_poll(s, true);
    return true;
}

static gboolean net_socket_write_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_socket *s = opaque;

    if (s->connecting && !net_socket_connect_done(s)) {
        s->write_watch = 0;
        net_socket_disconnect(s);
        return G_SOURCE_REMOVE;
    }
    if (s->stream && !net_socket_flush_out(s)) {
        return G_SOURCE_CONTINUE;
    }
    s->write_watch = 0;
    /* Room again: what the NIC queued goes now. */
    net_queue_flush(&s->nc);
    return G_SOURCE_REMOVE;
}

/* Starts (on) or stops the main-loop source *watch that waits for cond on the socket. */
static void net_socket_poll(struct net_socket *s, guint *watch, GIOCondition cond,
                            GUnixFDSourceFunc cb, bool on)
{
    if (on && !*watch && s->fd >= 0) {
        *watch = g_unix_fd_add(s->fd, cond, cb, s);
    } else if (!on && *watch) {
        g_source_remove(*watch);
        *watch = 0;
    }
}

static void net_socket_read_poll(struct net_socket *s, bool on)
{
    net_socket_poll(s, &s->read_watch, G_IO_IN, net_socket_read_cb, on);
}

static void net_socket_write_poll(struct net_socket *s, bool on)
{
    net_socket_poll(s, &s->write_watch, G_IO_OUT, net_socket_write_cb, on);
}

static gboolean net_socket_accept_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_socket *s = opaque;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int one = 1;
    int cfd = accept4(fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (cfd < 0) {
        return G_SOURCE_CONTINUE;
    }
    /* One client at a time: the next waits until this one leaves. */
    s->listen_watch = 0;
    s->fd = cfd;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->nc.link_down = false;
    net_socket_read_poll(s, true);
    net_client_set_info(&s->nc, "socket: connection from %s:%d", inet_ntoa(sa.sin_addr),
                        ntohs(sa.sin_port));
    return G_SOURCE_REMOVE;
}

/* ---- frames from the NIC ---- */

static ssize_t net_socket_send_dgram(struct net_socket *s, const struct iovec *iov,
                                     unsigned cnt, size_t size)
{
    struct msghdr msg = {
        .msg_name = s->has_dst ? &s->dst : NULL,
        .msg_namelen = s->has_dst ? sizeof(s->dst) : 0,
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = cnt,
    };
    ssize_t n;

    do {
        n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        net_socket_write_poll(s, true);
        return 0;
    }
    return n < 0 ? -errno : (ssize_t)size;
}

/* The length word and the frame in one sendmsg; what the socket does not
 * take now is kept in s->out and written when it is writable. */
static ssize_t net_socket_send_stream(struct net_socket *s, const struct iovec *iov,
                                      unsigned cnt, size_t size)
{
    struct iovec v[NET_SOCKET_MAX_IOV + 1];
    g_autofree uint8_t *flat = NULL;
    uint32_t be = htonl(size);
    unsigned n = 1;
    ssize_t done;

    if (s->out->len && !net_socket_flush_out(s)) {
        return 0;
    }
    v[0] = (struct iovec){ .iov_base = &be, .iov_len = sizeof(be) };
    if (cnt <= NET_SOCKET_MAX_IOV) {
        memcpy(&v[1], iov, cnt * sizeof(*iov));
        n += cnt;
    } else {
        flat = g_malloc(size);
        iov_to_buf(iov, cnt, 0, flat, size);
        v[n++] = (struct iovec){ .iov_base = flat, .iov_len = size };
    }
    do {
        struct msghdr msg = { .msg_iov = v, .msg_iovlen = n };

        done = sendmsg(s->fd, &msg, MSG_NOSIGNAL);     /* no SIGPIPE on a closed peer */
    } while (done < 0 && errno == EINTR);
    if (done < 0) {
        return errno == EAGAIN ? (net_socket_write_poll(s, true), 0) : -errno;
    }
    /* Keep the unwritten tail: the frame is taken, the next one waits. */
    for (unsigned i = 0; i < n; i++) {
        if ((size_t)done >= v[i].iov_len) {
            done -= v[i].iov_len;
            continue;
        }
        g_byte_array_append(s->out, (uint8_t *)v[i].iov_base + done, v[i].iov_len - done);
        done = 0;
    }
    if (s->out->len) {
        net_socket_write_poll(s, true);
    }
    return size;
}

static ssize_t net_socket_receive(struct net_client *nc, const struct iovec *iov, unsigned cnt)
{
    struct net_socket *s = container_of(nc, struct net_socket, nc);
    size_t size = iov_size(iov, cnt);

    if (s->fd < 0) {
        return size;           /* no connection: the frame is lost */
    }
    if (s->connecting || s->write_watch) {
        return 0;              /* wait for the connection or for room */
    }
    return s->stream ? net_socket_send_stream(s, iov, cnt, size)
                     : net_socket_send_dgram(s, iov, cnt, size);
}

static void net_socket_cleanup(struct net_client *nc)
{
    struct net_socket *s = container_of(nc, struct net_socket, nc);

    net_socket_read_poll(s, false);
    net_socket_write_poll(s, false);
    if (s->listen_watch) {
        g_source_remove(s->listen_watch);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    g_byte_array_free(s->out, TRUE);
    g_free(s->frame);
    g_free(s->chunk);
    g_free(s);
}

static const struct net_client_ops net_socket_ops = {
    .type = NET_CLIENT_SOCKET,
    .type_name = "socket",
    .receive = net_socket_receive,
    .cleanup = net_socket_cleanup,
};

/* ---- creation ---- */

static struct net_socket *net_socket_new(const char *id, int fd, bool stream)
{
    struct net_socket *s = g_new0(struct net_socket, 1);

    s->fd = fd;
    s->listen_fd = -1;
    s->stream = stream;
    s->frame = g_malloc(NET_SOCKET_BUFSIZE);
    s->chunk = stream ? g_malloc(NET_SOCKET_BUFSIZE) : NULL;
    s->out = g_byte_array_new();
    net_client_init(&s->nc, &net_socket_ops, "socket", id, NULL);
    return s;
}

/* A non-blocking TCP socket for host:port addr (parsed into *sa), or -errno. */
static int net_socket_stream(const char *addr, struct sockaddr_in *sa, GError **errp)
{
    int fd;

    if (net_socket_parse_addr(addr, sa, errp) < 0) {
        return -EINVAL;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        net_socket_errno(errp, errno, "can't create stream socket");
        return -errno;
    }
    return fd;
}

static int net_socket_listen(const char *id, const char *addr, GError **errp)
{
    struct sockaddr_in sa;
    struct net_socket *s;
    int fd, one = 1;

    fd = net_socket_stream(addr, &sa, errp);
    if (fd < 0) {
        return fd;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        net_socket_bind_error(errp, errno, &sa);
        close(fd);
        return -EINVAL;
    }
    if (listen(fd, 1) < 0) {
        net_socket_errno(errp, errno, "can't listen on socket");
        close(fd);
        return -EINVAL;
    }
    s = net_socket_new(id, -1, true);
    s->listen_fd = fd;
    s->nc.link_down = true;
    s->listen_watch = g_unix_fd_add(fd, G_IO_IN, net_socket_accept_cb, s);
    return 0;
}

static int net_socket_connect(const char *id, const char *addr, GError **errp)
{
    struct sockaddr_in sa;
    struct net_socket *s;
    int fd, one = 1, ret;

    fd = net_socket_stream(addr, &sa, errp);
    if (fd < 0) {
        return fd;
    }
    do {
        ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    } while (ret < 0 && errno == EINTR);
    if (ret < 0 && errno != EINPROGRESS) {
        net_socket_errno(errp, errno, "can't connect socket");
        close(fd);
        return -EINVAL;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s = net_socket_new(id, fd, true);
    net_client_set_info(&s->nc, "socket: connect to %s:%d", inet_ntoa(sa.sin_addr),
                        ntohs(sa.sin_port));
    if (ret < 0) {
        s->connecting = true;
        net_socket_write_poll(s, true);
    } else {
        net_socket_read_poll(s, true);
    }
    return 0;
}

static int net_socket_dgram_fd(const struct sockaddr_in *bind_to, GError **errp)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0) {
        net_socket_errno(errp, errno, "can't create datagram socket");
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        net_socket_errno(errp, errno, "can't set socket option SO_REUSEADDR");
        close(fd);
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0) {
        net_socket_bind_error(errp, errno, bind_to);
        close(fd);
        return -1;
    }
    return fd;
}

static void net_socket_start_dgram(const char *id, int fd, const struct sockaddr_in *dst,
                                   const char *what)
{
    struct net_socket *s = net_socket_new(id, fd, false);

    if (dst) {
        s->dst = *dst;
        s->has_dst = true;
        net_client_set_info(&s->nc, "socket: %s=%s:%d", what, inet_ntoa(dst->sin_addr),
                            ntohs(dst->sin_port));
    } else {
        net_client_set_info(&s->nc, "socket: fd=%d", fd);
    }
    net_socket_read_poll(s, true);
}

static int net_socket_udp(const char *id, const char *raddr, const char *laddr,
                          GError **errp)
{
    struct sockaddr_in l, r;
    int fd;

    if (net_socket_parse_addr(laddr, &l, errp) < 0 ||
        net_socket_parse_addr(raddr, &r, errp) < 0) {
        return -EINVAL;
    }
    fd = net_socket_dgram_fd(&l, errp);
    if (fd < 0) {
        return -EINVAL;
    }
    net_socket_start_dgram(id, fd, &r, "udp");
    return 0;
}

/* Every VM on the group hears every frame: loopback on, as QEMU's. */
static int net_socket_mcast(const char *id, const char *maddr, const char *local,
                            GError **errp)
{
    struct ip_mreq mreq = { .imr_interface.s_addr = htonl(INADDR_ANY) };
    struct sockaddr_in sa;
    int fd, loop = 1;

    if (net_socket_parse_addr(maddr, &sa, errp) < 0) {
        return -EINVAL;
    }
    if (local && !inet_aton(local, &mreq.imr_interface)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "localaddr '%s' is not a valid IPv4 address", local);
        return -EINVAL;
    }
    if (!IN_MULTICAST(ntohl(sa.sin_addr.s_addr))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "specified mcastaddr %s (0x%08x) does not contain a multicast address",
                    inet_ntoa(sa.sin_addr), ntohl(sa.sin_addr.s_addr));
        return -EINVAL;
    }
    fd = net_socket_dgram_fd(&sa, errp);
    if (fd < 0) {
        return -EINVAL;
    }
    mreq.imr_multiaddr = sa.sin_addr;
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
        g_autofree char *what = g_strdup_printf("can't add socket to multicast group %s",
                                                inet_ntoa(sa.sin_addr));

        net_socket_errno(errp, errno, what);
        close(fd);
        return -EINVAL;
    }
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0 ||
        (local && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq.imr_interface,
                             sizeof(mreq.imr_interface)) < 0)) {
        net_socket_errno(errp, errno, "can't set the default network send interface");
        close(fd);
        return -EINVAL;
    }
    net_socket_start_dgram(id, fd, &sa, "mcast");
    return 0;
}

static int net_socket_fd(const char *id, const char *str, GError **errp)
{
    uint64_t v;
    int type, fl;
    socklen_t len = sizeof(type);
    struct net_socket *s;

    if (parse_uint(str, &v) < 0 || v > INT32_MAX) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Parameter 'fd' expects a file descriptor number");
        return -EINVAL;
    }
    fl = fcntl(v, F_GETFL);
    if (fl < 0 || fcntl(v, F_SETFL, fl | O_NONBLOCK) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: Can't use file descriptor %d: %s", id, (int)v, g_strerror(errno));
        return -EINVAL;
    }
    if (getsockopt(v, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "can't get socket option SO_TYPE");
        return -EINVAL;
    }
    if (type == SOCK_DGRAM) {
        net_socket_start_dgram(id, v, NULL, NULL);
        return 0;
    }
    if (type != SOCK_STREAM) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "socket type=%d for fd=%d must be either SOCK_DGRAM or SOCK_STREAM",
                    type, (int)v);
        return -EINVAL;
    }
    s = net_socket_new(id, v, true);
    net_client_set_info(&s->nc, "socket: fd=%d", (int)v);
    net_socket_read_poll(s, true);
    return 0;
}

int net_socket_check(const struct kv_list *kv, GError **errp)
{
    static const char *const keys[] = {
        "type", "id", "fd", "listen", "connect", "mcast", "udp", "localaddr", NULL,
    };
    static const char *const modes[] = { "fd", "listen", "connect", "mcast", "udp", NULL };
    unsigned n = 0;

    for (unsigned i = 0; i < kv->n; i++) {
        if (!g_strv_contains(keys, kv->items[i].key)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid parameter '%s'",
                        kv->items[i].key);
            return -EINVAL;
        }
    }
    for (unsigned i = 0; modes[i]; i++) {
        n += kv_has(kv, modes[i]);
    }
    if (n != 1) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "exactly one of listen=, connect=, mcast= or udp= is required");
        return -EINVAL;
    }
    if (kv_has(kv, "localaddr") && !kv_has(kv, "mcast") && !kv_has(kv, "udp")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "localaddr= is only valid with mcast= or udp=");
        return -EINVAL;
    }
    if (kv_has(kv, "udp") && !kv_has(kv, "localaddr")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "localaddr= is mandatory with udp=");
        return -EINVAL;
    }
    return 0;
}

int net_socket_init(const char *id, const struct kv_list *kv, GError **errp)
{
    const char *v;

    if (net_socket_check(kv, errp) < 0) {
        return -EINVAL;
    }
    if ((v = kv_get(kv, "listen"))) {
        return net_socket_listen(id, v, errp);
    }
    if ((v = kv_get(kv, "connect"))) {
        return net_socket_connect(id, v, errp);
    }
    if ((v = kv_get(kv, "udp"))) {
        return net_socket_udp(id, v, kv_get(kv, "localaddr"), errp);
    }
    if ((v = kv_get(kv, "mcast"))) {
        return net_socket_mcast(id, v, kv_get(kv, "localaddr"), errp);
    }
    return net_socket_fd(id, kv_get(kv, "fd"), errp);
}
