/*
 * Two 8259A programmable interrupt controllers, cascaded as on every PC,
 * and the PIIX ELCR (Intel 8259A datasheet; Intel 82371AB PIIX4 datasheet,
 * section 3.4.2 "ELCR").
 *
 * What the model keeps and what it leaves out:
 * - 8086 mode only: the vector is ICW2's bits 7-3 with the level in bits
 *   2-0.  The 8080/8085 CALL sequence (ICW4 bit 0 clear) is accepted but
 *   delivers the same vectors, as QEMU does; buffered mode and ICW3 are
 *   stored and read nowhere.
 * - Trigger mode per line is ELCR's bit (as on PIIX, where ICW1's LTIM is
 *   ignored by the chipset), OR-ed with LTIM so a bare 8259A set up for level
 *   mode behaves as one.  ELCR cannot make IRQ 0, 1, 2, 8 or 13 level
 *   triggered (PIIX4, ELCR1/ELCR2 reserved bits).
 * - Edge mode: a rising edge sets the IRR bit and it stays set until the
 *   request is acknowledged, even when the line falls first.  The datasheet
 *   wants the line held high until the first INTA; devices here (and KVM's
 *   KVM_IRQ_LINE users) may raise and lower a line back to back to send a
 *   pulse, and KVM's in-kernel PIC latches it the same way, so a device
 *   never sees a difference between the two accelerators.
 * - Level mode: IRR follows the line.  A request that goes away before the
 *   acknowledge leaves nothing to deliver, and the acknowledge then returns
 *   the IR7 vector without setting ISR (datasheet, "Interrupt Sequence":
 *   the default IR7).
 * - The cascade: the slave's INT output is the master's IR2 input, taken as
 *   a level.  An edge latch there would lose a slave request that follows
 *   another while the slave's INT stays high (slave in auto-EOI).
 * - Both INTA pulses happen in one call, i8259_ack(); the CPU calls it when
 *   it takes the interrupt.
 *
 * Threads: all state below is touched with the big lock held, by the vCPU
 * thread (port accesses, i8259_ack) and by whichever thread a device raises
 * a line from.
 */
#include <errno.h>
#include <stdint.h>

#include "hw/i8259.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

/* ICW1 (A0 = 0, D4 = 1). */
#define ICW1_IC4  0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define ICW1_SEL  0x10
/* ICW4. */
#define ICW4_UPM  0x01
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW3 (A0 = 0, D4 = 0, D3 = 1). */
#define OCW3_SEL  0x08
#define OCW3_RIS  0x01
#define OCW3_RR   0x02
#define OCW3_P    0x04
#define OCW3_SMM  0x20
#define OCW3_ESMM 0x40

/* Where the chip is in the ICW sequence: the next write to A0 = 1 is... */
enum pic_init {
    PIC_READY,      /* OCW1 */
    PIC_WANT_ICW2,
    PIC_WANT_ICW3,
    PIC_WANT_ICW4,
};

struct i8259;

struct pic_chip {
    struct i8259 *owner;
    bool is_master;
    uint8_t line;           /* input levels as last driven */
    uint8_t irr;
    uint8_t isr;
    uint8_t imr;
    uint8_t elcr;
    uint8_t elcr_mask;      /* ELCR bits that may be set */
    uint8_t vector_base;    /* ICW2 & 0xf8 */
    uint8_t icw1;
    uint8_t icw3;
    uint8_t icw4;
    uint8_t lowest;         /* the level with the lowest priority (rotation) */
    enum pic_init init;
    bool read_isr;          /* OCW3 RIS: reads of A0 = 0 give ISR, not IRR */
    bool poll;              /* OCW3 P: the next read is a poll */
    bool special_mask;      /* OCW3 SMM */
    bool rotate_aeoi;       /* OCW2 "rotate in automatic EOI mode" */
};

struct i8259 {
    struct pic_chip chip[2];    /* master, slave */
    bool intr;                  /* master INT output */
    i8259_intr_fn on_intr_change;
    void *opaque;
};

/* ---- one chip ---- */

static uint8_t pic_level_mask(const struct pic_chip *c)
{
    return (c->icw1 & ICW1_LTIM) ? 0xff : c->elcr;
}

/*
 * The priority rank (0 = highest) of the best level set in mask, or 8 for
 * none.  Level (lowest + 1) & 7 has rank 0 (datasheet, "Rotation").
 */
static unsigned pic_best_rank(const struct pic_chip *c, uint8_t mask)
{
    for (unsigned rank = 0; rank < 8; rank++) {
        if (mask & (1u << ((c->lowest + 1 + rank) & 7))) {
            return rank;
        }
    }
    return 8;
}

static unsigned pic_rank_level(const struct pic_chip *c, unsigned rank)
{
    return (c->lowest + 1 + rank) & 7;
}

/*
 * The level this chip would interrupt with now, or -1.  A request needs a
 * higher priority than everything in service, except that in special mask
 * mode masked in-service levels do not block (datasheet, OCW3 "Special Mask
 * Mode"), and in special fully nested mode the master lets a higher slave
 * request through while IR2 is in service (ICW4 SFNM); the slave has
 * already done the priority check among its own levels.
 */
static int pic_pending(const struct pic_chip *c)
{
    unsigned req = pic_best_rank(c, c->irr & ~c->imr);
    uint8_t busy = c->isr;

    if (req == 8) {
        return -1;
    }
    if (c->special_mask) {
        busy &= ~c->imr;
    }
    if (c->is_master && (c->icw4 & ICW4_SFNM)) {
        busy &= ~(1u << 2);
    }
    if (req < pic_best_rank(c, busy)) {
        return (int)pic_rank_level(c, req);
    }
    return -1;
}

static void pic_drive(struct pic_chip *c, unsigned n, bool level)
{
    uint8_t bit = 1u << n;
    bool was = c->line & bit;

    if (level) {
        c->line |= bit;
    } else {
        c->line &= ~bit;
    }
    if (pic_level_mask(c) & bit) {
        c->irr = level ? (c->irr | bit) : (c->irr & ~bit);
    } else if (level && !was) {
        c->irr |= bit;
    }
}

/* The part of an INTA cycle that belongs to one chip, for level n. */
static void pic_intack(struct pic_chip *c, unsigned n)
{
    uint8_t bit = 1u << n;

    if (c->icw4 & ICW4_AEOI) {
        /* ISR is never set; the EOI happens at the end of the cycle. */
        if (c->rotate_aeoi) {
            c->lowest = n;
        }
    } else {
        c->isr |= bit;
    }
    if (!(pic_level_mask(c) & bit)) {
        c->irr &= ~bit;
    }
}

/* Clears the highest-priority in-service level (non-specific EOI); -1 if none. */
static int pic_eoi_highest(struct pic_chip *c)
{
    unsigned rank = pic_best_rank(c, c->isr);
    unsigned n;

    if (rank == 8) {
        return -1;
    }
    n = pic_rank_level(c, rank);
    c->isr &= ~(1u << n);
    return (int)n;
}

/* Power-on state; ELCR and the line levels belong to the board. */
static void pic_chip_reset(struct pic_chip *c)
{
    c->irr = c->line & c->elcr;
    c->isr = 0;
    c->imr = 0;
    c->vector_base = 0;
    c->icw1 = 0;
    c->icw3 = 0;
    c->icw4 = 0;
    c->lowest = 7;
    c->init = PIC_READY;
    c->read_isr = false;
    c->poll = false;
    c->special_mask = false;
    c->rotate_aeoi = false;
}

/*
 * ICW1 starts initialisation (datasheet, "Initialization Command Words"):
 * the edge-sense latches are reset, so a line must go low and high again
 * before it requests; IMR is cleared; IR7 becomes the lowest priority;
 * special mask mode is cleared and status reads select IRR.  ICW4's
 * contents are cleared when IC4 says no ICW4 follows.
 */
static void pic_write_icw1(struct pic_chip *c, uint8_t v)
{
    c->icw1 = v;
    c->irr = c->line & pic_level_mask(c);
    c->isr = 0;
    c->imr = 0;
    c->lowest = 7;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->rotate_aeoi = false;
    c->icw4 = 0;
    c->init = PIC_WANT_ICW2;
    if (v & 0x04) {
        /* ADI: call address interval, 8080 mode only. */
        log_mask(LOG_UNIMP, "i8259: ICW1 0x%02x: 8080 call interval ignored\n", v);
    }
}

static void pic_write_ocw2(struct pic_chip *c, uint8_t v)
{
    unsigned level = v & 7;
    int n;

    switch (v >> 5) {
    case 0: /* clear rotate in automatic EOI mode */
        c->rotate_aeoi = false;
        break;
    case 4: /* set rotate in automatic EOI mode */
        c->rotate_aeoi = true;
        break;
    case 1: /* non-specific EOI */
        pic_eoi_highest(c);
        break;
    case 5: /* rotate on non-specific EOI */
        n = pic_eoi_highest(c);
        if (n >= 0) {
            c->lowest = (uint8_t)n;
        }
        break;
    case 3: /* specific EOI */
        c->isr &= ~(1u << level);
        break;
    case 7: /* rotate on specific EOI */
        c->isr &= ~(1u << level);
        c->lowest = level;
        break;
    case 6: /* set priority: level becomes the lowest */
        c->lowest = level;
        break;
    default: /* 2: no operation */
        break;
    }
}

static void pic_write_ocw3(struct pic_chip *c, uint8_t v)
{
    if (v & OCW3_ESMM) {
        c->special_mask = v & OCW3_SMM;
    }
    if (v & OCW3_RR) {
        c->read_isr = v & OCW3_RIS;
    }
    /* P has priority over RR for the next read (datasheet, OCW3). */
    c->poll = v & OCW3_P;
}

/* A write to A0 = 1 outside ICW2-ICW4 is OCW1. */
static void pic_write_data(struct pic_chip *c, uint8_t v)
{
    switch (c->init) {
    case PIC_WANT_ICW2:
        c->vector_base = v & 0xf8;
        if (!(c->icw1 & ICW1_SNGL)) {
            c->init = PIC_WANT_ICW3;
        } else {
            c->init = (c->icw1 & ICW1_IC4) ? PIC_WANT_ICW4 : PIC_READY;
        }
        break;
    case PIC_WANT_ICW3:
        c->icw3 = v;
        c->init = (c->icw1 & ICW1_IC4) ? PIC_WANT_ICW4 : PIC_READY;
        break;
    case PIC_WANT_ICW4:
        c->icw4 = v;
        c->init = PIC_READY;
        if (!(v & ICW4_UPM)) {
            log_mask(LOG_UNIMP, "i8259: ICW4 0x%02x: 8080 mode, delivering 8086 vectors\n",
                     v);
        }
        break;
    default:
        c->imr = v;
        break;
    }
}

/* ---- the pair ---- */

/* Recomputes the cascade and the INTR pin after any change. */
static void i8259_update(struct i8259 *pic)
{
    struct pic_chip *m = &pic->chip[0];
    bool intr;

    /* IR2 is the slave's INT, as a level whatever the trigger mode. */
    if (pic_pending(&pic->chip[1]) >= 0) {
        m->line |= 1u << 2;
        m->irr |= 1u << 2;
    } else {
        m->line &= ~(1u << 2);
        m->irr &= ~(1u << 2);
    }
    intr = pic_pending(m) >= 0;
    if (intr != pic->intr) {
        pic->intr = intr;
        if (pic->on_intr_change) {
            pic->on_intr_change(pic->opaque, intr);
        }
    }
}

/*
 * Poll (OCW3 P): the read acts as an acknowledge for this chip and returns
 * 0x80 | level, or 0 with nothing pending (datasheet, "The Poll Command").
 * Polling the master finds the slave as level 2; the guest polls the slave
 * next, as the datasheet's cascade example does.
 */
static uint8_t pic_poll_read(struct pic_chip *c)
{
    int n = pic_pending(c);

    if (n < 0) {
        return 0;
    }
    pic_intack(c, (unsigned)n);
    return 0x80 | (uint8_t)n;
}

static uint8_t pic_read_byte(struct i8259 *pic, struct pic_chip *c, unsigned a0)
{
    uint8_t v;

    if (c->poll) {
        c->poll = false;
        v = pic_poll_read(c);
        i8259_update(pic);
        return v;
    }
    if (a0) {
        return c->imr;
    }
    return c->read_isr ? c->isr : c->irr;
}

static void pic_write_byte(struct i8259 *pic, struct pic_chip *c, unsigned a0, uint8_t v)
{
    if (a0) {
        pic_write_data(c, v);
    } else if (v & ICW1_SEL) {
        pic_write_icw1(c, v);
    } else if (v & OCW3_SEL) {
        pic_write_ocw3(c, v);
    } else {
        pic_write_ocw2(c, v);
    }
    i8259_update(pic);
}

/* A word or wider access is handled as successive byte accesses. */
static uint64_t pic_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pic_chip *c = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)pic_read_byte(c->owner, c, (offset + i) & 1) << (8 * i);
    }
    return v;
}

static void pic_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pic_chip *c = opaque;

    for (unsigned i = 0; i < size; i++) {
        pic_write_byte(c->owner, c, (offset + i) & 1, (uint8_t)(value >> (8 * i)));
    }
}

static const struct io_ops pic_io_ops = {
    .read = pic_io_read,
    .write = pic_io_write,
};

/* ELCR1 at 0x4d0 (master), ELCR2 at 0x4d1 (slave). */
static uint64_t elcr_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8259 *pic = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)pic->chip[(offset + i) & 1].elcr << (8 * i);
    }
    return v;
}

static void elcr_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct i8259 *pic = opaque;

    for (unsigned i = 0; i < size; i++) {
        struct pic_chip *c = &pic->chip[(offset + i) & 1];
        uint8_t lvl;

        c->elcr = (uint8_t)(value >> (8 * i)) & c->elcr_mask;
        /* A line that is now level triggered requests exactly while high. */
        lvl = pic_level_mask(c);
        c->irr = (c->irr & ~lvl) | (c->line & lvl);
    }
    i8259_update(pic);
}

static const struct io_ops elcr_io_ops = {
    .read = elcr_io_read,
    .write = elcr_io_write,
};

/* ---- the API ---- */

void i8259_set_irq(struct i8259 *pic, unsigned irq, int level)
{
    if (irq > 15 || irq == 2) {
        return;
    }
    pic_drive(&pic->chip[irq >> 3], irq & 7, level != 0);
    i8259_update(pic);
}

bool i8259_has_interrupt(const struct i8259 *pic)
{
    return pic->intr;
}

int i8259_ack(struct i8259 *pic)
{
    struct pic_chip *m = &pic->chip[0];
    struct pic_chip *s = &pic->chip[1];
    int n = pic_pending(m);
    int vector;

    if (n < 0) {
        vector = m->vector_base + 7;
    } else {
        pic_intack(m, (unsigned)n);
        if (n == 2) {
            /*
             * The slave supplies the vector.  Its request cannot have gone
             * (IR2 follows its INT), but should it have, it answers with
             * its own IR7 after the master has put IR2 in service.
             */
            int k = pic_pending(s);

            if (k >= 0) {
                pic_intack(s, (unsigned)k);
                vector = s->vector_base + k;
            } else {
                vector = s->vector_base + 7;
            }
        } else {
            vector = m->vector_base + n;
        }
    }
    i8259_update(pic);
    return vector;
}

void i8259_reset(struct i8259 *pic)
{
    for (unsigned i = 0; i < 2; i++) {
        pic->chip[i].elcr = 0;
        pic_chip_reset(&pic->chip[i]);
    }
    i8259_update(pic);
}

struct i8259 *i8259_create(i8259_intr_fn on_intr_change, void *opaque, GError **errp)
{
    struct i8259 *pic = g_new0(struct i8259, 1);

    pic->chip[0].owner = pic;
    pic->chip[1].owner = pic;
    pic->chip[0].is_master = true;
    pic->chip[0].elcr_mask = 0xf8;  /* IRQ 0, 1, 2 are always edge */
    pic->chip[1].elcr_mask = 0xde;  /* IRQ 8 and 13 are always edge */
    pic->on_intr_change = on_intr_change;
    pic->opaque = opaque;
    for (unsigned i = 0; i < 2; i++) {
        pic_chip_reset(&pic->chip[i]);
    }
    if (io_register_pio(0x20, 2, "i8259-master", &pic_io_ops, &pic->chip[0], errp) < 0) {
        g_free(pic);
        return NULL;
    }
    if (io_register_pio(0xa0, 2, "i8259-slave", &pic_io_ops, &pic->chip[1], errp) < 0 ||
        io_register_pio(0x4d0, 2, "elcr", &elcr_io_ops, pic, errp) < 0) {
        /*
         * The ranges already claimed point into pic and stay until
         * io_unregister_all(), so pic must stay too.
         */
        return NULL;
    }
    return pic;
}

void i8259_free(struct i8259 *pic)
{
    g_free(pic);
}
