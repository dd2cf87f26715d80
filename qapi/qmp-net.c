/*
 * The network's QMP side (see qmp-net.h): QEMU's Netdev union checked
 * against its schema and turned into the kv_list -netdev would have
 * parsed, object-add's filter-dump into -object's.  Replies and messages
 * are QEMU 7.2's (qapi/net.json, qapi/qom.json, net/net.c,
 * qom/object_interfaces.c).  The HMP commands are in hmp-net.c.
 *
 * Threads: main thread, big lock held.
 */
#include <stdint.h>
#include <string.h>

#include "hw/device.h"
#include "hw/virtio/rng-backend.h"
#include "net/net.h"
#include "qapi/qmp-internal.h"
#include "qapi/qmp-net.h"
#include "system/error.h"
#include "system/keyval.h"

/* ---- QMP types (qapi/net.json, qom.json) ---- */

#define STR &qmp_type_str
#define INT &qmp_type_int
#define BOOL &qmp_type_bool
#define OPT true

#define MEMBERS(var, ...) \
    static const struct qmp_member var##_members[] = { __VA_ARGS__, { NULL } }; \
    static const struct qmp_schema_type var = { .meta = QMP_META_OBJECT, \
                                                .members = var##_members }
#define ENUM(var, ...) \
    static const char *const var##_values[] = { __VA_ARGS__, NULL }; \
    static const struct qmp_schema_type var = { .meta = QMP_META_ENUM, \
                                                .values = var##_values }

/* String, the element of hostfwd, guestfwd and dnssearch. */
MEMBERS(net_string, { "str", STR });
static const struct qmp_schema_type net_string_list = {
    .meta = QMP_META_ARRAY, .element = &net_string,
};

MEMBERS(netdev_nic, { "netdev", STR, OPT }, { "macaddr", STR, OPT }, { "model", STR, OPT },
        { "addr", STR, OPT }, { "vectors", INT, OPT });
MEMBERS(netdev_user, { "hostname", STR, OPT }, { "restrict", BOOL, OPT },
        { "ipv4", BOOL, OPT }, { "ipv6", BOOL, OPT }, { "ip", STR, OPT }, { "net", STR, OPT },
        { "host", STR, OPT }, { "tftp", STR, OPT }, { "bootfile", STR, OPT },
        { "dhcpstart", STR, OPT }, { "dns", STR, OPT }, { "dnssearch", &net_string_list, OPT },
        { "domainname", STR, OPT }, { "ipv6-prefix", STR, OPT },
        { "ipv6-prefixlen", INT, OPT }, { "ipv6-host", STR, OPT }, { "ipv6-dns", STR, OPT },
        { "smb", STR, OPT }, { "smbserver", STR, OPT }, { "hostfwd", &net_string_list, OPT },
        { "guestfwd", &net_string_list, OPT }, { "tftp-server-name", STR, OPT });
MEMBERS(netdev_tap, { "ifname", STR, OPT }, { "fd", STR, OPT }, { "fds", STR, OPT },
        { "script", STR, OPT }, { "downscript", STR, OPT }, { "br", STR, OPT },
        { "helper", STR, OPT }, { "sndbuf", INT, OPT }, { "vnet_hdr", BOOL, OPT },
        { "vhost", BOOL, OPT }, { "vhostfd", STR, OPT }, { "vhostfds", STR, OPT },
        { "vhostforce", BOOL, OPT }, { "queues", INT, OPT }, { "poll-us", INT, OPT });
MEMBERS(netdev_l2tpv3, { "src", STR }, { "dst", STR }, { "srcport", STR, OPT },
        { "dstport", STR, OPT }, { "ipv6", BOOL, OPT }, { "udp", BOOL, OPT },
        { "cookie64", BOOL, OPT }, { "counter", BOOL, OPT }, { "pincounter", BOOL, OPT },
        { "txcookie", INT, OPT }, { "rxcookie", INT, OPT }, { "txsession", INT },
        { "rxsession", INT, OPT }, { "offset", INT, OPT });
MEMBERS(netdev_socket, { "fd", STR, OPT }, { "listen", STR, OPT }, { "connect", STR, OPT },
        { "mcast", STR, OPT }, { "localaddr", STR, OPT }, { "udp", STR, OPT });

/* SocketAddress, for stream and dgram. */
ENUM(socket_address_type, "inet", "unix", "vsock", "fd");
MEMBERS(inet_address, { "host", STR }, { "port", STR }, { "numeric", BOOL, OPT },
        { "to", INT, OPT }, { "ipv4", BOOL, OPT }, { "ipv6", BOOL, OPT },
        { "keep-alive", BOOL, OPT }, { "mptcp", BOOL, OPT });
MEMBERS(unix_address, { "path", STR }, { "abstract", BOOL, OPT }, { "tight", BOOL, OPT });
MEMBERS(vsock_address, { "cid", STR }, { "port", STR });
static const struct qmp_member socket_address_members[] = {
    { "type", &socket_address_type }, { NULL },
};
static const struct qmp_variant socket_address_variants[] = {
    { "inet", &inet_address }, { "unix", &unix_address }, { "vsock", &vsock_address },
    { "fd", &net_string }, { NULL },
};
static const struct qmp_schema_type socket_address = {
    .meta = QMP_META_OBJECT, .members = socket_address_members, .tag = "type",
    .variants = socket_address_variants,
};

MEMBERS(netdev_stream, { "addr", &socket_address }, { "server", BOOL, OPT });
MEMBERS(netdev_dgram, { "local", &socket_address, OPT }, { "remote", &socket_address, OPT });
MEMBERS(netdev_vde, { "sock", STR, OPT }, { "port", INT, OPT }, { "group", STR, OPT },
        { "mode", INT, OPT });
MEMBERS(netdev_bridge, { "br", STR, OPT }, { "helper", STR, OPT });
MEMBERS(netdev_hubport, { "hubid", INT }, { "netdev", STR, OPT });
MEMBERS(netdev_netmap, { "ifname", STR }, { "devname", STR, OPT });
MEMBERS(netdev_vhost_user, { "chardev", STR }, { "vhostforce", BOOL, OPT },
        { "queues", INT, OPT });
MEMBERS(netdev_vhost_vdpa, { "vhostdev", STR, OPT }, { "vhostfd", STR, OPT },
        { "queues", INT, OPT }, { "x-svq", BOOL, OPT });

const char *const qmp_net_netdev_types[] = {
    "none", "nic", "user", "tap", "l2tpv3", "socket", "stream", "dgram", "vde", "bridge",
    "hubport", "netmap", "vhost-user", "vhost-vdpa", NULL,
};
static const struct qmp_schema_type net_client_driver = {
    .meta = QMP_META_ENUM, .values = qmp_net_netdev_types,
};
static const struct qmp_member netdev_base[] = {
    { "id", STR }, { "type", &net_client_driver }, { NULL },
};
static const struct qmp_variant netdev_variants[] = {
    { "nic", &netdev_nic }, { "user", &netdev_user }, { "tap", &netdev_tap },
    { "l2tpv3", &netdev_l2tpv3 }, { "socket", &netdev_socket },
    { "stream", &netdev_stream }, { "dgram", &netdev_dgram }, { "vde", &netdev_vde },
    { "bridge", &netdev_bridge }, { "hubport", &netdev_hubport },
    { "netmap", &netdev_netmap }, { "vhost-user", &netdev_vhost_user },
    { "vhost-vdpa", &netdev_vhost_vdpa }, { "none", &qmp_type_empty }, { NULL },
};
const struct qmp_schema_type qmp_args_netdev_add = {
    .meta = QMP_META_OBJECT, .members = netdev_base, .tag = "type",
    .variants = netdev_variants,
};

static const struct qmp_member netdev_del_members[] = { { "id", STR }, { NULL } };
const struct qmp_schema_type qmp_args_netdev_del = {
    .meta = QMP_META_OBJECT, .members = netdev_del_members,
};
static const struct qmp_member set_link_members[] = {
    { "name", STR }, { "up", BOOL }, { NULL },
};
const struct qmp_schema_type qmp_args_set_link = {
    .meta = QMP_META_OBJECT, .members = set_link_members,
};

/* ObjectType of QEMU 7.2, in its order; hyvm creates filter-dump at run time. */
const char *const qmp_net_object_types[] = {
    "authz-list", "authz-listfile", "authz-pam", "authz-simple", "can-bus",
    "can-host-socketcan", "colo-compare", "cryptodev-backend", "cryptodev-backend-builtin",
    "cryptodev-backend-lkcf", "cryptodev-vhost-user", "dbus-vmstate", "filter-buffer",
    "filter-dump", "filter-mirror", "filter-redirector", "filter-replay", "filter-rewriter",
    "input-barrier", "input-linux", "iothread", "main-loop", "memory-backend-epc",
    "memory-backend-file", "memory-backend-memfd", "memory-backend-ram", "pef-guest",
    "pr-manager-helper", "qtest", "rng-builtin", "rng-egd", "rng-random", "secret",
    "secret_keyring", "sev-guest", "thread-context", "s390-pv-guest", "throttle-group",
    "tls-creds-anon", "tls-creds-psk", "tls-creds-x509", "tls-cipher-suites",
    "x-remote-object", "x-vfio-user-server", NULL,
};
static const struct qmp_schema_type object_type = {
    .meta = QMP_META_ENUM, .values = qmp_net_object_types,
};
ENUM(net_filter_direction, "all", "rx", "tx");
ENUM(net_filter_insert, "before", "behind");
MEMBERS(filter_dump_props, { "netdev", STR }, { "queue", &net_filter_direction, OPT },
        { "status", STR, OPT }, { "position", STR, OPT },
        { "insert", &net_filter_insert, OPT }, { "file", STR }, { "maxlen", INT, OPT });
static const struct qmp_member object_base[] = {
    { "qom-type", &object_type }, { "id", STR }, { NULL },
};
/* Only the type hyvm creates here is described: its members are what
 * object-add checks. */
static const struct qmp_variant object_variants[] = {
    { "filter-dump", &filter_dump_props }, { NULL },
};
const struct qmp_schema_type qmp_args_object_add = {
    .meta = QMP_META_OBJECT, .members = object_base, .tag = "qom-type",
    .variants = object_variants,
};
static const struct qmp_member object_del_members[] = { { "id", STR }, { NULL } };
const struct qmp_schema_type qmp_args_object_del = {
    .meta = QMP_META_OBJECT, .members = object_del_members,
};

/* ---- helpers ---- */

static bool str_in(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(*list, s)) {
            return true;
        }
    }
    return false;
}

static JsonNode *empty_return(void)
{
    return json_node_init_object(json_node_alloc(), json_object_new());
}

/* A failure of net/ as QMP reports it: GenericError with its message. */
static JsonNode *qmp_net_fail(GError *err, GError **errp)
{
    g_set_error_literal(errp, QMP_ERROR, QMP_ERROR_GENERIC, err->message);
    g_error_free(err);
    return NULL;
}

static const struct qmp_variant *variant_find(const struct qmp_variant *v, const char *value)
{
    for (; v->value; v++) {
        if (!strcmp(v->value, value)) {
            return v;
        }
    }
    return NULL;
}

/*
 * QEMU's visitor checks a flat union's base and variant members as one
 * struct: missing and mistyped ones in order, then the unknown ones.
 */
static bool check_union(const struct qmp_member *base, const struct qmp_schema_type *variant,
                        JsonObject *args, GError **errp)
{
    g_autoptr(GArray) all = g_array_new(TRUE, TRUE, sizeof(struct qmp_member));

    for (const struct qmp_member *m = base; m->name; m++) {
        g_array_append_val(all, *m);
    }
    for (const struct qmp_member *m = variant ? variant->members : NULL; m && m->name; m++) {
        g_array_append_val(all, *m);
    }
    return qmp_schema_check_args((const struct qmp_member *)all->data, false, args, errp);
}

/* A [String] member: every element an object with exactly "str". */
static bool check_string_list(const char *name, JsonArray *a, GError **errp)
{
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *n = json_array_get_element(a, i);
        g_autoptr(GList) members = NULL;
        JsonNode *s;

        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Invalid parameter type for '%s[%u]', expected: object", name, i);
            return false;
        }
        s = json_object_get_member(json_node_get_object(n), "str");
        if (!s) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Parameter '%s[%u].str' is missing", name, i);
            return false;
        }
        if (!JSON_NODE_HOLDS_VALUE(s) || json_node_get_value_type(s) != G_TYPE_STRING) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Invalid parameter type for '%s[%u].str', expected: string", name, i);
            return false;
        }
        members = json_object_get_members(json_node_get_object(n));
        for (GList *l = members; l; l = l->next) {
            if (strcmp(l->data, "str")) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                            "Parameter '%s[%u].%s' is unexpected", name, i,
                            (const char *)l->data);
                return false;
            }
        }
    }
    return true;
}

/*
 * One JSON member as -netdev's keys: strings as they are, numbers in
 * decimal, booleans on/off, a [String] as the key repeated, an object
 * (stream's addr) as dotted keys, as QEMU's keyval reads them.
 */
static void kv_append_node(struct kv_list *a, const char *key, JsonNode *n)
{
    if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *arr = json_node_get_array(n);

        /* Checked for the [String] members; inside objects the type
         * refuses them before anything reads these. */
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            JsonNode *e = json_array_get_element(arr, i);
            JsonNode *s = JSON_NODE_HOLDS_OBJECT(e)
                              ? json_object_get_member(json_node_get_object(e), "str") : NULL;

            if (s && JSON_NODE_HOLDS_VALUE(s) && json_node_get_value_type(s) == G_TYPE_STRING) {
                kv_append(a, key, json_node_get_string(s));
            }
        }
        return;
    }
    if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObject *o = json_node_get_object(n);
        g_autoptr(GList) members = json_object_get_members(o);

        for (GList *l = members; l; l = l->next) {
            g_autofree char *sub = g_strdup_printf("%s.%s", key, (const char *)l->data);

            kv_append_node(a, sub, json_object_get_member(o, l->data));
        }
        return;
    }
    if (!JSON_NODE_HOLDS_VALUE(n)) {
        return;
    }
    switch (json_node_get_value_type(n)) {
    case G_TYPE_STRING:
        kv_append(a, key, json_node_get_string(n));
        break;
    case G_TYPE_BOOLEAN:
        kv_append(a, key, json_node_get_boolean(n) ? "on" : "off");
        break;
    case G_TYPE_INT64: {
        g_autofree char *s = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));

        kv_append(a, key, s);
        break;
    }
    default:
        break;
    }
}

/* args as -netdev's or -object's kv: the two base members first (tag,
 * then id), then the others in the order the client sent them. */
static struct kv_list *kv_from_args(JsonObject *args, const char *tag)
{
    struct kv_list *kv = kv_new();
    g_autoptr(GList) members = json_object_get_members(args);

    kv_append(kv, tag, json_object_get_string_member(args, tag));
    kv_append(kv, "id", json_object_get_string_member(args, "id"));
    for (GList *l = members; l; l = l->next) {
        if (strcmp(l->data, tag) && strcmp(l->data, "id")) {
            kv_append_node(kv, l->data, json_object_get_member(args, l->data));
        }
    }
    return kv;
}

/* The netdev or NIC named name (QEMU's set_link looks at both). */
struct net_client *qmp_net_client_find(const char *name)
{
    for (struct net_client *nc = net_client_next(NULL); nc; nc = net_client_next(nc)) {
        if (nc->name && !strcmp(nc->name, name)) {
            return nc;
        }
    }
    return NULL;
}

/* ---- QMP: netdevs ---- */

/* QEMU's order after the schema: duplicate, identifier, a type that is
 * no back end. */
static bool netdev_add_precheck(const char *type, const char *id, GError **errp)
{
    if (net_netdev_find(id)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Duplicate ID '%s'", id);
        return false;
    }
    if (!device_id_wellformed(id)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter 'id' expects an identifier");
        return false;
    }
    if (!strcmp(type, "nic") || !strcmp(type, "none")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "network backend '%s' is not compiled into this binary", type);
        return false;
    }
    return true;
}

JsonNode *qmp_netdev_add(JsonObject *args, GError **errp)
{
    const char *type = json_object_get_string_member(args, "type");
    const struct qmp_variant *v = variant_find(netdev_variants, type);
    struct kv_list *kv;
    GError *err = NULL;
    int ret;

    if (!check_union(netdev_base, v ? v->type : NULL, args, errp)) {
        return NULL;
    }
    for (const struct qmp_member *m = v ? v->type->members : NULL; m && m->name; m++) {
        if (m->type == &net_string_list && json_object_has_member(args, m->name) &&
            !check_string_list(m->name, json_object_get_array_member(args, m->name), errp)) {
            return NULL;
        }
    }
    if (!netdev_add_precheck(type, json_object_get_string_member(args, "id"), errp)) {
        return NULL;
    }
    kv = kv_from_args(args, "type");
    ret = net_netdev_add(kv, &err);
    kv_free(kv);
    return ret < 0 ? qmp_net_fail(err, errp) : empty_return();
}

JsonNode *qmp_netdev_del(JsonObject *args, GError **errp)
{
    const char *id = json_object_get_string_member(args, "id");
    GError *err = NULL;

    if (!net_netdev_find(id)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found", id);
        return NULL;
    }
    return net_netdev_del(id, &err) < 0 ? qmp_net_fail(err, errp) : empty_return();
}

JsonNode *qmp_set_link(JsonObject *args, GError **errp)
{
    const char *name = json_object_get_string_member(args, "name");
    GError *err = NULL;

    if (!qmp_net_client_find(name)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found",
                    name);
        return NULL;
    }
    if (net_set_link(name, json_object_get_boolean_member(args, "up"), &err) < 0) {
        return qmp_net_fail(err, errp);
    }
    return empty_return();
}

/* ---- QMP: objects ---- */

/* Checks common to object-add and object_add once the type is known to
 * be filter-dump: the id, and no other object by that id. */
static bool object_id_check(const char *id, GError **errp)
{
    if (!device_id_wellformed(id)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter 'id' expects an identifier");
        return false;
    }
    if (rng_backend_find(id)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "attempt to add duplicate property '%s' to object (type 'container')", id);
        return false;
    }
    return true;
}

static void object_not_built(const char *type, GError **errp)
{
    g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                "object type '%s' is not supported yet at run time", type);
}

/* maxlen as QEMU's object-add takes it: a JSON integer that fits 32 bits. */
static bool filter_maxlen_check(JsonObject *args, GError **errp)
{
    JsonNode *n = json_object_get_member(args, "maxlen");
    gint64 v;

    if (!n) {
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter 'maxlen' expects uint64");
        return false;
    }
    v = json_node_get_int(n);
    if (v < 0 || v > UINT32_MAX) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter 'maxlen' expects uint32_t");
        return false;
    }
    return true;
}

/* filter-dump's members, maxlen left to filter_maxlen_check (QEMU's words
 * for it are not the schema's). */
static bool filter_dump_check(JsonObject *args, GError **errp)
{
    g_autoptr(GArray) all = g_array_new(TRUE, TRUE, sizeof(struct qmp_member));

    for (const struct qmp_member *m = object_base; m->name; m++) {
        g_array_append_val(all, *m);
    }
    for (const struct qmp_member *m = filter_dump_props_members; m->name; m++) {
        struct qmp_member c = *m;

        if (!strcmp(c.name, "maxlen")) {
            c.type = &qmp_type_any;
        }
        g_array_append_val(all, c);
    }
    return qmp_schema_check_args((const struct qmp_member *)all->data, false, args, errp) &&
           filter_maxlen_check(args, errp);
}

JsonNode *qmp_object_add(JsonObject *args, GError **errp)
{
    const char *type = json_object_get_string_member(args, "qom-type");
    struct kv_list *kv;
    GError *err = NULL;
    int ret;

    if (strcmp(type, "filter-dump")) {
        object_not_built(type, errp);
        return NULL;
    }
    if (!filter_dump_check(args, errp) ||
        !object_id_check(json_object_get_string_member(args, "id"), errp)) {
        return NULL;
    }
    kv = kv_from_args(args, "qom-type");
    ret = net_filter_add(kv, &err);
    kv_free(kv);
    return ret < 0 ? qmp_net_fail(err, errp) : empty_return();
}

/* The checks of object-add, in its order, on -object's kv. */
bool qmp_net_object_check(const struct kv_list *kv, GError **errp)
{
    const char *type = kv_get(kv, "qom-type");

    if (!type) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter 'qom-type' is missing");
        return false;
    }
    if (!str_in(type, qmp_net_object_types)) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Parameter 'qom-type' does not accept value '%s'", type);
        return false;
    }
    if (!kv_get(kv, "id")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter 'id' is missing");
        return false;
    }
    if (strcmp(type, "filter-dump")) {
        object_not_built(type, errp);
        return false;
    }
    return object_id_check(kv_get(kv, "id"), errp);
}

/* -object rng backends stay: the device that uses one cannot let it go. */
bool qmp_net_object_del_rng(const char *id, GError **errp)
{
    if (!rng_backend_find(id)) {
        return false;
    }
    g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                "object '%s' is in use, can not be deleted", id);
    return true;
}

JsonNode *qmp_object_del(JsonObject *args, GError **errp)
{
    const char *id = json_object_get_string_member(args, "id");
    GError *err = NULL;

    if (qmp_net_object_del_rng(id, errp)) {
        return NULL;
    }
    return net_filter_del(id, &err) < 0 ? qmp_net_fail(err, errp) : empty_return();
}

