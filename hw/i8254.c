/*
 * i8254 programmable interval timer (Intel 82C54 datasheet) and the timer-2
 * half of port 0x61 (system control port B of the PC/AT).
 *
 * What the model keeps and what it leaves out:
 * - Time is not stepped: each counter remembers when its count was loaded
 *   and how many 1.193182 MHz clocks it had counted before any pause, and
 *   its value and OUT pin are computed from the clock when asked.
 * - The datasheet loads a new count into the counting element on the CLK
 *   pulse after the write; here counting starts at the write itself, so
 *   every time is one clock (838 ns) early.  Null Count (read-back status
 *   bit 6) still reads 1 until one clock has passed.
 * - A new count written in modes 2 and 3 while counting takes effect at
 *   once, not at the end of the current period.  Linux, SeaBIOS and the
 *   BSDs write the control word first, which restarts the counter anyway.
 * - A new count written in modes 1 and 5 waits for the next trigger with
 *   OUT high, instead of letting a one-shot already running finish.
 * - Counts of 1 in modes 2 and 3 (illegal, datasheet) keep OUT high.
 * - Mode 3 with an odd count keeps OUT high for (N+1)/2 clocks and low for
 *   (N-1)/2; the counter values read in that mode are approximate.
 * - Gates: counters 0 and 1 have theirs tied high as on a PC; counter 2's
 *   is port 0x61 bit 0.  Bit 1 (speaker data) and bits 2-3 are kept and
 *   read back; bit 4 toggles every 15.085 us as the DRAM refresh request
 *   did (old delay loops poll it); bit 5 is counter 2's OUT.
 * - Counter 0's OUT is IRQ 0.  i8254_update() delivers every edge up to
 *   "now", so the one-clock low pulse of mode 2 is never lost even when the
 *   main loop's timer fires late; a backlog of more than two periods
 *   collapses into the last period's edges (missed ticks are dropped, as a
 *   PIC latching one edge would drop them).
 *
 * Threads: vCPU threads (port accesses) and the timer's thread (the main
 * loop's, or with -icount the vCPU's; i8254_update) touch the state,
 * always with the big lock held.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hw/i8254.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/vclock.h"

#define NS_PER_SEC          1000000000ull
#define REFRESH_PERIOD_NS   15085u      /* port 0x61 bit 4 half-period */
#define NO_EDGE             UINT64_MAX

/* Port 0x61 bits. */
#define PORTB_GATE2     0x01
#define PORTB_SPKR      0x02
#define PORTB_KEPT      0x0f    /* bits 0-3 are writable */
#define PORTB_REFRESH   0x10
#define PORTB_OUT2      0x20

/* Control word fields (datasheet, "Control Word Format"). */
#define CW_SC(cw)       (((cw) >> 6) & 3)
#define CW_RW(cw)       (((cw) >> 4) & 3)
#define CW_MODE(cw)     (((cw) >> 1) & 7)
#define CW_BCD          0x01
#define SC_READBACK     3
#define RW_LATCH        0
#define RW_LSB          1
#define RW_MSB          2
#define RW_WORD         3
/* Read-back command: bits 5 and 4 are active low, bits 3-1 select 2..0. */
#define RB_NO_COUNT     0x20
#define RB_NO_STATUS    0x10
#define RB_SELECT(i)    (2u << (i))
/* Status byte. */
#define ST_OUT          0x80
#define ST_NULL         0x40

enum latch_state { LATCH_NONE, LATCH_LSB, LATCH_MSB, LATCH_WORD, LATCH_WORD_MSB };

struct pit_channel {
    uint8_t cw;             /* control word bits 5-0, as the status byte shows */
    uint8_t mode;           /* 0-5 (6 and 7 alias 2 and 3) */
    uint8_t access;         /* RW_LSB, RW_MSB, RW_WORD */
    bool bcd;
    bool gate;

    uint32_t count;         /* initial count, 1..0x10000 (binary) or 1..10000 (BCD) */
    bool loaded;            /* a count is in place since the last control word */
    bool triggered;         /* modes 1 and 5: a gate rising edge since the load */
    bool counting;          /* the clock reaches the counting element */
    int64_t load_ns;        /* when the count was written (Null Count) */
    int64_t base_ns;        /* counting (re)started here ... */
    uint64_t held;          /* ... after this many clocks counted earlier */
    uint32_t frozen;        /* the value shown while there is no count */

    bool write_msb_next;    /* RW_WORD write flip-flop */
    uint8_t write_lsb;
    bool read_msb_next;     /* RW_WORD read flip-flop */
    enum latch_state latch;
    uint16_t latched;
    bool status_latched;
    uint8_t status;
};

struct i8254 {
    struct pit_channel ch[3];
    uint8_t port_b;         /* bits 0-3 of port 0x61 */
    int64_t (*clock_ns)(void);
    void (*irq)(void *opaque, int level);
    void *opaque;
    int irq_level;          /* the level last given to irq() */
    uint64_t irq_ticks;     /* counter 0's edges are delivered up to here */
    void (*changed)(void *opaque);  /* after a guest write to 0x40-0x43 */
    void *changed_opaque;
};

void i8254_set_change_hook(struct i8254 *pit, void (*fn)(void *opaque), void *opaque)
{
    pit->changed = fn;
    pit->changed_opaque = opaque;
}


/* ---- time ---- */

/* Whole clocks in dns nanoseconds: floor(dns * F / 1e9), without overflow. */
static uint64_t ns_to_ticks(int64_t dns)
{
    uint64_t d;

    if (dns <= 0) {
        return 0;
    }
    d = (uint64_t)dns;
    return d / NS_PER_SEC * I8254_FREQ_HZ + d % NS_PER_SEC * I8254_FREQ_HZ / NS_PER_SEC;
}

/* The first nanosecond at which t clocks have passed: ceil(t * 1e9 / F). */
static uint64_t ticks_to_ns(uint64_t t)
{
    return t / I8254_FREQ_HZ * NS_PER_SEC +
           (t % I8254_FREQ_HZ * NS_PER_SEC + I8254_FREQ_HZ - 1) / I8254_FREQ_HZ;
}

static bool pit_gated_mode(const struct pit_channel *c)
{
    return c->mode == 1 || c->mode == 5;
}

/* Is the counter running a count (not waiting for one or for a trigger)? */
static bool pit_active(const struct pit_channel *c)
{
    return c->loaded && (!pit_gated_mode(c) || c->triggered);
}

static uint64_t pit_elapsed(const struct pit_channel *c, int64_t now)
{
    return c->held + (c->counting ? ns_to_ticks(now - c->base_ns) : 0);
}

static uint32_t pit_modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000 : 0x10000;
}

/* OUT after d clocks of an active count (datasheet, "Mode Definitions"). */
static bool pit_out_at(const struct pit_channel *c, uint64_t d)
{
    uint64_t n = c->count;

    switch (c->mode) {
    case 0:
    case 1:
        return d >= n;              /* high at terminal count, and stays */
    case 2:
        if (!c->gate || n < 2) {
            return true;
        }
        return d % n != n - 1;      /* low for the clock the count is 1 */
    case 3:
        if (!c->gate || n < 2) {
            return true;
        }
        return d % n < (n + 1) / 2; /* high the first half */
    default:                        /* 4, 5: one clock low at terminal count */
        return d != n;
    }
}

/* The first clock count after d at which OUT changes, or NO_EDGE. */
static uint64_t pit_next_edge(const struct pit_channel *c, uint64_t d)
{
    uint64_t n = c->count, r;

    switch (c->mode) {
    case 0:
    case 1:
        return d < n ? n : NO_EDGE;
    case 2:
        if (!c->gate || n < 2) {
            return NO_EDGE;
        }
        r = d % n;
        return r < n - 1 ? d + (n - 1 - r) : d + 1;
    case 3:
        if (!c->gate || n < 2) {
            return NO_EDGE;
        }
        r = d % n;
        return r < (n + 1) / 2 ? d + ((n + 1) / 2 - r) : d + (n - r);
    default:
        return d < n ? n : d == n ? n + 1 : NO_EDGE;
    }
}

static bool pit_out(const struct pit_channel *c, int64_t now)
{
    if (!c->loaded) {
        return c->mode != 0;        /* mode 0: low from the control word on */
    }
    if (!pit_active(c)) {
        return true;                /* modes 1, 5 wait high for a trigger */
    }
    return pit_out_at(c, pit_elapsed(c, now));
}

/* The counting element's value (binary, 0..modulus) at now. */
static uint32_t pit_value(const struct pit_channel *c, int64_t now)
{
    uint64_t d, n = c->count, m = pit_modulus(c), r, h;

    if (!pit_active(c)) {
        return c->frozen;
    }
    d = pit_elapsed(c, now);
    switch (c->mode) {
    case 2:
        return n - d % n;
    case 3:
        /* Counts down by two through each half (datasheet, Mode 3). */
        r = d % n;
        h = (n + 1) / 2;
        return (n & ~1ull) - 2 * (r < h ? r : r - h);
    default:
        /* One-shot modes wrap and keep counting after terminal count. */
        return (n + m - d % m) % m;
    }
}

/* What a read of the counter shows: 16 bits, BCD digits when BCD. */
static uint16_t pit_raw(const struct pit_channel *c, uint32_t v)
{
    if (c->bcd) {
        v %= 10000;
        return (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
    }
    return v & 0xffff;
}

/* ---- counter 0 to IRQ 0 ---- */

static void pit_set_irq(struct i8254 *s, int level)
{
    if (level != s->irq_level) {
        s->irq_level = level;
        if (s->irq) {
            s->irq(s->opaque, level);
        }
    }
}

/* Delivers counter 0's edges up to now (see the top of the file). */
static void pit_irq_catch_up(struct i8254 *s, int64_t now)
{
    const struct pit_channel *c = &s->ch[0];
    uint64_t d, d_now, e;

    if (!pit_active(c) || !c->counting) {
        pit_set_irq(s, pit_out(c, now));
        return;
    }
    d_now = pit_elapsed(c, now);
    d = s->irq_ticks;
    if (d_now <= d) {
        return;
    }
    if ((c->mode == 2 || c->mode == 3) && d_now - d > 2ull * c->count) {
        d = d_now - d_now % c->count - c->count;
    }
    for (e = pit_next_edge(c, d); e != NO_EDGE && e <= d_now; e = pit_next_edge(c, e)) {
        pit_set_irq(s, pit_out_at(c, e));
    }
    s->irq_ticks = d_now;
}

/* After counter 0 is reprogrammed: its edges start again from now. */
static void pit_irq_restart(struct i8254 *s, int64_t now)
{
    s->irq_ticks = pit_elapsed(&s->ch[0], now);
    pit_set_irq(s, pit_out(&s->ch[0], now));
}

int64_t i8254_next_event_ns(struct i8254 *s)
{
    const struct pit_channel *c = &s->ch[0];
    uint64_t e;

    if (!pit_active(c) || !c->counting) {
        return -1;
    }
    e = pit_next_edge(c, s->irq_ticks);
    if (e == NO_EDGE) {
        return -1;
    }
    return c->base_ns + (int64_t)(e > c->held ? ticks_to_ns(e - c->held) : 0);
}

void i8254_update(struct i8254 *s, int64_t now_ns)
{
    pit_irq_catch_up(s, now_ns);
}

/* ---- counter programming ---- */

static void pit_freeze(struct pit_channel *c, int64_t now)
{
    if (pit_active(c)) {
        c->frozen = pit_value(c, now);
    }
}

static bool pit_is_bcd(uint16_t raw)
{
    for (unsigned i = 0; i < 16; i += 4) {
        if (((raw >> i) & 15) > 9) {
            return false;
        }
    }
    return true;
}

static void pit_load(struct pit_channel *c, uint16_t raw, int64_t now)
{
    uint32_t n = raw;

    if (c->bcd) {
        if (!pit_is_bcd(raw)) {
            log_mask(LOG_GUEST_ERROR, "i8254: count 0x%04x is not BCD\n", raw);
        }
        n = ((raw >> 12) & 15) * 1000u + ((raw >> 8) & 15) * 100u +
            ((raw >> 4) & 15) * 10u + (raw & 15);
        n %= 10000;
    }
    c->count = n ? n : pit_modulus(c);
    c->loaded = true;
    c->triggered = false;
    c->counting = !pit_gated_mode(c) && c->gate;
    c->load_ns = c->base_ns = now;
    c->held = 0;
}

static void pit_set_gate(struct pit_channel *c, bool gate, int64_t now)
{
    if (gate == c->gate) {
        return;
    }
    c->gate = gate;
    if (!c->loaded) {
        return;
    }
    switch (c->mode) {
    case 0:
    case 4:
        /* The gate only enables counting (datasheet, Table "Gate Pin Operations"). */
        if (gate) {
            c->base_ns = now;
        } else {
            c->held = pit_elapsed(c, now);
        }
        c->counting = gate;
        break;
    case 1:
    case 5:
        /* A rising edge (re)triggers the count; a low gate has no effect. */
        if (gate) {
            c->triggered = c->counting = true;
            c->held = 0;
            c->base_ns = now;
        }
        break;
    default:
        /* Modes 2, 3: low stops counting and forces OUT high; high reloads. */
        if (gate) {
            c->held = 0;
            c->base_ns = now;
        } else {
            c->held = pit_elapsed(c, now);
        }
        c->counting = gate;
        break;
    }
}

static void pit_latch_count(struct pit_channel *c, int64_t now)
{
    if (c->latch != LATCH_NONE) {
        return;                     /* the first latch holds until read */
    }
    c->latched = pit_raw(c, pit_value(c, now));
    c->latch = c->access == RW_LSB ? LATCH_LSB : c->access == RW_MSB ? LATCH_MSB : LATCH_WORD;
}

static void pit_latch_status(struct pit_channel *c, int64_t now)
{
    bool null_count;

    if (c->status_latched) {
        return;
    }
    null_count = !pit_active(c) || ns_to_ticks(now - c->load_ns) == 0;
    c->status = (pit_out(c, now) ? ST_OUT : 0) | (null_count ? ST_NULL : 0) | c->cw;
    c->status_latched = true;
}

static void pit_write_control(struct i8254 *s, uint8_t cw, int64_t now)
{
    struct pit_channel *c;

    if (CW_SC(cw) == SC_READBACK) {
        for (unsigned i = 0; i < 3; i++) {
            if (cw & RB_SELECT(i)) {
                if (!(cw & RB_NO_COUNT)) {
                    pit_latch_count(&s->ch[i], now);
                }
                if (!(cw & RB_NO_STATUS)) {
                    pit_latch_status(&s->ch[i], now);
                }
            }
        }
        return;
    }
    c = &s->ch[CW_SC(cw)];
    if (CW_RW(cw) == RW_LATCH) {
        pit_latch_count(c, now);
        return;
    }
    /* A control word resets the counter's control logic; the value stays. */
    pit_freeze(c, now);
    c->cw = cw & 0x3f;
    c->mode = CW_MODE(cw) > 5 ? CW_MODE(cw) - 4 : CW_MODE(cw);
    c->bcd = cw & CW_BCD;
    c->access = CW_RW(cw);
    c->loaded = c->triggered = c->counting = false;
    c->write_msb_next = c->read_msb_next = false;
    c->latch = LATCH_NONE;
    c->status_latched = false;
}

static void pit_write_counter(struct pit_channel *c, uint8_t v, int64_t now)
{
    switch (c->access) {
    case RW_LSB:
        pit_load(c, v, now);
        break;
    case RW_MSB:
        pit_load(c, (uint16_t)(v << 8), now);
        break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = true;
            if (c->mode == 0) {
                /* Mode 0: the first byte stops the count and drops OUT. */
                pit_freeze(c, now);
                c->loaded = c->counting = false;
            }
        } else {
            c->write_msb_next = false;
            pit_load(c, (uint16_t)(c->write_lsb | v << 8), now);
        }
        break;
    }
}

static uint8_t pit_read_counter(struct pit_channel *c, int64_t now)
{
    uint16_t v;

    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    switch (c->latch) {
    case LATCH_LSB:
        c->latch = LATCH_NONE;
        return c->latched & 0xff;
    case LATCH_MSB:
        c->latch = LATCH_NONE;
        return c->latched >> 8;
    case LATCH_WORD:
        c->latch = LATCH_WORD_MSB;
        return c->latched & 0xff;
    case LATCH_WORD_MSB:
        c->latch = LATCH_NONE;
        return c->latched >> 8;
    case LATCH_NONE:
        break;
    }
    v = pit_raw(c, pit_value(c, now));
    switch (c->access) {
    case RW_LSB:
        return v & 0xff;
    case RW_MSB:
        return v >> 8;
    default:
        c->read_msb_next = !c->read_msb_next;
        return c->read_msb_next ? v & 0xff : v >> 8;
    }
}

/* ---- port handlers ---- */

static uint64_t i8254_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8254 *s = opaque;
    int64_t now = s->clock_ns();
    uint64_t val = 0;

    /* A wider access reaches consecutive ports, one byte each, as on ISA. */
    for (unsigned i = 0; i < size; i++) {
        uint64_t port = offset + i;
        uint8_t b = 0xff;           /* the control word register is write-only */

        if (port < 3) {
            b = pit_read_counter(&s->ch[port], now);
        }
        val |= (uint64_t)b << (8 * i);
    }
    return val;
}

static void i8254_write(void *opaque, uint64_t offset, uint64_t val, unsigned size)
{
    struct i8254 *s = opaque;
    int64_t now = s->clock_ns();

    pit_irq_catch_up(s, now);
    for (unsigned i = 0; i < size; i++) {
        uint64_t port = offset + i;
        uint8_t b = val >> (8 * i);

        if (port < 3) {
            pit_write_counter(&s->ch[port], b, now);
        } else {
            pit_write_control(s, b, now);
        }
    }
    /* Counter 0 may have been reprogrammed: its edges count from now. */
    if (offset == 0 || offset + size > 3) {
        pit_irq_restart(s, now);
    }
    if (s->changed) {
        s->changed(s->changed_opaque);
    }
}

static uint64_t i8254_port_b_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8254 *s = opaque;
    int64_t now = s->clock_ns();
    uint8_t v = s->port_b;

    (void)offset;
    (void)size;
    if ((uint64_t)now / REFRESH_PERIOD_NS & 1) {
        v |= PORTB_REFRESH;
    }
    if (pit_out(&s->ch[2], now)) {
        v |= PORTB_OUT2;
    }
    return v;
}

static void i8254_port_b_write(void *opaque, uint64_t offset, uint64_t val, unsigned size)
{
    struct i8254 *s = opaque;

    (void)offset;
    (void)size;
    s->port_b = val & PORTB_KEPT;
    pit_set_gate(&s->ch[2], val & PORTB_GATE2, s->clock_ns());
}

static const struct io_ops i8254_io_ops = {
    .read = i8254_read,
    .write = i8254_write,
};

static const struct io_ops i8254_port_b_ops = {
    .read = i8254_port_b_read,
    .write = i8254_port_b_write,
};

/* ---- creation ---- */

struct i8254 *i8254_create(int64_t (*clock_ns)(void), void (*irq)(void *opaque, int level),
                           void *opaque, GError **errp)
{
    struct i8254 *s = g_new0(struct i8254, 1);
    int64_t now;

    s->clock_ns = clock_ns ? clock_ns : vclock_virtual_ns;
    s->irq = irq;
    s->opaque = opaque;
    now = s->clock_ns();
    /*
     * The state QEMU's PIT has at reset, which guests booted without a BIOS
     * may rely on: every counter in mode 3, binary, LSB then MSB, count
     * 0x10000 and running; counter 2's gate (port 0x61 bit 0) low.
     */
    for (unsigned i = 0; i < 3; i++) {
        struct pit_channel *c = &s->ch[i];

        c->cw = RW_WORD << 4 | 3 << 1;
        c->mode = 3;
        c->access = RW_WORD;
        c->gate = i != 2;
        pit_load(c, 0, now);
    }
    pit_irq_restart(s, now);
    if (io_register_pio(I8254_IOBASE, 4, "i8254", &i8254_io_ops, s, errp) < 0) {
        g_free(s);
        return NULL;
    }
    if (io_register_pio(I8254_PORT_B, 1, "port61", &i8254_port_b_ops, s, errp) < 0) {
        /*
         * Ports 0x40-0x43 keep pointing at s (there is no unregistering one
         * range), so s stays allocated; the machine fails to start anyway.
         */
        return NULL;
    }
    return s;
}
