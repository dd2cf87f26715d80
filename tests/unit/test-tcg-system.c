/*
 * Unit test "tcg-system": the system-architecture instructions of the
 * software CPU (exec-syscall.c, exec-system.c, exec-control.c, mmu.c) run
 * through the real decoder and executor (tcg_step) on guest RAM:
 * SYSCALL/SYSRET and SYSENTER/SYSEXIT round trips, LAR/LSL/VERR/VERW,
 * the IRET forms (vm86 entry and exit, interrupts from vm86, task
 * return), the I/O permission bitmap, breakpoints and single step, the
 * MSRs, #PF error codes and the TLB flushes of CR3/CR4 writes.
 *
 * Each test builds its descriptor tables and page tables from scratch in
 * 16 MiB of guest RAM; instructions are placed at CS:rIP and stepped one
 * at a time.  Expected values come from the Intel SDM (volume and section
 * at each check).  Where Intel and AMD differ, a small CPUID table names
 * the vendor the guest sees.
 *
 * Threads: the gtest main thread only.
 */
#include <string.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "arch/x86/cpu-models.h"
#include "system/memory.h"
#include "tests/unit/guest-ram.h"

#define RAM_SIZE (16u << 20)

#define GDT 0x5000
#define IDT 0x6000
#define TSS 0x7000          /* 32-bit TSS with an I/O bitmap at +0x68 */
#define TSS2 0xa000         /* a second task */
#define PML4 0x10000
#define CODE 0x100000
#define STACK 0x90000

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define PS 0x80ull
#define XD (1ull << 63)

/* ---- CPUID tables the guest sees ---- */

#define INTEL_EBX 0x756e6547
#define INTEL_EDX 0x49656e69
#define INTEL_ECX 0x6c65746e
#define AMD_EBX 0x68747541
#define AMD_EDX 0x69746e65
#define AMD_ECX 0x444d4163

/* Everything this file tests is offered: MONITOR, PCID, TSC_ADJUST,
 * INVPCID, RDPID, IBRS/IBPB, ARCH_CAPABILITIES, NX, LM, RDTSCP. */
static struct x86_cpuid_entry cpuid_full[] = {
    { .function = 0, .eax = 7 },
    { .function = 1, .ecx = (1u << 3) | (1u << 17) },
    { .function = 7, .has_index = true, .ebx = (1u << 1) | (1u << 10), .ecx = 1u << 22,
      .edx = (1u << 26) | (1u << 29) },
    { .function = 0x80000000, .eax = 0x80000008 },
    { .function = 0x80000001, .edx = (1u << 11) | (1u << 20) | (1u << 27) | (1u << 29) },
};
/* Only long mode: no NX, no RDTSCP, no MONITOR, nothing of leaf 7. */
static struct x86_cpuid_entry cpuid_bare[] = {
    { .function = 0, .eax = 1 },
    { .function = 1 },
    { .function = 0x80000000, .eax = 0x80000001 },
    { .function = 0x80000001, .edx = (1u << 11) | (1u << 29) },
};

static void set_vendor(struct x86_cpuid_entry *t, bool intel)
{
    t[0].ebx = intel ? INTEL_EBX : AMD_EBX;
    t[0].edx = intel ? INTEL_EDX : AMD_EDX;
    t[0].ecx = intel ? INTEL_ECX : AMD_ECX;
}

static void use_cpuid(struct tcg_cpu *cpu, struct x86_cpuid_entry *t, unsigned n, bool intel)
{
    set_vendor(t, intel);
    cpu->cpuid = t;
    cpu->ncpuid = n;
}

#define USE_FULL(cpu, intel) use_cpuid(cpu, cpuid_full, G_N_ELEMENTS(cpuid_full), intel)
#define USE_BARE(cpu, intel) use_cpuid(cpu, cpuid_bare, G_N_ELEMENTS(cpuid_bare), intel)

/* ---- CPUs ---- */

/*
 * The GDT every test uses.  SYSENTER_CS 0x08 gives SYSEXIT 0x1b/0x23
 * (32-bit) and 0x2b/0x33 (64-bit); the others are for LAR and friends.
 */
static void build_gdt(struct tcg_cpu *cpu)
{
    static const uint64_t gdt[] = {
        0,
        0x00cf9a000000ffffull,      /* 0x08 code32 DPL 0 */
        0x00cf92000000ffffull,      /* 0x10 data DPL 0 */
        0x00cffa000000ffffull,      /* 0x18 code32 DPL 3 */
        0x00cff2000000ffffull,      /* 0x20 data DPL 3 */
        0x00affa000000ffffull,      /* 0x28 code64 DPL 3 */
        0x00cff2000000ffffull,      /* 0x30 data DPL 3 */
        0x00af9a000000ffffull,      /* 0x38 code64 DPL 0 */
        0,                          /* 0x40 TSS (build_tss) */
        0,                          /* 0x48 TSS2 */
        0x00cf9e000000ffffull,      /* 0x50 conforming code DPL 0 */
        0x00cf98000000ffffull,      /* 0x58 execute-only code DPL 0 */
        0x00cf12000000ffffull,      /* 0x60 data, not present */
        0x00cf90000000ffffull,      /* 0x68 read-only data DPL 0 */
        0x0000820060000fffull,      /* 0x70 LDT at 0x6000, limit 0xfff */
        0x0000ec0000080000ull,      /* 0x78 call gate DPL 3 */
        0x00409a000000ffffull,      /* 0x80 code32, byte limit 0xffff */
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(gdt); i++) {
        put64(GDT + i * 8, gdt[i]);
    }
    cpu->st.gdt.base = GDT;
    cpu->st.gdt.limit = sizeof(gdt) - 1;
}

/* A 32-bit available TSS descriptor at GDT + slot for base/limit. */
static void put_tss_desc(unsigned slot, uint32_t base, uint32_t limit, bool busy)
{
    put64(GDT + slot, (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
                      ((uint64_t)(busy ? 0x8b : 0x89) << 40) |
                      ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(base >> 24) << 56));
}

/* TR = 0x40, a 32-bit TSS with ESP0 = STACK, SS0 = 0x10 and an I/O
 * bitmap of 0x2000 bytes plus the final 0xff at +0x68 (all ports denied
 * until allowed). */
static void build_tss(struct tcg_cpu *cpu)
{
    uint32_t limit = 0x68 + 0x2000;

    for (uint32_t i = 0; i <= 0x2000; i++) {
        put8(TSS + 0x68 + i, 0xff);
    }
    put32(TSS + 4, STACK);
    put32(TSS + 8, 0x10);
    put16(TSS + 0x66, 0x68);
    put_tss_desc(0x40, TSS, limit, true);
    cpu->st.seg[S_TR] = (struct x86_segment){ .selector = 0x40, .base = TSS, .limit = limit,
                                              .type = 0xb, .present = true };
}

/* Flat 32-bit protected mode at CPL 0, paging off, rip at CODE. */
static struct tcg_cpu *new_cpu32(void)
{
    struct tcg_cpu *cpu = g_new0(struct tcg_cpu, 1);

    memset(ram_hva(0, RAM_SIZE), 0, RAM_SIZE);
    x86_cpu_state_flat32(&cpu->st, CODE);
    cpu->blocks = tcg_blocks_new();
    cpu->mode = MODE_PROT32;
    tcg_cpu_mode_changed(cpu);
    tcg_tlb_flush(cpu);
    build_gdt(cpu);
    build_tss(cpu);
    cpu->st.regs[R_ESP] = STACK;
    cpu->st.idt.base = IDT;
    cpu->st.idt.limit = 0x7ff;
    return cpu;
}

/* Loads CS with a 64-bit (l) or 32-bit code segment at dpl, SS with data. */
static void set_cs(struct tcg_cpu *cpu, uint16_t sel, bool l, unsigned dpl)
{
    cpu->st.seg[S_CS] = (struct x86_segment){ .selector = sel, .limit = 0xffffffff, .type = 0xb,
                                              .s = true, .present = true, .dpl = dpl,
                                              .db = !l, .l = l, .g = true };
    cpu->st.seg[S_SS] = (struct x86_segment){ .selector = (uint16_t)((dpl ? 0x20 : 0x10) | dpl),
                                              .limit = 0xffffffff, .type = 0x3, .s = true,
                                              .present = true, .dpl = dpl, .db = true,
                                              .g = true };
    tcg_cpu_mode_changed(cpu);
    g_assert_cmpuint(cpu->cpl, ==, dpl);
}

/* IA-32e mode with the first GiB identity-mapped (user, writable), 64-bit
 * code at CPL 0. */
static struct tcg_cpu *new_cpu64(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    put64(PML4, (PML4 + 0x1000) | P | RW | US);
    put64(PML4 + 0x1000, 0 | P | RW | US | PS);
    cpu->st.cr3 = PML4;
    cpu->st.cr4 = CR4_PAE;
    cpu->st.efer = EFER_LME | EFER_LMA | EFER_SCE;
    cpu->st.cr0 |= CR0_PG;
    tcg_tlb_flush(cpu);
    set_cs(cpu, 0x38, true, 0);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    cpu->st.seg[S_TR].type = 0xb;
    return cpu;
}

static void free_cpu(struct tcg_cpu *cpu)
{
    tcg_blocks_free(cpu->blocks);
    g_free(cpu);
}

/* The linear address of CS:rIP (paging, where on, is the identity). */
static uint64_t pc(const struct tcg_cpu *cpu)
{
    uint64_t lin = cpu->st.seg[S_CS].base + cpu->st.rip;

    return cpu->mode == MODE_LONG64 ? cpu->st.rip : lin & 0xffffffffull;
}

/* Real mode at 0000:1000. */
static void to_real(struct tcg_cpu *cpu)
{
    x86_cpu_state_reset(&cpu->st, true);
    cpu->st.seg[S_CS].selector = 0;
    cpu->st.seg[S_CS].base = 0;
    cpu->st.rip = 0x1000;
    tcg_cpu_mode_changed(cpu);
    g_assert_cmpint(cpu->mode, ==, MODE_REAL16);
}

/* Places one instruction at CS:rIP and runs it. */
static enum tcg_status exec1(struct tcg_cpu *cpu, const uint8_t *bytes, size_t len)
{
    g_assert_cmpint(ram_write(pc(cpu), bytes, len), ==, 0);
    tcg_code_written(cpu, pc(cpu) & ~0xfffull);
    return tcg_step(cpu);
}

#define EXEC(cpu, ...) \
    exec1(cpu, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

#define ASSERT_EXC(cpu, st, vec, err)                          \
    do {                                                       \
        g_assert_cmpint((st), ==, TCG_EXCEPTION);              \
        g_assert_cmpuint((cpu)->exc.vector, ==, (vec));        \
        g_assert_true((cpu)->exc.has_error_code);              \
        g_assert_cmphex((cpu)->exc.error_code, ==, (err));     \
    } while (0)
#define ASSERT_UD(cpu, st)                                     \
    do {                                                       \
        g_assert_cmpint((st), ==, TCG_EXCEPTION);              \
        g_assert_cmpuint((cpu)->exc.vector, ==, EXC_UD);       \
    } while (0)

static uint64_t rdmsr(struct tcg_cpu *cpu, uint32_t msr, enum tcg_status *st)
{
    cpu->st.regs[R_ECX] = msr;
    *st = EXEC(cpu, 0x0f, 0x32);
    return (cpu->st.regs[R_EAX] & 0xffffffffull) | (cpu->st.regs[R_EDX] << 32);
}

static enum tcg_status wrmsr(struct tcg_cpu *cpu, uint32_t msr, uint64_t v)
{
    cpu->st.regs[R_ECX] = msr;
    cpu->st.regs[R_EAX] = v & 0xffffffffull;
    cpu->st.regs[R_EDX] = v >> 32;
    return EXEC(cpu, 0x0f, 0x30);
}

#define RDMSR_OK(cpu, msr) ({ enum tcg_status s_; uint64_t v_ = rdmsr(cpu, msr, &s_); \
                              g_assert_cmpint(s_, ==, TCG_OK); v_; })
#define WRMSR_OK(cpu, msr, v) g_assert_cmpint(wrmsr(cpu, msr, v), ==, TCG_OK)
#define WRMSR_GP(cpu, msr, v) ASSERT_EXC(cpu, wrmsr(cpu, msr, v), EXC_GP, 0)
#define RDMSR_GP(cpu, msr) do { enum tcg_status s_; (void)rdmsr(cpu, msr, &s_); \
                                ASSERT_EXC(cpu, s_, EXC_GP, 0); } while (0)

/* ---- SYSCALL / SYSRET (SDM vol. 2B) ---- */

static void test_syscall64(void)
{
    struct tcg_cpu *cpu = new_cpu64();
    uint64_t user_flags;

    USE_FULL(cpu, true);
    /* Linux's layout: kernel CS 0x10 / SS 0x18, user CS32 0x23, SS 0x2b, CS64 0x33. */
    cpu->msr_star = (0x23ull << 48) | (0x10ull << 32);
    cpu->msr_lstar = 0xffffffff81000000ull;
    cpu->msr_fmask = RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC;
    set_cs(cpu, 0x33, true, 3);
    cpu->st.rflags = RFLAGS_FIXED | RFLAGS_IF | RFLAGS_DF | RFLAGS_CF | RFLAGS_RF;
    user_flags = cpu->st.rflags;
    cpu->st.rip = CODE;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x05), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0xffffffff81000000ull);
    g_assert_cmphex(cpu->st.regs[R_ECX], ==, CODE + 2);
    g_assert_cmphex(cpu->st.regs[R_R11], ==, user_flags & ~RFLAGS_RF);
    g_assert_cmphex(cpu->st.rflags, ==, RFLAGS_FIXED | RFLAGS_CF);
    g_assert_cmpuint(cpu->cpl, ==, 0);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x10);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x18);
    g_assert_true(cpu->st.seg[S_SS].db && cpu->st.seg[S_SS].dpl == 0);

    /* SYSRETQ: 64-bit CPL 3 code at RCX, RFLAGS from R11 (RF, VM cleared). */
    cpu->st.rip = CODE + 0x100;
    cpu->st.regs[R_R11] |= RFLAGS_VM | RFLAGS_RF;
    g_assert_cmpint(EXEC(cpu, 0x48, 0x0f, 0x07), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 2);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x33);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x2b);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    g_assert_cmphex(cpu->st.rflags, ==, user_flags & ~RFLAGS_RF);

    /* SYSRET without REX.W: compatibility mode at ECX, CS = STAR[63:48]. */
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x05), ==, TCG_JUMPED);
    cpu->st.rip = CODE + 0x100;
    cpu->st.regs[R_ECX] = 0xdead00001234ull;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x07), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x1234);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x23);
    g_assert_cmpint(cpu->mode, ==, MODE_PROT32);

    /* SYSRET outside ring 0: #GP(0); SYSCALL with EFER.SCE clear: #UD. */
    cpu->st.rip = CODE;
    cpu->st.efer &= ~EFER_SCE;
    set_cs(cpu, 0x33, true, 3);
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x05));
    cpu->st.efer |= EFER_SCE;
    ASSERT_EXC(cpu, EXEC(cpu, 0x48, 0x0f, 0x07), EXC_GP, 0);

    /* Intel: a non-canonical RCX is #GP(0) at CPL 0, nothing changed. */
    set_cs(cpu, 0x38, true, 0);
    cpu->st.regs[R_ECX] = 0x0000800000000000ull;
    ASSERT_EXC(cpu, EXEC(cpu, 0x48, 0x0f, 0x07), EXC_GP, 0);
    g_assert_cmpuint(cpu->cpl, ==, 0);
    /* AMD: loaded, and the fetch at CPL 3 faults instead. */
    USE_FULL(cpu, false);
    g_assert_cmpint(EXEC(cpu, 0x48, 0x0f, 0x07), ==, TCG_JUMPED);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    g_assert_cmphex(cpu->st.rip, ==, 0x0000800000000000ull);
    ASSERT_EXC(cpu, tcg_step(cpu), EXC_GP, 0);
    free_cpu(cpu);
}

/* Compatibility mode: AMD goes to CSTAR, Intel has no SYSCALL there. */
static void test_syscall_compat(void)
{
    struct tcg_cpu *cpu = new_cpu64();

    cpu->msr_star = (0x23ull << 48) | (0x10ull << 32);
    cpu->msr_cstar = 0xffffffff82000000ull;
    cpu->msr_fmask = RFLAGS_IF;
    set_cs(cpu, 0x1b, false, 3);
    g_assert_cmpint(cpu->mode, ==, MODE_PROT32);
    cpu->st.rflags |= RFLAGS_IF;
    cpu->st.rip = CODE;
    USE_FULL(cpu, true);
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x05));
    USE_FULL(cpu, false);
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x05), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0xffffffff82000000ull);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    g_assert_cmphex(cpu->st.regs[R_ECX], ==, CODE + 2);
    g_assert_false(cpu->st.rflags & RFLAGS_IF);
    free_cpu(cpu);
}

/* AMD's legacy-mode SYSCALL: ECX = return eip, IF cleared, EIP = STAR[31:0]. */
static void test_syscall_legacy(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    USE_FULL(cpu, false);
    cpu->st.efer = EFER_SCE;
    cpu->msr_star = (0x1bull << 48) | (0x08ull << 32) | 0x200000;
    set_cs(cpu, 0x1b, false, 3);
    cpu->st.rflags |= RFLAGS_IF;
    cpu->st.rip = CODE;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x05), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x200000);
    g_assert_cmphex(cpu->st.regs[R_ECX], ==, CODE + 2);
    g_assert_cmpuint(cpu->cpl, ==, 0);
    g_assert_false(cpu->st.rflags & RFLAGS_IF);
    /* SYSRET back: CS = STAR[63:48] | 3, IF set again. */
    cpu->st.regs[R_ECX] = CODE + 2;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x07), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x1b);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x23);
    g_assert_true(cpu->st.rflags & RFLAGS_IF);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    /* Intel: #UD outside 64-bit mode. */
    USE_FULL(cpu, true);
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x05));
    free_cpu(cpu);
}

/* ---- SYSENTER / SYSEXIT ---- */

static void test_sysenter(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    USE_FULL(cpu, true);
    /* SYSENTER_CS 0: #GP(0). */
    set_cs(cpu, 0x1b, false, 3);
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x34), EXC_GP, 0);
    cpu->msr_sysenter_cs = 0x08;
    cpu->msr_sysenter_esp = 0x80000;
    cpu->msr_sysenter_eip = 0x300000;
    cpu->st.rflags |= RFLAGS_IF;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x34), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x80000);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x08);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x10);
    g_assert_cmpuint(cpu->cpl, ==, 0);
    g_assert_false(cpu->st.rflags & RFLAGS_IF);
    g_assert_cmpint(cpu->mode, ==, MODE_PROT32);

    /* SYSEXIT: CPL 3 at EDX with ESP = ECX, CS 0x1b, SS 0x23. */
    cpu->st.regs[R_EDX] = CODE + 0x40;
    cpu->st.regs[R_ECX] = 0x70000;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x35), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 0x40);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x70000);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x1b);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x23);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    /* SYSEXIT at CPL 3: #GP(0). */
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x35), EXC_GP, 0);
    /* Real mode: #GP(0). */
    to_real(cpu);
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x34), EXC_GP, 0);
    free_cpu(cpu);
}

static void test_sysexit64(void)
{
    struct tcg_cpu *cpu = new_cpu64();

    USE_FULL(cpu, true);
    cpu->msr_sysenter_cs = 0x08;
    cpu->msr_sysenter_esp = 0xffffffff80010000ull;
    cpu->msr_sysenter_eip = 0xffffffff80020000ull;
    set_cs(cpu, 0x2b, true, 3);
    /* Intel, IA-32e mode: 64-bit code at CPL 0 with the whole MSRs. */
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x34), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0xffffffff80020000ull);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0xffffffff80010000ull);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    /* SYSEXIT with REX.W: CS = SYSENTER_CS + 32, 64-bit; SS + 40. */
    cpu->st.rip = CODE;
    cpu->st.regs[R_EDX] = 0x00007fff00001000ull;
    cpu->st.regs[R_ECX] = 0x00007fff00002000ull;
    g_assert_cmpint(EXEC(cpu, 0x48, 0x0f, 0x35), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x00007fff00001000ull);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x00007fff00002000ull);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x2b);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x33);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    /* Without REX.W: compatibility mode at EDX, CS + 16. */
    set_cs(cpu, 0x38, true, 0);
    cpu->st.rip = CODE;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x35), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x1b);
    g_assert_cmphex(cpu->st.rip, ==, 0x1000);
    g_assert_cmpint(cpu->mode, ==, MODE_PROT32);
    /* A non-canonical RDX: #GP(0). */
    set_cs(cpu, 0x38, true, 0);
    cpu->st.rip = CODE;
    cpu->st.regs[R_EDX] = 0x0000800000000000ull;
    ASSERT_EXC(cpu, EXEC(cpu, 0x48, 0x0f, 0x35), EXC_GP, 0);
    /* AMD has neither in long mode. */
    USE_FULL(cpu, false);
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x34));
    ASSERT_UD(cpu, EXEC(cpu, 0x48, 0x0f, 0x35));
    free_cpu(cpu);
}

/* ---- LAR, LSL, VERR, VERW (SDM vol. 2) ---- */

/* Runs "lar eax, ecx" (or lsl) with ecx = sel; returns ZF. */
static bool lar(struct tcg_cpu *cpu, uint16_t sel, bool lsl)
{
    cpu->st.regs[R_ECX] = sel;
    cpu->st.regs[R_EAX] = 0x5a5a5a5a;
    g_assert_cmpint(EXEC(cpu, 0x0f, lsl ? 0x03 : 0x02, 0xc1), ==, TCG_OK);
    return cpu->st.rflags & RFLAGS_ZF;
}

static bool verx(struct tcg_cpu *cpu, uint16_t sel, bool w)
{
    cpu->st.regs[R_ECX] = sel;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x00, w ? 0xe9 : 0xe1), ==, TCG_OK);
    return cpu->st.rflags & RFLAGS_ZF;
}

static void test_lar_lsl(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    /* Code segment: access rights bits 23:8 of the high dword, masked F0FF00. */
    g_assert_true(lar(cpu, 0x08, false));
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x00c09a00);
    g_assert_true(lar(cpu, 0x40, false));                       /* busy 32-bit TSS */
    g_assert_cmphex(cpu->st.regs[R_EAX] & 0xff00, ==, 0x8b00);
    g_assert_true(lar(cpu, 0x70, false));                       /* LDT */
    g_assert_true(lar(cpu, 0x78, false));                       /* call gate: LAR yes */
    g_assert_false(lar(cpu, 0x78, true));                       /* ... LSL no */
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x5a5a5a5a);     /* unchanged when ZF = 0 */
    /* Null selector, beyond the GDT: ZF = 0, no fault. */
    g_assert_false(lar(cpu, 0, false));
    g_assert_false(lar(cpu, 0x1000, false));
    /* LSL: the limit scaled by G, or bytes. */
    g_assert_true(lar(cpu, 0x10, true));
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0xffffffff);
    g_assert_true(lar(cpu, 0x80, true));
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0xffff);
    g_assert_true(lar(cpu, 0x40, true));
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x68 + 0x2000);
    /* A not-present segment still answers. */
    g_assert_true(lar(cpu, 0x60, false));
    /* 16-bit form: only bits 15:8. */
    cpu->st.regs[R_ECX] = 0x08;
    cpu->st.regs[R_EAX] = 0x12345678;
    g_assert_cmpint(EXEC(cpu, 0x66, 0x0f, 0x02, 0xc1), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x12349a00);

    /* From CPL 3: DPL 0 data is invisible, DPL 3 and conforming code are. */
    set_cs(cpu, 0x1b, false, 3);
    g_assert_false(lar(cpu, 0x10, false));
    g_assert_true(lar(cpu, 0x23, false));
    g_assert_true(lar(cpu, 0x50, false));
    /* RPL 3 on a DPL-0 descriptor at CPL 0: invisible too. */
    set_cs(cpu, 0x08, false, 0);
    g_assert_false(lar(cpu, 0x13, true));
    /* Real mode: #UD (the decoder). */
    to_real(cpu);
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x02, 0xc1));
    free_cpu(cpu);
}

static void test_lar_long(void)
{
    struct tcg_cpu *cpu = new_cpu64();

    /* IA-32e mode: 16-bit TSS types and task gates are not valid. */
    put64(GDT + 0x60, 0x0000810000000067ull);    /* available 16-bit TSS */
    g_assert_false(lar(cpu, 0x60, false));
    g_assert_true(lar(cpu, 0x40, false));
    g_assert_true(lar(cpu, 0x78, false));        /* a call gate is */
    free_cpu(cpu);
}

/* LTR in 64-bit mode reads the 16-byte descriptor: the upper half's type
 * field must be 0 and the 64-bit base canonical, else #GP(selector). */
static void test_ltr_long(void)
{
    static const struct { uint64_t hi; bool ok; } cases[] = {
        { 0x00000000, true },
        { 0x00007fff, true },               /* base 0x00007fff_00007000 */
        { 0x00008000, false },              /* base 0x00008000_00007000 */
        { 1ull << 40, false },              /* upper type field 1 */
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct tcg_cpu *cpu = new_cpu64();
        enum tcg_status st;

        put_tss_desc(0x60, TSS, 0x67, false);
        put64(GDT + 0x68, cases[i].hi);
        cpu->st.regs[R_EAX] = 0x60;
        st = EXEC(cpu, 0x0f, 0x00, 0xd8);               /* ltr ax */
        if (cases[i].ok) {
            if (st != TCG_OK) {
                g_test_message("case %u: vector %u error 0x%x", i, cpu->exc.vector,
                               cpu->exc.error_code);
            }
            g_assert_cmpint(st, ==, TCG_OK);
            g_assert_cmphex(cpu->st.seg[S_TR].base, ==,
                            ((cases[i].hi & 0xffffffffull) << 32) | TSS);
        } else {
            ASSERT_EXC(cpu, st, EXC_GP, 0x60);
            g_assert_cmphex(cpu->st.seg[S_TR].selector, !=, 0x60);
        }
        free_cpu(cpu);
    }
}

static void test_verr_verw(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    g_assert_true(verx(cpu, 0x10, false));
    g_assert_true(verx(cpu, 0x10, true));
    g_assert_true(verx(cpu, 0x08, false));       /* readable code */
    g_assert_false(verx(cpu, 0x08, true));       /* code is never writable */
    g_assert_false(verx(cpu, 0x58, false));      /* execute-only */
    g_assert_true(verx(cpu, 0x68, false));
    g_assert_false(verx(cpu, 0x68, true));       /* read-only data */
    g_assert_false(verx(cpu, 0x40, false));      /* system descriptor */
    g_assert_false(verx(cpu, 0, false));
    g_assert_false(verx(cpu, 0x2000, false));
    set_cs(cpu, 0x1b, false, 3);
    g_assert_false(verx(cpu, 0x10, false));      /* DPL 0 at CPL 3 */
    g_assert_true(verx(cpu, 0x23, true));
    g_assert_true(verx(cpu, 0x50, false));       /* conforming readable code */
    free_cpu(cpu);
}

/* ---- IRET (SDM vol. 2, IRET) and vm86 ---- */

static void put_gate32(unsigned vec, uint16_t sel, uint32_t off, unsigned type, unsigned dpl)
{
    put64(IDT + vec * 8, (off & 0xffffull) | ((uint64_t)sel << 16) |
                         ((uint64_t)(0x80 | (dpl << 5) | type) << 40) |
                         ((uint64_t)(off >> 16) << 48));
}

/* Enters vm86 at 2000:0010 with IOPL iopl through an IRET from CPL 0. */
static void enter_vm86(struct tcg_cpu *cpu, unsigned iopl)
{
    uint32_t frame[9] = { 0x10, 0x2000, (uint32_t)(RFLAGS_FIXED | RFLAGS_VM | RFLAGS_IF |
                                                   ((uint64_t)iopl << 12)),
                          0x0800, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000 };

    cpu->st.regs[R_ESP] = STACK - sizeof(frame);
    g_assert_cmpint(ram_write(STACK - sizeof(frame), frame, sizeof(frame)), ==, 0);
    cpu->st.rip = CODE;
    g_assert_cmpint(EXEC(cpu, 0xcf), ==, TCG_JUMPED);
}

static void test_iret_vm86(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    enter_vm86(cpu, 0);
    g_assert_true(cpu->st.rflags & RFLAGS_VM);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    g_assert_cmpint(cpu->mode, ==, MODE_REAL16);
    g_assert_cmphex(cpu->st.rip, ==, 0x10);
    g_assert_cmphex(cpu->st.seg[S_CS].base, ==, 0x20000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x800);
    g_assert_cmphex(cpu->st.seg[S_SS].base, ==, 0x30000);
    g_assert_cmphex(cpu->st.seg[S_ES].selector, ==, 0x4000);
    g_assert_cmphex(cpu->st.seg[S_DS].base, ==, 0x50000);
    g_assert_cmphex(cpu->st.seg[S_GS].base, ==, 0x70000);
    g_assert_cmpuint(cpu->st.seg[S_DS].dpl, ==, 3);
    g_assert_cmphex(cpu->st.seg[S_DS].limit, ==, 0xffff);

    /* IOPL 0: IRET, INT n and IN/OUT (the bitmap denies) are #GP(0). */
    ASSERT_EXC(cpu, EXEC(cpu, 0xcf), EXC_GP, 0);
    ASSERT_EXC(cpu, EXEC(cpu, 0xcd, 0x21), EXC_GP, 0);
    ASSERT_EXC(cpu, EXEC(cpu, 0xe4, 0x80), EXC_GP, 0);
    /* The bitmap allows port 0x80: IN works whatever the IOPL. */
    put8(TSS + 0x68 + 0x10, 0xfe);
    g_assert_cmpint(EXEC(cpu, 0xe4, 0x80), ==, TCG_OK);

    /* A #GP from vm86 goes to a ring-0 handler: GS FS DS ES SS ESP EFLAGS
     * CS EIP and the error code on the ring-0 stack, data segments null. */
    put_gate32(EXC_GP, 0x08, 0x400000, 0xe, 0);
    cpu->st.rip = 0x10;
    ASSERT_EXC(cpu, EXEC(cpu, 0xcd, 0x21), EXC_GP, 0);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x400000);
    g_assert_cmpuint(cpu->cpl, ==, 0);
    g_assert_cmpint(cpu->mode, ==, MODE_PROT32);
    g_assert_false(cpu->st.rflags & RFLAGS_VM);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, STACK - 40);
    g_assert_cmphex(get32(STACK - 4), ==, 0x7000);             /* GS */
    g_assert_cmphex(get32(STACK - 8), ==, 0x6000);             /* FS */
    g_assert_cmphex(get32(STACK - 12), ==, 0x5000);            /* DS */
    g_assert_cmphex(get32(STACK - 16), ==, 0x4000);            /* ES */
    g_assert_cmphex(get32(STACK - 20), ==, 0x3000);            /* SS */
    g_assert_cmphex(get32(STACK - 24), ==, 0x800);             /* ESP */
    g_assert_true(get32(STACK - 28) & RFLAGS_VM);              /* EFLAGS */
    g_assert_true(get32(STACK - 28) & RFLAGS_RF);              /* a fault: RF */
    g_assert_cmphex(get32(STACK - 32), ==, 0x2000);            /* CS */
    g_assert_cmphex(get32(STACK - 36), ==, 0x10);              /* EIP */
    g_assert_cmphex(get32(STACK - 40), ==, 0);                 /* error code */
    g_assert_true(cpu->st.seg[S_DS].unusable && cpu->st.seg[S_DS].selector == 0);
    g_assert_true(cpu->st.seg[S_GS].unusable);

    /* The handler drops the error code and IRETs back into vm86. */
    cpu->st.regs[R_ESP] += 4;
    g_assert_cmpint(EXEC(cpu, 0xcf), ==, TCG_JUMPED);
    g_assert_true(cpu->st.rflags & RFLAGS_VM);
    g_assert_cmphex(cpu->st.rip, ==, 0x10);
    g_assert_cmphex(cpu->st.seg[S_DS].selector, ==, 0x5000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x800);
    free_cpu(cpu);
}

/* vm86 with IOPL 3: IRET pops IP, CS, FLAGS and keeps IOPL and VM. */
static void test_iret_vm86_iopl3(void)
{
    struct tcg_cpu *cpu = new_cpu32();
    uint16_t frame[3] = { 0x44, 0x2100, 0x0cd7 };       /* IOPL 0 and NT, IF, DF... */

    enter_vm86(cpu, 3);
    g_assert_cmpint(ram_write(0x30000 + 0x800, frame, sizeof(frame)), ==, 0);
    g_assert_cmpint(EXEC(cpu, 0xcf), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x44);
    g_assert_cmphex(cpu->st.seg[S_CS].base, ==, 0x21000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x806);
    g_assert_cmphex(cpu->st.rflags & RFLAGS_IOPL, ==, RFLAGS_IOPL);
    g_assert_true(cpu->st.rflags & RFLAGS_VM);
    g_assert_true(cpu->st.rflags & RFLAGS_DF);
    /* INT n with IOPL 3 goes through a DPL-3 gate to ring 0. */
    put_gate32(0x21, 0x08, 0x410000, 0xe, 3);
    g_assert_cmpint(EXEC(cpu, 0xcd, 0x21), ==, TCG_EXCEPTION);
    g_assert_cmpuint(cpu->exc.vector, ==, 0x21);
    g_assert_cmpuint(cpu->exc.soft, ==, 1);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x410000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, STACK - 36);
    g_assert_cmphex(get32(STACK - 36), ==, 0x46);              /* after the INT */
    g_assert_false(get32(STACK - 28) & RFLAGS_RF);             /* not a fault */
    g_assert_false(cpu->st.rflags & RFLAGS_IF);
    /* Through a DPL-0 gate: #GP(0x21 * 8 + 2). */
    put_gate32(0x21, 0x08, 0x410000, 0xe, 0);
    enter_vm86(cpu, 3);
    g_assert_cmpint(EXEC(cpu, 0xcd, 0x21), ==, TCG_EXCEPTION);
    put_gate32(EXC_GP, 0x08, 0x400000, 0xe, 0);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x400000);
    g_assert_cmphex(get32(STACK - 40), ==, 0x21 * 8 + 2);
    free_cpu(cpu);
}

/* Real mode: IRET pops IP, CS, FLAGS (all 16 bits, IOPL too); 32-bit
 * IRET keeps VM/VIF/VIP; any IRET ends NMI blocking. */
static void test_iret_real(void)
{
    struct tcg_cpu *cpu = new_cpu32();
    uint16_t frame[3] = { 0x1234, 0x2000, 0x3cd7 };
    uint32_t frame32[3] = { 0x20, 0x100, 0x3c0ed7 };

    to_real(cpu);
    cpu->st.seg[S_SS].base = 0;
    cpu->st.regs[R_ESP] = 0x800;
    g_assert_cmpint(ram_write(0x800, frame, sizeof(frame)), ==, 0);
    cpu->nmi_blocked = true;
    g_assert_cmpint(EXEC(cpu, 0xcf), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x1234);
    g_assert_cmphex(cpu->st.seg[S_CS].base, ==, 0x20000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x806);
    g_assert_cmphex(cpu->st.rflags & 0xffff, ==, 0x3cd7 & ~0x8028);
    g_assert_false(cpu->nmi_blocked);
    /* o32 iret: EFLAGS bits VIF, VIP (20:19) and VM are not loaded. */
    g_assert_cmpint(ram_write(0x900, frame32, sizeof(frame32)), ==, 0);
    cpu->st.regs[R_ESP] = 0x900;
    g_assert_cmpint(EXEC(cpu, 0x66, 0xcf), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x20);
    g_assert_cmphex(cpu->st.seg[S_CS].base, ==, 0x1000);
    g_assert_cmphex(cpu->st.rflags, ==, 0x240ed7);            /* AC and ID load */
    free_cpu(cpu);
}

/* IRETQ from ring 0 to compatibility mode at CPL 3, SS from the frame. */
static void test_iretq_compat(void)
{
    struct tcg_cpu *cpu = new_cpu64();
    uint64_t frame[5] = { 0x1234, 0x1b, RFLAGS_FIXED | RFLAGS_IF | RFLAGS_RF, 0x5000, 0x23 };

    g_assert_cmpint(ram_write(STACK - sizeof(frame), frame, sizeof(frame)), ==, 0);
    cpu->st.regs[R_ESP] = STACK - sizeof(frame);
    cpu->st.rip = CODE;
    cpu->nmi_blocked = true;
    g_assert_cmpint(EXEC(cpu, 0x48, 0xcf), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x1234);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    g_assert_cmpint(cpu->mode, ==, MODE_PROT32);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x23);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x5000);
    g_assert_true(cpu->st.rflags & RFLAGS_RF);                 /* IRET loads RF */
    g_assert_false(cpu->nmi_blocked);                          /* 6.7.1 */
    /* A null SS for CPL 3: #GP(0). */
    cpu = (free_cpu(cpu), new_cpu64());
    frame[4] = 0;
    g_assert_cmpint(ram_write(STACK - sizeof(frame), frame, sizeof(frame)), ==, 0);
    cpu->st.regs[R_ESP] = STACK - sizeof(frame);
    ASSERT_EXC(cpu, EXEC(cpu, 0x48, 0xcf), EXC_GP, 0);
    /* NT in IA-32e mode: #GP(0). */
    cpu->st.rflags |= RFLAGS_NT;
    ASSERT_EXC(cpu, EXEC(cpu, 0x48, 0xcf), EXC_GP, 0);
    free_cpu(cpu);
}

/* An IRET with NT set returns to the task in the back link (SDM vol. 3, 7.3). */
static void test_iret_task(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    /* The old task (busy, at TSS2) waits at 0x08:0x123456 with EAX 0x77. */
    put_tss_desc(0x48, TSS2, 0x67, true);
    put32(TSS2 + 0x20, 0x123456);
    put32(TSS2 + 0x24, RFLAGS_FIXED | RFLAGS_CF);
    put32(TSS2 + 0x28, 0x77);
    put32(TSS2 + 0x38, 0x6000);                 /* ESP */
    put16(TSS2 + 0x48, 0x10);                   /* ES */
    put16(TSS2 + 0x4c, 0x08);                   /* CS */
    put16(TSS2 + 0x50, 0x10);                   /* SS */
    put16(TSS2 + 0x54, 0x10);                   /* DS */
    put16(TSS2 + 0x58, 0);                      /* FS null */
    put16(TSS2 + 0x5c, 0x10);
    put16(TSS2 + 0x60, 0x70);                   /* LDT */
    put16(TSS, 0x48);                           /* back link of the current task */
    cpu->st.rflags |= RFLAGS_NT;
    cpu->st.regs[R_EAX] = 0x99;
    cpu->nmi_blocked = true;
    g_assert_cmpint(EXEC(cpu, 0xcf), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x123456);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x77);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x6000);
    g_assert_true(cpu->st.rflags & RFLAGS_CF);
    g_assert_false(cpu->st.rflags & RFLAGS_NT);
    g_assert_cmphex(cpu->st.seg[S_TR].selector, ==, 0x48);
    g_assert_cmphex(cpu->st.seg[S_TR].base, ==, TSS2);
    g_assert_cmphex(cpu->st.seg[S_LDTR].base, ==, 0x6000);
    g_assert_true(cpu->st.seg[S_FS].unusable);
    g_assert_true(cpu->st.cr0 & CR0_TS);
    g_assert_false(cpu->nmi_blocked);
    /* The old task: saved with NT clear, and no longer busy. */
    g_assert_cmphex(get32(TSS + 0x20), ==, CODE + 1);
    g_assert_cmphex(get32(TSS + 0x28), ==, 0x99);
    g_assert_false(get32(TSS + 0x24) & RFLAGS_NT);
    g_assert_cmphex(get64(GDT + 0x40) >> 40 & 0xf, ==, 0x9);
    g_assert_cmphex(get64(GDT + 0x48) >> 40 & 0xf, ==, 0xb);

    /* A back link to a TSS that is not busy: #TS(selector). */
    cpu->st.rflags |= RFLAGS_NT;
    put16(TSS2, 0x40);
    ASSERT_EXC(cpu, EXEC(cpu, 0xcf), EXC_TS, 0x40);
    free_cpu(cpu);
}

/* A task gate in the IDT switches tasks, with the error code pushed on
 * the new task's stack, and its IRET comes back (7.3). */
static void test_task_gate(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    put_tss_desc(0x48, TSS2, 0x67, false);
    put32(TSS2 + 0x20, 0x420000);
    put32(TSS2 + 0x24, RFLAGS_FIXED);
    put32(TSS2 + 0x38, 0xc000);
    put16(TSS2 + 0x4c, 0x08);
    put16(TSS2 + 0x50, 0x10);
    put16(TSS2 + 0x54, 0x10);
    put64(IDT + EXC_GP * 8, (0x48ull << 16) | (0x85ull << 40));
    cpu->st.rip = CODE;
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x35), EXC_GP, 0);        /* sysexit at ... MSR 0 */
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x420000);
    g_assert_cmphex(cpu->st.seg[S_TR].selector, ==, 0x48);
    g_assert_true(cpu->st.rflags & RFLAGS_NT);
    g_assert_cmphex(get16(TSS2), ==, 0x40);                   /* back link */
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0xc000 - 4);
    g_assert_cmphex(get32(0xc000 - 4), ==, 0);                 /* error code */
    g_assert_cmphex(get32(TSS + 0x20), ==, CODE);             /* faulting insn */
    /* Its IRET returns to the first task. */
    cpu->st.regs[R_ESP] += 4;
    g_assert_cmpint(EXEC(cpu, 0xcf), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.seg[S_TR].selector, ==, 0x40);
    g_assert_cmphex(cpu->st.rip, ==, CODE);
    g_assert_cmphex(get64(GDT + 0x48) >> 40 & 0xf, ==, 0x9);
    free_cpu(cpu);
}

/* ---- call gates and far returns to an outer level (SDM vol. 3, 5.8) ---- */

/* A 32-bit call gate at GDT + 0x88 to 0x08:target, DPL dpl, nparams dwords. */
static void put_call_gate(struct tcg_cpu *cpu, uint32_t target, unsigned dpl, unsigned nparams)
{
    put64(GDT + 0x88, (target & 0xffff) | (0x08ull << 16) | ((uint64_t)nparams << 32) |
                      ((uint64_t)(0x8c | (dpl << 5)) << 40) | ((uint64_t)(target >> 16) << 48));
    cpu->st.gdt.limit = 0x8f;
}

static void test_call_gate(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    put_call_gate(cpu, 0x200000, 3, 1);
    g_assert_false(cpu->st.seg[S_DS].unusable);
    set_cs(cpu, 0x1b, false, 3);
    cpu->st.regs[R_ESP] = 0x4fffc;
    put32(0x4fffc, 0x1234);
    /* lcall $0x8b, $0: to CPL 0 on the TSS stack, one parameter copied. */
    g_assert_cmpint(EXEC(cpu, 0x9a, 0, 0, 0, 0, 0x8b, 0), ==, TCG_JUMPED);
    g_assert_cmpuint(cpu->cpl, ==, 0);
    g_assert_cmphex(cpu->st.rip, ==, 0x200000);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x08);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x10);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, STACK - 20);
    g_assert_cmphex(get32(STACK - 4), ==, 0x23);               /* caller's SS */
    g_assert_cmphex(get32(STACK - 8), ==, 0x4fffc);            /* caller's ESP */
    g_assert_cmphex(get32(STACK - 12), ==, 0x1234);            /* the parameter */
    g_assert_cmphex(get32(STACK - 16), ==, 0x1b);
    g_assert_cmphex(get32(STACK - 20), ==, CODE + 7);
    /* lret $4: back to CPL 3, the parameter released from both stacks, and
     * DS (DPL 0) nulled. */
    g_assert_cmpint(EXEC(cpu, 0xca, 0x04, 0x00), ==, TCG_JUMPED);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 7);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x23);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x50000);
    g_assert_true(cpu->st.seg[S_DS].unusable);
    /* JMP through the gate to a non-conforming DPL-0 segment: #GP(CS). */
    ASSERT_EXC(cpu, EXEC(cpu, 0xea, 0, 0, 0, 0, 0x8b, 0), EXC_GP, 0x08);
    /* A gate DPL below CPL: #GP(gate); an absent gate: #NP(gate). */
    put_call_gate(cpu, 0x200000, 0, 1);
    ASSERT_EXC(cpu, EXEC(cpu, 0x9a, 0, 0, 0, 0, 0x8b, 0), EXC_GP, 0x88);
    put64(GDT + 0x88, (get64(GDT + 0x88) & ~(1ull << 47)) | (3ull << 45));
    ASSERT_EXC(cpu, EXEC(cpu, 0x9a, 0, 0, 0, 0, 0x8b, 0), EXC_NP, 0x88);
    /* At CPL 0: no stack switch, CS and EIP on the current stack. */
    put_call_gate(cpu, 0x200000, 0, 1);
    set_cs(cpu, 0x08, false, 0);
    cpu->st.regs[R_ESP] = 0x40000;
    cpu->st.rip = CODE;
    g_assert_cmpint(EXEC(cpu, 0x9a, 0, 0, 0, 0, 0x88, 0), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x40000 - 8);
    g_assert_cmphex(get32(0x40000 - 4), ==, 0x08);
    /* A far RET to an outer level with a bad SS (DPL 0): #GP(SS). */
    set_cs(cpu, 0x08, false, 0);
    put32(0x40000, CODE);
    put32(0x40004, 0x1b);
    put32(0x40008, 0x50000);
    put32(0x4000c, 0x13);
    cpu->st.regs[R_ESP] = 0x40000;
    ASSERT_EXC(cpu, EXEC(cpu, 0xcb), EXC_GP, 0x10);
    /* A far RET to an inner level: #GP(CS). */
    set_cs(cpu, 0x1b, false, 3);
    put32(0x40004, 0x08);
    ASSERT_EXC(cpu, EXEC(cpu, 0xcb), EXC_GP, 0x08);
    free_cpu(cpu);
}

/* A 64-bit call gate (16 bytes) from CPL 3: RSP0 of the TSS, SS null,
 * SS:RSP CS:RIP of the caller as quadwords; LRETQ back (5.8.3.1, 5.8.5). */
static void test_call_gate64(void)
{
    struct tcg_cpu *cpu = new_cpu64();
    uint64_t target = 0x300000;

    put64(GDT + 0x88, (target & 0xffff) | (0x38ull << 16) | (0xecull << 40) |
                      (((target >> 16) & 0xffff) << 48));
    put64(GDT + 0x90, target >> 32);
    cpu->st.gdt.limit = 0x97;
    put64(TSS + 4, STACK);                          /* RSP0 */
    set_cs(cpu, 0x2b, true, 3);
    cpu->st.regs[R_ESP] = 0x50000;
    cpu->st.regs[R_EBX] = 0x2000;
    put32(0x2000, 0);
    put16(0x2004, 0x8b);
    g_assert_cmpint(EXEC(cpu, 0xff, 0x1b), ==, TCG_JUMPED);   /* lcall *(%rbx) */
    g_assert_cmpuint(cpu->cpl, ==, 0);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    g_assert_cmphex(cpu->st.rip, ==, target);
    g_assert_true(cpu->st.seg[S_SS].unusable);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, STACK - 32);
    g_assert_cmphex(get64(STACK - 8), ==, 0x23);
    g_assert_cmphex(get64(STACK - 16), ==, 0x50000);
    g_assert_cmphex(get64(STACK - 24), ==, 0x2b);
    g_assert_cmphex(get64(STACK - 32), ==, CODE + 2);
    g_assert_cmpint(EXEC(cpu, 0x48, 0xcb), ==, TCG_JUMPED);   /* lretq */
    g_assert_cmpuint(cpu->cpl, ==, 3);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 2);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x50000);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x23);
    /* A 16-bit gate type does not exist in IA-32e mode: #GP(selector). */
    put64(GDT + 0x88, get64(GDT + 0x88) & ~(8ull << 40));
    ASSERT_EXC(cpu, EXEC(cpu, 0xff, 0x1b), EXC_GP, 0x88);
    free_cpu(cpu);
}

/* Far JMP to a TSS: no link, no NT; the old task's busy bit goes (7.3). */
static void test_jmp_task(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    put_tss_desc(0x48, TSS2, 0x67, false);
    put32(TSS2 + 0x20, 0x123000);
    put32(TSS2 + 0x24, RFLAGS_FIXED);
    put16(TSS2 + 0x4c, 0x08);
    put16(TSS2 + 0x50, 0x10);
    g_assert_cmpint(EXEC(cpu, 0xea, 0, 0, 0, 0, 0x48, 0), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x123000);
    g_assert_cmphex(cpu->st.seg[S_TR].selector, ==, 0x48);
    g_assert_false(cpu->st.rflags & RFLAGS_NT);
    g_assert_cmphex(get16(TSS2), ==, 0);
    g_assert_cmphex(get64(GDT + 0x40) >> 40 & 0xf, ==, 0x9);
    g_assert_cmphex(get64(GDT + 0x48) >> 40 & 0xf, ==, 0xb);
    g_assert_cmphex(get32(TSS + 0x20), ==, CODE + 7);
    /* Back with a far CALL: the busy TSS 0x48 links to 0x40, NT set. */
    g_assert_cmpint(EXEC(cpu, 0x9a, 0, 0, 0, 0, 0x40, 0), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 7);
    g_assert_true(cpu->st.rflags & RFLAGS_NT);
    g_assert_cmphex(get16(TSS), ==, 0x48);
    /* A busy TSS as a JMP target: #GP(selector). */
    ASSERT_EXC(cpu, EXEC(cpu, 0xea, 0, 0, 0, 0, 0x48, 0), EXC_GP, 0x48);
    /* The T flag of the new TSS: a #DB trap in the new task, DR6.BT. */
    put8(TSS2 + 0x64, 1);
    cpu->st.dr[6] = 0xffff0ff0;
    cpu->st.rflags |= RFLAGS_NT;
    g_assert_cmpint(EXEC(cpu, 0xcf), ==, TCG_EXCEPTION);    /* iret back to 0x48 */
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_cmpuint(cpu->exc.soft, ==, 0);
    g_assert_cmphex(cpu->st.seg[S_TR].selector, ==, 0x48);
    g_assert_cmphex(cpu->st.rip, ==, 0x123007);                /* after its CALL */
    g_assert_true(cpu->st.dr[6] & (1u << 15));
    free_cpu(cpu);
}

/* #AC: CR0.AM, EFLAGS.AC, CPL 3 and a misaligned explicit access. */
static void test_alignment_check(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    cpu->st.cr0 |= CR0_AM;
    cpu->st.rflags |= RFLAGS_AC;
    cpu->st.regs[R_EBX] = 0x2001;
    g_assert_cmpint(EXEC(cpu, 0x8b, 0x03), ==, TCG_OK);        /* CPL 0 */
    set_cs(cpu, 0x1b, false, 3);
    ASSERT_EXC(cpu, EXEC(cpu, 0x8b, 0x03), EXC_AC, 0);
    ASSERT_EXC(cpu, EXEC(cpu, 0x89, 0x03), EXC_AC, 0);
    g_assert_cmpint(EXEC(cpu, 0x8a, 0x03), ==, TCG_OK);        /* a byte */
    cpu->st.regs[R_EBX] = 0x2004;
    g_assert_cmpint(EXEC(cpu, 0x8b, 0x03), ==, TCG_OK);        /* aligned */
    cpu->st.regs[R_EBX] = 0x2002;
    g_assert_cmpint(EXEC(cpu, 0x66, 0x8b, 0x03), ==, TCG_OK);  /* aligned word */
    cpu->st.rflags &= ~RFLAGS_AC;
    g_assert_cmpint(EXEC(cpu, 0x8b, 0x03), ==, TCG_OK);
    cpu->st.rflags |= RFLAGS_AC;
    cpu->st.cr0 &= ~CR0_AM;
    g_assert_cmpint(EXEC(cpu, 0x8b, 0x03), ==, TCG_OK);
    free_cpu(cpu);
}

/* ---- I/O permission bitmap (SDM vol. 1, 19.5) ---- */

static void test_io_bitmap(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    /* CPL 0 <= IOPL 0: no bitmap. */
    g_assert_cmpint(EXEC(cpu, 0xe4, 0x80), ==, TCG_OK);
    set_cs(cpu, 0x1b, false, 3);
    ASSERT_EXC(cpu, EXEC(cpu, 0xe4, 0x80), EXC_GP, 0);
    /* IOPL 3: allowed again. */
    cpu->st.rflags |= RFLAGS_IOPL;
    g_assert_cmpint(EXEC(cpu, 0xe4, 0x80), ==, TCG_OK);
    cpu->st.rflags &= ~RFLAGS_IOPL;
    /* Bit 0x80 clear: allowed. */
    put8(TSS + 0x68 + 0x10, 0xfe);
    g_assert_cmpint(EXEC(cpu, 0xe4, 0x80), ==, TCG_OK);
    /* A word at 0x80 needs bit 0x81 too. */
    cpu->st.regs[R_EDX] = 0x80;
    ASSERT_EXC(cpu, EXEC(cpu, 0x66, 0xef), EXC_GP, 0);
    put8(TSS + 0x68 + 0x10, 0xfc);
    g_assert_cmpint(EXEC(cpu, 0x66, 0xef), ==, TCG_OK);
    /* A dword at 0x87 spans two bytes of the bitmap. */
    put8(TSS + 0x68 + 0x10, 0x7f);
    put8(TSS + 0x68 + 0x11, 0xf8);
    cpu->st.regs[R_EDX] = 0x87;
    g_assert_cmpint(EXEC(cpu, 0xed), ==, TCG_OK);
    put8(TSS + 0x68 + 0x11, 0xfc);
    ASSERT_EXC(cpu, EXEC(cpu, 0xed), EXC_GP, 0);
    /* Ports whose bits lie past the TSS limit are denied. */
    put8(TSS + 0x68 + 0x1fff, 0);
    cpu->st.regs[R_EDX] = 0xfff8;
    g_assert_cmpint(EXEC(cpu, 0xec), ==, TCG_OK);
    cpu->st.seg[S_TR].limit = 0x68 + 0x1ffe;
    ASSERT_EXC(cpu, EXEC(cpu, 0xec), EXC_GP, 0);
    /* A 16-bit TSS has no bitmap. */
    cpu->st.seg[S_TR].type = 3;
    ASSERT_EXC(cpu, EXEC(cpu, 0xe4, 0x80), EXC_GP, 0);
    /* tcg_io_check is what INS/OUTS use too. */
    cpu->st.seg[S_TR].type = 0xb;
    cpu->st.seg[S_TR].limit = 0x68 + 0x2000;
    g_assert_cmpint(tcg_io_check(cpu, 0x87, 1), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_io_check(cpu, 0x90, 1), EXC_GP, 0);
    free_cpu(cpu);
}

/* ---- debug registers (SDM vol. 3, chapter 18) ---- */

/* One instruction as the dispatch loop runs it with the debug hooks. */
static enum tcg_status step_dbg(struct tcg_cpu *cpu, const uint8_t *bytes, size_t len)
{
    uint64_t old = cpu->st.rflags;
    enum tcg_status st;

    g_assert_cmpint(ram_write(pc(cpu), bytes, len), ==, 0);
    tcg_code_written(cpu, pc(cpu) & ~0xfffull);
    st = tcg_debug_before(cpu);
    if (st != TCG_OK) {
        return st;
    }
    st = tcg_step(cpu);
    if (st == TCG_OK || st == TCG_JUMPED) {
        st = tcg_debug_after(cpu, old);
    }
    return st;
}

#define STEP_DBG(cpu, ...) \
    step_dbg(cpu, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void test_breakpoints(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    cpu->st.dr[6] = 0xffff0ff0;
    cpu->st.dr[7] = 0x400;
    g_assert_false(tcg_debug_active(cpu));
    /* DR0: execute at CODE + 1 (L0). */
    cpu->st.dr[0] = CODE + 1;
    g_assert_cmpint(tcg_write_dr(cpu, 7, 0x1), ==, TCG_OK);
    g_assert_true(tcg_debug_active(cpu));
    cpu->st.rip = CODE;
    g_assert_cmpint(STEP_DBG(cpu, 0x90), ==, TCG_OK);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 1);
    g_assert_cmpint(STEP_DBG(cpu, 0x90), ==, TCG_EXCEPTION);
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 1);               /* a fault */
    g_assert_cmphex(cpu->st.dr[6] & 0xf, ==, 1);
    /* RF set: the instruction runs once, and RF is cleared after it. */
    cpu->st.rflags |= RFLAGS_RF;
    g_assert_cmpint(STEP_DBG(cpu, 0x90), ==, TCG_OK);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 2);
    g_assert_false(cpu->st.rflags & RFLAGS_RF);

    /* DR1: write, 4 bytes at 0x2002 (aligned down to 0x2000), G1. */
    cpu->st.dr[1] = 0x2002;
    g_assert_cmpint(tcg_write_dr(cpu, 7, (0x1ull << 20) | (0x3ull << 22) | 0x8), ==, TCG_OK);
    cpu->st.regs[R_EBX] = 0x2003;
    cpu->st.dr[6] = 0xffff0ff0;
    g_assert_cmpint(STEP_DBG(cpu, 0x8b, 0x03), ==, TCG_OK);   /* a read: no hit */
    g_assert_cmpint(STEP_DBG(cpu, 0x89, 0x03), ==, TCG_EXCEPTION);
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 6);               /* a trap: after it */
    g_assert_cmphex(cpu->st.dr[6] & 0xf, ==, 2);
    cpu->st.regs[R_EBX] = 0x2004;                              /* past the range */
    g_assert_cmpint(STEP_DBG(cpu, 0x89, 0x03), ==, TCG_OK);
    cpu->st.regs[R_EBX] = 0x1ffd;                              /* overlaps by one byte */
    g_assert_cmpint(STEP_DBG(cpu, 0x89, 0x03), ==, TCG_EXCEPTION);
    /* DR2: read/write, 8 bytes: a read hits. */
    cpu->st.dr[2] = 0x3000;
    g_assert_cmpint(tcg_write_dr(cpu, 7, (0x3ull << 24) | (0x2ull << 26) | 0x10), ==, TCG_OK);
    cpu->st.regs[R_EBX] = 0x3007;
    cpu->st.dr[6] = 0xffff0ff0;
    g_assert_cmpint(STEP_DBG(cpu, 0x66, 0x8b, 0x03), ==, TCG_EXCEPTION);
    g_assert_cmphex(cpu->st.dr[6] & 0xf, ==, 4);
    /* DR3: an I/O breakpoint on port 0x80 (R/W 10b, needs CR4.DE). */
    cpu->st.dr[3] = 0x80;
    g_assert_cmpint(tcg_write_dr(cpu, 7, (0x2ull << 28) | 0x40), ==, TCG_OK);
    cpu->st.dr[6] = 0xffff0ff0;
    g_assert_cmpint(STEP_DBG(cpu, 0xe6, 0x80), ==, TCG_OK);   /* no CR4.DE */
    cpu->st.cr4 |= CR4_DE;
    g_assert_cmpint(STEP_DBG(cpu, 0xe6, 0x81), ==, TCG_OK);   /* another port */
    g_assert_cmpint(STEP_DBG(cpu, 0xe6, 0x80), ==, TCG_EXCEPTION);
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_cmphex(cpu->st.dr[6] & 0xf, ==, 8);
    cpu->st.regs[R_EDX] = 0x7f;                                 /* a word at 7f-80 */
    g_assert_cmpint(STEP_DBG(cpu, 0x66, 0xed), ==, TCG_EXCEPTION);
    cpu->st.cr4 &= ~CR4_DE;
    /* A disabled breakpoint never fires. */
    g_assert_cmpint(tcg_write_dr(cpu, 7, (0x3ull << 24) | (0x2ull << 26)), ==, TCG_OK);
    g_assert_cmpint(STEP_DBG(cpu, 0x66, 0x8b, 0x03), ==, TCG_OK);
    free_cpu(cpu);
}

static void test_single_step(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    cpu->st.dr[6] = 0xffff0ff0;
    cpu->st.dr[7] = 0x400;
    put_gate32(EXC_DB, 0x08, 0x430000, 0xe, 0);
    put_gate32(EXC_UD, 0x08, 0x440000, 0xe, 0);
    cpu->st.rflags |= RFLAGS_TF;
    g_assert_true(tcg_debug_active(cpu));
    g_assert_cmpint(STEP_DBG(cpu, 0x90), ==, TCG_EXCEPTION);
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_true(cpu->st.dr[6] & (1u << 14));                 /* BS */
    g_assert_cmphex(cpu->st.rip, ==, CODE + 1);
    /* Delivered as a trap: the return address is the next instruction and
     * TF is clear in the handler, RF clear in the frame. */
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x430000);
    g_assert_cmphex(get32(STACK - 12), ==, CODE + 1);
    g_assert_true(get32(STACK - 4) & RFLAGS_TF);
    g_assert_false(get32(STACK - 4) & RFLAGS_RF);
    g_assert_false(cpu->st.rflags & RFLAGS_TF);
    /* An instruction that faults has no single-step trap: the #UD comes,
     * with RF set in its frame. */
    cpu->st.rflags |= RFLAGS_TF;
    cpu->st.regs[R_ESP] = STACK;
    cpu->st.rip = CODE;
    ASSERT_UD(cpu, STEP_DBG(cpu, 0x0f, 0x0b));
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_true(get32(STACK - 4) & RFLAGS_RF);
    g_assert_cmphex(get32(STACK - 12), ==, CODE);
    /* DEBUGCTL.BTF: single step on taken branches only. */
    cpu->st.regs[R_ESP] = STACK;
    cpu->st.rip = CODE;
    WRMSR_OK(cpu, 0x1d9, 2);
    g_assert_cmphex(RDMSR_OK(cpu, 0x1d9), ==, 2);
    WRMSR_GP(cpu, 0x1d9, 4);
    cpu->st.rip = CODE;
    cpu->st.rflags |= RFLAGS_TF;
    g_assert_cmpint(STEP_DBG(cpu, 0x90), ==, TCG_OK);
    g_assert_cmpint(STEP_DBG(cpu, 0xeb, 0x10), ==, TCG_EXCEPTION);  /* jmp .+0x12 */
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_cmphex(cpu->st.rip, ==, CODE + 3 + 0x10);
    WRMSR_OK(cpu, 0x1d9, 0);
    /* ICEBP (F1): #DB as a trap (soft 2) without a DR6 change. */
    cpu->st.rflags &= ~RFLAGS_TF;
    cpu->st.dr[6] = 0xffff0ff0;
    cpu->st.rip = CODE;
    g_assert_cmpint(EXEC(cpu, 0xf1), ==, TCG_EXCEPTION);
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_cmpuint(cpu->exc.soft, ==, 2);
    g_assert_cmphex(cpu->st.dr[6], ==, 0xffff0ff0);
    free_cpu(cpu);
}

/* DR7.GD: any MOV DR is a #DB fault with DR6.BD, and GD is cleared. */
static void test_dr_gd(void)
{
    struct tcg_cpu *cpu = new_cpu32();

    cpu->st.dr[6] = 0xffff0ff0;
    cpu->st.regs[R_EAX] = 0x400 | (1u << 13);
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x23, 0xf8), ==, TCG_OK);     /* mov dr7, eax */
    cpu->st.rip = CODE;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x21, 0xf0), ==, TCG_EXCEPTION); /* mov eax, dr6 */
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DB);
    g_assert_cmpuint(cpu->exc.soft, ==, 0);
    g_assert_cmphex(cpu->st.rip, ==, CODE);
    g_assert_true(cpu->st.dr[6] & (1u << 13));
    g_assert_false(cpu->st.dr[7] & (1u << 13));
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x21, 0xf0), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0xffff2ff0);
    /* DR4 with CR4.DE: #UD; without: DR6. */
    cpu->st.cr4 |= CR4_DE;
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x21, 0xe0));
    cpu->st.cr4 &= ~CR4_DE;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x21, 0xe0), ==, TCG_OK);
    /* At CPL 3: #GP(0). */
    set_cs(cpu, 0x1b, false, 3);
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x21, 0xf0), EXC_GP, 0);
    free_cpu(cpu);
}

/* ---- MSRs ---- */

static void test_msr_basic(void)
{
    struct tcg_cpu *cpu = new_cpu64();

    USE_FULL(cpu, true);
    /* EFER: reserved bits and unoffered features #GP; LMA is read-only. */
    g_assert_cmphex(RDMSR_OK(cpu, MSR_EFER), ==, EFER_LME | EFER_LMA | EFER_SCE);
    WRMSR_GP(cpu, MSR_EFER, EFER_LME | EFER_SCE | (1ull << 12));
    WRMSR_GP(cpu, MSR_EFER, EFER_SCE);                  /* LME off while paging */
    WRMSR_OK(cpu, MSR_EFER, EFER_LME | EFER_SCE | EFER_NXE);
    g_assert_cmphex(cpu->st.efer, ==, EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE);
    USE_BARE(cpu, true);
    WRMSR_GP(cpu, MSR_EFER, EFER_LME | EFER_SCE | EFER_NXE);   /* NX not offered */
    USE_FULL(cpu, true);
    /* STAR is free-form; LSTAR/CSTAR/FS/GS/KERNEL_GS bases are canonical. */
    WRMSR_OK(cpu, 0xc0000081, 0x0023001000000000ull);
    g_assert_cmphex(cpu->msr_star, ==, 0x0023001000000000ull);
    static const uint32_t bases[] = { 0xc0000082, 0xc0000083, 0xc0000100, 0xc0000101,
                                      0xc0000102, 0x175, 0x176 };
    for (unsigned i = 0; i < G_N_ELEMENTS(bases); i++) {
        WRMSR_OK(cpu, bases[i], 0xffff800000001000ull);
        g_assert_cmphex(RDMSR_OK(cpu, bases[i]), ==, 0xffff800000001000ull);
        WRMSR_GP(cpu, bases[i], 0x0000800000000000ull);
    }
    g_assert_cmphex(cpu->st.seg[S_FS].base, ==, 0xffff800000001000ull);
    /* SFMASK keeps 32 bits, SYSENTER_CS 16. */
    WRMSR_OK(cpu, 0xc0000084, ~0ull);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0000084), ==, 0xffffffff);
    WRMSR_OK(cpu, 0x174, 0x12345);
    g_assert_cmphex(RDMSR_OK(cpu, 0x174), ==, 0x2345);
    /* TSC_AUX: 32 bits, offered with RDTSCP/RDPID. */
    WRMSR_OK(cpu, 0xc0000103, 7);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0000103), ==, 7);
    WRMSR_GP(cpu, 0xc0000103, 1ull << 32);
    USE_BARE(cpu, true);
    RDMSR_GP(cpu, 0xc0000103);
    USE_FULL(cpu, true);
    /* APIC_BASE keeps what is written (reserved bits #GP, BSP read-only). */
    cpu->st.apic_base = 0xfee00900;
    WRMSR_OK(cpu, 0x1b, 0xfec00800);
    g_assert_cmphex(RDMSR_OK(cpu, 0x1b), ==, 0xfec00900);
    WRMSR_GP(cpu, 0x1b, 0xfee00801);
    /* Unknown MSRs: #GP(0) both ways; and at CPL 3 any MSR is #GP(0). */
    RDMSR_GP(cpu, 0x12345678);
    WRMSR_GP(cpu, 0x12345678, 0);
    set_cs(cpu, 0x2b, true, 3);
    RDMSR_GP(cpu, MSR_EFER);
    free_cpu(cpu);
}

static void test_msr_tsc(void)
{
    struct tcg_cpu *cpu = new_cpu64();
    uint64_t t0, t1;

    USE_FULL(cpu, true);
    WRMSR_OK(cpu, 0x10, 1000000);
    t0 = RDMSR_OK(cpu, 0x10);
    g_assert_cmpuint(t0, >=, 1000000);
    g_assert_cmpuint(t0, <, 1000000 + (1ull << 40));
    /* The TSC write moved TSC_ADJUST by as much (SDM vol. 3, 18.17.3). */
    g_assert_cmpuint(RDMSR_OK(cpu, 0x3b), !=, 0);
    WRMSR_OK(cpu, 0x3b, 0);
    WRMSR_OK(cpu, 0x3b, 1ull << 40);                        /* TSC jumps with it */
    t1 = RDMSR_OK(cpu, 0x10);
    g_assert_cmpuint(t1 - t0, >=, 1ull << 39);
    USE_BARE(cpu, true);
    RDMSR_GP(cpu, 0x3b);
    free_cpu(cpu);
}

static void test_msr_pat_mtrr(void)
{
    struct tcg_cpu *cpu = new_cpu64();

    USE_FULL(cpu, true);
    /* PAT: reset value, reserved types 2/3 and bits 7:3 #GP. */
    g_assert_cmphex(RDMSR_OK(cpu, 0x277), ==, 0x0007040600070406ull);
    WRMSR_OK(cpu, 0x277, 0x0007010600070106ull);
    g_assert_cmphex(RDMSR_OK(cpu, 0x277), ==, 0x0007010600070106ull);
    WRMSR_GP(cpu, 0x277, 0x0007040600070402ull);
    WRMSR_GP(cpu, 0x277, 0x0007040600070403ull);
    WRMSR_GP(cpu, 0x277, 0x0007040600070408ull);
    g_assert_cmphex(RDMSR_OK(cpu, 0x277), ==, 0x0007010600070106ull);
    /* MTRRcap: 8 variable ranges, fixed ranges, WC; read-only. */
    g_assert_cmphex(RDMSR_OK(cpu, 0xfe), ==, 0x508);
    WRMSR_GP(cpu, 0xfe, 0x508);
    /* MTRRdefType: E, FE, a type; reserved bits and types #GP. */
    WRMSR_OK(cpu, 0x2ff, 0xc06);
    g_assert_cmphex(RDMSR_OK(cpu, 0x2ff), ==, 0xc06);
    WRMSR_GP(cpu, 0x2ff, 0x1006);
    WRMSR_GP(cpu, 0x2ff, 0xc02);
    WRMSR_GP(cpu, 0x2ff, 0xc07);                  /* UC- is a PAT type only */
    /* Variable ranges 0x200-0x20f. */
    for (uint32_t m = 0x200; m <= 0x20f; m += 2) {
        WRMSR_OK(cpu, m, 0x80000006);
        WRMSR_OK(cpu, m + 1, 0xff80000800ull);
        g_assert_cmphex(RDMSR_OK(cpu, m), ==, 0x80000006);
        g_assert_cmphex(RDMSR_OK(cpu, m + 1), ==, 0xff80000800ull);
    }
    WRMSR_GP(cpu, 0x200, 0x80000106);             /* bits 11:8 */
    WRMSR_GP(cpu, 0x200, 0x80000003);             /* type 3 */
    WRMSR_GP(cpu, 0x201, 0xff80000801ull);        /* bits 10:0 */
    WRMSR_GP(cpu, 0x201, 1ull << 50);             /* above the physical width */
    RDMSR_GP(cpu, 0x210);
    /* Fixed ranges. */
    static const uint32_t fixed[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b,
                                      0x26c, 0x26d, 0x26e, 0x26f };
    for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++) {
        WRMSR_OK(cpu, fixed[i], 0x0606060605050400ull + (i & 1));
        g_assert_cmphex(RDMSR_OK(cpu, fixed[i]), ==, 0x0606060605050400ull + (i & 1));
        WRMSR_GP(cpu, fixed[i], 0x0606060605050002ull);
    }
    RDMSR_GP(cpu, 0x251);
    /* A reset puts them back. */
    tcg_msr_reset(cpu);
    g_assert_cmphex(RDMSR_OK(cpu, 0x277), ==, 0x0007040600070406ull);
    g_assert_cmphex(RDMSR_OK(cpu, 0x2ff), ==, 0);
    g_assert_cmphex(RDMSR_OK(cpu, 0x250), ==, 0);
    g_assert_cmphex(RDMSR_OK(cpu, 0x1a0) & 1, ==, 1);
    free_cpu(cpu);
}

static void test_msr_misc(void)
{
    struct tcg_cpu *cpu = new_cpu64();
    enum tcg_status st;

    USE_FULL(cpu, true);
    /* MISC_ENABLE: fast strings set; BTS/PEBS unavailable stay set. */
    g_assert_cmphex(RDMSR_OK(cpu, 0x1a0) & 1, ==, 1);
    WRMSR_OK(cpu, 0x1a0, 1ull << 22);
    g_assert_cmphex(RDMSR_OK(cpu, 0x1a0), ==, (1ull << 22) | 0x1800);
    /* MCG_CAP: no banks, read-only; MCG_STATUS: three bits. */
    g_assert_cmphex(RDMSR_OK(cpu, 0x179), ==, 0);
    WRMSR_GP(cpu, 0x179, 0);
    WRMSR_OK(cpu, 0x17a, 4);
    g_assert_cmphex(RDMSR_OK(cpu, 0x17a), ==, 4);
    WRMSR_GP(cpu, 0x17a, 8);
    RDMSR_GP(cpu, 0x400);                         /* no MC0_CTL */
    /* Microcode revision: Linux writes 0, then reads it. */
    WRMSR_OK(cpu, 0x8b, 0);
    g_assert_cmphex(RDMSR_OK(cpu, 0x8b), ==, 1ull << 32);
    g_assert_cmphex(RDMSR_OK(cpu, 0x17), ==, 0);
    /* SPEC_CTRL, PRED_CMD, ARCH_CAPABILITIES as offered. */
    WRMSR_OK(cpu, 0x48, 5);
    g_assert_cmphex(RDMSR_OK(cpu, 0x48), ==, 5);
    WRMSR_GP(cpu, 0x48, 8);
    WRMSR_OK(cpu, 0x49, 1);
    WRMSR_GP(cpu, 0x49, 2);
    RDMSR_GP(cpu, 0x49);
    g_assert_cmphex(RDMSR_OK(cpu, 0x10a) & 1, ==, 1);       /* RDCL_NO */
    WRMSR_GP(cpu, 0x10a, 0);
    USE_BARE(cpu, true);
    RDMSR_GP(cpu, 0x48);
    WRMSR_GP(cpu, 0x49, 1);
    RDMSR_GP(cpu, 0x10a);
    /* AMD: HWCR with TscFreqSel (read-only), SYSCFG, DE_CFG; none on Intel. */
    RDMSR_GP(cpu, 0xc0010015);
    RDMSR_GP(cpu, 0xc0010000);
    USE_BARE(cpu, false);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0010015), ==, 1ull << 24);
    WRMSR_OK(cpu, 0xc0010015, 1ull << 6);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0010015), ==, (1ull << 24) | (1ull << 6));
    WRMSR_OK(cpu, 0xc0010010, 1ull << 19);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0010010), ==, 1ull << 19);
    WRMSR_GP(cpu, 0xc0010010, 1ull << 23);        /* SME not offered */
    WRMSR_OK(cpu, 0xc0011029, 2);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0011029), ==, 2);
    /* AMD's legacy counters (PERF_CTL0-3, PERF_CTR0-3): present but never
     * holding a value, as under QEMU's TCG (Linux then runs without a PMU). */
    WRMSR_OK(cpu, 0xc0010000, 0x430076);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0010000), ==, 0);
    WRMSR_OK(cpu, 0xc0010007, ~0ull);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0010007), ==, 0);
    g_assert_cmphex(RDMSR_OK(cpu, 0xc0010055), ==, 0);
    RDMSR_GP(cpu, 0xc0010008);
    g_assert_cmphex(RDMSR_OK(cpu, 0x8b), ==, 0);
    (void)rdmsr(cpu, 0x17, &st);
    ASSERT_EXC(cpu, st, EXC_GP, 0);
    free_cpu(cpu);
}

/* ---- small system instructions ---- */

static void test_misc_insns(void)
{
    struct tcg_cpu *cpu = new_cpu64();
    uint64_t desc[2] = { 0, 0 };

    USE_FULL(cpu, true);
    /* RDPID: TSC_AUX into a 64-bit register. */
    cpu->msr_tsc_aux = 0x42;
    cpu->st.regs[R_EAX] = ~0ull;
    g_assert_cmpint(EXEC(cpu, 0xf3, 0x0f, 0xc7, 0xf8), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x42);
    /* MONITOR/MWAIT: run (MWAIT as a NOP) at CPL 0; #GP for bad ECX. */
    cpu->st.regs[R_EAX] = 0x2000;
    cpu->st.regs[R_ECX] = 0;
    cpu->st.regs[R_EDX] = 0;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x01, 0xc8), ==, TCG_OK);
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x01, 0xc9), ==, TCG_OK);
    cpu->st.regs[R_ECX] = 2;
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x01, 0xc9), EXC_GP, 0);
    /* RDPMC: no counters: #GP(0) even at CPL 0. */
    cpu->st.regs[R_ECX] = 0;
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x33), EXC_GP, 0);
    /* RSM outside SMM: #UD. */
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0xaa));
    /* Not offered: RDPID, MONITOR, MWAIT #UD. */
    USE_BARE(cpu, true);
    ASSERT_UD(cpu, EXEC(cpu, 0xf3, 0x0f, 0xc7, 0xf8));
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x01, 0xc8));
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x01, 0xc9));
    /* At CPL 3: MONITOR #UD, RDPMC #GP(0) unless CR4.PCE. */
    USE_FULL(cpu, true);
    set_cs(cpu, 0x2b, true, 3);
    ASSERT_UD(cpu, EXEC(cpu, 0x0f, 0x01, 0xc8));
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x33), EXC_GP, 0);
    set_cs(cpu, 0x38, true, 0);

    /* INVPCID (66 0F 38 82 /r), here as the decoder's contract would
     * give it: the type register first, the descriptor in memory. */
    {
        struct insn in = { .op = OP_INVPCID, .op_size = 8, .addr_size = 8, .has_mem = 1,
                           .nops = 2 };
        struct tcg_tlb_entry *e;
        uint64_t r;

        in.mem = (struct insn_mem){ .seg = S_DS, .base = R_EBX, .index = INSN_REG_NONE,
                                    .scale = 1 };
        in.ops[0] = (struct operand){ .kind = OPK_REG, .size = 8, .reg = R_EAX };
        in.ops[1] = (struct operand){ .kind = OPK_MEM, .size = 16 };
        cpu->st.regs[R_EBX] = 0x2000;
        g_assert_cmpint(ram_write(0x2000, desc, 16), ==, 0);
        g_assert_cmpint(tcg_read_lin(cpu, 0x3000, &r, 8, ACC_READ), ==, TCG_OK);
        e = &cpu->tlb[0];
        for (unsigned i = 0; i < TCG_TLB_SIZE; i++) {
            if (cpu->tlb[i].vpage == 3) {
                e = &cpu->tlb[i];
            }
        }
        g_assert_cmphex(e->vpage, ==, 3);
        for (uint64_t type = 0; type <= 3; type++) {
            cpu->st.regs[R_EAX] = type;
            g_assert_cmpint(tcg_exec_table[OP_INVPCID](cpu, &in), ==, TCG_OK);
        }
        g_assert_cmphex(e->vpage, ==, ~0ull);
        cpu->st.regs[R_EAX] = 4;
        ASSERT_EXC(cpu, tcg_exec_table[OP_INVPCID](cpu, &in), EXC_GP, 0);
        /* A PCID with CR4.PCIDE clear, a non-canonical address (type 0). */
        desc[0] = 1;
        g_assert_cmpint(ram_write(0x2000, desc, 16), ==, 0);
        cpu->st.regs[R_EAX] = 1;
        ASSERT_EXC(cpu, tcg_exec_table[OP_INVPCID](cpu, &in), EXC_GP, 0);
        cpu->st.regs[R_EAX] = 2;
        g_assert_cmpint(tcg_exec_table[OP_INVPCID](cpu, &in), ==, TCG_OK);
        desc[0] = 0;
        desc[1] = 0x0000800000000000ull;
        g_assert_cmpint(ram_write(0x2000, desc, 16), ==, 0);
        cpu->st.regs[R_EAX] = 0;
        ASSERT_EXC(cpu, tcg_exec_table[OP_INVPCID](cpu, &in), EXC_GP, 0);
        set_cs(cpu, 0x2b, true, 3);
        ASSERT_EXC(cpu, tcg_exec_table[OP_INVPCID](cpu, &in), EXC_GP, 0);
        USE_BARE(cpu, true);
        ASSERT_UD(cpu, tcg_exec_table[OP_INVPCID](cpu, &in));
    }
    free_cpu(cpu);
}

/* ---- paging: #PF error codes (SDM vol. 3, 4.7), CR3/CR4 and the TLB ---- */

/* 4-level paging with 4 KiB pages for 0x400000-0x7fffff at PT. */
#define PT 0x13000

static struct tcg_cpu *new_paged(void)
{
    struct tcg_cpu *cpu = new_cpu64();

    put64(PML4 + 0x1000, (PML4 + 0x2000) | P | RW | US);
    put64(PML4 + 0x2000, 0 | P | RW | US | PS);                /* 0-2 MiB */
    put64(PML4 + 0x2000 + 8, 0x200000 | P | RW | US | PS);     /* 2-4 MiB */
    put64(PML4 + 0x2000 + 16, PT | P | RW | US);               /* 4-6 MiB: PT */
    for (unsigned i = 0; i < 512; i++) {
        put64(PT + i * 8, (0x400000 + i * 0x1000ull) | P | RW | US);
    }
    tcg_tlb_flush(cpu);
    return cpu;
}

static void test_pf_codes(void)
{
    struct tcg_cpu *cpu = new_paged();
    uint64_t v = 0;

    /* Not present, read, supervisor: 0; CR2 is the address. */
    put64(PT + 1 * 8, 0);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x401008, &v, 8, ACC_READ), EXC_PF, 0);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x401008);
    /* User write to a read-only user page: P | W | U. */
    put64(PT + 2 * 8, 0x402000 | P | US);
    set_cs(cpu, 0x2b, true, 3);
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x402000, &v, 8), EXC_PF, 7);
    /* User read of a supervisor page: P | U. */
    put64(PT + 3 * 8, 0x403000 | P | RW);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x403000, &v, 8, ACC_READ), EXC_PF, 5);
    /* An implicit access at CPL 3 (descriptor tables) is supervisor: OK. */
    g_assert_cmpint(tcg_read_lin_sys(cpu, 0x403000, &v, 8), ==, TCG_OK);
    /* Reserved bit: P | RSVD (| U). */
    put64(PT + 4 * 8, 0x404000 | P | RW | US | (1ull << 51));
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x404000, &v, 8, ACC_READ), EXC_PF, 0xd);
    /* XD without EFER.NXE is a reserved bit too. */
    put64(PT + 5 * 8, 0x405000 | P | RW | US | XD);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x405000, &v, 8, ACC_READ), EXC_PF, 0xd);
    /* With NXE: a fetch from it is P | U | I; I/D only with NX or SMEP on. */
    cpu->st.efer |= EFER_NXE;
    tcg_tlb_flush(cpu);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x405000, &v, 1, ACC_EXEC), EXC_PF, 0x15);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x401000, &v, 1, ACC_EXEC), EXC_PF, 0x14);
    cpu->st.efer &= ~EFER_NXE;
    tcg_tlb_flush(cpu);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x401000, &v, 1, ACC_EXEC), EXC_PF, 0x4);
    /* Supervisor writes to read-only pages: allowed unless CR0.WP. */
    set_cs(cpu, 0x38, true, 0);
    g_assert_cmpint(tcg_write_lin(cpu, 0x402000, &v, 8), ==, TCG_OK);
    cpu->st.cr0 |= CR0_WP;
    tcg_tlb_flush(cpu);
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x402000, &v, 8), EXC_PF, 3);
    /* SMEP: supervisor fetch from a user page is P | I; SMAP: data, P. */
    cpu->st.cr4 |= CR4_SMEP | CR4_SMAP;
    tcg_tlb_flush(cpu);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x406000, &v, 1, ACC_EXEC), EXC_PF, 0x11);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x406000, &v, 8, ACC_READ), EXC_PF, 1);
    cpu->st.rflags |= RFLAGS_AC;
    g_assert_cmpint(tcg_read_lin(cpu, 0x406000, &v, 8, ACC_READ), ==, TCG_OK);
    /* ... but never for implicit accesses, nor at CPL 3 (implicit). */
    ASSERT_EXC(cpu, tcg_read_lin_sys(cpu, 0x406000, &v, 8), EXC_PF, 1);
    set_cs(cpu, 0x2b, true, 3);
    ASSERT_EXC(cpu, tcg_read_lin_sys(cpu, 0x406000, &v, 8), EXC_PF, 1);
    free_cpu(cpu);
}

/* A #PF delivered sets CR2 and pushes the error code (6.15, 4.7). */
static void test_pf_delivery(void)
{
    struct tcg_cpu *cpu = new_paged();

    put64(IDT + EXC_PF * 16, (0x300000 & 0xffff) | (0x38ull << 16) | (0x8eull << 40) |
                             ((0x300000ull >> 16) << 48));
    put64(IDT + EXC_PF * 16 + 8, 0);
    cpu->st.idt.limit = 0xfff;
    put64(PT + 7 * 8, 0);
    cpu->st.regs[R_EBX] = 0x407010;
    cpu->st.rip = CODE;
    cpu->st.regs[R_ESP] = STACK;
    ASSERT_EXC(cpu, EXEC(cpu, 0x89, 0x03), EXC_PF, 2);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x407010);
    g_assert_cmphex(cpu->st.cr2, ==, 0);                   /* set by the delivery */
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.cr2, ==, 0x407010);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    g_assert_cmphex(get64(STACK - 48), ==, 2);             /* error code */
    g_assert_cmphex(get64(STACK - 40), ==, CODE);          /* the faulting insn */
    g_assert_true(get64(STACK - 24) & RFLAGS_RF);
    /* A #PF whose frame faults (RSP on an absent page) is #DF; CR2 holds
     * the address of that second #PF (6.15). */
    put64(IDT + EXC_DF * 16, (0x301000 & 0xffff) | (0x38ull << 16) | (1ull << 32) |
                             (0x8eull << 40) | ((0x301000ull >> 16) << 48));
    put64(IDT + EXC_DF * 16 + 8, 0);
    put64(TSS + 0x24, STACK);                       /* IST1 */
    cpu->st.rip = CODE;
    cpu->st.cr2 = 0;
    cpu->st.regs[R_ESP] = 0x408000;
    put64(PT + 7 * 8, 0);
    ASSERT_EXC(cpu, EXEC(cpu, 0x89, 0x03), EXC_PF, 2);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x301000);
    g_assert_cmphex(cpu->st.cr2, ==, 0x407ff8);
    free_cpu(cpu);
}

static void test_cr_flushes(void)
{
    struct tcg_cpu *cpu = new_paged();
    uint64_t v = 0;

    USE_FULL(cpu, true);
    /* A cached translation survives a remap until a flush. */
    g_assert_cmpint(tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), ==, TCG_OK);
    put64(PT + 8 * 8, 0);
    g_assert_cmpint(tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), ==, TCG_OK);
    /* INVLPG drops it. */
    cpu->st.regs[R_EBX] = 0x408000;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x01, 0x3b), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), EXC_PF, 0);
    /* INVLPG in a 2 MiB page drops every cached piece of it. */
    g_assert_cmpint(tcg_read_lin(cpu, 0x201000, &v, 8, ACC_READ), ==, TCG_OK);
    g_assert_cmpint(tcg_read_lin(cpu, 0x3ff000, &v, 8, ACC_READ), ==, TCG_OK);
    put64(PML4 + 0x2000 + 8, 0);
    g_assert_cmpint(tcg_read_lin(cpu, 0x3ff000, &v, 8, ACC_READ), ==, TCG_OK);
    cpu->st.regs[R_EBX] = 0x201000;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x01, 0x3b), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x3ff000, &v, 8, ACC_READ), EXC_PF, 0);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x201000, &v, 8, ACC_READ), EXC_PF, 0);
    /* CR4.PGE toggles flush everything. */
    put64(PT + 8 * 8, 0x408000 | P | RW | US);
    g_assert_cmpint(tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), ==, TCG_OK);
    put64(PT + 8 * 8, 0);
    cpu->st.regs[R_EAX] = cpu->st.cr4 | CR4_PGE;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x22, 0xe0), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), EXC_PF, 0);
    /* CR4 bits of features the model does not offer: #GP(0). */
    USE_BARE(cpu, true);
    cpu->st.regs[R_EAX] = cpu->st.cr4 | CR4_SMEP;
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x22, 0xe0), EXC_GP, 0);
    cpu->st.regs[R_EAX] = cpu->st.cr4 | CR4_VME;
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x22, 0xe0), EXC_GP, 0);
    cpu->cpuid = NULL;                  /* the supported set has SMEP */
    cpu->st.regs[R_EAX] = cpu->st.cr4 | CR4_SMEP;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x22, 0xe0), ==, TCG_OK);
    /* ... and this code is on a user page: SMEP stops the next fetch. */
    ASSERT_EXC(cpu, EXEC(cpu, 0x90), EXC_PF, 0x11);
    cpu->st.cr4 &= ~CR4_SMEP;
    tcg_tlb_flush(cpu);
    USE_FULL(cpu, true);
    /* CR4.PCIDE: only with CR3[11:0] = 0, and only if offered. */
    put64(PT + 8 * 8, 0x408000 | P | RW | US);
    cpu->st.cr3 = PML4 | 1;
    cpu->st.regs[R_EAX] = cpu->st.cr4 | CR4_PCIDE;
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x22, 0xe0), EXC_GP, 0);
    cpu->st.cr3 = PML4;
    USE_BARE(cpu, true);
    ASSERT_EXC(cpu, EXEC(cpu, 0x0f, 0x22, 0xe0), EXC_GP, 0);
    USE_FULL(cpu, true);
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x22, 0xe0), ==, TCG_OK);
    g_assert_true(cpu->st.cr4 & CR4_PCIDE);
    /* A CR3 write with bit 63 and the same value keeps the TLB; bit 63 is
     * not stored.  Without bit 63 it flushes. */
    g_assert_cmpint(tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), ==, TCG_OK);
    put64(PT + 8 * 8, 0);
    cpu->st.regs[R_EAX] = PML4 | (1ull << 63);
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x22, 0xd8), ==, TCG_OK);
    g_assert_cmphex(cpu->st.cr3, ==, PML4);
    g_assert_cmpint(tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), ==, TCG_OK);
    cpu->st.regs[R_EAX] = PML4;
    g_assert_cmpint(EXEC(cpu, 0x0f, 0x22, 0xd8), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x408000, &v, 8, ACC_READ), EXC_PF, 0);
    free_cpu(cpu);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    if (ram_add_region(0, RAM_SIZE, &err) < 0) {
        g_printerr("guest RAM: %s\n", err->message);
        return 1;
    }
    g_test_add_func("/tcg-system/syscall64", test_syscall64);
    g_test_add_func("/tcg-system/syscall-compat", test_syscall_compat);
    g_test_add_func("/tcg-system/syscall-legacy", test_syscall_legacy);
    g_test_add_func("/tcg-system/sysenter", test_sysenter);
    g_test_add_func("/tcg-system/sysexit64", test_sysexit64);
    g_test_add_func("/tcg-system/lar-lsl", test_lar_lsl);
    g_test_add_func("/tcg-system/lar-long", test_lar_long);
    g_test_add_func("/tcg-system/verr-verw", test_verr_verw);
    g_test_add_func("/tcg-system/iret-vm86", test_iret_vm86);
    g_test_add_func("/tcg-system/iret-vm86-iopl3", test_iret_vm86_iopl3);
    g_test_add_func("/tcg-system/iret-real", test_iret_real);
    g_test_add_func("/tcg-system/iretq-compat", test_iretq_compat);
    g_test_add_func("/tcg-system/iret-task", test_iret_task);
    g_test_add_func("/tcg-system/task-gate", test_task_gate);
    g_test_add_func("/tcg-system/call-gate", test_call_gate);
    g_test_add_func("/tcg-system/call-gate64", test_call_gate64);
    g_test_add_func("/tcg-system/jmp-task", test_jmp_task);
    g_test_add_func("/tcg-system/alignment-check", test_alignment_check);
    g_test_add_func("/tcg-system/io-bitmap", test_io_bitmap);
    g_test_add_func("/tcg-system/breakpoints", test_breakpoints);
    g_test_add_func("/tcg-system/single-step", test_single_step);
    g_test_add_func("/tcg-system/dr-gd", test_dr_gd);
    g_test_add_func("/tcg-system/msr-basic", test_msr_basic);
    g_test_add_func("/tcg-system/msr-tsc", test_msr_tsc);
    g_test_add_func("/tcg-system/msr-pat-mtrr", test_msr_pat_mtrr);
    g_test_add_func("/tcg-system/msr-misc", test_msr_misc);
    g_test_add_func("/tcg-system/ltr-long", test_ltr_long);
    g_test_add_func("/tcg-system/misc-insns", test_misc_insns);
    g_test_add_func("/tcg-system/pf-codes", test_pf_codes);
    g_test_add_func("/tcg-system/pf-delivery", test_pf_delivery);
    g_test_add_func("/tcg-system/cr-flushes", test_cr_flushes);
    ret = g_test_run();
    ram_free_all();
    return ret;
}
