/*
 * Boots Debian's cloud kernel with the busybox initrd that fixtures.py
 * builds, on the real binary, as a user runs it, and reads the serial
 * console: microvm and pc, one vCPU and two, under each accelerator
 * present; -append reaching /proc/cmdline; a guest reboot under
 * -no-reboot, and one without it that must boot again (microvm, tcg);
 * system_powerdown over QMP ending in the guest's poweroff.
 *
 * Cases are /boot/MACHINE/ACCEL/CASE (ACCEL tcg-interp: -accel tcg,jit=off,
 * the interpreter; tcg is the translator); meson runs one MACHINE/ACCEL per
 * test (-k -p /boot/pc/tcg).  The environment:
 *   HYVM_BINARY           the binary under test (meson sets it)
 *   HYVM_BOOT_BINARY      overrides it: qemu-system-x86_64 is the oracle
 *   HYVM_FIXTURES_SCRIPT  tests/functional/fixtures.py, run once first
 *   HYVM_FIXTURES_DIR     where it builds vmlinuz and initrd.gz
 *   HYVM_PYTHON           the python3 to run it with (default: python3)
 *   HYVM_BOOT_TIMEOUT     seconds one VM may live, default 120
 * Without Debian's packages (no apt-get, no download) every case is
 * skipped with the fixture script's reason.
 *
 * One thread.  The VM harness (vm.h, shared with test-virtio and
 * test-net) reads each VM's serial console, stderr and QMP socket in one
 * poll loop; the VM dies with the test and at its deadline, and a failing
 * case prints the tail of its console and stderr.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vm.h"

#define MARKER VM_MARKER

enum boot_case {
    CASE_SMP1, CASE_SMP2, CASE_APPEND, CASE_REBOOT, CASE_POWERDOWN, CASE_REBOOT_BACK,
};

struct boot_test {
    const char *machine, *accel;
    enum boot_case kind;
};

/* Console lines that explain a failure better than its tail does (besides
 * the TSC calibration's, which vm.c knows). */
static const struct vm_hint boot_hints[] = {
    { "reboot: System halted", "poweroff found no way to power off (ACPI \\_S5?)" },
};

/* ---- one VM ---- */

static void vm_start(struct vm *vm, const struct boot_test *t, int smp, const char *append,
                     bool no_reboot, bool qmp)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *nproc = g_strdup_printf("%d", smp);

    vm_init(vm);
    /* tcg-interp: the software CPU without its translator (hyvm's jit=off). */
    vm_add_args(argv, vm_bin, "-M", t->machine, "-accel",
                strcmp(t->accel, "tcg-interp") ? t->accel : "tcg,jit=off", "-m", "256M",
                "-nodefaults", "-display", "none", "-serial", "stdio",
                "-kernel", vm_kernel_path, "-initrd", vm_initrd_path, "-append", append,
                "-smp", nproc, NULL);
    if (no_reboot) {
        vm_add_args(argv, "-no-reboot", NULL);
    }
    if (qmp) {
        vm_add_qmp(vm, argv);
    }
    g_assert_true(vm_spawn(vm, argv));
}

/* ---- the cases ---- */

/* Boots to the marker, checks the CPUs the guest brought up, and the
 * guest's poweroff ends the VM with status 0. */
static void boot_smp(struct vm *vm, const struct boot_test *t, int smp)
{
    g_autofree char *nproc = g_strdup_printf("%d", smp);
    g_autofree char *online = smp == 1 ? g_strdup("0") : g_strdup_printf("0-%d", smp - 1);

    vm_start(vm, t, smp, "console=ttyS0 hyvm.test=poweroff", false, false);
    if (vm_wait(vm, vm_console_has, MARKER, "the marker " MARKER) &&
        vm_expect_value(vm, "HYVM-NPROC", nproc) &&
        vm_expect_value(vm, "HYVM-CPUS-ONLINE", online)) {
        vm_expect_exit0(vm);
    }
}

/* Words of every kind reach /proc/cmdline as given. */
static void boot_append(struct vm *vm, const struct boot_test *t)
{
    static const char append[] = "console=ttyS0 hyvm.test=poweroff hyvm.word=Append-Check_42 "
                                 "quoted=\"two words\"";
    g_autofree char *got = NULL;

    vm_start(vm, t, 1, append, false, false);
    if (!vm_wait(vm, vm_console_has, MARKER, "the marker " MARKER) ||
        !(got = vm_expect_line(vm, "HYVM-CMDLINE"))) {
        return;
    }
    /* The machine may add words of its own (microvm's device list), never
     * change the user's. */
    if (!strstr(got, append)) {
        vm_report(vm, "/proc/cmdline is '%s', which lacks '%s'", got, append);
        return;
    }
    vm_expect_exit0(vm);
}

/*
 * The guest's reboot -f under -no-reboot: SHUTDOWN with reason
 * guest-reset, exit status 0.  microvm has only the triple fault to reset
 * with, which Linux tries last unless told reboot=t (QEMU's microvm docs).
 */
static void boot_reboot(struct vm *vm, const struct boot_test *t)
{
    const char *append = !strcmp(t->machine, "microvm")
                         ? "console=ttyS0 hyvm.test=reboot reboot=t"
                         : "console=ttyS0 hyvm.test=reboot";

    vm_start(vm, t, 1, append, true, true);
    if (vm_qmp_connect(vm) &&
        vm_wait(vm, vm_console_has, MARKER, "the marker " MARKER) &&
        vm_expect_shutdown(vm, "guest-reset")) {
        vm_expect_exit0(vm);
    }
}

static bool console_has_twice(struct vm *vm, const void *needle)
{
    const char *first = strstr(vm->console->str, needle);

    return first && strstr(first + 1, needle) != NULL;
}

/*
 * Without -no-reboot the triple fault of microvm's reboot=t resets the
 * machine and the kernel, loaded again, boots to the marker a second time
 * (the init reboots each time; the VM is killed after that).  The board's
 * devices and interrupt controllers must come back as the first boot found
 * them: an i8259 left unmasked killed the second kernel with vector 0.
 */
static void boot_reboot_back(struct vm *vm, const struct boot_test *t)
{
    vm_start(vm, t, 1, "console=ttyS0 hyvm.test=reboot reboot=t", false, false);
    vm_wait(vm, console_has_twice, MARKER, "the marker " MARKER " after the reboot");
}

/*
 * system_powerdown presses the ACPI power button; the guest's acpid runs
 * poweroff: POWERDOWN, then SHUTDOWN {guest: true, guest-shutdown}, exit 0.
 */
static void boot_powerdown(struct vm *vm, const struct boot_test *t)
{
    vm_start(vm, t, 1, "console=ttyS0 hyvm.test=wait", false, true);
    if (!vm_qmp_connect(vm) ||
        !vm_wait(vm, vm_console_has, "HYVM-WAITING", "HYVM-WAITING (acpid ready)")) {
        return;
    }
    if (vm->exited) {
        vm_report(vm, "the VM exited before system_powerdown");
        return;
    }
    if (vm_qmp_call(vm, "system_powerdown", NULL) &&
        vm_wait(vm, vm_qmp_has_event, "POWERDOWN", "the POWERDOWN event") &&
        vm_wait(vm, vm_console_has, "reboot: Power down", "the guest's power-down message") &&
        vm_expect_shutdown(vm, "guest-shutdown")) {
        vm_expect_exit0(vm);
    }
}

static void run_case(struct vm *vm, const void *data)
{
    const struct boot_test *t = data;

    switch (t->kind) {
    case CASE_SMP1:
        boot_smp(vm, t, 1);
        break;
    case CASE_SMP2:
        boot_smp(vm, t, 2);
        break;
    case CASE_APPEND:
        boot_append(vm, t);
        break;
    case CASE_REBOOT:
        boot_reboot(vm, t);
        break;
    case CASE_POWERDOWN:
        boot_powerdown(vm, t);
        break;
    case CASE_REBOOT_BACK:
        boot_reboot_back(vm, t);
        break;
    }
}

static void test_boot(gconstpointer data)
{
    const struct boot_test *t = data;

    if (!strcmp(t->accel, "tcg-interp") && g_getenv("HYVM_BOOT_BINARY")) {
        g_test_skip("jit=off is hyvm's own property: not for HYVM_BOOT_BINARY");
        return;
    }
    vm_run_case(t->accel, run_case, t);
}

int main(int argc, char **argv)
{
    static const char *const machines[] = { "microvm", "pc" };
    static const char *const accels[] = { "tcg", "kvm", "tcg-interp" };
    static const struct { enum boot_case kind; const char *name; } cases[] = {
        { CASE_SMP1, "smp1" }, { CASE_SMP2, "smp2" }, { CASE_APPEND, "append" },
        { CASE_REBOOT, "reboot" }, { CASE_POWERDOWN, "powerdown" },
    };
    static const struct vm_config config = {
        .tmp_template = "hyvm-boot-XXXXXX", .initrd = "initrd.gz", .timeout_s = 120,
        .tail_chars = 3000, .hints = boot_hints, .n_hints = G_N_ELEMENTS(boot_hints),
    };

    vm_test_init(&argc, &argv, &config);
    for (unsigned m = 0; m < G_N_ELEMENTS(machines); m++) {
        for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
            for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
                struct boot_test *t = g_new(struct boot_test, 1);
                g_autofree char *path = g_strdup_printf("/boot/%s/%s/%s", machines[m],
                                                        accels[a], cases[c].name);

                *t = (struct boot_test){ machines[m], accels[a], cases[c].kind };
                g_test_add_data_func_full(path, t, test_boot, g_free);
            }
        }
    }
    /* Slow (two boots): one machine and accelerator only. */
    struct boot_test *back = g_new(struct boot_test, 1);
    *back = (struct boot_test){ "microvm", "tcg", CASE_REBOOT_BACK };
    g_test_add_data_func_full("/boot/microvm/tcg/reboot-back", back, test_boot, g_free);
    return g_test_run();
}
