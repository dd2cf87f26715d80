/*
 * The translator's code buffer and x86-64 emitter (accel/tcg/jit-buf.c, jit-emit.h): functions
 * are emitted into the buffer and called through its exec view with the SysV ABI; encodings
 * are checked against capstone's disassembly and a few byte strings known from objdump; the
 * buffer is checked never to be writable and executable at once in /proc/self/maps.
 *
 * Threads: one; the seccomp cases run in a forked subprocess (g_test_trap_subprocess).
 */
#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <capstone/capstone.h>

#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-emit.h"
#include "system/error.h"

typedef uint64_t (*fn0)(void);
typedef uint64_t (*fn1)(uint64_t);
typedef uint64_t (*fn2)(uint64_t, uint64_t);

static struct jit_buf *test_buf(void)
{
    GError *err = NULL;
    struct jit_buf *b = jit_buf_create(1 << 20, &err);

    g_assert_no_error(err);
    g_assert_nonnull(b);
    return b;
}

/* Starts an emission at the buffer's write pointer. */
static void begin(struct jit_buf *b, struct jit_emit *e)
{
    if (jit_buf_free_space(b) < 4096) {
        jit_buf_reset(b);
    }
    jit_emit_init(e, jit_buf_write_ptr(b), jit_buf_write_end(b), jit_buf_rx_offset(b));
}

/* Ends it and returns the code's exec-view address as a function pointer value. */
static const void *finish(struct jit_buf *b, struct jit_emit *e)
{
    g_assert_false(e->overflow);
    return jit_buf_commit(b, e->p);
}

/* ISO C forbids casting an object pointer to a function pointer; go through an integer. */
#define AS_FN(type, p) ((type)(uintptr_t)(p))

/* ---- Running code ------------------------------------------------------------------------ */

static void test_imm(void)
{
    static const uint64_t vals[] = {
        0, 1, 0x7f, 0x80000000, 0xffffffff, 0x100000000ull, 0x123456789abcdef0ull,
        0xffffffff80000000ull, 0xffffffffffffffffull, 0x8000000000000000ull,
    };
    struct jit_buf *b = test_buf();

    for (size_t i = 0; i < G_N_ELEMENTS(vals); i++) {
        for (int form = 0; form < 2; form++) {
            struct jit_emit e;

            begin(b, &e);
            /* Dirty RAX first so that a 32-bit form must zero the upper half. */
            jit_emit_mov_r64_imm64(&e, JIT_RAX, 0xdeadbeefcafef00dull);
            if (form == 0) {
                jit_emit_mov_r64_imm64(&e, JIT_RAX, vals[i]);
            } else {
                jit_emit_movi(&e, JIT_R9, vals[i]);
                jit_emit_mov_rr(&e, JIT_RAX, JIT_R9);
            }
            jit_emit_ret(&e);
            g_assert_cmphex(AS_FN(fn0, finish(b, &e))(), ==, vals[i]);
        }
    }
    jit_buf_destroy(b);
}

static uint64_t alu_ref(enum jit_alu op, bool w64, uint64_t a, uint64_t b)
{
    uint64_t r = 0;

    switch (op) {
    case JIT_ADD: r = a + b; break;
    case JIT_OR: r = a | b; break;
    case JIT_AND: r = a & b; break;
    case JIT_SUB: r = a - b; break;
    case JIT_XOR: r = a ^ b; break;
    case JIT_CMP: r = a; break;
    default: g_assert_not_reached();
    }
    return w64 ? r : (uint32_t)r;
}

/* dst op= src through registers that need REX.R/REX.B, and op= imm in both immediate forms. */
static void test_alu(void)
{
    static const enum jit_alu ops[] = { JIT_ADD, JIT_OR, JIT_AND, JIT_SUB, JIT_XOR, JIT_CMP };
    static const enum jit_reg dsts[] = { JIT_RAX, JIT_RCX, JIT_R10 };
    static const int32_t imms[] = { 0, 5, -1, 127, -128, 128, -129, 0x12345678, INT32_MIN };
    const uint64_t a = 0x0123456789abcdefull, bv = 0x00000000f0f0f0f1ull;
    struct jit_buf *b = test_buf();
    struct jit_emit e;
    fn2 add;

    /* The brief's first function: rdi + rsi -> rax. */
    begin(b, &e);
    jit_emit_mov_rr(&e, JIT_RAX, JIT_RDI);
    jit_emit_alu_rr(&e, JIT_ADD, true, JIT_RAX, JIT_RSI);
    jit_emit_ret(&e);
    add = AS_FN(fn2, finish(b, &e));
    g_assert_cmphex(add(40, 2), ==, 42);
    g_assert_cmphex(add(UINT64_MAX, 3), ==, 2);

    for (size_t o = 0; o < G_N_ELEMENTS(ops); o++) {
        for (size_t d = 0; d < G_N_ELEMENTS(dsts); d++) {
            for (int w = 0; w < 2; w++) {
                begin(b, &e);
                jit_emit_mov_rr(&e, dsts[d], JIT_RDI);
                jit_emit_mov_rr(&e, JIT_R11, JIT_RSI);
                jit_emit_alu_rr(&e, ops[o], w, dsts[d], JIT_R11);
                if (!w && ops[o] == JIT_CMP) {
                    jit_emit_mov32_rr(&e, dsts[d], dsts[d]);
                }
                jit_emit_mov_rr(&e, JIT_RAX, dsts[d]);
                jit_emit_ret(&e);
                g_assert_cmphex(AS_FN(fn2, finish(b, &e))(a, bv), ==, alu_ref(ops[o], w, a, bv));

                for (size_t i = 0; i < G_N_ELEMENTS(imms); i++) {
                    uint64_t imm = (uint64_t)(int64_t)imms[i];

                    begin(b, &e);
                    jit_emit_mov_rr(&e, dsts[d], JIT_RDI);
                    jit_emit_alu_ri(&e, ops[o], w, dsts[d], imms[i]);
                    if (!w && ops[o] == JIT_CMP) {
                        jit_emit_mov32_rr(&e, dsts[d], dsts[d]);
                    }
                    jit_emit_mov_rr(&e, JIT_RAX, dsts[d]);
                    jit_emit_ret(&e);
                    g_assert_cmphex(AS_FN(fn1, finish(b, &e))(a), ==,
                                    alu_ref(ops[o], w, a, w ? imm : (uint32_t)imm));
                }
            }
        }
    }
    jit_buf_destroy(b);
}

/*
 * sum(1..n): a forward jump to the loop test patched after the loop body is emitted, and a
 * backward jcc to a label:
 *     xor eax, eax; mov rcx, rdi; jmp test
 * top: add rax, rcx; sub rcx, 1
 * test: cmp rcx, 0; jne top; ret
 */
static void test_loop(void)
{
    static const uint64_t ns[] = { 0, 1, 2, 10, 100000 };
    struct jit_buf *b = test_buf();
    struct jit_emit e;
    uint8_t *fwd, *top;
    fn1 f;

    begin(b, &e);
    jit_emit_alu_rr(&e, JIT_XOR, false, JIT_RAX, JIT_RAX);
    jit_emit_mov_rr(&e, JIT_RCX, JIT_RDI);
    fwd = jit_emit_jmp(&e, NULL);
    top = jit_emit_label(&e);
    jit_emit_alu_rr(&e, JIT_ADD, true, JIT_RAX, JIT_RCX);
    jit_emit_alu_ri(&e, JIT_SUB, true, JIT_RCX, 1);
    jit_patch_rel32(fwd, jit_emit_label(&e));
    jit_emit_alu_ri(&e, JIT_CMP, true, JIT_RCX, 0);
    jit_emit_jcc(&e, JIT_CC_NE, top);
    jit_emit_ret(&e);
    f = AS_FN(fn1, finish(b, &e));
    for (size_t i = 0; i < G_N_ELEMENTS(ns); i++) {
        g_assert_cmpuint(f(ns[i]), ==, ns[i] * (ns[i] + 1) / 2);
    }

    /* An aligned jump's rel32 is 4-byte aligned in both views (for atomic chaining patches). */
    begin(b, &e);
    jit_emit_nops(&e, 1);
    fwd = jit_emit_jmp_aligned(&e, NULL);
    g_assert_cmpuint((uintptr_t)fwd & 3, ==, 0);
    g_assert_cmpuint((uintptr_t)jit_buf_rx(b, fwd) & 3, ==, 0);
    jit_emit_movi(&e, JIT_RAX, 1);
    jit_emit_ret(&e);
    jit_patch_rel32(fwd, jit_emit_label(&e));
    jit_emit_movi(&e, JIT_RAX, 2);
    jit_emit_ret(&e);
    g_assert_cmpuint(AS_FN(fn0, finish(b, &e))(), ==, 2);
    jit_buf_destroy(b);
}

/* ---- Loads and stores -------------------------------------------------------------------- */

#define MEM_HALF 0x20000
static uint8_t mem[2 * MEM_HALF] __attribute__((aligned(64)));

static const enum jit_reg mem_bases[] = {
    JIT_RAX, JIT_RCX, JIT_RDX, JIT_RBX, JIT_RSP, JIT_RBP, JIT_RSI, JIT_RDI,
    JIT_R8, JIT_R11, JIT_R12, JIT_R13, JIT_R15,
};
static const int32_t mem_disps[] = {
    0, 1, -1, 8, 127, -128, 128, -129, 0x1000, -0x1000, 0x12345, -0x1fff0,
};

/*
 * The frame around a memory access: callee-saved registers on the stack, RSP saved in R14
 * (so RSP itself can be a base, pointing into mem for the duration), the pointer argument in
 * RAX.  Returns through RDX -> RAX.
 */
static void mem_prologue(struct jit_emit *e)
{
    jit_emit_push(e, JIT_RBX);
    jit_emit_push(e, JIT_RBP);
    jit_emit_push(e, JIT_R12);
    jit_emit_push(e, JIT_R13);
    jit_emit_push(e, JIT_R14);
    jit_emit_push(e, JIT_R15);
    jit_emit_mov_rr(e, JIT_R14, JIT_RSP);
    jit_emit_mov_rr(e, JIT_RAX, JIT_RDI);
}

static void mem_epilogue(struct jit_emit *e)
{
    jit_emit_mov_rr(e, JIT_RSP, JIT_R14);
    jit_emit_pop(e, JIT_R15);
    jit_emit_pop(e, JIT_R14);
    jit_emit_pop(e, JIT_R13);
    jit_emit_pop(e, JIT_R12);
    jit_emit_pop(e, JIT_RBP);
    jit_emit_pop(e, JIT_RBX);
    jit_emit_mov_rr(e, JIT_RAX, JIT_RDX);
    jit_emit_ret(e);
}

static uint64_t load_ref(enum jit_size sz, bool sign, const uint8_t *p)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    switch (sz) {
    case JIT_S8: memcpy(&u8, p, 1); return sign ? (uint64_t)(int8_t)u8 : u8;
    case JIT_S16: memcpy(&u16, p, 2); return sign ? (uint64_t)(int16_t)u16 : u16;
    case JIT_S32: memcpy(&u32, p, 4); return sign ? (uint64_t)(int32_t)u32 : u32;
    default: memcpy(&u64, p, 8); return u64;
    }
}

static void test_load_one(struct jit_buf *b, enum jit_reg base, int32_t disp, enum jit_size sz,
                          bool sign)
{
    uint8_t *mid = mem + MEM_HALF;
    struct jit_emit e;

    begin(b, &e);
    mem_prologue(&e);
    jit_emit_movi(&e, JIT_RDX, 0x5555555555555555ull);     /* must be overwritten entirely */
    jit_emit_mov_rr(&e, base, JIT_RAX);
    jit_emit_ld(&e, sz, sign, JIT_RDX, base, disp);
    mem_epilogue(&e);
    g_assert_cmphex(AS_FN(fn1, finish(b, &e))((uintptr_t)mid), ==,
                    load_ref(sz, sign, mid + disp));
}

/* The stored value sits in src, a register other than base, RAX and R14. */
static enum jit_reg store_src(enum jit_reg base, unsigned salt)
{
    static const enum jit_reg srcs[] = {
        JIT_RSI, JIT_RDI, JIT_RBP, JIT_RBX, JIT_RCX, JIT_R9, JIT_R12, JIT_R13, JIT_RDX,
    };
    enum jit_reg r = srcs[salt % G_N_ELEMENTS(srcs)];

    return r == base ? srcs[(salt + 1) % G_N_ELEMENTS(srcs)] : r;
}

static void test_store_one(struct jit_buf *b, enum jit_reg base, int32_t disp, enum jit_size sz,
                           unsigned salt)
{
    const uint64_t val = 0x8899aabbccddeeffull ^ ((uint64_t)salt << 40);
    uint8_t *mid = mem + MEM_HALF, want[16], *at = mid + disp - 4;
    enum jit_reg src = store_src(base, salt);
    size_t n = (size_t)1 << sz;
    struct jit_emit e;

    begin(b, &e);
    mem_prologue(&e);
    jit_emit_mov_rr(&e, src, JIT_RSI);
    jit_emit_mov_rr(&e, base, JIT_RAX);
    jit_emit_st(&e, sz, src, base, disp);
    jit_emit_movi(&e, JIT_RDX, 0);
    mem_epilogue(&e);

    memset(at, 0x11, 16);
    memset(want, 0x11, 16);
    memcpy(want + 4, &val, n);
    AS_FN(fn2, finish(b, &e))((uintptr_t)mid, val);
    g_assert_cmpmem(at, 16, want, 16);      /* exactly n bytes written, no neighbours */
}

static void test_load_store(void)
{
    struct jit_buf *b = test_buf();
    unsigned salt = 0;

    for (size_t i = 0; i < sizeof(mem); i++) {
        mem[i] = (uint8_t)(0x80 + i * 7 + (i >> 8));    /* high bits set: sign matters */
    }
    for (size_t bi = 0; bi < G_N_ELEMENTS(mem_bases); bi++) {
        for (size_t di = 0; di < G_N_ELEMENTS(mem_disps); di++) {
            for (enum jit_size sz = JIT_S8; sz <= JIT_S64; sz++) {
                test_load_one(b, mem_bases[bi], mem_disps[di], sz, false);
                test_load_one(b, mem_bases[bi], mem_disps[di], sz, true);
            }
        }
    }
    for (size_t bi = 0; bi < G_N_ELEMENTS(mem_bases); bi++) {
        for (size_t di = 0; di < G_N_ELEMENTS(mem_disps); di++) {
            for (enum jit_size sz = JIT_S8; sz <= JIT_S64; sz++) {
                test_store_one(b, mem_bases[bi], mem_disps[di], sz, salt++);
            }
        }
    }
    jit_buf_destroy(b);
}

/* Stores of immediates and LEA with and without an index. */
static void test_st_imm_lea(void)
{
    struct jit_buf *b = test_buf();
    uint64_t slot[4] = { ~0ull, ~0ull, ~0ull, ~0ull };
    struct jit_emit e;

    begin(b, &e);
    jit_emit_st_imm32(&e, false, JIT_RDI, 0, 0x12345678);
    jit_emit_st_imm32(&e, true, JIT_RDI, 8, -2);
    jit_emit_st_imm32(&e, true, JIT_RDI, 16, 0x7fffffff);
    jit_emit_ret(&e);
    AS_FN(fn1, finish(b, &e))((uintptr_t)slot);
    g_assert_cmphex(slot[0], ==, 0xffffffff12345678ull);
    g_assert_cmphex(slot[1], ==, 0xfffffffffffffffeull);
    g_assert_cmphex(slot[2], ==, 0x7fffffffull);
    g_assert_cmphex(slot[3], ==, ~0ull);

    begin(b, &e);
    jit_emit_push(&e, JIT_R12);     /* callee-saved */
    jit_emit_push(&e, JIT_R13);
    jit_emit_mov_rr(&e, JIT_R13, JIT_RDI);
    jit_emit_mov_rr(&e, JIT_R12, JIT_RSI);
    jit_emit_lea(&e, JIT_RAX, JIT_R13, JIT_R12, 3, -0x100);
    jit_emit_pop(&e, JIT_R13);
    jit_emit_pop(&e, JIT_R12);
    jit_emit_ret(&e);
    g_assert_cmphex(AS_FN(fn2, finish(b, &e))(0x10000, 5), ==, 0x10000 + 5 * 8 - 0x100);

    begin(b, &e);
    jit_emit_lea(&e, JIT_RAX, JIT_RBP, JIT_NO_INDEX, 0, 0);
    jit_emit_lea(&e, JIT_RAX, JIT_RSP, JIT_NO_INDEX, 0, 8);
    jit_emit_alu_rr(&e, JIT_SUB, true, JIT_RAX, JIT_RSP);
    jit_emit_ret(&e);
    g_assert_cmphex(AS_FN(fn0, finish(b, &e))(), ==, 8);
    jit_buf_destroy(b);
}

/* ---- Calls ------------------------------------------------------------------------------- */

static uint64_t helper_calls;

static uint64_t helper(uint64_t a, uint64_t b)
{
    helper_calls++;
    return a * 3 + b;
}

/* push rbx (aligns the stack to 16 for the call); rsi += 1; call; rax += 100; pop rbx; ret. */
static fn2 emit_caller(struct jit_buf *b, bool far, uint8_t **call_at)
{
    struct jit_emit e;

    begin(b, &e);
    jit_emit_push(&e, JIT_RBX);
    jit_emit_alu_ri(&e, JIT_ADD, true, JIT_RSI, 1);
    *call_at = e.p;
    if (far) {
        jit_emit_call_far(&e, (uintptr_t)&helper, JIT_R11);
    } else {
        jit_emit_call(&e, (const void *)(uintptr_t)&helper);
    }
    jit_emit_alu_ri(&e, JIT_ADD, true, JIT_RAX, 100);
    jit_emit_pop(&e, JIT_RBX);
    jit_emit_ret(&e);
    return AS_FN(fn2, finish(b, &e));
}

static void test_call(void)
{
    struct jit_buf *b = test_buf();
    uint8_t *call_at;
    fn2 f;

    /* The exec view is placed near the program text, so the helper is in rel32 reach. */
    f = emit_caller(b, false, &call_at);
    if (call_at[0] != 0xe8) {
        g_test_message("exec view %p is far from the text (%p): call went through R11",
                       (void *)b->rx, (void *)(uintptr_t)&helper);
    }
    helper_calls = 0;
    g_assert_cmpuint(f(10, 1), ==, 10 * 3 + 2 + 100);
    g_assert_cmpuint(helper_calls, ==, 1);

    f = emit_caller(b, true, &call_at);
    g_assert_cmphex(call_at[0], ==, 0x49);      /* REX.W+B: mov r11, imm64 */
    g_assert_cmphex(call_at[1], ==, 0xbb);
    g_assert_cmpuint(f(7, 7), ==, 7 * 3 + 8 + 100);
    g_assert_cmpuint(helper_calls, ==, 2);
    jit_buf_destroy(b);
}

/* jit_emit_call picks the register form when the target is over 2 GiB away (not run). */
static void test_call_reach(void)
{
    uint8_t code[64];
    struct jit_emit e;
    uintptr_t here;

    jit_emit_init(&e, code, code + sizeof(code), 0x10000000);
    here = jit_emit_rx(&e, code);
    jit_emit_call(&e, (const void *)(here + 5 + INT32_MAX));
    g_assert_cmpint(e.p - code, ==, 5);
    g_assert_cmphex(code[0], ==, 0xe8);
    g_assert_cmphex(code[1] | code[2] << 8 | code[3] << 16 | (uint32_t)code[4] << 24, ==,
                    INT32_MAX);

    jit_emit_init(&e, code, code + sizeof(code), 0x10000000);
    jit_emit_call(&e, (const void *)(here + 5 + INT32_MAX + 1ull));
    g_assert_cmpint(e.p - code, ==, 13);
    g_assert_cmphex(code[0], ==, 0x49);
    g_assert_cmphex(code[1], ==, 0xbb);
    g_assert_cmphex(code[10], ==, 0x41);        /* call r11: 41 ff d3 */
    g_assert_cmphex(code[11], ==, 0xff);
    g_assert_cmphex(code[12], ==, 0xd3);

    jit_emit_init(&e, code, code + sizeof(code), 0x10000000);
    g_assert_true(jit_emit_call_rel32(&e, here + 5 + (uintptr_t)INT32_MIN));
    g_assert_false(jit_emit_call_rel32(&e, here + 5 - 0x80000001ull));
}

/* ---- Encodings --------------------------------------------------------------------------- */

static csh cs;

/* Decodes the one instruction in code[0, len) and compares capstone's text with want. */
static void check_insn(const uint8_t *code, size_t len, const char *want)
{
    cs_insn *ci;
    size_t n = cs_disasm(cs, code, len, 0x1000, 0, &ci);
    g_autofree char *hex = NULL;
    g_autofree char *got = NULL;
    GString *h = g_string_new(NULL);

    for (size_t i = 0; i < len; i++) {
        g_string_append_printf(h, "%02x ", code[i]);
    }
    hex = g_string_free(h, FALSE);
    g_assert_cmpuint(n, >=, 1);
    got = g_strdup_printf("%s%s%s", ci[0].mnemonic, ci[0].op_str[0] ? " " : "", ci[0].op_str);
    if (n != 1 || ci[0].size != len || strcmp(got, want) != 0) {
        /* Report every mismatch of the table, not just the first. */
        g_printerr("bytes %s: capstone says '%s' (%zu insns, %u bytes), expected '%s'\n", hex,
                   got, n, ci[0].size, want);
        g_test_fail();
    }
    cs_free(ci, n);
}

/* Emits stmt at address 0x1000 (exec view == write view offset) and checks it. */
#define ENC(want, stmt)                                                                       \
    do {                                                                                      \
        uint8_t code_[32];                                                                    \
        struct jit_emit e_;                                                                   \
        struct jit_emit *e = &e_;                                                             \
        jit_emit_init(e, code_, code_ + sizeof(code_), 0x1000 - (intptr_t)(uintptr_t)code_);  \
        stmt;                                                                                 \
        g_assert_false(e->overflow);                                                          \
        check_insn(code_, (size_t)(e->p - code_), want);                                      \
    } while (0)

/* Emits stmt and compares the bytes with a hex string (as objdump prints them). */
#define BYTES(want, stmt)                                                                     \
    do {                                                                                      \
        uint8_t code_[32];                                                                    \
        struct jit_emit e_;                                                                   \
        struct jit_emit *e = &e_;                                                             \
        jit_emit_init(e, code_, code_ + sizeof(code_), 0);                                    \
        stmt;                                                                                 \
        check_bytes(code_, (size_t)(e->p - code_), want);                                     \
    } while (0)

static void check_bytes(const uint8_t *code, size_t len, const char *want)
{
    GString *h = g_string_new(NULL);
    g_autofree char *got = NULL;

    for (size_t i = 0; i < len; i++) {
        g_string_append_printf(h, i ? " %02x" : "%02x", code[i]);
    }
    got = g_string_free(h, FALSE);
    g_assert_cmpstr(got, ==, want);
}

static void test_encodings(void)
{
    g_assert_cmpint(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), ==, CS_ERR_OK);

    ENC("mov rax, rcx", jit_emit_mov_rr(e, JIT_RAX, JIT_RCX));
    ENC("mov r15, rsp", jit_emit_mov_rr(e, JIT_R15, JIT_RSP));
    ENC("mov r8d, r9d", jit_emit_mov32_rr(e, JIT_R8, JIT_R9));
    ENC("movabs rax, 0x1122334455667788", jit_emit_mov_r64_imm64(e, JIT_RAX, 0x1122334455667788));
    ENC("movabs r13, 0xffffffffffffffff", jit_emit_mov_r64_imm64(e, JIT_R13, ~0ull));
    ENC("mov ecx, 0x80000000", jit_emit_mov_r32_imm32(e, JIT_RCX, 0x80000000));
    ENC("mov r10d, 0x7b", jit_emit_movi(e, JIT_R10, 123));
    ENC("mov rdx, -2", jit_emit_movi(e, JIT_RDX, (uint64_t)-2));

    /* Memory operands: rsp/r12 need a SIB, rbp/r13 a disp8 of 0, disp8 vs disp32 edges. */
    ENC("mov rax, qword ptr [rdi]", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RDI, 0));
    ENC("mov rax, qword ptr [rsp]", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RSP, 0));
    ENC("mov rax, qword ptr [r12]", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_R12, 0));
    ENC("mov rax, qword ptr [rbp]", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBP, 0));
    ENC("mov rax, qword ptr [r13]", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_R13, 0));
    ENC("mov r9, qword ptr [rsp + 0x7f]", jit_emit_ld(e, JIT_S64, false, JIT_R9, JIT_RSP, 127));
    ENC("mov r9, qword ptr [r12 - 0x80]",
        jit_emit_ld(e, JIT_S64, false, JIT_R9, JIT_R12, -128));
    ENC("mov r9, qword ptr [rbp + 0x80]", jit_emit_ld(e, JIT_S64, false, JIT_R9, JIT_RBP, 128));
    ENC("mov r9, qword ptr [r13 - 0x81]",
        jit_emit_ld(e, JIT_S64, false, JIT_R9, JIT_R13, -129));
    ENC("mov r9d, dword ptr [r11 + 0x12345678]",
        jit_emit_ld(e, JIT_S32, false, JIT_R9, JIT_R11, 0x12345678));
    ENC("movzx eax, byte ptr [rbx + 1]", jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_RBX, 1));
    ENC("movzx r15d, word ptr [r8]", jit_emit_ld(e, JIT_S16, false, JIT_R15, JIT_R8, 0));
    ENC("movsx rcx, byte ptr [rsi - 1]", jit_emit_ld(e, JIT_S8, true, JIT_RCX, JIT_RSI, -1));
    ENC("movsx rcx, word ptr [rsi + 2]", jit_emit_ld(e, JIT_S16, true, JIT_RCX, JIT_RSI, 2));
    ENC("movsxd rcx, dword ptr [r12 + 4]",
        jit_emit_ld(e, JIT_S32, true, JIT_RCX, JIT_R12, 4));
    ENC("mov byte ptr [rdi], sil", jit_emit_st(e, JIT_S8, JIT_RSI, JIT_RDI, 0));
    ENC("mov byte ptr [rax], spl", jit_emit_st(e, JIT_S8, JIT_RSP, JIT_RAX, 0));
    ENC("mov byte ptr [rax], bl", jit_emit_st(e, JIT_S8, JIT_RBX, JIT_RAX, 0));
    ENC("mov byte ptr [r13], r8b", jit_emit_st(e, JIT_S8, JIT_R8, JIT_R13, 0));
    ENC("mov word ptr [rsp + 8], r10w", jit_emit_st(e, JIT_S16, JIT_R10, JIT_RSP, 8));
    ENC("mov dword ptr [rbp - 4], edx", jit_emit_st(e, JIT_S32, JIT_RDX, JIT_RBP, -4));
    ENC("mov qword ptr [r12 + 0x100], r15", jit_emit_st(e, JIT_S64, JIT_R15, JIT_R12, 0x100));
    ENC("mov dword ptr [rdi + 8], 0x1234", jit_emit_st_imm32(e, false, JIT_RDI, 8, 0x1234));
    ENC("mov qword ptr [r13], -1",
        jit_emit_st_imm32(e, true, JIT_R13, 0, -1));
    ENC("lea rax, [rbx + rcx*8 + 0x10]", jit_emit_lea(e, JIT_RAX, JIT_RBX, JIT_RCX, 3, 16));
    ENC("lea r8, [r13 + r12]", jit_emit_lea(e, JIT_R8, JIT_R13, JIT_R12, 0, 0));
    ENC("lea rdx, [rsp - 0x1000]", jit_emit_lea(e, JIT_RDX, JIT_RSP, JIT_NO_INDEX, 0, -4096));

    /* ALU: r,r and the three immediate forms. */
    ENC("add rax, rsi", jit_emit_alu_rr(e, JIT_ADD, true, JIT_RAX, JIT_RSI));
    ENC("sub r8, r9", jit_emit_alu_rr(e, JIT_SUB, true, JIT_R8, JIT_R9));
    ENC("and ecx, r10d", jit_emit_alu_rr(e, JIT_AND, false, JIT_RCX, JIT_R10));
    ENC("or r11d, edx", jit_emit_alu_rr(e, JIT_OR, false, JIT_R11, JIT_RDX));
    ENC("xor eax, eax", jit_emit_alu_rr(e, JIT_XOR, false, JIT_RAX, JIT_RAX));
    ENC("cmp rdi, rsi", jit_emit_alu_rr(e, JIT_CMP, true, JIT_RDI, JIT_RSI));
    ENC("test r12, rbx", jit_emit_test_rr(e, true, JIT_R12, JIT_RBX));
    ENC("add rcx, 1", jit_emit_alu_ri(e, JIT_ADD, true, JIT_RCX, 1));
    ENC("sub r14, -0x80", jit_emit_alu_ri(e, JIT_SUB, true, JIT_R14, -128));
    ENC("and rax, 0x80", jit_emit_alu_ri(e, JIT_AND, true, JIT_RAX, 128));
    ENC("or ebx, 0x12345678", jit_emit_alu_ri(e, JIT_OR, false, JIT_RBX, 0x12345678));
    ENC("xor r9d, 0xffffff7f", jit_emit_alu_ri(e, JIT_XOR, false, JIT_R9, -129));
    ENC("cmp rdx, -0x80000000", jit_emit_alu_ri(e, JIT_CMP, true, JIT_RDX, INT32_MIN));

    /* Stack and control flow (the emitter's exec address is 0x1000). */
    ENC("push rbp", jit_emit_push(e, JIT_RBP));
    ENC("push r12", jit_emit_push(e, JIT_R12));
    ENC("pop r15", jit_emit_pop(e, JIT_R15));
    ENC("pop rbx", jit_emit_pop(e, JIT_RBX));
    ENC("ret", jit_emit_ret(e));
    ENC("call 0x2000", jit_emit_call(e, (const void *)0x2000));
    ENC("call r11", jit_emit_call_reg(e, JIT_R11));
    ENC("call rax", jit_emit_call_reg(e, JIT_RAX));
    ENC("jmp r8", jit_emit_jmp_reg(e, JIT_R8));
    ENC("jmp 0x1005", jit_emit_jmp(e, NULL));
    ENC("jne 0x1006", jit_emit_jcc(e, JIT_CC_NE, NULL));
    ENC("jg 0x1000", jit_emit_jcc(e, JIT_CC_G, jit_emit_label(e)));
    ENC("jb 0x1010", {
        uint8_t *f_ = jit_emit_jcc(e, JIT_CC_B, NULL);
        jit_patch_rel32(f_, e->p + 10);
    });

    /* Byte strings as objdump prints them (SDM tables 2-2 and 2-3 special cases). */
    BYTES("48 8b 04 24", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RSP, 0));
    BYTES("49 8b 04 24", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_R12, 0));
    BYTES("48 8b 45 00", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBP, 0));
    BYTES("49 8b 45 00", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_R13, 0));
    BYTES("4c 8b 4c 24 f8", jit_emit_ld(e, JIT_S64, false, JIT_R9, JIT_RSP, -8));
    BYTES("49 8b 85 00 01 00 00", jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_R13, 256));
    BYTES("40 88 37", jit_emit_st(e, JIT_S8, JIT_RSI, JIT_RDI, 0));
    BYTES("66 44 89 54 24 08", jit_emit_st(e, JIT_S16, JIT_R10, JIT_RSP, 8));
    BYTES("48 83 c1 01", jit_emit_alu_ri(e, JIT_ADD, true, JIT_RCX, 1));
    BYTES("48 05 78 56 34 12", jit_emit_alu_ri(e, JIT_ADD, true, JIT_RAX, 0x12345678));
    BYTES("48 81 c3 80 00 00 00", jit_emit_alu_ri(e, JIT_ADD, true, JIT_RBX, 128));
    BYTES("31 c0", jit_emit_alu_rr(e, JIT_XOR, false, JIT_RAX, JIT_RAX));
    BYTES("41 54", jit_emit_push(e, JIT_R12));
    BYTES("41 5f", jit_emit_pop(e, JIT_R15));
    BYTES("41 ff d3", jit_emit_call_reg(e, JIT_R11));
    BYTES("e9 00 00 00 00", jit_emit_jmp(e, NULL));
    BYTES("0f 84 00 00 00 00", jit_emit_jcc(e, JIT_CC_E, NULL));
    BYTES("c3", jit_emit_ret(e));

    cs_close(&cs);
}

/* ---- The buffer -------------------------------------------------------------------------- */

/* Every mapping of /proc/self/maps overlapping [lo, hi): none is both writable and executable. */
static unsigned check_maps(uintptr_t lo, uintptr_t hi, char want_perm)
{
    g_autofree char *maps = NULL;
    g_auto(GStrv) lines = NULL;
    unsigned seen = 0;

    g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    lines = g_strsplit(maps, "\n", -1);
    for (char **l = lines; *l && **l; l++) {
        unsigned long s, t;
        char perms[5];

        g_assert_cmpint(sscanf(*l, "%lx-%lx %4s", &s, &t, perms), ==, 3);
        if (t <= lo || s >= hi) {
            continue;
        }
        g_assert_false(perms[1] == 'w' && perms[2] == 'x');
        g_assert_cmpint(perms[3], ==, 's');     /* shared: both views are the same pages */
        g_assert_cmpint(perms[want_perm == 'w' ? 1 : 2], ==, want_perm);
        seen++;
    }
    return seen;
}

static void test_wx(void)
{
    struct jit_buf *b = test_buf();
    struct jit_emit e;

    g_assert_true(b->rw != b->rx);
    g_assert_cmpuint(b->size, >=, 1 << 20);
    g_assert_cmpint(jit_buf_rx_offset(b), ==, (intptr_t)((uintptr_t)b->rx - (uintptr_t)b->rw));
    /* Write some code first so every page is really mapped in both views. */
    begin(b, &e);
    jit_emit_movi(&e, JIT_RAX, 7);
    jit_emit_ret(&e);
    memset(e.p, 0xcc, (size_t)(e.end - e.p));
    g_assert_cmpuint(AS_FN(fn0, finish(b, &e))(), ==, 7);

    g_assert_cmpuint(check_maps((uintptr_t)b->rw, (uintptr_t)b->rw + b->size, 'w'), >=, 1);
    g_assert_cmpuint(check_maps((uintptr_t)b->rx, (uintptr_t)b->rx + b->size, 'x'), >=, 1);
    g_assert_cmpuint(((const uint8_t *)b->rx)[0], ==, b->rw[0]);
    jit_buf_destroy(b);
}

static void test_alloc_reset(void)
{
    GError *err = NULL;
    struct jit_buf *b = jit_buf_create(100, &err);    /* rounded up to a page */
    uint8_t *p1, *p2, *first;
    const void *x;

    g_assert_no_error(err);
    g_assert_cmpuint(b->size, ==, (size_t)sysconf(_SC_PAGESIZE));
    first = jit_buf_write_ptr(b);
    g_assert_true(jit_buf_exec_ptr(b) == jit_buf_rx(b, first));
    p1 = jit_buf_alloc(b, 3);
    p2 = jit_buf_alloc(b, 1);
    g_assert_true(p1 == first);
    g_assert_cmpint(p2 - p1, ==, 16);
    g_assert_cmpuint((uintptr_t)jit_buf_write_ptr(b) & 15, ==, 0);
    g_assert_cmpint(jit_buf_write_ptr(b) - p1, ==, 32);
    g_assert_null(jit_buf_alloc(b, b->size));
    x = jit_buf_commit(b, jit_buf_write_ptr(b) + 5);
    g_assert_true(x == jit_buf_rx(b, p1 + 32));
    g_assert_cmpuint(jit_buf_free_space(b), ==, b->size - 48);
    g_assert_nonnull(jit_buf_alloc(b, b->size - 48));
    g_assert_cmpuint(jit_buf_free_space(b), ==, 0);
    g_assert_null(jit_buf_alloc(b, 1));

    /* Reset drops it all and reuses the space from the start; old code becomes INT3. */
    jit_buf_reset(b);
    g_assert_true(jit_buf_write_ptr(b) == first);
    g_assert_cmphex(first[0], ==, 0xcc);
    g_assert_true(jit_buf_alloc(b, 64) == first);
    jit_buf_destroy(b);

    g_assert_null(jit_buf_create(0, &err));
    g_assert_error(err, HYVM_ERROR, HYVM_ERROR_FAILED);
    g_clear_error(&err);
    g_assert_null(jit_buf_create(JIT_BUF_MAX_SIZE + 1, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    jit_buf_destroy(NULL);
}

/* An emit past end sets overflow, writes nothing past end, and later emits are no-ops. */
static void test_overflow(void)
{
    uint8_t code[32];
    struct jit_emit e;

    for (size_t room = 0; room <= 12; room++) {
        memset(code, 0xa5, sizeof(code));
        jit_emit_init(&e, code, code + room, 0);
        jit_emit_mov_r64_imm64(&e, JIT_RAX, 0x0102030405060708ull);     /* 10 bytes */
        g_assert_cmpint(e.overflow, ==, room < 10);
        g_assert_cmpint(e.p - code, ==, room < 10 ? 0 : 10);
        g_assert_null(jit_emit_jcc(&e, JIT_CC_E, NULL));     /* 6 more never fit */
        jit_emit_ld(&e, JIT_S64, false, JIT_RAX, JIT_R13, 0x1000);
        jit_emit_ret(&e);
        g_assert_true(e.overflow);
        for (size_t i = room; i < sizeof(code); i++) {
            g_assert_cmphex(code[i], ==, 0xa5);
        }
        jit_patch_rel32(NULL, code);    /* what a translator may do before it checks overflow */
    }

    /* Exactly full is not an overflow. */
    jit_emit_init(&e, code, code + 1, 0);
    jit_emit_ret(&e);
    g_assert_false(e.overflow);
    g_assert_true(e.p == e.end);
}

/* ---- Refusals: seccomp makes the host refuse, create must fail cleanly -------------------- */

static void deny_with_seccomp(bool exec_mmap)
{
    struct sock_filter memfd_filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_filter mmap_filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {
        .len = exec_mmap ? G_N_ELEMENTS(mmap_filter) : G_N_ELEMENTS(memfd_filter),
        .filter = exec_mmap ? mmap_filter : memfd_filter,
    };

    g_assert_cmpint(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), ==, 0);
    g_assert_cmpint(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), ==, 0);
}

static void test_refused(gconstpointer data)
{
    bool exec_mmap = GPOINTER_TO_INT(data);

    if (g_test_subprocess()) {
        GError *err = NULL;

        deny_with_seccomp(exec_mmap);
        g_assert_null(jit_buf_create(1 << 16, &err));
        g_assert_nonnull(err);
        g_printerr("%s\n", err->message);
        g_error_free(err);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr(exec_mmap ? "*refuses an executable mapping*"
                                        : "*memfd_create*failed*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/jit/buf/wx", test_wx);
    g_test_add_func("/jit/buf/alloc-reset", test_alloc_reset);
    g_test_add_data_func("/jit/buf/refused/memfd", GINT_TO_POINTER(0), test_refused);
    g_test_add_data_func("/jit/buf/refused/exec", GINT_TO_POINTER(1), test_refused);
    g_test_add_func("/jit/emit/overflow", test_overflow);
    g_test_add_func("/jit/emit/encodings", test_encodings);
    g_test_add_func("/jit/run/imm", test_imm);
    g_test_add_func("/jit/run/alu", test_alu);
    g_test_add_func("/jit/run/loop", test_loop);
    g_test_add_func("/jit/run/load-store", test_load_store);
    g_test_add_func("/jit/run/st-imm-lea", test_st_imm_lea);
    g_test_add_func("/jit/run/call", test_call);
    g_test_add_func("/jit/run/call-reach", test_call_reach);
    return g_test_run();
}
