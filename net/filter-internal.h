/*
 * Private to net/filter*.c (and their unit test): what a filter type
 * (filter-dump) gives the generic filter code of net/filter.c, and the
 * generic state kept beside struct net_filter.
 *
 * net/filter.c owns the options common to every filter (id, netdev,
 * queue, status, position, insert), the per-netdev lists and the running;
 * a type owns its own keys, its state and what it does with frames.
 *
 * Threads: big lock held.
 */
#ifndef HYVM_NET_FILTER_INTERNAL_H
#define HYVM_NET_FILTER_INTERNAL_H

#include <stdbool.h>
#include <glib.h>

#include "net/net.h"

struct kv_list;

/* The generic part of every filter: a type's state struct embeds it, and
 * filter.c reaches it from a struct net_filter with container_of. */
struct net_filter_priv {
    struct net_filter f;
    const struct net_filter_type *type;
    char *position;              /* position= as given: "tail", "head", "id=X" */
    bool insert_before;          /* insert=before */
};

struct net_filter_type {
    const char *name;            /* qom-type: "filter-dump" */
    const char *const *keys;     /* the type's own keys */
    /* Parse time: the type's keys, QEMU's messages ("Parameter 'file' is
     * missing"); nothing opened. */
    int (*check)(const struct kv_list *kv, GError **errp);
    /* Creation: a zeroed filter with the type's properties set (the
     * checks QEMU makes when it sets them); f.ops set, nothing opened. */
    struct net_filter_priv *(*create)(const struct kv_list *kv, GError **errp);
    /* Once the netdev is known: opens what the filter writes to. */
    int (*setup)(struct net_filter *f, GError **errp);
    /* "info network": the type's properties as QEMU prints them first,
     * ",file=out.pcap,maxlen=65536". */
    void (*info)(const struct net_filter *f, GString *out);
};

/* net/filter-dump.c */
extern const struct net_filter_type net_filter_dump_type;

#endif
