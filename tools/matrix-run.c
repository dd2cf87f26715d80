/*
 * Running the cases: at most opt->jobs VMs at a time, each with its stdout
 * and stderr on one pipe (under -nographic that is the serial console, and
 * hyvm's own messages), copied to its log file as it comes and kept in
 * memory for the regexes.
 *
 * While a VM runs, each read is matched from the start of the last line
 * not yet complete, so a reject= regex ends the VM at once and
 * stop-on-match sees a prompt that has no newline after it; the verdict at
 * the end matches every regex against the whole log, so one that spans
 * lines counts too.  A VM past its timeout, or stopped early, gets SIGTERM
 * and, 3 s later, SIGKILL.  VMs die with hyvm-matrix (PR_SET_PDEATHSIG);
 * a SIGINT, SIGTERM or SIGHUP ends them and the run, reports written.
 *
 * Nothing here touches a VM's memory: hyvm maps guest RAM with
 * MAP_NORESERVE, so 16 VMs of -m 4G on a small host only use what their
 * guests write.
 *
 * Threads: main thread; one GMainLoop runs every VM's sources.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "accel/accel.h"
#include "accel/kvm/kvm-internal.h"
#include "tools/matrix.h"

#define KILL_GRACE_MS 3000      /* SIGTERM to SIGKILL */
#define EOF_GRACE_MS 2000       /* exit to giving up on the pipe's end */
#define LOG_MAX (64u << 20)     /* a boot check that writes more has gone wrong */

struct runner {
    GPtrArray *sel;
    const struct matrix_options *opt;
    struct matrix_report *rep;
    GMainLoop *loop;
    unsigned next, running, finished;
    GPtrArray *vms;             /* struct vm_run *, the running ones */
    unsigned signals;           /* SIGINT/SIGTERM/SIGHUP received */
    bool kvm_checked;
    char *kvm_why;              /* why kvm cases are skipped, or NULL */
};

struct vm_run {
    struct runner *r;
    struct matrix_case *c;
    GPid pid;
    int fd, log_fd;
    guint out_src, child_src, timeout_src, kill_src, eof_src;
    gint64 t0;
    gsize scanned;              /* where the line not yet complete begins */
    bool *seen;                 /* per expect regex */
    unsigned n_seen;
    bool eof, stopping, matched_stop;
    char *error;                /* failed for a reason of its own */
};

static void runner_fill(struct runner *r);

/* ---- KVM ---- */

char *matrix_kvm_unusable(void)
{
    /* hyvm's own probe in its strict form, the one its auto choice uses:
     * a /dev/kvm without hardware virtualization behind it (kvm_pvm, or
     * no vmx/svm) would take -accel kvm but not boot a guest in time. */
    static const struct accel_host_facts host = {
        .dev_kvm = "/dev/kvm",
        .cpuinfo = "/proc/cpuinfo",
        .sys_module = "/sys/module",
    };
    char *why = NULL;

    if (kvm_probe(&host, true, &why) == 0) {
        g_free(why);
        return NULL;
    }
    return why ? why : g_strdup("KVM does not work here");
}

/* ---- one VM ---- */

static void child_setup(gpointer parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The runner died before the line above: nobody reads the console. */
    if (getppid() != GPOINTER_TO_INT(parent)) {
        _exit(127);
    }
}

static void vm_signal(struct vm_run *v, int sig)
{
    /* Once reaped, the pid may belong to someone else. */
    if (!v->c->exited) {
        kill(v->pid, sig);
    }
}

static gboolean on_kill_grace(gpointer data)
{
    struct vm_run *v = data;

    v->kill_src = 0;
    vm_signal(v, SIGKILL);
    return G_SOURCE_REMOVE;
}

static void vm_stop(struct vm_run *v)
{
    if (v->stopping || v->c->exited) {
        return;
    }
    v->stopping = true;
    vm_signal(v, SIGTERM);
    v->kill_src = g_timeout_add(KILL_GRACE_MS, on_kill_grace, v);
}

static gboolean on_timeout(gpointer data)
{
    struct vm_run *v = data;

    v->timeout_src = 0;
    v->c->timed_out = true;
    vm_stop(v);
    return G_SOURCE_REMOVE;
}

/* The line of the log around offset, printable and short, for a reason. */
static char *line_at(const GString *log, gsize off)
{
    gsize b = off, e = off;
    g_autofree char *p = NULL;

    while (b > 0 && log->str[b - 1] != '\n' && log->str[b - 1] != '\r') {
        b--;
    }
    while (e < log->len && log->str[e] != '\n' && log->str[e] != '\r') {
        e++;
    }
    p = matrix_printable(log->str + b, MIN(e - b, 200));
    return g_strdup(g_strstrip(p));
}

/* Where re first matches the log from start, or -1. */
static gssize regex_find(GRegex *re, const GString *log, gsize start)
{
    g_autoptr(GMatchInfo) mi = NULL;
    int s = -1;

    if (g_regex_match_full(re, log->str, log->len, start, 0, &mi, NULL)) {
        g_match_info_fetch_pos(mi, 0, &s, NULL);
    }
    return s;
}

/* Matches the regexes against what came since the last complete line. */
static void vm_scan(struct vm_run *v)
{
    struct matrix_case *c = v->c;
    GPtrArray *reject = c->set.reject, *expect = c->set.expect;

    for (unsigned i = 0; i < reject->len && !v->error; i++) {
        gssize at = regex_find(reject->pdata[i], c->log, v->scanned);

        if (at >= 0) {
            g_autofree char *line = line_at(c->log, at);

            v->error = g_strdup_printf("reject /%s/ matched: %s",
                                       g_regex_get_pattern(reject->pdata[i]), line);
            vm_stop(v);
        }
    }
    for (unsigned i = 0; i < expect->len; i++) {
        if (!v->seen[i] && regex_find(expect->pdata[i], c->log, v->scanned) >= 0) {
            v->seen[i] = true;
            v->n_seen++;
        }
    }
    if (c->set.stop_on_match && v->n_seen == expect->len && !v->error && !v->stopping) {
        v->matched_stop = true;
        vm_stop(v);
    }
    for (gsize i = c->log->len; i > v->scanned; i--) {
        if (c->log->str[i - 1] == '\n' || c->log->str[i - 1] == '\r') {
            v->scanned = i;
            break;
        }
    }
}

static void vm_maybe_finish(struct vm_run *v);

static void vm_close_output(struct vm_run *v)
{
    v->eof = true;
    if (v->out_src) {
        g_source_remove(v->out_src);
        v->out_src = 0;
    }
    if (v->fd >= 0) {
        close(v->fd);
        v->fd = -1;
    }
}

static gboolean on_output(int fd, GIOCondition cond, gpointer data)
{
    struct vm_run *v = data;
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        v->out_src = 0;
        vm_close_output(v);
        vm_maybe_finish(v);
        return G_SOURCE_REMOVE;
    }
    if (v->log_fd >= 0 && write(v->log_fd, buf, n) != n) {
        g_printerr("hyvm-matrix: %s: cannot write: %s\n", v->c->log_path, g_strerror(errno));
        close(v->log_fd);
        v->log_fd = -1;
    }
    if (v->c->log->len + n > LOG_MAX) {
        if (!v->error) {
            v->error = g_strdup_printf("the VM wrote more than %u MiB", LOG_MAX >> 20);
        }
        vm_stop(v);
        return G_SOURCE_CONTINUE;
    }
    g_string_append_len(v->c->log, buf, n);
    vm_scan(v);
    return G_SOURCE_CONTINUE;
}

static gboolean on_eof_grace(gpointer data)
{
    struct vm_run *v = data;

    /* A process the VM left behind holds the pipe open. */
    v->eof_src = 0;
    vm_close_output(v);
    vm_maybe_finish(v);
    return G_SOURCE_REMOVE;
}

static void on_child_exit(GPid pid, gint status, gpointer data)
{
    struct vm_run *v = data;

    v->child_src = 0;
    v->c->exited = true;
    v->c->wait_status = status;
    g_spawn_close_pid(pid);
    if (v->kill_src) {
        g_source_remove(v->kill_src);
        v->kill_src = 0;
    }
    if (!v->eof) {
        v->eof_src = g_timeout_add(EOF_GRACE_MS, on_eof_grace, v);
    }
    vm_maybe_finish(v);
}

/* The verdict, from the whole log and how the VM ended. */
static void vm_judge(struct vm_run *v)
{
    struct matrix_case *c = v->c;
    GPtrArray *expect = c->set.expect, *reject = c->set.reject;
    const char *missing = NULL;
    unsigned n_missing = 0;

    c->verdict = MATRIX_FAIL;
    if (v->error) {
        c->reason = g_steal_pointer(&v->error);
        return;
    }
    for (unsigned i = 0; i < reject->len; i++) {
        gssize at = regex_find(reject->pdata[i], c->log, 0);

        if (at >= 0) {
            g_autofree char *line = line_at(c->log, at);

            c->reason = g_strdup_printf("reject /%s/ matched: %s",
                                        g_regex_get_pattern(reject->pdata[i]), line);
            return;
        }
    }
    for (unsigned i = 0; i < expect->len; i++) {
        if (!v->seen[i] && regex_find(expect->pdata[i], c->log, 0) < 0) {
            missing = missing ? missing : g_regex_get_pattern(expect->pdata[i]);
            n_missing++;
        }
    }
    if (v->matched_stop || (c->set.stop_on_match && c->timed_out && !n_missing)) {
        c->verdict = MATRIX_PASS;
        return;
    }
    if (c->timed_out) {
        c->reason = n_missing ? g_strdup_printf("timeout after %u s; expect /%s/ did not "
                                                "match%s", c->set.timeout_s, missing,
                                                n_missing > 1 ? " (and more)" : "")
                              : g_strdup_printf("timeout after %u s", c->set.timeout_s);
    } else if (WIFSIGNALED(c->wait_status)) {
        c->reason = g_strdup_printf("hyvm was killed by signal %d (%s)",
                                    WTERMSIG(c->wait_status), g_strsignal(WTERMSIG(c->wait_status)));
    } else if (WEXITSTATUS(c->wait_status) != c->set.exit_status) {
        c->reason = g_strdup_printf("exit status %d, expected %d", WEXITSTATUS(c->wait_status),
                                    c->set.exit_status);
    } else if (n_missing) {
        c->reason = n_missing > 1 ? g_strdup_printf("expect /%s/ did not match (nor %u more)",
                                                    missing, n_missing - 1)
                                  : g_strdup_printf("expect /%s/ did not match", missing);
    } else {
        c->verdict = MATRIX_PASS;
    }
}

/* Judged, a log is only needed for its tail in the reports: a long matrix
 * does not keep every boot's console in memory to the end. */
static void log_keep_tail(GString *log, unsigned lines)
{
    gsize b = log->len;
    unsigned seen = 0;

    /* As matrix_log_tail counts: from the last line that is not empty,
     * and one line more than it shows. */
    while (b > 0 && (log->str[b - 1] == '\n' || log->str[b - 1] == '\r')) {
        b--;
    }
    while (b > 0 && seen <= lines) {
        if (log->str[--b] == '\n') {
            seen++;
        }
    }
    g_string_erase(log, 0, b);
}

static void vm_maybe_finish(struct vm_run *v)
{
    struct runner *r = v->r;
    guint *srcs[] = { &v->out_src, &v->timeout_src, &v->kill_src, &v->eof_src };

    if (!v->c->exited || !v->eof) {
        return;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(srcs); i++) {
        if (*srcs[i]) {
            g_source_remove(*srcs[i]);
            *srcs[i] = 0;
        }
    }
    if (v->log_fd >= 0) {
        close(v->log_fd);
    }
    v->c->seconds = (g_get_monotonic_time() - v->t0) / 1e6;
    vm_judge(v);
    log_keep_tail(v->c->log, r->opt->tail_lines);
    matrix_report_case_done(r->rep, v->c);
    g_ptr_array_remove_fast(r->vms, v);
    g_free(v->seen);
    g_free(v->error);
    g_free(v);
    r->running--;
    r->finished++;
    runner_fill(r);
}

/* ---- the runner ---- */

static void case_skip(struct runner *r, struct matrix_case *c, char *why)
{
    c->verdict = MATRIX_SKIP;
    c->reason = why;
    /* A log of an earlier run would look like this one's. */
    unlink(c->log_path);
    r->finished++;
    matrix_report_case_done(r->rep, c);
}

static void case_fail(struct runner *r, struct matrix_case *c, char *why)
{
    c->verdict = MATRIX_FAIL;
    c->reason = why;
    r->finished++;
    matrix_report_case_done(r->rep, c);
}

static void case_start(struct runner *r, struct matrix_case *c)
{
    g_autoptr(GError) err = NULL;
    struct vm_run *v;
    int pipe_fds[2], log_fd;
    GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL;

    if (c->set.skip) {
        case_skip(r, c, g_strdup(c->set.skip));
        return;
    }
    if (c->needs_kvm) {
        if (!r->kvm_checked) {
            r->kvm_checked = true;
            r->kvm_why = matrix_kvm_unusable();
        }
        if (r->kvm_why) {
            case_skip(r, c, g_strdup_printf("needs KVM: %s", r->kvm_why));
            return;
        }
    }
    log_fd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        case_fail(r, c, g_strdup_printf("cannot create %s: %s", c->log_path,
                                        g_strerror(errno)));
        return;
    }
    if (!g_unix_open_pipe(pipe_fds, FD_CLOEXEC, &err)) {
        close(log_fd);
        case_fail(r, c, g_strdup_printf("cannot make a pipe: %s", err->message));
        return;
    }
    if (!strchr(c->argv[0], '/')) {
        flags |= G_SPAWN_SEARCH_PATH;
    }
    v = g_new0(struct vm_run, 1);
    v->r = r;
    v->c = c;
    v->log_fd = log_fd;
    v->fd = pipe_fds[0];
    v->seen = g_new0(bool, c->set.expect->len);
    v->t0 = g_get_monotonic_time();
    c->log = g_string_new(NULL);
    /* One pipe for stdout and stderr: hyvm's messages land among the
     * console lines, where they happened. */
    if (!g_spawn_async_with_fds(NULL, c->argv, NULL, flags, child_setup,
                                GINT_TO_POINTER(getpid()), &v->pid, -1, pipe_fds[1],
                                pipe_fds[1], &err)) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        close(log_fd);
        g_free(v->seen);
        g_free(v);
        case_fail(r, c, g_strdup_printf("cannot run %s: %s", c->argv[0], err->message));
        return;
    }
    close(pipe_fds[1]);
    g_unix_set_fd_nonblocking(v->fd, TRUE, NULL);
    r->running++;
    g_ptr_array_add(r->vms, v);
    matrix_report_case_started(r->rep, c);
    v->out_src = g_unix_fd_add(v->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_output, v);
    v->child_src = g_child_watch_add(v->pid, on_child_exit, v);
    v->timeout_src = g_timeout_add((guint)c->set.timeout_s * 1000, on_timeout, v);
}

/* Interrupted (Ctrl-C, a CI job's own timeout): the cases not started
 * fail as not run, the running VMs are ended (a second signal kills them
 * at once), and the reports are written as usual. */
static gboolean on_signal(gpointer data)
{
    struct runner *r = data;

    for (unsigned i = 0; i < r->vms->len; i++) {
        struct vm_run *v = r->vms->pdata[i];

        if (!v->error) {
            v->error = g_strdup("interrupted");
        }
        if (r->signals) {
            vm_signal(v, SIGKILL);
        }
        vm_stop(v);
    }
    r->signals++;
    while (r->next < r->sel->len) {
        case_fail(r, r->sel->pdata[r->next++], g_strdup("not run: interrupted"));
    }
    if (r->finished == r->sel->len) {
        g_main_loop_quit(r->loop);
    }
    return G_SOURCE_CONTINUE;
}

/* Starts cases up to the job limit; quits the loop after the last. */
static void runner_fill(struct runner *r)
{
    while (r->running < r->opt->jobs && r->next < r->sel->len) {
        case_start(r, r->sel->pdata[r->next++]);
    }
    if (r->finished == r->sel->len) {
        g_main_loop_quit(r->loop);
    }
}

/* The log's file name: the case's name with '/' (and anything a file name
 * had better not hold) as '_'; a second case of the same file name gets
 * its number too. */
static void set_log_paths(GPtrArray *sel, const char *dir)
{
    g_autoptr(GHashTable) used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (unsigned i = 0; i < sel->len; i++) {
        struct matrix_case *c = sel->pdata[i];
        g_autofree char *base = g_strdup(c->name);
        char *file;

        g_strcanon(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                         ".,-+=@%", '_');
        if (base[0] == '.') {
            base[0] = '_';      /* no hidden files, no ".." */
        }
        file = g_strdup_printf("%s.log", base);
        if (g_hash_table_contains(used, file)) {
            g_free(file);
            file = g_strdup_printf("%s-%u.log", base, c->number);
        }
        g_hash_table_add(used, file);
        g_free(c->log_path);
        c->log_path = g_build_filename(dir, file, NULL);
    }
}

void matrix_run(GPtrArray *sel, const struct matrix_options *opt, struct matrix_report *rep)
{
    struct runner r = { .sel = sel, .opt = opt, .rep = rep };

    guint sig_src[3];
    const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };

    set_log_paths(sel, opt->logs_dir);
    r.loop = g_main_loop_new(NULL, FALSE);
    r.vms = g_ptr_array_new();
    for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
        /* Before the child watches: a Ctrl-C on a terminal reaches the
         * VMs too, and a VM that died of it is "interrupted" all the same. */
        sig_src[i] = g_unix_signal_add_full(G_PRIORITY_HIGH, sigs[i], on_signal, &r, NULL);
    }
    runner_fill(&r);
    if (r.finished < sel->len) {
        g_main_loop_run(r.loop);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
        g_source_remove(sig_src[i]);
    }
    g_ptr_array_unref(r.vms);
    g_main_loop_unref(r.loop);
    g_free(r.kvm_why);
}
