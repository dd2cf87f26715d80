/*
 * A boot sector for test-vgabios.c that drives SeaBIOS's VGA BIOS as a boot
 * loader would (VBE 3.0 core functions, int 10h): 4F00 controller info,
 * 4F01 for mode 0x118 (1024x768, 24 bpp), 4F02 with the linear
 * framebuffer, the dispi registers that mode leaves, 4F03, then mode 3 and
 * a teletype 'Z' read back from 0xb8000.  Each value goes to the debug
 * console (port 0x402) as '#' and four hex digits; isa-debug-exit (port 0xf4) then
 * ends the VM with status 99.
 */
    .code16
    .global _start
_start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7c00, %sp
    sti
    mov $msg_start, %si
    call puts

    /* VBE 4F00: controller info at 0x1000 */
    mov %ax, %es
    mov $0x1000, %di
    movl $0x32454256, (%di)     /* "VBE2" */
    mov $0x4f00, %ax
    int $0x10
    call putax
    mov 0x1000, %eax            /* signature "VESA" */
    call putd
    mov 0x1012, %ax             /* total memory in 64 KiB */
    call putax

    /* 4F01: mode 0x118 info at 0x1200 */
    mov $0x1200, %di
    mov $0x4f01, %ax
    mov $0x118, %cx
    int $0x10
    call putax
    mov 0x1212, %ax             /* XResolution */
    call putax
    mov 0x1214, %ax             /* YResolution */
    call putax
    movb 0x1219, %al            /* bits per pixel */
    xor %ah, %ah
    call putax
    mov 0x1228, %eax            /* PhysBasePtr */
    call putd

    /* 4F02: set 0x118 with LFB */
    mov $0x4f02, %ax
    mov $0x4118, %bx
    int $0x10
    call putax
    /* dispi registers: xres, yres, bpp, enable */
    mov $1, %bx
1:  mov %bx, %ax
    mov $0x1ce, %dx
    out %ax, %dx
    inc %dx
    in %dx, %ax
    call putax
    inc %bx
    cmp $5, %bx
    jne 1b
    /* 4F03: current mode */
    mov $0x4f03, %ax
    int $0x10
    call putax
    mov %bx, %ax
    call putax

    /* back to text mode 3, write 'Z' via teletype at 0,0 after clearing */
    mov $0x0003, %ax
    int $0x10
    mov $0x0e5a, %ax
    mov $0x0007, %bx
    int $0x10
    mov $0xb800, %ax
    mov %ax, %es
    mov %es:0, %ax              /* char + attribute */
    call putax
    mov $0x4f03, %ax
    xor %bx, %bx
    int $0x10
    mov %bx, %ax
    call putax
    mov $msg_done, %si
    call puts
    mov $0x31, %al              /* exit status (0x31 << 1) | 1 = 99 */
    out %al, $0xf4
    hlt

puts:
    lodsb
    test %al, %al
    jz 2f
    mov $0x402, %dx
    out %al, %dx
    jmp puts
2:  ret

/* prints ax as '#' and 4 hex digits, then a space */
putax:
    push %cx
    push %ax
    mov $'#', %al
    mov $0x402, %dx
    out %al, %dx
    pop %ax
    mov $4, %cx
3:  rol $4, %ax
    push %ax
    and $0xf, %al
    call hexdigit
    pop %ax
    loop 3b
    push %ax
    mov $' ', %al
    mov $0x402, %dx
    out %al, %dx
    pop %ax
    pop %cx
    ret

putd:
    push %eax
    shr $16, %eax
    call putax
    pop %eax
    call putax
    ret

hexdigit:
    push %dx
    cmp $10, %al
    jb 4f
    add $('a' - 10 - '0'), %al
4:  add $'0', %al
    mov $0x402, %dx
    out %al, %dx
    pop %dx
    ret

msg_start: .asciz "\nVBETEST "
msg_done: .asciz "VBEDONE\n"
    . = _start + 510
    .byte 0x55, 0xaa
