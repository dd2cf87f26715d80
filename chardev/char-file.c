/*
 * file and pipe back ends.
 *
 * file: output only, to path= (truncated, or appended to with append=on).
 * pipe: path=P uses the FIFOs P.in (what the guest reads) and P.out (what
 * it writes) when both exist, else P for both ways, as QEMU does.  The
 * FIFOs are opened read-write so that opening does not wait for a peer and
 * a peer that goes away is not an end of file.
 *
 * Threads: the reader runs on the main thread; writes come from any thread,
 * all with the big lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "chardev/chardev-internal.h"
#include "system/error.h"

struct chr_file {
    struct chardev chr;
    int in_fd;              /* -1 for file */
    int out_fd;
    struct chr_reader reader;
};

static struct chr_file *to_file(struct chardev *chr)
{
    return container_of(chr, struct chr_file, chr);
}

static int file_open(struct chardev *chr, const struct chr_opts *o, GError **errp)
{
    struct chr_file *f = to_file(chr);
    const char *path = chr_opt_get(o, "path");
    bool append;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC;

    f->in_fd = -1;
    if (chr_opt_bool(o, "append", false, &append, errp) < 0) {
        return -EINVAL;
    }
    if (!path) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "chardev: file: no filename given");
        return -EINVAL;
    }
    flags |= append ? O_APPEND : O_TRUNC;
    f->out_fd = open(path, flags, 0666);
    if (f->out_fd < 0) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "Could not open '%s': %s", path,
                  g_strerror(errno));
        return -errno;
    }
    chr_be_event(chr, CHR_EVENT_OPENED);
    return 0;
}

static int file_write(struct chardev *chr, const uint8_t *buf, int len)
{
    return chr_fd_write_all(to_file(chr)->out_fd, buf, len, false);
}

static void pipe_eof(struct chardev *chr, int err)
{
    /* A regular file given as pipe: its contents were read once. */
}

static void file_accept_input(struct chardev *chr, struct char_fe *fe)
{
    struct chr_file *f = to_file(chr);

    if (f->in_fd >= 0) {
        chr_reader_kick(&f->reader);
    }
}

static void file_close(struct chardev *chr)
{
    struct chr_file *f = to_file(chr);

    chr_reader_stop(&f->reader);
    if (f->in_fd >= 0 && f->in_fd != f->out_fd) {
        close(f->in_fd);
    }
    if (f->out_fd >= 0) {
        close(f->out_fd);
    }
    f->in_fd = f->out_fd = -1;
}

static int pipe_open(struct chardev *chr, const struct chr_opts *o, GError **errp)
{
    struct chr_file *f = to_file(chr);
    const char *path = chr_opt_get(o, "path");
    g_autofree char *in = NULL;
    g_autofree char *out = NULL;

    f->in_fd = f->out_fd = -1;
    if (!path) {
        chr_error(errp, o, HYVM_ERROR_FAILED, "chardev: pipe: no filename given");
        return -EINVAL;
    }
    in = g_strdup_printf("%s.in", path);
    out = g_strdup_printf("%s.out", path);
    f->in_fd = open(in, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    f->out_fd = open(out, O_RDWR | O_CLOEXEC);
    if (f->in_fd < 0 || f->out_fd < 0) {
        if (f->in_fd >= 0) {
            close(f->in_fd);
        }
        if (f->out_fd >= 0) {
            close(f->out_fd);
        }
        f->in_fd = f->out_fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (f->in_fd < 0) {
            chr_error(errp, o, HYVM_ERROR_FAILED, "Could not open '%s': %s", path,
                      g_strerror(errno));
            return -errno;
        }
    }
    chr_reader_start(&f->reader, chr, f->in_fd, pipe_eof);
    chr_be_event(chr, CHR_EVENT_OPENED);
    return 0;
}

const struct chardev_ops chr_file_ops = {
    .name = "file",
    .size = sizeof(struct chr_file),
    .open = file_open,
    .write = file_write,
    .close = file_close,
};

const struct chardev_ops chr_pipe_ops = {
    .name = "pipe",
    .size = sizeof(struct chr_file),
    .open = pipe_open,
    .write = file_write,
    .accept_input = file_accept_input,
    .close = file_close,
};
