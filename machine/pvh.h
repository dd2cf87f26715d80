/*
 * PVH direct boot (Xen's x86/HVM direct boot ABI, xen/include/public/
 * arch-x86/hvm/start_info.h): an uncompressed ELF kernel (Linux's vmlinux
 * with CONFIG_PVH) names a 32-bit entry point in a Xen ELF note; the loader
 * puts its PT_LOAD segments at their physical addresses, describes the
 * command line, the -initrd module, the memory map and the ACPI RSDP in a
 * struct hvm_start_info, and enters flat 32-bit protected mode with EBX
 * pointing at it.  QEMU does the same for -kernel vmlinux.
 *
 * Guest memory hyvm uses below 1 MiB for it (Linux reserves all of the first
 * MiB before it allocates anything, so these survive until it has read them):
 *   PVH_INFO_ADDR     start_info, then the module list, the memory map and
 *                     the GDT the entry selectors refer to (one page);
 *   PVH_CMDLINE_ADDR  the command line, at most PVH_CMDLINE_MAX bytes with
 *                     its NUL (where QEMU's Linux loader puts it too).
 * The initrd goes page aligned to the top of RAM below 4 GiB, as QEMU's.
 *
 * Threads: main thread, while the machine is built (before any vCPU runs).
 */
#ifndef HYVM_PVH_H
#define HYVM_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

struct machine;

/* Xen's public/elfnote.h: the note's name and the entry point's type. */
#define XEN_ELFNOTE_NAME "Xen"
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define PVH_START_INFO_MAGIC 0x336ec578u
#define PVH_START_INFO_VERSION 1

#define PVH_INFO_ADDR 0x6000ull
#define PVH_CMDLINE_ADDR 0x20000ull
#define PVH_CMDLINE_MAX 0x10000ull

/* The flat selectors of the entry state, in the GDT at PVH_INFO_ADDR. */
#define PVH_CS_SELECTOR 0x10
#define PVH_DS_SELECTOR 0x18

/* struct hvm_start_info (version 1) field offsets, 56 bytes. */
enum {
    PVH_SI_MAGIC = 0,
    PVH_SI_VERSION = 4,
    PVH_SI_FLAGS = 8,
    PVH_SI_NR_MODULES = 12,
    PVH_SI_MODLIST_PADDR = 16,
    PVH_SI_CMDLINE_PADDR = 24,
    PVH_SI_RSDP_PADDR = 32,
    PVH_SI_MEMMAP_PADDR = 40,
    PVH_SI_MEMMAP_ENTRIES = 48,
    PVH_SI_SIZE = 56,
};
/* struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved. */
#define PVH_MODLIST_ENTRY_SIZE 32
/* struct hvm_memmap_table_entry: addr, size, type (E820_*), reserved. */
#define PVH_MEMMAP_ENTRY_SIZE 24

/*
 * True when buf holds an x86 ELF32 or ELF64 executable with a Xen note of
 * type XEN_ELFNOTE_PHYS32_ENTRY (in a PT_NOTE segment or an SHT_NOTE
 * section).  Safe on any input.
 */
bool pvh_probe(const uint8_t *buf, size_t len);

/*
 * Loads the kernel (path names it in errors, buf holds it) with
 * m->cfg->append and m->cfg->initrd into guest RAM, writes the start_info
 * block and sets m->boot_state.  rsdp_paddr is the ACPI RSDP's address, or
 * 0 when the machine has no ACPI tables.  Nothing is written to guest RAM
 * before every check on the file has passed.
 */
int pvh_load(struct machine *m, const char *path, const uint8_t *buf, size_t len,
             uint64_t rsdp_paddr, GError **errp);

#endif
