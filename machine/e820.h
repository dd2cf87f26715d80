/*
 * The guest's physical memory map as a PC's firmware reports it (ACPI 6.5,
 * chapter 15 "System Address Map Interfaces"), for the Linux boot protocol's
 * zero page, PVH's memory map and Multiboot's.  It also fixes where hyvm
 * puts the firmware tables it builds for a -kernel boot without firmware:
 * Linux and other kernels look for the ACPI RSDP and the MP floating
 * pointer in the BIOS area below 1 MiB.
 */
#ifndef HYVM_E820_H
#define HYVM_E820_H

#include <stdint.h>

struct machine;

/* Address range types (ACPI 6.5, table 15.1). */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4

struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

/* Conventional memory ends where an EBDA would start, as under SeaBIOS. */
#define X86_EBDA_START 0x9fc00ull
/* The BIOS area kept reserved: the tables below and bios-state.c's stubs. */
#define X86_BIOS_AREA_START 0xe0000ull
#define X86_BIOS_AREA_END 0x100000ull
/* ACPI tables (RSDP first, on a 16-byte boundary Linux's scan finds). */
#define X86_ACPI_TABLES_START 0xe0000ull
#define X86_ACPI_TABLES_SIZE 0x10000ull
/* MP floating pointer and configuration table (MP spec 1.4, 4.1). */
#define X86_MPTABLE_START 0xf5000ull
#define X86_MPTABLE_SIZE 0x1000ull

#define X86_E820_MAX 8

/*
 * The map of m's RAM regions: conventional memory, the reserved EBDA and
 * BIOS area, RAM from 1 MiB and above 4 GiB.  Returns the number of
 * entries written (at most max).
 */
unsigned x86_e820_build(const struct machine *m, struct e820_entry *out, unsigned max);

#endif
