/*
 * CHS geometry guess (geometry.h).
 */
#include <glib.h>

#include "block/block-backend.h"
#include "block/geometry.h"
#include "system/le.h"

/* QEMU's guess_disk_lchs: the first MBR partition whose end implies a
 * geometry that fits the disk. */
static bool guess_lchs(struct blk *blk, uint64_t sectors, uint32_t *c, uint32_t *h,
                       uint32_t *s)
{
    uint8_t mbr[512];

    if (!sectors || blk_pread(blk, 0, mbr, sizeof(mbr)) < 0 || mbr[510] != 0x55 ||
        mbr[511] != 0xaa) {
        return false;
    }
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *p = mbr + 0x1be + 16 * i;
        uint32_t heads = p[5] + 1u, secs = p[6] & 63u;
        uint64_t cyls;

        if (!ld32(p + 12) || !p[5] || !secs) {
            continue;
        }
        cyls = sectors / (heads * secs);
        if (cyls < 1 || cyls > 16383) {
            continue;
        }
        *c = cyls;
        *h = heads;
        *s = secs;
        return true;
    }
    return false;
}

void hd_geometry_guess(struct blk *blk, uint64_t sectors, struct hd_geometry *g)
{
    uint32_t c, h, s;
    bool guessed = guess_lchs(blk, sectors, &c, &h, &s);

    if (guessed && h <= 16) {
        *g = (struct hd_geometry){ c, h, s, HD_TRANS_NONE };
        return;
    }
    g->cylinders = MAX(2, MIN(sectors / (16 * 63), 16383));
    g->heads = 16;
    g->sectors = 63;
    if (guessed) {      /* a BIOS translation was on */
        g->translation = g->cylinders * g->heads <= 131072 ? HD_TRANS_LARGE : HD_TRANS_LBA;
    } else {
        g->translation = g->cylinders <= 1024 ? HD_TRANS_NONE : HD_TRANS_LBA;
    }
}
