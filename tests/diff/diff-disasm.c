/*
 * Disassembly of a case's bytes for mismatch reports, by capstone (the
 * independent oracle DESIGN.md names).  Kept apart from the files that
 * include arch/x86/cpu.h, whose enum x86_reg capstone's header also
 * defines.
 *
 * Threads: the handles are opened on first use by the test's one thread.
 */
#include <stdio.h>
#include <capstone/capstone.h>

#include "tests/diff/diff.h"

void diff_disasm(const struct diff_case *c, char *buf, size_t n)
{
    static csh handles[3];
    static bool opened[3];
    static const cs_mode modes[3] = { CS_MODE_64, CS_MODE_32, CS_MODE_16 };
    unsigned m = c->mode == DIFF_MODE32 ? 1 : c->mode == DIFF_MODE16 ? 2 : 0;
    csh *h = &handles[m];
    bool *open = &opened[m];
    cs_insn *insn = NULL;
    size_t k;

    if (!*open) {
        if (cs_open(CS_ARCH_X86, modes[m], h) != CS_ERR_OK) {
            snprintf(buf, n, "capstone unavailable");
            return;
        }
        *open = true;
    }
    k = cs_disasm(*h, c->bytes, c->len,
                  c->mode == DIFF_MODE16 ? DIFF_INSN_OFF : DIFF_INSN_ADDR, 1, &insn);
    if (k && insn[0].size == c->len)
        snprintf(buf, n, "%s%s%s", insn[0].mnemonic, insn[0].op_str[0] ? " " : "",
                 insn[0].op_str);
    else if (k)
        snprintf(buf, n, "capstone: %s %s, %u bytes", insn[0].mnemonic, insn[0].op_str,
                 insn[0].size);
    else
        snprintf(buf, n, "capstone: invalid");
    if (k)
        cs_free(insn, k);
}
