/*
 * The virtio core: a device's common state, its split virtqueues and the
 * seam between a device (blk, net, console, rng, balloon) and a transport
 * (virtio-mmio, virtio-pci).  DESIGN.md: the transport never lives in the
 * device.  A device fills a virtio_dev_ops and its queues' handlers; a
 * transport fills a virtio_transport_ops and maps the registers the guest
 * sees onto the calls below.
 *
 * Everything the guest hands over (ring addresses, descriptors, indices,
 * config writes) is checked here: a bad value ends in one logged guest
 * error (-d guest_errors) and the device's "needs reset" state (virtio 1.2
 * section 2.1.2), never in a host crash or an access outside guest RAM.
 *
 * Threads: all of it runs with the big lock held, on the main thread
 * (block completions, chardev input, timers) or on a vCPU thread (register
 * accesses).  Under KVM another vCPU may write the rings while the device
 * reads them, so ring accesses use the barriers virtio 1.2 section 2.7.13
 * asks for.
 */
#ifndef HYVM_VIRTIO_H
#define HYVM_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <glib.h>

#include "system/iov.h"

struct machine;
struct dev_config;
struct virtio_device;

/* Device IDs (virtio 1.2 section 5). */
#define VIRTIO_ID_NET           1
#define VIRTIO_ID_BLOCK         2
#define VIRTIO_ID_CONSOLE       3
#define VIRTIO_ID_RNG           4
#define VIRTIO_ID_BALLOON       5

/* Device status (section 2.1). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE  1
#define VIRTIO_CONFIG_S_DRIVER       2
#define VIRTIO_CONFIG_S_DRIVER_OK    4
#define VIRTIO_CONFIG_S_FEATURES_OK  8
#define VIRTIO_CONFIG_S_NEEDS_RESET  0x40
#define VIRTIO_CONFIG_S_FAILED       0x80

/* Reserved feature bits (section 6). */
#define VIRTIO_F_NOTIFY_ON_EMPTY     24  /* legacy */
#define VIRTIO_F_ANY_LAYOUT          27  /* legacy */
#define VIRTIO_RING_F_INDIRECT_DESC  28
#define VIRTIO_RING_F_EVENT_IDX      29
#define VIRTIO_F_BAD_FEATURE         30  /* legacy: a driver that sets it is broken */
#define VIRTIO_F_VERSION_1           32
#define VIRTIO_F_ACCESS_PLATFORM     33
#define VIRTIO_F_RING_PACKED         34

/* The ISR status bits (section 4.1.4.5, 4.2.2 InterruptStatus). */
#define VIRTIO_ISR_QUEUE             1
#define VIRTIO_ISR_CONFIG            2

/* An MSI-X vector number meaning "none" (section 4.1.4.3). */
#define VIRTIO_NO_VECTOR             0xffff

/* The largest queue any device offers (section 2.7: at most 32768). */
#define VIRTQUEUE_MAX_SIZE           1024

/* Split ring layout (section 2.7). */
#define VRING_DESC_F_NEXT            1
#define VRING_DESC_F_WRITE           2
#define VRING_DESC_F_INDIRECT        4
#define VRING_AVAIL_F_NO_INTERRUPT   1
#define VRING_USED_F_NO_NOTIFY       1

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* Ring sizes in bytes for a queue of num entries (event idx words included). */
static inline uint64_t vring_desc_size(unsigned num) { return 16ull * num; }
static inline uint64_t vring_avail_size(unsigned num) { return 6ull + 2ull * num; }
static inline uint64_t vring_used_size(unsigned num) { return 6ull + 8ull * num; }

/*
 * One descriptor chain the device took from the available ring: its
 * device-readable buffers (out: driver to device) then its device-writable
 * ones (in), each an iovec straight into guest RAM.
 * A device that wants per-request state makes this the first member of
 * its request struct and asks virtqueue_pop() for the whole size.
 */
struct virtq_elem {
    uint16_t index;          /* head descriptor: what virtqueue_push() returns */
    unsigned out_num;
    unsigned in_num;
    struct iovec *out_sg;    /* out_num entries */
    struct iovec *in_sg;     /* in_num entries, right after out_sg */
};

typedef void virtqueue_handler(struct virtio_device *vdev, unsigned queue);

struct virtqueue {
    struct virtio_device *vdev;
    unsigned index;
    virtqueue_handler *handle;   /* the driver kicked it (NULL: nothing to do) */
    uint16_t num_max;            /* the device's size (QueueNumMax) */
    uint16_t num;                /* the driver's size; num_max after reset */
    bool ready;                  /* enabled with rings that lie in RAM */
    uint64_t desc, avail, used;  /* guest-physical, set by the transport */
    uint16_t vector;             /* MSI-X vector (virtio-pci), VIRTIO_NO_VECTOR */

    /* Core state; devices read them through the functions below. */
    struct vring_desc *desc_hva;
    uint16_t *avail_hva;         /* flags, idx, ring[num], used_event */
    uint8_t *used_hva;           /* flags, idx, ring[num] of {id, len}, avail_event */
    uint16_t last_avail_idx;     /* the next available entry the device takes */
    uint16_t shadow_avail_idx;   /* avail->idx as last read */
    uint16_t used_idx;           /* what used->idx holds (the device's count) */
    uint16_t signalled_used;     /* used_idx at the last interrupt (event idx) */
    bool signalled_used_valid;
    bool notification;           /* the device wants kicks (virtqueue_set_notification) */
    unsigned inuse;              /* popped, not yet pushed */
};

/* What a device fills; only name, device_id and config_size are required. */
struct virtio_dev_ops {
    const char *name;            /* "virtio-blk": log messages, QOM */
    uint16_t device_id;          /* VIRTIO_ID_* */
    uint32_t pci_class;          /* virtio-pci class code (class << 16 | sub << 8 | prog-if) */
    unsigned config_size;        /* bytes of device config (vdev->config) */
    /*
     * The driver wrote len bytes at offset of the config space, already
     * stored in vdev->config; the device takes what its spec lets the
     * driver change and restores the rest.
     */
    void (*config_written)(struct virtio_device *vdev, unsigned offset, unsigned len);
    /* Features the driver acked (at FEATURES_OK, or each write for legacy). */
    void (*set_features)(struct virtio_device *vdev, uint64_t features);
    /* The status byte changed (DRIVER_OK: start; the device may now use its queues). */
    void (*status_changed)(struct virtio_device *vdev, uint8_t old_status);
    /*
     * Device reset (the driver wrote 0, or system reset): in-flight
     * requests finished (drained) or dropped, so none pushes into the
     * queues afterwards; device state back to its initial values.  The
     * core resets the queues after this returns.
     */
    void (*reset)(struct virtio_device *vdev);
    /* Exit: release everything (the core frees vdev itself afterwards). */
    void (*cleanup)(struct virtio_device *vdev);
};

/* What a transport fills (hw/virtio/virtio-mmio.c, virtio-pci.c). */
struct virtio_transport_ops {
    const char *name;            /* "virtio-mmio", "virtio-pci" */
    /*
     * Interrupt the driver: vdev->isr already holds the cause;
     * vector is the queue's or the config's MSI-X vector.
     */
    void (*notify)(struct virtio_device *vdev, uint16_t vector);
    /* The device was reset by the core (driver wrote status 0, or a
     * broken device): lower the interrupt line, forget transport state. */
    void (*reset)(struct virtio_device *vdev);
};

struct virtio_device {
    const struct virtio_dev_ops *ops;
    const struct virtio_transport_ops *transport;
    void *transport_opaque;
    char *id;                    /* -device id=, or NULL */
    const char *type_name;       /* "virtio-blk-pci", as -device named it */

    uint64_t host_features;      /* what the device offers (core bits included) */
    uint64_t guest_features;     /* what the driver acked */
    uint8_t status;
    uint8_t isr;                 /* VIRTIO_ISR_* pending */
    uint8_t config_generation;
    uint16_t config_vector;
    bool broken;                 /* a guest error: needs a reset before it works again */
    bool legacy;                 /* the transport speaks the legacy interface */

    uint8_t *config;             /* ops->config_size bytes, little-endian */
    unsigned nvqs;
    struct virtqueue *vqs;
};

/* ---- devices ---- */

/*
 * Sets up vdev, the FIRST member of the device's g_malloc0'd struct (the
 * core g_free()s the struct through it), with nvqs queues of
 * queue_size entries each and the device's feature bits; the core adds
 * INDIRECT_DESC, EVENT_IDX, VERSION_1, NOTIFY_ON_EMPTY and ANY_LAYOUT.
 * Handlers are set afterwards in vdev->vqs[i].handle; a queue of another
 * size (a control queue) sets its num_max and num after this call.
 */
void virtio_init(struct virtio_device *vdev, const struct virtio_dev_ops *ops,
                 const struct dev_config *cfg, unsigned nvqs, uint16_t queue_size,
                 uint64_t device_features);
/* Whether the driver acked feature bit. */
static inline bool virtio_has_feature(const struct virtio_device *vdev, unsigned bit)
{
    return (vdev->guest_features >> bit) & 1;
}
static inline bool virtio_driver_ok(const struct virtio_device *vdev)
{
    return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && !vdev->broken;
}

/*
 * Takes the next available chain: NULL when the ring is empty, the queue
 * is not ready, or the chain is malformed (then the device is broken, see
 * virtio_error()).  size >= sizeof(struct virtq_elem) is the allocation
 * (the device's request struct); free it with g_free() after the push.
 */
void *virtqueue_pop(struct virtqueue *vq, size_t size);
/* Gives elem back to the available ring unused (net RX without room). */
void virtqueue_unpop(struct virtqueue *vq, const struct virtq_elem *elem);
/* Puts elem in the used ring with len bytes written; virtqueue_push is fill
 * plus flush of one.  Batches: fill(elem, len, i) for i = 0..n-1, then flush(n). */
void virtqueue_fill(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len,
                    unsigned idx);
void virtqueue_flush(struct virtqueue *vq, unsigned count);
void virtqueue_push(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len);
/* Interrupts the driver for vq unless it suppressed it (flags or event idx). */
void virtqueue_notify(struct virtqueue *vq);
/* Whether the available ring holds no chain for the device. */
bool virtqueue_empty(struct virtqueue *vq);
/* Asks the driver for kicks (enable) or to skip them while the device polls. */
void virtqueue_set_notification(struct virtqueue *vq, bool enable);

/* The device config changed: bumps the generation, interrupts the driver. */
void virtio_notify_config(struct virtio_device *vdev);
/*
 * A guest error: logged once under -d guest_errors naming the device,
 * the device marked broken (NEEDS_RESET set and the driver told, for a
 * VERSION_1 driver) until the driver resets it.
 */
void virtio_error(struct virtio_device *vdev, const char *fmt, ...) G_GNUC_PRINTF(2, 3);


/* ---- transports ---- */

/* The driver wrote the status byte (0: reset the device). */
void virtio_set_status(struct virtio_device *vdev, uint8_t status);
/* The driver's feature words; legacy drivers write the low 32 bits only.
 * false when FEATURES_OK is already set (writes are then ignored). */
bool virtio_set_guest_features(struct virtio_device *vdev, uint64_t features);
/* Device reset: ops->reset, every queue back to its reset values, status,
 * isr and broken cleared, transport->reset. */
void virtio_reset(struct virtio_device *vdev);
/* The driver kicked queue n: runs its handler (only once DRIVER_OK is set;
 * a kick before that is kept and handled at DRIVER_OK). */
void virtio_queue_kick(struct virtio_device *vdev, unsigned n);
/*
 * The transport set vq's size and addresses and the driver enabled it:
 * checks the size (a power of two up to num_max) and that the three rings
 * lie in guest RAM; false (and a guest error) otherwise.
 */
bool virtqueue_enable(struct virtqueue *vq);
void virtqueue_disable(struct virtqueue *vq);
/* Back to the values after device reset (virtio_reset calls it per queue). */
void virtqueue_reset(struct virtqueue *vq);
/* Config space accesses of 1, 2, 4 (or 8) bytes; outside it reads 0 and
 * writes are dropped. */
uint64_t virtio_config_read(struct virtio_device *vdev, unsigned offset, unsigned len);
void virtio_config_write(struct virtio_device *vdev, unsigned offset, uint64_t val,
                         unsigned len);

/*
 * Plugs a realized device into the transport its -device type names:
 * "PCI" (virtio-*-pci: hw/virtio/virtio-pci.c) or "virtio-bus"
 * (virtio-*-device: a microvm virtio-mmio transport).  On failure the
 * caller frees the device (virtio_device_free).
 */
int virtio_plug(struct machine *m, const struct dev_config *cfg, struct virtio_device *vdev,
                GError **errp);
/*
 * The end of every device's realize: plugs vdev, a device its constructor
 * just built (NULL: the constructor failed and set errp, -EINVAL), and
 * frees it when plugging fails.  Returns 0 or virtio_plug's -errno.
 */
int virtio_plug_new(struct machine *m, const struct dev_config *cfg, struct virtio_device *vdev,
                    GError **errp);
/* A realize error: sets errp to the formatted message and returns -EINVAL. */
int virtio_fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
int virtio_pci_plug(struct machine *m, const struct dev_config *cfg,
                    struct virtio_device *vdev, GError **errp);
int virtio_mmio_plug(struct machine *m, const struct dev_config *cfg,
                     struct virtio_device *vdev, GError **errp);

/* Adds a plugged device to the list below (virtio_plug does). */
void virtio_device_register(struct virtio_device *vdev);
/* Every plugged device, in creation order (QMP, cleanup). */
struct virtio_device *virtio_device_next(struct virtio_device *prev);
/* The device's cleanup, then its memory (the device struct holding vdev). */
void virtio_device_free(struct virtio_device *vdev);
/* Exit: every plugged device, after its in-flight requests ended. */
void virtio_cleanup_all(void);

#endif
