/*
 * What the HMP files share: the output sink, the command table entry and
 * the helpers commands use to check their arguments and read vCPU state.
 *
 * Threads: main thread, big lock held, like every HMP command.
 */
#ifndef HYVM_HMP_INTERNAL_H
#define HYVM_HMP_INTERNAL_H

#include <stdbool.h>
#include <glib.h>

#include "arch/x86/cpu.h"

/*
 * One command being run.  Everything it prints goes into out, with "\n"
 * turned into "\r\n" as QEMU's monitor does for both the terminal and
 * human-monitor-command.
 */
struct hmp_ctx {
    GString *out;
    const struct hmp_cmd *cmd;
    const char *typed;      /* "xp", "info status": for "Try \"help ...\"" */
};

struct hmp_cmd {
    const char *name;       /* "stop|s": the name and its short forms */
    const char *params;     /* as help shows them */
    const char *help;
    void (*run)(struct hmp_ctx *x, const char *args);
};

extern const struct hmp_cmd hmp_info_cmds[];

void hmp_puts(struct hmp_ctx *x, const char *s);
void hmp_printf(struct hmp_ctx *x, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Prints "NAME: extraneous characters..." and returns false unless args is blank. */
bool hmp_no_args(struct hmp_ctx *x, const char *args);
/* Prints QEMU's "Try \"help CMD\" for more information". */
void hmp_try_help(struct hmp_ctx *x);

/*
 * Reads vCPU index's state, parking the vCPUs first when they run (KVM
 * only hands out registers of a vCPU that is not in KVM_RUN).  False when
 * there is no such vCPU.
 */
bool hmp_cpu_state(unsigned index, struct x86_cpu_state *st);
unsigned hmp_cpu_count(void);

/* hmp-mem.c */
void hmp_x(struct hmp_ctx *x, const char *args);
void hmp_xp(struct hmp_ctx *x, const char *args);

#endif
