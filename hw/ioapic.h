/*
 * The I/O APIC of the software CPU's machines: an Intel 82093AA with 24
 * input pins, as QEMU 7.2's userspace "ioapic" (version 20h, its default
 * since pc-2.x) and KVM's in-kernel one present it.  Each pin has a 64-bit
 * redirection entry that turns a level change on the pin into an
 * interrupt message for the local APICs (82093AA datasheet, section 3.2
 * "IOAPIC Registers").  Under KVM the in-kernel irqchip plays this part.
 *
 * The device is a state machine: it does not know the APICs or the vCPUs.
 * Its owner (accel/tcg/interrupts.c) maps ioapic_mmio_ops at
 * IOAPIC_DEFAULT_BASE, routes GSIs to ioapic_set_irq() (the caller maps
 * ISA IRQ 0 to pin 2; this file takes pin numbers as they are), sends the
 * local APICs' EOIs of level-triggered vectors to ioapic_eoi(), and
 * carries each message the `deliver` hook hands it to the APICs that match
 * its destination.
 *
 * Pin levels are logical: 1 is "asserted", whatever the polarity bit of
 * the entry says.  This is what QEMU and KVM do (their devices raise a line
 * with 1 and neither applies the polarity bit), and it is what a guest
 * needs: Linux programs PCI pins active-low when the MP table says a pin
 * "conforms to the bus" (PCI is active-low), and ISA pins active-high,
 * while hyvm's devices, like QEMU's, raise every line with 1.  Inverting
 * on the polarity bit would make an idle active-low PCI line look asserted
 * and storm the guest.  The bit is kept and reads back as written.
 *
 * Threads: every function here and the MMIO handlers run with the big lock
 * held (system/main-loop.h); the hook runs under it too, synchronously,
 * from ioapic_set_irq(), ioapic_eoi() and register writes.
 */
#ifndef HYVM_IOAPIC_H
#define HYVM_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/memory.h"

#define IOAPIC_DEFAULT_BASE 0xfec00000ull
#define IOAPIC_SIZE 0x1000u
#define IOAPIC_NUM_PINS 24u
/* Version 20h: the version with the EOI register (QEMU's default). */
#define IOAPIC_VERSION 0x20u

/* The direct registers, offsets in the MMIO page (82093AA, 3.1 "Memory
 * Mapped Registers"; the EOI register is the version 20h addition). */
enum { IOAPIC_IOREGSEL = 0x00, IOAPIC_IOWIN = 0x10, IOAPIC_EOI = 0x40 };

/* The indirect registers IOREGSEL selects (82093AA, 3.2). */
enum {
    IOAPIC_REG_ID = 0x00, IOAPIC_REG_VER = 0x01, IOAPIC_REG_ARB = 0x02,
    IOAPIC_REG_REDTBL = 0x10,   /* pin n: low half at 10h + 2n, high half at 11h + 2n */
};

/* Redirection entry fields (82093AA, 3.2.4 "IOREDTBL"). */
#define IOAPIC_RTE_VECTOR 0xffull
#define IOAPIC_RTE_DM_SHIFT 8               /* delivery mode, 3 bits */
#define IOAPIC_RTE_LOGICAL (1ull << 11)     /* destination mode */
#define IOAPIC_RTE_DELIVS (1ull << 12)      /* delivery status: read-only */
#define IOAPIC_RTE_ACTIVE_LOW (1ull << 13)  /* polarity */
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14)  /* read-only */
#define IOAPIC_RTE_LEVEL (1ull << 15)       /* trigger mode */
#define IOAPIC_RTE_MASKED (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

/* One interrupt message on the APIC bus (an IOAPIC pin firing). */
struct ioapic_msg {
    uint8_t dest;               /* APIC ID, or a logical destination if logical */
    bool logical;
    uint8_t delivery_mode;      /* LAPIC_DM_*: fixed, lowest, SMI, NMI, INIT, ExtINT */
    uint8_t vector;             /* for ExtINT the i8259 gives the vector instead */
    bool level;                 /* level-triggered: the target sets TMR, EOIs come back */
    uint8_t pin;                /* the source pin, for logs */
};

struct ioapic_hooks {
    /* Deliver m to the APICs its destination names; must not be NULL. */
    void (*deliver)(void *opaque, const struct ioapic_msg *m);
    void *opaque;
};

struct ioapic;

/*
 * An IOAPIC in its reset state: ID register = id (0 for pc's only IOAPIC,
 * as QEMU's ACPI and MP tables say), every pin masked, edge, vector 0.
 */
struct ioapic *ioapic_create(uint8_t id, const struct ioapic_hooks *hooks);
void ioapic_free(struct ioapic *s);
/* RESET: all entries masked, IOREGSEL 0, ID back to its creation value.
 * Pin levels are the devices' and stay. */
void ioapic_reset(struct ioapic *s);

/*
 * Input pin (0-23) is at level (0: idle, else asserted; see above for
 * polarity).  Edge-triggered: a message on each rising edge while
 * unmasked (an edge while masked is lost, 82093AA 3.2.4 bit 16).
 * Level-triggered: a message while asserted, unmasked and remote IRR
 * clear; it sets remote IRR.  Another pin number is logged and ignored.
 */
void ioapic_set_irq(struct ioapic *s, unsigned pin, int level);
/* The local APICs' EOI broadcast of vector: clears remote IRR of the
 * level-triggered pins with that vector, re-delivering those still asserted. */
void ioapic_eoi(struct ioapic *s, unsigned vector);

/*
 * The register page for io_register_mmio(IOAPIC_DEFAULT_BASE, IOAPIC_SIZE)
 * (opaque: the struct ioapic).  As QEMU's: the page repeats every 256
 * bytes; IOREGSEL takes any access size, IOWIN and EOI only 32 bits (a
 * 64-bit access is two 32-bit ones, narrower ones read 0 and write
 * nothing).  Undefined registers read 0 and ignore writes, logged under
 * LOG_GUEST_ERROR.
 */
extern const struct io_ops ioapic_mmio_ops;
/* One 32-bit access at an offset in the page, as the MMIO handlers do it. */
uint32_t ioapic_read(struct ioapic *s, unsigned offset);
void ioapic_write(struct ioapic *s, unsigned offset, uint32_t val);

/* The redirection entry of a pin (0 past the last pin), for monitors and tests. */
uint64_t ioapic_get_entry(const struct ioapic *s, unsigned pin);

#endif
