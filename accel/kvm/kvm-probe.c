/*
 * Is KVM usable here, and is it backed by hardware?
 *
 * Non-strict (an explicit -accel kvm): /dev/kvm opens, speaks API version
 * 12 and has the capabilities hyvm needs.
 * Strict (the auto default) also wants hardware virtualization behind it:
 * no software KVM such as the kvm_pvm module, which accepts the whole API
 * but interprets the guest at about 1 µs per instruction and fails int3
 * through the IDT, and a vmx or svm flag in /proc/cpuinfo.  Those facts
 * are checked first, so a test can point them at prepared files.
 *
 * Threads: main thread, at start-up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm/kvm-internal.h"

/* Capabilities the backend cannot run without. */
static const struct {
    long cap;
    const char *name;
} kvm_required_caps[] = {
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

/* Software KVMs: present in /sys/module when loaded. */
static const char *const kvm_software_modules[] = { "kvm_pvm" };

/* True when the first "flags" line of cpuinfo lists vmx or svm.  Reading
 * stops there: the kernel formats /proc/cpuinfo per CPU as it is read, and
 * the first CPU answers for all of them. */
static bool cpuinfo_has_virt(const char *path, char **why)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    bool found = false, seen_flags = false;

    if (!f) {
        *why = g_strdup_printf("cannot read %s to look for hardware virtualization", path);
        return false;
    }
    while (!seen_flags && getline(&line, &cap, f) > 0) {
        g_auto(GStrv) words = NULL;

        if (strncmp(line, "flags", 5)) {
            continue;
        }
        seen_flags = true;
        words = g_strsplit_set(g_strchomp(line), " \t", -1);
        for (unsigned w = 0; words[w] && !found; w++) {
            found = !strcmp(words[w], "vmx") || !strcmp(words[w], "svm");
        }
    }
    free(line);
    fclose(f);
    if (!found) {
        *why = g_strdup_printf("the host CPU has no hardware virtualization (no vmx or svm "
                               "flag in %s)", path);
    }
    return found;
}

static bool software_kvm_loaded(const char *sys_module, char **why)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(kvm_software_modules); i++) {
        g_autofree char *p = g_build_filename(sys_module, kvm_software_modules[i], NULL);

        if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
            *why = g_strdup_printf("%s is served by %s, a KVM without hardware "
                                   "virtualization behind it", "/dev/kvm",
                                   kvm_software_modules[i]);
            return true;
        }
    }
    return false;
}

int kvm_probe(const struct accel_host_facts *host, bool strict, char **why)
{
    int fd, ret;

    /* The module check first: one stat, where cpuinfo is a whole file. */
    if (strict && (software_kvm_loaded(host->sys_module, why) ||
                   !cpuinfo_has_virt(host->cpuinfo, why))) {
        return -ENODEV;
    }
    fd = kvm_open_dev(host->dev_kvm);
    if (fd < 0) {
        *why = g_strdup_printf("failed to initialize kvm: Could not access KVM kernel module "
                               "%s: %s", host->dev_kvm, g_strerror(-fd));
        return fd;
    }
    ret = kvm_get_api_version(fd);
    if (ret < 0) {
        *why = g_strdup_printf("failed to initialize kvm: %s is not a KVM device: %s",
                               host->dev_kvm, g_strerror(-ret));
        goto out;
    }
    if (ret != KVM_API_VERSION) {
        *why = g_strdup_printf("failed to initialize kvm: KVM API version %d, "
                               "hyvm needs %d", ret, KVM_API_VERSION);
        ret = -EINVAL;
        goto out;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(kvm_required_caps); i++) {
        if (!kvm_check_extension(fd, kvm_required_caps[i].cap)) {
            *why = g_strdup_printf("failed to initialize kvm: kernel does not support %s",
                                   kvm_required_caps[i].name);
            ret = -ENOSYS;
            goto out;
        }
    }
    ret = 0;
out:
    close(fd);
    return ret;
}
