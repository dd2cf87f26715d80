/*
 * The command line of qemu-system-x86_64: every option hyvm knows, checked
 * with QEMU's rules and messages, into a struct hyvm_config (config.h).
 * Options a later issue implements are parsed and checked now and then
 * refused with HYVM_ERROR_UNSUPPORTED ("... is not supported yet"); none is
 * ever silently dropped.  Errors read "-opt value: what is wrong", as
 * QEMU's error_report() prints them with the option's location.
 *
 * Threads: main thread, before anything else runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "accel/accel.h"
#include "arch/x86/cpu-models.h"
#include "hw/device.h"
#include "machine/machine.h"
#include "machine/machine-internal.h"
#include "system/config.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/log.h"

#define DEFAULT_RAM_SIZE (128ull << 20)   /* QEMU's default for x86 boards */

enum { SMP_CPUS, SMP_MAXCPUS, SMP_SOCKETS, SMP_DIES, SMP_CLUSTERS, SMP_CORES, SMP_THREADS,
       SMP__N };
static const char *const smp_keys[SMP__N] = {
    "cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads",
};

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
    GHashTable *chardev_ids, *device_ids;
    bool done;                 /* help or version printed: stop */
};

/* Sets "-opt arg: message" (or "-opt: message" for an option without one). */
static int G_GNUC_PRINTF(3, 4) opt_error(struct parse_state *s, int code, const char *fmt, ...)
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

#define BAD(s, ...) opt_error(s, HYVM_ERROR_FAILED, __VA_ARGS__)
#define NOT_YET(s, ...) opt_error(s, HYVM_ERROR_UNSUPPORTED, __VA_ARGS__)

/* Adds the option's location to an error from a helper (kv_parse, devices). */
static int opt_wrap(struct parse_state *s, GError *err)
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
static struct kv_list *opt_kv(struct parse_state *s, const char *implied)
{
    GError *err = NULL;
    struct kv_list *kv = kv_parse(s->arg, implied, &err);

    if (!kv) {
        opt_wrap(s, err);
    }
    return kv;
}

static bool in_list(const char *v, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(v, *list)) {
            return true;
        }
    }
    return false;
}

/* The first key of kv not in allowed, or NULL. */
static const char *kv_unknown_key(const struct kv_list *kv, const char *const *allowed)
{
    for (unsigned i = 0; i < kv->n; i++) {
        if (!in_list(kv->items[i].key, allowed)) {
            return kv->items[i].key;
        }
    }
    return NULL;
}

static int check_keys(struct parse_state *s, const struct kv_list *kv,
                      const char *const *allowed)
{
    const char *k = kv_unknown_key(kv, allowed);

    return k ? BAD(s, "Invalid parameter '%s'", k) : 0;
}

static int check_bool(struct parse_state *s, const struct kv_list *kv, const char *key,
                      const char *prefix)
{
    const char *v = kv_get(kv, key);
    bool b;

    if (v && !parse_bool(v, &b)) {
        return BAD(s, "Parameter '%s%s' expects 'on' or 'off'", prefix, key);
    }
    return 0;
}

static void strv_set(char **dst, const char *v)
{
    g_free(*dst);
    *dst = g_strdup(v);
}

/* -------- Machine, accelerator, CPU, SMP, memory -------- */

static int split_accels(struct parse_state *s, const char *list, GPtrArray *out)
{
    g_auto(GStrv) names = g_strsplit(list, ":", -1);

    for (unsigned i = 0; names[i]; i++) {
        if (!accel_name_known(names[i])) {
            return BAD(s, "invalid accelerator %s", names[i]);
        }
        g_ptr_array_add(out, g_strdup(names[i]));
    }
    return 0;
}

static int opt_machine(struct parse_state *s)
{
    struct kv_list *kv = opt_kv(s, "type");
    const char *type, *accel;
    int ret = 0;

    if (!kv) {
        return -1;
    }
    type = kv_get(kv, "type");
    if (type && !strcmp(type, "help")) {
        machine_print_help();
        s->done = true;
        goto out;
    }
    if (kv_has(kv, "help")) {
        const char *name = type ? type : s->c->machine;
        const struct machine_type *t = machine_type_find(name);

        if (!t) {
            ret = BAD(s, "unsupported machine type '%s'; use -machine help to list "
                      "supported machines", name);
            goto out;
        }
        machine_print_props(t);
        s->done = true;
        goto out;
    }
    accel = kv_get(kv, "accel");
    if (accel) {
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

        if (split_accels(s, accel, names) < 0) {
            g_ptr_array_free(names, TRUE);
            ret = -1;
            goto out;
        }
        g_ptr_array_free(s->accel_machine, TRUE);
        s->accel_machine = names;
    }
    if (type) {
        strv_set(&s->c->machine, type);
    }
    g_free(s->machine_ctx);
    s->machine_ctx = g_strdup_printf("%s %s", s->opt, s->arg);
    for (unsigned i = 0; i < kv->n; i++) {
        struct kv_pair p = { g_strdup(kv->items[i].key), g_strdup(kv->items[i].value) };

        g_array_append_val(s->machine_kv, p);
    }
out:
    kv_free(kv);
    return ret;
}

/* Properties QEMU's kvm-accel and tcg-accel objects have (7.2). */
static const char *const kvm_accel_props[] = {
    "kernel-irqchip", "kvm-shadow-mem", "dirty-ring-size", "notify-vmexit",
    "notify-window", NULL,
};
static const char *const tcg_accel_props[] = {
    "thread", "tb-size", "split-wx", NULL,
};

static int opt_accel(struct parse_state *s)
{
    struct kv_list *kv = opt_kv(s, "accel");
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *list;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    list = kv_get(kv, "accel");
    if (!list || !*list || !strcmp(list, "help")) {
        accel_print_help();
        s->done = true;
        ret = 0;
        goto out;
    }
    if (split_accels(s, list, names) < 0) {
        goto out;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        const char *key = kv->items[i].key, *val = kv->items[i].value;

        if (!strcmp(key, "accel")) {
            continue;
        }
        for (unsigned j = 0; j < names->len; j++) {
            const char *name = g_ptr_array_index(names, j);
            const char *const *props = !strcmp(name, "kvm") ? kvm_accel_props
                                      : !strcmp(name, "tcg") ? tcg_accel_props : NULL;

            if (!props || !in_list(key, props)) {
                BAD(s, "Property '%s-accel.%s' not found", name, key);
                goto out;
            }
        }
        /* The in-kernel irqchip is what hyvm uses under KVM; the others
         * change how the backends work and are not built. */
        if (!strcmp(key, "kernel-irqchip")) {
            bool on;

            if (!parse_bool(val, &on) && strcmp(val, "split")) {
                BAD(s, "Parameter 'kernel-irqchip' does not accept value '%s'", val);
                goto out;
            }
            if (!strcmp(val, "split") || !on) {
                NOT_YET(s, "kernel-irqchip=%s is not supported yet", val);
                goto out;
            }
            continue;
        }
        NOT_YET(s, "accelerator property '%s' is not supported yet", key);
        goto out;
    }
    for (unsigned i = 0; i < names->len; i++) {
        g_ptr_array_add(s->accel_opt, g_strdup(g_ptr_array_index(names, i)));
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

static int opt_enable_kvm(struct parse_state *s)
{
    g_ptr_array_set_size(s->accel_machine, 0);
    g_ptr_array_add(s->accel_machine, g_strdup("kvm"));
    return 0;
}

static int opt_cpu(struct parse_state *s)
{
    if (!strcmp(s->arg, "help") || !strcmp(s->arg, "?")) {
        x86_cpu_print_help();
        s->done = true;
        return 0;
    }
    strv_set(&s->c->cpu, s->arg);
    return 0;
}

static int opt_smp(struct parse_state *s)
{
    struct kv_list *kv = opt_kv(s, "cpus");
    int ret = -1;

    if (!kv) {
        return -1;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        const char *key = kv->items[i].key;
        unsigned k;

        for (k = 0; k < SMP__N && strcmp(key, smp_keys[k]); k++) {
        }
        if (k == SMP__N) {
            BAD(s, "Parameter 'smp.%s' is unexpected", key);
            goto out;
        }
        if (parse_uint(kv->items[i].value, &s->smp[k]) < 0) {
            BAD(s, "Parameter 'smp.%s' expects integer", key);
            goto out;
        }
        s->smp_has[k] = true;
    }
    g_free(s->smp_ctx);
    s->smp_ctx = g_strdup_printf("%s %s", s->opt, s->arg);
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/* a * b, saturating: topology products of absurd values must not wrap. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/*
 * QEMU 7.2's smp_parse() rules for a board without clusters: missing values
 * are computed preferring cores over sockets, then threads; the product of
 * the hierarchy must equal maxcpus, and maxcpus must be at least cpus.
 * Explicit zeros, which QEMU 7.2 takes with a deprecation warning, are
 * refused.
 */
static int smp_finish(struct parse_state *s, const struct machine_type *mt)
{
    struct hyvm_config *c = s->c;
    bool pc = g_str_has_prefix(mt->name, "pc");
    uint64_t max_limit = pc ? 255 : 288;
    uint64_t cpus, maxcpus, sockets, dies, clusters, cores, threads, prod;
    g_autofree char *topo = NULL;

    if (!s->smp_ctx) {
        c->smp_cpus = c->smp_sockets = c->smp_dies = c->smp_cores = c->smp_threads = 1;
        c->smp_maxcpus = 1;
        return 0;
    }
    s->opt = s->smp_ctx;
    s->arg = NULL;
    for (unsigned k = 0; k < SMP__N; k++) {
        if (s->smp_has[k] && !s->smp[k]) {
            return BAD(s, "Invalid CPU topology: CPU topology parameters must be greater "
                       "than zero");
        }
    }
    cpus = s->smp[SMP_CPUS];
    maxcpus = s->smp[SMP_MAXCPUS];
    sockets = s->smp[SMP_SOCKETS];
    dies = s->smp[SMP_DIES];
    clusters = s->smp[SMP_CLUSTERS];
    cores = s->smp[SMP_CORES];
    threads = s->smp[SMP_THREADS];

    if (!pc && dies > 1) {
        return BAD(s, "dies not supported by this machine's CPU topology");
    }
    if (clusters > 1) {
        return BAD(s, "clusters not supported by this machine's CPU topology");
    }
    dies = dies ? dies : 1;
    clusters = 1;
    if (!cpus && !maxcpus) {
        sockets = sockets ? sockets : 1;
        cores = cores ? cores : 1;
        threads = threads ? threads : 1;
    } else {
        maxcpus = maxcpus ? maxcpus : cpus;
        if (!cores) {
            sockets = sockets ? sockets : 1;
            threads = threads ? threads : 1;
            cores = maxcpus / mul_sat(mul_sat(sockets, dies), threads);
        } else if (!sockets) {
            threads = threads ? threads : 1;
            sockets = maxcpus / mul_sat(mul_sat(dies, cores), threads);
        }
        if (!threads) {
            threads = maxcpus / mul_sat(mul_sat(sockets, dies), cores);
        }
    }
    prod = mul_sat(mul_sat(mul_sat(sockets, dies), cores), threads);
    maxcpus = maxcpus ? maxcpus : prod;
    cpus = cpus ? cpus : maxcpus;

    if (pc) {
        topo = g_strdup_printf("sockets (%" G_GUINT64_FORMAT ") * dies (%" G_GUINT64_FORMAT
                               ") * cores (%" G_GUINT64_FORMAT ") * threads (%"
                               G_GUINT64_FORMAT ")", sockets, dies, cores, threads);
    } else {
        topo = g_strdup_printf("sockets (%" G_GUINT64_FORMAT ") * cores (%" G_GUINT64_FORMAT
                               ") * threads (%" G_GUINT64_FORMAT ")", sockets, cores, threads);
    }
    if (prod != maxcpus) {
        return BAD(s, "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                   "%s != maxcpus (%" G_GUINT64_FORMAT ")", topo, maxcpus);
    }
    if (maxcpus < cpus) {
        return BAD(s, "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
                   "%s == maxcpus (%" G_GUINT64_FORMAT ") < smp_cpus (%" G_GUINT64_FORMAT ")",
                   topo, maxcpus, cpus);
    }
    if (maxcpus > max_limit) {
        return BAD(s, "Invalid SMP CPUs %" G_GUINT64_FORMAT ". The max CPUs supported by "
                   "machine '%s' is %" G_GUINT64_FORMAT, maxcpus, mt->name, max_limit);
    }
    if (maxcpus > cpus) {
        return NOT_YET(s, "CPU hotplug (maxcpus above the number of CPUs) is not supported "
                       "yet");
    }
    c->smp_cpus = cpus;
    c->smp_maxcpus = maxcpus;
    c->smp_sockets = sockets;
    c->smp_dies = dies;
    c->smp_cores = cores;
    c->smp_threads = threads;
    return 0;
}

/*
 * -m [size=]SIZE[,slots=N,maxmem=SIZE].  As QEMU: the value is first read as
 * bytes, so "1.5" (a fraction with no suffix) is refused, then a number
 * without suffix means MiB.  0 keeps the default; the size is rounded up to
 * 8 KiB.
 */
static int opt_memory(struct parse_state *s)
{
    static const char *const keys[] = { "size", "slots", "maxmem", NULL };
    struct kv_list *kv = opt_kv(s, "size");
    const char *v;
    uint64_t sz;
    int ret = -1, r;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) < 0) {
        goto out;
    }
    v = kv_get(kv, "size");
    if (v) {
        r = parse_size(v, 1, &sz);
        if (r == 0 && g_ascii_isdigit(v[strlen(v) - 1])) {
            r = parse_size(v, 1ull << 20, &sz);
        }
        if (r == -ERANGE) {
            BAD(s, "Value '%s' is out of range for parameter 'size'", v);
            goto out;
        }
        if (r < 0) {
            BAD(s, "Parameter 'size' expects a non-negative number below 2^64");
            goto out;
        }
        if (sz > UINT64_MAX - 8191) {
            BAD(s, "Value '%s' is out of range for parameter 'size'", v);
            goto out;
        }
        s->c->ram_size = sz ? (sz + 8191) & ~8191ull : DEFAULT_RAM_SIZE;
    }
    v = kv_get(kv, "maxmem");
    if (v && parse_size(v, 1, &sz) < 0) {
        BAD(s, "Parameter 'maxmem' expects a non-negative number below 2^64");
        goto out;
    }
    v = kv_get(kv, "slots");
    if (v && parse_uint(v, &sz) < 0) {
        BAD(s, "Parameter 'slots' expects integer");
        goto out;
    }
    if (kv_has(kv, "maxmem") || kv_has(kv, "slots")) {
        NOT_YET(s, "memory hotplug (maxmem, slots) is not supported yet");
        goto out;
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/* -------- Boot -------- */

static int opt_kernel(struct parse_state *s)
{
    strv_set(&s->c->kernel, s->arg);
    return 0;
}

static int opt_initrd(struct parse_state *s)
{
    strv_set(&s->c->initrd, s->arg);
    return 0;
}

static int opt_append(struct parse_state *s)
{
    strv_set(&s->c->append, s->arg);
    return 0;
}

static int opt_bios(struct parse_state *s)
{
    if (access(s->arg, R_OK) < 0) {
        return BAD(s, "could not load PC BIOS '%s'", s->arg);
    }
    return NOT_YET(s, "firmware images (-bios) are not supported yet; "
                   "hyvm boots -kernel Multiboot images");
}

static int opt_datadir(struct parse_state *s)
{
    g_ptr_array_add(s->c->datadirs, g_strdup(s->arg));
    return 0;
}

/* Boot devices a to p as QEMU's validate_bootdevices(): a and b floppy,
 * c disk, d CD-ROM, n to p network; each at most once. */
static int check_boot_devices(struct parse_state *s, const char *devs)
{
    unsigned seen = 0;

    for (const char *p = devs; *p; p++) {
        if (*p < 'a' || *p > 'p') {
            return BAD(s, "Invalid boot device '%c'", *p);
        }
        if (seen & (1u << (*p - 'a'))) {
            return BAD(s, "Boot device '%c' was given twice", *p);
        }
        seen |= 1u << (*p - 'a');
    }
    return 0;
}

static int opt_boot(struct parse_state *s)
{
    static const char *const keys[] = {
        "order", "once", "menu", "splash", "splash-time", "reboot-timeout", "strict", NULL,
    };
    struct kv_list *kv = opt_kv(s, "order");
    const char *k, *v;
    uint64_t n;
    bool b;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    k = kv_unknown_key(kv, keys);
    if (k) {
        BAD(s, "Parameter 'boot.%s' is unexpected", k);
        goto out;
    }
    if ((v = kv_get(kv, "order")) && check_boot_devices(s, v) < 0) {
        goto out;
    }
    if ((v = kv_get(kv, "once")) && check_boot_devices(s, v) < 0) {
        goto out;
    }
    if (check_bool(s, kv, "menu", "boot.") < 0 || check_bool(s, kv, "strict", "boot.") < 0) {
        goto out;
    }
    if (((v = kv_get(kv, "splash-time")) && parse_uint(v, &n) < 0)) {
        BAD(s, "Parameter 'boot.splash-time' expects integer");
        goto out;
    }
    if (((v = kv_get(kv, "reboot-timeout")) && parse_uint(v, &n) < 0)) {
        BAD(s, "Parameter 'boot.reboot-timeout' expects integer");
        goto out;
    }
    /* order/once/strict choose among boot devices, of which -kernel is the
     * only one yet; a boot menu, splash and reboot timeout are firmware's. */
    if (((v = kv_get(kv, "menu")) && parse_bool(v, &b) && b) || kv_has(kv, "splash") ||
        kv_has(kv, "splash-time") || kv_has(kv, "reboot-timeout")) {
        NOT_YET(s, "the boot menu, splash and reboot-timeout are not supported yet");
        goto out;
    }
    if ((v = kv_get(kv, "order"))) {
        strv_set(&s->c->boot_order, v);
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/* "2006-06-17T16:01:21" or "2006-06-17", the formats QEMU's -rtc takes. */
static bool rtc_date_ok(const char *v)
{
    int y, mo, d, h, mi, sec, n = -1;

    if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 &&
        n == (int)strlen(v)) {
        return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 61;
    }
    n = -1;
    if (sscanf(v, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == (int)strlen(v)) {
        return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
    }
    return false;
}

static int opt_rtc(struct parse_state *s)
{
    static const char *const keys[] = { "base", "clock", "driftfix", NULL };
    static const char *const clocks[] = { "host", "rt", "vm", NULL };
    static const char *const drifts[] = { "none", "slew", NULL };
    struct kv_list *kv = opt_kv(s, "base");
    const char *base, *clock, *drift;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) < 0) {
        goto out;
    }
    base = kv_get(kv, "base");
    clock = kv_get(kv, "clock");
    drift = kv_get(kv, "driftfix");
    if (base && strcmp(base, "utc") && strcmp(base, "localtime") && !rtc_date_ok(base)) {
        BAD(s, "invalid datetime format; valid formats: '2006-06-17T16:01:21' or "
            "'2006-06-17'");
        goto out;
    }
    if (clock && !in_list(clock, clocks)) {
        BAD(s, "invalid option value '%s'", clock);
        goto out;
    }
    if (drift && !in_list(drift, drifts)) {
        BAD(s, "invalid option value '%s'", drift);
        goto out;
    }
    /* No RTC device yet: only the defaults describe what the guest gets. */
    if ((base && strcmp(base, "utc")) || (clock && strcmp(clock, "host")) ||
        (drift && strcmp(drift, "none"))) {
        NOT_YET(s, "an RTC other than base=utc,clock=host,driftfix=none is not "
                "supported yet");
        goto out;
    }
    if (base) {
        strv_set(&s->c->rtc_base, base);
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/* -------- Block and network: checked, then refused -------- */

static int opt_drive(struct parse_state *s)
{
    static const char *const keys[] = {
        "file", "if", "bus", "unit", "index", "media", "snapshot", "cache", "aio", "format",
        "rerror", "werror", "copy-on-read", "serial", "addr", "readonly", "read-only",
        "discard", "detect-zeroes", "id", "node-name", "driver", "auto-read-only",
        "force-share", "locking", "throttling.iops-total", "bps", "iops", NULL,
    };
    static const char *const ifs[] = {
        "none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen", NULL,
    };
    static const char *const medias[] = { "disk", "cdrom", NULL };
    static const char *const caches[] = {
        "none", "writeback", "writethrough", "directsync", "unsafe", NULL,
    };
    static const char *const aios[] = { "threads", "native", "io_uring", NULL };
    static const char *const formats[] = {
        "raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vhdx", "vpc", "luks", "dmg",
        "parallels", "bochs", "cloop", "file", "host_device", "host_cdrom", "nbd", "null-co",
        "null-aio", "blkdebug", "blkverify", "quorum", "throttle", "copy-on-read",
        "compress", NULL,
    };
    static const char *const discards[] = { "ignore", "off", "unmap", "on", NULL };
    static const char *const werrors[] = { "ignore", "stop", "report", "enospc", NULL };
    static const char *const rerrors[] = { "ignore", "stop", "report", NULL };
    static const char *const bools[] = {
        "snapshot", "readonly", "read-only", "copy-on-read", "auto-read-only",
        "force-share", NULL,
    };
    static const char *const ints[] = { "bus", "unit", "index", NULL };
    struct kv_list *kv = opt_kv(s, NULL);
    const char *v;
    uint64_t n;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        const char *k = kv->items[i].key;

        /* Dotted keys (file.filename, cache.direct) go to block drivers. */
        if (!in_list(k, keys) && !strchr(k, '.')) {
            BAD(s, "Invalid parameter '%s'", k);
            goto out;
        }
    }
    for (unsigned i = 0; bools[i]; i++) {
        if (check_bool(s, kv, bools[i], "") < 0) {
            goto out;
        }
    }
    for (unsigned i = 0; ints[i]; i++) {
        if ((v = kv_get(kv, ints[i])) && parse_uint(v, &n) < 0) {
            BAD(s, "Parameter '%s' expects a number", ints[i]);
            goto out;
        }
    }
    if ((v = kv_get(kv, "if")) && !in_list(v, ifs)) {
        BAD(s, "unsupported bus type '%s'", v);
        goto out;
    }
    if ((v = kv_get(kv, "media")) && !in_list(v, medias)) {
        BAD(s, "'%s' invalid media", v);
        goto out;
    }
    if ((v = kv_get(kv, "cache")) && !in_list(v, caches)) {
        BAD(s, "invalid cache option");
        goto out;
    }
    if ((v = kv_get(kv, "aio")) && !in_list(v, aios)) {
        BAD(s, "invalid aio option");
        goto out;
    }
    if ((v = kv_get(kv, "format")) && !in_list(v, formats)) {
        BAD(s, "Unknown driver '%s'", v);
        goto out;
    }
    if ((v = kv_get(kv, "discard")) && !in_list(v, discards)) {
        BAD(s, "Invalid discard option");
        goto out;
    }
    if ((v = kv_get(kv, "werror")) && !in_list(v, werrors)) {
        BAD(s, "'%s' invalid write error action", v);
        goto out;
    }
    if ((v = kv_get(kv, "rerror")) && !in_list(v, rerrors)) {
        BAD(s, "'%s' invalid read error action", v);
        goto out;
    }
    /* A plain path that is not there fails as QEMU's open does; protocol
     * names ("nbd:...", "json:{...}") are the block layer's to check. */
    v = kv_get(kv, "file");
    if (v && *v && (v[0] == '/' || !strchr(v, ':')) && access(v, F_OK) < 0) {
        BAD(s, "Could not open '%s': %s", v, g_strerror(errno));
        goto out;
    }
    NOT_YET(s, "drives (disk images) are not supported yet");
out:
    kv_free(kv);
    return ret;
}

static int opt_disk_shortcut(struct parse_state *s)
{
    return NOT_YET(s, "drives (disk images) are not supported yet");
}

/* QEMU 7.2's -netdev types (NetClientDriver); "nic" and "none" are -net's. */
static const char *const netdev_types[] = {
    "user", "tap", "bridge", "l2tpv3", "socket", "stream", "dgram", "vde", "netmap",
    "vhost-user", "vhost-vdpa", "hubport", NULL,
};

static void print_netdev_help(void)
{
    printf("Available netdev backend types:\n");
    for (unsigned i = 0; netdev_types[i]; i++) {
        printf("%s (not supported yet)\n", netdev_types[i]);
    }
}

static int check_net_type(struct parse_state *s, const struct kv_list *kv, bool nic)
{
    const char *type = kv_get(kv, "type");

    if (!type || !*type) {
        return BAD(s, "Parameter 'type' is missing");
    }
    if (!in_list(type, netdev_types) && !(nic && !strcmp(type, "nic"))) {
        return BAD(s, "Parameter 'type' does not accept value '%s'", type);
    }
    return 0;
}

static int opt_netdev(struct parse_state *s)
{
    struct kv_list *kv;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        print_netdev_help();
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "type");
    if (!kv) {
        return -1;
    }
    if (check_net_type(s, kv, false) < 0) {
        goto out;
    }
    if (!kv_get(kv, "id")) {
        BAD(s, "Parameter 'id' is missing");
        goto out;
    }
    NOT_YET(s, "network backend '%s' is not supported yet", kv_get(kv, "type"));
out:
    kv_free(kv);
    return ret;
}

/* -nic and -net: "none" asks for no network, which is what hyvm has. */
static int opt_nic(struct parse_state *s)
{
    bool is_net = !strcmp(s->opt + strspn(s->opt, "-"), "net");
    struct kv_list *kv;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        print_netdev_help();
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "type");
    if (!kv) {
        return -1;
    }
    if (!g_strcmp0(kv_get(kv, "type"), "none")) {
        ret = 0;
        goto out;
    }
    if (check_net_type(s, kv, is_net) < 0) {
        goto out;
    }
    NOT_YET(s, "network devices are not supported yet");
out:
    kv_free(kv);
    return ret;
}

/* -------- Devices and objects -------- */

static int opt_device(struct parse_state *s)
{
    GError *err = NULL;
    struct dev_config *dc;

    if (!strcmp(s->arg, "help") || !strcmp(s->arg, "?")) {
        device_print_help();
        s->done = true;
        return 0;
    }
    if (s->arg[0] != '{') {
        struct kv_list *kv = opt_kv(s, "driver");

        if (!kv) {
            return -1;
        }
        if (kv_has(kv, "help")) {
            const char *name = kv_get(kv, "driver");
            const struct device_type *t = name ? device_type_find(name) : NULL;

            if (!t) {
                BAD(s, "'%s' is not a valid device model name", name ? name : "");
                kv_free(kv);
                return -1;
            }
            device_print_props(t);
            s->done = true;
            kv_free(kv);
            return 0;
        }
        kv_free(kv);
    }
    dc = dev_config_parse(s->arg, &err);
    if (!dc) {
        return opt_wrap(s, err);
    }
    if (dc->id) {
        if (g_hash_table_contains(s->device_ids, dc->id)) {
            BAD(s, "Duplicate ID '%s' for device", dc->id);
            dev_config_free(dc);
            return -1;
        }
        g_hash_table_add(s->device_ids, g_strdup(dc->id));
    }
    g_ptr_array_add(s->c->devices, dc);
    return 0;
}

static int opt_global(struct parse_state *s)
{
    GError *err = NULL;

    if (device_global_add(s->arg, &err) < 0) {
        return opt_wrap(s, err);
    }
    return 0;
}

/* User-creatable object types of QEMU 7.2 that scripts use most. */
static const char *const object_types[] = {
    "memory-backend-ram", "memory-backend-file", "memory-backend-memfd", "rng-random",
    "rng-builtin", "rng-egd", "secret", "secret_keyring", "iothread", "throttle-group",
    "tls-creds-x509", "tls-creds-psk", "tls-creds-anon", "tls-cipher-suites",
    "authz-simple", "authz-list", "authz-listfile", "authz-pam", "filter-buffer",
    "filter-dump", "filter-mirror", "filter-redirector", "filter-rewriter",
    "colo-compare", "can-bus", "cryptodev-backend-builtin", "input-linux", "main-loop",
    "pr-manager-helper", "sev-guest", "dbus-vmstate", "x-remote-object", NULL,
};

static int opt_object(struct parse_state *s)
{
    struct kv_list *kv;
    const char *type;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        printf("List of user creatable objects:\n");
        for (unsigned i = 0; object_types[i]; i++) {
            printf("  %s (not supported yet)\n", object_types[i]);
        }
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "qom-type");
    if (!kv) {
        return -1;
    }
    type = kv_get(kv, "qom-type");
    if (!type || !*type) {
        BAD(s, "Parameter 'qom-type' is missing");
    } else if (!in_list(type, object_types)) {
        BAD(s, "Parameter 'qom-type' does not accept value '%s'", type);
    } else if (!kv_get(kv, "id")) {
        BAD(s, "Parameter 'id' is missing");
    } else {
        NOT_YET(s, "object type '%s' is not supported yet", type);
    }
    kv_free(kv);
    return ret;
}

/* -------- Character devices and monitors -------- */

/* Every -chardev backend QEMU 7.2 has; the chardev layer says which of them
 * hyvm builds. */
static const char *const chardev_backends[] = {
    "null", "socket", "udp", "msmouse", "wctablet", "memory", "ringbuf", "file", "pipe",
    "stdio", "serial", "tty", "parallel", "parport", "pty", "vc", "braille", "spicevmc",
    "spiceport", "qemu-vdagent", "dbus", "testdev", NULL,
};

static int opt_chardev(struct parse_state *s)
{
    struct kv_list *kv;
    const char *backend, *id;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        printf("Available chardev backend types:\n");
        for (unsigned i = 0; chardev_backends[i]; i++) {
            printf("  %s\n", chardev_backends[i]);
        }
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "backend");
    if (!kv) {
        return -1;
    }
    backend = kv_get(kv, "backend");
    id = kv_get(kv, "id");
    if (!backend || !*backend) {
        BAD(s, "chardev: \"backend\" is missing");
    } else if (!in_list(backend, chardev_backends)) {
        BAD(s, "'%s' is not a valid char driver name", backend);
    } else if (!id) {
        BAD(s, "chardev: no id specified");
    } else if (!strcmp(backend, "socket") && !kv_has(kv, "path") && !kv_has(kv, "port") &&
               !kv_has(kv, "fd")) {
        /* Caught here, before an accelerator is probed, as QEMU's own
         * parser does; the chardev layer checks the rest. */
        BAD(s, "chardev: socket needs path=PATH or host=HOST,port=PORT");
    } else if (g_hash_table_contains(s->chardev_ids, id)) {
        BAD(s, "Duplicate ID '%s' for chardev", id);
    } else {
        g_hash_table_add(s->chardev_ids, g_strdup(id));
        g_ptr_array_add(s->c->chardevs, g_strdup(s->arg));
        ret = 0;
    }
    kv_free(kv);
    return ret;
}

/*
 * The short spelling of -serial/-monitor (QEMU's qemu_chr_parse_compat):
 * "mon:" in front of any of them, then a name or "prefix:rest".  The
 * chardev layer builds it and says which forms it does not build yet.
 */
static int check_chardev_spec(struct parse_state *s, const char *spec)
{
    static const char *const words[] = {
        "none", "null", "stdio", "vc", "pty", "msmouse", "braille", "wctablet", NULL,
    };
    static const char *const prefixes[] = {
        "vc:", "file:", "pipe:", "unix:", "tcp:", "telnet:", "tn3270:", "websocket:",
        "udp:", "chardev:", "/dev/", NULL,
    };

    if (g_str_has_prefix(spec, "mon:")) {
        spec += 4;
    }
    if (in_list(spec, words)) {
        return 0;
    }
    for (unsigned i = 0; prefixes[i]; i++) {
        if (g_str_has_prefix(spec, prefixes[i])) {
            return 0;
        }
    }
    return BAD(s, "'%s' is not a valid char driver", spec);
}

static int opt_serial(struct parse_state *s)
{
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    g_ptr_array_add(s->c->serials, g_strdup(s->arg));
    s->c->default_serial = false;
    return 0;
}

static int opt_monitor(struct parse_state *s)
{
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    g_ptr_array_add(s->c->monitors, g_strdup(s->arg));
    s->c->default_monitor = false;
    return 0;
}

static int opt_qmp(struct parse_state *s)
{
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    return NOT_YET(s, "QMP is not supported yet");
}

static int opt_mon(struct parse_state *s)
{
    static const char *const keys[] = { "chardev", "mode", "pretty", "id", NULL };
    struct kv_list *kv = opt_kv(s, "chardev");
    const char *mode;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) < 0 || check_bool(s, kv, "pretty", "") < 0) {
        goto out;
    }
    mode = kv_get(kv, "mode");
    if (!kv_get(kv, "chardev")) {
        BAD(s, "Parameter 'chardev' is missing");
    } else if (mode && strcmp(mode, "readline") && strcmp(mode, "control")) {
        BAD(s, "Parameter 'mode' does not accept value '%s'", mode);
    } else if (mode && !strcmp(mode, "control")) {
        NOT_YET(s, "QMP (mode=control) is not supported yet");
    } else {
        g_ptr_array_add(s->c->mons, g_strdup(s->arg));
        s->c->default_monitor = false;
        ret = 0;
    }
out:
    kv_free(kv);
    return ret;
}

static int opt_parallel(struct parse_state *s)
{
    if (!strcmp(s->arg, "none")) {
        s->c->default_parallel = false;
        return 0;
    }
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    return NOT_YET(s, "parallel ports are not supported yet");
}

/* -------- Display -------- */

static int opt_nographic(struct parse_state *s)
{
    s->c->nographic = true;
    return 0;
}

static int opt_display(struct parse_state *s)
{
    static const char *const others[] = {
        "default", "gtk", "sdl", "vnc", "curses", "egl-headless", "spice-app", "dbus",
        "cocoa", NULL,
    };
    struct kv_list *kv;
    const char *type;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        printf("Available display backend types:\nnone\n");
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "type");
    if (!kv) {
        return -1;
    }
    type = kv_get(kv, "type");
    if (!type || (strcmp(type, "none") && !in_list(type, others))) {
        BAD(s, "Parameter 'type' does not accept value '%s'", type ? type : "");
    } else if (strcmp(type, "none")) {
        NOT_YET(s, "display '%s' is not supported yet; use -display none or -nographic",
                type);
    } else if (kv->n > 1) {
        const char *k = kv->items[0].key;

        for (unsigned i = 0; i < kv->n && !strcmp(k, "type"); i++) {
            k = kv->items[i].key;
        }
        BAD(s, "Parameter '%s' is unexpected", k);
    } else {
        strv_set(&s->c->display, "none");
        ret = 0;
    }
    kv_free(kv);
    return ret;
}

static int opt_vga(struct parse_state *s)
{
    static const char *const known[] = {
        "std", "cirrus", "vmware", "qxl", "xenfb", "tcx", "cg3", "virtio", NULL,
    };

    if (!strcmp(s->arg, "help")) {
        printf("%-20s %s\n", "none", "no graphic card");
        s->done = true;
        return 0;
    }
    if (!strcmp(s->arg, "none")) {
        strv_set(&s->c->vga, "none");
        return 0;
    }
    if (!in_list(s->arg, known)) {
        return BAD(s, "unknown vga type: %s", s->arg);
    }
    return NOT_YET(s, "graphic card '%s' is not supported yet; use -vga none", s->arg);
}

/* -------- Run control, logs, misc -------- */

static int opt_nodefaults(struct parse_state *s)
{
    s->c->nodefaults = true;
    s->c->default_serial = s->c->default_monitor = s->c->default_parallel = false;
    return 0;
}

static int opt_no_reboot(struct parse_state *s)
{
    s->c->no_reboot = true;
    return 0;
}

static int opt_no_shutdown(struct parse_state *s)
{
    s->c->no_shutdown = true;
    return 0;
}

static int opt_start_paused(struct parse_state *s)
{
    s->c->start_paused = true;
    return 0;
}

static int opt_daemonize(struct parse_state *s)
{
    s->c->daemonize = true;
    return 0;
}

static int opt_pidfile(struct parse_state *s)
{
    strv_set(&s->c->pidfile, s->arg);
    return 0;
}

static int opt_name(struct parse_state *s)
{
    static const char *const keys[] = { "guest", "process", "debug-threads", NULL };
    struct kv_list *kv = opt_kv(s, "guest");
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) == 0 && check_bool(s, kv, "debug-threads", "") == 0) {
        strv_set(&s->c->name, kv_get(kv, "guest"));
        ret = 0;
    }
    kv_free(kv);
    return ret;
}

static int opt_logfile(struct parse_state *s)
{
    strv_set(&s->c->logfile, s->arg);
    return 0;
}

static int opt_log_items(struct parse_state *s)
{
    GError *err = NULL;

    if (!strcmp(s->arg, "help") || !strcmp(s->arg, "?")) {
        log_print_help();
        s->done = true;
        return 0;
    }
    if (log_parse_items(s->arg, &s->c->log_mask, &err) < 0) {
        return opt_wrap(s, err);
    }
    return 0;
}

static int opt_snapshot(struct parse_state *s)
{
    s->c->snapshot = true;
    return 0;
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
    { "blockdev", true, opt_disk_shortcut },
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
    { "vnc", true, opt_later },
    { "spice", true, opt_later },
    { "incoming", true, opt_later },
    { "loadvm", true, opt_later },
    { "numa", true, opt_later },
    { "usb", false, opt_later },
    { "usbdevice", true, opt_later },
    { "audiodev", true, opt_later },
    { "fsdev", true, opt_later },
    { "virtfs", true, opt_later },
    { "icount", true, opt_later },
    { "overcommit", true, opt_later },
    { "mem-path", true, opt_later },
    { "mem-prealloc", false, opt_later },
    { "readconfig", true, opt_later },
    { "writeconfig", true, opt_later },
    { "trace", true, opt_later },
    { "k", true, opt_later },
    { "no-hpet", false, opt_later },
    { "no-acpi", false, opt_later },
    { "smbios", true, opt_later },
    { "fw_cfg", true, opt_later },
    { "uuid", true, opt_later },
    { "runas", true, opt_later },
    { "chroot", true, opt_later },
    { "sandbox", true, opt_later },
    { "msg", true, opt_later },
    { "action", true, opt_later },
    { "watchdog-action", true, opt_later },
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

    /* -global values live in hw/device.c for the run; start from none. */
    device_globals_clear();
    for (int i = 1; i < argc && !s.done && ret == 0; i++) {
        const char *a = argv[i];
        const struct option_def *o;

        s.opt = a;
        s.arg = NULL;
        if (a[0] != '-' || !a[1]) {
            /* A bare argument is QEMU's disk image for IDE disk 0. */
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                        "%s: drives (disk images) are not supported yet", a);
            ret = -1;
            break;
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
    g_free(c->display);
    g_free(c->vga);
    g_free(c->pidfile);
    g_free(c->name);
    g_free(c->logfile);
    g_free(c->boot_order);
    g_free(c->rtc_base);
    g_free(c);
    device_globals_clear();
}
