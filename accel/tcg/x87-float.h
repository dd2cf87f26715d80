/*
 * Software x87 arithmetic core: IEEE 754 double-extended numbers as the x87
 * FPU computes them (SDM vol. 1, chapter 8), used by the x87 instruction
 * handlers.  Integer arithmetic only; no host floating point.
 *
 * A struct x87_ctx carries the control word (precision, rounding, masks,
 * SDM vol. 1, 8.1.5) and collects the status-word exception bits and C1
 * (SDM vol. 1, 8.1.3) each operation raises.  An operation whose unmasked
 * invalid/denormal/zero-divide exception means the destination must not be
 * written (SDM vol. 1, 8.5) sets ctx->no_store.
 *
 * Threads: pure functions of their arguments and the context passed in.
 */
#ifndef HYVM_ACCEL_TCG_X87_FLOAT_H
#define HYVM_ACCEL_TCG_X87_FLOAT_H

#include <stdbool.h>
#include <stdint.h>

/* 80-bit register format: 64-bit significand with explicit integer bit. */
struct x87_float {
    uint64_t mant;
    uint16_t sign_exp;
};

/* Status-word bits (SDM vol. 1, figure 8-4). */
#define X87_SW_IE 0x0001u
#define X87_SW_DE 0x0002u
#define X87_SW_ZE 0x0004u
#define X87_SW_OE 0x0008u
#define X87_SW_UE 0x0010u
#define X87_SW_PE 0x0020u
#define X87_SW_EXC 0x003fu
#define X87_SW_C0 0x0100u
#define X87_SW_C1 0x0200u
#define X87_SW_C2 0x0400u
#define X87_SW_C3 0x4000u

/* Control-word fields (SDM vol. 1, figure 8-6). */
#define X87_CW_PC_SHIFT 8
#define X87_CW_PC_24 0x0000u
#define X87_CW_PC_53 0x0200u
#define X87_CW_PC_64 0x0300u
#define X87_CW_RC_SHIFT 10
#define X87_CW_RC_NEAR 0x0000u
#define X87_CW_RC_DOWN 0x0400u
#define X87_CW_RC_UP 0x0800u
#define X87_CW_RC_ZERO 0x0c00u
#define X87_CW_DEFAULT 0x037fu      /* after FNINIT */

struct x87_ctx {
    uint16_t cw;       /* control word in effect */
    uint16_t sw;       /* exception bits accumulate; C1 is set per operation */
    bool no_store;     /* last operation must leave its destination alone */
};

/* Comparison outcomes, coded as FSW C3/C2/C0 (SDM vol. 2, FCOM). */
enum x87_cmp {
    X87_CMP_GT = 0,
    X87_CMP_LT = X87_SW_C0,
    X87_CMP_EQ = X87_SW_C3,
    X87_CMP_UN = X87_SW_C3 | X87_SW_C2 | X87_SW_C0,
};

/* The QNaN floating-point indefinite (SDM vol. 1, table 4-3). */
#define X87_INDEFINITE ((struct x87_float){ 0xc000000000000000ull, 0xffff })

void x87_ctx_init(struct x87_ctx *ctx, uint16_t cw);

struct x87_float x87_add(struct x87_ctx *ctx, struct x87_float a, struct x87_float b);
struct x87_float x87_sub(struct x87_ctx *ctx, struct x87_float a, struct x87_float b);
struct x87_float x87_mul(struct x87_ctx *ctx, struct x87_float a, struct x87_float b);
struct x87_float x87_div(struct x87_ctx *ctx, struct x87_float a, struct x87_float b);
struct x87_float x87_sqrt(struct x87_ctx *ctx, struct x87_float a);
struct x87_float x87_rndint(struct x87_ctx *ctx, struct x87_float a);
/* quiet: FUCOM* (invalid only for SNaN); else FCOM* (invalid for any NaN). */
enum x87_cmp x87_compare(struct x87_ctx *ctx, struct x87_float a, struct x87_float b,
                         bool quiet);

/* FSCALE: a * 2^trunc(b). */
struct x87_float x87_scale(struct x87_ctx *ctx, struct x87_float a, struct x87_float b);
/*
 * FPREM (ieee false: truncated quotient) and FPREM1 (ieee true: nearest).
 * Sets C2 when only a partial remainder was computed, else the quotient's
 * low bits Q2, Q1, Q0 in C0, C3, C1 (SDM vol. 2, FPREM).
 */
struct x87_float x87_prem(struct x87_ctx *ctx, struct x87_float a, struct x87_float b,
                          bool ieee);
/* FXTRACT: returns the significand (exponent 0), the exponent in *exp. */
struct x87_float x87_xtract(struct x87_ctx *ctx, struct x87_float a, struct x87_float *exp);
/* FXAM of a non-empty register: C3/C2/C1/C0 (SDM vol. 2, FXAM). */
uint16_t x87_examine(struct x87_float a);

struct x87_float x87_from_int(int64_t v);
/* bits = 16, 32 or 64; truncate for FISTTP.  Out of range: integer indefinite. */
int64_t x87_to_int(struct x87_ctx *ctx, struct x87_float a, unsigned bits, bool truncate);
struct x87_float x87_from_f32(struct x87_ctx *ctx, uint32_t v);
struct x87_float x87_from_f64(struct x87_ctx *ctx, uint64_t v);
uint32_t x87_to_f32(struct x87_ctx *ctx, struct x87_float a);
uint64_t x87_to_f64(struct x87_ctx *ctx, struct x87_float a);

#endif
