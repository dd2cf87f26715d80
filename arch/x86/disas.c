/*
 * capstone wrapper for the monitor and the logs (see disas.h).  The layout
 * is QEMU's: "0x%08x: " then " %02x" per byte for up to eight bytes,
 * padding so mnemonics line up, "  %-8s %s"; longer instructions continue
 * with their remaining bytes on lines of their own.
 */
#include <capstone/capstone.h>

#include "arch/x86/disas.h"

#define BYTES_PER_LINE 8

size_t x86_disas_one(GString *out, const uint8_t *buf, size_t len, uint64_t addr,
                     unsigned mode_bits)
{
    cs_mode mode = mode_bits == 64 ? CS_MODE_64 : mode_bits == 32 ? CS_MODE_32 : CS_MODE_16;
    cs_insn *insn = NULL;
    csh handle;
    size_t n, size;

    if (cs_open(CS_ARCH_X86, mode, &handle) != CS_ERR_OK) {
        return 0;
    }
    cs_option(handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    n = cs_disasm(handle, buf, len, addr, 1, &insn);
    if (n < 1) {
        cs_close(&handle);
        return 0;
    }
    size = insn->size;
    g_string_append_printf(out, "0x%08" G_GINT64_MODIFIER "x: ", addr);
    for (size_t i = 0; i < size && i < BYTES_PER_LINE; i++) {
        g_string_append_printf(out, " %02x", insn->bytes[i]);
    }
    if (size < BYTES_PER_LINE) {
        g_string_append_printf(out, "%*s", (int)(BYTES_PER_LINE - size) * 3, "");
    }
    g_string_append_printf(out, "  %-8s %s\n", insn->mnemonic, insn->op_str);
    for (size_t i = BYTES_PER_LINE; i < size; i += BYTES_PER_LINE) {
        g_string_append_printf(out, "0x%08" G_GINT64_MODIFIER "x: ", addr + i);
        for (size_t j = i; j < size && j < i + BYTES_PER_LINE; j++) {
            g_string_append_printf(out, " %02x", insn->bytes[j]);
        }
        g_string_append_c(out, '\n');
    }
    cs_free(insn, n);
    cs_close(&handle);
    return size;
}
