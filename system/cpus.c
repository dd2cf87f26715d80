/*
 * vCPU threads.  Each runs the accelerator's vcpu_run and acts on why it
 * returned; pause, resume and quit reach it as a kick.
 *
 * Locks: cpus_lock guards the flags below and is never held while taking
 * the big lock.  The main thread holds the big lock when it calls in here,
 * so it drops the big lock while it waits for vCPUs to park: a vCPU may be
 * waiting for the big lock in device dispatch.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accel/accel.h"
#include "machine/machine.h"
#include "system/cpus.h"
#include "system/error.h"
#include "system/main-loop.h"
#include "system/runstate.h"

static pthread_mutex_t cpus_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cpus_cond = PTHREAD_COND_INITIALIZER;
static struct machine *cpus_machine;
static bool cpus_running;     /* resumed: vCPUs may enter the guest */
static bool cpus_quit;        /* joining: leave for good */

/* Per-vCPU wake-up for a halted vCPU, under cpus_lock. */
static bool *cpus_woken;

static void cpu_kick(struct vcpu *cpu)
{
    cpus_woken[cpu->index] = true;
    pthread_cond_broadcast(&cpus_cond);
    cpus_machine->accel->vcpu_kick(cpu);
}

void cpus_wake(struct vcpu *cpu)
{
    pthread_mutex_lock(&cpus_lock);
    if (cpus_woken) {
        cpus_woken[cpu->index] = true;
    }
    pthread_cond_broadcast(&cpus_cond);
    pthread_mutex_unlock(&cpus_lock);
}

/* Parks until allowed to run; false when the thread must end. */
static bool cpu_wait_runnable(struct vcpu *cpu)
{
    while (!cpus_quit && (!cpus_running || cpu->stop)) {
        if (!cpu->parked) {
            cpu->parked = true;
            pthread_cond_broadcast(&cpus_cond);
        }
        pthread_cond_wait(&cpus_cond, &cpus_lock);
    }
    cpu->parked = false;
    return !cpus_quit;
}

static void *cpu_thread(void *opaque)
{
    struct vcpu *cpu = opaque;
    const struct accel_ops *accel = cpu->m->accel;
    sigset_t set;

    /* Signals for the process (SIGINT, SIGTERM) go to the main thread. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    cpu->thread_id = gettid();

    pthread_mutex_lock(&cpus_lock);
    while (cpu_wait_runnable(cpu)) {
        enum vcpu_exit why;

        cpus_woken[cpu->index] = false;
        pthread_mutex_unlock(&cpus_lock);
        why = accel->vcpu_run(cpu);
        pthread_mutex_lock(&cpus_lock);

        /* Like a real machine powering off, a vCPU whose access ended the VM
         * (isa-debug-exit, ACPI S5) runs no further instruction. */
        if (vm_exit_requested()) {
            cpu->stop = true;
        }
        /* A pause or reset the guest caused (poweroff with -no-shutdown, a
         * panic, a reset register): do not enter the guest again before the
         * main loop pauses. */
        while ((vm_pause_pending() || vm_reset_pending()) && cpus_running && !cpus_quit &&
               !vm_exit_requested()) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&cpus_cond, &cpus_lock, &ts);
        }
        switch (why) {
        case VCPU_EXIT_KICKED:
            break;
        case VCPU_EXIT_HALTED:
            /* HLT with no in-kernel irqchip: sleep until someone kicks us. */
            while (!cpus_woken[cpu->index] && !cpus_quit && cpus_running && !cpu->stop) {
                pthread_cond_wait(&cpus_cond, &cpus_lock);
            }
            break;
        case VCPU_EXIT_SHUTDOWN:
            /* Triple fault: a reset, or the end with -no-reboot. */
            vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
            break;
        case VCPU_EXIT_ERROR:
            vm_request_exit(1, SHUTDOWN_CAUSE_HOST_ERROR);
            /* Never enter the guest again; wait to be joined. */
            cpu->stop = true;
            break;
        }
    }
    cpu->parked = true;
    pthread_cond_broadcast(&cpus_cond);
    pthread_mutex_unlock(&cpus_lock);
    return NULL;
}

int cpus_create(struct machine *m, GError **errp)
{
    cpus_machine = m;
    m->cpus = g_new0(struct vcpu *, m->ncpus);
    cpus_woken = g_new0(bool, m->ncpus);
    for (unsigned i = 0; i < m->ncpus; i++) {
        struct vcpu *cpu = g_new0(struct vcpu, 1);

        cpu->index = i;
        cpu->m = m;
        m->cpus[i] = cpu;
        if (m->accel->vcpu_init(cpu, errp) < 0) {
            return -1;
        }
    }
    if (m->has_boot_state && m->ncpus &&
        m->accel->set_state(m->cpus[0], &m->boot_state) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "could not load the boot state into vCPU 0");
        return -1;
    }
    return 0;
}

int cpus_start_threads(struct machine *m, GError **errp)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        struct vcpu *cpu = m->cpus[i];
        int ret = pthread_create(&cpu->thread, NULL, cpu_thread, cpu);

        if (ret) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "could not start the thread of vCPU %u: %s", i, g_strerror(ret));
            return -1;
        }
        cpu->thread_started = true;
    }
    return 0;
}

static bool all_parked(void)
{
    for (unsigned i = 0; i < cpus_machine->ncpus; i++) {
        struct vcpu *cpu = cpus_machine->cpus[i];

        if (cpu->thread_started && !cpu->parked) {
            return false;
        }
    }
    return true;
}

void cpus_pause_all(void)
{
    if (!cpus_machine || !cpus_machine->cpus) {
        return;
    }
    pthread_mutex_lock(&cpus_lock);
    cpus_running = false;
    for (unsigned i = 0; i < cpus_machine->ncpus; i++) {
        cpu_kick(cpus_machine->cpus[i]);
    }
    pthread_mutex_unlock(&cpus_lock);

    bql_unlock();
    pthread_mutex_lock(&cpus_lock);
    while (!all_parked()) {
        pthread_cond_wait(&cpus_cond, &cpus_lock);
    }
    pthread_mutex_unlock(&cpus_lock);
    bql_lock();
}

void cpus_resume_all(void)
{
    if (!cpus_machine) {
        return;
    }
    pthread_mutex_lock(&cpus_lock);
    cpus_running = true;
    pthread_cond_broadcast(&cpus_cond);
    pthread_mutex_unlock(&cpus_lock);
}

void cpus_destroy_all(struct machine *m)
{
    if (!m->cpus) {
        return;
    }
    pthread_mutex_lock(&cpus_lock);
    cpus_quit = true;
    for (unsigned i = 0; i < m->ncpus; i++) {
        if (m->cpus[i]) {
            cpu_kick(m->cpus[i]);
        }
    }
    pthread_mutex_unlock(&cpus_lock);

    bql_unlock();
    for (unsigned i = 0; i < m->ncpus; i++) {
        if (m->cpus[i] && m->cpus[i]->thread_started) {
            /* A kick may land before the thread enters KVM_RUN: repeat it. */
            while (pthread_tryjoin_np(m->cpus[i]->thread, NULL) == EBUSY) {
                m->accel->vcpu_kick(m->cpus[i]);
                g_usleep(1000);
            }
        }
    }
    bql_lock();
    for (unsigned i = 0; i < m->ncpus; i++) {
        if (m->cpus[i] && m->accel->vcpu_destroy) {
            m->accel->vcpu_destroy(m->cpus[i]);
        }
        g_free(m->cpus[i]);
    }
    g_clear_pointer(&m->cpus, g_free);
    g_clear_pointer(&cpus_woken, g_free);
    if (m->accel->cleanup) {
        m->accel->cleanup();
    }
}
