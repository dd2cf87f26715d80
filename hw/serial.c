/*
 * 16550A UART (National Semiconductor PC16550D datasheet), as isa-serial.
 *
 * What the model keeps and what it leaves out:
 * - Transmit is immediate: a byte written to THR goes straight to the
 *   chardev, so THR and the transmit FIFO are always empty again when the
 *   guest looks (LSR.THRE = LSR.TEMT = 1).  There is no baud-rate timing.
 * - The receive FIFO holds 16 characters, each with its own PE/FE/BI flags
 *   (datasheet, LSR bits 2-4: an error belongs to its character and shows
 *   in LSR when that character reaches the top of the FIFO).  The chardev
 *   is only asked for as many bytes as fit.
 * - Character timeout (IIR 0xC) has no clock to count four character times
 *   on.  The receive callback runs with the big lock held, so the guest
 *   only ever sees the FIFO between bursts of input, when the line is idle:
 *   a FIFO holding fewer characters than the trigger level therefore
 *   reports the timeout at once, and one at or above it reports "received
 *   data available" (IIR 0x4).  Linux treats both the same way.
 * - The modem inputs of a chardev are fixed at CTS, DSR and DCD asserted
 *   and RI off (a cable with a live peer).  In loopback they follow MCR.
 * - Break: a break from the chardev (CHR_EVENT_BREAK) is received as a
 *   zero character with BI.  The transmitter's break (LCR bit 6) is kept in
 *   LCR but not sent: the chardev interface has no way to express it.
 *
 * The interrupt line, as wired on a PC: the UART's INTR pin reaches the
 * ISA bus through a buffer enabled by OUT2 (MCR bit 3), and loopback forces
 * the OUT pins inactive (datasheet, MCR bit 4), so the GSI is driven only
 * when OUT2 is set and loopback is off.  QEMU does not gate on OUT2; Linux's
 * 8250 driver does not need it either way to detect a 16550A (autoconfig
 * polls IIR and never waits for an interrupt), and it sets OUT2 itself
 * (serial8250_do_startup) before it relies on the IRQ, as do FreeBSD's
 * uart(4) and Windows.  Gating keeps COM1 and COM3 (both IRQ 4 by default)
 * from fighting over one line: the ports sharing an ISA IRQ are OR-ed
 * together here.
 *
 * Threads: the registers are touched by vCPU threads and the chardev
 * callbacks by the main thread, all with the big lock held.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/devices.h"
#include "hw/irq.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

/* Register offsets (datasheet, Table II). */
enum {
    UART_RBR_THR = 0,   /* DLL with DLAB */
    UART_IER = 1,       /* DLM with DLAB */
    UART_IIR_FCR = 2,
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_MSR = 6,
    UART_SCR = 7,
    UART_NR_REGS = 8,
};

#define IER_ERBFI   0x01    /* received data available / timeout */
#define IER_ETBEI   0x02    /* transmitter holding register empty */
#define IER_ELSI    0x04    /* receiver line status */
#define IER_EDSSI   0x08    /* modem status */
#define IER_MASK    0x0f    /* bits 4-7 always read 0 */

#define IIR_NO_INT  0x01
#define IIR_MSI     0x00
#define IIR_THRI    0x02
#define IIR_RDI     0x04
#define IIR_RLSI    0x06
#define IIR_CTI     0x0c
#define IIR_FIFO    0xc0    /* both set while FCR0 = 1 */

#define FCR_ENABLE  0x01
#define FCR_RX_RST  0x02
#define FCR_TX_RST  0x04
#define FCR_DMA     0x08
#define FCR_TRIGGER 0xc0
#define FCR_KEPT    (FCR_ENABLE | FCR_DMA | FCR_TRIGGER)

#define LCR_DLAB    0x80

#define MCR_DTR     0x01
#define MCR_RTS     0x02
#define MCR_OUT1    0x04
#define MCR_OUT2    0x08
#define MCR_LOOP    0x10
#define MCR_MASK    0x1f    /* bits 5-7 always read 0 */

#define LSR_DR      0x01
#define LSR_OE      0x02
#define LSR_PE      0x04
#define LSR_FE      0x08
#define LSR_BI      0x10
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define LSR_RXFERR  0x80
#define LSR_ERRORS  (LSR_OE | LSR_PE | LSR_FE | LSR_BI)
#define LSR_CHAR_ERRORS (LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS    0x01
#define MSR_DDSR    0x02
#define MSR_TERI    0x04
#define MSR_DDCD    0x08
#define MSR_DELTAS  0x0f
#define MSR_CTS     0x10
#define MSR_DSR     0x20
#define MSR_RI      0x40
#define MSR_DCD     0x80

#define SERIAL_FIFO_LEN 16
#define SERIAL_NR_ISA 4
#define SERIAL_ISA_IRQS 16
/* QEMU's "not set" for isa-serial's index, iobase and irq (-1 as uint32). */
#define SERIAL_PROP_UNSET 0xffffffffu

struct serial {
    struct char_fe fe;
    uint16_t iobase;
    unsigned irq;

    uint16_t divisor;
    uint8_t ier, lcr, mcr, scr, fcr;
    uint8_t lsr;            /* latched OE/PE/FE/BI; the rest is computed */
    uint8_t msr;            /* delta bits 0-3 and the inputs 4-7 */
    uint8_t rbr;            /* last character read, what an empty RBR returns */
    bool thr_ipending;      /* THR-empty interrupt not yet acknowledged */
    bool rx_blocked;        /* can_receive said 0: owe the back end a wake-up */
    bool irq_level;         /* what this port drives on its GSI */

    /* Receive FIFO: the character in bits 0-7, its LSR error bits above. */
    uint16_t rx[SERIAL_FIFO_LEN];
    unsigned rx_head, rx_count;
};

static const uint16_t serial_isa_iobase[SERIAL_NR_ISA] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const unsigned serial_isa_irq[SERIAL_NR_ISA] = { 4, 3, 4, 3 };

/* QEMU numbers isa-serial devices without index= in creation order. */
static unsigned serial_next_index;
/* How many ports drive each ISA IRQ: the line is their OR. */
static unsigned serial_irq_drivers[SERIAL_ISA_IRQS];

static bool serial_fifo_on(const struct serial *s)
{
    return s->fcr & FCR_ENABLE;
}

static unsigned serial_rx_capacity(const struct serial *s)
{
    /* Without FIFOs (16450 mode) RBR holds one character. */
    return serial_fifo_on(s) ? SERIAL_FIFO_LEN : 1;
}

/* FCR bits 7:6 (datasheet, FCR): 1, 4, 8 or 14 characters. */
static unsigned serial_rx_trigger(const struct serial *s)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 };

    return levels[(s->fcr & FCR_TRIGGER) >> 6];
}

static void serial_drive_irq(struct serial *s, bool level)
{
    if (level == s->irq_level) {
        return;
    }
    s->irq_level = level;
    if (level) {
        if (serial_irq_drivers[s->irq]++ == 0) {
            irq_set_level(s->irq, 1);
        }
    } else if (--serial_irq_drivers[s->irq] == 0) {
        irq_set_level(s->irq, 0);
    }
}

/* IIR bits 3:0 by the priorities of the datasheet's Table IV. */
static uint8_t serial_iir_id(const struct serial *s)
{
    if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRORS)) {
        return IIR_RLSI;
    }
    if ((s->ier & IER_ERBFI) && s->rx_count) {
        if (!serial_fifo_on(s) || s->rx_count >= serial_rx_trigger(s)) {
            return IIR_RDI;
        }
        return IIR_CTI;
    }
    if ((s->ier & IER_ETBEI) && s->thr_ipending) {
        return IIR_THRI;
    }
    if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS)) {
        return IIR_MSI;
    }
    return IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
    bool pending = !(serial_iir_id(s) & IIR_NO_INT);

    serial_drive_irq(s, pending && (s->mcr & MCR_OUT2) && !(s->mcr & MCR_LOOP));
}

static uint8_t serial_lsr(const struct serial *s)
{
    uint8_t lsr = s->lsr | LSR_THRE | LSR_TEMT;

    if (s->rx_count) {
        lsr |= LSR_DR;
    }
    /* LSR bit 7: some character in the FIFO still carries an error. */
    for (unsigned i = 0; serial_fifo_on(s) && i < s->rx_count; i++) {
        if (s->rx[(s->rx_head + i) % SERIAL_FIFO_LEN] >> 8) {
            lsr |= LSR_RXFERR;
            break;
        }
    }
    return lsr;
}

/* A character reaching the top of the FIFO shows its errors in LSR. */
static void serial_rx_show_top(struct serial *s)
{
    if (s->rx_count) {
        s->lsr |= s->rx[s->rx_head] >> 8;
    }
}

static void serial_rx_clear(struct serial *s)
{
    s->rx_head = s->rx_count = 0;
}

static void serial_rx_push(struct serial *s, uint8_t ch, uint8_t errors)
{
    if (s->rx_count == serial_rx_capacity(s)) {
        /*
         * Overrun (LSR bit 1): in FIFO mode the new character is lost; in
         * 16450 mode it overwrites the unread one in RBR.
         */
        s->lsr |= LSR_OE;
        if (!serial_fifo_on(s)) {
            s->rx[s->rx_head] = ch | (uint16_t)errors << 8;
            serial_rx_show_top(s);
        }
        return;
    }
    s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_LEN] = ch | (uint16_t)errors << 8;
    if (s->rx_count++ == 0) {
        serial_rx_show_top(s);
    }
}

/* Room again after the guest read or reset the FIFO: wake the back end. */
static void serial_rx_kick(struct serial *s)
{
    if (s->rx_blocked && !(s->mcr & MCR_LOOP) && s->rx_count < serial_rx_capacity(s)) {
        s->rx_blocked = false;
        chr_fe_accept_input(&s->fe);
    }
}

static uint8_t serial_read_rbr(struct serial *s)
{
    if (s->rx_count) {
        s->rbr = s->rx[s->rx_head] & 0xff;
        s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_LEN;
        s->rx_count--;
        serial_rx_show_top(s);
        serial_rx_kick(s);
    }
    return s->rbr;
}

static void serial_write_thr(struct serial *s, uint8_t ch)
{
    if (s->mcr & MCR_LOOP) {
        /* Loopback: the transmitter feeds the receiver (MCR bit 4). */
        serial_rx_push(s, ch, 0);
    } else if (s->fe.chr) {
        chr_fe_write_all(&s->fe, &ch, 1);
    }
    /* Sent at once, so THR is empty again: THRE interrupt (IIR 0x2). */
    s->thr_ipending = true;
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
    uint8_t old = s->ier;

    s->ier = val & IER_MASK;
    /*
     * Enabling ETBEI while THR is empty raises the THRE interrupt even if
     * an IIR read had acknowledged it.  Linux's startup test (UART_BUG_THRE)
     * expects it on every 0 -> 1 of ETBEI, and Windows toggles IER to get it.
     */
    if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI)) {
        s->thr_ipending = true;
    } else if (!(s->ier & IER_ETBEI)) {
        s->thr_ipending = false;
    }
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
    /* Switching FIFO mode on or off empties both FIFOs (FCR bit 0). */
    if ((val ^ s->fcr) & FCR_ENABLE) {
        serial_rx_clear(s);
    }
    if (!(val & FCR_ENABLE)) {
        /* The other bits are only programmed together with FCR0 = 1. */
        s->fcr = 0;
    } else {
        if (val & FCR_RX_RST) {
            serial_rx_clear(s);
        }
        /* FCR_TX_RST: the transmit FIFO is always empty already. */
        s->fcr = val & FCR_KEPT;
    }
    serial_rx_kick(s);
}

/* The modem inputs: the chardev's fixed lines, or MCR's outputs in loopback. */
static uint8_t serial_modem_inputs(const struct serial *s)
{
    uint8_t in = 0;

    if (!(s->mcr & MCR_LOOP)) {
        return MSR_CTS | MSR_DSR | MSR_DCD;
    }
    if (s->mcr & MCR_RTS) {
        in |= MSR_CTS;
    }
    if (s->mcr & MCR_DTR) {
        in |= MSR_DSR;
    }
    if (s->mcr & MCR_OUT1) {
        in |= MSR_RI;
    }
    if (s->mcr & MCR_OUT2) {
        in |= MSR_DCD;
    }
    return in;
}

/* MSR bits 0-3: CTS, DSR, DCD changed; RI went from on to off. */
static void serial_update_msr(struct serial *s)
{
    uint8_t old = s->msr & ~MSR_DELTAS;
    uint8_t now = serial_modem_inputs(s);
    uint8_t changed = old ^ now;
    uint8_t deltas = 0;

    if (changed & MSR_CTS) {
        deltas |= MSR_DCTS;
    }
    if (changed & MSR_DSR) {
        deltas |= MSR_DDSR;
    }
    if ((old & MSR_RI) && !(now & MSR_RI)) {
        deltas |= MSR_TERI;
    }
    if (changed & MSR_DCD) {
        deltas |= MSR_DDCD;
    }
    s->msr = (s->msr & MSR_DELTAS) | deltas | now;
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
    s->mcr = val & MCR_MASK;
    serial_update_msr(s);
    /* Leaving loopback reconnects the receiver to the chardev. */
    serial_rx_kick(s);
}

static uint64_t serial_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct serial *s = opaque;
    uint8_t val = 0;

    switch (offset) {
    case UART_RBR_THR:
        val = (s->lcr & LCR_DLAB) ? s->divisor & 0xff : serial_read_rbr(s);
        break;
    case UART_IER:
        val = (s->lcr & LCR_DLAB) ? s->divisor >> 8 : s->ier;
        break;
    case UART_IIR_FCR:
        val = serial_iir_id(s);
        /* Reading IIR acknowledges a THRE interrupt it reports. */
        if (val == IIR_THRI) {
            s->thr_ipending = false;
        }
        if (serial_fifo_on(s)) {
            val |= IIR_FIFO;
        }
        break;
    case UART_LCR:
        val = s->lcr;
        break;
    case UART_MCR:
        val = s->mcr;
        break;
    case UART_LSR:
        val = serial_lsr(s);
        /* Reading LSR clears the error bits; the top character's are told. */
        s->lsr &= ~LSR_ERRORS;
        if (s->rx_count) {
            s->rx[s->rx_head] &= 0xff;
        }
        break;
    case UART_MSR:
        val = s->msr;
        s->msr &= ~MSR_DELTAS;
        break;
    case UART_SCR:
        val = s->scr;
        break;
    }
    serial_update_irq(s);
    return val;
}

static void serial_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct serial *s = opaque;
    uint8_t val = value;

    switch (offset) {
    case UART_RBR_THR:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0xff00) | val;
        } else {
            serial_write_thr(s, val);
        }
        break;
    case UART_IER:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0x00ff) | (uint16_t)val << 8;
        } else {
            serial_write_ier(s, val);
        }
        break;
    case UART_IIR_FCR:
        serial_write_fcr(s, val);
        break;
    case UART_LCR:
        s->lcr = val;
        break;
    case UART_MCR:
        serial_write_mcr(s, val);
        break;
    case UART_LSR:
    case UART_MSR:
        /* Read-only status (the datasheet reserves writes for factory test). */
        log_mask(LOG_GUEST_ERROR, "serial 0x%x: write 0x%02x to read-only %s\n",
                 s->iobase, val, offset == UART_LSR ? "LSR" : "MSR");
        break;
    case UART_SCR:
        s->scr = val;
        break;
    }
    serial_update_irq(s);
}

static int serial_can_receive(void *opaque)
{
    struct serial *s = opaque;
    int room = 0;

    /* Loopback disconnects SIN: the chardev's bytes wait until it ends. */
    if (!(s->mcr & MCR_LOOP)) {
        room = serial_rx_capacity(s) - s->rx_count;
    }
    if (!room) {
        s->rx_blocked = true;
    }
    return room;
}

static void serial_receive(void *opaque, const uint8_t *buf, int len)
{
    struct serial *s = opaque;

    if (s->mcr & MCR_LOOP) {
        return;
    }
    for (int i = 0; i < len; i++) {
        serial_rx_push(s, buf[i], 0);
    }
    serial_update_irq(s);
}

static void serial_event(void *opaque, enum chr_event event)
{
    struct serial *s = opaque;

    if (event == CHR_EVENT_BREAK && !(s->mcr & MCR_LOOP)) {
        /* A break is received as one zero character with BI (LSR bit 4). */
        serial_rx_push(s, 0, LSR_BI);
        serial_update_irq(s);
    }
}

static const struct io_ops serial_io_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
};

/* Power-on state (datasheet, Table III: master reset). */
static void serial_reset(struct serial *s)
{
    s->ier = s->lcr = s->mcr = s->fcr = 0;
    s->lsr = 0;
    s->msr = serial_modem_inputs(s);
    s->thr_ipending = false;
    serial_rx_clear(s);
}

static int serial_create(unsigned index, uint64_t iobase, uint64_t irq,
                         struct chardev *chr, GError **errp)
{
    struct serial *s;
    int ret;

    if (index >= SERIAL_NR_ISA) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Max. supported number of ISA serial ports is %d.", SERIAL_NR_ISA);
        return -EINVAL;
    }
    if (iobase == SERIAL_PROP_UNSET) {
        iobase = serial_isa_iobase[index];
    }
    if (irq == SERIAL_PROP_UNSET) {
        irq = serial_isa_irq[index];
    }
    if (iobase > 0x10000 - UART_NR_REGS) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "isa-serial: iobase 0x%" G_GINT64_MODIFIER "x is outside the I/O space",
                    iobase);
        return -EINVAL;
    }
    if (irq >= SERIAL_ISA_IRQS) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Maximum value for \"irq\" is: %u", SERIAL_ISA_IRQS - 1);
        return -EINVAL;
    }

    s = g_new0(struct serial, 1);
    s->iobase = iobase;
    s->irq = irq;
    serial_reset(s);
    if (chr) {
        ret = chr_fe_init(&s->fe, chr, errp);
        if (ret < 0) {
            g_free(s);
            return ret;
        }
        chr_fe_set_handlers(&s->fe, serial_can_receive, serial_receive, serial_event, s);
    }
    ret = io_register_pio(s->iobase, UART_NR_REGS, "serial", &serial_io_ops, s, errp);
    if (ret < 0) {
        if (chr) {
            chr_fe_deinit(&s->fe);
        }
        g_free(s);
        return ret;
    }
    serial_next_index++;
    return 0;
}

int serial_create_isa(unsigned index, struct chardev *chr, GError **errp)
{
    return serial_create(index, SERIAL_PROP_UNSET, SERIAL_PROP_UNSET, chr, errp);
}

/* A uint32 property left at QEMU's default of -1 (or never given). */
static uint64_t serial_prop(const struct dev_config *cfg, const char *name)
{
    uint64_t v = dev_config_uint(cfg, name);

    return v >= SERIAL_PROP_UNSET ? SERIAL_PROP_UNSET : v;
}

int serial_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    uint64_t index = serial_prop(cfg, "index");
    const char *id = dev_config_str(cfg, "chardev");
    struct chardev *chr = NULL;

    if (index == SERIAL_PROP_UNSET) {
        index = serial_next_index;
    }
    if (id && *id) {
        chr = chardev_find(id);
        if (!chr) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Property 'serial.chardev' can't find value '%s'", id);
            return -ENOENT;
        }
    }
    return serial_create(index < SERIAL_NR_ISA ? index : SERIAL_NR_ISA,
                         serial_prop(cfg, "iobase"), serial_prop(cfg, "irq"), chr, errp);
}
