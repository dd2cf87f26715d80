/*
 * Error reporting at the edges: the one-line "hyvm: message" style of QEMU's
 * error_report(), and the GError domain used by options, device creation and
 * (later) QMP.  The core uses negative errno; edges use GError **.
 */
#ifndef HYVM_ERROR_H
#define HYVM_ERROR_H

#include <glib.h>

#define HYVM_ERROR hyvm_error_quark()
GQuark hyvm_error_quark(void);

/* GError codes: only used to tell "not built yet" apart from bad input. */
enum {
    HYVM_ERROR_FAILED = 0,
    HYVM_ERROR_UNSUPPORTED = 1,
};

/* The program name errors are prefixed with ("hyvm"), from argv[0]. */
void error_set_progname(const char *argv0);
const char *error_get_progname(void);

/* "hyvm: <message>\n" on stderr. */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "hyvm: warning: <message>\n" on stderr. */
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "hyvm: info: <message>\n" on stderr, for the one-line accelerator notes. */
void info_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Prints err->message with error_report() and frees it. */
void error_report_err(GError *err);

#endif
