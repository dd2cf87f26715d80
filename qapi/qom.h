/*
 * The QOM tree a QMP client sees through qom-list and qom-get: the paths
 * QEMU has for what hyvm builds (/machine, its vCPUs under
 * /machine/unattached, -device instances under /machine/peripheral and
 * /machine/peripheral-anon, /chardevs, /objects).  The tree is built from
 * the machine's state on each call, so it is never out of date.
 *
 * Threads: main thread, big lock held.
 */
#ifndef HYVM_QOM_H
#define HYVM_QOM_H

#include <json-glib/json-glib.h>

JsonNode *qmp_qom_list(JsonObject *args, GError **errp);
JsonNode *qmp_qom_get(JsonObject *args, GError **errp);
JsonNode *qmp_qom_set(JsonObject *args, GError **errp);
/* "/machine/unattached/device[N]" of vCPU index, as QEMU numbers them. */
char *qom_cpu_path(unsigned index);

#endif
