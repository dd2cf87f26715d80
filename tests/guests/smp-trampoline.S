/*
 * The start-up code of the smp guest's application processors.  The BSP
 * copies the bytes from smp_tramp_start to smp_tramp_end to SMP_TRAMP_BASE
 * and fills the parameter block at its end; a start-up IPI with vector
 * SMP_TRAMP_BASE >> 12 starts an AP here in real mode with CS = vector << 8
 * and IP = 0 (SDM vol. 3, "Multiple-Processor (MP) Initialization").
 *
 * The AP loads the BSP's GDT (runtime/x86.c: 0x38 is 32-bit code in both
 * builds, 0x08 the kernel code of the build, 0x10 flat data), enters
 * protected mode, takes the next stack of the BSP's stack area with LOCK
 * XADD, turns on long mode with the BSP's page tables in the 64-bit build,
 * loads the BSP's IDT and calls the C entry, which does not return.
 *
 * Everything here runs at SMP_TRAMP_BASE, not where it was linked: every
 * address is written as SMP_TRAMP_BASE plus an offset into the blob.
 */
#define SMP_TRAMP_BASE 0x8000
#define KCS 0x08
#define KDS 0x10
#define KCS32 0x38
#define CR0_PE 0x1
#define CR0_CD_NW 0x60000000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

/* The copy's address of a label of the blob. */
#define AT(label) (SMP_TRAMP_BASE + (label) - smp_tramp_start)

    .text
    .globl smp_tramp_start, smp_tramp_end, smp_tramp_params

    .code16
smp_tramp_start:
    cli
    mov %cs, %ax
    mov %ax, %ds
    /* With the operand-size prefix LGDT takes a 32-bit base (SDM vol. 2A, LGDT). */
    lgdtl p_gdtr - smp_tramp_start
    mov %cr0, %eax
    and $~CR0_CD_NW, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $KCS32, $AT(pm32)

    .code32
pm32:
    mov $KDS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    /* A stack of its own: slot n is the n-th start of any AP. */
    mov $1, %eax
    lock xadd %eax, AT(p_next_slot)
    cmp AT(p_nslots), %eax
    jae dead
    inc %eax
    imul AT(p_stack_size), %eax
    add AT(p_stacks), %eax
    mov %eax, %esp
#ifdef __x86_64__
    /* Long mode as runtime/entry64.S enters it (SDM vol. 3, "Initializing IA-32e Mode"). */
    mov AT(p_cr3), %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    ljmp $KCS, $AT(lm64)

    .code64
lm64:
    lidt AT(p_idtr)
    mov AT(p_entry), %eax
    call *%rax
#else
    ljmp $KCS, $AT(pm32_kcs)
pm32_kcs:
    lidt AT(p_idtr)
    call *AT(p_entry)
#endif
dead:
    cli
    hlt
    jmp dead

    /* The parameters (struct smp_tramp_params in smp.c). */
    .balign 16
smp_tramp_params:
p_gdtr:
    .word 0
    .long 0
    .word 0
p_idtr:
    .word 0
    .quad 0
    .word 0, 0, 0
p_cr3:
    .long 0
p_entry:
    .long 0
p_stacks:
    .long 0
p_stack_size:
    .long 0
p_nslots:
    .long 0
p_next_slot:
    .long 0
smp_tramp_end:

    .section .note.GNU-stack, "", @progbits
