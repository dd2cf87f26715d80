/*
 * Guest-RAM accessors for the software CPU's unit tests: little-endian
 * stores and loads at a guest-physical address through system/memory.h,
 * asserting that the address is RAM.
 */
#ifndef HYVM_TESTS_GUEST_RAM_H
#define HYVM_TESTS_GUEST_RAM_H

#include <stdint.h>
#include <glib.h>

#include "system/memory.h"

#define GUEST_RAM_PUT(bits)                                      \
    static inline void put##bits(uint64_t gpa, uint##bits##_t v) \
    {                                                            \
        g_assert_cmpint(ram_write(gpa, &v, sizeof(v)), ==, 0);   \
    }
#define GUEST_RAM_GET(bits)                                      \
    static inline uint##bits##_t get##bits(uint64_t gpa)         \
    {                                                            \
        uint##bits##_t v;                                        \
                                                                 \
        g_assert_cmpint(ram_read(gpa, &v, sizeof(v)), ==, 0);    \
        return v;                                                \
    }

GUEST_RAM_PUT(8)
GUEST_RAM_PUT(16)
GUEST_RAM_PUT(32)
GUEST_RAM_PUT(64)
GUEST_RAM_GET(16)
GUEST_RAM_GET(32)
GUEST_RAM_GET(64)

#undef GUEST_RAM_PUT
#undef GUEST_RAM_GET

#endif
