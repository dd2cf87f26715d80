/*
 * Unit test "tcg-ssefp": the floating-point SSE..SSE4.1 forms of the
 * software CPU (exec-sse-fp.c), checked against the host executing the
 * same bytes natively.
 *
 * Each case builds one instruction (mandatory prefix, REX, opcode, ModRM,
 * imm8), a random register state (an FXSAVE image: XMM0-15, MXCSR, the x87
 * registers with TOP and tags), RAX, RFLAGS and a memory operand at (%rdi).
 * The host runs the bytes from an executable page between FXRSTOR and
 * FXSAVE, catching the fault as a signal (trap number and state from the
 * signal frame); the software CPU runs them through the decoder and
 * tcg_step() from guest RAM in 64-bit mode.  Then every XMM register,
 * MXCSR, the x87 words and registers, RAX, the arithmetic flags and the
 * exception vector must agree.  The values mix edge cases (zeros,
 * denormals, infinities, SNaN/QNaN, the largest and smallest numbers,
 * values next to integer limits) with random ones, under every rounding
 * mode, DAZ and FTZ, with exceptions masked or not; with CR4.OSXMMEXCPT
 * clear an unmasked exception must be #UD with the state of the host's #XM.
 *
 * Threads: the gtest main thread only (the signal handlers run on it).
 */
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <glib.h>

#include "accel/tcg/sse.h"
#include "arch/x86/cpu-models.h"
#include "system/memory.h"

#define RAM_SIZE (4u << 20)
#define CODE 0x10000u
#define GMEM 0x20000u
#define PT_BASE 0x1000u

/* ---- the host side ---- */

struct fxsave {
    uint16_t fcw, fsw;
    uint8_t ftw, rsvd1;
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr, mxcsr_mask;
    struct {
        uint64_t mant;
        uint16_t exp;
        uint16_t rsvd[3];
    } st[8];
    struct {
        uint64_t lo, hi;
    } xmm[16];
    uint8_t rsvd2[96];
} __attribute__((aligned(16)));

G_STATIC_ASSERT(sizeof(struct fxsave) == 512);

struct gpr {
    uint64_t rax, rdi, rflags;
};

/* Runs code (ending in RET) with the registers of in and g; out gets the
 * state after it (FXSAVE), g the new RAX and RFLAGS. */
void ssefp_native(const struct fxsave *in, struct fxsave *out, struct gpr *g, const void *code);

__asm__(".pushsection .text\n"
        ".globl ssefp_native\n"
        ".type ssefp_native, @function\n"
        "ssefp_native:\n"
        "  push %rbx\n"
        "  push %rbp\n"
        "  push %r12\n"
        "  push %r13\n"
        "  push %r14\n"
        "  push %r15\n"
        "  mov %rdi, %r12\n"
        "  mov %rsi, %r13\n"
        "  mov %rdx, %r14\n"
        "  mov %rcx, %r15\n"
        "  fxrstor64 (%r12)\n"
        "  pushq 16(%r14)\n"
        "  popfq\n"
        "  mov 0(%r14), %rax\n"
        "  mov 8(%r14), %rdi\n"
        "  call *%r15\n"
        "  pushfq\n"
        "  popq 16(%r14)\n"
        "  mov %rax, 0(%r14)\n"
        "  fxsave64 (%r13)\n"
        "  fninit\n"
        "  pushq $0x1f80\n"
        "  ldmxcsr (%rsp)\n"
        "  add $8, %rsp\n"
        "  pop %r15\n"
        "  pop %r14\n"
        "  pop %r13\n"
        "  pop %r12\n"
        "  pop %rbp\n"
        "  pop %rbx\n"
        "  ret\n"
        ".size ssefp_native, .-ssefp_native\n"
        ".popsection\n");

static uint8_t *jit;
static uint8_t hmem[64] __attribute__((aligned(64)));
static sigjmp_buf native_jb;
static volatile sig_atomic_t in_native;
static struct fxsave fault_fx;
static struct gpr fault_gpr;
static int fault_trap;

static void native_signal(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;

    if (!in_native) {
        signal(sig, SIG_DFL);
        return;
    }
    memcpy(&fault_fx, uc->uc_mcontext.fpregs, sizeof(fault_fx));
    fault_gpr.rax = (uint64_t)uc->uc_mcontext.gregs[REG_RAX];
    fault_gpr.rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
    fault_trap = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    siglongjmp(native_jb, 1);
}

/* The host's outcome: -1 or the vector, with the state after. */
static int native_run(const uint8_t *bytes, unsigned len, const struct fxsave *in,
                      struct fxsave *out, struct gpr *g)
{
    memcpy(jit, bytes, len);
    jit[len] = 0xc3;
    in_native = 1;
    if (sigsetjmp(native_jb, 0) == 0) {
        ssefp_native(in, out, g, jit);
        in_native = 0;
        return -1;
    }
    in_native = 0;
    *out = fault_fx;
    g->rax = fault_gpr.rax;
    g->rflags = fault_gpr.rflags;
    return fault_trap;
}

/* ---- the guest side ---- */

static struct tcg_cpu cpu;

static void wr64(uint64_t gpa, uint64_t v)
{
    g_assert_cmpint(ram_write(gpa, &v, 8), ==, 0);
}

/* 4-level identity paging of [0, 2 MiB) (SDM vol. 3, 4.5). */
static void cpu_reset64(void)
{
    wr64(PT_BASE, (PT_BASE + 0x1000) | 7);
    wr64(PT_BASE + 0x1000, (PT_BASE + 0x2000) | 7);
    wr64(PT_BASE + 0x2000, (PT_BASE + 0x3000) | 7);
    for (uint64_t i = 0; i < 512; i++) {
        wr64(PT_BASE + 0x3000 + i * 8, (i << 12) | 7);
    }
    x86_cpu_state_flat32(&cpu.st, CODE);
    cpu.st.cr3 = PT_BASE;
    cpu.st.cr4 |= CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    cpu.st.cr0 = (cpu.st.cr0 | CR0_PG | CR0_NE | CR0_MP) & ~(CR0_EM | CR0_TS);
    cpu.st.efer |= EFER_LME | EFER_LMA;
    cpu.st.seg[S_CS].l = true;
    cpu.st.seg[S_CS].db = false;
    tcg_cpu_mode_changed(&cpu);
    tcg_tlb_flush(&cpu);
    g_assert_cmpint(cpu.mode, ==, MODE_LONG64);
}

/* The guest's CPUID: what the software CPU lists, plus SSE..SSE4.1. */
static struct x86_cpuid_entry cpuid_tbl[32];
static struct x86_cpuid_entry *cpuid_leaf1;

static void cpuid_setup(void)
{
    unsigned n = tcg_cpuid_supported(cpuid_tbl, G_N_ELEMENTS(cpuid_tbl));

    for (unsigned i = 0; i < n; i++) {
        if (cpuid_tbl[i].function == 1) {
            cpuid_leaf1 = &cpuid_tbl[i];
        }
    }
    g_assert_nonnull(cpuid_leaf1);
    cpuid_leaf1->edx |= (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
    cpuid_leaf1->ecx |= (1u << 0) | (1u << 19);
    cpu.cpuid = cpuid_tbl;
    cpu.ncpuid = n;
}

static void guest_load(const struct fxsave *fx, const struct gpr *g)
{
    unsigned top = (fx->fsw >> 11) & 7;

    cpu.st.fpu.fcw = fx->fcw;
    cpu.st.fpu.fsw = fx->fsw;
    cpu.st.fpu.ftw = fx->ftw;
    cpu.st.fpu.mxcsr = fx->mxcsr;
    for (unsigned i = 0; i < 8; i++) {
        cpu.st.fpu.st[(top + i) & 7].mant = fx->st[i].mant;
        cpu.st.fpu.st[(top + i) & 7].exp = fx->st[i].exp;
    }
    for (unsigned i = 0; i < 16; i++) {
        cpu.st.fpu.xmm[i].lo = fx->xmm[i].lo;
        cpu.st.fpu.xmm[i].hi = fx->xmm[i].hi;
    }
    cpu.st.regs[R_EAX] = g->rax;
    cpu.st.regs[R_EDI] = g->rdi;
    cpu.st.rflags = g->rflags;
    cpu.st.rip = CODE;
}

/* One instruction through the decoder and exec_sse (exec-sse.c), which
 * hands the floating-point forms to tcg_sse_fp(). */
static int guest_run(const uint8_t *bytes, unsigned len)
{
    enum tcg_status st;

    g_assert_cmpint(ram_write(CODE, bytes, len), ==, 0);
    if (cpu.blocks) {
        tcg_code_written(&cpu, CODE);
    }
    st = tcg_step(&cpu);
    if (st == TCG_EXCEPTION) {
        g_assert_cmpuint(cpu.st.rip, ==, CODE);
        return cpu.exc.vector;
    }
    g_assert_cmpint(st, ==, TCG_OK);
    g_assert_cmpuint(cpu.st.rip, ==, CODE + len);
    return -1;
}

/* ---- random values ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned rndn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

enum { T_F32, T_F64, T_I32, T_I64 };

static const uint32_t edge_f32[] = {
    0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00400000, 0x00800000, 0x80800000,
    0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345,
    0x7f800001, 0xff812345, 0x7fbfffff, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000,
    0x40200000, 0xc0200000, 0x40400000, 0x3eaaaaab, 0x4f000000, 0x4effffff, 0xcf000000,
    0xcf000001, 0x5f000000, 0x5effffff, 0xdf000000, 0xdf000001, 0x4b800000, 0x4b800001,
    0x00ffffff, 0x3effffff, 0x3f7fffff, 0x7e800000, 0x01000000,
};

static const uint64_t edge_f64[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull,
    0x800fffffffffffffull, 0x0008000000000000ull, 0x0010000000000000ull,
    0x8010000000000000ull, 0x7fefffffffffffffull, 0xffefffffffffffffull,
    0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
    0xfff8000000000000ull, 0x7ff8000000012345ull, 0x7ff0000000000001ull,
    0xfff4000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x3fe0000000000000ull, 0x3ff8000000000000ull, 0x4004000000000000ull,
    0xc004000000000000ull, 0x3fd5555555555555ull, 0x41e0000000000000ull,
    0x41dfffffffffffffull, 0xc1e0000000000000ull, 0xc1e0000000100000ull,
    0x41dfffffffe00000ull, 0xc1e00000001fffffull, 0x43e0000000000000ull,
    0x43dfffffffffffffull, 0xc3e0000000000000ull, 0xc3e0000000000001ull,
    0x47efffffe0000000ull, 0x47efffffffffffffull, 0x3810000000000000ull,
    0x380fffffffffffffull, 0x36a0000000000000ull, 0x3690000000000001ull,
    0x7fe0000000000000ull, 0x0020000000000000ull,
};

static uint32_t gen_f32(void)
{
    uint32_t sign = (uint32_t)(rnd() & 1) << 31, mant = (uint32_t)rnd() & 0x7fffff;

    switch (rndn(10)) {
    case 0:
    case 1:
    case 2:
        return edge_f32[rndn(G_N_ELEMENTS(edge_f32))];
    case 3:
        return (uint32_t)rnd();
    case 4:
        return sign | (rndn(28) << 23) | mant;              /* tiny and denormal */
    case 5:
        return sign | ((228 + rndn(27)) << 23) | mant;      /* huge */
    case 6: {
        float f = (float)((int)rndn(4001) - 2000) / (float)(1 << rndn(4));
        uint32_t v;

        memcpy(&v, &f, 4);
        return v;
    }
    case 7:
        return sign | ((150 + rndn(40)) << 23) | mant;      /* near integer limits */
    default:
        return sign | ((100 + rndn(56)) << 23) | mant;
    }
}

static uint64_t gen_f64(void)
{
    uint64_t sign = (rnd() & 1) << 63, mant = rnd() & 0xfffffffffffffull;

    switch (rndn(10)) {
    case 0:
    case 1:
    case 2:
        return edge_f64[rndn(G_N_ELEMENTS(edge_f64))];
    case 3:
        return rnd();
    case 4:
        return sign | ((uint64_t)rndn(60) << 52) | mant;
    case 5:
        return sign | ((uint64_t)(1990 + rndn(57)) << 52) | mant;
    case 6: {
        double f = (double)((int)rndn(4001) - 2000) / (double)(1 << rndn(4));
        uint64_t v;

        memcpy(&v, &f, 8);
        return v;
    }
    case 7:
        if (rnd() & 1) {    /* an exact binary32 (CVTSD2SS, DPPD inputs) */
            float f;
            double d;
            uint32_t x = gen_f32();

            memcpy(&f, &x, 4);
            d = f;
            memcpy(&mant, &d, 8);
            return mant;
        }
        return sign | ((uint64_t)(1050 + rndn(40)) << 52) | mant;
    case 8:     /* around the binary32 range limits */
        return sign | ((uint64_t)(1023 - 160 + rndn(40) + (rnd() & 1) * 250) << 52) | mant;
    default:
        return sign | ((uint64_t)(900 + rndn(250)) << 52) | mant;
    }
}

static uint64_t gen_int(bool w)
{
    static const uint64_t edge[] = {
        0, 1, ~0ull, 0x7fffffff, 0x80000000, 0x01000001, 0x00ffffff, 0xfeffffff,
        0x7fffffffffffffffull, 0x8000000000000000ull, 0x0020000000000001ull,
        0xffdfffffffffffffull, 0x7fffff8000000000ull, 0x0000000100000001ull,
    };
    uint64_t v;

    switch (rndn(4)) {
    case 0:
        v = edge[rndn(G_N_ELEMENTS(edge))];
        break;
    case 1:
        v = rnd() >> rndn(64);
        if (rnd() & 1) {
            v = -v;
        }
        break;
    default:
        v = rnd();
        break;
    }
    return w ? v : (uint32_t)v;
}

/* 16 bytes of elements of type t. */
static void gen_vec(uint64_t q[2], unsigned t)
{
    for (unsigned i = 0; i < 2; i++) {
        switch (t) {
        case T_F32:
            q[i] = gen_f32() | (uint64_t)gen_f32() << 32;
            break;
        case T_F64:
            q[i] = gen_f64();
            break;
        case T_I32:
            q[i] = gen_int(false) | gen_int(false) << 32;
            break;
        default:
            q[i] = gen_int(true);
            break;
        }
    }
}

/* ---- instruction forms ---- */

enum { L_XMM, L_MM, L_GPR };
enum { I_NONE, I_CMP, I_ROUND, I_ANY };

struct form {
    const char *name;
    uint8_t pfx, map, opc;
    uint8_t imm;            /* I_* */
    uint8_t dty, sty;       /* element types of the destination and source inputs */
    uint8_t dloc, sloc;     /* L_* */
    uint8_t msize;          /* memory operand bytes (16: must be aligned) */
    uint8_t rexw;           /* also run with REX.W (the general-register forms) */
};

#define F_(n, p, m, o, i, dt, st, dl, sl, sz, w) { n, p, m, o, i, dt, st, dl, sl, sz, w }
#define BIN4(n, o) \
    F_(n "ps", 0, 1, o, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 16, 0), \
    F_(n "pd", 0x66, 1, o, I_NONE, T_F64, T_F64, L_XMM, L_XMM, 16, 0), \
    F_(n "ss", 0xf3, 1, o, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 4, 0), \
    F_(n "sd", 0xf2, 1, o, I_NONE, T_F64, T_F64, L_XMM, L_XMM, 8, 0)

static const struct form arith_forms[] = {
    BIN4("add", 0x58), BIN4("mul", 0x59), BIN4("sub", 0x5c), BIN4("min", 0x5d),
    BIN4("div", 0x5e), BIN4("max", 0x5f), BIN4("sqrt", 0x51),
    F_("rsqrtps", 0, 1, 0x52, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("rsqrtss", 0xf3, 1, 0x52, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 4, 0),
    F_("rcpps", 0, 1, 0x53, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("rcpss", 0xf3, 1, 0x53, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 4, 0),
};

static const struct form cmp_forms[] = {
    F_("cmpps", 0, 1, 0xc2, I_CMP, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("cmppd", 0x66, 1, 0xc2, I_CMP, T_F64, T_F64, L_XMM, L_XMM, 16, 0),
    F_("cmpss", 0xf3, 1, 0xc2, I_CMP, T_F32, T_F32, L_XMM, L_XMM, 4, 0),
    F_("cmpsd", 0xf2, 1, 0xc2, I_CMP, T_F64, T_F64, L_XMM, L_XMM, 8, 0),
    F_("ucomiss", 0, 1, 0x2e, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 4, 0),
    F_("ucomisd", 0x66, 1, 0x2e, I_NONE, T_F64, T_F64, L_XMM, L_XMM, 8, 0),
    F_("comiss", 0, 1, 0x2f, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 4, 0),
    F_("comisd", 0x66, 1, 0x2f, I_NONE, T_F64, T_F64, L_XMM, L_XMM, 8, 0),
};

static const struct form cvt_forms[] = {
    F_("cvtpi2ps", 0, 1, 0x2a, I_NONE, T_F32, T_I32, L_XMM, L_MM, 8, 0),
    F_("cvtpi2pd", 0x66, 1, 0x2a, I_NONE, T_F64, T_I32, L_XMM, L_MM, 8, 0),
    F_("cvtsi2ss", 0xf3, 1, 0x2a, I_NONE, T_F32, T_I64, L_XMM, L_GPR, 4, 1),
    F_("cvtsi2sd", 0xf2, 1, 0x2a, I_NONE, T_F64, T_I64, L_XMM, L_GPR, 4, 1),
    F_("cvttps2pi", 0, 1, 0x2c, I_NONE, T_I32, T_F32, L_MM, L_XMM, 8, 0),
    F_("cvttpd2pi", 0x66, 1, 0x2c, I_NONE, T_I32, T_F64, L_MM, L_XMM, 16, 0),
    F_("cvttss2si", 0xf3, 1, 0x2c, I_NONE, T_I64, T_F32, L_GPR, L_XMM, 4, 1),
    F_("cvttsd2si", 0xf2, 1, 0x2c, I_NONE, T_I64, T_F64, L_GPR, L_XMM, 8, 1),
    F_("cvtps2pi", 0, 1, 0x2d, I_NONE, T_I32, T_F32, L_MM, L_XMM, 8, 0),
    F_("cvtpd2pi", 0x66, 1, 0x2d, I_NONE, T_I32, T_F64, L_MM, L_XMM, 16, 0),
    F_("cvtss2si", 0xf3, 1, 0x2d, I_NONE, T_I64, T_F32, L_GPR, L_XMM, 4, 1),
    F_("cvtsd2si", 0xf2, 1, 0x2d, I_NONE, T_I64, T_F64, L_GPR, L_XMM, 8, 1),
    F_("cvtps2pd", 0, 1, 0x5a, I_NONE, T_F64, T_F32, L_XMM, L_XMM, 8, 0),
    F_("cvtpd2ps", 0x66, 1, 0x5a, I_NONE, T_F32, T_F64, L_XMM, L_XMM, 16, 0),
    F_("cvtss2sd", 0xf3, 1, 0x5a, I_NONE, T_F64, T_F32, L_XMM, L_XMM, 4, 0),
    F_("cvtsd2ss", 0xf2, 1, 0x5a, I_NONE, T_F32, T_F64, L_XMM, L_XMM, 8, 0),
    F_("cvtdq2ps", 0, 1, 0x5b, I_NONE, T_F32, T_I32, L_XMM, L_XMM, 16, 0),
    F_("cvtps2dq", 0x66, 1, 0x5b, I_NONE, T_I32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("cvttps2dq", 0xf3, 1, 0x5b, I_NONE, T_I32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("cvttpd2dq", 0x66, 1, 0xe6, I_NONE, T_I32, T_F64, L_XMM, L_XMM, 16, 0),
    F_("cvtpd2dq", 0xf2, 1, 0xe6, I_NONE, T_I32, T_F64, L_XMM, L_XMM, 16, 0),
    F_("cvtdq2pd", 0xf3, 1, 0xe6, I_NONE, T_F64, T_I32, L_XMM, L_XMM, 8, 0),
};

static const struct form sse3_forms[] = {
    F_("addsubpd", 0x66, 1, 0xd0, I_NONE, T_F64, T_F64, L_XMM, L_XMM, 16, 0),
    F_("addsubps", 0xf2, 1, 0xd0, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("haddpd", 0x66, 1, 0x7c, I_NONE, T_F64, T_F64, L_XMM, L_XMM, 16, 0),
    F_("haddps", 0xf2, 1, 0x7c, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("hsubpd", 0x66, 1, 0x7d, I_NONE, T_F64, T_F64, L_XMM, L_XMM, 16, 0),
    F_("hsubps", 0xf2, 1, 0x7d, I_NONE, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
};

static const struct form sse41_forms[] = {
    F_("roundps", 0x66, 3, 0x08, I_ROUND, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("roundpd", 0x66, 3, 0x09, I_ROUND, T_F64, T_F64, L_XMM, L_XMM, 16, 0),
    F_("roundss", 0x66, 3, 0x0a, I_ROUND, T_F32, T_F32, L_XMM, L_XMM, 4, 0),
    F_("roundsd", 0x66, 3, 0x0b, I_ROUND, T_F64, T_F64, L_XMM, L_XMM, 8, 0),
    F_("dpps", 0x66, 3, 0x40, I_ANY, T_F32, T_F32, L_XMM, L_XMM, 16, 0),
    F_("dppd", 0x66, 3, 0x41, I_ANY, T_F64, T_F64, L_XMM, L_XMM, 16, 0),
};

/* ---- one case ---- */

/* How a case is set up. */
struct mode {
    bool unmasked;      /* random exception masks, else all masked */
    bool no_osxmmexcpt; /* CR4.OSXMMEXCPT clear: #XM becomes #UD */
    bool misalign;      /* the memory operand at an odd multiple of 8 */
    bool mem_only;      /* always the memory form */
    bool x87_pending;   /* an unmasked x87 exception pending (FSW.ES) */
    bool unmapped;      /* the memory operand on a page not mapped: #PF */
};

struct insn_bytes {
    uint8_t b[16];
    unsigned len;
};

/*
 * The bytes of f with ModRM.reg = reg, ModRM.rm = rm (or (%rdi) for mem),
 * REX.W as w says, REX.R/B as the register numbers need (for MMX operands,
 * where they are ignored, as extra says); extra bit 2 also puts a 66 ahead
 * of an F3/F2, and bit 3 a REX.W on a form without a general register,
 * neither of which may change the form.
 */
static struct insn_bytes build(const struct form *f, bool w, unsigned reg, unsigned rm, bool mem,
                               uint8_t imm, unsigned extra)
{
    struct insn_bytes ib = { .len = 0 };
    uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((!mem && (rm & 8)) ? 1 : 0);

    if (!f->rexw && (extra & 8)) {
        rex |= 8;
    }
    if (f->dloc == L_MM && (extra & 1)) {
        rex |= 4;
    }
    if (f->sloc == L_MM && !mem && (extra & 2)) {
        rex |= 1;
    }
    if ((f->pfx == 0xf3 || f->pfx == 0xf2) && (extra & 4)) {
        ib.b[ib.len++] = 0x66;
    }
    if (f->pfx) {
        ib.b[ib.len++] = f->pfx;
    }
    if (rex != 0x40) {
        ib.b[ib.len++] = rex;
    }
    ib.b[ib.len++] = 0x0f;
    if (f->map == 3) {
        ib.b[ib.len++] = 0x3a;
    }
    ib.b[ib.len++] = f->opc;
    ib.b[ib.len++] = (uint8_t)(((reg & 7) << 3) | (mem ? 7 : 0xc0 | (rm & 7)));
    if (f->imm != I_NONE) {
        ib.b[ib.len++] = imm;
    }
    return ib;
}

static uint32_t gen_mxcsr(bool unmasked)
{
    uint32_t m = (rndn(4) << MXCSR_RC_SHIFT) | MXCSR_MASKS;

    if (rndn(3) == 0) {
        m |= MXCSR_DAZ;
    }
    if (rndn(3) == 0) {
        m |= MXCSR_FTZ;
    }
    if (rndn(4) == 0) {
        m |= rndn(64);          /* sticky flags already set */
    }
    if (unmasked) {
        m &= ~(rndn(64) << 7);
    }
    return m;
}

static uint8_t gen_imm(const struct form *f)
{
    switch (f->imm) {
    case I_CMP:
        return rndn(4) ? rndn(8) : (uint8_t)rnd();    /* bits 7:3 are ignored */
    case I_ROUND:
        return rndn(4) ? rndn(16) : (uint8_t)rnd();
    default:
        return (uint8_t)rnd();
    }
}

static unsigned mismatches, cases_run, host_faults[32];

static void report(const struct form *f, const struct insn_bytes *ib, const struct fxsave *in,
                   const struct gpr *gin, const char *what, uint64_t want, uint64_t got)
{
    GString *s = g_string_new(NULL);

    if (++mismatches > 20) {
        g_string_free(s, true);
        return;
    }
    g_string_append_printf(s, "%s [", f->name);
    for (unsigned i = 0; i < ib->len; i++) {
        g_string_append_printf(s, "%s%02x", i ? " " : "", ib->b[i]);
    }
    g_string_append_printf(s, "] mxcsr %04x rax %016" G_GINT64_MODIFIER "x: %s host %"
                           G_GINT64_MODIFIER "x soft %" G_GINT64_MODIFIER "x\n",
                           in->mxcsr, gin->rax, what, want, got);
    for (unsigned i = 0; i < 16; i++) {
        g_string_append_printf(s, "  xmm%u %016" G_GINT64_MODIFIER "x:%016" G_GINT64_MODIFIER
                               "x%s", i, in->xmm[i].hi, in->xmm[i].lo, (i & 1) ? "\n" : "");
    }
    g_string_append_printf(s, "  mem+8 %016" G_GINT64_MODIFIER "x:%016" G_GINT64_MODIFIER
                           "x mem+16 %016" G_GINT64_MODIFIER "x:%016" G_GINT64_MODIFIER "x\n",
                           *(uint64_t *)(hmem + 16), *(uint64_t *)(hmem + 8),
                           *(uint64_t *)(hmem + 24), *(uint64_t *)(hmem + 16));
    g_printerr("%s", s->str);
    g_string_free(s, true);
}

#define CMP(what, want, got) do { \
        if ((uint64_t)(want) != (uint64_t)(got)) { \
            report(f, &ib, &fx, &gin, what, want, got); \
            return; \
        } \
    } while (0)

static void run_case(const struct form *f, const struct mode *m)
{
    struct fxsave fx, out;
    struct gpr gin, gout;
    bool mem = m->mem_only || rndn(3) == 0;
    bool w = f->rexw && (rnd() & 1);
    unsigned reg = f->dloc == L_XMM ? rndn(16) : f->dloc == L_MM ? rndn(8) : 0;
    unsigned rm = f->sloc == L_XMM ? rndn(16) : f->sloc == L_MM ? rndn(8) : 0;
    unsigned off = m->misalign ? 8 : 16;
    struct insn_bytes ib = build(f, w, reg, rm, mem, gen_imm(f), rndn(16));
    int want, got;
    uint64_t vm[2];

    /* registers: every XMM holds the destination's element type, the
     * source register the source's; the MMX registers integers */
    memset(&fx, 0, sizeof(fx));
    fx.fcw = 0x037f;
    fx.fsw = (uint16_t)(rndn(8) << 11);
    if (m->x87_pending) {
        fx.fcw = 0x037e;
        fx.fsw |= 0x8081;       /* B mirrors ES on the host */
    }
    fx.ftw = (uint8_t)rnd();
    fx.mxcsr = gen_mxcsr(m->unmasked);
    fx.mxcsr_mask = 0xffff;
    for (unsigned i = 0; i < 16; i++) {
        uint64_t q[2];

        gen_vec(q, f->dty == T_I64 ? T_F64 : f->dty);
        fx.xmm[i].lo = q[0];
        fx.xmm[i].hi = q[1];
    }
    if (f->sloc == L_XMM && !mem) {
        gen_vec(vm, f->sty);
        fx.xmm[rm].lo = vm[0];
        fx.xmm[rm].hi = vm[1];
    }
    for (unsigned i = 0; i < 8; i++) {
        fx.st[i].mant = gen_int(false) | gen_int(false) << 32;
        fx.st[i].exp = rndn(2) ? 0xffff : (uint16_t)rnd();
    }
    gin.rax = gen_int(true);
    gin.rflags = 0x202 | (rnd() & TCG_FLAGS_ARITH);
    gen_vec(vm, f->sty);
    if (f->sloc == L_GPR) {
        vm[0] = gen_int(true);
        gin.rax = gen_int(true);
    }
    memset(hmem, 0xcc, sizeof(hmem));
    memcpy(hmem + off, vm, 16);
    g_assert_cmpint(ram_write(GMEM, hmem, sizeof(hmem)), ==, 0);

    gin.rdi = GMEM + off;
    gout = gin;
    gout.rdi = (uint64_t)(uintptr_t)(hmem + off);
    if (m->unmapped) {
        gin.rdi = RAM_SIZE + off;      /* past the 2 MiB the page tables map */
        gout.rdi = off;                /* the host's page 0 */
    }
    want = native_run(ib.b, ib.len, &fx, &out, &gout);
    cases_run++;
    if (want >= 0 && want < 32) {
        host_faults[want]++;
    }

    if (m->no_osxmmexcpt) {
        cpu.st.cr4 &= ~CR4_OSXMMEXCPT;
    } else {
        cpu.st.cr4 |= CR4_OSXMMEXCPT;
    }
    guest_load(&fx, &gin);
    got = guest_run(ib.b, ib.len);

    if (want == EXC_XM && m->no_osxmmexcpt) {
        want = EXC_UD;
    }
    CMP("vector", (uint64_t)(int64_t)want, (uint64_t)(int64_t)got);
    if (want == EXC_GP) {
        CMP("error code", 0, cpu.exc.error_code);
    }
    if (want == EXC_PF) {
        CMP("cr2", gin.rdi, cpu.exc.cr2);
    }
    CMP("mxcsr", out.mxcsr, cpu.st.fpu.mxcsr);
    for (unsigned i = 0; i < 16; i++) {
        CMP("xmm lo", out.xmm[i].lo, cpu.st.fpu.xmm[i].lo);
        CMP("xmm hi", out.xmm[i].hi, cpu.st.fpu.xmm[i].hi);
    }
    CMP("fsw", out.fsw, cpu.st.fpu.fsw);
    CMP("ftw", out.ftw, cpu.st.fpu.ftw);
    for (unsigned i = 0; i < 8; i++) {
        unsigned top = (cpu.st.fpu.fsw >> 11) & 7;

        CMP("st mant", out.st[i].mant, cpu.st.fpu.st[(top + i) & 7].mant);
        CMP("st exp", out.st[i].exp, cpu.st.fpu.st[(top + i) & 7].exp);
    }
    CMP("rax", gout.rax, cpu.st.regs[R_EAX]);
    CMP("rflags", gout.rflags & TCG_FLAGS_ARITH, cpu.st.rflags & TCG_FLAGS_ARITH);
}

/* SSEFP_SCALE=n runs n times as many cases (for soak runs by hand). */
static unsigned scale = 1;

static void run_forms(const struct form *forms, unsigned n, unsigned iters, const struct mode *m)
{
    iters *= scale;
    mismatches = 0;
    cases_run = 0;
    memset(host_faults, 0, sizeof(host_faults));
    for (unsigned i = 0; i < n; i++) {
        for (unsigned k = 0; k < iters; k++) {
            run_case(&forms[i], m);
        }
    }
    g_test_message("%u cases: host #XM %u, #GP %u, #PF %u, #MF %u", cases_run,
                   host_faults[EXC_XM], host_faults[EXC_GP], host_faults[EXC_PF],
                   host_faults[EXC_MF]);
    g_assert_cmpuint(mismatches, ==, 0);
}

#define RUN(forms, iters, ...) do { \
        static const struct mode m_ = { __VA_ARGS__ }; \
        run_forms(forms, G_N_ELEMENTS(forms), iters, &m_); \
    } while (0)

/* ---- the tests ---- */

static void test_arith(void)
{
    RUN(arith_forms, 3000, .unmasked = false);
}

static void test_compare(void)
{
    RUN(cmp_forms, 3000, .unmasked = false);
}

static void test_convert(void)
{
    RUN(cvt_forms, 3000, .unmasked = false);
}

static void test_sse3(void)
{
    RUN(sse3_forms, 3000, .unmasked = false);
}

static void test_sse41(void)
{
    RUN(sse41_forms, 3000, .unmasked = false);
}

/* Unmasked exceptions: #XM, the flags the host sets, destination intact. */
static void test_unmasked(void)
{
    RUN(arith_forms, 800, .unmasked = true);
    RUN(cmp_forms, 800, .unmasked = true);
    RUN(cvt_forms, 800, .unmasked = true);
    RUN(sse3_forms, 800, .unmasked = true);
    RUN(sse41_forms, 800, .unmasked = true);
}

/* CR4.OSXMMEXCPT clear: the same faults are #UD (SDM vol. 3, 2.5). */
static void test_no_osxmmexcpt(void)
{
    RUN(arith_forms, 200, .unmasked = true, .no_osxmmexcpt = true);
    RUN(cvt_forms, 200, .unmasked = true, .no_osxmmexcpt = true);
    RUN(sse41_forms, 200, .unmasked = true, .no_osxmmexcpt = true);
}

/* A 16-byte memory operand must be 16-aligned (#GP(0)); the 4- and
 * 8-byte ones need not be. */
static void test_alignment(void)
{
    RUN(arith_forms, 30, .mem_only = true, .misalign = true);
    RUN(cmp_forms, 30, .mem_only = true, .misalign = true);
    RUN(cvt_forms, 30, .mem_only = true, .misalign = true);
    RUN(sse3_forms, 30, .mem_only = true, .misalign = true);
    RUN(sse41_forms, 30, .mem_only = true, .misalign = true);
}

/* A memory operand that faults (#PF) changes nothing: not MXCSR, not the
 * x87 state of the MMX forms. */
static void test_page_fault(void)
{
    RUN(arith_forms, 20, .mem_only = true, .unmapped = true, .unmasked = true);
    RUN(cvt_forms, 20, .mem_only = true, .unmapped = true, .unmasked = true);
    RUN(sse41_forms, 20, .mem_only = true, .unmapped = true);
}

/* With an unmasked x87 exception pending, the forms on an MMX register
 * take #MF first and change nothing; CVTPI2PS/PD from memory run. */
static void test_x87_pending(void)
{
    RUN(cvt_forms, 100, .x87_pending = true);
    RUN(arith_forms, 10, .x87_pending = true);
}

/* A form whose feature the guest's CPUID lacks is #UD, state untouched
 * (SDM vol. 2, 2.4); with the bit back it runs. */
static void test_cpuid(void)
{
    const struct {
        const struct form *f;
        uint32_t *reg;
        unsigned bit;
    } cases[] = {
        { &arith_forms[0], &cpuid_leaf1->edx, 25 },      /* addps */
        { &arith_forms[1], &cpuid_leaf1->edx, 26 },      /* addpd */
        { &cvt_forms[16], &cpuid_leaf1->edx, 26 },       /* cvtdq2ps */
        { &cmp_forms[7], &cpuid_leaf1->edx, 26 },        /* comisd */
        { &sse3_forms[3], &cpuid_leaf1->ecx, 0 },        /* haddps */
        { &sse41_forms[0], &cpuid_leaf1->ecx, 19 },      /* roundps */
        { &sse41_forms[5], &cpuid_leaf1->ecx, 19 },      /* dppd */
    };
    struct fxsave fx;
    struct gpr g = { 0, GMEM, 0x202 };

    g_assert_cmpstr(cvt_forms[16].name, ==, "cvtdq2ps");
    g_assert_cmpstr(cmp_forms[7].name, ==, "comisd");
    g_assert_cmpstr(sse3_forms[3].name, ==, "haddps");
    g_assert_cmpstr(sse41_forms[5].name, ==, "dppd");
    memset(&fx, 0, sizeof(fx));
    fx.fcw = 0x37f;
    fx.mxcsr = MXCSR_DEFAULT;
    for (unsigned i = 0; i < 16; i++) {
        fx.xmm[i].lo = 0x3f8000003f800000ull;
        fx.xmm[i].hi = 0x3ff0000000000000ull;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct insn_bytes ib = build(cases[i].f, false, 1, 2, false, 0x31, 0);

        *cases[i].reg &= ~(1u << cases[i].bit);
        guest_load(&fx, &g);
        g_assert_cmpint(guest_run(ib.b, ib.len), ==, EXC_UD);
        g_assert_cmphex(cpu.st.fpu.xmm[1].lo, ==, fx.xmm[1].lo);
        g_assert_cmphex(cpu.st.fpu.xmm[1].hi, ==, fx.xmm[1].hi);
        g_assert_cmphex(cpu.st.rflags, ==, 0x202);
        *cases[i].reg |= 1u << cases[i].bit;
        guest_load(&fx, &g);
        g_assert_cmpint(guest_run(ib.b, ib.len), ==, -1);
    }
}

/* The host's own MXCSR is what it was, whatever the guest's: the host code
 * around the kernels never runs under the guest's modes. */
static void test_host_mxcsr(void)
{
    const uint32_t host = 0x1f80 | MXCSR_PE;    /* a flag of the host's own, kept */
    uint32_t now;

    for (unsigned i = 0; i < 400; i++) {
        const struct form *f = i & 1 ? &arith_forms[rndn(G_N_ELEMENTS(arith_forms))]
                                     : &sse41_forms[rndn(G_N_ELEMENTS(sse41_forms))];
        struct insn_bytes ib = build(f, false, rndn(16), rndn(16), false, gen_imm(f), 0);
        struct fxsave fx;
        struct gpr g = { 0, GMEM, 0x202 };

        memset(&fx, 0, sizeof(fx));
        fx.fcw = 0x37f;
        fx.mxcsr = gen_mxcsr(i & 2) | MXCSR_DAZ | MXCSR_FTZ;
        for (unsigned r = 0; r < 16; r++) {
            uint64_t q[2];

            gen_vec(q, f->dty);
            fx.xmm[r].lo = q[0];
            fx.xmm[r].hi = q[1];
        }
        guest_load(&fx, &g);
        __asm__ volatile("ldmxcsr %0" : : "m"(host));
        guest_run(ib.b, ib.len);
        __asm__ volatile("stmxcsr %0" : "=m"(now));
        g_assert_cmphex(now, ==, host);
    }
    now = 0x1f80;
    __asm__ volatile("ldmxcsr %0" : : "m"(now));
}

/* ---- fixed cases: what the SDM says, whatever the host ---- */

/* xmm0 = a, xmm1 = b (element 0, the rest zero), MXCSR m; runs the bytes. */
static int fixed_run(const uint8_t *bytes, unsigned len, uint64_t a, uint64_t b, uint32_t m)
{
    struct fxsave fx;
    struct gpr g = { 0, GMEM, 0x202 | TCG_FLAGS_ARITH };

    memset(&fx, 0, sizeof(fx));
    fx.fcw = 0x37f;
    fx.mxcsr = m;
    fx.xmm[0].lo = a;
    fx.xmm[1].lo = b;
    guest_load(&fx, &g);
    return guest_run(bytes, len);
}

#define FIXED(a, b, m, ...) ({ \
        static const uint8_t code_[] = { __VA_ARGS__ }; \
        fixed_run(code_, sizeof(code_), (a), (b), (m)); \
    })
#define X0 (cpu.st.fpu.xmm[0].lo)
#define MX (cpu.st.fpu.mxcsr)
#define RC(n) (MXCSR_DEFAULT | ((n) << MXCSR_RC_SHIFT))

/* NaN results (SDM vol. 1, 4.8.3.5 and table 4-7, 11.5.2.1): an SNaN is
 * quieted, the first source wins, an invalid operation without a NaN gives
 * the QNaN floating-point indefinite, a conversion the integer indefinite. */
static void test_sdm_nan(void)
{
    cpu.st.cr4 |= CR4_OSXMMEXCPT;
    /* addss %xmm1, %xmm0 */
    g_assert_cmpint(FIXED(0x7f800001, 0x7fc12345, MXCSR_DEFAULT, 0xf3, 0x0f, 0x58, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0x7fc00001);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_IE);
    g_assert_cmpint(FIXED(0x7fc12345, 0x7f800001, MXCSR_DEFAULT, 0xf3, 0x0f, 0x58, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0x7fc12345);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_IE);
    /* divss %xmm1, %xmm0: 0 / 0 */
    g_assert_cmpint(FIXED(0, 0, MXCSR_DEFAULT, 0xf3, 0x0f, 0x5e, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0xffc00000);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_IE);
    /* divsd %xmm1, %xmm0: 1 / 0 */
    g_assert_cmpint(FIXED(0x3ff0000000000000ull, 0, MXCSR_DEFAULT, 0xf2, 0x0f, 0x5e, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0x7ff0000000000000ull);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_ZE);
    /* cvttss2si %xmm1, %eax and cvttsd2si %xmm1, %rax of a NaN */
    g_assert_cmpint(FIXED(0, 0x7fc00000, MXCSR_DEFAULT, 0xf3, 0x0f, 0x2c, 0xc1), ==, -1);
    g_assert_cmphex(cpu.st.regs[R_EAX], ==, 0x80000000u);
    g_assert_cmpint(FIXED(0, 0x7ff8000000000000ull, MXCSR_DEFAULT, 0xf2, 0x48, 0x0f, 0x2c, 0xc1),
                    ==, -1);
    g_assert_cmphex(cpu.st.regs[R_EAX], ==, 0x8000000000000000ull);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_IE);
    /* comiss of a QNaN: unordered (ZF PF CF), #I; ucomiss: no #I; OF SF AF cleared */
    g_assert_cmpint(FIXED(0x3f800000, 0x7fc00000, MXCSR_DEFAULT, 0x0f, 0x2f, 0xc1), ==, -1);
    g_assert_cmphex(cpu.st.rflags & TCG_FLAGS_ARITH, ==, RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_IE);
    g_assert_cmpint(FIXED(0x3f800000, 0x7fc00000, MXCSR_DEFAULT, 0x0f, 0x2e, 0xc1), ==, -1);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT);
    /* ucomisd 1.0, 2.0: less (CF) */
    g_assert_cmpint(FIXED(0x3ff0000000000000ull, 0x4000000000000000ull, MXCSR_DEFAULT,
                          0x66, 0x0f, 0x2e, 0xc1), ==, -1);
    g_assert_cmphex(cpu.st.rflags & TCG_FLAGS_ARITH, ==, RFLAGS_CF);
}

/* MXCSR.RC, DAZ and FTZ (SDM vol. 1, 10.2.3). */
static void test_sdm_modes(void)
{
    static const uint32_t want[4] = { 2, 2, 3, 2 };   /* 2.5: nearest even, down, up, zero */
    static const uint32_t want_round[4] = { 0xc0000000, 0xc0400000, 0xc0000000, 0xc0000000 };

    for (unsigned rc = 0; rc < 4; rc++) {
        /* cvtss2si %xmm1, %eax */
        g_assert_cmpint(FIXED(0, 0x40200000, RC(rc), 0xf3, 0x0f, 0x2d, 0xc1), ==, -1);
        g_assert_cmphex(cpu.st.regs[R_EAX], ==, want[rc]);
        g_assert_cmphex(MX, ==, RC(rc) | MXCSR_PE);
        /* roundss $4 (MXCSR.RC), %xmm1, %xmm0 of -2.5 */
        g_assert_cmpint(FIXED(0, 0xc0200000, RC(rc), 0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0x04), ==, -1);
        g_assert_cmphex(X0, ==, want_round[rc]);     /* -2.5: -2, -3, -2, -2 */
    }
    /* roundss $0xb (truncate, no #P), then $3 (truncate) of 2.75 */
    g_assert_cmpint(FIXED(0, 0x40300000, MXCSR_DEFAULT, 0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0x0b),
                    ==, -1);
    g_assert_cmphex(X0, ==, 0x40000000);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT);
    g_assert_cmpint(FIXED(0, 0x40300000, MXCSR_DEFAULT, 0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0x03),
                    ==, -1);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_PE);
    /* addss of the smallest denormal and 0: kept and #D, or zero with DAZ */
    g_assert_cmpint(FIXED(1, 0, MXCSR_DEFAULT, 0xf3, 0x0f, 0x58, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 1);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_DE);
    g_assert_cmpint(FIXED(1, 0, MXCSR_DEFAULT | MXCSR_DAZ, 0xf3, 0x0f, 0x58, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_DAZ);
    /* mulss 2^-126 * 2^-1 / 3: a tiny inexact result, denormal or flushed */
    g_assert_cmpint(FIXED(0x00800000, 0x3eaaaaab, MXCSR_DEFAULT, 0xf3, 0x0f, 0x59, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0x002aaaab);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_UE | MXCSR_PE);
    g_assert_cmpint(FIXED(0x80800000, 0x3eaaaaab, MXCSR_DEFAULT | MXCSR_FTZ,
                          0xf3, 0x0f, 0x59, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0x80000000);
    g_assert_cmphex(MX, ==, MXCSR_DEFAULT | MXCSR_FTZ | MXCSR_UE | MXCSR_PE);
}

/* Unmasked exceptions (SDM vol. 1, 11.5.1): #XM, or #UD without
 * CR4.OSXMMEXCPT; the flag is set and the destination left alone. */
static void test_sdm_unmasked(void)
{
    const uint32_t zm_clear = MXCSR_DEFAULT & ~(MXCSR_ZE << 7);

    cpu.st.cr4 |= CR4_OSXMMEXCPT;
    /* divss %xmm1, %xmm0: 1 / 0 */
    g_assert_cmpint(FIXED(0x3f800000, 0, zm_clear, 0xf3, 0x0f, 0x5e, 0xc1), ==, EXC_XM);
    g_assert_cmphex(X0, ==, 0x3f800000);
    g_assert_cmphex(MX, ==, zm_clear | MXCSR_ZE);
    cpu.st.cr4 &= ~CR4_OSXMMEXCPT;
    g_assert_cmpint(FIXED(0x3f800000, 0, zm_clear, 0xf3, 0x0f, 0x5e, 0xc1), ==, EXC_UD);
    g_assert_cmphex(X0, ==, 0x3f800000);
    g_assert_cmphex(MX, ==, zm_clear | MXCSR_ZE);
    cpu.st.cr4 |= CR4_OSXMMEXCPT;
    /* masked: no fault, infinity */
    g_assert_cmpint(FIXED(0x3f800000, 0, MXCSR_DEFAULT, 0xf3, 0x0f, 0x5e, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0x7f800000);
    /* an unmasked overflow: OE, and PE only if inexact with an unbounded
     * exponent (SDM vol. 1, 11.5.2.4): 2^127 * 2^127 is exact */
    g_assert_cmpint(FIXED(0x7f000000, 0x7f000000, MXCSR_DEFAULT & ~(MXCSR_OE << 7),
                          0xf3, 0x0f, 0x59, 0xc1), ==, EXC_XM);
    g_assert_cmphex(X0, ==, 0x7f000000);
    g_assert_cmphex(MX, ==, (MXCSR_DEFAULT & ~(MXCSR_OE << 7)) | MXCSR_OE);
    g_assert_cmpint(FIXED(0x7f000000, 0x7f400000, MXCSR_DEFAULT & ~(MXCSR_OE << 7),
                          0xf3, 0x0f, 0x5e, 0xc1), ==, -1);   /* divss: no overflow */
    g_assert_cmpint(FIXED(0x7f7fffff, 0x3fffffff, MXCSR_DEFAULT & ~(MXCSR_OE << 7),
                          0xf3, 0x0f, 0x59, 0xc1), ==, EXC_XM);
    g_assert_cmphex(MX, ==, (MXCSR_DEFAULT & ~(MXCSR_OE << 7)) | MXCSR_OE | MXCSR_PE);
    /* an unmasked underflow is "tiny", exact or not: 2^-126 / 2 */
    g_assert_cmpint(FIXED(0x00800000, 0x3f000000, MXCSR_DEFAULT & ~(MXCSR_UE << 7),
                          0xf3, 0x0f, 0x59, 0xc1), ==, EXC_XM);
    g_assert_cmphex(MX, ==, (MXCSR_DEFAULT & ~(MXCSR_UE << 7)) | MXCSR_UE);
    /* pre-computation first: an SNaN in one element (#I unmasked) hides
     * the other element's overflow (addps) */
    g_assert_cmpint(FIXED(0x7f0000007f800001ull, 0x7f0000003f800000ull,
                          MXCSR_DEFAULT & ~(MXCSR_IE << 7), 0x0f, 0x58, 0xc1), ==, EXC_XM);
    g_assert_cmphex(MX, ==, (MXCSR_DEFAULT & ~(MXCSR_IE << 7)) | MXCSR_IE);
    g_assert_cmpint(FIXED(0x7f0000007f800001ull, 0x7f0000003f800000ull,
                          MXCSR_DEFAULT & ~(MXCSR_OE << 7), 0x0f, 0x58, 0xc1), ==, EXC_XM);
    g_assert_cmphex(MX, ==, (MXCSR_DEFAULT & ~(MXCSR_OE << 7)) | MXCSR_IE | MXCSR_OE);
    g_assert_cmphex(X0, ==, 0x7f0000007f800001ull);
}

/* Packed forms, the legacy CMPPS imm8, SSE3 and SSE4.1 shapes. */
static void test_sdm_shapes(void)
{
    /* cmpps $0xd (legacy: imm8[2:0] = 5, not-less-than), %xmm1, %xmm0 */
    g_assert_cmpint(FIXED(0x400000003f800000ull, 0x3f80000040000000ull, MXCSR_DEFAULT,
                          0x0f, 0xc2, 0xc1, 0x0d), ==, -1);
    g_assert_cmphex(X0, ==, 0xffffffff00000000ull);
    /* haddps %xmm1, %xmm0: (1+2, 0+0, 3+4, 0+0) */
    g_assert_cmpint(FIXED(0x400000003f800000ull, 0x4080000040400000ull, MXCSR_DEFAULT,
                          0xf2, 0x0f, 0x7c, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0x0000000040400000ull);
    g_assert_cmphex(cpu.st.fpu.xmm[0].hi, ==, 0x0000000040e00000ull);
    /* addsubpd %xmm1, %xmm0: (1 - 2, 0 + 0) */
    g_assert_cmpint(FIXED(0x3ff0000000000000ull, 0x4000000000000000ull, MXCSR_DEFAULT,
                          0x66, 0x0f, 0xd0, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0xbff0000000000000ull);
    /* dpps $0x32 (elements 0 and 1, sum to element 1): 1*3 + 2*4 */
    g_assert_cmpint(FIXED(0x400000003f800000ull, 0x4080000040400000ull, MXCSR_DEFAULT,
                          0x66, 0x0f, 0x3a, 0x40, 0xc1, 0x32), ==, -1);
    g_assert_cmphex(X0, ==, 0x4130000000000000ull);
    g_assert_cmphex(cpu.st.fpu.xmm[0].hi, ==, 0);
    /* cvtdq2pd %xmm1, %xmm0: (-1, 7) */
    g_assert_cmpint(FIXED(0, 0x00000007ffffffffull, MXCSR_DEFAULT, 0xf3, 0x0f, 0xe6, 0xc1), ==, -1);
    g_assert_cmphex(X0, ==, 0xbff0000000000000ull);
    g_assert_cmphex(cpu.st.fpu.xmm[0].hi, ==, 0x401c000000000000ull);
}

/* cvtpi2ps %mm1, %xmm0 switches the x87 to MMX state; from memory it
 * does not (SDM vol. 2, CVTPI2PS; measured on the host). */
static void test_sdm_mmx(void)
{
    static const uint8_t reg[] = { 0x0f, 0x2a, 0xc1 };
    static const uint8_t mem[] = { 0x0f, 0x2a, 0x07 };
    struct fxsave fx;
    struct gpr g = { 0, GMEM, 0x202 };
    uint64_t v = 0xfffffffd00000005ull;

    memset(&fx, 0, sizeof(fx));
    fx.fcw = 0x37f;
    fx.fsw = 5 << 11;
    fx.ftw = 0x07;
    fx.mxcsr = MXCSR_DEFAULT;
    fx.st[4].mant = v;         /* ST(4) = R(1) = MM1 with TOP 5 */
    g_assert_cmpint(ram_write(GMEM, &v, 8), ==, 0);
    guest_load(&fx, &g);
    g_assert_cmpint(guest_run(mem, sizeof(mem)), ==, -1);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0xc040000040a00000ull);
    g_assert_cmphex(cpu.st.fpu.fsw, ==, 5 << 11);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0x07);
    guest_load(&fx, &g);
    g_assert_cmpint(guest_run(reg, sizeof(reg)), ==, -1);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0xc040000040a00000ull);
    g_assert_cmphex(cpu.st.fpu.fsw, ==, 0);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0xff);
}

/* Outside 64-bit mode there is no REX: cvtsi2sd %eax, %xmm0 after a
 * dec %eax (0x48) in 32-bit code converts 32 bits. */
static void test_sdm_mode32(void)
{
    static const uint8_t code[] = { 0x48, 0xf2, 0x0f, 0x2a, 0xc0 };
    struct fxsave fx;
    struct gpr g = { 0xffffffff00000000ull | (uint32_t)-6, GMEM, 0x202 };

    memset(&fx, 0, sizeof(fx));
    fx.fcw = 0x37f;
    fx.mxcsr = MXCSR_DEFAULT;
    guest_load(&fx, &g);
    cpu.st.seg[S_CS].l = false;
    cpu.st.seg[S_CS].db = true;
    tcg_cpu_mode_changed(&cpu);
    g_assert_cmpint(cpu.mode, ==, MODE_PROT32);
    g_assert_cmpint(ram_write(CODE, code, sizeof(code)), ==, 0);
    tcg_code_written(&cpu, CODE);
    g_assert_cmpint(tcg_step(&cpu), ==, TCG_OK);
    g_assert_cmpint(tcg_step(&cpu), ==, TCG_OK);
    g_assert_cmphex(cpu.st.rip, ==, CODE + sizeof(code));
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0xc01c000000000000ull);   /* -7.0 */
    cpu.st.seg[S_CS].l = true;
    cpu.st.seg[S_CS].db = false;
    tcg_cpu_mode_changed(&cpu);
    g_assert_cmpint(cpu.mode, ==, MODE_LONG64);
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_sigaction = native_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };

    g_test_init(&argc, &argv, NULL);
    if (g_getenv("SSEFP_SEED")) {
        rng_state = g_ascii_strtoull(g_getenv("SSEFP_SEED"), NULL, 0) | 1;
    }
    if (g_getenv("SSEFP_SCALE")) {
        scale = (unsigned)g_ascii_strtoull(g_getenv("SSEFP_SCALE"), NULL, 0);
    }
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, NULL), ==, 0);
    jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(jit != MAP_FAILED);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    cpu_reset64();
    cpuid_setup();

    g_test_add_func("/tcg-ssefp/arith", test_arith);
    g_test_add_func("/tcg-ssefp/compare", test_compare);
    g_test_add_func("/tcg-ssefp/convert", test_convert);
    g_test_add_func("/tcg-ssefp/sse3", test_sse3);
    g_test_add_func("/tcg-ssefp/sse41", test_sse41);
    g_test_add_func("/tcg-ssefp/unmasked", test_unmasked);
    g_test_add_func("/tcg-ssefp/no-osxmmexcpt", test_no_osxmmexcpt);
    g_test_add_func("/tcg-ssefp/alignment", test_alignment);
    g_test_add_func("/tcg-ssefp/page-fault", test_page_fault);
    g_test_add_func("/tcg-ssefp/x87-pending", test_x87_pending);
    g_test_add_func("/tcg-ssefp/cpuid", test_cpuid);
    g_test_add_func("/tcg-ssefp/host-mxcsr", test_host_mxcsr);
    g_test_add_func("/tcg-ssefp/sdm-nan", test_sdm_nan);
    g_test_add_func("/tcg-ssefp/sdm-modes", test_sdm_modes);
    g_test_add_func("/tcg-ssefp/sdm-unmasked", test_sdm_unmasked);
    g_test_add_func("/tcg-ssefp/sdm-shapes", test_sdm_shapes);
    g_test_add_func("/tcg-ssefp/sdm-mmx", test_sdm_mmx);
    g_test_add_func("/tcg-ssefp/sdm-mode32", test_sdm_mode32);
    return g_test_run();
}
