/*
 * The I/O APIC (hw/ioapic.c) as a guest kernel programs it: IOREGSEL and
 * IOWIN through io_mmio() at FEC00000h as a vCPU's loads and stores reach
 * them, pins driven as devices drive GSIs, and the messages the deliver
 * hook receives recorded for the checks.
 *
 * Threads: the single test thread.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "hw/ioapic.h"
#include "hw/lapic.h"
#include "system/memory.h"

#define BASE IOAPIC_DEFAULT_BASE

static struct ioapic *io;
static struct ioapic_msg msgs[64];
static unsigned nmsgs;

static void on_deliver(void *opaque, const struct ioapic_msg *m)
{
    g_assert_true(opaque == &msgs);
    if (nmsgs < G_N_ELEMENTS(msgs)) {
        msgs[nmsgs] = *m;
    }
    nmsgs++;
}

static const struct ioapic_hooks hooks = {
    .deliver = on_deliver,
    .opaque = &msgs,
};

static uint32_t rd(unsigned off, unsigned size)
{
    uint32_t v = 0;

    io_mmio(BASE + off, &v, size, false);
    return v;
}

static void wr(unsigned off, uint32_t v, unsigned size)
{
    io_mmio(BASE + off, &v, size, true);
}

static uint32_t reg_read(unsigned reg)
{
    wr(IOAPIC_IOREGSEL, reg, 4);
    return rd(IOAPIC_IOWIN, 4);
}

static void reg_write(unsigned reg, uint32_t v)
{
    wr(IOAPIC_IOREGSEL, reg, 4);
    wr(IOAPIC_IOWIN, v, 4);
}

/* A redirection entry written as Linux writes it: high half, then low. */
static void set_rte(unsigned pin, uint64_t rte)
{
    reg_write(IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)(rte >> 32));
    reg_write(IOAPIC_REG_REDTBL + 2 * pin, (uint32_t)rte);
}

static uint64_t get_rte(unsigned pin)
{
    return reg_read(IOAPIC_REG_REDTBL + 2 * pin) |
           (uint64_t)reg_read(IOAPIC_REG_REDTBL + 2 * pin + 1) << 32;
}

static void fresh(uint8_t id)
{
    GError *err = NULL;

    io_unregister_all();
    if (io) {
        ioapic_free(io);
    }
    nmsgs = 0;
    memset(msgs, 0, sizeof(msgs));
    io = ioapic_create(id, &hooks);
    g_assert_cmpint(io_register_mmio(BASE, IOAPIC_SIZE, "ioapic", &ioapic_mmio_ops, io, &err),
                    ==, 0);
    g_assert_no_error(err);
}

/* ---- registers ---- */

static void test_reset_state(void)
{
    fresh(0);
    g_assert_cmphex(rd(IOAPIC_IOREGSEL, 4), ==, 0);
    g_assert_cmphex(reg_read(IOAPIC_REG_ID), ==, 0);
    /* Version 20h, maximum redirection entry 23 (82093AA 3.2.2). */
    g_assert_cmphex(reg_read(IOAPIC_REG_VER), ==, 0x170020);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        g_assert_cmphex(get_rte(pin), ==, IOAPIC_RTE_MASKED);
    }
    /* A masked table sends nothing whatever the pins do. */
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        ioapic_set_irq(io, pin, 1);
    }
    g_assert_cmpuint(nmsgs, ==, 0);

    /* The ID given at creation (microvm's second IOAPIC) comes back at reset. */
    fresh(1);
    g_assert_cmphex(reg_read(IOAPIC_REG_ID), ==, 1u << 24);
    reg_write(IOAPIC_REG_ID, 5u << 24);
    set_rte(3, 0x31);
    ioapic_reset(io);
    g_assert_cmphex(reg_read(IOAPIC_REG_ID), ==, 1u << 24);
    g_assert_cmphex(get_rte(3), ==, IOAPIC_RTE_MASKED);
}

static void test_registers(void)
{
    fresh(0);
    /* IOREGSEL reads back; byte writes reach it (82093AA 3.1.1). */
    wr(IOAPIC_IOREGSEL, 0x12, 4);
    g_assert_cmphex(rd(IOAPIC_IOREGSEL, 4), ==, 0x12);
    wr(IOAPIC_IOREGSEL, 0x01, 1);
    g_assert_cmphex(rd(IOAPIC_IOREGSEL, 1), ==, 0x01);
    g_assert_cmphex(rd(IOAPIC_IOWIN, 4), ==, 0x170020);
    /* ID: bits 24-27 writable; ARB reads as the ID; VER read-only. */
    reg_write(IOAPIC_REG_ID, 0xffffffff);
    g_assert_cmphex(reg_read(IOAPIC_REG_ID), ==, 0x0f000000);
    g_assert_cmphex(reg_read(IOAPIC_REG_ARB), ==, 0x0f000000);
    reg_write(IOAPIC_REG_VER, 0);
    reg_write(IOAPIC_REG_ARB, 0);
    g_assert_cmphex(reg_read(IOAPIC_REG_VER), ==, 0x170020);
    g_assert_cmphex(reg_read(IOAPIC_REG_ID), ==, 0x0f000000);
    /* Both halves of every entry, in its own place. */
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        set_rte(pin, (uint64_t)(pin + 1) << 56 | IOAPIC_RTE_MASKED | (0x20 + pin));
    }
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        g_assert_cmphex(get_rte(pin), ==,
                        (uint64_t)(pin + 1) << 56 | IOAPIC_RTE_MASKED | (0x20 + pin));
        g_assert_cmphex(ioapic_get_entry(io, pin), ==, get_rte(pin));
    }
    /* Every field but delivery status and remote IRR is writable. */
    set_rte(4, ~0ull);
    g_assert_cmphex(get_rte(4), ==, ~0ull & ~(IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR));
    /* IOWIN takes 32-bit accesses only: narrower reads give 0, writes nothing. */
    wr(IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL + 2 * 5, 4);
    wr(IOAPIC_IOWIN, 0x45, 1);
    g_assert_cmphex(rd(IOAPIC_IOWIN, 2), ==, 0);
    g_assert_cmphex(get_rte(5), ==, 6ull << 56 | IOAPIC_RTE_MASKED | 0x25);
    /* The page repeats every 256 bytes, as QEMU's. */
    wr(0x100 + IOAPIC_IOREGSEL, IOAPIC_REG_VER, 4);
    g_assert_cmphex(rd(0x210, 4), ==, 0x170020);
}

/* Undefined registers and offsets: reads 0, writes change nothing. */
static void test_out_of_range(void)
{
    uint64_t before[IOAPIC_NUM_PINS];

    fresh(0);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        set_rte(pin, 0x30 + pin + IOAPIC_RTE_MASKED);
        before[pin] = get_rte(pin);
    }
    /* Past entry 23 (index 40h on), between ARB and the table, up to FFh. */
    for (unsigned reg = 0x03; reg <= 0xff; reg++) {
        if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
            continue;
        }
        reg_write(reg, 0xffffffff);
        g_assert_cmphex(reg_read(reg), ==, 0);
    }
    /* Offsets other than IOREGSEL, IOWIN and EOI. */
    wr(IOAPIC_IOREGSEL, IOAPIC_REG_ID, 4);
    for (unsigned off = 0x04; off < 0x100; off += 4) {
        if (off == IOAPIC_IOWIN || off == IOAPIC_EOI) {
            continue;
        }
        wr(off, 0xffffffff, 4);
        g_assert_cmphex(rd(off, 4), ==, 0);
    }
    g_assert_cmphex(rd(IOAPIC_IOREGSEL, 4), ==, IOAPIC_REG_ID);
    g_assert_cmphex(reg_read(IOAPIC_REG_ID), ==, 0);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        g_assert_cmphex(get_rte(pin), ==, before[pin]);
    }
    /* Pins past 23 from a device: ignored. */
    ioapic_set_irq(io, IOAPIC_NUM_PINS, 1);
    ioapic_set_irq(io, 1000, 1);
    g_assert_cmpuint(nmsgs, ==, 0);
    g_assert_cmphex(ioapic_get_entry(io, IOAPIC_NUM_PINS), ==, 0);
}

/* ---- delivery ---- */

static void test_edge(void)
{
    fresh(0);
    set_rte(4, 0x34);       /* edge, fixed, physical, APIC 0 */
    ioapic_set_irq(io, 4, 1);
    g_assert_cmpuint(nmsgs, ==, 1);
    g_assert_cmpuint(msgs[0].vector, ==, 0x34);
    g_assert_false(msgs[0].level);
    /* Only a rising edge sends: held high or raised again, nothing. */
    ioapic_set_irq(io, 4, 1);
    g_assert_cmpuint(nmsgs, ==, 1);
    ioapic_set_irq(io, 4, 0);
    g_assert_cmpuint(nmsgs, ==, 1);
    ioapic_set_irq(io, 4, 1);
    g_assert_cmpuint(nmsgs, ==, 2);
    /* No remote IRR for edge pins; an EOI of the vector changes nothing. */
    g_assert_cmphex(get_rte(4) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    ioapic_eoi(io, 0x34);
    g_assert_cmpuint(nmsgs, ==, 2);
    /* Masked: an edge is lost, not held for the unmask (82093AA 3.2.4). */
    ioapic_set_irq(io, 4, 0);
    set_rte(4, 0x34 | IOAPIC_RTE_MASKED);
    ioapic_set_irq(io, 4, 1);
    set_rte(4, 0x34);
    g_assert_cmpuint(nmsgs, ==, 2);
    ioapic_set_irq(io, 4, 0);
    ioapic_set_irq(io, 4, 1);
    g_assert_cmpuint(nmsgs, ==, 3);
}

static void test_level(void)
{
    fresh(0);
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(io, 10, 1);
    g_assert_cmpuint(nmsgs, ==, 1);
    g_assert_cmpuint(msgs[0].vector, ==, 0x3a);
    g_assert_true(msgs[0].level);
    g_assert_cmpuint(msgs[0].pin, ==, 10);
    g_assert_cmphex(get_rte(10) & IOAPIC_RTE_REMOTE_IRR, ==, IOAPIC_RTE_REMOTE_IRR);
    /* Remote IRR set: nothing more until the EOI, however the line moves. */
    ioapic_set_irq(io, 10, 1);
    ioapic_set_irq(io, 10, 0);
    ioapic_set_irq(io, 10, 1);
    g_assert_cmpuint(nmsgs, ==, 1);
    /* An EOI of another vector leaves it. */
    ioapic_eoi(io, 0x3b);
    g_assert_cmpuint(nmsgs, ==, 1);
    /* The EOI while still asserted: sent again, remote IRR set again. */
    ioapic_eoi(io, 0x3a);
    g_assert_cmpuint(nmsgs, ==, 2);
    g_assert_cmphex(get_rte(10) & IOAPIC_RTE_REMOTE_IRR, ==, IOAPIC_RTE_REMOTE_IRR);
    /* Deasserted, then the EOI: remote IRR clear, nothing sent. */
    ioapic_set_irq(io, 10, 0);
    ioapic_eoi(io, 0x3a);
    g_assert_cmpuint(nmsgs, ==, 2);
    g_assert_cmphex(get_rte(10) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    /* The guest cannot write remote IRR. */
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL | IOAPIC_RTE_REMOTE_IRR);
    g_assert_cmphex(get_rte(10) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    /* Asserted while masked: sent at the unmask. */
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
    ioapic_set_irq(io, 10, 1);
    g_assert_cmpuint(nmsgs, ==, 2);
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL);
    g_assert_cmpuint(nmsgs, ==, 3);
    /* Masked while waiting for the EOI: the EOI clears remote IRR, sends nothing. */
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
    g_assert_cmphex(get_rte(10) & IOAPIC_RTE_REMOTE_IRR, ==, IOAPIC_RTE_REMOTE_IRR);
    ioapic_eoi(io, 0x3a);
    g_assert_cmpuint(nmsgs, ==, 3);
    g_assert_cmphex(get_rte(10) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    /* Linux's EOI without an EOI register: masked, flipped to edge (remote
     * IRR drops), back to level, unmasked: the asserted line sends again. */
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL);
    g_assert_cmpuint(nmsgs, ==, 4);
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
    set_rte(10, 0x3a | IOAPIC_RTE_MASKED);
    g_assert_cmphex(get_rte(10) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
    set_rte(10, 0x3a | IOAPIC_RTE_LEVEL);
    g_assert_cmpuint(nmsgs, ==, 5);
}

/* Version 20h's EOI register at offset 40h does the broadcast's work. */
static void test_eoi_register(void)
{
    fresh(0);
    set_rte(11, 0x3b | IOAPIC_RTE_LEVEL);
    set_rte(12, 0x3b | IOAPIC_RTE_LEVEL);
    set_rte(13, 0x3c | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(io, 11, 1);
    ioapic_set_irq(io, 12, 1);
    ioapic_set_irq(io, 13, 1);
    g_assert_cmpuint(nmsgs, ==, 3);
    /* Pins sharing a vector are all released by its EOI. */
    ioapic_set_irq(io, 11, 0);
    wr(IOAPIC_EOI, 0x3b, 4);
    g_assert_cmpuint(nmsgs, ==, 4);
    g_assert_cmpuint(msgs[3].pin, ==, 12);
    g_assert_cmphex(get_rte(11) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    g_assert_cmphex(get_rte(13) & IOAPIC_RTE_REMOTE_IRR, ==, IOAPIC_RTE_REMOTE_IRR);
    /* Only bits 0-7 are the vector; narrower writes do nothing. */
    wr(IOAPIC_EOI, 0x3c, 1);
    g_assert_cmphex(get_rte(13) & IOAPIC_RTE_REMOTE_IRR, ==, IOAPIC_RTE_REMOTE_IRR);
    ioapic_set_irq(io, 13, 0);
    wr(IOAPIC_EOI, 0xffffff3c, 4);
    g_assert_cmphex(get_rte(13) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    g_assert_cmpuint(nmsgs, ==, 4);
    g_assert_cmphex(rd(IOAPIC_EOI, 4), ==, 0);
}

/*
 * Active-low pins: levels are logical (hw/ioapic.h), so a PCI pin Linux
 * programs active-low sends when its device asserts it (1) and stays quiet
 * while idle, as under QEMU and KVM; the polarity bit reads back.
 */
static void test_polarity(void)
{
    fresh(0);
    set_rte(16, 0x50 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW);
    g_assert_cmphex(get_rte(16), ==, 0x50 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW);
    ioapic_set_irq(io, 16, 0);
    g_assert_cmpuint(nmsgs, ==, 0);
    ioapic_set_irq(io, 16, 1);
    g_assert_cmpuint(nmsgs, ==, 1);
    ioapic_set_irq(io, 16, 0);
    ioapic_eoi(io, 0x50);
    g_assert_cmpuint(nmsgs, ==, 1);
    /* Edge, active-low: the assertion is the edge. */
    set_rte(5, 0x51 | IOAPIC_RTE_ACTIVE_LOW);
    ioapic_set_irq(io, 5, 1);
    ioapic_set_irq(io, 5, 0);
    g_assert_cmpuint(nmsgs, ==, 2);
    g_assert_cmpuint(msgs[1].vector, ==, 0x51);
}

/* The entry's fields reach the message as written. */
static void test_message_fields(void)
{
    static const struct {
        uint64_t rte;
        struct ioapic_msg want;
    } cases[] = {
        /* Physical, fixed, APIC 3. */
        { 3ull << 56 | 0x41,
          { .dest = 3, .vector = 0x41, .delivery_mode = LAPIC_DM_FIXED } },
        /* Logical flat, lowest priority, CPUs 0-1: Linux's old flat set-up. */
        { 0x03ull << 56 | IOAPIC_RTE_LOGICAL | (uint64_t)LAPIC_DM_LOWEST << 8 | 0x42,
          { .dest = 3, .logical = true, .vector = 0x42, .delivery_mode = LAPIC_DM_LOWEST } },
        /* Broadcast NMI, level. */
        { 0xffull << 56 | (uint64_t)LAPIC_DM_NMI << 8 | IOAPIC_RTE_LEVEL,
          { .dest = 0xff, .delivery_mode = LAPIC_DM_NMI, .level = true } },
        /* ExtINT through pin 0 (virtual wire through the IOAPIC). */
        { (uint64_t)LAPIC_DM_EXTINT << 8,
          { .dest = 0, .delivery_mode = LAPIC_DM_EXTINT } },
        /* The reserved bits 17-55 do not leak into the message. */
        { 0x00ffffffff000000ull | 0x12ull << 56 | IOAPIC_RTE_ACTIVE_LOW | 0x43,
          { .dest = 0x12, .vector = 0x43 } },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        const struct ioapic_msg *w = &cases[i].want;
        unsigned pin = 20 + (i % 4);

        fresh(0);
        set_rte(pin, cases[i].rte & ~IOAPIC_RTE_MASKED);
        ioapic_set_irq(io, pin, 1);
        g_assert_cmpuint(nmsgs, ==, 1);
        g_assert_cmpuint(msgs[0].dest, ==, w->dest);
        g_assert_cmpint(msgs[0].logical, ==, w->logical);
        g_assert_cmpuint(msgs[0].delivery_mode, ==, w->delivery_mode);
        g_assert_cmpuint(msgs[0].vector, ==, w->vector);
        g_assert_cmpint(msgs[0].level, ==, w->level);
        g_assert_cmpuint(msgs[0].pin, ==, pin);
    }
}

/* An EOI that the hook itself triggers (a LAPIC that EOIs at once) finds
 * remote IRR already set, and the pin does not loop while deasserted. */
static struct ioapic *reentrant_io;

static void on_deliver_eoi(void *opaque, const struct ioapic_msg *m)
{
    nmsgs++;
    if (nmsgs < 5) {
        ioapic_eoi(reentrant_io, m->vector);
    }
}

static void test_reentrant_eoi(void)
{
    static const struct ioapic_hooks eoi_hooks = { .deliver = on_deliver_eoi };

    io_unregister_all();
    nmsgs = 0;
    reentrant_io = ioapic_create(0, &eoi_hooks);
    ioapic_write(reentrant_io, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL + 2 * 9);
    ioapic_write(reentrant_io, IOAPIC_IOWIN, 0x39 | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(reentrant_io, 9, 1);
    /* Asserted: each EOI re-sends, up to where the hook stops EOIing. */
    g_assert_cmpuint(nmsgs, ==, 5);
    g_assert_cmphex(ioapic_get_entry(reentrant_io, 9) & IOAPIC_RTE_REMOTE_IRR, ==,
                    IOAPIC_RTE_REMOTE_IRR);
    ioapic_free(reentrant_io);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ioapic/reset-state", test_reset_state);
    g_test_add_func("/ioapic/registers", test_registers);
    g_test_add_func("/ioapic/out-of-range", test_out_of_range);
    g_test_add_func("/ioapic/edge", test_edge);
    g_test_add_func("/ioapic/level", test_level);
    g_test_add_func("/ioapic/eoi-register", test_eoi_register);
    g_test_add_func("/ioapic/polarity", test_polarity);
    g_test_add_func("/ioapic/message-fields", test_message_fields);
    g_test_add_func("/ioapic/reentrant-eoi", test_reentrant_eoi);
    return g_test_run();
}
