/*
 * What the software CPU's instructions ask of its local APIC
 * (accel/tcg/interrupts.c): MOV CR8, and RDMSR/WRMSR of IA32_APIC_BASE and
 * IA32_TSC_DEADLINE.  tcg-internal.h has the rest of interrupts.c's calls.
 *
 * Threads: the vCPU's thread, without the big lock (these take it).  A
 * vCPU without an APIC (none created yet: unit tests; application
 * processors until SMP, issue 7) keeps CR8 in cpu->st.cr8 and has no
 * TSC-deadline timer.
 */
#ifndef HYVM_TCG_INTERRUPTS_H
#define HYVM_TCG_INTERRUPTS_H

#include <stdint.h>

struct tcg_cpu;

/* CR8 is TPR[7:4] (SDM vol. 3, "Task Priority in IA-32e Mode"). */
uint8_t tcg_apic_get_cr8(struct tcg_cpu *cpu);
void tcg_apic_set_cr8(struct tcg_cpu *cpu, uint8_t cr8);
/*
 * IA32_APIC_BASE was written with val (reserved bits already checked, the
 * BSP flag already kept): moves, maps or unmaps the APIC page; the caller
 * then flushes its TLB.
 */
void tcg_apic_set_base(struct tcg_cpu *cpu, uint64_t val);
/* IA32_TSC_DEADLINE (MSR 6E0h), in guest TSC ticks. */
uint64_t tcg_apic_get_tsc_deadline(struct tcg_cpu *cpu);
void tcg_apic_set_tsc_deadline(struct tcg_cpu *cpu, uint64_t tsc);
/* Tests: the clock the APIC counts (NULL: CLOCK_MONOTONIC); reset after it. */
void tcg_irqchip_set_clock(int64_t (*clock_ns)(void));

#endif
