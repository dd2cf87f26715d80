/*
 * One-line error reporting to stderr, as QEMU's error_report().
 * Any thread; each call is one write so lines from threads do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "system/error.h"

static char progname[64] = "hyvm";

G_DEFINE_QUARK(hyvm-error-quark, hyvm_error)

void error_set_progname(const char *argv0)
{
    const char *base;

    if (!argv0 || !*argv0) {
        return;
    }
    base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    if (*base) {
        g_strlcpy(progname, base, sizeof(progname));
    }
}

const char *error_get_progname(void)
{
    return progname;
}

static void report(const char *kind, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_autofree char *line = g_strdup_printf("%s: %s%s\n", progname, kind, msg);
    size_t len = strlen(line);
    ssize_t n;

    /* One write(2): the line stays whole even with vCPU threads reporting. */
    fflush(stdout);
    do {
        n = write(STDERR_FILENO, line, len);
    } while (n < 0 && errno == EINTR);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report("warning: ", fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report("info: ", fmt, ap);
    va_end(ap);
}

void error_report_err(GError *err)
{
    if (err) {
        error_report("%s", err->message);
        g_error_free(err);
    }
}
