/*
 * MMX and SSE..SSE4.2 on the software CPU: the calls the vector files make
 * of each other.
 *
 *   exec-sse.c      exec_sse (OP_SSE, OP_MMX): the availability checks, the
 *                   operand helpers below, and the dispatch: first
 *                   tcg_sse_fp(), then the integer/shuffle/move table
 *   exec-sse-int.c  integer SIMD (MMX and XMM), moves, shuffles, PCMPxSTRx
 *   exec-sse-fp.c   floating point: arithmetic, compares, conversions,
 *                   rounding, with MXCSR rounding, DAZ/FTZ and exceptions
 *
 * The decoder names every form OP_SSE or OP_MMX (insn-ops.h) and keeps the
 * ModRM, the memory operand and the raw bytes: the handlers pick the
 * instruction by in->map, in->opcode and the mandatory prefix (sse_prefix),
 * and an imm8 is the last byte (sse_imm8).
 *
 * State: XMM registers in cpu->st.fpu.xmm[0..15]; MMX register i is the
 * significand of physical x87 register R(i), cpu->st.fpu.st[i].mant (the
 * software CPU keeps st[] by physical number, see tcg.c); an MMX write
 * sets that register's exponent to 0xffff.  Every MMX instruction, EMMS
 * included, sets TOP to 0 (SDM vol. 3, 12.2: "each time an MMX instruction
 * is executed, the TOS value is set to 000B"); all but EMMS mark all tags
 * valid (ftw = 0xff), EMMS marks them all empty (ftw = 0).  MXCSR in
 * cpu->st.fpu.mxcsr.
 */
#ifndef HYVM_TCG_SSE_H
#define HYVM_TCG_SSE_H

#include "accel/tcg/tcg-cpu.h"

/* MXCSR bits (SDM vol. 1, figure 10-3). */
#define MXCSR_IE 0x0001u
#define MXCSR_DE 0x0002u
#define MXCSR_ZE 0x0004u
#define MXCSR_OE 0x0008u
#define MXCSR_UE 0x0010u
#define MXCSR_PE 0x0020u
#define MXCSR_DAZ 0x0040u
#define MXCSR_MASKS 0x1f80u
#define MXCSR_RC_SHIFT 13
#define MXCSR_FTZ 0x8000u
#define MXCSR_DEFAULT 0x1f80u
/* The bits a guest may set (MXCSR_MASK of FXSAVE): DAZ included. */
#define MXCSR_WRITABLE 0xffffu

/* The mandatory prefix of an SSE form. */
enum sse_prefix { SSE_NP, SSE_66, SSE_F3, SSE_F2 };

/* F3/F2 (the last of them wins), else 66, else none. */
static inline enum sse_prefix sse_prefix(const struct insn *in)
{
    if (in->last_rep == 0xf3) {
        return SSE_F3;
    }
    if (in->last_rep == 0xf2) {
        return SSE_F2;
    }
    return (in->prefixes & PFX_OPSIZE) ? SSE_66 : SSE_NP;
}

/* ModRM.reg with REX.R, and ModRM.rm with REX.B (register forms). */
static inline unsigned sse_reg(const struct insn *in)
{
    return ((in->modrm >> 3) & 7) | ((in->rex & 4) << 1);
}

static inline unsigned sse_rm(const struct insn *in)
{
    return (in->modrm & 7) | ((in->rex & 1) << 3);
}

static inline uint8_t sse_imm8(const struct insn *in)
{
    return in->bytes[in->len - 1];
}

/* 128-bit value, little-endian lanes. */
typedef union {
    uint8_t b[16];
    uint16_t w[8];
    uint32_t d[4];
    uint64_t q[2];
    int8_t sb[16];
    int16_t sw[8];
    int32_t sd[4];
    int64_t sq[2];
    float f[4];
    double fd[2];
} sse_vec;

/* ---- exec-sse.c ---- */
/* XMM register n as a vector (copy in, copy out). */
sse_vec sse_xmm_get(const struct tcg_cpu *cpu, unsigned n);
void sse_xmm_set(struct tcg_cpu *cpu, unsigned n, sse_vec v);
/*
 * The r/m operand of an XMM form, size bytes (4, 8 or 16) into the low
 * bytes of *v (the rest zero): the register sse_rm(in), or memory at
 * tcg_ea(); align16 raises #GP(0) for a 16-byte access not 16-aligned (the
 * legacy-SSE rule for everything but the unaligned moves and scalar forms),
 * ahead of the segment-limit and canonical checks (so a misaligned SS
 * operand past the limit or non-canonical is #GP(0), not #SS(0)).
 */
enum tcg_status sse_read_rm(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                            bool align16, sse_vec *v);
/* Stores size bytes of v to the r/m operand (register: the low size bytes
 * of the XMM register are replaced and the rest kept, for the store forms;
 * callers wanting a full write use sse_xmm_set). */
enum tcg_status sse_write_rm(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                             bool align16, const sse_vec *v);

/* ---- exec-sse-int.c ---- */
/*
 * Called by exec_sse before the CR0/CR4 checks: 1 when in is one of the
 * integer/move/shuffle forms, 0 when it is not, -1 when it is #UD whatever
 * the control registers say (a feature the guest's CPUID lacks, or a
 * register/memory form that does not exist).
 */
int tcg_sse_int_check(const struct tcg_cpu *cpu, const struct insn *in);
/*
 * True for a form on MMX registers that CR4.OSFXSR = 0 makes #UD: the ones
 * SSE, SSE2 and SSSE3 added, but PSHUFW and MOVNTQ (SDM vol. 3, 13.1.4).
 */
bool tcg_sse_int_mmx_needs_osfxsr(const struct insn *in);
/* Runs in when it is one of those forms (after the availability checks):
 * true and the status in *st; false when it is not. */
bool tcg_sse_int(struct tcg_cpu *cpu, const struct insn *in, enum tcg_status *st);

/* ---- exec-sse-fp.c ---- */
/*
 * Runs in when it is a floating-point SSE..SSE4.1 form (called by
 * exec_sse after the availability checks): returns true and the status
 * in *st; false when in is not one of its forms.  Raises #XM (CR4.
 * OSXMMEXCPT set) or #UD (clear) for an unmasked MXCSR exception, leaving
 * the destination unchanged, as SDM vol. 1, 11.5.1 says.
 */
bool tcg_sse_fp(struct tcg_cpu *cpu, const struct insn *in, enum tcg_status *st);
/* 0: not a form of exec-sse-fp.c; 1: it is and the guest's CPUID offers
 * it; -1: #UD for want of the feature (checked ahead of CR0.TS). */
int tcg_sse_fp_check(const struct tcg_cpu *cpu, const struct insn *in);

#endif
