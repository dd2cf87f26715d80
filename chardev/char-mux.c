/*
 * The mux: one back end shared by up to four front ends (the serial port
 * and the monitor of -nographic, "mon:stdio", mux=on), with QEMU's Ctrl-A
 * keys.  Every front end's output goes out; input goes to the one that has
 * the focus.  After Ctrl-A:
 *   x       quit ("QEMU: Terminated", exit status 0, as QEMU)
 *   c       give the focus to the next front end (CHR_EVENT_MUX_OUT to the
 *           old one, CHR_EVENT_MUX_IN to the new one)
 *   h or ?  list the keys
 *   b       a break to the front end that has the focus
 *   Ctrl-A  one Ctrl-A for that front end
 * Any other key after Ctrl-A is dropped.  QEMU's Ctrl-A s (commit disks)
 * and Ctrl-A t (timestamps) are not built yet.
 *
 * The focus starts with the first front end that sets its handlers and
 * stays there when more join.  QEMU instead hands it to the newest, but
 * creates the serial port after the monitor, so the serial port ends up
 * with it; hyvm creates the monitor last, and keeping the first gives the
 * same result: the guest's console has the keyboard at start-up.
 *
 * Input for a front end that is full waits in a queue of its own.  The
 * queue is large so that pasting into a slow guest loses nothing, and the
 * mux keeps reading past a full one so that Ctrl-A x works even when the
 * guest never reads its UART; bytes beyond a full queue are dropped, like
 * a UART's overrun.
 *
 * Threads: the back end's callbacks run on the main thread; front ends
 * write and accept input from any thread; all with the big lock held.
 */
#include <errno.h>
#include <string.h>

#include "chardev/chardev-internal.h"
#include "system/error.h"
#include "system/runstate.h"

#define MUX_MAX_FE 4
#define MUX_QUEUE_LEN 4096
#define MUX_ESCAPE 0x01     /* Ctrl-A; QEMU's -echr would change it */

struct mux_queue {
    uint8_t buf[MUX_QUEUE_LEN];
    unsigned head, len;
};

struct chr_mux {
    struct chardev chr;
    struct chardev *base;
    struct char_fe base_fe;         /* the mux is the base's front end */
    struct char_fe *fes[MUX_MAX_FE];
    unsigned count;
    int focus;                      /* index into fes, or -1 */
    bool got_escape;
    struct mux_queue queue[MUX_MAX_FE];
};

static struct chr_mux *to_mux(struct chardev *chr)
{
    return container_of(chr, struct chr_mux, chr);
}

static void mux_send_event(struct chr_mux *m, int i, enum chr_event event)
{
    struct char_fe *fe = i >= 0 && i < (int)m->count ? m->fes[i] : NULL;

    if (fe && fe->event) {
        fe->event(fe->opaque, event);
    }
}

/* Hands queued input to front end i while it has room. */
static void mux_drain(struct chr_mux *m, int i)
{
    struct mux_queue *q = &m->queue[i];
    struct char_fe *fe = m->fes[i];

    while (q->len && fe && fe->receive && fe->can_receive) {
        unsigned chunk = MIN(q->len, MUX_QUEUE_LEN - q->head);
        int room = fe->can_receive(fe->opaque);

        if (room <= 0) {
            break;
        }
        chunk = MIN(chunk, (unsigned)room);
        q->head = (q->head + chunk) % MUX_QUEUE_LEN;
        q->len -= chunk;
        fe->receive(fe->opaque, q->buf + (q->head + MUX_QUEUE_LEN - chunk) % MUX_QUEUE_LEN,
                    chunk);
    }
}

static void mux_deliver(struct chr_mux *m, uint8_t ch)
{
    struct mux_queue *q;

    if (m->focus < 0) {
        return;
    }
    q = &m->queue[m->focus];
    if (q->len == MUX_QUEUE_LEN) {
        return;     /* overrun: see the top of the file */
    }
    q->buf[(q->head + q->len) % MUX_QUEUE_LEN] = ch;
    q->len++;
}

static void mux_write_base(struct chr_mux *m, const char *s)
{
    if (!m->base->closed) {
        m->base->ops->write(m->base, (const uint8_t *)s, strlen(s));
    }
}

/* Our own wording of QEMU's list; the keys are the same.  "\n\r" as QEMU. */
static void mux_print_help(struct chr_mux *m)
{
    static const char *const lines[] = {
        "C-a h    show these keys",
        "C-a x    quit hyvm",
        "C-a b    send a break to the guest (magic SysRq)",
        "C-a c    switch between the serial console and the monitor",
        "C-a C-a  type one C-a",
    };

    mux_write_base(m, "\n\r");
    for (unsigned i = 0; i < G_N_ELEMENTS(lines); i++) {
        mux_write_base(m, lines[i]);
        mux_write_base(m, "\n\r");
    }
}

static void mux_set_focus(struct chr_mux *m, int focus)
{
    int old = m->focus;

    if (old >= 0) {
        mux_send_event(m, old, CHR_EVENT_MUX_OUT);
    }
    m->focus = focus;
    mux_send_event(m, focus, CHR_EVENT_MUX_IN);
    mux_drain(m, focus);
}

static void mux_key(struct chr_mux *m, uint8_t ch)
{
    if (!m->got_escape) {
        if (ch == MUX_ESCAPE) {
            m->got_escape = true;
        } else {
            mux_deliver(m, ch);
        }
        return;
    }
    m->got_escape = false;
    switch (ch) {
    case MUX_ESCAPE:
        mux_deliver(m, ch);
        break;
    case 'h':
    case '?':
        mux_print_help(m);
        break;
    case 'x':
        mux_write_base(m, "QEMU: Terminated\n\r");
        vm_request_exit(0, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
        break;
    case 'b':
        mux_send_event(m, m->focus, CHR_EVENT_BREAK);
        break;
    case 'c':
        if (m->count) {
            mux_set_focus(m, (m->focus + 1) % (int)m->count);
        }
        break;
    default:
        break;
    }
}

/* ---- the mux as the base's front end ---- */

static int mux_can_receive(void *opaque)
{
    struct chr_mux *m = opaque;
    unsigned room = MUX_QUEUE_LEN;

    if (m->focus >= 0) {
        mux_drain(m, m->focus);
        room = MUX_QUEUE_LEN - m->queue[m->focus].len;
    }
    /* At least one byte, so that Ctrl-A keys are always seen. */
    return MAX(room, 1u);
}

static void mux_receive(void *opaque, const uint8_t *buf, int len)
{
    struct chr_mux *m = opaque;

    for (int i = 0; i < len; i++) {
        mux_key(m, buf[i]);
    }
    if (m->focus >= 0) {
        mux_drain(m, m->focus);
    }
}

static void mux_event(void *opaque, enum chr_event event)
{
    struct chr_mux *m = opaque;

    if (event == CHR_EVENT_OPENED) {
        m->chr.be_open = true;
    } else if (event == CHR_EVENT_CLOSED) {
        m->chr.be_open = false;
    }
    for (unsigned i = 0; i < m->count; i++) {
        mux_send_event(m, i, event);
    }
}

/* ---- the mux as a chardev its front ends use ---- */

static int mux_open(struct chardev *chr, const struct chr_opts *o, GError **errp)
{
    return 0;
}

static int mux_write(struct chardev *chr, const uint8_t *buf, int len)
{
    struct chr_mux *m = to_mux(chr);

    if (m->base->closed) {
        return len;
    }
    return m->base->ops->write(m->base, buf, len);
}

static void mux_accept_input(struct chardev *chr, struct char_fe *fe)
{
    struct chr_mux *m = to_mux(chr);

    if (fe->mux_index >= 0 && fe->mux_index < (int)m->count) {
        mux_drain(m, fe->mux_index);
    }
    chr_fe_accept_input(&m->base_fe);
}

static int mux_fe_attach(struct chardev *chr, struct char_fe *fe, GError **errp)
{
    struct chr_mux *m = to_mux(chr);

    if (m->count >= MUX_MAX_FE) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "too many uses of multiplexed chardev '%s' (maximum is %d)", chr->id,
                    MUX_MAX_FE);
        return -EBUSY;
    }
    fe->mux_index = m->count;
    m->fes[m->count++] = fe;
    return 0;
}

static void mux_fe_handlers_set(struct chardev *chr, struct char_fe *fe)
{
    struct chr_mux *m = to_mux(chr);

    if (fe->mux_index < 0) {
        return;
    }
    if (m->focus < 0) {
        m->focus = fe->mux_index;
        mux_send_event(m, fe->mux_index, CHR_EVENT_MUX_IN);
    } else if (m->focus != fe->mux_index) {
        /* Joins without the focus: it must hold its output back. */
        mux_send_event(m, fe->mux_index, CHR_EVENT_MUX_OUT);
    }
    if (chr->be_open) {
        mux_send_event(m, fe->mux_index, CHR_EVENT_OPENED);
    }
    mux_accept_input(chr, fe);
}

static void mux_fe_detach(struct chardev *chr, struct char_fe *fe)
{
    struct chr_mux *m = to_mux(chr);
    int i = fe->mux_index;

    if (i < 0 || i >= (int)m->count || m->fes[i] != fe) {
        return;
    }
    /* Keep the indices of the others: the slot stays, empty. */
    m->fes[i] = NULL;
    m->queue[i].len = 0;
    if (m->focus == i) {
        m->focus = -1;
        for (unsigned j = 0; j < m->count; j++) {
            if (m->fes[j]) {
                mux_set_focus(m, (int)j);
                break;
            }
        }
    }
}

static void mux_close(struct chardev *chr)
{
    chr_fe_deinit(&to_mux(chr)->base_fe);
}

static bool mux_has_fe(struct chardev *chr)
{
    return to_mux(chr)->count > 0;
}

const struct chardev_ops chr_mux_ops = {
    .name = "mux",
    .size = sizeof(struct chr_mux),
    .open = mux_open,
    .write = mux_write,
    .accept_input = mux_accept_input,
    .close = mux_close,
    .fe_attach = mux_fe_attach,
    .fe_handlers_set = mux_fe_handlers_set,
    .fe_detach = mux_fe_detach,
    .has_fe = mux_has_fe,
};

struct chardev *chr_mux_create(const char *id, struct chardev *base, GError **errp)
{
    struct chr_mux *m = g_new0(struct chr_mux, 1);

    m->chr.id = g_strdup(id);
    m->chr.ops = &chr_mux_ops;
    m->base = base;
    m->focus = -1;
    if (chr_fe_init(&m->base_fe, base, errp) < 0) {
        g_free(m->chr.id);
        g_free(m);
        return NULL;
    }
    chr_register(&m->chr);
    /* Learns whether the base is connected (OPENED) and starts its reader. */
    chr_fe_set_handlers(&m->base_fe, mux_can_receive, mux_receive, mux_event, m);
    return &m->chr;
}
