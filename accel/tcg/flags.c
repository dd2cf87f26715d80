/*
 * RFLAGS results of the arithmetic families (SDM vol. 1, 3.4.3.1 "Status
 * Flags"; vol. 2, the "Flags Affected" section of each instruction) and the
 * condition codes of Jcc/SETcc/CMOVcc (SDM vol. 1, appendix B): the helpers
 * themselves are inline in tcg-cpu.h; this file keeps the host-vendor probe.
 *
 * Flags are computed eagerly from the operands and the truncated result.
 * Where the SDM leaves a flag undefined the handlers (exec-alu.c,
 * exec-shift.c, exec-muldiv.c, exec-bits.c) set it as AMD Zen does, each
 * rule measured against the host by tests/unit/test-tcg-alu.c.  Intel parts
 * set several of them differently; tcg_host_is_intel() is where such rules
 * would be chosen, once measured on an Intel host (none are yet).
 *
 * Threads: everything here is a pure function of its arguments, except the
 * vendor probe, which is computed once and cached (any thread).
 */
#include <cpuid.h>
#include <string.h>

#include "accel/tcg/tcg-cpu.h"

/* 0: not probed yet, 1: Intel, 2: AMD, 3: another vendor. */
static int host_vendor(void)
{
    /* Racing first calls compute the same answer, so a relaxed store is enough. */
    static int vendor;
    int v = __atomic_load_n(&vendor, __ATOMIC_RELAXED);

    if (!v) {
        unsigned a, b, c, d;
        char id[12];

        v = 3;
        if (__get_cpuid(0, &a, &b, &c, &d)) {
            memcpy(id, &b, 4);
            memcpy(id + 4, &d, 4);
            memcpy(id + 8, &c, 4);
            if (!memcmp(id, "GenuineIntel", 12))
                v = 1;
            else if (!memcmp(id, "AuthenticAMD", 12))
                v = 2;
        }
        __atomic_store_n(&vendor, v, __ATOMIC_RELAXED);
    }
    return v;
}

bool tcg_host_is_intel(void)
{
    return host_vendor() == 1;
}

bool tcg_host_is_amd(void)
{
    return host_vendor() == 2;
}
