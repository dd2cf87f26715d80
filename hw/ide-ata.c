/*
 * ATA commands of the IDE drives (ATA/ATAPI-6, T13/1410D, section 8):
 * IDENTIFY DEVICE as QEMU 7.2 fills it, PIO and DMA reads and writes in
 * CHS, LBA28 and LBA48, READ/WRITE MULTIPLE, VERIFY, FLUSH CACHE, SET
 * FEATURES, INITIALIZE DEVICE PARAMETERS, the power commands, and the
 * dispatch that decides which device kind takes which command.
 *
 * Sector data moves through the block backend asynchronously: a PIO
 * command holds BSY until its completion, which then raises DRQ and the
 * interrupt (QEMU's order, which libata and SeaBIOS poll for).
 *
 * Threads: under the big lock.
 */
#include <string.h>

#include "block/block-backend.h"
#include "hw/ide-internal.h"
#include "system/log.h"

/* Command opcodes (ATA/ATAPI-6 table 12, and the retired ones QEMU takes). */
enum {
    WIN_DSM = 0x06, WIN_DEVICE_RESET = 0x08, WIN_RECAL = 0x10, WIN_READ = 0x20,
    WIN_READ_ONCE = 0x21, WIN_READ_EXT = 0x24, WIN_READDMA_EXT = 0x25,
    WIN_READ_NATIVE_MAX_EXT = 0x27, WIN_MULTREAD_EXT = 0x29, WIN_WRITE = 0x30,
    WIN_WRITE_ONCE = 0x31, WIN_WRITE_EXT = 0x34, WIN_WRITEDMA_EXT = 0x35,
    WIN_MULTWRITE_EXT = 0x39, WIN_WRITE_VERIFY = 0x3c, WIN_VERIFY = 0x40,
    WIN_VERIFY_ONCE = 0x41, WIN_VERIFY_EXT = 0x42, WIN_SEEK = 0x70, WIN_DIAGNOSE = 0x90,
    WIN_SPECIFY = 0x91, WIN_STANDBYNOW2 = 0x94, WIN_IDLEIMMEDIATE2 = 0x95,
    WIN_STANDBY2 = 0x96, WIN_SETIDLE2 = 0x97, WIN_CHECKPOWERMODE2 = 0x98,
    WIN_SLEEPNOW2 = 0x99, WIN_PACKETCMD = 0xa0, WIN_PIDENTIFY = 0xa1, WIN_MULTREAD = 0xc4,
    WIN_MULTWRITE = 0xc5, WIN_SETMULT = 0xc6, WIN_READDMA = 0xc8, WIN_READDMA_ONCE = 0xc9,
    WIN_WRITEDMA = 0xca, WIN_WRITEDMA_ONCE = 0xcb, WIN_STANDBYNOW1 = 0xe0,
    WIN_IDLEIMMEDIATE = 0xe1, WIN_STANDBY = 0xe2, WIN_SETIDLE1 = 0xe3,
    WIN_CHECKPOWERMODE1 = 0xe5, WIN_SLEEPNOW1 = 0xe6, WIN_FLUSH_CACHE = 0xe7,
    WIN_FLUSH_CACHE_EXT = 0xea, WIN_IDENTIFY = 0xec, WIN_SETFEATURES = 0xef,
    WIN_READ_NATIVE_MAX = 0xf8,
};

#define HD_OK   1
#define CD_OK   2
#define ALL_OK  (HD_OK | CD_OK)
#define SET_DSC 4

/* ---- IDENTIFY ---- */

static void put_le16(uint8_t *id, unsigned word, unsigned v)
{
    id[2 * word] = v;
    id[2 * word + 1] = v >> 8;
}

/* ATA strings: space padded, two characters a word, first in the high byte. */
static void padstr(uint8_t *id, unsigned word, const char *src, unsigned len)
{
    for (unsigned i = 0; i < len; i++) {
        id[2 * word + (i ^ 1)] = *src ? *src++ : ' ';
    }
}

/* Words 60-61 (LBA28 capacity, at most 2^28 - 1) and 100-103 (LBA48). */
static void ide_identify_size(struct ide_drive *s)
{
    uint64_t lba28 = MIN(s->nb_sectors, (1u << 28) - 1);

    put_le16(s->identify, 60, lba28);
    put_le16(s->identify, 61, lba28 >> 16);
    for (unsigned i = 0; i < 4; i++) {
        put_le16(s->identify, 100 + i, s->nb_sectors >> (16 * i));
    }
}

/* IDENTIFY DEVICE data as QEMU 7.2's ide_identify (ATA/ATAPI-6 8.15.8). */
void ide_identify_build(struct ide_drive *s)
{
    uint8_t *id = s->identify;
    uint32_t chs = s->cylinders * s->heads * s->sectors;

    memset(id, 0, sizeof(s->identify));
    put_le16(id, 0, 0x0040);            /* fixed device */
    put_le16(id, 1, s->cylinders);
    put_le16(id, 3, s->heads);
    put_le16(id, 4, 512 * s->sectors);  /* retired */
    put_le16(id, 5, 512);
    put_le16(id, 6, s->sectors);
    padstr(id, 10, s->serial, 20);
    put_le16(id, 20, 3);                /* buffer type */
    put_le16(id, 21, 512);              /* cache size in sectors */
    put_le16(id, 22, 4);                /* ECC bytes */
    padstr(id, 23, s->version, 8);
    padstr(id, 27, s->model, 40);
    put_le16(id, 47, 0x8000 | IDE_MAX_MULT);
    put_le16(id, 48, 1);                /* dword I/O */
    put_le16(id, 49, 1 << 11 | 1 << 9 | 1 << 8);    /* IORDY, LBA, DMA */
    put_le16(id, 51, 0x200);
    put_le16(id, 52, 0x200);
    put_le16(id, 53, 1 | 1 << 1 | 1 << 2);          /* words 54-58, 64-70, 88 valid */
    put_le16(id, 54, s->cylinders);
    put_le16(id, 55, s->heads);
    put_le16(id, 56, s->sectors);
    put_le16(id, 57, chs);
    put_le16(id, 58, chs >> 16);
    if (s->mult_sectors) {
        put_le16(id, 59, 0x100 | s->mult_sectors);
    }
    put_le16(id, 62, 0x07);             /* single word DMA 0-2 */
    put_le16(id, 63, 0x07);             /* multiword DMA 0-2 */
    put_le16(id, 64, 0x03);             /* PIO 3-4 */
    put_le16(id, 65, 120);
    put_le16(id, 66, 120);
    put_le16(id, 67, 120);
    put_le16(id, 68, 120);
    put_le16(id, 69, 1 << 14);          /* deterministic read after TRIM */
    put_le16(id, 80, 0xf0);             /* ATA-4 to ATA-7 */
    put_le16(id, 81, 0x16);
    put_le16(id, 82, 1 << 14 | 1 << 5 | 1);         /* NOP, write cache, SMART */
    put_le16(id, 83, 1 << 14 | 1 << 13 | 1 << 12 | 1 << 10);  /* FLUSH (EXT), LBA48 */
    put_le16(id, 84, 1 << 14);
    put_le16(id, 85, blk_enable_write_cache(s->blk) ? (1 << 14 | 1 << 5 | 1) : (1 << 14 | 1));
    put_le16(id, 86, 1 << 13 | 1 << 12 | 1 << 10);
    put_le16(id, 87, 1 << 14);
    put_le16(id, 88, 0x3f | 1 << 13);   /* UDMA 0-5, mode 5 selected */
    put_le16(id, 93, 1 | 1 << 14 | 0x2000);
    put_le16(id, 106, 0x6000);          /* 512-byte physical sectors */
    put_le16(id, 169, 1);               /* TRIM (QEMU's discard_granularity 512) */
    ide_identify_size(s);
    s->identify_set = true;
}

/* IDENTIFY PACKET DEVICE data as QEMU 7.2's ide_atapi_identify (8.16). */
void ide_atapi_identify_build(struct ide_drive *s)
{
    uint8_t *id = s->identify;

    memset(id, 0, sizeof(s->identify));
    /* ATAPI, CD-ROM, removable, 50 us DRQ, 12-byte packets. */
    put_le16(id, 0, 2 << 14 | 5 << 8 | 1 << 7 | 2 << 5);
    padstr(id, 10, s->serial, 20);
    put_le16(id, 20, 3);
    put_le16(id, 21, 512);
    put_le16(id, 22, 4);
    padstr(id, 23, s->version, 8);
    padstr(id, 27, s->model, 40);
    put_le16(id, 48, 1);
    put_le16(id, 49, 1 << 9 | 1 << 8);  /* LBA, DMA */
    put_le16(id, 53, 7);
    put_le16(id, 62, 7);
    put_le16(id, 63, 7);
    put_le16(id, 64, 3);
    put_le16(id, 65, 0xb4);
    put_le16(id, 66, 0xb4);
    put_le16(id, 67, 0x12c);
    put_le16(id, 68, 0xb4);
    put_le16(id, 71, 30);
    put_le16(id, 72, 30);
    put_le16(id, 80, 0x1e);             /* up to ATA/ATAPI-4 */
    put_le16(id, 88, 0x3f | 1 << 13);
    s->identify_set = true;
}

/* ---- addressing ---- */

int64_t ide_get_sector(struct ide_drive *s)
{
    if (s->select & IDE_DEV_LBA) {
        if (!s->lba48) {
            return (int64_t)(s->select & 0x0f) << 24 | s->hcyl << 16 | s->lcyl << 8 | s->sector;
        }
        return (int64_t)s->hob_hcyl << 40 | (int64_t)s->hob_lcyl << 32 |
               (int64_t)s->hob_sector << 24 | s->hcyl << 16 | s->lcyl << 8 | s->sector;
    }
    /* CHS: sector numbers start at 1; a geometry of zero (a bad INITIALIZE
     * DEVICE PARAMETERS) or sector 0 addresses nothing. */
    if (!s->heads || !s->sectors || !s->sector) {
        return -1;
    }
    return ((int64_t)(s->hcyl << 8 | s->lcyl) * s->heads + (s->select & 0x0f)) * s->sectors +
           (s->sector - 1);
}

void ide_set_sector(struct ide_drive *s, int64_t n)
{
    if (s->select & IDE_DEV_LBA) {
        if (!s->lba48) {
            s->select = (s->select & 0xf0) | ((n >> 24) & 0x0f);
        } else {
            s->hob_sector = n >> 24;
            s->hob_lcyl = n >> 32;
            s->hob_hcyl = n >> 40;
        }
        s->hcyl = n >> 16;
        s->lcyl = n >> 8;
        s->sector = n;
    } else if (s->heads && s->sectors) {
        uint64_t cyl = n / (s->heads * s->sectors), r = n % (s->heads * s->sectors);

        s->hcyl = cyl >> 8;
        s->lcyl = cyl;
        s->select = (s->select & 0xf0) | ((r / s->sectors) & 0x0f);
        s->sector = r % s->sectors + 1;
    }
}

bool ide_sect_range_ok(struct ide_drive *s, int64_t sector, uint64_t n)
{
    uint64_t total = blk_is_inserted(s->blk) ? (uint64_t)blk_getlength(s->blk) / IDE_SECTOR_SIZE
                                             : 0;

    return sector >= 0 && (uint64_t)sector <= total && n <= total - (uint64_t)sector;
}

/* A sector count of 0 means 256 (LBA28) or 65536 (LBA48); nsector then
 * holds the whole count. */
static void ide_lba48_transform(struct ide_drive *s, bool lba48)
{
    s->lba48 = lba48;
    if (!lba48) {
        s->nsector = (s->nsector & 0xff) ? (s->nsector & 0xff) : 256;
    } else if (!(s->nsector & 0xff) && !s->hob_nsector) {
        s->nsector = 65536;
    } else {
        s->nsector = (uint32_t)s->hob_nsector << 8 | (s->nsector & 0xff);
    }
}

/* ---- PIO reads and writes ---- */

static void ide_rw_error(struct ide_drive *s)
{
    ide_abort(s);
    ide_set_irq(s->ch);
}

static void ide_sector_read(struct ide_drive *s);

static void ide_sector_read_cb(void *opaque, int ret)
{
    struct ide_drive *s = opaque;
    int64_t sector = ide_get_sector(s);
    unsigned n = MIN(s->nsector, s->req_nb_sectors);

    s->io_busy = false;
    s->status &= ~IDE_ST_BSY;
    if (ret < 0) {
        ide_rw_error(s);
        return;
    }
    ide_set_sector(s, sector + n);
    s->nsector -= n;
    ide_transfer_start(s, n * IDE_SECTOR_SIZE, true, ide_sector_read);
    ide_set_irq(s->ch);
}

/* The next block of a PIO read: at most req_nb_sectors (1, or the
 * multiple count) per DRQ block. */
static void ide_sector_read(struct ide_drive *s)
{
    int64_t sector = ide_get_sector(s);
    unsigned n = s->nsector;
    struct iovec iov;

    s->status = IDE_ST_DRDY | IDE_ST_DSC;
    s->error = 0;
    if (n == 0) {
        ide_transfer_stop(s);
        return;
    }
    s->status |= IDE_ST_BSY;
    n = MIN(n, s->req_nb_sectors);
    if (!ide_sect_range_ok(s, sector, n)) {
        ide_rw_error(s);
        return;
    }
    iov.iov_base = s->io_buffer;
    iov.iov_len = n * IDE_SECTOR_SIZE;
    s->io_busy = true;
    blk_aio_preadv(s->blk, (uint64_t)sector * IDE_SECTOR_SIZE, iov.iov_len, &iov, 1,
                   ide_sector_read_cb, s);
}

static void ide_sector_write(struct ide_drive *s);

static void ide_sector_write_cb(void *opaque, int ret)
{
    struct ide_drive *s = opaque;
    int64_t sector = ide_get_sector(s);
    unsigned n = MIN(s->nsector, s->req_nb_sectors);

    s->io_busy = false;
    s->status &= ~IDE_ST_BSY;
    if (ret < 0) {
        ide_rw_error(s);
        return;
    }
    s->nsector -= n;
    if (s->nsector == 0) {
        ide_transfer_stop(s);
    } else {
        unsigned next = MIN(s->nsector, s->req_nb_sectors);

        ide_transfer_start(s, next * IDE_SECTOR_SIZE, false, ide_sector_write);
    }
    ide_set_sector(s, sector + n);
    ide_set_irq(s->ch);
}

/* The guest filled a DRQ block: write it. */
static void ide_sector_write(struct ide_drive *s)
{
    int64_t sector = ide_get_sector(s);
    unsigned n = MIN(s->nsector, s->req_nb_sectors);
    struct iovec iov;

    s->status = IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_BSY;
    if (!ide_sect_range_ok(s, sector, n)) {
        ide_rw_error(s);
        return;
    }
    iov.iov_base = s->io_buffer;
    iov.iov_len = n * IDE_SECTOR_SIZE;
    s->io_busy = true;
    blk_aio_pwritev(s->blk, (uint64_t)sector * IDE_SECTOR_SIZE, iov.iov_len, &iov, 1,
                    ide_sector_write_cb, s);
}

void ide_dma_ata_done(struct ide_drive *s, int ret, int64_t sector, unsigned n)
{
    if (ret < 0) {
        ide_abort(s);
    } else {
        ide_set_sector(s, sector + n);
        s->nsector = 0;
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
    }
    ide_set_irq(s->ch);
}

/* ---- commands: true when done at once (status and interrupt follow) ---- */

static bool cmd_nop(struct ide_drive *s, uint8_t cmd)
{
    return true;
}

static bool cmd_identify(struct ide_drive *s, uint8_t cmd)
{
    if (s->kind == IDE_KIND_HD) {
        if (!s->identify_set) {
            ide_identify_build(s);
        }
        memcpy(s->io_buffer, s->identify, 512);
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
        ide_transfer_start(s, 512, true, ide_transfer_stop);
        ide_set_irq(s->ch);
        return false;
    }
    /* A packet device aborts and shows its signature (ATA/ATAPI-6 8.15.5). */
    if (s->kind == IDE_KIND_CD) {
        ide_set_signature(s);
    }
    ide_abort(s);
    return true;
}

static bool cmd_identify_packet(struct ide_drive *s, uint8_t cmd)
{
    if (!s->identify_set) {
        ide_atapi_identify_build(s);
    }
    memcpy(s->io_buffer, s->identify, 512);
    s->status = IDE_ST_DRDY | IDE_ST_DSC;
    ide_transfer_start(s, 512, true, ide_transfer_stop);
    ide_set_irq(s->ch);
    return false;
}

static bool cmd_read_pio(struct ide_drive *s, uint8_t cmd)
{
    if (s->kind == IDE_KIND_CD) {
        ide_set_signature(s);   /* ATA-4 8.27.5.2 */
        ide_abort(s);
        return true;
    }
    ide_lba48_transform(s, cmd == WIN_READ_EXT);
    s->req_nb_sectors = 1;
    ide_sector_read(s);
    return false;
}

static bool cmd_write_pio(struct ide_drive *s, uint8_t cmd)
{
    ide_lba48_transform(s, cmd == WIN_WRITE_EXT);
    s->req_nb_sectors = 1;
    s->status = IDE_ST_DSC | IDE_ST_DRDY;
    ide_transfer_start(s, IDE_SECTOR_SIZE, false, ide_sector_write);
    return false;
}

static bool cmd_read_multiple(struct ide_drive *s, uint8_t cmd)
{
    if (!s->mult_sectors) {
        ide_abort(s);
        return true;
    }
    ide_lba48_transform(s, cmd == WIN_MULTREAD_EXT);
    s->req_nb_sectors = s->mult_sectors;
    ide_sector_read(s);
    return false;
}

static bool cmd_write_multiple(struct ide_drive *s, uint8_t cmd)
{
    if (!s->mult_sectors) {
        ide_abort(s);
        return true;
    }
    ide_lba48_transform(s, cmd == WIN_MULTWRITE_EXT);
    s->req_nb_sectors = s->mult_sectors;
    s->status = IDE_ST_DSC | IDE_ST_DRDY;
    ide_transfer_start(s, MIN(s->nsector, s->req_nb_sectors) * IDE_SECTOR_SIZE, false,
                       ide_sector_write);
    return false;
}

static bool cmd_set_multiple_mode(struct ide_drive *s, uint8_t cmd)
{
    unsigned n = s->nsector & 0xff;

    /* A power of two up to the maximum, or 0 (multiple mode off). */
    if (n && (n > IDE_MAX_MULT || (n & (n - 1)))) {
        ide_abort(s);
    } else {
        s->mult_sectors = n;
    }
    return true;
}

static bool cmd_dma(struct ide_drive *s, uint8_t cmd)
{
    bool write = cmd == WIN_WRITEDMA || cmd == WIN_WRITEDMA_ONCE || cmd == WIN_WRITEDMA_EXT;

    ide_lba48_transform(s, cmd == WIN_READDMA_EXT || cmd == WIN_WRITEDMA_EXT);
    s->status = IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_DRQ;
    ide_dma_begin(s, write ? IDE_DMA_WRITE : IDE_DMA_READ);
    return false;
}

static bool cmd_verify(struct ide_drive *s, uint8_t cmd)
{
    ide_lba48_transform(s, cmd == WIN_VERIFY_EXT);
    return true;
}

static bool cmd_read_native_max(struct ide_drive *s, uint8_t cmd)
{
    if (s->nb_sectors == 0) {
        ide_abort(s);
        return true;
    }
    ide_lba48_transform(s, cmd == WIN_READ_NATIVE_MAX_EXT);
    ide_set_sector(s, s->nb_sectors - 1);
    return true;
}

static bool cmd_check_power_mode(struct ide_drive *s, uint8_t cmd)
{
    s->nsector = 0xff;      /* active or idle */
    return true;
}

/* INITIALIZE DEVICE PARAMETERS: the CHS translation CHS commands use, until
 * a reset when SET FEATURES asked for power-on defaults (0xcc). */
static bool cmd_specify(struct ide_drive *s, uint8_t cmd)
{
    if (s->kind != IDE_KIND_HD) {
        ide_abort(s);
        return true;
    }
    s->heads = (s->select & 0x0f) + 1;
    s->sectors = s->nsector & 0xff;
    ide_set_irq(s->ch);
    return true;
}

static void ide_flush_cb(void *opaque, int ret)
{
    struct ide_drive *s = opaque;

    s->io_busy = false;
    if (ret < 0) {
        ide_abort(s);
    } else {
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
    }
    ide_set_irq(s->ch);
}

static void ide_flush(struct ide_drive *s)
{
    s->status |= IDE_ST_BSY;
    s->io_busy = true;
    blk_aio_flush(s->blk, ide_flush_cb, s);
}

static bool cmd_flush_cache(struct ide_drive *s, uint8_t cmd)
{
    if (!blk_is_inserted(s->blk)) {
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
        return true;
    }
    ide_flush(s);
    return false;
}

/* SET FEATURES (ATA/ATAPI-6 8.38). */
static bool cmd_set_features(struct ide_drive *s, uint8_t cmd)
{
    unsigned mode = s->nsector & 0x07;

    switch (s->feature) {
    case 0x02:      /* write cache on */
    case 0x82:      /* write cache off: flush what it held */
        blk_set_enable_write_cache(s->blk, s->feature == 0x02);
        put_le16(s->identify, 85, s->feature == 0x02 ? (1 << 14 | 1 << 5 | 1) : (1 << 14 | 1));
        if (s->feature == 0x82 && blk_is_inserted(s->blk)) {
            ide_flush(s);
            return false;
        }
        return true;
    case 0xcc:      /* revert to power-on defaults at reset */
        s->reset_reverts = true;
        return true;
    case 0x66:
        s->reset_reverts = false;
        return true;
    case 0xaa: case 0x55: case 0x05: case 0x85: case 0x69: case 0x67: case 0x96:
    case 0x9a: case 0x42: case 0xc2:
        return true;
    case 0x03:      /* transfer mode: the selected mode shows in IDENTIFY */
        if (!s->identify_set) {
            if (s->kind == IDE_KIND_CD) {
                ide_atapi_identify_build(s);
            } else {
                ide_identify_build(s);
            }
        }
        put_le16(s->identify, 62, 0x07);
        put_le16(s->identify, 63, 0x07);
        put_le16(s->identify, 88, 0x3f);
        switch ((s->nsector & 0xff) >> 3) {
        case 0x00:
        case 0x01:  /* PIO */
            return true;
        case 0x02:  /* single word DMA */
            put_le16(s->identify, 62, 0x07 | 1 << (mode + 8));
            return true;
        case 0x04:  /* multiword DMA */
            put_le16(s->identify, 63, 0x07 | 1 << (mode + 8));
            return true;
        case 0x08:  /* Ultra DMA */
            put_le16(s->identify, 88, 0x3f | 1 << (mode + 8));
            return true;
        }
        break;
    }
    ide_abort(s);
    return true;
}

/* EXECUTE DEVICE DIAGNOSTIC: the signature, error 1 ("passed"); a packet
 * device leaves status 0. */
static bool cmd_exec_dev_diagnostic(struct ide_drive *s, uint8_t cmd)
{
    ide_set_signature(s);
    s->error = 0x01;
    if (s->kind == IDE_KIND_CD) {
        s->status = 0;
    } else {
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
        ide_set_irq(s->ch);
    }
    return false;
}

/* DATA SET MANAGEMENT (ATA8-ACS 7.10): TRIM only, its range list by DMA;
 * the count is the 512-byte blocks of the list, as an LBA48 count. */
static bool cmd_data_set_management(struct ide_drive *s, uint8_t cmd)
{
    if (s->feature != 0x01) {
        ide_abort(s);
        return true;
    }
    s->nsector = (uint32_t)s->hob_nsector << 8 | (s->nsector & 0xff);
    s->status = IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_DRQ;
    ide_dma_begin(s, IDE_DMA_TRIM);
    return false;
}

/* DEVICE RESET (packet devices, ATA/ATAPI-6 8.7): the device's own reset,
 * status 0, no interrupt. */
static bool cmd_device_reset(struct ide_drive *s, uint8_t cmd)
{
    if (s->io_busy) {
        blk_drain(s->blk);
    }
    ide_drive_reset(s);
    s->status = 0;
    return false;
}

static bool cmd_packet(struct ide_drive *s, uint8_t cmd)
{
    return ide_cmd_packet(s);
}

static const struct {
    bool (*fn)(struct ide_drive *s, uint8_t cmd);
    uint8_t flags;
} ide_cmds[256] = {
    [WIN_DSM] = { cmd_data_set_management, HD_OK },
    [WIN_DEVICE_RESET] = { cmd_device_reset, CD_OK },
    [WIN_RECAL] = { cmd_nop, HD_OK | SET_DSC },
    [WIN_READ] = { cmd_read_pio, ALL_OK },
    [WIN_READ_ONCE] = { cmd_read_pio, HD_OK },
    [WIN_READ_EXT] = { cmd_read_pio, HD_OK },
    [WIN_READDMA_EXT] = { cmd_dma, HD_OK },
    [WIN_READ_NATIVE_MAX_EXT] = { cmd_read_native_max, HD_OK | SET_DSC },
    [WIN_MULTREAD_EXT] = { cmd_read_multiple, HD_OK },
    [WIN_WRITE] = { cmd_write_pio, HD_OK },
    [WIN_WRITE_ONCE] = { cmd_write_pio, HD_OK },
    [WIN_WRITE_EXT] = { cmd_write_pio, HD_OK },
    [WIN_WRITEDMA_EXT] = { cmd_dma, HD_OK },
    [WIN_MULTWRITE_EXT] = { cmd_write_multiple, HD_OK },
    [WIN_WRITE_VERIFY] = { cmd_write_pio, HD_OK },
    [WIN_VERIFY] = { cmd_verify, HD_OK | SET_DSC },
    [WIN_VERIFY_ONCE] = { cmd_verify, HD_OK | SET_DSC },
    [WIN_VERIFY_EXT] = { cmd_verify, HD_OK | SET_DSC },
    [WIN_SEEK] = { cmd_nop, HD_OK | SET_DSC },
    [WIN_DIAGNOSE] = { cmd_exec_dev_diagnostic, ALL_OK },
    [WIN_SPECIFY] = { cmd_specify, HD_OK | SET_DSC },
    [WIN_STANDBYNOW2] = { cmd_nop, HD_OK },
    [WIN_IDLEIMMEDIATE2] = { cmd_nop, HD_OK },
    [WIN_STANDBY2] = { cmd_nop, HD_OK },
    [WIN_SETIDLE2] = { cmd_nop, HD_OK },
    [WIN_CHECKPOWERMODE2] = { cmd_check_power_mode, HD_OK | SET_DSC },
    [WIN_SLEEPNOW2] = { cmd_nop, HD_OK },
    [WIN_PACKETCMD] = { cmd_packet, CD_OK },
    [WIN_PIDENTIFY] = { cmd_identify_packet, CD_OK },
    [WIN_MULTREAD] = { cmd_read_multiple, HD_OK },
    [WIN_MULTWRITE] = { cmd_write_multiple, HD_OK },
    [WIN_SETMULT] = { cmd_set_multiple_mode, HD_OK | SET_DSC },
    [WIN_READDMA] = { cmd_dma, HD_OK },
    [WIN_READDMA_ONCE] = { cmd_dma, HD_OK },
    [WIN_WRITEDMA] = { cmd_dma, HD_OK },
    [WIN_WRITEDMA_ONCE] = { cmd_dma, HD_OK },
    [WIN_STANDBYNOW1] = { cmd_nop, HD_OK },
    [WIN_IDLEIMMEDIATE] = { cmd_nop, HD_OK },
    [WIN_STANDBY] = { cmd_nop, HD_OK },
    [WIN_SETIDLE1] = { cmd_nop, HD_OK },
    [WIN_CHECKPOWERMODE1] = { cmd_check_power_mode, HD_OK | SET_DSC },
    [WIN_SLEEPNOW1] = { cmd_nop, HD_OK },
    [WIN_FLUSH_CACHE] = { cmd_flush_cache, ALL_OK },
    [WIN_FLUSH_CACHE_EXT] = { cmd_flush_cache, HD_OK },
    [WIN_IDENTIFY] = { cmd_identify, ALL_OK },
    [WIN_SETFEATURES] = { cmd_set_features, ALL_OK | SET_DSC },
    [WIN_READ_NATIVE_MAX] = { cmd_read_native_max, HD_OK | SET_DSC },
};

void ide_exec_cmd(struct ide_channel *ch, uint8_t cmd)
{
    struct ide_drive *s = ide_active(ch);
    unsigned need;

    /* A command to a missing slave is ignored (ATA/ATAPI-6 9.16.1). */
    if (ch->unit == 1 && s->kind == IDE_KIND_NONE) {
        return;
    }
    /* While BSY or DRQ only DEVICE RESET, and only to a packet device. */
    if (s->status & (IDE_ST_BSY | IDE_ST_DRQ)) {
        if (cmd != WIN_DEVICE_RESET || s->kind != IDE_KIND_CD) {
            return;
        }
    }
    need = s->kind == IDE_KIND_CD ? CD_OK : HD_OK;
    if (s->kind == IDE_KIND_NONE || !ide_cmds[cmd].fn || !(ide_cmds[cmd].flags & need)) {
        log_mask(LOG_UNIMP, "ide%u.%u: command 0x%02x aborted\n", ch->index, ch->unit, cmd);
        ide_abort(s);
        ide_set_irq(ch);
        return;
    }
    s->status = IDE_ST_DRDY | IDE_ST_BSY;
    s->error = 0;
    if (ide_cmds[cmd].fn(s, cmd)) {
        s->status &= ~IDE_ST_BSY;
        if ((ide_cmds[cmd].flags & SET_DSC) && !s->error) {
            s->status |= IDE_ST_DSC;
        }
        ide_set_irq(ch);
    }
}
