/*
 * fw_cfg as QEMU 7.2's pc fills it (hw/i386/fw_cfg.c, hw/nvram/fw_cfg.c,
 * hw/i386/pc.c): what SeaBIOS reads (src/fw/paravirt.c, src/boot.c) and
 * what kvm-unit-tests reads for a -kernel boot.  Two steps, as in QEMU:
 * pc_fw_cfg_create() while the board is built (the generic items, the RAM
 * map, the -boot items), pc_fw_cfg_machine_done() once every device exists
 * (the ACPI tables through the table loader, SMBIOS, the boot order).
 *
 * Compare with QEMU: scripts/qemu-fw-cfg-dump.py -- qemu-system-x86_64 -M pc.
 *
 * Threads: main thread, while the machine is built.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/cpu-models.h"
#include "hw/fw-cfg.h"
#include "hw/rtc.h"
#include "machine/acpi-build.h"
#include "machine/acpi-loader.h"
#include "machine/boot-order.h"
#include "machine/e820.h"
#include "machine/machine-internal.h"
#include "machine/smbios.h"
#include "system/config.h"
#include "system/error.h"
#include "system/le.h"
#include "system/memory.h"

#define FOUR_GIB (1ull << 32)

static void pc_fw_cfg_reset(void *opaque)
{
    fw_cfg_reset(opaque);
}

/* What fw_cfg needs from the -cpu model's CPUID. */
struct pc_cpuid {
    uint32_t signature, features;   /* leaf 1 EAX and EDX, SMBIOS type 4's */
    bool amd;                       /* vendor AuthenticAMD */
    unsigned phys_bits;             /* leaf 80000008h EAX[7:0] */
};

static void pc_cpuid_info(const struct machine *m, struct pc_cpuid *info)
{
    /* The model's own bits, whatever the accelerator keeps of them: the
     * signature and vendor do not depend on it, and QEMU's phys-bits
     * default (40 with long mode) does not either. */
    static const struct x86_cpuid_entry all[] = {
        { .function = 1, .eax = ~0u, .ebx = ~0u, .ecx = ~0u, .edx = ~0u },
        { .function = 0x80000001, .eax = ~0u, .ebx = ~0u, .ecx = ~0u, .edx = ~0u },
    };
    const struct x86_cpuid_opts opts = { .accel = "TCG", .synth_max = true, .quiet = true };
    struct x86_cpuid_entry out[64];
    unsigned n = G_N_ELEMENTS(out);

    memset(info, 0, sizeof(*info));
    if (!m->cpu_def || x86_cpu_build_cpuid_opts(m->cpu_def, all, G_N_ELEMENTS(all), &opts, out, &n,
                                                  NULL) < 0) {
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        switch (out[i].function) {
        case 0:
            /* "AuthenticAMD" in EBX, EDX, ECX. */
            info->amd = out[i].ebx == 0x68747541 && out[i].edx == 0x69746e65 &&
                        out[i].ecx == 0x444d4163;
            break;
        case 1:
            info->signature = out[i].eax;
            info->features = out[i].edx;
            break;
        case 0x80000008:
            info->phys_bits = out[i].eax & 0xff;
            break;
        }
    }
}

/* AMD's HyperTransport range below 1 TiB, which QEMU 7.2 marks reserved
 * for AMD models whose physical addresses reach it (pc_memory_init). */
#define AMD_HT_START 0xfd00000000ull
#define AMD_HT_SIZE 0x300000000ull

/*
 * "etc/e820": the RAM ranges as QEMU lists them for SeaBIOS (which adds
 * its own reserved areas): 20-byte entries of address, length and type,
 * after the HyperTransport hole on AMD models.
 */
static int pc_fw_cfg_e820(struct machine *m, struct fw_cfg *fw, GError **errp)
{
    uint8_t table[(RAM_MAX_REGIONS + 1) * 20] = { 0 };
    struct pc_cpuid cpu;
    unsigned n = 0;

    pc_cpuid_info(m, &cpu);
    if (cpu.amd && cpu.phys_bits >= 40) {
        st64(table, AMD_HT_START);
        st64(table + 8, AMD_HT_SIZE);
        st32(table + 16, E820_RESERVED);
        n++;
    }

    for (unsigned i = 0; i < ram_region_count() && i < RAM_MAX_REGIONS; i++) {
        const struct ram_region *r = ram_region_get(i);
        uint8_t *e = table + 20 * n++;

        st64(e, r->gpa);
        st64(e + 8, r->size);
        st32(e + 16, E820_RAM);
    }
    return fw_cfg_add_file(fw, "etc/e820", table, 20 * n, errp);
}

/*
 * The -boot items (QEMU's fw_cfg_reboot and fw_cfg_bootsplash): the menu
 * switch, "etc/boot-fail-wait" always (ms before SeaBIOS reboots after
 * every boot device failed; -1 never), "etc/boot-menu-wait" only when
 * splash-time= was given.
 */
static int pc_fw_cfg_boot(struct fw_cfg *fw, const struct hyvm_config *cfg, GError **errp)
{
    int32_t wait = cfg->boot_has_reboot_timeout ? cfg->boot_reboot_timeout : -1;
    uint8_t le[4];
    int ret;

    fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, cfg->boot_menu);
    st32(le, (uint32_t)wait);
    ret = fw_cfg_add_file(fw, "etc/boot-fail-wait", le, 4, errp);
    if (ret == 0 && cfg->boot_has_splash_time) {
        st16(le, cfg->boot_splash_time);
        ret = fw_cfg_add_file(fw, "etc/boot-menu-wait", le, 2, errp);
    }
    return ret;
}

/* -boot once=: the first reset puts order= back, once (QEMU's
 * restore_boot_order). */
static void pc_boot_once_reset(void *opaque)
{
    static bool restored;
    const struct hyvm_config *cfg = opaque;

    if (!restored && rtc_default()) {
        restored = true;
        rtc_cmos_set_boot_order(rtc_default(), cfg->boot_order, NULL);
    }
}

/* -boot once= in the CMOS boot bytes, after pc_cmos_init wrote order=. */
static int pc_boot_once(struct machine *m, GError **errp)
{
    if (!m->cfg->boot_once || !rtc_default()) {
        return 0;
    }
    if (rtc_cmos_set_boot_order(rtc_default(), m->cfg->boot_once, errp) < 0) {
        return -EINVAL;
    }
    machine_add_reset(m, pc_boot_once_reset, (void *)m->cfg);
    return 0;
}

int pc_fw_cfg_create(struct machine *m, GError **errp)
{
    const struct hyvm_config *cfg = m->cfg;
    const struct x86_cpu_topo topo = {
        .sockets = cfg->smp_sockets, .dies = cfg->smp_dies,
        .cores = cfg->smp_cores, .threads = cfg->smp_threads,
    };
    unsigned maxcpus = MAX(MAX(cfg->smp_maxcpus, m->ncpus), 1u);
    unsigned apic_id_limit = x86_topo_apicid(&topo, maxcpus - 1) + 1;
    g_autofree uint64_t *numa = NULL;
    struct fw_cfg *fw = fw_cfg_create_io(FW_CFG_IO_BASE, errp);
    int ret;

    if (!fw) {
        return -EBUSY;
    }
    machine_add_reset(m, pc_fw_cfg_reset, fw);
    m->fw_cfg = fw;
    fw_cfg_add_bytes(fw, FW_CFG_UUID, cfg->uuid, sizeof(cfg->uuid));    /* zeros: no -uuid */
    fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, cfg->nographic);
    ret = pc_fw_cfg_boot(fw, cfg, errp);
    if (ret == 0) {
        ret = pc_boot_once(m, errp);
    }
    if (ret < 0) {
        return ret;
    }
    fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, m->ncpus);
    /* QEMU's apic_id_limit: the last possible vCPU's APIC ID + 1. */
    fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, apic_id_limit);
    fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, m->ram_size);
    fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
    /* FW_CFG_NUMA with no nodes: the node count 0, then a node per APIC
     * ID, all 0 (hw/i386/fw_cfg.c); SeaBIOS reads it for its own SRAT. */
    numa = g_new0(uint64_t, 1 + apic_id_limit);
    fw_cfg_add_bytes(fw, FW_CFG_NUMA, numa, (1 + apic_id_limit) * sizeof(uint64_t));
    return pc_fw_cfg_e820(m, fw, errp);
}

/* "etc/smbios/smbios-tables" and "-anchor" (machine/smbios.h), with
 * QEMU's memory ranges: RAM below 4 GiB from 0, RAM above from 4 GiB. */
static int pc_fw_cfg_smbios(struct machine *m, GError **errp)
{
    struct smbios_config c;
    struct smbios_fields fields = { 0 };
    struct pc_cpuid cpu;
    g_autoptr(GByteArray) tables = NULL;
    g_autoptr(GByteArray) anchor = NULL;
    uint64_t below = 0, above = 0;
    int ret;

    smbios_config_pc(&c);
    c.version = m->type->alias ? m->type->alias : m->type->name;
    memcpy(c.uuid, m->cfg->uuid, sizeof(c.uuid));
    for (unsigned i = 0; m->cfg->smbios && i < m->cfg->smbios->len; i++) {
        /* Checked when parsed: this cannot fail. */
        smbios_fields_parse(&fields, g_ptr_array_index(m->cfg->smbios, i), NULL);
    }
    c.fields = &fields;
    c.ram_size = m->ram_size;
    c.ncpus = m->ncpus;
    c.cores = m->cfg->smp_cores;
    c.threads = m->cfg->smp_threads;
    pc_cpuid_info(m, &cpu);
    c.cpuid_version = cpu.signature;
    c.cpuid_features = cpu.features;
    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);

        if (r->gpa < FOUR_GIB) {
            below += r->size;
        } else {
            above += r->size;
        }
    }
    c.mem[c.nmem].start = 0;
    c.mem[c.nmem++].size = below;
    if (above) {
        c.mem[c.nmem].start = FOUR_GIB;
        c.mem[c.nmem++].size = above;
    }
    smbios_build(&c, &tables, &anchor);
    smbios_fields_clear(&fields);
    ret = fw_cfg_add_file(m->fw_cfg, "etc/smbios/smbios-tables", tables->data, tables->len,
                          errp);
    if (ret == 0) {
        ret = fw_cfg_add_file(m->fw_cfg, "etc/smbios/smbios-anchor", anchor->data,
                              anchor->len, errp);
    }
    return ret;
}

/*
 * "etc/system-states": the sleep states the PIIX4 PM offers and their
 * SLP_TYP values, one byte each for S0-S5, bit 7 "enabled" (QEMU's
 * acpi_pm1_cnt_init with S3 and S4 on, S4 as 2).
 */
static int pc_fw_cfg_system_states(struct fw_cfg *fw, GError **errp)
{
    static const uint8_t states[6] = { 0x80, 0, 0, 0x81, 0x82, 0x80 };

    return fw_cfg_add_file(fw, "etc/system-states", states, sizeof(states), errp);
}

int pc_fw_cfg_machine_done(struct machine *m, const struct acpi_build_config *acpi,
                           GError **errp)
{
    struct fw_cfg *fw = m->fw_cfg;
    g_autofree char *order = NULL;
    size_t len = 0;
    int ret = 0;

    if (acpi) {
        ret = pc_fw_cfg_system_states(fw, errp);
        if (ret == 0) {
            ret = acpi_loader_add_files(fw, acpi, errp);
        }
    }
    if (ret == 0) {
        ret = pc_fw_cfg_smbios(m, errp);
    }
    /* QEMU adds both even when empty: no bootindex, no legacy geometry. */
    order = boot_order_file(m->cfg->boot_strict, &len);
    if (ret == 0) {
        ret = fw_cfg_add_file(fw, "bootorder", order, len, errp);
    }
    if (ret == 0) {
        ret = fw_cfg_add_file(fw, "bios-geometry", NULL, 0, errp);
    }
    return ret;
}
