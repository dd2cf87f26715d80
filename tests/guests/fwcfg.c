/*
 * fw_cfg as SeaBIOS reads it (QEMU's docs/specs/fw_cfg.rst, SeaBIOS's
 * src/fw/paravirt.c): the signature and ID through the byte port, then
 * everything else through the DMA interface: the file directory, and for
 * each file its size and an FNV-1a hash of its bytes (small files in hex).
 * The same ELF runs under qemu-system-x86_64 -M pc -kernel, so the two
 * lists can be compared line by line.  Then the DMA errors a guest can
 * cause: a write (every item is read-only) and a target outside RAM.
 *
 *   -append "dump=NAME": NAME's bytes in hex, whatever its size (first 512).
 *   -append "cmos-boot=1": the CMOS boot order bytes (0x3d, 0x38) only,
 *   then a reset through port 0x92 and the same on the second boot, which
 *   a mark in RAM tells apart (-boot once= holds for the first boot only).
 */
#include "guest.h"

#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA_HI 0x514
#define FW_CFG_DMA_LO 0x518

#define CTL_ERROR 0x01
#define CTL_READ 0x02
#define CTL_SKIP 0x04
#define CTL_SELECT 0x08
#define CTL_WRITE 0x10

struct dma_access {
    uint32_t control, length;
    uint64_t address;
} __attribute__((packed, aligned(16)));

static volatile struct dma_access req;
static uint8_t buf[4096];

static uint32_t bswap32(uint32_t v)
{
    return __builtin_bswap32(v);
}

/* One request; returns the control word the device left (host order). */
static uint32_t dma(uint32_t control, void *p, uint32_t len)
{
    req.control = bswap32(control);
    req.length = bswap32(len);
    req.address = __builtin_bswap64((uint32_t)p);
    outl(FW_CFG_DMA_HI, 0);
    outl(FW_CFG_DMA_LO, bswap32((uint32_t)&req));
    return bswap32(req.control);
}

static uint32_t dma_select_read(uint16_t key, void *p, uint32_t len)
{
    return dma((uint32_t)key << 16 | CTL_SELECT | CTL_READ, p, len);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void hex(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

struct entry {
    uint32_t size;
    uint16_t key;
    char name[56];
};

static struct entry dir[64];

#define BOOT_MARK ((volatile uint32_t *)0x90000)
#define BOOT_MARK_MAGIC 0xf3c0b007u

static uint8_t cmos_read(uint8_t index)
{
    outb(0x70, index);
    return inb(0x71);
}

static int cmos_boot(void)
{
    unsigned boot = *BOOT_MARK == BOOT_MARK_MAGIC ? 2 : 1;

    printf("fwcfg: boot %u cmos 0x3d=0x%02x 0x38=0x%02x\n", boot, cmos_read(0x3d),
           cmos_read(0x38));
    if (boot == 2) {
        *BOOT_MARK = 0;
        return 0;
    }
    *BOOT_MARK = BOOT_MARK_MAGIC;
    outb(0x92, inb(0x92) & ~1);
    outb(0x92, inb(0x92) | 1);
    for (volatile uint32_t i = 0; i < 100000000; i++) {
    }
    printf("fwcfg: still running after the reset\n");
    return 1;
}

int main(const struct mb_info *mbi)
{
    char want[56], sig[9], flag[4];
    const char *dump = mb_cmdline_arg(mbi, "dump", want, sizeof(want));
    uint32_t id, count, st;
    uint32_t w;

    if (mb_cmdline_arg(mbi, "cmos-boot", flag, sizeof(flag))) {
        return cmos_boot();
    }

    outw(FW_CFG_SEL, 0);
    for (unsigned i = 0; i < 4; i++) {
        sig[i] = inb(FW_CFG_DATA);
    }
    sig[4] = 0;
    outw(FW_CFG_SEL, 1);
    id = inb(FW_CFG_DATA);
    id |= inb(FW_CFG_DATA) << 8;
    printf("fwcfg: signature %s id 0x%x\n", sig, id);
    if (!(id & 2)) {
        printf("fwcfg: no DMA\n");
        return 1;
    }
    w = inl(FW_CFG_DMA_HI);
    memcpy(sig, &w, 4);
    w = inl(FW_CFG_DMA_LO);
    memcpy(sig + 4, &w, 4);
    sig[8] = 0;
    printf("fwcfg: dma register reads %s\n", sig);

    st = dma_select_read(0x19, buf, 4);
    count = be32(buf);
    printf("fwcfg: %u files (status 0x%x)\n", count, st);
    for (uint32_t i = 0; i < count && i < 64; i++) {
        uint8_t e[64];

        dma(CTL_READ, e, 64);
        dir[i].size = be32(e);
        dir[i].key = e[4] << 8 | e[5];
        memcpy(dir[i].name, e + 8, 56);
        dir[i].name[55] = 0;
    }
    for (uint32_t i = 0; i < count && i < 64; i++) {
        uint32_t h = 2166136261u, left = dir[i].size;
        int small = left <= 40;

        dma((uint32_t)dir[i].key << 16 | CTL_SELECT, 0, 0);
        while (left) {
            uint32_t n = left < sizeof(buf) ? left : sizeof(buf);

            st = dma(CTL_READ, buf, n);
            if (st) {
                printf("fwcfg: read of %s failed 0x%x\n", dir[i].name, st);
                return 1;
            }
            for (uint32_t k = 0; k < n; k++) {
                h = (h ^ buf[k]) * 16777619u;
            }
            left -= n;
        }
        printf("file %s size %u fnv %08x", dir[i].name, dir[i].size, h);
        if (small && dir[i].size) {
            printf(" : ");
            hex(buf, dir[i].size);
        }
        printf("\n");
        if (dump && !strncmp(dir[i].name, dump, 56)) {
            uint32_t n = dir[i].size < 512 ? dir[i].size : 512;

            dma_select_read(dir[i].key, buf, n);
            printf("dump %s: ", dump);
            hex(buf, n);
            printf("\n");
        }
    }
    /* The guest's mistakes: the error bit, and the machine goes on. */
    st = dma(0x19 << 16 | CTL_SELECT | CTL_WRITE, buf, 4);
    printf("fwcfg: write status 0x%x\n", st);
    st = dma_select_read(0x19, (void *)0xfffff000u, 8);
    printf("fwcfg: read outside RAM status 0x%x\n", st);
    /* A skip, then a read that goes on from there. */
    dma((uint32_t)0 << 16 | CTL_SELECT | CTL_SKIP, 0, 2);
    dma(CTL_READ, buf, 2);
    printf("fwcfg: after skip %c%c\n", buf[0], buf[1]);
    printf("fwcfg: done\n");
    return 0;
}
