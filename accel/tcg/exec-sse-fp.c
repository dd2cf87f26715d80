/*
 * SSE, SSE2, SSE3 and SSE4.1 floating point on the software CPU (sse.h):
 * arithmetic, MIN/MAX, SQRT, RCP/RSQRT, compares, COMIS/UCOMIS, every
 * conversion, ADDSUB/HADD/HSUB, ROUND and DPPS/DPPD, legacy encodings.
 *
 * Every element operation runs as the host's own scalar SSE instruction
 * with the guest's rounding control, DAZ and FTZ in the host MXCSR and all
 * six exception masks set, so the host never traps; the host MXCSR is
 * saved and restored inside the same asm statement, so no other host code
 * runs under the guest's modes.  That gives the architectural results,
 * NaN rules and masked-exception flags without a software float library.
 * RCPPS/RSQRTPS return what the host's approximation tables give.
 *
 * With every exception masked (the usual MXCSR) a packed form runs as the
 * host's packed instruction; otherwise element by element, since the
 * per-element flags are what the unmasked-exception rules need.  With
 * an exception unmasked (SDM vol. 1, 11.5.1-11.5.3), the pre-computation
 * conditions of all elements (IE, DE, ZE) are looked at first: if one of
 * them is unmasked, only those flags are set and the instruction faults.
 * Otherwise the post-computation flags are added, where an unmasked OE or
 * UE follows the trap-enabled rules of IEEE 754: UE means "tiny", exact or
 * not, and PE then says whether the result rounded to the destination's
 * precision with an unbounded exponent was inexact (SDM vol. 1, 11.5.2.4,
 * 11.5.2.5; measured on the host, see tests/unit/test-tcg-ssefp.c).  On a
 * fault the destination is not written, and it is #XM with CR4.OSXMMEXCPT,
 * else #UD.  DPPS/DPPD run as the multiplies and adds the SDM lists, each
 * rounded, in stages: intermediate results raise their own flags, and an
 * unmasked exception in one stage ends the instruction (see fp_dot).
 *
 * The MMX-register forms (CVTPI2PS/PD xmm, mm and CVT[T]PS2PI/PD2PI) first
 * check for a pending x87 exception (#MF) and, once their memory operand
 * is read, switch the x87 to MMX state (TOP = 0, all registers valid),
 * even when the SIMD exception faults afterwards, as the host does;
 * CVTPI2PS/PD with a memory source do neither.
 *
 * A form whose feature (SSE, SSE2, SSE3, SSE4.1) the guest's CPUID lacks
 * is #UD (tcg_sse_fp_check).
 *
 * Threads: runs on the vCPU thread; the host MXCSR it changes is that
 * thread's own and is restored before each asm statement ends.
 */
#include <string.h>
#include <emmintrin.h>

#include "accel/tcg/sse.h"
#include "accel/tcg/x87-float.h"

#define MXCSR_FLAGS 0x003fu
#define MXCSR_PRE (MXCSR_IE | MXCSR_DE | MXCSR_ZE)
#define MXCSR_RC (3u << MXCSR_RC_SHIFT)
#define FSW_ES 0x0080u
#define FSW_TOP 0x3800u

/* ---- host kernels: one scalar instruction on element 0 ---- */

/*
 * A kernel runs one host instruction with csr in the host MXCSR: a is the
 * destination's element (unused by the one-source forms), b the source;
 * it returns the result bits and the MXCSR flags raised in *fl.
 */
typedef uint64_t (*fp_kernel)(uint64_t a, uint64_t b, uint32_t csr, uint32_t *fl);

#define FP_ENTER "stmxcsr %[save]\n\tldmxcsr %[csr]\n\t"
#define FP_LEAVE "\n\tstmxcsr %[out]\n\tldmxcsr %[save]"

/* x = x insn y: the two-source arithmetic forms (addss, cmpss $n, ...). */
#define K_BIN(name, insn) \
    static uint64_t name(uint64_t a, uint64_t b, uint32_t csr, uint32_t *fl) \
    { \
        __m128i x = _mm_cvtsi64_si128((long long)a); \
        __m128i y = _mm_cvtsi64_si128((long long)b); \
        uint32_t save, out; \
        __asm__ volatile(FP_ENTER insn " %[y], %[x]" FP_LEAVE \
                         : [x] "+x"(x), [save] "=m"(save), [out] "=m"(out) \
                         : [y] "x"(y), [csr] "m"(csr)); \
        *fl = out & MXCSR_FLAGS; \
        return (uint64_t)_mm_cvtsi128_si64(x); \
    }

/* x = insn(y): the one-source forms (sqrtss, cvtss2sd, roundss $4, ...). */
#define K_UN(name, insn) \
    static uint64_t name(uint64_t a, uint64_t b, uint32_t csr, uint32_t *fl) \
    { \
        __m128i x = _mm_setzero_si128(); \
        __m128i y = _mm_cvtsi64_si128((long long)b); \
        uint32_t save, out; \
        (void)a; \
        __asm__ volatile(FP_ENTER insn " %[y], %[x]" FP_LEAVE \
                         : [x] "+x"(x), [save] "=m"(save), [out] "=m"(out) \
                         : [y] "x"(y), [csr] "m"(csr)); \
        *fl = out & MXCSR_FLAGS; \
        return (uint64_t)_mm_cvtsi128_si64(x); \
    }

/* Integer (in a general register, 32 or 64 bits by sz) to floating point. */
#define K_I2F(name, insn, sz) \
    static uint64_t name(uint64_t a, uint64_t b, uint32_t csr, uint32_t *fl) \
    { \
        __m128i x = _mm_setzero_si128(); \
        uint32_t save, out; \
        (void)a; \
        __asm__ volatile(FP_ENTER insn " %" sz "[y], %[x]" FP_LEAVE \
                         : [x] "+x"(x), [save] "=m"(save), [out] "=m"(out) \
                         : [y] "r"(b), [csr] "m"(csr)); \
        *fl = out & MXCSR_FLAGS; \
        return (uint64_t)_mm_cvtsi128_si64(x); \
    }

/* Floating point to an integer register (32 bits zero-extended, or 64). */
#define K_F2I(name, insn, sz) \
    static uint64_t name(uint64_t a, uint64_t b, uint32_t csr, uint32_t *fl) \
    { \
        __m128i y = _mm_cvtsi64_si128((long long)b); \
        uint64_t r = 0; \
        uint32_t save, out; \
        (void)a; \
        __asm__ volatile(FP_ENTER insn " %[y], %" sz "[r]" FP_LEAVE \
                         : [r] "+r"(r), [save] "=m"(save), [out] "=m"(out) \
                         : [y] "x"(y), [csr] "m"(csr)); \
        *fl = out & MXCSR_FLAGS; \
        return r; \
    }

/* COMISS and friends: returns the ZF/PF/CF bits of RFLAGS. */
#define K_COMI(name, insn) \
    static uint64_t name(uint64_t a, uint64_t b, uint32_t csr, uint32_t *fl) \
    { \
        __m128i x = _mm_cvtsi64_si128((long long)a); \
        __m128i y = _mm_cvtsi64_si128((long long)b); \
        uint8_t z, p, c; \
        uint32_t save, out; \
        __asm__ volatile(FP_ENTER insn " %[y], %[x]\n\t" \
                         "setz %[z]\n\tsetp %[p]\n\tsetc %[c]" FP_LEAVE \
                         : [z] "=q"(z), [p] "=q"(p), [c] "=q"(c), [save] "=m"(save), \
                           [out] "=m"(out) \
                         : [x] "x"(x), [y] "x"(y), [csr] "m"(csr) \
                         : "cc"); \
        *fl = out & MXCSR_FLAGS; \
        return (z ? RFLAGS_ZF : 0) | (p ? RFLAGS_PF : 0) | (c ? RFLAGS_CF : 0); \
    }

K_BIN(k_addss, "addss")
K_BIN(k_subss, "subss")
K_BIN(k_mulss, "mulss")
K_BIN(k_divss, "divss")
K_BIN(k_minss, "minss")
K_BIN(k_maxss, "maxss")
K_BIN(k_addsd, "addsd")
K_BIN(k_subsd, "subsd")
K_BIN(k_mulsd, "mulsd")
K_BIN(k_divsd, "divsd")
K_BIN(k_minsd, "minsd")
K_BIN(k_maxsd, "maxsd")
K_BIN(k_cmpss0, "cmpss $0,")
K_BIN(k_cmpss1, "cmpss $1,")
K_BIN(k_cmpss2, "cmpss $2,")
K_BIN(k_cmpss3, "cmpss $3,")
K_BIN(k_cmpss4, "cmpss $4,")
K_BIN(k_cmpss5, "cmpss $5,")
K_BIN(k_cmpss6, "cmpss $6,")
K_BIN(k_cmpss7, "cmpss $7,")
K_BIN(k_cmpsd0, "cmpsd $0,")
K_BIN(k_cmpsd1, "cmpsd $1,")
K_BIN(k_cmpsd2, "cmpsd $2,")
K_BIN(k_cmpsd3, "cmpsd $3,")
K_BIN(k_cmpsd4, "cmpsd $4,")
K_BIN(k_cmpsd5, "cmpsd $5,")
K_BIN(k_cmpsd6, "cmpsd $6,")
K_BIN(k_cmpsd7, "cmpsd $7,")
K_UN(k_sqrtss, "sqrtss")
K_UN(k_sqrtsd, "sqrtsd")
K_UN(k_rcpss, "rcpss")
K_UN(k_rsqrtss, "rsqrtss")
/* imm8 bit 2: the rounding mode comes from MXCSR.RC, which fp_round sets */
K_UN(k_roundss, "roundss $4,")
K_UN(k_roundsd, "roundsd $4,")
K_UN(k_cvtss2sd, "cvtss2sd")
K_UN(k_cvtsd2ss, "cvtsd2ss")
K_I2F(k_cvtsi2ss32, "cvtsi2ssl", "k")
K_I2F(k_cvtsi2ss64, "cvtsi2ssq", "q")
K_I2F(k_cvtsi2sd32, "cvtsi2sdl", "k")
K_I2F(k_cvtsi2sd64, "cvtsi2sdq", "q")
K_F2I(k_cvtss2si32, "cvtss2si", "k")
K_F2I(k_cvtss2si64, "cvtss2si", "q")
K_F2I(k_cvttss2si32, "cvttss2si", "k")
K_F2I(k_cvttss2si64, "cvttss2si", "q")
K_F2I(k_cvtsd2si32, "cvtsd2si", "k")
K_F2I(k_cvtsd2si64, "cvtsd2si", "q")
K_F2I(k_cvttsd2si32, "cvttsd2si", "k")
K_F2I(k_cvttsd2si64, "cvttsd2si", "q")
K_COMI(k_comiss, "comiss")
K_COMI(k_ucomiss, "ucomiss")
K_COMI(k_comisd, "comisd")
K_COMI(k_ucomisd, "ucomisd")

/*
 * The packed forms whole, for the common case of every exception masked,
 * where per-element flags are not needed: one MXCSR switch instead of one
 * per element.
 */
typedef sse_vec (*fp_pkernel)(sse_vec a, sse_vec b, uint32_t csr, uint32_t *fl);

#define K_PACK(name, insn) \
    static sse_vec name(sse_vec a, sse_vec b, uint32_t csr, uint32_t *fl) \
    { \
        __m128i x = _mm_loadu_si128((const __m128i *)a.b); \
        __m128i y = _mm_loadu_si128((const __m128i *)b.b); \
        uint32_t save, out; \
        __asm__ volatile(FP_ENTER insn " %[y], %[x]" FP_LEAVE \
                         : [x] "+x"(x), [save] "=m"(save), [out] "=m"(out) \
                         : [y] "x"(y), [csr] "m"(csr)); \
        *fl = out & MXCSR_FLAGS; \
        _mm_storeu_si128((__m128i *)a.b, x); \
        return a; \
    }

K_PACK(k_addps, "addps")
K_PACK(k_subps, "subps")
K_PACK(k_mulps, "mulps")
K_PACK(k_divps, "divps")
K_PACK(k_minps, "minps")
K_PACK(k_maxps, "maxps")
K_PACK(k_sqrtps, "sqrtps")
K_PACK(k_rcpps, "rcpps")
K_PACK(k_rsqrtps, "rsqrtps")
K_PACK(k_addpd, "addpd")
K_PACK(k_subpd, "subpd")
K_PACK(k_mulpd, "mulpd")
K_PACK(k_divpd, "divpd")
K_PACK(k_minpd, "minpd")
K_PACK(k_maxpd, "maxpd")
K_PACK(k_sqrtpd, "sqrtpd")
K_PACK(k_cmpps0, "cmpps $0,")
K_PACK(k_cmpps1, "cmpps $1,")
K_PACK(k_cmpps2, "cmpps $2,")
K_PACK(k_cmpps3, "cmpps $3,")
K_PACK(k_cmpps4, "cmpps $4,")
K_PACK(k_cmpps5, "cmpps $5,")
K_PACK(k_cmpps6, "cmpps $6,")
K_PACK(k_cmpps7, "cmpps $7,")
K_PACK(k_cmppd0, "cmppd $0,")
K_PACK(k_cmppd1, "cmppd $1,")
K_PACK(k_cmppd2, "cmppd $2,")
K_PACK(k_cmppd3, "cmppd $3,")
K_PACK(k_cmppd4, "cmppd $4,")
K_PACK(k_cmppd5, "cmppd $5,")
K_PACK(k_cmppd6, "cmppd $6,")
K_PACK(k_cmppd7, "cmppd $7,")
K_PACK(k_addsubps, "addsubps")
K_PACK(k_addsubpd, "addsubpd")
K_PACK(k_haddps, "haddps")
K_PACK(k_haddpd, "haddpd")
K_PACK(k_hsubps, "hsubps")
K_PACK(k_hsubpd, "hsubpd")
K_PACK(k_cvtps2pd, "cvtps2pd")
K_PACK(k_cvtpd2ps, "cvtpd2ps")
K_PACK(k_cvtdq2ps, "cvtdq2ps")
K_PACK(k_cvtps2dq, "cvtps2dq")
K_PACK(k_cvttps2dq, "cvttps2dq")
K_PACK(k_cvtdq2pd, "cvtdq2pd")
K_PACK(k_cvtpd2dq, "cvtpd2dq")
K_PACK(k_cvttpd2dq, "cvttpd2dq")

/* ---- element operations and the exception rules ---- */

/* What an operation may raise beyond the host's masked flags. */
enum fp_arith {
    AR_NONE,    /* no overflow/underflow possible */
    AR_ADD, AR_SUB, AR_MUL, AR_DIV,
    AR_CVT,     /* binary64 -> binary32 */
};

struct fp_op {
    fp_kernel fn;
    uint8_t arith;      /* enum fp_arith */
    uint8_t dbl;        /* the result (and, but for AR_CVT, the inputs) is binary64 */
    fp_pkernel packed;  /* the packed form on all elements, if there is one */
};

#define OP(name, k, ar, d) static const struct fp_op name = { k, ar, d, NULL }
#define OPP(name, k, ar, d, pk) static const struct fp_op name = { k, ar, d, pk }
OPP(op_addss, k_addss, AR_ADD, 0, k_addps);
OPP(op_subss, k_subss, AR_SUB, 0, k_subps);
OPP(op_mulss, k_mulss, AR_MUL, 0, k_mulps);
OPP(op_divss, k_divss, AR_DIV, 0, k_divps);
OPP(op_minss, k_minss, AR_NONE, 0, k_minps);
OPP(op_maxss, k_maxss, AR_NONE, 0, k_maxps);
OPP(op_sqrtss, k_sqrtss, AR_NONE, 0, k_sqrtps);
OPP(op_rcpss, k_rcpss, AR_NONE, 0, k_rcpps);
OPP(op_rsqrtss, k_rsqrtss, AR_NONE, 0, k_rsqrtps);
OP(op_roundss, k_roundss, AR_NONE, 0);
OPP(op_addsd, k_addsd, AR_ADD, 1, k_addpd);
OPP(op_subsd, k_subsd, AR_SUB, 1, k_subpd);
OPP(op_mulsd, k_mulsd, AR_MUL, 1, k_mulpd);
OPP(op_divsd, k_divsd, AR_DIV, 1, k_divpd);
OPP(op_minsd, k_minsd, AR_NONE, 1, k_minpd);
OPP(op_maxsd, k_maxsd, AR_NONE, 1, k_maxpd);
OPP(op_sqrtsd, k_sqrtsd, AR_NONE, 1, k_sqrtpd);
OP(op_roundsd, k_roundsd, AR_NONE, 1);
OP(op_cvtss2sd, k_cvtss2sd, AR_NONE, 1);
OP(op_cvtsd2ss, k_cvtsd2ss, AR_CVT, 0);
OP(op_cvtsi2ss32, k_cvtsi2ss32, AR_NONE, 0);
OP(op_cvtsi2ss64, k_cvtsi2ss64, AR_NONE, 0);
OP(op_cvtsi2sd32, k_cvtsi2sd32, AR_NONE, 1);
OP(op_cvtsi2sd64, k_cvtsi2sd64, AR_NONE, 1);
OP(op_cvtss2si32, k_cvtss2si32, AR_NONE, 0);
OP(op_cvtss2si64, k_cvtss2si64, AR_NONE, 0);
OP(op_cvttss2si32, k_cvttss2si32, AR_NONE, 0);
OP(op_cvttss2si64, k_cvttss2si64, AR_NONE, 0);
OP(op_cvtsd2si32, k_cvtsd2si32, AR_NONE, 1);
OP(op_cvtsd2si64, k_cvtsd2si64, AR_NONE, 1);
OP(op_cvttsd2si32, k_cvttsd2si32, AR_NONE, 1);
OP(op_cvttsd2si64, k_cvttsd2si64, AR_NONE, 1);
OP(op_comiss, k_comiss, AR_NONE, 0);
OP(op_ucomiss, k_ucomiss, AR_NONE, 0);
OP(op_comisd, k_comisd, AR_NONE, 1);
OP(op_ucomisd, k_ucomisd, AR_NONE, 1);

#define CMP_OPS(n) \
    { { k_cmpss##n, AR_NONE, 0, k_cmpps##n }, { k_cmpsd##n, AR_NONE, 1, k_cmppd##n } }

static const struct fp_op op_cmp[8][2] = {
    CMP_OPS(0), CMP_OPS(1), CMP_OPS(2), CMP_OPS(3),
    CMP_OPS(4), CMP_OPS(5), CMP_OPS(6), CMP_OPS(7),
};

/* One instruction's view of MXCSR and the flags its elements raised. */
struct fp_env {
    uint32_t mxcsr;     /* the guest's */
    uint32_t host_csr;  /* what the kernels run with */
    uint32_t unmasked;  /* exception flags whose mask bit is clear */
    uint32_t flags;     /* raised by the current stage, after the unmasked-OE/UE rules */
    uint32_t done;      /* what the finished stages leave in MXCSR */
    bool fault;         /* a stage raised an unmasked exception */
};

/*
 * The guest MXCSR bits the host may load: LDMXCSR faults on a bit outside
 * the host's MXCSR_MASK (FXSAVE bytes 28-31), and the earliest x86-64
 * parts lack DAZ.  There DAZ is dropped rather than crash the host.
 */
static uint32_t fp_host_bits(void)
{
    static uint32_t bits;   /* 0: not known yet */
    uint32_t b = __atomic_load_n(&bits, __ATOMIC_RELAXED);

    if (!b) {
        uint8_t area[512] __attribute__((aligned(16)));
        uint32_t mask;

        memset(area, 0, sizeof(area));
        __asm__ volatile("fxsave %0" : "=m"(area));
        memcpy(&mask, area + 28, 4);
        b = MXCSR_RC | MXCSR_FTZ;
        if (mask & MXCSR_DAZ) {
            b |= MXCSR_DAZ;
        }
        __atomic_store_n(&bits, b, __ATOMIC_RELAXED);
    }
    return b;
}

static void fp_env_init(struct fp_env *e, uint32_t mxcsr)
{
    e->mxcsr = mxcsr;
    e->unmasked = ~(mxcsr >> 7) & MXCSR_FLAGS;
    e->host_csr = (mxcsr & fp_host_bits()) | MXCSR_MASKS;
    /* FTZ applies only while underflow is masked (SDM vol. 1, 10.2.3.3);
     * with UE unmasked a tiny result faults, and its unflushed value tells
     * tiny from zero below */
    if (e->unmasked & MXCSR_UE) {
        e->host_csr &= ~MXCSR_FTZ;
    }
    e->flags = 0;
    e->done = 0;
    e->fault = false;
}

static bool fp_is_denormal(uint64_t v, bool dbl)
{
    if (dbl) {
        return !(v & 0x7ff0000000000000ull) && (v & 0x000fffffffffffffull);
    }
    return !(v & 0x7f800000u) && (v & 0x007fffffu);
}

/* An operand as the x87 core takes it; DAZ reads a denormal as zero. */
static struct x87_float fp_to_ext(struct x87_ctx *x, uint64_t v, bool dbl, bool daz)
{
    if (daz && fp_is_denormal(v, dbl)) {
        v &= dbl ? 1ull << 63 : 1u << 31;
    }
    return dbl ? x87_from_f64(x, v) : x87_from_f32(x, (uint32_t)v);
}

/*
 * Whether a + b (etc.) rounded to the destination's precision, with the
 * exponent unbounded, is inexact: the x87 core with its precision control
 * at 24 or 53 bits computes exactly that, its exponent range being wide
 * enough for any binary32/binary64 product or quotient.
 */
static bool fp_inexact_unbounded(const struct fp_env *e, const struct fp_op *op,
                                 uint64_t a, uint64_t b)
{
    bool daz = e->mxcsr & MXCSR_DAZ;
    bool in_dbl = op->dbl || op->arith == AR_CVT;
    uint16_t rc = (uint16_t)((e->mxcsr >> MXCSR_RC_SHIFT) & 3);
    struct x87_ctx x;
    struct x87_float fa, fb;

    x87_ctx_init(&x, (uint16_t)((op->dbl ? X87_CW_PC_53 : X87_CW_PC_24) |
                                (rc << X87_CW_RC_SHIFT) | 0x3f));
    fa = fp_to_ext(&x, a, in_dbl, daz);
    fb = fp_to_ext(&x, b, in_dbl, daz);
    x.sw = 0;
    switch (op->arith) {
    case AR_ADD:
        x87_add(&x, fa, fb);
        break;
    case AR_SUB:
        x87_sub(&x, fa, fb);
        break;
    case AR_MUL:
        x87_mul(&x, fa, fb);
        break;
    case AR_DIV:
        x87_div(&x, fa, fb);
        break;
    default:
        x87_mul(&x, fb, x87_from_int(1));
        break;
    }
    return x.sw & X87_SW_PE;
}

/*
 * One element operation.  The host ran it with UE and OE masked; when the
 * guest unmasks them, underflow is "tiny" whether exact or not (a tiny
 * exact result is a denormal one) and PE is the unbounded-exponent
 * inexactness, as the hardware reports them to the handler.
 */
static uint64_t fp_step(struct fp_env *e, const struct fp_op *op, uint64_t a, uint64_t b)
{
    uint32_t fl;
    uint64_t r = op->fn(a, b, e->host_csr, &fl);

    if (op->arith != AR_NONE && (e->unmasked & (MXCSR_OE | MXCSR_UE))) {
        if ((e->unmasked & MXCSR_UE) && fp_is_denormal(r, op->dbl)) {
            fl |= MXCSR_UE;
        }
        if (fl & e->unmasked & (MXCSR_OE | MXCSR_UE)) {
            fl &= ~MXCSR_PE;
            if (fp_inexact_unbounded(e, op, a, b)) {
                fl |= MXCSR_PE;
            }
        }
    }
    e->flags |= fl;
    return r;
}

/*
 * Ends a stage of the instruction (all of it but for DPPS/DPPD, whose
 * multiplies and adds are stages the host reports one after the other):
 * an unmasked pre-computation exception in any element stops it before
 * the post-computation checks (SDM vol. 1, 11.5.3).  False when it faults.
 */
static bool fp_stage(struct fp_env *e)
{
    uint32_t pre = e->flags & MXCSR_PRE;
    uint32_t set = (pre & e->unmasked) ? pre : e->flags;

    e->done |= set;
    e->flags = 0;
    if (set & e->unmasked) {
        e->fault = true;
    }
    return !e->fault;
}

/* Sets the flags the instruction raised in MXCSR; TCG_OK: write the result. */
static enum tcg_status fp_commit(struct tcg_cpu *cpu, struct fp_env *e)
{
    if (!e->fault) {
        fp_stage(e);
    }
    cpu->st.fpu.mxcsr |= e->done;
    if (e->fault) {
        /* SDM vol. 3, 2.5: CR4.OSXMMEXCPT clear turns #XM into #UD */
        return tcg_raise(cpu, (cpu->st.cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD);
    }
    return TCG_OK;
}

/* ---- operand helpers ---- */

/* The r/m source: a 16-byte memory operand must be aligned (#GP(0)). */
static enum tcg_status fp_src(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                              sse_vec *v)
{
    return sse_read_rm(cpu, in, size, size == 16, v);
}

static uint64_t fp_elem(const sse_vec *v, unsigned i, unsigned w)
{
    return w == 8 ? v->q[i & 1] : v->d[i & 3];
}

static void fp_set_elem(sse_vec *v, unsigned i, unsigned w, uint64_t x)
{
    if (w == 8) {
        v->q[i & 1] = x;
    } else {
        v->d[i & 3] = (uint32_t)x;
    }
}

/*
 * An instruction that touches an MMX register takes a pending unmasked x87
 * exception first (#MF with CR0.NE; SDM vol. 3, table 23-5) ...
 */
static enum tcg_status fp_mmx_check(struct tcg_cpu *cpu)
{
    if ((cpu->st.fpu.fsw & FSW_ES) && (cpu->st.cr0 & CR0_NE)) {
        return tcg_raise(cpu, EXC_MF);
    }
    return TCG_OK;
}

/* ... and once its operands are read, the x87 switches to MMX state
 * (SDM vol. 1, 9.5.1): TOP = 0, all registers valid.  A faulting memory
 * operand leaves the x87 state alone; a SIMD exception does not (host). */
static void fp_mmx_enter(struct tcg_cpu *cpu)
{
    cpu->st.fpu.fsw &= (uint16_t)~FSW_TOP;
    cpu->st.fpu.ftw = 0xff;
}

static void fp_mmx_write(struct tcg_cpu *cpu, unsigned n, uint64_t v)
{
    cpu->st.fpu.st[n & 7].mant = v;
    cpu->st.fpu.st[n & 7].exp = 0xffff;
}

/* ---- the forms ---- */

/* Element shapes by mandatory prefix: PS, PD, SS, SD. */
struct fp_shape {
    uint8_t lanes, w, size;
};

static const struct fp_shape fp_shapes[4] = {
    [SSE_NP] = { 4, 4, 16 },
    [SSE_66] = { 2, 8, 16 },
    [SSE_F3] = { 1, 4, 4 },
    [SSE_F2] = { 1, 8, 8 },
};

/*
 * dest[i] = op(dest[i], src[i]) for each element of the shape; a scalar
 * form keeps the destination's other elements.
 */
static enum tcg_status fp_lanes(struct tcg_cpu *cpu, const struct insn *in,
                                const struct fp_op *op)
{
    const struct fp_shape *sh = &fp_shapes[sse_prefix(in)];
    unsigned reg = sse_reg(in);
    sse_vec d = sse_xmm_get(cpu, reg), s, r = d;
    struct fp_env e;
    enum tcg_status st = fp_src(cpu, in, sh->size, &s);

    if (st != TCG_OK) {
        return st;
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    if (sh->lanes > 1 && op->packed && !e.unmasked) {
        r = op->packed(d, s, e.host_csr, &e.flags);
    } else {
        for (unsigned i = 0; i < sh->lanes; i++) {
            fp_set_elem(&r, i, sh->w,
                        fp_step(&e, op, fp_elem(&d, i, sh->w), fp_elem(&s, i, sh->w)));
        }
    }
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        sse_xmm_set(cpu, reg, r);
    }
    return st;
}

/* 0F 51..5F (not 5A/5B) and C2 by opcode: the single and double ops. */
static const struct fp_op *fp_arith_op(const struct insn *in, bool dbl)
{
    switch (in->opcode) {
    case 0x51:
        return dbl ? &op_sqrtsd : &op_sqrtss;
    case 0x52:
        return dbl ? NULL : &op_rsqrtss;
    case 0x53:
        return dbl ? NULL : &op_rcpss;
    case 0x58:
        return dbl ? &op_addsd : &op_addss;
    case 0x59:
        return dbl ? &op_mulsd : &op_mulss;
    case 0x5c:
        return dbl ? &op_subsd : &op_subss;
    case 0x5d:
        return dbl ? &op_minsd : &op_minss;
    case 0x5e:
        return dbl ? &op_divsd : &op_divss;
    case 0x5f:
        return dbl ? &op_maxsd : &op_maxss;
    case 0xc2:
        /* the legacy encodings use imm8[2:0] only (SDM vol. 2, CMPPS) */
        return &op_cmp[sse_imm8(in) & 7][dbl];
    default:
        return NULL;
    }
}

/* ADDSUBPS/PD (D0): even elements subtract, odd ones add. */
static enum tcg_status fp_addsub(struct tcg_cpu *cpu, const struct insn *in, bool dbl)
{
    unsigned reg = sse_reg(in), w = dbl ? 8 : 4, n = dbl ? 2 : 4;
    sse_vec d = sse_xmm_get(cpu, reg), s, r = d;
    struct fp_env e;
    enum tcg_status st = fp_src(cpu, in, 16, &s);

    if (st != TCG_OK) {
        return st;
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    if (!e.unmasked) {
        r = (dbl ? k_addsubpd : k_addsubps)(d, s, e.host_csr, &e.flags);
    } else {
        for (unsigned i = 0; i < n; i++) {
            const struct fp_op *op = (i & 1) ? (dbl ? &op_addsd : &op_addss)
                                             : (dbl ? &op_subsd : &op_subss);

            fp_set_elem(&r, i, w, fp_step(&e, op, fp_elem(&d, i, w), fp_elem(&s, i, w)));
        }
    }
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        sse_xmm_set(cpu, reg, r);
    }
    return st;
}

/* HADDPS/PD, HSUBPS/PD (7C/7D): pairs of the destination, then of the source. */
static enum tcg_status fp_horiz(struct tcg_cpu *cpu, const struct insn *in, bool dbl, bool sub)
{
    unsigned reg = sse_reg(in), w = dbl ? 8 : 4, n = dbl ? 2 : 4;
    const struct fp_op *op = sub ? (dbl ? &op_subsd : &op_subss) : (dbl ? &op_addsd : &op_addss);
    sse_vec d = sse_xmm_get(cpu, reg), s, r = d;
    struct fp_env e;
    enum tcg_status st = fp_src(cpu, in, 16, &s);

    if (st != TCG_OK) {
        return st;
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    if (!e.unmasked) {
        static const fp_pkernel k[2][2] = {
            { k_haddps, k_hsubps }, { k_haddpd, k_hsubpd },
        };

        r = k[dbl][sub](d, s, e.host_csr, &e.flags);
    } else {
        for (unsigned i = 0; i < n; i++) {
            const sse_vec *v = i < n / 2 ? &d : &s;
            unsigned j = (i % (n / 2)) * 2;

            fp_set_elem(&r, i, w, fp_step(&e, op, fp_elem(v, j, w), fp_elem(v, j + 1, w)));
        }
    }
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        sse_xmm_set(cpu, reg, r);
    }
    return st;
}

/*
 * DPPS/DPPD (66 0F 3A 40/41): the products imm8[7:4] selects (the others
 * are +0.0), summed pairwise as the SDM's operation lists them, the sum
 * going to the elements imm8[3:0] selects and zero elsewhere.  The
 * multiplies, the first adds and the last add are stages: an unmasked
 * exception in one ends the instruction with the flags of the stages so
 * far (a denormal product raising DE in the add is not reached when the
 * multiply already faulted; measured on the host).
 */
static enum tcg_status fp_dot(struct tcg_cpu *cpu, const struct insn *in, bool dbl)
{
    unsigned reg = sse_reg(in), w = dbl ? 8 : 4, n = dbl ? 2 : 4;
    const struct fp_op *mul = dbl ? &op_mulsd : &op_mulss;
    const struct fp_op *add = dbl ? &op_addsd : &op_addss;
    uint8_t imm = sse_imm8(in);
    sse_vec d = sse_xmm_get(cpu, reg), s, r;
    uint64_t p[4] = { 0, 0, 0, 0 }, sum;
    struct fp_env e;
    enum tcg_status st = fp_src(cpu, in, 16, &s);

    if (st != TCG_OK) {
        return st;
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    for (unsigned i = 0; i < n; i++) {
        if (imm & (0x10 << i)) {
            p[i] = fp_step(&e, mul, fp_elem(&d, i, w), fp_elem(&s, i, w));
        }
    }
    sum = 0;
    if (fp_stage(&e)) {
        sum = fp_step(&e, add, p[0], p[1]);
        if (!dbl) {
            uint64_t hi = fp_step(&e, add, p[2], p[3]);

            if (fp_stage(&e)) {
                sum = fp_step(&e, add, sum, hi);
            }
        }
    }
    memset(&r, 0, sizeof(r));
    for (unsigned i = 0; i < n; i++) {
        if (imm & (1 << i)) {
            fp_set_elem(&r, i, w, sum);
        }
    }
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        sse_xmm_set(cpu, reg, r);
    }
    return st;
}

/*
 * ROUNDPS/PD/SS/SD (66 0F 3A 08..0B): imm8[1:0] is the rounding mode
 * unless imm8[2] says MXCSR.RC; imm8[3] suppresses the precision exception
 * (SDM vol. 2, ROUNDPS).
 */
static enum tcg_status fp_round(struct tcg_cpu *cpu, const struct insn *in)
{
    static const struct fp_shape shapes[4] = {
        { 4, 4, 16 }, { 2, 8, 16 }, { 1, 4, 4 }, { 1, 8, 8 },
    };
    const struct fp_shape *sh = &shapes[in->opcode & 3];
    const struct fp_op *op = sh->w == 8 ? &op_roundsd : &op_roundss;
    uint8_t imm = sse_imm8(in);
    unsigned reg = sse_reg(in);
    sse_vec d = sse_xmm_get(cpu, reg), s, r = d;
    struct fp_env e;
    enum tcg_status st = fp_src(cpu, in, sh->size, &s);

    if (st != TCG_OK) {
        return st;
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    if (!(imm & 4)) {
        e.host_csr = (e.host_csr & ~MXCSR_RC) | ((imm & 3u) << MXCSR_RC_SHIFT);
    }
    for (unsigned i = 0; i < sh->lanes; i++) {
        fp_set_elem(&r, i, sh->w, fp_step(&e, op, 0, fp_elem(&s, i, sh->w)));
    }
    if (imm & 8) {
        e.flags &= ~MXCSR_PE;
    }
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        sse_xmm_set(cpu, reg, r);
    }
    return st;
}

/* COMISS/COMISD (2F), UCOMISS/UCOMISD (2E): ZF/PF/CF, the rest cleared. */
static enum tcg_status fp_comis(struct tcg_cpu *cpu, const struct insn *in, bool dbl)
{
    const struct fp_op *op = in->opcode == 0x2f ? (dbl ? &op_comisd : &op_comiss)
                                                : (dbl ? &op_ucomisd : &op_ucomiss);
    sse_vec d = sse_xmm_get(cpu, sse_reg(in)), s;
    struct fp_env e;
    uint64_t fl;
    enum tcg_status st = fp_src(cpu, in, dbl ? 8 : 4, &s);

    if (st != TCG_OK) {
        return st;
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    fl = fp_step(&e, op, d.q[0], s.q[0]);
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        tcg_flags_set(cpu, TCG_FLAGS_ARITH, fl);
    }
    return st;
}

/* Where a conversion's operand lives. */
enum { LOC_XMM, LOC_MM };

/* A packed or scalar conversion between XMM/MMX/memory operands. */
struct fp_cvt {
    const struct fp_op *op;
    uint8_t n;          /* elements converted */
    uint8_t sw, dw;     /* element width: source, destination */
    uint8_t size;       /* source bytes (16: an aligned memory operand) */
    uint8_t src, dst;   /* LOC_* */
    uint8_t keep;       /* the destination's other bits are kept, not zeroed */
    fp_pkernel packed;  /* XMM to XMM: the whole conversion at once */
};

static enum tcg_status fp_convert(struct tcg_cpu *cpu, const struct insn *in,
                                  const struct fp_cvt *c)
{
    bool mmx_src = c->src == LOC_MM && !in->has_mem;
    unsigned reg = c->dst == LOC_MM ? (in->modrm >> 3) & 7 : sse_reg(in);
    sse_vec s, r;
    struct fp_env e;
    enum tcg_status st;

    if (mmx_src || c->dst == LOC_MM) {
        st = fp_mmx_check(cpu);
        if (st != TCG_OK) {
            return st;
        }
    }
    if (mmx_src) {
        memset(&s, 0, sizeof(s));
        s.q[0] = cpu->st.fpu.st[in->modrm & 7].mant;
    } else {
        st = fp_src(cpu, in, c->size, &s);
        if (st != TCG_OK) {
            return st;
        }
    }
    if (mmx_src || c->dst == LOC_MM) {
        fp_mmx_enter(cpu);
    }
    if (c->dst == LOC_XMM && c->keep) {
        r = sse_xmm_get(cpu, reg);
    } else {
        memset(&r, 0, sizeof(r));
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    if (c->packed && !e.unmasked) {
        r = c->packed(r, s, e.host_csr, &e.flags);
    } else {
        for (unsigned i = 0; i < c->n; i++) {
            fp_set_elem(&r, i, c->dw, fp_step(&e, c->op, 0, fp_elem(&s, i, c->sw)));
        }
    }
    st = fp_commit(cpu, &e);
    if (st != TCG_OK) {
        return st;
    }
    if (c->dst == LOC_MM) {
        fp_mmx_write(cpu, reg, r.q[0]);
    } else {
        sse_xmm_set(cpu, reg, r);
    }
    return TCG_OK;
}

/* REX.W selects the 64-bit integer forms (64-bit mode only). */
static bool fp_rexw(const struct tcg_cpu *cpu, const struct insn *in)
{
    return cpu->mode == MODE_LONG64 && (in->rex & 8);
}

/* CVTSI2SS/SD (F3/F2 0F 2A): a general register or memory integer. */
static enum tcg_status fp_cvt_from_int(struct tcg_cpu *cpu, const struct insn *in, bool dbl)
{
    bool w = fp_rexw(cpu, in);
    unsigned size = w ? 8 : 4, reg = sse_reg(in);
    const struct fp_op *op = dbl ? (w ? &op_cvtsi2sd64 : &op_cvtsi2sd32)
                                 : (w ? &op_cvtsi2ss64 : &op_cvtsi2ss32);
    sse_vec r = sse_xmm_get(cpu, reg);
    uint64_t v = 0, res;
    struct fp_env e;
    enum tcg_status st;

    if (in->has_mem) {
        st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), &v, size);
        if (st != TCG_OK) {
            return st;
        }
    } else {
        v = tcg_reg_read(cpu, sse_rm(in), size, false);
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    res = fp_step(&e, op, 0, v);
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        fp_set_elem(&r, 0, dbl ? 8 : 4, res);
        sse_xmm_set(cpu, reg, r);
    }
    return st;
}

/* CVT[T]SS2SI, CVT[T]SD2SI (F3/F2 0F 2C/2D) into a general register. */
static enum tcg_status fp_cvt_to_int(struct tcg_cpu *cpu, const struct insn *in, bool dbl)
{
    static const struct fp_op *const ops[2][2][2] = {   /* [dbl][trunc][w] */
        { { &op_cvtss2si32, &op_cvtss2si64 }, { &op_cvttss2si32, &op_cvttss2si64 } },
        { { &op_cvtsd2si32, &op_cvtsd2si64 }, { &op_cvttsd2si32, &op_cvttsd2si64 } },
    };
    bool w = fp_rexw(cpu, in);
    const struct fp_op *op = ops[dbl][in->opcode == 0x2c][w];
    sse_vec s;
    uint64_t res;
    struct fp_env e;
    enum tcg_status st = fp_src(cpu, in, dbl ? 8 : 4, &s);

    if (st != TCG_OK) {
        return st;
    }
    fp_env_init(&e, cpu->st.fpu.mxcsr);
    res = fp_step(&e, op, 0, dbl ? s.q[0] : s.d[0]);
    st = fp_commit(cpu, &e);
    if (st == TCG_OK) {
        tcg_reg_write(cpu, sse_reg(in), w ? 8 : 4, false, res);
    }
    return st;
}

/* Packed conversions by opcode and prefix (SDM vol. 2, CVT*). */
static const struct fp_cvt *fp_cvt_form(const struct insn *in, enum sse_prefix p)
{
    /* op, n, sw, dw, size, src, dst, keep, packed */
    static const struct fp_cvt cvtpi2ps = { &op_cvtsi2ss32, 2, 4, 4, 8, LOC_MM, LOC_XMM, 1, NULL };
    static const struct fp_cvt cvtpi2pd = { &op_cvtsi2sd32, 2, 4, 8, 8, LOC_MM, LOC_XMM, 0, NULL };
    static const struct fp_cvt cvtps2pi = { &op_cvtss2si32, 2, 4, 4, 8, LOC_XMM, LOC_MM, 0, NULL };
    static const struct fp_cvt cvttps2pi = {
        &op_cvttss2si32, 2, 4, 4, 8, LOC_XMM, LOC_MM, 0, NULL
    };
    static const struct fp_cvt cvtpd2pi = { &op_cvtsd2si32, 2, 8, 4, 16, LOC_XMM, LOC_MM, 0, NULL };
    static const struct fp_cvt cvttpd2pi = {
        &op_cvttsd2si32, 2, 8, 4, 16, LOC_XMM, LOC_MM, 0, NULL
    };
    static const struct fp_cvt cvtss2sd = { &op_cvtss2sd, 1, 4, 8, 4, LOC_XMM, LOC_XMM, 1, NULL };
    static const struct fp_cvt cvtsd2ss = { &op_cvtsd2ss, 1, 8, 4, 8, LOC_XMM, LOC_XMM, 1, NULL };
    static const struct fp_cvt cvtps2pd = {
        &op_cvtss2sd, 2, 4, 8, 8, LOC_XMM, LOC_XMM, 0, k_cvtps2pd
    };
    static const struct fp_cvt cvtpd2ps = {
        &op_cvtsd2ss, 2, 8, 4, 16, LOC_XMM, LOC_XMM, 0, k_cvtpd2ps
    };
    static const struct fp_cvt cvtdq2ps = {
        &op_cvtsi2ss32, 4, 4, 4, 16, LOC_XMM, LOC_XMM, 0, k_cvtdq2ps
    };
    static const struct fp_cvt cvtps2dq = {
        &op_cvtss2si32, 4, 4, 4, 16, LOC_XMM, LOC_XMM, 0, k_cvtps2dq
    };
    static const struct fp_cvt cvttps2dq = {
        &op_cvttss2si32, 4, 4, 4, 16, LOC_XMM, LOC_XMM, 0, k_cvttps2dq
    };
    static const struct fp_cvt cvtdq2pd = {
        &op_cvtsi2sd32, 2, 4, 8, 8, LOC_XMM, LOC_XMM, 0, k_cvtdq2pd
    };
    static const struct fp_cvt cvtpd2dq = {
        &op_cvtsd2si32, 2, 8, 4, 16, LOC_XMM, LOC_XMM, 0, k_cvtpd2dq
    };
    static const struct fp_cvt cvttpd2dq = {
        &op_cvttsd2si32, 2, 8, 4, 16, LOC_XMM, LOC_XMM, 0, k_cvttpd2dq
    };

    switch (in->opcode) {
    case 0x2a:
        return p == SSE_NP ? &cvtpi2ps : p == SSE_66 ? &cvtpi2pd : NULL;
    case 0x2c:
        return p == SSE_NP ? &cvttps2pi : p == SSE_66 ? &cvttpd2pi : NULL;
    case 0x2d:
        return p == SSE_NP ? &cvtps2pi : p == SSE_66 ? &cvtpd2pi : NULL;
    case 0x5a: {
        static const struct fp_cvt *const f[4] = { &cvtps2pd, &cvtpd2ps, &cvtss2sd, &cvtsd2ss };
        return f[p];
    }
    case 0x5b: {
        static const struct fp_cvt *const f[4] = { &cvtdq2ps, &cvtps2dq, &cvttps2dq, NULL };
        return f[p];
    }
    case 0xe6: {
        static const struct fp_cvt *const f[4] = { NULL, &cvttpd2dq, &cvtdq2pd, &cvtpd2dq };
        return f[p];
    }
    default:
        return NULL;
    }
}

/* The 0F map (a form fp_feature() accepted). */
static enum tcg_status fp_map1(struct tcg_cpu *cpu, const struct insn *in)
{
    enum sse_prefix p = sse_prefix(in);
    bool dbl = p == SSE_66 || p == SSE_F2;
    const struct fp_cvt *cvt;

    switch (in->opcode) {
    case 0x2a:
        if (p == SSE_F3 || p == SSE_F2) {
            return fp_cvt_from_int(cpu, in, dbl);
        }
        break;
    case 0x2c:
    case 0x2d:
        if (p == SSE_F3 || p == SSE_F2) {
            return fp_cvt_to_int(cpu, in, dbl);
        }
        break;
    case 0x2e:
    case 0x2f:
        return fp_comis(cpu, in, dbl);
    case 0x7c:
    case 0x7d:
        return fp_horiz(cpu, in, p == SSE_66, in->opcode == 0x7d);
    case 0xd0:
        return fp_addsub(cpu, in, p == SSE_66);
    case 0x5a:
    case 0x5b:
    case 0xe6:
        break;
    default: {
        const struct fp_op *op = fp_arith_op(in, dbl);

        return op ? fp_lanes(cpu, in, op) : tcg_raise(cpu, EXC_UD);
    }
    }
    cvt = fp_cvt_form(in, p);
    return cvt ? fp_convert(cpu, in, cvt) : tcg_raise(cpu, EXC_UD);
}

/* The CPUID.01H bit each feature has (SDM vol. 2, 2.4: #UD without it). */
enum fp_feature { FT_NONE, FT_SSE, FT_SSE2, FT_SSE3, FT_SSE41 };

static const struct {
    uint8_t reg, bit;   /* reg: 2 ECX, 3 EDX */
} fp_feature_bits[] = {
    [FT_SSE] = { 3, 25 },
    [FT_SSE2] = { 3, 26 },
    [FT_SSE3] = { 2, 0 },
    [FT_SSE41] = { 2, 19 },
};

/* The feature a form belongs to; FT_NONE when it is not one of ours. */
static enum fp_feature fp_feature(const struct insn *in)
{
    enum sse_prefix p = sse_prefix(in);
    bool dbl = p == SSE_66 || p == SSE_F2;

    if (in->op != OP_SSE || (in->prefixes & (PFX_VEX | PFX_EVEX))) {
        return FT_NONE;
    }
    if (in->map == 3) {
        bool ours = (in->opcode >= 0x08 && in->opcode <= 0x0b) ||
                    in->opcode == 0x40 || in->opcode == 0x41;

        return ours && p == SSE_66 ? FT_SSE41 : FT_NONE;
    }
    if (in->map != 1) {
        return FT_NONE;
    }
    switch (in->opcode) {
    case 0x2a: case 0x2c: case 0x2d:
    case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
    case 0xc2:
        return dbl ? FT_SSE2 : FT_SSE;
    case 0x2e:
    case 0x2f:
        return p == SSE_NP ? FT_SSE : p == SSE_66 ? FT_SSE2 : FT_NONE;
    case 0x52:
    case 0x53:
        return dbl ? FT_NONE : FT_SSE;
    case 0x5a:
        return FT_SSE2;
    case 0x5b:
        return p == SSE_F2 ? FT_NONE : FT_SSE2;
    case 0xe6:
        return p == SSE_NP ? FT_NONE : FT_SSE2;
    case 0x7c:
    case 0x7d:
    case 0xd0:
        return dbl ? FT_SSE3 : FT_NONE;
    default:
        return FT_NONE;
    }
}

/* tcg_sse_fp_check(): see sse.h. */
int tcg_sse_fp_check(const struct tcg_cpu *cpu, const struct insn *in)
{
    enum fp_feature f = fp_feature(in);

    if (f == FT_NONE) {
        return 0;
    }
    return tcg_cpuid_has(cpu, 1, fp_feature_bits[f].reg, fp_feature_bits[f].bit) ? 1 : -1;
}

bool tcg_sse_fp(struct tcg_cpu *cpu, const struct insn *in, enum tcg_status *st)
{
    int ok = tcg_sse_fp_check(cpu, in);

    if (ok == 0) {
        return false;
    }
    if (ok < 0) {
        *st = tcg_raise(cpu, EXC_UD);
    } else if (in->map == 3) {
        *st = (in->opcode & 0xf0) == 0x40 ? fp_dot(cpu, in, in->opcode == 0x41) : fp_round(cpu, in);
    } else {
        *st = fp_map1(cpu, in);
    }
    return true;
}
