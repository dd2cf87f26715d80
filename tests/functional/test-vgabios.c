/*
 * SeaBIOS's VGA BIOS (vgabios-stdvga.bin, the std VGA's expansion ROM) on
 * -M pc: SeaBIOS boots a boot sector from a virtio disk (vbe-boot.S) that
 * asks the VGA BIOS for its VBE controller and mode information, sets
 * 1024x768x24 with the linear framebuffer, reads the Bochs dispi
 * registers that mode left, goes back to text mode 3 and prints a
 * character.  What it saw must be what it saw under QEMU 7.2 with SeaBIOS
 * 1.16.2 (the list below), and it ends the VM with status 99.
 *
 * The case is skipped when the binary boots no firmware (hyvm before its
 * SeaBIOS support: no SeaBIOS banner on the debug console) or when
 * Debian's seabios package is not installed.  The environment is
 * test-boot's (vm.h) plus HYVM_VBE_BOOT, the boot sector meson builds;
 * HYVM_BOOT_BINARY=qemu-system-x86_64 runs the case against QEMU.
 *
 * One thread (the vm.h harness).
 */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "vm.h"

/* The boot sector's values under QEMU 7.2: 4F00 status, "VESA", 16 MiB;
 * 4F01 status, 1024, 768, 24 bpp, the LFB at 0xfd000000; 4F02 status; the
 * dispi XRES, YRES, BPP and ENABLE (enabled | LFB); 4F03 status and mode
 * 0x4118; then 'Z' on light grey at 0xb8000 and mode 3. */
static const char expected[] =
    "#004f #4153 #4556 #0100 #004f #0400 #0300 #0018 #fd00 #0000 #004f "
    "#0400 #0300 #0018 #0041 #004f #4118 #075a #0003";

#define FIRMWARE_WAIT_S 20

static bool has_firmware_banner(struct vm *vm)
{
    return strstr(vm->console->str, "SeaBIOS (version") != NULL;
}

/* The '#' tokens after the boot sector's "VBETEST", space-separated (the
 * VGA BIOS's own debug lines come in between). */
static char *vbe_values(const char *console)
{
    const char *p = strstr(console, "VBETEST");
    const char *end = p ? strstr(p, "VBEDONE") : NULL;
    GString *s = g_string_new(NULL);

    for (; p && p < end; p++) {
        if (*p != '#') {
            continue;
        }
        if (s->len) {
            g_string_append_c(s, ' ');
        }
        while (p < end && *p != ' ' && *p != '\n') {
            g_string_append_c(s, *p++);
        }
    }
    return g_string_free(s, FALSE);
}

static void run_case(struct vm *vm, const void *data)
{
    const char *accel = data;
    const char *boot = g_getenv("HYVM_VBE_BOOT");
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *sector = NULL, *disk = NULL, *drive = NULL, *got = NULL;
    g_autoptr(GError) err = NULL;
    gsize len = 0;
    gint64 until;

    vm_init(vm);
    g_assert_nonnull(boot);
    g_assert_true(g_file_get_contents(boot, &sector, &len, &err));
    g_assert_cmpuint(len, ==, 512);
    /* A 1 MiB raw disk: the boot sector, then zeros. */
    disk = vm_file(vm, "disk.img");
    {
        g_autofree char *img = g_malloc0(1 << 20);

        memcpy(img, sector, len);
        g_assert_true(g_file_set_contents(disk, img, 1 << 20, &err));
    }
    drive = g_strdup_printf("file=%s,if=virtio,format=raw", disk);
    vm_add_args(argv, vm_bin, "-M", "pc", "-accel", accel, "-m", "256M", "-nic", "none",
                "-display", "none", "-serial", "none", "-monitor", "none",
                "-drive", drive, "-chardev", "stdio,id=dbg",
                "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4", NULL);
    g_assert_true(vm_spawn(vm, argv));
    until = g_get_monotonic_time() + FIRMWARE_WAIT_S * G_USEC_PER_SEC;
    while (!has_firmware_banner(vm) && !vm->exited && g_get_monotonic_time() < until) {
        vm_pump(vm, 100000);
    }
    if (!has_firmware_banner(vm)) {
        g_test_skip("no SeaBIOS banner on the debug console: this binary boots no firmware");
        return;
    }
    if (!vm_wait(vm, vm_console_has, "VBEDONE", "the boot sector's VBEDONE")) {
        return;
    }
    got = vbe_values(vm->console->str);
    if (strcmp(got, expected)) {
        vm_report(vm, "the VGA BIOS gave '%s', QEMU's gave '%s'", got, expected);
        return;
    }
    vm_expect_exit(vm, 99);
}

static void test_vgabios(gconstpointer data)
{
    if (access("/usr/share/seabios/vgabios-stdvga.bin", R_OK) ||
        access("/usr/share/seabios/bios-256k.bin", R_OK)) {
        g_test_skip("Debian's seabios package is not installed");
        return;
    }
    vm_run_case(data, run_case, data);
}

int main(int argc, char **argv)
{
    static const struct vm_config config = {
        .tmp_template = "hyvm-vgabios-XXXXXX", .initrd = "initrd.gz", .timeout_s = 120,
        .tail_chars = 3000,
    };

    vm_test_init(&argc, &argv, &config);
    g_test_add_data_func("/vgabios/pc/tcg/vbe", "tcg", test_vgabios);
    g_test_add_data_func("/vgabios/pc/kvm/vbe", "kvm", test_vgabios);
    return g_test_run();
}
