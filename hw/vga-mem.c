/*
 * The VGA's host window at 0xa0000-0xbffff onto its four planes (IBM VGA
 * XGA Technical Reference, chapter 2: "Memory Map Select" in the graphics
 * Miscellaneous register, "Memory Mode" in the sequencer, the graphics
 * controller's read and write modes).
 *
 * VRAM holds the planes interleaved, as QEMU lays them out: byte 4 * a + p
 * is plane p at address a.  Chain 4 then addresses VRAM bytes directly,
 * odd/even sends even addresses to planes 0/2 and odd ones to 1/3, and the
 * planar path works on all four planes of one address through the latch.
 *
 * Every guest-chosen offset (window offset, VBE bank) is checked against
 * vram_size before VRAM is touched; what falls outside reads 0xff and is
 * not written.
 *
 * Threads: big lock (see hw/vga.h).
 */
#include <glib.h>

#include "hw/vga.h"

/* A 4-bit plane mask to a 32-bit mask of those planes' bytes. */
static uint32_t plane_mask32(unsigned m)
{
    uint32_t r = 0;

    for (unsigned p = 0; p < 4; p++) {
        if (m & (1u << p)) {
            r |= 0xffu << (8 * p);
        }
    }
    return r;
}

static uint32_t byte_to_planes(uint8_t v)
{
    return v * 0x01010101u;
}

uint8_t vga_sr_effective(const struct vga *s, unsigned idx)
{
    uint8_t v = s->sr[idx & 7];

    if (!vbe_enabled(s)) {
        return v;
    }
    if (s->vbe_regs[VBE_DISPI_INDEX_BPP] == 4) {
        if (idx == VGA_SEQ_CLOCK_MODE) {
            v &= ~8;            /* no half dot clock */
        }
    } else if (idx == VGA_SEQ_MEMORY_MODE) {
        v |= VGA_SR04_CHN_4M;
    } else if (idx == VGA_SEQ_PLANE_WRITE) {
        v |= VGA_SR02_ALL_PLANES;
    }
    return v;
}

/*
 * The VRAM address (before plane interleaving) of window offset addr, by
 * the memory map select field (GR06 bits 3:2): 0 = 128 KiB at 0xa0000,
 * 1 = 64 KiB at 0xa0000 (plus the VBE bank), 2 = 32 KiB at 0xb0000,
 * 3 = 32 KiB at 0xb8000.  False when the window does not decode addr.
 */
static bool vga_window_offset(const struct vga *s, uint32_t addr, uint32_t *out)
{
    addr &= 0x1ffff;
    switch ((s->gr[VGA_GFX_MISC] >> 2) & 3) {
    case 0:
        break;
    case 1:
        if (addr >= 0x10000) {
            return false;
        }
        addr += s->bank_offset;
        break;
    case 2:
        if (addr < 0x10000 || addr >= 0x18000) {
            return false;
        }
        addr -= 0x10000;
        break;
    default:
        if (addr < 0x18000) {
            return false;
        }
        addr -= 0x18000;
        break;
    }
    *out = addr;
    return true;
}

/* The plane odd/even addressing picks: bit 0 of the address, with the
 * read map select's bit 1 choosing planes 0/1 or 2/3. */
static unsigned odd_even_plane(const struct vga *s, uint32_t addr)
{
    return (s->gr[VGA_GFX_PLANE_READ] & 2) | (addr & 1);
}

uint8_t vga_mem_readb(struct vga *s, uint32_t addr)
{
    uint32_t a, planes;

    if (!vga_window_offset(s, addr, &a)) {
        return 0xff;
    }
    if (vga_sr_effective(s, VGA_SEQ_MEMORY_MODE) & VGA_SR04_CHN_4M) {
        return a < s->vram_size ? s->vram[a] : 0xff;
    }
    if (s->gr[VGA_GFX_MODE] & VGA_GR05_ODD_EVEN) {
        a = ((a & ~1u) << 1) | odd_even_plane(s, a);
        return a < s->vram_size ? s->vram[a] : 0xff;
    }
    if (a >= s->vram_size / 4) {
        return 0xff;
    }
    s->latch = s->vram[4 * a] | s->vram[4 * a + 1] << 8 | s->vram[4 * a + 2] << 16 |
               (uint32_t)s->vram[4 * a + 3] << 24;
    if (!(s->gr[VGA_GFX_MODE] & VGA_GR05_READ_MODE1)) {
        /* Read mode 0: the byte of the plane read map select names. */
        return s->latch >> (8 * (s->gr[VGA_GFX_PLANE_READ] & 3));
    }
    /* Read mode 1: a 1 for each pixel whose colour, over the planes the
     * colour don't care register keeps, equals the colour compare value. */
    planes = (s->latch ^ plane_mask32(s->gr[VGA_GFX_COMPARE_VALUE])) &
             plane_mask32(s->gr[VGA_GFX_COMPARE_MASK]);
    planes |= planes >> 16;
    planes |= planes >> 8;
    return ~planes & 0xff;
}

static uint8_t rotate_right(uint8_t v, unsigned n)
{
    n &= 7;
    return n ? (uint8_t)((v >> n) | (v << (8 - n))) : v;
}

/* Write modes 0-3 through the latch (graphics Mode register bits 1:0). */
static void vga_planar_write(struct vga *s, uint32_t a, uint8_t val)
{
    uint32_t v, bit_mask, write_mask;
    unsigned mode = s->gr[VGA_GFX_MODE] & 3;

    switch (mode) {
    case 0: {
        uint32_t sr_enable = plane_mask32(s->gr[VGA_GFX_SR_ENABLE]);

        v = byte_to_planes(rotate_right(val, s->gr[VGA_GFX_DATA_ROTATE]));
        v = (v & ~sr_enable) | (plane_mask32(s->gr[VGA_GFX_SR_VALUE]) & sr_enable);
        bit_mask = s->gr[VGA_GFX_BIT_MASK];
        break;
    }
    case 1:
        /* The latch as it is: a plane-wide copy. */
        v = s->latch;
        goto store;
    case 2:
        v = plane_mask32(val & 0x0f);
        bit_mask = s->gr[VGA_GFX_BIT_MASK];
        break;
    default:
        bit_mask = s->gr[VGA_GFX_BIT_MASK] & rotate_right(val, s->gr[VGA_GFX_DATA_ROTATE]);
        v = plane_mask32(s->gr[VGA_GFX_SR_VALUE]);
        break;
    }
    /* Function select (Data Rotate bits 4:3): replace, AND, OR, XOR with the latch. */
    switch ((s->gr[VGA_GFX_DATA_ROTATE] >> 3) & 3) {
    case 1:
        v &= s->latch;
        break;
    case 2:
        v |= s->latch;
        break;
    case 3:
        v ^= s->latch;
        break;
    default:
        break;
    }
    bit_mask = byte_to_planes(bit_mask);
    v = (v & bit_mask) | (s->latch & ~bit_mask);

store:
    write_mask = plane_mask32(vga_sr_effective(s, VGA_SEQ_PLANE_WRITE));
    for (unsigned p = 0; p < 4; p++) {
        if (write_mask & (0xffu << (8 * p))) {
            s->vram[4 * a + p] = v >> (8 * p);
        }
    }
}

void vga_mem_writeb(struct vga *s, uint32_t addr, uint8_t val)
{
    uint8_t map_mask = vga_sr_effective(s, VGA_SEQ_PLANE_WRITE);
    uint32_t a;

    if (!vga_window_offset(s, addr, &a)) {
        return;
    }
    if (vga_sr_effective(s, VGA_SEQ_MEMORY_MODE) & VGA_SR04_CHN_4M) {
        /* Chain 4: the address's low two bits pick the plane. */
        if ((map_mask & (1u << (a & 3))) && a < s->vram_size) {
            s->vram[a] = val;
            s->vram_dirty = true;
        }
        return;
    }
    if (s->gr[VGA_GFX_MODE] & VGA_GR05_ODD_EVEN) {
        unsigned plane = odd_even_plane(s, a);

        a = ((a & ~1u) << 1) | plane;
        if ((map_mask & (1u << plane)) && a < s->vram_size) {
            s->vram[a] = val;
            s->vram_dirty = true;
        }
        return;
    }
    if (a >= s->vram_size / 4) {
        return;
    }
    vga_planar_write(s, a, val);
    s->vram_dirty = true;
}
