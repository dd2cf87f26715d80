/*
 * The only file that calls ioctl() on KVM's file descriptors.
 *
 * Threads: the system and VM calls run on the main thread at start-up
 * (kvm_vm_irq_line also with the big lock held from any thread); the vCPU
 * calls run on that vCPU's thread, except state set-up before it starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/kvm/kvm-internal.h"

/* Retries on EINTR except for KVM_RUN, where EINTR is the kick. */
static int kvm_ioctl(int fd, unsigned long req, const void *arg)
{
    int ret;

    do {
        ret = ioctl(fd, req, arg);
    } while (ret < 0 && errno == EINTR && req != KVM_RUN);
    return ret < 0 ? -errno : ret;
}

int kvm_open_dev(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

int kvm_get_api_version(int kvm_fd)
{
    return kvm_ioctl(kvm_fd, KVM_GET_API_VERSION, NULL);
}

int kvm_check_extension(int fd, long cap)
{
    int ret = kvm_ioctl(fd, KVM_CHECK_EXTENSION, (void *)cap);

    return ret < 0 ? 0 : ret;
}

int kvm_get_vcpu_mmap_size(int kvm_fd)
{
    return kvm_ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
}

int kvm_create_vm(int kvm_fd)
{
    return kvm_ioctl(kvm_fd, KVM_CREATE_VM, NULL);
}

int kvm_vm_set_tss_addr(int vm_fd, uint64_t addr)
{
    return kvm_ioctl(vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)addr);
}

int kvm_vm_set_identity_map_addr(int vm_fd, uint64_t addr)
{
    return kvm_ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
}

int kvm_vm_create_irqchip(int vm_fd)
{
    return kvm_ioctl(vm_fd, KVM_CREATE_IRQCHIP, NULL);
}

int kvm_vm_create_pit2(int vm_fd)
{
    struct kvm_pit_config cfg = { .flags = 0 };

    return kvm_ioctl(vm_fd, KVM_CREATE_PIT2, &cfg);
}

int kvm_vm_set_pit_hpet_legacy(int vm_fd, bool on)
{
    struct kvm_pit_state2 ps;
    int ret = kvm_ioctl(vm_fd, KVM_GET_PIT2, &ps);

    if (ret < 0) {
        return ret;
    }
    ps.flags = on ? ps.flags | KVM_PIT_FLAGS_HPET_LEGACY : ps.flags & ~KVM_PIT_FLAGS_HPET_LEGACY;
    return kvm_ioctl(vm_fd, KVM_SET_PIT2, &ps);
}

int kvm_vm_reinject_control(int vm_fd, bool reinject)
{
    struct kvm_reinject_control rc = { .pit_reinject = reinject };

    return kvm_ioctl(vm_fd, KVM_REINJECT_CONTROL, &rc);
}

int kvm_vm_get_irqchip(int vm_fd, struct kvm_irqchip *chip)
{
    return kvm_ioctl(vm_fd, KVM_GET_IRQCHIP, chip);
}

int kvm_vm_set_irqchip(int vm_fd, const struct kvm_irqchip *chip)
{
    return kvm_ioctl(vm_fd, KVM_SET_IRQCHIP, chip);
}

int kvm_vm_set_user_memory(int vm_fd, const struct kvm_userspace_memory_region *r)
{
    return kvm_ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, r);
}

int kvm_vm_irq_line(int vm_fd, unsigned irq, int level)
{
    struct kvm_irq_level l = { .irq = irq, .level = level };

    return kvm_ioctl(vm_fd, KVM_IRQ_LINE, &l);
}

int kvm_vm_ioeventfd(int vm_fd, const struct kvm_ioeventfd *e)
{
    return kvm_ioctl(vm_fd, KVM_IOEVENTFD, e);
}

int kvm_vm_signal_msi(int vm_fd, uint64_t addr, uint32_t data)
{
    struct kvm_msi msi = { .address_lo = addr, .address_hi = addr >> 32, .data = data };

    return kvm_ioctl(vm_fd, KVM_SIGNAL_MSI, &msi);
}

int kvm_create_vcpu(int vm_fd, unsigned long id)
{
    return kvm_ioctl(vm_fd, KVM_CREATE_VCPU, (void *)id);
}

int kvm_vcpu_nmi(int vcpu_fd)
{
    return kvm_ioctl(vcpu_fd, KVM_NMI, NULL);
}

int kvm_vcpu_run(int vcpu_fd)
{
    return kvm_ioctl(vcpu_fd, KVM_RUN, NULL);
}

int kvm_vcpu_get_regs(int vcpu_fd, struct kvm_regs *r)
{
    return kvm_ioctl(vcpu_fd, KVM_GET_REGS, r);
}

int kvm_vcpu_set_regs(int vcpu_fd, const struct kvm_regs *r)
{
    return kvm_ioctl(vcpu_fd, KVM_SET_REGS, r);
}

int kvm_vcpu_get_sregs(int vcpu_fd, struct kvm_sregs *s)
{
    return kvm_ioctl(vcpu_fd, KVM_GET_SREGS, s);
}

int kvm_vcpu_get_fpu(int vcpu_fd, struct kvm_fpu *f)
{
    return kvm_ioctl(vcpu_fd, KVM_GET_FPU, f);
}

int kvm_vcpu_set_fpu(int vcpu_fd, const struct kvm_fpu *f)
{
    return kvm_ioctl(vcpu_fd, KVM_SET_FPU, f);
}

int kvm_vcpu_get_debugregs(int vcpu_fd, struct kvm_debugregs *d)
{
    return kvm_ioctl(vcpu_fd, KVM_GET_DEBUGREGS, d);
}

int kvm_vcpu_get_mp_state(int vcpu_fd, struct kvm_mp_state *m)
{
    return kvm_ioctl(vcpu_fd, KVM_GET_MP_STATE, m);
}

int kvm_vcpu_set_mp_state(int vcpu_fd, const struct kvm_mp_state *m)
{
    return kvm_ioctl(vcpu_fd, KVM_SET_MP_STATE, m);
}

int kvm_vcpu_set_events(int vcpu_fd, const struct kvm_vcpu_events *ev)
{
    return kvm_ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, ev);
}

int kvm_vcpu_set_sregs(int vcpu_fd, const struct kvm_sregs *s)
{
    return kvm_ioctl(vcpu_fd, KVM_SET_SREGS, s);
}

int kvm_vcpu_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *c)
{
    return kvm_ioctl(vcpu_fd, KVM_SET_CPUID2, c);
}

int kvm_get_supported_cpuid2(int kvm_fd, struct kvm_cpuid2 *c)
{
    return kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
}

int kvm_vcpu_set_msrs(int vcpu_fd, const struct kvm_msrs *m)
{
    return kvm_ioctl(vcpu_fd, KVM_SET_MSRS, m);
}
