/*
 * Exceptions through the IDT in 32-bit protected mode (SDM vol. 3, 6.12):
 * faults save the address of the faulting instruction, traps (INT3, INT n,
 * INTO) the next one; #GP, #NP carry the error codes of 6.13.  The
 * handlers (exceptions-entry.S) record what they see and resume the test
 * without IRET.  Exit code 0 when every check passes, else the number of
 * the first one that failed.  "traps=1" on the command line adds the
 * software interrupts, which KVM only runs with hardware virtualization
 * behind it (its instruction emulator handles them otherwise).
 */
#include "guest.h"

struct gate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
} __attribute__((packed));

static struct gate idt[256] __attribute__((aligned(8)));
static const uint64_t gdt[] __attribute__((aligned(8))) = {
    0,
    0x00cf9a000000ffffull,          /* 0x08: code */
    0x00cf92000000ffffull,          /* 0x10: data */
    0x004092000000ffffull - 0xf000, /* 0x18: data, limit 0xfff, byte granular */
    0x00cf12000000ffffull,          /* 0x20: data, not present */
};

extern uint32_t exc_vec, exc_err, exc_eip;
int exc_try(void (*fn)(void));
void exc_stub_0(void), exc_stub_3(void), exc_stub_4(void), exc_stub_6(void);
void exc_stub_11(void), exc_stub_13(void), exc_stub_128(void);
void do_ud2(void), do_int3(void), do_int80(void), do_div0(void), do_into(void);
void do_limit(void), do_np(void), do_gdt_limit(void);
extern uint8_t at_ud2[], after_int3[], after_int80[], at_div0[], after_into[];
extern uint8_t at_limit[], at_np[], at_gdt_limit[];

static unsigned checks;

#define CHECK(cond)                                                              \
    do {                                                                         \
        checks++;                                                                \
        if (!(cond)) {                                                           \
            printf("exceptions: check %u failed: %s (vector %d, error 0x%x, eip " \
                   "0x%x)\n", checks, #cond, (int)exc_vec, exc_err, exc_eip);   \
            return checks;                                                       \
        }                                                                        \
    } while (0)

static void set_gate(unsigned vec, void (*fn)(void))
{
    uintptr_t a = (uintptr_t)fn;

    idt[vec] = (struct gate){ .off_lo = a & 0xffff, .sel = 0x08, .type = 0x8e,
                              .off_hi = a >> 16 };
}

static int run(int traps)
{
    struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uintptr_t)gdt },
      idtr = { sizeof(idt) - 1, (uintptr_t)idt };

    set_gate(0, exc_stub_0);
    set_gate(3, exc_stub_3);
    set_gate(4, exc_stub_4);
    set_gate(6, exc_stub_6);
    set_gate(11, exc_stub_11);
    set_gate(13, exc_stub_13);
    set_gate(0x80, exc_stub_128);
    __asm__ volatile("lgdt %0\n\tlidt %1" : : "m"(gdtr), "m"(idtr));

    CHECK(exc_try(do_ud2) == 6 && exc_eip == (uintptr_t)at_ud2);
    CHECK(exc_try(do_div0) == 0 && exc_eip == (uintptr_t)at_div0);
    CHECK(exc_try(do_limit) == 13 && exc_err == 0 && exc_eip == (uintptr_t)at_limit);
    CHECK(exc_try(do_np) == 11 && exc_err == 0x20 && exc_eip == (uintptr_t)at_np);
    CHECK(exc_try(do_gdt_limit) == 13 && exc_err == 0x80 &&
          exc_eip == (uintptr_t)at_gdt_limit);
    if (traps) {
        CHECK(exc_try(do_int3) == 3 && exc_eip == (uintptr_t)after_int3);
        CHECK(exc_try(do_int80) == 0x80 && exc_eip == (uintptr_t)after_int80);
        CHECK(exc_try(do_into) == 4 && exc_eip == (uintptr_t)after_into);
    }
    return 0;
}

int main(const struct mb_info *mbi)
{
    char buf[8];
    int r = run(mb_cmdline_arg(mbi, "traps", buf, sizeof(buf)) != NULL);

    if (r == 0) {
        printf("exceptions: all %u checks passed\n", checks);
    }
    return r;
}
