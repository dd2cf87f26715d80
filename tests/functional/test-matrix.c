/*
 * hyvm-matrix as a CI job runs it: matrix files written here, the program
 * run, its exit status, TAP, JUnit XML and logs read back.
 *
 *   /matrix/quick/file-*  the matrix file and command line: errors (exit
 *                     status 2 naming file, line and key), the cases and
 *                     their command lines (--list -v), --filter.  Nothing
 *                     boots.
 *   /matrix/quick/run-*   verdicts, with a shell script in hyvm's place that
 *                     acts on its -append word: pass, exit statuses,
 *                     timeout (and SIGKILL after an ignored SIGTERM),
 *                     reject, stop-on-match, a log full of control
 *                     characters in the JUnit XML, SIGTERM to the
 *                     runner.  Seconds, no guest.
 *   /matrix/boot      Debian's kernel (fixtures.py) on hyvm: microvm and
 *                     pc, smp 1 and 2, one case made to fail, one stopped
 *                     on its match, one kvm case skipped or run as the
 *                     host allows (judged by vm.c's own check).
 *
 * The environment: HYVM_MATRIX (the program under test), HYVM_BINARY and
 * what vm.h reads for the fixtures.
 *
 * One thread.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "vm.h"

static const char *matrix_bin;

/* ---- running hyvm-matrix ---- */

struct mx {
    char *dir;                  /* a temporary folder, the working directory */
    int status;                 /* exit status, -1 when it did not exit */
    char *out, *err;
};

static void mx_init(struct mx *x)
{
    g_autoptr(GError) err = NULL;

    memset(x, 0, sizeof(*x));
    x->dir = g_dir_make_tmp("hyvm-matrix-XXXXXX", &err);
    g_assert_no_error(err);
}

static void rm_rf(const char *path)
{
    GDir *d = g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)
              ? g_dir_open(path, 0, NULL) : NULL;
    const char *n;

    while (d && (n = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(path, n, NULL);

        rm_rf(p);
    }
    if (d) {
        g_dir_close(d);
    }
    g_remove(path);
}

static void mx_free(struct mx *x)
{
    rm_rf(x->dir);
    g_free(x->dir);
    g_free(x->out);
    g_free(x->err);
}

static char *mx_path(struct mx *x, const char *name)
{
    return g_build_filename(x->dir, name, NULL);
}

static void mx_write(struct mx *x, const char *name, const char *text, int mode)
{
    g_autofree char *p = mx_path(x, name);
    g_autoptr(GError) err = NULL;

    g_file_set_contents(p, text, -1, &err);
    g_assert_no_error(err);
    g_assert_cmpint(g_chmod(p, mode), ==, 0);
}

/* Runs hyvm-matrix with args (NULL-terminated) in x->dir. */
static void mx_run(struct mx *x, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    const char *a;
    va_list ap;
    int wstatus;

    g_ptr_array_add(argv, (char *)matrix_bin);
    va_start(ap, x);
    while ((a = va_arg(ap, const char *))) {
        g_ptr_array_add(argv, (char *)a);
    }
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    g_free(x->out);
    g_free(x->err);
    g_assert_true(g_spawn_sync(x->dir, (char **)argv->pdata, NULL, G_SPAWN_STDIN_FROM_DEV_NULL,
                               vm_child_setup, NULL, &x->out, &x->err, &wstatus, &err));
    g_assert_no_error(err);
    x->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    g_test_message("hyvm-matrix exit status %d\nstdout:\n%s\nstderr:\n%s", x->status, x->out,
                   x->err);
}

/* ---- /matrix/file ---- */

/* A file that must be refused: exit status 2, and stderr holds each of
 * the NULL-terminated strings (file:line, group, key, what). */
static void expect_refused(const char *text, ...)
{
    struct mx x;
    const char *want;
    va_list ap;

    mx_init(&x);
    mx_write(&x, "kernel", "", 0644);
    mx_write(&x, "m.ini", text, 0644);
    mx_run(&x, "--list", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 2);
    g_assert_cmpstr(x.out, ==, "");
    g_assert_true(g_str_has_prefix(x.err, "hyvm-matrix: m.ini"));
    g_assert_nonnull(strchr(x.err, '\n'));
    g_assert_true(strchr(x.err, '\n')[1] == 0);     /* one line */
    va_start(ap, text);
    while ((want = va_arg(ap, const char *))) {
        if (!strstr(x.err, want)) {
            g_test_message("wanted '%s' in: %s", want, x.err);
            g_test_fail();
        }
    }
    va_end(ap);
    mx_free(&x);
}

static void test_file_bad_key(void)
{
    expect_refused("[matrix]\nmachines=pc\n# a comment\nbogus=1\n",
                   "m.ini:4: [matrix] bogus: unknown key", NULL);
    /* A key of [matrix] that a [case] group does not take. */
    expect_refused("[matrix]\nmachines=pc\n\n[case x]\nmachine=pc\nmachines=pc\n",
                   "m.ini:6: [case x] machines: unknown key", NULL);
    expect_refused("[matrix]\nmachines=pc\n[cases x]\n", "m.ini:3: [cases x]: unknown group",
                   NULL);
    expect_refused("[other]\nmachines=pc\n", "no [matrix] group", NULL);
    expect_refused("[matrix]\nmachines=pc\nthis line is not a key\n", "m.ini: ", NULL);
}

static void test_file_bad_regex(void)
{
    expect_refused("[matrix]\nmachines=pc\nexpect=fine;(unclosed\n",
                   "m.ini:3: [matrix] expect: bad regex '(unclosed'", NULL);
    expect_refused("[matrix]\nmachines=pc\n[case a]\nmachine=pc\nreject=[z-a]\n",
                   "m.ini:5: [case a] reject: bad regex '[z-a]'", NULL);
    expect_refused("[matrix]\nmachines=pc\n[case a]\nname=*x\n",
                   "m.ini:4: [case a] name: bad regex", NULL);
}

static void test_file_empty_axis(void)
{
    expect_refused("[matrix]\nmachines=\n", "m.ini:2: [matrix] machines: empty list", NULL);
    expect_refused("[matrix]\nmachines=pc\nsmp=1;;2\n", "m.ini:3: [matrix] smp: empty entry",
                   NULL);
    expect_refused("[matrix]\nextra=\n", "m.ini:2: [matrix] extra: empty list", NULL);
    expect_refused("[matrix]\nmemory=1G\n", "no cases", NULL);
}

static void test_file_bad_values(void)
{
    expect_refused("[matrix]\nmachines=pc\ntimeout=soon\n",
                   "m.ini:3: [matrix] timeout: 'soon' is not a whole number", NULL);
    expect_refused("[matrix]\nmachines=pc\nexit-status=256\n",
                   "m.ini:3: [matrix] exit-status:", NULL);
    expect_refused("[matrix]\nmachines=pc\nstop-on-match=yes\n",
                   "[matrix] stop-on-match: 'yes' is neither", NULL);
    expect_refused("[matrix]\nmachines=pc\nstop-on-match=true\n",
                   "stop-on-match=true without expect=", NULL);
    expect_refused("[matrix]\nmachines=pc;pc\n", "[matrix] machines: 'pc' is listed twice",
                   NULL);
    expect_refused("[matrix]\nkernels=kernel;nothing-here\n",
                   "m.ini:2: [matrix] kernels: no such file:", "nothing-here", NULL);
    expect_refused("[matrix]\nsmp=two\n", "[matrix] smp: 'two' does not start", NULL);
    expect_refused("[matrix]\nextra=-append 'unclosed\n", "[matrix] extra: cannot split",
                   NULL);
    expect_refused("[matrix]\nmachines=pc;microvm\n\n[case q]\nmachine=q35\n",
                   "m.ini:4: [case q]: selects no case", NULL);
    expect_refused("[matrix]\nmachines=pc\n[case q]\ntimeout=5\n", "[case q]: selects no case",
                   NULL);
    expect_refused("[matrix]\nmachines=pc\n[extra-case pc]\nmachine=pc\n",
                   "[extra-case pc]: a case named 'pc' exists already", NULL);
}

static void test_file_command_line(void)
{
    struct mx x;

    mx_init(&x);
    mx_run(&x, NULL);
    g_assert_cmpint(x.status, ==, 2);
    g_assert_nonnull(strstr(x.err, "hyvm-matrix: give one matrix file"));
    mx_run(&x, "--bogus", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 2);
    mx_run(&x, "no-such.ini", NULL);
    g_assert_cmpint(x.status, ==, 2);
    g_assert_nonnull(strstr(x.err, "no-such.ini"));
    mx_write(&x, "m.ini", "[matrix]\nmachines=pc;microvm\n", 0644);
    mx_run(&x, "--filter", "(", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 2);
    g_assert_nonnull(strstr(x.err, "--filter: bad regex"));
    mx_run(&x, "--filter", "q35", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 2);
    g_assert_nonnull(strstr(x.err, "no case of m.ini matches --filter 'q35'"));
    mx_run(&x, "--help", NULL);
    g_assert_cmpint(x.status, ==, 0);
    g_assert_nonnull(strstr(x.out, "[extra-case NAME]"));
    mx_run(&x, "--version", NULL);
    g_assert_cmpint(x.status, ==, 0);
    g_assert_true(g_str_has_prefix(x.out, "hyvm-matrix version "));
    mx_free(&x);
}

/* The lines of --list -v for one case: its name, then "  key: value". */
static char *listed(const char *out, const char *name)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    GString *s = NULL;

    for (unsigned i = 0; lines[i]; i++) {
        if (s && lines[i][0] != ' ') {
            break;
        }
        if (s) {
            g_string_append_printf(s, "%s\n", lines[i]);
        } else if (!strcmp(lines[i], name)) {
            s = g_string_new(NULL);
        }
    }
    return s ? g_string_free(s, FALSE) : NULL;
}

static void test_file_cases(void)
{
    struct mx x;
    g_autofree char *k1 = NULL, *k2 = NULL, *vml = NULL, *ird = NULL, *fake = NULL;
    g_autofree char *want = NULL, *got = NULL;
    g_auto(GStrv) names = NULL;

    mx_init(&x);
    g_assert_cmpint(g_mkdir(k1 = mx_path(&x, "v1"), 0755), ==, 0);
    g_assert_cmpint(g_mkdir(k2 = mx_path(&x, "v2"), 0755), ==, 0);
    g_assert_cmpint(g_mkdir(fake = mx_path(&x, "bin"), 0755), ==, 0);
    mx_write(&x, "v1/bzImage", "", 0644);
    mx_write(&x, "v2/bzImage", "", 0644);
    mx_write(&x, "vmlinuz", "", 0644);
    mx_write(&x, "initrd.gz", "", 0644);
    mx_write(&x, "bin/hyvm", "#!/bin/sh\n", 0755);
    vml = mx_path(&x, "vmlinuz");
    ird = mx_path(&x, "initrd.gz");
    /* Relative paths from the file's folder; two bzImage: their paths name
     * them.  Regexes keep their backslashes; '\;' in a list. */
    mx_write(&x, "m.ini",
             "# hyvm-matrix test\n"
             "[matrix]\n"
             "kernels=v1/bzImage; v2/bzImage ;vmlinuz;\n"
             "initrds=initrd.gz\n"
             "machines=microvm;pc\n"
             "accels=tcg;kvm,kernel-irqchip=split\n"
             "smp=1;4\n"
             "extra=;-cpu max -append \"a b\"\n"
             "memory=512M\n"
             "append=console=ttyS0 quiet\n"
             "timeout=60\n"
             "expect=^HYVM-BOOT-OK\\r?$;a\\;b\n"
             "hyvm=bin/hyvm\n"
             "\n"
             "[case pc-smp4]\n"
             "machine=pc\n"
             "smp=smp4\n"
             "extra-index=1\n"
             "expect=\\d+ CPUs\n"
             "extra=-nic user\n"
             "exit-status=3\n"
             "\n"
             "[case no-kvm-on-v2]\n"
             "kernel=v2/bzImage\n"
             "accel=kvm,kernel-irqchip=split\n"
             "skip=not on v2\n"
             "\n"
             "[case by-name]\n"
             "name=^vmlinuz/.*/microvm/tcg/smp1/0$\n"
             "append=\n"
             "stop-on-match=true\n"
             "reject=panic\n"
             "\n"
             "[extra-case fallback]\n"
             "kernel=vmlinuz\n"
             "accel=kvm:tcg\n"
             "extra=-M microvm,acpi=off\n",
             0644);
    mx_run(&x, "--list", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 0);
    names = g_strsplit(x.out, "\n", -1);
    /* 3 kernels x 1 x 2 x 2 x 2 x 2, the last axis fastest, then the
     * extra case. */
    g_assert_cmpuint(g_strv_length(names), ==, 3 * 2 * 2 * 2 * 2 + 1 + 1);
    g_assert_cmpstr(names[0], ==, "v1/bzImage/initrd.gz/microvm/tcg/smp1/0");
    g_assert_cmpstr(names[1], ==, "v1/bzImage/initrd.gz/microvm/tcg/smp1/1");
    g_assert_cmpstr(names[2], ==, "v1/bzImage/initrd.gz/microvm/tcg/smp4/0");
    g_assert_cmpstr(names[4], ==, "v1/bzImage/initrd.gz/microvm/kvm,kernel-irqchip=split/smp1/0");
    g_assert_cmpstr(names[8], ==, "v1/bzImage/initrd.gz/pc/tcg/smp1/0");
    g_assert_cmpstr(names[16], ==, "v2/bzImage/initrd.gz/microvm/tcg/smp1/0");
    g_assert_cmpstr(names[47], ==, "vmlinuz/initrd.gz/pc/kvm,kernel-irqchip=split/smp4/1");
    g_assert_cmpstr(names[48], ==, "fallback");
    g_assert_cmpstr(names[49], ==, "");

    mx_run(&x, "--list", "-v", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 0);
    /* The plain case: [matrix] alone. */
    got = listed(x.out, "v1/bzImage/initrd.gz/microvm/tcg/smp1/0");
    want = g_strdup_printf("  command: %s/bin/hyvm -M microvm -accel tcg -smp 1 -m 512M "
                           "-kernel %s/v1/bzImage -initrd %s -append 'console=ttyS0 quiet' "
                           "-nographic -nic none -no-reboot\n"
                           "  timeout: 60\n  exit-status: 0\n"
                           "  expect: ^HYVM-BOOT-OK\\r?$\n  expect: a\\;b\n",
                           x.dir, x.dir, ird);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
    g_free(want);
    /* [case pc-smp4]: the axis' extra, then the case's; its expect and
     * exit status. */
    got = listed(x.out, "vmlinuz/initrd.gz/pc/tcg/smp4/1");
    want = g_strdup_printf("  command: %s/bin/hyvm -M pc -accel tcg -smp 4 -m 512M "
                           "-kernel %s -initrd %s -append 'console=ttyS0 quiet' "
                           "-nographic -nic none -no-reboot -cpu max -append 'a b' -nic user\n"
                           "  timeout: 60\n  exit-status: 3\n  expect: \\d+ CPUs\n",
                           x.dir, vml, ird);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
    g_free(want);
    /* Not selected by pc-smp4: extra index 0. */
    got = listed(x.out, "vmlinuz/initrd.gz/pc/tcg/smp4/0");
    g_assert_nonnull(strstr(got, "  exit-status: 0\n"));
    g_free(got);
    /* [case no-kvm-on-v2] */
    got = listed(x.out, "v2/bzImage/initrd.gz/pc/kvm,kernel-irqchip=split/smp1/0");
    g_assert_nonnull(strstr(got, "-accel kvm,kernel-irqchip=split "));
    g_assert_nonnull(strstr(got, "  skip: not on v2\n  needs: kvm\n"));
    g_free(got);
    got = listed(x.out, "v1/bzImage/initrd.gz/pc/kvm,kernel-irqchip=split/smp1/0");
    g_assert_null(strstr(got, "skip:"));
    g_free(got);
    /* [case by-name]: an empty append= leaves -append ''. */
    got = listed(x.out, "vmlinuz/initrd.gz/microvm/tcg/smp1/0");
    g_assert_nonnull(strstr(got, " -append '' -nographic"));
    g_assert_nonnull(strstr(got, "  reject: panic\n  stop-on-match: true\n"));
    g_free(got);
    /* The extra case: kvm:tcg falls back, so it needs no KVM. */
    got = listed(x.out, "fallback");
    want = g_strdup_printf("  command: %s/bin/hyvm -accel kvm:tcg -m 512M -kernel %s "
                           "-append 'console=ttyS0 quiet' -nographic -nic none -no-reboot "
                           "-M microvm,acpi=off\n"
                           "  timeout: 60\n  exit-status: 0\n"
                           "  expect: ^HYVM-BOOT-OK\\r?$\n  expect: a\\;b\n", x.dir, vml);
    g_assert_cmpstr(got, ==, want);

    /* --filter: the matching cases, in order; --hyvm over hyvm=. */
    mx_run(&x, "--list", "-v", "--hyvm", "/bin/true", "--filter", "^v2/.*/pc/tcg/smp1", "m.ini",
           NULL);
    g_assert_cmpint(x.status, ==, 0);
    g_assert_true(g_str_has_prefix(x.out, "v2/bzImage/initrd.gz/pc/tcg/smp1/0\n"
                                          "  command: /bin/true -M pc "));
    g_assert_nonnull(strstr(x.out, "\nv2/bzImage/initrd.gz/pc/tcg/smp1/1\n"));
    g_strfreev(names);
    names = g_strsplit(x.out, "\nv", -1);
    g_assert_cmpuint(g_strv_length(names), ==, 2);
    mx_free(&x);
}

/* ---- /matrix/run ---- */

/* In hyvm's place: acts on the word after -append. */
static const char fake_hyvm[] =
    "#!/bin/sh\n"
    "while [ $# -gt 0 ]; do\n"
    "    [ \"$1\" = -append ] && mode=$2\n"
    "    shift\n"
    "done\n"
    "echo \"fake hyvm: $mode\"\n"
    "case $mode in\n"
    "ok) echo HYVM-BOOT-OK; exit 0 ;;\n"
    "status3) echo HYVM-BOOT-OK; echo 'on stderr' >&2; exit 3 ;;\n"
    "hang) printf 'login: '; exec sleep 600 ;;\n"
    "deaf) trap '' TERM; echo HYVM-BOOT-OK; while :; do sleep 1; done ;;\n"
    "panic) echo 'Kernel panic - not syncing: VFS'; exec sleep 600 ;;\n"
    "ctrl) printf 'HYVM-BOOT-OK\\r\\n\\033[1;31mred\\033[0m \\001\\002\\003\\013\\f\\000 '\n"
    "      printf '<&> ]]> \\377\\376 \\357\\277\\276 \\302\\205\\n...\\n'; exit 0 ;;\n"
    "esac\n"
    "exit 99\n";

struct junit {
    GHashTable *root;           /* attributes of <testsuites> */
    unsigned testcases, failures, skipped;
    GHashTable *failure_text;   /* testcase name -> text of its <failure> */
    GHashTable *failure_msg;    /* testcase name -> message= */
    char *current;              /* the testcase being read */
    bool in_failure;
};

static void junit_start(GMarkupParseContext *ctx, const char *el, const char **names,
                        const char **values, gpointer data, GError **err)
{
    struct junit *j = data;

    if (!strcmp(el, "testsuites")) {
        for (unsigned i = 0; names[i]; i++) {
            g_hash_table_insert(j->root, g_strdup(names[i]), g_strdup(values[i]));
        }
    } else if (!strcmp(el, "testcase")) {
        j->testcases++;
        for (unsigned i = 0; names[i]; i++) {
            if (!strcmp(names[i], "name")) {
                g_free(j->current);
                j->current = g_strdup(values[i]);
            }
        }
    } else if (!strcmp(el, "failure")) {
        j->failures++;
        j->in_failure = true;
        for (unsigned i = 0; names[i]; i++) {
            if (!strcmp(names[i], "message")) {
                g_hash_table_insert(j->failure_msg, g_strdup(j->current), g_strdup(values[i]));
            }
        }
    } else if (!strcmp(el, "skipped")) {
        j->skipped++;
    }
}

static void junit_end(GMarkupParseContext *ctx, const char *el, gpointer data, GError **err)
{
    struct junit *j = data;

    if (!strcmp(el, "failure")) {
        j->in_failure = false;
    }
}

static void junit_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data,
                       GError **err)
{
    struct junit *j = data;

    if (j->in_failure) {
        g_hash_table_insert(j->failure_text, g_strdup(j->current), g_strndup(text, len));
    }
}

static void junit_read(struct junit *j, const char *path)
{
    static const GMarkupParser parser = { junit_start, junit_end, junit_text, NULL, NULL };
    g_autofree char *xml = NULL;
    g_autoptr(GError) err = NULL;
    GMarkupParseContext *ctx;
    gsize len;

    memset(j, 0, sizeof(*j));
    j->root = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    j->failure_text = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    j->failure_msg = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_assert_true(g_file_get_contents(path, &xml, &len, &err));
    g_assert_true(g_str_has_prefix(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    /* GMarkup is stricter than XML here and there, never laxer about what
     * it accepts: what it reads, XML 1.0 readers read.  Besides, no
     * character that XML 1.0 forbids, as itself or as a reference. */
    g_assert_true(g_utf8_validate(xml, len, NULL));
    for (gsize i = 0; i < len; i++) {
        unsigned char ch = xml[i];

        g_assert_true(ch >= 0x20 || ch == '\n' || ch == '\t');
    }
    g_assert_null(strstr(xml, "&#x"));
    g_assert_null(strstr(xml, "&#"));
    ctx = g_markup_parse_context_new(&parser, 0, j, NULL);
    g_assert_true(g_markup_parse_context_parse(ctx, xml, len, &err));
    g_assert_no_error(err);
    g_assert_true(g_markup_parse_context_end_parse(ctx, &err));
    g_assert_no_error(err);
    g_markup_parse_context_free(ctx);
}

static void junit_clear(struct junit *j)
{
    g_hash_table_unref(j->root);
    g_hash_table_unref(j->failure_text);
    g_hash_table_unref(j->failure_msg);
    g_free(j->current);
}

/* TAP: the plan, then "ok N - name" lines in order, each "ok", "not ok"
 * or "skip" as in want[] ({name, verdict}, NULL-ended). */
static void check_tap(const char *out, const char *const (*want)[2])
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    unsigned n = 0, i = 0, results = 0;
    g_autofree char *plan = NULL;

    while (want[n][0]) {
        n++;
    }
    g_assert_cmpstr(lines[0], ==, "TAP version 13");
    plan = g_strdup_printf("1..%u", n);
    g_assert_cmpstr(lines[1], ==, plan);
    for (i = 2; lines[i]; i++) {
        const char *l = lines[i];
        g_autofree char *ok = NULL, *not_ok = NULL;

        if (l[0] == ' ' || !l[0]) {
            continue;           /* a YAML block, or the end */
        }
        g_assert_cmpuint(results, <, n);
        ok = g_strdup_printf("ok %u - %s", results + 1, want[results][0]);
        not_ok = g_strdup_printf("not ok %u - %s", results + 1, want[results][0]);
        if (!strcmp(want[results][1], "ok")) {
            g_assert_cmpstr(l, ==, ok);
        } else if (!strcmp(want[results][1], "not ok")) {
            g_assert_cmpstr(l, ==, not_ok);
            /* Its YAML block. */
            g_assert_cmpstr(lines[i + 1], ==, "  ---");
            g_assert_true(g_str_has_prefix(lines[i + 2], "  reason: \""));
        } else {
            g_assert_true(g_str_has_prefix(l, ok));
            g_assert_true(g_str_has_prefix(l + strlen(ok), " # SKIP "));
        }
        results++;
    }
    g_assert_cmpuint(results, ==, n);
}

static char *read_log(struct mx *x, const char *name)
{
    g_autofree char *p = g_strdup_printf("%s/logs/%s.log", x->dir, name);
    char *text = NULL;

    return g_file_get_contents(p, &text, NULL, NULL) ? text : NULL;
}

static void test_run_verdicts(void)
{
    struct mx x;
    struct junit j;
    g_autofree char *kvm_case = NULL, *log = NULL, *junit_path = NULL, *m = NULL;
    const char *kvm = vm_kvm_missing() ? "skip" : "ok";
    gint64 t0;
    double wall;
    const char *const want[][2] = {
        { "ok", "ok" },
        { "status-3", "ok" },
        { "wrong-status", "not ok" },
        { "timeout", "not ok" },
        { "deaf", "not ok" },
        { "stop", "ok" },
        { "reject", "not ok" },
        { "ctrl", "not ok" },
        { "skipped", "skip" },
        { "kvm", kvm },
        { NULL, NULL },
    };

    mx_init(&x);
    mx_write(&x, "fake-hyvm", fake_hyvm, 0755);
    mx_write(&x, "k", "", 0644);
    m = g_strdup_printf(
        "[matrix]\n"
        "hyvm=./fake-hyvm\n"
        "timeout=60\n"
        "expect=^HYVM-BOOT-OK$\n"
        "[extra-case ok]\nappend=ok\n"
        "[extra-case status-3]\nappend=status3\nexit-status=3\nexpect=on stderr\n"
        "[extra-case wrong-status]\nappend=status3\n"
        "[extra-case timeout]\nappend=hang\ntimeout=1\n"
        "[extra-case deaf]\nappend=deaf\ntimeout=1\n"
        "[extra-case stop]\nappend=hang\nexpect=^fake;login: $\nstop-on-match=true\n"
        "[extra-case reject]\nappend=panic\nreject=^Kernel panic\n"
        "[extra-case ctrl]\nappend=ctrl\nexpect=^HYVM-BOOT-OK$;never\n"
        "[extra-case skipped]\nappend=ok\nskip=not today\n"
        "[extra-case kvm]\nappend=ok\naccel=kvm\nkernel=k\n");
    mx_write(&x, "m.ini", m, 0644);
    t0 = g_get_monotonic_time();
    mx_run(&x, "-j3", "--logs", "logs", "--junit", "junit.xml", "m.ini", NULL);
    wall = (g_get_monotonic_time() - t0) / 1e6;
    g_assert_cmpint(x.status, ==, 1);
    check_tap(x.out, want);
    /* The reasons, in the YAML blocks. */
    g_assert_nonnull(strstr(x.out, "reason: \"exit status 3, expected 0\"\n"
                                   "  exit-status: \"3\"\n"));
    g_assert_nonnull(strstr(x.out, "reason: \"timeout after 1 s; expect /^HYVM-BOOT-OK$/ did "
                                   "not match\"\n  exit-status: \"signal 15\"\n"));
    g_assert_nonnull(strstr(x.out, "reason: \"timeout after 1 s\"\n"
                                   "  exit-status: \"signal 9\"\n"));
    g_assert_nonnull(strstr(x.out, "reason: \"reject /^Kernel panic/ matched: Kernel panic - "
                                   "not syncing: VFS\"\n"));
    g_assert_nonnull(strstr(x.out, "reason: \"expect /never/ did not match\"\n"));
    g_assert_nonnull(strstr(x.out, "\n  tail: |2\n    fake hyvm: status3\n"
                                   "    HYVM-BOOT-OK\n    on stderr\n  ...\n"));
    /* A tail with a line starting "..." would end meson's YAML block. */
    g_assert_nonnull(strstr(x.out, "\n  tail: \"fake hyvm: ctrl\\nHYVM-BOOT-OK\\nred ?????\xef\xbf\xbd "
                                   "<&> ]]> \xef\xbf\xbd\xef\xbf\xbd ? ?\\n...\"\n"));
    /* One line per finished case on stderr (not a terminal), a summary. */
    g_assert_nonnull(strstr(x.err, "] FAIL reject: reject /^Kernel panic/ matched"));
    g_assert_nonnull(strstr(x.err, "] PASS stop ("));
    g_assert_nonnull(strstr(x.err, "hyvm-matrix: 10 cases: "));
    /* Stopped at the reject and the match, not at the 60 s timeout; the
     * deaf one's SIGKILL came 3 s after its SIGTERM. */
    g_assert_cmpfloat(wall, <, 30);

    junit_path = g_build_filename(x.dir, "junit.xml", NULL);
    junit_read(&j, junit_path);
    g_assert_cmpstr(g_hash_table_lookup(j.root, "tests"), ==, "10");
    g_assert_cmpstr(g_hash_table_lookup(j.root, "failures"), ==, "5");
    g_assert_cmpstr(g_hash_table_lookup(j.root, "skipped"), ==, vm_kvm_missing() ? "2" : "1");
    g_assert_cmpuint(j.testcases, ==, 10);
    g_assert_cmpuint(j.failures, ==, 5);
    g_assert_cmpuint(j.skipped, ==, vm_kvm_missing() ? 2 : 1);
    g_assert_cmpstr(g_hash_table_lookup(j.failure_msg, "wrong-status"), ==,
                    "exit status 3, expected 0");
    /* The log's text, made printable, escaped and read back. */
    g_assert_cmpstr(g_hash_table_lookup(j.failure_text, "ctrl"), ==,
                    "fake hyvm: ctrl\nHYVM-BOOT-OK\nred ?????\xef\xbf\xbd <&> ]]> "
                    "\xef\xbf\xbd\xef\xbf\xbd ? ?\n...");
    junit_clear(&j);

    /* Logs: verbatim, one per case that ran, none for the skipped. */
    log = read_log(&x, "ctrl");
    g_assert_nonnull(log);
    g_assert_nonnull(strstr(log, "HYVM-BOOT-OK\r\n\033[1;31mred"));
    g_free(log);
    log = read_log(&x, "wrong-status");
    g_assert_cmpstr(log, ==, "fake hyvm: status3\nHYVM-BOOT-OK\non stderr\n");
    g_assert_null(read_log(&x, "skipped"));
    log = read_log(&x, "kvm");
    g_assert_true(vm_kvm_missing() ? log == NULL : log != NULL);

    /* Only the cases that pass: exit status 0. */
    mx_run(&x, "--logs", "logs", "--filter", "^(ok|stop|skipped)$", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 0);
    g_assert_true(g_str_has_prefix(x.out, "TAP version 13\n1..3\nok 1 - ok\nok 2 - stop\n"
                                          "ok 3 - skipped # SKIP not today\n"));
    /* --junit into a folder that is not there: status 2, after the run. */
    mx_run(&x, "--logs", "logs", "--filter", "^ok$", "--junit", "no/junit.xml", "m.ini", NULL);
    g_assert_cmpint(x.status, ==, 2);
    g_assert_nonnull(strstr(x.err, "hyvm-matrix: --junit: "));
    mx_free(&x);
}

/* SIGTERM to hyvm-matrix (a CI job's timeout): the running VM is ended,
 * the case not started yet fails as not run, and the reports are
 * written all the same. */
static void test_run_interrupted(void)
{
    struct mx x;
    g_autofree char *junit_path = NULL;
    struct junit j;
    g_autoptr(GError) err = NULL;
    int wstatus;
    /* --foreground: the signal to hyvm-matrix alone, not its VMs. */
    const char *argv[] = { "timeout", "--foreground", "--preserve-status", "-s", "TERM", "2",
                           matrix_bin,
                           "-j1", "--junit", "junit.xml", "m.ini", NULL };
    const char *const want[][2] = { { "hang", "not ok" }, { "next", "not ok" }, { NULL, NULL } };

    mx_init(&x);
    mx_write(&x, "fake-hyvm", fake_hyvm, 0755);
    mx_write(&x, "m.ini", "[matrix]\nhyvm=./fake-hyvm\nexpect=never\n"
             "[extra-case hang]\nappend=hang\n[extra-case next]\nappend=ok\n", 0644);
    g_assert_true(g_spawn_sync(x.dir, (char **)argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                               &x.out, &x.err, &wstatus, &err));
    g_assert_no_error(err);
    g_test_message("stdout:\n%s\nstderr:\n%s", x.out, x.err);
    g_assert_true(WIFEXITED(wstatus));
    g_assert_cmpint(WEXITSTATUS(wstatus), ==, 1);
    check_tap(x.out, want);
    g_assert_nonnull(strstr(x.out, "reason: \"interrupted\"\n"));
    g_assert_nonnull(strstr(x.out, "reason: \"not run: interrupted\"\n"));
    junit_path = g_build_filename(x.dir, "junit.xml", NULL);
    junit_read(&j, junit_path);
    g_assert_cmpuint(j.testcases, ==, 2);
    g_assert_cmpuint(j.failures, ==, 2);
    junit_clear(&j);
    mx_free(&x);
}

/* ---- /matrix/boot ---- */

static const char *const boot_want_tsc = "tsc: Unable to calibrate against PIT";
/* Two VMs at once on a loaded host: microvm's TSC calibration against the
 * PIT fails and the boot stalls (see vm.c) more often than one retry
 * mends.  The kernel's tsc_early_khz= skips that calibration; the rate is
 * any plausible one (the guest's timing is not what is tested here). */
#define BOOT_TSC "tsc_early_khz=2000000"

static bool boot_once(struct mx *x, bool *retry)
{
    const char *kvm = vm_kvm_missing() ? "skip" : "ok";
    const char *const want[][2] = {
        { "vmlinuz/initrd.gz/microvm/tcg/smp1", "ok" },
        { "vmlinuz/initrd.gz/microvm/tcg/smp2", "ok" },
        { "vmlinuz/initrd.gz/pc/tcg/smp1", "not ok" },
        { "vmlinuz/initrd.gz/pc/tcg/smp2", "ok" },
        { "kvm", kvm },
        { NULL, NULL },
    };
    g_autofree char *m = NULL, *junit_path = NULL;
    g_autofree char *timeout = g_strdup_printf("%d", vm_timeout_s);
    struct junit j;
    unsigned logs = 0;

    m = g_strdup_printf(
        "[matrix]\n"
        "kernels=%s\n"
        "initrds=%s\n"
        "machines=microvm;pc\n"
        "accels=tcg\n"
        "smp=1;2\n"
        "memory=256M\n"
        "append=console=ttyS0 hyvm.test=poweroff " BOOT_TSC "\n"
        "timeout=%s\n"
        "expect=^" VM_MARKER "\\r?$\n"
        "reject=Kernel panic\n"
        "\n"
        "[case nproc]\n"
        "smp=2\n"
        "expect=^" VM_MARKER "\\r?$;^HYVM-NPROC: 2\\r?$\n"
        "\n"
        "# Made to fail.\n"
        "[case fails]\n"
        "machine=pc\n"
        "smp=1\n"
        "expect=^" VM_MARKER "\\r?$;^HYVM-NEVER-PRINTED\n"
        "\n"
        "# A shell that never powers off, ended at its match.\n"
        "[case login]\n"
        "name=microvm/tcg/smp2\n"
        "append=console=ttyS0 hyvm.test=shell " BOOT_TSC "\n"
        "stop-on-match=true\n"
        "expect=^" VM_MARKER "\\r?$;^HYVM-CPUS-ONLINE: 0-1\\r?$\n"
        "\n"
        "[extra-case kvm]\n"
        "kernel=%s\n"
        "initrd=%s\n"
        "machine=microvm\n"
        "accel=kvm\n",
        vm_kernel_path, vm_initrd_path, timeout, vm_kernel_path, vm_initrd_path);
    mx_write(x, "m.ini", m, 0644);
    mx_run(x, "-j2", "--junit", "junit.xml", "--hyvm", vm_bin, "m.ini", NULL);

    /* A log with the failed TSC calibration: the host's load, not hyvm's
     * (see vm.c); the caller runs the matrix once more. */
    for (unsigned i = 0; want[i][0]; i++) {
        g_autofree char *name = g_strdelimit(g_strdup(want[i][0]), "/", '_');
        g_autofree char *p = g_strdup_printf("%s/matrix-logs/%s.log", x->dir, name);
        g_autofree char *log = NULL;

        if (g_file_get_contents(p, &log, NULL, NULL) && strstr(log, boot_want_tsc) &&
            !*retry) {
            *retry = true;
            return false;
        }
        if (strcmp(want[i][1], "skip")) {
            g_assert_nonnull(log);
            g_assert_nonnull(strstr(log, "\n" VM_MARKER));
            logs++;
        } else {
            g_assert_null(log);
        }
        if (i == 1) {
            /* Ended by the runner: no poweroff. */
            g_assert_nonnull(strstr(log, "HYVM-CPUS-ONLINE: 0-1"));
            g_assert_null(strstr(log, "reboot: Power down"));
        }
        if (i == 3) {
            g_assert_nonnull(strstr(log, "\nHYVM-NPROC: 2"));
        }
    }
    g_assert_cmpint(x->status, ==, 1);
    check_tap(x->out, want);
    g_assert_nonnull(strstr(x->out, "reason: \"expect /^HYVM-NEVER-PRINTED/ did not match\""));

    junit_path = g_build_filename(x->dir, "junit.xml", NULL);
    junit_read(&j, junit_path);
    g_assert_cmpuint(j.testcases, ==, 5);
    g_assert_cmpuint(j.failures, ==, 1);
    g_assert_cmpuint(j.skipped, ==, 5 - logs);
    g_assert_cmpstr(g_hash_table_lookup(j.root, "tests"), ==, "5");
    g_assert_cmpstr(g_hash_table_lookup(j.root, "failures"), ==, "1");
    g_assert_nonnull(strstr(g_hash_table_lookup(j.failure_text, want[2][0]), VM_MARKER));
    junit_clear(&j);
    return true;
}

static void test_boot(void)
{
    struct mx x;
    bool retry = false;

    if (!vm_fixtures_ready()) {
        return;
    }
    for (;;) {
        mx_init(&x);
        if (boot_once(&x, &retry)) {
            break;
        }
        g_test_message("the TSC calibration failed (host load): running the matrix once more");
        mx_free(&x);
    }
    mx_free(&x);
}

int main(int argc, char **argv)
{
    static const struct vm_config config = {
        .tmp_template = "hyvm-matrix-XXXXXX", .initrd = "initrd.gz", .timeout_s = 120,
        .tail_chars = 3000,
    };

    g_test_init(&argc, &argv, NULL);
    vm_env_init(&config);
    matrix_bin = g_getenv("HYVM_MATRIX");
    if (!matrix_bin || !vm_bin) {
        g_printerr("HYVM_MATRIX and HYVM_BINARY must be set\n");
        return 1;
    }
    g_test_add_func("/matrix/quick/file-bad-key", test_file_bad_key);
    g_test_add_func("/matrix/quick/file-bad-regex", test_file_bad_regex);
    g_test_add_func("/matrix/quick/file-empty-axis", test_file_empty_axis);
    g_test_add_func("/matrix/quick/file-bad-values", test_file_bad_values);
    g_test_add_func("/matrix/quick/file-command-line", test_file_command_line);
    g_test_add_func("/matrix/quick/file-cases", test_file_cases);
    g_test_add_func("/matrix/quick/run-verdicts", test_run_verdicts);
    g_test_add_func("/matrix/quick/run-interrupted", test_run_interrupted);
    g_test_add_func("/matrix/boot", test_boot);
    return g_test_run();
}
