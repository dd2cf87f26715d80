/*
 * The guest's clocks and their timers (see vclock.h).
 *
 * Without icount a timer is a glib source whose ready time (microseconds
 * of the same CLOCK_MONOTONIC) is its deadline rounded up.  With icount the
 * virtual clock is
 *     bias + ((retired - base) << shift)
 * where retired is every vCPU's instruction count summed; warps over idle
 * time and shift changes (shift=auto) move bias and base so the clock never
 * jumps back.  Virtual timers are then a list sorted by deadline that the
 * vCPU holding the execution turn runs (vclock_run_timers).
 *
 * Threads: the icount state is written by the thread running guest code
 * (one at a time in icount mode) and read by any; the timer list is under
 * the big lock, and next_deadline mirrors its head for readers without it.
 */
#include <time.h>

#include <glib.h>

#include "system/main-loop.h"
#include "system/vclock.h"

struct vtimer {
    enum vclock_type type;
    vtimer_cb *cb;
    void *opaque;
    int64_t deadline;           /* -1: disarmed */
    GSource *source;            /* host timers, virtual ones without icount */
    struct vtimer *next;        /* icount: the armed list, by deadline */
};

static struct {
    bool on;
    bool sleep;
    bool adaptive;              /* shift=auto */
    const struct vclock_icount_ops *ops;
    int shift;
    int64_t bias;               /* the clock at base */
    uint64_t base;              /* retired instructions at bias */
    int64_t host_start;         /* shift=auto: host and virtual clock at the start */
    struct vtimer *armed;       /* sorted by deadline */
    int64_t next_deadline;      /* armed's deadline, or INT64_MAX */
} ic = { .next_deadline = INT64_MAX };

int64_t vclock_host_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t icount_ns(void)
{
    uint64_t n = ic.ops->retired() - __atomic_load_n(&ic.base, __ATOMIC_RELAXED);

    return __atomic_load_n(&ic.bias, __ATOMIC_RELAXED) +
           (int64_t)(n << __atomic_load_n(&ic.shift, __ATOMIC_RELAXED));
}

int64_t vclock_ns(enum vclock_type type)
{
    return type == VCLOCK_VIRTUAL && ic.on ? icount_ns() : vclock_host_ns();
}

int64_t vclock_virtual_ns(void)
{
    return vclock_ns(VCLOCK_VIRTUAL);
}

/* ---- glib timers ---- */

static gboolean vtimer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    struct vtimer *t = data;

    g_source_set_ready_time(src, -1);
    t->deadline = -1;
    t->cb(t->opaque);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs vtimer_source_funcs = {
    .dispatch = vtimer_dispatch,
};

static bool on_list(const struct vtimer *t)
{
    return t->type == VCLOCK_VIRTUAL && ic.on;
}

struct vtimer *vtimer_new(enum vclock_type type, const char *name, vtimer_cb *cb,
                          void *opaque)
{
    struct vtimer *t = g_new0(struct vtimer, 1);

    t->type = type;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline = -1;
    if (!on_list(t)) {
        t->source = g_source_new(&vtimer_source_funcs, sizeof(GSource));
        g_source_set_name(t->source, name);
        g_source_set_callback(t->source, NULL, t, NULL);
        g_source_attach(t->source, NULL);
    }
    return t;
}

/* ---- the icount list ---- */

static void list_remove(struct vtimer *t)
{
    for (struct vtimer **pp = &ic.armed; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->next = NULL;
}

static void list_insert(struct vtimer *t)
{
    struct vtimer **pp = &ic.armed;

    /* After those with the same deadline: timers fire in the order armed. */
    while (*pp && (*pp)->deadline <= t->deadline) {
        pp = &(*pp)->next;
    }
    t->next = *pp;
    *pp = t;
}

static void publish_head(void)
{
    __atomic_store_n(&ic.next_deadline, ic.armed ? ic.armed->deadline : INT64_MAX,
                     __ATOMIC_RELEASE);
}

void vtimer_mod(struct vtimer *t, int64_t deadline_ns)
{
    int64_t old_head = ic.next_deadline;

    if (!on_list(t)) {
        t->deadline = deadline_ns < 0 ? -1 : deadline_ns;
        /* A deadline far away may be INT64_MAX: round up without overflow. */
        g_source_set_ready_time(t->source, deadline_ns < 0 ? -1
                                           : deadline_ns / 1000 + (deadline_ns % 1000 != 0));
        return;
    }
    if (t->deadline >= 0) {
        list_remove(t);
    }
    t->deadline = deadline_ns < 0 ? -1 : deadline_ns;
    if (t->deadline >= 0) {
        list_insert(t);
    }
    publish_head();
    if (ic.next_deadline < old_head && ic.ops->deadline_moved) {
        ic.ops->deadline_moved();
    }
}

void vtimer_free(struct vtimer *t)
{
    if (!t) {
        return;
    }
    if (t->source) {
        g_source_destroy(t->source);
        g_source_unref(t->source);
    } else if (t->deadline >= 0) {
        list_remove(t);
        publish_head();
    }
    g_free(t);
}

/* ---- icount ---- */

void vclock_icount_enable(int shift, bool sleep, const struct vclock_icount_ops *ops)
{
    ic.on = true;
    ic.sleep = sleep;
    ic.ops = ops;
    ic.adaptive = shift == VCLOCK_ICOUNT_AUTO;
    /* shift=auto starts where QEMU's does, at 3 (8 ns per instruction). */
    ic.shift = ic.adaptive ? 3 : shift;
    ic.base = ops->retired();
    ic.bias = 0;
    ic.host_start = vclock_host_ns();
}

bool vclock_icount(void)
{
    return ic.on;
}

bool vclock_icount_sleep(void)
{
    return ic.sleep;
}

int64_t vclock_next_deadline(void)
{
    return __atomic_load_n(&ic.next_deadline, __ATOMIC_ACQUIRE);
}

uint64_t vclock_icount_until(int64_t ns)
{
    int64_t d;

    if (ns == INT64_MAX) {
        return UINT64_MAX;
    }
    d = ns - icount_ns();
    if (d <= 0) {
        return 0;
    }
    /* Rounded up: the clock is at or past ns after that many. */
    return (((uint64_t)d - 1) >> ic.shift) + 1;
}

bool vclock_run_timers(void)
{
    int64_t now = icount_ns();
    bool ran = false;

    while (ic.armed && ic.armed->deadline <= now) {
        struct vtimer *t = ic.armed;

        ic.armed = t->next;
        t->next = NULL;
        t->deadline = -1;
        publish_head();
        t->cb(t->opaque);       /* may re-arm t or others */
        ran = true;
    }
    return ran;
}

/* Starts counting again from here: bias is the clock now. */
static void rebase(int64_t now)
{
    __atomic_store_n(&ic.base, ic.ops->retired(), __ATOMIC_RELAXED);
    __atomic_store_n(&ic.bias, now, __ATOMIC_RELAXED);
}

void vclock_warp(int64_t ns)
{
    if (ns > 0) {
        rebase(icount_ns() + ns);
    }
}

void vclock_icount_adjust(void)
{
    int64_t now, host, delta;

    if (!ic.adaptive) {
        return;
    }
    now = icount_ns();
    host = vclock_host_ns() - ic.host_start;
    delta = now - host;
    /* Ahead of the host by more than 10 ms: fewer ns per instruction;
     * behind: more.  Moves one step at a time, as the host's speed drifts. */
    if (delta > 10000000 && ic.shift > 0) {
        rebase(now);
        __atomic_store_n(&ic.shift, ic.shift - 1, __ATOMIC_RELAXED);
    } else if (delta < -10000000 && ic.shift < VCLOCK_ICOUNT_MAX_SHIFT) {
        rebase(now);
        __atomic_store_n(&ic.shift, ic.shift + 1, __ATOMIC_RELAXED);
    }
}
