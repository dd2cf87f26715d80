/*
 * Saving and restoring the x87/SSE state: FXSAVE, FXRSTOR, XSAVE, XRSTOR,
 * XSAVEOPT, LDMXCSR, STMXCSR (SDM vol. 1, 10.5 and chapter 13; vol. 2, the
 * instructions' entries).
 *
 * FXSAVE area (SDM vol. 2, FXSAVE, tables 3-43 to 3-47): FCW, FSW, the
 * abridged tag word, FOP, FIP/FCS and FDP/FDS (64-bit offsets without
 * selectors in the REX.W form), MXCSR and MXCSR_MASK, ST(0)..ST(7) in
 * 16-byte slots, XMM0-7 (XMM0-15 in 64-bit mode).  Bytes 416-511 are not
 * written, but they are checked as part of the area.  With CR4.OSFXSR
 * clear MXCSR, MXCSR_MASK and the XMM registers are neither saved nor
 * restored (the SDM leaves this to the implementation).
 *
 * XSAVE family: state components x87 (bit 0) and SSE (bit 1) in the
 * standard (non-compacted) format; XSAVEC/XSAVES and the compacted form
 * are not implemented (XRSTOR of one is #GP).  AVX state is not: with XCR0
 * bit 2 set (exec-system.c's XSETBV accepts it) MXCSR goes with it, as the
 * SDM says, and XSTATE_BV[2] stays 0, which is exact while no VEX
 * instruction can leave the upper YMM halves outside their init state.
 * XSAVEOPT saves like XSAVE, as the SDM allows (no modified or init
 * optimisation); XSTATE_BV gets a 1 for every requested x87/SSE component.
 *
 * Threads: runs on the vCPU thread that owns cpu.
 */
#include <string.h>

#include "accel/tcg/sse.h"
#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/x87.h"

#define FX_SIZE 512
#define XSAVE_SIZE 576          /* legacy region + header: x87 and SSE only */
#define XSTATE_X87 1ull
#define XSTATE_SSE 2ull
#define XSTATE_YMM 4ull

static void put16(uint8_t *b, unsigned off, uint32_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, unsigned off, uint32_t v)
{
    put16(b, off, v);
    put16(b, off + 2, v >> 16);
}

static void put64(uint8_t *b, unsigned off, uint64_t v)
{
    put32(b, off, (uint32_t)v);
    put32(b, off + 4, (uint32_t)(v >> 32));
}

static uint32_t get16(const uint8_t *b, unsigned off)
{
    return b[off] | (uint32_t)b[off + 1] << 8;
}

static uint32_t get32(const uint8_t *b, unsigned off)
{
    return get16(b, off) | get16(b, off + 2) << 16;
}

static uint64_t get64(const uint8_t *b, unsigned off)
{
    return get32(b, off) | (uint64_t)get32(b, off + 4) << 32;
}

/* XMM registers in the image: 16 in 64-bit mode, else 8. */
static unsigned nxmm(const struct tcg_cpu *cpu)
{
    return cpu->mode == MODE_LONG64 ? 16 : 8;
}

/* Physical x87 register of ST(j). */
static unsigned phys_of(const struct tcg_cpu *cpu, unsigned j)
{
    return (((cpu->st.fpu.fsw >> X87_SW_TOP_SHIFT) & 7) + j) & 7;
}

/* ---- the image ---- */

/* x87 part: bytes 0..23 and 32..159. */
static void img_x87_store(const struct tcg_cpu *cpu, uint8_t *b, bool w64)
{
    const struct x86_fpu_state *f = &cpu->st.fpu;

    put16(b, 0, f->fcw);
    put16(b, 2, f->fsw);
    b[4] = f->ftw;
    b[5] = 0;
    put16(b, 6, f->fop & 0x7ff);
    if (w64) {
        put64(b, 8, f->fip);
        put64(b, 16, f->fdp);
    } else {
        put32(b, 8, (uint32_t)f->fip);
        put32(b, 12, f->fcs);
        put32(b, 16, (uint32_t)f->fdp);
        put32(b, 20, f->fds);
    }
    for (unsigned j = 0; j < 8; j++) {
        unsigned p = phys_of(cpu, j);

        memset(b + 32 + 16 * j, 0, 16);
        put64(b, 32 + 16 * j, f->st[p].mant);
        put16(b, 40 + 16 * j, f->st[p].exp);
    }
}

static void img_x87_load(struct tcg_cpu *cpu, const uint8_t *b, bool w64)
{
    struct x86_fpu_state *f = &cpu->st.fpu;

    f->fcw = tcg_x87_fcw(get16(b, 0));
    f->fsw = (uint16_t)get16(b, 2);
    f->ftw = b[4];
    f->fop = (uint16_t)(get16(b, 6) & 0x7ff);
    if (w64) {
        f->fip = get64(b, 8);
        f->fdp = get64(b, 16);
        f->fcs = f->fds = 0;
    } else {
        f->fip = get32(b, 8);
        f->fcs = (uint16_t)get16(b, 12);
        f->fdp = get32(b, 16);
        f->fds = (uint16_t)get16(b, 20);
    }
    for (unsigned j = 0; j < 8; j++) {
        unsigned p = phys_of(cpu, j);

        f->st[p].mant = get64(b, 32 + 16 * j);
        f->st[p].exp = (uint16_t)get16(b, 40 + 16 * j);
    }
    /* FXRSTOR does not deliver a pending exception; ES follows the loaded
     * flags and masks (checked on the host). */
    tcg_x87_update_es(cpu);
}

static void img_mxcsr_store(const struct tcg_cpu *cpu, uint8_t *b)
{
    put32(b, 24, cpu->st.fpu.mxcsr);
    put32(b, 28, MXCSR_WRITABLE);
}

static void img_xmm_store(const struct tcg_cpu *cpu, uint8_t *b)
{
    for (unsigned i = 0; i < nxmm(cpu); i++) {
        put64(b, 160 + 16 * i, cpu->st.fpu.xmm[i].lo);
        put64(b, 168 + 16 * i, cpu->st.fpu.xmm[i].hi);
    }
}

static void img_xmm_load(struct tcg_cpu *cpu, const uint8_t *b)
{
    for (unsigned i = 0; i < nxmm(cpu); i++) {
        cpu->st.fpu.xmm[i].lo = get64(b, 160 + 16 * i);
        cpu->st.fpu.xmm[i].hi = get64(b, 168 + 16 * i);
    }
}

/* ---- memory ---- */

/* The memory area of a save/restore instruction: the linear address of
 * its start, and its offset, which wraps at the address size (measured on
 * AMD Zen 4: an FXSAVE area at offset FFC0h with 16-bit addressing goes
 * on at offset 0). */
struct area {
    uint64_t lin, ea, amask;
};

/*
 * The area of the memory operand and its checks before any page is
 * looked at (measured on AMD Zen 4): the segment or canonical check of the
 * first 4 bytes, then the alignment (#GP(0)), then the segment or
 * canonical check of the whole area.  So with an rSP base a misaligned
 * area whose first 4 bytes are below the canonical boundary is #GP(0),
 * one whose first 4 bytes cross it #SS(0).  With 16- or 32-bit addressing
 * the offsets wrap, and the area is checked as the two runs it then is.
 */
static enum tcg_status area_linear(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                   unsigned align, enum tcg_access acc, struct area *a)
{
    unsigned seg = in->mem.seg;
    uint64_t end, lin;
    unsigned run;
    enum tcg_status st;

    a->ea = tcg_ea(cpu, in);
    a->amask = tcg_size_mask(in->addr_size);
    end = a->ea + size - 1;
    if ((st = tcg_linear(cpu, seg, a->ea, 4, acc, &a->lin)) != TCG_OK) {
        return st;
    }
    if (a->lin & (align - 1)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (a->amask == ~0ull || end <= a->amask) {
        return tcg_linear(cpu, seg, a->ea, size, acc, &lin);
    }
    run = (unsigned)(a->amask - a->ea + 1);
    if ((st = tcg_linear(cpu, seg, a->ea, run, acc, &lin)) != TCG_OK) {
        return st;
    }
    return tcg_linear(cpu, seg, 0, size - run, acc, &lin);
}

/* Linear address of byte off of the area; outside 64-bit mode linear
 * addresses wrap at 4 GiB. */
static uint64_t area_at(const struct tcg_cpu *cpu, const struct area *a, unsigned off)
{
    uint64_t lin = a->lin - a->ea + ((a->ea + off) & a->amask);

    return cpu->mode == MODE_LONG64 ? lin : lin & 0xffffffffull;
}

/*
 * FXSAVE and FXRSTOR take all 512 bytes of their area, the reserved tail
 * too, and check its pages before any byte moves: the last byte first,
 * then the first (measured on AMD Zen 4: the #PF of an area whose two
 * pages are both absent reports the last byte; the segment and canonical
 * checks of the whole area come before, in area_linear).  So a store that
 * faults stores nothing.  The check is a read translated as the access
 * would be (a device behind MMIO sees that read).
 */
static enum tcg_status area_pages(struct tcg_cpu *cpu, const struct area *a, unsigned size,
                                  enum tcg_access acc)
{
    uint8_t b;
    enum tcg_status st = tcg_read_lin(cpu, area_at(cpu, a, size - 1), &b, 1, acc);

    return st == TCG_OK ? tcg_read_lin(cpu, a->lin, &b, 1, acc) : st;
}

/* Bytes [from, to) of the image, in pieces of 16 (the area is aligned to
 * 16, so no piece crosses the wrap of the offset). */
static enum tcg_status area_write(struct tcg_cpu *cpu, const struct area *a, const uint8_t *b,
                                  unsigned from, unsigned to)
{
    for (unsigned off = from; off < to; off += 16) {
        unsigned n = to - off < 16 ? to - off : 16;
        enum tcg_status st = tcg_write_lin(cpu, area_at(cpu, a, off), b + off, n);

        if (st != TCG_OK) {
            return st;
        }
    }
    return TCG_OK;
}

static enum tcg_status area_read(struct tcg_cpu *cpu, const struct area *a, uint8_t *b,
                                 unsigned from, unsigned to)
{
    for (unsigned off = from; off < to; off += 16) {
        unsigned n = to - off < 16 ? to - off : 16;
        enum tcg_status st = tcg_read_lin(cpu, area_at(cpu, a, off), b + off, n, ACC_READ);

        if (st != TCG_OK) {
            return st;
        }
    }
    return TCG_OK;
}

static bool rex_w(const struct insn *in)
{
    return (in->rex & 8) != 0;
}

/* ---- FXSAVE / FXRSTOR ---- */

/* CR0.EM: #UD; CR0.TS: #NM (SDM vol. 2, FXSAVE "Protected Mode Exceptions"). */
static enum tcg_status fx_check(struct tcg_cpu *cpu)
{
    if (cpu->st.cr0 & CR0_EM) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->st.cr0 & CR0_TS) {
        return tcg_raise(cpu, EXC_NM);
    }
    return TCG_OK;
}

enum tcg_status exec_fxsave(struct tcg_cpu *cpu, const struct insn *in)
{
    uint8_t b[FX_SIZE];
    enum tcg_status st;
    struct area a;
    bool sse = cpu->st.cr4 & CR4_OSFXSR;

    if ((st = fx_check(cpu)) != TCG_OK ||
        (st = area_linear(cpu, in, FX_SIZE, 16, ACC_WRITE, &a)) != TCG_OK ||
        (st = area_pages(cpu, &a, FX_SIZE, ACC_WRITE)) != TCG_OK) {
        return st;
    }
    memset(b, 0, sizeof(b));
    img_x87_store(cpu, b, rex_w(in));
    if (!sse) {
        st = area_write(cpu, &a, b, 0, 24);
        return st == TCG_OK ? area_write(cpu, &a, b, 32, 160) : st;
    }
    img_mxcsr_store(cpu, b);
    img_xmm_store(cpu, b);
    return area_write(cpu, &a, b, 0, 160 + 16 * nxmm(cpu));
}

enum tcg_status exec_fxrstor(struct tcg_cpu *cpu, const struct insn *in)
{
    uint8_t b[FX_SIZE];
    enum tcg_status st;
    struct area a;
    bool sse = cpu->st.cr4 & CR4_OSFXSR;
    uint32_t mxcsr;

    if ((st = fx_check(cpu)) != TCG_OK ||
        (st = area_linear(cpu, in, FX_SIZE, 16, ACC_READ, &a)) != TCG_OK ||
        (st = area_pages(cpu, &a, FX_SIZE, ACC_READ)) != TCG_OK ||
        (st = area_read(cpu, &a, b, 0, 160 + 16 * nxmm(cpu))) != TCG_OK) {
        return st;
    }
    mxcsr = get32(b, 24);
    if (sse && (mxcsr & ~MXCSR_WRITABLE)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    img_x87_load(cpu, b, rex_w(in));
    if (sse) {
        cpu->st.fpu.mxcsr = mxcsr;
        img_xmm_load(cpu, b);
    }
    return TCG_OK;
}

/* ---- XSAVE family ---- */

/* CR4.OSXSAVE clear: #UD; CR0.TS: #NM (SDM vol. 2, XSAVE). */
static enum tcg_status xsave_check(struct tcg_cpu *cpu)
{
    if (!(cpu->st.cr4 & CR4_OSXSAVE)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->st.cr0 & CR0_TS) {
        return tcg_raise(cpu, EXC_NM);
    }
    return TCG_OK;
}

/* The requested-feature bitmap: EDX:EAX & XCR0 (SDM vol. 1, 13.7). */
static uint64_t rfbm(const struct tcg_cpu *cpu)
{
    uint64_t mask = (cpu->st.regs[R_EAX] & 0xffffffffull) | (cpu->st.regs[R_EDX] << 32);

    return mask & (cpu->xcr0 | XSTATE_X87);
}

enum tcg_status exec_xsave(struct tcg_cpu *cpu, const struct insn *in)
{
    uint8_t b[XSAVE_SIZE];
    enum tcg_status st;
    struct area a;
    uint64_t req = rfbm(cpu), bv;

    if ((st = xsave_check(cpu)) != TCG_OK ||
        (st = area_linear(cpu, in, XSAVE_SIZE, 64, ACC_WRITE, &a)) != TCG_OK ||
        (st = area_read(cpu, &a, b, 512, 520)) != TCG_OK) {
        return st;
    }
    memset(b, 0, 512);
    if (req & XSTATE_X87) {
        img_x87_store(cpu, b, rex_w(in));
        if ((st = area_write(cpu, &a, b, 0, 24)) != TCG_OK ||
            (st = area_write(cpu, &a, b, 32, 160)) != TCG_OK) {
            return st;
        }
    }
    /* MXCSR belongs to SSE state but goes with AVX too (SDM vol. 1, 13.7). */
    if (req & (XSTATE_SSE | XSTATE_YMM)) {
        img_mxcsr_store(cpu, b);
        if ((st = area_write(cpu, &a, b, 24, 32)) != TCG_OK) {
            return st;
        }
    }
    if (req & XSTATE_SSE) {
        img_xmm_store(cpu, b);
        if ((st = area_write(cpu, &a, b, 160, 160 + 16 * nxmm(cpu))) != TCG_OK) {
            return st;
        }
    }
    /* Only XSTATE_BV is written in the header; its bits outside RFBM are
     * kept (SDM vol. 1, 13.7). */
    bv = get64(b, 512);
    bv = (bv & ~req) | (req & (XSTATE_X87 | XSTATE_SSE));
    put64(b, 512, bv);
    return area_write(cpu, &a, b, 512, 520);
}

enum tcg_status exec_xsaveopt(struct tcg_cpu *cpu, const struct insn *in)
{
    return exec_xsave(cpu, in);
}

static void xmm_init(struct tcg_cpu *cpu)
{
    for (unsigned i = 0; i < nxmm(cpu); i++) {
        cpu->st.fpu.xmm[i].lo = cpu->st.fpu.xmm[i].hi = 0;
    }
}

/* The x87 init state (SDM vol. 1, 13.6): FNINIT plus zeroed registers. */
static void x87_init_state(struct tcg_cpu *cpu)
{
    tcg_x87_reset(cpu);
    for (unsigned p = 0; p < 8; p++) {
        cpu->st.fpu.st[p].mant = 0;
        cpu->st.fpu.st[p].exp = 0;
    }
}

enum tcg_status exec_xrstor(struct tcg_cpu *cpu, const struct insn *in)
{
    uint8_t b[XSAVE_SIZE];
    enum tcg_status st;
    struct area a;
    uint64_t req = rfbm(cpu), bv, comp;
    uint32_t mxcsr;

    if ((st = xsave_check(cpu)) != TCG_OK ||
        (st = area_linear(cpu, in, XSAVE_SIZE, 64, ACC_READ, &a)) != TCG_OK ||
        (st = area_read(cpu, &a, b, 0, XSAVE_SIZE)) != TCG_OK) {
        return st;
    }
    bv = get64(b, 512);
    comp = get64(b, 520);
    /* Standard form only: XCOMP_BV and the next 8 header bytes must be 0,
     * XSTATE_BV within XCR0 (SDM vol. 1, 13.8; vol. 2, XRSTOR #GP). */
    if (comp || get64(b, 528) || (bv & ~(cpu->xcr0 | XSTATE_X87))) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    mxcsr = get32(b, 24);
    if ((req & (XSTATE_SSE | XSTATE_YMM)) && (mxcsr & ~MXCSR_WRITABLE)) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    if (req & XSTATE_X87) {
        if (bv & XSTATE_X87) {
            img_x87_load(cpu, b, rex_w(in));
        } else {
            x87_init_state(cpu);
        }
    }
    /* The standard form loads MXCSR whenever SSE or AVX state is
     * requested, whatever XSTATE_BV says (SDM vol. 1, 13.8.1). */
    if (req & (XSTATE_SSE | XSTATE_YMM)) {
        cpu->st.fpu.mxcsr = mxcsr;
    }
    if (req & XSTATE_SSE) {
        if (bv & XSTATE_SSE) {
            img_xmm_load(cpu, b);
        } else {
            xmm_init(cpu);
        }
    }
    return TCG_OK;
}

/* ---- LDMXCSR / STMXCSR ---- */

/* #UD if CR0.EM or CR4.OSFXSR clear, #NM on CR0.TS (SDM vol. 2, LDMXCSR). */
static enum tcg_status mxcsr_check(struct tcg_cpu *cpu)
{
    if ((cpu->st.cr0 & CR0_EM) || !(cpu->st.cr4 & CR4_OSFXSR)) {
        return tcg_raise(cpu, EXC_UD);
    }
    if (cpu->st.cr0 & CR0_TS) {
        return tcg_raise(cpu, EXC_NM);
    }
    return TCG_OK;
}

enum tcg_status exec_ldmxcsr(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = mxcsr_check(cpu);
    uint32_t v;

    if (st != TCG_OK ||
        (st = tcg_mem_read(cpu, in->mem.seg, tcg_ea(cpu, in), &v, 4)) != TCG_OK) {
        return st;
    }
    if (v & ~MXCSR_WRITABLE) {
        return tcg_raise_err(cpu, EXC_GP, 0);
    }
    cpu->st.fpu.mxcsr = v;
    return TCG_OK;
}

enum tcg_status exec_stmxcsr(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st = mxcsr_check(cpu);
    uint32_t v = cpu->st.fpu.mxcsr;

    if (st != TCG_OK) {
        return st;
    }
    return tcg_mem_write(cpu, in->mem.seg, tcg_ea(cpu, in), &v, 4);
}
