/*
 * The switch to 64-bit mode (Intel SDM vol. 3, 10.8.5) and the 64-bit code
 * the longmode guest runs.  Interrupts stay off; nothing here may fault.
 */
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define EFER_LMA 0x400
#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

    .text
    .code32
    /* void enter_long_mode(uint32_t cr3) */
    .globl enter_long_mode
enter_long_mode:
    mov 4(%esp), %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    lgdt gdt64_desc
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    ljmp $0x08, $long_entry

    .code64
long_entry:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $guest_stack_top, %esp

    /* Are we really in IA-32e mode, and is this 64-bit code? */
    mov $MSR_EFER, %ecx
    rdmsr
    test $EFER_LMA, %eax
    jz no_lma
    movabs $0x1122334455667788, %rax
    shr $56, %rax
    cmp $0x11, %rax
    jne no_64bit

    mov $msg, %esi                  /* zero-extends: msg is below 4 GiB */
    call print64
    xor %eax, %eax                  /* exit code 0 */
    jmp exit64
no_lma:
    mov $6, %eax
    jmp exit64
no_64bit:
    mov $7, %eax
exit64:
    mov $DEBUG_EXIT_PORT, %dx
    out %al, %dx
1:  cli
    hlt
    jmp 1b

    /* Prints the NUL-terminated string at %rsi on COM1, polling LSR.THRE. */
print64:
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
    jmp print64
3:  ret

    .section .rodata
msg:
    .asciz "Hello from 64-bit long mode\r\n"

    .balign 8
gdt64:
    .quad 0                         /* null */
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff        /* 0x10: data */
gdt64_end:
gdt64_desc:
    .word gdt64_end - gdt64 - 1
    .long gdt64

    .section .note.GNU-stack, "", @progbits
