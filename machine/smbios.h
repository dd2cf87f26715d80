/*
 * SMBIOS tables as QEMU 7.2's pc hands them to SeaBIOS through fw_cfg:
 * "etc/smbios/smbios-anchor" (a 2.1 entry point, SMBIOS 2.8, that the
 * firmware completes with the tables' address and both checksums) and
 * "etc/smbios/smbios-tables" (the structures).  DMTF DSP0134 3.x, section
 * 5.2.1 (the 32-bit entry point) and chapter 7 (the structure types).
 *
 * QEMU's default set: types 1 (system), 3 (chassis), 4 (one per socket),
 * 16 (the memory array), 17 (one 16 GiB DIMM per 16 GiB of RAM), 19 (one
 * per RAM range), 32 (boot status) and 127 (end).  Type 0 (BIOS) is left
 * to the firmware, as QEMU leaves it; type 2 is not made.
 *
 * Threads: main thread, while the machine is built.
 */
#ifndef HYVM_SMBIOS_H
#define HYVM_SMBIOS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define SMBIOS_MAX_MEM_AREAS 4

/*
 * -smbios type=N,field=value: QEMU 7.2's string fields of types 0-3 (type
 * 0 and 2 are built only when given), type 0's release and uefi, type 1's
 * uuid.  A field given replaces the machine's default.
 */
enum smbios_field {
    SMBIOS_T0_VENDOR, SMBIOS_T0_VERSION, SMBIOS_T0_DATE,
    SMBIOS_T1_MANUFACTURER, SMBIOS_T1_PRODUCT, SMBIOS_T1_VERSION, SMBIOS_T1_SERIAL,
    SMBIOS_T1_SKU, SMBIOS_T1_FAMILY,
    SMBIOS_T2_MANUFACTURER, SMBIOS_T2_PRODUCT, SMBIOS_T2_VERSION, SMBIOS_T2_SERIAL,
    SMBIOS_T2_ASSET, SMBIOS_T2_LOCATION,
    SMBIOS_T3_MANUFACTURER, SMBIOS_T3_VERSION, SMBIOS_T3_SERIAL, SMBIOS_T3_ASSET,
    SMBIOS_T3_SKU,
    SMBIOS_NFIELDS
};

struct smbios_fields {
    char *str[SMBIOS_NFIELDS];      /* NULL: the default */
    bool type0, type2;              /* fields given for these optional types */
    bool uefi;                      /* type 0 characteristics: UEFI */
    bool have_release;
    uint8_t major, minor;           /* type 0 release=MAJOR.MINOR */
    bool have_uuid;
    uint8_t uuid[16];               /* type 1 uuid=, as -uuid */
};

/*
 * Adds one -smbios argument to f (f may be NULL to only check it), with
 * QEMU's messages ("Must specify type= or file=", "Invalid parameter
 * 'x'", ...).  Types 4, 11, 17 and file= are refused as not supported yet
 * (HYVM_ERROR_UNSUPPORTED).
 */
int smbios_fields_parse(struct smbios_fields *f, const char *arg, GError **errp);
void smbios_fields_clear(struct smbios_fields *f);

struct smbios_config {
    const char *manufacturer;       /* "QEMU" */
    const char *product;            /* the machine's description */
    const char *version;            /* the machine type, "pc-i440fx-7.2" */
    uint8_t uuid[16];               /* -uuid, RFC 4122 order; all zero: none */
    uint64_t ram_size;
    unsigned ncpus, cores, threads; /* -smp: vCPUs and cores/threads per socket */
    uint32_t cpuid_version;         /* CPUID.1:EAX, type 4's processor ID */
    uint32_t cpuid_features;        /* CPUID.1:EDX */
    unsigned nmem;
    struct {
        uint64_t start, size;
    } mem[SMBIOS_MAX_MEM_AREAS];    /* the RAM ranges, for type 19 */
    const struct smbios_fields *fields;     /* -smbios, or NULL */
};

/* QEMU's defaults for -M pc: the strings above, no UUID. */
void smbios_config_pc(struct smbios_config *c);

/*
 * Builds the structures and the entry point; the caller frees both.  The
 * entry point's address and checksums are left 0 for the firmware, as
 * QEMU's are.
 */
void smbios_build(const struct smbios_config *c, GByteArray **tables, GByteArray **anchor);

#endif
