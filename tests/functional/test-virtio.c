/*
 * Debian's cloud kernel on the real binary with every virtio device of
 * issue 9, as a user runs it: the guest's /init (fixtures.py,
 * hyvm.test=virtio) loads the virtio modules and prints what it finds,
 * and the test checks it from outside too: a qcow2 disk written through
 * virtio-blk and verified after the guest's reboot (the same VM process,
 * so every device is reset), hvc0's text in a -chardev file, 4 KiB of
 * /dev/hwrng from virtio_rng, the balloon inflated and deflated over QMP
 * with query-balloon and the guest's MemTotal following, and virtio-net's
 * MAC, link and pings to a host-side peer on a -netdev socket.
 *
 * Cases are /virtio/MACHINE/ACCEL/VARIANT, meson runs one MACHINE/ACCEL
 * per test (-k -p /virtio/pc/tcg); each case is one VM doing everything:
 *   pc/pci          virtio-*-pci (transitional, the guest takes 1.x)
 *   microvm/legacy  virtio-*-device on virtio-mmio as QEMU's default,
 *                   force-legacy=on (version 1)
 *   microvm/modern  -global virtio-mmio.force-legacy=off (version 2)
 *   microvm/noacpi  -M microvm,acpi=off: the transports go on the kernel
 *                   command line as virtio_mmio.device= words, QEMU's
 *                   exactly (Debian's kernel has no
 *                   VIRTIO_MMIO_CMDLINE_DEVICES, so it finds no device)
 * The environment, as test-boot's:
 *   HYVM_BINARY           the binary under test (meson sets it)
 *   HYVM_BOOT_BINARY      overrides it: qemu-system-x86_64 is the oracle
 *   HYVM_IMG              makes the qcow2 disk (hyvm-img; qemu-img works)
 *   HYVM_NET_PEER         the host-side peer (net-peer.py); without it no ping
 *   HYVM_FIXTURES_SCRIPT, HYVM_FIXTURES_DIR, HYVM_PYTHON  as test-boot
 *   HYVM_BOOT_TIMEOUT     seconds one VM may live, default 240
 *   HYVM_VIRTIO_TRACE     set: the console is copied to stderr as it comes
 * Without Debian's packages every case is skipped with the fixture
 * script's reason.
 *
 * One thread.  The VM harness (vm.h, shared with test-boot) starts the VM
 * and the peer as child processes that die with the test, reads the VM's
 * console, stderr and QMP socket in one poll loop, and a failing case
 * prints the tail of its console (the guest's kernel lines about virtio
 * are in it as HYVM-DMESG lines).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "free-port.h"
#include "vm.h"

#define MARKER VM_MARKER
#define RAM_MIB 256
#define BALLOON_MIB 64          /* the guest's hyvm.balloon= default */
#define GUEST_MAC "52:54:00:12:34:56"
#define DISK_SIZE "64M"
#define HVC0_TEXT "HYVM-HVC0-HELLO"
#define PING_COUNT "3"          /* the guest's ping -c */

static const char *img_bin, *peer_script;

struct variant {
    const char *machine, *accel, *name;
    const char *suffix;         /* pci or device: virtio-blk-SUFFIX */
    bool acpi_off;              /* -M microvm,acpi=off */
    bool modern_mmio;           /* -global virtio-mmio.force-legacy=off */
};

/* Console lines that explain a failure better than its tail does (besides
 * the TSC calibration's, which vm.c knows). */
static const struct vm_hint virtio_hints[] = {
    { "HYVM-TIMEOUT", "a command in the guest hung (a driver's probe or a request the "
      "device never completed): see the HYVM-DMESG lines" },
    { "HYVM-MODULE-FAILED", "a virtio module did not load: see the HYVM-DMESG lines" },
};

/* ---- the VM's pieces ---- */

static bool make_disk(struct vm *vm)
{
    g_autofree char *path = vm_file(vm, "disk.qcow2");
    const char *argv[] = { img_bin, "create", "-q", "-f", "qcow2", path, DISK_SIZE, NULL };
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL |
                      G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &err) ||
        !WIFEXITED(status) || WEXITSTATUS(status)) {
        g_test_message("%s create -f qcow2 %s failed: %s", img_bin, path,
                       err ? err->message : out);
        return false;
    }
    return true;
}

/* The peer connects to the VM's listening -netdev socket (retrying until it
 * listens), answers ARP and ICMP echo for 10.0.2.2, and exits when the VM
 * closes the connection: status 0 when it answered the guest's pings. */
static void peer_start(struct vm *vm, int port)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *target = g_strdup_printf("127.0.0.1:%d", port);
    g_autofree char *timeout = g_strdup_printf("%d", vm_timeout_s);
    const char *argv[] = { vm_python, peer_script, "--connect", target, "--timeout", timeout,
                           "--expect-icmp", PING_COUNT, NULL };

    if (!g_spawn_async(NULL, (char **)argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
                       G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL,
                       vm_child_setup, NULL, &vm->helper_pid, &err)) {
        g_test_message("cannot start the net peer %s: %s", peer_script, err->message);
        vm->helper_pid = 0;
    }
}

static void add_device(GPtrArray *argv, const char *fmt, const char *suffix, const char *rest)
{
    g_ptr_array_add(argv, g_strdup("-device"));
    g_ptr_array_add(argv, g_strdup_printf(fmt, suffix, rest));
}

/* Starts the VM with all five devices; false (case failed) when a piece of
 * its setup could not be made. */
static bool vm_start(struct vm *vm, const struct variant *v)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    int port = free_tcp_port();
    bool peer = peer_script && g_file_test(peer_script, G_FILE_TEST_EXISTS);
    const char *s = v->suffix;

    vm_init(vm);
    if (!make_disk(vm)) {
        g_ptr_array_free(argv, TRUE);
        return false;
    }

    /* microvm resets only by the triple fault, which Linux tries last
     * unless told reboot=t (as test-boot). */
    g_autofree char *append = g_strdup_printf("console=ttyS0 hyvm.test=virtio hyvm.netpeer=%d%s",
                                              peer, strcmp(v->machine, "microvm") ? ""
                                                                                  : " reboot=t");
    g_autofree char *machine = g_strdup_printf("%s%s", v->machine, v->acpi_off ? ",acpi=off" : "");
    g_autofree char *mem = g_strdup_printf("%dM", RAM_MIB);
    g_autofree char *disk = vm_file(vm, "disk.qcow2"), *hvc = vm_file(vm, "hvc0.out");
    g_autofree char *drive = g_strdup_printf("file=%s,if=none,id=d0,format=qcow2", disk);
    g_autofree char *chardev = g_strdup_printf("file,id=c0,path=%s", hvc);
    g_autofree char *netdev = g_strdup_printf("socket,id=n0,listen=127.0.0.1:%d", port);

    vm_add_args(argv, vm_bin, "-M", machine, "-accel", v->accel, "-m", mem, "-nodefaults",
                "-display", "none", "-serial", "stdio", "-kernel", vm_kernel_path,
                "-initrd", vm_initrd_path, "-append", append, NULL);
    vm_add_qmp(vm, argv);
    vm_add_args(argv, "-drive", drive, "-chardev", chardev, "-netdev", netdev, NULL);
    add_device(argv, "virtio-blk-%s%s", s, ",drive=d0");
    add_device(argv, "virtio-serial-%s%s", s, "");
    vm_add_args(argv, "-device", "virtconsole,chardev=c0", NULL);
    add_device(argv, "virtio-rng-%s%s", s, "");
    add_device(argv, "virtio-balloon-%s%s", s, "");
    add_device(argv, "virtio-net-%s%s", s, ",netdev=n0,mac=" GUEST_MAC);
    if (v->modern_mmio) {
        vm_add_args(argv, "-global", "virtio-mmio.force-legacy=off", NULL);
    }
    if (!vm_spawn(vm, argv)) {
        return false;
    }
    if (peer) {
        peer_start(vm, port);
    } else {
        g_test_message("no net peer (HYVM_NET_PEER=%s): the guest does not ping",
                       peer_script ? peer_script : "");
    }
    return true;
}

/* ---- console lines ---- */

static bool expect_number(struct vm *vm, const char *key, gint64 *out)
{
    g_autofree char *got = vm_expect_line(vm, key);

    if (!got) {
        return false;
    }
    if (!g_ascii_string_to_signed(got, 10, 0, G_MAXINT64, out, NULL)) {
        vm_report(vm, "%s: '%s' is not a number", key, got);
        return false;
    }
    return true;
}

/* ---- the checks ---- */

/* The devices the guest lists, one line each "name id driver bus v1=N". */
static const struct {
    const char *id, *driver;
} want_devices[] = {
    { "0x0002", "virtio_blk" }, { "0x0003", "virtio_console" }, { "0x0004", "virtio_rng" },
    { "0x0005", "virtio_balloon" }, { "0x0001", "virtio_net" },
};

/* HYVM-VIRTIO-DEV lines of this boot: each device once, bound to its
 * driver, on the variant's transport, 1.x or legacy as it should be. */
static bool check_devices(struct vm *vm, const struct variant *v)
{
    g_autofree char *count = vm_expect_line(vm, "HYVM-VIRTIO-DEVICES");
    g_autofree char *want_count = g_strdup_printf("%zu", G_N_ELEMENTS(want_devices));
    const char *bus = strcmp(v->suffix, "pci") ? "mmio" : "pci";
    /* Linux takes a transitional PCI device as 1.x; mmio is 1.x only as
     * version 2 (force-legacy=off). */
    const char *v1 = !strcmp(bus, "pci") || v->modern_mmio ? "v1=1" : "v1=0";
    const char *end;
    g_autofree char *lines = NULL;

    if (!count) {
        return false;
    }
    end = strstr(vm->console->str + vm->from, "\nHYVM-VIRTIO-DEVICES: ");
    lines = g_strndup(vm->console->str + vm->from, end - (vm->console->str + vm->from));
    for (unsigned i = 0; i < G_N_ELEMENTS(want_devices); i++) {
        g_autofree char *pat = g_strdup_printf("\nHYVM-VIRTIO-DEV: virtio\\d+ %s %s %s %s\r",
                                               want_devices[i].id, want_devices[i].driver,
                                               bus, v1);
        if (!g_regex_match_simple(pat, lines, 0, 0)) {
            vm_report(vm, "no device line like '%s' (a virtio %s device bound to %s on %s, "
                      "%s)", pat + 1, want_devices[i].id, want_devices[i].driver, bus, v1);
            return false;
        }
    }
    if (strcmp(count, want_count)) {
        vm_report(vm, "HYVM-VIRTIO-DEVICES: %s, want %s", count, want_count);
        return false;
    }
    if (strstr(lines, "HYVM-MODULE-FAILED") || strstr(lines, "HYVM-TIMEOUT")) {
        vm_report(vm, "a virtio module failed to load or hung");
        return false;
    }
    return true;
}

/* The md5 of the guest's pattern: 8192 sectors, each its number in 511
 * digits and a newline. */
static char *disk_pattern_md5(void)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_MD5);
    char sector[513];
    char *hex;

    for (int i = 0; i < 8192; i++) {
        snprintf(sector, sizeof(sector), "%0511d\n", i);
        g_checksum_update(c, (const guchar *)sector, 512);
    }
    hex = g_strdup(g_checksum_get_string(c));
    g_checksum_free(c);
    return hex;
}

/* First boot: the pattern written through virtio-blk and read back, the
 * stamp, the guest's reboot; the second boot finds the stamp and reads the
 * pattern again after every device was reset. */
static bool check_disk(struct vm *vm, const struct variant *v)
{
    g_autofree char *md5 = disk_pattern_md5();

    if (!vm_expect_value(vm, "HYVM-DISK-SIZE", "131072") ||   /* 64 MiB in sectors */
        !vm_expect_value(vm, "HYVM-DISK-WRITTEN", md5) ||
        !vm_expect_value(vm, "HYVM-DISK-READBACK", md5) ||
        !vm_expect_word(vm, "HYVM-REBOOTING", true) ||
        !vm_expect_word(vm, MARKER, true) ||
        !check_devices(vm, v)) {
        return false;
    }
    return vm_expect_value(vm, "HYVM-DISK-VERIFY", md5);
}

static bool hvc_has_text(struct vm *vm, const void *path)
{
    g_autofree char *text = NULL;

    return g_file_get_contents(path, &text, NULL, NULL) && strstr(text, HVC0_TEXT);
}

static bool check_console(struct vm *vm)
{
    g_autofree char *hvc = vm_file(vm, "hvc0.out");

    return vm_expect_value(vm, "HYVM-HVC0", "written") &&
           vm_wait(vm, hvc_has_text, hvc, "hvc0's text in the -chardev file");
}

static bool check_rng(struct vm *vm)
{
    g_autofree char *cur = vm_expect_line(vm, "HYVM-RNG-CURRENT");
    gint64 distinct;

    if (!cur) {
        return false;
    }
    if (!g_str_has_prefix(cur, "virtio_rng")) {
        vm_report(vm, "rng_current is '%s', not virtio_rng", cur);
        return false;
    }
    if (!vm_expect_value(vm, "HYVM-RNG-BYTES", "4096") ||
        !expect_number(vm, "HYVM-RNG-DISTINCT", &distinct)) {
        return false;
    }
    /* 4096 random bytes miss one of the 256 values with odds of e^-16. */
    if (distinct < 200) {
        vm_report(vm, "4 KiB of /dev/hwrng hold only %" G_GINT64_FORMAT " byte values", distinct);
        return false;
    }
    return true;
}

/* The driver reports the balloon's size after it moved the pages
 * (virtio 1.2 5.5.6: "actual"), so query-balloon is polled, 20 s at most. */
static bool expect_balloon_actual(struct vm *vm, gint64 bytes)
{
    gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    for (;;) {
        JsonNode *r = vm_qmp_call(vm, "query-balloon", NULL);
        gint64 seen;

        if (!r) {
            return false;
        }
        seen = json_object_get_int_member_with_default(json_node_get_object(r), "actual", -1);
        if (seen == bytes) {
            return true;
        }
        if (g_get_monotonic_time() >= until) {
            vm_report(vm, "query-balloon: actual %" G_GINT64_FORMAT ", want %" G_GINT64_FORMAT,
                      seen, bytes);
            return false;
        }
        vm_pump(vm, 200 * 1000);
    }
}

static bool balloon_set(struct vm *vm, gint64 bytes)
{
    g_autofree char *args = g_strdup_printf("{\"value\": %" G_GINT64_FORMAT "}", bytes);

    return vm_qmp_call(vm, "balloon", args) != NULL;
}

/* Inflated by BALLOON_MIB through QMP: the guest loses exactly that from
 * MemTotal (no deflate-on-oom); deflated: it has it all back. */
static bool check_balloon(struct vm *vm)
{
    const gint64 ram = (gint64)RAM_MIB << 20, target = ram - ((gint64)BALLOON_MIB << 20);
    gint64 before, inflated, deflated;

    if (!expect_number(vm, "HYVM-BALLOON-BEFORE", &before) ||
        !vm_expect_word(vm, "HYVM-BALLOON-WAIT-INFLATE", false) ||
        !balloon_set(vm, target) ||
        !expect_number(vm, "HYVM-BALLOON-INFLATED", &inflated)) {
        return false;
    }
    if (before - inflated != BALLOON_MIB * 1024) {
        vm_report(vm, "the balloon of %d MiB took MemTotal from %" G_GINT64_FORMAT " kB to %"
                  G_GINT64_FORMAT " kB", BALLOON_MIB, before, inflated);
        return false;
    }
    if (!expect_balloon_actual(vm, target) ||
        !vm_expect_word(vm, "HYVM-BALLOON-WAIT-DEFLATE", false) ||
        !balloon_set(vm, ram) ||
        !expect_number(vm, "HYVM-BALLOON-DEFLATED", &deflated)) {
        return false;
    }
    if (deflated != before) {
        vm_report(vm, "deflated, MemTotal is %" G_GINT64_FORMAT " kB, was %" G_GINT64_FORMAT
                  " kB", deflated, before);
        return false;
    }
    return expect_balloon_actual(vm, ram);
}

static bool check_net(struct vm *vm)
{
    if (!vm_expect_value(vm, "HYVM-NET-MAC", GUEST_MAC) ||
        !vm_expect_value(vm, "HYVM-NET-STATE", "up")) {
        return false;
    }
    return !vm->helper_pid || vm_expect_value(vm, "HYVM-NET-PING", PING_COUNT);
}

/* QEMU 7.2's words for the five devices on microvm,acpi=off: the
 * transports from the top (slot 7, IRQ 12) down, 512 bytes each. */
static const char noacpi_words[] =
    " virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11"
    " virtio_mmio.device=512@0xfeb00a00:10 virtio_mmio.device=512@0xfeb00800:9"
    " virtio_mmio.device=512@0xfeb00600:8";

static bool check_noacpi(struct vm *vm)
{
    g_autofree char *cmdline = vm_expect_line(vm, "HYVM-CMDLINE");

    if (!cmdline) {
        return false;
    }
    if (!g_str_has_suffix(cmdline, noacpi_words)) {
        vm_report(vm, "the kernel command line '%s' does not end in QEMU's '%s'", cmdline,
                  noacpi_words);
        return false;
    }
    return vm_expect_value(vm, "HYVM-VIRTIO-DEVICES", "0") &&
           vm_expect_word(vm, "HYVM-VIRTIO-DONE", false);
}

/* The peer's own count: it ends when the VM closed the socket. */
static bool peer_expect_answered(struct vm *vm)
{
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    int status;

    if (!vm->helper_pid) {
        return true;
    }
    while (waitpid(vm->helper_pid, &status, WNOHANG) != vm->helper_pid) {
        if (g_get_monotonic_time() >= until) {
            vm_report(vm, "the net peer did not end 10 s after the VM");
            return false;
        }
        g_usleep(50 * 1000);
    }
    vm->helper_exited = true;
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        vm_report(vm, "the net peer answered fewer than " PING_COUNT " echo requests "
                  "(status 0x%x)", status);
        return false;
    }
    return true;
}

static void run_case(struct vm *vm, const void *data)
{
    const struct variant *v = data;

    if (!vm_start(vm, v)) {
        vm->failed = true;
        return;
    }
    if (!vm_qmp_connect(vm) || !vm_expect_word(vm, MARKER, true)) {
        return;
    }
    /* Without ACPI, microvm has no way to power off (the guest halts, as
     * under QEMU): quit ends it. */
    if (v->acpi_off) {
        if (check_noacpi(vm) && vm_qmp_call(vm, "quit", NULL)) {
            vm_expect_exit0(vm);
        }
        return;
    }
    if (check_devices(vm, v) && check_disk(vm, v) && check_console(vm) && check_rng(vm) &&
        check_balloon(vm) && check_net(vm) && vm_expect_word(vm, "HYVM-VIRTIO-DONE", false) &&
        vm_expect_exit0(vm)) {
        peer_expect_answered(vm);
    }
}

static void test_virtio(gconstpointer data)
{
    const struct variant *v = data;

    vm_run_case(v->accel, run_case, v);
}

int main(int argc, char **argv)
{
    static const struct variant variants[] = {
        { "pc", NULL, "pci", "pci", false, false },
        { "microvm", NULL, "legacy", "device", false, false },
        { "microvm", NULL, "modern", "device", false, true },
        { "microvm", NULL, "noacpi", "device", true, false },
    };
    static const char *const accels[] = { "tcg", "kvm" };
    struct vm_config config = {
        .tmp_template = "hyvm-virtio-XXXXXX", .initrd = "initrd-virtio.cpio",
        .timeout_s = 240, .tail_chars = 4000,
        .hints = virtio_hints, .n_hints = G_N_ELEMENTS(virtio_hints),
        /* HYVM_VIRTIO_TRACE: the console goes to stderr too. */
        .trace_console = g_getenv("HYVM_VIRTIO_TRACE") != NULL,
    };

    g_test_init(&argc, &argv, NULL);
    vm_env_init(&config);
    img_bin = g_getenv("HYVM_IMG");
    peer_script = g_getenv("HYVM_NET_PEER");
    if (!vm_bin || !img_bin) {
        g_printerr("HYVM_BINARY (or HYVM_BOOT_BINARY) and HYVM_IMG must be set\n");
        return 1;
    }
    for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(variants); i++) {
            struct variant *v = g_new(struct variant, 1);
            g_autofree char *path = g_strdup_printf("/virtio/%s/%s/%s", variants[i].machine,
                                                    accels[a], variants[i].name);

            *v = variants[i];
            v->accel = accels[a];
            g_test_add_data_func_full(path, v, test_virtio, g_free);
        }
    }
    return g_test_run();
}
