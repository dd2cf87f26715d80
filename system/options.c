/*
 * The command line of qemu-system-x86_64: every option hyvm knows, checked
 * with QEMU's rules and messages, into a struct hyvm_config (config.h).
 * Options a later issue implements are parsed and checked now and then
 * refused with HYVM_ERROR_UNSUPPORTED ("... is not supported yet"); none is
 * ever silently dropped.  Errors read "-opt value: what is wrong", as
 * QEMU's error_report() prints them with the option's location.
 *
 * This file holds the helpers every option file shares, the table of
 * options and config_parse(); the options themselves are handled by topic
 * in options-machine.c, options-boot.c, options-storage-net.c,
 * options-devices.c, options-chardev.c and options-run.c
 * (options-internal.h joins them).
 *
 * Threads: main thread, before anything else runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/cpu-models.h"
#include "hw/device.h"
#include "hw/virtio/rng-backend.h"
#include "net/net.h"
#include "machine/machine.h"
#include "machine/machine-internal.h"
#include "system/config.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/options-internal.h"

/* Sets "-opt arg: message" (or "-opt: message" for an option without one). */
int G_GNUC_PRINTF(3, 4) opt_error(struct parse_state *s, int code, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (s->arg) {
        g_set_error(s->errp, HYVM_ERROR, code, "%s %s: %s", s->opt, s->arg, msg);
    } else {
        g_set_error(s->errp, HYVM_ERROR, code, "%s: %s", s->opt, msg);
    }
    return -1;
}

/* Adds the option's location to an error from a helper (kv_parse, devices). */
int opt_wrap(struct parse_state *s, GError *err)
{
    int ret = opt_error(s, err->code, "%s", err->message);

    g_error_free(err);
    return ret;
}

/* The same, unless the helper already named an option (its message starts
 * with prefix). */
static int opt_wrap_once(struct parse_state *s, GError *err, const char *prefix)
{
    if (g_str_has_prefix(err->message, prefix)) {
        g_propagate_error(s->errp, err);
        return -1;
    }
    return opt_wrap(s, err);
}

/* kv_parse with the option's location on errors. */
struct kv_list *opt_kv(struct parse_state *s, const char *implied)
{
    GError *err = NULL;
    struct kv_list *kv = kv_parse(s->arg, implied, &err);

    if (!kv) {
        opt_wrap(s, err);
    }
    return kv;
}

bool in_list(const char *v, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(v, *list)) {
            return true;
        }
    }
    return false;
}

/* The first key of kv not in allowed, or NULL. */
const char *kv_unknown_key(const struct kv_list *kv, const char *const *allowed)
{
    for (unsigned i = 0; i < kv->n; i++) {
        if (!in_list(kv->items[i].key, allowed)) {
            return kv->items[i].key;
        }
    }
    return NULL;
}

int check_keys(struct parse_state *s, const struct kv_list *kv, const char *const *allowed)
{
    const char *k = kv_unknown_key(kv, allowed);

    return k ? BAD(s, "Invalid parameter '%s'", k) : 0;
}

int check_bool(struct parse_state *s, const struct kv_list *kv, const char *key,
               const char *prefix)
{
    const char *v = kv_get(kv, key);
    bool b;

    if (v && !parse_bool(v, &b)) {
        return BAD(s, "Parameter '%s%s' expects 'on' or 'off'", prefix, key);
    }
    return 0;
}

void strv_set(char **dst, const char *v)
{
    g_free(*dst);
    *dst = g_strdup(v);
}

static int opt_nothing(struct parse_state *s)
{
    return 0;
}

static int opt_version(struct parse_state *s)
{
    config_print_version();
    s->done = true;
    return 0;
}

static int opt_help(struct parse_state *s)
{
    config_print_help();
    s->done = true;
    return 0;
}

/* Options of QEMU that a later issue builds: known, so not "invalid". */
static int opt_later(struct parse_state *s)
{
    return NOT_YET(s, "this option is not supported yet");
}

/* "-vnc none": no VNC server, which hyvm never starts; test harnesses
 * (kvm-unit-tests) pass it.  A real display is not supported yet. */
static int opt_vnc(struct parse_state *s)
{
    if (!strcmp(s->arg, "none")) {
        return 0;
    }
    return opt_later(s);
}

struct option_def {
    const char *name;
    bool has_arg;
    int (*handler)(struct parse_state *s);
};

static const struct option_def options[] = {
    { "h", false, opt_help },
    { "help", false, opt_help },
    { "version", false, opt_version },
    { "M", true, opt_machine },
    { "machine", true, opt_machine },
    { "accel", true, opt_accel },
    { "enable-kvm", false, opt_enable_kvm },
    { "cpu", true, opt_cpu },
    { "smp", true, opt_smp },
    { "m", true, opt_memory },
    { "kernel", true, opt_kernel },
    { "initrd", true, opt_initrd },
    { "append", true, opt_append },
    { "bios", true, opt_bios },
    { "L", true, opt_datadir },
    { "boot", true, opt_boot },
    { "rtc", true, opt_rtc },
    { "drive", true, opt_drive },
    { "hda", true, opt_disk_shortcut },
    { "hdb", true, opt_disk_shortcut },
    { "hdc", true, opt_disk_shortcut },
    { "hdd", true, opt_disk_shortcut },
    { "cdrom", true, opt_disk_shortcut },
    { "fda", true, opt_disk_shortcut },
    { "fdb", true, opt_disk_shortcut },
    { "blockdev", true, opt_blockdev },
    { "snapshot", false, opt_snapshot },
    { "netdev", true, opt_netdev },
    { "nic", true, opt_nic },
    { "net", true, opt_nic },
    { "device", true, opt_device },
    { "global", true, opt_global },
    { "object", true, opt_object },
    { "chardev", true, opt_chardev },
    { "serial", true, opt_serial },
    { "monitor", true, opt_monitor },
    { "qmp", true, opt_qmp },
    { "qmp-pretty", true, opt_qmp },
    { "mon", true, opt_mon },
    { "parallel", true, opt_parallel },
    { "nographic", false, opt_nographic },
    { "display", true, opt_display },
    { "vga", true, opt_vga },
    { "nodefaults", false, opt_nodefaults },
    { "no-user-config", false, opt_nothing },
    { "no-reboot", false, opt_no_reboot },
    { "no-shutdown", false, opt_no_shutdown },
    { "S", false, opt_start_paused },
    { "daemonize", false, opt_daemonize },
    { "pidfile", true, opt_pidfile },
    { "name", true, opt_name },
    { "D", true, opt_logfile },
    { "d", true, opt_log_items },
    /* Known to QEMU, built by later issues. */
    { "gdb", true, opt_later },
    { "s", false, opt_later },
    { "vnc", true, opt_vnc },
    { "spice", true, opt_later },
    { "incoming", true, opt_later },
    { "loadvm", true, opt_later },
    { "numa", true, opt_later },
    { "usb", false, opt_later },
    { "usbdevice", true, opt_later },
    { "audiodev", true, opt_later },
    { "fsdev", true, opt_later },
    { "virtfs", true, opt_later },
    { "icount", true, opt_icount },
    { "overcommit", true, opt_later },
    { "mem-path", true, opt_later },
    { "mem-prealloc", false, opt_later },
    { "readconfig", true, opt_later },
    { "writeconfig", true, opt_later },
    { "trace", true, opt_later },
    { "k", true, opt_later },
    { "no-hpet", false, opt_later },
    { "no-acpi", false, opt_later },
    { "smbios", true, opt_smbios },
    { "fw_cfg", true, opt_later },
    { "uuid", true, opt_uuid },
    { "runas", true, opt_later },
    { "chroot", true, opt_later },
    { "sandbox", true, opt_later },
    { "msg", true, opt_later },
    { "action", true, opt_action },
    { "watchdog-action", true, opt_watchdog_action },
    { "preconfig", false, opt_later },
    { "option-rom", true, opt_later },
    { "add-fd", true, opt_later },
    { "seed", true, opt_later },
    { "dfilter", true, opt_later },
    { "pflash", true, opt_later },
    { "full-screen", false, opt_later },
};

static const struct option_def *option_find(const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(options); i++) {
        if (!strcmp(options[i].name, name)) {
            return &options[i];
        }
    }
    return NULL;
}

static struct hyvm_config *config_new(void)
{
    struct hyvm_config *c = g_new0(struct hyvm_config, 1);

    c->action = CONFIG_RUN;
    c->tcg_jit = true;
    c->machine = g_strdup("pc");
    c->accels = g_ptr_array_new_with_free_func(g_free);
    c->cpu = g_strdup("qemu64");
    c->smp_cpus = c->smp_sockets = c->smp_dies = c->smp_cores = c->smp_threads = 1;
    c->smp_maxcpus = 1;
    c->ram_size = DEFAULT_RAM_SIZE;
    c->datadirs = g_ptr_array_new_with_free_func(g_free);
    c->devices = g_ptr_array_new_with_free_func((GDestroyNotify)dev_config_free);
    c->chardevs = g_ptr_array_new_with_free_func(g_free);
    c->serials = g_ptr_array_new_with_free_func(g_free);
    c->monitors = g_ptr_array_new_with_free_func(g_free);
    c->mons = g_ptr_array_new_with_free_func(g_free);
    c->qmps = g_ptr_array_new_with_free_func(g_free);
    c->drives = g_ptr_array_new_with_free_func(g_free);
    c->blockdevs = g_ptr_array_new_with_free_func(g_free);
    c->default_serial = c->default_monitor = c->default_parallel = true;
    return c;
}

/* Checks that need the whole command line: the board, its properties, the
 * CPU model, the topology, the accelerator list and option pairs. */
static int config_finish(struct parse_state *s)
{
    struct hyvm_config *c = s->c;
    const struct machine_type *mt;
    GError *err = NULL;

    s->opt = s->machine_ctx ? s->machine_ctx : "-machine";
    s->arg = NULL;
    mt = machine_type_find(c->machine);
    if (!mt) {
        return BAD(s, "unsupported machine type '%s'; use -machine help to list supported "
                   "machines", c->machine);
    }
    {
        struct machine m = { .type = machine_type_resolve(mt) };

        m.opts = c->machine_opts;
        if (machine_check_props(&m, &err) < 0) {
            return opt_wrap_once(s, err, "-machine ");
        }
        mt = m.type;
    }
    if (s->accel_opt->len && s->accel_machine->len) {
        g_set_error(s->errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "The -accel and \"-machine accel=\" options are incompatible");
        return -1;
    }
    {
        GPtrArray *src = s->accel_opt->len ? s->accel_opt : s->accel_machine;

        for (unsigned i = 0; i < src->len; i++) {
            g_ptr_array_add(c->accels, g_strdup(g_ptr_array_index(src, i)));
        }
    }
    if (smp_finish(s, mt) < 0) {
        return -1;
    }
    /* icount runs the vCPUs in turns on the software CPU (QEMU: no MTTCG). */
    if (c->icount && s->thread_multi_ctx) {
        g_set_error(s->errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: No MTTCG when icount is enabled", s->thread_multi_ctx);
        return -1;
    }
    if (c->icount) {
        c->tcg_single_thread = true;
        if (!c->accels->len) {
            g_ptr_array_add(c->accels, g_strdup("tcg"));   /* not auto: never KVM */
        }
    }
    {
        struct x86_cpu_def *d = x86_cpu_parse(c->cpu, &err);

        if (!d) {
            s->opt = "-cpu";
            s->arg = c->cpu;
            return opt_wrap_once(s, err, "-cpu ");
        }
        x86_cpu_def_free(d);
    }
    if (c->kernel) {
        /* Checked here so a typo fails before anything is opened or started. */
        FILE *f = fopen(c->kernel, "rb");

        if (!f) {
            s->opt = "-kernel";
            s->arg = c->kernel;
            return BAD(s, "could not open kernel file '%s': %s", c->kernel, g_strerror(errno));
        }
        fclose(f);
    }
    if (c->initrd && !c->kernel) {
        g_set_error(s->errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "-initrd only allowed with -kernel option");
        return -1;
    }
    if (c->append && !c->kernel) {
        g_set_error(s->errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "-append only allowed with -kernel option");
        return -1;
    }
    if (c->nographic && c->daemonize) {
        g_set_error(s->errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "-nographic cannot be used with -daemonize");
        return -1;
    }
    return 0;
}

struct hyvm_config *config_parse(int argc, char **argv, GError **errp)
{
    struct parse_state s = {
        .c = config_new(),
        .errp = errp,
        .machine_kv = g_array_new(FALSE, FALSE, sizeof(struct kv_pair)),
        .accel_opt = g_ptr_array_new_with_free_func(g_free),
        .accel_machine = g_ptr_array_new_with_free_func(g_free),
        .chardev_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .device_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    int ret = 0;

    /* -global values live in hw/device.c, -object entropy sources in
     * hw/virtio/rng-backend.c, -netdev, -nic and -net in net/ for the
     * run; start from none. */
    device_globals_clear();
    rng_backends_clear();
    net_cli_clear();
    net_filter_cli_clear();
    net_nic_cli_clear();
    for (int i = 1; i < argc && !s.done && ret == 0; i++) {
        const char *a = argv[i];
        const struct option_def *o;

        s.opt = a;
        s.arg = NULL;
        if (a[0] != '-') {
            /* A bare argument is QEMU's -hda (its errors name it alone). */
            if (access(a, F_OK) < 0) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s: Could not open '%s': %s",
                            a, a, g_strerror(errno));
                ret = -1;
                break;
            }
            s.opt = "-hda";
            s.arg = a;
            ret = opt_disk_shortcut(&s);
            continue;
        }
        o = option_find(a + (a[1] == '-' ? 2 : 1));
        if (!o) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s: invalid option", a);
            ret = -1;
            break;
        }
        if (o->has_arg) {
            if (i + 1 >= argc) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s: requires an argument",
                            a);
                ret = -1;
                break;
            }
            s.arg = argv[++i];
        }
        ret = o->handler(&s);
    }

    s.c->machine_opts = g_new0(struct kv_list, 1);
    s.c->machine_opts->n = s.machine_kv->len;
    s.c->machine_opts->items = (struct kv_pair *)g_array_free(s.machine_kv, FALSE);
    if (ret == 0 && s.done) {
        s.c->action = CONFIG_EXIT_OK;
    } else if (ret == 0) {
        ret = config_finish(&s);
    }
    g_free(s.machine_ctx);
    g_free(s.smp_ctx);
    g_free(s.thread_multi_ctx);
    g_ptr_array_free(s.accel_opt, TRUE);
    g_ptr_array_free(s.accel_machine, TRUE);
    g_hash_table_destroy(s.chardev_ids);
    g_hash_table_destroy(s.device_ids);
    if (ret < 0) {
        config_free(s.c);
        return NULL;
    }
    return s.c;
}

void config_free(struct hyvm_config *c)
{
    if (!c) {
        return;
    }
    g_free(c->machine);
    kv_free(c->machine_opts);
    g_ptr_array_free(c->accels, TRUE);
    g_free(c->cpu);
    g_free(c->kernel);
    g_free(c->initrd);
    g_free(c->append);
    g_free(c->bios);
    g_ptr_array_free(c->datadirs, TRUE);
    g_ptr_array_free(c->devices, TRUE);
    g_ptr_array_free(c->chardevs, TRUE);
    g_ptr_array_free(c->serials, TRUE);
    g_ptr_array_free(c->monitors, TRUE);
    g_ptr_array_free(c->mons, TRUE);
    g_ptr_array_free(c->qmps, TRUE);
    g_ptr_array_free(c->drives, TRUE);
    g_ptr_array_free(c->blockdevs, TRUE);
    g_free(c->display);
    g_free(c->vga);
    g_free(c->pidfile);
    g_free(c->name);
    g_free(c->logfile);
    g_free(c->boot_order);
    g_free(c->boot_once);
    if (c->smbios) {
        g_ptr_array_free(c->smbios, true);
    }
    g_free(c->rtc_base);
    g_free(c);
    device_globals_clear();
    rng_backends_clear();
    net_cli_clear();
    net_filter_cli_clear();
    net_nic_cli_clear();
}
