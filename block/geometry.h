/*
 * A disk's CHS geometry as QEMU's hd_geometry_guess() guesses it, for the
 * devices that report one (IDE's IDENTIFY and the BIOS's CMOS bytes,
 * virtio-blk's config): the geometry an MBR partition's end implies when
 * it has at most 16 heads, else 16 heads and 63 sectors with as many
 * cylinders as fit (2..16383), and the BIOS translation that goes with it.
 */
#ifndef HYVM_GEOMETRY_H
#define HYVM_GEOMETRY_H

#include <stdint.h>

struct blk;

/* BIOS CHS translation, as QEMU's BIOS_ATA_TRANSLATION_* (CMOS 0x39 holds
 * the value minus one per drive). */
#define HD_TRANS_NONE   1
#define HD_TRANS_LBA    2
#define HD_TRANS_LARGE  3

struct hd_geometry {
    uint32_t cylinders, heads, sectors;
    int translation;                /* HD_TRANS_* */
};

/* Reads sector 0 of blk (sectors long, 512-byte sectors). */
void hd_geometry_guess(struct blk *blk, uint64_t sectors, struct hd_geometry *g);

#endif
