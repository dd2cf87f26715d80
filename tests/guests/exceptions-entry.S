/*
 * The exceptions guest's IDT stubs and the faulting code (see
 * exceptions.c).  A stub records the vector, the error code (0 where the
 * CPU pushes none) and the saved EIP, then resumes exc_try()'s caller
 * without IRET: the handler never returns to the faulting code.
 */
    .text
    .code32

.macro STUB vec, has_err
    .globl exc_stub_\vec
exc_stub_\vec:
    .if \has_err == 0
    pushl $0
    .endif
    pushl $\vec
    jmp exc_common
.endm

    STUB 0, 0
    STUB 3, 0
    STUB 4, 0
    STUB 6, 0
    STUB 11, 1
    STUB 13, 1
    STUB 128, 0

exc_common:
    popl exc_vec
    popl exc_err
    popl exc_eip
    mov exc_catch_esp, %esp
    jmp exc_resume

    /* int exc_try(void (*fn)(void)): runs fn; the vector it raised, or -1. */
    .globl exc_try
exc_try:
    push %ebp
    push %ebx
    push %esi
    push %edi
    mov %esp, exc_catch_esp
    movl $-1, exc_vec
    call *20(%esp)
exc_resume:
    mov $0x10, %eax                 /* a fault may have left a data register changed */
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    pop %edi
    pop %esi
    pop %ebx
    pop %ebp
    mov exc_vec, %eax
    ret

    .globl do_ud2, at_ud2
do_ud2:
at_ud2:
    ud2
    ret

    .globl do_int3, after_int3
do_int3:
    int3
after_int3:
    ret

    .globl do_int80, after_int80
do_int80:
    mov $0x1234, %eax
    int $0x80
after_int80:
    ret

    .globl do_div0, at_div0
do_div0:
    xor %ecx, %ecx
    mov $1, %eax
    xor %edx, %edx
at_div0:
    div %ecx
    ret

    .globl do_into, after_into
do_into:
    mov $0x7f, %al
    add $1, %al                     /* signed overflow: OF = 1 */
    into
after_into:
    ret

    /* FS: a data segment of 4 KiB; reading past it is #GP(0). */
    .globl do_limit, at_limit
do_limit:
    mov $0x18, %eax
    mov %eax, %fs
at_limit:
    mov %fs:0x1000, %eax
    ret

    /* A segment that is not present: #NP(selector). */
    .globl do_np, at_np
do_np:
    mov $0x20, %eax
at_np:
    mov %eax, %es
    ret

    /* A selector past the GDT limit: #GP(selector). */
    .globl do_gdt_limit, at_gdt_limit
do_gdt_limit:
    mov $0x80, %eax
at_gdt_limit:
    mov %eax, %ds
    ret

    .data
    .balign 4
    .globl exc_vec, exc_err, exc_eip
exc_vec: .long 0
exc_err: .long 0
exc_eip: .long 0
exc_catch_esp: .long 0

    .section .note.GNU-stack, "", @progbits
