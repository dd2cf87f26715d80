/*
 * Issue 13's promise: the command lines people give QEMU every day boot
 * the same images on hyvm, through SeaBIOS, a boot loader on the disk and
 * then Linux.  bootdisk.py builds the images from fixtures.py's kernel and
 * initrd without root: MBR disks with syslinux (disk-a, disk-b: raw, and
 * disk-a as qcow2), an isolinux ISO (cd) and a blank disk.  Each loader
 * boots the kernel with hyvm.disk=NAME, so the guest's HYVM-CMDLINE line
 * tells which image the firmware chose.
 *
 * Every case runs `-M pc -m 256M -nographic -net none` with the case's
 * drives and no -kernel, waits for the loader's HYVM-LOADER-NAME line, the
 * marker and the command line, and for the guest's power-off (exit status
 * 0).  The blank disk waits for SeaBIOS's "No bootable device." and, with
 * -boot reboot-timeout=0 -no-reboot, the clean exit.
 *
 * Cases are /bootdisk/ACCEL/NAME.  HYVM_BOOT_BINARY=qemu-system-x86_64
 * runs them against QEMU 7.2.  The environment otherwise as test-boot
 * (vm.h), plus HYVM_BOOTDISK_SCRIPT (bootdisk.py).
 */
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "vm.h"

struct bootdisk_test {
    const char *name, *accel;
    const char *const *args;     /* "@FILE" is FILE in the images' directory */
    const char *booted;          /* the hyvm.disk= that boots, or NULL: none */
};

static const struct vm_hint bootdisk_hints[] = {
    { "No bootable device.", "SeaBIOS found nothing to boot on the case's drives" },
    { "Boot failed: could not read the boot disk",
      "SeaBIOS could not read the first sector through INT 13h" },
    { "Could not find kernel image", "the loader could not read its files from the disk" },
};

static const char *const args_hda_raw[] = { "-hda", "@disk-a.img", NULL };
static const char *const args_drive_qcow2[] = { "-drive", "file=@disk-a.qcow2", NULL };
static const char *const args_ide_drive_raw[] = {
    "-drive", "file=@disk-b.img,if=ide,format=raw", NULL,
};
static const char *const args_virtio_raw[] = {
    "-drive", "file=@disk-b.img,if=virtio,format=raw", NULL,
};
static const char *const args_virtio_qcow2[] = {
    "-drive", "file=@disk-a.qcow2,if=virtio", "-smp", "2", NULL,
};
static const char *const args_cdrom[] = { "-cdrom", "@cd.iso", NULL };
static const char *const args_media_cdrom[] = {
    "-drive", "file=@cd.iso,media=cdrom", NULL,
};
/* Two bootable disks: the lower bootindex wins, whichever controller. */
static const char *const args_index_virtio[] = {
    "-drive", "if=none,id=da,file=@disk-a.img,format=raw",
    "-device", "ide-hd,drive=da,bootindex=2",
    "-drive", "if=none,id=db,file=@disk-b.img,format=raw",
    "-device", "virtio-blk-pci,drive=db,bootindex=1", NULL,
};
static const char *const args_index_ide[] = {
    "-drive", "if=none,id=da,file=@disk-a.img,format=raw",
    "-device", "ide-hd,drive=da,bootindex=1",
    "-drive", "if=none,id=db,file=@disk-b.img,format=raw",
    "-device", "virtio-blk-pci,drive=db,bootindex=2", NULL,
};
/* -boot order= between a hard disk and a CD. */
static const char *const args_order_d[] = {
    "-hda", "@disk-a.img", "-cdrom", "@cd.iso", "-boot", "order=d", NULL,
};
static const char *const args_order_c[] = {
    "-hda", "@disk-a.img", "-cdrom", "@cd.iso", "-boot", "order=cd", NULL,
};
static const char *const args_blank[] = {
    "-hda", "@blank.img", "-boot", "reboot-timeout=0", "-no-reboot", NULL,
};

static const struct {
    const char *name;
    const char *const *args;
    const char *booted;
} cases[] = {
    { "ide-hda-raw", args_hda_raw, "a" },
    { "ide-drive-qcow2", args_drive_qcow2, "a" },
    { "ide-if-raw", args_ide_drive_raw, "b" },
    { "virtio-raw", args_virtio_raw, "b" },
    { "virtio-qcow2-smp2", args_virtio_qcow2, "a" },
    { "cdrom", args_cdrom, "cd" },
    { "media-cdrom", args_media_cdrom, "cd" },
    { "bootindex-virtio", args_index_virtio, "b" },
    { "bootindex-ide", args_index_ide, "a" },
    { "order-d", args_order_d, "cd" },
    { "order-c", args_order_c, "a" },
    { "not-bootable", args_blank, NULL },
};

static char *image_arg(const char *arg)
{
    const char *at = strchr(arg, '@');
    g_autofree char *dir = NULL;

    if (!at) {
        return g_strdup(arg);
    }
    dir = g_build_filename(g_getenv("HYVM_FIXTURES_DIR"), "boot", NULL);
    return g_strdup_printf("%.*s%s/%s", (int)(at - arg), arg, dir, at + 1);
}

static void run_case(struct vm *vm, const void *arg)
{
    const struct bootdisk_test *t = arg;
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    vm_init(vm);
    vm_add_args(argv, vm_bin, "-M", "pc", "-accel", t->accel, "-m", "256M", "-nographic",
                "-net", "none", NULL);
    for (const char *const *a = t->args; *a; a++) {
        g_ptr_array_add(argv, image_arg(*a));
    }
    g_assert_true(vm_spawn(vm, argv));
    if (!vm_wait(vm, vm_console_has, "SeaBIOS (version", "SeaBIOS's banner")) {
        return;
    }
    if (!t->booted) {
        if (vm_wait(vm, vm_console_has, "No bootable device.", "SeaBIOS's No bootable device.")) {
            vm_expect_exit0(vm);
        }
        return;
    }
    g_autofree char *loader = g_strdup_printf("HYVM-LOADER-%s", t->booted);
    g_autofree char *want = g_strdup_printf("hyvm.disk=%s ", t->booted);
    g_autofree char *cmdline = NULL;

    if (!vm_wait(vm, vm_console_has, loader, loader) ||
        !vm_wait(vm, vm_console_has, VM_MARKER, "the marker " VM_MARKER)) {
        return;
    }
    cmdline = vm_expect_line(vm, "HYVM-CMDLINE");
    if (!cmdline) {
        return;
    }
    if (!strstr(cmdline, want)) {
        vm_report(vm, "the guest's command line '%s' lacks '%s'", cmdline, want);
        return;
    }
    vm_expect_exit0(vm);
}

static void test_bootdisk(gconstpointer data)
{
    vm_run_case(((const struct bootdisk_test *)data)->accel, run_case, data);
}

int main(int argc, char **argv)
{
    static const char *const accels[] = { "tcg", "kvm" };
    static const struct vm_config config = {
        .tmp_template = "hyvm-bootdisk-XXXXXX", .initrd = "initrd.gz", .timeout_s = 180,
        .tail_chars = 3000, .hints = bootdisk_hints, .n_hints = G_N_ELEMENTS(bootdisk_hints),
        .more_fixtures_env = "HYVM_BOOTDISK_SCRIPT",
    };

    vm_test_init(&argc, &argv, &config);
    for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
        for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
            struct bootdisk_test *t = g_new(struct bootdisk_test, 1);
            g_autofree char *path = g_strdup_printf("/bootdisk/%s/%s", accels[a],
                                                    cases[c].name);

            *t = (struct bootdisk_test){ cases[c].name, accels[a], cases[c].args,
                                         cases[c].booted };
            g_test_add_data_func_full(path, t, test_bootdisk, g_free);
        }
    }
    return g_test_run();
}
