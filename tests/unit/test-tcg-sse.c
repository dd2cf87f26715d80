/*
 * Unit test "tcg-sse": MMX and the integer/move/shuffle part of SSE..SSE4.2
 * and PCLMULQDQ on the software CPU (accel/tcg/exec-sse.c,
 * exec-sse-int.c), run through the real decoder and tcg_step() and
 * compared with the host CPU running the same bytes natively.
 *
 * Each template is one encoding (prefix, map, opcode, which register file
 * ModRM.reg and ModRM.rm name).  For every template the test makes random
 * cases: ModRM register numbers, REX bits, a register or a memory operand
 * ([rsi+disp8] or [r14+disp8], and now and then [rbp+disp8], which is an
 * SS operand, or [r13+disp8]; now and then misaligned, non-canonical or
 * running into a guard page), an imm8, and random XMM, MMX, general
 * registers, x87 TOP and condition codes, flags and data.  The native side loads the state with
 * FXRSTOR64 and the registers, runs the instruction in an executable page
 * and saves everything back with FXSAVE64; an exception comes back as a
 * signal (SIGILL #UD, SIGSEGV #GP/#PF) with the x87/SSE state of that
 * moment.  The data area sits at the same address on both sides (a fixed
 * host mapping with a PROT_NONE page after it; the guest maps it by
 * identity paging and leaves the next page not present), so every register
 * compares bit for bit: the 16 general registers but RSP, the arithmetic
 * flags, XMM0-15, the eight x87/MMX registers with their exponents, FSW
 * (TOP), the abridged tag word, MXCSR and the data area; after a fault,
 * the exception vector, CR2, the x87/SSE state and the data area.  The
 * holes of the opcode map are templates too: #UD on both sides.
 *
 * The availability rules (CR0.EM, CR4.OSFXSR, CR0.TS, FSW.ES, CPUID, VEX)
 * cannot be changed on the host from user mode; their cases check the
 * SDM's answers (vol. 2, 2.4; vol. 3, 13.1-13.2).  AMD-specific answers
 * the native runs found (MASKMOVQ/MASKMOVDQU fault with an all-zero mask;
 * a faulting MASKMOVQ still switches to MMX state, other faulting MMX
 * forms do not) are the host's, and may differ on an Intel host.
 *
 * Threads: the gtest main thread only.
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
#define PT_BASE 0x1000u
#define DATA 0x180000ull            /* same address on host and guest */
#define DATA_SIZE 0x1000u

/* ---- the native side ---- */

/* The FXSAVE64 image (SDM vol. 1, table 10-2) and the registers. */
struct nstate {
    uint8_t fx[512];
    uint64_t regs[16];
    uint64_t rflags;
} __attribute__((aligned(64)));

#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_MXCSR 24
#define FX_ST 32
#define FX_XMM 160

__asm__(
    ".pushsection .data\n"
    ".p2align 6\n"
    ".globl sse_nat_target\n .hidden sse_nat_target\n"
    "sse_nat_host: .fill 512, 1, 0\n"
    "sse_nat_out: .quad 0\n"
    "sse_nat_rsp: .quad 0\n"
    "sse_nat_target: .quad 0\n"
    ".p2align 4\n"
    "sse_nat_stack: .fill 256, 1, 0\n"
    "sse_nat_stack_top:\n"
    ".popsection\n"
    ".text\n"
    ".p2align 4\n"
    ".globl sse_nat_go\n .hidden sse_nat_go\n"
    ".globl sse_nat_back\n .hidden sse_nat_back\n"
    ".globl sse_nat_restore\n .hidden sse_nat_restore\n"
    "sse_nat_go:\n"
    "  push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "  mov %rsi, sse_nat_out(%rip)\n"
    "  mov %rsp, sse_nat_rsp(%rip)\n"
    /* compatibility mode uses DS and ES, which Linux leaves null in a
     * 64-bit process (SDM vol. 3, 3.4.4) */
    "  mov $0x2b, %eax\n mov %eax, %ds\n mov %eax, %es\n"
    "  fxsave64 sse_nat_host(%rip)\n"
    "  fxrstor64 (%rdi)\n"
    "  pushq 640(%rdi)\n popfq\n"
    "  mov 512(%rdi), %rax\n mov 520(%rdi), %rcx\n mov 528(%rdi), %rdx\n"
    "  mov 536(%rdi), %rbx\n mov 552(%rdi), %rbp\n mov 560(%rdi), %rsi\n"
    "  mov 576(%rdi), %r8\n mov 584(%rdi), %r9\n mov 592(%rdi), %r10\n"
    "  mov 600(%rdi), %r11\n mov 608(%rdi), %r12\n mov 616(%rdi), %r13\n"
    "  mov 624(%rdi), %r14\n mov 632(%rdi), %r15\n mov 568(%rdi), %rdi\n"
    "  jmp *sse_nat_target(%rip)\n"
    ".p2align 4\n"
    "sse_nat_back:\n"
    /* a stack of its own: after compatibility mode only ESP is certain */
    "  lea sse_nat_stack_top(%rip), %rsp\n"
    "  pushfq\n push %rdi\n"
    "  mov sse_nat_out(%rip), %rdi\n"
    "  mov %rax, 512(%rdi)\n mov %rcx, 520(%rdi)\n mov %rdx, 528(%rdi)\n"
    "  mov %rbx, 536(%rdi)\n mov %rbp, 552(%rdi)\n mov %rsi, 560(%rdi)\n"
    "  mov %r8, 576(%rdi)\n mov %r9, 584(%rdi)\n mov %r10, 592(%rdi)\n"
    "  mov %r11, 600(%rdi)\n mov %r12, 608(%rdi)\n mov %r13, 616(%rdi)\n"
    "  mov %r14, 624(%rdi)\n mov %r15, 632(%rdi)\n"
    "  pop %rax\n mov %rax, 568(%rdi)\n"
    "  pop %rax\n mov %rax, 640(%rdi)\n"
    "  fxsave64 (%rdi)\n"
    "  fxrstor64 sse_nat_host(%rip)\n"
    "  mov sse_nat_rsp(%rip), %rsp\n"
    "  pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "  ret\n"
    /* after a signal: the host's x87/SSE state back */
    "sse_nat_restore:\n"
    "  fxrstor64 sse_nat_host(%rip)\n"
    "  ret\n"
);

void sse_nat_go(const struct nstate *in, struct nstate *out);
void sse_nat_back(void);
void sse_nat_restore(void);
extern uint64_t sse_nat_target;

static uint8_t *nat_code;
static uint8_t *nat_data;
static sigjmp_buf nat_jb;
static volatile sig_atomic_t nat_armed;
static volatile int nat_vector;
static volatile uint64_t nat_cr2;
static uint8_t nat_sig_fx[512];         /* the x87/SSE state at the signal */

static bool nat_compat;                 /* the cases run in compatibility mode */

static void nat_signal(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;

    if (!nat_armed) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    nat_armed = 0;
    nat_vector = sig == SIGILL ? EXC_UD : (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    nat_cr2 = nat_vector == EXC_PF ? (uint64_t)(uintptr_t)si->si_addr : 0;
    /* the kernel's copy is in the FXSAVE layout */
    memcpy(nat_sig_fx, uc->uc_mcontext.fpregs, sizeof(nat_sig_fx));
    siglongjmp(nat_jb, 1);
}

#define NAT_ALTSTACK (64 * 1024)

static bool native_init(void)
{
    struct sigaction sa;
    stack_t ss;

    nat_data = mmap((void *)(uintptr_t)DATA, DATA_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (nat_data != (void *)(uintptr_t)DATA) {
        return false;
    }
    /* a guard page after it, for faults part way through an access */
    if (mmap((void *)(uintptr_t)(DATA + DATA_SIZE), 4096, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) !=
        (void *)(uintptr_t)(DATA + DATA_SIZE)) {
        return false;
    }
    /* below 4 GiB: compatibility-mode code runs there too */
    nat_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (nat_code == MAP_FAILED) {
        return false;
    }
    ss.ss_sp = g_malloc(NAT_ALTSTACK);
    ss.ss_size = NAT_ALTSTACK;
    ss.ss_flags = 0;
    if (sigaltstack(&ss, NULL) < 0) {
        return false;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = nat_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sse_nat_target = (uint64_t)(uintptr_t)nat_code;
    return true;
}

/* Runs bytes natively from in; returns -1 when it completed (out and the
 * data area hold the result), else the exception vector (out->fx then
 * holds the x87/SSE state at the exception). */
static int native_run(const uint8_t *bytes, unsigned len, const struct nstate *in,
                      struct nstate *out)
{
    uint64_t back = (uint64_t)(uintptr_t)sse_nat_back;
    uint32_t page = (uint32_t)(uintptr_t)nat_code;

    memcpy(nat_code, bytes, len);
    if (!nat_compat) {
        /* jmp *0(%rip); .quad sse_nat_back */
        memcpy(nat_code + len, "\xff\x25\x00\x00\x00\x00", 6);
        memcpy(nat_code + len + 6, &back, 8);
        sse_nat_target = page;
    } else {
        /*
         * 0x200 (64-bit): ljmp *0x310(page) to 0x23:page, the 32-bit code
         * segment Linux keeps; after the instruction ljmp *0x300 back to
         * 0x33:page+0x100 (64-bit), which jumps on to sse_nat_back.
         */
        uint32_t far_back = page + 0x300, rel = 0x310 - (0x200 + 6);
        uint32_t off_back = page + 0x100;
        uint16_t sel64 = 0x33, sel32 = 0x23;

        memcpy(nat_code + len, "\xff\x2d", 2);
        memcpy(nat_code + len + 2, &far_back, 4);
        memcpy(nat_code + 0x100, "\xff\x25\x00\x00\x00\x00", 6);
        memcpy(nat_code + 0x106, &back, 8);
        memcpy(nat_code + 0x200, "\xff\x2d", 2);
        memcpy(nat_code + 0x202, &rel, 4);
        memcpy(nat_code + 0x300, &off_back, 4);
        memcpy(nat_code + 0x304, &sel64, 2);
        memcpy(nat_code + 0x310, &page, 4);
        memcpy(nat_code + 0x314, &sel32, 2);
        sse_nat_target = page + 0x200;
    }
    __builtin___clear_cache((char *)nat_code, (char *)nat_code + 0x400);
    if (sigsetjmp(nat_jb, 1) == 0) {
        nat_armed = 1;
        sse_nat_go(in, out);
        nat_armed = 0;
        return -1;
    }
    sse_nat_restore();
    memcpy(out->fx, nat_sig_fx, sizeof(out->fx));
    return nat_vector;
}

/* ---- the software side ---- */

static struct tcg_cpu cpu;

static void wr64(uint64_t gpa, uint64_t v)
{
    g_assert_cmpint(ram_write(gpa, &v, 8), ==, 0);
}

/* 4-level identity paging of [0, 2 MiB) (SDM vol. 3, 4.5). */
static void build_page_tables(void)
{
    wr64(PT_BASE, (PT_BASE + 0x1000) | 7);
    wr64(PT_BASE + 0x1000, (PT_BASE + 0x2000) | 7);
    wr64(PT_BASE + 0x2000, (PT_BASE + 0x3000) | 7);
    for (uint64_t i = 0; i < 512; i++) {
        wr64(PT_BASE + 0x3000 + i * 8, (i << 12) | 7);
    }
    /* the page after the data area is not present, as on the host */
    wr64(PT_BASE + 0x3000 + ((DATA + DATA_SIZE) >> 12) * 8, 0);
}

/* CPUID.01H bits of the vector features (SDM vol. 2A, CPUID): mmx, sse,
 * sse2 in EDX; sse3, pclmulqdq, ssse3, sse4.1, sse4.2 in ECX. */
#define F1_EDX_VEC ((1u << 23) | (1u << 25) | (1u << 26))
#define F1_ECX_VEC ((1u << 0) | (1u << 1) | (1u << 9) | (1u << 19) | (1u << 20))

static struct x86_cpuid_entry cpuid_tbl[32];
static struct x86_cpuid_entry *cpuid_leaf1;

/* The software CPU's own leaves with the vector features on: the guest's
 * CPUID decides which forms exist (the model may not offer them yet). */
static void cpuid_setup(void)
{
    unsigned n = tcg_cpuid_supported(cpuid_tbl, G_N_ELEMENTS(cpuid_tbl));

    for (unsigned i = 0; i < n; i++) {
        if (cpuid_tbl[i].function == 1) {
            cpuid_leaf1 = &cpuid_tbl[i];
        }
    }
    g_assert_nonnull(cpuid_leaf1);
    cpuid_leaf1->edx |= F1_EDX_VEC;
    cpuid_leaf1->ecx |= F1_ECX_VEC;
    cpu.cpuid = cpuid_tbl;
    cpu.ncpuid = n;
}

static void cpu_reset64(void)
{
    memset(&cpu, 0, sizeof(cpu));
    cpuid_setup();
    x86_cpu_state_flat32(&cpu.st, CODE);
    build_page_tables();
    cpu.st.cr3 = PT_BASE;
    cpu.st.cr4 |= CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    cpu.st.efer |= EFER_LME | EFER_LMA;
    cpu.st.cr0 |= CR0_PG | CR0_NE;
    cpu.st.seg[S_CS].l = true;
    cpu.st.seg[S_CS].db = false;
    tcg_cpu_mode_changed(&cpu);
    tcg_tlb_flush(&cpu);
    g_assert_cmpint(cpu.mode, ==, MODE_LONG64);
}

static uint16_t fx16(const struct nstate *s, unsigned off)
{
    uint16_t v;

    memcpy(&v, s->fx + off, 2);
    return v;
}

/* The FXSAVE image into the software CPU's state: the x87 registers are
 * kept by physical number there, ST(i) = R((TOP + i) & 7). */
static void soft_load(const struct nstate *s)
{
    struct x86_fpu_state *f = &cpu.st.fpu;
    unsigned top;

    memcpy(cpu.st.regs, s->regs, sizeof(cpu.st.regs));
    cpu.st.rflags = (s->rflags & 0x8d5) | 2;
    f->fcw = fx16(s, FX_FCW);
    f->fsw = fx16(s, FX_FSW);
    f->ftw = s->fx[FX_FTW];
    memcpy(&f->mxcsr, s->fx + FX_MXCSR, 4);
    top = (f->fsw >> 11) & 7;
    for (unsigned i = 0; i < 8; i++) {
        unsigned p = (top + i) & 7;

        memcpy(&f->st[p].mant, s->fx + FX_ST + 16 * i, 8);
        memcpy(&f->st[p].exp, s->fx + FX_ST + 16 * i + 8, 2);
    }
    for (unsigned i = 0; i < 16; i++) {
        memcpy(&f->xmm[i].lo, s->fx + FX_XMM + 16 * i, 8);
        memcpy(&f->xmm[i].hi, s->fx + FX_XMM + 16 * i + 8, 8);
    }
}

/* The software CPU's state as an FXSAVE image, for comparison. */
static void soft_save(struct nstate *s)
{
    const struct x86_fpu_state *f = &cpu.st.fpu;
    unsigned top = (f->fsw >> 11) & 7;

    memset(s, 0, sizeof(*s));
    memcpy(s->regs, cpu.st.regs, sizeof(s->regs));
    s->rflags = cpu.st.rflags;
    memcpy(s->fx + FX_FCW, &f->fcw, 2);
    memcpy(s->fx + FX_FSW, &f->fsw, 2);
    s->fx[FX_FTW] = f->ftw;
    memcpy(s->fx + FX_MXCSR, &f->mxcsr, 4);
    for (unsigned i = 0; i < 8; i++) {
        unsigned p = (top + i) & 7;

        memcpy(s->fx + FX_ST + 16 * i, &f->st[p].mant, 8);
        memcpy(s->fx + FX_ST + 16 * i + 8, &f->st[p].exp, 2);
    }
    for (unsigned i = 0; i < 16; i++) {
        memcpy(s->fx + FX_XMM + 16 * i, &f->xmm[i].lo, 8);
        memcpy(s->fx + FX_XMM + 16 * i + 8, &f->xmm[i].hi, 8);
    }
}

/* Runs bytes on the software CPU from in: -1 when it completed, else the
 * exception vector. */
static int soft_run(const uint8_t *bytes, unsigned len, const struct nstate *in,
                    const uint8_t *data, struct nstate *out, uint8_t *data_out)
{
    enum tcg_status st;

    g_assert_cmpint(ram_write(CODE, bytes, len), ==, 0);
    g_assert_cmpint(ram_write(DATA, data, DATA_SIZE), ==, 0);
    if (cpu.blocks) {
        tcg_code_written(&cpu, CODE);
    }
    soft_load(in);
    cpu.st.rip = CODE;
    st = tcg_step(&cpu);
    soft_save(out);
    g_assert_cmpint(ram_read(DATA, data_out, DATA_SIZE), ==, 0);
    if (st == TCG_EXCEPTION) {
        return cpu.exc.vector;
    }
    g_assert_cmpint(st, ==, TCG_OK);
    g_assert_cmphex(cpu.st.rip, ==, CODE + len);
    return -1;
}

/* ---- templates and random cases ---- */

enum { K_X = 1, K_M, K_G };

#define T_IMM 1         /* an imm8 follows */
#define T_NOMODRM 2     /* EMMS */
#define T_STR 4         /* PCMPxSTRx: small alphabets, lengths in EAX/EDX */
#define T_RDI 8         /* MASKMOV*: rDI points into the data area */
#define T_GRP 16        /* shift group: ModRM.reg from grp */
#define T_UD 32         /* an encoding that does not exist: #UD every time */
#define T_A32 64        /* a 67 prefix: 32-bit addresses (esi, r14d, edi) */
#define T_CNT 128       /* shift by a register: counts mostly below 70 */
#define T_SMALLIMM 256  /* PALIGNR: an imm8 mostly below 32 */
#define T_X66 512       /* a 66 before the F2/F3: the F2/F3 selects the form */

struct tmpl {
    const char *name;
    uint8_t pfx, map, op;
    uint8_t regk, rmk;
    uint16_t fl;
    uint8_t grp;        /* T_GRP: ModRM.reg values allowed, as a bit mask */
};

#define MMX(n, o) { n, 0, 1, o, K_M, K_M, 0, 0 }
#define SSE2(n, o) { n, 0x66, 1, o, K_X, K_X, 0, 0 }
#define MS(n, o) MMX(n, o), SSE2(n, o)
#define MSC(n, o) { n, 0, 1, o, K_M, K_M, T_CNT, 0 }, { n, 0x66, 1, o, K_X, K_X, T_CNT, 0 }
#define S38(n, o) { n, 0x66, 2, o, K_X, K_X, 0, 0 }
#define M38(n, o) { n, 0, 2, o, K_M, K_M, 0, 0 }, S38(n, o)
#define S3A(n, o) { n, 0x66, 3, o, K_X, K_X, T_IMM, 0 }
#define PS(n, o) { n, 0, 1, o, K_X, K_X, 0, 0 }

static const struct tmpl tmpls[] = {
    /* MMX and SSE2 integer, 0F 60-76 and D0-FF */
    MS("punpcklbw", 0x60), MS("punpcklwd", 0x61), MS("punpckldq", 0x62),
    MS("packsswb", 0x63), MS("pcmpgtb", 0x64), MS("pcmpgtw", 0x65), MS("pcmpgtd", 0x66),
    MS("packuswb", 0x67), MS("punpckhbw", 0x68), MS("punpckhwd", 0x69),
    MS("punpckhdq", 0x6a), MS("packssdw", 0x6b), SSE2("punpcklqdq", 0x6c),
    SSE2("punpckhqdq", 0x6d),
    { "movd-load", 0, 1, 0x6e, K_M, K_G, 0, 0 }, { "movd-load", 0x66, 1, 0x6e, K_X, K_G, 0, 0 },
    MS("movq-movdqa", 0x6f), { "movdqu", 0xf3, 1, 0x6f, K_X, K_X, 0, 0 },
    { "pshufw", 0, 1, 0x70, K_M, K_M, T_IMM, 0 }, { "pshufd", 0x66, 1, 0x70, K_X, K_X, T_IMM, 0 },
    { "pshufhw", 0xf3, 1, 0x70, K_X, K_X, T_IMM, 0 },
    { "pshuflw", 0xf2, 1, 0x70, K_X, K_X, T_IMM, 0 },
    { "grp12", 0, 1, 0x71, 0, K_M, T_IMM | T_GRP, 0x54 },
    { "grp12", 0x66, 1, 0x71, 0, K_X, T_IMM | T_GRP, 0x54 },
    { "grp13", 0, 1, 0x72, 0, K_M, T_IMM | T_GRP, 0x54 },
    { "grp13", 0x66, 1, 0x72, 0, K_X, T_IMM | T_GRP, 0x54 },
    { "grp14", 0, 1, 0x73, 0, K_M, T_IMM | T_GRP, 0x44 },
    { "grp14", 0x66, 1, 0x73, 0, K_X, T_IMM | T_GRP, 0xcc },
    MS("pcmpeqb", 0x74), MS("pcmpeqw", 0x75), MS("pcmpeqd", 0x76),
    { "emms", 0, 1, 0x77, 0, 0, T_NOMODRM, 0 },
    { "movd-store", 0, 1, 0x7e, K_M, K_G, 0, 0 }, { "movd-store", 0x66, 1, 0x7e, K_X, K_G, 0, 0 },
    { "movq-load", 0xf3, 1, 0x7e, K_X, K_X, 0, 0 },
    MS("movq-movdqa-store", 0x7f), { "movdqu-store", 0xf3, 1, 0x7f, K_X, K_X, 0, 0 },
    { "pinsrw", 0, 1, 0xc4, K_M, K_G, T_IMM, 0 }, { "pinsrw", 0x66, 1, 0xc4, K_X, K_G, T_IMM, 0 },
    { "pextrw", 0, 1, 0xc5, K_G, K_M, T_IMM, 0 }, { "pextrw", 0x66, 1, 0xc5, K_G, K_X, T_IMM, 0 },
    MSC("psrlw", 0xd1), MSC("psrld", 0xd2), MSC("psrlq", 0xd3), MS("paddq", 0xd4),
    MS("pmullw", 0xd5),
    { "movq-store", 0x66, 1, 0xd6, K_X, K_X, 0, 0 },
    { "movq2dq", 0xf3, 1, 0xd6, K_X, K_M, 0, 0 }, { "movdq2q", 0xf2, 1, 0xd6, K_M, K_X, 0, 0 },
    { "pmovmskb", 0, 1, 0xd7, K_G, K_M, 0, 0 }, { "pmovmskb", 0x66, 1, 0xd7, K_G, K_X, 0, 0 },
    MS("psubusb", 0xd8), MS("psubusw", 0xd9), MS("pminub", 0xda), MS("pand", 0xdb),
    MS("paddusb", 0xdc), MS("paddusw", 0xdd), MS("pmaxub", 0xde), MS("pandn", 0xdf),
    MS("pavgb", 0xe0), MSC("psraw", 0xe1), MSC("psrad", 0xe2), MS("pavgw", 0xe3),
    MS("pmulhuw", 0xe4), MS("pmulhw", 0xe5), MS("movntq-movntdq", 0xe7),
    MS("psubsb", 0xe8), MS("psubsw", 0xe9), MS("pminsw", 0xea), MS("por", 0xeb),
    MS("paddsb", 0xec), MS("paddsw", 0xed), MS("pmaxsw", 0xee), MS("pxor", 0xef),
    { "lddqu", 0xf2, 1, 0xf0, K_X, K_X, 0, 0 },
    MSC("psllw", 0xf1), MSC("pslld", 0xf2), MSC("psllq", 0xf3), MS("pmuludq", 0xf4),
    MS("pmaddwd", 0xf5), MS("psadbw", 0xf6),
    { "maskmovq", 0, 1, 0xf7, K_M, K_M, T_RDI, 0 },
    { "maskmovdqu", 0x66, 1, 0xf7, K_X, K_X, T_RDI, 0 },
    MS("psubb", 0xf8), MS("psubw", 0xf9), MS("psubd", 0xfa), MS("psubq", 0xfb),
    MS("paddb", 0xfc), MS("paddw", 0xfd), MS("paddd", 0xfe),
    /* SSE/SSE2 moves, logic, shuffles */
    PS("movups", 0x10), SSE2("movupd", 0x10),
    { "movss", 0xf3, 1, 0x10, K_X, K_X, 0, 0 }, { "movsd", 0xf2, 1, 0x10, K_X, K_X, 0, 0 },
    PS("movups-store", 0x11), SSE2("movupd-store", 0x11),
    { "movss-store", 0xf3, 1, 0x11, K_X, K_X, 0, 0 },
    { "movsd-store", 0xf2, 1, 0x11, K_X, K_X, 0, 0 },
    PS("movlps-movhlps", 0x12), SSE2("movlpd", 0x12),
    { "movsldup", 0xf3, 1, 0x12, K_X, K_X, 0, 0 }, { "movddup", 0xf2, 1, 0x12, K_X, K_X, 0, 0 },
    PS("movlps-store", 0x13), SSE2("movlpd-store", 0x13),
    PS("unpcklps", 0x14), SSE2("unpcklpd", 0x14), PS("unpckhps", 0x15), SSE2("unpckhpd", 0x15),
    PS("movhps-movlhps", 0x16), SSE2("movhpd", 0x16),
    { "movshdup", 0xf3, 1, 0x16, K_X, K_X, 0, 0 },
    PS("movhps-store", 0x17), SSE2("movhpd-store", 0x17),
    PS("movaps", 0x28), SSE2("movapd", 0x28), PS("movaps-store", 0x29),
    SSE2("movapd-store", 0x29), PS("movntps", 0x2b), SSE2("movntpd", 0x2b),
    { "movmskps", 0, 1, 0x50, K_G, K_X, 0, 0 }, { "movmskpd", 0x66, 1, 0x50, K_G, K_X, 0, 0 },
    PS("andps", 0x54), SSE2("andpd", 0x54), PS("andnps", 0x55), SSE2("andnpd", 0x55),
    PS("orps", 0x56), SSE2("orpd", 0x56), PS("xorps", 0x57), SSE2("xorpd", 0x57),
    { "shufps", 0, 1, 0xc6, K_X, K_X, T_IMM, 0 }, { "shufpd", 0x66, 1, 0xc6, K_X, K_X, T_IMM, 0 },
    /* SSSE3 */
    M38("pshufb", 0x00), M38("phaddw", 0x01), M38("phaddd", 0x02), M38("phaddsw", 0x03),
    M38("pmaddubsw", 0x04), M38("phsubw", 0x05), M38("phsubd", 0x06), M38("phsubsw", 0x07),
    M38("psignb", 0x08), M38("psignw", 0x09), M38("psignd", 0x0a), M38("pmulhrsw", 0x0b),
    M38("pabsb", 0x1c), M38("pabsw", 0x1d), M38("pabsd", 0x1e),
    { "palignr", 0, 3, 0x0f, K_M, K_M, T_IMM | T_SMALLIMM, 0 },
    { "palignr", 0x66, 3, 0x0f, K_X, K_X, T_IMM | T_SMALLIMM, 0 },
    /* SSE4.1 */
    S38("pblendvb", 0x10), S38("blendvps", 0x14), S38("blendvpd", 0x15), S38("ptest", 0x17),
    S38("pmovsxbw", 0x20), S38("pmovsxbd", 0x21), S38("pmovsxbq", 0x22),
    S38("pmovsxwd", 0x23), S38("pmovsxwq", 0x24), S38("pmovsxdq", 0x25),
    S38("pmuldq", 0x28), S38("pcmpeqq", 0x29), S38("movntdqa", 0x2a), S38("packusdw", 0x2b),
    S38("pmovzxbw", 0x30), S38("pmovzxbd", 0x31), S38("pmovzxbq", 0x32),
    S38("pmovzxwd", 0x33), S38("pmovzxwq", 0x34), S38("pmovzxdq", 0x35),
    S38("pcmpgtq", 0x37), S38("pminsb", 0x38), S38("pminsd", 0x39), S38("pminuw", 0x3a),
    S38("pminud", 0x3b), S38("pmaxsb", 0x3c), S38("pmaxsd", 0x3d), S38("pmaxuw", 0x3e),
    S38("pmaxud", 0x3f), S38("pmulld", 0x40), S38("phminposuw", 0x41),
    S3A("blendps", 0x0c), S3A("blendpd", 0x0d), S3A("pblendw", 0x0e),
    { "pextrb", 0x66, 3, 0x14, K_X, K_G, T_IMM, 0 },
    { "pextrw", 0x66, 3, 0x15, K_X, K_G, T_IMM, 0 },
    { "pextrd", 0x66, 3, 0x16, K_X, K_G, T_IMM, 0 },
    { "extractps", 0x66, 3, 0x17, K_X, K_G, T_IMM, 0 },
    { "pinsrb", 0x66, 3, 0x20, K_X, K_G, T_IMM, 0 }, S3A("insertps", 0x21),
    { "pinsrd", 0x66, 3, 0x22, K_X, K_G, T_IMM, 0 },
    S3A("mpsadbw", 0x42), S3A("pclmulqdq", 0x44),
    /* 32-bit addressing: the upper halves of rsi, r14 and rdi are ignored */
    { "maskmovq-a32", 0, 1, 0xf7, K_M, K_M, T_RDI | T_A32, 0 },
    { "maskmovdqu-a32", 0x66, 1, 0xf7, K_X, K_X, T_RDI | T_A32, 0 },
    { "paddb-a32", 0x66, 1, 0xfc, K_X, K_X, T_A32, 0 },
    { "movdqu-store-a32", 0xf3, 1, 0x7f, K_X, K_X, T_A32, 0 },
    { "pinsrw-a32", 0, 1, 0xc4, K_M, K_G, T_IMM | T_A32, 0 },
    /* 66 together with F3/F2 */
    { "66-movdqu", 0xf3, 1, 0x6f, K_X, K_X, T_X66, 0 },
    { "66-pshuflw", 0xf2, 1, 0x70, K_X, K_X, T_IMM | T_X66, 0 },
    { "66-movq2dq", 0xf3, 1, 0xd6, K_X, K_M, T_X66, 0 },
    { "66-movss", 0xf3, 1, 0x10, K_X, K_X, T_X66, 0 },
    /* holes: no MMX form, no such prefix */
    { "66-emms", 0x66, 1, 0x77, 0, 0, T_NOMODRM | T_UD, 0 },
    { "f3-emms", 0xf3, 1, 0x77, 0, 0, T_NOMODRM | T_UD, 0 },
    { "np-0f6c", 0, 1, 0x6c, K_M, K_M, T_UD, 0 }, { "np-0f6d", 0, 1, 0x6d, K_M, K_M, T_UD, 0 },
    { "np-0fd6", 0, 1, 0xd6, K_M, K_M, T_UD, 0 }, { "f2-0f6f", 0xf2, 1, 0x6f, K_X, K_X, T_UD, 0 },
    { "f3-0f70-grp", 0xf3, 1, 0x71, 0, K_X, T_IMM | T_GRP | T_UD, 0x54 },
    { "np-0f3817", 0, 2, 0x17, K_X, K_X, T_UD, 0 },
    { "f3-0f3800", 0xf3, 2, 0x00, K_X, K_X, T_UD, 0 },
    { "np-0f3a0e", 0, 3, 0x0e, K_X, K_X, T_IMM | T_UD, 0 },
    { "np-0f73-psrldq", 0, 1, 0x73, 0, K_M, T_IMM | T_GRP | T_UD, 0x88 },
    /* SSE4.2 */
    { "pcmpestrm", 0x66, 3, 0x60, K_X, K_X, T_IMM | T_STR, 0 },
    { "pcmpestri", 0x66, 3, 0x61, K_X, K_X, T_IMM | T_STR, 0 },
    { "pcmpistrm", 0x66, 3, 0x62, K_X, K_X, T_IMM | T_STR, 0 },
    { "pcmpistri", 0x66, 3, 0x63, K_X, K_X, T_IMM | T_STR, 0 },
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random bytes, biased towards the lane values that take the edges of
 * saturation, sign and comparison. */
static void rnd_fill(uint8_t *p, unsigned n, bool str)
{
    static const uint8_t alpha[] = { 0, 'a', 'b', 'c', 0x80, 0xff, 'a', 'b' };

    for (unsigned i = 0; i < n; i++) {
        uint64_t r = rnd();

        if (str) {
            p[i] = (r & 7) == 0 ? (uint8_t)(r >> 8) : alpha[(r >> 3) & 7];
            if (p[i] == 0 && (r >> 16) % 3) {
                p[i] = 'c';             /* fewer terminators */
            }
        } else {
            switch (r & 15) {
            case 0: p[i] = 0; break;
            case 1: p[i] = 0xff; break;
            case 2: p[i] = 0x80; break;
            case 3: p[i] = 0x7f; break;
            default: p[i] = (uint8_t)(r >> 8); break;
            }
        }
    }
}

struct icase {
    uint8_t bytes[16];
    unsigned len;
    struct nstate st;
    uint8_t data[DATA_SIZE];
};

/* A random general register number for a ModRM field that names one:
 * never RSP (the native side runs on the host stack). */
static unsigned pick_field(unsigned kind, unsigned rexbit, uint64_t r)
{
    unsigned v = r & 7;

    if (kind == K_G && v == 4 && !rexbit) {
        v = 5;
    }
    return v;
}

static void make_case(const struct tmpl *t, struct icase *c)
{
    uint64_t r = rnd();
    unsigned n = 0, rex = 0, reg, rm, mod;
    bool bp = false;
    bool mem = (r & 3) == 0 || (t->rmk == K_G && (r & 3) == 1);
    uint64_t base = DATA + 0x100 + 16 * ((r >> 8) % 48);
    unsigned disp = 16 * ((r >> 16) % 8);

    if ((r >> 24) & 7) {
        /* now and then misaligned */
    } else {
        disp += 1 + (unsigned)((r >> 28) % 15);
    }
    memset(c, 0, sizeof(*c));
    if (t->fl & T_A32) {
        c->bytes[n++] = 0x67;
    }
    if (t->fl & T_X66) {
        c->bytes[n++] = 0x66;
    }
    if (t->pfx) {
        c->bytes[n++] = t->pfx;
    }
    if (((r >> 32) & 1) && !nat_compat) {
        rex = 0x40 | ((r >> 33) & 0xf);
        c->bytes[n++] = (uint8_t)rex;
    }
    c->bytes[n++] = 0x0f;
    if (t->map == 2) {
        c->bytes[n++] = 0x38;
    } else if (t->map == 3) {
        c->bytes[n++] = 0x3a;
    }
    c->bytes[n++] = t->op;
    if (!(t->fl & T_NOMODRM)) {
        if (t->fl & T_GRP) {
            do {
                reg = rnd() & 7;
            } while (!((t->grp >> reg) & 1));
        } else {
            reg = pick_field(t->regk, rex & 4, r >> 40);
        }
        if (mem) {
            /* [rsi+disp8], or [r14+disp8] with REX.B; now and then
             * [rbp+disp8] (an SS operand: #SS, not #GP, for a bad
             * address) or [r13+disp8] */
            mod = 1;
            bp = ((r >> 52) & 3) == 0;
            rm = bp ? 5 : 6;
        } else {
            mod = 3;
            rm = pick_field(t->rmk, rex & 1, r >> 44);
        }
        c->bytes[n++] = (uint8_t)((mod << 6) | (reg << 3) | rm);
        if (mem) {
            c->bytes[n++] = (uint8_t)disp;
        }
    }
    if (t->fl & T_IMM) {
        uint8_t imm = (uint8_t)rnd();

        /* shift counts: mostly in range */
        if ((t->fl & T_GRP) && (rnd() & 3)) {
            imm &= 0x3f;
        }
        if ((t->fl & T_SMALLIMM) && (rnd() & 3)) {
            imm &= 0x1f;
        }
        c->bytes[n++] = imm;
    }
    c->len = n;

    rnd_fill(c->st.fx, sizeof(c->st.fx), t->fl & T_STR);
    /* x87 control/status: exceptions masked, nothing pending; any TOP and
     * condition codes (every MMX instruction, EMMS too, sets TOP to 0) */
    c->st.fx[FX_FCW] = 0x7f;
    c->st.fx[FX_FCW + 1] = 0x03;
    c->st.fx[FX_FSW] = 0;
    c->st.fx[FX_FSW + 1] = (uint8_t)(rnd() & 0x7f);
    c->st.fx[FX_FTW] = (uint8_t)rnd();
    c->st.fx[FX_FTW + 1] = 0;
    memset(c->st.fx + 6, 0, 18);            /* FOP, FIP, FDP */
    memcpy(c->st.fx + FX_MXCSR, "\x80\x1f\x00\x00\xff\xff\x00\x00", 8);
    for (unsigned i = 0; i < 8; i++) {
        memset(c->st.fx + FX_ST + 16 * i + 10, 0, 6);
    }
    memset(c->st.fx + FX_XMM + 256, 0, 512 - FX_XMM - 256);
    for (unsigned i = 0; i < 16; i++) {
        c->st.regs[i] = rnd();
    }
    c->st.regs[R_ESP] = 0;
    switch (rnd() & 15) {
    case 0:
        /* a non-canonical address: #GP(0) (#SS(0) through rBP) before any
         * access, but after the alignment check */
        base ^= 1ull << 60;
        break;
    case 1:
        /* 1..15 bytes before the guard page: a wide access crosses into it */
        base = DATA + DATA_SIZE - disp - 1 - (rnd() % 15);
        break;
    default:
        break;
    }
    c->st.regs[R_ESI] = c->st.regs[R_R14] = base;
    if (bp) {
        c->st.regs[R_EBP] = c->st.regs[R_R13] = base;
    }
    if (t->fl & T_RDI) {
        c->st.regs[R_EDI] = DATA + 0x800 + (rnd() % 0x200);
        if ((rnd() & 7) == 0) {
            c->st.regs[R_EDI] ^= 1ull << 62;       /* #GP, even with no byte selected */
        } else if ((rnd() & 7) == 0) {
            c->st.regs[R_EDI] = DATA + DATA_SIZE - 1 - (rnd() % 15);   /* #PF part way */
        }
    }
    if (t->fl & T_STR) {
        static const int64_t lens[] = { 0, 1, 5, 8, 15, 16, 17, -3, -16, -100 };
        uint64_t x = rnd();

        c->st.regs[R_EAX] = (uint64_t)lens[x % 10] ^ ((x & 0x100) ? 0xffffffff00000000ull : 0);
        c->st.regs[R_EDX] = (uint64_t)lens[(x >> 4) % 10] ^
                            ((x & 0x200) ? 0xffffffff00000000ull : 0);
        if ((x & 0xc00) == 0xc00) {
            c->st.regs[R_EAX] = 0x80000000u;
        }
    }
    if (t->fl & T_A32) {
        uint64_t hi = rnd() << 32;

        c->st.regs[R_ESI] ^= hi;
        c->st.regs[R_R14] ^= hi;
        c->st.regs[R_EBP] ^= bp ? hi : 0;
        c->st.regs[R_R13] ^= bp ? hi : 0;
        c->st.regs[R_EDI] ^= rnd() << 32;
    }
    c->st.rflags = (rnd() & 0x8d5) | 0x202;
    rnd_fill(c->data, DATA_SIZE, t->fl & T_STR);
    if (t->fl & T_CNT) {
        /* counts in range: the low qword of every register and memory
         * qword, mostly */
        for (unsigned i = 0; i < 24; i++) {
            uint64_t cnt = rnd() % 70;

            if (rnd() & 3) {
                memcpy(c->st.fx + (i < 8 ? FX_ST + 16 * i : FX_XMM + 16 * (i - 8)), &cnt, 8);
            }
        }
        for (unsigned i = 0; i < DATA_SIZE; i += 8) {
            uint64_t cnt = rnd() % 70;

            if (rnd() & 3) {
                memcpy(c->data + i, &cnt, 8);
            }
        }
    }
}

static char *case_text(const struct tmpl *t, const struct icase *c)
{
    GString *s = g_string_new(t->name);

    g_string_append(s, ":");
    for (unsigned i = 0; i < c->len; i++) {
        g_string_append_printf(s, " %02x", c->bytes[i]);
    }
    return g_string_free(s, false);
}

static unsigned n_mismatch;

static void report(const struct tmpl *t, const struct icase *c, const char *what, unsigned idx,
                   const void *nat, const void *soft, unsigned size)
{
    char *txt = case_text(t, c);
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "%s: %s %u differs: native", txt, what, idx);
    for (unsigned i = 0; i < size; i++) {
        g_string_append_printf(s, " %02x", ((const uint8_t *)nat)[size - 1 - i]);
    }
    g_string_append(s, " soft");
    for (unsigned i = 0; i < size; i++) {
        g_string_append_printf(s, " %02x", ((const uint8_t *)soft)[size - 1 - i]);
    }
    if (n_mismatch++ < 30) {
        g_test_message("%s", s->str);
    }
    g_string_free(s, true);
    g_free(txt);
}

/* The x87/SSE part of the state: XMM, x87/MMX registers, FSW, tags, MXCSR. */
static void compare_fx(const struct tmpl *t, const struct icase *c, const struct nstate *n,
                       const struct nstate *s)
{
    for (unsigned i = 0; i < 16; i++) {
        if (memcmp(n->fx + FX_XMM + 16 * i, s->fx + FX_XMM + 16 * i, 16)) {
            report(t, c, "xmm", i, n->fx + FX_XMM + 16 * i, s->fx + FX_XMM + 16 * i, 16);
        }
    }
    for (unsigned i = 0; i < 8; i++) {
        if (memcmp(n->fx + FX_ST + 16 * i, s->fx + FX_ST + 16 * i, 10)) {
            report(t, c, "st/mm", i, n->fx + FX_ST + 16 * i, s->fx + FX_ST + 16 * i, 10);
        }
    }
    if (memcmp(n->fx + FX_FSW, s->fx + FX_FSW, 3)) {
        report(t, c, "fsw/ftw", 0, n->fx + FX_FSW, s->fx + FX_FSW, 3);
    }
    if (memcmp(n->fx + FX_MXCSR, s->fx + FX_MXCSR, 4)) {
        report(t, c, "mxcsr", 0, n->fx + FX_MXCSR, s->fx + FX_MXCSR, 4);
    }
}

static void compare(const struct tmpl *t, const struct icase *c, const struct nstate *n,
                    const struct nstate *s, const uint8_t *nd, const uint8_t *sd)
{
    /* compatibility mode: the upper halves are undefined (SDM vol. 1,
     * 3.4.1.1) */
    uint64_t mask = nat_compat ? 0xffffffffull : ~0ull;

    for (unsigned i = 0; i < 16; i++) {
        if (i != R_ESP && ((n->regs[i] ^ s->regs[i]) & mask)) {
            report(t, c, "reg", i, &n->regs[i], &s->regs[i], 8);
        }
    }
    if ((n->rflags & 0x8d5) != (s->rflags & 0x8d5)) {
        uint64_t a = n->rflags & 0x8d5, b = s->rflags & 0x8d5;

        report(t, c, "rflags", 0, &a, &b, 8);
    }
    compare_fx(t, c, n, s);
    for (unsigned i = 0; i < DATA_SIZE; i++) {
        if (nd[i] != sd[i]) {
            report(t, c, "data byte", i, &nd[i], &sd[i], 1);
            break;
        }
    }
}

static struct icase tcase;
static struct nstate nat_out, soft_out;
static uint8_t soft_data[DATA_SIZE];
static uint8_t nat_data_out[DATA_SIZE];
static bool have_native;

/* Per template: cases that completed, and exceptions by vector. */
static unsigned n_done, n_exc[32];

/* The host runs the template natively: the SSSE3..SSE4.2 and PCLMULQDQ
 * forms need the host to have them (hyvm builds for any x86-64). */
static bool host_has(const struct tmpl *t)
{
    if (t->map == 1 || (t->fl & T_UD)) {
        return true;
    }
    if ((t->map == 2 && (t->op <= 0x0b || (t->op >= 0x1c && t->op <= 0x1e))) ||
        (t->map == 3 && t->op == 0x0f)) {
        return __builtin_cpu_supports("ssse3");
    }
    if ((t->map == 2 && t->op == 0x37) || (t->map == 3 && t->op >= 0x60 && t->op <= 0x63)) {
        return __builtin_cpu_supports("sse4.2");
    }
    if (t->map == 3 && t->op == 0x44) {
        return __builtin_cpu_supports("pclmul");
    }
    return __builtin_cpu_supports("sse4.1");
}

static void run_template(const struct tmpl *t, unsigned count)
{
    if (!host_has(t)) {
        g_test_message("%s: the host lacks it, not compared", t->name);
        return;
    }
    n_done = 0;
    memset(n_exc, 0, sizeof(n_exc));
    for (unsigned k = 0; k < count; k++) {
        int nv, sv;

        make_case(t, &tcase);
        memcpy(nat_data, tcase.data, DATA_SIZE);
        nv = native_run(tcase.bytes, tcase.len, &tcase.st, &nat_out);
        memcpy(nat_data_out, nat_data, DATA_SIZE);
        sv = soft_run(tcase.bytes, tcase.len, &tcase.st, tcase.data, &soft_out, soft_data);
        if (nv != sv) {
            int a = nv, b = sv;

            report(t, &tcase, "outcome (-1 done, else vector)", 0, &a, &b, 4);
            continue;
        }
        if (nv == EXC_PF && nat_cr2 != cpu.exc.cr2) {
            uint64_t a = nat_cr2, b = cpu.exc.cr2;

            report(t, &tcase, "cr2", 0, &a, &b, 8);
        }
        if (nv < 0) {
            n_done++;
            compare(t, &tcase, &nat_out, &soft_out, nat_data_out, soft_data);
        } else {
            /* a fault leaves the registers as they were, x87 TOP and tags
             * included (no MMX transition) */
            n_exc[nv & 31]++;
            compare_fx(t, &tcase, &nat_out, &soft_out);
            /* ... and nothing stored, not even the part before the fault */
            if (memcmp(nat_data_out, soft_data, DATA_SIZE)) {
                report(t, &tcase, "data after fault", 0, &nv, &sv, 4);
            }
        }
    }
    if (g_getenv("TCG_SSE_STATS")) {
        fprintf(stderr, "%-20s %02x %u %02x: done %u ud %u gp %u pf %u other %u\n", t->name,
                t->pfx, t->map, t->op, n_done, n_exc[EXC_UD], n_exc[EXC_GP], n_exc[EXC_PF],
                count - n_done - n_exc[EXC_UD] - n_exc[EXC_GP] - n_exc[EXC_PF]);
    }
    /* every template but the holes has forms that run */
    if ((t->fl & T_UD) ? n_exc[EXC_UD] != count : !n_done) {
        report(t, &tcase, "no case completed", 0, &n_done, &n_done, 4);
    }
}

static void test_native(gconstpointer p)
{
    const char *group = p;
    unsigned count = 0;

    if (!have_native) {
        g_test_skip("cannot map the data area at its fixed address");
        return;
    }
    n_mismatch = 0;
    rng_state = g_str_hash(group) | 1;
    cpu_reset64();
    for (unsigned i = 0; i < G_N_ELEMENTS(tmpls); i++) {
        const struct tmpl *t = &tmpls[i];
        bool str = t->fl & T_STR;

        if (str != !strcmp(group, "sse42")) {
            continue;
        }
        run_template(t, str ? 2000 : 100);
        count++;
    }
    g_assert_cmpuint(count, >, 0);
    g_assert_cmpuint(n_mismatch, ==, 0);
}

/*
 * The templates again in compatibility mode (a 32-bit code segment under
 * IA-32e paging): no REX, 32-bit registers and addresses.  Linux's 32-bit
 * user code segment runs the native side; a kernel without it (no IA-32
 * emulation) skips the test.
 */
static void test_compat(void)
{
    /* inc %eax (a REX prefix in 64-bit mode); pxor %xmm1, %xmm0 */
    static const uint8_t probe[] = { 0x40, 0x66, 0x0f, 0xef, 0xc1 };
    unsigned count = 0;

    if (!have_native) {
        g_test_skip("cannot map the data area at its fixed address");
        return;
    }
    n_mismatch = 0;
    rng_state = 0xc0de;
    cpu_reset64();
    cpu.st.seg[S_CS].l = false;
    cpu.st.seg[S_CS].db = true;
    tcg_cpu_mode_changed(&cpu);
    g_assert_cmpint(cpu.mode, ==, MODE_PROT32);
    nat_compat = true;
    memset(&tcase, 0, sizeof(tcase));
    memcpy(tcase.st.fx + FX_FCW, "\x7f\x03", 2);
    memcpy(tcase.st.fx + FX_MXCSR, "\x80\x1f\x00\x00\xff\xff\x00\x00", 8);
    tcase.st.rflags = 0x202;
    if (native_run(probe, sizeof(probe), &tcase.st, &nat_out) != -1) {
        nat_compat = false;
        g_test_skip("the host kernel runs no 32-bit code");
        return;
    }
    g_assert_cmphex(nat_out.regs[R_EAX] & 0xffffffff, ==, 1);
    for (unsigned i = 0; i < G_N_ELEMENTS(tmpls); i++) {
        const struct tmpl *t = &tmpls[i];

        if (t->fl & T_A32) {
            continue;       /* a 67 prefix means 16-bit addresses here */
        }
        run_template(t, (t->fl & T_STR) ? 300 : 30);
        count++;
    }
    nat_compat = false;
    g_assert_cmpuint(count, >, 0);
    g_assert_cmpuint(n_mismatch, ==, 0);
}

/* ---- the whole legacy vector opcode space ---- */

/*
 * Encodings of features the software CPU does not offer but the host (AMD
 * Zen 4) runs: SSE4a (66/F2 0F 78/79, F3/F2 0F 2B), SHA, GFNI, AES-NI; and
 * INVPCID, a system instruction in the 0F 38 map.  Row F0-FF of 0F 38 is
 * skipped whole: MOVBE, CRC32, ADCX/ADOX, and stores through a register
 * (MOVDIRI, MOVDIR64B) that must not run natively on random registers.
 */
static bool sweep_skip(unsigned map, unsigned op, unsigned pfx)
{
    switch (map) {
    case 1:
        return ((op == 0x78 || op == 0x79) && (pfx == 0x66 || pfx == 0xf2)) ||
               (op == 0x2b && (pfx == 0xf3 || pfx == 0xf2));
    case 2:
        return (op >= 0xc8 && op <= 0xcd) || op == 0xcf || (op >= 0xdb && op <= 0xdf) ||
               op == 0x82 || op >= 0xf0;
    default:
        return op == 0xcc || op == 0xce || op == 0xcf || op == 0xdf;
    }
}

/*
 * Every opcode of the 0F, 0F 38 and 0F 3A maps with every mandatory prefix
 * that decodes as OP_SSE or OP_MMX, in register and memory forms: the
 * software CPU raises #UD exactly where the host does (the floating-point
 * forms of exec-sse-fp.c included).  Only that is compared here; the
 * templates above compare results.  ModRM fields never name RSP, which the
 * native side runs on (K_G in make_case).
 */
static void test_sweep(void)
{
    static const uint8_t pfxs[4] = { 0, 0x66, 0xf3, 0xf2 };
    unsigned n_forms = 0;

    if (!have_native) {
        g_test_skip("cannot map the data area at its fixed address");
        return;
    }
    n_mismatch = 0;
    rng_state = 0x5eed;
    cpu_reset64();
    for (unsigned map = 1; map <= 3; map++) {
        for (unsigned op = 0; op < 256; op++) {
            for (unsigned p = 0; p < 4; p++) {
                /* K_G: the fields stay off RSP, whatever they name */
                struct tmpl t = { "sweep", pfxs[p], (uint8_t)map, (uint8_t)op, K_G, K_G, 0, 0 };
                struct insn in;
                uint8_t probe[8] = { 0 };
                unsigned k = 0;

                if (pfxs[p]) {
                    probe[k++] = pfxs[p];
                }
                probe[k++] = 0x0f;
                if (map > 1) {
                    probe[k++] = map == 2 ? 0x38 : 0x3a;
                }
                probe[k++] = (uint8_t)op;
                probe[k++] = 0xc0;
                if (x86_decode(&in, probe, sizeof(probe), MODE_LONG64, NULL) != DECODE_OK ||
                    (in.op != OP_SSE && in.op != OP_MMX) || in.map != map ||
                    sweep_skip(map, op, pfxs[p])) {
                    continue;
                }
                /* (0F 38 and 0F 3A are escapes, not opcodes of the 0F map) */
                /* an imm8 where the decoder read one */
                if (in.len > k) {
                    t.fl |= T_IMM;
                }
                if (!in.has_modrm) {
                    t.fl |= T_NOMODRM;
                }
                n_forms++;
                for (unsigned c = 0; c < 6; c++) {
                    int nv, sv;

                    make_case(&t, &tcase);
                    memcpy(nat_data, tcase.data, DATA_SIZE);
                    nv = native_run(tcase.bytes, tcase.len, &tcase.st, &nat_out);
                    sv = soft_run(tcase.bytes, tcase.len, &tcase.st, tcase.data, &soft_out,
                                  soft_data);
                    if ((nv == EXC_UD) != (sv == EXC_UD)) {
                        report(&t, &tcase, "#UD (-1 done, else vector)", 0, &nv, &sv, 4);
                    }
                }
            }
        }
    }
    if (g_getenv("TCG_SSE_STATS")) {
        fprintf(stderr, "sweep: %u forms\n", n_forms);
    }
    g_assert_cmpuint(n_forms, >, 300);
    g_assert_cmpuint(n_mismatch, ==, 0);
}

/* ---- availability (SDM vol. 2, 2.4; vol. 3, 13.1-13.2) ---- */

static int step_bytes(const uint8_t *b, unsigned len)
{
    enum tcg_status st;

    g_assert_cmpint(ram_write(CODE, b, len), ==, 0);
    if (cpu.blocks) {
        tcg_code_written(&cpu, CODE);
    }
    cpu.st.rip = CODE;
    st = tcg_step(&cpu);
    if (st == TCG_EXCEPTION) {
        return cpu.exc.vector;
    }
    g_assert_cmpint(st, ==, TCG_OK);
    return -1;
}

static const uint8_t paddb_mm[] = { 0x0f, 0xfc, 0xc1 };           /* paddb %mm1, %mm0 */
static const uint8_t paddb_xmm[] = { 0x66, 0x0f, 0xfc, 0xc1 };    /* paddb %xmm1, %xmm0 */
static const uint8_t pshufb_mm[] = { 0x0f, 0x38, 0x00, 0xc1 };    /* pshufb %mm1, %mm0 */
static const uint8_t movq2dq[] = { 0xf3, 0x0f, 0xd6, 0xc1 };      /* movq2dq %mm1, %xmm0 */
static const uint8_t emms[] = { 0x0f, 0x77 };
static const uint8_t vpaddb[] = { 0xc5, 0xf9, 0xfc, 0xc1 };       /* vpaddb %xmm1, %xmm0, %xmm0 */
static const uint8_t movdqa_ld[] = { 0x66, 0x0f, 0x6f, 0x06 };    /* movdqa (%rsi), %xmm0 */
static const uint8_t movdqa_gs_ld[] = { 0x65, 0x66, 0x0f, 0x6f, 0x06 };  /* movdqa %gs:(%rsi) */
static const uint8_t movdqu_ld[] = { 0xf3, 0x0f, 0x6f, 0x06 };    /* movdqu (%rsi), %xmm0 */
static const uint8_t movq_mm_ld[] = { 0x0f, 0x6f, 0x06 };         /* movq (%rsi), %mm0 */
static const uint8_t movlpd_reg[] = { 0x66, 0x0f, 0x12, 0xc1 };   /* movlpd: memory only */
static const uint8_t aesenc[] = { 0x66, 0x0f, 0x38, 0xdc, 0xc1 }; /* aesenc: not offered */
static const uint8_t pshufw[] = { 0x0f, 0x70, 0xc1, 0x1b };       /* pshufw $0x1b, %mm1, %mm0 */
static const uint8_t movntq[] = { 0x0f, 0xe7, 0x06 };             /* movntq %mm0, (%rsi) */
static const uint8_t pavgb_mm[] = { 0x0f, 0xe0, 0xc1 };           /* pavgb %mm1, %mm0 (SSE) */
static const uint8_t paddq_mm[] = { 0x0f, 0xd4, 0xc1 };           /* paddq %mm1, %mm0 (SSE2) */
static const uint8_t pinsrw_mm[] = { 0x0f, 0xc4, 0xc0, 0x00 };    /* pinsrw $0, %eax, %mm0 */
static const uint8_t maskmovq[] = { 0x0f, 0xf7, 0xc1 };           /* maskmovq %mm1, %mm0 */
static const uint8_t palignr_mm[] = { 0x0f, 0x3a, 0x0f, 0xc1, 3 }; /* palignr $3 (SSSE3) */
/* the alignment check against the address checks: rBP makes SS operands */
static const uint8_t movdqa_bp_ld[] = { 0x66, 0x0f, 0x6f, 0x45, 0x00 };  /* movdqa (%rbp) */
static const uint8_t movdqa_bp_st[] = { 0x66, 0x0f, 0x7f, 0x45, 0x00 };  /* movdqa %xmm0, (%rbp) */
static const uint8_t movdqu_bp_ld[] = { 0xf3, 0x0f, 0x6f, 0x45, 0x00 };  /* movdqu (%rbp) */
static const uint8_t addps_bp[] = { 0x0f, 0x58, 0x45, 0x00 };            /* addps (%rbp), %xmm0 */
static const uint8_t movdqa_sp_ld[] = { 0x66, 0x0f, 0x6f, 0x04, 0x24 };  /* movdqa (%rsp) */

#define STEP(a) step_bytes(a, sizeof(a))

static void test_availability(void)
{
    cpu_reset64();
    cpu.st.regs[R_ESI] = 0x20000;

    /* CR0.EM: #UD for SSE and MMX alike */
    cpu.st.cr0 |= CR0_EM;
    g_assert_cmpint(STEP(paddb_mm), ==, EXC_UD);
    g_assert_cmpint(STEP(paddb_xmm), ==, EXC_UD);
    g_assert_cmpint(STEP(emms), ==, EXC_UD);
    cpu.st.cr0 &= ~CR0_EM;

    /* CR4.OSFXSR clear: the XMM forms are #UD; so are the MMX-register
     * forms of SSE, SSE2 and SSSE3 but PSHUFW and MOVNTQ (SDM vol. 3,
     * 13.1.4, word for word); MMX proper and EMMS run */
    cpu.st.cr4 &= ~CR4_OSFXSR;
    g_assert_cmpint(STEP(paddb_xmm), ==, EXC_UD);
    g_assert_cmpint(STEP(movq2dq), ==, EXC_UD);
    g_assert_cmpint(STEP(paddb_mm), ==, -1);
    g_assert_cmpint(STEP(emms), ==, -1);
    g_assert_cmpint(STEP(pshufw), ==, -1);
    g_assert_cmpint(STEP(movntq), ==, -1);
    g_assert_cmpint(STEP(pshufb_mm), ==, EXC_UD);
    g_assert_cmpint(STEP(palignr_mm), ==, EXC_UD);
    g_assert_cmpint(STEP(pavgb_mm), ==, EXC_UD);
    g_assert_cmpint(STEP(pinsrw_mm), ==, EXC_UD);
    g_assert_cmpint(STEP(maskmovq), ==, EXC_UD);
    g_assert_cmpint(STEP(paddq_mm), ==, EXC_UD);
    /* ... and #UD wins over #NM */
    cpu.st.cr0 |= CR0_TS;
    g_assert_cmpint(STEP(paddb_xmm), ==, EXC_UD);
    g_assert_cmpint(STEP(pshufb_mm), ==, EXC_UD);
    g_assert_cmpint(STEP(pshufw), ==, EXC_NM);
    g_assert_cmpint(STEP(paddb_mm), ==, EXC_NM);
    cpu.st.cr4 |= CR4_OSFXSR;
    g_assert_cmpint(STEP(pavgb_mm), ==, EXC_NM);
    g_assert_cmpint(STEP(pshufb_mm), ==, EXC_NM);
    cpu.st.cr0 &= ~CR0_TS;
    g_assert_cmpint(STEP(pavgb_mm), ==, -1);
    g_assert_cmpint(STEP(pshufb_mm), ==, -1);
    g_assert_cmpint(STEP(paddq_mm), ==, -1);
    cpu.st.cr0 |= CR0_TS;

    /* CR0.TS: #NM */
    g_assert_cmpint(STEP(paddb_xmm), ==, EXC_NM);
    g_assert_cmpint(STEP(paddb_mm), ==, EXC_NM);
    g_assert_cmpint(STEP(emms), ==, EXC_NM);
    cpu.st.cr0 &= ~CR0_TS;

    /* a pending x87 exception (FSW.ES) with CR0.NE: #MF for the forms on
     * MMX registers, EMMS included; XMM-only forms do not care */
    cpu.st.fpu.fsw = 0x0081;
    cpu.st.fpu.ftw = 0x12;
    g_assert_cmpint(STEP(paddb_mm), ==, EXC_MF);
    g_assert_cmpint(STEP(pshufb_mm), ==, EXC_MF);
    g_assert_cmpint(STEP(movq2dq), ==, EXC_MF);
    g_assert_cmpint(STEP(emms), ==, EXC_MF);
    g_assert_cmpint(STEP(paddb_xmm), ==, -1);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0x12);
    g_assert_cmphex(cpu.st.fpu.fsw, ==, 0x0081);
    cpu.st.fpu.fsw = 0;

    /* the MMX transition: TOP 0, all tags valid, the exponent of the
     * written register all ones; EMMS empties the tags */
    cpu.st.fpu.fsw = 5u << 11;
    cpu.st.fpu.ftw = 0x01;
    cpu.st.fpu.st[0].exp = 0x1234;
    cpu.st.fpu.st[1].exp = 0x4321;
    g_assert_cmpint(STEP(paddb_mm), ==, -1);
    g_assert_cmphex(cpu.st.fpu.fsw, ==, 0);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0xff);
    g_assert_cmphex(cpu.st.fpu.st[0].exp, ==, 0xffff);
    g_assert_cmphex(cpu.st.fpu.st[1].exp, ==, 0x4321);
    g_assert_cmpint(STEP(emms), ==, -1);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0);
    /* ... and EMMS sets TOP to 0 too (SDM vol. 3, 12.2; the host does),
     * keeping the condition codes */
    cpu.st.fpu.fsw = (6u << 11) | 0x4500;
    cpu.st.fpu.ftw = 0x3c;
    g_assert_cmpint(STEP(emms), ==, -1);
    g_assert_cmphex(cpu.st.fpu.fsw, ==, 0x4500);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0);
    /* XMM-only forms leave the x87 state alone */
    cpu.st.fpu.fsw = 3u << 11;
    g_assert_cmpint(STEP(paddb_xmm), ==, -1);
    g_assert_cmphex(cpu.st.fpu.fsw, ==, 3u << 11);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0);

    /* VEX forms: AVX is not offered; AES-NI neither */
    g_assert_cmpint(STEP(vpaddb), ==, EXC_UD);
    g_assert_cmpint(STEP(aesenc), ==, EXC_UD);

    /* a form whose feature the guest's CPUID lacks is #UD, ahead of #NM;
     * so is a register form of a memory-only instruction */
    cpu.st.cr0 |= CR0_TS;
    cpuid_leaf1->ecx &= ~(1u << 9);
    g_assert_cmpint(STEP(pshufb_mm), ==, EXC_UD);
    cpuid_leaf1->ecx |= 1u << 9;
    g_assert_cmpint(STEP(pshufb_mm), ==, EXC_NM);
    cpuid_leaf1->edx &= ~(1u << 23);
    g_assert_cmpint(STEP(paddb_mm), ==, EXC_UD);
    g_assert_cmpint(STEP(emms), ==, EXC_UD);
    cpuid_leaf1->edx |= 1u << 23;
    cpuid_leaf1->edx &= ~(1u << 26);
    g_assert_cmpint(STEP(paddb_xmm), ==, EXC_UD);
    cpuid_leaf1->edx |= 1u << 26;
    g_assert_cmpint(STEP(movlpd_reg), ==, EXC_UD);
    g_assert_cmpint(STEP(paddb_xmm), ==, EXC_NM);
    cpu.st.cr0 &= ~CR0_TS;

    /* a faulting MMX load makes no transition to MMX state */
    cpu.st.fpu.fsw = 5u << 11;
    cpu.st.fpu.ftw = 0x0f;
    cpu.st.regs[R_ESI] = 1ull << 60;
    g_assert_cmpint(STEP(movq_mm_ld), ==, EXC_GP);
    g_assert_cmphex(cpu.st.fpu.fsw, ==, 5u << 11);
    g_assert_cmphex(cpu.st.fpu.ftw, ==, 0x0f);

    /* 16-byte alignment: #GP(0) for MOVDQA, none for MOVDQU and MMX */
    cpu.st.regs[R_ESI] = 0x20008;
    g_assert_cmpint(STEP(movdqa_ld), ==, EXC_GP);
    g_assert_true(cpu.exc.has_error_code);
    g_assert_cmpuint(cpu.exc.error_code, ==, 0);
    g_assert_cmpint(STEP(movdqu_ld), ==, -1);
    g_assert_cmpint(STEP(movq_mm_ld), ==, -1);
    cpu.st.regs[R_ESI] = 0x20010;
    g_assert_cmpint(STEP(movdqa_ld), ==, -1);
    /* ... of the linear address, segment base included (measured on the
     * host with a GS base of 8) */
    cpu.st.seg[S_GS].base = 8;
    cpu.st.regs[R_ESI] = 0x20008;
    g_assert_cmpint(STEP(movdqa_gs_ld), ==, -1);
    cpu.st.regs[R_ESI] = 0x20010;
    g_assert_cmpint(STEP(movdqa_gs_ld), ==, EXC_GP);

    /* the alignment #GP(0) comes before the canonical check: a misaligned
     * non-canonical SS operand is #GP(0), an aligned one #SS(0) (measured
     * on the host by the differential tester); loads, stores, and the FP
     * forms of exec-sse-fp.c alike (all through sse_read_rm/sse_write_rm) */
    cpu.st.regs[R_EBP] = (1ull << 60) | 8;
    g_assert_cmpint(STEP(movdqa_bp_ld), ==, EXC_GP);
    g_assert_cmpuint(cpu.exc.error_code, ==, 0);
    g_assert_cmpint(STEP(movdqa_bp_st), ==, EXC_GP);
    g_assert_cmpint(STEP(addps_bp), ==, EXC_GP);
    g_assert_cmpint(STEP(movdqu_bp_ld), ==, EXC_SS);
    cpu.st.regs[R_ESP] = (1ull << 60) | 4;
    g_assert_cmpint(STEP(movdqa_sp_ld), ==, EXC_GP);
    cpu.st.regs[R_ESP] = 1ull << 60;
    g_assert_cmpint(STEP(movdqa_sp_ld), ==, EXC_SS);
    cpu.st.regs[R_EBP] = 1ull << 60;
    g_assert_cmpint(STEP(movdqa_bp_ld), ==, EXC_SS);
    g_assert_true(cpu.exc.has_error_code);
    g_assert_cmpuint(cpu.exc.error_code, ==, 0);
    g_assert_cmpint(STEP(movdqa_bp_st), ==, EXC_SS);
    g_assert_cmpint(STEP(addps_bp), ==, EXC_SS);
    cpu.st.regs[R_EBP] = 0x20000;
    g_assert_cmpint(STEP(movdqa_bp_ld), ==, -1);
}

/*
 * CR4.OSFXSR = 0 over every MMX-register template: SDM vol. 3, 13.1.4
 * read word for word ("does not affect the PSHUFW, MOVNTQ, MOVNTI, ...
 * instructions"): the forms SSE, SSE2 and SSSE3 added are #UD but PSHUFW
 * and MOVNTQ; the MMX instructions proper run.  The list here is the SDM's
 * (vol. 2, each instruction's CPUID column), kept apart from
 * exec-sse-int.c's own.
 */
static bool osfxsr_ud_expected(const struct tmpl *t)
{
    /* 0F xx forms on MMX registers that SSE/SSE2 added, PSHUFW (70) and
     * MOVNTQ (E7) left out */
    static const uint8_t sse_mmx[] = { 0xc4, 0xc5, 0xd4, 0xd7, 0xda, 0xde, 0xe0, 0xe3,
                                       0xe4, 0xea, 0xee, 0xf4, 0xf6, 0xf7, 0xfb };

    if (t->map != 1) {
        return true;                    /* SSSE3: PSHUFB ... PALIGNR */
    }
    return memchr(sse_mmx, t->op, sizeof(sse_mmx)) != NULL;
}

static void test_osfxsr_mmx(void)
{
    unsigned n_ud = 0, n_run = 0;

    cpu_reset64();
    cpu.st.cr4 &= ~CR4_OSFXSR;
    for (unsigned i = 0; i < G_N_ELEMENTS(tmpls); i++) {
        const struct tmpl *t = &tmpls[i];
        bool ud = osfxsr_ud_expected(t);
        uint8_t b[8];
        unsigned n = 0, reg = 0;
        int v;

        if (t->pfx || (t->fl & (T_UD | T_A32)) || (t->regk != K_M && t->rmk != K_M)) {
            continue;               /* not an MMX-register form */
        }
        if (t->fl & T_GRP) {
            reg = (unsigned)__builtin_ctz(t->grp);
        }
        b[n++] = 0x0f;
        if (t->map != 1) {
            b[n++] = t->map == 2 ? 0x38 : 0x3a;
        }
        b[n++] = t->op;
        /* MOVNTQ is memory-only: [rsi]; every other form a register one */
        b[n++] = (uint8_t)(t->op == 0xe7 && t->map == 1 ? 0x06 : 0xc1 | (reg << 3));
        if (t->fl & T_IMM) {
            b[n++] = 1;
        }
        cpu.st.regs[R_ESI] = cpu.st.regs[R_EDI] = 0x20000;
        cpu.st.fpu.fsw = 0;
        v = step_bytes(b, n);
        if (ud ? v != EXC_UD : v != -1) {
            g_test_message("%s (0f %02x, map %u): vector %d with OSFXSR clear", t->name, t->op,
                           t->map, v);
            g_test_fail();
        }
        if (ud) {
            n_ud++;
        } else {
            n_run++;
        }
    }
    /* the list above covers them all: PINSRW..MASKMOVQ, PADDQ/PMULUDQ/PSUBQ
     * and the 16 SSSE3 forms; MMX proper and PSHUFW, MOVNTQ, EMMS run */
    g_assert_cmpuint(n_ud, ==, 15 + 16);
    g_assert_cmpuint(n_run, >=, 40);
    cpu.st.cr4 |= CR4_OSFXSR;
}

/* ---- a few fixed answers, so a wrong host is noticed too ---- */

static void test_fixed(void)
{
    /* pcmpistri $0x0c, (%rsi), %xmm1: "lo" found at index 2 of "hello" */
    static const uint8_t pcmpistri[] = { 0x66, 0x0f, 0x3a, 0x63, 0x0e, 0x0c };
    /* pclmulqdq $0x00, %xmm1, %xmm0 */
    static const uint8_t pclmul[] = { 0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00 };
    /* ptest %xmm1, %xmm0 */
    static const uint8_t ptest[] = { 0x66, 0x0f, 0x38, 0x17, 0xc1 };
    static const char hello[16] = "hello";

    cpu_reset64();
    g_assert_cmpint(ram_write(0x20000, hello, 16), ==, 0);
    memset(&cpu.st.fpu.xmm[1], 0, 16);
    memcpy(&cpu.st.fpu.xmm[1], "lo", 2);
    cpu.st.regs[R_ESI] = 0x20000;
    cpu.st.regs[R_ECX] = ~0ull;
    g_assert_cmpint(STEP(pcmpistri), ==, -1);
    g_assert_cmphex(cpu.st.regs[R_ECX], ==, 3);
    /* CF (found), ZF (the string ends), SF (so does the needle) */
    g_assert_cmphex(cpu.st.rflags & 0x8d5, ==, RFLAGS_CF | RFLAGS_ZF | RFLAGS_SF);

    /* (x + 1) * (x + 1) = x^2 + 1 carry-less; x^63 * x^63 = x^126 */
    cpu.st.fpu.xmm[0].lo = 3;
    cpu.st.fpu.xmm[1].lo = 3;
    g_assert_cmpint(STEP(pclmul), ==, -1);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 5);
    g_assert_cmphex(cpu.st.fpu.xmm[0].hi, ==, 0);
    cpu.st.fpu.xmm[0].lo = 1ull << 63;
    cpu.st.fpu.xmm[1].lo = 1ull << 63;
    g_assert_cmpint(STEP(pclmul), ==, -1);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0);
    g_assert_cmphex(cpu.st.fpu.xmm[0].hi, ==, 1ull << 62);

    cpu.st.fpu.xmm[0].lo = 0xf0;
    cpu.st.fpu.xmm[0].hi = 0;
    cpu.st.fpu.xmm[1].lo = 0x0f;
    cpu.st.fpu.xmm[1].hi = 0;
    cpu.st.rflags = 2 | RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
    g_assert_cmpint(STEP(ptest), ==, -1);
    g_assert_cmphex(cpu.st.rflags, ==, 2 | RFLAGS_ZF);
}

/* ---- 32-bit protected mode: segment limits and 32-bit registers ---- */

static void test_prot32(void)
{
    static const uint8_t movdqu_ld32[] = { 0xf3, 0x0f, 0x6f, 0x06 };   /* movdqu (%esi), %xmm0 */
    static const uint8_t movd_st32[] = { 0x66, 0x0f, 0x7e, 0xc1 };     /* movd %xmm0, %ecx */
    static const uint8_t movq_mm32[] = { 0x0f, 0x6f, 0x0e };           /* movq (%esi), %mm1 */
    static const uint8_t maskmov32[] = { 0x66, 0x0f, 0xf7, 0xc1 };     /* maskmovdqu */
    static const uint8_t movdqa_bp32[] = { 0x66, 0x0f, 0x6f, 0x45, 0x00 };  /* movdqa (%ebp) */
    static const uint8_t movdqu_bp32[] = { 0xf3, 0x0f, 0x6f, 0x45, 0x00 };  /* movdqu (%ebp) */
    static const uint8_t addps_bp32[] = { 0x0f, 0x58, 0x45, 0x00 };         /* addps (%ebp) */
    static const uint8_t bytes[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    uint8_t out[16];

    memset(&cpu, 0, sizeof(cpu));
    cpuid_setup();
    x86_cpu_state_flat32(&cpu.st, CODE);
    cpu.st.cr4 |= CR4_OSFXSR;
    cpu.st.cr0 |= CR0_NE;
    tcg_cpu_mode_changed(&cpu);
    tcg_tlb_flush(&cpu);
    g_assert_cmpint(cpu.mode, ==, MODE_PROT32);
    g_assert_cmpint(ram_write(0x20000, bytes, 16), ==, 0);

    cpu.st.regs[R_ESI] = 0x20000;
    g_assert_cmpint(STEP(movdqu_ld32), ==, -1);
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0x0807060504030201ull);
    g_assert_cmphex(cpu.st.fpu.xmm[0].hi, ==, 0x100f0e0d0c0b0a09ull);
    cpu.st.regs[R_ECX] = ~0ull;
    g_assert_cmpint(STEP(movd_st32), ==, -1);
    g_assert_cmphex(cpu.st.regs[R_ECX], ==, 0x04030201);
    g_assert_cmpint(STEP(movq_mm32), ==, -1);
    g_assert_cmphex(cpu.st.fpu.st[1].mant, ==, 0x0807060504030201ull);

    /* a 16-byte access past the DS limit: #GP(0), as any other access */
    cpu.st.seg[S_DS].limit = 0x2000f;
    cpu.st.regs[R_ESI] = 0x20008;
    g_assert_cmpint(STEP(movdqu_ld32), ==, EXC_GP);
    g_assert_cmpint(STEP(movq_mm32), ==, -1);
    cpu.st.regs[R_ESI] = 0x20009;
    g_assert_cmpint(STEP(movq_mm32), ==, EXC_GP);

    /* MASKMOVDQU stores through DS:EDI, inside the limit */
    cpu.st.fpu.xmm[0].lo = 0x1111111111111111ull;
    cpu.st.fpu.xmm[0].hi = 0x2222222222222222ull;
    cpu.st.fpu.xmm[1].lo = 0x80;
    cpu.st.fpu.xmm[1].hi = 0x8000000000000000ull;
    cpu.st.regs[R_EDI] = 0x20000;
    g_assert_cmpint(STEP(maskmov32), ==, -1);
    g_assert_cmpint(ram_read(0x20000, out, 16), ==, 0);
    g_assert_cmphex(out[0], ==, 0x11);
    g_assert_cmphex(out[1], ==, 2);
    g_assert_cmphex(out[14], ==, 15);
    g_assert_cmphex(out[15], ==, 0x22);
    cpu.st.regs[R_EDI] = 0x20001;
    g_assert_cmpint(STEP(maskmov32), ==, EXC_GP);
    g_assert_cmpint(ram_read(0x20000, out, 16), ==, 0);
    g_assert_cmphex(out[1], ==, 2);

    /* past the SS limit: #SS(0) for an aligned operand, but #GP(0) for a
     * misaligned one of an aligned form, whose check comes first (the
     * host's order, found by the differential tester in 16-bit mode) */
    cpu.st.seg[S_SS].limit = 0x2000f;
    cpu.st.regs[R_EBP] = 0x20000;
    g_assert_cmpint(STEP(movdqa_bp32), ==, -1);
    cpu.st.regs[R_EBP] = 0x20010;
    g_assert_cmpint(STEP(movdqa_bp32), ==, EXC_SS);
    g_assert_cmpint(STEP(addps_bp32), ==, EXC_SS);
    cpu.st.regs[R_EBP] = 0x20018;
    g_assert_cmpint(STEP(movdqa_bp32), ==, EXC_GP);
    g_assert_cmpint(STEP(addps_bp32), ==, EXC_GP);
    g_assert_cmpint(STEP(movdqu_bp32), ==, EXC_SS);
    /* alignment is of the linear address: SS base 8 makes offset 8 aligned */
    cpu.st.seg[S_SS].base = 8;
    cpu.st.regs[R_EBP] = 0x20008;
    g_assert_cmpint(STEP(movdqa_bp32), ==, EXC_SS);
    cpu.st.regs[R_EBP] = 0x1fff8;
    g_assert_cmpint(STEP(movdqa_bp32), ==, -1);
    /* (byte 0 is MASKMOVDQU's above) */
    g_assert_cmphex(cpu.st.fpu.xmm[0].lo, ==, 0x0807060504030211ull);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, NULL), ==, 0);
    have_native = native_init();

    g_test_add_func("/tcg-sse/availability", test_availability);
    g_test_add_func("/tcg-sse/osfxsr-mmx-forms", test_osfxsr_mmx);
    g_test_add_func("/tcg-sse/fixed", test_fixed);
    g_test_add_func("/tcg-sse/prot32", test_prot32);
    g_test_add_data_func("/tcg-sse/native/integer-moves", "int", test_native);
    g_test_add_data_func("/tcg-sse/native/sse42-strings", "sse42", test_native);
    g_test_add_func("/tcg-sse/native/compat32", test_compat);
    g_test_add_func("/tcg-sse/native/opcode-sweep", test_sweep);
    return g_test_run();
}
