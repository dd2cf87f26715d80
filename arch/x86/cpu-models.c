/*
 * -cpu: the CPU models and the CPUID the guest sees.
 *
 * A model is a vendor, a family/model/stepping, the lowest basic and
 * extended leaves it answers and a set of feature bits.  "-cpu
 * MODEL,+a,-b,c=on,vendor=..." changes them; x86_cpu_build_cpuid_opts()
 * then ands the bits with what the accelerator can run (warning about each
 * one it cannot, as QEMU does with its default check=on) and lays out every
 * leaf QEMU 7.2's TCG answers for the model: the oracle is
 * "qemu-system-x86_64 -accel tcg -cpu qemu64 -smp ..." with a guest that
 * prints CPUID (the constants in tests/unit/test-cpu-models.c).
 *
 * Threads: main thread, at start-up.
 */
#include <stdio.h>
#include <stdlib.h>
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
    /* CPUID.0DH.1:EAX (QEMU's FEAT_XSAVE) and CPUID.06H:EAX */
    { "xsaveopt", 0xd, REG_EAX, 0 }, { "xsavec", 0xd, REG_EAX, 1 },
    { "xgetbv1", 0xd, REG_EAX, 2 }, { "xsaves", 0xd, REG_EAX, 3 },
    { "arat", 6, REG_EAX, 2 },
};
#define NR_FEATURES (sizeof(cpu_features) / sizeof(cpu_features[0]))

#define NR_FEATURES (sizeof(cpu_features) / sizeof(cpu_features[0]))

/* The leaves a model fills feature bits in, and their registers. */
struct feature_word {
    uint32_t leaf, index;
    uint8_t reg;
};
static const struct feature_word feature_words[] = {
    { 1, 0, REG_EDX }, { 1, 0, REG_ECX }, { 7, 0, REG_EBX }, { 7, 0, REG_ECX },
    { 7, 0, REG_EDX }, { 0x80000001, 0, REG_EDX }, { 0x80000001, 0, REG_ECX },
    { 0xd, 1, REG_EAX }, { 6, 0, REG_EAX },
};
#define NR_WORDS (sizeof(feature_words) / sizeof(feature_words[0]))
enum { W_1_EDX, W_1_ECX, W_7_EBX, W_7_ECX, W_7_EDX, W_X1_EDX, W_X1_ECX, W_XSAVE, W_6_EAX };

#define F1_ECX_XSAVE (1u << 26)
#define F1_ECX_HYPERVISOR (1u << 31)
#define F1_EDX_PSE36 (1u << 17)
#define F1_EDX_HT (1u << 28)
#define FX_EDX_LM (1u << 29)
#define FX_ECX_CMP_LEGACY (1u << 1)
#define FX_ECX_SVM (1u << 2)
#define F7_ECX_LA57 (1u << 16)
#define F1_ECX_AVX (1u << 28)
/* CPUID.01H:EDX bits AMD repeats in 80000001H:EDX (APM vol. 3, E.4.2):
 * fpu..apic, mtrr..pat, pse36, mmx, fxsr. */
#define AMD_EDX_ALIASES 0x0183f3ffu

struct cpu_model {
    const char *name;
    const char *desc;
    const char *vendor;       /* 12 bytes; NULL: none (all zeros, as QEMU's base) */
    bool from_accel;          /* host, max: everything the accelerator runs */
    bool kvm_only;            /* host */
    uint32_t level, xlevel;   /* the least; features may raise them (QEMU's min-level) */
    unsigned family, model, stepping;
    const char *model_id;
    uint32_t words[NR_WORDS];
};

/* CPUID.01H:EDX of QEMU's PPRO_FEATURES: fpu de pse tsc msr pae mce cx8 apic
 * sep pge cmov pat mmx fxsr sse sse2. */
#define PPRO_EDX 0x0781abfdu
#define QEMU64_VENDOR "AuthenticAMD"
static const struct cpu_model cpu_models[] = {
    /* qemu64: AMD family 15 model 107, as QEMU 7.2 defines it. */
    { "qemu64", "QEMU Virtual CPU version 2.5+", QEMU64_VENDOR, false, false,
      0xd, 0x8000000a, 15, 107, 1, "QEMU Virtual CPU version 2.5+",
      { PPRO_EDX | (1u << 12) | (1u << 14) | F1_EDX_PSE36 | (1u << 19), /* mtrr mca clflush */
        (1u << 0) | (1u << 13) | F1_ECX_HYPERVISOR,     /* pni cx16 */
        0, 0, 0,
        (1u << 11) | (1u << 20) | FX_EDX_LM,            /* syscall nx lm */
        (1u << 0) | FX_ECX_SVM } },                     /* lahf-lm svm */
    { "base", "base CPU model type with no features enabled", NULL, false, false,
      0, 0, 0, 0, 0, "", { 0 } },
    { "host", "processor with all supported host features ", NULL, true, true,
      0, 0, 0, 0, 0, NULL, { 0 } },
    /* Under TCG, QEMU's max keeps qemu64's identity with another name. */
    { "max", "Enables all features supported by the accelerator in the current host",
      QEMU64_VENDOR, true, false, 0xd, 0x8000000a, 15, 107, 1, "QEMU TCG CPU version 2.5+",
      { 0 } },
};
#define NR_MODELS (sizeof(cpu_models) / sizeof(cpu_models[0]))

struct feature_change {
    unsigned feature;
    bool on;
};

struct x86_cpu_def {
    const struct cpu_model *model;
    GArray *changes;          /* struct feature_change, in command-line order */
    /* Property overrides; has_* false: the model's. */
    char vendor[13];
    char *model_id;
    bool has_vendor, has_family, has_model, has_stepping, has_level, has_xlevel;
    unsigned family, model_num, stepping;
    uint32_t level, xlevel;
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

/* "qemu64-v1" is the versioned name of "qemu64" (QEMU's -cpu help lists both). */
static const struct cpu_model *model_find(const char *name)
{
    for (unsigned i = 0; i < NR_MODELS; i++) {
        if (!strcmp(cpu_models[i].name, name)) {
            return &cpu_models[i];
        }
    }
    if (!strcmp(name, "qemu64-v1")) {
        return &cpu_models[0];
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

static bool bad_value(const struct x86_cpu_def *d, const char *name, const char *val,
                      GError **errp)
{
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                "can't apply global %s-x86_64-cpu.%s=%s: Property '.%s' doesn't take value "
                "'%s'", d->model->name, name, val, name, val);
    return false;
}

static bool parse_num(const char *s, uint64_t max, uint64_t *v)
{
    char *end;

    if (!*s || *s == '-') {
        return false;
    }
    *v = g_ascii_strtoull(s, &end, 0);
    return !*end && *v <= max;
}

/*
 * The identity properties QEMU's x86 CPU has (target/i386 "vendor",
 * "model-id", "family", "model", "stepping", "level", "xlevel").  Returns
 * false with *errp set when name is one of them and the value is bad; sets
 * *known when name is one of them.
 */
static bool def_set_prop(struct x86_cpu_def *d, const char *name, const char *val,
                         bool *known, GError **errp)
{
    uint64_t v;

    *known = true;
    if (!strcmp(name, "vendor")) {
        if (strlen(val) != 12) {
            return bad_value(d, name, val, errp);
        }
        memcpy(d->vendor, val, 13);
        d->has_vendor = true;
    } else if (!strcmp(name, "model-id")) {
        g_free(d->model_id);
        d->model_id = g_strdup(val);
    } else if (!strcmp(name, "family")) {
        if (!parse_num(val, 0xff + 0xf, &v)) {
            return bad_value(d, name, val, errp);
        }
        d->family = v;
        d->has_family = true;
    } else if (!strcmp(name, "model")) {
        if (!parse_num(val, 0xff, &v)) {
            return bad_value(d, name, val, errp);
        }
        d->model_num = v;
        d->has_model = true;
    } else if (!strcmp(name, "stepping")) {
        if (!parse_num(val, 0xf, &v)) {
            return bad_value(d, name, val, errp);
        }
        d->stepping = v;
        d->has_stepping = true;
    } else if (!strcmp(name, "level") || !strcmp(name, "xlevel")) {
        if (!parse_num(val, 0xffffffffu, &v)) {
            return bad_value(d, name, val, errp);
        }
        if (name[0] == 'l') {
            d->level = v;
            d->has_level = true;
        } else {
            d->xlevel = v;
            d->has_xlevel = true;
        }
    } else {
        *known = false;
    }
    return true;
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
        bool on, known;

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

            if (!def_set_prop(d, name, eq + 1, &known, errp)) {
                goto fail;
            }
            if (known) {
                continue;
            }
            if (feature_find(name) < 0) {
                if (!strcmp(name, "check") || !strcmp(name, "enforce")) {
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
        g_free(d->model_id);
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

/* QEMU 7.2's layout: the named model as an alias and its -v1 version, then
 * base, host and max; then the flags, sorted, wrapped before column 76. */
void x86_cpu_print_help(void)
{
    unsigned idx[NR_FEATURES];
    unsigned col = 0;

    printf("Available CPUs:\n");
    for (unsigned i = 0; i < NR_MODELS; i++) {
        const struct cpu_model *m = &cpu_models[i];

        if (!m->from_accel && m->vendor) {
            printf("x86 %-20s  %s\n", m->name, "(alias configured by machine type)");
            printf("x86 %s-v1%-*s  %s\n", m->name, (int)(17 - strlen(m->name)), "", m->desc);
        } else {
            printf("x86 %-20s  %s\n", m->name, m->desc);
        }
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
    const struct x86_cpuid_entry *e = cpuid_find(sup, nsup, feature_words[w].leaf,
                                                 feature_words[w].index);

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

/* Leaf 0 and 80000000H spell the vendor in EBX, EDX, ECX. */
static void put_vendor(struct x86_cpuid_entry *e, const char *v)
{
    if (!v) {
        return;
    }
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
 * lists svm) is quiet on a host whose KVM offers no nested SVM; the
 * software CPU has no SVM either and stays as quiet as QEMU's TCG.
 */
static bool feature_quiet(const char *name)
{
    return !strcmp(name, "svm") || !strcmp(name, "acpi") || !strcmp(name, "monitor");
}

/* The model's words with the command line's changes, and'ed with sup[]. */
static void compute_words(const struct x86_cpu_def *d, const struct x86_cpuid_entry *supported,
                          unsigned nsupported, const struct x86_cpuid_opts *o,
                          uint32_t want[NR_WORDS])
{
    const struct cpu_model *m = d->model;
    uint32_t sup[NR_WORDS];

    for (unsigned w = 0; w < NR_WORDS; w++) {
        sup[w] = supported_word(supported, nsupported, w);
        want[w] = m->from_accel ? sup[w] : m->words[w];
    }
    /* The hypervisor bit is ours to give (SDM: reserved for hypervisor use);
     * every model but base sets it, as QEMU's do. */
    sup[W_1_ECX] |= F1_ECX_HYPERVISOR;
    if (m->from_accel) {
        want[W_1_ECX] |= F1_ECX_HYPERVISOR;
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
    for (unsigned i = 0; i < NR_FEATURES; i++) {
        const struct cpu_feature *f = &cpu_features[i];
        int w = word_of(f->leaf, f->reg);
        uint32_t bit = 1u << f->bit;

        if (!(want[w] & bit) || (sup[w] & bit)) {
            continue;
        }
        want[w] &= ~bit;
        if (o->quiet || (!def_requested(d, i) && feature_quiet(f->name))) {
            continue;
        }
        warn_report("%s doesn't support requested feature: CPUID.%02XH:%s.%s [bit %u]",
                    o->accel ? o->accel : "host", f->leaf, reg_name(f->reg), f->name, f->bit);
    }
}

/* ---- topology (QEMU's include/hw/i386/topology.h numbering) ---- */

/* Bits that hold IDs 0..count-1. */
static unsigned topo_width(unsigned count)
{
    return count > 1 ? 32 - __builtin_clz(count - 1) : 0;
}

struct topo_shape {
    unsigned dies, cores, threads;      /* per package, per die, per core */
    unsigned core_off, die_off, pkg_off;
};

static struct topo_shape topo_shape(const struct x86_cpu_topo *t)
{
    struct topo_shape s = { 1, 1, 1, 0, 0, 0 };

    if (t) {
        s.dies = t->dies ? t->dies : 1;
        s.cores = t->cores ? t->cores : 1;
        s.threads = t->threads ? t->threads : 1;
    }
    s.core_off = topo_width(s.threads);
    s.die_off = s.core_off + topo_width(s.cores);
    s.pkg_off = s.die_off + topo_width(s.dies);
    return s;
}

uint32_t x86_topo_apicid(const struct x86_cpu_topo *topo, unsigned index)
{
    struct topo_shape s = topo_shape(topo);
    unsigned smt = index % s.threads;
    unsigned core = (index / s.threads) % s.cores;
    unsigned die = (index / (s.threads * s.cores)) % s.dies;
    unsigned pkg = index / (s.threads * s.cores * s.dies);

    if (!topo) {
        return index;
    }
    return (pkg << s.pkg_off) | (die << s.die_off) | (core << s.core_off) | smt;
}

/* ---- XSAVE (SDM vol. 1, 13.4 and 13.2) ---- */

#define XSAVE_LEGACY_AND_HEADER 576u
#define XSAVE_AVX_OFFSET 576u
#define XSAVE_AVX_SIZE 256u

uint32_t x86_xsave_size(uint64_t xcr0)
{
    return (xcr0 & 4) ? XSAVE_AVX_OFFSET + XSAVE_AVX_SIZE : XSAVE_LEGACY_AND_HEADER;
}

/* ---- the leaves of a named model ---- */

/* Everything a leaf is made of: the model's identity after the command line. */
struct layout {
    char vendor[12];
    bool has_vendor, intel, amd;
    uint32_t level, xlevel, signature;
    char model_id[48];
    uint32_t want[NR_WORDS];
    uint64_t xcr0_mask;       /* state components the model's XSAVE covers */
    unsigned phys_bits;
    struct topo_shape topo;
    uint32_t apic_id;
    unsigned threads_per_pkg;  /* QEMU's nr_cores * nr_threads (per die) */
};

static uint32_t signature(unsigned family, unsigned model, unsigned stepping)
{
    /* EAX: stepping 3:0, model 7:4 (+ext 19:16), family 11:8 (+ext 27:20). */
    uint32_t eax = (stepping & 0xf) | ((model & 0xf) << 4) | (((model >> 4) & 0xf) << 16);

    eax |= (family > 15 ? 15 : family) << 8;
    if (family > 15) {
        eax |= (family - 15) << 20;
    }
    return eax;
}

static void layout_init(struct layout *l, const struct x86_cpu_def *d,
                        const struct x86_cpuid_entry *sup, unsigned nsup,
                        const struct x86_cpuid_opts *o)
{
    const struct cpu_model *m = d->model;
    const char *vendor = d->has_vendor ? d->vendor : m->vendor;
    const char *id = d->model_id ? d->model_id : m->model_id;
    const struct x86_cpuid_entry *xs = cpuid_find(sup, nsup, 0xd, 0);

    memset(l, 0, sizeof(*l));
    compute_words(d, sup, nsup, o, l->want);
    if (vendor) {
        memcpy(l->vendor, vendor, 12);
        l->has_vendor = true;
        l->intel = !memcmp(vendor, "GenuineIntel", 12);
        l->amd = !memcmp(vendor, "AuthenticAMD", 12);
    }
    l->signature = signature(d->has_family ? d->family : m->family,
                             d->has_model ? d->model_num : m->model,
                             d->has_stepping ? d->stepping : m->stepping);
    if (id) {
        memcpy(l->model_id, id, strnlen(id, sizeof(l->model_id)));
    }
    /* XSAVE covers x87 and SSE, and AVX with avx; only what the accelerator saves. */
    if (l->want[W_1_ECX] & F1_ECX_XSAVE) {
        l->xcr0_mask = 3 | ((l->want[W_1_ECX] & F1_ECX_AVX) ? 4 : 0);
        l->xcr0_mask &= xs ? ((uint64_t)xs->edx << 32 | xs->eax) : 3;
    }
    /* QEMU's min-level rule: a leaf with features set is within reach. */
    l->level = m->level;
    l->xlevel = m->xlevel;
    for (unsigned w = 0; w < NR_WORDS; w++) {
        uint32_t leaf = feature_words[w].leaf;

        if (!l->want[w]) {
            continue;
        }
        if (leaf & 0x80000000) {
            l->xlevel = l->xlevel > leaf ? l->xlevel : leaf;
        } else if (l->level < leaf) {
            l->level = leaf;
        }
    }
    if (l->xcr0_mask && l->level < 0xd) {
        l->level = 0xd;
    }
    if ((l->want[W_X1_ECX] & FX_ECX_SVM) && l->xlevel < 0x8000000a) {
        l->xlevel = 0x8000000a;
    }
    l->topo = topo_shape(o->topo);
    /* Several dies need leaf 1FH: QEMU raises the level for them, but not for AMD. */
    if (l->topo.dies > 1 && !l->amd && l->level < 0x1f) {
        l->level = 0x1f;
    }
    if (d->has_level) {
        l->level = d->level;
    }
    if (d->has_xlevel) {
        l->xlevel = d->xlevel;
    }
    /* QEMU's TCG default: 40 physical address bits; 32-bit parts 36 with PSE36. */
    l->phys_bits = (l->want[W_X1_EDX] & FX_EDX_LM) ? 40
                   : (l->want[W_1_EDX] & F1_EDX_PSE36) ? 36 : 32;
    l->apic_id = x86_topo_apicid(o->topo, o->index);
    l->threads_per_pkg = l->topo.cores * l->topo.threads;
}

/* Appends leaf fn.idx to out[] as e, or fails the builder when out[] is full. */
#define ADD(fn, idx, has_idx) \
    do { \
        if (!(e = x86_cpuid_add(out, n, max, (fn), (idx), (has_idx)))) { \
            return -1; \
        } \
    } while (0)

/* CPUID.02H descriptors QEMU 7.2 reports for its legacy caches:
 * 0x2c 32K L1d, 0x30 32K L1i, 0x7d 2M L2, 0x4d 16M L3. */
static int add_leaf2(const struct layout *l, struct x86_cpuid_entry *out, unsigned *n,
                     unsigned max)
{
    struct x86_cpuid_entry *e;

    ADD(2, 0, false);
    if (!l->amd) {
        e->eax = 1;
        e->ecx = 0x4d;
        e->edx = 0x002c307d;
    }
    return 0;
}

/*
 * CPUID.04H (SDM vol. 2A, table 3-8): QEMU's legacy caches, 32K 8-way L1d
 * and L1i, 4M 16-way L2, 16M 16-way L3, 64-byte lines.  EAX[31:26] is the
 * cores per die less one; [25:14] the APIC IDs sharing the cache less one:
 * one for L1 (QEMU 7.2), a core's threads for L2, a die for L3.  AMD
 * vendors answer zeros (QEMU's vendor_cpuid_only).
 */
static int add_leaf4(const struct layout *l, struct x86_cpuid_entry *out, unsigned *n,
                     unsigned max)
{
    static const struct { uint32_t eax, ebx, ecx, edx; } caches[4] = {
        { 0x121, 0x01c0003f, 0x3f, 1 },     /* L1d: type 1 level 1 self-init */
        { 0x122, 0x01c0003f, 0x3f, 1 },     /* L1i */
        { 0x143, 0x03c0003f, 0xfff, 1 },    /* L2 */
        { 0x163, 0x03c0003f, 0x3fff, 6 },   /* L3: inclusive, complex indexing */
    };
    unsigned sharing[4] = { 1, 1, l->topo.threads, 1u << l->topo.die_off };
    struct x86_cpuid_entry *e;

    for (unsigned i = 0; i <= 4; i++) {
        ADD(4, i, true);
        if (l->amd || i == 4) {
            continue;
        }
        e->eax = caches[i].eax | ((l->topo.cores - 1) << 26) | ((sharing[i] - 1) << 14);
        e->ebx = caches[i].ebx;
        e->ecx = caches[i].ecx;
        e->edx = caches[i].edx;
    }
    return 0;
}

/* CPUID.0BH and 1FH (SDM vol. 2A): one subleaf per level, x2APIC ID in EDX.
 * Level types: 1 SMT, 2 core, 5 die; subleaves past the last are type 0. */
static int add_topology(const struct layout *l, uint32_t fn, struct x86_cpuid_entry *out,
                        unsigned *n, unsigned max)
{
    const struct topo_shape *t = &l->topo;
    bool v2 = fn == 0x1f;
    struct {
        uint32_t shift, count, type;
    } lv[3] = {
        { t->core_off, t->threads, 1 },
        { v2 ? t->die_off : t->pkg_off, t->cores * t->threads, 2 },
        { t->pkg_off, t->dies * t->cores * t->threads, 5 },
    };
    unsigned nlv = v2 ? 3 : 2;
    struct x86_cpuid_entry *e;

    for (unsigned i = 0; i <= nlv; i++) {
        ADD(fn, i, true);
        if (v2 && t->dies < 2) {
            continue;       /* QEMU: 1FH only describes several dies */
        }
        e->ecx = i;
        e->edx = l->apic_id;
        if (i < nlv) {
            e->eax = lv[i].shift;
            e->ebx = lv[i].count & 0xffff;
            e->ecx |= lv[i].type << 8;
        }
    }
    return 0;
}

/* CPUID.0DH (SDM vol. 2A, 13.2): EBX is the size for the XCR0 at reset
 * (x87 only); a running vCPU answers for its own XCR0. */
static int add_xsave(const struct layout *l, struct x86_cpuid_entry *out, unsigned *n,
                     unsigned max)
{
    struct x86_cpuid_entry *e;

    ADD(0xd, 0, true);
    if (!l->xcr0_mask) {
        ADD(0xd, 1, true);
        return 0;
    }
    e->eax = (uint32_t)l->xcr0_mask;
    e->ebx = x86_xsave_size(1);
    e->ecx = x86_xsave_size(l->xcr0_mask);
    e->edx = (uint32_t)(l->xcr0_mask >> 32);
    ADD(0xd, 1, true);
    e->eax = l->want[W_XSAVE];
    e->ebx = x86_xsave_size(1);
    if (l->xcr0_mask & 4) {
        ADD(0xd, 2, true);
        e->eax = XSAVE_AVX_SIZE;
        e->ebx = XSAVE_AVX_OFFSET;
    }
    return 0;
}

/*
 * CPUID.15H/16H (SDM vol. 2A) for Intel vendors whose level reaches them:
 * TSC = crystal * EBX / EAX, and the nominal frequency in MHz.
 */
static int add_tsc_leaves(const struct layout *l, uint64_t hz, struct x86_cpuid_entry *out,
                          unsigned *n, unsigned max)
{
    uint64_t crystal = hz % 25000000 ? 1000000 : 25000000;
    struct x86_cpuid_entry *e;

    if (!l->intel || !hz) {
        return 0;
    }
    if (l->level >= 0x15) {
        ADD(0x15, 0, false);
        e->eax = 1;
        e->ebx = hz / crystal;
        e->ecx = crystal;
    }
    if (l->level >= 0x16) {
        ADD(0x16, 0, false);
        e->eax = hz / 1000000;
        e->ebx = hz / 1000000;
        e->ecx = 100;
    }
    return 0;
}

static int add_basic(const struct layout *l, const struct x86_cpuid_opts *o,
                     struct x86_cpuid_entry *out, unsigned *n, unsigned max)
{
    struct x86_cpuid_entry *e;

    ADD(0, 0, false);
    e->eax = l->level;
    if (l->has_vendor) {
        put_vendor(e, l->vendor);
    }
    if (l->level >= 1) {
        ADD(1, 0, false);
        e->eax = l->signature;
        /* EBX: APIC ID 31:24, logical processors 23:16, CLFLUSH 8 quadwords. */
        e->ebx = (l->apic_id << 24) | (8 << 8);
        e->ecx = l->want[W_1_ECX];
        e->edx = l->want[W_1_EDX];
        if (l->threads_per_pkg > 1) {
            e->ebx |= (l->threads_per_pkg & 0xff) << 16;
            e->edx |= F1_EDX_HT;
        }
    }
    if (l->level >= 2 && add_leaf2(l, out, n, max) < 0) {
        return -1;
    }
    if (l->level >= 4 && add_leaf4(l, out, n, max) < 0) {
        return -1;
    }
    if (l->level >= 5) {
        /* MONITOR/MWAIT: QEMU's default EMX and IBE, no line sizes. */
        ADD(5, 0, false);
        e->ecx = 3;
    }
    if (l->level >= 6) {
        ADD(6, 0, false);
        e->eax = l->want[W_6_EAX];
    }
    if (l->level >= 7) {
        ADD(7, 0, true);
        e->ebx = l->want[W_7_EBX];
        e->ecx = l->want[W_7_ECX];
        e->edx = l->want[W_7_EDX];
    }
    if (l->level >= 0xb && add_topology(l, 0xb, out, n, max) < 0) {
        return -1;
    }
    if (l->level >= 0xd && add_xsave(l, out, n, max) < 0) {
        return -1;
    }
    if (add_tsc_leaves(l, o->tsc_hz, out, n, max) < 0) {
        return -1;
    }
    if (l->level >= 0x1f && add_topology(l, 0x1f, out, n, max) < 0) {
        return -1;
    }
    return 0;
}

static int add_extended(const struct layout *l, struct x86_cpuid_entry *out, unsigned *n,
                        unsigned max)
{
    struct x86_cpuid_entry *e;

    if (l->xlevel < 0x80000000) {
        return 0;
    }
    ADD(0x80000000, 0, false);
    e->eax = l->xlevel;
    if (l->has_vendor) {
        put_vendor(e, l->vendor);
    }
    if (l->xlevel >= 0x80000001) {
        ADD(0x80000001, 0, false);
        e->eax = l->signature;
        e->ecx = l->want[W_X1_ECX];
        e->edx = l->want[W_X1_EDX];
        if (l->amd) {
            e->edx |= l->want[W_1_EDX] & AMD_EDX_ALIASES;
        }
        /* CmpLegacy, except for Intel: Linux drops the thread count with it. */
        if (l->threads_per_pkg > 1 && !l->intel) {
            e->ecx |= FX_ECX_CMP_LEGACY;
        }
    }
    for (uint32_t i = 0; i < 3 && l->xlevel >= 0x80000002 + i; i++) {
        ADD(0x80000002 + i, 0, false);
        memcpy(&e->eax, l->model_id + i * 16, 4);
        memcpy(&e->ebx, l->model_id + i * 16 + 4, 4);
        memcpy(&e->ecx, l->model_id + i * 16 + 8, 4);
        memcpy(&e->edx, l->model_id + i * 16 + 12, 4);
    }
    if (l->xlevel >= 0x80000005) {
        /* L1 TLBs and caches (APM vol. 3, E.4.4): QEMU's legacy AMD values,
         * 64K 2-way L1d and L1i, 255-entry fully associative TLBs. */
        ADD(0x80000005, 0, false);
        e->eax = 0x01ff01ff;
        e->ebx = 0x01ff01ff;
        e->ecx = 0x40020140;
        e->edx = 0x40020140;
    }
    if (l->xlevel >= 0x80000006) {
        /* L2 TLB and L2/L3 caches: 512K 16-way L2, 16M 16-way L3 (ECX, EDX). */
        ADD(0x80000006, 0, false);
        e->ebx = 0x42004200;
        e->ecx = 0x02008140;
        e->edx = 0x00808140;
    }
    if (l->xlevel >= 0x80000007) {
        ADD(0x80000007, 0, false);
    }
    if (l->xlevel >= 0x80000008) {
        ADD(0x80000008, 0, false);
        e->eax = l->phys_bits;
        if (l->want[W_X1_EDX] & FX_EDX_LM) {
            e->eax |= (l->want[W_7_ECX] & F7_ECX_LA57) ? 0x3900 : 0x3000;
        }
        /* ECX: APIC ID bits of the package 15:12, threads in it less one 7:0. */
        if (l->threads_per_pkg > 1) {
            e->ecx = (l->topo.pkg_off << 12) | ((l->threads_per_pkg - 1) & 0xff);
        }
    }
    for (uint32_t fn = 0x80000009; fn <= l->xlevel && fn <= 0x8000000a; fn++) {
        ADD(fn, 0, false);      /* SVM's leaf stays empty: no SVM is offered */
    }
    return 0;
}

static int build_named(const struct x86_cpu_def *d, const struct x86_cpuid_entry *sup,
                       unsigned nsup, const struct x86_cpuid_opts *o,
                       struct x86_cpuid_entry *out, unsigned *n, unsigned max)
{
    struct layout l;
    struct x86_cpuid_entry *e;

    layout_init(&l, d, sup, nsup, o);
    if (add_basic(&l, o, out, n, max) < 0) {
        return -1;
    }
    if (o->hv_vendor) {
        ADD(0x40000000, 0, false);
        /* The hypervisor signature runs EBX, ECX, EDX (unlike leaf 0's). */
        e->eax = 0x40000001;
        memcpy(&e->ebx, o->hv_vendor, 4);
        memcpy(&e->ecx, o->hv_vendor + 4, 4);
        memcpy(&e->edx, o->hv_vendor + 8, 4);
        ADD(0x40000001, 0, false);
    }
    return add_extended(&l, out, n, max);
}

/* host and max under KVM: every leaf the accelerator offers, the feature
 * words replaced by the filtered ones. */
static int build_from_accel(const struct x86_cpu_def *d, const struct x86_cpuid_entry *sup,
                            unsigned nsup, const struct x86_cpuid_opts *o,
                            struct x86_cpuid_entry *out, unsigned *n, unsigned max)
{
    uint32_t want[NR_WORDS];
    struct x86_cpuid_entry *e;

    compute_words(d, sup, nsup, o, want);
    for (unsigned i = 0; i < nsup; i++) {
        ADD(sup[i].function, sup[i].index, sup[i].has_index);
        *e = sup[i];
        for (unsigned w = 0; w < NR_WORDS; w++) {
            if (feature_words[w].leaf == e->function &&
                (!e->has_index || e->index == feature_words[w].index)) {
                *entry_reg(e, feature_words[w].reg) = want[w];
            }
        }
    }
    return 0;
}

int x86_cpu_build_cpuid_opts(const struct x86_cpu_def *d,
                             const struct x86_cpuid_entry *supported, unsigned nsupported,
                             const struct x86_cpuid_opts *opts,
                             struct x86_cpuid_entry *out, unsigned *n, GError **errp)
{
    const struct cpu_model *m = d->model;
    unsigned max = *n;
    int ret;

    *n = 0;
    if (m->kvm_only && opts->no_host) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "CPU model '%s' requires KVM or HVF", m->name);
        return -1;
    }
    if (m->from_accel && !(opts->synth_max && !m->kvm_only)) {
        ret = build_from_accel(d, supported, nsupported, opts, out, n, max);
    } else {
        ret = build_named(d, supported, nsupported, opts, out, n, max);
    }
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "too many CPUID leaves for the model");
    }
    return ret;
}

int x86_cpu_build_cpuid(const struct x86_cpu_def *d,
                        const struct x86_cpuid_entry *supported, unsigned nsupported,
                        struct x86_cpuid_entry *out, unsigned *n, GError **errp)
{
    static const struct x86_cpuid_opts kvm_like = { .accel = "host" };

    return x86_cpu_build_cpuid_opts(d, supported, nsupported, &kvm_like, out, n, errp);
}
