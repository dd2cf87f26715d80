/*
 * The differential tester (issue 5, item 5): one instruction runs with the
 * same registers, flags and memory on the host CPU (diff-native.c, in a
 * forked child) and on the software CPU (diff-soft.c); test-diff.c compares
 * every general register, RIP, the arithmetic flags, the data pages and the
 * exception vector, and for x87/MMX/SSE cases the x87/SSE state (struct
 * diff_fpu).  diff-gen.c (with diff-gen-fp.c) makes the cases.
 *
 * Cases run in 64-bit mode, in compatibility mode (32-bit code) and in
 * 16-bit protected mode, at CPL 3 as a Linux process does; a case is one
 * instruction, or a short sequence (a segment load and a read-back).
 *
 * Both sides use the same linear addresses, low enough that a 32-bit
 * displacement reaches them:
 *   DIFF_CODE   one page of int3 (0xCC) with the instruction at
 *               DIFF_INSN_OFF, so a branch that lands in the page stops on
 *               an int3 and tells where it landed;
 *   DIFF_DATA   DIFF_DATA_SIZE bytes of data (and stack), readable and
 *               writable, not executable; the pages around it are not
 *               accessible, so an access past either end is a #PF.
 *
 * Threads: all of it runs on the test's one thread (and the native child).
 */
#ifndef HYVM_TESTS_DIFF_H
#define HYVM_TESTS_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIFF_CODE       0x10000000ull
#define DIFF_CODE_SIZE  0x1000u
#define DIFF_INSN_OFF   0x800u
#define DIFF_INSN_ADDR  (DIFF_CODE + DIFF_INSN_OFF)
#define DIFF_DATA       0x10010000ull
#define DIFF_DATA_SIZE  0x2000u

/* RFLAGS bits the tester loads and compares: the six arithmetic flags
 * and DF (SDM vol. 1, 3.4.3). */
#define DIFF_FLAGS_ARITH 0x8d5ull          /* OF SF ZF AF PF CF */
#define DIFF_FLAGS_DF    0x400ull
#define DIFF_FLAGS_MASK  (DIFF_FLAGS_ARITH | DIFF_FLAGS_DF)
/* The bits a user-mode RFLAGS always has: IF and the fixed bit 1. */
#define DIFF_FLAGS_FIXED 0x202ull

/* 64-bit mode, compatibility mode (32-bit code segment 0x23) and 16-bit
 * protected mode (a 16-bit code segment in the LDT, see diff-native.c). */
enum diff_mode { DIFF_MODE64 = 64, DIFF_MODE32 = 32, DIFF_MODE16 = 16 };

/* 16-bit mode: LDT selectors (TI = 1, RPL 3) of a 16-bit code segment
 * based at DIFF_CODE and a 16-bit data segment based at DIFF_DATA with
 * limit DIFF_DATA_SIZE - 1, loaded into CS and DS/ES/SS. */
#define DIFF_SEL16_CS 0x07
#define DIFF_SEL16_DS 0x0f

struct diff_patch {
    uint16_t off;           /* offset in the data area */
    uint8_t len;            /* 1..64 */
    uint8_t bytes[64];
};

#define DIFF_MAX_PATCH 4

/*
 * The x87, MMX and SSE state a case starts from and ends with: what FXSAVE
 * holds (SDM vol. 1, 10.5.1, table 10-2) but for FOP, FIP and FDP, which
 * are not set up nor compared: AMD saves them only while an exception is
 * pending (FSW.ES), and they say nothing about the result of the
 * instruction; the freestanding guests check FSTENV/FXSAVE instead.
 */
struct diff_fpu {
    uint16_t fcw, fsw;
    uint8_t ftw;            /* abridged: bit i set = physical R(i) valid */
    uint32_t mxcsr;
    struct { uint64_t mant; uint16_t exp; } st[8];  /* ST(i), stack order */
    uint64_t xmm[16][2];
};

/* One case: the instruction (or a short sequence: the tester runs until
 * RIP leaves the bytes) and the state it starts from. */
/* Longer than the 15 an instruction may have, for the #GP(0) of an
 * over-long one (SDM vol. 2, 2.3.11). */
#define DIFF_MAX_LEN 24

struct diff_case {
    uint8_t bytes[DIFF_MAX_LEN];
    uint8_t len;
    uint8_t mode;           /* enum diff_mode */
    uint16_t tmpl;          /* index into the generator's templates */
    uint64_t regs[16];
    uint64_t rflags;        /* only DIFF_FLAGS_MASK bits; IF|1 are added */
    uint64_t mem_seed;      /* the data area is filled from this ... */
    uint8_t npatch;         /* ... then these are written over it */
    struct diff_patch patch[DIFF_MAX_PATCH];
    /* What not to compare: registers whose value is the host's own
     * (cpuid, rdtsc, rdrand) and flags the SDM leaves undefined when the
     * host is not the vendor the executor matches. */
    uint16_t reg_ignore;
    uint64_t flags_ignore;
    /* x87/SSE cases: the state is loaded and compared (with FSW bits the
     * SDM leaves undefined masked off a host that is not AMD). */
    bool fpu_on;
    /* A #PF of an access of many pieces (FRSTOR, FLDENV) that crosses into
     * an unmapped page: the order of the pieces, and so CR2, is the
     * implementation's (SDM vol. 1, 8.1.10 says nothing of it). */
    bool cr2_any;
    uint16_t fsw_ignore;
    struct diff_fpu fpu;
    /* Data bytes not compared (offsets in the data area): the
     * instruction and data pointers an FNSTENV/FNSAVE/FXSAVE image holds,
     * and the host's own MXCSR_MASK bits in an FXSAVE image (AMD's MM,
     * bit 17, which the software CPU's model does not have). */
    uint16_t ign_off[2], ign_len[2];
    /* FXRSTOR cases: the FXSAVE image of fx is written at fx_off of the
     * data area (after the patches; what falls outside is left out). */
    bool fx_img;
    uint16_t fx_off;
    struct diff_fpu fx;
};

enum diff_outcome {
    DIFF_DONE,              /* completed; rip is the next instruction */
    DIFF_EXCEPTION,         /* vector set; rip at the faulting insn */
    DIFF_CRASH,             /* native: the child died or timed out */
    DIFF_STUCK,             /* soft: the step did not finish (halt, stop, loop) */
};

struct diff_result {
    uint8_t outcome;        /* enum diff_outcome */
    uint8_t vector;
    uint32_t error_code;
    uint64_t cr2;
    uint64_t regs[16];
    uint64_t rip;
    uint64_t rflags;
    uint16_t cs, ss;        /* selectors after the case */
    bool ss_valid;          /* native: the kernel reported SS */
    bool fpu_valid;         /* native: the signal frame had the FPU state */
    struct diff_fpu fpu;
    uint8_t data[DIFF_DATA_SIZE];
};

/* ---- diff-gen.c ---- */
struct diff_rng { uint64_t s[2]; };
void diff_rng_seed(struct diff_rng *r, uint64_t seed);
uint64_t diff_rng_next(struct diff_rng *r);

/* Fills the data area for c (mem_seed, then the patches). */
void diff_fill_data(const struct diff_case *c, uint8_t *data);

struct diff_tmpl;
unsigned diff_tmpl_count(void);
const char *diff_tmpl_group(unsigned t);    /* test name: "add", "shl", ... */
unsigned diff_tmpl_op(unsigned t);          /* OP_* of insn-ops.h */
const char *diff_tmpl_desc(unsigned t);     /* form, for messages */
/* The software CPU's files a template's handler lives in (DIFF_NEED_*):
 * a group is skipped until they all exist.  And the host CPU features the
 * native side needs (DIFF_HOST_*). */
#define DIFF_NEED_X87     0x01      /* accel/tcg/exec-x87.c */
#define DIFF_NEED_FPSTATE 0x02      /* accel/tcg/exec-fpstate.c */
#define DIFF_NEED_SSE     0x04      /* accel/tcg/exec-sse.c */
#define DIFF_NEED_SSEINT  0x08      /* accel/tcg/exec-sse-int.c */
#define DIFF_NEED_SSEFP   0x10      /* accel/tcg/exec-sse-fp.c */
#define DIFF_NEED_COUNT   5
extern const char *const diff_need_files[DIFF_NEED_COUNT];
unsigned diff_tmpl_needs(unsigned t);
enum diff_host_feat {
    DIFF_HOST_NONE, DIFF_HOST_SSE3, DIFF_HOST_SSSE3, DIFF_HOST_SSE41, DIFF_HOST_SSE42,
    DIFF_HOST_PCLMUL,
};
unsigned diff_tmpl_host_feat(unsigned t);
struct diff_gen_opts {
    bool mask_undefined;    /* the host is not AMD: don't compare undefined flags */
    bool mode16;            /* the native side can run 16-bit cases */
};
/* Makes one case of template t. */
void diff_gen_case(unsigned t, struct diff_rng *r, const struct diff_gen_opts *o,
                   struct diff_case *c);

/* ---- diff-gen-fp.c: x87/SSE values and states for diff-gen.c ---- */
enum diff_fpval {
    FV_NONE,
    FV_F32, FV_F64, FV_F80,             /* one float of the format */
    FV_I16, FV_I32, FV_I64, FV_BCD,     /* x87 integer and packed-BCD loads */
    FV_PS, FV_PD,                       /* vectors of floats (per 4/8 bytes) */
    FV_INT,                             /* integer lanes with edge values */
    FV_STR,                             /* PCMPxSTRx strings: few letters, NULs */
    FV_MXCSR,                           /* an MXCSR image, reserved bits now and then */
    FV_FCW,                             /* an x87 control word */
};
enum diff_fpkind { FPK_NONE, FPK_X87, FPK_MMX, FPK_SSE };
/* Fills n bytes at out with values of type v. */
void diff_fp_fill(struct diff_rng *r, enum diff_fpval v, uint8_t *out, unsigned n);
/* A random starting state for an instruction of kind k whose register
 * operands hold values of type v. */
void diff_fp_state(struct diff_rng *r, enum diff_fpkind k, enum diff_fpval v,
                   struct diff_fpu *f);
/* The FXSAVE image (512 bytes, SDM vol. 1, table 10-2) of f, with FOP,
 * FIP and FDP zero and MXCSR_MASK 0xffff. */
void diff_fx_image(const struct diff_fpu *f, uint8_t *fx);
/* The 80-bit value of a float32/float64/int, exact (for equal operands). */
void diff_fp_to_f80(enum diff_fpval v, const uint8_t *in, uint64_t *mant, uint16_t *exp);

/* ---- diff-disasm.c ---- */
/* capstone's reading of c->bytes, for reports. */
void diff_disasm(const struct diff_case *c, char *buf, size_t n);

/* ---- diff-native.c ---- */
struct diff_native;
/* NULL with *why set if the host cannot run the native side. */
struct diff_native *diff_native_new(const char **why);
void diff_native_free(struct diff_native *n);
/* The child could build its LDT (modify_ldt), so 16-bit cases can run. */
bool diff_native_has_mode16(const struct diff_native *n);
/* Runs n cases, results[i] for cases[i]. */
void diff_native_run(struct diff_native *n, const struct diff_case *cases,
                     struct diff_result *results, unsigned count);

/* ---- diff-soft.c ---- */
struct diff_soft;
struct diff_soft *diff_soft_new(void);
void diff_soft_free(struct diff_soft *s);
void diff_soft_run(struct diff_soft *s, const struct diff_case *c,
                   struct diff_result *res);
/* Runs the next cases through the translator (-accel tcg,jit=on) or the interpreter; false
 * when the translator's code buffer cannot be made here. */
bool diff_soft_use_jit(struct diff_soft *s, bool on);

#endif
