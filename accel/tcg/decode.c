/*
 * The x86 instruction decoder (DESIGN.md, "The software CPU", 1): bytes to
 * a struct insn (insn.h), driven by the const tables of decode-tables.c.
 *
 * One pass, no allocation, no state beyond the caller's struct insn, so any
 * thread may call it.  Every byte is read through FETCH, which checks the
 * 15-byte limit (SDM vol. 2, 2.3.11) and the caller's avail first, so the
 * decoder never reads bytes[avail] and reports the first missing byte.
 *
 * Encoding order (SDM vol. 2, 2.1): legacy prefixes, REX (64-bit mode,
 * only counts right before the opcode), or VEX/EVEX, opcode (map escape),
 * ModRM, SIB, displacement, immediates.
 *
 * Where Intel and AMD differ, this follows the host, AMD Zen: 66 shortens
 * near branches in 64-bit mode to 16 bits, direct and indirect (APM vol. 3,
 * "Near branches"), unless REX.W is present; REX.W does not widen far
 * pointers in memory (m16:32 for lss/lfs/lgs, far jmp/call); LOCK MOV CR0
 * reaches CR8 (APM vol. 2, "CR8"); UD0 (0F FF) has no ModRM; 3DNow!,
 * XOP/TBM, VMX, SMX and RTM encodings raise #UD.  Facts checked by running them on the
 * host (SIGILL = #UD): F2/F3 select a variant wherever they sit among the
 * prefixes, the last of them winning; 0F AE memory forms are #UD with
 * F2/F3 and with 66 except /6 /7; fences and rdrand/rdseed are #UD with
 * those prefixes; ES/CS/SS/DS overrides in 64-bit mode neither apply nor
 * cancel an earlier FS/GS one; REX.R does not change a segment register.
 *
 * SSE/AVX/AVX-512 and x87 are decoded for length only and permissively (an
 * opcode that exists on some CPU decodes); CPUID-gated features are the
 * executor's to refuse.
 *
 * Operand conventions the executor relies on:
 *   - immediates are sign-extended to 64 bits where the encoding says so
 *     (imm8 of 83/6B/6A, imm32 of 64-bit operations); OPK_IMM size is the
 *     operation's size for those, the immediate's own size otherwise;
 *   - OPK_REL: target = next rip + imm, truncated to the operand size;
 *   - string instructions: operands are OPK_MEM of the element size (at
 *     most 4 for ins/outs); the seg:[rSI] side (X) is insn->mem (segment
 *     after overrides, base rSI, has_mem set), the ES:[rDI] side (Y) is
 *     implicit and never overridden;
 *   - xlat: insn->mem is seg:[rBX] (AL is added by the executor), no operands;
 *   - lea: the memory operand has size 0 (no access);
 *   - mov Sreg/lar/lsl/sldt/str: a register operand holding a selector has
 *     the operand size (use its low 16 bits), a memory one 2 bytes;
 *   - xchg 90+r lists rAX first; 90 is nop, F3 90 pause, REX.B 90 xchg.
 */
#include <string.h>

#include "accel/tcg/decode-tables.h"
#include "arch/x86/cpu.h"

/* 16-bit addressing (SDM vol. 2, table 2-1): base and index by ModRM.rm. */
static const uint8_t base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
static const uint8_t index16[8] = { 6, 7, 6, 7, INSN_REG_NONE, INSN_REG_NONE,
                                    INSN_REG_NONE, INSN_REG_NONE };

static const uint8_t prefix_seg[8] = {
    /* indexed by (byte >> 3) & 7 for 26 2E 36 3E */
    0, 0, 0, 0, S_ES, S_CS, S_SS, S_DS,
};

/* x87 encodings the host raises #UD for (checked natively, every ModRM):
 * bit (ModRM - C0) of x87_ud_reg[opcode - D8] for register forms, bit
 * ModRM.reg of x87_ud_mem[opcode - D8] for memory forms (D9 /1, DB /4,
 * DB /6, DD /5 are reserved; SDM vol. 2, table ). */
static const uint64_t x87_ud_reg[8] = {
    0x0000000000000000ull,
    0x000080cc00fe0000ull,
    0xfffffdff00000000ull,
    0xff0000e000000000ull,
    0x0000000000000000ull,
    0xffff000000000000ull,
    0x00000000fd000000ull,
    0xff0000fe00000000ull,
};
static const uint8_t x87_ud_mem[8] = { 0, 0x02, 0, 0x50, 0, 0x20, 0, 0 };

/* VEX/EVEX map 1 opcodes that take an imm8 (SDM vol. 2, table A-3). */
static inline int vex_map1_imm8(unsigned op)
{
    return (op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6);
}

static inline uint64_t sext8(uint64_t v) { return (uint64_t)(int64_t)(int8_t)(uint8_t)v; }
static inline uint64_t sext16(uint64_t v) { return (uint64_t)(int64_t)(int16_t)(uint16_t)v; }
static inline uint64_t sext32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)(uint32_t)v; }

enum decode_status x86_decode(struct insn *in, const uint8_t *bytes, size_t avail,
                              enum cpu_mode mode, size_t *need)
{
    const int m64 = mode == MODE_LONG64;
    size_t i = 0, lim = avail < INSN_MAX_LEN ? avail : INSN_MAX_LEN;
    unsigned c, pfx = 0, rex = 0, seg = 0xff, last_rep = 0, map = 0;
    unsigned vex = 0, pp = 0, vex_w = 0, vex_l = 0, vvvv = 0;
    unsigned rr = 0, rx = 0, rb = 0, w = 0;        /* REX/VEX R X B W as 0/8 or 0/1 */
    unsigned modrm = 0, mod = 0, reg = 0, rm = 0;
    unsigned flags, op, opsize, adsize, lock_ok = 0, nform;
    bool lock_ud = false;
    uint8_t form[3];
    unsigned opsz_pfx;
    struct dec_entry tmp;
    const struct dec_entry *e;

    memset(in, 0, offsetof(struct insn, bytes));
    in->mem.base = INSN_REG_NONE;
    in->mem.index = INSN_REG_NONE;
    in->mem.scale = 1;

/* Reads the next byte, or stops: #GP past 15 bytes, truncated past avail. */
#define FETCH(v) do { if (i >= lim) goto out_short; (v) = bytes[i++]; } while (0)
#define PEEK(v) do { if (i >= lim) goto out_short; (v) = bytes[i]; } while (0)

    /* Legacy prefixes, any order and repeats; REX only counts when the
     * opcode follows it directly (SDM vol. 2, 2.2.1). */
    for (;;) {
        FETCH(c);
        switch (c) {
        case 0xf0: pfx |= PFX_LOCK; rex = 0; continue;
        case 0xf2: pfx |= PFX_REPNE; last_rep = c; rex = 0; continue;
        case 0xf3: pfx |= PFX_REP; last_rep = c; rex = 0; continue;
        case 0x66: pfx |= PFX_OPSIZE; rex = 0; continue;
        case 0x67: pfx |= PFX_ADSIZE; rex = 0; continue;
        case 0x26: case 0x2e: case 0x36: case 0x3e:
            /* 64-bit mode ignores ES/CS/SS/DS overrides (SDM vol. 1, 3.3.7.1) */
            if (!m64) {
                pfx |= PFX_SEG;
                seg = prefix_seg[(c >> 3) & 7];
            }
            rex = 0;
            continue;
        case 0x64: case 0x65:
            pfx |= PFX_SEG;
            seg = c == 0x64 ? S_FS : S_GS;
            rex = 0;
            continue;
        default:
            if (m64 && (c & 0xf0) == 0x40) {
                rex = c;
                continue;
            }
            break;
        }
        break;
    }
    if (rex) {
        w = (rex >> 3) & 1;
        rr = (rex & 4) << 1;
        rx = (rex & 2) << 2;
        rb = (rex & 1) << 3;
    }

    if (c == 0x0f) {
        FETCH(c);
        map = 1;
        if (c == 0x38 || c == 0x3a) {
            map = c == 0x38 ? 2 : 3;
            FETCH(c);
        }
    } else if (c == 0xc4 || c == 0xc5 || c == 0x62) {
        unsigned b1, b2, b3;

        /* Outside 64-bit mode these are LES/LDS/BOUND unless the next byte
         * would be a register ModRM (SDM vol. 2, 2.3.5). */
        PEEK(b1);
        if (m64 || (b1 & 0xc0) == 0xc0) {
            i++;
            if (mode == MODE_REAL16 || (pfx & (PFX_LOCK | PFX_OPSIZE | PFX_REP | PFX_REPNE)) ||
                rex)
                goto out_ud;
            if (c == 0xc5) {
                vex = 1;
                rr = (b1 & 0x80) ? 0 : 8;
                vvvv = (~b1 >> 3) & 15;
                vex_l = (b1 >> 2) & 1;
                pp = b1 & 3;
                map = 1;
            } else if (c == 0xc4) {
                vex = 1;
                FETCH(b2);
                rr = (b1 & 0x80) ? 0 : 8;
                rx = (b1 & 0x40) ? 0 : 8;
                rb = (b1 & 0x20) ? 0 : 8;
                map = b1 & 0x1f;
                vex_w = b2 >> 7;
                vvvv = (~b2 >> 3) & 15;
                vex_l = (b2 >> 2) & 1;
                pp = b2 & 3;
                if (map < 1 || map > 3)
                    goto out_ud;
            } else {
                /* EVEX P0 = R X B R' 0 0 m m, P1 = W vvvv 1 pp,
                 * P2 = z L'L b V' aaa (SDM vol. 2, 2.7.1) */
                vex = 2;
                FETCH(b2);
                FETCH(b3);
                rr = (b1 & 0x80) ? 0 : 8;
                rx = (b1 & 0x40) ? 0 : 8;
                rb = (b1 & 0x20) ? 0 : 8;
                map = b1 & 3;
                vex_w = b2 >> 7;
                vvvv = (~b2 >> 3) & 15;
                pp = b2 & 3;
                vex_l = (b3 >> 5) & 3;
                if ((b1 & 0x0c) || map == 0 || !(b2 & 4))
                    goto out_ud;
            }
            if (!m64) {
                rr = rx = rb = 0;
                vvvv &= 7;
            }
            w = m64 ? vex_w : 0;
            FETCH(c);
        }
    }

    in->map = (uint8_t)map;
    in->opcode = (uint8_t)c;
    opsz_pfx = pfx & PFX_OPSIZE;

    if (vex) {
        e = NULL;
        if (vex == 1 && map == 2 && c >= 0xf0)
            e = &dec_vex_map2_f0[c & 15][pp];
        else if (vex == 1 && map == 3 && c >= 0xf0)
            e = &dec_vex_map3_f0[c & 15][pp];
        if (e && (e->op != OP_INVALID || e->flags)) {
            /* BMI1/BMI2: VEX.L must be 0; rorx has no vvvv operand, so
             * vvvv must be 1111b (SDM vol. 2, RORX) */
            if (vex_l || (map == 3 && vvvv))
                goto out_ud;
        } else {
            unsigned f = F_MODRM;

            if (map == 3 || (map == 1 && vex_map1_imm8(c)))
                f |= F_IMM8;
            if (vex == 1 && map == 1 && c == 0x77)
                f = 0;              /* vzeroupper / vzeroall */
            tmp = (struct dec_entry){ vex == 2 ? OP_AVX512 : OP_AVX, (uint16_t)f,
                                      { 0, 0, 0 }, 0 };
            e = &tmp;
        }
    } else {
        e = map == 0 ? &dec_map0[c] : map == 1 ? &dec_map1[c]
          : map == 2 ? &dec_map2[c] : &dec_map3[c];
        if (e->flags & F_PFX) {
            unsigned sel = last_rep == 0xf3 ? 2 : last_rep == 0xf2 ? 3
                         : (pfx & PFX_OPSIZE) ? 1 : 0;

            /* a mandatory 66 selects the instruction, not the size; where
             * 66 selects the same operation as no prefix, it is the size */
            if (sel == 1 && dec_variants[e->ext][1].op != dec_variants[e->ext][0].op)
                opsz_pfx = 0;
            e = &dec_variants[e->ext][sel];
        }
    }

    flags = e->flags;
    if (m64 && (flags & F_I64))
        goto out_ud;
    if (flags & F_MODRM) {
        FETCH(modrm);
        mod = modrm >> 6;
        reg = ((modrm >> 3) & 7) | rr;
        rm = modrm & 7;
    } else if (flags & F_UD) {
        goto out_ud;
    }
    op = e->op;
    memcpy(form, e->form, 3);

    if (flags & F_GRP) {
        const struct dec_entry *g = &dec_groups[e->ext][(modrm >> 3) & 7];

        flags = (flags & ~F_GRP) | g->flags;
        op = g->op;
        memcpy(form, g->form, 3);
        /* 0F 18 with a register: reserved hint nop (SDM vol. 2, PREFETCHh) */
        if (map == 1 && c == 0x18 && mod == 3) {
            op = OP_NOP;
            form[0] = O_Ev;
        }
    } else if (vex == 1 && map == 2 && c == 0xf3) {
        /* group 17: blsr /1, blsmsk /2, blsi /3 */
        static const uint16_t g17[8] = { 0, OP_BLSR, OP_BLSMSK, OP_BLSI, 0, 0, 0, 0 };

        op = g17[(modrm >> 3) & 7];
        if (!op)
            goto out_ud;
    } else if (flags & F_SPEC) {
        unsigned r3 = (modrm >> 3) & 7;

        flags &= ~F_SPEC;
        switch (e->ext) {
        case SP_NOP90:
            /* 90 is xchg eax, eax; REX.B makes it xchg r8, rax; F3 90 is
             * pause (SDM vol. 2, NOP, XCHG, PAUSE) */
            if (rb) {
                op = OP_XCHG;
                form[0] = O_rAX;
                form[1] = O_Zv;
            } else {
                op = last_rep == 0xf3 ? OP_PAUSE : OP_NOP;
            }
            break;
        case SP_ARPL:
            if (m64) {
                op = OP_MOVSXD;
                form[0] = O_Gv;
                form[1] = O_Ed;
            } else {
                op = OP_ARPL;
                form[0] = O_Ew;
                form[1] = O_Gw;
                flags |= F_NOREAL;
            }
            break;
        case SP_X87:
            if (mod == 3 ? (x87_ud_reg[c & 7] >> (modrm & 63)) & 1
                         : (x87_ud_mem[c & 7] >> r3) & 1)
                goto out_ud;
            op = OP_X87;
            break;
        case SP_8F:
            /* 8F /0 is pop; other reg values would be XOP, absent on Zen */
            if (r3 != 0)
                goto out_ud;
            op = OP_POP;
            form[0] = O_Ev;
            break;
        case SP_C6C7:
            /* group 11: mov /0; C6 F8 / C7 F8 xabort/xbegin need RTM */
            if (r3 != 0)
                goto out_ud;
            op = OP_MOV;
            form[0] = c == 0xc6 ? O_Eb : O_Ev;
            form[1] = c == 0xc6 ? O_Ib : O_Iz;
            break;
        case SP_3DNOW:
            goto out_ud;
        case SP_HINTNOP:
            /* F3 0F 1E FA/FB: endbr64/endbr32; else a multi-byte nop */
            op = OP_NOP;
            form[0] = O_Ev;
            if (c == 0x1e && last_rep == 0xf3 && (modrm == 0xfa || modrm == 0xfb)) {
                op = OP_ENDBR;
                form[0] = O_NONE;
            }
            break;
        case SP_MOVCR:
        case SP_MOVDR:
            /* The mod field is ignored: always a register (SDM vol. 2, MOV). */
            mod = 3;
            if (e->ext == SP_MOVCR) {
                if ((pfx & PFX_LOCK) && reg == 0) {
                    reg = 8;            /* AMD alternate CR8 encoding */
                    lock_ok = 1;
                }
                if (reg != 0 && reg != 2 && reg != 3 && reg != 4 && reg != 8)
                    goto out_ud;
                op = OP_MOV_CR;
                form[0] = c == 0x20 ? O_Ry : O_Cd;
                form[1] = c == 0x20 ? O_Cd : O_Ry;
            } else {
                if (reg > 7)
                    goto out_ud;
                op = OP_MOV_DR;
                form[0] = c == 0x21 ? O_Ry : O_Dd;
                form[1] = c == 0x21 ? O_Dd : O_Ry;
            }
            break;
        case SP_0F01:
            if (mod != 3) {
                static const uint16_t g7[8] = { OP_SGDT, OP_SIDT, OP_LGDT, OP_LIDT,
                                                OP_SMSW, 0, OP_LMSW, OP_INVLPG };
                static const uint8_t g7f[8] = { O_Ms, O_Ms, O_Ms, O_Ms, O_Mw, 0, O_Ew, O_Mb };

                op = g7[r3];
                if (!op)
                    goto out_ud;
                form[0] = g7f[r3];
            } else if (r3 == 4) {
                op = OP_SMSW;
                form[0] = O_Rv;
            } else if (r3 == 6) {
                op = OP_LMSW;
                form[0] = O_Rw;
            } else {
                /* monitor/mwait, clac/stac, xgetbv/xsetbv, monitorx/mwaitx
                 * with 66/F2/F3: #UD on the host (checked natively) */
                if ((pfx & (PFX_OPSIZE | PFX_REP | PFX_REPNE)) &&
                    ((modrm >= 0xc8 && modrm <= 0xcb) || modrm == 0xd0 || modrm == 0xd1 ||
                     modrm == 0xfa || modrm == 0xfb))
                    goto out_ud;
                switch (modrm) {
                case 0xc8: op = OP_MONITOR; break;
                case 0xc9: op = OP_MWAIT; break;
                case 0xca: op = OP_CLAC; break;
                case 0xcb: op = OP_STAC; break;
                case 0xd0: op = OP_XGETBV; break;
                case 0xd1: op = OP_XSETBV; break;
                case 0xd8: case 0xd9: case 0xda: case 0xdb:   /* SVM */
                case 0xdc: case 0xdd: case 0xde: case 0xdf:
                case 0xee: case 0xef:                         /* PKU */
                case 0xfa: case 0xfb: case 0xfc: case 0xfd:   /* monitorx.. rdpru */
                case 0xfe: case 0xff:                         /* invlpgb, tlbsync */
                    op = OP_OTHER;
                    break;
                case 0xf8:
                    if (!m64)
                        goto out_ud;
                    op = OP_SWAPGS;
                    break;
                case 0xf9: op = OP_RDTSCP; break;
                default:
                    goto out_ud;
                }
            }
            break;
        case SP_0FAE:
            if (mod != 3) {
                static const uint16_t g15[8] = { OP_FXSAVE, OP_FXRSTOR, OP_LDMXCSR,
                                                 OP_STMXCSR, OP_XSAVE, OP_XRSTOR,
                                                 OP_XSAVEOPT, OP_CLFLUSH };
                static const uint8_t g15f[8] = { O_Mx, O_Mx, O_Md, O_Md, O_Mx, O_Mx,
                                                 O_Mx, O_Mb };

                op = g15[r3];
                form[0] = g15f[r3];
                /* F2/F3 with any memory form, 66 with /0../5: #UD on the
                 * host (checked natively; F3 /4 is Intel's ptwrite).
                 * 66 /6 is clwb, 66 /7 clflushopt. */
                if (last_rep || ((pfx & PFX_OPSIZE) && r3 < 6))
                    goto out_ud;
                if ((pfx & PFX_OPSIZE) && r3 == 6)
                    op = OP_OTHER;
            } else if (last_rep == 0xf3) {
                static const uint16_t fsgs[4] = { OP_RDFSBASE, OP_RDGSBASE,
                                                  OP_WRFSBASE, OP_WRGSBASE };
                if (r3 > 3 || !m64)
                    goto out_ud;
                op = fsgs[r3];
                form[0] = O_RyW;
            } else if (!last_rep && !(pfx & PFX_OPSIZE) && r3 >= 5) {
                op = r3 == 5 ? OP_LFENCE : r3 == 6 ? OP_MFENCE : OP_SFENCE;
            } else {
                goto out_ud;
            }
            break;
        case SP_0FC7:
            if (mod != 3) {
                if (r3 == 1) {
                    op = w ? OP_CMPXCHG16B : OP_CMPXCHG8B;
                    form[0] = w ? O_Mdq : O_Mq;
                    flags |= F_LOCK;
                } else if (r3 >= 3 && r3 <= 5) {
                    /* xrstors, xsavec, xsaves; #UD with 66/F2/F3 on the
                     * host (checked natively) */
                    if (pfx & (PFX_OPSIZE | PFX_REP | PFX_REPNE))
                        goto out_ud;
                    op = OP_OTHER;
                    form[0] = O_Mx;
                } else {
                    goto out_ud;            /* VMX: Intel only */
                }
            } else if (r3 == 6 && !last_rep) {
                op = OP_RDRAND;
                form[0] = O_Rv;
            } else if (r3 == 7 && last_rep == 0xf3) {
                op = OP_RDPID;
                form[0] = O_Ry;
            } else if (r3 == 7 && !last_rep) {
                op = OP_RDSEED;
                form[0] = O_Rv;
            } else {
                goto out_ud;
            }
            break;
        default:
            break;
        }
    }

    if (flags & F_UD)
        goto out_ud;
    if (mode == MODE_REAL16 && (flags & F_NOREAL))
        goto out_ud;
    if ((flags & F_MEM) && mod == 3)
        goto out_ud;
    if ((flags & F_REG) && mod != 3)
        goto out_ud;

    /* Operand and address size (SDM vol. 1, 3.6 and 3.6.1). */
    if (mode == MODE_LONG64) {
        if (w)
            opsize = 8;
        else if (flags & F_D64)
            opsize = opsz_pfx ? 2 : 8;
        else
            opsize = opsz_pfx ? 2 : 4;
        adsize = (pfx & PFX_ADSIZE) ? 4 : 8;
    } else {
        unsigned def = mode == MODE_PROT32 ? 4 : 2;

        opsize = opsz_pfx ? 6 - def : def;
        adsize = (pfx & PFX_ADSIZE) ? 6 - def : def;
    }
    if (vex)
        opsize = w ? 8 : 4;
    /* AMD ignores REX.W on far pointers in memory: lss/lfs/lgs and far
     * jmp/call through memory take m16:32 (checked natively; Intel would
     * take m16:64) */
    if (w && m64 && (op == OP_LSS || op == OP_LFS || op == OP_LGS || op == OP_CALL_FAR ||
                     op == OP_JMP_FAR))
        opsize = opsz_pfx ? 2 : 4;

    /* LOCK needs a lockable instruction with a memory destination
     * (SDM vol. 2, LOCK).  The #UD comes after the whole instruction is
     * fetched: a fetch fault or the 15-byte #GP wins over it, as on the
     * host. */
    if ((pfx & PFX_LOCK) && !lock_ok && (!(flags & F_LOCK) || mod == 3 || !(flags & F_MODRM)))
        lock_ud = true;

    /* ModRM memory operand: SIB and displacement (SDM vol. 2, 2.1.5). */
    if ((flags & F_MODRM) && mod != 3) {
        unsigned dsz = 0, defseg = S_DS;

        in->has_mem = 1;
        if (adsize == 2) {
            if (mod == 0 && rm == 6) {
                dsz = 2;
            } else {
                in->mem.base = base16[rm];
                in->mem.index = index16[rm];
                if (rm == 2 || rm == 3 || rm == 6)
                    defseg = S_SS;
                dsz = mod == 1 ? 1 : mod == 2 ? 2 : 0;
            }
        } else {
            unsigned base = rm;

            if (rm == 4) {
                unsigned sib, idx;

                FETCH(sib);
                idx = ((sib >> 3) & 7) | rx;
                /* index 100 without REX.X means none (SDM vol. 2, table 2-3) */
                if (idx != 4) {
                    in->mem.index = (uint8_t)idx;
                    in->mem.scale = (uint8_t)(1u << (sib >> 6));
                }
                base = sib & 7;
            }
            if (mod == 0 && base == 5) {
                dsz = 4;
                if (rm == 5 && m64)
                    in->mem.base = INSN_REG_RIP;
            } else {
                in->mem.base = (uint8_t)(base | rb);
                /* rBP/rSP bases default to SS; r12/r13 do not */
                if ((base | rb) == 4 || (base | rb) == 5)
                    defseg = S_SS;
                dsz = mod == 1 ? 1 : mod == 2 ? 4 : 0;
            }
        }
        if (dsz) {
            uint64_t d = 0;

            if (i + dsz > lim)
                goto out_short_at_lim;
            for (unsigned k = 0; k < dsz; k++)
                d |= (uint64_t)bytes[i + k] << (8 * k);
            i += dsz;
            d = dsz == 1 ? sext8(d) : dsz == 2 ? sext16(d) : sext32(d);
            in->mem.disp = (int64_t)d;
        }
        in->mem.seg = (uint8_t)(seg != 0xff ? seg : defseg);
    } else {
        in->mem.seg = (uint8_t)(seg != 0xff ? seg : S_DS);
    }

    /* Operands in Intel order; immediates follow the displacement in the
     * order the forms list them. */
    nform = 0;
    for (unsigned k = 0; k < 3 && form[k]; k++) {
        struct operand *o = &in->ops[k];
        unsigned f = form[k], n = 0, r;
        uint64_t v = 0;

        nform = k + 1;
        switch (f) {
        case O_Eb: case O_Ew: case O_Ed: case O_Ev: case O_Ey:
            o->size = (uint8_t)(f == O_Eb ? 1 : f == O_Ew ? 2 : f == O_Ed ? 4 :
                                f == O_Ev ? opsize : (w && m64) ? 8 : 4);
            if (mod != 3) {
                o->kind = OPK_MEM;
                break;
            }
            r = rm | rb;
            goto set_reg;
        case O_Gb: case O_Gw: case O_Gd: case O_Gv: case O_Gy:
            o->size = (uint8_t)(f == O_Gb ? 1 : f == O_Gw ? 2 : f == O_Gd ? 4 :
                                f == O_Gv ? opsize : (w && m64) ? 8 : 4);
            r = reg;
            goto set_reg;
        case O_Zb: case O_Zv:
            o->size = (uint8_t)(f == O_Zb ? 1 : opsize);
            r = (c & 7) | rb;
        set_reg:
            o->kind = OPK_REG;
            /* without REX, byte registers 4..7 are AH, CH, DH, BH */
            if (o->size == 1 && !rex && r >= 4 && r < 8) {
                o->hi8 = 1;
                r -= 4;
            }
            o->reg = (uint8_t)r;
            break;
        case O_M: case O_Mb: case O_Mw: case O_Md: case O_Mq: case O_Mdq:
        case O_Mv: case O_My: case O_Mp: case O_Ms: case O_Ma: case O_Mx:
            if (mod == 3)
                goto out_ud;
            o->kind = OPK_MEM;
            switch (f) {
            case O_M: o->size = 0; break;     /* lea: no access */
            case O_Mv: o->size = (uint8_t)opsize; break;
            case O_Mb: o->size = 1; break;
            case O_Mw: o->size = 2; break;
            case O_Md: o->size = 4; break;
            case O_Mq: o->size = 8; break;
            case O_Mdq: o->size = 16; break;
            case O_My: o->size = (w && m64) ? 8 : 4; break;
            case O_Mp: o->size = (uint8_t)(2 + opsize); break;
            case O_Ms: o->size = m64 ? 10 : 6; break;
            case O_Ma: o->size = (uint8_t)(2 * opsize); break;
            default: o->size = 0; break;
            }
            break;
        case O_Rv: case O_Ry: case O_Rw: case O_RyW:
            o->kind = OPK_REG;
            o->size = (uint8_t)(f == O_Rv ? opsize : f == O_Rw ? 2 :
                                f == O_RyW ? ((w && m64) ? 8 : 4) : m64 ? 8 : 4);
            o->reg = (uint8_t)(rm | rb);
            break;
        case O_By:
            o->kind = OPK_REG;
            o->size = (uint8_t)opsize;
            o->reg = (uint8_t)vvvv;
            break;
        case O_Ib: case O_Ibs: case O_I1:
            o->kind = OPK_IMM;
            if (f == O_I1) {
                o->size = 1;
                o->imm = 1;
                break;
            }
            FETCH(v);
            o->imm = f == O_Ibs ? sext8(v) : v;
            o->size = (uint8_t)(f == O_Ibs ? opsize : 1);
            break;
        case O_Iw: n = 2; goto imm;
        case O_Iz: n = opsize == 2 ? 2 : 4; goto imm;
        case O_Iv: n = opsize;
        imm:
            if (i + n > lim)
                goto out_short_at_lim;
            for (unsigned j = 0; j < n; j++)
                v |= (uint64_t)bytes[i + j] << (8 * j);
            i += n;
            o->kind = OPK_IMM;
            o->size = (uint8_t)(f == O_Iw ? 2 : opsize);
            /* imm32 of a 64-bit operation is sign-extended (SDM vol. 1, 3.5.1.1) */
            o->imm = (f == O_Iz && opsize == 8) ? sext32(v) : v;
            break;
        case O_Jb:
            FETCH(v);
            o->kind = OPK_REL;
            o->size = (uint8_t)opsize;
            o->imm = sext8(v);
            break;
        case O_Jz:
            n = opsize == 2 ? 2 : 4;
            if (i + n > lim)
                goto out_short_at_lim;
            for (unsigned j = 0; j < n; j++)
                v |= (uint64_t)bytes[i + j] << (8 * j);
            i += n;
            o->kind = OPK_REL;
            o->size = (uint8_t)opsize;
            o->imm = n == 2 ? sext16(v) : sext32(v);
            break;
        case O_AL: case O_CL:
            o->kind = OPK_REG;
            o->size = 1;
            o->reg = f == O_CL ? 1 : 0;
            break;
        case O_DX:
            o->kind = OPK_REG;
            o->size = 2;
            o->reg = 2;
            break;
        case O_rAX: case O_eAX:
            o->kind = OPK_REG;
            o->size = (uint8_t)(f == O_rAX ? opsize : opsize == 2 ? 2 : 4);
            o->reg = 0;
            break;
        case O_Sw:
            if ((reg & 7) > 5)
                goto out_ud;
            /* mov to CS is #UD (SDM vol. 2, MOV) */
            if (k == 0 && (reg & 7) == S_CS)
                goto out_ud;
            o->kind = OPK_SREG;
            o->size = 2;
            o->reg = (uint8_t)(reg & 7);
            break;
        case O_Ap:
            n = opsize == 2 ? 2 : 4;
            if (i + n + 2 > lim)
                goto out_short_at_lim;
            for (unsigned j = 0; j < n; j++)
                v |= (uint64_t)bytes[i + j] << (8 * j);
            o->kind = OPK_FARPTR;
            o->size = (uint8_t)(n + 2);
            o->imm = v;
            o->sel = (uint16_t)(bytes[i + n] | (bytes[i + n + 1] << 8));
            i += n + 2;
            break;
        case O_Ob: case O_Ov:
            n = adsize;
            if (i + n > lim)
                goto out_short_at_lim;
            for (unsigned j = 0; j < n; j++)
                v |= (uint64_t)bytes[i + j] << (8 * j);
            i += n;
            o->kind = OPK_MEM;
            o->size = (uint8_t)(f == O_Ob ? 1 : opsize);
            in->has_mem = 1;
            in->mem.disp = (int64_t)v;
            break;
        case O_Cd: case O_Dd:
            o->kind = f == O_Cd ? OPK_CREG : OPK_DREG;
            o->size = m64 ? 8 : 4;
            o->reg = (uint8_t)reg;
            break;
        case O_ES: case O_CS: case O_SS: case O_DS: case O_FS: case O_GS:
            o->kind = OPK_SREG;
            o->size = 2;
            o->reg = (uint8_t)(f == O_ES ? S_ES : f == O_CS ? S_CS : f == O_SS ? S_SS :
                               f == O_DS ? S_DS : f == O_FS ? S_FS : S_GS);
            break;
        case O_Xb: case O_Xv:
            in->has_mem = 1;
            in->mem.base = 6;       /* rSI */
            /* fall through */
        case O_Yb: case O_Yv:
            o->kind = OPK_MEM;
            o->size = (uint8_t)((f == O_Xb || f == O_Yb) ? 1 : opsize);
            break;
        default:
            break;
        }
    }

    /* SSE/AVX imm8 (not an operand here: those carry no operand list) */
    if (flags & F_IMM8)
        i++;
    if (i > lim)
        goto out_short_at_lim;

    /* Per-instruction fix-ups that the forms cannot say. */
    switch (op) {
    case OP_MOVSXD:
        /* movsxd r16/32, r/m16/32 copies; r64 sign-extends r/m32 */
        in->ops[1].size = (uint8_t)(opsize == 2 ? 2 : 4);
        break;
    case OP_MOV_SREG:
    case OP_SLDT:
    case OP_STR:
        /* a selector in memory is 16 bits; in a register it takes the
         * operand size (SDM vol. 2, MOV: "r/m16", and the r32 forms) */
        for (unsigned k = 0; k < 2; k++)
            if (in->ops[k].kind == OPK_MEM)
                in->ops[k].size = 2;
        break;
    case OP_LAR:
    case OP_LSL:
        /* "LAR r64, r32/m16": a register source is 16 or 32 bits */
        if (in->ops[1].kind == OPK_REG)
            in->ops[1].size = (uint8_t)(opsize == 2 ? 2 : 4);
        break;
    case OP_INS:
    case OP_OUTS:
        /* port I/O moves at most 32 bits: REX.W gives dword (SDM INS/OUTS) */
        for (unsigned k = 0; k < 2; k++)
            if (in->ops[k].kind == OPK_MEM && in->ops[k].size == 8)
                in->ops[k].size = 4;
        break;
    case OP_XLAT:
        in->has_mem = 1;
        in->mem.base = 3;           /* rBX */
        break;
    case OP_SSE:
        /* MMX forms: the 0F map without a mandatory prefix */
        if (map == 1 && !last_rep && !(pfx & PFX_OPSIZE) &&
            ((c >= 0x60 && c <= 0x7f) || c >= 0xd0))
            op = OP_MMX;
        break;
    default:
        break;
    }

    in->op = (uint16_t)op;
    in->nops = (uint8_t)nform;
    in->has_modrm = (flags & F_MODRM) ? 1 : 0;
    in->modrm = (uint8_t)modrm;
    in->op_size = (uint8_t)opsize;
    in->addr_size = (uint8_t)adsize;
    in->prefixes = (uint8_t)(pfx | (vex == 1 ? PFX_VEX : vex == 2 ? PFX_EVEX : 0));
    in->last_rep = (uint8_t)last_rep;
    in->rex = (uint8_t)rex;
    in->vex_l = vex_l & 3;
    in->vex_w = vex_w & 1;
    in->vex_vvvv = (uint8_t)vvvv;
    in->len = (uint8_t)i;
    if (lock_ud)
        goto out_ud;
    /* a fixed-size copy is one vector move; only bytes[0..avail) are read */
    if (avail >= INSN_MAX_LEN)
        memcpy(in->bytes, bytes, INSN_MAX_LEN);
    else
        memcpy(in->bytes, bytes, i);
    return DECODE_OK;

out_ud:
    in->op = OP_INVALID;
    in->len = (uint8_t)i;
    memcpy(in->bytes, bytes, i);
    return DECODE_UD;

out_short_at_lim:
    i = lim;
out_short:
    in->op = OP_INVALID;
    if (i >= INSN_MAX_LEN) {
        in->len = INSN_MAX_LEN;
        memcpy(in->bytes, bytes, INSN_MAX_LEN);
        return DECODE_TOO_LONG;
    }
    in->len = (uint8_t)i;
    if (need)
        *need = i;
    return DECODE_TRUNCATED;
#undef FETCH
#undef PEEK
}
