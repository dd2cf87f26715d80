/*
 * Networking as the monitors see it (QEMU 7.2's qapi/net.json, qom.json
 * and hmp-commands.hx): QMP's netdev_add, netdev_del, set_link, object-add
 * and object-del (filter-dump), HMP's netdev_add, netdev_del, set_link,
 * hostfwd_add, hostfwd_remove, object_add, object_del, info network and
 * info usernet.  Monitors reach the network only through net/net.h.
 *
 * Threads: main thread, big lock held (QMP and HMP run there).
 */
#ifndef HYVM_QMP_NET_H
#define HYVM_QMP_NET_H

#include <stdbool.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "qapi/qmp-schema.h"

struct hmp_ctx;
struct kv_list;
struct net_client;

/* QMP (rows in qmp-commands.c) and their argument types. */
JsonNode *qmp_netdev_add(JsonObject *args, GError **errp);
JsonNode *qmp_netdev_del(JsonObject *args, GError **errp);
JsonNode *qmp_set_link(JsonObject *args, GError **errp);
JsonNode *qmp_object_add(JsonObject *args, GError **errp);
JsonNode *qmp_object_del(JsonObject *args, GError **errp);
extern const struct qmp_schema_type qmp_args_netdev_add, qmp_args_netdev_del,
    qmp_args_set_link, qmp_args_object_add, qmp_args_object_del;

/* For hmp-net.c: the client (NIC or netdev) named name, or NULL; the
 * checks object-add makes on -object's kv; an rng backend's refusal of
 * object-del (true with *errp set when id names one); ObjectType's values. */
struct net_client *qmp_net_client_find(const char *name);
bool qmp_net_object_check(const struct kv_list *kv, GError **errp);
bool qmp_net_object_del_rng(const char *id, GError **errp);
extern const char *const qmp_net_object_types[];
/* NetClientDriver's values (netdev_add's type=). */
extern const char *const qmp_net_netdev_types[];

/* HMP (hmp-net.c; rows in hmp.c and hmp-info.c). */
void hmp_netdev_add(struct hmp_ctx *x, const char *args);
void hmp_netdev_del(struct hmp_ctx *x, const char *args);
void hmp_set_link(struct hmp_ctx *x, const char *args);
void hmp_hostfwd_add(struct hmp_ctx *x, const char *args);
void hmp_hostfwd_remove(struct hmp_ctx *x, const char *args);
void hmp_object_add(struct hmp_ctx *x, const char *args);
void hmp_object_del(struct hmp_ctx *x, const char *args);
void hmp_info_network(struct hmp_ctx *x, const char *args);
void hmp_info_usernet(struct hmp_ctx *x, const char *args);

#endif
