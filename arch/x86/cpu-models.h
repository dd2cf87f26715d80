/*
 * -cpu: CPU models (qemu64, max, host, base) and +feat/-feat/feat=on|off,
 * as CPUID leaves the accelerators filter by what they can run.
 */
#ifndef HYVM_CPU_MODELS_H
#define HYVM_CPU_MODELS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct x86_cpuid_entry {
    uint32_t function, index;
    bool has_index;          /* leaf is indexed by ECX */
    uint32_t eax, ebx, ecx, edx;
};

struct x86_cpu_def;          /* a parsed -cpu: model plus feature changes */

/* "qemu64", "max,+avx", "host,-sse4.2", "base,vmx=off"; errors as QEMU's. */
struct x86_cpu_def *x86_cpu_parse(const char *spec, GError **errp);
void x86_cpu_def_free(struct x86_cpu_def *d);
const char *x86_cpu_def_model(const struct x86_cpu_def *d);
/* "-cpu help" on stdout. */
void x86_cpu_print_help(void);

/*
 * Fills out[] (up to *n entries) with the CPUID the guest sees: the model's
 * leaves with the requested changes, each feature bit and'ed with what the
 * accelerator supports (supported[], nsupported; "host" and "max" take all
 * of it).  Warns once per feature the host lacks, as QEMU does.
 */
int x86_cpu_build_cpuid(const struct x86_cpu_def *d,
                        const struct x86_cpuid_entry *supported, unsigned nsupported,
                        struct x86_cpuid_entry *out, unsigned *n, GError **errp);

/* Appends a zeroed leaf fn/index to out[] (n used of max); NULL when full. */
struct x86_cpuid_entry *x86_cpuid_add(struct x86_cpuid_entry *out, unsigned *n, unsigned max,
                                      uint32_t fn, uint32_t index, bool has_index);

#endif
