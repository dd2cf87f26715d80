/*
 * virtio-rng (virtio 1.2 section 5.4): one request queue whose
 * device-writable buffers the device fills with entropy from an rng
 * back end (hw/virtio/rng-backend.h); -device virtio-rng-pci and
 * virtio-rng-device with QEMU 7.2's properties: rng= (an -object
 * rng-random or rng-builtin; without it the device makes its own
 * rng-builtin), max-bytes and period (at most max-bytes every period
 * milliseconds).
 *
 * Threads: big lock held (queue kicks on vCPU threads, back-end
 * deliveries and the rate-limit timer on the main loop).
 */
#ifndef HYVM_VIRTIO_RNG_H
#define HYVM_VIRTIO_RNG_H

#include <glib.h>

struct machine;
struct dev_config;
struct virtio_device;

/* QEMU's queue size. */
#define VIRTIO_RNG_QUEUE_SIZE   8

/*
 * Creates the device from cfg without a transport (unit tests give it
 * theirs; realize plugs it).  NULL with *errp set on a bad property, an
 * unknown rng= or a back end that does not open.
 */
struct virtio_device *virtio_rng_new(const struct dev_config *cfg, GError **errp);
/* -device virtio-rng-pci / virtio-rng-device. */
int virtio_rng_realize(struct machine *m, const struct dev_config *cfg, GError **errp);

#endif
