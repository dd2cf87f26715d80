/*
 * The opcode tables of the x86 decoder, shared by decode-tables.c (which
 * holds them, const) and decode.c (which walks them).  Plain read-only data:
 * any thread may read it.
 *
 * An entry names the operation, how its operands are encoded (Intel's
 * operand-form letters, SDM vol. 2, appendix A.2) and a few flags.  Groups
 * (the operation chosen by ModRM.reg) and mandatory-prefix variants (none,
 * 66, F3, F2) point into side tables through ext.
 */
#ifndef HYVM_TCG_DECODE_TABLES_H
#define HYVM_TCG_DECODE_TABLES_H

#include <stdint.h>

#include "accel/tcg/insn.h"

/* Operand forms (SDM vol. 2, A.2.1 and A.2.2). */
enum dec_form {
    O_NONE,
    /* ModRM.rm: register or memory */
    O_Eb, O_Ew, O_Ed, O_Ev, O_Ey,
    /* ModRM.reg: general register */
    O_Gb, O_Gw, O_Gd, O_Gv, O_Gy,
    /* ModRM.rm, memory only (#UD for mod == 3) */
    O_M,        /* no access, size 0 (lea) */
    O_Mb, O_Mw, O_Md, O_Mq, O_Mdq, O_Mv,
    O_My,       /* 32 or 64 bits by REX.W (movnti) */
    O_Mp,       /* far pointer m16:16/32/64 */
    O_Ms,       /* descriptor-table pseudo-descriptor: 6 or 10 bytes */
    O_Ma,       /* bound: two operand-size words */
    O_Mx,       /* size not described (fxsave and friends) */
    /* ModRM.rm, register only; Ry is 64-bit in 64-bit mode (mov cr) */
    O_Rv, O_Ry, O_Rw,
    O_RyW,      /* ModRM.rm register, 32 or 64 bits by REX.W (rdfsbase) */
    /* VEX.vvvv general register (32 or 64 by VEX.W) */
    O_By,
    /* immediates */
    O_Ib,       /* imm8, zero-extended */
    O_Ibs,      /* imm8 sign-extended to the operand size */
    O_Iw,       /* imm16 */
    O_Iz,       /* imm16/32, sign-extended to 64 when the size is 8 */
    O_Iv,       /* imm16/32/64 (B8+r only) */
    O_I1,       /* the constant 1 of the shift-by-one forms */
    /* relative branch targets */
    O_Jb, O_Jz,
    /* fixed registers */
    O_AL, O_CL, O_DX, O_rAX, O_eAX,   /* eAX: AX or EAX (in/out) */
    /* register in the low 3 opcode bits (+ REX.B) */
    O_Zb, O_Zv,
    O_Sw,       /* ModRM.reg segment register */
    O_Ap,       /* direct far pointer */
    O_Ob, O_Ov, /* moffs */
    O_Cd, O_Dd, /* control / debug register in ModRM.reg */
    O_ES, O_CS, O_SS, O_DS, O_FS, O_GS,
    /* string operands: X = seg:[rSI], Y = ES:[rDI] */
    O_Xb, O_Xv, O_Yb, O_Yv,
    O__MAX
};

/* Entry flags. */
#define F_MODRM  0x0001u   /* has a ModRM byte */
#define F_I64    0x0002u   /* invalid (#UD) in 64-bit mode */
#define F_D64    0x0008u   /* operand size defaults to 64 in 64-bit mode */
#define F_LOCK   0x0010u   /* LOCK allowed (with a memory destination) */
#define F_GRP    0x0020u   /* ext: group index, chosen by ModRM.reg */
#define F_PFX    0x0040u   /* ext: mandatory-prefix variant index */
#define F_MEM    0x0080u   /* ModRM must name memory */
#define F_REG    0x0100u   /* ModRM must name a register */
#define F_UD     0x0200u   /* invalid encoding */
#define F_SPEC   0x0400u   /* ext: special case handled in decode.c */
#define F_IMM8   0x0800u   /* an imm8 that is not an operand (SSE, AVX) */
#define F_NOREAL 0x1000u   /* #UD in real and virtual-8086 mode */

struct dec_entry {
    uint16_t op;        /* enum insn_op */
    uint16_t flags;     /* F_* */
    uint8_t form[3];    /* enum dec_form, Intel order */
    uint8_t ext;        /* group / variant / special index */
};

/* Special cases (ext of an F_SPEC entry). */
enum dec_special {
    SP_NONE,
    SP_NOP90,       /* 90: nop, pause (F3), xchg r8, rax (REX.B) */
    SP_ARPL,        /* 63: arpl, or movsxd in 64-bit mode */
    SP_X87,         /* D8..DF */
    SP_0F01,        /* group 7 */
    SP_0FAE,        /* group 15 */
    SP_0FC7,        /* group 9 */
    SP_MOVCR,       /* 0F 20 / 0F 22 */
    SP_MOVDR,       /* 0F 21 / 0F 23 */
    SP_HINTNOP,     /* 0F 19..1F: nop Ev, endbr */
    SP_3DNOW,       /* 0F 0F */
    SP_8F,          /* pop Ev or XOP */
    SP_C6C7,        /* group 11: mov Eb/Ev, imm, xabort/xbegin */
};

extern const struct dec_entry dec_map0[256];
extern const struct dec_entry dec_map1[256];
extern const struct dec_entry dec_map2[256];
extern const struct dec_entry dec_map3[256];
extern const struct dec_entry dec_groups[][8];
extern const struct dec_entry dec_variants[][4];   /* none, 66, F3, F2 */
/* VEX-encoded general-purpose instructions (BMI1/BMI2), by map 2/3 and pp. */
extern const struct dec_entry dec_vex_map2_f0[16][4];
extern const struct dec_entry dec_vex_map3_f0[16][4];

#endif
