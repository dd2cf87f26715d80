/*
 * Fallback-only translation (issue 11, step 2); the contract is in jit-translate.h.
 *
 * The code of a block, in the order it runs (rbx = cpu, r12 = the hit flag, both
 * callee-saved so they survive the handler calls; the System V psABI 3.2.1):
 *
 *     push rbx; push r12; push r13       ; three pushes: rsp is 16-byte aligned at the calls
 *     mov rbx, rdi; mov r12, rsi
 *   for each instruction i:
 *     mov rax, [rbx + st.rip]
 *     add rax, len   (add eax, len outside 64-bit mode: rip wraps at 4 GiB, bits 63:32 zero)
 *     mov [rbx + next_rip], rax
 *     mov rdi, rbx; mov rsi, &insn[i]; call handler[i]
 *     test eax, eax; jnz status_exit_i
 *     mov rax, [rbx + next_rip]; mov [rbx + st.rip], rax    ; the handler may move next_rip
 *     add qword [rbx + icount], 1
 *     movzx eax, byte [r12]; test eax, eax; jnz hit_exit_i  ; not after the last one
 *   mov rax, n << 32                        ; (TCG_OK, n)
 *   epilogue: pop r13; pop r12; pop rbx; ret
 *   status_exit_i: mov eax, eax; mov rdx, i << 32; or rax, rdx; jmp epilogue
 *   hit_exit_i:    mov rax, i << 32; jmp epilogue
 *
 * This is run_block's loop statement by statement: st.rip equals the loop's local rip at the
 * start of every instruction (both start at st.rip and both take next_rip after a TCG_OK), so
 * it is read back from memory instead of being kept in a register.  Skipping the hit test
 * after the last instruction changes nothing: the loop's exit is the same either way.
 */
#include <stddef.h>
#include <glib.h>

#include "accel/tcg/jit-buf.h"
#include "accel/tcg/jit-emit.h"
#include "accel/tcg/jit-translate.h"

#define OFF_RIP ((int32_t)offsetof(struct tcg_cpu, st.rip))
#define OFF_NEXT_RIP ((int32_t)offsetof(struct tcg_cpu, next_rip))
#define OFF_ICOUNT ((int32_t)offsetof(struct tcg_cpu, icount))

_Static_assert(sizeof(((struct tcg_cpu *)0)->st.rip) == 8, "st.rip is 64 bits");
_Static_assert(sizeof(((struct tcg_cpu *)0)->next_rip) == 8, "next_rip is 64 bits");
_Static_assert(sizeof(((struct tcg_cpu *)0)->icount) == 8, "icount is 64 bits");
_Static_assert(TCG_OK == 0, "the code tests a handler's status against 0");

/* The exit value for instruction index i with status 0 (TCG_OK) in the low half. */
static inline uint64_t exit_index(unsigned i)
{
    return (uint64_t)i << 32;
}

static void emit_epilogue(struct jit_emit *e)
{
    jit_emit_pop(e, JIT_R13);
    jit_emit_pop(e, JIT_R12);
    jit_emit_pop(e, JIT_RBX);
    jit_emit_ret(e);
}

tcg_jit_fn tcg_jit_translate(struct jit_buf *jb, const struct insn *insn, const tcg_exec_fn *fn,
                             unsigned n, bool long64)
{
    g_autofree uint8_t **status_field = g_new0(uint8_t *, n);
    g_autofree uint8_t **hit_field = g_new0(uint8_t *, n);
    struct jit_emit e;
    uint8_t *epilogue;

    jit_emit_init(&e, jit_buf_write_ptr(jb), jit_buf_write_end(jb), jit_buf_rx_offset(jb));
    jit_emit_push(&e, JIT_RBX);
    jit_emit_push(&e, JIT_R12);
    jit_emit_push(&e, JIT_R13);
    jit_emit_mov_rr(&e, JIT_RBX, JIT_RDI);
    jit_emit_mov_rr(&e, JIT_R12, JIT_RSI);

    for (unsigned i = 0; i < n; i++) {
        jit_emit_ld(&e, JIT_S64, false, JIT_RAX, JIT_RBX, OFF_RIP);
        jit_emit_alu_ri(&e, JIT_ADD, long64, JIT_RAX, insn[i].len);
        jit_emit_st(&e, JIT_S64, JIT_RAX, JIT_RBX, OFF_NEXT_RIP);
        jit_emit_mov_rr(&e, JIT_RDI, JIT_RBX);
        jit_emit_movi(&e, JIT_RSI, (uint64_t)(uintptr_t)&insn[i]);
        jit_emit_call(&e, (const void *)(uintptr_t)fn[i]);
        jit_emit_test_rr(&e, false, JIT_RAX, JIT_RAX);
        status_field[i] = jit_emit_jcc(&e, JIT_CC_NE, NULL);
        jit_emit_ld(&e, JIT_S64, false, JIT_RAX, JIT_RBX, OFF_NEXT_RIP);
        jit_emit_st(&e, JIT_S64, JIT_RAX, JIT_RBX, OFF_RIP);
        /* ADD r/m64, imm32: REX.W 81 /0 id. */
        jit_emit_op_mem(&e, false, true, false, 0x81, -1, 0, JIT_RBX, JIT_NO_INDEX, 0,
                        OFF_ICOUNT, true, 1);
        if (i + 1 < n) {
            jit_emit_ld(&e, JIT_S8, false, JIT_RAX, JIT_R12, 0);
            jit_emit_test_rr(&e, false, JIT_RAX, JIT_RAX);
            hit_field[i] = jit_emit_jcc(&e, JIT_CC_NE, NULL);
        }
    }
    jit_emit_movi(&e, JIT_RAX, exit_index(n));
    epilogue = jit_emit_label(&e);
    emit_epilogue(&e);

    for (unsigned i = 0; i < n; i++) {
        jit_patch_rel32(status_field[i], jit_emit_label(&e));
        jit_emit_mov32_rr(&e, JIT_RAX, JIT_RAX);        /* the enum is 32 bits: zero the rest */
        jit_emit_movi(&e, JIT_RDX, exit_index(i));
        jit_emit_alu_rr(&e, JIT_OR, true, JIT_RAX, JIT_RDX);
        jit_emit_jmp(&e, epilogue);
        if (hit_field[i]) {
            jit_patch_rel32(hit_field[i], jit_emit_label(&e));
            jit_emit_movi(&e, JIT_RAX, exit_index(i));
            jit_emit_jmp(&e, epilogue);
        }
    }
    if (e.overflow) {
        return NULL;
    }
    /* ISO C has no object-to-function pointer cast: through an integer. */
    return (tcg_jit_fn)(uintptr_t)jit_buf_commit(jb, e.p);
}
