/*
 * -nic and -net, QEMU's shorthands for a NIC and its back end, and the
 * default network QEMU gives a machine without -nodefaults:
 *
 *   -nic TYPE[,id=ID][,model=M][,mac=MAC][,TYPE's options]
 *       a back end (named ID, or #netN) and a NIC on it, directly peered;
 *   -net nic[,model=M][,macaddr=MAC][,addr=A][,vectors=N][,netdev=ND][,id=]
 *   -net TYPE[,id=ID][,TYPE's options]
 *       NICs and back ends all on hub 0 (a NIC with netdev= on that
 *       -netdev instead);
 *   no -nic, -net or -nodefaults: "-net nic -net user".
 *
 * Back ends are created at start-up after the -netdevs, -nic before -net,
 * as QEMU.  NICs become "-device MODEL,netdev=...": on a machine with PCI
 * they come before the -device list (they take the first free slots, as
 * QEMU's board code makes them); a machine without (microvm) makes none
 * and QEMU's warning says so.  hyvm's NIC is virtio-net-pci: QEMU's
 * default e1000 is not built, and the substitution is said on stderr.
 *
 * Threads: parse and start-up, main thread, before the vCPUs run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hw/device.h"
#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"

/* The NIC models -nic/-net make; QEMU's names. */
static const char *const net_nic_models[] = {
    "virtio-net-pci", NULL,
};
/* QEMU's default model on pc, and what hyvm makes instead. */
#define NET_NIC_QEMU_DEFAULT "e1000"
#define NET_NIC_DEFAULT      "virtio-net-pci"

struct net_nic_req {
    char *optarg;            /* "-nic ARG" / "-net ARG": what errors name */
    bool hub;                /* -net nic: on hub 0 (unless netdev=) */
    char *model;             /* NULL: the machine's default */
    char *mac, *addr, *vectors;
    char *netdev;            /* its back end's id, set at start-up */
    char *name;              /* for the "not created" warning */
};

/* One -nic or -net: a back end, a NIC, or (-nic) both. */
struct net_backend_req {
    char *optarg;
    bool hub;                /* -net: on hub 0 */
    struct kv_list *kv;      /* type=, id=, the type's options; NULL: -net nic */
    struct net_nic_req *nic; /* the NIC (-nic, -net nic) */
};

/* In command line order; -nic's before -net's at start-up.  The NICs in
 * the same order, for the devices. */
static GPtrArray *net_nic_reqs;        /* struct net_nic_req * */
static GPtrArray *net_backend_reqs;    /* struct net_backend_req * */
static bool net_nic_given;             /* any -nic or -net, "none" included */
static bool net_default_used;          /* neither, nor -nodefaults */
static unsigned net_anon_count;        /* #netN names */
static GPtrArray *net_nic_unmade;      /* char *: warnings after the devices */
static GHashTable *net_opt_ids;        /* "nic:ID" / "net:ID" given so far */

static void net_nic_req_free(gpointer p)
{
    struct net_nic_req *n = p;

    g_free(n->optarg);
    g_free(n->model);
    g_free(n->mac);
    g_free(n->addr);
    g_free(n->vectors);
    g_free(n->netdev);
    g_free(n->name);
    g_free(n);
}

static void net_backend_req_free(gpointer p)
{
    struct net_backend_req *b = p;

    g_free(b->optarg);
    kv_free(b->kv);
    g_free(b);
}

void net_nic_cli_clear(void)
{
    if (net_nic_reqs) {
        g_ptr_array_free(net_nic_reqs, TRUE);
        net_nic_reqs = NULL;
    }
    if (net_backend_reqs) {
        g_ptr_array_free(net_backend_reqs, TRUE);
        net_backend_reqs = NULL;
    }
    if (net_nic_unmade) {
        g_ptr_array_free(net_nic_unmade, TRUE);
        net_nic_unmade = NULL;
    }
    if (net_opt_ids) {
        g_hash_table_destroy(net_opt_ids);
        net_opt_ids = NULL;
    }
    net_nic_given = net_default_used = false;
    net_anon_count = 0;
}

static bool net_mac_valid(const char *mac)
{
    uint8_t out[NET_MAC_LEN];
    GError *err = NULL;
    bool ok;

    /* Parsing only: the address is taken when the NIC is made. */
    ok = net_nic_macaddr("x", mac, out, &err) == 0;
    g_clear_error(&err);
    if (ok) {
        net_macaddr_release(out);
    }
    return ok;
}

void net_nic_print_models(void)
{
    printf("Supported NIC models:\n");
    for (unsigned i = 0; net_nic_models[i]; i++) {
        printf("%s\n", net_nic_models[i]);
    }
}

/* The NIC's keys out of kv into n; false (errp set) on a bad value. */
static bool net_nic_take(struct net_nic_req *n, struct kv_list *kv, const char *mac_key,
                         bool legacy, GError **errp)
{
    struct kv_list *rest = kv_new();

    for (unsigned i = 0; i < kv->n; i++) {
        struct kv_pair *p = &kv->items[i];
        char **slot = NULL;

        if (!strcmp(p->key, "model")) {
            slot = &n->model;
        } else if (!strcmp(p->key, mac_key)) {
            slot = &n->mac;
        } else if (legacy && !strcmp(p->key, "addr")) {
            slot = &n->addr;
        } else if (legacy && !strcmp(p->key, "vectors")) {
            slot = &n->vectors;
        } else if (legacy && !strcmp(p->key, "netdev")) {
            slot = &n->netdev;
        }
        if (slot) {
            g_free(*slot);
            *slot = g_strdup(p->value);
        } else {
            kv_append(rest, p->key, p->value);
        }
    }
    /* kv keeps what is not the NIC's. */
    for (unsigned i = 0; i < kv->n; i++) {
        g_free(kv->items[i].key);
        g_free(kv->items[i].value);
    }
    g_free(kv->items);
    *kv = *rest;
    g_free(rest);
    if (n->mac && !net_mac_valid(n->mac)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "invalid syntax for ethernet address");
        return false;
    }
    return true;
}

/* A back end's options checked as -netdev's, with a stand-in id when the
 * user gave none (the real name is #netN, which -netdev would refuse). */
static bool net_backend_opts_ok(const struct kv_list *kv, GError **errp)
{
    struct kv_list *copy = kv_new();
    bool ok;

    for (unsigned i = 0; i < kv->n; i++) {
        kv_append(copy, kv->items[i].key, kv->items[i].value);
    }
    if (!kv_get(kv, "id")) {
        kv_append(copy, "id", "nic");
    }
    ok = net_netdev_check_kv(copy, errp);
    kv_free(copy);
    return ok;
}

int net_nic_cli_add(const char *opt, const char *optarg, GError **errp)
{
    bool legacy = !strcmp(opt, "net");
    struct kv_list *kv = kv_parse(optarg, "type", errp);
    struct net_nic_req *n = NULL;
    struct net_backend_req *b;
    const char *type;

    if (!kv) {
        return -EINVAL;
    }
    net_nic_given = true;
    /* id= is unique among the -nic options, and among the -net ones. */
    if (kv_get(kv, "id")) {
        char *key = g_strdup_printf("%s:%s", opt, kv_get(kv, "id"));

        if (!net_opt_ids) {
            net_opt_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        }
        if (!g_hash_table_add(net_opt_ids, key)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Duplicate ID '%s' for %s",
                        kv_get(kv, "id"), opt);
            kv_free(kv);
            return -EINVAL;
        }
    }
    type = kv_get(kv, "type");
    if (!g_strcmp0(type, "none")) {
        kv_free(kv);
        return 0;
    }
    if (!net_nic_reqs) {
        net_nic_reqs = g_ptr_array_new_with_free_func(net_nic_req_free);
        net_backend_reqs = g_ptr_array_new_with_free_func(net_backend_req_free);
    }
    if (!legacy || !g_strcmp0(type, "nic")) {
        n = g_new0(struct net_nic_req, 1);
        n->optarg = g_strdup_printf("-%s %s", opt, optarg);
        n->hub = legacy;
        if (!net_nic_take(n, kv, legacy ? "macaddr" : "mac", legacy, errp)) {
            goto fail;
        }
        if (!g_strcmp0(n->model, "help")) {
            net_nic_print_models();
            net_nic_req_free(n);
            kv_free(kv);
            return 1;
        }
    }
    if (legacy && n) {
        /* -net nic: what is left must be type= and id=. */
        for (unsigned i = 0; i < kv->n; i++) {
            if (strcmp(kv->items[i].key, "type") && strcmp(kv->items[i].key, "id")) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid parameter '%s'",
                            kv->items[i].key);
                goto fail;
            }
        }
        n->name = g_strdup(kv_get(kv, "id"));
        kv_free(kv);
        kv = NULL;
    } else if (!kv_get(kv, "type")) {
        /* -nic alone is user networking, as QEMU's. */
        kv_append(kv, "type", "user");
    }
    if (kv && !net_backend_opts_ok(kv, errp)) {
        goto fail;
    }
    b = g_new0(struct net_backend_req, 1);
    b->optarg = g_strdup_printf("-%s %s", opt, optarg);
    b->hub = legacy;
    b->kv = kv;
    b->nic = n;
    g_ptr_array_add(net_backend_reqs, b);
    if (n) {
        g_ptr_array_add(net_nic_reqs, n);
    }
    return 0;
fail:
    if (n) {
        net_nic_req_free(n);
    }
    kv_free(kv);
    return -EINVAL;
}

/* One -nic/-net at start-up: its back end (named), or for -net nic the
 * hub port its NIC goes on, in command line order as QEMU's port names. */
static int net_backend_req_init(struct net_backend_req *b, GError **errp)
{
    g_autofree char *name = b->kv ? g_strdup(kv_get(b->kv, "id")) : NULL;
    GError *err = NULL;
    struct net_client *nd;

    if (!b->kv) {
        if (b->nic->netdev && !net_netdev_find(b->nic->netdev)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s: netdev '%s' not found",
                        b->optarg, b->nic->netdev);
            return -ENOENT;
        }
        if (!b->nic->netdev) {
            b->nic->netdev = g_strdup(net_hub_add_port(0, NULL)->name);
        }
        return 0;
    }
    if (!name) {
        name = g_strdup_printf("#net%u", net_anon_count++);
    } else if (net_netdev_find(name)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s: Duplicate ID '%s'", b->optarg,
                    name);
        return -EEXIST;
    }
    if (net_netdev_init_kv(name, b->kv, &err) < 0) {
        g_set_error(errp, HYVM_ERROR, err->code, "%s: %s", b->optarg, err->message);
        g_error_free(err);
        return -EINVAL;
    }
    nd = net_netdev_find(name);
    if (b->hub && nd) {
        struct net_client *port = net_hub_add_port(0, NULL);

        port->peer = nd;
        nd->peer = port;
    }
    if (b->nic && nd) {
        b->nic->netdev = g_strdup(name);
    }
    return 0;
}

/* QEMU's -net defaults: "-net nic -net user". */
static void net_add_default(void)
{
    GError *err = NULL;

    net_nic_cli_add("net", "nic", &err);
    net_nic_cli_add("net", "user", &err);
    g_clear_error(&err);
}

static int net_nic_make(struct net_nic_req *n, const char *default_model, GPtrArray *devices,
                        unsigned *pos, GError **errp)
{
    g_autoptr(GString) spec = g_string_new(NULL);
    const char *model = n->model ? n->model : default_model;
    struct dev_config *dc;

    if (!default_model) {
        /* A machine without NICs of its own (microvm): QEMU's warning. */
        if (!net_nic_unmade) {
            net_nic_unmade = g_ptr_array_new_with_free_func(g_free);
        }
        g_ptr_array_add(net_nic_unmade,
                        g_strdup_printf("requested NIC (%s, model %s) was not created "
                                        "(not supported by this machine?)",
                                        n->name ? n->name : "anonymous",
                                        n->model ? n->model : "unspecified"));
        return 0;
    }
    if (!g_strv_contains(net_nic_models, model)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Unsupported NIC model: %s (hyvm's is %s)", model, NET_NIC_DEFAULT);
        return -EINVAL;
    }
    if (!n->model) {
        static bool said;

        if (!said) {
            info_report("NIC model %s (QEMU's default %s is not built); "
                        "-nic model=help lists them", NET_NIC_DEFAULT, NET_NIC_QEMU_DEFAULT);
            said = true;
        }
    }
    g_string_append(spec, model);
    if (n->netdev) {
        g_string_append_printf(spec, ",netdev=%s", n->netdev);
    }
    if (n->mac) {
        g_string_append_printf(spec, ",mac=%s", n->mac);
    }
    if (n->addr) {
        g_string_append_printf(spec, ",addr=%s", n->addr);
    }
    if (n->vectors) {
        g_string_append_printf(spec, ",vectors=%s", n->vectors);
    }
    dc = dev_config_parse(spec->str, errp);
    if (!dc) {
        return -EINVAL;
    }
    g_free(dc->spec);
    dc->spec = g_strdup(n->optarg);
    g_ptr_array_insert(devices, (*pos)++, dc);
    return 0;
}

int net_nic_init(const char *default_model, bool nodefaults, GPtrArray *devices,
                 GError **errp)
{
    unsigned pos = 0;

    if (!net_nic_given && !nodefaults) {
        net_add_default();
        net_default_used = true;
    }
    if (!net_backend_reqs) {
        return 0;
    }
    /* -nic's back ends, then -net's (QEMU's order). */
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < net_backend_reqs->len; i++) {
            struct net_backend_req *b = g_ptr_array_index(net_backend_reqs, i);

            if (b->hub == (pass == 1) && net_backend_req_init(b, errp) < 0) {
                return -EINVAL;
            }
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < net_nic_reqs->len; i++) {
            struct net_nic_req *n = g_ptr_array_index(net_nic_reqs, i);

            if (n->hub != (pass == 1)) {
                continue;
            }
            if (net_nic_make(n, default_model, devices, &pos, errp) < 0) {
                return -EINVAL;
            }
        }
    }
    return 0;
}

bool net_nic_default_used(void)
{
    return net_default_used;
}

void net_nic_check_requested(void)
{
    for (unsigned i = 0; net_nic_unmade && i < net_nic_unmade->len; i++) {
        warn_report("%s", (char *)g_ptr_array_index(net_nic_unmade, i));
    }
}
