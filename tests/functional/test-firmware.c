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
 *   syslinux-virtio  a disk image made here (an MBR, a FAT partition with
 *              Debian's kernel and busybox initrd from fixtures.py, and
 *              SYSLINUX installed with mtools) on virtio-blk-pci: SeaBIOS
 *              boots it, SYSLINUX loads Linux through INT 13h, and the
 *              initrd's marker comes (skipped without mtools and syslinux)
 * and /firmware/pc/missing-bios: -bios of a file that is nowhere exits 1
 * with QEMU's "could not load PC BIOS" message.  The kvm cases skip
 * without hardware virtualization; every case skips when the seabios
 * package is not installed.  HYVM_BOOT_BINARY=qemu-system-x86_64 runs the
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
#define SYSLINUX_MBR "/usr/lib/syslinux/mbr/mbr.bin"
/* The disk: 1 MiB before the partition, 39 MiB of FAT for a 14 MiB kernel. */
#define DISK_MIB 40
#define PART_LBA 2048u
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

static bool run_tool(const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                      &errout, &status, &err) ||
        !g_spawn_check_wait_status(status, &err)) {
        g_test_message("%s: %s %s", argv[0], err ? err->message : "", errout ? errout : "");
        return false;
    }
    return true;
}

/*
 * The disk of the syslinux case, without loop devices or root: SYSLINUX's
 * MBR code and one bootable FAT partition (type 0Ch, LBA) from sector
 * 2048, formatted and filled by mtools at that offset, SYSLINUX's boot
 * sector and ldlinux.sys installed by syslinux --offset.
 */
static bool make_syslinux_disk(struct vm *vm, const char *disk)
{
    g_autofree char *cfg = vm_file(vm, "syslinux.cfg");
    g_autofree char *mbr = NULL;
    g_autofree char *img = g_strdup_printf("%s@@%u", disk, PART_LBA * 512);
    g_autofree char *offset = g_strdup_printf("%u", PART_LBA * 512);
    g_autofree char *sectors = g_strdup_printf("%u", DISK_MIB * 2048 - PART_LBA);
    uint8_t head[512] = { 0 };
    uint32_t nsect = DISK_MIB * 2048 - PART_LBA;
    gsize mbr_len;
    FILE *f;
    const char *format[] = { "mformat", "-i", img, "-T", sectors, "-h", "64", "-s", "32",
                             "-H", offset, "::", NULL };
    const char *copy[] = { "mcopy", "-i", img, vm_kernel_path, vm_initrd_path, cfg, "::",
                           NULL };
    const char *install[] = { "syslinux", "--install", "--offset", offset, disk, NULL };

    if (!g_file_get_contents(SYSLINUX_MBR, &mbr, &mbr_len, NULL)) {
        return false;
    }
    memcpy(head, mbr, MIN(mbr_len, (gsize)440));
    head[446] = 0x80;                                   /* bootable */
    head[446 + 4] = 0x0c;                               /* FAT32, LBA */
    for (unsigned i = 0; i < 4; i++) {
        head[446 + 8 + i] = (uint8_t)(PART_LBA >> (8 * i));
        head[446 + 12 + i] = (uint8_t)(nsect >> (8 * i));
    }
    head[510] = 0x55;
    head[511] = 0xaa;
    f = fopen(disk, "wb");
    g_assert_nonnull(f);
    g_assert_cmpuint(fwrite(head, 1, sizeof(head), f), ==, sizeof(head));
    g_assert_cmpint(ftruncate(fileno(f), (off_t)DISK_MIB << 20), ==, 0);
    fclose(f);
    g_assert_true(g_file_set_contents(cfg, "DEFAULT linux\nPROMPT 0\nLABEL linux\n"
                                      "  KERNEL vmlinuz\n"
                                      "  APPEND console=ttyS0 initrd=initrd.gz\n", -1, NULL));
    return run_tool(format) && run_tool(copy) && run_tool(install);
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
    if (!strcmp(t->name, "syslinux-virtio")) {
        g_autofree char *disk = vm_file(vm, "disk.img");
        g_autofree char *drive = g_strdup_printf("if=none,id=d0,format=raw,file=%s", disk);

        if (!make_syslinux_disk(vm, disk)) {
            vm_report(vm, "could not make the SYSLINUX disk");
            g_ptr_array_free(argv, TRUE);
            return;
        }
        vm_add_args(argv, "-drive", drive, "-device", "virtio-blk-pci,drive=d0", NULL);
        g_assert_true(vm_spawn(vm, argv));
        if (vm_wait(vm, vm_console_has, "SYSLINUX", "SYSLINUX's banner")) {
            vm_wait(vm, vm_console_has, VM_MARKER, "the marker " VM_MARKER);
        }
        return;
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
    if (!strcmp(t->name, "syslinux-virtio")) {
        g_autofree char *mformat = g_find_program_in_path("mformat");
        g_autofree char *syslinux = g_find_program_in_path("syslinux");

        if (!mformat || !syslinux || access(SYSLINUX_MBR, R_OK) < 0) {
            g_test_skip("needs mtools and syslinux (Debian's packages mtools, syslinux, "
                        "syslinux-common)");
            return;
        }
        if (!vm_fixtures_ready()) {
            return;
        }
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
        { "tcg", "syslinux-virtio", "512M", "2" },
        { "kvm", "default", "128M", "1" },
        { "kvm", "m1g-smp2", "1G", "2" },
        { "kvm", "reset", "128M", "1" },
        { "kvm", "syslinux-virtio", "512M", "2" },
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
