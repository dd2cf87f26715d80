/*
 * x86 disassembly through capstone, in the layout QEMU prints for the
 * monitor's "x /i" and for "-d in_asm": AT&T syntax, the first eight bytes
 * beside the mnemonic, any further bytes on the lines below.
 *
 * Threads: any; each call opens its own capstone handle state.
 */
#ifndef HYVM_X86_DISAS_H
#define HYVM_X86_DISAS_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/*
 * Disassembles the instruction at the start of buf[0..len) as code of
 * mode_bits (16, 32, 64) at guest address addr, appending its lines to out.
 * Returns its length, or 0 if capstone cannot decode it (nothing appended).
 */
size_t x86_disas_one(GString *out, const uint8_t *buf, size_t len, uint64_t addr,
                     unsigned mode_bits);

#endif
