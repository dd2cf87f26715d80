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
 * One thread.  The VM and the peer are child processes that die with the
 * test (PR_SET_PDEATHSIG); the VM's console, stderr and QMP socket are
 * read by one poll loop, and a failing case prints the tail of its console
 * (the guest's kernel lines about virtio are in it as HYVM-DMESG lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#define MARKER "HYVM-BOOT-OK"
#define TAIL_CHARS 4000
#define SKIP_STATUS 77          /* fixtures.py: no Debian packages here */
#define RAM_MIB 256
#define BALLOON_MIB 64          /* the guest's hyvm.balloon= default */
#define GUEST_MAC "52:54:00:12:34:56"
#define DISK_SIZE "64M"
#define HVC0_TEXT "HYVM-HVC0-HELLO"
#define PING_COUNT "3"          /* the guest's ping -c */

static const char *bin, *img_bin, *peer_script, *python;
static char *kernel_path, *initrd_path;
static int boot_timeout_s = 240;
static bool trace;              /* HYVM_VIRTIO_TRACE: the console goes to stderr too */

static bool fixtures_done;
static char *fixtures_skip, *fixtures_error;

struct variant {
    const char *machine, *accel, *name;
    const char *suffix;         /* pci or device: virtio-blk-SUFFIX */
    bool acpi_off;              /* -M microvm,acpi=off */
    bool modern_mmio;           /* -global virtio-mmio.force-legacy=off */
};

struct vm {
    GPid pid, peer_pid;
    int out_fd, err_fd, qmp_fd;     /* -1 once closed or absent */
    GString *console, *err, *qmp_in;
    GPtrArray *qmp_msgs;            /* JsonNode *, every message received */
    unsigned qmp_next_id;
    size_t from;                    /* console lines are looked for after this */
    char *dir, *qmp_path, *disk_path, *hvc_path;
    gint64 deadline, dead_end_seen;
    bool exited, peer_exited;
    int wait_status;
    bool failed;
};

/* ---- fixtures (as test-boot) ---- */

static bool fixtures_ready(void)
{
    const char *script = g_getenv("HYVM_FIXTURES_SCRIPT");
    const char *dir = g_getenv("HYVM_FIXTURES_DIR");
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    int status;

    if (fixtures_done) {
        goto out;
    }
    fixtures_done = true;
    if (!script || !dir) {
        fixtures_error = g_strdup("HYVM_FIXTURES_SCRIPT and HYVM_FIXTURES_DIR must be set");
        goto out;
    }
    const char *argv[] = { python, script, dir, NULL };
    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL,
                      NULL, NULL, &out, &errout, &status, &err)) {
        fixtures_error = g_strdup_printf("cannot run %s: %s", script, err->message);
        goto out;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_STATUS) {
        fixtures_skip = g_strdup(g_strstrip(out));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fixtures_error = g_strdup_printf("%s failed (status 0x%x):\n%s%s", script, status,
                                         out, errout);
    } else {
        if (*g_strstrip(out)) {
            g_test_message("%s", out);
        }
        kernel_path = g_build_filename(dir, "vmlinuz", NULL);
        initrd_path = g_build_filename(dir, "initrd-virtio.cpio", NULL);
    }
out:
    if (fixtures_skip) {
        g_test_skip(fixtures_skip);
        return false;
    }
    if (fixtures_error) {
        g_test_message("%s", fixtures_error);
        g_test_fail();
        return false;
    }
    return true;
}

/* KVM counts only with hardware virtualization behind it (as test-boot). */
static const char *kvm_missing(void)
{
    g_autofree char *cpuinfo = NULL;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return "/dev/kvm does not open here";
    }
    close(fd);
    if (!g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL) ||
        (!strstr(cpuinfo, " vmx") && !strstr(cpuinfo, " svm"))) {
        return "the host CPU has no vmx/svm: this /dev/kvm (e.g. kvm_pvm) cannot boot Linux";
    }
    return NULL;
}

/* ---- the VM's pieces ---- */

static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* A TCP port on 127.0.0.1 that was free a moment ago, for -netdev socket. */
static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool make_disk(struct vm *vm)
{
    const char *argv[] = { img_bin, "create", "-q", "-f", "qcow2", vm->disk_path, DISK_SIZE,
                           NULL };
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL |
                      G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &err) ||
        !WIFEXITED(status) || WEXITSTATUS(status)) {
        g_test_message("%s create -f qcow2 %s failed: %s", img_bin, vm->disk_path,
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
    g_autofree char *timeout = g_strdup_printf("%d", boot_timeout_s);
    const char *argv[] = { python, peer_script, "--connect", target, "--timeout", timeout,
                           "--expect-icmp", PING_COUNT, NULL };

    if (!g_spawn_async(NULL, (char **)argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
                       G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL,
                       child_setup, NULL, &vm->peer_pid, &err)) {
        g_test_message("cannot start the net peer %s: %s", peer_script, err->message);
        vm->peer_pid = 0;
    }
}

static void add_args(GPtrArray *argv, ...)
{
    va_list ap;
    const char *a;

    va_start(ap, argv);
    while ((a = va_arg(ap, const char *))) {
        g_ptr_array_add(argv, g_strdup(a));
    }
    va_end(ap);
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
    g_autoptr(GError) err = NULL;
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    int port = free_port();
    bool peer = peer_script && g_file_test(peer_script, G_FILE_TEST_EXISTS);
    const char *s = v->suffix;

    memset(vm, 0, sizeof(*vm));
    vm->qmp_fd = vm->out_fd = vm->err_fd = -1;
    vm->console = g_string_new(NULL);
    vm->err = g_string_new(NULL);
    vm->qmp_in = g_string_new(NULL);
    vm->qmp_msgs = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    vm->dir = g_dir_make_tmp("hyvm-virtio-XXXXXX", &err);
    g_assert_no_error(err);
    vm->qmp_path = g_build_filename(vm->dir, "qmp.sock", NULL);
    vm->disk_path = g_build_filename(vm->dir, "disk.qcow2", NULL);
    vm->hvc_path = g_build_filename(vm->dir, "hvc0.out", NULL);
    vm->exited = true;          /* until it runs */
    if (!make_disk(vm)) {
        return false;
    }

    /* microvm resets only by the triple fault, which Linux tries last
     * unless told reboot=t (as test-boot). */
    g_autofree char *append = g_strdup_printf("console=ttyS0 hyvm.test=virtio hyvm.netpeer=%d%s",
                                              peer, strcmp(v->machine, "microvm") ? ""
                                                                                  : " reboot=t");
    g_autofree char *machine = g_strdup_printf("%s%s", v->machine, v->acpi_off ? ",acpi=off" : "");
    g_autofree char *mem = g_strdup_printf("%dM", RAM_MIB);
    g_autofree char *drive = g_strdup_printf("file=%s,if=none,id=d0,format=qcow2",
                                             vm->disk_path);
    g_autofree char *chardev = g_strdup_printf("file,id=c0,path=%s", vm->hvc_path);
    g_autofree char *netdev = g_strdup_printf("socket,id=n0,listen=127.0.0.1:%d", port);
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off", vm->qmp_path);

    add_args(argv, bin, "-M", machine, "-accel", v->accel, "-m", mem, "-nodefaults",
             "-display", "none", "-serial", "stdio", "-kernel", kernel_path,
             "-initrd", initrd_path, "-append", append, "-qmp", qmp,
             "-drive", drive, "-chardev", chardev, "-netdev", netdev, NULL);
    add_device(argv, "virtio-blk-%s%s", s, ",drive=d0");
    add_device(argv, "virtio-serial-%s%s", s, "");
    add_args(argv, "-device", "virtconsole,chardev=c0", NULL);
    add_device(argv, "virtio-rng-%s%s", s, "");
    add_device(argv, "virtio-balloon-%s%s", s, "");
    add_device(argv, "virtio-net-%s%s", s, ",netdev=n0,mac=" GUEST_MAC);
    if (v->modern_mmio) {
        add_args(argv, "-global", "virtio-mmio.force-legacy=off", NULL);
    }
    g_ptr_array_add(argv, NULL);

    g_autofree char *cmdline = g_strjoinv(" ", (char **)argv->pdata);
    g_test_message("run: %s", cmdline);
    vm->deadline = g_get_monotonic_time() + (gint64)boot_timeout_s * G_USEC_PER_SEC;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
                                  G_SPAWN_STDIN_FROM_DEV_NULL,
                                  child_setup, NULL, &vm->pid, NULL,
                                  &vm->out_fd, &vm->err_fd, &err)) {
        g_test_message("cannot run %s: %s", bin, err->message);
        g_ptr_array_free(argv, TRUE);
        return false;
    }
    g_ptr_array_free(argv, TRUE);
    vm->exited = false;
    fcntl(vm->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(vm->err_fd, F_SETFL, O_NONBLOCK);
    if (peer) {
        peer_start(vm, port);
    } else {
        g_test_message("no net peer (HYVM_NET_PEER=%s): the guest does not ping",
                       peer_script ? peer_script : "");
    }
    return true;
}

static void vm_report(struct vm *vm, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static const struct {
    const char *line, *hint;
} hints[] = {
    { "tsc: Unable to calibrate against PIT",
      "the kernel could not calibrate the TSC against the PIT (a loaded host does that "
      "to a software CPU); without an HPET or PM timer (microvm) it then stalls" },
    { "HYVM-TIMEOUT", "a command in the guest hung (a driver's probe or a request the "
      "device never completed): see the HYVM-DMESG lines" },
    { "HYVM-MODULE-FAILED", "a virtio module did not load: see the HYVM-DMESG lines" },
};

/* Marks the VM's run failed, saying why, with the tails of the console and stderr. */
static void vm_report(struct vm *vm, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *why = NULL;
    g_auto(GStrv) con = NULL;
    const char *err = vm->err->str;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    con = g_strsplit(vm->console->str + (vm->console->len > TAIL_CHARS
                                         ? vm->console->len - TAIL_CHARS : 0), "\r", -1);
    if (vm->err->len > TAIL_CHARS) {
        err += vm->err->len - TAIL_CHARS;
    }
    g_autofree char *con_text = g_strjoinv("", con);
    g_test_message("%s\n---- console (last %d chars) ----\n%s\n---- stderr ----\n%s\n----",
                   why, TAIL_CHARS, con_text, err);
    for (unsigned i = 0; i < G_N_ELEMENTS(hints); i++) {
        if (strstr(vm->console->str, hints[i].line)) {
            g_test_message("hint: \"%s\": %s", hints[i].line, hints[i].hint);
        }
    }
    vm->failed = true;
}

/* Reads what fd has; false at EOF or error (then fd is closed). */
static bool drain_fd(int *fd, GString *into)
{
    char buf[4096];

    for (;;) {
        ssize_t n = read(*fd, buf, sizeof(buf));

        if (n > 0) {
            g_string_append_len(into, buf, n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return true;
        }
        close(*fd);
        *fd = -1;
        return false;
    }
}

/* Moves complete QMP lines into qmp_msgs. */
static void qmp_parse_lines(struct vm *vm)
{
    char *nl;

    while ((nl = strchr(vm->qmp_in->str, '\n'))) {
        g_autofree char *line = g_strndup(vm->qmp_in->str, nl - vm->qmp_in->str);
        g_autoptr(JsonParser) p = json_parser_new();

        g_string_erase(vm->qmp_in, 0, nl - vm->qmp_in->str + 1);
        g_strstrip(line);
        if (!*line) {
            continue;
        }
        if (json_parser_load_from_data(p, line, -1, NULL) &&
            JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
            g_ptr_array_add(vm->qmp_msgs, json_node_copy(json_parser_get_root(p)));
        } else {
            g_string_append_printf(vm->err, "[test: QMP line is not a JSON object: %s]\n",
                                   line);
        }
    }
}

/* Waits up to max_us (never past the deadline) for output, reads it, and
 * notes the VM's exit. */
static void vm_pump(struct vm *vm, gint64 max_us)
{
    struct pollfd pfd[3];
    int n = 0, timeout_ms;
    gint64 left = vm->deadline - g_get_monotonic_time();

    timeout_ms = MIN(max_us, left) > 0 ? (int)(MIN(max_us, left) / 1000) : 0;
    if (vm->out_fd >= 0) {
        pfd[n++] = (struct pollfd){ .fd = vm->out_fd, .events = POLLIN };
    }
    if (vm->err_fd >= 0) {
        pfd[n++] = (struct pollfd){ .fd = vm->err_fd, .events = POLLIN };
    }
    if (vm->qmp_fd >= 0) {
        pfd[n++] = (struct pollfd){ .fd = vm->qmp_fd, .events = POLLIN };
    }
    if (n == 0) {
        g_usleep(MIN(timeout_ms, 10) * 1000);
    } else if (poll(pfd, n, timeout_ms) < 0 && errno != EINTR) {
        g_error("poll: %s", g_strerror(errno));
    }
    if (vm->out_fd >= 0) {
        size_t had = vm->console->len;

        drain_fd(&vm->out_fd, vm->console);
        if (trace) {
            fwrite(vm->console->str + had, 1, vm->console->len - had, stderr);
        }
    }
    if (vm->err_fd >= 0) {
        drain_fd(&vm->err_fd, vm->err);
    }
    if (vm->qmp_fd >= 0) {
        drain_fd(&vm->qmp_fd, vm->qmp_in);
        qmp_parse_lines(vm);
    }
    if (!vm->exited && waitpid(vm->pid, &vm->wait_status, WNOHANG) == vm->pid) {
        vm->exited = true;
    }
}

typedef bool (*vm_pred)(struct vm *vm, const void *arg);

static const char *const dead_ends[] = {
    "reboot: System halted", "Kernel panic - not syncing",
};

/* A guest at a dead end is given 2 s (the VM may still exit), then failed. */
static const char *vm_dead_end(struct vm *vm)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(dead_ends); i++) {
        if (strstr(vm->console->str, dead_ends[i])) {
            if (!vm->dead_end_seen) {
                vm->dead_end_seen = g_get_monotonic_time();
            }
            return g_get_monotonic_time() - vm->dead_end_seen > 2 * G_USEC_PER_SEC
                   ? dead_ends[i] : NULL;
        }
    }
    return NULL;
}

static void vm_kill(struct vm *vm)
{
    kill(vm->pid, SIGKILL);
    waitpid(vm->pid, &vm->wait_status, 0);
    vm->exited = true;
    vm_pump(vm, 0);
}

/* Pumps until done(vm, arg); false, with the case failed and the console
 * shown, when the VM exits first, stops at a dead end or the deadline passes. */
static bool vm_wait(struct vm *vm, vm_pred done, const void *arg, const char *what)
{
    for (;;) {
        const char *dead;

        if (done(vm, arg)) {
            return true;
        }
        if (vm->exited) {
            vm_pump(vm, 0);
            if (done(vm, arg)) {
                return true;
            }
            vm_report(vm, "the VM exited (%s %d) before %s",
                      WIFEXITED(vm->wait_status) ? "status" : "signal",
                      WIFEXITED(vm->wait_status) ? WEXITSTATUS(vm->wait_status)
                                                 : WTERMSIG(vm->wait_status), what);
            return false;
        }
        if (g_get_monotonic_time() >= vm->deadline) {
            vm_kill(vm);
            vm_report(vm, "gave up waiting for %s after %d s (HYVM_BOOT_TIMEOUT): killed",
                      what, boot_timeout_s);
            return false;
        }
        if ((dead = vm_dead_end(vm))) {
            vm_kill(vm);
            vm_report(vm, "waiting for %s, the guest stopped: \"%s\": killed", what, dead);
            return false;
        }
        vm_pump(vm, 200 * 1000);
    }
}

static bool has_exited(struct vm *vm, const void *arg)
{
    return vm->exited && vm->out_fd < 0 && vm->err_fd < 0;
}

static bool vm_expect_exit0(struct vm *vm)
{
    if (!vm_wait(vm, has_exited, NULL, "the VM's exit")) {
        return false;
    }
    if (!WIFEXITED(vm->wait_status) || WEXITSTATUS(vm->wait_status) != 0) {
        vm_report(vm, "the VM ended with %s %d, not exit status 0",
                  WIFEXITED(vm->wait_status) ? "exit status" : "signal",
                  WIFEXITED(vm->wait_status) ? WEXITSTATUS(vm->wait_status)
                                             : WTERMSIG(vm->wait_status));
        return false;
    }
    return true;
}

/* ---- console lines ---- */

/* The first whole line "key: value" after vm->from: its value, or NULL. */
static char *line_value(struct vm *vm, const char *key)
{
    g_autofree char *k = g_strdup_printf("\n%s: ", key);
    const char *p = strstr(vm->console->str + vm->from, k), *end;

    if (!p) {
        return NULL;
    }
    p += strlen(k);
    end = p + strcspn(p, "\r\n");
    return *end ? g_strndup(p, end - p) : NULL;
}

static bool has_line(struct vm *vm, const void *key)
{
    g_autofree char *v = line_value(vm, key);

    return v != NULL;
}

/* The value of the line "key: ..." (waited for); NULL with the case failed. */
static char *expect_line(struct vm *vm, const char *key)
{
    g_autofree char *what = g_strdup_printf("the line %s", key);

    return vm_wait(vm, has_line, key, what) ? line_value(vm, key) : NULL;
}

static bool has_word_line(struct vm *vm, const void *word)
{
    g_autofree char *k = g_strdup_printf("\n%s\r", (const char *)word);

    return strstr(vm->console->str + vm->from, k) != NULL;
}

/* Waits for a line that is only word; with next, looks after it from then on. */
static bool expect_word(struct vm *vm, const char *word, bool next)
{
    g_autofree char *k = g_strdup_printf("\n%s\r", word);

    if (!vm_wait(vm, has_word_line, word, word)) {
        return false;
    }
    if (next) {
        vm->from = strstr(vm->console->str + vm->from, k) - vm->console->str + strlen(k);
    }
    return true;
}

static bool expect_value(struct vm *vm, const char *key, const char *want)
{
    g_autofree char *got = expect_line(vm, key);

    if (!got) {
        return false;
    }
    if (strcmp(got, want)) {
        vm_report(vm, "%s: got '%s', want '%s'", key, got, want);
        return false;
    }
    return true;
}

static bool expect_number(struct vm *vm, const char *key, gint64 *out)
{
    g_autofree char *got = expect_line(vm, key);

    if (!got) {
        return false;
    }
    if (!g_ascii_string_to_signed(got, 10, 0, G_MAXINT64, out, NULL)) {
        vm_report(vm, "%s: '%s' is not a number", key, got);
        return false;
    }
    return true;
}

/* ---- QMP ---- */

static const char *msg_str(JsonNode *n, const char *member)
{
    JsonNode *m = json_object_get_member(json_node_get_object(n), member);

    return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_STRING
           ? json_node_get_string(m) : NULL;
}

static JsonNode *qmp_find_reply(struct vm *vm, const char *id)
{
    for (unsigned i = 0; i < vm->qmp_msgs->len; i++) {
        if (!g_strcmp0(msg_str(vm->qmp_msgs->pdata[i], "id"), id)) {
            return vm->qmp_msgs->pdata[i];
        }
    }
    return NULL;
}

static bool qmp_has_reply(struct vm *vm, const void *id)
{
    return qmp_find_reply(vm, id) != NULL;
}

static bool qmp_has_greeting(struct vm *vm, const void *arg)
{
    for (unsigned i = 0; i < vm->qmp_msgs->len; i++) {
        if (json_object_has_member(json_node_get_object(vm->qmp_msgs->pdata[i]), "QMP")) {
            return true;
        }
    }
    return false;
}

/* Runs cmd with args (a JSON object's text, or NULL); its "return" member
 * (owned by the VM), or NULL with the case failed. */
static JsonNode *qmp_call(struct vm *vm, const char *cmd, const char *args)
{
    g_autofree char *id = g_strdup_printf("c%u", vm->qmp_next_id++);
    g_autofree char *s = g_strdup_printf("{\"execute\": \"%s\", \"id\": \"%s\"%s%s}\n", cmd, id,
                                         args ? ", \"arguments\": " : "", args ? args : "");
    g_autofree char *what = g_strdup_printf("the reply to %s", cmd);
    JsonNode *reply;
    JsonObject *o;

    if (write(vm->qmp_fd, s, strlen(s)) != (ssize_t)strlen(s)) {
        vm_report(vm, "QMP write of %s failed: %s", cmd, g_strerror(errno));
        return NULL;
    }
    if (!vm_wait(vm, qmp_has_reply, id, what)) {
        return NULL;
    }
    reply = qmp_find_reply(vm, id);
    o = json_node_get_object(reply);
    if (!json_object_has_member(o, "return")) {
        g_autofree char *text = json_to_string(reply, FALSE);

        vm_report(vm, "%s failed: %s", cmd, text);
        return NULL;
    }
    return json_object_get_member(o, "return");
}

static bool qmp_connect(struct vm *vm)
{
    while (vm->qmp_fd < 0) {
        vm->qmp_fd = connect_unix(vm->qmp_path);
        if (vm->qmp_fd >= 0) {
            break;
        }
        if (vm->exited || g_get_monotonic_time() >= vm->deadline) {
            vm_pump(vm, 0);
            vm_report(vm, "cannot connect to the QMP socket %s", vm->qmp_path);
            return false;
        }
        vm_pump(vm, 20 * 1000);
    }
    fcntl(vm->qmp_fd, F_SETFL, O_NONBLOCK);
    return vm_wait(vm, qmp_has_greeting, NULL, "the QMP greeting") &&
           qmp_call(vm, "qmp_capabilities", NULL);
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
    g_autofree char *count = expect_line(vm, "HYVM-VIRTIO-DEVICES");
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

    if (!expect_value(vm, "HYVM-DISK-SIZE", "131072") ||   /* 64 MiB in sectors */
        !expect_value(vm, "HYVM-DISK-WRITTEN", md5) ||
        !expect_value(vm, "HYVM-DISK-READBACK", md5) ||
        !expect_word(vm, "HYVM-REBOOTING", true) ||
        !expect_word(vm, MARKER, true) ||
        !check_devices(vm, v)) {
        return false;
    }
    return expect_value(vm, "HYVM-DISK-VERIFY", md5);
}

static bool hvc_has_text(struct vm *vm, const void *path)
{
    g_autofree char *text = NULL;

    return g_file_get_contents(path, &text, NULL, NULL) && strstr(text, HVC0_TEXT);
}

static bool check_console(struct vm *vm)
{
    return expect_value(vm, "HYVM-HVC0", "written") &&
           vm_wait(vm, hvc_has_text, vm->hvc_path, "hvc0's text in the -chardev file");
}

static bool check_rng(struct vm *vm)
{
    g_autofree char *cur = expect_line(vm, "HYVM-RNG-CURRENT");
    gint64 distinct;

    if (!cur) {
        return false;
    }
    if (!g_str_has_prefix(cur, "virtio_rng")) {
        vm_report(vm, "rng_current is '%s', not virtio_rng", cur);
        return false;
    }
    if (!expect_value(vm, "HYVM-RNG-BYTES", "4096") ||
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
        JsonNode *r = qmp_call(vm, "query-balloon", NULL);
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

    return qmp_call(vm, "balloon", args) != NULL;
}

/* Inflated by BALLOON_MIB through QMP: the guest loses exactly that from
 * MemTotal (no deflate-on-oom); deflated: it has it all back. */
static bool check_balloon(struct vm *vm)
{
    const gint64 ram = (gint64)RAM_MIB << 20, target = ram - ((gint64)BALLOON_MIB << 20);
    gint64 before, inflated, deflated;

    if (!expect_number(vm, "HYVM-BALLOON-BEFORE", &before) ||
        !expect_word(vm, "HYVM-BALLOON-WAIT-INFLATE", false) ||
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
        !expect_word(vm, "HYVM-BALLOON-WAIT-DEFLATE", false) ||
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
    if (!expect_value(vm, "HYVM-NET-MAC", GUEST_MAC) ||
        !expect_value(vm, "HYVM-NET-STATE", "up")) {
        return false;
    }
    return !vm->peer_pid || expect_value(vm, "HYVM-NET-PING", PING_COUNT);
}

/* QEMU 7.2's words for the five devices on microvm,acpi=off: the
 * transports from the top (slot 7, IRQ 12) down, 512 bytes each. */
static const char noacpi_words[] =
    " virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11"
    " virtio_mmio.device=512@0xfeb00a00:10 virtio_mmio.device=512@0xfeb00800:9"
    " virtio_mmio.device=512@0xfeb00600:8";

static bool check_noacpi(struct vm *vm)
{
    g_autofree char *cmdline = expect_line(vm, "HYVM-CMDLINE");

    if (!cmdline) {
        return false;
    }
    if (!g_str_has_suffix(cmdline, noacpi_words)) {
        vm_report(vm, "the kernel command line '%s' does not end in QEMU's '%s'", cmdline,
                  noacpi_words);
        return false;
    }
    return expect_value(vm, "HYVM-VIRTIO-DEVICES", "0") &&
           expect_word(vm, "HYVM-VIRTIO-DONE", false);
}

/* The peer's own count: it ends when the VM closed the socket. */
static bool peer_expect_answered(struct vm *vm)
{
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    int status;

    if (!vm->peer_pid) {
        return true;
    }
    while (waitpid(vm->peer_pid, &status, WNOHANG) != vm->peer_pid) {
        if (g_get_monotonic_time() >= until) {
            vm_report(vm, "the net peer did not end 10 s after the VM");
            return false;
        }
        g_usleep(50 * 1000);
    }
    vm->peer_exited = true;
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        vm_report(vm, "the net peer answered fewer than " PING_COUNT " echo requests "
                  "(status 0x%x)", status);
        return false;
    }
    return true;
}

static void run_case(struct vm *vm, const struct variant *v)
{
    if (!vm_start(vm, v)) {
        vm->failed = true;
        return;
    }
    if (!qmp_connect(vm) || !expect_word(vm, MARKER, true)) {
        return;
    }
    /* Without ACPI, microvm has no way to power off (the guest halts, as
     * under QEMU): quit ends it. */
    if (v->acpi_off) {
        if (check_noacpi(vm) && qmp_call(vm, "quit", NULL)) {
            vm_expect_exit0(vm);
        }
        return;
    }
    if (check_devices(vm, v) && check_disk(vm, v) && check_console(vm) && check_rng(vm) &&
        check_balloon(vm) && check_net(vm) && expect_word(vm, "HYVM-VIRTIO-DONE", false) &&
        vm_expect_exit0(vm)) {
        peer_expect_answered(vm);
    }
}

static void vm_free(struct vm *vm)
{
    if (!vm->exited) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, NULL, 0);
    }
    if (vm->pid) {
        g_spawn_close_pid(vm->pid);
    }
    if (vm->peer_pid && !vm->peer_exited) {
        kill(vm->peer_pid, SIGKILL);
        waitpid(vm->peer_pid, NULL, 0);
        g_spawn_close_pid(vm->peer_pid);
    }
    for (int *fd = &vm->out_fd; fd <= &vm->qmp_fd; fd++) {
        if (*fd >= 0) {
            close(*fd);
        }
    }
    char *files[] = { vm->qmp_path, vm->disk_path, vm->hvc_path };
    for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
        if (files[i]) {
            unlink(files[i]);
        }
        g_free(files[i]);
    }
    rmdir(vm->dir);
    g_free(vm->dir);
    g_string_free(vm->console, TRUE);
    g_string_free(vm->err, TRUE);
    g_string_free(vm->qmp_in, TRUE);
    g_ptr_array_free(vm->qmp_msgs, TRUE);
}

static void test_virtio(gconstpointer data)
{
    const struct variant *v = data;
    struct vm vm;

    if (!strcmp(v->accel, "kvm") && kvm_missing()) {
        g_test_skip(kvm_missing());
        return;
    }
    if (!fixtures_ready()) {
        return;
    }
    for (int attempt = 0;; attempt++) {
        run_case(&vm, v);
        if (!vm.failed) {
            break;
        }
        /* The host's failure, not the machine's (as test-boot): on a loaded
         * host the kernel cannot calibrate the TSC against the PIT, and on
         * microvm it then stalls.  Such a boot is tried once more. */
        if (attempt == 0 && strstr(vm.console->str, "tsc: Unable to calibrate against PIT")) {
            g_test_message("the TSC calibration failed (host load): booting once more");
            vm_free(&vm);
            continue;
        }
        g_test_fail();
        break;
    }
    g_test_message("%s: %.1f s of %d s", g_test_get_path(),
                   boot_timeout_s - (vm.deadline - g_get_monotonic_time()) / 1e6,
                   boot_timeout_s);
    vm_free(&vm);
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
    const char *timeout = g_getenv("HYVM_BOOT_TIMEOUT");

    g_test_init(&argc, &argv, NULL);
    bin = g_getenv("HYVM_BOOT_BINARY");
    if (!bin || !*bin) {
        bin = g_getenv("HYVM_BINARY");
    }
    img_bin = g_getenv("HYVM_IMG");
    peer_script = g_getenv("HYVM_NET_PEER");
    trace = g_getenv("HYVM_VIRTIO_TRACE") != NULL;
    python = g_getenv("HYVM_PYTHON");
    if (!python || !*python) {
        python = "python3";
    }
    if (!bin || !img_bin) {
        g_printerr("HYVM_BINARY (or HYVM_BOOT_BINARY) and HYVM_IMG must be set\n");
        return 1;
    }
    if (timeout && atoi(timeout) > 0) {
        boot_timeout_s = atoi(timeout);
    }
    signal(SIGPIPE, SIG_IGN);
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
