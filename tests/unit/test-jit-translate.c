/*
 * Handler calls in translated code (accel/tcg/jit-translate.c): blocks of made-up instructions whose
 * handlers are test functions are translated and run, and every exit is checked against what
 * run_block's loop in cpu-exec.c does: next_rip before each handler (64-bit, and wrapping at
 * 4 GiB outside 64-bit mode), rip and icount after each TCG_OK, the status and index of the
 * instruction a block stops at, and the leave-after-this-instruction of a written page.
 *
 * Threads: one.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-translate.h"
#include "accel/tcg/tcg-cpu.h"

#define MAX_CALLS 256

/* What the handlers saw, in call order. */
static struct {
    unsigned n;
    const struct insn *in[MAX_CALLS];
    uint64_t next_rip[MAX_CALLS];
    struct tcg_cpu *cpu[MAX_CALLS];
} seen;

/* The block cache's hit flag, as tcg_blocks_hit() hands it to the code. */
static bool hit;

static void record(struct tcg_cpu *cpu, const struct insn *in)
{
    if (seen.n < MAX_CALLS) {
        seen.in[seen.n] = in;
        seen.next_rip[seen.n] = cpu->next_rip;
        seen.cpu[seen.n] = cpu;
    }
    seen.n++;
}

static enum tcg_status h_ok(struct tcg_cpu *cpu, const struct insn *in)
{
    record(cpu, in);
    return TCG_OK;
}

static enum tcg_status h_exc(struct tcg_cpu *cpu, const struct insn *in)
{
    record(cpu, in);
    return TCG_EXCEPTION;
}

static enum tcg_status h_jump(struct tcg_cpu *cpu, const struct insn *in)
{
    record(cpu, in);
    cpu->st.rip = 0xabcd0000;
    return TCG_JUMPED;
}

static enum tcg_status h_halt(struct tcg_cpu *cpu, const struct insn *in)
{
    record(cpu, in);
    return TCG_HALT;
}

/* Writes its own page: the cache sets the hit flag. */
static enum tcg_status h_smc(struct tcg_cpu *cpu, const struct insn *in)
{
    record(cpu, in);
    hit = true;
    return TCG_OK;
}

/* Clobbers every caller-saved register the ABI allows, and the flags. */
static enum tcg_status h_clobber(struct tcg_cpu *cpu, const struct insn *in)
{
    record(cpu, in);
    __asm__ volatile("mov $-1, %%rax; mov $-1, %%rcx; mov $-1, %%rdx; mov $-1, %%rsi;"
                     "mov $-1, %%rdi; mov $-1, %%r8; mov $-1, %%r9; mov $-1, %%r10;"
                     "mov $-1, %%r11; cmp %%rax, %%rcx"
                     ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "cc");
    return TCG_OK;
}

struct fixture {
    struct jit_buf *jb;
    struct tcg_cpu *cpu;
    struct insn insn[64];
    tcg_exec_fn fn[64];
};

static void setup(struct fixture *f)
{
    GError *err = NULL;

    memset(f, 0, sizeof(*f));
    f->jb = jit_buf_create(1 << 20, &err);
    g_assert_no_error(err);
    g_assert_nonnull(f->jb);
    f->cpu = g_new0(struct tcg_cpu, 1);
    memset(&seen, 0, sizeof(seen));
    hit = false;
}

static void teardown(struct fixture *f)
{
    jit_buf_destroy(f->jb);
    g_free(f->cpu);
}

/* n instructions of lengths lens[], handlers fns[]; runs them from rip and returns the exit. */
static uint64_t run(struct fixture *f, unsigned n, const uint8_t *lens, const tcg_exec_fn *fns,
                    bool long64, uint64_t rip)
{
    tcg_jit_fn code;

    for (unsigned i = 0; i < n; i++) {
        f->insn[i].len = lens[i];
        f->fn[i] = fns[i];
    }
    code = tcg_jit_translate(f->jb, f->insn, f->fn, n, long64 ? MODE_LONG64 : MODE_PROT32, NULL,
                             NULL);
    g_assert_nonnull(code);
    f->cpu->st.rip = rip;
    return code(f->cpu, &hit);
}

static void test_straight(void)
{
    static const uint8_t lens[] = { 2, 3, 4, 15 };
    static const tcg_exec_fn fns[] = { h_ok, h_clobber, h_ok, h_ok };
    struct fixture f;
    uint64_t r;

    setup(&f);
    f.cpu->icount = 10;
    r = run(&f, 4, lens, fns, true, 0x7fff00001000ull);
    g_assert_cmpint(jit_exit_status(r), ==, TCG_OK);
    g_assert_cmpuint(jit_exit_index(r), ==, 4);
    g_assert_cmpuint(seen.n, ==, 4);
    g_assert_cmpuint(seen.next_rip[0], ==, 0x7fff00001002ull);
    g_assert_cmpuint(seen.next_rip[1], ==, 0x7fff00001005ull);
    g_assert_cmpuint(seen.next_rip[2], ==, 0x7fff00001009ull);
    g_assert_cmpuint(seen.next_rip[3], ==, 0x7fff00001018ull);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_true(seen.in[i] == &f.insn[i]);
        g_assert_true(seen.cpu[i] == f.cpu);
    }
    g_assert_cmpuint(f.cpu->st.rip, ==, 0x7fff00001018ull);
    g_assert_cmpuint(f.cpu->icount, ==, 14);
    teardown(&f);
}

/* Outside 64-bit mode rip is 32 bits: (rip + len) & 0xffffffff. */
static void test_wrap(void)
{
    static const uint8_t lens[] = { 3, 2 };
    static const tcg_exec_fn fns[] = { h_ok, h_ok };
    struct fixture f;
    uint64_t r;

    setup(&f);
    r = run(&f, 2, lens, fns, false, 0xfffffffeull);
    g_assert_cmpuint(jit_exit_index(r), ==, 2);
    g_assert_cmpuint(seen.next_rip[0], ==, 1);
    g_assert_cmpuint(seen.next_rip[1], ==, 3);
    g_assert_cmpuint(f.cpu->st.rip, ==, 3);
    seen.n = 0;
    r = run(&f, 2, lens, fns, true, 0xfffffffeull);
    g_assert_cmpuint(seen.next_rip[0], ==, 0x100000001ull);
    g_assert_cmpuint(f.cpu->st.rip, ==, 0x100000003ull);
    teardown(&f);
}

/* A status other than TCG_OK leaves at once, with rip and icount of the instruction before. */
static void test_status_exits(void)
{
    static const tcg_exec_fn stops[] = { h_exc, h_jump, h_halt };
    static const enum tcg_status want[] = { TCG_EXCEPTION, TCG_JUMPED, TCG_HALT };
    static const uint8_t lens[] = { 1, 2, 3, 4 };

    for (unsigned s = 0; s < G_N_ELEMENTS(stops); s++) {
        for (unsigned at = 0; at < 4; at++) {
            tcg_exec_fn fns[4] = { h_ok, h_ok, h_ok, h_ok };
            struct fixture f;
            uint64_t r, rip = 0x1000;

            fns[at] = stops[s];
            setup(&f);
            r = run(&f, 4, lens, fns, true, rip);
            g_assert_cmpint(jit_exit_status(r), ==, want[s]);
            g_assert_cmpuint(jit_exit_index(r), ==, at);
            g_assert_cmpuint(seen.n, ==, at + 1);
            g_assert_cmpuint(f.cpu->icount, ==, at);
            for (unsigned i = 0; i < at; i++) {
                rip += lens[i];
            }
            /* The loop's retire() moves rip for a TCG_HALT; a jump set its own. */
            g_assert_cmpuint(f.cpu->st.rip, ==, stops[s] == h_jump ? 0xabcd0000 : rip);
            g_assert_cmpuint(f.cpu->next_rip, ==, rip + lens[at]);
            teardown(&f);
        }
    }
}

/* A written page leaves after the instruction that wrote it, with that one retired. */
static void test_hit(void)
{
    static const uint8_t lens[] = { 1, 2, 3 };

    for (unsigned at = 0; at < 3; at++) {
        tcg_exec_fn fns[3] = { h_ok, h_ok, h_ok };
        struct fixture f;
        uint64_t r;

        fns[at] = h_smc;
        setup(&f);
        r = run(&f, 3, lens, fns, true, 0x2000);
        g_assert_cmpint(jit_exit_status(r), ==, TCG_OK);
        /* The last instruction leaves as the whole block does: index n. */
        g_assert_cmpuint(jit_exit_index(r), ==, at == 2 ? 3 : at);
        g_assert_cmpuint(seen.n, ==, at + 1);
        g_assert_cmpuint(f.cpu->icount, ==, at + 1);
        g_assert_cmpuint(f.cpu->st.rip, ==, 0x2000 + (at == 0 ? 1 : at == 1 ? 3 : 6));
        teardown(&f);
    }
}

/* A full buffer refuses (NULL) and takes code again once reset. */
static void test_full(void)
{
    struct fixture f;
    unsigned blocks = 0;
    tcg_jit_fn code;

    setup(&f);
    for (unsigned i = 0; i < 64; i++) {
        f.insn[i].len = 1;
        f.fn[i] = h_ok;
    }
    while ((code = tcg_jit_translate(f.jb, f.insn, f.fn, 64, MODE_LONG64, NULL, NULL))) {
        blocks++;
        g_assert_cmpuint(blocks, <, 1u << 20);
    }
    g_assert_cmpuint(blocks, >, 10);
    jit_buf_reset(f.jb);
    code = tcg_jit_translate(f.jb, f.insn, f.fn, 64, MODE_LONG64, NULL, NULL);
    g_assert_nonnull(code);
    f.cpu->st.rip = 0;
    g_assert_cmpuint(jit_exit_index(code(f.cpu, &hit)), ==, 64);
    g_assert_cmpuint(f.cpu->st.rip, ==, 64);
    g_assert_cmpuint(f.cpu->icount, ==, 64);
    teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/jit/translate/straight", test_straight);
    g_test_add_func("/jit/translate/wrap", test_wrap);
    g_test_add_func("/jit/translate/status-exits", test_status_exits);
    g_test_add_func("/jit/translate/hit", test_hit);
    g_test_add_func("/jit/translate/full", test_full);
    return g_test_run();
}
