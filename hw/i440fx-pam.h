/*
 * The i440FX's decoding of the legacy ranges below 1 MiB (hw/i440fx-pam.c):
 * the PAM registers choose per segment of 0xc0000-0xfffff whether reads
 * and writes reach RAM or the PCI side (the BIOS ROM's low alias), and the
 * SMRAM register whether 0xa0000-0xbffff is RAM or the VGA window.
 *
 * Threads: created on the main thread while the machine is built; updated
 * from the host bridge's config writes (big lock held) and at reset.
 */
#ifndef HYVM_I440FX_PAM_H
#define HYVM_I440FX_PAM_H

#include <stdint.h>
#include <glib.h>

/* i440FX config registers (Intel 440FX PMC datasheet, 3.2). */
#define I440FX_PAM0 0x59        /* PAM0-PAM6: 0x59-0x5f */
#define I440FX_PAM_COUNT 7
#define I440FX_SMRAM 0x72
#define I440FX_SMRAM_D_OPEN 0x40
#define I440FX_SMRAM_G_SMRAME 0x08

/* The PAM attribute of a segment (datasheet, table 3-5). */
enum pam_mode {
    PAM_PCI = 0,        /* reads and writes go to the PCI side (ROM) */
    PAM_RE = 1,         /* reads from RAM, writes to PCI (dropped) */
    PAM_WE = 2,         /* writes to RAM, reads from PCI: QEMU maps RAM both ways */
    PAM_RW = 3,
};

#define PAM_SEGMENTS 13         /* 0xf0000 (64 KiB), then 0xc0000-0xeffff by 16 KiB */

/*
 * Makes the windows of 0xa0000-0xfffff.  isa_bios is the host copy of the
 * BIOS ROM's last isa_bios_size bytes (at most 128 KiB, a multiple of 64
 * KiB), which the PCI side shows just below 1 MiB; NULL without firmware.
 * The expansion area 0xc0000-0xdffff below it reads as QEMU's empty
 * "pc.rom".  -EBUSY (and errp) when the windows cannot be made.
 */
int i440fx_pam_create(const uint8_t *isa_bios, uint64_t isa_bios_size, GError **errp);
/* Follows the host bridge's config space (its PAM and SMRAM bytes); a no-op
 * when no windows were made (unit tests of the PCI bus). */
void i440fx_pam_update(const uint8_t *config);
/* The mode of segment i (0: 0xf0000, 1-12: 0xc0000 + (i - 1) * 16 KiB)
 * that config's PAM bytes give. */
enum pam_mode i440fx_pam_mode(const uint8_t *config, unsigned i);
/* Forgets the windows (tests). */
void i440fx_pam_destroy(void);

#endif
