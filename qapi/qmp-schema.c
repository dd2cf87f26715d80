/*
 * QMP's type descriptions: argument checks and query-qmp-schema from the
 * same data.  The SchemaInfo layout (qapi/introspect.json in QEMU) is:
 *   builtin  {"name", "meta-type": "builtin", "json-type"}
 *   enum     {"name", "meta-type": "enum", "members": [{"name"}], "values"}
 *   array    {"name": "[E]", "meta-type": "array", "element-type": E}
 *   object   {"name", "meta-type": "object", "members": [{"name", "type"
 *             [, "default": null when optional]}] [, "tag", "variants"]}
 *   command  {"name", "meta-type": "command", "arg-type", "ret-type"}
 *   event    {"name", "meta-type": "event", "arg-type"}
 * Like QEMU, types other than builtins get numbered names ("0", "1", ...)
 * in order of first use, and the empty object is shared.
 *
 * Threads: main thread.
 */
#include <string.h>

#include "qapi/qmp-balloon.h"
#include "qapi/qmp-internal.h"
#include "qapi/qmp-schema.h"
#include "qapi/qmp-types.h"

#define BUILTIN(var, nm, json) \
    const struct qmp_schema_type var = { .meta = QMP_META_BUILTIN, .name = nm, \
                                         .json_type = json }
BUILTIN(qmp_type_str, "str", "string");
BUILTIN(qmp_type_int, "int", "int");
BUILTIN(qmp_type_bool, "bool", "boolean");
BUILTIN(qmp_type_number, "number", "number");
BUILTIN(qmp_type_any, "any", "value");
BUILTIN(qmp_type_null, "null", "null");
const struct qmp_schema_type qmp_type_empty = { .meta = QMP_META_OBJECT };

/* ---- the events hyvm sends (qapi/run-state.json) ---- */

static const char *const shutdown_cause_values[] = {
    "none", "host-error", "host-qmp-quit", "host-qmp-system-reset", "host-signal",
    "host-ui", "guest-shutdown", "guest-reset", "guest-panic", "subsystem-reset",
    "snapshot-load", NULL,
};
static const struct qmp_schema_type shutdown_cause = {
    .meta = QMP_META_ENUM, .values = shutdown_cause_values,
};
static const struct qmp_member shutdown_members[] = {
    { "guest", &qmp_type_bool }, { "reason", &shutdown_cause }, { NULL },
};
static const struct qmp_schema_type shutdown_data = {
    .meta = QMP_META_OBJECT, .members = shutdown_members,
};
/* RESET has the same members as SHUTDOWN but is its own type in QEMU. */
static const struct qmp_schema_type reset_data = {
    .meta = QMP_META_OBJECT, .members = shutdown_members,
};

static const char *const panic_action_values[] = { "pause", "poweroff", "run", NULL };
static const struct qmp_schema_type panic_action = {
    .meta = QMP_META_ENUM, .values = panic_action_values,
};
static const struct qmp_member panic_members[] = {
    { "action", &panic_action }, { "info", &qmp_type_any, true }, { NULL },
};
static const struct qmp_schema_type panic_data = {
    .meta = QMP_META_OBJECT, .members = panic_members,
};
static const struct qmp_schema_type crashloaded_data = {
    .meta = QMP_META_OBJECT, .members = panic_members,
};

const struct qmp_event_def qmp_events[] = {
    { "SHUTDOWN", &shutdown_data },
    { "POWERDOWN", NULL },
    { "RESET", &reset_data },
    { "STOP", NULL },
    { "RESUME", NULL },
    { "GUEST_PANICKED", &panic_data },
    { "GUEST_CRASHLOADED", &crashloaded_data },
    { "WATCHDOG", &qmp_event_watchdog },
    { "BALLOON_CHANGE", &qmp_event_balloon_change },
    { NULL },
};

/* ---- argument checks, in QEMU's qobject-input-visitor words ---- */

static const char *expected_word(const struct qmp_schema_type *t)
{
    switch (t->meta) {
    case QMP_META_ENUM:
        return "string";
    case QMP_META_ARRAY:
        return "array";
    case QMP_META_OBJECT:
        return "object";
    case QMP_META_BUILTIN:
        break;
    }
    if (t == &qmp_type_int) {
        return "integer";
    }
    return t->json_type;
}

static bool node_matches(const struct qmp_schema_type *t, JsonNode *n)
{
    GType vt = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;

    switch (t->meta) {
    case QMP_META_ENUM:
        return vt == G_TYPE_STRING;
    case QMP_META_ARRAY:
        return JSON_NODE_HOLDS_ARRAY(n);
    case QMP_META_OBJECT:
        return JSON_NODE_HOLDS_OBJECT(n);
    case QMP_META_BUILTIN:
        break;
    }
    if (t == &qmp_type_str) {
        return vt == G_TYPE_STRING;
    }
    if (t == &qmp_type_int) {
        return vt == G_TYPE_INT64;
    }
    if (t == &qmp_type_bool) {
        return vt == G_TYPE_BOOLEAN;
    }
    if (t == &qmp_type_number) {
        return vt == G_TYPE_INT64 || vt == G_TYPE_DOUBLE;
    }
    if (t == &qmp_type_null) {
        return JSON_NODE_HOLDS_NULL(n);
    }
    return true;    /* any */
}

static bool enum_has(const struct qmp_schema_type *t, const char *v)
{
    for (const char *const *p = t->values; *p; p++) {
        if (!strcmp(*p, v)) {
            return true;
        }
    }
    return false;
}

bool qmp_schema_check_args(const struct qmp_member *members, bool extra_ok,
                           JsonObject *args, GError **errp)
{
    g_autoptr(GList) names = NULL;

    /* Schema order first: missing and mistyped members... */
    for (const struct qmp_member *m = members; m && m->name; m++) {
        JsonNode *n = json_object_get_member(args, m->name);

        if (!n) {
            if (!m->optional) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                            "Parameter '%s' is missing", m->name);
                return false;
            }
            continue;
        }
        if (!node_matches(m->type, n)) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Invalid parameter type for '%s', expected: %s", m->name,
                        expected_word(m->type));
            return false;
        }
        if (m->type->meta == QMP_META_ENUM &&
            !enum_has(m->type, json_node_get_string(n))) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Parameter '%s' does not accept value '%s'", m->name,
                        json_node_get_string(n));
            return false;
        }
    }
    if (extra_ok) {
        return true;
    }
    /* ...then what the schema does not know. */
    names = json_object_get_members(args);
    for (GList *l = names; l; l = l->next) {
        bool known = false;

        for (const struct qmp_member *m = members; m && m->name && !known; m++) {
            known = !strcmp(m->name, l->data);
        }
        if (!known) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Parameter '%s' is unexpected", (const char *)l->data);
            return false;
        }
    }
    return true;
}

/* ---- query-qmp-schema ---- */

struct introspect {
    JsonArray *out;
    GHashTable *names;      /* const struct qmp_schema_type * -> its name */
    unsigned next;
};

static const char *type_name(struct introspect *in, const struct qmp_schema_type *t);

static JsonArray *member_list(struct introspect *in, const struct qmp_member *members)
{
    JsonArray *list = json_array_new();

    for (const struct qmp_member *m = members; m && m->name; m++) {
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "name", m->name);
        if (m->optional) {
            json_object_set_null_member(o, "default");
        }
        json_object_set_string_member(o, "type", type_name(in, m->type));
        json_array_add_object_element(list, o);
    }
    return list;
}

/* Names t, emitting its entry (and those of the types it uses) on first use. */
static const char *type_name(struct introspect *in, const struct qmp_schema_type *t)
{
    const char *known;
    char *name;
    JsonObject *o;

    if (!t) {
        t = &qmp_type_empty;
    }
    known = g_hash_table_lookup(in->names, t);
    if (known) {
        return known;
    }
    if (t->meta == QMP_META_BUILTIN) {
        name = g_strdup(t->name);
    } else if (t->meta == QMP_META_ARRAY) {
        name = g_strdup_printf("[%s]", type_name(in, t->element));
    } else {
        name = g_strdup_printf("%u", in->next++);
    }
    g_hash_table_insert(in->names, (gpointer)t, name);

    o = json_object_new();
    json_object_set_string_member(o, "name", name);
    switch (t->meta) {
    case QMP_META_BUILTIN:
        json_object_set_string_member(o, "json-type", t->json_type);
        json_object_set_string_member(o, "meta-type", "builtin");
        break;
    case QMP_META_ARRAY:
        json_object_set_string_member(o, "element-type", type_name(in, t->element));
        json_object_set_string_member(o, "meta-type", "array");
        break;
    case QMP_META_ENUM: {
        JsonArray *members = json_array_new(), *values = json_array_new();

        for (const char *const *v = t->values; *v; v++) {
            JsonObject *m = json_object_new();

            json_object_set_string_member(m, "name", *v);
            json_array_add_object_element(members, m);
            json_array_add_string_element(values, *v);
        }
        json_object_set_array_member(o, "members", members);
        json_object_set_string_member(o, "meta-type", "enum");
        json_object_set_array_member(o, "values", values);
        break;
    }
    case QMP_META_OBJECT:
        json_object_set_array_member(o, "members", member_list(in, t->members));
        if (t->tag) {
            JsonArray *vars = json_array_new();

            json_object_set_string_member(o, "tag", t->tag);
            for (const struct qmp_variant *v = t->variants; v && v->value; v++) {
                JsonObject *vo = json_object_new();

                json_object_set_string_member(vo, "case", v->value);
                json_object_set_string_member(vo, "type", type_name(in, v->type));
                json_array_add_object_element(vars, vo);
            }
            json_object_set_array_member(o, "variants", vars);
        }
        json_object_set_string_member(o, "meta-type", "object");
        break;
    }
    json_array_add_object_element(in->out, o);
    return name;
}

static void add_entity(struct introspect *in, const char *name, const char *meta,
                       const struct qmp_schema_type *arg, bool has_ret,
                       const struct qmp_schema_type *ret)
{
    JsonObject *o = json_object_new();

    /* The entity comes first, then the types it names, as QEMU lists them. */
    json_array_add_object_element(in->out, o);
    json_object_set_string_member(o, "name", name);
    if (has_ret) {
        json_object_set_string_member(o, "ret-type", type_name(in, ret));
    }
    json_object_set_string_member(o, "meta-type", meta);
    json_object_set_string_member(o, "arg-type", type_name(in, arg));
}

JsonNode *qmp_schema_introspect(void)
{
    struct introspect in = {
        .out = json_array_new(),
        .names = g_hash_table_new_full(NULL, NULL, NULL, g_free),
    };

    /* "0" is the empty object, as in QEMU. */
    type_name(&in, &qmp_type_empty);
    for (unsigned i = 0;; i++) {
        const struct qmp_command *c = qmp_command_at(i);

        if (!c) {
            break;
        }
        add_entity(&in, c->name, "command", c->arg_type, true, c->ret);
    }
    for (const struct qmp_event_def *e = qmp_events; e->name; e++) {
        add_entity(&in, e->name, "event", e->data, false, NULL);
    }
    g_hash_table_destroy(in.names);
    return json_node_init_array(json_node_alloc(), in.out);
}
