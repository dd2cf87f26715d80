/*
 * The differential tester (issue 5, item 5): every instruction of item 2
 * runs with the same registers, flags and memory on the host CPU and on the
 * software CPU; all GPRs, RIP, the arithmetic flags and DF, the data area
 * and the exception vector (with CR2 and the error code of a #PF, but for
 * its P bit) must be equal.  One TAP test per mnemonic.  A case that
 * differs runs on the host once more, as the host is not deterministic
 * around interrupts (see test_group()).
 *
 *   HYVM_DIFF_CASES=N   total cases over all mnemonics (default 200000)
 *   HYVM_DIFF_SEED=S    the seed (default fixed, so CI is repeatable;
 *                       "random" picks one); printed either way
 *   HYVM_DIFF_REPORTS=N detailed mismatch reports per mnemonic (default 4)
 *
 * A mnemonic with no handler in tcg_exec_table is a TAP skip.  On a host
 * that is not AuthenticAMD the flags the SDM leaves undefined are not
 * compared: the executor sets them as AMD (Zen) does.
 *
 * Threads: one; the native side runs in a forked child (diff-native.c).
 */
#include <cpuid.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "tests/diff/diff.h"

#define CHUNK 2048
#define MAX_GROUPS 256

static struct {
    uint64_t seed;
    unsigned per_group;
    struct diff_gen_opts gen;
    struct diff_native *native;
    const char *native_why;
    struct diff_soft *soft;
    unsigned ngroups;
    unsigned group_first[MAX_GROUPS];   /* a template of the group */
    unsigned long long total_cases, total_mismatches;
    unsigned max_reports;               /* detailed reports per mnemonic */
} T;

static const char *const reg_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static bool host_is_amd(void)
{
    unsigned a, b, c, d;

    if (!__get_cpuid(0, &a, &b, &c, &d))
        return false;
    return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;   /* AuthenticAMD */
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* ---- comparing and reporting ---- */

enum {
    D_OUTCOME = 1, D_VECTOR = 2, D_RIP = 4, D_FLAGS = 8, D_REGS = 16, D_DATA = 32,
    D_CR2 = 64, D_ERR = 128, D_SEG = 256, D_GPERR = 512, D_PFERR = 1024,
};

/* Bits of register i to compare.  Around compatibility mode only the low
 * 32 bits of the first eight are defined (SDM vol. 1, 3.4.1.1): a 32- or
 * 16-bit case, or one that far-jumped out of the 64-bit code segment. */
static uint64_t reg_mask(const struct diff_case *c, const struct diff_result *n, unsigned i)
{
    if (c->reg_ignore & (1u << i))
        return 0;
    if (c->mode != DIFF_MODE64 || n->cs != 0x33)
        return i < 8 ? 0xffffffffull : 0;
    return ~0ull;
}

static unsigned compare(const struct diff_case *c, const struct diff_result *n,
                        const struct diff_result *s)
{
    uint64_t fm = DIFF_FLAGS_MASK & ~c->flags_ignore;
    unsigned d = 0;

    if (n->outcome != s->outcome)
        d |= D_OUTCOME;
    if (n->outcome == DIFF_EXCEPTION && s->outcome == DIFF_EXCEPTION) {
        if (n->vector != s->vector)
            d |= D_VECTOR;
        else if (n->vector == 14 && n->cr2 != s->cr2)
            d |= D_CR2;
        else if (n->vector == 14 && ((n->error_code ^ s->error_code) & 0x1e))
            d |= D_PFERR;   /* W, U, RSVD or I: the software CPU's to get right */
        else if (n->vector == 14 && ((n->error_code ^ s->error_code) & 1))
            d |= D_ERR;     /* P alone: see test_group() */
        else if (n->vector >= 10 && n->vector <= 13 && n->error_code != s->error_code)
            d |= D_GPERR;
    }
    if (n->cs != s->cs || (n->ss_valid && n->ss != s->ss))
        d |= D_SEG;
    if (n->rip != s->rip)
        d |= D_RIP;
    if ((n->rflags ^ s->rflags) & fm)
        d |= D_FLAGS;
    for (unsigned i = 0; i < 16; i++)
        if ((n->regs[i] ^ s->regs[i]) & reg_mask(c, n, i))
            d |= D_REGS;
    if (memcmp(n->data, s->data, DIFF_DATA_SIZE))
        d |= D_DATA;
    return d;
}

static const char *outcome_str(const struct diff_result *r, char *buf, size_t n)
{
    switch (r->outcome) {
    case DIFF_DONE:
        snprintf(buf, n, "completed, rip %#" PRIx64, r->rip);
        break;
    case DIFF_EXCEPTION:
        if (r->vector == 14)
            snprintf(buf, n, "#PF err %#x cr2 %#" PRIx64 " at rip %#" PRIx64,
                     r->error_code, r->cr2, r->rip);
        else
            snprintf(buf, n, "exception %u (error code %#x) at rip %#" PRIx64, r->vector,
                     r->error_code, r->rip);
        break;
    case DIFF_CRASH:
        snprintf(buf, n, "the native child died or hung");
        break;
    default:
        snprintf(buf, n, "did not finish (halt, stop or endless step)");
        break;
    }
    return buf;
}

static void flags_str(uint64_t f, char *buf, size_t n)
{
    snprintf(buf, n, "%#" PRIx64 " [%s%s%s%s%s%s%s]", (uint64_t)(f & DIFF_FLAGS_MASK),
             f & 0x800 ? " OF" : "", f & 0x400 ? " DF" : "", f & 0x80 ? " SF" : "",
             f & 0x40 ? " ZF" : "", f & 0x10 ? " AF" : "", f & 0x4 ? " PF" : "",
             f & 0x1 ? " CF" : "");
}

static void report(const struct diff_case *c, const struct diff_result *n,
                   const struct diff_result *s, unsigned d)
{
    char hex[3 * DIFF_MAX_LEN + 1] = "", buf[160], b2[160], dis[160];
    GString *line = g_string_new(NULL);
    uint64_t fm = DIFF_FLAGS_MASK & ~c->flags_ignore;

    for (unsigned i = 0; i < c->len && i < DIFF_MAX_LEN; i++)
        snprintf(hex + 3 * i, 4, "%02x ", c->bytes[i]);
    diff_disasm(c, dis, sizeof(dis));
    g_test_message("MISMATCH %s [%s] %d-bit mode: bytes %s(%s)", diff_tmpl_group(c->tmpl),
                   diff_tmpl_desc(c->tmpl), c->mode, hex, dis);
    for (unsigned i = 0; i < 16; i++) {
        if (c->mode != DIFF_MODE64 && i >= 8)
            break;
        g_string_append_printf(line, "%s=%#" PRIx64 " ", reg_names[i], c->regs[i]);
        if (i % 4 == 3) {
            g_test_message("  in:  %s", line->str);
            g_string_truncate(line, 0);
        }
    }
    flags_str(c->rflags, buf, sizeof(buf));
    g_test_message("  in:  rflags %s, data seed %#" PRIx64 " with %u patches", buf,
                   c->mem_seed, c->npatch);
    g_test_message("  native: %s", outcome_str(n, buf, sizeof(buf)));
    g_test_message("  soft:   %s", outcome_str(s, buf, sizeof(buf)));
    if (d & D_SEG)
        g_test_message("  cs/ss: native %#x/%#x soft %#x/%#x", n->cs, n->ss, s->cs, s->ss);
    if (d & D_GPERR)
        g_test_message("  error code: native %#x soft %#x", n->error_code, s->error_code);
    if (d & D_FLAGS) {
        flags_str(n->rflags & fm, buf, sizeof(buf));
        flags_str(s->rflags & fm, b2, sizeof(b2));
        g_test_message("  rflags: native %s soft %s", buf, b2);
    }
    for (unsigned i = 0; i < 16; i++)
        if ((n->regs[i] ^ s->regs[i]) & reg_mask(c, n, i))
            g_test_message("  %s: native %#" PRIx64 " soft %#" PRIx64, reg_names[i],
                           n->regs[i], s->regs[i]);
    if (d & D_DATA) {
        unsigned shown = 0;
        uint8_t *in = g_malloc(DIFF_DATA_SIZE);

        diff_fill_data(c, in);
        for (unsigned i = 0; i < DIFF_DATA_SIZE && shown < 3; i++) {
            unsigned j;

            if (n->data[i] == s->data[i])
                continue;
            for (j = i; j < DIFF_DATA_SIZE && j < i + 16 && n->data[j] != s->data[j]; j++)
                ;
            g_string_truncate(line, 0);
            g_string_append_printf(line, "  data %#" PRIx64 ":", (uint64_t)(DIFF_DATA + i));
            for (unsigned m = 0; m < 3; m++) {
                const uint8_t *src = m == 0 ? in : m == 1 ? n->data : s->data;

                g_string_append(line, m == 0 ? " was " : m == 1 ? " native " : " soft ");
                for (unsigned x = i; x < j; x++)
                    g_string_append_printf(line, "%02x", src[x]);
            }
            g_test_message("%s", line->str);
            shown++;
            i = j;
        }
        g_free(in);
    }
    g_string_free(line, true);
}

/* ---- the tests ---- */

static void test_group(gconstpointer data)
{
    unsigned g = GPOINTER_TO_UINT(data), first = T.group_first[g];
    const char *name = diff_tmpl_group(first);
    unsigned op = diff_tmpl_op(first), tl[64], nt = 0;
    struct diff_case *cases;
    struct diff_result *nres, sres;
    struct diff_rng rng;
    unsigned long long mismatches = 0, done = 0;
    unsigned vec_native[32] = { 0 };
    unsigned long long err_only = 0, crashed = 0, flaky = 0;
    struct diff_result *again;

    for (unsigned t = 0; t < diff_tmpl_count() && nt < 64; t++)
        if (!strcmp(diff_tmpl_group(t), name))
            tl[nt++] = t;
    for (unsigned i = 0; i < nt; i++) {
        op = diff_tmpl_op(tl[i]);
        if (op >= OP__MAX || !tcg_exec_table[op]) {
            g_test_skip_printf("%s: no handler in tcg_exec_table for %s yet", name,
                               insn_op_name(op));
            return;
        }
    }
    if (!T.native) {
        g_test_skip_printf("the native side cannot run here: %s", T.native_why);
        return;
    }
    if (!T.soft) {
        g_test_skip("guest RAM for the software CPU could not be set up");
        return;
    }
    diff_rng_seed(&rng, T.seed ^ fnv(name));
    cases = g_new(struct diff_case, CHUNK);
    nres = g_new(struct diff_result, CHUNK);
    again = g_new(struct diff_result, 1);
    while (done < T.per_group) {
        unsigned n = T.per_group - done < CHUNK ? (unsigned)(T.per_group - done) : CHUNK;

        for (unsigned i = 0; i < n; i++)
            diff_gen_case(tl[(done + i) % nt], &rng, &T.gen, &cases[i]);
        diff_native_run(T.native, cases, nres, n);
        for (unsigned i = 0; i < n; i++) {
            unsigned d;

            diff_soft_run(T.soft, &cases[i], &sres);
            if (nres[i].outcome == DIFF_EXCEPTION)
                vec_native[nres[i].vector & 31]++;
            if (nres[i].outcome == DIFF_CRASH) {
                /* The host did something the child did not survive (or
                 * looped): nothing to compare against.  Counted, shown
                 * once, not failed. */
                if (!crashed++)
                    report(&cases[i], &nres[i], &sres, 0);
                continue;
            }
            d = compare(&cases[i], &nres[i], &sres);
            if (d == D_ERR) {
                /* Only the P bit of the #PF error code: the host process
                 * has pages the software side does not map (the kernel
                 * half, the vsyscall page; the soft side has its GDT page),
                 * so "not present" there may be "protection" here.  The
                 * other bits are compared.  Counted, reported once, not
                 * failed (see the note printed below). */
                if (!err_only++)
                    report(&cases[i], &nres[i], &sres, d);
                continue;
            }
            if (d) {
                /* The host is not always deterministic: an interrupt that
                 * lands inside a short sequence returns through IRET,
                 * which nulls a data segment register holding a null
                 * selector with RPL != 0 (SDM vol. 2, IRET).  Run the case
                 * on the host once more; if the host disagrees with itself
                 * and its second answer is the software CPU's, it is not a
                 * mismatch.  Counted, reported once, not failed. */
                diff_native_run(T.native, &cases[i], again, 1);
                if (compare(&cases[i], &nres[i], again) &&
                    (compare(&cases[i], again, &sres) & ~(unsigned)D_ERR) == 0) {
                    if (!flaky++)
                        report(&cases[i], &nres[i], &sres, d);
                    continue;
                }
            }
            if (d) {
                if (mismatches < T.max_reports)
                    report(&cases[i], &nres[i], &sres, d);
                mismatches++;
            }
        }
        done += n;
    }
    {
        GString *v = g_string_new(NULL);

        for (unsigned i = 0; i < 32; i++)
            if (vec_native[i])
                g_string_append_printf(v, " #%u:%u", i, vec_native[i]);
        g_test_message("%s: %llu cases over %u forms, %llu mismatches; native exceptions:%s",
                       name, done - crashed, nt, mismatches, v->len ? v->str : " none");
        g_string_free(v, true);
    }
    T.total_cases += done - crashed;
    T.total_mismatches += mismatches;
    if (crashed)
        g_test_message("%s: note: the native child died or hung in %llu cases, which were "
                       "not compared (the first is shown above)", name, crashed);
    if (err_only)
        g_test_message("%s: note: in %llu cases only the P bit of the #PF error code differs "
                       "(not failed; the first is shown above)", name, err_only);
    if (flaky)
        g_test_message("%s: note: in %llu cases the host gave another result when run again, "
                       "the software CPU's (not failed; the first is shown above)", name,
                       flaky);
    g_free(again);
    g_free(cases);
    g_free(nres);
    if (mismatches)
        g_test_fail_printf("%s: %llu of %llu cases differ from the host CPU", name,
                           mismatches, done);
}

/* The native runner checked on its own: instructions whose result is
 * known.  A broken harness would make every comparison meaningless. */
static void test_native_self_check(void)
{
    struct diff_case c[6];
    struct diff_result *r;

    if (!T.native) {
        g_test_skip_printf("the native side cannot run here: %s", T.native_why);
        return;
    }
    r = g_new0(struct diff_result, 6);
    memset(c, 0, sizeof(c));
    for (unsigned i = 0; i < 6; i++) {
        c[i].mode = DIFF_MODE64;
        for (unsigned j = 0; j < 16; j++)
            c[i].regs[j] = 0x0101010101010101ull * j;
        c[i].regs[4] = DIFF_DATA + 0x1000;
        c[i].mem_seed = i;
    }
    /* add rax, rcx: 0xffffffffffffffff + 1 = 0, CF ZF PF AF */
    memcpy(c[0].bytes, "\x48\x01\xc8", 3), c[0].len = 3;
    c[0].regs[0] = ~0ull, c[0].regs[1] = 1;
    /* div rcx with rcx = 0: #DE, rip at the div */
    memcpy(c[1].bytes, "\x48\xf7\xf1", 3), c[1].len = 3;
    c[1].regs[1] = 0;
    /* ud2: #UD */
    memcpy(c[2].bytes, "\x0f\x0b", 2), c[2].len = 2;
    /* push rbx: stores at rsp - 8 */
    memcpy(c[3].bytes, "\x53", 1), c[3].len = 1;
    /* jmp +0x10: lands on an int3 of the page */
    memcpy(c[4].bytes, "\xeb\x10", 2), c[4].len = 2;
    /* mov [rax], ecx with rax just below the data area: #PF, cr2 = rax */
    memcpy(c[5].bytes, "\x89\x08", 2), c[5].len = 2;
    c[5].regs[0] = DIFF_DATA - 4;
    diff_native_run(T.native, c, r, 6);

    g_assert_cmpint(r[0].outcome, ==, DIFF_DONE);
    g_assert_cmphex(r[0].rip, ==, DIFF_INSN_ADDR + 3);
    g_assert_cmphex(r[0].regs[0], ==, 0);
    g_assert_cmphex(r[0].rflags & DIFF_FLAGS_ARITH, ==, 0x55);
    g_assert_cmphex(r[0].regs[7], ==, 0x0707070707070707ull);
    g_assert_cmpint(r[1].outcome, ==, DIFF_EXCEPTION);
    g_assert_cmpint(r[1].vector, ==, 0);
    g_assert_cmphex(r[1].rip, ==, DIFF_INSN_ADDR);
    g_assert_cmpint(r[2].outcome, ==, DIFF_EXCEPTION);
    g_assert_cmpint(r[2].vector, ==, 6);
    g_assert_cmpint(r[3].outcome, ==, DIFF_DONE);
    g_assert_cmphex(r[3].regs[4], ==, DIFF_DATA + 0x1000 - 8);
    g_assert_cmpmem(r[3].data + 0x1000 - 8, 8, &c[3].regs[3], 8);
    g_assert_cmpint(r[4].outcome, ==, DIFF_DONE);
    g_assert_cmphex(r[4].rip, ==, DIFF_INSN_ADDR + 2 + 0x10);
    g_assert_cmpint(r[5].outcome, ==, DIFF_EXCEPTION);
    g_assert_cmpint(r[5].vector, ==, 14);
    g_assert_cmphex(r[5].cr2, ==, DIFF_DATA - 4);
    g_assert_cmphex(r[5].error_code & 2, ==, 2);   /* a write */
    g_free(r);
}

int main(int argc, char **argv)
{
    const char *env;
    unsigned long long total = 200000;
    unsigned nt = diff_tmpl_count();

    g_test_init(&argc, &argv, NULL);
    env = getenv("HYVM_DIFF_CASES");
    if (env && *env)
        total = strtoull(env, NULL, 0);
    env = getenv("HYVM_DIFF_SEED");
    if (env && !strcmp(env, "random"))
        T.seed = (uint64_t)g_get_real_time() ^ ((uint64_t)getpid() << 32);
    else if (env && *env)
        T.seed = strtoull(env, NULL, 0);
    else
        T.seed = 0x5eed;
    T.gen.mask_undefined = !host_is_amd();
    env = getenv("HYVM_DIFF_REPORTS");
    T.max_reports = env && *env ? (unsigned)strtoul(env, NULL, 0) : 4;

    for (unsigned t = 0; t < nt; t++) {
        bool seen = false;

        for (unsigned g = 0; g < T.ngroups; g++)
            if (!strcmp(diff_tmpl_group(T.group_first[g]), diff_tmpl_group(t)))
                seen = true;
        if (!seen && T.ngroups < MAX_GROUPS)
            T.group_first[T.ngroups++] = t;
    }
    T.per_group = (unsigned)(total / T.ngroups ? total / T.ngroups : 1);
    g_test_message("seed %#" PRIx64 " (HYVM_DIFF_SEED), %u cases per mnemonic, %u mnemonics",
                   T.seed, T.per_group, T.ngroups);
    if (T.gen.mask_undefined)
        g_test_message("host is not AuthenticAMD: the flags the SDM leaves undefined are "
                       "not compared (the executor sets them as AMD does)");

    T.native = diff_native_new(&T.native_why);
    T.gen.mode16 = diff_native_has_mode16(T.native);
    if (T.native && !T.gen.mode16)
        g_test_message("modify_ldt(2) is not available: no 16-bit mode cases");
    T.soft = diff_soft_new();
    g_test_add_func("/diff/native-self-check", test_native_self_check);
    for (unsigned g = 0; g < T.ngroups; g++) {
        char *path = g_strdup_printf("/diff/%s", diff_tmpl_group(T.group_first[g]));

        g_test_add_data_func(path, GUINT_TO_POINTER(g), test_group);
        g_free(path);
    }
    {
        int rc = g_test_run();

        /* After the plan: a TAP comment that tests/bench/diff-long.sh reads. */
        printf("# diff total: %llu cases compared, %llu mismatches, seed %#" PRIx64 "\n",
               T.total_cases, T.total_mismatches, T.seed);

        diff_native_free(T.native);
        if (T.soft)
            diff_soft_free(T.soft);
        return rc;
    }
}
