/*
 * The virtio-pci transport (virtio 1.2 section 4.1) of -M pc: a virtio
 * device as one PCI function, laid out as QEMU 7.2's virtio-*-pci on
 * pc-i440fx-7.2 so guests and tools see the same function:
 *
 *   BAR0  legacy I/O registers (4.1.4.8), then the device config: the
 *         transitional interface, on unless disable-legacy=on
 *   BAR1  the MSI-X table and PBA (hw/msix.h), with vectors > 0
 *   BAR4  64-bit prefetchable memory, 16 KiB: common config at 0x0000,
 *         ISR at 0x1000, device config at 0x2000, notifications at 0x3000
 *         (queue n at 0x3000 + 4 * n), unless disable-modern=on
 *
 * and the vendor capabilities that point into BAR4 (4.1.4: common, ISR,
 * device, notify, then the PCI configuration access capability), the
 * MSI-X capability after them.  IDs: vendor 0x1af4, a transitional
 * device ID (4.1.2.1: 0x1000 net, 0x1001 blk, 0x1002 balloon, 0x1003
 * console, 0x1005 rng) revision 0 with subsystem ID = virtio ID, or 0x1040 +
 * virtio ID revision 1 without legacy.
 *
 * Interrupts: the queue's or the config's MSI-X vector while MSI-X is on,
 * else INTA, high while the ISR is not 0; reading the ISR clears it.
 * Kicks: under KVM (ioeventfd=on, QEMU's default) the notification
 * addresses are ioeventfds from DRIVER_OK on, served on the main loop.
 *
 * Threads: plugged on the main thread while the machine is built; BAR
 * and config accesses on vCPU threads, notifications from the device on
 * the main loop, all with the big lock held.
 */
#ifndef HYVM_VIRTIO_PCI_H
#define HYVM_VIRTIO_PCI_H

#include "hw/device.h"

/* Vendor and device IDs (4.1.2). */
#define VIRTIO_PCI_VENDOR_ID            0x1af4
#define VIRTIO_PCI_DEVICE_ID_MODERN     0x1040  /* + virtio ID */

/* The BARs, as QEMU numbers them. */
#define VIRTIO_PCI_LEGACY_BAR           0
#define VIRTIO_PCI_MSIX_BAR             1
#define VIRTIO_PCI_MODERN_BAR           4

/* Regions of the modern BAR and the notify_off_multiplier (QEMU's). */
#define VIRTIO_PCI_COMMON_OFFSET        0x0000
#define VIRTIO_PCI_ISR_OFFSET           0x1000
#define VIRTIO_PCI_DEVICE_OFFSET        0x2000
#define VIRTIO_PCI_NOTIFY_OFFSET        0x3000
#define VIRTIO_PCI_REGION_SIZE          0x1000
#define VIRTIO_PCI_MODERN_BAR_SIZE      0x4000
#define VIRTIO_PCI_NOTIFY_MULTIPLIER    4

/* Vendor capability types (4.1.4) and their layout. */
#define VIRTIO_PCI_CAP_COMMON_CFG       1
#define VIRTIO_PCI_CAP_NOTIFY_CFG       2
#define VIRTIO_PCI_CAP_ISR_CFG          3
#define VIRTIO_PCI_CAP_DEVICE_CFG       4
#define VIRTIO_PCI_CAP_PCI_CFG          5
#define VIRTIO_PCI_CAP_LEN              2       /* struct virtio_pci_cap fields */
#define VIRTIO_PCI_CAP_CFG_TYPE         3
#define VIRTIO_PCI_CAP_BAR              4
#define VIRTIO_PCI_CAP_OFFSET           8
#define VIRTIO_PCI_CAP_LENGTH           12
#define VIRTIO_PCI_CAP_SIZE             16
#define VIRTIO_PCI_NOTIFY_CAP_MULT      16      /* notify_off_multiplier */
#define VIRTIO_PCI_NOTIFY_CAP_SIZE      20
#define VIRTIO_PCI_CFG_CAP_DATA         16      /* pci_cfg_data */
#define VIRTIO_PCI_CFG_CAP_SIZE         20

/* Common configuration (4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT      0x00
#define VIRTIO_PCI_COMMON_DF            0x04
#define VIRTIO_PCI_COMMON_GFSELECT      0x08
#define VIRTIO_PCI_COMMON_GF            0x0c
#define VIRTIO_PCI_COMMON_MSIX          0x10
#define VIRTIO_PCI_COMMON_NUMQ          0x12
#define VIRTIO_PCI_COMMON_STATUS        0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT      0x16
#define VIRTIO_PCI_COMMON_Q_SIZE        0x18
#define VIRTIO_PCI_COMMON_Q_MSIX        0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE      0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF        0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO      0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI      0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO     0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI     0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO      0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI      0x34

/* Legacy I/O registers (4.1.4.8); the MSI-X pair only while MSI-X is on. */
#define VIRTIO_PCI_HOST_FEATURES        0x00
#define VIRTIO_PCI_GUEST_FEATURES       0x04
#define VIRTIO_PCI_QUEUE_PFN            0x08
#define VIRTIO_PCI_QUEUE_NUM            0x0c
#define VIRTIO_PCI_QUEUE_SEL            0x0e
#define VIRTIO_PCI_QUEUE_NOTIFY         0x10
#define VIRTIO_PCI_STATUS               0x12
#define VIRTIO_PCI_ISR                  0x13
#define VIRTIO_MSI_CONFIG_VECTOR        0x14
#define VIRTIO_MSI_QUEUE_VECTOR         0x16
#define VIRTIO_PCI_LEGACY_HEADER        20      /* device config from here ... */
#define VIRTIO_PCI_LEGACY_HEADER_MSIX   24      /* ... or here with MSI-X on */
#define VIRTIO_PCI_QUEUE_ADDR_SHIFT     12      /* the PFN's page size */
#define VIRTIO_PCI_VRING_ALIGN          4096    /* the legacy used ring's alignment */

/*
 * The transport's properties of every virtio-*-pci type, with QEMU 7.2's
 * names and defaults, for hw/device-table.c's property arrays.  vectors
 * "4294967295" asks for the device's own count, its queues + 1 (QEMU's
 * blk, net and rng); a type without a vectors property (QEMU's
 * virtio-balloon-pci) has no MSI-X.
 */
extern const char *const virtio_pci_on_off_auto[];
#define VIRTIO_PCI_PROPS_COMMON                                                      \
    { "addr", DEV_PROP_STR, NULL,                                                    \
      "Slot and optional function number, example: 06.0 or 06" },                    \
    { "disable-legacy", DEV_PROP_STR, "auto", "on/off/auto", "OnOffAuto",           \
      virtio_pci_on_off_auto },                                                      \
    { "disable-modern", DEV_PROP_BOOL, "false", NULL },                              \
    { "multifunction", DEV_PROP_BOOL, "false", "on/off" }
#define VIRTIO_PCI_PROPS(vectors_default)                                            \
    VIRTIO_PCI_PROPS_COMMON,                                                         \
    { "ioeventfd", DEV_PROP_BOOL, "true", "on/off" },                                \
    { "vectors", DEV_PROP_UINT32, vectors_default, NULL }

#endif
