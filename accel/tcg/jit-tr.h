/*
 * What the translator's two files share (issue 11, step 3): jit-translate.c drives a block
 * (prologue, one instruction after another, exits) and calls jit-inline.c, which writes host
 * code for the instructions it knows and leaves the rest to a call of their handler.
 *
 * Host registers while a block runs: rbx = cpu, r12 = the block cache's hit flag, r13 = the
 * guest RIP the block was entered at (st.rip then).  They are callee-saved (System V psABI
 * 3.2.1), so handler calls keep them.  r14, r15, rsi and rdi hold up to four guest registers
 * the block uses most (register caching, jit-translate.c); everything else is scratch.  The
 * other guest registers stay in cpu->st.regs; st.rip is only written where something reads
 * it (before a handler call and at an exit): an instruction's RIP is r13 plus its offset in
 * the block.
 *
 * Flags: the host's EFLAGS hold the guest's six arithmetic flags (OF SF ZF AF PF CF) after
 * an inline ALU instruction, since the host instruction computes them exactly as the guest's
 * (the same architecture); st.rflags gets them only when something needs it (a handler call,
 * an exit).  Instructions whose flags the SDM leaves partly undefined run this way only where
 * those flags are dead or the host is AMD's, whose rules the handlers follow.
 *
 * Threads: a struct jit_tr lives on the translating vCPU's stack.
 */
#ifndef HYVM_JIT_TR_H
#define HYVM_JIT_TR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/tcg/jit-emit.h"
#include "accel/tcg/jit-translate.h"
#include "accel/tcg/tcg-cpu.h"

#define JIT_OFF_REGS ((int32_t)offsetof(struct tcg_cpu, st.regs))
#define JIT_OFF_RIP ((int32_t)offsetof(struct tcg_cpu, st.rip))
#define JIT_OFF_RFLAGS ((int32_t)offsetof(struct tcg_cpu, st.rflags))
#define JIT_OFF_NEXT_RIP ((int32_t)offsetof(struct tcg_cpu, next_rip))
#define JIT_OFF_ICOUNT ((int32_t)offsetof(struct tcg_cpu, icount))
#define JIT_OFF_CS_LIMIT ((int32_t)offsetof(struct tcg_cpu, st.seg[S_CS].limit))
#define JIT_OFF_SPILL ((int32_t)offsetof(struct tcg_cpu, jit_flags_spill))
#define JIT_OFF_LIN ((int32_t)offsetof(struct tcg_cpu, jit_lin))
#define JIT_OFF_CTX ((int32_t)offsetof(struct tcg_cpu, tlb_ctx))
#define JIT_OFF_FLAT ((int32_t)offsetof(struct tcg_cpu, jit_flat))
#define JIT_OFF_TLBF ((int32_t)offsetof(struct tcg_cpu, tlbf))
#define JIT_OFF_SEG_BASE(s) ((int32_t)offsetof(struct tcg_cpu, st.seg[0].base) + \
                             (int32_t)sizeof(struct x86_segment) * (s))

/*
 * Where the guest's arithmetic flags are while a block is translated: a set of these, never
 * empty.  SPILL is cpu->jit_flags_spill, where "pushfq; pop" put the host's EFLAGS before a
 * memory access's TLB check changed them.
 */
#define JIT_F_HOST 1u
#define JIT_F_MEM 2u
#define JIT_F_SPILL 4u

/* The six arithmetic flags in RFLAGS (SDM vol. 1, 3.4.3.1). */
#define JIT_ARITH_FLAGS 0x8d5u

/* Where an exit stub goes back to C (see jit-translate.c). */
enum jit_stub_kind {
    JIT_STUB_STATUS,    /* a handler returned a status other than TCG_OK (in eax) */
    JIT_STUB_HIT,       /* the block's page was written by the instruction */
    JIT_STUB_TAKEN,     /* an inline Jcc was taken */
    JIT_STUB_MEM,       /* an inline memory access missed the fast TLB: the handler runs */
    JIT_STUB_EPILOGUE,  /* a jump to the epilogue, everything done (no code of its own) */
};

struct jit_stub {
    uint8_t *field;         /* the rel32 of the jump to the stub */
    uint8_t *field2, *field3;   /* other jumps to it, or NULL */
    uint8_t *resume;        /* JIT_STUB_MEM: where the instruction's inline code ends */
    uint8_t kind;           /* enum jit_stub_kind */
    uint8_t flags;          /* JIT_F_*: where the flags are at the jump */
    uint8_t flags_after;    /* JIT_STUB_MEM: where they are at resume */
    uint16_t index;         /* the instruction */
    uint16_t icount;        /* instructions not yet added to cpu->icount */
    uint32_t off;           /* the instruction's offset from the block's first one */
    bool rc_live;           /* the cached registers hold the guest's at the jump */
};

struct jit_tr {
    struct jit_emit e;
    const struct insn *insn;
    const tcg_exec_fn *fn;
    unsigned n;
    enum cpu_mode mode;
    uint64_t *fallbacks;    /* per-operation counts of handler calls, or NULL */
    const struct tcg_jit_chain *chain;  /* NULL: every exit returns to C */
    bool host_is_amd;       /* tcg_host_is_amd(): undefined flags as the handlers set them */
    bool sse2;              /* the guest's CPUID has SSE2 (what jit-sse.c runs inline) */
    int32_t page_off;       /* the first instruction's offset in its page */
    uint16_t hi_zero;       /* bit r: bits 63:32 of guest register r are 0 (jit-inline.c) */
    /* While emitting instruction i: */
    unsigned i;
    uint32_t off;           /* its offset in bytes from the first instruction */
    unsigned icount;        /* instructions run but not added to cpu->icount yet */
    uint8_t flags;          /* JIT_F_*: where the guest's arithmetic flags are */
    uint64_t dead;          /* bit i: no one reads the flags instruction i sets */
    struct jit_stub *stubs;
    unsigned nstubs, cap;
    /*
     * Register caching: guest register r lives in host register rc_host[r] (-1: in
     * cpu->st.regs) from the block's entry on, while rc_live; each exit and each handler call
     * stores them back first, and the code after a call loads them again.
     */
    int8_t rc_host[16];
    bool rc_live;
    uint8_t *body;          /* the first instruction's code, past the entry (NULL: none) */
    bool entry_flags_dead;  /* the flags the block starts with are dead (see dead_flags) */
};

/* Whether guest register r is in a host register now (jit-inline.c's clear_high: a 32-bit
 * result there has bits 63:32 clear already). */
static inline bool jit_rc_cached(const struct jit_tr *t, unsigned r)
{
    return t->rc_live && t->rc_host[r & 15] >= 0;
}

/* ---- jit-translate.c ---- */
/* The guest's arithmetic flags into st.rflags (the host's EFLAGS are changed). */
void jit_flags_to_mem(struct jit_tr *t);
/* The guest's arithmetic flags into the host's EFLAGS. */
void jit_flags_to_host(struct jit_tr *t);
/* The host's CF equals the guest's (the others may be anything): for ADC, SBB, INC, DEC. */
void jit_flags_cf_to_host(struct jit_tr *t);
/* Before code that changes the host's EFLAGS: the flags kept elsewhere if only they had them. */
void jit_flags_spill(struct jit_tr *t);
/* The instruction just emitted set all six flags in the host's EFLAGS. */
static inline void jit_flags_set_by_host(struct jit_tr *t)
{
    t->flags = JIT_F_HOST;
}
/* The offset from rbx of a copy of the flags in memory (st.rflags or the spill), if any. */
static inline int32_t jit_flags_mem_off(const struct jit_tr *t)
{
    return t->flags & JIT_F_MEM ? JIT_OFF_RFLAGS : JIT_OFF_SPILL;
}
/* rax = the guest RIP at offset off from the block's start (wrapped outside 64-bit mode). */
void jit_emit_guest_rip(struct jit_tr *t, enum jit_reg dst, uint32_t off);
/*
 * Leaves the block after instruction index, whose effects are all done (st.rip is where the
 * guest goes on; icount instructions, this one included, not counted yet): into the next
 * block's code when a link leads there (jit-translate.h, chaining), else out to C with
 * (TCG_OK, index).  target: where the guest goes on, as an offset from the block's first
 * instruction when known (a direct jump then follows the first successful chain), else
 * JIT_DYNAMIC.  Returns the field of the jump to the epilogue, to patch.
 */
uint8_t *jit_emit_leave(struct jit_tr *t, unsigned index, unsigned icount, int64_t target);
/* jit_emit_leave()'s target when it is not known when translating. */
#define JIT_DYNAMIC INT64_MIN
/* A jump (jit_emit_jcc/jit_emit_jmp field) to an exit stub of kind for the instruction. */
void jit_add_stub(struct jit_tr *t, uint8_t *field, enum jit_stub_kind kind);
/*
 * The slow path of an inline memory instruction: fields jump to it with the flags where
 * flags_before says (rax = the linear address); it runs the handler and comes back to the
 * current position with the flags where t->flags says.
 */
void jit_add_mem_stub(struct jit_tr *t, uint8_t *field, uint8_t *field2, uint8_t flags_before);
/* The same with a third jump to the slow path. */
void jit_add_mem_stub3(struct jit_tr *t, uint8_t *field, uint8_t *field2, uint8_t *field3,
                       uint8_t flags_before);

/* The flags instruction t->i sets are overwritten before anything can read them. */
static inline bool jit_flags_dead(const struct jit_tr *t)
{
    return t->i < 64 && (t->dead >> t->i & 1);
}

/* ---- jit-inline.c ---- */
/*
 * What an instruction does with the flags when translated, for the liveness in
 * jit-translate.c: NONE, inline and does not touch them; KILL, inline, sets all six and reads
 * none (so cannot fault either); OTHER, anything else (reads them, leaves some, or may leave
 * the block: an exit must find them exact).
 */
enum jit_flag_use { JIT_FLAGS_NONE, JIT_FLAGS_KILL, JIT_FLAGS_OTHER };
enum jit_flag_use jit_flag_use(const struct jit_tr *t, const struct insn *in);

/*
 * Host code for t->insn[t->i] without a handler call, or false (nothing written) when this
 * instruction is left to its handler.
 */
bool jit_inline(struct jit_tr *t);
/* rax = the effective address of in's memory operand, truncated to the address size; index
 * is the scratch register for the index; the host's EFLAGS are kept. */
void jit_emit_ea(struct jit_tr *t, const struct insn *in, enum jit_reg index);
/* The offset in struct tcg_cpu of a general register operand. */
int32_t jit_reg_off(const struct operand *o);
enum jit_size jit_size_of(unsigned bytes);

/* ---- jit-mem.c ---- */
/* Inline code for t->insn[t->i] with a memory operand (64-bit mode), or false. */
bool jit_inline_mem(struct jit_tr *t);
/*
 * rax = the linear address of in's memory operand; in 32-bit code, the returned jump goes to
 * the slow path when its segment is not flat (NULL in 64-bit mode).
 */
uint8_t *jit_emit_lin(struct jit_tr *t, const struct insn *in);
/* in's memory operand is one jit_emit_lin() handles. */
bool jit_mem_ok(const struct jit_tr *t, const struct insn *in);
/* The fast TLB check of size bytes at rax: on a hit [rax + rdx] is the host byte; returns the
 * jump to the slow path. */
uint8_t *jit_emit_tlb(struct jit_tr *t, unsigned size, bool write);

/* ---- jit-sse.c ---- */
/* Inline code for the SSE instruction t->insn[t->i], or false. */
bool jit_inline_sse(struct jit_tr *t);

#endif
