/*
 * Queue notifications through ioeventfds: see virtio-ioeventfd.h.
 *
 * Threads: big lock held (the main loop's sources run with it).
 */
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>

#include "hw/virtio/virtio-ioeventfd.h"
#include "hw/virtio/virtio.h"

/* The main loop saw a kick KVM took for us (big lock held). */
static gboolean virtio_ioeventfd_read(gint fd, GIOCondition cond, gpointer opaque)
{
    struct virtio_ioeventfd *e = opaque;
    uint64_t n;

    if (read(fd, &n, sizeof(n)) == sizeof(n)) {
        virtio_queue_kick(e->vdev, e->index);
    }
    return G_SOURCE_CONTINUE;
}

void virtio_ioeventfd_init(struct virtio_ioeventfd *e, struct virtio_device *vdev,
                           unsigned index)
{
    *e = (struct virtio_ioeventfd){ .vdev = vdev, .index = index, .fd = -1 };
}

static bool virtio_ioeventfd_open(struct virtio_ioeventfd *e)
{
    if (e->fd >= 0) {
        return true;
    }
    e->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->fd < 0) {
        return false;
    }
    e->watch = g_unix_fd_add(e->fd, G_IO_IN, virtio_ioeventfd_read, e);
    return true;
}

bool virtio_ioeventfd_start(struct virtio_ioeventfd *efds, unsigned nqueues,
                            virtio_ioeventfd_set_fn set, void *opaque)
{
    for (unsigned n = 0; n < nqueues; n++) {
        if (!virtio_ioeventfd_open(&efds[n]) || set(opaque, n, true) < 0) {
            while (n-- > 0) {
                set(opaque, n, false);
            }
            return false;
        }
    }
    return true;
}

void virtio_ioeventfd_stop(struct virtio_ioeventfd *efds, unsigned nqueues,
                           virtio_ioeventfd_set_fn set, void *opaque)
{
    for (unsigned n = 0; n < nqueues; n++) {
        set(opaque, n, false);
        virtio_ioeventfd_read(efds[n].fd, G_IO_IN, &efds[n]);
    }
}

void virtio_ioeventfd_destroy(struct virtio_ioeventfd *efds, unsigned nqueues)
{
    for (unsigned n = 0; n < nqueues; n++) {
        if (efds[n].fd >= 0) {
            g_source_remove(efds[n].watch);
            close(efds[n].fd);
            efds[n].fd = -1;
        }
    }
}
