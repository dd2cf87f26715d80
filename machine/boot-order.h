/*
 * Boot order by device: the devices given bootindex=, each with the path
 * firmware knows it by (the Open Firmware style paths of QEMU's
 * get_fw_dev_path, e.g. "/pci@i0cf8/ide@1,1/drive@0/disk@0").  fw_cfg
 * hands the list to SeaBIOS as its "bootorder" file, lowest index first.
 *
 * Threads: main thread, while the machine is built.
 */
#ifndef HYVM_BOOT_ORDER_H
#define HYVM_BOOT_ORDER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Records a device's boot index; a negative index (no bootindex=) records
 * nothing.  An index already taken is QEMU's error "The bootindex N has
 * already been used". */
int boot_order_add(int32_t bootindex, const char *fw_path, GError **errp);
/* The "bootorder" file as QEMU's: the paths in index order joined by
 * '\n', then "\nHALT" when strict, ended by a NUL that *len counts; NULL
 * (and *len 0) when no device has an index, strict or not. */
char *boot_order_file(bool strict, size_t *len);
unsigned boot_order_count(void);
/* Forgets every entry (tests, and a machine built again). */
void boot_order_clear(void);

#endif
