/*
 * QEMU's hubs: the legacy -net options put every NIC and back end of one
 * command line on hub 0, and -netdev hubport,id=X,hubid=N adds a port by
 * hand.  A hub port is a back end whose peer is a NIC or another back end;
 * a frame one port receives is sent out of every other port of its hub.
 *
 * Ports and hubs live until exit (or netdev_del of a port).  QEMU lists a
 * hub's ports newest first, and so does "info network" here.
 *
 * Threads: big lock held (frames from vCPU threads and the main loop).
 */
#include <errno.h>
#include <string.h>

#include "net/net.h"
#include "system/iov.h"
#include "system/error.h"
#include "system/keyval.h"

struct net_hub {
    int id;
    unsigned next_port;       /* ports are named hubNportM, M counting up */
    GList *ports;             /* struct net_hubport *, newest first */
};

struct net_hubport {
    struct net_client nc;
    struct net_hub *hub;
};

/* Every hub, in creation order. */
static GPtrArray *net_hubs;

static struct net_hub *net_hub_find(int id, bool create)
{
    struct net_hub *h;

    for (unsigned i = 0; net_hubs && i < net_hubs->len; i++) {
        h = g_ptr_array_index(net_hubs, i);
        if (h->id == id) {
            return h;
        }
    }
    if (!create) {
        return NULL;
    }
    if (!net_hubs) {
        net_hubs = g_ptr_array_new();
    }
    h = g_new0(struct net_hub, 1);
    h->id = id;
    g_ptr_array_add(net_hubs, h);
    return h;
}

/* A frame into one port leaves through all the others; ports whose peer
 * cannot take it now keep it in net.c's queue (or drop it when full). */
static ssize_t net_hubport_receive(struct net_client *nc, const struct iovec *iov,
                                   unsigned cnt)
{
    struct net_hubport *in = container_of(nc, struct net_hubport, nc);

    for (GList *l = in->hub->ports; l; l = l->next) {
        struct net_hubport *out = l->data;

        if (out != in) {
            net_send(&out->nc, iov, cnt, NULL);
        }
    }
    return iov_size(iov, cnt);
}

static void net_hubport_cleanup(struct net_client *nc)
{
    struct net_hubport *p = container_of(nc, struct net_hubport, nc);

    p->hub->ports = g_list_remove(p->hub->ports, p);
    g_free(p);
}

static const struct net_client_ops net_hubport_ops = {
    .type = NET_CLIENT_HUBPORT,
    .type_name = "hubport",
    .receive = net_hubport_receive,
    .cleanup = net_hubport_cleanup,
};

struct net_client *net_hub_add_port(int hub_id, const char *name)
{
    struct net_hub *hub = net_hub_find(hub_id, true);
    struct net_hubport *p = g_new0(struct net_hubport, 1);
    g_autofree char *auto_name = NULL;

    if (!name) {
        name = auto_name = g_strdup_printf("hub%dport%u", hub_id, hub->next_port);
    }
    hub->next_port++;
    p->hub = hub;
    net_client_init(&p->nc, &net_hubport_ops, "hub", name, NULL);
    net_client_set_info(&p->nc, "hub=%d", hub_id);
    hub->ports = g_list_prepend(hub->ports, p);
    return &p->nc;
}

int net_hub_id_of(const struct net_client *nc)
{
    if (nc->peer && nc->peer->ops->type == NET_CLIENT_HUBPORT) {
        return container_of(nc->peer, struct net_hubport, nc)->hub->id;
    }
    return -1;
}

bool net_client_on_hub(const struct net_client *nc)
{
    return nc->ops->type == NET_CLIENT_HUBPORT ||
           (nc->peer && nc->peer->ops->type == NET_CLIENT_HUBPORT);
}

/* hubid= is QEMU's int32 (sign, 0x and 0 prefixes): 0 when it is, else
 * QEMU's message for a value that is no number or out of range. */
static const char *net_hub_parse_id(const char *v, int32_t *out)
{
    char *end;
    gint64 n;

    errno = 0;
    n = g_ascii_strtoll(v, &end, 0);
    if (!*v || *end || errno) {
        return "Parameter 'hubid' expects an int64 value";
    }
    if (n < INT32_MIN || n > INT32_MAX) {
        return "Parameter 'hubid' expects int32_t";
    }
    *out = n;
    return NULL;
}

/* -netdev hubport,id=ID,hubid=N[,netdev=ND]: QEMU's keys and messages. */
int net_hubport_check(const struct kv_list *kv, GError **errp)
{
    static const char *const keys[] = { "type", "id", "hubid", "netdev", NULL };
    const char *v = kv_get(kv, "hubid");
    const char *bad;
    int32_t n;

    for (unsigned i = 0; i < kv->n; i++) {
        if (!g_strv_contains(keys, kv->items[i].key)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid parameter '%s'",
                        kv->items[i].key);
            return -EINVAL;
        }
    }
    if (!v) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'hubid' is missing");
        return -EINVAL;
    }
    bad = net_hub_parse_id(v, &n);
    if (bad) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s", bad);
        return -EINVAL;
    }
    return 0;
}

int net_hubport_init(const char *id, const struct kv_list *kv, GError **errp)
{
    const char *nd_id = kv_get(kv, "netdev");
    struct net_client *nd = NULL;
    int32_t hub = 0;

    net_hub_parse_id(kv_get(kv, "hubid"), &hub);
    if (nd_id) {
        nd = net_netdev_find(nd_id);
        if (!nd) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "netdev '%s' not found", nd_id);
            return -ENOENT;
        }
        if (nd->peer) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "netdev '%s' is already in use",
                        nd_id);
            return -EBUSY;
        }
    }
    struct net_client *port = net_hub_add_port(hub, id);
    if (nd) {
        port->peer = nd;
        nd->peer = port;
    }
    return 0;
}

/* "info network" starts with the hubs: each port, and what sits on it. */
void net_hub_info(GString *out)
{
    for (unsigned i = 0; net_hubs && i < net_hubs->len; i++) {
        struct net_hub *h = g_ptr_array_index(net_hubs, i);

        g_string_append_printf(out, "hub %d\n", h->id);
        for (GList *l = h->ports; l; l = l->next) {
            struct net_hubport *p = l->data;

            g_string_append_printf(out, " \\ %s", p->nc.name);
            if (p->nc.peer) {
                g_string_append(out, ": ");
                net_client_print_info(p->nc.peer, out);
            } else {
                g_string_append(out, "\n");
            }
        }
    }
}

/* QEMU's start-up warnings for a hub without NICs or without a back end,
 * and for ports with no peer. */
void net_hub_check_clients(void)
{
    for (unsigned i = 0; net_hubs && i < net_hubs->len; i++) {
        struct net_hub *h = g_ptr_array_index(net_hubs, i);
        bool has_nic = false, has_host = false;

        for (GList *l = h->ports; l; l = l->next) {
            struct net_hubport *p = l->data;
            struct net_client *peer = p->nc.peer;

            if (!peer) {
                warn_report("hub port %s has no peer", p->nc.name);
            } else if (peer->ops->type == NET_CLIENT_NIC) {
                has_nic = true;
            } else {
                has_host = true;
            }
        }
        if (has_host && !has_nic) {
            warn_report("hub %d with no nics", h->id);
        }
        if (has_nic && !has_host) {
            warn_report("hub %d is not connected to host network", h->id);
        }
    }
}

/* Exit: the ports are freed with the other back ends; the hubs here. */
void net_hubs_cleanup(void)
{
    if (!net_hubs) {
        return;
    }
    for (unsigned i = 0; i < net_hubs->len; i++) {
        g_free(g_ptr_array_index(net_hubs, i));
    }
    g_ptr_array_free(net_hubs, TRUE);
    net_hubs = NULL;
}
