/*
 * A round trip through the modes below 32-bit protected mode (SDM vol. 3,
 * 10.9 "Mode switching"): 32-bit protected mode -> 16-bit protected mode
 * -> real mode -> 32-bit protected mode.  The 16-bit code is copied to
 * physical 0x8000 by modes.c (real mode reaches only the first MiB) and
 * leaves its results at 0x9800.  Interrupts stay off throughout.
 */
#define BLOB 0x8000
#define RES 0x1800                  /* results, from BLOB */
#define OFF(l) ((l) - modes_blob_start)

    .text
    .code32
    /* void modes_run(void) */
    .globl modes_run
modes_run:
    pushal
    mov %esp, modes_saved_esp
    lgdt modes_gdt_desc
    ljmp $0x18, $0                  /* 16-bit code at BLOB */
modes_back32:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    mov %eax, %ss
    mov modes_saved_esp, %esp
    popal
    ret

    /* ---- copied to BLOB; runs with CS.base = BLOB ---- */
    .code16
    .globl modes_blob_start, modes_blob_end
modes_blob_start:
    /* 16-bit protected mode: 16-bit data segments based at BLOB. */
    mov $0x20, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x1000, %sp
    mov $0x1234, %ax
    add $0x1111, %ax
    mov $RES, %bx
    xor %si, %si
    mov %ax, (%bx,%si)              /* res[0] = 0x2345 */
    push $0xbeef
    pop %cx
    mov %cx, 2(%bx)                 /* res[1] = 0xbeef */
    /* [bx + si] wraps at 64 KiB with 16-bit addressing: 0xffff + 0x1803 */
    mov $0xffff, %bx
    mov $RES + 5, %si
    movw $0x7788, (%bx,%si)         /* res[2] */
    mov $RES, %bx

    /* Real mode: PE off, then a far jump loads a real-mode CS. */
    mov %cr0, %eax
    and $~1, %eax
    mov %eax, %cr0
    ljmp $BLOB >> 4, $OFF(modes_real)
modes_real:
    mov $BLOB >> 4, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x1000, %ax
    mov %ax, %es
    movw $0x5a5a, %es:0             /* linear 0x10000 */
    mov $0x0ff0, %ax
    mov %ax, %fs
    mov %fs:0x100, %dx              /* the same byte through another segment */
    mov %dx, 6(%bx)                 /* res[3] = 0x5a5a */
    mov %cs, %ax
    mov %ax, 8(%bx)                 /* res[4] = 0x0800 */
    mov $0x12345678, %eax           /* 66h: a 32-bit operation in real mode */
    mov %eax, 12(%bx)               /* res32[3] */
    pushl $0xcafef00d
    popl %ecx
    mov %ecx, 16(%bx)               /* res32[4] */

    /* Back to 32-bit protected mode. */
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $modes_back32
modes_blob_end:

    .data
    .balign 4
modes_saved_esp:
    .long 0

    .section .rodata
    .balign 8
modes_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: 32-bit data */
    .quad 0x00009a008000ffff        /* 0x18: 16-bit code, base BLOB */
    .quad 0x000092008000ffff        /* 0x20: 16-bit data, base BLOB */
modes_gdt_end:
modes_gdt_desc:
    .word modes_gdt_end - modes_gdt - 1
    .long modes_gdt

    .section .note.GNU-stack, "", @progbits
