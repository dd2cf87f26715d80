/*
 * The guest's virtual clock and its timers (system/vclock.h): without
 * icount a timer fires from the glib main loop at its deadline on the
 * host's clock; with icount the clock is the retired instructions times
 * 2^shift plus warps, timers run in deadline order (ties in the order
 * armed) when vclock_run_timers() finds them due, and a deadline that
 * moves earlier is reported.  icount is process-wide, so those cases run
 * in a subprocess each.
 */
#include <glib.h>

#include "system/vclock.h"

static uint64_t retired;
static unsigned moved;
static GString *fired;

static uint64_t fake_retired(void) { return retired; }
static void fake_moved(void) { moved++; }
static const struct vclock_icount_ops ops = { fake_retired, fake_moved };

static void record(void *opaque)
{
    g_string_append(fired, opaque);
}

static struct vtimer *rearm_me;

static void rearm(void *opaque)
{
    record(opaque);
    vtimer_mod(rearm_me, vclock_virtual_ns() + 100);
}

static void child_icount_order(void)
{
    struct vtimer *a, *b, *c;

    fired = g_string_new("");
    vclock_icount_enable(2, false, &ops);
    g_assert_true(vclock_icount());
    g_assert_cmpint(vclock_virtual_ns(), ==, 0);
    retired = 10;
    g_assert_cmpint(vclock_virtual_ns(), ==, 40);

    a = vtimer_new(VCLOCK_VIRTUAL, "a", record, "a");
    b = vtimer_new(VCLOCK_VIRTUAL, "b", record, "b");
    c = vtimer_new(VCLOCK_VIRTUAL, "c", record, "c");
    g_assert_cmpint(vclock_next_deadline(), ==, INT64_MAX);
    vtimer_mod(a, 1000);
    g_assert_cmpuint(moved, ==, 1);
    vtimer_mod(b, 500);
    vtimer_mod(c, 500);
    g_assert_cmpuint(moved, ==, 2);     /* c at the same deadline moves nothing */
    g_assert_cmpint(vclock_next_deadline(), ==, 500);

    /* 460 ns to go at 4 ns an instruction: 115. */
    g_assert_cmpuint(vclock_icount_until(500), ==, 115);
    g_assert_cmpuint(vclock_icount_until(501), ==, 116);
    g_assert_cmpuint(vclock_icount_until(INT64_MAX), ==, UINT64_MAX);
    g_assert_false(vclock_run_timers());
    retired = 125;
    g_assert_cmpuint(vclock_icount_until(500), ==, 0);
    g_assert_true(vclock_run_timers());
    g_assert_cmpstr(fired->str, ==, "bc");
    g_assert_cmpint(vclock_next_deadline(), ==, 1000);

    /* Warps move the clock on without instructions; it never goes back. */
    vclock_warp(1000 - vclock_virtual_ns());
    g_assert_cmpint(vclock_virtual_ns(), ==, 1000);
    retired += 1;
    g_assert_cmpint(vclock_virtual_ns(), ==, 1004);
    g_assert_true(vclock_run_timers());
    g_assert_cmpstr(fired->str, ==, "bca");
    g_assert_cmpint(vclock_next_deadline(), ==, INT64_MAX);

    /* Disarmed and freed timers leave the list. */
    vtimer_mod(a, 2000);
    vtimer_mod(b, 3000);
    vtimer_mod(a, -1);
    g_assert_cmpint(vclock_next_deadline(), ==, 3000);
    vtimer_free(b);
    g_assert_cmpint(vclock_next_deadline(), ==, INT64_MAX);
    vtimer_free(a);
    vtimer_free(c);
}

/* A callback may arm its own timer again; it runs once per pass when due. */
static void child_icount_rearm(void)
{
    fired = g_string_new("");
    vclock_icount_enable(0, true, &ops);
    g_assert_true(vclock_icount_sleep());
    rearm_me = vtimer_new(VCLOCK_VIRTUAL, "r", rearm, "r");
    vtimer_mod(rearm_me, 50);
    retired = 60;
    g_assert_true(vclock_run_timers());
    g_assert_cmpstr(fired->str, ==, "r");
    g_assert_cmpint(vclock_next_deadline(), ==, 160);
    retired = 400;
    g_assert_true(vclock_run_timers());
    g_assert_cmpstr(fired->str, ==, "rr");
    g_assert_cmpint(vclock_next_deadline(), ==, 500);
    vtimer_free(rearm_me);
}

/* Host timers stay on the main loop, off the instruction clock's list. */
static void child_icount_host_timer(void)
{
    struct vtimer *h;

    vclock_icount_enable(0, false, &ops);
    h = vtimer_new(VCLOCK_HOST, "h", record, "h");
    vtimer_mod(h, vclock_host_ns() + 1000000000);
    g_assert_cmpint(vclock_next_deadline(), ==, INT64_MAX);
    g_assert_cmpuint(moved, ==, 0);
    g_assert_cmpint(vclock_ns(VCLOCK_HOST), >, 0);
    vtimer_free(h);
}

static void run_child(const void *path)
{
    g_test_trap_subprocess(path, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

/* Without icount the virtual clock is the host's, and a timer fires from
 * the main loop no earlier than its deadline. */
static void test_main_loop_timer(void)
{
    int64_t deadline;
    struct vtimer *t;

    fired = g_string_new("");
    g_assert_false(vclock_icount());
    g_assert_cmpint(vclock_virtual_ns() - vclock_host_ns(), <=, 0);
    t = vtimer_new(VCLOCK_VIRTUAL, "t", record, "t");
    deadline = vclock_virtual_ns() + 2000000;
    vtimer_mod(t, deadline);
    while (!fired->len) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(vclock_virtual_ns(), >=, deadline);
    /* Fired once: disarmed until armed again. */
    vtimer_mod(t, -1);
    g_assert_false(g_main_context_iteration(NULL, FALSE) && fired->len > 1);
    g_assert_cmpstr(fired->str, ==, "t");
    vtimer_free(t);
    g_string_free(fired, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vclock/subprocess/icount-order", child_icount_order);
    g_test_add_func("/vclock/subprocess/icount-rearm", child_icount_rearm);
    g_test_add_func("/vclock/subprocess/icount-host-timer", child_icount_host_timer);
    g_test_add_data_func("/vclock/icount/order-until-warp", "/vclock/subprocess/icount-order",
                         run_child);
    g_test_add_data_func("/vclock/icount/rearm", "/vclock/subprocess/icount-rearm", run_child);
    g_test_add_data_func("/vclock/icount/host-timer", "/vclock/subprocess/icount-host-timer",
                         run_child);
    g_test_add_func("/vclock/main-loop-timer", test_main_loop_timer);
    return g_test_run();
}
