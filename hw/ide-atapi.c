/*
 * ATAPI CD-ROM: the PACKET command's 12-byte CDBs (SPC-3 and MMC-5), as
 * QEMU 7.2's hw/ide/atapi.c answers them: TEST UNIT READY, REQUEST SENSE,
 * INQUIRY, READ CAPACITY, READ(10)/(12)/CD, SEEK, MODE SENSE(10), READ
 * TOC/PMA/ATIP, GET CONFIGURATION, GET EVENT STATUS NOTIFICATION, READ DISC
 * INFORMATION, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, MECHANISM
 * STATUS, SET CD SPEED.  Data goes by PIO in blocks no larger than the
 * byte count limit the host put in the cylinder registers (ATA/ATAPI-6
 * 8.21 and 9.10), or by bus-master DMA when the PACKET's feature bit 0
 * asks.  2048-byte sectors.
 *
 * Threads: under the big lock.
 */
#include <errno.h>
#include <string.h>

#include "block/block-backend.h"
#include "hw/ide-internal.h"
#include "qapi/qmp.h"
#include "system/log.h"

#define ATAPI_PACKET_SIZE 12
/* QEMU's line between a CD and a DVD: 80 minutes of 2048-byte sectors. */
#define CD_MAX_SECTORS  (80ull * 60 * 75 * 2048 / 512)
#define MMC_PROFILE_CD_ROM  0x0008
#define MMC_PROFILE_DVD_ROM 0x0010
#define GESN_MEDIA          4

/* Command flags: a pending UNIT ATTENTION does not stop it; it needs a
 * medium; it moves no data (a byte count limit of 0 is fine). */
#define ALLOW_UA    0x01
#define CHECK_READY 0x02
#define NONDATA     0x04
#define CONDDATA    0x08

static uint16_t be16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void stw_be(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void stl_be(uint8_t *p, uint32_t v)
{
    stw_be(p, v >> 16);
    stw_be(p + 2, v);
}

static void padstr8(uint8_t *buf, unsigned len, const char *src)
{
    for (unsigned i = 0; i < len; i++) {
        buf[i] = *src ? *src++ : ' ';
    }
}

/* The tray moves: QMP clients hear DEVICE_TRAY_MOVED, as from QEMU. */
void ide_tray_moved(struct ide_drive *s, bool open)
{
    JsonObject *data;

    if (s->tray_open == open) {
        return;
    }
    s->tray_open = open;
    data = json_object_new();
    json_object_set_string_member(data, "device", blk_name(s->blk));
    json_object_set_boolean_member(data, "tray-open", open);
    json_object_set_string_member(data, "id", s->qdev ? s->qdev : "");
    qmp_event_emit("DEVICE_TRAY_MOVED", data);
}

bool ide_atapi_media_present(struct ide_drive *s)
{
    return s->nb_sectors > 0 && blk_is_inserted(s->blk);
}

static uint64_t cd_total_sectors(struct ide_drive *s)
{
    return s->nb_sectors >> 2;
}

void ide_atapi_cmd_ok(struct ide_drive *s)
{
    s->error = 0;
    s->status = IDE_ST_DRDY | IDE_ST_DSC;
    s->nsector = (s->nsector & ~7u) | ATAPI_IR_IO | ATAPI_IR_COD;
    ide_transfer_stop(s);
    ide_set_irq(s->ch);
}

void ide_atapi_cmd_error(struct ide_drive *s, int sense_key, int asc)
{
    s->error = sense_key << 4;
    s->status = IDE_ST_DRDY | IDE_ST_ERR;
    s->nsector = (s->nsector & ~7u) | ATAPI_IR_IO | ATAPI_IR_COD;
    s->sense_key = sense_key;
    s->asc = asc;
    ide_transfer_stop(s);
    ide_set_irq(s->ch);
}

void ide_atapi_io_error(struct ide_drive *s, int ret)
{
    if (ret == -ENOMEDIUM) {
        ide_atapi_cmd_error(s, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    } else {
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
    }
}

/* The byte count limit of the cylinder registers; 0xffff means 0xfffe. */
static unsigned atapi_bcl(struct ide_drive *s)
{
    unsigned bcl = s->lcyl | s->hcyl << 8;

    return bcl == 0xffff ? 0xfffe : bcl;
}

static void ide_atapi_reply_end(struct ide_drive *s);

static void ide_atapi_sector_cb(void *opaque, int ret)
{
    struct ide_drive *s = opaque;

    s->io_busy = false;
    s->status &= ~IDE_ST_BSY;
    if (ret < 0) {
        ide_atapi_io_error(s, ret);
        return;
    }
    s->lba++;
    s->io_buffer_index = 0;
    ide_atapi_reply_end(s);
}

/*
 * The PIO state machine of a reply (QEMU's ide_atapi_cmd_reply_end): each
 * DRQ block is at most the byte count limit, its size in the cylinder
 * registers and an interrupt before it; sector data is read one sector at
 * a time, a new block's first sector asynchronously.
 */
static void ide_atapi_reply_end(struct ide_drive *s)
{
    int64_t size;

    if (s->packet_transfer_size <= 0) {
        ide_atapi_cmd_ok(s);
        return;
    }
    if (s->lba >= 0 && s->io_buffer_index >= s->cd_sector_size) {
        uint64_t off = (uint64_t)s->lba * CD_SECTOR_SIZE;

        if (!s->elementary_transfer_size) {
            struct iovec iov = { s->io_buffer, CD_SECTOR_SIZE };

            s->status |= IDE_ST_BSY;
            s->io_busy = true;
            blk_aio_preadv(s->blk, off, CD_SECTOR_SIZE, &iov, 1, ide_atapi_sector_cb, s);
            return;
        }
        /* Within a DRQ block the next sector must be there at once. */
        int ret = blk_pread(s->blk, off, s->io_buffer, CD_SECTOR_SIZE);

        if (ret < 0) {
            ide_atapi_io_error(s, ret);
            return;
        }
        s->lba++;
        s->io_buffer_index = 0;
    }
    if (s->elementary_transfer_size > 0) {
        size = MIN((int64_t)(s->cd_sector_size - s->io_buffer_index),
                   s->elementary_transfer_size);
    } else {
        int64_t bcl = atapi_bcl(s);

        s->nsector = (s->nsector & ~7u) | ATAPI_IR_IO;
        ide_set_irq(s->ch);
        size = s->packet_transfer_size;
        if (size > bcl) {
            size = bcl & ~1;    /* an even count when the limit cuts it */
        }
        s->lcyl = size;
        s->hcyl = size >> 8;
        s->elementary_transfer_size = size;
        if (s->lba >= 0) {
            size = MIN(size, (int64_t)(s->cd_sector_size - s->io_buffer_index));
        }
    }
    s->packet_transfer_size -= size;
    s->elementary_transfer_size -= size;
    s->io_buffer_index += size;
    /* The block is the bytes just before io_buffer_index: the reply's
     * next part, or the current sector's. */
    ide_transfer_start(s, size, true, ide_atapi_reply_end);
    s->data_pos = s->io_buffer_index - size;
    s->data_end = s->io_buffer_index;
}

/* A reply of size bytes in io_buffer, at most max_size of it sent. */
static void ide_atapi_cmd_reply(struct ide_drive *s, int64_t size, int64_t max_size)
{
    size = MIN(size, max_size);
    s->lba = -1;
    s->packet_transfer_size = size;
    s->elementary_transfer_size = 0;
    if (s->atapi_dma) {
        s->status = IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_DRQ;
        ide_dma_begin(s, IDE_DMA_ATAPI);
    } else {
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
        s->io_buffer_index = 0;
        ide_atapi_reply_end(s);
    }
}

static void ide_atapi_cmd_read(struct ide_drive *s, uint32_t lba, uint32_t n)
{
    s->lba = lba;
    s->packet_transfer_size = (int64_t)n * CD_SECTOR_SIZE;
    s->elementary_transfer_size = 0;
    s->cd_sector_size = CD_SECTOR_SIZE;
    if (s->atapi_dma) {
        s->status = IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_DRQ;
        ide_dma_begin(s, IDE_DMA_ATAPI);
    } else {
        s->status = IDE_ST_DRDY | IDE_ST_DSC;
        s->io_buffer_index = CD_SECTOR_SIZE;    /* read one first */
        ide_atapi_reply_end(s);
    }
}

/* ---- the commands ---- */

static void cmd_test_unit_ready(struct ide_drive *s, uint8_t *buf)
{
    ide_atapi_cmd_ok(s);    /* not-ready was answered before */
}

static void cmd_request_sense(struct ide_drive *s, uint8_t *buf)
{
    unsigned max_len = buf[4];

    memset(buf, 0, 18);
    buf[0] = 0x70 | 0x80;   /* current error, valid */
    buf[2] = s->sense_key;
    buf[7] = 10;
    buf[12] = s->asc;
    if (s->sense_key == SENSE_UNIT_ATTENTION) {
        s->sense_key = SENSE_NONE;
    }
    ide_atapi_cmd_reply(s, 18, max_len);
}

static void cmd_inquiry(struct ide_drive *s, uint8_t *buf)
{
    uint8_t page = buf[2];
    unsigned max_len = buf[4], idx = 0, size_idx, preamble;

    if (buf[1] & 0x01) {    /* EVPD: a vital product data page (SPC-3 7.6) */
        preamble = 4;
        size_idx = 3;
        buf[idx++] = 0x05;
        buf[idx++] = page;
        buf[idx++] = 0;
        idx++;
        switch (page) {
        case 0x00:          /* supported pages */
            buf[idx++] = 0x00;
            buf[idx++] = 0x83;
            break;
        case 0x83:          /* device identification, libata's style */
            if (idx + 24 > max_len) {
                ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_DATA_PHASE_ERROR);
                return;
            }
            buf[idx++] = 0x02;
            buf[idx++] = 0x00;
            buf[idx++] = 0x00;
            buf[idx++] = 20;
            padstr8(buf + idx, 20, s->serial);
            idx += 20;
            if (idx + 72 > max_len) {
                break;
            }
            buf[idx++] = 0x02;
            buf[idx++] = 0x01;
            buf[idx++] = 0x00;
            buf[idx++] = 68;
            padstr8(buf + idx, 8, "ATA");
            idx += 8;
            padstr8(buf + idx, 40, s->model);
            idx += 40;
            padstr8(buf + idx, 20, s->serial);
            idx += 20;
            break;
        default:
            ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
            return;
        }
    } else {
        preamble = 5;
        size_idx = 4;
        memset(buf, 0, 36);
        buf[0] = 0x05;      /* CD-ROM */
        buf[1] = 0x80;      /* removable */
        buf[3] = 0x21;
        padstr8(buf + 8, 8, "QEMU");
        padstr8(buf + 16, 16, "QEMU DVD-ROM");
        padstr8(buf + 32, 4, s->version);
        idx = 36;
    }
    buf[size_idx] = idx - preamble;
    ide_atapi_cmd_reply(s, idx, max_len);
}

static void cmd_read_capacity(struct ide_drive *s, uint8_t *buf)
{
    stl_be(buf, cd_total_sectors(s) - 1);   /* the last LBA */
    stl_be(buf + 4, CD_SECTOR_SIZE);
    ide_atapi_cmd_reply(s, 8, 8);
}

static bool cd_range_ok(struct ide_drive *s, uint32_t lba, uint32_t n)
{
    uint64_t total = cd_total_sectors(s);

    if (lba >= total || (uint64_t)lba + n > total) {
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return false;
    }
    return true;
}

static void cmd_read(struct ide_drive *s, uint8_t *buf)
{
    uint32_t n = buf[0] == 0x28 ? be16(buf + 7) : be32(buf + 6);
    uint32_t lba = be32(buf + 2);

    if (n == 0) {
        ide_atapi_cmd_ok(s);
        return;
    }
    if (cd_range_ok(s, lba, n)) {
        ide_atapi_cmd_read(s, lba, n);
    }
}

/* READ CD (MMC-5 6.19): user data only; raw sectors are not offered. */
static void cmd_read_cd(struct ide_drive *s, uint8_t *buf)
{
    uint32_t n = buf[6] << 16 | buf[7] << 8 | buf[8];
    uint32_t lba = be32(buf + 2);

    if (n == 0 || (buf[9] & 0xf8) == 0) {
        ide_atapi_cmd_ok(s);
        return;
    }
    if (!s->atapi_dma && !atapi_bcl(s)) {
        ide_abort(s);
        ide_set_irq(s->ch);
        return;
    }
    if ((buf[9] & 0xf8) != 0x10) {
        log_mask(LOG_UNIMP, "ide: READ CD of sector type 0x%02x\n", buf[9] & 0xf8);
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    if (cd_range_ok(s, lba, n)) {
        ide_atapi_cmd_read(s, lba, n);
    }
}

static void cmd_seek(struct ide_drive *s, uint8_t *buf)
{
    if (be32(buf + 2) >= cd_total_sectors(s)) {
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return;
    }
    ide_atapi_cmd_ok(s);
}

static void cmd_start_stop_unit(struct ide_drive *s, uint8_t *buf)
{
    bool start = buf[4] & 1, loej = buf[4] & 2;

    if (buf[4] & 0xf0) {    /* a power condition: nothing moves */
        ide_atapi_cmd_ok(s);
        return;
    }
    if (loej) {
        if (!start && !s->tray_open && s->tray_locked) {
            ide_atapi_cmd_error(s, blk_is_inserted(s->blk) ? SENSE_NOT_READY
                                                            : SENSE_ILLEGAL_REQUEST,
                                ASC_MEDIA_REMOVAL_PREVENTED);
            return;
        }
        ide_tray_moved(s, !start);
    }
    ide_atapi_cmd_ok(s);
}

static void cmd_prevent_allow(struct ide_drive *s, uint8_t *buf)
{
    s->tray_locked = buf[4] & 1;
    ide_atapi_cmd_ok(s);
}

static void cmd_mechanism_status(struct ide_drive *s, uint8_t *buf)
{
    unsigned max_len = be16(buf + 8);

    memset(buf, 0, 8);
    buf[5] = 1;             /* one slot */
    ide_atapi_cmd_reply(s, 8, max_len);
}

static void cmd_set_speed(struct ide_drive *s, uint8_t *buf)
{
    ide_atapi_cmd_ok(s);
}

/* MODE SENSE(10) (SPC-3 6.10): current values of the error recovery,
 * CD audio control and capabilities pages (MMC-5 7.2, 7.4 and annex). */
static void cmd_mode_sense(struct ide_drive *s, uint8_t *buf)
{
    unsigned max_len = be16(buf + 7), action = buf[2] >> 6, code = buf[2] & 0x3f;
    unsigned len;

    if (action == 3) {
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_NOT_SUPPORTED);
        return;
    }
    if (action != 0 || (code != 0x01 && code != 0x0e && code != 0x2a)) {
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    len = code == 0x01 ? 16 : code == 0x0e ? 24 : 30;
    memset(buf, 0, len);
    stw_be(buf, len - 2);
    buf[2] = 0x70;          /* medium type */
    buf[8] = code;
    buf[9] = len - 10;
    if (code == 0x01) {
        buf[11] = 0x05;     /* read retry count */
    } else if (code == 0x2a) {
        buf[10] = 0x3b;     /* reads CD-R/RW, DVD-ROM/R/RAM */
        buf[12] = 0x71;     /* plays audio, as some Linux code wants to automount */
        buf[13] = 3 << 5;
        buf[14] = 1 << 0 | 1 << 3 | 1 << 5 | (s->tray_locked ? 1 << 1 : 0);
        stw_be(buf + 16, 704);  /* 4x */
        buf[19] = 2;
        stw_be(buf + 20, 512);
        stw_be(buf + 22, 704);
    }
    ide_atapi_cmd_reply(s, len, max_len);
}

static void lba_to_msf(uint8_t *buf, uint32_t lba)
{
    lba += 150;
    buf[0] = lba / 75 / 60;
    buf[1] = lba / 75 % 60;
    buf[2] = lba % 75;
}

/* One data track and the lead-out, as QEMU's cdrom_read_toc (format 0). */
static int cdrom_read_toc(uint32_t nb_sectors, uint8_t *buf, bool msf, unsigned start_track)
{
    uint8_t *q = buf + 2;

    if (start_track > 1 && start_track != 0xaa) {
        return -1;
    }
    *q++ = 1;
    *q++ = 1;
    if (start_track <= 1) {
        *q++ = 0;
        *q++ = 0x14;        /* ADR 1, data track */
        *q++ = 1;
        *q++ = 0;
        if (msf) {
            *q++ = 0;
            lba_to_msf(q, 0);
            q += 3;
        } else {
            stl_be(q, 0);
            q += 4;
        }
    }
    *q++ = 0;
    *q++ = 0x16;
    *q++ = 0xaa;            /* lead-out */
    *q++ = 0;
    if (msf) {
        *q++ = 0;
        lba_to_msf(q, nb_sectors);
        q += 3;
    } else {
        stl_be(q, nb_sectors);
        q += 4;
    }
    stw_be(buf, q - buf - 2);
    return q - buf;
}

/* Format 2, the raw TOC: points A0, A1, A2 and track 1 of session 1. */
static int cdrom_read_toc_raw(uint32_t nb_sectors, uint8_t *buf, bool msf)
{
    static const uint8_t points[3] = { 0xa0, 0xa1, 0xa2 };
    uint8_t *q = buf + 2;

    *q++ = 1;
    *q++ = 1;
    for (unsigned i = 0; i < 4; i++) {
        *q++ = 1;           /* session */
        *q++ = 0x14;
        *q++ = 0;
        *q++ = i < 3 ? points[i] : 1;
        *q++ = 0;
        *q++ = 0;
        *q++ = 0;
        if (i < 2) {
            *q++ = 0;
            *q++ = 1;       /* first / last track */
            *q++ = 0;
            *q++ = 0;
        } else if (msf) {
            *q++ = 0;
            lba_to_msf(q, i == 2 ? nb_sectors : 0);
            q += 3;
        } else {
            stl_be(q, i == 2 ? nb_sectors : 0);
            q += 4;
        }
    }
    stw_be(buf, q - buf - 2);
    return q - buf;
}

static void cmd_read_toc(struct ide_drive *s, uint8_t *buf)
{
    unsigned max_len = be16(buf + 7), format = buf[9] >> 6, start = buf[6];
    bool msf = (buf[1] >> 1) & 1;
    uint32_t total = cd_total_sectors(s);
    int len;

    switch (format) {
    case 0:
        len = cdrom_read_toc(total, buf, msf, start);
        if (len < 0) {
            break;
        }
        ide_atapi_cmd_reply(s, len, max_len);
        return;
    case 1:                 /* one session */
        memset(buf, 0, 12);
        buf[1] = 0x0a;
        buf[2] = 0x01;
        buf[3] = 0x01;
        ide_atapi_cmd_reply(s, 12, max_len);
        return;
    case 2:
        ide_atapi_cmd_reply(s, cdrom_read_toc_raw(total, buf, msf), max_len);
        return;
    }
    ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
}

/* GET CONFIGURATION (MMC-5 6.6): the profile list feature only. */
static void cmd_get_configuration(struct ide_drive *s, uint8_t *buf)
{
    static const uint16_t profiles[2] = { MMC_PROFILE_DVD_ROM, MMC_PROFILE_CD_ROM };
    unsigned max_len;
    uint16_t current = 0;

    if (buf[2] != 0 || buf[3] != 0) {
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    max_len = MIN(be16(buf + 7), (unsigned)IDE_SECTOR_SIZE);
    if (ide_atapi_media_present(s)) {
        current = s->nb_sectors > CD_MAX_SECTORS ? MMC_PROFILE_DVD_ROM : MMC_PROFILE_CD_ROM;
    }
    memset(buf, 0, 20);
    stw_be(buf + 6, current);
    buf[10] = 0x02 | 0x01;  /* persistent, current */
    for (unsigned i = 0; i < 2; i++) {
        stw_be(buf + 12 + 4 * i, profiles[i]);
        buf[14 + 4 * i] = profiles[i] == current;
        buf[11] += 4;
    }
    stl_be(buf, 20 - 4);
    ide_atapi_cmd_reply(s, 20, max_len);
}

/* GET EVENT STATUS NOTIFICATION (MMC-5 6.8), polled, media class only. */
static void cmd_get_event_status(struct ide_drive *s, uint8_t *buf)
{
    unsigned max_len = be16(buf + 7), len;
    uint8_t polled = buf[1], class = buf[4];
    uint8_t media_status = 0, event = 0;

    if (!(polled & 0x01)) {
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    memset(buf, 0, 8);
    buf[3] = 1 << GESN_MEDIA;
    if (class & (1 << GESN_MEDIA)) {
        if (s->tray_open) {
            media_status = 1;
        } else if (blk_is_inserted(s->blk)) {
            media_status = 2;
        }
        if (media_status != 1) {
            if (s->new_media) {
                event = 2;
                s->new_media = false;
            } else if (s->eject_request) {
                event = 1;
                s->eject_request = false;
            }
        }
        buf[2] = GESN_MEDIA;
        buf[4] = event;
        buf[5] = media_status;
        len = 8;
    } else {
        buf[2] = 0x80;      /* no event available */
        len = 4;
    }
    stw_be(buf, len - 4);
    ide_atapi_cmd_reply(s, len, max_len);
}

static void cmd_read_disc_information(struct ide_drive *s, uint8_t *buf)
{
    unsigned max_len = be16(buf + 7);

    if (buf[1] & 7) {       /* types 1 and 2 are for Blu-ray */
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    memset(buf, 0, 34);
    buf[1] = 32;
    buf[2] = 0x0e;          /* last session complete, disc finalized */
    buf[3] = 1;
    buf[4] = 1;
    buf[5] = 1;
    buf[6] = 1;
    buf[7] = 0x20;          /* unrestricted use */
    ide_atapi_cmd_reply(s, 34, max_len);
}

static const struct {
    void (*fn)(struct ide_drive *s, uint8_t *buf);
    uint8_t flags;
} atapi_cmds[256] = {
    [0x00] = { cmd_test_unit_ready, CHECK_READY | NONDATA },
    [0x03] = { cmd_request_sense, ALLOW_UA },
    [0x12] = { cmd_inquiry, ALLOW_UA },
    [0x1b] = { cmd_start_stop_unit, NONDATA },
    [0x1e] = { cmd_prevent_allow, NONDATA },
    [0x25] = { cmd_read_capacity, CHECK_READY },
    [0x28] = { cmd_read, CHECK_READY },
    [0x2b] = { cmd_seek, CHECK_READY | NONDATA },
    [0x43] = { cmd_read_toc, CHECK_READY },
    [0x46] = { cmd_get_configuration, ALLOW_UA },
    [0x4a] = { cmd_get_event_status, ALLOW_UA },
    [0x51] = { cmd_read_disc_information, CHECK_READY },
    [0x5a] = { cmd_mode_sense, 0 },
    [0xa8] = { cmd_read, CHECK_READY },
    [0xbb] = { cmd_set_speed, NONDATA },
    [0xbd] = { cmd_mechanism_status, 0 },
    [0xbe] = { cmd_read_cd, CHECK_READY | CONDDATA },
};

/* The 12 bytes of the packet have arrived. */
static void ide_atapi_cmd(struct ide_drive *s)
{
    uint8_t *buf = s->io_buffer;
    uint8_t op = buf[0];
    unsigned flags = atapi_cmds[op].flags;

    /* A pending UNIT ATTENTION fails every command not allowed through
     * with CHECK CONDITION (SPC-3 5.9.7). */
    if (s->sense_key == SENSE_UNIT_ATTENTION && !(flags & ALLOW_UA)) {
        ide_transfer_stop(s);
        s->error = IDE_ERR_MC | SENSE_UNIT_ATTENTION << 4;
        s->status = IDE_ST_ERR;
        s->nsector = 0;
        ide_set_irq(s->ch);
        return;
    }
    /* A changed medium shows as "no medium" once, then as "changed". */
    if (!(flags & ALLOW_UA) && !s->tray_open && blk_is_inserted(s->blk) && s->cdrom_changed) {
        if (s->cdrom_changed == 1) {
            ide_atapi_cmd_error(s, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
            s->cdrom_changed = 2;
        } else {
            ide_atapi_cmd_error(s, SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
            s->cdrom_changed = 0;
        }
        return;
    }
    if ((flags & CHECK_READY) && (!ide_atapi_media_present(s) || s->tray_open)) {
        ide_atapi_cmd_error(s, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
        return;
    }
    /* A PIO data command with a byte count limit of 0 fails at the ATA
     * level (ATA8-ACS 7.17.6.49). */
    if (atapi_cmds[op].fn && !(flags & (NONDATA | CONDDATA)) && !s->atapi_dma &&
        !atapi_bcl(s)) {
        ide_abort(s);
        ide_set_irq(s->ch);
        return;
    }
    if (!atapi_cmds[op].fn) {
        log_mask(LOG_UNIMP, "ide: ATAPI command 0x%02x\n", op);
        ide_atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_ILLEGAL_OPCODE);
        return;
    }
    atapi_cmds[op].fn(s, buf);
}

/* PACKET (ATA/ATAPI-6 8.21): DRQ for the 12-byte command, no interrupt;
 * feature bit 0 asks for DMA, bit 1 (overlap) is refused. */
bool ide_cmd_packet(struct ide_drive *s)
{
    if (s->feature & 0x02) {
        ide_abort(s);
        return true;
    }
    s->status = IDE_ST_DRDY | IDE_ST_DSC;
    s->atapi_dma = s->feature & 1;
    s->nsector = 1;         /* C/D set, I/O clear: the device wants the packet */
    ide_transfer_start(s, ATAPI_PACKET_SIZE, false, ide_atapi_cmd);
    return false;
}
