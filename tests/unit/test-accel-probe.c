/*
 * The accelerator probe's decision, on prepared host facts: a /dev/kvm
 * that is missing or not KVM, a CPU without vmx/svm, a software KVM
 * (kvm_pvm), and the choice among -accel lists.  The real /dev/kvm is
 * used only where it exists; elsewhere that case is skipped.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "accel/accel.h"
#include "system/error.h"

struct fake_host {
    char *dir;
    char *cpuinfo, *sys_module, *dev_kvm;
    bool own_dev;             /* dev_kvm is a file of ours, inside dir */
    struct accel_host_facts facts;
};

static void fake_host_init(struct fake_host *h, const char *flags, bool pvm, const char *dev)
{
    g_autofree char *text = g_strdup_printf("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                                            "flags\t\t: %s\n\n", flags);

    memset(h, 0, sizeof(*h));
    h->dir = g_dir_make_tmp("hyvm-probe-XXXXXX", NULL);
    g_assert_nonnull(h->dir);
    h->cpuinfo = g_build_filename(h->dir, "cpuinfo", NULL);
    g_assert_true(g_file_set_contents(h->cpuinfo, text, -1, NULL));
    h->sys_module = g_build_filename(h->dir, "module", NULL);
    g_assert_cmpint(g_mkdir(h->sys_module, 0755), ==, 0);
    if (pvm) {
        g_autofree char *p = g_build_filename(h->sys_module, "kvm_pvm", NULL);

        g_assert_cmpint(g_mkdir(p, 0755), ==, 0);
    }
    if (!strcmp(dev, "missing")) {
        h->dev_kvm = g_build_filename(h->dir, "kvm", NULL);
    } else if (!strcmp(dev, "file")) {
        h->dev_kvm = g_build_filename(h->dir, "kvm", NULL);
        g_assert_true(g_file_set_contents(h->dev_kvm, "not a device", -1, NULL));
        h->own_dev = true;
    } else {
        h->dev_kvm = g_strdup(dev);
    }
    h->facts.cpuinfo = h->cpuinfo;
    h->facts.sys_module = h->sys_module;
    h->facts.dev_kvm = h->dev_kvm;
}

static void fake_host_free(struct fake_host *h)
{
    g_autofree char *pvm = g_build_filename(h->sys_module, "kvm_pvm", NULL);

    if (h->own_dev) {
        g_remove(h->dev_kvm);
    }
    g_rmdir(pvm);
    g_rmdir(h->sys_module);
    g_remove(h->cpuinfo);
    g_rmdir(h->dir);
    g_free(h->dir);
    g_free(h->cpuinfo);
    g_free(h->sys_module);
    g_free(h->dev_kvm);
}

static void probe_expect(const char *flags, bool pvm, const char *dev, bool strict,
                         const char *needle)
{
    struct fake_host h;
    g_autofree char *why = NULL;
    int ret;

    fake_host_init(&h, flags, pvm, dev);
    ret = accel_kvm_ops.probe(&h.facts, strict, &why);
    g_assert_cmpint(ret, <, 0);
    g_assert_nonnull(why);
    if (!strstr(why, needle)) {
        g_test_message("why: %s", why);
    }
    g_assert_nonnull(strstr(why, needle));
    fake_host_free(&h);
}

static void test_no_virt_flag(void)
{
    /* Strict: a CPU without vmx/svm never gets KVM, whatever /dev/kvm is. */
    probe_expect("fpu vme de pse tsc msr pae sse sse2 lm", false, "/dev/null", true,
                 "no hardware virtualization");
    /* A flag that merely contains "vmx" is not the flag. */
    probe_expect("fpu vmxnot svmish", false, "/dev/null", true, "no hardware virtualization");
}

static void test_software_kvm(void)
{
    probe_expect("fpu vmx sse2", true, "/dev/null", true, "kvm_pvm");
    probe_expect("fpu svm sse2", true, "/dev/null", true, "without hardware virtualization");
}

static void test_dev_missing(void)
{
    probe_expect("fpu vmx", false, "missing", true, "No such file or directory");
    /* Non-strict ignores the CPU flags but still needs the device. */
    probe_expect("fpu", false, "missing", false, "Could not access KVM kernel module");
}

static void test_dev_not_kvm(void)
{
    probe_expect("fpu vmx", false, "file", false, "is not a KVM device");
    probe_expect("fpu vmx", false, "/dev/null", false, "is not a KVM device");
}

static void test_real_dev_kvm(void)
{
    g_autofree char *why = NULL;

    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        g_test_skip("no usable /dev/kvm on this host");
        return;
    }
    /* -accel kvm takes any KVM that opens and speaks API 12. */
    g_assert_cmpint(accel_kvm_ops.probe(&accel_default_host, false, &why), ==, 0);
    g_assert_null(why);
}

/* accel_choose prints its lines on stderr: run it in a child. */
static void child_auto_no_kvm(void)
{
    struct fake_host h;
    g_autoptr(GError) err = NULL;

    fake_host_init(&h, "fpu sse2", false, "missing");
    g_assert_true(accel_choose(NULL, 0, &h.facts, &err) == &accel_tcg_ops);
    g_assert_no_error(err);
    fake_host_free(&h);
}

static void test_auto_no_kvm(void)
{
    g_test_trap_subprocess("/accel/auto-no-kvm/subprocess", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    /* Exactly one line about KVM, naming the reason and the choice. */
    g_test_trap_assert_stderr("*KVM is not used: *no hardware virtualization*; "
                              "using the software CPU (tcg)\n");
    g_test_trap_assert_stderr_unmatched("*\n*\n*");
}

static void child_auto_pvm(void)
{
    struct fake_host h;
    g_autoptr(GError) err = NULL;

    fake_host_init(&h, "fpu vmx", true, "/dev/null");
    g_assert_true(accel_choose(NULL, 0, &h.facts, &err) == &accel_tcg_ops);
    g_assert_no_error(err);
    fake_host_free(&h);
}

static void test_auto_pvm(void)
{
    g_test_trap_subprocess("/accel/auto-pvm/subprocess", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*KVM is not used: *kvm_pvm*; using the software CPU (tcg)\n");
    g_test_trap_assert_stderr_unmatched("*\n*\n*");
}

static void child_list_falls_through(void)
{
    const char *names[] = { "kvm", "tcg" };
    struct fake_host h;
    g_autoptr(GError) err = NULL;

    fake_host_init(&h, "fpu vmx", false, "missing");
    g_assert_true(accel_choose(names, 2, &h.facts, &err) == &accel_tcg_ops);
    g_assert_no_error(err);
    fake_host_free(&h);
}

static void test_list_falls_through(void)
{
    g_test_trap_subprocess("/accel/list/subprocess", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*Could not access KVM kernel module*; trying tcg*");
}

static void test_unknown_and_tcg(void)
{
    const char *foo[] = { "foo" };
    const char *tcg[] = { "tcg" };
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    g_assert_null(accel_choose(foo, 1, &accel_default_host, &e1));
    g_assert_cmpstr(e1->message, ==, "invalid accelerator foo");
    /* The software CPU runs on any host. */
    g_assert_true(accel_choose(tcg, 1, &accel_default_host, &e2) == &accel_tcg_ops);
    g_assert_no_error(e2);
    g_assert_true(accel_name_known("kvm"));
    g_assert_true(accel_name_known("tcg"));
    g_assert_false(accel_name_known("xen"));
}

static void test_explicit_kvm_takes_software_kvm(void)
{
    const char *kvm[] = { "kvm" };
    g_autoptr(GError) err = NULL;

    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        g_test_skip("no usable /dev/kvm on this host");
        return;
    }
    /* Whatever serves /dev/kvm, an explicit -accel kvm uses it. */
    g_assert_true(accel_choose(kvm, 1, &accel_default_host, &err) == &accel_kvm_ops);
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/accel/probe/no-virt-flag", test_no_virt_flag);
    g_test_add_func("/accel/probe/software-kvm", test_software_kvm);
    g_test_add_func("/accel/probe/dev-missing", test_dev_missing);
    g_test_add_func("/accel/probe/dev-not-kvm", test_dev_not_kvm);
    g_test_add_func("/accel/probe/real-dev-kvm", test_real_dev_kvm);
    g_test_add_func("/accel/auto-no-kvm", test_auto_no_kvm);
    g_test_add_func("/accel/auto-no-kvm/subprocess", child_auto_no_kvm);
    g_test_add_func("/accel/auto-pvm", test_auto_pvm);
    g_test_add_func("/accel/auto-pvm/subprocess", child_auto_pvm);
    g_test_add_func("/accel/list", test_list_falls_through);
    g_test_add_func("/accel/list/subprocess", child_list_falls_through);
    g_test_add_func("/accel/unknown-and-tcg", test_unknown_and_tcg);
    g_test_add_func("/accel/explicit-kvm", test_explicit_kvm_takes_software_kvm);
    return g_test_run();
}
