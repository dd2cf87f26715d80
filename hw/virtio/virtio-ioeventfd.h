/*
 * Queue notifications through ioeventfds (KVM), shared by the virtio-mmio
 * and virtio-pci transports: each queue owns an eventfd that the
 * accelerator signals when the vCPU writes the queue's notification
 * address, so the vCPU does not leave the guest for it; the main loop reads
 * the eventfd and kicks the queue (virtio_queue_kick).
 *
 * The transport says where a queue's notification lives through a
 * virtio_ioeventfd_set_fn; this module owns the eventfds, their main-loop
 * sources and the assign/undo order.
 *
 * Threads: main thread and vCPU threads, all with the big lock held.
 */
#ifndef HYVM_VIRTIO_IOEVENTFD_H
#define HYVM_VIRTIO_IOEVENTFD_H

#include <stdbool.h>
#include <glib.h>

struct virtio_device;

/* One queue's eventfd and the main-loop source that turns it into kicks. */
struct virtio_ioeventfd {
    struct virtio_device *vdev;
    unsigned index;              /* the queue */
    int fd;                      /* eventfd, -1 until first needed */
    guint watch;                 /* its main-loop source */
};

/*
 * Assigns (assign true) or removes queue n's notification(s) with the
 * accelerator, for the transport behind opaque.  Returns 0 or -errno.
 */
typedef int (*virtio_ioeventfd_set_fn)(void *opaque, unsigned n, bool assign);

/* Queue index of vdev, with no eventfd yet. */
void virtio_ioeventfd_init(struct virtio_ioeventfd *e, struct virtio_device *vdev,
                           unsigned index);

/*
 * Opens the eventfds of the nqueues queues in efds (once; they stay until
 * virtio_ioeventfd_destroy) and assigns each through set.  On failure,
 * the ones already assigned are removed and it returns false.
 */
bool virtio_ioeventfd_start(struct virtio_ioeventfd *efds, unsigned nqueues,
                            virtio_ioeventfd_set_fn set, void *opaque);

/*
 * Removes each queue's notification through set, then serves a kick that
 * arrived while it was assigned.
 */
void virtio_ioeventfd_stop(struct virtio_ioeventfd *efds, unsigned nqueues,
                           virtio_ioeventfd_set_fn set, void *opaque);

/* Closes the eventfds and removes their sources (the transport goes). */
void virtio_ioeventfd_destroy(struct virtio_ioeventfd *efds, unsigned nqueues);

#endif
