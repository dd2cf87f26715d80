/*
 * x87 and SSE state (SDM vol. 1, ch. 8, 10, 13; vol. 2 FXSAVE, XSAVE):
 * FXSAVE after known loads, scramble, FXRSTOR, compare; FNSTENV/FLDENV;
 * XSAVE/XRSTOR with XCR0 = 3 and XSTATE_BV; CR0.TS -> #NM; CR4.OSFXSR
 * clear -> #UD for SSE; and arithmetic against constants worked out by
 * hand: sqrt(2) in 80 bits, 1/3 in single precision under two rounding
 * modes, round-to-nearest-even conversions.  Built as fpu-state32 and
 * fpu-state64 (which also has XMM8-15 and the 64-bit FXSAVE layout).
 */
#include "x86.h"

#ifdef __x86_64__
#define NXMM 16
#define FXSAVE "fxsave64"
#define FXRSTOR "fxrstor64"
#else
#define NXMM 8
#define FXSAVE "fxsave"
#define FXRSTOR "fxrstor"
#endif

/* The FXSAVE image (table 10-2). */
struct fxarea {
    uint16_t fcw, fsw;
    uint8_t ftw, res0;
    uint16_t fop;
    uint64_t fip, fdp;          /* 64-bit layout; the 32-bit one splits these */
    uint32_t mxcsr, mxcsr_mask;
    struct { uint64_t mant; uint16_t exp, pad[3]; } st[8];
    uint64_t xmm[16][2];
    uint8_t rest[96];
    /* The XSAVE header follows at 512 (13.4.2). */
    uint64_t xstate_bv, xcomp_bv, hdr_res[6];
} __attribute__((packed, aligned(64)));

static struct fxarea a, b;
static int has_sse;     /* FXSR, SSE and SSE2 in CPUID */
static struct fxarea xa __attribute__((aligned(64)));

/* RC up, 64-bit precision, all masked. */
static const uint16_t fcw_test __attribute__((used)) = 0x0b7f;
static const uint32_t mxcsr_test __attribute__((used)) = 0x3f80; /* RC down, all masked */
static const uint32_t mxcsr_default __attribute__((used)) = 0x1f80;
static const uint64_t xmm_pat[2] __attribute__((aligned(16), used)) = {
    0x0123456789abcdefull, 0xfedcba9876543210ull
};

static void fpu_enable(void)
{
    write_cr0((read_cr0() | X86_CR0_MP | X86_CR0_NE) & ~(X86_CR0_EM | X86_CR0_TS));
    /* OSFXSR and OSXMMEXCPT are reserved without FXSR and SSE. */
    if (has_sse) {
        write_cr4(read_cr4() | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT);
    }
}


/* fninit; FCW; push 1, pi, log2(e). */
static void load_x87(void)
{
    __asm__ volatile("fninit\n\tfldcw fcw_test\n\tfld1\n\tfldpi\n\tfldl2e" : : : "memory");
}

/* The x87 values; MXCSR; XMM registers from a pattern, shifted. */
static void load_known(void)
{
    load_x87();
    __asm__ volatile("ldmxcsr mxcsr_test\n\tmovdqa xmm_pat, %%xmm0\n\t"
                     "movdqa %%xmm0, %%xmm1\n\tpslldq $1, %%xmm1\n\t"
                     "movdqa %%xmm1, %%xmm7\n\tpsrldq $2, %%xmm7"
#ifdef __x86_64__
                     "\n\tmovdqa %%xmm7, %%xmm15\n\tpxor %%xmm0, %%xmm15\n\t"
                     "movdqa %%xmm0, %%xmm8"
#endif
                     : : : "memory");
}

static void scramble(void)
{
    __asm__ volatile("fninit\n\tldmxcsr mxcsr_default\n\tpxor %%xmm0, %%xmm0\n\t"
                     "pxor %%xmm1, %%xmm1\n\tpxor %%xmm7, %%xmm7"
#ifdef __x86_64__
                     "\n\tpxor %%xmm8, %%xmm8\n\tpxor %%xmm15, %%xmm15"
#endif
                     : : : "memory");
}

static void test_fxsave(void)
{
    int same = 1;

    if (!has_sse) {
        report_skip("fxsave/fxrstor: CPUID lacks FXSR, SSE or SSE2");
        return;
    }
    load_known();
    __asm__ volatile(FXSAVE " %0" : "=m"(a));
    report(a.fcw == 0x0b7f && ((a.fsw >> 11) & 7) == 5 && a.ftw == 0xe0,
           "fxsave: fcw %x, fsw %x (TOP 5), abridged ftw %x", a.fcw, a.fsw, a.ftw);
    /* ST0 = log2(e), ST1 = pi, ST2 = 1, rounded up under RC = up (FLDL2E, FLDPI use RC). */
    report(a.st[0].exp == 0x3fff && a.st[0].mant == 0xb8aa3b295c17f0bcull &&
           a.st[1].exp == 0x4000 && a.st[1].mant == 0xc90fdaa22168c235ull &&
           a.st[2].exp == 0x3fff && a.st[2].mant == 0x8000000000000000ull,
           "fxsave: st0 %x:%llx st1 %x:%llx st2 %x:%llx", a.st[0].exp,
           (unsigned long long)a.st[0].mant, a.st[1].exp, (unsigned long long)a.st[1].mant,
           a.st[2].exp, (unsigned long long)a.st[2].mant);
    report(a.mxcsr == 0x3f80 && a.xmm[0][0] == xmm_pat[0] && a.xmm[0][1] == xmm_pat[1] &&
           a.xmm[1][0] == xmm_pat[0] << 8 && a.mxcsr_mask != 0,
           "fxsave: mxcsr %x mask %x xmm0 %llx:%llx", a.mxcsr, a.mxcsr_mask,
           (unsigned long long)a.xmm[0][1], (unsigned long long)a.xmm[0][0]);
    scramble();
    __asm__ volatile(FXRSTOR " %0" : : "m"(a));
    __asm__ volatile(FXSAVE " %0" : "=m"(b));
    /* Everything the image holds comes back (FIP/FDP/FOP aside: no instruction since). */
    same = a.fcw == b.fcw && a.fsw == b.fsw && a.ftw == b.ftw && a.mxcsr == b.mxcsr;
    for (unsigned i = 0; i < 8; i++) {
        same &= a.st[i].mant == b.st[i].mant && a.st[i].exp == b.st[i].exp;
    }
    for (unsigned i = 0; i < NXMM; i++) {
        same &= a.xmm[i][0] == b.xmm[i][0] && a.xmm[i][1] == b.xmm[i][1];
    }
    report(same, "fxrstor after a scramble brings back x87, MXCSR and %u XMM registers", NXMM);
}

static void test_fnstenv(void)
{
    uint16_t env[14], env2[14];

    load_x87();
    __asm__ volatile("fnstenv %0" : "=m"(env));
    __asm__ volatile("fninit\n\tfldenv %0\n\tfnstenv %1" : : "m"(env), "m"(env2) : "memory");
    /* 32-bit format: FCW, FSW, FTW at 0, 4, 8 (figure 8-9). */
    report(env2[0] == 0x0b7f && env2[2] == env[2] && env2[4] == env[4] && env2[4] == 0x03ff,
           "fnstenv/fldenv: fcw %x fsw %x ftw %x", env2[0], env2[2], env2[4]);
    __asm__ volatile("fninit");
}

static volatile uint32_t res32;
static volatile uint64_t res64[2];

/* Constants the asm below names (file scope: local statics get renamed). */
const uint32_t three = 0x40400000, one = 0x3f800000;
const uint64_t d25 = 0x4004000000000000ull;     /* 2.5 */
const uint64_t d35 = 0x400c000000000000ull;     /* 3.5 */
const uint64_t dm25 = 0xc004000000000000ull;    /* -2.5 */
const uint32_t mxcsr_rz = 0x7f80;
const int32_t three_i = 3;

static void test_arith(void)
{
    uint16_t ext[5];
    int32_t i1, i2, i3;

    /* sqrt(2) = 1.0110 1010 0000 0100 1111 ... : 0x3fff b504f333f9de6484 (the next
     * bits 0101... round down). */
    __asm__ volatile("fninit\n\tfld1\n\tfld1\n\tfaddp\n\tfsqrt\n\tfstpt %0" : "=m"(ext));
    report(ext[4] == 0x3fff && ext[3] == 0xb504 && ext[2] == 0xf333 && ext[1] == 0xf9de &&
           ext[0] == 0x6484, "x87 fsqrt(2) = %x:%x%x%x%x", ext[4], ext[3], ext[2], ext[1],
           ext[0]);
    __asm__ volatile("fninit\n\tfldl d25\n\tfistpl %0\n\tfldl d35\n\tfistpl %1\n\t"
                     "fldl dm25\n\tfistpl %2" : "=m"(i1), "=m"(i2), "=m"(i3));
    report(i1 == 2 && i2 == 4 && i3 == -2, "x87 fistp 2.5, 3.5, -2.5 -> %d %d %d", i1, i2, i3);
    if (!has_sse) {
        report_skip("SSE arithmetic: CPUID lacks SSE or SSE2");
        return;
    }
    /* 1/3 = 0.0101...: single 0x3eaaaaab to nearest, 0x3eaaaaaa toward zero. */
    __asm__ volatile("ldmxcsr mxcsr_default\n\tmovss %1, %%xmm0\n\tdivss three, %%xmm0\n\t"
                     "movss %%xmm0, %0" : "=m"(res32) : "m"(one));
    report(res32 == 0x3eaaaaab, "divss 1/3 to nearest: %x", res32);
    __asm__ volatile("ldmxcsr mxcsr_rz\n\tmovss %1, %%xmm0\n\tdivss three, %%xmm0\n\t"
                     "movss %%xmm0, %0\n\tldmxcsr mxcsr_default" : "=m"(res32) : "m"(one));
    report(res32 == 0x3eaaaaaa, "divss 1/3 toward zero: %x", res32);
    /* Ties go to even (4.8.4.1). */
    __asm__ volatile("cvtsd2si d25, %0" : "=r"(i1));
    __asm__ volatile("cvtsd2si d35, %0" : "=r"(i2));
    __asm__ volatile("cvtsd2si dm25, %0" : "=r"(i3));
    report(i1 == 2 && i2 == 4 && i3 == -2, "cvtsd2si 2.5, 3.5, -2.5 -> %d %d %d", i1, i2, i3);
}

const uint16_t fcw_single = 0x007f;           /* PC = 24 bits, RC nearest */
const uint32_t big_i32 = 0x501502f9;           /* 1e10 as a float */
static uint16_t fsave_a[54], fsave_b[54];

static uint16_t fsw_now(void)
{
    uint16_t v;

    __asm__ volatile("fnstsw %0" : "=m"(v));
    return v;
}

/* FXAM's class in C3 C2 C0 and the sign in C1 (table 3-... of FXAM). */
static unsigned fxam_class(void)
{
    uint16_t sw;

    __asm__ volatile("fxam\n\tfnstsw %0" : "=m"(sw));
    return ((sw >> 14) & 1) << 3 | ((sw >> 10) & 1) << 2 | ((sw >> 9) & 1) << 1 | ((sw >> 8) & 1);
}

static void test_x87_more(void)
{
    uint16_t ext[5], sw;
    uint32_t i32;
    uint8_t cf, zf, pf;
    unsigned c0, c1, c2, c3, c4;
    int same = 1;

    /* Precision control: 1/3 rounded to 24 bits (8.1.5.2), and to 64. */
    __asm__ volatile("fninit\n\tfldcw fcw_single\n\tfld1\n\tfidivl %1\n\tfstpt %0\n\tfninit"
                     : "=m"(ext) : "m"(three_i));
    report(ext[4] == 0x3ffd && ext[3] == 0xaaaa && ext[2] == 0xab00 && ext[1] == 0 && ext[0] == 0,
           "x87 1/3 with PC = single: %x:%x%x%x%x", ext[4], ext[3], ext[2], ext[1], ext[0]);
    __asm__ volatile("fld1\n\tfidivl %1\n\tfstpt %0" : "=m"(ext) : "m"(three_i));
    report(ext[4] == 0x3ffd && ext[3] == 0xaaaa && ext[2] == 0xaaaa && ext[1] == 0xaaaa &&
           ext[0] == 0xaaab, "x87 1/3 with PC = extended: %x:%x%x%x%x", ext[4], ext[3], ext[2],
           ext[1], ext[0]);
    /* FCOMI sets ZF PF CF: 1 < 2, equal, unordered. */
    __asm__ volatile("fninit\n\tfld1\n\tfld1\n\tfadd %%st(0), %%st(0)\n\tfld1\n\t"
                     "fcomi %%st(1), %%st\n\tsetc %0\n\tsetz %1\n\tsetp %2\n\tfninit"
                     : "=q"(cf), "=q"(zf), "=q"(pf));
    report(cf && !zf && !pf, "fcomi 1 < 2: CF %u ZF %u PF %u", cf, zf, pf);
    __asm__ volatile("fld1\n\tfld1\n\tfucomip %%st(1), %%st\n\tsetc %0\n\tsetz %1\n\t"
                     "setp %2\n\tfninit" : "=q"(cf), "=q"(zf), "=q"(pf));
    report(!cf && zf && !pf, "fucomip 1 = 1: CF %u ZF %u PF %u", cf, zf, pf);
    __asm__ volatile("fldz\n\tfldz\n\tfdiv %%st(0), %%st(0)\n\tfucomip %%st(1), %%st\n\t"
                     "setc %0\n\tsetz %1\n\tsetp %2\n\tfninit" : "=q"(cf), "=q"(zf), "=q"(pf));
    report(cf && zf && pf, "fucomip NaN, 0 (unordered): CF %u ZF %u PF %u", cf, zf, pf);
    /* A ninth push overflows: IE, SF, C1 set and the masked response is the
     * indefinite QNaN (8.5.1.1).  QEMU 7.2 has no stack fault. */
    if (!qemu_differs("x87 stack overflow")) {
        __asm__ volatile("fninit\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\t"
                         "fld1\n\tfld1\n\tfldz\n\tfnstsw %0\n\tfstpt %1\n\tfninit"
                         : "=m"(sw), "=m"(ext));
        report((sw & 0x241) == 0x241 && ext[4] == 0xffff && ext[3] == 0xc000 && ext[0] == 0,
               "x87 stack overflow: FSW %x, ST0 %x:%x..", sw, ext[4], ext[3]);
    }
    /* 1e10 does not fit in 32 bits: the integer indefinite, IE (FIST). */
    __asm__ volatile("fninit\n\tflds %2\n\tfistpl %0\n\tfnstsw %1\n\tfninit"
                     : "=m"(i32), "=m"(sw) : "m"(big_i32));
    report(i32 == 0x80000000u && (sw & 1), "fistp 1e10 to 32 bits: %x, FSW %x", i32, sw);
    /* FXAM: C3 C2 C0 = zero 100, normal 010, infinity 011, NaN 001, empty 101;
     * C1 the sign (here as C3 C2 C1 C0). */
    __asm__ volatile("fninit\n\tfldz" : : : "memory");
    c0 = fxam_class();
    __asm__ volatile("fchs" : : : "memory");
    c1 = fxam_class();
    __asm__ volatile("fld1\n\tfdivp %%st, %%st(1)" : : : "memory");    /* 1 / -0 */
    c2 = fxam_class();
    __asm__ volatile("fld1" : : : "memory");
    c3 = fxam_class();
    __asm__ volatile("fninit" : : : "memory");
    c4 = fxam_class();
    report(c0 == 0x8 && c1 == 0xa && c2 == 0x7 && c3 == 0x4 && (c4 & ~2u) == 0x9,
           "fxam +0 %x, -0 %x, -inf %x, 1 %x, empty %x", c0, c1, c2, c3, c4);
    /* FSAVE/FRSTOR: the 108-byte image round trip; FSAVE leaves the FPU initialized. */
    load_x87();
    __asm__ volatile("fnsave %0" : "=m"(fsave_a));
    sw = fsw_now();
    __asm__ volatile("fld1\n\tfldz\n\tfrstor %1\n\tfnsave %0" : "=m"(fsave_b) : "m"(fsave_a));
    for (unsigned i = 0; i < 54; i++) {
        /* Words 6..13 hold FIP/FCS/FOP/FDP/FDS, which the fld1 fldz changed back. */
        if (i < 6 || i > 13) {
            same &= fsave_a[i] == fsave_b[i];
        }
    }
    report(same && fsave_a[0] == 0x0b7f && sw == 0,
           "fnsave/frstor round trip, fnsave reinitializes");
    __asm__ volatile("fninit");
}

static void test_xsave(void)
{
    uint32_t lo, hi;

    if (!((cpuid(1, 0).c >> 26) & 1) || !has_sse) {
        report_skip("XSAVE: not in CPUID");
        return;
    }
    write_cr4(read_cr4() | X86_CR4_OSXSAVE);
    __asm__ volatile("xsetbv" : : "c"(0), "a"(3), "d"(0));
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    report(lo == 3 && hi == 0, "xsetbv/xgetbv XCR0 = %x", lo);
    report((cpuid(1, 0).c >> 27) & 1, "CPUID.1:ECX.OSXSAVE follows CR4");
    memset(&xa, 0, sizeof(xa));
    load_known();
#ifdef __x86_64__
    __asm__ volatile("xsave64 %0" : "+m"(xa) : "a"(3), "d"(0));
#else
    __asm__ volatile("xsave %0" : "+m"(xa) : "a"(3), "d"(0));
#endif
    report((xa.xstate_bv & 3) == 3 && xa.xmm[0][0] == xmm_pat[0] && xa.fcw == 0x0b7f,
           "xsave: XSTATE_BV %llx, the legacy area as fxsave",
           (unsigned long long)xa.xstate_bv);
    /* XSTATE_BV[1] = 0: XRSTOR puts SSE registers in their initial state (13.8.1). */
    xa.xstate_bv = 1;
    scramble();
    __asm__ volatile("movdqa xmm_pat, %%xmm0" : : : "memory");
#ifdef __x86_64__
    __asm__ volatile("xrstor64 %0" : : "m"(xa), "a"(3), "d"(0));
#else
    __asm__ volatile("xrstor %0" : : "m"(xa), "a"(3), "d"(0));
#endif
    __asm__ volatile(FXSAVE " %0" : "=m"(b));
    report(b.xmm[0][0] == 0 && b.xmm[0][1] == 0 && b.fcw == 0x0b7f && b.st[0].exp == 0x3fff,
           "xrstor with XSTATE_BV = 1: x87 restored, xmm0 %llx cleared",
           (unsigned long long)b.xmm[0][0]);
    __asm__ volatile("fninit");
}

/* Faults of the state instructions themselves (vol. 2A FXSAVE, LDMXCSR; vol. 2B XSETBV). */
static uint8_t fx_misaligned[512 + 32] __attribute__((aligned(16), used));
const uint32_t mxcsr_bad = 0x11f80;             /* bit 16 is reserved */
ASMFN(do_fxsave_mis, "fxmis_at: " FXSAVE " fx_misaligned + 8\n\tret");
ASMFN(do_ldmxcsr_bad, "ldmx_at: ldmxcsr mxcsr_bad\n\tret");
/* XSETBV of XCR0 = the argument. */
ASMFN(do_xsetbv_arg,
#ifdef __x86_64__
      "mov %edi, %eax"
#else
      "mov 4(%esp), %eax"
#endif
      "\n\txor %edx, %edx\n\txor %ecx, %ecx\n\txsetbv_at: xsetbv\n\tret");
ASMFN(do_xgetbv, "xor %ecx, %ecx\n\txgetbv_at: xgetbv\n\tret");
extern char fxmis_at[], ldmx_at[], xsetbv_at[], xgetbv_at[];
/* MMX writes make the x87 tags valid and TOP 0; EMMS empties them (9.5). */
const uint64_t mmx_val = 0x1122334455667788ull;
ASMFN(do_mmx, "fninit\n\tmovq mmx_val, %mm0\n\tmovq %mm0, %mm3\n\t" FXSAVE " a\n\t"
      "emms\n\t" FXSAVE " b\n\tret");

static void test_faults(void)
{
    int v;

    if (!has_sse) {
        report_skip("FXSAVE/LDMXCSR faults: CPUID lacks them");
        return;
    }
    v = exc_catch(do_fxsave_mis, 0);
    report(v == 13 && exc.error == 0 && exc.rip == (ulong)fxmis_at,
           "fxsave to an address not 16-byte aligned: #GP(0) (%d)", v);
    /* QEMU 7.2 takes reserved MXCSR bits silently. */
    if (!qemu_differs("ldmxcsr with reserved bits")) {
        v = exc_catch(do_ldmxcsr_bad, 0);
        report(v == 13 && exc.error == 0 && exc.rip == (ulong)ldmx_at,
               "ldmxcsr with reserved bit 16: #GP(0) (%d)", v);
    }
    if ((cpuid(1, 0).c >> 26) & 1) {
        ulong cr4 = read_cr4();

        /* XSETBV at CPL 3: #GP(0); XGETBV with CR4.OSXSAVE clear: #UD (vol. 2B). */
        v = run_user(do_xsetbv_arg, 3);
        report(v == 13 && exc.error == 0 && exc.rip == (ulong)xsetbv_at,
               "xsetbv at CPL 3: #GP(0) (%d)", v);
        write_cr4(cr4 & ~X86_CR4_OSXSAVE);
        v = exc_catch(do_xgetbv, 0);
        write_cr4(cr4);
        report(v == 6 && exc.rip == (ulong)xgetbv_at, "xgetbv with CR4.OSXSAVE clear: #UD (%d)",
               v);
        /* XCR0 needs x87 (bit 0); SSE alone or nothing is invalid (13.3). */
        v = exc_catch(do_xsetbv_arg, 2);
        report(v == 13 && exc.error == 0 && exc.rip == (ulong)xsetbv_at,
               "xsetbv XCR0 = 2: #GP(0) (%d)", v);
        v = exc_catch(do_xsetbv_arg, 3);
        report(v == -1, "xsetbv XCR0 = 3 is fine (%d)", v);
    }
    if (!((cpuid(1, 0).d >> 23) & 1)) {
        report_skip("MMX: not in CPUID");
        return;
    }
    memset(&a, 0, sizeof(a));
    exc_catch(do_mmx, 0);
    /* Bits 79:64 of the register become all ones; QEMU 7.2 leaves them. */
    report(a.ftw == 0xff && ((a.fsw >> 11) & 7) == 0 && a.st[0].mant == mmx_val &&
           (a.st[0].exp == 0xffff || quirks) && a.st[3].mant == mmx_val && b.ftw == 0,
           "MMX aliases the x87 registers: ftw %x, st0 %x:%llx, after emms ftw %x", a.ftw,
           a.st[0].exp, (unsigned long long)a.st[0].mant, b.ftw);
}

ASMFN(do_fxsave_nm, "nm_at: " FXSAVE " a\n\tret");
ASMFN(do_addps, "ud_at: addps %xmm1, %xmm0\n\tret");
extern char nm_at[], ud_at[];

static void test_traps(void)
{
    ulong cr0 = read_cr0(), cr4 = read_cr4();
    int v;

    if (!has_sse) {
        report_skip("#NM and #UD for FXSAVE and SSE: CPUID lacks them");
        return;
    }
    write_cr0(cr0 | X86_CR0_TS);
    v = exc_catch(do_fxsave_nm, 0);
    report(v == 7 && exc.rip == (ulong)nm_at, "fxsave with CR0.TS: #NM (%d)", v);
    v = exc_catch(do_addps, 0);
    report(v == 7 && exc.rip == (ulong)ud_at, "addps with CR0.TS: #NM (%d)", v);
    write_cr0(cr0);
    write_cr4(cr4 & ~X86_CR4_OSFXSR);
    v = exc_catch(do_addps, 0);
    report(v == 6 && exc.rip == (ulong)ud_at, "addps with CR4.OSFXSR clear: #UD (%d)", v);
    write_cr4(cr4);
    report(exc_catch(do_addps, 0) == -1, "addps with OSFXSR set: no exception");
}

int main(const struct mb_info *mbi)
{
    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "fpu-state64" : "fpu-state32";
    x86_setup();
    has_sse = (cpuid(1, 0).d & (7u << 24)) == (7u << 24);
    fpu_enable();
    test_fxsave();
    test_fnstenv();
    test_arith();
    test_x87_more();
    test_xsave();
    test_faults();
    test_traps();
    return report_summary();
}
