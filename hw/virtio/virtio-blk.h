/*
 * virtio-blk (virtio 1.2 section 5.2) over a block backend: the -device
 * types virtio-blk-pci and virtio-blk-device.  The numbers below are the
 * spec's (feature bits, request types, status values, config layout);
 * tests and the transports read them from here.
 *
 * Threads: main thread or a vCPU thread, with the big lock held; the
 * backend's completions run on the main loop (block/block-backend.h).
 */
#ifndef HYVM_VIRTIO_BLK_H
#define HYVM_VIRTIO_BLK_H

#include <glib.h>

struct machine;
struct dev_config;
struct virtio_device;
struct blk;

/* Feature bits (section 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX       1
#define VIRTIO_BLK_F_SEG_MAX        2
#define VIRTIO_BLK_F_GEOMETRY       4
#define VIRTIO_BLK_F_RO             5
#define VIRTIO_BLK_F_BLK_SIZE       6
#define VIRTIO_BLK_F_FLUSH          9   /* legacy name: WCE */
#define VIRTIO_BLK_F_TOPOLOGY       10
#define VIRTIO_BLK_F_CONFIG_WCE     11
#define VIRTIO_BLK_F_MQ             12
#define VIRTIO_BLK_F_DISCARD        13
#define VIRTIO_BLK_F_WRITE_ZEROES   14

/* Request types (section 5.2.6). */
#define VIRTIO_BLK_T_IN             0
#define VIRTIO_BLK_T_OUT            1
#define VIRTIO_BLK_T_FLUSH          4
#define VIRTIO_BLK_T_GET_ID         8
#define VIRTIO_BLK_T_DISCARD        11
#define VIRTIO_BLK_T_WRITE_ZEROES   13
#define VIRTIO_BLK_T_BARRIER        0x80000000u  /* legacy flag, ignored */

#define VIRTIO_BLK_S_OK             0
#define VIRTIO_BLK_S_IOERR          1
#define VIRTIO_BLK_S_UNSUPP         2

#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1
#define VIRTIO_BLK_ID_BYTES         20
#define VIRTIO_BLK_OUTHDR_SIZE      16   /* le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_DWZ_SIZE         16   /* le64 sector, le32 num_sectors, le32 flags */

/* struct virtio_blk_config offsets (section 5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY          0   /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX          8
#define VIRTIO_BLK_CFG_SEG_MAX           12
#define VIRTIO_BLK_CFG_CYLINDERS         16  /* le16 */
#define VIRTIO_BLK_CFG_HEADS             18  /* u8 */
#define VIRTIO_BLK_CFG_SECTORS           19  /* u8 */
#define VIRTIO_BLK_CFG_BLK_SIZE          20
#define VIRTIO_BLK_CFG_PHYS_BLOCK_EXP    24  /* u8 */
#define VIRTIO_BLK_CFG_ALIGNMENT_OFFSET  25  /* u8 */
#define VIRTIO_BLK_CFG_MIN_IO_SIZE       26  /* le16 */
#define VIRTIO_BLK_CFG_OPT_IO_SIZE       28
#define VIRTIO_BLK_CFG_WRITEBACK         32  /* u8 */
#define VIRTIO_BLK_CFG_NUM_QUEUES        34  /* le16 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS     36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG         40
#define VIRTIO_BLK_CFG_DISCARD_ALIGNMENT       44
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG    52
#define VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP  56  /* u8 */
#define VIRTIO_BLK_CFG_MAX_SIZE                60

/* QEMU's BDRV_REQUEST_MAX_SECTORS: the largest request, and the default
 * max-discard-sectors / max-write-zeroes-sectors. */
#define VIRTIO_BLK_MAX_REQUEST_SECTORS 4194303u

/* -device virtio-blk-pci / virtio-blk-device: builds the device, plugs it. */
int virtio_blk_realize(struct machine *m, const struct dev_config *cfg, GError **errp);

/*
 * The device without a transport (realize is this plus virtio_plug): for
 * tests that attach their own.  m may be NULL (then num-queues defaults
 * to 1).  Free with virtio_device_free().
 */
struct virtio_device *virtio_blk_create(struct machine *m, const struct dev_config *cfg,
                                        GError **errp);

/*
 * The backend's length changed (QMP block_resize): every virtio-blk on blk
 * shows the new capacity and interrupts its driver (config change,
 * section 2.4.2; Linux then resizes the disk).
 */
void virtio_blk_resized(struct blk *blk);

/*
 * The QOM path of the virtio-blk that holds blk, as QEMU's query-block
 * "qdev" ("/machine/peripheral/ID/virtio-backend"), or NULL when none does
 * (QEMU then calls the drive removable and prints no qdev or io-status).
 */
const char *virtio_blk_qdev(struct blk *blk);

#endif
