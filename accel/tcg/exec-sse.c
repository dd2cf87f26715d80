/*
 * MMX and SSE..SSE4.2 on the software CPU: the one handler every legacy
 * vector form goes through (OP_SSE, OP_MMX), its availability checks, the
 * operand helpers of sse.h, and the dispatch to the floating-point forms
 * (tcg_sse_fp, exec-sse-fp.c) and then the integer/move forms
 * (tcg_sse_int, exec-sse-int.c).
 *
 * Availability, in the order the SDM gives the conditions (vol. 2, 2.4,
 * "exception classifications"; vol. 3, 13.1-13.2 and 22.25; vol. 1, 9.5
 * and 11.6.1):
 *   - VEX/EVEX forms: #UD (AVX is not advertised; OP_AVX has no handler);
 *   - a form whose CPUID feature the guest lacks, or a register (memory)
 *     form of a memory-only (register-only) instruction: #UD;
 *   - CR0.EM = 1: #UD for every form, MMX included;
 *   - CR4.OSFXSR = 0: #UD for the forms that touch XMM registers or MXCSR,
 *     and for the MMX-register forms SSE, SSE2 and SSSE3 added but PSHUFW
 *     and MOVNTQ (vol. 3, 13.1.4); the MMX instructions proper run;
 *   - CR0.TS = 1: #NM (every #UD above comes first);
 *   - forms that touch an MMX register: a pending unmasked x87 exception
 *     (FSW.ES, with CR0.NE) is #MF; once the instruction completes, the
 *     x87-to-MMX transition (TOP = 0, all tags valid); EMMS sets TOP to 0
 *     too and empties the tag word.
 *
 * Threads: everything runs on the vCPU thread that owns the struct tcg_cpu.
 */
#include <string.h>

#include "accel/tcg/sse.h"

#define FSW_ES 0x0080u
#define FSW_TOP_MASK 0x3800u

/* ---- XMM operands (sse.h) ---- */

sse_vec sse_xmm_get(const struct tcg_cpu *cpu, unsigned n)
{
    sse_vec v;

    v.q[0] = cpu->st.fpu.xmm[n & 15].lo;
    v.q[1] = cpu->st.fpu.xmm[n & 15].hi;
    return v;
}

void sse_xmm_set(struct tcg_cpu *cpu, unsigned n, sse_vec v)
{
    cpu->st.fpu.xmm[n & 15].lo = v.q[0];
    cpu->st.fpu.xmm[n & 15].hi = v.q[1];
}

/* The base tcg_linear() adds to an offset in seg: in 64-bit mode only FS
 * and GS keep one (SDM vol. 3, 3.2.4). */
static uint64_t sse_seg_base(const struct tcg_cpu *cpu, unsigned seg)
{
    if (seg >= S__MAX) {
        seg = S_DS;
    }
    if (cpu->mode == MODE_LONG64 && seg != S_FS && seg != S_GS) {
        return 0;
    }
    return cpu->st.seg[seg].base;
}

/*
 * The linear address of the memory operand, with the legacy-SSE alignment
 * rule: a 16-byte operand of an aligned form must sit on a 16-byte
 * boundary (of the linear address, segment base included), else #GP(0)
 * whatever the segment (SDM vol. 1, 11.6.8).  The host checks that first:
 * a misaligned operand that is also non-canonical, or beyond the limit of
 * SS, is #GP(0), not #SS(0) (measured by the differential tester).
 */
static enum tcg_status sse_mem_lin(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                   bool align16, enum tcg_access acc, uint64_t *lin)
{
    uint64_t ea = tcg_ea(cpu, in);

    if (align16 && size == 16 && ((sse_seg_base(cpu, in->mem.seg) + ea) & 15)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    return tcg_linear(cpu, in->mem.seg, ea, size, acc, lin);
}

enum tcg_status sse_read_rm(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                            bool align16, sse_vec *v)
{
    uint64_t lin;
    enum tcg_status st;

    if (size > 16) {
        size = 16;
    }
    if (!in->has_mem) {
        sse_vec r = sse_xmm_get(cpu, sse_rm(in));

        memset(v, 0, sizeof(*v));
        memcpy(v->b, r.b, size);
        return TCG_OK;
    }
    st = sse_mem_lin(cpu, in, size, align16, ACC_READ, &lin);
    if (st != TCG_OK) {
        return st;
    }
    memset(v, 0, sizeof(*v));
    return tcg_read_lin(cpu, lin, v->b, size, ACC_READ);
}

enum tcg_status sse_write_rm(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                             bool align16, const sse_vec *v)
{
    uint64_t lin;
    enum tcg_status st;

    if (size > 16) {
        size = 16;
    }
    if (!in->has_mem) {
        sse_vec r = sse_xmm_get(cpu, sse_rm(in));

        memcpy(r.b, v->b, size);
        sse_xmm_set(cpu, sse_rm(in), r);
        return TCG_OK;
    }
    st = sse_mem_lin(cpu, in, size, align16, ACC_WRITE, &lin);
    if (st != TCG_OK) {
        return st;
    }
    return tcg_write_lin(cpu, lin, v->b, size);
}

/* ---- which register file a form touches ---- */

enum sse_kind {
    K_SSE,      /* XMM registers only (or an FP form exec-sse-fp.c checks) */
    K_MMX,      /* MMX registers only (MMX, and SSE/SSSE3 forms on MMX) */
    K_BOTH,     /* MOVQ2DQ / MOVDQ2Q: from one file to the other */
};

/*
 * OP_MMX is the 0F map without a mandatory prefix, rows 60-7F and D0-FF
 * (decode.c); the other integer forms on MMX registers decode as OP_SSE:
 * PINSRW / PEXTRW without a prefix (0F C4/C5), the SSSE3 forms without a
 * prefix (0F 38 00-0B, 1C-1E; 0F 3A 0F), and MOVQ2DQ / MOVDQ2Q (F3/F2 0F
 * D6).  The conversions between MMX and XMM (0F 2A/2C/2D) are
 * exec-sse-fp.c's, which does their #MF and MMX transition itself.
 */
static enum sse_kind sse_kind(const struct insn *in)
{
    enum sse_prefix p = sse_prefix(in);

    if (in->op == OP_MMX) {
        return K_MMX;
    }
    switch (in->map) {
    case 1:
        if (p == SSE_NP && (in->opcode == 0xc4 || in->opcode == 0xc5)) {
            return K_MMX;
        }
        if ((p == SSE_F3 || p == SSE_F2) && in->opcode == 0xd6) {
            return K_BOTH;
        }
        return K_SSE;
    case 2:
        if (p == SSE_NP && (in->opcode <= 0x0b || (in->opcode >= 0x1c && in->opcode <= 0x1e))) {
            return K_MMX;
        }
        return K_SSE;
    case 3:
        return (p == SSE_NP && in->opcode == 0x0f) ? K_MMX : K_SSE;
    default:
        return K_SSE;
    }
}

static inline bool is_emms(const struct insn *in)
{
    return in->op == OP_MMX && in->map == 1 && in->opcode == 0x77;
}

/*
 * SDM vol. 1, 9.5.1: every MMX instruction sets TOP to 0, and all but EMMS
 * mark the eight registers valid.  The host does it only when the
 * instruction completes: a load or store that faults leaves TOP and the
 * tags as they were (measured natively, as exec-sse-fp.c found too).
 */
static void sse_enter_mmx(struct tcg_cpu *cpu)
{
    cpu->st.fpu.fsw &= (uint16_t)~FSW_TOP_MASK;
    cpu->st.fpu.ftw = 0xff;
}

/* The checks before an instruction runs, in the SDM's order (see the top
 * of the file). */
static enum tcg_status sse_check(struct tcg_cpu *cpu, const struct insn *in, enum sse_kind k)
{
    if (in->prefixes & (PFX_VEX | PFX_EVEX)) {
        return tcg_raise(cpu, EXC_UD);
    }
    /* an integer form the CPU lacks, or a register/memory form that does
     * not exist: #UD ahead of #NM, as any invalid opcode */
    if (tcg_sse_int_check(cpu, in) < 0 || tcg_sse_fp_check(cpu, in) < 0) {
        return tcg_raise(cpu, EXC_UD);
    }
    /* EMMS takes no mandatory prefix: 66/F2/F3 0F 77 is #UD (measured) */
    if (is_emms(in) && (sse_prefix(in) != SSE_NP || !tcg_cpuid_has(cpu, 1, 3, 23))) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->st.cr0 & CR0_EM) {
        return tcg_raise(cpu, EXC_UD);
    }
    /*
     * SDM vol. 3, 13.1.4: with OSFXSR clear every SSE instruction is #UD
     * but PSHUFW, MOVNTQ (and the non-vector MOVNTI, fences, CLFLUSH...).
     * Vol. 3, 6.15 (#UD) exempts the MMX-register forms of PAVGB, PINSRW,
     * PADDQ, the SSSE3 ones and MASKMOVQ as well; the host cannot tell
     * which text is right (Linux always sets OSFXSR), so this follows
     * 13.1.4 word for word.
     */
    if (!(cpu->st.cr4 & CR4_OSFXSR) && (k != K_MMX || tcg_sse_int_mmx_needs_osfxsr(in))) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->st.cr0 & CR0_TS) {
        return tcg_raise(cpu, EXC_NM);
    }
    /* with CR0.NE clear the x87 error goes out on FERR# instead (SDM
     * vol. 3, 23.3.3.1); exec-sse-fp.c follows the same rule */
    if (k != K_SSE && (cpu->st.fpu.fsw & FSW_ES) && (cpu->st.cr0 & CR0_NE)) {
        return tcg_raise(cpu, EXC_MF);
    }
    return TCG_OK;
}

enum tcg_status exec_sse(struct tcg_cpu *cpu, const struct insn *in)
{
    enum sse_kind k = sse_kind(in);
    enum tcg_status st = sse_check(cpu, in, k);

    if (st != TCG_OK) {
        return st;
    }
    if (is_emms(in)) {
        /* EMMS: all tags empty (SDM vol. 2, EMMS), and TOP = 0 as after
         * any MMX instruction (vol. 3, 12.2; the host does it too). */
        cpu->st.fpu.fsw &= (uint16_t)~FSW_TOP_MASK;
        cpu->st.fpu.ftw = 0;
        return TCG_OK;
    }
    if (tcg_sse_fp(cpu, in, &st)) {
        return st;
    }
    if (tcg_sse_int(cpu, in, &st)) {
        /* MASKMOVQ is the exception to the rule above: its store faults
         * after the transition (measured natively) */
        if (k != K_SSE && (st == TCG_OK || (in->op == OP_MMX && in->opcode == 0xf7))) {
            sse_enter_mmx(cpu);
        }
        return st;
    }
    /* SSE4a, AES, SHA, and any other form this CPU does not have */
    return tcg_raise(cpu, EXC_UD);
}
