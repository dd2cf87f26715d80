/*
 * The CPUID a software vCPU answers: the -cpu model laid out by
 * arch/x86/cpu-models.c over what the interpreter implements
 * (tcg_cpuid_supported), for one vCPU of the -smp topology.
 */
#ifndef HYVM_TCG_CPUID_H
#define HYVM_TCG_CPUID_H

#include <glib.h>

struct tcg_cpu;
struct x86_cpu_def;
struct x86_cpu_topo;

/*
 * Builds cpu->cpuid for vCPU index (its APIC ID follows topo; NULL topo:
 * one thread of one core) from def (NULL: qemu64), warns as QEMU's TCG
 * does (once per vCPU) about requested features the software CPU lacks, and
 * starts the vCPU's TSC at 0.  "-cpu host" fails ("requires KVM or HVF").
 * Main thread, from tcg's vcpu_init.
 */
int tcg_cpu_setup_cpuid(struct tcg_cpu *cpu, const struct x86_cpu_def *def, unsigned index,
                        const struct x86_cpu_topo *topo, GError **errp);
/* Frees what tcg_cpu_setup_cpuid() allocated (vcpu_destroy). */
void tcg_cpu_free_cpuid(struct tcg_cpu *cpu);

#endif
