/*
 * QMP's block commands (qmp-block.c); the rows are in qmp-commands.c.
 * Threads: main thread, big lock held.
 */
#ifndef HYVM_QMP_BLOCK_H
#define HYVM_QMP_BLOCK_H

#include <glib.h>
#include <json-glib/json-glib.h>

JsonNode *qmp_query_block(JsonObject *args, GError **errp);
JsonNode *qmp_query_blockstats(JsonObject *args, GError **errp);
JsonNode *qmp_block_resize(JsonObject *args, GError **errp);
JsonNode *qmp_blockdev_snapshot_sync(JsonObject *args, GError **errp);
JsonNode *qmp_eject(JsonObject *args, GError **errp);
JsonNode *qmp_blockdev_change_medium(JsonObject *args, GError **errp);

#endif
