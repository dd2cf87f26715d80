/*
 * x87 FPU instructions of the software CPU (SDM vol. 1, chapter 8; vol. 2,
 * the F* entries): every D8-DF form and FWAIT, decoded as OP_X87 with the
 * ModRM kept; the instruction is picked from in->opcode and in->modrm.
 *
 * Arithmetic, compares and conversions use the integer 80-bit core
 * (x87-float.h).  The transcendental instructions (F2XM1, FYL2X, FYL2XP1,
 * FPTAN, FPATAN, FSIN, FCOS, FSINCOS) run on the host x87 with the guest's
 * control word and condition codes loaded (hyvm builds for x86-64 hosts
 * only), so they give the host processor's bits.
 *
 * Registers: cpu->st.fpu.st[i] is physical register R(i); ST(j) is
 * R((TOP + j) & 7); cpu->st.fpu.ftw is the abridged tag word (bit i set:
 * R(i) not empty).  The full tag word of FNSTENV/FNSAVE is derived from
 * the contents (SDM vol. 1, 8.1.7).
 *
 * Exceptions (SDM vol. 1, 8.4-8.7): every instruction first checks CR0.EM
 * and CR0.TS (#NM); a waiting instruction then delivers a pending unmasked
 * exception (FSW.ES) as #MF when CR0.NE is set.  An instruction that meets
 * an unmasked exception sets its flag and ES/B and leaves its destination
 * alone; the #MF comes at the next waiting instruction, as on hardware.
 * With CR0.NE clear the FERR#/IGNNE# path of PC systems is not modelled:
 * the exception stays pending and nothing is delivered.
 *
 * Threads: runs on the vCPU thread that owns cpu.
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/x87-float.h"
#include "accel/tcg/x87.h"

typedef struct x87_float f80;

#define SW_CC (X87_SW_C0 | X87_SW_C1 | X87_SW_C2 | X87_SW_C3)
#define SW_CC023 (X87_SW_C0 | X87_SW_C2 | X87_SW_C3)

/* ---- register stack ---- */

static unsigned fpu_top(const struct tcg_cpu *cpu)
{
    return (cpu->st.fpu.fsw >> X87_SW_TOP_SHIFT) & 7;
}

static void fpu_set_top(struct tcg_cpu *cpu, unsigned top)
{
    cpu->st.fpu.fsw = (uint16_t)((cpu->st.fpu.fsw & ~X87_SW_TOP) |
                                 ((top & 7) << X87_SW_TOP_SHIFT));
}

static unsigned phys(const struct tcg_cpu *cpu, unsigned j)
{
    return (fpu_top(cpu) + j) & 7;
}

static bool st_valid(const struct tcg_cpu *cpu, unsigned j)
{
    return (cpu->st.fpu.ftw >> phys(cpu, j)) & 1;
}

static f80 st_get(const struct tcg_cpu *cpu, unsigned j)
{
    unsigned p = phys(cpu, j);

    return (f80){ cpu->st.fpu.st[p].mant, cpu->st.fpu.st[p].exp };
}

static void st_put(struct tcg_cpu *cpu, unsigned j, f80 v)
{
    unsigned p = phys(cpu, j);

    cpu->st.fpu.st[p].mant = v.mant;
    cpu->st.fpu.st[p].exp = v.sign_exp;
    cpu->st.fpu.ftw |= 1u << p;
}

static void st_push(struct tcg_cpu *cpu, f80 v)
{
    fpu_set_top(cpu, fpu_top(cpu) - 1);
    st_put(cpu, 0, v);
}

static void st_pop(struct tcg_cpu *cpu)
{
    cpu->st.fpu.ftw &= ~(1u << phys(cpu, 0));
    fpu_set_top(cpu, fpu_top(cpu) + 1);
}

/* ---- status word ---- */

void tcg_x87_update_es(struct tcg_cpu *cpu)
{
    struct x86_fpu_state *f = &cpu->st.fpu;

    if (f->fsw & ~f->fcw & X87_SW_EXC) {
        f->fsw |= X87_SW_ES | X87_SW_B;
    } else {
        f->fsw &= ~(X87_SW_ES | X87_SW_B);
    }
}

bool tcg_x87_pending_fault(const struct tcg_cpu *cpu)
{
    return (cpu->st.fpu.fsw & X87_SW_ES) && (cpu->st.cr0 & CR0_NE);
}

void tcg_x87_reset(struct tcg_cpu *cpu)
{
    struct x86_fpu_state *f = &cpu->st.fpu;

    f->fcw = X87_CW_DEFAULT;
    f->fsw = 0;
    f->ftw = 0;
    f->fop = 0;
    f->fcs = 0;
    f->fds = 0;
    f->fip = 0;
    f->fdp = 0;
}

/*
 * Merges what an instruction reported into FSW: the exception flags (and
 * SF) are sticky, the condition codes in ccmask are replaced, the others
 * kept (those the SDM calls undefined are left as they were).  An unmasked
 * flag sets ES and B; they are cleared only by FNCLEX/FNINIT or by loading
 * new words.
 */
static void sw_commit(struct tcg_cpu *cpu, const struct x87_ctx *c, uint16_t ccmask)
{
    struct x86_fpu_state *f = &cpu->st.fpu;

    f->fsw = (uint16_t)((f->fsw & ~ccmask) | (c->sw & ccmask) |
                        (c->sw & (X87_SW_EXC | X87_SW_SF)));
    if (f->fsw & ~f->fcw & X87_SW_EXC) {
        f->fsw |= X87_SW_ES | X87_SW_B;
    }
}

static bool ie_masked(const struct x87_ctx *c)
{
    return (c->cw & X87_SW_IE) != 0;
}

/* Stack underflow (#IS: IE + SF, C1 = 0; SDM vol. 1, 8.5.1.1).  True when
 * IE is masked and the masked response (QNaN indefinite) is to be used. */
static bool stack_underflow(struct x87_ctx *c)
{
    c->sw = (uint16_t)((c->sw & ~X87_SW_C1) | X87_SW_IE | X87_SW_SF);
    return ie_masked(c);
}

/* Stack overflow: IE + SF with C1 = 1. */
static bool stack_overflow(struct x87_ctx *c)
{
    c->sw |= X87_SW_IE | X87_SW_SF | X87_SW_C1;
    return ie_masked(c);
}

static void ctx_start(struct tcg_cpu *cpu, struct x87_ctx *c)
{
    x87_ctx_init(c, cpu->st.fpu.fcw);
}

/*
 * A push: the register that becomes ST(0) must be empty, else stack
 * overflow (C1 = 1).  Pushes v, or the indefinite on a masked overflow.
 * Returns false when nothing was pushed.
 */
static bool push_checked(struct tcg_cpu *cpu, struct x87_ctx *c, f80 v)
{
    if ((cpu->st.fpu.ftw >> phys(cpu, 7)) & 1) {
        if (!stack_overflow(c)) {
            return false;
        }
        v = X87_INDEFINITE;
    }
    st_push(cpu, v);
    return true;
}

/* ---- memory ---- */

static enum tcg_status mem_rd(struct tcg_cpu *cpu, const struct insn *in, uint64_t off,
                              void *buf, unsigned size)
{
    uint64_t ea = (tcg_ea(cpu, in) + off) & tcg_size_mask(in->addr_size);

    return tcg_mem_read(cpu, in->mem.seg, ea, buf, size);
}

static enum tcg_status mem_wr(struct tcg_cpu *cpu, const struct insn *in, uint64_t off,
                              const void *buf, unsigned size)
{
    uint64_t ea = (tcg_ea(cpu, in) + off) & tcg_size_mask(in->addr_size);

    return tcg_mem_write(cpu, in->mem.seg, ea, buf, size);
}

/*
 * Checks size bytes at offset off of the memory operand for an access of
 * kind acc (segment limit or canonical address, then the page) without
 * moving a byte to or from the FPU.  The check is a read done as the
 * access would be translated: a device behind MMIO sees that read, as
 * with the other probes of the software CPU.
 */
static enum tcg_status mem_probe(struct tcg_cpu *cpu, const struct insn *in, uint64_t off,
                                 unsigned size, enum tcg_access acc)
{
    uint64_t ea = (tcg_ea(cpu, in) + off) & tcg_size_mask(in->addr_size), lin;
    uint8_t b[16];
    enum tcg_status st = tcg_linear(cpu, in->mem.seg, ea, size, acc, &lin);

    return st == TCG_OK ? tcg_read_lin(cpu, lin, b, size, acc) : st;
}

/*
 * The 10-byte formats (m80 real and BCD) go as 8 bytes and then 2: the
 * segment or canonical check and the page of the first 8 bytes come first
 * (measured on AMD Zen 4: an m80 operand whose first 8 bytes are on an
 * absent page below the canonical boundary or a segment limit is a #PF
 * there, one whose first 8 bytes cross it is #GP).  Then the whole
 * operand is accessed as one, so a store that faults stores nothing.
 */
static enum tcg_status m80_first(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                 enum tcg_access acc)
{
    return size == 10 ? mem_probe(cpu, in, 0, 8, acc) : TCG_OK;
}

/*
 * The destination of a store the FPU suppresses.  An unmasked exception
 * (IE, OE, UE or a stack fault) leaves the destination alone, but it is
 * still checked for writing first: a segment, canonical or page fault on
 * it wins and FSW stays as it was (measured on AMD Zen 4).
 */
static enum tcg_status store_probe(struct tcg_cpu *cpu, const struct insn *in, unsigned size)
{
    enum tcg_status st = m80_first(cpu, in, size, ACC_WRITE);

    return st == TCG_OK ? mem_probe(cpu, in, 0, size, ACC_WRITE) : st;
}

/*
 * Environment and FNSAVE images (measured on AMD Zen 4): the first field
 * (FCW: 2 bytes in the 16-bit formats, 4 in the 32-bit ones) is accessed
 * first, then the last byte of the image is checked, each with its
 * segment limit or canonical check and then its page; only then does any
 * byte move.  So an image straddling the canonical boundary or a segment
 * limit faults on its first field's page when that is not mapped, and an
 * image that faults anywhere stores nothing.  An image of at most 108
 * bytes has its pages among those two checks.
 */
static enum tcg_status image_check(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                   unsigned first, enum tcg_access acc)
{
    enum tcg_status st = mem_probe(cpu, in, 0, first, acc);

    return st == TCG_OK ? mem_probe(cpu, in, size - 1, 1, acc) : st;
}

/* Bytes of an image in pieces of up to 16 that do not cross the wrap of
 * the address size (each field is addressed on its own). */
static unsigned piece_len(const struct insn *in, uint64_t ea, unsigned pos, unsigned size)
{
    uint64_t amask = tcg_size_mask(in->addr_size), off = (ea + pos) & amask;
    unsigned n = size - pos < 16 ? size - pos : 16;

    if (amask != ~0ull && amask - off + 1 < n) {
        n = (unsigned)(amask - off + 1);
    }
    return n;
}

static enum tcg_status mem_rd_n(struct tcg_cpu *cpu, const struct insn *in, void *buf,
                                unsigned size)
{
    uint64_t ea = tcg_ea(cpu, in);

    for (unsigned off = 0, n; off < size; off += n) {
        enum tcg_status st;

        n = piece_len(in, ea, off, size);
        st = mem_rd(cpu, in, off, (uint8_t *)buf + off, n);
        if (st != TCG_OK) {
            return st;
        }
    }
    return TCG_OK;
}

static enum tcg_status mem_wr_n(struct tcg_cpu *cpu, const struct insn *in,
                                const void *buf, unsigned size)
{
    uint64_t ea = tcg_ea(cpu, in);

    for (unsigned off = 0, n; off < size; off += n) {
        enum tcg_status st;

        n = piece_len(in, ea, off, size);
        st = mem_wr(cpu, in, off, (const uint8_t *)buf + off, n);
        if (st != TCG_OK) {
            return st;
        }
    }
    return TCG_OK;
}

static f80 f80_from_bytes(const uint8_t *b)
{
    f80 v;

    memcpy(&v.mant, b, 8);
    memcpy(&v.sign_exp, b + 8, 2);
    return v;
}

static void f80_to_bytes(uint8_t *b, f80 v)
{
    memcpy(b, &v.mant, 8);
    memcpy(b + 8, &v.sign_exp, 2);
}

/*
 * A memory source operand of an arithmetic or compare form in the register
 * format: m32/m64 real (D8/DC), m32/m16 integer (DA/DE).  A NaN keeps its
 * signalling bit, so that the operation applies the NaN rules to both
 * operands; a denormal converts to its (normal) register value and is
 * reported in *denormal for the operation to raise DE as it would for a
 * register operand.  false with *st set when the read faulted.
 */
enum msrc { M_F32, M_F64, M_I32, M_I16 };

static bool read_src(struct tcg_cpu *cpu, const struct insn *in, enum msrc kind,
                     f80 *v, bool *denormal, enum tcg_status *st)
{
    static const unsigned size[] = { 4, 8, 4, 2 };
    uint8_t b[8] = { 0 };
    struct x87_ctx t;
    uint64_t raw;

    *denormal = false;
    *st = mem_rd(cpu, in, 0, b, size[kind]);
    if (*st != TCG_OK) {
        return false;
    }
    memcpy(&raw, b, 8);
    x87_ctx_init(&t, 0x037f);
    switch (kind) {
    case M_F32:
        if ((raw & 0x7f800000u) == 0x7f800000u && (raw & 0x7fffffu)) {
            *v = (f80){ 1ull << 63 | (raw & 0x7fffffu) << 40,
                        (uint16_t)(0x7fff | ((raw >> 16) & 0x8000)) };
            return true;
        }
        *v = x87_from_f32(&t, (uint32_t)raw);
        break;
    case M_F64:
        if ((raw >> 52 & 0x7ff) == 0x7ff && (raw << 12)) {
            *v = (f80){ 1ull << 63 | (raw << 12) >> 1,
                        (uint16_t)(0x7fff | ((raw >> 48) & 0x8000)) };
            return true;
        }
        *v = x87_from_f64(&t, raw);
        break;
    case M_I32:
        *v = x87_from_int((int32_t)(uint32_t)raw);
        break;
    case M_I16:
        *v = x87_from_int((int16_t)(uint16_t)raw);
        break;
    }
    *denormal = (t.sw & X87_SW_DE) != 0;
    return true;
}

/* A NaN, or an encoding the x87 does not support (pseudo-NaN/infinity,
 * unnormal): the operation reports IE or propagates, never DE. */
static bool nan_or_bad(f80 a)
{
    unsigned e = a.sign_exp & 0x7fff;

    if (e == 0x7fff) {
        return !(a.mant >> 63) || (a.mant << 1) != 0;
    }
    return e != 0 && !(a.mant >> 63);
}

static bool is_zero(f80 a)
{
    return (a.sign_exp & 0x7fff) == 0 && a.mant == 0;
}

/* ---- arithmetic ---- */

/* ModRM.reg of the D8 encoding: add mul com comp sub subr div divr. */
static f80 arith_op(struct x87_ctx *c, unsigned r, f80 a, f80 b)
{
    switch (r) {
    case 0:
        return x87_add(c, a, b);
    case 1:
        return x87_mul(c, a, b);
    case 4:
        return x87_sub(c, a, b);
    case 5:
        return x87_sub(c, b, a);
    case 6:
        return x87_div(c, a, b);
    default:
        return x87_div(c, b, a);
    }
}

/*
 * dst = a op b (dst an ST index, a the destination's old value), then an
 * optional pop.  An empty operand is a stack underflow; an unmasked
 * exception leaves destination and stack alone.
 */
static void arith(struct tcg_cpu *cpu, struct x87_ctx *c, unsigned r, unsigned dst,
                  bool ok, f80 a, f80 b, bool pop)
{
    f80 res;

    if (!ok) {
        if (!stack_underflow(c)) {
            return;
        }
        res = X87_INDEFINITE;
    } else {
        res = arith_op(c, r, a, b);
        if (c->no_store) {
            return;
        }
    }
    st_put(cpu, dst, res);
    if (pop) {
        st_pop(cpu);
    }
}

/* FCOM-family outcome into C0/C2/C3 or (FCOMI) into ZF/PF/CF. */
static void compare(struct tcg_cpu *cpu, struct x87_ctx *c, bool ok, f80 a, f80 b,
                    bool quiet, unsigned pops, bool eflags)
{
    enum x87_cmp r;

    /* The outcome is reported even when the exception is unmasked; only
     * the pop is skipped then (checked on the host). */
    if (!ok) {
        stack_underflow(c);
        r = X87_CMP_UN;
    } else {
        r = x87_compare(c, a, b, quiet);
    }
    if (c->sw & ~c->cw & X87_SW_EXC) {
        pops = 0;
    }
    if (eflags) {
        /* SDM vol. 2, FCOMI: ZF PF CF = C3 C2 C0; OF SF AF cleared. */
        uint64_t fl = ((r & X87_SW_C3) ? RFLAGS_ZF : 0) | ((r & X87_SW_C2) ? RFLAGS_PF : 0) |
                      ((r & X87_SW_C0) ? RFLAGS_CF : 0);
        tcg_flags_set(cpu, TCG_FLAGS_ARITH, fl);
    } else {
        c->sw = (uint16_t)((c->sw & ~SW_CC023) | r);
    }
    while (pops--) {
        st_pop(cpu);
    }
}

/* ---- the memory forms ---- */

/* Data pointer of the last non-control instruction with a memory operand
 * (SDM vol. 1, 8.1.8). */
static void set_data_ptr(struct tcg_cpu *cpu, const struct insn *in)
{
    cpu->st.fpu.fdp = tcg_ea(cpu, in);
    cpu->st.fpu.fds = cpu->st.seg[in->mem.seg & 7].selector;
}

/*
 * D8 / DC / DA / DE memory: arithmetic and compares with a memory source.
 * A denormal memory operand reports DE after the NaN checks, and not for
 * a division by zero (the rules of the arithmetic core for register
 * operands; checked on the host).  An unmasked DE stops an arithmetic
 * form before its result; a compare still reports its outcome.
 */
static enum tcg_status mem_arith(struct tcg_cpu *cpu, const struct insn *in, enum msrc kind)
{
    unsigned r = (in->modrm >> 3) & 7;
    bool cmp = r == 2 || r == 3, den;
    struct x87_ctx c;
    enum tcg_status st;
    f80 m, a = st_get(cpu, 0);

    ctx_start(cpu, &c);
    if (!read_src(cpu, in, kind, &m, &den, &st)) {
        return st;
    }
    if (den && st_valid(cpu, 0) && !nan_or_bad(a) && !(r == 7 && is_zero(a))) {
        c.sw |= X87_SW_DE;
        if (!cmp && !(c.cw & X87_SW_DE)) {
            sw_commit(cpu, &c, X87_SW_C1);
            return TCG_OK;
        }
    }
    if (cmp) {
        compare(cpu, &c, st_valid(cpu, 0), a, m, false, r == 3, false);
        sw_commit(cpu, &c, SW_CC);
        return TCG_OK;
    }
    arith(cpu, &c, r, 0, st_valid(cpu, 0), a, m, false);
    sw_commit(cpu, &c, X87_SW_C1);
    return TCG_OK;
}

/* FLD m32/m64/m80, FILD m16/m32/m64, FBLD: push the converted value. */
static enum tcg_status load_push(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                 char kind)
{
    uint8_t b[10] = { 0 };
    struct x87_ctx c;
    enum tcg_status st;
    uint64_t raw;
    f80 v;

    ctx_start(cpu, &c);
    if ((st = m80_first(cpu, in, size, ACC_READ)) != TCG_OK ||
        (st = mem_rd(cpu, in, 0, b, size)) != TCG_OK) {
        return st;
    }
    memcpy(&raw, b, 8);
    switch (kind) {
    case 'f':
        v = size == 4 ? x87_from_f32(&c, (uint32_t)raw) :
            size == 8 ? x87_from_f64(&c, raw) : f80_from_bytes(b);
        break;
    case 'i':
        v = x87_from_int(size == 2 ? (int16_t)raw : size == 4 ? (int32_t)raw : (int64_t)raw);
        break;
    default: {
        /* FBLD: 18 packed BCD digits, sign in bit 79 (SDM vol. 1, 4.7).
         * Digits above 9 are undefined: taken at face value. */
        uint64_t n = 0;

        for (int i = 8; i >= 0; i--) {
            n = n * 100 + (b[i] >> 4) * 10 + (b[i] & 15);
        }
        v = x87_from_int((int64_t)n);
        if (b[9] & 0x80) {
            v.sign_exp |= 0x8000;
        }
        break;
    }
    }
    c.sw &= ~X87_SW_C1;
    if (st_valid(cpu, 7)) {
        /* Stack overflow comes first: no conversion flags (measured). */
        c.sw &= ~X87_SW_EXC;
        c.no_store = false;
    }
    /* An unmasked DE still loads the value; only an unmasked IE (SNaN)
     * leaves the stack alone (checked on the host). */
    if (!(c.no_store && (c.sw & X87_SW_IE))) {
        push_checked(cpu, &c, v);
    }
    sw_commit(cpu, &c, X87_SW_C1);
    return TCG_OK;
}

/* An unmasked exception stops a store: the destination is checked all
 * the same (store_probe), then only FSW changes. */
static enum tcg_status suppressed_store(struct tcg_cpu *cpu, const struct insn *in,
                                        const struct x87_ctx *c, unsigned size)
{
    enum tcg_status st = store_probe(cpu, in, size);

    if (st == TCG_OK) {
        sw_commit(cpu, c, X87_SW_C1);
    }
    return st;
}

/* FST/FSTP m32/m64/m80. */
static enum tcg_status store_real(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                  bool pop)
{
    uint8_t b[10];
    struct x87_ctx c;
    enum tcg_status st;

    ctx_start(cpu, &c);
    if (!st_valid(cpu, 0)) {
        if (!stack_underflow(&c)) {
            return suppressed_store(cpu, in, &c, size);
        }
        c.no_store = false;
        if (size == 4) {
            uint32_t v = 0xffc00000u;
            memcpy(b, &v, 4);
        } else if (size == 8) {
            uint64_t v = 0xfff8000000000000ull;
            memcpy(b, &v, 8);
        } else {
            f80_to_bytes(b, X87_INDEFINITE);
        }
    } else if (size == 4) {
        uint32_t v = x87_to_f32(&c, st_get(cpu, 0));
        memcpy(b, &v, 4);
    } else if (size == 8) {
        uint64_t v = x87_to_f64(&c, st_get(cpu, 0));
        memcpy(b, &v, 8);
    } else {
        /* m80 is a plain copy: no exceptions (SDM vol. 2, FST). */
        c.sw &= ~X87_SW_C1;
        f80_to_bytes(b, st_get(cpu, 0));
    }
    if (c.no_store) {
        return suppressed_store(cpu, in, &c, size);
    }
    if ((st = m80_first(cpu, in, size, ACC_WRITE)) != TCG_OK ||
        (st = mem_wr(cpu, in, 0, b, size)) != TCG_OK) {
        return st;
    }
    sw_commit(cpu, &c, X87_SW_C1);
    if (pop) {
        st_pop(cpu);
    }
    return TCG_OK;
}

/* FIST/FISTP/FISTTP m16/m32/m64. */
static enum tcg_status store_int(struct tcg_cpu *cpu, const struct insn *in, unsigned size,
                                 bool pop, bool truncate)
{
    struct x87_ctx c;
    enum tcg_status st;
    int64_t v;

    ctx_start(cpu, &c);
    if (!st_valid(cpu, 0)) {
        if (!stack_underflow(&c)) {
            return suppressed_store(cpu, in, &c, size);
        }
        v = (int64_t)(1ull << (size * 8 - 1));
    } else {
        v = x87_to_int(&c, st_get(cpu, 0), size * 8, truncate);
        if (c.no_store) {
            return suppressed_store(cpu, in, &c, size);
        }
    }
    st = mem_wr(cpu, in, 0, &v, size);
    if (st != TCG_OK) {
        return st;
    }
    sw_commit(cpu, &c, X87_SW_C1);
    if (pop) {
        st_pop(cpu);
    }
    return TCG_OK;
}

/* FBSTP m80bcd: ST(0) rounded per RC, 18 digits (SDM vol. 2, FBSTP). */
static enum tcg_status store_bcd(struct tcg_cpu *cpu, const struct insn *in)
{
    static const uint8_t indefinite[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
    uint8_t b[10];
    struct x87_ctx c, t;
    enum tcg_status st;

    ctx_start(cpu, &c);
    if (!st_valid(cpu, 0)) {
        if (!stack_underflow(&c)) {
            return suppressed_store(cpu, in, &c, 10);
        }
        memcpy(b, indefinite, 10);
    } else {
        f80 a = st_get(cpu, 0);
        int64_t v;
        uint64_t n;

        ctx_start(cpu, &t);
        v = x87_to_int(&t, a, 64, false);
        n = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        if ((t.sw & X87_SW_IE) || n > 999999999999999999ull) {
            c.sw = (uint16_t)((c.sw & ~X87_SW_C1) | X87_SW_IE);
            if (!ie_masked(&c)) {
                return suppressed_store(cpu, in, &c, 10);
            }
            memcpy(b, indefinite, 10);
        } else {
            c.sw = t.sw;
            for (int i = 0; i < 9; i++) {
                b[i] = (uint8_t)((n % 10) | ((n / 10 % 10) << 4));
                n /= 100;
            }
            b[9] = (a.sign_exp & 0x8000) ? 0x80 : 0;
        }
    }
    if ((st = m80_first(cpu, in, 10, ACC_WRITE)) != TCG_OK ||
        (st = mem_wr(cpu, in, 0, b, 10)) != TCG_OK) {
        return st;
    }
    sw_commit(cpu, &c, X87_SW_C1);
    st_pop(cpu);
    return TCG_OK;
}

/* ---- environment (SDM vol. 1, 8.1.10, figures 8-9 to 8-12) ---- */

/* Tag of one register from its contents: 0 valid, 1 zero, 2 special
 * (NaN, infinity, denormal, unsupported), 3 empty (SDM vol. 1, 8.1.7). */
static unsigned full_tag_of(const struct tcg_cpu *cpu, unsigned p)
{
    const struct x86_fpu_state *f = &cpu->st.fpu;
    unsigned e = f->st[p].exp & 0x7fff;

    if (!((f->ftw >> p) & 1)) {
        return 3;
    }
    if (e == 0) {
        return f->st[p].mant == 0 ? 1 : 2;
    }
    if (e == 0x7fff || !(f->st[p].mant >> 63)) {
        return 2;
    }
    return 0;
}

static uint16_t full_tag_word(const struct tcg_cpu *cpu)
{
    uint16_t tw = 0;

    for (unsigned p = 0; p < 8; p++) {
        tw |= (uint16_t)(full_tag_of(cpu, p) << (2 * p));
    }
    return tw;
}

static void put16(uint8_t *b, unsigned off, uint32_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, unsigned off, uint32_t v)
{
    put16(b, off, v);
    put16(b, off + 2, v >> 16);
}

static uint32_t get16(const uint8_t *b, unsigned off)
{
    return b[off] | (uint32_t)b[off + 1] << 8;
}

static uint32_t get32(const uint8_t *b, unsigned off)
{
    return get16(b, off) | get16(b, off + 2) << 16;
}

/* The environment's format: 16- or 32-bit, real-mode (also virtual-8086)
 * or protected-mode layout. */
static bool env_is16(const struct insn *in)
{
    return in->op_size == 2;
}

static bool env_real(const struct tcg_cpu *cpu)
{
    return cpu->mode == MODE_REAL16 || (cpu->st.rflags & RFLAGS_VM);
}

/* Builds the 14- or 28-byte image; returns its size. */
static unsigned env_store(const struct tcg_cpu *cpu, const struct insn *in, uint8_t *b)
{
    const struct x86_fpu_state *f = &cpu->st.fpu;
    uint16_t tw = full_tag_word(cpu);

    if (env_real(cpu)) {
        /* Real-mode formats hold 20/32-bit linear pointers. */
        uint32_t ip = (uint32_t)(f->fcs << 4) + (uint32_t)f->fip;
        uint32_t dp = (uint32_t)(f->fds << 4) + (uint32_t)f->fdp;

        if (env_is16(in)) {
            put16(b, 0, f->fcw);
            put16(b, 2, f->fsw);
            put16(b, 4, tw);
            put16(b, 6, ip);
            put16(b, 8, ((ip >> 4) & 0xf000) | (f->fop & 0x7ff));
            put16(b, 10, dp);
            put16(b, 12, (dp >> 4) & 0xf000);
            return 14;
        }
        put32(b, 0, 0xffff0000u | f->fcw);
        put32(b, 4, 0xffff0000u | f->fsw);
        put32(b, 8, 0xffff0000u | tw);
        put32(b, 12, 0xffff0000u | (ip & 0xffff));
        put32(b, 16, ((ip >> 4) & 0x0ffff000u) | (f->fop & 0x7ff));
        put32(b, 20, 0xffff0000u | (dp & 0xffff));
        put32(b, 24, (dp >> 4) & 0x0ffff000u);
        return 28;
    }
    if (env_is16(in)) {
        put16(b, 0, f->fcw);
        put16(b, 2, f->fsw);
        put16(b, 4, tw);
        put16(b, 6, (uint32_t)f->fip);
        put16(b, 8, f->fcs);
        put16(b, 10, (uint32_t)f->fdp);
        put16(b, 12, f->fds);
        return 14;
    }
    /* Reserved halves are written as ones, as the host processor does. */
    put32(b, 0, 0xffff0000u | f->fcw);
    put32(b, 4, 0xffff0000u | f->fsw);
    put32(b, 8, 0xffff0000u | tw);
    put32(b, 12, (uint32_t)f->fip);
    put32(b, 16, f->fcs | (uint32_t)(f->fop & 0x7ff) << 16);
    put32(b, 20, (uint32_t)f->fdp);
    put32(b, 24, 0xffff0000u | f->fds);
    return 28;
}

static unsigned env_size(const struct insn *in)
{
    return env_is16(in) ? 14 : 28;
}

/* The size of the first field, FCW, in the image (see image_check). */
static unsigned env_first(const struct insn *in)
{
    return env_is16(in) ? 2 : 4;
}

/* Loads an environment image; the tag word only says empty or not, the
 * rest is recomputed from the registers (SDM vol. 1, 8.1.7). */
static void env_load(struct tcg_cpu *cpu, const struct insn *in, const uint8_t *b)
{
    struct x86_fpu_state *f = &cpu->st.fpu;
    uint32_t tw;

    if (env_is16(in)) {
        f->fcw = tcg_x87_fcw(get16(b, 0));
        f->fsw = (uint16_t)get16(b, 2);
        tw = get16(b, 4);
        if (env_real(cpu)) {
            f->fip = get16(b, 6) | (get16(b, 8) & 0xf000) << 4;
            f->fop = (uint16_t)(get16(b, 8) & 0x7ff);
            f->fdp = get16(b, 10) | (get16(b, 12) & 0xf000) << 4;
            f->fcs = f->fds = 0;
        } else {
            f->fip = get16(b, 6);
            f->fcs = (uint16_t)get16(b, 8);
            f->fdp = get16(b, 10);
            f->fds = (uint16_t)get16(b, 12);
        }
    } else {
        f->fcw = tcg_x87_fcw(get32(b, 0));
        f->fsw = (uint16_t)get32(b, 4);
        tw = get32(b, 8) & 0xffff;
        if (env_real(cpu)) {
            f->fip = (get32(b, 12) & 0xffff) | (get32(b, 16) & 0x0ffff000u) << 4;
            f->fop = (uint16_t)(get32(b, 16) & 0x7ff);
            f->fdp = (get32(b, 20) & 0xffff) | (get32(b, 24) & 0x0ffff000u) << 4;
            f->fcs = f->fds = 0;
        } else {
            f->fip = get32(b, 12);
            f->fcs = (uint16_t)get32(b, 16);
            f->fop = (uint16_t)((get32(b, 16) >> 16) & 0x7ff);
            f->fdp = get32(b, 20);
            f->fds = (uint16_t)get32(b, 24);
        }
    }
    f->ftw = 0;
    for (unsigned p = 0; p < 8; p++) {
        if (((tw >> (2 * p)) & 3) != 3) {
            f->ftw |= (uint8_t)(1u << p);
        }
    }
    tcg_x87_update_es(cpu);
}

static enum tcg_status fnstenv(struct tcg_cpu *cpu, const struct insn *in, bool save)
{
    uint8_t b[28 + 80];
    unsigned n = env_store(cpu, in, b), size = n + (save ? 80 : 0);
    enum tcg_status st;

    if (save) {
        /* FNSAVE: ST(0)..ST(7) follow the environment, then FNINIT. */
        for (unsigned j = 0; j < 8; j++) {
            f80_to_bytes(b + n + 10 * j, st_get(cpu, j));
        }
    }
    if ((st = image_check(cpu, in, size, env_first(in), ACC_WRITE)) != TCG_OK ||
        (st = mem_wr_n(cpu, in, b, size)) != TCG_OK) {
        return st;
    }
    if (save) {
        tcg_x87_reset(cpu);
    } else {
        /* FNSTENV then masks all exceptions (SDM vol. 2, FSTENV), which
         * clears ES and B as any new control word does (checked on the
         * host). */
        cpu->st.fpu.fcw |= X87_SW_EXC;
        tcg_x87_update_es(cpu);
    }
    return TCG_OK;
}

static enum tcg_status fldenv(struct tcg_cpu *cpu, const struct insn *in, bool restore)
{
    uint8_t b[28 + 80];
    unsigned n = env_size(in), size = n + (restore ? 80 : 0);
    enum tcg_status st;

    if ((st = image_check(cpu, in, size, env_first(in), ACC_READ)) != TCG_OK ||
        (st = mem_rd_n(cpu, in, b, size)) != TCG_OK) {
        return st;
    }
    env_load(cpu, in, b);
    if (restore) {
        for (unsigned j = 0; j < 8; j++) {
            f80 v = f80_from_bytes(b + n + 10 * j);
            unsigned p = phys(cpu, j);

            cpu->st.fpu.st[p].mant = v.mant;
            cpu->st.fpu.st[p].exp = v.sign_exp;
        }
    }
    return TCG_OK;
}

/* ---- transcendentals on the host x87 ---- */

/* The 28-byte protected-mode environment the host loads with FLDENV. */
struct host_env {
    uint32_t cw, sw, tw, fip, fcs, fdp, fds;
};

/*
 * Runs one of F2XM1 FYL2X FPTAN FPATAN FYL2XP1 FSINCOS FSIN FCOS (modrm
 * F0 F1 F2 F3 F9 FB FE FF) on the host with ST(0) = a, ST(1) = b, the
 * guest's control word and condition codes, all host registers otherwise
 * empty.  Returns the host FSW after the instruction; r[0], r[1] get the
 * host's ST(0), ST(1).  The host is left initialized (FNINIT: control word
 * 037Fh, the x86-64 ABI default).
 */
#define HOST_X87(insn) \
    __asm__ volatile("fnclex\n\t" \
                     "fldenv %[env]\n\t" \
                     "fldt %[b]\n\t" \
                     "fldt %[a]\n\t" \
                     insn "\n\t" \
                     "fnstsw %[sw]\n\t" \
                     "fnclex\n\t" \
                     "fldcw %[mcw]\n\t" \
                     "fstpt %[r0]\n\t" \
                     "fstpt %[r1]\n\t" \
                     "fninit\n\t" \
                     : [sw] "=m"(sw), [r0] "=m"(r[0]), [r1] "=m"(r[1]) \
                     : [env] "m"(env), [a] "m"(a), [b] "m"(b), [mcw] "m"(mcw) \
                     : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", \
                       "st(7)", "memory")

static uint16_t host_transcendental(uint8_t modrm, uint16_t cw, uint16_t cc, f80 a, f80 b,
                                    long double *r)
{
    struct host_env env = { 0xffff0000u | cw, 0xffff0000u | cc, 0xffffffffu, 0, 0, 0,
                            0xffff0000u };
    const uint16_t mcw = 0x037f;
    uint16_t sw = 0;

    switch (modrm) {
    case 0xf0:
        HOST_X87("f2xm1");
        break;
    case 0xf1:
        HOST_X87("fyl2x");
        break;
    case 0xf2:
        HOST_X87("fptan");
        break;
    case 0xf3:
        HOST_X87("fpatan");
        break;
    case 0xf9:
        HOST_X87("fyl2xp1");
        break;
    case 0xfb:
        HOST_X87("fsincos");
        break;
    case 0xfe:
        HOST_X87("fsin");
        break;
    default:
        HOST_X87("fcos");
        break;
    }
    return sw;
}

static f80 f80_of_ld(const long double *x)
{
    f80 v;

    memcpy(&v.mant, x, 8);
    memcpy(&v.sign_exp, (const uint8_t *)x + 8, 2);
    return v;
}

/*
 * The stack effect is read back from the host: TOP after the two loads is
 * 6; one less means a push (FPTAN, FSINCOS), one more a pop (FYL2X,
 * FYL2XP1, FPATAN), the same value nothing (or an unmasked exception).
 */
static uint16_t transcendental(struct tcg_cpu *cpu, struct x87_ctx *c, uint8_t modrm)
{
    bool two = modrm == 0xf1 || modrm == 0xf3 || modrm == 0xf9;
    bool pushes = modrm == 0xf2 || modrm == 0xfb;
    long double r[2];
    uint16_t sw;
    int delta;
    f80 a, b;

    /* Stack faults: C0 and C3 kept, C2 kept by F2XM1/FYL2X/FPATAN/FYL2XP1
     * and cleared by those that report a range error (checked on the
     * host). */
    uint16_t fault_mask = (modrm == 0xf2 || modrm >= 0xfb) ? X87_SW_C1 | X87_SW_C2 : X87_SW_C1;

    if (!st_valid(cpu, 0) || (two && !st_valid(cpu, 1))) {
        if (!stack_underflow(c)) {
            return fault_mask;
        }
        if (two) {
            st_put(cpu, 1, X87_INDEFINITE);
            st_pop(cpu);
        } else {
            st_put(cpu, 0, X87_INDEFINITE);
            if (pushes) {
                /* no overflow check after an underflow (measured) */
                st_push(cpu, X87_INDEFINITE);
            }
        }
        return fault_mask;
    }
    if (pushes && st_valid(cpu, 7)) {
        if (stack_overflow(c)) {
            st_put(cpu, 0, X87_INDEFINITE);
            st_push(cpu, X87_INDEFINITE);
        }
        return fault_mask;
    }
    a = st_get(cpu, 0);
    b = two ? st_get(cpu, 1) : (f80){ 0, 0 };
    sw = host_transcendental(modrm, cpu->st.fpu.fcw, cpu->st.fpu.fsw & SW_CC, a, b, r);
    c->sw = (uint16_t)((c->sw & ~SW_CC) | (sw & (SW_CC | X87_SW_EXC)));
    delta = (int)((sw >> X87_SW_TOP_SHIFT) & 7) - 6;
    if (delta < 0) {
        st_put(cpu, 0, f80_of_ld(&r[1]));
        st_push(cpu, f80_of_ld(&r[0]));
    } else if (delta > 0) {
        st_pop(cpu);
        st_put(cpu, 0, f80_of_ld(&r[0]));
    } else {
        st_put(cpu, 0, f80_of_ld(&r[0]));
    }
    return SW_CC;
}

/* ---- register forms ---- */

/* The FLD constants (SDM vol. 1, 8.3.8): the 64-bit significand truncated
 * from the internal 66-bit value, and whether round-to-nearest rounds it
 * up.  Rounding up or down adds one or keeps the truncation (all are
 * positive and inexact). */
static f80 fld_const(unsigned idx, uint16_t cw)
{
    static const struct { uint64_t mant; uint16_t exp; bool near_up; } k[] = {
        { 0xd49a784bcd1b8afeull, 0x4000, false },   /* log2(10) */
        { 0xb8aa3b295c17f0bbull, 0x3fff, true },    /* log2(e) */
        { 0xc90fdaa22168c234ull, 0x4000, true },    /* pi */
        { 0x9a209a84fbcff798ull, 0x3ffd, true },    /* log10(2) */
        { 0xb17217f7d1cf79abull, 0x3ffe, true },    /* ln(2) */
    };
    unsigned rc = cw & X87_CW_RC_ZERO;
    bool up = rc == X87_CW_RC_UP || (rc == X87_CW_RC_NEAR && k[idx].near_up);

    return (f80){ k[idx].mant + up, k[idx].exp };
}

static bool fcmov_cond(const struct tcg_cpu *cpu, unsigned opc, unsigned r)
{
    static const uint8_t cc[4] = { 2, 4, 6, 10 };   /* b e be p */
    bool v = tcg_cond(cpu, cc[r & 3]);

    return opc == 0xdb ? !v : v;
}

static void fxch(struct tcg_cpu *cpu, struct x87_ctx *c, unsigned i)
{
    f80 a, b;

    if (!st_valid(cpu, 0) || !st_valid(cpu, i)) {
        if (!stack_underflow(c)) {
            return;
        }
        if (!st_valid(cpu, 0)) {
            st_put(cpu, 0, X87_INDEFINITE);
        }
        if (!st_valid(cpu, i)) {
            st_put(cpu, i, X87_INDEFINITE);
        }
    }
    a = st_get(cpu, 0);
    b = st_get(cpu, i);
    st_put(cpu, 0, b);
    st_put(cpu, i, a);
}

/* FST/FSTP ST(i): a copy, no conversion. */
static void fst_reg(struct tcg_cpu *cpu, struct x87_ctx *c, unsigned i, bool pop)
{
    f80 v = st_get(cpu, 0);

    if (!st_valid(cpu, 0)) {
        if (!stack_underflow(c)) {
            return;
        }
        v = X87_INDEFINITE;
    }
    st_put(cpu, i, v);
    if (pop) {
        st_pop(cpu);
    }
}

/* A one-operand operation on ST(0): FCHS FABS FSQRT FRNDINT. */
static void unary(struct tcg_cpu *cpu, struct x87_ctx *c, unsigned modrm)
{
    f80 a = st_get(cpu, 0), r;

    if (!st_valid(cpu, 0)) {
        if (stack_underflow(c)) {
            st_put(cpu, 0, X87_INDEFINITE);
        }
        return;
    }
    switch (modrm) {
    case 0xe0:
        r = (f80){ a.mant, (uint16_t)(a.sign_exp ^ 0x8000) };
        break;
    case 0xe1:
        r = (f80){ a.mant, (uint16_t)(a.sign_exp & 0x7fff) };
        break;
    case 0xfa:
        r = x87_sqrt(c, a);
        break;
    default:
        r = x87_rndint(c, a);
        break;
    }
    if (!c->no_store) {
        st_put(cpu, 0, r);
    }
}

/* FXAM (SDM vol. 2): class in C3/C2/C0, sign in C1; empty is 101b. */
static void fxam(struct tcg_cpu *cpu, struct x87_ctx *c)
{
    f80 a = st_get(cpu, 0);
    uint16_t cc;

    if (!st_valid(cpu, 0)) {
        cc = X87_SW_C3 | X87_SW_C0 | ((a.sign_exp & 0x8000) ? X87_SW_C1 : 0);
    } else {
        cc = x87_examine(a);
    }
    c->sw = (uint16_t)((c->sw & ~SW_CC) | cc);
}

/* ST(0) op ST(1) into ST(0): FPREM FPREM1 FSCALE. */
static bool is_nan(f80 a)
{
    return (a.sign_exp & 0x7fff) == 0x7fff && (a.mant << 1) != 0;
}

/* Returns the condition codes the operation defines. */
static uint16_t binary01(struct tcg_cpu *cpu, struct x87_ctx *c, unsigned modrm)
{
    f80 a = st_get(cpu, 0), b = st_get(cpu, 1), r;
    /* FPREM/FPREM1 without a quotient (stack fault, NaN, invalid or an
     * unmasked denormal) clear C2 and keep C0/C3 (checked on the host). */
    uint16_t partial = X87_SW_C1 | X87_SW_C2;
    uint16_t full = modrm == 0xfd ? X87_SW_C1 : SW_CC;

    if (!st_valid(cpu, 0) || !st_valid(cpu, 1)) {
        if (stack_underflow(c)) {
            st_put(cpu, 0, X87_INDEFINITE);
        }
        return modrm == 0xfd ? X87_SW_C1 : partial;
    }
    if (modrm == 0xfd) {
        r = x87_scale(c, a, b);
    } else {
        r = x87_prem(c, a, b, modrm == 0xf5);
        if ((c->sw & X87_SW_IE) || c->no_store || is_nan(a) || is_nan(b)) {
            full = partial;
        }
    }
    if (!c->no_store) {
        st_put(cpu, 0, r);
    }
    return full;
}

/* FXTRACT: ST(0) <- exponent, then push the significand. */
static void fxtract(struct tcg_cpu *cpu, struct x87_ctx *c)
{
    f80 e, s;

    if (!st_valid(cpu, 0)) {
        if (stack_underflow(c)) {
            /* no overflow check after an underflow (measured) */
            st_put(cpu, 0, X87_INDEFINITE);
            st_push(cpu, X87_INDEFINITE);
        }
        return;
    }
    if (st_valid(cpu, 7)) {
        if (stack_overflow(c)) {
            st_put(cpu, 0, X87_INDEFINITE);
            st_push(cpu, X87_INDEFINITE);
        }
        return;
    }
    s = x87_xtract(c, st_get(cpu, 0), &e);
    if (!c->no_store) {
        st_put(cpu, 0, e);
        st_push(cpu, s);
    }
}

/* D9 E0..FF. */
static void d9_misc(struct tcg_cpu *cpu, struct x87_ctx *c, unsigned modrm, uint16_t *ccmask)
{
    *ccmask = X87_SW_C1;
    switch (modrm) {
    case 0xe0: case 0xe1: case 0xfa: case 0xfc:
        unary(cpu, c, modrm);
        break;
    case 0xe4:      /* FTST: compare with +0.0 */
        compare(cpu, c, st_valid(cpu, 0), st_get(cpu, 0), (f80){ 0, 0 }, false, 0, false);
        *ccmask = SW_CC;
        break;
    case 0xe5:
        fxam(cpu, c);
        *ccmask = SW_CC;
        break;
    case 0xe8:
        push_checked(cpu, c, (f80){ 1ull << 63, 0x3fff });
        break;
    case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed:
        push_checked(cpu, c, fld_const(modrm - 0xe9, c->cw));
        break;
    case 0xee:
        push_checked(cpu, c, (f80){ 0, 0 });
        break;
    case 0xf4:
        fxtract(cpu, c);
        break;
    case 0xf5: case 0xf8: case 0xfd:
        *ccmask = binary01(cpu, c, modrm);
        break;
    case 0xf6:      /* FDECSTP */
        fpu_set_top(cpu, fpu_top(cpu) - 1);
        break;
    case 0xf7:      /* FINCSTP */
        fpu_set_top(cpu, fpu_top(cpu) + 1);
        break;
    default:        /* F0-F3, F9, FB, FE, FF */
        *ccmask = transcendental(cpu, c, (uint8_t)modrm);
        break;
    }
}

/*
 * C1 of the instructions for which the SDM leaves it undefined, or says
 * otherwise than the processor does (measured on AMD Zen 4, the processor
 * the software CPU follows where the SDM leaves a choice; kept in this
 * one place):
 *  - FCOMI, FCOMIP, FUCOMI, FUCOMIP and FCMOVcc keep C1, unless they meet
 *    a stack fault, which clears it as everywhere (masked or not).  The
 *    SDM has the FCOMI family clear C1 always: that is kept for a host
 *    whose vendor is Intel.
 *  - FNOP keeps C1.
 *  - FFREE and FFREEP clear C1.
 * Returns the FSW condition bits sw_commit() takes from the instruction.
 */
enum c1_form { C1_FCOMI, C1_FCMOV, C1_FNOP, C1_FFREE };

static uint16_t c1_rule(enum c1_form form, const struct x87_ctx *c)
{
    switch (form) {
    case C1_FCOMI:
        if (tcg_host_is_intel()) {
            return X87_SW_C1;
        }
        /* fall through */
    case C1_FCMOV:
        return (c->sw & X87_SW_SF) ? X87_SW_C1 : 0;
    case C1_FNOP:
        return 0;
    default:
        return X87_SW_C1;
    }
}

/* The register forms (mod = 3). */
static enum tcg_status x87_reg(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned opc = in->opcode, modrm = in->modrm, r = (modrm >> 3) & 7, i = modrm & 7;
    uint16_t ccmask = X87_SW_C1;
    struct x87_ctx c;

    ctx_start(cpu, &c);
    switch (opc) {
    case 0xd8:
        if (r == 2 || r == 3) {
            compare(cpu, &c, st_valid(cpu, 0) && st_valid(cpu, i), st_get(cpu, 0),
                    st_get(cpu, i), false, r == 3, false);
            ccmask = SW_CC;
        } else {
            arith(cpu, &c, r, 0, st_valid(cpu, 0) && st_valid(cpu, i), st_get(cpu, 0),
                  st_get(cpu, i), false);
        }
        break;
    case 0xdc:
    case 0xde:
        if (r == 2 || r == 3) {
            /* DC D0/D8 (FCOM2/FCOMP3), DE D0 (FCOMP5), DE D8 (FCOMPP for D9) */
            unsigned pops = opc == 0xde ? (r == 3 ? 2 : 1) : (r == 3);

            compare(cpu, &c, st_valid(cpu, 0) && st_valid(cpu, i), st_get(cpu, 0),
                    st_get(cpu, i), false, pops, false);
            ccmask = SW_CC;
        } else {
            /* ST(i) is the destination; the reversed forms swap roles. */
            arith(cpu, &c, r >= 4 ? r ^ 1 : r, i, st_valid(cpu, 0) && st_valid(cpu, i),
                  st_get(cpu, i), st_get(cpu, 0), opc == 0xde);
        }
        break;
    case 0xd9:
        switch (r) {
        case 0: {
            bool ok = st_valid(cpu, i);
            f80 v = st_get(cpu, i);

            if (!ok) {
                /* underflow wins; no overflow check (measured) */
                if (stack_underflow(&c)) {
                    st_push(cpu, X87_INDEFINITE);
                }
                break;
            }
            push_checked(cpu, &c, v);
            break;
        }
        case 1:
            fxch(cpu, &c, i);
            break;
        case 2:     /* FNOP */
            ccmask = c1_rule(C1_FNOP, &c);
            break;
        case 3:
            /* FSTP1 alias: with ST(0) empty the host just pops, with no
             * stack fault and ST(i) unchanged (measured). */
            if (!st_valid(cpu, 0)) {
                st_pop(cpu);
                break;
            }
            fst_reg(cpu, &c, i, true);
            break;
        default:
            d9_misc(cpu, &c, modrm, &ccmask);
            break;
        }
        break;
    case 0xda:
    case 0xdb:
        if (r < 4) {        /* FCMOVcc */
            if (!st_valid(cpu, 0) || !st_valid(cpu, i)) {
                if (stack_underflow(&c)) {
                    st_put(cpu, 0, X87_INDEFINITE);
                }
            } else if (fcmov_cond(cpu, opc, r)) {
                st_put(cpu, 0, st_get(cpu, i));
            }
            ccmask = c1_rule(C1_FCMOV, &c);
        } else if (opc == 0xda) {   /* DA E9: FUCOMPP */
            compare(cpu, &c, st_valid(cpu, 0) && st_valid(cpu, 1), st_get(cpu, 0),
                    st_get(cpu, 1), true, 2, false);
            ccmask = SW_CC;
        } else if (r == 4) {
            switch (modrm) {
            case 0xe2:      /* FNCLEX */
                cpu->st.fpu.fsw &= ~(X87_SW_EXC | X87_SW_SF | X87_SW_ES | X87_SW_B);
                return TCG_OK;
            case 0xe3:      /* FNINIT */
                tcg_x87_reset(cpu);
                return TCG_OK;
            default:        /* FNENI, FNDISI, FNSETPM: no-ops since the 387 */
                return TCG_OK;
            }
        } else {            /* FUCOMI (E8), FCOMI (F0) */
            compare(cpu, &c, st_valid(cpu, 0) && st_valid(cpu, i), st_get(cpu, 0),
                    st_get(cpu, i), r == 5, 0, true);
            ccmask = c1_rule(C1_FCOMI, &c);
        }
        break;
    case 0xdd:
        switch (r) {
        case 0:     /* FFREE */
            cpu->st.fpu.ftw &= ~(1u << phys(cpu, i));
            ccmask = c1_rule(C1_FFREE, &c);
            break;
        case 1:     /* FXCH4 alias */
            fxch(cpu, &c, i);
            break;
        case 2:
        case 3:
            fst_reg(cpu, &c, i, r == 3);
            break;
        default:    /* FUCOM, FUCOMP */
            compare(cpu, &c, st_valid(cpu, 0) && st_valid(cpu, i), st_get(cpu, 0),
                    st_get(cpu, i), true, r == 5, false);
            ccmask = SW_CC;
            break;
        }
        break;
    default:        /* 0xdf */
        switch (r) {
        case 0:     /* FFREEP: free ST(i), then a pop frees ST(0) too */
            cpu->st.fpu.ftw &= ~(1u << phys(cpu, i));
            st_pop(cpu);
            ccmask = c1_rule(C1_FFREE, &c);
            break;
        case 1:     /* FXCH7 alias */
            fxch(cpu, &c, i);
            break;
        case 2:
        case 3:     /* FSTP8, FSTP9 aliases */
            fst_reg(cpu, &c, i, true);
            break;
        case 4:     /* FNSTSW AX */
            tcg_reg_write(cpu, R_EAX, 2, false, cpu->st.fpu.fsw);
            return TCG_OK;
        default:    /* FUCOMIP (E8), FCOMIP (F0) */
            compare(cpu, &c, st_valid(cpu, 0) && st_valid(cpu, i), st_get(cpu, 0),
                    st_get(cpu, i), r == 5, 1, true);
            ccmask = c1_rule(C1_FCOMI, &c);
            break;
        }
        break;
    }
    sw_commit(cpu, &c, ccmask);
    return TCG_OK;
}

/* The memory forms. */
static enum tcg_status x87_mem(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned r = (in->modrm >> 3) & 7;
    uint16_t w;

    switch (in->opcode) {
    case 0xd8:
        return mem_arith(cpu, in, M_F32);
    case 0xdc:
        return mem_arith(cpu, in, M_F64);
    case 0xda:
        return mem_arith(cpu, in, M_I32);
    case 0xde:
        return mem_arith(cpu, in, M_I16);
    case 0xd9:
        switch (r) {
        case 0:
            return load_push(cpu, in, 4, 'f');
        case 2:
        case 3:
            return store_real(cpu, in, 4, r == 3);
        case 4:
            return fldenv(cpu, in, false);
        case 5: {
            enum tcg_status st = mem_rd(cpu, in, 0, &w, 2);

            if (st == TCG_OK) {
                cpu->st.fpu.fcw = tcg_x87_fcw(w);
                tcg_x87_update_es(cpu);
            }
            return st;
        }
        case 6:
            return fnstenv(cpu, in, false);
        default:
            return mem_wr(cpu, in, 0, &cpu->st.fpu.fcw, 2);
        }
    case 0xdb:
        switch (r) {
        case 0:
            return load_push(cpu, in, 4, 'i');
        case 1:
            return store_int(cpu, in, 4, true, true);
        case 2:
        case 3:
            return store_int(cpu, in, 4, r == 3, false);
        case 5:
            return load_push(cpu, in, 10, 'f');
        default:
            return store_real(cpu, in, 10, true);
        }
    case 0xdd:
        switch (r) {
        case 0:
            return load_push(cpu, in, 8, 'f');
        case 1:
            return store_int(cpu, in, 8, true, true);
        case 2:
        case 3:
            return store_real(cpu, in, 8, r == 3);
        case 4:
            return fldenv(cpu, in, true);
        case 6:
            return fnstenv(cpu, in, true);
        default:
            return mem_wr(cpu, in, 0, &cpu->st.fpu.fsw, 2);
        }
    default:    /* 0xdf */
        switch (r) {
        case 0:
            return load_push(cpu, in, 2, 'i');
        case 1:
            return store_int(cpu, in, 2, true, true);
        case 2:
        case 3:
            return store_int(cpu, in, 2, r == 3, false);
        case 4:
            return load_push(cpu, in, 10, 'b');
        case 5:
            return load_push(cpu, in, 8, 'i');
        case 6:
            return store_bcd(cpu, in);
        default:
            return store_int(cpu, in, 8, true, false);
        }
    }
}

/* ---- classification and dispatch ---- */

/* FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE (and the 8087 leftovers
 * FNENI/FNDISI/FNSETPM) do not deliver pending exceptions (SDM vol. 1,
 * 8.6). */
static bool x87_nowait(const struct insn *in)
{
    unsigned r = (in->modrm >> 3) & 7;

    if (in->has_mem) {
        return (in->opcode == 0xd9 && r >= 6) || (in->opcode == 0xdd && r >= 6);
    }
    return (in->opcode == 0xdb && in->modrm >= 0xe0 && in->modrm <= 0xe4) ||
           (in->opcode == 0xdf && in->modrm == 0xe0);
}

/* Control instructions leave FIP/FCS/FOP/FDP/FDS alone (SDM vol. 1, 8.1.8
 * and 8.1.9): the FN* group above, FLDCW, FLDENV and FRSTOR. */
static bool x87_control(const struct insn *in)
{
    unsigned r = (in->modrm >> 3) & 7;

    if (x87_nowait(in)) {
        return true;
    }
    return in->has_mem && ((in->opcode == 0xd9 && (r == 4 || r == 5)) ||
                           (in->opcode == 0xdd && r == 4));
}

static enum tcg_status fwait(struct tcg_cpu *cpu)
{
    /* WAIT faults with #NM only when both TS and MP are set (SDM vol. 3,
     * 2.5, table 2-2). */
    if ((cpu->st.cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP)) {
        return tcg_raise(cpu, EXC_NM);
    }
    if (tcg_x87_pending_fault(cpu)) {
        return tcg_raise(cpu, EXC_MF);
    }
    return TCG_OK;
}

enum tcg_status exec_x87(struct tcg_cpu *cpu, const struct insn *in)
{
    enum tcg_status st;

    if (in->opcode == 0x9b) {
        return fwait(cpu);
    }
    if (cpu->st.cr0 & (CR0_EM | CR0_TS)) {
        return tcg_raise(cpu, EXC_NM);
    }
    if (!x87_nowait(in) && tcg_x87_pending_fault(cpu)) {
        return tcg_raise(cpu, EXC_MF);
    }
    st = in->has_mem ? x87_mem(cpu, in) : x87_reg(cpu, in);
    if (st == TCG_OK && !x87_control(in)) {
        struct x86_fpu_state *f = &cpu->st.fpu;

        f->fop = (uint16_t)(((in->opcode & 7) << 8) | in->modrm);
        f->fip = cpu->st.rip;
        f->fcs = cpu->st.seg[S_CS].selector;
        if (in->has_mem) {
            set_data_ptr(cpu, in);
        }
    }
    return st;
}
