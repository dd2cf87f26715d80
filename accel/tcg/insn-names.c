/* Lower-case names of the operations of insn-ops.h, for logs and tests. */
#include "accel/tcg/insn.h"

static const char *const insn_op_names[OP__MAX] = {
#define INSN_OP_NAME(name, family) [OP_##name] = #name,
    INSN_OPS(INSN_OP_NAME)
#undef INSN_OP_NAME
};

const char *insn_op_name(unsigned op)
{
    static char lower[OP__MAX][16];
    static int ready;

    if (op >= OP__MAX)
        return "?";
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (unsigned i = 0; i < OP__MAX; i++) {
            const char *s = insn_op_names[i];
            unsigned j;

            for (j = 0; s[j] && j < sizeof(lower[i]) - 1; j++)
                lower[i][j] = (char)(s[j] >= 'A' && s[j] <= 'Z' ? s[j] + 32 : s[j]);
            lower[i][j] = 0;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    return lower[op];
}
