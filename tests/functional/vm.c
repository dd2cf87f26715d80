/*
 * The VM harness of the functional tests: see vm.h.  One thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unix-connect.h"
#include "vm.h"

#define SKIP_STATUS 77      /* fixtures.py: no Debian packages here */
#define TSC_FAILURE "tsc: Unable to calibrate against PIT"
#define TSC_NO_REFERENCE "tsc: No reference (HPET/PMTIMER) available"
/* Boots of a case that may fail that way before it counts as failed. */
#define TSC_ATTEMPTS 3

const char *vm_bin, *vm_python;
int vm_timeout_s;
char *vm_kernel_path, *vm_initrd_path;

static struct vm_config config;

/* The fixtures, built once by the first case that needs them. */
static bool fixtures_done;
static char *fixtures_skip;     /* reason to skip every case */
static char *fixtures_error;    /* output of a fixture script that failed */

void vm_env_init(const struct vm_config *cfg)
{
    const char *timeout = g_getenv("HYVM_BOOT_TIMEOUT");

    config = *cfg;
    vm_bin = g_getenv("HYVM_BOOT_BINARY");
    if (!vm_bin || !*vm_bin) {
        vm_bin = g_getenv("HYVM_BINARY");
    }
    vm_python = g_getenv("HYVM_PYTHON");
    if (!vm_python || !*vm_python) {
        vm_python = "python3";
    }
    vm_timeout_s = timeout && atoi(timeout) > 0 ? atoi(timeout) : cfg->timeout_s;
    signal(SIGPIPE, SIG_IGN);
}

/* ---- fixtures ---- */

void vm_test_init(int *argc, char ***argv, const struct vm_config *cfg)
{
    g_test_init(argc, argv, NULL);
    vm_env_init(cfg);
    if (!vm_bin) {
        g_printerr("HYVM_BINARY (or HYVM_BOOT_BINARY) must be set\n");
        exit(1);
    }
}

/* Runs one fixtures script on dir; false with fixtures_skip or
 * fixtures_error set. */
static bool fixtures_run(const char *script, const char *dir)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    const char *argv[] = { vm_python, script, dir, NULL };
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL,
                      NULL, NULL, &out, &errout, &status, &err)) {
        fixtures_error = g_strdup_printf("cannot run %s: %s", script, err->message);
        return false;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_STATUS) {
        fixtures_skip = g_strdup(g_strstrip(out));
        return false;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fixtures_error = g_strdup_printf("%s failed (status 0x%x):\n%s%s", script, status,
                                         out, errout);
        return false;
    }
    if (*g_strstrip(out)) {
        g_test_message("%s", out);
    }
    return true;
}

static void fixtures_build(void)
{
    const char *script = g_getenv("HYVM_FIXTURES_SCRIPT");
    const char *dir = g_getenv("HYVM_FIXTURES_DIR");
    const char *more = config.more_fixtures_env ? g_getenv(config.more_fixtures_env) : NULL;

    if (!script || !dir || (config.more_fixtures_env && !more)) {
        fixtures_error = g_strdup_printf("HYVM_FIXTURES_SCRIPT%s%s and HYVM_FIXTURES_DIR "
                                         "must be set", config.more_fixtures_env ? ", " : "",
                                         config.more_fixtures_env ? config.more_fixtures_env
                                                                  : "");
        return;
    }
    if (!fixtures_run(script, dir) || (more && !fixtures_run(more, dir))) {
        return;
    }
    vm_kernel_path = g_build_filename(dir, "vmlinuz", NULL);
    vm_initrd_path = g_build_filename(dir, config.initrd, NULL);
}

bool vm_fixtures_ready(void)
{
    if (!fixtures_done) {
        fixtures_done = true;
        fixtures_build();
    }
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

/* KVM counts only with hardware virtualization behind it: a /dev/kvm of a
 * paravirtual kind (kvm_pvm) opens but cannot boot Linux. */
const char *vm_kvm_missing(void)
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

/* ---- processes and sockets ---- */

void vm_child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void vm_add_args(GPtrArray *argv, ...)
{
    va_list ap;
    const char *a;

    va_start(ap, argv);
    while ((a = va_arg(ap, const char *))) {
        g_ptr_array_add(argv, g_strdup(a));
    }
    va_end(ap);
}

/* ---- one VM ---- */

void vm_init(struct vm *vm)
{
    g_autoptr(GError) err = NULL;

    memset(vm, 0, sizeof(*vm));
    vm->qmp_fd = vm->out_fd = vm->err_fd = -1;
    vm->console = g_string_new(NULL);
    vm->err = g_string_new(NULL);
    vm->qmp_in = g_string_new(NULL);
    vm->qmp_msgs = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    vm->dir = g_dir_make_tmp(config.tmp_template, &err);
    g_assert_no_error(err);
    vm->exited = true;          /* until it runs */
}

char *vm_file(struct vm *vm, const char *name)
{
    return g_build_filename(vm->dir, name, NULL);
}

void vm_add_qmp(struct vm *vm, GPtrArray *argv)
{
    g_autofree char *chardev = NULL;

    g_free(vm->qmp_path);
    vm->qmp_path = vm_file(vm, "qmp.sock");
    chardev = g_strdup_printf("unix:%s,server=on,wait=off", vm->qmp_path);
    vm_add_args(argv, "-qmp", chardev, NULL);
}

bool vm_spawn(struct vm *vm, GPtrArray *argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *cmdline = NULL;
    bool ok;

    g_ptr_array_add(argv, NULL);
    cmdline = g_strjoinv(" ", (char **)argv->pdata);
    g_test_message("run: %s", cmdline);
    vm->deadline = g_get_monotonic_time() + (gint64)vm_timeout_s * G_USEC_PER_SEC;
    ok = g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
                                  G_SPAWN_STDIN_FROM_DEV_NULL,
                                  vm_child_setup, NULL, &vm->pid, NULL,
                                  &vm->out_fd, &vm->err_fd, &err);
    g_ptr_array_free(argv, TRUE);
    if (!ok) {
        g_test_message("cannot run %s: %s", vm_bin, err->message);
        return false;
    }
    vm->exited = false;
    fcntl(vm->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(vm->err_fd, F_SETFL, O_NONBLOCK);
    return true;
}

/* Empties and removes the VM's directory (sockets, disks, chardev files). */
static void vm_remove_dir(struct vm *vm)
{
    GDir *d = g_dir_open(vm->dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(vm->dir, name, NULL);

        unlink(path);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(vm->dir);
}

void vm_free(struct vm *vm)
{
    if (!vm->exited) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, NULL, 0);
    }
    if (vm->pid) {
        g_spawn_close_pid(vm->pid);
    }
    if (vm->helper_pid && !vm->helper_exited) {
        kill(vm->helper_pid, SIGKILL);
        waitpid(vm->helper_pid, NULL, 0);
        g_spawn_close_pid(vm->helper_pid);
    }
    for (int *fd = &vm->out_fd; fd <= &vm->qmp_fd; fd++) {
        if (*fd >= 0) {
            close(*fd);
        }
    }
    vm_remove_dir(vm);
    g_free(vm->qmp_path);
    g_free(vm->dir);
    g_string_free(vm->console, TRUE);
    g_string_free(vm->err, TRUE);
    g_string_free(vm->qmp_in, TRUE);
    g_ptr_array_free(vm->qmp_msgs, TRUE);
}

static void report_hint(struct vm *vm, const struct vm_hint *h)
{
    if (strstr(vm->console->str, h->line)) {
        g_test_message("hint: \"%s\": %s", h->line, h->hint);
    }
}

/* Marks the VM's run failed, saying why, with the tails of the console and stderr. */
void vm_report(struct vm *vm, const char *fmt, ...)
{
    static const struct vm_hint tsc = {
        TSC_FAILURE,
        "the kernel could not calibrate the TSC against the PIT (a loaded host does that "
        "to a software CPU); without an HPET or PM timer (microvm) it then stalls"
    };
    const size_t tail = config.tail_chars;
    va_list ap;
    g_autofree char *why = NULL;
    g_auto(GStrv) con = NULL;
    const char *err = vm->err->str;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* The serial line ends lines with "\r\n"; the log wants "\n". */
    con = g_strsplit(vm->console->str + (vm->console->len > tail ? vm->console->len - tail : 0),
                     "\r", -1);
    if (vm->err->len > tail) {
        err += vm->err->len - tail;
    }
    g_autofree char *con_text = g_strjoinv("", con);
    g_test_message("%s\n---- console (last %d chars) ----\n%s\n---- stderr ----\n%s\n----",
                   why, config.tail_chars, con_text, err);
    report_hint(vm, &tsc);
    for (unsigned i = 0; i < config.n_hints; i++) {
        report_hint(vm, &config.hints[i]);
    }
    vm->failed = true;
}

/* ---- reading the VM ---- */

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

/* Moves complete QMP lines ("\r\n" ends each) into qmp_msgs. */
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
        if (g_getenv("BOOT_TEST_TRACE")) {
            g_printerr("qmp << %s\n", line);
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
void vm_pump(struct vm *vm, gint64 max_us)
{
    struct pollfd pfd[3];
    int n = 0, timeout_ms;
    gint64 left = vm->deadline - g_get_monotonic_time();

    timeout_ms = MIN(max_us, left) > 0 ? (int)(MIN(max_us, left) / 1000) : 0;
    for (int *fd = &vm->out_fd; fd <= &vm->qmp_fd; fd++) {
        if (*fd >= 0) {
            pfd[n++] = (struct pollfd){ .fd = *fd, .events = POLLIN };
        }
    }
    /* A VM that closed everything is only waited for (exit is polled). */
    if (n == 0) {
        g_usleep(MIN(timeout_ms, 10) * 1000);
    } else if (poll(pfd, n, timeout_ms) < 0 && errno != EINTR) {
        g_error("poll: %s", g_strerror(errno));
    }
    if (vm->out_fd >= 0) {
        size_t had = vm->console->len;

        drain_fd(&vm->out_fd, vm->console);
        if (config.trace_console) {
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

/* Kernel lines after which the guest does nothing more: a halt (poweroff
 * found no way to power off), a panic (no panic= reboot), or a TSC the
 * kernel could not calibrate on a machine without a reference timer
 * (microvm: no HPET, no PM timer), after which it stalls. */
static const char *const dead_ends[] = {
    "reboot: System halted", "Kernel panic - not syncing", TSC_NO_REFERENCE,
};

/* A guest at a dead end is given 2 s (the VM may still exit) and then
 * failed at once rather than at the deadline. */
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

/*
 * Pumps until done(vm, arg) holds.  false, with the case failed and the
 * console shown, when the VM exits first, stops at a dead end or the
 * deadline passes (then the VM is killed).
 */
bool vm_wait(struct vm *vm, vm_pred done, const void *arg, const char *what)
{
    for (;;) {
        const char *dead;

        if (done(vm, arg)) {
            return true;
        }
        if (vm->exited) {
            /* What it wrote before exiting may still be in the pipes. */
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
                      what, vm_timeout_s);
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

bool vm_console_has(struct vm *vm, const void *needle)
{
    return strstr(vm->console->str, needle) != NULL;
}

/* ---- console lines ---- */

char *vm_line_value(struct vm *vm, const char *key)
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

bool vm_has_line(struct vm *vm, const void *key)
{
    g_autofree char *v = vm_line_value(vm, key);

    return v != NULL;
}

char *vm_expect_line(struct vm *vm, const char *key)
{
    g_autofree char *what = g_strdup_printf("the line %s", key);

    return vm_wait(vm, vm_has_line, key, what) ? vm_line_value(vm, key) : NULL;
}

bool vm_expect_value(struct vm *vm, const char *key, const char *want)
{
    g_autofree char *got = vm_expect_line(vm, key);

    if (!got) {
        return false;
    }
    if (strcmp(got, want)) {
        vm_report(vm, "%s: got '%s', want '%s'", key, got, want);
        return false;
    }
    return true;
}

/* The serial line ends each line with "\r\n". */
static bool has_word_line(struct vm *vm, const void *word)
{
    g_autofree char *k = g_strdup_printf("\n%s\r", (const char *)word);

    return strstr(vm->console->str + vm->from, k) != NULL;
}

bool vm_expect_word(struct vm *vm, const char *word, bool next)
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

/* ---- the VM's end ---- */

static bool has_exited(struct vm *vm, const void *arg)
{
    return vm->exited && vm->out_fd < 0 && vm->err_fd < 0;
}

/* The VM exits by itself with status 0 (and its pipes reach EOF). */
bool vm_expect_exit(struct vm *vm, int status)
{
    if (!vm_wait(vm, has_exited, NULL, "the VM's exit")) {
        return false;
    }
    if (!WIFEXITED(vm->wait_status) || WEXITSTATUS(vm->wait_status) != status) {
        vm_report(vm, "the VM ended with %s %d, not exit status %d",
                  WIFEXITED(vm->wait_status) ? "exit status" : "signal",
                  WIFEXITED(vm->wait_status) ? WEXITSTATUS(vm->wait_status)
                                             : WTERMSIG(vm->wait_status), status);
        return false;
    }
    return true;
}

bool vm_expect_exit0(struct vm *vm)
{
    return vm_expect_exit(vm, 0);
}

/* ---- QMP ---- */

const char *vm_qmp_msg_str(JsonNode *n, const char *member)
{
    JsonNode *m = json_object_get_member(json_node_get_object(n), member);

    return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_STRING
           ? json_node_get_string(m) : NULL;
}

static JsonNode *qmp_find_reply(struct vm *vm, const char *id)
{
    for (unsigned i = 0; i < vm->qmp_msgs->len; i++) {
        if (!g_strcmp0(vm_qmp_msg_str(vm->qmp_msgs->pdata[i], "id"), id)) {
            return vm->qmp_msgs->pdata[i];
        }
    }
    return NULL;
}

/* The reply to the command sent with id: "return" or "error". */
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

JsonNode *vm_qmp_call(struct vm *vm, const char *cmd, const char *args)
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

/* The VM's -qmp socket listens soon after exec. */
bool vm_qmp_has_event(struct vm *vm, const void *name)
{
    return vm_qmp_event(vm, name) != NULL;
}

JsonNode *vm_qmp_event(struct vm *vm, const char *name)
{
    for (unsigned i = 0; i < vm->qmp_msgs->len; i++) {
        if (!g_strcmp0(vm_qmp_msg_str(vm->qmp_msgs->pdata[i], "event"), name)) {
            return vm->qmp_msgs->pdata[i];
        }
    }
    return NULL;
}

JsonObject *vm_qmp_event_data(struct vm *vm, const char *name)
{
    JsonNode *n = vm_qmp_event(vm, name);
    JsonObject *o = n ? json_node_get_object(n) : NULL;

    return o && json_object_has_member(o, "data") ? json_object_get_object_member(o, "data")
                                                  : NULL;
}

bool vm_expect_shutdown(struct vm *vm, const char *reason)
{
    JsonObject *data;

    if (!vm_wait(vm, vm_qmp_has_event, "SHUTDOWN", "the SHUTDOWN event")) {
        return false;
    }
    data = vm_qmp_event_data(vm, "SHUTDOWN");
    if (!data || !json_object_has_member(data, "guest") ||
        !json_object_get_boolean_member(data, "guest") ||
        g_strcmp0(json_object_get_string_member_with_default(data, "reason", ""), reason)) {
        vm_report(vm, "SHUTDOWN is not {\"guest\": true, \"reason\": \"%s\"}", reason);
        return false;
    }
    return true;
}

bool vm_qmp_connect(struct vm *vm)
{
    while (vm->qmp_fd < 0) {
        vm->qmp_fd = unix_connect(vm->qmp_path);
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
           vm_qmp_call(vm, "qmp_capabilities", NULL);
}

/* ---- a case ---- */

void vm_run_case(const char *accel, vm_case_fn run_case, const void *arg)
{
    struct vm vm;

    if (!strcmp(accel, "kvm") && vm_kvm_missing()) {
        g_test_skip(vm_kvm_missing());
        return;
    }
    if (!vm_fixtures_ready()) {
        return;
    }
    for (int attempt = 0;; attempt++) {
        run_case(&vm, arg);
        if (!vm.failed) {
            break;
        }
        /* The one failure that is the host's, not the machine's: on a loaded
         * host the kernel cannot calibrate the TSC against the PIT, and on
         * microvm (no HPET, no PM timer) it then stalls, under QEMU as well.
         * Such a boot is given up at once (dead_ends) and the case booted
         * again, up to TSC_ATTEMPTS boots; anything else fails the case. */
        if (attempt + 1 < TSC_ATTEMPTS && strstr(vm.console->str, TSC_FAILURE)) {
            g_test_message("the TSC calibration failed (host load): booting once more");
            vm_free(&vm);
            continue;
        }
        g_test_fail();
        break;
    }
    g_test_message("%s: %.1f s of %d s", g_test_get_path(),
                   vm_timeout_s - (vm.deadline - g_get_monotonic_time()) / 1e6, vm_timeout_s);
    vm_free(&vm);
}
