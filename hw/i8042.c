/*
 * The 8042 keyboard controller of -M pc with its PS/2 keyboard and mouse,
 * behaving as QEMU 7.2's i8042 (with its default "extended state": the
 * controller's own replies sit in a one-byte buffer of their own, and the
 * data port keeps returning the last byte read while no new one is there).
 *
 * References: IBM PS/2 Hardware Interface Technical Reference, "Keyboard/
 * Auxiliary Device Controller"; the 8042's command and status bits as
 * Linux's drivers/input/serio/i8042.h names them; IBM's "Keyboard and
 * Auxiliary Device" chapters for the PS/2 devices' command sets.
 *
 * Data flow.  Each PS/2 device has a queue of bytes for the host (at most
 * 16 queued, as the protocol requires; replies to a keyboard command go in
 * front of queued scan codes and a new command discards unread ones).
 * The controller latches one byte into its output buffer at a time: the
 * status register's OBF bit (and AUX_OBF for the mouse) says one is there,
 * and the byte is taken from its source when the guest reads port 0x60.
 * Sources in order of priority: a controller reply for the keyboard side,
 * a controller reply for the mouse side, the keyboard, the mouse.  A device
 * whose interface the command byte disables is not polled.  IRQ 1 (or 12)
 * follows OBF while the command byte enables it, so each byte gives one
 * edge; QEMU additionally keeps IRQ 1 low while the keyboard interface is
 * disabled, and so does this.
 *
 * What QEMU 7.2 does that this keeps: the status register's command/data
 * bit always reads 1 and the input buffer is never busy (writes complete
 * at once); the system flag is set by the self test (0xaa) only; 0xd1
 * stores the whole value in the output port; 0xf0-0xff pulse the reset
 * line when bit 0 is clear and do nothing otherwise; other commands are
 * logged under -d guest_errors (once per command byte here) and ignored.
 *
 * Threads: big lock held everywhere (hw/i8042.h).
 */
#include <errno.h>
#include <string.h>

#include "hw/i8042.h"
#include "hw/irq.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"

/* Controller commands (port 0x64). */
#define CCMD_READ_MODE      0x20
#define CCMD_WRITE_MODE     0x60
#define CCMD_AUX_DISABLE    0xa7
#define CCMD_AUX_ENABLE     0xa8
#define CCMD_AUX_TEST       0xa9
#define CCMD_SELF_TEST      0xaa
#define CCMD_KBD_TEST       0xab
#define CCMD_KBD_DISABLE    0xad
#define CCMD_KBD_ENABLE     0xae
#define CCMD_READ_INPORT    0xc0
#define CCMD_READ_OUTPORT   0xd0
#define CCMD_WRITE_OUTPORT  0xd1
#define CCMD_WRITE_KBD_OBUF 0xd2
#define CCMD_WRITE_AUX_OBUF 0xd3
#define CCMD_WRITE_AUX      0xd4
#define CCMD_A20_OFF        0xdd
#define CCMD_A20_ON         0xdf
#define CCMD_PULSE          0xf0    /* 0xf0-0xff: bits 3-0 clear = pulse that line */

/* Status register (port 0x64 read). */
#define STAT_OBF            0x01
#define STAT_IBF            0x02
#define STAT_SYS            0x04
#define STAT_CMD            0x08    /* last write was to 0x64 */
#define STAT_UNLOCKED       0x10    /* keyboard not inhibited by the keylock */
#define STAT_AUX_OBF        0x20

/* Command byte ("mode"), read and written with 0x20/0x60. */
#define MODE_KBD_INT        0x01
#define MODE_AUX_INT        0x02
#define MODE_SYS            0x04
#define MODE_KBD_DISABLE    0x10
#define MODE_AUX_DISABLE    0x20
#define MODE_XLATE          0x40

/* Output port (0xd0/0xd1). */
#define OUT_RESET           0x01    /* low = CPU reset asserted */
#define OUT_A20             0x02
#define OUT_OBF             0x10
#define OUT_AUX_OBF         0x20
#define OUT_ONES            0xcc    /* lines QEMU reports high */

/* Input port (0xc0): bit 7 set = keyboard not inhibited, as QEMU reports. */
#define INPORT_VALUE        0x80

/*
 * Who has a byte for the host.  The device bits equal the command byte's
 * interface-disable bits so that one mask leaves disabled interfaces out.
 */
#define PEND_CTRL_KBD       0x04
#define PEND_CTRL_AUX       0x08
#define PEND_KBD            MODE_KBD_DISABLE
#define PEND_AUX            MODE_AUX_DISABLE

enum obsrc { OBSRC_NONE, OBSRC_KBD, OBSRC_AUX, OBSRC_CTRL };

/* Keyboard commands and replies. */
#define KBD_CMD_SET_LEDS    0xed
#define KBD_CMD_ECHO        0xee
#define KBD_CMD_SCANCODE    0xf0
#define KBD_CMD_GET_ID      0xf2
#define KBD_CMD_SET_RATE    0xf3
#define KBD_CMD_ENABLE      0xf4
#define KBD_CMD_RESET_DIS   0xf5    /* defaults, scanning off */
#define KBD_CMD_RESET_EN    0xf6    /* defaults, scanning on */
#define KBD_CMD_ALL_TMB     0xfa    /* set 3: all keys typematic/make/break */
#define KBD_CMD_KEY_MB      0xfc    /* set 3: one key make/break (takes a key) */
#define KBD_CMD_RESET       0xff
#define KBD_REPLY_POR       0xaa    /* self test passed */
#define KBD_REPLY_ID        0xab
#define KBD_REPLY_ACK       0xfa
#define KBD_REPLY_RESEND    0xfe

/* Mouse commands. */
#define AUX_SET_SCALE11     0xe6
#define AUX_SET_SCALE21     0xe7
#define AUX_SET_RES         0xe8
#define AUX_GET_STATUS      0xe9
#define AUX_SET_STREAM      0xea
#define AUX_POLL            0xeb
#define AUX_RESET_WRAP      0xec
#define AUX_SET_WRAP        0xee
#define AUX_SET_REMOTE      0xf0
#define AUX_GET_TYPE        0xf2
#define AUX_SET_SAMPLE      0xf3
#define AUX_ENABLE          0xf4
#define AUX_DISABLE         0xf5
#define AUX_SET_DEFAULT     0xf6
#define AUX_RESET           0xff
#define AUX_ACK             0xfa

#define AUX_STATUS_SCALE21  0x10
#define AUX_STATUS_ENABLED  0x20
#define AUX_STATUS_REMOTE   0x40

#define PS2_QUEUE_MAX       16      /* bytes a device holds for the host */
#define PS2_NO_CMD          (-1)

/* A device's bytes for the host: a ring indexed by uint8_t, so it wraps itself. */
struct ps2_queue {
    uint8_t data[256];
    uint8_t rptr;
    unsigned count;     /* bytes queued, command replies included */
    unsigned replies;   /* of which the first ones are replies to a command */
    uint8_t last;       /* the last byte read, returned again when empty */
};

struct ps2_kbd {
    struct ps2_queue q;
    int cmd;            /* command waiting for its argument, or PS2_NO_CMD */
    bool scan_enabled;
    bool translate;     /* the controller's command byte bit 6 */
    bool need_high_bit; /* a set-2 break prefix is waiting for its key */
    unsigned scancode_set;
    uint8_t leds;
};

struct ps2_mouse {
    struct ps2_queue q;
    int cmd;
    uint8_t status, resolution, sample_rate;
    uint8_t type;           /* 0 PS/2, 3 IntelliMouse, 4 IntelliMouse Explorer */
    uint8_t detect_state;   /* progress through the 200-100-80 / 200-200-80 knocks */
    bool wrap;
};

struct i8042 {
    uint8_t write_cmd;      /* command whose data byte port 0x60 expects, or 0 */
    uint8_t status;
    uint8_t mode;
    uint8_t outport;
    uint8_t pending;        /* PEND_* */
    uint8_t obsrc;          /* where the byte behind OBF comes from */
    uint8_t obdata;         /* the last byte read from port 0x60 */
    uint8_t cbdata;         /* the controller's own reply */
    int irq_level[2];       /* IRQ 1, IRQ 12 as last driven */
    bool a20_off_logged;
    uint32_t bad_cmd_logged[8];
    struct ps2_kbd kbd;
    struct ps2_mouse mouse;
};

/* ---- the controller's output buffer and IRQ lines ---- */

static void i8042_drive(struct i8042 *s, unsigned idx, int level)
{
    if (s->irq_level[idx] != level) {
        s->irq_level[idx] = level;
        irq_set_level(idx ? I8042_AUX_GSI : I8042_KBD_GSI, level);
    }
}

static void i8042_update_irq_lines(struct i8042 *s)
{
    int kbd = 0, aux = 0;

    if (s->status & STAT_OBF) {
        if (s->status & STAT_AUX_OBF) {
            aux = !!(s->mode & MODE_AUX_INT);
        } else {
            kbd = (s->mode & MODE_KBD_INT) && !(s->mode & MODE_KBD_DISABLE);
        }
    }
    i8042_drive(s, 0, kbd);
    i8042_drive(s, 1, aux);
}

static void i8042_clear_obf(struct i8042 *s)
{
    s->status &= ~(STAT_OBF | STAT_AUX_OBF);
    s->outport &= ~(OUT_OBF | OUT_AUX_OBF);
    i8042_update_irq_lines(s);
}

/* Sources with a byte whose interface is enabled. */
static uint8_t i8042_pending(const struct i8042 *s)
{
    return s->pending & ~(s->mode & (PEND_KBD | PEND_AUX));
}

/* Latches the next source into the output buffer (OBF was clear). */
static void i8042_fill_obf(struct i8042 *s)
{
    uint8_t pending = i8042_pending(s);

    s->status &= ~(STAT_OBF | STAT_AUX_OBF);
    s->outport &= ~(OUT_OBF | OUT_AUX_OBF);
    if (pending) {
        bool aux;

        if (pending & PEND_CTRL_KBD) {
            s->obsrc = OBSRC_CTRL;
            aux = false;
        } else if (pending & PEND_CTRL_AUX) {
            s->obsrc = OBSRC_CTRL;
            aux = true;
        } else if (pending & PEND_KBD) {
            s->obsrc = OBSRC_KBD;
            aux = false;
        } else {
            s->obsrc = OBSRC_AUX;
            aux = true;
        }
        s->status |= STAT_OBF | (aux ? STAT_AUX_OBF : 0);
        s->outport |= OUT_OBF | (aux ? OUT_AUX_OBF : 0);
    }
    i8042_update_irq_lines(s);
}

/* Fills the output buffer unless it already holds a byte. */
static void i8042_poll(struct i8042 *s)
{
    if (!(s->status & STAT_OBF) && i8042_pending(s)) {
        i8042_fill_obf(s);
    }
}

/* A device's "I have data" line changed. */
static void i8042_device_line(struct i8042 *s, uint8_t bit, bool level)
{
    if (level) {
        s->pending |= bit;
    } else {
        s->pending &= ~bit;
    }
    i8042_poll(s);
}

/* The controller's own reply; a newer one replaces an unread older one. */
static void i8042_ctrl_reply(struct i8042 *s, uint8_t b, bool aux)
{
    s->cbdata = b;
    s->pending &= ~(PEND_CTRL_KBD | PEND_CTRL_AUX);
    s->pending |= aux ? PEND_CTRL_AUX : PEND_CTRL_KBD;
    i8042_poll(s);
}

/* ---- PS/2 device queues ---- */

static void ps2_queue_reset(struct ps2_queue *q)
{
    q->rptr = 0;
    q->count = 0;
    q->replies = 0;
}

/* Appends n bytes, all or none (a full device drops what does not fit). */
static bool ps2_queue_put(struct ps2_queue *q, const uint8_t *b, unsigned n)
{
    if (q->count + n > PS2_QUEUE_MAX) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        q->data[(uint8_t)(q->rptr + q->count)] = b[i];
        q->count++;
    }
    return true;
}

/* Puts a command's replies in front of whatever is queued, dropping the
 * unread replies to the previous command first. */
static void ps2_queue_reply(struct ps2_queue *q, const uint8_t *b, unsigned n)
{
    q->rptr += q->replies;
    q->count -= q->replies;
    q->rptr -= n;
    for (unsigned i = 0; i < n; i++) {
        q->data[(uint8_t)(q->rptr + i)] = b[i];
    }
    q->count += n;
    q->replies = n;
}

static uint8_t ps2_queue_get(struct ps2_queue *q)
{
    if (q->count) {
        q->last = q->data[q->rptr++];
        q->count--;
        if (q->replies) {
            q->replies--;
        }
    }
    return q->last;
}

/* ---- the keyboard ---- */

/* The 8042's set-2 to set-1 translation of codes 0x00-0x7f; above that a
 * code passes unchanged except 0x83 (F7) and 0x84 (SysRq). */
static const uint8_t xlate_set2[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

static uint8_t xlate(uint8_t code)
{
    if (code < 0x80) {
        return xlate_set2[code];
    }
    return code == 0x83 ? 0x41 : code == 0x84 ? 0x54 : code;
}

static void kbd_line(struct i8042 *s, bool level)
{
    i8042_device_line(s, PEND_KBD, level);
}

static void kbd_reply(struct i8042 *s, const uint8_t *b, unsigned n)
{
    ps2_queue_reply(&s->kbd.q, b, n);
    kbd_line(s, true);
}

#define KBD_REPLY(s, ...) \
    kbd_reply((s), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* Defaults that reset (0xff) and 0xf5/0xf6 restore. */
static void kbd_defaults(struct ps2_kbd *k)
{
    k->scan_enabled = true;
    k->scancode_set = 2;
    k->leds = 0;
    ps2_queue_reset(&k->q);
}

static void kbd_put(struct i8042 *s, uint8_t code)
{
    struct ps2_kbd *k = &s->kbd;

    if (k->translate) {
        /* The controller folds a set-2 break prefix into bit 7 of the next code. */
        if (code == 0xf0) {
            k->need_high_bit = true;
            return;
        }
        code = xlate(code) | (k->need_high_bit ? 0x80 : 0);
        k->need_high_bit = false;
    }
    if (ps2_queue_put(&k->q, &code, 1)) {
        kbd_line(s, true);
    }
}

/* A byte the guest sent to the keyboard: a command or a command's argument. */
static void kbd_write(struct i8042 *s, uint8_t val)
{
    struct ps2_kbd *k = &s->kbd;
    int cmd = k->cmd;

    k->cmd = PS2_NO_CMD;
    switch (cmd) {
    case KBD_CMD_SCANCODE:
        if (val == 0) {
            /* The reply is a code, so the controller translates it too. */
            KBD_REPLY(s, KBD_REPLY_ACK,
                      k->translate ? xlate(k->scancode_set) : k->scancode_set);
        } else if (val <= 3) {
            k->scancode_set = val;
            KBD_REPLY(s, KBD_REPLY_ACK);
        } else {
            KBD_REPLY(s, KBD_REPLY_RESEND);
        }
        return;
    case KBD_CMD_SET_LEDS:
        k->leds = val;
        KBD_REPLY(s, KBD_REPLY_ACK);
        return;
    case KBD_CMD_SET_RATE:
    case KBD_CMD_KEY_MB:
        KBD_REPLY(s, KBD_REPLY_ACK);
        return;
    default:
        break;
    }

    switch (val) {
    case 0x00:
    case KBD_CMD_ALL_TMB:
        KBD_REPLY(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_GET_ID:
        /* An MF2 keyboard; the controller translates its 0x83 into 0x41. */
        KBD_REPLY(s, KBD_REPLY_ACK, KBD_REPLY_ID, k->translate ? 0x41 : 0x83);
        break;
    case KBD_CMD_ECHO:
        KBD_REPLY(s, KBD_CMD_ECHO);
        break;
    case KBD_CMD_ENABLE:
        k->scan_enabled = true;
        KBD_REPLY(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_SCANCODE:
    case KBD_CMD_SET_LEDS:
    case KBD_CMD_SET_RATE:
    case KBD_CMD_KEY_MB:
        k->cmd = val;
        KBD_REPLY(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_RESET_DIS:
    case KBD_CMD_RESET_EN:
        kbd_defaults(k);
        k->scan_enabled = val == KBD_CMD_RESET_EN;
        KBD_REPLY(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_RESET:
        kbd_defaults(k);
        KBD_REPLY(s, KBD_REPLY_ACK, KBD_REPLY_POR);
        break;
    default:
        /* 0x05 and every command this keyboard does not know. */
        KBD_REPLY(s, KBD_REPLY_RESEND);
        break;
    }
}

static void kbd_reset(struct ps2_kbd *k)
{
    kbd_defaults(k);
    k->cmd = PS2_NO_CMD;
    k->translate = false;
    k->need_high_bit = false;
}

/* ---- the mouse ---- */

static void aux_line(struct i8042 *s, bool level)
{
    i8042_device_line(s, PEND_AUX, level);
}

/* Mouse replies queue behind what it already holds (QEMU does not let a
 * mouse command jump the queue). */
static void aux_send(struct i8042 *s, const uint8_t *b, unsigned n)
{
    if (ps2_queue_put(&s->mouse.q, b, n)) {
        aux_line(s, true);
    }
}

#define AUX_SEND(s, ...) \
    aux_send((s), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* A movement packet; there is no host pointer yet, so it reports no motion. */
static void aux_send_packet(struct i8042 *s)
{
    static const uint8_t packet[4] = { 0x08, 0, 0, 0 };     /* bit 3 is always 1 */

    aux_send(s, packet, s->mouse.type ? 4 : 3);
}

/* The IntelliMouse knocks: sample rates 200, 100, 80 make it a wheel mouse
 * (ID 3), 200, 200, 80 a five-button one (ID 4). */
static void aux_detect(struct ps2_mouse *m, uint8_t rate)
{
    switch (m->detect_state) {
    case 0:
        m->detect_state = rate == 200 ? 1 : 0;
        break;
    case 1:
        m->detect_state = rate == 100 ? 2 : rate == 200 ? 3 : 0;
        break;
    case 2:
    case 3:
        if (rate == 80) {
            m->type = m->detect_state == 2 ? 3 : 4;
        }
        m->detect_state = 0;
        break;
    default:
        m->detect_state = 0;
        break;
    }
}

static void aux_command(struct i8042 *s, uint8_t val)
{
    struct ps2_mouse *m = &s->mouse;

    switch (val) {
    case AUX_SET_SCALE11:
        m->status &= ~AUX_STATUS_SCALE21;
        break;
    case AUX_SET_SCALE21:
        m->status |= AUX_STATUS_SCALE21;
        break;
    case AUX_SET_STREAM:
        m->status &= ~AUX_STATUS_REMOTE;
        break;
    case AUX_SET_WRAP:
        m->wrap = true;
        break;
    case AUX_SET_REMOTE:
        m->status |= AUX_STATUS_REMOTE;
        break;
    case AUX_GET_TYPE:
        AUX_SEND(s, AUX_ACK, m->type);
        return;
    case AUX_SET_RES:
    case AUX_SET_SAMPLE:
        m->cmd = val;
        break;
    case AUX_GET_STATUS:
        AUX_SEND(s, AUX_ACK, m->status, m->resolution, m->sample_rate);
        return;
    case AUX_POLL:
        AUX_SEND(s, AUX_ACK);
        aux_send_packet(s);
        return;
    case AUX_ENABLE:
        m->status |= AUX_STATUS_ENABLED;
        break;
    case AUX_DISABLE:
        m->status &= ~AUX_STATUS_ENABLED;
        break;
    case AUX_SET_DEFAULT:
        m->sample_rate = 100;
        m->resolution = 2;
        m->status = 0;
        break;
    case AUX_RESET:
        m->sample_rate = 100;
        m->resolution = 2;
        m->status = 0;
        m->type = 0;
        ps2_queue_reset(&m->q);
        AUX_SEND(s, AUX_ACK, KBD_REPLY_POR, m->type);
        return;
    default:
        /* QEMU's mouse stays silent on commands it does not know. */
        return;
    }
    AUX_SEND(s, AUX_ACK);
}

/* A byte the guest sent to the mouse through 0xd4. */
static void aux_write(struct i8042 *s, uint8_t val)
{
    struct ps2_mouse *m = &s->mouse;
    int cmd = m->cmd;

    m->cmd = PS2_NO_CMD;
    if (cmd == AUX_SET_SAMPLE) {
        m->sample_rate = val;
        aux_detect(m, val);
        AUX_SEND(s, AUX_ACK);
        return;
    }
    if (cmd == AUX_SET_RES) {
        m->resolution = val;
        AUX_SEND(s, AUX_ACK);
        return;
    }
    if (m->wrap) {
        /* Wrap (echo) mode: everything but its two way out comes back. */
        if (val == AUX_RESET_WRAP) {
            m->wrap = false;
            AUX_SEND(s, AUX_ACK);
            return;
        }
        if (val != AUX_RESET) {
            AUX_SEND(s, val);
            return;
        }
    }
    aux_command(s, val);
}

static void aux_reset(struct ps2_mouse *m)
{
    *m = (struct ps2_mouse){ .cmd = PS2_NO_CMD };
}

/* ---- the controller ---- */

static void i8042_set_a20(struct i8042 *s, bool on)
{
    if (!on && !s->a20_off_logged) {
        s->a20_off_logged = true;
        log_mask(LOG_UNIMP, "i8042: A20 gate turned off; memory above 1 MiB does not wrap\n");
    }
}

static void i8042_write_outport(struct i8042 *s, uint8_t val)
{
    s->outport = val;
    i8042_set_a20(s, val & OUT_A20);
    if (!(val & OUT_RESET)) {
        vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static void i8042_bad_command(struct i8042 *s, uint8_t cmd)
{
    uint32_t bit = 1u << (cmd % 32);

    if (!(s->bad_cmd_logged[cmd / 32] & bit)) {
        s->bad_cmd_logged[cmd / 32] |= bit;
        log_mask(LOG_GUEST_ERROR, "i8042: unsupported controller command 0x%02x\n", cmd);
    }
}

static void i8042_command(struct i8042 *s, uint8_t cmd)
{
    if ((cmd & CCMD_PULSE) == CCMD_PULSE) {
        /* Pulse the output-port lines whose bits are 0; only bit 0 (reset)
         * does anything. */
        if (!(cmd & OUT_RESET)) {
            vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
        }
        return;
    }
    switch (cmd) {
    case CCMD_READ_MODE:
        i8042_ctrl_reply(s, s->mode, false);
        break;
    case CCMD_WRITE_MODE:
    case CCMD_WRITE_OUTPORT:
    case CCMD_WRITE_KBD_OBUF:
    case CCMD_WRITE_AUX_OBUF:
    case CCMD_WRITE_AUX:
        s->write_cmd = cmd;
        break;
    case CCMD_AUX_DISABLE:
        s->mode |= MODE_AUX_DISABLE;
        break;
    case CCMD_AUX_ENABLE:
        s->mode &= ~MODE_AUX_DISABLE;
        i8042_poll(s);
        break;
    case CCMD_AUX_TEST:
    case CCMD_KBD_TEST:
        i8042_ctrl_reply(s, 0x00, false);     /* no clock or data line stuck */
        break;
    case CCMD_SELF_TEST:
        s->status |= STAT_SYS;
        i8042_ctrl_reply(s, 0x55, false);
        break;
    case CCMD_KBD_DISABLE:
        s->mode |= MODE_KBD_DISABLE;
        break;
    case CCMD_KBD_ENABLE:
        s->mode &= ~MODE_KBD_DISABLE;
        i8042_poll(s);
        break;
    case CCMD_READ_INPORT:
        i8042_ctrl_reply(s, INPORT_VALUE, false);
        break;
    case CCMD_READ_OUTPORT:
        i8042_ctrl_reply(s, s->outport, false);
        break;
    case CCMD_A20_OFF:
        s->outport &= ~OUT_A20;
        i8042_set_a20(s, false);
        break;
    case CCMD_A20_ON:
        s->outport |= OUT_A20;
        break;
    default:
        i8042_bad_command(s, cmd);
        break;
    }
}

static void i8042_write_data(struct i8042 *s, uint8_t val)
{
    uint8_t cmd = s->write_cmd;

    s->write_cmd = 0;
    switch (cmd) {
    case 0:
        kbd_write(s, val);
        /* Talking to the keyboard enables its interface again. */
        s->mode &= ~MODE_KBD_DISABLE;
        i8042_poll(s);
        break;
    case CCMD_WRITE_MODE:
        s->mode = val;
        s->kbd.translate = val & MODE_XLATE;
        /* The interrupt enables act on a byte already in the buffer, and
         * re-enabled interfaces may have bytes waiting. */
        i8042_update_irq_lines(s);
        i8042_poll(s);
        break;
    case CCMD_WRITE_KBD_OBUF:
        i8042_ctrl_reply(s, val, false);
        break;
    case CCMD_WRITE_AUX_OBUF:
        i8042_ctrl_reply(s, val, true);
        break;
    case CCMD_WRITE_OUTPORT:
        i8042_write_outport(s, val);
        break;
    case CCMD_WRITE_AUX:
        aux_write(s, val);
        s->mode &= ~MODE_AUX_DISABLE;
        i8042_poll(s);
        break;
    default:
        break;
    }
}

/* Port 0x60 read: takes the buffered byte from its source. */
static uint8_t i8042_read_data(struct i8042 *s)
{
    if (!(s->status & STAT_OBF)) {
        return s->obdata;
    }
    i8042_clear_obf(s);
    switch (s->obsrc) {
    case OBSRC_KBD:
        s->obdata = ps2_queue_get(&s->kbd.q);
        /* The device drops its line and raises it again if it holds more,
         * letting the mouse have the buffer in between. */
        kbd_line(s, false);
        if (s->kbd.q.count) {
            kbd_line(s, true);
        }
        break;
    case OBSRC_AUX:
        s->obdata = ps2_queue_get(&s->mouse.q);
        aux_line(s, false);
        if (s->mouse.q.count) {
            aux_line(s, true);
        }
        break;
    case OBSRC_CTRL:
        s->obdata = s->cbdata;
        s->pending &= ~(PEND_CTRL_KBD | PEND_CTRL_AUX);
        if (i8042_pending(s)) {
            i8042_fill_obf(s);
        }
        break;
    default:
        break;
    }
    return s->obdata;
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
    return i8042_read_data(opaque);
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    i8042_write_data(opaque, value);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *s = opaque;

    return s->status;
}

static void i8042_cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    i8042_command(opaque, value);
}

static const struct io_ops i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
};

static const struct io_ops i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
};

void i8042_reset(struct i8042 *s)
{
    s->write_cmd = 0;
    s->mode = MODE_KBD_INT | MODE_AUX_INT;
    s->status = STAT_CMD | STAT_UNLOCKED;
    s->outport = OUT_RESET | OUT_A20 | OUT_ONES;
    s->pending = 0;
    kbd_reset(&s->kbd);
    aux_reset(&s->mouse);
    i8042_clear_obf(s);
}

void i8042_kbd_put_keycode(struct i8042 *s, uint8_t code)
{
    /* A keyboard with scanning off sends nothing (0xf5). */
    if (s->kbd.scan_enabled) {
        kbd_put(s, code);
    }
}

unsigned i8042_kbd_scancode_set(const struct i8042 *s)
{
    return s->kbd.scancode_set;
}

bool i8042_kbd_translating(const struct i8042 *s)
{
    return s->kbd.translate;
}

struct i8042 *i8042_create(GError **errp)
{
    struct i8042 *s = g_new0(struct i8042, 1);

    if (io_register_pio(I8042_DATA_PORT, 1, "i8042-data", &i8042_data_ops, s, errp) < 0) {
        g_free(s);
        return NULL;
    }
    if (io_register_pio(I8042_CMD_PORT, 1, "i8042-cmd", &i8042_cmd_ops, s, errp) < 0) {
        io_unregister_pio(I8042_DATA_PORT, 1);
        g_free(s);
        return NULL;
    }
    i8042_reset(s);
    return s;
}

void i8042_free(struct i8042 *s)
{
    g_free(s);
}
