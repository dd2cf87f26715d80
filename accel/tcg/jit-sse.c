/*
 * SSE instructions the translator runs as host SSE instructions (issue 11): the 128-bit moves
 * (MOVDQA, MOVDQU, MOVAPS, MOVUPS, MOVAPD, MOVUPD, loads, stores and register copies), the
 * bitwise and integer operations C string and memory functions are made of (PXOR, POR, PAND,
 * PANDN, XORPS, ANDPS, ORPS, PCMPEQB/W/D, PMINUB, PMAXUB, PADDB/W/D/Q, PSUBB/W/D/Q, the
 * PUNPCKL/H forms) and PMOVMSKB.  None of them raises a SIMD floating-point exception or
 * touches MXCSR or the flags; their results do not depend on the host vendor.
 *
 * The guest's XMM registers stay in cpu->st.fpu.xmm; the host's xmm0 and xmm1 are scratch
 * (caller-saved, psABI 3.2.1).  Before each instruction a check of CR0.EM, CR0.TS and
 * CR4.OSFXSR sends anything unusual to the handler (exec-sse.c), which raises #UD or #NM as
 * it must; so does a memory operand that an aligned form finds misaligned (#GP) or the fast
 * TLB misses (jit-mem.c).  Only with the guest's CPUID offering SSE2, as all of these need.
 *
 * Threads: called by the translating vCPU thread only.
 */
#include "accel/tcg/jit-tr.h"
#include "accel/tcg/sse.h"

#define OFF_XMM(i) ((int32_t)offsetof(struct tcg_cpu, st.fpu.xmm[0]) + 16 * (int32_t)(i))
#define OFF_CR0 ((int32_t)offsetof(struct tcg_cpu, st.cr0))
#define OFF_CR4 ((int32_t)offsetof(struct tcg_cpu, st.cr4))

enum sse_form { F_NONE, F_LOAD, F_STORE, F_OP, F_MOVMSK };

struct sse_desc {
    uint8_t form;       /* enum sse_form */
    bool aligned;       /* a memory operand must be 16-byte aligned (#GP otherwise) */
    bool p66;           /* the host instruction has the 66 prefix */
};

/* What (prefix, opcode) of map 1 is, for the forms above. */
static struct sse_desc describe(const struct insn *in)
{
    enum sse_prefix p = sse_prefix(in);
    uint8_t o = in->opcode;

    switch (o) {
    case 0x6f:                                  /* MOVDQA (66), MOVDQU (F3) */
        return p == SSE_66 ? (struct sse_desc){ F_LOAD, true, false }
             : p == SSE_F3 ? (struct sse_desc){ F_LOAD, false, false } : (struct sse_desc){ 0 };
    case 0x7f:
        return p == SSE_66 ? (struct sse_desc){ F_STORE, true, false }
             : p == SSE_F3 ? (struct sse_desc){ F_STORE, false, false } : (struct sse_desc){ 0 };
    case 0x28:                                  /* MOVAPS, MOVAPD */
        return p == SSE_NP || p == SSE_66 ? (struct sse_desc){ F_LOAD, true, false }
                                          : (struct sse_desc){ 0 };
    case 0x29:
        return p == SSE_NP || p == SSE_66 ? (struct sse_desc){ F_STORE, true, false }
                                          : (struct sse_desc){ 0 };
    case 0x10:                                  /* MOVUPS, MOVUPD (F3/F2: MOVSS/MOVSD) */
        return p == SSE_NP || p == SSE_66 ? (struct sse_desc){ F_LOAD, false, false }
                                          : (struct sse_desc){ 0 };
    case 0x11:
        return p == SSE_NP || p == SSE_66 ? (struct sse_desc){ F_STORE, false, false }
                                          : (struct sse_desc){ 0 };
    case 0x54: case 0x56: case 0x57:            /* ANDPS ORPS XORPS */
        return p == SSE_NP ? (struct sse_desc){ F_OP, true, false } : (struct sse_desc){ 0 };
    case 0xd7:                                  /* PMOVMSKB r32, xmm */
        return p == SSE_66 && !in->has_mem ? (struct sse_desc){ F_MOVMSK, false, true }
                                           : (struct sse_desc){ 0 };
    case 0xef: case 0xeb: case 0xdb: case 0xdf:
    case 0x74: case 0x75: case 0x76: case 0xda: case 0xde:
    case 0xfc: case 0xfd: case 0xfe: case 0xd4: case 0xf8: case 0xf9: case 0xfa: case 0xfb:
    case 0x60: case 0x61: case 0x62: case 0x6c: case 0x68: case 0x69: case 0x6a: case 0x6d:
        return p == SSE_66 ? (struct sse_desc){ F_OP, true, true } : (struct sse_desc){ 0 };
    default:
        return (struct sse_desc){ 0 };
    }
}

static void put(struct jit_emit *e, uint8_t b)
{
    if (jit_emit_room(e, 1)) {
        jit_put8(e, b);
    }
}

/* MOVDQU xmm, [base + index + disp] (F3 0F 6F) or the store (F3 0F 7F). */
static void movdqu(struct jit_emit *e, bool store, int xmm, int base, int index, int32_t disp)
{
    put(e, 0xf3);
    jit_emit_op_mem(e, false, false, false, 0x0f, store ? 0x7f : 0x6f, xmm, base, index, 0, disp,
                    false, 0);
}

/* [66] 0F op xmm_d, xmm_s (register form). */
static void op_xmm(struct jit_emit *e, bool p66, uint8_t op, int d, int s)
{
    if (p66) {
        put(e, 0x66);
    }
    put(e, 0x0f);
    put(e, op);
    put(e, (uint8_t)(0xc0 | (d << 3) | s));
}

bool jit_inline_sse(struct jit_tr *t)
{
    const struct insn *in = &t->insn[t->i];
    struct sse_desc d = describe(in);
    struct jit_emit *e = &t->e;
    unsigned reg = sse_reg(in), rm = sse_rm(in);
    uint8_t before, *unusual, *no_fxsr, *flat = NULL, *misaligned = NULL, *slow = NULL;

    if (!t->sse2 || in->map != 1 || (in->prefixes & (PFX_VEX | PFX_EVEX | PFX_LOCK)) ||
        d.form == F_NONE || (in->has_mem && !jit_mem_ok(t, in))) {
        return false;
    }
    if (t->mode != MODE_LONG64) {
        reg &= 7;
        rm &= 7;
    }
    jit_flags_spill(t);
    before = t->flags;
    /* TEST dword [cr0], EM|TS (F7 /0 id): jnz; TEST dword [cr4], OSFXSR: jz. */
    jit_emit_op_mem(e, false, false, false, 0xf7, -1, 0, JIT_RBX, JIT_NO_INDEX, 0, OFF_CR0, true,
                    (uint32_t)(CR0_EM | CR0_TS));
    unusual = jit_emit_jcc(e, JIT_CC_NE, NULL);
    jit_emit_op_mem(e, false, false, false, 0xf7, -1, 0, JIT_RBX, JIT_NO_INDEX, 0, OFF_CR4, true,
                    (uint32_t)CR4_OSFXSR);
    no_fxsr = jit_emit_jcc(e, JIT_CC_E, NULL);
    if (in->has_mem) {
        flat = jit_emit_lin(t, in);

        if (d.aligned) {
            put(e, 0xa8);                       /* TEST al, 15 */
            put(e, 15);
            misaligned = jit_emit_jcc(e, JIT_CC_NE, NULL);
        }
        slow = jit_emit_tlb(t, 16, d.form == F_STORE);
        if (d.form == F_STORE) {
            movdqu(e, false, 0, JIT_RBX, JIT_NO_INDEX, OFF_XMM(reg));
            movdqu(e, true, 0, JIT_RAX, JIT_RDX, 0);
        } else {
            movdqu(e, false, 0, JIT_RAX, JIT_RDX, 0);
        }
    } else if (d.form == F_STORE) {
        movdqu(e, false, 0, JIT_RBX, JIT_NO_INDEX, OFF_XMM(reg));
    } else if (d.form != F_MOVMSK) {
        movdqu(e, false, 0, JIT_RBX, JIT_NO_INDEX, OFF_XMM(rm));
    }
    switch (d.form) {
    case F_LOAD:
        movdqu(e, true, 0, JIT_RBX, JIT_NO_INDEX, OFF_XMM(reg));
        break;
    case F_STORE:
        if (!in->has_mem) {
            movdqu(e, true, 0, JIT_RBX, JIT_NO_INDEX, OFF_XMM(rm));
        }
        break;
    case F_OP:
        movdqu(e, false, 1, JIT_RBX, JIT_NO_INDEX, OFF_XMM(reg));
        op_xmm(e, d.p66, in->opcode, 1, 0);
        movdqu(e, true, 1, JIT_RBX, JIT_NO_INDEX, OFF_XMM(reg));
        break;
    default: {
        /* PMOVMSKB eax, xmm0 (66 0F D7 /r): the 32-bit register, zero-extended. */
        struct operand r32 = { .kind = OPK_REG, .size = 8, .reg = (uint8_t)reg };

        movdqu(e, false, 0, JIT_RBX, JIT_NO_INDEX, OFF_XMM(rm));
        op_xmm(e, true, 0xd7, JIT_RAX, 0);
        jit_emit_st(e, JIT_S64, JIT_RAX, JIT_RBX, jit_reg_off(&r32));
        break;
    }
    }
    /* The slow paths run the handler, which does the instruction or raises what it must. */
    jit_add_mem_stub(t, unusual, no_fxsr, before);
    if (slow) {
        jit_add_mem_stub3(t, slow, misaligned, flat, before);
    }
    return true;
}
