/*
 * The x86 opcode maps (SDM vol. 2, appendix A, tables ): one
 * byte, 0F, 0F38 and 0F3A, the ModRM.reg groups (table A-6) and the
 * mandatory-prefix variants.  const data, read by decode.c from any thread.
 *
 * General-purpose instructions carry their operation and operand forms.
 * x87, MMX, SSE and AVX carry only what fixes their length (ModRM, an
 * imm8); they decode to OP_X87 / OP_MMX / OP_SSE / OP_AVX.  Where the host
 * (AMD Zen) raises #UD for an encoding that exists on other CPUs (VMX,
 * GETSEC, femms) the entry says F_UD; 3DNow!, XOP and the group 7/9/15
 * details are special cases in decode.c.  Designated initialisers keep the
 * opcode next to its entry; a missing entry is all-zero, which no map
 * leaves (the 0F38/0F3A SSE rows are filled whole).
 */
#include "accel/tcg/decode-tables.h"

#define M F_MODRM
#define L F_LOCK
#define D(o, f, a, b, c) { OP_##o, (f), { O_##a, O_##b, O_##c }, 0 }
#define N(o, f) { OP_##o, (f), { 0, 0, 0 }, 0 }
#define GRP(n, f) { OP_INVALID, F_GRP | F_MODRM | (f), { 0, 0, 0 }, (n) }
#define VAR(n, f) { OP_INVALID, F_PFX | (f), { 0, 0, 0 }, (n) }
#define SPEC(n, f) { OP_INVALID, F_SPEC | (f), { 0, 0, 0 }, (n) }
#define UD { OP_INVALID, F_UD, { 0, 0, 0 }, 0 }
#define UDM { OP_INVALID, F_UD | F_MODRM, { 0, 0, 0 }, 0 }
#define SSE { OP_SSE, F_MODRM, { 0, 0, 0 }, 0 }
#define SSEI { OP_SSE, F_MODRM | F_IMM8, { 0, 0, 0 }, 0 }

/* Group numbers (index into dec_groups). */
enum {
    G1_80, G1_81, G1_82, G1_83, G2_C0, G2_C1, G2_D0, G2_D1, G2_D2, G2_D3,
    G3_F6, G3_F7, G4_FE, G5_FF, G6_0F00, G8_0FBA, G16_0F18, G_0F0D,
    G12_0F71, G13_0F72, G14_0F73,
};

/* Variant numbers (index into dec_variants). */
enum {
    V_0FB8, V_0FBC, V_0FBD, V_0F78, V_0F79, V_0F38F0, V_0F38F1, V_0F38F6, V_0F3882, V_0FC3,
};

/* The eight ALU operations share a row shape: Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib rAX,Iz. */
#define ALU_ROW(base, o, lk) \
    [base + 0] = D(o, M | lk, Eb, Gb, NONE), \
    [base + 1] = D(o, M | lk, Ev, Gv, NONE), \
    [base + 2] = D(o, M, Gb, Eb, NONE), \
    [base + 3] = D(o, M, Gv, Ev, NONE), \
    [base + 4] = D(o, 0, AL, Ib, NONE), \
    [base + 5] = D(o, 0, rAX, Iz, NONE)

#define R8(base, ...) \
    [base + 0] = __VA_ARGS__, [base + 1] = __VA_ARGS__, [base + 2] = __VA_ARGS__, \
    [base + 3] = __VA_ARGS__, [base + 4] = __VA_ARGS__, [base + 5] = __VA_ARGS__, \
    [base + 6] = __VA_ARGS__, [base + 7] = __VA_ARGS__
#define R16(base, ...) R8(base, __VA_ARGS__), R8(base + 8, __VA_ARGS__)

/* One-byte map (SDM vol. 2, table A-2). */
const struct dec_entry dec_map0[256] = {
    ALU_ROW(0x00, ADD, L),
    [0x06] = D(PUSH, F_I64, ES, NONE, NONE),
    [0x07] = D(POP, F_I64, ES, NONE, NONE),
    ALU_ROW(0x08, OR, L),
    [0x0e] = D(PUSH, F_I64, CS, NONE, NONE),
    [0x0f] = UD,                       /* escape, handled in decode.c */
    ALU_ROW(0x10, ADC, L),
    [0x16] = D(PUSH, F_I64, SS, NONE, NONE),
    [0x17] = D(POP, F_I64, SS, NONE, NONE),
    ALU_ROW(0x18, SBB, L),
    [0x1e] = D(PUSH, F_I64, DS, NONE, NONE),
    [0x1f] = D(POP, F_I64, DS, NONE, NONE),
    ALU_ROW(0x20, AND, L),
    [0x26] = UD,                       /* prefixes never reach the table */
    [0x27] = N(DAA, F_I64),
    ALU_ROW(0x28, SUB, L),
    [0x2e] = UD,
    [0x2f] = N(DAS, F_I64),
    ALU_ROW(0x30, XOR, L),
    [0x36] = UD,
    [0x37] = N(AAA, F_I64),
    ALU_ROW(0x38, CMP, 0),
    [0x3e] = UD,
    [0x3f] = N(AAS, F_I64),
    R8(0x40, D(INC, 0, Zv, NONE, NONE)),   /* REX in 64-bit mode */
    R8(0x48, D(DEC, 0, Zv, NONE, NONE)),
    R8(0x50, D(PUSH, F_D64, Zv, NONE, NONE)),
    R8(0x58, D(POP, F_D64, Zv, NONE, NONE)),
    [0x60] = N(PUSHA, F_I64),
    [0x61] = N(POPA, F_I64),
    [0x62] = D(BOUND, M | F_I64 | F_MEM, Gv, Ma, NONE),   /* or EVEX */
    [0x63] = SPEC(SP_ARPL, M),
    [0x64] = UD, [0x65] = UD, [0x66] = UD, [0x67] = UD,
    [0x68] = D(PUSH, F_D64, Iz, NONE, NONE),
    [0x69] = D(IMUL, M, Gv, Ev, Iz),
    [0x6a] = D(PUSH, F_D64, Ibs, NONE, NONE),
    [0x6b] = D(IMUL, M, Gv, Ev, Ibs),
    [0x6c] = D(INS, 0, Yb, DX, NONE),
    [0x6d] = D(INS, 0, Yv, DX, NONE),
    [0x6e] = D(OUTS, 0, DX, Xb, NONE),
    [0x6f] = D(OUTS, 0, DX, Xv, NONE),
    R16(0x70, D(JCC, F_D64, Jb, NONE, NONE)),
    [0x80] = GRP(G1_80, 0),
    [0x81] = GRP(G1_81, 0),
    [0x82] = GRP(G1_82, F_I64),
    [0x83] = GRP(G1_83, 0),
    [0x84] = D(TEST, M, Eb, Gb, NONE),
    [0x85] = D(TEST, M, Ev, Gv, NONE),
    [0x86] = D(XCHG, M | L, Eb, Gb, NONE),
    [0x87] = D(XCHG, M | L, Ev, Gv, NONE),
    [0x88] = D(MOV, M, Eb, Gb, NONE),
    [0x89] = D(MOV, M, Ev, Gv, NONE),
    [0x8a] = D(MOV, M, Gb, Eb, NONE),
    [0x8b] = D(MOV, M, Gv, Ev, NONE),
    [0x8c] = D(MOV_SREG, M, Ev, Sw, NONE),    /* memory form is 16-bit */
    [0x8d] = D(LEA, M | F_MEM, Gv, M, NONE),
    [0x8e] = D(MOV_SREG, M, Sw, Ev, NONE),   /* memory form is 16-bit */
    [0x8f] = SPEC(SP_8F, M | F_D64),
    [0x90] = SPEC(SP_NOP90, 0),
    /* xchg rAX, reg: capstone's order; the operation is symmetric */
    [0x91] = D(XCHG, 0, rAX, Zv, NONE), [0x92] = D(XCHG, 0, rAX, Zv, NONE),
    [0x93] = D(XCHG, 0, rAX, Zv, NONE), [0x94] = D(XCHG, 0, rAX, Zv, NONE),
    [0x95] = D(XCHG, 0, rAX, Zv, NONE), [0x96] = D(XCHG, 0, rAX, Zv, NONE),
    [0x97] = D(XCHG, 0, rAX, Zv, NONE),
    [0x98] = N(CBW, 0),
    [0x99] = N(CWD, 0),
    [0x9a] = D(CALL_FAR, F_I64, Ap, NONE, NONE),
    [0x9b] = N(X87, 0),                /* fwait */
    [0x9c] = N(PUSHF, F_D64),
    [0x9d] = N(POPF, F_D64),
    [0x9e] = N(SAHF, 0),
    [0x9f] = N(LAHF, 0),
    [0xa0] = D(MOV, 0, AL, Ob, NONE),
    [0xa1] = D(MOV, 0, rAX, Ov, NONE),
    [0xa2] = D(MOV, 0, Ob, AL, NONE),
    [0xa3] = D(MOV, 0, Ov, rAX, NONE),
    [0xa4] = D(MOVS, 0, Yb, Xb, NONE),
    [0xa5] = D(MOVS, 0, Yv, Xv, NONE),
    [0xa6] = D(CMPS, 0, Xb, Yb, NONE),
    [0xa7] = D(CMPS, 0, Xv, Yv, NONE),
    [0xa8] = D(TEST, 0, AL, Ib, NONE),
    [0xa9] = D(TEST, 0, rAX, Iz, NONE),
    [0xaa] = D(STOS, 0, Yb, AL, NONE),
    [0xab] = D(STOS, 0, Yv, rAX, NONE),
    [0xac] = D(LODS, 0, AL, Xb, NONE),
    [0xad] = D(LODS, 0, rAX, Xv, NONE),
    [0xae] = D(SCAS, 0, AL, Yb, NONE),
    [0xaf] = D(SCAS, 0, rAX, Yv, NONE),
    R8(0xb0, D(MOV, 0, Zb, Ib, NONE)),
    R8(0xb8, D(MOV, 0, Zv, Iv, NONE)),
    [0xc0] = GRP(G2_C0, 0),
    [0xc1] = GRP(G2_C1, 0),
    [0xc2] = D(RET, F_D64, Iw, NONE, NONE),
    [0xc3] = N(RET, F_D64),
    [0xc4] = D(LES, M | F_I64 | F_MEM, Gv, Mp, NONE),   /* or VEX3 */
    [0xc5] = D(LDS, M | F_I64 | F_MEM, Gv, Mp, NONE),   /* or VEX2 */
    [0xc6] = SPEC(SP_C6C7, M),
    [0xc7] = SPEC(SP_C6C7, M),
    [0xc8] = D(ENTER, F_D64, Iw, Ib, NONE),
    [0xc9] = N(LEAVE, F_D64),
    [0xca] = D(RET_FAR, 0, Iw, NONE, NONE),
    [0xcb] = N(RET_FAR, 0),
    [0xcc] = N(INT3, 0),
    [0xcd] = D(INT, 0, Ib, NONE, NONE),
    [0xce] = N(INTO, F_I64),
    [0xcf] = N(IRET, 0),
    [0xd0] = GRP(G2_D0, 0),
    [0xd1] = GRP(G2_D1, 0),
    [0xd2] = GRP(G2_D2, 0),
    [0xd3] = GRP(G2_D3, 0),
    [0xd4] = D(AAM, F_I64, Ib, NONE, NONE),
    [0xd5] = D(AAD, F_I64, Ib, NONE, NONE),
    [0xd6] = N(SALC, F_I64),
    [0xd7] = N(XLAT, 0),
    R8(0xd8, SPEC(SP_X87, M)),
    [0xe0] = D(LOOPNE, F_D64, Jb, NONE, NONE),
    [0xe1] = D(LOOPE, F_D64, Jb, NONE, NONE),
    [0xe2] = D(LOOP, F_D64, Jb, NONE, NONE),
    [0xe3] = D(JCXZ, F_D64, Jb, NONE, NONE),
    [0xe4] = D(IN, 0, AL, Ib, NONE),
    [0xe5] = D(IN, 0, eAX, Ib, NONE),
    [0xe6] = D(OUT, 0, Ib, AL, NONE),
    [0xe7] = D(OUT, 0, Ib, eAX, NONE),
    [0xe8] = D(CALL, F_D64, Jz, NONE, NONE),
    [0xe9] = D(JMP, F_D64, Jz, NONE, NONE),
    [0xea] = D(JMP_FAR, F_I64, Ap, NONE, NONE),
    [0xeb] = D(JMP, F_D64, Jb, NONE, NONE),
    [0xec] = D(IN, 0, AL, DX, NONE),
    [0xed] = D(IN, 0, eAX, DX, NONE),
    [0xee] = D(OUT, 0, DX, AL, NONE),
    [0xef] = D(OUT, 0, DX, eAX, NONE),
    [0xf0] = UD,
    [0xf1] = N(INT1, 0),
    [0xf2] = UD, [0xf3] = UD,
    [0xf4] = N(HLT, 0),
    [0xf5] = N(CMC, 0),
    [0xf6] = GRP(G3_F6, 0),
    [0xf7] = GRP(G3_F7, 0),
    [0xf8] = N(CLC, 0),
    [0xf9] = N(STC, 0),
    [0xfa] = N(CLI, 0),
    [0xfb] = N(STI, 0),
    [0xfc] = N(CLD, 0),
    [0xfd] = N(STD, 0),
    [0xfe] = GRP(G4_FE, 0),
    [0xff] = GRP(G5_FF, 0),
};

/* Two-byte map, 0F xx (SDM vol. 2, table A-3). */
const struct dec_entry dec_map1[256] = {
    [0x00] = GRP(G6_0F00, F_NOREAL),
    [0x01] = SPEC(SP_0F01, M),
    [0x02] = D(LAR, M | F_NOREAL, Gv, Ew, NONE),
    [0x03] = D(LSL, M | F_NOREAL, Gv, Ew, NONE),
    [0x04] = UD,
    [0x05] = N(SYSCALL, 0),
    [0x06] = N(CLTS, 0),
    [0x07] = N(SYSRET, 0),
    [0x08] = N(INVD, 0),
    [0x09] = N(WBINVD, 0),
    [0x0a] = UD,
    [0x0b] = N(UD2, 0),
    [0x0c] = UD,
    [0x0d] = GRP(G_0F0D, 0),
    [0x0e] = UD,                       /* femms: no 3DNow! on Zen */
    [0x0f] = SPEC(SP_3DNOW, M),
    R8(0x10, SSE),
    [0x18] = GRP(G16_0F18, 0),
    [0x19] = SPEC(SP_HINTNOP, M), [0x1a] = SPEC(SP_HINTNOP, M),
    [0x1b] = SPEC(SP_HINTNOP, M), [0x1c] = SPEC(SP_HINTNOP, M),
    [0x1d] = SPEC(SP_HINTNOP, M), [0x1e] = SPEC(SP_HINTNOP, M),
    [0x1f] = SPEC(SP_HINTNOP, M),
    [0x20] = SPEC(SP_MOVCR, M), [0x22] = SPEC(SP_MOVCR, M),
    [0x21] = SPEC(SP_MOVDR, M), [0x23] = SPEC(SP_MOVDR, M),
    [0x24] = UD, [0x25] = UD, [0x26] = UD, [0x27] = UD,
    R8(0x28, SSE),
    [0x30] = N(WRMSR, 0),
    [0x31] = N(RDTSC, 0),
    [0x32] = N(RDMSR, 0),
    [0x33] = N(RDPMC, 0),
    [0x34] = N(SYSENTER, 0),
    [0x35] = N(SYSEXIT, 0),
    [0x36] = UD,
    [0x37] = UD,                       /* getsec: Intel SMX only */
    [0x38] = UD, [0x39] = UD, [0x3a] = UD, [0x3b] = UD,   /* escapes */
    [0x3c] = UD, [0x3d] = UD, [0x3e] = UD, [0x3f] = UD,
    R16(0x40, D(CMOVCC, M, Gv, Ev, NONE)),
    R16(0x50, SSE),
    R16(0x60, SSE),
    [0x70] = SSEI,
    [0x71] = GRP(G12_0F71, 0),
    [0x72] = GRP(G13_0F72, 0),
    [0x73] = GRP(G14_0F73, 0),
    [0x74] = SSE, [0x75] = SSE, [0x76] = SSE,
    [0x77] = N(MMX, 0),                /* emms */
    [0x78] = VAR(V_0F78, M),
    [0x79] = VAR(V_0F79, M),
    [0x7a] = UD, [0x7b] = UD,
    [0x7c] = SSE, [0x7d] = SSE, [0x7e] = SSE, [0x7f] = SSE,
    R16(0x80, D(JCC, F_D64, Jz, NONE, NONE)),
    R16(0x90, D(SETCC, M, Eb, NONE, NONE)),
    [0xa0] = D(PUSH, F_D64, FS, NONE, NONE),
    [0xa1] = D(POP, F_D64, FS, NONE, NONE),
    [0xa2] = N(CPUID, 0),
    [0xa3] = D(BT, M, Ev, Gv, NONE),
    [0xa4] = D(SHLD, M, Ev, Gv, Ib),
    [0xa5] = D(SHLD, M, Ev, Gv, CL),
    [0xa6] = UD, [0xa7] = UD,
    [0xa8] = D(PUSH, F_D64, GS, NONE, NONE),
    [0xa9] = D(POP, F_D64, GS, NONE, NONE),
    [0xaa] = N(RSM, 0),
    [0xab] = D(BTS, M | L, Ev, Gv, NONE),
    [0xac] = D(SHRD, M, Ev, Gv, Ib),
    [0xad] = D(SHRD, M, Ev, Gv, CL),
    [0xae] = SPEC(SP_0FAE, M),
    [0xaf] = D(IMUL, M, Gv, Ev, NONE),
    [0xb0] = D(CMPXCHG, M | L, Eb, Gb, NONE),
    [0xb1] = D(CMPXCHG, M | L, Ev, Gv, NONE),
    [0xb2] = D(LSS, M | F_MEM, Gv, Mp, NONE),
    [0xb3] = D(BTR, M | L, Ev, Gv, NONE),
    [0xb4] = D(LFS, M | F_MEM, Gv, Mp, NONE),
    [0xb5] = D(LGS, M | F_MEM, Gv, Mp, NONE),
    [0xb6] = D(MOVZX, M, Gv, Eb, NONE),
    [0xb7] = D(MOVZX, M, Gv, Ew, NONE),
    [0xb8] = VAR(V_0FB8, M),
    [0xb9] = D(UD1, M, Gv, Ev, NONE),
    [0xba] = GRP(G8_0FBA, 0),
    [0xbb] = D(BTC, M | L, Ev, Gv, NONE),
    [0xbc] = VAR(V_0FBC, M),
    [0xbd] = VAR(V_0FBD, M),
    [0xbe] = D(MOVSX, M, Gv, Eb, NONE),
    [0xbf] = D(MOVSX, M, Gv, Ew, NONE),
    [0xc0] = D(XADD, M | L, Eb, Gb, NONE),
    [0xc1] = D(XADD, M | L, Ev, Gv, NONE),
    [0xc2] = SSEI,
    [0xc3] = VAR(V_0FC3, M),           /* movnti: a plain store */
    [0xc4] = SSEI, [0xc5] = SSEI, [0xc6] = SSEI,
    [0xc7] = SPEC(SP_0FC7, M),
    R8(0xc8, D(BSWAP, 0, Zv, NONE, NONE)),
    R16(0xd0, SSE),
    R16(0xe0, SSE),
    R8(0xf0, SSE), [0xf8] = SSE, [0xf9] = SSE, [0xfa] = SSE, [0xfb] = SSE,
    [0xfc] = SSE, [0xfd] = SSE, [0xfe] = SSE,
    [0xff] = N(UD0, 0),                /* AMD: no ModRM (APM vol. 3, UD0) */
};

/* Three-byte map 0F 38 (SDM vol. 2, table A-4): SSSE3..SSE4.2, AES, SHA and
 * the general-purpose movbe, crc32, adcx/adox. */
const struct dec_entry dec_map2[256] = {
    R16(0x00, SSE), R16(0x10, SSE), R16(0x20, SSE), R16(0x30, SSE),
    R16(0x40, SSE), R16(0x50, SSE), R16(0x60, SSE), R16(0x70, SSE),
    [0x80] = SSE, [0x81] = SSE, [0x82] = VAR(V_0F3882, M), [0x83] = SSE,
    [0x84] = SSE, [0x85] = SSE, [0x86] = SSE, [0x87] = SSE, R8(0x88, SSE),
    R16(0x90, SSE), R16(0xa0, SSE), R16(0xb0, SSE),
    R16(0xc0, SSE), R16(0xd0, SSE), R16(0xe0, SSE),
    [0xf0] = VAR(V_0F38F0, M),
    [0xf1] = VAR(V_0F38F1, M),
    [0xf2] = SSE, [0xf3] = SSE, [0xf4] = SSE, [0xf5] = SSE,
    [0xf6] = VAR(V_0F38F6, M),
    [0xf7] = SSE, R8(0xf8, SSE),
};

/* Three-byte map 0F 3A (SDM vol. 2, table A-5): all take an imm8. */
const struct dec_entry dec_map3[256] = {
    R16(0x00, SSEI), R16(0x10, SSEI), R16(0x20, SSEI), R16(0x30, SSEI),
    R16(0x40, SSEI), R16(0x50, SSEI), R16(0x60, SSEI), R16(0x70, SSEI),
    R16(0x80, SSEI), R16(0x90, SSEI), R16(0xa0, SSEI), R16(0xb0, SSEI),
    R16(0xc0, SSEI), R16(0xd0, SSEI), R16(0xe0, SSEI), R16(0xf0, SSEI),
};

#define GRP1(fa, fb) { \
    D(ADD, L, fa, fb, NONE), D(OR, L, fa, fb, NONE), D(ADC, L, fa, fb, NONE), \
    D(SBB, L, fa, fb, NONE), D(AND, L, fa, fb, NONE), D(SUB, L, fa, fb, NONE), \
    D(XOR, L, fa, fb, NONE), D(CMP, 0, fa, fb, NONE) }
#define GRP2(fa, fb) { \
    D(ROL, 0, fa, fb, NONE), D(ROR, 0, fa, fb, NONE), D(RCL, 0, fa, fb, NONE), \
    D(RCR, 0, fa, fb, NONE), D(SHL, 0, fa, fb, NONE), D(SHR, 0, fa, fb, NONE), \
    D(SAL, 0, fa, fb, NONE), D(SAR, 0, fa, fb, NONE) }
#define GRP3(e, iz) { \
    D(TEST, 0, e, iz, NONE), D(TEST, 0, e, iz, NONE), D(NOT, L, e, NONE, NONE), \
    D(NEG, L, e, NONE, NONE), D(MUL, 0, e, NONE, NONE), D(IMUL, 0, e, NONE, NONE), \
    D(DIV, 0, e, NONE, NONE), D(IDIV, 0, e, NONE, NONE) }
#define SSE_G D(SSE, F_REG | F_IMM8, NONE, NONE, NONE)

/* ModRM.reg groups (SDM vol. 2, table A-6). */
const struct dec_entry dec_groups[][8] = {
    [G1_80] = GRP1(Eb, Ib),
    [G1_81] = GRP1(Ev, Iz),
    [G1_82] = GRP1(Eb, Ib),
    [G1_83] = GRP1(Ev, Ibs),
    [G2_C0] = GRP2(Eb, Ib),
    [G2_C1] = GRP2(Ev, Ib),
    [G2_D0] = GRP2(Eb, I1),
    [G2_D1] = GRP2(Ev, I1),
    [G2_D2] = GRP2(Eb, CL),
    [G2_D3] = GRP2(Ev, CL),
    [G3_F6] = GRP3(Eb, Ib),
    [G3_F7] = GRP3(Ev, Iz),
    [G4_FE] = { D(INC, L, Eb, NONE, NONE), D(DEC, L, Eb, NONE, NONE),
                UDM, UDM, UDM, UDM, UDM, UDM },
    [G5_FF] = { D(INC, L, Ev, NONE, NONE), D(DEC, L, Ev, NONE, NONE),
                D(CALL, F_D64, Ev, NONE, NONE), D(CALL_FAR, F_MEM, Mp, NONE, NONE),
                D(JMP, F_D64, Ev, NONE, NONE), D(JMP_FAR, F_MEM, Mp, NONE, NONE),
                D(PUSH, F_D64, Ev, NONE, NONE), UDM },
    /* sldt/str to a register take the operand size; to memory 16 bits */
    [G6_0F00] = { D(SLDT, 0, Ev, NONE, NONE), D(STR, 0, Ev, NONE, NONE),
                  D(LLDT, 0, Ew, NONE, NONE), D(LTR, 0, Ew, NONE, NONE),
                  /* LOCK VERW m16 runs on the host (checked natively),
                   * though the SDM lists no LOCK for it */
                  D(VERR, 0, Ew, NONE, NONE), D(VERW, L, Ew, NONE, NONE),
                  UDM, UDM },
    [G8_0FBA] = { UDM, UDM, UDM, UDM,
                  D(BT, 0, Ev, Ib, NONE), D(BTS, L, Ev, Ib, NONE),
                  D(BTR, L, Ev, Ib, NONE), D(BTC, L, Ev, Ib, NONE) },
    /* prefetchnta/t0/t1/t2 with memory; everything else is a hint nop */
    [G16_0F18] = { D(PREFETCH, 0, Mb, NONE, NONE), D(PREFETCH, 0, Mb, NONE, NONE),
                   D(PREFETCH, 0, Mb, NONE, NONE), D(PREFETCH, 0, Mb, NONE, NONE),
                   D(NOP, 0, Ev, NONE, NONE), D(NOP, 0, Ev, NONE, NONE),
                   D(NOP, 0, Ev, NONE, NONE), D(NOP, 0, Ev, NONE, NONE) },
    /* AMD prefetch/prefetchw; the other reg values alias them (APM vol. 3) */
    [G_0F0D] = { D(PREFETCH, 0, Mb, NONE, NONE), D(PREFETCH, 0, Mb, NONE, NONE),
                 D(PREFETCH, 0, Mb, NONE, NONE), D(PREFETCH, 0, Mb, NONE, NONE),
                 D(PREFETCH, 0, Mb, NONE, NONE), D(PREFETCH, 0, Mb, NONE, NONE),
                 D(PREFETCH, 0, Mb, NONE, NONE), D(PREFETCH, 0, Mb, NONE, NONE) },
    /* MMX/SSE shifts by imm8: only register forms of /2 /4 /6 (and /3 /7) */
    [G12_0F71] = { UDM, UDM, SSE_G, UDM, SSE_G, UDM, SSE_G, UDM },
    [G13_0F72] = { UDM, UDM, SSE_G, UDM, SSE_G, UDM, SSE_G, UDM },
    [G14_0F73] = { UDM, UDM, SSE_G, SSE_G, UDM, UDM, SSE_G, SSE_G },
};

/* Mandatory-prefix variants: none, 66, F3, F2 (SDM vol. 2, A.3). */
const struct dec_entry dec_variants[][4] = {
    [V_0FB8] = { UDM, UDM, D(POPCNT, M, Gv, Ev, NONE), UDM },
    [V_0FBC] = { D(BSF, M, Gv, Ev, NONE), D(BSF, M, Gv, Ev, NONE),
                 D(TZCNT, M, Gv, Ev, NONE), D(BSF, M, Gv, Ev, NONE) },
    [V_0FBD] = { D(BSR, M, Gv, Ev, NONE), D(BSR, M, Gv, Ev, NONE),
                 D(LZCNT, M, Gv, Ev, NONE), D(BSR, M, Gv, Ev, NONE) },
    /* SSE4a extrq/insertq (AMD); without a prefix VMREAD/VMWRITE (Intel) */
    [V_0F78] = { UDM, D(SSE, M | F_REG, Ib, Ib, NONE), UDM,
                 D(SSE, M | F_REG, Ib, Ib, NONE) },
    [V_0F79] = { UDM, D(SSE, M | F_REG, NONE, NONE, NONE), UDM,
                 D(SSE, M | F_REG, NONE, NONE, NONE) },
    [V_0F38F0] = { D(MOVBE, M | F_MEM, Gv, Mv, NONE), D(MOVBE, M | F_MEM, Gv, Mv, NONE),
                   UDM, D(CRC32, M, Gy, Eb, NONE) },
    [V_0F38F1] = { D(MOVBE, M | F_MEM, Mv, Gv, NONE), D(MOVBE, M | F_MEM, Mv, Gv, NONE),
                   UDM, D(CRC32, M, Gy, Ev, NONE) },
    /* movnti with 66/F2/F3: #UD on the host (checked natively) */
    [V_0FC3] = { D(MOV, M | F_MEM, My, Gy, NONE), UDM, UDM, UDM },
    /* invpcid r32/64, m128: 66 only, memory only (SDM vol. 2, INVPCID) */
    [V_0F3882] = { UDM, D(INVPCID, M | F_MEM, Gy, Mdq, NONE), UDM, UDM },
    [V_0F38F6] = { UDM, D(ADCX, M, Gy, Ey, NONE),
                   D(ADOX, M, Gy, Ey, NONE), UDM },
};

/* VEX map 0F38, opcodes F0..FF, by VEX.pp (none, 66, F3, F2): BMI1/BMI2
 * (SDM vol. 2, the entries of ANDN, BEXTR, BLSI, BZHI, MULX, PDEP, PEXT,
 * SARX/SHLX/SHRX).  F3 is group 17 (blsr/blsmsk/blsi by ModRM.reg),
 * handled in decode.c. */
const struct dec_entry dec_vex_map2_f0[16][4] = {
    [0x2] = { D(ANDN, M, Gy, By, Ey), UDM, UDM, UDM },
    [0x3] = { D(BLSR, M, By, Ey, NONE), UDM, UDM, UDM },
    [0x5] = { D(BZHI, M, Gy, Ey, By), UDM, D(PEXT, M, Gy, By, Ey),
              D(PDEP, M, Gy, By, Ey) },
    [0x6] = { UDM, UDM, UDM, D(MULX, M, Gy, By, Ey) },
    [0x7] = { D(BEXTR, M, Gy, Ey, By), D(SHLX, M, Gy, Ey, By),
              D(SARX, M, Gy, Ey, By), D(SHRX, M, Gy, Ey, By) },
};

/* VEX map 0F3A, opcodes F0..FF: rorx (F2). */
const struct dec_entry dec_vex_map3_f0[16][4] = {
    [0x0] = { UDM, UDM, UDM, D(RORX, M, Gy, Ey, Ib) },
};
