/*
 * External interrupts through the i8259 and the IDT (SDM vol. 3, 6.8):
 * an interrupt waits while IF is clear, STI lets it in only after the next
 * instruction (the interrupt shadow, 6.8.3), POPF has no such shadow, HLT
 * wakes up for it, a masked IRQ stays pending, and the handler sees the
 * vector, CS:rIP of the next instruction and IF set in the saved flags.
 * The i8254 channel 0 (mode 0, one shot) raises IRQ 0.  Built as
 * interrupts32 and interrupts64.
 */
#include "x86.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define IRQ0_VEC 0x20

static volatile unsigned ticks;
static volatile ulong tick_rip, tick_flags, tick_vec;

static void on_irq0(struct exc_frame *f)
{
    ticks++;
    tick_rip = f->rip;
    tick_flags = f->rflags;
    tick_vec = f->vector;
    outb(PIC1, 0x20);               /* non-specific EOI */
}

/* ICW1-ICW4: edge triggered, cascade, vectors 20h-2Fh, 8086 mode (8259A data sheet). */
static void pic_init(void)
{
    outb(PIC1, 0x11);
    outb(PIC2, 0x11);
    outb(PIC1 + 1, IRQ0_VEC);
    outb(PIC2 + 1, IRQ0_VEC + 8);
    outb(PIC1 + 1, 0x04);
    outb(PIC2 + 1, 0x02);
    outb(PIC1 + 1, 0x01);
    outb(PIC2 + 1, 0x01);
    outb(PIC1 + 1, 0xff);
    outb(PIC2 + 1, 0xff);
}

static void pic_mask_irq0(int masked)
{
    outb(PIC1 + 1, masked ? 0xff : 0xfe);
}

static unsigned pic_irr(void)
{
    outb(PIC1, 0x0a);               /* OCW3: read IRR */
    return inb(PIC1);
}

/* Channel 0, lobyte/hibyte, mode 0: OUT goes high (IRQ 0) after n ticks of 1.193 MHz. */
static void pit_oneshot(unsigned n)
{
    outb(PIT_CMD, 0x30);
    outb(PIT_CH0, n & 0xff);
    outb(PIT_CH0, n >> 8);
}

/* Waits with IF clear until IRQ 0 is pending; 0 when it never came. */
static int wait_pending(void)
{
    for (unsigned i = 0; i < 2000000; i++) {
        if (pic_irr() & 1) {
            return 1;
        }
    }
    return 0;
}

ASMFN(do_sti_nops, "sti\n\tsti_nop1: nop\n\tsti_nop2: nop\n\tcli\n\tret");
ASMFN(do_popf_if, "pushf\n\torl $0x200, (" 
#ifdef __x86_64__
      "%rsp"
#else
      "%esp"
#endif
      ")\n\tpopf\n\tpopf_next: nop\n\tcli\n\tret");
ASMFN(do_sti_hlt, "sti\n\thlt\n\thlt_after: cli\n\tret");
extern char sti_nop1[], sti_nop2[], popf_next[], hlt_after[];

int main(const struct mb_info *mbi)
{
    unsigned t;
    int delivered;

    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "interrupts64" : "interrupts32";
    x86_setup();
    set_handler(IRQ0_VEC, on_irq0);
    pic_init();
    pic_mask_irq0(0);

    /* IF clear: the interrupt waits in the IRR.  Without it nothing below
     * can work (and HLT would sleep for ever). */
    pit_oneshot(100);
    t = ticks;
    if (!report(wait_pending() && ticks == t, "IRQ 0 pending with IF clear is not taken")) {
        return report_summary();
    }
    /* STI: one more instruction runs first (6.8.3). */
    exc_catch(do_sti_nops, 0);
    delivered = report(ticks == t + 1 && tick_rip == (ulong)sti_nop2,
           "after sti the interrupt comes one instruction later: rip %lx (want %lx)",
           (unsigned long)tick_rip, (unsigned long)sti_nop2);

    /* POPF setting IF has no shadow. */
    pit_oneshot(100);
    t = ticks;
    wait_pending();
    exc_catch(do_popf_if, 0);
    report(ticks == t + 1 && tick_rip == (ulong)popf_next,
           "after popf the interrupt comes at once: rip %lx (want %lx)",
           (unsigned long)tick_rip, (unsigned long)popf_next);

    /* Masked in the IMR: pending but not delivered even with IF set. */
    pic_mask_irq0(1);
    pit_oneshot(100);
    t = ticks;
    /* The IMR does not keep the request out of the IRR: wait until it is there. */
    report(wait_pending() && (exc_catch(do_sti_nops, 0), ticks == t),
           "IRQ 0 masked in the IMR is not taken with IF set");
    pic_mask_irq0(0);
    exc_catch(do_sti_nops, 0);
    report(ticks == t + 1, "unmasked, it is taken: %u", ticks - t);

    /* HLT with IF set sleeps until the interrupt: only when they arrive. */
    if (!delivered) {
        report(0, "sti; hlt not tried: interrupts do not reach the CPU");
        return report_summary();
    }
    t = ticks;
    pit_oneshot(1193);
    exc_catch(do_sti_hlt, 0);
    report(ticks == t + 1 && tick_rip == (ulong)hlt_after && tick_vec == IRQ0_VEC &&
           (tick_flags & X86_EFLAGS_IF), "sti; hlt wakes up for IRQ 0: %u, rip %lx",
           ticks - t, (unsigned long)tick_rip);
    pic_mask_irq0(1);
    return report_summary();
}
