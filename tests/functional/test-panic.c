/*
 * Issue 12's promise to CI boot matrices: a guest whose init panics ends
 * hyvm with exit status 1 under -action panic=exit-failure, and with
 * GUEST_PANICKED on QMP.  Debian's cloud kernel boots the busybox initrd
 * of fixtures.py with hyvm.test=panic: /init loads pvpanic.ko,
 * pvpanic-mmio.ko and pvpanic-pci.ko, says which devices they bound, and
 * exits; the kernel panics ("Attempted to kill init!") and its pvpanic
 * notifier writes the event register.
 *
 * Each case boots one VM with a QMP socket and checks: the driver bound
 * to the device (pvpanic-mmio.ko, by ACPI _HID QEMU0001, for the ISA port
 * and for microvm's MMIO byte; pvpanic-pci.ko for 1b36:0011), the kernel's
 * panic line, GUEST_PANICKED with action "poweroff", SHUTDOWN with reason
 * guest-panic and the exit status: 1 with panic=exit-failure, 0 with the
 * default action (shutdown).
 *
 * Cases are /panic/MACHINE/ACCEL/DEVICE-ACTION:
 *   microvm: pvpanic (ISA), pvpanic-mmio (hyvm's own)
 *   pc:      pvpanic (ISA), pvpanic-pci
 * each with exit-failure and default.  HYVM_BOOT_BINARY=qemu-system-x86_64
 * runs them against QEMU 7.2, which has no pvpanic-mmio (those cases are
 * skipped there).  The environment otherwise as test-boot (vm.h).
 */
#include <stdbool.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vm.h"

struct panic_test {
    const char *machine, *accel;
    const char *device;          /* -device */
    const char *driver_key;      /* the /init line naming what the driver bound */
    const char *bound;           /* a prefix of its value */
    bool exit_failure;           /* -action panic=exit-failure */
};

static const struct vm_hint panic_hints[] = {
    { "HYVM-PVPANIC-MMIO: none", "pvpanic-mmio.ko found no QEMU0001 device in the DSDT" },
    { "HYVM-PVPANIC-PCI: none", "pvpanic-pci.ko found no 1b36:0011 function" },
};

static bool value_has_prefix(struct vm *vm, const char *key, const char *prefix)
{
    g_autofree char *v = vm_expect_line(vm, key);

    if (!v) {
        return false;
    }
    if (!g_str_has_prefix(v, prefix)) {
        vm_report(vm, "%s is '%s', not '%s...'", key, v, prefix);
        return false;
    }
    return true;
}

static bool expect_panicked(struct vm *vm)
{
    JsonObject *data;

    if (!vm_wait(vm, vm_qmp_has_event, "GUEST_PANICKED", "the GUEST_PANICKED event")) {
        return false;
    }
    data = vm_qmp_event_data(vm, "GUEST_PANICKED");
    if (!data || g_strcmp0(json_object_get_string_member_with_default(data, "action", ""),
                           "poweroff")) {
        vm_report(vm, "GUEST_PANICKED's action is not \"poweroff\"");
        return false;
    }
    return true;
}

static void run_case(struct vm *vm, const void *arg)
{
    const struct panic_test *t = arg;
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    vm_init(vm);
    vm_add_args(argv, vm_bin, "-M", t->machine, "-accel", t->accel, "-m", "256M",
                "-nodefaults", "-display", "none", "-serial", "stdio",
                "-kernel", vm_kernel_path, "-initrd", vm_initrd_path,
                "-append", "console=ttyS0 hyvm.test=panic", "-device", t->device, NULL);
    if (t->exit_failure) {
        vm_add_args(argv, "-action", "panic=exit-failure", NULL);
    }
    vm_add_qmp(vm, argv);
    g_assert_true(vm_spawn(vm, argv));
    if (vm_qmp_connect(vm) &&
        vm_wait(vm, vm_console_has, VM_MARKER, "the marker " VM_MARKER) &&
        value_has_prefix(vm, t->driver_key, t->bound) &&
        vm_expect_word(vm, "HYVM-PANICKING", true) &&
        vm_wait(vm, vm_console_has, "Kernel panic - not syncing: Attempted to kill init!",
                "the kernel's panic") &&
        expect_panicked(vm) && vm_expect_shutdown(vm, "guest-panic")) {
        vm_expect_exit(vm, t->exit_failure ? 1 : 0);
    }
}

static void test_panic(gconstpointer data)
{
    const struct panic_test *t = data;

    if (!strcmp(t->device, "pvpanic-mmio") && g_getenv("HYVM_BOOT_BINARY")) {
        g_test_skip("pvpanic-mmio is hyvm's own: QEMU 7.2 has none");
        return;
    }
    vm_run_case(t->accel, run_case, t);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *machine, *device, *key, *bound;
    } devices[] = {
        { "microvm", "pvpanic", "HYVM-PVPANIC-MMIO", "QEMU0001:" },
        { "microvm", "pvpanic-mmio", "HYVM-PVPANIC-MMIO", "QEMU0001:" },
        { "pc", "pvpanic", "HYVM-PVPANIC-MMIO", "QEMU0001:" },
        { "pc", "pvpanic-pci", "HYVM-PVPANIC-PCI", "0000:00:" },
    };
    static const char *const accels[] = { "tcg", "kvm" };
    static const struct vm_config config = {
        .tmp_template = "hyvm-panic-XXXXXX", .initrd = "initrd.gz", .timeout_s = 120,
        .tail_chars = 3000, .hints = panic_hints, .n_hints = G_N_ELEMENTS(panic_hints),
    };

    vm_test_init(&argc, &argv, &config);
    for (unsigned d = 0; d < G_N_ELEMENTS(devices); d++) {
        for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
            for (int ef = 1; ef >= 0; ef--) {
                struct panic_test *t = g_new(struct panic_test, 1);
                g_autofree char *path = g_strdup_printf("/panic/%s/%s/%s-%s",
                                                        devices[d].machine, accels[a],
                                                        devices[d].device,
                                                        ef ? "exit-failure" : "default");

                *t = (struct panic_test){ devices[d].machine, accels[a], devices[d].device,
                                          devices[d].key, devices[d].bound, ef };
                g_test_add_data_func_full(path, t, test_panic, g_free);
            }
        }
    }
    return g_test_run();
}
