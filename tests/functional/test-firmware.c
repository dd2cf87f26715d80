/*
 * Issue 13's firmware boot: `-M pc` without -kernel runs SeaBIOS from
 * Debian's seabios package, as QEMU does, and with no disk ends at its
 * "No bootable device." line.  With -nographic SeaBIOS prints on COM1
 * (fw_cfg's FW_CFG_NOGRAPHIC), which is hyvm's stdout.
 *
 * Cases are /firmware/pc/ACCEL/NAME:
 *   default    -m 128M, one vCPU: the banner, then "No bootable device."
 *   m1g-smp2   -m 1G -smp 2 (SeaBIOS wakes the AP with INIT-SIPI-SIPI)
 *   single-smp2  the same with -accel tcg,thread=single (the vCPUs take
 *              turns: SeaBIOS's BSP frees its lock only across a PAUSE)
 *   m4g        -m 4G: RAM above 4 GiB
 *   reset      system_reset over QMP after the message: the PAM registers
 *              go back to the ROM and the firmware runs again
 *   bios-L     -bios NAME -L DIR: a copy of the image found through -L
 * and /firmware/pc/missing-bios: -bios of a file that is nowhere exits 1
 * with QEMU's "could not load PC BIOS" message.  The kvm cases skip
 * without hardware virtualization; every case skips when the seabios
 * package is not installed.  Booting disks and CDs through SeaBIOS is
 * test-bootdisk's.  HYVM_BOOT_BINARY=qemu-system-x86_64 runs the
 * same cases against QEMU (-nic none there too).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vm.h"

#define SEABIOS_IMAGE "/usr/share/seabios/bios-256k.bin"
/* The disk: 1 MiB before the partition, 39 MiB of FAT for a 14 MiB kernel. */
#define BANNER "SeaBIOS (version "
#define NO_BOOT "No bootable device."

struct fw_case {
    const char *accel;
    const char *name;
    const char *mem, *smp;
    const char *accel_arg;      /* -accel's argument when not accel */
};

struct after {
    const char *needle;
    size_t from;
};

static bool console_has_after(struct vm *vm, const void *arg)
{
    const struct after *a = arg;

    return a->from <= vm->console->len && strstr(vm->console->str + a->from, a->needle);
}

static GPtrArray *fw_argv(struct vm *vm, const struct fw_case *t)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    vm_add_args(argv, vm_bin, "-M", "pc", "-accel", t->accel_arg ? t->accel_arg : t->accel,
                "-m", t->mem, "-smp", t->smp,
                "-nographic", "-nic", "none", NULL);
    return argv;
}

/* The banner, then the end of the boot attempts, in that order. */
static bool expect_boot(struct vm *vm, size_t from)
{
    struct after banner = { BANNER, from }, end = { NO_BOOT, from };

    if (!vm_wait(vm, console_has_after, &banner, "SeaBIOS's banner")) {
        return false;
    }
    end.from = strstr(vm->console->str + from, BANNER) - vm->console->str;
    return vm_wait(vm, console_has_after, &end, "\"" NO_BOOT "\"");
}

static void run_case(struct vm *vm, const void *arg)
{
    const struct fw_case *t = arg;
    GPtrArray *argv;

    vm_init(vm);
    argv = fw_argv(vm, t);
    if (!strcmp(t->name, "reset")) {
        vm_add_qmp(vm, argv);
    }
    if (!strcmp(t->name, "bios-L")) {
        g_autofree char *copy = vm_file(vm, "my-bios.bin");
        g_autofree char *data = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(SEABIOS_IMAGE, &data, &len, NULL));
        g_assert_true(g_file_set_contents(copy, data, len, NULL));
        vm_add_args(argv, "-bios", "my-bios.bin", "-L", vm->dir, NULL);
    }
    g_assert_true(vm_spawn(vm, argv));
    if (!strcmp(t->name, "reset")) {
        size_t mark;

        if (!vm_qmp_connect(vm) || !expect_boot(vm, 0)) {
            return;
        }
        mark = vm->console->len;
        if (vm_qmp_call(vm, "system_reset", NULL)) {
            expect_boot(vm, mark);
        }
        return;
    }
    expect_boot(vm, 0);
}

static void test_firmware(gconstpointer data)
{
    const struct fw_case *t = data;
    struct vm vm;

    if (access(SEABIOS_IMAGE, R_OK) < 0) {
        g_test_skip(SEABIOS_IMAGE " is missing: install Debian's package seabios");
        return;
    }
    if (!strcmp(t->accel, "kvm") && vm_kvm_missing()) {
        g_test_skip(vm_kvm_missing());
        return;
    }
    run_case(&vm, t);
    if (vm.failed) {
        g_test_fail();
    }
    vm_free(&vm);
}

static bool err_has(struct vm *vm, const void *needle)
{
    return strstr(vm->err->str, needle) != NULL;
}

/* QEMU's message, the status 1, and nothing run. */
static void test_missing_bios(void)
{
    struct vm vm;
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    vm_init(&vm);
    vm_add_args(argv, vm_bin, "-M", "pc", "-accel", "tcg", "-nographic", "-nic", "none",
                "-bios", "hyvm-no-such-bios.bin", "-L", vm.dir, NULL);
    g_assert_true(vm_spawn(&vm, argv));
    if (vm_expect_exit(&vm, 1)) {
        vm_wait(&vm, err_has, "could not load PC BIOS 'hyvm-no-such-bios.bin'",
                "the could-not-load message");
    }
    if (vm.failed) {
        g_test_fail();
    }
    vm_free(&vm);
}

int main(int argc, char **argv)
{
    static const struct fw_case cases[] = {
        { "tcg", "default", "128M", "1" },
        { "tcg", "m1g-smp2", "1G", "2" },
        { "tcg", "single-smp2", "128M", "2", "tcg,thread=single" },
        { "tcg", "m4g", "4G", "1" },
        { "tcg", "reset", "128M", "1" },
        { "tcg", "bios-L", "128M", "1" },
        { "kvm", "default", "128M", "1" },
        { "kvm", "m1g-smp2", "1G", "2" },
        { "kvm", "reset", "128M", "1" },
    };
    static const struct vm_config config = {
        .tmp_template = "hyvm-firmware-XXXXXX", .initrd = "initrd.gz", .timeout_s = 120,
        .tail_chars = 2000,
    };

    vm_test_init(&argc, &argv, &config);
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/firmware/pc/%s/%s", cases[i].accel,
                                                cases[i].name);

        g_test_add_data_func(path, &cases[i], test_firmware);
    }
    g_test_add_func("/firmware/pc/missing-bios", test_missing_bios);
    return g_test_run();
}
