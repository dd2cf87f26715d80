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

/* -smp as the CPUID topology leaves see it: sockets x dies x cores x threads. */
struct x86_cpu_topo {
    unsigned sockets, dies, cores, threads;
};

/*
 * The initial APIC ID of vCPU index under topo, as QEMU numbers them: each
 * level (thread, core, die, package) gets the fewest bits that hold its
 * count, so IDs may have holes (3 cores take 2 bits).  NULL topo: index.
 */
uint32_t x86_topo_apicid(const struct x86_cpu_topo *topo, unsigned index);

/* How x86_cpu_build_cpuid_opts() tailors the table to an accelerator and a vCPU. */
struct x86_cpuid_opts {
    const char *accel;        /* "TCG" or "host": "... doesn't support requested feature" */
    bool synth_max;           /* "max" is QEMU's TCG max (qemu64 identity, all features)
                               * rather than a copy of the accelerator's leaves */
    bool no_host;             /* "host" is an error ("requires KVM or HVF") */
    bool quiet;               /* no warnings (vCPUs after the first) */
    const char *hv_vendor;    /* 12 bytes for leaf 40000000h (max 40000001h), or NULL */
    uint64_t tsc_hz;          /* leaves 15h/16h of Intel-vendor models; 0: none */
    const struct x86_cpu_topo *topo;  /* NULL: one thread of one core */
    unsigned index;           /* the vCPU: its APIC ID goes into leaves 1, 0Bh, 1Fh */
};

/*
 * x86_cpu_build_cpuid() with opts: for the named models (qemu64, base) and
 * a synth_max "max", every leaf QEMU 7.2's TCG answers for them (vendor,
 * signature, features, cache leaves 2/4/80000005h/80000006h, topology
 * leaves 0Bh/1Fh and 80000008h.ECX, XSAVE leaf 0Dh, brand string, hypervisor
 * leaf), the feature bits and'ed with supported[].
 */
int x86_cpu_build_cpuid_opts(const struct x86_cpu_def *d,
                             const struct x86_cpuid_entry *supported, unsigned nsupported,
                             const struct x86_cpuid_opts *opts,
                             struct x86_cpuid_entry *out, unsigned *n, GError **errp);

/* XSAVE area size (SDM vol. 1, 13.4) for the state components in xcr0:
 * legacy region and header (576 bytes), plus AVX's 256 at offset 576. */
uint32_t x86_xsave_size(uint64_t xcr0);

/* Appends a zeroed leaf fn/index to out[] (n used of max); NULL when full. */
struct x86_cpuid_entry *x86_cpuid_add(struct x86_cpuid_entry *out, unsigned *n, unsigned max,
                                      uint32_t fn, uint32_t index, bool has_index);

#endif
