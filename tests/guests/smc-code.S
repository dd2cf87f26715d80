/*
 * Code the smc guest rewrites while it runs (see smc.c).  Paging is off
 * when these run from .text, so the text is writable.
 */
    .text
    .code32

    /* uint32_t smc_get(void): returns its own immediate, which smc.c patches. */
    .globl smc_get, smc_get_imm
smc_get:
    .byte 0xb8                      /* mov $imm32, %eax */
smc_get_imm:
    .long 0x11111111
    ret

    /*
     * uint32_t smc_next(uint32_t v): stores v into the immediate of the very
     * next instruction, which must then return v (no jump in between: the
     * store must end the decoded run it belongs to).
     */
    .globl smc_next
smc_next:
    mov 4(%esp), %ecx
    mov %ecx, 1f + 1
1:  mov $0, %eax
    ret

    /*
     * uint32_t smc_loop(void): a loop that raises the immediate of its own
     * add on every pass: 1 + 2 + ... + 10 = 55.  It restores the byte
     * before returning so it can run again.
     */
    .globl smc_loop
smc_loop:
    xor %eax, %eax
    mov $10, %ecx
2:  add $1, %eax                    /* 83 c0 ib */
    incb 2b + 2
    loop 2b
    movb $1, 2b + 2
    ret

    /*
     * uint32_t smc_rep(void): REP MOVSB copies "mov $0x5a5a5a5a, %eax" over
     * the instruction right after it.
     */
    .globl smc_rep
smc_rep:
    push %esi
    push %edi
    mov $3f, %esi
    mov $4f, %edi
    mov $5, %ecx
    cld
    rep movsb
4:  mov $0x01010101, %eax
    pop %edi
    pop %esi
    ret
3:  .byte 0xb8
    .long 0x5a5a5a5a

/*
 * The switch to 64-bit mode (SDM vol. 3, 10.8.5) as in longmode-switch.S,
 * then the alias checks: the code at smc_lbuf is rewritten through
 * smc_lbuf + 1 GiB and called, 48 times; the accessed bit of the PDPT
 * entry only the alias uses must be set.
 */
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define ALIAS 0x40000000

    /* void smc_enter_long(uint32_t cr3) */
    .globl smc_enter_long
smc_enter_long:
    mov 4(%esp), %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    lgdt smc_gdt_desc
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    ljmp $0x08, $smc_long

    .code64
smc_long:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $guest_stack_top, %esp

    mov $smc_lbuf, %edi
    lea ALIAS(%rdi), %rsi
    mov $2, %ebx
5:  movb $0xb8, (%rsi)              /* mov $ebx, %eax; ret */
    mov %ebx, 1(%rsi)
    movb $0xc3, 5(%rsi)
    call *%rdi
    cmp %ebx, %eax
    jne 6f
    inc %ebx
    cmp $50, %ebx
    jne 5b
    mov $smc_pdpt, %ecx
    mov 8(%rcx), %rax
    test $0x20, %al                 /* PDPTE.A */
    jz 7f
    mov $smc_msg, %esi
    call smc_print64
    xor %eax, %eax
    jmp 8f
6:  mov $0x41, %eax
    jmp 8f
7:  mov $0x42, %eax
8:  mov $DEBUG_EXIT_PORT, %dx
    out %al, %dx
9:  cli
    hlt
    jmp 9b

    /* Prints the NUL-terminated string at %rsi on COM1, polling LSR.THRE. */
smc_print64:
    movzbl (%rsi), %eax
    test %al, %al
    jz 3f
    mov %al, %bl
    mov $COM1 + 5, %dx
2:  in %dx, %al
    test $0x20, %al
    jz 2b
    mov %bl, %al
    mov $COM1, %dx
    out %al, %dx
    inc %rsi
    jmp smc_print64
3:  ret

    .section .rodata
smc_msg:
    .asciz "smc: 64-bit alias checks passed\r\n"

    .balign 8
smc_gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
smc_gdt_end:
smc_gdt_desc:
    .word smc_gdt_end - smc_gdt - 1
    .long smc_gdt

    .section .note.GNU-stack, "", @progbits
