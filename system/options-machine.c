/*
 * -machine, -accel, -enable-kvm, -cpu, -smp and -m: the board, the
 * accelerator list, the CPU model, the CPU topology (checked once the board
 * is known, by smp_finish()) and the RAM size.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <errno.h>
#include <string.h>

#include "accel/accel.h"
#include "arch/x86/cpu-models.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/keyval.h"
#include "system/options-internal.h"

static const char *const smp_keys[SMP__N] = {
    "cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads",
};

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

int opt_machine(struct parse_state *s)
{
    struct kv_list *kv = opt_kv(s, "type");
    const char *type, *accel, *smm;
    bool on;
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
    /* hyvm has no System Management Mode (machine/pc.c): smm=on is refused
     * before anything starts; off and auto (off in hyvm) pass. */
    smm = kv_get(kv, "smm");
    if (smm && parse_bool(smm, &on) && on) {
        ret = NOT_YET(s, "System Management Mode is not supported; use smm=off or smm=auto "
                      "(which means off in hyvm)");
        goto out;
    }
    if (type) {
        strv_set(&s->c->machine, type);
    }
    /* -machine kernel=,initrd=,append= are -kernel, -initrd and -append. */
    if (kv_get(kv, "kernel")) {
        strv_set(&s->c->kernel, kv_get(kv, "kernel"));
    }
    if (kv_get(kv, "initrd")) {
        strv_set(&s->c->initrd, kv_get(kv, "initrd"));
    }
    if (kv_get(kv, "append")) {
        strv_set(&s->c->append, kv_get(kv, "append"));
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
    "thread", "tb-size", "split-wx",
    "jit",      /* hyvm's own: the translator of the software CPU, on by default */
    NULL,
};

int opt_accel(struct parse_state *s)
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
        if (!strcmp(key, "thread")) {
            if (strcmp(val, "single") && strcmp(val, "multi")) {
                BAD(s, "Invalid 'thread' setting %s", val);
                goto out;
            }
            s->c->tcg_single_thread = !strcmp(val, "single");
            g_free(s->thread_multi_ctx);
            s->thread_multi_ctx = s->c->tcg_single_thread ? NULL
                                  : g_strdup_printf("%s %s", s->opt, s->arg);
            continue;
        }
        if (!strcmp(key, "tb-size")) {
            char *end;
            guint64 mib;

            errno = 0;
            mib = g_ascii_strtoull(val, &end, 0);
            if (!*val || *end || errno || val[0] == '-') {
                BAD(s, "Parameter 'tb-size' expects uint64");
                goto out;
            }
            if (mib > 4096) {
                BAD(s, "tb-size=%s: at most 4096 (MiB) per vCPU", val);
                goto out;
            }
            s->c->tcg_tb_size = mib << 20;
            continue;
        }
        if (!strcmp(key, "jit")) {
            bool on;

            if (!parse_bool(val, &on)) {
                BAD(s, "Parameter 'jit' expects 'on' or 'off'");
                goto out;
            }
            s->c->tcg_jit = on;
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

int opt_enable_kvm(struct parse_state *s)
{
    g_ptr_array_set_size(s->accel_machine, 0);
    g_ptr_array_add(s->accel_machine, g_strdup("kvm"));
    return 0;
}

int opt_cpu(struct parse_state *s)
{
    if (!strcmp(s->arg, "help") || !strcmp(s->arg, "?")) {
        x86_cpu_print_help();
        s->done = true;
        return 0;
    }
    strv_set(&s->c->cpu, s->arg);
    return 0;
}

int opt_smp(struct parse_state *s)
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
int smp_finish(struct parse_state *s, const struct machine_type *mt)
{
    struct hyvm_config *c = s->c;
    bool pc = g_str_has_prefix(mt->name, "pc");
    uint64_t max_limit = mt->max_cpus;
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
int opt_memory(struct parse_state *s)
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
