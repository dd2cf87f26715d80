/*
 * CPUID under KVM: what KVM can run (KVM_GET_SUPPORTED_CPUID), filtered by
 * the -cpu model in arch/x86/cpu-models.c, loaded with KVM_SET_CPUID2.
 *
 * Threads: main thread, at start-up.
 */
#include <errno.h>
#include <string.h>

#include "accel/kvm/kvm-internal.h"
#include "system/error.h"

#define KVM_CPUID_MAX 512

static struct kvm_cpuid2 *cpuid2_alloc(unsigned n)
{
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));

    c->nent = n;
    return c;
}

struct x86_cpuid_entry *kvm_supported_cpuid(int kvm_fd, unsigned *n, GError **errp)
{
    struct x86_cpuid_entry *out;
    struct kvm_cpuid2 *c = NULL;
    int ret = -E2BIG;

    /* The kernel says E2BIG until the buffer is large enough. */
    for (unsigned size = 64; size <= KVM_CPUID_MAX && ret == -E2BIG; size *= 2) {
        g_free(c);
        c = cpuid2_alloc(size);
        ret = kvm_get_supported_cpuid2(kvm_fd, c);
    }
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "KVM_GET_SUPPORTED_CPUID: %s",
                    g_strerror(-ret));
        g_free(c);
        return NULL;
    }
    out = g_new0(struct x86_cpuid_entry, c->nent ? c->nent : 1);
    for (unsigned i = 0; i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];

        out[i].function = e->function;
        out[i].index = e->index;
        out[i].has_index = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        out[i].eax = e->eax;
        out[i].ebx = e->ebx;
        out[i].ecx = e->ecx;
        out[i].edx = e->edx;
    }
    *n = c->nent;
    g_free(c);
    return out;
}

int kvm_vcpu_load_cpuid(int vcpu_fd, unsigned index, const struct x86_cpu_def *def,
                        const struct x86_cpuid_entry *sup, unsigned nsup, GError **errp)
{
    g_autofree struct x86_cpuid_entry *leaves = g_new0(struct x86_cpuid_entry, KVM_CPUID_MAX);
    g_autofree struct kvm_cpuid2 *c = NULL;
    unsigned n = KVM_CPUID_MAX;
    int ret;

    if (x86_cpu_build_cpuid(def, sup, nsup, leaves, &n, errp) < 0) {
        return -EINVAL;
    }
    c = cpuid2_alloc(n);
    for (unsigned i = 0; i < n; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];

        e->function = leaves[i].function;
        e->index = leaves[i].index;
        e->flags = leaves[i].has_index ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
        e->eax = leaves[i].eax;
        e->ebx = leaves[i].ebx;
        e->ecx = leaves[i].ecx;
        e->edx = leaves[i].edx;
        /* CPUID.01H:EBX[31:24] is this vCPU's initial APIC ID (SDM vol. 2A). */
        if (e->function == 1) {
            e->ebx = (e->ebx & 0x00ffffffu) | (index << 24);
        }
        /* Leaves 0Bh and 1Fh report the x2APIC ID in EDX. */
        if (e->function == 0xb || e->function == 0x1f) {
            e->edx = index;
        }
    }
    ret = kvm_vcpu_set_cpuid2(vcpu_fd, c);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "KVM_SET_CPUID2: %s",
                    g_strerror(-ret));
    }
    return ret;
}
