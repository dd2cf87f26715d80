/*
 * PCI discovery and pci-testdev (-device pci-testdev): the bridges of
 * -M pc at 00.0 and 01.0 as configuration mechanism #1 shows them, the
 * test device found by a bus scan with the BARs the firmware assigned,
 * BAR sizing, moving BAR0, and the device's test protocol over both BARs
 * (the way kvm-unit-tests drives it).  Exit code 0 when every check
 * passes, else the number of the first one that failed.
 */
#include "guest.h"

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc

static unsigned checks;

#define CHECK(cond)                                                        \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            printf("pci: check %u failed: %s (line %d)\n", checks, #cond, \
                   __LINE__);                                              \
            return checks;                                                 \
        }                                                                  \
    } while (0)

static uint32_t cfg_rd32(unsigned devfn, unsigned reg)
{
    outl(CFG_ADDR, 0x80000000u | devfn << 8 | reg);
    return inl(CFG_DATA);
}

static uint8_t cfg_rd8(unsigned devfn, unsigned reg)
{
    outl(CFG_ADDR, 0x80000000u | devfn << 8 | reg);
    return inb(CFG_DATA + (reg & 3));
}

static void cfg_wr32(unsigned devfn, unsigned reg, uint32_t v)
{
    outl(CFG_ADDR, 0x80000000u | devfn << 8 | reg);
    outl(CFG_DATA, v);
}

/* Runs test n of one BAR; returns the count after 16 writes, or -1. */
static int run_test(volatile uint8_t *mem, uint16_t io, unsigned n, char *name, size_t len)
{
    uint32_t off, data, count;
    unsigned i;

    if (mem) {
        mem[0] = n;
        off = *(volatile uint32_t *)(mem + 4);
        data = *(volatile uint32_t *)(mem + 8);
        for (i = 0; i + 1 < len && mem[16 + i]; i++) {
            name[i] = mem[16 + i];
        }
        name[i] = 0;
        if (*(volatile uint32_t *)(mem + 12) != 0 || mem[1] != 1) {
            return -1;
        }
        for (i = 0; i < 16; i++) {
            mem[off] = data;
        }
        count = *(volatile uint32_t *)(mem + 12);
    } else {
        outb(io, n);
        off = inl(io + 4);
        data = inl(io + 8);
        for (i = 0; i + 1 < len && inb(io + 16 + i); i++) {
            name[i] = inb(io + 16 + i);
        }
        name[i] = 0;
        if (inl(io + 12) != 0 || inb(io + 1) != 1) {
            return -1;
        }
        for (i = 0; i < 16; i++) {
            outb(io + off, data);
        }
        count = inl(io + 12);
    }
    return count;
}

int main(const struct mb_info *mbi)
{
    static const char *const names[] = {
        "mmio-no-eventfd", "mmio-wildcard-eventfd", "mmio-datamatch-eventfd",
        "portio-no-eventfd", "portio-wildcard-eventfd", "portio-datamatch-eventfd",
    };
    unsigned devfn;
    uint32_t bar0, bar1;
    volatile uint8_t *mem;
    uint16_t io;
    char name[40];

    /* The bridges: i440FX at 00.0, PIIX3 at 01.0 (multi-function). */
    CHECK(cfg_rd32(0x00, 0x00) == 0x12378086);
    CHECK(cfg_rd32(0x00, 0x08) >> 16 == 0x0600);
    CHECK(cfg_rd32(0x08, 0x00) == 0x70008086);
    CHECK(cfg_rd32(0x08, 0x08) >> 16 == 0x0601);
    CHECK(cfg_rd8(0x08, 0x0e) == 0x80);
    /* The firmware's PIRQ routes: A, B to IRQ 10; C, D to IRQ 11. */
    CHECK(cfg_rd32(0x08, 0x60) == 0x0b0b0a0a);
    /* No function behind a bad bus number or with the enable bit clear. */
    outl(CFG_ADDR, 0x80010000);
    CHECK(inl(CFG_DATA) == 0xffffffff);
    outl(CFG_ADDR, 0x00000000);
    CHECK(inl(CFG_DATA) == 0xffffffff);

    /* Find the test device by scanning as a guest does. */
    for (devfn = 0; devfn < 256; devfn++) {
        if (cfg_rd32(devfn, 0) == 0x00051b36) {
            break;
        }
    }
    CHECK(devfn == 0x10);                        /* 02.0: the first free slot */
    CHECK(cfg_rd32(devfn, 0x08) == 0x00ff0000);
    CHECK((cfg_rd32(devfn, 0x04) & 3) == 3);     /* I/O and memory decoding on */
    bar0 = cfg_rd32(devfn, 0x10);
    bar1 = cfg_rd32(devfn, 0x14);
    printf("pci: pci-testdev at %02x.%x, BAR0 %x, BAR1 %x\n", devfn >> 3, devfn & 7,
           bar0, bar1);
    CHECK(bar0 == 0xfebff000);
    CHECK(bar1 == 0xc001);

    /* Sizing: all ones reads back the size mask and the type bits. */
    cfg_wr32(devfn, 0x10, 0xffffffff);
    CHECK(cfg_rd32(devfn, 0x10) == 0xfffff000);
    cfg_wr32(devfn, 0x10, bar0);
    cfg_wr32(devfn, 0x14, 0xffffffff);
    CHECK(cfg_rd32(devfn, 0x14) == 0xffffff01);
    cfg_wr32(devfn, 0x14, bar1);

    /* The protocol, over memory then ports. */
    mem = (volatile uint8_t *)(uintptr_t)bar0;
    io = bar1 & ~3u;
    for (unsigned n = 0; n < 3; n++) {
        int count = run_test(mem, 0, n, name, sizeof(name));

        CHECK(count == (n == 0 ? 16 : 0));
        CHECK(strncmp(name, names[n], sizeof(name)) == 0);
        count = run_test(0, io, n, name, sizeof(name));
        CHECK(count == (n == 0 ? 16 : 0));
        CHECK(strncmp(name, names[3 + n], sizeof(name)) == 0);
    }
    outb(io, 3);
    CHECK(inl(io) == 0);

    /* Moving BAR0 moves the registers; the old address goes quiet. */
    cfg_wr32(devfn, 0x10, 0xfe000000);
    mem = (volatile uint8_t *)0xfe000000;
    mem[0] = 0;
    CHECK(mem[1] == 1);
    CHECK(*(volatile uint8_t *)(uintptr_t)(bar0 + 1) == 0);
    /* Memory decoding off: the new address goes quiet too. */
    cfg_wr32(devfn, 0x04, 0x0001);
    CHECK(mem[1] == 0);
    CHECK(inb(io + 1) == 1);

    printf("pci: all %u checks passed\n", checks);
    return 0;
}
