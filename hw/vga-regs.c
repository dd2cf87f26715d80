/*
 * The VGA register files behind ports 0x3b0-0x3df (IBM VGA XGA Technical
 * Reference, chapter 2, "Registers"): misc output and input status, the
 * sequencer, graphics controller and CRT controller (index/data pairs),
 * the attribute controller with its index/data flip-flop, and the DAC.
 *
 * Values and masks are those a guest reads back under QEMU 7.2's std VGA,
 * which SeaBIOS's vgabios expects: the reserved bits QEMU forces to zero,
 * the CRTC at 0x3b4 or 0x3d4 as misc output bit 0 says (the other pair
 * reads 0xff), and input status 1 toggling retrace on every read.
 *
 * Threads: big lock (see hw/vga.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "hw/vga.h"

/* Writable bits of the sequencer and graphics registers (QEMU's sr_mask
 * and gr_mask: what the VGA implements of each). */
static const uint8_t sr_mask[8] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff };
static const uint8_t gr_mask[16] = {
    0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff,
};

int vga_init(struct vga *s, uint32_t vram_size)
{
    void *p;

    memset(s, 0, sizeof(*s));
    if (!vram_size || (vram_size & (vram_size - 1)) || vram_size < 0x40000) {
        return -EINVAL;
    }
    p = mmap(NULL, vram_size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return -errno;
    }
    s->vram = p;
    s->vram_size = vram_size;
    s->vbe_bank_mask = (vram_size >> 16) - 1;
    vga_reset(s);
    return 0;
}

void vga_destroy(struct vga *s)
{
    if (s->vram) {
        munmap(s->vram, s->vram_size);
        s->vram = NULL;
    }
}

void vga_reset(struct vga *s)
{
    uint8_t *vram = s->vram;
    uint32_t vram_size = s->vram_size, bank_mask = s->vbe_bank_mask;

    memset(s, 0, sizeof(*s));
    s->vram = vram;
    s->vram_size = vram_size;
    s->vbe_bank_mask = bank_mask;
    s->vbe_regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    s->vram_dirty = true;
}

/* The pair not selected by misc output bit 0 is not decoded (0x3b0-0x3bf
 * in colour mode, 0x3d0-0x3df in monochrome). */
static bool vga_port_unselected(const struct vga *s, uint16_t port)
{
    if (s->msr & VGA_MIS_COLOR) {
        return port >= 0x3b0 && port <= 0x3bf;
    }
    return port >= 0x3d0 && port <= 0x3df;
}

/* The ports QEMU's VGA claims; the rest of 0x3b0-0x3df is unassigned. */
static bool vga_port_decoded(uint16_t port)
{
    return port == VGA_CRT_IM || port == VGA_CRT_DM || port == VGA_IS1_RM ||
           (port >= 0x3c0 && port <= 0x3cf) ||
           port == VGA_CRT_IC || port == VGA_CRT_DC || port == VGA_IS1_RC;
}

uint8_t vga_ioport_read(struct vga *s, uint16_t port)
{
    unsigned idx;

    if (!vga_port_decoded(port) || vga_port_unselected(s, port)) {
        return 0xff;
    }
    switch (port) {
    case VGA_ATT_W:
        return s->ar_flip_flop ? 0 : s->ar_index;
    case VGA_ATT_R:
        idx = s->ar_index & 0x1f;
        return idx < VGA_ATC_COUNT ? s->ar[idx] : 0;
    case VGA_MIS_W:
        return s->st00;
    case VGA_SEQ_I:
        return s->sr_index;
    case VGA_SEQ_D:
        return s->sr[s->sr_index & 7];
    case VGA_PEL_IR:
        return s->dac_state;
    case VGA_PEL_IW:
        return s->dac_write_index;
    case VGA_PEL_D: {
        uint8_t v = s->palette[s->dac_read_index * 3 + s->dac_sub_index];

        if (++s->dac_sub_index == 3) {
            s->dac_sub_index = 0;
            s->dac_read_index++;     /* wraps at 256, as the 8-bit index does */
        }
        return v;
    }
    case VGA_FTC_R:
        return s->fcr;
    case VGA_MIS_R:
        return s->msr;
    case VGA_GFX_I:
        return s->gr_index;
    case VGA_GFX_D:
        return s->gr[s->gr_index & 0x0f];
    case VGA_CRT_IM:
    case VGA_CRT_IC:
        return s->cr_index;
    case VGA_CRT_DM:
    case VGA_CRT_DC:
        return s->cr[s->cr_index];
    case VGA_IS1_RM:
    case VGA_IS1_RC:
        /* No real timing: flip retrace and display enable on each read so
         * loops waiting for either end; the read also resets the attribute
         * flip-flop to "index" (IBM reference, "Input Status Register 1"). */
        s->st01 ^= VGA_ST01_V_RETRACE | VGA_ST01_DISP_ENABLE;
        s->ar_flip_flop = false;
        return s->st01;
    default:
        /* 0x3c3, 0x3c6, 0x3cb, 0x3cd: claimed, nothing behind them. */
        return 0;
    }
}

static void vga_ar_write(struct vga *s, uint8_t val)
{
    unsigned idx = s->ar_index & 0x1f;

    if (!s->ar_flip_flop) {
        s->ar_index = val & 0x3f;
    } else if (idx <= VGA_ATC_PALETTE_END) {
        s->ar[idx] = val & 0x3f;
    } else if (idx == VGA_ATC_MODE) {
        s->ar[idx] = val & ~0x10;
    } else if (idx == VGA_ATC_OVERSCAN) {
        s->ar[idx] = val;
    } else if (idx == VGA_ATC_PLANE_ENABLE) {
        s->ar[idx] = val & ~0xc0;
    } else if (idx == VGA_ATC_PEL || idx == VGA_ATC_COLOR_PAGE) {
        s->ar[idx] = val & ~0xf0;
    }
    s->ar_flip_flop = !s->ar_flip_flop;
}

static void vga_cr_write(struct vga *s, uint8_t val)
{
    /* CR11 bit 7 write-protects CR0-CR7, except CR7's line compare bit 4. */
    if ((s->cr[VGA_CRTC_V_SYNC_END] & VGA_CR11_LOCK_CR0_CR7) &&
        s->cr_index <= VGA_CRTC_OVERFLOW) {
        if (s->cr_index == VGA_CRTC_OVERFLOW) {
            s->cr[VGA_CRTC_OVERFLOW] = (s->cr[VGA_CRTC_OVERFLOW] & ~0x10) | (val & 0x10);
            vbe_update_vgaregs(s);
        }
        return;
    }
    s->cr[s->cr_index] = val;
    vbe_update_vgaregs(s);
}

void vga_ioport_write(struct vga *s, uint16_t port, uint8_t val)
{
    if (!vga_port_decoded(port) || vga_port_unselected(s, port)) {
        return;
    }
    switch (port) {
    case VGA_ATT_W:
        vga_ar_write(s, val);
        break;
    case VGA_MIS_W:
        s->msr = val & ~0x10;
        break;
    case VGA_SEQ_I:
        s->sr_index = val & 7;
        break;
    case VGA_SEQ_D:
        s->sr[s->sr_index] = val & sr_mask[s->sr_index];
        break;
    case VGA_PEL_IR:
        s->dac_read_index = val;
        s->dac_sub_index = 0;
        s->dac_state = 3;
        break;
    case VGA_PEL_IW:
        s->dac_write_index = val;
        s->dac_sub_index = 0;
        s->dac_state = 0;
        break;
    case VGA_PEL_D:
        s->dac_cache[s->dac_sub_index] = val;
        if (++s->dac_sub_index == 3) {
            memcpy(&s->palette[s->dac_write_index * 3], s->dac_cache, 3);
            s->dac_sub_index = 0;
            s->dac_write_index++;
        }
        break;
    case VGA_GFX_I:
        s->gr_index = val & 0x0f;
        break;
    case VGA_GFX_D:
        s->gr[s->gr_index] = val & gr_mask[s->gr_index];
        vbe_update_vgaregs(s);
        break;
    case VGA_CRT_IM:
    case VGA_CRT_IC:
        s->cr_index = val;
        break;
    case VGA_CRT_DM:
    case VGA_CRT_DC:
        vga_cr_write(s, val);
        break;
    case VGA_IS1_RM:
    case VGA_IS1_RC:
        s->fcr = val & 0x10;
        break;
    default:
        break;
    }
}
