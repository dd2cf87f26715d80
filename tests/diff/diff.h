/*
 * The differential tester (issue 5, item 5): one instruction runs with the
 * same registers, flags and memory on the host CPU (diff-native.c, in a
 * forked child) and on the software CPU (diff-soft.c); test-diff.c compares
 * every general register, RIP, the arithmetic flags, the data pages and the
 * exception vector.  diff-gen.c makes the cases.
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
struct diff_gen_opts {
    bool mask_undefined;    /* the host is not AMD: don't compare undefined flags */
    bool mode16;            /* the native side can run 16-bit cases */
};
/* Makes one case of template t. */
void diff_gen_case(unsigned t, struct diff_rng *r, const struct diff_gen_opts *o,
                   struct diff_case *c);

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

#endif
