/*
 * Values for the x87/SSE cases of the differential tester (issue 6, item
 * 7): floats of the three formats with their edges (zeros, denormals and
 * the x87's pseudo-denormals, unnormals and pseudo-NaNs, infinities, quiet
 * and signalling NaNs, the indefinite, integers, halves, the bounds of the
 * integer conversions, exponents that overflow or underflow a narrower
 * format), integer lanes with their edges, PCMPxSTRx strings, and the
 * random starting state of a case: control words, MXCSR (rounding, DAZ,
 * FTZ, mostly masked), a stack with a random TOP and tags, and registers
 * drawn now and then from a small pool so that operands are often equal.
 *
 * Everything comes from the caller's struct diff_rng, so a seed
 * reproduces a case.
 *
 * Threads: no state beyond the caller's struct diff_rng.
 */
#include <string.h>

#include "tests/diff/diff.h"

static unsigned rnd(struct diff_rng *r, unsigned n)
{
    return n ? (unsigned)(diff_rng_next(r) % n) : 0;
}

/* ---- IEEE single and double (SDM vol. 1, 4.2.2 and 4.8) ---- */

static uint32_t gen_f32(struct diff_rng *r)
{
    uint32_t s = rnd(r, 2) ? 0x80000000u : 0, v;
    float f;

    switch (rnd(r, 20)) {
    case 0: return s;                                           /* zero */
    case 1: return s | (1 + rnd(r, 0x7fffff));                  /* denormal */
    case 2: return s | (rnd(r, 2) ? 1 : 0x7fffff);             /* denormal edges */
    case 3: return s | 0x00800000u | (rnd(r, 2) ? 0 : rnd(r, 16));  /* min normal */
    case 4: return s | 0x7f7fffffu;                             /* max normal */
    case 5: return s | 0x7f800000u;                             /* infinity */
    case 6: return s | 0x7fc00000u | (rnd(r, 2) ? 0 : rnd(r, 0x400000)); /* QNaN */
    case 7: return s | 0x7f800000u | (1 + rnd(r, 0x3fffff));   /* SNaN */
    case 8: {
        static const float nice[] = { 1, 0.5f, 2, 1.5f, 3, 10, 0.1f, 100, 1e-3f, 65536 };

        f = nice[rnd(r, sizeof(nice) / sizeof(nice[0]))];
        memcpy(&v, &f, 4);
        return s | v;
    }
    case 9:
        f = (float)(int32_t)(rnd(r, 2000) - 1000) + (rnd(r, 2) ? 0.5f : 0);
        memcpy(&v, &f, 4);
        return v;
    case 10: {
        /* Around the limits of the integer conversions: 2^15, 2^31, 2^63. */
        static const uint8_t e[] = { 15, 31, 63, 16, 32, 64 };

        return s | ((127u + e[rnd(r, 6)] - rnd(r, 2)) << 23) |
               (rnd(r, 2) ? 0 : (0x7fffffu - rnd(r, 4)));
    }
    case 11: case 12: case 13: case 14:
        /* Normal, exponent near 1: results stay normal. */
        return s | ((127u + rnd(r, 41) - 20) << 23) | (uint32_t)(diff_rng_next(r) & 0x7fffff);
    case 15:
        /* Near the bottom: results underflow (FTZ, UE). */
        return s | ((1u + rnd(r, 24)) << 23) | (uint32_t)(diff_rng_next(r) & 0x7fffff);
    case 16:
        /* Near the top: results overflow (OE). */
        return s | ((230u + rnd(r, 24)) << 23) | (uint32_t)(diff_rng_next(r) & 0x7fffff);
    default:
        return (uint32_t)diff_rng_next(r);
    }
}

static uint64_t gen_f64(struct diff_rng *r)
{
    uint64_t s = rnd(r, 2) ? 1ull << 63 : 0, v, fr = diff_rng_next(r) & ((1ull << 52) - 1);
    double d;

    switch (rnd(r, 20)) {
    case 0: return s;
    case 1: return s | (fr ? fr : 1);
    case 2: return s | (rnd(r, 2) ? 1 : (1ull << 52) - 1);
    case 3: return s | (1ull << 52) | (rnd(r, 2) ? 0 : rnd(r, 16));
    case 4: return s | 0x7fefffffffffffffull;
    case 5: return s | 0x7ff0000000000000ull;
    case 6: return s | 0x7ff8000000000000ull | (rnd(r, 2) ? 0 : fr >> 1);
    case 7: return s | 0x7ff0000000000000ull | ((fr >> 1) ? fr >> 1 : 1);
    case 8: {
        static const double nice[] = { 1, 0.5, 2, 1.5, 3, 10, 0.1, 100, 1e-3, 65536 };

        d = nice[rnd(r, sizeof(nice) / sizeof(nice[0]))];
        memcpy(&v, &d, 8);
        return s | v;
    }
    case 9:
        d = (double)(int32_t)(rnd(r, 2000) - 1000) + (rnd(r, 2) ? 0.5 : 0);
        memcpy(&v, &d, 8);
        return v;
    case 10: {
        static const uint8_t e[] = { 15, 31, 63, 16, 32, 64 };

        return s | ((uint64_t)(1023 + e[rnd(r, 6)] - rnd(r, 2)) << 52) |
               (rnd(r, 2) ? 0 : ((1ull << 52) - 1 - rnd(r, 4096)));
    }
    case 11: case 12: case 13: case 14:
        return s | ((uint64_t)(1023 + rnd(r, 81) - 40) << 52) | fr;
    case 15:
        return s | ((uint64_t)(1 + rnd(r, 60)) << 52) | fr;
    case 16:
        /* Beyond float32's range (cvtsd2ss overflow and underflow). */
        return s | ((uint64_t)(rnd(r, 2) ? 1023 + 120 + rnd(r, 16) : 1023 - 160 + rnd(r, 40))
                    << 52) | fr;
    default:
        return diff_rng_next(r);
    }
}

/* ---- the x87's 80-bit format (SDM vol. 1, 8.2.2, table 8-3) ---- */

struct f80 { uint64_t mant; uint16_t exp; };

static void f80_from_bits(int sign, int64_t e2, uint64_t mant, struct f80 *o)
{
    /* value = mant * 2^e2, mant != 0: normalise (exact for our inputs). */
    unsigned lz = (unsigned)__builtin_clzll(mant);

    mant <<= lz;
    e2 -= lz;
    o->mant = mant;
    o->exp = (uint16_t)((sign ? 0x8000 : 0) | (uint16_t)(0x3fff + 63 + e2));
}

void diff_fp_to_f80(enum diff_fpval v, const uint8_t *in, uint64_t *mant, uint16_t *exp)
{
    struct f80 o = { 0, 0 };
    int64_t n = 0;

    switch (v) {
    case FV_F32: {
        uint32_t b;
        unsigned e;
        uint64_t f;
        int s;

        memcpy(&b, in, 4);
        s = (int)(b >> 31);
        e = (b >> 23) & 0xff;
        f = b & 0x7fffff;
        if (e == 0xff) {
            o.exp = (uint16_t)((s << 15) | 0x7fff);
            o.mant = (1ull << 63) | (f << 40);
        } else if (e == 0) {
            o.exp = (uint16_t)(s << 15);
            if (f)
                f80_from_bits(s, -149, f, &o);
        } else {
            f80_from_bits(s, (int64_t)e - 150, f | 0x800000, &o);
        }
        break;
    }
    case FV_F64: {
        uint64_t b, f;
        unsigned e;
        int s;

        memcpy(&b, in, 8);
        s = (int)(b >> 63);
        e = (b >> 52) & 0x7ff;
        f = b & ((1ull << 52) - 1);
        if (e == 0x7ff) {
            o.exp = (uint16_t)((s << 15) | 0x7fff);
            o.mant = (1ull << 63) | (f << 11);
        } else if (e == 0) {
            o.exp = (uint16_t)(s << 15);
            if (f)
                f80_from_bits(s, -1074, f, &o);
        } else {
            f80_from_bits(s, (int64_t)e - 1075, f | (1ull << 52), &o);
        }
        break;
    }
    case FV_I16: { int16_t x; memcpy(&x, in, 2); n = x; goto integer; }
    case FV_I32: { int32_t x; memcpy(&x, in, 4); n = x; goto integer; }
    case FV_I64: { int64_t x; memcpy(&x, in, 8); n = x; goto integer; }
    integer:
        if (n)
            f80_from_bits(n < 0, 0, n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n, &o);
        break;
    default:
        break;
    }
    *mant = o.mant;
    *exp = o.exp;
}

static void gen_f80(struct diff_rng *r, struct f80 *o)
{
    uint16_t s = rnd(r, 2) ? 0x8000 : 0;
    uint64_t m = diff_rng_next(r);
    uint8_t b[8];

    switch (rnd(r, 26)) {
    case 0: o->mant = 0; o->exp = s; return;                          /* zero */
    case 1: o->mant = (m >> 1) ? m >> 1 : 1; o->exp = s; return;      /* denormal */
    case 2: o->mant = m | (1ull << 63); o->exp = s; return;           /* pseudo-denormal */
    case 3:                                                           /* unnormal */
        o->mant = m >> 1;
        o->exp = (uint16_t)(s | (1 + rnd(r, 0x7ffe)));
        return;
    case 4: o->mant = 1ull << 63; o->exp = s | 0x7fff; return;        /* infinity */
    case 5:                                                           /* QNaN */
        o->mant = (3ull << 62) | (rnd(r, 2) ? 0 : m >> 2);
        o->exp = s | 0x7fff;
        return;
    case 6:                                                           /* SNaN */
        o->mant = (1ull << 63) | ((m >> 2) ? m >> 2 : 1);
        o->exp = s | 0x7fff;
        return;
    case 7:                                                           /* pseudo-NaN/inf */
        o->mant = rnd(r, 2) ? 0 : m >> 1;
        o->exp = s | 0x7fff;
        return;
    case 8: o->mant = 3ull << 62; o->exp = 0xffff; return;            /* indefinite */
    case 9: case 10: {
        uint32_t f = gen_f32(r);

        memcpy(b, &f, 4);
        diff_fp_to_f80(FV_F32, b, &o->mant, &o->exp);
        return;
    }
    case 11: case 12: {
        uint64_t d = gen_f64(r);

        memcpy(b, &d, 8);
        diff_fp_to_f80(FV_F64, b, &o->mant, &o->exp);
        return;
    }
    case 13: {
        /* An integer, or a half between two (rounding ties). */
        int64_t n = (int64_t)rnd(r, 4000) - 2000;

        if (!n)
            n = 7;
        f80_from_bits(n < 0, 0, n < 0 ? (uint64_t)-n : (uint64_t)n, o);
        if (rnd(r, 2) && o->exp != 0)
            o->mant |= 1ull << (62 - (((o->exp & 0x7fff) - 0x3fff) & 63));
        return;
    }
    case 14: {
        /* Around 2^15, 2^16, 2^31, 2^32, 2^63, 2^64 (FIST, FISTTP). */
        static const uint8_t e[] = { 15, 16, 31, 32, 63, 64, 17, 59 };

        o->exp = (uint16_t)(s | (0x3fff + e[rnd(r, 8)] - rnd(r, 2)));
        o->mant = rnd(r, 2) ? 1ull << 63 : ~0ull - rnd(r, 4096);
        return;
    }
    case 15:
        /* Beyond float64 / float32 (FST overflow), below them (underflow). */
        o->exp = (uint16_t)(s | (rnd(r, 2) ? 0x3fff + 1020 + rnd(r, 8) : 0x3fff + 124 + rnd(r, 8)));
        o->mant = m | (1ull << 63);
        return;
    case 16:
        o->exp = (uint16_t)(s | (rnd(r, 2) ? 0x3fff - 1020 - rnd(r, 60)
                                           : 0x3fff - 124 - rnd(r, 30)));
        o->mant = m | (1ull << 63);
        return;
    case 17:
        /* Extremes of the format. */
        o->exp = (uint16_t)(s | (rnd(r, 2) ? 0x7ffe - rnd(r, 4) : 1 + rnd(r, 4)));
        o->mant = m | (1ull << 63);
        return;
    case 18:
        /* Exact in 24 or 53 bits plus a low bit (precision control). */
        o->exp = (uint16_t)(s | (0x3fff + rnd(r, 20) - 10));
        o->mant = (m | (1ull << 63)) & (rnd(r, 2) ? ~0ull << 39 : ~0ull << 10);
        o->mant |= rnd(r, 2) ? 1ull << (rnd(r, 2) ? 39 : 10) : 0;
        return;
    default:
        /* Normal, exponent near 1 (room for the transcendentals too). */
        o->exp = (uint16_t)(s | (0x3fff + rnd(r, 81) - 40));
        o->mant = m | (1ull << 63);
        return;
    }
}

/* ---- integers, BCD, strings ---- */

static uint64_t lane_edge(struct diff_rng *r, unsigned w)
{
    uint64_t sign = 1ull << (w * 8 - 1), mask = w == 8 ? ~0ull : (sign << 1) - 1;

    switch (rnd(r, 10)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return mask;                /* -1 */
    case 3: return sign - 1;            /* max signed */
    case 4: return sign;                /* min signed */
    case 5: return sign + 1;
    case 6: return rnd(r, 17);
    case 7: return (mask - rnd(r, 16)) & mask;
    default: return diff_rng_next(r) & mask;
    }
}

static void gen_int(struct diff_rng *r, uint8_t *out, unsigned n)
{
    for (unsigned i = 0; i < n; i += 8) {
        unsigned w = 1u << rnd(r, 4), k = n - i < 8 ? n - i : 8;
        uint64_t v = 0;

        if (rnd(r, 3) == 0) {
            v = diff_rng_next(r);
        } else {
            for (unsigned j = 0; j < 8; j += w)
                v |= lane_edge(r, w) << (8 * j);
        }
        memcpy(out + i, &v, k);
    }
}

/* 18 packed BCD digits and a sign byte (SDM vol. 1, 4.7); now and then
 * a digit that is not one (FBLD: undefined, the host decides). */
static void gen_bcd(struct diff_rng *r, uint8_t *out)
{
    unsigned ndig = rnd(r, 4) ? 1 + rnd(r, 18) : 18;

    memset(out, 0, 10);
    for (unsigned i = 0; i < ndig; i++) {
        unsigned d = rnd(r, 32) ? rnd(r, 10) : 10 + rnd(r, 6);

        out[i / 2] |= (uint8_t)(d << (4 * (i & 1)));
    }
    out[9] = (uint8_t)((rnd(r, 2) ? 0x80 : 0) | (rnd(r, 8) ? 0 : rnd(r, 128)));
}

static void gen_str(struct diff_rng *r, uint8_t *out, unsigned n)
{
    static const uint8_t alpha[] = { 'a', 'b', 'c', 'd', 'a', 'b', 0, 'A', 'z', 0x80, 0xff };

    for (unsigned i = 0; i < n; i++)
        out[i] = rnd(r, 8) ? alpha[rnd(r, sizeof(alpha))] : (uint8_t)diff_rng_next(r);
    if (rnd(r, 2))
        out[rnd(r, n)] = 0;
}

static uint32_t gen_mxcsr(struct diff_rng *r)
{
    uint32_t m = rnd(r, 4) ? 0x1f80u : (uint32_t)(rnd(r, 64) << 7);

    m |= (uint32_t)rnd(r, 4) << 13;
    if (rnd(r, 4) == 0)
        m |= 0x40;                  /* DAZ */
    if (rnd(r, 4) == 0)
        m |= 0x8000;                /* FTZ */
    if (rnd(r, 2))
        m |= (uint32_t)rnd(r, 64);  /* sticky flags */
    return m;
}

static uint16_t gen_fcw(struct diff_rng *r)
{
    static const uint8_t pc[] = { 3, 3, 2, 0, 3, 2, 0, 1 };
    uint16_t w = 0x40 | (uint16_t)(pc[rnd(r, 8)] << 8) | (uint16_t)(rnd(r, 4) << 10);

    w |= rnd(r, 4) ? 0x3f : (uint16_t)rnd(r, 64);
    if (rnd(r, 16) == 0)
        w |= 0x1000;                /* X, the 287's infinity control: ignored */
    return w;
}

void diff_fp_fill(struct diff_rng *r, enum diff_fpval v, uint8_t *out, unsigned n)
{
    switch (v) {
    case FV_F32:
    case FV_PS:
        for (unsigned i = 0; i + 4 <= n; i += 4) {
            uint32_t x = gen_f32(r);

            memcpy(out + i, &x, 4);
        }
        break;
    case FV_F64:
    case FV_PD:
        for (unsigned i = 0; i + 8 <= n; i += 8) {
            uint64_t x = gen_f64(r);

            memcpy(out + i, &x, 8);
        }
        break;
    case FV_F80: {
        struct f80 f;

        gen_f80(r, &f);
        if (n >= 10) {
            memcpy(out, &f.mant, 8);
            memcpy(out + 8, &f.exp, 2);
        }
        break;
    }
    case FV_I16:
    case FV_I32:
    case FV_I64: {
        unsigned w = v == FV_I16 ? 2 : v == FV_I32 ? 4 : 8;
        uint64_t x = lane_edge(r, w);

        memcpy(out, &x, n < w ? n : w);
        break;
    }
    case FV_BCD:
        if (n >= 10)
            gen_bcd(r, out);
        break;
    case FV_STR:
        gen_str(r, out, n);
        break;
    case FV_MXCSR: {
        uint32_t m = gen_mxcsr(r);

        /* A reserved bit: #GP.  Not bit 17: AMD's MXCSR.MM (misaligned
         * SSE mode) is writable on hosts that have it, not in the
         * software CPU's model. */
        if (rnd(r, 16) == 0)
            m |= 1u << (18 + rnd(r, 14));
        memcpy(out, &m, n < 4 ? n : 4);
        break;
    }
    case FV_FCW: {
        uint16_t w = rnd(r, 4) ? gen_fcw(r) : (uint16_t)diff_rng_next(r);

        memcpy(out, &w, n < 2 ? n : 2);
        break;
    }
    default:
        gen_int(r, out, n);
        break;
    }
}

/* ---- a starting state ---- */

static uint8_t gen_tags(struct diff_rng *r, unsigned top)
{
    uint8_t t = 0;

    switch (rnd(r, 8)) {
    case 0: case 1: case 2:
        for (unsigned i = 0; i < 8; i++)
            if (rnd(r, 4))
                t |= (uint8_t)(1u << i);
        return t;
    case 3: case 4:
        return 0xff;
    case 5: case 6:
        return (uint8_t)~(1u << ((top + 7) & 7));   /* room for one push */
    default:
        return rnd(r, 2) ? 0 : (uint8_t)diff_rng_next(r);
    }
}

static uint16_t gen_fsw(struct diff_rng *r, uint16_t fcw)
{
    unsigned top = rnd(r, 8);
    uint16_t w = (uint16_t)(top << 11) | (uint16_t)(diff_rng_next(r) & 0x4700);

    if (rnd(r, 2)) {
        w |= (uint16_t)(diff_rng_next(r) & fcw & 0x3f);
        if ((w & 1) && rnd(r, 2))
            w |= 0x40;                      /* SF with IE */
    }
    if (rnd(r, 32) == 0 && (~fcw & 0x3f)) {
        /* An unmasked exception pending: the next waiting x87
         * instruction takes #MF (SDM vol. 1, 8.6). */
        unsigned b;

        do {
            b = rnd(r, 6);
        } while (fcw & (1u << b));
        w |= (uint16_t)(1u << b) | 0x80 | 0x8000;
    }
    return w;
}

void diff_fp_state(struct diff_rng *r, enum diff_fpkind k, enum diff_fpval v,
                   struct diff_fpu *f)
{
    struct f80 pool[3];

    memset(f, 0, sizeof(*f));
    f->fcw = gen_fcw(r);
    f->fsw = gen_fsw(r, f->fcw);
    f->ftw = gen_tags(r, (f->fsw >> 11) & 7);
    f->mxcsr = gen_mxcsr(r);
    for (unsigned i = 0; i < 3; i++)
        gen_f80(r, &pool[i]);
    for (unsigned i = 0; i < 8; i++) {
        if (k == FPK_MMX && rnd(r, 4)) {
            gen_int(r, (uint8_t *)&f->st[i].mant, 8);
            f->st[i].exp = rnd(r, 2) ? 0xffff : (uint16_t)diff_rng_next(r);
            continue;
        }
        if (rnd(r, 3) == 0) {
            unsigned p = rnd(r, 3);

            f->st[i].mant = pool[p].mant;
            f->st[i].exp = pool[p].exp;
        } else {
            struct f80 x;

            gen_f80(r, &x);
            f->st[i].mant = x.mant;
            f->st[i].exp = x.exp;
        }
    }
    if (k == FPK_X87 && rnd(r, 8) == 0) {
        /* ST(0) = ST(1) exactly: equal operands. */
        f->st[0] = f->st[1];
    }
    for (unsigned i = 0; i < 16; i++) {
        enum diff_fpval lanes = v;

        if (k != FPK_SSE || (v != FV_PS && v != FV_PD && v != FV_STR && v != FV_F32 &&
                             v != FV_F64))
            lanes = FV_INT;
        if (lanes == FV_F32)
            lanes = FV_PS;
        if (lanes == FV_F64)
            lanes = FV_PD;
        diff_fp_fill(r, lanes, (uint8_t *)f->xmm[i], 16);
    }
    if (k == FPK_SSE && rnd(r, 4) == 0) {
        /* Equal lanes between two registers (compares, min/max). */
        unsigned a = rnd(r, 16), b = rnd(r, 16), lane = rnd(r, 2);

        if (rnd(r, 2))
            memcpy(f->xmm[a], f->xmm[b], 16);
        else
            f->xmm[a][lane] = f->xmm[b][lane];
    }
}

void diff_fx_image(const struct diff_fpu *f, uint8_t *fx)
{
    uint32_t mask = 0xffff;

    memset(fx, 0, 512);
    memcpy(fx + 0, &f->fcw, 2);
    memcpy(fx + 2, &f->fsw, 2);
    fx[4] = f->ftw;
    memcpy(fx + 24, &f->mxcsr, 4);
    memcpy(fx + 28, &mask, 4);
    for (unsigned i = 0; i < 8; i++) {
        memcpy(fx + 32 + 16 * i, &f->st[i].mant, 8);
        memcpy(fx + 40 + 16 * i, &f->st[i].exp, 2);
    }
    memcpy(fx + 160, f->xmm, 256);
}
