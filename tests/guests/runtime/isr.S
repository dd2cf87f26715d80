/*
 * The architecture guests' interrupt stubs, exc_catch() and the way to
 * CPL 3 (see x86.h).  One source for both builds: __x86_64__ picks the
 * 64-bit forms.
 *
 * Each of the 256 stubs is 16 bytes at isr_stubs + 16 * vector.  Where
 * the CPU pushes no error code (SDM vol. 3, 6.13 and table 6-1: only 8,
 * 10-14, 17, 21, 29 and 30 have one) the stub pushes 0, so every frame
 * has the same layout: struct exc_frame.  (So INT n must not name one of
 * those vectors: it pushes no error code.)
 */
#define KDS 0x10
#define UCS32 0x1b
#define UDS 0x23
#define UCS64 0x2b
#define USER_RET_VEC 0x81
#define EFLAGS_CLEAR 0x44300    /* TF IF NT AC stay clear at CPL 3 unless asked */

    .text
    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) | ((vec >= 10) & (vec <= 14)) | (vec == 17) | (vec == 21) | \
        (vec == 29) | (vec == 30)
    .else
    push $0
    .endif
    push $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

#ifdef __x86_64__
isr_common:
    push %rax
    push %rcx
    push %rdx
    push %rbx
    push %rbp
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call exc_dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rbp
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp
    iretq

    /* int exc_catch(void (*fn)(ulong), ulong arg) */
    .globl exc_catch
exc_catch:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    pushf
    mov %rsp, catch_sp(%rip)
    movl $1, catch_armed(%rip)
    mov %rdi, %rax
    mov %rsi, %rdi
    call *%rax
    movl $0, catch_armed(%rip)
    mov $-1, %eax
    jmp 1f

    /* void exc_longjmp(int vector): back out of exc_catch() */
    .globl exc_longjmp
exc_longjmp:
    mov %edi, %eax
    mov catch_sp(%rip), %rsp
    mov $KDS, %ecx
    mov %ecx, %ss
    mov %ecx, %ds
    mov %ecx, %es
1:  popf
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

    /* user_enter(ulong): IRETQ to user_start at CPL 3 */
    .globl user_enter
user_enter:
    pushq $UDS
    pushq $user_stack_top
    pushf
    andq $~EFLAGS_CLEAR, (%rsp)
    mov user_rflags(%rip), %rax
    or %rax, (%rsp)
    pushq $UCS64
    pushq $user_start
    mov user_fn(%rip), %rax
    mov user_arg(%rip), %rdi
    iretq
user_start:
    call *%rax
    int $USER_RET_VEC
    ud2

#else   /* 32-bit */

isr_common:
    pusha
    push %ds
    push %es
    mov $KDS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %esp, %eax
    push %eax
    cld
    call exc_dispatch
    add $4, %esp
    pop %es
    pop %ds
    popa
    add $8, %esp
    iret

    .globl exc_catch
exc_catch:
    push %ebx
    push %ebp
    push %esi
    push %edi
    pushf
    mov %esp, catch_sp
    movl $1, catch_armed
    mov 24(%esp), %eax
    pushl 28(%esp)
    call *%eax
    add $4, %esp
    movl $0, catch_armed
    mov $-1, %eax
    jmp 1f

    .globl exc_longjmp
exc_longjmp:
    mov 4(%esp), %eax
    mov catch_sp, %esp
    mov $KDS, %ecx
    mov %ecx, %ss
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %fs
    mov %ecx, %gs
1:  popf
    pop %edi
    pop %esi
    pop %ebp
    pop %ebx
    ret

    .globl user_enter
user_enter:
    pushl $UDS
    pushl $user_stack_top
    pushf
    andl $~EFLAGS_CLEAR, (%esp)
    mov user_rflags, %eax
    or %eax, (%esp)
    pushl $UCS32
    pushl $user_start
    mov $UDS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    iret
user_start:
    pushl user_arg
    call *user_fn
    int $USER_RET_VEC
    ud2
#endif

    .data
    .balign 8
catch_sp: .quad 0
    .globl catch_armed
catch_armed: .long 0

    .bss
    .balign 16
    .skip 8192
    .globl ring0_stack_top
ring0_stack_top:
    .skip 4096
    .globl ist1_stack_top
ist1_stack_top:
    .skip 4096
    .globl ist2_stack_top
ist2_stack_top:
    .skip 8192
    .globl user_stack_top
user_stack_top:

    .section .note.GNU-stack, "", @progbits
