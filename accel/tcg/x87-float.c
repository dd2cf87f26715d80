/*
 * Software x87 arithmetic (SDM vol. 1, chapters 4 and 8): the 80-bit
 * double-extended format with its explicit integer bit, precision and
 * rounding control, the six exception flags with C1 as "rounded up", the
 * NaN rules of SDM vol. 1, 4.8.3.5 (table 4-7) and the unsupported
 * encodings of SDM vol. 1, 8.2.2 (table 8-3).  Operations: add, sub, mul,
 * div, sqrt, compare, FRNDINT, FSCALE, FXTRACT, FPREM/FPREM1, FXAM and the
 * integer / float32 / float64 conversions.  Each rule, including those the
 * SDM leaves open (marked "measured"), is checked against the host FPU by
 * tests/unit/test-x87-float.c.
 *
 * Numbers are unpacked to (sign, unbiased exponent, 64-bit significand with
 * the integer bit at bit 63); results are rounded from a 128-bit significand
 * whose lowest bit is sticky.
 *
 * Threads: pure functions; all state lives in the caller's struct x87_ctx.
 */
#include <string.h>

#include "accel/tcg/x87-float.h"

typedef unsigned __int128 u128;

enum cls { C_ZERO, C_FIN, C_INF, C_QNAN, C_SNAN, C_BAD };

struct unp {
    enum cls cls;
    bool sign;
    bool denormal;     /* operand was a (pseudo-)denormal: DE */
    int32_t exp;       /* value = mant * 2^(exp - 63) */
    uint64_t mant;     /* bit 63 set for C_FIN */
};

/* A destination format for rounding: precision, exponent range, bias. */
struct fmt {
    unsigned prec;
    int32_t emin, emax;
    int32_t bias_adjust;  /* exponent wrap for unmasked OE/UE (SDM vol. 1, 8.5.4) */
};

#define EXP_BIAS 16383

void x87_ctx_init(struct x87_ctx *ctx, uint16_t cw)
{
    ctx->cw = cw;
    ctx->sw = 0;
    ctx->no_store = false;
}

static void set_flags(struct x87_ctx *ctx, uint16_t bits)
{
    ctx->sw |= bits;
}

static bool masked(const struct x87_ctx *ctx, uint16_t bit)
{
    return (ctx->cw & bit) != 0;
}

/* Classify an 80-bit operand (SDM vol. 1, table 8-3). */
static struct unp unpack(struct x87_float x)
{
    struct unp u = { .sign = (x.sign_exp >> 15) & 1 };
    uint32_t e = x.sign_exp & 0x7fff;
    bool j = (x.mant >> 63) & 1;

    if (e == 0x7fff) {
        if (!j) {
            u.cls = C_BAD;                     /* pseudo-infinity / pseudo-NaN */
        } else if ((x.mant << 1) == 0) {
            u.cls = C_INF;
        } else {
            u.cls = (x.mant >> 62) & 1 ? C_QNAN : C_SNAN;
        }
        u.mant = x.mant;
        return u;
    }
    if (e == 0) {
        if (x.mant == 0) {
            u.cls = C_ZERO;
            return u;
        }
        /* Denormal or pseudo-denormal: exponent 1 - bias, then normalize. */
        int sh = __builtin_clzll(x.mant);
        u.cls = C_FIN;
        u.denormal = true;
        u.mant = x.mant << sh;
        u.exp = 1 - EXP_BIAS - sh;
        return u;
    }
    if (!j) {
        u.cls = C_BAD;                         /* unnormal */
        return u;
    }
    u.cls = C_FIN;
    u.mant = x.mant;
    u.exp = (int32_t)e - EXP_BIAS;
    return u;
}

static struct x87_float pack(bool sign, uint32_t biased, uint64_t mant)
{
    return (struct x87_float){ mant, (uint16_t)((sign ? 0x8000u : 0) | (biased & 0x7fff)) };
}

static struct x87_float make_zero(bool sign)
{
    return pack(sign, 0, 0);
}

static struct x87_float make_inf(bool sign)
{
    return pack(sign, 0x7fff, 1ull << 63);
}

static unsigned rc_of(const struct x87_ctx *ctx)
{
    return ctx->cw & X87_CW_RC_ZERO;
}

static unsigned pc_bits(const struct x87_ctx *ctx)
{
    switch (ctx->cw & X87_CW_PC_64) {
    case X87_CW_PC_24:
        return 24;
    case X87_CW_PC_53:
        return 53;
    default:
        return 64;     /* 11b, and the reserved 01b behaves as 64 here */
    }
}

static u128 shr_jam(u128 v, int32_t n)
{
    if (n <= 0) {
        return v;
    }
    if (n >= 128) {
        return v != 0;
    }
    return (v >> n) | ((v & (((u128)1 << n) - 1)) != 0);
}

/* Does this rounding mode move the magnitude up, given the discarded part? */
static bool round_up(unsigned rc, bool sign, bool lsb, u128 rest, u128 half)
{
    if (rest == 0) {
        return false;
    }
    switch (rc) {
    case X87_CW_RC_NEAR:
        return rest > half || (rest == half && lsb);
    case X87_CW_RC_DOWN:
        return sign;
    case X87_CW_RC_UP:
        return !sign;
    default:
        return false;
    }
}

/*
 * Round sig * 2^(e - 127) (sig != 0) to format f.  Returns the significand
 * left-aligned at bit 127 (or a denormal, bit 127 clear, with *e == emin),
 * the unbiased exponent in *e, or *ovf for overflow to be resolved by the
 * caller.  Tininess is detected after rounding (SDM vol. 1, 4.9.1.5 leaves
 * the choice open; the host FPU flags no UE for a denormal that rounds up
 * to the smallest normal at the precision in effect).  Unmasked UE on a
 * register result keeps the normalized value with the exponent wrapped by
 * 24576 (SDM vol. 1, 8.5.5).
 */
static u128 round_sig(struct x87_ctx *ctx, const struct fmt *f, bool sign, int32_t *e,
                      u128 sig, bool *ovf)
{
    int sh = (sig >> 64) ? __builtin_clzll((uint64_t)(sig >> 64))
                         : 64 + __builtin_clzll((uint64_t)sig);
    sig <<= sh;
    *e -= sh;
    *ovf = false;

    bool tiny = *e < f->emin;
    if (tiny && *e == f->emin - 1) {
        /* Tininess after rounding: tiny only if the result rounded to the
         * precision with an unbounded exponent stays below 2^emin. */
        u128 unit = (u128)1 << (128 - f->prec);
        u128 rest = sig & (unit - 1);
        if (round_up(rc_of(ctx), sign, (sig >> (128 - f->prec)) & 1, rest, unit >> 1) &&
            (sig | (unit - 1)) == ~(u128)0) {
            tiny = false;
        }
    }
    /* A result too small even after the wrap gets the masked response
     * (FSCALE can produce one; measured). */
    bool wrap_under = tiny && !masked(ctx, X87_SW_UE) && f->bias_adjust &&
                      *e + f->bias_adjust >= f->emin;
    if (tiny && !wrap_under && !masked(ctx, X87_SW_UE) && f->bias_adjust) {
        /* Unmasked UE beyond the wrap range: zero in every rounding mode. */
        set_flags(ctx, X87_SW_UE | X87_SW_PE);
        *e = f->emin;
        return 0;
    }
    if (tiny && !wrap_under) {
        sig = shr_jam(sig, f->emin - *e);
        *e = f->emin;
    }
    unsigned drop = 128 - f->prec;
    u128 unit = (u128)1 << drop;
    u128 rest = sig & (unit - 1);
    bool lsb = (sig >> drop) & 1;
    bool up = round_up(rc_of(ctx), sign, lsb, rest, unit >> 1);
    sig -= rest;
    if (up) {
        sig += unit;
        if (sig == 0) {                     /* carried out of bit 127 */
            sig = (u128)1 << 127;
            *e += 1;
        }
    }
    if (rest) {
        set_flags(ctx, X87_SW_PE);
    }
    if (up) {
        set_flags(ctx, X87_SW_C1);
    }
    if (tiny && (rest || !masked(ctx, X87_SW_UE))) {
        set_flags(ctx, X87_SW_UE);
    }
    if (wrap_under) {
        *e += f->bias_adjust;
    }
    if (*e > f->emax) {
        *ovf = true;
    }
    return sig;
}

/* Resolve overflow: wrap when OE is unmasked, else infinity or max finite. */
static bool overflow_to_inf(struct x87_ctx *ctx, bool sign)
{
    unsigned rc = rc_of(ctx);
    set_flags(ctx, X87_SW_OE | X87_SW_PE);
    bool inf = rc == X87_CW_RC_NEAR || (rc == X87_CW_RC_UP && !sign) ||
               (rc == X87_CW_RC_DOWN && sign);
    ctx->sw &= ~X87_SW_C1;
    if (inf) {
        ctx->sw |= X87_SW_C1;
    }
    return inf;
}

/* Round and pack into the 80-bit register format at precision prec. */
static struct x87_float round_pack80(struct x87_ctx *ctx, unsigned prec, bool sign, int32_t e,
                                     u128 sig)
{
    struct fmt f = { prec, 1 - EXP_BIAS, EXP_BIAS, 24576 };
    bool ovf;
    if (sig == 0) {
        return make_zero(sign);
    }
    sig = round_sig(ctx, &f, sign, &e, sig, &ovf);
    if (ovf) {
        if (!masked(ctx, X87_SW_OE) && e - f.bias_adjust <= f.emax) {
            set_flags(ctx, X87_SW_OE);
            e -= f.bias_adjust;
            return pack(sign, (uint32_t)(e + EXP_BIAS), (uint64_t)(sig >> 64));
        }
        /* Unmasked OE beyond the wrap range (FSCALE): infinity in every
         * rounding mode (measured). */
        if (overflow_to_inf(ctx, sign) || !masked(ctx, X87_SW_OE)) {
            ctx->sw |= X87_SW_C1;
            return make_inf(sign);
        }
        uint64_t max = ~0ull << (64 - prec);
        return pack(sign, 0x7ffe, max);
    }
    uint64_t m = (uint64_t)(sig >> 64);
    uint32_t be = (m >> 63) ? (uint32_t)(e + EXP_BIAS) : 0;
    return pack(sign, be, m);
}

static struct x87_float quiet(struct x87_float x)
{
    x.mant |= 1ull << 62;
    return x;
}

/*
 * Invalid operands and NaNs of a two-operand arithmetic operation (SDM
 * vol. 1, 4.8.3.5, table 4-7; 8.2.2).  Returns true with *res set when done.
 */
static bool nan_rules(struct x87_ctx *ctx, struct x87_float a, struct x87_float b,
                      const struct unp *ua, const struct unp *ub, struct x87_float *res)
{
    if (ua->cls == C_BAD || ub->cls == C_BAD) {
        *res = X87_INDEFINITE;
        set_flags(ctx, X87_SW_IE);
        return true;
    }
    bool na = ua->cls == C_QNAN || ua->cls == C_SNAN;
    bool nb = ub->cls == C_QNAN || ub->cls == C_SNAN;
    if (!na && !nb) {
        return false;
    }
    if (ua->cls == C_SNAN || ub->cls == C_SNAN) {
        set_flags(ctx, X87_SW_IE);
    }
    if (na && nb) {
        uint64_t qa = a.mant | 1ull << 62, qb = b.mant | 1ull << 62;
        if (ua->cls == C_QNAN && ub->cls == C_SNAN) {
            *res = a;
        } else if (ub->cls == C_QNAN && ua->cls == C_SNAN) {
            *res = b;
        } else if (qa != qb) {
            *res = qa > qb ? quiet(a) : quiet(b);
        } else {
            /* Equal significands: the positive one wins (measured). */
            *res = (a.sign_exp & 0x8000) ? quiet(b) : quiet(a);
        }
    } else {
        *res = quiet(na ? a : b);
    }
    return true;
}

enum { PRO_ARITH, PRO_DIV, PRO_PREM };

/* Common start of an arithmetic operation; false when *res is final. */
static bool prologue2(struct x87_ctx *ctx, struct x87_float a, struct x87_float b,
                      struct unp *ua, struct unp *ub, struct x87_float *res, int kind)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    *ua = unpack(a);
    *ub = unpack(b);
    if (nan_rules(ctx, a, b, ua, ub, res)) {
        ctx->no_store = !masked(ctx, X87_SW_IE) && (ctx->sw & X87_SW_IE);
        return false;
    }
    /* Over zero, FDIV reports ZE alone and FPREM IE alone, even for a
     * denormal dividend; FPREM of infinity IE alone too (measured). */
    if ((ua->denormal || ub->denormal) && !(kind && ub->cls == C_ZERO) &&
        !(kind == PRO_PREM && ua->cls == C_INF)) {
        set_flags(ctx, X87_SW_DE);
        if (!masked(ctx, X87_SW_DE)) {
            ctx->no_store = true;
            *res = a;
            return false;
        }
    }
    return true;
}

static struct x87_float finish_invalid(struct x87_ctx *ctx, struct x87_float a)
{
    set_flags(ctx, X87_SW_IE);
    if (!masked(ctx, X87_SW_IE)) {
        ctx->no_store = true;
        return a;
    }
    return X87_INDEFINITE;
}

static struct x87_float addsub(struct x87_ctx *ctx, struct x87_float a, struct x87_float b,
                               bool negb)
{
    struct unp ua, ub;
    struct x87_float res;
    if (!prologue2(ctx, a, b, &ua, &ub, &res, PRO_ARITH)) {
        return res;
    }
    ub.sign ^= negb;
    bool down = rc_of(ctx) == X87_CW_RC_DOWN;
    if (ua.cls == C_INF || ub.cls == C_INF) {
        if (ua.cls == C_INF && ub.cls == C_INF && ua.sign != ub.sign) {
            return finish_invalid(ctx, a);
        }
        return make_inf(ua.cls == C_INF ? ua.sign : ub.sign);
    }
    if (ua.cls == C_ZERO && ub.cls == C_ZERO) {
        return make_zero(ua.sign == ub.sign ? ua.sign : down);
    }
    if (ub.cls == C_ZERO) {
        /* x + 0 is x, rounded to the precision in effect. */
        return round_pack80(ctx, pc_bits(ctx), ua.sign, ua.exp, (u128)ua.mant << 64);
    }
    if (ua.cls == C_ZERO) {
        return round_pack80(ctx, pc_bits(ctx), ub.sign, ub.exp, (u128)ub.mant << 64);
    }
    /* Align: significands at bits 125..62, leaving a carry bit. */
    if (ua.exp < ub.exp || (ua.exp == ub.exp && ua.mant < ub.mant)) {
        struct unp t = ua; ua = ub; ub = t;
    }
    u128 sa = (u128)ua.mant << 62;
    u128 sb = shr_jam((u128)ub.mant << 62, ua.exp - ub.exp);
    u128 s;
    bool sign = ua.sign;
    if (ua.sign == ub.sign) {
        s = sa + sb;
    } else {
        s = sa - sb;
        if (s == 0) {
            return make_zero(down);
        }
    }
    /* value = s * 2^(ua.exp - 62 - 63 + ...) : s bit 125 weighs 2^ua.exp. */
    return round_pack80(ctx, pc_bits(ctx), sign, ua.exp + 2, s);
}

struct x87_float x87_add(struct x87_ctx *ctx, struct x87_float a, struct x87_float b)
{
    return addsub(ctx, a, b, false);
}

struct x87_float x87_sub(struct x87_ctx *ctx, struct x87_float a, struct x87_float b)
{
    return addsub(ctx, a, b, true);
}

struct x87_float x87_mul(struct x87_ctx *ctx, struct x87_float a, struct x87_float b)
{
    struct unp ua, ub;
    struct x87_float res;
    if (!prologue2(ctx, a, b, &ua, &ub, &res, PRO_ARITH)) {
        return res;
    }
    bool sign = ua.sign ^ ub.sign;
    if (ua.cls == C_INF || ub.cls == C_INF) {
        if (ua.cls == C_ZERO || ub.cls == C_ZERO) {
            return finish_invalid(ctx, a);
        }
        return make_inf(sign);
    }
    if (ua.cls == C_ZERO || ub.cls == C_ZERO) {
        return make_zero(sign);
    }
    u128 p = (u128)ua.mant * ub.mant;
    /* p * 2^(ea + eb - 126) = p * 2^((ea + eb + 1) - 127) */
    return round_pack80(ctx, pc_bits(ctx), sign, ua.exp + ub.exp + 1, p);
}

struct x87_float x87_div(struct x87_ctx *ctx, struct x87_float a, struct x87_float b)
{
    struct unp ua, ub;
    struct x87_float res;
    if (!prologue2(ctx, a, b, &ua, &ub, &res, PRO_DIV)) {
        return res;
    }
    bool sign = ua.sign ^ ub.sign;
    if (ua.cls == C_INF) {
        if (ub.cls == C_INF) {
            return finish_invalid(ctx, a);
        }
        return make_inf(sign);
    }
    if (ub.cls == C_INF) {
        return make_zero(sign);
    }
    if (ub.cls == C_ZERO) {
        if (ua.cls == C_ZERO) {
            return finish_invalid(ctx, a);
        }
        set_flags(ctx, X87_SW_ZE);
        if (!masked(ctx, X87_SW_ZE)) {
            ctx->no_store = true;
            return a;
        }
        return make_inf(sign);
    }
    if (ua.cls == C_ZERO) {
        return make_zero(sign);
    }
    /* Restoring division: 128 quotient bits, the first weighing 2^0. */
    u128 r = ua.mant, q = 0;
    for (int i = 0; i < 128; i++) {
        q <<= 1;
        if (r >= ub.mant) {
            r -= ub.mant;
            q |= 1;
        }
        r <<= 1;
    }
    q |= r != 0;
    return round_pack80(ctx, pc_bits(ctx), sign, ua.exp - ub.exp, q);
}

/*
 * A one-operand operation on an unsupported encoding or a signalling NaN
 * (SDM vol. 1, 8.2.2 and table 4-7): #IA, the NaN quieted when the
 * exception is masked, else nothing stored.  True with *res when a was
 * one of these.
 */
static bool unary_invalid(struct x87_ctx *ctx, struct x87_float a, const struct unp *ua,
                          struct x87_float *res)
{
    if (ua->cls == C_BAD) {
        *res = finish_invalid(ctx, a);
        return true;
    }
    if (ua->cls != C_SNAN) {
        return false;
    }
    set_flags(ctx, X87_SW_IE);
    if (!masked(ctx, X87_SW_IE)) {
        ctx->no_store = true;
        *res = a;
    } else {
        *res = quiet(a);
    }
    return true;
}

struct x87_float x87_sqrt(struct x87_ctx *ctx, struct x87_float a)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    struct unp ua = unpack(a);
    struct x87_float res;

    if (unary_invalid(ctx, a, &ua, &res)) {
        return res;
    }
    switch (ua.cls) {
    case C_QNAN:
        return a;
    case C_ZERO:
        return a;
    case C_INF:
        if (ua.sign) {
            return finish_invalid(ctx, a);
        }
        return a;
    default:
        break;
    }
    if (ua.sign) {
        return finish_invalid(ctx, a);
    }
    if (ua.denormal) {
        set_flags(ctx, X87_SW_DE);
        if (!masked(ctx, X87_SW_DE)) {
            ctx->no_store = true;
            return a;
        }
    }
    /* value = mant * 2^k, k = exp - 63; radicand R = mant << 128 or << 127. */
    int32_t k = ua.exp - 63;
    bool odd = (k % 2) != 0;
    u128 x = odd ? (u128)ua.mant << 63 : (u128)ua.mant << 64;
    int32_t s = odd ? (k - 127) / 2 : (k - 128) / 2;
    u128 rem = 0, root = 0;
    for (int i = 0; i < 96; i++) {
        rem = (rem << 2) | (unsigned)(x >> 126);
        x <<= 2;
        u128 trial = (root << 2) | 1;
        if (rem >= trial) {
            rem -= trial;
            root = (root << 1) | 1;
        } else {
            root <<= 1;
        }
    }
    u128 sig = (root << 32) | (rem != 0);
    /* sig * 2^(s - 32) = sig * 2^((s + 95) - 127) */
    return round_pack80(ctx, pc_bits(ctx), false, s + 95, sig);
}

/*
 * Magnitude of a finite value rounded to an integer per rc; *inexact and
 * *up report the rounding.  exp must be < 64.
 */
static uint64_t round_int(unsigned rc, bool sign, int32_t exp, uint64_t mant, bool *inexact,
                          bool *up)
{
    uint64_t ip, frac;
    if (exp < -64) {
        ip = 0;
        frac = 1;
    } else {
        u128 x = ((u128)mant << 64) >> (63 - exp);
        ip = (uint64_t)(x >> 64);
        frac = (uint64_t)x;
    }
    *inexact = frac != 0;
    *up = round_up(rc, sign, ip & 1, frac, (u128)1 << 63);
    return ip + *up;
}

struct x87_float x87_rndint(struct x87_ctx *ctx, struct x87_float a)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    struct unp ua = unpack(a);
    struct x87_float res;

    if (unary_invalid(ctx, a, &ua, &res)) {
        return res;
    }
    switch (ua.cls) {
    case C_QNAN:
    case C_ZERO:
    case C_INF:
        return a;
    default:
        break;
    }
    if (ua.denormal) {
        set_flags(ctx, X87_SW_DE);
        if (!masked(ctx, X87_SW_DE)) {
            ctx->no_store = true;
            return a;
        }
    }
    if (ua.exp >= 63) {
        return a;
    }
    bool inexact, up;
    uint64_t m = round_int(rc_of(ctx), ua.sign, ua.exp, ua.mant, &inexact, &up);
    if (inexact) {
        set_flags(ctx, X87_SW_PE);
    }
    if (up) {
        set_flags(ctx, X87_SW_C1);
    }
    if (m == 0) {
        return make_zero(ua.sign);
    }
    int sh = __builtin_clzll(m);
    return pack(ua.sign, (uint32_t)(63 - sh + EXP_BIAS), m << sh);
}

enum x87_cmp x87_compare(struct x87_ctx *ctx, struct x87_float a, struct x87_float b,
                         bool quiet_cmp)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    struct unp ua = unpack(a), ub = unpack(b);
    if (ua.cls == C_BAD || ub.cls == C_BAD || ua.cls == C_SNAN || ub.cls == C_SNAN) {
        set_flags(ctx, X87_SW_IE);
        return X87_CMP_UN;
    }
    if (ua.cls == C_QNAN || ub.cls == C_QNAN) {
        if (!quiet_cmp) {
            set_flags(ctx, X87_SW_IE);
        }
        return X87_CMP_UN;
    }
    if (ua.denormal || ub.denormal) {
        set_flags(ctx, X87_SW_DE);
    }
    /* Order as sign-magnitude with zeros equal regardless of sign. */
    if (ua.cls == C_ZERO && ub.cls == C_ZERO) {
        return X87_CMP_EQ;
    }
    int ka = ua.cls == C_ZERO ? 0 : ua.cls == C_INF ? 2 : 1;
    int kb = ub.cls == C_ZERO ? 0 : ub.cls == C_INF ? 2 : 1;
    int c;   /* sign of |a| - |b| */
    if (ka != kb) {
        c = ka > kb ? 1 : -1;
    } else if (ka == 2) {
        c = 0;
    } else if (ua.exp != ub.exp) {
        c = ua.exp > ub.exp ? 1 : -1;
    } else {
        c = ua.mant == ub.mant ? 0 : ua.mant > ub.mant ? 1 : -1;
    }
    bool sa = ua.cls == C_ZERO ? false : ua.sign;
    bool sb = ub.cls == C_ZERO ? false : ub.sign;
    if (ua.cls == C_ZERO) {
        return ub.sign ? X87_CMP_GT : X87_CMP_LT;
    }
    if (ub.cls == C_ZERO) {
        return ua.sign ? X87_CMP_LT : X87_CMP_GT;
    }
    if (sa != sb) {
        return sa ? X87_CMP_LT : X87_CMP_GT;
    }
    if (c == 0) {
        return X87_CMP_EQ;
    }
    return (c > 0) != sa ? X87_CMP_GT : X87_CMP_LT;
}

/*
 * FSCALE (SDM vol. 2, FSCALE): b truncated toward zero gives the power of
 * two.  The result is rounded at 64 bits: precision control covers only
 * the basic arithmetic (SDM vol. 1, 8.1.5.2).
 */
struct x87_float x87_scale(struct x87_ctx *ctx, struct x87_float a, struct x87_float b)
{
    struct unp ua, ub;
    struct x87_float res;
    if (!prologue2(ctx, a, b, &ua, &ub, &res, PRO_ARITH)) {
        return res;
    }
    if (ub.cls == C_INF) {
        if (ua.cls == C_ZERO && !ub.sign) {
            return finish_invalid(ctx, a);     /* 0 * 2^+inf */
        }
        if (ua.cls == C_INF && ub.sign) {
            return finish_invalid(ctx, a);     /* inf * 2^-inf */
        }
        if (ua.cls == C_FIN) {
            return ub.sign ? make_zero(ua.sign) : make_inf(ua.sign);
        }
        return a;
    }
    if (ua.cls != C_FIN) {
        return ua.cls == C_ZERO ? make_zero(ua.sign) : a;
    }
    /* |b| beyond 2^20 already over/underflows any operand: clamp. */
    int32_t n = 0;
    if (ub.cls == C_FIN && ub.exp >= 0) {
        n = ub.exp > 20 ? 1 << 20 : (int32_t)(ub.mant >> (63 - ub.exp));
        n = ub.sign ? -n : n;
    }
    return round_pack80(ctx, 64, ua.sign, ua.exp + n, (u128)ua.mant << 64);
}

struct x87_float x87_prem(struct x87_ctx *ctx, struct x87_float a, struct x87_float b,
                          bool ieee)
{
    struct unp ua, ub;
    struct x87_float res;
    ctx->sw &= ~(X87_SW_C0 | X87_SW_C2 | X87_SW_C3);
    if (!prologue2(ctx, a, b, &ua, &ub, &res, PRO_PREM)) {
        return res;
    }
    if (ua.cls == C_INF || ub.cls == C_ZERO) {
        return finish_invalid(ctx, a);
    }
    if (ua.cls == C_ZERO) {
        return a;
    }
    /* |a| < |b|: a itself, normalized (a pseudo-denormal comes back with
     * exponent 1; measured). */
    int32_t d = ua.exp - ub.exp;
    if (ub.cls == C_INF || d < -1 || (d == -1 && !ieee)) {
        return round_pack80(ctx, 64, ua.sign, ua.exp, (u128)ua.mant << 64);
    }
    /*
     * Exponent difference 64 or more: reduce by b * 2^k only, k a multiple
     * of 32 leaving a difference of 32..63 (SDM vol. 2, FPREM: "N between
     * 32 and 63"; the choice measured on the host), and report C2.
     */
    int32_t k = d >= 64 ? (d - 32) & ~31 : 0;
    int32_t s = d - k;
    u128 mb = ub.mant, r = ua.mant, q = 0;
    int32_t unit = ub.exp + k;           /* r weighs 2^(unit - 63) */
    if (s < 0) {                         /* FPREM1 with a in [b/4, b/2)*2 */
        mb <<= 1;
        unit = ua.exp;
        s = 0;
        if (r >= mb) {
            r -= mb;
            q = 1;
        }
    } else {
        for (int32_t i = 0; i <= s; i++) {
            q <<= 1;
            if (r >= mb) {
                r -= mb;
                q |= 1;
            }
            if (i < s) {
                r <<= 1;
            }
        }
    }
    bool sign = ua.sign;
    if (ieee && !k && (2 * r > mb || (2 * r == mb && (q & 1)))) {
        r = mb - r;
        q++;
        sign = !sign;
    }
    uint16_t cc = 0;
    if (k) {
        cc = X87_SW_C2;
    } else {
        cc = ((q & 4) ? X87_SW_C0 : 0) | ((q & 2) ? X87_SW_C3 : 0) | ((q & 1) ? X87_SW_C1 : 0);
    }
    if (r == 0) {
        res = make_zero(ua.sign);
    } else if (r >> 64) {
        res = round_pack80(ctx, 64, sign, unit + 1, r << 63);
    } else {
        res = round_pack80(ctx, 64, sign, unit, r << 64);
    }
    ctx->sw = (ctx->sw & ~X87_SW_C1) | cc;
    return res;
}

struct x87_float x87_xtract(struct x87_ctx *ctx, struct x87_float a, struct x87_float *exp)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    struct unp ua = unpack(a);
    switch (ua.cls) {
    case C_BAD:
        *exp = finish_invalid(ctx, a);
        return *exp;
    case C_SNAN:
        set_flags(ctx, X87_SW_IE);
        ctx->no_store = !masked(ctx, X87_SW_IE);
        *exp = quiet(a);
        return *exp;
    case C_QNAN:
        *exp = a;
        return a;
    case C_INF:
        *exp = make_inf(false);
        return a;
    case C_ZERO:
        /* The exponent of zero is -infinity, reported as ZE (SDM vol. 2, FXTRACT). */
        set_flags(ctx, X87_SW_ZE);
        ctx->no_store = !masked(ctx, X87_SW_ZE);
        *exp = make_inf(true);
        return a;
    default:
        break;
    }
    if (ua.denormal) {
        set_flags(ctx, X87_SW_DE);
        ctx->no_store = !masked(ctx, X87_SW_DE);
    }
    *exp = x87_from_int(ua.exp);
    return pack(ua.sign, EXP_BIAS, ua.mant);
}

uint16_t x87_examine(struct x87_float a)
{
    struct unp ua = unpack(a);
    uint16_t c1 = ua.sign ? X87_SW_C1 : 0;
    switch (ua.cls) {
    case C_BAD:
        return c1;
    case C_QNAN:
    case C_SNAN:
        return c1 | X87_SW_C0;
    case C_INF:
        return c1 | X87_SW_C2 | X87_SW_C0;
    case C_ZERO:
        return c1 | X87_SW_C3;
    default:
        return c1 | (ua.denormal ? X87_SW_C3 | X87_SW_C2 : X87_SW_C2);
    }
}

struct x87_float x87_from_int(int64_t v)
{
    if (v == 0) {
        return make_zero(false);
    }
    bool sign = v < 0;
    uint64_t m = sign ? 0 - (uint64_t)v : (uint64_t)v;
    int sh = __builtin_clzll(m);
    return pack(sign, (uint32_t)(63 - sh + EXP_BIAS), m << sh);
}

int64_t x87_to_int(struct x87_ctx *ctx, struct x87_float a, unsigned bits, bool truncate)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    uint64_t indef = 1ull << (bits - 1);
    int64_t indef_s = (int64_t)(0 - indef);   /* 0x8000.., sign-extended */
    struct unp ua = unpack(a);
    if (ua.cls == C_ZERO) {
        return 0;
    }
    if (ua.cls != C_FIN || ua.exp >= 64) {
        goto invalid;
    }
    /* FIST reports no DE for a denormal source (SDM vol. 2, FIST). */
    bool inexact, up;
    uint64_t m = round_int(truncate ? X87_CW_RC_ZERO : rc_of(ctx), ua.sign, ua.exp, ua.mant,
                           &inexact, &up);
    if (m > indef - !ua.sign || (m == 0 && up && ua.exp == 63)) {
        goto invalid;
    }
    if (inexact) {
        set_flags(ctx, X87_SW_PE);
    }
    if (up) {
        set_flags(ctx, X87_SW_C1);
    }
    return ua.sign ? (int64_t)(0 - m) : (int64_t)m;
invalid:
    set_flags(ctx, X87_SW_IE);
    ctx->no_store = !masked(ctx, X87_SW_IE);
    return indef_s;
}

static const struct fmt fmt32 = { 24, -126, 127, 0 };
static const struct fmt fmt64 = { 53, -1022, 1023, 0 };

static struct x87_float from_ieee(struct x87_ctx *ctx, bool sign, uint32_t e, uint64_t frac,
                                  unsigned fbits, uint32_t emax_b, int32_t bias)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    uint64_t m = frac << (63 - fbits);
    if (e == emax_b) {
        if (frac == 0) {
            return make_inf(sign);
        }
        struct x87_float r = pack(sign, 0x7fff, m | 1ull << 63);
        if (!(frac >> (fbits - 1))) {
            set_flags(ctx, X87_SW_IE);
            ctx->no_store = !masked(ctx, X87_SW_IE);
            r = quiet(r);
        }
        return r;
    }
    if (e == 0) {
        if (frac == 0) {
            return make_zero(sign);
        }
        set_flags(ctx, X87_SW_DE);
        ctx->no_store = !masked(ctx, X87_SW_DE);
        int sh = __builtin_clzll(m);
        return pack(sign, (uint32_t)(1 - bias - sh + EXP_BIAS), m << sh);
    }
    return pack(sign, (uint32_t)((int32_t)e - bias + EXP_BIAS), m | 1ull << 63);
}

struct x87_float x87_from_f32(struct x87_ctx *ctx, uint32_t v)
{
    return from_ieee(ctx, v >> 31, (v >> 23) & 0xff, v & 0x7fffff, 23, 0xff, 127);
}

struct x87_float x87_from_f64(struct x87_ctx *ctx, uint64_t v)
{
    return from_ieee(ctx, v >> 63, (v >> 52) & 0x7ff, v & ((1ull << 52) - 1), 52, 0x7ff, 1023);
}

/* FST to a narrower format: returns sign, biased exponent and fraction packed. */
static uint64_t to_ieee(struct x87_ctx *ctx, struct x87_float a, const struct fmt *f,
                        unsigned fbits, uint32_t emax_b)
{
    ctx->sw &= ~X87_SW_C1;
    ctx->no_store = false;
    struct unp ua = unpack(a);
    uint64_t sign = (uint64_t)ua.sign << (fbits + (fbits == 23 ? 8 : 11));
    uint64_t inf = (uint64_t)emax_b << fbits;
    switch (ua.cls) {
    case C_BAD:
        set_flags(ctx, X87_SW_IE);
        ctx->no_store = !masked(ctx, X87_SW_IE);
        return (1ull << (fbits + (fbits == 23 ? 8 : 11))) | inf | 1ull << (fbits - 1);
    case C_SNAN:
        set_flags(ctx, X87_SW_IE);
        ctx->no_store = !masked(ctx, X87_SW_IE);
        /* fallthrough */
    case C_QNAN:
        return sign | inf | 1ull << (fbits - 1) | ((a.mant << 1) >> (64 - fbits));
    case C_INF:
        return sign | inf;
    case C_ZERO:
        return sign;
    default:
        break;
    }
    /* FST reports no DE for a denormal source, only UE/PE (measured). */
    int32_t e = ua.exp;
    bool ovf;
    uint16_t sw0 = ctx->sw;
    u128 sig = round_sig(ctx, f, ua.sign, &e, (u128)ua.mant << 64, &ovf);
    /*
     * Unmasked OE/UE on a store to memory: nothing is written and only OE or
     * UE is reported, no PE or C1 (SDM vol. 1, 4.9.1.4/4.9.1.5; measured).
     */
    if (ovf && !masked(ctx, X87_SW_OE)) {
        ctx->sw = sw0 | X87_SW_OE;
        ctx->no_store = true;
        return 0;
    }
    if ((ctx->sw & ~sw0 & X87_SW_UE) && !masked(ctx, X87_SW_UE)) {
        ctx->sw = sw0 | X87_SW_UE;
        ctx->no_store = true;
        return 0;
    }
    if (ovf) {
        if (overflow_to_inf(ctx, ua.sign)) {
            return sign | inf;
        }
        return sign | (((uint64_t)emax_b - 1) << fbits) | ((1ull << fbits) - 1);
    }
    uint64_t m = (uint64_t)(sig >> (128 - fbits - 1));
    uint64_t be = (sig >> 127) ? (uint64_t)(e + (int32_t)(emax_b >> 1)) : 0;
    return sign | (be << fbits) | (m & ((1ull << fbits) - 1));
}

uint32_t x87_to_f32(struct x87_ctx *ctx, struct x87_float a)
{
    return (uint32_t)to_ieee(ctx, a, &fmt32, 23, 0xff);
}

uint64_t x87_to_f64(struct x87_ctx *ctx, struct x87_float a)
{
    return to_ieee(ctx, a, &fmt64, 52, 0x7ff);
}
