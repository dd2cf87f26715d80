/*
 * Debian's cloud kernel on the real binary with virtio-net on -netdev user
 * (slirp) and -netdev tap, as a user runs them: the guest's /init
 * (fixtures.py, hyvm.test=net) takes an address by DHCP, fetches a file
 * from an HTTP server the test runs on the host, and serves a page of its
 * own with busybox httpd that the test fetches through a hostfwd port.
 *
 * Cases are /net/MACHINE/ACCEL/CASE, meson runs one MACHINE/ACCEL per test
 * (-k -p /net/pc/tcg); each case is one VM:
 *   dhcp-wget-hostfwd  DHCP gives QEMU's 10.0.2.15, router 10.0.2.2 and
 *                      DNS 10.0.2.3; the guest's wget of 10.0.2.2:PORT
 *                      reaches the server on 127.0.0.1:PORT (its log has
 *                      the request) and the body's md5 matches; a GET on
 *                      127.0.0.1:FWD reaches httpd in the guest through
 *                      hostfwd.  pc spells it as users do (-nic
 *                      user,model=virtio-net-pci,hostfwd=...), microvm
 *                      -netdev user plus -device virtio-net-device.
 *   restrict           the same with restrict=on: DHCP still gives
 *                      10.0.2.15 (without router and DNS, as libslirp does
 *                      for a restricted guest), the wget fails and the
 *                      host's server sees no request, the hostfwd port
 *                      still reaches the guest.
 *   tap (pc)           a network namespace the test creates with a tap
 *                      device in it (192.168.77.1/24) and the server bound
 *                      there; the VM runs inside it on -netdev
 *                      tap,ifname=...,script=no,downscript=no, the guest
 *                      takes 192.168.77.2/24 and fetches the file.  Skipped
 *                      (and so counted) where ip netns or tap are not
 *                      allowed; the namespace is always deleted.
 * The microvm and tap cases also capture their netdev with -object
 * filter-dump: the pcap file holds the guest's TCP SYN to the server (on
 * tap behind a virtio-net header the dump must skip), and tcpdump, where
 * installed, reads it.
 * All traffic stays on 127.0.0.1 or inside that namespace.
 *
 * The environment, as test-boot's:
 *   HYVM_BINARY           the binary under test (meson sets it)
 *   HYVM_BOOT_BINARY      overrides it: qemu-system-x86_64 is the oracle
 *   HYVM_HTTP_SERVE       the host's server (http-serve.py)
 *   HYVM_FIXTURES_SCRIPT, HYVM_FIXTURES_DIR, HYVM_PYTHON  as test-boot
 *   HYVM_BOOT_TIMEOUT     seconds one VM may live, default 240
 *   HYVM_NET_TRACE        set: the console is copied to stderr as it comes
 *
 * One thread.  The VM harness (vm.h) starts the VM and the server as child
 * processes that die with the test; the guest idles once it serves, and
 * the test ends it with QMP quit (exit status 0 expected).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "free-port.h"
#include "vm.h"

#define MARKER VM_MARKER
#define GUEST_MAC "52:54:00:12:34:56"       /* QEMU's first NIC's */
#define HOST_FILE "data.bin"
#define HOST_FILE_SIZE (1 << 20)
#define GUEST_PAGE "guest.txt"              /* the guest's: seq 1 20000 */
#define GUEST_PAGE_LINES 20000
#define GUEST_PORT 80
#define DHCP_WANT "10.0.2.15 10.0.2.2 10.0.2.3"
/* libslirp offers no router and no DNS server to a restricted guest. */
#define DHCP_WANT_RESTRICTED "10.0.2.15 none none"
#define TAP_NAME "hyvmtap0"
#define TAP_HOST "192.168.77.1"
#define TAP_GUEST "192.168.77.2/24"

enum net_kind { NET_USER, NET_RESTRICT, NET_TAP };

struct net_case {
    const char *machine, *accel, *name;
    enum net_kind kind;
};

static const char *serve_script;

/* The namespace of the tap case while it exists, and why tap cannot run. */
static char *netns_name;
static char *ip_bin;

static const struct vm_hint net_hints[] = {
    { "HYVM-NET-DHCP-FAILED", "udhcpc got no lease: no DHCP reply reached the guest" },
    { "HYVM-TIMEOUT", "a command in the guest hung (udhcpc, wget or a module's probe)" },
    { "HYVM-MODULE-FAILED", "a virtio module did not load" },
};

/* ---- console lines ---- */

static bool has_wget_line(struct vm *vm, const void *arg)
{
    return vm_has_line(vm, "HYVM-NET-WGET") || vm_has_line(vm, "HYVM-NET-WGET-FAILED");
}

/* ---- helpers on the host ---- */

/* The file the guest fetches (pseudo-random, so that a lost or reordered
 * segment changes the md5) in the VM's directory; returns its md5. */
static char *host_file_make(struct vm *vm)
{
    g_autofree char *path = vm_file(vm, HOST_FILE);
    g_autofree guint32 *data = g_new(guint32, HOST_FILE_SIZE / 4);
    GRand *r = g_rand_new_with_seed(10);

    for (unsigned i = 0; i < HOST_FILE_SIZE / 4; i++) {
        data[i] = g_rand_int(r);
    }
    g_rand_free(r);
    g_assert_true(g_file_set_contents(path, (const char *)data, HOST_FILE_SIZE, NULL));
    return g_compute_checksum_for_data(G_CHECKSUM_MD5, (const guchar *)data, HOST_FILE_SIZE);
}

/* Reads one line (the port) from fd within 20 s; -1 when none came. */
static int read_port(int fd)
{
    gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    char buf[32];
    size_t len = 0;

    while (len < sizeof(buf) - 1 && g_get_monotonic_time() < until) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, 200) <= 0) {
            continue;
        }
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            break;
        }
        len += n;
        buf[len] = '\0';
        if (strchr(buf, '\n')) {
            return atoi(buf);
        }
    }
    return -1;
}

/* The HTTP server (http-serve.py) on bind, serving the VM's directory and
 * logging requests to http.log there; in netns when not NULL.  Its port,
 * or -1 with the case failed. */
static int server_start(struct vm *vm, const char *netns, const char *bind)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *log = vm_file(vm, "http.log");
    g_autoptr(GError) err = NULL;
    int out = -1, port;

    if (netns) {
        vm_add_args(argv, ip_bin, "netns", "exec", netns, NULL);
    }
    vm_add_args(argv, vm_python, serve_script, "--dir", vm->dir, "--bind", bind, "--log", log,
                NULL);
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
                                  G_SPAWN_STDIN_FROM_DEV_NULL,
                                  vm_child_setup, NULL, &vm->helper_pid, NULL, &out, NULL,
                                  &err)) {
        g_ptr_array_free(argv, TRUE);
        vm_report(vm, "cannot start the HTTP server %s: %s", serve_script, err->message);
        return -1;
    }
    g_ptr_array_free(argv, TRUE);
    port = read_port(out);
    close(out);
    if (port <= 0) {
        vm_report(vm, "the HTTP server %s printed no port", serve_script);
        return -1;
    }
    return port;
}

/* The server's log: one line per request it answered. */
static char *server_log(struct vm *vm)
{
    g_autofree char *path = vm_file(vm, "http.log");
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return g_strdup("");
    }
    return text;
}

/* ---- the tap case's namespace ---- */

/* Runs argv; false with its stderr in *why. */
static bool run_cmd(const char *const *argv, char **why)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *errout = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL |
                      G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &errout, &status, &err)) {
        *why = g_strdup_printf("%s: %s", argv[0], err->message);
        return false;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv);

        *why = g_strdup_printf("'%s' failed: %s", cmd, g_strstrip(errout));
        return false;
    }
    return true;
}

static void netns_delete(void)
{
    if (netns_name) {
        const char *argv[] = { ip_bin, "netns", "delete", netns_name, NULL };
        g_autofree char *why = NULL;

        if (!run_cmd(argv, &why)) {
            g_printerr("test-net: %s\n", why);
        }
        g_clear_pointer(&netns_name, g_free);
    }
}

/* A namespace with lo up and a tap device TAP_HOST/24 in it; false with
 * the reason when this host does not allow them (the case is skipped). */
static bool netns_setup(char **why)
{
    g_autofree char *name = g_strdup_printf("hyvm-test-%d", (int)getpid());

    if (netns_name) {
        return true;
    }
    if (!ip_bin) {
        *why = g_strdup("no ip command (iproute2)");
        return false;
    }
    const char *add[] = { ip_bin, "netns", "add", name, NULL };
    if (!run_cmd(add, why)) {
        return false;
    }
    netns_name = g_steal_pointer(&name);
    const char *tap[] = { ip_bin, "-n", netns_name, "tuntap", "add", "dev", TAP_NAME, "mode",
                          "tap", NULL };
    const char *addr[] = { ip_bin, "-n", netns_name, "addr", "add", TAP_HOST "/24", "dev",
                           TAP_NAME, NULL };
    const char *up[] = { ip_bin, "-n", netns_name, "link", "set", TAP_NAME, "up", NULL };
    const char *lo[] = { ip_bin, "-n", netns_name, "link", "set", "lo", "up", NULL };
    if (!run_cmd(tap, why) || !run_cmd(addr, why) || !run_cmd(up, why) || !run_cmd(lo, why)) {
        netns_delete();
        return false;
    }
    return true;
}

/* ---- the VM ---- */

/* Where the case's netdev n0 is captured (microvm and tap), or NULL. */
static char *pcap_path(struct vm *vm, const struct net_case *c)
{
    return c->kind == NET_TAP || !strcmp(c->machine, "microvm") ? vm_file(vm, "n0.pcap") : NULL;
}

/* The network options of c: QEMU's usual spellings. */
static void add_net_args(struct vm *vm, GPtrArray *argv, const struct net_case *c, int fwd)
{
    g_autofree char *pcap = pcap_path(vm, c);

    const char *restrict_opt = c->kind == NET_RESTRICT ? ",restrict=on" : "";
    g_autofree char *hostfwd = g_strdup_printf("hostfwd=tcp:127.0.0.1:%d-:%d", fwd, GUEST_PORT);
    g_autofree char *opt = NULL;

    if (c->kind == NET_TAP) {
        vm_add_args(argv, "-netdev", "tap,id=n0,ifname=" TAP_NAME ",script=no,downscript=no",
                    "-device", "virtio-net-pci,netdev=n0", NULL);
    } else if (!strcmp(c->machine, "pc")) {
        opt = g_strdup_printf("user,model=virtio-net-pci,%s%s", hostfwd, restrict_opt);
        vm_add_args(argv, "-nic", opt, NULL);
    } else {
        opt = g_strdup_printf("user,id=n0,%s%s", hostfwd, restrict_opt);
        vm_add_args(argv, "-netdev", opt, "-device", "virtio-net-device,netdev=n0", NULL);
    }
    if (pcap) {
        g_free(opt);
        opt = g_strdup_printf("filter-dump,id=f0,netdev=n0,file=%s", pcap);
        vm_add_args(argv, "-object", opt, NULL);
    }
}

/* The server, then the VM (inside the namespace for tap); false with the
 * case failed. */
static bool vm_start(struct vm *vm, const struct net_case *c, int *fwd, int *server_port)
{
    bool tap = c->kind == NET_TAP;
    int port = server_start(vm, tap ? netns_name : NULL, tap ? TAP_HOST : "127.0.0.1");
    GPtrArray *argv;

    *server_port = port;
    if (port < 0) {
        return false;
    }
    *fwd = tap ? 0 : free_tcp_port();
    g_autofree char *append = g_strdup_printf(
        "console=ttyS0 hyvm.test=net hyvm.netport=%d hyvm.netfile=" HOST_FILE "%s", port,
        tap ? " hyvm.netstatic=" TAP_GUEST " hyvm.nethost=" TAP_HOST : " hyvm.netserve=1");

    argv = g_ptr_array_new_with_free_func(g_free);
    if (tap) {
        vm_add_args(argv, ip_bin, "netns", "exec", netns_name, NULL);
    }
    vm_add_args(argv, vm_bin, "-M", c->machine, "-accel", c->accel, "-m", "256M", "-nodefaults",
                "-display", "none", "-serial", "stdio", "-kernel", vm_kernel_path,
                "-initrd", vm_initrd_path, "-append", append, NULL);
    vm_add_qmp(vm, argv);
    add_net_args(vm, argv, c, *fwd);
    return vm_spawn(vm, argv);
}

/* ---- the checks ---- */

/* A GET of path on 127.0.0.1:port, read to the end while the VM runs on;
 * the whole reply, or NULL with the case failed. */
static GString *http_get(struct vm *vm, int port, const char *path)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    g_autofree char *req = g_strdup_printf("GET /%s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    gint64 until = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    GString *reply = g_string_new(NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char buf[16384];

    g_assert_cmpint(fd, >=, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        vm_report(vm, "the hostfwd port 127.0.0.1:%d: %s", port, g_strerror(errno));
        goto fail;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (g_get_monotonic_time() >= until) {
            vm_report(vm, "GET /%s on 127.0.0.1:%d: no end after 60 s (%zu bytes so far)", path,
                      port, reply->len);
            goto fail;
        }
        poll(&p, 1, 100);
        n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            g_string_append_len(reply, buf, n);
        } else if (n == 0) {
            break;
        } else if (errno != EAGAIN && errno != EINTR) {
            vm_report(vm, "GET /%s on 127.0.0.1:%d: %s", path, port, g_strerror(errno));
            goto fail;
        }
        /* The console keeps flowing meanwhile. */
        vm_pump(vm, 0);
    }
    close(fd);
    return reply;

fail:
    close(fd);
    g_string_free(reply, TRUE);
    return NULL;
}

/* The guest's page through hostfwd: "HTTP/1.x 200" and seq 1 20000. */
static bool check_hostfwd(struct vm *vm, int fwd)
{
    g_autoptr(GString) want = g_string_new(NULL);
    g_autoptr(GString) reply = NULL;
    const char *body;

    if (!vm_expect_word(vm, "HYVM-NET-SERVING", true) ||
        !(reply = http_get(vm, fwd, GUEST_PAGE))) {
        return false;
    }
    for (int i = 1; i <= GUEST_PAGE_LINES; i++) {
        g_string_append_printf(want, "%d\n", i);
    }
    body = strstr(reply->str, "\r\n\r\n");
    if (!g_regex_match_simple("^HTTP/1\\.[01] 200 ", reply->str, 0, 0) || !body) {
        vm_report(vm, "GET /" GUEST_PAGE " through hostfwd: not a 200 reply: '%.200s'",
                  reply->str);
        return false;
    }
    body += 4;
    if (reply->len - (body - reply->str) != want->len || memcmp(body, want->str, want->len)) {
        vm_report(vm, "GET /" GUEST_PAGE " through hostfwd: %zu bytes of body, not the "
                  "guest's %zu (seq 1 %d)", reply->len - (body - reply->str), want->len,
                  GUEST_PAGE_LINES);
        return false;
    }
    return true;
}

/* The guest's wget and the server's log agree: fetched with the right md5,
 * or (restrict=on) failed without reaching the server. */
static bool check_wget(struct vm *vm, const char *md5, bool blocked)
{
    g_autofree char *got = NULL, *failed = NULL, *log = NULL;

    if (!vm_wait(vm, has_wget_line, NULL, "the line HYVM-NET-WGET or HYVM-NET-WGET-FAILED")) {
        return false;
    }
    got = vm_line_value(vm, "HYVM-NET-WGET");
    failed = vm_line_value(vm, "HYVM-NET-WGET-FAILED");
    log = server_log(vm);
    if (blocked) {
        if (!failed) {
            vm_report(vm, "with restrict=on the guest's wget of 10.0.2.2 worked (md5 %s)", got);
            return false;
        }
        if (*log) {
            vm_report(vm, "with restrict=on a request reached the host's server: %s", log);
            return false;
        }
        return true;
    }
    if (!got) {
        vm_report(vm, "the guest's wget of " HOST_FILE " failed: %s", failed);
        return false;
    }
    if (strcmp(got, md5)) {
        vm_report(vm, HOST_FILE " reached the guest with md5 %s, not %s", got, md5);
        return false;
    }
    if (!strstr(log, "GET /" HOST_FILE " 200\n")) {
        vm_report(vm, "the host's server did not log the guest's GET: '%s'", log);
        return false;
    }
    return true;
}

/*
 * The capture after the VM ended: a classic pcap of Ethernet frames with
 * the guest's TCP SYN from guest_ip to the server's port among them, and
 * tcpdump (if installed) reads it.
 */
static bool check_pcap(struct vm *vm, const char *path, const char *guest_ip, int port)
{
    g_autofree char *data = NULL, *out = NULL, *err = NULL;
    struct in_addr want;
    size_t len, off = 24;
    bool syn = false;
    int status;

    inet_pton(AF_INET, guest_ip, &want);
    if (!g_file_get_contents(path, &data, &len, NULL) || len < 24) {
        vm_report(vm, "filter-dump wrote no pcap header to %s", path);
        return false;
    }
    if (*(uint32_t *)data != 0xa1b2c3d4 || *(uint32_t *)(data + 20) != 1) {
        vm_report(vm, "%s: not a classic pcap of Ethernet frames", path);
        return false;
    }
    while (off + 16 <= len && !syn) {
        uint32_t caplen = *(uint32_t *)(data + off + 8);
        const uint8_t *f = (const uint8_t *)data + off + 16, *ip = f + 14;

        if (off + 16 + caplen > len) {
            break;
        }
        syn = caplen >= 14 + 40 && f[12] == 0x08 && f[13] == 0x00 && ip[9] == 6 &&
              !memcmp(ip + 12, &want, 4) && (ip[22] << 8 | ip[23]) == port &&
              (ip[33] & 0x12) == 0x02;
        off += 16 + caplen;
    }
    if (!syn) {
        vm_report(vm, "%s: no TCP SYN from %s to port %d among its frames", path, guest_ip,
                  port);
        return false;
    }
    g_autofree char *tcpdump = g_find_program_in_path("tcpdump");
    if (!tcpdump) {
        return true;
    }
    const char *argv[] = { tcpdump, "-nn", "-r", path, NULL };
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                      &status, NULL) || !g_spawn_check_wait_status(status, NULL) ||
        !strstr(out, guest_ip)) {
        vm_report(vm, "tcpdump -r %s: status %d, '%.300s' '%.300s'", path, status,
                  out ? out : "", err ? err : "");
        return false;
    }
    return true;
}

static void run_case(struct vm *vm, const void *data)
{
    const struct net_case *c = data;
    bool tap = c->kind == NET_TAP;
    g_autofree char *md5 = NULL, *why = NULL, *pcap = NULL;
    int fwd, port;

    vm_init(vm);
    if (tap && !netns_setup(&why)) {
        g_autofree char *msg = g_strdup_printf("no network namespace with a tap device here: %s",
                                               why);

        g_test_skip(msg);
        return;
    }
    md5 = host_file_make(vm);
    pcap = pcap_path(vm, c);
    if (!vm_start(vm, c, &fwd, &port)) {
        vm->failed = true;
        return;
    }
    if (!vm_qmp_connect(vm) || !vm_expect_word(vm, MARKER, true) ||
        !vm_expect_value(vm, "HYVM-NET-MAC", GUEST_MAC) ||
        !vm_expect_value(vm, "HYVM-NET-STATE", "up")) {
        return;
    }
    if (tap) {
        if (vm_expect_value(vm, "HYVM-NET-STATIC", TAP_GUEST) && check_wget(vm, md5, false) &&
            vm_expect_word(vm, "HYVM-NET-DONE", true) && vm_expect_exit0(vm)) {
            check_pcap(vm, pcap, "192.168.77.2", port);
        }
        return;
    }
    if (vm_expect_value(vm, "HYVM-NET-DHCP",
                        c->kind == NET_RESTRICT ? DHCP_WANT_RESTRICTED : DHCP_WANT) &&
        check_wget(vm, md5, c->kind == NET_RESTRICT) && check_hostfwd(vm, fwd) &&
        vm_qmp_call(vm, "quit", NULL) && vm_expect_exit0(vm) && pcap &&
        c->kind == NET_USER) {
        check_pcap(vm, pcap, "10.0.2.15", port);
    }
}

static void test_net(gconstpointer data)
{
    const struct net_case *c = data;

    vm_run_case(c->accel, run_case, c);
    netns_delete();
}

int main(int argc, char **argv)
{
    static const struct net_case cases[] = {
        { "pc", NULL, "dhcp-wget-hostfwd", NET_USER },
        { "pc", NULL, "restrict", NET_RESTRICT },
        { "pc", NULL, "tap", NET_TAP },
        { "microvm", NULL, "dhcp-wget-hostfwd", NET_USER },
        { "microvm", NULL, "restrict", NET_RESTRICT },
    };
    static const char *const accels[] = { "tcg", "kvm" };
    struct vm_config config = {
        .tmp_template = "hyvm-net-XXXXXX", .initrd = "initrd-virtio.cpio",
        .timeout_s = 240, .tail_chars = 4000,
        .hints = net_hints, .n_hints = G_N_ELEMENTS(net_hints),
        .trace_console = g_getenv("HYVM_NET_TRACE") != NULL,
    };

    g_test_init(&argc, &argv, NULL);
    vm_env_init(&config);
    serve_script = g_getenv("HYVM_HTTP_SERVE");
    ip_bin = g_find_program_in_path("ip");
    if (!ip_bin && g_file_test("/usr/sbin/ip", G_FILE_TEST_IS_EXECUTABLE)) {
        ip_bin = g_strdup("/usr/sbin/ip");
    }
    if (!vm_bin || !serve_script) {
        g_printerr("HYVM_BINARY (or HYVM_BOOT_BINARY) and HYVM_HTTP_SERVE must be set\n");
        return 1;
    }
    /* A case that aborts still leaves no namespace behind. */
    atexit(netns_delete);
    for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
            struct net_case *c = g_new(struct net_case, 1);
            g_autofree char *path = g_strdup_printf("/net/%s/%s/%s", cases[i].machine,
                                                    accels[a], cases[i].name);

            *c = cases[i];
            c->accel = accels[a];
            g_test_add_data_func_full(path, c, test_net, g_free);
        }
    }
    return g_test_run();
}
