/*
 * The software side of the differential tester: one struct tcg_cpu in
 * long mode at CPL 3, like the native child (a Linux user process), with
 * 4-level page tables in guest RAM that map exactly what the child maps:
 * the code page read-only and executable, the data area writable and not
 * executable (XD), nothing else (SDM vol. 3, 4.5).  64-bit cases run with
 * CS.L = 1, 32-bit ones in compatibility mode (CS.L = 0, CS.D = 1), with
 * the selectors Linux uses (0x33, 0x23, 0x2b) so that whatever reads a
 * selector sees the same value.
 *
 * Each case rewrites the instruction bytes (and tells the block cache),
 * refills the data area and loads the registers (and the x87/SSE state,
 * with CR0.MP|NE and CR4.OSFXSR|OSXMMEXCPT set as Linux does), then steps
 * until RIP leaves the bytes: once, once per iteration for a string
 * instruction with a rep prefix, or once per instruction of a short
 * sequence.
 *
 * Threads: guest RAM is process-global (system/memory.h); one struct
 * diff_soft exists at a time, used by the test's thread.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-translate.h"
#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "arch/x86/cpu-models.h"
#include "system/memory.h"
#include "tests/diff/diff.h"

/* Guest-physical layout: the paging structures low, code and data at
 * their own (identity-mapped) addresses. */
#define PT_BASE   0x1000ull
#define PML4      0x1000ull
#define PDPT      0x2000ull
#define PD        0x3000ull
#define PT        0x4000ull
#define LOW_SIZE  0x10000ull

#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_U   (1ull << 2)
#define PTE_XD  (1ull << 63)

/* Linux's 64-bit GDT (16 entries, limit 0x7f), at a supervisor-only page
 * the instruction cannot reach: 1 kernel32 code, 2 kernel code, 3 kernel
 * data, 4 user32 code (0x23), 5 user data (0x2b), 6 user64 code (0x33),
 * 8-9 the TSS, 10-11 the LDT; the TLS and per-CPU slots stay empty (this
 * process has no TLS descriptors; the per-CPU one is never generated).
 * The LDT holds what the native child puts in its own with modify_ldt(2):
 * the 16-bit code and data segments of 16-bit mode cases. */
#define GDT_LIN   (DIFF_CODE + 0x3000)
#define GDT_LIMIT 0x7f
#define LDT_LIN   (GDT_LIN + 0x400)
#define LDT_LIMIT 0xf

/* Linux's user selectors (arch/x86 segment layout): 64-bit code, 32-bit
 * code, data/stack. */
#define SEL_CS64 0x33
#define SEL_CS32 0x23
#define SEL_DS   0x2b

/* Steps allowed for one instruction (a rep string runs one per step). */
#define MAX_STEPS 100000

struct diff_soft {
    struct tcg_cpu cpu;
    struct x86_cpuid_entry cpuid[32];
    struct jit_buf *jb;     /* the translator's buffer, once asked for */
};

/* Set by SIGALRM: tcg_run() gives up on a case that loops (the native child hangs there too). */
static volatile bool run_stop;

static void on_alarm(int sig)
{
    (void)sig;
    run_stop = true;
}

/* CPUID.01H bits of the x87 and vector features (SDM vol. 2A, CPUID):
 * fpu, mmx, fxsr, sse, sse2 in EDX; sse3, pclmulqdq, ssse3, sse4.1,
 * sse4.2 in ECX.  The tester compares what the host runs: the software
 * CPU's own leaves get these on even before tcg-cpuid.c offers them to a
 * model, as the x87/SSE unit tests do. */
#define F1_EDX_FP ((1u << 0) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
#define F1_ECX_FP ((1u << 0) | (1u << 1) | (1u << 9) | (1u << 19) | (1u << 20))

static void setup_cpuid(struct diff_soft *s)
{
    unsigned n = tcg_cpuid_supported(s->cpuid, sizeof(s->cpuid) / sizeof(s->cpuid[0]));

    for (unsigned i = 0; i < n; i++) {
        if (s->cpuid[i].function == 1) {
            s->cpuid[i].edx |= F1_EDX_FP;
            s->cpuid[i].ecx |= F1_ECX_FP;
        }
    }
    s->cpu.cpuid = s->cpuid;
    s->cpu.ncpuid = n;
}

static void put64(uint64_t gpa, uint64_t v)
{
    ram_write(gpa, &v, sizeof(v));
}

/* A segment descriptor (SDM vol. 3, 3.4.5): access byte, flags G D L AVL. */
static uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
           ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
           ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

struct diff_soft *diff_soft_new(void)
{
    struct diff_soft *s;
    uint64_t span = DIFF_DATA + DIFF_DATA_SIZE - DIFF_CODE;

    if (ram_add_region(0, LOW_SIZE, NULL) < 0 ||
        ram_add_region(DIFF_CODE, (span + 0xfff) & ~0xfffull, NULL) < 0)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    put64(PML4, PDPT | PTE_P | PTE_W | PTE_U);
    put64(PDPT, PD | PTE_P | PTE_W | PTE_U);
    put64(PD + 8 * ((DIFF_CODE >> 21) & 511), PT | PTE_P | PTE_W | PTE_U);
    put64(PT + 8 * ((DIFF_CODE >> 12) & 511), DIFF_CODE | PTE_P | PTE_U);
    for (uint64_t a = DIFF_DATA; a < DIFF_DATA + DIFF_DATA_SIZE; a += 0x1000)
        put64(PT + 8 * ((a >> 12) & 511), a | PTE_P | PTE_W | PTE_U | PTE_XD);
    put64(PT + 8 * ((GDT_LIN >> 12) & 511), GDT_LIN | PTE_P | PTE_W | PTE_XD);
    put64(GDT_LIN + 8 * 1, desc(0, 0xfffff, 0x9b, 0xc));
    put64(GDT_LIN + 8 * 2, desc(0, 0xfffff, 0x9b, 0xa));
    put64(GDT_LIN + 8 * 3, desc(0, 0xfffff, 0x93, 0xc));
    put64(GDT_LIN + 8 * 4, desc(0, 0xfffff, 0xfb, 0xc));
    put64(GDT_LIN + 8 * 5, desc(0, 0xfffff, 0xf3, 0xc));
    put64(GDT_LIN + 8 * 6, desc(0, 0xfffff, 0xfb, 0xa));
    put64(GDT_LIN + 8 * 8, desc(0x5000, 0x67, 0x8b, 0x0));
    put64(GDT_LIN + 8 * 10, desc((uint32_t)LDT_LIN, LDT_LIMIT, 0x82, 0x0));
    /* access 0xfa / 0xf2: present, DPL 3, readable code / writable data,
     * not yet accessed; flags 0x1: AVL (modify_ldt's "useable"), 16-bit */
    put64(LDT_LIN + (DIFF_SEL16_CS & ~7u), desc((uint32_t)DIFF_CODE, 0xffff, 0xfa, 0x1));
    put64(LDT_LIN + (DIFF_SEL16_DS & ~7u), desc((uint32_t)DIFF_DATA, DIFF_DATA_SIZE - 1,
                                                0xf2, 0x1));
    memset(ram_hva(DIFF_CODE, DIFF_CODE_SIZE), 0xCC, DIFF_CODE_SIZE);
    setup_cpuid(s);
    return s;
}

bool diff_soft_use_jit(struct diff_soft *s, bool on)
{
    if (on && !s->jb) {
        struct sigaction sa = { .sa_handler = on_alarm };

        s->jb = jit_buf_create(TCG_JIT_BUF_SIZE, NULL);
        if (!s->jb) {
            return false;
        }
        s->cpu.blocks = tcg_blocks_new();
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
    }
    s->cpu.jit = on ? s->jb : NULL;
    return true;
}

void diff_soft_free(struct diff_soft *s)
{
    if (s->jb) {
        tcg_blocks_free(s->cpu.blocks);
        jit_buf_destroy(s->jb);
    }
    free(s);
    ram_free_all();
}

static void flat_seg(struct x86_segment *sg, uint16_t sel, uint8_t type)
{
    memset(sg, 0, sizeof(*sg));
    sg->selector = sel;
    sg->base = 0;
    sg->limit = 0xffffffffu;
    sg->type = type;
    sg->s = true;
    sg->present = true;
    sg->dpl = 3;
    sg->dpl_valid = true;
    sg->db = true;
    sg->g = true;
}

/*
 * The x87/SSE state: the case has it in FXSAVE's stack order, the
 * software CPU by physical register (ST(i) = R((TOP + i) & 7), see
 * tcg.c).  A case that does not use it starts from FNINIT's state and the
 * reset MXCSR, as the native side does.
 */
static void load_fpu(struct x86_fpu_state *d, const struct diff_case *c)
{
    const struct diff_fpu *f = &c->fpu;
    unsigned top = (f->fsw >> 11) & 7;

    d->fcw = 0x37f;
    d->mxcsr = 0x1f80;
    if (!c->fpu_on)
        return;
    d->fcw = f->fcw;
    d->fsw = f->fsw;
    d->ftw = f->ftw;
    d->mxcsr = f->mxcsr;
    for (unsigned i = 0; i < 8; i++) {
        d->st[(top + i) & 7].mant = f->st[i].mant;
        d->st[(top + i) & 7].exp = f->st[i].exp;
    }
    memcpy(d->xmm, f->xmm, sizeof(d->xmm));
}

static void store_fpu(const struct x86_fpu_state *s, struct diff_fpu *f)
{
    unsigned top = (s->fsw >> 11) & 7;

    f->fcw = s->fcw;
    f->fsw = s->fsw;
    f->ftw = s->ftw;
    f->mxcsr = s->mxcsr;
    for (unsigned i = 0; i < 8; i++) {
        f->st[i].mant = s->st[(top + i) & 7].mant;
        f->st[i].exp = s->st[(top + i) & 7].exp;
    }
    memcpy(f->xmm, s->xmm, sizeof(f->xmm));
}

static void load_state(struct tcg_cpu *cpu, const struct diff_case *c)
{
    struct x86_cpu_state *st = &cpu->st;

    memset(st, 0, sizeof(*st));
    memcpy(st->regs, c->regs, sizeof(st->regs));
    st->rip = c->mode == DIFF_MODE16 ? DIFF_INSN_OFF : DIFF_INSN_ADDR;
    st->rflags = (c->rflags & DIFF_FLAGS_MASK) | DIFF_FLAGS_FIXED;
    load_fpu(&st->fpu, c);
    st->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
    st->cr3 = PML4;
    st->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    st->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    flat_seg(&st->seg[S_CS], c->mode == DIFF_MODE32 ? SEL_CS32 : SEL_CS64, 0xb);
    if (c->mode == DIFF_MODE64) {
        st->seg[S_CS].l = true;
        st->seg[S_CS].db = false;
    }
    flat_seg(&st->seg[S_SS], SEL_DS, 0x3);
    flat_seg(&st->seg[S_DS], SEL_DS, 0x3);
    flat_seg(&st->seg[S_ES], SEL_DS, 0x3);
    if (c->mode == DIFF_MODE16) {
        struct x86_segment *sg = &st->seg[S_CS];

        sg->selector = DIFF_SEL16_CS;
        sg->base = DIFF_CODE;
        sg->limit = 0xffff;
        sg->db = sg->g = false;
        sg->avl = true;
        for (unsigned i = 0; i < 3; i++) {
            static const unsigned segs[3] = { S_SS, S_DS, S_ES };

            sg = &st->seg[segs[i]];
            sg->selector = DIFF_SEL16_DS;
            sg->base = DIFF_DATA;
            sg->limit = DIFF_DATA_SIZE - 1;
            sg->db = sg->g = false;
            sg->avl = true;
        }
    }
    /* FS and GS hold null selectors, as in a Linux process. */
    flat_seg(&st->seg[S_FS], 0, 0x3);
    flat_seg(&st->seg[S_GS], 0, 0x3);
    st->seg[S_FS].unusable = st->seg[S_GS].unusable = true;
    st->seg[S_TR].selector = 0x40;
    st->seg[S_TR].base = 0x5000;
    st->seg[S_TR].present = true;
    st->seg[S_TR].type = 0xb;
    st->seg[S_TR].limit = 0x67;
    st->seg[S_LDTR].selector = 0x50;
    st->seg[S_LDTR].base = LDT_LIN;
    st->seg[S_LDTR].limit = LDT_LIMIT;
    st->seg[S_LDTR].type = 2;
    st->seg[S_LDTR].present = true;
    st->gdt.base = GDT_LIN;
    st->gdt.limit = GDT_LIMIT;
    cpu->mode = MODE_PROT32;
    cpu->cpl = 3;
    tcg_cpu_mode_changed(cpu);
    tcg_tlb_flush(cpu);
}

/*
 * Half the translated 64- and 32-bit cases start with the data area in the translator's fast TLB (through
 * the accesses the slow path makes, a read and a write of the same byte), so that their
 * accesses take the inline fast path; the others (and faults) take the slow path.  Loading
 * the state flushed the TLB.
 */
static void warm_fast_tlb(struct tcg_cpu *cpu, const uint8_t *data)
{
    if (cpu->mode != MODE_LONG64 && cpu->mode != MODE_PROT32) {
        return;     /* 16-bit code: DS is not flat, and nothing goes inline */
    }
    cpu->tlb_ctx = tcg_tlb_ctx(cpu);
    for (uint64_t off = 0; off < DIFF_DATA_SIZE; off += 0x1000) {
        uint8_t b = data[off];

        if (tcg_mem_write(cpu, S_DS, DIFF_DATA + off, &b, 1) == TCG_OK) {
            tcg_tlb_fast_fill(cpu, DIFF_DATA + off);
        }
    }
}

/*
 * With the translator: the case's bytes run as blocks through tcg_run() (translated, since
 * cpu->jit is set), which goes on until something stops it: the INT3 of the code page that
 * the native side also stops on, or a fault fetching from where a jump went.  An exception
 * outside the case's bytes is where the case ended (RIP there, as the step loop leaves it);
 * one inside them is the case's own.  A case that loops is stopped after a second and counts
 * as stuck.
 */
static enum tcg_status run_blocks(struct tcg_cpu *cpu, const struct diff_case *c,
                                  uint64_t start, unsigned *steps)
{
    struct itimerval it = { .it_value = { .tv_sec = 1 } };
    enum tcg_status st;
    uint64_t lin;

    run_stop = false;
    setitimer(ITIMER_REAL, &it, NULL);
    st = tcg_run(cpu, &run_stop);
    it.it_value.tv_sec = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    *steps = st == TCG_STOP && run_stop ? MAX_STEPS : 0;
    lin = cpu->st.seg[S_CS].base + cpu->st.rip;
    (void)start;
    if (st == TCG_EXCEPTION && lin - DIFF_INSN_ADDR >= c->len) {
        memset(&cpu->exc, 0, sizeof(cpu->exc));
        return TCG_JUMPED;
    }
    return st;
}

void diff_soft_run(struct diff_soft *s, const struct diff_case *c,
                   struct diff_result *res)
{
    struct tcg_cpu *cpu = &s->cpu;
    uint8_t *code = ram_hva(DIFF_CODE, DIFF_CODE_SIZE);
    uint8_t *data = ram_hva(DIFF_DATA, DIFF_DATA_SIZE);
    enum tcg_status st = TCG_OK;
    unsigned steps;
    uint16_t cs;
    uint64_t start = c->mode == DIFF_MODE16 ? DIFF_INSN_OFF : DIFF_INSN_ADDR;

    memset(code + DIFF_INSN_OFF, 0xCC, 32);
    memcpy(code + DIFF_INSN_OFF, c->bytes, c->len < DIFF_MAX_LEN ? c->len : DIFF_MAX_LEN);
    tcg_code_written(cpu, DIFF_CODE);
    diff_fill_data(c, data);
    load_state(cpu, c);
    if (cpu->jit && (c->mem_seed & 1)) {
        warm_fast_tlb(cpu, data);
    }
    cs = cpu->st.seg[S_CS].selector;
    memset(res, 0, offsetof(struct diff_result, data));

    if (cpu->jit) {
        st = run_blocks(cpu, c, start, &steps);
        goto done;
    }
    /* Until RIP leaves the bytes (a rep string stays on its own bytes
     * until done; a read-back sequence moves through them) or CS changes
     * to code outside them: a far jump whose target falls inside the
     * case's own bytes runs on there natively, so it does here too. */
    for (steps = 0; steps < MAX_STEPS; steps++) {
        uint64_t lin;

        st = tcg_step(cpu);
        if (st != TCG_OK && st != TCG_JUMPED)
            break;
        if (cpu->st.seg[S_CS].selector == cs) {
            if (cpu->st.rip - start >= c->len)
                break;
            continue;
        }
        lin = cpu->st.seg[S_CS].base + cpu->st.rip;
        if (lin - DIFF_INSN_ADDR >= c->len)
            break;
    }
done:
    if (st == TCG_EXCEPTION) {
        res->outcome = DIFF_EXCEPTION;
        res->vector = cpu->exc.vector;
        res->error_code = cpu->exc.error_code;
        res->cr2 = cpu->exc.cr2;
    } else if ((st == TCG_OK || st == TCG_JUMPED) && steps < MAX_STEPS) {
        res->outcome = DIFF_DONE;
    } else {
        res->outcome = DIFF_STUCK;
    }
    memcpy(res->regs, cpu->st.regs, sizeof(res->regs));
    res->rip = cpu->st.rip;
    /* INT3, INTO and INT1 are traps: the host reports the exception with
     * RIP after the instruction (SDM vol. 3, 6.5), where delivery would
     * return to; the software CPU leaves RIP on it and says so in
     * exc.soft (tcg-cpu.h). */
    if (st == TCG_EXCEPTION && cpu->exc.soft)
        res->rip = cpu->next_rip;
    res->rflags = cpu->st.rflags;
    res->cs = cpu->st.seg[S_CS].selector;
    res->ss = cpu->st.seg[S_SS].selector;
    res->ss_valid = true;
    res->fpu_valid = true;
    store_fpu(&cpu->st.fpu, &res->fpu);
    memcpy(res->data, data, DIFF_DATA_SIZE);
}
