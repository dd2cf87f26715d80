/*
 * The balloon's monitor side (see qmp-balloon.h): the one registered
 * balloon, QMP balloon and query-balloon, HMP balloon and info balloon,
 * the throttled BALLOON_CHANGE event and the QOM properties.  Replies and
 * messages are QEMU 7.2's (qapi/machine.json, monitor/hmp-cmds.c).
 *
 * Threads: big lock held (QMP and HMP on the main thread; the event also
 * from a vCPU thread writing the device's config).  The event throttle's
 * timer runs on the main loop.
 */
#include <errno.h>
#include <string.h>

#include "hw/device.h"
#include "qapi/hmp-internal.h"
#include "qapi/qmp-balloon.h"
#include "qapi/qmp-internal.h"
#include "system/error.h"

/* ---- the one balloon ---- */

static struct {
    const struct balloon_ops *ops;
    void *opaque;
    const struct dev_config *cfg;
} balloon;

int balloon_add_handler(const struct balloon_ops *ops, void *opaque,
                        const struct dev_config *cfg, GError **errp)
{
    if (balloon.ops) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Only one balloon device is supported");
        return -EBUSY;
    }
    balloon.ops = ops;
    balloon.opaque = opaque;
    balloon.cfg = cfg;
    return 0;
}

void balloon_remove_handler(void *opaque)
{
    if (balloon.opaque == opaque) {
        memset(&balloon, 0, sizeof(balloon));
    }
}

/* QEMU's check before any balloon command: DeviceNotActive. */
static bool balloon_active(GError **errp)
{
    if (!balloon.ops) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_ACTIVE,
                    "No balloon device has been activated");
        return false;
    }
    return true;
}

/* ---- BALLOON_CHANGE, throttled ---- */

/* QEMU's monitor_qapi_event_conf: BALLOON_CHANGE at most once per second. */
#define BALLOON_EVENT_RATE_MS 1000

static struct {
    guint timer;            /* a period is running */
    bool pending;           /* an event came in it */
    uint64_t pending_actual;
} throttle;

static void balloon_event_send(uint64_t actual)
{
    JsonObject *data = json_object_new();

    json_object_set_int_member(data, "actual", (gint64)actual);
    qmp_event_emit("BALLOON_CHANGE", data);
}

static gboolean balloon_event_period_end(gpointer opaque)
{
    if (!throttle.pending) {
        throttle.timer = 0;
        return G_SOURCE_REMOVE;
    }
    /* The latest value goes out now and starts another period. */
    throttle.pending = false;
    balloon_event_send(throttle.pending_actual);
    return G_SOURCE_CONTINUE;
}

void balloon_event_change(uint64_t actual)
{
    if (throttle.timer) {
        throttle.pending = true;
        throttle.pending_actual = actual;
        return;
    }
    balloon_event_send(actual);
    throttle.timer = g_timeout_add(BALLOON_EVENT_RATE_MS, balloon_event_period_end, NULL);
}

/* ---- QMP ---- */

#define OBJ(var, ...)                                                                      \
    static const struct qmp_member var##_members[] = { __VA_ARGS__, { NULL } };            \
    const struct qmp_schema_type var = { .meta = QMP_META_OBJECT, .members = var##_members }

OBJ(qmp_args_balloon, { "value", &qmp_type_int });
OBJ(qmp_ret_balloon_info, { "actual", &qmp_type_int });
OBJ(qmp_event_balloon_change, { "actual", &qmp_type_int });

/* QEMU's qmp_balloon(): a target of 0 or less is not a size; a target
 * beyond RAM is clamped by the device. */
static bool balloon_set_target(int64_t target, GError **errp)
{
    if (!balloon_active(errp)) {
        return false;
    }
    if (target <= 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter 'target' expects a size");
        return false;
    }
    balloon.ops->set_target(balloon.opaque, (uint64_t)target);
    return true;
}

JsonNode *qmp_balloon(JsonObject *args, GError **errp)
{
    if (!balloon_set_target(json_object_get_int_member(args, "value"), errp)) {
        return NULL;
    }
    return json_node_init_object(json_node_alloc(), json_object_new());
}

JsonNode *qmp_query_balloon(JsonObject *args, GError **errp)
{
    JsonObject *o;

    if (!balloon_active(errp)) {
        return NULL;
    }
    o = json_object_new();
    json_object_set_int_member(o, "actual", (gint64)balloon.ops->actual(balloon.opaque));
    return json_node_init_object(json_node_alloc(), o);
}

/* ---- QOM ---- */

const char *const balloon_qom_props[][2] = {
    { "guest-stats-polling-interval", "int" },
    { "guest-stats", "guest statistics" },
    { NULL, NULL },
};

bool balloon_qom_owns(const struct dev_config *cfg)
{
    return balloon.ops && cfg && balloon.cfg == cfg;
}

/* QEMU's names, in the order its qom-get prints them (its QDict's). */
static const struct {
    const char *name;
    unsigned tag;
} balloon_stat_names[BALLOON_STAT_NR] = {
    { "stat-htlb-pgalloc", 8 }, { "stat-swap-out", 1 }, { "stat-available-memory", 6 },
    { "stat-htlb-pgfail", 9 }, { "stat-free-memory", 4 }, { "stat-minor-faults", 3 },
    { "stat-major-faults", 2 }, { "stat-total-memory", 5 }, { "stat-swap-in", 0 },
    { "stat-disk-caches", 7 },
};

/* A uint64 as QEMU prints it; json-glib holds int64, so what is above
 * goes through QMP's uint64 marker (qmp-json.c). */
static JsonNode *u64_node(uint64_t v)
{
    g_autofree char *s = NULL;

    if (v <= G_MAXINT64) {
        return json_node_init_int(json_node_alloc(), (gint64)v);
    }
    s = g_strdup_printf("%s%" G_GUINT64_FORMAT, qmp_json_marker(), v);
    return json_node_init_string(json_node_alloc(), s);
}

static JsonNode *balloon_stats_node(void)
{
    uint64_t stats[BALLOON_STAT_NR];
    int64_t last_update = 0;
    JsonObject *o = json_object_new(), *st = json_object_new();

    balloon.ops->get_stats(balloon.opaque, stats, &last_update);
    for (unsigned i = 0; i < BALLOON_STAT_NR; i++) {
        json_object_set_member(st, balloon_stat_names[i].name,
                               u64_node(stats[balloon_stat_names[i].tag]));
    }
    json_object_set_object_member(o, "stats", st);
    json_object_set_int_member(o, "last-update", last_update);
    return json_node_init_object(json_node_alloc(), o);
}

static void balloon_prop_not_found(const char *prop, GError **errp)
{
    g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                "Property 'virtio-balloon-device.%s' not found", prop);
}

JsonNode *balloon_qom_get(const char *prop, GError **errp)
{
    if (!balloon_active(errp)) {
        return NULL;
    }
    if (!strcmp(prop, "guest-stats")) {
        return balloon_stats_node();
    }
    if (!strcmp(prop, "guest-stats-polling-interval")) {
        return json_node_init_int(json_node_alloc(),
                                  balloon.ops->get_poll_interval(balloon.opaque));
    }
    balloon_prop_not_found(prop, errp);
    return NULL;
}

bool balloon_qom_set(const char *prop, JsonNode *value, GError **errp)
{
    if (!balloon_active(errp)) {
        return false;
    }
    if (!strcmp(prop, "guest-stats")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Property 'virtio-balloon-device.guest-stats' is not writable");
        return false;
    }
    if (strcmp(prop, "guest-stats-polling-interval")) {
        balloon_prop_not_found(prop, errp);
        return false;
    }
    if (!JSON_NODE_HOLDS_VALUE(value) || json_node_get_value_type(value) != G_TYPE_INT64) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Invalid parameter type for '%s', expected: integer", prop);
        return false;
    }
    return balloon.ops->set_poll_interval(balloon.opaque, json_node_get_int(value), errp);
}

/* ---- HMP ---- */

/*
 * QEMU reads the target as an "M" argument: an expression, negative
 * refused, in MiB.  hyvm takes the numbers of that expression (decimal,
 * 0x hex, 0 octal, a sign), which is what people type.
 */
static bool hmp_parse_mib(struct hmp_ctx *x, const char **args, int64_t *mib)
{
    const char *p = *args;
    bool neg = false;
    char *end;
    guint64 v;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    for (; *p == '-' || *p == '+'; p++) {
        neg ^= *p == '-';
        while (p[1] == ' ' || p[1] == '\t') {
            p++;
        }
    }
    if (!*p) {
        hmp_printf(x, "unexpected end of expression\n");
        hmp_try_help(x);
        return false;
    }
    if (!g_ascii_isdigit(*p)) {
        hmp_printf(x, "invalid char '%c' in expression\n", *p);
        hmp_try_help(x);
        return false;
    }
    errno = 0;
    v = g_ascii_strtoull(p, &end, 0);
    if (errno == ERANGE) {
        hmp_printf(x, "number too large\n");
        hmp_try_help(x);
        return false;
    }
    *mib = neg ? -(int64_t)v : (int64_t)v;
    if (*mib < 0) {
        hmp_printf(x, "enter a positive value\n");
        hmp_try_help(x);
        return false;
    }
    *args = end;
    return true;
}

void hmp_balloon(struct hmp_ctx *x, const char *args)
{
    g_autoptr(GError) err = NULL;
    int64_t mib;

    if (!hmp_parse_mib(x, &args, &mib) || !hmp_no_args(x, args)) {
        return;
    }
    if (!balloon_set_target((int64_t)((uint64_t)mib << 20), &err)) {
        hmp_printf(x, "Error: %s\n", err->message);
    }
}

void hmp_info_balloon(struct hmp_ctx *x, const char *args)
{
    g_autoptr(GError) err = NULL;

    if (!hmp_no_args(x, args)) {
        return;
    }
    if (!balloon_active(&err)) {
        hmp_printf(x, "Error: %s\n", err->message);
        return;
    }
    hmp_printf(x, "balloon: actual=%" G_GUINT64_FORMAT "\n",
               balloon.ops->actual(balloon.opaque) >> 20);
}
