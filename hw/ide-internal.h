/*
 * The IDE controller's insides, shared by ide-core.c (task file, PIO,
 * reset, interrupt, bus-master DMA engine), ide-ata.c (ATA commands),
 * ide-atapi.c (ATAPI packets) and ide-piix.c (the PIIX3 PCI function and
 * the drives' creation).  Nothing outside hw/ide-*.c includes this; the
 * rest of hyvm uses hw/ide.h.
 *
 * Register and bit names follow ATA/ATAPI-6 (T13/1410D) section 7 and the
 * PIIX3 datasheet (Intel 82371SB, section 2.7, bus master IDE registers).
 *
 * Threads: all state is under the big lock: register accesses come from
 * vCPU threads holding it, block completions run on the main loop under it.
 */
#ifndef HYVM_IDE_INTERNAL_H
#define HYVM_IDE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/ide.h"

struct blk;
struct ide_drive;
struct ide_channel;

/* Status register (ATA/ATAPI-6 7.15.6). */
#define IDE_ST_ERR      0x01
#define IDE_ST_DRQ      0x08
#define IDE_ST_DSC      0x10    /* "seek complete" of older ATA */
#define IDE_ST_DRDY     0x40
#define IDE_ST_BSY      0x80

/* Error register bits. */
#define IDE_ERR_ABRT    0x04
#define IDE_ERR_MC      0x20

/* Device control register (7.9.6). */
#define IDE_CTL_NIEN    0x02
#define IDE_CTL_SRST    0x04
#define IDE_CTL_HOB     0x80

/* Device/head register. */
#define IDE_DEV_LBA     0x40
#define IDE_DEV_SLAVE   0x10
#define IDE_DEV_OBS     0xa0    /* bits 7 and 5, always read as one */

/* Bus master IDE (82371SB 2.7.1-2.7.3). */
#define BM_CMD_START    0x01
#define BM_CMD_READ     0x08    /* the device writes memory */
#define BM_ST_ACTIVE    0x01
#define BM_ST_ERROR     0x02
#define BM_ST_INT       0x04

/* ATAPI interrupt reason, in the sector count register (ATAPI 5.12). */
#define ATAPI_IR_COD    0x01
#define ATAPI_IR_IO     0x02

#define IDE_SECTOR_SIZE 512
#define CD_SECTOR_SIZE  2048
/* QEMU's largest READ/WRITE MULTIPLE block (IDENTIFY word 47). */
#define IDE_MAX_MULT    16
/* Room for a LBA28 PIO command's 256 sectors, and then some. */
#define IDE_BUF_SIZE    (256 * IDE_SECTOR_SIZE + 4)

enum ide_kind { IDE_KIND_NONE, IDE_KIND_HD, IDE_KIND_CD };

/* TRIM: DATA SET MANAGEMENT's range list comes by DMA (ATA8-ACS 7.10). */
enum ide_dma_cmd { IDE_DMA_NONE, IDE_DMA_READ, IDE_DMA_WRITE, IDE_DMA_ATAPI, IDE_DMA_TRIM };

/* Called when the guest has moved the last byte of a PIO data block. */
typedef void ide_end_fn(struct ide_drive *s);

/* ATAPI sense keys and additional sense codes (SPC-3 4.5.6, MMC-5 F.1). */
enum {
    SENSE_NONE = 0, SENSE_NOT_READY = 2, SENSE_ILLEGAL_REQUEST = 5, SENSE_UNIT_ATTENTION = 6,
};
enum {
    ASC_ILLEGAL_OPCODE = 0x20, ASC_LBA_OUT_OF_RANGE = 0x21, ASC_INV_FIELD_IN_CDB = 0x24,
    ASC_MEDIUM_MAY_HAVE_CHANGED = 0x28, ASC_SAVING_PARAMS_NOT_SUPPORTED = 0x39,
    ASC_MEDIUM_NOT_PRESENT = 0x3a, ASC_DATA_PHASE_ERROR = 0x4b,
    ASC_MEDIA_REMOVAL_PREVENTED = 0x53,
};

struct ide_drive {
    struct ide_channel *ch;
    unsigned unit;                  /* 0 master, 1 slave */
    enum ide_kind kind;
    struct blk *blk;                /* our reference; NULL when kind is NONE */
    char serial[21];
    char model[41];
    char version[9];
    char *qdev;                     /* QOM path query-block shows */

    /* Geometry (QEMU's hd_geometry_guess) and size in 512-byte sectors. */
    uint32_t cylinders, heads, sectors;
    uint32_t drive_heads, drive_sectors;    /* before INITIALIZE DEVICE PARAMETERS */
    bool reset_reverts;
    int translation;                /* IDE_TRANS_* */
    uint64_t nb_sectors;

    /* Task file. nsector holds a whole count once a command decoded it. */
    uint8_t feature, error, sector, lcyl, hcyl, select, status;
    uint32_t nsector;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    bool lba48;
    unsigned mult_sectors, req_nb_sectors;
    uint8_t identify[512];
    bool identify_set;

    /* PIO data block: io_buffer[data_pos, data_end), moving toward the
     * guest when pio_out. */
    uint8_t *io_buffer;
    unsigned data_pos, data_end;
    bool pio_out;
    ide_end_fn *end_fn;
    bool io_busy;                   /* a block request of ours is in flight */

    /* DMA: the command waits for the bus master's start bit. */
    enum ide_dma_cmd dma_cmd;

    /* ATAPI. */
    uint8_t sense_key, asc;
    int cdrom_changed;              /* 1: report "no medium", 2: then "changed" */
    bool tray_open, tray_locked, new_media, eject_request;
    bool atapi_dma;
    int64_t lba;                    /* next CD sector to read, -1: reply in io_buffer */
    int64_t packet_transfer_size;   /* bytes still to move */
    int64_t elementary_transfer_size;
    unsigned io_buffer_index, cd_sector_size;
};

struct ide_bmdma {
    uint8_t cmd, status;
    uint32_t addr;                  /* PRD table, dword aligned */
};

struct ide_channel {
    struct ide_drive drive[2];
    unsigned index;                 /* 0 primary, 1 secondary */
    unsigned unit;                  /* the selected drive */
    uint8_t ctl;                    /* device control as last written */
    unsigned gsi;
    struct ide_bmdma bm;
    /* A bus-master transfer submitted to the block layer: its iovecs. */
    struct iovec *dma_iov;
    int dma_niov;
    int64_t dma_sector;             /* ATA: the first sector, for the task file */
    uint32_t dma_n;                 /* ATA: sectors */
    uint8_t *trim_list;             /* TRIM: the range list, walked one discard at a time */
    uint64_t trim_len, trim_off;
};

/* ide-core.c */
struct ide_drive *ide_active(struct ide_channel *ch);
void ide_set_irq(struct ide_channel *ch);
void ide_abort(struct ide_drive *s);
void ide_transfer_start(struct ide_drive *s, unsigned size, bool out, ide_end_fn *end);
void ide_transfer_stop(struct ide_drive *s);
void ide_set_signature(struct ide_drive *s);
void ide_drive_reset(struct ide_drive *s);
void ide_channel_reset(struct ide_channel *ch);
/* Where the bus master meets a command: starts the transfer now if the
 * guest has set the start bit, else when it does. */
void ide_dma_begin(struct ide_drive *s, enum ide_dma_cmd cmd);
void ide_bmdma_write_cmd(struct ide_channel *ch, uint8_t val);
/* Completes every request of both drives (cancel, reset). */
void ide_channel_drain(struct ide_channel *ch);
extern const struct io_ops ide_cmd_ops, ide_ctl_ops;

/* ide-ata.c */
void ide_exec_cmd(struct ide_channel *ch, uint8_t cmd);
void ide_identify_build(struct ide_drive *s);
void ide_atapi_identify_build(struct ide_drive *s);
int64_t ide_get_sector(struct ide_drive *s);
void ide_set_sector(struct ide_drive *s, int64_t sector);
bool ide_sect_range_ok(struct ide_drive *s, int64_t sector, uint64_t n);
void ide_dma_ata_done(struct ide_drive *s, int ret, int64_t sector, unsigned n);

/* ide-atapi.c */
bool ide_cmd_packet(struct ide_drive *s);
void ide_atapi_cmd_ok(struct ide_drive *s);
void ide_atapi_cmd_error(struct ide_drive *s, int sense_key, int asc);
void ide_atapi_io_error(struct ide_drive *s, int ret);
bool ide_atapi_media_present(struct ide_drive *s);
void ide_tray_moved(struct ide_drive *s, bool open);

#endif
