/*
 * The software x87 arithmetic (accel/tcg/x87-float.c) against the host FPU.
 *
 * Every case runs the operation on the host x87 (fninit, fldcw with the
 * precision/rounding/masks under test, fld tword operands, the instruction,
 * fnstsw, fnclex so an unmasked exception never traps, fstp tword) and in
 * software with the same control word, and compares the 80-bit result
 * exactly, the six exception bits and C1 (plus C0/C2/C3 for compares).
 * Operands: edge values (signed zeros, denormals, pseudo-denormals,
 * extremes, infinities, NaNs, unsupported encodings, values that round at
 * each precision) in all pairs, then seeded random operands.  Control
 * words: the four rounding modes times the three precisions, all masked
 * and all unmasked (loads only masked: an unmasked fault leaves the stack
 * empty).  Stores start from a sentinel that an unmasked fault must leave.
 * FSCALE, FXTRACT, FPREM, FPREM1 and FXAM ride along.  HYVM_X87_CASES=N
 * sets the random cases per operation (default 100000, times 4 for most).
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "accel/tcg/x87-float.h"

#define SW_CMP_BITS (X87_SW_EXC | X87_SW_C1)

enum op { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT, OP_RND, OP_FCOM, OP_FUCOM,
          OP_FIST16, OP_FIST32, OP_FIST64, OP_FISTT64, OP_FST32, OP_FST64,
          OP_FLD32, OP_FLD64, OP_SCALE, OP_FXAM, OP_PREM, OP_PREM1, OP_XTRACT, OP_NOPS };

static const char *const op_names[] = { "add", "sub", "mul", "div", "sqrt", "frndint",
    "fcom", "fucom", "fist16", "fist32", "fistp64", "fisttp64", "fst32", "fst64",
    "fld32", "fld64", "fscale", "fxam", "fprem", "fprem1", "fxtract" };

/* Two operands on the stack (st0 = a, st1 = b), one instruction on them. */
#define HOST2(bytes)                                                        \
    __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t"      \
                 ".byte " bytes "\n\tfnstsw %%ax\n\tfnclex\n\t"             \
                 "fstpt %[r]\n\tfstp %%st(0)\n\t"                           \
                 : [r] "=m"(*r), "=a"(sw)                                   \
                 : [cw] "m"(cw), [a] "m"(*a), [b] "m"(*b)                   \
                 : "memory", "st", "st(1)")
#define HOST1(bytes)                                                        \
    __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\t"                   \
                 ".byte " bytes "\n\tfnstsw %%ax\n\tfnclex\n\t"             \
                 "fstpt %[r]\n\t"                                           \
                 : [r] "=m"(*r), "=a"(sw)                                   \
                 : [cw] "m"(cw), [a] "m"(*a)                                \
                 : "memory", "st")

static uint16_t host_arith(enum op op, uint16_t cw, const struct x87_float *a,
                           const struct x87_float *b, struct x87_float *r)
{
    uint16_t sw = 0;
    switch (op) {
    case OP_ADD: HOST2("0xd8,0xc1"); break;   /* FADD ST(0), ST(1) */
    case OP_SUB: HOST2("0xd8,0xe1"); break;   /* FSUB ST(0), ST(1) */
    case OP_MUL: HOST2("0xd8,0xc9"); break;   /* FMUL ST(0), ST(1) */
    case OP_DIV: HOST2("0xd8,0xf1"); break;   /* FDIV ST(0), ST(1) */
    case OP_SQRT: HOST1("0xd9,0xfa"); break;
    case OP_RND: HOST1("0xd9,0xfc"); break;
    case OP_FCOM: HOST2("0xd8,0xd1"); break;  /* FCOM ST(1) */
    case OP_FUCOM: HOST2("0xdd,0xe1"); break; /* FUCOM ST(1) */
    case OP_SCALE: HOST2("0xd9,0xfd"); break; /* FSCALE */
    case OP_FXAM: HOST1("0xd9,0xe5"); break;
    case OP_PREM: HOST2("0xd9,0xf8"); break;
    case OP_PREM1: HOST2("0xd9,0xf5"); break;
    default: g_assert_not_reached();
    }
    return sw;
}

/* Conversions; *out holds the stored integer/float bits. */
static uint16_t host_conv(enum op op, uint16_t cw, const struct x87_float *a, uint64_t in,
                          uint64_t *out, struct x87_float *r)
{
    uint16_t sw = 0;
    uint64_t m = 0x5a5a5a5a5a5a5a5aull;
    uint16_t m16 = 0x5a5a;
    uint32_t m32 = 0x5a5a5a5a;
    switch (op) {
    case OP_FIST16:
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfists %[m]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfstp %%st(0)" : [m] "+m"(m16), "=a"(sw)
                     : [cw] "m"(cw), [a] "m"(*a) : "memory", "st");
        break;
    case OP_FIST32:
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistl %[m]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfstp %%st(0)" : [m] "+m"(m32), "=a"(sw)
                     : [cw] "m"(cw), [a] "m"(*a) : "memory", "st");
        break;
    case OP_FIST64:
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistpll %[m]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfninit" : [m] "+m"(m), "=a"(sw)
                     : [cw] "m"(cw), [a] "m"(*a) : "memory", "st");
        break;
    case OP_FISTT64:
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfisttpll %[m]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfninit" : [m] "+m"(m), "=a"(sw)
                     : [cw] "m"(cw), [a] "m"(*a) : "memory", "st");
        break;
    case OP_FST32:
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfsts %[m]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfstp %%st(0)" : [m] "+m"(m32), "=a"(sw)
                     : [cw] "m"(cw), [a] "m"(*a) : "memory", "st");
        break;
    case OP_FST64:
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfstl %[m]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfstp %%st(0)" : [m] "+m"(m), "=a"(sw)
                     : [cw] "m"(cw), [a] "m"(*a) : "memory", "st");
        break;
    case OP_FLD32: {
        uint32_t v = (uint32_t)in;
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tflds %[v]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfstpt %[r]" : [r] "=m"(*r), "=a"(sw)
                     : [cw] "m"(cw), [v] "m"(v) : "memory", "st");
        break;
    }
    case OP_FLD64:
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldl %[v]\n\tfnstsw %%ax\n\t"
                     "fnclex\n\tfstpt %[r]" : [r] "=m"(*r), "=a"(sw)
                     : [cw] "m"(cw), [v] "m"(in) : "memory", "st");
        break;
    default:
        g_assert_not_reached();
    }
    if (op == OP_FIST16) {
        m = (m & ~0xffffull) | m16;
    } else if (op == OP_FIST32 || op == OP_FST32) {
        m = (m & ~0xffffffffull) | m32;
    }
    *out = m;
    return sw;
}

static unsigned long n_cases[OP_NOPS], n_fail[OP_NOPS];

static bool same80(struct x87_float x, struct x87_float y)
{
    return x.mant == y.mant && x.sign_exp == y.sign_exp;
}

static void report(enum op op, uint16_t cw, struct x87_float a, struct x87_float b, uint64_t in,
                   const char *what, uint64_t hv, uint64_t sv)
{
    if (n_fail[op]++ < 8) {
        g_test_message("%s cw=%04x a=%04x:%016llx b=%04x:%016llx in=%016llx: %s host=%llx sw=%llx",
                       op_names[op], cw, a.sign_exp, (unsigned long long)a.mant, b.sign_exp,
                       (unsigned long long)b.mant, (unsigned long long)in, what,
                       (unsigned long long)hv, (unsigned long long)sv);
    }
}

static void run_case(enum op op, uint16_t cw, struct x87_float a, struct x87_float b, uint64_t in)
{
    struct x87_ctx ctx;
    struct x87_float hr, sr = { 0, 0 };
    uint16_t hsw, ssw, mask = SW_CMP_BITS;
    uint64_t hout = 0, sout = 0;

    memset(&hr, 0, sizeof(hr));
    x87_ctx_init(&ctx, cw);
    n_cases[op]++;
    switch (op) {
    case OP_FXAM:
        hsw = host_arith(op, cw, &a, &b, &hr);
        ctx.sw = x87_examine(a);
        mask |= X87_SW_C0 | X87_SW_C2 | X87_SW_C3;
        sr = a;
        break;
    case OP_XTRACT: {
        struct x87_float he, se;
        __asm__ __volatile__("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfxtract\n\t"
                             "fnstsw %%ax\n\tfnclex\n\tfstpt %[r]\n\tfstpt %[e]"
                             : [r] "=m"(hr), [e] "=m"(he), "=a"(hsw)
                             : [cw] "m"(cw), [a] "m"(a) : "memory", "st", "st(1)");
        sr = x87_xtract(&ctx, a, &se);
        if (!same80(he, se)) {
            report(op, cw, a, b, in, "exponent", ((uint64_t)he.sign_exp << 48) ^ he.mant,
                   ((uint64_t)se.sign_exp << 48) ^ se.mant);
            return;
        }
        break;
    }
    case OP_PREM: case OP_PREM1:
        mask |= X87_SW_C0 | X87_SW_C2 | X87_SW_C3;
        hsw = host_arith(op, cw, &a, &b, &hr);
        sr = x87_prem(&ctx, a, b, op == OP_PREM1);
        if (ctx.no_store) {
            sr = a;
        }
        break;
    case OP_SCALE:
        hsw = host_arith(op, cw, &a, &b, &hr);
        sr = x87_scale(&ctx, a, b);
        if (ctx.no_store) {
            sr = a;
        }
        break;
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_SQRT: case OP_RND:
        hsw = host_arith(op, cw, &a, &b, &hr);
        sr = op == OP_ADD ? x87_add(&ctx, a, b) : op == OP_SUB ? x87_sub(&ctx, a, b)
           : op == OP_MUL ? x87_mul(&ctx, a, b) : op == OP_DIV ? x87_div(&ctx, a, b)
           : op == OP_SQRT ? x87_sqrt(&ctx, a) : x87_rndint(&ctx, a);
        if (ctx.no_store) {
            sr = a;
        }
        break;
    case OP_FCOM: case OP_FUCOM:
        hsw = host_arith(op, cw, &a, &b, &hr);
        ctx.sw |= x87_compare(&ctx, a, b, op == OP_FUCOM);
        mask |= X87_SW_C0 | X87_SW_C2 | X87_SW_C3;
        sr = hr;
        break;
    case OP_FLD32: case OP_FLD64:
        hsw = host_conv(op, cw, &a, in, &hout, &hr);
        hout = 0;
        sr = op == OP_FLD32 ? x87_from_f32(&ctx, (uint32_t)in) : x87_from_f64(&ctx, in);
        break;
    default: {
        hsw = host_conv(op, cw, &a, in, &hout, &hr);
        uint64_t pre = 0x5a5a5a5a5a5a5a5aull;
        switch (op) {
        case OP_FIST16:
            sout = (pre & ~0xffffull) | (uint16_t)x87_to_int(&ctx, a, 16, false);
            break;
        case OP_FIST32:
            sout = (pre & ~0xffffffffull) | (uint32_t)x87_to_int(&ctx, a, 32, false);
            break;
        case OP_FIST64: case OP_FISTT64:
            sout = (uint64_t)x87_to_int(&ctx, a, 64, op == OP_FISTT64);
            break;
        case OP_FST32:
            sout = (pre & ~0xffffffffull) | x87_to_f32(&ctx, a);
            break;
        default:
            sout = x87_to_f64(&ctx, a);
            break;
        }
        if (ctx.no_store) {
            sout = pre;
        }
        sr = hr;
        break;
    }
    }
    ssw = ctx.sw;
    if (!same80(hr, sr)) {
        report(op, cw, a, b, in, "result", ((uint64_t)hr.sign_exp << 48) ^ hr.mant,
               ((uint64_t)sr.sign_exp << 48) ^ sr.mant);
    } else if (hout != sout) {
        report(op, cw, a, b, in, "stored", hout, sout);
    } else if ((hsw & mask) != (ssw & mask)) {
        report(op, cw, a, b, in, "status", hsw & mask, ssw & mask);
    }
}

#define F(se, m) { m##ull, se }
static const struct x87_float edges[] = {
    F(0x0000, 0x0000000000000000), F(0x0000, 0x0000000000000001),
    F(0x0000, 0x4000000000000000), F(0x0000, 0x7fffffffffffffff),
    F(0x0000, 0x8000000000000000), F(0x0000, 0x8000000000000001),  /* pseudo-denormals */
    F(0x0001, 0x8000000000000000), F(0x0001, 0xffffffffffffffff),
    F(0x0002, 0x8000000000000001), F(0x7ffe, 0xffffffffffffffff),
    F(0x7ffe, 0x8000000000000000), F(0x7ffd, 0xc000000000000000),
    F(0x3fff, 0x8000000000000000), F(0x3fff, 0xc000000000000000),
    F(0x3fff, 0x8000000000000001), F(0x3fff, 0xffffffffffffffff),
    F(0x3fff, 0x8000008000000000), F(0x3fff, 0x8000018000000000),  /* ties at 24 bits */
    F(0x3fff, 0x8000000000000400), F(0x3fff, 0x8000000000000c00),  /* ties at 53 bits */
    F(0x3fff, 0x80000080000003ff), F(0x3ffe, 0xffffff8000000000),
    F(0x3ffd, 0x8000000000000000), F(0x4000, 0xa000000000000000),
    F(0x403e, 0xffffffffffffffff), F(0x403e, 0x8000000000000000),
    F(0x403d, 0xffffffffffffffff), F(0x401e, 0xffffffff00000000),
    F(0x401d, 0xffffffff80000000), F(0x400e, 0x8000000000000000),
    F(0x400d, 0xfffe000000000000), F(0x400d, 0xffff000000000000),
    F(0x407f, 0xffffff8000000000), F(0x407e, 0xffffff0000000000),  /* near FLT_MAX */
    F(0x43ff, 0xfffffffffffff800), F(0x43fe, 0xfffffffffffff800),  /* near DBL_MAX */
    F(0x3f81, 0x8000000000000000), F(0x3f6a, 0xc000000000000000),  /* FLT_MIN, denormal */
    F(0x3c01, 0x8000000000000000), F(0x3bcd, 0x8000000000000000),  /* DBL_MIN, DBL_TRUE_MIN */
    F(0x3bcc, 0x8000000000000001), F(0x3f80, 0xffffff8000000000),
    F(0x7fff, 0x8000000000000000), F(0x7fff, 0xc000000000000000),
    F(0x7fff, 0xc000000000000001), F(0x7fff, 0xe000000000000000),
    F(0x7fff, 0x8000000000000001), F(0x7fff, 0xa000000000000000),
    F(0x7fff, 0x0000000000000000), F(0x7fff, 0x4000000000000000),  /* pseudo-inf, pseudo-NaN */
    F(0x3fff, 0x4000000000000000), F(0x0001, 0x0000000000000000),  /* unnormals */
    F(0x3ffe, 0x8000000000000000), F(0x3ffe, 0xc000000000000000),
};
#define N_EDGES (sizeof(edges) / sizeof(edges[0]))

static const uint16_t cw_rc[] = { X87_CW_RC_NEAR, X87_CW_RC_DOWN, X87_CW_RC_UP, X87_CW_RC_ZERO };
static const uint16_t cw_pc[] = { X87_CW_PC_24, X87_CW_PC_53, X87_CW_PC_64 };

static struct x87_float edge(unsigned i)
{
    struct x87_float x = edges[i / 2];
    x.sign_exp ^= (i & 1) << 15;
    return x;
}

static unsigned long cases_wanted(void)
{
    const char *s = getenv("HYVM_X87_CASES");
    return s ? strtoul(s, NULL, 0) : 100000;
}

static struct x87_float rand80(GRand *rng, struct x87_float near)
{
    struct x87_float x;
    uint32_t k = g_rand_int_range(rng, 0, 16);
    x.mant = ((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng);
    if (k < 12) {
        x.mant |= 1ull << 63;
    }
    switch (k & 3) {
    case 0:   /* anywhere */
        x.sign_exp = (uint16_t)g_rand_int_range(rng, 0, 0x8000);
        break;
    case 1:   /* close to the other operand, for cancellation */
        x.sign_exp = (uint16_t)((near.sign_exp & 0x7fff) + g_rand_int_range(rng, -70, 70));
        x.sign_exp &= 0x7fff;
        if (g_rand_boolean(rng)) {
            x.mant = near.mant ^ (g_rand_int(rng) & 0xff);
        }
        break;
    case 2:   /* near 1 */
        x.sign_exp = (uint16_t)(0x3fff + g_rand_int_range(rng, -80, 80));
        break;
    default: /* near the ends of the exponent range */
        x.sign_exp = g_rand_boolean(rng) ? (uint16_t)g_rand_int_range(rng, 0, 70)
                                         : (uint16_t)g_rand_int_range(rng, 0x7fff - 70, 0x8000);
        break;
    }
    if (k == 15) {   /* few bits set: exact results, ties */
        x.mant &= 0xff00000000000000ull | (1ull << g_rand_int_range(rng, 0, 64));
    }
    if (g_rand_boolean(rng)) {
        x.sign_exp |= 0x8000;
    }
    return x;
}

static uint16_t random_cw(GRand *rng)
{
    uint16_t cw = cw_rc[g_rand_int_range(rng, 0, 4)] | cw_pc[g_rand_int_range(rng, 0, 3)] | 0x40;
    return cw | (g_rand_int_range(rng, 0, 4) ? 0x3f : 0);
}

static void finish(enum op op)
{
    g_test_message("%s: %lu cases, %lu mismatches", op_names[op], n_cases[op], n_fail[op]);
    g_assert_cmpuint(n_fail[op], ==, 0);
}

static void test_binary(gconstpointer data)
{
    enum op op = GPOINTER_TO_INT(data);
    GRand *rng = g_rand_new_with_seed(0x87 + op);
    for (unsigned m = 0; m < 2; m++) {
        for (unsigned r = 0; r < 4; r++) {
            for (unsigned p = 0; p < 3; p++) {
                uint16_t cw = cw_rc[r] | cw_pc[p] | 0x40 | (m ? 0 : 0x3f);
                for (unsigned i = 0; i < 2 * N_EDGES; i++) {
                    for (unsigned j = 0; j < 2 * N_EDGES; j++) {
                        run_case(op, cw, edge(i), edge(j), 0);
                    }
                }
            }
        }
    }
    for (unsigned long n = cases_wanted() * 4; n; n--) {
        struct x87_float a = rand80(rng, edge(0)), b = rand80(rng, a);
        run_case(op, random_cw(rng), a, b, 0);
    }
    g_rand_free(rng);
    finish(op);
}

static void test_unary(gconstpointer data)
{
    enum op op = GPOINTER_TO_INT(data);
    GRand *rng = g_rand_new_with_seed(0x187 + op);
    /* FXTRACT only masked: an unmasked fault leaves one register. */
    for (unsigned m = 0; m < (op == OP_XTRACT ? 1 : 2); m++) {
        for (unsigned r = 0; r < 4; r++) {
            for (unsigned p = 0; p < 3; p++) {
                uint16_t cw = cw_rc[r] | cw_pc[p] | 0x40 | (m ? 0 : 0x3f);
                for (unsigned i = 0; i < 2 * N_EDGES; i++) {
                    run_case(op, cw, edge(i), edge(0), 0);
                }
            }
        }
    }
    for (unsigned long n = cases_wanted() * 4; n; n--) {
        struct x87_float a = rand80(rng, edges[12]);
        if (op >= OP_FIST16 && op <= OP_FISTT64 && g_rand_boolean(rng)) {
            /* integers and halves of every size */
            a.sign_exp = (a.sign_exp & 0x8000) | (uint16_t)(0x3ffe + g_rand_int_range(rng, 0, 66));
        }
        if ((op == OP_FST32 || op == OP_FST64) && g_rand_boolean(rng)) {
            int32_t c = op == OP_FST32 ? 0x3f81 : 0x3c01, hi = op == OP_FST32 ? 0x407f : 0x43ff;
            a.sign_exp = (a.sign_exp & 0x8000) |
                         (uint16_t)(g_rand_boolean(rng) ? c + g_rand_int_range(rng, -60, 4)
                                                        : hi + g_rand_int_range(rng, -3, 3));
        }
        uint16_t cw = random_cw(rng);
        run_case(op, op == OP_XTRACT ? cw | 0x3f : cw, a, edge(0), 0);
    }
    g_rand_free(rng);
    finish(op);
}

static void test_load(gconstpointer data)
{
    enum op op = GPOINTER_TO_INT(data);
    GRand *rng = g_rand_new_with_seed(0x287 + op);
    static const uint64_t e32[] = { 0, 1, 0x7fffff, 0x800000, 0x7f7fffff, 0x7f800000,
        0x7f800001, 0x7fc00000, 0x7fbfffff, 0x7fffffff, 0x3f800000, 0x00400000 };
    static const uint64_t e64[] = { 0, 1, 0xfffffffffffffull, 0x10000000000000ull,
        0x7fefffffffffffffull, 0x7ff0000000000000ull, 0x7ff0000000000001ull,
        0x7ff8000000000000ull, 0x7ff7ffffffffffffull, 0x7fffffffffffffffull,
        0x3ff0000000000000ull, 0x0008000000000000ull };
    for (unsigned i = 0; i < 12; i++) {
        for (unsigned s = 0; s < 2; s++) {
            uint64_t v = op == OP_FLD32 ? e32[i] | (uint64_t)s << 31 : e64[i] | (uint64_t)s << 63;
            run_case(op, X87_CW_DEFAULT, edge(0), edge(0), v);
        }
    }
    for (unsigned long n = cases_wanted(); n; n--) {
        uint64_t v = ((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng);
        if (g_rand_boolean(rng)) {   /* small exponent: denormals */
            v &= op == OP_FLD32 ? 0x807fffffull : 0x800fffffffffffffull;
        }
        if (op == OP_FLD32) {
            v &= 0xffffffffull;
        }
        run_case(op, cw_rc[n & 3] | cw_pc[n % 3] | 0x7f, edge(0), edge(0), v);
    }
    g_rand_free(rng);
    finish(op);
}

static void test_from_int(void)
{
    static const int64_t v[] = { 0, 1, -1, 2, 0x7fff, -0x8000, 0x7fffffff, INT64_MIN,
                                 INT64_MAX, -0x80000000ll, 12345678901234ll, -3 };
    unsigned long n = 0;
    for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct x87_float h, s = x87_from_int(v[i]);
        __asm__ __volatile__("fninit\n\tfildll %[v]\n\tfstpt %[r]" : [r] "=m"(h) : [v] "m"(v[i])
                     : "memory", "st");
        g_assert_cmphex(h.mant, ==, s.mant);
        g_assert_cmphex(h.sign_exp, ==, s.sign_exp);
        n++;
    }
    GRand *rng = g_rand_new_with_seed(0x387);
    for (unsigned long k = cases_wanted(); k; k--) {
        int64_t x = (int64_t)(((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng));
        x >>= g_rand_int_range(rng, 0, 64);
        struct x87_float h, s = x87_from_int(x);
        __asm__ __volatile__("fninit\n\tfildll %[v]\n\tfstpt %[r]" : [r] "=m"(h) : [v] "m"(x)
                     : "memory", "st");
        g_assert_cmphex(h.mant, ==, s.mant);
        g_assert_cmphex(h.sign_exp, ==, s.sign_exp);
        n++;
    }
    g_rand_free(rng);
    g_test_message("fild: %lu cases", n);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    static const struct { const char *path; enum op op; void (*fn)(gconstpointer); } t[] = {
        { "/x87-float/add", OP_ADD, test_binary },
        { "/x87-float/sub", OP_SUB, test_binary },
        { "/x87-float/mul", OP_MUL, test_binary },
        { "/x87-float/div", OP_DIV, test_binary },
        { "/x87-float/fcom", OP_FCOM, test_binary },
        { "/x87-float/fucom", OP_FUCOM, test_binary },
        { "/x87-float/fscale", OP_SCALE, test_binary },
        { "/x87-float/fxam", OP_FXAM, test_unary },
        { "/x87-float/fxtract", OP_XTRACT, test_unary },
        { "/x87-float/fprem", OP_PREM, test_binary },
        { "/x87-float/fprem1", OP_PREM1, test_binary },
        { "/x87-float/sqrt", OP_SQRT, test_unary },
        { "/x87-float/frndint", OP_RND, test_unary },
        { "/x87-float/fist16", OP_FIST16, test_unary },
        { "/x87-float/fist32", OP_FIST32, test_unary },
        { "/x87-float/fistp64", OP_FIST64, test_unary },
        { "/x87-float/fisttp64", OP_FISTT64, test_unary },
        { "/x87-float/fst32", OP_FST32, test_unary },
        { "/x87-float/fst64", OP_FST64, test_unary },
        { "/x87-float/fld32", OP_FLD32, test_load },
        { "/x87-float/fld64", OP_FLD64, test_load },
    };
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        g_test_add_data_func(t[i].path, GINT_TO_POINTER(t[i].op), t[i].fn);
    }
    g_test_add_func("/x87-float/fild", test_from_int);
    return g_test_run();
}
