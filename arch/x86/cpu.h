/*
 * Architectural state of one x86-64 vCPU, shared by the KVM backend and the
 * software CPU.  Layout is hyvm's own; accelerators convert.
 */
#ifndef HYVM_X86_CPU_H
#define HYVM_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum x86_reg {
    R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI,
    R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};

enum x86_seg { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR, S__MAX };

struct x86_segment {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;          /* byte granular (already scaled by G) */
    uint8_t type;            /* descriptor type, 4 bits */
    bool s, present, dpl_valid;
    uint8_t dpl;
    bool db, l, g, avl;
    bool unusable;
};

struct x86_dtable {
    uint64_t base;
    uint16_t limit;
};

/* x87 and SSE registers in the form "info registers" prints them. */
struct x86_fpu_state {
    uint16_t fcw, fsw;
    uint8_t ftw;                /* abridged, as FXSAVE: bit i set = physical
                                 * register R(i) valid */
    uint32_t mxcsr;
    /* ST(0)..ST(7) in stack order, as FXSAVE stores them (st[0] is R(TOP)).
     * The software CPU keeps physical order while it runs and converts in
     * get/set_state (tcg.c). */
    struct { uint64_t mant; uint16_t exp; } st[8];
    struct { uint64_t lo, hi; } xmm[16];
    /* Last x87 instruction: opcode (11 bits), instruction and data pointers
     * (64-bit offsets; selectors kept for the 32-bit FXSAVE/FSTENV forms). */
    uint16_t fop, fcs, fds;
    uint64_t fip, fdp;
};

struct x86_cpu_state {
    uint64_t regs[16];
    uint64_t rip;
    uint64_t rflags;
    struct x86_segment seg[S__MAX];
    struct x86_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
    uint64_t dr[8];             /* dr0-dr3; dr6 and dr7 at [6] and [7] */
    struct x86_fpu_state fpu;
    bool halted;                /* in HLT, waiting for an interrupt */
    bool wait_for_sipi;         /* an AP after RESET or INIT, until a start-up IPI */
};

/* Control-register and EFER bits (Intel SDM vol. 3, 2.5 and 2.2.1). */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_FIXED (1ull << 1)
#define RFLAGS_PF (1ull << 2)
#define RFLAGS_AF (1ull << 4)
#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_SF (1ull << 7)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_OF (1ull << 11)
#define RFLAGS_IOPL (3ull << 12)
#define RFLAGS_NT (1ull << 14)
#define RFLAGS_RF (1ull << 16)
#define RFLAGS_VM (1ull << 17)
#define RFLAGS_AC (1ull << 18)
#define RFLAGS_VIF (1ull << 19)
#define RFLAGS_VIP (1ull << 20)
#define RFLAGS_ID (1ull << 21)

#define MSR_IA32_APICBASE 0x1b
#define MSR_IA32_APICBASE_BSP (1ull << 8)
#define MSR_IA32_APICBASE_ENABLE (1ull << 11)
#define APIC_DEFAULT_BASE 0xfee00000ull
#define MSR_EFER 0xc0000080

/* Power-on state (SDM vol. 3, 9.1.1): real mode at F000:FFF0. */
void x86_cpu_state_reset(struct x86_cpu_state *s, bool bsp);
/*
 * A flat 32-bit protected-mode state with paging off, as the Multiboot spec
 * (3.2 "Machine state") requires at the entry point.
 */
void x86_cpu_state_flat32(struct x86_cpu_state *s, uint32_t eip);
/* 64-bit mode, paging at cr3, CS 0x10 and data 0x18 of the GDT at gdt_base. */
void x86_cpu_state_flat64(struct x86_cpu_state *s, uint64_t rip, uint64_t cr3,
                          uint64_t gdt_base, uint16_t gdt_limit);
/* Prints the registers in the layout of QEMU's "info registers". */
void x86_cpu_state_dump(const struct x86_cpu_state *s, FILE *f);

#endif
