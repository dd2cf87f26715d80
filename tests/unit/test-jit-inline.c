/*
 * The translator against the interpreter (accel/tcg/jit-inline.c, jit-translate.c): random
 * blocks of register instructions (the ALU operations, moves, LEA, shifts, IMUL, SETcc,
 * CMOVcc, Jcc/JMP and a few that only have handlers, such as BSWAP, BSF or RCL) are decoded
 * in 64-bit and in 32-bit code, run once through the handlers as run_block's loop in
 * cpu-exec.c does and once as translated code, from the same random registers, flags and
 * RIP; the exit (status and instruction, a retired jump counting as TCG_OK), every register,
 * RIP, RFLAGS and icount must be equal.  RIPs near the top of the canonical half and CS limits below 4 GiB make some taken
 * branches fault, as they must on both sides.
 *
 *   HYVM_JIT_CASES=N   blocks per mode (default 100000)
 *
 * Threads: one.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/tcg/insn.h"
#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-translate.h"
#include "accel/tcg/tcg-cpu.h"

#define MAX_N 24

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

struct enc {
    uint8_t b[16];
    unsigned len;
    bool rexw;      /* a REX.W prefix was put */
};

static void put(struct enc *x, uint8_t v)
{
    if (x->len < sizeof(x->b)) {
        x->b[x->len++] = v;
    }
}

static void put_imm(struct enc *x, unsigned bytes)
{
    uint64_t v = rn(4) == 0 ? (rn(2) ? 0 : ~0ull) : rnd();

    if (rn(3) == 0) {
        v = rn(70);     /* small: shift counts and offsets */
    }
    for (unsigned i = 0; i < bytes; i++) {
        put(x, (uint8_t)(v >> (8 * i)));
    }
}

/* Prefixes (66 sometimes, a REX in 64-bit mode), then the opcode bytes, then a ModRM. */
static void head(struct enc *x, bool m64, bool allow66, bool *is16)
{
    *is16 = allow66 && rn(6) == 0;
    if (*is16) {
        put(x, 0x66);
    }
    if (m64 && rn(3)) {
        uint8_t rex = (uint8_t)(0x40 | rn(16));

        put(x, rex);
        x->rexw = rex & 8;
    }
}

static uint8_t modrm_rr(unsigned reg)
{
    return (uint8_t)(0xc0 | (reg & 7) << 3 | rn(8));
}

/* One random instruction of the forms above. */
static void gen(struct enc *x, bool m64)
{
    bool is16;
    unsigned k = rn(22), row = rn(8), cc = rn(16);

    x->len = 0;
    x->rexw = false;
    switch (k) {
    case 0: case 1: case 2:         /* ALU r/m, r and r, r/m (all sizes) */
        head(x, m64, true, &is16);
        put(x, (uint8_t)(row * 8 + rn(4)));
        put(x, modrm_rr(rn(8)));
        break;
    case 3: case 4:                 /* ALU r/m, imm (80, 81, 83) and AL/eAX, imm */
        head(x, m64, true, &is16);
        switch (rn(4)) {
        case 0: put(x, 0x80); put(x, modrm_rr(row)); put_imm(x, 1); break;
        case 1: put(x, 0x81); put(x, modrm_rr(row)); put_imm(x, is16 ? 2 : 4); break;
        case 2: put(x, 0x83); put(x, modrm_rr(row)); put_imm(x, 1); break;
        default: put(x, (uint8_t)(row * 8 + 5)); put_imm(x, is16 ? 2 : 4); break;
        }
        break;
    case 5:                         /* TEST, INC, DEC, NOT, NEG */
        head(x, m64, true, &is16);
        if (rn(2)) {
            put(x, (uint8_t)(0x84 + rn(2)));
            put(x, modrm_rr(rn(8)));
        } else {
            unsigned d = rn(4);

            put(x, (uint8_t)((d < 2 ? 0xfe : 0xf6) + rn(2)));
            put(x, modrm_rr(d < 2 ? d : d));    /* /0 /1 inc dec, /2 /3 not neg */
        }
        break;
    case 6:                         /* INC/DEC r32 (40-4F) in 32-bit code, TEST imm */
        if (!m64 && rn(2)) {
            put(x, (uint8_t)(0x40 + rn(16)));
        } else {
            head(x, m64, true, &is16);
            put(x, 0xf7);
            put(x, modrm_rr(0));
            put_imm(x, is16 ? 2 : 4);
        }
        break;
    case 7: case 8:                 /* MOV rr, r imm */
        head(x, m64, true, &is16);
        switch (rn(4)) {
        case 0: put(x, (uint8_t)(0x88 + rn(4))); put(x, modrm_rr(rn(8))); break;
        case 1: put(x, (uint8_t)(0xb0 + rn(8))); put_imm(x, 1); break;
        case 2:
            put(x, (uint8_t)(0xb8 + rn(8)));
            put_imm(x, is16 ? 2 : x->rexw ? 8 : 4);
            break;
        default: put(x, 0xc7); put(x, modrm_rr(0)); put_imm(x, is16 ? 2 : 4); break;
        }
        break;
    case 9:                         /* MOVZX MOVSX MOVSXD */
        head(x, m64, true, &is16);
        if (m64 && rn(4) == 0) {
            put(x, 0x63);
        } else {
            put(x, 0x0f);
            put(x, (uint8_t)((rn(2) ? 0xb6 : 0xbe) + rn(2)));
        }
        put(x, modrm_rr(rn(8)));
        break;
    case 10: {                      /* LEA with every addressing form */
        unsigned mod = rn(3);

        if (rn(4) == 0) {
            put(x, 0x67);
        }
        head(x, m64, true, &is16);
        put(x, 0x8d);
        put(x, (uint8_t)(mod << 6 | rn(8) << 3 | rn(8)));
        if ((x->b[x->len - 1] & 7) == 4) {
            put(x, (uint8_t)rn(256));   /* SIB */
        }
        put_imm(x, mod == 1 ? 1 : 4);   /* disp (mod 0 may not take it: decode decides) */
        break;
    }
    case 11:                        /* XCHG */
        head(x, m64, true, &is16);
        if (rn(2)) {
            put(x, (uint8_t)(0x86 + rn(2)));
            put(x, modrm_rr(rn(8)));
        } else {
            put(x, (uint8_t)(0x91 + rn(7)));
        }
        break;
    case 12:                        /* SETcc */
        head(x, m64, false, &is16);
        put(x, 0x0f);
        put(x, (uint8_t)(0x90 + cc));
        put(x, modrm_rr(0));
        break;
    case 13:                        /* CMOVcc */
        head(x, m64, true, &is16);
        put(x, 0x0f);
        put(x, (uint8_t)(0x40 + cc));
        put(x, modrm_rr(rn(8)));
        break;
    case 14:                        /* CLC STC CMC */
        put(x, (uint8_t)(rn(3) == 0 ? 0xf8 : rn(2) ? 0xf9 : 0xf5));
        break;
    case 15:                        /* Jcc rel8 / rel32 */
        if (rn(2)) {
            put(x, (uint8_t)(0x70 + cc));
            put_imm(x, 1);
        } else {
            put(x, 0x0f);
            put(x, (uint8_t)(0x80 + cc));
            put_imm(x, 4);
        }
        break;
    case 16: case 17:               /* the shift group: C0 C1 D0 D1 D2 D3 */
        head(x, m64, true, &is16);
        switch (rn(3)) {
        case 0: put(x, (uint8_t)(0xc0 + rn(2))); put(x, modrm_rr(rn(8))); put_imm(x, 1); break;
        case 1: put(x, (uint8_t)(0xd0 + rn(2))); put(x, modrm_rr(rn(8))); break;
        default: put(x, (uint8_t)(0xd2 + rn(2))); put(x, modrm_rr(rn(8))); break;
        }
        break;
    case 18:                        /* IMUL r, r/m [, imm] */
        head(x, m64, true, &is16);
        switch (rn(3)) {
        case 0: put(x, 0x0f); put(x, 0xaf); put(x, modrm_rr(rn(8))); break;
        case 1: put(x, 0x69); put(x, modrm_rr(rn(8))); put_imm(x, is16 ? 2 : 4); break;
        default: put(x, 0x6b); put(x, modrm_rr(rn(8))); put_imm(x, 1); break;
        }
        break;
    case 19:                        /* handlers only: BSWAP BSF BT CBW CWD LAHF SAHF XADD */
        head(x, m64, true, &is16);
        switch (rn(6)) {
        case 0: put(x, 0x0f); put(x, (uint8_t)(0xc8 + rn(8))); break;
        case 1: put(x, 0x0f); put(x, (uint8_t)(0xbc + rn(2))); put(x, modrm_rr(rn(8))); break;
        case 2: put(x, 0x0f); put(x, 0xa3); put(x, modrm_rr(rn(8))); break;
        case 3: put(x, (uint8_t)(0x98 + rn(2))); break;
        case 4: put(x, (uint8_t)(0x9e + rn(2))); break;
        default: put(x, 0x0f); put(x, (uint8_t)(0xc0 + rn(2))); put(x, modrm_rr(rn(8))); break;
        }
        break;
    case 20:                        /* NOP forms */
        put(x, rn(2) ? 0x90 : 0x0f);
        if (x->b[0] == 0x0f) {
            put(x, 0x1f);
            put(x, 0x00);
        }
        break;
    default:                        /* JMP rel8 / rel32 */
        if (rn(2)) {
            put(x, 0xeb);
            put_imm(x, 1);
        } else {
            put(x, 0xe9);
            put_imm(x, 4);
        }
        break;
    }
}

static tcg_exec_fn handler(const struct insn *in)
{
    tcg_exec_fn fn = tcg_fast_handler(in);

    return fn ? fn : in->op < OP__MAX ? tcg_exec_table[in->op] : NULL;
}

/* A block of n decodable instructions with handlers; JMP only as the last one. */
static unsigned gen_block(struct insn *insn, tcg_exec_fn *fn, enum cpu_mode mode, unsigned n)
{
    unsigned got = 0, tries = 0;

    while (got < n && tries++ < 1000) {
        struct enc x;
        size_t need;

        gen(&x, mode == MODE_LONG64);
        if (x.b[0] == 0xeb || x.b[0] == 0xe9) {
            if (got + 1 != n) {
                continue;
            }
        }
        if (x86_decode(&insn[got], x.b, x.len, mode, &need) != DECODE_OK || !insn[got].len) {
            continue;
        }
        if (insn[got].has_mem && insn[got].op != OP_LEA && insn[got].op != OP_NOP) {
            continue;   /* registers only here */
        }
        fn[got] = handler(&insn[got]);
        if (!fn[got] || insn[got].op == OP_JMP_FAR) {
            continue;
        }
        got++;
    }
    return got;
}

/* run_block's loop (cpu-exec.c) and retire() for the statuses these blocks can end with. */
static uint64_t interpret(struct tcg_cpu *cpu, const struct insn *insn, const tcg_exec_fn *fn,
                          unsigned n)
{
    uint64_t mask = cpu->mode == MODE_LONG64 ? ~0ull : 0xffffffffull;
    uint64_t rip = cpu->st.rip;
    enum tcg_status st = TCG_OK;
    unsigned i;

    for (i = 0; i < n; i++) {
        cpu->next_rip = (rip + insn[i].len) & mask;
        st = fn[i](cpu, &insn[i]);
        if (st != TCG_OK) {
            break;
        }
        cpu->st.rip = rip = cpu->next_rip;
        cpu->icount++;
    }
    if (st == TCG_JUMPED) {
        cpu->icount++;
        st = TCG_OK;    /* retired: as the translated code leaves after a jump */
    }
    return (uint64_t)i << 32 | st;
}

static void random_state(struct tcg_cpu *cpu, enum cpu_mode mode)
{
    for (unsigned r = 0; r < 16; r++) {
        switch (rn(5)) {
        case 0: cpu->st.regs[r] = rn(64); break;
        case 1: cpu->st.regs[r] = rn(2) ? ~0ull : 0x8000000000000000ull; break;
        case 2: cpu->st.regs[r] = (uint32_t)rnd(); break;
        default: cpu->st.regs[r] = rnd(); break;
        }
    }
    cpu->st.rflags = 0x202 | (rnd() & 0x8d5);
    cpu->mode = mode;
    cpu->st.seg[S_CS].limit = rn(3) ? 0xffffffffu : 0x00ffffffu + rn(0x1000000);
    cpu->st.seg[S_CS].db = mode != MODE_LONG64;
    cpu->st.seg[S_CS].l = mode == MODE_LONG64;
    if (mode == MODE_LONG64) {
        cpu->st.rip = rn(4) ? 0x400000 + rn(0x10000) : 0x7fffffffff00ull + rn(0x100);
    } else {
        cpu->st.rip = rn(4) ? 0x400000 + rn(0x10000) : 0xffffff00u + rn(0x100);
    }
}

static void report(const struct insn *insn, unsigned n, const char *what, uint64_t a,
                   uint64_t b)
{
    GString *s = g_string_new(NULL);

    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(s, " %s[", insn_op_name(insn[i].op));
        for (unsigned j = 0; j < insn[i].len; j++) {
            g_string_append_printf(s, "%02x", insn[i].bytes[j]);
        }
        g_string_append(s, "]");
    }
    g_test_message("block:%s", s->str);
    g_test_message("%s: interpreter 0x%llx, translated 0x%llx", what, (unsigned long long)a,
                   (unsigned long long)b);
    g_string_free(s, true);
}

static bool compare(const struct tcg_cpu *a, const struct tcg_cpu *b, uint64_t ra, uint64_t rb,
                    const struct insn *insn, unsigned n)
{
    char name[16];

    if (ra != rb) {
        report(insn, n, "exit (index << 32 | status)", ra, rb);
        return false;
    }
    for (unsigned r = 0; r < 16; r++) {
        if (a->st.regs[r] != b->st.regs[r]) {
            snprintf(name, sizeof(name), "reg %u", r);
            report(insn, n, name, a->st.regs[r], b->st.regs[r]);
            return false;
        }
    }
    if (a->st.rip != b->st.rip) {
        report(insn, n, "rip", a->st.rip, b->st.rip);
        return false;
    }
    if (a->st.rflags != b->st.rflags) {
        report(insn, n, "rflags", a->st.rflags, b->st.rflags);
        return false;
    }
    if (a->icount != b->icount) {
        report(insn, n, "icount", a->icount, b->icount);
        return false;
    }
    if (jit_exit_status(ra) == TCG_EXCEPTION && a->exc.vector != b->exc.vector) {
        report(insn, n, "exception vector", a->exc.vector, b->exc.vector);
        return false;
    }
    return true;
}

static void test_mode(gconstpointer data)
{
    enum cpu_mode mode = (enum cpu_mode)GPOINTER_TO_INT(data);
    const char *env = g_getenv("HYVM_JIT_CASES");
    unsigned cases = env ? (unsigned)strtoul(env, NULL, 0) : 100000, bad = 0, translated = 0;
    struct insn *insn = g_new0(struct insn, MAX_N);
    tcg_exec_fn *fn = g_new0(tcg_exec_fn, MAX_N);
    struct tcg_cpu *a = g_new0(struct tcg_cpu, 1), *b = g_new0(struct tcg_cpu, 1);
    uint64_t *fallbacks = g_new0(uint64_t, OP__MAX);
    GError *err = NULL;
    struct jit_buf *jb = jit_buf_create(1 << 20, &err);
    bool hit = false;

    g_assert_no_error(err);
    rng_state ^= (uint64_t)mode * 0x1234567;
    for (unsigned c = 0; c < cases && bad < 5; c++) {
        unsigned n = gen_block(insn, fn, mode, 1 + rn(rn(4) ? 8 : MAX_N));
        tcg_jit_fn code;
        uint64_t ra, rb;

        if (!n) {
            continue;
        }
        code = tcg_jit_translate(jb, insn, fn, n, mode, rn(2) ? fallbacks : NULL, NULL);
        if (!code) {
            jit_buf_reset(jb);
            code = tcg_jit_translate(jb, insn, fn, n, mode, NULL, NULL);
        }
        g_assert_nonnull(code);
        translated++;
        random_state(a, mode);
        *b = *a;
        ra = interpret(a, insn, fn, n);
        rb = code(b, &hit);
        if (jit_exit_status(rb) == TCG_JUMPED) {
            b->icount++;        /* retire(), as run_block does */
            rb &= ~0xffffffffull;
        }
        if (!compare(a, b, ra, rb, insn, n)) {
            bad++;
        }
    }
    g_test_message("%u blocks translated and compared", translated);
    g_assert_cmpuint(bad, ==, 0);
    g_assert_cmpuint(translated, >, cases / 2);
    g_assert_false(hit);
    jit_buf_destroy(jb);
    g_free(fallbacks);
    g_free(a);
    g_free(b);
    g_free(insn);
    g_free(fn);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/jit/inline/64-bit", GINT_TO_POINTER(MODE_LONG64), test_mode);
    g_test_add_data_func("/jit/inline/32-bit", GINT_TO_POINTER(MODE_PROT32), test_mode);
    return g_test_run();
}
