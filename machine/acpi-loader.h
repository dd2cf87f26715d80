/*
 * The ACPI tables handed to firmware as QEMU hands them to SeaBIOS: three
 * fw_cfg files, "etc/acpi/tables" (every table but the RSDP),
 * "etc/acpi/rsdp" and "etc/table-loader", a script of 128-byte commands
 * (QEMU's hw/acpi/bios-linker-loader.c format; SeaBIOS's
 * src/fw/romfile_loader.c runs it): ALLOCATE each file (the tables in
 * high memory, 64-byte aligned for the FACS; the RSDP in the F segment
 * where the OS looks for it), ADD_POINTER for every pointer (adding the
 * source file's address to the offset stored there), then ADD_CHECKSUM for
 * every table.
 *
 * Threads: main thread, while the machine is built.
 */
#ifndef HYVM_ACPI_LOADER_H
#define HYVM_ACPI_LOADER_H

#include <stdint.h>
#include <glib.h>

#include "machine/acpi-build.h"

struct fw_cfg;

#define ACPI_LOADER_TABLES "etc/acpi/tables"
#define ACPI_LOADER_RSDP "etc/acpi/rsdp"
#define ACPI_LOADER_SCRIPT "etc/table-loader"

/* Commands and their fields (bios-linker-loader.c's BiosLinkerLoaderEntry). */
#define ACPI_LOADER_ENTRY_SIZE 128
#define ACPI_LOADER_FILESZ 56
#define ACPI_LOADER_ALLOCATE 1
#define ACPI_LOADER_ADD_POINTER 2
#define ACPI_LOADER_ADD_CHECKSUM 3
#define ACPI_LOADER_ZONE_HIGH 1
#define ACPI_LOADER_ZONE_FSEG 2

/* The command script for blob (acpi-build.h), unpadded. */
GByteArray *acpi_loader_script(const struct acpi_blob *blob);

/*
 * Builds the tables for c and adds the three files to fw, sized as QEMU
 * 7.2's pc sizes them: the tables padded to 128 KiB, the script to 4 KiB.
 */
int acpi_loader_add_files(struct fw_cfg *fw, const struct acpi_build_config *c,
                          GError **errp);

#endif
