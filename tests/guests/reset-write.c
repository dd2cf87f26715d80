/*
 * The write that resets the machine is the last instruction the guest
 * runs: the reset takes the CPU as that write completes (PIIX3 reset
 * control register 0xcf9, the keyboard controller's pulse-reset command
 * 0xfe, system control port A at 0x92).  SeaBIOS relies on it: its reboot
 * path writes 0xcf9 and has an INT3 right behind, which must never run.
 *
 * -append "via=cf9|kbc|92": boots 1 and 2 count themselves in a word of
 * low RAM, write the register, and at once tell isa-debug-exit they are
 * still running (exit 7); boot 3 clears the word and exits 0.  Boot 2
 * resets right after a reset, as SeaBIOS's reboot path does: that is when
 * a vCPU let run again too early met its next instruction.
 */
#include "guest.h"

/* Outside the image and the information block; a reset keeps RAM. */
#define BOOT_MARK ((volatile uint32_t *)0x90000)
#define BOOT_MARK_MAGIC 0x5e7b0070u

int main(const struct mb_info *mbi)
{
    char via[8];
    unsigned boot = (*BOOT_MARK & ~3u) == BOOT_MARK_MAGIC ? (*BOOT_MARK & 3) + 1 : 1;

    if (boot == 3) {
        *BOOT_MARK = 0;
        printf("reset-write: boot 3\n");
        return 0;
    }
    if (!mb_cmdline_arg(mbi, "via", via, sizeof(via))) {
        printf("reset-write: no via= on the command line\n");
        return 1;
    }
    *BOOT_MARK = BOOT_MARK_MAGIC | boot;
    if (boot == 1) {
        printf("reset-write: resetting through %s\n", via);
    }
    if (!strncmp(via, "cf9", 4)) {
        outb(0xcf9, 0x06);              /* SYS_RST | RST_CPU */
    } else if (!strncmp(via, "kbc", 4)) {
        outb(0x64, 0xfe);               /* pulse the reset line */
    } else {
        outb(0x92, inb(0x92) & ~1);
        outb(0x92, inb(0x92) | 1);      /* bit 0's rising edge */
    }
    exit(7);
}
