/*
 * The guest-facing debug ports: isa-debug-exit (the exit status a test
 * guest chooses), isa-debugcon (port 0xe9) and pc-testdev (kvm-unit-tests).
 * Accesses go through io_pio()/io_mmio() as a vCPU's would.  Each case runs
 * in a subprocess: exit requests latch for the life of the process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/devices.h"
#include "hw/irq.h"
#include "system/error.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "tests/unit/io-access.h"

static int gsi_level[24];

static void record_irq(void *opaque, unsigned gsi, int level)
{
    g_assert_cmpuint(gsi, <, 24);
    gsi_level[gsi] = level;
}

static char *tmp_dir;

static void remove_tmp_dir(void)
{
    g_autofree char *p = g_build_filename(tmp_dir, "out", NULL);

    chardev_cleanup_all();
    g_unlink(p);
    g_rmdir(tmp_dir);
}

static void child_setup(void)
{
    bql_lock();
    irq_set_route(record_irq, NULL);
    tmp_dir = g_dir_make_tmp("hyvm-debug-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    atexit(remove_tmp_dir);
}

/* -device OPTS, realized as the machine would. */
static int realize(const char *opts, GError **errp)
{
    struct dev_config *cfg = dev_config_parse(opts, errp);
    int ret;

    g_assert_nonnull(cfg);
    ret = cfg->type->realize(NULL, cfg, errp);
    dev_config_free(cfg);
    return ret;
}

static void realize_ok(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void realize_ok(const char *fmt, ...)
{
    g_autofree char *opts = NULL;
    GError *err = NULL;
    va_list ap;

    va_start(ap, fmt);
    opts = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_assert_cmpint(realize(opts, &err), ==, 0);
    g_assert_no_error(err);
}

static int exit_status(void)
{
    int status = -1;

    g_assert_true(vm_exit_requested());
    g_assert_true(vm_handle_requests(&status));
    return status;
}

/* ---- isa-debug-exit ---- */

static void child_exit_byte(void)
{
    child_setup();
    realize_ok("isa-debug-exit");
    /* Reads return 0 and request nothing. */
    g_assert_cmphex(pio_in(0x501, 1), ==, 0);
    g_assert_cmphex(pio_in(0x501, 2), ==, 0);
    g_assert_false(vm_exit_requested());
    pio_out(0x501, 0x07, 1);
    g_assert_cmpint(exit_status(), ==, (0x07 << 1) | 1);
}

static void child_exit_word(void)
{
    child_setup();
    realize_ok("isa-debug-exit");
    pio_out(0x501, 0x1234, 2);
    g_assert_cmpint(exit_status(), ==, (0x1234 << 1) | 1);
}

static void child_exit_zero(void)
{
    child_setup();
    realize_ok("isa-debug-exit");
    /* Even 0 exits 1: a guest cannot fake a clean exit. */
    pio_out(0x501, 0, 1);
    g_assert_cmpint(exit_status(), ==, 1);
}

static void child_exit_second_port(void)
{
    child_setup();
    realize_ok("isa-debug-exit");
    /* Any port of the range does it, as in QEMU. */
    pio_out(0x502, 0x20, 1);
    g_assert_cmpint(exit_status(), ==, 0x41);
}

static void child_exit_wide_write(void)
{
    child_setup();
    realize_ok("isa-debug-exit");
    /*
     * An outl over the 2-port range: the exit code the shell sees (8 bits)
     * is the one QEMU gives, ((v << 1) | 1) & 0xff.
     */
    pio_out(0x501, 0x12345681, 4);
    g_assert_cmpint(exit_status() & 0xff, ==, ((0x12345681u << 1) | 1) & 0xff);
}

static void child_exit_kvm_unit_tests(void)
{
    child_setup();
    /* kvm-unit-tests' run line: iobase=0xf4,iosize=4, outl to exit. */
    realize_ok("isa-debug-exit,iobase=0xf4,iosize=0x4");
    g_assert_cmphex(pio_in(0x501, 1), ==, 0xff);     /* not at the default port */
    g_assert_false(vm_exit_requested());
    pio_out(0xf4, 0x3f, 4);
    g_assert_cmpint(exit_status(), ==, 0x7f);
}

static void child_exit_errors(void)
{
    GError *err = NULL;

    child_setup();
    realize_ok("isa-debug-exit");
    g_assert_cmpint(realize("isa-debug-exit,iobase=0x500", &err), ==, -EBUSY);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpint(realize("isa-debug-exit,iobase=0xfffe,iosize=4", &err), <, 0);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_false(vm_exit_requested());
}

/* ---- isa-debugcon ---- */

static void child_debugcon(void)
{
    g_autofree char *path = NULL;
    g_autofree char *opts = NULL;
    g_autofree char *got = NULL;
    GError *err = NULL;
    gsize len;

    child_setup();
    path = g_build_filename(tmp_dir, "out", NULL);
    opts = g_strdup_printf("file,id=dc,path=%s", path);
    g_assert_nonnull(chardev_new_from_opts(opts, &err));
    g_assert_no_error(err);
    realize_ok("isa-debugcon,chardev=dc");
    /* SeaBIOS' presence check, then a line of output. */
    g_assert_cmphex(pio_in(0xe9, 1), ==, 0xe9);
    for (const char *p = "boot\n"; *p; p++) {
        pio_out(0xe9, *p, 1);
    }
    g_assert_true(g_file_get_contents(path, &got, &len, NULL));
    g_assert_cmpmem(got, len, "boot\n", 5);

    /* A chardev that is not a mux has one front end, as in QEMU. */
    g_assert_cmpint(realize("isa-debugcon,iobase=0x402,chardev=dc", &err), ==, -EBUSY);
    g_assert_cmpstr(err->message, ==, "Device 'dc' is in use");
    g_clear_error(&err);
    g_assert_nonnull(chardev_new_from_opts("null,id=dc2", &err));
    g_assert_no_error(err);
    realize_ok("isa-debugcon,iobase=0x402,readback=0x42,chardev=dc2");
    g_assert_cmphex(pio_in(0x402, 1), ==, 0x42);
}

static void child_debugcon_errors(void)
{
    GError *err = NULL;

    child_setup();
    g_assert_cmpint(realize("isa-debugcon", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Can't create debugcon device, empty char device");
    g_clear_error(&err);
    g_assert_cmpint(realize("isa-debugcon,chardev=nope", &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "Property 'isa-debugcon.chardev' can't find value 'nope'");
    g_clear_error(&err);
}

/* ---- pc-testdev ---- */

static void child_testdev_ports(void)
{
    static const struct pio_step steps[] = {
        /* 0xe0: a 32-bit register, any width at any offset. */
        PIO_OUT(0xe0, 0x12345678, 4),
        PIO_IN(0xe0, 4, 0x12345678),
        PIO_IN(0xe2, 2, 0x1234),
        PIO_IN(0xe1, 1, 0x56),
        PIO_OUT(0xe1, 0xab, 1),
        PIO_IN(0xe0, 4, 0x1234ab78),
        /* 0xe8 is the same register byte by byte. */
        PIO_IN(0xe8, 4, 0x1234ab78),
        PIO_OUT(0xe8, 0xcafef00d, 4),
        PIO_IN(0xe0, 4, 0xcafef00d),
        PIO_IN(0xeb, 1, 0xca),
        /* 0xe4: flush-page accepts a 32-bit write and reads 0. */
        PIO_OUT(0xe4, 0x100000, 4),
        PIO_IN(0xe4, 4, 0),
    };

    child_setup();
    realize_ok("pc-testdev");
    pio_run(steps, G_N_ELEMENTS(steps));
}

/*
 * Accesses that are unaligned or run past 0xe3: the values a guest reads
 * under QEMU with KVM (which splits them the same way; QEMU's TCG drops
 * unaligned port accesses instead).
 */
static void child_testdev_unaligned(void)
{
    static const struct pio_step steps[] = {
        PIO_OUT(0xe0, 0x12345678, 4),
        PIO_IN(0xe1, 2, 0x3456),
        PIO_IN(0xe2, 4, 0x1234),           /* 0xe4-0xe5 read 0 */
        PIO_IN(0xe1, 4, 0x123456),
        PIO_IN(0xe3, 2, 0x12),
        PIO_OUT(0xe3, 0xabcd, 2),          /* 0xcd lands at 0xe3 */
        PIO_IN(0xe0, 4, 0xcd345678),
        PIO_OUT(0xe2, 0x11223344, 4),
        PIO_IN(0xe0, 4, 0x33445678),
        /* 0xe9 onwards: the byte view, then an unclaimed port (all ones). */
        PIO_IN(0xe9, 4, 0xff334456),
        PIO_OUT(0xe9, 0x5566, 2),
        PIO_IN(0xe0, 4, 0x33556678),
        /* The flush port takes 32-bit writes only and reads 0 at any width. */
        PIO_IN(0xe4, 1, 0),
        PIO_OUT(0xe4, 0x1000, 2),
        PIO_IN(0xe4, 4, 0),
    };

    child_setup();
    realize_ok("pc-testdev");
    pio_run(steps, G_N_ELEMENTS(steps));
}

static void child_testdev_irq(void)
{
    child_setup();
    realize_ok("pc-testdev");
    pio_out(0x2000 + 14, 1, 1);
    g_assert_cmpint(gsi_level[14], ==, 1);
    pio_out(0x2000 + 23, 0x80, 1);
    g_assert_cmpint(gsi_level[23], ==, 1);
    g_assert_cmphex(pio_in(0x2000 + 14, 1), ==, 0);
    pio_out(0x2000 + 14, 0, 1);
    g_assert_cmpint(gsi_level[14], ==, 0);
    /* Only byte writes count, as in QEMU. */
    pio_out(0x2000 + 4, 0x0101, 2);
    g_assert_cmpint(gsi_level[4], ==, 0);
    g_assert_cmpint(gsi_level[5], ==, 0);
}

static void child_testdev_iomem(void)
{
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t back[8] = { 0 };

    child_setup();
    realize_ok("pc-testdev");
    io_mmio(0xff000000, buf, 8, true);
    io_mmio(0xff000004, back, 4, false);
    g_assert_cmpmem(back, 4, buf + 4, 4);
    io_mmio(0xff00fffe, buf, 2, true);
    io_mmio(0xff00ffff, back, 1, false);
    g_assert_cmpuint(back[0], ==, 2);
    /* An access straddling the end of the 64 KiB window stays inside. */
    memset(back, 0xee, sizeof(back));
    io_mmio(0xff00fffe, back, 4, false);
    g_assert_cmpuint(back[0], ==, 1);
    g_assert_cmpuint(back[1], ==, 2);
    g_assert_cmpuint(back[2], ==, 0);
}

static void run_child(gconstpointer path)
{
    g_test_trap_subprocess(path, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*fn)(void); } cases[] = {
        { "debug-exit/byte", child_exit_byte },
        { "debug-exit/word", child_exit_word },
        { "debug-exit/zero", child_exit_zero },
        { "debug-exit/second-port", child_exit_second_port },
        { "debug-exit/wide-write", child_exit_wide_write },
        { "debug-exit/kvm-unit-tests", child_exit_kvm_unit_tests },
        { "debug-exit/errors", child_exit_errors },
        { "debugcon/output", child_debugcon },
        { "debugcon/errors", child_debugcon_errors },
        { "pc-testdev/ports", child_testdev_ports },
        { "pc-testdev/unaligned", child_testdev_unaligned },
        { "pc-testdev/irq-lines", child_testdev_irq },
        { "pc-testdev/iomem", child_testdev_iomem },
    };

    g_test_init(&argc, &argv, NULL);
    for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
        char *child = g_strdup_printf("/subprocess/%s", cases[c].name);
        g_autofree char *parent = g_strdup_printf("/%s", cases[c].name);

        g_test_add_func(child, cases[c].fn);
        g_test_add_data_func_full(parent, child, run_child, g_free);
    }
    return g_test_run();
}
