/*
 * The stdio back end: reads fd 0, writes fd 1.
 *
 * When stdin is a terminal it is put in raw mode for as long as hyvm runs,
 * with the settings QEMU uses: no echo, no line editing, no CR/NL mapping
 * on input, 8-bit characters; output processing stays on (so "\n" from the
 * guest still returns the carriage).  signal=off also turns off ISIG, so
 * that Ctrl-C reaches the guest instead of ending hyvm.
 *
 * The saved settings come back on every way out: chardev_cleanup_all(),
 * exit() through atexit(), and chardev_restore_terminal() from signal and
 * abort paths (tcsetattr() is async-signal-safe, POSIX.1 2.4.3).
 *
 * Threads: the reader runs on the main thread; writes come from any thread
 * with the big lock held.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "chardev/chardev-internal.h"
#include "system/error.h"

struct chr_stdio {
    struct chardev chr;
    struct chr_reader reader;
};

static struct termios stdio_saved_tty;
static volatile sig_atomic_t stdio_tty_saved;
static bool stdio_in_use;
static bool stdio_atexit_done;

void chardev_restore_terminal(void)
{
    if (stdio_tty_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_saved_tty);
    }
}

static void stdio_restore_at_exit(void)
{
    chardev_restore_terminal();
}

static void stdio_set_raw(bool allow_signals)
{
    struct termios tty;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &stdio_saved_tty) < 0) {
        return;
    }
    stdio_tty_saved = 1;
    if (!stdio_atexit_done) {
        stdio_atexit_done = true;
        atexit(stdio_restore_at_exit);
    }
    tty = stdio_saved_tty;
    tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    tty.c_oflag |= OPOST;
    tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    if (!allow_signals) {
        tty.c_lflag &= ~ISIG;
    }
    tty.c_cflag &= ~(CSIZE | PARENB);
    tty.c_cflag |= CS8;
    tty.c_cc[VMIN] = 1;
    tty.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &tty);
}

static void stdio_eof(struct chardev *chr, int err)
{
    /* stdin closed (or </dev/null): nothing more to read; output goes on. */
}

static int stdio_open(struct chardev *chr, const struct chr_opts *o, GError **errp)
{
    struct chr_stdio *s = container_of(chr, struct chr_stdio, chr);
    bool allow_signals;

    if (stdio_in_use) {
        chr_error(errp, o, HYVM_ERROR_FAILED,
                  "cannot use stdio by multiple character devices");
        return -EBUSY;
    }
    if (chr_opt_bool(o, "signal", true, &allow_signals, errp) < 0) {
        return -EINVAL;
    }
    stdio_in_use = true;
    stdio_set_raw(allow_signals);
    chr_reader_start(&s->reader, chr, STDIN_FILENO, stdio_eof);
    chr_be_event(chr, CHR_EVENT_OPENED);
    return 0;
}

static int stdio_write(struct chardev *chr, const uint8_t *buf, int len)
{
    return chr_fd_write_all(STDOUT_FILENO, buf, len, false);
}

static void stdio_accept_input(struct chardev *chr, struct char_fe *fe)
{
    chr_reader_kick(&container_of(chr, struct chr_stdio, chr)->reader);
}

static void stdio_close(struct chardev *chr)
{
    chr_reader_stop(&container_of(chr, struct chr_stdio, chr)->reader);
    chardev_restore_terminal();
    stdio_tty_saved = 0;
    stdio_in_use = false;
}

const struct chardev_ops chr_stdio_ops = {
    .name = "stdio",
    .size = sizeof(struct chr_stdio),
    .open = stdio_open,
    .write = stdio_write,
    .accept_input = stdio_accept_input,
    .close = stdio_close,
};
