/*
 * For the kernel loaders' unit tests: little-endian stores into an image
 * being built in a GByteArray, and loads from guest RAM that assert the
 * address is RAM.
 */
#ifndef HYVM_TESTS_IMAGE_BYTES_H
#define HYVM_TESTS_IMAGE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "system/le.h"
#include "system/memory.h"

static inline void put16(GByteArray *b, size_t off, uint16_t v)
{
    st16(b->data + off, v);
}

static inline void put32(GByteArray *b, size_t off, uint32_t v)
{
    st32(b->data + off, v);
}

static inline void put64(GByteArray *b, size_t off, uint64_t v)
{
    st64(b->data + off, v);
}

static inline uint32_t rd32(uint64_t gpa)
{
    uint8_t v[4];

    g_assert_cmpint(ram_read(gpa, v, 4), ==, 0);
    return ld32(v);
}

static inline uint64_t rd64(uint64_t gpa)
{
    return rd32(gpa) | (uint64_t)rd32(gpa + 4) << 32;
}

#endif
