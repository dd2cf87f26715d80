/*
 * External interrupts through the PC's interrupt controllers: the i8254
 * counter 0 at 1 kHz on IRQ 0 of the master i8259, an IDT gate for it, and
 * the CPU's side of it:
 *   - HLT with IF set sleeps until the next tick and the handler runs;
 *   - ticks follow the host clock (checked against the ACPI PM timer, a
 *     separate clock: 100 ticks cannot take less than ~100 ms of it);
 *   - the instruction after STI runs before a pending interrupt is taken
 *     (SDM vol. 3, 6.8.3); POPF setting IF takes it at once;
 *   - with IF clear a raised line waits, and is taken at STI;
 *   - a masked IRQ (OCW1) is not delivered; EOI ends the in-service bit;
 *   - with "mode=nmi", an NMI (QMP inject-nmi) wakes HLT with IF clear;
 *   - with "mode=nmi2", an NMI sent from the NMI handler (through the
 *     local APIC) waits for the handler's IRET (SDM vol. 3, 6.7.1).
 * PIC programming: 8259A data sheet (ICW1-4, OCW1-3); PIT: 82C54 mode 2.
 */
#include "guest.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PM_TMR 0x608
#define SMI_CMD 0xb2
#define PM_HZ 3579545u
#define VEC_BASE 0x20

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
} __attribute__((packed));

struct interrupt_frame;

static struct idt_gate idt[256] __attribute__((aligned(8)));
static volatile uint32_t ticks;
static volatile uint32_t marker, marker_seen;

__attribute__((interrupt)) static void tick(struct interrupt_frame *f)
{
    (void)f;
    ticks++;
    marker_seen = marker;
    outb(PIC1, 0x20);   /* non-specific EOI */
}

static void set_gate(unsigned vec, void (*fn)(struct interrupt_frame *))
{
    uint16_t cs;
    uint32_t a = (uint32_t)fn;

    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    idt[vec] = (struct idt_gate){ a & 0xffff, cs, 0, 0x8e, a >> 16 };
}

/* Multiboot leaves GDTR undefined: a flat code (0x08) and data (0x10)
 * segment, the selectors the loader put in CS and DS, for the IDT gate. */
static const uint64_t gdt[3] __attribute__((aligned(8))) = {
    0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
};

struct dtr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static void load_tables(void)
{
    struct dtr g = { sizeof(gdt) - 1, (uint32_t)gdt };
    struct dtr d = { sizeof(idt) - 1, (uint32_t)idt };

    __asm__ volatile("lgdt %0\n\tlidt %1" : : "m"(g), "m"(d));
}

static void pic_init(uint8_t mask1)
{
    outb(PIC1, 0x11);           /* ICW1: edge, cascade, ICW4 */
    outb(PIC1 + 1, VEC_BASE);   /* ICW2 */
    outb(PIC1 + 1, 0x04);       /* ICW3: slave on IR2 */
    outb(PIC1 + 1, 0x01);       /* ICW4: 8086 mode */
    outb(PIC2, 0x11);
    outb(PIC2 + 1, VEC_BASE + 8);
    outb(PIC2 + 1, 0x02);
    outb(PIC2 + 1, 0x01);
    outb(PIC1 + 1, mask1);
    outb(PIC2 + 1, 0xff);
}

static void pit_1khz(void)
{
    unsigned div = 1193;        /* 1193182 Hz / 1193 = 1000.15 Hz */

    outb(PIT_CMD, 0x34);        /* counter 0, LSB then MSB, mode 2 */
    outb(PIT_CH0, div & 0xff);
    outb(PIT_CH0, div >> 8);
}

static uint8_t pic_irr(void)
{
    outb(PIC1, 0x0a);           /* OCW3: read IRR */
    return inb(PIC1);
}

static uint8_t pic_isr(void)
{
    outb(PIC1, 0x0b);           /* OCW3: read ISR */
    return inb(PIC1);
}

/* Spins with IF clear until IRQ 0 is requested. */
static int wait_irr(void)
{
    for (uint32_t i = 0; i < 50000000u; i++) {
        if (pic_irr() & 1) {
            return 0;
        }
    }
    return -1;
}

/*
 * n ticks of the 1 kHz IRQ 0 with IF set, waiting by HLT or by spinning: they must take at
 * least 90% of n ms of the PM timer.  Prints the result; non-zero when it is right.
 */
static int ticks_at_clock_pace(uint32_t n, int hlt)
{
    uint32_t start = ticks, t0 = inl(PM_TMR), t1, elapsed;

    __asm__ volatile("sti");
    while (ticks - start < n) {
        if (hlt) {
            __asm__ volatile("hlt");
        }
    }
    __asm__ volatile("cli");
    t1 = inl(PM_TMR);
    elapsed = ((t1 - t0) & 0xffffff) / (PM_HZ / 1000);
    printf("timer-irq: %u ticks %s, %s\n", n, hlt ? "by hlt" : "while spinning",
           elapsed >= n * 9 / 10 ? "not faster than the clock" : "FASTER than the clock");
    return elapsed >= n * 9 / 10;
}

static volatile uint32_t nmis;
static volatile int nmi_exits;

/* The local APIC's ICR: an NMI to APIC ID 0 (this CPU), SDM vol. 3, 11.6.1. */
static void self_nmi(void)
{
    volatile uint32_t *apic = (volatile uint32_t *)0xfee00000u;

    apic[0x310 / 4] = 0;
    apic[0x300 / 4] = 4u << 8;
}

__attribute__((interrupt)) static void nmi(struct interrupt_frame *f)
{
    (void)f;
    nmis++;
    if (nmi_exits == 2 && nmis == 1) {
        /* A second NMI while this handler runs is held until its IRET. */
        self_nmi();
        for (volatile int i = 0; i < 100000; i++) {
        }
        if (nmis != 1) {
            printf("timer-irq: FAIL: NMI nested inside the NMI handler\n");
            exit(3);
        }
        return;
    }
    if (nmi_exits == 2) {
        printf("timer-irq: second NMI taken after IRET\n");
        exit(0x2b);
    }
    if (nmi_exits) {
        printf("timer-irq: NMI taken with IF clear\n");
        exit(0x2a);
    }
}

/*
 * "nmi" on the command line: announce readiness through pvpanic's
 * crash-loaded bit (GUEST_CRASHLOADED on QMP, so the test knows the IDT is
 * in place), then sleep with IF clear: only an NMI (inject-nmi) wakes it.
 */
__attribute__((noreturn)) static void wait_for_nmi(void)
{
    nmi_exits = 1;
    outb(0x505, 2);
    for (;;) {
        __asm__ volatile("cli\n\thlt");
    }
}

int main(const struct mb_info *mbi)
{
    uint32_t start;
    int fails = 0;
    char buf[8];

    set_gate(VEC_BASE, tick);
    set_gate(2, nmi);
    load_tables();
    if (mb_cmdline_arg(mbi, "mode", buf, sizeof(buf)) && !strncmp(buf, "nmi", 4)) {
        wait_for_nmi();
    }
    if (mb_cmdline_arg(mbi, "mode", buf, sizeof(buf)) && !strncmp(buf, "nmi2", 5)) {
        nmi_exits = 2;
        self_nmi();
        /* Spin (no HLT, nothing else to stop the CPU): the held NMI must
         * come right after the handler's IRET. */
        for (volatile uint32_t i = 0; i < 20000000u; i++) {
        }
        printf("timer-irq: FAIL: the held NMI never came after IRET\n");
        return 4;
    }
    outb(SMI_CMD, 0xf1);        /* ACPI on: the PM timer is read below */
    pic_init(0xff);
    pit_1khz();

    /* Masked: the line is requested in IRR but never delivered. */
    __asm__ volatile("sti");
    if (wait_irr() < 0) {
        printf("timer-irq: FAIL: IRQ 0 never requested\n");
        return 2;
    }
    for (volatile int i = 0; i < 100000; i++) {
    }
    __asm__ volatile("cli");
    printf("timer-irq: masked IRQ 0 delivered %u times (want 0)\n", ticks);
    fails += ticks != 0;

    /* HLT wakes up on each tick; 100 ticks take >= 90 ms of the PM timer. */
    outb(PIC1 + 1, 0xfe);
    fails += !ticks_at_clock_pace(100, 1);
    printf("timer-irq: ISR after EOI %x (want 0)\n", pic_isr());
    fails += pic_isr() != 0;

    /* Spinning with IF set, no HLT: the loop is one block that jumps to itself (translated,
     * it chains to itself), and the ticks must still come, at the clock's pace. */
    fails += !ticks_at_clock_pace(50, 0);

    /* IF clear: the request waits in IRR; the instruction after STI runs
     * before it is taken (the handler sees marker = 1). */
    marker = 0;
    start = ticks;
    if (wait_irr() < 0) {
        printf("timer-irq: FAIL: no request with IF clear\n");
        return 3;
    }
    printf("timer-irq: with IF clear %u delivered (want 0)\n", ticks - start);
    fails += ticks != start;
    __asm__ volatile("sti\n\tmovl $1, %0\n\tnop\n\tcli" : "=m"(marker) : : "memory");
    printf("timer-irq: after sti, taken %u, handler saw marker %u (want 1, 1)\n",
           ticks - start, marker_seen);
    fails += ticks - start != 1 || marker_seen != 1;

    /* POPF setting IF takes a waiting request right after it. */
    start = ticks;
    marker = 0;
    if (wait_irr() < 0) {
        return 5;
    }
    __asm__ volatile("pushf\n\t"
                     "orl $0x200, (%%esp)\n\t"
                     "mov %%ss, %%ax\n\t"
                     "popf\n\t"             /* IF set: the request is taken here */
                     "cli\n\t"
                     : : : "eax", "memory");
    printf("timer-irq: popf with IF set took %u (want 1)\n", ticks - start);
    fails += ticks - start != 1;
    outb(PIC1 + 1, 0xff);
    printf("timer-irq: %s\n", fails ? "FAILED" : "all passed");
    return fails ? 1 : 0;
}
