/*
 * -netdev from the command line to the running back end: the table of
 * back end types, the options kept from parse to start-up, netdev_add and
 * netdev_del from the monitor, "info network", QEMU's start-up warnings,
 * and the exit path.
 *
 * Threads: parse on the main thread before anything runs; the rest with the
 * big lock held (the monitor runs on the main thread).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hw/device.h"
#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"

struct net_backend {
    const char *type;
    int (*check)(const struct kv_list *kv, GError **errp);
    int (*init)(const char *id, const struct kv_list *kv, GError **errp);
};

static const struct net_backend net_backends[] = {
    { "user", net_user_check, net_user_init },
    { "tap", net_tap_check, net_tap_init },
    { "socket", net_socket_check, net_socket_init },
    { "hubport", net_hubport_check, net_hubport_init },
    { NULL },
};

/* QEMU 7.2's "-netdev help" order. */
static const char *const net_help_types[] = {
    "socket", "stream", "dgram", "hubport", "tap", "user", "l2tpv3", "vde", "bridge",
    "vhost-user", "vhost-vdpa", NULL,
};

static const struct net_backend *net_backend_find(const char *type)
{
    for (const struct net_backend *b = net_backends; b->type; b++) {
        if (!strcmp(b->type, type)) {
            return b;
        }
    }
    return NULL;
}

void net_netdev_help(GString *out)
{
    g_string_append(out, "Available netdev backend types:\n");
    for (unsigned i = 0; net_help_types[i]; i++) {
        g_string_append_printf(out, "%s%s\n", net_help_types[i],
                               net_backend_find(net_help_types[i]) ? "" : " (not supported yet)");
    }
}

void net_print_netdev_help(void)
{
    g_autoptr(GString) out = g_string_new(NULL);

    net_netdev_help(out);
    fputs(out->str, stdout);
}

/* type= and id= present, id well formed, the type built, its options
 * right: the checks of -netdev and netdev_add.  The back end, or NULL. */
static const struct net_backend *net_netdev_check(const struct kv_list *kv, GError **errp)
{
    const char *type = kv_get(kv, "type");
    const char *id = kv_get(kv, "id");
    const struct net_backend *b;

    if (!type || !id) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' is missing",
                    type ? "id" : "type");
        return NULL;
    }
    if (!device_id_wellformed(id)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Parameter 'id' expects an identifier");
        return NULL;
    }
    b = net_backend_find(type);
    if (!b) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "network backend '%s' is not supported yet", type);
        return NULL;
    }
    return b->check(kv, errp) < 0 ? NULL : b;
}

bool net_netdev_check_kv(const struct kv_list *kv, GError **errp)
{
    return net_netdev_check(kv, errp) != NULL;
}

int net_netdev_init_kv(const char *name, const struct kv_list *kv, GError **errp)
{
    return net_backend_find(kv_get(kv, "type"))->init(name, kv, errp);
}

/* ---- kept from parse to start-up ---- */

struct net_cli {
    char *optarg;          /* as given: errors at creation name it */
    char *id;
    struct kv_list *kv;
};

static GPtrArray *net_cli_list;

static void net_cli_free(gpointer p)
{
    struct net_cli *c = p;

    g_free(c->optarg);
    g_free(c->id);
    kv_free(c->kv);
    g_free(c);
}

int net_cli_add(const char *optarg, GError **errp)
{
    struct kv_list *kv = kv_parse(optarg, "type", errp);
    struct net_cli *c;

    if (!kv) {
        return -EINVAL;
    }
    if (!net_netdev_check(kv, errp)) {
        goto fail;
    }
    if (!net_cli_list) {
        net_cli_list = g_ptr_array_new_with_free_func(net_cli_free);
    }
    for (unsigned i = 0; i < net_cli_list->len; i++) {
        if (!strcmp(((struct net_cli *)g_ptr_array_index(net_cli_list, i))->id,
                    kv_get(kv, "id"))) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Duplicate ID '%s' for netdev",
                        kv_get(kv, "id"));
            goto fail;
        }
    }
    c = g_new0(struct net_cli, 1);
    c->optarg = g_strdup(optarg);
    c->id = g_strdup(kv_get(kv, "id"));
    c->kv = kv;
    g_ptr_array_add(net_cli_list, c);
    return 0;
fail:
    kv_free(kv);
    return -EINVAL;
}

void net_cli_clear(void)
{
    if (net_cli_list) {
        g_ptr_array_free(net_cli_list, TRUE);
        net_cli_list = NULL;
    }
}

int net_init_clients(GError **errp)
{
    for (unsigned i = 0; net_cli_list && i < net_cli_list->len; i++) {
        struct net_cli *c = g_ptr_array_index(net_cli_list, i);
        const struct net_backend *b = net_backend_find(kv_get(c->kv, "type"));
        GError *err = NULL;

        if (b->init(c->id, c->kv, &err) < 0) {
            /* QEMU's location prefix: the option as given. */
            g_set_error(errp, HYVM_ERROR, err->code, "-netdev %s: %s", c->optarg,
                        err->message);
            g_error_free(err);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- the monitor ---- */

int net_netdev_add(const struct kv_list *kv, GError **errp)
{
    const struct net_backend *b = net_netdev_check(kv, errp);
    const char *id;

    if (!b) {
        return -EINVAL;
    }
    id = kv_get(kv, "id");
    if (net_netdev_find(id)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Duplicate ID '%s' for netdev", id);
        return -EEXIST;
    }
    return b->init(id, kv, errp);
}

int net_netdev_del(const char *id, GError **errp)
{
    struct net_client *nd = net_netdev_find(id);

    if (!nd) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Device '%s' not found", id);
        return -ENOENT;
    }
    /* The NIC stays, its cable pulled: the guest sees the link go down. */
    if (nd->peer && nd->peer->ops->type == NET_CLIENT_NIC) {
        struct net_client *nic = nd->peer;

        nic->link_down = true;
        if (nic->ops->link_status_changed) {
            nic->ops->link_status_changed(nic);
        }
    }
    net_client_uninit(nd);
    return 0;
}

void net_client_print_info(const struct net_client *nc, GString *out)
{
    g_string_append_printf(out, "%s: index=0,type=%s,%s\n", nc->name, nc->ops->type_name,
                           nc->info_str ? nc->info_str : "");
    net_filters_info(nc, out);
}

/* QEMU's order: the hubs, then every client not on a hub in creation
 * order, a NIC with its back end under it, a back end with a NIC peer
 * only there. */
void net_info_network(GString *out)
{
    net_hub_info(out);
    for (struct net_client *nc = net_client_next(NULL); nc; nc = net_client_next(nc)) {
        bool nic = nc->ops->type == NET_CLIENT_NIC;

        if (net_client_on_hub(nc)) {
            continue;
        }
        if (!nc->peer || nic) {
            net_client_print_info(nc, out);
        }
        if (nc->peer && nic) {
            g_string_append(out, " \\ ");
            net_client_print_info(nc->peer, out);
        }
    }
}

/* ---- start-up checks and exit ---- */

void net_check_clients(void)
{
    /* Like QEMU, nothing about the default network: a board without NICs
     * leaves its hub port alone, and that is expected. */
    if (net_nic_default_used()) {
        return;
    }
    net_hub_check_clients();
    for (struct net_client *nc = net_client_next(NULL); nc; nc = net_client_next(nc)) {
        if (nc->peer) {
            continue;
        }
        if (nc->ops->type == NET_CLIENT_NIC) {
            warn_report("nic %s has no peer", nc->name);
        } else {
            warn_report("netdev %s has no peer", nc->name);
        }
    }
    net_nic_check_requested();
}

void net_cleanup(void)
{
    struct net_client *nc = NULL, *next;

    /* Back ends only: NICs are freed with their devices, which come first. */
    for (nc = net_client_next(NULL); nc; nc = next) {
        next = net_client_next(nc);
        if (nc->ops->type != NET_CLIENT_NIC) {
            net_client_uninit(nc);
        }
    }
    net_hubs_cleanup();
}
