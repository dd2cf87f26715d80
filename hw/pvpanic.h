/*
 * The pvpanic event register (QEMU's docs/specs/pvpanic.rst), shared by
 * its three transports: the ISA port (hw/pvpanic.c, which holds the
 * register itself), the PCI function (hw/pvpanic-pci.c) and microvm's
 * MMIO byte (hw/pvpanic-mmio.c).
 *
 * A read returns the events the device offers (the "events" property) in
 * every byte of the register; a write of bit 0 is a guest panic, bit 1
 * (alone) a crash kernel loaded.  Bits the device does not offer are
 * ignored, and logged once under -d guest_errors.
 *
 * Threads: accessed by vCPU threads with the big lock held.
 */
#ifndef HYVM_PVPANIC_H
#define HYVM_PVPANIC_H

#include <stdbool.h>
#include <stdint.h>

struct machine;

#define PVPANIC_PANICKED      (1u << 0)
#define PVPANIC_CRASH_LOADED  (1u << 1)
#define PVPANIC_EVENTS        (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

struct pvpanic {
    uint8_t events;      /* PVPANIC_* bits the guest may write */
    unsigned width;      /* bytes of the register (1, or 2 on PCI); 0 past it */
    bool logged;         /* an unknown event was reported */
};

/* io_ops on a struct pvpanic (opaque), at offset 0 of its window. */
extern const struct io_ops pvpanic_ops;

#endif
