/*
 * Run state of the VM (QEMU's RunState names) and the requests that change it.
 * Requests may come from any thread (a vCPU writing isa-debug-exit, a signal,
 * the monitor); the main loop acts on them.
 */
#ifndef HYVM_RUNSTATE_H
#define HYVM_RUNSTATE_H

#include <stdbool.h>

enum run_state {
    RUN_STATE_PRELAUNCH,       /* "prelaunch": -S, before the first cont */
    RUN_STATE_RUNNING,         /* "running" */
    RUN_STATE_PAUSED,          /* "paused": stop */
    RUN_STATE_SHUTDOWN,        /* "shutdown": guest powered off, -no-shutdown */
    RUN_STATE_INTERNAL_ERROR,  /* "internal-error": the accelerator gave up */
    RUN_STATE_GUEST_PANICKED,  /* "guest-panicked" */
    RUN_STATE_WATCHDOG,        /* "watchdog": paused by -action watchdog=pause */
    RUN_STATE__MAX
};

/* Why the VM stops; mirrors QEMU's ShutdownCause for the QMP SHUTDOWN event. */
enum shutdown_cause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,   /* "host-error" */
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,/* "host-qmp-quit": monitor quit, Ctrl-A x */
    SHUTDOWN_CAUSE_HOST_SIGNAL,  /* "host-signal" */
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN, /* "guest-shutdown": poweroff, isa-debug-exit */
    SHUTDOWN_CAUSE_GUEST_RESET,  /* "guest-reset" */
    SHUTDOWN_CAUSE_GUEST_PANIC,  /* "guest-panic" */
    SHUTDOWN_CAUSE_SUBSYSTEM_RESET, /* "subsystem-reset" */
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET, /* "host-qmp-system-reset": monitor system_reset */
};

enum run_state runstate_get(void);
const char *runstate_name(enum run_state s);
bool runstate_is_running(void);
void runstate_set(enum run_state s);

/* Callbacks on every change (QMP's STOP/RESUME events later). */
typedef void (*runstate_listener_fn)(void *opaque, enum run_state old,
                                     enum run_state now);
void runstate_add_listener(runstate_listener_fn fn, void *opaque);

/*
 * Callbacks when a shutdown (exit, or -no-shutdown's pause) or a reset is
 * requested, with its cause: QMP's SHUTDOWN and RESET events.  Called on
 * the requesting thread, before the request is acted on; a shutdown is
 * reported once, for the request that wins.
 */
enum vm_request {
    VM_REQUEST_SHUTDOWN,
    VM_REQUEST_RESET,
    VM_REQUEST_POWERDOWN,   /* the power button was pressed (cause NONE) */
    VM_REQUEST_PANIC_PAUSE,     /* guest panicked; the VM pauses (-no-shutdown) */
    VM_REQUEST_PANIC_POWEROFF,  /* guest panicked; the VM powers off */
    VM_REQUEST_CRASHLOADED,     /* guest loaded a crash kernel; it runs on */
    VM_REQUEST_PANIC_RUN,       /* guest panicked; panic=none: it runs on */
    VM_REQUEST_WATCHDOG,        /* a watchdog expired (runstate_actions()->watchdog) */
};
typedef void (*vm_request_listener_fn)(void *opaque, enum vm_request req,
                                       enum shutdown_cause cause);
void runstate_add_request_listener(vm_request_listener_fn fn, void *opaque);

/*
 * What the VM does on a guest reboot, power-off, panic and watchdog expiry:
 * QEMU's -action (and -no-reboot = reboot=shutdown, -no-shutdown =
 * shutdown=pause, -watchdog-action = watchdog=).  The first value of each
 * enum is the default.
 */
enum reboot_action { REBOOT_ACTION_RESET, REBOOT_ACTION_SHUTDOWN };
enum shutdown_action { SHUTDOWN_ACTION_POWEROFF, SHUTDOWN_ACTION_PAUSE };
enum panic_action {
    PANIC_ACTION_SHUTDOWN,      /* power off (or pause, with shutdown=pause) */
    PANIC_ACTION_PAUSE,         /* stop in "guest-panicked" */
    PANIC_ACTION_NONE,          /* only the event; the guest runs on */
    PANIC_ACTION_EXIT_FAILURE,  /* power off, and hyvm exits with status 1 */
};
enum watchdog_action {
    WATCHDOG_ACTION_RESET,
    WATCHDOG_ACTION_SHUTDOWN,   /* the ACPI power button */
    WATCHDOG_ACTION_POWEROFF,   /* exit at once, no SHUTDOWN event (QEMU's exit(0)) */
    WATCHDOG_ACTION_PAUSE,      /* stop in "watchdog" */
    WATCHDOG_ACTION_DEBUG,      /* a line on stderr */
    WATCHDOG_ACTION_NONE,
    WATCHDOG_ACTION_INJECT_NMI, /* an NMI to every vCPU */
};
/* The names -action and QMP use, by value; NULL-terminated. */
extern const char *const reboot_action_names[];
extern const char *const shutdown_action_names[];
extern const char *const panic_action_names[];
extern const char *const watchdog_action_names[];

struct vm_actions {
    enum reboot_action reboot;
    enum shutdown_action shutdown;
    enum panic_action panic;
    enum watchdog_action watchdog;
};
void runstate_set_actions(const struct vm_actions *a);
const struct vm_actions *runstate_actions(void);
/* -no-reboot, -no-shutdown: reboot=shutdown, shutdown=pause. */
void runstate_set_no_reboot(bool on);
void runstate_set_no_shutdown(bool on);

/*
 * Ends the VM with this exit status (guest poweroff: 0; isa-debug-exit:
 * (value << 1) | 1; error: 1).  The first request wins.
 */
void vm_request_exit(int status, enum shutdown_cause cause);
/* Guest asked to power off: exits 0, or pauses in "shutdown" with -no-shutdown. */
void vm_request_shutdown(enum shutdown_cause cause);
/* Guest asked to reset (or triple fault): with reboot=shutdown (-no-reboot)
 * a shutdown request with the same cause instead. */
void vm_request_reset(enum shutdown_cause cause);
/*
 * The machine's power button (ACPI): press is called with the big lock
 * held.  Machines without one register nothing.
 */
void runstate_set_power_button(void (*press)(void *opaque), void *opaque);
/* Presses it, after telling the request listeners (QMP's POWERDOWN).
 * False, and nothing happens, when the machine has no power button. */
bool vm_request_powerdown(void);
/* A signal: the message "terminating on signal N from pid P" and exit 0. */
void vm_request_signal_exit(int signo, int pid);

/*
 * A guest panic (pvpanic), as the panic action says: pause in
 * "guest-panicked" (pause, or shutdown with shutdown=pause), power off
 * with reason guest-panic (shutdown; exit-failure makes the exit status
 * 1), or only the GUEST_PANICKED event (none).  Any thread, big lock held.
 */
void vm_request_panic(void);
/*
 * A watchdog device expired: the WATCHDOG event, then the watchdog action.
 * Any thread, big lock held.
 */
void vm_watchdog_expired(void);
/* The guest says it loaded a crash kernel: only an event. */
void vm_report_crashloaded(void);
/* True while a pause asked from the guest side is pending (vCPU threads
 * stop entering the guest until the main loop has paused them). */
bool vm_pause_pending(void);

/* Main thread: consumes pending requests.  True when the VM must end. */
bool vm_handle_requests(int *exit_status);
/* True once an exit was requested (vCPU threads poll it). */
bool vm_exit_requested(void);
/* Pending reset, consumed by the machine's reset handler. */
bool vm_reset_pending(void);

/* Start or resume the vCPUs; stop them (monitor "stop"). Main thread, lock held. */
void vm_start(void);
void vm_stop(enum run_state to);

/* The machine registers how to pause and resume its vCPUs. */
struct vm_cpu_control {
    void (*pause_all)(void);
    void (*resume_all)(void);
    void (*reset_all)(void);
    void (*nmi_all)(void);      /* optional: watchdog=inject-nmi */
};
void runstate_set_cpu_control(const struct vm_cpu_control *ctl);

#endif
