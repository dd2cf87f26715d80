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
#include "hw/ide.h"
#include "hw/pci.h"
#include "hw/vga-pci.h"
#include "hw/virtio/virtio-balloon.h"
#include "hw/virtio/virtio-blk.h"
#include "hw/virtio/virtio-net.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-rng.h"
#include "hw/virtio/virtio-serial.h"
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

/*
 * QEMU 7.2's pvpanic-pci and i6300esb list the properties every PCI
 * function has; those beyond addr and multifunction do nothing here.
 */
#define PCI_DEVICE_PROPS                                                       \
    { "acpi-index", DEV_PROP_UINT32, "0", NULL },                              \
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },                                 \
    { "multifunction", DEV_PROP_BOOL, "false", "on/off" },                     \
    { "rombar", DEV_PROP_UINT32, "1", NULL },                                  \
    { "romfile", DEV_PROP_STR, NULL, NULL },                                   \
    { "romsize", DEV_PROP_UINT32, "4294967295", NULL },                        \
    { "x-pcie-extcap-init", DEV_PROP_BOOL, "true", "on/off" },                 \
    { "x-pcie-lnksta-dllla", DEV_PROP_BOOL, "true", "on/off" }

static const struct dev_prop pvpanic_pci_props[] = {
    { "events", DEV_PROP_UINT8, "3", NULL },
    PCI_DEVICE_PROPS,
    { NULL },
};

/* hyvm's own (QEMU 7.2 has no pvpanic-mmio): 0xfea01000 by default. */
static const struct dev_prop pvpanic_mmio_props[] = {
    { "addr", DEV_PROP_UINT64, "4271902720", "MMIO address of the register (microvm only)" },
    { "events", DEV_PROP_UINT8, "3", NULL },
    { NULL },
};

static const struct dev_prop i6300esb_props[] = {
    PCI_DEVICE_PROPS,
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

/* QEMU 7.2's virtio-mmio transport; force-legacy picks version 1 (4.2.4). */
static const struct dev_prop virtio_mmio_props[] = {
    { "force-legacy", DEV_PROP_BOOL, "true", NULL },
    { "format_transport_address", DEV_PROP_BOOL, "true", NULL },
    { "ioeventfd", DEV_PROP_BOOL, "true", "on/off" },
    { NULL },
};

static const struct dev_prop isa_pit_props[] = {
    { "iobase", DEV_PROP_UINT32, "4294967295", NULL },
    { NULL },
};

/* The devices of later issues list the properties users name most. */

/*
 * virtio-blk (hw/virtio/virtio-blk.c): QEMU 7.2's names and defaults.
 * num-queues 65535 means one queue per vCPU on PCI, one on virtio-mmio.
 */
#define VIRTIO_BLK_BSIZE_DESC "A power of two between 512 B and 2 MiB"
#define VIRTIO_BLK_PROPS                                                                   \
    { "config-wce", DEV_PROP_BOOL, "true", "on/off" },                                     \
    { "discard", DEV_PROP_BOOL, "true", "on/off" },                                        \
    { "discard_granularity", DEV_PROP_SIZE, "4294967295", NULL },                          \
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },                                         \
    { "logical_block_size", DEV_PROP_SIZE, "0", VIRTIO_BLK_BSIZE_DESC },                   \
    { "max-discard-sectors", DEV_PROP_UINT32, "4194303", NULL },                           \
    { "max-write-zeroes-sectors", DEV_PROP_UINT32, "4194303", NULL },                      \
    { "min_io_size", DEV_PROP_SIZE, "0", NULL },                                           \
    { "num-queues", DEV_PROP_UINT16, "65535", NULL },                                      \
    { "opt_io_size", DEV_PROP_SIZE, "0", NULL },                                           \
    { "physical_block_size", DEV_PROP_SIZE, "0", VIRTIO_BLK_BSIZE_DESC },                  \
    { "queue-size", DEV_PROP_UINT16, "256", NULL },                                        \
    { "request-merging", DEV_PROP_BOOL, "true", "on/off" },                                \
    { "seg-max-adjust", DEV_PROP_BOOL, "true", NULL },                                     \
    { "serial", DEV_PROP_STR, NULL, NULL },                                                \
    { "share-rw", DEV_PROP_BOOL, "false", NULL },                                          \
    { "write-cache", DEV_PROP_STR, "auto", "on/off/auto", "OnOffAuto",                     \
      virtio_pci_on_off_auto },                                                            \
    { "write-zeroes", DEV_PROP_BOOL, "true", "on/off" }

/* The virtio-pci transport reads addr, vectors, disable-legacy/-modern, ioeventfd. */
static const struct dev_prop virtio_blk_pci_props[] = {
    VIRTIO_BLK_PROPS,
    { "bootindex", DEV_PROP_INT32, NULL, NULL },
    VIRTIO_PCI_PROPS("4294967295"),
    { NULL },
};

static const struct dev_prop virtio_blk_props[] = {
    VIRTIO_BLK_PROPS,
    { NULL },
};

/*
 * virtio-net (hw/virtio/virtio-net.c): QEMU 7.2's names and defaults.  The
 * checksum and segmentation offloads are offered only when the netdev
 * carries virtio-net headers; mq stays one queue pair for now.
 */
#define VIRTIO_NET_PROPS                                                       \
    { "csum", DEV_PROP_BOOL, "true", "on/off" },                               \
    { "ctrl_guest_offloads", DEV_PROP_BOOL, "true", "on/off" },                \
    { "ctrl_mac_addr", DEV_PROP_BOOL, "true", "on/off" },                      \
    { "ctrl_rx", DEV_PROP_BOOL, "true", "on/off" },                            \
    { "ctrl_rx_extra", DEV_PROP_BOOL, "true", "on/off" },                      \
    { "ctrl_vlan", DEV_PROP_BOOL, "true", "on/off" },                          \
    { "ctrl_vq", DEV_PROP_BOOL, "true", "on/off" },                            \
    { "duplex", DEV_PROP_STR, NULL, NULL },                                    \
    { "gso", DEV_PROP_BOOL, "true", "on/off" },                                \
    { "guest_announce", DEV_PROP_BOOL, "true", "on/off" },                     \
    { "guest_csum", DEV_PROP_BOOL, "true", "on/off" },                         \
    { "guest_ecn", DEV_PROP_BOOL, "true", "on/off" },                          \
    { "guest_tso4", DEV_PROP_BOOL, "true", "on/off" },                         \
    { "guest_tso6", DEV_PROP_BOOL, "true", "on/off" },                         \
    { "guest_ufo", DEV_PROP_BOOL, "true", "on/off" },                          \
    { "host_ecn", DEV_PROP_BOOL, "true", "on/off" },                           \
    { "host_mtu", DEV_PROP_UINT16, "0", NULL },                                \
    { "host_tso4", DEV_PROP_BOOL, "true", "on/off" },                          \
    { "host_tso6", DEV_PROP_BOOL, "true", "on/off" },                          \
    { "host_ufo", DEV_PROP_BOOL, "true", "on/off" },                           \
    { "mac", DEV_PROP_STR, NULL, MAC_DESC },                                   \
    { "mq", DEV_PROP_BOOL, "false", "on/off" },                                \
    { "mrg_rxbuf", DEV_PROP_BOOL, "true", "on/off" },                          \
    { "netdev", DEV_PROP_NETDEV, NULL, NETDEV_DESC },                          \
    { "rx_queue_size", DEV_PROP_UINT16, "256", NULL },                         \
    { "speed", DEV_PROP_STR, NULL, NULL, "int32" },                            \
    { "status", DEV_PROP_BOOL, "true", "on/off" },                             \
    { "tx_queue_size", DEV_PROP_UINT16, "256", NULL }

/* The virtio-pci transport reads addr, vectors, disable-legacy/-modern, ioeventfd. */
static const struct dev_prop virtio_net_pci_props[] = {
    VIRTIO_NET_PROPS,
    { "bootindex", DEV_PROP_INT32, NULL, NULL },
    VIRTIO_PCI_PROPS("4294967295"),
    { NULL },
};

static const struct dev_prop virtio_net_props[] = {
    VIRTIO_NET_PROPS,
    { NULL },
};

static const struct dev_prop nic_pci_props[] = {
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { "mac", DEV_PROP_STR, NULL, MAC_DESC },
    { "netdev", DEV_PROP_NETDEV, NULL, NETDEV_DESC },
    { NULL },
};

/* QEMU 7.2's VGA (hw/vga-pci.c): every property "-device VGA,help" lists;
 * global-vmstate, refresh_rate, xmax/ymax and the PCIe ones do nothing. */
static const struct dev_prop vga_props[] = {
    { "acpi-index", DEV_PROP_UINT32, "0", NULL },
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { "big-endian-framebuffer", DEV_PROP_BOOL, NULL, NULL },
    { "edid", DEV_PROP_BOOL, "true", "on/off" },
    { "failover_pair_id", DEV_PROP_STR, NULL, NULL },
    { "global-vmstate", DEV_PROP_BOOL, "false", NULL },
    { "mmio", DEV_PROP_BOOL, "true", "on/off" },
    { "multifunction", DEV_PROP_BOOL, "false", "on/off" },
    { "qemu-extended-regs", DEV_PROP_BOOL, "true", "on/off" },
    { "refresh_rate", DEV_PROP_UINT32, "0", NULL },
    { "rombar", DEV_PROP_UINT32, "1", NULL },
    { "romfile", DEV_PROP_STR, NULL, NULL },
    { "romsize", DEV_PROP_UINT32, "4294967295", NULL },
    { "vgamem_mb", DEV_PROP_UINT32, "16", NULL },
    { "x-pcie-extcap-init", DEV_PROP_BOOL, "true", "on/off" },
    { "x-pcie-lnksta-dllla", DEV_PROP_BOOL, "true", "on/off" },
    { "xmax", DEV_PROP_UINT32, "0", NULL },
    { "xres", DEV_PROP_UINT32, "0", NULL },
    { "ymax", DEV_PROP_UINT32, "0", NULL },
    { "yres", DEV_PROP_UINT32, "0", NULL },
    { NULL },
};

/*
 * virtio-serial and virtio-rng (hw/virtio/virtio-serial.c, virtio-rng.c):
 * QEMU 7.2's names and defaults; the -pci types add what the virtio-pci
 * transport reads.
 */
#define VIRTIO_SERIAL_PROPS                                                            \
    { "emergency-write", DEV_PROP_BOOL, "true", "on/off" },                            \
    { "max_ports", DEV_PROP_UINT32, "31", NULL }
#define VIRTIO_RNG_PROPS                                                               \
    { "max-bytes", DEV_PROP_UINT64, "9223372036854775807", NULL },                     \
    { "period", DEV_PROP_UINT32, "65536", NULL },                                      \
    { "rng", DEV_PROP_STR, NULL, NULL, "link<rng-backend>" }

static const struct dev_prop virtio_serial_pci_props[] = {
    VIRTIO_SERIAL_PROPS,
    VIRTIO_PCI_PROPS("2"),
    { NULL },
};

static const struct dev_prop virtio_serial_props[] = {
    VIRTIO_SERIAL_PROPS,
    { NULL },
};

static const struct dev_prop virtio_rng_pci_props[] = {
    VIRTIO_RNG_PROPS,
    VIRTIO_PCI_PROPS("4294967295"),
    { NULL },
};

static const struct dev_prop virtio_rng_props[] = {
    VIRTIO_RNG_PROPS,
    { NULL },
};

static const struct dev_prop virtio_serial_port_props[] = {
    { "chardev", DEV_PROP_CHARDEV, NULL, CHARDEV_DESC },
    { "name", DEV_PROP_STR, NULL, NULL },
    { "nr", DEV_PROP_UINT32, "4294967295", NULL },
    { NULL },
};

/* QEMU 7.2's virtio-balloon properties users set (deflate-on-oom,
 * free-page-reporting, the statistics interval) and those of its PCI proxy. */

#define VIRTIO_BALLOON_PROPS                                                   \
    { "deflate-on-oom", DEV_PROP_BOOL, "false", "on/off" },                    \
    { "free-page-hint", DEV_PROP_BOOL, "false", "on/off" },                    \
    { "free-page-reporting", DEV_PROP_BOOL, "false", "on/off" },               \
    { "guest-stats-polling-interval", DEV_PROP_UINT32, NULL, NULL },           \
    { "page-poison", DEV_PROP_BOOL, "true", "on/off" }

static const struct dev_prop virtio_balloon_pci_props[] = {
    VIRTIO_PCI_PROPS_COMMON,
    VIRTIO_BALLOON_PROPS,
    { NULL },
};

static const struct dev_prop virtio_balloon_props[] = {
    VIRTIO_BALLOON_PROPS,
    { NULL },
};

static const struct dev_prop ide_props[] = {
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },
    { "serial", DEV_PROP_STR, NULL, NULL },
    { "model", DEV_PROP_STR, NULL, NULL },
    { "ver", DEV_PROP_STR, NULL, NULL },
    { "unit", DEV_PROP_UINT32, "4294967295", NULL },
    { "bootindex", DEV_PROP_INT32, NULL, NULL },
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
    { .name = "pvpanic-pci", .bus = "PCI", .category = DEV_CAT_MISC,
      .props = pvpanic_pci_props, .realize = pvpanic_pci_realize },
    { .name = "pvpanic-mmio", .bus = "System", .category = DEV_CAT_MISC,
      .desc = "pvpanic register in MMIO (hyvm's, -M microvm)", .props = pvpanic_mmio_props,
      .realize = pvpanic_mmio_realize },
    { .name = "i6300esb", .bus = "PCI", .category = DEV_CAT_WATCHDOG,
      .desc = "Intel 6300ESB", .props = i6300esb_props, .realize = i6300esb_realize },
    { .name = "pci-testdev", .bus = "PCI", .category = DEV_CAT_MISC,
      .desc = "PCI Test Device", .props = pci_testdev_props,
      .realize = pci_testdev_realize },

    /* Built by later issues: named here so -device refuses them clearly. */
    { .name = "virtio-blk-pci", .bus = "PCI", .category = DEV_CAT_STORAGE,
      .alias = "virtio-blk", .props = virtio_blk_pci_props, .realize = virtio_blk_realize },
    { .name = "virtio-blk-device", .bus = "virtio-bus", .category = DEV_CAT_STORAGE,
      .props = virtio_blk_props, .realize = virtio_blk_realize },
    { .name = "ide-hd", .bus = "IDE", .category = DEV_CAT_STORAGE,
      .desc = "virtual IDE disk", .props = ide_props, .realize = ide_device_realize },
    { .name = "ide-cd", .bus = "IDE", .category = DEV_CAT_STORAGE,
      .desc = "virtual IDE CD-ROM", .props = ide_props, .realize = ide_device_realize },
    { .name = "virtio-net-pci", .bus = "PCI", .category = DEV_CAT_NETWORK,
      .alias = "virtio-net", .props = virtio_net_pci_props, .realize = virtio_net_realize },
    { .name = "virtio-net-device", .bus = "virtio-bus", .category = DEV_CAT_NETWORK,
      .props = virtio_net_props, .realize = virtio_net_realize },
    { .name = "e1000", .bus = "PCI", .category = DEV_CAT_NETWORK,
      .alias = "e1000-82540em", .desc = "Intel Gigabit Ethernet", .props = nic_pci_props },
    { .name = "i8042", .bus = "ISA", .category = DEV_CAT_INPUT, .props = no_props },
    { .name = "virtio-serial-pci", .bus = "PCI", .category = DEV_CAT_INPUT,
      .alias = "virtio-serial", .props = virtio_serial_pci_props,
      .realize = virtio_serial_realize },
    { .name = "virtio-serial-device", .bus = "virtio-bus", .category = DEV_CAT_INPUT,
      .props = virtio_serial_props, .realize = virtio_serial_realize },
    { .name = "virtconsole", .bus = "virtio-serial-bus", .category = DEV_CAT_INPUT,
      .props = virtio_serial_port_props, .realize = virtio_serial_port_realize },
    { .name = "virtserialport", .bus = "virtio-serial-bus", .category = DEV_CAT_INPUT,
      .props = virtio_serial_port_props, .realize = virtio_serial_port_realize },
    { .name = "VGA", .bus = "PCI", .category = DEV_CAT_DISPLAY, .props = vga_props,
      .realize = vga_pci_realize },
    { .name = "virtio-rng-pci", .bus = "PCI", .category = DEV_CAT_MISC,
      .alias = "virtio-rng", .props = virtio_rng_pci_props, .realize = virtio_rng_realize },
    { .name = "virtio-rng-device", .bus = "virtio-bus", .category = DEV_CAT_MISC,
      .props = virtio_rng_props, .realize = virtio_rng_realize },
    { .name = "virtio-balloon-pci", .bus = "PCI", .category = DEV_CAT_MISC,
      .alias = "virtio-balloon", .props = virtio_balloon_pci_props,
      .realize = virtio_balloon_realize },
    { .name = "virtio-balloon-device", .bus = "virtio-bus", .category = DEV_CAT_MISC,
      .props = virtio_balloon_props, .realize = virtio_balloon_realize },
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
    { .name = "virtio-mmio", .bus = "System", .category = DEV_CAT_MISC,
      .props = virtio_mmio_props, .realize = device_not_pluggable },
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
    case DEV_PROP_INT32: return "int32";
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
