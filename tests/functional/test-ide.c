/*
 * The PIIX3 IDE controller of issue 13 under Debian's kernel (fixtures.py's
 * initrd-ide.cpio, hyvm.test=ide): ata_piix finds a disk and a CD-ROM,
 * sd_mod and sr_mod attach them, the guest reads the disk's first sector,
 * writes 4 MiB at 1 MiB with O_DIRECT and reads it back, and mounts the
 * ISO 9660 image of the CD to read two files from it.  One case per way a
 * user gives the drives:
 *   raw     -drive file=disk.raw,format=raw (no if=: IDE on pc) and -cdrom
 *   qcow2   -hda disk.qcow2 and -drive if=ide,index=2,media=cdrom,file=
 *   device  -device ide-hd / ide-cd on if=none drives, the disk as
 *           secondary slave and the CD as primary master, with
 *           libata.dma=0 so every transfer is PIO
 * and per accelerator (kvm skips without hardware virtualization).  After
 * a raw case the image file holds what the guest wrote.  Booting from IDE
 * disks and CDs through SeaBIOS is test-bootdisk's.
 *
 * The environment as test-virtio (vm.h), HYVM_IMG for hyvm-img and
 * HYVM_XORRISO (default xorriso) to build the ISO; the case skips
 * without xorriso.  HYVM_BOOT_BINARY=qemu-system-x86_64 and
 * HYVM_IMG=qemu-img run the same cases against QEMU.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "vm.h"

#define DISK_MIB 64
#define DISK_STAMP "HYVM-IDE-IMAGE-0"
#define ISO_TEXT "hello from the ISO"
#define BIG_BYTES (256 * 1024)

static const char *img_bin, *xorriso_bin;

struct variant {
    const char *name;
    const char *accel;
};

/* The bytes of the ISO's big.bin: a pattern that never repeats within a
 * 2048-byte sector, so a misplaced sector shows. */
static guchar *big_bytes(void)
{
    guchar *b = g_malloc(BIG_BYTES);

    for (unsigned i = 0; i < BIG_BYTES; i++) {
        b[i] = (guchar)(i * 31 + (i >> 11) * 7 + (i >> 8));
    }
    return b;
}

static char *md5_of(const guchar *data, gsize len)
{
    return g_compute_checksum_for_data(G_CHECKSUM_MD5, data, len);
}

static bool run_tool(const char *const *argv, struct vm *vm)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL |
                      G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &err) ||
        !WIFEXITED(status) || WEXITSTATUS(status)) {
        vm_report(vm, "%s failed: %s", argv[0], err ? err->message : out);
        return false;
    }
    return true;
}

/* disk.raw: 64 MiB with the stamp in its first bytes; disk.qcow2 from it. */
static bool make_disks(struct vm *vm)
{
    g_autofree char *raw = vm_file(vm, "disk.raw"), *qcow2 = vm_file(vm, "disk.qcow2");
    const char *convert[] = { img_bin, "convert", "-f", "raw", "-O", "qcow2", raw, qcow2,
                              NULL };
    int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);
    bool ok;

    ok = fd >= 0 && ftruncate(fd, (off_t)DISK_MIB << 20) == 0 &&
         pwrite(fd, DISK_STAMP, strlen(DISK_STAMP), 0) == (ssize_t)strlen(DISK_STAMP);
    if (fd >= 0) {
        close(fd);
    }
    if (!ok) {
        vm_report(vm, "cannot write %s", raw);
        return false;
    }
    return run_tool(convert, vm);
}

/* cd.iso: hello.txt and big.bin in an ISO 9660 image. */
static bool make_iso(struct vm *vm)
{
    g_autofree char *dir = vm_file(vm, "iso"), *iso = vm_file(vm, "cd.iso");
    g_autofree char *hello = g_build_filename(dir, "hello.txt", NULL);
    g_autofree char *big = g_build_filename(dir, "big.bin", NULL);
    g_autofree guchar *bytes = big_bytes();
    const char *argv[] = { xorriso_bin, "-as", "mkisofs", "-quiet", "-V", "HYVM", "-o", iso,
                           dir, NULL };
    bool ok;

    g_mkdir(dir, 0755);
    ok = g_file_set_contents(hello, ISO_TEXT "\n", -1, NULL) &&
         g_file_set_contents(big, (const char *)bytes, BIG_BYTES, NULL) && run_tool(argv, vm);
    g_unlink(hello);
    g_unlink(big);
    g_rmdir(dir);
    return ok;
}

static bool vm_start(struct vm *vm, const struct variant *v)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    bool pio = !strcmp(v->name, "device");
    g_autofree char *raw = NULL, *qcow2 = NULL, *iso = NULL, *append = NULL;

    vm_init(vm);
    raw = vm_file(vm, "disk.raw");
    qcow2 = vm_file(vm, "disk.qcow2");
    iso = vm_file(vm, "cd.iso");
    if (!make_disks(vm) || !make_iso(vm)) {
        g_ptr_array_free(argv, TRUE);
        return false;
    }
    append = g_strdup_printf("console=ttyS0 hyvm.test=ide%s", pio ? " libata.dma=0" : "");
    vm_add_args(argv, vm_bin, "-M", "pc", "-accel", v->accel, "-m", "256M", "-nodefaults",
                "-display", "none", "-serial", "stdio", "-kernel", vm_kernel_path,
                "-initrd", vm_initrd_path, "-append", append, NULL);
    vm_add_qmp(vm, argv);
    if (!strcmp(v->name, "raw")) {
        g_autofree char *drive = g_strdup_printf("file=%s,format=raw", raw);

        vm_add_args(argv, "-drive", drive, "-cdrom", iso, NULL);
    } else if (!strcmp(v->name, "qcow2")) {
        g_autofree char *cd = g_strdup_printf("if=ide,index=2,media=cdrom,file=%s", iso);

        vm_add_args(argv, "-hda", qcow2, "-drive", cd, NULL);
    } else {
        g_autofree char *hd = g_strdup_printf("if=none,id=hd,format=raw,file=%s", raw);
        g_autofree char *cd = g_strdup_printf("if=none,id=cd,media=cdrom,file=%s", iso);

        vm_add_args(argv, "-drive", hd, "-device", "ide-hd,drive=hd,bus=ide.1,unit=1",
                    "-drive", cd, "-device", "ide-cd,drive=cd,bus=ide.0,unit=0", NULL);
    }
    return vm_spawn(vm, argv);
}

/* query-block names the drives as QEMU: ide0-hd0 and ide1-cd0, the CD
 * removable with its tray closed. */
static bool check_query_block(struct vm *vm, const struct variant *v)
{
    JsonNode *r = vm_qmp_call(vm, "query-block", NULL);
    JsonArray *a;
    bool hd = false, cd = false;

    if (!r) {
        return false;
    }
    a = json_node_get_array(r);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);
        const char *dev = json_object_get_string_member(o, "device");
        bool removable = json_object_get_boolean_member(o, "removable");

        if (!json_object_has_member(o, "qdev")) {
            continue;
        }
        if (!strcmp(dev, strcmp(v->name, "device") ? "ide0-hd0" : "hd") && !removable) {
            hd = true;
        }
        if (!strcmp(dev, strcmp(v->name, "device") ? "ide1-cd0" : "cd") && removable &&
            json_object_has_member(o, "tray_open") &&
            !json_object_get_boolean_member(o, "tray_open")) {
            cd = true;
        }
    }
    if (!hd || !cd) {
        vm_report(vm, "query-block: the disk %s, the CD-ROM %s", hd ? "listed" : "missing",
                  cd ? "listed" : "missing");
        return false;
    }
    return true;
}

/* The pattern the guest writes (fixtures.py's disk_pattern): 8192 lines of
 * printf "%0511d\n" i. */
static char *pattern_md5(void)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_MD5);
    char *s;

    for (unsigned i = 0; i < 8192; i++) {
        char line[513];

        snprintf(line, sizeof(line), "%0511u\n", i);
        g_checksum_update(c, (const guchar *)line, 512);
    }
    s = g_strdup(g_checksum_get_string(c));
    g_checksum_free(c);
    return s;
}

/* The IDENTIFY data libata keeps for dev (fixtures.py's HYVM-IDE-ATA-ID
 * line, 256 words in hex) has the md5 of QEMU 7.2's for the same disk or
 * CD-ROM after the same driver's SET FEATURES. */
static bool check_identify(struct vm *vm, const char *dev, const char *want_md5)
{
    g_autofree char *key = g_strdup_printf("HYVM-IDE-ATA-ID: %s ", dev);
    const char *p = strstr(vm->console->str, key), *end;
    g_autofree char *hex = NULL, *md5 = NULL;

    if (!p) {
        vm_report(vm, "no line %s", key);
        return false;
    }
    p += strlen(key);
    end = p + strcspn(p, "\r\n");
    hex = g_strndup(p, end - p);
    md5 = g_compute_checksum_for_string(G_CHECKSUM_MD5, hex, -1);
    if (strcmp(md5, want_md5)) {
        vm_report(vm, "%s's IDENTIFY data: md5 %s, QEMU's %s (%s)", dev, md5, want_md5, hex);
        return false;
    }
    return true;
}

/* After the VM: the raw image holds the pattern at 1 MiB. */
static bool check_image(struct vm *vm, const char *want)
{
    g_autofree char *raw = vm_file(vm, "disk.raw");
    g_autofree guchar *buf = g_malloc(4 << 20);
    g_autofree char *got = NULL;
    int fd = open(raw, O_RDONLY);
    bool ok = fd >= 0 && pread(fd, buf, 4 << 20, 1 << 20) == 4 << 20;

    if (fd >= 0) {
        close(fd);
    }
    got = ok ? md5_of(buf, 4 << 20) : NULL;
    if (!got || strcmp(got, want)) {
        vm_report(vm, "disk.raw at 1 MiB: md5 %s, want %s", got ? got : "(unreadable)", want);
        return false;
    }
    return true;
}

static void run_case(struct vm *vm, const void *data)
{
    const struct variant *v = data;
    g_autofree guchar *bytes = NULL;
    g_autofree char *big_md5 = NULL, *pat = pattern_md5();
    g_autofree char *sectors = g_strdup_printf("sda %u ATA QEMU_HARDDISK", DISK_MIB << 11);

    bytes = big_bytes();
    big_md5 = md5_of(bytes, BIG_BYTES);
    if (!vm_start(vm, v)) {
        vm->failed = true;
        return;
    }
    if (!vm_qmp_connect(vm) || !check_query_block(vm, v) ||
        !vm_expect_word(vm, VM_MARKER, true)) {
        return;
    }
    /* sr0's size: the ISO's 2048-byte sectors in 512-byte units. */
    if (vm_expect_value(vm, "HYVM-IDE-DEV", sectors) &&
        vm_expect_value(vm, "HYVM-IDE-SDA-HEAD", DISK_STAMP) &&
        vm_expect_value(vm, "HYVM-IDE-WRITTEN", pat) &&
        vm_expect_value(vm, "HYVM-IDE-READBACK", pat) &&
        vm_expect_value(vm, "HYVM-IDE-ISO", ISO_TEXT) &&
        vm_expect_value(vm, "HYVM-IDE-ISO-MD5", big_md5) &&
        vm_expect_word(vm, "HYVM-IDE-DONE", false) && vm_expect_exit0(vm)) {
        /* The 64 MiB disk as primary master, the CD-ROM as secondary
         * master, in multiword DMA mode 2 (QEMU 7.2's words, serials
         * QM00001 and QM00003). */
        if (strcmp(v->name, "device") &&
            (!check_identify(vm, "dev1.0", "8cd50c9e069ba9706d356318261f52ae") ||
             !check_identify(vm, "dev2.0", "e7b8d8ed49dd4186b55415fbe98e56e1"))) {
            return;
        }
        if (!strcmp(v->name, "raw")) {
            check_image(vm, pat);
        }
    }
}

static void test_ide(gconstpointer data)
{
    const struct variant *v = data;
    g_autofree char *xorriso = g_find_program_in_path(xorriso_bin);

    if (!xorriso) {
        g_test_skip("no xorriso to build the ISO (scripts/install-deps.sh --test)");
        return;
    }
    vm_run_case(v->accel, run_case, data);
}

int main(int argc, char **argv)
{
    static const char *const names[] = { "raw", "qcow2", "device" };
    static const char *const accels[] = { "tcg", "kvm" };
    struct vm_config config = {
        .tmp_template = "hyvm-ide-XXXXXX", .initrd = "initrd-ide.cpio",
        .timeout_s = 240, .tail_chars = 4000,
        .trace_console = g_getenv("HYVM_IDE_TRACE") != NULL,
    };

    g_test_init(&argc, &argv, NULL);
    vm_env_init(&config);
    img_bin = g_getenv("HYVM_IMG");
    xorriso_bin = g_getenv("HYVM_XORRISO") ? g_getenv("HYVM_XORRISO") : "xorriso";
    if (!vm_bin || !img_bin) {
        g_printerr("HYVM_BINARY (or HYVM_BOOT_BINARY) and HYVM_IMG must be set\n");
        return 1;
    }
    for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
            struct variant *v = g_new(struct variant, 1);
            g_autofree char *path = g_strdup_printf("/ide/pc/%s/%s", accels[a], names[i]);

            v->name = names[i];
            v->accel = accels[a];
            g_test_add_data_func_full(path, v, test_ide, g_free);
        }
    }
    return g_test_run();
}
