/*
 * The system-level runtime of the architecture test guests (vectors,
 * privilege, paging, syscall, fpu-state, debug, msr).  Each of them is
 * built twice from one source: as a 32-bit protected-mode guest (entry.S)
 * and as a 64-bit long-mode guest (entry64.S, identity-mapped 4 GiB with
 * 2 MiB user-accessible pages).  x86_setup() loads the GDT, an IDT whose
 * 256 gates all lead to exc_dispatch(), and a TSS with ring-0 and IST
 * stacks and an I/O bitmap.
 *
 * A test runs a piece of code under exc_catch(): an exception that no
 * handler claims ends the piece and exc_catch() returns its vector, with
 * what the CPU pushed in "exc".  run_user() runs a function at CPL 3; it
 * comes back through INT USER_RET_VEC (a DPL-3 gate).
 */
#ifndef X86_H
#define X86_H

#include "guest.h"

typedef unsigned long ulong;    /* a register: 32 or 64 bits */

#ifdef __x86_64__
#define MODE_BITS 64
#else
#define MODE_BITS 32
#endif

/* The GDT: the order SYSCALL/SYSRET and SYSENTER/SYSEXIT need (SDM vol. 2B). */
#define KCS 0x08        /* kernel code: 64-bit in long mode, 32-bit otherwise */
#define KDS 0x10
#define UCS32 0x1b      /* STAR[63:48] = 0x18: SYSRET to 32-bit, SYSEXIT (32) */
#define UDS 0x23
#define UCS64 0x2b      /* SYSRET to 64-bit; SYSEXIT (64) = SYSENTER_CS + 32 */
#define UDS64 0x33      /* SYSEXIT (64) SS = SYSENTER_CS + 40 */
#define KCS32 0x38      /* 32-bit kernel code (compatibility mode in long mode) */
#define TSS_SEL 0x40    /* 16 bytes in long mode */
#define GDT_FREE 0x50   /* the first slot tests may fill */
#define GDT_ENTRIES 32

#define USER_RET_VEC 0x81

/* EFLAGS, CR0, CR4, EFER bits (SDM vol. 3, 2.3, 2.5). */
#define X86_EFLAGS_CF (1ul << 0)
#define X86_EFLAGS_TF (1ul << 8)
#define X86_EFLAGS_IF (1ul << 9)
#define X86_EFLAGS_DF (1ul << 10)
#define X86_EFLAGS_OF (1ul << 11)
#define X86_EFLAGS_IOPL3 (3ul << 12)
#define X86_EFLAGS_NT (1ul << 14)
#define X86_EFLAGS_RF (1ul << 16)
#define X86_EFLAGS_AC (1ul << 18)
#define X86_CR0_PE (1ul << 0)
#define X86_CR0_MP (1ul << 1)
#define X86_CR0_EM (1ul << 2)
#define X86_CR0_TS (1ul << 3)
#define X86_CR0_NE (1ul << 5)
#define X86_CR0_WP (1ul << 16)
#define X86_CR0_AM (1ul << 18)
#define X86_CR0_PG (1ul << 31)
#define X86_CR4_DE (1ul << 3)
#define X86_CR4_PSE (1ul << 4)
#define X86_CR4_PAE (1ul << 5)
#define X86_CR4_PGE (1ul << 7)
#define X86_CR4_OSFXSR (1ul << 9)
#define X86_CR4_OSXMMEXCPT (1ul << 10)
#define X86_CR4_PCIDE (1ul << 17)
#define X86_CR4_OSXSAVE (1ul << 18)
#define X86_CR4_SMEP (1ul << 20)
#define X86_CR4_SMAP (1ul << 21)
#define MSR_EFER 0xc0000080u
#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

/* What the stubs push, then what the CPU pushed (SDM vol. 3, 6.12.1). */
struct exc_frame {
#ifdef __x86_64__
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
#else
    uint32_t es, ds;
    uint32_t rdi, rsi, rbp, rsp_pusha, rbx, rdx, rcx, rax;
#endif
    ulong vector, error;
    ulong rip, cs, rflags;
    ulong rsp, ss;      /* 32-bit: only after a privilege change */
};

/* The last exception taken. */
struct exc_info {
    ulong vector, error, rip, cs, rflags, rsp, ss, cr2;
    ulong frame;        /* where the CPU pushed rIP: shows the stack it switched to */
    ulong handler_ss;   /* SS while the handler ran */
    unsigned count;
};
extern volatile struct exc_info exc;

/* A handler claims its vector: it may change the frame, then IRET resumes it. */
typedef void (*exc_handler_t)(struct exc_frame *f);
void set_handler(unsigned vec, exc_handler_t h);

void x86_setup(void);
/* type: 0xe interrupt gate, 0xf trap gate; ist counts only in long mode. */
void set_idt_gate(unsigned vec, ulong addr, unsigned sel, unsigned type, unsigned dpl,
                  unsigned ist, int present);
/* The gate back to the default stub, DPL 0, interrupt gate. */
void reset_idt_gate(unsigned vec);
ulong isr_stub(unsigned vec);
void set_gdt_entry(unsigned sel, uint64_t desc);
uint64_t get_gdt_entry(unsigned sel);
uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags);

/* The TSS as the CPU reads it, and its I/O bitmap (SDM vol. 3, 8.2.1, 8.7; vol. 1, 19.5). */
#ifdef __x86_64__
struct hw_tss {
    uint32_t res0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t res1;
    uint64_t ist[7];
    uint64_t res2;
    uint16_t res3, iomap;
} __attribute__((packed));
#else
struct hw_tss {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap;
} __attribute__((packed));
#endif
struct tss_area {
    struct hw_tss tss;
    uint8_t iomap[8192 + 1];
} __attribute__((packed));
extern struct tss_area tss_area;
extern uint8_t ring0_stack_top[], ist1_stack_top[], ist2_stack_top[];

/* Runs fn(arg); the vector of an exception nobody handled, or -1.  Not
 * nested: one catch is armed at a time. */
int exc_catch(void (*fn)(ulong), ulong arg);
/* Runs fn(arg) at CPL 3 with user_rflags ORed into its RFLAGS; USER_RET_VEC
 * when it returned, else the vector that ended it. */
extern ulong user_rflags;
extern uint8_t user_stack_top[];
int run_user(void (*fn)(ulong), ulong arg);

/* A function written in assembly inside a C file: NAME(ulong arg). */
#define ASMFN(name, body)                                                 \
    void name(ulong);                                                     \
    __asm__(".pushsection .text\n\t.globl " #name "\n" #name ":\n\t" body \
            "\n\t.popsection")

/* "qemu=1" on the command line: the guest runs on QEMU's TCG, and the
 * checks where QEMU is known to differ from the SDM are skipped. */
extern int quirks;
void x86_parse_args(const struct mb_info *mbi);
/* Reports a skip and returns 1 under "qemu=1". */
int qemu_differs(const char *what);

/* ---- reporting: one line per check, then a summary ---- */
extern const char *test_name;
int report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "NAME: N passed, M failed, K skipped"; the exit code: 0 or the failures. */
int report_summary(void);

/* ---- registers ---- */
static inline ulong read_cr0(void)
{
    ulong v;

    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static inline ulong read_cr2(void)
{
    ulong v;

    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline ulong read_cr3(void)
{
    ulong v;

    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline ulong read_cr4(void)
{
    ulong v;

    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline void write_cr0(ulong v)
{
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr2(ulong v)
{
    __asm__ volatile("mov %0, %%cr2" : : "r"(v) : "memory");
}

static inline void write_cr3(ulong v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void write_cr4(ulong v)
{
    __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}


static inline ulong read_flags(void)
{
    ulong v;

    __asm__ volatile("pushf\n\tpop %0" : "=r"(v));
    return v;
}

static inline uint64_t rdmsr(uint32_t idx)
{
    uint32_t lo, hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(idx));
    return lo | ((uint64_t)hi << 32);
}

static inline void wrmsr(uint32_t idx, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                     : "memory");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return lo | ((uint64_t)hi << 32);
}

struct cpuid { uint32_t a, b, c, d; };
static inline struct cpuid cpuid(uint32_t leaf, uint32_t sub)
{
    struct cpuid r;

    __asm__ volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(sub));
    return r;
}

static inline void invlpg(const volatile void *p)
{
    __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
}

/* Safe MSR access: 0 or the vector it raised. */
int rdmsr_safe(uint32_t idx, uint64_t *v);
int wrmsr_safe(uint32_t idx, uint64_t v);

#endif
