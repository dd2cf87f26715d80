/*
 * A decoded x86 instruction (DESIGN.md, "The software CPU", 1).
 *
 * The decoder (decode.c) fills a struct insn from bytes; the executor
 * (exec-*.c) and the -d in_asm log both read it.  It is plain data, owned by
 * whoever holds it: a vCPU's block cache, or a test.
 *
 * Operands are listed in Intel order (destination first), at most four.
 * Each names where the value lives; the executor reads and writes them
 * through tcg_op_read()/tcg_op_write() (tcg-cpu.h), so one handler serves
 * every form of an instruction ("add r/m32, imm8" and "add r64, r/m64").
 */
#ifndef HYVM_TCG_INSN_H
#define HYVM_TCG_INSN_H

#include <stddef.h>
#include <stdint.h>

#include "accel/tcg/insn-ops.h"

/* The maximum length of an instruction (SDM vol. 2, 2.3.11). */
#define INSN_MAX_LEN 15

enum cpu_mode {
    MODE_REAL16,    /* real mode and vm86: 16-bit defaults */
    MODE_PROT16,    /* protected mode, CS.D = 0 */
    MODE_PROT32,    /* protected mode or compatibility mode, CS.D = 1 */
    MODE_LONG64,    /* 64-bit mode (CS.L = 1) */
};

enum operand_kind {
    OPK_NONE,
    OPK_REG,        /* general register: reg = 0..15; size 1 with hi8 = AH..BH */
    OPK_MEM,        /* the memory operand of the insn (insn->mem) */
    OPK_IMM,        /* immediate: value in imm (sign-extended to 64 bits
                     * where the encoding sign-extends) */
    OPK_REL,        /* branch displacement: target = next rip + imm */
    OPK_FARPTR,     /* ptr16:16/32: offset in imm, selector in sel */
    OPK_SREG,       /* segment register: reg = enum x86_seg */
    OPK_CREG,       /* control register: reg = 0..15 */
    OPK_DREG,       /* debug register */
    OPK_XMM,        /* xmm/ymm register: reg = 0..31 */
    OPK_MMX,        /* mm0..7 */
    OPK_ST,         /* x87 st(i) */
    OPK_KREG,       /* AVX-512 opmask (decoded, not executed) */
};

struct operand {
    uint8_t kind;       /* enum operand_kind */
    uint8_t size;       /* bytes: 1, 2, 4, 8, 10, 16, 32, 64; 0 if none */
    uint8_t reg;        /* register number for register kinds */
    uint8_t hi8;        /* OPK_REG size 1: AH, CH, DH or BH (reg 4..7, no REX) */
    uint16_t sel;       /* OPK_FARPTR selector */
    uint64_t imm;       /* OPK_IMM / OPK_REL / OPK_FARPTR offset */
};

/* The memory operand: seg:[base + index * scale + disp], truncated to addr_size. */
#define INSN_REG_NONE 0xff
#define INSN_REG_RIP 0x10    /* base is the address of the next instruction */

struct insn_mem {
    uint8_t seg;        /* enum x86_seg after overrides and defaults (SS for
                         * rBP/rSP bases) */
    uint8_t base;       /* 0..15, INSN_REG_RIP or INSN_REG_NONE */
    uint8_t index;      /* 0..15 (xmm for VSIB) or INSN_REG_NONE */
    uint8_t scale;      /* 1, 2, 4, 8 */
    int64_t disp;       /* sign-extended */
};

/* Legacy prefixes present, as bits. */
#define PFX_LOCK    0x01
#define PFX_REP     0x02    /* F3 */
#define PFX_REPNE   0x04    /* F2 */
#define PFX_OPSIZE  0x08    /* 66 */
#define PFX_ADSIZE  0x10    /* 67 */
#define PFX_SEG     0x20    /* a segment override (which one: mem.seg) */
#define PFX_VEX     0x40
#define PFX_EVEX    0x80

struct insn {
    uint16_t op;            /* enum insn_op: which handler runs it */
    uint8_t len;            /* total length in bytes */
    uint8_t map;            /* 0: one byte, 1: 0F, 2: 0F38, 3: 0F3A (also VEX m-mmmm) */
    uint8_t opcode;         /* the opcode byte within its map */
    uint8_t prefixes;       /* PFX_* */
    uint8_t last_rep;       /* 0xF2 or 0xF3: the one that counts when both appear, else 0 */
    uint8_t rex;            /* the REX byte (0x40..0x4F) or 0 */
    uint8_t modrm;          /* valid if has_modrm */
    uint8_t has_modrm : 1, has_mem : 1, vex_l : 2, vex_w : 1;
    uint8_t vex_vvvv;       /* VEX.vvvv, already inverted */
    uint8_t op_size;        /* effective operand size: 2, 4 or 8 */
    uint8_t addr_size;      /* effective address size: 2, 4 or 8 */
    uint8_t nops;           /* operands in use */
    struct insn_mem mem;    /* valid if has_mem */
    struct operand ops[4];
    uint8_t bytes[INSN_MAX_LEN];  /* the raw bytes, for logs and SMC checks */
};

enum decode_status {
    DECODE_OK,
    DECODE_UD,          /* invalid in this mode: #UD (len covers what was read) */
    DECODE_TRUNCATED,   /* needs byte number *need (0-based) beyond avail */
    DECODE_TOO_LONG,    /* longer than 15 bytes: #GP(0) */
};

/*
 * Decodes one instruction from bytes[0..avail).  Never reads bytes[avail]
 * or beyond: if more are needed it returns DECODE_TRUNCATED and sets *need
 * to the index of the first missing byte, so the caller can fetch the next
 * page and report a fault on exactly that byte.
 */
enum decode_status x86_decode(struct insn *in, const uint8_t *bytes, size_t avail,
                              enum cpu_mode mode, size_t *need);

/* The mnemonic's name in lower case ("add"), for logs and tests. */
const char *insn_op_name(unsigned op);

#endif
