/*
 * -object filter-*, as QEMU 7.2's netfilter: the options every filter
 * takes (id, netdev, queue=all|rx|tx, status=on|off, position=head|tail|
 * id=X, insert=before|behind), the list of filters on each netdev, and
 * running them on the frames net_send() passes (net/net.h).
 *
 * -object options are checked while parsing and kept; the filters are
 * created by net_filters_init() once the netdevs exist, in command-line
 * order, with the checks QEMU makes at creation (in its order: status,
 * the type's properties, netdev, position, then the type opens its file).
 * object-add creates one at once; object-del and a netdev going free them.
 *
 * As QEMU's, the filters of a netdev see the frames it sends ("tx") in
 * list order and those it receives ("rx") in reverse order.
 *
 * Threads: big lock held (parse and start-up on the main thread; frames
 * from vCPU threads and main-loop callbacks).
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "net/filter-internal.h"
#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"

/* -object filter-* options kept while parsing (struct kv_list *). */
static GPtrArray *net_filter_pending;

static const struct net_filter_type *const net_filter_types[] = {
    &net_filter_dump_type,
};

/* The keys every filter takes, beside its type's. */
static const char *const net_filter_common_keys[] = {
    "qom-type", "id", "netdev", "queue", "status", "position", "insert", NULL,
};

static const char *const net_filter_queue_names[] = {
    [NET_FILTER_ALL] = "all", [NET_FILTER_RX] = "rx", [NET_FILTER_TX] = "tx",
};

static struct net_filter_priv *net_filter_priv(struct net_filter *f)
{
    return container_of(f, struct net_filter_priv, f);
}

static const struct net_filter_priv *net_filter_cpriv(const struct net_filter *f)
{
    return container_of(f, const struct net_filter_priv, f);
}

static const struct net_filter_type *net_filter_type_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(net_filter_types); i++) {
        if (name && !strcmp(net_filter_types[i]->name, name)) {
            return net_filter_types[i];
        }
    }
    return NULL;
}

static bool net_filter_key_known(const struct net_filter_type *t, const char *key)
{
    for (unsigned i = 0; net_filter_common_keys[i]; i++) {
        if (!strcmp(key, net_filter_common_keys[i])) {
            return true;
        }
    }
    for (unsigned i = 0; t->keys[i]; i++) {
        if (!strcmp(key, t->keys[i])) {
            return true;
        }
    }
    return false;
}

static int net_filter_fail(GError **errp, int ret, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int net_filter_fail(GError **errp, int ret, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(HYVM_ERROR, HYVM_ERROR_FAILED, fmt, ap));
    va_end(ap);
    return ret;
}

/* QOM's object names: a letter, then letters, digits, '-', '.', '_'. */
static bool net_filter_id_valid(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_') {
            return false;
        }
    }
    return true;
}

static int net_filter_parse_queue(const char *s, enum net_filter_queue *out)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(net_filter_queue_names); i++) {
        if (!strcmp(s, net_filter_queue_names[i])) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

/*
 * The keys of one -object filter-* / object-add, in the order QEMU's
 * option visitor reports them: the common keys, the type's, then a key
 * nobody takes (worded per front end: qmp for object-add).
 */
static int net_filter_check(const struct kv_list *kv, bool qmp, GError **errp)
{
    const struct net_filter_type *t = net_filter_type_find(kv_get(kv, "qom-type"));
    const char *id = kv_get(kv, "id");
    const char *v;
    enum net_filter_queue q;

    if (!t) {
        return net_filter_fail(errp, -EINVAL, "Parameter 'qom-type' does not accept value '%s'",
                               kv_get(kv, "qom-type") ? kv_get(kv, "qom-type") : "");
    }
    if (!id) {
        return net_filter_fail(errp, -EINVAL, "Parameter 'id' is missing");
    }
    if (!net_filter_id_valid(id)) {
        return net_filter_fail(errp, -EINVAL, "Parameter 'id' expects an identifier");
    }
    if (!kv_get(kv, "netdev")) {
        return net_filter_fail(errp, -EINVAL, "Parameter 'netdev' is missing");
    }
    v = kv_get(kv, "queue");
    if (v && net_filter_parse_queue(v, &q) < 0) {
        return net_filter_fail(errp, -EINVAL, "Parameter 'queue' does not accept value '%s'", v);
    }
    v = kv_get(kv, "insert");
    if (v && strcmp(v, "before") && strcmp(v, "behind")) {
        return net_filter_fail(errp, -EINVAL, "Parameter 'insert' does not accept value '%s'",
                               v);
    }
    if (t->check(kv, errp) < 0) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        if (!net_filter_key_known(t, kv->items[i].key)) {
            return net_filter_fail(errp, -EINVAL,
                                   qmp ? "Parameter '%s' is unexpected" : "Invalid parameter '%s'",
                                   kv->items[i].key);
        }
    }
    return 0;
}

/* ---- the lists ---- */

struct net_filter *net_filter_find(const char *id)
{
    for (struct net_client *nc = net_client_next(NULL); nc; nc = net_client_next(nc)) {
        for (GList *l = nc->filters; l; l = l->next) {
            struct net_filter *f = l->data;

            if (!strcmp(f->id, id)) {
                return f;
            }
        }
    }
    return NULL;
}

/* Frees a filter that is in no list. */
static void net_filter_free(struct net_filter *f)
{
    struct net_filter_priv *p = net_filter_priv(f);

    g_free(f->id);
    g_free(p->position);
    f->ops->cleanup(f);
}

/* position=: where in nd's list; *at is the filter named by id=X, or NULL
 * for head/tail. */
static int net_filter_position(const char *pos, struct net_client *nd, struct net_filter **at,
                               GError **errp)
{
    *at = NULL;
    if (!strcmp(pos, "head") || !strcmp(pos, "tail")) {
        return 0;
    }
    if (!g_str_has_prefix(pos, "id=")) {
        return net_filter_fail(errp, -EINVAL, "Parameter 'position' expects 'head', 'tail' "
                               "or 'id=<id>'");
    }
    *at = net_filter_find(pos + 3);
    if (!*at) {
        return net_filter_fail(errp, -ENOENT, "filter '%s' not found", pos + 3);
    }
    if ((*at)->netdev != nd) {
        return net_filter_fail(errp, -EINVAL, "filter '%s' belongs to a different netdev",
                               pos + 3);
    }
    return 0;
}

static void net_filter_link(struct net_filter *f, struct net_filter *at)
{
    struct net_filter_priv *p = net_filter_priv(f);
    struct net_client *nd = f->netdev;

    if (at) {
        GList *l = g_list_find(nd->filters, at);

        nd->filters = g_list_insert_before(nd->filters, p->insert_before ? l : l->next, f);
    } else if (!strcmp(p->position, "head")) {
        nd->filters = g_list_prepend(nd->filters, f);
    } else {
        nd->filters = g_list_append(nd->filters, f);
    }
}

int net_filter_set_status(struct net_filter *f, const char *value, GError **errp)
{
    if (strcmp(value, "on") && strcmp(value, "off")) {
        return net_filter_fail(errp, -EINVAL,
                               "Invalid value for netfilter status, should be 'on' or 'off'");
    }
    f->on = !strcmp(value, "on");
    return 0;
}

/*
 * Creates and attaches the filter kv describes (already checked), QEMU's
 * creation checks in its order.  qmp: object-add's wording of a taken id.
 */
static int net_filter_create(const struct kv_list *kv, bool qmp, GError **errp)
{
    const struct net_filter_type *t = net_filter_type_find(kv_get(kv, "qom-type"));
    const char *id = kv_get(kv, "id");
    const char *status = kv_get(kv, "status");
    const char *v;
    struct net_filter_priv *p;
    struct net_filter *f, *at;
    struct net_client *nd;

    if (status && strcmp(status, "on") && strcmp(status, "off")) {
        return net_filter_fail(errp, -EINVAL,
                               "Invalid value for netfilter status, should be 'on' or 'off'");
    }
    p = t->create(kv, errp);
    if (!p) {
        return -EINVAL;
    }
    f = &p->f;
    p->type = t;
    f->id = g_strdup(id);
    f->on = !status || !strcmp(status, "on");
    f->queue = NET_FILTER_ALL;
    v = kv_get(kv, "queue");
    if (v) {
        net_filter_parse_queue(v, &f->queue);
    }
    v = kv_get(kv, "position");
    p->position = g_strdup(v ? v : "tail");
    v = kv_get(kv, "insert");
    p->insert_before = v && !strcmp(v, "before");

    if (net_filter_find(id)) {
        net_filter_fail(errp, -EEXIST, qmp ? "attempt to add duplicate property '%s' to object "
                        "(type 'container')" : "Duplicate ID '%s' for object", id);
        goto fail;
    }
    nd = net_netdev_find(kv_get(kv, "netdev"));
    if (!nd) {
        net_filter_fail(errp, -ENOENT, "Parameter 'netdev' expects a network backend id");
        goto fail;
    }
    if (net_filter_position(p->position, nd, &at, errp) < 0) {
        goto fail;
    }
    f->netdev = nd;
    if (t->setup(f, errp) < 0) {
        goto fail;
    }
    net_filter_link(f, at);
    return 0;

fail:
    net_filter_free(f);
    return -EINVAL;
}

/* ---- the seam (net/net.h) ---- */

void net_filters_run(struct net_client *netdev, bool tx, const struct iovec *iov,
                     unsigned cnt)
{
    enum net_filter_queue want = tx ? NET_FILTER_TX : NET_FILTER_RX;
    GList *l = tx ? netdev->filters : g_list_last(netdev->filters);

    for (; l; l = tx ? l->next : l->prev) {
        struct net_filter *f = l->data;

        if (f->on && (f->queue == NET_FILTER_ALL || f->queue == want)) {
            f->ops->frame(f, tx, iov, cnt, netdev->vnet_hdr_len);
        }
    }
}

int net_filter_cli_add(struct kv_list *kv, GError **errp)
{
    const char *id = kv_get(kv, "id");

    if (net_filter_check(kv, false, errp) < 0) {
        return -EINVAL;
    }
    for (unsigned i = 0; net_filter_pending && i < net_filter_pending->len; i++) {
        if (!strcmp(kv_get(g_ptr_array_index(net_filter_pending, i), "id"), id)) {
            return net_filter_fail(errp, -EEXIST, "Duplicate ID '%s' for object", id);
        }
    }
    if (!net_filter_pending) {
        net_filter_pending = g_ptr_array_new_with_free_func((GDestroyNotify)kv_free);
    }
    g_ptr_array_add(net_filter_pending, kv);
    return 0;
}

void net_filter_cli_clear(void)
{
    if (net_filter_pending) {
        g_ptr_array_free(net_filter_pending, TRUE);
        net_filter_pending = NULL;
    }
}

/* The kept options are used up: a second call creates nothing twice. */
int net_filters_init(GError **errp)
{
    int ret = 0;

    for (unsigned i = 0; net_filter_pending && i < net_filter_pending->len && !ret; i++) {
        ret = net_filter_create(g_ptr_array_index(net_filter_pending, i), false, errp);
    }
    net_filter_cli_clear();
    return ret;
}

int net_filter_add(const struct kv_list *kv, GError **errp)
{
    if (net_filter_check(kv, true, errp) < 0) {
        return -EINVAL;
    }
    return net_filter_create(kv, true, errp);
}

int net_filter_del(const char *id, GError **errp)
{
    struct net_filter *f = net_filter_find(id);

    if (!f) {
        return net_filter_fail(errp, -ENOENT, "object '%s' not found", id);
    }
    f->netdev->filters = g_list_remove(f->netdev->filters, f);
    net_filter_free(f);
    return 0;
}

void net_filters_detach_all(struct net_client *nc)
{
    GList *l = nc->filters;

    nc->filters = NULL;
    g_list_free_full(l, (GDestroyNotify)net_filter_free);
}

void net_filters_info(const struct net_client *nc, GString *out)
{
    if (nc->filters) {
        g_string_append(out, "filters:\n");
    }
    for (GList *l = nc->filters; l; l = l->next) {
        const struct net_filter *f = l->data;
        const struct net_filter_priv *p = net_filter_cpriv(f);

        g_string_append_printf(out, "  - %s: type=%s", f->id, p->type->name);
        p->type->info(f, out);
        g_string_append_printf(out, ",position=%s,status=%s,insert=%s,netdev=%s,queue=%s\n",
                               p->position, f->on ? "on" : "off",
                               p->insert_before ? "before" : "behind", f->netdev->name,
                               net_filter_queue_names[f->queue]);
    }
}
