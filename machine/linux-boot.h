/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst) for
 * -kernel with a bzImage: linux-boot.c.
 */
#ifndef HYVM_LINUX_BOOT_H
#define HYVM_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

struct machine;

/* The image has a Linux setup header ("HdrS" at 0x202). */
bool linux_probe(const uint8_t *buf, size_t len);

/*
 * Loads the bzImage buf (len bytes, read from path), m->cfg's -initrd and
 * -append, and sets m->boot_state to the 64-bit entry.  rsdp: the ACPI RSDP
 * the machine wrote (boot_params.acpi_rsdp_addr), 0 for none.  Errors name
 * the file.
 */
int linux_load(struct machine *m, const char *path, const uint8_t *buf, size_t len,
               uint64_t rsdp, GError **errp);

#endif
