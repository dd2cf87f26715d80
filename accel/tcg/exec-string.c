/*
 * String instructions: movs, cmps, stos, lods, scas, ins, outs in byte,
 * word, dword and qword forms, with rep/repe/repne (Intel SDM vol. 2, each
 * instruction's page and REP/REPE/REPZ/REPNE/REPNZ; vol. 1, 7.3.9).
 *
 * Conventions this file relies on (none of them on ops[]):
 *   - The width is 1 for the even opcodes (A4 A6 AA AC AE 6C 6E) and
 *     in->op_size for the odd ones; ins/outs stop at 4.
 *   - The source segment is in->mem.seg when PFX_SEG is set, else DS; the
 *     destination is always ES (no override, SDM vol. 1, 3.7.5).
 *   - rSI, rDI and rCX are used at in->addr_size; only those bits are
 *     updated (a 32-bit update in 64-bit mode clears the upper half, as any
 *     32-bit register write does).
 *   - The repeat prefix is in->last_rep (F2 or F3) or, failing that, the
 *     PFX_REP/PFX_REPNE bits.  For cmps/scas F3 is repe and F2 repne; for
 *     the others either one repeats.
 *
 * A repeated instruction runs at most STRING_CHUNK iterations per call.
 * After each iteration rSI, rDI and rCX are consistent, so a fault on the
 * next one reports with them as they are and the instruction restarts
 * from there (SDM vol. 1, 7.3.9.2).  While rCX is not zero and the
 * repeat has not ended, the handler returns TCG_JUMPED with rip still on
 * the instruction: the loop comes back to it and checks for a stop in
 * between, so a long "rep movs" never holds up a kick.
 *
 * Threads: runs on the vCPU thread that owns cpu; port accesses take the
 * big lock around io_pio().
 */
#include <string.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "system/main-loop.h"
#include "system/memory.h"

#define STRING_CHUNK 4096

struct str_op {
    unsigned size;      /* element width */
    unsigned asz;       /* address size */
    uint64_t am;        /* its mask */
    uint64_t delta;     /* +size or -size (DF), modulo 2^64 */
    unsigned src_seg;
    int rep;            /* 0, 0xF3 (rep/repe) or 0xF2 (repne) */
};

static void str_setup(const struct tcg_cpu *cpu, const struct insn *in, struct str_op *o)
{
    o->size = (in->opcode & 1) ? in->op_size : 1;
    o->asz = in->addr_size;
    o->am = tcg_size_mask(o->asz);
    o->delta = (cpu->st.rflags & RFLAGS_DF) ? -(uint64_t)o->size : o->size;
    o->src_seg = (in->prefixes & PFX_SEG) ? in->mem.seg : S_DS;
    if (in->last_rep == 0xf2 || in->last_rep == 0xf3) {
        o->rep = in->last_rep;
    } else if (in->prefixes & PFX_REP) {
        o->rep = 0xf3;
    } else if (in->prefixes & PFX_REPNE) {
        o->rep = 0xf2;
    } else {
        o->rep = 0;
    }
}

static enum tcg_status mread(struct tcg_cpu *cpu, unsigned seg, uint64_t off, unsigned size,
                             uint64_t *v)
{
    uint8_t b[8] = { 0 };
    enum tcg_status s = tcg_mem_read(cpu, seg, off, b, size);

    memcpy(v, b, sizeof(b));
    return s;
}

static enum tcg_status mwrite(struct tcg_cpu *cpu, unsigned seg, uint64_t off, unsigned size,
                              uint64_t v)
{
    uint8_t b[8];

    memcpy(b, &v, sizeof(b));
    return tcg_mem_write(cpu, seg, off, b, size);
}

static uint64_t reg_addr(const struct tcg_cpu *cpu, unsigned r, const struct str_op *o)
{
    return cpu->st.regs[r] & o->am;
}

static void reg_step(struct tcg_cpu *cpu, unsigned r, const struct str_op *o)
{
    tcg_reg_write(cpu, r, o->asz, false, (cpu->st.regs[r] + o->delta) & o->am);
}

/* Protected mode with CPL > IOPL, or vm86: the I/O permission bitmap in
 * the TSS decides, which is part 2's; until then such an access is
 * #GP(0) (SDM vol. 1, 19.5). */
static void pio(uint16_t port, void *data, unsigned size, bool is_write)
{
    bool held = bql_locked();

    if (!held) {
        bql_lock();
    }
    io_pio(port, data, size, is_write);
    if (!held) {
        bql_unlock();
    }
}

enum str_kind { K_MOVS, K_CMPS, K_STOS, K_LODS, K_SCAS, K_INS, K_OUTS };

/* One iteration; registers move only when it completed. */
static enum tcg_status str_once(struct tcg_cpu *cpu, const struct str_op *o, enum str_kind k)
{
    uint64_t a = 0, b = 0;
    uint64_t m = tcg_size_mask(o->size);
    enum tcg_status s;

    switch (k) {
    case K_MOVS:
        if ((s = mread(cpu, o->src_seg, reg_addr(cpu, R_ESI, o), o->size, &a)) != TCG_OK ||
            (s = mwrite(cpu, S_ES, reg_addr(cpu, R_EDI, o), o->size, a)) != TCG_OK) {
            return s;
        }
        reg_step(cpu, R_ESI, o);
        reg_step(cpu, R_EDI, o);
        return TCG_OK;
    case K_CMPS:
        /* [rSI] - [rDI] (SDM vol. 2A CMPS: SRC1 is the rSI operand).  Which
         * operand is read first decides the fault when both would fault;
         * measured on the AMD host (Zen 4) in all three modes: REPE CMPSB
         * reads [rSI] first, every other form (no prefix, REPNE, words and
         * up) ES:[rDI] first.  Intel is taken as [rSI] first. */
        if (tcg_host_is_intel() || (o->rep == 0xf3 && o->size == 1)) {
            if ((s = mread(cpu, o->src_seg, reg_addr(cpu, R_ESI, o), o->size, &a)) != TCG_OK ||
                (s = mread(cpu, S_ES, reg_addr(cpu, R_EDI, o), o->size, &b)) != TCG_OK) {
                return s;
            }
        } else if ((s = mread(cpu, S_ES, reg_addr(cpu, R_EDI, o), o->size, &b)) != TCG_OK ||
                   (s = mread(cpu, o->src_seg, reg_addr(cpu, R_ESI, o), o->size, &a)) !=
                       TCG_OK) {
            return s;
        }
        a &= m;
        b &= m;
        tcg_flags_sub(cpu, a, b, 0, (a - b) & m, o->size);
        reg_step(cpu, R_ESI, o);
        reg_step(cpu, R_EDI, o);
        return TCG_OK;
    case K_STOS:
        if ((s = mwrite(cpu, S_ES, reg_addr(cpu, R_EDI, o), o->size,
                        cpu->st.regs[R_EAX])) != TCG_OK) {
            return s;
        }
        reg_step(cpu, R_EDI, o);
        return TCG_OK;
    case K_LODS:
        if ((s = mread(cpu, o->src_seg, reg_addr(cpu, R_ESI, o), o->size, &a)) != TCG_OK) {
            return s;
        }
        tcg_reg_write(cpu, R_EAX, o->size, false, a & m);
        reg_step(cpu, R_ESI, o);
        return TCG_OK;
    case K_SCAS:
        if ((s = mread(cpu, S_ES, reg_addr(cpu, R_EDI, o), o->size, &b)) != TCG_OK) {
            return s;
        }
        a = cpu->st.regs[R_EAX] & m;
        b &= m;
        tcg_flags_sub(cpu, a, b, 0, (a - b) & m, o->size);
        reg_step(cpu, R_EDI, o);
        return TCG_OK;
    case K_INS: {
        uint8_t d[4] = { 0xff, 0xff, 0xff, 0xff };
        uint64_t lin;

        /* The destination is checked for a write before the port is read,
         * so a fault there does not lose (or repeat) the port's data. */
        if ((s = tcg_linear(cpu, S_ES, reg_addr(cpu, R_EDI, o), o->size, ACC_WRITE,
                            &lin)) != TCG_OK ||
            (s = tcg_read_lin(cpu, lin, d, o->size, ACC_WRITE)) != TCG_OK) {
            return s;
        }
        pio((uint16_t)cpu->st.regs[R_EDX], d, o->size, false);
        if ((s = tcg_write_lin(cpu, lin, d, o->size)) != TCG_OK) {
            return s;
        }
        reg_step(cpu, R_EDI, o);
        return TCG_OK;
    }
    case K_OUTS: {
        uint8_t d[8];

        if ((s = mread(cpu, o->src_seg, reg_addr(cpu, R_ESI, o), o->size, &a)) != TCG_OK) {
            return s;
        }
        memcpy(d, &a, sizeof(d));
        pio((uint16_t)cpu->st.regs[R_EDX], d, o->size, true);
        reg_step(cpu, R_ESI, o);
        return TCG_OK;
    }
    }
    return tcg_raise(cpu, EXC_UD);
}

/*
 * REP MOVS and REP STOS upward (DF = 0) over RAM the TLB already maps: as
 * many whole elements as fit before either page ends, before the offsets
 * wrap at the address size, and within rCX and the budget, in one go.
 * None of them could fault (both ranges pass the segment checks and hit
 * the TLB with the access allowed), so memory and registers end up as
 * the element loop leaves them.  Returns the elements done; 0 when the
 * next element needs that loop (a TLB miss, MMIO, an element across a
 * page, a segment limit, alignment checking, data breakpoints, decoded
 * code in the destination page).
 */
static uint64_t str_bulk(struct tcg_cpu *cpu, const struct str_op *o, enum str_kind k,
                         uint64_t cx, uint64_t budget)
{
    const uint64_t sz = o->size;
    uint64_t di = reg_addr(cpu, R_EDI, o), si = reg_addr(cpu, R_ESI, o);
    uint64_t n = cx < budget ? cx : budget, dlin, slin = 0, bytes;
    uint8_t *d, *src = NULL;

    if (o->delta != sz || (cpu->cpl == 3 && (cpu->st.rflags & RFLAGS_AC) &&
                           (cpu->st.cr0 & CR0_AM))) {
        return 0;
    }
    if (o->asz < 8) {
        n = MIN(n, (o->am - di + 1) / sz);
        if (k == K_MOVS) {
            n = MIN(n, (o->am - si + 1) / sz);
        }
    }
    if (n == 0 || tcg_linear(cpu, S_ES, di, sz, ACC_WRITE, &dlin) != TCG_OK) {
        return 0;
    }
    n = MIN(n, (4096 - (dlin & 0xfff)) / sz);
    if (k == K_MOVS) {
        if (tcg_linear(cpu, o->src_seg, si, sz, ACC_READ, &slin) != TCG_OK) {
            return 0;
        }
        n = MIN(n, (4096 - (slin & 0xfff)) / sz);
    }
    if (n < 2) {
        return 0;
    }
    bytes = n * sz;
    /* The whole ranges against the segment limits (linear addresses as above). */
    if (tcg_linear(cpu, S_ES, di, bytes, ACC_WRITE, &dlin) != TCG_OK ||
        (k == K_MOVS && tcg_linear(cpu, o->src_seg, si, bytes, ACC_READ, &slin) != TCG_OK)) {
        return 0;
    }
    d = tcg_tlb_host(cpu, dlin, bytes, ACC_WRITE);
    if (k == K_MOVS) {
        src = tcg_tlb_host(cpu, slin, bytes, ACC_READ);
    }
    if (!d || (k == K_MOVS && !src)) {
        return 0;
    }
    if (k == K_STOS) {
        uint64_t v = cpu->st.regs[R_EAX];

        if (sz == 1) {
            memset(d, (int)(v & 0xff), bytes);
        } else {
            for (uint64_t i = 0; i < n; i++) {
                memcpy(d + i * sz, &v, sz);
            }
        }
    } else if (d <= src || src + bytes <= d) {
        /* Apart, or the destination below the source: a forward copy
         * reads every element before any store reaches it. */
        memmove(d, src, bytes);
    } else {
        /* The destination overlaps above the source: element by element,
         * as the processor does, repeating the pattern. */
        for (uint64_t i = 0; i < n; i++) {
            memmove(d + i * sz, src + i * sz, sz);
        }
    }
    if (k == K_MOVS) {
        tcg_reg_write(cpu, R_ESI, o->asz, false, (si + bytes) & o->am);
    }
    tcg_reg_write(cpu, R_EDI, o->asz, false, (di + bytes) & o->am);
    tcg_reg_write(cpu, R_ECX, o->asz, false, (cx - n) & o->am);
    return n;
}

static enum tcg_status str_run(struct tcg_cpu *cpu, const struct insn *in, enum str_kind k)
{
    struct str_op o;
    enum tcg_status s;
    bool cond = k == K_CMPS || k == K_SCAS;

    str_setup(cpu, in, &o);
    if (k == K_INS || k == K_OUTS) {
        if (o.size > 4) {
            o.size = 4;
            o.delta = (cpu->st.rflags & RFLAGS_DF) ? -(uint64_t)4 : 4;
        }
        /* CPL > IOPL or vm86: the TSS I/O bitmap decides (SDM vol. 1, 19.5) */
        s = tcg_io_check(cpu, (uint16_t)cpu->st.regs[R_EDX], o.size);
        if (s != TCG_OK) {
            return s;
        }
    }
    if (!o.rep) {
        return str_once(cpu, &o, k);
    }
    for (unsigned n = 0; n < STRING_CHUNK; n++) {
        uint64_t cx = cpu->st.regs[R_ECX] & o.am;

        if (cx == 0) {
            return TCG_OK;
        }
        if (k == K_MOVS || k == K_STOS) {
            uint64_t done = str_bulk(cpu, &o, k, cx, STRING_CHUNK - n);

            if (done) {
                n += done - 1;
                continue;
            }
        }
        if ((s = str_once(cpu, &o, k)) != TCG_OK) {
            return s;
        }
        tcg_reg_write(cpu, R_ECX, o.asz, false, (cx - 1) & o.am);
        if (cond) {
            bool zf = cpu->st.rflags & RFLAGS_ZF;

            if ((o.rep == 0xf3 && !zf) || (o.rep == 0xf2 && zf)) {
                return TCG_OK;
            }
        }
    }
    if ((cpu->st.regs[R_ECX] & o.am) == 0) {
        return TCG_OK;
    }
    /* More to do: come back to this instruction (rip unchanged). */
    return TCG_JUMPED;
}

enum tcg_status exec_movs(struct tcg_cpu *cpu, const struct insn *in)
{
    return str_run(cpu, in, K_MOVS);
}

enum tcg_status exec_cmps(struct tcg_cpu *cpu, const struct insn *in)
{
    return str_run(cpu, in, K_CMPS);
}

enum tcg_status exec_stos(struct tcg_cpu *cpu, const struct insn *in)
{
    return str_run(cpu, in, K_STOS);
}

enum tcg_status exec_lods(struct tcg_cpu *cpu, const struct insn *in)
{
    return str_run(cpu, in, K_LODS);
}

enum tcg_status exec_scas(struct tcg_cpu *cpu, const struct insn *in)
{
    return str_run(cpu, in, K_SCAS);
}

enum tcg_status exec_ins(struct tcg_cpu *cpu, const struct insn *in)
{
    return str_run(cpu, in, K_INS);
}

enum tcg_status exec_outs(struct tcg_cpu *cpu, const struct insn *in)
{
    return str_run(cpu, in, K_OUTS);
}
