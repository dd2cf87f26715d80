/*
 * -cpu parsing and the CPUID a guest sees: the model's bits, +feat/-feat,
 * filtering by what the accelerator supports (with QEMU's warning), and
 * QEMU's error messages for bad specs.
 */
#include <string.h>

#include <glib.h>

#include "arch/x86/cpu-models.h"
#include "system/error.h"

/* An accelerator that supports every feature bit. */
static const struct x86_cpuid_entry all_supported[] = {
    { 0, 0, false, 0xd, 0, 0, 0 },
    { 1, 0, false, 0x000806f8, 0, 0xffffffff, 0xffffffff },
    { 7, 0, true, 0, 0xffffffff, 0xffffffff, 0xffffffff },
    { 0x80000000, 0, false, 0x80000008, 0, 0, 0 },
    { 0x80000001, 0, false, 0, 0, 0xffffffff, 0xffffffff },
    { 0x80000008, 0, false, 0x3030, 0, 0, 0 },
};

/* One without SSE3 (pni) and AVX, like the software KVM of our CI hosts. */
static const struct x86_cpuid_entry no_pni[] = {
    { 0, 0, false, 0xd, 0, 0, 0 },
    { 1, 0, false, 0x000806f8, 0, 0xffffffff & ~1u & ~(1u << 28), 0xffffffff },
    { 0x80000001, 0, false, 0, 0, 0xffffffff & ~(1u << 2), 0xffffffff },
};

static const struct x86_cpuid_entry *find(const struct x86_cpuid_entry *t, unsigned n,
                                          uint32_t fn)
{
    for (unsigned i = 0; i < n; i++) {
        if (t[i].function == fn) {
            return &t[i];
        }
    }
    return NULL;
}

static unsigned build(const char *spec, const struct x86_cpuid_entry *sup, unsigned nsup,
                      struct x86_cpuid_entry *out)
{
    g_autoptr(GError) err = NULL;
    struct x86_cpu_def *d = x86_cpu_parse(spec, &err);
    unsigned n = 64;

    g_assert_no_error(err);
    g_assert_nonnull(d);
    g_assert_cmpint(x86_cpu_build_cpuid(d, sup, nsup, out, &n, &err), ==, 0);
    g_assert_no_error(err);
    x86_cpu_def_free(d);
    return n;
}

static void test_qemu64(void)
{
    struct x86_cpuid_entry out[64];
    unsigned n = build("qemu64", all_supported, G_N_ELEMENTS(all_supported), out);
    const struct x86_cpuid_entry *l0 = find(out, n, 0), *l1 = find(out, n, 1);
    const struct x86_cpuid_entry *e1 = find(out, n, 0x80000001), *b = find(out, n, 0x80000002);
    char vendor[13] = { 0 }, brand[17] = { 0 };

    g_assert_nonnull(l0);
    g_assert_nonnull(l1);
    g_assert_nonnull(e1);
    g_assert_nonnull(b);
    memcpy(vendor, &l0->ebx, 4);
    memcpy(vendor + 4, &l0->edx, 4);
    memcpy(vendor + 8, &l0->ecx, 4);
    g_assert_cmpstr(vendor, ==, "AuthenticAMD");
    g_assert_cmphex(l0->eax, ==, 0xd);
    /* Family 15 model 107 (0x6b) stepping 1: base model 0xb, extended model 6. */
    g_assert_cmphex(l1->eax, ==, 0x00060fb1);
    g_assert_true(l1->edx & (1u << 26));   /* sse2 */
    g_assert_true(l1->edx & (1u << 0));    /* fpu */
    g_assert_true(l1->ecx & (1u << 0));    /* pni */
    g_assert_true(l1->ecx & (1u << 31));   /* hypervisor */
    g_assert_false(l1->ecx & (1u << 28));  /* no avx in qemu64 */
    g_assert_true(e1->edx & (1u << 29));   /* lm */
    g_assert_true(e1->ecx & (1u << 2));    /* svm */
    memcpy(brand, &b->eax, 16);
    g_assert_cmpstr(brand, ==, "QEMU Virtual CPU");
}

static void test_feature_changes(void)
{
    struct x86_cpuid_entry out[64];
    unsigned n = build("qemu64,-sse2,+avx,sse4_1=on,svm=off", all_supported,
                       G_N_ELEMENTS(all_supported), out);
    const struct x86_cpuid_entry *l1 = find(out, n, 1), *e1 = find(out, n, 0x80000001);

    g_assert_false(l1->edx & (1u << 26));
    g_assert_true(l1->ecx & (1u << 28));
    g_assert_true(l1->ecx & (1u << 19));
    g_assert_false(e1->ecx & (1u << 2));
}

static void child_filtered(void)
{
    struct x86_cpuid_entry out[64];
    unsigned n = build("qemu64,+avx", no_pni, G_N_ELEMENTS(no_pni), out);
    const struct x86_cpuid_entry *l1 = find(out, n, 1);

    /* What the accelerator lacks is not offered, even when asked for. */
    g_assert_false(find(out, n, 0x80000001)->ecx & (1u << 2));
    g_assert_false(l1->ecx & 1u);
    g_assert_false(l1->ecx & (1u << 28));
    g_assert_true(l1->edx & (1u << 26));
}

static void test_filtered(void)
{
    g_test_trap_subprocess("/cpu-models/filtered/subprocess", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*warning: host doesn't support requested feature: "
                              "CPUID.01H:ECX.pni [bit 0]*CPUID.01H:ECX.avx [bit 28]*");
    /* svm is dropped quietly, as QEMU's KVM defaults do. */
    g_test_trap_assert_stderr_unmatched("*svm*");
}

static void test_max_takes_accel(void)
{
    struct x86_cpuid_entry out[64];
    unsigned n = build("max,-avx", all_supported, G_N_ELEMENTS(all_supported), out);
    const struct x86_cpuid_entry *l1 = find(out, n, 1), *l8 = find(out, n, 0x80000008);

    g_assert_cmpuint(n, ==, G_N_ELEMENTS(all_supported));
    g_assert_cmphex(l1->eax, ==, 0x000806f8);
    g_assert_false(l1->ecx & (1u << 28));
    g_assert_cmphex(l8->eax, ==, 0x3030);
}

static void expect_error(const char *spec, const char *msg)
{
    g_autoptr(GError) err = NULL;

    g_assert_null(x86_cpu_parse(spec, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
}

static void test_errors(void)
{
    expect_error("foo", "unable to find CPU model 'foo'");
    expect_error("qemu64,+foo", "Property 'qemu64-x86_64-cpu.foo' not found");
    expect_error("max,-bar", "Property 'max-x86_64-cpu.bar' not found");
    expect_error("qemu64,sse2=maybe", "can't apply global qemu64-x86_64-cpu.sse2=maybe: "
                 "Parameter 'sse2' expects 'on' or 'off'");
}

static void test_default_and_models(void)
{
    static const char *const models[] = { "qemu64", "max", "host", "base" };

    for (unsigned i = 0; i < G_N_ELEMENTS(models); i++) {
        g_autoptr(GError) err = NULL;
        struct x86_cpu_def *d = x86_cpu_parse(models[i], &err);

        g_assert_no_error(err);
        g_assert_cmpstr(x86_cpu_def_model(d), ==, models[i]);
        x86_cpu_def_free(d);
    }
    {
        struct x86_cpu_def *d = x86_cpu_parse(NULL, NULL);

        g_assert_cmpstr(x86_cpu_def_model(d), ==, "qemu64");
        x86_cpu_def_free(d);
    }
}

static void test_help(void)
{
    if (g_test_subprocess()) {
        x86_cpu_print_help();
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("Available CPUs:\n*x86 qemu64 *QEMU Virtual CPU version 2.5+\n*"
                              "Recognized CPUID flags:\n*sse4.2*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpu-models/qemu64", test_qemu64);
    g_test_add_func("/cpu-models/feature-changes", test_feature_changes);
    g_test_add_func("/cpu-models/filtered", test_filtered);
    g_test_add_func("/cpu-models/filtered/subprocess", child_filtered);
    g_test_add_func("/cpu-models/max", test_max_takes_accel);
    g_test_add_func("/cpu-models/errors", test_errors);
    g_test_add_func("/cpu-models/models", test_default_and_models);
    g_test_add_func("/cpu-models/help", test_help);
    return g_test_run();
}
