/*
 * QMP's types, described once as data: the dispatcher checks arguments
 * against them and query-qmp-schema prints them in QEMU's SchemaInfo form
 * (qapi/introspect.json), so the two can never disagree (DESIGN.md, "QMP").
 *
 * Threads: const data; the functions run on the main thread.
 */
#ifndef HYVM_QMP_SCHEMA_H
#define HYVM_QMP_SCHEMA_H

#include <stdbool.h>
#include <glib.h>
#include <json-glib/json-glib.h>

enum qmp_meta {
    QMP_META_BUILTIN,
    QMP_META_ENUM,
    QMP_META_ARRAY,
    QMP_META_OBJECT,
};

struct qmp_schema_type;

struct qmp_member {
    const char *name;
    const struct qmp_schema_type *type;
    bool optional;
};

struct qmp_variant {
    const char *value;                   /* the tag's value ("case") */
    const struct qmp_schema_type *type;  /* an object type */
};

struct qmp_schema_type {
    enum qmp_meta meta;
    const char *name;                    /* builtins only: "str", "int", ... */
    const char *json_type;               /* builtins: "string", "int", ... */
    const char *const *values;           /* enum: NULL-terminated */
    const struct qmp_schema_type *element;   /* array */
    const struct qmp_member *members;    /* object: {NULL}-terminated, or NULL */
    const char *tag;                     /* object with variants: the tag member */
    const struct qmp_variant *variants;  /* {NULL}-terminated */
};

extern const struct qmp_schema_type qmp_type_str, qmp_type_int, qmp_type_bool,
    qmp_type_number, qmp_type_any, qmp_type_null, qmp_type_empty;

/* An event's name and its data type (NULL: no data). */
struct qmp_event_def {
    const char *name;
    const struct qmp_schema_type *data;
};
extern const struct qmp_event_def qmp_events[];

/*
 * Checks a command's arguments against its argument members, in QEMU's
 * words: "Parameter 'X' is missing", "Invalid parameter type for 'X',
 * expected: integer", "Parameter 'X' does not accept value 'Y'",
 * "Parameter 'X' is unexpected" (unless extra members are allowed).
 */
bool qmp_schema_check_args(const struct qmp_member *members, bool extra_ok,
                           JsonObject *args, GError **errp);

/* The value of query-qmp-schema for the command table and qmp_events. */
JsonNode *qmp_schema_introspect(void);

#endif
