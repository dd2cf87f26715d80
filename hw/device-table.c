/*
 * The device table: every device a user can name with -device or -global,
 * its bus, category and property table (names, types, defaults), the
 * lookup by name or alias, and "-device help" and "-device DRIVER,help",
 * which print it.  A device a later issue builds has realize == NULL.
 *
 * Threads: main thread only; the table is constant.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "hw/pci.h"
#include "system/error.h"

#define CHARDEV_DESC "ID of a chardev to use as a backend"
#define DRIVE_DESC "Node name or ID of a block device to use as a backend"
#define NETDEV_DESC "ID of a netdev to use as a backend"
#define MAC_DESC "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56"
#define ADDR_DESC "Slot and optional function number, example: 06.0 or 06"

/* Defaults as QEMU's: -1 (4294967295) means "pick by index" on isa-serial. */
static const struct dev_prop isa_serial_props[] = {
    { "chardev", DEV_PROP_CHARDEV, NULL, CHARDEV_DESC },
    { "index", DEV_PROP_UINT32, "4294967295", NULL },
    { "iobase", DEV_PROP_UINT32, "4294967295", NULL },
    { "irq", DEV_PROP_UINT32, "4294967295", NULL },
    { NULL },
};

/* 0x501 and 2: the port kvm-unit-tests and QEMU's default use. */
static const struct dev_prop pvpanic_props[] = {
    { "events", DEV_PROP_UINT8, "3", NULL },
    { "ioport", DEV_PROP_UINT16, "1285", NULL },
    { NULL },
};

static const struct dev_prop isa_debug_exit_props[] = {
    { "iobase", DEV_PROP_UINT32, "1281", NULL },
    { "iosize", DEV_PROP_UINT32, "2", NULL },
    { NULL },
};

/* Port 0xe9 (233), Bochs' debug console; reads return readback. */
static const struct dev_prop isa_debugcon_props[] = {
    { "chardev", DEV_PROP_CHARDEV, NULL, CHARDEV_DESC },
    { "iobase", DEV_PROP_UINT32, "233", NULL },
    { "readback", DEV_PROP_UINT32, "233", NULL },
    { NULL },
};

static const struct dev_prop no_props[] = {
    { NULL },
};

/* QEMU's pci-testdev property list; the PCIe and ACPI ones do nothing here. */
static const struct dev_prop pci_testdev_props[] = {
    { "acpi-index", DEV_PROP_UINT32, "0", NULL },
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { "membar", DEV_PROP_SIZE, "0", NULL },
    { "multifunction", DEV_PROP_BOOL, "false", "on/off" },
    { "rombar", DEV_PROP_UINT32, "1", NULL },
    { "romfile", DEV_PROP_STR, NULL, NULL },
    { "romsize", DEV_PROP_UINT32, "4294967295", NULL },
    { "x-pcie-extcap-init", DEV_PROP_BOOL, "true", "on/off" },
    { "x-pcie-lnksta-dllla", DEV_PROP_BOOL, "true", "on/off" },
    { NULL },
};

/*
 * The PIT as QEMU names it for -global: kvm-pit under KVM's in-kernel
 * irqchip, isa-pit otherwise.  lost_tick_policy is QEMU's LostTickPolicy
 * ("discard", "delay", "slew"); kvm-unit-tests sets it to discard.
 */
static const char *const lost_tick_policies[] = { "discard", "delay", "slew", NULL };

static const struct dev_prop kvm_pit_props[] = {
    { "iobase", DEV_PROP_UINT32, "4294967295", NULL },
    { "lost_tick_policy", DEV_PROP_STR, "delay", NULL, "LostTickPolicy", lost_tick_policies },
    { NULL },
};

static const struct dev_prop isa_pit_props[] = {
    { "iobase", DEV_PROP_UINT32, "4294967295", NULL },
    { NULL },
};

/* The devices of later issues list the properties users name most. */
static const struct dev_prop virtio_blk_pci_props[] = {
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },
    { "num-queues", DEV_PROP_UINT16, "65535", NULL },
    { "serial", DEV_PROP_STR, NULL, NULL },
    { NULL },
};

static const struct dev_prop virtio_blk_props[] = {
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },
    { "num-queues", DEV_PROP_UINT16, "65535", NULL },
    { "serial", DEV_PROP_STR, NULL, NULL },
    { NULL },
};

static const struct dev_prop nic_pci_props[] = {
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { "mac", DEV_PROP_STR, NULL, MAC_DESC },
    { "netdev", DEV_PROP_NETDEV, NULL, NETDEV_DESC },
    { NULL },
};

static const struct dev_prop nic_props[] = {
    { "mac", DEV_PROP_STR, NULL, MAC_DESC },
    { "netdev", DEV_PROP_NETDEV, NULL, NETDEV_DESC },
    { NULL },
};

static const struct dev_prop pci_props[] = {
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { NULL },
};

static const struct dev_prop virtio_serial_port_props[] = {
    { "chardev", DEV_PROP_CHARDEV, NULL, CHARDEV_DESC },
    { "name", DEV_PROP_STR, NULL, NULL },
    { "nr", DEV_PROP_UINT32, "4294967295", NULL },
    { NULL },
};

static const struct dev_prop ide_props[] = {
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },
    { "serial", DEV_PROP_STR, NULL, NULL },
    { NULL },
};

static const struct device_type device_types[] = {
    { .name = "isa-serial", .bus = "ISA", .category = DEV_CAT_INPUT,
      .props = isa_serial_props, .realize = serial_realize },
    { .name = "isa-debug-exit", .bus = "ISA", .category = DEV_CAT_MISC,
      .props = isa_debug_exit_props, .realize = isa_debug_exit_realize },
    { .name = "isa-debugcon", .bus = "ISA", .category = DEV_CAT_MISC,
      .props = isa_debugcon_props, .realize = debugcon_realize },
    { .name = "pc-testdev", .bus = "ISA", .category = DEV_CAT_MISC,
      .props = no_props, .realize = pc_testdev_realize },
    { .name = "pvpanic", .bus = "ISA", .category = DEV_CAT_MISC,
      .props = pvpanic_props, .realize = pvpanic_realize },
    { .name = "pci-testdev", .bus = "PCI", .category = DEV_CAT_MISC,
      .desc = "PCI Test Device", .props = pci_testdev_props,
      .realize = pci_testdev_realize },

    /* Built by later issues: named here so -device refuses them clearly. */
    { .name = "virtio-blk-pci", .bus = "PCI", .category = DEV_CAT_STORAGE,
      .alias = "virtio-blk", .props = virtio_blk_pci_props },
    { .name = "virtio-blk-device", .bus = "virtio-bus", .category = DEV_CAT_STORAGE,
      .props = virtio_blk_props },
    { .name = "ide-hd", .bus = "IDE", .category = DEV_CAT_STORAGE,
      .desc = "virtual IDE disk", .props = ide_props },
    { .name = "ide-cd", .bus = "IDE", .category = DEV_CAT_STORAGE,
      .desc = "virtual IDE CD-ROM", .props = ide_props },
    { .name = "virtio-net-pci", .bus = "PCI", .category = DEV_CAT_NETWORK,
      .alias = "virtio-net", .props = nic_pci_props },
    { .name = "virtio-net-device", .bus = "virtio-bus", .category = DEV_CAT_NETWORK,
      .props = nic_props },
    { .name = "e1000", .bus = "PCI", .category = DEV_CAT_NETWORK,
      .alias = "e1000-82540em", .desc = "Intel Gigabit Ethernet", .props = nic_pci_props },
    { .name = "i8042", .bus = "ISA", .category = DEV_CAT_INPUT, .props = no_props },
    { .name = "virtio-serial-pci", .bus = "PCI", .category = DEV_CAT_INPUT,
      .alias = "virtio-serial", .props = pci_props },
    { .name = "virtio-serial-device", .bus = "virtio-bus", .category = DEV_CAT_INPUT,
      .props = no_props },
    { .name = "virtconsole", .bus = "virtio-serial-bus", .category = DEV_CAT_INPUT,
      .props = virtio_serial_port_props },
    { .name = "virtserialport", .bus = "virtio-serial-bus", .category = DEV_CAT_INPUT,
      .props = virtio_serial_port_props },
    { .name = "VGA", .bus = "PCI", .category = DEV_CAT_DISPLAY, .props = pci_props },
    { .name = "virtio-rng-pci", .bus = "PCI", .category = DEV_CAT_MISC,
      .alias = "virtio-rng", .props = pci_props },
    { .name = "virtio-rng-device", .bus = "virtio-bus", .category = DEV_CAT_MISC,
      .props = no_props },
};

/* QEMU's message for a type that exists but -device cannot create. */
static int device_not_pluggable(struct machine *m, const struct dev_config *cfg,
                                GError **errp)
{
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                "Parameter 'driver' expects a pluggable device type");
    return -EINVAL;
}

/*
 * Types the board creates itself: -global and "-device NAME,help" know
 * them, "-device help" does not list them and -device refuses them.
 */
static const struct device_type board_types[] = {
    { .name = "kvm-pit", .bus = "ISA", .category = DEV_CAT_UNCATEGORIZED,
      .props = kvm_pit_props, .realize = device_not_pluggable },
    { .name = "isa-pit", .bus = "ISA", .category = DEV_CAT_UNCATEGORIZED,
      .props = isa_pit_props, .realize = device_not_pluggable },
};

static const char *const category_names[DEV_CAT__MAX] = {
    [DEV_CAT_CONTROLLER] = "Controller/Bridge/Hub devices",
    [DEV_CAT_USB] = "USB devices",
    [DEV_CAT_STORAGE] = "Storage devices",
    [DEV_CAT_NETWORK] = "Network devices",
    [DEV_CAT_INPUT] = "Input devices",
    [DEV_CAT_DISPLAY] = "Display devices",
    [DEV_CAT_SOUND] = "Sound devices",
    [DEV_CAT_MISC] = "Misc devices",
    [DEV_CAT_CPU] = "CPU devices",
    [DEV_CAT_WATCHDOG] = "Watchdog devices",
    [DEV_CAT_UNCATEGORIZED] = "Uncategorized devices",
};

const struct device_type *device_type_find(const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(device_types); i++) {
        const struct device_type *t = &device_types[i];

        if (!strcmp(t->name, name) || (t->alias && !strcmp(t->alias, name))) {
            return t;
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(board_types); i++) {
        if (!strcmp(board_types[i].name, name)) {
            return &board_types[i];
        }
    }
    return NULL;
}

static int type_cmp(const void *a, const void *b)
{
    const struct device_type *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

/* QEMU's layout: a heading per category, devices sorted by name, a blank
 * line between categories; tools such as libvirt have parsed it. */
void device_print_help(void)
{
    const struct device_type *sorted[G_N_ELEMENTS(device_types)];
    bool first = true;

    for (unsigned i = 0; i < G_N_ELEMENTS(device_types); i++) {
        sorted[i] = &device_types[i];
    }
    qsort(sorted, G_N_ELEMENTS(sorted), sizeof(sorted[0]), type_cmp);
    for (unsigned c = 0; c < DEV_CAT__MAX; c++) {
        bool heading = false;

        for (unsigned i = 0; i < G_N_ELEMENTS(sorted); i++) {
            const struct device_type *t = sorted[i];

            if (t->category != c) {
                continue;
            }
            if (!heading) {
                printf("%s%s:\n", first ? "" : "\n", category_names[c]);
                heading = true;
                first = false;
            }
            printf("name \"%s\", bus %s", t->name, t->bus);
            if (t->alias) {
                printf(", alias \"%s\"", t->alias);
            }
            if (t->desc || !t->realize) {
                printf(", desc \"%s%s%s\"", t->desc ? t->desc : "",
                       t->desc && !t->realize ? " " : "",
                       t->realize ? "" : "(not supported yet)");
            }
            printf("\n");
        }
    }
}

static const char *prop_type_name(enum dev_prop_type t)
{
    switch (t) {
    case DEV_PROP_BOOL: return "bool";
    case DEV_PROP_UINT8: return "uint8";
    case DEV_PROP_UINT16: return "uint16";
    case DEV_PROP_UINT32: return "uint32";
    case DEV_PROP_UINT64: return "uint64";
    case DEV_PROP_SIZE: return "size";
    case DEV_PROP_STR:
    case DEV_PROP_CHARDEV:
    case DEV_PROP_DRIVE:
    case DEV_PROP_NETDEV:
        break;
    }
    return "str";
}

static int prop_cmp(const void *a, const void *b)
{
    const struct dev_prop *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

/* "  name=<type>" padded to 24 columns, " - ", the description and the
 * default as JSON (strings quoted), as QEMU prints object properties. */
void device_print_props(const struct device_type *t)
{
    GPtrArray *props = g_ptr_array_new();

    for (const struct dev_prop *p = t->props; p && p->name; p++) {
        g_ptr_array_add(props, (gpointer)p);
    }
    if (!props->len) {
        printf("There are no options for %s.\n", t->name);
        g_ptr_array_free(props, TRUE);
        return;
    }
    qsort(props->pdata, props->len, sizeof(gpointer), prop_cmp);
    printf("%s options:\n", t->name);
    for (unsigned i = 0; i < props->len; i++) {
        const struct dev_prop *p = g_ptr_array_index(props, i);
        GString *line = g_string_new(NULL);

        g_string_append_printf(line, "  %s=<%s>", p->name,
                               p->enum_name ? p->enum_name : prop_type_name(p->type));
        if (p->desc || p->defval) {
            while (line->len < 24) {
                g_string_append_c(line, ' ');
            }
            g_string_append(line, " - ");
        }
        if (p->desc) {
            g_string_append(line, p->desc);
        }
        if (p->defval) {
            bool quote = !strcmp(prop_type_name(p->type), "str");

            g_string_append_printf(line, " (default: %s%s%s)", quote ? "\"" : "", p->defval,
                                   quote ? "\"" : "");
        }
        printf("%s\n", line->str);
        g_string_free(line, TRUE);
    }
    g_ptr_array_free(props, TRUE);
}
