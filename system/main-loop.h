/*
 * The glib main loop of the main thread, and the big lock.
 *
 * The main thread holds the big lock except while it sleeps in poll(); every
 * glib callback (chardevs, timers, later QMP and slirp) therefore runs with it
 * held.  A vCPU thread takes it when it leaves the guest for a device.
 */
#ifndef HYVM_MAIN_LOOP_H
#define HYVM_MAIN_LOOP_H

#include <stdbool.h>

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);

void main_loop_init(void);
/* Runs until the VM ends; returns the process exit status. */
int main_loop_run(void);
/* Any thread: makes the main loop look at pending requests. */
void main_loop_wakeup(void);

#endif
