/*
 * QEMU's standard VGA on PCI ("-device VGA", "-vga std"; QEMU 7.2's
 * hw/display/vga-pci.c and docs/specs/standard-vga.rst): function
 * 1234:1111, class 0x0300, with
 *   BAR 0  the VRAM as a prefetchable linear framebuffer (vgamem_mb MiB),
 *   BAR 2  4 KiB of MMIO: the EDID blob at 0, the VGA ports 0x3c0-0x3df
 *          at 0x400, the dispi registers at 0x500 (index i at 0x500 + 2i)
 *          and QEMU's extended registers at 0x600 (mmio=on),
 *   ROM    vgabios-stdvga.bin (romfile=), which SeaBIOS runs,
 * and, for the first VGA of the machine, the legacy decoding: ports
 * 0x3b0-0x3df, the dispi ports 0x1ce/0x1cf and the window at 0xa0000.
 *
 * Threads: created on the main thread; handlers run with the big lock held.
 */
#include <errno.h>
#include <string.h>

#include "hw/device.h"
#include "hw/pci.h"
#include "hw/vga.h"
#include "hw/vga-pci.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

#define PCI_VENDOR_ID_QEMU      0x1234
#define PCI_DEVICE_ID_QEMU_VGA  0x1111
#define PCI_CLASS_DISPLAY_VGA   0x030000

#define VGA_MMIO_SIZE           0x1000
#define VGA_MMIO_EDID           0x000
#define VGA_MMIO_EDID_SIZE      0x400
#define VGA_MMIO_IOPORT         0x400   /* ports 0x3c0-0x3df */
#define VGA_MMIO_IOPORT_SIZE    0x20
#define VGA_MMIO_BOCHS          0x500
#define VGA_MMIO_BOCHS_SIZE     (0x0b * 2)
#define VGA_MMIO_QEXT           0x600
#define VGA_MMIO_QEXT_SIZE      8
#define VGA_QEXT_REG_SIZE       0x0     /* read-only: the size of this region */
#define VGA_QEXT_REG_BYTEORDER  0x4
#define VGA_QEXT_LITTLE_ENDIAN  0x1e1e1e1eu
#define VGA_QEXT_BIG_ENDIAN     0xbebebebeu

#define VGA_ROMFILE             "vgabios-stdvga.bin"

struct vga_pci {
    struct vga vga;
    struct pci_device *pci;
    bool mmio_regs;               /* mmio= : BAR 2 */
    bool qext;                    /* qemu-extended-regs= */
    bool big_endian_fb;           /* the framebuffer byte order QEXT selects */
    bool big_endian_default;      /* big-endian-framebuffer=, what reset restores */
    uint8_t edid[128];            /* edid=on: the monitor the guest reads */
};

/* ---- legacy ports and window ---- */

/* A 2- or 4-byte access to byte registers is bytes at rising ports, the
 * index byte first (QEMU's portio split), so "outw 0x3c4" sets index and data. */
static uint64_t vga_port_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga_pci *v = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)vga_ioport_read(&v->vga, VGA_PORT_BASE + offset + i) << (8 * i);
    }
    return val;
}

static void vga_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct vga_pci *v = opaque;

    for (unsigned i = 0; i < size; i++) {
        vga_ioport_write(&v->vga, VGA_PORT_BASE + offset + i, value >> (8 * i));
    }
}

static const struct io_ops vga_port_ops = {
    .read = vga_port_read,
    .write = vga_port_write,
};

/*
 * 0x1ce: index, 0x1cf and 0x1d0: data, 16-bit registers that QEMU decodes
 * for 16-bit accesses only (a byte access reads 0xff and writes nothing).
 */
static uint64_t vbe_port_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga_pci *v = opaque;

    if (size != 2) {
        return ~0ull >> (64 - 8 * size);
    }
    return offset == 0 ? vbe_read_index(&v->vga) : vbe_read_data(&v->vga);
}

static void vbe_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct vga_pci *v = opaque;

    if (size != 2) {
        log_mask(LOG_GUEST_ERROR, "vga: %u-byte access to dispi port 0x%x ignored\n",
                 size, (unsigned)(VBE_DISPI_IOPORT_INDEX + offset));
        return;
    }
    if (offset == 0) {
        vbe_write_index(&v->vga, value);
    } else {
        vbe_write_data(&v->vga, value);
    }
}

static const struct io_ops vbe_port_ops = {
    .read = vbe_port_read,
    .write = vbe_port_write,
};

static uint64_t vga_window_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga_pci *v = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)vga_mem_readb(&v->vga, offset + i) << (8 * i);
    }
    return val;
}

static void vga_window_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct vga_pci *v = opaque;

    for (unsigned i = 0; i < size; i++) {
        vga_mem_writeb(&v->vga, offset + i, value >> (8 * i));
    }
}

static const struct io_ops vga_window_ops = {
    .read = vga_window_read,
    .write = vga_window_write,
};

/* ---- BAR 0: the linear framebuffer ---- */

static uint64_t vga_lfb_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga_pci *v = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size && offset + i < v->vga.vram_size; i++) {
        val |= (uint64_t)v->vga.vram[offset + i] << (8 * i);
    }
    return val;
}

static void vga_lfb_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct vga_pci *v = opaque;

    for (unsigned i = 0; i < size && offset + i < v->vga.vram_size; i++) {
        v->vga.vram[offset + i] = value >> (8 * i);
    }
    v->vga.vram_dirty = true;
}

static const struct io_ops vga_lfb_ops = {
    .read = vga_lfb_read,
    .write = vga_lfb_write,
};

/* ---- BAR 2: the MMIO registers ---- */

static uint64_t vga_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga_pci *v = opaque;
    uint64_t val = 0;

    if (offset < VGA_MMIO_EDID_SIZE) {
        for (unsigned i = 0; i < size && offset + i < sizeof(v->edid); i++) {
            val |= (uint64_t)v->edid[offset + i] << (8 * i);
        }
        return val;
    }
    if (offset >= VGA_MMIO_IOPORT && offset + size <= VGA_MMIO_IOPORT + VGA_MMIO_IOPORT_SIZE) {
        /* Up to 4 ports per access, one per byte, as QEMU splits a wide
         * access (valid up to 4 bytes, served 2 at a time). */
        for (unsigned i = 0; i < MIN(size, 4u); i++) {
            val |= (uint64_t)vga_ioport_read(&v->vga, 0x3c0 + offset - VGA_MMIO_IOPORT + i)
                   << (8 * i);
        }
        return val;
    }
    if (offset >= VGA_MMIO_BOCHS && offset < VGA_MMIO_BOCHS + VGA_MMIO_BOCHS_SIZE) {
        /* One 16-bit register per 2 bytes: a 4-byte access reads two. */
        for (unsigned i = 0; i < MAX(MIN(size, 4u), 2u) &&
                             offset + i < VGA_MMIO_BOCHS + VGA_MMIO_BOCHS_SIZE; i += 2) {
            vbe_write_index(&v->vga, (offset + i - VGA_MMIO_BOCHS) >> 1);
            val |= (uint64_t)vbe_read_data(&v->vga) << (8 * i);
        }
        return val;
    }
    if (v->qext && offset >= VGA_MMIO_QEXT && offset < VGA_MMIO_QEXT + VGA_MMIO_QEXT_SIZE) {
        switch (offset - VGA_MMIO_QEXT) {
        case VGA_QEXT_REG_SIZE:
            return VGA_MMIO_QEXT_SIZE;
        case VGA_QEXT_REG_BYTEORDER:
            return v->big_endian_fb ? VGA_QEXT_BIG_ENDIAN : VGA_QEXT_LITTLE_ENDIAN;
        default:
            return 0;
        }
    }
    return 0;
}

static void vga_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct vga_pci *v = opaque;

    if (offset >= VGA_MMIO_IOPORT && offset + size <= VGA_MMIO_IOPORT + VGA_MMIO_IOPORT_SIZE) {
        for (unsigned i = 0; i < MIN(size, 4u); i++) {
            vga_ioport_write(&v->vga, 0x3c0 + offset - VGA_MMIO_IOPORT + i, value >> (8 * i));
        }
    } else if (offset >= VGA_MMIO_BOCHS && offset < VGA_MMIO_BOCHS + VGA_MMIO_BOCHS_SIZE) {
        for (unsigned i = 0; i < MAX(MIN(size, 4u), 2u) &&
                             offset + i < VGA_MMIO_BOCHS + VGA_MMIO_BOCHS_SIZE; i += 2) {
            vbe_write_index(&v->vga, (offset + i - VGA_MMIO_BOCHS) >> 1);
            vbe_write_data(&v->vga, value >> (8 * i));
        }
    } else if (v->qext && offset == VGA_MMIO_QEXT + VGA_QEXT_REG_BYTEORDER && size == 4) {
        if (value == VGA_QEXT_LITTLE_ENDIAN || value == VGA_QEXT_BIG_ENDIAN) {
            v->big_endian_fb = value == VGA_QEXT_BIG_ENDIAN;
        }
    } else {
        log_mask(LOG_GUEST_ERROR, "vga: write to read-only MMIO offset 0x%"
                 G_GINT64_MODIFIER "x ignored\n", offset);
    }
}

static const struct io_ops vga_mmio_ops = {
    .read = vga_mmio_read,
    .write = vga_mmio_write,
};

/* ---- the device ---- */

static void vga_pci_reset(struct pci_device *d)
{
    struct vga_pci *v = d->opaque;

    vga_reset(&v->vga);
    v->big_endian_fb = v->big_endian_default;
}

static void vga_pci_destroy(struct pci_device *d)
{
    struct vga_pci *v = d->opaque;

    vga_destroy(&v->vga);
}

/* QEMU's vgamem_mb rule: 1 to 512 MiB, rounded up to a power of two. */
static uint32_t vga_vram_size(uint64_t mb)
{
    return pow2_ceil(MIN(MAX(mb, 1u), 512u)) << 20;
}

/*
 * The ISA-side decoding: only one VGA can own it.  A second VGA (QEMU lets
 * "-vga std -device VGA" make two; its regions then overlap by priority)
 * works through its BARs alone.
 */
static void vga_pci_claim_legacy(struct vga_pci *v)
{
    g_autoptr(GError) err = NULL;

    if (io_register_pio(VGA_PORT_BASE, VGA_PORT_COUNT, "vga", &vga_port_ops, v, &err) < 0) {
        log_mask(LOG_UNIMP, "vga %02x.%x: no legacy VGA decoding: %s\n",
                 PCI_SLOT(v->pci->devfn), PCI_FUNC(v->pci->devfn), err->message);
        return;
    }
    if (io_register_pio(VBE_DISPI_IOPORT_INDEX, 3, "vbe", &vbe_port_ops, v, &err) < 0 ||
        io_register_mmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, "vga-lowmem", &vga_window_ops, v,
                         &err) < 0) {
        log_mask(LOG_UNIMP, "vga: part of the legacy decoding is missing: %s\n",
                 err->message);
    }
}

int vga_pci_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    const GPtrArray *datadirs = m && m->cfg ? m->cfg->datadirs : NULL;
    struct pci_device *d;
    struct vga_pci *v;
    int ret;

    d = pci_device_add_cfg(cfg, errp);
    if (!d) {
        return -EINVAL;
    }
    v = g_new0(struct vga_pci, 1);
    d->opaque = v;
    v->pci = d;
    ret = vga_init(&v->vga, vga_vram_size(dev_config_uint(cfg, "vgamem_mb")));
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "VGA: cannot map its video memory: %s",
                    g_strerror(-ret));
        return ret;
    }
    d->reset = vga_pci_reset;
    d->destroy = vga_pci_destroy;
    v->mmio_regs = dev_config_bool(cfg, "mmio");
    v->qext = dev_config_bool(cfg, "qemu-extended-regs");
    v->big_endian_default = v->big_endian_fb = dev_config_bool(cfg, "big-endian-framebuffer");
    if (dev_config_bool(cfg, "edid")) {
        vga_edid_build(v->edid, dev_config_uint(cfg, "xres"), dev_config_uint(cfg, "yres"));
    }
    pci_set_ids(d, PCI_VENDOR_ID_QEMU, PCI_DEVICE_ID_QEMU_VGA, 0x02, PCI_CLASS_DISPLAY_VGA);
    ret = pci_register_bar(d, 0, PCI_BAR_MEM_PREFETCH, v->vga.vram_size, "vga.vram",
                           &vga_lfb_ops, v, errp);
    if (ret == 0 && v->mmio_regs) {
        ret = pci_register_bar(d, 2, 0, VGA_MMIO_SIZE, "vga.mmio", &vga_mmio_ops, v, errp);
    }
    if (ret == 0) {
        ret = pci_add_option_rom(d, cfg, VGA_ROMFILE, datadirs, m ? m->fw_cfg : NULL,
                                 "Debian's package seabios provides " VGA_ROMFILE
                                 " (apt-get install seabios)", errp);
    }
    if (ret < 0) {
        return ret;
    }
    vga_pci_claim_legacy(v);
    return 0;
}

/* The -device types that stand in for the default VGA (QEMU's default_list). */
static bool vga_given_as_device(const struct hyvm_config *cfg)
{
    for (unsigned i = 0; cfg->devices && i < cfg->devices->len; i++) {
        const struct dev_config *dc = g_ptr_array_index(cfg->devices, i);

        if (!strcmp(dc->type->name, "VGA")) {
            return true;
        }
    }
    return false;
}

int vga_create_default(struct machine *m, GError **errp)
{
    const struct hyvm_config *cfg = m->cfg;
    struct dev_config *dc;
    int ret;

    if (cfg->vga ? strcmp(cfg->vga, "std") != 0
                 : cfg->nodefaults || vga_given_as_device(cfg)) {
        return 0;
    }
    dc = dev_config_parse("VGA", errp);
    if (!dc) {
        return -EINVAL;
    }
    ret = vga_pci_realize(m, dc, errp);
    dev_config_free(dc);
    return ret;
}

void vga_warn_unused(const struct machine *m)
{
    if (m->cfg->vga && strcmp(m->cfg->vga, "none")) {
        warn_report("A -vga option was passed but this machine type does not use that "
                    "option; No VGA device has been created");
    }
}
