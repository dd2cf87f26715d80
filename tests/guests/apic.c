/*
 * The local APIC in xAPIC mode (SDM vol. 3, "Advanced Programmable
 * Interrupt Controller (APIC)"): APIC_BASE, the ID and version registers, the
 * software enable in the spurious-interrupt register, a self IPI through
 * the ICR with its IRR/ISR bits and EOI, the task priority (and CR8 in
 * 64-bit mode) holding an interrupt back, and the timer in one-shot mode.
 * Every test suite written for QEMU's x86 machines starts by programming
 * it.  Built as apic32 and apic64.
 */
#include "x86.h"

#define APIC_BASE_ADDR 0xfee00000ul
#define MSR_APIC_BASE 0x1bu
#define APIC_ID 0x20
#define APIC_VER 0x30
#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0

#define VEC_IPI 0x40
#define VEC_TIMER 0x51
#define VEC_SPURIOUS 0xff

static volatile uint32_t *apic_reg(unsigned off)
{
    return (volatile uint32_t *)(APIC_BASE_ADDR + off);
}

static uint32_t apic_read(unsigned off)
{
    return *apic_reg(off);
}

static void apic_write(unsigned off, uint32_t v)
{
    *apic_reg(off) = v;
}

/* The bit of a vector in the 256-bit ISR/IRR/TMR arrays ("Interrupt Acceptance"). */
static int apic_vec_bit(unsigned base, unsigned vec)
{
    return (apic_read(base + (vec / 32) * 0x10) >> (vec % 32)) & 1;
}

static volatile unsigned ipis, timer_ticks;
static volatile int isr_in_handler;

static void on_ipi(struct exc_frame *f)
{
    ipis++;
    isr_in_handler = apic_vec_bit(APIC_ISR, VEC_IPI);
    apic_write(APIC_EOI, 0);
}

static void on_timer(struct exc_frame *f)
{
    timer_ticks++;
    apic_write(APIC_EOI, 0);
}

ASMFN(do_sti_nop, "sti\n\tnop\n\tnop\n\tcli\n\tret");

/* IF set for a while, then clear again: lets whatever is pending in. */
static void open_window(unsigned spins)
{
    __asm__ volatile("sti");
    for (volatile unsigned i = 0; i < spins; i++) {
    }
    __asm__ volatile("cli");
}

static void test_regs(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    uint32_t ver = apic_read(APIC_VER), id = apic_read(APIC_ID) >> 24;

    /* FEE00000h, the BSP flag (bit 8) and the global enable (bit 11) after reset. */
    report((base & ~0xfffull) == APIC_BASE_ADDR && (base & 0x900) == 0x900,
           "APIC_BASE %llx: FEE00000h, enabled, BSP", (unsigned long long)base);
    /* An integrated APIC is version 1xH with at least 5 LVT entries
     * ("Local APIC Version Register"). */
    report((ver & 0xf0) == 0x10 && ((ver >> 16) & 0xff) >= 4, "version register %x", ver);
    report(id == cpuid(1, 0).b >> 24, "APIC ID %x matches CPUID.1:EBX[31:24]", id);
    /* Software enable, spurious vector FFh ("Spurious Interrupt"). */
    apic_write(APIC_SVR, 0x100 | VEC_SPURIOUS);
    report((apic_read(APIC_SVR) & 0x1ff) == (0x100 | VEC_SPURIOUS), "SVR %x reads back",
           apic_read(APIC_SVR));
    apic_write(APIC_TPR, 0);
    /* LINT0/LINT1 masked: nothing from the legacy pins here. */
    apic_write(APIC_LVT_LINT0, 0x10000);
    apic_write(APIC_LVT_LINT1, 0x10000);
}

static void test_self_ipi(void)
{
    int irr;

    set_handler(VEC_IPI, on_ipi);
    /* Fixed delivery to self: destination shorthand 01b ("Interrupt Command Register"). */
    apic_write(APIC_ICR_HI, 0);
    apic_write(APIC_ICR_LO, VEC_IPI | (1u << 18));
    irr = apic_vec_bit(APIC_IRR, VEC_IPI);
    report(irr && ipis == 0, "self IPI with IF clear: pending in the IRR");
    exc_catch(do_sti_nop, 0);
    report(ipis == 1 && isr_in_handler && !apic_vec_bit(APIC_ISR, VEC_IPI) &&
           !apic_vec_bit(APIC_IRR, VEC_IPI),
           "self IPI delivered after sti: in the ISR while handled, EOI clears it (%u)", ipis);
    /* TPR class 5 holds back class 4 ("Task and Processor Priorities"). */
    apic_write(APIC_TPR, 0x50);
    apic_write(APIC_ICR_LO, VEC_IPI | (1u << 18));
    exc_catch(do_sti_nop, 0);
    report(ipis == 1 && apic_vec_bit(APIC_IRR, VEC_IPI), "TPR 50h holds vector 40h back");
#ifdef __x86_64__
    /* CR8 is TPR[7:4] ("Task Priority in IA-32e Mode"). */
    {
        ulong cr8;

        __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
        report(cr8 == 5, "CR8 reads the TPR class: %lx", (unsigned long)cr8);
        __asm__ volatile("mov %0, %%cr8" : : "r"(0ul) : "memory");
    }
#else
    apic_write(APIC_TPR, 0);
#endif
    exc_catch(do_sti_nop, 0);
    report(ipis == 2 && apic_read(APIC_TPR) == 0, "TPR 0 lets it in (%u)", ipis);
    set_handler(VEC_IPI, NULL);
}

static void test_timer(void)
{
    uint32_t c1, c2;

    set_handler(VEC_TIMER, on_timer);
    apic_write(APIC_TDCR, 0xb);                     /* divide by 1 */
    apic_write(APIC_LVT_TIMER, VEC_TIMER);          /* one shot, not masked */
    apic_write(APIC_TMICT, 0x10000000);
    c1 = apic_read(APIC_TMCCT);
    for (volatile unsigned i = 0; i < 10000; i++) {
    }
    c2 = apic_read(APIC_TMCCT);
    report(c1 && c2 < c1, "timer current count goes down: %x then %x", c1, c2);
    apic_write(APIC_TMICT, 0);
    report(apic_read(APIC_TMCCT) == 0, "initial count 0 stops it");
    /* A short one shot: one interrupt, then the count stays 0 ("APIC Timer"). */
    apic_write(APIC_TMICT, 1000);
    open_window(2000000);
    report(timer_ticks == 1 && apic_read(APIC_TMCCT) == 0,
           "one-shot timer: %u interrupt at vector 51h", timer_ticks);
    /* Masked in the LVT: no interrupt. */
    apic_write(APIC_LVT_TIMER, VEC_TIMER | 0x10000);
    apic_write(APIC_TMICT, 1000);
    open_window(2000000);
    report(timer_ticks == 1, "a masked timer raises nothing");
    apic_write(APIC_TMICT, 0);
    set_handler(VEC_TIMER, NULL);
}

int main(const struct mb_info *mbi)
{
    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "apic64" : "apic32";
    x86_setup();
    /* The i8259 stays quiet: all its lines masked (OCW1). */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    if (!((cpuid(1, 0).d >> 9) & 1)) {
        report_skip("local APIC: not in CPUID");
        return report_summary();
    }
    test_regs();
    test_self_ipi();
    test_timer();
    return report_summary();
}
