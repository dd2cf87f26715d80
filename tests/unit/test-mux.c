/*
 * The Ctrl-A mux of -nographic and "mon:stdio", driven the way a user
 * drives it: through a terminal.  Each case opens a pty pair, makes its
 * slave the process's stdin and stdout, creates "mon:stdio" over it, and
 * types into the master what a person would type.  The front ends are a
 * recorder standing in for the serial port, and either a second recorder
 * or the real human monitor.
 *
 * Each case runs in its own process (stdio, chardevs and exit requests are
 * per process); fds 0 and 1 are put back before the case ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "chardev/chardev.h"
#include "qapi/monitor.h"
#include "system/error.h"
#include "system/main-loop.h"
#include "system/runstate.h"

/* ---- a front end that records what reaches it ---- */

struct recorder {
    struct char_fe fe;
    GString *got;
    unsigned opened, breaks, mux_in, mux_out;
    bool focused;
};

static int rec_can_receive(void *opaque)
{
    return 4096;
}

static void rec_receive(void *opaque, const uint8_t *buf, int len)
{
    struct recorder *r = opaque;

    g_string_append_len(r->got, (const char *)buf, len);
}

static void rec_event(void *opaque, enum chr_event event)
{
    struct recorder *r = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        r->opened++;
        break;
    case CHR_EVENT_BREAK:
        r->breaks++;
        break;
    case CHR_EVENT_MUX_IN:
        r->mux_in++;
        r->focused = true;
        break;
    case CHR_EVENT_MUX_OUT:
        r->mux_out++;
        r->focused = false;
        break;
    case CHR_EVENT_CLOSED:
        break;
    }
}

static struct recorder *rec_attach(struct chardev *chr)
{
    struct recorder *r = g_new0(struct recorder, 1);
    GError *err = NULL;

    r->got = g_string_new(NULL);
    g_assert_cmpint(chr_fe_init(&r->fe, chr, &err), ==, 0);
    g_assert_no_error(err);
    chr_fe_set_handlers(&r->fe, rec_can_receive, rec_receive, rec_event, r);
    return r;
}

static void rec_write(struct recorder *r, const char *s)
{
    g_assert_cmpint(chr_fe_write_all(&r->fe, (const uint8_t *)s, strlen(s)), ==, strlen(s));
}

/* ---- the terminal ---- */

static int master = -1;
static int saved_stdin = -1, saved_stdout = -1;
static struct termios cooked;       /* the slave's settings before hyvm */
static GString *screen;             /* what the master has read so far */

/* Makes a fresh pty the process's terminal (stdin and stdout). */
static void terminal_setup(void)
{
    int slave;

    bql_lock();
    g_assert_cmpint(openpty(&master, &slave, NULL, NULL, NULL), ==, 0);
    g_assert_cmpint(tcgetattr(slave, &cooked), ==, 0);
    g_assert_true(cooked.c_lflag & ICANON);
    fflush(stdout);
    saved_stdin = dup(STDIN_FILENO);
    saved_stdout = dup(STDOUT_FILENO);
    dup2(slave, STDIN_FILENO);
    dup2(slave, STDOUT_FILENO);
    close(slave);
    g_unix_set_fd_nonblocking(master, TRUE, NULL);
    screen = g_string_new(NULL);
}

static void terminal_restore(void)
{
    chardev_cleanup_all();
    dup2(saved_stdin, STDIN_FILENO);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdin);
    close(saved_stdout);
}

static void type(const char *keys)
{
    g_assert_cmpint(write(master, keys, strlen(keys)), ==, (ssize_t)strlen(keys));
}

/* One round of the main loop and of reading the master. */
static void pump(void)
{
    char buf[4096];
    ssize_t n;

    while (g_main_context_iteration(NULL, FALSE)) {
    }
    while ((n = read(master, buf, sizeof(buf))) > 0) {
        g_string_append_len(screen, buf, n);
    }
    g_usleep(1000);
}

static void pump_ms(unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        pump();
    }
}

/*
 * Waits until the screen shows text (carriage returns left out: the
 * terminal's own output processing adds them), then forgets the screen.
 * Returns what was shown.
 */
static char *expect_screen(const char *text)
{
    for (unsigned i = 0; i < 5000; i++) {
        g_autofree char *plain = NULL;
        GString *s = g_string_new(NULL);

        for (const char *p = screen->str; *p; p++) {
            if (*p != '\r') {
                g_string_append_c(s, *p);
            }
        }
        plain = g_string_free(s, FALSE);
        if (strstr(plain, text)) {
            g_string_truncate(screen, 0);
            return g_steal_pointer(&plain);
        }
        pump();
    }
    g_test_message("screen so far: '%s'", screen->str);
    g_assert_not_reached();
}

static void expect_received(struct recorder *r, const char *text)
{
    for (unsigned i = 0; i < 5000 && r->got->len < strlen(text); i++) {
        pump();
    }
    g_assert_cmpstr(r->got->str, ==, text);
    g_string_truncate(r->got, 0);
}

static struct chardev *make_mon_stdio(void)
{
    GError *err = NULL;
    struct chardev *chr = chardev_new_from_cli("mon:stdio", "serial0", &err);

    g_assert_no_error(err);
    g_assert_true(chardev_is_mux(chr));
    return chr;
}

/* ---- cases ---- */

static void child_raw_terminal(void)
{
    struct termios now;

    terminal_setup();
    make_mon_stdio();
    /* Raw while hyvm runs: no echo, no line editing, output processing on. */
    g_assert_cmpint(tcgetattr(STDIN_FILENO, &now), ==, 0);
    g_assert_false(now.c_lflag & (ICANON | ECHO));
    g_assert_false(now.c_iflag & ICRNL);
    g_assert_true(now.c_oflag & OPOST);
    /* signal=on is the default: Ctrl-C still ends hyvm. */
    g_assert_true(now.c_lflag & ISIG);
    /* Back to what it was once the chardevs are gone. */
    chardev_cleanup_all();
    g_assert_cmpint(tcgetattr(STDIN_FILENO, &now), ==, 0);
    g_assert_cmphex(now.c_lflag, ==, cooked.c_lflag);
    g_assert_cmphex(now.c_iflag, ==, cooked.c_iflag);
    g_assert_cmphex(now.c_oflag, ==, cooked.c_oflag);

    /* signal=off passes Ctrl-C to the guest; restore also on the signal path. */
    g_assert_nonnull(chardev_new_from_opts("stdio,id=s,signal=off", NULL));
    g_assert_cmpint(tcgetattr(STDIN_FILENO, &now), ==, 0);
    g_assert_false(now.c_lflag & ISIG);
    chardev_restore_terminal();
    g_assert_cmpint(tcgetattr(STDIN_FILENO, &now), ==, 0);
    g_assert_cmphex(now.c_lflag, ==, cooked.c_lflag);
    terminal_restore();
}

static void child_keys(void)
{
    struct chardev *chr;
    struct recorder *serial, *other;
    g_autofree char *help = NULL;
    int status = -1;

    terminal_setup();
    chr = make_mon_stdio();
    serial = rec_attach(chr);
    other = rec_attach(chr);
    /* The first front end has the keyboard; the other is told it has not. */
    g_assert_true(serial->focused);
    g_assert_cmpuint(serial->mux_in, ==, 1);
    g_assert_cmpuint(other->mux_out, ==, 1);
    g_assert_cmpuint(other->mux_in, ==, 0);
    g_assert_cmpuint(serial->opened, ==, 1);
    g_assert_cmpuint(other->opened, ==, 1);

    type("uname");
    expect_received(serial, "uname");
    g_assert_cmpuint(other->got->len, ==, 0);

    /* Both front ends' output reaches the terminal, focus or not. */
    rec_write(serial, "guest says hi|");
    rec_write(other, "other says hi|");
    g_free(expect_screen("guest says hi|other says hi|"));

    /* Ctrl-A Ctrl-A: one Ctrl-A for the guest. */
    type("a\001\001b");
    expect_received(serial, "a\001b");

    /* Ctrl-A c: focus to the next front end, with events to both. */
    type("\001c");
    pump_ms(20);
    g_assert_false(serial->focused);
    g_assert_true(other->focused);
    g_assert_cmpuint(serial->mux_out, ==, 1);
    g_assert_cmpuint(other->mux_in, ==, 1);
    type("info");
    expect_received(other, "info");
    g_assert_cmpuint(serial->got->len, ==, 0);
    /* ... and round again. */
    type("\001c");
    type("back");
    expect_received(serial, "back");
    g_assert_true(serial->focused);

    /* Ctrl-A b: a break for the focused front end only. */
    type("\001b");
    pump_ms(20);
    g_assert_cmpuint(serial->breaks, ==, 1);
    g_assert_cmpuint(other->breaks, ==, 0);

    /* Ctrl-A followed by a key it does not know: both are dropped. */
    type("\001z!");
    expect_received(serial, "!");

    /* Ctrl-A h: the list of keys, on the terminal; nothing to the guest. */
    type("\001h");
    help = expect_screen("C-a C-a");
    for (const char *key = "hxbc"; *key; key++) {
        g_autofree char *line = g_strdup_printf("\nC-a %c    ", *key);

        g_assert_nonnull(strstr(help, line));
    }
    g_assert_cmpuint(serial->got->len, ==, 0);

    /* Ctrl-A x: QEMU's last words, and exit status 0. */
    g_assert_false(vm_exit_requested());
    type("\001x");
    g_free(expect_screen("QEMU: Terminated\n"));
    g_assert_true(vm_exit_requested());
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
    g_assert_cmpuint(serial->got->len, ==, 0);
    terminal_restore();
}

static void child_too_many(void)
{
    struct chardev *chr;
    struct char_fe fe = { 0 };
    GError *err = NULL;

    terminal_setup();
    chr = make_mon_stdio();
    for (unsigned i = 0; i < 4; i++) {
        rec_attach(chr);
    }
    g_assert_cmpint(chr_fe_init(&fe, chr, &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "too many uses of multiplexed chardev 'serial0' (maximum is 4)");
    g_error_free(err);
    terminal_restore();
}

/* The real monitor as the second front end, as with -nographic. */
static void child_monitor(void)
{
    struct chardev *chr;
    struct recorder *serial;
    GError *err = NULL;
    g_autofree char *shown = NULL;
    int status = -1;

    terminal_setup();
    chr = make_mon_stdio();
    serial = rec_attach(chr);
    g_assert_cmpint(monitor_new_hmp(chr, &err), ==, 0);
    g_assert_no_error(err);

    /* The monitor keeps quiet until the user switches to it. */
    rec_write(serial, "boot>");
    pump_ms(30);
    g_assert_cmpstr(screen->str, ==, "boot>");
    g_string_truncate(screen, 0);

    type("\001c");
    shown = expect_screen("(qemu) ");
    g_assert_cmpstr(shown, ==,
                    "QEMU 7.2.0 monitor - type 'help' for more information\n(qemu) ");

    type("info status\r");
    g_free(expect_screen("info status\nVM status: paused (prelaunch)\n(qemu) "));
    type("cont\r");
    g_free(expect_screen("cont\n(qemu) "));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    type("info status\r");
    g_free(expect_screen("VM status: running\n(qemu) "));

    /* Backspace edits the line: "stpo" becomes "stop". */
    type("stpo\177\177op\r");
    g_free(expect_screen("(qemu) "));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_PAUSED);
    type("info status\r");
    g_free(expect_screen("VM status: paused\n(qemu) "));

    type("foo\r");
    g_free(expect_screen("unknown command: 'foo'\n(qemu) "));
    type("info foo\r");
    g_free(expect_screen("unknown command: 'info foo'\n(qemu) "));
    type("stop now\r");
    g_free(expect_screen("stop|s: extraneous characters at the end of line\n"
                         "Try \"help stop\" for more information\n(qemu) "));
    type("help\r");
    shown = expect_screen("(qemu) ");
    g_assert_nonnull(strstr(shown, "\ncont|c  -- resume emulation\n"));
    g_assert_nonnull(strstr(shown, "\ninfo [subcommand] -- "));
    g_assert_nonnull(strstr(shown, "\nquit|q  -- quit the emulator\n"));
    type("info version\r");
    g_free(expect_screen("\n7.2.0 (hyvm "));
    /* An arrow key is not a command. */
    type("\033[A\r");
    g_free(expect_screen("\n(qemu) "));
    g_assert_cmpuint(serial->got->len, ==, 0);

    /*
     * Back to the guest: the monitor ends its line ("\r\n", to which the
     * terminal adds its own "\r", exactly as under QEMU), and the keys go
     * to the serial port.
     */
    type("\001c");
    pump_ms(30);
    g_assert_cmpstr(screen->str, ==, "\r\r\n");
    g_string_truncate(screen, 0);
    type("ls\r");
    expect_received(serial, "ls\r");
    g_assert_cmpstr(screen->str, ==, "");

    /* And to the monitor again: a fresh prompt, no second banner. */
    type("\001c");
    g_free(expect_screen("(qemu) "));
    type("system_powerdown\r");
    g_free(expect_screen("Error: The machine 'none' has no ACPI power button in hyvm yet"));
    g_assert_false(vm_exit_requested());
    type("q\r");
    pump_ms(30);
    g_assert_true(vm_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
    terminal_restore();
}

/* A monitor on a socket of its own (-monitor unix:...,server,nowait). */
static void child_monitor_socket(void)
{
    g_autofree char *dir = g_dir_make_tmp("hyvm-mux-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mon", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    GString *got = g_string_new(NULL);
    struct chardev *chr;
    GError *err = NULL;
    int fd;

    bql_lock();
    chr = chardev_new_from_cli(spec, "compat_monitor0", &err);
    g_assert_no_error(err);
    g_assert_cmpint(monitor_new_hmp(chr, &err), ==, 0);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    /* The banner and prompt come as the client connects; "\n" is "\r\n". */
    for (unsigned i = 0; i < 5000 && !g_str_has_suffix(got->str, "(qemu) "); i++) {
        char buf[256];
        ssize_t n;

        g_main_context_iteration(NULL, FALSE);
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
            g_string_append_len(got, buf, n);
        }
        g_usleep(1000);
    }
    g_assert_cmpstr(got->str, ==,
                    "QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ");
    close(fd);
    g_string_free(got, TRUE);
    monitor_cleanup_all();
    chardev_cleanup_all();
    g_rmdir(dir);
}

static void run_child(gconstpointer path)
{
    g_test_trap_subprocess(path, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*fn)(void); } cases[] = {
        { "raw-terminal", child_raw_terminal },
        { "keys", child_keys },
        { "too-many-front-ends", child_too_many },
        { "monitor", child_monitor },
        { "monitor-socket", child_monitor_socket },
    };

    g_test_init(&argc, &argv, NULL);
    for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
        char *child = g_strdup_printf("/mux/subprocess/%s", cases[c].name);
        g_autofree char *parent = g_strdup_printf("/mux/%s", cases[c].name);

        g_test_add_func(child, cases[c].fn);
        g_test_add_data_func_full(parent, child, run_child, g_free);
    }
    return g_test_run();
}
