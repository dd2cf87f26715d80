/*
 * An x86-64 instruction emitter for the translator (issue 11): the few encodings a translator
 * needs first, written from the Intel SDM vol. 2 (2.1 instruction format, 2.2.1 REX prefixes,
 * chapter 3-4 instruction pages, appendix A opcode maps).
 *
 * Contract: every function appends one instruction at e->p.  An instruction that would end
 * past e->end is not written: e->overflow is set and stays set, e->p stops advancing.  The
 * translator checks overflow once per block, flushes its code buffer (jit_buf_reset) and
 * translates again.  Nothing here ever writes at or beyond e->end.
 *
 * Addresses: the emitter writes through the write view of a jit_buf and computes relative
 * displacements (call/jmp/jcc rel32) against the execution view: e->rx_off is "exec address
 * minus write address" (jit_buf_rx_offset()), 0 for a plain memory buffer.  Labels are
 * write-view pointers; since both views have the same layout, a rel32 between two write-view
 * pointers is the rel32 between their exec-view images.
 *
 * Threads: a struct jit_emit belongs to the thread that translates (one vCPU thread writing its
 * own buffer).  jit_patch_rel32() on code another thread may be running needs the rel32 to be
 * 4-byte aligned (jit_emit_jmp_aligned) so the store is atomic (SDM vol. 3A, "Guaranteed Atomic
 * Operations") - that is for block chaining, later.
 *
 * Registers are numbered as in the ModRM/REX encoding (SDM vol. 2A 2.1.5, table 2-2).
 */
#ifndef HYVM_JIT_EMIT_H
#define HYVM_JIT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum jit_reg {
    JIT_RAX, JIT_RCX, JIT_RDX, JIT_RBX, JIT_RSP, JIT_RBP, JIT_RSI, JIT_RDI,
    JIT_R8, JIT_R9, JIT_R10, JIT_R11, JIT_R12, JIT_R13, JIT_R14, JIT_R15,
};

/* The /digit of the 80-83 group and the row of the 00-3F ALU opcodes (SDM vol. 2D, A.3). */
enum jit_alu {
    JIT_ADD = 0, JIT_OR = 1, JIT_ADC = 2, JIT_SBB = 3,
    JIT_AND = 4, JIT_SUB = 5, JIT_XOR = 6, JIT_CMP = 7,
};

/* Condition codes, the low nibble of Jcc/SETcc/CMOVcc (SDM vol. 2D, B.1.4.7, table B-10). */
enum jit_cc {
    JIT_CC_O, JIT_CC_NO, JIT_CC_B, JIT_CC_AE, JIT_CC_E, JIT_CC_NE, JIT_CC_BE, JIT_CC_A,
    JIT_CC_S, JIT_CC_NS, JIT_CC_P, JIT_CC_NP, JIT_CC_L, JIT_CC_GE, JIT_CC_LE, JIT_CC_G,
};

/* Operand size of a memory access, in bytes as log2. */
enum jit_size { JIT_S8, JIT_S16, JIT_S32, JIT_S64 };

/* No index register in jit_emit_op_mem (RSP cannot be an index: SDM vol. 2A table 2-3). */
#define JIT_NO_INDEX (-1)

/* The longest x86 instruction is 15 bytes (SDM vol. 2A 2.1): an upper bound for reservations. */
#define JIT_MAX_INSN_LEN 15

struct jit_emit {
    uint8_t *p;         /* next byte to write (write view) */
    uint8_t *end;       /* first byte not to write */
    bool overflow;      /* an instruction did not fit: the output is incomplete */
    intptr_t rx_off;    /* exec-view address minus write-view address */
    /*
     * Register caching (the translator's, jit-translate.c): while rc_map is set, the 16 slots
     * of 8 bytes at [rbx + rc_base] whose rc_map entry is a host register live in that
     * register, and jit_emit_op_mem() writes an instruction on such a slot in its register
     * form.  What has no register form, or touches a slot other than whole from its first
     * byte, sets rc_bad: the caller then writes the code again without the cache.
     */
    const int8_t *rc_map;
    int32_t rc_base;
    bool rc_bad;
};

static inline void jit_emit_init(struct jit_emit *e, uint8_t *p, uint8_t *end, intptr_t rx_off)
{
    e->p = p;
    e->end = end;
    e->overflow = false;
    e->rx_off = rx_off;
    e->rc_map = NULL;
    e->rc_base = 0;
    e->rc_bad = false;
}

/* The exec-view address of a write-view pointer of this emitter. */
static inline uintptr_t jit_emit_rx(const struct jit_emit *e, const uint8_t *w)
{
    return (uintptr_t)w + (uintptr_t)e->rx_off;
}

/*
 * Reserves n bytes for one instruction: false (and overflow set) when they do not fit.
 * Every instruction reserves its exact length first so it is written whole or not at all.
 */
static inline bool jit_emit_room(struct jit_emit *e, size_t n)
{
    if (e->overflow || (size_t)(e->end - e->p) < n) {
        e->overflow = true;
        return false;
    }
    return true;
}

static inline void jit_put8(struct jit_emit *e, uint8_t v)
{
    *e->p++ = v;
}

static inline void jit_put32(struct jit_emit *e, uint32_t v)
{
    memcpy(e->p, &v, 4);    /* the host is little-endian x86-64, like the encoding */
    e->p += 4;
}

static inline void jit_put64(struct jit_emit *e, uint64_t v)
{
    memcpy(e->p, &v, 8);
    e->p += 8;
}

static inline bool jit_fits_s8(int64_t v)
{
    return v >= INT8_MIN && v <= INT8_MAX;
}

static inline bool jit_fits_s32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* ---- Prefixes, ModRM and SIB ------------------------------------------------------------ */

/*
 * REX = 0100WRXB (SDM vol. 2A 2.2.1.2): R extends ModRM.reg, X SIB.index, B ModRM.rm,
 * SIB.base or the opcode register.  force emits a bare 40 for byte accesses of SPL, BPL, SIL,
 * DIL, which without any REX prefix would mean AH, CH, DH, BH (SDM vol. 2A 3.1.1.1,
 * table 3-1).  Returns the length (0 or 1) so callers can size instructions before writing.
 */
static inline unsigned jit_rex_len(bool w, int reg, int index, int base, bool force)
{
    return (w || (reg & 8) || (index >= 0 && (index & 8)) || (base & 8) || force) ? 1 : 0;
}

static inline void jit_put_rex(struct jit_emit *e, bool w, int reg, int index, int base,
                               bool force)
{
    if (jit_rex_len(w, reg, index, base, force)) {
        jit_put8(e, 0x40 | (w << 3) | ((reg & 8) >> 1) | ((index >= 0 ? index & 8 : 0) >> 2) |
                    ((base & 8) >> 3));
    }
}

/* True when a byte register operand 4-7 needs a REX prefix to mean SPL/BPL/SIL/DIL. */
static inline bool jit_byte_reg_needs_rex(int reg)
{
    return reg >= JIT_RSP && reg <= JIT_RDI;
}

/*
 * Length of the ModRM, SIB and displacement bytes for [base + index*scale + disp]
 * (SDM vol. 2A 2.1.5, tables 2-2 and 2-3):
 * - mod 00 has no displacement, but rm/base 101 (RBP, R13) there means RIP+disp32 or
 *   disp32 without base, so those bases always carry a disp8 of 0;
 * - rm 100 (RSP, R12) selects a SIB byte, so those bases always need one (SIB 0x24:
 *   no index, base RSP/R12).
 */
static inline unsigned jit_mem_len(int base, int index, int32_t disp)
{
    unsigned n = 1;

    if (index >= 0 || (base & 7) == JIT_RSP) {
        n++;
    }
    if (disp == 0 && (base & 7) != JIT_RBP) {
        return n;
    }
    return n + (jit_fits_s8(disp) ? 1 : 4);
}

/* Writes ModRM (+SIB, +disp) for reg (a register or /digit) and the memory operand. */
static inline void jit_put_mem(struct jit_emit *e, int reg, int base, int index, int scale_log2,
                               int32_t disp)
{
    uint8_t mod;

    if (disp == 0 && (base & 7) != JIT_RBP) {
        mod = 0;
    } else if (jit_fits_s8(disp)) {
        mod = 1;
    } else {
        mod = 2;
    }
    if (index >= 0 || (base & 7) == JIT_RSP) {
        /* SIB: scale(2) index(3) base(3); index 100 without REX.X means "none". */
        int idx = index >= 0 ? (index & 7) : 4;

        jit_put8(e, (mod << 6) | ((reg & 7) << 3) | 4);
        jit_put8(e, (scale_log2 << 6) | (idx << 3) | (base & 7));
    } else {
        jit_put8(e, (mod << 6) | ((reg & 7) << 3) | (base & 7));
    }
    if (mod == 1) {
        jit_put8(e, (uint8_t)disp);
    } else if (mod == 2) {
        jit_put32(e, (uint32_t)disp);
    }
}

/*
 * Whether an opcode's r/m operand means a general register in its register form (mod 11), as
 * a cached slot needs: the ALU rows, TEST, XCHG, MOV, the shift, unary and INC/DEC/PUSH groups,
 * MOVSXD, IMUL, POP r/m; 0F: CMOVcc, SETcc, BT*, SHLD/SHRD, IMUL, MOVZX/MOVSX, BSF/BSR.
 */
static inline bool jit_rc_opcode_ok(int opc1, int opc2, int reg)
{
    if (opc1 == 0x0f) {
        return (opc2 >= 0x40 && opc2 <= 0x4f) || (opc2 >= 0x90 && opc2 <= 0x9f) ||
               opc2 == 0xa3 || opc2 == 0xa4 || opc2 == 0xa5 || opc2 == 0xab || opc2 == 0xac ||
               opc2 == 0xad || opc2 == 0xaf || opc2 == 0xb3 || (opc2 >= 0xb6 && opc2 <= 0xbf);
    }
    if (opc2 >= 0) {
        return false;
    }
    if (opc1 < 0x40) {
        return (opc1 & 7) < 4;
    }
    switch (opc1) {
    case 0x63: case 0x69: case 0x6b: case 0x80: case 0x81: case 0x83: case 0x84: case 0x85:
    case 0x86: case 0x87: case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8f: case 0xc0:
    case 0xc1: case 0xc6: case 0xc7: case 0xd0: case 0xd1: case 0xd2: case 0xd3: case 0xf6:
    case 0xf7: case 0xfe:
        return true;
    case 0xff:
        return reg != 3 && reg != 5;    /* far CALL and JMP take memory only */
    default:
        return false;
    }
}

/*
 * One instruction with a memory operand: [prefix66] [REX] opcode(1-2 bytes) ModRM [SIB] [disp]
 * [imm32 if has_imm32].  opc2 < 0 means a one-byte opcode; 0x0F-escaped opcodes pass 0x0F and
 * the second byte.  A cached slot (see struct jit_emit) gets the register form instead, with a
 * REX prefix always, so that a byte operand 4-7 is SPL..DIL.
 */
static inline void jit_emit_op_mem(struct jit_emit *e, bool p66, bool w, bool force_rex,
                                   int opc1, int opc2, int reg, int base, int index,
                                   int scale_log2, int32_t disp, bool has_imm32, uint32_t imm)
{
    unsigned n;

    if (e->rc_map && base == 3 /* rbx */ && disp >= e->rc_base && disp < e->rc_base + 128) {
        int h = e->rc_map[(disp - e->rc_base) >> 3];

        if (index >= 0) {
            e->rc_bad = true;   /* an indexed slot: which one is not known here */
        } else if (h >= 0) {
            if (((disp - e->rc_base) & 7) || !jit_rc_opcode_ok(opc1, opc2, reg)) {
                e->rc_bad = true;
            } else {
                n = p66 + 1 + 1 + (opc2 >= 0) + 1 + (has_imm32 ? 4 : 0);
                if (!jit_emit_room(e, n)) {
                    return;
                }
                if (p66) {
                    jit_put8(e, 0x66);
                }
                jit_put_rex(e, w, reg, -1, h, true);
                jit_put8(e, opc1);
                if (opc2 >= 0) {
                    jit_put8(e, opc2);
                }
                jit_put8(e, 0xc0 | ((reg & 7) << 3) | (h & 7));
                if (has_imm32) {
                    jit_put32(e, imm);
                }
                return;
            }
        }
    }
    n = p66 + jit_rex_len(w, reg, index, base, force_rex) + 1 + (opc2 >= 0) +
                 jit_mem_len(base, index, disp) + (has_imm32 ? 4 : 0);

    if (!jit_emit_room(e, n)) {
        return;
    }
    if (p66) {
        jit_put8(e, 0x66);      /* operand-size prefix before REX (SDM vol. 2A 2.2.1) */
    }
    jit_put_rex(e, w, reg, index, base, force_rex);
    jit_put8(e, opc1);
    if (opc2 >= 0) {
        jit_put8(e, opc2);
    }
    jit_put_mem(e, reg, base, index, scale_log2, disp);
    if (has_imm32) {
        jit_put32(e, imm);
    }
}

/* One register-register instruction: [REX] opcode(1-2) ModRM(mod 11, reg, rm). */
static inline void jit_emit_op_rr(struct jit_emit *e, bool w, int opc1, int opc2, int reg, int rm)
{
    unsigned n = jit_rex_len(w, reg, -1, rm, false) + 1 + (opc2 >= 0) + 1;

    if (!jit_emit_room(e, n)) {
        return;
    }
    jit_put_rex(e, w, reg, -1, rm, false);
    jit_put8(e, opc1);
    if (opc2 >= 0) {
        jit_put8(e, opc2);
    }
    jit_put8(e, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

/* ---- Moves ------------------------------------------------------------------------------- */

/* MOV r/m64, r64: REX.W 89 /r. */
static inline void jit_emit_mov_rr(struct jit_emit *e, enum jit_reg dst, enum jit_reg src)
{
    jit_emit_op_rr(e, true, 0x89, -1, src, dst);
}

/* MOV r/m32, r32: 89 /r; writing a 32-bit register zeroes bits 63:32 (SDM vol. 1 3.4.1.1). */
static inline void jit_emit_mov32_rr(struct jit_emit *e, enum jit_reg dst, enum jit_reg src)
{
    jit_emit_op_rr(e, false, 0x89, -1, src, dst);
}

/* MOV r64, imm64 ("movabs"): REX.W B8+rd io. */
static inline void jit_emit_mov_r64_imm64(struct jit_emit *e, enum jit_reg dst, uint64_t imm)
{
    if (!jit_emit_room(e, 10)) {
        return;
    }
    jit_put_rex(e, true, 0, -1, dst, false);
    jit_put8(e, 0xb8 + (dst & 7));
    jit_put64(e, imm);
}

/* MOV r32, imm32: B8+rd id, zero-extended to 64 bits. */
static inline void jit_emit_mov_r32_imm32(struct jit_emit *e, enum jit_reg dst, uint32_t imm)
{
    if (!jit_emit_room(e, jit_rex_len(false, 0, -1, dst, false) + 5)) {
        return;
    }
    jit_put_rex(e, false, 0, -1, dst, false);
    jit_put8(e, 0xb8 + (dst & 7));
    jit_put32(e, imm);
}

/* MOV r/m64, imm32 sign-extended: REX.W C7 /0 id. */
static inline void jit_emit_mov_r64_simm32(struct jit_emit *e, enum jit_reg dst, int32_t imm)
{
    if (!jit_emit_room(e, 7)) {
        return;
    }
    jit_put_rex(e, true, 0, -1, dst, false);
    jit_put8(e, 0xc7);
    jit_put8(e, 0xc0 | (dst & 7));
    jit_put32(e, (uint32_t)imm);
}

/* Loads a 64-bit constant with the shortest of the three forms above. */
static inline void jit_emit_movi(struct jit_emit *e, enum jit_reg dst, uint64_t imm)
{
    if (imm <= UINT32_MAX) {
        jit_emit_mov_r32_imm32(e, dst, (uint32_t)imm);
    } else if (jit_fits_s32((int64_t)imm)) {
        jit_emit_mov_r64_simm32(e, dst, (int32_t)imm);
    } else {
        jit_emit_mov_r64_imm64(e, dst, imm);
    }
}

/*
 * Load from [base+disp] into dst, zero- or sign-extended to 64 bits:
 * MOVZX r32, r/m8|16 (0F B6/B7), MOV r32, r/m32 (8B) - both zero bits 63:32 -, MOV r64 (REX.W
 * 8B), MOVSX r64, r/m8|16 (REX.W 0F BE/BF), MOVSXD r64, r/m32 (REX.W 63).
 */
static inline void jit_emit_ld(struct jit_emit *e, enum jit_size sz, bool sign, enum jit_reg dst,
                               enum jit_reg base, int32_t disp)
{
    switch (sz) {
    case JIT_S8:
        jit_emit_op_mem(e, false, sign, false, 0x0f, sign ? 0xbe : 0xb6, dst, base,
                        JIT_NO_INDEX, 0, disp, false, 0);
        break;
    case JIT_S16:
        jit_emit_op_mem(e, false, sign, false, 0x0f, sign ? 0xbf : 0xb7, dst, base,
                        JIT_NO_INDEX, 0, disp, false, 0);
        break;
    case JIT_S32:
        jit_emit_op_mem(e, false, sign, false, sign ? 0x63 : 0x8b, -1, dst, base,
                        JIT_NO_INDEX, 0, disp, false, 0);
        break;
    case JIT_S64:
        jit_emit_op_mem(e, false, true, false, 0x8b, -1, dst, base, JIT_NO_INDEX, 0, disp,
                        false, 0);
        break;
    }
}

/*
 * Store the low sz bytes of src to [base+disp]: MOV r/m8, r8 (88, with a REX for SPL..DIL),
 * 66 89 for 16 bits, 89 for 32, REX.W 89 for 64.
 */
static inline void jit_emit_st(struct jit_emit *e, enum jit_size sz, enum jit_reg src,
                               enum jit_reg base, int32_t disp)
{
    if (sz == JIT_S8) {
        jit_emit_op_mem(e, false, false, jit_byte_reg_needs_rex(src), 0x88, -1, src, base,
                        JIT_NO_INDEX, 0, disp, false, 0);
    } else {
        jit_emit_op_mem(e, sz == JIT_S16, sz == JIT_S64, false, 0x89, -1, src, base,
                        JIT_NO_INDEX, 0, disp, false, 0);
    }
}

/* MOV r/m32, imm32 (C7 /0 id), or with REX.W the sign-extended imm32 into 64 bits. */
static inline void jit_emit_st_imm32(struct jit_emit *e, bool w64, enum jit_reg base,
                                     int32_t disp, int32_t imm)
{
    jit_emit_op_mem(e, false, w64, false, 0xc7, -1, 0, base, JIT_NO_INDEX, 0, disp, true,
                    (uint32_t)imm);
}

/* LEA r64, [base + index*2^scale_log2 + disp]: REX.W 8D /r.  index may be JIT_NO_INDEX. */
static inline void jit_emit_lea(struct jit_emit *e, enum jit_reg dst, enum jit_reg base,
                                int index, int scale_log2, int32_t disp)
{
    jit_emit_op_mem(e, false, true, false, 0x8d, -1, dst, base, index, scale_log2, disp, false,
                    0);
}

/* ---- ALU --------------------------------------------------------------------------------- */

/* OP r/m, r (01, 09, ..., 39 = op*8 + 1), with REX.W when w64: dst op= src. */
static inline void jit_emit_alu_rr(struct jit_emit *e, enum jit_alu op, bool w64,
                                   enum jit_reg dst, enum jit_reg src)
{
    jit_emit_op_rr(e, w64, op * 8 + 1, -1, src, dst);
}

/*
 * OP r/m, imm: 83 /op ib when the immediate fits a sign-extended byte, else 05+op*8 id for
 * (E/R)AX, else 81 /op id (SDM vol. 2A, ADD: "83 /0 ib", "05 id", "81 /0 id").
 */
static inline void jit_emit_alu_ri(struct jit_emit *e, enum jit_alu op, bool w64,
                                   enum jit_reg dst, int32_t imm)
{
    unsigned rex = jit_rex_len(w64, 0, -1, dst, false);

    if (jit_fits_s8(imm)) {
        if (!jit_emit_room(e, rex + 3)) {
            return;
        }
        jit_put_rex(e, w64, 0, -1, dst, false);
        jit_put8(e, 0x83);
        jit_put8(e, 0xc0 | (op << 3) | (dst & 7));
        jit_put8(e, (uint8_t)imm);
    } else if (dst == JIT_RAX) {
        if (!jit_emit_room(e, rex + 5)) {
            return;
        }
        jit_put_rex(e, w64, 0, -1, dst, false);
        jit_put8(e, op * 8 + 5);
        jit_put32(e, (uint32_t)imm);
    } else {
        if (!jit_emit_room(e, rex + 6)) {
            return;
        }
        jit_put_rex(e, w64, 0, -1, dst, false);
        jit_put8(e, 0x81);
        jit_put8(e, 0xc0 | (op << 3) | (dst & 7));
        jit_put32(e, (uint32_t)imm);
    }
}

/* TEST r/m, r: 85 /r (flags of a AND b, no result). */
static inline void jit_emit_test_rr(struct jit_emit *e, bool w64, enum jit_reg a, enum jit_reg b)
{
    jit_emit_op_rr(e, w64, 0x85, -1, b, a);
}

/* ---- Stack ------------------------------------------------------------------------------- */

/* PUSH r64: 50+rd, REX.B for R8-R15 (64-bit operand size by default, SDM vol. 2A 2.2.1.7). */
static inline void jit_emit_push(struct jit_emit *e, enum jit_reg r)
{
    if (!jit_emit_room(e, jit_rex_len(false, 0, -1, r, false) + 1)) {
        return;
    }
    jit_put_rex(e, false, 0, -1, r, false);
    jit_put8(e, 0x50 + (r & 7));
}

/* POP r64: 58+rd. */
static inline void jit_emit_pop(struct jit_emit *e, enum jit_reg r)
{
    if (!jit_emit_room(e, jit_rex_len(false, 0, -1, r, false) + 1)) {
        return;
    }
    jit_put_rex(e, false, 0, -1, r, false);
    jit_put8(e, 0x58 + (r & 7));
}

/* ---- Control flow ------------------------------------------------------------------------ */

/* RET: C3. */
static inline void jit_emit_ret(struct jit_emit *e)
{
    if (jit_emit_room(e, 1)) {
        jit_put8(e, 0xc3);
    }
}

/* n bytes of NOP (90 each): padding before a patchable jump, not in hot paths. */
static inline void jit_emit_nops(struct jit_emit *e, unsigned n)
{
    if (jit_emit_room(e, n)) {
        memset(e->p, 0x90, n);
        e->p += n;
    }
}

/*
 * The rel32 of a jump/call whose displacement field is at field (write view) so that it lands
 * on target (write view): the displacement counts from the end of the field, which ends every
 * instruction here (SDM vol. 2A, JMP: "relative to the next instruction").
 */
static inline int64_t jit_rel_from(const uint8_t *field, const uint8_t *target)
{
    return (int64_t)((intptr_t)target - (intptr_t)(field + 4));
}

/*
 * Sets the rel32 at field to reach target, both write-view pointers of the same buffer.
 * An aligned 4-byte store is atomic (SDM vol. 3A, "Guaranteed Atomic Operations"), which
 * block chaining will rely on when it patches code another vCPU may run; until then
 * alignment does not matter.
 * A NULL field (the emit overflowed) is ignored.
 */
static inline void jit_patch_rel32(uint8_t *field, const uint8_t *target)
{
    int32_t rel;

    if (!field) {
        return;
    }
    rel = (int32_t)jit_rel_from(field, target);
    if (((uintptr_t)field & 3) == 0) {
        __atomic_store_n((int32_t *)(void *)field, rel, __ATOMIC_RELAXED);
    } else {
        memcpy(field, &rel, 4);
    }
}

/* The current position, as a label for backward jumps and jit_patch_rel32. */
static inline uint8_t *jit_emit_label(const struct jit_emit *e)
{
    return e->p;
}

/*
 * JMP rel32 (E9 cd) to target, or NULL target for one to patch later: returns the write-view
 * address of the rel32 field (for jit_patch_rel32), NULL on overflow.  An unpatched rel32 is 0,
 * which falls through to the next instruction.
 */
static inline uint8_t *jit_emit_jmp(struct jit_emit *e, const uint8_t *target)
{
    uint8_t *field;

    if (!jit_emit_room(e, 5)) {
        return NULL;
    }
    jit_put8(e, 0xe9);
    field = e->p;
    jit_put32(e, 0);
    if (target) {
        jit_patch_rel32(field, target);
    }
    return field;
}

/* As jit_emit_jmp, padded with NOPs first so that the rel32 is 4-byte aligned. */
static inline uint8_t *jit_emit_jmp_aligned(struct jit_emit *e, const uint8_t *target)
{
    jit_emit_nops(e, (unsigned)(-(uintptr_t)(e->p + 1) & 3));
    return jit_emit_jmp(e, target);
}

/* Jcc rel32 (0F 80+cc cd); same contract as jit_emit_jmp. */
static inline uint8_t *jit_emit_jcc(struct jit_emit *e, enum jit_cc cc, const uint8_t *target)
{
    uint8_t *field;

    if (!jit_emit_room(e, 6)) {
        return NULL;
    }
    jit_put8(e, 0x0f);
    jit_put8(e, 0x80 + cc);
    field = e->p;
    jit_put32(e, 0);
    if (target) {
        jit_patch_rel32(field, target);
    }
    return field;
}

/* JMP r/m64 through a register: FF /4. */
/*
 * JMP rel32 (E9 cd) to an exec-space address of the same buffer (so within +-2 GiB); one out
 * of reach is an overflow.
 */
static inline void jit_emit_jmp_abs(struct jit_emit *e, uintptr_t target)
{
    int64_t rel;

    if (!jit_emit_room(e, 5)) {
        return;
    }
    rel = (int64_t)(target - jit_emit_rx(e, e->p + 5));
    if (!jit_fits_s32(rel)) {
        e->overflow = true;
        return;
    }
    jit_put8(e, 0xe9);
    jit_put32(e, (uint32_t)rel);
}

static inline void jit_emit_jmp_reg(struct jit_emit *e, enum jit_reg r)
{
    jit_emit_op_rr(e, false, 0xff, -1, 4, r);
}

/* CALL r/m64 through a register: FF /2. */
static inline void jit_emit_call_reg(struct jit_emit *e, enum jit_reg r)
{
    jit_emit_op_rr(e, false, 0xff, -1, 2, r);
}

/*
 * CALL rel32 (E8 cd) to an exec-space address: false (nothing written) when target is more
 * than +-2 GiB from the end of the instruction in the exec view.
 */
static inline bool jit_emit_call_rel32(struct jit_emit *e, uintptr_t target)
{
    int64_t rel = (int64_t)(target - jit_emit_rx(e, e->p + 5));

    if (!jit_fits_s32(rel)) {
        return false;
    }
    if (jit_emit_room(e, 5)) {
        jit_put8(e, 0xe8);
        jit_put32(e, (uint32_t)(int32_t)rel);
    }
    return true;
}

/* MOV scratch, imm64; CALL scratch: reaches anywhere, 13 bytes, clobbers scratch. */
static inline void jit_emit_call_far(struct jit_emit *e, uintptr_t target, enum jit_reg scratch)
{
    jit_emit_mov_r64_imm64(e, scratch, target);
    jit_emit_call_reg(e, scratch);
}

/*
 * Calls a host function: rel32 when in reach, else through R11, which the SysV ABI leaves
 * free at a call (caller-saved, no argument: psABI 3.2.3).  The stack must be 16-byte aligned
 * at the call (psABI 3.2.2); that is the caller's business.
 */
static inline void jit_emit_call(struct jit_emit *e, const void *fn)
{
    if (!jit_emit_call_rel32(e, (uintptr_t)fn)) {
        jit_emit_call_far(e, (uintptr_t)fn, JIT_R11);
    }
}

#endif
