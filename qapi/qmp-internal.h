/*
 * Inside QMP: the command table and the error classes its handlers return.
 * Threads: main thread, big lock held.
 */
#ifndef HYVM_QMP_INTERNAL_H
#define HYVM_QMP_INTERNAL_H

#include "qapi/qmp.h"
#include "qapi/qmp-schema.h"

/* QEMU's ErrorClass names, in the order qmp_error_class_name() knows them. */
enum qmp_error_class {
    QMP_ERROR_GENERIC,              /* "GenericError" */
    QMP_ERROR_COMMAND_NOT_FOUND,    /* "CommandNotFound" */
    QMP_ERROR_DEVICE_NOT_ACTIVE,    /* "DeviceNotActive" */
    QMP_ERROR_DEVICE_NOT_FOUND,     /* "DeviceNotFound" */
    QMP_ERROR_KVM_MISSING_CAP,      /* "KVMMissingCap" */
};
#define QMP_ERROR (qmp_error_quark())
GQuark qmp_error_quark(void);
const char *qmp_error_class_name(int code);

/*
 * A handler gets its arguments checked against arg_type (an empty object
 * when the client sent none) and returns the "return" value, or NULL with
 * *errp set (domain QMP_ERROR, code an enum qmp_error_class).  The same
 * row describes the command in query-qmp-schema (qmp-schema.c).
 */
struct qmp_command {
    const char *name;
    JsonNode *(*run)(JsonObject *args, GError **errp);
    const struct qmp_schema_type *arg_type; /* an object; NULL for none */
    const struct qmp_schema_type *ret;      /* NULL: the empty object */
    bool extra_args_ok;             /* members beyond args are allowed (device_add) */
};

/* query-version's value, the same object as the greeting's "version". */
JsonNode *qmp_version_node(void);

const struct qmp_command *qmp_command_find(const char *name);
/* Row i of the table, or NULL past its end. */
const struct qmp_command *qmp_command_at(unsigned i);
/* Checks args against cmd's schema; GenericError in QEMU's words. */
bool qmp_check_args(const struct qmp_command *cmd, JsonObject *args, GError **errp);

/* A JSON parse error of json-glib in QEMU's words ("JSON parse error, ..."). */
char *qmp_parse_error_desc(const GError *err, const char *text, size_t len);

#endif
