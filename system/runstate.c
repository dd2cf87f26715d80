/*
 * Run state and VM-level requests.
 *
 * Threads: requests are made from any thread, and vm_request_signal_exit()
 * from a signal handler, so the pending flags are atomics.  The state itself
 * changes only on the main thread with the big lock held.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "system/error.h"
#include "system/main-loop.h"
#include "system/runstate.h"

static enum run_state state = RUN_STATE_PRELAUNCH;
static struct vm_actions actions;
static const struct vm_cpu_control *cpu_ctl;

static atomic_bool exit_req;
static atomic_int exit_status;
static atomic_int exit_cause;
static atomic_bool shutdown_pause_req;
static atomic_bool panic_pause_req;
static atomic_bool watchdog_pause_req;
static atomic_bool reset_req;
static atomic_int signal_no;
static atomic_int signal_pid;

struct listener {
    runstate_listener_fn fn;
    void *opaque;
};
static GArray *listeners;

struct request_listener {
    vm_request_listener_fn fn;
    void *opaque;
};
static GArray *request_listeners;

static void notify_request(enum vm_request req, enum shutdown_cause cause)
{
    for (unsigned i = 0; request_listeners && i < request_listeners->len; i++) {
        struct request_listener *l =
            &g_array_index(request_listeners, struct request_listener, i);
        l->fn(l->opaque, req, cause);
    }
}

void runstate_add_request_listener(vm_request_listener_fn fn, void *opaque)
{
    struct request_listener l = { fn, opaque };

    if (!request_listeners) {
        request_listeners = g_array_new(FALSE, FALSE, sizeof(struct request_listener));
    }
    g_array_append_val(request_listeners, l);
}

static const char *const state_names[RUN_STATE__MAX] = {
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
    [RUN_STATE_WATCHDOG] = "watchdog",
};

const char *const reboot_action_names[] = { "reset", "shutdown", NULL };
const char *const shutdown_action_names[] = { "poweroff", "pause", NULL };
const char *const panic_action_names[] = { "shutdown", "pause", "none", "exit-failure", NULL };
const char *const watchdog_action_names[] = {
    "reset", "shutdown", "poweroff", "pause", "debug", "none", "inject-nmi", NULL,
};

enum run_state runstate_get(void)
{
    return state;
}

const char *runstate_name(enum run_state s)
{
    return s < RUN_STATE__MAX ? state_names[s] : "unknown";
}

bool runstate_is_running(void)
{
    return state == RUN_STATE_RUNNING;
}

void runstate_set(enum run_state s)
{
    enum run_state old = state;

    if (s == old) {
        return;
    }
    state = s;
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        struct listener *l = &g_array_index(listeners, struct listener, i);
        l->fn(l->opaque, old, s);
    }
}

void runstate_add_listener(runstate_listener_fn fn, void *opaque)
{
    struct listener l = { fn, opaque };

    if (!listeners) {
        listeners = g_array_new(FALSE, FALSE, sizeof(struct listener));
    }
    g_array_append_val(listeners, l);
}

void runstate_set_actions(const struct vm_actions *a)
{
    actions = *a;
}

const struct vm_actions *runstate_actions(void)
{
    return &actions;
}

void runstate_set_no_reboot(bool on)
{
    actions.reboot = on ? REBOOT_ACTION_SHUTDOWN : REBOOT_ACTION_RESET;
}

void runstate_set_no_shutdown(bool on)
{
    actions.shutdown = on ? SHUTDOWN_ACTION_PAUSE : SHUTDOWN_ACTION_POWEROFF;
}

void runstate_set_cpu_control(const struct vm_cpu_control *ctl)
{
    cpu_ctl = ctl;
}

void vm_request_exit(int status, enum shutdown_cause cause)
{
    bool expected = false;

    /* The first request decides the exit status. */
    if (atomic_compare_exchange_strong(&exit_req, &expected, true)) {
        atomic_store(&exit_status, status);
        atomic_store(&exit_cause, cause);
        if (cause != SHUTDOWN_CAUSE_NONE) {
            notify_request(VM_REQUEST_SHUTDOWN, cause);
        }
    }
    main_loop_wakeup();
}

/* A shutdown request: pauses in "shutdown" with shutdown=pause, else ends
 * the VM with this status. */
static void shutdown_with_status(enum shutdown_cause cause, int status)
{
    if (actions.shutdown == SHUTDOWN_ACTION_PAUSE) {
        notify_request(VM_REQUEST_SHUTDOWN, cause);
        atomic_store(&shutdown_pause_req, true);
        main_loop_wakeup();
        return;
    }
    vm_request_exit(status, cause);
}

void vm_request_shutdown(enum shutdown_cause cause)
{
    shutdown_with_status(cause, 0);
}

void vm_request_reset(enum shutdown_cause cause)
{
    /* QEMU's qemu_system_reset_request(): a subsystem reset is never a
     * shutdown. */
    if (actions.reboot == REBOOT_ACTION_SHUTDOWN && cause != SHUTDOWN_CAUSE_SUBSYSTEM_RESET) {
        vm_request_shutdown(cause);
        return;
    }
    notify_request(VM_REQUEST_RESET, cause);
    atomic_store(&reset_req, true);
    main_loop_wakeup();
}

static void (*power_button_press)(void *opaque);
static void *power_button_opaque;

void runstate_set_power_button(void (*press)(void *opaque), void *opaque)
{
    power_button_press = press;
    power_button_opaque = opaque;
}

bool vm_request_powerdown(void)
{
    if (!power_button_press) {
        return false;
    }
    notify_request(VM_REQUEST_POWERDOWN, SHUTDOWN_CAUSE_NONE);
    power_button_press(power_button_opaque);
    return true;
}

/* Async-signal-safe: atomics and main_loop_wakeup()'s write(2) only. */
void vm_request_signal_exit(int signo, int pid)
{
    atomic_store(&signal_pid, pid);
    atomic_store(&signal_no, signo);
    main_loop_wakeup();
}

void vm_request_panic(void)
{
    switch (actions.panic) {
    case PANIC_ACTION_NONE:
        notify_request(VM_REQUEST_PANIC_RUN, SHUTDOWN_CAUSE_GUEST_PANIC);
        return;
    case PANIC_ACTION_SHUTDOWN:
        if (actions.shutdown != SHUTDOWN_ACTION_PAUSE) {
            break;
        }
        /* shutdown=pause makes a panic's shutdown a pause */
        __attribute__((fallthrough));
    case PANIC_ACTION_PAUSE:
        notify_request(VM_REQUEST_PANIC_PAUSE, SHUTDOWN_CAUSE_GUEST_PANIC);
        atomic_store(&panic_pause_req, true);
        main_loop_wakeup();
        return;
    case PANIC_ACTION_EXIT_FAILURE:
        break;
    }
    notify_request(VM_REQUEST_PANIC_POWEROFF, SHUTDOWN_CAUSE_GUEST_PANIC);
    shutdown_with_status(SHUTDOWN_CAUSE_GUEST_PANIC,
                         actions.panic == PANIC_ACTION_EXIT_FAILURE ? 1 : 0);
}

void vm_watchdog_expired(void)
{
    notify_request(VM_REQUEST_WATCHDOG, SHUTDOWN_CAUSE_NONE);
    switch (actions.watchdog) {
    case WATCHDOG_ACTION_RESET:
        vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case WATCHDOG_ACTION_SHUTDOWN:
        vm_request_powerdown();
        break;
    case WATCHDOG_ACTION_POWEROFF:
        vm_request_exit(0, SHUTDOWN_CAUSE_NONE);
        break;
    case WATCHDOG_ACTION_PAUSE:
        atomic_store(&watchdog_pause_req, true);
        main_loop_wakeup();
        break;
    case WATCHDOG_ACTION_DEBUG:
        fprintf(stderr, "watchdog: timer fired\n");
        break;
    case WATCHDOG_ACTION_NONE:
        break;
    case WATCHDOG_ACTION_INJECT_NMI:
        if (cpu_ctl && cpu_ctl->nmi_all) {
            cpu_ctl->nmi_all();
        }
        break;
    }
}

void vm_report_crashloaded(void)
{
    notify_request(VM_REQUEST_CRASHLOADED, SHUTDOWN_CAUSE_NONE);
}

bool vm_pause_pending(void)
{
    return atomic_load(&shutdown_pause_req) || atomic_load(&panic_pause_req) ||
           atomic_load(&watchdog_pause_req);
}

bool vm_exit_requested(void)
{
    return atomic_load(&exit_req);
}

bool vm_reset_pending(void)
{
    return atomic_load(&reset_req);
}

static void report_signal(int signo, int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/comm", pid);
    g_autofree char *comm = NULL;

    if (pid > 0 && g_file_get_contents(path, &comm, NULL, NULL)) {
        g_strchomp(comm);
        error_report("terminating on signal %d from pid %d (%s)", signo, pid, comm);
    } else if (pid > 0) {
        error_report("terminating on signal %d from pid %d", signo, pid);
    } else {
        error_report("terminating on signal %d", signo);
    }
}

bool vm_handle_requests(int *status)
{
    int signo = atomic_exchange(&signal_no, 0);

    if (signo) {
        report_signal(signo, atomic_load(&signal_pid));
        vm_request_exit(0, SHUTDOWN_CAUSE_HOST_SIGNAL);
    }
    if (atomic_load(&exit_req)) {
        *status = atomic_load(&exit_status);
        return true;
    }
    /* Paused first, then the request dropped: vCPUs wait on it meanwhile. */
    if (atomic_load(&shutdown_pause_req)) {
        vm_stop(RUN_STATE_SHUTDOWN);
        atomic_store(&shutdown_pause_req, false);
    }
    if (atomic_load(&panic_pause_req)) {
        vm_stop(RUN_STATE_GUEST_PANICKED);
        atomic_store(&panic_pause_req, false);
    }
    if (atomic_load(&watchdog_pause_req)) {
        vm_stop(RUN_STATE_WATCHDOG);
        atomic_store(&watchdog_pause_req, false);
    }
    if (atomic_load(&reset_req) && cpu_ctl) {
        bool was_running = runstate_is_running();

        /* The request stays pending until the vCPUs are parked: a vCPU whose
         * access asked for the reset (0xcf9, the keyboard controller) waits
         * while it is pending (system/cpus.c) and must not run the
         * instruction after that access.  SeaBIOS's reboot path puts an INT3
         * right after its write to 0xcf9. */
        if (was_running) {
            cpu_ctl->pause_all();
        }
        atomic_store(&reset_req, false);
        cpu_ctl->reset_all();
        if (was_running) {
            cpu_ctl->resume_all();
        } else {
            /* QEMU's rule: a reset of a VM that is not running (paused,
             * shutdown, guest-panicked, watchdog, internal-error) leaves it in
             * prelaunch, where cont runs it. */
            runstate_set(RUN_STATE_PRELAUNCH);
        }
    }
    return false;
}

void vm_start(void)
{
    if (state == RUN_STATE_RUNNING) {
        return;
    }
    if (cpu_ctl) {
        cpu_ctl->resume_all();
    }
    runstate_set(RUN_STATE_RUNNING);
}

void vm_stop(enum run_state to)
{
    if (state == RUN_STATE_RUNNING && cpu_ctl) {
        cpu_ctl->pause_all();
    }
    runstate_set(to);
}
