/*
 * -initrd as the Multiboot module list (spec 0.6.96, 3.3, flags bit 3): the
 * one module must hold exactly the bytes test-guests wrote into the file
 * (initrd_byte(), the same function there) and take the guest's writes,
 * which the VMM must keep from the file (it maps the file's pages
 * copy-on-write); test-guests then checks the file.  -append "size=N", and
 * "reset=1" to reset the machine (-M pc, port 0x92) after writing once: the
 * reset loads the module again, so the second boot must read the file's
 * bytes, not the first boot's.
 *
 * Exit codes: 0 ok, 1 no size=, 2 no module, 3 wrong size, 4 a byte differs
 * from the file, 5 a write did not take, 6 the reset did not happen.
 */
#include "guest.h"

/* A word in low RAM, outside the image, the module and the information
 * block, that survives the reset: which boot this is. */
#define BOOT_MARK ((volatile uint32_t *)0x90000)
#define BOOT_MARK_MAGIC 0x1d4b0071u

struct mb_mod {
    uint32_t start, end, string, reserved;
};

static uint8_t initrd_byte(uint32_t off)
{
    return (uint8_t)(off * 13 + (off >> 12) * 7 + 1);
}

/* What the guest writes over it. */
static uint8_t written_byte(uint32_t off)
{
    return (uint8_t)(initrd_byte(off) ^ 0xff);
}

int main(const struct mb_info *mbi)
{
    const struct mb_mod *mod;
    volatile uint8_t *p;
    uint32_t size, len, reset = 0;
    unsigned boot = *BOOT_MARK == BOOT_MARK_MAGIC ? 2 : 1;
    char buf[16];

    if (!mb_cmdline_arg(mbi, "size", buf, sizeof(buf)) || parse_uint(buf, &size) < 0) {
        printf("initrd: no size=N on the command line\n");
        return 1;
    }
    if (mb_cmdline_arg(mbi, "reset", buf, sizeof(buf))) {
        parse_uint(buf, &reset);
    }
    if (!(mbi->flags & MB_INFO_MODS) || mbi->mods_count != 1) {
        printf("initrd: %u modules (flags 0x%x), expected 1\n", mbi->mods_count, mbi->flags);
        return 2;
    }
    mod = (const struct mb_mod *)(uintptr_t)mbi->mods_addr;
    len = mod->end - mod->start;
    printf("initrd: module at 0x%x, %u bytes\n", mod->start, len);
    if (len != size) {
        printf("initrd: the module has %u bytes, the file %u\n", len, size);
        return 3;
    }
    p = (volatile uint8_t *)(uintptr_t)mod->start;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != initrd_byte(i)) {
            printf("initrd: byte %u is 0x%x, the file's is 0x%x (boot %u)\n", i, p[i],
                   initrd_byte(i), boot);
            return 4;
        }
    }
    printf("initrd: %u bytes match the file on boot %u\n", len, boot);
    for (uint32_t i = 0; i < len; i++) {
        p[i] = written_byte(i);
    }
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != written_byte(i)) {
            printf("initrd: the write of byte %u did not take\n", i);
            return 5;
        }
    }
    printf("initrd: wrote all %u bytes\n", len);
    if (reset && boot == 1) {
        *BOOT_MARK = BOOT_MARK_MAGIC;
        printf("initrd: resetting\n");
        /* System control port A: bit 0's rising edge resets the machine. */
        outb(0x92, inb(0x92) & ~1);
        outb(0x92, inb(0x92) | 1);
        for (volatile uint32_t i = 0; i < 100000000; i++) {
        }
        printf("initrd: still running after the reset\n");
        return 6;
    }
    *BOOT_MARK = 0;
    return 0;
}
