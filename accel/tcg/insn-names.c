/* Lower-case names of the operations of insn-ops.h, for logs and tests. */
#include <glib.h>

#include "accel/tcg/insn.h"

static const char *const insn_op_names[OP__MAX] = {
#define INSN_OP_NAME(name, family) [OP_##name] = #name,
    INSN_OPS(INSN_OP_NAME)
#undef INSN_OP_NAME
};

/* Built once, on first use, by whichever thread logs first. */
const char *insn_op_name(unsigned op)
{
    static char lower[OP__MAX][16];
    static gsize ready;

    if (op >= OP__MAX) {
        return "?";
    }
    if (g_once_init_enter(&ready)) {
        for (unsigned i = 0; i < OP__MAX; i++) {
            const char *s = insn_op_names[i];
            unsigned j;

            for (j = 0; s[j] && j < sizeof(lower[i]) - 1; j++) {
                lower[i][j] = g_ascii_tolower(s[j]);
            }
            lower[i][j] = 0;
        }
        g_once_init_leave(&ready, 1);
    }
    return lower[op];
}
