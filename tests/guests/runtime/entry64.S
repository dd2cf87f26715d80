/*
 * Entry of the 64-bit test guests.  A Multiboot loader starts us in 32-bit
 * protected mode with paging off (Multiboot 0.6.96, 3.2); we identity-map
 * the first 4 GiB with 2 MiB pages, user-accessible and writable, turn on
 * PAE, EFER.LME and paging (SDM vol. 3, 10.8.5) and call guest_start() in
 * 64-bit mode with the magic and the information structure.
 *
 * The ELF is linked for x86-64 and converted to elf32-i386 so that a
 * Multiboot loader takes it; everything sits below 4 GiB.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003
#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PS 0x80
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

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
    mov %eax, %edi
    mov %ebx, %esi

    /* 2048 PDEs: 4 page directories, 2 MiB each. */
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P | PTE_RW | PTE_US | PTE_PS), %eax
    mov %eax, boot_pd(, %ecx, 8)
    movl $0, boot_pd + 4(, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 1b
    /* Four PDPTEs, one PML4E. */
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $12, %eax
    add $boot_pd + (PTE_P | PTE_RW | PTE_US), %eax
    mov %eax, boot_pdpt(, %ecx, 8)
    inc %ecx
    cmp $4, %ecx
    jne 2b
    movl $boot_pdpt + (PTE_P | PTE_RW | PTE_US), boot_pml4

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    lgdt boot_gdt_desc
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
    mov %edi, %edi
    mov %esi, %esi
    call guest_start
3:  hlt
    jmp 3b

    .section .rodata
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
boot_gdt_end:
boot_gdt_desc:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .bss
    .balign 4096
    .globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4 * 4096
    .balign 16
guest_stack:
    .skip 16384
    .globl guest_stack_top
guest_stack_top:

    .section .note.GNU-stack, "", @progbits
