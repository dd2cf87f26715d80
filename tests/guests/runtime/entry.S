/*
 * Entry of every test guest: the Multiboot v1 header and the first
 * instructions.  The boot loader leaves us in 32-bit protected mode with
 * paging off, EAX = 0x2BADB002 and EBX = the information structure
 * (Multiboot 0.6.96, 3.2); we only need a stack before calling C.
 */
#define MB_MAGIC 0x1BADB002
/* Bit 0: page-aligned modules, bit 1: memory information.  No a.out
 * kludge: the loader reads our ELF program headers. */
#define MB_FLAGS 0x00000003

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .text
    .code32
    .globl _start
_start:
    cli
    cld
    mov $guest_stack_top, %esp
    push %ebx
    push %eax
    call guest_start
1:  hlt
    jmp 1b

    .bss
    .balign 16
    .globl guest_stack_top
guest_stack:
    .skip 16384
guest_stack_top:

    .section .note.GNU-stack, "", @progbits
