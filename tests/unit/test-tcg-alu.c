/*
 * The arithmetic families of the software CPU (exec-alu.c, exec-shift.c,
 * exec-muldiv.c, exec-bits.c, flags.c) against the host CPU.
 *
 * Each case runs one instruction on the host (a small assembly stub that
 * loads RAX RCX RDX RBX RSI and RFLAGS from a struct, executes it and
 * stores them back, pushf/popf around it) and the handler on a struct
 * tcg_cpu with the same registers, over edge values and a seeded random
 * set, and compares every register and the six status flags (all of them
 * exact on an AMD host; elsewhere the SDM-undefined ones are left out).
 * #DE on the host (SIGFPE) must be #DE in the handler.  Memory operands
 * use a buffer that is guest RAM (paging off, 64-bit addressing) for the
 * handler and the same bytes at their host address for the host.
 *
 * Every case runs twice: with a struct insn built by hand, and with the one
 * x86_decode() makes of the stub's own bytes (decoder and handlers agree on
 * operand lists).  The BCD adjusts, invalid in 64-bit mode, run on the host
 * in a 32-bit code segment.  A last group checks that a write fault leaves
 * registers, flags and memory as they were.
 *
 * Threads: single-threaded test.
 */
#include <cpuid.h>
#include <glib.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel/tcg/tcg-cpu.h"
#include "system/memory.h"

/* The four families' handlers, by operation (not through exec-table.c, which
 * would link every other family too). */
#define H(op, fn) enum tcg_status fn(struct tcg_cpu *cpu, const struct insn *in);
#include "accel/tcg/exec-alu.def"
#include "accel/tcg/exec-shift.def"
#include "accel/tcg/exec-muldiv.def"
#include "accel/tcg/exec-bits.def"
#undef H

static const tcg_exec_fn handlers[OP__MAX] = {
#define H(op, fn) [op] = fn,
#include "accel/tcg/exec-alu.def"
#include "accel/tcg/exec-shift.def"
#include "accel/tcg/exec-muldiv.def"
#include "accel/tcg/exec-bits.def"
#undef H
};

/* ---- host stubs ---- */

struct hregs {
    uint64_t rax, rcx, rdx, rbx, rsi, flags;
};

#define STUB(name, insn) \
    __asm__(".pushsection .text\n.p2align 4\n" #name ":\n" \
            "push %rbx\n mov %rdi, %r11\n" \
            "mov 0(%r11), %rax\n mov 8(%r11), %rcx\n mov 16(%r11), %rdx\n" \
            "mov 24(%r11), %rbx\n mov 32(%r11), %rsi\n" \
            "pushq 40(%r11)\n popfq\n" \
            #name "_i:\n" insn "\n" #name "_e:\n" \
            "pushfq\n popq 40(%r11)\n" \
            "mov %rax, 0(%r11)\n mov %rcx, 8(%r11)\n mov %rdx, 16(%r11)\n" \
            "mov %rbx, 24(%r11)\n mov %rsi, 32(%r11)\n" \
            "pop %rbx\n ret\n.popsection\n"); \
    void name(struct hregs *r); \
    extern const uint8_t name##_i[], name##_e[];

#define STUB4(n, a, b, c, d) STUB(n##_1, a) STUB(n##_2, b) STUB(n##_4, c) STUB(n##_8, d)
#define STUB3(n, b, c, d) STUB(n##_2, b) STUB(n##_4, c) STUB(n##_8, d)
#define STUB2(n, c, d) STUB(n##_4, c) STUB(n##_8, d)

/* op %cl/%cx/%ecx/%rcx, %al/... */
#define S_RR4(mn) STUB4(h_##mn, #mn "b %cl,%al", #mn "w %cx,%ax", #mn "l %ecx,%eax", \
                        #mn "q %rcx,%rax")
#define S_RR3(mn) STUB3(h_##mn, #mn "w %cx,%ax", #mn "l %ecx,%eax", #mn "q %rcx,%rax")
#define S_RR2(mn) STUB2(h_##mn, #mn "l %ecx,%eax", #mn "q %rcx,%rax")
#define S_R4(mn) STUB4(h_##mn, #mn "b %al", #mn "w %ax", #mn "l %eax", #mn "q %rax")
#define S_M4(mn) STUB4(h_##mn, #mn "b %cl", #mn "w %cx", #mn "l %ecx", #mn "q %rcx")
#define S_CL4(mn) STUB4(h_##mn, #mn "b %cl,%al", #mn "w %cl,%ax", #mn "l %cl,%eax", \
                        #mn "q %cl,%rax")
#define S_ONE4(mn) STUB4(h1_##mn, #mn "b $1,%al", #mn "w $1,%ax", #mn "l $1,%eax", \
                         #mn "q $1,%rax")
#define S_IMM4(mn) STUB4(hi_##mn, #mn "b $5,%al", #mn "w $13,%ax", #mn "l $29,%eax", \
                         #mn "q $61,%rax")
#define S_RRR2(mn) STUB2(h_##mn, #mn "l %edx,%ecx,%eax", #mn "q %rdx,%rcx,%rax")

S_RR4(add) S_RR4(or) S_RR4(adc) S_RR4(sbb) S_RR4(and) S_RR4(sub) S_RR4(xor)
S_RR4(cmp) S_RR4(test)
S_R4(inc) S_R4(dec) S_R4(neg) S_R4(not)
S_CL4(rol) S_CL4(ror) S_CL4(rcl) S_CL4(rcr) S_CL4(shl) S_CL4(shr) S_CL4(sar)
S_ONE4(rol) S_ONE4(ror) S_ONE4(rcl) S_ONE4(rcr) S_ONE4(shl) S_ONE4(shr) S_ONE4(sar)
S_IMM4(rol) S_IMM4(rcr) S_IMM4(shl) S_IMM4(sar)
/* SAL's own encoding, ModRM.reg = 6 (D2/D3 /6), which gas never emits */
STUB4(h_sal, ".byte 0xd2, 0xf0", ".byte 0x66, 0xd3, 0xf0", ".byte 0xd3, 0xf0",
      ".byte 0x48, 0xd3, 0xf0")
STUB3(h_shld, "shldw %cl,%dx,%ax", "shldl %cl,%edx,%eax", "shldq %cl,%rdx,%rax")
STUB3(h_shrd, "shrdw %cl,%dx,%ax", "shrdl %cl,%edx,%eax", "shrdq %cl,%rdx,%rax")
S_RRR2(sarx) S_RRR2(shlx) S_RRR2(shrx)
STUB2(h_rorx, "rorxl $7,%ecx,%eax", "rorxq $45,%rcx,%rax")
S_M4(mul) S_M4(imul) S_M4(div) S_M4(idiv)
STUB3(h2_imul, "imulw %cx,%ax", "imull %ecx,%eax", "imulq %rcx,%rax")
STUB3(h3_imul, "imulw $-3,%cx,%ax", "imull $-3,%ecx,%eax", "imulq $-3,%rcx,%rax")
STUB3(h4_imul, "imulw $0x7123,%cx,%ax", "imull $0x71234567,%ecx,%eax",
      "imulq $-0x71234567,%rcx,%rax")
STUB2(h_mulx, "mulxl %esi,%ecx,%eax", "mulxq %rsi,%rcx,%rax")
STUB2(h2_mulx, "mulxl %esi,%eax,%eax", "mulxq %rsi,%rax,%rax")
S_RR2(adcx) S_RR2(adox)
S_RR3(bt) S_RR3(bts) S_RR3(btr) S_RR3(btc)
STUB3(hi_bt, "btw $3,%ax", "btl $35,%eax", "btq $0x47,%rax")
STUB3(hi_btc, "btcw $0x1f,%ax", "btcl $9,%eax", "btcq $63,%rax")
S_RR3(bsf) S_RR3(bsr) S_RR3(lzcnt) S_RR3(tzcnt) S_RR3(popcnt)
S_RRR2(andn)
S_RRR2(bextr) S_RRR2(bzhi) S_RRR2(pdep) S_RRR2(pext)
STUB2(h_blsi, "blsil %ecx,%eax", "blsiq %rcx,%rax")
STUB2(h_blsmsk, "blsmskl %ecx,%eax", "blsmskq %rcx,%rax")
STUB2(h_blsr, "blsrl %ecx,%eax", "blsrq %rcx,%rax")
STUB(h_crc32_b4, "crc32b %cl,%eax")
STUB(h_crc32_w4, "crc32w %cx,%eax")
STUB(h_crc32_l4, "crc32l %ecx,%eax")
STUB(h_crc32_b8, "crc32b %cl,%rax")
STUB(h_crc32_q8, "crc32q %rcx,%rax")
/* memory operands at [rsi] */
STUB4(hm_add, "addb %cl,(%rsi)", "addw %cx,(%rsi)", "addl %ecx,(%rsi)", "addq %rcx,(%rsi)")
STUB4(hm_sbb, "lock sbbb %cl,(%rsi)", "lock sbbw %cx,(%rsi)", "lock sbbl %ecx,(%rsi)",
      "lock sbbq %rcx,(%rsi)")
STUB4(hm2_xor, "xorb (%rsi),%al", "xorw (%rsi),%ax", "xorl (%rsi),%eax", "xorq (%rsi),%rax")
STUB4(hm_cmp, "cmpb %cl,(%rsi)", "cmpw %cx,(%rsi)", "cmpl %ecx,(%rsi)", "cmpq %rcx,(%rsi)")
STUB4(hm_neg, "lock negb (%rsi)", "lock negw (%rsi)", "lock negl (%rsi)", "lock negq (%rsi)")
STUB4(hm_dec, "lock decb (%rsi)", "lock decw (%rsi)", "lock decl (%rsi)", "lock decq (%rsi)")
STUB4(hm_rcl, "rclb %cl,(%rsi)", "rclw %cl,(%rsi)", "rcll %cl,(%rsi)", "rclq %cl,(%rsi)")
STUB4(hm_sar, "sarb %cl,(%rsi)", "sarw %cl,(%rsi)", "sarl %cl,(%rsi)", "sarq %cl,(%rsi)")
STUB3(hm_shld, "shldw %cl,%dx,(%rsi)", "shldl %cl,%edx,(%rsi)", "shldq %cl,%rdx,(%rsi)")
STUB4(hm_mul, "mulb (%rsi)", "mulw (%rsi)", "mull (%rsi)", "mulq (%rsi)")
STUB4(hm_idiv, "idivb (%rsi)", "idivw (%rsi)", "idivl (%rsi)", "idivq (%rsi)")
STUB3(hm_imul2, "imulw (%rsi),%ax", "imull (%rsi),%eax", "imulq (%rsi),%rax")
STUB3(hm_bsr, "bsrw (%rsi),%ax", "bsrl (%rsi),%eax", "bsrq (%rsi),%rax")
STUB2(hm_pext, "pextl (%rsi),%ecx,%eax", "pextq (%rsi),%rcx,%rax")
STUB(hm_crc32_b4, "crc32b (%rsi),%eax")
STUB(hm_crc32_q8, "crc32q (%rsi),%rax")
/* high-byte registers */
STUB(hh_add, "addb %ch,%ah")
STUB(hh_sub, "subb %bl,%dh")
STUB(hh_rol, "rolb %cl,%bh")
STUB(hh_mul, "mulb %ch")
STUB(hh_div, "divb %dh")
STUB(hh_inc, "incb %ah")
STUB(hh_crc32, "crc32b %bh,%eax")

STUB3(hm_bt, "btw %cx,(%rsi)", "btl %ecx,(%rsi)", "btq %rcx,(%rsi)")
STUB3(hm_bts, "btsw %cx,(%rsi)", "btsl %ecx,(%rsi)", "btsq %rcx,(%rsi)")
STUB3(hm_btr, "lock btrw %cx,(%rsi)", "lock btrl %ecx,(%rsi)", "lock btrq %rcx,(%rsi)")
STUB3(hm_btc, "btcw %cx,(%rsi)", "btcl %ecx,(%rsi)", "btcq %rcx,(%rsi)")
STUB3(hmi_bts, "btsw $0x13,(%rsi)", "btsl $0x47,(%rsi)", "btsq $0x87,(%rsi)")

/* ---- cases ---- */

/* How the inputs are chosen. */
enum gen {
    G_PLAIN,    /* edge and random values everywhere */
    G_CNT_C,    /* the low byte of RCX is a shift count / bit offset */
    G_CNT_D,    /* RDX holds a count (BMI2 shifts, BEXTR, BZHI) */
    G_DIV,      /* RDX:RAX mostly divisible without overflow */
    G_IDIV,
    G_MEM,      /* RSI points into a buffer; RCX a small signed bit offset */
    G_MEMP,     /* RSI points into a buffer; the rest as G_PLAIN */
};

#define OP_NONE 0xff
#define OPI(v) (0x80 | (v))  /* an immediate operand: value in the case's imm */

struct tcase {
    const char *name;
    uint16_t op;
    uint8_t size;       /* operation size */
    uint8_t gen;
    void (*host)(struct hregs *);
    uint8_t nops;
    uint8_t reg[3];     /* register of each operand; OPI() = immediate; 0x40 = [rsi] */
    uint8_t osz[3];     /* operand size; 0 = the operation size */
    uint8_t map, opcode;
    int64_t imm;
    const uint8_t *ib, *ie;     /* the instruction's bytes in the stub */
};

#define MEMOP 0x40
#define HI8 0x20    /* AH CH DH BH: bits 15:8 of register n */

#define C1(nm, o, s, g, h, n, r0, r1, r2, z0, z1, z2, mp, opc, im) \
    { nm, OP_##o, s, g, h, n, { r0, r1, r2 }, { z0, z1, z2 }, mp, opc, im, h##_i, h##_e },
#define C4(nm, o, g, h, n, r0, r1, r2, z0, z1, z2) \
    C1(nm "8", o, 1, g, h##_1, n, r0, r1, r2, z0, z1, z2, 0, 0, 0) \
    C1(nm "16", o, 2, g, h##_2, n, r0, r1, r2, z0, z1, z2, 0, 0, 0) \
    C1(nm "32", o, 4, g, h##_4, n, r0, r1, r2, z0, z1, z2, 0, 0, 0) \
    C1(nm "64", o, 8, g, h##_8, n, r0, r1, r2, z0, z1, z2, 0, 0, 0)
#define C3(nm, o, g, h, n, r0, r1, r2, z0, z1, z2, mp, opc, im) \
    C1(nm "16", o, 2, g, h##_2, n, r0, r1, r2, z0, z1, z2, mp, opc, im) \
    C1(nm "32", o, 4, g, h##_4, n, r0, r1, r2, z0, z1, z2, mp, opc, im) \
    C1(nm "64", o, 8, g, h##_8, n, r0, r1, r2, z0, z1, z2, mp, opc, im)
#define C2(nm, o, g, h, n, r0, r1, r2, z0, z1, z2, im) \
    C1(nm "32", o, 4, g, h##_4, n, r0, r1, r2, z0, z1, z2, 0, 0, im) \
    C1(nm "64", o, 8, g, h##_8, n, r0, r1, r2, z0, z1, z2, 0, 0, im)

#define ALU(nm, o) C4(#nm, o, G_PLAIN, h_##nm, 2, 0, 1, 0, 0, 0, 0)
#define UN(nm, o) C4(#nm, o, G_PLAIN, h_##nm, 1, 0, 0, 0, 0, 0, 0)
#define SH(nm, o) C4(#nm, o, G_CNT_C, h_##nm, 2, 0, 1, 0, 0, 1, 0) \
                  C4(#nm "-1", o, G_PLAIN, h1_##nm, 1, 0, 0, 0, 0, 0, 0)
#define SHI(nm, o) \
    C1(#nm "i8", o, 1, G_PLAIN, hi_##nm##_1, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 5) \
    C1(#nm "i16", o, 2, G_PLAIN, hi_##nm##_2, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 13) \
    C1(#nm "i32", o, 4, G_PLAIN, hi_##nm##_4, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 29) \
    C1(#nm "i64", o, 8, G_PLAIN, hi_##nm##_8, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 61)
#define MD(nm, o, g) C4(#nm, o, g, h_##nm, 1, 1, 0, 0, 0, 0, 0)
#define RR3(nm, o, g) C3(#nm, o, g, h_##nm, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0)
#define RRR2(nm, o, g) C2(#nm, o, g, h_##nm, 3, 0, 1, 2, 0, 0, 0, 0)

static const struct tcase cases[] = {
    ALU(add, ADD) ALU(or, OR) ALU(adc, ADC) ALU(sbb, SBB) ALU(and, AND)
    ALU(sub, SUB) ALU(xor, XOR) ALU(cmp, CMP) ALU(test, TEST)
    UN(inc, INC) UN(dec, DEC) UN(neg, NEG) UN(not, NOT)
    SH(rol, ROL) SH(ror, ROR) SH(rcl, RCL) SH(rcr, RCR) SH(shl, SHL)
    SH(shr, SHR) SH(sar, SAR)
    C4("sal", SAL, G_CNT_C, h_sal, 2, 0, 1, 0, 0, 1, 0)
    SHI(rol, ROL) SHI(rcr, RCR) SHI(shl, SHL) SHI(sar, SAR)
    C3("shld", SHLD, G_CNT_C, h_shld, 3, 0, 2, 1, 0, 0, 1, 0, 0, 0)
    C3("shrd", SHRD, G_CNT_C, h_shrd, 3, 0, 2, 1, 0, 0, 1, 0, 0, 0)
    RRR2(sarx, SARX, G_CNT_D) RRR2(shlx, SHLX, G_CNT_D) RRR2(shrx, SHRX, G_CNT_D)
    C1("rorx32", RORX, 4, G_PLAIN, h_rorx_4, 3, 0, 1, OPI(0), 0, 0, 1, 0, 0, 7)
    C1("rorx64", RORX, 8, G_PLAIN, h_rorx_8, 3, 0, 1, OPI(0), 0, 0, 1, 0, 0, 45)
    MD(mul, MUL, G_PLAIN) MD(imul, IMUL, G_PLAIN) MD(div, DIV, G_DIV)
    MD(idiv, IDIV, G_IDIV)
    C3("imul2-", IMUL, G_PLAIN, h2_imul, 2, 0, 1, 0, 0, 0, 0, 1, 0xaf, 0)
    C3("imul3-", IMUL, G_PLAIN, h3_imul, 3, 0, 1, OPI(0), 0, 0, 0, 0, 0x6b, -3)
    C1("imul3i16", IMUL, 2, G_PLAIN, h4_imul_2, 3, 0, 1, OPI(0), 0, 0, 0, 0, 0x69, 0x7123)
    C1("imul3i32", IMUL, 4, G_PLAIN, h4_imul_4, 3, 0, 1, OPI(0), 0, 0, 0, 0, 0x69,
       0x71234567)
    C1("imul3i64", IMUL, 8, G_PLAIN, h4_imul_8, 3, 0, 1, OPI(0), 0, 0, 0, 0, 0x69,
       -0x71234567)
    C2("mulx", MULX, G_PLAIN, h_mulx, 3, 0, 1, 6, 0, 0, 0, 0)
    C2("mulx-same", MULX, G_PLAIN, h2_mulx, 3, 0, 0, 6, 0, 0, 0, 0)
    C2("adcx", ADCX, G_PLAIN, h_adcx, 2, 0, 1, 0, 0, 0, 0, 0)
    C2("adox", ADOX, G_PLAIN, h_adox, 2, 0, 1, 0, 0, 0, 0, 0)
    RR3(bt, BT, G_CNT_C) RR3(bts, BTS, G_CNT_C) RR3(btr, BTR, G_CNT_C)
    RR3(btc, BTC, G_CNT_C)
    C1("bti16", BT, 2, G_PLAIN, hi_bt_2, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 3)
    C1("bti32", BT, 4, G_PLAIN, hi_bt_4, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 35)
    C1("bti64", BT, 8, G_PLAIN, hi_bt_8, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 0x47)
    C1("btci16", BTC, 2, G_PLAIN, hi_btc_2, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 0x1f)
    C1("btci32", BTC, 4, G_PLAIN, hi_btc_4, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 9)
    C1("btci64", BTC, 8, G_PLAIN, hi_btc_8, 2, 0, OPI(0), 0, 0, 1, 0, 0, 0, 63)
    C3("btm", BT, G_MEM, hm_bt, 2, MEMOP, 1, 0, 0, 0, 0, 0, 0, 0)
    C3("btsm", BTS, G_MEM, hm_bts, 2, MEMOP, 1, 0, 0, 0, 0, 0, 0, 0)
    C3("btrm", BTR, G_MEM, hm_btr, 2, MEMOP, 1, 0, 0, 0, 0, 0, 0, 0)
    C3("btcm", BTC, G_MEM, hm_btc, 2, MEMOP, 1, 0, 0, 0, 0, 0, 0, 0)
    C1("btsmi16", BTS, 2, G_MEM, hmi_bts_2, 2, MEMOP, OPI(0), 0, 0, 1, 0, 0, 0, 0x13)
    C1("btsmi32", BTS, 4, G_MEM, hmi_bts_4, 2, MEMOP, OPI(0), 0, 0, 1, 0, 0, 0, 0x47)
    C1("btsmi64", BTS, 8, G_MEM, hmi_bts_8, 2, MEMOP, OPI(0), 0, 0, 1, 0, 0, 0, 0x87)
    RR3(bsf, BSF, G_PLAIN) RR3(bsr, BSR, G_PLAIN) RR3(lzcnt, LZCNT, G_PLAIN)
    RR3(tzcnt, TZCNT, G_PLAIN) RR3(popcnt, POPCNT, G_PLAIN)
    RRR2(andn, ANDN, G_PLAIN) RRR2(bextr, BEXTR, G_CNT_D) RRR2(bzhi, BZHI, G_CNT_D)
    RRR2(pdep, PDEP, G_PLAIN) RRR2(pext, PEXT, G_PLAIN)
    C2("blsi", BLSI, G_PLAIN, h_blsi, 2, 0, 1, 0, 0, 0, 0, 0)
    C2("blsmsk", BLSMSK, G_PLAIN, h_blsmsk, 2, 0, 1, 0, 0, 0, 0, 0)
    C2("blsr", BLSR, G_PLAIN, h_blsr, 2, 0, 1, 0, 0, 0, 0, 0)
    C1("crc32b", CRC32, 4, G_PLAIN, h_crc32_b4, 2, 0, 1, 0, 4, 1, 0, 0, 0, 0)
    C1("crc32w", CRC32, 4, G_PLAIN, h_crc32_w4, 2, 0, 1, 0, 4, 2, 0, 0, 0, 0)
    C1("crc32l", CRC32, 4, G_PLAIN, h_crc32_l4, 2, 0, 1, 0, 4, 4, 0, 0, 0, 0)
    C1("crc32b64", CRC32, 8, G_PLAIN, h_crc32_b8, 2, 0, 1, 0, 8, 1, 0, 0, 0, 0)
    /* memory destinations and sources, LOCK, and the high-byte registers */
    C4("addm", ADD, G_MEMP, hm_add, 2, MEMOP, 1, 0, 0, 0, 0)
    C4("lock-sbbm", SBB, G_MEMP, hm_sbb, 2, MEMOP, 1, 0, 0, 0, 0)
    C4("xorm-src", XOR, G_MEMP, hm2_xor, 2, 0, MEMOP, 0, 0, 0, 0)
    C4("cmpm", CMP, G_MEMP, hm_cmp, 2, MEMOP, 1, 0, 0, 0, 0)
    C4("lock-negm", NEG, G_MEMP, hm_neg, 1, MEMOP, 0, 0, 0, 0, 0)
    C4("lock-decm", DEC, G_MEMP, hm_dec, 1, MEMOP, 0, 0, 0, 0, 0)
    C4("rclm", RCL, G_MEMP, hm_rcl, 2, MEMOP, 1, 0, 0, 1, 0)
    C4("sarm", SAR, G_MEMP, hm_sar, 2, MEMOP, 1, 0, 0, 1, 0)
    C3("shldm", SHLD, G_MEMP, hm_shld, 3, MEMOP, 2, 1, 0, 0, 1, 0, 0, 0)
    C4("mulm", MUL, G_MEMP, hm_mul, 1, MEMOP, 0, 0, 0, 0, 0)
    C4("idivm", IDIV, G_MEMP, hm_idiv, 1, MEMOP, 0, 0, 0, 0, 0)
    C3("imul2m", IMUL, G_MEMP, hm_imul2, 2, 0, MEMOP, 0, 0, 0, 0, 1, 0xaf, 0)
    C3("bsrm", BSR, G_MEMP, hm_bsr, 2, 0, MEMOP, 0, 0, 0, 0, 0, 0, 0)
    C2("pextm", PEXT, G_MEMP, hm_pext, 3, 0, 1, MEMOP, 0, 0, 0, 0)
    C1("crc32bm", CRC32, 4, G_MEMP, hm_crc32_b4, 2, 0, MEMOP, 0, 4, 1, 0, 0, 0, 0)
    C1("crc32qm", CRC32, 8, G_MEMP, hm_crc32_q8, 2, 0, MEMOP, 0, 8, 8, 0, 0, 0, 0)
    C1("add-ah-ch", ADD, 1, G_PLAIN, hh_add, 2, HI8 | 0, HI8 | 1, 0, 0, 0, 0, 0, 0, 0)
    C1("sub-dh-bl", SUB, 1, G_PLAIN, hh_sub, 2, HI8 | 2, 3, 0, 0, 0, 0, 0, 0, 0)
    C1("rol-bh-cl", ROL, 1, G_CNT_C, hh_rol, 2, HI8 | 3, 1, 0, 0, 0, 0, 0, 0, 0)
    C1("mul-ch", MUL, 1, G_PLAIN, hh_mul, 1, HI8 | 1, 0, 0, 0, 0, 0, 0, 0, 0)
    C1("div-dh", DIV, 1, G_DIV, hh_div, 1, HI8 | 2, 0, 0, 0, 0, 0, 0, 0, 0)
    C1("inc-ah", INC, 1, G_PLAIN, hh_inc, 1, HI8 | 0, 0, 0, 0, 0, 0, 0, 0, 0)
    C1("crc32-bh", CRC32, 4, G_PLAIN, hh_crc32, 2, 0, HI8 | 3, 0, 4, 1, 0, 0, 0, 0)
    C1("crc32q", CRC32, 8, G_PLAIN, h_crc32_q8, 2, 0, 1, 0, 8, 8, 0, 0, 0, 0)
};

/* ---- running ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64: a fixed seed keeps failures reproducible */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const uint64_t edges[] = {
    0, 1, 2, 3, 6, 9, 0xa, 0xf, 0x10, 0x7f, 0x80, 0x81, 0x99, 0x9a, 0xff,
    0x100, 0x7fff, 0x8000, 0x8001, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
    0x80000001, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
    0x8000000000000000ull, 0x8000000000000001ull, 0xfffffffffffffffeull,
    0xffffffffffffffffull, 0x5555555555555555ull, 0xaaaaaaaaaaaaaaaaull,
};
#define N_EDGES (sizeof(edges) / sizeof(edges[0]))

static const uint8_t counts[] = {
    0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 47, 63, 64, 65, 127, 128, 200, 255,
};
#define N_COUNTS (sizeof(counts) / sizeof(counts[0]))

static sigjmp_buf fpe_jmp;
static volatile sig_atomic_t in_host;

static void on_fpe(int sig)
{
    if (in_host)
        siglongjmp(fpe_jmp, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs the host stub; false if it raised #DE. */
static bool host_run(void (*fn)(struct hregs *), struct hregs *r)
{
    if (sigsetjmp(fpe_jmp, 1)) {
        in_host = 0;
        return false;
    }
    in_host = 1;
    fn(r);
    in_host = 0;
    return true;
}

/* The BT* memory buffer: MEM_GPA in guest RAM, membuf its host address. */
#define MEM_GPA 0x2000
#define MEM_LEN 64
static uint8_t *membuf;

static void build_insn(const struct tcase *c, struct insn *in)
{
    memset(in, 0, sizeof(*in));
    in->op = c->op;
    in->map = c->map;
    in->opcode = c->opcode;
    in->op_size = c->size >= 2 ? c->size : 4;
    in->addr_size = 8;
    in->nops = c->nops;
    if (c->op == OP_MUL || c->op == OP_DIV || c->op == OP_IDIV ||
        (c->op == OP_IMUL && c->nops == 1))
        in->opcode = c->size == 1 ? 0xf6 : 0xf7;
    for (unsigned i = 0; i < c->nops; i++) {
        struct operand *o = &in->ops[i];

        o->size = c->osz[i] ? c->osz[i] : c->size;
        if (c->reg[i] == MEMOP) {
            o->kind = OPK_MEM;
            in->has_mem = 1;
            in->mem.seg = S_DS;
            in->mem.base = R_ESI;
            in->mem.index = INSN_REG_NONE;
            in->mem.scale = 1;
        } else if (c->reg[i] & 0x80) {
            o->kind = OPK_IMM;
            o->imm = (uint64_t)c->imm;
        } else {
            o->kind = OPK_REG;
            o->reg = c->reg[i] & 15;
            o->hi8 = (c->reg[i] & HI8) != 0;
        }
    }
}

/* The vCPU of the host comparisons: 64-bit mode with paging off (so
 * linear = guest-physical), its TLB flushed once in main(). */
static struct tcg_cpu alu_cpu = { .mode = MODE_LONG64 };

static const unsigned hreg_num[5] = { R_EAX, R_ECX, R_EDX, R_EBX, R_ESI };

static uint64_t *hreg_field(struct hregs *h, unsigned i)
{
    uint64_t *f[5] = { &h->rax, &h->rcx, &h->rdx, &h->rbx, &h->rsi };

    return f[i];
}

/*
 * The handlers set undefined flags as AMD Zen does, and on an AMD host the
 * comparison is exact.  On another vendor's CPU only what the SDM defines
 * can be compared: these are the flags each operation leaves undefined
 * (SDM vol. 2, "Flags Affected"; for shifts and rotates OF beyond a count
 * of 1), and the 16-bit SHLD/SHRD counts above 16 whose result is undefined.
 */
static bool host_is_amd(void)
{
    static int amd = -1;

    if (amd < 0) {
        unsigned a, b, c, d;

        amd = __get_cpuid(0, &a, &b, &c, &d) && b == 0x68747541 && d == 0x69746e65 &&
              c == 0x444d4163;      /* "AuthenticAMD" */
    }
    return amd;
}

static uint64_t vendor_undefined(unsigned op)
{
    if (host_is_amd())
        return 0;
    switch (op) {
    case OP_AND: case OP_OR: case OP_XOR: case OP_TEST:
        return RFLAGS_AF;
    case OP_SHL: case OP_SAL: case OP_SHR: case OP_SAR: case OP_SHLD: case OP_SHRD:
        return RFLAGS_AF | RFLAGS_OF;
    case OP_ROL: case OP_ROR: case OP_RCL: case OP_RCR:
        return RFLAGS_OF;
    case OP_MUL: case OP_IMUL:
        return RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF;
    case OP_DIV: case OP_IDIV:
        return TCG_FLAGS_ARITH;
    case OP_BT: case OP_BTS: case OP_BTR: case OP_BTC:
        return RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
    case OP_BSF: case OP_BSR:
        return TCG_FLAGS_ARITH & ~RFLAGS_ZF;
    case OP_LZCNT: case OP_TZCNT:
        return RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
    case OP_ANDN: case OP_BLSI: case OP_BLSMSK: case OP_BLSR: case OP_BZHI:
        return RFLAGS_AF | RFLAGS_PF;
    case OP_BEXTR:
        return RFLAGS_AF | RFLAGS_SF | RFLAGS_PF;
    case OP_DAA: case OP_DAS:
        return RFLAGS_OF;
    case OP_AAA: case OP_AAS:
        return RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF;
    case OP_AAM: case OP_AAD:
        return RFLAGS_OF | RFLAGS_AF | RFLAGS_CF;
    default:
        return 0;
    }
}

static bool vendor_undefined_result(const struct tcase *c, const struct hregs *r)
{
    return !host_is_amd() && (c->op == OP_SHLD || c->op == OP_SHRD) && c->size == 2 &&
           (r->rcx & 31) > 16;
}

/* The CPUID feature an instruction needs on the host (the host would run
 * TZCNT and LZCNT as BSF and BSR without it, so a missing one is a skip). */
static bool host_has(unsigned op)
{
    unsigned a, b = 0, c = 0, d, c1 = 0, b7 = 0, ce = 0;

    if (__get_cpuid(1, &a, &b, &c1, &d) && __get_cpuid_max(0, NULL) >= 7)
        __cpuid_count(7, 0, a, b7, c, d);
    if (__get_cpuid(0x80000001, &a, &b, &ce, &d) == 0)
        ce = 0;
    switch (op) {
    case OP_ANDN: case OP_BEXTR: case OP_BLSI: case OP_BLSMSK: case OP_BLSR: case OP_TZCNT:
        return b7 & (1u << 3);              /* BMI1 */
    case OP_BZHI: case OP_PDEP: case OP_PEXT: case OP_MULX: case OP_RORX: case OP_SARX:
    case OP_SHLX: case OP_SHRX:
        return b7 & (1u << 8);              /* BMI2 */
    case OP_ADCX: case OP_ADOX:
        return b7 & (1u << 19);             /* ADX */
    case OP_LZCNT:
        return ce & (1u << 5);              /* ABM / LZCNT */
    case OP_POPCNT:
        return c1 & (1u << 23);
    case OP_CRC32:
        return c1 & (1u << 20);             /* SSE4.2 */
    default:
        return true;
    }
}

/* One comparison; returns true if host and handler agree. */
static bool run_one(const struct tcase *c, const struct insn *inp, struct hregs in_regs,
                    bool verbose)
{
    struct insn in;
    struct tcg_cpu *const cpup = &alu_cpu;
    struct hregs h = in_regs;
    uint8_t hmem[MEM_LEN], smem[MEM_LEN];
    bool host_ok, ok = true, uses_mem;
    enum tcg_status st;

    in = *inp;
    uses_mem = c->gen == G_MEM || c->gen == G_MEMP;
    if (uses_mem) {
        for (unsigned i = 0; i < MEM_LEN; i++)
            membuf[i] = (uint8_t)rnd();
        memcpy(hmem, membuf, MEM_LEN);
        h.rsi = (uint64_t)(uintptr_t)(membuf + 24);
        in_regs.rsi = MEM_GPA + 24;
    }
    memset(&cpup->st, 0, sizeof(cpup->st));
    cpup->st.cr0 = CR0_PE;        /* paging off: linear = physical */
    for (unsigned i = 0; i < S__MAX; i++) {
        cpup->st.seg[i].present = true;
        cpup->st.seg[i].limit = 0xffffffff;
        cpup->st.seg[i].type = i == S_CS ? 0xb : 0x3;
        cpup->st.seg[i].s = true;
    }
    for (unsigned i = 0; i < 5; i++)
        cpup->st.regs[hreg_num[i]] = *hreg_field(&in_regs, i);
    cpup->st.rflags = in_regs.flags;
    cpup->exc.vector = 0xff;
    st = handlers[c->op](cpup, &in);
    if (uses_mem) {
        memcpy(smem, membuf, MEM_LEN);
        memcpy(membuf, hmem, MEM_LEN);
    }
    host_ok = host_run(c->host, &h);
    if (uses_mem)
        memcpy(hmem, membuf, MEM_LEN);

    if (!host_ok) {
        ok = st == TCG_EXCEPTION && cpup->exc.vector == EXC_DE;
        for (unsigned i = 0; i < 5; i++)
            ok = ok && cpup->st.regs[hreg_num[i]] == *hreg_field(&in_regs, i);
        ok = ok && cpup->st.rflags == in_regs.flags;
    } else {
        uint64_t fmask = TCG_FLAGS_ARITH & ~vendor_undefined(c->op);

        ok = st == TCG_OK;
        if (uses_mem)
            h.rsi = MEM_GPA + 24;       /* the same address, as the guest sees it */
        if (!vendor_undefined_result(c, &in_regs)) {
            for (unsigned i = 0; i < 5; i++)
                ok = ok && cpup->st.regs[hreg_num[i]] == *hreg_field(&h, i);
        }
        ok = ok && (cpup->st.rflags & fmask) == (h.flags & fmask);
        ok = ok && (cpup->st.rflags & ~TCG_FLAGS_ARITH) == (in_regs.flags & ~TCG_FLAGS_ARITH);
        if (uses_mem)
            ok = ok && !memcmp(hmem, smem, MEM_LEN);
    }
    if (!ok && verbose) {
        printf("# %s: in rax=%016" G_GINT64_MODIFIER "x rcx=%016" G_GINT64_MODIFIER
               "x rdx=%016" G_GINT64_MODIFIER "x rsi=%016" G_GINT64_MODIFIER "x fl=%03"
               G_GINT64_MODIFIER "x\n",
               c->name, in_regs.rax, in_regs.rcx, in_regs.rdx, in_regs.rsi, in_regs.flags);
        printf("#   host%s rax=%016" G_GINT64_MODIFIER "x rcx=%016" G_GINT64_MODIFIER
               "x rdx=%016" G_GINT64_MODIFIER "x fl=%03" G_GINT64_MODIFIER "x\n",
               host_ok ? "" : "(#DE)", h.rax, h.rcx, h.rdx, h.flags & TCG_FLAGS_ARITH);
        printf("#   tcg st=%d/%d rax=%016" G_GINT64_MODIFIER "x rcx=%016"
               G_GINT64_MODIFIER "x rdx=%016" G_GINT64_MODIFIER "x fl=%03"
               G_GINT64_MODIFIER "x\n", st, cpup->exc.vector, cpup->st.regs[R_EAX],
               cpup->st.regs[R_ECX], cpup->st.regs[R_EDX], cpup->st.rflags);
    }
    return ok;
}

static uint64_t pick(void)
{
    uint64_t r = rnd();

    switch (r & 3) {
    case 0:
        return edges[(r >> 8) % N_EDGES];
    case 1:     /* an edge value with random bits above or below */
        return edges[(r >> 8) % N_EDGES] ^ (rnd() & (r & 4 ? 0xffffffff00000000ull : 0xff));
    default:
        return rnd();
    }
}

static uint64_t rand_flags(void)
{
    return RFLAGS_FIXED | (rnd() & TCG_FLAGS_ARITH);
}

/* Shapes the registers for the case's generator. */
static void shape(const struct tcase *c, struct hregs *r)
{
    unsigned bits = c->size * 8;
    uint64_t m = tcg_size_mask(c->size);

    switch (c->gen) {
    case G_DIV:
        if (rnd() & 3) {
            /* high half below the divisor: no overflow unless divisor 0 */
            uint64_t d = r->rcx & m, hi = c->size == 1 ? (r->rax >> 8) & 0xff : r->rdx & m;

            hi = d ? hi % d : hi;
            if (c->size == 1)
                r->rax = (r->rax & ~0xff00ull) | hi << 8;
            else
                r->rdx = (r->rdx & ~m) | hi;
        }
        break;
    case G_IDIV:
        if (rnd() & 3) {
            /* high half = the sign extension of the low half */
            bool neg = c->size == 1 ? (r->rax & 0x80) : (r->rax & tcg_size_sign(c->size));
            uint64_t hi = neg ? m : 0;

            if (c->size == 1)
                r->rax = (r->rax & ~0xff00ull) | (hi & 0xff) << 8;
            else
                r->rdx = (r->rdx & ~m) | hi;
        }
        break;
    case G_MEM:
        /* a signed bit offset reaching 8..24 bytes either side */
        r->rcx = (r->rcx & ~m) | ((uint64_t)((int64_t)(rnd() % 321) - 160) & m);
        (void)bits;
        break;
    default:
        break;
    }
}

/*
 * Runs a case over the edge and random inputs.  decoded: the struct insn
 * comes from x86_decode() of the stub's own bytes instead of being built by
 * hand, which checks that decoder and handlers agree on the operand lists.
 */
static void run_case(const struct tcase *c, bool decoded)
{
    unsigned bad = 0, runs = 0;
    struct hregs r;
    struct insn in;

    if (!host_has(c->op)) {
        g_test_skip("the host CPU lacks this instruction");
        return;
    }
    if (decoded) {
        size_t len = (size_t)(c->ie - c->ib), need = 0;

        g_assert_cmpint(x86_decode(&in, c->ib, len, MODE_LONG64, &need), ==, DECODE_OK);
        g_assert_cmpuint(in.len, ==, len);
        g_assert_cmpstr(insn_op_name(in.op), ==, insn_op_name(c->op));
    } else {
        build_insn(c, &in);
    }

    rng_state = 0x1234567 + c->op * 131 + c->size;
    for (unsigned i = 0; i < N_EDGES; i++) {
        for (unsigned j = 0; j < N_EDGES; j++) {
            for (unsigned f = 0; f < 2; f++) {
                r.rax = edges[i];
                r.rcx = edges[j];
                r.rdx = edges[(i * 7 + j * 3) % N_EDGES];
                r.rbx = rnd();
                r.rsi = edges[(i + j * 5) % N_EDGES];
                if (c->gen == G_CNT_C)
                    r.rcx = (r.rcx & ~0xffull) | counts[j % N_COUNTS];
                if (c->gen == G_CNT_D)
                    r.rdx = (r.rdx & ~0xffffull) | counts[j % N_COUNTS] |
                            (uint64_t)counts[(i + j) % N_COUNTS] << 8;
                r.flags = f ? RFLAGS_FIXED | TCG_FLAGS_ARITH : RFLAGS_FIXED;
                shape(c, &r);
                runs++;
                if (!run_one(c, &in, r, bad < 6))
                    bad++;
            }
        }
    }
    for (unsigned k = 0; k < 3000; k++) {
        r.rax = pick();
        r.rcx = pick();
        r.rdx = pick();
        r.rbx = pick();
        r.rsi = pick();
        if (c->gen == G_CNT_C && (k & 1))
            r.rcx = (r.rcx & ~0xffull) | counts[rnd() % N_COUNTS];
        if (c->gen == G_CNT_D && (k & 1))
            r.rdx = (r.rdx & ~0xffffull) | counts[rnd() % N_COUNTS] |
                    (uint64_t)counts[rnd() % N_COUNTS] << 8;
        r.flags = rand_flags();
        shape(c, &r);
        runs++;
        if (!run_one(c, &in, r, bad < 6))
            bad++;
    }
    if (bad) {
        printf("# %s: %u of %u differ\n", c->name, bad, runs);
        g_test_fail();
    }
}

static void test_case(gconstpointer p)
{
    run_case(p, false);
}

static void test_case_decoded(gconstpointer p)
{
    run_case(p, true);
}


/* ---- BCD adjusts: run on the host in a 32-bit code segment ----
 *
 * DAA DAS AAA AAS AAM AAD do not exist in 64-bit mode, so the host runs
 * them in compatibility mode: a blob copied below 4 GiB far-calls 32-bit
 * code through Linux's flat 32-bit user code selector (0x23), which loads
 * AX and EFLAGS, runs the two-byte instruction slot, stores them and far
 * returns.  DS is a null selector in a 64-bit process, so the 32-bit code
 * addresses its data through SS.  Data page layout: 0 saved RSP, 8 far
 * pointer, 16 EAX in, 20 EFLAGS in, 24 EFLAGS out, 28 EAX out.
 */
__asm__(".pushsection .rodata\n"
        "bcd_blob:\n"
        ".code64\n"
        "push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "mov %rdi, %rbx\n"
        "mov %rsp, 0(%rbx)\n"
        "lea 4032(%rbx), %rsp\n"
        "lcall *8(%rbx)\n"
        "mov %ebx, %ebx\n"
        "mov 0(%rbx), %rsp\n"
        "pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
        "ret\n"
        ".code32\n"
        "bcd_blob32:\n"
        "mov %ss:16(%ebx), %eax\n"
        "pushl %ss:20(%ebx)\n"
        "popfl\n"
        "bcd_blob_insn:\n"
        "nop\n nop\n"
        "pushfl\n"
        "popl %ss:24(%ebx)\n"
        "mov %eax, %ss:28(%ebx)\n"
        "lret\n"
        ".code64\n"
        "bcd_blob_end:\n"
        ".popsection\n");
extern const uint8_t bcd_blob[], bcd_blob32[], bcd_blob_insn[], bcd_blob_end[];

struct bcd_host {
    uint8_t *code;      /* page 0: the blob */
    uint8_t *data;      /* page 1: data and a small stack */
    void (*call)(uint8_t *data);
};

static bool bcd_host_init(struct bcd_host *b)
{
    uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    uint32_t off32;
    uint16_t sel = 0x23;

    if (p == MAP_FAILED || (uintptr_t)p + 8192 > 0xffffffffu)
        return false;
    memcpy(p, bcd_blob, (size_t)(bcd_blob_end - bcd_blob));
    b->code = p;
    b->data = p + 4096;
    off32 = (uint32_t)(uintptr_t)(p + (bcd_blob32 - bcd_blob));
    memcpy(b->data + 8, &off32, 4);
    memcpy(b->data + 12, &sel, 2);
    b->call = (void (*)(uint8_t *))(uintptr_t)p;
    return true;
}

/* Runs the two instruction bytes with AX and EFLAGS; returns AX, *flags. */
static uint16_t bcd_host_run(struct bcd_host *b, uint8_t b0, uint8_t b1, uint16_t ax,
                             uint32_t *flags)
{
    uint8_t *slot = b->code + (bcd_blob_insn - bcd_blob);
    uint32_t eax = 0x5a5a0000u | ax, out;

    slot[0] = b0;
    slot[1] = b1;
    memcpy(b->data + 16, &eax, 4);
    memcpy(b->data + 20, flags, 4);
    b->call(b->data);
    memcpy(flags, b->data + 24, 4);
    memcpy(&out, b->data + 28, 4);
    g_assert_cmphex(out >> 16, ==, 0x5a5a);
    return (uint16_t)out;
}

/* Whether this kernel runs 32-bit code segments at all (ia32 emulation may
 * be off): try once in a child. */
static bool bcd_host_works(struct bcd_host *b)
{
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        uint32_t f = 2;

        bcd_host_run(b, 0x27, 0x90, 0x0a, &f);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_bcd(void)
{
    static const struct { uint16_t op; uint8_t b0, b1; } insns[] = {
        { OP_DAA, 0x27, 0x90 }, { OP_DAS, 0x2f, 0x90 }, { OP_AAA, 0x37, 0x90 },
        { OP_AAS, 0x3f, 0x90 }, { OP_AAM, 0xd4, 10 }, { OP_AAM, 0xd4, 1 },
        { OP_AAM, 0xd4, 7 }, { OP_AAM, 0xd4, 16 }, { OP_AAM, 0xd4, 0xff },
        { OP_AAD, 0xd5, 10 }, { OP_AAD, 0xd5, 0 }, { OP_AAD, 0xd5, 7 },
        { OP_AAD, 0xd5, 0xf3 },
    };
    static const uint8_t ahs[] = { 0, 1, 9, 0x7f, 0x80, 0x99, 0xfe, 0xff };
    static struct tcg_cpu cpu;
    struct bcd_host b;
    unsigned bad = 0, runs = 0;

    if (!bcd_host_init(&b) || !bcd_host_works(&b)) {
        g_test_skip("no 32-bit code segment on this host");
        return;
    }
    for (size_t k = 0; k < 2 * sizeof(insns) / sizeof(insns[0]); k++) {
        struct insn in;
        bool decoded = k & 1;

        /* each instruction twice: built by hand, then as x86_decode()
         * makes it from the bytes in 32-bit mode */
        memset(&in, 0, sizeof(in));
        if (decoded) {
            uint8_t bytes[2] = { insns[k / 2].b0, insns[k / 2].b1 };
            size_t need = 0;

            g_assert_cmpint(x86_decode(&in, bytes, 2, MODE_PROT32, &need), ==, DECODE_OK);
            g_assert_cmpstr(insn_op_name(in.op), ==, insn_op_name(insns[k / 2].op));
        } else {
            in.op = insns[k / 2].op;
            in.op_size = 4;
            if (insns[k / 2].b0 == 0xd4 || insns[k / 2].b0 == 0xd5) {
                in.nops = 1;
                in.ops[0].kind = OPK_IMM;
                in.ops[0].size = 1;
                in.ops[0].imm = insns[k / 2].b1;
            }
        }
        for (unsigned ah = 0; ah < sizeof(ahs); ah++) {
            for (unsigned al = 0; al < 256; al++) {
                for (unsigned fl = 0; fl < 8; fl++) {
                    uint32_t f = RFLAGS_FIXED | (fl & 1 ? RFLAGS_CF : 0) |
                                 (fl & 2 ? RFLAGS_AF : 0) |
                                 (fl & 4 ? RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF : 0);
                    uint16_t ax = (uint16_t)(ahs[ah] << 8 | al), hax;
                    uint32_t hf = f;
                    uint64_t fmask = TCG_FLAGS_ARITH & ~vendor_undefined(in.op);
                    enum tcg_status st;

                    hax = bcd_host_run(&b, insns[k / 2].b0, insns[k / 2].b1, ax, &hf);
                    cpu.st.regs[R_EAX] = 0x1234567800000000ull | ax;
                    cpu.st.rflags = f;
                    st = handlers[in.op](&cpu, &in);
                    runs++;
                    if (st != TCG_OK || cpu.st.regs[R_EAX] != (0x1234567800000000ull | hax) ||
                        (cpu.st.rflags & fmask) != (hf & fmask) ||
                        (cpu.st.rflags & ~TCG_FLAGS_ARITH) != (f & ~TCG_FLAGS_ARITH)) {
                        if (bad++ < 6)
                            printf("# %s %02x: ax=%04x fl=%03x host ax=%04x fl=%03x, tcg "
                                   "rax=%016" G_GINT64_MODIFIER "x fl=%03" G_GINT64_MODIFIER
                                   "x\n", insn_op_name(in.op), insns[k / 2].b1, ax, f, hax,
                                   hf & 0x8d5u, cpu.st.regs[R_EAX], cpu.st.rflags);
                    }
                }
            }
        }
    }
    g_test_message("bcd: %u host comparisons", runs);
    if (bad) {
        printf("# bcd: %u of %u differ\n", bad, runs);
        g_test_fail();
    }
}


/* ---- a faulting write leaves the state as it was ----
 *
 * Read-modify-write instructions on a page that is present but read-only
 * (4-level paging, CR0.WP): the handler must return #PF with registers,
 * RFLAGS and memory untouched, so the instruction restarts cleanly after
 * the guest maps the page.  The same bytes on a writable page must work.
 */
#define FBYTES(name, insn) \
    __asm__(".pushsection .rodata\n" #name "_i:\n" insn "\n" #name "_e:\n.popsection\n"); \
    extern const uint8_t name##_i[], name##_e[];

FBYTES(f_adc, "adcq %rcx,(%rsi)")
FBYTES(f_sbb, "sbbb $5,(%rsi)")
FBYTES(f_xor, "lock xorl %ecx,(%rsi)")
FBYTES(f_inc, "incw (%rsi)")
FBYTES(f_neg, "negl (%rsi)")
FBYTES(f_not, "notq (%rsi)")
FBYTES(f_shl, "shlq %cl,(%rsi)")
FBYTES(f_rcr, "rcrb $3,(%rsi)")
FBYTES(f_shld, "shldq %cl,%rdx,(%rsi)")
FBYTES(f_shrd, "shrdw $9,%dx,(%rsi)")
FBYTES(f_bts, "lock btsq %rcx,(%rsi)")
FBYTES(f_btc, "btcl $7,(%rsi)")

#define PG_RO 0x8000    /* the read-only data page */
#define PG_RW 0x7000    /* a writable one */

static void test_fault_restart(void)
{
    static const struct { const char *name; const uint8_t *b, *e; } ins[] = {
#define F(n) { #n, f_##n##_i, f_##n##_e },
        F(adc) F(sbb) F(xor) F(inc) F(neg) F(not) F(shl) F(rcr) F(shld) F(shrd) F(bts) F(btc)
#undef F
    };
    static struct tcg_cpu cpu;
    uint64_t pte;

    /* identity map of the first 64 KiB: PML4 0x3000, PDPT 0x4000, PD 0x5000,
     * PT 0x6000 (SDM vol. 3, 4.5); P | RW | US, the data page without RW */
    pte = 0x4000 | 7;
    g_assert_cmpint(ram_write(0x3000, &pte, 8), ==, 0);
    pte = 0x5000 | 7;
    g_assert_cmpint(ram_write(0x4000, &pte, 8), ==, 0);
    pte = 0x6000 | 7;
    g_assert_cmpint(ram_write(0x5000, &pte, 8), ==, 0);
    for (uint64_t i = 0; i < 16; i++) {
        pte = i << 12 | (i << 12 == PG_RO ? 5 : 7);
        g_assert_cmpint(ram_write(0x6000 + i * 8, &pte, 8), ==, 0);
    }
    cpu.mode = MODE_LONG64;
    cpu.st.cr0 = CR0_PE | CR0_PG | CR0_WP;
    cpu.st.cr3 = 0x3000;
    cpu.st.cr4 = CR4_PAE;
    cpu.st.efer = EFER_LME | EFER_LMA;
    tcg_tlb_flush(&cpu);

    for (size_t k = 0; k < sizeof(ins) / sizeof(ins[0]); k++) {
        for (unsigned rw = 0; rw < 2; rw++) {
            uint64_t page = rw ? PG_RW : PG_RO, regs[16], before[2], after[2], fl;
            struct insn in;
            size_t need = 0;
            enum tcg_status st;

            g_assert_cmpint(x86_decode(&in, ins[k].b, (size_t)(ins[k].e - ins[k].b),
                                       MODE_LONG64, &need), ==, DECODE_OK);
            for (unsigned i = 0; i < 16; i++)
                cpu.st.regs[i] = rnd();
            cpu.st.regs[R_ECX] = 0x41;      /* bit 1 of the next qword for BTS */
            cpu.st.regs[R_ESI] = page + 0x10;
            cpu.st.rflags = RFLAGS_FIXED | (rnd() & TCG_FLAGS_ARITH);
            before[0] = rnd();
            before[1] = rnd() & ~2ull;
            g_assert_cmpint(ram_write(page + 0x10, before, 16), ==, 0);
            memcpy(regs, cpu.st.regs, sizeof(regs));
            fl = cpu.st.rflags;
            cpu.exc.vector = 0xff;
            st = handlers[in.op](&cpu, &in);
            g_assert_cmpint(ram_read(page + 0x10, after, 16), ==, 0);
            if (rw) {
                g_assert_cmpint(st, ==, TCG_OK);
                g_assert_true(memcmp(before, after, 16) != 0);
                continue;
            }
            if (st != TCG_EXCEPTION || cpu.exc.vector != EXC_PF)
                g_error("%s: status %d vector %u, not #PF", ins[k].name, st, cpu.exc.vector);
            /* BTS reaches one qword further: bit offset 0x41 */
            g_assert_cmphex(cpu.exc.cr2, ==, page + 0x10 + (strcmp(ins[k].name, "bts") ? 0 : 8));
            g_assert_true(memcmp(regs, cpu.st.regs, sizeof(regs)) == 0);
            g_assert_cmphex(cpu.st.rflags, ==, fl);
            g_assert_true(memcmp(before, after, 16) == 0);
        }
    }
}

/* ---- checks that need no host run ---- */

static void test_de_zero(void)
{
    static struct tcg_cpu cpu;
    struct insn in;
    /* AAM with base 0 is #DE (SDM vol. 2, AAM); AAD 0 is fine. */
    memset(&in, 0, sizeof(in));
    in.op = OP_AAM;
    in.nops = 1;
    in.ops[0].kind = OPK_IMM;
    in.ops[0].size = 1;
    in.ops[0].imm = 0;
    cpu.st.regs[R_EAX] = 0x1234;
    g_assert_cmpint(handlers[OP_AAM](&cpu, &in), ==, TCG_EXCEPTION);
    g_assert_cmpuint(cpu.exc.vector, ==, EXC_DE);
    g_assert_cmphex(cpu.st.regs[R_EAX], ==, 0x1234);
    in.op = OP_AAD;
    g_assert_cmpint(handlers[OP_AAD](&cpu, &in), ==, TCG_OK);
    g_assert_cmphex(cpu.st.regs[R_EAX], ==, 0x34);
}

static void test_cond(void)
{
    static struct tcg_cpu cpu;

    for (unsigned f = 0; f < 64; f++) {
        bool cf = f & 1, pf = f & 2, zf = f & 4, sf = f & 8, of = f & 16;
        bool expect[16] = { of, !of, cf, !cf, zf, !zf, cf || zf, !(cf || zf), sf, !sf,
                            pf, !pf, sf != of, sf == of, zf || sf != of, !(zf || sf != of) };

        cpu.st.rflags = RFLAGS_FIXED | (cf ? RFLAGS_CF : 0) | (pf ? RFLAGS_PF : 0) |
                        (zf ? RFLAGS_ZF : 0) | (sf ? RFLAGS_SF : 0) | (of ? RFLAGS_OF : 0) |
                        (f & 32 ? RFLAGS_AF : 0);
        for (unsigned cc = 0; cc < 16; cc++)
            g_assert_cmpint(tcg_cond(&cpu, cc), ==, expect[cc]);
    }
}

int main(int argc, char **argv)
{
    struct sigaction sa;

    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(ram_add_region(0, 0x10000, NULL), ==, 0);
    membuf = ram_hva(MEM_GPA, MEM_LEN);
    tcg_tlb_flush(&alu_cpu);
    g_assert_nonnull(membuf);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fpe;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGFPE, &sa, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[96];

        snprintf(path, sizeof(path), "/tcg-alu/host/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
        snprintf(path, sizeof(path), "/tcg-alu/decoded/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case_decoded);
    }
    g_test_add_func("/tcg-alu/host/bcd", test_bcd);
    g_test_add_func("/tcg-alu/fault-restart", test_fault_restart);
    g_test_add_func("/tcg-alu/aam-de", test_de_zero);
    g_test_add_func("/tcg-alu/cond", test_cond);
    return g_test_run();
}
