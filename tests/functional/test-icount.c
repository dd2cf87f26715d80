/*
 * Deterministic runs (-icount): the functional guest booted twice with the
 * same command line prints the same serial output, byte for byte, its
 * kernel's timestamps included, on one vCPU and on two, with the
 * translator on; a boot matrix diffs such logs.  The guest's wall clock
 * starts at -rtc base= and follows the virtual clock (clock=vm).
 *
 * Cases are /icount/MACHINE/smpN[-sleep]: sleep=off (idle time skipped)
 * unless -sleep (sleep=on, QEMU's default: idle time passes in host time,
 * and the runs must still agree).  The environment is test-boot's (vm.h);
 * HYVM_BOOT_BINARY=qemu-system-x86_64 runs the same cases against QEMU.
 *
 * One thread; each VM is vm.h's.
 */
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "vm.h"

struct icount_test {
    const char *machine;
    int smp;
    bool sleep;
};

static void spawn(struct vm *vm, const struct icount_test *t)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *nproc = g_strdup_printf("%d", t->smp);

    vm_init(vm);
    vm_add_args(argv, vm_bin, "-M", t->machine, "-accel", "tcg", "-m", "256M",
                "-nodefaults", "-display", "none", "-serial", "stdio", "-smp", nproc,
                "-icount", t->sleep ? "shift=0" : "shift=0,sleep=off",
                "-rtc", "clock=vm,base=2020-01-01T00:00:00",
                "-kernel", vm_kernel_path, "-initrd", vm_initrd_path,
                "-append", "console=ttyS0 hyvm.test=poweroff", NULL);
    g_assert_true(vm_spawn(vm, argv));
}

/* One boot to the guest's poweroff: its console, or NULL with the case failed. */
static char *boot(struct vm *vm, const struct icount_test *t)
{
    g_autofree char *nproc = g_strdup_printf("%d", t->smp);

    spawn(vm, t);
    if (!vm_wait(vm, vm_console_has, VM_MARKER, "the marker " VM_MARKER) ||
        !vm_expect_value(vm, "HYVM-NPROC", nproc) || !vm_expect_exit0(vm)) {
        return NULL;
    }
    return g_strdup(vm->console->str);
}

/* The first line where a and b differ, for the report. */
static void report_difference(struct vm *vm, const char *a, const char *b)
{
    unsigned line = 1;
    const char *la = a, *lb = b;

    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    vm_report(vm, "the second run's console differs from line %u on:\n  first:  %.*s\n"
              "  second: %.*s", line, (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

static void run_twice(struct vm *vm, const void *arg)
{
    const struct icount_test *t = arg;
    g_autofree char *first = NULL, *second = NULL;

    first = boot(vm, t);
    if (!first) {
        return;
    }
    vm_free(vm);
    second = boot(vm, t);
    if (!second) {
        return;
    }
    if (strcmp(first, second)) {
        report_difference(vm, first, second);
        return;
    }
    /* The kernel's timestamps are there to compare, and the RTC's date is
     * -rtc base=, read from the CMOS on pc. */
    if (!strstr(first, "] Linux version ")) {
        vm_report(vm, "no timestamped kernel line on the console");
    } else if (!strcmp(t->machine, "pc") &&
               !strstr(first, "setting system clock to 2020-01-01T00:00:0")) {
        vm_report(vm, "the RTC did not start at -rtc base=2020-01-01T00:00:00");
    }
}

static void test_icount(const void *arg)
{
    vm_run_case("tcg", run_twice, arg);
}

int main(int argc, char **argv)
{
    static const struct icount_test cases[] = {
        { "microvm", 1, false }, { "microvm", 2, false }, { "pc", 1, false },
        { "pc", 2, false }, { "microvm", 1, true },
    };
    static const struct vm_config config = {
        .tmp_template = "hyvm-icount-XXXXXX", .initrd = "initrd.gz", .timeout_s = 120,
        .tail_chars = 3000,
    };

    vm_test_init(&argc, &argv, &config);
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/icount/%s/smp%d%s", cases[i].machine,
                                                cases[i].smp, cases[i].sleep ? "-sleep" : "");

        g_test_add_data_func(path, &cases[i], test_icount);
    }
    return g_test_run();
}
