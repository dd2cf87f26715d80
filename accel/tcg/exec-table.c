/*
 * The const table from operation to handler (DESIGN.md, "The software CPU",
 * 2).  Each family lists its handlers in exec-FAMILY.def as
 *   H(OP_NAME, handler_function)
 * and defines them in exec-FAMILY.c; this file only gathers them (the
 * families of part 2 are included once their .def exists).  An
 * operation with no entry is NULL here and raises #UD (cpu-exec.c).
 */
#include "accel/tcg/tcg-cpu.h"

#define H(op, fn) enum tcg_status fn(struct tcg_cpu *cpu, const struct insn *in);
#include "accel/tcg/exec-mov.def"
#include "accel/tcg/exec-stack.def"
#include "accel/tcg/exec-alu.def"
#include "accel/tcg/exec-shift.def"
#include "accel/tcg/exec-muldiv.def"
#include "accel/tcg/exec-bits.def"
#include "accel/tcg/exec-control.def"
#include "accel/tcg/exec-string.def"
#include "accel/tcg/exec-misc.def"
#include "accel/tcg/exec-system.def"
#if __has_include("accel/tcg/exec-syscall.def")
#include "accel/tcg/exec-syscall.def"
#endif
#if __has_include("accel/tcg/exec-x87.def")
#include "accel/tcg/exec-x87.def"
#endif
#if __has_include("accel/tcg/exec-fpstate.def")
#include "accel/tcg/exec-fpstate.def"
#endif
#if __has_include("accel/tcg/exec-sse.def")
#include "accel/tcg/exec-sse.def"
#endif
#undef H

const tcg_exec_fn tcg_exec_table[OP__MAX] = {
#define H(op, fn) [op] = fn,
#include "accel/tcg/exec-mov.def"
#include "accel/tcg/exec-stack.def"
#include "accel/tcg/exec-alu.def"
#include "accel/tcg/exec-shift.def"
#include "accel/tcg/exec-muldiv.def"
#include "accel/tcg/exec-bits.def"
#include "accel/tcg/exec-control.def"
#include "accel/tcg/exec-string.def"
#include "accel/tcg/exec-misc.def"
#include "accel/tcg/exec-system.def"
#if __has_include("accel/tcg/exec-syscall.def")
#include "accel/tcg/exec-syscall.def"
#endif
#if __has_include("accel/tcg/exec-x87.def")
#include "accel/tcg/exec-x87.def"
#endif
#if __has_include("accel/tcg/exec-fpstate.def")
#include "accel/tcg/exec-fpstate.def"
#endif
#if __has_include("accel/tcg/exec-sse.def")
#include "accel/tcg/exec-sse.def"
#endif
#undef H
};
