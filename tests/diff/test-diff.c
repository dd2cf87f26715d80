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
 *   HYVM_DIFF_JIT=0     do not run every case through the translator as well
 *                       (-accel tcg,jit=on), whose result must equal the
 *                       interpreter's exactly
 *   HYVM_DIFF_GROUPS=P  only the groups matching P, a comma-separated list
 *                       of glob patterns ("x87-*,sse-fp-*"); the cases
 *                       are then shared among those
 *
 * A mnemonic with no handler in tcg_exec_table is a TAP skip.  On a host
 * that is not AuthenticAMD the flags the SDM leaves undefined are not
 * compared: the executor sets them as AMD (Zen) does.
 *
 * The x87, MMX and SSE groups (issue 6, item 7) also load and compare the
 * x87/SSE state: FCW, FSW (the condition bits the SDM leaves undefined
 * masked off a host that is not AMD), the abridged tag word, MXCSR, ST0-7
 * (all 80 bits, MMX registers included, empty registers too) and XMM0-15
 * in 64-bit mode, XMM0-7 in 32- and 16-bit mode; FOP, FIP and FDP are not
 * compared (see diff.h).  An unmasked SSE exception is #XM (vector 19) on
 * both sides, with CR4.OSXMMEXCPT set; an unmasked x87 exception only sets
 * FSW.ES, so the FSW comparison covers it, and a pending one is #MF (16) at
 * the next waiting instruction.  Such a group is skipped while a file of
 * the software CPU it needs is not in the tree (meson tells this file
 * which are, HYVM_DIFF_HAVE_FILES) or the host lacks the instruction.
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

/* Bit i: diff_need_files[i] exists in accel/tcg/ (set by meson.build). */
#ifndef HYVM_DIFF_HAVE_FILES
#define HYVM_DIFF_HAVE_FILES 0
#endif

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
    unsigned long long fp_cases;        /* of them, cases of x87/SSE groups */
    bool jit;                           /* every case also through the translator */
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

/* The host features the native side of a template needs. */
static bool host_has(unsigned f)
{
    switch (f) {
    case DIFF_HOST_SSE3: return __builtin_cpu_supports("sse3");
    case DIFF_HOST_SSSE3: return __builtin_cpu_supports("ssse3");
    case DIFF_HOST_SSE41: return __builtin_cpu_supports("sse4.1");
    case DIFF_HOST_SSE42: return __builtin_cpu_supports("sse4.2");
    case DIFF_HOST_PCLMUL: return __builtin_cpu_supports("pclmul");
    default: return true;
    }
}

static const char *host_feat_name(unsigned f)
{
    static const char *const names[] = { "-", "SSE3", "SSSE3", "SSE4.1", "SSE4.2", "PCLMULQDQ" };

    return f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

/* HYVM_DIFF_GROUPS: a comma-separated list of glob patterns, or NULL. */
static bool group_selected(const char *sel, const char *name)
{
    bool hit = false;
    char **pats;

    if (!sel || !*sel)
        return true;
    pats = g_strsplit(sel, ",", -1);
    for (unsigned i = 0; pats[i] && !hit; i++)
        hit = *pats[i] && g_pattern_match_simple(g_strstrip(pats[i]), name);
    g_strfreev(pats);
    return hit;
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
    D_CR2 = 64, D_ERR = 128, D_SEG = 256, D_GPERR = 512, D_PFERR = 1024, D_FPU = 2048,
};

/* ---- the x87/SSE state ---- */

/* Which parts of the state differ: FPD_* bits, ST(i) at bit 8 + i,
 * XMM(i) at bit 16 + i. */
enum { FPD_FCW = 1, FPD_FSW = 2, FPD_FTW = 4, FPD_MXCSR = 8, FPD_MISSING = 16 };

static unsigned fpu_nxmm(const struct diff_case *c)
{
    return c->mode == DIFF_MODE64 ? 16 : 8;
}

static uint32_t fpu_diff(const struct diff_case *c, const struct diff_result *n,
                         const struct diff_result *s)
{
    const struct diff_fpu *a = &n->fpu, *b = &s->fpu;
    uint32_t d = 0;

    if (!c->fpu_on)
        return 0;
    if (!n->fpu_valid || !s->fpu_valid)
        return FPD_MISSING;
    if (a->fcw != b->fcw)
        d |= FPD_FCW;
    if ((a->fsw ^ b->fsw) & ~c->fsw_ignore)
        d |= FPD_FSW;
    if (a->ftw != b->ftw)
        d |= FPD_FTW;
    if (a->mxcsr != b->mxcsr)
        d |= FPD_MXCSR;
    for (unsigned i = 0; i < 8; i++)
        if (a->st[i].mant != b->st[i].mant || a->st[i].exp != b->st[i].exp)
            d |= 1u << (8 + i);
    for (unsigned i = 0; i < fpu_nxmm(c); i++)
        if (a->xmm[i][0] != b->xmm[i][0] || a->xmm[i][1] != b->xmm[i][1])
            d |= 1u << (16 + i);
    return d;
}

/* An 80-bit value as sign:exponent:significand, plus what it is. */
static const char *f80_str(uint64_t mant, uint16_t exp, char *buf, size_t n)
{
    unsigned e = exp & 0x7fff;
    const char *k = e == 0 ? (mant == 0 ? "zero" : mant >> 63 ? "pseudo-denormal" : "denormal")
                  : e == 0x7fff ? (!(mant >> 63) ? "pseudo-nan/inf"
                                   : (mant << 1) == 0 ? "inf"
                                   : (mant >> 62) & 1 ? "qnan" : "snan")
                  : mant >> 63 ? "normal" : "unnormal";

    snprintf(buf, n, "%04x:%016" PRIx64 " (%s)", exp, mant, k);
    return buf;
}

static void report_fpu_in(const struct diff_case *c)
{
    const struct diff_fpu *f = &c->fpu;
    char b[64];

    g_test_message("  in:  fcw %#06x fsw %#06x (top %u) ftw %#04x mxcsr %#010x%s", f->fcw,
                   f->fsw, (f->fsw >> 11) & 7, f->ftw, f->mxcsr,
                   c->fsw_ignore ? " (undefined fsw bits not compared)" : "");
    for (unsigned i = 0; i < 8; i++)
        g_test_message("  in:  st(%u) = %s", i, f80_str(f->st[i].mant, f->st[i].exp, b,
                                                      sizeof(b)));
    for (unsigned i = 0; i < fpu_nxmm(c); i += 2)
        g_test_message("  in:  xmm%u = %016" PRIx64 ":%016" PRIx64 "  xmm%u = %016" PRIx64
                       ":%016" PRIx64, i, f->xmm[i][1], f->xmm[i][0], i + 1,
                       f->xmm[i + 1][1], f->xmm[i + 1][0]);
}

static void report_fpu_diff(const struct diff_case *c, const struct diff_result *n,
                            const struct diff_result *s)
{
    uint32_t d = fpu_diff(c, n, s);
    const struct diff_fpu *a = &n->fpu, *b = &s->fpu;
    char b1[64], b2[64];

    if (d & FPD_MISSING)
        g_test_message("  fpu: the native side's signal frame had no FPU state");
    if (d & FPD_FCW)
        g_test_message("  fcw: native %#06x soft %#06x", a->fcw, b->fcw);
    if (d & FPD_FSW)
        g_test_message("  fsw: native %#06x soft %#06x (differing bits %#06x)", a->fsw, b->fsw,
                       (a->fsw ^ b->fsw) & ~c->fsw_ignore);
    if (d & FPD_FTW)
        g_test_message("  ftw: native %#04x soft %#04x", a->ftw, b->ftw);
    if (d & FPD_MXCSR)
        g_test_message("  mxcsr: native %#010x soft %#010x", a->mxcsr, b->mxcsr);
    for (unsigned i = 0; i < 8; i++)
        if (d & (1u << (8 + i)))
            g_test_message("  st(%u): native %s soft %s", i,
                           f80_str(a->st[i].mant, a->st[i].exp, b1, sizeof(b1)),
                           f80_str(b->st[i].mant, b->st[i].exp, b2, sizeof(b2)));
    for (unsigned i = 0; i < 16; i++)
        if (d & (1u << (16 + i)))
            g_test_message("  xmm%u: native %016" PRIx64 ":%016" PRIx64 " soft %016" PRIx64
                           ":%016" PRIx64, i, a->xmm[i][1], a->xmm[i][0], b->xmm[i][1],
                           b->xmm[i][0]);
}

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

/* The data area, but for the bytes the case says are not compared. */
static bool data_ignored(const struct diff_case *c, unsigned i)
{
    for (unsigned k = 0; k < 2; k++)
        if (i >= c->ign_off[k] && i - c->ign_off[k] < c->ign_len[k])
            return true;
    return false;
}

static bool data_differs(const struct diff_case *c, const struct diff_result *n,
                         const struct diff_result *s)
{
    if (!c->ign_len[0] && !c->ign_len[1])
        return memcmp(n->data, s->data, DIFF_DATA_SIZE) != 0;
    for (unsigned i = 0; i < DIFF_DATA_SIZE; i++)
        if (n->data[i] != s->data[i] && !data_ignored(c, i))
            return true;
    return false;
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
        else if (n->vector == 14 && n->cr2 != s->cr2 &&
                 !(c->cr2_any && (n->cr2 >> 12) == (s->cr2 >> 12)))
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
    if (data_differs(c, n, s))
        d |= D_DATA;
    if (fpu_diff(c, n, s))
        d |= D_FPU;
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
    for (unsigned i = 0; i < c->npatch && i < DIFF_MAX_PATCH; i++) {
        const struct diff_patch *p = &c->patch[i];

        g_string_truncate(line, 0);
        for (unsigned k = 0; k < p->len && k < sizeof(p->bytes); k++)
            g_string_append_printf(line, "%02x", p->bytes[k]);
        g_test_message("  in:  patch at %#" PRIx64 " (%u bytes, little-endian): %s",
                       (uint64_t)(DIFF_DATA + p->off), p->len, line->str);
    }
    if (c->fpu_on)
        report_fpu_in(c);
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
    if (d & D_FPU)
        report_fpu_diff(c, n, s);
    if (d & D_DATA) {
        unsigned shown = 0;
        uint8_t *in = g_malloc(DIFF_DATA_SIZE);

        diff_fill_data(c, in);
        for (unsigned i = 0; i < DIFF_DATA_SIZE && shown < 3; i++) {
            unsigned j;

            if (n->data[i] == s->data[i] || data_ignored(c, i))
                continue;
            for (j = i; j < DIFF_DATA_SIZE && j < i + 16 && n->data[j] != s->data[j] &&
                        !data_ignored(c, j); j++)
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
    struct diff_result *nres, sres, *jres;
    struct diff_rng rng;
    unsigned long long mismatches = 0, done = 0, jit_mismatches = 0, jit_cases = 0;
    unsigned vec_native[32] = { 0 };
    unsigned long long err_only = 0, crashed = 0, flaky = 0;
    struct diff_result *again;

    for (unsigned t = 0; t < diff_tmpl_count() && nt < 64; t++)
        if (!strcmp(diff_tmpl_group(t), name))
            tl[nt++] = t;
    for (unsigned i = 0; i < nt; i++) {
        unsigned missing = diff_tmpl_needs(tl[i]) & ~(unsigned)HYVM_DIFF_HAVE_FILES;

        op = diff_tmpl_op(tl[i]);
        if (missing) {
            unsigned f = (unsigned)__builtin_ctz(missing);

            g_test_skip_printf("%s: not compared: accel/tcg/%s is not in the tree yet", name,
                               f < DIFF_NEED_COUNT ? diff_need_files[f] : "?");
            return;
        }
        if (op >= OP__MAX || !tcg_exec_table[op]) {
            g_test_skip_printf("%s: no handler in tcg_exec_table for %s yet", name,
                               insn_op_name(op));
            return;
        }
        if (!host_has(diff_tmpl_host_feat(tl[i]))) {
            g_test_skip_printf("%s: not compared: the host CPU lacks %s (%s)", name,
                               diff_tmpl_desc(tl[i]), host_feat_name(diff_tmpl_host_feat(tl[i])));
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
    jres = g_new(struct diff_result, 1);
    while (done < T.per_group) {
        unsigned n = T.per_group - done < CHUNK ? (unsigned)(T.per_group - done) : CHUNK;

        for (unsigned i = 0; i < n; i++)
            diff_gen_case(tl[(done + i) % nt], &rng, &T.gen, &cases[i]);
        diff_native_run(T.native, cases, nres, n);
        for (unsigned i = 0; i < n; i++) {
            unsigned d;

            diff_soft_run(T.soft, &cases[i], &sres);
            /* The translator against the interpreter: exactly the same, whatever the host
             * did (a case that loops costs the translated run a second: not run). */
            if (T.jit && sres.outcome != DIFF_STUCK) {
                diff_soft_use_jit(T.soft, true);
                diff_soft_run(T.soft, &cases[i], jres);
                diff_soft_use_jit(T.soft, false);
                jit_cases++;
                d = compare(&cases[i], &sres, jres);
                if (d) {
                    if (jit_mismatches < T.max_reports) {
                        g_test_message("%s: the translator differs from the interpreter "
                                       "(first: interpreter, second: translator)", name);
                        report(&cases[i], &sres, jres, d);
                    }
                    jit_mismatches++;
                }
            }
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
    if (first < diff_tmpl_count() && diff_tmpl_needs(first))
        T.fp_cases += done - crashed;
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
    if (T.jit)
        g_test_message("%s: %llu cases through the translator, %llu differ from the "
                       "interpreter", name, jit_cases, jit_mismatches);
    g_free(jres);
    g_free(again);
    g_free(cases);
    g_free(nres);
    if (jit_mismatches)
        g_test_fail_printf("%s: %llu of %llu cases differ between the translator and the "
                           "interpreter", name, jit_mismatches, jit_cases);
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

/* The same for the x87/SSE state: FXRSTOR going in and the signal frame
 * coming out must carry what the instruction did, #XM must come back as
 * vector 19, and stack order and MMX aliasing must be as diff.h says. */
static void test_native_fpu_self_check(void)
{
    struct diff_case c[4];
    struct diff_result *r;
    const uint32_t one = 0x3f800000u;

    if (!T.native) {
        g_test_skip_printf("the native side cannot run here: %s", T.native_why);
        return;
    }
    r = g_new0(struct diff_result, 4);
    memset(c, 0, sizeof(c));
    for (unsigned i = 0; i < 4; i++) {
        c[i].mode = DIFF_MODE64;
        c[i].fpu_on = true;
        c[i].fpu.fcw = 0x37f;
        c[i].fpu.mxcsr = 0x1f80;
    }
    /* fld1 on an empty stack: TOP 0 -> 7, R7 valid, ST(0) = 1.0 */
    memcpy(c[0].bytes, "\xd9\xe8", 2), c[0].len = 2;
    /* divps xmm0, xmm1: 1.0 / 0.0 with ZE unmasked (#XM), then masked (inf) */
    memcpy(c[1].bytes, "\x0f\x5e\xc1", 3), c[1].len = 3;
    for (unsigned k = 0; k < 4; k++)
        memcpy((uint8_t *)c[1].fpu.xmm[0] + 4 * k, &one, 4);
    c[1].fpu.mxcsr = 0x1f80 & ~0x200u;
    c[2] = c[1];
    c[2].fpu.mxcsr = 0x1f80;
    /* movq mm0, mm1 with TOP 3: mm1 is R1 = ST(6); after it TOP 0, all
     * valid, R0 = ST(0) holds it with exponent 0xffff */
    memcpy(c[3].bytes, "\x0f\x6f\xc1", 3), c[3].len = 3;
    c[3].fpu.fsw = 3 << 11;
    c[3].fpu.st[6].mant = 0x1122334455667788ull;
    diff_native_run(T.native, c, r, 4);

    g_assert_cmpint(r[0].outcome, ==, DIFF_DONE);
    g_assert_true(r[0].fpu_valid);
    g_assert_cmphex(r[0].fpu.fsw, ==, 0x3800);
    g_assert_cmphex(r[0].fpu.ftw, ==, 0x80);
    g_assert_cmphex(r[0].fpu.st[0].mant, ==, 0x8000000000000000ull);
    g_assert_cmphex(r[0].fpu.st[0].exp, ==, 0x3fff);
    g_assert_cmpint(r[1].outcome, ==, DIFF_EXCEPTION);
    g_assert_cmpint(r[1].vector, ==, 19);
    g_assert_cmphex(r[1].fpu.mxcsr, ==, 0x1d84);
    g_assert_cmphex(r[1].fpu.xmm[0][0], ==, 0x3f8000003f800000ull);
    g_assert_cmpint(r[2].outcome, ==, DIFF_DONE);
    g_assert_cmphex(r[2].fpu.mxcsr, ==, 0x1f84);
    g_assert_cmphex(r[2].fpu.xmm[0][1], ==, 0x7f8000007f800000ull);
    g_assert_cmpint(r[3].outcome, ==, DIFF_DONE);
    g_assert_cmphex(r[3].fpu.fsw & 0x3800, ==, 0);
    g_assert_cmphex(r[3].fpu.ftw, ==, 0xff);
    g_assert_cmphex(r[3].fpu.st[0].mant, ==, 0x1122334455667788ull);
    g_assert_cmphex(r[3].fpu.st[0].exp, ==, 0xffff);
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
    env = getenv("HYVM_DIFF_GROUPS");

    for (unsigned t = 0; t < nt; t++) {
        bool seen = !group_selected(env, diff_tmpl_group(t));

        for (unsigned g = 0; g < T.ngroups; g++)
            if (!strcmp(diff_tmpl_group(T.group_first[g]), diff_tmpl_group(t)))
                seen = true;
        if (!seen && T.ngroups < MAX_GROUPS)
            T.group_first[T.ngroups++] = t;
    }
    T.per_group = (unsigned)(T.ngroups && total / T.ngroups ? total / T.ngroups : 1);
    g_test_message("seed %#" PRIx64 " (HYVM_DIFF_SEED), %u cases per mnemonic, %u mnemonics%s%s",
                   T.seed, T.per_group, T.ngroups, env && *env ? " matching " : "",
                   env && *env ? env : "");
    if (T.gen.mask_undefined)
        g_test_message("host is not AuthenticAMD: the flags the SDM leaves undefined are "
                       "not compared (the executor sets them as AMD does)");

    T.native = diff_native_new(&T.native_why);
    T.gen.mode16 = diff_native_has_mode16(T.native);
    if (T.native && !T.gen.mode16)
        g_test_message("modify_ldt(2) is not available: no 16-bit mode cases");
    T.soft = diff_soft_new();
    env = getenv("HYVM_DIFF_JIT");
    T.jit = T.soft && !(env && !strcmp(env, "0")) && diff_soft_use_jit(T.soft, true);
    if (T.jit)
        diff_soft_use_jit(T.soft, false);
    if (T.soft && !T.jit)
        g_test_message("the translator is not compared (HYVM_DIFF_JIT=0, or no code buffer)");
    g_test_add_func("/diff/native-self-check", test_native_self_check);
    g_test_add_func("/diff/native-fpu-self-check", test_native_fpu_self_check);
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
        printf("# diff x87/SSE: %llu of them in x87/MMX/SSE groups\n", T.fp_cases);

        diff_native_free(T.native);
        if (T.soft)
            diff_soft_free(T.soft);
        return rc;
    }
}
