/*
 * The virtio-pci transport and MSI-X, driven as a driver drives them:
 * config cycles through ports 0xcf8/0xcfc, the legacy I/O BAR, the modern
 * BAR, the MSI-X table, with a one-queue fake device whose handler
 * returns every chain at once.  Interrupts land in a recorded GSI table
 * and a recorded MSI list.  The layout expected is what QEMU 7.2 shows
 * for its virtio-*-pci functions on pc-i440fx-7.2 (info pci, lspci).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "accel/accel.h"
#include "machine/boot-order.h"
#include "hw/device.h"
#include "hw/irq.h"
#include "hw/msix.h"
#include "hw/pci.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio.h"
#include "machine/machine.h"
#include "system/keyval.h"
#include "system/memory.h"
#include "tests/unit/io-access.h"
#include "tests/unit/guest-ram.h"

#define RAM_SIZE        (1u << 20)
#define SLOT            4
#define DEVFN           PCI_DEVFN(SLOT, 0)
#define INTX_GSI        11      /* slot 4 INTA -> PIRQD -> IRQ 11 (SeaBIOS) */
#define RING            0x10000 /* guest-physical rings */
#define BUF             0x40000
#define QSIZE           256
#define TEST_CONFIG     8

static uint32_t cfg_rd(unsigned reg, unsigned size)
{
    return pci_cfg_rd(DEVFN, reg, size);
}

static void cfg_wr(unsigned reg, uint32_t v, unsigned size)
{
    pci_cfg_wr(DEVFN, reg, v, size);
}

/* ---- the fake device: one queue, 8 bytes of config ---- */

struct test_dev {
    struct virtio_device vdev;
    unsigned kicks;
    unsigned config_writes;
    unsigned resets;
};

static struct test_dev *test_of(struct virtio_device *vdev)
{
    return (struct test_dev *)((char *)vdev - offsetof(struct test_dev, vdev));
}

static void test_config_written(struct virtio_device *vdev, unsigned offset, unsigned len)
{
    struct test_dev *t = test_of(vdev);

    t->config_writes++;
}

static void test_reset(struct virtio_device *vdev)
{
    struct test_dev *t = test_of(vdev);

    t->resets++;
}

/* Every chain goes back used at once, with an interrupt. */
static void test_handle(struct virtio_device *vdev, unsigned queue)
{
    struct test_dev *t = test_of(vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *e;

    t->kicks++;
    while ((e = virtqueue_pop(vq, sizeof(*e)))) {
        virtqueue_push(vq, e, 0);
        g_free(e);
    }
    virtqueue_notify(vq);
}

static const struct virtio_dev_ops test_ops = {
    .name = "virtio-test",
    .device_id = VIRTIO_ID_RNG,
    .pci_class = 0x00ff00,
    .config_size = TEST_CONFIG,
    .config_written = test_config_written,
    .reset = test_reset,
};

static const struct dev_prop test_props[] = {
    VIRTIO_PCI_PROPS("4294967295"),
    { NULL },
};

static const struct device_type test_type = {
    .name = "virtio-test-pci", .bus = "PCI", .props = test_props,
};

/* A type without the vectors property (QEMU's virtio-balloon-pci). */
static const struct dev_prop test_novec_props[] = {
    VIRTIO_PCI_PROPS_COMMON,
    { NULL },
};

static const struct device_type test_novec_type = {
    .name = "virtio-test-pci", .bus = "PCI", .props = test_novec_props,
};

/* bootindex=: the same transport as virtio-blk and virtio-net. */
static const struct dev_prop test_boot_props[] = {
    VIRTIO_PCI_PROPS("4294967295"),
    { "bootindex", DEV_PROP_INT32, NULL, NULL },
    { NULL },
};

static const struct device_type test_boot_type = {
    .name = "virtio-test-pci", .bus = "PCI", .props = test_boot_props,
};

static struct virtio_dev_ops test_boot_ops;

/* ---- fixture ---- */

static const struct virtio_dev_ops *plug_ops = &test_ops;

static int gsi_level[24];
static uint64_t msi_addr[16];
static uint32_t msi_data[16];
static unsigned msi_count;
static struct test_dev *dev;
static struct machine *machine;     /* NULL, or one with the fake accelerator */

static void record_irq(void *opaque, unsigned gsi, int level)
{
    g_assert_cmpuint(gsi, <, 24);
    gsi_level[gsi] = level;
}

static void record_msi(void *opaque, uint64_t addr, uint32_t data)
{
    g_assert_cmpuint(msi_count, <, G_N_ELEMENTS(msi_addr));
    msi_addr[msi_count] = addr;
    msi_data[msi_count++] = data;
}

static void teardown(void)
{
    virtio_cleanup_all();
    io_unregister_all();
    pci_bus_destroy();
    ram_free_all();
    dev = NULL;
}

static int plug(const struct device_type *type, const char *props, GError **errp)
{
    struct dev_config cfg = { .type = type };
    int ret;

    teardown();
    memset(gsi_level, 0, sizeof(gsi_level));
    msi_count = 0;
    irq_set_route(record_irq, NULL);
    msi_set_route(record_msi, NULL);
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, NULL), ==, 0);
    g_assert_cmpint(pci_host_create_pc(NULL, NULL), ==, 0);
    cfg.props = kv_parse(props, NULL, NULL);
    g_assert_nonnull(cfg.props);
    dev = g_new0(struct test_dev, 1);
    virtio_init(&dev->vdev, plug_ops, &cfg, 1, QSIZE, 0);
    dev->vdev.vqs[0].handle = test_handle;
    ret = virtio_plug(machine, &cfg, &dev->vdev, errp);
    kv_free(cfg.props);
    if (ret < 0) {
        virtio_device_free(&dev->vdev);
        dev = NULL;
        return ret;
    }
    pci_firmware_setup();
    return 0;
}

static void plug_ok(const char *props)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(plug(&test_type, props, &err), ==, 0);
    g_assert_no_error(err);
}

static uint16_t legacy_base(void)
{
    uint32_t bar = cfg_rd(PCI_BASE_ADDRESS_0, 4);

    g_assert_cmphex(bar & 1, ==, 1);
    return bar & ~3u;
}

static uint64_t bar_mem(unsigned idx)
{
    uint64_t lo = cfg_rd(PCI_BASE_ADDRESS_0 + 4 * idx, 4);

    if (lo & PCI_BAR_MEM_TYPE_64) {
        lo |= (uint64_t)cfg_rd(PCI_BASE_ADDRESS_0 + 4 * idx + 4, 4) << 32;
    }
    return lo & ~0xfull;
}

static uint64_t common(unsigned off)
{
    return bar_mem(VIRTIO_PCI_MODERN_BAR) + VIRTIO_PCI_COMMON_OFFSET + off;
}

/* The size BAR idx decodes, by the sizing protocol (PCI 3.0, 6.2.5.1). */
static uint32_t bar_size(unsigned idx)
{
    unsigned reg = PCI_BASE_ADDRESS_0 + 4 * idx;
    uint32_t old = cfg_rd(reg, 4), mask;

    cfg_wr(reg, 0xffffffff, 4);
    mask = cfg_rd(reg, 4);
    cfg_wr(reg, old, 4);
    if (!mask) {
        return 0;
    }
    mask &= (old & 1) ? ~3u : ~0xfu;
    return -mask;
}

/* The capability list as a driver walks it: offsets and IDs in order. */
static unsigned cap_walk(uint8_t *offs, uint8_t *ids, unsigned max)
{
    unsigned n = 0;

    if (!(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    for (uint8_t p = cfg_rd(PCI_CAPABILITY_LIST, 1); p && n < max; n++) {
        offs[n] = p;
        ids[n] = cfg_rd(p, 1);
        p = cfg_rd(p + 1, 1);
    }
    return n;
}

/* Writes a one-buffer chain into the split ring at RING (desc, avail, used
 * laid out by the caller) and makes it available. */
static void make_available(uint64_t desc, uint64_t avail, uint16_t idx)
{
    put64(desc, BUF);
    put32(desc + 8, 16);
    put16(desc + 12, 0);
    put16(desc + 14, 0);
    put16(avail + 4 + 2 * (idx % QSIZE), 0);
    put16(avail + 2, idx + 1);
}

/* ---- identity and layout ---- */

static void test_transitional_layout(void)
{
    uint8_t offs[8], ids[8];
    static const uint8_t want_offs[] = { 0x98, 0x84, 0x70, 0x60, 0x50, 0x40 };
    static const uint8_t want_types[] = { 5, 2, 4, 3, 1 };
    unsigned n;

    plug_ok("addr=4");
    g_assert_cmphex(cfg_rd(PCI_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(cfg_rd(PCI_DEVICE_ID, 2), ==, 0x1005);
    g_assert_cmphex(cfg_rd(PCI_REVISION_ID, 1), ==, 0);
    g_assert_cmphex(cfg_rd(PCI_REVISION_ID, 4) >> 8, ==, test_ops.pci_class);
    g_assert_cmphex(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(cfg_rd(PCI_SUBSYSTEM_ID, 2), ==, VIRTIO_ID_RNG);
    g_assert_cmphex(cfg_rd(PCI_INTERRUPT_PIN, 1), ==, 1);
    g_assert_cmphex(cfg_rd(PCI_INTERRUPT_LINE, 1), ==, INTX_GSI);

    /* QEMU's: MSI-X at 0x98 heads the list, then the vendor capabilities
     * PCI cfg, notify, device, ISR, common (each added at the head). */
    n = cap_walk(offs, ids, 8);
    g_assert_cmpuint(n, ==, 6);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(offs[i], ==, want_offs[i]);
        g_assert_cmphex(ids[i], ==, i ? PCI_CAP_ID_VNDR : PCI_CAP_ID_MSIX);
        if (i) {
            unsigned c = offs[i];

            g_assert_cmpuint(cfg_rd(c + VIRTIO_PCI_CAP_CFG_TYPE, 1), ==, want_types[i - 1]);
            g_assert_cmpuint(cfg_rd(c + VIRTIO_PCI_CAP_LEN, 1), ==,
                             i <= 2 ? 20 : 16);
        }
    }
    /* The notify capability: BAR4 at 0x3000, multiplier 4. */
    g_assert_cmpuint(cfg_rd(0x70 + VIRTIO_PCI_CAP_BAR, 1), ==, 4);
    g_assert_cmphex(cfg_rd(0x70 + VIRTIO_PCI_CAP_OFFSET, 4), ==, 0x3000);
    g_assert_cmphex(cfg_rd(0x70 + VIRTIO_PCI_CAP_LENGTH, 4), ==, 0x1000);
    g_assert_cmpuint(cfg_rd(0x70 + VIRTIO_PCI_NOTIFY_CAP_MULT, 4), ==, 4);
    g_assert_cmphex(cfg_rd(0x40 + VIRTIO_PCI_CAP_OFFSET, 4), ==, 0);
    /* MSI-X: 2 vectors (queues + 1), table at 0 and PBA at 0x800 of BAR1. */
    g_assert_cmphex(cfg_rd(0x98 + 2, 2), ==, 1);
    g_assert_cmphex(cfg_rd(0x98 + 4, 4), ==, 1);
    g_assert_cmphex(cfg_rd(0x98 + 8, 4), ==, 0x801);

    /* BARs as QEMU's info pci shows them for a device of 8 config bytes. */
    g_assert_cmphex(bar_size(0), ==, 0x20);
    g_assert_cmphex(bar_size(1), ==, 0x1000);
    g_assert_cmphex(cfg_rd(PCI_BASE_ADDRESS_0 + 16, 4) & 0xf, ==, 0xc);
    g_assert_cmphex(bar_size(4), ==, 0x4000);
    g_assert_cmphex(bar_size(2), ==, 0);
    g_assert_cmphex(legacy_base(), ==, 0xc000);
    teardown();
}

static void test_modern_only(void)
{
    uint8_t offs[8], ids[8];

    plug_ok("addr=4,disable-legacy=on");
    g_assert_cmphex(cfg_rd(PCI_DEVICE_ID, 2), ==, 0x1040 + VIRTIO_ID_RNG);
    g_assert_cmphex(cfg_rd(PCI_REVISION_ID, 1), ==, 1);
    g_assert_cmphex(cfg_rd(PCI_SUBSYSTEM_ID, 2), ==, 0x1100);
    g_assert_cmphex(bar_size(0), ==, 0);
    g_assert_cmpuint(cap_walk(offs, ids, 8), ==, 6);
    teardown();
}

static void test_legacy_only(void)
{
    uint8_t offs[8], ids[8];

    plug_ok("addr=4,disable-modern=on");
    g_assert_cmphex(cfg_rd(PCI_DEVICE_ID, 2), ==, 0x1005);
    g_assert_cmphex(bar_size(4), ==, 0);
    /* Only MSI-X, at the first free offset. */
    g_assert_cmpuint(cap_walk(offs, ids, 8), ==, 1);
    g_assert_cmphex(offs[0], ==, 0x40);
    g_assert_false(dev->vdev.host_features & (1ull << VIRTIO_F_VERSION_1));
    teardown();
}

static void test_properties(void)
{
    g_autoptr(GError) err = NULL;
    uint8_t offs[8], ids[8];

    g_assert_cmpint(plug(&test_type, "disable-legacy=on,disable-modern=on", &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "device cannot work as neither modern nor legacy mode is enabled");
    g_clear_error(&err);

    /* vectors=0: no MSI-X, and the legacy header stays 20 bytes. */
    plug_ok("addr=4,vectors=0");
    g_assert_cmpuint(cap_walk(offs, ids, 8), ==, 5);
    g_assert_cmphex(offs[0], ==, 0x84);
    g_assert_cmphex(bar_size(1), ==, 0);
    g_assert_cmphex(bar_size(0), ==, 0x20);

    plug_ok("addr=4,vectors=5");
    g_assert_cmphex(cfg_rd(0x98 + 2, 2), ==, 4);

    /* No vectors property: no MSI-X (virtio-balloon-pci). */
    g_assert_cmpint(plug(&test_novec_type, "addr=4", &err), ==, 0);
    g_assert_cmpuint(msix_nvectors(pci_find_device(DEVFN)), ==, 0);

    /* QEMU's address checks come from pci.c. */
    g_assert_cmpint(plug(&test_type, "addr=0", &err), <, 0);
    g_assert_nonnull(strstr(err->message, "not available for virtio-test-pci"));
    teardown();
}

/* ---- the legacy interface ---- */

static void test_legacy_driver(void)
{
    uint16_t io;
    uint32_t feat;
    uint64_t desc = RING, avail = RING + 16 * QSIZE, used = RING + 0x2000;

    plug_ok("addr=4");
    io = legacy_base();
    cfg_wr(PCI_COMMAND, cfg_rd(PCI_COMMAND, 2) | PCI_COMMAND_MASTER, 2);

    pio_out(io + VIRTIO_PCI_STATUS, 0, 1);
    pio_out(io + VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
    pio_out(io + VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
    feat = pio_in(io + VIRTIO_PCI_HOST_FEATURES, 4);
    g_assert_true(feat & (1u << VIRTIO_RING_F_EVENT_IDX));
    g_assert_true(feat & (1u << VIRTIO_F_BAD_FEATURE));
    pio_out(io + VIRTIO_PCI_GUEST_FEATURES, 1u << VIRTIO_RING_F_INDIRECT_DESC, 4);
    g_assert_cmphex(pio_in(io + VIRTIO_PCI_GUEST_FEATURES, 4), ==,
                    1u << VIRTIO_RING_F_INDIRECT_DESC);

    /* A queue that does not exist reads size 0; queue 0 has 256. */
    pio_out(io + VIRTIO_PCI_QUEUE_SEL, 3, 2);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_QUEUE_NUM, 2), ==, 0);
    pio_out(io + VIRTIO_PCI_QUEUE_SEL, 0, 2);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_QUEUE_NUM, 2), ==, QSIZE);

    /* 2.7.2 legacy layout: used ring at the 4096 boundary after avail. */
    pio_out(io + VIRTIO_PCI_QUEUE_PFN, RING >> 12, 4);
    g_assert_true(dev->vdev.vqs[0].ready);
    g_assert_cmphex(dev->vdev.vqs[0].desc, ==, desc);
    g_assert_cmphex(dev->vdev.vqs[0].avail, ==, avail);
    g_assert_cmphex(dev->vdev.vqs[0].used, ==, used);
    g_assert_cmphex(pio_in(io + VIRTIO_PCI_QUEUE_PFN, 4), ==, RING >> 12);
    pio_out(io + VIRTIO_PCI_STATUS, 7, 1);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_STATUS, 1), ==, 7);

    /* Device config at 20 with MSI-X off. */
    dev->vdev.config[0] = 0x5a;
    g_assert_cmphex(pio_in(io + VIRTIO_PCI_LEGACY_HEADER, 1), ==, 0x5a);
    pio_out(io + VIRTIO_PCI_LEGACY_HEADER + 4, 0x1234, 2);
    g_assert_cmpuint(dev->config_writes, ==, 1);
    g_assert_cmphex(dev->vdev.config[4], ==, 0x34);

    /* A kick: the chain comes back used, INTx rises until the ISR is read. */
    make_available(desc, avail, 0);
    pio_out(io + VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
    g_assert_cmpuint(dev->kicks, ==, 1);
    g_assert_cmpuint(get16(used + 2), ==, 1);
    g_assert_cmpint(gsi_level[INTX_GSI], ==, 1);
    g_assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_ISR, 1), ==, VIRTIO_ISR_QUEUE);
    g_assert_cmpint(gsi_level[INTX_GSI], ==, 0);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_ISR, 1), ==, 0);
    g_assert_cmpuint(msi_count, ==, 0);

    /* A queue number past the device's is ignored. */
    pio_out(io + VIRTIO_PCI_QUEUE_NOTIFY, 7, 2);
    g_assert_cmpuint(dev->kicks, ==, 1);

    /* Status 0 resets: queue off, features gone. */
    pio_out(io + VIRTIO_PCI_STATUS, 0, 1);
    g_assert_false(dev->vdev.vqs[0].ready);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_GUEST_FEATURES, 4), ==, 0);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_QUEUE_PFN, 4), ==, 0);

    /* A PFN of 0 resets the device too (QEMU), one outside RAM is refused. */
    pio_out(io + VIRTIO_PCI_STATUS, 3, 1);
    pio_out(io + VIRTIO_PCI_QUEUE_PFN, 0, 4);
    g_assert_cmpuint(pio_in(io + VIRTIO_PCI_STATUS, 1), ==, 0);
    pio_out(io + VIRTIO_PCI_QUEUE_PFN, 0xfffff, 4);
    g_assert_false(dev->vdev.vqs[0].ready);
    teardown();
}

/* Linux before 2.6.34 never set bus mastering; QEMU sets it at ACK|DRIVER. */
static void test_legacy_bus_master(void)
{
    uint16_t io;

    plug_ok("addr=4");
    io = legacy_base();
    g_assert_false(cfg_rd(PCI_COMMAND, 2) & PCI_COMMAND_MASTER);
    pio_out(io + VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
    g_assert_true(cfg_rd(PCI_COMMAND, 2) & PCI_COMMAND_MASTER);
    teardown();
}

/* ---- the modern interface ---- */

static void modern_setup_queue(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_SIZE), size, 2);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_DESCLO), desc, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_DESCHI), desc >> 32, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_AVAILLO), avail, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_AVAILHI), avail >> 32, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_USEDLO), used, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_USEDHI), used >> 32, 4);
}

/* A modern driver's probe up to DRIVER_OK with the given queue layout. */
static void modern_start(uint64_t desc, uint64_t avail, uint64_t used)
{
    cfg_wr(PCI_COMMAND, cfg_rd(PCI_COMMAND, 2) | PCI_COMMAND_MASTER, 2);
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 3, 1);
    mmio_wr(common(VIRTIO_PCI_COMMON_GFSELECT), 1, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_GF), 1, 4);     /* VERSION_1 */
    mmio_wr(common(VIRTIO_PCI_COMMON_GFSELECT), 0, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_GF), 0, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_STATUS), 1), ==, 0xb);
    modern_setup_queue(128, desc, avail, used);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_ENABLE), 1, 2);
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 0xf, 1);
}

static void test_modern_driver(void)
{
    uint64_t bar, desc = RING, avail = RING + 0x800, used = RING + 0x1000;

    plug_ok("addr=4");
    bar = bar_mem(VIRTIO_PCI_MODERN_BAR);
    g_assert_cmphex(bar, !=, 0);

    /* Features: VERSION_1 in the high word, no legacy-only bits. */
    mmio_wr(common(VIRTIO_PCI_COMMON_DFSELECT), 1, 4);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_DF), 4), ==, 1);
    mmio_wr(common(VIRTIO_PCI_COMMON_DFSELECT), 0, 4);
    g_assert_false(mmio_rd(common(VIRTIO_PCI_COMMON_DF), 4) &
                   ((1u << VIRTIO_F_NOTIFY_ON_EMPTY) | (1u << VIRTIO_F_BAD_FEATURE)));
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_NUMQ), 2), ==, 1);

    /* A feature word alone acks nothing until FEATURES_OK. */
    mmio_wr(common(VIRTIO_PCI_COMMON_GFSELECT), 1, 4);
    mmio_wr(common(VIRTIO_PCI_COMMON_GF), 1, 4);
    g_assert_cmphex(dev->vdev.guest_features, ==, 0);
    modern_start(desc, avail, used);
    g_assert_true(dev->vdev.guest_features & (1ull << VIRTIO_F_VERSION_1));
    g_assert_true(dev->vdev.vqs[0].ready);
    g_assert_cmpuint(dev->vdev.vqs[0].num, ==, 128);
    g_assert_cmphex(dev->vdev.vqs[0].used, ==, used);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), ==, 1);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_Q_AVAILLO), 4), ==, avail);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_NOFF), 2), ==, 0);

    /* Ring registers of an enabled queue stay as they are. */
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_SIZE), 64, 2);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), ==, 128);

    /* A vector past the table reads back as NO_VECTOR (4.1.4.3). */
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_MSIX), 2, 2);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_Q_MSIX), 2), ==, VIRTIO_NO_VECTOR);
    mmio_wr(common(VIRTIO_PCI_COMMON_MSIX), 1, 2);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_MSIX), 2), ==, 1);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_SELECT), 9, 2);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), ==, 0);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);

    /* Device config at 0x2000. */
    dev->vdev.config[1] = 0xa5;
    g_assert_cmphex(mmio_rd(bar + VIRTIO_PCI_DEVICE_OFFSET + 1, 1), ==, 0xa5);
    mmio_wr(bar + VIRTIO_PCI_DEVICE_OFFSET, 0x11223344, 4);
    g_assert_cmphex(dev->vdev.config[3], ==, 0x11);

    /* Kick at notify + 4 * queue_notify_off; INTx while MSI-X is off. */
    make_available(desc, avail, 0);
    mmio_wr(bar + VIRTIO_PCI_NOTIFY_OFFSET, 0, 2);
    g_assert_cmpuint(dev->kicks, ==, 1);
    g_assert_cmpint(gsi_level[INTX_GSI], ==, 1);
    g_assert_cmpuint(mmio_rd(bar + VIRTIO_PCI_ISR_OFFSET, 1), ==, VIRTIO_ISR_QUEUE);
    g_assert_cmpint(gsi_level[INTX_GSI], ==, 0);
    /* Past the last queue: nothing. */
    mmio_wr(bar + VIRTIO_PCI_NOTIFY_OFFSET + 4, 1, 2);
    g_assert_cmpuint(dev->kicks, ==, 1);

    /* Clearing bus mastering stops the device (QEMU: DRIVER_OK off). */
    cfg_wr(PCI_COMMAND, cfg_rd(PCI_COMMAND, 2) & ~PCI_COMMAND_MASTER, 2);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_STATUS), 1), ==, 0xb);

    /* Reset: status 0 takes the queue down and the staged values back. */
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
    g_assert_false(dev->vdev.vqs[0].ready);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), ==, QSIZE);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_Q_DESCLO), 4), ==, 0);
    g_assert_cmphex(mmio_rd(common(VIRTIO_PCI_COMMON_MSIX), 2), ==, VIRTIO_NO_VECTOR);
    teardown();
}

/* Rings outside RAM: the core refuses the queue, nothing else happens. */
static void test_modern_bad_rings(void)
{
    plug_ok("addr=4");
    modern_start(RAM_SIZE - 16, RING, RING + 0x1000);
    g_assert_false(dev->vdev.vqs[0].ready);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), ==, 0);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);
    mmio_wr(bar_mem(VIRTIO_PCI_MODERN_BAR) + VIRTIO_PCI_NOTIFY_OFFSET, 0, 2);
    g_assert_cmpuint(dev->kicks, ==, 0);
    teardown();
}

/* 4.1.4.9: the PCI configuration access capability reaches BAR4. */
static void test_pci_cfg_access(void)
{
    const unsigned cap = 0x84;

    plug_ok("addr=4");
    dev->vdev.config[0] = 0x78;
    dev->vdev.config[1] = 0x56;
    cfg_wr(cap + VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_MODERN_BAR, 1);
    cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_DEVICE_OFFSET, 4);
    cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 2, 4);
    g_assert_cmphex(cfg_rd(cap + VIRTIO_PCI_CFG_CAP_DATA, 2), ==, 0x5678);
    cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_OFFSET + VIRTIO_PCI_COMMON_STATUS, 4);
    cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 1, 4);
    cfg_wr(cap + VIRTIO_PCI_CFG_CAP_DATA, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
    g_assert_cmpuint(dev->vdev.status, ==, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    /* A length of 3 reaches nothing. */
    cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 3, 4);
    cfg_wr(cap + VIRTIO_PCI_CFG_CAP_DATA, 0, 1);
    g_assert_cmpuint(dev->vdev.status, ==, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    /* The rest of the capability is read-only. */
    cfg_wr(cap + VIRTIO_PCI_CAP_CFG_TYPE, 0, 1);
    g_assert_cmpuint(cfg_rd(cap + VIRTIO_PCI_CAP_CFG_TYPE, 1), ==, VIRTIO_PCI_CAP_PCI_CFG);
    teardown();
}

/* ---- MSI-X ---- */

static void msix_entry_set(uint64_t table, unsigned v, uint32_t addr, uint32_t data,
                           bool masked)
{
    mmio_wr(table + 16 * v + MSIX_ENTRY_ADDR_LO, addr, 4);
    mmio_wr(table + 16 * v + MSIX_ENTRY_ADDR_HI, 0, 4);
    mmio_wr(table + 16 * v + MSIX_ENTRY_DATA, data, 4);
    mmio_wr(table + 16 * v + MSIX_ENTRY_CTRL, masked, 4);
}

static void kick(uint64_t desc, uint64_t avail, uint16_t idx)
{
    make_available(desc, avail, idx);
    mmio_wr(bar_mem(VIRTIO_PCI_MODERN_BAR) + VIRTIO_PCI_NOTIFY_OFFSET, 0, 2);
}

static void test_msix(void)
{
    uint64_t desc = RING, avail = RING + 0x800, used = RING + 0x1000, table;
    const unsigned ctrl = 0x98 + 2;
    uint16_t io;

    plug_ok("addr=4");
    table = bar_mem(VIRTIO_PCI_MSIX_BAR);
    io = legacy_base();
    /* Power-on: every vector masked, nothing pending. */
    g_assert_cmphex(mmio_rd(table + MSIX_ENTRY_CTRL, 4), ==, 1);
    g_assert_cmphex(mmio_rd(table + 0x800, 4), ==, 0);

    cfg_wr(ctrl, MSIX_CTRL_ENABLE, 2);
    g_assert_true(msix_enabled(pci_find_device(DEVFN)));
    /* With MSI-X on the legacy header grows to 24 bytes. */
    dev->vdev.config[0] = 0x42;
    g_assert_cmphex(pio_in(io + VIRTIO_PCI_LEGACY_HEADER_MSIX, 1), ==, 0x42);
    g_assert_cmphex(pio_in(io + VIRTIO_MSI_CONFIG_VECTOR, 2), ==, VIRTIO_NO_VECTOR);

    msix_entry_set(table, 0, 0xfee01000, 0x4031, false);
    msix_entry_set(table, 1, 0xfee00000, 0x0032, false);
    modern_start(desc, avail, used);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_MSIX), 0, 2);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_MSIX), 2), ==, 0);

    kick(desc, avail, 0);
    g_assert_cmpuint(msi_count, ==, 1);
    g_assert_cmphex(msi_addr[0], ==, 0xfee01000);
    g_assert_cmphex(msi_data[0], ==, 0x4031);
    g_assert_cmpint(gsi_level[INTX_GSI], ==, 0);

    /* Masked vector: pending bit instead, sent at unmask. */
    mmio_wr(table + MSIX_ENTRY_CTRL, 1, 4);
    kick(desc, avail, 1);
    g_assert_cmpuint(msi_count, ==, 1);
    g_assert_cmphex(mmio_rd(table + 0x800, 4), ==, 1);
    mmio_wr(table + MSIX_ENTRY_CTRL, 0, 4);
    g_assert_cmpuint(msi_count, ==, 2);
    g_assert_cmphex(mmio_rd(table + 0x800, 4), ==, 0);

    /* The function mask holds every vector the same way. */
    cfg_wr(ctrl, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL, 2);
    kick(desc, avail, 2);
    g_assert_cmpuint(msi_count, ==, 2);
    cfg_wr(ctrl, MSIX_CTRL_ENABLE, 2);
    g_assert_cmpuint(msi_count, ==, 3);

    /* No bus mastering, no message (and QEMU stops the device). */
    cfg_wr(PCI_COMMAND, cfg_rd(PCI_COMMAND, 2) & ~PCI_COMMAND_MASTER, 2);
    kick(desc, avail, 3);
    g_assert_cmpuint(msi_count, ==, 3);

    /* MSI-X off again: INTx. */
    cfg_wr(PCI_COMMAND, cfg_rd(PCI_COMMAND, 2) | PCI_COMMAND_MASTER, 2);
    cfg_wr(ctrl, 0, 2);
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 0xf, 1);
    kick(desc, avail, 4);
    g_assert_cmpuint(msi_count, ==, 3);
    g_assert_cmpint(gsi_level[INTX_GSI], ==, 1);
    teardown();
}

/* The device at 00:04.0 with MSI-X enabled (capability at 0x98); its table's address. */
static uint64_t plug_msix(void)
{
    uint64_t table;

    plug_ok("addr=4");
    table = bar_mem(VIRTIO_PCI_MSIX_BAR);
    cfg_wr(0x98 + 2, MSIX_CTRL_ENABLE, 2);
    return table;
}

/* The config vector: a config change interrupt goes there. */
static void test_msix_config_vector(void)
{
    uint64_t table;

    table = plug_msix();
    msix_entry_set(table, 1, 0xfee00000, 0x55, false);
    modern_start(RING, RING + 0x800, RING + 0x1000);
    mmio_wr(common(VIRTIO_PCI_COMMON_MSIX), 1, 2);
    virtio_notify_config(&dev->vdev);
    g_assert_cmpuint(msi_count, ==, 1);
    g_assert_cmphex(msi_data[0], ==, 0x55);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_CFGGENERATION), 1), ==, 1);
    teardown();
}

/* An MSI to an address outside the interrupt window is a memory write. */
static void test_msi_memory_write(void)
{
    plug_ok("addr=4");
    msi_send(0x2000, 0xdeadbeef);
    g_assert_cmphex(get32(0x2000), ==, 0xdeadbeef);
    g_assert_cmpuint(msi_count, ==, 0);
    msi_send(0xfee00000, 0x30);
    g_assert_cmpuint(msi_count, ==, 1);
    teardown();
}

/* A message aimed at the device's own notify register is dropped, not a
 * kick that interrupts that kicks again, forever. */
static void test_msix_self_aimed(void)
{
    uint64_t desc = RING, avail = RING + 0x800, used = RING + 0x1000, table, bar4;

    table = plug_msix();
    bar4 = bar_mem(VIRTIO_PCI_MODERN_BAR);
    msix_entry_set(table, 0, bar4 + VIRTIO_PCI_NOTIFY_OFFSET, 0, false);
    modern_start(desc, avail, used);
    mmio_wr(common(VIRTIO_PCI_COMMON_Q_MSIX), 0, 2);
    kick(desc, avail, 0);
    g_assert_cmpuint(dev->kicks, ==, 1);
    g_assert_cmpuint(msi_count, ==, 0);
    teardown();
}

/* ---- system reset ---- */

static void test_system_reset(void)
{
    uint64_t table;

    table = plug_msix();
    msix_entry_set(table, 0, 0xfee00000, 0x31, false);
    modern_start(RING, RING + 0x800, RING + 0x1000);
    g_assert_true(dev->vdev.vqs[0].ready);
    dev->resets = 0;

    pci_bus_reset();
    g_assert_cmpuint(dev->resets, ==, 1);
    g_assert_cmpuint(dev->vdev.status, ==, 0);
    g_assert_false(dev->vdev.vqs[0].ready);
    g_assert_false(msix_enabled(pci_find_device(DEVFN)));
    /* The BARs are where the firmware put them again, vectors masked. */
    g_assert_cmphex(bar_mem(VIRTIO_PCI_MSIX_BAR), ==, table);
    g_assert_cmphex(mmio_rd(table + MSIX_ENTRY_CTRL, 4), ==, 1);
    g_assert_cmphex(mmio_rd(table + MSIX_ENTRY_DATA, 4), ==, 0);
    g_assert_cmpuint(mmio_rd(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), ==, QSIZE);
    teardown();
}

/* ---- a guest writing anything anywhere ---- */

/*
 * Random accesses of every size to every register window and to config
 * space (a guest is untrusted): the host survives (run under valgrind or
 * ASan to see it touches nothing it should not), and a reset afterwards
 * brings the device back to a working legacy driver.
 */
static void test_random_accesses(void)
{
    static const unsigned sizes[] = { 1, 2, 4 };
    uint64_t bar4, table;
    uint16_t io;

    plug_ok("addr=4");
    io = legacy_base();
    bar4 = bar_mem(VIRTIO_PCI_MODERN_BAR);
    table = bar_mem(VIRTIO_PCI_MSIX_BAR);
    msix_entry_set(table, 0, 0xfee00000, 0x31, false);
    for (unsigned i = 0; i < 20000; i++) {
        unsigned size = sizes[g_test_rand_int_range(0, 3)];
        uint32_t v = g_test_rand_int();
        bool write = g_test_rand_bit();

        switch (g_test_rand_int_range(0, 4)) {
        case 0:
            if (write) {
                pio_out(io + g_test_rand_int_range(0, 0x20), v, size);
            } else {
                pio_in(io + g_test_rand_int_range(0, 0x20), size);
            }
            break;
        case 1: {
            uint64_t a = bar4 + g_test_rand_int_range(0, VIRTIO_PCI_MODERN_BAR_SIZE - 4);

            if (write) {
                mmio_wr(a, v, size);
            } else {
                mmio_rd(a, size);
            }
            break;
        }
        case 2:
            if (write) {
                mmio_wr(table + g_test_rand_int_range(0, 0x1000 - 4), v, size);
            } else {
                mmio_rd(table + g_test_rand_int_range(0, 0x1000 - 4), size);
            }
            break;
        default: {
            /* Capabilities and the command register, not the BARs. */
            unsigned reg = g_test_rand_bit() ? PCI_COMMAND : g_test_rand_int_range(0x40, 0xfc);

            if (write) {
                cfg_wr(reg, v, size);
            } else {
                cfg_rd(reg, size);
            }
            break;
        }
        }
    }
    pci_bus_reset();
    io = legacy_base();
    pio_out(io + VIRTIO_PCI_STATUS, 3, 1);
    pio_out(io + VIRTIO_PCI_QUEUE_SEL, 0, 2);
    pio_out(io + VIRTIO_PCI_QUEUE_PFN, RING >> 12, 4);
    g_assert_true(dev->vdev.vqs[0].ready);
    teardown();
}

/* ---- ioeventfd ---- */

static struct accel_ioeventfd efds[8];
static unsigned nefds;
static bool efd_any_length;

/* A KVM that records the ioeventfds it holds. */
static int fake_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    if (!e->len && !efd_any_length) {
        return -ENOTSUP;
    }
    if (assign) {
        g_assert_cmpuint(nefds, <, G_N_ELEMENTS(efds));
        efds[nefds++] = *e;
        return 0;
    }
    for (unsigned i = 0; i < nefds; i++) {
        if (!memcmp(&efds[i], e, sizeof(*e))) {
            efds[i] = efds[--nefds];
            return 0;
        }
    }
    g_assert_not_reached();
}

static const struct accel_ops fake_accel = { .name = "fake", .ioeventfd = fake_ioeventfd };

static const struct accel_ioeventfd *efd_find(bool pio)
{
    for (unsigned i = 0; i < nefds; i++) {
        if (efds[i].pio == pio) {
            return &efds[i];
        }
    }
    return NULL;
}

/* What KVM does on a guest write the ioeventfd matches, then the main loop. */
static void efd_signal(const struct accel_ioeventfd *e)
{
    uint64_t one = 1;

    g_assert_cmpint(write(e->fd, &one, sizeof(one)), ==, sizeof(one));
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

static void test_ioeventfd(void)
{
    struct machine m = { .accel = &fake_accel };
    uint64_t desc = RING, avail = RING + 0x800, used = RING + 0x1000, bar4;
    const struct accel_ioeventfd *e;

    machine = &m;
    nefds = 0;
    efd_any_length = true;
    plug_ok("addr=4");
    bar4 = bar_mem(VIRTIO_PCI_MODERN_BAR);
    /* Nothing before DRIVER_OK (QEMU starts them there). */
    modern_setup_queue(QSIZE, desc, avail, used);
    g_assert_cmpuint(nefds, ==, 0);
    modern_start(desc, avail, used);
    g_assert_cmpuint(nefds, ==, 2);
    e = efd_find(false);
    g_assert_nonnull(e);
    g_assert_cmphex(e->addr, ==, bar4 + VIRTIO_PCI_NOTIFY_OFFSET);
    g_assert_cmpuint(e->len, ==, 0);
    g_assert_false(e->datamatch);
    e = efd_find(true);
    g_assert_nonnull(e);
    g_assert_cmphex(e->addr, ==, legacy_base() + VIRTIO_PCI_QUEUE_NOTIFY);
    g_assert_cmpuint(e->len, ==, 2);
    g_assert_true(e->datamatch);
    g_assert_cmpuint(e->data, ==, 0);

    /* A kick KVM took reaches the queue through the main loop. */
    make_available(desc, avail, 0);
    efd_signal(efd_find(false));
    g_assert_cmpuint(dev->kicks, ==, 1);
    g_assert_cmpuint(get16(used + 2), ==, 1);

    /* The BAR moves: so do the ioeventfds. */
    cfg_wr(PCI_BASE_ADDRESS_0 + 16, ((uint32_t)bar4 - 0x10000) | 0xc, 4);
    e = efd_find(false);
    g_assert_nonnull(e);
    g_assert_cmphex(e->addr, ==, bar4 - 0x10000 + VIRTIO_PCI_NOTIFY_OFFSET);

    /* A kick pending when they go is still served. */
    make_available(desc, avail, 1);
    {
        uint64_t one = 1;

        g_assert_cmpint(write(efd_find(true)->fd, &one, sizeof(one)), ==, sizeof(one));
    }
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
    g_assert_cmpuint(nefds, ==, 0);
    g_assert_cmpuint(dev->kicks, ==, 2);
    mmio_wr(common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
    g_assert_cmpuint(nefds, ==, 0);

    /* Without any-length MMIO ioeventfds: 2 bytes, as Linux writes. */
    efd_any_length = false;
    plug_ok("addr=4");
    modern_start(desc, avail, used);
    g_assert_cmpuint(efd_find(false)->len, ==, 2);
    pci_bus_reset();
    g_assert_cmpuint(nefds, ==, 0);

    /* ioeventfd=off: kicks stay on the exit path. */
    plug_ok("addr=4,ioeventfd=off");
    modern_start(desc, avail, used);
    g_assert_cmpuint(nefds, ==, 0);
    teardown();
    machine = NULL;
}

/*
 * bootindex= on the PCI transport: the bootorder paths QEMU 7.2 gives
 * SeaBIOS for the same functions (read from QEMU's fw_cfg with
 * scripts/qemu-fw-cfg-dump.py: -device virtio-net-pci,bootindex=0 at slot
 * 3, virtio-blk-pci at 2 and at 1f.3, virtio-net-pci at 0x10, -boot
 * strict=on), and QEMU's error for an index used twice.
 */
static void test_bootindex(void)
{
    static const char want[] = "/pci@i0cf8/ethernet@3/ethernet-phy@0\n"
                               "/pci@i0cf8/scsi@2/disk@0,0\n"
                               "/pci@i0cf8/scsi@1f,3/disk@0,0\n"
                               "/pci@i0cf8/ethernet@10/ethernet-phy@0\n"
                               "HALT";
    static const struct {
        uint16_t id;
        const char *props;
    } devs[] = {
        { VIRTIO_ID_NET, "bootindex=0,addr=3" },
        { VIRTIO_ID_BLOCK, "bootindex=1,addr=2" },
        { VIRTIO_ID_BLOCK, "bootindex=5,addr=0x1f.3,multifunction=on" },
        { VIRTIO_ID_NET, "bootindex=7,addr=0x10" },
        { VIRTIO_ID_NET, "addr=5" },               /* no index: not listed */
        { VIRTIO_ID_RNG, "bootindex=9,addr=6" },   /* no boot path: not listed */
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *file = NULL;
    size_t len;

    boot_order_clear();
    test_boot_ops = test_ops;
    plug_ops = &test_boot_ops;
    /* Out of order on purpose: the file is sorted by index. */
    for (int i = G_N_ELEMENTS(devs) - 1; i >= 0; i--) {
        test_boot_ops.device_id = devs[i].id;
        g_assert_cmpint(plug(&test_boot_type, devs[i].props, &err), ==, 0);
        g_assert_no_error(err);
    }
    file = boot_order_file(true, &len);
    g_assert_cmpuint(len, ==, sizeof(want));
    g_assert_cmpmem(file, len, want, sizeof(want));
    test_boot_ops.device_id = VIRTIO_ID_NET;
    g_assert_cmpint(plug(&test_boot_type, "bootindex=5,addr=7", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "The bootindex 5 has already been used");
    plug_ops = &test_ops;
    boot_order_clear();
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-pci/layout/transitional", test_transitional_layout);
    g_test_add_func("/virtio-pci/layout/modern-only", test_modern_only);
    g_test_add_func("/virtio-pci/layout/legacy-only", test_legacy_only);
    g_test_add_func("/virtio-pci/properties", test_properties);
    g_test_add_func("/virtio-pci/legacy/driver", test_legacy_driver);
    g_test_add_func("/virtio-pci/legacy/bus-master", test_legacy_bus_master);
    g_test_add_func("/virtio-pci/modern/driver", test_modern_driver);
    g_test_add_func("/virtio-pci/modern/bad-rings", test_modern_bad_rings);
    g_test_add_func("/virtio-pci/modern/pci-cfg-access", test_pci_cfg_access);
    g_test_add_func("/virtio-pci/msix/notify-mask-pending", test_msix);
    g_test_add_func("/virtio-pci/msix/config-vector", test_msix_config_vector);
    g_test_add_func("/virtio-pci/msi/memory-write", test_msi_memory_write);
    g_test_add_func("/virtio-pci/msix/self-aimed", test_msix_self_aimed);
    g_test_add_func("/virtio-pci/system-reset", test_system_reset);
    g_test_add_func("/virtio-pci/ioeventfd", test_ioeventfd);
    g_test_add_func("/virtio-pci/random-accesses", test_random_accesses);
    g_test_add_func("/virtio-pci/bootindex", test_bootindex);
    return g_test_run();
}
