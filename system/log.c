/*
 * -d and -D.  hyvm_log() may be called from any thread; stdio's own
 * locking keeps each line whole.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "system/error.h"
#include "system/log.h"

int hyvm_log_mask;
static FILE *log_file;

struct log_item {
    int mask;
    const char *name;
    const char *help;
};

/* Item names and order as QEMU's -d help; descriptions are hyvm's. */
static const struct log_item log_items[] = {
    { LOG_OUT_ASM, "out_asm", "host code the translator emits per block (-accel tcg,jit=on)" },
    { LOG_IN_ASM, "in_asm", "guest instructions of each block the software CPU decodes" },
    { LOG_OP, "op", "translator intermediate ops per block (when built)" },
    { LOG_INT, "int", "interrupts and exceptions, one line each" },
    { LOG_EXEC, "exec", "each block before it runs (very verbose)" },
    { LOG_CPU, "cpu", "registers before each block runs (very verbose)" },
    { LOG_MMU, "mmu", "page walks and TLB activity" },
    { LOG_PCALL, "pcall", "protected-mode far calls, returns and task switches" },
    { LOG_CPU_RESET, "cpu_reset", "registers when a vCPU is reset" },
    { LOG_UNIMP, "unimp", "guest use of things hyvm does not implement" },
    { LOG_GUEST_ERROR, "guest_errors", "invalid guest behaviour (bad register, bad descriptor)" },
    { LOG_PAGE, "page", "accepted for compatibility; logs nothing in system mode" },
    { LOG_NOCHAIN, "nochain", "do not chain blocks, so exec and cpu show every block" },
    { LOG_STRACE, "strace", "accepted for compatibility; logs nothing in system mode" },
    { LOG_TB_STATS, "tb-stats", "per operation, how often translated code called its handler" },
};

int log_parse_items(const char *items, int *mask, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(items, ",", -1);
    int m = 0;

    for (unsigned i = 0; parts[i]; i++) {
        bool found = false;

        if (!strcmp(parts[i], "all")) {
            for (unsigned j = 0; j < G_N_ELEMENTS(log_items); j++) {
                m |= log_items[j].mask;
            }
            continue;
        }
        for (unsigned j = 0; j < G_N_ELEMENTS(log_items); j++) {
            if (!strcmp(parts[i], log_items[j].name)) {
                m |= log_items[j].mask;
                found = true;
                break;
            }
        }
        if (!found) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Unknown log item '%s'; use -d help for the list", parts[i]);
            return -EINVAL;
        }
    }
    *mask = m;
    return 0;
}

void log_print_help(void)
{
    printf("Log items (comma separated):\n");
    for (unsigned i = 0; i < G_N_ELEMENTS(log_items); i++) {
        printf("%-15s %s\n", log_items[i].name, log_items[i].help);
    }
}

int log_set_file(const char *path, GError **errp)
{
    FILE *f = fopen(path, "a");

    if (!f) {
        int err = errno;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "-D %s: %s", path,
                    g_strerror(err));
        return -err;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    if (log_file) {
        fclose(log_file);
    }
    log_file = f;
    return 0;
}

void log_set_mask(int mask)
{
    hyvm_log_mask = mask;
}

void hyvm_log(const char *fmt, ...)
{
    FILE *f = log_file ? log_file : stderr;
    va_list ap;

    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}
