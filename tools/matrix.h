/*
 * hyvm-matrix: runs a boot matrix (kernels x initrds x machines x accels x
 * smp x extra options) of hyvm VMs in parallel and judges each case from
 * its serial console and exit status, without a person.  The matrix file
 * format is described at the top of matrix-file.c and in README.md.
 *
 *   matrix-main.c    command line, start-up order, exit status
 *   matrix-file.c    the matrix file: cases, their command lines and
 *                    expectations
 *   matrix-run.c     the VMs: spawning, console capture, timeouts, verdicts
 *   matrix-report.c  TAP on stdout, progress on stderr, JUnit XML
 *
 * Threads: one, the main thread, running a GMainLoop while VMs run.
 */
#ifndef HYVM_TOOLS_MATRIX_H
#define HYVM_TOOLS_MATRIX_H

#include <stdbool.h>
#include <stdio.h>

#include <glib.h>

/* Exit statuses of hyvm-matrix. */
#define MATRIX_EXIT_PASS 0      /* every case that ran met its expectations */
#define MATRIX_EXIT_FAIL 1      /* at least one case did not */
#define MATRIX_EXIT_USAGE 2     /* bad command line or matrix file */

/* Everything a group of the file can set for the cases it applies to. */
struct matrix_settings {
    char *memory;               /* -m, or NULL */
    char *append;               /* -append, or NULL */
    GPtrArray *expect;          /* GRegex *: must each match the log */
    GPtrArray *reject;          /* GRegex *: none may match the log */
    GPtrArray *extra;           /* char *: options after the fixed part */
    unsigned timeout_s;
    int exit_status;            /* the VM's expected exit status */
    bool stop_on_match;         /* end the VM once every expect matched */
    char *skip;                 /* why the case is not run, or NULL */
};

enum matrix_verdict {
    MATRIX_PENDING,
    MATRIX_PASS,
    MATRIX_FAIL,
    MATRIX_SKIP,
};

struct matrix_case {
    unsigned number;            /* 1-based, in the order of the output */
    char *name;                 /* "vmlinuz/initrd.gz/pc/tcg/smp1/0" */
    /* Axis values; NULL (or -1) where the matrix has no such axis. */
    char *kernel, *initrd, *machine, *accel, *smp;
    int extra_index;
    bool explicit_case;         /* an [extra-case] group, not the product */
    struct matrix_settings set;
    bool needs_kvm;             /* every accelerator it lists is kvm */
    char **argv;                /* the VM's command line */
    char *log_path;

    /* The run, filled by matrix-run.c. */
    enum matrix_verdict verdict;
    char *reason;               /* why it failed or was skipped */
    bool exited;
    int wait_status;            /* waitpid()'s, when exited */
    bool timed_out;
    double seconds;
    GString *log;               /* the VM's console and stderr, as written */
};

struct matrix {
    char *path;                 /* the file, as given */
    char *name;                 /* the JUnit suite's name */
    char *hyvm;                 /* hyvm= (resolved against the file), or NULL */
    GPtrArray *cases;           /* struct matrix_case *, every case of the file */
};

/* matrix-file.c */
struct matrix *matrix_load(const char *path, GError **errp);
void matrix_free(struct matrix *m);
/* Completes each case's command line with the binary to run. */
void matrix_set_binary(struct matrix *m, const char *hyvm);
char *matrix_case_cmdline(const struct matrix_case *c);

struct matrix_options {
    unsigned jobs;
    const char *logs_dir;
    unsigned tail_lines;        /* of the log in reports */
};

/* matrix-run.c */
/* Runs the cases of sel (struct matrix_case *), their logs in
 * opt->logs_dir (which exists), and fills in their verdicts. */
struct matrix_report;
void matrix_run(GPtrArray *sel, const struct matrix_options *opt, struct matrix_report *rep);
/* Why KVM with hardware virtualization cannot run here, or NULL. */
char *matrix_kvm_unusable(void);

/* matrix-report.c */
struct matrix_report *matrix_report_new(GPtrArray *sel, const struct matrix_options *opt);
void matrix_report_case_started(struct matrix_report *r, struct matrix_case *c);
void matrix_report_case_done(struct matrix_report *r, struct matrix_case *c);
/* The summary line; returns the exit status. */
int matrix_report_finish(struct matrix_report *r, double seconds);
void matrix_report_free(struct matrix_report *r);
bool matrix_junit_write(const char *path, const struct matrix *m, GPtrArray *sel,
                        double seconds, unsigned tail_lines, GError **errp);
/* Text fit for XML 1.0 and YAML: valid UTF-8 without control characters. */
char *matrix_printable(const char *s, gssize len);
/* The last n lines of the case's log, printable. */
char *matrix_log_tail(const struct matrix_case *c, unsigned n);

#endif
