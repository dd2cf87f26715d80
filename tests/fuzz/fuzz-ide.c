/*
 * Fuzz target: the PIIX3 IDE controller (hw/ide-*.c) under register
 * traffic a guest controls: task file writes, commands, ATAPI packets
 * through the data port, the bus master's command, status and PRD table
 * address, and PRD tables in guest RAM that point anywhere.
 *
 * The input is a run of 4-byte operations:
 *   0      what: bits 0-3 the operation (below), bit 4 the secondary channel
 *   1      a register offset or PRD slot
 *   2-3    a value (le16)
 * operations: 0-1 a task file register write (offset & 7, 7 the command),
 * 2 device control (SRST only through 3), 3 SRST and release, 4 a 16-bit
 * data write, 5 a 32-bit data write, 6 a data read, 7 a register read, 8
 * the bus master command, 9 its status, 10 the PRD table address (in RAM
 * at 0x1000 + value, or the value shifted past RAM), 11 a PRD entry at
 * 0x1000 + 8 * slot (address in RAM or not, byte count, end bit), 12 main
 * loop iterations (block completions), 13 a PACKET with the next 12 bytes
 * of the input as its command, others a status read.
 * The drives: a 1 MiB raw disk as primary master, a 256 KiB image as
 * secondary master CD-ROM.  Each input starts from a system reset.
 *
 * A check that fails aborts, as a crash does: after every input, with the
 * bus masters stopped and SRST on both channels, both drives answer
 * IDENTIFY (PACKET) DEVICE with their data and leave DRQ.
 *
 * Threads: one; block completions run on the main loop the target iterates.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "block/block-backend.h"
#include "block/block.h"
#include "hw/device.h"
#include "hw/ide.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "system/memory.h"
#include "tests/unit/io-access.h"
#include "tests/fuzz/fuzz.h"

const char fuzz_target_name[] = "ide";

#define RAM_SIZE    (1u << 20)
#define DISK_SIZE   (1u << 20)
#define CD_SIZE     (256u << 10)

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz-ide: check failed: %s (%s:%d)\n", #cond,        \
                    __FILE__, __LINE__);                                          \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* Seeds: IDENTIFY, a PIO read, a DMA read over a good PRD table, an
 * ATAPI INQUIRY and READ(10). */
const struct fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x01\x06\xe0\x00\x01\x07\xec\x00\x06\x00\x00\x00\x06\x00\x00\x00"),
    FUZZ_SEED("\x01\x06\xe0\x00\x01\x02\x02\x00\x01\x03\x05\x00\x01\x07\x20\x00"
              "\x0c\x00\x00\x00\x06\x00\x00\x00\x06\x00\x00\x00"),
    FUZZ_SEED("\x0b\x00\x00\x20\x0b\x01\x00\x82\x0a\x00\x00\x00\x01\x06\xe0\x00"
              "\x01\x02\x04\x00\x01\x07\xc8\x00\x08\x00\x09\x00\x0c\x00\x00\x00"
              "\x09\x00\x06\x00"),
    FUZZ_SEED("\x11\x06\xa0\x00\x11\x04\xfe\x00\x11\x05\xff\x00\x1d\x00\x00\x00"
              "\x12\x00\x00\x00\x60\x00\x00\x00\x00\x00\x00\x00\x16\x00\x00\x00"),
    FUZZ_SEED("\x11\x06\xa0\x00\x11\x04\x00\x00\x11\x05\x08\x00\x1d\x00\x00\x00"
              "\x28\x00\x00\x00\x00\x03\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00"
              "\x16\x00\x00\x00\x16\x00\x00\x00"),
    { NULL, 0 },
};

static const uint16_t cmd_base[2] = { 0x1f0, 0x170 };
static const uint16_t ctl_port[2] = { 0x3f6, 0x376 };
static uint16_t bmdma;
static bool ready;

static void no_irq(void *opaque, unsigned gsi, int level)
{
}

static void pump(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

static struct blk *image_backend(const char *name, unsigned size)
{
    g_autofree char *path = g_strdup_printf("%s/hyvm-fuzz-ide-%d-%s", g_get_tmp_dir(),
                                            (int)getpid(), name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    struct bdrv *bs;
    struct blk *blk;

    FUZZ_CHECK(fd >= 0 && ftruncate(fd, size) == 0);
    close(fd);
    bs = bdrv_open(path, "raw", NULL, BDRV_O_RDWR, NULL);
    unlink(path);
    FUZZ_CHECK(bs);
    blk = blk_new(bs, BLK_PERM_WRITE);
    bdrv_unref(bs);
    FUZZ_CHECK(blk_set_name(blk, name, NULL));
    return blk;
}

static void realize(const char *opts)
{
    struct dev_config *cfg = dev_config_parse(opts, NULL);

    FUZZ_CHECK(cfg && cfg->type->realize(NULL, cfg, NULL) == 0);
    dev_config_free(cfg);
}

static void setup(void)
{
    struct pci_device *d;

    irq_set_route(no_irq, NULL);
    FUZZ_CHECK(ram_add_region(0, RAM_SIZE, NULL) == 0);
    FUZZ_CHECK(pci_host_create_pc(NULL, NULL) == 0);
    FUZZ_CHECK(ide_piix_create(NULL, NULL) == 0);
    image_backend("hd", DISK_SIZE);
    image_backend("cd", CD_SIZE);
    realize("ide-hd,drive=hd,bus=ide.0,unit=0");
    realize("ide-cd,drive=cd,bus=ide.1,unit=0");
    pci_firmware_setup();
    d = pci_find_device(PCI_DEVFN(1, 1));
    FUZZ_CHECK(d);
    bmdma = pci_config_read(d, 0x20, 4) & ~3u;
    ready = true;
}

/* Both channels quiet: bus masters stopped, SRST, requests completed. */
static void settle(void)
{
    for (unsigned ch = 0; ch < 2; ch++) {
        outb(bmdma + 8 * ch, 0);
        outb(ctl_port[ch], 0x06);
        outb(ctl_port[ch], 0x02);
    }
}

/* The drive at (ch, master) answers IDENTIFY with its first word. */
static void check_identify(unsigned ch, uint8_t cmd, uint16_t word0)
{
    uint16_t w;

    outb(cmd_base[ch] + 6, 0xa0);
    outb(cmd_base[ch] + 7, cmd);
    FUZZ_CHECK((inb(ctl_port[ch]) & 0x89) == 0x08);
    io_pio(cmd_base[ch], &w, 2, false);
    FUZZ_CHECK(w == word0);
    for (unsigned i = 1; i < 256; i++) {
        io_pio(cmd_base[ch], &w, 2, false);
    }
    FUZZ_CHECK(!(inb(cmd_base[ch] + 7) & 0x08));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        setup();
    }
    pci_bus_reset();
    for (size_t i = 0; i + 4 <= size; i += 4) {
        const uint8_t *op = data + i;
        unsigned ch = (op[0] >> 4) & 1, reg = op[1];
        uint16_t val = op[2] | op[3] << 8, b = cmd_base[ch];

        switch (op[0] & 0x0f) {
        case 0:
        case 1:
            outb(b + (reg & 7 ? reg & 7 : 1), val);
            break;
        case 2:
            outb(ctl_port[ch], val & ~0x04);
            break;
        case 3:
            outb(ctl_port[ch], 0x04 | (val & 0x02));
            outb(ctl_port[ch], val & 0x02);
            break;
        case 4:
            outw(b, val);
            break;
        case 5:
            outl(b, val | (uint32_t)reg << 16);
            break;
        case 6: {
            uint16_t w;

            io_pio(b, &w, 2, false);
            break;
        }
        case 7:
            inb(b + (reg & 7));
            break;
        case 8:
            outb(bmdma + 8 * ch, val);
            break;
        case 9:
            outb(bmdma + 8 * ch + 2, val);
            break;
        case 10:
            outl(bmdma + 8 * ch + 4, reg & 1 ? (uint32_t)val << 16 : 0x1000u + val);
            break;
        case 11: {
            uint8_t prd[8];
            uint32_t addr = reg & 0x80 ? (uint32_t)val << 12 : 0x10000u + (val & 0x7ff) * 16;
            uint32_t cnt = (uint32_t)(reg & 0x3f) << 10 | (reg & 0x40 ? 0x80000000u : 0);

            memcpy(prd, &addr, 4);
            memcpy(prd + 4, &cnt, 4);
            ram_write(0x1000 + 8 * (val >> 12), prd, sizeof(prd));
            break;
        }
        case 12:
            pump(reg & 15);
            break;
        case 13:
            outb(b + 7, 0xa0);
            for (unsigned k = 0; k < 12 && i + 4 + k + 1 < size; k += 2) {
                outw(b, data[i + 4 + k] | data[i + 5 + k] << 8);
            }
            i += 12;
            break;
        default:
            inb(b + 7);
            break;
        }
    }
    settle();
    check_identify(0, 0xec, 0x0040);
    check_identify(1, 0xa1, 0x85c0);
    return 0;
}
