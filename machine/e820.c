/*
 * The guest memory map (machine/e820.h), read off the RAM regions the
 * machine registered.
 *
 * Threads: main thread, while the machine is built.
 */
#include "machine/e820.h"
#include "machine/machine.h"
#include "system/memory.h"

static unsigned e820_add(struct e820_entry *out, unsigned n, unsigned max,
                         uint64_t addr, uint64_t end, uint32_t type)
{
    if (n < max && end > addr) {
        out[n++] = (struct e820_entry){ .addr = addr, .size = end - addr, .type = type };
    }
    return n;
}

unsigned x86_e820_build(const struct machine *m, struct e820_entry *out, unsigned max)
{
    unsigned n = 0;

    (void)m;
    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);
        uint64_t end = r->gpa + r->size;

        if (r->gpa == 0) {
            n = e820_add(out, n, max, 0, MIN(end, X86_EBDA_START), E820_RAM);
            n = e820_add(out, n, max, X86_EBDA_START, PC_LOW_RAM_END, E820_RESERVED);
            n = e820_add(out, n, max, X86_BIOS_AREA_START, X86_BIOS_AREA_END, E820_RESERVED);
            n = e820_add(out, n, max, PC_HIGH_RAM_START, end, E820_RAM);
        } else {
            n = e820_add(out, n, max, r->gpa, end, E820_RAM);
        }
    }
    return n;
}
