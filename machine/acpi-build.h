/*
 * The ACPI tables hyvm writes into guest RAM for a -kernel boot without
 * firmware (ACPI 6.5, chapter 5.2), for -M pc and -M microvm.
 *
 * The tables go to X86_ACPI_TABLES_START (machine/e820.h), RSDP first on
 * a 16-byte boundary, where Linux's scan of 0xE0000-0xFFFFF finds it; the
 * RSDP's address is also returned for boot_params.acpi_rsdp_addr.
 *
 * Their content follows what QEMU 7.2 gives the guest (dumped from a guest
 * under QEMU, SeaBIOS for pc, qboot for microvm), including the OEM IDs
 * "BOCHS " / "BXPC    " so guests that key on them behave the same:
 *   pc: RSDP, XSDT, RSDT, FADT, FACS, DSDT, MADT, HPET (when present).
 *       The FADT is revision 3 (QEMU's pc gives revision 1) so that it can
 *       name the PIIX3 reset register 0xcf9; its PM blocks are hw/acpi-pm.c's.
 *       PCI interrupts go through the link devices LNKA-LNKD, whose _CRS
 *       and _SRS read and write the PIIX3 PIRQ route registers as QEMU's
 *       DSDT does, so the guest sees what pci_firmware_setup() programmed.
 *   microvm: RSDP, XSDT, RSDT, FADT (hardware-reduced, revision 5), DSDT,
 *       MADT: the sleep and reset registers and the power button are the
 *       generic event device's (hw/acpi-ged.h).
 *
 * Threads: main thread, while the machine is built (before vCPUs run).
 */
#ifndef HYVM_ACPI_BUILD_H
#define HYVM_ACPI_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

enum acpi_machine_kind {
    ACPI_MACHINE_PC,
    ACPI_MACHINE_MICROVM,
};

#define ACPI_MAX_CPUS 288
#define ACPI_MAX_IOAPICS 2
#define ACPI_MAX_ISOS 16
#define ACPI_MAX_VIRTIO_MMIO 32

struct acpi_ioapic {
    uint8_t id;
    uint32_t addr;
    uint32_t gsi_base;
};

/* MADT interrupt source override flags (ACPI 6.5, table 5.26). */
#define ACPI_ISO_POLARITY_HIGH 0x1
#define ACPI_ISO_POLARITY_LOW  0x3
#define ACPI_ISO_TRIGGER_EDGE  (0x1 << 2)
#define ACPI_ISO_TRIGGER_LEVEL (0x3 << 2)

struct acpi_iso {
    uint8_t source;     /* ISA IRQ */
    uint32_t gsi;
    uint16_t flags;     /* ACPI_ISO_*; 0: the bus's defaults */
};

/* microvm's transport window: a transport's DSDT name VRnn and _UID
 * are its number in it, (base - ACPI_VIRTIO_MMIO_BASE) / size, as QEMU's. */
#define ACPI_VIRTIO_MMIO_BASE 0xfeb00000ull

struct acpi_virtio_mmio {
    uint64_t base;
    uint32_t size;
    uint32_t gsi;
};

struct acpi_build_config {
    enum acpi_machine_kind kind;
    unsigned ncpus;                         /* 1..ACPI_MAX_CPUS */
    uint32_t apic_id[ACPI_MAX_CPUS];        /* vCPU i's APIC ID */
    unsigned nioapics;
    struct acpi_ioapic ioapic[ACPI_MAX_IOAPICS];
    unsigned nisos;
    struct acpi_iso iso[ACPI_MAX_ISOS];
    bool hpet;                  /* HPET table and device at 0xfed00000 */
    bool pci;                   /* pc: \_SB.PCI0 with its ISA bridge and links */
    uint32_t pci_mem32_start;   /* pc: the 32-bit PCI window, up to 0xfebfffff */
    uint8_t serial_mask;        /* bit n: COMn+1 at its standard port and IRQ */
    bool rtc;                   /* MC146818 at 0x70, IRQ 8 */
    bool i8042;                 /* pc: keyboard and mouse */
    bool fw_cfg;                /* fw_cfg I/O ports at 0x510 */
    bool pvpanic_isa;           /* pvpanic at pvpanic_ioport: QEMU0001 "PEVT" */
    uint16_t pvpanic_ioport;
    uint32_t pvpanic_mmio;      /* microvm: pvpanic-mmio's byte, QEMU0001 "PEVM"; 0: none */
    unsigned nvirtio_mmio;      /* microvm: its virtio-mmio transports */
    struct acpi_virtio_mmio virtio_mmio[ACPI_MAX_VIRTIO_MMIO];
};

/*
 * QEMU 7.2's defaults for each board, with ncpus vCPUs of APIC IDs
 * 0..ncpus-1; the machine then changes what its options and devices
 * change (APIC IDs of a sparse topology, hpet=off, the serial ports it
 * made, the virtio-mmio transports, the RAM end).
 *   pc: the IOAPIC (ID 0, GSI base 0), the ISOs IRQ0 -> GSI 2 and 5/9/10/11
 *       level active-high, PCI with its 32-bit window from 0xe0000000
 *       (set pci_mem32_start to the end of low RAM), COM1, the RTC, the
 *       i8042, fw_cfg and the HPET.
 *   microvm: the IOAPIC (ID 0, GSIs 0-23) and ioapic2's (ID 1, 0xfec10000,
 *       GSIs 24-47; set nioapics = 1 for ioapic2=off), no ISOs, COM1, the
 *       RTC; no fw_cfg (QEMU's microvm has one: set fw_cfg if hyvm's does).
 */
void acpi_build_config_pc(struct acpi_build_config *c, unsigned ncpus);
void acpi_build_config_microvm(struct acpi_build_config *c, unsigned ncpus);

/*
 * Writes the tables into guest RAM at X86_ACPI_TABLES_START and sets
 * *rsdp_addr to the RSDP's guest-physical address.  Fails (-ENOSPC,
 * -EINVAL, -EFAULT) with errp set when the config is invalid or the
 * tables do not fit into X86_ACPI_TABLES_SIZE bytes of RAM.
 */
int acpi_build_tables(const struct acpi_build_config *c, uint64_t *rsdp_addr, GError **errp);

/*
 * The same tables for firmware that places them itself (SeaBIOS through
 * QEMU's table loader, machine/acpi-loader.c): tables holds every table
 * but the RSDP, each pointer in it an offset into tables, and rsdp the
 * RSDP whose RSDT and XSDT addresses are offsets into tables too.  The
 * checksums are right for those offsets; the loader fixes them after
 * relocating (5.2.5.3, 5.2.6: every table sums to 0).
 */
struct acpi_blob_pointer {
    uint32_t offset;        /* where in tables */
    uint8_t size;           /* 4 or 8 bytes */
};

struct acpi_blob_checksum {
    uint32_t offset;        /* the checksum byte in tables */
    uint32_t start, length; /* the table it covers */
};

struct acpi_blob {
    GByteArray *tables;
    GByteArray *rsdp;
    GArray *pointers;       /* struct acpi_blob_pointer, into tables */
    GArray *checksums;      /* struct acpi_blob_checksum, one per table */
    uint32_t rsdp_rsdt_offset, rsdp_xsdt_offset;   /* the RSDP's two pointers */
};

int acpi_build_blob(const struct acpi_build_config *c, struct acpi_blob *out, GError **errp);
void acpi_blob_free(struct acpi_blob *b);

#endif
