/*
 * virtio-net (virtio 1.2 section 5.1): virtio-net-pci and virtio-net-device,
 * a NIC on the netdev seam (net/net.h).
 *
 * Threads: big lock held; queue kicks on vCPU threads, frames from the
 * back end and deferred TX on the main thread.
 */
#ifndef HYVM_VIRTIO_NET_H
#define HYVM_VIRTIO_NET_H

#include <stdbool.h>
#include <glib.h>

struct machine;
struct dev_config;
struct virtio_device;
struct net_client;

/* Feature bits (virtio 1.2 section 5.1.3). */
#define VIRTIO_NET_F_CSUM                 0
#define VIRTIO_NET_F_GUEST_CSUM           1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS  2
#define VIRTIO_NET_F_MTU                  3
#define VIRTIO_NET_F_MAC                  5
#define VIRTIO_NET_F_GSO                  6   /* legacy */
#define VIRTIO_NET_F_GUEST_TSO4           7
#define VIRTIO_NET_F_GUEST_TSO6           8
#define VIRTIO_NET_F_GUEST_ECN            9
#define VIRTIO_NET_F_GUEST_UFO            10
#define VIRTIO_NET_F_HOST_TSO4            11
#define VIRTIO_NET_F_HOST_TSO6            12
#define VIRTIO_NET_F_HOST_ECN             13
#define VIRTIO_NET_F_HOST_UFO             14
#define VIRTIO_NET_F_MRG_RXBUF            15
#define VIRTIO_NET_F_STATUS               16
#define VIRTIO_NET_F_CTRL_VQ              17
#define VIRTIO_NET_F_CTRL_RX              18
#define VIRTIO_NET_F_CTRL_VLAN            19
#define VIRTIO_NET_F_CTRL_RX_EXTRA        20
#define VIRTIO_NET_F_GUEST_ANNOUNCE       21
#define VIRTIO_NET_F_MQ                   22
#define VIRTIO_NET_F_CTRL_MAC_ADDR        23
#define VIRTIO_NET_F_SPEED_DUPLEX         63

/* Config status bits (section 5.1.4). */
#define VIRTIO_NET_S_LINK_UP              1
#define VIRTIO_NET_S_ANNOUNCE             2

/* Config layout (section 5.1.4). */
#define VIRTIO_NET_CFG_MAC                0
#define VIRTIO_NET_CFG_STATUS             6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS       8
#define VIRTIO_NET_CFG_MTU                10
#define VIRTIO_NET_CFG_SPEED              12
#define VIRTIO_NET_CFG_DUPLEX             16
#define VIRTIO_NET_CFG_SIZE               20

/* The header before every frame (section 5.1.6): 10 bytes, or 12 with
 * num_buffers when VERSION_1 or MRG_RXBUF is negotiated. */
#define VIRTIO_NET_HDR_LEN                10
#define VIRTIO_NET_HDR_MRG_LEN            12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM       1
#define VIRTIO_NET_HDR_F_DATA_VALID       2
#define VIRTIO_NET_HDR_GSO_NONE           0

/* Control queue (section 5.1.6.5): class, command, data, then the ack. */
#define VIRTIO_NET_OK                     0
#define VIRTIO_NET_ERR                    1
#define VIRTIO_NET_CTRL_RX                0
#define VIRTIO_NET_CTRL_RX_PROMISC        0
#define VIRTIO_NET_CTRL_RX_ALLMULTI       1
#define VIRTIO_NET_CTRL_RX_ALLUNI         2
#define VIRTIO_NET_CTRL_RX_NOMULTI        3
#define VIRTIO_NET_CTRL_RX_NOUNI          4
#define VIRTIO_NET_CTRL_RX_NOBCAST        5
#define VIRTIO_NET_CTRL_MAC               1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET     0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET      1
#define VIRTIO_NET_CTRL_VLAN              2
#define VIRTIO_NET_CTRL_VLAN_ADD          0
#define VIRTIO_NET_CTRL_VLAN_DEL          1
#define VIRTIO_NET_CTRL_ANNOUNCE          3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK      0
#define VIRTIO_NET_CTRL_MQ                4
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS    5
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0

/* Queue numbers with one queue pair. */
#define VIRTIO_NET_RXQ                    0
#define VIRTIO_NET_TXQ                    1
#define VIRTIO_NET_CTRLQ                  2

/* -device virtio-net-pci / virtio-net-device. */
int virtio_net_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* The device before it is plugged into a transport (realize, unit tests). */
struct virtio_device *virtio_net_create(const struct dev_config *cfg, GError **errp);
/* Its NIC on the netdev seam. */
struct net_client *virtio_net_client(struct virtio_device *vdev);

#endif
