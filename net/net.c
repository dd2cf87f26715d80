/*
 * The netdev seam (net/net.h): the list of clients, frame delivery between
 * peers with a queue per receiver, the NICs' names and MAC addresses,
 * set_link.  The -netdev options are net/netdev.c's.
 *
 * Threads: everything with the big lock held.  Frames are sent from vCPU
 * threads (a NIC's TX kick) and from the main thread (back end callbacks).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hw/device.h"
#include "net/net.h"
#include "system/iov.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/log.h"

/* A receiver with a queue this long drops frames from senders without a
 * callback (senders with one stop by themselves), as QEMU's queue. */
#define NET_QUEUE_MAX 1024

struct net_packet {
    struct net_client *sender;
    net_sent_cb *sent_cb;
    size_t size;
    uint8_t data[];
};

/* Every client in creation order: back ends first, then NICs. */
static GPtrArray *net_clients;

void net_client_init(struct net_client *nc, const struct net_client_ops *ops,
                     const char *model, const char *name, struct net_client *peer)
{
    nc->ops = ops;
    nc->model = g_strdup(model);
    nc->name = g_strdup(name);
    g_queue_init(&nc->incoming);
    if (peer) {
        nc->peer = peer;
        peer->peer = nc;
    }
    if (!net_clients) {
        net_clients = g_ptr_array_new();
    }
    g_ptr_array_add(net_clients, nc);
}

void net_client_set_info(struct net_client *nc, const char *fmt, ...)
{
    va_list ap;

    g_free(nc->info_str);
    va_start(ap, fmt);
    nc->info_str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

/*
 * Drops nc's queued frames: those from sender, which is going away (no
 * callback), or all of them (sender NULL), each sender told through its
 * callback so that it sends again.
 */
static void net_queue_drop(struct net_client *nc, struct net_client *sender)
{
    GQueue q = G_QUEUE_INIT;
    struct net_packet *p;
    GList *l;

    if (sender) {
        for (l = nc->incoming.head; l;) {
            GList *next = l->next;

            p = l->data;
            if (p->sender == sender) {
                g_queue_delete_link(&nc->incoming, l);
                g_free(p);
            }
            l = next;
        }
        return;
    }
    /* Taken off first: a callback may send to nc again. */
    q = nc->incoming;
    g_queue_init(&nc->incoming);
    while ((p = g_queue_pop_head(&q))) {
        if (p->sent_cb) {
            p->sent_cb(p->sender, 0);
        }
        g_free(p);
    }
}

void net_queue_purge(struct net_client *nc)
{
    net_queue_drop(nc, NULL);
}

void net_client_uninit(struct net_client *nc)
{
    if (nc->peer) {
        net_queue_drop(nc->peer, nc);
        /* A back end left without its NIC carries no header for it. */
        nc->peer->vnet_hdr_len = 0;
        nc->peer->peer = NULL;
        nc->peer = NULL;
    }
    net_queue_drop(nc, NULL);
    net_filters_detach_all(nc);
    if (net_clients) {
        g_ptr_array_remove(net_clients, nc);
    }
    g_free(nc->name);
    g_free(nc->model);
    g_free(nc->info_str);
    nc->name = nc->model = nc->info_str = NULL;
    if (nc->ops->cleanup) {
        nc->ops->cleanup(nc);
    }
}

struct net_client *net_client_next(struct net_client *prev)
{
    unsigned i = 0;

    if (!net_clients) {
        return NULL;
    }
    if (prev) {
        for (; i < net_clients->len && g_ptr_array_index(net_clients, i) != prev; i++) {
        }
        i++;
    }
    return i < net_clients->len ? g_ptr_array_index(net_clients, i) : NULL;
}

static struct net_client *net_client_by_name(const char *name)
{
    for (struct net_client *nc = net_client_next(NULL); nc; nc = net_client_next(nc)) {
        if (!strcmp(nc->name, name)) {
            return nc;
        }
    }
    return NULL;
}

struct net_client *net_netdev_find(const char *id)
{
    for (struct net_client *nc = net_client_next(NULL); nc; nc = net_client_next(nc)) {
        if (nc->ops->type != NET_CLIENT_NIC && !strcmp(nc->name, id)) {
            return nc;
        }
    }
    return NULL;
}

int net_nic_attach(struct net_client *nic, const char *prop_owner, const char *id,
                   GError **errp)
{
    struct net_client *nd = net_netdev_find(id);

    if (!nd) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Property '%s.netdev' can't find value '%s'", prop_owner, id);
        return -ENOENT;
    }
    if (nd->peer) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Property '%s.netdev' can't take value '%s', it's in use", prop_owner, id);
        return -EBUSY;
    }
    nic->peer = nd;
    nd->peer = nic;
    return 0;
}

char *net_nic_default_name(const char *model)
{
    unsigned n = 0;

    for (struct net_client *nc = net_client_next(NULL); nc; nc = net_client_next(nc)) {
        if (nc->ops->type == NET_CLIENT_NIC && !strcmp(nc->model, model)) {
            n++;
        }
    }
    return g_strdup_printf("%s.%u", model, n);
}

/* ---- MAC addresses ---- */

/* QEMU's locally administered default prefix 52:54:00:12:34 and the last
 * bytes handed out or named under it. */
static const uint8_t net_mac_base[5] = { 0x52, 0x54, 0x00, 0x12, 0x34 };
static bool net_mac_used[256];

static bool net_mac_parse(const char *s, uint8_t out[NET_MAC_LEN])
{
    for (unsigned i = 0; i < NET_MAC_LEN; i++) {
        if (!g_ascii_isxdigit(s[0]) || !g_ascii_isxdigit(s[1])) {
            return false;
        }
        out[i] = g_ascii_xdigit_value(s[0]) << 4 | g_ascii_xdigit_value(s[1]);
        s += 2;
        if (i < NET_MAC_LEN - 1) {
            if (*s != ':' && *s != '-') {
                return false;
            }
            s++;
        }
    }
    return *s == '\0';
}

int net_nic_macaddr(const char *prop_owner, const char *mac, uint8_t out[NET_MAC_LEN],
                    GError **errp)
{
    static const uint8_t zero[NET_MAC_LEN];
    unsigned last;

    memset(out, 0, NET_MAC_LEN);
    if (mac && !net_mac_parse(mac, out)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Property '%s.mac' doesn't take value '%s'", prop_owner, mac);
        return -EINVAL;
    }
    if (memcmp(out, zero, NET_MAC_LEN)) {
        if (!memcmp(out, net_mac_base, sizeof(net_mac_base))) {
            net_mac_used[out[5]] = true;
        }
        return 0;
    }
    /* Unset: the first free last byte from 0x56 on, as QEMU. */
    for (last = 0x56; last < 0xff && net_mac_used[last]; last++) {
    }
    if (last == 0xff) {
        last = 0x56;
    }
    memcpy(out, net_mac_base, sizeof(net_mac_base));
    out[5] = last;
    net_mac_used[last] = true;
    return 0;
}

void net_macaddr_release(const uint8_t mac[NET_MAC_LEN])
{
    if (!memcmp(mac, net_mac_base, sizeof(net_mac_base))) {
        net_mac_used[mac[5]] = false;
    }
}

/* ---- frames ---- */

static void net_queue_append(struct net_client *to, struct net_client *sender,
                             const struct iovec *iov, unsigned cnt, size_t size,
                             net_sent_cb *sent_cb)
{
    struct net_packet *p;

    if (g_queue_get_length(&to->incoming) >= NET_QUEUE_MAX && !sent_cb) {
        return;
    }
    p = g_malloc(sizeof(*p) + size);
    p->sender = sender;
    p->sent_cb = sent_cb;
    p->size = size;
    iov_to_buf(iov, cnt, 0, p->data, size);
    g_queue_push_tail(&to->incoming, p);
}

/* A frame to nc: dropped (its size) when nc's link is down. */
static ssize_t net_deliver(struct net_client *nc, const struct iovec *iov, unsigned cnt,
                           size_t size)
{
    ssize_t ret;

    if (nc->link_down) {
        return size;
    }
    nc->delivering = true;
    ret = nc->ops->receive(nc, iov, cnt);
    nc->delivering = false;
    return ret;
}

ssize_t net_send(struct net_client *sender, const struct iovec *iov, unsigned cnt,
                 net_sent_cb *sent_cb)
{
    struct net_client *peer = sender->peer;
    size_t size = iov_size(iov, cnt);
    ssize_t ret;

    if (!peer || sender->link_down) {
        return size;
    }
    /* A guest's chain may name the same RAM many times over: nothing that
     * large is a frame, and no back end or queue should copy it. */
    if (size > NET_FRAME_MAX) {
        log_mask(LOG_GUEST_ERROR, "%s: a %zu-byte frame dropped (at most %u)\n", sender->name,
                 size, NET_FRAME_MAX);
        return size;
    }
    /* Filters see a frame where it leaves or enters a back end, before it
     * may wait in a queue (as QEMU's). */
    if (sender->filters) {
        net_filters_run(sender, true, iov, cnt);
    }
    if (peer->filters) {
        net_filters_run(peer, false, iov, cnt);
    }
    /* Frames keep their order: behind a queue, or while the peer is
     * inside its receive (it sent back from there), they wait. */
    if (peer->delivering || !g_queue_is_empty(&peer->incoming)) {
        net_queue_append(peer, sender, iov, cnt, size, sent_cb);
        return 0;
    }
    ret = net_deliver(peer, iov, cnt, size);
    if (ret == 0) {
        net_queue_append(peer, sender, iov, cnt, size, sent_cb);
        return 0;
    }
    return ret;
}

bool net_queue_flush(struct net_client *nc)
{
    struct net_packet *p;

    if (nc->delivering) {
        return g_queue_is_empty(&nc->incoming);
    }
    while ((p = g_queue_peek_head(&nc->incoming))) {
        struct iovec iov = { .iov_base = p->data, .iov_len = p->size };
        ssize_t ret = net_deliver(nc, &iov, 1, p->size);

        if (ret == 0) {
            return false;
        }
        /* The receive may have purged the queue (its peer went away). */
        if (g_queue_peek_head(&nc->incoming) != p) {
            continue;
        }
        g_queue_pop_head(&nc->incoming);
        if (p->sent_cb) {
            p->sent_cb(p->sender, ret);
        }
        g_free(p);
    }
    return true;
}

unsigned net_queue_len(const struct net_client *nc)
{
    return g_queue_get_length((GQueue *)&nc->incoming);
}

/* ---- back end features ---- */

bool net_peer_has_vnet_hdr(const struct net_client *nic)
{
    const struct net_client *p = nic->peer;

    return p && p->ops->has_vnet_hdr && p->ops->has_vnet_hdr((struct net_client *)p);
}

void net_peer_set_vnet_hdr_len(const struct net_client *nic, unsigned len)
{
    if (net_peer_has_vnet_hdr(nic)) {
        nic->peer->vnet_hdr_len = len;
        if (nic->peer->ops->set_vnet_hdr_len) {
            nic->peer->ops->set_vnet_hdr_len(nic->peer, len);
        }
    }
}

void net_peer_set_offloads(const struct net_client *nic, const struct net_offloads *o)
{
    if (net_peer_has_vnet_hdr(nic) && nic->peer->ops->set_offloads) {
        nic->peer->ops->set_offloads(nic->peer, o);
    }
}

int net_set_link(const char *name, bool up, GError **errp)
{
    struct net_client *nc = net_client_by_name(name);

    if (!nc) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Device '%s' not found", name);
        return -ENOENT;
    }
    nc->link_down = !up;
    if (nc->ops->link_status_changed) {
        nc->ops->link_status_changed(nc);
    }
    /* A back end's link is also its NIC's: the guest sees the cable go. */
    if (nc->peer) {
        if (nc->peer->ops->type == NET_CLIENT_NIC) {
            nc->peer->link_down = !up;
        }
        if (nc->peer->ops->link_status_changed) {
            nc->peer->ops->link_status_changed(nc->peer);
        }
    }
    return 0;
}
