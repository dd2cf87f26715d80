/*
 * A QMP client over a real unix socket: runs hyvm -S with -qmp and walks
 * QEMU 7.2's transcript byte for byte (greeting, negotiation, id echo,
 * errors, events before the return, malformed JSON, quit).
 *
 * The VMs run on the software CPU (-accel tcg), so every host runs these;
 * /qmp/kvm repeats a short transcript under -accel kvm where it opens.
 * The guest is the idle hello guest (it prints and halts), so "cont" has
 * something to run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "../functional/free-port.h"
#include "../functional/unix-connect.h"
#include "../unit/balloon-stats.h"

static const char *hyvm_bin, *guest_dir;
/* The guest and machine of the next vm_start (tests that need others set
 * them and put them back). */
static const char *vm_kernel = "hello.elf", *vm_machine = "microvm";
/* The software CPU runs everywhere; one test also checks -accel kvm. */
static const char *vm_accel = "tcg";

struct vm {
    GPid pid;
    char *dir, *sock_path;
    char *sock2_path;   /* a second -qmp monitor, or NULL */
    int fd;
    GString *in;        /* bytes read and not yet returned as lines */
};

static bool kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

/* Starts hyvm; with second_qmp, a second -qmp monitor listens on
 * vm->sock2_path so two clients can talk to it at once (QEMU's socket
 * chardev accepts one client at a time). */
/* A test that fails mid-way must not leave its VM running (meson would
 * wait for the VM's inherited output until the test times out). */
static void vm_child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static bool vm_start_with(struct vm *vm, const char *extra, bool second_qmp)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *kernel = g_build_filename(guest_dir, vm_kernel, NULL);
    g_autofree char *cmd = NULL;
    g_auto(GStrv) argv = NULL;

    if (!strcmp(vm_accel, "kvm") && !kvm_usable()) {
        g_test_skip("/dev/kvm does not open here");
        return false;
    }
    memset(vm, 0, sizeof(*vm));
    vm->dir = g_dir_make_tmp("hyvm-qmp-XXXXXX", &err);
    g_assert_no_error(err);
    vm->sock_path = g_build_filename(vm->dir, "qmp.sock", NULL);
    if (second_qmp) {
        vm->sock2_path = g_build_filename(vm->dir, "qmp2.sock", NULL);
    }
    cmd = g_strdup_printf("'%s' -accel %s -S -M %s -display none -nodefaults "
                          "-name qmp-test -kernel '%s' -qmp unix:%s,server=on,wait=off "
                          "%s%s%s %s",
                          hyvm_bin, vm_accel, vm_machine, kernel, vm->sock_path,
                          second_qmp ? "-qmp unix:" : "",
                          second_qmp ? vm->sock2_path : "",
                          second_qmp ? ",server=on,wait=off" : "",
                          extra ? extra : "");
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &err));
    g_assert_true(g_spawn_async(NULL, argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
                                vm_child_setup, NULL, &vm->pid, &err));
    vm->fd = -1;
    for (int i = 0; i < 500 && vm->fd < 0; i++) {
        vm->fd = unix_connect(vm->sock_path);
        if (vm->fd < 0) {
            g_usleep(10000);
        }
    }
    g_assert_cmpint(vm->fd, >=, 0);
    vm->in = g_string_new(NULL);
    return true;
}

static bool vm_start(struct vm *vm, const char *extra)
{
    return vm_start_with(vm, extra, false);
}

/* Next line without its "\r\n"; fails the test after 10 s. */
static char *vm_line(struct vm *vm)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    for (;;) {
        char *nl = strstr(vm->in->str, "\r\n");
        char buf[4096];
        ssize_t n;

        if (nl) {
            char *line = g_strndup(vm->in->str, nl - vm->in->str);

            g_string_erase(vm->in, 0, nl - vm->in->str + 2);
            /* QMP_TEST_TRACE=1 shows the transcript while debugging. */
            if (g_getenv("QMP_TEST_TRACE")) {
                g_printerr("<< %s\n", line);
            }
            return line;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        struct timeval tv = { .tv_sec = 10 };
        setsockopt(vm->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        n = read(vm->fd, buf, sizeof(buf));
        g_assert_cmpint(n, >, 0);
        g_string_append_len(vm->in, buf, n);
    }
}

static void vm_send(struct vm *vm, const char *s)
{
    g_assert_cmpint(write(vm->fd, s, strlen(s)), ==, (ssize_t)strlen(s));
}

static void expect(struct vm *vm, const char *send, const char *want)
{
    g_autofree char *line = NULL;

    if (send) {
        vm_send(vm, send);
    }
    line = vm_line(vm);
    g_assert_cmpstr(line, ==, want);
}

/* An event line: the timestamp varies, the rest must match. */
static void expect_event(struct vm *vm, const char *tail)
{
    g_autofree char *line = vm_line(vm);
    g_autofree char *want_tail = g_strdup_printf("}, %s", tail);

    g_assert_true(g_str_has_prefix(line, "{\"timestamp\": {\"seconds\": "));
    g_assert_nonnull(strstr(line, ", \"microseconds\": "));
    if (!g_str_has_suffix(line, want_tail)) {
        g_test_message("event line: %s", line);
        g_assert_not_reached();
    }
}

/* The greeting, negotiation and cont (RESUME before the return): a VM
 * started with -S, now running. */
static void vm_begin(struct vm *vm)
{
    g_autofree char *greeting = vm_line(vm);

    g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    expect(vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    vm_send(vm, "{\"execute\": \"cont\"}");
    expect_event(vm, "\"event\": \"RESUME\"}");
    expect(vm, NULL, "{\"return\": {}}");
}

static int vm_wait(struct vm *vm)
{
    int status = -1;

    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(vm->pid, &status, WNOHANG);

        if (r == vm->pid) {
            return status;
        }
        g_usleep(10000);
    }
    kill(vm->pid, SIGKILL);
    waitpid(vm->pid, &status, 0);
    g_assert_not_reached();
    return status;
}

/* The VM's exit status; it must have exited, not died of a signal. */
static int vm_exit_status(struct vm *vm)
{
    int status = vm_wait(vm);

    g_assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* quit: SHUTDOWN (host-qmp-quit) before the return, then exit status 0. */
static void vm_quit(struct vm *vm)
{
    vm_send(vm, "{\"execute\": \"quit\"}");
    expect_event(vm, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
                     "\"reason\": \"host-qmp-quit\"}}");
    expect(vm, NULL, "{\"return\": {}}");
    g_assert_cmpint(vm_exit_status(vm), ==, 0);
}

static void vm_free(struct vm *vm)
{
    if (vm->fd >= 0) {
        close(vm->fd);
    }
    if (waitpid(vm->pid, NULL, WNOHANG) == 0) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, NULL, 0);
    }
    g_spawn_close_pid(vm->pid);
    unlink(vm->sock_path);
    if (vm->sock2_path) {
        unlink(vm->sock2_path);
        g_free(vm->sock2_path);
    }
    rmdir(vm->dir);
    g_free(vm->sock_path);
    g_free(vm->dir);
    g_string_free(vm->in, TRUE);
}

static void test_transcript(void)
{
    struct vm vm;
    g_autofree char *line = NULL;

    if (!vm_start(&vm, NULL)) {
        return;
    }
    line = vm_line(&vm);
    g_assert_true(g_str_has_prefix(line, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, "
                                         "\"minor\": 2, \"major\": 7}, \"package\": \"hyvm "));
    g_assert_true(g_str_has_suffix(line, "\"}, \"capabilities\": [\"oob\"]}}"));

    expect(&vm, "{\"execute\": \"query-status\", \"id\": \"n\"}",
           "{\"id\": \"n\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
           "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}");
    expect(&vm, "{\"execute\": \"qmp_capabilities\", \"id\": {\"k\": [1, 2.5, true]}}",
           "{\"return\": {}, \"id\": {\"k\": [1, 2.5, true]}}");
    expect(&vm, "{\"execute\": \"bogus\"}",
           "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
           "\"The command bogus has not been found\"}}");
    expect(&vm, "{\"execute\": \"stop\", \"arguments\": {\"now\": 1}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Parameter 'now' is unexpected\"}}");
    expect(&vm, "\"just a string\"",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"QMP input must be a JSON object\"}}");
    /* Malformed JSON: an error, and the connection keeps working. */
    expect(&vm, "{\"execute\" \"x\"}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"JSON parse error, missing : in object pair\"}}");
    expect(&vm, "{\"execute\": \"query-status\", \"id\": 7}",
           "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, "
           "\"running\": false}, \"id\": 7}");
    /* "present": built with KVM support, as QEMU means it. */
    expect(&vm, "{\"execute\": \"query-kvm\"}",
           "{\"return\": {\"enabled\": false, \"present\": true}}");
    expect(&vm, "{\"execute\": \"query-name\"}", "{\"return\": {\"name\": \"qmp-test\"}}");

    /* cont: RESUME before the return. */
    vm_send(&vm, "{\"execute\": \"cont\", \"id\": 1}");
    expect_event(&vm, "\"event\": \"RESUME\"}");
    expect(&vm, NULL, "{\"return\": {}, \"id\": 1}");
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
           "\"running\": true}}");
    vm_send(&vm, "{\"execute\": \"stop\"}");
    expect_event(&vm, "\"event\": \"STOP\"}");
    expect(&vm, NULL, "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"paused\", \"singlestep\": false, "
           "\"running\": false}}");

    /* Two commands in one write, split across writes too. */
    vm_send(&vm, "{\"execute\": \"query-uuid\"}{\"execute\": ");
    vm_send(&vm, "\"query-block\"}");
    expect(&vm, NULL, "{\"return\": {\"UUID\": \"00000000-0000-0000-0000-000000000000\"}}");
    expect(&vm, NULL, "{\"return\": []}");

    vm_quit(&vm);
    vm_free(&vm);
}

/* A client that leaves; the next one negotiates afresh. */
static void test_reconnect(void)
{
    struct vm vm;
    g_autofree char *l1 = NULL, *l2 = NULL;

    if (!vm_start(&vm, NULL)) {
        return;
    }
    l1 = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    vm_send(&vm, "{\"execute\": \"query-st");      /* half a command, then gone */
    close(vm.fd);
    g_string_truncate(vm.in, 0);
    vm.fd = unix_connect(vm.sock_path);
    g_assert_cmpint(vm.fd, >=, 0);
    l2 = vm_line(&vm);
    g_assert_cmpstr(l1, ==, l2);
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
           "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}");
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    vm_quit(&vm);
    vm_free(&vm);
}

/* query-cpus-fast, query-machines, query-chardev and info chardev as QEMU 7.2. */
static void test_queries(void)
{
    struct vm vm;
    g_autofree char *l = NULL, *cpus = NULL, *chr = NULL, *hmp = NULL;
    g_autofree char *want_chr = NULL, *want_hmp = NULL;

    if (!vm_start(&vm, "-smp 2 -chardev null,id=n0")) {
        return;
    }
    l = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    vm_send(&vm, "{\"execute\": \"query-cpus-fast\"}");
    cpus = vm_line(&vm);
    g_assert_true(g_str_has_prefix(cpus, "{\"return\": [{\"thread-id\": "));
    g_assert_nonnull(strstr(cpus, ", \"props\": {\"core-id\": 0, \"thread-id\": 0, "
                                  "\"socket-id\": 0}, \"qom-path\": "
                                  "\"/machine/unattached/device[0]\", \"cpu-index\": 0, "
                                  "\"target\": \"x86_64\"}, {\"thread-id\": "));
    g_assert_true(g_str_has_suffix(cpus, ", \"props\": {\"core-id\": 1, \"thread-id\": 0, "
                                         "\"socket-id\": 0}, \"qom-path\": "
                                         "\"/machine/unattached/device[2]\", "
                                         "\"cpu-index\": 1, \"target\": \"x86_64\"}]}"));
    expect(&vm, "{\"execute\": \"query-hotpluggable-cpus\"}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"The feature 'query-hotpluggable-cpus' is not enabled\"}}");
    expect(&vm, "{\"execute\": \"query-machines\"}",
           "{\"return\": [{\"hotpluggable-cpus\": true, \"name\": \"pc-i440fx-7.2\", "
           "\"numa-mem-supported\": false, \"default-cpu-type\": \"qemu64-x86_64-cpu\", "
           "\"is-default\": true, \"cpu-max\": 255, \"deprecated\": false, "
           "\"default-ram-id\": \"pc.ram\", \"alias\": \"pc\"}, "
           "{\"hotpluggable-cpus\": false, \"name\": \"microvm\", "
           "\"numa-mem-supported\": false, \"default-cpu-type\": \"qemu64-x86_64-cpu\", "
           "\"cpu-max\": 288, \"deprecated\": false, "
           "\"default-ram-id\": \"microvm.ram\"}]}");
    want_chr = g_strdup_printf("{\"return\": [{\"frontend-open\": false, \"filename\": "
                               "\"null\", \"label\": \"n0\"}, {\"frontend-open\": true, "
                               "\"filename\": \"unix:%s,server=on\", "
                               "\"label\": \"compat_monitor0\"}]}", vm.sock_path);
    vm_send(&vm, "{\"execute\": \"query-chardev\"}");
    chr = vm_line(&vm);
    g_assert_cmpstr(chr, ==, want_chr);
    want_hmp = g_strdup_printf("{\"return\": \"n0: filename=null\\r\\n"
                               "compat_monitor0: filename=unix:%s,server=on\\r\\n\"}",
                               vm.sock_path);
    vm_send(&vm, "{\"execute\": \"human-monitor-command\", "
                 "\"arguments\": {\"command-line\": \"info chardev\"}}");
    hmp = vm_line(&vm);
    g_assert_cmpstr(hmp, ==, want_hmp);
    vm_quit(&vm);
    vm_free(&vm);
}

/* ---- several clients, hostile input ---- */

#define STATUS_PRELAUNCH "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, " \
                         "\"running\": false}}"
#define NEED_CAPS "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": " \
                  "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}"

/*
 * A second client of the same VM: shares pid and paths with vm, owns its
 * own fd and buffer.  Retries the connect a while: the monitor may still
 * be setting up, or the previous client's hang-up still being noticed.
 */
static void peer_open(struct vm *peer, const struct vm *vm, const char *path)
{
    *peer = *vm;
    peer->fd = -1;
    for (int i = 0; i < 500 && peer->fd < 0; i++) {
        peer->fd = unix_connect(path);
        if (peer->fd < 0) {
            g_usleep(10000);
        }
    }
    g_assert_cmpint(peer->fd, >=, 0);
    peer->in = g_string_new(NULL);
}

static void peer_close(struct vm *peer)
{
    close(peer->fd);
    peer->fd = -1;
    g_string_free(peer->in, TRUE);
    peer->in = NULL;
}

static void expect_greeting(struct vm *vm)
{
    g_autofree char *line = vm_line(vm);

    g_assert_true(g_str_has_prefix(line, "{\"QMP\": {\"version\": "));
    g_assert_true(g_str_has_suffix(line, "\"capabilities\": [\"oob\"]}}"));
}

/* 200 clients come and go on one monitor while a client of another keeps
 * working; each newcomer starts un-negotiated. */
static void test_many_clients(void)
{
    struct vm vm, peer;

    if (!vm_start_with(&vm, NULL, true)) {
        return;
    }
    expect_greeting(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    for (int i = 0; i < 200; i++) {
        g_autofree char *cmd = g_strdup_printf("{\"execute\": \"query-status\", "
                                               "\"id\": %d}", i);
        g_autofree char *want = g_strdup_printf("{\"return\": {\"status\": "
                                                "\"prelaunch\", \"singlestep\": false, "
                                                "\"running\": false}, \"id\": %d}", i);

        peer_open(&peer, &vm, vm.sock2_path);
        expect_greeting(&peer);
        expect(&vm, cmd, want);             /* the long-lived one, mid-handshake */
        expect(&peer, "{\"execute\": \"query-status\"}", NEED_CAPS);
        expect(&peer, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
        if (i % 2) {
            expect(&peer, "{\"execute\": \"query-status\"}", STATUS_PRELAUNCH);
        }
        peer_close(&peer);
        expect(&vm, "{\"execute\": \"query-name\"}", "{\"return\": {\"name\": \"qmp-test\"}}");
    }
    vm_quit(&vm);
    vm_free(&vm);
}

/* Sends all of buf, however the socket splits it. */
static void send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        g_assert_cmpint(n, >, 0);
        buf += n;
        len -= n;
    }
}

/*
 * Oversized input: QEMU's limits (json-streamer.c: MAX_NESTING 1024,
 * MAX_TOKEN_SIZE 64 MiB) end in a GenericError, not a crash or unbounded
 * buffering, and the monitor takes the next client as usual.
 */
static void test_oversized(void)
{
    struct vm vm, peer;
    const size_t deep = 2000, big = (64u << 20) + 4096;
    g_autofree char *brackets = g_malloc(deep);
    g_autofree char *huge = g_malloc(big);

    if (!vm_start_with(&vm, NULL, true)) {
        return;
    }
    expect_greeting(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");

    /* 2000 '[': one error when the depth passes 1024. */
    peer_open(&peer, &vm, vm.sock2_path);
    expect_greeting(&peer);
    expect(&peer, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    memset(brackets, '[', deep);
    send_all(peer.fd, brackets, deep);
    expect(&peer, NULL, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                        "\"JSON nesting depth limit exceeded\"}}");
    peer_close(&peer);
    expect(&vm, "{\"execute\": \"query-status\"}", STATUS_PRELAUNCH);

    /* One string member longer than 64 MiB. */
    peer_open(&peer, &vm, vm.sock2_path);
    expect_greeting(&peer);
    expect(&peer, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    memset(huge, 'a', big);
    memcpy(huge, "{\"execute\": \"", 13);
    memcpy(huge + big - 2, "\"}", 2);
    send_all(peer.fd, huge, big);
    expect(&peer, NULL, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                        "\"JSON token size limit exceeded\"}}");
    peer_close(&peer);
    expect(&vm, "{\"execute\": \"query-status\"}", STATUS_PRELAUNCH);

    /* The monitor that saw both takes a new client as if nothing happened. */
    peer_open(&peer, &vm, vm.sock2_path);
    expect_greeting(&peer);
    expect(&peer, "{\"execute\": \"query-status\"}", NEED_CAPS);
    expect(&peer, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&peer, "{\"execute\": \"query-status\"}", STATUS_PRELAUNCH);
    peer_close(&peer);
    vm_quit(&vm);
    vm_free(&vm);
}

/* A client hangs up halfway through a command; the other monitor's client
 * never notices and the half command does not leak into the next client. */
static void test_disconnect_mid_command(void)
{
    struct vm vm, peer;

    if (!vm_start_with(&vm, NULL, true)) {
        return;
    }
    expect_greeting(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    for (int i = 0; i < 3; i++) {
        peer_open(&peer, &vm, vm.sock2_path);
        expect_greeting(&peer);
        expect(&peer, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
        vm_send(&peer, i == 0 ? "{\"execute\": \"qu"
                       : i == 1 ? "{\"execute\": \"quit\", \"arguments\": {"
                                : "{\"execute\": \"stop\"");
        peer_close(&peer);
        expect(&vm, "{\"execute\": \"query-status\"}", STATUS_PRELAUNCH);
    }
    /* The next client on that monitor starts clean: no leftover "{". */
    peer_open(&peer, &vm, vm.sock2_path);
    expect_greeting(&peer);
    expect(&peer, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&peer, "{\"execute\": \"query-status\"}", STATUS_PRELAUNCH);
    peer_close(&peer);
    vm_quit(&vm);
    vm_free(&vm);
}

/* ---- introspection and the QOM tree ---- */

static JsonObject *schema_entry(GHashTable *by_name, const char *name)
{
    JsonObject *o = g_hash_table_lookup(by_name, name);

    if (!o) {
        g_test_message("query-qmp-schema names '%s' but has no entry for it", name);
    }
    g_assert_nonnull(o);
    return o;
}

/* Every type name an entry uses must have an entry of its own. */
static void schema_check_refs(GHashTable *by_name, JsonObject *e)
{
    static const char *const ref_keys[] = { "arg-type", "ret-type", "element-type" };

    for (unsigned i = 0; i < G_N_ELEMENTS(ref_keys); i++) {
        if (json_object_has_member(e, ref_keys[i])) {
            schema_entry(by_name, json_object_get_string_member(e, ref_keys[i]));
        }
    }
    if (json_object_has_member(e, "members") &&
        !strcmp(json_object_get_string_member(e, "meta-type"), "object")) {
        JsonArray *ms = json_object_get_array_member(e, "members");

        for (guint i = 0; i < json_array_get_length(ms); i++) {
            JsonObject *m = json_array_get_object_element(ms, i);

            schema_entry(by_name, json_object_get_string_member(m, "type"));
        }
    }
}

/* The member called name of object type entry, or NULL. */
static JsonObject *schema_member(JsonObject *type, const char *name)
{
    JsonArray *ms = json_object_get_array_member(type, "members");

    for (guint i = 0; i < json_array_get_length(ms); i++) {
        JsonObject *m = json_array_get_object_element(ms, i);

        if (!strcmp(json_object_get_string_member(m, "name"), name)) {
            return m;
        }
    }
    return NULL;
}

static JsonNode *parse_return(const char *line)
{
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) err = NULL;
    JsonObject *o;

    g_assert_true(json_parser_load_from_data(p, line, -1, &err));
    o = json_node_get_object(json_parser_get_root(p));
    g_assert_true(json_object_has_member(o, "return"));
    return json_node_copy(json_object_get_member(o, "return"));
}

static void test_schema(void)
{
    struct vm vm;
    g_autofree char *greeting = NULL, *cmds_line = NULL, *schema_line = NULL;
    g_autoptr(JsonNode) cmds = NULL, schema = NULL;
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    JsonArray *list, *entries;
    JsonObject *status, *m, *shutdown, *reason;
    gboolean found = false;

    if (!vm_start(&vm, NULL)) {
        return;
    }
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    vm_send(&vm, "{\"execute\": \"query-commands\"}");
    cmds_line = vm_line(&vm);
    vm_send(&vm, "{\"execute\": \"query-qmp-schema\"}");
    schema_line = vm_line(&vm);
    cmds = parse_return(cmds_line);
    schema = parse_return(schema_line);

    entries = json_node_get_array(schema);
    for (guint i = 0; i < json_array_get_length(entries); i++) {
        JsonObject *e = json_array_get_object_element(entries, i);
        const char *name = json_object_get_string_member(e, "name");

        /* A name is defined once. */
        g_assert_null(g_hash_table_lookup(by_name, name));
        g_hash_table_insert(by_name, (gpointer)name, e);
    }
    for (guint i = 0; i < json_array_get_length(entries); i++) {
        schema_check_refs(by_name, json_array_get_object_element(entries, i));
    }
    /* Every command the dispatcher knows is described, as a command. */
    list = json_node_get_array(cmds);
    g_assert_cmpuint(json_array_get_length(list), >=, 20);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        const char *name = json_object_get_string_member(
            json_array_get_object_element(list, i), "name");
        JsonObject *e = schema_entry(by_name, name);

        g_assert_cmpstr(json_object_get_string_member(e, "meta-type"), ==, "command");
    }
    /* What clients look up: query-status's StatusInfo... */
    status = schema_entry(by_name, json_object_get_string_member(
                                       schema_entry(by_name, "query-status"), "ret-type"));
    m = schema_member(status, "running");
    g_assert_nonnull(m);
    g_assert_cmpstr(json_object_get_string_member(m, "type"), ==, "bool");
    m = schema_member(status, "status");
    g_assert_nonnull(m);
    list = json_object_get_array_member(
        schema_entry(by_name, json_object_get_string_member(m, "type")), "values");
    for (guint i = 0; i < json_array_get_length(list); i++) {
        found |= !strcmp(json_array_get_string_element(list, i), "prelaunch");
    }
    g_assert_true(found);
    /* ...qom-get's two required arguments, and SHUTDOWN's data. */
    m = schema_entry(by_name, json_object_get_string_member(
                                  schema_entry(by_name, "qom-get"), "arg-type"));
    g_assert_nonnull(schema_member(m, "path"));
    g_assert_false(json_object_has_member(schema_member(m, "property"), "default"));
    shutdown = schema_entry(by_name, "SHUTDOWN");
    g_assert_cmpstr(json_object_get_string_member(shutdown, "meta-type"), ==, "event");
    reason = schema_member(schema_entry(by_name, json_object_get_string_member(
                                                     shutdown, "arg-type")), "reason");
    g_assert_nonnull(reason);
    g_assert_cmpstr(json_object_get_string_member(
                        schema_entry(by_name, json_object_get_string_member(reason, "type")),
                        "meta-type"), ==, "enum");
    /* The dispatcher checks against the same description. */
    expect(&vm, "{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"/x\", "
                "\"format\": \"jpg\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Parameter 'format' does not accept value 'jpg'\"}}");
    vm_quit(&vm);
}

static void test_qom(void)
{
    struct vm vm;
    g_autofree char *greeting = NULL;

    if (!vm_start(&vm, "-chardev null,id=c0 -device isa-debug-exit,id=dbg "
                       "-append hello-args")) {
        return;
    }
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/\"}}",
           "{\"return\": [{\"name\": \"type\", \"type\": \"string\"}, "
           "{\"name\": \"objects\", \"type\": \"child<container>\"}, "
           "{\"name\": \"machine\", \"type\": \"child<microvm-machine>\"}, "
           "{\"name\": \"chardevs\", \"type\": \"child<container>\"}]}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine\", "
                "\"property\": \"type\"}}", "{\"return\": \"microvm-machine\"}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"//machine/\", "
                "\"property\": \"append\"}}", "{\"return\": \"hello-args\"}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine\", "
                "\"property\": \"unattached\"}}", "{\"return\": \"/machine/unattached\"}");
    /* Partial paths resolve when they name one object. */
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"device[0]\", "
                "\"property\": \"type\"}}", "{\"return\": \"qemu64-x86_64-cpu\"}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"dbg\", "
                "\"property\": \"iobase\"}}", "{\"return\": 1281}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/chardevs/c0\", "
                "\"property\": \"type\"}}", "{\"return\": \"chardev-null\"}");
    expect(&vm, "{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/nope\"}}",
           "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": "
           "\"Device '/nope' not found\"}}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine\", "
                "\"property\": \"nope\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Property 'microvm-machine.nope' not found\"}}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Parameter 'property' is missing\"}}");
    vm_quit(&vm);
}

/*
 * system_powerdown: POWERDOWN before the return, then the guest (the
 * powerbtn guest on -M pc's ACPI power button) powers off: SHUTDOWN with
 * guest-shutdown and exit status 0.  microvm's button is its GED's; with
 * acpi=off there is none.
 */
static void test_powerdown(void)
{
    struct vm vm;
    g_autofree char *greeting = NULL;

    /* microvm's power button is its ACPI generic event device: the event
     * and the reply come, the hello guest does not listen. */
    if (!vm_start(&vm, NULL)) {
        return;
    }
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    vm_send(&vm, "{\"execute\": \"system_powerdown\"}");
    expect_event(&vm, "\"event\": \"POWERDOWN\"}");
    expect(&vm, NULL, "{\"return\": {}}");
    vm_quit(&vm);
    vm_free(&vm);
    g_clear_pointer(&greeting, g_free);

    /* Without ACPI there is no button to press. */
    vm_machine = "microvm,acpi=off";
    if (!vm_start(&vm, NULL)) {
        vm_machine = "microvm";
        return;
    }
    vm_machine = "microvm";
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"system_powerdown\"}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"The machine 'microvm' has no ACPI power button in hyvm yet\"}}");
    vm_quit(&vm);
    vm_free(&vm);

    vm_kernel = "powerbtn.elf";
    vm_machine = "pc";
    if (!vm_start(&vm, NULL)) {
        vm_kernel = "hello.elf";
        vm_machine = "microvm";
        return;
    }
    vm_kernel = "hello.elf";
    vm_machine = "microvm";
    vm_begin(&vm);
    vm_send(&vm, "{\"execute\": \"system_powerdown\", \"id\": 7}");
    expect_event(&vm, "\"event\": \"POWERDOWN\"}");
    expect(&vm, NULL, "{\"return\": {}, \"id\": 7}");
    expect_event(&vm, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, "
                      "\"reason\": \"guest-shutdown\"}}");
    g_assert_cmpint(vm_exit_status(&vm), ==, 0);
    vm_free(&vm);
}

/*
 * inject-nmi reaches the guest: timer-irq.elf in mode=nmi installs its
 * NMI gate, says so through pvpanic (GUEST_CRASHLOADED) and sleeps with
 * interrupts disabled; the NMI handler ends it with exit code 0x2a.
 */
static void test_nmi(void)
{
    struct vm vm;

    vm_kernel = "timer-irq.elf";
    vm_machine = "pc";
    if (!vm_start(&vm, "-device pvpanic -device isa-debug-exit,iobase=0xf4,iosize=0x04 "
                        "-append mode=nmi")) {
        vm_kernel = "hello.elf";
        vm_machine = "microvm";
        return;
    }
    vm_kernel = "hello.elf";
    vm_machine = "microvm";
    vm_begin(&vm);
    expect_event(&vm, "\"event\": \"GUEST_CRASHLOADED\", \"data\": {\"action\": \"run\"}}");
    expect(&vm, "{\"execute\": \"inject-nmi\"}", "{\"return\": {}}");
    g_assert_cmpint(vm_exit_status(&vm), ==, (0x2a << 1) | 1);
    vm_free(&vm);
}

/* Under -accel kvm, query-kvm says so and the VM runs and quits the same. */
static void test_kvm(void)
{
    struct vm vm;
    g_autofree char *greeting = NULL;

    vm_accel = "kvm";
    if (!vm_start(&vm, NULL)) {
        vm_accel = "tcg";
        return;
    }
    vm_accel = "tcg";
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"query-kvm\"}",
           "{\"return\": {\"enabled\": true, \"present\": true}}");
    vm_send(&vm, "{\"execute\": \"cont\"}");
    expect_event(&vm, "\"event\": \"RESUME\"}");
    expect(&vm, NULL, "{\"return\": {}}");
    vm_quit(&vm);
    vm_free(&vm);
}

/*
 * The events a guest causes, in QEMU 7.2's order and words: a pvpanic
 * panic (poweroff, or a pause with -no-shutdown), a poweroff under
 * -no-shutdown, a triple fault with -no-reboot, and SIGTERM.
 */
static void test_guest_events(void)
{
    struct vm vm;
    g_autofree char *greeting = NULL;

    vm_machine = "pc";
    vm_kernel = "panic.elf";
    if (!vm_start(&vm, "-device pvpanic")) {
        goto out;
    }
    vm_begin(&vm);
    expect_event(&vm, "\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"poweroff\"}}");
    expect_event(&vm, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, "
                      "\"reason\": \"guest-panic\"}}");
    g_assert_cmpint(vm_exit_status(&vm), ==, 0);
    vm_free(&vm);

    g_assert_true(vm_start(&vm, "-device pvpanic -no-shutdown"));
    vm_begin(&vm);
    expect_event(&vm, "\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\"}}");
    expect_event(&vm, "\"event\": \"STOP\"}");
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"guest-panicked\", \"singlestep\": false, "
           "\"running\": false}}");
    expect(&vm, "{\"execute\": \"cont\"}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Resetting the Virtual Machine is required\"}}");
    vm_quit(&vm);
    vm_free(&vm);

    /* The power button under -no-shutdown: SHUTDOWN, then paused. */
    vm_kernel = "powerbtn.elf";
    g_assert_true(vm_start(&vm, "-no-shutdown"));
    vm_begin(&vm);
    vm_send(&vm, "{\"execute\": \"system_powerdown\"}");
    expect_event(&vm, "\"event\": \"POWERDOWN\"}");
    expect(&vm, NULL, "{\"return\": {}}");
    expect_event(&vm, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, "
                      "\"reason\": \"guest-shutdown\"}}");
    expect_event(&vm, "\"event\": \"STOP\"}");
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"shutdown\", \"singlestep\": false, "
           "\"running\": false}}");
    vm_quit(&vm);
    vm_free(&vm);

    /* A triple fault with -no-reboot ends the VM as a guest reset. */
    vm_kernel = "triple-fault.elf";
    g_assert_true(vm_start(&vm, "-no-reboot"));
    vm_begin(&vm);
    expect_event(&vm, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, "
                      "\"reason\": \"guest-reset\"}}");
    g_assert_cmpint(vm_exit_status(&vm), ==, 0);
    vm_free(&vm);

    /* SIGTERM: host-signal, exit status 0. */
    vm_kernel = "hello.elf";
    g_assert_true(vm_start(&vm, NULL));
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    kill(vm.pid, SIGTERM);
    expect_event(&vm, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
                      "\"reason\": \"host-signal\"}}");
    g_assert_cmpint(vm_exit_status(&vm), ==, 0);
    vm_free(&vm);
out:
    vm_machine = "microvm";
    vm_kernel = "hello.elf";
}

/*
 * The devices of issue 12 as a QMP client sees them (QEMU 7.2's events and
 * words): a panic reported through pvpanic-pci under panic=exit-failure
 * (GUEST_PANICKED "poweroff", SHUTDOWN guest-panic, exit status 1), and
 * the i6300esb left to expire under watchdog=pause (WATCHDOG "pause",
 * STOP, the "watchdog" run state).
 */
static void test_panic_watchdog(void)
{
    struct vm vm;

    vm_machine = "pc";
    vm_kernel = "panic.elf";
    if (!vm_start(&vm, "-device pvpanic-pci -action panic=exit-failure -append mode=pci")) {
        goto out;
    }
    vm_begin(&vm);
    expect_event(&vm, "\"event\": \"GUEST_CRASHLOADED\", \"data\": {\"action\": \"run\"}}");
    expect_event(&vm, "\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"poweroff\"}}");
    expect_event(&vm, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, "
                      "\"reason\": \"guest-panic\"}}");
    g_assert_cmpint(vm_exit_status(&vm), ==, 1);
    vm_free(&vm);

    vm_kernel = "watchdog.elf";
    g_assert_true(vm_start(&vm, "-device i6300esb -action watchdog=pause"));
    vm_begin(&vm);
    expect_event(&vm, "\"event\": \"WATCHDOG\", \"data\": {\"action\": \"pause\"}}");
    expect_event(&vm, "\"event\": \"STOP\"}");
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"watchdog\", \"singlestep\": false, "
           "\"running\": false}}");
    vm_quit(&vm);
    vm_free(&vm);
out:
    vm_machine = "microvm";
    vm_kernel = "hello.elf";
}

/* set-action changes what a guest panic does at run time (before cont, here):
 * exit-failure, then pause; a bad action is refused with QEMU's wording. */
static void test_set_action(void)
{
    struct vm vm;
    g_autofree char *greeting = NULL, *greeting2 = NULL;

    vm_machine = "pc";
    vm_kernel = "panic.elf";
    if (!vm_start(&vm, "-device pvpanic-pci -append mode=pci")) {
        goto out;
    }
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"set-action\", \"arguments\": {\"panic\": \"bogus\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'panic' does "
           "not accept value 'bogus'\"}}");
    expect(&vm, "{\"execute\": \"set-action\", \"arguments\": {\"panic\": \"pause\", "
                "\"shutdown\": \"poweroff\"}}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"watchdog-set-action\", \"arguments\": {\"action\": "
                "\"debug\"}}", "{\"return\": {}}");
    vm_send(&vm, "{\"execute\": \"cont\"}");
    expect_event(&vm, "\"event\": \"RESUME\"}");
    expect(&vm, NULL, "{\"return\": {}}");
    expect_event(&vm, "\"event\": \"GUEST_CRASHLOADED\", \"data\": {\"action\": \"run\"}}");
    expect_event(&vm, "\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\"}}");
    expect_event(&vm, "\"event\": \"STOP\"}");
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"guest-panicked\", \"singlestep\": false, "
           "\"running\": false}}");
    /* A reset leaves guest-panicked for prelaunch, as QEMU's, where cont may run it. */
    vm_send(&vm, "{\"execute\": \"system_reset\"}");
    expect_event(&vm, "\"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": "
                      "\"host-qmp-system-reset\"}}");
    expect(&vm, NULL, "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, "
           "\"running\": false}}");
    vm_quit(&vm);
    vm_free(&vm);

    /* exit-failure set over QMP: the panic ends the VM with status 1. */
    g_assert_true(vm_start(&vm, "-device pvpanic-pci -append mode=pci"));
    greeting2 = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"set-action\", \"arguments\": {\"panic\": "
                "\"exit-failure\"}}", "{\"return\": {}}");
    vm_send(&vm, "{\"execute\": \"cont\"}");
    expect_event(&vm, "\"event\": \"RESUME\"}");
    expect(&vm, NULL, "{\"return\": {}}");
    expect_event(&vm, "\"event\": \"GUEST_CRASHLOADED\", \"data\": {\"action\": \"run\"}}");
    expect_event(&vm, "\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"poweroff\"}}");
    g_assert_cmpint(vm_exit_status(&vm), ==, 1);
    vm_free(&vm);
out:
    vm_machine = "microvm";
    vm_kernel = "hello.elf";
}

/* The reply to cmd, which must be a "return". */
static JsonNode *vm_return(struct vm *vm, const char *cmd)
{
    g_autofree char *line = NULL;

    vm_send(vm, cmd);
    line = vm_line(vm);
    return parse_return(line);
}

/* query-block's entry for device, or NULL. */
static JsonObject *block_info(JsonNode *ret, const char *device)
{
    JsonArray *a = json_node_get_array(ret);

    for (unsigned i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);

        if (!strcmp(json_object_get_string_member(o, "device"), device)) {
            return o;
        }
    }
    return NULL;
}

static int64_t file_size(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_size;
}

/* -drive if=none backends as QMP sees them: query-block/-blockstats,
 * block_resize, eject and blockdev-change-medium, QEMU 7.2's errors. */
static void test_block_commands(void)
{
    g_autofree char *dir = g_dir_make_tmp("hyvm-qmp-blk-XXXXXX", NULL);
    g_autofree char *img = g_build_filename(dir, "d0.raw", NULL);
    g_autofree char *args = NULL, *cmd = NULL, *greeting = NULL;
    g_autoptr(JsonNode) ret = NULL, ret2 = NULL, ret3 = NULL, stats = NULL;
    JsonObject *d0, *ins, *image;
    struct vm vm;
    char zero[4096] = { 0 };

    g_assert_true(g_file_set_contents(img, zero, sizeof(zero), NULL));
    g_assert_cmpint(truncate(img, 1 << 20), ==, 0);
    args = g_strdup_printf("-drive file=%s,if=none,format=raw,id=d0 -drive if=none,id=empty",
                           img);
    if (!vm_start(&vm, args)) {
        return;
    }
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");

    ret = vm_return(&vm, "{\"execute\": \"query-block\"}");
    d0 = block_info(ret, "d0");
    g_assert_nonnull(d0);
    ins = json_object_get_object_member(d0, "inserted");
    g_assert_nonnull(ins);
    g_assert_cmpstr(json_object_get_string_member(ins, "drv"), ==, "raw");
    g_assert_cmpstr(json_object_get_string_member(ins, "file"), ==, img);
    g_assert_false(json_object_get_boolean_member(ins, "ro"));
    g_assert_true(json_object_get_boolean_member(
        json_object_get_object_member(ins, "cache"), "writeback"));
    image = json_object_get_object_member(ins, "image");
    g_assert_cmpint(json_object_get_int_member(image, "virtual-size"), ==, 1 << 20);
    g_assert_cmpstr(json_object_get_string_member(image, "format"), ==, "raw");
    /* An empty drive is listed without "inserted". */
    g_assert_nonnull(block_info(ret, "empty"));
    g_assert_false(json_object_has_member(block_info(ret, "empty"), "inserted"));

    {
        g_autofree char *want = g_strdup_printf(
            "{\"return\": \"d0 (%s): %s (raw)\\r\\n    Removable device: not locked, tray "
            "closed\\r\\n    Cache mode:       writeback\\r\\n\\r\\nempty: [not inserted]"
            "\\r\\n    Removable device: not locked, tray closed\\r\\n\"}",
            json_object_get_string_member(ins, "node-name"), img);

        expect(&vm, "{\"execute\": \"human-monitor-command\", \"arguments\": "
                    "{\"command-line\": \"info block\"}}", want);
    }
    stats = vm_return(&vm, "{\"execute\": \"query-blockstats\"}");
    g_assert_cmpuint(json_array_get_length(json_node_get_array(stats)), ==, 2);
    g_assert_true(json_object_has_member(
        json_object_get_object_member(json_array_get_object_element(
            json_node_get_array(stats), 0), "stats"), "rd_operations"));

    expect(&vm, "{\"execute\": \"block_resize\", \"arguments\": {\"device\": \"d0\", "
                "\"size\": 2097152}}", "{\"return\": {}}");
    g_assert_cmpint(file_size(img), ==, 2 << 20);
    expect(&vm, "{\"execute\": \"block_resize\", \"arguments\": {\"device\": \"nope\", "
                "\"size\": 1}}", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                "\"Cannot find device='nope' nor node-name=''\"}}");
    expect(&vm, "{\"execute\": \"eject\", \"arguments\": {\"device\": \"nope\"}}",
           "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": "
           "\"Device 'nope' not found\"}}");

    expect(&vm, "{\"execute\": \"eject\", \"arguments\": {\"device\": \"d0\"}}",
           "{\"return\": {}}");
    ret2 = vm_return(&vm, "{\"execute\": \"query-block\"}");
    g_assert_false(json_object_has_member(block_info(ret2, "d0"), "inserted"));
    expect(&vm, "{\"execute\": \"block_resize\", \"arguments\": {\"device\": \"d0\", "
                "\"size\": 1}}", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                "\"Device 'd0' has no medium\"}}");

    cmd = g_strdup_printf("{\"execute\": \"blockdev-change-medium\", \"arguments\": "
                          "{\"device\": \"d0\", \"filename\": \"%s\", \"format\": \"raw\", "
                          "\"read-only-mode\": \"read-only\"}}", img);
    expect(&vm, cmd, "{\"return\": {}}");
    ret3 = vm_return(&vm, "{\"execute\": \"query-block\"}");
    ins = json_object_get_object_member(block_info(ret3, "d0"), "inserted");
    g_assert_nonnull(ins);
    g_assert_true(json_object_get_boolean_member(ins, "ro"));
    g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(ins, "image"),
                                               "virtual-size"), ==, 2 << 20);
    expect(&vm, "{\"execute\": \"block_resize\", \"arguments\": {\"device\": \"d0\", "
                "\"size\": 1048576}}", "{\"error\": {\"class\": \"GenericError\", "
                "\"desc\": \"Image is read-only\"}}");
    /* An external snapshot: d0 now goes to a qcow2 overlay over the raw
     * image, read-only as the medium it covers. */
    {
        g_autofree char *ov = g_build_filename(dir, "ov.qcow2", NULL);
        g_autofree char *snap = g_strdup_printf(
            "{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": {\"device\": \"d0\", "
            "\"snapshot-file\": \"%s\", \"snapshot-node-name\": \"ov\"}}", ov);
        g_autoptr(JsonNode) r = NULL;
        JsonObject *i;

        expect(&vm, snap, "{\"return\": {}}");
        r = vm_return(&vm, "{\"execute\": \"query-block\"}");
        i = json_object_get_object_member(block_info(r, "d0"), "inserted");
        g_assert_cmpstr(json_object_get_string_member(i, "drv"), ==, "qcow2");
        g_assert_cmpstr(json_object_get_string_member(i, "node-name"), ==, "ov");
        g_assert_cmpstr(json_object_get_string_member(i, "backing_file"), ==, img);
        g_assert_cmpint(json_object_get_int_member(i, "backing_file_depth"), ==, 1);
        g_assert_true(g_file_test(ov, G_FILE_TEST_EXISTS));
        expect(&vm, snap, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                          "\"Duplicate nodes with node-name='ov'\"}}");
        unlink(ov);
    }
    vm_quit(&vm);
    vm_free(&vm);
    unlink(img);
    rmdir(dir);
}

/* The remaining commands of the table, as QEMU 7.2 answers them. */
static void test_more_commands(void)
{
    struct vm vm;
    g_autofree char *greeting = NULL, *version = NULL, *want_version = NULL;
    const char *v;

    if (!vm_start(&vm, "-device isa-debug-exit,id=dbg")) {
        return;
    }
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    /* query-version returns the greeting's version object. */
    v = strstr(greeting, "{\"qemu\": ");
    g_assert_nonnull(v);
    want_version = g_strdup_printf("{\"return\": %.*s}",
                                   (int)(strstr(v, ", \"capabilities\"") - v), v);
    vm_send(&vm, "{\"execute\": \"query-version\"}");
    version = vm_line(&vm);
    g_assert_cmpstr(version, ==, want_version);
    expect(&vm, "{\"execute\": \"query-block\"}", "{\"return\": []}");
    expect(&vm, "{\"execute\": \"query-blockstats\"}", "{\"return\": []}");
    expect(&vm, "{\"execute\": \"query-uuid\"}",
           "{\"return\": {\"UUID\": \"00000000-0000-0000-0000-000000000000\"}}");
    /* system_reset: RESET before the return. */
    vm_send(&vm, "{\"execute\": \"system_reset\", \"id\": \"r\"}");
    expect_event(&vm, "\"event\": \"RESET\", \"data\": {\"guest\": false, "
                      "\"reason\": \"host-qmp-system-reset\"}}");
    expect(&vm, NULL, "{\"return\": {}, \"id\": \"r\"}");
    expect(&vm, "{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"/x.ppm\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"There is no console to take a screendump from\"}}");
    expect(&vm, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"nosuch\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"'nosuch' is not a valid device model name\"}}");
    expect(&vm, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"isa-debug-exit\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Bus 'isa.0' does not support hotplugging\"}}");
    expect(&vm, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"dbg\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Bus 'isa.0' does not support hotplugging\"}}");
    expect(&vm, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"nope\"}}",
           "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nope' not found\"}}");
    vm_quit(&vm);
    vm_free(&vm);
}

/* balloon and query-balloon as QEMU 7.2 answers them, with no balloon and
 * with one whose driver has not started (the -S guest has none). */
static void test_balloon(void)
{
    static const char not_active[] = "{\"error\": {\"class\": \"DeviceNotActive\", "
                                     "\"desc\": \"No balloon device has been activated\"}}";
    struct vm vm;
    g_autofree char *greeting = NULL, *greeting2 = NULL;

    if (!vm_start(&vm, NULL)) {
        return;
    }
    greeting = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"query-balloon\"}", not_active);
    expect(&vm, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 1}}", not_active);
    vm_quit(&vm);
    vm_free(&vm);

    if (!vm_start(&vm, "-m 256 -device virtio-balloon-device,id=bal")) {
        return;
    }
    greeting2 = vm_line(&vm);
    expect(&vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"query-balloon\"}", "{\"return\": {\"actual\": 268435456}}");
    expect(&vm, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 0}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Parameter 'target' expects a size\"}}");
    expect(&vm, "{\"execute\": \"balloon\", \"arguments\": {\"value\": \"1\"}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Invalid parameter type for 'value', expected: integer\"}}");
    /* Accepted; actual moves only when a driver gives the pages. */
    expect(&vm, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 134217728}}",
           "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"query-balloon\"}", "{\"return\": {\"actual\": 268435456}}");
    expect(&vm, "{\"execute\": \"human-monitor-command\", "
                "\"arguments\": {\"command-line\": \"info balloon\"}}",
           "{\"return\": \"balloon: actual=256\\r\\n\"}");
    expect(&vm, "{\"execute\": \"human-monitor-command\", "
                "\"arguments\": {\"command-line\": \"balloon 0\"}}",
           "{\"return\": \"Error: Parameter 'target' expects a size\\r\\n\"}");
    /* The QOM properties QEMU adds to a balloon, before its driver reported. */
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"bal\", "
                "\"property\": \"guest-stats\"}}",
           "{\"return\": " BALLOON_GUEST_STATS_UNREPORTED "}");
    expect(&vm, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"bal\", "
                "\"property\": \"guest-stats-polling-interval\", \"value\": 2}}",
           "{\"return\": {}}");
    expect(&vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"bal\", "
                "\"property\": \"guest-stats-polling-interval\"}}", "{\"return\": 2}");
    expect(&vm, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"bal\", "
                "\"property\": \"guest-stats-polling-interval\", \"value\": -1}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"timer value must be greater than zero\"}}");
    expect(&vm, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"bal\", "
                "\"property\": \"guest-stats\", \"value\": 2}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": "
           "\"Property 'virtio-balloon-device.guest-stats' is not writable\"}}");
    vm_quit(&vm);
    vm_free(&vm);
}

/* ---- networking (QEMU 7.2's replies with the same -netdev and -device) ---- */

/* human-monitor-command running line (no quotes or backslashes in it). */
static char *hmp_command(const char *line)
{
    return g_strdup_printf("{\"execute\": \"human-monitor-command\", "
                           "\"arguments\": {\"command-line\": \"%s\"}}", line);
}

/* A command line for human-monitor-command and the reply text, "\n"
 * written as QEMU's "\r\n". */
static void expect_hmp(struct vm *vm, const char *line, const char *reply)
{
    g_autofree char *send = hmp_command(line);
    g_autoptr(GString) want = g_string_new("{\"return\": \"");

    for (const char *p = reply; *p; p++) {
        if (*p == '\n') {
            g_string_append(want, "\\r\\n");
        } else if (*p == '"' || *p == '\\') {
            g_string_append_printf(want, "\\%c", *p);
        } else {
            g_string_append_c(want, *p);
        }
    }
    g_string_append(want, "\"}");
    expect(vm, send, want->str);
}

/* HMP command lines and their replies, in order. */
struct hmp_case {
    const char *line, *reply;
};

static void expect_hmp_cases(struct vm *vm, const struct hmp_case *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        expect_hmp(vm, c[i].line, c[i].reply);
    }
}

/* QMP commands and their replies, in order: "arguments" holds args; an
 * error of class and desc, or {"return": {}} when class is NULL. */
struct qmp_case {
    const char *execute, *args, *class, *desc;
};

static void expect_qmp_cases(struct vm *vm, const struct qmp_case *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_autofree char *send = g_strdup_printf("{\"execute\": \"%s\", \"arguments\": {%s}}",
                                                c[i].execute, c[i].args);
        g_autofree char *want = c[i].class
            ? g_strdup_printf("{\"error\": {\"class\": \"%s\", \"desc\": \"%s\"}}",
                              c[i].class, c[i].desc)
            : g_strdup("{\"return\": {}}");

        expect(vm, send, want);
    }
}

/* The reply of human-monitor-command, unescaped. */
static char *hmp_reply(struct vm *vm, const char *line)
{
    g_autofree char *send = hmp_command(line);
    g_autofree char *reply = NULL;
    g_autoptr(JsonNode) ret = NULL;

    vm_send(vm, send);
    reply = vm_line(vm);
    ret = parse_return(reply);
    return g_strdup(json_node_get_string(ret));
}

/* Whether something accepts TCP connections on 127.0.0.1:port. */
static bool tcp_port_open(unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool open;

    g_assert_cmpint(fd, >=, 0);
    open = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return open;
}

#define NET_VM "-netdev user,id=n0 -device virtio-net-pci,netdev=n0"
#define NET_NIC_LINE "virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci," \
                     "macaddr=52:54:00:12:34:56\n"
#define NET_USER_N0 " \\ n0: index=0,type=user,net=10.0.2.0,restrict=off\n"
#define NET_USERNET_HEAD "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port " \
                         "RecvQ SendQ\n"

/* A pc VM with NET_VM stopped at -S, QMP negotiated; false (the test
 * skipped) when it cannot run here. */
static bool net_vm_start(struct vm *vm)
{
    g_autofree char *greeting = NULL;
    bool started;

    vm_machine = "pc";
    started = vm_start(vm, NET_VM);
    vm_machine = "microvm";
    if (!started) {
        return false;
    }
    greeting = vm_line(vm);
    g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    expect(vm, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    return true;
}

/* netdev_add, netdev_del and set_link over QMP, their errors as QEMU's. */
static void test_network(void)
{
    static const struct qmp_case set_link[] = {
        /* set_link names a NIC or a netdev. */
        { "set_link", "\"name\": \"virtio-net-pci.0\", \"up\": false" },
        { "set_link", "\"name\": \"n0\", \"up\": false" },
        { "set_link", "\"name\": \"n0\", \"up\": true" },
        { "set_link", "\"name\": \"nope\", \"up\": true", "DeviceNotFound",
          "Device 'nope' not found" },
        { "set_link", "\"name\": \"n0\", \"up\": \"on\"", "GenericError",
          "Invalid parameter type for 'up', expected: boolean" },
        /* netdev_add: a user back end shows, alone, after the NIC's. */
        { "netdev_add", "\"type\": \"user\", \"id\": \"n1\", \"restrict\": true, "
          "\"net\": \"10.1.0.0/24\", \"dnssearch\": [{\"str\": \"example.com\"}]" },
    };
    static const struct qmp_case add_bad[] = {
        { "netdev_add", "\"type\": \"user\", \"id\": \"n0\"", "GenericError",
          "Duplicate ID 'n0'" },
        { "netdev_add", "\"type\": \"user\", \"id\": \"n2\", \"foo\": 1", "GenericError",
          "Parameter 'foo' is unexpected" },
        { "netdev_add", "\"type\": \"user\", \"id\": \"n2\", \"hostfwd\": [{}]", "GenericError",
          "Parameter 'hostfwd[0].str' is missing" },
        { "netdev_add", "\"type\": \"bogus\", \"id\": \"n2\"", "GenericError",
          "Parameter 'type' does not accept value 'bogus'" },
        { "netdev_add", "\"type\": \"nic\", \"id\": \"n2\"", "GenericError",
          "network backend 'nic' is not compiled into this binary" },
        { "netdev_add", "\"type\": \"user\", \"id\": \"1x\"", "GenericError",
          "Parameter 'id' expects an identifier" },
        /* netdev_del: gone from info network (below). */
        { "netdev_del", "\"id\": \"n1\"" },
    };
    /* An unknown id is DeviceNotFound. */
    static const struct qmp_case del_bad[] = {
        { "netdev_del", "\"id\": \"n1\"", "DeviceNotFound", "Device 'n1' not found" },
        { "netdev_del", "\"id\": \"nope\"", "DeviceNotFound", "Device 'nope' not found" },
    };
    struct vm vm;

    if (!net_vm_start(&vm)) {
        return;
    }
    expect_hmp(&vm, "info network", NET_NIC_LINE NET_USER_N0);
    expect_qmp_cases(&vm, set_link, G_N_ELEMENTS(set_link));
    expect_hmp(&vm, "info network", NET_NIC_LINE NET_USER_N0
               "n1: index=0,type=user,net=10.1.0.0,restrict=on\n");
    expect_qmp_cases(&vm, add_bad, G_N_ELEMENTS(add_bad));
    expect_hmp(&vm, "info network", NET_NIC_LINE NET_USER_N0);
    expect_qmp_cases(&vm, del_bad, G_N_ELEMENTS(del_bad));
    vm_quit(&vm);
    vm_free(&vm);
}

/* hostfwd_add / hostfwd_remove, info usernet and the other HMP commands
 * through human-monitor-command. */
static void test_network_hmp(void)
{
    static const struct hmp_case usernet[] = {
        { "info usernet", "Hub -1 (n0):\n" NET_USERNET_HEAD },
        { "info usernet x", "usernet: extraneous characters at the end of line\n"
                            "Try \"help info usernet\" for more information\n" },
    };
    static const struct hmp_case cases[] = {
        { "hostfwd_add nope tcp::1-:2", "unrecognized netdev id 'nope'\n" },
        { "hostfwd_add bad", "Invalid host forwarding rule 'bad' (No : separators)\n" },
        { "hostfwd_remove bad", "invalid format\n" },
        { "hostfwd_add", "hostfwd_add: string expected\n"
                         "Try \"help hostfwd_add\" for more information\n" },
        /* netdev_add, netdev_del and set_link as QEMU's monitor reads them. */
        { "netdev_add user,id=m1,restrict=on", "" },
        { "info network", NET_NIC_LINE NET_USER_N0
                          "m1: index=0,type=user,net=10.0.2.0,restrict=on\n" },
        /* A taken id fails while the line is parsed: its message goes to stderr. */
        { "netdev_add user,id=m1", "Try \"help netdev_add\" for more information\n" },
        { "netdev_add user", "Error: Parameter 'id' is missing\n" },
        { "netdev_add bogus,id=m2", "Error: Parameter 'type' does not accept value 'bogus'\n" },
        { "netdev_add user,id=m2 x", "netdev_add: extraneous characters at the end of line\n"
                                     "Try \"help netdev_add\" for more information\n" },
        { "netdev_del m1", "" },
        { "netdev_del m1", "Error: Device 'm1' not found\n" },
        { "set_link n0 off", "" },
        { "set_link virtio-net-pci.0 on", "" },
        { "set_link n0 yes", "Expected 'on' or 'off'\n"
                             "Try \"help set_link\" for more information\n" },
        { "set_link nope on", "Error: Device 'nope' not found\n" },
        { "help set_link", "set_link name on|off -- change the link status of a "
                           "network adapter\n" },
        { "help hostfwd_remove", "hostfwd_remove [netdev_id] [tcp|udp]:[hostaddr]:hostport "
                                 "-- remove host-to-guest TCP or UDP redirection\n" },
    };
    struct vm vm;
    g_autofree char *usernet_now = NULL, *add = NULL, *rm = NULL;
    g_autofree char *removed = NULL, *not_found = NULL, *fwd_line = NULL;
    unsigned port = free_tcp_port();
    const char *head;

    if (!net_vm_start(&vm)) {
        return;
    }
    expect_hmp_cases(&vm, usernet, G_N_ELEMENTS(usernet));

    /* A forwarding rule listens on the host until it is removed. */
    g_assert_false(tcp_port_open(port));
    add = g_strdup_printf("hostfwd_add n0 tcp:127.0.0.1:%u-:22", port);
    expect_hmp(&vm, add, "");
    usernet_now = hmp_reply(&vm, "info usernet");
    head = "Hub -1 (n0):\r\n  Protocol[State]    FD  Source Address  Port   "
           "Dest. Address  Port RecvQ SendQ\r\n  TCP[HOST_FORWARD]";
    g_assert_true(g_str_has_prefix(usernet_now, head));
    /* The descriptor ("%4d") is the host's; the rest is QEMU's layout. */
    for (unsigned i = 0; i < 4; i++) {
        g_assert_true(g_ascii_isdigit(usernet_now[strlen(head) + i]) ||
                      usernet_now[strlen(head) + i] == ' ');
    }
    fwd_line = g_strdup_printf("       127.0.0.1 %5u       10.0.2.15    22     0     0\r\n", port);
    g_assert_cmpstr(usernet_now + strlen(head) + 4, ==, fwd_line);
    /* (A connection shows in info usernet too: look at it after.) */
    g_assert_true(tcp_port_open(port));
    rm = g_strdup_printf("hostfwd_remove n0 tcp:127.0.0.1:%u", port);
    removed = g_strdup_printf("host forwarding rule for tcp:127.0.0.1:%u removed\n", port);
    expect_hmp(&vm, rm, removed);
    g_assert_false(tcp_port_open(port));
    not_found = g_strdup_printf("host forwarding rule for tcp:127.0.0.1:%u not found\n", port);
    expect_hmp(&vm, rm, not_found);
    expect_hmp_cases(&vm, cases, G_N_ELEMENTS(cases));
    vm_quit(&vm);
    vm_free(&vm);
}

/* object-add / object-del of a filter-dump: the capture file starts with
 * a pcap header as soon as the filter exists. */
static void test_network_filter(void)
{
    static const struct qmp_case qmp_cases[] = {
        { "object-add", "\"qom-type\": \"filter-dump\", \"id\": \"f1\", \"netdev\": \"nope\", "
          "\"file\": \"x\"", "GenericError", "Parameter 'netdev' expects a network backend id" },
        { "object-add", "\"qom-type\": \"filter-dump\", \"id\": \"f1\", \"netdev\": \"n0\"",
          "GenericError", "Parameter 'file' is missing" },
        { "object-add", "\"qom-type\": \"filter-dump\", \"id\": \"f1\", \"netdev\": \"n0\", "
          "\"file\": \"x\", \"maxlen\": \"5\"", "GenericError",
          "Parameter 'maxlen' expects uint64" },
        { "object-add", "\"qom-type\": \"bogus\", \"id\": \"x\"", "GenericError",
          "Parameter 'qom-type' does not accept value 'bogus'" },
        { "object-del", "\"id\": \"f0\"" },
        { "object-del", "\"id\": \"f0\"", "GenericError", "object 'f0' not found" },
    };
    static const struct hmp_case hmp_cases[] = {
        { "object_add filter-dump", "Error: Parameter 'id' is missing\n" },
        { "object_add filter-dump,id=g1", "Error: Parameter 'netdev' is missing\n" },
        { "object_del g0", "" },
        { "object_del g0", "Error: object 'g0' not found\n" },
        { "object_del", "object_del: string expected\n"
                        "Try \"help object_del\" for more information\n" },
    };
    struct vm vm;
    g_autofree char *pcap = NULL, *add = NULL, *hmp_add = NULL;
    g_autofree char *pcap2 = NULL, *data = NULL;
    gsize len = 0;

    if (!net_vm_start(&vm)) {
        return;
    }
    pcap = g_build_filename(vm.dir, "f0.pcap", NULL);
    add = g_strdup_printf("{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
                          "\"filter-dump\", \"id\": \"f0\", \"netdev\": \"n0\", "
                          "\"file\": \"%s\"}}", pcap);
    expect(&vm, add, "{\"return\": {}}");
    g_assert_true(g_file_get_contents(pcap, &data, &len, NULL));
    g_assert_cmpuint(len, ==, 24);
    g_assert_cmphex(((const uint8_t *)data)[0], ==, 0xd4);   /* 0xa1b2c3d4, little endian */
    expect(&vm, add, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"attempt to add "
                     "duplicate property 'f0' to object (type 'container')\"}}");
    expect_qmp_cases(&vm, qmp_cases, G_N_ELEMENTS(qmp_cases));

    /* The same through HMP. */
    pcap2 = g_build_filename(vm.dir, "g0.pcap", NULL);
    hmp_add = g_strdup_printf("object_add filter-dump,id=g0,netdev=n0,file=%s,queue=tx", pcap2);
    expect_hmp(&vm, hmp_add, "");
    g_assert_true(g_file_test(pcap2, G_FILE_TEST_EXISTS));
    expect_hmp_cases(&vm, hmp_cases, G_N_ELEMENTS(hmp_cases));
    vm_quit(&vm);
    unlink(pcap);
    unlink(pcap2);
    vm_free(&vm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    hyvm_bin = g_getenv("HYVM_BINARY");
    guest_dir = g_getenv("HYVM_GUEST_DIR");
    if (!hyvm_bin || !guest_dir) {
        g_printerr("HYVM_BINARY and HYVM_GUEST_DIR must be set\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/qmp/transcript", test_transcript);
    g_test_add_func("/qmp/reconnect", test_reconnect);
    g_test_add_func("/qmp/queries", test_queries);
    g_test_add_func("/qmp/schema", test_schema);
    g_test_add_func("/qmp/qom", test_qom);
    g_test_add_func("/qmp/powerdown", test_powerdown);
    g_test_add_func("/qmp/nmi", test_nmi);
    g_test_add_func("/qmp/kvm", test_kvm);
    g_test_add_func("/qmp/guest-events", test_guest_events);
    g_test_add_func("/qmp/panic-watchdog", test_panic_watchdog);
    g_test_add_func("/qmp/set-action", test_set_action);
    g_test_add_func("/qmp/more-commands", test_more_commands);
    g_test_add_func("/qmp/block-commands", test_block_commands);
    g_test_add_func("/qmp/many-clients", test_many_clients);
    g_test_add_func("/qmp/oversized", test_oversized);
    g_test_add_func("/qmp/disconnect-mid-command", test_disconnect_mid_command);
    g_test_add_func("/qmp/balloon", test_balloon);
    g_test_add_func("/qmp/network", test_network);
    g_test_add_func("/qmp/network-hmp", test_network_hmp);
    g_test_add_func("/qmp/network-filter", test_network_filter);
    return g_test_run();
}
