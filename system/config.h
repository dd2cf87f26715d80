/*
 * Everything the command line asked for, after parsing and validation.
 * options.c fills it; main() reads it to build the VM in order.
 */
#ifndef HYVM_CONFIG_H
#define HYVM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "system/runstate.h"

struct kv_list;

/* What the command line asks main() to do instead of (or before) running. */
enum config_action {
    CONFIG_RUN,
    CONFIG_EXIT_OK,    /* help or version printed: exit 0 */
};

struct hyvm_config {
    enum config_action action;

    char *machine;                 /* -M type ("pc" when not given) */
    struct kv_list *machine_opts;  /* everything -M gave, merged in order */
    GPtrArray *accels;             /* char *: -accel / accel= / -enable-kvm, in order */
    bool tcg_jit;                  /* -accel tcg,jit=on|off: the software CPU's translator
                                    * (on unless jit=off) */
    bool tcg_single_thread;        /* -accel tcg,thread=single: the vCPUs take turns on the
                                    * software CPU (thread=multi, the default: each runs on
                                    * its own thread at once) */
    uint64_t tcg_tb_size;          /* -accel tcg,tb-size=MiB: each vCPU's code buffer; 0: the
                                    * default */

    char *cpu;                     /* -cpu as given ("qemu64" when not given) */
    unsigned smp_cpus, smp_sockets, smp_dies, smp_cores, smp_threads, smp_maxcpus;
    uint64_t ram_size;             /* -m, bytes (128 MiB when not given) */

    char *kernel, *initrd, *append, *bios;
    GPtrArray *datadirs;           /* char *: -L */

    GPtrArray *devices;            /* struct dev_config * */
    GPtrArray *chardevs;           /* char *: -chardev optargs (created in order) */
    GPtrArray *serials;            /* char *: -serial specs; "none" allowed */
    GPtrArray *monitors;           /* char *: -monitor specs */
    GPtrArray *mons;               /* char *: -mon optargs */
    GPtrArray *qmps;               /* char *: -qmp / -qmp-pretty specs */
    bool default_serial, default_monitor, default_parallel;

    bool nographic;
    char *display;                 /* "none", or NULL for the default */
    char *vga;                     /* "none", "std", or NULL */
    bool nodefaults;
    struct vm_actions actions;     /* -action, -no-reboot, -no-shutdown, -watchdog-action */
    bool start_paused;             /* -S */
    bool daemonize;
    char *pidfile;
    char *name;                    /* -name guest=... */
    char *logfile;                 /* -D */
    int log_mask;                  /* -d */
    char *boot_order;              /* -boot order= (validated) */
    char *boot_once;               /* -boot once=: the first boot's order; order again
                                    * after the first reset */
    bool boot_menu;                /* -boot menu=on: fw_cfg's FW_CFG_BOOT_MENU */
    bool boot_strict;              /* -boot strict=on: "HALT" ends the bootorder file */
    bool boot_has_splash_time;     /* -boot splash-time= given: etc/boot-menu-wait */
    unsigned boot_splash_time;     /* ms, 0..65535 */
    bool boot_has_reboot_timeout;
    int boot_reboot_timeout;       /* ms, -1..65535: etc/boot-fail-wait (-1: never) */
    GPtrArray *smbios;             /* char *: -smbios arguments, checked; NULL: none */
    bool has_uuid;                 /* -uuid */
    uint8_t uuid[16];              /* RFC 4122 order, as fw_cfg and SMBIOS take it */
    char *rtc_base;                /* -rtc base=utc|localtime|DATE */
    bool rtc_clock_vm;             /* -rtc clock=vm: the RTC follows the virtual clock */
    bool icount;                   /* -icount shift=...: the virtual clock counts instructions */
    int icount_shift;              /* 0..10, or VCLOCK_ICOUNT_AUTO */
    bool icount_sleep;             /* sleep=on (the default): idle time passes in host time */
    bool snapshot;                 /* -snapshot: every drive gets an overlay */
    GPtrArray *drives;             /* char *: -drive optargs, validated */
    GPtrArray *blockdevs;          /* char *: -blockdev optargs (dotted keys or JSON) */
};

/*
 * Parses argv as qemu-system-x86_64 does.  Help and version requests are
 * printed here and set action = CONFIG_EXIT_OK.  On a bad command line,
 * returns NULL with one line in *errp: "-opt value: what is wrong".
 */
struct hyvm_config *config_parse(int argc, char **argv, GError **errp);
void config_free(struct hyvm_config *c);

/* -h/-help and -version output on stdout (options-help.c). */
void config_print_help(void);
void config_print_version(void);

#endif
