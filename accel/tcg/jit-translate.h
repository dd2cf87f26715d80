/*
 * The translator of the software CPU (issue 11).  A decoded block (struct tcg_block,
 * tcg-internal.h) gets host code in the vCPU's code buffer (jit-buf.h) that does what
 * run_block's loop in cpu-exec.c does: the instructions jit-inline.c knows run as host
 * instructions, the others through a call of their handler with st.rip and next_rip set; it
 * leaves on a handler status other than TCG_OK, on a taken conditional branch (TCG_JUMPED,
 * st.rip at the target) and when the block's page was written, with st.rip, st.rflags and
 * icount as the loop leaves them.  The C side (run_block) calls the code and handles the exit
 * as the loop does.
 *
 * Turned on by "-accel tcg,jit=on"; off by default for now.
 *
 * Threads: a vCPU translates into and runs from its own buffer, on its thread.
 */
#ifndef HYVM_JIT_TRANSLATE_H
#define HYVM_JIT_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/tcg/tcg-cpu.h"

struct jit_buf;

/*
 * Translated code of a block: cpu, and hit the block cache's "the running block was written"
 * flag (tcg_blocks_hit).  Returns jit_exit_pack(status, i): the status of the instruction the
 * block stopped at and its index (TCG_JUMPED from a handler, or from a taken inline Jcc that
 * could not chain: not counted in icount yet), or (TCG_OK, n) when all n instructions ran, or
 * (TCG_OK, i) when the block left after instruction i (its page written, or a jump to where
 * no chain led).  With chaining, the block it left from is the block cache's current one.
 */
typedef uint64_t (*tcg_jit_fn)(struct tcg_cpu *cpu, const bool *hit);

static inline enum tcg_status jit_exit_status(uint64_t r)
{
    return (enum tcg_status)(uint32_t)r;
}

static inline unsigned jit_exit_index(uint64_t r)
{
    return (unsigned)(r >> 32);
}

struct tcg_block;
struct tcg_block_cache;

/*
 * Chaining (tcg-internal.h): the block being translated, and its vCPU's block cache.  Where
 * the block leaves after an instruction of its own (a taken branch, CALL, RET, the end of the
 * block), and nothing is asking the vCPU to stop (interrupt or NMI requested, tcg_run's stop
 * flag, the block's page written), the code follows the block's links (struct
 * tcg_block_link, made by the loop) to the next block's code and jumps into it.
 */
struct tcg_jit_chain {
    struct tcg_block *block;
    struct tcg_block_cache *blocks;
    const void *tramp64, *tramp32;  /* tcg_jit_trampolines() of the same buffer */
    bool sse2;                      /* the guest's CPUID offers SSE2 (jit-sse.c) */
};

/*
 * Writes into jb the two chain trampolines (64-bit and 32-bit blocks) that every chaining exit
 * of the code translated after them jumps to; false when jb has no room.  They live until jb
 * is reset, as the code does.
 */
bool tcg_jit_trampolines(struct jit_buf *jb, struct tcg_block_cache *bc,
                         const void **tramp64, const void **tramp32);

/*
 * Translates the n instructions of insn[] with their handlers fn[] (the block's, looked up
 * once when it was decoded) into jb, for a block decoded in mode (outside 64-bit mode rip
 * wraps at 4 GiB).  insn[] must outlive the code, which refers to it.  fallbacks: NULL, or
 * OP__MAX counters the code adds one to whenever it calls a handler instead of running the
 * instruction itself (HYVM_TCG_STATS).  Returns the code's entry (exec view), or NULL when the
 * buffer has no room left: the caller resets the buffer, drops every block's code and may try
 * again.  chain: NULL, or the block and cache for chaining.
 */
tcg_jit_fn tcg_jit_translate(struct jit_buf *jb, const struct insn *insn, const tcg_exec_fn *fn,
                             unsigned n, enum cpu_mode mode, uint64_t *fallbacks,
                             const struct tcg_jit_chain *chain);

/* The size of a vCPU's code buffer. */
#define TCG_JIT_BUF_SIZE ((size_t)64 << 20)

#endif
