/*
 * The PIIX3 IDE controller driven through io_pio() as a guest's IN/OUT
 * reach it: signatures after reset and SRST, IDENTIFY (DEVICE and PACKET)
 * as QEMU 7.2 fills them, PIO reads and writes of a raw image in LBA28
 * and LBA48, READ MULTIPLE, bus-master DMA over PRD tables (good, short
 * and pointing outside RAM), and the ATAPI packets a CD-ROM answers:
 * INQUIRY, READ(10) by PIO under a byte count limit and by DMA, and the
 * NOT READY sense of an empty drive.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block-backend.h"
#include "block/block.h"
#include "hw/device.h"
#include "hw/ide.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "machine/boot-order.h"
#include "system/memory.h"
#include "tests/unit/io-access.h"

#include "guest-ram.h"

#define RAM_SIZE    (16u << 20)
#define DISK_SIZE   (16u << 20)
#define CD_SIZE     (1u << 20)

/* Legacy ports, primary and secondary (ATA/ATAPI-6 7.1). */
static const uint16_t cmd_base[2] = { 0x1f0, 0x170 };
static const uint16_t ctl_port[2] = { 0x3f6, 0x376 };

static int gsi_level[24];
static unsigned gsi_raises[24];
static char *tmpdir;
static struct blk *blks[8];
static unsigned nblks;
static uint16_t bmdma_base;

static void record_irq(void *opaque, unsigned gsi, int level)
{
    g_assert_cmpuint(gsi, <, 24);
    if (level && !gsi_level[gsi]) {
        gsi_raises[gsi]++;
    }
    gsi_level[gsi] = level;
}

/* The byte every sector's offset i holds: sector number and offset mixed. */
static uint8_t pattern(uint64_t sector, unsigned i)
{
    return (uint8_t)(sector * 7 + i * 13 + (sector >> 8));
}

static char *make_image(const char *name, uint64_t size, uint64_t sectors)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    uint8_t buf[512];

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    for (uint64_t s = 0; s < sectors; s++) {
        for (unsigned i = 0; i < 512; i++) {
            buf[i] = pattern(s, i);
        }
        g_assert_cmpint(pwrite(fd, buf, 512, s * 512), ==, 512);
    }
    close(fd);
    return path;
}

/* A named backend over path (NULL: an empty drive). */
static struct blk *backend(const char *name, const char *path, bool rw)
{
    g_autoptr(GError) err = NULL;
    struct bdrv *bs = NULL;
    struct blk *blk;

    if (path) {
        bs = bdrv_open(path, "raw", NULL, rw ? BDRV_O_RDWR : 0, &err);
        g_assert_no_error(err);
    }
    blk = blk_new(bs, rw ? BLK_PERM_WRITE : 0);
    if (bs) {
        bdrv_unref(bs);
    }
    g_assert_true(blk_set_name(blk, name, &err));
    g_assert_cmpuint(nblks, <, G_N_ELEMENTS(blks));
    blks[nblks++] = blk;
    return blk;
}

static void realize(const char *opts)
{
    g_autoptr(GError) err = NULL;
    struct dev_config *cfg = dev_config_parse(opts, &err);

    g_assert_no_error(err);
    g_assert_cmpint(cfg->type->realize(NULL, cfg, &err), ==, 0);
    g_assert_no_error(err);
    dev_config_free(cfg);
}

/* The controller with: a 16 MiB disk as primary master (ide0-hd0), a CD
 * as secondary master (medium cd_path, or empty). */
static void setup(const char *cd_path)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *disk = make_image("disk.raw", DISK_SIZE, DISK_SIZE / 512);
    struct pci_device *d;

    io_unregister_all();
    pci_bus_destroy();
    ram_free_all();
    memset(gsi_level, 0, sizeof(gsi_level));
    memset(gsi_raises, 0, sizeof(gsi_raises));
    irq_set_route(record_irq, NULL);
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, &err), ==, 0);
    g_assert_cmpint(pci_host_create_pc(NULL, &err), ==, 0);
    g_assert_cmpint(ide_piix_create(NULL, &err), ==, 0);
    g_assert_no_error(err);
    backend("hd", disk, true);
    backend("cd", cd_path, false);
    realize("ide-hd,drive=hd,bus=ide.0,unit=0");
    realize("ide-cd,drive=cd,bus=ide.1,unit=0");
    pci_firmware_setup();
    d = pci_find_device(PCI_DEVFN(1, 1));
    g_assert_nonnull(d);
    bmdma_base = pci_config_read(d, 0x20, 4) & ~3u;
    g_assert_cmpuint(bmdma_base, !=, 0);
    /* Bus master on, as the guest's driver sets it. */
    pci_config_write(d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
}

static void teardown(void)
{
    pci_bus_destroy();
    io_unregister_all();
    for (unsigned i = 0; i < nblks; i++) {
        blk_unref(blks[i]);
    }
    nblks = 0;
    ram_free_all();
}

/* Runs the main loop (block completions) until BSY clears. */
static uint8_t wait_not_busy(unsigned ch)
{
    gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    uint8_t st;

    while ((st = inb(ctl_port[ch])) & 0x80) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(100);
        }
    }
    return st;
}

/* Waits for the bus master to leave the active state. */
static uint8_t wait_dma(unsigned ch)
{
    gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    uint8_t st;

    while ((st = inb(bmdma_base + 8 * ch + 2)) & 1) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(100);
        }
    }
    return st;
}

static void select_lba(unsigned ch, unsigned unit, uint64_t lba, unsigned count, bool lba48)
{
    uint16_t b = cmd_base[ch];

    outb(b + 6, 0xe0 | unit << 4 | (lba48 ? 0 : (lba >> 24) & 0x0f));
    if (lba48) {
        outb(b + 2, count >> 8);
        outb(b + 3, lba >> 24);
        outb(b + 4, lba >> 32);
        outb(b + 5, lba >> 40);
    }
    outb(b + 2, count);
    outb(b + 3, lba);
    outb(b + 4, lba >> 8);
    outb(b + 5, lba >> 16);
}

static void read_words(unsigned ch, uint8_t *buf, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i += 2) {
        uint16_t w = inw(cmd_base[ch]);

        buf[i] = w;
        buf[i + 1] = w >> 8;
    }
}

static void check_sector(const uint8_t *buf, uint64_t sector)
{
    for (unsigned i = 0; i < 512; i++) {
        if (buf[i] != pattern(sector, i)) {
            g_error("sector %" G_GUINT64_FORMAT " byte %u: 0x%02x, want 0x%02x", sector, i,
                    buf[i], pattern(sector, i));
        }
    }
}

/* An ATA string of IDENTIFY data: two characters a word, high byte first. */
static char *ata_string(const uint8_t *id, unsigned word, unsigned len)
{
    char *s = g_malloc0(len + 1);

    for (unsigned i = 0; i < len; i++) {
        s[i] = id[2 * word + (i ^ 1)];
    }
    return g_strchomp(s);
}

static uint16_t word(const uint8_t *id, unsigned w)
{
    return id[2 * w] | id[2 * w + 1] << 8;
}

static void identify(unsigned ch, unsigned unit, uint8_t cmd, uint8_t *id)
{
    outb(cmd_base[ch] + 6, 0xa0 | unit << 4);
    outb(cmd_base[ch] + 7, cmd);
    g_assert_cmphex(wait_not_busy(ch), ==, 0x58);
    read_words(ch, id, 512);
    g_assert_cmphex(inb(cmd_base[ch] + 7), ==, 0x50);
}

/* ---- tests ---- */

static void test_signature(void)
{
    setup(NULL);
    /* Primary master, an ATA disk: count 1, sector 1, cylinder 0. */
    g_assert_cmphex(inb(0x1f2), ==, 1);
    g_assert_cmphex(inb(0x1f3), ==, 1);
    g_assert_cmphex(inb(0x1f4), ==, 0);
    g_assert_cmphex(inb(0x1f5), ==, 0);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    /* No slave: its status and error read 0, its cylinder registers the
     * "no device" signature, a command to it is ignored. */
    outb(0x1f6, 0xb0);
    g_assert_cmphex(inb(0x1f7), ==, 0);
    g_assert_cmphex(inb(0x1f1), ==, 0);
    g_assert_cmphex(inb(0x1f4), ==, 0xff);
    g_assert_cmphex(inb(0x1f5), ==, 0xff);
    outb(0x1f7, 0xec);
    g_assert_cmphex(inb(0x1f7), ==, 0);
    g_assert_cmpuint(gsi_raises[14], ==, 0);
    /* Secondary master, a packet device: cylinder 0xeb14. */
    g_assert_cmphex(inb(0x174), ==, 0x14);
    g_assert_cmphex(inb(0x175), ==, 0xeb);
    /* IDENTIFY DEVICE to it aborts and leaves the signature. */
    outb(0x172, 0x55);
    outb(0x177, 0xec);
    g_assert_cmphex(inb(0x177), ==, 0x41);
    g_assert_cmphex(inb(0x171), ==, 0x04);
    g_assert_cmphex(inb(0x172), ==, 1);
    g_assert_cmphex(inb(0x175), ==, 0xeb);
    /* SRST with nIEN: the signature comes back, no interrupt; the packet
     * device shows status 0. */
    memset(gsi_raises, 0, sizeof(gsi_raises));
    outb(0x1f6, 0xa0);
    outb(0x1f2, 0x33);
    outb(0x3f6, 0x06);
    outb(0x3f6, 0x02);
    g_assert_cmphex(inb(0x1f2), ==, 1);
    g_assert_cmphex(inb(0x1f1), ==, 1);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    outb(0x376, 0x06);
    outb(0x376, 0x02);
    g_assert_cmphex(inb(0x177), ==, 0x00);
    g_assert_cmphex(inb(0x174), ==, 0x14);
    g_assert_cmpuint(gsi_raises[14] + gsi_raises[15], ==, 0);
    /* Without nIEN the disk's reset interrupts. */
    outb(0x3f6, 0x04);
    outb(0x3f6, 0x00);
    g_assert_cmpint(gsi_level[14], ==, 1);
    teardown();
}

static void test_identify(void)
{
    uint8_t id[512];
    g_autofree char *model = NULL, *serial = NULL, *fw = NULL;

    setup(NULL);
    identify(0, 0, 0xec, id);
    g_assert_cmpint(gsi_raises[14], ==, 1);
    model = ata_string(id, 27, 40);
    serial = ata_string(id, 10, 20);
    fw = ata_string(id, 23, 8);
    g_assert_cmpstr(model, ==, "QEMU HARDDISK");
    g_assert_cmpstr(serial, ==, "QM00001");
    g_assert_cmpstr(fw, ==, "2.5+");
    /* 32768 sectors without an MBR: 16 heads, 63 sectors, 32 cylinders. */
    g_assert_cmpuint(word(id, 1), ==, 32);
    g_assert_cmpuint(word(id, 3), ==, 16);
    g_assert_cmpuint(word(id, 6), ==, 63);
    g_assert_cmphex(word(id, 47), ==, 0x8010);
    g_assert_cmphex(word(id, 49), ==, 0x0b00);
    g_assert_cmphex(word(id, 59), ==, 0x0110);
    g_assert_cmpuint(word(id, 60) | word(id, 61) << 16, ==, DISK_SIZE / 512);
    g_assert_cmpuint(word(id, 100) | word(id, 101) << 16, ==, DISK_SIZE / 512);
    g_assert_cmphex(word(id, 63), ==, 0x07);
    g_assert_cmphex(word(id, 83), ==, 0x7400);
    g_assert_cmphex(word(id, 85), ==, 0x4021);
    g_assert_cmphex(word(id, 88), ==, 0x203f);
    g_assert_cmphex(word(id, 69), ==, 0x4000);  /* TRIM, as QEMU's ide-hd offers */
    g_assert_cmphex(word(id, 169), ==, 0x0001);
    /* SET FEATURES, transfer mode MWDMA2: word 63 shows it selected. */
    outb(0x1f1, 0x03);
    outb(0x1f2, 0x22);
    outb(0x1f7, 0xef);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    identify(0, 0, 0xec, id);
    g_assert_cmphex(word(id, 63), ==, 0x0407);
    g_assert_cmphex(word(id, 88), ==, 0x003f);
    /* The CD-ROM: IDENTIFY PACKET DEVICE. */
    identify(1, 0, 0xa1, id);
    g_free(model);
    model = ata_string(id, 27, 40);
    g_free(serial);
    serial = ata_string(id, 10, 20);
    g_assert_cmpstr(model, ==, "QEMU DVD-ROM");
    g_assert_cmpstr(serial, ==, "QM00003");
    g_assert_cmphex(word(id, 0), ==, 0x85c0);
    /* An unknown opcode aborts with an interrupt. */
    outb(0x1f6, 0xa0);
    outb(0x1f7, 0x00);
    g_assert_cmphex(inb(0x1f7), ==, 0x41);
    g_assert_cmphex(inb(0x1f1), ==, 0x04);
    teardown();
}

static void test_pio_read_write(void)
{
    uint8_t buf[512 * 4];
    g_autofree char *disk = NULL;
    int fd;

    setup(NULL);
    /* READ SECTORS, LBA 5, two sectors: one DRQ block and interrupt each. */
    select_lba(0, 0, 5, 2, false);
    outb(0x1f7, 0x20);
    g_assert_cmphex(wait_not_busy(0), ==, 0x58);
    g_assert_cmpint(gsi_level[14], ==, 1);
    g_assert_cmphex(inb(0x1f7), ==, 0x58);      /* acknowledges */
    g_assert_cmpint(gsi_level[14], ==, 0);
    read_words(0, buf, 512);
    check_sector(buf, 5);
    g_assert_cmphex(wait_not_busy(0), ==, 0x58);
    read_words(0, buf, 512);
    check_sector(buf, 6);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    g_assert_cmpuint(gsi_raises[14], ==, 2);
    /* The task file points past the last sector read. */
    g_assert_cmphex(inb(0x1f3), ==, 7);
    /* READ MULTIPLE, 4 sectors in 32-bit reads, multiple count 16. */
    select_lba(0, 0, 100, 4, false);
    outb(0x1f7, 0xc4);
    g_assert_cmphex(wait_not_busy(0), ==, 0x58);
    for (unsigned i = 0; i < sizeof(buf); i += 4) {
        uint32_t l = inl(0x1f0);

        memcpy(buf + i, &l, 4);
    }
    for (unsigned s = 0; s < 4; s++) {
        check_sector(buf + 512 * s, 100 + s);
    }
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    /* WRITE SECTORS, LBA 10: DRQ at once, no interrupt until written. */
    gsi_raises[14] = 0;
    select_lba(0, 0, 10, 1, false);
    outb(0x1f7, 0x30);
    g_assert_cmphex(inb(0x1f7), ==, 0x58);
    g_assert_cmpuint(gsi_raises[14], ==, 0);
    for (unsigned i = 0; i < 256; i++) {
        outw(0x1f0, 0xa55a ^ i);
    }
    g_assert_cmphex(wait_not_busy(0), ==, 0x50);
    g_assert_cmpuint(gsi_raises[14], ==, 1);
    /* FLUSH CACHE, then the bytes are in the file. */
    outb(0x1f7, 0xe7);
    g_assert_cmphex(wait_not_busy(0), ==, 0x50);
    disk = g_build_filename(tmpdir, "disk.raw", NULL);
    fd = open(disk, O_RDONLY);
    g_assert_cmpint(pread(fd, buf, 512, 10 * 512), ==, 512);
    close(fd);
    for (unsigned i = 0; i < 256; i++) {
        g_assert_cmphex(buf[2 * i] | buf[2 * i + 1] << 8, ==, 0xa55a ^ i);
    }
    /* A read that runs past the end: the last sector comes, then the
     * command aborts (each block is checked as it starts). */
    select_lba(0, 0, DISK_SIZE / 512 - 1, 2, false);
    outb(0x1f7, 0x20);
    g_assert_cmphex(wait_not_busy(0), ==, 0x58);
    read_words(0, buf, 512);
    check_sector(buf, DISK_SIZE / 512 - 1);
    g_assert_cmphex(wait_not_busy(0), ==, 0x41);
    g_assert_cmphex(inb(0x1f1), ==, 0x04);
    /* CHS: cylinder 1, head 2, sector 3 of 16x63 is LBA 1134. */
    outb(0x1f6, 0xa2);
    outb(0x1f2, 1);
    outb(0x1f3, 3);
    outb(0x1f4, 1);
    outb(0x1f5, 0);
    outb(0x1f7, 0x20);
    g_assert_cmphex(wait_not_busy(0), ==, 0x58);
    read_words(0, buf, 512);
    check_sector(buf, (1 * 16 + 2) * 63 + 2);
    teardown();
}

static void test_lba48(void)
{
    const uint64_t big = (1ull << 28) + 64, target = (1ull << 28) + 3;
    g_autofree char *path = make_image("big.raw", big * 512, 0);
    uint8_t buf[512], id[512];
    uint64_t lba;
    int fd = open(path, O_RDWR);

    for (unsigned i = 0; i < 512; i++) {
        buf[i] = pattern(target, i);
    }
    g_assert_cmpint(pwrite(fd, buf, 512, target * 512), ==, 512);
    close(fd);
    setup(NULL);
    backend("big", path, true);
    realize("ide-hd,drive=big,bus=ide.0,unit=1");
    /* Capacity: LBA28 words saturate, LBA48 words hold it all. */
    identify(0, 1, 0xec, id);
    g_assert_cmphex(word(id, 60) | word(id, 61) << 16, ==, 0x0fffffff);
    g_assert_cmpuint(word(id, 100) | (uint64_t)word(id, 101) << 16 |
                     (uint64_t)word(id, 102) << 32, ==, big);
    g_assert_cmpuint(word(id, 1), ==, 16383);
    /* READ SECTORS EXT above 2^28. */
    select_lba(0, 1, target, 1, true);
    outb(0x1f7, 0x24);
    g_assert_cmphex(wait_not_busy(0), ==, 0x58);
    read_words(0, buf, 512);
    check_sector(buf, target);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    /* The address registers with HOB: the high bytes of the next LBA. */
    lba = inb(0x1f3) | inb(0x1f4) << 8 | inb(0x1f5) << 16;
    outb(0x3f6, 0x80);
    lba |= (uint64_t)inb(0x1f3) << 24 | (uint64_t)inb(0x1f4) << 32;
    outb(0x3f6, 0x00);
    g_assert_cmpuint(lba, ==, target + 1);
    /* READ NATIVE MAX ADDRESS EXT. */
    outb(0x1f6, 0xf0);
    outb(0x1f7, 0x27);
    lba = inb(0x1f3) | inb(0x1f4) << 8 | inb(0x1f5) << 16;
    outb(0x3f6, 0x80);
    lba |= (uint64_t)inb(0x1f3) << 24 | (uint64_t)inb(0x1f4) << 32;
    outb(0x3f6, 0x00);
    g_assert_cmpuint(lba, ==, big - 1);
    teardown();
}

/* A PRD table at 0x1000: entries of (address, bytes, last). */
static void prd(unsigned i, uint32_t addr, uint32_t bytes, bool last)
{
    put32(0x1000 + 8 * i, addr);
    put32(0x1000 + 8 * i + 4, (bytes & 0xffff) | (last ? 0x80000000u : 0));
}

static void bm_start(unsigned ch, bool to_memory)
{
    uint16_t b = bmdma_base + 8 * ch;

    outl(b + 4, 0x1000);
    outb(b + 2, 0x06);              /* clear interrupt and error */
    outb(b, to_memory ? 0x08 : 0x00);
    outb(b, to_memory ? 0x09 : 0x01);
}

static void test_dma(void)
{
    uint8_t buf[1024];

    setup(NULL);
    /* READ DMA, LBA 3, two sectors into two regions. */
    prd(0, 0x10000, 512, false);
    prd(1, 0x20000, 512, true);
    select_lba(0, 0, 3, 2, false);
    outb(0x1f7, 0xc8);
    g_assert_cmphex(inb(0x3f6), ==, 0x58);      /* waiting for the bus master */
    bm_start(0, true);
    g_assert_cmphex(wait_dma(0), ==, 0x04);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    g_assert_cmpint(gsi_level[14], ==, 0);      /* the status read acknowledged it */
    g_assert_cmpuint(gsi_raises[14], ==, 1);
    g_assert_cmpint(ram_read(0x10000, buf, 512), ==, 0);
    check_sector(buf, 3);
    g_assert_cmpint(ram_read(0x20000, buf, 512), ==, 0);
    check_sector(buf, 4);
    outb(bmdma_base, 0);
    /* WRITE DMA, the bus master started first: LBA 20 from one region. */
    for (unsigned i = 0; i < 1024; i++) {
        buf[i] = pattern(40, i);
    }
    g_assert_cmpint(ram_write(0x30000, buf, 1024), ==, 0);
    prd(0, 0x30000, 1024, true);
    bm_start(0, false);
    select_lba(0, 0, 20, 2, false);
    outb(0x1f7, 0xca);
    g_assert_cmphex(wait_dma(0), ==, 0x04);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    outb(bmdma_base, 0);
    select_lba(0, 0, 20, 1, false);
    outb(0x1f7, 0x20);
    g_assert_cmphex(wait_not_busy(0), ==, 0x58);
    read_words(0, buf, 512);
    check_sector(buf, 40);
    /* DATA SET MANAGEMENT, TRIM: one block of ranges by DMA (a range of 8
     * sectors at 100, then an empty one); then a range past the end fails. */
    {
        uint8_t list[512] = { 0 };

        list[0] = 100;
        list[6] = 8;
        g_assert_cmpint(ram_write(0x60000, list, sizeof(list)), ==, 0);
        prd(0, 0x60000, 512, true);
        outb(0x1f6, 0xe0);
        outb(0x1f1, 0x01);
        outb(0x1f2, 0);
        outb(0x1f2, 1);
        outb(0x1f7, 0x06);
        bm_start(0, false);
        g_assert_cmphex(wait_dma(0), ==, 0x04);
        g_assert_cmphex(inb(0x1f7), ==, 0x50);
        outb(bmdma_base, 0);
        list[0] = 0xff;
        list[1] = 0xff;
        g_assert_cmpint(ram_write(0x60000, list, sizeof(list)), ==, 0);
        outb(0x1f1, 0x01);
        outb(0x1f2, 0);
        outb(0x1f2, 1);
        outb(0x1f7, 0x06);
        bm_start(0, false);
        g_assert_cmphex(wait_dma(0), ==, 0x04);
        g_assert_cmphex(inb(0x1f7), ==, 0x41);
        outb(bmdma_base, 0);
    }
    /* READ DMA EXT. */
    prd(0, 0x40000, 512, true);
    select_lba(0, 0, 77, 1, true);
    outb(0x1f7, 0x25);
    bm_start(0, true);
    g_assert_cmphex(wait_dma(0), ==, 0x04);
    g_assert_cmpint(ram_read(0x40000, buf, 512), ==, 0);
    check_sector(buf, 77);
    outb(bmdma_base, 0);
    teardown();
}

static void test_dma_bad_prd(void)
{
    setup(NULL);
    /* A region outside RAM: the bus master's error bit, the command
     * aborted, an interrupt; the host carries on. */
    prd(0, 0xf0000000u, 512, true);
    select_lba(0, 0, 0, 1, false);
    outb(0x1f7, 0xc8);
    bm_start(0, true);
    g_assert_cmphex(wait_dma(0), ==, 0x06);
    g_assert_cmpint(gsi_level[14], ==, 1);
    g_assert_cmphex(inb(0x1f7), ==, 0x41);
    g_assert_cmphex(inb(0x1f1), ==, 0x04);
    outb(bmdma_base, 0);
    /* The PRD table itself outside RAM. */
    outb(bmdma_base + 2, 0x06);
    outl(bmdma_base + 4, 0xfffffff0u);
    select_lba(0, 0, 0, 1, false);
    outb(0x1f7, 0xc8);
    outb(bmdma_base, 0x09);
    g_assert_cmphex(wait_dma(0), ==, 0x06);
    outb(bmdma_base, 0);
    /* A table shorter than the command: no transfer, no interrupt. */
    gsi_raises[14] = 0;
    prd(0, 0x10000, 512, true);
    select_lba(0, 0, 0, 2, false);
    outb(0x1f7, 0xc8);
    bm_start(0, true);
    g_assert_cmphex(wait_dma(0), ==, 0x00);
    g_assert_cmpuint(gsi_raises[14], ==, 0);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    /* An entry of 0 bytes means 64 KiB: 128 sectors fit one entry. */
    prd(0, 0x100000, 0, true);
    select_lba(0, 0, 0, 128, false);
    outb(0x1f7, 0xc8);
    bm_start(0, true);
    g_assert_cmphex(wait_dma(0), ==, 0x04);
    g_assert_cmphex(inb(0x1f7), ==, 0x50);
    g_assert_cmphex(get16(0x100000 + 127 * 512) & 0xff, ==, pattern(127, 0));
    teardown();
}

/* PACKET with the 12 bytes of cdb, byte count limit bcl; dma by feature 1. */
static void packet(const uint8_t *cdb, uint16_t bcl, bool dma)
{
    outb(0x176, 0xa0);
    outb(0x171, dma ? 1 : 0);
    outb(0x174, bcl);
    outb(0x175, bcl >> 8);
    outb(0x177, 0xa0);
    g_assert_cmphex(inb(0x376), ==, 0x58);
    g_assert_cmphex(inb(0x172) & 3, ==, 1);    /* C/D: the device wants the command */
    for (unsigned i = 0; i < 12; i += 2) {
        outw(0x170, cdb[i] | cdb[i + 1] << 8);
    }
}

/* Reads a data-in phase: the DRQ blocks and their sizes. */
static unsigned atapi_read(uint8_t *buf, unsigned max, unsigned *blocks)
{
    unsigned got = 0;

    *blocks = 0;
    while ((wait_not_busy(1) & 0x08)) {
        unsigned n = inb(0x174) | inb(0x175) << 8;

        g_assert_cmphex(inb(0x172) & 3, ==, 2);    /* I/O: to the host */
        g_assert_cmpuint(got + n, <=, max);
        read_words(1, buf + got, n);
        got += n;
        (*blocks)++;
    }
    return got;
}

static void test_atapi(void)
{
    g_autofree char *iso = make_image("cd.iso", CD_SIZE, CD_SIZE / 512);
    static const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 96 };
    static const uint8_t capacity[12] = { 0x25 };
    uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 7, 0, 0, 2 };
    uint8_t buf[8192];
    unsigned blocks, n;

    setup(iso);
    /* INQUIRY: 36 bytes, QEMU's vendor, product and revision. */
    packet(inquiry, 0xfffe, false);
    n = atapi_read(buf, sizeof(buf), &blocks);
    g_assert_cmpuint(n, ==, 36);
    g_assert_cmphex(buf[0], ==, 0x05);
    g_assert_cmphex(buf[1], ==, 0x80);
    g_assert_cmpmem(buf + 8, 28, "QEMU    QEMU DVD-ROM    2.5+", 28);
    g_assert_cmphex(inb(0x177), ==, 0x50);
    g_assert_cmphex(inb(0x172) & 3, ==, 3);
    /* READ CAPACITY: the last 2048-byte sector. */
    packet(capacity, 8, false);
    n = atapi_read(buf, sizeof(buf), &blocks);
    g_assert_cmpuint(n, ==, 8);
    g_assert_cmpuint(buf[3] | buf[2] << 8, ==, CD_SIZE / 2048 - 1);
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 2048);
    /* READ(10) of two sectors from 7 with a byte count limit of 1024:
     * four DRQ blocks. */
    packet(read10, 1024, false);
    n = atapi_read(buf, sizeof(buf), &blocks);
    g_assert_cmpuint(n, ==, 4096);
    g_assert_cmpuint(blocks, ==, 4);
    for (unsigned s = 0; s < 8; s++) {
        check_sector(buf + 512 * s, 7 * 4 + s);
    }
    g_assert_cmphex(inb(0x177), ==, 0x50);
    /* The same by DMA. */
    prd(0, 0x50000, 4096, true);
    packet(read10, 0, true);
    bm_start(1, true);
    g_assert_cmphex(wait_dma(1), ==, 0x04);
    g_assert_cmphex(inb(0x177), ==, 0x50);
    g_assert_cmpint(ram_read(0x50000, buf, 4096), ==, 0);
    for (unsigned s = 0; s < 8; s++) {
        check_sector(buf + 512 * s, 7 * 4 + s);
    }
    outb(bmdma_base + 8, 0);
    /* Past the end: ILLEGAL REQUEST, LBA out of range. */
    read10[4] = (CD_SIZE / 2048 - 1) >> 8;
    read10[5] = (CD_SIZE / 2048 - 1) & 0xff;
    packet(read10, 0xfffe, false);
    g_assert_cmphex(wait_not_busy(1), ==, 0x41);
    g_assert_cmphex(inb(0x171), ==, 0x50);
    teardown();
}

static void test_atapi_no_medium(void)
{
    static const uint8_t tur[12] = { 0x00 };
    static const uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
    static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
    uint8_t buf[64];
    unsigned blocks;

    setup(NULL);
    /* TEST UNIT READY: CHECK CONDITION, NOT READY in the error register. */
    packet(tur, 0, false);
    g_assert_cmphex(wait_not_busy(1), ==, 0x41);
    g_assert_cmphex(inb(0x171), ==, 0x20);
    g_assert_cmpint(gsi_level[15], ==, 1);
    g_assert_cmphex(inb(0x177), ==, 0x41);
    g_assert_cmpint(gsi_level[15], ==, 0);     /* the status read acknowledged it */
    /* REQUEST SENSE: key 2, ASC 0x3a (medium not present). */
    packet(sense, 0xfffe, false);
    g_assert_cmpuint(atapi_read(buf, sizeof(buf), &blocks), ==, 18);
    g_assert_cmphex(buf[0], ==, 0xf0);
    g_assert_cmphex(buf[2], ==, 0x02);
    g_assert_cmphex(buf[12], ==, 0x3a);
    packet(read10, 0xfffe, false);
    g_assert_cmphex(wait_not_busy(1), ==, 0x41);
    g_assert_cmphex(inb(0x171), ==, 0x20);
    {
        /* A medium comes (blockdev-change-medium): the next command sees
         * "no medium" once, then UNIT ATTENTION, which stays until REQUEST
         * SENSE reads it (MEDIUM MAY HAVE CHANGED); then the drive is ready. */
        g_autoptr(GError) err = NULL;
        g_autofree char *iso = make_image("cd.iso", CD_SIZE, 4);
        struct bdrv *bs = bdrv_open(iso, "raw", NULL, 0, &err);

        g_assert_no_error(err);
        blk_insert_bs(blks[1], bs);
        bdrv_unref(bs);
        ide_cd_medium_changed(blks[1], true);
        packet(tur, 0, false);
        g_assert_cmphex(wait_not_busy(1), ==, 0x41);
        g_assert_cmphex(inb(0x171), ==, 0x20);
        packet(tur, 0, false);
        g_assert_cmphex(wait_not_busy(1), ==, 0x41);
        g_assert_cmphex(inb(0x171), ==, 0x60);
        packet(tur, 0, false);
        g_assert_cmphex(wait_not_busy(1), ==, 0x01);
        g_assert_cmphex(inb(0x171), ==, 0x60);
        packet(sense, 0xfffe, false);
        g_assert_cmpuint(atapi_read(buf, sizeof(buf), &blocks), ==, 18);
        g_assert_cmphex(buf[2], ==, 0x06);
        g_assert_cmphex(buf[12], ==, 0x28);
        packet(tur, 0, false);
        g_assert_cmphex(wait_not_busy(1), ==, 0x50);
    }
    {
        /* The guest locks the tray: START STOP UNIT cannot eject, and an
         * eject from the host comes as GET EVENT STATUS NOTIFICATION's
         * eject request (media class: event 1, medium present). */
        static const uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
        static const uint8_t eject[12] = { 0x1b, 0, 0, 0, 2 };
        static const uint8_t gesn[12] = { 0x4a, 1, 0, 0, 1 << 4, 0, 0, 0, 8 };

        /* First the new medium of the change above. */
        packet(gesn, 0xfffe, false);
        g_assert_cmpuint(atapi_read(buf, sizeof(buf), &blocks), ==, 8);
        g_assert_cmphex(buf[4], ==, 0x02);
        packet(lock, 0, false);
        g_assert_cmphex(wait_not_busy(1), ==, 0x50);
        packet(eject, 0, false);
        g_assert_cmphex(wait_not_busy(1), ==, 0x41);
        g_assert_cmphex(inb(0x171), ==, 0x20);
        ide_cd_eject_request(blks[1]);
        packet(gesn, 0xfffe, false);
        g_assert_cmpuint(atapi_read(buf, sizeof(buf), &blocks), ==, 8);
        g_assert_cmphex(buf[2], ==, 0x04);
        g_assert_cmphex(buf[4], ==, 0x01);
        g_assert_cmphex(buf[5], ==, 0x02);
        packet(gesn, 0xfffe, false);
        g_assert_cmpuint(atapi_read(buf, sizeof(buf), &blocks), ==, 8);
        g_assert_cmphex(buf[4], ==, 0x00);
    }
    teardown();
}

static void realize_fails(const char *opts, const char *msg)
{
    g_autoptr(GError) err = NULL;
    struct dev_config *cfg = dev_config_parse(opts, &err);

    g_assert_no_error(err);
    g_assert_cmpint(cfg->type->realize(NULL, cfg, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
    dev_config_free(cfg);
}

/* -device ide-hd/ide-cd: where they go, QEMU's messages, the boot path. */
static void test_device(void)
{
    g_autofree char *order = NULL;
    size_t len;

    setup(NULL);
    backend("x", NULL, false);
    backend("y", NULL, false);
    /* No bus=: ide.1, as QEMU's qdev picks the last IDE bus; its master is
     * taken, so the slave. */
    realize("ide-cd,drive=x");
    outb(0x176, 0xb0);
    g_assert_cmphex(inb(0x174), ==, 0x14);
    g_assert_cmphex(inb(0x175), ==, 0xeb);
    realize_fails("ide-cd,drive=y", "IDE unit 1 is in use");
    realize_fails("ide-cd,drive=y,bus=ide.0,unit=0", "IDE unit 0 is in use");
    realize_fails("ide-cd,drive=y,bus=ide.0,unit=5",
                  "Can't create IDE unit 5, bus supports only 2 units");
    realize_fails("ide-cd,drive=y,bus=ide.2", "Bus 'ide.2' not found");
    realize_fails("ide-hd,drive=hd,bus=ide.0,unit=1",
                  "Drive 'hd' is already in use by another device");
    realize_fails("ide-cd,drive=nope,bus=ide.0,unit=1",
                  "Property 'ide-cd.drive' can't find value 'nope'");
    realize_fails("ide-hd,bus=ide.0,unit=1", "No drive specified");
    realize_fails("ide-hd,drive=y,bus=ide.0,unit=1", "Device needs media, but drive is empty");
    {
        g_autofree char *ro = make_image("ro.raw", 1 << 20, 0);

        backend("ro", ro, false);
        realize_fails("ide-hd,drive=ro,bus=ide.0,unit=1", "Block node is read-only");
        g_unlink(ro);
    }
    /* bootindex=: the path SeaBIOS matches, "drive@CHANNEL/disk@UNIT". */
    boot_order_clear();
    realize("ide-cd,drive=y,bus=ide.0,unit=1,bootindex=3");
    order = boot_order_file(false, &len);
    g_assert_cmpstr(order, ==, "/pci@i0cf8/ide@1,1/drive@0/disk@1");
    g_assert_cmpuint(len, ==, strlen(order) + 1);
    boot_order_clear();
    teardown();
}

/* Random register traffic from a fixed seed (commands, PRD tables over
 * RAM and outside it, packets): the host survives it and, after SRST and a
 * settled bus master, both drives answer IDENTIFY again. */
static void test_random_traffic(void)
{
    static const uint8_t cmds[] = {
        0x20, 0x24, 0x25, 0x27, 0x29, 0x30, 0x34, 0x35, 0x39, 0x40, 0x42, 0x70, 0x90, 0x91,
        0xa0, 0xa1, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xe0, 0xe5, 0xe7, 0xea, 0xec, 0xef, 0xf8,
        0x08, 0x00, 0xff,
    };
    g_autofree char *iso = make_image("cd.iso", CD_SIZE, CD_SIZE / 512);
    GRand *r = g_rand_new_with_seed(13);
    uint8_t id[512];

    setup(iso);
    for (unsigned i = 0; i < 200000; i++) {
        unsigned ch = g_rand_int_range(r, 0, 2), what = g_rand_int_range(r, 0, 16);
        uint16_t b = cmd_base[ch];

        switch (what) {
        case 0:
            outb(b + 7, cmds[g_rand_int_range(r, 0, G_N_ELEMENTS(cmds))]);
            break;
        case 1:
        case 2:
            outb(b + g_rand_int_range(r, 1, 7), g_rand_int_range(r, 0, 256));
            break;
        case 3:
            outb(ctl_port[ch], g_rand_int_range(r, 0, 256) & ~0x04);
            break;
        case 4:
            outb(bmdma_base + 8 * ch, g_rand_int_range(r, 0, 256));
            break;
        case 5:
            outl(bmdma_base + 8 * ch + 4, g_rand_boolean(r) ? 0x1000 : g_rand_int(r));
            break;
        case 6:
            prd(g_rand_int_range(r, 0, 4), g_rand_boolean(r) ? (uint32_t)g_rand_int_range(r, 0, RAM_SIZE)
                                                             : g_rand_int(r),
                g_rand_int(r), g_rand_boolean(r));
            break;
        case 7:
            outb(bmdma_base + 8 * ch + 2, g_rand_int_range(r, 0, 256));
            break;
        case 8:
        case 9:
            outw(b, g_rand_int_range(r, 0, 65536));
            break;
        case 10:
            outl(b, g_rand_int(r));
            break;
        case 11:
            g_main_context_iteration(NULL, FALSE);
            break;
        default:
            (void)(g_rand_boolean(r) ? inw(b) : inb(b + g_rand_int_range(r, 1, 8)));
            break;
        }
    }
    g_rand_free(r);
    for (unsigned ch = 0; ch < 2; ch++) {
        outb(bmdma_base + 8 * ch, 0);
        outb(ctl_port[ch], 0x06);
        outb(ctl_port[ch], 0x02);
    }
    identify(0, 0, 0xec, id);
    g_assert_cmphex(word(id, 0), ==, 0x0040);
    identify(1, 0, 0xa1, id);
    g_assert_cmphex(word(id, 0), ==, 0x85c0);
    teardown();
}

static void test_geometry(void)
{
    struct ide_geometry g;

    setup(NULL);
    g_assert_true(ide_get_geometry(0, &g));
    g_assert_cmpuint(g.cylinders, ==, 32);
    g_assert_cmpuint(g.heads, ==, 16);
    g_assert_cmpuint(g.sectors, ==, 63);
    g_assert_cmpint(g.translation, ==, IDE_TRANS_NONE);
    g_assert_false(ide_get_geometry(1, &g));   /* no drive */
    g_assert_false(ide_get_geometry(2, &g));   /* a CD-ROM */
    teardown();
}

/* While a command holds the task file (BSY or DRQ), writes to it other
 * than to the command register are dropped, as QEMU's: the other drive
 * cannot be selected and started on the channel's transfer state. */
static void test_busy_task_file(void)
{
    g_autofree char *disk2 = make_image("disk2.raw", DISK_SIZE, DISK_SIZE / 512);

    setup(NULL);
    backend("hd2", disk2, true);
    realize("ide-hd,drive=hd2,bus=ide.0,unit=1");
    outb(0x1f6, 0xe0);                  /* master, LBA */
    outb(0x1f2, 1);
    outb(0x1f3, 7);
    outb(0x1f4, 0);
    outb(0x1f5, 0);
    outb(0x1f7, 0x30);                  /* WRITE SECTORS: DRQ, waiting for data */
    g_assert_cmphex(inb(0x3f6) & 0x88, ==, 0x08);
    outb(0x1f6, 0xf0);                  /* the slave: dropped */
    outb(0x1f3, 0x55);
    g_assert_cmphex(inb(0x1f6), ==, 0xe0);
    g_assert_cmphex(inb(0x1f3), ==, 7);
    for (unsigned i = 0; i < 256; i++) {
        outw(0x1f0, 0);
    }
    g_assert_cmphex(wait_not_busy(0) & 0x89, ==, 0);
    outb(0x1f6, 0xf0);                  /* done: taken again */
    g_assert_cmphex(inb(0x1f6), ==, 0xf0);
    teardown();
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-ide-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/ide/signature", test_signature);
    g_test_add_func("/ide/busy-task-file", test_busy_task_file);
    g_test_add_func("/ide/identify", test_identify);
    g_test_add_func("/ide/pio", test_pio_read_write);
    g_test_add_func("/ide/lba48", test_lba48);
    g_test_add_func("/ide/dma", test_dma);
    g_test_add_func("/ide/dma-bad-prd", test_dma_bad_prd);
    g_test_add_func("/ide/atapi", test_atapi);
    g_test_add_func("/ide/atapi-no-medium", test_atapi_no_medium);
    g_test_add_func("/ide/geometry", test_geometry);
    g_test_add_func("/ide/device", test_device);
    g_test_add_func("/ide/random-traffic", test_random_traffic);
    ret = g_test_run();
    for (const char *n = NULL, *const names[] = { "disk.raw", "big.raw", "cd.iso", NULL },
                     *const *p = names; (n = *p); p++) {
        g_autofree char *path = g_build_filename(tmpdir, n, NULL);

        g_unlink(path);
    }
    g_rmdir(tmpdir);
    return ret;
}
