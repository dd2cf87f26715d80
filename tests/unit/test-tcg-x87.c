/*
 * Unit test "tcg-x87": the x87 instructions (exec-x87.c) and the FP state
 * save/restore family (exec-fpstate.c) of the software CPU, run through the
 * real decoder and tcg_step() on guest RAM, and compared bit for bit with
 * the host processor running the same bytes natively.
 *
 * A differential run: the bytes
 *     mov $0x12345678, %eax; fxrstor64 (%rsi); pushq 0xc0(%rdi); popfq
 *     <one x87 instruction>
 *     pushfq; popq 0xc8(%rdi); mov %rax, 0xd0(%rdi); fxsave64 (%rdx)
 * run once on the host (copied to an executable page, called with rdi =
 * data, rsi = initial FXSAVE image, rdx = result image) and once on the
 * software CPU in 64-bit mode (the same pointers in guest RAM).  The
 * result images (registers, tags, FCW, FSW with C0-C3 and TOP, XMM), the
 * data buffer (memory results) and RAX/RFLAGS are compared.  The pointer
 * fields FIP/FCS/FOP/FDP/FDS are left out: the AMD host saves them only
 * while an exception is pending, the software CPU follows Intel's SDM
 * (they are checked on their own below).  One waiting x87 instruction per
 * run, so the host never takes #MF (FXSAVE does not wait).
 *
 * The sweeps: every register form and every memory form over a table of
 * operands, control words and stack states (empty, full), then random
 * operands; FNSTENV/FLDENV/FNSAVE/FRSTOR, FXSAVE/FXRSTOR, XSAVE/XSAVEOPT/
 * XRSTOR and LDMXCSR/STMXCSR images.  "waiting" runs every form with an
 * exception pending and compares which ones take #MF (SIGFPE on the
 * host).  The rest (#NM, #MF delivery, pointers, real-mode formats, faults
 * of the save/restore family, restartable #PF) are checked against the SDM.
 *
 * Threads: the gtest main thread only.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/x87-float.h"
#include "accel/tcg/x87.h"
#include "system/memory.h"

#define RAM_SIZE (4u << 20)
#define CODE 0x10000u
#define DATA 0x20000u
#define INIT 0x30000u
#define OUT 0x31000u
#define STACK 0x80000u
#define PT_BASE 0x1000u
#define DATA_SIZE 256u
#define MEM_OFF 0x20u         /* the memory operand: [rdi + 0x20] */
#define FLAGS_IN 0xc0u
#define FLAGS_OUT 0xc8u
#define RAX_OUT 0xd0u

typedef struct x87_float f80;

static struct tcg_cpu cpu;
static uint8_t *xpage;
static uint8_t host_data[DATA_SIZE] __attribute__((aligned(64)));
static uint8_t host_init[512] __attribute__((aligned(64)));
#define OUT_SIZE 2048u
#define OUT_EXTRA 1024u       /* crafted input images at [rdx + 0x400] */
static uint8_t host_out[OUT_SIZE] __attribute__((aligned(64)));
/* Bytes of the data buffer and of the result area a test leaves out of
 * the comparison (pointer fields the AMD host stores differently). */
static bool data_ignore[DATA_SIZE], out_ignore[OUT_SIZE];
static uint8_t host_clean[512] __attribute__((aligned(64)));
static unsigned failures, insn_failures, runs;

static const uint8_t prologue[] = {
    0xb8, 0x78, 0x56, 0x34, 0x12,               /* mov $0x12345678, %eax */
    0x48, 0x0f, 0xae, 0x0e,                     /* fxrstor64 (%rsi) */
    0xff, 0xb7, 0xc0, 0x00, 0x00, 0x00,         /* pushq 0xc0(%rdi) */
    0x9d,                                       /* popfq */
};
static const uint8_t epilogue[] = {
    0x9c,                                       /* pushfq */
    0x8f, 0x87, 0xc8, 0x00, 0x00, 0x00,         /* popq 0xc8(%rdi) */
    0x48, 0x89, 0x87, 0xd0, 0x00, 0x00, 0x00,   /* mov %rax, 0xd0(%rdi) */
    0x48, 0x0f, 0xae, 0x02,                     /* fxsave64 (%rdx) */
};

/* ---- guest set-up ---- */

static void wr64(uint64_t gpa, uint64_t v)
{
    g_assert_cmpint(ram_write(gpa, &v, 8), ==, 0);
}

static uint8_t *ram(uint64_t gpa)
{
    uint8_t *p = ram_hva(gpa, 1);

    g_assert_nonnull(p);
    return p;
}

/* 4-level identity paging of the first 2 MiB (SDM vol. 3, 4.5). */
static void build_page_tables(void)
{
    wr64(PT_BASE, (PT_BASE + 0x1000) | 7);
    wr64(PT_BASE + 0x1000, (PT_BASE + 0x2000) | 7);
    wr64(PT_BASE + 0x2000, (PT_BASE + 0x3000) | 7);
    for (uint64_t i = 0; i < 512; i++) {
        wr64(PT_BASE + 0x3000 + i * 8, (i << 12) | 7);
    }
}

static void cpu_reset(enum cpu_mode m)
{
    if (cpu.blocks) {
        tcg_code_written(&cpu, CODE);
    }
    void *blocks = cpu.blocks;

    memset(ram(0), 0, 0x100000);
    memset(&cpu, 0, sizeof(cpu));
    cpu.blocks = blocks;
    if (m == MODE_REAL16) {
        x86_cpu_state_reset(&cpu.st, true);
        for (unsigned s = S_ES; s <= S_GS; s++) {
            cpu.st.seg[s].selector = 0;
            cpu.st.seg[s].base = 0;
            cpu.st.seg[s].limit = 0xffff;
        }
        cpu.st.seg[S_CS].selector = CODE >> 4;
        cpu.st.seg[S_CS].base = CODE;
        cpu.st.regs[R_ESP] = 0x8000;
    } else {
        x86_cpu_state_flat32(&cpu.st, CODE);
        if (m == MODE_LONG64) {
            build_page_tables();
            cpu.st.cr3 = PT_BASE;
            cpu.st.cr4 |= CR4_PAE;
            cpu.st.efer |= EFER_LME | EFER_LMA;
            cpu.st.cr0 |= CR0_PG;
            cpu.st.seg[S_CS].l = true;
            cpu.st.seg[S_CS].db = false;
        }
        cpu.st.regs[R_ESP] = STACK;
    }
    cpu.st.cr0 |= CR0_NE | CR0_MP;
    cpu.st.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
    cpu.xcr0 = 3;
    cpu.st.fpu.fcw = X87_CW_DEFAULT;
    cpu.st.fpu.mxcsr = 0x1f80;
    tcg_cpu_mode_changed(&cpu);
    tcg_tlb_flush(&cpu);
    g_assert_cmpint(cpu.mode, ==, m);
}

static uint64_t code_base(void)
{
    return cpu.mode == MODE_REAL16 ? 0 : CODE;
}

static void load(const uint8_t *code, size_t len)
{
    g_assert_cmpint(ram_write(CODE, code, len), ==, 0);
    if (cpu.blocks) {
        tcg_code_written(&cpu, CODE);
    }
    cpu.st.rip = code_base();
}

static enum tcg_status run_to(uint64_t end, unsigned max)
{
    for (unsigned n = 0; n < max && cpu.st.rip != end; n++) {
        enum tcg_status s = tcg_step(&cpu);

        if (s != TCG_OK && s != TCG_JUMPED) {
            return s;
        }
    }
    return cpu.st.rip == end ? TCG_OK : TCG_STOP;
}

#define RUN(code) run_code(code, sizeof(code))
static enum tcg_status run_code(const uint8_t *code, size_t len)
{
    load(code, len);
    return run_to(code_base() + len, 1000);
}

#define ASSERT_EXC(st, vec) do { \
        g_assert_cmpint((st), ==, TCG_EXCEPTION); \
        g_assert_cmpint(cpu.exc.vector, ==, (vec)); \
    } while (0)

/* ---- host side ---- */

typedef void (*blob_fn)(void *data, void *init, void *out);

static bool host_exec_ok(void)
{
    if (!xpage) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
            return false;
        }
        xpage = p;
    }
    return true;
}

/* Runs code natively, then puts the host FPU back as it was. */
static void host_run(const uint8_t *code, size_t len)
{
    memcpy(xpage, code, len);
    xpage[len] = 0xc3;      /* ret */
    ((blob_fn)(void *)xpage)(host_data, host_init, host_out);
    __asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t(*)[512])host_clean));
}

/* ---- differential runs ---- */

struct dstate {
    f80 st[8];          /* ST(0).. in stack order */
    uint8_t valid;      /* bit j: ST(j) not empty */
    uint16_t cw;
    uint16_t cc;        /* C0-C3 before the instruction */
    unsigned top;
    uint64_t rflags;    /* arithmetic flags before */
    uint8_t mem[16];    /* at [rdi + 0x20] */
    const uint8_t *extra;   /* more data at [rdi + extra_off] */
    unsigned extra_off, extra_len;
    const uint8_t *outx;    /* an input image at [rdx + 0x400] */
    unsigned outx_len;
};

static void put16(uint8_t *b, unsigned off, uint16_t v)
{
    memcpy(b + off, &v, 2);
}

static void make_image(uint8_t *img, const struct dstate *s)
{
    uint8_t ftw = 0;

    memset(img, 0, 512);
    put16(img, 0, s->cw);
    put16(img, 2, (uint16_t)(s->cc | (s->top & 7) << 11));
    for (unsigned j = 0; j < 8; j++) {
        if ((s->valid >> j) & 1) {
            ftw |= (uint8_t)(1u << ((s->top + j) & 7));
        }
        memcpy(img + 32 + 16 * j, &s->st[j].mant, 8);
        memcpy(img + 40 + 16 * j, &s->st[j].sign_exp, 2);
    }
    img[4] = ftw;
    uint32_t mx = 0x1f80;
    memcpy(img + 24, &mx, 4);
    for (unsigned i = 0; i < 16; i++) {
        img[160 + 16 * i] = (uint8_t)(0x11 * i);
    }
}

static void make_data(uint8_t *d, const struct dstate *s)
{
    memset(d, 0x5a, DATA_SIZE);
    memcpy(d + MEM_OFF, s->mem, 16);
    memcpy(d + FLAGS_IN, &s->rflags, 8);
    if (s->extra) {
        memcpy(d + s->extra_off, s->extra, s->extra_len);
    }
}

static void make_out(uint8_t *o, const struct dstate *s)
{
    memset(o, 0xee, OUT_SIZE);
    if (s->outx) {
        memcpy(o + OUT_EXTRA, s->outx, s->outx_len);
    }
}

static bool equal_except(const uint8_t *a, const uint8_t *b, const bool *ignore, unsigned from,
                         unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        if (a[i] != b[i] && !ignore[i]) {
            return false;
        }
    }
    return true;
}

static const char *hexdump(const uint8_t *b, unsigned n, char *buf)
{
    for (unsigned i = 0; i < n; i++) {
        sprintf(buf + 2 * i, "%02x", b[n - 1 - i]);
    }
    return buf;
}

static bool image_equal(const uint8_t *g, const uint8_t *h)
{
    /* 0-5: FCW FSW FTW; 24-27 MXCSR; 32-415 ST and XMM */
    return !memcmp(g, h, 6) && !memcmp(g + 24, h + 24, 4) && !memcmp(g + 32, h + 32, 384);
}

/* One differential run of insn (its bytes) from state s. */
static void diff_run(const uint8_t *insn, size_t ilen, const struct dstate *s)
{
    uint8_t code[64];
    size_t len = 0;
    static uint8_t last_code[64];
    static size_t last_len;
    enum tcg_status st;

    memcpy(code, prologue, sizeof(prologue));
    len = sizeof(prologue);
    memcpy(code + len, insn, ilen);
    len += ilen;
    memcpy(code + len, epilogue, sizeof(epilogue));
    len += sizeof(epilogue);

    runs++;
    make_image(host_init, s);
    make_data(host_data, s);
    make_out(host_out, s);
    host_run(code, len);

    make_image(ram(INIT), s);
    make_data(ram(DATA), s);
    make_out(ram(OUT), s);
    cpu.st.regs[R_EDI] = DATA;
    cpu.st.regs[R_ESI] = INIT;
    cpu.st.regs[R_EDX] = OUT;
    cpu.st.regs[R_ESP] = STACK;
    if (len != last_len || memcmp(code, last_code, len)) {
        load(code, len);
        memcpy(last_code, code, len);
        last_len = len;
    }
    cpu.st.rip = CODE;
    st = run_to(CODE + len, 100);

    const uint8_t *g = ram(OUT), *gd = ram(DATA);
    uint64_t gf, hf;
    memcpy(&gf, gd + FLAGS_OUT, 8);
    memcpy(&hf, host_data + FLAGS_OUT, 8);
    bool same = st == TCG_OK && image_equal(g, host_out) &&
                equal_except(gd, host_data, data_ignore, 0, FLAGS_OUT) &&
                equal_except(g, host_out, out_ignore, 512, OUT_SIZE) &&
                ((gf ^ hf) & TCG_FLAGS_ARITH) == 0 &&
                !memcmp(gd + RAX_OUT, host_data + RAX_OUT, 8);
    if (!same) {
        char b1[64], b2[64], b3[64], b4[64];

        failures++;
        insn_failures++;
        if (insn_failures <= 3) {
            g_printerr("MISMATCH insn %s cw %04x valid %02x top %u st0 %s st1 %s mem %s st=%d\n",
                       hexdump(insn, (unsigned)ilen, b1), s->cw, s->valid, s->top,
                       hexdump((const uint8_t *)&s->st[0], 10, b2),
                       hexdump((const uint8_t *)&s->st[1], 10, b3), hexdump(s->mem, 16, b4), st);
            g_printerr("  host  fcw %04x fsw %04x ftw %02x st0 %s st1 %s mem %s fl %03x ax %04x\n",
                       *(uint16_t *)host_out, *(uint16_t *)(host_out + 2), host_out[4],
                       hexdump(host_out + 32, 10, b1), hexdump(host_out + 48, 10, b2),
                       hexdump(host_data + MEM_OFF, 16, b3), (unsigned)(hf & 0x8d5),
                       *(uint16_t *)(host_data + RAX_OUT));
            g_printerr("  guest fcw %04x fsw %04x ftw %02x st0 %s st1 %s mem %s fl %03x ax %04x\n",
                       *(const uint16_t *)g, *(const uint16_t *)(g + 2), g[4],
                       hexdump(g + 32, 10, b1), hexdump(g + 48, 10, b2),
                       hexdump(gd + MEM_OFF, 16, b3), (unsigned)(gf & 0x8d5),
                       *(const uint16_t *)(gd + RAX_OUT));
            for (unsigned i = 0, n = 0; i < OUT_SIZE && n < 8; i++) {
                if (i < FLAGS_OUT && gd[i] != host_data[i] && !data_ignore[i]) {
                    g_printerr("  data[%#x] host %02x guest %02x\n", i, host_data[i], gd[i]);
                    n++;
                }
                if (i >= 512 && g[i] != host_out[i] && !out_ignore[i]) {
                    g_printerr("  out[%#x] host %02x guest %02x\n", i, host_out[i], g[i]);
                    n++;
                }
            }
        }
    }
}

/* ---- operand values ---- */

#define F80(e, m) { (m), (e) }
static const f80 values[] = {
    F80(0x0000, 0),                             /* +0 */
    F80(0x8000, 0),                             /* -0 */
    F80(0x3fff, 0x8000000000000000ull),         /* 1 */
    F80(0xbfff, 0xc000000000000000ull),         /* -1.5 */
    F80(0x4000, 0xc90fdaa22168c235ull),         /* pi */
    F80(0x4000, 0xc000000000000000ull),         /* 3 */
    F80(0x3ffd, 0xfffffffffffffc01ull),         /* ~0.5 with low bits: rounding */
    F80(0x3ffe, 0x8000000000000000ull),         /* 0.5 */
    F80(0xc01a, 0xeb79a2a3f0000000ull),         /* -123456789.xx */
    F80(0x403d, 0xfffffffffffffffeull),         /* just under 2^63 */
    F80(0x403e, 0x8000000000000000ull),         /* 2^63 */
    F80(0x4039, 0xde0b6b3a76400000ull),         /* 1e18 */
    F80(0x7ffe, 0xffffffffffffffffull),         /* max */
    F80(0x0001, 0x8000000000000000ull),         /* min normal */
    F80(0x0000, 0x0000000000001234ull),         /* denormal */
    F80(0x8000, 0x8000000000000001ull),         /* pseudo-denormal */
    F80(0x7fff, 0x8000000000000000ull),         /* +inf */
    F80(0xffff, 0x8000000000000000ull),         /* -inf */
    F80(0x7fff, 0xc000000000000001ull),         /* QNaN */
    F80(0xffff, 0xa000000000000000ull),         /* SNaN */
    F80(0x4000, 0x4000000000000000ull),         /* unnormal */
    F80(0x3f80, 0x9000000000000000ull),         /* 2^-127 range: f32 underflow */
    F80(0x43ff, 0x8000000000000123ull),         /* f64 overflow */
    F80(0x3ff0, 0xa5a5a5a5a5a5a5a5ull),         /* small odd pattern */
};
#define NVAL (sizeof(values) / sizeof(values[0]))

static const uint16_t cws[] = {
    0x037f, 0x077f, 0x0b7f, 0x0f7f, 0x027f, 0x007f, 0x0360, 0x0f72, 0x037e, 0x0b70,
};
#define NCW (sizeof(cws) / sizeof(cws[0]))

/* Memory operands (16 bytes, little-endian halves). */
static const uint64_t mems[][2] = {
    { 0x3f800000, 0 },                          /* 1.0f, int 1065353216 */
    { 0xc0200000, 0 },                          /* -2.5f */
    { 0x00000001, 0 },                          /* f32 denormal, int 1 */
    { 0x7f800000, 0 },                          /* f32 inf */
    { 0x7fc00000, 0 },                          /* f32 QNaN */
    { 0xff800001, 0 },                          /* f32 SNaN */
    { 0x80000000, 0 },                          /* -0.0f, INT32_MIN */
    { 0x3ff0000000000000ull, 0 },               /* 1.0 */
    { 0x400921fb54442d18ull, 0 },               /* pi */
    { 0x000fffffffffffffull, 0 },               /* f64 denormal */
    { 0x7ff0000000000001ull, 0 },               /* f64 SNaN */
    { 0xfff8000000000000ull, 0 },               /* f64 QNaN */
    { 0x8000000000000000ull, 0x3fff },          /* m80 -... / 1.0 at m80 */
    { 0xc90fdaa22168c235ull, 0xc000 },          /* m80 -pi */
    { 0x0000000000001234ull, 0x0000 },          /* m80 denormal */
    { 0xa000000000000000ull, 0x7fff },          /* m80 SNaN */
    { 0x0000000000007fffull, 0 },               /* INT16_MAX */
    { 0xffffffffffff8000ull, 0xffff },          /* -32768.. */
    { 0x0000000000012345ull, 0x8000 },          /* BCD -12345 */
    { 0x9999999999999999ull, 0x0099 },          /* BCD max */
    { 0x00000000000000a5ull, 0 },               /* BCD bad digit */
    { 0x7fffffffffffffffull, 0 },               /* INT64_MAX */
    { 0x0000000000000000ull, 0 },               /* zero */
    { 0xffffffffffffffffull, 0xffff },          /* all ones */
};
#define NMEM (sizeof(mems) / sizeof(mems[0]))

static void base_state(struct dstate *s, unsigned ia, unsigned ib, unsigned k)
{
    memset(s, 0, sizeof(*s));
    s->st[0] = values[ia % NVAL];
    s->st[1] = values[ib % NVAL];
    for (unsigned j = 2; j < 8; j++) {
        s->st[j] = values[(ia + ib + j) % NVAL];
    }
    s->valid = 3;
    s->cw = cws[k % NCW];
    s->top = (ia + 2 * ib) & 7;
    s->cc = (uint16_t)(((ia ^ ib) & 1) ? (X87_SW_C0 | X87_SW_C3) : X87_SW_C2);
    /* the arithmetic flags for FCMOVcc: cycle CF, ZF, PF */
    s->rflags = 0x2 | (((ia + ib) & 1) ? RFLAGS_CF : 0) | (((ia + ib) & 2) ? RFLAGS_ZF : 0) |
                (((ia + ib) & 4) ? RFLAGS_PF : 0);
}

/* The register forms the host decodes (all with i = 1, and a few with 0/2/7). */
static const uint8_t reg_ops[][2] = {
    { 0xd8, 0xc1 }, { 0xd8, 0xc9 }, { 0xd8, 0xd1 }, { 0xd8, 0xd9 }, { 0xd8, 0xe1 },
    { 0xd8, 0xe9 }, { 0xd8, 0xf1 }, { 0xd8, 0xf9 }, { 0xd8, 0xc0 }, { 0xd8, 0xf8 },
    { 0xdc, 0xc1 }, { 0xdc, 0xc9 }, { 0xdc, 0xd1 }, { 0xdc, 0xd9 }, { 0xdc, 0xe1 },
    { 0xdc, 0xe9 }, { 0xdc, 0xf1 }, { 0xdc, 0xf9 },
    { 0xde, 0xc1 }, { 0xde, 0xc9 }, { 0xde, 0xd1 }, { 0xde, 0xd9 }, { 0xde, 0xe1 },
    { 0xde, 0xe9 }, { 0xde, 0xf1 }, { 0xde, 0xf9 },
    { 0xd9, 0xc1 }, { 0xd9, 0xc7 }, { 0xd9, 0xc9 }, { 0xd9, 0xca }, { 0xd9, 0xd0 },
    { 0xd9, 0xd9 }, { 0xd9, 0xe0 }, { 0xd9, 0xe1 }, { 0xd9, 0xe4 }, { 0xd9, 0xe5 },
    { 0xd9, 0xe8 }, { 0xd9, 0xe9 }, { 0xd9, 0xea }, { 0xd9, 0xeb }, { 0xd9, 0xec },
    { 0xd9, 0xed }, { 0xd9, 0xee }, { 0xd9, 0xf0 }, { 0xd9, 0xf1 }, { 0xd9, 0xf2 },
    { 0xd9, 0xf3 }, { 0xd9, 0xf4 }, { 0xd9, 0xf5 }, { 0xd9, 0xf6 }, { 0xd9, 0xf7 },
    { 0xd9, 0xf8 }, { 0xd9, 0xf9 }, { 0xd9, 0xfa }, { 0xd9, 0xfb }, { 0xd9, 0xfc },
    { 0xd9, 0xfd }, { 0xd9, 0xfe }, { 0xd9, 0xff },
    { 0xda, 0xc1 }, { 0xda, 0xc9 }, { 0xda, 0xd1 }, { 0xda, 0xd9 }, { 0xda, 0xe9 },
    { 0xdb, 0xc1 }, { 0xdb, 0xc9 }, { 0xdb, 0xd1 }, { 0xdb, 0xd9 }, { 0xdb, 0xe9 },
    { 0xdb, 0xf1 }, { 0xdb, 0xe2 }, { 0xdb, 0xe3 }, { 0xdb, 0xe0 }, { 0xdb, 0xe4 },
    { 0xdd, 0xc1 }, { 0xdd, 0xc9 }, { 0xdd, 0xd1 }, { 0xdd, 0xd9 }, { 0xdd, 0xd8 },
    { 0xdd, 0xe1 }, { 0xdd, 0xe9 },
    { 0xdf, 0xc1 }, { 0xdf, 0xc9 }, { 0xdf, 0xd1 }, { 0xdf, 0xd9 }, { 0xdf, 0xe0 },
    { 0xdf, 0xe9 }, { 0xdf, 0xf1 },
};

static void test_reg_forms(void)
{
    struct dstate s;

    if (!host_exec_ok()) {
        g_test_skip("no executable page on the host");
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    for (unsigned o = 0; o < G_N_ELEMENTS(reg_ops); o++) {
        insn_failures = 0;
        for (unsigned ia = 0; ia < NVAL; ia++) {
            for (unsigned ib = 0; ib < NVAL; ib++) {
                base_state(&s, ia, ib, ia * 7 + ib * 3 + o);
                diff_run(reg_ops[o], 2, &s);
            }
        }
        /* empty ST(0), empty ST(1), full stack: stack faults */
        for (unsigned k = 0; k < 3 * NCW; k++) {
            base_state(&s, 4 + k, 2 + k / NCW, k);
            s.valid = k % 3 == 0 ? 2 : k % 3 == 1 ? 1 : 0xff;
            diff_run(reg_ops[o], 2, &s);
        }
    }
    g_test_message("%u runs", runs);
    g_assert_cmpuint(failures, ==, 0);
}

/* Memory forms with [rdi + 0x20]: opcode, ModRM reg. */
static const uint8_t mem_ops[][2] = {
    { 0xd8, 0 }, { 0xd8, 1 }, { 0xd8, 2 }, { 0xd8, 3 }, { 0xd8, 4 }, { 0xd8, 5 },
    { 0xd8, 6 }, { 0xd8, 7 },
    { 0xdc, 0 }, { 0xdc, 1 }, { 0xdc, 2 }, { 0xdc, 3 }, { 0xdc, 4 }, { 0xdc, 5 },
    { 0xdc, 6 }, { 0xdc, 7 },
    { 0xda, 0 }, { 0xda, 1 }, { 0xda, 2 }, { 0xda, 3 }, { 0xda, 4 }, { 0xda, 5 },
    { 0xda, 6 }, { 0xda, 7 },
    { 0xde, 0 }, { 0xde, 1 }, { 0xde, 2 }, { 0xde, 3 }, { 0xde, 4 }, { 0xde, 5 },
    { 0xde, 6 }, { 0xde, 7 },
    { 0xd9, 0 }, { 0xd9, 2 }, { 0xd9, 3 }, { 0xd9, 5 }, { 0xd9, 7 },
    { 0xdb, 0 }, { 0xdb, 1 }, { 0xdb, 2 }, { 0xdb, 3 }, { 0xdb, 5 }, { 0xdb, 7 },
    { 0xdd, 0 }, { 0xdd, 1 }, { 0xdd, 2 }, { 0xdd, 3 }, { 0xdd, 7 },
    { 0xdf, 0 }, { 0xdf, 1 }, { 0xdf, 2 }, { 0xdf, 3 }, { 0xdf, 4 }, { 0xdf, 5 },
    { 0xdf, 6 }, { 0xdf, 7 },
};

static void test_mem_forms(void)
{
    struct dstate s;

    if (!host_exec_ok()) {
        g_test_skip("no executable page on the host");
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    for (unsigned o = 0; o < G_N_ELEMENTS(mem_ops); o++) {
        insn_failures = 0;
        uint8_t insn[3] = { mem_ops[o][0], (uint8_t)(0x47 | mem_ops[o][1] << 3), MEM_OFF };

        for (unsigned ia = 0; ia < NVAL; ia++) {
            for (unsigned m = 0; m < NMEM; m++) {
                base_state(&s, ia, m, ia * 5 + m * 3 + o);
                memcpy(s.mem, mems[m], 16);
                diff_run(insn, 3, &s);
            }
        }
        for (unsigned k = 0; k < 2 * NCW; k++) {
            base_state(&s, 3 + k, 2, k);
            memcpy(s.mem, mems[k % NMEM], 16);
            s.valid = k & 1 ? 0 : 0xff;
            diff_run(insn, 3, &s);
        }
    }
    g_test_message("%u runs", runs);
    g_assert_cmpuint(failures, ==, 0);
}


static void ignore_range(bool *map, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        map[i] = true;
    }
}

static void ignore_none(void)
{
    memset(data_ignore, 0, sizeof(data_ignore));
    memset(out_ignore, 0, sizeof(out_ignore));
}

/* Some register contents and tags, TOP and control words to save. */
static void varied_state(struct dstate *s, unsigned k)
{
    base_state(s, k * 5 + 1, k * 3 + 2, k);
    s->valid = (uint8_t)(0x03 | (k * 0x29));
    s->cc = (uint16_t)((k & 0xf) << 8 & 0x4700);
}

static bool host_ready(void)
{
    if (!host_exec_ok()) {
        g_test_skip("no executable page on the host");
        return false;
    }
    return true;
}

#define DIFF(s, ...) do { \
        static const uint8_t code_[] = { __VA_ARGS__ }; \
        diff_run(code_, sizeof(code_), (s)); \
    } while (0)

/* xorshift64: reproducible operands for the random sweep. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* A random register value: mostly normal numbers near 1 or at the range
 * ends, sometimes special encodings. */
static f80 rnd_f80(void)
{
    uint64_t r = rnd();
    uint16_t sign = (r & 1) ? 0x8000 : 0;
    uint64_t m = rnd() | 1ull << 63;
    uint16_t e;

    switch ((r >> 1) & 7) {
    case 0:
        e = (uint16_t)(0x3fff + (int)((r >> 8) & 0x7f) - 64);
        break;
    case 1:
        e = (uint16_t)((r >> 8) & 0x7fff);
        break;
    case 2:
        e = (uint16_t)((r >> 8) & 3);               /* denormals, tiny */
        if (e == 0) {
            m >>= (r >> 16) & 63;
        }
        break;
    case 3:
        e = (uint16_t)(0x7ffc + ((r >> 8) & 3));    /* huge, inf, NaN */
        if (e == 0x7fff && (r & 0x100)) {
            m = 1ull << 63;
        }
        break;
    case 4:
        e = (uint16_t)(0x403e - ((r >> 8) & 0x3f)); /* integer range */
        m &= ~0ull << ((r >> 16) & 63);
        m |= 1ull << 63;
        break;
    default:
        e = (uint16_t)(0x3fff + (int)((r >> 8) & 0x1f) - 16);
        m &= ~0ull << ((r >> 16) & 63);
        m |= 1ull << 63;
        break;
    }
    return (f80){ m, (uint16_t)(sign | e) };
}

static void test_random(void)
{
    struct dstate s;

    if (!host_exec_ok()) {
        g_test_skip("no executable page on the host");
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    insn_failures = 0;
    ignore_none();
    for (unsigned n = 0; n < 40000; n++) {
        uint64_t r = rnd();
        unsigned o = (unsigned)(r % (G_N_ELEMENTS(reg_ops) + G_N_ELEMENTS(mem_ops)));

        base_state(&s, 0, 0, (unsigned)(r >> 16));
        if (r >> 60 & 1) {
            /* any precision, rounding and masks, the reserved PC too */
            s.cw = (uint16_t)((rnd() & 0x0f3f) | 0x40);
        }
        for (unsigned j = 0; j < 8; j++) {
            s.st[j] = rnd_f80();
        }
        s.valid = (r >> 32) & 0x30 ? 0x03 : (uint8_t)(r >> 40);
        s.top = (r >> 48) & 7;
        uint64_t m0 = rnd(), m1 = rnd();
        if ((r >> 52) & 1) {
            f80 v = rnd_f80();          /* an m80 value */
            m0 = v.mant;
            m1 = v.sign_exp;
        }
        memcpy(s.mem, &m0, 8);
        memcpy(s.mem + 8, &m1, 8);
        if (o < G_N_ELEMENTS(reg_ops)) {
            diff_run(reg_ops[o], 2, &s);
        } else {
            o -= G_N_ELEMENTS(reg_ops);
            uint8_t insn[3] = { mem_ops[o][0], (uint8_t)(0x47 | mem_ops[o][1] << 3), MEM_OFF };
            diff_run(insn, 3, &s);
        }
    }
    g_assert_cmpuint(failures, ==, 0);
}

/* FNSTENV in the 32- and 16-bit formats (SDM vol. 1, figures 8-9, 8-10):
 * control, status and full tag word as the host writes them; FNSTENV then
 * masks all exceptions. */
static void test_fnstenv(void)
{
    struct dstate s;

    if (!host_ready()) {
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    ignore_none();
    ignore_range(data_ignore, 0x20 + 12, 0x20 + 28);
    ignore_range(data_ignore, 0x40 + 6, 0x40 + 14);
    for (unsigned k = 0; k < 64; k++) {
        varied_state(&s, k);
        /* exception flags, some unmasked: pending (ES) when loaded */
        s.cc |= (uint16_t)((k * 7) & 0x3f);
        s.cw = (uint16_t)(s.cw & ~(k & 0x3f));
        /* fnstenv 0x20(%rdi); data16 fnstenv 0x40(%rdi) */
        DIFF(&s, 0xd9, 0x77, 0x20, 0x66, 0xd9, 0x77, 0x40);
    }
    ignore_none();
    g_assert_cmpuint(failures, ==, 0);
}

/* FLDENV of crafted environments: tags rebuilt as empty or not, ES from
 * the loaded flags and masks, reserved control-word bits. */
static void test_fldenv(void)
{
    struct dstate s;
    uint8_t env[28];

    if (!host_ready()) {
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    ignore_none();
    for (unsigned k = 0; k < 64; k++) {
        uint32_t w[7] = {
            0xffff0000u | ((k & 1 ? 0x037fu : 0x0b72u) ^ ((k << 11) & 0xe000u)),
            0xffff0000u | ((k * 0x1357u) & 0x7f7f),
            0xffff0000u | ((k * 0x9e37u) & 0xffff),
            0x1234, 0x05670033, 0x89ab, 0xffff002b,
        };

        memcpy(env, w, sizeof(env));
        varied_state(&s, k);
        s.extra = env;
        s.extra_off = 0x40;
        s.extra_len = sizeof(env);
        DIFF(&s, 0xd9, 0x67, 0x40);             /* fldenv 0x40(%rdi) */
        DIFF(&s, 0x66, 0xd9, 0x67, 0x40);       /* data16 fldenv 0x40(%rdi) */
    }
    g_assert_cmpuint(failures, ==, 0);
}

/* FNSAVE (then FNINIT) and FRSTOR in both formats. */
static void test_fnsave_frstor(void)
{
    struct dstate s;
    uint8_t img[108];

    if (!host_ready()) {
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    for (unsigned k = 0; k < 32; k++) {
        ignore_none();
        ignore_range(data_ignore, 0x20 + 12, 0x20 + 28);
        varied_state(&s, k);
        DIFF(&s, 0xdd, 0x77, 0x20);             /* fnsave 0x20(%rdi) */
        ignore_none();
        ignore_range(data_ignore, 0x20 + 6, 0x20 + 14);
        DIFF(&s, 0x66, 0xdd, 0x77, 0x20);       /* data16 fnsave 0x20(%rdi) */
        ignore_none();
        for (unsigned i = 0; i < sizeof(img); i++) {
            img[i] = (uint8_t)(i * 37 + k * 11);
        }
        memcpy(img, (uint16_t[]){ 0x037f }, 2);
        s.extra = img;
        s.extra_off = 0x20;
        s.extra_len = sizeof(img);
        DIFF(&s, 0xdd, 0x67, 0x20);             /* frstor 0x20(%rdi) */
        DIFF(&s, 0x66, 0xdd, 0x67, 0x20);       /* data16 frstor 0x20(%rdi) */
    }
    g_assert_cmpuint(failures, ==, 0);
}

/* FXSAVE without REX.W (32-bit pointer layout) and FXRSTOR of crafted
 * images, compared with the host's FXSAVE. */
static void test_fxsave_fxrstor(void)
{
    struct dstate s;
    uint8_t img[512];

    if (!host_ready()) {
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    ignore_none();
    /* pointers (AMD stores them only while ES is set), MXCSR_MASK (the
     * host adds its misaligned-SSE bit 17) */
    ignore_range(out_ignore, 512 + 6, 512 + 24);
    ignore_range(out_ignore, 512 + 28, 512 + 32);
    for (unsigned k = 0; k < 32; k++) {
        varied_state(&s, k);
        DIFF(&s, 0x0f, 0xae, 0x82, 0x00, 0x02, 0x00, 0x00);        /* fxsave 0x200(%rdx) */
        DIFF(&s, 0x48, 0x0f, 0xae, 0x82, 0x00, 0x02, 0x00, 0x00);  /* fxsave64 */
        /* FXRSTOR: a crafted image with FSW flags, tags, registers */
        for (unsigned i = 0; i < sizeof(img); i++) {
            img[i] = (uint8_t)(i * 13 + k * 7);
        }
        /* reserved control-word bits 6 and 13-15 flipped on some */
        memcpy(img, (uint16_t[]){ (uint16_t)((0x0360 | k) ^ (k & 8 ? 0xe040 : 0)),
                                  (uint16_t)(k * 0x851) }, 4);
        memcpy(img + 24, (uint32_t[]){ 0x1f80 | (k & 0x3f) }, 4);
        s.outx = img;
        s.outx_len = sizeof(img);
        DIFF(&s, 0x0f, 0xae, 0x8a, 0x00, 0x04, 0x00, 0x00);        /* fxrstor 0x400(%rdx) */
        DIFF(&s, 0x48, 0x0f, 0xae, 0x8a, 0x00, 0x04, 0x00, 0x00);  /* fxrstor64 */
        s.outx = NULL;
    }
    ignore_none();
    g_assert_cmpuint(failures, ==, 0);
}

static bool host_has_xsave(void)
{
    unsigned a, b, c, d;

    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27));
}

/* XSAVE/XSAVEOPT/XRSTOR of x87 and SSE state with EDX:EAX = 1, 2, 3
 * against the host (whose XCR0 enables at least these two). */
static void test_xsave_xrstor(void)
{
    struct dstate s;
    uint8_t img[576];

    if (!host_ready()) {
        return;
    }
    if (!host_has_xsave()) {
        g_test_skip("host without OSXSAVE");
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    ignore_none();
    ignore_range(out_ignore, 512 + 6, 512 + 24);
    ignore_range(out_ignore, 512 + 28, 512 + 32);
    for (unsigned k = 0; k < 24; k++) {
        uint8_t m = (uint8_t)(1 + k % 3);

        varied_state(&s, k);
        /* mov %rdx,%r8; xor %edx,%edx; mov $m,%eax; xsave64 0x200(%r8);
         * mov %r8,%rdx */
        const uint8_t save64[] = { 0x49, 0x89, 0xd0, 0x31, 0xd2, 0xb8, m, 0, 0, 0,
                                   0x49, 0x0f, 0xae, 0xa0, 0x00, 0x02, 0x00, 0x00,
                                   0x4c, 0x89, 0xc2 };
        uint8_t code[sizeof(save64)];

        memcpy(code, save64, sizeof(code));
        diff_run(code, sizeof(code), &s);
        code[10] = 0x41;                        /* xsave (32-bit pointers) */
        diff_run(code, sizeof(code), &s);
        code[10] = 0x49;
        code[13] = 0xb0;                        /* xsaveopt64 */
        diff_run(code, sizeof(code), &s);

        /* XRSTOR of a crafted area: XSTATE_BV k & 3 */
        for (unsigned i = 0; i < sizeof(img); i++) {
            img[i] = (uint8_t)(i * 29 + k * 3);
        }
        memcpy(img, (uint16_t[]){ (uint16_t)(0x037f ^ (k & 4 ? 0xe040 : 0)),
                                  (uint16_t)(k * 0x0801) }, 4);
        memcpy(img + 24, (uint32_t[]){ 0x1f80 ^ (k << 13 & 0x6000) }, 4);
        memset(img + 512, 0, 64);
        img[512] = (uint8_t)(k & 3);
        s.outx = img;
        s.outx_len = sizeof(img);
        code[10] = 0x49;
        code[13] = 0xa8;                        /* xrstor64 */
        code[15] = 0x04;
        diff_run(code, sizeof(code), &s);
        code[10] = 0x41;                        /* xrstor */
        diff_run(code, sizeof(code), &s);
        s.outx = NULL;
    }
    ignore_none();
    g_assert_cmpuint(failures, ==, 0);
}

/* LDMXCSR/STMXCSR against the host, then the faults. */
static void test_mxcsr(void)
{
    struct dstate s;
    static const uint8_t ld[] = { 0x0f, 0xae, 0x57, 0x20, 0x0f, 0xae, 0x5f, 0x30 };
    static const uint8_t bad[] = { 0x0f, 0xae, 0x57, 0x20 };
    uint32_t v;

    if (host_ready()) {
        cpu_reset(MODE_LONG64);
        failures = 0;
        ignore_none();
        for (unsigned k = 0; k < 16; k++) {
            varied_state(&s, k);
            memcpy(s.mem, (uint32_t[]){ (k * 0x1357u) & 0xffbf }, 4);
            diff_run(ld, sizeof(ld), &s);
        }
        g_assert_cmpuint(failures, ==, 0);
    }
    cpu_reset(MODE_LONG64);
    cpu.st.regs[R_EDI] = DATA;
    wr64(DATA + 0x20, 0x10000);
    ASSERT_EXC(RUN(bad), EXC_GP);               /* reserved bit 16 */
    wr64(DATA + 0x20, 0xffff);
    g_assert_cmpint(RUN(bad), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.mxcsr, ==, 0xffff);
    cpu.st.cr4 &= ~CR4_OSFXSR;
    ASSERT_EXC(RUN(bad), EXC_UD);
    cpu.st.cr4 |= CR4_OSFXSR;
    cpu.st.cr0 |= CR0_EM;
    ASSERT_EXC(RUN(bad), EXC_UD);
    cpu.st.cr0 &= ~CR0_EM;
    cpu.st.cr0 |= CR0_TS;
    ASSERT_EXC(RUN(bad), EXC_NM);
    cpu.st.cr0 &= ~CR0_TS;
    static const uint8_t st[] = { 0x0f, 0xae, 0x5f, 0x30 };
    g_assert_cmpint(RUN(st), ==, TCG_OK);
    g_assert_cmpint(ram_read(DATA + 0x30, &v, 4), ==, 0);
    g_assert_cmphex(v, ==, 0xffff);
}

/* #NM from CR0.EM/TS; WAIT only with TS and MP (SDM vol. 3, table 2-2). */
static void test_nm(void)
{
    static const uint8_t fld1[] = { 0xd9, 0xe8 };
    static const uint8_t fwait[] = { 0x9b };
    static const uint8_t fnstsw[] = { 0xdf, 0xe0 };

    cpu_reset(MODE_LONG64);
    cpu.st.cr0 |= CR0_TS;
    ASSERT_EXC(RUN(fld1), EXC_NM);
    g_assert_cmphex(cpu.st.rip, ==, CODE);
    ASSERT_EXC(RUN(fnstsw), EXC_NM);            /* no-wait forms too */
    ASSERT_EXC(RUN(fwait), EXC_NM);             /* TS and MP */
    cpu.st.cr0 &= ~CR0_MP;
    g_assert_cmpint(RUN(fwait), ==, TCG_OK);    /* TS alone: WAIT runs */
    cpu.st.cr0 = (cpu.st.cr0 & ~CR0_TS) | CR0_EM;
    ASSERT_EXC(RUN(fld1), EXC_NM);
    g_assert_cmpint(RUN(fwait), ==, TCG_OK);    /* EM does not stop WAIT */
    cpu.st.cr0 &= ~CR0_EM;
    g_assert_cmpint(RUN(fld1), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.st[7].exp, ==, 0x3fff);
}

/* An unmasked exception is reported at the next waiting x87 instruction:
 * #MF with CR0.NE, nothing (FERR# not modelled) without. */
static void test_mf(void)
{
    static const uint8_t divz[] = {
        0xd9, 0x2f,             /* fldcw (%rdi): ZE unmasked */
        0xd9, 0xe8,             /* fld1 */
        0xd9, 0xee,             /* fldz */
        0xde, 0xf9,             /* fdivp %st, %st(1): 1/0 */
        0xdf, 0xe0,             /* fnstsw %ax: no-wait, no fault */
        0xd8, 0xc0,             /* fadd %st(0), %st: #MF here */
    };
    static const uint8_t clex_add[] = { 0xdb, 0xe2, 0xd8, 0xc0 };  /* fnclex; fadd */
    static const uint8_t fwait[] = { 0x9b };

    cpu_reset(MODE_LONG64);
    cpu.st.regs[R_EDI] = DATA;
    wr64(DATA, 0x037b);
    load(divz, sizeof(divz));
    ASSERT_EXC(run_to(CODE + sizeof(divz), 100), EXC_MF);
    g_assert_cmphex(cpu.st.rip, ==, CODE + 10);
    g_assert_false(cpu.exc.has_error_code);
    /* ZE, ES and B; TOP 6; the division stored nothing and popped nothing */
    g_assert_cmphex(cpu.st.regs[R_EAX] & 0xffff, ==, 0x8000 | 6 << 11 | 0x84);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0xc0);
    g_assert_cmpint(RUN(fwait), ==, TCG_EXCEPTION);
    g_assert_cmpint(cpu.exc.vector, ==, EXC_MF);
    g_assert_true(tcg_x87_pending_fault(&cpu));
    /* the no-wait forms run with the exception pending */
    static const uint8_t nowait[] = { 0xd9, 0x77, 0x40, 0xd9, 0x7f, 0x60, 0xdd, 0x7f, 0x62 };
    g_assert_cmpint(RUN(nowait), ==, TCG_OK);
    /* FNSTENV masked everything, and nothing is pending any more */
    g_assert_false(tcg_x87_pending_fault(&cpu));
    g_assert_cmpint(RUN(fwait), ==, TCG_OK);
    cpu.st.fpu.fcw = 0x037b;
    tcg_x87_update_es(&cpu);
    g_assert_cmpint(RUN(clex_add), ==, TCG_OK);
    g_assert_false(tcg_x87_pending_fault(&cpu));
    g_assert_cmphex(cpu.st.fpu.fsw & 0x80ff, ==, 0);

    /* CR0.NE clear: the exception stays pending, nothing is raised */
    cpu_reset(MODE_LONG64);
    cpu.st.cr0 &= ~CR0_NE;
    cpu.st.regs[R_EDI] = DATA;
    wr64(DATA, 0x037b);
    g_assert_cmpint(RUN(divz), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.fsw & 0x8084, ==, 0x8084);
    g_assert_false(tcg_x87_pending_fault(&cpu));

    /* FLDCW unmasking a flag already set makes it pending */
    static const uint8_t late[] = {
        0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9,     /* fld1; fldz; fdivp: masked ZE */
        0xd9, 0x2f,                             /* fldcw (%rdi) */
    };
    cpu_reset(MODE_LONG64);
    cpu.st.regs[R_EDI] = DATA;
    wr64(DATA, 0x037b);
    g_assert_cmpint(RUN(late), ==, TCG_OK);
    g_assert_true(tcg_x87_pending_fault(&cpu));
    ASSERT_EXC(RUN(fwait), EXC_MF);
}

/* The last-instruction pointers as the SDM (vol. 1, 8.1.8-8.1.9) has them:
 * FOP, FIP/FCS for every non-control instruction, FDP/FDS for those with
 * a memory operand; control instructions leave them. */
static void test_pointers(void)
{
    static const uint8_t code[] = {
        0xd9, 0xe8,                     /* fld1 */
        0xd8, 0x47, 0x20,               /* fadds 0x20(%rdi) */
        0xd9, 0x7f, 0x30,               /* fnstcw 0x30(%rdi): control */
        0xd9, 0xc9,                     /* fxch: no memory operand */
    };
    uint8_t img[512];

    cpu_reset(MODE_LONG64);
    cpu.st.regs[R_EDI] = DATA;
    cpu.st.seg[S_DS].selector = 0x2b;
    g_assert_cmpint(RUN(code), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.fop, ==, 0x1c9);
    g_assert_cmphex(cpu.st.fpu.fip, ==, CODE + 8);
    g_assert_cmphex(cpu.st.fpu.fdp, ==, DATA + 0x20);
    g_assert_cmphex(cpu.st.fpu.fds, ==, 0x2b);
    g_assert_cmphex(cpu.st.fpu.fcs, ==, cpu.st.seg[S_CS].selector);

    /* FXSAVE64: FOP at 6, 64-bit FIP at 8 and FDP at 16 */
    static const uint8_t fx[] = { 0x48, 0x0f, 0xae, 0x02 };   /* fxsave64 (%rdx) */
    cpu.st.regs[R_EDX] = OUT;
    cpu.st.fpu.fip = 0x123456789abcull;
    g_assert_cmpint(RUN(fx), ==, TCG_OK);
    g_assert_cmpint(ram_read(OUT, img, sizeof(img)), ==, 0);
    g_assert_cmphex(img[6] | img[7] << 8, ==, 0x1c9);
    g_assert_cmphex(*(uint64_t *)(img + 8), ==, 0x123456789abcull);
    g_assert_cmphex(*(uint64_t *)(img + 16), ==, DATA + 0x20);
    /* FXSAVE: 32-bit FIP, FCS, FDP, FDS */
    static const uint8_t fx32[] = { 0x0f, 0xae, 0x02 };
    g_assert_cmpint(RUN(fx32), ==, TCG_OK);
    g_assert_cmpint(ram_read(OUT, img, sizeof(img)), ==, 0);
    g_assert_cmphex(*(uint32_t *)(img + 8), ==, 0x56789abc);
    g_assert_cmphex(*(uint16_t *)(img + 12), ==, cpu.st.seg[S_CS].selector);
    g_assert_cmphex(*(uint32_t *)(img + 16), ==, DATA + 0x20);
    g_assert_cmphex(*(uint16_t *)(img + 20), ==, 0x2b);
}

/* Real-mode environment formats (SDM vol. 1, figures 8-11, 8-12): linear
 * 20/32-bit pointers split around the opcode. */
static void test_env_real(void)
{
    static const uint8_t code[] = {
        0xd9, 0x36, 0x00, 0x02,         /* fnstenv 0x200 */
        0x66, 0xd9, 0x36, 0x40, 0x02,   /* fnstenv (32-bit format) 0x240 */
    };
    static const uint8_t load[] = { 0x66, 0xd9, 0x26, 0x40, 0x02 };   /* fldenv 0x240 */
    uint8_t e16[14], e32[28];

    cpu_reset(MODE_REAL16);
    cpu.st.fpu.fcw = 0x037f;
    cpu.st.fpu.fsw = 0x3800 | X87_SW_C1;
    cpu.st.fpu.ftw = 0x80;              /* R7 valid: 1.0 */
    cpu.st.fpu.st[7].mant = 1ull << 63;
    cpu.st.fpu.st[7].exp = 0x3fff;
    cpu.st.fpu.fop = 0x5e8;
    cpu.st.fpu.fcs = 0x1234;
    cpu.st.fpu.fip = 0x5678;            /* linear 0x179b8 */
    cpu.st.fpu.fds = 0xf000;
    cpu.st.fpu.fdp = 0xfff0;            /* linear 0xffff0 */
    g_assert_cmpint(RUN(code), ==, TCG_OK);
    g_assert_cmpint(ram_read(0x200, e16, sizeof(e16)), ==, 0);
    g_assert_cmpint(ram_read(0x240, e32, sizeof(e32)), ==, 0);
    static const uint8_t x16[14] = {
        0x7f, 0x03, 0x00, 0x3a, 0xff, 0x3f, 0xb8, 0x79, 0xe8, 0x15, 0xf0, 0xff, 0x00, 0xf0,
    };
    g_assert_cmpmem(e16, 14, x16, 14);
    g_assert_cmphex(*(uint32_t *)(e32 + 12) & 0xffff, ==, 0x79b8);
    g_assert_cmphex(*(uint32_t *)(e32 + 16), ==, 0x00001000 | 0x5e8);
    g_assert_cmphex(*(uint32_t *)(e32 + 20) & 0xffff, ==, 0xfff0);
    g_assert_cmphex(*(uint32_t *)(e32 + 24), ==, 0x0000f000);
    /* and back: the linear pointers come back as offsets with selector 0 */
    cpu.st.fpu.fip = cpu.st.fpu.fdp = 0;
    cpu.st.fpu.fop = 0;
    g_assert_cmpint(RUN(load), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.fip, ==, 0x179b8);
    g_assert_cmphex(cpu.st.fpu.fdp, ==, 0xffff0);
    g_assert_cmphex(cpu.st.fpu.fop, ==, 0x5e8);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0x80);
}

/* The faults of the save/restore family. */
static void test_fpstate_faults(void)
{
    static const uint8_t fxsave_mis[] = { 0x0f, 0xae, 0x47, 0x08 };   /* fxsave 8(%rdi) */
    static const uint8_t fxsave_ok[] = { 0x0f, 0xae, 0x07 };          /* fxsave (%rdi) */
    static const uint8_t fxrstor_ok[] = { 0x0f, 0xae, 0x0f };         /* fxrstor (%rdi) */
    static const uint8_t xsave_mis[] = { 0x0f, 0xae, 0x67, 0x20 };    /* xsave 0x20(%rdi) */
    static const uint8_t xsave_ok[] = { 0x0f, 0xae, 0x27 };           /* xsave (%rdi) */
    static const uint8_t xrstor_ok[] = { 0x0f, 0xae, 0x2f };          /* xrstor (%rdi) */
    uint8_t img[576];

    cpu_reset(MODE_LONG64);
    cpu.st.regs[R_EDI] = DATA;
    ASSERT_EXC(RUN(fxsave_mis), EXC_GP);
    cpu.st.cr0 |= CR0_TS;
    ASSERT_EXC(RUN(fxsave_ok), EXC_NM);
    cpu.st.cr0 = (cpu.st.cr0 & ~CR0_TS) | CR0_EM;
    ASSERT_EXC(RUN(fxsave_ok), EXC_UD);
    cpu.st.cr0 &= ~CR0_EM;

    /* FXRSTOR: reserved MXCSR bits */
    memset(img, 0, sizeof(img));
    memcpy(img + 24, (uint32_t[]){ 0x10000 }, 4);
    g_assert_cmpint(ram_write(DATA, img, 512), ==, 0);
    ASSERT_EXC(RUN(fxrstor_ok), EXC_GP);

    /* OSFXSR clear: XMM and MXCSR neither saved nor restored */
    cpu.st.cr4 &= ~CR4_OSFXSR;
    cpu.st.fpu.xmm[0].lo = 0x1122334455667788ull;
    memset(img, 0xcc, sizeof(img));
    g_assert_cmpint(ram_write(DATA, img, 512), ==, 0);
    g_assert_cmpint(RUN(fxsave_ok), ==, TCG_OK);
    g_assert_cmpint(ram_read(DATA, img, 512), ==, 0);
    g_assert_cmphex(img[160], ==, 0xcc);
    g_assert_cmphex(img[24], ==, 0xcc);
    g_assert_cmphex(img[0], ==, 0x7f);
    g_assert_cmpint(RUN(fxrstor_ok), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0x1122334455667788ull);
    g_assert_cmphex(cpu.st.fpu.mxcsr, ==, 0x1f80);
    cpu.st.cr4 |= CR4_OSFXSR;

    /* XSAVE family: OSXSAVE, TS, 64-byte alignment */
    cpu.st.regs[R_EAX] = 3;
    cpu.st.regs[R_EDX] = 0;
    ASSERT_EXC(RUN(xsave_mis), EXC_GP);
    cpu.st.cr4 &= ~CR4_OSXSAVE;
    ASSERT_EXC(RUN(xsave_ok), EXC_UD);
    cpu.st.cr4 |= CR4_OSXSAVE;
    cpu.st.cr0 |= CR0_TS;
    ASSERT_EXC(RUN(xsave_ok), EXC_NM);
    cpu.st.cr0 &= ~CR0_TS;

    /* XSAVE with XCR0 = x87 only: SSE not saved, XSTATE_BV = 1 */
    cpu.xcr0 = 1;
    memset(img, 0xcc, sizeof(img));
    memset(img + 512, 0, 64);
    g_assert_cmpint(ram_write(DATA, img, sizeof(img)), ==, 0);
    g_assert_cmpint(RUN(xsave_ok), ==, TCG_OK);
    g_assert_cmpint(ram_read(DATA, img, sizeof(img)), ==, 0);
    g_assert_cmphex(img[512], ==, 1);
    g_assert_cmphex(img[24], ==, 0xcc);
    g_assert_cmphex(img[160], ==, 0xcc);
    g_assert_cmphex(img[0], ==, 0x7f);
    cpu.xcr0 = 3;

    /* XRSTOR: header checks */
    memset(img, 0, sizeof(img));
    memcpy(img + 24, (uint32_t[]){ 0x1f80 }, 4);
    img[512] = 3;
    img[520] = 1;                               /* XCOMP_BV != 0 */
    g_assert_cmpint(ram_write(DATA, img, sizeof(img)), ==, 0);
    ASSERT_EXC(RUN(xrstor_ok), EXC_GP);
    img[520] = 0;
    img[530] = 1;                               /* header bytes 16..23 */
    g_assert_cmpint(ram_write(DATA, img, sizeof(img)), ==, 0);
    ASSERT_EXC(RUN(xrstor_ok), EXC_GP);
    img[530] = 0;
    img[512] = 4;                               /* AVX state not in XCR0 */
    g_assert_cmpint(ram_write(DATA, img, sizeof(img)), ==, 0);
    ASSERT_EXC(RUN(xrstor_ok), EXC_GP);
    img[512] = 3;
    memcpy(img + 24, (uint32_t[]){ 0x20000 }, 4);
    g_assert_cmpint(ram_write(DATA, img, sizeof(img)), ==, 0);
    ASSERT_EXC(RUN(xrstor_ok), EXC_GP);         /* reserved MXCSR bits */

    /* XSTATE_BV = 0: both components to their init state, MXCSR from
     * memory (SDM vol. 1, 13.8.1) */
    img[512] = 0;
    memcpy(img + 24, (uint32_t[]){ 0x1f00 }, 4);
    g_assert_cmpint(ram_write(DATA, img, sizeof(img)), ==, 0);
    cpu.st.fpu.fcw = 0x0360;
    cpu.st.fpu.ftw = 0xff;
    cpu.st.fpu.st[3].exp = 0x4000;
    g_assert_cmpint(RUN(xrstor_ok), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.fcw, ==, 0x037f);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0);
    g_assert_cmphex(cpu.st.fpu.st[3].exp, ==, 0);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0);
    g_assert_cmphex(cpu.st.fpu.mxcsr, ==, 0x1f00);
}

/* A faulting memory access leaves the FPU as it was (the instruction is
 * restarted after #PF). */
static void test_fault_atomic(void)
{
    static const uint8_t fstp[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0xdd, 0x18 };  /* fstpl */
    static const uint8_t fld[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0xdd, 0x00 };   /* fldl */
    static const uint8_t fbstp[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0xdf, 0x30 };
    static const uint8_t fistp[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0xdf, 0x38 };
    static const uint8_t fnsave[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0xdd, 0x30 };
    static const uint8_t frstor[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0xdd, 0x20 };
    static const uint8_t fxrstor[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0x0f, 0xae, 0x08 };
    static const uint8_t *const codes[] = { fstp, fld, fbstp, fistp, fnsave, frstor, fxrstor };
    static const size_t lens[] = { sizeof(fstp), sizeof(fld), sizeof(fbstp), sizeof(fistp),
                                   sizeof(fnsave), sizeof(frstor), sizeof(fxrstor) };

    for (unsigned i = 0; i < G_N_ELEMENTS(codes); i++) {
        struct x86_fpu_state before;

        cpu_reset(MODE_LONG64);
        cpu.st.fpu.fcw = 0x0b72;
        cpu.st.fpu.fsw = 0x3000 | X87_SW_C3;
        cpu.st.fpu.ftw = 0xff;
        for (unsigned p = 0; p < 8; p++) {
            cpu.st.fpu.st[p].mant = (1ull << 63) | p;
            cpu.st.fpu.st[p].exp = (uint16_t)(0x3fff + p);
        }
        before = cpu.st.fpu;
        load(codes[i], lens[i]);
        ASSERT_EXC(run_to(CODE + lens[i], 10), EXC_PF);
        /* FXRSTOR checks the last byte of its area first (measured on AMD
         * Zen 4), the others fault on their first byte */
        g_assert_cmphex(cpu.exc.cr2, ==, codes[i] == fxrstor ? 0x2001ff : 0x200000);
        g_assert_cmphex(cpu.st.rip, ==, CODE + 5);
        g_assert_cmpmem(&cpu.st.fpu, sizeof(before), &before, sizeof(before));
    }
}

/* Outside 64-bit mode FXSAVE/FXRSTOR cover XMM0-7 only; FNSTENV's
 * protected-mode format holds 32-bit offsets and selectors. */
static void test_prot32(void)
{
    /* fxsave (%edi); fxrstor (%edi) */
    static const uint8_t fx[] = { 0x0f, 0xae, 0x07, 0x0f, 0xae, 0x0f };
    /* fld1; fnstenv 0x20(%edi) */
    static const uint8_t env[] = { 0xd9, 0xe8, 0xd9, 0x77, 0x20 };
    uint8_t img[512];
    uint32_t e[7];

    cpu_reset(MODE_PROT32);
    cpu.st.regs[R_EDI] = DATA;
    memset(img, 0xcc, sizeof(img));
    g_assert_cmpint(ram_write(DATA, img, sizeof(img)), ==, 0);
    cpu.st.fpu.xmm[7].hi = 0x7777;
    cpu.st.fpu.xmm[8].lo = 0x8888;
    g_assert_cmpint(RUN(fx), ==, TCG_OK);
    g_assert_cmpint(ram_read(DATA, img, sizeof(img)), ==, 0);
    g_assert_cmphex(*(uint64_t *)(img + 160 + 7 * 16 + 8), ==, 0x7777);
    g_assert_cmphex(img[288], ==, 0xcc);
    g_assert_cmphex(cpu.st.fpu.xmm[8].lo, ==, 0x8888);

    cpu.st.seg[S_DS].selector = 0x18;
    g_assert_cmpint(RUN(env), ==, TCG_OK);
    g_assert_cmpint(ram_read(DATA + 0x20, e, sizeof(e)), ==, 0);
    g_assert_cmphex(e[0], ==, 0xffff037f);
    g_assert_cmphex(e[1], ==, 0xffff3800);
    g_assert_cmphex(e[2], ==, 0xffff3fff);         /* R7 valid: tag 00 */
    g_assert_cmphex(e[3], ==, CODE);               /* FIP: the fld1 */
    g_assert_cmphex(e[4], ==, (0x1e8u << 16) | cpu.st.seg[S_CS].selector);
    g_assert_cmphex(e[5], ==, 0);                  /* no memory operand yet */
    /* after FNSTENV all exceptions are masked */
    g_assert_cmphex(cpu.st.fpu.fcw, ==, 0x037f);
}

/* ---- rules measured on the AMD Zen 4 host (mismatches of the tester) ---- */

/* A full stack, R(p) = 2^p, TOP = 6, with the given words. */
static void fpu_fill(uint16_t cw, uint16_t sw, uint8_t ftw)
{
    cpu.st.fpu.fcw = cw;
    cpu.st.fpu.fsw = (uint16_t)(sw | 6u << X87_SW_TOP_SHIFT);
    cpu.st.fpu.ftw = ftw;
    for (unsigned p = 0; p < 8; p++) {
        cpu.st.fpu.st[p].mant = 1ull << 63;
        cpu.st.fpu.st[p].exp = (uint16_t)(0x3fff + p);
    }
}

/*
 * C1 (exec-x87.c, c1_rule): FCOMI/FCOMIP/FUCOMI/FUCOMIP and FCMOVcc keep
 * it but for a stack fault, FNOP keeps it, FFREE/FFREEP clear it.  Checked
 * as rules, then against the host when it is not Intel's (the SDM has the
 * FCOMI family clear C1, which the software CPU does on an Intel host).
 */
static void test_c1_rules(void)
{
    enum { KEEP, KEEP_SF, CLEAR };
    static const struct { uint8_t op[2]; bool comi; int rule; } forms[] = {
        { { 0xdb, 0xf1 }, true, KEEP_SF },      /* fcomi st, st(1) */
        { { 0xdb, 0xe9 }, true, KEEP_SF },      /* fucomi st, st(1) */
        { { 0xdf, 0xf1 }, true, KEEP_SF },      /* fcomip st, st(1) */
        { { 0xdf, 0xe9 }, true, KEEP_SF },      /* fucomip st, st(1) */
        { { 0xda, 0xc1 }, false, KEEP_SF },     /* fcmovb */
        { { 0xda, 0xc9 }, false, KEEP_SF },     /* fcmove */
        { { 0xda, 0xd1 }, false, KEEP_SF },     /* fcmovbe */
        { { 0xda, 0xd9 }, false, KEEP_SF },     /* fcmovu */
        { { 0xdb, 0xc1 }, false, KEEP_SF },     /* fcmovnb */
        { { 0xdb, 0xc9 }, false, KEEP_SF },     /* fcmovne */
        { { 0xdb, 0xd1 }, false, KEEP_SF },     /* fcmovnbe */
        { { 0xdb, 0xd9 }, false, KEEP_SF },     /* fcmovnu */
        { { 0xd9, 0xd0 }, false, KEEP },        /* fnop */
        { { 0xdd, 0xc1 }, false, CLEAR },       /* ffree st(1) */
        { { 0xdf, 0xc1 }, false, CLEAR },       /* ffreep st(1) */
    };
    /* R7 = ST(1) empty: a stack fault for the two-operand forms */
    static const uint8_t ftws[] = { 0xff, 0x7f };
    static const uint16_t cws2[] = { 0x037f, 0x037e };
    bool intel = tcg_host_is_intel();
    struct dstate s;

    for (unsigned f = 0; f < G_N_ELEMENTS(forms); f++) {
        for (unsigned k = 0; k < 8; k++) {
            uint16_t c1 = (k & 1) ? X87_SW_C1 : 0, want;
            bool fault = ftws[(k >> 1) & 1] != 0xff && forms[f].rule == KEEP_SF;

            cpu_reset(MODE_LONG64);
            fpu_fill(cws2[(k >> 2) & 1], c1, ftws[(k >> 1) & 1]);
            cpu.st.rflags = 0x2 | ((k & 2) ? RFLAGS_CF | RFLAGS_ZF : 0);
            g_assert_cmpint(run_code(forms[f].op, 2), ==, TCG_OK);
            want = forms[f].rule == CLEAR ? 0 : forms[f].rule == KEEP ? c1 :
                   fault || (forms[f].comi && intel) ? 0 : c1;
            g_assert_cmphex(cpu.st.fpu.fsw & X87_SW_C1, ==, want);
            g_assert_cmphex(cpu.st.fpu.fsw & X87_SW_SF, ==, fault ? X87_SW_SF : 0);
        }
    }
    /* a NaN operand (IE, no stack fault) keeps C1 in FCOMI and FCMOV */
    for (unsigned f = 0; f < 12; f++) {
        cpu_reset(MODE_LONG64);
        fpu_fill(0x037e, X87_SW_C1, 0xff);
        cpu.st.fpu.st[7].mant = 0xa000000000000000ull;      /* ST(1) = SNaN */
        cpu.st.fpu.st[7].exp = 0x7fff;
        g_assert_cmpint(run_code(forms[f].op, 2), ==, TCG_OK);
        g_assert_cmphex(cpu.st.fpu.fsw & X87_SW_C1, ==, forms[f].comi && intel ? 0 : X87_SW_C1);
    }

    if (!host_exec_ok() || intel) {
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    for (unsigned f = 0; f < G_N_ELEMENTS(forms); f++) {
        insn_failures = 0;
        for (unsigned k = 0; k < 4 * NVAL; k++) {
            base_state(&s, k, k / 3 + f, k + f);
            s.cc |= (k & 1) ? X87_SW_C1 : 0;
            s.valid = (k & 6) == 6 ? 1 : 0xff;
            diff_run(forms[f].op, 2, &s);
        }
    }
    g_assert_cmpuint(failures, ==, 0);
}

/* Runs mov imm64, %rax; then insn (ModRM (%rax)) from the current state;
 * the status of the insn. */
static enum tcg_status run_at(uint64_t addr, const uint8_t *insn, size_t ilen)
{
    uint8_t code[32] = { 0x48, 0xb8 };

    memcpy(code + 2, &addr, 8);
    memcpy(code + 10, insn, ilen);
    load(code, 10 + ilen);
    return run_to(CODE + 10 + ilen, 10);
}

/*
 * A store that an unmasked exception (IE, a stack fault, OE or UE) stops
 * still checks its destination first: an unmapped page is #PF (with W in
 * the error code), a non-canonical address #GP, and FSW and the stack stay
 * as they were (measured on AMD Zen 4).  With a good destination the
 * exception is only recorded and nothing is written.
 */
static void test_suppressed_store(void)
{
    static const struct { uint8_t op[2]; bool plain; } forms[] = {
        { { 0xdf, 0x10 }, false },      /* fist m16 */
        { { 0xdf, 0x18 }, false },      /* fistp m16 */
        { { 0xdb, 0x10 }, false },      /* fist m32 */
        { { 0xdb, 0x18 }, false },      /* fistp m32 */
        { { 0xdf, 0x38 }, false },      /* fistp m64 */
        { { 0xdf, 0x08 }, false },      /* fisttp m16 */
        { { 0xdb, 0x08 }, false },      /* fisttp m32 */
        { { 0xdd, 0x08 }, false },      /* fisttp m64 */
        { { 0xdf, 0x30 }, false },      /* fbstp m80 */
        { { 0xd9, 0x10 }, false },      /* fst m32 */
        { { 0xd9, 0x18 }, false },      /* fstp m32 */
        { { 0xdd, 0x10 }, false },      /* fst m64 */
        { { 0xdd, 0x18 }, false },      /* fstp m64 */
        { { 0xdb, 0x38 }, true },       /* fstp m80: only a stack fault stops it */
    };
    /* ST(0): SNaN (IE), empty (stack fault, IE), 2^+16000 with OE unmasked,
     * 2^-16000 with UE unmasked (the last two for FST m32/m64 only) */
    static const struct { uint16_t cw, exp; uint8_t ftw; uint16_t flag; } cases[] = {
        { 0x037e, 0x7fff, 0xff, X87_SW_IE },
        { 0x037e, 0x3fff, 0xbf, X87_SW_IE | X87_SW_SF },
        { 0x0377, 0x7e7f, 0xff, X87_SW_OE },
        { 0x036f, 0x017f, 0xff, X87_SW_UE },
    };
    static const uint64_t bad[] = { 0x200000, 0x8000000000000000ull };

    for (unsigned f = 0; f < G_N_ELEMENTS(forms); f++) {
        for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
            struct x86_fpu_state before;
            uint8_t mem[16];

            if ((forms[f].plain && c != 1) || (c >= 2 && forms[f].op[0] != 0xd9 &&
                                              (forms[f].op[0] != 0xdd || forms[f].op[1] < 0x10))) {
                continue;
            }
            for (unsigned b = 0; b < 3; b++) {
                cpu_reset(MODE_LONG64);
                fpu_fill(cases[c].cw, X87_SW_C1, cases[c].ftw);
                cpu.st.fpu.st[6].exp = cases[c].exp;   /* ST(0) = R6 */
                cpu.st.fpu.st[6].mant = cases[c].exp == 0x7fff ? 0xa000000000000000ull
                                                               : 1ull << 63;
                before = cpu.st.fpu;
                memset(ram(DATA), 0x5a, 16);
                if (b < 2) {
                    enum tcg_status st = run_at(bad[b], forms[f].op, 2);

                    ASSERT_EXC(st, b == 0 ? EXC_PF : EXC_GP);
                    if (b == 0) {
                        g_assert_cmphex(cpu.exc.cr2, ==, bad[0]);
                        g_assert_cmphex(cpu.exc.error_code & 2, ==, 2);    /* a write */
                    }
                    g_assert_cmpmem(&cpu.st.fpu, sizeof(before), &before, sizeof(before));
                    continue;
                }
                g_assert_cmpint(run_at(DATA, forms[f].op, 2), ==, TCG_OK);
                memcpy(mem, ram(DATA), 16);
                for (unsigned i = 0; i < 16; i++) {
                    g_assert_cmphex(mem[i], ==, 0x5a);
                }
                g_assert_cmphex(cpu.st.fpu.fsw & cases[c].flag, ==, cases[c].flag);
                g_assert_cmphex(cpu.st.fpu.fsw & X87_SW_ES, ==, X87_SW_ES);
                g_assert_cmphex(cpu.st.fpu.fsw & X87_SW_TOP, ==, 6u << X87_SW_TOP_SHIFT);
                g_assert_cmphex(cpu.st.fpu.ftw, ==, cases[c].ftw);
            }
        }
    }
}

/* The state of the FPU is still what it was (a faulting image access). */
#define ASSERT_FPU_SAME(b) g_assert_cmpmem(&cpu.st.fpu, sizeof(b), &(b), sizeof(b))

/* True if the n bytes at gpa are all v. */
static bool ram_all(uint64_t gpa, unsigned n, uint8_t v)
{
    const uint8_t *p = ram(gpa);

    for (unsigned i = 0; i < n; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

/*
 * The images of FNSTENV/FNSAVE/FLDENV/FRSTOR (first field, then last byte)
 * and FXSAVE/FXRSTOR (whole area's segment and canonical checks,
 * alignment, then the last byte's page, then the first's) as measured on
 * AMD Zen 4: the fault comes before any byte moves, so nothing is stored
 * and the FPU keeps its state.  In 64-bit mode here only the first 2 MiB
 * are mapped.
 */
static void test_image_faults(void)
{
    static const uint8_t fnsave[] = { 0xdd, 0x30 }, fnstenv[] = { 0xd9, 0x30 };
    static const uint8_t frstor[] = { 0xdd, 0x20 }, fldenv[] = { 0xd9, 0x20 };
    static const uint8_t fnstenv16[] = { 0x66, 0xd9, 0x30 }, fldenv16[] = { 0x66, 0xd9, 0x20 };
    static const uint8_t fxsave[] = { 0x0f, 0xae, 0x00 }, fxrstor[] = { 0x0f, 0xae, 0x08 };
    static const uint8_t fldt[] = { 0xdb, 0x28 }, fstpt[] = { 0xdb, 0x38 };
    static const uint8_t fbld[] = { 0xdf, 0x20 }, fbstp[] = { 0xdf, 0x30 };
    static const struct {
        const uint8_t *op;
        size_t len;
        uint64_t addr;
        uint8_t vec;
        uint64_t cr2;
    } cases[] = {
        /* the last byte is checked after the first field: its cr2 */
        { fnsave, 2, 0x1ffff0, EXC_PF, 0x20005b },
        { fnstenv, 2, 0x1ffffc, EXC_PF, 0x200017 },
        { frstor, 2, 0x1ffff0, EXC_PF, 0x20005b },
        { fldenv, 2, 0x1ffffc, EXC_PF, 0x200017 },
        /* the canonical boundary: the first field's page faults first,
         * unless the field itself crosses (4 bytes in the 32-bit format) */
        { fnsave, 2, 0x7ffffffffff0ull, EXC_PF, 0x7ffffffffff0ull },
        { frstor, 2, 0x7ffffffffffcull, EXC_PF, 0x7ffffffffffcull },
        { fldenv, 2, 0x7ffffffffffcull, EXC_PF, 0x7ffffffffffcull },
        { fldenv16, 3, 0x7ffffffffffeull, EXC_PF, 0x7ffffffffffeull },
        { fnstenv16, 3, 0x7ffffffffffeull, EXC_PF, 0x7ffffffffffeull },
        { fnstenv, 2, 0x7ffffffffffeull, EXC_GP, 0 },
        { fldenv16, 3, 0x7fffffffffffull, EXC_GP, 0 },
        /* FXSAVE/FXRSTOR: the reserved tail counts; the last byte first */
        { fxsave, 3, 0x1ffe40, EXC_PF, 0x20003f },
        { fxrstor, 3, 0x1ffe40, EXC_PF, 0x20003f },
        { fxsave, 3, 0x200fc0, EXC_PF, 0x2011bf },
        { fxsave, 3, 0x7ffffffffff0ull, EXC_GP, 0 },
        { fxrstor, 3, 0x7ffffffffff0ull, EXC_GP, 0 },
        /* m80: the first 8 bytes, then the whole 10 */
        { fldt, 2, 0x7ffffffffff8ull, EXC_PF, 0x7ffffffffff8ull },
        { fbld, 2, 0x7ffffffffff8ull, EXC_PF, 0x7ffffffffff8ull },
        { fstpt, 2, 0x7ffffffffff8ull, EXC_PF, 0x7ffffffffff8ull },
        { fbstp, 2, 0x7ffffffffff8ull, EXC_PF, 0x7ffffffffff8ull },
        { fldt, 2, 0x7ffffffffffaull, EXC_GP, 0 },
        { fstpt, 2, 0x7ffffffffffaull, EXC_GP, 0 },
        { fstpt, 2, 0x1ffff8, EXC_PF, 0x200000 },
        { fbstp, 2, 0x1ffffe, EXC_PF, 0x200000 },
    };
    /* movabs $0x8000000000000008, %rsp; fxsave (%rsp) */
    static const uint8_t fxsave_ss[] = { 0x48, 0xbc, 0x08, 0, 0, 0, 0, 0, 0, 0x80,
                                         0x0f, 0xae, 0x04, 0x24 };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct x86_fpu_state before;

        cpu_reset(MODE_LONG64);
        fpu_fill(0x0362, X87_SW_C3, 0xff);
        before = cpu.st.fpu;
        memset(ram(0x1ff000), 0x5a, 0x1000);
        ASSERT_EXC(run_at(cases[i].addr, cases[i].op, cases[i].len), cases[i].vec);
        if (cases[i].vec == EXC_PF) {
            g_assert_cmphex(cpu.exc.cr2, ==, cases[i].cr2);
        }
        g_assert_true(ram_all(0x1ff000, 0x1000, 0x5a));
        ASSERT_FPU_SAME(before);
    }
    /* FXSAVE with an rSP base: the first 4 bytes' canonical check, then
     * the alignment, then the whole area's check */
    static const struct { uint64_t rsp; uint8_t vec; } ss_cases[] = {
        { 0x8000000000000008ull, EXC_SS },      /* misaligned, starts non-canonical */
        { 0x7ffffffffffdull, EXC_SS },          /* misaligned, first 4 bytes cross */
        { 0x7ffffffffffcull, EXC_GP },          /* misaligned, ends non-canonical */
        { 0x7ffffffffff8ull, EXC_GP },
        { 0x7fffffffff08ull, EXC_GP },
        { 0x7ffffffffff0ull, EXC_SS },          /* aligned, ends non-canonical */
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(ss_cases); i++) {
        uint8_t code[sizeof(fxsave_ss)];

        memcpy(code, fxsave_ss, sizeof(code));
        memcpy(code + 2, &ss_cases[i].rsp, 8);
        cpu_reset(MODE_LONG64);
        ASSERT_EXC(RUN(code), ss_cases[i].vec);
    }
}

/* Outside 64-bit mode: an image straddling the segment limit is #GP with
 * nothing stored; the FXSAVE area's offset wraps with 16-bit addressing. */
static void test_image_limit(void)
{
    static const uint8_t fnsave[] = { 0xdd, 0x37 };                 /* fnsave (%edi) */
    static const uint8_t fnstenv[] = { 0xd9, 0x37 };                /* fnstenv (%edi) */
    static const uint8_t fxsave16[] = { 0x67, 0x0f, 0xae, 0x45, 0xc2 };  /* fxsave -0x3e(%di) */
    static const uint8_t fxrstor16[] = { 0x67, 0x0f, 0xae, 0x4d, 0xc2 }; /* fxrstor -0x3e(%di) */
    static const uint8_t fxsave_esp[] = { 0x0f, 0xae, 0x04, 0x24 };      /* fxsave (%esp) */
    struct x86_fpu_state before;

    for (unsigned i = 0; i < 2; i++) {
        cpu_reset(MODE_PROT32);
        fpu_fill(0x0362, X87_SW_C3, 0xff);
        before = cpu.st.fpu;
        cpu.st.seg[S_DS].limit = DATA + 0x3f;
        cpu.st.regs[R_EDI] = DATA + (i ? 0x30 : 0);
        memset(ram(DATA), 0x5a, 0x100);
        ASSERT_EXC(i ? RUN(fnstenv) : RUN(fnsave), EXC_GP);
        g_assert_true(ram_all(DATA, 0x100, 0x5a));
        ASSERT_FPU_SAME(before);
    }

    /* a misaligned area that ends beyond the SS limit: #GP, not #SS */
    cpu_reset(MODE_PROT32);
    cpu.st.seg[S_SS].limit = DATA + 0x1ff;
    cpu.st.regs[R_ESP] = DATA + 8;
    ASSERT_EXC(RUN(fxsave_esp), EXC_GP);
    cpu.st.regs[R_ESP] = DATA + 0x10;
    ASSERT_EXC(RUN(fxsave_esp), EXC_SS);

    /* 16-bit addressing: offsets wrap, within a 64 KiB limit */
    cpu_reset(MODE_PROT32);
    cpu.st.seg[S_DS].limit = 0xffff;
    cpu.st.fpu.xmm[0].lo = 0x1122334455667788ull;
    cpu.st.regs[R_EDI] = 0x1234fffe;            /* DI = FFFEh: the area at FFC0h */
    g_assert_cmpint(RUN(fxsave16), ==, TCG_OK);
    g_assert_cmphex(*ram(0xffc0), ==, 0x7f);    /* FCW */
    /* XMM0 at area offset 160: offset 10060h wraps to 60h */
    g_assert_cmphex(*(uint64_t *)ram(0x60), ==, 0x1122334455667788ull);
    cpu.st.fpu.xmm[0].lo = 0;
    g_assert_cmpint(RUN(fxrstor16), ==, TCG_OK);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0x1122334455667788ull);
}

/* ---- which instructions wait: #MF on the host is SIGFPE ---- */

static sigjmp_buf fpe_jmp;
static unsigned host_mf_count;

static void on_sigfpe(int sig, siginfo_t *si, void *uc)
{
    siglongjmp(fpe_jmp, 1);
}

/* True if the host faulted running code with an exception pending. */
static bool host_faults(const uint8_t *code, size_t len)
{
    struct sigaction sa = { .sa_sigaction = on_sigfpe, .sa_flags = SA_SIGINFO }, old;
    volatile bool faulted = false;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, &old);
    memcpy(xpage, code, len);
    xpage[len] = 0xc3;
    if (sigsetjmp(fpe_jmp, 1) == 0) {
        ((blob_fn)(void *)xpage)(host_data, host_init, host_out);
    } else {
        faulted = true;
    }
    __asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t(*)[512])host_clean));
    sigaction(SIGFPE, &old, NULL);
    return faulted;
}

static void check_waits(const uint8_t *insn, size_t ilen)
{
    uint8_t code[64];
    size_t len = 0;
    struct dstate s;
    enum tcg_status st;

    /* fxrstor64 (%rsi), then the instruction */
    memcpy(code, prologue + 5, 4);
    len = 4;
    memcpy(code + len, insn, ilen);
    len += ilen;
    base_state(&s, 2, 3, 0);
    s.cw = 0x037e;
    s.cc = X87_SW_IE;           /* an unmasked IE pending */
    make_image(host_init, &s);
    make_data(host_data, &s);
    make_out(host_out, &s);
    bool hf = host_faults(code, len);

    host_mf_count += hf;

    make_image(ram(INIT), &s);
    make_data(ram(DATA), &s);
    cpu.st.regs[R_EDI] = DATA;
    cpu.st.regs[R_ESI] = INIT;
    cpu.st.regs[R_EDX] = OUT;
    load(code, len);
    st = run_to(CODE + len, 10);
    bool gf = st == TCG_EXCEPTION && cpu.exc.vector == EXC_MF && cpu.st.rip == CODE + 4;
    g_assert_true(gf || st == TCG_OK);
    if (hf != gf) {
        char b[64];

        failures++;
        g_printerr("WAIT MISMATCH %s: host %s, guest %s\n", hexdump(insn, (unsigned)ilen, b),
                   hf ? "#MF" : "runs", gf ? "#MF" : "runs");
    }
}

/* Every x87 form but FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE (and
 * the FNENI/FNDISI/FNSETPM no-ops) delivers a pending exception first
 * (SDM vol. 1, 8.6); so does FWAIT. */
static void test_waiting(void)
{
    static const uint8_t ctl[][2] = {
        { 0xd9, 4 }, { 0xd9, 5 }, { 0xd9, 6 }, { 0xd9, 7 }, { 0xdd, 4 }, { 0xdd, 6 },
        { 0xdd, 7 },
    };
    static const uint8_t fwait[] = { 0x9b };

    if (!host_exec_ok()) {
        g_test_skip("no executable page on the host");
        return;
    }
    cpu_reset(MODE_LONG64);
    failures = 0;
    for (unsigned o = 0; o < G_N_ELEMENTS(reg_ops); o++) {
        check_waits(reg_ops[o], 2);
    }
    for (unsigned o = 0; o < G_N_ELEMENTS(mem_ops); o++) {
        uint8_t insn[3] = { mem_ops[o][0], (uint8_t)(0x47 | mem_ops[o][1] << 3), MEM_OFF };

        check_waits(insn, 3);
    }
    for (unsigned o = 0; o < G_N_ELEMENTS(ctl); o++) {
        uint8_t insn[3] = { ctl[o][0], (uint8_t)(0x47 | ctl[o][1] << 3), MEM_OFF };

        check_waits(insn, 3);
    }
    check_waits(fwait, 1);
    g_assert_cmpuint(failures, ==, 0);
    /* not vacuous: all but the 11 no-wait forms in the lists fault */
    g_assert_cmpuint(host_mf_count, ==, G_N_ELEMENTS(reg_ops) + G_N_ELEMENTS(mem_ops) +
                     G_N_ELEMENTS(ctl) + 1 - 11);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, NULL), ==, 0);
    __asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[512])host_clean));

    g_test_add_func("/tcg-x87/reg-forms", test_reg_forms);
    g_test_add_func("/tcg-x87/mem-forms", test_mem_forms);
    g_test_add_func("/tcg-x87/random", test_random);
    g_test_add_func("/tcg-x87/fnstenv", test_fnstenv);
    g_test_add_func("/tcg-x87/fldenv", test_fldenv);
    g_test_add_func("/tcg-x87/fnsave-frstor", test_fnsave_frstor);
    g_test_add_func("/tcg-x87/fxsave-fxrstor", test_fxsave_fxrstor);
    g_test_add_func("/tcg-x87/xsave-xrstor", test_xsave_xrstor);
    g_test_add_func("/tcg-x87/mxcsr", test_mxcsr);
    g_test_add_func("/tcg-x87/waiting", test_waiting);
    g_test_add_func("/tcg-x87/nm", test_nm);
    g_test_add_func("/tcg-x87/mf", test_mf);
    g_test_add_func("/tcg-x87/pointers", test_pointers);
    g_test_add_func("/tcg-x87/env-real", test_env_real);
    g_test_add_func("/tcg-x87/fpstate-faults", test_fpstate_faults);
    g_test_add_func("/tcg-x87/fault-atomic", test_fault_atomic);
    g_test_add_func("/tcg-x87/prot32", test_prot32);
    g_test_add_func("/tcg-x87/c1-rules", test_c1_rules);
    g_test_add_func("/tcg-x87/suppressed-store", test_suppressed_store);
    g_test_add_func("/tcg-x87/image-faults", test_image_faults);
    g_test_add_func("/tcg-x87/image-limit", test_image_limit);
    return g_test_run();
}
