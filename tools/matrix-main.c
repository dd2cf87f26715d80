/*
 * hyvm-matrix MATRIX-FILE: the command line and the order of things --
 * options, the file, the selection, the binary, the run, the reports.
 * See matrix.h for the files and matrix-file.c for the file format.
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "hyvm-version.h"
#include "tools/matrix.h"

#define DEFAULT_LOGS "matrix-logs"
#define DEFAULT_TAIL 10

static const char help_text[] =
    "The matrix file (glib key file; details in README.md):\n"
    "  [matrix]            axes, each a ;-list: kernels= initrds= machines= accels= smp=\n"
    "                      extra= (option strings, split as a shell splits them);\n"
    "                      memory= append= timeout= (s, default 300) expect= reject=\n"
    "                      (;-lists of regexes) exit-status= (default 0)\n"
    "                      stop-on-match= (true: pass once every expect matched)\n"
    "                      hyvm= (the binary) name= (the JUnit suite)\n"
    "  [case NAME]         selects cases by kernel= initrd= machine= accel= smp=\n"
    "                      extra-index= name= (regex) and sets memory= append=\n"
    "                      timeout= expect= reject= exit-status= stop-on-match=,\n"
    "                      extra= (appended) or skip=REASON\n"
    "  [extra-case NAME]   one more case: kernel= initrd= machine= accel= smp= extra=\n"
    "                      and the settings above\n"
    "Each case runs: hyvm [-M m] [-accel a] [-smp n] [-m mem] [-kernel k] [-initrd i]\n"
    "  [-append text] -nographic -nic none -no-reboot [extra...]\n"
    "Cases with accel kvm are skipped where KVM lacks hardware virtualization.\n"
    "TAP on stdout; exit status 0: every case passed or was skipped, 1: a case\n"
    "failed, 2: bad command line or matrix file.";

static void G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN usage_error(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_printerr("hyvm-matrix: %s\n", msg);
    exit(MATRIX_EXIT_USAGE);
}

static bool is_executable(const char *p)
{
    return g_file_test(p, G_FILE_TEST_IS_REGULAR) && access(p, X_OK) == 0;
}

/* --hyvm, else hyvm= of the file, else the hyvm beside this program (the
 * installed layout) or in its parent folder (the build tree's:
 * build/tools/hyvm-matrix, build/hyvm), else hyvm on PATH.  NULL when
 * none is there. */
static char *find_hyvm(const char *opt, const struct matrix *m)
{
    const char *chosen = opt ? opt : m->hyvm;
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

    if (chosen) {
        if (strchr(chosen, '/')) {
            return is_executable(chosen) ? g_strdup(chosen) : NULL;
        }
        return g_find_program_in_path(chosen);
    }
    if (self) {
        g_autofree char *dir = g_path_get_dirname(self);
        g_autofree char *beside = g_build_filename(dir, "hyvm", NULL);
        g_autofree char *above = g_build_filename(dir, "..", "hyvm", NULL);

        if (is_executable(beside)) {
            return g_steal_pointer(&beside);
        }
        if (is_executable(above)) {
            return g_canonicalize_filename(above, NULL);
        }
    }
    return g_find_program_in_path("hyvm");
}

static void list_cases(GPtrArray *sel, bool verbose)
{
    for (unsigned i = 0; i < sel->len; i++) {
        const struct matrix_case *c = sel->pdata[i];
        g_autofree char *cmd = NULL;

        printf("%s\n", c->name);
        if (!verbose) {
            continue;
        }
        cmd = matrix_case_cmdline(c);
        printf("  command: %s\n  timeout: %u\n  exit-status: %d\n", cmd, c->set.timeout_s,
               c->set.exit_status);
        for (unsigned j = 0; j < c->set.expect->len; j++) {
            printf("  expect: %s\n", g_regex_get_pattern(c->set.expect->pdata[j]));
        }
        for (unsigned j = 0; j < c->set.reject->len; j++) {
            printf("  reject: %s\n", g_regex_get_pattern(c->set.reject->pdata[j]));
        }
        if (c->set.stop_on_match) {
            printf("  stop-on-match: true\n");
        }
        if (c->set.skip) {
            printf("  skip: %s\n", c->set.skip);
        }
        if (c->needs_kvm) {
            printf("  needs: kvm\n");
        }
    }
}

/* "-j4" as make writes it: GOption wants the number as its own word. */
static void split_jobs_option(int *argc, char ***argv)
{
    GPtrArray *out = g_ptr_array_new();

    for (int i = 0; i < *argc; i++) {
        char *a = (*argv)[i];

        if (i > 0 && !strcmp(a, "--")) {
            for (; i < *argc; i++) {
                g_ptr_array_add(out, (*argv)[i]);
            }
            break;
        }
        if (i > 0 && !strncmp(a, "-j", 2) && g_ascii_isdigit(a[2])) {
            g_ptr_array_add(out, "-j");
            g_ptr_array_add(out, a + 2);
        } else {
            g_ptr_array_add(out, a);
        }
    }
    *argc = out->len;
    g_ptr_array_add(out, NULL);
    *argv = (char **)g_ptr_array_free(out, FALSE);
}

int main(int argc, char **argv)
{
    int jobs = 0, tail = DEFAULT_TAIL;
    g_autofree char *logs = NULL, *junit = NULL, *hyvm_opt = NULL, *filter = NULL;
    g_autofree char *hyvm = NULL;
    gboolean list = FALSE, verbose = FALSE, version = FALSE;
    g_auto(GStrv) files = NULL;
    g_autofree char **split_argv = NULL;
    const GOptionEntry entries[] = {
        { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
          "Run N VMs at a time (default: the online CPUs)", "N" },
        { "logs", 0, 0, G_OPTION_ARG_FILENAME, &logs,
          "Write each case's log into DIR (default: " DEFAULT_LOGS ")", "DIR" },
        { "junit", 0, 0, G_OPTION_ARG_FILENAME, &junit, "Write JUnit XML to FILE", "FILE" },
        { "hyvm", 0, 0, G_OPTION_ARG_FILENAME, &hyvm_opt,
          "The hyvm binary (default: hyvm= of the file, else the one beside hyvm-matrix, "
          "else PATH's)", "PATH" },
        { "filter", 0, 0, G_OPTION_ARG_STRING, &filter,
          "Only the cases whose name REGEX matches", "REGEX" },
        { "list", 0, 0, G_OPTION_ARG_NONE, &list, "Print the cases' names, run nothing", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
          "With --list: each case's command line and expectations too", NULL },
        { "tail", 0, 0, G_OPTION_ARG_INT, &tail,
          "Lines of a failed case's log in the reports (default 10)", "N" },
        { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
        { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("MATRIX-FILE");
    g_autoptr(GError) err = NULL;
    struct matrix *m;
    g_autoptr(GPtrArray) sel = g_ptr_array_new();
    g_autoptr(GRegex) filter_re = NULL;
    struct matrix_options opt;
    struct matrix_report *rep;
    gint64 t0;
    double seconds;
    int status;

    g_option_context_set_summary(ctx, "Boots every case of a matrix of kernels, machines, "
                                 "accelerators and options with hyvm, in parallel,\nand judges "
                                 "each from its serial console and exit status.");
    g_option_context_set_description(ctx, help_text);
    g_option_context_add_main_entries(ctx, entries, NULL);
    split_jobs_option(&argc, &argv);
    /* The array (not the strings) is ours; GOption only moves its slots. */
    split_argv = argv;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        usage_error("%s (see --help)", err->message);
    }
    if (version) {
        printf("hyvm-matrix version " HYVM_VERSION "\n");
        return MATRIX_EXIT_PASS;
    }
    if (!files || !files[0] || files[1]) {
        usage_error("give one matrix file (see --help)");
    }
    if (jobs < 0 || tail < 0) {
        usage_error("-j and --tail take a number >= 0");
    }
    if (filter && !(filter_re = g_regex_new(filter, 0, 0, &err))) {
        usage_error("--filter: bad regex '%s': %s", filter, err->message);
    }
    m = matrix_load(files[0], &err);
    if (!m) {
        usage_error("%s", err->message);
    }
    for (unsigned i = 0; i < m->cases->len; i++) {
        struct matrix_case *c = m->cases->pdata[i];

        if (!filter_re || g_regex_match(filter_re, c->name, 0, NULL)) {
            c->number = sel->len + 1;
            g_ptr_array_add(sel, c);
        }
    }
    if (sel->len == 0) {
        usage_error("no case of %s matches --filter '%s'", files[0], filter);
    }
    hyvm = find_hyvm(hyvm_opt, m);
    if (list) {
        /* What would run; a binary not found is shown as asked for. */
        matrix_set_binary(m, hyvm ? hyvm : hyvm_opt ? hyvm_opt : m->hyvm ? m->hyvm : "hyvm");
        list_cases(sel, verbose);
        matrix_free(m);
        return MATRIX_EXIT_PASS;
    }
    if (!hyvm) {
        usage_error("cannot find hyvm%s%s (give --hyvm PATH)", hyvm_opt || m->hyvm ? ": " : "",
                    hyvm_opt ? hyvm_opt : m->hyvm ? m->hyvm : "");
    }
    matrix_set_binary(m, hyvm);

    opt = (struct matrix_options){
        .jobs = jobs ? (unsigned)jobs : MAX(g_get_num_processors(), 1u),
        .logs_dir = logs ? logs : DEFAULT_LOGS,
        .tail_lines = tail,
    };
    if (g_mkdir_with_parents(opt.logs_dir, 0755) < 0) {
        usage_error("cannot make the logs folder %s: %s", opt.logs_dir, g_strerror(errno));
    }
    t0 = g_get_monotonic_time();
    rep = matrix_report_new(sel, &opt);
    matrix_run(sel, &opt, rep);
    seconds = (g_get_monotonic_time() - t0) / 1e6;
    status = matrix_report_finish(rep, seconds);
    matrix_report_free(rep);
    if (junit && !matrix_junit_write(junit, m, sel, seconds, opt.tail_lines, &err)) {
        g_printerr("hyvm-matrix: --junit: %s\n", err->message);
        status = MATRIX_EXIT_USAGE;
    }
    g_ptr_array_set_size(sel, 0);
    matrix_free(m);
    return status;
}
