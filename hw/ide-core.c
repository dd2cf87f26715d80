/*
 * IDE channel core: the task file registers (ATA/ATAPI-6 section 7), the
 * PIO data port, the device control register (nIEN, SRST), the channel's
 * interrupt, and the bus-master DMA engine that walks the guest's PRD
 * table (82371SB datasheet 2.7 and 3.5: Physical Region Descriptors of a
 * 32-bit address and a byte count, bit 31 of the second dword ending the
 * table, a count of 0 meaning 64 KiB).
 *
 * Behaviour follows QEMU 7.2's hw/ide/core.c where guests can tell:
 * registers of an absent slave read 0, commands to it are ignored, every
 * interrupt also sets the bus master's interrupt bit, a PRD table shorter
 * than the command ends the transfer without an interrupt.
 *
 * Threads: under the big lock (vCPU register accesses, main-loop block
 * completions).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <glib.h>

#include "block/block-backend.h"
#include "hw/ide-internal.h"
#include "hw/irq.h"
#include "system/le.h"
#include "system/log.h"
#include "system/memory.h"

/* A PRD table may not run past the page it starts in (QEMU's fail-safe). */
#define PRD_TABLE_MAX_BYTES 4096
#define PRD_EOT             0x80000000u

struct ide_drive *ide_active(struct ide_channel *ch)
{
    return &ch->drive[ch->unit];
}

/* The channel's INTRQ, unless nIEN masks it; the bus master latches it in
 * its interrupt bit (82371SB 2.7.2, bit 2). */
void ide_set_irq(struct ide_channel *ch)
{
    if (!(ch->ctl & IDE_CTL_NIEN)) {
        ch->bm.status |= BM_ST_INT;
        irq_set_level(ch->gsi, 1);
    }
}

static void ide_lower_irq(struct ide_channel *ch)
{
    irq_set_level(ch->gsi, 0);
}

void ide_abort(struct ide_drive *s)
{
    ide_transfer_stop(s);
    s->status = IDE_ST_DRDY | IDE_ST_ERR;
    s->error = IDE_ERR_ABRT;
}

void ide_transfer_start(struct ide_drive *s, unsigned size, bool out, ide_end_fn *end)
{
    s->data_pos = 0;
    s->data_end = size;
    s->pio_out = out;
    s->end_fn = end;
    if (!(s->status & IDE_ST_ERR)) {
        s->status |= IDE_ST_DRQ;
    }
}

void ide_transfer_stop(struct ide_drive *s)
{
    s->end_fn = ide_transfer_stop;
    s->data_pos = s->data_end = 0;
    s->pio_out = true;
    s->status &= ~IDE_ST_DRQ;
}

/* The signature a reset or diagnostic leaves (ATA/ATAPI-6 9.12): sector
 * count and number 1, cylinder 0 for ATA, 0xeb14 for a packet device. */
void ide_set_signature(struct ide_drive *s)
{
    s->select &= 0xf0;
    s->nsector = 1;
    s->sector = 1;
    if (s->kind == IDE_KIND_CD) {
        s->lcyl = 0x14;
        s->hcyl = 0xeb;
    } else if (s->kind == IDE_KIND_HD) {
        s->lcyl = 0;
        s->hcyl = 0;
    } else {
        s->lcyl = 0xff;
        s->hcyl = 0xff;
    }
}

void ide_drive_reset(struct ide_drive *s)
{
    if (s->reset_reverts) {
        s->reset_reverts = false;
        s->heads = s->drive_heads;
        s->sectors = s->drive_sectors;
    }
    s->mult_sectors = IDE_MAX_MULT;
    s->feature = s->error = s->sector = s->lcyl = s->hcyl = 0;
    s->nsector = 0;
    s->hob_feature = s->hob_nsector = s->hob_sector = s->hob_lcyl = s->hob_hcyl = 0;
    s->select = IDE_DEV_OBS;
    s->status = IDE_ST_DRDY | IDE_ST_DSC;
    s->lba48 = false;
    s->sense_key = s->asc = 0;
    s->cdrom_changed = 0;
    s->packet_transfer_size = s->elementary_transfer_size = 0;
    s->io_buffer_index = s->cd_sector_size = 0;
    s->atapi_dma = false;
    s->tray_locked = s->tray_open = false;
    s->req_nb_sectors = 0;
    s->dma_cmd = IDE_DMA_NONE;
    ide_set_signature(s);
    /* Data reads before any command see all ones. */
    ide_transfer_stop(s);
    memset(s->io_buffer, 0xff, 4);
}

void ide_channel_drain(struct ide_channel *ch)
{
    for (unsigned i = 0; i < IDE_UNITS; i++) {
        if (ch->drive[i].blk && ch->drive[i].io_busy) {
            blk_drain(ch->drive[i].blk);
        }
    }
}

void ide_channel_reset(struct ide_channel *ch)
{
    ide_channel_drain(ch);
    ch->unit = 0;
    ch->ctl = 0;
    memset(&ch->bm, 0, sizeof(ch->bm));
    for (unsigned i = 0; i < IDE_UNITS; i++) {
        ide_drive_reset(&ch->drive[i]);
    }
    ide_lower_irq(ch);
}

/* SRST (ATA/ATAPI-6 9.2): each device resets and runs its diagnostic; a
 * packet device leaves status 0 (no DRDY), an ATA device DRDY and an
 * interrupt.  Error 1 is the diagnostic's "passed". */
static void ide_srst(struct ide_channel *ch)
{
    ide_channel_drain(ch);
    for (unsigned i = 0; i < IDE_UNITS; i++) {
        struct ide_drive *s = &ch->drive[i];

        ide_drive_reset(s);
        s->error = 0x01;
        if (s->kind == IDE_KIND_CD) {
            s->status = 0;
        } else {
            s->status = IDE_ST_DRDY | IDE_ST_DSC;
            ide_set_irq(ch);
        }
    }
}

/* ---- registers ---- */

static bool ide_no_drives(struct ide_channel *ch)
{
    return ch->drive[0].kind == IDE_KIND_NONE && ch->drive[1].kind == IDE_KIND_NONE;
}

/* Error and status of a missing slave (or of a channel with no drive) read 0. */
static bool ide_reads_zero(struct ide_channel *ch)
{
    return ide_no_drives(ch) || (ch->unit == 1 && ch->drive[1].kind == IDE_KIND_NONE);
}

static uint32_t ide_data_read(struct ide_channel *ch, unsigned size)
{
    struct ide_drive *s = ide_active(ch);
    uint32_t v = 0;

    /* Only a data-in phase moves data; anything else reads 0. */
    if (!(s->status & IDE_ST_DRQ) || !s->pio_out || s->data_pos + size > s->data_end) {
        return 0;
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)s->io_buffer[s->data_pos + i] << (8 * i);
    }
    s->data_pos += size;
    if (s->data_pos >= s->data_end) {
        s->status &= ~IDE_ST_DRQ;
        s->end_fn(s);
    }
    return v;
}

static void ide_data_write(struct ide_channel *ch, uint32_t v, unsigned size)
{
    struct ide_drive *s = ide_active(ch);

    if (!(s->status & IDE_ST_DRQ) || s->pio_out || s->data_pos + size > s->data_end) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        s->io_buffer[s->data_pos + i] = v >> (8 * i);
    }
    s->data_pos += size;
    if (s->data_pos >= s->data_end) {
        s->status &= ~IDE_ST_DRQ;
        s->end_fn(s);
    }
}

static uint8_t ide_reg_read(struct ide_channel *ch, unsigned reg)
{
    struct ide_drive *s = ide_active(ch);
    bool hob = ch->ctl & IDE_CTL_HOB;

    switch (reg) {
    case 0:
        return 0xff;    /* the data port takes 16 and 32 bits */
    case 1:
        return ide_reads_zero(ch) ? 0 : hob ? s->hob_feature : s->error;
    /* The others show what the missing slave holds: its signature says
     * "no device" (cylinder 0xffff), as QEMU's read. */
    case 2:
        return ide_no_drives(ch) ? 0 : hob ? s->hob_nsector : (uint8_t)s->nsector;
    case 3:
        return ide_no_drives(ch) ? 0 : hob ? s->hob_sector : s->sector;
    case 4:
        return ide_no_drives(ch) ? 0 : hob ? s->hob_lcyl : s->lcyl;
    case 5:
        return ide_no_drives(ch) ? 0 : hob ? s->hob_hcyl : s->hcyl;
    case 6:
        return ide_no_drives(ch) ? 0 : s->select;
    default:
        /* Reading status acknowledges the interrupt (7.15.6). */
        ide_lower_irq(ch);
        return ide_reads_zero(ch) ? 0 : s->status;
    }
}

static void ide_reg_write(struct ide_channel *ch, unsigned reg, uint8_t val)
{
    /* The task file belongs to the busy device until its command is done:
     * while it is BSY or DRQ only the command register is taken (QEMU's
     * rule), so the other device cannot be selected and started under a
     * transfer that uses the channel's DMA and TRIM state. */
    if (reg != 7 && (ide_active(ch)->status & (IDE_ST_BSY | IDE_ST_DRQ))) {
        return;
    }
    /* Writes other than to the data port go to both devices, and the
     * previous value of each register becomes its "high order" byte for
     * the 48-bit commands (ATA/ATAPI-6 6.20). */
    if (reg != 0) {
        ch->ctl &= ~IDE_CTL_HOB;
    }
    for (unsigned i = 0; i < IDE_UNITS && reg >= 1 && reg <= 5; i++) {
        struct ide_drive *s = &ch->drive[i];

        switch (reg) {
        case 1:
            s->hob_feature = s->feature;
            s->feature = val;
            break;
        case 2:
            s->hob_nsector = (uint8_t)s->nsector;
            s->nsector = val;
            break;
        case 3:
            s->hob_sector = s->sector;
            s->sector = val;
            break;
        case 4:
            s->hob_lcyl = s->lcyl;
            s->lcyl = val;
            break;
        default:
            s->hob_hcyl = s->hcyl;
            s->hcyl = val;
            break;
        }
    }
    if (reg == 6) {
        ch->drive[0].select = val | IDE_DEV_OBS;
        ch->drive[1].select = val | IDE_DEV_OBS;
        ch->unit = (val & IDE_DEV_SLAVE) ? 1 : 0;
    } else if (reg == 7) {
        ide_lower_irq(ch);
        ide_exec_cmd(ch, val);
    }
}

static uint64_t ide_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ide_channel *ch = opaque;
    uint64_t v = 0;

    if (offset == 0 && (size == 2 || size == 4)) {
        return ide_data_read(ch, size);
    }
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        v |= (uint64_t)ide_reg_read(ch, offset + i) << (8 * i);
    }
    return v;
}

static void ide_cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct ide_channel *ch = opaque;

    if (offset == 0 && (size == 2 || size == 4)) {
        ide_data_write(ch, value, size);
        return;
    }
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        ide_reg_write(ch, offset + i, value >> (8 * i));
    }
}

const struct io_ops ide_cmd_ops = { .read = ide_cmd_read, .write = ide_cmd_write };

/* 0x3f6/0x376: alternate status (no interrupt acknowledge) and device control. */
static uint64_t ide_ctl_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ide_channel *ch = opaque;

    return ide_reads_zero(ch) ? 0 : ide_active(ch)->status;
}

static void ide_ctl_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct ide_channel *ch = opaque;
    bool srst = !(ch->ctl & IDE_CTL_SRST) && (value & IDE_CTL_SRST);

    ch->ctl = value;
    if (srst) {
        ide_srst(ch);
        /* The reset is done at once; the next write with SRST set starts
         * another. */
        ch->ctl &= ~IDE_CTL_SRST;
    }
}

const struct io_ops ide_ctl_ops = { .read = ide_ctl_read, .write = ide_ctl_write };

/* ---- bus-master DMA ---- */

static void ide_dma_inactive(struct ide_drive *s)
{
    s->ch->bm.status &= ~BM_ST_ACTIVE;
    s->dma_cmd = IDE_DMA_NONE;
}

/*
 * The guest's PRD list as host iovecs for want bytes.  Returns the bytes
 * the table describes (less than want: the table is short), or -EFAULT
 * when the table or a region lies outside RAM.
 */
static int64_t ide_prd_walk(struct ide_channel *ch, uint64_t want, struct iovec **iovp,
                            int *niovp)
{
    unsigned max = PRD_TABLE_MAX_BYTES / 8;
    struct iovec *iov = g_new(struct iovec, max);
    uint64_t got = 0;
    int n = 0;

    for (unsigned i = 0; i < max && got < want; i++) {
        uint64_t at = ch->bm.addr + 8ull * i;
        uint8_t prd[8];
        uint32_t base, cnt, len;
        void *hva;

        if (ram_read(at, prd, sizeof(prd)) < 0) {
            log_mask(LOG_GUEST_ERROR, "ide%u: PRD table entry at 0x%" PRIx64
                     " is outside RAM\n", ch->index, at);
            goto fault;
        }
        base = ld32(prd);
        cnt = ld32(prd + 4);
        len = cnt & 0xfffe;
        len = len ? len : 0x10000;
        len = MIN((uint64_t)len, want - got);
        hva = ram_hva(base, len);
        if (!hva) {
            log_mask(LOG_GUEST_ERROR, "ide%u: PRD region 0x%x+0x%x is outside RAM\n",
                     ch->index, base, len);
            goto fault;
        }
        iov[n].iov_base = hva;
        iov[n].iov_len = len;
        n++;
        got += len;
        if (cnt & PRD_EOT) {
            break;
        }
    }
    *iovp = iov;
    *niovp = n;
    return (int64_t)got;

fault:
    g_free(iov);
    return -EFAULT;
}

static void ide_dma_cb(void *opaque, int ret)
{
    struct ide_drive *s = opaque;
    struct ide_channel *ch = s->ch;
    enum ide_dma_cmd cmd = s->dma_cmd;

    s->io_busy = false;
    if (ret == 0 && cmd != IDE_DMA_WRITE && cmd != IDE_DMA_TRIM) {
        for (int i = 0; i < ch->dma_niov; i++) {
            ram_dma_written(ch->dma_iov[i].iov_base, ch->dma_iov[i].iov_len);
        }
    }
    g_free(ch->dma_iov);
    ch->dma_iov = NULL;
    ch->dma_niov = 0;
    if (cmd == IDE_DMA_ATAPI) {
        if (ret < 0) {
            ide_atapi_io_error(s, ret);
        } else {
            s->packet_transfer_size = 0;
            ide_atapi_cmd_ok(s);
        }
    } else {
        ide_dma_ata_done(s, ret, ch->dma_sector, ch->dma_n);
    }
    ide_dma_inactive(s);
}

static void ide_trim_next(struct ide_drive *s, int ret);

static void ide_trim_cb(void *opaque, int ret)
{
    ide_trim_next(opaque, ret);
}

/*
 * TRIM: the range list (ATA8-ACS 7.10.3.2: each entry a 48-bit LBA and a
 * 16-bit count, a count of 0 skipped), one discard at a time so a long
 * list holds one request.  A range off the disk fails the command, as
 * QEMU's.
 */
static void ide_trim_next(struct ide_drive *s, int ret)
{
    struct ide_channel *ch = s->ch;

    while (ret == 0 && ch->trim_off + 8 <= ch->trim_len) {
        uint64_t e = ld64(ch->trim_list + ch->trim_off), lba = e & 0xffffffffffffull;
        uint64_t n = e >> 48;

        ch->trim_off += 8;
        if (!n) {
            continue;
        }
        if (!ide_sect_range_ok(s, lba, n)) {
            ret = -EINVAL;
            break;
        }
        blk_aio_discard(s->blk, lba * IDE_SECTOR_SIZE, n * IDE_SECTOR_SIZE, ide_trim_cb, s);
        return;
    }
    g_free(ch->trim_list);
    ch->trim_list = NULL;
    ide_dma_cb(s, ret);
}

static void ide_trim(struct ide_drive *s, const struct iovec *iov, int niov, uint64_t bytes)
{
    struct ide_channel *ch = s->ch;
    uint64_t done = 0;

    ch->trim_list = g_malloc(bytes ? bytes : 1);
    for (int i = 0; i < niov; i++) {
        memcpy(ch->trim_list + done, iov[i].iov_base, iov[i].iov_len);
        done += iov[i].iov_len;
    }
    ch->trim_len = bytes;
    ch->trim_off = 0;
    ide_trim_next(s, 0);
}

/* The command and the start bit have both come: move the data. */
static void ide_dma_run(struct ide_drive *s)
{
    struct ide_channel *ch = s->ch;
    uint64_t off = 0, bytes;
    struct iovec *iov;
    int64_t got;
    int niov;

    if (s->dma_cmd == IDE_DMA_ATAPI) {
        bytes = s->packet_transfer_size;
        off = s->lba >= 0 ? (uint64_t)s->lba * CD_SECTOR_SIZE : 0;
    } else if (s->dma_cmd == IDE_DMA_TRIM) {
        ch->dma_sector = ide_get_sector(s);
        ch->dma_n = s->nsector;
        bytes = (uint64_t)s->nsector * IDE_SECTOR_SIZE;
    } else {
        ch->dma_sector = ide_get_sector(s);
        ch->dma_n = s->nsector;
        bytes = (uint64_t)s->nsector * IDE_SECTOR_SIZE;
        off = (uint64_t)ch->dma_sector * IDE_SECTOR_SIZE;
        if (!ide_sect_range_ok(s, ch->dma_sector, s->nsector)) {
            ide_abort(s);
            ide_dma_inactive(s);
            ide_set_irq(ch);
            return;
        }
    }
    got = ide_prd_walk(ch, bytes, &iov, &niov);
    if (got < 0) {
        /* A bad PRD: the bus master reports an error (82371SB 2.7.2, bit 1)
         * and the command fails. */
        ch->bm.status |= BM_ST_ERROR;
        ide_abort(s);
        ide_dma_inactive(s);
        ide_set_irq(ch);
        return;
    }
    if ((uint64_t)got < bytes) {
        /* The PRDs are too short: QEMU drops the active bit and raises no
         * interrupt; the guest's timeout handles it. */
        g_free(iov);
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
        ide_dma_inactive(s);
        return;
    }
    ch->dma_iov = iov;
    ch->dma_niov = niov;
    s->io_busy = true;
    if (s->dma_cmd == IDE_DMA_ATAPI && s->lba < 0) {
        /* A reply already in io_buffer (INQUIRY and the like). */
        uint64_t done = 0;

        for (int i = 0; i < niov; i++) {
            memcpy(iov[i].iov_base, s->io_buffer + done, iov[i].iov_len);
            done += iov[i].iov_len;
        }
        ide_dma_cb(s, 0);
    } else if (s->dma_cmd == IDE_DMA_TRIM) {
        ide_trim(s, iov, niov, bytes);
    } else if (s->dma_cmd == IDE_DMA_WRITE) {
        blk_aio_pwritev(s->blk, off, bytes, iov, niov, ide_dma_cb, s);
    } else {
        blk_aio_preadv(s->blk, off, bytes, iov, niov, ide_dma_cb, s);
    }
}

void ide_dma_begin(struct ide_drive *s, enum ide_dma_cmd cmd)
{
    s->dma_cmd = cmd;
    if (s->ch->bm.status & BM_ST_ACTIVE) {
        ide_dma_run(s);
    }
}

/* Bus master command register (82371SB 2.7.1): start/stop and direction. */
void ide_bmdma_write_cmd(struct ide_channel *ch, uint8_t val)
{
    if ((val ^ ch->bm.cmd) & BM_CMD_START) {
        if (!(val & BM_CMD_START)) {
            /* Stopping waits for the request in flight, as QEMU's
             * ide_cancel_dma_sync. */
            ide_channel_drain(ch);
            ch->bm.status &= ~BM_ST_ACTIVE;
        } else if (!(ch->bm.status & BM_ST_ACTIVE)) {
            struct ide_drive *s = ide_active(ch);

            ch->bm.status |= BM_ST_ACTIVE;
            if (s->dma_cmd != IDE_DMA_NONE && !s->io_busy) {
                ch->bm.cmd = val & (BM_CMD_START | BM_CMD_READ);
                ide_dma_run(s);
                return;
            }
        }
    }
    ch->bm.cmd = val & (BM_CMD_START | BM_CMD_READ);
}
