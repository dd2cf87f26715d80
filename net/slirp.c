/*
 * -netdev user, as QEMU 7.2's: libslirp 4.7 gives the guest a NATed
 * network (DHCP, DNS forwarding, TFTP, ARP and ICMP for the virtual host)
 * whose TCP and UDP reach the host's sockets; hostfwd= rules forward host
 * ports to the guest and guestfwd= connects a guest address to a chardev or
 * a command.  Frames are plain Ethernet (no virtio-net header).
 *
 * Main loop: one GSource per stack asks libslirp for its sockets and
 * timeout in prepare() and hands the poll results back in dispatch(); each
 * libslirp timer is a GSource with a ready time on the monotonic clock,
 * the same clock libslirp reads.  A frame from a vCPU thread wakes the loop
 * so that a socket libslirp just opened is polled at once.
 *
 * Options are checked in full by net_user_check (net/slirp-opts.c: QEMU's
 * messages, in QEMU's order); init only binds and connects.
 *
 * Threads: big lock held: the main thread's glib loop (sockets, timers,
 * chardev input, the monitor) and vCPU threads (frames from the NIC).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slirp/libslirp.h>

#include "chardev/chardev.h"
#include "net/net.h"
#include "net/slirp-int.h"
#include "system/iov.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/log.h"

struct net_user {
    struct net_client nc;
    Slirp *slirp;
    GSource *poll_src;
    GArray *pollfds;            /* GPollFD: attached to poll_src, libslirp's indexes */
    GArray *fill;               /* GPollFD: what libslirp asks for now */
    int64_t deadline;           /* µs, monotonic: libslirp's timers want a poll; or -1 */
    GSList *guestfwds;          /* struct net_user_guestfwd * */
};

struct net_user_poll_source {
    GSource base;
    struct net_user *s;
};

struct net_user_timer {
    GSource base;
    struct net_user *s;
    SlirpTimerId id;
    void *cb_opaque;
};

/* A guestfwd= to a chardev: the guest's connection to server:port. */
struct net_user_guestfwd {
    struct char_fe fe;
    struct net_user *s;
    struct in_addr server;
    int port;
};

/* Every stack, in creation order (hostfwd_add without a netdev takes the first). */
static GList *net_user_stacks;

/* A guest address 0 means the first DHCP address (libslirp fills it in). */
static int net_user_hostfwd_setup(struct net_user *s, const char *rule, GError **errp)
{
    struct net_user_fwd f;

    if (net_user_hostfwd_parse(rule, &f, errp) < 0) {
        return -EINVAL;
    }
    if (slirp_add_hostxfwd(s->slirp, (struct sockaddr *)&f.host, sizeof(f.host),
                           (struct sockaddr *)&f.guest, sizeof(f.guest),
                           f.udp ? SLIRP_HOSTFWD_UDP : 0) < 0) {
        net_user_error(errp, "Could not set up host forwarding rule '%s'", rule);
        return -EADDRINUSE;
    }
    return 0;
}

/* ---- guest forwarding rules ---- */

static int net_user_guestfwd_can_receive(void *opaque)
{
    struct net_user_guestfwd *fwd = opaque;

    return MIN(slirp_socket_can_recv(fwd->s->slirp, fwd->server, fwd->port), INT_MAX);
}

static void net_user_guestfwd_receive(void *opaque, const uint8_t *buf, int len)
{
    struct net_user_guestfwd *fwd = opaque;

    slirp_socket_recv(fwd->s->slirp, fwd->server, fwd->port, buf, len);
}

/* What the guest sent to server:port goes to the chardev. */
static ssize_t net_user_guestfwd_write(const void *buf, size_t len, void *opaque)
{
    struct net_user_guestfwd *fwd = opaque;

    return chr_fe_write_all(&fwd->fe, buf, MIN(len, (size_t)INT_MAX));
}

static void net_user_guestfwd_free(gpointer data)
{
    struct net_user_guestfwd *fwd = data;

    chr_fe_deinit(&fwd->fe);
    g_free(fwd);
}

static int net_user_guestfwd_chardev(struct net_user *s, const char *rule,
                                     struct in_addr server, int port, const char *dev,
                                     GError **errp)
{
    g_autofree char *label = g_strdup_printf("guestfwd.tcp.%d", port);
    g_autoptr(GError) err = NULL;
    struct net_user_guestfwd *fwd;
    struct chardev *chr;

    /* "chardev:ID" names one made by -chardev; QEMU says nothing more when it is missing. */
    chr = g_str_has_prefix(dev, "chardev:") ? chardev_find(dev + 8)
                                            : chardev_new_from_cli(dev, label, &err);
    if (!chr) {
        if (err) {
            error_report("%s", err->message);
        }
        net_user_error(errp, "Could not open guest forwarding device '%s'", label);
        return -EINVAL;
    }
    fwd = g_new0(struct net_user_guestfwd, 1);
    if (chr_fe_init(&fwd->fe, chr, errp) < 0) {
        g_free(fwd);
        return -EBUSY;
    }
    if (slirp_add_guestfwd(s->slirp, net_user_guestfwd_write, fwd, &server, port) < 0) {
        net_user_error(errp, "Conflicting/invalid host:port in guest forwarding rule '%s'",
                     rule);
        net_user_guestfwd_free(fwd);
        return -EINVAL;
    }
    fwd->s = s;
    fwd->server = server;
    fwd->port = port;
    chr_fe_set_handlers(&fwd->fe, net_user_guestfwd_can_receive, net_user_guestfwd_receive,
                        NULL, fwd);
    s->guestfwds = g_slist_append(s->guestfwds, fwd);
    return 0;
}

/* "cmd:COMMAND" runs COMMAND for every connection; anything else names a chardev. */
static int net_user_guestfwd_setup(struct net_user *s, const char *rule, GError **errp)
{
    struct in_addr server;
    const char *dev;
    int port;

    if (net_user_guestfwd_parse(rule, &server, &port, &dev, errp) < 0) {
        return -EINVAL;
    }
    if (g_str_has_prefix(dev, "cmd:")) {
        if (slirp_add_exec(s->slirp, dev + 4, &server, port) < 0) {
            net_user_error(errp, "Conflicting/invalid host:port in guest forwarding rule '%s'",
                         rule);
            return -EINVAL;
        }
        return 0;
    }
    return net_user_guestfwd_chardev(s, rule, server, port, dev, errp);
}

/* ---- libslirp callbacks ---- */

static ssize_t net_user_send_packet(const void *pkt, size_t len, void *opaque)
{
    struct net_user *s = opaque;
    struct iovec iov = { .iov_base = (void *)pkt, .iov_len = len };

    /* A NIC without RX buffers queues it in net.c: nothing to wait for here. */
    net_send(&s->nc, &iov, 1, NULL);
    return len;
}

static void net_user_guest_error(const char *msg, void *opaque)
{
    if (log_enabled(LOG_GUEST_ERROR)) {
        hyvm_log("%s", msg);
    }
}

/* libslirp's clock and its timers' ready times are both g_get_monotonic_time(). */
static int64_t net_user_clock_get_ns(void *opaque)
{
    return g_get_monotonic_time() * 1000;
}

static void net_user_init_completed(Slirp *slirp, void *opaque)
{
    ((struct net_user *)opaque)->slirp = slirp;
}

static gboolean net_user_timer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    struct net_user_timer *t = (struct net_user_timer *)src;

    g_source_set_ready_time(src, -1);
    slirp_handle_timer(t->s->slirp, t->id, t->cb_opaque);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs net_user_timer_funcs = {
    .dispatch = net_user_timer_dispatch,
};

static void *net_user_timer_new(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    GSource *src = g_source_new(&net_user_timer_funcs, sizeof(struct net_user_timer));
    struct net_user_timer *t = (struct net_user_timer *)src;

    t->s = opaque;
    t->id = id;
    t->cb_opaque = cb_opaque;
    g_source_set_ready_time(src, -1);
    g_source_attach(src, NULL);
    return t;
}

static void net_user_timer_free(void *timer, void *opaque)
{
    GSource *src = timer;

    g_source_destroy(src);
    g_source_unref(src);
}

static void net_user_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    g_source_set_ready_time(timer, MAX(expire_ms, 0) * 1000);
}

/* Sockets are polled through slirp_pollfds_fill(): nothing to register. */
static void net_user_register_poll_fd(int fd, void *opaque)
{
}

static void net_user_unregister_poll_fd(int fd, void *opaque)
{
}

/* A guest TCP connection has room again: guestfwd chardevs may read. */
static void net_user_notify(void *opaque)
{
    struct net_user *s = opaque;

    for (GSList *l = s->guestfwds; l; l = l->next) {
        chr_fe_accept_input(&((struct net_user_guestfwd *)l->data)->fe);
    }
    g_main_context_wakeup(NULL);
}

static const SlirpCb net_user_callbacks = {
    .send_packet = net_user_send_packet,
    .guest_error = net_user_guest_error,
    .clock_get_ns = net_user_clock_get_ns,
    .timer_free = net_user_timer_free,
    .timer_mod = net_user_timer_mod,
    .register_poll_fd = net_user_register_poll_fd,
    .unregister_poll_fd = net_user_unregister_poll_fd,
    .notify = net_user_notify,
    .init_completed = net_user_init_completed,
    .timer_new_opaque = net_user_timer_new,
};

/* ---- the poll source ---- */

static int net_user_add_poll(int fd, int events, void *opaque)
{
    GArray *pollfds = opaque;
    GPollFD pfd = {
        .fd = fd,
        .events = (events & SLIRP_POLL_IN ? G_IO_IN : 0) |
                  (events & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
                  (events & SLIRP_POLL_PRI ? G_IO_PRI : 0) |
                  (events & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
                  (events & SLIRP_POLL_HUP ? G_IO_HUP : 0),
    };

    g_array_append_val(pollfds, pfd);
    return pollfds->len - 1;
}

static int net_user_get_revents(int idx, void *opaque)
{
    GArray *pollfds = opaque;
    int r;

    if (idx < 0 || (unsigned)idx >= pollfds->len) {
        return 0;
    }
    r = g_array_index(pollfds, GPollFD, idx).revents;
    return (r & G_IO_IN ? SLIRP_POLL_IN : 0) | (r & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
           (r & G_IO_PRI ? SLIRP_POLL_PRI : 0) | (r & G_IO_ERR ? SLIRP_POLL_ERR : 0) |
           (r & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

/* Same sockets as last time (in the same order): the events change in
 * place.  Adding or removing a GPollFD wakes the context, so the set is
 * only rebuilt when libslirp's sockets changed. */
static bool net_user_pollfds_same(GArray *a, GArray *b)
{
    if (a->len != b->len) {
        return false;
    }
    for (unsigned i = 0; i < a->len; i++) {
        if (g_array_index(a, GPollFD, i).fd != g_array_index(b, GPollFD, i).fd) {
            return false;
        }
    }
    return true;
}

static gboolean net_user_poll_prepare(GSource *src, gint *timeout)
{
    struct net_user *s = ((struct net_user_poll_source *)src)->s;
    uint32_t t = UINT32_MAX;
    GArray *tmp;

    g_array_set_size(s->fill, 0);
    slirp_pollfds_fill(s->slirp, &t, net_user_add_poll, s->fill);
    if (net_user_pollfds_same(s->fill, s->pollfds)) {
        for (unsigned i = 0; i < s->fill->len; i++) {
            g_array_index(s->pollfds, GPollFD, i).events =
                g_array_index(s->fill, GPollFD, i).events;
            g_array_index(s->pollfds, GPollFD, i).revents = 0;
        }
    } else {
        for (unsigned i = 0; i < s->pollfds->len; i++) {
            g_source_remove_poll(src, &g_array_index(s->pollfds, GPollFD, i));
        }
        tmp = s->pollfds;
        s->pollfds = s->fill;
        s->fill = tmp;
        for (unsigned i = 0; i < s->pollfds->len; i++) {
            g_source_add_poll(src, &g_array_index(s->pollfds, GPollFD, i));
        }
    }
    s->deadline = t == UINT32_MAX ? -1 : g_source_get_time(src) + (int64_t)t * 1000;
    *timeout = t == UINT32_MAX ? -1 : (gint)t;
    return FALSE;
}

static gboolean net_user_poll_check(GSource *src)
{
    struct net_user *s = ((struct net_user_poll_source *)src)->s;

    for (unsigned i = 0; i < s->pollfds->len; i++) {
        if (g_array_index(s->pollfds, GPollFD, i).revents) {
            return TRUE;
        }
    }
    return s->deadline >= 0 && g_source_get_time(src) >= s->deadline;
}

static gboolean net_user_poll_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    struct net_user *s = ((struct net_user_poll_source *)src)->s;

    slirp_pollfds_poll(s->slirp, 0, net_user_get_revents, s->pollfds);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs net_user_poll_funcs = {
    .prepare = net_user_poll_prepare,
    .check = net_user_poll_check,
    .dispatch = net_user_poll_dispatch,
};

/* ---- the client ---- */

static ssize_t net_user_receive(struct net_client *nc, const struct iovec *iov, unsigned cnt)
{
    struct net_user *s = container_of(nc, struct net_user, nc);
    g_autofree uint8_t *flat = NULL;
    const uint8_t *buf = cnt ? iov[0].iov_base : NULL;
    size_t size = iov_size(iov, cnt);

    if (size > INT_MAX) {
        return size;            /* no Ethernet frame is that big: dropped */
    }
    if (cnt > 1) {
        buf = flat = g_malloc(size);
        iov_to_buf(iov, cnt, 0, flat, size);
    }
    slirp_input(s->slirp, buf, size);
    /* From a vCPU thread: the main loop polls the sockets this frame opened now. */
    if (!g_main_context_is_owner(g_main_context_default())) {
        g_main_context_wakeup(NULL);
    }
    return size;
}

static void net_user_cleanup(struct net_client *nc)
{
    struct net_user *s = container_of(nc, struct net_user, nc);

    net_user_stacks = g_list_remove(net_user_stacks, s);
    g_source_destroy(s->poll_src);
    g_source_unref(s->poll_src);
    g_slist_free_full(s->guestfwds, net_user_guestfwd_free);
    slirp_cleanup(s->slirp);
    g_array_free(s->pollfds, TRUE);
    g_array_free(s->fill, TRUE);
    g_free(s);
}

static const struct net_client_ops net_user_ops = {
    .type = NET_CLIENT_USER,
    .type_name = "user",
    .receive = net_user_receive,
    .cleanup = net_user_cleanup,
};

static struct net_user *net_user_new(const char *id, const struct net_user_opts *o)
{
    struct net_user *s = g_new0(struct net_user, 1);
    SlirpConfig cfg = {
        .version = 4,
        .restricted = o->restricted,
        .in_enabled = o->ipv4,
        .vnetwork = o->net,
        .vnetmask = o->mask,
        .vhost = o->host,
        .in6_enabled = o->ipv6,
        .vprefix_addr6 = o->prefix6,
        .vprefix_len = o->prefix6_len,
        .vhost6 = o->host6,
        .vhostname = o->hostname,
        .tftp_server_name = o->tftp_server_name,
        .tftp_path = o->tftp,
        .bootfile = o->bootfile,
        .vdhcp_start = o->dhcp,
        .vnameserver = o->dns,
        .vnameserver6 = o->dns6,
        .vdnssearch = o->dnssearch->len > 1 ? (const char **)o->dnssearch->pdata : NULL,
        .vdomainname = o->domainname,
    };

    net_client_init(&s->nc, &net_user_ops, "user", id, NULL);
    net_client_set_info(&s->nc, "net=%s,restrict=%s", inet_ntoa(o->net),
                        o->restricted ? "on" : "off");
    s->pollfds = g_array_new(FALSE, FALSE, sizeof(GPollFD));
    s->fill = g_array_new(FALSE, FALSE, sizeof(GPollFD));
    s->deadline = -1;
    s->slirp = slirp_new(&cfg, &net_user_callbacks, s);
    s->poll_src = g_source_new(&net_user_poll_funcs, sizeof(struct net_user_poll_source));
    ((struct net_user_poll_source *)s->poll_src)->s = s;
    g_source_attach(s->poll_src, NULL);
    net_user_stacks = g_list_append(net_user_stacks, s);
    return s;
}

int net_user_init(const char *id, const struct kv_list *kv, GError **errp)
{
    struct net_user_opts o = { 0 };
    struct net_user *s;
    int ret = net_user_opts_parse(kv, &o, errp);

    if (ret < 0) {
        net_user_opts_free(&o);
        return ret;
    }
    s = net_user_new(id, &o);
    for (unsigned i = 0; ret == 0 && i < o.guestfwd->len; i++) {
        ret = net_user_guestfwd_setup(s, g_ptr_array_index(o.guestfwd, i), errp);
    }
    for (unsigned i = 0; ret == 0 && i < o.hostfwd->len; i++) {
        ret = net_user_hostfwd_setup(s, g_ptr_array_index(o.hostfwd, i), errp);
    }
    net_user_opts_free(&o);
    if (ret < 0) {
        net_client_uninit(&s->nc);
    }
    return ret;
}

/* ---- monitor ---- */

/* The stack named netdev, or the first one; QEMU's messages. */
static struct net_user *net_user_lookup(const char *netdev, GError **errp)
{
    struct net_client *nc;

    if (!netdev) {
        if (!net_user_stacks) {
            net_user_error(errp, "user mode network stack not in use");
            return NULL;
        }
        return net_user_stacks->data;
    }
    nc = net_netdev_find(netdev);
    if (!nc) {
        net_user_error(errp, "unrecognized netdev id '%s'", netdev);
        return NULL;
    }
    if (nc->ops->type != NET_CLIENT_USER) {
        net_user_error(errp, "invalid device specified");
        return NULL;
    }
    return container_of(nc, struct net_user, nc);
}

int net_user_hostfwd_add(const char *netdev, const char *rule, GError **errp)
{
    struct net_user *s = net_user_lookup(netdev, errp);

    return s ? net_user_hostfwd_setup(s, rule, errp) : -ENOENT;
}

int net_user_hostfwd_remove(const char *netdev, const char *rule, GString *out,
                            GError **errp)
{
    struct net_user *s = net_user_lookup(netdev, errp);
    struct net_user_fwd f;
    int err;

    if (!s) {
        return -ENOENT;
    }
    if (!net_user_hostfwd_remove_parse(rule, &f)) {
        net_user_error(errp, "invalid format");
        return -EINVAL;
    }
    err = slirp_remove_hostxfwd(s->slirp, (struct sockaddr *)&f.host, sizeof(f.host),
                                f.udp ? SLIRP_HOSTFWD_UDP : 0);
    g_string_append_printf(out, "host forwarding rule for %s %s\n", rule,
                           err ? "not found" : "removed");
    return 0;
}


void net_user_info_usernet(GString *out)
{
    for (GList *l = net_user_stacks; l; l = l->next) {
        struct net_user *s = l->data;
        g_autofree char *info = slirp_connection_info(s->slirp);

        g_string_append_printf(out, "Hub %d (%s):\n%s", net_hub_id_of(&s->nc), s->nc.name, info);
    }
}
