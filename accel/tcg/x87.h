/*
 * The x87 FPU of the software CPU as the other families see it
 * (exec-x87.c): the MMX instructions (exec-sse.c) ask whether an unmasked
 * x87 exception waits for delivery, and the state save/restore family
 * (exec-fpstate.c) shares the tag-word and status-word rules.
 *
 * Threads: the vCPU thread that owns cpu.
 */
#ifndef HYVM_TCG_X87_H
#define HYVM_TCG_X87_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/tcg/tcg-cpu.h"

/* FSW bits beyond those of x87-float.h (SDM vol. 1, figure 8-4). */
#define X87_SW_SF 0x0040u       /* stack fault */
#define X87_SW_ES 0x0080u       /* exception summary */
#define X87_SW_B 0x8000u        /* busy: mirrors ES */
#define X87_SW_TOP_SHIFT 11
#define X87_SW_TOP (7u << X87_SW_TOP_SHIFT)

/*
 * True when an unmasked x87 exception is pending (FSW.ES) and CR0.NE asks
 * for its delivery as #MF at the next waiting x87 or MMX instruction (SDM
 * vol. 1, 8.7; vol. 3, 6.15 "#MF").  With CR0.NE clear the PC-style FERR#
 * signal would be used instead: that path is not modelled, the exception
 * stays pending and the instruction runs.
 */
bool tcg_x87_pending_fault(const struct tcg_cpu *cpu);

/*
 * FSW.ES and FSW.B recomputed from the exception flags and the masks, as
 * the processor does whenever it loads a new control or status word
 * (FLDCW, FLDENV, FRSTOR, FXRSTOR, XRSTOR; checked on the host).
 */
void tcg_x87_update_es(struct tcg_cpu *cpu);

/* A control word as the FPU keeps it: bit 6 reads as 1, bits 13-15 as 0
 * (checked on the host). */
static inline uint16_t tcg_x87_fcw(uint32_t v)
{
    return (uint16_t)((v & 0x1f3f) | 0x0040);
}

/* The FNINIT state of the x87 (SDM vol. 1, 8.1.10 and table 8-10 of vol. 3:
 * FCW 037Fh, FSW 0, all registers empty, pointers and opcode 0). */
void tcg_x87_reset(struct tcg_cpu *cpu);

#endif
