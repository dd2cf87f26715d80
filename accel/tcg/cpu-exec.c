/*
 * The dispatch loop of the software CPU: one instruction at a time
 * (tcg_step: fetch through the MMU, decode, run) and the loop over cached
 * blocks (tcg_run), which on its common path does one TLB lookup and one
 * hash probe per block and one table call per instruction.  It decodes the
 * blocks the cache keeps (block-cache.c) and marks exceptions raised by
 * INT n/INT3/INTO/INT1 as traps for their delivery (exec-system.c).
 *
 * Threads: runs on the vCPU thread that owns the struct tcg_cpu.  The
 * once-per-operation memory of the -d unimp log is the one piece of state
 * shared by all vCPUs; its bits are only ever set, atomically.
 */
#include <string.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-translate.h"
#include "arch/x86/disas.h"
#include "system/cpus.h"
#include "system/log.h"

/* Instructions per block: short enough that a kick is seen soon. */
#define BC_MAX_INSNS 64

/* Operations already reported under -d unimp (one line per operation). */
static uint8_t unimp_logged[OP__MAX];

static enum tcg_status unimplemented(struct tcg_cpu *cpu, const struct insn *in)
{
    unsigned op = in->op < OP__MAX ? in->op : OP_INVALID;

    if (log_enabled(LOG_UNIMP) && !__atomic_exchange_n(&unimp_logged[op], 1, __ATOMIC_RELAXED)) {
        char hex[3 * INSN_MAX_LEN + 1] = "";

        for (unsigned i = 0; i < in->len && i < INSN_MAX_LEN; i++) {
            g_snprintf(hex + 3 * i, 4, "%02x ", in->bytes[i]);
        }
        hyvm_log("tcg: %s is not implemented (bytes %sat rip 0x%llx): #UD\n",
                 insn_op_name(op), hex, (unsigned long long)cpu->st.rip);
    }
    return tcg_raise(cpu, EXC_UD);
}

static inline uint64_t rip_after(const struct tcg_cpu *cpu, uint64_t rip, unsigned len)
{
    rip += len;
    return cpu->mode == MODE_LONG64 ? rip : rip & 0xffffffffull;
}

/*
 * Fetches and decodes the instruction at CS:RIP.  Bytes are read up to
 * the end of the page (and of CS); only when the decoder asks for more is
 * the next page touched, so a fault there names exactly the first byte
 * that lies on it (SDM vol. 3, 4.7: CR2 is that linear address).
 */
static enum tcg_status fetch_decode(struct tcg_cpu *cpu, struct insn *in)
{
    uint8_t bytes[INSN_MAX_LEN];
    uint64_t rip = cpu->st.rip, lin, lin2;
    unsigned maxlen = INSN_MAX_LEN, have, chunk;
    enum tcg_status st;

    if (cpu->mode != MODE_LONG64) {
        uint32_t limit = cpu->st.seg[S_CS].limit;

        if (rip > limit) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        if (limit - rip + 1 < maxlen) {
            maxlen = limit - rip + 1;
        }
    }
    st = tcg_linear(cpu, S_CS, rip, 1, ACC_EXEC, &lin);
    if (st != TCG_OK) {
        return st;
    }
    chunk = 4096 - (lin & 0xfff);
    have = chunk < maxlen ? chunk : maxlen;
    st = tcg_read_lin(cpu, lin, bytes, have, ACC_EXEC);
    if (st != TCG_OK) {
        return st;
    }
    for (;;) {
        size_t need = 0;
        enum decode_status ds = x86_decode(in, bytes, have, cpu->mode, &need);

        switch (ds) {
        case DECODE_OK:
            return TCG_OK;
        case DECODE_UD:
            return tcg_raise(cpu, EXC_UD);
        case DECODE_TOO_LONG:
            return tcg_raise_err(cpu, EXC_GP, 0);
        case DECODE_TRUNCATED:
            break;
        }
        if (have >= maxlen) {
            /* Past the CS limit or past 15 bytes. */
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        lin2 = lin + have;
        if (cpu->mode != MODE_LONG64) {
            lin2 &= 0xffffffffull;
        } else if (!tcg_canonical(lin2)) {
            return tcg_raise_err(cpu, EXC_GP, 0);
        }
        chunk = 4096 - (lin2 & 0xfff);
        if (chunk > maxlen - have) {
            chunk = maxlen - have;
        }
        st = tcg_read_lin(cpu, lin2, bytes + have, chunk, ACC_EXEC);
        if (st != TCG_OK) {
            return st;
        }
        have += chunk;
    }
}

/* The handler that runs in: one specialised to its operand form, its
 * table entry, or the #UD of an operation not implemented. */
static inline tcg_exec_fn handler_of(const struct insn *in)
{
    tcg_exec_fn fn = tcg_fast_handler(in);

    if (fn) {
        return fn;
    }
    fn = tcg_exec_table[in->op < OP__MAX ? in->op : OP_INVALID];
    return fn ? fn : unimplemented;
}

tcg_exec_fn tcg_handler_of(const struct insn *in)
{
    return handler_of(in);
}

/* The handler a block runs: a locked one, with vCPUs running at once, made atomic. */
static inline tcg_exec_fn block_handler_of(const struct insn *in)
{
    if (__builtin_expect(tcg_mttcg, 0) && tcg_insn_locked(in)) {
        return tcg_exec_locked;
    }
    return handler_of(in);
}

static inline enum tcg_status exec_insn(struct tcg_cpu *cpu, const struct insn *in)
{
    return block_handler_of(in)(cpu, in);
}

/*
 * A block as built here carries, after its n instructions, their n
 * handlers, looked up once when it is decoded (block-cache.c only keeps
 * and frees the allocation whole).
 */
static inline tcg_exec_fn *block_handlers(struct tcg_block *b)
{
    return (tcg_exec_fn *)(void *)(b->insn + b->n);
}

#define BLOCK_ALLOC(n) \
    (sizeof(struct tcg_block) + (n) * (sizeof(struct insn) + sizeof(tcg_exec_fn)))

/* INT n, INT3 and INTO are traps that check the gate's DPL; INT1 is a trap only. */
static unsigned soft_kind(const struct insn *in, const struct tcg_cpu *cpu)
{
    if (cpu->exc.has_error_code) {
        return 0;       /* the instruction faulted (#GP in vm86, ...) */
    }
    switch (in->op) {
    case OP_INT:
    case OP_INT3:
    case OP_INTO:
        return 1;
    case OP_INT1:
        return 2;
    default:
        return 0;
    }
}

/* What follows a handler: RIP moves on unless the handler set it or faulted. */
static inline void retire(struct tcg_cpu *cpu, const struct insn *in, enum tcg_status st)
{
    if (st == TCG_EXCEPTION) {
        cpu->exc.soft = soft_kind(in, cpu);
        return;
    }
    if (st != TCG_JUMPED) {
        cpu->st.rip = cpu->next_rip;
    }
    cpu->icount++;
}

/*
 * STI, MOV SS and POP SS hold off external interrupts until the next
 * instruction has run (SDM vol. 3, 6.8.3), so that "sti; hlt" and a stack
 * switch in two instructions are safe.  STI does so even when IF was set
 * already: one instruction's delay is invisible to a guest.
 */
static inline unsigned makes_shadow(const struct insn *in)
{
    if (in->op == OP_STI) {
        return TCG_SHADOW_STI;
    }
    return (in->op == OP_MOV_SREG || in->op == OP_POP) && in->ops[0].kind == OPK_SREG &&
           in->ops[0].reg == S_SS ? TCG_SHADOW_SS : 0;
}

enum tcg_status tcg_step(struct tcg_cpu *cpu)
{
    struct insn in;
    enum tcg_status st = fetch_decode(cpu, &in);

    if (st != TCG_OK) {
        cpu->exc.soft = 0;
        return st;
    }
    cpu->next_rip = rip_after(cpu, cpu->st.rip, in.len);
    cpu->step_op = in.op;
    st = exec_insn(cpu, &in);
    retire(cpu, &in, st);
    if (st != TCG_EXCEPTION) {
        cpu->irq_inhibit = (uint8_t)makes_shadow(&in);
    }
    return st;
}

/*
 * Operations after which the next instruction is not simply the next one
 * in the page, or is decoded or run differently: control transfers, and
 * whatever changes the mode, the mapping, the interrupt state or faults
 * by design.  Conditional branches (Jcc, JrCXZ, LOOPcc) do not end a
 * block: taken, they return TCG_JUMPED and the loop leaves the block
 * there; not taken, the block goes on with the next instruction, which
 * saves a block lookup for every branch that falls through.
 */
static bool ends_block(unsigned op)
{
    switch (op) {
    case OP_JMP: case OP_JMP_FAR:
    case OP_CALL: case OP_CALL_FAR: case OP_RET: case OP_RET_FAR:
    case OP_INT: case OP_INT3: case OP_INTO: case OP_INT1: case OP_IRET: case OP_BOUND:
    case OP_SYSCALL: case OP_SYSRET: case OP_SYSENTER: case OP_SYSEXIT: case OP_RSM:
    case OP_HLT: case OP_MOV_CR: case OP_MOV_DR: case OP_LMSW: case OP_CLTS: case OP_WRMSR:
    case OP_INVLPG: case OP_INVPCID: case OP_MOV_SREG: case OP_LSS:
    case OP_LDS: case OP_LES: case OP_LFS: case OP_LGS:
    case OP_POPF: case OP_STI: case OP_XSETBV: case OP_MWAIT:
    case OP_UD0: case OP_UD1: case OP_UD2: case OP_INVALID: case OP_OTHER:
        return true;
    default:
        return false;
    }
}

/* POP to a segment register (POP SS also shadows): cpu->jit_flat holds for a whole block. */
static bool loads_segment(const struct insn *in)
{
    return in->op == OP_POP && in->ops[0].kind == OPK_SREG;
}

/*
 * Decodes a block from host (the bytes of gpa up to the end of its page)
 * and inserts it; NULL when not even the first instruction fits the page
 * or decodes (tcg_step then runs it, or raises its fault).
 */
/* -d in_asm: the block as QEMU prints a translation block (pc = CS base + rip). */
static void log_block(const struct tcg_block *b, const uint8_t *host, uint64_t pc)
{
    static const unsigned bits[] = { [MODE_REAL16] = 16, [MODE_PROT16] = 16,
                                     [MODE_PROT32] = 32, [MODE_LONG64] = 64 };
    g_autoptr(GString) out = g_string_new("----------------\nIN: \n");
    size_t off = 0;

    for (unsigned i = 0; i < b->n; i++) {
        if (!x86_disas_one(out, host + off, b->insn[i].len, pc + off, bits[b->mode])) {
            g_string_append_printf(out, "0x%08" G_GINT64_MODIFIER "x:  (%s, not known to "
                                   "capstone)\n", pc + off, insn_op_name(b->insn[i].op));
        }
        off += b->insn[i].len;
    }
    hyvm_log("%s\n", out->str);
}

/*
 * The host code of b (not in the cache yet), or NULL to run it in the loop.
 * When the code buffer is full, every block's code goes: the cache is
 * flushed, then the buffer reset.  That is safe here because build_block()
 * runs between blocks, so no translated code is running and no dropped
 * block is waiting to be left (tcg_blocks_leave freed it).
 */
/* b's code may go on to its successors by itself, unless -d exec, cpu or nochain asks to
 * see every block. */
static const struct tcg_jit_chain *chain_from(struct tcg_cpu *cpu, struct tcg_block *b)
{
    static __thread struct tcg_jit_chain chain;

    if (log_enabled(LOG_EXEC) || log_enabled(LOG_CPU) || log_enabled(LOG_NOCHAIN)) {
        return NULL;
    }
    if (!cpu->jit_tramp64 &&
        !tcg_jit_trampolines(cpu->jit, cpu->blocks, &cpu->jit_tramp64, &cpu->jit_tramp32)) {
        return NULL;    /* no room: this block does not chain, the next one resets */
    }
    chain = (struct tcg_jit_chain){ .block = b, .blocks = cpu->blocks,
                                    .tramp64 = cpu->jit_tramp64, .tramp32 = cpu->jit_tramp32,
                                    .sse2 = tcg_cpuid_has(cpu, 1, 3, 26) };
    return &chain;
}

/* -d out_asm: the host code of a block, as QEMU prints it. */
static void log_host_code(const uint8_t *w, size_t size, uintptr_t exec, uint64_t gpa)
{
    g_autoptr(GString) out = g_string_new(NULL);
    size_t off = 0;

    g_string_append_printf(out, "OUT: [size=%zu] gpa %08" G_GINT64_MODIFIER "x\n", size, gpa);
    while (off < size) {
        size_t n = x86_disas_one(out, w + off, size - off, exec + off, 64);

        if (!n) {
            g_string_append_printf(out, "0x%016" G_GINT64_MODIFIER "x:  .byte 0x%02x\n",
                                   (uint64_t)(exec + off), w[off]);
            n = 1;
        }
        off += n;
    }
    hyvm_log("%s\n", out->str);
}

static tcg_jit_fn translate_once(struct tcg_cpu *cpu, struct tcg_block *b)
{
    uint8_t *w = jit_buf_write_ptr(cpu->jit);
    tcg_jit_fn code = tcg_jit_translate(cpu->jit, b->insn, block_handlers(b), b->n,
                                        (enum cpu_mode)b->mode, cpu->jit_fallbacks,
                                        chain_from(cpu, b));

    if (code && log_enabled(LOG_OUT_ASM)) {
        log_host_code(w, (size_t)(jit_buf_write_ptr(cpu->jit) - w), (uintptr_t)code, b->gpa);
    }
    return code;
}

static tcg_jit_fn translate(struct tcg_cpu *cpu, struct tcg_block *b)
{
    tcg_jit_fn code = translate_once(cpu, b);

    if (!code) {
        tcg_blocks_flush(cpu->blocks);
        jit_buf_reset(cpu->jit);
        cpu->jit_tramp64 = cpu->jit_tramp32 = NULL;
        cpu->jit_resets++;
        code = translate_once(cpu, b);
    }
    if (code) {
        cpu->jit_translated++;
    }
    return code;
}

static struct tcg_block *build_block(struct tcg_cpu *cpu, uint64_t gpa, const uint8_t *host,
                                     enum cpu_mode mode, uint64_t pc)
{
    size_t avail = 4096 - (gpa & 0xfff), pos = 0;
    struct tcg_block *b;
    unsigned n = 0;

    /* Stores into the page, by any vCPU, tell this one from before its first byte is read. */
    tcg_code_mark(cpu, gpa & ~0xfffull);
    b = g_malloc(BLOCK_ALLOC(BC_MAX_INSNS));
    while (n < BC_MAX_INSNS && pos < avail) {
        size_t need = 0;
        enum decode_status ds = x86_decode(&b->insn[n], host + pos, avail - pos, mode, &need);

        /* Crossing the page, or faulting: left to tcg_step(). */
        if (ds != DECODE_OK || b->insn[n].len == 0) {
            break;
        }
        pos += b->insn[n].len;
        n++;
        if (ends_block(b->insn[n - 1].op) || makes_shadow(&b->insn[n - 1]) ||
            loads_segment(&b->insn[n - 1])) {
            break;
        }
    }
    if (n == 0) {
        g_free(b);
        return NULL;
    }
    if (n < BC_MAX_INSNS) {
        b = g_realloc(b, BLOCK_ALLOC(n));
    }
    b->gpa = gpa;
    b->n = n;
    for (unsigned i = 0; i < n; i++) {
        block_handlers(b)[i] = block_handler_of(&b->insn[i]);
    }
    b->bytes = pos;
    b->mode = mode;
    b->link_next = 0;
    memset(b->link, 0, sizeof(b->link));
    b->code = cpu->jit ? translate(cpu, b) : NULL;
    tcg_blocks_insert(cpu, b);
    if (log_enabled(LOG_IN_ASM)) {
        log_block(b, host, pc);
    }
    return b;
}

/* cpu->jit_flat: the data segments that are flat, writable and expand-up (mmu.c linear()). */
static uint8_t flat_segments(const struct tcg_cpu *cpu)
{
    static const uint8_t segs[] = { S_ES, S_SS, S_DS };
    uint8_t flat = 0;

    if (cpu->mode != MODE_PROT32) {
        return 0;
    }
    for (unsigned i = 0; i < sizeof(segs); i++) {
        const struct x86_segment *s = &cpu->st.seg[segs[i]];

        if (!s->unusable && s->present && (s->type & 0xe) == 2 && s->base == 0 &&
            s->limit == 0xffffffffu) {
            flat |= 1u << segs[i];
        }
    }
    return flat;
}

/*
 * Runs one block at rip; returns the status of its last instruction.  Translated code may go
 * on to other blocks by itself (chaining): *bp is then the block it left from.
 */
static enum tcg_status run_block(struct tcg_cpu *cpu, struct tcg_block **bp, const bool *hit)
{
    struct tcg_block *b = *bp;
    const struct insn *in = b->insn, *end = b->insn + b->n;
    tcg_exec_fn *fn = block_handlers(b);
    /* A block never changes the mode before its last instruction. */
    const uint64_t rip_mask = b->mode == MODE_LONG64 ? ~0ull : 0xffffffffull;
    uint64_t rip = cpu->st.rip;
    enum tcg_status st = TCG_OK;

    if (log_enabled(LOG_EXEC)) {
        const struct vcpu *v = cpu->vcpu;

        hyvm_log("Trace %u: [%04x:%016llx] gpa %08llx, %u insns\n", v ? v->index : 0,
                 cpu->st.seg[S_CS].selector, (unsigned long long)rip,
                 (unsigned long long)b->gpa, b->n);
    }
    tcg_blocks_enter(cpu->blocks, b);
    if (b->code) {
        /* The same loop, translated: it stops where the loop would. */
        uint64_t r;

        cpu->tlb_ctx = tcg_tlb_ctx(cpu);
        cpu->jit_flat = flat_segments(cpu);
        r = b->code(cpu, hit);

        cpu->jit_runs++;
        *bp = b = tcg_blocks_current(cpu->blocks);
        end = b->insn + b->n;
        st = jit_exit_status(r);
        in = b->insn + jit_exit_index(r);
        goto left;
    }
    for (; in < end; in++, fn++) {
        cpu->next_rip = (rip + in->len) & rip_mask;
        st = (*fn)(cpu, in);
        if (st != TCG_OK) {
            break;
        }
        cpu->st.rip = rip = cpu->next_rip;
        cpu->icount++;
        if (*hit) {
            break;      /* the block's page was written: decode it afresh */
        }
    }
left:
    if (st != TCG_OK) {
        retire(cpu, in, st);
    }
    /* A shadowing instruction ends its block: shadow if that one ran (in
     * stops on the last insn run when it did not return TCG_OK, or when
     * its page was written). */
    if (in == end || (in == end - 1 && st != TCG_EXCEPTION)) {
        cpu->irq_inhibit = (uint8_t)makes_shadow(end - 1);
    }
    tcg_blocks_leave(cpu->blocks);
    return st;
}

/*
 * One instruction with the debug checks around it (SDM vol. 3, 18.3):
 * instruction breakpoints before it, single step and data breakpoints
 * after it.  Used instead of blocks while tcg_debug_active().
 */
static enum tcg_status debug_step(struct tcg_cpu *cpu)
{
    uint64_t old_rflags = cpu->st.rflags;
    enum tcg_status st = tcg_debug_before(cpu), after;

    if (st != TCG_OK) {
        cpu->exc.soft = 0;
        return st;
    }
    cpu->irq_inhibit = 0;
    st = tcg_step(cpu);
    if (st == TCG_EXCEPTION) {
        return st;
    }
    /* MOV SS / POP SS hold debug traps (single step, data breakpoints)
     * until after the next instruction (SDM vol. 3, 6.8.3): TF is still
     * set then, and tcg_debug_after() reports them together. */
    if (cpu->irq_inhibit == TCG_SHADOW_SS) {
        return st;
    }
    /* SYSCALL and SYSRET single-step by TF as they leave it (SFMASK may
     * clear it, R11 may set it), not as they found it. */
    if (cpu->step_op == OP_SYSCALL || cpu->step_op == OP_SYSRET) {
        old_rflags = (old_rflags & ~RFLAGS_TF) | (cpu->st.rflags & RFLAGS_TF);
    }
    after = tcg_debug_after(cpu, old_rflags);
    if (after == TCG_EXCEPTION) {
        cpu->exc.soft = 0;
        return after;
    }
    return st;
}

/* prev's link to the block at lin, if it is still good (see struct tcg_block_link). */
static inline struct tcg_block *link_find(const struct tcg_block *prev, uint64_t lin,
                                          uint8_t cpl, enum cpu_mode mode, uint64_t gen)
{
    for (unsigned i = 0; i < TCG_BLOCK_LINKS; i++) {
        const struct tcg_block_link *l = &prev->link[i];

        if (l->lin == lin && l->gen == gen && l->to && l->cpl == cpl && l->to->mode == mode) {
            return l->to;
        }
    }
    return NULL;
}

static inline void link_add(struct tcg_block *prev, uint64_t lin, uint8_t cpl,
                            struct tcg_block *to, uint64_t gen)
{
    struct tcg_block_link *l = &prev->link[prev->link_next];

    prev->link_next = (prev->link_next + 1) % TCG_BLOCK_LINKS;
    *l = (struct tcg_block_link){ .lin = lin, .gen = gen, .to = to, .cpl = cpl };
}

enum tcg_status tcg_run(struct tcg_cpu *cpu, volatile bool *stop)
{
    const bool *hit = tcg_blocks_hit(cpu->blocks);
    /* The block run last, while the cache's generation is still prev_gen:
     * its links find the next block without the TLB and the cache. */
    struct tcg_block *prev = NULL;
    uint64_t prev_gen = 0;

    cpu->jit_stop = stop;
    while (!*stop) {
        const struct x86_segment *cs = &cpu->st.seg[S_CS];
        enum cpu_mode mode = cpu->mode;
        uint64_t rip = cpu->st.rip, lin, gpa;
        struct tcg_block *b = NULL;
        enum tcg_status st;
        uint8_t *host;

        if (__builtin_expect(cpu->irq_req | cpu->nmi_req, 0) && tcg_event_ready(cpu)) {
            return TCG_STOP;    /* the caller takes the interrupt or NMI */
        }
        if (__builtin_expect(tcg_icount_on, 0) &&
            cpu->icount >= __atomic_load_n(&cpu->icount_limit, __ATOMIC_RELAXED)) {
            return TCG_STOP;    /* -icount: a timer is due, or the turn is over */
        }
        if (__builtin_expect(tcg_debug_active(cpu), 0)) {
            st = debug_step(cpu);
            if (st != TCG_OK && st != TCG_JUMPED) {
                return st;
            }
            continue;
        }
        if (cpu->irq_inhibit) {
            /* The instruction in the shadow runs before any interrupt. */
            cpu->irq_inhibit = 0;
            goto step;
        }
        if (mode == MODE_LONG64) {
            lin = rip;
            if (!tcg_canonical(lin)) {
                goto step;
            }
        } else {
            if (rip > cs->limit) {
                goto step;
            }
            lin = (cs->base + rip) & 0xffffffffull;
        }
        if (__builtin_expect(cpu->code_pending, 0)) {
            tcg_code_drain(cpu);    /* other vCPUs wrote code pages */
        }
        if (prev && prev_gen == tcg_blocks_gen(cpu->blocks)) {
            b = link_find(prev, lin, cpu->cpl, mode, prev_gen);
        }
        if (!b) {
            st = tcg_translate_exec(cpu, lin, &gpa, &host);
            if (st != TCG_OK) {
                cpu->exc.soft = 0;
                return st;
            }
            if (!host) {
                goto step;      /* code in MMIO: fetched through io_mmio each time */
            }
            b = tcg_blocks_lookup(cpu->blocks, gpa, mode);
            if (!b) {
                b = build_block(cpu, gpa, host, mode, lin);
            }
            /* Building may have emptied the cache: prev_gen says so. */
            if (b && prev && prev_gen == tcg_blocks_gen(cpu->blocks)) {
                link_add(prev, lin, cpu->cpl, b, prev_gen);
            }
        }
        if (!b || (mode != MODE_LONG64 && rip + b->bytes - 1 > cs->limit)) {
            goto step;
        }
        if (b->code) {
            cpu->jit_jc[(lin ^ (lin >> 12)) & (TCG_JC_SIZE - 1)] = (struct tcg_jc_entry){
                .lin = lin, .gen = tcg_blocks_gen(cpu->blocks), .to = b, .cpl = cpu->cpl,
            };
        }
        /* A block dropped while it ran (its page written) is freed as it
         * is left: it may only be prev when the generation did not move. */
        prev_gen = tcg_blocks_gen(cpu->blocks);
        st = run_block(cpu, &b, hit);
        prev = prev_gen == tcg_blocks_gen(cpu->blocks) ? b : NULL;
        if (st == TCG_OK || st == TCG_JUMPED) {
            continue;
        }
        return st;
step:
        prev = NULL;
        st = tcg_step(cpu);
        if (st != TCG_OK && st != TCG_JUMPED) {
            return st;
        }
    }
    return TCG_STOP;
}
