/*
 * The 16550A UART as a guest driver sees it: every register access goes
 * through io_pio() exactly as a vCPU's IN/OUT would, bytes come from and go
 * to real chardevs, and interrupts are watched on the route the machine
 * installs.  Each case runs in a subprocess, since ports, chardevs and IRQ
 * lines live for the life of the process as they do in hyvm.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/devices.h"
#include "hw/irq.h"
#include "system/error.h"
#include "system/main-loop.h"
#include "system/memory.h"

#define COM1 0x3f8
#define COM2 0x2f8
#define COM3 0x3e8

/* Register offsets and bits, as a driver (Linux's serial_reg.h) names them. */
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3,
       MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static uint8_t inb(uint16_t port)
{
    uint8_t v = 0;

    io_pio(port, &v, 1, false);
    return v;
}

static void outb(uint16_t port, uint8_t v)
{
    io_pio(port, &v, 1, true);
}

/* ---- the interrupt route, as the machine installs it ---- */

static int gsi_level[24];
static unsigned gsi_raises[24];

static void record_irq(void *opaque, unsigned gsi, int level)
{
    g_assert_cmpuint(gsi, <, 24);
    if (level && !gsi_level[gsi]) {
        gsi_raises[gsi]++;
    }
    gsi_level[gsi] = level;
}

static char *tmp_dir;

static void remove_tmp_dir(void)
{
    static const char *const names[] = { "tx", "sock" };

    chardev_cleanup_all();
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *p = g_build_filename(tmp_dir, names[i], NULL);

        g_unlink(p);
    }
    g_rmdir(tmp_dir);
}

/* Every case starts here, in its own process. */
static void child_setup(void)
{
    bql_lock();
    irq_set_route(record_irq, NULL);
    tmp_dir = g_dir_make_tmp("hyvm-serial-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    atexit(remove_tmp_dir);
}

static struct chardev *make_chardev(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static struct chardev *make_chardev(const char *fmt, ...)
{
    GError *err = NULL;
    struct chardev *chr;
    va_list ap;
    char *opts;

    va_start(ap, fmt);
    opts = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    chr = chardev_new_from_opts(opts, &err);
    g_assert_no_error(err);
    g_assert_nonnull(chr);
    g_free(opts);
    return chr;
}

static void create_com(unsigned index, struct chardev *chr)
{
    GError *err = NULL;

    g_assert_cmpint(serial_create_isa(index, chr, &err), ==, 0);
    g_assert_no_error(err);
}

/* ---- what Linux's 8250 autoconfig() concludes about a port ---- */

static const char *probe_like_linux(uint16_t base)
{
    uint8_t save_ier, save_mcr, save_lcr, scratch, scratch2, status1, status2;

    /* "scratch" test: IER's high nibble reads 0, the low one holds 0x0f. */
    save_ier = inb(base + IER);
    outb(base + IER, 0);
    scratch = inb(base + IER) & 0x0f;
    outb(base + IER, 0x0f);
    scratch2 = inb(base + IER) & 0x0f;
    outb(base + IER, save_ier);
    if (scratch != 0 || scratch2 != 0x0f) {
        return "no UART (IER test)";
    }

    /* Loopback: MSR's inputs follow RTS and OUT2. */
    save_mcr = inb(base + MCR);
    save_lcr = inb(base + LCR);
    outb(base + MCR, 0x10 | 0x0a);
    status1 = inb(base + MSR) & 0xf0;
    outb(base + MCR, save_mcr);
    if (status1 != 0x90) {
        return "no UART (loopback test)";
    }

    /* EFR probe (LCR 0xbf), then the FIFO bits of IIR after enabling it. */
    outb(base + LCR, 0xbf);
    outb(base + 2, 0);
    outb(base + LCR, 0);
    outb(base + FCR, 0x01);
    scratch = inb(base + IIR) >> 6;
    if (scratch == 0) {
        return "8250/16450";
    } else if (scratch != 3) {
        return scratch == 2 ? "16550" : "unknown";
    }

    /* autoconfig_16550a(): no EFR behind LCR 0x80 or 0xbf ... */
    outb(base + LCR, 0x80);
    if (inb(base + 2) == 0) {
        return "16650 (EFR)";
    }
    outb(base + LCR, 0xbf);
    if (inb(base + 2) == 0) {
        return "16650V2 (EFR)";
    }
    /* ... no 64-byte FIFO bit (TI16750) ... */
    outb(base + LCR, 0);
    outb(base + FCR, 0x01 | 0x20);
    status1 = inb(base + IIR) & 0xe0;
    outb(base + FCR, 0x01);
    outb(base + LCR, 0x80);
    outb(base + FCR, 0x01 | 0x20);
    status2 = inb(base + IIR) & 0xe0;
    outb(base + FCR, 0x01);
    outb(base + LCR, 0);
    if (status1 == 0xc0 && status2 == 0xe0) {
        return "16750";
    }
    /* ... and no XScale UUE bit in IER. */
    save_ier = inb(base + IER);
    outb(base + IER, save_ier & ~0x40);
    if (!(inb(base + IER) & 0x40)) {
        outb(base + IER, save_ier | 0x40);
        if (inb(base + IER) & 0x40) {
            return "XScale";
        }
    }
    outb(base + IER, save_ier);
    outb(base + LCR, save_lcr);
    return "16550A";
}

static void child_autoconfig(void)
{
    child_setup();
    create_com(0, NULL);
    g_assert_cmpstr(probe_like_linux(COM1), ==, "16550A");

    /*
     * serial8250_do_startup()'s THRE test: enabling THRI with THR empty
     * raises the interrupt, an IIR read acknowledges it, and enabling
     * THRI again re-asserts it.  Otherwise Linux marks UART_BUG_THRE.
     */
    outb(COM1 + FCR, 0x01 | 0x06);
    outb(COM1 + IER, 0x02);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc2);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc1);
    outb(COM1 + IER, 0);
    outb(COM1 + IER, 0x02);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc2);
    outb(COM1 + IER, 0);
    /* The "LSR safety check" reads 0xff on a missing port. */
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
}

static void child_scratch(void)
{
    child_setup();
    create_com(0, NULL);
    for (unsigned v = 0; v < 256; v += 0x33) {
        outb(COM1 + SCR, v);
        g_assert_cmphex(inb(COM1 + SCR), ==, v);
    }
    /* Reset values (datasheet Table III). */
    g_assert_cmphex(inb(COM1 + IER), ==, 0);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
    g_assert_cmphex(inb(COM1 + LCR), ==, 0);
    g_assert_cmphex(inb(COM1 + MCR), ==, 0);
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
    /* Nothing pending on an unused port: IER's high bits never stick. */
    outb(COM1 + IER, 0xff);
    g_assert_cmphex(inb(COM1 + IER), ==, 0x0f);
    outb(COM1 + MCR, 0xff);
    g_assert_cmphex(inb(COM1 + MCR), ==, 0x1f);
}

static void child_divisor_latch(void)
{
    g_autofree char *path = NULL;
    g_autofree char *out = NULL;
    child_setup();
    path = g_build_filename(tmp_dir, "tx", NULL);
    gsize len;

    create_com(0, make_chardev("file,id=dl,path=%s", path));
    outb(COM1 + IER, 0x05);
    outb(COM1 + LCR, 0x80 | 0x03);           /* DLAB, 8N1 */
    outb(COM1 + DLL, 0x01);                   /* 115200 baud */
    outb(COM1 + DLM, 0x02);
    /* With DLAB, offsets 0 and 1 are the latch: no byte sent, IER kept. */
    g_assert_cmphex(inb(COM1 + DLL), ==, 0x01);
    g_assert_cmphex(inb(COM1 + DLM), ==, 0x02);
    g_assert_cmphex(inb(COM1 + LCR), ==, 0x83);
    outb(COM1 + LCR, 0x03);
    g_assert_cmphex(inb(COM1 + IER), ==, 0x05);
    outb(COM1 + IER, 0x00);
    outb(COM1 + LCR, 0x83);
    g_assert_cmphex(inb(COM1 + DLL), ==, 0x01);
    g_assert_cmphex(inb(COM1 + DLM), ==, 0x02);
    outb(COM1 + LCR, 0x03);
    outb(COM1 + THR, 'k');
    g_assert_true(g_file_get_contents(path, &out, &len, NULL));
    g_assert_cmpmem(out, len, "k", 1);
}

static void child_transmit_to_file(void)
{
    g_autofree char *path = NULL;
    g_autofree char *out = NULL;
    const char *msg = "Linux version 6.1\r\n";
    child_setup();
    path = g_build_filename(tmp_dir, "tx", NULL);
    gsize len;

    create_com(0, make_chardev("file,id=tx,path=%s", path));
    outb(COM1 + LCR, 0x03);
    outb(COM1 + FCR, 0xc7);
    for (const char *p = msg; *p; p++) {
        /* What a polling console does: wait for THRE, write THR. */
        g_assert_true(inb(COM1 + LSR) & 0x20);
        outb(COM1 + THR, *p);
        g_assert_cmphex(inb(COM1 + LSR) & 0x60, ==, 0x60);
    }
    g_assert_true(g_file_get_contents(path, &out, &len, NULL));
    g_assert_cmpmem(out, len, msg, strlen(msg));
    /* Nothing transmitted goes back into the receiver. */
    g_assert_false(inb(COM1 + LSR) & 0x01);
}

static void child_loopback(void)
{
    g_autofree char *path = NULL;
    g_autofree char *out = NULL;
    child_setup();
    path = g_build_filename(tmp_dir, "tx", NULL);
    gsize len;

    create_com(0, make_chardev("file,id=lb,path=%s", path));
    /* Outside loopback the chardev's lines: CTS, DSR, DCD. */
    g_assert_cmphex(inb(COM1 + MSR), ==, 0xb0);

    outb(COM1 + MCR, 0x10);
    /* All four inputs dropped: CTS, DSR and DCD changed. */
    g_assert_cmphex(inb(COM1 + MSR), ==, 0x0b);
    g_assert_cmphex(inb(COM1 + MSR), ==, 0x00);
    outb(COM1 + MCR, 0x10 | 0x0f);           /* DTR RTS OUT1 OUT2 */
    g_assert_cmphex(inb(COM1 + MSR), ==, 0xfb);
    outb(COM1 + MCR, 0x10 | 0x01);           /* only DTR: RI trailing edge */
    g_assert_cmphex(inb(COM1 + MSR), ==, 0x20 | 0x0d);
    g_assert_cmphex(inb(COM1 + MSR), ==, 0x20);

    /* Transmitted bytes come back in RBR and never reach the chardev. */
    outb(COM1 + THR, 'x');
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x61);
    g_assert_cmphex(inb(COM1 + RBR), ==, 'x');
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
    g_assert_true(g_file_get_contents(path, &out, &len, NULL));
    g_assert_cmpuint(len, ==, 0);

    /* 16450 mode holds one character: a second one overruns it. */
    outb(COM1 + THR, '1');
    outb(COM1 + THR, '2');
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x63);
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x61);  /* OE cleared by the read */
    g_assert_cmphex(inb(COM1 + RBR), ==, '2');
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
}

/* Loopback with FIFOs: n characters into the receiver. */
static void loop_send(unsigned n, char first)
{
    for (unsigned i = 0; i < n; i++) {
        outb(COM1 + THR, first + i);
    }
}

static void child_fifo_trigger(void)
{
    static const struct { uint8_t fcr; unsigned level; } trig[] = {
        { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 },
    };

    child_setup();
    create_com(0, NULL);
    outb(COM1 + MCR, 0x10);
    outb(COM1 + IER, 0x01);
    for (unsigned t = 0; t < G_N_ELEMENTS(trig); t++) {
        outb(COM1 + FCR, trig[t].fcr | 0x02);
        g_assert_cmphex(inb(COM1 + IIR), ==, 0xc1);
        /* Below the trigger level the idle line times out (IIR 0xc). */
        loop_send(trig[t].level - 1, 'a');
        g_assert_cmphex(inb(COM1 + IIR), ==, trig[t].level > 1 ? 0xcc : 0xc1);
        loop_send(1, 'a' + trig[t].level - 1);
        g_assert_cmphex(inb(COM1 + IIR), ==, 0xc4);
        /* Draining below the level turns it back into a timeout. */
        g_assert_cmphex(inb(COM1 + RBR), ==, 'a');
        g_assert_cmphex(inb(COM1 + IIR), ==, trig[t].level > 1 ? 0xcc : 0xc1);
        for (unsigned i = 1; i < trig[t].level; i++) {
            g_assert_cmphex(inb(COM1 + RBR), ==, 'a' + i);
        }
        g_assert_cmphex(inb(COM1 + IIR), ==, 0xc1);
    }

    /* 16 characters fit; the 17th is lost and sets OE. */
    outb(COM1 + FCR, 0x01 | 0x02);
    outb(COM1 + IER, 0x05);
    loop_send(17, 'A');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc6);   /* line status first */
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x63);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc4);
    for (unsigned i = 0; i < 16; i++) {
        g_assert_cmphex(inb(COM1 + RBR), ==, 'A' + i);
    }
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);

    /* FCR bit 1 empties the receiver; turning FIFOs off does too. */
    loop_send(3, 'q');
    outb(COM1 + FCR, 0x01 | 0x02);
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
    loop_send(3, 'q');
    outb(COM1 + FCR, 0x00);
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);   /* no FIFO bits */
}

static void child_iir_priorities(void)
{
    child_setup();
    create_com(0, NULL);
    outb(COM1 + FCR, 0x07);
    outb(COM1 + MCR, 0x10);
    outb(COM1 + IER, 0x0f);
    /* THR empty, MSR deltas from entering loopback, now RX data and OE. */
    loop_send(17, 'a');

    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc6);   /* line status */
    g_assert_cmphex(inb(COM1 + LSR) & 0x02, ==, 0x02);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc4);   /* received data */
    for (unsigned i = 0; i < 16; i++) {
        inb(COM1 + RBR);
    }
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc2);   /* THR empty, now acked */
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc0);   /* modem status */
    g_assert_cmphex(inb(COM1 + MSR) & 0x0f, !=, 0);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc1);

    /* Masked sources stay quiet even when their condition holds. */
    outb(COM1 + IER, 0);
    loop_send(1, 'z');
    outb(COM1 + MCR, 0x10 | 0x02);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc1);
    outb(COM1 + IER, 0x08);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc0);
    outb(COM1 + IER, 0x09);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc4);   /* 1 byte, trigger 1 */
}

static void child_thre_interrupt(void)
{
    child_setup();
    create_com(0, NULL);
    /* Raised when ETBEI is enabled with THR empty (16450 mode: no 0xc0). */
    outb(COM1 + IER, 0x02);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x02);
    /* Reading IIR while THRE is the source clears it. */
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
    /* Writing THR clears it, and it is raised again when THR empties. */
    outb(COM1 + THR, '.');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x02);
    /* Reading IIR for another source leaves it pending. */
    outb(COM1 + MCR, 0x10);
    outb(COM1 + IER, 0x03);
    loop_send(1, '!');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x04);
    g_assert_cmphex(inb(COM1 + RBR), ==, '!');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x02);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
    /* Disabling ETBEI drops it; it does not come back by itself. */
    outb(COM1 + THR, '.');
    inb(COM1 + RBR);
    outb(COM1 + IER, 0x01);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
}

static void child_irq_line(void)
{
    child_setup();
    create_com(0, NULL);
    outb(COM1 + IER, 0x02);
    /* Pending, but OUT2 is off: the ISA line is not driven. */
    g_assert_cmphex(inb(COM1 + IIR) & 0x01, ==, 0);
    outb(COM1 + IER, 0);
    outb(COM1 + IER, 0x02);
    g_assert_cmpint(gsi_level[4], ==, 0);
    outb(COM1 + MCR, 0x08 | 0x03);           /* what Linux's startup writes */
    g_assert_cmpint(gsi_level[4], ==, 1);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x02);
    g_assert_cmpint(gsi_level[4], ==, 0);
    outb(COM1 + THR, 'a');
    g_assert_cmpint(gsi_level[4], ==, 1);
    g_assert_cmpuint(gsi_raises[4], ==, 2);
    /* Loopback forces OUT2's pin inactive: the line drops. */
    outb(COM1 + MCR, 0x18);
    g_assert_cmpint(gsi_level[4], ==, 0);
    outb(COM1 + MCR, 0x08);
    g_assert_cmpint(gsi_level[4], ==, 1);
    outb(COM1 + IER, 0);
    g_assert_cmpint(gsi_level[4], ==, 0);
    g_assert_cmpint(gsi_level[3], ==, 0);
}

static void child_shared_irq(void)
{
    child_setup();
    create_com(0, NULL);
    create_com(2, NULL);
    create_com(1, NULL);
    /* COM1 and COM3 share IRQ 4: the line is high while either asks. */
    outb(COM1 + MCR, 0x08);
    outb(COM3 + MCR, 0x08);
    outb(COM1 + IER, 0x02);
    g_assert_cmpint(gsi_level[4], ==, 1);
    outb(COM3 + IER, 0x02);
    inb(COM1 + IIR);
    g_assert_cmpint(gsi_level[4], ==, 1);
    inb(COM3 + IIR);
    g_assert_cmpint(gsi_level[4], ==, 0);
    /* COM2 is at 0x2f8 on IRQ 3. */
    outb(COM2 + MCR, 0x08);
    outb(COM2 + IER, 0x02);
    g_assert_cmpint(gsi_level[3], ==, 1);
    g_assert_cmpint(gsi_level[4], ==, 0);
}

static void child_create_errors(void)
{
    GError *err = NULL;

    child_setup();
    create_com(0, NULL);
    g_assert_cmpint(serial_create_isa(4, NULL, &err), <, 0);
    g_assert_error(err, HYVM_ERROR, HYVM_ERROR_FAILED);
    g_assert_cmpstr(err->message, ==, "Max. supported number of ISA serial ports is 4.");
    g_clear_error(&err);
    /* A second COM1 would overlap the first one's ports. */
    g_assert_cmpint(serial_create_isa(0, NULL, &err), ==, -EBUSY);
    g_assert_nonnull(err);
    g_clear_error(&err);
    /* The first one still works. */
    outb(COM1 + SCR, 0x5a);
    g_assert_cmphex(inb(COM1 + SCR), ==, 0x5a);
}

/* ---- receive from a real chardev: a unix socket the test writes into ---- */

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/* Runs the main loop's sources until DR is set (or gives up after ~5 s). */
static bool wait_for_data(uint16_t base)
{
    for (unsigned i = 0; i < 5000; i++) {
        if (inb(base + LSR) & 0x01) {
            return true;
        }
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(1000);
        }
    }
    return false;
}

static void child_receive(void)
{
    g_autofree char *path = NULL;
    GString *got = g_string_new(NULL);
    char msg[41];
    int fd;

    child_setup();
    path = g_build_filename(tmp_dir, "sock", NULL);
    create_com(0, make_chardev("socket,id=rx,path=%s,server=on,wait=off", path));
    fd = connect_unix(path);
    outb(COM1 + FCR, 0x01 | 0x80);           /* FIFO, trigger 8 */
    outb(COM1 + IER, 0x01);
    outb(COM1 + MCR, 0x0b);

    g_assert_cmpint(write(fd, "hi", 2), ==, 2);
    g_assert_true(wait_for_data(COM1));
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    /* Fewer than 8 bytes on an idle line: character timeout. */
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xcc);
    g_assert_cmpint(gsi_level[4], ==, 1);
    g_assert_cmphex(inb(COM1 + RBR), ==, 'h');
    g_assert_true(wait_for_data(COM1));
    g_assert_cmphex(inb(COM1 + RBR), ==, 'i');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc1);
    g_assert_cmpint(gsi_level[4], ==, 0);

    /*
     * More than the FIFO holds: the chardev waits while it is full and
     * resumes as the guest drains it, so nothing is lost or reordered.
     */
    for (unsigned i = 0; i < 40; i++) {
        msg[i] = 'A' + i;
    }
    msg[40] = 0;
    g_assert_cmpint(write(fd, msg, 40), ==, 40);
    while (got->len < 40 && wait_for_data(COM1)) {
        /* Let the back end run while the FIFO is full. */
        for (unsigned i = 0; i < 10; i++) {
            g_main_context_iteration(NULL, FALSE);
        }
        g_assert_cmphex(inb(COM1 + LSR) & 0x02, ==, 0);
        g_string_append_c(got, inb(COM1 + RBR));
    }
    g_assert_cmpstr(got->str, ==, msg);
    close(fd);
    g_string_free(got, TRUE);
}

static void child_loopback_holds_input(void)
{
    g_autofree char *path = NULL;
    int fd;

    child_setup();
    path = g_build_filename(tmp_dir, "sock", NULL);
    create_com(0, make_chardev("socket,id=rx,path=%s,server=on,wait=off", path));
    fd = connect_unix(path);
    outb(COM1 + MCR, 0x10);
    g_assert_cmpint(write(fd, "z", 1), ==, 1);
    /* SIN is disconnected in loopback: the byte waits in the chardev. */
    for (unsigned i = 0; i < 50; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    g_assert_cmphex(inb(COM1 + LSR) & 0x01, ==, 0);
    outb(COM1 + MCR, 0);
    g_assert_true(wait_for_data(COM1));
    g_assert_cmphex(inb(COM1 + RBR), ==, 'z');
    close(fd);
}

static void child_realize(void)
{
    GError *err = NULL;
    struct dev_config *cfg;

    child_setup();
    make_chardev("null,id=n0");
    cfg = dev_config_parse("isa-serial,index=2,chardev=n0", &err);
    g_assert_no_error(err);
    g_assert_cmpint(serial_realize(NULL, cfg, &err), ==, 0);
    g_assert_no_error(err);
    dev_config_free(cfg);
    outb(COM3 + SCR, 0x42);
    g_assert_cmphex(inb(COM3 + SCR), ==, 0x42);

    /* iobase= and irq= override the index's defaults. */
    cfg = dev_config_parse("isa-serial,iobase=0x3000,irq=5", &err);
    g_assert_no_error(err);
    g_assert_cmpint(serial_realize(NULL, cfg, &err), ==, 0);
    dev_config_free(cfg);
    outb(0x3000 + MCR, 0x08);
    outb(0x3000 + IER, 0x02);
    g_assert_cmpint(gsi_level[5], ==, 1);

    cfg = dev_config_parse("isa-serial,chardev=nope", &err);
    g_assert_no_error(err);
    g_assert_cmpint(serial_realize(NULL, cfg, &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Property 'serial.chardev' can't find value 'nope'");
    g_clear_error(&err);
    dev_config_free(cfg);
}

static void run_child(gconstpointer path)
{
    g_test_trap_subprocess(path, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

static void add_case(const char *name, void (*fn)(void))
{
    char *child = g_strdup_printf("/serial/subprocess/%s", name);
    char *parent = g_strdup_printf("/serial/%s", name);

    g_test_add_func(child, fn);
    g_test_add_data_func_full(parent, child, run_child, g_free);
    g_free(parent);
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*fn)(void); } cases[] = {
        { "autoconfig-16550a", child_autoconfig },
        { "scratch-and-reset", child_scratch },
        { "divisor-latch", child_divisor_latch },
        { "transmit-to-file", child_transmit_to_file },
        { "loopback", child_loopback },
        { "fifo-trigger-levels", child_fifo_trigger },
        { "iir-priorities", child_iir_priorities },
        { "thre-interrupt", child_thre_interrupt },
        { "irq-line-out2", child_irq_line },
        { "shared-irq", child_shared_irq },
        { "create-errors", child_create_errors },
        { "receive-socket", child_receive },
        { "loopback-holds-input", child_loopback_holds_input },
        { "realize", child_realize },
    };

    g_test_init(&argc, &argv, NULL);
    for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
        add_case(cases[c].name, cases[c].fn);
    }
    return g_test_run();
}
