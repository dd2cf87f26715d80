/*
 * Switches to 64-bit long mode (Intel SDM vol. 3, 10.8.5 "Initializing
 * IA-32e Mode"): identity-maps the first 1 GiB with 2 MiB pages, then
 * longmode-switch.S turns on PAE, EFER.LME and paging and jumps to 64-bit
 * code that prints over COM1 and exits with code 0.
 * Exit codes: 0 ok, 5 the CPU has no long mode, 6 EFER.LMA stayed clear,
 * 7 64-bit arithmetic did not work.
 */
#include "guest.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));

__attribute__((noreturn)) void enter_long_mode(uint32_t cr3);

static int cpu_has_long_mode(void)
{
    uint32_t a, b, c, d;

    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u));
    if (a < 0x80000001u) {
        return 0;
    }
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));
    return (d >> 29) & 1;       /* CPUID.80000001H:EDX.LM */
}

int main(const struct mb_info *mbi)
{
    if (!cpu_has_long_mode()) {
        printf("longmode: CPUID says the CPU has no long mode\n");
        return 5;
    }
    for (unsigned i = 0; i < 512; i++) {
        pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;
    }
    pdpt[0] = (uintptr_t)pd | PTE_P | PTE_RW;
    pml4[0] = (uintptr_t)pdpt | PTE_P | PTE_RW;
    printf("longmode: switching to long mode\n");
    enter_long_mode((uintptr_t)pml4);
}
