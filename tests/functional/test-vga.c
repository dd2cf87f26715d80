/*
 * The std VGA as a Linux guest finds it on -M pc: Debian's cloud kernel
 * (fixtures.py) boots with the default VGA present, as under QEMU, and its
 * PCI enumeration shows the function QEMU 7.2 shows (the lines below are
 * what the same kernel printed under qemu-system-x86_64 -M pc -nic none):
 * 1234:1111 at 00:02.0, the 16 MiB prefetchable framebuffer, the 4 KiB
 * MMIO BAR and the 64 KiB ROM BAR where SeaBIOS puts them, the shadowed
 * video ROM and the VGA arbiter's boot device.  -vga none and -nodefaults
 * leave no VGA.
 *
 * Cases are /vga/pc/ACCEL/CASE.  The environment is test-boot's (vm.h):
 * HYVM_BOOT_BINARY=qemu-system-x86_64 runs the same cases against QEMU.
 *
 * One thread (the vm.h harness).
 */
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "vm.h"

struct vga_test {
    const char *accel;
    const char *args[8];        /* NULL-terminated */
    bool has_vga;               /* QEMU's lines for 00:02.0 below; false: no VGA,
                                 * unless extra names the lines to see */
    const char *extra[4];       /* more lines QEMU printed; NULL-terminated */
};

/* QEMU 7.2 with SeaBIOS 1.16.2, -M pc -nic none: the kernel's lines. */
static const char *const qemu_vga_lines[] = {
    "pci 0000:00:02.0: [1234:1111] type 00 class 0x030000",
    "pci 0000:00:02.0: BAR 0 [mem 0xfd000000-0xfdffffff pref]",
    "pci 0000:00:02.0: BAR 2 [mem 0xfebf0000-0xfebf0fff]",
    "pci 0000:00:02.0: ROM [mem 0xfebe0000-0xfebeffff pref]",
    "pci 0000:00:02.0: Video device with shadowed ROM at [mem 0x000c0000-0x000dffff]",
    "pci 0000:00:02.0: vgaarb: setting as boot VGA device",
    "pci 0000:00:02.0: vgaarb: VGA device added: decodes=io+mem,owns=io+mem,locks=none",
};

static void run_case(struct vm *vm, const void *data)
{
    const struct vga_test *t = data;
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    vm_init(vm);
    vm_add_args(argv, vm_bin, "-M", "pc", "-accel", t->accel, "-m", "256M",
                "-display", "none", "-serial", "stdio", "-monitor", "none",
                "-kernel", vm_kernel_path, "-initrd", vm_initrd_path,
                "-append", "console=ttyS0 hyvm.test=poweroff", NULL);
    for (unsigned i = 0; t->args[i]; i++) {
        vm_add_args(argv, t->args[i], NULL);
    }
    g_assert_true(vm_spawn(vm, argv));
    if (!vm_wait(vm, vm_console_has, VM_MARKER, "the marker " VM_MARKER)) {
        return;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(qemu_vga_lines); i++) {
        bool seen = vm_console_has(vm, qemu_vga_lines[i]);

        if (t->has_vga ? !seen : seen && !t->extra[0]) {
            vm_report(vm, "the kernel's log %s '%s'", seen ? "has" : "lacks",
                      qemu_vga_lines[i]);
            return;
        }
    }
    for (unsigned i = 0; t->extra[i]; i++) {
        if (!vm_console_has(vm, t->extra[i])) {
            vm_report(vm, "the kernel's log lacks '%s'", t->extra[i]);
            return;
        }
    }
    if (!t->has_vga && !t->extra[0] && vm_console_has(vm, "[1234:1111]")) {
        vm_report(vm, "a VGA is on the bus");
        return;
    }
    vm_expect_exit0(vm);
}

static void test_vga(gconstpointer data)
{
    const struct vga_test *t = data;

    vm_run_case(t->accel, run_case, t);
}

int main(int argc, char **argv)
{
    static const char *const accels[] = { "tcg", "kvm" };
    /* Slots as QEMU 7.2 gives them: the default VGA before the NICs and the
     * -device list; a -device VGA instead of it after the NIC. */
    static const struct {
        const char *name;
        struct vga_test t;
    } cases[] = {
        { "default", { .args = { "-nic", "none", NULL }, .has_vga = true } },
        { "vga-std", { .args = { "-nic", "none", "-vga", "std", NULL }, .has_vga = true } },
        { "vga-none", { .args = { "-nic", "none", "-vga", "none", NULL } } },
        { "nodefaults", { .args = { "-nodefaults", NULL } } },
        { "device-after-nic",
          { .args = { "-nic", "user,model=virtio-net-pci", "-device", "VGA", NULL },
            .extra = { "pci 0000:00:02.0: [1af4:1000] type 00 class 0x020000",
                       "pci 0000:00:03.0: [1234:1111] type 00 class 0x030000" } } },
        { "two-vgas",
          { .args = { "-nic", "user,model=virtio-net-pci", "-vga", "std", "-device", "VGA",
                      NULL },
            .extra = { "pci 0000:00:02.0: [1234:1111] type 00 class 0x030000",
                       "pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000",
                       "pci 0000:00:04.0: [1234:1111] type 00 class 0x030000" } } },
    };
    static const struct vm_config config = {
        .tmp_template = "hyvm-vga-XXXXXX", .initrd = "initrd.gz", .timeout_s = 120,
        .tail_chars = 3000,
    };

    vm_test_init(&argc, &argv, &config);
    for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
        for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
            struct vga_test *t = g_new0(struct vga_test, 1);
            g_autofree char *path = g_strdup_printf("/vga/pc/%s/%s", accels[a],
                                                    cases[c].name);

            *t = cases[c].t;
            t->accel = accels[a];
            g_test_add_data_func_full(path, t, test_vga, g_free);
        }
    }
    return g_test_run();
}
