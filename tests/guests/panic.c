/*
 * pvpanic: the guest reads the events the device supports, then reports
 * a panic (bit 0, PVPANIC_PANICKED) on the ISA port.  QEMU's spec:
 * docs/specs/pvpanic.rst (port 0x505).
 */
#include "guest.h"

#define PVPANIC_PORT 0x505

int main(const struct mb_info *mbi)
{
    uint8_t events = inb(PVPANIC_PORT);

    printf("panic: device offers events 0x%x\n", events);
    outb(PVPANIC_PORT, 1);
    printf("panic: still running after the panic\n");
    return 0;
}
