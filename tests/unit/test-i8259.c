/*
 * The cascaded 8259A pair as a guest kernel programs it: every register
 * access goes through io_pio() as a vCPU's IN/OUT would, lines are driven
 * with i8259_set_irq() as devices do, and the CPU side is i8259_has_interrupt()
 * and i8259_ack().  Each case builds a fresh pair after io_unregister_all().
 *
 * Threads: the single test thread holds the big lock throughout.
 */
#include <stdint.h>

#include <glib.h>

#include "hw/i8259.h"
#include "system/main-loop.h"
#include "system/memory.h"

#define M_CMD  0x20
#define M_DATA 0x21
#define S_CMD  0xa0
#define S_DATA 0xa1
#define ELCR1  0x4d0
#define ELCR2  0x4d1

/* OCW2 and OCW3 values, as drivers name them. */
#define EOI          0x20
#define SPECIFIC_EOI 0x60
#define ROTATE_EOI   0xa0
#define SET_PRIO     0xc0
#define ROTATE_AEOI_SET 0x80
#define READ_IRR     0x0a
#define READ_ISR     0x0b
#define POLL         0x0c
#define SMM_ON       0x68
#define SMM_OFF      0x48

static struct i8259 *pic;
static unsigned intr_rises, intr_falls;
static bool intr_seen;

static void on_intr(void *opaque, bool level)
{
    g_assert(opaque == &intr_seen);
    /* The hook reports changes only. */
    g_assert_cmpint(level, !=, intr_seen);
    intr_seen = level;
    if (level) {
        intr_rises++;
    } else {
        intr_falls++;
    }
}

static uint8_t inb(uint16_t port)
{
    uint8_t v = 0x5a;

    io_pio(port, &v, 1, false);
    return v;
}

static void outb(uint16_t port, uint8_t v)
{
    io_pio(port, &v, 1, true);
}

static uint8_t read_irr(uint16_t cmd)
{
    outb(cmd, READ_IRR);
    return inb(cmd);
}

static uint8_t read_isr(uint16_t cmd)
{
    outb(cmd, READ_ISR);
    return inb(cmd);
}

/* A fresh, uninitialised pair. */
static void fresh(void)
{
    GError *err = NULL;

    io_unregister_all();
    i8259_free(pic);
    intr_rises = intr_falls = 0;
    intr_seen = false;
    pic = i8259_create(on_intr, &intr_seen, &err);
    g_assert_no_error(err);
    g_assert_nonnull(pic);
}

/* The sequence of Linux's init_8259A() / SeaBIOS: ICW1 0x11, ICW2, ICW3, ICW4. */
static void init_pair(uint8_t mbase, uint8_t sbase, uint8_t icw4)
{
    fresh();
    outb(M_CMD, 0x11);
    outb(M_DATA, mbase);
    outb(M_DATA, 0x04);     /* slave on IR2 */
    outb(M_DATA, icw4);
    outb(S_CMD, 0x11);
    outb(S_DATA, sbase);
    outb(S_DATA, 0x02);     /* slave ID 2 */
    outb(S_DATA, icw4);
    outb(M_DATA, 0x00);
    outb(S_DATA, 0x00);
}

static void linux_init(void)
{
    init_pair(0x20, 0x28, 0x01);
}

static void pulse(unsigned irq)
{
    i8259_set_irq(pic, irq, 1);
    i8259_set_irq(pic, irq, 0);
}

/* EOI for a vector of linux_init(): slave first, then master. */
static void eoi_irq(unsigned irq)
{
    if (irq >= 8) {
        outb(S_CMD, EOI);
    }
    outb(M_CMD, EOI);
}

static void test_vectors(void)
{
    init_pair(0x08, 0x70, 0x01);
    g_assert_false(i8259_has_interrupt(pic));
    i8259_set_irq(pic, 1, 1);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_true(intr_seen);
    g_assert_cmpint(i8259_ack(pic), ==, 0x09);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmphex(read_isr(M_CMD), ==, 0x02);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x00);
    outb(M_CMD, EOI);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);

    i8259_set_irq(pic, 12, 1);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x74);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x04);
    g_assert_cmphex(read_isr(S_CMD), ==, 0x10);
    eoi_irq(12);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    g_assert_cmphex(read_isr(S_CMD), ==, 0x00);
    g_assert_cmpuint(intr_rises, ==, 2);
    g_assert_cmpuint(intr_falls, ==, 2);

    /* Linux's bases; IRQ 0 and IRQ 15 are real requests, with ISR set. */
    linux_init();
    pulse(0);
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x01);
    outb(M_CMD, EOI);
    pulse(15);
    g_assert_cmpint(i8259_ack(pic), ==, 0x2f);
    g_assert_cmphex(read_isr(S_CMD), ==, 0x80);
    /* ICW2's low three bits are the level, not the base. */
    init_pair(0x27, 0x2d, 0x01);
    pulse(3);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    pulse(9);
    outb(M_CMD, EOI);
    g_assert_cmpint(i8259_ack(pic), ==, 0x29);
}

static void test_priority(void)
{
    linux_init();
    pulse(5);
    pulse(3);
    pulse(10);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x2c);
    /* Slave requests come in at the master's IR2, above IR3. */
    g_assert_cmpint(i8259_ack(pic), ==, 0x2a);
    /* IR3 and IR5 wait while IR2 is in service... */
    g_assert_false(i8259_has_interrupt(pic));
    /* ... and a higher level nests. */
    pulse(1);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x06);
    outb(M_CMD, EOI);               /* IR1 */
    g_assert_false(i8259_has_interrupt(pic));
    eoi_irq(10);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    g_assert_false(i8259_has_interrupt(pic));
    outb(M_CMD, EOI);
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
    outb(M_CMD, EOI);
    g_assert_false(i8259_has_interrupt(pic));

    /* On the slave, IRQ 8 beats IRQ 14. */
    pulse(14);
    pulse(8);
    g_assert_cmpint(i8259_ack(pic), ==, 0x28);
    eoi_irq(8);
    g_assert_cmpint(i8259_ack(pic), ==, 0x2e);
}

static void test_mask(void)
{
    linux_init();
    outb(M_DATA, 0x02);
    g_assert_cmphex(inb(M_DATA), ==, 0x02);
    pulse(1);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmphex(read_irr(M_CMD), ==, 0x02);  /* latched, only masked */
    outb(M_DATA, 0x00);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);

    /* outw to 0x20 is OCW3 at 0x20, then OCW1 at 0x21. */
    {
        uint16_t w = 0xfe0b;

        io_pio(M_CMD, &w, 2, true);
        g_assert_cmphex(inb(M_DATA), ==, 0xfe);
        g_assert_cmphex(inb(M_CMD), ==, 0x02);  /* ISR */
        w = 0;
        io_pio(M_CMD, &w, 2, false);
        g_assert_cmphex(w, ==, 0xfe02);
        outb(M_DATA, 0x00);
    }
    outb(M_CMD, EOI);

    /* Masking IR2 on the master hides the whole slave. */
    outb(M_DATA, 0x04);
    pulse(9);
    g_assert_false(i8259_has_interrupt(pic));
    outb(M_DATA, 0x00);
    g_assert_cmpint(i8259_ack(pic), ==, 0x29);
    eoi_irq(9);

    /* And the slave's own IMR. */
    outb(S_DATA, 0x40);
    g_assert_cmphex(inb(S_DATA), ==, 0x40);
    pulse(14);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmphex(read_irr(S_CMD), ==, 0x40);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x00);
    outb(S_DATA, 0x00);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x2e);
}

static void test_eoi(void)
{
    linux_init();
    /* A level in service blocks itself until EOI. */
    pulse(4);
    g_assert_cmpint(i8259_ack(pic), ==, 0x24);
    pulse(4);
    g_assert_false(i8259_has_interrupt(pic));
    outb(M_CMD, EOI);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x24);
    outb(M_CMD, EOI);

    /* Non-specific EOI clears the highest level in service. */
    pulse(5);
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
    pulse(1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x22);
    outb(M_CMD, EOI);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x20);
    /* Specific EOI clears the level it names, and only that one. */
    pulse(1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    outb(M_CMD, SPECIFIC_EOI | 5);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x02);
    outb(M_CMD, SPECIFIC_EOI | 1);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    /* OCW2 no-op (0x40) leaves ISR alone. */
    pulse(6);
    g_assert_cmpint(i8259_ack(pic), ==, 0x26);
    outb(M_CMD, 0x40);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x40);
}

static void test_edge_level(void)
{
    linux_init();
    /* Edge: the request is latched even if the line falls first. */
    pulse(3);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    outb(M_CMD, EOI);
    /* A rising edge after the EOI is a new request... */
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    outb(M_CMD, EOI);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmphex(read_irr(M_CMD), ==, 0x00);
    /* ... but a line held high is not. */
    i8259_set_irq(pic, 3, 1);
    g_assert_false(i8259_has_interrupt(pic));
    i8259_set_irq(pic, 3, 0);
    i8259_set_irq(pic, 3, 1);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    outb(M_CMD, EOI);
    i8259_set_irq(pic, 3, 0);

    /* Level through ELCR: pending exactly while high, again after EOI. */
    outb(ELCR1, 0x08);
    outb(ELCR2, 0x02);
    g_assert_cmphex(inb(ELCR1), ==, 0x08);
    g_assert_cmphex(inb(ELCR2), ==, 0x02);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x08);
    outb(M_CMD, EOI);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    outb(M_CMD, EOI);
    i8259_set_irq(pic, 3, 0);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmphex(read_irr(M_CMD), ==, 0x00);

    /* Level on the slave (IRQ 9), through the cascade. */
    i8259_set_irq(pic, 9, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x29);
    eoi_irq(9);
    g_assert_true(i8259_has_interrupt(pic));
    i8259_set_irq(pic, 9, 0);
    g_assert_false(i8259_has_interrupt(pic));

    /* Switching a high line to level makes it request at once. */
    i8259_set_irq(pic, 5, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
    outb(M_CMD, EOI);
    g_assert_false(i8259_has_interrupt(pic));
    outb(ELCR1, 0x28);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);

    /* PIIX: IRQ 0, 1, 2, 8 and 13 cannot be level triggered. */
    outb(ELCR1, 0xff);
    outb(ELCR2, 0xff);
    g_assert_cmphex(inb(ELCR1), ==, 0xf8);
    g_assert_cmphex(inb(ELCR2), ==, 0xde);
    /* A word access reaches both registers. */
    {
        uint16_t w = 0x0c08;

        io_pio(ELCR1, &w, 2, true);
        w = 0;
        io_pio(ELCR1, &w, 2, false);
        g_assert_cmphex(w, ==, 0x0c08);
    }
}

static void test_auto_eoi(void)
{
    init_pair(0x20, 0x28, 0x03);
    pulse(1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    /* No EOI needed: the same and lower levels come straight through. */
    pulse(6);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x26);
    pulse(1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    /* Both chips in AEOI: back-to-back slave requests are not lost. */
    pulse(11);
    pulse(12);
    g_assert_cmpint(i8259_ack(pic), ==, 0x2b);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x2c);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    g_assert_cmphex(read_isr(S_CMD), ==, 0x00);

    /* Rotate in AEOI mode: each acknowledged level becomes the lowest. */
    outb(M_CMD, ROTATE_AEOI_SET);
    pulse(1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    pulse(1);
    pulse(4);
    g_assert_cmpint(i8259_ack(pic), ==, 0x24);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    /* And cleared again (OCW2 0x00): fixed from the current order. */
    outb(M_CMD, 0x00);
    pulse(4);
    pulse(3);
    /* IR1 was last, so IR2 is highest: 3 before 4, and no more rotation. */
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    pulse(3);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    g_assert_cmpint(i8259_ack(pic), ==, 0x24);
}

static void test_ocw3_reads(void)
{
    linux_init();
    outb(M_DATA, 0xff);
    pulse(0);
    pulse(6);
    /* Power-on/ICW1 default reads IRR. */
    g_assert_cmphex(inb(M_CMD), ==, 0x41);
    outb(M_DATA, 0x00);
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x40);
    /* The selection persists across reads, and IMR is on the data port. */
    outb(M_CMD, READ_ISR);
    g_assert_cmphex(inb(M_CMD), ==, 0x01);
    g_assert_cmphex(inb(M_CMD), ==, 0x01);
    outb(M_DATA, 0x81);
    g_assert_cmphex(inb(M_DATA), ==, 0x81);
    /* An OCW3 without RR keeps the selection. */
    outb(M_CMD, 0x08);
    g_assert_cmphex(inb(M_CMD), ==, 0x01);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x40);
    g_assert_cmphex(inb(M_CMD), ==, 0x40);
    /* The slave has its own selection. */
    outb(S_DATA, 0xff);
    pulse(13);
    g_assert_cmphex(read_irr(S_CMD), ==, 0x20);
    g_assert_cmphex(read_isr(S_CMD), ==, 0x00);
    g_assert_cmphex(inb(M_CMD), ==, 0x40);
}

static void test_spurious(void)
{
    linux_init();
    /* A real IR7 sets ISR7... */
    pulse(7);
    g_assert_cmpint(i8259_ack(pic), ==, 0x27);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x80);
    outb(M_CMD, EOI);
    /* ... a level request that goes away before INTA gives IR7 without. */
    outb(ELCR1, 0x20);
    i8259_set_irq(pic, 5, 1);
    g_assert_true(i8259_has_interrupt(pic));
    i8259_set_irq(pic, 5, 0);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmpuint(intr_falls, ==, 2);
    g_assert_cmpint(i8259_ack(pic), ==, 0x27);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    g_assert_cmphex(read_isr(S_CMD), ==, 0x00);
    /* Same for a request masked between INTR and INTA. */
    pulse(4);
    outb(M_DATA, 0x10);
    g_assert_cmpint(i8259_ack(pic), ==, 0x27);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x10);
    /* Slave level request gone: the master has nothing, IR7 again. */
    outb(ELCR2, 0x04);
    i8259_set_irq(pic, 10, 1);
    g_assert_true(i8259_has_interrupt(pic));
    i8259_set_irq(pic, 10, 0);
    g_assert_cmpint(i8259_ack(pic), ==, 0x27);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
}

static void test_poll(void)
{
    linux_init();
    pulse(4);
    outb(M_CMD, POLL);
    g_assert_cmphex(inb(M_CMD), ==, 0x84);
    /* The poll read acknowledged it. */
    g_assert_cmphex(read_isr(M_CMD), ==, 0x10);
    g_assert_false(i8259_has_interrupt(pic));
    /* Nothing pending: bit 7 clear. */
    outb(M_CMD, POLL);
    g_assert_cmphex(inb(M_CMD), ==, 0x00);
    /* Poll is one-shot: the next read is the selected register again. */
    g_assert_cmphex(inb(M_CMD), ==, 0x10);
    outb(M_CMD, EOI);
    /* Cascade: the master says level 2, the slave names the line. */
    pulse(11);
    outb(M_CMD, POLL);
    g_assert_cmphex(inb(M_CMD), ==, 0x82);
    outb(S_CMD, POLL);
    g_assert_cmphex(inb(S_CMD), ==, 0x83);
    g_assert_cmphex(read_isr(S_CMD), ==, 0x08);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x04);
    g_assert_false(i8259_has_interrupt(pic));
    /* A read of the data port after POLL is a poll too. */
    eoi_irq(11);
    pulse(6);
    outb(M_CMD, POLL);
    g_assert_cmphex(inb(M_DATA), ==, 0x86);
    /* An OCW3 without P takes a poll command back. */
    outb(M_CMD, EOI);
    pulse(5);
    outb(M_CMD, POLL);
    outb(M_CMD, READ_IRR);
    g_assert_cmphex(inb(M_CMD), ==, 0x20);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
}

static void test_rotation(void)
{
    linux_init();
    /* Rotate on non-specific EOI: IR3 becomes the lowest. */
    pulse(3);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    outb(M_CMD, ROTATE_EOI);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    pulse(1);
    pulse(3);
    pulse(5);
    /* Order 4 5 6 7 0 1 2 3. */
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
    g_assert_false(i8259_has_interrupt(pic));
    outb(M_CMD, EOI);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    outb(M_CMD, EOI);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    outb(M_CMD, EOI);

    /* Set priority: IR4 lowest, so the order is 5 6 7 0 1 2 3 4. */
    outb(M_CMD, SET_PRIO | 4);
    pulse(4);
    pulse(0);
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
    pulse(6);
    g_assert_cmpint(i8259_ack(pic), ==, 0x26);     /* IR6 nests above IR0 */
    g_assert_cmphex(read_isr(M_CMD), ==, 0x41);
    /* Non-specific EOI follows the rotated order: IR6 goes, IR0 stays. */
    outb(M_CMD, EOI);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x01);
    /* Rotate on specific EOI: IR0 cleared and made lowest. */
    outb(M_CMD, 0xe0 | 0);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    g_assert_cmpint(i8259_ack(pic), ==, 0x24);
    outb(M_CMD, EOI);
    /* Order 1 2 ... 7 0 now (with IR4 still lowest, IR0 would win). */
    pulse(0);
    pulse(3);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    outb(M_CMD, EOI);
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
    outb(M_CMD, EOI);

    /* ICW1 restores the fixed order. */
    outb(M_CMD, SET_PRIO | 4);
    outb(M_CMD, 0x11);
    outb(M_DATA, 0x20);
    outb(M_DATA, 0x04);
    outb(M_DATA, 0x01);
    pulse(6);
    pulse(0);
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
}

static void test_special_mask(void)
{
    linux_init();
    pulse(1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    pulse(5);
    g_assert_false(i8259_has_interrupt(pic));
    /* Mask the level in service and enter special mask mode. */
    outb(M_DATA, 0x02);
    g_assert_false(i8259_has_interrupt(pic));
    outb(M_CMD, SMM_ON);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x22);
    outb(M_CMD, SPECIFIC_EOI | 5);
    /* Leaving it blocks lower levels behind IR1 again. */
    outb(M_CMD, SMM_OFF);
    pulse(6);
    g_assert_false(i8259_has_interrupt(pic));
    outb(M_CMD, SPECIFIC_EOI | 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x26);
}

static void test_reinit(void)
{
    linux_init();
    outb(M_DATA, 0xfb);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmphex(read_irr(M_CMD), ==, 0x08);
    /* ICW1 clears IMR and the edge latches, and reads IRR again. */
    outb(M_CMD, READ_ISR);
    outb(M_CMD, 0x11);
    outb(M_DATA, 0x20);
    outb(M_DATA, 0x04);
    outb(M_DATA, 0x01);
    g_assert_cmphex(inb(M_DATA), ==, 0x00);
    g_assert_cmphex(inb(M_CMD), ==, 0x00);
    g_assert_false(i8259_has_interrupt(pic));
    /* The line stayed high: only a new rising edge requests. */
    i8259_set_irq(pic, 3, 1);
    g_assert_false(i8259_has_interrupt(pic));
    i8259_set_irq(pic, 3, 0);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);

    /* ICW1 also clears ISR, special mask mode and the ISR selection. */
    linux_init();
    outb(ELCR1, 0x20);
    i8259_set_irq(pic, 1, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);
    outb(M_DATA, 0x02);
    outb(M_CMD, SMM_ON);
    outb(M_CMD, READ_ISR);
    g_assert_cmphex(inb(M_CMD), ==, 0x02);
    outb(M_CMD, 0x11);
    outb(M_DATA, 0x20);
    outb(M_DATA, 0x04);
    outb(M_DATA, 0x01);
    i8259_set_irq(pic, 5, 1);                   /* level: in IRR while high */
    g_assert_cmphex(inb(M_CMD), ==, 0x20);      /* IRR, not ISR */
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);
    /* With IR5 in service and masked, IR6 waits: special mask mode is off. */
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
    outb(M_DATA, 0x20);
    i8259_set_irq(pic, 6, 1);
    g_assert_false(i8259_has_interrupt(pic));
    outb(M_CMD, SMM_ON);
    g_assert_true(i8259_has_interrupt(pic));

    /* Without IC4, ICW4 is zero: no auto-EOI even if it was on before. */
    init_pair(0x20, 0x28, 0x03);
    outb(M_CMD, 0x10);                  /* ICW1: no ICW4, cascade */
    outb(M_DATA, 0x20);
    outb(M_DATA, 0x04);
    outb(M_DATA, 0xef);                 /* OCW1 now, not ICW4 */
    g_assert_cmphex(inb(M_DATA), ==, 0xef);
    pulse(4);
    g_assert_cmpint(i8259_ack(pic), ==, 0x24);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x10);

    /* Single mode: no ICW3, the next data write is ICW4. */
    fresh();
    outb(M_CMD, 0x13);
    outb(M_DATA, 0x40);
    outb(M_DATA, 0x03);                 /* ICW4: AEOI */
    outb(M_DATA, 0xfd);                 /* OCW1 */
    g_assert_cmphex(inb(M_DATA), ==, 0xfd);
    pulse(1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x41);
    g_assert_cmphex(read_isr(M_CMD), ==, 0x00);

    /* i8259_reset: back to power-on, ELCR all edge. */
    linux_init();
    outb(ELCR1, 0x08);
    outb(M_DATA, 0x55);
    i8259_reset(pic);
    g_assert_cmphex(inb(ELCR1), ==, 0x00);
    g_assert_cmphex(inb(M_DATA), ==, 0x00);
}

static void test_sfnm(void)
{
    /* Special fully nested mode on the master (ICW4 0x11). */
    fresh();
    outb(M_CMD, 0x11);
    outb(M_DATA, 0x20);
    outb(M_DATA, 0x04);
    outb(M_DATA, 0x11);
    outb(S_CMD, 0x11);
    outb(S_DATA, 0x28);
    outb(S_DATA, 0x02);
    outb(S_DATA, 0x01);
    pulse(12);
    g_assert_cmpint(i8259_ack(pic), ==, 0x2c);
    /* A higher slave level gets through IR2 while it is in service... */
    pulse(9);
    g_assert_true(i8259_has_interrupt(pic));
    g_assert_cmpint(i8259_ack(pic), ==, 0x29);
    /* ... a lower one does not (the slave blocks it). */
    pulse(14);
    g_assert_false(i8259_has_interrupt(pic));

    /* SFNM on the slave changes nothing: it has no cascade input. */
    outb(S_CMD, 0x11);
    outb(S_DATA, 0x28);
    outb(S_DATA, 0x02);
    outb(S_DATA, 0x11);
    pulse(10);
    g_assert_cmpint(i8259_ack(pic), ==, 0x2a);
    outb(M_CMD, EOI);
    pulse(10);
    g_assert_false(i8259_has_interrupt(pic));

    /* Without SFNM the same higher slave level waits for the master EOI. */
    linux_init();
    pulse(12);
    g_assert_cmpint(i8259_ack(pic), ==, 0x2c);
    pulse(9);
    g_assert_false(i8259_has_interrupt(pic));
}

static void test_bad_lines(void)
{
    linux_init();
    /* Line 2 is the cascade, 16 and up do not exist: all ignored. */
    i8259_set_irq(pic, 2, 1);
    i8259_set_irq(pic, 16, 1);
    i8259_set_irq(pic, ~0u, 1);
    g_assert_false(i8259_has_interrupt(pic));
    g_assert_cmphex(read_irr(M_CMD), ==, 0x00);
    g_assert_cmpint(i8259_ack(pic), ==, 0x27);
}

static void test_ports_taken(void)
{
    GError *err = NULL;
    struct i8259 *second;

    fresh();
    second = i8259_create(NULL, NULL, &err);
    g_assert_null(second);
    g_assert_nonnull(err);
    g_error_free(err);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    bql_lock();
    g_test_add_func("/i8259/vectors", test_vectors);
    g_test_add_func("/i8259/priority", test_priority);
    g_test_add_func("/i8259/mask", test_mask);
    g_test_add_func("/i8259/eoi", test_eoi);
    g_test_add_func("/i8259/edge-level", test_edge_level);
    g_test_add_func("/i8259/auto-eoi", test_auto_eoi);
    g_test_add_func("/i8259/ocw3-reads", test_ocw3_reads);
    g_test_add_func("/i8259/spurious", test_spurious);
    g_test_add_func("/i8259/poll", test_poll);
    g_test_add_func("/i8259/rotation", test_rotation);
    g_test_add_func("/i8259/special-mask", test_special_mask);
    g_test_add_func("/i8259/reinit", test_reinit);
    g_test_add_func("/i8259/sfnm", test_sfnm);
    g_test_add_func("/i8259/bad-lines", test_bad_lines);
    g_test_add_func("/i8259/ports-taken", test_ports_taken);
    ret = g_test_run();
    io_unregister_all();
    i8259_free(pic);
    bql_unlock();
    return ret;
}
