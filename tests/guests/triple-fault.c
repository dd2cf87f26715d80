/*
 * Triple-faults on purpose: an empty IDT, then an invalid opcode.  #UD
 * finds no gate and becomes #GP, which becomes #DF, which shuts the CPU
 * down (SDM vol. 3, 6.15, interrupt 8).  hyvm must report it with the
 * registers and reset the machine, or exit 0 with -no-reboot, as QEMU.
 */
#include "guest.h"

int main(const struct mb_info *mbi)
{
    static const struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) empty_idt = { 0, 0 };

    printf("triple-fault: faulting now\n");
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt));
    printf("triple-fault: still running after ud2\n");
    return 0x33;
}
