/*
 * The PIIX3 IDE function (Intel 82371SB, function 1; QEMU's "piix3-ide"):
 * PCI 00:01.1, 8086:7010, class 0x0101 with programming interface 0x80
 * (both channels in legacy mode, bus master capable), the legacy ports
 * and IRQs 14/15, and the bus master registers in BAR4 (82371SB 2.7).
 * Also the drives' creation: the if=ide drives of the command line, then
 * -device ide-hd / ide-cd, with QEMU's messages, serial numbers, geometry
 * guess and boot paths.
 *
 * Threads: created on the main thread while the machine is built; the
 * registers run on vCPU threads under the big lock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block-backend.h"
#include "block/geometry.h"
#include "block/drive.h"
#include "block/file-lock.h"
#include "hw/device.h"
#include "hw/ide-internal.h"
#include "hw/pci.h"
#include "hw/virtio/virtio-blk.h"
#include "machine/boot-order.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/le.h"
#include "system/memory.h"

#define PIIX_IDETIM         0x40    /* IDE timing, primary 0x40-41, secondary 0x42-43 */
#define PIIX_IDETIM_IDE     0x80    /* of the high byte: the channel decodes */
#define PCI_STATUS_FAST_BACK 0x0080
#define BMDMA_BAR           4
#define BMDMA_SIZE          16

/* QEMU's firmware version string for machine types from 2.5 on
 * (qemu_hw_version()), in IDENTIFY and INQUIRY. */
#define IDE_HW_VERSION      "2.5+"

static const struct {
    uint16_t cmd, ctl;
    unsigned irq;
} ide_legacy[IDE_CHANNELS] = { { 0x1f0, 0x3f6, 14 }, { 0x170, 0x376, 15 } };

struct ide_controller {
    struct ide_channel ch[IDE_CHANNELS];
    struct machine *m;
    unsigned anon_devices;          /* -device ide-* without id=, for their QOM paths */
};

static struct ide_controller *ide_ctrl;

/* ---- bus master registers ---- */

static uint64_t ide_bmdma_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ide_controller *c = opaque;
    struct ide_bmdma *bm = &c->ch[offset >= 8].bm;
    unsigned reg = offset & 7;

    if (reg >= 4) {     /* the PRD table address, any width */
        return (bm->addr >> (8 * (reg - 4))) & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
    }
    if (size != 1) {
        return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
    return reg == 0 ? bm->cmd : reg == 2 ? bm->status : 0xff;
}

static void ide_bmdma_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct ide_controller *c = opaque;
    struct ide_channel *ch = &c->ch[offset >= 8];
    struct ide_bmdma *bm = &ch->bm;
    unsigned reg = offset & 7;

    if (reg >= 4) {
        unsigned shift = 8 * (reg - 4);
        uint32_t mask = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

        bm->addr = (bm->addr & ~(mask << shift)) | (((uint32_t)value & mask) << shift);
        bm->addr &= ~3u;
        return;
    }
    if (size != 1) {
        return;
    }
    if (reg == 0) {
        ide_bmdma_write_cmd(ch, value);
    } else if (reg == 2) {
        /* Bits 5-6 (drive DMA capable) are the guest's; 1 and 2 clear on
         * a written one; active is read-only. */
        bm->status = (value & 0x60) | (bm->status & BM_ST_ACTIVE) |
                     (bm->status & ~value & (BM_ST_ERROR | BM_ST_INT));
    }
}

static const struct io_ops ide_bmdma_ops = { .read = ide_bmdma_read, .write = ide_bmdma_write };

/* ---- geometry ---- */

/* QEMU's hd_geometry_guess: the physical CHS and the BIOS translation. */
static void ide_guess_geometry(struct ide_drive *s)
{
    struct hd_geometry g;

    hd_geometry_guess(s->blk, s->nb_sectors, &g);
    s->cylinders = g.cylinders;
    s->heads = g.heads;
    s->sectors = g.sectors;
    s->translation = g.translation;
}

bool ide_get_geometry(unsigned index, struct ide_geometry *g)
{
    struct ide_drive *s;

    if (!ide_ctrl || index >= IDE_CHANNELS * IDE_UNITS) {
        return false;
    }
    s = &ide_ctrl->ch[index / IDE_UNITS].drive[index % IDE_UNITS];
    if (s->kind != IDE_KIND_HD) {
        return false;
    }
    g->cylinders = s->cylinders;
    g->heads = s->heads;
    g->sectors = s->sectors;
    g->translation = s->translation;
    return true;
}

/* ---- drives ---- */

static struct ide_drive *ide_drive_of(struct blk *blk)
{
    for (unsigned c = 0; ide_ctrl && blk && c < IDE_CHANNELS; c++) {
        for (unsigned u = 0; u < IDE_UNITS; u++) {
            if (ide_ctrl->ch[c].drive[u].blk == blk) {
                return &ide_ctrl->ch[c].drive[u];
            }
        }
    }
    return NULL;
}

const char *ide_qdev(struct blk *blk)
{
    struct ide_drive *s = ide_drive_of(blk);

    return s ? s->qdev : NULL;
}

bool ide_is_cd(struct blk *blk, bool *tray_open, bool *locked)
{
    struct ide_drive *s = ide_drive_of(blk);

    if (!s || s->kind != IDE_KIND_CD) {
        return false;
    }
    if (tray_open) {
        *tray_open = s->tray_open;
    }
    if (locked) {
        *locked = s->tray_locked;
    }
    return true;
}

/* QEMU's ide_cd_change_cb: the guest sees "no medium", then UNIT
 * ATTENTION, and a media event. */
void ide_cd_medium_changed(struct blk *blk, bool load)
{
    struct ide_drive *s = ide_drive_of(blk);
    int64_t len;

    if (!s || s->kind != IDE_KIND_CD) {
        return;
    }
    len = blk_is_inserted(blk) ? blk_getlength(blk) : 0;
    s->nb_sectors = len > 0 ? (uint64_t)len / IDE_SECTOR_SIZE : 0;
    /* A change opens the tray (if shut), then shuts it; an eject opens it. */
    ide_tray_moved(s, true);
    if (load) {
        ide_tray_moved(s, false);
    }
    if (!load) {
        s->tray_locked = false;     /* eject force=true opens a locked tray */
    }
    s->cdrom_changed = 1;
    s->new_media = true;
    s->eject_request = false;
    ide_set_irq(s->ch);
}

void ide_cd_eject_request(struct blk *blk)
{
    struct ide_drive *s = ide_drive_of(blk);

    if (s && s->kind == IDE_KIND_CD) {
        s->eject_request = true;
        ide_set_irq(s->ch);
    }
}

static int ide_fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int ide_fail(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (errp && !*errp) {
        *errp = g_error_new_valist(HYVM_ERROR, HYVM_ERROR_FAILED, fmt, ap);
    }
    va_end(ap);
    return -EINVAL;
}

/* A drive on its slot: backend, identity, geometry, reset state. */
static int ide_drive_attach(struct ide_drive *s, struct blk *blk, bool cd, const char *serial,
                            const char *model, const char *ver, GError **errp)
{
    int64_t len;

    if (!cd && !blk_is_inserted(blk)) {
        return ide_fail(errp, "Device needs media, but drive is empty");
    }
    /* A disk wants to write (QEMU's blkconf_apply_backend_options). */
    if (!cd && blk_is_read_only(blk)) {
        return ide_fail(errp, "Block node is read-only");
    }
    /* A guest disk refuses other writers, as QEMU's blkconf_apply_backend_options. */
    if (!cd && bdrv_file_lock_unshare(blk_bs(blk), BLK_PERM_WRITE, errp) < 0) {
        return -EBUSY;
    }
    blk_ref(blk);
    s->blk = blk;
    s->kind = cd ? IDE_KIND_CD : IDE_KIND_HD;
    len = blk_is_inserted(blk) ? blk_getlength(blk) : 0;
    s->nb_sectors = len > 0 ? (uint64_t)len / IDE_SECTOR_SIZE : 0;
    if (serial) {
        g_strlcpy(s->serial, serial, sizeof(s->serial));
    }
    g_strlcpy(s->model, model ? model : cd ? "QEMU DVD-ROM" : "QEMU HARDDISK", sizeof(s->model));
    g_strlcpy(s->version, ver ? ver : IDE_HW_VERSION, sizeof(s->version));
    if (!cd) {
        ide_guess_geometry(s);
        s->drive_heads = s->heads;
        s->drive_sectors = s->sectors;
    }
    s->identify_set = false;
    ide_drive_reset(s);
    return 0;
}

static void ide_piix_reset(struct pci_device *d)
{
    struct ide_controller *c = d->opaque;

    for (unsigned i = 0; i < IDE_CHANNELS; i++) {
        ide_channel_reset(&c->ch[i]);
        for (unsigned u = 0; u < IDE_UNITS; u++) {
            c->ch[i].drive[u].identify_set = false;
        }
    }
}

static void ide_piix_destroy(struct pci_device *d)
{
    struct ide_controller *c = d->opaque;

    for (unsigned i = 0; i < IDE_CHANNELS; i++) {
        struct ide_channel *ch = &c->ch[i];

        ide_channel_drain(ch);
        g_free(ch->dma_iov);
        g_free(ch->trim_list);
        for (unsigned u = 0; u < IDE_UNITS; u++) {
            if (ch->drive[u].blk) {
                blk_unref(ch->drive[u].blk);
            }
            g_free(ch->drive[u].io_buffer);
            g_free(ch->drive[u].qdev);
        }
    }
    if (ide_ctrl == c) {
        ide_ctrl = NULL;
    }
}

/* The QOM path QEMU 7.2 gives an if=ide drive's device: the machine's
 * unattached devices count the boot vCPUs and 17 pc devices before them,
 * 5 more with the default devices (floppy controller and drive...). */
static char *ide_unattached_path(struct machine *m, unsigned nth)
{
    unsigned base = m ? m->ncpus + 17 + (m->cfg && !m->cfg->nodefaults ? 5 : 0) : 18;

    return g_strdup_printf("/machine/unattached/device[%u]", base + nth);
}

int ide_piix_create(struct machine *m, GError **errp)
{
    struct ide_controller *c = g_new0(struct ide_controller, 1);
    struct pci_device *d;
    unsigned nth = 0;
    int ret;

    d = pci_device_add("piix3-ide", NULL, PCI_DEVFN(1, 1), false, errp);
    if (!d) {
        g_free(c);
        return -EBUSY;
    }
    d->opaque = c;
    d->reset = ide_piix_reset;
    d->destroy = ide_piix_destroy;
    c->m = m;
    for (unsigned i = 0; i < IDE_CHANNELS; i++) {
        struct ide_channel *ch = &c->ch[i];

        ch->index = i;
        ch->gsi = ide_legacy[i].irq;
        for (unsigned u = 0; u < IDE_UNITS; u++) {
            struct ide_drive *s = &ch->drive[u];

            s->ch = ch;
            s->unit = u;
            s->io_buffer = g_malloc0(IDE_BUF_SIZE);
            /* QEMU numbers every slot of every bus from 1: "QM00003" is
             * the secondary master. */
            snprintf(s->serial, sizeof(s->serial), "QM%05u", i * IDE_UNITS + u + 1);
            ide_drive_reset(s);
        }
    }
    ide_ctrl = c;
    pci_set_ids(d, PCI_VENDOR_ID_INTEL, 0x7010, 0x00, 0x010180);
    d->config[PCI_STATUS] = PCI_STATUS_FAST_BACK;
    d->config[PCI_STATUS + 1] = PCI_STATUS_DEVSEL_MEDIUM >> 8;
    /* The chip-specific registers are writable, as QEMU leaves them; the
     * channels decode, as SeaBIOS sets IDETIM (Linux's ata_piix checks). */
    memset(d->wmask + PIIX_IDETIM, 0xff, PCI_CONFIG_SPACE_SIZE - PIIX_IDETIM);
    d->config[PIIX_IDETIM + 1] = PIIX_IDETIM_IDE;
    d->config[PIIX_IDETIM + 3] = PIIX_IDETIM_IDE;
    ret = pci_register_bar(d, BMDMA_BAR, PCI_BAR_SPACE_IO, BMDMA_SIZE, "piix-bmdma",
                           &ide_bmdma_ops, c, errp);
    for (unsigned i = 0; ret == 0 && i < IDE_CHANNELS; i++) {
        ret = io_register_pio(ide_legacy[i].cmd, 8, i ? "ide1" : "ide0", &ide_cmd_ops,
                              &c->ch[i], errp);
        if (ret == 0) {
            ret = io_register_pio(ide_legacy[i].ctl, 1, i ? "ide1-ctl" : "ide0-ctl",
                                  &ide_ctl_ops, &c->ch[i], errp);
        }
    }
    if (ret < 0) {
        return ret;
    }
    /* The if=ide drives, in QEMU's order (pc_init's ide_drive_get). */
    for (unsigned i = 0; i < IDE_CHANNELS; i++) {
        for (unsigned u = 0; u < IDE_UNITS; u++) {
            struct ide_drive *s = &c->ch[i].drive[u];
            bool cd = false;
            const char *id = drive_ide_get(i, u, &cd);
            struct blk *blk = id ? blk_by_name(id) : NULL;

            if (!blk) {
                continue;
            }
            ret = ide_drive_attach(s, blk, cd, NULL, NULL, NULL, errp);
            if (ret < 0) {
                return ret;
            }
            s->qdev = ide_unattached_path(m, nth++);
        }
    }
    return 0;
}

/* The backend a drive= names: a -drive id, else a -blockdev node. */
static struct blk *ide_find_backend(const char *type, const char *name, GError **errp)
{
    struct blk *blk = blk_by_name(name);
    struct bdrv *bs;

    if (blk) {
        for (unsigned b = 0; b < IDE_CHANNELS; b++) {
            for (unsigned u = 0; u < IDE_UNITS; u++) {
                if (!g_strcmp0(drive_ide_get(b, u, NULL), name)) {
                    ide_fail(errp, "Drive '%s' is already in use because it has been "
                             "automatically connected to another device (did you need "
                             "'if=none' in the drive options?)", name);
                    return NULL;
                }
            }
        }
        if (ide_drive_of(blk) || virtio_blk_qdev(blk)) {
            ide_fail(errp, "Drive '%s' is already in use by another device", name);
            return NULL;
        }
        return blk;
    }
    bs = drive_find_node(name);
    if (!bs) {
        ide_fail(errp, "Property '%s.drive' can't find value '%s'", type, name);
        return NULL;
    }
    /* A node gets an anonymous backend of its own, as QEMU's. */
    return blk_new(bs, bs->read_only ? 0 : BLK_PERM_WRITE);
}

int ide_device_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    const char *type = cfg->type->name, *drive = dev_config_str(cfg, "drive");
    const char *unit_s = kv_get(cfg->props, "unit"), *bi = dev_config_str(cfg, "bootindex");
    bool cd = !strcmp(type, "ide-cd"), anon;
    struct ide_channel *ch;
    struct ide_drive *s;
    struct blk *blk;
    /* Without bus= QEMU's qdev takes the IDE bus made last, ide.1, full
     * or not. */
    unsigned bus = IDE_CHANNELS - 1;
    long unit;
    int ret;

    if (!ide_ctrl) {
        return ide_fail(errp, "No 'IDE' bus found for device '%s'", type);
    }
    if (cfg->bus) {
        if (!strcmp(cfg->bus, "ide.0") || !strcmp(cfg->bus, "ide.1")) {
            bus = cfg->bus[4] - '0';
        } else {
            return ide_fail(errp, "Bus '%s' not found", cfg->bus);
        }
    }
    ch = &ide_ctrl->ch[bus];
    /* QEMU's order: the drive property, then the bus's unit, then the
     * device's own checks. */
    blk = drive && *drive ? ide_find_backend(type, drive, errp) : NULL;
    if (drive && *drive && !blk) {
        return -EINVAL;
    }
    /* An anonymous backend (a -blockdev node, not a -drive) is ours to drop. */
    anon = blk && !blk_by_name(drive);
    if (unit_s) {
        unit = strtol(unit_s, NULL, 0);
        if (unit < 0 || unit >= IDE_UNITS) {
            ret = ide_fail(errp, "Can't create IDE unit %ld, bus supports only 2 units", unit);
            goto fail;
        }
    } else {
        unit = ch->drive[0].kind != IDE_KIND_NONE ? 1 : 0;
    }
    if (ch->drive[unit].kind != IDE_KIND_NONE) {
        ret = ide_fail(errp, "IDE unit %ld is in use", unit);
        goto fail;
    }
    if (!blk) {
        return ide_fail(errp, "No drive specified");
    }
    s = &ch->drive[unit];
    ret = ide_drive_attach(s, blk, cd, dev_config_str(cfg, "serial"),
                           dev_config_str(cfg, "model"), dev_config_str(cfg, "ver"), errp);
    if (anon) {
        blk_unref(blk);     /* the drive holds it now */
    }
    if (ret < 0) {
        return ret;
    }
    s->qdev = cfg->id ? g_strdup_printf("/machine/peripheral/%s", cfg->id)
                      : g_strdup_printf("/machine/peripheral-anon/device[%u]",
                                        ide_ctrl->anon_devices++);
    if (bi) {
        g_autofree char *path = g_strdup_printf("/pci@i0cf8/ide@1,1/drive@%u/disk@%ld", bus,
                                                unit);

        if (boot_order_add((int32_t)dev_config_int(cfg, "bootindex"), path, errp) < 0) {
            return -EINVAL;
        }
    }
    return 0;

fail:
    if (anon) {
        blk_unref(blk);
    }
    return ret;
}
