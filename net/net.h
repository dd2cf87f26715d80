/*
 * The netdev seam (DESIGN.md, "Netdev"): a front end (a NIC: virtio-net)
 * and a back end (-netdev socket; user and tap come next) are two peer
 * net_clients passing Ethernet frames as iovecs.
 *
 * A sender calls net_send(); the frame goes to its peer's receive().  A
 * receiver that cannot take a frame now returns 0: the frame is copied to
 * the receiver's queue, net_send() returns 0 and the sender should stop
 * until its sent callback runs.  The receiver calls net_queue_flush() when
 * it can take frames again (a NIC whose guest posted RX buffers, a socket
 * that became writable); the queued frames are delivered in order and
 * each sender's callback is called.
 *
 * Back ends may carry a virtio-net header in front of every frame
 * (has_vnet_hdr: tap's IFF_VNET_HDR); the NIC then offers the checksum and
 * segmentation offloads, tells the back end the header length it uses and
 * which offloads the guest accepts.  Without it (socket), frames are plain
 * Ethernet and the NIC strips or adds the header itself.
 *
 * -netdev options are checked while parsing (net_cli_add), kept here and
 * created in order at start-up (net_init_clients), before the devices that
 * name them.
 *
 * Threads: everything with the big lock held: the main thread (socket
 * callbacks, timers) and vCPU threads (a NIC's queue kick sends frames).
 */
#ifndef HYVM_NET_H
#define HYVM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <glib.h>

#include "system/container-of.h"

#define NET_MAC_LEN 6

enum net_client_type {
    NET_CLIENT_NIC,       /* a guest's network card */
    NET_CLIENT_SOCKET,    /* -netdev socket */
    NET_CLIENT_USER,      /* -netdev user (libslirp), issue 10 */
    NET_CLIENT_TAP,       /* -netdev tap, issue 10 */
};

struct net_client;
struct kv_list;

/* Offloads the guest takes on received frames (virtio 1.2 section 5.1.6.4):
 * a back end with a vnet header may then hand over unchecksummed or
 * unsegmented frames. */
struct net_offloads {
    bool csum, tso4, tso6, ecn, ufo;
};

/* A frame went through after net_send() returned 0 (ret: its size). */
typedef void net_sent_cb(struct net_client *sender, ssize_t ret);

struct net_client_ops {
    enum net_client_type type;
    const char *type_name;          /* "nic", "socket": info network, messages */
    /*
     * A frame from the peer (with the vnet header when both sides use
     * one): its size when taken or dropped, 0 when it cannot be taken
     * now (queued; call net_queue_flush() later), negative errno when it
     * failed (dropped).  Required.
     */
    ssize_t (*receive)(struct net_client *nc, const struct iovec *iov, unsigned cnt);
    /* nc->link_down changed (set_link). */
    void (*link_status_changed)(struct net_client *nc);
    /* Back ends: whether frames carry a virtio-net header, and its length
     * (10 or 12 bytes) once the NIC knows it. */
    bool (*has_vnet_hdr)(struct net_client *nc);
    void (*set_vnet_hdr_len)(struct net_client *nc, unsigned len);
    void (*set_offloads)(struct net_client *nc, const struct net_offloads *o);
    /* Called last by net_client_uninit(): a back end closes and frees
     * itself, struct included.  NICs leave it NULL (their device owns them). */
    void (*cleanup)(struct net_client *nc);
};

struct net_client {
    const struct net_client_ops *ops;
    char *name;                /* -netdev id, or the NIC's id / "virtio-net-pci.0" */
    char *model;               /* "socket", "virtio-net-pci" */
    struct net_client *peer;
    bool link_down;            /* frames to and from it are dropped */
    char *info_str;            /* what "info network" says ("socket: ...") */

    /* Private to net.c: frames waiting for this client to receive them. */
    GQueue incoming;
    bool delivering;
};

/* ---- clients ---- */

/*
 * Registers nc (the first member, or a member, of the back end's or NIC's
 * struct) with name and model, linked to peer when peer is not NULL.
 */
void net_client_init(struct net_client *nc, const struct net_client_ops *ops,
                     const char *model, const char *name, struct net_client *peer);
/* Unlinks nc from its peer, drops its queued frames (and those it sent),
 * forgets it, then runs ops->cleanup. */
void net_client_uninit(struct net_client *nc);
/* Sets what "info network" says about nc. */
void net_client_set_info(struct net_client *nc, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* A -netdev back end by id, or NULL. */
struct net_client *net_netdev_find(const char *id);
/* Every client (back ends, then NICs, in creation order): after prev, or
 * the first when prev is NULL. */
struct net_client *net_client_next(struct net_client *prev);

/*
 * For a NIC's netdev= property: links nic and the back end named id.
 * QEMU's messages: "Property 'virtio-net-device.netdev' can't find value
 * 'x'" and "... can't take value 'x', it's in use".
 */
int net_nic_attach(struct net_client *nic, const char *prop_owner, const char *id,
                   GError **errp);
/* The name of a NIC without id=: model.N, N counting earlier NICs of the
 * same model, as QEMU's. */
char *net_nic_default_name(const char *model);

/*
 * The NIC's MAC: mac= parsed (QEMU's "Property 'virtio-net-device.mac'
 * doesn't take value '...'"), or QEMU's default 52:54:00:12:34:56,
 * then ...:57 for the next NIC, skipping addresses already used.
 */
int net_nic_macaddr(const char *prop_owner, const char *mac, uint8_t out[NET_MAC_LEN],
                    GError **errp);
/* Forget the MACs taken (a MAC is released when its NIC goes). */
void net_macaddr_release(const uint8_t mac[NET_MAC_LEN]);

/* ---- frames ---- */

/*
 * Sends a frame from sender to its peer: the frame's size when delivered
 * or dropped (no peer, a link down, the peer failed), 0 when queued at
 * the peer (sent_cb, if any, is called once it goes through).
 */
ssize_t net_send(struct net_client *sender, const struct iovec *iov, unsigned cnt,
                 net_sent_cb *sent_cb);
/* nc can receive again: delivers its queued frames until it refuses one.
 * True when its queue is now empty. */
bool net_queue_flush(struct net_client *nc);
/* Drops the frames waiting for nc (a device reset); their senders' callbacks
 * run so that they send again. */
void net_queue_purge(struct net_client *nc);
/* Frames waiting for nc (tests, info). */
unsigned net_queue_len(const struct net_client *nc);

/* ---- back end features (the NIC asks its peer) ---- */

bool net_peer_has_vnet_hdr(const struct net_client *nic);
void net_peer_set_vnet_hdr_len(const struct net_client *nic, unsigned len);
void net_peer_set_offloads(const struct net_client *nic, const struct net_offloads *o);

/*
 * QMP/HMP set_link: the link of the client named name (a NIC or a
 * netdev) and, for a netdev, of the NIC it serves, as QEMU's; the
 * link_status_changed callbacks run.
 */
int net_set_link(const char *name, bool up, GError **errp);

/* ---- -netdev ---- */

/* "-netdev help": the types, those not built yet marked. */
void net_print_netdev_help(void);
/*
 * -netdev TYPE,id=ID,...: checks the keys and values of a type hyvm builds
 * (opt is "socket,id=n,listen=:1234" as kv_parse() reads it) and keeps it
 * for net_init_clients().  A type not built yet fails with
 * HYVM_ERROR_UNSUPPORTED.
 */
int net_cli_add(const char *optarg, GError **errp);
/* Forgets the -netdev options kept (a new parse, or exit). */
void net_cli_clear(void);
/* Start-up: creates the kept -netdevs in order. */
int net_init_clients(GError **errp);
/* After the devices: QEMU's warnings for NICs and netdevs without a peer. */
void net_check_clients(void);
/* Exit: every back end closed (NICs go with their devices). */
void net_cleanup(void);

/* net/socket.c: -netdev socket, its options already checked. */
int net_socket_check(const struct kv_list *kv, GError **errp);
int net_socket_init(const char *id, const struct kv_list *kv, GError **errp);

#endif
