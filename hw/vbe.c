/*
 * The Bochs VBE "dispi" interface of QEMU's std VGA (Bochs' vbe.h; QEMU
 * 7.2's docs/specs/standard-vga.rst): an index register at 0x1ce and a
 * data register at 0x1cf selecting ID, resolution, depth, enable, bank,
 * virtual width/height and display offsets.  SeaBIOS's vgabios sets its
 * VBE modes here and reads the VRAM size in 64 KiB units from index 0xa.
 *
 * As in QEMU, a guest cannot report errors through this interface, so the
 * registers are adjusted to the nearest valid mode on every write: the
 * depth to one of 4/8/15/16/24/32, the width to a multiple of 8, the
 * height and offsets to what fits in VRAM.  That keeps vbe_line_offset *
 * YRES and the start address inside VRAM whatever the guest writes.
 *
 * Threads: big lock (see hw/vga.h).
 */
#include <string.h>

#include <glib.h>

#include "hw/vga.h"

bool vbe_enabled(const struct vga *s)
{
    return s->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

static unsigned vbe_bits(const struct vga *s)
{
    return s->vbe_regs[VBE_DISPI_INDEX_BPP] == 15 ? 16 : s->vbe_regs[VBE_DISPI_INDEX_BPP];
}

/* QEMU's vbe_fixup_regs: clamp the mode to what VRAM holds. */
static void vbe_fixup_regs(struct vga *s)
{
    uint16_t *r = s->vbe_regs;
    uint32_t bits, line, maxy, offset;

    if (!vbe_enabled(s)) {
        return;
    }
    switch (r[VBE_DISPI_INDEX_BPP]) {
    case 4: case 8: case 15: case 16: case 24: case 32:
        break;
    default:
        r[VBE_DISPI_INDEX_BPP] = 8;
        break;
    }
    bits = vbe_bits(s);
    r[VBE_DISPI_INDEX_XRES] &= ~7u;
    if (!r[VBE_DISPI_INDEX_XRES]) {
        r[VBE_DISPI_INDEX_XRES] = 8;
    }
    r[VBE_DISPI_INDEX_XRES] = MIN(r[VBE_DISPI_INDEX_XRES], VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_VIRT_WIDTH] &= ~7u;
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = MIN(r[VBE_DISPI_INDEX_VIRT_WIDTH], VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = MAX(r[VBE_DISPI_INDEX_VIRT_WIDTH],
                                        r[VBE_DISPI_INDEX_XRES]);

    line = r[VBE_DISPI_INDEX_VIRT_WIDTH] * bits / 8;
    maxy = s->vram_size / line;
    if (!r[VBE_DISPI_INDEX_YRES]) {
        r[VBE_DISPI_INDEX_YRES] = 1;
    }
    r[VBE_DISPI_INDEX_YRES] = MIN(r[VBE_DISPI_INDEX_YRES], VBE_DISPI_MAX_YRES);
    r[VBE_DISPI_INDEX_YRES] = MIN(r[VBE_DISPI_INDEX_YRES], maxy);

    r[VBE_DISPI_INDEX_X_OFFSET] = MIN(r[VBE_DISPI_INDEX_X_OFFSET], VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_Y_OFFSET] = MIN(r[VBE_DISPI_INDEX_Y_OFFSET], VBE_DISPI_MAX_YRES);
    offset = r[VBE_DISPI_INDEX_X_OFFSET] * bits / 8 + r[VBE_DISPI_INDEX_Y_OFFSET] * line;
    if (offset + r[VBE_DISPI_INDEX_YRES] * line > s->vram_size) {
        r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
        offset = r[VBE_DISPI_INDEX_X_OFFSET] * bits / 8;
        if (offset + r[VBE_DISPI_INDEX_YRES] * line > s->vram_size) {
            r[VBE_DISPI_INDEX_X_OFFSET] = 0;
            offset = 0;
        }
    }
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = MIN(maxy, 0xffffu);
    s->vbe_line_offset = line;
    s->vbe_start_addr = offset / 4;
}

/*
 * The VGA registers a VBE mode implies, re-applied after every VGA or VBE
 * write while the mode is on, as QEMU does: graphics mode with the 64 KiB
 * window at 0xa0000, CRTC width/height/offset from the mode, no double
 * scan, line compare past the screen, and 256-colour shifting above 4 bpp.
 */
void vbe_update_vgaregs(struct vga *s)
{
    unsigned h, shift;

    if (!vbe_enabled(s)) {
        return;
    }
    s->gr[VGA_GFX_MISC] = (s->gr[VGA_GFX_MISC] & ~0x0c) | 0x04 | VGA_GR06_GRAPHICS_MODE;
    s->cr[VGA_CRTC_MODE] |= 3;
    s->cr[VGA_CRTC_OFFSET] = s->vbe_line_offset >> 3;
    s->cr[VGA_CRTC_H_DISP] = (s->vbe_regs[VBE_DISPI_INDEX_XRES] >> 3) - 1;
    h = s->vbe_regs[VBE_DISPI_INDEX_YRES] - 1;
    s->cr[VGA_CRTC_V_DISP_END] = h;
    s->cr[VGA_CRTC_OVERFLOW] = (s->cr[VGA_CRTC_OVERFLOW] & ~0x42) |
                               ((h >> 7) & 0x02) | ((h >> 3) & 0x40);
    s->cr[VGA_CRTC_LINE_COMPARE] = 0xff;
    s->cr[VGA_CRTC_OVERFLOW] |= 0x10;
    s->cr[VGA_CRTC_MAX_SCAN] |= 0x40;
    shift = s->vbe_regs[VBE_DISPI_INDEX_BPP] == 4 ? 0 : 2;
    s->gr[VGA_GFX_MODE] = (s->gr[VGA_GFX_MODE] & ~0x60) | (shift << 5);
    s->cr[VGA_CRTC_MAX_SCAN] &= ~0x9f;
}

uint16_t vbe_read_index(struct vga *s)
{
    return s->vbe_index;
}

void vbe_write_index(struct vga *s, uint16_t val)
{
    s->vbe_index = val;
}

uint16_t vbe_read_data(struct vga *s)
{
    unsigned idx = s->vbe_index;

    if (idx < VBE_DISPI_INDEX_NB) {
        /* GETCAPS: the resolution and depth registers read their maxima. */
        if (s->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS) {
            if (idx == VBE_DISPI_INDEX_XRES) {
                return VBE_DISPI_MAX_XRES;
            }
            if (idx == VBE_DISPI_INDEX_YRES) {
                return VBE_DISPI_MAX_YRES;
            }
            if (idx == VBE_DISPI_INDEX_BPP) {
                return VBE_DISPI_MAX_BPP;
            }
        }
        return s->vbe_regs[idx];
    }
    if (idx == VBE_DISPI_INDEX_VIDEO_MEMORY_64K) {
        return s->vram_size >> 16;
    }
    return 0;
}

static void vbe_enable_write(struct vga *s, uint16_t val)
{
    if ((val & VBE_DISPI_ENABLED) && !vbe_enabled(s)) {
        s->vbe_regs[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
        s->vbe_regs[VBE_DISPI_INDEX_X_OFFSET] = 0;
        s->vbe_regs[VBE_DISPI_INDEX_Y_OFFSET] = 0;
        s->vbe_regs[VBE_DISPI_INDEX_ENABLE] |= VBE_DISPI_ENABLED;
        vbe_fixup_regs(s);
        vbe_update_vgaregs(s);
        /* vbe_fixup_regs bounds YRES * line by vram_size. */
        if (!(val & VBE_DISPI_NOCLEARMEM)) {
            memset(s->vram, 0, (size_t)s->vbe_regs[VBE_DISPI_INDEX_YRES] * s->vbe_line_offset);
            s->vram_dirty = true;
        }
    } else if (!(val & VBE_DISPI_ENABLED)) {
        s->bank_offset = 0;
    }
    s->dac_8bit = val & VBE_DISPI_8BIT_DAC;
    s->vbe_regs[VBE_DISPI_INDEX_ENABLE] = val;
}

void vbe_write_data(struct vga *s, uint16_t val)
{
    unsigned idx = s->vbe_index;

    switch (idx) {
    case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5) {
            s->vbe_regs[idx] = val;
        }
        break;
    case VBE_DISPI_INDEX_XRES:
    case VBE_DISPI_INDEX_YRES:
    case VBE_DISPI_INDEX_BPP:
    case VBE_DISPI_INDEX_VIRT_WIDTH:
    case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        s->vbe_regs[idx] = val;
        vbe_fixup_regs(s);
        vbe_update_vgaregs(s);
        break;
    case VBE_DISPI_INDEX_BANK:
        /* Only banks inside VRAM: bank_offset + 64 KiB <= vram_size. */
        val &= s->vbe_bank_mask;
        s->vbe_regs[idx] = val;
        s->bank_offset = (uint32_t)val << 16;
        break;
    case VBE_DISPI_INDEX_ENABLE:
        vbe_enable_write(s, val);
        break;
    default:
        /* VIRT_HEIGHT is computed; other indexes hold nothing. */
        break;
    }
}
