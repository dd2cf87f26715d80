/*
 * Private to the command-line parser (system/options*.c): the state of one
 * config_parse() call, the helpers every option file uses to check values
 * and word errors as QEMU does, and the option handlers the table in
 * options.c points to.  Not for the rest of hyvm.
 *
 * Threads: main thread, while parsing the command line.
 */
#ifndef HYVM_OPTIONS_INTERNAL_H
#define HYVM_OPTIONS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "system/error.h"

struct hyvm_config;
struct kv_list;
struct machine_type;

#define DEFAULT_RAM_SIZE (128ull << 20)   /* QEMU's default for x86 boards */

enum { SMP_CPUS, SMP_MAXCPUS, SMP_SOCKETS, SMP_DIES, SMP_CLUSTERS, SMP_CORES, SMP_THREADS,
       SMP__N };

struct parse_state {
    struct hyvm_config *c;
    GError **errp;
    const char *opt;           /* the option as written: "-m", "--m" */
    const char *arg;           /* its argument, or NULL */
    GArray *machine_kv;        /* struct kv_pair: every -M, in order */
    char *machine_ctx;         /* "-M ARG" of the last -M */
    GPtrArray *accel_opt;      /* names from -accel */
    GPtrArray *accel_machine;  /* names from -M accel= / -enable-kvm (last wins) */
    bool smp_has[SMP__N];
    uint64_t smp[SMP__N];
    char *smp_ctx;             /* "-smp ARG" of the last -smp */
    char *thread_multi_ctx;    /* "-accel ARG" that asked for thread=multi */
    GHashTable *chardev_ids, *device_ids;
    bool done;                 /* help or version printed: stop */
};

/* options.c: shared helpers.  Each returns -1 with *s->errp set on error. */
int G_GNUC_PRINTF(3, 4) opt_error(struct parse_state *s, int code, const char *fmt, ...);
#define BAD(s, ...) opt_error(s, HYVM_ERROR_FAILED, __VA_ARGS__)
#define NOT_YET(s, ...) opt_error(s, HYVM_ERROR_UNSUPPORTED, __VA_ARGS__)
int opt_wrap(struct parse_state *s, GError *err);
struct kv_list *opt_kv(struct parse_state *s, const char *implied);
bool in_list(const char *v, const char *const *list);
const char *kv_unknown_key(const struct kv_list *kv, const char *const *allowed);
int check_keys(struct parse_state *s, const struct kv_list *kv, const char *const *allowed);
int check_bool(struct parse_state *s, const struct kv_list *kv, const char *key,
               const char *prefix);
void strv_set(char **dst, const char *v);

/*
 * The handlers: each reads s->arg (NULL for an option without one) into
 * s->c and returns 0, or -1 with the error set.  Printing help sets s->done.
 */

/* options-machine.c */
int opt_machine(struct parse_state *s);
int opt_accel(struct parse_state *s);
int opt_enable_kvm(struct parse_state *s);
int opt_cpu(struct parse_state *s);
int opt_smp(struct parse_state *s);
int opt_memory(struct parse_state *s);
/* The -smp topology, once the board (and so its limits) is known. */
int smp_finish(struct parse_state *s, const struct machine_type *mt);

/* options-boot.c */
int opt_kernel(struct parse_state *s);
int opt_initrd(struct parse_state *s);
int opt_append(struct parse_state *s);
int opt_bios(struct parse_state *s);
int opt_datadir(struct parse_state *s);
int opt_boot(struct parse_state *s);
int opt_uuid(struct parse_state *s);
int opt_smbios(struct parse_state *s);
int opt_rtc(struct parse_state *s);

/* options-storage-net.c */
int opt_drive(struct parse_state *s);
int opt_disk_shortcut(struct parse_state *s);
int opt_blockdev(struct parse_state *s);
int opt_snapshot(struct parse_state *s);
int opt_netdev(struct parse_state *s);
int opt_nic(struct parse_state *s);

/* options-devices.c */
int opt_device(struct parse_state *s);
int opt_global(struct parse_state *s);
int opt_object(struct parse_state *s);

/* options-chardev.c */
int opt_chardev(struct parse_state *s);
int opt_serial(struct parse_state *s);
int opt_monitor(struct parse_state *s);
int opt_qmp(struct parse_state *s);
int opt_mon(struct parse_state *s);
int opt_parallel(struct parse_state *s);
int opt_nographic(struct parse_state *s);
int opt_display(struct parse_state *s);
int opt_vga(struct parse_state *s);

/* options-run.c */
int opt_nodefaults(struct parse_state *s);
int opt_no_reboot(struct parse_state *s);
int opt_no_shutdown(struct parse_state *s);
int opt_action(struct parse_state *s);
int opt_watchdog_action(struct parse_state *s);
int opt_icount(struct parse_state *s);
int opt_start_paused(struct parse_state *s);
int opt_daemonize(struct parse_state *s);
int opt_pidfile(struct parse_state *s);
int opt_name(struct parse_state *s);
int opt_logfile(struct parse_state *s);
int opt_log_items(struct parse_state *s);

#endif
