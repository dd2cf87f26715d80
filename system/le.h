/*
 * Little-endian loads and stores of unaligned bytes: the byte order of
 * x86 guest structures and of the boot formats hyvm reads and writes
 * (Multiboot, the Linux zero page, PVH, ELF, MP and ACPI tables).
 */
#ifndef HYVM_LE_H
#define HYVM_LE_H

#include <stdint.h>

static inline uint16_t ld16(const uint8_t *p)
{
    return p[0] | (uint16_t)(p[1] << 8);
}

static inline uint32_t ld32(const uint8_t *p)
{
    return ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

static inline uint64_t ld64(const uint8_t *p)
{
    return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static inline void st32(uint8_t *p, uint32_t v)
{
    st16(p, v);
    st16(p + 2, v >> 16);
}

static inline void st64(uint8_t *p, uint64_t v)
{
    st32(p, v);
    st32(p + 4, v >> 32);
}

/* v rounded up to a multiple of a, a power of two. */
static inline uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

#endif
