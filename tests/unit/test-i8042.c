/*
 * The keyboard controller, its keyboard and mouse, and port 0x92 as
 * Linux's i8042/atkbd/psmouse drivers and SeaBIOS drive them: every access
 * goes through io_pio() as a vCPU's IN/OUT would, IRQs are caught with
 * irq_set_route() and reset requests with a runstate request listener.
 * One controller lives for the whole process (ports cannot be
 * unregistered); each case starts from i8042_reset().
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "hw/i8042.h"
#include "hw/irq.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"

#define DATA    0x60
#define CMD     0x64

#define ST_OBF      0x01
#define ST_SYS      0x04
#define ST_AUX_OBF  0x20

static struct i8042 *kbc;

/* ---- IRQ lines and reset requests ---- */

static int level[16];
static unsigned raises[16], lowers[16];
static unsigned resets;

static void record_irq(void *opaque, unsigned gsi, int lvl)
{
    g_assert_cmpuint(gsi, <, 16);
    g_assert_cmpint(lvl, !=, level[gsi]);     /* the device drives changes only */
    level[gsi] = lvl;
    if (lvl) {
        raises[gsi]++;
    } else {
        lowers[gsi]++;
    }
}

static void record_request(void *opaque, enum vm_request req, enum shutdown_cause cause)
{
    if (req == VM_REQUEST_RESET) {
        g_assert_cmpint(cause, ==, SHUTDOWN_CAUSE_GUEST_RESET);
        resets++;
    }
}

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

/* Power-on state, counters cleared. */
static void start(void)
{
    i8042_reset(kbc);
    port92_reset();
    memset(raises, 0, sizeof(raises));
    memset(lowers, 0, sizeof(lowers));
    resets = 0;
    g_assert_cmpint(level[1], ==, 0);
    g_assert_cmpint(level[12], ==, 0);
}

/* Reads one byte the way Linux's i8042_wait_read() does: OBF first. */
static uint8_t read_byte(void)
{
    g_assert_cmphex(inb(CMD) & ST_OBF, ==, ST_OBF);
    return inb(DATA);
}

static void assert_empty(void)
{
    g_assert_cmphex(inb(CMD) & (ST_OBF | ST_AUX_OBF), ==, 0);
}

static void write_mode(uint8_t mode)
{
    outb(CMD, 0x60);
    outb(DATA, mode);
}

static uint8_t read_mode(void)
{
    outb(CMD, 0x20);
    return read_byte();
}

/* ---- the controller ---- */

static void test_self_test(void)
{
    start();
    /* Command/data and keylock bits; no SYS flag until the self test. */
    g_assert_cmphex(inb(CMD), ==, 0x18);
    outb(CMD, 0xaa);
    g_assert_cmphex(inb(CMD), ==, 0x18 | ST_SYS | ST_OBF);
    g_assert_cmphex(inb(DATA), ==, 0x55);
    g_assert_cmphex(inb(CMD), ==, 0x18 | ST_SYS);
    /* The data port keeps the last byte once the buffer is empty. */
    g_assert_cmphex(inb(DATA), ==, 0x55);
    /* Controller replies go to IRQ 1's side, as on the keyboard. */
    g_assert_cmpuint(raises[1], ==, 1);
    g_assert_cmpuint(raises[12], ==, 0);

    outb(CMD, 0xab);                /* keyboard interface test: no fault */
    g_assert_cmphex(read_byte(), ==, 0x00);
    outb(CMD, 0xa9);                /* aux interface test */
    g_assert_cmphex(read_byte(), ==, 0x00);
    outb(CMD, 0xc0);                /* input port */
    g_assert_cmphex(read_byte(), ==, 0x80);
    assert_empty();
}

static void test_command_byte(void)
{
    start();
    g_assert_cmphex(read_mode(), ==, 0x03);
    write_mode(0x47);
    g_assert_cmphex(read_mode(), ==, 0x47);
    g_assert_true(i8042_kbd_translating(kbc));
    write_mode(0x03);
    g_assert_false(i8042_kbd_translating(kbc));

    /* 0xa7/0xa8 and 0xad/0xae flip the interface-disable bits. */
    outb(CMD, 0xa7);
    outb(CMD, 0xad);
    g_assert_cmphex(read_mode(), ==, 0x33);
    outb(CMD, 0xa8);
    outb(CMD, 0xae);
    g_assert_cmphex(read_mode(), ==, 0x03);
    assert_empty();

    /* A newer controller reply replaces an unread one. */
    outb(CMD, 0xaa);
    outb(CMD, 0x20);
    g_assert_cmphex(read_byte(), ==, 0x03);
    assert_empty();
}

/* ---- the keyboard ---- */

/* Reads a reply byte by byte; each byte is one IRQ 1 edge. */
static void expect_kbd(const uint8_t *bytes, unsigned n)
{
    unsigned r0 = raises[1];

    for (unsigned i = 0; i < n; i++) {
        g_assert_cmpint(level[1], ==, 1);
        g_assert_cmphex(inb(CMD) & (ST_OBF | ST_AUX_OBF), ==, ST_OBF);
        g_assert_cmphex(inb(DATA), ==, bytes[i]);
    }
    g_assert_cmpint(level[1], ==, 0);
    g_assert_cmpuint(raises[1] - r0, ==, n - 1);     /* the first edge came before */
    assert_empty();
}

#define EXPECT_KBD(...) \
    expect_kbd((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void kbd_cmd(uint8_t b)
{
    unsigned r0 = raises[1];

    outb(DATA, b);
    g_assert_cmpuint(raises[1], ==, r0 + 1);
}

static void test_kbd_reset_and_id(void)
{
    start();
    kbd_cmd(0xff);
    EXPECT_KBD(0xfa, 0xaa);
    g_assert_cmpuint(raises[1], ==, 2);
    g_assert_cmpuint(lowers[1], ==, 2);

    /* Untranslated: an MF2 keyboard's ID as it sends it. */
    kbd_cmd(0xf2);
    EXPECT_KBD(0xfa, 0xab, 0x83);
    /* Translated (what firmware sets up): the controller turns 0x83 into 0x41. */
    write_mode(0x43);
    kbd_cmd(0xf2);
    EXPECT_KBD(0xfa, 0xab, 0x41);

    kbd_cmd(0xed);                  /* LEDs: ACK for the command and for the value */
    EXPECT_KBD(0xfa);
    kbd_cmd(0x07);
    EXPECT_KBD(0xfa);
    kbd_cmd(0xf3);                  /* typematic rate */
    EXPECT_KBD(0xfa);
    kbd_cmd(0x20);
    EXPECT_KBD(0xfa);
    kbd_cmd(0xee);                  /* echo */
    EXPECT_KBD(0xee);
    kbd_cmd(0xf5);
    EXPECT_KBD(0xfa);
    kbd_cmd(0xf4);
    EXPECT_KBD(0xfa);
    kbd_cmd(0x42);                  /* not a command */
    EXPECT_KBD(0xfe);
    /* A new byte to the keyboard discards its unread replies: one ACK here,
     * as QEMU gives. */
    outb(DATA, 0xed);
    outb(DATA, 0x02);
    EXPECT_KBD(0xfa);
}

static void test_kbd_scancode_set(void)
{
    start();
    kbd_cmd(0xf0);
    EXPECT_KBD(0xfa);
    kbd_cmd(0x00);
    EXPECT_KBD(0xfa, 0x02);
    kbd_cmd(0xf0);
    EXPECT_KBD(0xfa);
    kbd_cmd(0x03);
    EXPECT_KBD(0xfa);
    g_assert_cmpuint(i8042_kbd_scancode_set(kbc), ==, 3);
    kbd_cmd(0xf0);
    EXPECT_KBD(0xfa);
    kbd_cmd(0x07);                  /* no such set */
    EXPECT_KBD(0xfe);
    g_assert_cmpuint(i8042_kbd_scancode_set(kbc), ==, 3);

    /* Translated, the answer to "which set" is a code too: set 2 reads 0x41. */
    kbd_cmd(0xff);
    EXPECT_KBD(0xfa, 0xaa);
    g_assert_cmpuint(i8042_kbd_scancode_set(kbc), ==, 2);
    write_mode(0x43);
    kbd_cmd(0xf0);
    EXPECT_KBD(0xfa);
    kbd_cmd(0x00);
    EXPECT_KBD(0xfa, 0x41);
}

static void test_kbd_keycodes(void)
{
    start();
    /* Set 2 as the keyboard sends it: 'A' pressed and released. */
    i8042_kbd_put_keycode(kbc, 0x1c);
    i8042_kbd_put_keycode(kbc, 0xf0);
    i8042_kbd_put_keycode(kbc, 0x1c);
    EXPECT_KBD(0x1c, 0xf0, 0x1c);

    /* Translated to set 1: the break prefix folds into bit 7. */
    write_mode(0x43);
    i8042_kbd_put_keycode(kbc, 0x1c);
    i8042_kbd_put_keycode(kbc, 0xf0);
    i8042_kbd_put_keycode(kbc, 0x1c);
    i8042_kbd_put_keycode(kbc, 0xe0);
    i8042_kbd_put_keycode(kbc, 0x75);      /* cursor up */
    EXPECT_KBD(0x1e, 0x9e, 0xe0, 0x48);

    /* A command's reply goes ahead of queued scan codes. */
    i8042_kbd_put_keycode(kbc, 0x76);
    outb(DATA, 0xee);
    EXPECT_KBD(0xee, 0x01);

    /* Scanning off: keys are dropped. */
    kbd_cmd(0xf5);
    EXPECT_KBD(0xfa);
    i8042_kbd_put_keycode(kbc, 0x1c);
    assert_empty();
    kbd_cmd(0xf4);
    EXPECT_KBD(0xfa);

    /* The keyboard holds 16 bytes; more are lost. */
    write_mode(0x03);
    for (unsigned i = 0; i < 20; i++) {
        i8042_kbd_put_keycode(kbc, 0x10 + i);
    }
    for (unsigned i = 0; i < 16; i++) {
        g_assert_cmphex(read_byte(), ==, 0x10 + i);
    }
    assert_empty();
}

static void test_irq_gating(void)
{
    start();
    /* Interrupts off in the command byte: the byte waits, IRQ 1 stays low. */
    write_mode(0x00);
    outb(DATA, 0xee);
    g_assert_cmphex(inb(CMD) & ST_OBF, ==, ST_OBF);
    g_assert_cmpint(level[1], ==, 0);
    g_assert_cmpuint(raises[1], ==, 0);
    /* Enabling them raises IRQ 1 for the byte already there. */
    write_mode(0x01);
    g_assert_cmpint(level[1], ==, 1);
    g_assert_cmphex(inb(DATA), ==, 0xee);
    g_assert_cmpint(level[1], ==, 0);

    /* A disabled keyboard interface holds its bytes back until 0xae. */
    outb(CMD, 0xad);
    i8042_kbd_put_keycode(kbc, 0x1c);
    assert_empty();
    g_assert_cmpint(level[1], ==, 0);
    outb(CMD, 0xae);
    g_assert_cmpint(level[1], ==, 1);
    EXPECT_KBD(0x1c);

    /* Mouse bytes with IRQ 12 off: AUX_OBF set, no IRQ 12. */
    write_mode(0x01);
    outb(CMD, 0xd4);
    outb(DATA, 0xf2);
    g_assert_cmphex(inb(CMD) & (ST_OBF | ST_AUX_OBF), ==, ST_OBF | ST_AUX_OBF);
    g_assert_cmpint(level[12], ==, 0);
    g_assert_cmpint(level[1], ==, 0);
    write_mode(0x03);
    g_assert_cmpint(level[12], ==, 1);
    g_assert_cmphex(inb(DATA), ==, 0xfa);
    g_assert_cmphex(inb(DATA), ==, 0x00);
    g_assert_cmpint(level[12], ==, 0);
    assert_empty();
}

/* ---- the mouse ---- */

static void aux_cmd(uint8_t b)
{
    outb(CMD, 0xd4);
    outb(DATA, b);
}

static void expect_aux(const uint8_t *bytes, unsigned n)
{
    unsigned r0 = raises[12];

    for (unsigned i = 0; i < n; i++) {
        g_assert_cmpint(level[12], ==, 1);
        g_assert_cmphex(inb(CMD) & (ST_OBF | ST_AUX_OBF), ==, ST_OBF | ST_AUX_OBF);
        g_assert_cmphex(inb(DATA), ==, bytes[i]);
    }
    g_assert_cmpint(level[12], ==, 0);
    g_assert_cmpuint(raises[12] - r0, ==, n - 1);
    g_assert_cmpuint(raises[1], ==, 0);
    assert_empty();
}

#define EXPECT_AUX(...) \
    expect_aux((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void test_aux(void)
{
    start();
    aux_cmd(0xff);
    EXPECT_AUX(0xfa, 0xaa, 0x00);
    g_assert_cmpuint(raises[12], ==, 3);
    aux_cmd(0xf2);
    EXPECT_AUX(0xfa, 0x00);

    /* Sample rate, resolution, scaling, enable: all acknowledged and kept. */
    aux_cmd(0xf3);
    EXPECT_AUX(0xfa);
    aux_cmd(60);
    EXPECT_AUX(0xfa);
    aux_cmd(0xe8);
    EXPECT_AUX(0xfa);
    aux_cmd(3);
    EXPECT_AUX(0xfa);
    aux_cmd(0xe7);
    EXPECT_AUX(0xfa);
    aux_cmd(0xf4);
    EXPECT_AUX(0xfa);
    aux_cmd(0xe9);                  /* status: enabled, 2:1 scaling; resolution; rate */
    EXPECT_AUX(0xfa, 0x30, 3, 60);
    aux_cmd(0xe6);
    EXPECT_AUX(0xfa);
    aux_cmd(0xf5);
    EXPECT_AUX(0xfa);
    aux_cmd(0xe9);
    EXPECT_AUX(0xfa, 0x00, 3, 60);

    /* psmouse's IntelliMouse probe: rates 200, 100, 80 make ID 3. */
    static const uint8_t knock[] = { 200, 100, 80 };
    for (unsigned i = 0; i < 3; i++) {
        aux_cmd(0xf3);
        EXPECT_AUX(0xfa);
        aux_cmd(knock[i]);
        EXPECT_AUX(0xfa);
    }
    aux_cmd(0xf2);
    EXPECT_AUX(0xfa, 0x03);
    aux_cmd(0xff);
    EXPECT_AUX(0xfa, 0xaa, 0x00);

    /* Both devices with bytes: they take the buffer in turns, each byte
     * on its own line. */
    aux_cmd(0xf2);
    outb(DATA, 0xee);
    g_assert_cmphex(inb(CMD) & ST_AUX_OBF, ==, ST_AUX_OBF);
    g_assert_cmphex(inb(DATA), ==, 0xfa);
    g_assert_cmphex(inb(CMD) & ST_AUX_OBF, ==, 0);
    g_assert_cmpint(level[1], ==, 1);
    g_assert_cmpint(level[12], ==, 0);
    g_assert_cmphex(inb(DATA), ==, 0xee);
    g_assert_cmpint(level[12], ==, 1);
    g_assert_cmphex(inb(DATA), ==, 0x00);
    assert_empty();
    raises[1] = 0;                  /* expect_aux checks IRQ 1 stays quiet from here */

    /* 0xd3: a byte as if from the mouse, the AUX loopback Linux probes with. */
    outb(CMD, 0xd3);
    outb(DATA, 0x5a);
    EXPECT_AUX(0x5a);
    /* 0xd2: the same on the keyboard side. */
    outb(CMD, 0xd2);
    outb(DATA, 0xa5);
    g_assert_cmphex(inb(CMD) & ST_AUX_OBF, ==, 0);
    EXPECT_KBD(0xa5);
}

/* ---- output port, A20 and reset ---- */

static uint8_t read_outport(void)
{
    outb(CMD, 0xd0);
    return read_byte();
}

static void test_outport_a20(void)
{
    start();
    /* Reset line high, A20 on, the lines QEMU reports high. */
    g_assert_cmphex(read_outport(), ==, 0xcf);
    outb(CMD, 0xdd);
    g_assert_cmphex(read_outport() & 0x02, ==, 0);
    outb(CMD, 0xdf);
    g_assert_cmphex(read_outport() & 0x02, ==, 0x02);
    outb(CMD, 0xd1);
    outb(DATA, 0xcd);               /* A20 off through the output port */
    g_assert_cmphex(read_outport(), ==, 0xcd);
    outb(CMD, 0xd1);
    outb(DATA, 0xcf);
    g_assert_cmphex(read_outport(), ==, 0xcf);
    g_assert_cmpuint(resets, ==, 0);
    /* A reset restores it. */
    outb(CMD, 0xdd);
    i8042_reset(kbc);
    g_assert_cmphex(read_outport(), ==, 0xcf);
}

static void test_reset_line(void)
{
    start();
    outb(CMD, 0xfe);                /* pulse bit 0: the reset Linux's reboot=k uses */
    g_assert_cmpuint(resets, ==, 1);
    outb(CMD, 0xff);                /* pulse nothing */
    outb(CMD, 0xf1);
    g_assert_cmpuint(resets, ==, 1);
    outb(CMD, 0xf0);                /* pulse bits 3-0, reset among them */
    g_assert_cmpuint(resets, ==, 2);
    outb(CMD, 0xd1);
    outb(DATA, 0xce);               /* reset line driven low */
    g_assert_cmpuint(resets, ==, 3);
    assert_empty();
}

static void test_port92(void)
{
    start();
    g_assert_cmphex(inb(0x92), ==, 0x00);
    outb(0x92, 0x02);               /* A20 on, as firmware does */
    g_assert_cmphex(inb(0x92), ==, 0x02);
    g_assert_cmpuint(resets, ==, 0);
    outb(0x92, 0x03);               /* fast reset */
    g_assert_cmpuint(resets, ==, 1);
    g_assert_cmphex(inb(0x92), ==, 0x03);
    outb(0x92, 0x03);               /* bit 0 already set: no new edge */
    g_assert_cmpuint(resets, ==, 1);
    port92_reset();                 /* what the machine's reset does */
    g_assert_cmphex(inb(0x92), ==, 0x02);
    outb(0x92, 0x01);
    g_assert_cmpuint(resets, ==, 2);
    outb(0x92, 0x00);
    outb(0x92, 0x02);
    g_assert_cmpuint(resets, ==, 2);
}

/* ---- guest mistakes ---- */

static const uint8_t unknown_cmds[] = { 0x00, 0x21, 0x3f, 0x61, 0x7f, 0xa1, 0xa4, 0xac,
                                        0xc1, 0xc8, 0xe0, 0xe8, 0xef };

static void test_unknown_commands(void)
{
    start();
    write_mode(0x43);
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(unknown_cmds); i++) {
            outb(CMD, unknown_cmds[i]);
            /* Nothing to read, nothing raised, the next data byte still goes
             * to the keyboard. */
            assert_empty();
        }
    }
    g_assert_cmpuint(raises[1] + raises[12] + resets, ==, 0);
    g_assert_cmphex(read_mode(), ==, 0x43);
    kbd_cmd(0xee);
    EXPECT_KBD(0xee);
    /* Data with nothing buffered, and wide accesses, are harmless too. */
    inb(DATA);
    uint32_t v = 0xffffffff;
    io_pio(DATA, &v, 4, true);
    io_pio(DATA, &v, 4, false);
}

/* Any sequence of port accesses keeps the status bits and IRQ lines consistent. */
static void test_random_guest(void)
{
    static const uint16_t ports[] = { DATA, CMD, 0x92 };

    start();
    for (unsigned i = 0; i < 100000; i++) {
        uint16_t port = ports[g_test_rand_int_range(0, 3)];
        uint8_t st;

        if (g_test_rand_bit()) {
            outb(port, g_test_rand_int_range(0, 256));
        } else {
            inb(port);
        }
        if (g_test_rand_int_range(0, 64) == 0) {
            i8042_kbd_put_keycode(kbc, g_test_rand_int_range(0, 256));
        }
        st = inb(CMD);
        if (st & ST_AUX_OBF) {
            g_assert_cmphex(st & ST_OBF, ==, ST_OBF);
        }
        if (level[1]) {
            g_assert_cmphex(st & (ST_OBF | ST_AUX_OBF), ==, ST_OBF);
        }
        if (level[12]) {
            g_assert_cmphex(st & (ST_OBF | ST_AUX_OBF), ==, ST_OBF | ST_AUX_OBF);
        }
    }
    g_test_message("%u reset requests, IRQ 1 raised %u times, IRQ 12 %u times",
                   resets, raises[1], raises[12]);
}

static void child_unknown_logged_once(void)
{
    log_set_mask(LOG_GUEST_ERROR | LOG_UNIMP);
    for (unsigned i = 0; i < 3; i++) {
        outb(CMD, 0xa1);
        outb(CMD, 0xdd);
        outb(0x92, 0x00);
    }
}

static void test_unknown_logged_once(void)
{
    g_test_trap_subprocess("/i8042/subprocess/log-once", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*unsupported controller command 0xa1*");
    g_test_trap_assert_stderr_unmatched("*0xa1*0xa1*");
    g_test_trap_assert_stderr("*i8042: A20*");
    g_test_trap_assert_stderr_unmatched("*i8042: A20*i8042: A20*");
    g_test_trap_assert_stderr("*port92: A20*");
    g_test_trap_assert_stderr_unmatched("*port92: A20*port92: A20*");
}

static void test_ports_taken(void)
{
    GError *err = NULL;

    g_assert_null(i8042_create(&err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpint(port92_create(&err), ==, -EBUSY);
    g_assert_nonnull(err);
    g_clear_error(&err);
    /* The live devices are untouched. */
    start();
    outb(0x92, 0x02);
    g_assert_cmphex(inb(0x92), ==, 0x02);
    outb(CMD, 0xaa);
    g_assert_cmphex(read_byte(), ==, 0x55);
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    g_test_init(&argc, &argv, NULL);
    irq_set_route(record_irq, NULL);
    runstate_add_request_listener(record_request, NULL);
    kbc = i8042_create(&err);
    g_assert_no_error(err);
    g_assert_cmpint(port92_create(&err), ==, 0);
    g_assert_no_error(err);

    g_test_add_func("/i8042/self-test", test_self_test);
    g_test_add_func("/i8042/command-byte", test_command_byte);
    g_test_add_func("/i8042/kbd-reset-and-id", test_kbd_reset_and_id);
    g_test_add_func("/i8042/kbd-scancode-set", test_kbd_scancode_set);
    g_test_add_func("/i8042/kbd-keycodes", test_kbd_keycodes);
    g_test_add_func("/i8042/irq-gating", test_irq_gating);
    g_test_add_func("/i8042/aux", test_aux);
    g_test_add_func("/i8042/outport-a20", test_outport_a20);
    g_test_add_func("/i8042/reset-line", test_reset_line);
    g_test_add_func("/i8042/port92", test_port92);
    g_test_add_func("/i8042/unknown-commands", test_unknown_commands);
    g_test_add_func("/i8042/random-guest", test_random_guest);
    g_test_add_func("/i8042/subprocess/log-once", child_unknown_logged_once);
    g_test_add_func("/i8042/unknown-logged-once", test_unknown_logged_once);
    g_test_add_func("/i8042/ports-taken", test_ports_taken);
    return g_test_run();
}
