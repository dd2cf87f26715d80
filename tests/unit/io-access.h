/*
 * Guest-style port and MMIO accessors for the unit tests: an IN/OUT or a
 * load/store of 1, 2 or 4 bytes, little-endian, through io_pio()/io_mmio()
 * as a vCPU's access reaches the devices; scripts of port accesses; PCI
 * configuration cycles.  Run with the big lock held.
 */
#ifndef HYVM_TESTS_IO_ACCESS_H
#define HYVM_TESTS_IO_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "system/memory.h"

/* One access: pio picks the port space; a read returns what came back. */
static inline uint32_t io_access(bool pio, uint64_t addr, uint32_t v, unsigned size, bool write)
{
    uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

    if (pio) {
        io_pio(addr, b, size, write);
    } else {
        io_mmio(addr, b, size, write);
    }
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint32_t pio_in(uint16_t port, unsigned size)
{
    return io_access(true, port, 0, size, false);
}

static inline void pio_out(uint16_t port, uint32_t v, unsigned size)
{
    io_access(true, port, v, size, true);
}

static inline uint32_t mmio_rd(uint64_t addr, unsigned size)
{
    return io_access(false, addr, 0, size, false);
}

static inline void mmio_wr(uint64_t addr, uint32_t v, unsigned size)
{
    io_access(false, addr, v, size, true);
}

/* The x86 names, for tests written as a driver is. */
static inline uint8_t inb(uint16_t port)
{
    return pio_in(port, 1);
}

static inline uint16_t inw(uint16_t port)
{
    return pio_in(port, 2);
}

static inline uint32_t inl(uint16_t port)
{
    return pio_in(port, 4);
}

static inline void outb(uint16_t port, uint8_t v)
{
    pio_out(port, v, 1);
}

static inline void outw(uint16_t port, uint16_t v)
{
    pio_out(port, v, 2);
}

static inline void outl(uint16_t port, uint32_t v)
{
    pio_out(port, v, 4);
}

/* One step of a port script: OUT v, or IN that must read v. */
struct pio_step {
    bool write;
    uint16_t port;
    unsigned size;
    uint32_t v;
};

#define PIO_OUT(port, v, size)  { true, (port), (size), (v) }
#define PIO_IN(port, size, v)   { false, (port), (size), (v) }

/* Runs n steps in order; a read that differs fails the test, naming its step. */
static inline void pio_run(const struct pio_step *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++, s++) {
        uint32_t got;

        if (s->write) {
            pio_out(s->port, s->v, s->size);
            continue;
        }
        got = pio_in(s->port, s->size);
        if (got != s->v) {
            g_test_message("step %u: IN %#x, %u bytes", i, s->port, s->size);
        }
        g_assert_cmphex(got, ==, s->v);
    }
}

/* PCI configuration cycles through ports 0xcf8/0xcfc (mechanism #1): the
 * address names the dword, the data port's offset the bytes in it. */
#define PCI_CFG_ADDR(devfn, reg) (0x80000000u | (unsigned)(devfn) << 8 | ((reg) & 0xfc))

static inline uint32_t pci_cfg_rd(unsigned devfn, unsigned reg, unsigned size)
{
    pio_out(0xcf8, PCI_CFG_ADDR(devfn, reg), 4);
    return pio_in(0xcfc + (reg & 3), size);
}

static inline void pci_cfg_wr(unsigned devfn, unsigned reg, uint32_t v, unsigned size)
{
    pio_out(0xcf8, PCI_CFG_ADDR(devfn, reg), 4);
    pio_out(0xcfc + (reg & 3), v, size);
}

#endif
