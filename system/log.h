/*
 * -d ITEMS and -D FILE: optional logs, as QEMU's qemu_log.  Guest mistakes are
 * logged under LOG_GUEST_ERROR and never stop the host.
 */
#ifndef HYVM_LOG_H
#define HYVM_LOG_H

#include <stdbool.h>
#include <glib.h>

enum {
    LOG_GUEST_ERROR = 1 << 0,  /* guest_errors */
    LOG_UNIMP       = 1 << 1,  /* unimp */
    LOG_IN_ASM      = 1 << 2,  /* in_asm (software CPU) */
    LOG_INT         = 1 << 3,  /* int */
    LOG_EXEC        = 1 << 4,  /* exec */
    LOG_CPU         = 1 << 5,  /* cpu */
    LOG_CPU_RESET   = 1 << 6,  /* cpu_reset */
    LOG_PCALL       = 1 << 7,  /* pcall */
    LOG_MMU         = 1 << 8,  /* mmu */
    LOG_STRACE      = 1 << 9,  /* strace: accepted, nothing to log in system mode */
    LOG_PAGE        = 1 << 10, /* page */
    LOG_NOCHAIN     = 1 << 11, /* nochain */
    LOG_OUT_ASM     = 1 << 12, /* out_asm */
    LOG_OP          = 1 << 13, /* op */
    LOG_TB_STATS    = 1 << 14, /* tb-stats (reserved for the translator) */
};

extern int hyvm_log_mask;

static inline bool log_enabled(int mask)
{
    return (hyvm_log_mask & mask) != 0;
}

/* Parses "-d" items ("guest_errors,unimp"); "help" is handled by the caller. */
int log_parse_items(const char *items, int *mask, GError **errp);
void log_print_help(void);
/* Opens -D FILE; without it logs go to stderr. */
int log_set_file(const char *path, GError **errp);
void log_set_mask(int mask);

void hyvm_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#define log_mask(mask, ...)                   \
    do {                                      \
        if (log_enabled(mask)) {              \
            hyvm_log(__VA_ARGS__);            \
        }                                     \
    } while (0)

#endif
