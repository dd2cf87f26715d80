/*
 * Device types as -device, -global and "-device help" see them.  One table
 * in hw/device-table.c lists every device a user can name; a device that a later
 * issue builds has realize == NULL and -device refuses it by name.
 */
#ifndef HYVM_DEVICE_H
#define HYVM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct machine;
struct kv_list;

enum dev_prop_type {
    DEV_PROP_BOOL,
    DEV_PROP_UINT8,
    DEV_PROP_UINT16,
    DEV_PROP_UINT32,
    DEV_PROP_UINT64,
    DEV_PROP_INT32,          /* bootindex: -1 (none) and up */
    DEV_PROP_SIZE,
    DEV_PROP_STR,
    DEV_PROP_CHARDEV,
    DEV_PROP_DRIVE,
    DEV_PROP_NETDEV,
};

struct dev_prop {
    const char *name;
    enum dev_prop_type type;
    const char *defval;      /* printed by "DRIVER,help"; NULL for none */
    const char *desc;
    /* An enum (QEMU's QAPI enums, e.g. LostTickPolicy): its name for
     * "DRIVER,help" and the values it takes, NULL-terminated; NULL else. */
    const char *enum_name;
    const char *const *choices;
};

/* Categories print in this order under "-device help", as QEMU's. */
enum dev_category {
    DEV_CAT_CONTROLLER,   /* "Controller/Bridge/Hub devices" */
    DEV_CAT_USB,          /* "USB devices" */
    DEV_CAT_STORAGE,      /* "Storage devices" */
    DEV_CAT_NETWORK,      /* "Network devices" */
    DEV_CAT_INPUT,        /* "Input devices" */
    DEV_CAT_DISPLAY,      /* "Display devices" */
    DEV_CAT_SOUND,        /* "Sound devices" */
    DEV_CAT_MISC,         /* "Misc devices" */
    DEV_CAT_CPU,          /* "CPU devices" */
    DEV_CAT_WATCHDOG,     /* "Watchdog devices" */
    DEV_CAT_UNCATEGORIZED,/* "Uncategorized devices" */
    DEV_CAT__MAX
};

/* A device instance's settings: -global defaults merged under -device's. */
struct dev_config {
    const struct device_type *type;
    char *id;                 /* id=, or NULL */
    struct kv_list *props;    /* validated against type->props */
    char *spec;               /* "-device ARG" as given: what its errors start with */
    char *bus;                /* bus=, or NULL: the machine checks it names a bus it has */
};

struct device_type {
    const char *name;
    const char *bus;          /* "ISA", "PCI", "System", "virtio-bus" */
    enum dev_category category;
    const char *desc;
    const struct dev_prop *props;  /* NULL-name terminated */
    const char *alias;        /* short name ("virtio-blk"), or NULL */
    /* Creates the device on m; NULL for devices not built yet. */
    int (*realize)(struct machine *m, const struct dev_config *cfg, GError **errp);
};

const struct device_type *device_type_find(const char *name);
/* "-device help" and "-device DRIVER,help" output, on stdout. */
void device_print_help(void);
void device_print_props(const struct device_type *t);

/*
 * Builds a dev_config from a -device argument (key=value or JSON form),
 * checking every property name and value against the type.  A driver that is
 * not built yet fails with HYVM_ERROR_UNSUPPORTED naming it.
 */
struct dev_config *dev_config_parse(const char *optarg, GError **errp);
void dev_config_free(struct dev_config *c);
/* "-global DRIVER.PROP=VALUE", checked the same way. */
int device_global_add(const char *optarg, GError **errp);
/* Forgets every -global (config_free calls it). */
void device_globals_clear(void);
/* QEMU's rule for id= (-device, -netdev): a letter, then letters, digits, '-', '.', '_'. */
bool device_id_wellformed(const char *id);

/* Typed lookups for realize(): a property not given falls back to -global,
 * then to the table's defval. */
uint64_t dev_config_uint(const struct dev_config *c, const char *name);
/* A signed property (bootindex); 0 when not given: ask dev_config_str()
 * whether it was. */
int64_t dev_config_int(const struct dev_config *c, const char *name);
bool dev_config_bool(const struct dev_config *c, const char *name);
const char *dev_config_str(const struct dev_config *c, const char *name);

#endif
