/*
 * MMX and the non-floating-point part of SSE..SSE4.2 on the software CPU:
 * data movement, logic, shuffles and blends, integer SIMD arithmetic,
 * PCMPxSTRx and PCLMULQDQ (Intel SDM vol. 2, each instruction's page;
 * vol. 1, chapters 9-12).  exec_sse (exec-sse.c) asks tcg_sse_int_check()
 * first (is the form one of these, does the guest's CPUID offer its
 * feature, does its register or memory form exist), does the CR0/CR4/x87
 * checks, then runs the form with tcg_sse_int() and, for MMX registers,
 * makes the transition to MMX state when it completes.
 *
 * One table per opcode map, indexed by opcode and mandatory prefix, says
 * which operation a form is, whether its registers are MMX or XMM, the size
 * of its memory operand, and whether that operand must be aligned or may
 * only be memory (or only a register).  Most operations are "dst = f(dst,
 * src, imm8)" over the 8 bytes of an MMX register or the 16 of an XMM
 * register (vec_op below); the rest have a function each.
 *
 * MMX register i is cpu->st.fpu.st[i].mant; writing one sets its exponent
 * to all ones (SDM vol. 1, 9.5.1).  MMX forms ignore REX.R and REX.B.
 *
 * Threads: everything runs on the vCPU thread that owns the struct tcg_cpu.
 */
#include <string.h>

#include "accel/tcg/sse.h"

/* ---- the operations ---- */

enum iop {
    I_NONE,
    /* dst = f(dst, src[, imm8]) on 8 or 16 bytes: vec_op() */
    I_MOV, I_MOVQ_ZX, I_MOVSLDUP, I_MOVSHDUP, I_MOVDDUP,
    I_PADDB, I_PADDW, I_PADDD, I_PADDQ, I_PSUBB, I_PSUBW, I_PSUBD, I_PSUBQ,
    I_PADDSB, I_PADDSW, I_PADDUSB, I_PADDUSW, I_PSUBSB, I_PSUBSW, I_PSUBUSB, I_PSUBUSW,
    I_PMULLW, I_PMULHW, I_PMULHUW, I_PMULUDQ, I_PMADDWD, I_PSADBW, I_PAVGB, I_PAVGW,
    I_PMINUB, I_PMAXUB, I_PMINSW, I_PMAXSW,
    I_PCMPEQB, I_PCMPEQW, I_PCMPEQD, I_PCMPGTB, I_PCMPGTW, I_PCMPGTD,
    I_PACKSSWB, I_PACKSSDW, I_PACKUSWB,
    I_PUNPCKLBW, I_PUNPCKLWD, I_PUNPCKLDQ, I_PUNPCKLQDQ,
    I_PUNPCKHBW, I_PUNPCKHWD, I_PUNPCKHDQ, I_PUNPCKHQDQ,
    I_PAND, I_PANDN, I_POR, I_PXOR,
    I_PSRLW, I_PSRLD, I_PSRLQ, I_PSRAW, I_PSRAD, I_PSLLW, I_PSLLD, I_PSLLQ,
    I_PSHUFW, I_PSHUFD, I_PSHUFHW, I_PSHUFLW, I_SHUFPS, I_SHUFPD,
    /* SSSE3 */
    I_PSHUFB, I_PHADDW, I_PHADDD, I_PHADDSW, I_PMADDUBSW, I_PHSUBW, I_PHSUBD, I_PHSUBSW,
    I_PSIGNB, I_PSIGNW, I_PSIGND, I_PMULHRSW, I_PABSB, I_PABSW, I_PABSD, I_PALIGNR,
    /* SSE4.1 */
    I_PBLENDVB, I_BLENDVPS, I_BLENDVPD, I_BLENDPS, I_BLENDPD, I_PBLENDW,
    I_PMOVSXBW, I_PMOVSXBD, I_PMOVSXBQ, I_PMOVSXWD, I_PMOVSXWQ, I_PMOVSXDQ,
    I_PMOVZXBW, I_PMOVZXBD, I_PMOVZXBQ, I_PMOVZXWD, I_PMOVZXWQ, I_PMOVZXDQ,
    I_PMULDQ, I_PCMPEQQ, I_PACKUSDW, I_PMINSB, I_PMINSD, I_PMINUW, I_PMINUD,
    I_PMAXSB, I_PMAXSD, I_PMAXUW, I_PMAXUD, I_PMULLD, I_PHMINPOSUW, I_MPSADBW,
    I_INSERTPS,
    /* SSE4.2, PCLMULQDQ */
    I_PCMPGTQ, I_PCLMULQDQ,
    I__VEC_END,
    /* everything else: a function each */
    I_STORE,            /* r/m = reg, msz bytes */
    I_MOVD_LOAD, I_MOVD_STORE, I_MOVQ_STORE,
    I_MOVSS, I_MOVSD, I_MOVSS_ST, I_MOVSD_ST,
    I_MOVLPS, I_MOVHPS, I_MOVLPS_ST, I_MOVHPS_ST,
    I_MOVMSKPS, I_MOVMSKPD, I_PMOVMSKB, I_MASKMOV, I_MOVQ2DQ, I_MOVDQ2Q,
    I_PINSRW, I_PEXTRW, I_PEXTRB, I_PEXTRW_M, I_PEXTRD, I_EXTRACTPS,
    I_PINSRB, I_PINSRD,
    I_GRP71, I_GRP72, I_GRP73,
    I_PTEST, I_PCMPESTRM, I_PCMPESTRI, I_PCMPISTRM, I_PCMPISTRI,
};

/* A form: the operation, its register file and its memory operand. */
struct iform {
    uint8_t op;         /* enum iop */
    uint8_t fl;         /* FL_* */
    uint8_t msz;        /* memory operand size in bytes */
};

#define FL_MMX 1        /* MMX registers (else XMM) */
#define FL_UNAL 2       /* a 16-byte memory operand need not be aligned */
#define FL_MEM 4        /* the register form is #UD */
#define FL_REG 8        /* the memory form is #UD */

#define MM(o) { I_##o, FL_MMX, 8 }
#define MMS(o, s, f) { I_##o, FL_MMX | (f), (s) }
#define XM(o) { I_##o, 0, 16 }
#define XMS(o, s, f) { I_##o, (f), (s) }
/* A row: MMX without a prefix, XMM with 66. */
#define MX(o) { MM(o), XM(o) }
/* XMM with 66 only. */
#define X66(o) { [SSE_66] = XM(o) }
/* The same XMM operation without a prefix and with 66 (PS/PD forms). */
#define XPSPD(o) { XM(o), XM(o) }

/* 0F xx (SDM vol. 2, table A-3). */
static const struct iform map1[256][4] = {
    [0x10] = { XMS(MOV, 16, FL_UNAL), XMS(MOV, 16, FL_UNAL), XMS(MOVSS, 4, 0),
               XMS(MOVSD, 8, 0) },
    [0x11] = { XMS(STORE, 16, FL_UNAL), XMS(STORE, 16, FL_UNAL), XMS(MOVSS_ST, 4, 0),
               XMS(MOVSD_ST, 8, 0) },
    [0x12] = { XMS(MOVLPS, 8, 0), XMS(MOVLPS, 8, FL_MEM), XM(MOVSLDUP),
               XMS(MOVDDUP, 8, 0) },
    [0x13] = { XMS(MOVLPS_ST, 8, FL_MEM), XMS(MOVLPS_ST, 8, FL_MEM) },
    [0x14] = { XM(PUNPCKLDQ), XM(PUNPCKLQDQ) },
    [0x15] = { XM(PUNPCKHDQ), XM(PUNPCKHQDQ) },
    [0x16] = { XMS(MOVHPS, 8, 0), XMS(MOVHPS, 8, FL_MEM), XM(MOVSHDUP) },
    [0x17] = { XMS(MOVHPS_ST, 8, FL_MEM), XMS(MOVHPS_ST, 8, FL_MEM) },
    [0x28] = XPSPD(MOV),
    [0x29] = { XM(STORE), XM(STORE) },
    [0x2b] = { XMS(STORE, 16, FL_MEM), XMS(STORE, 16, FL_MEM) },
    [0x50] = { XMS(MOVMSKPS, 16, FL_REG), XMS(MOVMSKPD, 16, FL_REG) },
    [0x54] = XPSPD(PAND),
    [0x55] = XPSPD(PANDN),
    [0x56] = XPSPD(POR),
    [0x57] = XPSPD(PXOR),
    /* the low-half unpacks of MMX read 32 bits of memory */
    [0x60] = { MMS(PUNPCKLBW, 4, 0), XM(PUNPCKLBW) },
    [0x61] = { MMS(PUNPCKLWD, 4, 0), XM(PUNPCKLWD) },
    [0x62] = { MMS(PUNPCKLDQ, 4, 0), XM(PUNPCKLDQ) },
    [0x63] = MX(PACKSSWB),
    [0x64] = MX(PCMPGTB),
    [0x65] = MX(PCMPGTW),
    [0x66] = MX(PCMPGTD),
    [0x67] = MX(PACKUSWB),
    [0x68] = MX(PUNPCKHBW),
    [0x69] = MX(PUNPCKHWD),
    [0x6a] = MX(PUNPCKHDQ),
    [0x6b] = MX(PACKSSDW),
    [0x6c] = X66(PUNPCKLQDQ),
    [0x6d] = X66(PUNPCKHQDQ),
    [0x6e] = { MMS(MOVD_LOAD, 4, 0), XMS(MOVD_LOAD, 4, 0) },
    [0x6f] = { MM(MOV), XM(MOV), XMS(MOV, 16, FL_UNAL) },
    [0x70] = { MM(PSHUFW), XM(PSHUFD), XM(PSHUFHW), XM(PSHUFLW) },
    [0x71] = { MMS(GRP71, 8, FL_REG), XMS(GRP71, 16, FL_REG) },
    [0x72] = { MMS(GRP72, 8, FL_REG), XMS(GRP72, 16, FL_REG) },
    [0x73] = { MMS(GRP73, 8, FL_REG), XMS(GRP73, 16, FL_REG) },
    [0x74] = MX(PCMPEQB),
    [0x75] = MX(PCMPEQW),
    [0x76] = MX(PCMPEQD),
    [0x7e] = { MMS(MOVD_STORE, 4, 0), XMS(MOVD_STORE, 4, 0), XMS(MOVQ_ZX, 8, 0) },
    [0x7f] = { MMS(STORE, 8, 0), XM(STORE), XMS(STORE, 16, FL_UNAL) },
    [0xc4] = { MMS(PINSRW, 2, 0), XMS(PINSRW, 2, 0) },
    [0xc5] = { MMS(PEXTRW, 8, FL_REG), XMS(PEXTRW, 16, FL_REG) },
    [0xc6] = { XM(SHUFPS), XM(SHUFPD) },
    [0xd1] = MX(PSRLW),
    [0xd2] = MX(PSRLD),
    [0xd3] = MX(PSRLQ),
    [0xd4] = MX(PADDQ),
    [0xd5] = MX(PMULLW),
    [0xd6] = { [SSE_66] = XMS(MOVQ_STORE, 8, 0), [SSE_F3] = XMS(MOVQ2DQ, 8, FL_REG),
               [SSE_F2] = XMS(MOVDQ2Q, 16, FL_REG) },
    [0xd7] = { MMS(PMOVMSKB, 8, FL_REG), XMS(PMOVMSKB, 16, FL_REG) },
    [0xd8] = MX(PSUBUSB),
    [0xd9] = MX(PSUBUSW),
    [0xda] = MX(PMINUB),
    [0xdb] = MX(PAND),
    [0xdc] = MX(PADDUSB),
    [0xdd] = MX(PADDUSW),
    [0xde] = MX(PMAXUB),
    [0xdf] = MX(PANDN),
    [0xe0] = MX(PAVGB),
    [0xe1] = MX(PSRAW),
    [0xe2] = MX(PSRAD),
    [0xe3] = MX(PAVGW),
    [0xe4] = MX(PMULHUW),
    [0xe5] = MX(PMULHW),
    [0xe7] = { MMS(STORE, 8, FL_MEM), XMS(STORE, 16, FL_MEM) },
    [0xe8] = MX(PSUBSB),
    [0xe9] = MX(PSUBSW),
    [0xea] = MX(PMINSW),
    [0xeb] = MX(POR),
    [0xec] = MX(PADDSB),
    [0xed] = MX(PADDSW),
    [0xee] = MX(PMAXSW),
    [0xef] = MX(PXOR),
    [0xf0] = { [SSE_F2] = XMS(MOV, 16, FL_UNAL | FL_MEM) },
    [0xf1] = MX(PSLLW),
    [0xf2] = MX(PSLLD),
    [0xf3] = MX(PSLLQ),
    [0xf4] = MX(PMULUDQ),
    [0xf5] = MX(PMADDWD),
    [0xf6] = MX(PSADBW),
    [0xf7] = { MMS(MASKMOV, 8, FL_REG), XMS(MASKMOV, 16, FL_REG) },
    [0xf8] = MX(PSUBB),
    [0xf9] = MX(PSUBW),
    [0xfa] = MX(PSUBD),
    [0xfb] = MX(PSUBQ),
    [0xfc] = MX(PADDB),
    [0xfd] = MX(PADDW),
    [0xfe] = MX(PADDD),
};

/* 0F 38 xx (SDM vol. 2, table A-4). */
static const struct iform map2[256][4] = {
    [0x00] = MX(PSHUFB),
    [0x01] = MX(PHADDW),
    [0x02] = MX(PHADDD),
    [0x03] = MX(PHADDSW),
    [0x04] = MX(PMADDUBSW),
    [0x05] = MX(PHSUBW),
    [0x06] = MX(PHSUBD),
    [0x07] = MX(PHSUBSW),
    [0x08] = MX(PSIGNB),
    [0x09] = MX(PSIGNW),
    [0x0a] = MX(PSIGND),
    [0x0b] = MX(PMULHRSW),
    [0x10] = X66(PBLENDVB),
    [0x14] = X66(BLENDVPS),
    [0x15] = X66(BLENDVPD),
    [0x17] = X66(PTEST),
    [0x1c] = MX(PABSB),
    [0x1d] = MX(PABSW),
    [0x1e] = MX(PABSD),
    /* PMOVSX/PMOVZX read only what they widen, unaligned */
    [0x20] = { [SSE_66] = XMS(PMOVSXBW, 8, 0) },
    [0x21] = { [SSE_66] = XMS(PMOVSXBD, 4, 0) },
    [0x22] = { [SSE_66] = XMS(PMOVSXBQ, 2, 0) },
    [0x23] = { [SSE_66] = XMS(PMOVSXWD, 8, 0) },
    [0x24] = { [SSE_66] = XMS(PMOVSXWQ, 4, 0) },
    [0x25] = { [SSE_66] = XMS(PMOVSXDQ, 8, 0) },
    [0x28] = X66(PMULDQ),
    [0x29] = X66(PCMPEQQ),
    [0x2a] = { [SSE_66] = XMS(MOV, 16, FL_MEM) },     /* movntdqa */
    [0x2b] = X66(PACKUSDW),
    [0x30] = { [SSE_66] = XMS(PMOVZXBW, 8, 0) },
    [0x31] = { [SSE_66] = XMS(PMOVZXBD, 4, 0) },
    [0x32] = { [SSE_66] = XMS(PMOVZXBQ, 2, 0) },
    [0x33] = { [SSE_66] = XMS(PMOVZXWD, 8, 0) },
    [0x34] = { [SSE_66] = XMS(PMOVZXWQ, 4, 0) },
    [0x35] = { [SSE_66] = XMS(PMOVZXDQ, 8, 0) },
    [0x37] = X66(PCMPGTQ),
    [0x38] = X66(PMINSB),
    [0x39] = X66(PMINSD),
    [0x3a] = X66(PMINUW),
    [0x3b] = X66(PMINUD),
    [0x3c] = X66(PMAXSB),
    [0x3d] = X66(PMAXSD),
    [0x3e] = X66(PMAXUW),
    [0x3f] = X66(PMAXUD),
    [0x40] = X66(PMULLD),
    [0x41] = X66(PHMINPOSUW),
};

/* 0F 3A xx (SDM vol. 2, table A-5); all take an imm8. */
static const struct iform map3[256][4] = {
    [0x0c] = X66(BLENDPS),
    [0x0d] = X66(BLENDPD),
    [0x0e] = X66(PBLENDW),
    [0x0f] = MX(PALIGNR),
    [0x14] = { [SSE_66] = XMS(PEXTRB, 1, 0) },
    [0x15] = { [SSE_66] = XMS(PEXTRW_M, 2, 0) },
    [0x16] = { [SSE_66] = XMS(PEXTRD, 4, 0) },
    [0x17] = { [SSE_66] = XMS(EXTRACTPS, 4, 0) },
    [0x20] = { [SSE_66] = XMS(PINSRB, 1, 0) },
    [0x21] = { [SSE_66] = XMS(INSERTPS, 4, 0) },
    [0x22] = { [SSE_66] = XMS(PINSRD, 4, 0) },
    [0x42] = X66(MPSADBW),
    [0x44] = X66(PCLMULQDQ),
    /* the string compares take unaligned memory (SDM vol. 1, 12.10) */
    [0x60] = { [SSE_66] = XMS(PCMPESTRM, 16, FL_UNAL) },
    [0x61] = { [SSE_66] = XMS(PCMPESTRI, 16, FL_UNAL) },
    [0x62] = { [SSE_66] = XMS(PCMPISTRM, 16, FL_UNAL) },
    [0x63] = { [SSE_66] = XMS(PCMPISTRI, 16, FL_UNAL) },
};

/* ---- registers ---- */

static inline uint64_t mm_get(const struct tcg_cpu *cpu, unsigned i)
{
    return cpu->st.fpu.st[i & 7].mant;
}

static inline void mm_set(struct tcg_cpu *cpu, unsigned i, uint64_t v)
{
    cpu->st.fpu.st[i & 7].mant = v;
    cpu->st.fpu.st[i & 7].exp = 0xffff;
}

static inline unsigned mm_reg(const struct insn *in)
{
    return (in->modrm >> 3) & 7;
}

static inline unsigned mm_rm(const struct insn *in)
{
    return in->modrm & 7;
}

/* The ModRM.reg operand of a form, as a vector (MMX: the low 8 bytes). */
static sse_vec reg_get(const struct tcg_cpu *cpu, const struct insn *in, bool mmx)
{
    sse_vec v;

    if (mmx) {
        memset(&v, 0, sizeof(v));
        v.q[0] = mm_get(cpu, mm_reg(in));
        return v;
    }
    return sse_xmm_get(cpu, sse_reg(in));
}

static void reg_set(struct tcg_cpu *cpu, const struct insn *in, bool mmx, const sse_vec *v)
{
    if (mmx) {
        mm_set(cpu, mm_reg(in), v->q[0]);
    } else {
        sse_xmm_set(cpu, sse_reg(in), *v);
    }
}

/* The ModRM.rm operand: a whole register, or msz bytes of memory (the
 * rest zero), aligned where the form asks for it. */
static enum tcg_status rm_get(struct tcg_cpu *cpu, const struct insn *in,
                              const struct iform *f, sse_vec *v)
{
    bool mmx = f->fl & FL_MMX;

    if (!in->has_mem) {
        if (mmx) {
            memset(v, 0, sizeof(*v));
            v->q[0] = mm_get(cpu, mm_rm(in));
        } else {
            *v = sse_xmm_get(cpu, sse_rm(in));
        }
        return TCG_OK;
    }
    return sse_read_rm(cpu, in, f->msz, !mmx && !(f->fl & FL_UNAL), v);
}

/* ---- lane helpers ---- */

static inline int8_t sat8(int v)
{
    return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

static inline uint8_t satu8(int v)
{
    return (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
}

static inline int16_t sat16(int32_t v)
{
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

static inline uint16_t satu16(int32_t v)
{
    return (uint16_t)(v > 65535 ? 65535 : v < 0 ? 0 : v);
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Logical and arithmetic shifts of every lane by count (SDM vol. 2,
 * PSRLW etc.: a count past the lane width gives 0, or the sign). */
static void shift_lanes(sse_vec *d, unsigned n, unsigned esz, int kind, uint64_t count)
{
    unsigned bits = esz * 8;

    for (unsigned i = 0; i < n / esz; i++) {
        uint64_t v = 0;
        int64_t sv;

        memcpy(&v, d->b + i * esz, esz);
        if (kind == 0) {                /* logical right */
            v = count >= bits ? 0 : v >> count;
        } else if (kind == 1) {         /* arithmetic right */
            sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
            v = (uint64_t)(sv >> (count >= bits ? bits - 1 : count));
        } else {                        /* left */
            v = count >= bits ? 0 : v << count;
        }
        memcpy(d->b + i * esz, &v, esz);
    }
}

/* Interleave the low (hi = false) or high halves of a and b, esz-byte
 * elements over n bytes (SDM vol. 2, PUNPCKLBW...). */
static sse_vec unpack(const sse_vec *a, const sse_vec *b, unsigned n, unsigned esz, bool hi)
{
    sse_vec r;
    unsigned half = n / 2, off = hi ? half : 0;

    memset(&r, 0, sizeof(r));
    for (unsigned i = 0; i < half / esz; i++) {
        memcpy(r.b + 2 * i * esz, a->b + off + i * esz, esz);
        memcpy(r.b + (2 * i + 1) * esz, b->b + off + i * esz, esz);
    }
    return r;
}

/* The 128-bit carry-less product of a and b (SDM vol. 2, PCLMULQDQ). */
static void clmul(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
    uint64_t l = 0, h = 0;

    for (unsigned i = 0; i < 64; i++) {
        if ((b >> i) & 1) {
            l ^= a << i;
            h ^= i ? a >> (64 - i) : 0;
        }
    }
    *lo = l;
    *hi = h;
}

/* PHADDx and PHSUBx: pairs of d fill the low half of the result, pairs of s
 * the high half. */
static void horiz(sse_vec *d, const sse_vec *s, unsigned n, enum iop op)
{
    sse_vec r;
    const sse_vec *src[2] = { d, s };

    memset(&r, 0, sizeof(r));
    if (op == I_PHADDD || op == I_PHSUBD) {
        unsigned pairs = n / 8;

        for (unsigned h = 0; h < 2; h++) {
            for (unsigned i = 0; i < pairs; i++) {
                uint32_t a = src[h]->d[2 * i], b = src[h]->d[2 * i + 1];

                r.d[h * pairs + i] = op == I_PHADDD ? a + b : a - b;
            }
        }
    } else {
        unsigned pairs = n / 4;

        for (unsigned h = 0; h < 2; h++) {
            for (unsigned i = 0; i < pairs; i++) {
                int32_t a = src[h]->sw[2 * i], b = src[h]->sw[2 * i + 1];
                int32_t v = (op == I_PHADDW || op == I_PHADDSW) ? a + b : a - b;

                r.sw[h * pairs + i] = (op == I_PHADDSW || op == I_PHSUBSW) ? sat16(v)
                                                                           : (int16_t)v;
            }
        }
    }
    *d = r;
}

static void pmovx(sse_vec *d, const sse_vec *s, unsigned from, unsigned to, bool sgn)
{
    sse_vec r;

    memset(&r, 0, sizeof(r));
    for (unsigned i = 0; i < 16 / to; i++) {
        uint64_t v = 0;

        memcpy(&v, s->b + i * from, from);
        if (sgn && (v >> (from * 8 - 1)) & 1) {
            v |= ~0ull << (from * 8);
        }
        memcpy(r.b + i * to, &v, to);
    }
    *d = r;
}

static void packs(sse_vec *d, const sse_vec *s, unsigned n, enum iop op)
{
    sse_vec r;
    const sse_vec *src[2] = { d, s };

    memset(&r, 0, sizeof(r));
    for (unsigned h = 0; h < 2; h++) {
        if (op == I_PACKSSWB || op == I_PACKUSWB) {
            unsigned cnt = n / 2;

            for (unsigned i = 0; i < cnt; i++) {
                int v = src[h]->sw[i];

                r.b[h * cnt + i] = op == I_PACKSSWB ? (uint8_t)sat8(v) : satu8(v);
            }
        } else {
            unsigned cnt = n / 4;

            for (unsigned i = 0; i < cnt; i++) {
                int32_t v = src[h]->sd[i];

                r.w[h * cnt + i] = op == I_PACKSSDW ? (uint16_t)sat16(v) : satu16(v);
            }
        }
    }
    *d = r;
}

static void mpsadbw(sse_vec *d, const sse_vec *s, uint8_t imm)
{
    sse_vec r;
    unsigned a = ((imm >> 2) & 1) * 4, b = (imm & 3) * 4;

    for (unsigned k = 0; k < 8; k++) {
        unsigned sum = 0;

        for (unsigned m = 0; m < 4; m++) {
            int x = d->b[a + k + m], y = s->b[b + m];

            sum += (unsigned)(x > y ? x - y : y - x);
        }
        r.w[k] = (uint16_t)sum;
    }
    *d = r;
}

/* Lane arithmetic: add, subtract, multiply, average, min/max, sums of
 * differences, sign and absolute value. */
static bool vec_arith(enum iop op, sse_vec *out, const sse_vec *d, const sse_vec *s, unsigned n,
                      uint8_t imm)
{
    sse_vec r = *d;
    unsigned i;

    switch (op) {
    case I_PADDB: for (i = 0; i < n; i++) r.b[i] = (uint8_t)(d->b[i] + s->b[i]); break;
    case I_PADDW: for (i = 0; i < n / 2; i++) r.w[i] = (uint16_t)(d->w[i] + s->w[i]); break;
    case I_PADDD: for (i = 0; i < n / 4; i++) r.d[i] = d->d[i] + s->d[i]; break;
    case I_PADDQ: for (i = 0; i < n / 8; i++) r.q[i] = d->q[i] + s->q[i]; break;
    case I_PSUBB: for (i = 0; i < n; i++) r.b[i] = (uint8_t)(d->b[i] - s->b[i]); break;
    case I_PSUBW: for (i = 0; i < n / 2; i++) r.w[i] = (uint16_t)(d->w[i] - s->w[i]); break;
    case I_PSUBD: for (i = 0; i < n / 4; i++) r.d[i] = d->d[i] - s->d[i]; break;
    case I_PSUBQ: for (i = 0; i < n / 8; i++) r.q[i] = d->q[i] - s->q[i]; break;
    case I_PADDSB: for (i = 0; i < n; i++) r.sb[i] = sat8(d->sb[i] + s->sb[i]); break;
    case I_PADDSW: for (i = 0; i < n / 2; i++) r.sw[i] = sat16(d->sw[i] + s->sw[i]); break;
    case I_PADDUSB: for (i = 0; i < n; i++) r.b[i] = satu8(d->b[i] + s->b[i]); break;
    case I_PADDUSW: for (i = 0; i < n / 2; i++) r.w[i] = satu16(d->w[i] + s->w[i]); break;
    case I_PSUBSB: for (i = 0; i < n; i++) r.sb[i] = sat8(d->sb[i] - s->sb[i]); break;
    case I_PSUBSW: for (i = 0; i < n / 2; i++) r.sw[i] = sat16(d->sw[i] - s->sw[i]); break;
    case I_PSUBUSB: for (i = 0; i < n; i++) r.b[i] = satu8(d->b[i] - s->b[i]); break;
    case I_PSUBUSW: for (i = 0; i < n / 2; i++) r.w[i] = satu16(d->w[i] - s->w[i]); break;
    case I_PMULLW:
        for (i = 0; i < n / 2; i++) r.w[i] = (uint16_t)(d->sw[i] * s->sw[i]);
        break;
    case I_PMULHW:
        for (i = 0; i < n / 2; i++) r.w[i] = (uint16_t)((d->sw[i] * s->sw[i]) >> 16);
        break;
    case I_PMULHUW:
        for (i = 0; i < n / 2; i++) r.w[i] = (uint16_t)(((uint32_t)d->w[i] * s->w[i]) >> 16);
        break;
    case I_PMULHRSW:
        /* SDM vol. 2, PMULHRSW: bits 16:1 of (a * b >> 14) + 1 */
        for (i = 0; i < n / 2; i++) {
            r.w[i] = (uint16_t)((((d->sw[i] * s->sw[i]) >> 14) + 1) >> 1);
        }
        break;
    case I_PMULUDQ:
        for (i = 0; i < n / 8; i++) r.q[i] = (uint64_t)d->d[2 * i] * s->d[2 * i];
        break;
    case I_PMULDQ:
        for (i = 0; i < 2; i++) r.sq[i] = (int64_t)d->sd[2 * i] * s->sd[2 * i];
        break;
    case I_PMULLD:
        for (i = 0; i < 4; i++) r.d[i] = (uint32_t)((int64_t)d->sd[i] * s->sd[i]);
        break;
    case I_PMADDWD:
        /* the one overflow, 0x8000 * 0x8000 twice, wraps to 0x80000000 */
        for (i = 0; i < n / 4; i++) {
            r.d[i] = (uint32_t)(d->sw[2 * i] * s->sw[2 * i]) +
                     (uint32_t)(d->sw[2 * i + 1] * s->sw[2 * i + 1]);
        }
        break;
    case I_PMADDUBSW:
        for (i = 0; i < n / 2; i++) {
            r.sw[i] = sat16(d->b[2 * i] * s->sb[2 * i] + d->b[2 * i + 1] * s->sb[2 * i + 1]);
        }
        break;
    case I_PSADBW:
        for (i = 0; i < n / 8; i++) {
            unsigned sum = 0;

            for (unsigned k = 0; k < 8; k++) {
                int x = d->b[8 * i + k], y = s->b[8 * i + k];

                sum += (unsigned)(x > y ? x - y : y - x);
            }
            r.q[i] = sum;
        }
        break;
    case I_PAVGB: for (i = 0; i < n; i++) r.b[i] = (uint8_t)((d->b[i] + s->b[i] + 1) >> 1); break;
    case I_PAVGW:
        for (i = 0; i < n / 2; i++) r.w[i] = (uint16_t)((d->w[i] + s->w[i] + 1) >> 1);
        break;
    case I_PMINUB: for (i = 0; i < n; i++) r.b[i] = MIN(d->b[i], s->b[i]); break;
    case I_PMAXUB: for (i = 0; i < n; i++) r.b[i] = MAX(d->b[i], s->b[i]); break;
    case I_PMINSB: for (i = 0; i < n; i++) r.sb[i] = MIN(d->sb[i], s->sb[i]); break;
    case I_PMAXSB: for (i = 0; i < n; i++) r.sb[i] = MAX(d->sb[i], s->sb[i]); break;
    case I_PMINSW: for (i = 0; i < n / 2; i++) r.sw[i] = MIN(d->sw[i], s->sw[i]); break;
    case I_PMAXSW: for (i = 0; i < n / 2; i++) r.sw[i] = MAX(d->sw[i], s->sw[i]); break;
    case I_PMINUW: for (i = 0; i < n / 2; i++) r.w[i] = MIN(d->w[i], s->w[i]); break;
    case I_PMAXUW: for (i = 0; i < n / 2; i++) r.w[i] = MAX(d->w[i], s->w[i]); break;
    case I_PMINSD: for (i = 0; i < n / 4; i++) r.sd[i] = MIN(d->sd[i], s->sd[i]); break;
    case I_PMAXSD: for (i = 0; i < n / 4; i++) r.sd[i] = MAX(d->sd[i], s->sd[i]); break;
    case I_PMINUD: for (i = 0; i < n / 4; i++) r.d[i] = MIN(d->d[i], s->d[i]); break;
    case I_PMAXUD: for (i = 0; i < n / 4; i++) r.d[i] = MAX(d->d[i], s->d[i]); break;
    case I_PHADDW: case I_PHADDD: case I_PHADDSW:
    case I_PHSUBW: case I_PHSUBD: case I_PHSUBSW:
        horiz(&r, s, n, op);
        break;
    case I_PSIGNB:
        for (i = 0; i < n; i++) {
            r.b[i] = s->sb[i] < 0 ? (uint8_t)-d->b[i] : s->sb[i] ? d->b[i] : 0;
        }
        break;
    case I_PSIGNW:
        for (i = 0; i < n / 2; i++) {
            r.w[i] = s->sw[i] < 0 ? (uint16_t)-d->w[i] : s->sw[i] ? d->w[i] : 0;
        }
        break;
    case I_PSIGND:
        for (i = 0; i < n / 4; i++) {
            r.d[i] = s->sd[i] < 0 ? -d->d[i] : s->sd[i] ? d->d[i] : 0;
        }
        break;
    case I_PABSB:
        for (i = 0; i < n; i++) r.b[i] = (uint8_t)(s->sb[i] < 0 ? -s->sb[i] : s->sb[i]);
        break;
    case I_PABSW:
        for (i = 0; i < n / 2; i++) r.w[i] = (uint16_t)(s->sw[i] < 0 ? -s->sw[i] : s->sw[i]);
        break;
    case I_PABSD:
        for (i = 0; i < n / 4; i++) r.d[i] = s->sd[i] < 0 ? -s->d[i] : s->d[i];
        break;
    case I_PHMINPOSUW: {
        unsigned idx = 0;

        for (i = 1; i < 8; i++) {
            if (s->w[i] < s->w[idx]) {
                idx = i;
            }
        }
        memset(&r, 0, sizeof(r));
        r.w[0] = s->w[idx];
        r.w[1] = (uint16_t)idx;
        break;
    }
    case I_MPSADBW:
        mpsadbw(&r, s, imm);
        break;
    case I_PCLMULQDQ:
        clmul(d->q[imm & 1], s->q[(imm >> 4) & 1], &r.q[0], &r.q[1]);
        break;
    default:
        return false;
    }
    *out = r;
    return true;
}

/* Compares, logic and the shifts by a register or memory count. */
static bool vec_cmp_logic(enum iop op, sse_vec *out, const sse_vec *d, const sse_vec *s,
                          unsigned n)
{
    sse_vec r = *d;
    unsigned i;

    switch (op) {
    case I_PCMPEQB: for (i = 0; i < n; i++) r.b[i] = d->b[i] == s->b[i] ? 0xff : 0; break;
    case I_PCMPEQW:
        for (i = 0; i < n / 2; i++) r.w[i] = d->w[i] == s->w[i] ? 0xffff : 0;
        break;
    case I_PCMPEQD: for (i = 0; i < n / 4; i++) r.d[i] = d->d[i] == s->d[i] ? ~0u : 0; break;
    case I_PCMPEQQ: for (i = 0; i < 2; i++) r.q[i] = d->q[i] == s->q[i] ? ~0ull : 0; break;
    case I_PCMPGTB: for (i = 0; i < n; i++) r.b[i] = d->sb[i] > s->sb[i] ? 0xff : 0; break;
    case I_PCMPGTW:
        for (i = 0; i < n / 2; i++) r.w[i] = d->sw[i] > s->sw[i] ? 0xffff : 0;
        break;
    case I_PCMPGTD: for (i = 0; i < n / 4; i++) r.d[i] = d->sd[i] > s->sd[i] ? ~0u : 0; break;
    case I_PCMPGTQ: for (i = 0; i < 2; i++) r.q[i] = d->sq[i] > s->sq[i] ? ~0ull : 0; break;
    case I_PAND: r.q[0] = d->q[0] & s->q[0]; r.q[1] = d->q[1] & s->q[1]; break;
    case I_PANDN: r.q[0] = ~d->q[0] & s->q[0]; r.q[1] = ~d->q[1] & s->q[1]; break;
    case I_POR: r.q[0] = d->q[0] | s->q[0]; r.q[1] = d->q[1] | s->q[1]; break;
    case I_PXOR: r.q[0] = d->q[0] ^ s->q[0]; r.q[1] = d->q[1] ^ s->q[1]; break;
    /* shifts by a register or memory count: its low 64 bits */
    case I_PSRLW: shift_lanes(&r, n, 2, 0, s->q[0]); break;
    case I_PSRLD: shift_lanes(&r, n, 4, 0, s->q[0]); break;
    case I_PSRLQ: shift_lanes(&r, n, 8, 0, s->q[0]); break;
    case I_PSRAW: shift_lanes(&r, n, 2, 1, s->q[0]); break;
    case I_PSRAD: shift_lanes(&r, n, 4, 1, s->q[0]); break;
    case I_PSLLW: shift_lanes(&r, n, 2, 2, s->q[0]); break;
    case I_PSLLD: shift_lanes(&r, n, 4, 2, s->q[0]); break;
    case I_PSLLQ: shift_lanes(&r, n, 8, 2, s->q[0]); break;
    default:
        return false;
    }
    *out = r;
    return true;
}

/* Moves, packs and unpacks, shuffles, blends and widening moves. */
static bool vec_shuffle(enum iop op, sse_vec *out, const sse_vec *d, const sse_vec *s,
                        unsigned n, uint8_t imm, const sse_vec *x0)
{
    sse_vec r = *d;
    unsigned i;

    switch (op) {
    case I_MOV:
        r = *s;
        break;
    case I_MOVQ_ZX:
        r.q[0] = s->q[0];
        r.q[1] = 0;
        break;
    case I_MOVSLDUP:
    case I_MOVSHDUP: {
        unsigned o = op == I_MOVSHDUP;

        r.d[0] = r.d[1] = s->d[o];
        r.d[2] = r.d[3] = s->d[2 + o];
        break;
    }
    case I_MOVDDUP:
        r.q[0] = r.q[1] = s->q[0];
        break;
    case I_PACKSSWB:
    case I_PACKSSDW:
    case I_PACKUSWB:
    case I_PACKUSDW:
        packs(&r, s, n, op);
        break;
    case I_PUNPCKLBW: r = unpack(d, s, n, 1, false); break;
    case I_PUNPCKLWD: r = unpack(d, s, n, 2, false); break;
    case I_PUNPCKLDQ: r = unpack(d, s, n, 4, false); break;
    case I_PUNPCKLQDQ: r = unpack(d, s, n, 8, false); break;
    case I_PUNPCKHBW: r = unpack(d, s, n, 1, true); break;
    case I_PUNPCKHWD: r = unpack(d, s, n, 2, true); break;
    case I_PUNPCKHDQ: r = unpack(d, s, n, 4, true); break;
    case I_PUNPCKHQDQ: r = unpack(d, s, n, 8, true); break;
    case I_PSHUFW:
        for (i = 0; i < 4; i++) r.w[i] = s->w[(imm >> (2 * i)) & 3];
        break;
    case I_PSHUFD:
        for (i = 0; i < 4; i++) r.d[i] = s->d[(imm >> (2 * i)) & 3];
        break;
    case I_PSHUFLW:
        for (i = 0; i < 4; i++) r.w[i] = s->w[(imm >> (2 * i)) & 3];
        r.q[1] = s->q[1];
        break;
    case I_PSHUFHW:
        r.q[0] = s->q[0];
        for (i = 0; i < 4; i++) r.w[4 + i] = s->w[4 + ((imm >> (2 * i)) & 3)];
        break;
    case I_SHUFPS:
        r.d[0] = d->d[imm & 3];
        r.d[1] = d->d[(imm >> 2) & 3];
        r.d[2] = s->d[(imm >> 4) & 3];
        r.d[3] = s->d[(imm >> 6) & 3];
        break;
    case I_SHUFPD:
        r.q[0] = d->q[imm & 1];
        r.q[1] = s->q[(imm >> 1) & 1];
        break;
    case I_PSHUFB:
        for (i = 0; i < n; i++) {
            r.b[i] = (s->b[i] & 0x80) ? 0 : d->b[s->b[i] & (n - 1)];
        }
        break;
    case I_PALIGNR: {
        /* (dst:src) >> imm*8, the low n bytes */
        uint8_t t[32];

        memcpy(t, s->b, n);
        memcpy(t + n, d->b, n);
        for (i = 0; i < n; i++) {
            r.b[i] = (unsigned)imm + i < 2 * n ? t[imm + i] : 0;
        }
        break;
    }
    case I_PBLENDVB:
        for (i = 0; i < 16; i++) r.b[i] = (x0->b[i] & 0x80) ? s->b[i] : d->b[i];
        break;
    case I_BLENDVPS:
        for (i = 0; i < 4; i++) r.d[i] = (x0->d[i] >> 31) ? s->d[i] : d->d[i];
        break;
    case I_BLENDVPD:
        for (i = 0; i < 2; i++) r.q[i] = (x0->q[i] >> 63) ? s->q[i] : d->q[i];
        break;
    case I_BLENDPS:
        for (i = 0; i < 4; i++) r.d[i] = ((imm >> i) & 1) ? s->d[i] : d->d[i];
        break;
    case I_BLENDPD:
        for (i = 0; i < 2; i++) r.q[i] = ((imm >> i) & 1) ? s->q[i] : d->q[i];
        break;
    case I_PBLENDW:
        for (i = 0; i < 8; i++) r.w[i] = ((imm >> i) & 1) ? s->w[i] : d->w[i];
        break;
    case I_PMOVSXBW: pmovx(&r, s, 1, 2, true); break;
    case I_PMOVSXBD: pmovx(&r, s, 1, 4, true); break;
    case I_PMOVSXBQ: pmovx(&r, s, 1, 8, true); break;
    case I_PMOVSXWD: pmovx(&r, s, 2, 4, true); break;
    case I_PMOVSXWQ: pmovx(&r, s, 2, 8, true); break;
    case I_PMOVSXDQ: pmovx(&r, s, 4, 8, true); break;
    case I_PMOVZXBW: pmovx(&r, s, 1, 2, false); break;
    case I_PMOVZXBD: pmovx(&r, s, 1, 4, false); break;
    case I_PMOVZXBQ: pmovx(&r, s, 1, 8, false); break;
    case I_PMOVZXWD: pmovx(&r, s, 2, 4, false); break;
    case I_PMOVZXWQ: pmovx(&r, s, 2, 8, false); break;
    case I_PMOVZXDQ: pmovx(&r, s, 4, 8, false); break;
    case I_INSERTPS:
        /* the memory form (its 4 bytes are s->d[0]) ignores imm[7:6] */
        r.d[(imm >> 4) & 3] = s->d[x0 ? (imm >> 6) & 3 : 0];
        for (i = 0; i < 4; i++) {
            if ((imm >> i) & 1) {
                r.d[i] = 0;
            }
        }
        break;
    default:
        return false;
    }
    *out = r;
    return true;
}

/* dst = f(dst, src, imm) for the operations up to I__VEC_END, over n bytes
 * (8: MMX, 16: XMM); x0 is XMM0 for the variable blends (NULL: INSERTPS
 * from memory).  An MMX result keeps the high qword of the vector zero. */
static void vec_op(enum iop op, sse_vec *d, const sse_vec *s, unsigned n, uint8_t imm,
                   const sse_vec *x0)
{
    sse_vec r = *d;

    if (!vec_arith(op, &r, d, s, n, imm) && !vec_cmp_logic(op, &r, d, s, n)) {
        vec_shuffle(op, &r, d, s, n, imm, x0);
    }
    if (n == 8) {
        r.q[1] = 0;
    }
    *d = r;
}

/* ---- the forms with a function of their own ---- */

/* A general register or memory operand of size bytes at ModRM.rm. */
static enum tcg_status gpr_rm_read(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                   uint64_t *v)
{
    sse_vec t;
    enum tcg_status st;

    if (!in->has_mem) {
        *v = tcg_reg_read(cpu, sse_rm(in), size, false);
        return TCG_OK;
    }
    st = sse_read_rm(cpu, in, size, false, &t);
    *v = t.q[0];
    return st;
}

/* Stores size bytes of v at ModRM.rm: memory, or a general register
 * zero-extended to 64 bits (a 32-bit write does that, SDM vol. 1,
 * 3.4.1.1; the extract forms define narrower results the same way). */
static enum tcg_status gpr_rm_write(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                    uint64_t v)
{
    sse_vec t;

    if (!in->has_mem) {
        tcg_reg_write(cpu, sse_rm(in), size == 8 ? 8 : 4, false, v);
        return TCG_OK;
    }
    memset(&t, 0, sizeof(t));
    t.q[0] = v;
    return sse_write_rm(cpu, in, size, false, &t);
}

static inline bool rex_w(const struct insn *in)
{
    return in->rex & 8;
}

/* MOVD/MOVQ mm/xmm, r/m32/64 (0F 6E, 66 0F 6E): zero-extended. */
static enum tcg_status movd_load(struct tcg_cpu *cpu, const struct insn *in, bool mmx)
{
    uint64_t v;
    sse_vec r;
    enum tcg_status st = gpr_rm_read(cpu, in, rex_w(in) ? 8 : 4, &v);

    if (st != TCG_OK) {
        return st;
    }
    memset(&r, 0, sizeof(r));
    r.q[0] = v;
    reg_set(cpu, in, mmx, &r);
    return TCG_OK;
}

/* MOVD/MOVQ r/m32/64, mm/xmm (0F 7E, 66 0F 7E). */
static enum tcg_status movd_store(struct tcg_cpu *cpu, const struct insn *in, bool mmx)
{
    sse_vec r = reg_get(cpu, in, mmx);
    unsigned size = rex_w(in) ? 8 : 4;

    return gpr_rm_write(cpu, in, size, size == 8 ? r.q[0] : r.d[0]);
}

/* r/m = reg: the store forms of MOVAPS, MOVDQA, MOVNT*, MOVQ mm/m64.  A
 * register destination takes the whole register. */
static enum tcg_status store(struct tcg_cpu *cpu, const struct insn *in, const struct iform *f)
{
    bool mmx = f->fl & FL_MMX;
    sse_vec v = reg_get(cpu, in, mmx);

    if (!in->has_mem) {
        if (mmx) {
            mm_set(cpu, mm_rm(in), v.q[0]);
        } else {
            sse_xmm_set(cpu, sse_rm(in), v);
        }
        return TCG_OK;
    }
    return sse_write_rm(cpu, in, f->msz, !mmx && !(f->fl & FL_UNAL), &v);
}

/* MOVSS/MOVSD xmm, xmm/m: a register source replaces the low element and
 * keeps the rest, a memory source zeroes the rest (SDM vol. 2, MOVSS). */
static enum tcg_status movs_load(struct tcg_cpu *cpu, const struct insn *in, unsigned size)
{
    sse_vec d = sse_xmm_get(cpu, sse_reg(in)), s;
    enum tcg_status st = sse_read_rm(cpu, in, size, false, &s);

    if (st != TCG_OK) {
        return st;
    }
    if (in->has_mem) {
        d = s;
    } else {
        memcpy(d.b, s.b, size);
    }
    sse_xmm_set(cpu, sse_reg(in), d);
    return TCG_OK;
}

/*
 * MOVLPS/MOVLPD/MOVHLPS (0F 12) and MOVHPS/MOVHPD/MOVLHPS (0F 16): a
 * memory qword into the low (high) half; the register forms move the
 * other register's high (low) half.
 */
static enum tcg_status movlh_load(struct tcg_cpu *cpu, const struct insn *in, bool high)
{
    sse_vec d = sse_xmm_get(cpu, sse_reg(in)), s;
    enum tcg_status st;

    if (!in->has_mem) {
        s = sse_xmm_get(cpu, sse_rm(in));
        d.q[high] = s.q[!high];
    } else {
        st = sse_read_rm(cpu, in, 8, false, &s);
        if (st != TCG_OK) {
            return st;
        }
        d.q[high] = s.q[0];
    }
    sse_xmm_set(cpu, sse_reg(in), d);
    return TCG_OK;
}

static enum tcg_status movlh_store(struct tcg_cpu *cpu, const struct insn *in, bool high)
{
    sse_vec s = sse_xmm_get(cpu, sse_reg(in)), t;

    memset(&t, 0, sizeof(t));
    t.q[0] = s.q[high];
    return sse_write_rm(cpu, in, 8, false, &t);
}

/* MOVMSKPS/MOVMSKPD/PMOVMSKB: the sign bits into a general register. */
static enum tcg_status movmsk(struct tcg_cpu *cpu, const struct insn *in, const struct iform *f)
{
    sse_vec s;
    unsigned esz = f->op == I_MOVMSKPS ? 4 : f->op == I_MOVMSKPD ? 8 : 1;
    unsigned n = (f->fl & FL_MMX) ? 8 : 16;
    uint32_t m = 0;

    rm_get(cpu, in, f, &s);
    for (unsigned i = 0; i < n / esz; i++) {
        m |= (uint32_t)(s.b[i * esz + esz - 1] >> 7) << i;
    }
    tcg_reg_write(cpu, sse_reg(in), 4, false, m);
    return TCG_OK;
}

/*
 * MASKMOVQ/MASKMOVDQU: the bytes of reg whose mask byte (rm) has its top
 * bit set go to DS:rDI (a segment override applies).  The host checks the
 * whole 8 or 16 bytes for writing even when the mask is all zeros (#GP for
 * a non-canonical address, #PF for an unmapped page: measured on AMD Zen
 * 4, which the SDM allows), so the range is probed first with a read
 * checked for writing (a device behind MMIO sees that read), then the
 * selected bytes are stored one by one.
 */
static enum tcg_status maskmov(struct tcg_cpu *cpu, const struct insn *in, bool mmx)
{
    sse_vec v = reg_get(cpu, in, mmx), m, old;
    unsigned n = mmx ? 8 : 16;
    uint64_t off = cpu->st.regs[R_EDI] & tcg_size_mask(in->addr_size), lin;
    uint64_t lin_mask = cpu->mode == MODE_LONG64 ? ~0ull : 0xffffffffull;
    enum tcg_status st;

    if (mmx) {
        memset(&m, 0, sizeof(m));
        m.q[0] = mm_get(cpu, mm_rm(in));
    } else {
        m = sse_xmm_get(cpu, sse_rm(in));
    }
    st = tcg_linear(cpu, in->mem.seg, off, n, ACC_WRITE, &lin);
    if (st == TCG_OK) {
        st = tcg_read_lin(cpu, lin, old.b, n, ACC_WRITE);
    }
    for (unsigned i = 0; i < n && st == TCG_OK; i++) {
        if (m.b[i] & 0x80) {
            st = tcg_write_lin(cpu, (lin + i) & lin_mask, &v.b[i], 1);
        }
    }
    return st;
}

/* PINSRW mm/xmm, r32/m16, imm8 (0F C4). */
static enum tcg_status pinsrw(struct tcg_cpu *cpu, const struct insn *in, bool mmx)
{
    uint64_t v;
    sse_vec d = reg_get(cpu, in, mmx);
    enum tcg_status st = gpr_rm_read(cpu, in, in->has_mem ? 2 : 4, &v);

    if (st != TCG_OK) {
        return st;
    }
    d.w[sse_imm8(in) & (mmx ? 3 : 7)] = (uint16_t)v;
    reg_set(cpu, in, mmx, &d);
    return TCG_OK;
}

/* PEXTRW r32, mm/xmm, imm8 (0F C5): ModRM.reg is the general register. */
static enum tcg_status pextrw(struct tcg_cpu *cpu, const struct insn *in, const struct iform *f)
{
    bool mmx = f->fl & FL_MMX;
    sse_vec s;

    rm_get(cpu, in, f, &s);
    tcg_reg_write(cpu, sse_reg(in), 4, false, s.w[sse_imm8(in) & (mmx ? 3 : 7)]);
    return TCG_OK;
}

/* PEXTRB/PEXTRW/PEXTRD/PEXTRQ/EXTRACTPS r/m, xmm, imm8 (66 0F 3A 14-17). */
static enum tcg_status pextr(struct tcg_cpu *cpu, const struct insn *in, enum iop op)
{
    sse_vec s = sse_xmm_get(cpu, sse_reg(in));
    uint8_t imm = sse_imm8(in);

    switch (op) {
    case I_PEXTRB:
        return gpr_rm_write(cpu, in, 1, s.b[imm & 15]);
    case I_PEXTRW_M:
        return gpr_rm_write(cpu, in, 2, s.w[imm & 7]);
    case I_PEXTRD:
        if (rex_w(in)) {
            return gpr_rm_write(cpu, in, 8, s.q[imm & 1]);
        }
        return gpr_rm_write(cpu, in, 4, s.d[imm & 3]);
    default:
        return gpr_rm_write(cpu, in, 4, s.d[imm & 3]);
    }
}

/* PINSRB/PINSRD/PINSRQ xmm, r/m, imm8 (66 0F 3A 20, 22). */
static enum tcg_status pinsr(struct tcg_cpu *cpu, const struct insn *in, enum iop op)
{
    sse_vec d = sse_xmm_get(cpu, sse_reg(in));
    uint8_t imm = sse_imm8(in);
    unsigned size = op == I_PINSRB ? 1 : rex_w(in) ? 8 : 4;
    uint64_t v;
    enum tcg_status st = gpr_rm_read(cpu, in, in->has_mem ? size : (size == 8 ? 8 : 4), &v);

    if (st != TCG_OK) {
        return st;
    }
    if (size == 1) {
        d.b[imm & 15] = (uint8_t)v;
    } else if (size == 4) {
        d.d[imm & 3] = (uint32_t)v;
    } else {
        d.q[imm & 1] = v;
    }
    sse_xmm_set(cpu, sse_reg(in), d);
    return TCG_OK;
}

/* The shift-by-imm8 groups 12, 13, 14 (0F 71-73): the register is
 * ModRM.rm, the operation ModRM.reg (SDM vol. 2, table A-6); PSRLDQ (/3)
 * and PSLLDQ (/7) shift the whole XMM register by bytes. */
static enum tcg_status shift_imm(struct tcg_cpu *cpu, const struct insn *in,
                                 const struct iform *f)
{
    bool mmx = f->fl & FL_MMX;
    unsigned n = mmx ? 8 : 16, r3 = (in->modrm >> 3) & 7, grp = in->opcode - 0x71u;
    unsigned esz = grp == 0 ? 2 : grp == 1 ? 4 : 8;
    uint8_t imm = sse_imm8(in);
    sse_vec v, r;

    rm_get(cpu, in, f, &v);
    switch (r3) {
    case 2:
        shift_lanes(&v, n, esz, 0, imm);
        break;
    case 4:
        if (grp == 2) {
            return tcg_raise(cpu, EXC_UD);
        }
        shift_lanes(&v, n, esz, 1, imm);
        break;
    case 6:
        shift_lanes(&v, n, esz, 2, imm);
        break;
    case 3:
    case 7:
        if (grp != 2 || mmx) {
            return tcg_raise(cpu, EXC_UD);
        }
        memset(&r, 0, sizeof(r));
        for (unsigned i = 0; i < 16 && imm < 16; i++) {
            if (r3 == 3 && i + imm < 16) {
                r.b[i] = v.b[i + imm];
            } else if (r3 == 7 && i >= imm) {
                r.b[i] = v.b[i - imm];
            }
        }
        v = r;
        break;
    default:
        return tcg_raise(cpu, EXC_UD);
    }
    if (mmx) {
        mm_set(cpu, mm_rm(in), v.q[0]);
    } else {
        sse_xmm_set(cpu, sse_rm(in), v);
    }
    return TCG_OK;
}

/* PTEST: ZF = (dst AND src) == 0, CF = (NOT dst AND src) == 0, the other
 * arithmetic flags cleared (SDM vol. 2, PTEST). */
static enum tcg_status ptest(struct tcg_cpu *cpu, const struct insn *in, const struct iform *f)
{
    sse_vec d = sse_xmm_get(cpu, sse_reg(in)), s;
    enum tcg_status st = rm_get(cpu, in, f, &s);
    uint64_t fl = 0;

    if (st != TCG_OK) {
        return st;
    }
    if (!((d.q[0] & s.q[0]) | (d.q[1] & s.q[1]))) {
        fl |= RFLAGS_ZF;
    }
    if (!((~d.q[0] & s.q[0]) | (~d.q[1] & s.q[1]))) {
        fl |= RFLAGS_CF;
    }
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, fl);
    return TCG_OK;
}

/* ---- PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (SDM vol. 2, 4.1) ---- */

/* Element i of v in the imm8[1:0] format: unsigned/signed bytes/words. */
static inline int str_elem(const sse_vec *v, unsigned i, unsigned fmt)
{
    switch (fmt & 3) {
    case 0: return v->b[i];
    case 1: return v->w[i];
    case 2: return v->sb[i];
    default: return v->sw[i];
    }
}

/* Explicit length: the absolute value of EAX/EDX (RAX/RDX with REX.W),
 * saturated to the element count (SDM vol. 2, 4.1.3). */
static unsigned str_explicit_len(uint64_t r, bool w, unsigned ne)
{
    uint64_t a;

    if (w) {
        a = (int64_t)r < 0 ? -r : r;
    } else {
        uint32_t v = (uint32_t)r;

        a = (int32_t)v < 0 ? (uint32_t)-v : v;
    }
    return a > ne ? ne : (unsigned)a;
}

/* Implicit length: up to the first zero element. */
static unsigned str_implicit_len(const sse_vec *v, unsigned ne, unsigned fmt)
{
    for (unsigned i = 0; i < ne; i++) {
        if (!str_elem(v, i, fmt)) {
            return i;
        }
    }
    return ne;
}

/*
 * IntRes2 of SDM vol. 2, 4.1.4-4.1.6: a is the first operand (the XMM
 * register, "xmm1", the needle or the ranges), b the second (xmm2/m128);
 * la, lb their valid lengths.  The overrides for invalid elements follow
 * table 4-7.
 */
static unsigned str_compare(const sse_vec *a, const sse_vec *b, unsigned la, unsigned lb,
                            uint8_t imm)
{
    unsigned fmt = imm & 3, ne = (imm & 1) ? 8 : 16, res = 0;

    for (unsigned j = 0; j < ne; j++) {
        bool bit = false;
        int bj = str_elem(b, j, fmt);

        switch ((imm >> 2) & 3) {
        case 0:         /* equal any */
            for (unsigned i = 0; i < la && j < lb && !bit; i++) {
                bit = str_elem(a, i, fmt) == bj;
            }
            break;
        case 1:         /* ranges: a holds (low, high) pairs */
            for (unsigned i = 0; i + 1 < la && j < lb && !bit; i += 2) {
                bit = str_elem(a, i, fmt) <= bj && bj <= str_elem(a, i + 1, fmt);
            }
            break;
        case 2:         /* equal each: two invalid elements match */
            if (j < la && j < lb) {
                bit = str_elem(a, j, fmt) == bj;
            } else {
                bit = j >= la && j >= lb;
            }
            break;
        default:        /* equal ordered: a as a substring at b[j] */
            bit = true;
            for (unsigned i = 0; i + j < ne && bit; i++) {
                unsigned k = i + j;

                if (i < la && k < lb) {
                    bit = str_elem(a, i, fmt) == str_elem(b, k, fmt);
                } else if (i < la) {
                    bit = false;            /* needle left, haystack over */
                }
            }
            break;
        }
        res |= (unsigned)bit << j;
    }
    switch ((imm >> 4) & 3) {
    case 1:             /* negative polarity */
        res ^= (1u << ne) - 1;
        break;
    case 3:             /* masked negative: only the valid elements of b */
        res ^= (1u << lb) - 1;
        break;
    default:
        break;
    }
    return res;
}

static enum tcg_status pcmpstr(struct tcg_cpu *cpu, const struct insn *in,
                               const struct iform *f)
{
    uint8_t imm = sse_imm8(in);
    unsigned fmt = imm & 3, ne = (imm & 1) ? 8 : 16, la, lb, res;
    bool expl = f->op == I_PCMPESTRI || f->op == I_PCMPESTRM;
    bool index = f->op == I_PCMPESTRI || f->op == I_PCMPISTRI;
    sse_vec a = sse_xmm_get(cpu, sse_reg(in)), b;
    enum tcg_status st = rm_get(cpu, in, f, &b);
    uint64_t fl = 0;

    if (st != TCG_OK) {
        return st;
    }
    if (expl) {
        la = str_explicit_len(cpu->st.regs[R_EAX], rex_w(in), ne);
        lb = str_explicit_len(cpu->st.regs[R_EDX], rex_w(in), ne);
    } else {
        la = str_implicit_len(&a, ne, fmt);
        lb = str_implicit_len(&b, ne, fmt);
    }
    res = str_compare(&a, &b, la, lb, imm);

    if (index) {
        unsigned idx = ne;

        if (res) {
            idx = (imm & 0x40) ? 31u - (unsigned)__builtin_clz(res)
                               : (unsigned)__builtin_ctz(res);
        }
        tcg_reg_write(cpu, R_ECX, 4, false, idx);
    } else {
        sse_vec m;

        memset(&m, 0, sizeof(m));
        if (!(imm & 0x40)) {
            m.w[0] = (uint16_t)res;
        } else {
            for (unsigned i = 0; i < ne; i++) {
                bool on = (res >> i) & 1;

                if (ne == 16) {
                    m.b[i] = on ? 0xff : 0;
                } else {
                    m.w[i] = on ? 0xffff : 0;
                }
            }
        }
        sse_xmm_set(cpu, 0, m);
    }
    /* SDM vol. 2, 4.1.7 (and each page): CF = IntRes2 != 0, ZF/SF = the
     * second/first operand is shorter than the register, OF = IntRes2[0],
     * AF = PF = 0. */
    if (res) {
        fl |= RFLAGS_CF;
    }
    if (lb < ne) {
        fl |= RFLAGS_ZF;
    }
    if (la < ne) {
        fl |= RFLAGS_SF;
    }
    if (res & 1) {
        fl |= RFLAGS_OF;
    }
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, fl);
    return TCG_OK;
}

/* ---- dispatch ---- */

/* dst = f(dst, src, imm8): the operations of vec_op(). */
static enum tcg_status vec_form(struct tcg_cpu *cpu, const struct insn *in,
                                const struct iform *f)
{
    bool mmx = f->fl & FL_MMX;
    sse_vec d, s, x0;
    uint8_t imm = in->map == 3 || (in->map == 1 && (in->opcode == 0x70 || in->opcode == 0xc6))
                  ? sse_imm8(in) : 0;
    enum tcg_status st = rm_get(cpu, in, f, &s);

    if (st != TCG_OK) {
        return st;
    }
    d = reg_get(cpu, in, mmx);
    x0 = sse_xmm_get(cpu, 0);
    /* INSERTPS picks its source element only from a register */
    vec_op((enum iop)f->op, &d, &s, mmx ? 8 : 16, imm,
           f->op == I_INSERTPS && in->has_mem ? NULL : &x0);
    reg_set(cpu, in, mmx, &d);
    return TCG_OK;
}

static const struct iform *lookup(const struct insn *in)
{
    enum sse_prefix p = sse_prefix(in);

    switch (in->map) {
    case 1: return &map1[in->opcode][p];
    case 2: return &map2[in->opcode][p];
    case 3: return &map3[in->opcode][p];
    default: return NULL;
    }
}

static enum tcg_status run_form(struct tcg_cpu *cpu, const struct insn *in,
                                const struct iform *f)
{
    bool mmx = f->fl & FL_MMX;

    if (f->op < I__VEC_END) {
        return vec_form(cpu, in, f);
    }
    switch (f->op) {
    case I_STORE: return store(cpu, in, f);
    case I_MOVD_LOAD: return movd_load(cpu, in, mmx);
    case I_MOVD_STORE: return movd_store(cpu, in, mmx);
    case I_MOVQ_STORE: {
        /* 66 0F D6: a register destination has its high half zeroed */
        sse_vec v = sse_xmm_get(cpu, sse_reg(in));

        v.q[1] = 0;
        if (!in->has_mem) {
            sse_xmm_set(cpu, sse_rm(in), v);
            return TCG_OK;
        }
        return sse_write_rm(cpu, in, 8, false, &v);
    }
    case I_MOVSS: return movs_load(cpu, in, 4);
    case I_MOVSD: return movs_load(cpu, in, 8);
    case I_MOVSS_ST:
    case I_MOVSD_ST: {
        sse_vec v = sse_xmm_get(cpu, sse_reg(in));

        return sse_write_rm(cpu, in, f->msz, false, &v);
    }
    case I_MOVLPS: return movlh_load(cpu, in, false);
    case I_MOVHPS: return movlh_load(cpu, in, true);
    case I_MOVLPS_ST: return movlh_store(cpu, in, false);
    case I_MOVHPS_ST: return movlh_store(cpu, in, true);
    case I_MOVMSKPS:
    case I_MOVMSKPD:
    case I_PMOVMSKB:
        return movmsk(cpu, in, f);
    case I_MASKMOV: return maskmov(cpu, in, mmx);
    case I_MOVQ2DQ: {
        sse_vec v;

        memset(&v, 0, sizeof(v));
        v.q[0] = mm_get(cpu, mm_rm(in));
        sse_xmm_set(cpu, sse_reg(in), v);
        return TCG_OK;
    }
    case I_MOVDQ2Q:
        mm_set(cpu, mm_reg(in), sse_xmm_get(cpu, sse_rm(in)).q[0]);
        return TCG_OK;
    case I_PINSRW: return pinsrw(cpu, in, mmx);
    case I_PEXTRW: return pextrw(cpu, in, f);
    case I_PEXTRB:
    case I_PEXTRW_M:
    case I_PEXTRD:
    case I_EXTRACTPS:
        return pextr(cpu, in, (enum iop)f->op);
    case I_PINSRB:
    case I_PINSRD:
        return pinsr(cpu, in, (enum iop)f->op);
    case I_GRP71:
    case I_GRP72:
    case I_GRP73:
        return shift_imm(cpu, in, f);
    case I_PTEST: return ptest(cpu, in, f);
    case I_PCMPESTRM:
    case I_PCMPESTRI:
    case I_PCMPISTRM:
    case I_PCMPISTRI:
        return pcmpstr(cpu, in, f);
    default:
        return tcg_raise(cpu, EXC_UD);
    }
}

/* ---- which CPUID feature a form belongs to ---- */

/* CPUID.01H register and bit (SDM vol. 2A, CPUID, tables 3-10 and 3-11). */
enum sse_feature {
    FEAT_MMX, FEAT_SSE, FEAT_SSE2, FEAT_SSE3, FEAT_SSSE3, FEAT_SSE41, FEAT_SSE42,
    FEAT_PCLMUL,
};

static const struct { uint8_t reg, bit; } feature_bits[] = {
    [FEAT_MMX] = { 3, 23 }, [FEAT_SSE] = { 3, 25 }, [FEAT_SSE2] = { 3, 26 },
    [FEAT_SSE3] = { 2, 0 }, [FEAT_SSSE3] = { 2, 9 }, [FEAT_SSE41] = { 2, 19 },
    [FEAT_SSE42] = { 2, 20 }, [FEAT_PCLMUL] = { 2, 1 },
};

/*
 * The MMX-register forms SSE added (PSHUFW, PINSRW, PEXTRW, PMOVMSKB,
 * PMINUB, PMAXUB, PAVGB, PAVGW, PMULHUW, MOVNTQ, PMINSW, PMAXSW, PSADBW,
 * MASKMOVQ) and SSE2 added (PADDQ, PMULUDQ, PSUBQ); the rest of the 0F
 * MMX rows are MMX.  XMM forms without a prefix are SSE, with one SSE2
 * but the SSE3 moves (LDDQU, MOVSLDUP, MOVSHDUP, MOVDDUP).
 */
static enum sse_feature form_feature(const struct insn *in, const struct iform *f)
{
    static const uint8_t sse_mmx[] = { 0x70, 0xc4, 0xc5, 0xd7, 0xda, 0xde, 0xe0, 0xe3, 0xe4,
                                       0xe7, 0xea, 0xee, 0xf6, 0xf7 };
    enum sse_prefix p = sse_prefix(in);
    unsigned op = in->opcode;

    switch (in->map) {
    case 1:
        if (f->fl & FL_MMX) {
            if (op == 0xd4 || op == 0xf4 || op == 0xfb) {
                return FEAT_SSE2;
            }
            for (unsigned i = 0; i < sizeof(sse_mmx); i++) {
                if (sse_mmx[i] == op) {
                    return FEAT_SSE;
                }
            }
            return FEAT_MMX;
        }
        if ((p == SSE_F2 && op == 0xf0) || (p == SSE_F3 && (op == 0x12 || op == 0x16)) ||
            (p == SSE_F2 && op == 0x12)) {
            return FEAT_SSE3;
        }
        return p == SSE_NP ? FEAT_SSE : FEAT_SSE2;
    case 2:
        if (op <= 0x0b || (op >= 0x1c && op <= 0x1e)) {
            return FEAT_SSSE3;
        }
        return op == 0x37 ? FEAT_SSE42 : FEAT_SSE41;
    default:
        if (op == 0x0f) {
            return FEAT_SSSE3;
        }
        if (op == 0x44) {
            return FEAT_PCLMUL;
        }
        return (op >= 0x60 && op <= 0x63) ? FEAT_SSE42 : FEAT_SSE41;
    }
}

/*
 * Called by exec_sse before the CR0/CR4 checks: 0 when in is not one of
 * this file's forms, 1 when it is and may run, -1 when it is #UD whatever
 * the control registers say: a feature the guest's CPUID does not offer
 * (SDM vol. 2, 2.4: "if any corresponding CPUID feature flag is 0"), or a
 * register form of a memory-only instruction or the other way round.
 */
int tcg_sse_int_check(const struct tcg_cpu *cpu, const struct insn *in)
{
    const struct iform *f = lookup(in);
    enum sse_feature ft;

    if (!f || f->op == I_NONE) {
        return 0;
    }
    if (((f->fl & FL_MEM) && !in->has_mem) || ((f->fl & FL_REG) && in->has_mem)) {
        return -1;
    }
    ft = form_feature(in, f);
    if (!tcg_cpuid_has(cpu, 1, feature_bits[ft].reg, feature_bits[ft].bit)) {
        return -1;
    }
    return 1;
}

/*
 * SDM vol. 3, 13.1.4: CR4.OSFXSR = 0 "does not affect the PSHUFW, MOVNTQ,
 * MOVNTI, PAUSE, ..." instructions, so every other form on MMX registers
 * that is an SSE instruction (SSE, SSE2 or SSSE3 by its CPUID feature) is
 * #UD; the MMX instructions proper are not SSE instructions.  (Vol. 3,
 * 6.15 lists more exempt forms; see exec-sse.c's sse_check for why 13.1.4
 * wins here.)
 */
bool tcg_sse_int_mmx_needs_osfxsr(const struct insn *in)
{
    const struct iform *f = lookup(in);

    if (!f || f->op == I_NONE || !(f->fl & FL_MMX)) {
        return false;
    }
    if (in->map == 1 && (in->opcode == 0x70 || in->opcode == 0xe7)) {
        return false;                   /* PSHUFW, MOVNTQ */
    }
    return form_feature(in, f) != FEAT_MMX;
}

bool tcg_sse_int(struct tcg_cpu *cpu, const struct insn *in, enum tcg_status *st)
{
    const struct iform *f = lookup(in);

    if (!f || f->op == I_NONE) {
        return false;
    }
    if (((f->fl & FL_MEM) && !in->has_mem) || ((f->fl & FL_REG) && in->has_mem)) {
        *st = tcg_raise(cpu, EXC_UD);
        return true;
    }
    *st = run_form(cpu, in, f);
    return true;
}
