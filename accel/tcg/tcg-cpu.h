/*
 * The software CPU's per-vCPU state and the calls its parts make of each
 * other (DESIGN.md, "The software CPU").
 *
 *   decode.c        bytes -> struct insn (insn.h)
 *   exec-*.c        one file per family of handlers; exec-table.c is the
 *                   const table OP_* -> handler
 *   operand.c       effective addresses and operand read/write
 *   mmu.c           segmentation checks, paging walk, TLB, A/D bits
 *   flags.c         RFLAGS results of the arithmetic families
 *   cpu-exec.c      the dispatch loop and the decoded-block cache
 *   tcg.c           struct accel_ops for "-accel tcg"
 *
 * Threads: a struct tcg_cpu belongs to its vCPU thread.  Device access
 * (io_pio/io_mmio) takes the big lock around the call.
 *
 * Flags are computed eagerly: every handler leaves st.rflags exact,
 * including the bits the SDM calls undefined, set as the host CPU vendor
 * sets them (see flags.c) so the differential tester compares all bits.
 */
#ifndef HYVM_TCG_CPU_H
#define HYVM_TCG_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu.h"
#include "accel/tcg/insn.h"

/* Exception vectors (SDM vol. 3, table 6-1). */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* What a handler or memory access returns. */
enum tcg_status {
    TCG_OK = 0,         /* go on with the next instruction */
    TCG_EXCEPTION,      /* cpu->exc holds it; rip still at the faulting insn */
    TCG_HALT,           /* hlt: the vCPU sleeps until an interrupt or kick */
    TCG_STOP,           /* leave the loop after this insn (kick, I/O asked for it) */
    TCG_JUMPED,         /* the handler set rip itself: do not add insn->len */
};

struct tcg_exception {
    uint8_t vector;
    bool has_error_code;
    uint32_t error_code;
    uint64_t cr2;       /* #PF: the faulting linear address */
    /* Set by the loop (cpu-exec.c), not by tcg_raise: 1 when INT n, INT3
     * or INTO raised it (a trap: delivery returns to next_rip and checks
     * the gate's DPL), 2 for INT1, 0 for a fault. */
    uint8_t soft;
};

/* One TLB entry: a 4 KiB linear page mapped to a host pointer (RAM) or to
 * a guest-physical page that is MMIO (host == NULL). */
struct tcg_tlb_entry {
    uint64_t vpage;     /* linear address >> 12, or ~0 when empty */
    uint64_t gpa_page;  /* guest-physical address of the page */
    uint8_t *host;      /* host address of the page, NULL for MMIO */
    uint8_t perm;       /* TLB_W, TLB_U, TLB_X as the walk found them */
    uint8_t dirty;      /* the D bit is set in the PTE already */
    uint32_t *code;     /* the page's code word (code-pages.c): non-zero, a store takes the
                         * slow path */
};
#define TLB_W 1
#define TLB_U 2
#define TLB_X 4
#define TCG_TLB_SIZE 256

/*
 * The translator's TLB (jit-mem.c reads it from translated code, mmu.c keeps it): slot
 * (lin >> 12) & 255 says whether an explicit read or write of the page at lin, in access
 * context ctx (tcg_tlb_ctx()), may go straight to host memory at lin + addend.  A tag is
 * (page address | ctx), or ~0 for "ask the slow path"; it is set only for RAM, for
 * permissions the walk granted, for a write only when the D bit is set and the page holds no
 * decoded code, never where SMAP depends on EFLAGS.AC.  Every TLB flush, INVLPG and new code
 * page clears what it may have made wrong.
 */
struct tcg_tlb_fast {
    uint64_t read;
    uint64_t write;
    uintptr_t addend;
    uint64_t gpa_page;  /* the guest-physical page (32 bytes: the slot is (lin >> 7) & 0x1fe0) */
};
#define TCG_TLB_FAST_SIZE 256

struct tcg_block_cache;
struct x86_cpuid_entry;
struct jit_buf;
struct tcg_block;

/*
 * The translator's jump cache: the block the loop last found at a linear address, for the
 * chain trampoline (jit-translate.c) to go on to without C, as long as the block cache's
 * generation is still gen (no block dropped, no TLB flush: the address still maps there).
 * Slot (lin ^ (lin >> 12)) & (TCG_JC_SIZE - 1).
 */
struct tcg_jc_entry {
    uint64_t lin;
    uint64_t gen;
    struct tcg_block *to;
    uint64_t cpl;
};
#define TCG_JC_SIZE 4096

struct tcg_cpu {
    struct x86_cpu_state st;
    enum cpu_mode mode;            /* from CR0.PE, EFER.LMA, CS.L/D; refreshed
                                    * by tcg_cpu_mode_changed() */
    uint8_t cpl;
    uint64_t msr_star, msr_lstar, msr_cstar, msr_fmask, msr_kernel_gs_base;
    uint64_t msr_tsc_aux, msr_sysenter_cs, msr_sysenter_esp, msr_sysenter_eip;
    uint64_t tsc_offset;
    uint64_t xcr0;
    struct tcg_exception exc;      /* valid after TCG_EXCEPTION */
    uint64_t next_rip;             /* rip of the insn after the current one */
    struct tcg_tlb_entry tlb[TCG_TLB_SIZE];
    struct tcg_block_cache *blocks;
    uint64_t icount;               /* instructions retired */
    /* -icount: tcg_run and translated code leave between blocks once icount reaches this
     * (UINT64_MAX without icount). */
    uint64_t icount_limit;
    void *vcpu;                    /* the generic struct vcpu, for tcg.c */
    /* The CPUID the guest sees (x86_cpu_build_cpuid() over
     * tcg_cpuid_supported()), owned by tcg.c; NULL: tcg_cpuid_supported(). */
    const struct x86_cpuid_entry *cpuid;
    unsigned ncpuid;
    /* External interrupts (cpu-exec.c, interrupts.c).  irq_req mirrors the
     * INTR pin, written by the interrupt controller under the big lock and
     * read by the loop between blocks; irq_inhibit is the one-instruction
     * shadow after STI, MOV SS and POP SS (SDM vol. 3, 6.8.3); nmi_blocked
     * is set from NMI delivery until the next IRET (6.7.1). */
    volatile bool irq_req;
    volatile bool nmi_req;         /* an NMI is pending (inject-nmi, LAPIC) */
    uint16_t step_op;              /* the operation tcg_step() ran last */
    uint8_t irq_inhibit;           /* 0, TCG_SHADOW_STI or TCG_SHADOW_SS */
    bool nmi_blocked;
    /* Debug registers and MSRs of the system instructions (exec-system.c,
     * exec-syscall.c, mmu.c; issue 6).  Zero is the reset state of each:
     * the *_x fields hold the MSR XOR its power-on value. */
    uint8_t dbg_data_hits;         /* B0-B3 of data breakpoints this insn hit */
    bool dbg_rf_loaded;            /* this insn loaded RFLAGS.RF (IRET): keep it */
    uint64_t msr_pat_x;            /* IA32_PAT (0x277) ^ 0x0007040600070406 */
    uint64_t msr_mtrr_def_type;    /* 0x2ff */
    uint64_t msr_mtrr_var[16];     /* PHYSBASE0, PHYSMASK0, ... (0x200-0x20f) */
    uint64_t msr_mtrr_fixed[11];   /* 0x250, 0x258, 0x259, 0x268-0x26f */
    uint64_t msr_misc_enable_x;    /* IA32_MISC_ENABLE (0x1a0) ^ its reset value */
    uint64_t msr_spec_ctrl;        /* 0x48 */
    uint64_t msr_mcg_status;       /* 0x17a */
    uint64_t msr_tsc_adjust;       /* 0x3b */
    uint64_t msr_amd_hwcr_x;       /* HWCR (0xc0010015) ^ its reset value */
    uint64_t msr_amd_syscfg;       /* 0xc0010010 */
    uint64_t msr_amd_de_cfg;       /* 0xc0011029 */
    uint64_t msr_debugctl;         /* IA32_DEBUGCTL (0x1d9): LBR, BTF */
    /* The translator (jit-translate.h): the vCPU's code buffer, NULL while
     * jit=off (every block then runs in the interpreter's loop), and its
     * counters for HYVM_TCG_STATS: blocks translated, translated blocks run,
     * buffer resets, and (OP__MAX of them, or NULL without HYVM_TCG_STATS)
     * the handler calls translated code made per operation. */
    struct jit_buf *jit;
    uint64_t jit_translated, jit_runs, jit_resets;
    uint64_t *jit_fallbacks;
    /* Translated code's state (jit-tr.h): the access context of the block
     * running (tcg_tlb_ctx()), the host flags it spilled, the linear address
     * its slow path is filling the fast TLB for; and that TLB. */
    uint64_t tlb_ctx;
    uint64_t jit_flags_spill;
    uint64_t jit_lin;
    /* tcg_run()'s stop flag, for translated code that goes on to the next
     * block by itself; and how often it did. */
    volatile bool *jit_stop;
    uint64_t jit_chains;
    /* The chain trampolines in the code buffer (tcg_jit_trampolines), NULL
     * until written after the last reset. */
    const void *jit_tramp64, *jit_tramp32;
    uint64_t jit_patch;            /* the direct jump the trampoline may patch, or 0 */
    struct tcg_jc_entry jit_jc[TCG_JC_SIZE];
    /* Bit s (S_ES, S_SS, S_DS) when that segment is flat writable data
     * (base 0, limit 4 GiB, expand-up): 32-bit translated code then takes
     * the offset as the linear address.  Set before translated code runs;
     * what loads a segment register ends its block. */
    uint8_t jit_flat;
    struct tcg_tlb_fast tlbf[TCG_TLB_FAST_SIZE];
    /* Code pages other vCPUs wrote (code-pages.c): posted under code_lock, dropped by this
     * vCPU before its next block. */
    bool code_lock;
    volatile bool code_pending;
    struct _GArray *code_posted;   /* GArray of uint64_t gpa pages */
    /* The guest-physical map changed (a PAM register, code-pages.c): the TLB goes at the
     * next drain, with the posted pages. */
    bool tlb_flush_req;
    /* The locked instruction running (locked.c), LK_OFF outside one. */
    struct tcg_locked {
        uint8_t state;
        uint8_t size;
        uint64_t lin;
        uint8_t *host;
        uint8_t old[16], new[16];
    } lk;
};

/* The shadow the last instruction left: STI holds off interrupts; MOV SS
 * and POP SS also hold off NMI and debug traps (SDM vol. 3, 6.8.3). */
#define TCG_SHADOW_STI 1
#define TCG_SHADOW_SS 2

/* An NMI or external interrupt can be taken before the next instruction:
 * the loop stops for it between blocks (an NMI held by a running NMI
 * handler waits for its IRET, which ends a block). */
static inline bool tcg_event_ready(const struct tcg_cpu *cpu)
{
    if (cpu->nmi_req && !cpu->nmi_blocked && cpu->irq_inhibit != TCG_SHADOW_SS) {
        return true;
    }
    return cpu->irq_req && !cpu->irq_inhibit && (cpu->st.rflags & RFLAGS_IF);
}

/* Access kinds for the MMU. */
enum tcg_access { ACC_READ, ACC_WRITE, ACC_EXEC };

/* ---- mmu.c ---- */
/* Linear address of seg:off, with the segment's limit and rights checked
 * (#GP(0), or #SS(0) for SS) in 16/32-bit modes; in 64-bit mode only FS/GS
 * bases apply and the address must be canonical. */
enum tcg_status tcg_linear(struct tcg_cpu *cpu, unsigned seg, uint64_t off,
                           unsigned size, enum tcg_access acc, uint64_t *lin);
/* Reads/writes size bytes (1..16, may cross a page) at a linear address,
 * through the TLB and paging; MMIO goes to io_mmio().  Fault: #PF set up. */
enum tcg_status tcg_read_lin(struct tcg_cpu *cpu, uint64_t lin, void *buf,
                             unsigned size, enum tcg_access acc);
enum tcg_status tcg_write_lin(struct tcg_cpu *cpu, uint64_t lin, const void *buf,
                              unsigned size);
/* seg:off shorthands: tcg_linear + tcg_read_lin / tcg_write_lin. */
enum tcg_status tcg_mem_read(struct tcg_cpu *cpu, unsigned seg, uint64_t off,
                             void *buf, unsigned size);
enum tcg_status tcg_mem_write(struct tcg_cpu *cpu, unsigned seg, uint64_t off,
                              const void *buf, unsigned size);
/* The read of a read-modify-write (ALU ops, shifts, BTS/BTR/BTC, XCHG...):
 * segment and page are checked for writing before the read, as the
 * processor does (added by the diff-fix thread). */
enum tcg_status tcg_mem_read_rmw(struct tcg_cpu *cpu, unsigned seg, uint64_t off,
                                 void *buf, unsigned size);
/* The host address of size bytes at lin when the TLB already maps them, in
 * one page of RAM, for an explicit access acc at the current CPL (a store:
 * the D bit is set and the page holds no decoded code), and no data
 * breakpoint is armed; else NULL, and the caller takes the ordinary path
 * (which walks, faults, or reaches MMIO).  For bulk string moves. */
uint8_t *tcg_tlb_host(struct tcg_cpu *cpu, uint64_t lin, unsigned size, enum tcg_access acc);
/* Drops every TLB entry (CR3 write, CR0.PG/CR4 paging bits, mode switch). */
void tcg_tlb_flush(struct tcg_cpu *cpu);
/*
 * The context of explicit accesses that the fast TLB's tags carry: bit 0 for CPL 3, bit 1
 * when alignment checking is on (CPL 3, CR0.AM and EFLAGS.AC: no tag has it, so every access
 * takes the slow path that checks), bit 2 always (so a zeroed slot matches nothing), bit 3
 * outside 64-bit mode.  None of them changes inside a block.
 */
#define TCG_TLB_CTX_USER 1u
#define TCG_TLB_CTX_ALIGN 2u
#define TCG_TLB_CTX_VALID 4u
#define TCG_TLB_CTX_LEGACY 8u   /* not 64-bit mode: a tag of a page above 4 GiB never matches */
static inline uint64_t tcg_tlb_ctx(const struct tcg_cpu *cpu)
{
    uint64_t ctx = TCG_TLB_CTX_VALID | (cpu->mode != MODE_LONG64 ? TCG_TLB_CTX_LEGACY : 0);

    if (cpu->cpl != 3) {
        return ctx;
    }
    return ctx | TCG_TLB_CTX_USER |
           ((cpu->st.cr0 & cpu->st.rflags & (1u << 18)) ? TCG_TLB_CTX_ALIGN : 0);
}
/* Sets lin's slot of the fast TLB from the TLB entry of lin's page, for cpu->tlb_ctx. */
void tcg_tlb_fast_fill(struct tcg_cpu *cpu, uint64_t lin);
void tcg_tlb_flush_page(struct tcg_cpu *cpu, uint64_t lin);

/* ---- operand.c ---- */
/* Operand i of in, zero-extended; writes follow the x86-64 rule that a
 * 32-bit register write zeroes bits 63:32, 8/16-bit writes merge.  The
 * inline forms (below the flags) take register operands without a call;
 * the _slow forms take every kind. */
enum tcg_status tcg_op_read_slow(struct tcg_cpu *cpu, const struct insn *in,
                                 unsigned i, uint64_t *val);
enum tcg_status tcg_op_write_slow(struct tcg_cpu *cpu, const struct insn *in,
                                  unsigned i, uint64_t val);
/* Operand i as the destination of a read-modify-write, truncated to size
 * bytes: a memory operand is read with tcg_mem_read_rmw(), anything else
 * as tcg_src_read() does (added by the diff-fix thread). */
enum tcg_status tcg_dst_read_slow(struct tcg_cpu *cpu, const struct insn *in, unsigned i,
                                  unsigned size, uint64_t *val);
/* The stack's address size: 8 in 64-bit mode, else SS.B (SDM vol. 1,
 * 6.2.3). */
static inline unsigned tcg_stack_addr_size(const struct tcg_cpu *cpu)
{
    if (cpu->mode == MODE_LONG64) {
        return 8;
    }
    return cpu->st.seg[S_SS].db ? 4 : 2;
}

/* Width of a near branch's rIP or of a push/pop: 64-bit mode makes
 * everything but a 66-prefixed form 8 bytes (SDM vol. 1, 6.2.5; 3.6). */
static inline unsigned tcg_near_op_size(const struct tcg_cpu *cpu, const struct insn *in)
{
    if (cpu->mode == MODE_LONG64 && in->op_size != 2) {
        return 8;
    }
    return in->op_size;
}

/* Stack push/pop of size bytes with SS, the stack address size and wrap. */
enum tcg_status tcg_push(struct tcg_cpu *cpu, uint64_t val, unsigned size);
enum tcg_status tcg_pop(struct tcg_cpu *cpu, uint64_t *val, unsigned size);

/* ---- flags (res, a, b already truncated to size bytes) ----
 * Inline: every arithmetic instruction sets flags and every Jcc tests
 * them, so a call each time is a good part of the interpreter's cost. */
/* The arithmetic status flags (CF PF AF ZF SF OF). */
#define TCG_FLAGS_ARITH ((uint64_t)0x8d5)
/* All-ones in the low size bytes (size 1, 2, 4, 8) and its sign bit. */
static inline uint64_t tcg_size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}
static inline uint64_t tcg_size_sign(unsigned size)
{
    return 1ull << (size * 8 - 1);
}

/* rflags = (rflags & ~mask) | (bits & mask). */
static inline void tcg_flags_set(struct tcg_cpu *cpu, uint64_t mask, uint64_t bits)
{
    cpu->st.rflags = (cpu->st.rflags & ~mask) | (bits & mask);
}

/* The SF, ZF and PF bits a result of size bytes gives.  PF: the low byte
 * of the result has an even number of 1 bits. */
static inline uint64_t tcg_flags_szp(uint64_t res, unsigned size)
{
    uint64_t f = __builtin_parity((unsigned)(res & 0xff)) ? 0 : RFLAGS_PF;

    res &= tcg_size_mask(size);
    if (res == 0) {
        f |= RFLAGS_ZF;
    }
    if (res & tcg_size_sign(size)) {
        f |= RFLAGS_SF;
    }
    return f;
}

/*
 * a + b + carry_in = res.  The carry out of each bit position is
 * (a & b) | ((a | b) & ~res); CF is the one out of the top bit, AF the one
 * out of bit 3.  OF: both inputs have the same sign and the result differs.
 */
static inline void tcg_flags_add(struct tcg_cpu *cpu, uint64_t a, uint64_t b,
                                 uint64_t carry_in, uint64_t res, unsigned size)
{
    uint64_t sign = tcg_size_sign(size);
    uint64_t carries = (a & b) | ((a | b) & ~res);
    uint64_t f = tcg_flags_szp(res, size);

    (void)carry_in;     /* folded into res already */
    if (carries & sign) {
        f |= RFLAGS_CF;
    }
    if ((a ^ b ^ res) & 0x10) {
        f |= RFLAGS_AF;
    }
    if ((a ^ res) & (b ^ res) & sign) {
        f |= RFLAGS_OF;
    }
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, f);
}

/*
 * a - b - borrow_in = res.  The borrow out of each bit position is
 * (~a & b) | (~(a ^ b) & res).  OF: the inputs differ in sign and the
 * result's sign differs from a's.
 */
static inline void tcg_flags_sub(struct tcg_cpu *cpu, uint64_t a, uint64_t b,
                                 uint64_t borrow_in, uint64_t res, unsigned size)
{
    uint64_t sign = tcg_size_sign(size);
    uint64_t borrows = (~a & b) | (~(a ^ b) & res);
    uint64_t f = tcg_flags_szp(res, size);

    (void)borrow_in;
    if (borrows & sign) {
        f |= RFLAGS_CF;
    }
    if ((a ^ b ^ res) & 0x10) {
        f |= RFLAGS_AF;
    }
    if ((a ^ b) & (a ^ res) & sign) {
        f |= RFLAGS_OF;
    }
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, f);
}

/* AND, OR, XOR, TEST: CF = OF = 0, SF ZF PF from the result.  AF is
 * undefined; AMD and Intel both clear it. */
static inline void tcg_flags_logic(struct tcg_cpu *cpu, uint64_t res, unsigned size)
{
    tcg_flags_set(cpu, TCG_FLAGS_ARITH, tcg_flags_szp(res, size));
}

/* True if condition cc (0..15: o no b ae e ne be a s ns p np l ge le g)
 * holds (SDM vol. 1, table B-1); the odd codes negate the even one below. */
static inline bool tcg_cond(const struct tcg_cpu *cpu, unsigned cc)
{
    uint64_t f = cpu->st.rflags;
    bool of = f & RFLAGS_OF, cf = f & RFLAGS_CF, zf = f & RFLAGS_ZF;
    bool sf = f & RFLAGS_SF, pf = f & RFLAGS_PF;
    bool r;

    switch ((cc >> 1) & 7) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return (cc & 1) ? !r : r;
}

/* The host CPU's CPUID vendor is GenuineIntel: where the vendors set
 * undefined flags differently this picks the rule (only AMD Zen's rules are
 * implemented and measured so far). */
bool tcg_host_is_intel(void);
/* The host is AMD's: it sets the flags the SDM leaves undefined as the handlers do (the
 * differential tester compares them there). */
bool tcg_host_is_amd(void);

/* ---- operands, inline (operand.c has the rest) ---- */
/* Register access by number and size (1, 2, 4, 8); hi8 for AH..BH.  AH,
 * CH, DH and BH are bits 15:8 of registers 0..3; the decoder names them
 * either by their encoding (4..7) or by the register they live in, so only
 * the low two bits count (SDM vol. 1, 3.4.1.1). */
static inline uint64_t tcg_reg_read(const struct tcg_cpu *cpu, unsigned reg, unsigned size,
                                    bool hi8)
{
    if (hi8) {
        return (cpu->st.regs[reg & 3] >> 8) & 0xff;
    }
    return cpu->st.regs[reg & 15] & tcg_size_mask(size);
}

/* SDM vol. 1, 3.4.1.1: a 32-bit result is zero-extended to 64 bits; 8- and
 * 16-bit results leave the rest of the register alone. */
static inline void tcg_reg_write(struct tcg_cpu *cpu, unsigned reg, unsigned size, bool hi8,
                                 uint64_t v)
{
    uint64_t *r;

    if (hi8) {
        r = &cpu->st.regs[reg & 3];
        *r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
        return;
    }
    r = &cpu->st.regs[reg & 15];
    switch (size) {
    case 1:
        *r = (*r & ~0xffull) | (v & 0xff);
        break;
    case 2:
        *r = (*r & ~0xffffull) | (v & 0xffff);
        break;
    case 4:
        *r = v & 0xffffffffull;
        break;
    default:
        *r = v;
        break;
    }
}

/*
 * Effective address (offset within the segment) of insn->mem (SDM vol. 2,
 * 2.1.5 and 2.2.1.6): base + index * scale + disp, computed modulo the
 * address size; a RIP-relative base is the address of the next
 * instruction (truncated to 32 bits under a 67h prefix).
 */
static inline uint64_t tcg_ea(struct tcg_cpu *cpu, const struct insn *in)
{
    const struct insn_mem *m = &in->mem;
    uint64_t ea = (uint64_t)m->disp;

    if (m->base == INSN_REG_RIP) {
        ea += cpu->next_rip;
    } else if (m->base != INSN_REG_NONE) {
        ea += cpu->st.regs[m->base & 15];
    }
    if (m->index != INSN_REG_NONE) {
        ea += cpu->st.regs[m->index & 15] * (uint64_t)m->scale;
    }
    return ea & tcg_size_mask(in->addr_size);
}

static inline enum tcg_status tcg_op_read(struct tcg_cpu *cpu, const struct insn *in,
                                          unsigned i, uint64_t *val)
{
    const struct operand *op = &in->ops[i & 3];

    if (__builtin_expect(op->kind == OPK_REG, 1)) {
        *val = tcg_reg_read(cpu, op->reg, op->size, op->hi8);
        return TCG_OK;
    }
    return tcg_op_read_slow(cpu, in, i, val);
}

static inline enum tcg_status tcg_op_write(struct tcg_cpu *cpu, const struct insn *in,
                                           unsigned i, uint64_t val)
{
    const struct operand *op = &in->ops[i & 3];

    if (__builtin_expect(op->kind == OPK_REG, 1)) {
        tcg_reg_write(cpu, op->reg, op->size, op->hi8, val);
        return TCG_OK;
    }
    return tcg_op_write_slow(cpu, in, i, val);
}

/* Operand i as a source of size bytes: an immediate is taken as the
 * decoder's sign-extended imm truncated to size, anything else through
 * tcg_op_read() and truncated. */
static inline enum tcg_status tcg_src_read(struct tcg_cpu *cpu, const struct insn *in,
                                           unsigned i, unsigned size, uint64_t *val)
{
    const struct operand *o = &in->ops[i & 3];
    enum tcg_status st;

    if (o->kind == OPK_IMM) {
        /* The decoder sign-extends imm8/imm32 to 64 bits where the encoding
         * does (SDM vol. 2, 2.2.1.5); the operation sees size bytes. */
        *val = o->imm & tcg_size_mask(size);
        return TCG_OK;
    }
    st = tcg_op_read(cpu, in, i, val);
    *val &= tcg_size_mask(size);
    return st;
}

static inline enum tcg_status tcg_dst_read(struct tcg_cpu *cpu, const struct insn *in,
                                           unsigned i, unsigned size, uint64_t *val)
{
    if (in->ops[i & 3].kind != OPK_MEM) {
        return tcg_src_read(cpu, in, i, size, val);
    }
    return tcg_dst_read_slow(cpu, in, i, size, val);
}

/* ---- exceptions ---- */
static inline enum tcg_status tcg_raise(struct tcg_cpu *cpu, unsigned vec)
{
    cpu->exc.vector = vec;
    cpu->exc.has_error_code = false;
    cpu->exc.error_code = 0;
    return TCG_EXCEPTION;
}

static inline enum tcg_status tcg_raise_err(struct tcg_cpu *cpu, unsigned vec,
                                            uint32_t err)
{
    cpu->exc.vector = vec;
    cpu->exc.has_error_code = true;
    cpu->exc.error_code = err;
    return TCG_EXCEPTION;
}

/* ---- exec-table.c ---- */
typedef enum tcg_status (*tcg_exec_fn)(struct tcg_cpu *cpu, const struct insn *in);
extern const tcg_exec_fn tcg_exec_table[OP__MAX];
/* exec-fast.c: a handler specialised to in's operand form (MOV, MOVZX,
 * LEA and the two-operand ALU operations on 32/64-bit registers,
 * immediates and memory; Jcc per condition) that does exactly what the
 * table's handler does, or NULL; the loop asks once per decoded
 * instruction. */
tcg_exec_fn tcg_fast_handler(const struct insn *in);

/* ---- exec-misc.c ---- */
/* Fills out[] (up to max) with the CPUID leaves and feature bits the
 * software CPU implements, for x86_cpu_build_cpuid(); returns the count. */
unsigned tcg_cpuid_supported(struct x86_cpuid_entry *out, unsigned max);

/* ---- exec-misc.c: the time stamp counter (issue 6) ---- */
/* The guest TSC's fixed frequency: 2 GHz on every host, so guests see the
 * same machine anywhere (Linux calibrates it against the PIT). */
#define TCG_TSC_HZ 2000000000ull
/* The vCPU's TSC now: host CLOCK_MONOTONIC since a process-wide epoch,
 * scaled to TCG_TSC_HZ, plus cpu->tsc_offset (IA32_TSC, rdtsc, rdtscp). */
uint64_t tcg_guest_tsc(struct tcg_cpu *cpu);
/* Makes the vCPU's TSC read v now (wrmsr IA32_TSC, TSC_ADJUST, reset). */
void tcg_set_guest_tsc(struct tcg_cpu *cpu, uint64_t v);
/* ns * TCG_TSC_HZ / 10^9 without overflow. */
uint64_t tcg_tsc_from_ns(uint64_t ns);
/* Tests: the clock the TSC follows (NULL: CLOCK_MONOTONIC); restarts the epoch. */
void tcg_tsc_set_clock(uint64_t (*clock_ns)(void));

/* ---- cpu-exec.c ---- */
/* Recomputes cpu->mode and cpu->cpl after CR0, EFER or CS changed. */
void tcg_cpu_mode_changed(struct tcg_cpu *cpu);
/* Executes one instruction at cs:rip (fetch, decode, run, advance rip).
 * Exceptions are returned, not delivered (IDT delivery is part 2). */
enum tcg_status tcg_step(struct tcg_cpu *cpu);
/* Runs until a handler returns something other than TCG_OK/TCG_JUMPED, or
 * *stop becomes true (checked between blocks). */
enum tcg_status tcg_run(struct tcg_cpu *cpu, volatile bool *stop);
/* Code at guest-physical page gpa_page was written: drop its blocks. */
void tcg_code_written(struct tcg_cpu *cpu, uint64_t gpa_page);

/* ---- exec-system.c ---- (added by the core thread) */
/* Loads segment register seg (enum x86_seg, not CS) with selector sel from
 * the GDT/LDT with the protected-mode checks (SDM vol. 3, 5.5-5.6; real
 * mode and vm86: base = sel << 4).  Faults leave the register unchanged. */
enum tcg_status tcg_load_seg(struct tcg_cpu *cpu, unsigned seg, uint16_t sel);
/* Far JMP (is_call false) or far CALL to sel:off: checks the code-segment
 * descriptor (SDM vol. 3, 5.8.1-5.8.3; call gates, TSS and task gates), for a call
 * pushes CS and next_rip with op_size bytes each, then loads CS, sets rip
 * (truncated to op_size) and refreshes the mode.  Returns TCG_JUMPED. */
enum tcg_status tcg_far_jump(struct tcg_cpu *cpu, uint16_t sel, uint64_t off,
                             bool is_call, unsigned op_size);
/* IRET in protected mode and IA-32e mode (SDM vol. 2, IRET): same and
 * outer privilege, task return (NT), return to vm86.  Returns TCG_JUMPED. */
enum tcg_status tcg_iret(struct tcg_cpu *cpu, unsigned op_size);
/* Far RET: pops rip and CS (op_size bytes each), then imm more bytes of
 * stack; same and outer privilege.  Returns TCG_JUMPED. */
enum tcg_status tcg_far_return(struct tcg_cpu *cpu, unsigned op_size, uint16_t imm);

/* ---- exec-syscall.c ---- (system instructions, issue 6) */
/* Bit `bit` of register reg (0 eax, 1 ebx, 2 ecx, 3 edx) of CPUID leaf
 * (subleaf 0) as the guest sees it: "as the CPU model advertises". */
bool tcg_cpuid_has(const struct tcg_cpu *cpu, uint32_t leaf, unsigned reg, unsigned bit);
/* The guest's CPUID vendor is AuthenticAMD (or Hygon): picks the vendor's
 * rules where Intel and AMD differ (SYSCALL, SYSENTER, MSRs). */
bool tcg_guest_is_amd(const struct tcg_cpu *cpu);
/*
 * Debug hooks for the dispatch loop (SDM vol. 3, chapter 18).  Needed only
 * while tcg_debug_active(): DR7 enables a breakpoint, or TF or RF is set.
 *   tcg_debug_before(): before fetching the instruction at CS:rIP.  An
 *     instruction breakpoint there (RF clear) returns TCG_EXCEPTION with a
 *     #DB fault in cpu->exc (soft 0, rIP unchanged): deliver it.
 *   tcg_debug_after(cpu, old_rflags): after an instruction completed (not
 *     after TCG_EXCEPTION) and retired (rIP already advanced); old_rflags
 *     is RFLAGS before it ran.  Clears RF; TCG_EXCEPTION is a #DB trap for
 *     single step (TF was set in old_rflags) and/or the data breakpoints
 *     it hit (DR6 updated): deliver it, rIP stays at the next instruction.
 *     cpu->next_rip must still be the instruction's fall-through rIP
 *     (DEBUGCTL.BTF steps on branches only).
 */
enum tcg_status tcg_debug_before(struct tcg_cpu *cpu);
enum tcg_status tcg_debug_after(struct tcg_cpu *cpu, uint64_t old_rflags);
/* mmu.c: records the data breakpoints an access hits (dbg_data_hits). */
void tcg_debug_check_data(struct tcg_cpu *cpu, uint64_t lin, unsigned size, bool write);
/* tcg_io_check(): the same for I/O breakpoints (R/W = 10b with CR4.DE). */
void tcg_debug_check_io(struct tcg_cpu *cpu, uint16_t port, unsigned size);
static inline bool tcg_debug_active(const struct tcg_cpu *cpu)
{
    return (cpu->st.dr[7] & 0xff) || (cpu->st.rflags & (RFLAGS_TF | RFLAGS_RF));
}

/* ---- exec-system.c ---- (issue 6) */
/* The I/O permission check of IN/OUT/INS/OUTS for size bytes at port (SDM
 * vol. 1, 19.5): with CPL > IOPL or in vm86 the TSS I/O bitmap decides;
 * #GP(0) when it denies.  Also records I/O breakpoint hits for
 * tcg_debug_after(). */
enum tcg_status tcg_io_check(struct tcg_cpu *cpu, uint16_t port, unsigned size);
/* Puts the MSRs kept in struct tcg_cpu (not in st) back to their power-on
 * values (SDM vol. 3, table 10-1), for a machine reset. */
void tcg_msr_reset(struct tcg_cpu *cpu);

#endif
