/*
 * Reads the Multiboot memory map (spec 3.3, flags bit 6) and prints every
 * entry and the total of the available ones in KiB, which the test compares
 * with -m.  Exit codes: 0 ok, 1 no map, 2 a malformed entry.
 */
#include "guest.h"

int main(const struct mb_info *mbi)
{
    uint64_t total = 0;
    uint32_t off = 0;
    unsigned n = 0;

    if (!(mbi->flags & MB_INFO_MMAP)) {
        printf("memsize: no memory map (flags 0x%x)\n", mbi->flags);
        return 1;
    }
    if (mbi->flags & MB_INFO_MEM) {
        printf("memsize: mem_lower %u KiB, mem_upper %u KiB\n", mbi->mem_lower, mbi->mem_upper);
    }
    while (off < mbi->mmap_length) {
        const struct mb_mmap_entry *e =
            (const struct mb_mmap_entry *)(uintptr_t)(mbi->mmap_addr + off);

        if (e->size < 20) {
            printf("memsize: entry %u has size %u\n", n, e->size);
            return 2;
        }
        printf("memsize: [0x%09llx-0x%09llx] type %u\n", (unsigned long long)e->base,
               (unsigned long long)(e->base + e->len - 1), e->type);
        if (e->type == 1) {
            total += e->len;
        }
        off += e->size + 4;
        n++;
    }
    printf("memsize: %llu KiB available in %u entries\n", (unsigned long long)(total >> 10), n);
    return 0;
}
