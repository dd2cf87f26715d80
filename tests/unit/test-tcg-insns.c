/*
 * Unit test "tcg-insns": the data-movement, stack, control-transfer,
 * string and misc families of the software CPU (exec-mov.c, exec-stack.c,
 * exec-control.c, exec-string.c, exec-misc.c), run through tcg_step() on
 * guest RAM from system/memory.h.
 *
 * Each case loads a few instructions at CODE and steps until rip passes
 * them, in a flat 32-bit state (paging off), a 64-bit state (identity
 * paging of the first 2 MiB with 4 KiB pages, so 0x200000 and up fault) or
 * real mode; then it checks registers, flags and memory.  The expected
 * values come from the SDM and, for the cases where the SDM leaves a
 * choice, from running the same bytes natively on the (AMD Zen) host.
 * The byte arrays were produced by GNU as from the assembly in their
 * comments.
 *
 * Threads: the gtest main thread only.
 */
#include <string.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "arch/x86/cpu-models.h"
#include "system/memory.h"

#define RAM_SIZE (4u << 20)
#define CODE 0x10000u
#define STACK 0x80000u
#define PT_BASE 0x1000u

#define RF_RF (1ull << 16)
#define RF_IOPL (3ull << 12)

static const uint8_t mov64[] = {
    0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, /* mov $-1, %rax */
    0xb8, 0x78, 0x56, 0x34, 0x12, /* mov $0x12345678, %eax */
    0x66, 0xb8, 0xcd, 0xab, /* mov $0xabcd, %ax */
    0xb4, 0x11, /* mov $0x11, %ah */
    0x48, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* movabs $0x1122334455667788, %rbx */
    0xbf, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %edi */
    0x89, 0x1f, /* mov %ebx, (%rdi) */
    0x48, 0x0f, 0xbe, 0x0f, /* movsbq (%rdi), %rcx */
    0x0f, 0xb7, 0x17, /* movzwl (%rdi), %edx */
    0x48, 0x63, 0x37, /* movslq (%rdi), %rsi */
    0x4c, 0x8d, 0x44, 0xbf, 0x10, /* lea 0x10(%rdi,%rdi,4), %r8 */
    0x44, 0x8d, 0x4c, 0x3f, 0xff, /* lea -1(%rdi,%rdi), %r9d */
    0x44, 0x0f, 0x38, 0xf0, 0x17, /* movbe (%rdi), %r10d */
    0x66, 0x0f, 0x38, 0xf1, 0x5f, 0x04, /* movbe %bx, 4(%rdi) */
    0x49, 0x89, 0xdb, /* mov %rbx, %r11 */
    0x49, 0x0f, 0xcb, /* bswap %r11 */
    0x49, 0x89, 0xdc, /* mov %rbx, %r12 */
    0x41, 0x0f, 0xcc, /* bswap %r12d */
    0x49, 0x89, 0xdd, /* mov %rbx, %r13 */
    0x66, 0x41, 0x0f, 0xcd, /* .byte 0x66, 0x41, 0x0f, 0xcd */
    0x4c, 0x63, 0xf3, /* movsxd %ebx, %r14 */
};
static const uint8_t xchg64[] = {
    0xbf, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %edi */
    0x48, 0xc7, 0x07, 0x05, 0x00, 0x00, 0x00, /* movq $5, (%rdi) */
    0xb8, 0x07, 0x00, 0x00, 0x00, /* mov $7, %eax */
    0x48, 0x87, 0x07, /* xchg %rax, (%rdi) */
    0x48, 0xc7, 0xc3, 0xff, 0xff, 0xff, 0xff, /* mov $-1, %rbx */
    0xb9, 0x42, 0x00, 0x00, 0x00, /* mov $0x42, %ecx */
    0x39, 0xc9, /* cmp %ecx, %ecx */
    0x0f, 0x45, 0xd9, /* cmovne %ecx, %ebx */
    0x48, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, /* mov $-1, %rdx */
    0x0f, 0x44, 0xd1, /* cmove %ecx, %edx */
    0x48, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff, /* mov $-1, %rsi */
    0x48, 0x0f, 0x45, 0xf1, /* cmovne %rcx, %rsi */
    0x41, 0x0f, 0x94, 0xc0, /* sete %r8b */
    0x49, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff, /* mov $-1, %r9 */
    0x41, 0x0f, 0x92, 0xc1, /* setb %r9b */
    0x49, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, /* mov $-1, %r10 */
    0x44, 0x87, 0xd1, /* xchg %r10d, %ecx */
};
static const uint8_t cbw64[] = {
    0xb8, 0x80, 0x00, 0x00, 0x00, /* mov $0x80, %eax */
    0x66, 0x98, /* cbw */
    0x49, 0x89, 0xc0, /* mov %rax, %r8 */
    0xb8, 0x00, 0x80, 0x00, 0x00, /* mov $0x8000, %eax */
    0x98, /* cwde */
    0x49, 0x89, 0xc1, /* mov %rax, %r9 */
    0xb8, 0x00, 0x00, 0x00, 0x80, /* mov $0x80000000, %eax */
    0x48, 0x98, /* cdqe */
    0x49, 0x89, 0xc2, /* mov %rax, %r10 */
    0x48, 0x99, /* cqo */
    0x49, 0x89, 0xd3, /* mov %rdx, %r11 */
    0xb8, 0x34, 0x12, 0x00, 0x00, /* mov $0x1234, %eax */
    0x66, 0x99, /* cwd */
    0x49, 0x89, 0xd4, /* mov %rdx, %r12 */
    0xb8, 0x00, 0x00, 0x00, 0x80, /* mov $0x80000000, %eax */
    0x99, /* cdq */
};
static const uint8_t xlat32[] = {
    0xbb, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %ebx */
    0xc6, 0x05, 0x05, 0x00, 0x02, 0x00, 0x99, /* movb $0x99, 0x20005 */
    0xc6, 0x05, 0x05, 0x10, 0x02, 0x00, 0x77, /* movb $0x77, 0x21005 */
    0xb0, 0x05, /* mov $5, %al */
    0xd7, /* xlat */
    0x89, 0xc1, /* mov %eax, %ecx */
    0xb0, 0x05, /* mov $5, %al */
    0x64, 0xd7, /* fs xlat */
    0x89, 0xc2, /* mov %eax, %edx */
    0x31, 0xc0, /* xor %eax, %eax */
    0xf9, /* stc */
    0x9f, /* lahf */
    0x89, 0xc6, /* mov %eax, %esi */
    0xb4, 0x80, /* mov $0x80, %ah */
    0x9e, /* sahf */
};
static const uint8_t cmpxchg64[] = {
    0xbf, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %edi */
    0x48, 0xc7, 0x07, 0x0a, 0x00, 0x00, 0x00, /* movq $10, (%rdi) */
    0xb8, 0x0a, 0x00, 0x00, 0x00, /* mov $10, %eax */
    0xb9, 0x14, 0x00, 0x00, 0x00, /* mov $20, %ecx */
    0xf0, 0x48, 0x0f, 0xb1, 0x0f, /* lock cmpxchg %rcx, (%rdi) */
    0x49, 0x89, 0xc0, /* mov %rax, %r8 */
    0x9c, /* pushf */
    0x41, 0x59, /* pop %r9 */
    0xb8, 0x0b, 0x00, 0x00, 0x00, /* mov $11, %eax */
    0x48, 0x0f, 0xb1, 0x0f, /* cmpxchg %rcx, (%rdi) */
    0x9c, /* pushf */
    0x41, 0x5a, /* pop %r10 */
};
static const uint8_t cmpxchg32r[] = {
    0x0f, 0xb1, 0xd1, /* cmpxchg %edx, %ecx */
};
static const uint8_t cmpxchg8b[] = {
    0xbf, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %edi */
    0xc7, 0x07, 0x01, 0x00, 0x00, 0x00, /* movl $1, (%rdi) */
    0xc7, 0x47, 0x04, 0x02, 0x00, 0x00, 0x00, /* movl $2, 4(%rdi) */
    0xb8, 0x01, 0x00, 0x00, 0x00, /* mov $1, %eax */
    0xba, 0x02, 0x00, 0x00, 0x00, /* mov $2, %edx */
    0xbb, 0x03, 0x00, 0x00, 0x00, /* mov $3, %ebx */
    0xb9, 0x04, 0x00, 0x00, 0x00, /* mov $4, %ecx */
    0x0f, 0xc7, 0x0f, /* cmpxchg8b (%rdi) */
    0x9c, /* pushf */
    0x41, 0x58, /* pop %r8 */
    0x48, 0xb8, 0x09, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, /* movabs $0xffffffff00000009, %rax */
    0x0f, 0xc7, 0x0f, /* cmpxchg8b (%rdi) */
    0x9c, /* pushf */
    0x41, 0x59, /* pop %r9 */
};
static const uint8_t cmpxchg16b[] = {
    0x48, 0x0f, 0xc7, 0x0f, /* cmpxchg16b (%rdi) */
};
static const uint8_t xadd64[] = {
    0xbf, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %edi */
    0xc7, 0x07, 0x05, 0x00, 0x00, 0x00, /* movl $5, (%rdi) */
    0xb8, 0x03, 0x00, 0x00, 0x00, /* mov $3, %eax */
    0x0f, 0xc1, 0x07, /* xadd %eax, (%rdi) */
    0xb9, 0x07, 0x00, 0x00, 0x00, /* mov $7, %ecx */
    0x0f, 0xc1, 0xc9, /* xadd %ecx, %ecx */
    0xb2, 0xff, /* mov $0xff, %dl */
    0xb3, 0x01, /* mov $1, %bl */
    0x0f, 0xc0, 0xda, /* xadd %bl, %dl */
};
static const uint8_t push64[] = {
    0xbc, 0x00, 0x00, 0x08, 0x00, /* mov $0x80000, %esp */
    0x6a, 0xfe, /* push $-2 */
    0x66, 0x68, 0x34, 0x12, /* pushw $0x1234 */
    0x54, /* push %rsp */
    0x58, /* pop %rax */
    0x31, 0xdb, /* xor %ebx, %ebx */
    0x66, 0x5b, /* popw %bx */
    0x59, /* pop %rcx */
    0xbf, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %edi */
    0x48, 0xc7, 0x07, 0x55, 0x00, 0x00, 0x00, /* movq $0x55, (%rdi) */
    0xff, 0x37, /* pushq (%rdi) */
    0x8f, 0x44, 0x24, 0x08, /* popq 8(%rsp) */
    0x48, 0xc7, 0x44, 0x24, 0xf8, 0xff, 0xff, 0xff, 0xff, /* movq $-1, -8(%rsp) */
    0x0f, 0xa0, /* push %fs */
    0x5a, /* pop %rdx */
    0x68, 0x00, 0x00, 0x06, 0x00, /* push $0x60000 */
    0x5c, /* pop %rsp */
};
static const uint8_t pusha32[] = {
    0x60, /* pusha */
    0x89, 0xe5, /* mov %esp, %ebp */
    0x31, 0xc0, /* xor %eax, %eax */
    0x31, 0xc9, /* xor %ecx, %ecx */
    0x31, 0xd2, /* xor %edx, %edx */
    0x31, 0xdb, /* xor %ebx, %ebx */
    0x31, 0xf6, /* xor %esi, %esi */
    0x31, 0xff, /* xor %edi, %edi */
    0xbc, 0x34, 0x12, 0x00, 0x00, /* mov $0x1234, %esp */
    0x89, 0xec, /* mov %ebp, %esp */
    0x31, 0xed, /* xor %ebp, %ebp */
    0x61, /* popa */
};
static const uint8_t popf32[] = {
    0x68, 0xff, 0xfe, 0xff, 0xff, /* push $0xfffffeff */
    0x9d, /* popf */
    0x9c, /* pushf */
    0x58, /* pop %eax */
};
static const uint8_t popf16[] = {
    0x66, 0x68, 0xff, 0xfe, /* pushw $0xfeff */
    0x66, 0x9d, /* popfw */
};
static const uint8_t pushf32[] = {
    0x9c, /* pushf */
    0x58, /* pop %eax */
};
static const uint8_t enter64[] = {
    0xc8, 0x10, 0x00, 0x03, /* enter $0x10, $3 */
};
static const uint8_t leave64[] = {
    0xc9, /* leave */
};
static const uint8_t enter32[] = {
    0xc8, 0x08, 0x00, 0x01, /* enter $0x8, $1 */
    0x89, 0xe6, /* mov %esp, %esi */
    0x89, 0xef, /* mov %ebp, %edi */
    0xc9, /* leave */
};
static const uint8_t enter64w[] = {
    0x66, 0xc8, 0x08, 0x00, 0x00, /* enterw $0x8, $0 */
};
static const uint8_t call64[] = {
    0xe8, 0x02, 0x00, 0x00, 0x00, /* call 1f */
    0xeb, 0x06, /* jmp 2f */
    /* 1: */
    0xb8, 0x01, 0x00, 0x00, 0x00, /* mov $1, %eax */
    0xc3, /* ret */
    /* 2: */
    0xe8, 0x02, 0x00, 0x00, 0x00, /* call 3f */
    0xeb, 0x03, /* jmp 4f */
    /* 3: */
    0xc2, 0x10, 0x00, /* ret $16 */
    /* 4: */
    0xbf, 0x00, 0x00, 0x02, 0x00, /* mov $0x20000, %edi */
    0x48, 0x8d, 0x1d, 0x07, 0x00, 0x00, 0x00, /* lea 5f(%rip), %rbx */
    0x48, 0x89, 0x1f, /* mov %rbx, (%rdi) */
    0xff, 0x17, /* call *(%rdi) */
    0xeb, 0x06, /* jmp 6f */
    /* 5: */
    0xb9, 0x02, 0x00, 0x00, 0x00, /* mov $2, %ecx */
    0xc3, /* ret */
    /* 6: */
    0x90, /* nop */
};
static const uint8_t jmpnc64[] = {
    0xff, 0xe0, /* jmp *%rax */
};
static const uint8_t jmp16[] = {
    0x66, 0xe9, 0x10, 0x00, /* .byte 0x66, 0xe9, 0x10, 0x00 */
};
static const uint8_t call16[] = {
    0x66, 0xe8, 0x10, 0x00, /* .byte 0x66, 0xe8, 0x10, 0x00 */
};
static const uint8_t jmplim32[] = {
    0xe9, 0x00, 0x02, 0x00, 0x00, /* .byte 0xe9, 0x00, 0x02, 0x00, 0x00 */
};
static const uint8_t loop64[] = {
    0x31, 0xc0, /* xor %eax, %eax */
    0xb9, 0x05, 0x00, 0x00, 0x00, /* mov $5, %ecx */
    /* 1: */
    0x01, 0xc8, /* add %ecx, %eax */
    0xe2, 0xfc, /* loop 1b */
    0xb9, 0x05, 0x00, 0x00, 0x00, /* mov $5, %ecx */
    /* 2: */
    0x83, 0xf9, 0x03, /* cmp $3, %ecx */
    0xe0, 0xfb, /* loopne 2b */
    0x48, 0x89, 0xca, /* mov %rcx, %rdx */
    0x48, 0xb9, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x34, 0x12, /* movabs $0x1234000000000001, %rcx */
    0x67, 0xe2, 0x00, /* .byte 0x67, 0xe2, 0x00 */
    0x48, 0x89, 0xce, /* mov %rcx, %rsi */
    0x31, 0xdb, /* xor %ebx, %ebx */
    0xe3, 0x05, /* jrcxz 3f */
    0xbb, 0x01, 0x00, 0x00, 0x00, /* mov $1, %ebx */
    /* 3: */
    0x41, 0xb8, 0x02, 0x00, 0x00, 0x00, /* mov $2, %r8d */
    0x41, 0x83, 0xf8, 0x01, /* cmp $1, %r8d */
    0x7c, 0x06, /* jl 4f */
    0x41, 0xb9, 0x03, 0x00, 0x00, 0x00, /* mov $3, %r9d */
    /* 4: */
    0x7f, 0x06, /* jg 5f */
    0x41, 0xba, 0x04, 0x00, 0x00, 0x00, /* mov $4, %r10d */
    /* 5: */
    0x90, /* nop */
};
static const uint8_t movs64[] = {
    0xf3, 0xa4, /* rep movsb */
};
static const uint8_t movsl64[] = {
    0xf3, 0xa5, /* rep movsl */
};
static const uint8_t stosq64[] = {
    0xf3, 0x48, 0xab, /* rep stosq */
};
static const uint8_t cmpsb64[] = {
    0xf3, 0xa6, /* repe cmpsb */
};
static const uint8_t scasb64[] = {
    0xf2, 0xae, /* repne scasb */
};
static const uint8_t lodsw64[] = {
    0x66, 0xad, /* lodsw */
};
static const uint8_t movs67[] = {
    0x67, 0xf3, 0xa4, /* rep movsb (%esi), %es:(%edi) */
};
static const uint8_t stosb64[] = {
    0xf3, 0xaa, /* rep stosb */
};
static const uint8_t movsfs32[] = {
    0x64, 0xa4, /* fs movsb */
};
static const uint8_t movs16a[] = {
    0x67, 0xa4, /* addr16 movsb */
};
static const uint8_t outsb32[] = {
    0xf3, 0x6e, /* rep outsb */
};
static const uint8_t insw32[] = {
    0x66, 0xf3, 0x6d, /* rep insw */
};
static const uint8_t cpuid64[] = {
    0x0f, 0xa2, /* cpuid */
};
static const uint8_t rdtsc64[] = {
    0x0f, 0x31, /* rdtsc */
};
static const uint8_t rdtscp64[] = {
    0x0f, 0x01, 0xf9, /* rdtscp */
};
static const uint8_t rdrand64[] = {
    0x48, 0x0f, 0xc7, 0xf0, /* rdrand %rax */
    0x0f, 0xc7, 0xf9, /* rdseed %ecx */
};
static const uint8_t flags64[] = {
    0xf9, /* stc */
    0xf5, /* cmc */
    0xf5, /* cmc */
    0xfd, /* std */
    0xfc, /* cld */
    0xfd, /* std */
};
static const uint8_t clc64[] = {
    0xf8, /* clc */
};
static const uint8_t ud2[] = {
    0x0f, 0x0b, /* ud2 */
};
static const uint8_t int3[] = {
    0xcc, /* int3 */
};
static const uint8_t int80[] = {
    0xcd, 0x80, /* int $0x80 */
};
static const uint8_t into32[] = {
    0xce, /* into */
};
static const uint8_t bound32[] = {
    0x62, 0x07, /* bound %eax, (%edi) */
};
static const uint8_t salc32[] = {
    0xd6, /* .byte 0xd6 */
};
static const uint8_t cli32[] = {
    0xfa, /* cli */
};
static const uint8_t sti32[] = {
    0xfb, /* sti */
};
static const uint8_t nops64[] = {
    0x90, /* nop */
    0xf3, 0x90, /* pause */
    0x66, 0x0f, 0x1f, 0x04, 0x00, /* nopw 0x0(%rax,%rax,1) */
    0xf3, 0x0f, 0x1e, 0xfa, /* endbr64 */
    0x0f, 0x18, 0x08, /* prefetcht0 (%rax) */
    0x0f, 0xae, 0xe8, /* lfence */
    0x0f, 0xae, 0xf0, /* mfence */
    0x0f, 0xae, 0xf8, /* sfence */
    0x0f, 0xae, 0x3f, /* clflush (%rdi) */
};
static const uint8_t rm_far[] = {
    0xea, 0x10, 0x00, 0x00, 0x20, /* ljmp $0x2000, $0x0010 */
};
static const uint8_t rm_call[] = {
    0x9a, 0x05, 0x00, 0x00, 0x20, /* lcall $0x2000, $0x0005 */
    0x90, /* nop */
};
static const uint8_t rm_retf[] = {
    0xcb, /* lret */
};
static const uint8_t rm_iret[] = {
    0xcf, /* iret */
};
static const uint8_t rm_movsw[] = {
    0xfd, /* std */
    0xf3, 0xa5, /* rep movsw */
};
static const uint8_t rm_popds[] = {
    0x68, 0x34, 0x12, /* push $0x1234 */
    0x1f, /* pop %ds */
};
static const uint8_t pm_popes[] = {
    0x07, /* pop %es */
};
static const uint8_t loopne_f3[] = {
    0xf3, 0xe0, 0x05, /* .byte 0xf3, 0xe0, 0x05 */
    0xbb, 0x01, 0x00, 0x00, 0x00, /* mov $1, %ebx */
};
static const uint8_t enter_probe[] = {
    0xc8, 0x00, 0x10, 0x00, /* enter $0x1000, $0 */
};
static const uint8_t cx16_rsp[] = {
    0x48, 0x0f, 0xc7, 0x0c, 0x24, /* cmpxchg16b (%rsp) */
};
static const uint8_t movsxd16[] = {
    0x66, 0x63, 0x1f, /* .byte 0x66, 0x63, 0x1f */
};
static const uint8_t xadd_mem[] = {
    0x0f, 0xc1, 0x07, /* xadd %eax, (%rdi) */
};
static const uint8_t call_rax[] = {
    0xff, 0xd0, /* call *%rax */
};
static const uint8_t popa_only[] = {
    0x61, /* popa */
};
static const uint8_t pm_far[] = {
    0x9a, 0x40, 0x00, 0x01, 0x00, 0x08, 0x00, /* lcall $0x08, $0x10040 */
    0xea, 0x50, 0x00, 0x01, 0x00, 0x08, 0x00, /* ljmp $0x08, $0x10050 */
};
static const uint8_t pm_retf[] = {
    0xb8, 0x07, 0x00, 0x00, 0x00, /* mov $7, %eax */
    0xca, 0x04, 0x00, /* lret $4 */
};
static const uint8_t pm_far64[] = {
    0xff, 0x1f, /* lcall *(%rdi) */
};

/* ---- set-up ---- */

static struct tcg_cpu cpu;

static uint8_t *ram(uint64_t gpa)
{
    uint8_t *p = ram_hva(gpa, 1);

    g_assert_nonnull(p);
    return p;
}

static uint64_t rd64(uint64_t gpa)
{
    uint64_t v;

    g_assert_cmpint(ram_read(gpa, &v, 8), ==, 0);
    return v;
}

static uint32_t rd32(uint64_t gpa)
{
    uint32_t v;

    g_assert_cmpint(ram_read(gpa, &v, 4), ==, 0);
    return v;
}

static uint16_t rd16(uint64_t gpa)
{
    uint16_t v;

    g_assert_cmpint(ram_read(gpa, &v, 2), ==, 0);
    return v;
}

static void wr64(uint64_t gpa, uint64_t v)
{
    g_assert_cmpint(ram_write(gpa, &v, 8), ==, 0);
}

static void wr32(uint64_t gpa, uint32_t v)
{
    g_assert_cmpint(ram_write(gpa, &v, 4), ==, 0);
}

/* 4-level identity paging of [0, 2 MiB) with 4 KiB pages (SDM vol. 3,
 * 4.5): PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. */
static void build_page_tables(void)
{
    wr64(PT_BASE, (PT_BASE + 0x1000) | 7);
    wr64(PT_BASE + 0x1000, (PT_BASE + 0x2000) | 7);
    wr64(PT_BASE + 0x2000, (PT_BASE + 0x3000) | 7);
    for (uint64_t i = 0; i < 512; i++) {
        wr64(PT_BASE + 0x3000 + i * 8, (i << 12) | 7);
    }
}

static void cpu_reset(enum cpu_mode m)
{
    memset(ram(0), 0, 0x100000);
    memset(&cpu, 0, sizeof(cpu));
    if (m == MODE_REAL16) {
        x86_cpu_state_reset(&cpu.st, true);
        for (unsigned s = S_ES; s <= S_GS; s++) {
            cpu.st.seg[s].selector = 0;
            cpu.st.seg[s].base = 0;
            cpu.st.seg[s].limit = 0xffff;
        }
        cpu.st.seg[S_CS].selector = CODE >> 4;
        cpu.st.seg[S_CS].base = CODE;
        cpu.st.rip = 0;
        cpu.st.regs[R_ESP] = 0x8000;
    } else {
        x86_cpu_state_flat32(&cpu.st, CODE);
        if (m == MODE_LONG64) {
            build_page_tables();
            cpu.st.cr3 = PT_BASE;
            cpu.st.cr4 |= CR4_PAE;
            cpu.st.efer |= EFER_LME | EFER_LMA;
            cpu.st.cr0 |= CR0_PG;
            cpu.st.seg[S_CS].l = true;
            cpu.st.seg[S_CS].db = false;
        }
        cpu.st.regs[R_ESP] = STACK;
    }
    tcg_cpu_mode_changed(&cpu);
    tcg_tlb_flush(&cpu);
    g_assert_cmpint(cpu.mode, ==, m);
}

static uint64_t code_start(void)
{
    return cpu.mode == MODE_REAL16 ? 0 : CODE;
}

/* Loads code at CODE and points rip at it. */
static void load(const uint8_t *code, size_t len)
{
    g_assert_cmpint(ram_write(CODE, code, len), ==, 0);
    if (cpu.blocks) {
        tcg_code_written(&cpu, CODE);
    }
    cpu.st.rip = code_start();
}

/* Steps until rip reaches end, or until something other than OK/JUMPED. */
static enum tcg_status run_to(uint64_t end, unsigned max)
{
    for (unsigned n = 0; n < max && cpu.st.rip != end; n++) {
        enum tcg_status s = tcg_step(&cpu);

        if (s != TCG_OK && s != TCG_JUMPED) {
            return s;
        }
    }
    return cpu.st.rip == end ? TCG_OK : TCG_STOP;
}

#define RUN(code) run_code(code, sizeof(code))
static enum tcg_status run_code(const uint8_t *code, size_t len)
{
    load(code, len);
    return run_to(code_start() + len, 100000);
}

#define R(r) cpu.st.regs[R_##r]
#define FL(f) (!!(cpu.st.rflags & RFLAGS_##f))
#define ASSERT_EXC(st, vec) do { \
        g_assert_cmpint((st), ==, TCG_EXCEPTION); \
        g_assert_cmpint(cpu.exc.vector, ==, (vec)); \
    } while (0)

/* ---- data movement ---- */

static void test_mov(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(mov64), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 0x123411cd);
    g_assert_cmphex(R(EBX), ==, 0x1122334455667788ull);
    g_assert_cmphex(rd32(0x20000), ==, 0x55667788);
    g_assert_cmphex(R(ECX), ==, 0xffffffffffffff88ull);
    g_assert_cmphex(R(EDX), ==, 0x7788);
    g_assert_cmphex(R(ESI), ==, 0x55667788);
    g_assert_cmphex(R(R8), ==, 0xa0010);
    g_assert_cmphex(R(R9), ==, 0x3ffff);
    g_assert_cmphex(R(R10), ==, 0x88776655);
    g_assert_cmphex(rd16(0x20004), ==, 0x8877);
    g_assert_cmphex(R(R11), ==, 0x8877665544332211ull);
    g_assert_cmphex(R(R12), ==, 0x88776655);
    /* bswap r16: the low word cleared, the rest kept (as the host does) */
    g_assert_cmphex(R(R13), ==, 0x1122334455660000ull);
    g_assert_cmphex(R(R14), ==, 0x55667788);
}

static void test_xchg_cmov_setcc(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(xchg64), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 5);
    g_assert_cmphex(rd64(0x20000), ==, 7);
    /* a false 32-bit cmov still zero-extends its destination */
    g_assert_cmphex(R(EBX), ==, 0xffffffffull);
    g_assert_cmphex(R(EDX), ==, 0x42);
    g_assert_cmphex(R(ESI), ==, ~0ull);
    g_assert_cmphex(R(R8), ==, 1);
    g_assert_cmphex(R(R9), ==, 0xffffffffffffff00ull);
    g_assert_cmphex(R(R10), ==, 0x42);
    g_assert_cmphex(R(ECX), ==, 0xffffffffull);
}

static void test_cbw_cwd(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(cbw64), ==, TCG_OK);
    g_assert_cmphex(R(R8), ==, 0xff80);
    g_assert_cmphex(R(R9), ==, 0xffff8000ull);
    g_assert_cmphex(R(R10), ==, 0xffffffff80000000ull);
    g_assert_cmphex(R(R11), ==, ~0ull);
    g_assert_cmphex(R(R12), ==, 0xffffffffffff0000ull);
    g_assert_cmphex(R(EDX), ==, 0xffffffffull);
}

static void test_xlat_lahf_sahf(void)
{
    cpu_reset(MODE_PROT32);
    cpu.st.seg[S_FS].base = 0x1000;
    g_assert_cmpint(RUN(xlat32), ==, TCG_OK);
    g_assert_cmphex(R(ECX), ==, 0x99);
    g_assert_cmphex(R(EDX), ==, 0x77);
    /* ZF PF from xor, CF from stc, bit 1 always */
    g_assert_cmphex(R(ESI) & 0xff00, ==, 0x4700);
    g_assert_cmphex(cpu.st.rflags & 0xff, ==, 0x82);
}

static void test_cmpxchg(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(cmpxchg64), ==, TCG_OK);
    g_assert_cmphex(R(R8), ==, 10);
    g_assert_true(R(R9) & RFLAGS_ZF);
    g_assert_false(R(R10) & RFLAGS_ZF);
    g_assert_true(R(R10) & RFLAGS_CF);          /* 11 - 20 borrows */
    g_assert_cmphex(R(EAX), ==, 20);
    g_assert_cmphex(rd64(0x20000), ==, 20);

    /* 32-bit register destination: a miss writes only rAX (zero-extended),
     * a hit only the destination (checked on the host) */
    cpu_reset(MODE_LONG64);
    R(EAX) = 0xffffffff00000001ull;
    R(ECX) = 0xffffffff00000002ull;
    R(EDX) = 0xffffffff00000003ull;
    g_assert_cmpint(RUN(cmpxchg32r), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 2);
    g_assert_cmphex(R(ECX), ==, 0xffffffff00000002ull);
    g_assert_true(FL(CF) && FL(SF) && !FL(ZF));
    R(EAX) = 0xffffffff00000002ull;
    g_assert_cmpint(RUN(cmpxchg32r), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 0xffffffff00000002ull);
    g_assert_cmphex(R(ECX), ==, 3);
    g_assert_true(FL(ZF) && !FL(CF));
}

static void test_cmpxchg8b_16b(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(cmpxchg8b), ==, TCG_OK);
    g_assert_true(R(R8) & RFLAGS_ZF);
    g_assert_false(R(R9) & RFLAGS_ZF);
    g_assert_cmphex(rd64(0x20000), ==, 0x0000000400000003ull);
    g_assert_cmphex(R(EAX), ==, 3);     /* loaded as 32-bit writes */
    g_assert_cmphex(R(EDX), ==, 4);

    cpu_reset(MODE_LONG64);
    R(EDI) = 0x20000;
    wr64(0x20000, 1);
    wr64(0x20008, 2);
    R(EAX) = 1;
    R(EDX) = 2;
    R(EBX) = 3;
    R(ECX) = 4;
    g_assert_cmpint(RUN(cmpxchg16b), ==, TCG_OK);
    g_assert_true(FL(ZF));
    g_assert_cmphex(rd64(0x20000), ==, 3);
    g_assert_cmphex(rd64(0x20008), ==, 4);
    g_assert_cmpint(RUN(cmpxchg16b), ==, TCG_OK);     /* now a miss */
    g_assert_false(FL(ZF));
    g_assert_cmphex(R(EAX), ==, 3);
    g_assert_cmphex(R(EDX), ==, 4);
    /* not 16-byte aligned: #GP(0), nothing changed */
    R(EDI) = 0x20008;
    ASSERT_EXC(RUN(cmpxchg16b), EXC_GP);
    g_assert_cmpint(cpu.exc.error_code, ==, 0);
    g_assert_cmphex(cpu.st.rip, ==, CODE);
}

static void test_xadd(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(xadd64), ==, TCG_OK);
    g_assert_cmphex(rd32(0x20000), ==, 8);
    g_assert_cmphex(R(EAX), ==, 5);
    g_assert_cmphex(R(ECX), ==, 14);
    g_assert_cmphex(R(EDX) & 0xff, ==, 0);
    g_assert_cmphex(R(EBX) & 0xff, ==, 0xff);
    g_assert_true(FL(CF) && FL(ZF) && FL(AF) && !FL(OF) && !FL(SF));
}

/* ---- stack ---- */

static void test_push_pop(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(push64), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 0x7fff6);       /* push rsp: the old value */
    g_assert_cmphex(R(EBX), ==, 0x1234);        /* pushw/popw: 2 bytes */
    g_assert_cmphex(R(ECX), ==, ~1ull);         /* push imm8 sign-extends */
    /* pop [rsp+8] addresses with rsp after the increment */
    g_assert_cmphex(rd64(0x80008), ==, 0x55);
    /* push fs writes the selector zero-extended to 8 bytes */
    g_assert_cmphex(R(EDX), ==, 0x10);
    g_assert_cmphex(R(ESP), ==, 0x60000);       /* pop rsp */
}

static void test_pusha_popa(void)
{
    cpu_reset(MODE_PROT32);
    for (unsigned r = R_EAX; r <= R_EDI; r++) {
        cpu.st.regs[r] = r == R_ESP ? STACK : r + 1;
    }
    g_assert_cmpint(RUN(pusha32), ==, TCG_OK);
    g_assert_cmphex(rd32(STACK - 4), ==, 1);            /* eax first */
    g_assert_cmphex(rd32(STACK - 20), ==, STACK);       /* the original esp */
    g_assert_cmphex(rd32(STACK - 32), ==, 8);           /* edi last */
    for (unsigned r = R_EAX; r <= R_EDI; r++) {
        g_assert_cmphex(cpu.st.regs[r], ==, r == R_ESP ? STACK : r + 1);
    }
}

static void test_pushf_popf(void)
{
    uint64_t want;

    /* CPL 0: everything but VM/VIF/VIP/RF (reserved bits stay clear) */
    cpu_reset(MODE_PROT32);
    g_assert_cmpint(RUN(popf32), ==, TCG_OK);
    g_assert_cmphex(cpu.st.rflags, ==, (0xfffffeffull & 0x247fd5) | 2);
    g_assert_cmphex(R(EAX), ==, cpu.st.rflags);

    /* CPL 3, IOPL 0: neither IOPL nor IF change */
    cpu_reset(MODE_PROT32);
    cpu.st.seg[S_CS].selector = 0x1b;
    cpu.st.seg[S_CS].dpl = 3;
    cpu.st.seg[S_SS].selector = 0x23;
    cpu.st.seg[S_SS].dpl = 3;
    tcg_cpu_mode_changed(&cpu);
    cpu.cpl = 3;
    cpu.st.rflags = 0x202;
    g_assert_cmpint(RUN(popf32), ==, TCG_OK);
    want = ((0xfffffeffull & 0x247fd5) & ~(RF_IOPL | RFLAGS_IF)) | 0x202;
    g_assert_cmphex(cpu.st.rflags, ==, want);

    /* CPL 3, IOPL 3: IF may change, IOPL not */
    cpu.st.rflags = 0x3002;
    g_assert_cmpint(RUN(popf32), ==, TCG_OK);
    g_assert_cmphex(cpu.st.rflags, ==, (0xfffffeffull & 0x247fd5) | 2);

    /* 16-bit popf changes bits 15:0 only (RF above them stays) */
    cpu_reset(MODE_PROT32);
    cpu.st.rflags = RF_RF | 2;
    g_assert_cmpint(RUN(popf16), ==, TCG_OK);
    g_assert_cmphex(cpu.st.rflags, ==, RF_RF | (0xfeff & 0x7fd5) | 2);

    /* pushf: the image has RF clear */
    cpu_reset(MODE_PROT32);
    cpu.st.rflags = RF_RF | 0x246;
    g_assert_cmpint(RUN(pushf32), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 0x246);
}

/* pop sreg goes through tcg_load_seg(): real-mode base, or a GDT lookup
 * whose fault leaves rSP as it was */
static void test_pop_sreg(void)
{
    cpu_reset(MODE_REAL16);
    g_assert_cmpint(RUN(rm_popds), ==, TCG_OK);
    g_assert_cmphex(cpu.st.seg[S_DS].selector, ==, 0x1234);
    g_assert_cmphex(cpu.st.seg[S_DS].base, ==, 0x12340);
    g_assert_cmphex(R(ESP), ==, 0x8000);

    cpu_reset(MODE_PROT32);
    cpu.st.gdt.base = 0x500;
    cpu.st.gdt.limit = 0x17;
    wr64(0x508, 0x00cf9a000000ffffull);     /* 0x08: flat code */
    wr64(0x510, 0x00cf92000000ffffull);     /* 0x10: flat data */
    cpu.st.seg[S_ES].selector = 0;
    cpu.st.seg[S_ES].base = 0x1234;
    R(ESP) = STACK - 4;
    wr32(STACK - 4, 0x10);
    g_assert_cmpint(RUN(pm_popes), ==, TCG_OK);
    g_assert_cmphex(cpu.st.seg[S_ES].selector, ==, 0x10);
    g_assert_cmphex(cpu.st.seg[S_ES].base, ==, 0);
    g_assert_cmphex(cpu.st.seg[S_ES].limit, ==, 0xffffffffu);
    g_assert_cmphex(R(ESP), ==, STACK);
    /* beyond the GDT limit: #GP(selector), esp back where it was */
    R(ESP) = STACK - 4;
    wr32(STACK - 4, 0x18);
    ASSERT_EXC(RUN(pm_popes), EXC_GP);
    g_assert_cmphex(cpu.exc.error_code, ==, 0x18);
    g_assert_cmphex(R(ESP), ==, STACK - 4);
    g_assert_cmphex(cpu.st.seg[S_ES].selector, ==, 0x10);
}

static void test_enter_leave(void)
{
    /* 64-bit, nesting level 3: the layout the host produces */
    cpu_reset(MODE_LONG64);
    R(EBP) = 0x70040;
    wr64(0x70038, 0x11);
    wr64(0x70030, 0x22);
    g_assert_cmpint(RUN(enter64), ==, TCG_OK);
    g_assert_cmphex(R(EBP), ==, STACK - 8);
    g_assert_cmphex(R(ESP), ==, STACK - 0x30);
    g_assert_cmphex(rd64(STACK - 8), ==, 0x70040);
    g_assert_cmphex(rd64(STACK - 16), ==, 0x11);
    g_assert_cmphex(rd64(STACK - 24), ==, 0x22);
    g_assert_cmphex(rd64(STACK - 32), ==, STACK - 8);
    g_assert_cmpint(RUN(leave64), ==, TCG_OK);
    g_assert_cmphex(R(EBP), ==, 0x70040);
    g_assert_cmphex(R(ESP), ==, STACK);

    /* 32-bit, level 1 */
    cpu_reset(MODE_PROT32);
    R(EBP) = 0x12345;
    g_assert_cmpint(RUN(enter32), ==, TCG_OK);
    g_assert_cmphex(R(ESI), ==, STACK - 16);
    g_assert_cmphex(R(EDI), ==, STACK - 4);
    g_assert_cmphex(rd32(STACK - 8), ==, STACK - 4);
    g_assert_cmphex(R(EBP), ==, 0x12345);
    g_assert_cmphex(R(ESP), ==, STACK);

    /* 16-bit operand size in 64-bit mode: push bp, only bp changes */
    cpu_reset(MODE_LONG64);
    R(EBP) = 0xaaaa0000bbbb1234ull;
    g_assert_cmpint(RUN(enter64w), ==, TCG_OK);
    g_assert_cmphex(rd16(STACK - 2), ==, 0x1234);
    g_assert_cmphex(R(EBP), ==, 0xaaaa0000bbbbfffeull);
    g_assert_cmphex(R(ESP), ==, STACK - 10);
}

/* ---- control transfer ---- */

static void test_call_ret(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(call64), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 1);
    g_assert_cmphex(R(ECX), ==, 2);
    g_assert_cmphex(R(ESP), ==, STACK + 16);    /* ret 16 released 16 */

    /* a non-canonical target is #GP(0) and changes nothing */
    cpu_reset(MODE_LONG64);
    R(EAX) = 0x0000800000000000ull;
    ASSERT_EXC(RUN(jmpnc64), EXC_GP);
    g_assert_cmphex(cpu.st.rip, ==, CODE);

    /* 16-bit operand size: ip wraps to 16 bits */
    cpu_reset(MODE_PROT32);
    load(jmp16, sizeof(jmp16));
    g_assert_cmpint(tcg_step(&cpu) == TCG_EXCEPTION, ==, 0);
    g_assert_cmphex(cpu.st.rip, ==, 0x14);
    cpu_reset(MODE_PROT32);
    load(call16, sizeof(call16));
    g_assert_cmpint(tcg_step(&cpu) == TCG_EXCEPTION, ==, 0);
    g_assert_cmphex(cpu.st.rip, ==, 0x14);
    g_assert_cmphex(R(ESP), ==, STACK - 2);
    g_assert_cmphex(rd16(STACK - 2), ==, 0x0004);

    /* beyond CS.limit: #GP(0) */
    cpu_reset(MODE_PROT32);
    cpu.st.seg[S_CS].base = CODE;
    cpu.st.seg[S_CS].limit = 0xff;
    load(jmplim32, sizeof(jmplim32));
    cpu.st.rip = 0;
    ASSERT_EXC(tcg_step(&cpu), EXC_GP);
    g_assert_cmphex(cpu.st.rip, ==, 0);
}

static void test_jcc_loop(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(loop64), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 15);
    g_assert_cmphex(R(EDX), ==, 2);             /* loopne stopped on ZF */
    g_assert_cmphex(R(ESI), ==, 0);             /* 67 loop: ecx, upper cleared */
    g_assert_cmphex(R(EBX), ==, 0);             /* jrcxz taken */
    g_assert_cmphex(R(R9), ==, 3);              /* jl not taken */
    g_assert_cmphex(R(R10), ==, 0);             /* jg taken */
}

static void test_far_real(void)
{
    cpu_reset(MODE_REAL16);
    load(rm_far, sizeof(rm_far));
    g_assert_cmpint(tcg_step(&cpu) == TCG_EXCEPTION, ==, 0);
    g_assert_cmphex(cpu.st.seg[S_CS].selector, ==, 0x2000);
    g_assert_cmphex(cpu.st.seg[S_CS].base, ==, 0x20000);
    g_assert_cmphex(cpu.st.rip, ==, 0x10);

    cpu_reset(MODE_REAL16);
    g_assert_cmpint(ram_write(0x20005, rm_retf, sizeof(rm_retf)), ==, 0);
    g_assert_cmpint(RUN(rm_call), ==, TCG_OK);
    g_assert_cmphex(cpu.st.seg[S_CS].selector, ==, CODE >> 4);
    g_assert_cmphex(R(ESP), ==, 0x8000);
    g_assert_cmphex(rd16(0x7ffe), ==, CODE >> 4);       /* pushed cs */
    g_assert_cmphex(rd16(0x7ffc), ==, 5);               /* pushed ip */

    cpu_reset(MODE_REAL16);
    R(ESP) = 0x7ffa;
    g_assert_cmpint(ram_write(0x7ffa, (uint16_t[]){ 0x20, 0x3000, 0x08d7 }, 6), ==, 0);
    load(rm_iret, sizeof(rm_iret));
    g_assert_cmpint(tcg_step(&cpu) == TCG_EXCEPTION, ==, 0);
    g_assert_cmphex(cpu.st.seg[S_CS].base, ==, 0x30000);
    g_assert_cmphex(cpu.st.rip, ==, 0x20);
    g_assert_cmphex(R(ESP), ==, 0x8000);
    g_assert_cmphex(cpu.st.rflags, ==, 0x08d7);
}

/* Far call/jmp/ret in protected and long mode go through exec-system.c's
 * descriptor checks: the operands and sizes handed over must be right. */
static void test_far_prot(void)
{
    cpu_reset(MODE_PROT32);
    cpu.st.gdt.base = 0x500;
    cpu.st.gdt.limit = 0x17;
    wr64(0x508, 0x00cf9a000000ffffull);
    wr64(0x510, 0x00cf92000000ffffull);
    g_assert_cmpint(ram_write(0x10040, pm_retf, sizeof(pm_retf)), ==, 0);
    load(pm_far, sizeof(pm_far));
    g_assert_cmpint(run_to(0x10050, 100), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 7);
    g_assert_cmphex(R(ESP), ==, STACK + 4);            /* lret 4 */
    g_assert_cmphex(rd32(STACK - 4), ==, 0x08);         /* pushed cs */
    g_assert_cmphex(rd32(STACK - 8), ==, CODE + 7);     /* pushed eip */
    g_assert_cmphex(cpu.st.seg[S_CS].selector, ==, 0x08);

    /* 64-bit mode, call m16:32 and a 32-bit lret back */
    cpu_reset(MODE_LONG64);
    cpu.st.gdt.base = 0x500;
    cpu.st.gdt.limit = 0x17;
    wr64(0x508, 0x00af9a000000ffffull);
    wr64(0x510, 0x00cf92000000ffffull);
    wr32(0x20000, 0x10100);
    g_assert_cmpint(ram_write(0x20004, (uint16_t[]){ 0x08 }, 2), ==, 0);
    ram(0x10100)[0] = 0xcb;                             /* lret */
    R(EDI) = 0x20000;
    load(pm_far64, sizeof(pm_far64));
    g_assert_cmpint(tcg_step(&cpu) == TCG_EXCEPTION, ==, 0);
    g_assert_cmphex(cpu.st.rip, ==, 0x10100);
    g_assert_cmphex(R(ESP), ==, STACK - 8);
    g_assert_cmphex(rd32(STACK - 4), ==, 0x08);
    g_assert_cmphex(rd32(STACK - 8), ==, CODE + 2);
    g_assert_cmpint(run_to(CODE + 2, 10), ==, TCG_OK);
    g_assert_cmphex(R(ESP), ==, STACK);
    g_assert_cmpint(cpu.mode, ==, MODE_LONG64);
}

static void test_int_bound(void)
{
    cpu_reset(MODE_LONG64);
    ASSERT_EXC(RUN(ud2), EXC_UD);
    g_assert_cmphex(cpu.st.rip, ==, CODE);
    ASSERT_EXC(RUN(int3), EXC_BP);
    ASSERT_EXC(RUN(int80), 0x80);

    cpu_reset(MODE_PROT32);
    cpu.st.rflags |= RFLAGS_OF;
    ASSERT_EXC(RUN(into32), EXC_OF);
    cpu.st.rflags &= ~RFLAGS_OF;
    g_assert_cmpint(RUN(into32), ==, TCG_OK);

    cpu_reset(MODE_PROT32);
    wr32(0x20000, 0);
    wr32(0x20004, 10);
    R(EDI) = 0x20000;
    R(EAX) = 10;
    g_assert_cmpint(RUN(bound32), ==, TCG_OK);
    R(EAX) = 11;
    ASSERT_EXC(RUN(bound32), EXC_BR);
    R(EAX) = 0xffffffff;                        /* -1 < 0, signed */
    ASSERT_EXC(RUN(bound32), EXC_BR);
}

/* ---- strings ---- */

static void test_movs_stos(void)
{
    cpu_reset(MODE_LONG64);
    for (unsigned i = 0; i < 256; i++) {
        ram(0x20000)[i] = (uint8_t)i;
    }
    R(ESI) = 0x20000;
    R(EDI) = 0x30000;
    R(ECX) = 100;
    g_assert_cmpint(RUN(movs64), ==, TCG_OK);
    g_assert_cmpmem(ram(0x30000), 100, ram(0x20000), 100);
    g_assert_cmpint(ram(0x30000)[100], ==, 0);
    g_assert_cmphex(R(ESI), ==, 0x20064);
    g_assert_cmphex(R(EDI), ==, 0x30064);
    g_assert_cmphex(R(ECX), ==, 0);

    /* DF = 1: downwards, dwords */
    cpu.st.rflags |= RFLAGS_DF;
    R(ESI) = 0x2000c;
    R(EDI) = 0x3100c;
    R(ECX) = 4;
    g_assert_cmpint(RUN(movsl64), ==, TCG_OK);
    g_assert_cmpmem(ram(0x31000), 16, ram(0x20000), 16);
    g_assert_cmphex(R(ESI), ==, 0x1fffc);
    g_assert_cmphex(R(EDI), ==, 0x30ffc);
    cpu.st.rflags &= ~RFLAGS_DF;

    R(EAX) = 0x0102030405060708ull;
    R(EDI) = 0x32000;
    R(ECX) = 3;
    g_assert_cmpint(RUN(stosq64), ==, TCG_OK);
    g_assert_cmphex(rd64(0x32000), ==, R(EAX));
    g_assert_cmphex(rd64(0x32010), ==, R(EAX));
    g_assert_cmphex(rd64(0x32018), ==, 0);
    g_assert_cmphex(R(EDI), ==, 0x32018);

    /* rcx = 0: nothing happens */
    R(EDI) = 0x33000;
    R(ECX) = 0;
    g_assert_cmpint(RUN(stosq64), ==, TCG_OK);
    g_assert_cmphex(R(EDI), ==, 0x33000);
    g_assert_cmphex(rd64(0x33000), ==, 0);
}

static void test_cmps_scas_lods(void)
{
    cpu_reset(MODE_LONG64);
    memcpy(ram(0x20000), "\x01\x02\x03", 3);
    memcpy(ram(0x30000), "\x01\x02\x04", 3);
    R(ESI) = 0x20000;
    R(EDI) = 0x30000;
    R(ECX) = 10;
    g_assert_cmpint(RUN(cmpsb64), ==, TCG_OK);
    g_assert_cmphex(R(ESI), ==, 0x20003);
    g_assert_cmphex(R(EDI), ==, 0x30003);
    g_assert_cmphex(R(ECX), ==, 7);
    g_assert_true(!FL(ZF) && FL(CF) && FL(SF));

    memcpy(ram(0x30000), "hello", 6);
    R(EAX) = 0;
    R(EDI) = 0x30000;
    R(ECX) = ~0ull;
    g_assert_cmpint(RUN(scasb64), ==, TCG_OK);
    g_assert_cmphex(R(EDI), ==, 0x30006);
    g_assert_cmphex(R(ECX), ==, ~0ull - 6);
    g_assert_true(FL(ZF));

    memcpy(ram(0x20000), "\x34\x12", 2);
    R(EAX) = 0x1111111111111111ull;
    R(ESI) = 0x20000;
    g_assert_cmpint(RUN(lodsw64), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 0x1111111111111234ull);
    g_assert_cmphex(R(ESI), ==, 0x20002);
}

static void test_string_sizes(void)
{
    /* 32-bit address size in 64-bit mode: esi/edi/ecx, upper halves
     * cleared once an iteration ran (the host does this) */
    cpu_reset(MODE_LONG64);
    memcpy(ram(0x20000), "abc", 3);
    R(ESI) = 0xabcd000000020000ull;
    R(EDI) = 0xabcd000000030000ull;
    R(ECX) = 0x1234000000000003ull;
    g_assert_cmpint(RUN(movs67), ==, TCG_OK);
    g_assert_cmpmem(ram(0x30000), 3, "abc", 3);
    g_assert_cmphex(R(ESI), ==, 0x20003);
    g_assert_cmphex(R(EDI), ==, 0x30003);
    g_assert_cmphex(R(ECX), ==, 0);
    R(ESI) = 0xabcd000000020000ull;
    R(ECX) = 0x1234000000000000ull;
    g_assert_cmpint(RUN(movs67), ==, TCG_OK);
    g_assert_cmphex(R(ESI), ==, 0xabcd000000020000ull);
    g_assert_cmphex(R(ECX), ==, 0x1234000000000000ull);

    /* 16-bit address size: si wraps, the upper esi bits stay */
    cpu_reset(MODE_PROT32);
    ram(0xffff)[0] = 0xcd;
    R(ESI) = 0x1234ffff;
    R(EDI) = 0x5678fff0;
    g_assert_cmpint(RUN(movs16a), ==, TCG_OK);
    g_assert_cmphex(ram(0xfff0)[0], ==, 0xcd);
    g_assert_cmphex(R(ESI), ==, 0x12340000);
    g_assert_cmphex(R(EDI), ==, 0x5678fff1);

    /* a segment override applies to the source */
    cpu_reset(MODE_PROT32);
    cpu.st.seg[S_FS].base = 0x1000;
    ram(0x21000)[0] = 0xab;
    R(ESI) = 0x20000;
    R(EDI) = 0x30000;
    g_assert_cmpint(RUN(movsfs32), ==, TCG_OK);
    g_assert_cmphex(ram(0x30000)[0], ==, 0xab);
    g_assert_cmphex(R(ESI), ==, 0x20001);

    /* real mode, DF = 1, words */
    cpu_reset(MODE_REAL16);
    memcpy(ram(0x100), "\x11\x22\x33\x44", 4);
    R(ESI) = 0x102;
    R(EDI) = 0x202;
    R(ECX) = 2;
    g_assert_cmpint(RUN(rm_movsw), ==, TCG_OK);
    g_assert_cmpmem(ram(0x200), 4, "\x11\x22\x33\x44", 4);
    g_assert_cmphex(R(ESI), ==, 0xfe);
    g_assert_cmphex(R(EDI), ==, 0x1fe);
}

/* A long rep gives the loop back with rip on the instruction and the
 * registers consistent; a fault half-way reports them as they are. */
static void test_rep_restart(void)
{
    enum tcg_status s;

    cpu_reset(MODE_LONG64);
    R(EAX) = 0x5a;
    R(EDI) = 0x40000;
    R(ECX) = 10000;
    load(stosb64, sizeof(stosb64));
    s = tcg_step(&cpu);
    g_assert_true(s == TCG_OK || s == TCG_JUMPED);
    g_assert_cmphex(cpu.st.rip, ==, CODE);
    g_assert_cmpuint(R(ECX), >, 0);
    g_assert_cmpuint(R(ECX), <, 10000);
    g_assert_cmphex(R(EDI), ==, 0x40000 + 10000 - R(ECX));
    g_assert_cmpint(run_to(CODE + sizeof(stosb64), 1000), ==, TCG_OK);
    g_assert_cmphex(R(ECX), ==, 0);
    g_assert_cmphex(R(EDI), ==, 0x40000 + 10000);
    for (unsigned i = 0; i < 10000; i++) {
        g_assert_cmpint(ram(0x40000)[i], ==, 0x5a);
    }
    g_assert_cmpint(ram(0x40000)[10000], ==, 0);

    /* 0x200000 is not mapped: #PF after 16 bytes */
    R(EDI) = 0x1ffff0;
    R(ECX) = 32;
    ASSERT_EXC(RUN(stosb64), EXC_PF);
    g_assert_cmphex(cpu.exc.cr2, ==, 0x200000);
    g_assert_cmphex(cpu.st.rip, ==, CODE);
    g_assert_cmphex(R(ECX), ==, 16);
    g_assert_cmphex(R(EDI), ==, 0x200000);
    g_assert_cmpint(ram(0x1fffff)[0], ==, 0x5a);
}

/* Port 0x510..0x513: records bytes written, reads count up from 0xbeef. */
static GString *pio_log;
static uint16_t pio_next = 0xbeef;

static uint64_t pio_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    g_assert_cmpint(size, ==, 2);
    return pio_next++;
}

static void pio_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (void)opaque;
    (void)off;
    g_assert_cmpint(size, ==, 1);
    g_string_append_c(pio_log, (char)v);
}

static const struct io_ops pio_ops = { pio_read, pio_write };

static void test_ins_outs(void)
{
    cpu_reset(MODE_PROT32);
    memcpy(ram(0x20000), "ABCD", 4);
    R(EDX) = 0x510;
    R(ESI) = 0x20000;
    R(ECX) = 4;
    g_string_truncate(pio_log, 0);
    g_assert_cmpint(RUN(outsb32), ==, TCG_OK);
    g_assert_cmpstr(pio_log->str, ==, "ABCD");
    g_assert_cmphex(R(ESI), ==, 0x20004);

    R(EDI) = 0x30000;
    R(ECX) = 2;
    pio_next = 0xbeef;
    g_assert_cmpint(RUN(insw32), ==, TCG_OK);
    g_assert_cmphex(rd16(0x30000), ==, 0xbeef);
    g_assert_cmphex(rd16(0x30002), ==, 0xbef0);
    g_assert_cmphex(R(EDI), ==, 0x30004);

    /* a destination that faults is found before the port is read */
    cpu_reset(MODE_LONG64);
    R(EDX) = 0x510;
    R(EDI) = 0x1ffffe;
    R(ECX) = 2;
    pio_next = 0xbeef;
    ASSERT_EXC(RUN(insw32), EXC_PF);
    g_assert_cmphex(pio_next, ==, 0xbef0);      /* one port read */
    g_assert_cmphex(rd16(0x1ffffe), ==, 0xbeef);
    g_assert_cmphex(R(ECX), ==, 1);
    g_assert_cmphex(R(EDI), ==, 0x200000);

    /* CPL 3 > IOPL 0: #GP(0) (the TSS bitmap comes in part 2) */
    cpu_reset(MODE_PROT32);
    cpu.cpl = 3;
    R(ECX) = 1;
    ASSERT_EXC(RUN(insw32), EXC_GP);
}

/* ---- fault order and quirks, as the host shows them ---- */

/* Sets the 4 KiB PTE of page (below 2 MiB) to page | flags. */
static void set_pte(uint64_t page, uint64_t flags)
{
    wr64(PT_BASE + 0x3000 + (page >> 12) * 8, page | flags);
    tcg_tlb_flush(&cpu);
}

static void test_host_order(void)
{
    enum tcg_status s;

    /* loopne after F3 waits for ZF = 1 on AMD (the last rep prefix picks
     * the condition); Intel keeps the opcode's */
    cpu_reset(MODE_LONG64);
    R(ECX) = 5;
    cpu.st.rflags |= RFLAGS_ZF;
    g_assert_cmpint(RUN(loopne_f3), ==, TCG_OK);
    g_assert_cmphex(R(ECX), ==, 4);
    g_assert_cmphex(R(EBX), ==, tcg_host_is_intel() ? 1 : 0);

    /* enter pushes, then probes the final rSP for a write */
    cpu_reset(MODE_LONG64);
    set_pte(0x70000, 0);
    R(ESP) = 0x71010;
    R(EBP) = 0x1234;
    ASSERT_EXC(RUN(enter_probe), EXC_PF);
    g_assert_cmphex(cpu.exc.cr2, ==, 0x70008);
    g_assert_true(cpu.exc.error_code & 2);
    g_assert_cmphex(R(ESP), ==, 0x71010);
    g_assert_cmphex(R(EBP), ==, 0x1234);
    g_assert_cmphex(rd64(0x71008), ==, 0x1234);

    /* a locked read-modify-write reads with write intent */
    cpu_reset(MODE_LONG64);
    cpu.st.cr0 |= CR0_WP;
    set_pte(0x50000, 5);                /* present, user, read-only */
    R(EDI) = 0x50000;
    ASSERT_EXC(RUN(xadd_mem), EXC_PF);
    g_assert_cmphex(cpu.exc.error_code & 3, ==, 3);

    /* cmpxchg16b: the alignment #GP comes before the stack's #SS */
    cpu_reset(MODE_LONG64);
    R(ESP) = 0x0000800000000008ull;
    ASSERT_EXC(RUN(cx16_rsp), EXC_GP);
    R(ESP) = 0x0000800000000000ull;
    ASSERT_EXC(RUN(cx16_rsp), EXC_SS);

    /* call to a non-canonical target: the push is checked first, then
     * #GP(0) with nothing written */
    cpu_reset(MODE_LONG64);
    R(EAX) = 0x0000800000000000ull;
    wr64(STACK - 8, 0x77);
    ASSERT_EXC(RUN(call_rax), EXC_GP);
    g_assert_cmphex(R(ESP), ==, STACK);
    g_assert_cmphex(rd64(STACK - 8), ==, 0x77);
    R(ESP) = 0x200004;
    ASSERT_EXC(RUN(call_rax), EXC_PF);
    g_assert_cmphex(cpu.exc.cr2, ==, 0x200000);

    /* movsxd r16, m16: AMD reads a dword */
    cpu_reset(MODE_LONG64);
    ram(0x1ffffe)[0] = 0x34;
    ram(0x1ffffe)[1] = 0x92;
    R(EDI) = 0x1ffffe;
    R(EBX) = 0xaaaaaaaa;
    s = RUN(movsxd16);
    if (tcg_host_is_intel()) {
        g_assert_cmpint(s, ==, TCG_OK);
        g_assert_cmphex(R(EBX), ==, 0xaaaa9234);
    } else {
        ASSERT_EXC(s, EXC_PF);
        g_assert_cmphex(cpu.exc.cr2, ==, 0x200000);
        ram(0x1ffffc)[0] = 0x34;
        ram(0x1ffffc)[1] = 0x92;
        R(EDI) = 0x1ffffc;
        g_assert_cmpint(RUN(movsxd16), ==, TCG_OK);
        g_assert_cmphex(R(EBX), ==, 0xaaaa9234);
    }

    /* popa: what was popped before a fault stays popped, esp does not move */
    cpu_reset(MODE_PROT32);
    cpu.st.seg[S_SS].limit = 0x7ffff;
    R(ESP) = 0x7fff0;
    R(EBX) = 0x99;
    wr32(0x7fff0, 0x11);
    wr32(0x7fff4, 0x22);
    wr32(0x7fff8, 0x33);
    ASSERT_EXC(RUN(popa_only), EXC_SS);
    g_assert_cmphex(R(EDI), ==, 0x11);
    g_assert_cmphex(R(ESI), ==, 0x22);
    g_assert_cmphex(R(EBP), ==, 0x33);
    g_assert_cmphex(R(EBX), ==, 0x99);
    g_assert_cmphex(R(ESP), ==, 0x7fff0);
}

/* ---- misc ---- */

static void host_cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(0));
}

static void cpuid(uint32_t leaf, uint32_t sub)
{
    R(EAX) = 0xffffffff00000000ull | leaf;
    R(ECX) = sub;
    g_assert_cmpint(RUN(cpuid64), ==, TCG_OK);
}

static void test_cpuid(void)
{
    uint32_t host[4];
    struct x86_cpuid_entry table[64];
    unsigned n;
    struct x86_cpu_def *def;

    cpu_reset(MODE_LONG64);
    host_cpuid(0, host);
    cpuid(0, 0);
    g_assert_cmphex(R(EAX), ==, 7);             /* upper half cleared too */
    g_assert_cmphex(R(EBX), ==, host[1]);
    g_assert_cmphex(R(EDX), ==, host[3]);
    g_assert_cmphex(R(ECX), ==, host[2]);
    cpuid(1, 0);
    g_assert_true(R(EDX) & (1u << 15));         /* cmov */
    g_assert_true(R(EDX) & (1u << 8));          /* cx8 */
    g_assert_true(R(EDX) & (1u << 4));          /* tsc */
    g_assert_true(R(EDX) & (1u << 25));         /* sse */
    g_assert_true(R(ECX) & (1u << 13));         /* cx16 */
    g_assert_true(R(ECX) & (1u << 30));         /* rdrand */
    cpuid(7, 0);
    g_assert_true(R(EBX) & (1u << 3));          /* bmi1 */
    g_assert_true(R(EBX) & (1u << 8));          /* bmi2 */
    cpuid(7, 1);
    g_assert_cmphex(R(EBX), ==, 0);
    cpuid(0x80000000, 0);
    g_assert_cmphex(R(EAX), ==, 0x80000008);
    cpuid(0x80000001, 0);
    g_assert_true(R(EDX) & (1u << 29));         /* lm */
    g_assert_true(R(ECX) & (1u << 0));          /* lahf-lm */
    cpuid(0x80000002, 0);
    g_assert_cmphex(R(EAX), ==, 0x6d767968);    /* "hyvm" */
    /* beyond the highest leaf: AMD answers zeros, Intel the top basic leaf */
    cpuid(0x20, 0);
    if (host[1] == 0x756e6547) {
        g_assert_cmphex(R(EAX), ==, 0);         /* leaf 7 subleaf 0's eax */
        g_assert_true(R(EBX) & (1u << 3));
    } else {
        g_assert_cmphex(R(EAX) | R(EBX) | R(ECX) | R(EDX), ==, 0);
    }

    /* a -cpu model's table, filtered by what the software CPU runs */
    n = tcg_cpuid_supported(table, 64);
    g_assert_cmpuint(n, >=, 8);
    def = x86_cpu_parse("qemu64,-vme,-sse,-sse2,-mmx,-fxsr,-fpu,-pse,-de,-mce,-sep,-mtrr,-mca,"
                        "-pat,-pse36,-pni,-svm,-syscall", NULL);
    g_assert_nonnull(def);
    {
        struct x86_cpuid_entry out[64];
        unsigned nout = 64;

        g_assert_cmpint(x86_cpu_build_cpuid(def, table, n, out, &nout, NULL), ==, 0);
        cpu.cpuid = out;
        cpu.ncpuid = nout;
        cpuid(0, 0);
        g_assert_cmphex(R(EAX), ==, 0xd);
        g_assert_cmphex(R(EBX), ==, 0x68747541);    /* "Auth" */
        cpuid(1, 0);
        g_assert_true(R(EDX) & (1u << 15));
        g_assert_false(R(EDX) & (1u << 25));
        cpuid(0x80000001, 0);
        g_assert_true(R(EDX) & (1u << 29));
        cpu.cpuid = NULL;
        cpu.ncpuid = 0;
    }
    x86_cpu_def_free(def);
}

static void test_tsc_rand(void)
{
    uint64_t t1, t2;

    cpu_reset(MODE_LONG64);
    cpu.tsc_offset = 1ull << 50;
    R(EAX) = R(EDX) = ~0ull;
    g_assert_cmpint(RUN(rdtsc64), ==, TCG_OK);
    g_assert_cmphex(R(EAX) >> 32, ==, 0);
    g_assert_cmphex(R(EDX) >> 32, ==, 0);
    t1 = R(EAX) | (R(EDX) << 32);
    g_assert_cmpuint(t1, >=, 1ull << 50);
    cpu.msr_tsc_aux = 0x12345678abcdull;
    g_assert_cmpint(RUN(rdtscp64), ==, TCG_OK);
    t2 = R(EAX) | (R(EDX) << 32);
    g_assert_cmpuint(t2, >, t1);
    g_assert_cmphex(R(ECX), ==, 0x5678abcd);

    /* CR4.TSD at CPL 3: #GP(0) */
    cpu.st.cr4 |= CR4_TSD;
    cpu.cpl = 3;
    ASSERT_EXC(RUN(rdtsc64), EXC_GP);
    cpu.cpl = 0;

    cpu.st.rflags = 2 | RFLAGS_ZF | RFLAGS_OF | RFLAGS_SF;
    R(ECX) = ~0ull;
    g_assert_cmpint(RUN(rdrand64), ==, TCG_OK);
    g_assert_true(FL(CF) && !FL(ZF) && !FL(OF) && !FL(SF));
    g_assert_cmphex(R(ECX) >> 32, ==, 0);
}

static void test_flags_misc(void)
{
    cpu_reset(MODE_LONG64);
    g_assert_cmpint(RUN(flags64), ==, TCG_OK);
    g_assert_true(FL(CF) && FL(DF));
    cpu.st.rflags = 3;
    g_assert_cmpint(RUN(clc64), ==, TCG_OK);
    g_assert_cmphex(cpu.st.rflags, ==, 2);
    R(EDI) = 0x20000;
    R(EAX) = 0x20000;
    g_assert_cmpint(RUN(nops64), ==, TCG_OK);

    cpu_reset(MODE_PROT32);
    R(EAX) = 0x12345600;
    cpu.st.rflags |= RFLAGS_CF;
    g_assert_cmpint(RUN(salc32), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 0x123456ff);
    cpu.st.rflags &= ~RFLAGS_CF;
    g_assert_cmpint(RUN(salc32), ==, TCG_OK);
    g_assert_cmphex(R(EAX), ==, 0x12345600);

    /* cli/sti: CPL <= IOPL changes IF, else #GP(0) */
    cpu.st.rflags |= RFLAGS_IF;
    g_assert_cmpint(RUN(cli32), ==, TCG_OK);
    g_assert_false(FL(IF));
    cpu.cpl = 3;
    ASSERT_EXC(RUN(sti32), EXC_GP);
    cpu.st.rflags |= RF_IOPL;
    g_assert_cmpint(RUN(sti32), ==, TCG_OK);
    g_assert_true(FL(IF));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, NULL), ==, 0);
    pio_log = g_string_new(NULL);
    g_assert_cmpint(io_register_pio(0x510, 4, "test", &pio_ops, NULL, NULL), ==, 0);

    g_test_add_func("/tcg-insns/mov", test_mov);
    g_test_add_func("/tcg-insns/xchg-cmov-setcc", test_xchg_cmov_setcc);
    g_test_add_func("/tcg-insns/cbw-cwd", test_cbw_cwd);
    g_test_add_func("/tcg-insns/xlat-lahf-sahf", test_xlat_lahf_sahf);
    g_test_add_func("/tcg-insns/cmpxchg", test_cmpxchg);
    g_test_add_func("/tcg-insns/cmpxchg8b-16b", test_cmpxchg8b_16b);
    g_test_add_func("/tcg-insns/xadd", test_xadd);
    g_test_add_func("/tcg-insns/push-pop", test_push_pop);
    g_test_add_func("/tcg-insns/pusha-popa", test_pusha_popa);
    g_test_add_func("/tcg-insns/pushf-popf", test_pushf_popf);
    g_test_add_func("/tcg-insns/pop-sreg", test_pop_sreg);
    g_test_add_func("/tcg-insns/enter-leave", test_enter_leave);
    g_test_add_func("/tcg-insns/call-ret", test_call_ret);
    g_test_add_func("/tcg-insns/jcc-loop", test_jcc_loop);
    g_test_add_func("/tcg-insns/far-real", test_far_real);
    g_test_add_func("/tcg-insns/far-prot", test_far_prot);
    g_test_add_func("/tcg-insns/int-bound", test_int_bound);
    g_test_add_func("/tcg-insns/movs-stos", test_movs_stos);
    g_test_add_func("/tcg-insns/cmps-scas-lods", test_cmps_scas_lods);
    g_test_add_func("/tcg-insns/string-sizes", test_string_sizes);
    g_test_add_func("/tcg-insns/rep-restart", test_rep_restart);
    g_test_add_func("/tcg-insns/ins-outs", test_ins_outs);
    g_test_add_func("/tcg-insns/host-order", test_host_order);
    g_test_add_func("/tcg-insns/cpuid", test_cpuid);
    g_test_add_func("/tcg-insns/tsc-rand", test_tsc_rand);
    g_test_add_func("/tcg-insns/flags-misc", test_flags_misc);
    return g_test_run();
}
