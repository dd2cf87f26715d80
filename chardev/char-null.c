/*
 * The null back end: writes vanish, nothing is ever read.  Also stands in
 * for "vc", QEMU's text console, which shows nothing without a display.
 *
 * Threads: no state; any thread.
 */
#include "chardev/chardev-internal.h"

static int null_open(struct chardev *chr, const struct chr_opts *o, GError **errp)
{
    /* Like QEMU's, it never reports a connection: a monitor on it stays quiet. */
    return 0;
}

static int null_write(struct chardev *chr, const uint8_t *buf, int len)
{
    return len;
}

static void null_close(struct chardev *chr)
{
}

const struct chardev_ops chr_null_ops = {
    .name = "null",
    .size = sizeof(struct chardev),
    .open = null_open,
    .write = null_write,
    .close = null_close,
};
