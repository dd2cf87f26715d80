/*
 * Run state and exit requests: the exit status scripts see, -no-reboot and
 * -no-shutdown.  Each case runs in a subprocess: requests latch for the
 * life of the process, as they do in hyvm.
 */
#include <signal.h>
#include <unistd.h>

#include <glib.h>

#include "system/runstate.h"

static unsigned pauses, resumes, resets;
static void pause_all(void) { pauses++; }
static void resume_all(void) { resumes++; }
static void reset_all(void) { resets++; }
static const struct vm_cpu_control ctl = { pause_all, resume_all, reset_all };

static void run_child(const char *path)
{
    g_test_trap_subprocess(path, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

static void child_first_exit_wins(void)
{
    int status = -1;

    g_assert_false(vm_handle_requests(&status));
    vm_request_exit((7 << 1) | 1, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    vm_request_exit(0, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    g_assert_true(vm_exit_requested());
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 15);
}

static void child_poweroff(void)
{
    int status = -1;

    vm_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
}

static void child_no_shutdown(void)
{
    int status = -1;

    runstate_set_cpu_control(&ctl);
    runstate_set_no_shutdown(true);
    vm_start();
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "running");
    vm_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    g_assert_false(vm_handle_requests(&status));
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "shutdown");
    g_assert_cmpuint(pauses, ==, 1);
    g_assert_false(vm_exit_requested());
}

static void child_reset(void)
{
    int status = -1;

    runstate_set_cpu_control(&ctl);
    vm_start();
    vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
    g_assert_true(vm_reset_pending());
    g_assert_false(vm_handle_requests(&status));
    g_assert_cmpuint(resets, ==, 1);
    /* Paused around the reset, then running again. */
    g_assert_cmpuint(pauses, ==, 1);
    g_assert_cmpuint(resumes, ==, 2);
    g_assert_true(runstate_is_running());
}

static void child_no_reboot(void)
{
    int status = -1;

    runstate_set_no_reboot(true);
    /* A subsystem reset stays a reset (QEMU's qemu_system_reset_request). */
    vm_request_reset(SHUTDOWN_CAUSE_SUBSYSTEM_RESET);
    g_assert_true(vm_reset_pending());
    vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
}

static void child_panic_exit_failure(void)
{
    struct vm_actions a = { .panic = PANIC_ACTION_EXIT_FAILURE };
    int status = -1;

    runstate_set_actions(&a);
    vm_request_panic();
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 1);
}

static void child_panic_shutdown(void)
{
    int status = -1;

    vm_request_panic();
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
}

/* panic=shutdown with shutdown=pause pauses in guest-panicked (QEMU's rule). */
static void child_panic_pause(void)
{
    struct vm_actions a = { .panic = PANIC_ACTION_SHUTDOWN, .shutdown = SHUTDOWN_ACTION_PAUSE };
    int status = -1;

    runstate_set_cpu_control(&ctl);
    runstate_set_actions(&a);
    vm_start();
    vm_request_panic();
    g_assert_false(vm_handle_requests(&status));
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "guest-panicked");
    g_assert_false(vm_exit_requested());
}

static void child_panic_none(void)
{
    struct vm_actions a = { .panic = PANIC_ACTION_NONE };
    int status = -1;

    runstate_set_cpu_control(&ctl);
    runstate_set_actions(&a);
    vm_start();
    vm_request_panic();
    g_assert_false(vm_handle_requests(&status));
    g_assert_true(runstate_is_running());
    g_assert_cmpuint(pauses, ==, 0);
}

/* -no-reboot -no-shutdown: a reboot becomes a shutdown, which pauses. */
static void child_reboot_shutdown_pause(void)
{
    int status = -1;

    runstate_set_cpu_control(&ctl);
    runstate_set_no_reboot(true);
    runstate_set_no_shutdown(true);
    vm_start();
    vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
    g_assert_false(vm_reset_pending());
    g_assert_false(vm_handle_requests(&status));
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "shutdown");
    g_assert_cmpuint(resets, ==, 0);
}

static void nmi_all(void) { resets += 100; }

static void child_watchdog(void)
{
    static const struct vm_cpu_control nmi_ctl = { pause_all, resume_all, reset_all, nmi_all };
    struct vm_actions a = { .watchdog = WATCHDOG_ACTION_INJECT_NMI };
    int status = -1;

    runstate_set_cpu_control(&nmi_ctl);
    runstate_set_actions(&a);
    vm_start();
    vm_watchdog_expired();
    g_assert_cmpuint(resets, ==, 100);
    a.watchdog = WATCHDOG_ACTION_PAUSE;
    runstate_set_actions(&a);
    vm_watchdog_expired();
    g_assert_false(vm_handle_requests(&status));
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "watchdog");
    a.watchdog = WATCHDOG_ACTION_RESET;
    runstate_set_actions(&a);
    vm_watchdog_expired();
    g_assert_true(vm_reset_pending());
    a.watchdog = WATCHDOG_ACTION_POWEROFF;
    runstate_set_actions(&a);
    vm_watchdog_expired();
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
}

static void child_signal(void)
{
    int status = -1;

    vm_request_signal_exit(SIGTERM, getpid());
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
}

static void test_signal_message(void)
{
    g_test_trap_subprocess("/runstate/subprocess/signal", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*terminating on signal 15 from pid *");
}

static void test_stop_cont(void)
{
    runstate_set_cpu_control(&ctl);
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "prelaunch");
    vm_start();
    g_assert_true(runstate_is_running());
    vm_stop(RUN_STATE_PAUSED);
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "paused");
    g_assert_cmpuint(pauses, ==, 1);
    vm_start();
    g_assert_cmpuint(resumes, ==, 2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/runstate/subprocess/first-exit", child_first_exit_wins);
    g_test_add_func("/runstate/subprocess/poweroff", child_poweroff);
    g_test_add_func("/runstate/subprocess/no-shutdown", child_no_shutdown);
    g_test_add_func("/runstate/subprocess/reset", child_reset);
    g_test_add_func("/runstate/subprocess/no-reboot", child_no_reboot);
    g_test_add_func("/runstate/subprocess/signal", child_signal);
    g_test_add_func("/runstate/subprocess/panic-exit-failure", child_panic_exit_failure);
    g_test_add_func("/runstate/subprocess/panic-shutdown", child_panic_shutdown);
    g_test_add_func("/runstate/subprocess/panic-pause", child_panic_pause);
    g_test_add_func("/runstate/subprocess/panic-none", child_panic_none);
    g_test_add_func("/runstate/subprocess/reboot-shutdown-pause", child_reboot_shutdown_pause);
    g_test_add_func("/runstate/subprocess/watchdog", child_watchdog);
    g_test_add_data_func("/runstate/panic-exit-failure-exits-1",
                         "/runstate/subprocess/panic-exit-failure", (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/panic-shutdown-exits-0",
                         "/runstate/subprocess/panic-shutdown", (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/panic-with-shutdown-pause-pauses",
                         "/runstate/subprocess/panic-pause", (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/panic-none-runs-on", "/runstate/subprocess/panic-none",
                         (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/no-reboot-no-shutdown-pauses",
                         "/runstate/subprocess/reboot-shutdown-pause", (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/watchdog-actions", "/runstate/subprocess/watchdog",
                         (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/first-exit-wins", "/runstate/subprocess/first-exit",
                         (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/poweroff-exits-0", "/runstate/subprocess/poweroff",
                         (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/no-shutdown-pauses", "/runstate/subprocess/no-shutdown",
                         (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/reset", "/runstate/subprocess/reset",
                         (GTestDataFunc)run_child);
    g_test_add_data_func("/runstate/no-reboot-exits", "/runstate/subprocess/no-reboot",
                         (GTestDataFunc)run_child);
    g_test_add_func("/runstate/signal-message", test_signal_message);
    g_test_add_func("/runstate/stop-cont", test_stop_cont);
    return g_test_run();
}
