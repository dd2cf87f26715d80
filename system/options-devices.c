/*
 * -device, -global and -object.  hw/device.c checks devices and globals
 * against its table; here they get the option's location in errors and
 * -device IDs are kept unique.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <stdio.h>
#include <string.h>

#include "hw/device.h"
#include "hw/virtio/rng-backend.h"
#include "net/net.h"
#include "system/config.h"
#include "system/keyval.h"
#include "system/options-internal.h"

int opt_device(struct parse_state *s)
{
    GError *err = NULL;
    struct dev_config *dc;

    if (!strcmp(s->arg, "help") || !strcmp(s->arg, "?")) {
        device_print_help();
        s->done = true;
        return 0;
    }
    if (s->arg[0] != '{') {
        struct kv_list *kv = opt_kv(s, "driver");

        if (!kv) {
            return -1;
        }
        if (kv_has(kv, "help")) {
            const char *name = kv_get(kv, "driver");
            const struct device_type *t = name ? device_type_find(name) : NULL;

            if (!t) {
                BAD(s, "'%s' is not a valid device model name", name ? name : "");
                kv_free(kv);
                return -1;
            }
            device_print_props(t);
            s->done = true;
            kv_free(kv);
            return 0;
        }
        kv_free(kv);
    }
    dc = dev_config_parse(s->arg, &err);
    if (!dc) {
        return opt_wrap(s, err);
    }
    if (dc->id) {
        if (g_hash_table_contains(s->device_ids, dc->id)) {
            BAD(s, "Duplicate ID '%s' for device", dc->id);
            dev_config_free(dc);
            return -1;
        }
        g_hash_table_add(s->device_ids, g_strdup(dc->id));
    }
    g_ptr_array_add(s->c->devices, dc);
    return 0;
}

int opt_global(struct parse_state *s)
{
    GError *err = NULL;

    if (device_global_add(s->arg, &err) < 0) {
        return opt_wrap(s, err);
    }
    return 0;
}

/* User-creatable object types of QEMU 7.2 that scripts use most. */
static const char *const object_types[] = {
    "memory-backend-ram", "memory-backend-file", "memory-backend-memfd", "rng-random",
    "rng-builtin", "rng-egd", "secret", "secret_keyring", "iothread", "throttle-group",
    "tls-creds-x509", "tls-creds-psk", "tls-creds-anon", "tls-cipher-suites",
    "authz-simple", "authz-list", "authz-listfile", "authz-pam", "filter-buffer",
    "filter-dump", "filter-mirror", "filter-redirector", "filter-rewriter",
    "colo-compare", "can-bus", "cryptodev-backend-builtin", "input-linux", "main-loop",
    "pr-manager-helper", "sev-guest", "dbus-vmstate", "x-remote-object", NULL,
};

/* The object types hyvm builds (hw/virtio/rng-backend.h, net/filter.c). */
static const char *const object_types_built[] = {
    "rng-random", "rng-builtin", "filter-dump", NULL,
};

/*
 * rng-random and rng-builtin: keys checked as QEMU's, then registered by
 * the rng layer, which opens them when a device (or start-up) asks.
 */
static int opt_object_rng(struct parse_state *s, struct kv_list *kv, const char *type)
{
    static const char *const random_keys[] = { "qom-type", "id", "filename", NULL };
    static const char *const builtin_keys[] = { "qom-type", "id", NULL };
    GError *err = NULL;

    if (check_keys(s, kv, strcmp(type, "rng-random") ? builtin_keys : random_keys) < 0) {
        return -1;
    }
    if (rng_backend_create(type, kv_get(kv, "id"), kv_get(kv, "filename"), &err) < 0) {
        return opt_wrap(s, err);
    }
    return 0;
}

/* filter-dump: checked and kept by net/filter.c (it takes kv), created
 * once the netdevs exist. */
static int opt_object_filter(struct parse_state *s, struct kv_list **kv)
{
    const char *id = kv_get(*kv, "id");
    GError *err = NULL;

    if (rng_backend_find(id)) {
        return BAD(s, "Duplicate ID '%s' for object", id);
    }
    if (net_filter_cli_add(*kv, &err) < 0) {
        return opt_wrap(s, err);
    }
    *kv = NULL;
    return 0;
}

int opt_object(struct parse_state *s)
{
    struct kv_list *kv;
    const char *type;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        printf("List of user creatable objects:\n");
        for (unsigned i = 0; object_types[i]; i++) {
            printf("  %s%s\n", object_types[i],
                   in_list(object_types[i], object_types_built) ? "" : " (not supported yet)");
        }
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "qom-type");
    if (!kv) {
        return -1;
    }
    type = kv_get(kv, "qom-type");
    if (!type || !*type) {
        BAD(s, "Parameter 'qom-type' is missing");
    } else if (!in_list(type, object_types)) {
        BAD(s, "Parameter 'qom-type' does not accept value '%s'", type);
    } else if (!kv_get(kv, "id")) {
        BAD(s, "Parameter 'id' is missing");
    } else if (!strcmp(type, "filter-dump")) {
        ret = opt_object_filter(s, &kv);
    } else if (in_list(type, object_types_built)) {
        ret = opt_object_rng(s, kv, type);
    } else {
        NOT_YET(s, "object type '%s' is not supported yet", type);
    }
    kv_free(kv);
    return ret;
}
