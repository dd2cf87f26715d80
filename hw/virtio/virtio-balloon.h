/*
 * virtio-balloon (virtio 1.2 section 5.5): the guest gives pages back to
 * the host (inflate), takes them again (deflate) and reports its memory
 * statistics; -device virtio-balloon-pci and virtio-balloon-device, with
 * QEMU 7.2's properties.  The monitors reach it through qapi/qmp-balloon.h.
 *
 * Threads: big lock held (queue kicks and config writes on vCPU threads,
 * the statistics timer on the main loop).
 */
#ifndef HYVM_VIRTIO_BALLOON_H
#define HYVM_VIRTIO_BALLOON_H

#include <glib.h>

struct machine;
struct dev_config;
struct virtio_device;

/* Feature bits (section 5.5.3). */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST   0
#define VIRTIO_BALLOON_F_STATS_VQ         1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM   2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT   3
#define VIRTIO_BALLOON_F_PAGE_POISON      4
#define VIRTIO_BALLOON_F_PAGE_REPORTING   5

/* Config layout (section 5.5.4), little-endian even for legacy drivers. */
#define VIRTIO_BALLOON_CFG_NUM_PAGES      0
#define VIRTIO_BALLOON_CFG_ACTUAL         4
#define VIRTIO_BALLOON_CFG_HINT_CMD_ID    8
#define VIRTIO_BALLOON_CFG_POISON_VAL     12

/* Queues as the driver numbers them (section 5.5.2). */
#define VIRTIO_BALLOON_Q_INFLATE          0
#define VIRTIO_BALLOON_Q_DEFLATE          1
#define VIRTIO_BALLOON_Q_STATS            2
#define VIRTIO_BALLOON_Q_REPORTING        3   /* free-page-reporting=on only */

/* The page size of a PFN (section 5.5.6). */
#define VIRTIO_BALLOON_PFN_SHIFT          12

/* Statistics tags (section 5.5.6.3). */
enum {
    VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_SWAP_OUT, VIRTIO_BALLOON_S_MAJFLT,
    VIRTIO_BALLOON_S_MINFLT, VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT,
    VIRTIO_BALLOON_S_AVAIL, VIRTIO_BALLOON_S_CACHES, VIRTIO_BALLOON_S_HTLB_PGALLOC,
    VIRTIO_BALLOON_S_HTLB_PGFAIL, VIRTIO_BALLOON_S_NR
};

/*
 * Creates the device from cfg for a guest of ram_size bytes, without a
 * transport (unit tests give it theirs); registers it as the balloon.
 * NULL with *errp set on a bad property or a second balloon.
 */
struct virtio_device *virtio_balloon_new(const struct dev_config *cfg, uint64_t ram_size,
                                         GError **errp);
/* -device virtio-balloon-pci / virtio-balloon-device. */
int virtio_balloon_realize(struct machine *m, const struct dev_config *cfg, GError **errp);

#endif
