/*
 * Deterministic execution for -icount: the virtual clock counts the
 * guest's instructions (system/vclock.h) and everything that moves guest
 * time happens at points of the instruction stream.
 *
 * - One vCPU runs at a time.  The turn goes round in vCPU order, to the
 *   vCPUs that have something to run, and each keeps it for ICOUNT_SLICE
 *   instructions, until it halts, or until a PAUSE (a spin-wait for
 *   another vCPU) ends its slice early.
 * - A vCPU runs at most up to the clock's next timer deadline
 *   (cpu->icount_limit, which tcg_run and translated code check between
 *   blocks), and the timers due then run on its thread, so an interrupt
 *   arrives after the same instruction every run.  A block is not cut
 *   short: the clock may pass a deadline by the rest of a block, the same
 *   amount every run.
 * - When no vCPU has anything to run, the clock jumps to the
 *   next deadline (sleep=off), or gets there in host time (sleep=on, the
 *   default, as QEMU's: wall-clock waits in the guest take as long), and
 *   the timers due run.  An event from outside (a key on the console, the
 *   monitor) ends the wait early; the clock then moves by the host time
 *   that passed, which no rerun can repeat.
 *
 * Threads: each vCPU's thread waits for its turn here; the turn's holder
 * alone runs guest code, the timers and the idle wait.  Kicks, from any
 * thread, wake every waiter.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "accel/tcg/tcg-internal.h"
#include "system/main-loop.h"
#include "system/vclock.h"

/* A slice: long enough that handing the turn over (a host thread switch)
 * costs little, short enough that vCPUs waiting on each other move on. */
#define ICOUNT_SLICE 200000

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned token;             /* the vCPU whose turn it is */
    unsigned nvcpus;
} ic = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

bool tcg_icount_on;

static uint64_t retired(void)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < tcg_cpu_count(); i++) {
        const struct tcg_cpu *c = tcg_cpu_at(i);

        if (c) {
            n += __atomic_load_n(&c->icount, __ATOMIC_RELAXED);
        }
    }
    return n;
}

/* A timer moved closer: the running vCPU stops at its next check and takes
 * a new budget; from another thread (the monitor), every vCPU is asked. */
static void deadline_moved(void)
{
    struct tcg_cpu *self = tcg_current_cpu();

    if (self && self->vcpu) {
        self->icount_limit = 0;
        return;
    }
    for (unsigned i = 0; i < tcg_cpu_count(); i++) {
        struct tcg_cpu *c = tcg_cpu_at(i);

        if (c) {
            __atomic_store_n(&c->icount_limit, 0, __ATOMIC_RELEASE);
        }
    }
    tcg_icount_wake();
}

static const struct vclock_icount_ops icount_ops = {
    .retired = retired,
    .deadline_moved = deadline_moved,
};

void tcg_icount_enable(int shift, bool sleep)
{
    tcg_icount_on = true;
    vclock_icount_enable(shift, sleep, &icount_ops);
}

void tcg_icount_add_vcpu(unsigned index)
{
    ic.nvcpus = MAX(ic.nvcpus, index + 1);
}

void tcg_icount_wake(void)
{
    pthread_mutex_lock(&ic.lock);
    pthread_cond_broadcast(&ic.cond);
    pthread_mutex_unlock(&ic.lock);
}

static void deadline_after(struct timespec *ts, int64_t ns)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ns / 1000000000;
    ts->tv_nsec += ns % 1000000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

bool tcg_icount_wait_turn(unsigned me, volatile bool *kick)
{
    if (ic.nvcpus <= 1) {
        return !*kick;
    }
    pthread_mutex_lock(&ic.lock);
    while (__atomic_load_n(&ic.token, __ATOMIC_ACQUIRE) != me && !*kick) {
        pthread_cond_wait(&ic.cond, &ic.lock);
    }
    pthread_mutex_unlock(&ic.lock);
    return !*kick;
}

bool tcg_icount_pass_turn(unsigned me)
{
    /* vCPUs with nothing to run are skipped, not woken: their state only
     * changes by the turn holder's doing (an IPI, a timer) or from outside. */
    for (unsigned k = 1; k < ic.nvcpus; k++) {
        unsigned next = (me + k) % ic.nvcpus;

        if (tcg_icount_has_work(next)) {
            pthread_mutex_lock(&ic.lock);
            __atomic_store_n(&ic.token, next, __ATOMIC_RELEASE);
            pthread_cond_broadcast(&ic.cond);
            pthread_mutex_unlock(&ic.lock);
            return true;
        }
    }
    return false;
}

uint64_t tcg_icount_slice_end(const struct tcg_cpu *cpu)
{
    return cpu->icount + ICOUNT_SLICE;
}

bool tcg_icount_run_timers(void)
{
    bool ran;

    if (vclock_next_deadline() == INT64_MAX || vclock_icount_until(vclock_next_deadline())) {
        return false;
    }
    bql_lock();
    ran = vclock_run_timers();
    bql_unlock();
    return ran;
}

void tcg_icount_set_limit(struct tcg_cpu *cpu, uint64_t slice_end)
{
    uint64_t n = vclock_icount_until(vclock_next_deadline());
    uint64_t limit = n > slice_end - cpu->icount ? slice_end : cpu->icount + n;

    __atomic_store_n(&cpu->icount_limit, limit, __ATOMIC_RELEASE);
}

static bool anyone_has_work(void)
{
    for (unsigned i = 0; i < ic.nvcpus; i++) {
        if (tcg_icount_has_work(i)) {
            return true;
        }
    }
    return false;
}

void tcg_icount_idle(volatile bool *kick)
{
    int64_t next = vclock_next_deadline();
    int64_t now = vclock_virtual_ns();

    if (next != INT64_MAX && !vclock_icount_sleep()) {
        vclock_warp(next - now);
        tcg_icount_run_timers();
        return;
    }
    /* sleep=on, or nothing armed: wait in host time for the deadline or an
     * event from outside.  Such an event sets its vCPU's request before it
     * wakes us under the lock: looked at again under the lock, none is lost. */
    pthread_mutex_lock(&ic.lock);
    if (*kick || anyone_has_work() || vclock_next_deadline() != next) {
        pthread_mutex_unlock(&ic.lock);
        return;
    }
    if (next == INT64_MAX) {
        int64_t start = vclock_host_ns();

        pthread_cond_wait(&ic.cond, &ic.lock);
        pthread_mutex_unlock(&ic.lock);
        if (vclock_icount_sleep()) {
            vclock_warp(vclock_host_ns() - start);
        }
        return;
    }
    if (next > now) {
        int64_t start = vclock_host_ns(), slept;
        struct timespec ts;
        int err;

        deadline_after(&ts, next - now);
        err = pthread_cond_timedwait(&ic.cond, &ic.lock, &ts);
        slept = vclock_host_ns() - start;
        pthread_mutex_unlock(&ic.lock);
        /* Woken early (an outside event): as much time as passed. */
        vclock_warp(err == ETIMEDOUT ? next - now : MIN(slept, next - now));
    } else {
        pthread_mutex_unlock(&ic.lock);
    }
    tcg_icount_run_timers();
}
