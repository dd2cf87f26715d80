/*
 * qom-list and qom-get over a tree built from the machine's state (see
 * qom.h).  Each node has a type, typed properties with values, and
 * children; a child is listed as a property "child<TYPE>" whose value is
 * its path, as in QEMU.
 */
#include <string.h>

#include "arch/x86/cpu-models.h"
#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/virtio/rng-backend.h"
#include "machine/machine.h"
#include "qapi/qmp-balloon.h"
#include "qapi/qmp-internal.h"
#include "qapi/qom.h"
#include "system/config.h"
#include "system/keyval.h"

struct qom_prop {
    char *name;
    char *type;
    JsonNode *value;
};

struct qom_node {
    char *name;
    char *type;
    struct qom_node *parent;
    GPtrArray *props;       /* struct qom_prop * */
    GPtrArray *children;    /* struct qom_node * */
    const struct dev_config *dev;   /* a -device instance, or NULL */
};

static void prop_free(gpointer p)
{
    struct qom_prop *pr = p;

    g_free(pr->name);
    g_free(pr->type);
    json_node_unref(pr->value);
    g_free(pr);
}

static void node_free(gpointer p)
{
    struct qom_node *n = p;

    g_free(n->name);
    g_free(n->type);
    g_ptr_array_free(n->props, TRUE);
    g_ptr_array_free(n->children, TRUE);
    g_free(n);
}

static struct qom_node *node_new(struct qom_node *parent, const char *name,
                                 const char *type)
{
    struct qom_node *n = g_new0(struct qom_node, 1);

    n->name = g_strdup(name);
    n->type = g_strdup(type);
    n->parent = parent;
    n->props = g_ptr_array_new_with_free_func(prop_free);
    n->children = g_ptr_array_new_with_free_func(node_free);
    if (parent) {
        g_ptr_array_add(parent->children, n);
    }
    return n;
}

static void prop_add(struct qom_node *n, const char *name, const char *type, JsonNode *v)
{
    struct qom_prop *p = g_new0(struct qom_prop, 1);

    p->name = g_strdup(name);
    p->type = g_strdup(type);
    p->value = v;
    g_ptr_array_add(n->props, p);
}

static void prop_str(struct qom_node *n, const char *name, const char *v)
{
    prop_add(n, name, "string", json_node_init_string(json_node_alloc(), v ? v : ""));
}

static void prop_bool(struct qom_node *n, const char *name, bool v)
{
    prop_add(n, name, "bool", json_node_init_boolean(json_node_alloc(), v));
}

static void prop_int(struct qom_node *n, const char *name, const char *type, int64_t v)
{
    prop_add(n, name, type, json_node_init_int(json_node_alloc(), v));
}

char *qom_cpu_path(unsigned index)
{
    /* QEMU creates vCPU 0 first, then other objects, then the rest: the
     * numbering seen in its query-cpus-fast. */
    return g_strdup_printf("/machine/unattached/device[%u]", index ? index + 1 : 0);
}

static void add_cpus(struct qom_node *unattached, struct machine *m)
{
    g_autofree char *type = g_strdup_printf(
        "%s-x86_64-cpu", m->cpu_def ? x86_cpu_def_model(m->cpu_def) : "qemu64");
    bool pc = m->type && m->type->alias && !strcmp(m->type->alias, "pc");

    for (unsigned i = 0; m->cpus && i < m->ncpus; i++) {
        g_autofree char *path = qom_cpu_path(i);
        struct qom_node *c = node_new(unattached, strrchr(path, '/') + 1, type);

        prop_bool(c, "realized", true);
        prop_bool(c, "hotplugged", false);
        prop_bool(c, "hotpluggable", pc && i > 0);
        prop_bool(c, "start-powered-off", false);
        prop_int(c, "apic-id", "uint32", i);
    }
}

static JsonNode *dev_prop_value(const struct dev_prop *p, const char *v)
{
    switch (p->type) {
    case DEV_PROP_BOOL:
        return json_node_init_boolean(json_node_alloc(),
                                      !strcmp(v, "on") || !strcmp(v, "true") ||
                                      !strcmp(v, "yes"));
    case DEV_PROP_UINT8:
    case DEV_PROP_UINT16:
    case DEV_PROP_UINT32:
    case DEV_PROP_UINT64:
    case DEV_PROP_SIZE:
        return json_node_init_int(json_node_alloc(),
                                  (gint64)g_ascii_strtoull(v, NULL, 0));
    case DEV_PROP_INT32:
        return json_node_init_int(json_node_alloc(), g_ascii_strtoll(v, NULL, 0));
    default:
        return json_node_init_string(json_node_alloc(), v);
    }
}

static const char *dev_prop_type_name(enum dev_prop_type t)
{
    switch (t) {
    case DEV_PROP_BOOL: return "bool";
    case DEV_PROP_UINT8: return "uint8";
    case DEV_PROP_UINT16: return "uint16";
    case DEV_PROP_UINT32: return "uint32";
    case DEV_PROP_UINT64: return "uint64";
    case DEV_PROP_INT32: return "int32";
    case DEV_PROP_SIZE: return "size";
    case DEV_PROP_CHARDEV: return "str";
    case DEV_PROP_DRIVE: return "str";
    case DEV_PROP_NETDEV: return "str";
    case DEV_PROP_STR: break;
    }
    return "str";
}

/* Properties a device computes when asked (the balloon's statistics);
 * they replace a -device property of the same name. */
static void add_device_dynamic_props(struct qom_node *n, const struct dev_config *d)
{
    if (!balloon_qom_owns(d)) {
        return;
    }
    for (unsigned i = 0; balloon_qom_props[i][0]; i++) {
        JsonNode *v = balloon_qom_get(balloon_qom_props[i][0], NULL);

        for (guint k = 0; k < n->props->len; k++) {
            struct qom_prop *p = g_ptr_array_index(n->props, k);

            if (!strcmp(p->name, balloon_qom_props[i][0])) {
                g_ptr_array_remove_index(n->props, k);
                break;
            }
        }
        if (v) {
            prop_add(n, balloon_qom_props[i][0], balloon_qom_props[i][1], v);
        }
    }
}

static void add_devices(struct qom_node *peripheral, struct qom_node *anon,
                        const struct hyvm_config *cfg)
{
    unsigned anon_n = 0;

    for (guint i = 0; cfg && cfg->devices && i < cfg->devices->len; i++) {
        const struct dev_config *d = g_ptr_array_index(cfg->devices, i);
        g_autofree char *anon_name = NULL;
        struct qom_node *n;

        if (d->id) {
            n = node_new(peripheral, d->id, d->type->name);
        } else {
            anon_name = g_strdup_printf("device[%u]", anon_n++);
            n = node_new(anon, anon_name, d->type->name);
        }
        n->dev = d;
        prop_bool(n, "realized", true);
        prop_bool(n, "hotplugged", false);
        prop_bool(n, "hotpluggable", false);
        for (const struct dev_prop *p = d->type->props; p && p->name; p++) {
            const char *v = d->props ? kv_get(d->props, p->name) : NULL;

            if (!v) {
                v = p->defval;
            }
            if (v) {
                prop_add(n, p->name, dev_prop_type_name(p->type), dev_prop_value(p, v));
            }
        }
        add_device_dynamic_props(n, d);
    }
}

static void add_chardev(struct chardev *chr, void *opaque)
{
    g_autofree char *type = g_strdup_printf("chardev-%s", chardev_backend_name(chr));

    node_new(opaque, chardev_label(chr), type);
}

/* An -object rng-random/rng-builtin under /objects, with QEMU's properties. */
static void add_rng_object(struct rng_backend *b, void *opaque)
{
    struct qom_node *n = node_new(opaque, rng_backend_id(b), rng_backend_type(b));

    prop_bool(n, "opened", rng_backend_opened(b));
    if (rng_backend_filename(b)) {
        prop_str(n, "filename", rng_backend_filename(b));
    }
}

static struct qom_node *build_tree(void)
{
    struct machine *m = machine_current();
    const struct hyvm_config *cfg = m ? m->cfg : NULL;
    struct qom_node *root = node_new(NULL, "", "container");
    struct qom_node *objects = node_new(root, "objects", "container");
    struct qom_node *machine, *unattached, *peripheral, *anon;
    g_autofree char *mtype = NULL;

    if (m && m->type) {
        mtype = g_strdup_printf("%s-machine", m->type->name);
        node_new(objects, strcmp(m->type->name, "microvm") ? "pc.ram" : "microvm.ram",
                 "memory-backend-ram");
    }
    rng_backend_foreach(add_rng_object, objects);
    machine = node_new(root, "machine", mtype ? mtype : "none-machine");
    node_new(root, "chardevs", "container");
    chardev_foreach(add_chardev, root->children->pdata[2]);

    prop_str(machine, "kernel", cfg ? cfg->kernel : NULL);
    prop_str(machine, "initrd", cfg ? cfg->initrd : NULL);
    prop_str(machine, "append", cfg ? cfg->append : NULL);
    prop_str(machine, "firmware", cfg ? cfg->bios : NULL);
    prop_bool(machine, "graphics", cfg ? !cfg->nographic : true);
    unattached = node_new(machine, "unattached", "container");
    peripheral = node_new(machine, "peripheral", "container");
    anon = node_new(machine, "peripheral-anon", "container");
    if (m) {
        add_cpus(unattached, m);
    }
    add_devices(peripheral, anon, cfg);
    return root;
}

static struct qom_node *child_named(struct qom_node *n, const char *name)
{
    for (guint i = 0; i < n->children->len; i++) {
        struct qom_node *c = g_ptr_array_index(n->children, i);

        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

static char *node_path(const struct qom_node *n)
{
    GString *s;
    GPtrArray *parts = g_ptr_array_new();

    for (; n && n->parent; n = n->parent) {
        g_ptr_array_add(parts, n->name);
    }
    if (!parts->len) {
        g_ptr_array_free(parts, TRUE);
        return g_strdup("/");
    }
    s = g_string_new(NULL);
    for (guint i = parts->len; i > 0; i--) {
        g_string_append_printf(s, "/%s", (const char *)g_ptr_array_index(parts, i - 1));
    }
    g_ptr_array_free(parts, TRUE);
    return g_string_free(s, FALSE);
}

/* Walks the components of parts[] down from n; empty components are skipped,
 * as QEMU does ("//machine/" is /machine). */
static struct qom_node *walk(struct qom_node *n, char **parts)
{
    for (; n && *parts; parts++) {
        if (**parts) {
            n = child_named(n, *parts);
        }
    }
    return n;
}

/* A partial path (no leading '/') names the one node whose path ends with
 * it; none or several is not found, as object_resolve_path() has it. */
static void find_partial(struct qom_node *n, char **parts, struct qom_node **found,
                         unsigned *count)
{
    struct qom_node *hit = walk(n, parts);

    if (hit && n->parent) {
        *found = hit;
        (*count)++;
    }
    for (guint i = 0; i < n->children->len; i++) {
        find_partial(g_ptr_array_index(n->children, i), parts, found, count);
    }
}

static struct qom_node *resolve(struct qom_node *root, const char *path, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    struct qom_node *n = NULL;

    if (path[0] == '/') {
        n = walk(root, parts);
    } else if (path[0]) {
        unsigned count = 0;

        /* A partial path matches below the root, starting at any node:
         * look for nodes named like its first component. */
        find_partial(root, parts, &n, &count);
        if (count != 1) {
            n = NULL;
        }
    }
    if (!n) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", path);
    }
    return n;
}

JsonNode *qmp_qom_list(JsonObject *args, GError **errp)
{
    struct qom_node *root = build_tree();
    struct qom_node *n = resolve(root, json_object_get_string_member(args, "path"), errp);
    JsonArray *list;

    if (!n) {
        node_free(root);
        return NULL;
    }
    list = json_array_new();
#define ENTRY(nm, ty) do { \
        JsonObject *o = json_object_new(); \
        json_object_set_string_member(o, "name", nm); \
        json_object_set_string_member(o, "type", ty); \
        json_array_add_object_element(list, o); \
    } while (0)
    ENTRY("type", "string");
    for (guint i = 0; i < n->props->len; i++) {
        struct qom_prop *p = g_ptr_array_index(n->props, i);

        ENTRY(p->name, p->type);
    }
    for (guint i = 0; i < n->children->len; i++) {
        struct qom_node *c = g_ptr_array_index(n->children, i);
        g_autofree char *t = g_strdup_printf("child<%s>", c->type);

        ENTRY(c->name, t);
    }
#undef ENTRY
    node_free(root);
    return json_node_init_array(json_node_alloc(), list);
}

JsonNode *qmp_qom_get(JsonObject *args, GError **errp)
{
    struct qom_node *root = build_tree();
    const char *prop = json_object_get_string_member(args, "property");
    struct qom_node *n = resolve(root, json_object_get_string_member(args, "path"), errp);
    JsonNode *ret = NULL;

    if (!n) {
        goto out;
    }
    if (!strcmp(prop, "type")) {
        ret = json_node_init_string(json_node_alloc(), n->type);
        goto out;
    }
    for (guint i = 0; i < n->props->len; i++) {
        struct qom_prop *p = g_ptr_array_index(n->props, i);

        if (!strcmp(p->name, prop)) {
            ret = json_node_copy(p->value);
            goto out;
        }
    }
    for (guint i = 0; i < n->children->len; i++) {
        struct qom_node *c = g_ptr_array_index(n->children, i);

        if (!strcmp(c->name, prop)) {
            g_autofree char *path = node_path(c);

            ret = json_node_init_string(json_node_alloc(), path);
            goto out;
        }
    }
    g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Property '%s.%s' not found",
                n->type, prop);
out:
    node_free(root);
    return ret;
}

/*
 * qom-set: the properties a device lets change at run time (the balloon's
 * polling interval); the rest in QEMU's words for a realized device or a
 * read-only property.
 */
JsonNode *qmp_qom_set(JsonObject *args, GError **errp)
{
    struct qom_node *root = build_tree();
    const char *prop = json_object_get_string_member(args, "property");
    JsonNode *value = json_object_get_member(args, "value");
    struct qom_node *n = resolve(root, json_object_get_string_member(args, "path"), errp);
    JsonNode *ret = NULL;
    bool found = false;

    if (!n) {
        goto out;
    }
    if (n->dev && balloon_qom_owns(n->dev)) {
        for (unsigned i = 0; balloon_qom_props[i][0]; i++) {
            if (!strcmp(balloon_qom_props[i][0], prop)) {
                if (balloon_qom_set(prop, value, errp)) {
                    ret = json_node_init_object(json_node_alloc(), json_object_new());
                }
                goto out;
            }
        }
    }
    for (guint i = 0; i < n->props->len && !found; i++) {
        found = !strcmp(((struct qom_prop *)g_ptr_array_index(n->props, i))->name, prop);
    }
    if (n->dev && found && strcmp(prop, "realized") && strcmp(prop, "hotplugged") &&
        strcmp(prop, "hotpluggable")) {
        if (n->dev->id) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Attempt to set property '%s' "
                        "on device '%s' (type '%s') after it was realized", prop,
                        n->dev->id, n->type);
        } else {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Attempt to set property '%s' "
                        "on anonymous device (type '%s') after it was realized", prop,
                        n->type);
        }
    } else if (found || !strcmp(prop, "type")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Property '%s.%s' is not writable",
                    n->type, prop);
    } else {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Property '%s.%s' not found",
                    n->type, prop);
    }
out:
    node_free(root);
    return ret;
}
