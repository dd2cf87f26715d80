/*
 * The standard VGA (QEMU's "VGA", -vga std): the VGA register files, the
 * legacy memory window at 0xa0000-0xbffff over planar video memory, and
 * the Bochs VBE "dispi" extension that SeaBIOS's vgabios-stdvga.bin drives
 * for its VBE modes.  hw/vga-pci.c puts it on the PCI bus.
 *
 * The state is what a renderer needs to draw the screen later: register
 * files, the DAC palette, VRAM and the VBE mode.  Every index and value a
 * guest writes is clamped where it is used, so no register value leads to
 * an access outside vram.
 *
 * References: IBM VGA XGA Technical Reference Manual (1992), chapter 2
 * ("Video Graphics Array"); FreeVGA's register descriptions; Bochs'
 * vbe.h for the dispi interface, as QEMU 7.2 implements it.
 *
 * Threads: every entry point runs with the big lock held (port and MMIO
 * handlers on vCPU threads; creation and reset on the main thread).
 */
#ifndef HYVM_VGA_H
#define HYVM_VGA_H

#include <stdbool.h>
#include <stdint.h>

/* Ports (IBM VGA reference, section 2, "Registers"). */
#define VGA_PORT_BASE           0x3b0
#define VGA_PORT_COUNT          0x30
#define VGA_CRT_IM              0x3b4   /* CRTC index, monochrome */
#define VGA_CRT_DM              0x3b5
#define VGA_IS1_RM              0x3ba   /* input status 1 / feature control, mono */
#define VGA_ATT_W               0x3c0   /* attribute index/data (flip-flop) */
#define VGA_ATT_R               0x3c1
#define VGA_MIS_W               0x3c2   /* misc output write / input status 0 */
#define VGA_SEQ_I               0x3c4
#define VGA_SEQ_D               0x3c5
#define VGA_PEL_MSK             0x3c6
#define VGA_PEL_IR              0x3c7   /* DAC read index / DAC state */
#define VGA_PEL_IW              0x3c8
#define VGA_PEL_D               0x3c9
#define VGA_FTC_R               0x3ca   /* feature control read */
#define VGA_MIS_R               0x3cc
#define VGA_GFX_I               0x3ce
#define VGA_GFX_D               0x3cf
#define VGA_CRT_IC              0x3d4   /* CRTC index, colour */
#define VGA_CRT_DC              0x3d5
#define VGA_IS1_RC              0x3da

#define VGA_MIS_COLOR           0x01    /* misc output: CRTC at 0x3dx */

/* Sequencer registers. */
#define VGA_SEQ_CLOCK_MODE      0x01
#define VGA_SEQ_PLANE_WRITE     0x02    /* map mask */
#define VGA_SEQ_CHARACTER_MAP   0x03
#define VGA_SEQ_MEMORY_MODE     0x04
#define VGA_SR04_CHN_4M         0x08    /* chain 4 */
#define VGA_SR02_ALL_PLANES     0x0f

/* Graphics controller registers. */
#define VGA_GFX_SR_VALUE        0x00    /* set/reset */
#define VGA_GFX_SR_ENABLE       0x01
#define VGA_GFX_COMPARE_VALUE   0x02
#define VGA_GFX_DATA_ROTATE     0x03
#define VGA_GFX_PLANE_READ      0x04
#define VGA_GFX_MODE            0x05
#define VGA_GFX_MISC            0x06
#define VGA_GFX_COMPARE_MASK    0x07
#define VGA_GFX_BIT_MASK        0x08
#define VGA_GR05_ODD_EVEN       0x10    /* host odd/even addressing */
#define VGA_GR05_READ_MODE1     0x08
#define VGA_GR06_GRAPHICS_MODE  0x01

/* Attribute controller registers. */
#define VGA_ATC_PALETTE_END     0x0f
#define VGA_ATC_MODE            0x10
#define VGA_ATC_OVERSCAN        0x11
#define VGA_ATC_PLANE_ENABLE    0x12
#define VGA_ATC_PEL             0x13
#define VGA_ATC_COLOR_PAGE      0x14
#define VGA_ATC_COUNT           0x15
#define VGA_AR_ENABLE_DISPLAY   0x20    /* index bit: palette address source */

/* CRT controller registers used here. */
#define VGA_CRTC_H_DISP         0x01
#define VGA_CRTC_OVERFLOW       0x07
#define VGA_CRTC_MAX_SCAN       0x09
#define VGA_CRTC_V_SYNC_END     0x11
#define VGA_CRTC_V_DISP_END     0x12
#define VGA_CRTC_OFFSET         0x13
#define VGA_CRTC_MODE           0x17
#define VGA_CRTC_LINE_COMPARE   0x18
#define VGA_CR11_LOCK_CR0_CR7   0x80

/* Input status 1 bits the retrace toggle flips. */
#define VGA_ST01_V_RETRACE      0x08
#define VGA_ST01_DISP_ENABLE    0x01

/* Bochs VBE dispi interface (Bochs vbe.h; QEMU's include/hw/display/bochs-vbe.h). */
#define VBE_DISPI_IOPORT_INDEX  0x1ce
#define VBE_DISPI_IOPORT_DATA   0x1cf
#define VBE_DISPI_INDEX_ID      0x0
#define VBE_DISPI_INDEX_XRES    0x1
#define VBE_DISPI_INDEX_YRES    0x2
#define VBE_DISPI_INDEX_BPP     0x3
#define VBE_DISPI_INDEX_ENABLE  0x4
#define VBE_DISPI_INDEX_BANK    0x5
#define VBE_DISPI_INDEX_VIRT_WIDTH  0x6
#define VBE_DISPI_INDEX_VIRT_HEIGHT 0x7
#define VBE_DISPI_INDEX_X_OFFSET    0x8
#define VBE_DISPI_INDEX_Y_OFFSET    0x9
#define VBE_DISPI_INDEX_NB          0xa     /* registers kept */
#define VBE_DISPI_INDEX_VIDEO_MEMORY_64K 0xa /* read-only: VRAM in 64 KiB units */

#define VBE_DISPI_ID0           0xb0c0
#define VBE_DISPI_ID5           0xb0c5
#define VBE_DISPI_MAX_XRES      16000
#define VBE_DISPI_MAX_YRES      12000
#define VBE_DISPI_MAX_BPP       32

#define VBE_DISPI_ENABLED       0x01
#define VBE_DISPI_GETCAPS       0x02
#define VBE_DISPI_8BIT_DAC      0x20
#define VBE_DISPI_LFB_ENABLED   0x40
#define VBE_DISPI_NOCLEARMEM    0x80

#define VGA_WINDOW_BASE         0xa0000ull
#define VGA_WINDOW_SIZE         0x20000ull

struct vga {
    uint8_t *vram;                /* vram_size bytes, page-aligned mapping */
    uint32_t vram_size;           /* a power of two, 1-512 MiB */

    uint8_t msr;                  /* misc output */
    uint8_t st00, st01;           /* input status 0 and 1 */
    uint8_t fcr;                  /* feature control */
    uint8_t sr_index, sr[8];      /* sequencer */
    uint8_t gr_index, gr[16];     /* graphics controller */
    uint8_t ar_index, ar[VGA_ATC_COUNT];  /* attribute controller */
    bool ar_flip_flop;            /* false: the next 0x3c0 write is an index */
    uint8_t cr_index, cr[256];    /* CRT controller */
    uint8_t dac_state;            /* 0: writing, 3: reading (0x3c7 reads it) */
    uint8_t dac_read_index, dac_write_index, dac_sub_index;
    uint8_t dac_cache[3];
    uint8_t palette[768];         /* 256 entries of R, G, B (6 or 8 bits) */
    bool dac_8bit;
    uint32_t latch;               /* the four planes' bytes of the last read */

    /* Bochs VBE. */
    uint16_t vbe_index;
    uint16_t vbe_regs[VBE_DISPI_INDEX_NB];
    uint32_t vbe_line_offset;     /* bytes per scan line in VBE modes */
    uint32_t vbe_start_addr;      /* display start in VRAM, in 4-byte units */
    uint32_t vbe_bank_mask;       /* banks of 64 KiB the window can select */
    uint32_t bank_offset;         /* VRAM offset of the 0xa0000 window */

    /* Set on any VRAM write, for a renderer's full-redraw decision. */
    bool vram_dirty;
};

/* Sets up a VGA with vram_size bytes of VRAM (mapped here), as after reset. */
int vga_init(struct vga *s, uint32_t vram_size);
void vga_destroy(struct vga *s);
/* Power-on register state (VRAM keeps its contents, as QEMU's reset). */
void vga_reset(struct vga *s);

/* One byte at a VGA port (0x3b0-0x3df); ports outside it read 0xff. */
uint8_t vga_ioport_read(struct vga *s, uint16_t port);
void vga_ioport_write(struct vga *s, uint16_t port, uint8_t val);

/* One byte at offset addr (0-0x1ffff) of the window at 0xa0000. */
uint8_t vga_mem_readb(struct vga *s, uint32_t addr);
void vga_mem_writeb(struct vga *s, uint32_t addr, uint8_t val);

/* The dispi index and data registers (0x1ce, 0x1cf). */
uint16_t vbe_read_index(struct vga *s);
void vbe_write_index(struct vga *s, uint16_t val);
uint16_t vbe_read_data(struct vga *s);
void vbe_write_data(struct vga *s, uint16_t val);
/* Whether a VBE mode is on (the renderer draws from vbe_* then). */
bool vbe_enabled(const struct vga *s);
/* Sequencer register idx as the memory path sees it: in a VBE mode of 8 or
 * more bits per pixel, chain 4 with every plane enabled, whatever was
 * written (QEMU keeps the written value readable beside it). */
uint8_t vga_sr_effective(const struct vga *s, unsigned idx);
/* Re-applies the VGA registers a VBE mode implies (hw/vbe.c). */
void vbe_update_vgaregs(struct vga *s);

#endif
