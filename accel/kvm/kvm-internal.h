/*
 * Inside the KVM backend.  Every ioctl the backend issues goes through
 * kvm-ioctl.c, so there is one place that knows the request numbers, the
 * error convention (-errno) and what a call may be retried on.
 */
#ifndef HYVM_KVM_INTERNAL_H
#define HYVM_KVM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <glib.h>

#include "arch/x86/cpu-models.h"
#include "arch/x86/cpu.h"

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define KVM_KICK_SIGNAL SIGUSR1

/* kvm-slots.c: the memory slots, following system/memory-map.c's flat view. */
struct mem_range;
void kvm_slots_init(int kvm_fd, int vm_fd, unsigned max_slots);
int kvm_slots_add(const struct mem_range *r, GError **errp);
void kvm_slots_sync(uint64_t gpa, uint64_t len);

/* kvm-ioctl.c.  All return >= 0 on success, -errno on failure. */
int kvm_open_dev(const char *path);
int kvm_get_api_version(int kvm_fd);
int kvm_check_extension(int fd, long cap);
int kvm_get_vcpu_mmap_size(int kvm_fd);
int kvm_create_vm(int kvm_fd);
int kvm_vm_set_tss_addr(int vm_fd, uint64_t addr);
int kvm_vm_set_identity_map_addr(int vm_fd, uint64_t addr);
int kvm_vm_create_irqchip(int vm_fd);
int kvm_vm_create_pit2(int vm_fd);
/* KVM_GET_PIT2/KVM_SET_PIT2: the HPET's legacy route silences the PIT's IRQ 0. */
int kvm_vm_set_pit_hpet_legacy(int vm_fd, bool on);
/* KVM_REINJECT_CONTROL: false drops PIT ticks the guest did not take in
 * time (QEMU's lost_tick_policy=discard) instead of replaying them. */
int kvm_vm_reinject_control(int vm_fd, bool reinject);
/* KVM_GET_IRQCHIP / KVM_SET_IRQCHIP; chip->chip_id says which one. */
int kvm_vm_get_irqchip(int vm_fd, struct kvm_irqchip *chip);
int kvm_vm_set_irqchip(int vm_fd, const struct kvm_irqchip *chip);
int kvm_vm_set_user_memory(int vm_fd, const struct kvm_userspace_memory_region *r);
int kvm_vm_irq_line(int vm_fd, unsigned irq, int level);
/* KVM_IOEVENTFD with the request's flags (PIO, DATAMATCH, DEASSIGN). */
int kvm_vm_ioeventfd(int vm_fd, const struct kvm_ioeventfd *e);
/* KVM_SIGNAL_MSI: > 0 delivered, 0 blocked by the guest. */
int kvm_vm_signal_msi(int vm_fd, uint64_t addr, uint32_t data);
int kvm_create_vcpu(int vm_fd, unsigned long id);
/* KVM_RUN: not retried; -EINTR means kicked. */
int kvm_vcpu_run(int vcpu_fd);
int kvm_vcpu_nmi(int vcpu_fd);
int kvm_vcpu_get_regs(int vcpu_fd, struct kvm_regs *r);
int kvm_vcpu_set_regs(int vcpu_fd, const struct kvm_regs *r);
int kvm_vcpu_get_sregs(int vcpu_fd, struct kvm_sregs *s);
int kvm_vcpu_set_sregs(int vcpu_fd, const struct kvm_sregs *s);
int kvm_vcpu_get_fpu(int vcpu_fd, struct kvm_fpu *f);
int kvm_vcpu_set_fpu(int vcpu_fd, const struct kvm_fpu *f);
int kvm_vcpu_get_debugregs(int vcpu_fd, struct kvm_debugregs *d);
int kvm_vcpu_get_mp_state(int vcpu_fd, struct kvm_mp_state *m);
int kvm_vcpu_set_mp_state(int vcpu_fd, const struct kvm_mp_state *m);
int kvm_vcpu_set_events(int vcpu_fd, const struct kvm_vcpu_events *ev);
int kvm_vcpu_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *c);
int kvm_get_supported_cpuid2(int kvm_fd, struct kvm_cpuid2 *c);
int kvm_vcpu_set_msrs(int vcpu_fd, const struct kvm_msrs *m);

/* kvm-probe.c: accel_ops.probe */
struct accel_host_facts;
int kvm_probe(const struct accel_host_facts *host, bool strict, char **why);

/* kvm-cpuid.c */
/* The CPUID leaves KVM can run (KVM_GET_SUPPORTED_CPUID); g_free the result. */
struct x86_cpuid_entry *kvm_supported_cpuid(int kvm_fd, unsigned *n, GError **errp);
/* Builds the guest's CPUID for vCPU index from -cpu and loads it. */
int kvm_vcpu_load_cpuid(int vcpu_fd, unsigned index, const struct x86_cpu_def *def,
                        const struct x86_cpuid_entry *sup, unsigned nsup, GError **errp);

/* kvm-state.c: hyvm's x86_cpu_state to and from KVM's layouts. */
int kvm_vcpu_put_state(int vcpu_fd, const struct x86_cpu_state *st);
int kvm_vcpu_fetch_state(int vcpu_fd, struct x86_cpu_state *st);

#endif
