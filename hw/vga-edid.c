/*
 * The EDID block QEMU's std VGA shows at offset 0 of its MMIO BAR (VESA
 * E-EDID standard, release A2, for EDID 1.4).  hyvm writes its own base
 * block: a "QEMU Monitor" from manufacturer "RHT" with a preferred mode of
 * the device's xres x yres at 60 Hz, sRGB colour, and the usual VGA, SVGA
 * and XGA established timings.  QEMU adds a CEA extension block; this one
 * has none (byte 126 says so).
 *
 * Threads: main thread, while the device is created.
 */
#include <string.h>

#include "hw/vga-pci.h"

#define EDID_DEFAULT_XRES 1280
#define EDID_DEFAULT_YRES 800
#define EDID_MAX_ACTIVE   4095     /* 12-bit fields of a detailed timing */
#define EDID_DPI          100

/* Blanking of the detailed timing: CVT reduced-blanking sized. */
#define EDID_HBLANK 160
#define EDID_HFRONT 48
#define EDID_HSYNC  32
#define EDID_VBLANK 35
#define EDID_VFRONT 3
#define EDID_VSYNC  6

static void edid_text_descriptor(uint8_t *d, uint8_t tag, const char *text)
{
    size_t n = strlen(text);

    memset(d, 0, 18);
    d[3] = tag;
    memset(d + 5, ' ', 13);
    memcpy(d + 5, text, n);
    d[5 + n] = '\n';
}

/* Descriptor block 1 (section 3.10.2): the preferred mode. */
static void edid_detailed_timing(uint8_t *d, uint32_t x, uint32_t y)
{
    uint32_t htotal = x + EDID_HBLANK, vtotal = y + EDID_VBLANK;
    uint64_t clk = (uint64_t)htotal * vtotal * 60 / 10000;   /* 10 kHz units */
    uint32_t wmm = x * 254 / (EDID_DPI * 10), hmm = y * 254 / (EDID_DPI * 10);

    clk = MIN(clk, 0xffffu);
    d[0] = clk;
    d[1] = clk >> 8;
    d[2] = x;
    d[3] = EDID_HBLANK;
    d[4] = (x >> 8) << 4 | (EDID_HBLANK >> 8);
    d[5] = y;
    d[6] = EDID_VBLANK;
    d[7] = (y >> 8) << 4 | (EDID_VBLANK >> 8);
    d[8] = EDID_HFRONT;
    d[9] = EDID_HSYNC;
    d[10] = (EDID_VFRONT & 0xf) << 4 | (EDID_VSYNC & 0xf);
    d[11] = 0;
    d[12] = wmm;
    d[13] = hmm;
    d[14] = (wmm >> 8) << 4 | ((hmm >> 8) & 0xf);
    d[15] = 0;
    d[16] = 0;
    d[17] = 0x1e;      /* digital separate sync, both polarities positive */
}

void vga_edid_build(uint8_t edid[128], uint32_t xres, uint32_t yres)
{
    /* sRGB primaries and white point, 10-bit fractions (section 3.7). */
    static const uint16_t chroma[8] = { 655, 338, 307, 614, 154, 61, 320, 337 };
    static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
    /* The eight standard timings QEMU lists (section 3.9): 2048x1152,
     * 1920x1080, 1920x1200, 1600x1200, 1680x1050, 1440x900, 1280x1024,
     * 1280x960, all at 60 Hz. */
    static const uint8_t std_timings[16] = {
        0xe1, 0xc0, 0xd1, 0xc0, 0xd1, 0x00, 0xa9, 0x40,
        0xb3, 0x00, 0x95, 0x00, 0x81, 0x80, 0x81, 0x40,
    };
    /* Display range limits (section 3.10.3.3): 50-125 Hz vertical, 30-160
     * kHz horizontal, pixel clock up to 2550 MHz, no timing formula. */
    static const uint8_t range_limits[18] = {
        0x00, 0x00, 0x00, 0xfd, 0x00, 50, 125, 30, 160, 0xff, 0x01,
        0x0a, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    };
    uint8_t sum = 0;

    xres = xres ? MIN(xres, EDID_MAX_ACTIVE) : EDID_DEFAULT_XRES;
    yres = yres ? MIN(yres, EDID_MAX_ACTIVE) : EDID_DEFAULT_YRES;
    memset(edid, 0, 128);
    memcpy(edid, header, sizeof(header));
    /* "RHT": three 5-bit letters, 'A' = 1, big-endian. */
    edid[8] = (('R' - '@') << 2) | (('H' - '@') >> 3);
    edid[9] = (uint8_t)((('H' - '@') << 5) | ('T' - '@'));
    edid[10] = 0x34;                   /* product code 0x1234, little-endian */
    edid[11] = 0x12;
    edid[16] = 42;                     /* week 42 of 2014, as QEMU's */
    edid[17] = 2014 - 1990;
    edid[18] = 1;                      /* EDID 1.4 */
    edid[19] = 4;
    edid[20] = 0xa5;                   /* digital, 8 bits per colour, DisplayPort */
    edid[21] = xres * 254 / (EDID_DPI * 100);              /* cm, truncated */
    edid[22] = yres * 254 / (EDID_DPI * 100);
    edid[23] = 120;                    /* gamma 2.2 */
    edid[24] = 0x06;                   /* sRGB default, preferred timing is native */
    edid[25] = (chroma[0] & 3) << 6 | (chroma[1] & 3) << 4 | (chroma[2] & 3) << 2 |
               (chroma[3] & 3);
    edid[26] = (chroma[4] & 3) << 6 | (chroma[5] & 3) << 4 | (chroma[6] & 3) << 2 |
               (chroma[7] & 3);
    for (unsigned i = 0; i < 8; i++) {
        edid[27 + i] = chroma[i] >> 2;
    }
    edid[35] = 0x21;                   /* 640x480@60, 800x600@60 */
    edid[36] = 0x08;                   /* 1024x768@60 */
    memcpy(edid + 38, std_timings, sizeof(std_timings));
    edid_detailed_timing(edid + 54, xres, yres);
    /* A dummy descriptor where QEMU lists established timings III. */
    memset(edid + 72, 0, 18);
    edid[75] = 0x10;
    memcpy(edid + 90, range_limits, sizeof(range_limits));
    edid_text_descriptor(edid + 108, 0xfc, "QEMU Monitor");
    for (unsigned i = 0; i < 127; i++) {
        sum += edid[i];
    }
    edid[127] = -sum;
}
