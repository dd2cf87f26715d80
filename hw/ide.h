/*
 * The PIIX3 IDE controller of -M pc (PCI 00:01.1, 8086:7010): two channels
 * on the legacy ports 0x1f0/0x3f6 (IRQ 14) and 0x170/0x376 (IRQ 15), each
 * with a master and a slave, ATA disks ("QEMU HARDDISK") and ATAPI CD-ROMs
 * ("QEMU DVD-ROM"), PIO and bus-master DMA (BAR4).  The drives come from
 * -drive if=ide / -hda.. / -cdrom (block/drive.c keeps where each goes) and
 * from -device ide-hd / ide-cd.
 *
 * Threads: created on the main thread while the machine is built; the
 * device runs under the big lock.
 */
#ifndef HYVM_IDE_H
#define HYVM_IDE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "block/geometry.h"

struct machine;
struct dev_config;
struct blk;

#define IDE_CHANNELS        2
#define IDE_UNITS           2

/* BIOS CHS translation: block/geometry.h's HD_TRANS_* (CMOS 0x39 holds
 * the value minus one per drive). */
#define IDE_TRANS_NONE      HD_TRANS_NONE
#define IDE_TRANS_LBA       HD_TRANS_LBA
#define IDE_TRANS_LARGE     HD_TRANS_LARGE

/*
 * -M pc: the IDE function at 00:01.1 with the if=ide drives.  Call after
 * pci_host_create_pc() and before the -device list is realized.
 */
int ide_piix_create(struct machine *m, GError **errp);

/* -device ide-hd / ide-cd (bus=ide.N, unit=, drive=, bootindex=). */
int ide_device_realize(struct machine *m, const struct dev_config *cfg, GError **errp);

/*
 * The CMOS disk bytes (QEMU's pc_cmos_init: 0x12, 0x19/0x1a, 0x1b.. and
 * 0x24.., 0x39): drive index 0-3 (channel * 2 + unit).  True for an IDE
 * hard disk, with its physical geometry (1-16383 cylinders, 1-16 heads,
 * 1-63 sectors) and BIOS translation; false for a CD-ROM or no drive.
 */
struct ide_geometry {
    uint32_t cylinders, heads, sectors;
    int translation;                /* IDE_TRANS_* */
};
bool ide_get_geometry(unsigned index, struct ide_geometry *g);

/* query-block: the QOM path of the IDE drive holding blk, or NULL; whether
 * it is a CD-ROM (removable) and its tray is open / medium locked. */
const char *ide_qdev(struct blk *blk);
bool ide_is_cd(struct blk *blk, bool *tray_open, bool *locked);
/* eject / change: the medium of blk was removed (load false) or inserted. */
void ide_cd_medium_changed(struct blk *blk, bool load);
/* eject of a locked tray: the guest's next media event is an eject request. */
void ide_cd_eject_request(struct blk *blk);

#endif
