/*
 * vCPU threads.  Each vCPU has its own thread that calls the accelerator's
 * vcpu_run and acts on what it returns; pause, resume and exit requests reach
 * it through a kick.
 */
#ifndef HYVM_CPUS_H
#define HYVM_CPUS_H

#include <pthread.h>
#include <stdbool.h>
#include <glib.h>

struct machine;

struct vcpu {
    unsigned index;
    struct machine *m;
    pthread_t thread;
    bool thread_started;
    int thread_id;          /* the thread's Linux TID once it runs (info cpus) */
    void *accel_priv;       /* the backend's per-vCPU state */
    /* Under the cpus lock (cpus.c). */
    bool stop;              /* asked to leave the guest and park */
    bool parked;            /* acknowledged: not in the guest */
};

/* Creates m->ncpus vCPUs through m->accel and loads m->boot_state into the
 * BSP when the machine set one.  Main thread, before the VM runs. */
int cpus_create(struct machine *m, GError **errp);
/* Starts the threads; they stay parked until cpus_resume_all(). */
int cpus_start_threads(struct machine *m, GError **errp);
/* Main thread, big lock held.  pause waits until every vCPU is parked. */
/* Any thread: a vCPU sleeping after VCPU_EXIT_HALTED calls vcpu_run again
 * (an interrupt line rose).  Takes the vCPU lock; callers may hold the big
 * lock, never the other way round. */
void cpus_wake(struct vcpu *cpu);
void cpus_pause_all(void);
void cpus_resume_all(void);
/* Stops and joins every vCPU thread, then lets the backend free them. */
void cpus_destroy_all(struct machine *m);

#endif
