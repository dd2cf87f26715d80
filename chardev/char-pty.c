/*
 * The pty back end: a new pseudo-terminal whose slave side a user opens
 * with screen, minicom or cat.  hyvm prints which one it made, as QEMU:
 * "char device redirected to /dev/pts/N (label LABEL)".
 *
 * The slave is set raw once and closed, so nothing holds it open but the
 * user.  When the user closes it the master reads EIO and polls POLLHUP
 * until someone opens it again; a timer looks once a second, as QEMU's does.
 * Output while nobody is there, or while the reader lets the pty's buffer
 * fill, is dropped rather than stopping the guest.
 *
 * Threads: reader and timer on the main thread; writes from any thread; all
 * with the big lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "chardev/chardev-internal.h"
#include "system/error.h"

/* How long a write waits for a reader that lets the buffer fill. */
#define PTY_WRITE_WAIT_MS 50

struct chr_pty {
    struct chardev chr;
    int master;
    struct chr_reader reader;
    guint timer;
};

static struct chr_pty *to_pty(struct chardev *chr)
{
    return container_of(chr, struct chr_pty, chr);
}

/* No slave open (after one was): the master polls POLLHUP. */
static bool pty_hung_up(int master)
{
    struct pollfd pfd = { .fd = master, .events = 0 };

    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP);
}

static void pty_eof(struct chardev *chr, int err);

static gboolean pty_check(gpointer opaque)
{
    struct chr_pty *p = opaque;

    if (pty_hung_up(p->master)) {
        return G_SOURCE_CONTINUE;
    }
    p->timer = 0;
    chr_reader_start(&p->reader, &p->chr, p->master, pty_eof);
    chr_be_event(&p->chr, CHR_EVENT_OPENED);
    return G_SOURCE_REMOVE;
}

static void pty_eof(struct chardev *chr, int err)
{
    struct chr_pty *p = to_pty(chr);

    /* EIO: the last slave fd was closed.  Wait for the next one. */
    chr_be_event(chr, CHR_EVENT_CLOSED);
    if (!p->timer) {
        p->timer = g_timeout_add_seconds(1, pty_check, p);
    }
}

static int pty_open(struct chardev *chr, const struct chr_opts *o, GError **errp)
{
    struct chr_pty *p = to_pty(chr);
    struct termios tty;
    char name[64];
    int slave;

    p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->master < 0 || grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
        ptsname_r(p->master, name, sizeof(name)) != 0) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Failed to create PTY: %s", g_strerror(errno));
        if (p->master >= 0) {
            close(p->master);
        }
        return -errno;
    }
    /* Raw, so the guest's bytes pass unchanged both ways. */
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave >= 0) {
        if (tcgetattr(slave, &tty) == 0) {
            cfmakeraw(&tty);
            tcsetattr(slave, TCSAFLUSH, &tty);
        }
        close(slave);
    }
    g_unix_set_fd_nonblocking(p->master, TRUE, NULL);
    printf("char device redirected to %s (label %s)\n", name, chr->id);
    fflush(stdout);
    if (pty_check(p) == G_SOURCE_CONTINUE) {
        p->timer = g_timeout_add_seconds(1, pty_check, p);
    }
    return 0;
}

static int pty_write(struct chardev *chr, const uint8_t *buf, int len)
{
    struct chr_pty *p = to_pty(chr);
    int done = 0;

    while (done < len && !pty_hung_up(p->master)) {
        ssize_t n = write(p->master, buf + done, len - done);

        if (n > 0) {
            done += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = p->master, .events = POLLOUT };

            if (poll(&pfd, 1, PTY_WRITE_WAIT_MS) == 0) {
                break;      /* nobody is reading: drop the rest */
            }
        } else {
            break;
        }
    }
    return len;
}

static void pty_accept_input(struct chardev *chr, struct char_fe *fe)
{
    chr_reader_kick(&to_pty(chr)->reader);
}

static void pty_close(struct chardev *chr)
{
    struct chr_pty *p = to_pty(chr);

    chr_reader_stop(&p->reader);
    if (p->timer) {
        g_source_remove(p->timer);
        p->timer = 0;
    }
    if (p->master >= 0) {
        close(p->master);
        p->master = -1;
    }
}

static char *pty_filename(struct chardev *chr)
{
    struct chr_pty *p = to_pty(chr);
    const char *name = p->master >= 0 ? ptsname(p->master) : NULL;

    return name ? g_strdup_printf("pty:%s", name) : g_strdup("pty");
}

const struct chardev_ops chr_pty_ops = {
    .name = "pty",
    .size = sizeof(struct chr_pty),
    .open = pty_open,
    .write = pty_write,
    .accept_input = pty_accept_input,
    .close = pty_close,
    .filename = pty_filename,
};
