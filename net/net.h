/*
 * The netdev seam (DESIGN.md, "Netdev"): a front end (a NIC: virtio-net)
 * and a back end (-netdev socket, user, tap, a hub port) are two peer
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
/* The largest frame net_send() passes on: a 64 KiB GSO frame, its
 * virtio-net header and room for link headers (QEMU's NET_BUFSIZE).
 * Larger ones are dropped with a guest error. */
#define NET_FRAME_MAX (65536 + 4096)

enum net_client_type {
    NET_CLIENT_NIC,       /* a guest's network card */
    NET_CLIENT_SOCKET,    /* -netdev socket */
    NET_CLIENT_USER,      /* -netdev user (libslirp) */
    NET_CLIENT_TAP,       /* -netdev tap */
    NET_CLIENT_HUBPORT,   /* a port of a -net hub (net/hub.c) */
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
    const char *type_name;          /* QEMU's type: "nic", "socket", "user", "tap",
                                       "hubport" (info network, messages) */
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
    /* What "info network" prints after "NAME: index=0,type=TYPE,", as
     * QEMU's: "net=10.0.2.0,restrict=off", "ifname=tap0,script=no,...",
     * "model=virtio-net-pci,macaddr=52:54:00:12:34:56". */
    char *info_str;

    /* Back ends: the virtio-net header length in front of every frame
     * once the NIC set it (0: plain Ethernet).  Filters skip it. */
    unsigned vnet_hdr_len;
    /* Back ends: -object filter-* attached, in insertion order
     * (struct net_filter *). */
    GList *filters;

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

/* "-netdev help" (on stdout) and HMP "netdev_add help" (into out): the
 * types, those not built yet marked. */
void net_print_netdev_help(void);
void net_netdev_help(GString *out);
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

/*
 * Monitor: netdev_add creates a back end at once (kv as -netdev's:
 * type=, id=, the type's options; QEMU's messages), netdev_del removes one
 * ("Device 'x' not found"); its NIC keeps running with no peer.
 */
int net_netdev_add(const struct kv_list *kv, GError **errp);
int net_netdev_del(const char *id, GError **errp);
/* "info network", QEMU's layout: hubs with their ports, each NIC with its
 * back end under it, then back ends without a NIC. */
void net_info_network(GString *out);

/*
 * The back ends: one check (the options of "-netdev TYPE,id=ID,...",
 * kv as kv_parse read it: nothing opened) and one init (creates the
 * client named id with net_client_init(), no peer: the NIC or hub port
 * attaches later) per type.  net.c dispatches on type=.
 */

/* One back end's options checked as -netdev's, and one created under
 * name (-nic and -net name theirs #netN). */
bool net_netdev_check_kv(const struct kv_list *kv, GError **errp);
int net_netdev_init_kv(const char *name, const struct kv_list *kv, GError **errp);
/* "NAME: index=0,type=TYPE,INFO" and a newline. */
void net_client_print_info(const struct net_client *nc, GString *out);

/* ---- -nic, -net and the default network (net/nic-options.c) ---- */

/*
 * -nic / -net ARG (opt "nic" or "net"), checked and kept: 0, or 1 when it
 * printed help (model=help), negative with errp set.
 */
int net_nic_cli_add(const char *opt, const char *optarg, GError **errp);
void net_nic_cli_clear(void);
void net_nic_print_models(void);
/*
 * Start-up, after net_init_clients: the back ends of -nic and -net (and
 * the default "-net nic -net user" unless -nodefaults or any -nic/-net
 * was given), and the NICs as devices at the front of devices (struct
 * dev_config *) in the machine's default_model; NULL: the machine makes
 * no NICs (warned about in net_check_clients, as QEMU).
 */
int net_nic_init(const char *default_model, bool nodefaults, GPtrArray *devices,
                 GError **errp);
bool net_nic_default_used(void);
void net_nic_check_requested(void);

/* net/socket.c: -netdev socket. */
int net_socket_check(const struct kv_list *kv, GError **errp);
int net_socket_init(const char *id, const struct kv_list *kv, GError **errp);

/* net/slirp.c: -netdev user (libslirp on the main loop). */
int net_user_check(const struct kv_list *kv, GError **errp);
int net_user_init(const char *id, const struct kv_list *kv, GError **errp);
/*
 * HMP hostfwd_add / hostfwd_remove: netdev names a user back end, NULL
 * means the first one (QEMU's one-argument form).  rule is
 * "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" (add) or
 * "[tcp|udp]:[hostaddr]:hostport" (remove).  QEMU's messages: errors in
 * errp, what remove prints ("host forwarding rule for %s removed" /
 * "... not found") appended to out.
 */
int net_user_hostfwd_add(const char *netdev, const char *rule, GError **errp);
int net_user_hostfwd_remove(const char *netdev, const char *rule, GString *out,
                            GError **errp);
/* HMP "info usernet": every user back end's connection table. */
void net_user_info_usernet(GString *out);

/* net/tap.c: -netdev tap (and -netdev bridge if built). */
int net_tap_check(const struct kv_list *kv, GError **errp);
int net_tap_init(const char *id, const struct kv_list *kv, GError **errp);

/* net/hub.c: QEMU's hubs, for -net and -netdev hubport. */
int net_hubport_check(const struct kv_list *kv, GError **errp);
int net_hubport_init(const char *id, const struct kv_list *kv, GError **errp);
/* A new port of hub hub_id (made when first named), called name or
 * hubNportM. */
struct net_client *net_hub_add_port(int hub_id, const char *name);
/* The hub of the port nc sits on, or -1 ("info usernet": "Hub N"). */
int net_hub_id_of(const struct net_client *nc);
/* nc is a hub port or sits on one: "info network" shows it with its hub. */
bool net_client_on_hub(const struct net_client *nc);
void net_hub_info(GString *out);
void net_hub_check_clients(void);
void net_hubs_cleanup(void);

/* ---- filters (-object filter-dump, net/filter.c) ---- */

struct net_filter;

struct net_filter_ops {
    const char *type;       /* "filter-dump" */
    /*
     * A frame passing the filter's netdev: tx is true for a frame the
     * netdev sends (toward the NIC), false for one it receives (from the
     * NIC).  hdr_len bytes of virtio-net header come first when the
     * netdev uses one.  Filters only look (dump); frames always pass.
     */
    void (*frame)(struct net_filter *f, bool tx, const struct iovec *iov, unsigned cnt,
                  unsigned hdr_len);
    void (*cleanup)(struct net_filter *f);    /* frees f */
};

enum net_filter_queue { NET_FILTER_ALL, NET_FILTER_RX, NET_FILTER_TX };

struct net_filter {
    const struct net_filter_ops *ops;
    char *id;
    struct net_client *netdev;
    enum net_filter_queue queue;    /* queue=all|rx|tx */
    bool on;                        /* status=on|off */
};

/* Called by net_send() for the filters of the netdev on either side. */
void net_filters_run(struct net_client *netdev, bool tx, const struct iovec *iov,
                     unsigned cnt);
/*
 * -object filter-dump,id=,netdev=,file=[,maxlen=][,queue=][,status=]:
 * net_filter_cli_add checks and keeps it while parsing (kv taken on
 * success); net_filters_init attaches them after net_init_clients
 * ("-object filter-dump,...: Parameter 'netdev' ...").  object-add /
 * object-del at run time: net_filter_add (kv as -object's, qom-type=
 * included) and net_filter_del.
 */
int net_filter_cli_add(struct kv_list *kv, GError **errp);
void net_filter_cli_clear(void);
int net_filters_init(GError **errp);
int net_filter_add(const struct kv_list *kv, GError **errp);
int net_filter_del(const char *id, GError **errp);
/* "info network" under a client's line, as QEMU 7.2's: nothing without
 * filters, else "filters:\n" and "  - ID: type=filter-dump,file=...,...\n"
 * per filter. */
void net_filters_info(const struct net_client *nc, GString *out);
/* A filter by id (object-del, qom-get/-set), or NULL. */
struct net_filter *net_filter_find(const char *id);
/* qom-set /objects/ID status on|off (QEMU's message for anything else). */
int net_filter_set_status(struct net_filter *f, const char *value, GError **errp);
/* Detaches and frees nc's filters (its netdev goes). */
void net_filters_detach_all(struct net_client *nc);

#endif
