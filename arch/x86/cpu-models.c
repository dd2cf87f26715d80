/*
 * -cpu: the CPU models and the CPUID the guest sees.
 *
 * A model is a vendor, a family/model/stepping, the highest basic and
 * extended leaves and a set of feature bits.  "-cpu MODEL,+a,-b,c=on"
 * changes bits; x86_cpu_build_cpuid() then ands them with what the
 * accelerator can run and warns about each requested bit it cannot, as
 * QEMU does with its default check=on.
 *
 * Threads: main thread, at start-up.
 */
#include <stdio.h>
#include <string.h>

#include "arch/x86/cpu-models.h"
#include "system/error.h"
#include "system/keyval.h"

enum cpuid_reg { REG_EAX, REG_EBX, REG_ECX, REG_EDX };

struct cpu_feature {
    const char *name;
    uint32_t leaf;
    uint8_t reg;
    uint8_t bit;
};

/* Names as QEMU spells them (its "Recognized CPUID flags"), SDM vol. 2A CPUID. */
static const struct cpu_feature cpu_features[] = {
    /* CPUID.01H:EDX */
    { "fpu", 1, REG_EDX, 0 }, { "vme", 1, REG_EDX, 1 }, { "de", 1, REG_EDX, 2 },
    { "pse", 1, REG_EDX, 3 }, { "tsc", 1, REG_EDX, 4 }, { "msr", 1, REG_EDX, 5 },
    { "pae", 1, REG_EDX, 6 }, { "mce", 1, REG_EDX, 7 }, { "cx8", 1, REG_EDX, 8 },
    { "apic", 1, REG_EDX, 9 }, { "sep", 1, REG_EDX, 11 }, { "mtrr", 1, REG_EDX, 12 },
    { "pge", 1, REG_EDX, 13 }, { "mca", 1, REG_EDX, 14 }, { "cmov", 1, REG_EDX, 15 },
    { "pat", 1, REG_EDX, 16 }, { "pse36", 1, REG_EDX, 17 }, { "pn", 1, REG_EDX, 18 },
    { "clflush", 1, REG_EDX, 19 }, { "ds", 1, REG_EDX, 21 }, { "acpi", 1, REG_EDX, 22 },
    { "mmx", 1, REG_EDX, 23 }, { "fxsr", 1, REG_EDX, 24 }, { "sse", 1, REG_EDX, 25 },
    { "sse2", 1, REG_EDX, 26 }, { "ss", 1, REG_EDX, 27 }, { "ht", 1, REG_EDX, 28 },
    { "tm", 1, REG_EDX, 29 }, { "ia64", 1, REG_EDX, 30 }, { "pbe", 1, REG_EDX, 31 },
    /* CPUID.01H:ECX */
    { "pni", 1, REG_ECX, 0 }, { "pclmulqdq", 1, REG_ECX, 1 }, { "dtes64", 1, REG_ECX, 2 },
    { "monitor", 1, REG_ECX, 3 }, { "ds-cpl", 1, REG_ECX, 4 }, { "vmx", 1, REG_ECX, 5 },
    { "smx", 1, REG_ECX, 6 }, { "est", 1, REG_ECX, 7 }, { "tm2", 1, REG_ECX, 8 },
    { "ssse3", 1, REG_ECX, 9 }, { "cid", 1, REG_ECX, 10 }, { "fma", 1, REG_ECX, 12 },
    { "cx16", 1, REG_ECX, 13 }, { "xtpr", 1, REG_ECX, 14 }, { "pdcm", 1, REG_ECX, 15 },
    { "pcid", 1, REG_ECX, 17 }, { "dca", 1, REG_ECX, 18 }, { "sse4.1", 1, REG_ECX, 19 },
    { "sse4.2", 1, REG_ECX, 20 }, { "x2apic", 1, REG_ECX, 21 }, { "movbe", 1, REG_ECX, 22 },
    { "popcnt", 1, REG_ECX, 23 }, { "tsc-deadline", 1, REG_ECX, 24 },
    { "aes", 1, REG_ECX, 25 }, { "xsave", 1, REG_ECX, 26 }, { "avx", 1, REG_ECX, 28 },
    { "f16c", 1, REG_ECX, 29 }, { "rdrand", 1, REG_ECX, 30 },
    { "hypervisor", 1, REG_ECX, 31 },
    /* CPUID.07H.0:EBX */
    { "fsgsbase", 7, REG_EBX, 0 }, { "tsc-adjust", 7, REG_EBX, 1 }, { "bmi1", 7, REG_EBX, 3 },
    { "hle", 7, REG_EBX, 4 }, { "avx2", 7, REG_EBX, 5 }, { "smep", 7, REG_EBX, 7 },
    { "bmi2", 7, REG_EBX, 8 }, { "erms", 7, REG_EBX, 9 }, { "invpcid", 7, REG_EBX, 10 },
    { "rtm", 7, REG_EBX, 11 }, { "mpx", 7, REG_EBX, 14 }, { "avx512f", 7, REG_EBX, 16 },
    { "avx512dq", 7, REG_EBX, 17 }, { "rdseed", 7, REG_EBX, 18 }, { "adx", 7, REG_EBX, 19 },
    { "smap", 7, REG_EBX, 20 }, { "clflushopt", 7, REG_EBX, 23 }, { "clwb", 7, REG_EBX, 24 },
    { "avx512cd", 7, REG_EBX, 28 }, { "sha-ni", 7, REG_EBX, 29 },
    { "avx512bw", 7, REG_EBX, 30 }, { "avx512vl", 7, REG_EBX, 31 },
    /* CPUID.07H.0:ECX and EDX */
    { "umip", 7, REG_ECX, 2 }, { "pku", 7, REG_ECX, 3 }, { "vaes", 7, REG_ECX, 9 },
    { "vpclmulqdq", 7, REG_ECX, 10 }, { "rdpid", 7, REG_ECX, 22 },
    { "md-clear", 7, REG_EDX, 10 }, { "spec-ctrl", 7, REG_EDX, 26 },
    { "stibp", 7, REG_EDX, 27 }, { "arch-capabilities", 7, REG_EDX, 29 },
    { "ssbd", 7, REG_EDX, 31 },
    /* CPUID.80000001H:EDX and ECX */
    { "syscall", 0x80000001, REG_EDX, 11 }, { "nx", 0x80000001, REG_EDX, 20 },
    { "mmxext", 0x80000001, REG_EDX, 22 }, { "fxsr-opt", 0x80000001, REG_EDX, 25 },
    { "pdpe1gb", 0x80000001, REG_EDX, 26 }, { "rdtscp", 0x80000001, REG_EDX, 27 },
    { "lm", 0x80000001, REG_EDX, 29 }, { "3dnowext", 0x80000001, REG_EDX, 30 },
    { "3dnow", 0x80000001, REG_EDX, 31 },
    { "lahf-lm", 0x80000001, REG_ECX, 0 }, { "cmp-legacy", 0x80000001, REG_ECX, 1 },
    { "svm", 0x80000001, REG_ECX, 2 }, { "extapic", 0x80000001, REG_ECX, 3 },
    { "cr8legacy", 0x80000001, REG_ECX, 4 }, { "abm", 0x80000001, REG_ECX, 5 },
    { "sse4a", 0x80000001, REG_ECX, 6 }, { "misalignsse", 0x80000001, REG_ECX, 7 },
    { "3dnowprefetch", 0x80000001, REG_ECX, 8 }, { "osvw", 0x80000001, REG_ECX, 9 },
    { "ibs", 0x80000001, REG_ECX, 10 }, { "xop", 0x80000001, REG_ECX, 11 },
    { "skinit", 0x80000001, REG_ECX, 12 }, { "wdt", 0x80000001, REG_ECX, 13 },
    { "lwp", 0x80000001, REG_ECX, 15 }, { "fma4", 0x80000001, REG_ECX, 16 },
    { "tce", 0x80000001, REG_ECX, 17 }, { "nodeid-msr", 0x80000001, REG_ECX, 19 },
    { "tbm", 0x80000001, REG_ECX, 21 }, { "topoext", 0x80000001, REG_ECX, 22 },
    { "perfctr-core", 0x80000001, REG_ECX, 23 }, { "perfctr-nb", 0x80000001, REG_ECX, 24 },
};
#define NR_FEATURES (sizeof(cpu_features) / sizeof(cpu_features[0]))

/* The leaves a model fills feature bits in, and their registers. */
struct feature_word {
    uint32_t leaf;
    uint8_t reg;
};
static const struct feature_word feature_words[] = {
    { 1, REG_EDX }, { 1, REG_ECX }, { 7, REG_EBX }, { 7, REG_ECX }, { 7, REG_EDX },
    { 0x80000001, REG_EDX }, { 0x80000001, REG_ECX },
};
#define NR_WORDS (sizeof(feature_words) / sizeof(feature_words[0]))

struct cpu_model {
    const char *name;
    const char *desc;
    const char *vendor;       /* 12 bytes, NULL: take the host's */
    bool from_accel;          /* host, max: everything the accelerator runs */
    uint32_t level, xlevel;
    unsigned family, model, stepping;
    const char *model_id;
    uint32_t words[NR_WORDS];
};

/* CPUID.01H:EDX of QEMU's "PPRO" base that qemu64 builds on. */
#define PPRO_EDX 0x0183f9ffu  /* fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat */
static const struct cpu_model cpu_models[] = {
    { "base", "base CPU model type with no features enabled", NULL, false,
      0, 0, 0, 0, 0, "", { 0 } },
    { "host", "processor with all supported host features", NULL, true,
      0, 0, 0, 0, 0, NULL, { 0 } },
    { "max", "Enables all features supported by the accelerator in the current host",
      NULL, true, 0, 0, 0, 0, 0, NULL, { 0 } },
    /* qemu64: AMD family 15 model 107, as QEMU 7.2 defines it. */
    { "qemu64", "QEMU Virtual CPU version 2.5+", "AuthenticAMD", false,
      0xd, 0x8000000a, 15, 107, 1, "QEMU Virtual CPU version 2.5+",
      { PPRO_EDX | (1u << 17) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26),
        (1u << 0) | (1u << 13),                  /* pni cx16 */
        0, 0, 0,
        (1u << 11) | (1u << 20) | (1u << 29),    /* syscall nx lm */
        (1u << 0) | (1u << 2) } },               /* lahf-lm svm */
};
#define NR_MODELS (sizeof(cpu_models) / sizeof(cpu_models[0]))

struct feature_change {
    unsigned feature;
    bool on;
};

struct x86_cpu_def {
    const struct cpu_model *model;
    GArray *changes;          /* struct feature_change, in command-line order */
};

static int word_of(uint32_t leaf, uint8_t reg)
{
    for (unsigned i = 0; i < NR_WORDS; i++) {
        if (feature_words[i].leaf == leaf && feature_words[i].reg == reg) {
            return i;
        }
    }
    return -1;
}

/* QEMU takes '_' and '-' alike, and the old "sse4_1" spelling. */
static int feature_find(const char *name)
{
    g_autofree char *n = g_strdup(name);

    for (char *p = n; *p; p++) {
        if (*p == '_') {
            *p = '-';
        }
    }
    if (!strcmp(n, "sse4-1")) {
        strcpy(n, "sse4.1");
    } else if (!strcmp(n, "sse4-2")) {
        strcpy(n, "sse4.2");
    }
    for (unsigned i = 0; i < NR_FEATURES; i++) {
        if (!strcmp(cpu_features[i].name, n)) {
            return i;
        }
    }
    return -1;
}

static const struct cpu_model *model_find(const char *name)
{
    for (unsigned i = 0; i < NR_MODELS; i++) {
        if (!strcmp(cpu_models[i].name, name)) {
            return &cpu_models[i];
        }
    }
    return NULL;
}

static int def_add_change(struct x86_cpu_def *d, const char *name, bool on, GError **errp)
{
    int f = feature_find(name);
    struct feature_change c;

    if (f < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Property '%s-x86_64-cpu.%s' not found", d->model->name, name);
        return -1;
    }
    c.feature = f;
    c.on = on;
    g_array_append_val(d->changes, c);
    return 0;
}

struct x86_cpu_def *x86_cpu_parse(const char *spec, GError **errp)
{
    g_auto(GStrv) parts = NULL;
    struct x86_cpu_def *d;

    if (!spec || !*spec) {
        spec = "qemu64";
    }
    parts = g_strsplit(spec, ",", -1);
    d = g_new0(struct x86_cpu_def, 1);
    d->changes = g_array_new(FALSE, FALSE, sizeof(struct feature_change));
    d->model = model_find(parts[0]);
    if (!d->model) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "unable to find CPU model '%s'",
                    parts[0]);
        goto fail;
    }
    for (unsigned i = 1; parts[i]; i++) {
        const char *p = parts[i];
        const char *eq = strchr(p, '=');
        bool on;

        if (!*p) {
            continue;
        }
        if (p[0] == '+' || p[0] == '-') {
            if (def_add_change(d, p + 1, p[0] == '+', errp) < 0) {
                goto fail;
            }
            continue;
        }
        if (!eq) {
            /* A bare name is "name=on" (QEMU's old feature syntax). */
            if (def_add_change(d, p, true, errp) < 0) {
                goto fail;
            }
            continue;
        }
        {
            g_autofree char *name = g_strndup(p, eq - p);

            if (feature_find(name) < 0) {
                if (!strcmp(name, "check") || !strcmp(name, "enforce") ||
                    !strcmp(name, "model-id") || !strcmp(name, "vendor") ||
                    !strcmp(name, "family") || !strcmp(name, "model") ||
                    !strcmp(name, "stepping") || !strcmp(name, "level") ||
                    !strcmp(name, "xlevel")) {
                    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                                "-cpu %s: CPU property '%s' is not supported yet", spec, name);
                    goto fail;
                }
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                            "can't apply global %s-x86_64-cpu.%s: Property "
                            "'%s-x86_64-cpu.%s' not found", d->model->name, p,
                            d->model->name, name);
                goto fail;
            }
            if (!parse_bool(eq + 1, &on)) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                            "can't apply global %s-x86_64-cpu.%s=%s: Parameter '%s' expects "
                            "'on' or 'off'", d->model->name, name, eq + 1, name);
                goto fail;
            }
            if (def_add_change(d, name, on, errp) < 0) {
                goto fail;
            }
        }
    }
    return d;
fail:
    x86_cpu_def_free(d);
    return NULL;
}

void x86_cpu_def_free(struct x86_cpu_def *d)
{
    if (d) {
        g_array_free(d->changes, TRUE);
        g_free(d);
    }
}

const char *x86_cpu_def_model(const struct x86_cpu_def *d)
{
    return d->model->name;
}

static int feature_cmp(const void *a, const void *b)
{
    return strcmp(cpu_features[*(const unsigned *)a].name,
                  cpu_features[*(const unsigned *)b].name);
}

void x86_cpu_print_help(void)
{
    unsigned idx[NR_FEATURES];
    unsigned col = 0;

    printf("Available CPUs:\n");
    for (unsigned i = 0; i < NR_MODELS; i++) {
        printf("x86 %-20s  %s\n", cpu_models[i].name, cpu_models[i].desc);
    }
    printf("\nRecognized CPUID flags:\n");
    for (unsigned i = 0; i < NR_FEATURES; i++) {
        idx[i] = i;
    }
    qsort(idx, NR_FEATURES, sizeof(idx[0]), feature_cmp);
    for (unsigned i = 0; i < NR_FEATURES; i++) {
        const char *n = cpu_features[idx[i]].name;

        if (col && col + 1 + strlen(n) > 76) {
            printf("\n");
            col = 0;
        }
        col += printf("%s%s", col ? " " : "  ", n);
    }
    printf("\n");
}

static uint32_t *entry_reg(struct x86_cpuid_entry *e, uint8_t reg)
{
    switch (reg) {
    case REG_EAX: return &e->eax;
    case REG_EBX: return &e->ebx;
    case REG_ECX: return &e->ecx;
    default: return &e->edx;
    }
}

static const struct x86_cpuid_entry *cpuid_find(const struct x86_cpuid_entry *t, unsigned n,
                                                uint32_t fn, uint32_t index)
{
    for (unsigned i = 0; i < n; i++) {
        if (t[i].function == fn && (!t[i].has_index || t[i].index == index)) {
            return &t[i];
        }
    }
    return NULL;
}

static uint32_t supported_word(const struct x86_cpuid_entry *sup, unsigned nsup, unsigned w)
{
    const struct x86_cpuid_entry *e = cpuid_find(sup, nsup, feature_words[w].leaf, 0);

    return e ? *entry_reg((struct x86_cpuid_entry *)e, feature_words[w].reg) : 0;
}

struct x86_cpuid_entry *x86_cpuid_add(struct x86_cpuid_entry *out, unsigned *n, unsigned max,
                                      uint32_t fn, uint32_t index, bool has_index)
{
    struct x86_cpuid_entry *e;

    if (*n >= max) {
        return NULL;
    }
    e = &out[(*n)++];
    memset(e, 0, sizeof(*e));
    e->function = fn;
    e->index = index;
    e->has_index = has_index;
    return e;
}

static void put_vendor(struct x86_cpuid_entry *e, const char *v)
{
    memcpy(&e->ebx, v, 4);
    memcpy(&e->edx, v + 4, 4);
    memcpy(&e->ecx, v + 8, 4);
}

static const char *reg_name(uint8_t reg)
{
    static const char *const names[] = { "EAX", "EBX", "ECX", "EDX" };

    return names[reg & 3];
}

/* Did the command line turn feature f on explicitly? */
static bool def_requested(const struct x86_cpu_def *d, unsigned f)
{
    bool on = false;

    for (unsigned i = 0; i < d->changes->len; i++) {
        const struct feature_change *c = &g_array_index(d->changes, struct feature_change, i);

        if (c->feature == f) {
            on = c->on;
        }
    }
    return on;
}

/*
 * Model bits an accelerator may lack without a warning: QEMU's KVM defaults
 * turn svm, acpi and monitor off for every model, so "-cpu qemu64" (which
 * lists svm) is quiet on a host whose KVM offers no nested SVM.
 */
static bool feature_quiet(const char *name)
{
    return !strcmp(name, "svm") || !strcmp(name, "acpi") || !strcmp(name, "monitor");
}

int x86_cpu_build_cpuid(const struct x86_cpu_def *d,
                        const struct x86_cpuid_entry *supported, unsigned nsupported,
                        struct x86_cpuid_entry *out, unsigned *n, GError **errp)
{
    const struct cpu_model *m = d->model;
    unsigned max = *n;
    uint32_t want[NR_WORDS], sup[NR_WORDS];
    struct x86_cpuid_entry *e;

    *n = 0;
    for (unsigned w = 0; w < NR_WORDS; w++) {
        sup[w] = supported_word(supported, nsupported, w);
        want[w] = m->from_accel ? sup[w] : m->words[w];
    }
    for (unsigned i = 0; i < d->changes->len; i++) {
        const struct feature_change *c = &g_array_index(d->changes, struct feature_change, i);
        const struct cpu_feature *f = &cpu_features[c->feature];
        int w = word_of(f->leaf, f->reg);

        if (c->on) {
            want[w] |= 1u << f->bit;
        } else {
            want[w] &= ~(1u << f->bit);
        }
    }
    /* The hypervisor bit is ours to give (SDM: reserved for hypervisor use). */
    want[word_of(1, REG_ECX)] |= 1u << 31;
    sup[word_of(1, REG_ECX)] |= 1u << 31;
    for (unsigned i = 0; i < NR_FEATURES; i++) {
        const struct cpu_feature *f = &cpu_features[i];
        int w = word_of(f->leaf, f->reg);
        uint32_t bit = 1u << f->bit;

        if ((want[w] & bit) && !(sup[w] & bit) && !def_requested(d, i) &&
            feature_quiet(f->name)) {
            want[w] &= ~bit;
            continue;
        }
        if ((want[w] & bit) && !(sup[w] & bit)) {
            warn_report("host doesn't support requested feature: CPUID.%02XH:%s.%s [bit %u]",
                        f->leaf, reg_name(f->reg), f->name, f->bit);
            want[w] &= ~bit;
        }
    }

    if (m->from_accel) {
        /* Every leaf the accelerator offers, with the feature words replaced. */
        for (unsigned i = 0; i < nsupported; i++) {
            e = x86_cpuid_add(out, n, max, supported[i].function, supported[i].index,
                        supported[i].has_index);
            if (!e) {
                goto too_many;
            }
            *e = supported[i];
            if (e->has_index && e->index) {
                continue;
            }
            for (unsigned w = 0; w < NR_WORDS; w++) {
                if (feature_words[w].leaf == e->function) {
                    *entry_reg(e, feature_words[w].reg) = want[w];
                }
            }
        }
        return 0;
    }

    /* A named model: its own leaves, each word already filtered. */
    if (!(e = x86_cpuid_add(out, n, max, 0, 0, false))) {
        goto too_many;
    }
    e->eax = m->level;
    put_vendor(e, m->vendor ? m->vendor : "AuthenticAMD");
    if (m->level >= 1) {
        if (!(e = x86_cpuid_add(out, n, max, 1, 0, false))) {
            goto too_many;
        }
        /* EAX: stepping 3:0, model 7:4 (+ext 19:16), family 11:8 (+ext 27:20). */
        e->eax = (m->stepping & 0xf) | ((m->model & 0xf) << 4) | ((m->model >> 4) << 16);
        e->eax |= (m->family > 15 ? 15 : m->family) << 8;
        if (m->family > 15) {
            e->eax |= (m->family - 15) << 20;
        }
        /* EBX: CLFLUSH line size in 8-byte units, one logical processor. */
        e->ebx = (8 << 8) | (1 << 16);
        e->ecx = want[word_of(1, REG_ECX)];
        e->edx = want[word_of(1, REG_EDX)];
    }
    if (m->level >= 7) {
        if (!(e = x86_cpuid_add(out, n, max, 7, 0, true))) {
            goto too_many;
        }
        e->ebx = want[word_of(7, REG_EBX)];
        e->ecx = want[word_of(7, REG_ECX)];
        e->edx = want[word_of(7, REG_EDX)];
    }
    if (m->xlevel >= 0x80000000) {
        if (!(e = x86_cpuid_add(out, n, max, 0x80000000, 0, false))) {
            goto too_many;
        }
        e->eax = m->xlevel;
        put_vendor(e, m->vendor ? m->vendor : "AuthenticAMD");
    }
    if (m->xlevel >= 0x80000001) {
        if (!(e = x86_cpuid_add(out, n, max, 0x80000001, 0, false))) {
            goto too_many;
        }
        e->eax = cpuid_find(out, *n, 1, 0) ? cpuid_find(out, *n, 1, 0)->eax : 0;
        e->ecx = want[word_of(0x80000001, REG_ECX)];
        e->edx = want[word_of(0x80000001, REG_EDX)];
    }
    if (m->xlevel >= 0x80000004 && m->model_id) {
        char id[48] = { 0 };

        strncpy(id, m->model_id, sizeof(id) - 1);
        for (unsigned l = 0; l < 3; l++) {
            if (!(e = x86_cpuid_add(out, n, max, 0x80000002 + l, 0, false))) {
                goto too_many;
            }
            memcpy(&e->eax, id + l * 16, 4);
            memcpy(&e->ebx, id + l * 16 + 4, 4);
            memcpy(&e->ecx, id + l * 16 + 8, 4);
            memcpy(&e->edx, id + l * 16 + 12, 4);
        }
    }
    if (m->xlevel >= 0x80000008) {
        const struct x86_cpuid_entry *s = cpuid_find(supported, nsupported, 0x80000008, 0);

        if (!(e = x86_cpuid_add(out, n, max, 0x80000008, 0, false))) {
            goto too_many;
        }
        /* Physical and linear address widths: the host's, or 40/48 bits. */
        e->eax = s ? (s->eax & 0xffff) : 0x3028;
    }
    return 0;
too_many:
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "too many CPUID leaves for the model");
    return -1;
}
