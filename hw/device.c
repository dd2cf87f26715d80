/*
 * A device's settings: checking a -device argument (key=value, or the JSON
 * form read with json-glib) against the device table (hw/device-table.c),
 * -global defaults and the typed lookups realize() uses.
 *
 * Threads: main thread only (command-line parsing and machine creation).
 * The -global list is written while parsing and read while realizing.
 */
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "qapi/qmp.h"

#include "hw/device.h"
#include "system/error.h"
#include "system/keyval.h"

static const struct dev_prop *prop_find(const struct device_type *t, const char *name)
{
    for (const struct dev_prop *p = t->props; p && p->name; p++) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

static uint64_t prop_max(enum dev_prop_type t)
{
    switch (t) {
    case DEV_PROP_UINT8: return UINT8_MAX;
    case DEV_PROP_UINT16: return UINT16_MAX;
    case DEV_PROP_UINT32: return UINT32_MAX;
    default: return UINT64_MAX;
    }
}

/* QEMU names the C type in range errors: "expects uint32_t". */
static const char *prop_ctype(enum dev_prop_type t)
{
    switch (t) {
    case DEV_PROP_UINT8: return "uint8_t";
    case DEV_PROP_UINT16: return "uint16_t";
    case DEV_PROP_UINT32: return "uint32_t";
    default: return "uint64";
    }
}

static bool prop_is_uint(enum dev_prop_type t)
{
    return t == DEV_PROP_UINT8 || t == DEV_PROP_UINT16 || t == DEV_PROP_UINT32 ||
           t == DEV_PROP_UINT64;
}

/*
 * Checks a key=value spelling of a property value and returns it in the
 * form the getters read (booleans as "on"/"off"), or NULL with *errp set.
 */
static char *prop_check_text(const struct dev_prop *p, const char *value, GError **errp)
{
    uint64_t v;
    bool b;

    if (p->type == DEV_PROP_INT32) {
        char *end;
        int64_t n;

        errno = 0;
        n = g_ascii_strtoll(value, &end, 0);
        if (end == value || *end) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' expects integer", p->name);
            return NULL;
        }
        if (errno || n < INT32_MIN || n > INT32_MAX) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects int32_t",
                        p->name);
            return NULL;
        }
        return g_strdup_printf("%" G_GINT64_FORMAT, n);
    }
    if (prop_is_uint(p->type)) {
        int ret = parse_uint(value, &v);

        if (ret == -EINVAL && value[0] == '-' && parse_uint(value + 1, &v) == 0) {
            ret = -ERANGE;    /* a negative number: out of the type's range */
        }
        if (ret == -EINVAL) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' expects integer", p->name);
            return NULL;
        }
        if (ret < 0 || v > prop_max(p->type)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects %s",
                        p->name, prop_ctype(p->type));
            return NULL;
        }
        return g_strdup(value);
    }
    switch (p->type) {
    case DEV_PROP_BOOL:
        if (!parse_bool(value, &b)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' expects 'on' or 'off'", p->name);
            return NULL;
        }
        return g_strdup(b ? "on" : "off");
    case DEV_PROP_SIZE:
        if (parse_size(value, 1, &v) < 0) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' expects a non-negative number below 2^64", p->name);
            return NULL;
        }
        return g_strdup_printf("%" G_GUINT64_FORMAT, v);
    default:
        if (p->choices && !g_strv_contains((const char *const *)p->choices, value)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' does not accept value '%s'", p->name, value);
            return NULL;
        }
        return g_strdup(value);
    }
}

/* Checks a JSON-typed value against the property, QEMU's input-visitor
 * wording, and returns its text form.  Integers above G_MAXINT64 arrive
 * as qmp_json_prepare()'s uint64 form; a double is "not a uint64". */
static char *prop_check_json(const struct dev_prop *p, JsonNode *n, GError **errp)
{
    GType vt = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    uint64_t big;
    bool is_big = vt == G_TYPE_STRING && qmp_json_u64(json_node_get_string(n), &big);

    if (p->type == DEV_PROP_INT32) {
        gint64 i;

        if (vt != G_TYPE_INT64) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Invalid parameter type for '%s', expected: integer", p->name);
            return NULL;
        }
        i = json_node_get_int(n);
        if (i < INT32_MIN || i > INT32_MAX) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects int32_t",
                        p->name);
            return NULL;
        }
        return g_strdup_printf("%" G_GINT64_FORMAT, i);
    }
    if (prop_is_uint(p->type) || p->type == DEV_PROP_SIZE) {
        /* Like QEMU's input visitor, a negative int64 is taken modulo 2^64
         * and then found out of range (or not, for a uint64). */
        if (vt == G_TYPE_INT64) {
            big = (uint64_t)json_node_get_int(n);
        } else if (!is_big) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects uint64",
                        p->name);
            return NULL;
        }
        if (big > prop_max(p->type)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects %s",
                        p->name, prop_ctype(p->type));
            return NULL;
        }
        return g_strdup_printf("%" G_GUINT64_FORMAT, big);
    }
    if (p->type == DEV_PROP_BOOL) {
        if (vt != G_TYPE_BOOLEAN) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects boolean",
                        p->name);
            return NULL;
        }
        return g_strdup(json_node_get_boolean(n) ? "on" : "off");
    }
    if (vt != G_TYPE_STRING || is_big) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects string",
                    p->name);
        return NULL;
    }
    return g_strdup(json_node_get_string(n));
}

/* -------- Building a dev_config. -------- */

bool device_id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(*id)) {
        return false;
    }
    for (id++; *id; id++) {
        if (!g_ascii_isalnum(*id) && !strchr("-._", *id)) {
            return false;
        }
    }
    return true;
}

static const struct device_type *find_driver(const char *name, GError **errp)
{
    const struct device_type *t;

    if (!name || !*name) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'driver' is missing");
        return NULL;
    }
    t = device_type_find(name);
    if (!t) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "'%s' is not a valid device model name", name);
    }
    return t;
}

static const struct device_type *find_buildable(const char *name, GError **errp)
{
    const struct device_type *t = find_driver(name, errp);

    if (t && !t->realize) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "device '%s' is not supported yet", t->name);
        return NULL;
    }
    return t;
}

/* Properties every device takes that hyvm does not act on yet. */
static bool generic_unsupported(const char *key)
{
    return !strcmp(key, "failover_pair_id") ||
           !strcmp(key, "hotplugged") || !strcmp(key, "hotpluggable");
}

static bool check_prop_name(const struct device_type *t, const char *key,
                            const struct dev_prop **out, GError **errp)
{
    if (generic_unsupported(key)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "property '%s' of %s is not supported yet", key, t->name);
        return false;
    }
    static const struct dev_prop bus_prop = { "bus", DEV_PROP_STR, NULL, NULL };

    if (!strcmp(key, "bus")) {
        *out = &bus_prop;
        return true;
    }
    *out = prop_find(t, key);
    if (!*out) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Property '%s.%s' not found",
                    t->name, key);
        return false;
    }
    return true;
}

static bool check_id(const char *id, GError **errp)
{
    if (!device_id_wellformed(id)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Parameter 'id' expects an identifier");
        return false;
    }
    return true;
}

/* -------- The JSON form. -------- */

/* QEMU's nesting limit (its JSON streamer stops at 1024 open containers). */
#define JSON_MAX_NESTING 1024

/*
 * json-glib 1.6 recurses once per open '[' or '{' with no limit, so a deep
 * enough argument would overflow the stack: count the nesting first.  The
 * strings are skipped the way json-glib's scanner reads them (escapes in
 * double quotes only), so a bracket it sees is never hidden from us; a '/'
 * outside strings would start a comment json-glib skips, and QEMU takes
 * none, so it is refused here with QEMU's message.
 */
static bool json_check_nesting(const char *text, GError **errp)
{
    unsigned depth = 0;

    for (const char *s = text; *s; s++) {
        if (*s == '"' || *s == '\'') {
            char quote = *s;

            while (*++s && *s != quote) {
                if (quote == '"' && *s == '\\' && s[1]) {
                    s++;
                }
            }
            if (!*s) {
                break;
            }
        } else if (*s == '/') {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "JSON parse error, stray '/'");
            return false;
        } else if (*s == '{' || *s == '[') {
            if (++depth > JSON_MAX_NESTING) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                            "JSON nesting depth limit exceeded");
                return false;
            }
        } else if ((*s == '}' || *s == ']') && depth) {
            depth--;
        }
    }
    return true;
}

/* Members of the top-level object as json-glib reads them: it keeps the
 * last of repeated keys, QEMU refuses them, so the count tells. */
struct json_watch {
    unsigned depth;
    unsigned root_members;
};

static void on_container_start(JsonParser *p, gpointer data)
{
    ((struct json_watch *)data)->depth++;
}

static void on_container_end(JsonParser *p, gpointer container, gpointer data)
{
    ((struct json_watch *)data)->depth--;
}

static void on_object_member(JsonParser *p, JsonObject *o, gchar *name, gpointer data)
{
    struct json_watch *w = data;

    if (w->depth == 1) {
        w->root_members++;
    }
}

/* Parses text as one JSON object; returns its root node's object (owned by
 * the parser) or NULL with *errp set in QEMU's wording. */
static JsonObject *json_read_object(JsonParser *parser, const char *text, GError **errp)
{
    struct json_watch w = { 0 };
    g_autoptr(GError) err = NULL;
    g_autofree char *checked = NULL;
    char *desc = NULL;
    size_t rest;
    JsonNode *root;

    if (!json_check_nesting(text, errp)) {
        return NULL;
    }
    /* QEMU's JSON grammar and words (qapi/qmp-json-check.c); json-glib
     * then reads the checked text, rewritten so nothing is lost. */
    checked = qmp_json_prepare(text, strlen(text), &desc, &rest);
    if (!checked || rest < strlen(text)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s",
                    checked ? "Expecting at most one JSON value" : desc);
        g_free(desc);
        return NULL;
    }
    g_signal_connect(parser, "object-start", G_CALLBACK(on_container_start), &w);
    g_signal_connect(parser, "array-start", G_CALLBACK(on_container_start), &w);
    g_signal_connect(parser, "object-member", G_CALLBACK(on_object_member), &w);
    g_signal_connect(parser, "object-end", G_CALLBACK(on_container_end), &w);
    g_signal_connect(parser, "array-end", G_CALLBACK(on_container_end), &w);
    if (!json_parser_load_from_data(parser, checked, -1, &err)) {
        /* Not reached for checked text; a backstop in QEMU's form. */
        g_signal_handlers_disconnect_by_data(parser, &w);
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "JSON parse error, %s",
                    err->message);
        return NULL;
    }
    g_signal_handlers_disconnect_by_data(parser, &w);
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "JSON parse error, expecting '{'");
        return NULL;
    }
    if (json_object_get_size(json_node_get_object(root)) != w.root_members) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "JSON parse error, duplicate key");
        return NULL;
    }
    return json_node_get_object(root);
}

static struct dev_config *dev_config_from_json(const char *optarg, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *o = json_read_object(parser, optarg, errp);
    JsonNode *driver, *id;
    struct dev_config *c;
    GArray *props;
    GList *members;

    if (!o) {
        return NULL;
    }
    driver = json_object_get_member(o, "driver");
    id = json_object_get_member(o, "id");
    if (driver && !JSON_NODE_HOLDS_VALUE(driver)) {
        driver = NULL;
    }
    if (json_object_has_member(o, "driver") &&
        (!driver || json_node_get_value_type(driver) != G_TYPE_STRING)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'driver' expects string");
        return NULL;
    }
    c = g_new0(struct dev_config, 1);
    c->type = find_buildable(driver ? json_node_get_string(driver) : NULL, errp);
    if (!c->type) {
        goto fail;
    }
    if (id) {
        if (!JSON_NODE_HOLDS_VALUE(id) || json_node_get_value_type(id) != G_TYPE_STRING) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'id' expects string");
            goto fail;
        }
        if (!check_id(json_node_get_string(id), errp)) {
            goto fail;
        }
        c->id = g_strdup(json_node_get_string(id));
    }
    props = g_array_new(FALSE, FALSE, sizeof(struct kv_pair));
    c->props = g_new0(struct kv_list, 1);
    members = json_object_get_members(o);    /* in the order written */
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        const struct dev_prop *p;
        struct kv_pair kv;

        if (!strcmp(key, "driver") || !strcmp(key, "id")) {
            continue;
        }
        if (!check_prop_name(c->type, key, &p, errp) ||
            !(kv.value = prop_check_json(p, json_object_get_member(o, key), errp))) {
            g_list_free(members);
            c->props->n = props->len;
            c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
            goto fail;
        }
        kv.key = g_strdup(key);
        g_array_append_val(props, kv);
    }
    g_list_free(members);
    c->props->n = props->len;
    c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
    return c;

fail:
    dev_config_free(c);
    return NULL;
}

static struct dev_config *dev_config_from_keyval(const char *optarg, GError **errp)
{
    struct kv_list *kv = kv_parse(optarg, "driver", errp);
    struct dev_config *c;
    GArray *props;

    if (!kv) {
        return NULL;
    }
    c = g_new0(struct dev_config, 1);
    c->type = find_buildable(kv_get(kv, "driver"), errp);
    if (!c->type) {
        goto fail;
    }
    props = g_array_new(FALSE, FALSE, sizeof(struct kv_pair));
    c->props = g_new0(struct kv_list, 1);
    for (unsigned i = 0; i < kv->n; i++) {
        const struct kv_pair *in = &kv->items[i];
        const struct dev_prop *p;
        struct kv_pair out;

        if (!strcmp(in->key, "driver")) {
            continue;
        }
        if (!strcmp(in->key, "id")) {
            if (!check_id(in->value, errp)) {
                goto fail_props;
            }
            g_free(c->id);
            c->id = g_strdup(in->value);
            continue;
        }
        if (!check_prop_name(c->type, in->key, &p, errp) ||
            !(out.value = prop_check_text(p, in->value, errp))) {
            goto fail_props;
        }
        out.key = g_strdup(in->key);
        g_array_append_val(props, out);
    }
    c->props->n = props->len;
    c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
    kv_free(kv);
    return c;

fail_props:
    c->props->n = props->len;
    c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
fail:
    kv_free(kv);
    dev_config_free(c);
    return NULL;
}

/* bus= is every device's: taken out of the properties into c->bus. */
static void take_bus(struct dev_config *c)
{
    struct kv_list *kv = c->props;
    unsigned j = 0;

    for (unsigned i = 0; i < kv->n; i++) {
        if (!strcmp(kv->items[i].key, "bus")) {
            g_free(c->bus);
            c->bus = kv->items[i].value;
            g_free(kv->items[i].key);
            continue;
        }
        kv->items[j++] = kv->items[i];
    }
    kv->n = j;
}

struct dev_config *dev_config_parse(const char *optarg, GError **errp)
{
    const char *p = optarg;
    struct dev_config *c;

    /* QEMU takes the JSON form when the argument starts with '{'. */
    while (*p == ' ' || *p == '\t' || *p == '\n') {
        p++;
    }
    c = *p == '{' ? dev_config_from_json(optarg, errp) : dev_config_from_keyval(optarg, errp);
    if (c) {
        c->spec = g_strdup_printf("-device %s", optarg);
        take_bus(c);
    }
    return c;
}

void dev_config_free(struct dev_config *c)
{
    if (!c) {
        return;
    }
    g_free(c->id);
    g_free(c->spec);
    g_free(c->bus);
    kv_free(c->props);
    g_free(c);
}

/* -------- -global -------- */

struct device_global {
    const struct device_type *type;
    char *prop;
    char *value;
};

static GPtrArray *device_globals;   /* struct device_global *, in command-line order */

static void device_global_free(gpointer data)
{
    struct device_global *g = data;

    g_free(g->prop);
    g_free(g->value);
    g_free(g);
}

/* "DRIVER.PROP=VALUE", or driver=,property=,value= as QEMU also takes. */
int device_global_add(const char *optarg, GError **errp)
{
    g_autofree char *driver = NULL, *prop = NULL, *value = NULL;
    const char *eq = strchr(optarg, '=');
    const struct device_type *t;
    const struct dev_prop *p;
    struct device_global *g;
    char *checked;

    if (eq && g_str_has_prefix(optarg, "driver=")) {
        struct kv_list *kv = kv_parse(optarg, NULL, errp);

        if (!kv) {
            return -EINVAL;
        }
        for (unsigned i = 0; i < kv->n; i++) {
            const char *k = kv->items[i].key;

            if (strcmp(k, "driver") && strcmp(k, "property") && strcmp(k, "value")) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid parameter '%s'", k);
                kv_free(kv);
                return -EINVAL;
            }
        }
        driver = g_strdup(kv_get(kv, "driver"));
        prop = g_strdup(kv_get(kv, "property"));
        value = g_strdup(kv_get(kv, "value"));
        kv_free(kv);
        if (!prop || !value) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' is missing",
                        !prop ? "property" : "value");
            return -EINVAL;
        }
    } else {
        const char *dot = strchr(optarg, '.');

        if (!eq || !dot || dot > eq || dot == optarg || dot + 1 == eq) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Invalid format: expected DRIVER.PROPERTY=VALUE");
            return -EINVAL;
        }
        driver = g_strndup(optarg, dot - optarg);
        prop = g_strndup(dot + 1, eq - dot - 1);
        value = g_strdup(eq + 1);
    }
    t = find_driver(driver, errp);
    if (!t || !check_prop_name(t, prop, &p, errp)) {
        return -EINVAL;
    }
    checked = prop_check_text(p, value, errp);
    if (!checked) {
        return -EINVAL;
    }
    if (!device_globals) {
        device_globals = g_ptr_array_new_with_free_func(device_global_free);
    }
    g = g_new0(struct device_global, 1);
    g->type = t;
    g->prop = g_steal_pointer(&prop);
    g->value = checked;
    g_ptr_array_add(device_globals, g);
    return 0;
}

void device_globals_clear(void)
{
    if (device_globals) {
        g_ptr_array_free(device_globals, TRUE);
        device_globals = NULL;
    }
}

/* -device's value, else the last -global for it, else the table default. */
static const char *dev_config_lookup(const struct dev_config *c, const char *name)
{
    const struct dev_prop *p;
    const char *v = c->props ? kv_get(c->props, name) : NULL;

    if (!strcmp(name, "bus")) {
        return c->bus;
    }
    if (v) {
        return v;
    }
    for (unsigned i = device_globals ? device_globals->len : 0; i-- > 0;) {
        const struct device_global *g = g_ptr_array_index(device_globals, i);

        if (g->type == c->type && !strcmp(g->prop, name)) {
            return g->value;
        }
    }
    p = prop_find(c->type, name);
    return p ? p->defval : NULL;
}

uint64_t dev_config_uint(const struct dev_config *c, const char *name)
{
    const char *v = dev_config_lookup(c, name);
    uint64_t n = 0;

    if (v && parse_uint(v, &n) < 0) {
        n = 0;
    }
    return n;
}

int64_t dev_config_int(const struct dev_config *c, const char *name)
{
    const char *v = dev_config_lookup(c, name);

    return v ? g_ascii_strtoll(v, NULL, 0) : 0;
}

bool dev_config_bool(const struct dev_config *c, const char *name)
{
    const char *v = dev_config_lookup(c, name);
    bool b = false;

    return v && parse_bool(v, &b) && b;
}

const char *dev_config_str(const struct dev_config *c, const char *name)
{
    return dev_config_lookup(c, name);
}
