/*
 * The case generator of the differential tester: per instruction of issue
 * 5 item 2, templates of encodings (operand sizes, register and memory
 * forms, immediates, prefixes) filled with random operands and edge values
 * (0, 1, -1, sign boundaries, shift counts around the operand width, carry
 * and DF in and out).  Everything comes from one seeded generator, so a
 * seed reproduces a run.
 *
 * Memory operands always point into the data area (or, now and then, just
 * past an end, to check that both sides fault alike): the generator picks
 * the effective address first and then solves for the base register, so
 * index, scale and displacement stay random.  In 16-bit mode pointers
 * are offsets in the LDT segments (based at the data area and the code
 * page), and the operand-size defaults swap (66 selects 32 bits).
 *
 * x87, MMX and SSE..SSE4.2 (issue 6, item 7) use the same machinery:
 * their templates name the x87/SSE state to set up (diff-gen-fp.c makes
 * it: control words, MXCSR, a stack with tags, registers from a pool so
 * that operands are often equal), the type of the memory operand's value,
 * the fixed ModRM of forms like fld1, and the software CPU's files and
 * the host features a group needs (test-diff.c skips the group until
 * both are there).  A 16-byte operand that must be aligned is, but one
 * time in sixteen (#GP); no size prefix is made up (a 66 would be a
 * mandatory prefix), but a stray 66 before x87 opcodes now and then.
 *
 * Threads: no state beyond the caller's struct diff_rng.
 */
#include <string.h>

#include "accel/tcg/insn.h"
#include "tests/diff/diff.h"

/* RFLAGS bits for the undefined-flag masks (SDM vol. 1, 3.4.3.1). */
#define CF 0x001
#define PF 0x004
#define AF 0x010
#define ZF 0x040
#define SF 0x080
#define OF 0x800
#define ALL6 (CF | PF | AF | ZF | SF | OF)

enum { Z8 = 1, Z16 = 2, Z32 = 4, Z64 = 8, ZV = Z16 | Z32 | Z64, Z3264 = Z32 | Z64 };
enum { M64 = 1, M32 = 2, M16 = 4, ML = M32 | M16, MB = 7 };

enum form {
    F_NONE,         /* opcode only (implicit operands) */
    F_RM,           /* ModRM, register or memory */
    F_RM_REG,       /* ModRM, register form only */
    F_RM_MEM,       /* ModRM, memory form only */
    F_OPREG,        /* register in the low 3 opcode bits (+REX.B) */
    F_REL8,
    F_REL32,
    F_MOFFS,        /* A0-A3: an absolute address of address size */
};

enum imm { I_NONE, I_8, I_16, I_Z, I_V, I_ENTER, I_COUNT, I_FAR };

enum kind {
    K_PLAIN,
    K_CL,           /* count in CL */
    K_DIV, K_IDIV,  /* rDX:rAX / r/m */
    K_CMPXCHG,      /* rAX compared with r/m */
    K_CX8,          /* rDX:rAX compared with m64/m128 */
    K_BTREG,        /* bit offset in a register, may reach past r/m */
    K_STR,          /* string: rSI, rDI, rCX */
    K_STACK,        /* push/pop/pushf/popf: rSP in the data area */
    K_CALL, K_RET, K_JMPIND, K_CALLIND,
    K_ENTER, K_LEAVE,
    K_LOOP,         /* loop/jrcxz: rCX */
    K_XLAT,
    K_NOACC,        /* lea, nop r/m: the address is not accessed */
    K_AAM,          /* aam/aad imm8, 0 now and then (#DE) */
    K_SREG,         /* mov sreg, r/m16; then mov r, sreg reads it back */
    K_POPSREG,      /* pop es/ss/ds; then the read-back */
    K_LSEG,         /* lds/les/lss m16:off; then the read-back */
    K_FARPTR,       /* jmp/call ptr16:32 */
    K_FARIND,       /* jmp/call m16:off */
    K_FARRET,       /* retf */
    K_PCMPESTR,     /* pcmpestri/m: lengths in rAX and rDX */
    K_MASKMOV,      /* maskmovq/maskmovdqu: stores at DS:rDI */
    K_FPSAVE,       /* fnstenv/fnsave/fxsave: the image's pointers not compared */
    K_FXRSTOR,      /* fxrstor: a whole FXSAVE image to load */
};

/* Template flags. */
#define T_LOCK  0x01    /* LOCK allowed with a memory destination */
#define T_D64   0x02    /* 64-bit default operand size in 64-bit mode */
#define T_VEX   0x04    /* VEX-encoded; pfx is the implied prefix */
#define T_VDST  0x08    /* VEX.vvvv is the destination (blsi...) */
#define T_A16   0x10    /* 16-byte aligned memory operand (cmpxchg16b) */
#define T_REXW  0x20    /* REX.W always (cmpxchg16b) */
#define T_NOW   0x40    /* never REX.W (cmpxchg8b) */
#define T_CC    0x80    /* condition code in the low opcode bits */
#define T_F9    0x100   /* a fixed ModRM byte 0xF9 follows (rdtscp) */
#define T_PIECES 0x400  /* a memory operand read in pieces: see cr2_any */
#define T_WAIT  0x800   /* an FWAIT (9B) first: the waiting form of FNSTSW...,
                         * which takes a pending #MF there */
#define T_SOUP  0x200   /* redundant prefixes in front, in any order, with
                         * a REX among them (ignored unless it comes last;
                         * SDM vol. 2, 2.2.1), up to past 15 bytes */

/* Selectors of Linux's GDT (arch/x86 segment.h), which diff-soft.c
 * copies: 0x08/0x10/0x18 kernel, 0x23 user32 code, 0x2b user data, 0x33
 * user64 code, 0x40 TSS, 0x50 LDT, 0x60-0x70 TLS (empty), 0x78 per-CPU
 * (avoided: its limit is the CPU number).  The GDT limit is 0x7f. */
static const uint16_t seg_sels[] = {
    0x2b, 0x2b, 0x2b, 0x28, 0x29, 0x2a, 0x23, 0x33, 0x20, 0, 1, 3, 0x08, 0x10, 0x13,
    0x18, 0x1b, 0x40, 0x48, 0x50, 0x63, 0x6b, 0x80, 0x83, 0xfffb, 0x0c, 0x2f, 0x37,
    DIFF_SEL16_DS, DIFF_SEL16_DS, DIFF_SEL16_CS, 0x0c, 0x04, 0x14,
};
static const uint16_t far_sels[] = {
    0x23, 0x23, 0x33, 0x33, 0x20, 0x22, 0x30, 0x31, 0x2b, 0x10, 0x13, 0x08, 0x18,
    0, 3, 0x40, 0x63, 0x80, 0x27, 0x37, DIFF_SEL16_CS, DIFF_SEL16_CS, DIFF_SEL16_DS, 0x04,
};

struct diff_tmpl {
    const char *group;
    uint16_t op;
    const char *desc;
    uint8_t modes, map, opc;
    int8_t ext;
    uint8_t sizes, form, imm, pfx, kind;
    uint16_t flags;
    uint16_t undef;         /* x87 templates: the FSW condition bits instead */
    /* x87, MMX and SSE (issue 6, item 7), zero elsewhere: */
    uint8_t fpk;            /* enum diff_fpkind: the state to set up and compare */
    uint8_t fv;             /* enum diff_fpval: values of the operands */
    uint16_t msz;           /* memory operand bytes (0: the operand size) */
    uint8_t fixrm;          /* a fixed register form: ModRM.rm + 1 */
    uint8_t need;           /* DIFF_NEED_*: the software CPU's files */
    uint8_t host;           /* enum diff_host_feat */
};

#define T(g, o, d, m, map, opc, ext, sz, f, im, pfx, k, fl, un) \
    { g, OP_##o, d, m, map, opc, ext, sz, f, im, pfx, k, fl, un, 0, 0, 0, 0, 0, 0 }

/* x87 (SDM vol. 2, table A-7 to A-22): a memory form (/ext, values fv of
 * msz bytes), a register form on ST(i) (/ext), a fixed ModRM byte.  un:
 * the FSW condition bits the SDM leaves undefined or that the vendors set
 * differently (compared on AMD only, as the undefined flags are): C1 of
 * FCOMI and FCMOVcc, which AMD leaves alone and the SDM says are cleared;
 * FPREM's quotient bits after an invalid operand. */
#define FC0 0x0100
#define FC1 0x0200
#define FC2 0x0400
#define FC3 0x4000
#define FC023 (FC0 | FC2 | FC3)
#define FCALL (FC0 | FC1 | FC2 | FC3)
#define NX87 DIFF_NEED_X87
#define X87M(g, d, opc, ext, fv, msz, un) \
    { g, OP_X87, d, MB, 0, opc, ext, Z32, F_RM_MEM, I_NONE, 0, K_PLAIN, 0, un, \
      FPK_X87, fv, msz, 0, NX87, DIFF_HOST_NONE }
#define X87R(g, d, opc, ext, un) \
    { g, OP_X87, d, MB, 0, opc, ext, Z32, F_RM_REG, I_NONE, 0, K_PLAIN, 0, un, \
      FPK_X87, FV_F80, 0, 0, NX87, DIFF_HOST_NONE }
#define X87F(g, d, opc, modrm, un) \
    { g, OP_X87, d, MB, 0, opc, ((modrm) >> 3) & 7, Z32, F_RM_REG, I_NONE, 0, K_PLAIN, 0, \
      un, FPK_X87, FV_F80, 0, ((modrm) & 7) + 1, NX87, DIFF_HOST_NONE }

/* MMX and SSE: o the decoder's name (OP_MMX for the 0F 60-7F and D0-FF
 * forms without a mandatory prefix, else OP_SSE), op the opcode in map mp,
 * f the ModRM form, im an imm8, fv the values, msz the memory operand's
 * size, fl T_A16 where a 16-byte operand must be aligned (#GP). */
#define NSI (DIFF_NEED_SSE | DIFF_NEED_SSEINT)
#define NSF (DIFF_NEED_SSE | DIFF_NEED_SSEFP)
#define XV(g, o, d, need, host, fpk, sz, mp, pfx, op, ext, f, im, k, fv, msz, fl) \
    { g, OP_##o, d, MB, mp, op, ext, sz, f, im, pfx, k, fl, 0, fpk, fv, msz, 0, need, host }
#define MMX(g, d, host, mp, op, f, im, msz) \
    XV(g, MMX, d, NSI, host, FPK_MMX, Z32, mp, 0, op, -1, f, im, K_PLAIN, FV_INT, msz, 0)
#define MMX3(g, d, mp, op, f, im) \
    XV(g, SSE, d, NSI, DIFF_HOST_SSSE3, FPK_MMX, Z32, mp, 0, op, -1, f, im, K_PLAIN, FV_INT, 8, 0)
#define SI(g, d, host, mp, pfx, op, f, im, msz, fl) \
    XV(g, SSE, d, NSI, host, FPK_SSE, Z32, mp, pfx, op, -1, f, im, K_PLAIN, FV_INT, msz, fl)
#define SFP(g, d, host, mp, pfx, op, f, im, fv, msz, fl) \
    XV(g, SSE, d, NSF, host, FPK_SSE, Z32, mp, pfx, op, -1, f, im, K_PLAIN, fv, msz, fl)
/* The four forms of an arithmetic opcode: ps, pd, ss, sd. */
#define SF4(g, n, op, host) \
    SFP(g, n "ps", host, 1, 0x00, op, F_RM, I_NONE, FV_PS, 16, T_A16), \
    SFP(g, n "pd", host, 1, 0x66, op, F_RM, I_NONE, FV_PD, 16, T_A16), \
    SFP(g, n "ss", host, 1, 0xf3, op, F_RM, I_NONE, FV_F32, 4, 0), \
    SFP(g, n "sd", host, 1, 0xf2, op, F_RM, I_NONE, FV_F64, 8, 0)
#define H0 DIFF_HOST_NONE
#define H3 DIFF_HOST_SSE3
#define HS3 DIFF_HOST_SSSE3
#define H41 DIFF_HOST_SSE41
#define H42 DIFF_HOST_SSE42

/* The eight classic ALU operations share ten encodings each: r/m,r and
 * r,r/m in both sizes, the accumulator forms at base+4/+5, and group 1
 * (80/81/83 and 82, invalid in 64-bit mode) with /ext.  lk: LOCK allowed
 * on the memory-destination forms; un: flags the SDM leaves undefined. */
#define ALU8(g, o, b, e, lk, un) \
    T(g, o, g " r/m8, r8", MB, 0, (b), -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, lk, un), \
    T(g, o, g " r/m, r", MB, 0, (b) + 1, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, lk, un), \
    T(g, o, g " r8, r/m8", MB, 0, (b) + 2, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, un), \
    T(g, o, g " r, r/m", MB, 0, (b) + 3, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, un), \
    T(g, o, g " al, imm8", MB, 0, (b) + 4, -1, Z8, F_NONE, I_8, 0x00, K_PLAIN, 0, un), \
    T(g, o, g " rax, imm", MB, 0, (b) + 5, -1, ZV, F_NONE, I_Z, 0x00, K_PLAIN, 0, un), \
    T(g, o, g " r/m8, imm8", MB, 0, 0x80, e, Z8, F_RM, I_8, 0x00, K_PLAIN, lk, un), \
    T(g, o, g " r/m, imm", MB, 0, 0x81, e, ZV, F_RM, I_Z, 0x00, K_PLAIN, lk, un), \
    T(g, o, g " r/m, simm8", MB, 0, 0x83, e, ZV, F_RM, I_8, 0x00, K_PLAIN, lk, un), \
    T(g, o, g " r/m8, imm8 (82)", MB, 0, 0x82, e, Z8, F_RM, I_8, 0x00, K_PLAIN, lk, un)

static const struct diff_tmpl tmpls[] = {
    ALU8("add", ADD, 0x00, 0, T_LOCK, 0),
    ALU8("or", OR, 0x08, 1, T_LOCK, AF),
    ALU8("adc", ADC, 0x10, 2, T_LOCK, 0),
    ALU8("sbb", SBB, 0x18, 3, T_LOCK, 0),
    ALU8("and", AND, 0x20, 4, T_LOCK, AF),
    ALU8("sub", SUB, 0x28, 5, T_LOCK, 0),
    ALU8("xor", XOR, 0x30, 6, T_LOCK, AF),
    ALU8("cmp", CMP, 0x38, 7, 0, 0),
    T("test", TEST, "test r/m8, r8", MB, 0, 0x84, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, AF),
    T("test", TEST, "test r/m, r", MB, 0, 0x85, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, AF),
    T("test", TEST, "test al, imm8", MB, 0, 0xa8, -1, Z8, F_NONE, I_8, 0x00, K_PLAIN, 0, AF),
    T("test", TEST, "test rax, imm", MB, 0, 0xa9, -1, ZV, F_NONE, I_Z, 0x00, K_PLAIN, 0, AF),
    T("test", TEST, "test r/m8, imm8", MB, 0, 0xf6, 0, Z8, F_RM, I_8, 0x00, K_PLAIN, 0, AF),
    T("test", TEST, "test r/m, imm", MB, 0, 0xf7, 0, ZV, F_RM, I_Z, 0x00, K_PLAIN, 0, AF),
    T("inc", INC, "inc r/m8", MB, 0, 0xfe, 0, Z8, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("inc", INC, "inc r/m", MB, 0, 0xff, 0, ZV, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("inc", INC, "inc r (40+r)", ML, 0, 0x40, -1, Z16|Z32, F_OPREG, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("dec", DEC, "dec r/m8", MB, 0, 0xfe, 1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("dec", DEC, "dec r/m", MB, 0, 0xff, 1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("dec", DEC, "dec r (40+r)", ML, 0, 0x48, -1, Z16|Z32, F_OPREG, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("not", NOT, "not r/m8", MB, 0, 0xf6, 2, Z8, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("not", NOT, "not r/m", MB, 0, 0xf7, 2, ZV, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("neg", NEG, "neg r/m8", MB, 0, 0xf6, 3, Z8, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("neg", NEG, "neg r/m", MB, 0, 0xf7, 3, ZV, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("rol", ROL, "rol r/m8, imm8", MB, 0, 0xc0, 0, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("rol", ROL, "rol r/m, imm8", MB, 0, 0xc1, 0, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("rol", ROL, "rol r/m8, 1", MB, 0, 0xd0, 0, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("rol", ROL, "rol r/m, 1", MB, 0, 0xd1, 0, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("rol", ROL, "rol r/m8, cl", MB, 0, 0xd2, 0, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("rol", ROL, "rol r/m, cl", MB, 0, 0xd3, 0, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("ror", ROR, "ror r/m8, imm8", MB, 0, 0xc0, 1, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("ror", ROR, "ror r/m, imm8", MB, 0, 0xc1, 1, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("ror", ROR, "ror r/m8, 1", MB, 0, 0xd0, 1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("ror", ROR, "ror r/m, 1", MB, 0, 0xd1, 1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("ror", ROR, "ror r/m8, cl", MB, 0, 0xd2, 1, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("ror", ROR, "ror r/m, cl", MB, 0, 0xd3, 1, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("rcl", RCL, "rcl r/m8, imm8", MB, 0, 0xc0, 2, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("rcl", RCL, "rcl r/m, imm8", MB, 0, 0xc1, 2, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("rcl", RCL, "rcl r/m8, 1", MB, 0, 0xd0, 2, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("rcl", RCL, "rcl r/m, 1", MB, 0, 0xd1, 2, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("rcl", RCL, "rcl r/m8, cl", MB, 0, 0xd2, 2, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("rcl", RCL, "rcl r/m, cl", MB, 0, 0xd3, 2, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("rcr", RCR, "rcr r/m8, imm8", MB, 0, 0xc0, 3, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("rcr", RCR, "rcr r/m, imm8", MB, 0, 0xc1, 3, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF),
    T("rcr", RCR, "rcr r/m8, 1", MB, 0, 0xd0, 3, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("rcr", RCR, "rcr r/m, 1", MB, 0, 0xd1, 3, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("rcr", RCR, "rcr r/m8, cl", MB, 0, 0xd2, 3, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("rcr", RCR, "rcr r/m, cl", MB, 0, 0xd3, 3, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF),
    T("shl", SHL, "shl r/m8, imm8", MB, 0, 0xc0, 4, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("shl", SHL, "shl r/m, imm8", MB, 0, 0xc1, 4, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("shl", SHL, "shl r/m8, 1", MB, 0, 0xd0, 4, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("shl", SHL, "shl r/m, 1", MB, 0, 0xd1, 4, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("shl", SHL, "shl r/m8, cl", MB, 0, 0xd2, 4, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("shl", SHL, "shl r/m, cl", MB, 0, 0xd3, 4, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("shr", SHR, "shr r/m8, imm8", MB, 0, 0xc0, 5, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("shr", SHR, "shr r/m, imm8", MB, 0, 0xc1, 5, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("shr", SHR, "shr r/m8, 1", MB, 0, 0xd0, 5, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("shr", SHR, "shr r/m, 1", MB, 0, 0xd1, 5, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("shr", SHR, "shr r/m8, cl", MB, 0, 0xd2, 5, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("shr", SHR, "shr r/m, cl", MB, 0, 0xd3, 5, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("sal", SAL, "sal r/m8, imm8", MB, 0, 0xc0, 6, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("sal", SAL, "sal r/m, imm8", MB, 0, 0xc1, 6, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("sal", SAL, "sal r/m8, 1", MB, 0, 0xd0, 6, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("sal", SAL, "sal r/m, 1", MB, 0, 0xd1, 6, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("sal", SAL, "sal r/m8, cl", MB, 0, 0xd2, 6, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("sal", SAL, "sal r/m, cl", MB, 0, 0xd3, 6, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("sar", SAR, "sar r/m8, imm8", MB, 0, 0xc0, 7, Z8, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("sar", SAR, "sar r/m, imm8", MB, 0, 0xc1, 7, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("sar", SAR, "sar r/m8, 1", MB, 0, 0xd0, 7, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("sar", SAR, "sar r/m, 1", MB, 0, 0xd1, 7, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, OF|AF),
    T("sar", SAR, "sar r/m8, cl", MB, 0, 0xd2, 7, Z8, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("sar", SAR, "sar r/m, cl", MB, 0, 0xd3, 7, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("shld", SHLD, "shld r/m, r, imm8", MB, 1, 0xa4, -1, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("shld", SHLD, "shld r/m, r, cl", MB, 1, 0xa5, -1, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("shrd", SHRD, "shrd r/m, r, imm8", MB, 1, 0xac, -1, ZV, F_RM, I_COUNT, 0x00, K_PLAIN, 0, OF|AF),
    T("shrd", SHRD, "shrd r/m, r, cl", MB, 1, 0xad, -1, ZV, F_RM, I_NONE, 0x00, K_CL, 0, OF|AF),
    T("mul", MUL, "mul r/m8", MB, 0, 0xf6, 4, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, SF|ZF|AF|PF),
    T("mul", MUL, "mul r/m", MB, 0, 0xf7, 4, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, SF|ZF|AF|PF),
    T("imul", IMUL, "imul r/m8", MB, 0, 0xf6, 5, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, SF|ZF|AF|PF),
    T("imul", IMUL, "imul r/m", MB, 0, 0xf7, 5, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, SF|ZF|AF|PF),
    T("div", DIV, "div r/m8", MB, 0, 0xf6, 6, Z8, F_RM, I_NONE, 0x00, K_DIV, 0, ALL6),
    T("div", DIV, "div r/m", MB, 0, 0xf7, 6, ZV, F_RM, I_NONE, 0x00, K_DIV, 0, ALL6),
    T("idiv", IDIV, "idiv r/m8", MB, 0, 0xf6, 7, Z8, F_RM, I_NONE, 0x00, K_IDIV, 0, ALL6),
    T("idiv", IDIV, "idiv r/m", MB, 0, 0xf7, 7, ZV, F_RM, I_NONE, 0x00, K_IDIV, 0, ALL6),
    T("imul", IMUL, "imul r, r/m", MB, 1, 0xaf, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, SF|ZF|AF|PF),
    T("imul", IMUL, "imul r, r/m, imm", MB, 0, 0x69, -1, ZV, F_RM, I_Z, 0x00, K_PLAIN, 0, SF|ZF|AF|PF),
    T("imul", IMUL, "imul r, r/m, simm8", MB, 0, 0x6b, -1, ZV, F_RM, I_8, 0x00, K_PLAIN, 0, SF|ZF|AF|PF),
    T("bt", BT, "bt r/m, r", MB, 1, 0xa3, -1, ZV, F_RM, I_NONE, 0x00, K_BTREG, 0, OF|SF|AF|PF),
    T("bt", BT, "bt r/m, imm8", MB, 1, 0xba, 4, ZV, F_RM, I_8, 0x00, K_PLAIN, 0, OF|SF|AF|PF),
    T("bts", BTS, "bts r/m, r", MB, 1, 0xab, -1, ZV, F_RM, I_NONE, 0x00, K_BTREG, T_LOCK, OF|SF|AF|PF),
    T("bts", BTS, "bts r/m, imm8", MB, 1, 0xba, 5, ZV, F_RM, I_8, 0x00, K_PLAIN, T_LOCK, OF|SF|AF|PF),
    T("btr", BTR, "btr r/m, r", MB, 1, 0xb3, -1, ZV, F_RM, I_NONE, 0x00, K_BTREG, T_LOCK, OF|SF|AF|PF),
    T("btr", BTR, "btr r/m, imm8", MB, 1, 0xba, 6, ZV, F_RM, I_8, 0x00, K_PLAIN, T_LOCK, OF|SF|AF|PF),
    T("btc", BTC, "btc r/m, r", MB, 1, 0xbb, -1, ZV, F_RM, I_NONE, 0x00, K_BTREG, T_LOCK, OF|SF|AF|PF),
    T("btc", BTC, "btc r/m, imm8", MB, 1, 0xba, 7, ZV, F_RM, I_8, 0x00, K_PLAIN, T_LOCK, OF|SF|AF|PF),
    T("bsf", BSF, "bsf r, r/m", MB, 1, 0xbc, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, CF|OF|SF|AF|PF),
    T("bsr", BSR, "bsr r, r/m", MB, 1, 0xbd, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, CF|OF|SF|AF|PF),
    T("tzcnt", TZCNT, "tzcnt r, r/m", MB, 1, 0xbc, -1, ZV, F_RM, I_NONE, 0xf3, K_PLAIN, 0, OF|SF|AF|PF),
    T("lzcnt", LZCNT, "lzcnt r, r/m", MB, 1, 0xbd, -1, ZV, F_RM, I_NONE, 0xf3, K_PLAIN, 0, OF|SF|AF|PF),
    T("popcnt", POPCNT, "popcnt r, r/m", MB, 1, 0xb8, -1, ZV, F_RM, I_NONE, 0xf3, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r/m8, r8", MB, 0, 0x88, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r/m, r", MB, 0, 0x89, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r8, r/m8", MB, 0, 0x8a, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r, r/m", MB, 0, 0x8b, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r/m8, imm8", MB, 0, 0xc6, 0, Z8, F_RM, I_8, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r/m, imm", MB, 0, 0xc7, 0, ZV, F_RM, I_Z, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r8, imm8", MB, 0, 0xb0, -1, Z8, F_OPREG, I_8, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov r, imm (b8+r)", MB, 0, 0xb8, -1, ZV, F_OPREG, I_V, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov al, moffs", MB, 0, 0xa0, -1, Z8, F_MOFFS, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov rax, moffs", MB, 0, 0xa1, -1, ZV, F_MOFFS, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov moffs, al", MB, 0, 0xa2, -1, Z8, F_MOFFS, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov", MOV, "mov moffs, rax", MB, 0, 0xa3, -1, ZV, F_MOFFS, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("movzx", MOVZX, "movzx r, r/m8", MB, 1, 0xb6, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("movzx", MOVZX, "movzx r, r/m16", MB, 1, 0xb7, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("movsx", MOVSX, "movsx r, r/m8", MB, 1, 0xbe, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("movsx", MOVSX, "movsx r, r/m16", MB, 1, 0xbf, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("movsxd", MOVSXD, "movsxd r, r/m32", M64, 0, 0x63, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("lea", LEA, "lea r, m", MB, 0, 0x8d, -1, ZV, F_RM_MEM, I_NONE, 0x00, K_NOACC, 0, 0),
    T("xchg", XCHG, "xchg r/m8, r8", MB, 0, 0x86, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("xchg", XCHG, "xchg r/m, r", MB, 0, 0x87, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("xchg", XCHG, "xchg r, rax (90+r)", MB, 0, 0x90, -1, ZV, F_OPREG, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("cmpxchg", CMPXCHG, "cmpxchg r/m8, r8", MB, 1, 0xb0, -1, Z8, F_RM, I_NONE, 0x00, K_CMPXCHG, T_LOCK, 0),
    T("cmpxchg", CMPXCHG, "cmpxchg r/m, r", MB, 1, 0xb1, -1, ZV, F_RM, I_NONE, 0x00, K_CMPXCHG, T_LOCK, 0),
    T("cmpxchg8b", CMPXCHG8B, "cmpxchg8b m64", MB, 1, 0xc7, 1, Z32, F_RM_MEM, I_NONE, 0x00, K_CX8, T_LOCK|T_NOW, 0),
    T("cmpxchg16b", CMPXCHG16B, "cmpxchg16b m128", M64, 1, 0xc7, 1, Z64, F_RM_MEM, I_NONE, 0x00, K_CX8, T_LOCK|T_REXW|T_A16, 0),
    T("xadd", XADD, "xadd r/m8, r8", MB, 1, 0xc0, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("xadd", XADD, "xadd r/m, r", MB, 1, 0xc1, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, T_LOCK, 0),
    T("bswap", BSWAP, "bswap r", MB, 1, 0xc8, -1, ZV, F_OPREG, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("movbe", MOVBE, "movbe r, m", MB, 2, 0xf0, -1, ZV, F_RM_MEM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("movbe", MOVBE, "movbe m, r", MB, 2, 0xf1, -1, ZV, F_RM_MEM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("crc32", CRC32, "crc32 r, r/m8", MB, 2, 0xf0, -1, Z3264, F_RM, I_NONE, 0xf2, K_PLAIN, 0, 0),
    T("crc32", CRC32, "crc32 r, r/m", MB, 2, 0xf1, -1, ZV, F_RM, I_NONE, 0xf2, K_PLAIN, 0, 0),
    T("cmovcc", CMOVCC, "cmovcc r, r/m", MB, 1, 0x40, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, T_CC, 0),
    T("setcc", SETCC, "setcc r/m8", MB, 1, 0x90, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, T_CC, 0),
    T("jcc", JCC, "jcc rel8", MB, 0, 0x70, -1, Z32, F_REL8, I_NONE, 0x00, K_PLAIN, T_CC, 0),
    T("jcc", JCC, "jcc rel32", MB, 1, 0x80, -1, Z32, F_REL32, I_NONE, 0x00, K_PLAIN, T_CC, 0),
    T("adcx", ADCX, "adcx r, r/m", MB, 2, 0xf6, -1, Z3264, F_RM, I_NONE, 0x66, K_PLAIN, 0, 0),
    T("adox", ADOX, "adox r, r/m", MB, 2, 0xf6, -1, Z3264, F_RM, I_NONE, 0xf3, K_PLAIN, 0, 0),
    T("push", PUSH, "push r (50+r)", MB, 0, 0x50, -1, Z16|Z64, F_OPREG, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("push", PUSH, "push r/m", MB, 0, 0xff, 6, Z16|Z64, F_RM, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("push", PUSH, "push simm8", MB, 0, 0x6a, -1, Z16|Z64, F_NONE, I_8, 0x00, K_STACK, T_D64, 0),
    T("push", PUSH, "push imm", MB, 0, 0x68, -1, Z16|Z64, F_NONE, I_Z, 0x00, K_STACK, T_D64, 0),
    T("pop", POP, "pop r (58+r)", MB, 0, 0x58, -1, Z16|Z64, F_OPREG, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("pop", POP, "pop r/m", MB, 0, 0x8f, 0, Z16|Z64, F_RM, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("pushf", PUSHF, "pushf", MB, 0, 0x9c, -1, Z16|Z64, F_NONE, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("popf", POPF, "popf", MB, 0, 0x9d, -1, Z16|Z64, F_NONE, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("pusha", PUSHA, "pusha", MB, 0, 0x60, -1, Z16|Z32, F_NONE, I_NONE, 0x00, K_STACK, 0, 0),
    T("popa", POPA, "popa", MB, 0, 0x61, -1, Z16|Z32, F_NONE, I_NONE, 0x00, K_STACK, 0, 0),
    T("enter", ENTER, "enter imm16, imm8", MB, 0, 0xc8, -1, Z16|Z64, F_NONE, I_ENTER, 0x00, K_ENTER, T_D64, 0),
    T("leave", LEAVE, "leave", MB, 0, 0xc9, -1, Z16|Z64, F_NONE, I_NONE, 0x00, K_LEAVE, T_D64, 0),
    T("jmp", JMP, "jmp rel8", MB, 0, 0xeb, -1, Z32, F_REL8, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("jmp", JMP, "jmp rel32", MB, 0, 0xe9, -1, Z32, F_REL32, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("jmp", JMP, "jmp r/m", MB, 0, 0xff, 4, Z64, F_RM, I_NONE, 0x00, K_JMPIND, T_D64, 0),
    T("call", CALL, "call rel32", MB, 0, 0xe8, -1, Z64, F_REL32, I_NONE, 0x00, K_CALL, T_D64, 0),
    T("call", CALL, "call r/m", MB, 0, 0xff, 2, Z64, F_RM, I_NONE, 0x00, K_CALLIND, T_D64, 0),
    T("ret", RET, "ret", MB, 0, 0xc3, -1, Z64, F_NONE, I_NONE, 0x00, K_RET, T_D64, 0),
    T("ret", RET, "ret imm16", MB, 0, 0xc2, -1, Z64, F_NONE, I_16, 0x00, K_RET, T_D64, 0),
    T("jcxz", JCXZ, "jrcxz rel8", MB, 0, 0xe3, -1, Z32, F_REL8, I_NONE, 0x00, K_LOOP, 0, 0),
    T("loop", LOOP, "loop rel8", MB, 0, 0xe2, -1, Z32, F_REL8, I_NONE, 0x00, K_LOOP, 0, 0),
    T("loope", LOOPE, "loope rel8", MB, 0, 0xe1, -1, Z32, F_REL8, I_NONE, 0x00, K_LOOP, 0, 0),
    T("loopne", LOOPNE, "loopne rel8", MB, 0, 0xe0, -1, Z32, F_REL8, I_NONE, 0x00, K_LOOP, 0, 0),
    T("movs", MOVS, "movs byte", MB, 0, 0xa4, -1, Z8, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("movs", MOVS, "movs word/dword/qword", MB, 0, 0xa5, -1, ZV, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("cmps", CMPS, "cmps byte", MB, 0, 0xa6, -1, Z8, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("cmps", CMPS, "cmps word/dword/qword", MB, 0, 0xa7, -1, ZV, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("stos", STOS, "stos byte", MB, 0, 0xaa, -1, Z8, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("stos", STOS, "stos word/dword/qword", MB, 0, 0xab, -1, ZV, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("lods", LODS, "lods byte", MB, 0, 0xac, -1, Z8, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("lods", LODS, "lods word/dword/qword", MB, 0, 0xad, -1, ZV, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("scas", SCAS, "scas byte", MB, 0, 0xae, -1, Z8, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("scas", SCAS, "scas word/dword/qword", MB, 0, 0xaf, -1, ZV, F_NONE, I_NONE, 0x00, K_STR, 0, 0),
    T("lahf", LAHF, "lahf", MB, 0, 0x9f, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("sahf", SAHF, "sahf", MB, 0, 0x9e, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("cbw", CBW, "cbw/cwde/cdqe", MB, 0, 0x98, -1, ZV, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("cwd", CWD, "cwd/cdq/cqo", MB, 0, 0x99, -1, ZV, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("xlat", XLAT, "xlat", MB, 0, 0xd7, -1, Z8, F_NONE, I_NONE, 0x00, K_XLAT, 0, 0),
    T("clc", CLC, "clc", MB, 0, 0xf8, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("stc", STC, "stc", MB, 0, 0xf9, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("cmc", CMC, "cmc", MB, 0, 0xf5, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("cld", CLD, "cld", MB, 0, 0xfc, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("std", STD, "std", MB, 0, 0xfd, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("nop", NOP, "nop", MB, 0, 0x90, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("nop", NOP, "nop r/m (0f 1f)", MB, 1, 0x1f, 0, ZV, F_RM, I_NONE, 0x00, K_NOACC, 0, 0),
    T("pause", PAUSE, "pause", MB, 0, 0x90, -1, Z32, F_NONE, I_NONE, 0xf3, K_PLAIN, 0, 0),
    T("ud2", UD2, "ud2", MB, 1, 0x0b, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("cpuid", CPUID, "cpuid", MB, 1, 0xa2, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("rdtsc", RDTSC, "rdtsc", MB, 1, 0x31, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("rdtscp", RDTSCP, "rdtscp", MB, 1, 0x01, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, T_F9, 0),
    T("rdrand", RDRAND, "rdrand r", MB, 1, 0xc7, 6, ZV, F_RM_REG, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("rdseed", RDSEED, "rdseed r", MB, 1, 0xc7, 7, ZV, F_RM_REG, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("daa", DAA, "daa", MB, 0, 0x27, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("das", DAS, "das", MB, 0, 0x2f, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, OF),
    T("aaa", AAA, "aaa", MB, 0, 0x37, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, OF|SF|ZF|PF),
    T("aas", AAS, "aas", MB, 0, 0x3f, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, OF|SF|ZF|PF),
    T("aam", AAM, "aam imm8", MB, 0, 0xd4, -1, Z32, F_NONE, I_8, 0x00, K_AAM, 0, OF|AF|CF),
    T("aad", AAD, "aad imm8", MB, 0, 0xd5, -1, Z32, F_NONE, I_8, 0x00, K_AAM, 0, OF|AF|CF),
    T("salc", SALC, "salc", MB, 0, 0xd6, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("andn", ANDN, "andn r, v, r/m", MB, 2, 0xf2, -1, Z3264, F_RM, I_NONE, 0x00, K_PLAIN, T_VEX, AF|PF),
    T("bextr", BEXTR, "bextr r, r/m, v", MB, 2, 0xf7, -1, Z3264, F_RM, I_NONE, 0x00, K_PLAIN, T_VEX, AF|SF|PF),
    T("blsr", BLSR, "blsr v, r/m", MB, 2, 0xf3, 1, Z3264, F_RM, I_NONE, 0x00, K_PLAIN, T_VEX|T_VDST, AF|PF),
    T("blsmsk", BLSMSK, "blsmsk v, r/m", MB, 2, 0xf3, 2, Z3264, F_RM, I_NONE, 0x00, K_PLAIN, T_VEX|T_VDST, AF|PF),
    T("blsi", BLSI, "blsi v, r/m", MB, 2, 0xf3, 3, Z3264, F_RM, I_NONE, 0x00, K_PLAIN, T_VEX|T_VDST, AF|PF),
    T("bzhi", BZHI, "bzhi r, r/m, v", MB, 2, 0xf5, -1, Z3264, F_RM, I_NONE, 0x00, K_PLAIN, T_VEX, AF|PF),
    T("pdep", PDEP, "pdep r, v, r/m", MB, 2, 0xf5, -1, Z3264, F_RM, I_NONE, 0xf2, K_PLAIN, T_VEX, 0),
    T("pext", PEXT, "pext r, v, r/m", MB, 2, 0xf5, -1, Z3264, F_RM, I_NONE, 0xf3, K_PLAIN, T_VEX, 0),
    T("mulx", MULX, "mulx r, v, r/m", MB, 2, 0xf6, -1, Z3264, F_RM, I_NONE, 0xf2, K_PLAIN, T_VEX, 0),
    T("rorx", RORX, "rorx r, r/m, imm8", MB, 3, 0xf0, -1, Z3264, F_RM, I_COUNT, 0xf2, K_PLAIN, T_VEX, 0),
    T("sarx", SARX, "sarx r, r/m, v", MB, 2, 0xf7, -1, Z3264, F_RM, I_NONE, 0xf3, K_PLAIN, T_VEX, 0),
    T("shlx", SHLX, "shlx r, r/m, v", MB, 2, 0xf7, -1, Z3264, F_RM, I_NONE, 0x66, K_PLAIN, T_VEX, 0),
    T("shrx", SHRX, "shrx r, r/m, v", MB, 2, 0xf7, -1, Z3264, F_RM, I_NONE, 0xf2, K_PLAIN, T_VEX, 0),
    T("prefixes", ADD, "prefixes + add r/m, r", MB, 0, 0x01, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0|T_SOUP, 0),
    T("prefixes", MOV, "prefixes + mov r, r/m", MB, 0, 0x8b, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0|T_SOUP, 0),
    T("prefixes", INC, "prefixes + inc r/m", MB, 0, 0xff, 0, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0|T_SOUP, 0),
    T("prefixes", SHL, "prefixes + shl r/m, cl", MB, 0, 0xd3, 4, ZV, F_RM, I_NONE, 0x00, K_CL, 0|T_SOUP, 0),
    T("prefixes", XCHG, "prefixes + xchg r/m, r", MB, 0, 0x87, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0|T_SOUP, 0),
    T("prefixes", TEST, "prefixes + test r/m, r", MB, 0, 0x85, -1, ZV, F_RM, I_NONE, 0x00, K_PLAIN, 0|T_SOUP, 0),
    T("prefixes", SUB, "prefixes + sub r/m, simm8", MB, 0, 0x83, 5, ZV, F_RM, I_8, 0x00, K_PLAIN, 0|T_SOUP, 0),
    T("prefixes", PUSH, "prefixes + push r", MB, 0, 0x50, -1, Z16|Z64, F_OPREG, I_NONE, 0x00, K_STACK, T_D64|T_SOUP, 0),
    T("prefixes", CMP, "prefixes + cmp r8, r/m8", MB, 0, 0x3a, -1, Z8, F_RM, I_NONE, 0x00, K_PLAIN, 0|T_SOUP, 0),
    T("push", PUSH, "push es", MB, 0, 0x06, -1, Z16|Z32, F_NONE, I_NONE, 0x00, K_STACK, 0, 0),
    T("push", PUSH, "push cs", MB, 0, 0x0e, -1, Z16|Z32, F_NONE, I_NONE, 0x00, K_STACK, 0, 0),
    T("push", PUSH, "push ss", MB, 0, 0x16, -1, Z16|Z32, F_NONE, I_NONE, 0x00, K_STACK, 0, 0),
    T("push", PUSH, "push ds", MB, 0, 0x1e, -1, Z16|Z32, F_NONE, I_NONE, 0x00, K_STACK, 0, 0),
    T("push", PUSH, "push fs", MB, 1, 0xa0, -1, Z16|Z64, F_NONE, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("push", PUSH, "push gs", MB, 1, 0xa8, -1, Z16|Z64, F_NONE, I_NONE, 0x00, K_STACK, T_D64, 0),
    T("ud0", UD0, "ud0 r, r/m", MB, 1, 0xff, -1, Z32, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("ud1", UD1, "ud1 r, r/m", MB, 1, 0xb9, -1, Z32, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("mov_sreg", MOV_SREG, "mov sreg, r/m16; mov r, sreg", MB, 0, 0x8e, -1, Z16|Z32, F_RM, I_NONE, 0x00, K_SREG, 0, 0),
    T("pop", POP, "pop es; mov r, es", MB, 0, 0x07, 0, Z16|Z32, F_NONE, I_NONE, 0x00, K_POPSREG, 0, 0),
    T("pop", POP, "pop ss; mov r, ss", MB, 0, 0x17, 2, Z16|Z32, F_NONE, I_NONE, 0x00, K_POPSREG, 0, 0),
    T("pop", POP, "pop ds; mov r, ds", MB, 0, 0x1f, 3, Z16|Z32, F_NONE, I_NONE, 0x00, K_POPSREG, 0, 0),
    T("lds", LDS, "lds r, m16:off; mov r, ds", ML, 0, 0xc5, 3, Z16|Z32, F_RM_MEM, I_NONE, 0x00, K_LSEG, 0, 0),
    T("les", LES, "les r, m16:off; mov r, es", ML, 0, 0xc4, 0, Z16|Z32, F_RM_MEM, I_NONE, 0x00, K_LSEG, 0, 0),
    T("arpl", ARPL, "arpl r/m16, r16", ML, 0, 0x63, -1, Z16|Z32, F_RM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("bound", BOUND, "bound r, m", ML, 0, 0x62, -1, Z16|Z32, F_RM_MEM, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("into", INTO, "into", ML, 0, 0xce, -1, Z32, F_NONE, I_NONE, 0x00, K_PLAIN, 0, 0),
    T("lss", LSS, "lss r, m16:off; mov r, ss", MB, 1, 0xb2, 2, ZV, F_RM_MEM, I_NONE, 0x00, K_LSEG, 0, 0),
    T("jmp_far", JMP_FAR, "jmp ptr16:32", MB, 0, 0xea, -1, Z16|Z32, F_NONE, I_FAR, 0x00, K_FARPTR, 0, 0),
    T("jmp_far", JMP_FAR, "jmp m16:off", MB, 0, 0xff, 5, ZV, F_RM_MEM, I_NONE, 0x00, K_FARIND, 0, 0),
    T("call_far", CALL_FAR, "call ptr16:32", MB, 0, 0x9a, -1, Z16|Z32, F_NONE, I_FAR, 0x00, K_FARPTR, 0, 0),
    T("call_far", CALL_FAR, "call m16:off", MB, 0, 0xff, 3, ZV, F_RM_MEM, I_NONE, 0x00, K_FARIND, 0, 0),
    T("ret_far", RET_FAR, "retf", MB, 0, 0xcb, -1, ZV, F_NONE, I_NONE, 0x00, K_FARRET, 0, 0),
    T("ret_far", RET_FAR, "retf imm16", MB, 0, 0xca, -1, ZV, F_NONE, I_16, 0x00, K_FARRET, 0, 0),

    /* ---- x87 ---- */
    X87M("x87-add", "fadd m32fp", 0xd8, 0, FV_F32, 4, FC023),
    X87M("x87-add", "fadd m64fp", 0xdc, 0, FV_F64, 8, FC023),
    X87R("x87-add", "fadd st, st(i)", 0xd8, 0, FC023),
    X87R("x87-add", "fadd st(i), st", 0xdc, 0, FC023),
    X87R("x87-add", "faddp st(i), st", 0xde, 0, FC023),
    X87M("x87-add", "fiadd m32int", 0xda, 0, FV_I32, 4, FC023),
    X87M("x87-add", "fiadd m16int", 0xde, 0, FV_I16, 2, FC023),
    X87M("x87-mul", "fmul m32fp", 0xd8, 1, FV_F32, 4, FC023),
    X87M("x87-mul", "fmul m64fp", 0xdc, 1, FV_F64, 8, FC023),
    X87R("x87-mul", "fmul st, st(i)", 0xd8, 1, FC023),
    X87R("x87-mul", "fmul st(i), st", 0xdc, 1, FC023),
    X87R("x87-mul", "fmulp st(i), st", 0xde, 1, FC023),
    X87M("x87-mul", "fimul m32int", 0xda, 1, FV_I32, 4, FC023),
    X87M("x87-mul", "fimul m16int", 0xde, 1, FV_I16, 2, FC023),
    X87M("x87-sub", "fsub m32fp", 0xd8, 4, FV_F32, 4, FC023),
    X87M("x87-sub", "fsubr m32fp", 0xd8, 5, FV_F32, 4, FC023),
    X87M("x87-sub", "fsub m64fp", 0xdc, 4, FV_F64, 8, FC023),
    X87M("x87-sub", "fsubr m64fp", 0xdc, 5, FV_F64, 8, FC023),
    X87R("x87-sub", "fsub st, st(i)", 0xd8, 4, FC023),
    X87R("x87-sub", "fsubr st, st(i)", 0xd8, 5, FC023),
    X87R("x87-sub", "fsubr st(i), st (dc e0+i)", 0xdc, 4, FC023),
    X87R("x87-sub", "fsub st(i), st (dc e8+i)", 0xdc, 5, FC023),
    X87R("x87-sub", "fsubrp st(i), st (de e0+i)", 0xde, 4, FC023),
    X87R("x87-sub", "fsubp st(i), st (de e8+i)", 0xde, 5, FC023),
    X87M("x87-sub", "fisub m32int", 0xda, 4, FV_I32, 4, FC023),
    X87M("x87-sub", "fisubr m32int", 0xda, 5, FV_I32, 4, FC023),
    X87M("x87-sub", "fisub m16int", 0xde, 4, FV_I16, 2, FC023),
    X87M("x87-sub", "fisubr m16int", 0xde, 5, FV_I16, 2, FC023),
    X87M("x87-div", "fdiv m32fp", 0xd8, 6, FV_F32, 4, FC023),
    X87M("x87-div", "fdivr m32fp", 0xd8, 7, FV_F32, 4, FC023),
    X87M("x87-div", "fdiv m64fp", 0xdc, 6, FV_F64, 8, FC023),
    X87M("x87-div", "fdivr m64fp", 0xdc, 7, FV_F64, 8, FC023),
    X87R("x87-div", "fdiv st, st(i)", 0xd8, 6, FC023),
    X87R("x87-div", "fdivr st, st(i)", 0xd8, 7, FC023),
    X87R("x87-div", "fdivr st(i), st (dc f0+i)", 0xdc, 6, FC023),
    X87R("x87-div", "fdiv st(i), st (dc f8+i)", 0xdc, 7, FC023),
    X87R("x87-div", "fdivrp st(i), st (de f0+i)", 0xde, 6, FC023),
    X87R("x87-div", "fdivp st(i), st (de f8+i)", 0xde, 7, FC023),
    X87M("x87-div", "fidiv m32int", 0xda, 6, FV_I32, 4, FC023),
    X87M("x87-div", "fidivr m32int", 0xda, 7, FV_I32, 4, FC023),
    X87M("x87-div", "fidiv m16int", 0xde, 6, FV_I16, 2, FC023),
    X87M("x87-div", "fidivr m16int", 0xde, 7, FV_I16, 2, FC023),
    X87M("x87-ld", "fld m32fp", 0xd9, 0, FV_F32, 4, FC023),
    X87M("x87-ld", "fld m64fp", 0xdd, 0, FV_F64, 8, FC023),
    X87M("x87-ld", "fld m80fp", 0xdb, 5, FV_F80, 10, FC023),
    X87R("x87-ld", "fld st(i)", 0xd9, 0, FC023),
    X87M("x87-ld", "fild m16int", 0xdf, 0, FV_I16, 2, FC023),
    X87M("x87-ld", "fild m32int", 0xdb, 0, FV_I32, 4, FC023),
    X87M("x87-ld", "fild m64int", 0xdf, 5, FV_I64, 8, FC023),
    X87M("x87-ld", "fbld m80bcd", 0xdf, 4, FV_BCD, 10, FC023),
    X87M("x87-st", "fst m32fp", 0xd9, 2, FV_NONE, 4, FC023),
    X87M("x87-st", "fstp m32fp", 0xd9, 3, FV_NONE, 4, FC023),
    X87M("x87-st", "fst m64fp", 0xdd, 2, FV_NONE, 8, FC023),
    X87M("x87-st", "fstp m64fp", 0xdd, 3, FV_NONE, 8, FC023),
    X87M("x87-st", "fstp m80fp", 0xdb, 7, FV_NONE, 10, FC023),
    X87R("x87-st", "fst st(i)", 0xdd, 2, FC023),
    X87R("x87-st", "fstp st(i)", 0xdd, 3, FC023),
    X87M("x87-st", "fist m16int", 0xdf, 2, FV_NONE, 2, FC023),
    X87M("x87-st", "fistp m16int", 0xdf, 3, FV_NONE, 2, FC023),
    X87M("x87-st", "fist m32int", 0xdb, 2, FV_NONE, 4, FC023),
    X87M("x87-st", "fistp m32int", 0xdb, 3, FV_NONE, 4, FC023),
    X87M("x87-st", "fistp m64int", 0xdf, 7, FV_NONE, 8, FC023),
    X87M("x87-st", "fisttp m16int", 0xdf, 1, FV_NONE, 2, FC023),
    X87M("x87-st", "fisttp m32int", 0xdb, 1, FV_NONE, 4, FC023),
    X87M("x87-st", "fisttp m64int", 0xdd, 1, FV_NONE, 8, FC023),
    X87M("x87-st", "fbstp m80bcd", 0xdf, 6, FV_NONE, 10, FC023),
    X87M("x87-com", "fcom m32fp", 0xd8, 2, FV_F32, 4, 0),
    X87M("x87-com", "fcomp m32fp", 0xd8, 3, FV_F32, 4, 0),
    X87M("x87-com", "fcom m64fp", 0xdc, 2, FV_F64, 8, 0),
    X87M("x87-com", "fcomp m64fp", 0xdc, 3, FV_F64, 8, 0),
    X87R("x87-com", "fcom st(i)", 0xd8, 2, 0),
    X87R("x87-com", "fcomp st(i)", 0xd8, 3, 0),
    X87F("x87-com", "fcompp", 0xde, 0xd9, 0),
    X87R("x87-com", "fucom st(i)", 0xdd, 4, 0),
    X87R("x87-com", "fucomp st(i)", 0xdd, 5, 0),
    X87F("x87-com", "fucompp", 0xda, 0xe9, 0),
    X87M("x87-com", "ficom m32int", 0xda, 2, FV_I32, 4, 0),
    X87M("x87-com", "ficomp m32int", 0xda, 3, FV_I32, 4, 0),
    X87M("x87-com", "ficom m16int", 0xde, 2, FV_I16, 2, 0),
    X87M("x87-com", "ficomp m16int", 0xde, 3, FV_I16, 2, 0),
    X87R("x87-comi", "fcomi st, st(i)", 0xdb, 6, FC1),
    X87R("x87-comi", "fucomi st, st(i)", 0xdb, 5, FC1),
    X87R("x87-comi", "fcomip st, st(i)", 0xdf, 6, FC1),
    X87R("x87-comi", "fucomip st, st(i)", 0xdf, 5, FC1),
    X87R("x87-fcmov", "fcmovb", 0xda, 0, FCALL),
    X87R("x87-fcmov", "fcmove", 0xda, 1, FCALL),
    X87R("x87-fcmov", "fcmovbe", 0xda, 2, FCALL),
    X87R("x87-fcmov", "fcmovu", 0xda, 3, FCALL),
    X87R("x87-fcmov", "fcmovnb", 0xdb, 0, FCALL),
    X87R("x87-fcmov", "fcmovne", 0xdb, 1, FCALL),
    X87R("x87-fcmov", "fcmovnbe", 0xdb, 2, FCALL),
    X87R("x87-fcmov", "fcmovnu", 0xdb, 3, FCALL),
    X87R("x87-fxch", "fxch st(i)", 0xd9, 1, FC023),
    /* The encodings the opcode map leaves reserved that the x87 has always
     * run as aliases: fxch4, fxch7, fcom2, fcomp3, fcomp5, fstp1, fstp8,
     * fstp9 (AMD and Intel alike; QEMU runs them too). */
    X87R("x87-alias", "fxch4 (dd c8+i)", 0xdd, 1, FC023),
    X87R("x87-alias", "fxch7 (df c8+i)", 0xdf, 1, FC023),
    X87R("x87-alias", "fcom2 (dc d0+i)", 0xdc, 2, 0),
    X87R("x87-alias", "fcomp3 (dc d8+i)", 0xdc, 3, 0),
    X87R("x87-alias", "fcomp5 (de d0+i)", 0xde, 2, 0),
    X87R("x87-alias", "fstp1 (d9 d8+i)", 0xd9, 3, FC023),
    X87R("x87-alias", "fstp8 (df d0+i)", 0xdf, 2, FC023),
    X87R("x87-alias", "fstp9 (df d8+i)", 0xdf, 3, FC023),
    X87F("x87-const", "fld1", 0xd9, 0xe8, FC023),
    X87F("x87-const", "fldl2t", 0xd9, 0xe9, FC023),
    X87F("x87-const", "fldl2e", 0xd9, 0xea, FC023),
    X87F("x87-const", "fldpi", 0xd9, 0xeb, FC023),
    X87F("x87-const", "fldlg2", 0xd9, 0xec, FC023),
    X87F("x87-const", "fldln2", 0xd9, 0xed, FC023),
    X87F("x87-const", "fldz", 0xd9, 0xee, FC023),
    X87F("x87-misc", "fchs", 0xd9, 0xe0, FC023),
    X87F("x87-misc", "fabs", 0xd9, 0xe1, FC023),
    X87F("x87-misc", "ftst", 0xd9, 0xe4, 0),
    X87F("x87-misc", "fxam", 0xd9, 0xe5, 0),
    X87F("x87-prem", "fprem", 0xd9, 0xf8, FC0 | FC1 | FC3),
    X87F("x87-prem", "fprem1", 0xd9, 0xf5, FC0 | FC1 | FC3),
    X87F("x87-scale", "fscale", 0xd9, 0xfd, FC023),
    X87F("x87-scale", "fxtract", 0xd9, 0xf4, FC023),
    X87F("x87-rndsqrt", "frndint", 0xd9, 0xfc, FC023),
    X87F("x87-rndsqrt", "fsqrt", 0xd9, 0xfa, FC023),
    X87F("x87-trans", "f2xm1", 0xd9, 0xf0, FC023),
    X87F("x87-trans", "fyl2x", 0xd9, 0xf1, FC023),
    X87F("x87-trans", "fptan", 0xd9, 0xf2, FC0 | FC3),
    X87F("x87-trans", "fpatan", 0xd9, 0xf3, FC023),
    X87F("x87-trans", "fyl2xp1", 0xd9, 0xf9, FC023),
    X87F("x87-trans", "fsin", 0xd9, 0xfe, FC0 | FC3),
    X87F("x87-trans", "fcos", 0xd9, 0xff, FC0 | FC3),
    X87F("x87-trans", "fsincos", 0xd9, 0xfb, FC0 | FC3),
    X87M("x87-ctl", "fnstsw m16", 0xdd, 7, FV_NONE, 2, FCALL),
    X87F("x87-ctl", "fnstsw ax", 0xdf, 0xe0, FCALL),
    X87M("x87-ctl", "fnstcw m16", 0xd9, 7, FV_NONE, 2, FCALL),
    X87M("x87-ctl", "fldcw m16", 0xd9, 5, FV_FCW, 2, FCALL),
    X87F("x87-ctl", "fnclex", 0xdb, 0xe2, FCALL),
    X87F("x87-ctl", "fninit", 0xdb, 0xe3, 0),
    X87F("x87-ctl", "fincstp", 0xd9, 0xf7, FC023),
    X87F("x87-ctl", "fdecstp", 0xd9, 0xf6, FC023),
    X87R("x87-ctl", "ffree st(i)", 0xdd, 0, FCALL),
    X87R("x87-ctl", "ffreep st(i) (df c0+i)", 0xdf, 0, FCALL),
    X87F("x87-ctl", "fnop", 0xd9, 0xd0, FCALL),
    /* The 8087/287 controls, which every x87 since the 387 runs as FNOP:
     * fneni, fndisi, fnsetpm. */
    X87F("x87-ctl", "fneni (db e0)", 0xdb, 0xe0, FCALL),
    X87F("x87-ctl", "fndisi (db e1)", 0xdb, 0xe1, FCALL),
    X87F("x87-ctl", "fnsetpm (db e4)", 0xdb, 0xe4, FCALL),
    { "x87-ctl", OP_X87, "fwait", MB, 0, 0x9b, -1, Z32, F_NONE, I_NONE, 0, K_PLAIN, 0, 0,
      FPK_X87, FV_F80, 0, 0, NX87, H0 },
    { "x87-state", OP_X87, "fnstenv m14/28", MB, 0, 0xd9, 6, Z32, F_RM_MEM, I_NONE, 0,
      K_FPSAVE, T_PIECES, 0, FPK_X87, FV_NONE, 28, 0, NX87 | DIFF_NEED_FPSTATE, H0 },
    { "x87-state", OP_X87, "fnsave m94/108", MB, 0, 0xdd, 6, Z32, F_RM_MEM, I_NONE, 0,
      K_FPSAVE, T_PIECES, 0, FPK_X87, FV_NONE, 108, 0, NX87 | DIFF_NEED_FPSTATE, H0 },
    { "x87-state", OP_FXSAVE, "fxsave m512 (rex.w: fxsave64)", MB, 1, 0xae, 0, Z3264, F_RM_MEM,
      I_NONE, 0, K_FPSAVE, T_A16 | T_PIECES, 0, FPK_X87, FV_NONE, 512, 0,
      NX87 | DIFF_NEED_FPSTATE, H0 },
    { "x87-state", OP_FXRSTOR, "fxrstor m512 (rex.w: fxrstor64)", MB, 1, 0xae, 1, Z3264,
      F_RM_MEM, I_NONE, 0, K_FXRSTOR, T_A16 | T_PIECES, 0, FPK_X87, FV_NONE, 512, 0,
      NX87 | DIFF_NEED_FPSTATE, H0 },
    { "x87-wait", OP_X87, "fstsw ax (9b df e0)", MB, 0, 0xdf, 4, Z32, F_RM_REG, I_NONE, 0,
      K_PLAIN, T_WAIT, FCALL, FPK_X87, FV_F80, 0, 1, NX87, H0 },
    { "x87-wait", OP_X87, "fstsw m16 (9b dd /7)", MB, 0, 0xdd, 7, Z32, F_RM_MEM, I_NONE, 0,
      K_PLAIN, T_WAIT, FCALL, FPK_X87, FV_NONE, 2, 0, NX87, H0 },
    { "x87-wait", OP_X87, "fstcw m16 (9b d9 /7)", MB, 0, 0xd9, 7, Z32, F_RM_MEM, I_NONE, 0,
      K_PLAIN, T_WAIT, FCALL, FPK_X87, FV_NONE, 2, 0, NX87, H0 },
    { "x87-wait", OP_X87, "fclex (9b db e2)", MB, 0, 0xdb, 4, Z32, F_RM_REG, I_NONE, 0,
      K_PLAIN, T_WAIT, FCALL, FPK_X87, FV_F80, 0, 3, NX87, H0 },
    { "x87-wait", OP_X87, "finit (9b db e3)", MB, 0, 0xdb, 4, Z32, F_RM_REG, I_NONE, 0,
      K_PLAIN, T_WAIT, 0, FPK_X87, FV_F80, 0, 4, NX87, H0 },
    { "x87-wait", OP_X87, "fstenv m14/28 (9b d9 /6)", MB, 0, 0xd9, 6, Z32, F_RM_MEM, I_NONE, 0,
      K_FPSAVE, T_WAIT | T_PIECES, 0, FPK_X87, FV_NONE, 28, 0, NX87 | DIFF_NEED_FPSTATE, H0 },
    { "x87-wait", OP_X87, "fsave m94/108 (9b dd /6)", MB, 0, 0xdd, 6, Z32, F_RM_MEM, I_NONE, 0,
      K_FPSAVE, T_WAIT | T_PIECES, 0, FPK_X87, FV_NONE, 108, 0, NX87 | DIFF_NEED_FPSTATE, H0 },
    { "x87-env", OP_X87, "fldenv m14/28", MB, 0, 0xd9, 4, Z32, F_RM_MEM, I_NONE, 0, K_PLAIN,
      T_PIECES, 0, FPK_X87, FV_NONE, 28, 0, NX87, H0 },
    { "x87-env", OP_X87, "frstor m94/108", MB, 0, 0xdd, 4, Z32, F_RM_MEM, I_NONE, 0, K_PLAIN,
      T_PIECES, 0, FPK_X87, FV_NONE, 108, 0, NX87, H0 },

    /* ---- MMX ---- */
    XV("mmx-mov", MMX, "movd/movq mm, r/m", NSI, H0, FPK_MMX, Z3264, 1, 0, 0x6e, -1, F_RM,
       I_NONE, K_PLAIN, FV_INT, 0, 0),
    XV("mmx-mov", MMX, "movd/movq r/m, mm", NSI, H0, FPK_MMX, Z3264, 1, 0, 0x7e, -1, F_RM,
       I_NONE, K_PLAIN, FV_INT, 0, 0),
    MMX("mmx-mov", "movq mm, mm/m64", H0, 1, 0x6f, F_RM, I_NONE, 8),
    MMX("mmx-mov", "movq mm/m64, mm", H0, 1, 0x7f, F_RM, I_NONE, 8),
    MMX("mmx-mov", "movntq m64, mm", H0, 1, 0xe7, F_RM_MEM, I_NONE, 8),
    MMX("mmx-mov", "emms", H0, 1, 0x77, F_NONE, I_NONE, 0),
    XV("mmx-mov", MMX, "maskmovq mm, mm", NSI, H0, FPK_MMX, Z32, 1, 0, 0xf7, -1, F_RM_REG,
       I_NONE, K_MASKMOV, FV_INT, 8, 0),
#define MMXA(op, d) MMX("mmx-arith", d, H0, 1, op, F_RM, I_NONE, 8)
    MMXA(0xfc, "paddb"), MMXA(0xfd, "paddw"), MMXA(0xfe, "paddd"), MMXA(0xd4, "paddq"),
    MMXA(0xec, "paddsb"), MMXA(0xed, "paddsw"), MMXA(0xdc, "paddusb"), MMXA(0xdd, "paddusw"),
    MMXA(0xf8, "psubb"), MMXA(0xf9, "psubw"), MMXA(0xfa, "psubd"), MMXA(0xfb, "psubq"),
    MMXA(0xe8, "psubsb"), MMXA(0xe9, "psubsw"), MMXA(0xd8, "psubusb"), MMXA(0xd9, "psubusw"),
    MMXA(0xd5, "pmullw"), MMXA(0xe5, "pmulhw"), MMXA(0xf5, "pmaddwd"), MMXA(0xf4, "pmuludq"),
    MMXA(0xe4, "pmulhuw"), MMXA(0xe0, "pavgb"), MMXA(0xe3, "pavgw"), MMXA(0xda, "pminub"),
    MMXA(0xde, "pmaxub"), MMXA(0xea, "pminsw"), MMXA(0xee, "pmaxsw"), MMXA(0xf6, "psadbw"),
#define MMXL(op, d) MMX("mmx-logic", d, H0, 1, op, F_RM, I_NONE, 8)
    MMXL(0xdb, "pand"), MMXL(0xdf, "pandn"), MMXL(0xeb, "por"), MMXL(0xef, "pxor"),
    MMXL(0x74, "pcmpeqb"), MMXL(0x75, "pcmpeqw"), MMXL(0x76, "pcmpeqd"),
    MMXL(0x64, "pcmpgtb"), MMXL(0x65, "pcmpgtw"), MMXL(0x66, "pcmpgtd"),
#define MMXP(op, d) MMX("mmx-pack", d, H0, 1, op, F_RM, I_NONE, 8)
    MMXP(0x63, "packsswb"), MMXP(0x6b, "packssdw"), MMXP(0x67, "packuswb"),
    MMXP(0x60, "punpcklbw"), MMXP(0x61, "punpcklwd"), MMXP(0x62, "punpckldq"),
    MMXP(0x68, "punpckhbw"), MMXP(0x69, "punpckhwd"), MMXP(0x6a, "punpckhdq"),
#define MMXS(op, d) MMX("mmx-shift", d, H0, 1, op, F_RM, I_NONE, 8)
    MMXS(0xd1, "psrlw"), MMXS(0xd2, "psrld"), MMXS(0xd3, "psrlq"), MMXS(0xe1, "psraw"),
    MMXS(0xe2, "psrad"), MMXS(0xf1, "psllw"), MMXS(0xf2, "pslld"), MMXS(0xf3, "psllq"),
#define MMXI(op, e, d) \
    XV("mmx-shift", MMX, d, NSI, H0, FPK_MMX, Z32, 1, 0, op, e, F_RM_REG, I_COUNT, \
       K_PLAIN, FV_INT, 8, 0)
    MMXI(0x71, 2, "psrlw mm, imm8"), MMXI(0x71, 4, "psraw mm, imm8"),
    MMXI(0x71, 6, "psllw mm, imm8"), MMXI(0x72, 2, "psrld mm, imm8"),
    MMXI(0x72, 4, "psrad mm, imm8"), MMXI(0x72, 6, "pslld mm, imm8"),
    MMXI(0x73, 2, "psrlq mm, imm8"), MMXI(0x73, 6, "psllq mm, imm8"),
    MMX("mmx-misc", "pshufw mm, mm/m64, imm8", H0, 1, 0x70, F_RM, I_8, 8),
    MMX("mmx-misc", "pinsrw mm, r32/m16, imm8", H0, 1, 0xc4, F_RM, I_8, 2),
    MMX("mmx-misc", "pextrw r32, mm, imm8", H0, 1, 0xc5, F_RM_REG, I_8, 8),
    MMX("mmx-misc", "pmovmskb r32, mm", H0, 1, 0xd7, F_RM_REG, I_NONE, 8),
#define MMX3A(op, d) MMX3("mmx-ssse3", d, 2, op, F_RM, I_NONE)
    MMX3A(0x00, "pshufb mm"), MMX3A(0x01, "phaddw mm"), MMX3A(0x02, "phaddd mm"),
    MMX3A(0x03, "phaddsw mm"), MMX3A(0x04, "pmaddubsw mm"), MMX3A(0x05, "phsubw mm"),
    MMX3A(0x06, "phsubd mm"), MMX3A(0x07, "phsubsw mm"), MMX3A(0x08, "psignb mm"),
    MMX3A(0x09, "psignw mm"), MMX3A(0x0a, "psignd mm"), MMX3A(0x0b, "pmulhrsw mm"),
    MMX3A(0x1c, "pabsb mm"), MMX3A(0x1d, "pabsw mm"), MMX3A(0x1e, "pabsd mm"),
    MMX3("mmx-ssse3", "palignr mm, mm/m64, imm8", 3, 0x0f, F_RM, I_8),

    /* ---- SSE integer, moves, shuffles ---- */
#define SIA(op, d) SI("sse-int-arith", d, H0, 1, 0x66, op, F_RM, I_NONE, 16, T_A16)
    SIA(0xfc, "paddb"), SIA(0xfd, "paddw"), SIA(0xfe, "paddd"), SIA(0xd4, "paddq"),
    SIA(0xec, "paddsb"), SIA(0xed, "paddsw"), SIA(0xdc, "paddusb"), SIA(0xdd, "paddusw"),
    SIA(0xf8, "psubb"), SIA(0xf9, "psubw"), SIA(0xfa, "psubd"), SIA(0xfb, "psubq"),
    SIA(0xe8, "psubsb"), SIA(0xe9, "psubsw"), SIA(0xd8, "psubusb"), SIA(0xd9, "psubusw"),
    SIA(0xd5, "pmullw"), SIA(0xe5, "pmulhw"), SIA(0xf5, "pmaddwd"), SIA(0xf4, "pmuludq"),
    SIA(0xe4, "pmulhuw"), SIA(0xe0, "pavgb"), SIA(0xe3, "pavgw"), SIA(0xda, "pminub"),
    SIA(0xde, "pmaxub"), SIA(0xea, "pminsw"), SIA(0xee, "pmaxsw"), SIA(0xf6, "psadbw"),
#define SIA4(op, d) SI("sse41-int-arith", d, H41, 2, 0x66, op, F_RM, I_NONE, 16, T_A16)
    SIA4(0x40, "pmulld"), SIA4(0x28, "pmuldq"), SIA4(0x38, "pminsb"), SIA4(0x39, "pminsd"),
    SIA4(0x3a, "pminuw"), SIA4(0x3b, "pminud"), SIA4(0x3c, "pmaxsb"), SIA4(0x3d, "pmaxsd"),
    SIA4(0x3e, "pmaxuw"), SIA4(0x3f, "pmaxud"), SIA4(0x41, "phminposuw"),
    SI("sse41-int-arith", "mpsadbw", H41, 3, 0x66, 0x42, F_RM, I_8, 16, T_A16),
#define SIA3(op, d) SI("sse-ssse3", d, HS3, 2, 0x66, op, F_RM, I_NONE, 16, T_A16)
    SIA3(0x01, "phaddw"), SIA3(0x02, "phaddd"), SIA3(0x03, "phaddsw"),
    SIA3(0x04, "pmaddubsw"), SIA3(0x05, "phsubw"), SIA3(0x06, "phsubd"),
    SIA3(0x07, "phsubsw"), SIA3(0x08, "psignb"), SIA3(0x09, "psignw"), SIA3(0x0a, "psignd"),
    SIA3(0x0b, "pmulhrsw"), SIA3(0x1c, "pabsb"), SIA3(0x1d, "pabsw"), SIA3(0x1e, "pabsd"),
    SI("sse-ssse3", "palignr xmm, xmm/m128, imm8", HS3, 3, 0x66, 0x0f, F_RM, I_8, 16, T_A16),
#define SIL(op, d) SI("sse-int-logic", d, H0, 1, 0x66, op, F_RM, I_NONE, 16, T_A16)
    SIL(0xdb, "pand"), SIL(0xdf, "pandn"), SIL(0xeb, "por"), SIL(0xef, "pxor"),
    SIL(0x74, "pcmpeqb"), SIL(0x75, "pcmpeqw"), SIL(0x76, "pcmpeqd"),
    SIL(0x64, "pcmpgtb"), SIL(0x65, "pcmpgtw"), SIL(0x66, "pcmpgtd"),
    SI("sse-int-logic", "pcmpeqq", H41, 2, 0x66, 0x29, F_RM, I_NONE, 16, T_A16),
    SI("sse-int-logic", "pcmpgtq", H42, 2, 0x66, 0x37, F_RM, I_NONE, 16, T_A16),
    SI("sse-int-logic", "ptest", H41, 2, 0x66, 0x17, F_RM, I_NONE, 16, T_A16),
#define SIP(op, d) SI("sse-int-pack", d, H0, 1, 0x66, op, F_RM, I_NONE, 16, T_A16)
    SIP(0x63, "packsswb"), SIP(0x6b, "packssdw"), SIP(0x67, "packuswb"),
    SIP(0x60, "punpcklbw"), SIP(0x61, "punpcklwd"), SIP(0x62, "punpckldq"),
    SIP(0x68, "punpckhbw"), SIP(0x69, "punpckhwd"), SIP(0x6a, "punpckhdq"),
    SIP(0x6c, "punpcklqdq"), SIP(0x6d, "punpckhqdq"),
    SI("sse-int-pack", "packusdw", H41, 2, 0x66, 0x2b, F_RM, I_NONE, 16, T_A16),
#define SIX(op, d, m) SI("sse-pmovx", d, H41, 2, 0x66, op, F_RM, I_NONE, m, 0)
    SIX(0x20, "pmovsxbw", 8), SIX(0x21, "pmovsxbd", 4), SIX(0x22, "pmovsxbq", 2),
    SIX(0x23, "pmovsxwd", 8), SIX(0x24, "pmovsxwq", 4), SIX(0x25, "pmovsxdq", 8),
    SIX(0x30, "pmovzxbw", 8), SIX(0x31, "pmovzxbd", 4), SIX(0x32, "pmovzxbq", 2),
    SIX(0x33, "pmovzxwd", 8), SIX(0x34, "pmovzxwq", 4), SIX(0x35, "pmovzxdq", 8),
#define SIS(op, d) SI("sse-int-shift", d, H0, 1, 0x66, op, F_RM, I_NONE, 16, T_A16)
    SIS(0xd1, "psrlw"), SIS(0xd2, "psrld"), SIS(0xd3, "psrlq"), SIS(0xe1, "psraw"),
    SIS(0xe2, "psrad"), SIS(0xf1, "psllw"), SIS(0xf2, "pslld"), SIS(0xf3, "psllq"),
#define SII(op, e, d) \
    XV("sse-int-shift", SSE, d, NSI, H0, FPK_SSE, Z32, 1, 0x66, op, e, F_RM_REG, I_COUNT, \
       K_PLAIN, FV_INT, 16, 0)
    SII(0x71, 2, "psrlw xmm, imm8"), SII(0x71, 4, "psraw xmm, imm8"),
    SII(0x71, 6, "psllw xmm, imm8"), SII(0x72, 2, "psrld xmm, imm8"),
    SII(0x72, 4, "psrad xmm, imm8"), SII(0x72, 6, "pslld xmm, imm8"),
    SII(0x73, 2, "psrlq xmm, imm8"), SII(0x73, 3, "psrldq xmm, imm8"),
    SII(0x73, 6, "psllq xmm, imm8"), SII(0x73, 7, "pslldq xmm, imm8"),
    SI("sse-shuffle", "pshufd", H0, 1, 0x66, 0x70, F_RM, I_8, 16, T_A16),
    SI("sse-shuffle", "pshufhw", H0, 1, 0xf3, 0x70, F_RM, I_8, 16, T_A16),
    SI("sse-shuffle", "pshuflw", H0, 1, 0xf2, 0x70, F_RM, I_8, 16, T_A16),
    SI("sse-shuffle", "pshufb", HS3, 2, 0x66, 0x00, F_RM, I_NONE, 16, T_A16),
    SI("sse-shuffle", "shufps", H0, 1, 0x00, 0xc6, F_RM, I_8, 16, T_A16),
    SI("sse-shuffle", "shufpd", H0, 1, 0x66, 0xc6, F_RM, I_8, 16, T_A16),
    SI("sse-shuffle", "unpcklps", H0, 1, 0x00, 0x14, F_RM, I_NONE, 16, T_A16),
    SI("sse-shuffle", "unpckhps", H0, 1, 0x00, 0x15, F_RM, I_NONE, 16, T_A16),
    SI("sse-shuffle", "unpcklpd", H0, 1, 0x66, 0x14, F_RM, I_NONE, 16, T_A16),
    SI("sse-shuffle", "unpckhpd", H0, 1, 0x66, 0x15, F_RM, I_NONE, 16, T_A16),
#define SIB(mp, op, im, d) SI("sse41-blend", d, H41, mp, 0x66, op, F_RM, im, 16, T_A16)
    SIB(3, 0x0e, I_8, "pblendw"), SIB(3, 0x0c, I_8, "blendps"), SIB(3, 0x0d, I_8, "blendpd"),
    SIB(2, 0x14, I_NONE, "blendvps (xmm0)"), SIB(2, 0x15, I_NONE, "blendvpd (xmm0)"),
    SIB(2, 0x10, I_NONE, "pblendvb (xmm0)"),
    SI("sse41-blend", "insertps", H41, 3, 0x66, 0x21, F_RM, I_8, 4, 0),
    SI("sse-insext", "pinsrw xmm, r32/m16, imm8", H0, 1, 0x66, 0xc4, F_RM, I_8, 2, 0),
    SI("sse-insext", "pextrw r32, xmm, imm8", H0, 1, 0x66, 0xc5, F_RM_REG, I_8, 16, 0),
    SI("sse-insext", "pextrb r/m8, xmm, imm8", H41, 3, 0x66, 0x14, F_RM, I_8, 1, 0),
    SI("sse-insext", "pextrw r/m16, xmm, imm8", H41, 3, 0x66, 0x15, F_RM, I_8, 2, 0),
    SI("sse-insext", "extractps r/m32, xmm, imm8", H41, 3, 0x66, 0x17, F_RM, I_8, 4, 0),
    SI("sse-insext", "pinsrb xmm, r32/m8, imm8", H41, 3, 0x66, 0x20, F_RM, I_8, 1, 0),
    XV("sse-insext", SSE, "pextrd/q r/m, xmm, imm8", NSI, H41, FPK_SSE, Z3264, 3, 0x66, 0x16,
       -1, F_RM, I_8, K_PLAIN, FV_INT, 0, 0),
    XV("sse-insext", SSE, "pinsrd/q xmm, r/m, imm8", NSI, H41, FPK_SSE, Z3264, 3, 0x66, 0x22,
       -1, F_RM, I_8, K_PLAIN, FV_INT, 0, 0),
#define SIM(pfx, op, f, m, fl, d) SI("sse-mov", d, H0, 1, pfx, op, f, I_NONE, m, fl)
    SIM(0x00, 0x10, F_RM, 16, 0, "movups xmm, xmm/m128"),
    SIM(0x00, 0x11, F_RM, 16, 0, "movups xmm/m128, xmm"),
    SIM(0x00, 0x28, F_RM, 16, T_A16, "movaps xmm, xmm/m128"),
    SIM(0x00, 0x29, F_RM, 16, T_A16, "movaps xmm/m128, xmm"),
    SIM(0x66, 0x10, F_RM, 16, 0, "movupd xmm, xmm/m128"),
    SIM(0x66, 0x11, F_RM, 16, 0, "movupd xmm/m128, xmm"),
    SIM(0x66, 0x28, F_RM, 16, T_A16, "movapd xmm, xmm/m128"),
    SIM(0x66, 0x29, F_RM, 16, T_A16, "movapd xmm/m128, xmm"),
    SIM(0x66, 0x6f, F_RM, 16, T_A16, "movdqa xmm, xmm/m128"),
    SIM(0x66, 0x7f, F_RM, 16, T_A16, "movdqa xmm/m128, xmm"),
    SIM(0xf3, 0x6f, F_RM, 16, 0, "movdqu xmm, xmm/m128"),
    SIM(0xf3, 0x7f, F_RM, 16, 0, "movdqu xmm/m128, xmm"),
    XV("sse-mov", SSE, "movd/movq xmm, r/m", NSI, H0, FPK_SSE, Z3264, 1, 0x66, 0x6e, -1, F_RM,
       I_NONE, K_PLAIN, FV_INT, 0, 0),
    XV("sse-mov", SSE, "movd/movq r/m, xmm", NSI, H0, FPK_SSE, Z3264, 1, 0x66, 0x7e, -1, F_RM,
       I_NONE, K_PLAIN, FV_INT, 0, 0),
    SIM(0xf3, 0x7e, F_RM, 8, 0, "movq xmm, xmm/m64"),
    SIM(0x66, 0xd6, F_RM, 8, 0, "movq xmm/m64, xmm"),
    SI("sse-mov", "movq2dq xmm, mm", H0, 1, 0xf3, 0xd6, F_RM_REG, I_NONE, 8, 0),
    SI("sse-mov", "movdq2q mm, xmm", H0, 1, 0xf2, 0xd6, F_RM_REG, I_NONE, 8, 0),
#define SIH(pfx, op, f, m, h, d) SI("sse-mov-half", d, h, 1, pfx, op, f, I_NONE, m, 0)
    SIH(0xf3, 0x10, F_RM, 4, H0, "movss xmm, xmm/m32"),
    SIH(0xf3, 0x11, F_RM, 4, H0, "movss xmm/m32, xmm"),
    SIH(0xf2, 0x10, F_RM, 8, H0, "movsd xmm, xmm/m64"),
    SIH(0xf2, 0x11, F_RM, 8, H0, "movsd xmm/m64, xmm"),
    SIH(0x00, 0x12, F_RM, 8, H0, "movlps xmm, m64 / movhlps"),
    SIH(0x00, 0x13, F_RM_MEM, 8, H0, "movlps m64, xmm"),
    SIH(0x00, 0x16, F_RM, 8, H0, "movhps xmm, m64 / movlhps"),
    SIH(0x00, 0x17, F_RM_MEM, 8, H0, "movhps m64, xmm"),
    SIH(0x66, 0x12, F_RM_MEM, 8, H0, "movlpd xmm, m64"),
    SIH(0x66, 0x13, F_RM_MEM, 8, H0, "movlpd m64, xmm"),
    SIH(0x66, 0x16, F_RM_MEM, 8, H0, "movhpd xmm, m64"),
    SIH(0x66, 0x17, F_RM_MEM, 8, H0, "movhpd m64, xmm"),
    SIH(0xf2, 0x12, F_RM, 8, H3, "movddup xmm, xmm/m64"),
    SIH(0xf3, 0x16, F_RM, 16, H3, "movshdup xmm, xmm/m128"),
    SIH(0xf3, 0x12, F_RM, 16, H3, "movsldup xmm, xmm/m128"),
    SI("sse-movmsk", "movmskps r32, xmm", H0, 1, 0x00, 0x50, F_RM_REG, I_NONE, 16, 0),
    SI("sse-movmsk", "movmskpd r32, xmm", H0, 1, 0x66, 0x50, F_RM_REG, I_NONE, 16, 0),
    SI("sse-movmsk", "pmovmskb r32, xmm", H0, 1, 0x66, 0xd7, F_RM_REG, I_NONE, 16, 0),
    XV("sse-movmsk", SSE, "maskmovdqu xmm, xmm", NSI, H0, FPK_SSE, Z32, 1, 0x66, 0xf7, -1,
       F_RM_REG, I_NONE, K_MASKMOV, FV_INT, 16, 0),
    SI("sse-movmsk", "movntdq m128, xmm", H0, 1, 0x66, 0xe7, F_RM_MEM, I_NONE, 16, T_A16),
    SI("sse-movmsk", "movntps m128, xmm", H0, 1, 0x00, 0x2b, F_RM_MEM, I_NONE, 16, T_A16),
    SI("sse-movmsk", "movntpd m128, xmm", H0, 1, 0x66, 0x2b, F_RM_MEM, I_NONE, 16, T_A16),
    SI("sse-movmsk", "movntdqa xmm, m128", H41, 2, 0x66, 0x2a, F_RM_MEM, I_NONE, 16, T_A16),
    SI("sse-movmsk", "lddqu xmm, m128", H3, 1, 0xf2, 0xf0, F_RM_MEM, I_NONE, 16, 0),
    XV("sse-pcmpstr", SSE, "pcmpestrm", NSI, H42, FPK_SSE, Z3264, 3, 0x66, 0x60, -1, F_RM, I_8,
       K_PCMPESTR, FV_STR, 16, 0),
    XV("sse-pcmpstr", SSE, "pcmpestri", NSI, H42, FPK_SSE, Z3264, 3, 0x66, 0x61, -1, F_RM, I_8,
       K_PCMPESTR, FV_STR, 16, 0),
    XV("sse-pcmpstr", SSE, "pcmpistrm", NSI, H42, FPK_SSE, Z32, 3, 0x66, 0x62, -1, F_RM, I_8,
       K_PLAIN, FV_STR, 16, 0),
    XV("sse-pcmpstr", SSE, "pcmpistri", NSI, H42, FPK_SSE, Z32, 3, 0x66, 0x63, -1, F_RM, I_8,
       K_PLAIN, FV_STR, 16, 0),
    SI("sse-pclmul", "pclmulqdq", DIFF_HOST_PCLMUL, 3, 0x66, 0x44, F_RM, I_8, 16, T_A16),
#define SLF(pfx, op, d) \
    XV("sse-logic-fp", SSE, d, NSI | NSF, H0, FPK_SSE, Z32, 1, pfx, op, -1, F_RM, I_NONE, \
       K_PLAIN, FV_PS, 16, T_A16)
    SLF(0x00, 0x54, "andps"), SLF(0x00, 0x55, "andnps"), SLF(0x00, 0x56, "orps"),
    SLF(0x00, 0x57, "xorps"), SLF(0x66, 0x54, "andpd"), SLF(0x66, 0x55, "andnpd"),
    SLF(0x66, 0x56, "orpd"), SLF(0x66, 0x57, "xorpd"),
    XV("sse-mxcsr", LDMXCSR, "ldmxcsr m32", DIFF_NEED_FPSTATE, H0, FPK_SSE, Z32, 1, 0, 0xae, 2,
       F_RM_MEM, I_NONE, K_PLAIN, FV_MXCSR, 4, 0),
    XV("sse-mxcsr", STMXCSR, "stmxcsr m32", DIFF_NEED_FPSTATE, H0, FPK_SSE, Z32, 1, 0, 0xae, 3,
       F_RM_MEM, I_NONE, K_PLAIN, FV_NONE, 4, 0),

    /* ---- SSE floating point ---- */
    SF4("sse-fp-add", "add", 0x58, H0),
    SF4("sse-fp-add", "sub", 0x5c, H0),
    SFP("sse-fp-add", "addsubps", H3, 1, 0xf2, 0xd0, F_RM, I_NONE, FV_PS, 16, T_A16),
    SFP("sse-fp-add", "addsubpd", H3, 1, 0x66, 0xd0, F_RM, I_NONE, FV_PD, 16, T_A16),
    SFP("sse-fp-add", "haddps", H3, 1, 0xf2, 0x7c, F_RM, I_NONE, FV_PS, 16, T_A16),
    SFP("sse-fp-add", "haddpd", H3, 1, 0x66, 0x7c, F_RM, I_NONE, FV_PD, 16, T_A16),
    SFP("sse-fp-add", "hsubps", H3, 1, 0xf2, 0x7d, F_RM, I_NONE, FV_PS, 16, T_A16),
    SFP("sse-fp-add", "hsubpd", H3, 1, 0x66, 0x7d, F_RM, I_NONE, FV_PD, 16, T_A16),
    SF4("sse-fp-mul", "mul", 0x59, H0),
    SF4("sse-fp-mul", "div", 0x5e, H0),
    SFP("sse-fp-mul", "dpps", H41, 3, 0x66, 0x40, F_RM, I_8, FV_PS, 16, T_A16),
    SFP("sse-fp-mul", "dppd", H41, 3, 0x66, 0x41, F_RM, I_8, FV_PD, 16, T_A16),
    SF4("sse-fp-minmax", "min", 0x5d, H0),
    SF4("sse-fp-minmax", "max", 0x5f, H0),
    SF4("sse-fp-sqrt", "sqrt", 0x51, H0),
    SFP("sse-fp-rcp", "rsqrtps", H0, 1, 0x00, 0x52, F_RM, I_NONE, FV_PS, 16, T_A16),
    SFP("sse-fp-rcp", "rsqrtss", H0, 1, 0xf3, 0x52, F_RM, I_NONE, FV_F32, 4, 0),
    SFP("sse-fp-rcp", "rcpps", H0, 1, 0x00, 0x53, F_RM, I_NONE, FV_PS, 16, T_A16),
    SFP("sse-fp-rcp", "rcpss", H0, 1, 0xf3, 0x53, F_RM, I_NONE, FV_F32, 4, 0),
    SFP("sse-fp-cmp", "cmpps", H0, 1, 0x00, 0xc2, F_RM, I_8, FV_PS, 16, T_A16),
    SFP("sse-fp-cmp", "cmppd", H0, 1, 0x66, 0xc2, F_RM, I_8, FV_PD, 16, T_A16),
    SFP("sse-fp-cmp", "cmpss", H0, 1, 0xf3, 0xc2, F_RM, I_8, FV_F32, 4, 0),
    SFP("sse-fp-cmp", "cmpsd", H0, 1, 0xf2, 0xc2, F_RM, I_8, FV_F64, 8, 0),
    SFP("sse-fp-cmp", "ucomiss", H0, 1, 0x00, 0x2e, F_RM, I_NONE, FV_F32, 4, 0),
    SFP("sse-fp-cmp", "comiss", H0, 1, 0x00, 0x2f, F_RM, I_NONE, FV_F32, 4, 0),
    SFP("sse-fp-cmp", "ucomisd", H0, 1, 0x66, 0x2e, F_RM, I_NONE, FV_F64, 8, 0),
    SFP("sse-fp-cmp", "comisd", H0, 1, 0x66, 0x2f, F_RM, I_NONE, FV_F64, 8, 0),
    SFP("sse-fp-cvt", "cvtps2pd", H0, 1, 0x00, 0x5a, F_RM, I_NONE, FV_PS, 8, 0),
    SFP("sse-fp-cvt", "cvtpd2ps", H0, 1, 0x66, 0x5a, F_RM, I_NONE, FV_PD, 16, T_A16),
    SFP("sse-fp-cvt", "cvtss2sd", H0, 1, 0xf3, 0x5a, F_RM, I_NONE, FV_F32, 4, 0),
    SFP("sse-fp-cvt", "cvtsd2ss", H0, 1, 0xf2, 0x5a, F_RM, I_NONE, FV_F64, 8, 0),
    SFP("sse-fp-cvt", "cvtdq2ps", H0, 1, 0x00, 0x5b, F_RM, I_NONE, FV_INT, 16, T_A16),
    SFP("sse-fp-cvt", "cvtps2dq", H0, 1, 0x66, 0x5b, F_RM, I_NONE, FV_PS, 16, T_A16),
    SFP("sse-fp-cvt", "cvttps2dq", H0, 1, 0xf3, 0x5b, F_RM, I_NONE, FV_PS, 16, T_A16),
    SFP("sse-fp-cvt", "cvtdq2pd", H0, 1, 0xf3, 0xe6, F_RM, I_NONE, FV_INT, 8, 0),
    SFP("sse-fp-cvt", "cvtpd2dq", H0, 1, 0xf2, 0xe6, F_RM, I_NONE, FV_PD, 16, T_A16),
    SFP("sse-fp-cvt", "cvttpd2dq", H0, 1, 0x66, 0xe6, F_RM, I_NONE, FV_PD, 16, T_A16),
#define SFW(pfx, op, fv, m, d) \
    XV("sse-fp-cvtsi", SSE, d, NSF, H0, FPK_SSE, Z3264, 1, pfx, op, -1, F_RM, I_NONE, \
       K_PLAIN, fv, m, 0)
    SFW(0xf3, 0x2a, FV_INT, 0, "cvtsi2ss xmm, r/m"),
    SFW(0xf2, 0x2a, FV_INT, 0, "cvtsi2sd xmm, r/m"),
    SFW(0xf3, 0x2d, FV_F32, 4, "cvtss2si r, xmm/m32"),
    SFW(0xf3, 0x2c, FV_F32, 4, "cvttss2si r, xmm/m32"),
    SFW(0xf2, 0x2d, FV_F64, 8, "cvtsd2si r, xmm/m64"),
    SFW(0xf2, 0x2c, FV_F64, 8, "cvttsd2si r, xmm/m64"),
    SFP("sse-cvt-mmx", "cvtpi2ps xmm, mm/m64", H0, 1, 0x00, 0x2a, F_RM, I_NONE, FV_INT, 8, 0),
    SFP("sse-cvt-mmx", "cvtps2pi mm, xmm/m64", H0, 1, 0x00, 0x2d, F_RM, I_NONE, FV_PS, 8, 0),
    SFP("sse-cvt-mmx", "cvttps2pi mm, xmm/m64", H0, 1, 0x00, 0x2c, F_RM, I_NONE, FV_PS, 8, 0),
    SFP("sse-cvt-mmx", "cvtpi2pd xmm, mm/m64", H0, 1, 0x66, 0x2a, F_RM, I_NONE, FV_INT, 8, 0),
    SFP("sse-cvt-mmx", "cvtpd2pi mm, xmm/m128", H0, 1, 0x66, 0x2d, F_RM, I_NONE, FV_PD, 16,
       T_A16),
    SFP("sse-cvt-mmx", "cvttpd2pi mm, xmm/m128", H0, 1, 0x66, 0x2c, F_RM, I_NONE, FV_PD, 16,
       T_A16),
    SFP("sse41-round", "roundps", H41, 3, 0x66, 0x08, F_RM, I_8, FV_PS, 16, T_A16),
    SFP("sse41-round", "roundpd", H41, 3, 0x66, 0x09, F_RM, I_8, FV_PD, 16, T_A16),
    SFP("sse41-round", "roundss", H41, 3, 0x66, 0x0a, F_RM, I_8, FV_F32, 4, 0),
    SFP("sse41-round", "roundsd", H41, 3, 0x66, 0x0b, F_RM, I_8, FV_F64, 8, 0),
};

/* ---- random numbers: xoroshiro128+ seeded through splitmix64 ---- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void diff_rng_seed(struct diff_rng *r, uint64_t seed)
{
    r->s[0] = splitmix(&seed);
    r->s[1] = splitmix(&seed);
}

uint64_t diff_rng_next(struct diff_rng *r)
{
    uint64_t s0 = r->s[0], s1 = r->s[1], res = s0 + s1;

    s1 ^= s0;
    r->s[0] = ((s0 << 24) | (s0 >> 40)) ^ s1 ^ (s1 << 16);
    r->s[1] = (s1 << 37) | (s1 >> 27);
    return res;
}

static unsigned rnd(struct diff_rng *r, unsigned n)
{
    return n ? (unsigned)(diff_rng_next(r) % n) : 0;
}

void diff_fill_data(const struct diff_case *c, uint8_t *data)
{
    uint64_t x = c->mem_seed;

    for (unsigned i = 0; i < DIFF_DATA_SIZE; i += 8) {
        uint64_t v = splitmix(&x);

        memcpy(data + i, &v, 8);
    }
    for (unsigned i = 0; i < c->npatch && i < DIFF_MAX_PATCH; i++) {
        const struct diff_patch *p = &c->patch[i];
        unsigned len = p->len <= sizeof(p->bytes) ? p->len : sizeof(p->bytes);

        if (p->off < DIFF_DATA_SIZE && len <= DIFF_DATA_SIZE - p->off)
            memcpy(data + p->off, p->bytes, len);
    }
    if (c->fx_img && c->fx_off < DIFF_DATA_SIZE) {
        uint8_t fx[512];
        unsigned n = DIFF_DATA_SIZE - c->fx_off < 512 ? DIFF_DATA_SIZE - c->fx_off : 512;

        diff_fx_image(&c->fx, fx);
        memcpy(data + c->fx_off, fx, n);
    }
}

/* ---- values ---- */

static const uint64_t edges[] = {
    0, 1, 2, 3, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff,
    0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x100000000ull,
    0x7fffffffffffffffull, 0x8000000000000000ull, 0x8000000000000001ull,
    0xfffffffffffffffeull, 0xffffffffffffffffull, 0x5555555555555555ull,
    0xaaaaaaaaaaaaaaaaull, 0x00ff00ff00ff00ffull,
};
#define NEDGES (sizeof(edges) / sizeof(edges[0]))

static const uint8_t counts[] = {
    0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255,
};

/* A register or operand value: random, an edge value, or an edge value
 * at one of the operand widths with random bits above it. */
static uint64_t rand_val(struct diff_rng *r)
{
    uint64_t v = diff_rng_next(r);
    unsigned w;

    switch (rnd(r, 12)) {
    case 0:
    case 1:
        return edges[rnd(r, NEDGES)];
    case 2:
        w = 8u << rnd(r, 3);
        return (v << w) | (edges[rnd(r, NEDGES)] & ((1ull << w) - 1));
    case 3:
        return rnd(r, 32);
    case 4:
        return (uint64_t)0 - rnd(r, 32);
    case 5:
        w = 8u << rnd(r, 4);    /* 8, 16, 32, 64 */
        return (w == 64 ? 0x8000000000000000ull : 1ull << (w - 1)) + rnd(r, 5) - 2;
    case 6:
        return v & ((2ull << rnd(r, 64)) - 1);
    default:
        return v;
    }
}

static uint64_t rand_count(struct diff_rng *r)
{
    return rnd(r, 4) ? counts[rnd(r, sizeof(counts))] : rnd(r, 256);
}

/* ---- one case being made ---- */

struct gen {
    const struct diff_tmpl *t;
    struct diff_case *c;
    struct diff_rng *r;
    bool m64, m16;
    uint64_t dbase, cbase;  /* 16-bit mode: the LDT segments' bases (DS/ES/SS
                             * at the data area, CS at the code page) */
    uint64_t sp_lin;        /* linear address of the stack top set up */
    unsigned nregs;         /* 16 in 64-bit mode, 8 in 32-bit mode */
    unsigned osz, asz;
    unsigned reg, rm, vvvv;
    bool mem, rex_on, a16;
    uint64_t ea;            /* linear address of the memory operand */
    uint16_t pinned;        /* registers the memory operand must not use */
    uint8_t rexw, rexr, rexx, rexb;
    uint8_t modrm, sib;
    bool has_modrm, has_sib, riprel;
    int64_t disp;
    unsigned ndisp;
    uint8_t imm[8];
    unsigned nimm;
    unsigned rel_pos, rel_size;     /* where the branch displacement goes */
    unsigned disp_pos;
    uint8_t cc;
};

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* Register operand reg of size bytes; AH..BH when size 1 without REX. */
static void set_reg(struct gen *g, unsigned reg, unsigned size, uint64_t v)
{
    uint64_t *p;
    unsigned shift = 0;

    if (size == 1 && !g->rex_on && reg >= 4 && reg < 8) {
        reg -= 4;
        shift = 8;
    }
    p = &g->c->regs[reg & 15];
    *p = (*p & ~(size_mask(size) << shift)) | ((v & size_mask(size)) << shift);
}

static void add_patch(struct gen *g, uint64_t addr, const void *bytes, unsigned len)
{
    struct diff_patch *p;

    if (g->c->npatch >= DIFF_MAX_PATCH || len > sizeof(p->bytes) ||
        addr < DIFF_DATA || addr - DIFF_DATA > DIFF_DATA_SIZE - len)
        return;
    p = &g->c->patch[g->c->npatch++];
    p->off = (uint16_t)(addr - DIFF_DATA);
    p->len = (uint8_t)len;
    memcpy(p->bytes, bytes, len);
}

static void patch_val(struct gen *g, uint64_t addr, uint64_t v, unsigned size)
{
    add_patch(g, addr, &v, size);
}

/* Sets the r/m operand: its register, or the memory it points to. */
static void set_rm(struct gen *g, unsigned size, uint64_t v)
{
    if (g->mem)
        patch_val(g, g->ea, v, size);
    else
        set_reg(g, g->rm, size, v);
}

static unsigned pick_free_reg(struct gen *g, uint16_t avoid)
{
    unsigned r;

    do {
        r = rnd(g->r, g->nregs);
    } while ((avoid >> r) & 1);
    return r;
}

/* A stack pointer inside the data area; now and then at an edge, so that
 * a push or pop runs into the guard page. */
static uint64_t stack_addr(struct gen *g)
{
    switch (rnd(g->r, 32)) {
    case 0:
        return DIFF_DATA + rnd(g->r, 16);
    case 1:
        return DIFF_DATA + DIFF_DATA_SIZE - rnd(g->r, 16);
    default: {
        uint64_t a = DIFF_DATA + 0x1000 + 8 * rnd(g->r, 0x100) - 0x400;

        return rnd(g->r, 16) ? a : a + rnd(g->r, 8);
    }
    }
}

/* A branch target: in the int3 page after or before the instruction, in
 * the (non-executable) data area, or anywhere. */
/* Linux's vsyscall page, which the native child has mapped (int3 padding
 * around its entry points) and the software side has not: a branch there
 * would compare the host's kernel, not the CPU. */
#define VSYSCALL_PAGE 0xffffffffff600000ull

static bool host_only_page(uint64_t t)
{
    return (t & ~0xfffull) == VSYSCALL_PAGE;
}

static uint64_t branch_target(struct gen *g, uint64_t next)
{
    uint64_t t;

    switch (rnd(g->r, 10)) {
    case 0:
    case 1:
        t = DIFF_CODE + rnd(g->r, DIFF_INSN_OFF);
        break;
    case 2:
        t = DIFF_DATA + rnd(g->r, DIFF_DATA_SIZE);
        break;
    case 3:
        t = rand_val(g->r);
        break;
    default:
        t = next + rnd(g->r, 0x700);
        break;
    }
    if (!g->m64)
        t &= 0xffffffffu;
    if ((t >= DIFF_INSN_ADDR && t < next) || host_only_page(t))
        t = next;
    if (g->m16) {
        /* An offset in CS (based at the code page), IP-sized. */
        t -= g->cbase;
        t &= g->osz == 4 ? 0xffffffffu : 0xffffu;
    }
    return t;
}

/* What a pointer register holds for a linear address in the data area:
 * the offset from DS/SS; in 16-bit mode the bits above the address size
 * are random (SDM vol. 1, 3.3.7: they do not take part). */
static uint64_t ptr_val(struct gen *g, uint64_t lin, unsigned asz)
{
    uint64_t off = lin - g->dbase;

    if (asz >= 8)
        return off;
    if (asz == 4)
        return (diff_rng_next(g->r) & ~0xffffffffull) | (off & 0xffffffffull);
    return (diff_rng_next(g->r) & ~0xffffull) | (off & 0xffff);
}

/* The stack pointer for a stack the size of the mode's SS (16-bit SS in
 * 16-bit mode); remembers the linear top for patches. */
static uint64_t set_sp(struct gen *g)
{
    g->sp_lin = stack_addr(g);
    /* In 16-bit mode the bits above SP are random but small: a far call
     * into 64-bit mode pushes at the whole RSP (on AMD), which must not hit
     * anything the child has mapped (ASan's shadow starts at 0x7fff8000). */
    if (g->m16)
        return ((uint64_t)rnd(g->r, 0x0fff) << 16) | ((g->sp_lin - g->dbase) & 0xffff);
    return g->sp_lin;
}

/*
 * The memory operand: picks the effective address first, then an
 * addressing form, then solves for the base register (SDM vol. 2, 2.1.5
 * and 2.2.1).  K_NOACC (lea) takes any values instead.
 */
static void plan_mem16(struct gen *g)
{
    /* 16-bit addressing (SDM vol. 2, table 2-1): [bx+si] ... [bx].  In
     * 32-bit mode (67) the address is below 64 KiB, so an access faults,
     * which checks the sum in CR2; in 16-bit mode it is solved for like
     * the others. */
    static const int8_t r1[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };   /* bx bx bp bp si di bp bx */
    static const int8_t r2[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };
    unsigned mod = rnd(g->r, 3), rm = rnd(g->r, 8);

    g->a16 = true;
    if (g->m16 && g->t->kind != K_NOACC) {
        uint64_t off;
        int tries = 0;

        /* A form whose registers are free. */
        while ((((g->pinned >> r1[rm]) & 1) || (r2[rm] >= 0 && ((g->pinned >> r2[rm]) & 1)))
               && tries++ < 32)
            rm = rnd(g->r, 8);
        if (tries >= 32) {
            mod = 0;
            rm = 6;
        }
        off = g->ea - g->dbase;
        g->modrm = (uint8_t)((mod << 6) | ((g->reg & 7) << 3) | rm);
        if (mod == 0 && rm == 6) {
            g->ndisp = 2;
            g->disp = (int16_t)off;
            return;
        }
        g->ndisp = mod == 1 ? 1 : mod == 2 ? 2 : 0;
        g->disp = g->ndisp == 1 ? (int8_t)diff_rng_next(g->r)
                                : g->ndisp == 2 ? (int16_t)diff_rng_next(g->r) : 0;
        {
            uint64_t other = 0;

            if (r2[rm] >= 0) {
                other = rand_val(g->r);
                g->c->regs[r2[rm]] = other;
            }
            g->c->regs[r1[rm]] = (g->c->regs[r1[rm]] & ~0xffffull) |
                                 ((off - (uint64_t)g->disp - other) & 0xffff);
        }
        return;
    }
    g->modrm = (uint8_t)((mod << 6) | ((g->reg & 7) << 3) | rm);
    if (mod == 0 && rm == 6) {
        g->ndisp = 2;
        g->disp = (int16_t)diff_rng_next(g->r);
    } else {
        g->ndisp = mod == 1 ? 1 : mod == 2 ? 2 : 0;
        g->disp = g->ndisp == 1 ? (int8_t)diff_rng_next(g->r)
                                : (int16_t)diff_rng_next(g->r);
    }
}

static void plan_mem(struct gen *g, unsigned acc)
{
    const struct diff_tmpl *t = g->t;
    struct diff_rng *r = g->r;
    bool noacc = t->kind == K_NOACC;
    uint64_t off, base_val, idx_val = 0, amask;
    unsigned base, index = 4, scale = 0, style, mod;
    bool has_base = true, has_index = false;

    g->mem = true;
    g->has_modrm = true;
    amask = g->asz == 4 ? 0xffffffffull : ~0ull;
    switch (rnd(r, 64)) {
    case 0:
        off = DIFF_DATA_SIZE - 1 - rnd(r, acc);
        break;
    case 1:
        off = (uint64_t)0 - 1 - rnd(r, acc);
        break;
    default:
        off = 256 + rnd(r, DIFF_DATA_SIZE - 512 - acc);
        break;
    }
    if ((t->flags & T_A16) && rnd(r, 16))
        off &= ~15ull;
    g->ea = DIFF_DATA + off;
    if (g->m64 && g->asz == 8 && rnd(r, 64) == 0) {
        /* Non-canonical: #GP, or #SS when the base is rSP/rBP (SDM vol. 3,
         * 6.15 "Interrupt 12" and "Interrupt 13"). */
        static const uint64_t nc[] = { 0x0000800000000000ull, 0x8000000000000000ull,
                                       0xffff7ffffffffff8ull, 0x00007ffffffffffcull };

        g->ea = nc[rnd(r, 4)] + rnd(r, 8);
    }
    if (g->asz == 2) {
        plan_mem16(g);
        return;
    }

    style = rnd(r, 8);
    if (style == 7 && !g->m64)
        style = 6;
    mod = rnd(r, 3);
    if (style <= 2) {
        /* [base + disp]: rm = base, no SIB */
        do {
            base = pick_free_reg(g, g->pinned);
        } while ((base & 7) == 4 || (mod == 0 && (base & 7) == 5));
    } else if (style <= 5) {
        /* SIB: [base + index * scale + disp] */
        do {
            base = pick_free_reg(g, g->pinned);
        } while (mod == 0 && (base & 7) == 5);
        if (rnd(r, 4)) {
            do {
                index = pick_free_reg(g, g->pinned | (1u << base));
            } while (index == 4);
            has_index = true;
        }
        scale = rnd(r, 4);
        g->has_sib = true;
    } else if (style == 6) {
        /* SIB without base: [index * scale + disp32] or [disp32] */
        has_base = false;
        base = 5;
        mod = 0;
        if (rnd(r, 2)) {
            do {
                index = pick_free_reg(g, g->pinned);
            } while (index == 4);
            has_index = true;
        }
        scale = rnd(r, 4);
        g->has_sib = g->m64 || rnd(r, 2);
        if (!g->has_sib && !has_index) {
            /* 32-bit mode: mod 00 rm 101 is a plain disp32 */
        } else {
            g->has_sib = true;
        }
    } else {
        /* RIP-relative: 64-bit mode only; the disp is fixed up at the end */
        has_base = false;
        base = 5;
        mod = 0;
        g->riprel = true;
    }

    if (has_index) {
        idx_val = noacc || has_base ? rand_val(r) : rnd(r, 0x10000);
        if (!has_base && g->asz == 8 && idx_val > 0x10000)
            idx_val &= 0xffff;
        g->c->regs[index] = idx_val;
    }
    if (!has_base) {
        g->ndisp = 4;
        g->disp = (int32_t)(uint32_t)(g->ea - g->dbase - (idx_val << scale));
    } else if (mod == 1) {
        g->ndisp = 1;
        g->disp = (int8_t)diff_rng_next(r);
    } else if (mod == 2) {
        g->ndisp = 4;
        g->disp = (int32_t)diff_rng_next(r);
    } else {
        g->ndisp = 0;
        g->disp = 0;
    }
    if (has_base) {
        base_val = (g->ea - g->dbase - (uint64_t)g->disp -
                    (has_index ? idx_val << scale : 0)) & amask;
        if (g->asz == 4)
            base_val |= diff_rng_next(r) & ~amask;
        g->c->regs[base] = noacc ? rand_val(r) : base_val;
    }
    if (noacc && !has_base && !g->riprel)
        g->disp = (int32_t)diff_rng_next(r);

    g->rm = g->has_sib ? 4 : (base & 7) | (g->m64 ? (base & 8) : 0);
    if (g->has_sib) {
        g->sib = (uint8_t)((scale << 6) | ((index & 7) << 3) | (base & 7));
        g->rexx = (uint8_t)(index >> 3);
        g->rexb = (uint8_t)(base >> 3);
    } else {
        g->rexb = (uint8_t)(base >> 3);
    }
    g->modrm = (uint8_t)((mod << 6) | ((g->reg & 7) << 3) | (g->has_sib ? 4 : (base & 7)));
}

static void put_imm(struct gen *g, uint64_t v, unsigned n)
{
    memcpy(g->imm + g->nimm, &v, n);
    g->nimm += n;
}

static void choose_imm(struct gen *g)
{
    struct diff_rng *r = g->r;

    switch (g->t->imm) {
    case I_8:
        put_imm(g, rand_val(r), 1);
        break;
    case I_16:
        put_imm(g, rnd(r, 4) ? rnd(r, 64) : rand_val(r), 2);
        break;
    case I_Z:
        put_imm(g, rand_val(r), g->osz == 2 ? 2 : 4);
        break;
    case I_V:
        put_imm(g, rand_val(r), g->osz == 1 ? 1 : g->osz);
        break;
    case I_ENTER: {
        static const uint8_t levels[] = { 0, 0, 1, 2, 3, 4, 31, 32, 33, 255 };

        put_imm(g, rnd(r, 4) ? rnd(r, 0x200) : rand_val(r), 2);
        put_imm(g, levels[rnd(r, sizeof(levels))], 1);
        break;
    }
    case I_COUNT:
        put_imm(g, rand_count(r), 1);
        break;
    case I_FAR: {
        uint64_t off = rnd(r, 8) ? DIFF_CODE + rnd(r, DIFF_CODE_SIZE) : rand_val(r);

        if (off >= DIFF_INSN_ADDR && off < DIFF_INSN_ADDR + 32)
            off += 32;
        put_imm(g, off - g->cbase, g->osz == 2 ? 2 : 4);
        put_imm(g, far_sels[rnd(r, sizeof(far_sels) / sizeof(far_sels[0]))], 2);
        break;
    }
    default:
        break;
    }
}

/* The offset of a far transfer: mostly the int3 page (away from the
 * instruction), now and then anything. */
static uint64_t far_offset(struct gen *g)
{
    uint64_t off = rnd(g->r, 8) ? DIFF_CODE + rnd(g->r, DIFF_CODE_SIZE) : rand_val(g->r);

    if (off >= DIFF_INSN_ADDR && off < DIFF_INSN_ADDR + 32)
        off += 32;
    return off - g->cbase;
}

/*
 * x87/MMX/SSE operands: the memory operand gets values of the template's
 * type, and now and then the other operand is made equal to it (in whole
 * or in some lanes), so that compares, min/max and subtractions meet
 * equal values as often as they matter.
 */
static void setup_fp_operands(struct gen *g)
{
    const struct diff_tmpl *t = g->t;
    struct diff_case *c = g->c;
    struct diff_rng *r = g->r;
    struct diff_fpu *f = &c->fpu;
    unsigned top = (f->fsw >> 11) & 7, msz = t->msz ? t->msz : g->osz;
    uint8_t v[64] = { 0 }, *dst = NULL;
    unsigned lane = t->fv == FV_PD || t->fv == FV_F64 ? 8 : 4;

    if (g->mem && t->fv != FV_NONE && msz <= sizeof(v)) {
        diff_fp_fill(r, (enum diff_fpval)t->fv, v, msz);
        add_patch(g, g->ea, v, msz);
    }
    if (t->fpk == FPK_X87) {
        if (g->mem && rnd(r, 4) == 0 &&
            (t->fv == FV_F32 || t->fv == FV_F64 || t->fv == FV_I16 || t->fv == FV_I32 ||
             t->fv == FV_I64))
            diff_fp_to_f80((enum diff_fpval)t->fv, v, &f->st[0].mant, &f->st[0].exp);
        else if (!g->mem && !t->fixrm && rnd(r, 8) == 0)
            f->st[g->rm & 7] = f->st[0];
        return;
    }
    if (rnd(r, 4) || msz > 16)
        return;
    if (t->fpk == FPK_MMX)
        dst = (uint8_t *)&f->st[((g->reg & 7) - top) & 7].mant;
    else
        dst = (uint8_t *)f->xmm[g->reg & 15];
    if (!g->mem) {
        if (t->fpk == FPK_MMX)
            memcpy(v, &f->st[((g->rm & 7) - top) & 7].mant, 8);
        else
            memcpy(v, f->xmm[g->rm & 15], 16);
        msz = t->fpk == FPK_MMX ? 8 : 16;
    }
    if (t->fpk == FPK_MMX && msz > 8)
        msz = 8;
    for (unsigned i = 0; i < msz; i += lane)
        if (rnd(r, 2))
            memcpy(dst + i, v + i, msz - i < lane ? msz - i : lane);
}

/*
 * The bytes of an FNSTENV/FNSAVE/FXSAVE image that are not compared: the
 * last instruction's opcode and pointers (see diff.h).  The x87 image is
 * the 16-bit format in 16-bit mode and the 32-bit one elsewhere, 66
 * swapping them (SDM vol. 1, 8.1.10, figures 8-9 to 8-12).
 */
static void set_fpsave_ignore(struct gen *g, bool had66)
{
    const struct diff_tmpl *t = g->t;
    unsigned start[2] = { 12, 0 }, len[2] = { 16, 0 };

    if (t->map == 1) {
        start[0] = 6, len[0] = 18;      /* FOP, FIP (FCS), FDP (FDS) */
        start[1] = 30, len[1] = 1;      /* MXCSR_MASK bits 16-23 */
    } else if (g->m16 != had66) {
        start[0] = 6, len[0] = 8;       /* 16-bit format: IP, CS|OP, DP, DS */
    }
    if (!g->mem || g->ea < DIFF_DATA || g->ea >= DIFF_DATA + DIFF_DATA_SIZE)
        return;
    for (unsigned i = 0; i < 2; i++) {
        uint64_t off = g->ea - DIFF_DATA + start[i];

        if (!len[i] || off >= DIFF_DATA_SIZE)
            continue;
        g->c->ign_off[i] = (uint16_t)off;
        g->c->ign_len[i] = (uint16_t)(DIFF_DATA_SIZE - off < len[i] ? DIFF_DATA_SIZE - off
                                                                      : len[i]);
    }
}

/* Values for the registers an instruction uses implicitly. */
static void setup_kind(struct gen *g)
{
    struct diff_case *c = g->c;
    struct diff_rng *r = g->r;
    const struct diff_tmpl *t = g->t;
    unsigned osz = g->osz;

    switch (t->kind) {
    case K_CL:
        c->regs[1] = (c->regs[1] & ~0xffull) | rand_count(r);
        break;
    case K_DIV:
    case K_IDIV: {
        /* Half the time, a dividend whose quotient fits (no #DE). */
        uint64_t d, lo, hi;

        if (rnd(r, 2) || (!g->mem && (g->rm == 0 || g->rm == 2 ||
                                      (osz == 1 && g->rm == 4 && !g->rex_on))))
            break;
        d = rand_val(r) & size_mask(osz);
        if (!d)
            d = 1 + rnd(r, 255);
        set_rm(g, osz, d);
        lo = diff_rng_next(r);
        if (t->kind == K_DIV) {
            hi = d > 1 ? diff_rng_next(r) % d : 0;
        } else {
            /* A small quotient magnitude keeps it in range. */
            uint64_t sd = d, q = rnd(r, 64);
            unsigned bits = osz * 8;
            unsigned __int128 prod;

            if (bits < 64 && (sd >> (bits - 1)) & 1)
                sd |= ~size_mask(osz);
            prod = (unsigned __int128)(__int128)(int64_t)sd * (unsigned __int128)q;
            if (rnd(r, 2))
                prod = ~prod + 1;
            lo = (uint64_t)prod;
            hi = (uint64_t)(prod >> bits) & size_mask(osz);
            if (bits < 64)
                lo &= size_mask(osz);
        }
        if (osz == 1) {
            c->regs[0] = (c->regs[0] & ~0xffffull) | ((hi & 0xff) << 8) | (lo & 0xff);
        } else {
            c->regs[0] = (c->regs[0] & ~size_mask(osz)) | (lo & size_mask(osz));
            c->regs[2] = (c->regs[2] & ~size_mask(osz)) | (hi & size_mask(osz));
        }
        break;
    }
    case K_CMPXCHG:
        if (rnd(r, 2)) {
            uint64_t v = rand_val(r);

            set_rm(g, osz, v);
            c->regs[0] = (c->regs[0] & ~size_mask(osz)) | (v & size_mask(osz));
        }
        break;
    case K_CX8:
        if (rnd(r, 2)) {
            unsigned half = osz == 8 ? 8 : 4;
            uint64_t lo = c->regs[0] & size_mask(half), hi = c->regs[2] & size_mask(half);
            uint8_t b[16];

            memcpy(b, &lo, half);
            memcpy(b + half, &hi, half);
            add_patch(g, g->ea, b, 2 * half);
        }
        break;
    case K_STACK:
    case K_CALL:
    case K_CALLIND:
    case K_RET:
        c->regs[4] = set_sp(g);
        if (t->op == OP_POPF) {
            uint64_t f = (diff_rng_next(r) & DIFF_FLAGS_MASK) | DIFF_FLAGS_FIXED;

            patch_val(g, g->sp_lin, f, osz);
        }
        break;
    case K_ENTER:
    case K_LEAVE:
        c->regs[4] = set_sp(g);
        c->regs[5] = rnd(r, 16) ? DIFF_DATA + 0x1000 + 8 * rnd(r, 0x100) - 0x200
                                : stack_addr(g);
        if (g->m16)
            c->regs[5] = ptr_val(g, c->regs[5], 2);
        break;
    case K_LOOP: {
        static const uint64_t lc[] = { 0, 1, 2, 3, 0x100000000ull, 0x100000001ull,
                                       0xffffffffull, ~0ull, 0x10000, 0x10001 };

        c->regs[1] = rnd(r, 2) ? lc[rnd(r, sizeof(lc) / sizeof(lc[0]))] : rand_val(r);
        break;
    }
    case K_BTREG:
        /* A bit offset that reaches a little before or after the operand
         * (SDM vol. 2, BT: the register offset addresses any bit). */
        if (g->mem && rnd(r, 4))
            set_reg(g, g->reg, osz, (uint64_t)((int64_t)rnd(r, 2048) - 1024));
        else if (g->mem)
            /* Far: only edge values, whose bytes land in nothing the
             * child maps (unmapped low memory or non-canonical), never a
             * random address that might be, say, ASan's shadow. */
            set_reg(g, g->reg, osz, edges[rnd(r, NEDGES)]);
        break;
    case K_SREG:
        set_rm(g, 2, seg_sels[rnd(r, sizeof(seg_sels) / sizeof(seg_sels[0]))]);
        break;
    case K_POPSREG:
    case K_FARRET: {
        uint64_t off = far_offset(g);
        unsigned sz = g->osz == 1 ? 4 : g->osz;

        c->regs[4] = set_sp(g);
        if (t->kind == K_POPSREG) {
            patch_val(g, g->sp_lin, seg_sels[rnd(r, sizeof(seg_sels) / sizeof(seg_sels[0]))]
                                     | (diff_rng_next(r) & ~0xffffull), sz);
        } else {
            uint8_t b[16];
            uint64_t sel = far_sels[rnd(r, sizeof(far_sels) / sizeof(far_sels[0]))]
                           | (rnd(r, 4) ? 0 : diff_rng_next(r) & ~0xffffull);

            memcpy(b, &off, sz);
            memcpy(b + sz, &sel, sz);
            add_patch(g, g->sp_lin, b, 2 * sz);
        }
        break;
    }
    case K_LSEG:
    case K_FARIND: {
        /* m16:16, m16:32 or m16:64: the offset, then the selector */
        uint64_t off = t->kind == K_FARIND ? far_offset(g) : rand_val(r);
        const uint16_t *sels = t->kind == K_FARIND ? far_sels : seg_sels;
        unsigned nsel = t->kind == K_FARIND ? sizeof(far_sels) / sizeof(far_sels[0])
                                            : sizeof(seg_sels) / sizeof(seg_sels[0]);
        uint16_t sel = sels[rnd(r, nsel)];
        uint8_t b[10];

        memcpy(b, &off, g->osz);
        memcpy(b + g->osz, &sel, 2);
        if (g->mem)
            add_patch(g, g->ea, b, g->osz + 2);
        if (t->kind == K_FARIND && t->ext == 3)
            c->regs[4] = set_sp(g);
        break;
    }
    case K_PCMPESTR: {
        /* Explicit lengths: mostly within the 16 bytes (or 8 words),
         * now and then beyond or negative (SDM vol. 2, 4.1.3: the
         * absolute value saturates). */
        static const int64_t lens[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, -1, -8, -16, -17,
                                        0x7fffffff, (int64_t)0x80000000ull };

        for (unsigned i = 0; i < 2; i++) {
            uint64_t v = rnd(r, 4) ? (uint64_t)lens[rnd(r, sizeof(lens) / sizeof(lens[0]))]
                                   : rand_val(r);

            c->regs[i ? 2 : 0] = (diff_rng_next(r) & ~0xffffffffull) | (v & 0xffffffffull);
        }
        break;
    }
    case K_FXRSTOR:
        /* A whole image, valid but for a reserved MXCSR bit now and then
         * (#GP, SDM vol. 2, FXRSTOR). */
        if (g->mem && g->ea >= DIFF_DATA && g->ea < DIFF_DATA + DIFF_DATA_SIZE) {
            c->fx_img = true;
            c->fx_off = (uint16_t)(g->ea - DIFF_DATA);
            diff_fp_state(r, rnd(r, 2) ? FPK_X87 : FPK_MMX, FV_F80, &c->fx);
            if (rnd(r, 16) == 0)
                c->fx.mxcsr |= 1u << (18 + rnd(r, 14));
        }
        break;
    case K_MASKMOV: {
        /* The store goes to DS:rDI (SDM vol. 2, MASKMOVDQU). */
        unsigned span = t->msz ? t->msz : 16;
        uint64_t a = DIFF_DATA + rnd(r, DIFF_DATA_SIZE - span);

        if (rnd(r, 16) == 0)
            a = DIFF_DATA + DIFF_DATA_SIZE - rnd(r, span);
        c->regs[7] = ptr_val(g, a, g->asz);
        break;
    }
    case K_FARPTR:
        /* A far call pushes: a stack in the data area (a wild ESP makes
         * the host's far call into 64-bit mode hang the child). */
        if (t->op == OP_CALL_FAR)
            c->regs[4] = set_sp(g);
        break;
    case K_XLAT:
        c->regs[3] = ptr_val(g, DIFF_DATA + rnd(r, DIFF_DATA_SIZE - 256), g->asz);
        break;
    default:
        break;
    }
}

/* String operands: rCX small, rSI/rDI placed so the whole run stays inside
 * the data area (now and then running off its end); cmps/scas get equal
 * runs so that repe/repne stop somewhere in the middle. */
static void setup_string(struct gen *g, uint8_t rep)
{
    struct diff_case *c = g->c;
    struct diff_rng *r = g->r;
    unsigned es = g->osz, op = g->t->op;
    uint64_t n = 1, span, lo_src, lo_dst;
    uint64_t amask = g->asz == 2 ? 0xffffull : g->asz == 4 ? 0xffffffffull : ~0ull;
    bool df = (c->rflags & DIFF_FLAGS_DF) != 0;
    static const uint8_t nc[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 16 };

    if (rep) {
        n = rnd(r, 3) ? nc[rnd(r, sizeof(nc))] : rnd(r, 40);
        c->regs[1] = n | (g->asz < 8 ? diff_rng_next(r) & ~amask : 0);
    }
    span = (n ? n : 1) * es;
    for (unsigned which = 0; which < 2; which++) {
        uint64_t a;

        if (rnd(r, 16) == 0)
            a = DIFF_DATA + (rnd(r, 2) ? DIFF_DATA_SIZE - rnd(r, 24) : rnd(r, 24));
        else if (df)
            a = DIFF_DATA + span - es + rnd(r, (unsigned)(DIFF_DATA_SIZE - span));
        else
            a = DIFF_DATA + rnd(r, (unsigned)(DIFF_DATA_SIZE - span));
        c->regs[which ? 7 : 6] = ptr_val(g, a, g->asz);
    }
    lo_src = g->dbase + (df ? (c->regs[6] & amask) - (span - es) : c->regs[6] & amask);
    lo_dst = g->dbase + (df ? (c->regs[7] & amask) - (span - es) : c->regs[7] & amask);
    if (span > 64 || rnd(r, 4) == 0)
        return;
    if (op == OP_CMPS) {
        uint8_t b[64];

        for (unsigned i = 0; i < span; i += 8) {
            uint64_t v = diff_rng_next(r);

            memcpy(b + i, &v, span - i < 8 ? span - i : 8);
        }
        add_patch(g, lo_src, b, (unsigned)span);
        if (rnd(r, 4))
            b[rnd(r, (unsigned)span)] ^= (uint8_t)(1 + rnd(r, 255));
        add_patch(g, lo_dst, b, (unsigned)span);
    } else if (op == OP_SCAS) {
        uint8_t b[64];
        uint64_t a = c->regs[0];
        unsigned k = rnd(r, (unsigned)(span / es) + 1);

        for (unsigned i = 0; i < span / es; i++) {
            bool eq = rep == 0xF2 ? i == k : i != k;
            uint64_t v = eq ? a : diff_rng_next(r);

            memcpy(b + i * es, &v, es);
        }
        add_patch(g, lo_dst, b, (unsigned)span);
    }
}

static void fixup_rel(struct gen *g, uint8_t *bytes, unsigned len)
{
    int64_t rel;

    if (g->rel_size == 1) {
        do {
            rel = (int8_t)diff_rng_next(g->r);
        } while (rel < 0 && rel >= -(int64_t)len);
        bytes[g->rel_pos] = (uint8_t)rel;
    } else if (g->rel_size == 2) {
        do {
            rel = rnd(g->r, 4) ? (int64_t)rnd(g->r, 0x700) - (int64_t)rnd(g->r, 0x7f0)
                               : (int16_t)diff_rng_next(g->r);
        } while (rel < 0 && rel >= -(int64_t)len);
        uint16_t v = (uint16_t)rel;

        memcpy(bytes + g->rel_pos, &v, 2);
    } else {
        if (rnd(g->r, 4))
            rel = (int64_t)rnd(g->r, 0x700) - (int64_t)rnd(g->r, 0x7f0);
        else
            rel = (int32_t)diff_rng_next(g->r);
        if (rel < 0 && rel >= -(int64_t)len)
            rel = 0;
        if (g->m64 && host_only_page(DIFF_INSN_ADDR + len + (uint64_t)rel))
            rel = 0;
        uint32_t v = (uint32_t)rel;

        memcpy(bytes + g->rel_pos, &v, 4);
    }
}

/* ---- putting a case together ---- */

static unsigned pick_size(struct gen *g)
{
    unsigned sizes = g->t->sizes, choice[4], n = 0;

    /* x87/SSE: the operand size only picks a GPR operand's width (movd
     * or movq, cvtsi2ss from 32 or 64 bits), by REX.W, in every mode. */
    if (g->t->fpk)
        return g->m64 && (sizes & Z64) && rnd(g->r, 2) ? 8 : 4;
    /* 16-bit mode: what is the default elsewhere (32, or 64 for near
     * branches) is 16 here, and 32 takes a 66 prefix. */
    if (g->m16 && (sizes == Z32 || sizes == Z64))
        sizes = Z16;
    if (!g->m64 && (sizes & Z64))
        sizes = (sizes & ~Z64) | Z32;
    for (unsigned i = 0; i < 4; i++)
        if (sizes & (1u << i))
            choice[n++] = 1u << i;
    return n ? choice[rnd(g->r, n)] : 4;
}

/* Makes one case; returns its length, which may be too long for
 * c->bytes, in which case the caller tries again. */
static unsigned gen_once(unsigned ti, struct diff_rng *r, const struct diff_gen_opts *o,
                         struct diff_case *c)
{
    const struct diff_tmpl *t = &tmpls[ti < diff_tmpl_count() ? ti : 0];
    struct gen g = { .t = t, .c = c, .r = r };
    uint8_t b[48];
    unsigned n = 0, opcode_pos;
    uint8_t rep = 0, vexpp;
    unsigned first_len;
    bool x87_66 = false;

    memset(c, 0, sizeof(*c));
    c->tmpl = (uint16_t)ti;
    {
        /* 64-bit mode most, then 32-bit, then 16-bit. */
        unsigned modes = t->modes & (o->mode16 ? MB : (M64 | M32)), pick;

        if (!modes)
            modes = t->modes & (M64 | M32);
        do {
            pick = rnd(r, 20);
            pick = pick < 12 ? M64 : pick < 17 ? M32 : M16;
        } while (!(modes & pick));
        g.m64 = pick == M64;
        g.m16 = pick == M16;
    }
    c->mode = g.m64 ? DIFF_MODE64 : g.m16 ? DIFF_MODE16 : DIFF_MODE32;
    if (g.m16) {
        g.dbase = DIFF_DATA;
        g.cbase = DIFF_CODE;
    }
    g.nregs = g.m64 ? 16 : 8;
    for (unsigned i = 0; i < 16; i++)
        c->regs[i] = rand_val(r);
    c->rflags = diff_rng_next(r) & DIFF_FLAGS_ARITH;
    if (rnd(r, t->kind == K_STR ? 2 : 4) == 0)
        c->rflags |= DIFF_FLAGS_DF;
    c->mem_seed = diff_rng_next(r);
    if (t->fpk) {
        c->fpu_on = true;
        diff_fp_state(r, t->fpk, t->fv, &c->fpu);
    }
    g.osz = pick_size(&g);
    g.asz = g.m64 ? 8 : g.m16 ? 2 : 4;
    if (rnd(r, 10) == 0 && t->kind != K_STR)
        g.asz = g.m64 ? 4 : g.m16 ? 4 : (t->form == F_MOFFS ? 4 : 2);
    else if (t->kind == K_STR && rnd(r, 8) == 0 && (g.m64 || g.m16))
        g.asz = 4;
    if (t->flags & T_CC)
        g.cc = (uint8_t)rnd(r, 16);

    switch (t->kind) {
    case K_CL: case K_LOOP: g.pinned = 1u << 1; break;
    case K_DIV: case K_IDIV: case K_CMPXCHG: g.pinned = 1u << 0 | 1u << 2; break;
    case K_CX8: g.pinned = 0xf; break;
    case K_STR: g.pinned = 1u << 1 | 1u << 6 | 1u << 7 | 1u << 0; break;
    case K_STACK: case K_CALL: case K_CALLIND: case K_RET: g.pinned = 1u << 4; break;
    case K_ENTER: case K_LEAVE: g.pinned = 1u << 4 | 1u << 5; break;
    case K_XLAT: g.pinned = 1u << 3 | 1u << 0; break;
    case K_POPSREG: case K_FARRET: case K_FARIND: case K_FARPTR: g.pinned = 1u << 4; break;
    case K_PCMPESTR: g.pinned = 1u << 0 | 1u << 2; break;
    case K_MASKMOV: g.pinned = 1u << 7; break;
    default: break;
    }
    /* rsp as the base of push/pop's memory operand is legal but its value
     * would have to be both the stack and the address. */

    /* Registers of the ModRM, opcode and VEX.vvvv fields. */
    g.reg = t->ext >= 0 && t->kind != K_LSEG ? (unsigned)t->ext : rnd(r, g.nregs);
    if (t->kind == K_SREG) {
        static const uint8_t sregs[] = { 0, 0, 2, 2, 3, 3, 3, 1, 6, 7 };

        g.reg = sregs[rnd(r, sizeof(sregs))];   /* 1 (CS), 6, 7: #UD */
    }
    if ((t->ext < 0 || t->kind == K_LSEG) && t->kind != K_SREG && g.m64)
        g.rexr = (uint8_t)(g.reg >> 3);
    g.vvvv = rnd(r, g.nregs);
    if (t->op == OP_RORX && rnd(r, 32))
        g.vvvv = 0;     /* VEX.vvvv must be 1111b (SDM vol. 2, RORX) */
    if (t->kind == K_BTREG)
        g.pinned |= 1u << (g.reg & 15);
    g.rex_on = g.m64 && rnd(r, 8) == 0;

    switch (t->form) {
    case F_RM:
    case F_RM_REG:
    case F_RM_MEM:
        g.has_modrm = true;
        if (t->form == F_RM_MEM || (t->form == F_RM && rnd(r, 5) < 3)) {
            unsigned acc = t->kind == K_CX8 ? 2 * g.osz : 16;

            if (t->fpk)
                acc = t->msz ? t->msz : g.osz;

            plan_mem(&g, acc);
        } else {
            g.rm = t->fixrm ? t->fixrm - 1u : rnd(r, g.nregs);
            g.rexb = (uint8_t)(g.rm >> 3);
            g.modrm = (uint8_t)(0xc0 | ((g.reg & 7) << 3) | (g.rm & 7));
            /* The register form of a memory-only encoding: #UD. */
        }
        break;
    case F_OPREG:
        g.rm = rnd(r, g.nregs);
        if (t->op == OP_XCHG && g.rm == 0)
            g.rm = 1 + rnd(r, g.nregs - 1);
        g.rexb = (uint8_t)(g.rm >> 3);
        break;
    case F_MOFFS:
        g.mem = true;
        g.ea = DIFF_DATA + 256 + rnd(r, DIFF_DATA_SIZE - 512);
        if (rnd(r, 32) == 0)
            g.ea = DIFF_DATA + DIFF_DATA_SIZE - 1 - rnd(r, 8);
        break;
    default:
        break;
    }
    if (g.osz == 8 && !(t->flags & (T_D64 | T_NOW)))
        g.rexw = 1;
    if ((t->flags & T_REXW) || ((t->flags & T_D64) && g.osz == 8 && rnd(r, 4) == 0))
        g.rexw = 1;
    if (!g.m64)
        g.rexw = g.rexr = g.rexx = g.rexb = 0;
    if (g.rexw | g.rexr | g.rexx | g.rexb)
        g.rex_on = g.m64;
    if (g.osz == 1 && g.m64 && rnd(r, 3) == 0)
        g.rex_on = true;
    if (t->flags & T_VEX)
        g.rex_on = false;

    setup_kind(&g);
    choose_imm(&g);
    if (t->fpk)
        setup_fp_operands(&g);

    if (t->flags & T_WAIT)
        b[n++] = 0x9b;
    if (t->flags & T_SOUP) {
        /* Prefixes that change nothing here (segment overrides are
         * ignored in 64-bit mode; F2/F3 mean nothing to these opcodes),
         * repeated, with a REX that a later legacy prefix cancels. */
        static const uint8_t soup[] = { 0x26, 0x2e, 0x36, 0x3e, 0xf2, 0xf3, 0x66 };
        unsigned k = 1 + rnd(r, 12);

        for (unsigned i = 0; i < k; i++) {
            if (g.m64 && i + 1 < k && rnd(r, 4) == 0)
                b[n++] = (uint8_t)(0x40 | rnd(r, 16));
            else
                b[n++] = soup[rnd(r, g.osz == 2 ? 7 : 6)];
        }
    }
    /* Legacy prefixes: the ones that change the size, then a segment
     * override now and then (ignored in 64-bit mode except FS/GS), LOCK,
     * a rep for strings, and the mandatory prefix last before REX. */
    if (t->fpk) {
        /* No size prefix: a 66 would be a mandatory prefix here.  Before
         * an x87 instruction it changes nothing but FLDENV/FRSTOR's
         * format, so now and then one goes there. */
        if (t->fpk == FPK_X87 && rnd(r, 16) == 0) {
            b[n++] = 0x66;
            x87_66 = true;
        }
    } else if (!(t->flags & T_VEX)) {
        if (g.osz == (g.m16 ? 4 : 2) && !(t->sizes == Z8) && !(g.m16 && t->pfx == 0x66))
            b[n++] = 0x66;
        else if (t->sizes == Z8 && rnd(r, 16) == 0)
            b[n++] = 0x66;
    }
    if ((g.asz == 4 && (g.m64 || g.m16)) || (g.asz == 2 && !g.m16))
        b[n++] = 0x67;
    if (rnd(r, 16) == 0) {
        static const uint8_t segs[] = { 0x26, 0x2e, 0x36, 0x3e };

        b[n++] = segs[rnd(r, 4)];
    }
    if (((t->flags & T_LOCK) && g.mem && rnd(r, 3) == 0) || rnd(r, 128) == 0)
        b[n++] = 0xf0;
    if (t->kind == K_STR) {
        unsigned k = rnd(r, 3);

        rep = k == 0 ? 0 : k == 1 ? 0xf3 : 0xf2;
        if (rep)
            b[n++] = rep;
        setup_string(&g, rep);
    } else if (t->map == 0 && !t->pfx && t->opc != 0x90 && rnd(r, 32) == 0) {
        b[n++] = rnd(r, 2) ? 0xf3 : 0xf2;
    }
    if (t->pfx && !(t->flags & T_VEX))
        b[n++] = t->pfx;

    if (t->flags & T_VEX) {
        vexpp = t->pfx == 0x66 ? 1 : t->pfx == 0xf3 ? 2 : t->pfx == 0xf2 ? 3 : 0;
        b[n++] = 0xc4;
        b[n++] = (uint8_t)(((!g.rexr) << 7) | ((!g.rexx) << 6) | ((!g.rexb) << 5) | t->map);
        b[n++] = (uint8_t)(((g.osz == 8) << 7) | ((~g.vvvv & 15) << 3) |
                           ((rnd(r, 32) == 0) << 2) | vexpp);
        if (!g.m64)
            b[n - 1] |= 0x40;       /* vvvv bit 3 (inverted) is 1 in 32-bit mode */
    } else {
        if (g.rex_on)
            b[n++] = (uint8_t)(0x40 | (g.rexw << 3) | (g.rexr << 2) | (g.rexx << 1) | g.rexb);
        if (t->map >= 1)
            b[n++] = 0x0f;
        if (t->map == 2)
            b[n++] = 0x38;
        if (t->map == 3)
            b[n++] = 0x3a;
    }
    opcode_pos = n;
    b[n++] = t->opc;
    if (t->flags & T_CC)
        b[opcode_pos] = (uint8_t)(t->opc | g.cc);
    if (t->form == F_OPREG)
        b[opcode_pos] = (uint8_t)(t->opc | (g.rm & 7));
    if (t->flags & T_F9)
        b[n++] = 0xf9;
    if (g.has_modrm) {
        b[n++] = g.modrm;
        if (g.has_sib)
            b[n++] = g.sib;
        g.disp_pos = n;
        if (g.ndisp == 1)
            b[n++] = (uint8_t)g.disp;
        else if (g.ndisp == 2) {
            uint16_t d = (uint16_t)g.disp;

            memcpy(b + n, &d, 2);
            n += 2;
        } else if (g.ndisp == 4) {
            uint32_t d = (uint32_t)g.disp;

            memcpy(b + n, &d, 4);
            n += 4;
        }
    }
    if (t->form == F_MOFFS) {
        uint64_t moffs = g.ea - g.dbase;

        memcpy(b + n, &moffs, g.asz);
        n += g.asz;
    }
    if (t->form == F_REL8 || t->form == F_REL32) {
        g.rel_pos = n;
        g.rel_size = t->form == F_REL8 ? 1 : g.m16 && g.osz == 2 ? 2 : 4;
        n += g.rel_size;
    }
    memcpy(b + n, g.imm, g.nimm);
    n += g.nimm;
    first_len = n;
    if (t->kind == K_SREG || t->kind == K_POPSREG || t->kind == K_LSEG) {
        /* A second instruction, mov r/m, sreg (8C /r), reads the loaded
         * selector back into a register; the tester runs both. */
        unsigned sreg = t->kind == K_SREG ? g.reg : (unsigned)t->ext;
        unsigned dst = rnd(r, g.nregs);

        if (rnd(r, 4) == 0)
            b[n++] = 0x66;
        if (g.m64 && (dst >= 8 || rnd(r, 4) == 0))
            b[n++] = (uint8_t)(0x40 | (rnd(r, 2) << 3) | (dst >> 3));
        b[n++] = 0x8c;
        b[n++] = (uint8_t)(0xc0 | ((sreg & 7) << 3) | (dst & 7));
    }
    if (n > DIFF_MAX_LEN)
        return n;
    c->len = (uint8_t)n;

    /* What depends on the length: RIP-relative addresses and targets. */
    if (g.riprel) {
        uint32_t d = (uint32_t)(g.ea - (DIFF_INSN_ADDR + first_len));

        memcpy(b + g.disp_pos, &d, 4);
    }
    if (g.rel_size)
        fixup_rel(&g, b, n);
    if (t->kind == K_JMPIND || t->kind == K_CALLIND) {
        uint64_t tg = branch_target(&g, DIFF_INSN_ADDR + n);

        /* call rsp pushes below its own target: keep that in the code
         * page (a #PF, the page is read-only), not at a random address. */
        if (t->kind == K_CALLIND && !g.mem && g.rm == 4)
            tg = (DIFF_CODE + 0x100 + rnd(r, 0x600)) - g.cbase;

        set_rm(&g, g.m64 ? 8 : g.osz, tg);
    }
    if (t->kind == K_RET)
        patch_val(&g, g.sp_lin, branch_target(&g, DIFF_INSN_ADDR + n), g.m64 ? 8 : g.osz);

    /* Values that are the host's own, and undefined flags off AMD. */
    switch (t->op) {
    case OP_CPUID: c->reg_ignore = 0xf; break;
    case OP_RDTSC: c->reg_ignore = 0x5; break;
    case OP_RDTSCP: c->reg_ignore = 0x7; break;
    case OP_RDRAND:
    case OP_RDSEED:
        if (!g.mem)
            c->reg_ignore = (uint16_t)(1u << (g.rm & 15));
        c->flags_ignore = CF;
        break;
    default: break;
    }
    c->cr2_any = (t->flags & T_PIECES) != 0;
    if (t->kind == K_FPSAVE)
        set_fpsave_ignore(&g, x87_66);
    if (o->mask_undefined && t->fpk)
        c->fsw_ignore = t->undef;
    else if (o->mask_undefined)
        c->flags_ignore |= t->undef;
    memcpy(c->bytes, b, n);
    return n;
}

void diff_gen_case(unsigned ti, struct diff_rng *r, const struct diff_gen_opts *o,
                   struct diff_case *c)
{
    const struct diff_tmpl *t = &tmpls[ti < diff_tmpl_count() ? ti : 0];
    unsigned limit = (t->flags & T_SOUP) ? DIFF_MAX_LEN : INSN_MAX_LEN;

    /* Over 15 bytes only where that is the point (#GP); elsewhere the
     * prefixes chosen at random made it too long: choose again. */
    for (unsigned tries = 0; tries < 64; tries++)
        if (gen_once(ti, r, o, c) <= limit)
            return;
    gen_once(0, r, o, c);
}

unsigned diff_tmpl_count(void)
{
    return sizeof(tmpls) / sizeof(tmpls[0]);
}

const char *diff_tmpl_group(unsigned t)
{
    return t < diff_tmpl_count() ? tmpls[t].group : "?";
}

unsigned diff_tmpl_op(unsigned t)
{
    return t < diff_tmpl_count() ? tmpls[t].op : OP_INVALID;
}

const char *diff_tmpl_desc(unsigned t)
{
    return t < diff_tmpl_count() ? tmpls[t].desc : "?";
}

const char *const diff_need_files[DIFF_NEED_COUNT] = {
    "exec-x87.c", "exec-fpstate.c", "exec-sse.c", "exec-sse-int.c", "exec-sse-fp.c",
};

unsigned diff_tmpl_needs(unsigned t)
{
    return t < diff_tmpl_count() ? tmpls[t].need : 0;
}

unsigned diff_tmpl_host_feat(unsigned t)
{
    return t < diff_tmpl_count() ? tmpls[t].host : DIFF_HOST_NONE;
}
