/*
 * The balloon as the monitors see it (QEMU's sysemu/balloon.h and
 * qapi/machine.json): one balloon device at most registers itself here;
 * QMP's balloon and query-balloon, HMP's balloon and info balloon, the
 * BALLOON_CHANGE event and the device's QOM properties guest-stats and
 * guest-stats-polling-interval go through it.  Monitors never reach into
 * the device (hw/virtio/virtio-balloon.c) other than by these calls.
 *
 * Threads: main thread or a vCPU thread, always with the big lock held.
 */
#ifndef HYVM_QMP_BALLOON_H
#define HYVM_QMP_BALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "qapi/qmp-schema.h"

struct dev_config;
struct hmp_ctx;

/* The statistics the driver reports (virtio 1.2 section 5.5.6.3). */
#define BALLOON_STAT_NR 10

/* What the balloon device gives the monitors. */
struct balloon_ops {
    /* Ask the guest to leave itself target bytes (0 < target). */
    void (*set_target)(void *opaque, uint64_t target);
    /* Bytes the guest has now: RAM minus what the driver says it gave back. */
    uint64_t (*actual)(void *opaque);
    /* The last statistics (UINT64_MAX: not reported) and when (s, 0: never). */
    void (*get_stats)(void *opaque, uint64_t stats[BALLOON_STAT_NR], int64_t *last_update);
    /* guest-stats-polling-interval in seconds, 0: off. */
    int64_t (*get_poll_interval)(void *opaque);
    bool (*set_poll_interval)(void *opaque, int64_t secs, GError **errp);
};

/*
 * Registers the one balloon, created from cfg.  QEMU 7.2 allows one: a
 * second fails with "Only one balloon device is supported".
 */
int balloon_add_handler(const struct balloon_ops *ops, void *opaque,
                        const struct dev_config *cfg, GError **errp);
void balloon_remove_handler(void *opaque);

/*
 * The driver changed "actual": BALLOON_CHANGE {"actual": bytes} to QMP
 * clients, throttled as QEMU's monitor does it (at most one a second, the
 * latest value sent when the second is over).
 */
void balloon_event_change(uint64_t actual);

/*
 * For qom.c: whether cfg is the balloon device, and its QOM properties
 * beyond the -device ones: {name, type} pairs, NULL-terminated.
 */
bool balloon_qom_owns(const struct dev_config *cfg);
extern const char *const balloon_qom_props[][2];
JsonNode *balloon_qom_get(const char *prop, GError **errp);
bool balloon_qom_set(const char *prop, JsonNode *value, GError **errp);

/* QMP (rows in qmp-commands.c) and their types (qmp-schema.c's events too). */
JsonNode *qmp_balloon(JsonObject *args, GError **errp);
JsonNode *qmp_query_balloon(JsonObject *args, GError **errp);
extern const struct qmp_schema_type qmp_args_balloon, qmp_ret_balloon_info,
    qmp_event_balloon_change;

/* HMP (rows in hmp.c and hmp-info.c). */
void hmp_balloon(struct hmp_ctx *x, const char *args);
void hmp_info_balloon(struct hmp_ctx *x, const char *args);

#endif
