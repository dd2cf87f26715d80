/*
 * The translator's driver (issue 11); the contract is in jit-translate.h, the register and
 * flag conventions in jit-tr.h, the instructions written inline in jit-inline.c (registers),
 * jit-mem.c (memory, through the fast TLB) and jit-sse.c.
 *
 * A block's code, in the order it runs:
 *
 *     push rbx; push r12; push r13; push r14; push r15   ; rsp is 16-byte aligned at calls
 *     mov rbx, rdi; mov r12, rsi; jmp chain_entry
 *   direct_entry:                        ; a patched direct jump from a block of the same page
 *     current block = this one
 *   chain_entry:                         ; the chain trampoline, which did that already
 *     mov r13, [rbx + st.rip]
 *     mov r14, [rbx + st.regs[a]] ...    ; the guest registers it caches (below)
 *   for each instruction i, its inline code, or a handler call:
 *     [flags to st.rflags] [add qword [rbx + icount], k]     ; what is pending
 *     st.rip = r13 + off(i); next_rip = r13 + off(i + 1)     ; wrapped outside 64-bit mode
 *     mov rdi, rbx; mov rsi, &insn[i]; call handler[i]
 *     test eax, eax; jnz status_stub                         ; retire() does the rest in C
 *     movzx eax, byte [r12]; test eax, eax; jnz hit_stub     ; not after the last one
 *   end: st.rip = r13 + off(n), then leave (below)
 *   epilogue: pop r15; pop r14; pop r13; pop r12; pop rbx; ret
 *   stubs (out of line): handler statuses, written pages, taken branches, memory slow paths.
 *
 * Leaving after an instruction of the block's own (jit_emit_leave): flags and icount stored,
 * then a direct jump (a target in the same page), the chain trampoline (any other), or the
 * epilogue (no chaining).
 *
 * Register caching: up to four guest registers the block names most (rc_choose) live in r14,
 * r15, rsi and rdi from the body's start: the emitter writes an instruction on their slot of
 * st.regs in its register form (jit-emit.h, struct jit_emit).  Every exit and every handler
 * call stores them back first (rc_flush), the body loads them again after a call, and a memory
 * slow path after its handler.  An instruction the emitter cannot write in register form
 * (a byte-1 access, an indexed slot, an opcode without one) makes the block translate again
 * without the cache.  HYVM_JIT_NO_RC=1 turns it off (for comparisons).
 *
 * This does what run_block's loop in cpu-exec.c does and stops where it stops: a handler
 * returning TCG_OK never moves next_rip (a handler that jumps returns TCG_JUMPED), so the RIP
 * of every instruction is known from the block's entry RIP, and the loop's st.rip and
 * icount are only brought up to date where C can see them.  Inline instructions that can
 * fault do so in their slow path, which is the handler.
 */
#include <stddef.h>
#include <string.h>
#include <glib.h>

#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-emit.h"
#include "accel/tcg/jit-tr.h"
#include "accel/tcg/jit-translate.h"
#include "accel/tcg/tcg-internal.h"
#include "system/log.h"

/*
 * The entries of a block's code past its prologue (see tcg_jit_translate): DIRECT_ENTRY for a
 * patched direct jump, which makes the block current first; CHAIN_ENTRY for the trampoline,
 * which did that already.
 */
#define DIRECT_ENTRY 17
#define CHAIN_ENTRY 40

/* What the direct entry of a block translated without chaining writes to, should anything
 * ever jump there (nothing does: only chaining code patches direct jumps). */
static __thread struct tcg_block *unchained_current;

_Static_assert(sizeof(((struct tcg_cpu *)0)->st.rip) == 8, "st.rip is 64 bits");
_Static_assert(sizeof(((struct tcg_cpu *)0)->next_rip) == 8, "next_rip is 64 bits");
_Static_assert(sizeof(((struct tcg_cpu *)0)->icount) == 8, "icount is 64 bits");
_Static_assert(sizeof(((struct tcg_cpu *)0)->st.rflags) == 8, "rflags is 64 bits");
_Static_assert(TCG_OK == 0, "the code tests a handler's status against 0");

/* The exit value for instruction index i with status st. */
static inline uint64_t exit_value(enum tcg_status st, unsigned i)
{
    return (uint64_t)i << 32 | (uint32_t)st;
}

static void emit_byte(struct jit_emit *e, uint8_t b)
{
    if (jit_emit_room(e, 1)) {
        jit_put8(e, b);
    }
}

/* The frame every block's code (and a chain trampoline) leaves by: the prologue's pushes. */
static void emit_epilogue(struct jit_emit *e)
{
    jit_emit_pop(e, JIT_R15);
    jit_emit_pop(e, JIT_R14);
    jit_emit_pop(e, JIT_R13);
    jit_emit_pop(e, JIT_R12);
    jit_emit_pop(e, JIT_RBX);
    jit_emit_ret(e);
}

void jit_flags_to_mem(struct jit_tr *t)
{
    struct jit_emit *e = &t->e;

    if (t->flags & JIT_F_MEM) {
        return;
    }
    if (t->flags & JIT_F_HOST) {
        emit_byte(e, 0x9c);                                 /* pushfq */
        jit_emit_pop(e, JIT_RAX);
    } else {
        jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_SPILL);
    }
    jit_emit_alu_ri(e, JIT_AND, false, JIT_RAX, JIT_ARITH_FLAGS);
    /* AND r/m64, imm32 (81 /4 id, sign-extended), then OR r/m64, r64 (REX.W 09 /r). */
    jit_emit_op_mem(e, false, true, false, 0x81, -1, JIT_AND, JIT_RBX, JIT_NO_INDEX, 0,
                    JIT_OFF_RFLAGS, true, (uint32_t)~JIT_ARITH_FLAGS);
    jit_emit_op_mem(e, false, true, false, 0x09, -1, JIT_RAX, JIT_RBX, JIT_NO_INDEX, 0,
                    JIT_OFF_RFLAGS, false, 0);
    /* The ANDs changed the host's. */
    t->flags = (uint8_t)((t->flags & JIT_F_SPILL) | JIT_F_MEM);
}

void jit_flags_to_host(struct jit_tr *t)
{
    struct jit_emit *e = &t->e;

    if (t->flags & JIT_F_HOST) {
        return;
    }
    if (t->flags & JIT_F_SPILL) {
        /* PUSH qword [spill] (FF /6): the host's own EFLAGS back. */
        jit_emit_op_mem(e, false, false, false, 0xff, -1, 6, JIT_RBX, JIT_NO_INDEX, 0,
                        JIT_OFF_SPILL, false, 0);
    } else {
        /* The six flags alone: TF, DF, AC and the rest 0, IF left alone at CPL 3. */
        jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_RFLAGS);
        jit_emit_alu_ri(e, JIT_AND, false, JIT_RAX, JIT_ARITH_FLAGS);
        jit_emit_push(e, JIT_RAX);
    }
    emit_byte(e, 0x9d);                                     /* popfq */
    t->flags |= JIT_F_HOST;
}

void jit_flags_cf_to_host(struct jit_tr *t)
{
    if (t->flags & JIT_F_HOST) {
        return;
    }
    /* movzx eax, byte [flags]; shr eax, 1 (D1 /5): CF = bit 0. */
    jit_emit_ld(&t->e, JIT_S8, false, JIT_RAX, JIT_RBX, jit_flags_mem_off(t));
    jit_emit_op_rr(&t->e, false, 0xd1, -1, 5, JIT_RAX);
}

void jit_flags_spill(struct jit_tr *t)
{
    if (t->flags == JIT_F_HOST) {
        emit_byte(&t->e, 0x9c);                             /* pushfq */
        /* POP qword [spill] (8F /0). */
        jit_emit_op_mem(&t->e, false, false, false, 0x8f, -1, 0, JIT_RBX, JIT_NO_INDEX, 0,
                        JIT_OFF_SPILL, false, 0);
        t->flags |= JIT_F_SPILL;
    }
    t->flags &= (uint8_t)~JIT_F_HOST;
}

void jit_emit_guest_rip(struct jit_tr *t, enum jit_reg dst, uint32_t off)
{
    jit_emit_lea(&t->e, dst, JIT_R13, JIT_NO_INDEX, 0, (int32_t)off);
    if (t->mode != MODE_LONG64) {
        jit_emit_mov32_rr(&t->e, dst, dst);
    }
}

void jit_add_stub(struct jit_tr *t, uint8_t *field, enum jit_stub_kind kind)
{
    if (!field) {
        return;     /* the emit overflowed: the block is translated again */
    }
    if (t->nstubs == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->stubs = g_renew(struct jit_stub, t->stubs, t->cap);
    }
    t->stubs[t->nstubs++] = (struct jit_stub){
        .field = field, .field2 = NULL, .field3 = NULL, .kind = (uint8_t)kind, .flags = t->flags,
        .index = (uint16_t)t->i, .icount = (uint16_t)t->icount, .off = t->off,
        .rc_live = t->rc_live,
    };
}

void jit_add_mem_stub(struct jit_tr *t, uint8_t *field, uint8_t *field2, uint8_t flags_before)
{
    jit_add_mem_stub3(t, field, field2, NULL, flags_before);
}

void jit_add_mem_stub3(struct jit_tr *t, uint8_t *field, uint8_t *field2, uint8_t *field3,
                       uint8_t flags_before)
{
    struct jit_stub *s;

    jit_add_stub(t, field, JIT_STUB_MEM);
    if (!field) {
        return;
    }
    s = &t->stubs[t->nstubs - 1];
    s->field2 = field2;
    s->field3 = field3;
    s->flags = flags_before;
    s->flags_after = t->flags;
    s->resume = jit_emit_label(&t->e);
}

static void emit_add_icount(struct jit_tr *t, unsigned k)
{
    if (k) {
        /* ADD r/m64, imm32: REX.W 81 /0 id (flags clobbered: they are stored by now). */
        jit_emit_op_mem(&t->e, false, true, false, 0x81, -1, 0, JIT_RBX, JIT_NO_INDEX, 0,
                        JIT_OFF_ICOUNT, true, k);
    }
}

static void emit_store_rip(struct jit_tr *t, uint32_t off)
{
    jit_emit_guest_rip(t, JIT_RAX, off);
    jit_emit_st(&t->e, JIT_S64, JIT_RAX, JIT_RBX, JIT_OFF_RIP);
}

/* ---- register caching ---- */

/* The host registers that hold guest registers, in the order they are handed out. */
static const enum jit_reg rc_pool[] = { JIT_R14, JIT_R15, JIT_RSI, JIT_RDI };

/* Turns the emitter's register forms on (live) or off. */
static void rc_set_live(struct jit_tr *t, bool live)
{
    t->rc_live = live;
    t->e.rc_map = live ? t->rc_host : NULL;
}

/* The cached registers' values: into cpu->st.regs (store) or out of it.  Moves only: the
 * host's EFLAGS stay. */
static void rc_move(struct jit_tr *t, bool store)
{
    const int8_t *map = t->e.rc_map;

    t->e.rc_map = NULL;
    for (unsigned r = 0; r < 16; r++) {
        if (t->rc_host[r] < 0) {
            continue;
        }
        if (store) {
            jit_emit_st(&t->e, JIT_S64, (enum jit_reg)t->rc_host[r], JIT_RBX,
                        JIT_OFF_REGS + 8 * (int32_t)r);
        } else {
            jit_emit_ld(&t->e, JIT_S64, false, (enum jit_reg)t->rc_host[r], JIT_RBX,
                        JIT_OFF_REGS + 8 * (int32_t)r);
        }
    }
    t->e.rc_map = map;
}

/* Before a handler call or an exit: st.regs made whole (the registers keep their values). */
static void rc_flush(struct jit_tr *t)
{
    if (t->rc_live) {
        rc_move(t, true);
    }
}

/*
 * The guest registers worth a host register in this block: those its instructions name, as
 * operands or in addresses, at least twice, the most used first, none named as AH..BH (byte 1
 * has no register form).
 */
static void rc_choose(struct jit_tr *t)
{
    unsigned uses[16] = { 0 }, taken = 0;
    uint16_t excluded = 0;

    memset(t->rc_host, -1, sizeof(t->rc_host));
    if (t->mode != MODE_LONG64 && t->mode != MODE_PROT32) {
        return;
    }
    for (unsigned i = 0; i < t->n; i++) {
        const struct insn *in = &t->insn[i];

        for (unsigned k = 0; k < in->nops && k < 4; k++) {
            const struct operand *o = &in->ops[k];

            if (o->kind != OPK_REG) {
                continue;
            }
            if (o->hi8) {
                excluded |= (uint16_t)(1u << (o->reg & 3));
            } else if (o->reg < 16) {
                uses[o->reg]++;
            }
        }
        if (in->has_mem) {
            if (in->mem.base < 16) {
                uses[in->mem.base]++;
            }
            if (in->mem.index < 16) {
                uses[in->mem.index]++;
            }
        }
    }
    while (taken < G_N_ELEMENTS(rc_pool)) {
        unsigned best = 16;

        for (unsigned r = 0; r < 16; r++) {
            if (!(excluded >> r & 1) && t->rc_host[r] < 0 && uses[r] >= 2 &&
                (best == 16 || uses[r] > uses[best])) {
                best = r;
            }
        }
        if (best == 16) {
            break;
        }
        t->rc_host[best] = (int8_t)rc_pool[taken++];
    }
}

#define OFF_IRQ_REQ ((int32_t)offsetof(struct tcg_cpu, irq_req))
#define OFF_IRQ_INHIBIT ((int32_t)offsetof(struct tcg_cpu, irq_inhibit))
#define OFF_JIT_STOP ((int32_t)offsetof(struct tcg_cpu, jit_stop))
#define OFF_ICOUNT_LIMIT ((int32_t)offsetof(struct tcg_cpu, icount_limit))
#define OFF_JIT_CHAINS ((int32_t)offsetof(struct tcg_cpu, jit_chains))
#define OFF_CPL ((int32_t)offsetof(struct tcg_cpu, cpl))
#define OFF_MODE ((int32_t)offsetof(struct tcg_cpu, mode))
#define OFF_DR7 ((int32_t)offsetof(struct tcg_cpu, st.dr[7]))
#define OFF_CS_BASE ((int32_t)offsetof(struct tcg_cpu, st.seg[S_CS].base))
#define OFF_JC ((int32_t)offsetof(struct tcg_cpu, jit_jc))
#define OFF_JIT_PATCH ((int32_t)offsetof(struct tcg_cpu, jit_patch))

_Static_assert(offsetof(struct tcg_cpu, nmi_req) == offsetof(struct tcg_cpu, irq_req) + 1,
               "one 16-bit load reads both requests");
_Static_assert(sizeof(((struct tcg_cpu *)0)->mode) == 4, "the mode is compared as 32 bits");

/* jcc cc to a label patched later: the fields, collected. */
struct jit_fields {
    uint8_t *f[24];
    unsigned n;
};

static void fields_add(struct jit_fields *fs, uint8_t *f)
{
    if (fs->n == G_N_ELEMENTS(fs->f)) {
        g_error("jit: more jumps to one label than struct jit_fields holds");
    }
    fs->f[fs->n++] = f;
}

static void fields_patch(struct jit_fields *fs, const uint8_t *target)
{
    for (unsigned k = 0; k < fs->n; k++) {
        jit_patch_rel32(fs->f[k], target);
    }
    fs->n = 0;
}

/* test r, r; jcc cc to the fields' label. */
static void test_jcc(struct jit_emit *e, struct jit_fields *fs, enum jit_reg r, bool w64,
                     enum jit_cc cc)
{
    jit_emit_test_rr(e, w64, r, r);
    fields_add(fs, jit_emit_jcc(e, cc, NULL));
}

/*
 * The chain trampoline of a vCPU's code buffer for blocks of one mode (32- or 64-bit), shared
 * by every exit that may chain (rsi = the leaving block's links, rdi = its exit value): the
 * jump into the next block's code, where the loop would run it without a look at anything
 * else.  Nothing may request the vCPU (hit flag, interrupt/NMI request, tcg_run's stop), no
 * interrupt shadow, no debug condition, the mode as the block's; and one of the links, or else
 * the jump cache's slot (struct tcg_jc_entry), must be for st.rip's linear address, made in
 * this generation, for this CPL, to a block of this mode with code (outside 64-bit mode:
 * within the CS limit, as tcg_run checks).  That block becomes
 * the cache's current one and its code runs from past its prologue, in the same frame.
 * Otherwise the trampoline returns rdi from the frame, as the block's epilogue would.
 */
/*
 * Jumps to fs's label when anything asks the vCPU to come back to C: the block cache's hit
 * flag (its page was written), an interrupt or NMI request, tcg_run's stop flag; with
 * -icount, also icount at its limit (a timer is due or the turn is over).  The code is
 * translated for one mode or the other: -icount is set before any vCPU runs.
 */
static void emit_requests(struct jit_emit *e, struct jit_fields *fs)
{
    jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_R12, 0);
    test_jcc(e, fs, JIT_RAX, false, JIT_CC_NE);
    jit_emit_ld(e, JIT_S16, false, JIT_RAX, JIT_RBX, OFF_IRQ_REQ);
    test_jcc(e, fs, JIT_RAX, false, JIT_CC_NE);
    jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, OFF_JIT_STOP);
    jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_RAX, 0);
    test_jcc(e, fs, JIT_RAX, false, JIT_CC_NE);
    if (tcg_icount_on) {
        /* CMP rax, [rbx + icount_limit] (REX.W 3B /r); JAE out. */
        jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_ICOUNT);
        jit_emit_op_mem(e, false, true, false, 0x3b, -1, JIT_RAX, JIT_RBX, JIT_NO_INDEX, 0,
                        OFF_ICOUNT_LIMIT, false, 0);
        fields_add(fs, jit_emit_jcc(e, JIT_CC_AE, NULL));
    }
}

/*
 * In the trampoline, about to jump to r11: if the exit came from a direct jump (its exec
 * address in cpu->jit_patch), point that jump at r11 from now on, through the write view.
 */
static void emit_patch(struct jit_emit *e, intptr_t rx_off)
{
    uint8_t *none;

    jit_emit_ld(e, JIT_S64, false, JIT_R9, JIT_RBX, OFF_JIT_PATCH);
    jit_emit_test_rr(e, true, JIT_R9, JIT_R9);
    none = jit_emit_jcc(e, JIT_CC_E, NULL);
    /* rax = (r11 - CHAIN_ENTRY + DIRECT_ENTRY) - (r9 + 4): the rel32 from the end of the field. */
    jit_emit_mov_rr(e, JIT_RAX, JIT_R11);
    jit_emit_alu_rr(e, JIT_SUB, true, JIT_RAX, JIT_R9);
    jit_emit_alu_ri(e, JIT_SUB, true, JIT_RAX, 4 + CHAIN_ENTRY - DIRECT_ENTRY);
    jit_emit_movi(e, JIT_R10, (uint64_t)-rx_off);
    jit_emit_op_mem(e, false, false, false, 0x89, -1, JIT_RAX, JIT_R9, JIT_R10, 0, 0, false, 0);
    jit_patch_rel32(none, jit_emit_label(e));
}

static void emit_trampoline(struct jit_emit *e, enum cpu_mode mode, struct tcg_block_cache *bc,
                            intptr_t rx_off)
{
    bool long64 = mode == MODE_LONG64;
    struct jit_fields out = { .n = 0 }, next = { .n = 0 };

    jit_emit_st(e, JIT_S64, JIT_RDX, JIT_RBX, OFF_JIT_PATCH);
    emit_requests(e, &out);
    jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_RBX, OFF_IRQ_INHIBIT);
    test_jcc(e, &out, JIT_RAX, false, JIT_CC_NE);
    /* TEST dword [rflags], TF|RF (F7 /0 id). */
    jit_emit_op_mem(e, false, false, false, 0xf7, -1, 0, JIT_RBX, JIT_NO_INDEX, 0,
                    JIT_OFF_RFLAGS, true, RFLAGS_TF | RFLAGS_RF);
    fields_add(&out, jit_emit_jcc(e, JIT_CC_NE, NULL));
    jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_RBX, OFF_DR7);
    test_jcc(e, &out, JIT_RAX, false, JIT_CC_NE);
    /* CMP dword [mode], mode (81 /7 id). */
    jit_emit_op_mem(e, false, false, false, 0x81, -1, 7, JIT_RBX, JIT_NO_INDEX, 0, OFF_MODE,
                    true, (uint32_t)mode);
    fields_add(&out, jit_emit_jcc(e, JIT_CC_NE, NULL));

    /* rcx = rip, r8 = its linear address, r9 = the generation, r10 = the CPL. */
    jit_emit_ld(e, JIT_S64, false, JIT_RCX, JIT_RBX, JIT_OFF_RIP);
    if (long64) {
        jit_emit_mov_rr(e, JIT_R8, JIT_RCX);
    } else {
        jit_emit_ld(e, JIT_S32, false, JIT_R8, JIT_RBX, OFF_CS_BASE);
        jit_emit_alu_rr(e, JIT_ADD, false, JIT_R8, JIT_RCX);    /* wraps at 4 GiB */
    }
    jit_emit_movi(e, JIT_R9, (uint64_t)(uintptr_t)tcg_blocks_gen_ptr(bc));
    jit_emit_ld(e, JIT_S64, false, JIT_R9, JIT_R9, 0);
    jit_emit_ld(e, JIT_S8, false, JIT_R10, JIT_RBX, OFF_CPL);
    for (unsigned k = 0; k <= TCG_BLOCK_LINKS; k++) {
        /* The block's links, then the jump cache slot of r8 (rax = its offset). */
        enum jit_reg base = k < TCG_BLOCK_LINKS ? JIT_RSI : JIT_RAX;
        int32_t lin, gen, cpl, to;

        if (k < TCG_BLOCK_LINKS) {
            int32_t l = (int32_t)(k * sizeof(struct tcg_block_link));

            lin = l + (int32_t)offsetof(struct tcg_block_link, lin);
            gen = l + (int32_t)offsetof(struct tcg_block_link, gen);
            cpl = l + (int32_t)offsetof(struct tcg_block_link, cpl);
            to = l + (int32_t)offsetof(struct tcg_block_link, to);
        } else {
            _Static_assert(sizeof(struct tcg_jc_entry) == 32, "slot offset: index << 5");
            jit_emit_mov_rr(e, JIT_RAX, JIT_R8);
            jit_emit_op_rr(e, true, 0xc1, -1, 5, JIT_RAX);            /* shr rax, 12 */
            emit_byte(e, 12);
            jit_emit_alu_rr(e, JIT_XOR, true, JIT_RAX, JIT_R8);
            jit_emit_alu_ri(e, JIT_AND, false, JIT_RAX, TCG_JC_SIZE - 1);
            jit_emit_op_rr(e, false, 0xc1, -1, 4, JIT_RAX);           /* shl eax, 5 */
            emit_byte(e, 5);
            jit_emit_alu_rr(e, JIT_ADD, true, JIT_RAX, JIT_RBX);
            lin = OFF_JC + (int32_t)offsetof(struct tcg_jc_entry, lin);
            gen = OFF_JC + (int32_t)offsetof(struct tcg_jc_entry, gen);
            cpl = OFF_JC + (int32_t)offsetof(struct tcg_jc_entry, cpl);
            to = OFF_JC + (int32_t)offsetof(struct tcg_jc_entry, to);
        }
        /* CMP r64, r/m64 (REX.W 3B /r); CMP r8, r/m8 (3A /r). */
        jit_emit_op_mem(e, false, true, false, 0x3b, -1, JIT_R8, base, JIT_NO_INDEX, 0, lin,
                        false, 0);
        fields_add(&next, jit_emit_jcc(e, JIT_CC_NE, NULL));
        jit_emit_op_mem(e, false, true, false, 0x3b, -1, JIT_R9, base, JIT_NO_INDEX, 0, gen,
                        false, 0);
        fields_add(&next, jit_emit_jcc(e, JIT_CC_NE, NULL));
        jit_emit_op_mem(e, false, false, false, 0x3a, -1, JIT_R10, base, JIT_NO_INDEX, 0, cpl,
                        false, 0);
        fields_add(&next, jit_emit_jcc(e, JIT_CC_NE, NULL));
        jit_emit_ld(e, JIT_S64, false, JIT_RDX, base, to);
        test_jcc(e, &next, JIT_RDX, true, JIT_CC_E);
        jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_RDX, (int32_t)offsetof(struct tcg_block, mode));
        jit_emit_alu_ri(e, JIT_CMP, false, JIT_RAX, (int32_t)mode);
        fields_add(&next, jit_emit_jcc(e, JIT_CC_NE, NULL));
        jit_emit_ld(e, JIT_S64, false, JIT_R11, JIT_RDX, (int32_t)offsetof(struct tcg_block, code));
        test_jcc(e, &next, JIT_R11, true, JIT_CC_E);
        if (!long64) {
            jit_emit_ld(e, JIT_S32, false, JIT_RAX, JIT_RDX,
                        (int32_t)offsetof(struct tcg_block, bytes));
            jit_emit_op_mem(e, false, true, false, 0x8d, -1, JIT_RAX, JIT_RCX, JIT_RAX, 0, -1,
                            false, 0);                          /* lea rax, [rcx + rax - 1] */
            jit_emit_ld(e, JIT_S32, false, JIT_R11, JIT_RBX, JIT_OFF_CS_LIMIT);
            jit_emit_alu_rr(e, JIT_CMP, true, JIT_RAX, JIT_R11);
            fields_add(&out, jit_emit_jcc(e, JIT_CC_A, NULL));
            jit_emit_ld(e, JIT_S64, false, JIT_R11, JIT_RDX,
                        (int32_t)offsetof(struct tcg_block, code));
        }
        jit_emit_movi(e, JIT_RAX, (uint64_t)(uintptr_t)tcg_blocks_current_ptr(bc));
        jit_emit_st(e, JIT_S64, JIT_RDX, JIT_RAX, 0);
        /* ADD qword [chains], 1 (REX.W 83 /0 ib). */
        jit_emit_op_mem(e, false, true, false, 0x83, -1, 0, JIT_RBX, JIT_NO_INDEX, 0,
                        OFF_JIT_CHAINS, false, 0);
        emit_byte(e, 1);
        jit_emit_alu_ri(e, JIT_ADD, true, JIT_R11, CHAIN_ENTRY);
        emit_patch(e, rx_off);
        jit_emit_jmp_reg(e, JIT_R11);
        fields_patch(&next, jit_emit_label(e));
    }
    fields_patch(&out, jit_emit_label(e));
    jit_emit_mov_rr(e, JIT_RAX, JIT_RDI);
    emit_epilogue(e);
}

bool tcg_jit_trampolines(struct jit_buf *jb, struct tcg_block_cache *bc,
                         const void **tramp64, const void **tramp32)
{
    struct jit_emit e;
    uint8_t *t32;

    jit_emit_init(&e, jit_buf_write_ptr(jb), jit_buf_write_end(jb), jit_buf_rx_offset(jb));
    emit_trampoline(&e, MODE_LONG64, bc, jit_buf_rx_offset(jb));
    t32 = jit_emit_label(&e);
    emit_trampoline(&e, MODE_PROT32, bc, jit_buf_rx_offset(jb));
    if (e.overflow) {
        return false;
    }
    *tramp64 = jit_buf_commit(jb, e.p);
    *tramp32 = (const void *)jit_emit_rx(&e, t32);
    return true;
}

/*
 * Where the leaving block's code goes on to a block of its own page (a static target): the
 * checks the trampoline would make that can change there (the hit flag, interrupt and NMI
 * requests, tcg_run's stop; outside 64-bit mode a CS limit of 4 GiB), then a jump the
 * trampoline patches to the next block's chain entry the first time it finds it, and until
 * then to the trampoline.  Both blocks are in one physical page, so they are dropped
 * together, and the code buffer only goes with every block.
 */
static void emit_direct(struct jit_tr *t, const void *tramp, unsigned index)
{
    struct jit_emit *e = &t->e;
    struct jit_fields slow = { .n = 0 };
    uint8_t *field;

    emit_requests(e, &slow);
    if (t->mode != MODE_LONG64) {
        /* CMP dword [cs.limit], -1 (83 /7 ib). */
        jit_emit_op_mem(e, false, false, false, 0x83, -1, 7, JIT_RBX, JIT_NO_INDEX, 0,
                        JIT_OFF_CS_LIMIT, false, 0);
        emit_byte(e, 0xff);
        fields_add(&slow, jit_emit_jcc(e, JIT_CC_NE, NULL));
    }
    field = jit_emit_jmp_aligned(e, NULL);
    jit_patch_rel32(field, jit_emit_label(e));
    fields_patch(&slow, jit_emit_label(e));
    jit_emit_movi(e, JIT_RDI, exit_value(TCG_OK, index));
    jit_emit_movi(e, JIT_RSI, (uint64_t)(uintptr_t)&t->chain->block->link[0]);
    jit_emit_movi(e, JIT_RDX, field ? (uint64_t)jit_emit_rx(e, field) : 0);
    jit_emit_jmp_abs(e, (uintptr_t)tramp);
}

uint8_t *jit_emit_leave(struct jit_tr *t, unsigned index, unsigned icount, int64_t target)
{
    const void *tramp = t->chain ? (t->mode == MODE_LONG64 ? t->chain->tramp64
                                                             : t->chain->tramp32) : NULL;

    jit_flags_to_mem(t);
    rc_flush(t);
    emit_add_icount(t, icount);
    if (tramp && target != JIT_DYNAMIC && t->page_off + target >= 0 &&
        t->page_off + target < 4096) {
        emit_direct(t, tramp, index);
        return NULL;
    }
    if (tramp) {
        jit_emit_movi(&t->e, JIT_RDI, exit_value(TCG_OK, index));
        jit_emit_movi(&t->e, JIT_RSI, (uint64_t)(uintptr_t)&t->chain->block->link[0]);
        jit_emit_movi(&t->e, JIT_RDX, 0);
        jit_emit_jmp_abs(&t->e, (uintptr_t)tramp);
        return NULL;
    }
    jit_emit_movi(&t->e, JIT_RAX, exit_value(TCG_OK, index));
    return jit_emit_jmp(&t->e, NULL);
}

/* st.rip, next_rip and the call of instruction i's handler (flags and icount are stored). */
static void emit_handler_call(struct jit_tr *t, unsigned i, uint32_t off)
{
    struct jit_emit *e = &t->e;

    if (t->fallbacks) {
        unsigned op = t->insn[i].op < OP__MAX ? t->insn[i].op : OP_INVALID;

        jit_emit_movi(e, JIT_RAX, (uint64_t)(uintptr_t)&t->fallbacks[op]);
        /* ADD qword [rax], 1: REX.W 83 /0 ib. */
        jit_emit_op_mem(e, false, true, false, 0x83, -1, 0, JIT_RAX, JIT_NO_INDEX, 0, 0, false,
                        0);
        emit_byte(e, 1);
    }
    emit_store_rip(t, off);
    jit_emit_guest_rip(t, JIT_RAX, off + t->insn[i].len);
    jit_emit_st(e, JIT_S64, JIT_RAX, JIT_RBX, JIT_OFF_NEXT_RIP);
    jit_emit_mov_rr(e, JIT_RDI, JIT_RBX);
    jit_emit_movi(e, JIT_RSI, (uint64_t)(uintptr_t)&t->insn[i]);
    jit_emit_call(e, (const void *)(uintptr_t)t->fn[i]);
}

/* Near JMP, CALL and RET, whose handlers change nothing but RIP, RSP and the stack: after
 * them the loop would only look the next block up. */
static bool jumps_near(unsigned op)
{
    return op == OP_JMP || op == OP_CALL || op == OP_RET;
}

static void emit_fallback(struct jit_tr *t)
{
    struct jit_emit *e = &t->e;

    jit_flags_to_mem(t);
    emit_add_icount(t, t->icount);
    t->icount = 0;
    rc_flush(t);
    rc_set_live(t, false);      /* the handler may change any register in st.regs */
    emit_handler_call(t, t->i, t->off);
    t->flags = JIT_F_MEM;       /* the call clobbered the host's; st.rflags is exact */
    if (t->chain && t->i + 1 == t->n && jumps_near(t->insn[t->i].op)) {
        uint8_t *other;

        /* A near jump done by its handler (st.rip set, TCG_JUMPED): retired here, and on. */
        jit_emit_alu_ri(e, JIT_CMP, false, JIT_RAX, TCG_JUMPED);
        other = jit_emit_jcc(e, JIT_CC_NE, NULL);
        jit_add_stub(t, jit_emit_leave(t, t->i, 1, JIT_DYNAMIC), JIT_STUB_EPILOGUE);
        jit_patch_rel32(other, jit_emit_label(e));
    }
    jit_emit_test_rr(e, false, JIT_RAX, JIT_RAX);
    jit_add_stub(t, jit_emit_jcc(e, JIT_CC_NE, NULL), JIT_STUB_STATUS);
    t->icount = 1;
    if (t->i + 1 < t->n) {
        jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_R12, 0);
        jit_emit_test_rr(e, false, JIT_RAX, JIT_RAX);
        jit_add_stub(t, jit_emit_jcc(e, JIT_CC_NE, NULL), JIT_STUB_HIT);
        rc_move(t, false);
        rc_set_live(t, true);
    }
}

/*
 * A taken Jcc back to its block's own first instruction (a loop in one block):
 * unless something asks the vCPU back (emit_requests), straight to the body again, past the
 * entries, with the cached registers as they are and the flags in st.rflags (where the body
 * starts from them; the stub put them there).  Nothing else can differ: the block is still
 * current and entered at the same RIP, and what changes the mode, the mapping or the debug
 * state ends a block.  Otherwise the code after this leaves as any taken Jcc does.
 */
static bool loops_back(const struct jit_tr *t, const struct jit_stub *s)
{
    const struct insn *in = &t->insn[s->index];

    return t->chain && t->body && (int64_t)(s->off + in->len) + (int64_t)in->ops[0].imm == 0;
}

/*
 * The same where the flags the block starts with are dead (its first instruction to touch
 * them sets all six, and none before can leave): the flags stay where they are, so the
 * requests are checked without changing them (LEA sums and JRCXZ) and icount is counted by
 * moves; a request leaves through the general path with the flags untouched.
 */
static bool emit_loop_back_keep_flags(struct jit_tr *t, const struct jit_stub *s)
{
    struct jit_emit *e = &t->e;
    uint8_t *go, *slow;

    /* -icount's limit check without flags needs BMI2's SHRX. */
    if (!loops_back(t, s) || !t->entry_flags_dead || !s->rc_live ||
        (tcg_icount_on && !__builtin_cpu_supports("bmi2"))) {
        return false;
    }
    if (tcg_icount_on) {
        /* rcx = (limit + ~icount) >> 63 = (limit - icount - 1) >> 63: 1 once icount has
         * reached the limit.  NOT, LEA, MOV and SHRX leave the flags alone. */
        jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_ICOUNT);
        jit_emit_op_rr(e, true, 0xf7, -1, 2, JIT_RAX);                 /* not rax */
        jit_emit_ld(e, JIT_S64, false, JIT_RCX, JIT_RBX, OFF_ICOUNT_LIMIT);
        jit_emit_lea(e, JIT_RCX, JIT_RCX, JIT_RAX, 0, 0);
        jit_emit_movi(e, JIT_RAX, 63);
        /* SHRX rcx, rcx, rax: VEX.LZ.F2.0F38.W1 F7 /r, vvvv = rax. */
        if (jit_emit_room(e, 5)) {
            jit_put8(e, 0xc4);
            jit_put8(e, 0xe2);
            jit_put8(e, 0xfb);
            jit_put8(e, 0xf7);
            jit_put8(e, 0xc9);
        }
        jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_R12, 0);
        jit_emit_lea(e, JIT_RCX, JIT_RCX, JIT_RAX, 0, 0);
    } else {
        jit_emit_ld(e, JIT_S8, false, JIT_RCX, JIT_R12, 0);
    }
    jit_emit_ld(e, JIT_S16, false, JIT_RAX, JIT_RBX, OFF_IRQ_REQ);
    jit_emit_lea(e, JIT_RCX, JIT_RCX, JIT_RAX, 0, 0);
    jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, OFF_JIT_STOP);
    jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_RAX, 0);
    jit_emit_lea(e, JIT_RCX, JIT_RCX, JIT_RAX, 0, 0);
    /* JRCXZ +5 (E3 cb) over the JMP rel32 to the general path. */
    if (jit_emit_room(e, 2)) {
        jit_put8(e, 0xe3);
        jit_put8(e, 5);
    }
    go = e->p + 5;
    slow = jit_emit_jmp(e, NULL);
    if (!e->overflow && e->p != go) {
        g_error("jit: the loop-back jump is %td bytes, JRCXZ expects 5", e->p - (go - 5));
    }
    jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_ICOUNT);
    jit_emit_lea(e, JIT_RAX, JIT_RAX, JIT_NO_INDEX, 0, (int32_t)(s->icount + 1u));
    jit_emit_st(e, JIT_S64, JIT_RAX, JIT_RBX, JIT_OFF_ICOUNT);
    jit_emit_jmp(e, t->body);
    jit_patch_rel32(slow, jit_emit_label(e));
    return true;
}

static void emit_loop_back(struct jit_tr *t, const struct jit_stub *s)
{
    struct jit_emit *e = &t->e;
    struct jit_fields slow = { .n = 0 };

    emit_requests(e, &slow);
    emit_add_icount(t, s->icount + 1u);
    jit_emit_jmp(e, t->body);
    fields_patch(&slow, jit_emit_label(e));
}

/*
 * A taken inline Jcc: the target from the RIP after it (64-bit: canonical or #GP; 32-bit
 * operand size: wrapped at 4 GiB, within the CS limit or #GP).  Anything unusual calls the
 * handler, which decides the same again from st.rflags and raises the fault.
 */
static void emit_taken(struct jit_tr *t, const struct jit_stub *s, uint8_t *epilogue, bool looped)
{
    struct jit_emit *e = &t->e;
    const struct insn *in = &t->insn[s->index];
    uint32_t next = s->off + in->len;
    int64_t rel = (int64_t)in->ops[0].imm;
    uint8_t *slow;

    if (loops_back(t, s) && !looped) {
        emit_loop_back(t, s);
    }
    rc_flush(t);
    rc_set_live(t, false);
    jit_emit_guest_rip(t, JIT_RAX, next);
    jit_emit_movi(e, JIT_RCX, (uint64_t)rel);
    if (t->mode == MODE_LONG64) {
        jit_emit_alu_rr(e, JIT_ADD, true, JIT_RAX, JIT_RCX);
        /* Canonical: sign-extending bit 47 gives the same value. */
        jit_emit_mov_rr(e, JIT_RCX, JIT_RAX);
        jit_emit_op_rr(e, true, 0xc1, -1, 4, JIT_RCX);      /* shl rcx, 16 */
        emit_byte(e, 16);
        jit_emit_op_rr(e, true, 0xc1, -1, 7, JIT_RCX);      /* sar rcx, 16 */
        emit_byte(e, 16);
        jit_emit_alu_rr(e, JIT_CMP, true, JIT_RCX, JIT_RAX);
    } else {
        jit_emit_alu_rr(e, JIT_ADD, false, JIT_RAX, JIT_RCX);  /* wraps, bits 63:32 zero */
        jit_emit_ld(e, JIT_S32, false, JIT_RCX, JIT_RBX, JIT_OFF_CS_LIMIT);
        jit_emit_alu_rr(e, JIT_CMP, true, JIT_RAX, JIT_RCX);
    }
    slow = jit_emit_jcc(e, t->mode == MODE_LONG64 ? JIT_CC_NE : JIT_CC_A, NULL);
    jit_emit_st(e, JIT_S64, JIT_RAX, JIT_RBX, JIT_OFF_RIP);
    jit_patch_rel32(jit_emit_leave(t, s->index, s->icount + 1u,
                                   in->op == OP_JCC || in->op == OP_JMP
                                       ? (int64_t)next + rel : JIT_DYNAMIC),
                    epilogue);

    jit_patch_rel32(slow, jit_emit_label(e));
    emit_add_icount(t, s->icount);
    emit_handler_call(t, s->index, s->off);
    /* TCG_JUMPED or TCG_EXCEPTION: retire() in C finishes either. */
    jit_emit_mov32_rr(e, JIT_RAX, JIT_RAX);
    jit_emit_movi(e, JIT_RDX, exit_value(TCG_OK, s->index));
    jit_emit_alu_rr(e, JIT_OR, true, JIT_RAX, JIT_RDX);
    jit_emit_jmp(e, epilogue);
}

/*
 * The slow path of an inline memory instruction: the handler does all of it (the access, the
 * walk, the fault, MMIO, a write to a code page), then the fast TLB learns the page, and the
 * block goes on after the instruction with the flags where its inline code leaves them.
 */
static void emit_mem_slow(struct jit_tr *t, const struct jit_stub *s, uint8_t *epilogue)
{
    struct jit_emit *e = &t->e;
    uint32_t next = s->off + t->insn[s->index].len;
    uint8_t *ok, *no_hit;
    bool live = t->rc_live;

    rc_flush(t);
    rc_set_live(t, false);
    emit_handler_call(t, s->index, s->off);
    jit_emit_test_rr(e, false, JIT_RAX, JIT_RAX);
    ok = jit_emit_jcc(e, JIT_CC_E, NULL);
    emit_add_icount(t, s->icount);
    jit_emit_mov32_rr(e, JIT_RAX, JIT_RAX);
    jit_emit_movi(e, JIT_RDX, exit_value(TCG_OK, s->index));
    jit_emit_alu_rr(e, JIT_OR, true, JIT_RAX, JIT_RDX);
    jit_emit_jmp(e, epilogue);

    jit_patch_rel32(ok, jit_emit_label(e));
    jit_emit_mov_rr(e, JIT_RDI, JIT_RBX);
    jit_emit_ld(e, JIT_S64, false, JIT_RSI, JIT_RBX, JIT_OFF_LIN);
    jit_emit_call(e, (const void *)(uintptr_t)tcg_tlb_fast_fill);
    jit_emit_ld(e, JIT_S8, false, JIT_RAX, JIT_R12, 0);
    jit_emit_test_rr(e, false, JIT_RAX, JIT_RAX);
    no_hit = jit_emit_jcc(e, JIT_CC_E, NULL);
    emit_store_rip(t, next);
    emit_add_icount(t, s->icount + 1u);
    jit_emit_movi(e, JIT_RAX, exit_value(TCG_OK, s->index));
    jit_emit_jmp(e, epilogue);

    jit_patch_rel32(no_hit, jit_emit_label(e));
    if (live) {
        rc_move(t, false);      /* back as the inline code left them */
    }
    t->flags = JIT_F_MEM;
    if (s->flags_after & JIT_F_HOST) {
        jit_flags_to_host(t);
    } else if (s->flags_after & JIT_F_SPILL) {
        jit_emit_ld(e, JIT_S64, false, JIT_RAX, JIT_RBX, JIT_OFF_RFLAGS);
        jit_emit_alu_ri(e, JIT_AND, false, JIT_RAX, JIT_ARITH_FLAGS);
        jit_emit_st(e, JIT_S64, JIT_RAX, JIT_RBX, JIT_OFF_SPILL);
    }
    jit_emit_jmp(e, s->resume);
}

static void emit_stub(struct jit_tr *t, const struct jit_stub *s, uint8_t *epilogue)
{
    struct jit_emit *e = &t->e;
    bool looped;

    if (s->kind == JIT_STUB_EPILOGUE) {
        jit_patch_rel32(s->field, epilogue);
        return;
    }
    jit_patch_rel32(s->field, jit_emit_label(e));
    jit_patch_rel32(s->field2, jit_emit_label(e));
    jit_patch_rel32(s->field3, jit_emit_label(e));
    if (s->kind == JIT_STUB_MEM) {
        jit_emit_st(e, JIT_S64, JIT_RAX, JIT_RBX, JIT_OFF_LIN);
    }
    looped = s->kind == JIT_STUB_TAKEN && emit_loop_back_keep_flags(t, s);
    t->flags = s->flags;
    jit_flags_to_mem(t);
    rc_set_live(t, s->rc_live);
    if (s->kind == JIT_STUB_STATUS || s->kind == JIT_STUB_HIT) {
        rc_flush(t);
    }
    switch (s->kind) {
    case JIT_STUB_STATUS:
        /* The handler's status is in eax: the enum is 32 bits, the index goes above it. */
        jit_emit_mov32_rr(e, JIT_RAX, JIT_RAX);
        jit_emit_movi(e, JIT_RDX, exit_value(TCG_OK, s->index));
        jit_emit_alu_rr(e, JIT_OR, true, JIT_RAX, JIT_RDX);
        jit_emit_jmp(e, epilogue);
        break;
    case JIT_STUB_HIT:
        emit_store_rip(t, s->off + t->insn[s->index].len);
        emit_add_icount(t, s->icount);
        jit_emit_movi(e, JIT_RAX, exit_value(TCG_OK, s->index));
        jit_emit_jmp(e, epilogue);
        break;
    case JIT_STUB_TAKEN:
        emit_taken(t, s, epilogue, looped);
        break;
    case JIT_STUB_MEM:
        emit_mem_slow(t, s, epilogue);
        break;
    }
}

/*
 * Bit i set: the flags instruction i writes are dead, because a later instruction of the block
 * sets all six before anything reads them, and nothing between can leave the block.
 * *at_entry: the same holds for the flags the block starts with.
 */
static uint64_t dead_flags(const struct jit_tr *t, bool *at_entry)
{
    uint64_t dead = 0;
    bool killed = false;    /* by the nearest instruction after i that touches them */

    for (unsigned i = t->n; i-- > 0;) {
        if (killed) {
            dead |= 1ull << i;
        }
        switch (jit_flag_use(t, &t->insn[i])) {
        case JIT_FLAGS_NONE:
            break;
        case JIT_FLAGS_KILL:
            killed = true;
            break;
        default:
            killed = false;
            break;
        }
    }
    *at_entry = killed;
    return dead;
}

/* The block's code, with register caching (rc) or without; *rc_bad: it was asked for and an
 * instruction could not have it (nothing is committed then). */
static tcg_jit_fn translate_block(struct jit_buf *jb, const struct insn *insn,
                                  const tcg_exec_fn *fn, unsigned n, enum cpu_mode mode,
                                  uint64_t *fallbacks, const struct tcg_jit_chain *chain, bool rc,
                                  bool *rc_bad)
{
    struct jit_tr t = {
        .insn = insn, .fn = fn, .n = n, .mode = mode, .fallbacks = fallbacks,
        .flags = JIT_F_MEM, .host_is_amd = tcg_host_is_amd(),
    };
    struct jit_emit *e = &t.e;
    uint8_t *epilogue, *start, *end_jump = NULL;
    bool last_inline = false;

    if (chain && (mode == MODE_LONG64 || mode == MODE_PROT32) && !log_enabled(LOG_EXEC)) {
        t.chain = chain;
    }
    t.sse2 = chain && chain->sse2;
    t.page_off = chain ? (int32_t)(chain->block->gpa & 0xfff) : 0;
    jit_emit_init(e, jit_buf_write_ptr(jb), jit_buf_write_end(jb), jit_buf_rx_offset(jb));
    e->rc_base = JIT_OFF_REGS;
    start = e->p;
    jit_emit_push(e, JIT_RBX);
    jit_emit_push(e, JIT_R12);
    jit_emit_push(e, JIT_R13);
    jit_emit_push(e, JIT_R14);
    jit_emit_push(e, JIT_R15);
    jit_emit_mov_rr(e, JIT_RBX, JIT_RDI);
    jit_emit_mov_rr(e, JIT_R12, JIT_RSI);
    /* Past the direct entry: a short jump (EB 23). */
    emit_byte(e, 0xeb);
    emit_byte(e, CHAIN_ENTRY - DIRECT_ENTRY);
    /* A patched direct jump comes in here (rbx, r12 as they are, st.rip set): this block is
     * the current one from now on.  The immediates are written whole, for a fixed size. */
    if (!e->overflow && e->p - start != DIRECT_ENTRY) {
        g_error("jit: the prologue is %td bytes, direct jumps expect %d", e->p - start,
                DIRECT_ENTRY);
    }
    jit_emit_mov_r64_imm64(e, JIT_RAX, (uint64_t)(uintptr_t)(chain ? tcg_blocks_current_ptr(
                                                                         chain->blocks)
                                                                   : &unchained_current));
    jit_emit_mov_r64_imm64(e, JIT_RCX, (uint64_t)(uintptr_t)(chain ? chain->block : NULL));
    jit_emit_st(e, JIT_S64, JIT_RCX, JIT_RAX, 0);
    /* A chained jump comes in here, the trampoline having made the block current. */
    if (!e->overflow && e->p - start != CHAIN_ENTRY) {
        g_error("jit: the direct entry is %td bytes, chained jumps expect %d",
                e->p - start - DIRECT_ENTRY, CHAIN_ENTRY - DIRECT_ENTRY);
    }
    jit_emit_ld(e, JIT_S64, false, JIT_R13, JIT_RBX, JIT_OFF_RIP);
    t.dead = n <= 64 ? dead_flags(&t, &t.entry_flags_dead) : 0;
    if (rc) {
        rc_choose(&t);
    } else {
        memset(t.rc_host, -1, sizeof(t.rc_host));
    }
    rc_move(&t, false);
    rc_set_live(&t, true);
    t.body = t.chain ? jit_emit_label(e) : NULL;

    for (t.i = 0; t.i < n; t.i++) {
        last_inline = jit_inline(&t);
        if (!last_inline) {
            /* Their writes to registers are not tracked: nothing is known after them. */
            t.hi_zero = 0;
            last_inline = jit_inline_mem(&t);
        }
        if (last_inline) {
            t.icount++;
        } else {
            emit_fallback(&t);
        }
        t.off += insn[t.i].len;
    }
    emit_store_rip(&t, t.off);
    if (last_inline) {
        end_jump = jit_emit_leave(&t, n, t.icount, t.off);
    } else {
        jit_flags_to_mem(&t);
        emit_add_icount(&t, t.icount);
        jit_emit_movi(e, JIT_RAX, exit_value(TCG_OK, n));
    }
    epilogue = jit_emit_label(e);
    jit_patch_rel32(end_jump, epilogue);
    emit_epilogue(e);

    for (unsigned k = 0; k < t.nstubs; k++) {
        emit_stub(&t, &t.stubs[k], epilogue);
    }
    g_free(t.stubs);
    *rc_bad = e->rc_bad;
    if (e->overflow || e->rc_bad) {
        return NULL;
    }
    /* ISO C has no object-to-function pointer cast: through an integer. */
    return (tcg_jit_fn)(uintptr_t)jit_buf_commit(jb, e->p);
}

tcg_jit_fn tcg_jit_translate(struct jit_buf *jb, const struct insn *insn, const tcg_exec_fn *fn,
                             unsigned n, enum cpu_mode mode, uint64_t *fallbacks,
                             const struct tcg_jit_chain *chain)
{
    static int rc_off = -1;     /* HYVM_JIT_NO_RC, read once */
    bool rc_bad = false;
    tcg_jit_fn code;

    if (__atomic_load_n(&rc_off, __ATOMIC_RELAXED) < 0) {
        __atomic_store_n(&rc_off, g_getenv("HYVM_JIT_NO_RC") != NULL, __ATOMIC_RELAXED);
    }
    code = translate_block(jb, insn, fn, n, mode, fallbacks, chain,
                           !__atomic_load_n(&rc_off, __ATOMIC_RELAXED), &rc_bad);

    if (rc_bad) {
        code = translate_block(jb, insn, fn, n, mode, fallbacks, chain, false, &rc_bad);
    }
    return code;
}
