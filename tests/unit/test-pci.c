/*
 * PCI bus 0 of -M pc and pci-testdev, driven through io_pio()/io_mmio() as
 * a guest's IN/OUT and MMIO accesses reach them.  The expected values are
 * what a guest reads under QEMU 7.2's -M pc after SeaBIOS (the dump of a
 * small Multiboot guest run on both).
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "hw/device.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "system/error.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "tests/unit/io-access.h"

#define CFG(devfn, reg) (0x80000000u | (unsigned)(devfn) << 8 | (reg))

/* ---- fixture ---- */

static int gsi_level[24];
static unsigned gsi_changes;

static void record_irq(void *opaque, unsigned gsi, int level)
{
    g_assert_cmpuint(gsi, <, 24);
    gsi_level[gsi] = level;
    gsi_changes++;
}

static void bus_setup(void)
{
    g_autoptr(GError) err = NULL;

    io_unregister_all();
    pci_bus_destroy();
    device_globals_clear();
    memset(gsi_level, 0, sizeof(gsi_level));
    gsi_changes = 0;
    irq_set_route(record_irq, NULL);
    g_assert_cmpint(pci_host_create_pc(NULL, &err), ==, 0);
    g_assert_no_error(err);
}

static int realize(const char *opts, GError **errp)
{
    struct dev_config *cfg = dev_config_parse(opts, errp);
    int ret;

    if (!cfg) {
        return -EINVAL;
    }
    ret = cfg->type->realize(NULL, cfg, errp);
    dev_config_free(cfg);
    return ret;
}

static void realize_ok(const char *opts)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(realize(opts, &err), ==, 0);
    g_assert_no_error(err);
}

static void realize_fails(const char *opts, const char *msg)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(realize(opts, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
}

/* ---- configuration mechanism #1 ---- */

static void test_bridges(void)
{
    bus_setup();
    /* 00.0 i440FX: 8086:1237 rev 2, class 0600, subsystem 1af4:1100. */
    g_assert_cmphex(pci_cfg_rd(0x00, 0x00, 4), ==, 0x12378086);
    g_assert_cmphex(pci_cfg_rd(0x00, 0x08, 4), ==, 0x06000002);
    g_assert_cmphex(pci_cfg_rd(0x00, 0x0c, 4), ==, 0x00000000);
    g_assert_cmphex(pci_cfg_rd(0x00, 0x2c, 4), ==, 0x11001af4);
    g_assert_cmphex(pci_cfg_rd(0x00, 0x5c, 4), ==, 0x33111111);   /* PAM as SeaBIOS leaves */
    g_assert_cmphex(pci_cfg_rd(0x00, 0x72, 1), ==, 0x0a);          /* SMRAM */
    /* 01.0 PIIX3: 8086:7000, class 0601, multi-function header, DEVSEL medium. */
    g_assert_cmphex(pci_cfg_rd(0x08, 0x00, 4), ==, 0x70008086);
    g_assert_cmphex(pci_cfg_rd(0x08, 0x08, 4), ==, 0x06010000);
    g_assert_cmphex(pci_cfg_rd(0x08, 0x0e, 1), ==, 0x80);
    g_assert_cmphex(pci_cfg_rd(0x08, 0x06, 2), ==, 0x0200);
    /* PIRQ routes start disabled (bit 7) until the firmware sets them. */
    g_assert_cmphex(pci_cfg_rd(0x08, 0x60, 4), ==, 0x80808080);
    /* Nothing at 02.0, 01.1, 00.1. */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x00, 4), ==, 0xffffffff);
    g_assert_cmphex(pci_cfg_rd(0x09, 0x00, 2), ==, 0xffff);
    g_assert_cmphex(pci_cfg_rd(0x01, 0x00, 1), ==, 0xff);
}

static void test_config_mechanism(void)
{
    bus_setup();
    /* The address register keeps all 32 bits and only takes dwords. */
    pio_out(0xcf8, 0x8000000e, 4);
    g_assert_cmphex(pio_in(0xcf8, 4), ==, 0x8000000e);
    pio_out(0xcf8, 0x12, 1);
    pio_out(0xcfa, 0x1234, 2);
    g_assert_cmphex(pio_in(0xcf8, 4), ==, 0x8000000e);
    g_assert_cmphex(pio_in(0xcfa, 2), ==, 0xffff);
    /* The register offset's low bits in 0xcf8 select the byte (kvm-unit-
     * tests reads bytes that way): 01.0 header type through port 0xcfc. */
    pio_out(0xcf8, CFG(0x08, 0x0e), 4);
    g_assert_cmphex(pio_in(0xcfc, 1), ==, 0x80);
    pio_out(0xcf8, CFG(0x00, 0x02), 4);
    g_assert_cmphex(pio_in(0xcfc, 2), ==, 0x1237);
    /* Byte and word accesses through the data port's own offsets. */
    pio_out(0xcf8, CFG(0x00, 0x00), 4);
    g_assert_cmphex(pio_in(0xcfd, 1), ==, 0x80);
    g_assert_cmphex(pio_in(0xcfe, 2), ==, 0x1237);
    g_assert_cmphex(pio_in(0xcfc, 2), ==, 0x8086);
    /* Enable bit clear, or another bus: all ones, writes dropped. */
    pio_out(0xcf8, 0x00000000, 4);
    g_assert_cmphex(pio_in(0xcfc, 4), ==, 0xffffffff);
    pio_out(0xcf8, 0x80010000, 4);
    g_assert_cmphex(pio_in(0xcfc, 4), ==, 0xffffffff);
    pio_out(0xcf8, 0x0000003c, 4);
    pio_out(0xcfc, 0x55, 1);
    g_assert_cmphex(pci_cfg_rd(0x00, 0x3c, 1), ==, 0);
    /* 0xcf9: the PIIX3 reset control register keeps only bit 1. */
    g_assert_cmphex(pio_in(0xcf9, 1), ==, 0);
    pio_out(0xcf9, 0x0b, 1);
    g_assert_cmphex(pio_in(0xcf9, 1), ==, 0x02);
    g_assert_cmphex(pio_in(0xcf8, 4), ==, 0x8000003c);
}

/* Writes of all ones (or zeros) and what reads back: which bits stick. */
static const struct cfg_mask_case {
    unsigned devfn, reg;
    uint32_t write;
    unsigned size;
    uint32_t want;
} cfg_mask_cases[] = {
    /* IDs, class and header are read-only. */
    { 0x00, 0x00, 0xffffffff, 4, 0x12378086 },
    { 0x08, 0x08, 0xffffffff, 4, 0x06010000 },
    /* Command: I/O, memory, master, SERR, INTx disable; status W1C bits. */
    { 0x00, 0x04, 0xffffffff, 4, 0x00000507 },
    { 0x00, 0x04, 0, 2, 0 },
    /* Cache line size and interrupt line are writable, pin and the rest not. */
    { 0x00, 0x0c, 0xffffffff, 4, 0x000000ff },
    { 0x00, 0x3c, 0xffffffff, 4, 0x000000ff },
    /* The device-specific area 0x40-0xff is writable, as QEMU leaves it. */
    { 0x00, 0xf0, 0xa5a55a5a, 4, 0xa5a55a5a },
};

static void test_config_masks(void)
{
    bus_setup();
    for (unsigned i = 0; i < G_N_ELEMENTS(cfg_mask_cases); i++) {
        const struct cfg_mask_case *c = &cfg_mask_cases[i];

        pci_cfg_wr(c->devfn, c->reg, c->write, c->size);
        g_assert_cmphex(pci_cfg_rd(c->devfn, c->reg, c->size), ==, c->want);
    }
    /* A dword at 0xfe reaches only the last two bytes. */
    pci_cfg_wr(0x00, 0xfc, 0, 4);
    pio_out(0xcf8, CFG(0x00, 0xfe), 4);
    g_assert_cmphex(pio_in(0xcfc, 4), ==, 0);
}

/* ---- pci-testdev in config space ---- */

static void test_testdev_ids(void)
{
    bus_setup();
    realize_ok("pci-testdev");
    /* The first free slot: 2. */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x00, 4), ==, 0x00051b36);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x08, 4), ==, 0x00ff0000);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x0c, 4), ==, 0);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x2c, 4), ==, 0x11001af4);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x3c, 4), ==, 0);          /* no interrupt pin */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x10, 4), ==, 0x00000000); /* memory, 32-bit */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x14, 4), ==, 0x00000001); /* I/O */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x18, 4), ==, 0);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x30, 4), ==, 0);          /* no ROM */
    /* The next one goes to slot 3. */
    realize_ok("pci-testdev,id=second");
    g_assert_cmphex(pci_cfg_rd(0x18, 0x00, 4), ==, 0x00051b36);
    g_assert_nonnull(pci_find_device(0x18));
    g_assert_cmpstr(pci_find_device(0x18)->id, ==, "second");
}

static void test_bar_sizing(void)
{
    bus_setup();
    realize_ok("pci-testdev,membar=0x100000");
    pci_cfg_wr(0x10, 0x10, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x10, 4), ==, 0xfffff000);     /* 4 KiB */
    pci_cfg_wr(0x10, 0x14, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x14, 4), ==, 0xffffff01);     /* 256 ports */
    /* membar: 64-bit prefetchable, 1 MiB; the high half sizes to all ones. */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x18, 4), ==, 0x0000000c);
    pci_cfg_wr(0x10, 0x18, 0xffffffff, 4);
    pci_cfg_wr(0x10, 0x1c, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x18, 4), ==, 0xfff0000c);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x1c, 4), ==, 0xffffffff);
    /* The ROM BAR is absent: it sizes to 0. */
    pci_cfg_wr(0x10, 0x30, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x30, 4), ==, 0);
}

/* ---- BAR mapping ---- */

#define MEMBAR 0xfe000000u
#define IOBAR 0xd000u

/* Selects test 0 through BAR0 and reads its width byte (1) back. */
static uint32_t mem_probe(uint64_t base)
{
    mmio_wr(base, 0, 1);
    return mmio_rd(base + 1, 1);
}

static void test_bar_mapping(void)
{
    bus_setup();
    realize_ok("pci-testdev");
    pci_cfg_wr(0x10, 0x10, MEMBAR, 4);
    pci_cfg_wr(0x10, 0x14, IOBAR, 4);
    /* Decoding off: nothing there (unclaimed MMIO reads 0, ports all ones). */
    g_assert_cmphex(mem_probe(MEMBAR), ==, 0);
    g_assert_cmphex(pio_in(IOBAR + 1, 1), ==, 0xff);
    /* Memory decoding on: BAR0 answers, BAR1 not yet. */
    pci_cfg_wr(0x10, 0x04, 0x0002, 2);
    g_assert_cmphex(mem_probe(MEMBAR), ==, 1);
    g_assert_cmphex(pio_in(IOBAR + 1, 1), ==, 0xff);
    /* I/O decoding too, by a byte write to the command register. */
    pci_cfg_wr(0x10, 0x04, 0x03, 1);
    g_assert_cmphex(pio_in(IOBAR + 1, 1), ==, 1);
    g_assert_cmphex(pio_in(IOBAR, 1), ==, 0);                /* test 0 selected */
    /* Moving BAR0: the old address goes quiet, the new one answers. */
    pci_cfg_wr(0x10, 0x10, MEMBAR + 0x10000, 4);
    g_assert_cmphex(mmio_rd(MEMBAR + 1, 1), ==, 0);
    g_assert_cmphex(mem_probe(MEMBAR + 0x10000), ==, 1);
    /* The low bits of the address are not the guest's to choose. */
    pci_cfg_wr(0x10, 0x10, MEMBAR + 0x20fff, 4);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x10, 4), ==, MEMBAR + 0x20000);
    g_assert_cmphex(mem_probe(MEMBAR + 0x20000), ==, 1);
    /* Sizing with decoding on unmaps (all ones reaches 4 GiB - 1) until
     * the address is written back. */
    pci_cfg_wr(0x10, 0x10, 0xffffffff, 4);
    g_assert_cmphex(mmio_rd(MEMBAR + 0x20001, 1), ==, 0);
    g_assert_cmphex(mmio_rd(0xfffff001, 1), ==, 0);
    pci_cfg_wr(0x10, 0x10, MEMBAR, 4);
    g_assert_cmphex(mmio_rd(MEMBAR + 1, 1), ==, 1);
    pci_cfg_wr(0x10, 0x14, 0xffffffff, 4);
    g_assert_cmphex(pio_in(IOBAR + 1, 1), ==, 0xff);
    pci_cfg_wr(0x10, 0x14, IOBAR, 4);
    g_assert_cmphex(pio_in(IOBAR + 1, 1), ==, 1);
    /* Address 0 is never decoded. */
    pci_cfg_wr(0x10, 0x14, 0, 4);
    g_assert_cmphex(pio_in(0x01, 1), ==, 0xff);
    /* Decoding off again: both gone. */
    pci_cfg_wr(0x10, 0x14, IOBAR, 4);
    pci_cfg_wr(0x10, 0x04, 0, 2);
    g_assert_cmphex(mmio_rd(MEMBAR + 1, 1), ==, 0);
    g_assert_cmphex(pio_in(IOBAR + 1, 1), ==, 0xff);
}

/* A BAR over a port range already taken stays unmapped, and the owner keeps it. */
static void test_bar_conflict(void)
{
    static const struct io_ops fixed = { .read = NULL, .write = NULL };
    g_autoptr(GError) err = NULL;

    bus_setup();
    realize_ok("pci-testdev");
    g_assert_cmpint(io_register_pio(0xe000, 0x10, "other", &fixed, NULL, &err), ==, 0);
    pci_cfg_wr(0x10, 0x14, 0xe000, 4);
    pci_cfg_wr(0x10, 0x04, 0x01, 2);
    g_assert_cmpuint(pci_find_device(0x10)->bar[1].mapped, ==, PCI_BAR_UNMAPPED);
    g_assert_cmphex(pio_in(0xe080, 1), ==, 0xff);
    pci_cfg_wr(0x10, 0x14, 0xe100, 4);
    g_assert_cmpuint(pci_find_device(0x10)->bar[1].mapped, ==, 0xe100);
    /* io_unregister_*() removes only an exact match. */
    g_assert_cmpint(io_unregister_pio(0xe000, 0x8), ==, -ENOENT);
    g_assert_cmpint(io_unregister_pio(0xe000, 0x10), ==, 0);
    g_assert_cmpint(io_unregister_pio(0xe000, 0x10), ==, -ENOENT);
    /* Now free, the old place takes the BAR. */
    pci_cfg_wr(0x10, 0x14, 0xe000, 4);
    g_assert_cmpuint(pci_find_device(0x10)->bar[1].mapped, ==, 0xe000);
    g_assert_cmphex(pio_in(0xe001, 1), ==, 0);               /* no test selected */
    g_assert_cmpint(io_unregister_mmio(0xfebff000, 0x1000), ==, -ENOENT);
}

/* ---- the firmware's assignment ---- */

static void test_firmware_setup(void)
{
    bus_setup();
    realize_ok("pci-testdev");
    pci_firmware_setup();
    /* As SeaBIOS assigns under QEMU: top of the window, and 0xc000 up. */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x10, 4), ==, 0xfebff000);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x14, 4), ==, 0x0000c001);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x04, 4), ==, 0x00000103);
    g_assert_cmphex(pci_cfg_rd(0x00, 0x04, 4), ==, 0x00000103);
    g_assert_cmphex(pci_cfg_rd(0x08, 0x04, 4), ==, 0x02000103);
    g_assert_cmphex(pci_cfg_rd(0x08, 0x60, 4), ==, 0x0b0b0a0a);
    g_assert_cmphex(pci_firmware_elcr(), ==, 0x0c00);
    g_assert_cmphex(mem_probe(0xfebff000), ==, 1);
    g_assert_cmphex(pio_in(0xc001, 1), ==, 1);
}

static void test_firmware_order(void)
{
    bus_setup();
    realize_ok("pci-testdev");
    realize_ok("pci-testdev,membar=0x10000");
    pci_firmware_setup();
    /* As SeaBIOS under QEMU: the less aligned region (the 4 KiB BARs, bus
     * order) right below 0xfec00000, the prefetchable 64 KiB one below it. */
    g_assert_cmphex(pci_cfg_rd(0x10, 0x10, 4), ==, 0xfebfe000);
    g_assert_cmphex(pci_cfg_rd(0x18, 0x10, 4), ==, 0xfebff000);
    g_assert_cmphex(pci_cfg_rd(0x18, 0x18, 4), ==, 0xfebe000c);
    g_assert_cmphex(pci_cfg_rd(0x18, 0x1c, 4), ==, 0);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x14, 4), ==, 0xc001);
    g_assert_cmphex(pci_cfg_rd(0x18, 0x14, 4), ==, 0xc101);
}

/* ---- addr= and the slot rules ---- */

static void test_addr(void)
{
    bus_setup();
    realize_fails("pci-testdev,addr=1",
                  "PCI: slot 1 function 0 not available for pci-testdev, in use by "
                  "PIIX3,id=(null)");
    realize_fails("pci-testdev,addr=zz", "Property 'pci-testdev.addr' doesn't take value 'zz'");
    realize_fails("pci-testdev,addr=20", "Property 'pci-testdev.addr' doesn't take value '20'");
    realize_fails("pci-testdev,addr=3.8", "Property 'pci-testdev.addr' doesn't take value '3.8'");
    realize_fails("pci-testdev,addr=-1", "Property 'pci-testdev.addr' doesn't take value '-1'");
    realize_ok("pci-testdev,addr=0x1f.7,id=a");
    g_assert_cmphex(pci_cfg_rd(PCI_DEVFN(0x1f, 7), 0, 4), ==, 0x00051b36);
    realize_fails("pci-testdev,addr=1f.7",
                  "PCI: slot 31 function 7 not available for pci-testdev, in use by "
                  "pci-testdev,id=a");
    realize_ok("pci-testdev,addr=04");
    realize_fails("pci-testdev,addr=4.1",
                  "PCI: single function device can't be populated in function 4.1");
    realize_ok("pci-testdev,addr=5.1");
    realize_fails("pci-testdev,addr=5.0",
                  "PCI: 5.0 indicates single function, but 5.1 is already populated.");
    realize_ok("pci-testdev,addr=6.0,multifunction=on");
    realize_ok("pci-testdev,addr=6.3");
    g_assert_cmphex(pci_cfg_rd(PCI_DEVFN(6, 0), 0x0e, 1), ==, 0x80);
    g_assert_cmphex(pci_cfg_rd(PCI_DEVFN(6, 3), 0x0e, 1), ==, 0x00);
    /* Automatic slots skip those whose function 0 is taken: 2 is free. */
    realize_ok("pci-testdev");
    g_assert_nonnull(pci_find_device(PCI_DEVFN(2, 0)));
    realize_fails("pci-testdev,membar=3000",
                  "pci-testdev: membar 0xbb8 is not a power of two");
    realize_fails("pci-testdev,romfile=x.rom", "pci-testdev: romfile is not supported yet");
    realize_ok("pci-testdev,romfile=,rombar=0,acpi-index=3");
}

static void test_no_bus(void)
{
    io_unregister_all();
    pci_bus_destroy();
    realize_fails("pci-testdev", "No 'PCI' bus found for device 'pci-testdev'");
    g_assert_false(pci_bus_present());
}

static void test_all_slots_taken(void)
{
    bus_setup();
    for (unsigned i = 2; i < 32; i++) {
        realize_ok("pci-testdev,membar=0");
    }
    realize_fails("pci-testdev",
                  "PCI: no slot/function available for pci-testdev, all in use or reserved");
}

/* ---- pci-testdev's protocol ---- */

struct space {
    bool io;
    uint64_t base;
};

static uint32_t sp_rd(const struct space *s, unsigned off, unsigned size)
{
    return s->io ? pio_in(s->base + off, size) : mmio_rd(s->base + off, size);
}

static void sp_wr(const struct space *s, unsigned off, uint32_t v, unsigned size)
{
    if (s->io) {
        pio_out(s->base + off, v, size);
    } else {
        mmio_wr(s->base + off, v, size);
    }
}

static void testdev_firmware(void)
{
    bus_setup();
    realize_ok("pci-testdev");
    pci_firmware_setup();
}

static const struct space mem_space = { false, 0xfebff000 };
static const struct space io_space = { true, 0xc000 };

static char *sp_name(const struct space *s)
{
    GString *str = g_string_new(NULL);

    for (unsigned i = 16; i < 64; i++) {
        char c = sp_rd(s, i, 1);

        if (!c) {
            break;
        }
        g_string_append_c(str, c);
    }
    return g_string_free(str, FALSE);
}

/* kvm-unit-tests' pci_testdev_one(): select, check, write 16 times, count. */
static void test_testdev_kvm_unit_tests(void)
{
    static const char *const names[] = {
        "mmio-no-eventfd", "mmio-wildcard-eventfd", "mmio-datamatch-eventfd",
        "portio-no-eventfd", "portio-wildcard-eventfd", "portio-datamatch-eventfd",
    };

    testdev_firmware();
    for (unsigned s = 0; s < 2; s++) {
        const struct space *sp = s ? &io_space : &mem_space;

        for (unsigned t = 0; t < 3; t++) {
            unsigned global = s * 3 + t;
            g_autofree char *name = NULL;
            uint32_t off, sig;

            sp_wr(sp, 0, t, 1);
            g_assert_cmphex(sp_rd(sp, 12, 4), ==, 0);
            g_assert_cmphex(sp_rd(sp, 0, 1), ==, global);
            g_assert_cmphex(sp_rd(sp, 1, 1), ==, 1);
            sig = sp_rd(sp, 8, 4);
            off = sp_rd(sp, 4, 4);
            g_assert_cmphex(sig, ==, t == 1 ? 0xce : 0xfa);
            g_assert_cmphex(off, ==, (s ? 0x80 : 0x800) + global);
            name = sp_name(sp);
            g_assert_cmpstr(name, ==, names[global]);
            for (unsigned i = 0; i < 16; i++) {
                sp_wr(sp, off, sig, 1);
            }
            /* The eventfd tests' writes go to the eventfd, not the count. */
            g_assert_cmpuint(sp_rd(sp, 12, 4), ==, t == 0 ? 16 : 0);
        }
        /* Test 3 does not exist: everything reads 0. */
        sp_wr(sp, 0, 3, 1);
        g_assert_cmphex(sp_rd(sp, 0, 4), ==, 0);
        g_assert_cmphex(sp_rd(sp, 4, 4), ==, 0);
    }
}

/* Details a guest sees under QEMU -accel tcg (compared with a test guest). */
static void test_testdev_details(void)
{
    testdev_firmware();
    /* Nothing selected: 0. */
    g_assert_cmphex(sp_rd(&mem_space, 0, 4), ==, 0);
    g_assert_cmphex(sp_rd(&io_space, 12, 4), ==, 0);
    /* A dword select takes its low byte; the selection is shared by both BARs. */
    sp_wr(&mem_space, 0, 0x101, 4);
    g_assert_cmphex(sp_rd(&mem_space, 0, 4), ==, 0x101);
    g_assert_cmphex(sp_rd(&io_space, 0, 4), ==, 0x101);
    g_assert_cmphex(sp_rd(&mem_space, 16, 4), ==, 0x6f696d6d);     /* "mmio" */
    /* The name's NUL and beyond read 0. */
    g_assert_cmphex(sp_rd(&mem_space, 16 + 21, 4), ==, 0);

    /* mmio-no-eventfd: any write whose byte at 0x800 is 0xfa counts once. */
    sp_wr(&mem_space, 0, 0, 1);
    sp_wr(&mem_space, 0x800, 0x11, 1);
    g_assert_cmpuint(sp_rd(&mem_space, 12, 4), ==, 0);
    sp_wr(&mem_space, 0x800, 0x11fa, 2);
    sp_wr(&mem_space, 0x800, 0x112233fa, 4);
    sp_wr(&mem_space, 0x7ff, 0xfa00, 2);
    sp_wr(&mem_space, 0x801, 0xfa, 1);
    g_assert_cmpuint(sp_rd(&mem_space, 12, 4), ==, 3);

    /* mmio-wildcard-eventfd (0x801): byte writes go to the eventfd; an
     * unaligned word is split into bytes first and does too; an aligned
     * word that covers the offset reaches the device. */
    sp_wr(&mem_space, 0, 1, 1);
    sp_wr(&mem_space, 0x801, 0x11, 1);
    sp_wr(&mem_space, 0x801, 0x11ce, 2);
    g_assert_cmpuint(sp_rd(&mem_space, 12, 4), ==, 0);
    sp_wr(&mem_space, 0x800, 0xce00, 2);
    g_assert_cmpuint(sp_rd(&mem_space, 12, 4), ==, 1);

    /* mmio-datamatch-eventfd (0x802): an aligned word counts; a misaligned
     * dword splits and its 0xfa byte goes to the eventfd. */
    sp_wr(&mem_space, 0, 2, 1);
    sp_wr(&mem_space, 0x802, 0x11fa, 2);
    g_assert_cmpuint(sp_rd(&mem_space, 12, 4), ==, 1);
    sp_wr(&mem_space, 0x802, 0x112233fa, 4);
    g_assert_cmpuint(sp_rd(&mem_space, 12, 4), ==, 1);

    /* portio-no-eventfd (0x83): unaligned port accesses are dropped. */
    sp_wr(&io_space, 0, 0, 1);
    sp_wr(&io_space, 0x83, 0xfa, 1);
    sp_wr(&io_space, 0x83, 0x11fa, 2);
    sp_wr(&io_space, 0x83, 0x112233fa, 4);
    g_assert_cmpuint(sp_rd(&io_space, 12, 4), ==, 1);
    sp_wr(&io_space, 0x82, 0xfa00, 2);
    g_assert_cmpuint(sp_rd(&io_space, 12, 4), ==, 2);
    g_assert_cmphex(sp_rd(&io_space, 13, 2), ==, 0);     /* unaligned read: 0 */
    g_assert_cmphex(sp_rd(&io_space, 12, 2), ==, 2);

    /* portio-wildcard-eventfd (0x84): aligned wider writes count once each. */
    sp_wr(&io_space, 0, 1, 1);
    sp_wr(&io_space, 0x84, 0x11, 1);
    sp_wr(&io_space, 0x84, 0x1111, 2);
    sp_wr(&io_space, 0x84, 0x11111111, 4);
    g_assert_cmpuint(sp_rd(&io_space, 12, 4), ==, 2);

    /* An invalid selection deselects: writes then do nothing. */
    sp_wr(&io_space, 0, 0xff, 1);
    sp_wr(&io_space, 0x84, 0x1111, 2);
    g_assert_cmphex(sp_rd(&io_space, 0, 4), ==, 0);
}

static void test_bus_reset(void)
{
    testdev_firmware();
    /* The guest moves things around and selects a test ... */
    sp_wr(&mem_space, 0, 1, 1);
    pci_cfg_wr(0x10, 0x10, 0xfe000000, 4);
    pci_cfg_wr(0x10, 0x04, 0x0002, 2);
    pci_cfg_wr(0x08, 0x60, 0x80808080, 4);
    pci_cfg_wr(0x00, 0xf0, 0x12345678, 4);
    pio_out(0xcf9, 0x02, 1);
    /* ... and a reset puts everything where the firmware left it. */
    pci_bus_reset();
    g_assert_cmphex(pio_in(0xcf8, 4), ==, 0);
    g_assert_cmphex(pio_in(0xcf9, 1), ==, 0);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x10, 4), ==, 0xfebff000);
    g_assert_cmphex(pci_cfg_rd(0x10, 0x04, 2), ==, 0x0103);
    g_assert_cmphex(pci_cfg_rd(0x08, 0x60, 4), ==, 0x0b0b0a0a);
    g_assert_cmphex(pci_cfg_rd(0x00, 0xf0, 4), ==, 0);
    g_assert_cmphex(mmio_rd(0xfe000001, 1), ==, 0);
    g_assert_cmphex(sp_rd(&mem_space, 0, 4), ==, 0);      /* no test selected */
    g_assert_cmphex(mem_probe(0xfebff000), ==, 1);
    g_assert_cmphex(pio_in(0xc001, 1), ==, 1);
}

/* ---- INTx through the PIIX3 PIRQ routes ---- */

static struct pci_device *intx_device(unsigned slot, unsigned pin)
{
    g_autoptr(GError) err = NULL;
    struct pci_device *d = pci_device_add("test-intx", NULL, PCI_DEVFN(slot, 0), false, &err);

    g_assert_no_error(err);
    d->config[PCI_INTERRUPT_PIN] = pin;
    return d;
}

static void test_pirq_routing(void)
{
    struct pci_device *a, *b;

    bus_setup();
    a = intx_device(3, 1);       /* slot 3 INTA: PIRQC */
    b = intx_device(4, 4);       /* slot 4 INTD: (4 + 3 - 1) & 3 = PIRQC too */
    /* Routes disabled at reset (0x80): nothing reaches an ISA line. */
    pci_set_irq(a, 1);
    g_assert_cmpuint(gsi_changes, ==, 0);
    g_assert_cmphex(pci_cfg_rd(0x18, 0x06, 2) & 0x08, ==, 0x08);   /* status: INTx */
    /* Route PIRQC to IRQ 11: the line follows the OR of its requests. */
    pci_cfg_wr(0x08, 0x62, 11, 1);
    g_assert_cmpint(gsi_level[11], ==, 1);
    pci_set_irq(b, 1);
    pci_set_irq(a, 0);
    g_assert_cmpint(gsi_level[11], ==, 1);
    pci_set_irq(b, 0);
    g_assert_cmpint(gsi_level[11], ==, 0);
    /* Rerouting moves the level: IRQ 11 drops, IRQ 5 rises. */
    pci_set_irq(a, 1);
    g_assert_cmpint(gsi_level[11], ==, 1);
    pci_cfg_wr(0x08, 0x60, 0x05800a0a, 4);     /* A=10 B=10 C=disabled D=5 */
    g_assert_cmpint(gsi_level[11], ==, 0);
    g_assert_cmpint(gsi_level[5], ==, 0);
    pci_cfg_wr(0x08, 0x62, 0x05, 1);
    g_assert_cmpint(gsi_level[5], ==, 1);
    /* INTx disable in the command register masks it, status still shows it. */
    pci_cfg_wr(0x18, 0x04, 0x0400, 2);
    g_assert_cmpint(gsi_level[5], ==, 0);
    g_assert_cmphex(pci_cfg_rd(0x18, 0x06, 2) & 0x08, ==, 0x08);
    pci_cfg_wr(0x18, 0x05, 0x00, 1);
    g_assert_cmpint(gsi_level[5], ==, 1);
    pci_set_irq(a, 0);
    g_assert_cmpint(gsi_level[5], ==, 0);
    g_assert_cmphex(pci_cfg_rd(0x18, 0x06, 2) & 0x08, ==, 0);
    /* The slot swizzle: slot 2 INTA is PIRQB, slot 2 INTB is PIRQC. */
    pci_cfg_wr(0x08, 0x60, 0x0b0a0907, 4);
    a = intx_device(2, 1);
    pci_set_irq(a, 1);
    g_assert_cmpint(gsi_level[9], ==, 1);
    pci_set_irq(a, 0);
    a->config[PCI_INTERRUPT_PIN] = 2;
    pci_set_irq(a, 1);
    g_assert_cmpint(gsi_level[10], ==, 1);
    /* The firmware's routes (PIRQC = 11) move the line; a reset drops
     * every request and the lines with them. */
    pci_firmware_setup();
    g_assert_cmpint(gsi_level[10], ==, 0);
    g_assert_cmpint(gsi_level[11], ==, 1);
    pci_bus_reset();
    g_assert_cmpint(gsi_level[11], ==, 0);
    g_assert_false(a->intx);
}

static void test_firmware_irq_lines(void)
{
    struct pci_device *d;

    bus_setup();
    d = intx_device(3, 1);
    intx_device(4, 2);
    pci_firmware_setup();
    /* SeaBIOS's lines: PIRQ A-D = 10, 10, 11, 11 after the swizzle. */
    g_assert_cmphex(pci_cfg_rd(0x18, 0x3c, 2), ==, 0x010b);
    g_assert_cmphex(pci_cfg_rd(0x20, 0x3c, 2), ==, 0x020a);
    pci_set_irq(d, 1);
    g_assert_cmpint(gsi_level[11], ==, 1);
    pci_set_irq(d, 0);
}

/* ---- 0xcf9 reset ---- */

static int last_request = -1;

static void on_request(void *opaque, enum vm_request req, enum shutdown_cause cause)
{
    last_request = (int)req;
}

static void test_reset_control(void)
{
    bus_setup();
    runstate_add_request_listener(on_request, NULL);
    pio_out(0xcf9, 0x02, 1);
    g_assert_cmpint(last_request, ==, -1);
    pio_out(0xcf9, 0x06, 1);
    g_assert_cmpint(last_request, ==, VM_REQUEST_RESET);
}

/* ---- -global for the PIT ---- */

static void test_pit_globals(void)
{
    g_autoptr(GError) err = NULL;
    struct dev_config *c;

    g_assert_cmpint(device_global_add("kvm-pit.lost_tick_policy=discard", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(device_global_add("isa-pit.iobase=0x40", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(device_global_add("kvm-pit.bar=1", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Property 'kvm-pit.bar' not found");
    g_clear_error(&err);
    g_assert_cmpint(device_global_add("isa-pit.lost_tick_policy=discard", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Property 'isa-pit.lost_tick_policy' not found");
    g_clear_error(&err);
    /* What the accelerator reads back: the global over the default. */
    c = g_new0(struct dev_config, 1);
    c->type = device_type_find("kvm-pit");
    g_assert_nonnull(c->type);
    g_assert_cmpstr(dev_config_str(c, "lost_tick_policy"), ==, "discard");
    dev_config_free(c);
    /* The board makes the PIT; -device cannot. */
    g_assert_cmpint(realize("kvm-pit", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Parameter 'driver' expects a pluggable device type");
    device_globals_clear();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/bridges", test_bridges);
    g_test_add_func("/pci/config-mechanism", test_config_mechanism);
    g_test_add_func("/pci/config-masks", test_config_masks);
    g_test_add_func("/pci/testdev/ids", test_testdev_ids);
    g_test_add_func("/pci/bar/sizing", test_bar_sizing);
    g_test_add_func("/pci/bar/mapping", test_bar_mapping);
    g_test_add_func("/pci/bar/conflict", test_bar_conflict);
    g_test_add_func("/pci/firmware/setup", test_firmware_setup);
    g_test_add_func("/pci/firmware/order", test_firmware_order);
    g_test_add_func("/pci/firmware/irq-lines", test_firmware_irq_lines);
    g_test_add_func("/pci/addr", test_addr);
    g_test_add_func("/pci/no-bus", test_no_bus);
    g_test_add_func("/pci/all-slots-taken", test_all_slots_taken);
    g_test_add_func("/pci/testdev/kvm-unit-tests", test_testdev_kvm_unit_tests);
    g_test_add_func("/pci/testdev/details", test_testdev_details);
    g_test_add_func("/pci/pirq-routing", test_pirq_routing);
    g_test_add_func("/pci/bus-reset", test_bus_reset);
    g_test_add_func("/pci/pit-globals", test_pit_globals);
    g_test_add_func("/pci/reset-control", test_reset_control);
    return g_test_run();
}
