/*
 * The I/O APIC (Intel 82093AA datasheet, section 3 "Register Description",
 * with the EOI register of version 20h; see hw/ioapic.h for the contract).
 *
 * What the model keeps and what it leaves out, with QEMU 7.2 and KVM as the
 * reference where the datasheet leaves room:
 * - Registers: ID (bits 24-27, writable), VER (version 20h, maximum
 *   redirection entry 23 in bits 16-23, read-only), ARB (reads as the ID, as
 *   QEMU's), and 24 redirection entries.  The reserved bits of an entry
 *   (17-55) are stored and read back as QEMU's are; delivery status and
 *   remote IRR are read-only.
 * - Delivery is instantaneous: the delivery status bit reads 0.
 * - Polarity is stored but not applied: pin levels are logical (hw/ioapic.h).
 * - An entry written as edge-triggered drops its remote IRR: Linux's
 *   fallback EOI (mask, flip to edge and back to level) relies on it where
 *   there is no EOI register, and QEMU does the same.
 * - Remote IRR is set by every level-triggered message, whatever its
 *   delivery mode, as QEMU does; only an EOI or the edge flip clears it.
 * - No rate limit on a level pin the guest EOIs while still asserted (QEMU
 *   delays the ten-thousandth re-delivery in a row): each re-delivery takes
 *   a guest EOI, so the host is never stuck.
 *
 * Threads: big lock held everywhere (see hw/ioapic.h).
 */
#include <glib.h>

#include "hw/ioapic.h"
#include "system/log.h"

#define RTE_DM_MASK (7ull << IOAPIC_RTE_DM_SHIFT)
/* Bits a guest write leaves alone. */
#define RTE_READ_ONLY (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)

struct ioapic {
    struct ioapic_hooks hooks;
    uint8_t reset_id;

    uint8_t id;                 /* 4 bits */
    uint8_t ioregsel;
    uint64_t rte[IOAPIC_NUM_PINS];
    uint32_t line;              /* pin levels (bit n: pin n asserted) */
};

/* ---- delivery ---- */

static bool is_level(uint64_t rte)
{
    return (rte & IOAPIC_RTE_LEVEL) != 0;
}

/* Sends pin's message as its entry says (82093AA 3.2.4; the message is the
 * one an MSI with these fields would carry). */
static void send(struct ioapic *s, unsigned pin)
{
    uint64_t rte = s->rte[pin];
    struct ioapic_msg m = {
        .dest = (uint8_t)(rte >> IOAPIC_RTE_DEST_SHIFT),
        .logical = (rte & IOAPIC_RTE_LOGICAL) != 0,
        .delivery_mode = (uint8_t)((rte & RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT),
        .vector = (uint8_t)(rte & IOAPIC_RTE_VECTOR),
        .level = is_level(rte),
        .pin = (uint8_t)pin,
    };

    if (s->hooks.deliver) {
        s->hooks.deliver(s->hooks.opaque, &m);
    }
}

/*
 * A level-triggered pin sends while it is asserted, unmasked and not
 * waiting for an EOI; remote IRR is set before the hook runs, so an EOI
 * the hook causes (a nested call into ioapic_eoi) finds it set.
 */
static void service_level(struct ioapic *s, unsigned pin)
{
    uint64_t rte = s->rte[pin];

    if (!is_level(rte) || (rte & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) ||
        !(s->line & (1u << pin))) {
        return;
    }
    s->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
    send(s, pin);
}

void ioapic_set_irq(struct ioapic *s, unsigned pin, int level)
{
    uint32_t bit, old;

    if (pin >= IOAPIC_NUM_PINS) {
        log_mask(LOG_GUEST_ERROR, "ioapic: level change on pin %u, it has %u\n", pin,
                 IOAPIC_NUM_PINS);
        return;
    }
    bit = 1u << pin;
    old = s->line;
    s->line = level ? s->line | bit : s->line & ~bit;
    if (is_level(s->rte[pin])) {
        service_level(s, pin);
        return;
    }
    /* Edge: the rising edge of an unmasked pin; a masked one is lost. */
    if (level && !(old & bit) && !(s->rte[pin] & IOAPIC_RTE_MASKED)) {
        send(s, pin);
    }
}

void ioapic_eoi(struct ioapic *s, unsigned vector)
{
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t rte = s->rte[pin];

        if (!is_level(rte) || (rte & IOAPIC_RTE_VECTOR) != (vector & 0xff) ||
            !(rte & IOAPIC_RTE_REMOTE_IRR)) {
            continue;
        }
        s->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
        service_level(s, pin);
    }
}

/* ---- registers ---- */

/* The pin of a redirection table index, or -1 past the table. */
static int redtbl_pin(unsigned reg)
{
    if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
        return -1;
    }
    return (int)((reg - IOAPIC_REG_REDTBL) >> 1);
}

/* The indirect register IOREGSEL names (82093AA 3.2). */
static uint32_t read_indirect(struct ioapic *s)
{
    unsigned reg = s->ioregsel;
    int pin;

    switch (reg) {
    case IOAPIC_REG_ID:
    case IOAPIC_REG_ARB:
        return (uint32_t)s->id << 24;
    case IOAPIC_REG_VER:
        return IOAPIC_VERSION | (IOAPIC_NUM_PINS - 1) << 16;
    default:
        break;
    }
    pin = redtbl_pin(reg);
    if (pin < 0) {
        log_mask(LOG_GUEST_ERROR, "ioapic: read of undefined register %02x\n", reg);
        return 0;
    }
    return (uint32_t)(s->rte[pin] >> ((reg & 1) * 32));
}

static void write_rte(struct ioapic *s, unsigned pin, bool high, uint32_t val)
{
    uint64_t rte = s->rte[pin], keep = rte & RTE_READ_ONLY;

    if (high) {
        rte = (rte & 0xffffffffull) | (uint64_t)val << 32;
    } else {
        rte = (rte & ~0xffffffffull) | val;
    }
    rte = (rte & ~RTE_READ_ONLY) | keep;
    /* An edge-triggered entry has no EOI to wait for. */
    if (!is_level(rte)) {
        rte &= ~IOAPIC_RTE_REMOTE_IRR;
    }
    s->rte[pin] = rte;
    /* Unmasking (or turning to level) an asserted level pin sends now. */
    service_level(s, pin);
}

static void write_indirect(struct ioapic *s, uint32_t val)
{
    unsigned reg = s->ioregsel;
    int pin;

    switch (reg) {
    case IOAPIC_REG_ID:
        s->id = (val >> 24) & 0xf;
        return;
    case IOAPIC_REG_VER:
    case IOAPIC_REG_ARB:
        return;     /* read-only */
    default:
        break;
    }
    pin = redtbl_pin(reg);
    if (pin < 0) {
        log_mask(LOG_GUEST_ERROR, "ioapic: write of undefined register %02x value %08x\n",
                 reg, val);
        return;
    }
    write_rte(s, (unsigned)pin, reg & 1, val);
}

uint32_t ioapic_read(struct ioapic *s, unsigned offset)
{
    switch (offset & 0xff) {
    case IOAPIC_IOREGSEL:
        return s->ioregsel;
    case IOAPIC_IOWIN:
        return read_indirect(s);
    case IOAPIC_EOI:
        return 0;   /* write-only */
    default:
        log_mask(LOG_GUEST_ERROR, "ioapic: read at undefined offset %02x\n", offset & 0xff);
        return 0;
    }
}

void ioapic_write(struct ioapic *s, unsigned offset, uint32_t val)
{
    switch (offset & 0xff) {
    case IOAPIC_IOREGSEL:
        s->ioregsel = (uint8_t)val;
        break;
    case IOAPIC_IOWIN:
        write_indirect(s, val);
        break;
    case IOAPIC_EOI:
        /* Version 20h's EOI register: bits 0-7 are the vector. */
        ioapic_eoi(s, val & 0xff);
        break;
    default:
        log_mask(LOG_GUEST_ERROR, "ioapic: write at undefined offset %02x value %08x\n",
                 offset & 0xff, val);
        break;
    }
}

/* IOREGSEL is a byte register any access reaches; the others take 32 bits. */
static bool access_ok(uint64_t offset, unsigned size)
{
    return size >= 4 || (offset & 0xff) == IOAPIC_IOREGSEL;
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ioapic *s = opaque;

    if (!access_ok(offset, size)) {
        return 0;
    }
    if (size == 8) {
        return ioapic_read(s, offset) | (uint64_t)ioapic_read(s, offset + 4) << 32;
    }
    return ioapic_read(s, offset);
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t val, unsigned size)
{
    struct ioapic *s = opaque;

    if (!access_ok(offset, size)) {
        return;
    }
    ioapic_write(s, offset, (uint32_t)val);
    if (size == 8) {
        ioapic_write(s, offset + 4, (uint32_t)(val >> 32));
    }
}

const struct io_ops ioapic_mmio_ops = {
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
};

uint64_t ioapic_get_entry(const struct ioapic *s, unsigned pin)
{
    return pin < IOAPIC_NUM_PINS ? s->rte[pin] : 0;
}

/* ---- life cycle ---- */

void ioapic_reset(struct ioapic *s)
{
    s->id = s->reset_id & 0xf;
    s->ioregsel = 0;
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        s->rte[pin] = IOAPIC_RTE_MASKED;
    }
}

struct ioapic *ioapic_create(uint8_t id, const struct ioapic_hooks *hooks)
{
    struct ioapic *s = g_new0(struct ioapic, 1);

    if (hooks) {
        s->hooks = *hooks;
    }
    s->reset_id = id;
    ioapic_reset(s);
    return s;
}

void ioapic_free(struct ioapic *s)
{
    g_free(s);
}
