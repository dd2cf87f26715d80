/*
 * Self-modifying code: the guest rewrites instructions it has already run
 * (and so a software CPU has decoded and cached), instructions later in
 * the run that is executing, code copied into a buffer and called, an
 * instruction that straddles two pages, and, in 64-bit mode, code written
 * through a second linear mapping of the same physical page.  Every result
 * must be the one the new bytes give, as on hardware (SDM vol. 3, 8.1.3).
 * Exit code 0 when all checks pass, else the number of the first failure
 * (0x41 and up: the 64-bit checks).
 */
#include "guest.h"

#define PTE_P 0x1u
#define PTE_RW 0x2u
#define PTE_PS 0x80u

extern uint8_t smc_get_imm[];
uint32_t smc_get(void);
uint32_t smc_next(uint32_t v);
uint32_t smc_loop(void);
uint32_t smc_rep(void);

static uint8_t buf[3 * 4096] __attribute__((aligned(4096)));
static unsigned checks;

#define CHECK(cond)                                                        \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            printf("smc: check %u failed: %s (line %d)\n", checks, #cond, \
                   __LINE__);                                              \
            return checks;                                                 \
        }                                                                  \
    } while (0)

typedef uint32_t (*fn_t)(void);

/* "mov $v, %eax; ret" at p. */
static void emit_mov_ret(volatile uint8_t *p, uint32_t v)
{
    p[0] = 0xb8;
    p[1] = v;
    p[2] = v >> 8;
    p[3] = v >> 16;
    p[4] = v >> 24;
    p[5] = 0xc3;
}

static int run_checks(void)
{
    volatile uint8_t *code = buf + 4096;
    fn_t f = (fn_t)(uintptr_t)code;
    unsigned ok;

    /* 1: patch an immediate of code that has run, many times. */
    ok = 1;
    for (uint32_t i = 0; i < 200; i++) {
        uint32_t v = 0x1000 + i * 7;

        *(volatile uint32_t *)smc_get_imm = v;
        if (smc_get() != v) {
            ok = 0;
        }
    }
    CHECK(ok);

    /* 2: the store hits the next instruction of the same run. */
    ok = 1;
    for (uint32_t i = 0; i < 50; i++) {
        if (smc_next(0xabc00 + i) != 0xabc00 + i) {
            ok = 0;
        }
    }
    CHECK(ok);

    /* 3: a loop that rewrites itself, twice. */
    CHECK(smc_loop() == 55);
    CHECK(smc_loop() == 55);

    /* 4: string instruction overwriting the code after it. */
    CHECK(smc_rep() == 0x5a5a5a5a);

    /* 5: generated code, rewritten between calls with other instructions. */
    ok = 1;
    for (uint32_t i = 0; i < 100; i++) {
        if (i & 1) {
            emit_mov_ret(code, i * 3);
        } else {
            /* xor %eax,%eax; add $i, %eax (83 c0 ib); ret */
            code[0] = 0x31;
            code[1] = 0xc0;
            code[2] = 0x83;
            code[3] = 0xc0;
            code[4] = i & 0x7f;
            code[5] = 0xc3;
        }
        if (f() != ((i & 1) ? i * 3 : (i & 0x7f))) {
            ok = 0;
        }
    }
    CHECK(ok);

    /* 6: an instruction across a page boundary; rewrite the part on the
     * second page only. */
    {
        volatile uint8_t *p = buf + 4096 - 3;   /* b8 and two bytes, then the rest */
        fn_t g = (fn_t)(uintptr_t)p;

        emit_mov_ret(p, 0x11223344);
        CHECK(g() == 0x11223344);
        p[3] = 0x99;                             /* byte 2 of the immediate */
        p[4] = 0x88;
        CHECK(g() == 0x88993344);
    }
    return 0;
}

/*
 * The 64-bit part (smc-code.S) rewrites code through a second linear
 * mapping: 4-level paging maps the first 1 GiB at 0 and again at 1 GiB
 * (both PDPT entries point at one page directory of 2 MiB pages).
 */
uint64_t smc_pml4[512] __attribute__((aligned(4096)));
uint64_t smc_pdpt[512] __attribute__((aligned(4096)));
static uint64_t smc_pd[512] __attribute__((aligned(4096)));
uint8_t smc_lbuf[4096] __attribute__((aligned(4096)));

__attribute__((noreturn)) void smc_enter_long(uint32_t cr3);

static int cpu_has_long_mode(void)
{
    uint32_t a, b, c, d;

    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u));
    if (a < 0x80000001u) {
        return 0;
    }
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));
    return (d >> 29) & 1;
}

int main(const struct mb_info *mbi)
{
    int r = run_checks();

    if (r) {
        return r;
    }
    printf("smc: all %u checks passed\n", checks);
    if (!cpu_has_long_mode()) {
        printf("smc: no long mode\n");
        return 0x40;
    }
    for (unsigned i = 0; i < 512; i++) {
        smc_pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;
    }
    smc_pdpt[0] = (uintptr_t)smc_pd | PTE_P | PTE_RW;
    smc_pdpt[1] = (uintptr_t)smc_pd | PTE_P | PTE_RW;
    smc_pml4[0] = (uintptr_t)smc_pdpt | PTE_P | PTE_RW;
    smc_enter_long((uintptr_t)smc_pml4);
}
