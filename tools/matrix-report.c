/*
 * What hyvm-matrix tells: TAP version 13 on stdout, in case order whatever
 * order the cases end in (a case's line waits for those before it), with a
 * YAML block after each "not ok"; progress on stderr, one status line
 * rewritten in place on a terminal, else one line per finished case; and
 * the JUnit XML file of --junit.
 *
 * Serial logs hold anything: escape sequences, NULs, bytes that are not
 * UTF-8.  XML 1.0 has no way to write most control characters, not even
 * as &#x1; (which g_markup_escape_text would produce), and YAML allows
 * them only escaped, so every piece of a log shown is passed through
 * matrix_printable first.
 *
 * Threads: main thread.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/matrix.h"

struct matrix_report {
    GPtrArray *sel;
    const struct matrix_options *opt;
    bool tty;
    unsigned next_tap;          /* index of the next case to print */
    unsigned done, running, passed, failed, skipped;
};

/* ---- text ---- */

char *matrix_printable(const char *s, gssize len)
{
    g_autofree char *valid = g_utf8_make_valid(s, len);
    GString *out = g_string_sized_new(strlen(valid));

    for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
        gunichar ch = g_utf8_get_char(p);

        if (ch == '\033' && p[1] == '[') {
            /* A terminal's CSI sequence (colours, cursor): up to its final
             * byte, 0x40..0x7e. */
            p += 2;
            while (*p && !(*p >= 0x40 && *p <= 0x7e)) {
                p++;
            }
            if (!*p) {
                break;
            }
        } else if (ch == '\r' || ch == 0x7f) {
            continue;
        } else if ((ch < 0x20 && ch != '\t' && ch != '\n') || (ch >= 0x80 && ch < 0xa0) ||
                   ch == 0xfffe || ch == 0xffff) {
            g_string_append_c(out, '?');
        } else {
            g_string_append_len(out, p, g_utf8_next_char(p) - p);
        }
    }
    return g_string_free(out, FALSE);
}

char *matrix_log_tail(const struct matrix_case *c, unsigned n)
{
    const char *s = c->log ? c->log->str : "";
    gsize end = c->log ? c->log->len : 0, b;

    while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r')) {
        end--;
    }
    b = end;
    for (unsigned lines = 0; b > 0; b--) {
        if (s[b - 1] == '\n' && ++lines == n) {
            break;
        }
    }
    return n ? matrix_printable(s + b, end - b) : g_strdup("");
}

/* A YAML double-quoted scalar of printable text. */
static char *yaml_quote(const char *s)
{
    GString *q = g_string_new("\"");

    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            g_string_append_c(q, '\\');
        }
        if (*s == '\n') {
            g_string_append(q, "\\n");
        } else if (*s == '\t') {
            g_string_append(q, "\\t");
        } else {
            g_string_append_c(q, *s);
        }
    }
    g_string_append_c(q, '"');
    return g_string_free(q, FALSE);
}

/* TAP readers (meson's among them) end a YAML block at any line that
 * starts with "...", whatever its indent: such a tail is quoted instead. */
static bool tail_fits_block(char **lines)
{
    for (unsigned i = 0; lines[i]; i++) {
        if (g_str_has_prefix(lines[i] + strspn(lines[i], " \t"), "...")) {
            return false;
        }
    }
    return true;
}

static char *how_it_ended(const struct matrix_case *c)
{
    if (!c->exited) {
        return g_strdup("did not run");
    }
    if (WIFSIGNALED(c->wait_status)) {
        return g_strdup_printf("signal %d", WTERMSIG(c->wait_status));
    }
    return g_strdup_printf("%d", WEXITSTATUS(c->wait_status));
}

/* ---- TAP ---- */

static void tap_case(const struct matrix_report *r, const struct matrix_case *c)
{
    g_autofree char *name = matrix_printable(c->name, -1);
    g_autoptr(GString) desc = g_string_new(NULL);

    /* '#' starts a directive in TAP: the name's own are escaped. */
    for (const char *p = name; *p; p++) {
        if (*p == '#' || *p == '\\') {
            g_string_append_c(desc, '\\');
        }
        g_string_append_c(desc, *p == '\n' ? ' ' : *p);
    }
    if (c->verdict == MATRIX_SKIP) {
        g_autofree char *why = matrix_printable(c->reason, -1);

        printf("ok %u - %s # SKIP %s\n", c->number, desc->str, why);
    } else if (c->verdict == MATRIX_PASS) {
        printf("ok %u - %s\n", c->number, desc->str);
    } else {
        g_autofree char *reason = matrix_printable(c->reason ? c->reason : "failed", -1);
        g_autofree char *q_reason = yaml_quote(reason);
        g_autofree char *status = how_it_ended(c);
        g_autofree char *q_status = yaml_quote(status);
        g_autofree char *cmd = matrix_case_cmdline(c);
        g_autofree char *p_cmd = matrix_printable(cmd, -1);
        g_autofree char *q_cmd = yaml_quote(p_cmd);
        g_autofree char *p_log = matrix_printable(c->log_path ? c->log_path : "", -1);
        g_autofree char *q_log = yaml_quote(p_log);
        g_autofree char *tail = matrix_log_tail(c, r->opt->tail_lines);
        g_auto(GStrv) lines = g_strsplit(tail, "\n", -1);

        printf("not ok %u - %s\n", c->number, desc->str);
        printf("  ---\n  reason: %s\n  exit-status: %s\n  seconds: %.1f\n  log: %s\n"
               "  command: %s\n", q_reason, q_status, c->seconds, q_log, q_cmd);
        if (*tail && tail_fits_block(lines)) {
            /* A literal block, kept as it is; "|2" says its indent in case
             * its first line starts with spaces. */
            printf("  tail: |2\n");
            for (unsigned i = 0; lines[i]; i++) {
                printf("    %s\n", lines[i]);
            }
        } else if (*tail) {
            g_autofree char *q_tail = yaml_quote(tail);

            printf("  tail: %s\n", q_tail);
        }
        printf("  ...\n");
    }
}

struct matrix_report *matrix_report_new(GPtrArray *sel, const struct matrix_options *opt)
{
    struct matrix_report *r = g_new0(struct matrix_report, 1);

    r->sel = sel;
    r->opt = opt;
    r->tty = isatty(STDERR_FILENO);
    printf("TAP version 13\n1..%u\n", sel->len);
    fflush(stdout);
    return r;
}

/* ---- progress ---- */

static void status_line(const struct matrix_report *r)
{
    if (!r->tty) {
        return;
    }
    fprintf(stderr, "\r\033[K[%u/%u] %u running, %u failed", r->done, r->sel->len, r->running,
            r->failed);
    if (r->skipped) {
        fprintf(stderr, ", %u skipped", r->skipped);
    }
    fflush(stderr);
}

void matrix_report_case_started(struct matrix_report *r, struct matrix_case *c)
{
    r->running++;
    status_line(r);
}

void matrix_report_case_done(struct matrix_report *r, struct matrix_case *c)
{
    g_autofree char *name = matrix_printable(c->name, -1);
    g_autofree char *why = c->reason ? matrix_printable(c->reason, -1) : NULL;

    r->done++;
    if (c->verdict == MATRIX_SKIP) {
        r->skipped++;
    } else {
        /* A case that never started (skipped, or could not run) was never
         * counted as running. */
        if (c->exited) {
            r->running--;
        }
        if (c->verdict == MATRIX_PASS) {
            r->passed++;
        } else {
            r->failed++;
        }
    }
    if (r->tty) {
        if (c->verdict == MATRIX_FAIL) {
            fprintf(stderr, "\r\033[KFAIL %s: %s (%.1f s)\n", name, why, c->seconds);
        }
        status_line(r);
    } else if (c->verdict == MATRIX_SKIP) {
        fprintf(stderr, "[%u/%u] SKIP %s: %s\n", r->done, r->sel->len, name, why);
    } else if (c->verdict == MATRIX_PASS) {
        fprintf(stderr, "[%u/%u] PASS %s (%.1f s)\n", r->done, r->sel->len, name, c->seconds);
    } else {
        fprintf(stderr, "[%u/%u] FAIL %s: %s (%.1f s)\n", r->done, r->sel->len, name, why,
                c->seconds);
    }
    /* TAP in case order: print what is now complete from the front. */
    while (r->next_tap < r->sel->len) {
        struct matrix_case *n = r->sel->pdata[r->next_tap];

        if (n->verdict == MATRIX_PENDING) {
            break;
        }
        tap_case(r, n);
        r->next_tap++;
    }
    fflush(stdout);
}

int matrix_report_finish(struct matrix_report *r, double seconds)
{
    if (r->tty) {
        fprintf(stderr, "\r\033[K");
    }
    fprintf(stderr, "hyvm-matrix: %u cases: %u passed, %u failed, %u skipped in %.1f s; "
            "logs in %s\n", r->sel->len, r->passed, r->failed, r->skipped, seconds,
            r->opt->logs_dir);
    return r->failed ? MATRIX_EXIT_FAIL : MATRIX_EXIT_PASS;
}

void matrix_report_free(struct matrix_report *r)
{
    g_free(r);
}

/* ---- JUnit ---- */

/* printable text, XML-escaped (for attributes and text alike). */
static char *xml_text(const char *s)
{
    g_autofree char *p = matrix_printable(s ? s : "", -1);

    return g_markup_escape_text(p, -1);
}

bool matrix_junit_write(const char *path, const struct matrix *m, GPtrArray *sel,
                        double seconds, unsigned tail_lines, GError **errp)
{
    g_autoptr(GString) x = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
    g_autofree char *suite = xml_text(m->name);
    unsigned failures = 0, skipped = 0;

    for (unsigned i = 0; i < sel->len; i++) {
        const struct matrix_case *c = sel->pdata[i];

        failures += c->verdict == MATRIX_FAIL;
        skipped += c->verdict == MATRIX_SKIP;
    }
    g_string_append_printf(x, "<testsuites name=\"hyvm-matrix\" tests=\"%u\" failures=\"%u\" "
                           "errors=\"0\" skipped=\"%u\" time=\"%.3f\">\n", sel->len, failures,
                           skipped, seconds);
    g_string_append_printf(x, "  <testsuite name=\"%s\" tests=\"%u\" failures=\"%u\" "
                           "errors=\"0\" skipped=\"%u\" time=\"%.3f\" timestamp=\"%s\">\n",
                           suite, sel->len, failures, skipped, seconds, stamp);
    for (unsigned i = 0; i < sel->len; i++) {
        const struct matrix_case *c = sel->pdata[i];
        g_autofree char *name = xml_text(c->name);
        g_autofree char *reason = xml_text(c->reason);

        g_string_append_printf(x, "    <testcase name=\"%s\" classname=\"%s\" time=\"%.3f\"",
                               name, suite, c->seconds);
        if (c->verdict == MATRIX_SKIP) {
            g_string_append_printf(x, ">\n      <skipped message=\"%s\"/>\n", reason);
        } else {
            g_autofree char *cmd = matrix_case_cmdline(c);
            g_autofree char *x_cmd = xml_text(cmd);
            g_autofree char *x_log = xml_text(c->log_path);

            g_string_append(x, ">\n");
            if (c->verdict == MATRIX_FAIL) {
                g_autofree char *tail = matrix_log_tail(c, tail_lines);
                g_autofree char *x_tail = g_markup_escape_text(tail, -1);

                g_string_append_printf(x, "      <failure message=\"%s\">%s</failure>\n",
                                       reason, x_tail);
            }
            g_string_append_printf(x, "      <system-out>command: %s\nlog: %s</system-out>\n",
                                   x_cmd, x_log);
        }
        g_string_append(x, "    </testcase>\n");
    }
    g_string_append(x, "  </testsuite>\n</testsuites>\n");
    return g_file_set_contents(path, x->str, x->len, errp);
}
