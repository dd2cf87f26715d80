/*
 * Multiboot v1 (the Multiboot Specification 0.6.96): loads an ELF32/ELF64
 * image or one with the a.out kludge, -initrd as modules ("file1 args,file2"),
 * the command line and a memory map, and gives the entry state of 3.2.
 */
#ifndef HYVM_MULTIBOOT_H
#define HYVM_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

struct machine;

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

/* True when the first 8 KiB of the file hold a Multiboot header. */
bool multiboot_probe(const uint8_t *buf, size_t len);
/* Loads kernel (contents in buf) into guest RAM and sets m->boot_state. */
int multiboot_load(struct machine *m, const char *kernel_path,
                   const uint8_t *buf, size_t len, GError **errp);

#endif
