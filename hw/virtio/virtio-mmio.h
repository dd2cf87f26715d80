/*
 * The virtio-mmio transport (virtio 1.2 section 4.2): a 512-byte register
 * window and one interrupt line per transport, each holding at most one
 * virtio device.  The board creates empty transports (QEMU's microvm: 8 or
 * 24 at 0xfeb00000) before the -device list; a virtio-*-device then goes
 * onto the first free transport counted from the top, as QEMU's bus search
 * finds them, through virtio_mmio_plug() (hw/virtio/virtio.h).
 *
 * A transport speaks version 2 (4.2.2) or, with the QEMU property
 * force-legacy (-global virtio-mmio.force-legacy=on, QEMU's default),
 * the legacy version 1 interface (4.2.4: GuestPageSize, QueuePFN,
 * QueueAlign).  An empty transport reads as magic, version and vendor
 * with device ID 0, which Linux probes and leaves alone.
 *
 * The interrupt is level-triggered: the line is high while the device's
 * InterruptStatus is not 0 and goes low when the driver's InterruptACK
 * clears it, or at reset.
 *
 * Threads: transports are created on the main thread while the machine is
 * built; registers are accessed from vCPU threads and devices interrupt
 * from the main thread, all with the big lock held.
 */
#ifndef HYVM_VIRTIO_MMIO_H
#define HYVM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct virtio_device;

/* QEMU's microvm layout: transport i at VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE. */
#define VIRTIO_MMIO_BASE        0xfeb00000ull
#define VIRTIO_MMIO_SIZE        0x200

/* Register offsets (virtio 1.2 section 4.2.2; legacy ones 4.2.4). */
#define VIRTIO_MMIO_MAGIC_VALUE          0x000
#define VIRTIO_MMIO_VERSION              0x004
#define VIRTIO_MMIO_DEVICE_ID            0x008
#define VIRTIO_MMIO_VENDOR_ID            0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES      0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL  0x014
#define VIRTIO_MMIO_DRIVER_FEATURES      0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL  0x024
#define VIRTIO_MMIO_GUEST_PAGE_SIZE      0x028   /* legacy */
#define VIRTIO_MMIO_QUEUE_SEL            0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX        0x034
#define VIRTIO_MMIO_QUEUE_NUM            0x038
#define VIRTIO_MMIO_QUEUE_ALIGN          0x03c   /* legacy */
#define VIRTIO_MMIO_QUEUE_PFN            0x040   /* legacy */
#define VIRTIO_MMIO_QUEUE_READY          0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY         0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS     0x060
#define VIRTIO_MMIO_INTERRUPT_ACK        0x064
#define VIRTIO_MMIO_STATUS               0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW       0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH      0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW     0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH    0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW     0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH    0x0a4
#define VIRTIO_MMIO_SHM_SEL              0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW          0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH         0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW         0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH        0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION    0x0fc
#define VIRTIO_MMIO_CONFIG               0x100

#define VIRTIO_MMIO_MAGIC                0x74726976   /* "virt" */
#define VIRTIO_MMIO_VENDOR               0x554d4551   /* "QEMU", as QEMU's */

struct virtio_mmio;

/*
 * Registers an empty transport at base on gsi, appended to the list that
 * virtio_mmio_plug() searches from its end.  legacy: version 1.
 * NULL with errp set when the range is taken.
 */
struct virtio_mmio *virtio_mmio_create(uint64_t base, unsigned gsi, bool legacy,
                                       GError **errp);
/* -global virtio-mmio.force-legacy (QEMU's default: on). */
bool virtio_mmio_force_legacy(void);

/* The transports in creation order: NULL past the last. */
struct virtio_mmio *virtio_mmio_at(unsigned i);
uint64_t virtio_mmio_get_base(const struct virtio_mmio *t);
unsigned virtio_mmio_get_gsi(const struct virtio_mmio *t);
/* The plugged device, NULL for an empty transport. */
struct virtio_device *virtio_mmio_get_device(const struct virtio_mmio *t);

/* System reset: the device reset, the line lowered, every register back
 * to its initial value (the legacy guest page size included). */
void virtio_mmio_reset(struct virtio_mmio *t);

/* Forgets every transport (their MMIO stays registered: tests call
 * io_unregister_all() too); the devices are the core's to free. */
void virtio_mmio_destroy_all(void);

#endif
