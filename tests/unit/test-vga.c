/*
 * The std VGA (hw/vga*.c, hw/vbe.c) and PCI expansion ROM BARs (hw/pci.c)
 * on -M pc's bus, driven as a guest drives them: configuration cycles, IN
 * and OUT on the VGA and dispi ports, loads and stores in the 0xa0000
 * window and the BARs.  The expectations are what QEMU 7.2's VGA shows a
 * guest (its "info pci", the register masks a guest reads back) and what
 * the IBM VGA reference says the read and write modes do.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "hw/device.h"
#include "hw/fw-cfg.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "hw/vga.h"
#include "machine/machine.h"
#include "system/datadir.h"
#include "system/memory.h"
#include "tests/unit/io-access.h"

#define DEVFN 0x10              /* 02.0, the first free slot */
#define WIN 0xa0000u
/* Where the firmware-less assignment (SeaBIOS's order) puts the BARs of a
 * VGA without a ROM: MMIO right below 0xfec00000, the framebuffer below. */
#define LFB 0xfd000000u
#define MMIO 0xfebff000u
/* With the 64 KiB vgabios: ROM, then MMIO, as under QEMU. */
#define ROM_QEMU 0xfebe0000u
#define MMIO_QEMU 0xfebf0000u
#define ROM4K 0xfebff000u       /* a 4 KiB ROM, after MMIO at 0xfebfe000 */

static void no_irq(void *opaque, unsigned gsi, int level)
{
}

static char *rom_path;

/* A ROM image of size bytes: 55 aa, then byte i = i * 7. */
static const char *make_rom(size_t size)
{
    g_autofree uint8_t *b = g_malloc(size);
    GError *err = NULL;

    for (size_t i = 0; i < size; i++) {
        b[i] = i * 7;
    }
    if (size >= 2) {
        b[0] = 0x55;
        b[1] = 0xaa;
    }
    g_free(rom_path);
    rom_path = g_strdup_printf("%s/hyvm-test-vga-%d.rom", g_get_tmp_dir(), getpid());
    g_assert_true(g_file_set_contents(rom_path, (const char *)b, size, &err));
    return rom_path;
}

static int try_setup(const char *opts, GError **errp)
{
    g_autoptr(GError) err = NULL;
    struct dev_config *cfg;
    int ret;

    io_unregister_all();
    pci_bus_destroy();
    irq_set_route(no_irq, NULL);
    g_assert_cmpint(pci_host_create_pc(NULL, &err), ==, 0);
    cfg = dev_config_parse(opts, &err);
    g_assert_no_error(err);
    ret = cfg->type->realize(NULL, cfg, errp);
    dev_config_free(cfg);
    return ret;
}

/* One VGA at 02.0, BARs where SeaBIOS puts them, decoding on. */
static struct vga *setup(const char *opts)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(try_setup(opts, &err), ==, 0);
    g_assert_no_error(err);
    pci_firmware_setup();
    return pci_find_device(DEVFN)->opaque;     /* struct vga is its first member */
}

/* ---- PCI identity and BARs ---- */

static void test_config(void)
{
    setup("VGA,romfile=");
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x00, 4), ==, 0x11111234);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x08, 4), ==, 0x03000002);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x2c, 4), ==, 0x11001af4);
    /* SeaBIOS's layout under QEMU: 16 MiB prefetchable below the 4 KiB MMIO. */
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x10, 4), ==, LFB | 0x8);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x18, 4), ==, MMIO);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x3c, 2), ==, 0);   /* no interrupt pin */
    pci_cfg_wr(DEVFN, 0x10, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x10, 4), ==, 0xff000008);
    pci_cfg_wr(DEVFN, 0x18, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x18, 4), ==, 0xfffff000);
    /* romfile= : no ROM, 0x30 stays 0. */
    pci_cfg_wr(DEVFN, 0x30, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, 0);

    /* vgamem_mb: 1-512, rounded up to a power of two. */
    setup("VGA,romfile=,vgamem_mb=3");
    pci_cfg_wr(DEVFN, 0x10, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x10, 4), ==, 0xffc00008);
    setup("VGA,romfile=,vgamem_mb=0,mmio=off");
    pci_cfg_wr(DEVFN, 0x10, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x10, 4), ==, 0xfff00008);
    pci_cfg_wr(DEVFN, 0x18, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x18, 4), ==, 0);
}

static void test_rom_bar(void)
{
    g_autofree char *opts = g_strdup_printf("VGA,romfile=%s", make_rom(3000));

    setup(opts);
    /* 3000 bytes: a 4 KiB BAR, placed by the firmware but not enabled. */
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x18, 4), ==, 0xfebfe000);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, ROM4K);
    g_assert_cmphex(mmio_rd(ROM4K, 2), ==, 0);
    pci_cfg_wr(DEVFN, 0x30, ROM4K | 1, 4);
    g_assert_cmphex(mmio_rd(ROM4K, 2), ==, 0xaa55);
    g_assert_cmphex(mmio_rd(ROM4K + 100, 4), ==, 0xd1cac3bc);
    g_assert_cmphex(mmio_rd(ROM4K + 2999, 1), ==, (uint8_t)(2999 * 7));
    g_assert_cmphex(mmio_rd(ROM4K + 3000, 4), ==, 0);   /* zero padding */
    /* Read-only. */
    mmio_wr(ROM4K, 0x1234, 2);
    g_assert_cmphex(mmio_rd(ROM4K, 2), ==, 0xaa55);
    /* Size probe: address bits above 4 KiB and the enable bit. */
    pci_cfg_wr(DEVFN, 0x30, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, 0xfffff001);
    /* Moved, then off with the enable bit, then with memory decoding. */
    pci_cfg_wr(DEVFN, 0x30, 0xe0000001, 4);
    g_assert_cmphex(mmio_rd(0xe0000000, 2), ==, 0xaa55);
    g_assert_cmphex(mmio_rd(ROM4K, 2), ==, 0);
    pci_cfg_wr(DEVFN, 0x30, 0xe0000000, 4);
    g_assert_cmphex(mmio_rd(0xe0000000, 2), ==, 0);
    pci_cfg_wr(DEVFN, 0x30, 0xe0000001, 4);
    pci_cfg_wr(DEVFN, 0x04, pci_cfg_rd(DEVFN, 0x04, 2) & ~2u, 2);
    g_assert_cmphex(mmio_rd(0xe0000000, 2), ==, 0);
    pci_cfg_wr(DEVFN, 0x04, pci_cfg_rd(DEVFN, 0x04, 2) | 2u, 2);
    g_assert_cmphex(mmio_rd(0xe0000000, 2), ==, 0xaa55);
    /* A system reset puts the ROM back where the firmware put it, off. */
    pci_bus_reset();
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, ROM4K);
    g_assert_cmphex(mmio_rd(0xe0000000, 2), ==, 0);
    unlink(rom_path);
}

/* The fw_cfg file directory's entry called name: its size, or -1. */
static int64_t fw_cfg_file_size(const char *name)
{
    uint32_t count;

    pio_out(FW_CFG_IO_BASE, FW_CFG_FILE_DIR, 2);
    count = 0;
    for (unsigned i = 0; i < 4; i++) {
        count = count << 8 | pio_in(FW_CFG_IO_BASE + 1, 1);
    }
    for (uint32_t n = 0; n < count && n < 64; n++) {
        uint8_t e[64];

        for (unsigned i = 0; i < sizeof(e); i++) {
            e[i] = pio_in(FW_CFG_IO_BASE + 1, 1);
        }
        if (!strncmp((const char *)e + 8, name, 56)) {
            return (int64_t)e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3];
        }
    }
    return -1;
}

/* rombar=0 with a machine that has fw_cfg: "vgaroms/BASENAME", as QEMU's
 * rom_add_vga. */
static void check_rombar0_fw_cfg(const char *opts)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *base = g_path_get_basename(rom_path);
    g_autofree char *file = g_strdup_printf("vgaroms/%s", base);
    struct machine m = { 0 };
    struct dev_config *cfg;

    io_unregister_all();
    pci_bus_destroy();
    g_assert_cmpint(pci_host_create_pc(NULL, &err), ==, 0);
    m.fw_cfg = fw_cfg_create_io(FW_CFG_IO_BASE, &err);
    g_assert_nonnull(m.fw_cfg);
    cfg = dev_config_parse(opts, &err);
    g_assert_no_error(err);
    g_assert_cmpint(cfg->type->realize(&m, cfg, &err), ==, 0);
    dev_config_free(cfg);
    g_assert_cmpint(fw_cfg_file_size(file), ==, 3000);
    fw_cfg_destroy(m.fw_cfg);
}

/* Where romfile= is looked for: the name as a path, then -L, then the
 * firmware directories. */
static void test_rom_find(void)
{
    g_autofree char *dir = g_dir_make_tmp("hyvm-test-vga-XXXXXX", NULL);
    g_autofree char *in_dir = g_build_filename(dir, "vgabios-stdvga.bin", NULL);
    g_autofree char *found = NULL;
    g_autoptr(GPtrArray) dirs = g_ptr_array_new();

    g_assert_nonnull(dir);
    g_assert_true(g_file_set_contents(in_dir, "\x55\xaa", 2, NULL));
    g_ptr_array_add(dirs, (char *)"/nonexistent");
    g_ptr_array_add(dirs, dir);
    found = datadir_find(dirs, "vgabios-stdvga.bin");
    g_assert_cmpstr(found, ==, in_dir);
    g_free(found);
    found = datadir_find(NULL, in_dir);
    g_assert_cmpstr(found, ==, in_dir);
    g_free(found);
    found = datadir_find(dirs, "hyvm-no-such-rom.bin");
    g_assert_null(found);
    unlink(in_dir);
    rmdir(dir);
}

static void test_rom_default_and_errors(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = datadir_find(NULL, "vgabios-stdvga.bin");
    g_autofree char *opts = NULL;

    if (path) {
        /* Debian's SeaBIOS image: 64 KiB BAR below the MMIO BAR, as QEMU's. */
        setup("VGA");
        g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, ROM_QEMU);
        g_assert_cmphex(pci_cfg_rd(DEVFN, 0x18, 4), ==, MMIO_QEMU);
        g_assert_cmphex(pci_cfg_rd(DEVFN, 0x10, 4), ==, LFB | 8);
        pci_cfg_wr(DEVFN, 0x30, 0xffffffff, 4);
        g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, 0xffff0001);
        pci_cfg_wr(DEVFN, 0x30, ROM_QEMU | 1, 4);
        g_assert_cmphex(mmio_rd(ROM_QEMU, 2), ==, 0xaa55);
    } else {
        g_test_message("vgabios-stdvga.bin not installed: default ROM not checked");
    }
    g_assert_cmpint(try_setup("VGA,romfile=/nonexistent/x.bin", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "failed to find romfile \"/nonexistent/x.bin\"");
    g_clear_error(&err);

    opts = g_strdup_printf("VGA,romfile=%s", make_rom(0));
    g_assert_cmpint(try_setup(opts, &err), <, 0);
    g_assert_true(g_str_has_suffix(err->message, "\" is empty"));
    g_clear_error(&err);
    g_free(opts);

    opts = g_strdup_printf("VGA,romfile=%s,romsize=2048", make_rom(3000));
    g_assert_cmpint(try_setup(opts, &err), <, 0);
    g_assert_true(g_str_has_suffix(err->message, "(3000 bytes) is too large for ROM size 2048"));
    g_clear_error(&err);
    g_free(opts);

    g_assert_cmpint(try_setup("VGA,romsize=1000", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "ROM size 1000 is not a power of two");
    g_clear_error(&err);

    /* romsize= larger than the file: the BAR takes that size. */
    opts = g_strdup_printf("VGA,romfile=%s,romsize=65536", rom_path);
    setup(opts);
    pci_cfg_wr(DEVFN, 0x30, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, 0xffff0001);
    g_free(opts);

    /* rombar=0: no BAR; the image goes to the firmware through fw_cfg. */
    opts = g_strdup_printf("VGA,romfile=%s,rombar=0", rom_path);
    setup(opts);
    pci_cfg_wr(DEVFN, 0x30, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x30, 4), ==, 0);
    check_rombar0_fw_cfg(opts);
    unlink(rom_path);
}

/* ---- register files ---- */

static void test_regs(void)
{
    struct vga *s = setup("VGA,romfile=");

    /* Power-on: monochrome, so the CRTC answers at 0x3b4 and not 0x3d4. */
    g_assert_cmphex(pio_in(0x3cc, 1), ==, 0);
    pio_out(0x3b4, 0x0e, 1);
    pio_out(0x3b5, 0x12, 1);
    g_assert_cmphex(pio_in(0x3b5, 1), ==, 0x12);
    g_assert_cmphex(pio_in(0x3d5, 1), ==, 0xff);
    /* SeaBIOS's first write: colour, RAM enabled. */
    pio_out(0x3c2, 0xc3, 1);
    g_assert_cmphex(pio_in(0x3cc, 1), ==, 0xc3);
    g_assert_cmphex(pio_in(0x3b5, 1), ==, 0xff);
    pio_out(0x3d4, 0x0e, 1);
    g_assert_cmphex(pio_in(0x3d5, 1), ==, 0x12);     /* one register file */
    /* A 16-bit OUT is index then data. */
    pio_out(0x3d4, 0x340f, 2);
    g_assert_cmphex(pio_in(0x3d4, 1), ==, 0x0f);
    g_assert_cmphex(s->cr[0x0f], ==, 0x34);
    /* CR11 bit 7 locks CR0-7 but CR7 bit 4. */
    pio_out(0x3d4, 0x8011, 2);
    pio_out(0x3d4, 0xff01, 2);
    pio_out(0x3d4, 0xff07, 2);
    g_assert_cmphex(s->cr[1], ==, 0);
    g_assert_cmphex(s->cr[7], ==, 0x10);

    /* Sequencer and graphics keep only their implemented bits. */
    pio_out(0x3c4, 0xff01, 2);
    g_assert_cmphex(pio_in(0x3c5, 1), ==, 0x3d);
    pio_out(0x3c4, 0x0f, 1);
    g_assert_cmphex(pio_in(0x3c4, 1), ==, 0x07);
    pio_out(0x3ce, 0xff05, 2);
    g_assert_cmphex(pio_in(0x3cf, 1), ==, 0x7b);
    pio_out(0x3ce, 0xff09, 2);
    g_assert_cmphex(pio_in(0x3cf, 1), ==, 0);

    /* Attribute controller: reading 0x3da resets the flip-flop to index. */
    pio_in(0x3da, 1);
    pio_out(0x3c0, 0x10, 1);
    pio_out(0x3c0, 0xff, 1);
    g_assert_cmphex(s->ar[0x10], ==, 0xef);
    pio_out(0x3c0, 0x03, 1);            /* index again */
    pio_out(0x3c0, 0xff, 1);
    g_assert_cmphex(s->ar[3], ==, 0x3f);
    pio_out(0x3c0, 0x23, 1);            /* index with the display-enable bit */
    g_assert_cmphex(pio_in(0x3c0, 1), ==, 0);   /* the index reads back only before data */
    g_assert_cmphex(pio_in(0x3c1, 1), ==, 0x3f);
    pio_out(0x3c0, 0x05, 1);            /* data: after an index comes data */
    g_assert_cmphex(s->ar[3], ==, 0x05);
    g_assert_cmphex(pio_in(0x3c0, 1), ==, 0x23);
    /* Input status 1 toggles retrace and display enable on each read. */
    g_assert_cmphex(pio_in(0x3da, 1) ^ pio_in(0x3da, 1), ==, 0x09);

    /* DAC: three writes per entry, auto-increment, reads likewise. */
    pio_out(0x3c8, 0xff, 1);
    pio_out(0x3c9, 0x11, 1);
    pio_out(0x3c9, 0x22, 1);
    pio_out(0x3c9, 0x33, 1);
    pio_out(0x3c9, 0x01, 1);            /* entry 0 after 255 */
    pio_out(0x3c9, 0x02, 1);
    pio_out(0x3c9, 0x03, 1);
    g_assert_cmphex(pio_in(0x3c8, 1), ==, 0x01);
    g_assert_cmphex(pio_in(0x3c7, 1), ==, 0);
    pio_out(0x3c7, 0xff, 1);
    g_assert_cmphex(pio_in(0x3c7, 1), ==, 3);
    g_assert_cmphex(pio_in(0x3c9, 1), ==, 0x11);
    g_assert_cmphex(pio_in(0x3c9, 1), ==, 0x22);
    g_assert_cmphex(pio_in(0x3c9, 1), ==, 0x33);
    g_assert_cmphex(pio_in(0x3c9, 1), ==, 0x01);
    /* Ports QEMU leaves unassigned. */
    g_assert_cmphex(pio_in(0x3b0, 1), ==, 0xff);
    g_assert_cmphex(pio_in(0x3df, 1), ==, 0xff);
}

/* ---- the 0xa0000 window ---- */

static void gr(unsigned idx, uint8_t v)
{
    pio_out(0x3ce, idx | v << 8, 2);
}

static void sr(unsigned idx, uint8_t v)
{
    pio_out(0x3c4, idx | v << 8, 2);
}

static void test_planar(void)
{
    struct vga *s = setup("VGA,romfile=");

    /* Mode 0x12-like: planar, 0xa0000 for 64 KiB, all planes. */
    sr(2, 0x0f);
    sr(4, 0x06);
    gr(5, 0x00);
    gr(6, 0x05);
    gr(8, 0xff);
    /* Write mode 0: the byte to every plane the map mask enables. */
    mmio_wr(WIN + 10, 0xa5, 1);
    g_assert_cmphex(s->vram[40] | s->vram[41] << 8 | s->vram[42] << 16 |
                    (uint32_t)s->vram[43] << 24, ==, 0xa5a5a5a5);
    sr(2, 0x05);
    mmio_wr(WIN + 11, 0x3c, 1);
    g_assert_cmphex(s->vram[44], ==, 0x3c);
    g_assert_cmphex(s->vram[45], ==, 0);
    g_assert_cmphex(s->vram[46], ==, 0x3c);
    sr(2, 0x0f);
    /* Set/reset: planes 0 and 3 from the set/reset value. */
    gr(0, 0x08);
    gr(1, 0x09);
    mmio_wr(WIN + 12, 0x5a, 1);
    g_assert_cmphex(s->vram[48], ==, 0x00);
    g_assert_cmphex(s->vram[49], ==, 0x5a);
    g_assert_cmphex(s->vram[51], ==, 0xff);
    gr(1, 0);
    /* Read mode 0: the plane read map select names. */
    gr(4, 3);
    g_assert_cmphex(mmio_rd(WIN + 12, 1), ==, 0xff);
    gr(4, 1);
    g_assert_cmphex(mmio_rd(WIN + 12, 1), ==, 0x5a);
    /* Bit mask keeps the latch's bits; rotate turns the data first. */
    mmio_rd(WIN + 10, 1);               /* latch: a5 in every plane */
    gr(8, 0x0f);
    gr(3, 0x04);                        /* rotate right by 4 */
    mmio_wr(WIN + 10, 0x12, 1);         /* -> 0x21 */
    g_assert_cmphex(s->vram[40], ==, 0xa1);
    /* Function select XOR with the latch. */
    gr(3, 0x18);
    gr(8, 0xff);
    mmio_rd(WIN + 10, 1);
    mmio_wr(WIN + 10, 0xff, 1);
    g_assert_cmphex(s->vram[40], ==, 0x5e);
    gr(3, 0);
    /* Write mode 1 copies the latch: all four planes of address 10 to 20. */
    gr(5, 0x01);
    mmio_rd(WIN + 10, 1);
    mmio_wr(WIN + 20, 0x00, 1);
    g_assert_cmpmem(s->vram + 80, 4, s->vram + 40, 4);
    /* Write mode 2: the data's low nibble as a colour, one bit per plane. */
    gr(5, 0x02);
    gr(8, 0xf0);
    mmio_rd(WIN + 30, 1);               /* latch 0 */
    mmio_wr(WIN + 30, 0x06, 1);
    g_assert_cmphex(s->vram[120], ==, 0x00);
    g_assert_cmphex(s->vram[121], ==, 0xf0);
    g_assert_cmphex(s->vram[122], ==, 0xf0);
    g_assert_cmphex(s->vram[123], ==, 0x00);
    /* Write mode 3: rotated data ANDed with the bit mask, set/reset colour. */
    gr(5, 0x03);
    gr(0, 0x0c);
    gr(8, 0x3c);
    mmio_rd(WIN + 31, 1);
    mmio_wr(WIN + 31, 0x0f, 1);
    g_assert_cmphex(s->vram[124], ==, 0x00);
    g_assert_cmphex(s->vram[126], ==, 0x0c);
    g_assert_cmphex(s->vram[127], ==, 0x0c);
    /* Read mode 1: pixels of colour 6 (planes 1, 2) among all four planes. */
    gr(5, 0x08);
    gr(2, 0x06);
    gr(7, 0x0f);
    g_assert_cmphex(mmio_rd(WIN + 30, 1), ==, 0xf0);
    gr(7, 0x00);                        /* no plane compared: all match */
    g_assert_cmphex(mmio_rd(WIN + 30, 1), ==, 0xff);
    /* Memory map 1 ends at 0xaffff. */
    g_assert_cmphex(mmio_rd(WIN + 0x10000, 1), ==, 0xff);
}

static void test_chain4(void)
{
    struct vga *s = setup("VGA,romfile=");

    /* Mode 0x13: chain 4, 0xa0000, bytes straight into VRAM. */
    sr(2, 0x0f);
    sr(4, 0x0e);
    gr(5, 0x40);
    gr(6, 0x05);
    mmio_wr(WIN + 0, 0x44332211, 4);
    g_assert_cmphex(s->vram[0] | s->vram[1] << 8 | s->vram[2] << 16 |
                    (uint32_t)s->vram[3] << 24, ==, 0x44332211);
    g_assert_cmphex(mmio_rd(WIN + 1, 2), ==, 0x3322);
    /* The map mask still picks planes, by the address's low bits. */
    sr(2, 0x01);
    mmio_wr(WIN + 4, 0xffffffff, 4);
    g_assert_cmphex(s->vram[4], ==, 0xff);
    g_assert_cmphex(s->vram[5], ==, 0);
    g_assert_cmphex(mmio_rd(WIN + 4, 4), ==, 0xff);
}

static void test_text_odd_even(void)
{
    struct vga *s = setup("VGA,romfile=");

    /* Mode 3 as the VGA BIOS sets it: odd/even, map 3 (0xb8000), planes 0-1. */
    pio_out(0x3c2, 0x67, 1);
    sr(2, 0x03);
    sr(4, 0x02);
    gr(5, 0x10);
    gr(6, 0x0e);
    gr(8, 0xff);
    mmio_wr(0xb8000, 0x0741, 2);        /* 'A', light grey on black */
    mmio_wr(0xb8002, 0x1f42, 2);        /* 'B', white on blue */
    g_assert_cmphex(s->vram[0], ==, 'A');
    g_assert_cmphex(s->vram[1], ==, 0x07);
    g_assert_cmphex(s->vram[4], ==, 'B');
    g_assert_cmphex(s->vram[5], ==, 0x1f);
    g_assert_cmphex(s->vram[2], ==, 0);     /* plane 2 (fonts) untouched */
    g_assert_cmphex(mmio_rd(0xb8000, 4), ==, 0x1f420741);
    /* Map 3 does not decode 0xa0000-0xb7fff. */
    g_assert_cmphex(mmio_rd(WIN, 1), ==, 0xff);
    mmio_wr(WIN, 0x55, 1);
    g_assert_cmphex(s->vram[0], ==, 'A');
    /* Font loading: planar, plane 2 alone, map 0 (as stdvga's get_font_access). */
    sr(2, 0x04);
    sr(4, 0x06);
    gr(4, 0x02);
    gr(5, 0x00);
    gr(6, 0x04);
    mmio_wr(WIN + 0, 0x7e, 1);
    g_assert_cmphex(s->vram[2], ==, 0x7e);
    g_assert_cmphex(s->vram[0], ==, 'A');
    g_assert_cmphex(mmio_rd(WIN + 0, 1), ==, 0x7e);
}

/* ---- Bochs VBE ---- */

static void dispi_wr(uint16_t idx, uint16_t v)
{
    pio_out(0x1ce, idx, 2);
    pio_out(0x1cf, v, 2);
}

static uint16_t dispi_rd(uint16_t idx)
{
    pio_out(0x1ce, idx, 2);
    return pio_in(0x1cf, 2);
}

static void test_vbe(void)
{
    struct vga *s = setup("VGA,romfile=");

    /* What bochsvga_setup checks. */
    g_assert_cmphex(dispi_rd(VBE_DISPI_INDEX_ID), ==, 0xb0c5);
    dispi_wr(VBE_DISPI_INDEX_ID, 0xb0c0);
    g_assert_cmphex(dispi_rd(VBE_DISPI_INDEX_ID), ==, 0xb0c0);
    dispi_wr(VBE_DISPI_INDEX_ID, 0x1234);
    g_assert_cmphex(dispi_rd(VBE_DISPI_INDEX_ID), ==, 0xb0c0);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_VIDEO_MEMORY_64K), ==, 256);
    dispi_wr(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_XRES), ==, 16000);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_YRES), ==, 12000);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_BPP), ==, 32);
    dispi_wr(VBE_DISPI_INDEX_ENABLE, 0);
    /* Byte accesses do not reach the 16-bit registers. */
    g_assert_cmphex(pio_in(0x1ce, 1), ==, 0xff);

    /* bochsvga_set_mode for 1024x768x32 with the LFB. */
    memset(s->vram, 0xee, 1024 * 768 * 4 + 16);
    dispi_wr(VBE_DISPI_INDEX_BPP, 32);
    dispi_wr(VBE_DISPI_INDEX_XRES, 1024);
    dispi_wr(VBE_DISPI_INDEX_YRES, 768);
    dispi_wr(VBE_DISPI_INDEX_BANK, 0);
    dispi_wr(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    g_assert_true(vbe_enabled(s));
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_VIRT_WIDTH), ==, 1024);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_VIRT_HEIGHT), ==, 4096);
    g_assert_cmpuint(s->vbe_line_offset, ==, 4096);
    /* Enabling cleared the visible screen only. */
    g_assert_cmphex(s->vram[1024 * 768 * 4 - 1], ==, 0);
    g_assert_cmphex(s->vram[1024 * 768 * 4], ==, 0xee);
    /* The VGA side follows: graphics mode, 64 KiB window, chain 4. */
    g_assert_cmphex(s->gr[6] & 0x0d, ==, 0x05);
    g_assert_cmphex(vga_sr_effective(s, VGA_SEQ_MEMORY_MODE) & 0x08, ==, 0x08);
    g_assert_cmphex(s->cr[VGA_CRTC_H_DISP], ==, 127);
    /* LFB and banked window show the same VRAM. */
    mmio_wr(LFB + 0x10004, 0x00ff8040, 4);
    g_assert_cmphex(s->vram[0x10004], ==, 0x40);
    dispi_wr(VBE_DISPI_INDEX_BANK, 1);
    g_assert_cmphex(mmio_rd(WIN + 4, 4), ==, 0x00ff8040);
    mmio_wr(WIN + 8, 0x11223344, 4);
    g_assert_cmphex(mmio_rd(LFB + 0x10008, 4), ==, 0x11223344);
    /* Banks beyond VRAM wrap by the bank mask (256 banks of 64 KiB). */
    dispi_wr(VBE_DISPI_INDEX_BANK, 0x1ff);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_BANK), ==, 0xff);
    mmio_wr(WIN + 0xffff, 0x5a, 1);
    g_assert_cmphex(s->vram[0xffffff], ==, 0x5a);
    /* Display start: X/Y offsets. */
    dispi_wr(VBE_DISPI_INDEX_Y_OFFSET, 100);
    g_assert_cmpuint(s->vbe_start_addr, ==, 100 * 4096 / 4);
    dispi_wr(VBE_DISPI_INDEX_Y_OFFSET, 4000);   /* past VRAM: back to 0 */
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_Y_OFFSET), ==, 0);
    /* Disabling drops the bank and leaves VRAM; the 8-bit DAC bit follows. */
    dispi_wr(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_8BIT_DAC);
    g_assert_false(vbe_enabled(s));
    g_assert_true(s->dac_8bit);
    g_assert_cmpuint(s->bank_offset, ==, 0);
    g_assert_cmphex(s->vram[0x10004], ==, 0x40);

    /* Nonsense is clamped: depth 7 is 8, width to a multiple of 8 and at
     * most 16000, height to what VRAM holds; NOCLEARMEM keeps VRAM. */
    dispi_wr(VBE_DISPI_INDEX_BPP, 7);
    dispi_wr(VBE_DISPI_INDEX_XRES, 0xffff);
    dispi_wr(VBE_DISPI_INDEX_YRES, 0xffff);
    dispi_wr(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_BPP), ==, 8);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_XRES), ==, 16000);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_YRES), ==, (16u << 20) / 16000);
    g_assert_cmphex(s->vram[0x10004], ==, 0x40);
    dispi_wr(VBE_DISPI_INDEX_BPP, 32);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_YRES), ==, (16u << 20) / (16000 * 4));
}

/* ---- BAR 2 ---- */

static void test_mmio_bar(void)
{
    struct vga *s = setup("VGA,romfile=");
    uint8_t sum = 0;

    /* 0x400: ports 0x3c0-0x3df (a 16-bit write sets index and data). */
    mmio_wr(MMIO + 0x402, 0xc3, 1);
    g_assert_cmphex(pio_in(0x3cc, 1), ==, 0xc3);
    mmio_wr(MMIO + 0x414, 0x550e, 2);
    g_assert_cmphex(s->cr[0x0e], ==, 0x55);
    g_assert_cmphex(mmio_rd(MMIO + 0x415, 1), ==, 0x55);
    /* 0x500: dispi register i at 0x500 + 2i. */
    g_assert_cmphex(mmio_rd(MMIO + 0x500, 2), ==, 0xb0c5);
    g_assert_cmpuint(mmio_rd(MMIO + 0x514, 2), ==, 256);
    mmio_wr(MMIO + 0x506, 16, 2);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_BPP), ==, 16);
    /* A 4-byte access is two registers, or four ports, as QEMU splits it. */
    mmio_wr(MMIO + 0x502, 640 | 480u << 16, 4);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_XRES), ==, 640);
    g_assert_cmpuint(dispi_rd(VBE_DISPI_INDEX_YRES), ==, 480);
    g_assert_cmphex(mmio_rd(MMIO + 0x502, 4), ==, 640 | 480u << 16);
    mmio_wr(MMIO + 0x414, 0x0e, 1);
    g_assert_cmphex(mmio_rd(MMIO + 0x414, 4) & 0xffff, ==, 0x550e);
    mmio_wr(MMIO + 0x402, 0x0a0200c3, 4);   /* 0x3c2, 0x3c3, then seq index 2, data 0x0a */
    g_assert_cmphex(s->msr, ==, 0xc3);
    g_assert_cmphex(s->sr[2], ==, 0x0a);
    /* 0x600: QEMU's extended registers: their size, the byte order. */
    g_assert_cmphex(mmio_rd(MMIO + 0x600, 4), ==, 8);
    g_assert_cmphex(mmio_rd(MMIO + 0x604, 4), ==, 0x1e1e1e1e);
    mmio_wr(MMIO + 0x604, 0xbebebebe, 4);
    g_assert_cmphex(mmio_rd(MMIO + 0x604, 4), ==, 0xbebebebe);
    mmio_wr(MMIO + 0x604, 0x12345678, 4);
    g_assert_cmphex(mmio_rd(MMIO + 0x604, 4), ==, 0xbebebebe);
    /* 0x000: an EDID block with its header and a zero checksum. */
    g_assert_cmphex(mmio_rd(MMIO + 0, 4), ==, 0xffffff00);
    g_assert_cmphex(mmio_rd(MMIO + 4, 4), ==, 0x00ffffff);
    for (unsigned i = 0; i < 128; i++) {
        sum += mmio_rd(MMIO + i, 1);
    }
    g_assert_cmpuint(sum, ==, 0);
    g_assert_cmphex(mmio_rd(MMIO + 8, 2), ==, 0x1449);      /* "RHT" */
    g_assert_cmphex(mmio_rd(MMIO + 56, 1), ==, 1280 & 0xff);
    setup("VGA,romfile=,big-endian-framebuffer=on");
    g_assert_cmphex(mmio_rd(MMIO + 0x604, 4), ==, 0xbebebebe);
    setup("VGA,romfile=,edid=off,qemu-extended-regs=off");
    g_assert_cmphex(mmio_rd(MMIO + 0, 4), ==, 0);
    g_assert_cmphex(mmio_rd(MMIO + 0x600, 4), ==, 0);
}

/* A second VGA works through its BARs; the first keeps the legacy ports. */
static void test_two_vgas(void)
{
    g_autoptr(GError) err = NULL;
    struct dev_config *cfg;
    struct vga *first = setup("VGA,romfile=");

    cfg = dev_config_parse("VGA,romfile=,addr=4", &err);
    g_assert_no_error(err);
    g_assert_cmpint(cfg->type->realize(NULL, cfg, &err), ==, 0);
    dev_config_free(cfg);
    pio_out(0x3c2, 0x42, 1);
    g_assert_cmphex(first->msr, ==, 0x42);
    g_assert_cmphex(((struct vga *)pci_find_device(0x20)->opaque)->msr, ==, 0);
}

/* Random guest writes everywhere: nothing may reach outside VRAM (run
 * under ASan to see it), and the state stays inside its bounds. */
static void test_hostile(void)
{
    struct vga *s = setup("VGA,romfile=,vgamem_mb=1");
    GRand *r = g_rand_new_with_seed(13);

    for (unsigned i = 0; i < 200000; i++) {
        uint32_t v = g_rand_int(r);
        unsigned size = 1u << g_rand_int_range(r, 0, 3);

        switch (g_rand_int_range(r, 0, 7)) {
        case 0:
            pio_out(0x3b0 + g_rand_int_range(r, 0, 0x30), v, 1);
            break;
        case 1:
            pio_in(0x3b0 + g_rand_int_range(r, 0, 0x30), 1);
            break;
        case 2:
            dispi_wr(g_rand_int_range(r, 0, 12), v);
            break;
        case 3:
            mmio_wr(WIN + g_rand_int_range(r, 0, 0x20000), v, size);
            break;
        case 4:
            mmio_rd(WIN + g_rand_int_range(r, 0, 0x20000), size);
            break;
        case 5:
            mmio_wr(MMIO + g_rand_int_range(r, 0, 0x1000) - (v & 0x8000 ? 0x800 : 0), v, size);
            break;
        default:
            /* The 1 MiB framebuffer BAR (at 0xfea00000) and past its end. */
            mmio_wr(0xfea00000u + g_rand_int_range(r, 0, 0x100100), v, size);
            break;
        }
        g_assert_cmpuint(s->bank_offset + 0x10000, <=, s->vram_size);
        if (vbe_enabled(s)) {
            g_assert_cmpuint((uint64_t)s->vbe_regs[VBE_DISPI_INDEX_YRES] * s->vbe_line_offset +
                             (uint64_t)s->vbe_start_addr * 4, <=, s->vram_size);
        }
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vga/config", test_config);
    g_test_add_func("/vga/rom-bar", test_rom_bar);
    g_test_add_func("/vga/rom-find", test_rom_find);
    g_test_add_func("/vga/rom-default-and-errors", test_rom_default_and_errors);
    g_test_add_func("/vga/regs", test_regs);
    g_test_add_func("/vga/planar", test_planar);
    g_test_add_func("/vga/chain4", test_chain4);
    g_test_add_func("/vga/text-odd-even", test_text_odd_even);
    g_test_add_func("/vga/vbe", test_vbe);
    g_test_add_func("/vga/mmio-bar", test_mmio_bar);
    g_test_add_func("/vga/two-vgas", test_two_vgas);
    g_test_add_func("/vga/hostile", test_hostile);
    ret = g_test_run();
    io_unregister_all();
    pci_bus_destroy();
    g_free(rom_path);
    return ret;
}
