/*
 * System control port A (I/O port 0x92), the "fast A20" and fast reset
 * port of PS/2 and later PCs, as QEMU 7.2's -M pc has it: bit 1 drives the
 * A20 gate, and writing bit 0 as 1 where it was 0 resets the machine.  A
 * read returns the last value written, all bits kept, starting from 0
 * (firmware turns A20 on here before any guest sees it).  Only bit 0 is
 * cleared by a system reset, so the next 0-to-1 write resets again.
 *
 * A20 is not emulated (see hw/i8042.h): turning it off is logged once
 * under -d unimp and memory above 1 MiB keeps its addresses.
 *
 * Threads: the port handlers and port92_reset() run with the big lock held.
 */
#include <errno.h>

#include "hw/i8042.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"

#define PORT92_RESET    0x01
#define PORT92_A20      0x02

struct port92 {
    uint8_t value;
    bool a20_off_logged;
};

static struct port92 port92;

static uint64_t port92_read(void *opaque, uint64_t offset, unsigned size)
{
    struct port92 *p = opaque;

    return p->value;
}

static void port92_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct port92 *p = opaque;
    uint8_t old = p->value;

    p->value = value;
    if (!(value & PORT92_A20) && !p->a20_off_logged) {
        p->a20_off_logged = true;
        log_mask(LOG_UNIMP, "port92: A20 gate turned off; memory above 1 MiB does not wrap\n");
    }
    /* The reset is the bit's rising edge: rewriting 1 does nothing. */
    if ((value & PORT92_RESET) && !(old & PORT92_RESET)) {
        vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static const struct io_ops port92_ops = {
    .read = port92_read,
    .write = port92_write,
};

void port92_reset(void)
{
    port92.value &= ~PORT92_RESET;
}

int port92_create(GError **errp)
{
    if (io_register_pio(PORT92_PORT, 1, "port92", &port92_ops, &port92, errp) < 0) {
        return -EBUSY;
    }
    port92 = (struct port92){ 0 };
    return 0;
}
