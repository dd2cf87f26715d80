/*
 * virtio-net (virtio 1.2 section 5.1): one receive and one transmit queue,
 * the control queue, and a NIC on the netdev seam (net/net.h).
 *
 * RX: a frame from the back end passes the receive filter (section
 * 5.1.6.5.1: unicast to our MAC or the MAC table, broadcast, multicast
 * per table or allmulti, promiscuous) and goes into the guest's buffers
 * behind a virtio-net header; with mergeable buffers it may span several
 * chains (num_buffers).  Without room it is refused and net.c keeps it
 * until the guest posts buffers (its kick flushes the queue).
 * TX: each chain is a header and a frame; the header goes to back ends
 * that take one (tap), the frame alone to the others (socket).  A kick
 * sends at most tx_burst frames, the rest on the main loop, so that a
 * guest cannot starve it.
 *
 * Threads: big lock held.  Kicks on vCPU threads; frames from the back end,
 * deferred TX and back end callbacks on the main thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/device.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-net.h"
#include "net/net.h"
#include "system/error.h"
#include "system/le.h"
#include "system/log.h"

/* QEMU's sizes: 64 filter entries, 64 control queue entries, 256 frames
 * per TX run (x-txburst). */
#define VIRTIO_NET_MAC_TABLE_ENTRIES 64
#define VIRTIO_NET_CTRL_QUEUE_SIZE   64
#define VIRTIO_NET_TX_BURST          256
#define VIRTIO_NET_MAX_VLAN          4096
/* The longest control command read: a full MAC table is under 1 KiB. */
#define VIRTIO_NET_CTRL_MAX          4096
/* Bytes of a frame the filter looks at: addresses, 802.1Q tag. */
#define VIRTIO_NET_FILTER_BYTES      16

struct virtio_net_mac_table {
    unsigned in_use;             /* unicast entries, then multicast */
    unsigned first_multi;
    bool uni_overflow, multi_overflow;
    uint8_t macs[VIRTIO_NET_MAC_TABLE_ENTRIES][NET_MAC_LEN];
};

struct virtio_net {
    struct virtio_device vdev;   /* first: the core frees through it */
    struct net_client nc;
    uint8_t mac[NET_MAC_LEN];    /* what the guest set (config, MAC_ADDR_SET) */
    uint8_t conf_mac[NET_MAC_LEN];   /* mac= or the default: after reset */
    uint16_t status;             /* VIRTIO_NET_S_* */
    uint16_t mtu;
    uint32_t speed;
    uint8_t duplex;

    unsigned guest_hdr_len;      /* 10 or 12 */
    unsigned host_hdr_len;       /* the back end's header: 0 or guest_hdr_len */
    bool mergeable;
    uint64_t guest_offloads;     /* GUEST_* feature bits in force */

    /* Receive filter (section 5.1.6.5.1). */
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    struct virtio_net_mac_table mac_table;
    uint32_t vlans[VIRTIO_NET_MAX_VLAN / 32];

    /* TX: a deferred run on the main loop, or a frame waiting at the peer. */
    guint tx_bh;
    bool tx_waiting;
    unsigned tx_burst;
    struct virtq_elem **rx_elems;    /* one frame's chains (mergeable) */
};

static struct virtio_net *to_net(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_net, vdev);
}

static void virtio_net_update_config(struct virtio_net *n)
{
    uint8_t *c = n->vdev.config;

    memcpy(c + VIRTIO_NET_CFG_MAC, n->mac, NET_MAC_LEN);
    st16(c + VIRTIO_NET_CFG_STATUS, n->status);
    st16(c + VIRTIO_NET_CFG_MAX_VQ_PAIRS, 1);
    st16(c + VIRTIO_NET_CFG_MTU, n->mtu);
    st32(c + VIRTIO_NET_CFG_SPEED, n->speed);
    c[VIRTIO_NET_CFG_DUPLEX] = n->duplex;
}

/* ---- receive filter (section 5.1.6.5.1) ---- */

static bool virtio_net_mac_match(const struct virtio_net *n, const uint8_t *dst,
                                 unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        if (!memcmp(dst, n->mac_table.macs[i], NET_MAC_LEN)) {
            return true;
        }
    }
    return false;
}

static bool virtio_net_rx_filter(const struct virtio_net *n, const uint8_t *eth, size_t len)
{
    static const uint8_t bcast[NET_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    if (n->promisc) {
        return true;
    }
    if (len < 14) {
        return false;
    }
    if (len >= 16 && eth[12] == 0x81 && eth[13] == 0x00) {
        unsigned vid = ((eth[14] << 8) | eth[15]) & 0xfff;

        if (!(n->vlans[vid / 32] & (1u << (vid % 32)))) {
            return false;
        }
    }
    if (eth[0] & 1) {
        if (!memcmp(eth, bcast, NET_MAC_LEN)) {
            return !n->nobcast;
        }
        if (n->nomulti) {
            return false;
        }
        if (n->allmulti || n->mac_table.multi_overflow) {
            return true;
        }
        return virtio_net_mac_match(n, eth, n->mac_table.first_multi, n->mac_table.in_use);
    }
    if (n->nouni) {
        return false;
    }
    if (n->alluni || n->mac_table.uni_overflow || !memcmp(eth, n->mac, NET_MAC_LEN)) {
        return true;
    }
    return virtio_net_mac_match(n, eth, 0, n->mac_table.first_multi);
}

/* ---- RX ---- */

/* Gives the chains of a frame that did not fit back, newest first. */
static void virtio_net_rx_unpop(struct virtqueue *vq, struct virtq_elem **elems, unsigned cnt)
{
    while (cnt-- > 0) {
        virtqueue_unpop(vq, elems[cnt]);
        g_free(elems[cnt]);
    }
}

static void virtio_net_rx_discard(struct virtq_elem **elems, unsigned cnt)
{
    for (unsigned i = 0; i < cnt; i++) {
        g_free(elems[i]);
    }
}

/*
 * The header the guest sees: the back end's when it has one, else a
 * zeroed one (no checksum or GSO work pending).  num_buffers is written
 * once the chain count is known.
 */
static void virtio_net_rx_header(struct virtio_net *n, const uint8_t *frame, uint8_t *hdr)
{
    memset(hdr, 0, VIRTIO_NET_HDR_MRG_LEN);
    if (n->host_hdr_len) {
        memcpy(hdr, frame, MIN(n->host_hdr_len, (unsigned)VIRTIO_NET_HDR_LEN));
    }
}

/*
 * Copies one frame (its back end header first, host_hdr_len bytes) into
 * the receive queue: size when placed or dropped, 0 when the guest has
 * not posted enough buffers.
 */
static ssize_t virtio_net_rx_place(struct virtio_net *n, const uint8_t *buf, size_t size)
{
    struct virtio_device *vdev = &n->vdev;
    struct virtqueue *vq = &vdev->vqs[VIRTIO_NET_RXQ];
    const uint8_t *frame = buf + n->host_hdr_len;
    size_t frame_len = size - n->host_hdr_len, offset = 0;
    uint32_t lens[VIRTQUEUE_MAX_SIZE];
    uint8_t hdr[VIRTIO_NET_HDR_MRG_LEN];
    unsigned cnt = 0;

    virtio_net_rx_header(n, buf, hdr);
    while (cnt == 0 || offset < frame_len) {
        struct virtq_elem *e;
        size_t room, guest_off = 0, copied;

        if (cnt == vq->num) {
            /* Larger than the whole ring: it never fits, drop it. */
            virtio_net_rx_unpop(vq, n->rx_elems, cnt);
            return size;
        }
        if (!(e = virtqueue_pop(vq, sizeof(*e)))) {
            if (vdev->broken) {
                virtio_net_rx_discard(n->rx_elems, cnt);
                return size;
            }
            virtio_net_rx_unpop(vq, n->rx_elems, cnt);
            return 0;
        }
        room = iov_size(e->in_sg, e->in_num);
        if (!e->in_num || (cnt == 0 && room < n->guest_hdr_len)) {
            virtio_error(vdev, "virtio-net receive buffer of %zu bytes: no room for the "
                         "%u-byte header", room, n->guest_hdr_len);
            g_free(e);
            virtio_net_rx_discard(n->rx_elems, cnt);
            return size;
        }
        if (cnt == 0) {
            iov_from_buf(e->in_sg, e->in_num, 0, hdr, n->guest_hdr_len);
            guest_off = n->guest_hdr_len;
        }
        copied = iov_from_buf(e->in_sg, e->in_num, guest_off, frame + offset,
                              frame_len - offset);
        offset += copied;
        n->rx_elems[cnt] = e;
        lens[cnt++] = guest_off + copied;
        /* Without mergeable buffers a frame must fit one chain (section
         * 5.1.6.3.1); a larger one is dropped and the chain kept. */
        if (!n->mergeable && offset < frame_len) {
            virtio_net_rx_unpop(vq, n->rx_elems, cnt);
            return size;
        }
    }
    /* num_buffers: the chains used (1 without mergeable buffers, 1.x). */
    if (n->guest_hdr_len == VIRTIO_NET_HDR_MRG_LEN) {
        uint8_t nb[2];

        st16(nb, cnt);
        iov_from_buf(n->rx_elems[0]->in_sg, n->rx_elems[0]->in_num, VIRTIO_NET_HDR_LEN, nb,
                     sizeof(nb));
    }
    for (unsigned i = 0; i < cnt; i++) {
        virtqueue_fill(vq, n->rx_elems[i], lens[i], i);
    }
    virtqueue_flush(vq, cnt);
    virtio_net_rx_discard(n->rx_elems, cnt);
    virtqueue_notify(vq);
    return size;
}

static bool virtio_net_can_receive(struct virtio_net *n)
{
    return virtio_driver_ok(&n->vdev) && n->vdev.vqs[VIRTIO_NET_RXQ].ready;
}

static ssize_t virtio_net_receive(struct net_client *nc, const struct iovec *iov, unsigned cnt)
{
    struct virtio_net *n = container_of(nc, struct virtio_net, nc);
    struct virtqueue *vq = &n->vdev.vqs[VIRTIO_NET_RXQ];
    g_autofree uint8_t *flat = NULL;
    const uint8_t *buf;
    size_t size = 0;
    ssize_t ret;

    if (!virtio_net_can_receive(n)) {
        return 0;            /* kept until DRIVER_OK */
    }
    for (unsigned i = 0; i < cnt; i++) {
        size += iov[i].iov_len;
    }
    if (cnt == 1) {
        buf = iov[0].iov_base;
    } else {
        size_t off = 0;

        buf = flat = g_malloc(size + 1);
        for (unsigned i = 0; i < cnt; i++) {
            memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
        }
    }
    if (size < n->host_hdr_len ||
        !virtio_net_rx_filter(n, buf + n->host_hdr_len, size - n->host_hdr_len)) {
        return size;
    }
    ret = virtio_net_rx_place(n, buf, size);
    if (ret == 0) {
        /* Out of buffers: ask for a kick, and look once more in case the
         * guest added some before it could see the request. */
        virtqueue_set_notification(vq, true);
        if (!virtqueue_empty(vq)) {
            ret = virtio_net_rx_place(n, buf, size);
        }
    }
    return ret;
}

/* The guest posted receive buffers: frames kept for it go in now. */
static void virtio_net_handle_rx(struct virtio_device *vdev, unsigned queue)
{
    net_queue_flush(&to_net(vdev)->nc);
}

/* ---- TX ---- */

static void virtio_net_tx_run(struct virtio_net *n);

static gboolean virtio_net_tx_bh(gpointer opaque)
{
    struct virtio_net *n = opaque;

    n->tx_bh = 0;
    virtio_net_tx_run(n);
    return G_SOURCE_REMOVE;
}

/* The rest of the queue on the main loop; no kicks needed meanwhile. */
static void virtio_net_tx_schedule(struct virtio_net *n)
{
    virtqueue_set_notification(&n->vdev.vqs[VIRTIO_NET_TXQ], false);
    if (!n->tx_bh) {
        n->tx_bh = g_idle_add_full(G_PRIORITY_DEFAULT, virtio_net_tx_bh, n, NULL);
    }
}

static void virtio_net_tx_cancel(struct virtio_net *n)
{
    if (n->tx_bh) {
        g_source_remove(n->tx_bh);
        n->tx_bh = 0;
    }
    n->tx_waiting = false;
}

/* A frame the back end queued went out: carry on with the queue. */
static void virtio_net_tx_complete(struct net_client *nc, ssize_t ret)
{
    struct virtio_net *n = container_of(nc, struct virtio_net, nc);

    if (!n->tx_waiting) {
        return;
    }
    n->tx_waiting = false;
    virtqueue_set_notification(&n->vdev.vqs[VIRTIO_NET_TXQ], true);
    virtio_net_tx_run(n);
}

/*
 * Sends up to tx_burst frames: how many, or -EBUSY when the back end
 * queued one (its callback resumes), -EINVAL when the device broke.
 */
static int virtio_net_flush_tx(struct virtio_net *n)
{
    struct virtio_device *vdev = &n->vdev;
    struct virtqueue *vq = &vdev->vqs[VIRTIO_NET_TXQ];
    unsigned count = 0;
    int ret = 0;

    while (count < n->tx_burst) {
        struct virtq_elem *e = virtqueue_pop(vq, sizeof(*e));
        struct iovec *sg;
        unsigned sg_num;
        size_t skip;
        bool queued;

        if (!e) {
            ret = vdev->broken ? -EINVAL : 0;
            break;
        }
        if (e->out_num < 1 || iov_size(e->out_sg, e->out_num) < n->guest_hdr_len) {
            virtio_error(vdev, "virtio-net transmit chain without its %u-byte header",
                         n->guest_hdr_len);
            g_free(e);
            ret = -EINVAL;
            break;
        }
        /* A back end without a header gets the frame alone: step over the
         * header in the chain's own iovecs. */
        sg = e->out_sg;
        sg_num = e->out_num;
        for (skip = n->host_hdr_len ? 0 : n->guest_hdr_len; skip && sg_num;) {
            size_t s = MIN(skip, sg->iov_len);

            sg->iov_base = (uint8_t *)sg->iov_base + s;
            sg->iov_len -= s;
            skip -= s;
            if (!sg->iov_len) {
                sg++;
                sg_num--;
            }
        }
        /* Sent (or copied into the back end's queue) before the chain goes
         * back: once it is in the used ring the guest may reuse the memory. */
        queued = net_send(&n->nc, sg, sg_num, virtio_net_tx_complete) == 0;
        virtqueue_push(vq, e, 0);
        g_free(e);
        count++;
        if (queued) {
            n->tx_waiting = true;
            virtqueue_set_notification(vq, false);
            ret = -EBUSY;
            break;
        }
    }
    if (count) {
        virtqueue_notify(vq);
    }
    return ret < 0 ? ret : (int)count;
}

static void virtio_net_tx_run(struct virtio_net *n)
{
    struct virtqueue *vq = &n->vdev.vqs[VIRTIO_NET_TXQ];
    int ret;

    if (n->tx_waiting || !virtio_driver_ok(&n->vdev)) {
        return;
    }
    ret = virtio_net_flush_tx(n);
    if (ret < 0) {
        return;
    }
    if ((unsigned)ret >= n->tx_burst) {
        virtio_net_tx_schedule(n);
        return;
    }
    /* Drained: kicks again, and one more look for a chain added before
     * the guest could see that. */
    virtqueue_set_notification(vq, true);
    if (!virtqueue_empty(vq)) {
        virtio_net_tx_schedule(n);
    }
}

static void virtio_net_handle_tx(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_net *n = to_net(vdev);

    if (!n->tx_bh) {
        virtio_net_tx_run(n);
    }
}

/* ---- control queue (section 5.1.6.5) ---- */

static uint8_t virtio_net_ctrl_rx(struct virtio_net *n, uint8_t cmd, const uint8_t *d,
                                  size_t len)
{
    bool on;

    if (len < 1) {
        return VIRTIO_NET_ERR;
    }
    on = d[0] != 0;
    switch (cmd) {
    case VIRTIO_NET_CTRL_RX_PROMISC: n->promisc = on; break;
    case VIRTIO_NET_CTRL_RX_ALLMULTI: n->allmulti = on; break;
    case VIRTIO_NET_CTRL_RX_ALLUNI: n->alluni = on; break;
    case VIRTIO_NET_CTRL_RX_NOMULTI: n->nomulti = on; break;
    case VIRTIO_NET_CTRL_RX_NOUNI: n->nouni = on; break;
    case VIRTIO_NET_CTRL_RX_NOBCAST: n->nobcast = on; break;
    default: return VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_OK;
}

/* One table of MAC_TABLE_SET: le32 entries, then entries addresses.  Too
 * many entries overflow to "accept all" of that kind, as QEMU. */
static bool virtio_net_mac_table_part(struct virtio_net_mac_table *t, const uint8_t *d,
                                      size_t len, size_t *off, bool *overflow)
{
    uint64_t entries;

    if (len - *off < 4) {
        return false;
    }
    entries = ld32(d + *off);
    *off += 4;
    if (entries * NET_MAC_LEN > len - *off) {
        return false;
    }
    if (t->in_use + entries <= VIRTIO_NET_MAC_TABLE_ENTRIES) {
        memcpy(t->macs[t->in_use], d + *off, entries * NET_MAC_LEN);
        t->in_use += entries;
    } else {
        *overflow = true;
    }
    *off += entries * NET_MAC_LEN;
    return true;
}

static uint8_t virtio_net_ctrl_mac(struct virtio_net *n, uint8_t cmd, const uint8_t *d,
                                   size_t len)
{
    struct virtio_net_mac_table t = { 0 };
    size_t off = 0;

    if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
        if (len != NET_MAC_LEN) {
            return VIRTIO_NET_ERR;
        }
        memcpy(n->mac, d, NET_MAC_LEN);
        virtio_net_update_config(n);
        return VIRTIO_NET_OK;
    }
    if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET ||
        !virtio_net_mac_table_part(&t, d, len, &off, &t.uni_overflow)) {
        return VIRTIO_NET_ERR;
    }
    t.first_multi = t.in_use;
    if (!virtio_net_mac_table_part(&t, d, len, &off, &t.multi_overflow)) {
        return VIRTIO_NET_ERR;
    }
    n->mac_table = t;
    return VIRTIO_NET_OK;
}

static uint8_t virtio_net_ctrl_vlan(struct virtio_net *n, uint8_t cmd, const uint8_t *d,
                                    size_t len)
{
    unsigned vid;

    if (len != 2) {
        return VIRTIO_NET_ERR;
    }
    vid = ld16(d);
    if (vid >= VIRTIO_NET_MAX_VLAN) {
        return VIRTIO_NET_ERR;
    }
    if (cmd == VIRTIO_NET_CTRL_VLAN_ADD) {
        n->vlans[vid / 32] |= 1u << (vid % 32);
    } else if (cmd == VIRTIO_NET_CTRL_VLAN_DEL) {
        n->vlans[vid / 32] &= ~(1u << (vid % 32));
    } else {
        return VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_OK;
}

/* The GUEST_* feature bits the driver may switch (section 5.1.6.5.6). */
static uint64_t virtio_net_offload_bits(void)
{
    return 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_GUEST_TSO4 |
           1ull << VIRTIO_NET_F_GUEST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_ECN |
           1ull << VIRTIO_NET_F_GUEST_UFO;
}

static void virtio_net_apply_offloads(struct virtio_net *n)
{
    const struct net_offloads o = {
        .csum = n->guest_offloads >> VIRTIO_NET_F_GUEST_CSUM & 1,
        .tso4 = n->guest_offloads >> VIRTIO_NET_F_GUEST_TSO4 & 1,
        .tso6 = n->guest_offloads >> VIRTIO_NET_F_GUEST_TSO6 & 1,
        .ecn = n->guest_offloads >> VIRTIO_NET_F_GUEST_ECN & 1,
        .ufo = n->guest_offloads >> VIRTIO_NET_F_GUEST_UFO & 1,
    };

    net_peer_set_offloads(&n->nc, &o);
}

static uint8_t virtio_net_ctrl_offloads(struct virtio_net *n, uint8_t cmd, const uint8_t *d,
                                        size_t len)
{
    uint64_t want, acked = n->vdev.guest_features & virtio_net_offload_bits();

    if (!virtio_has_feature(&n->vdev, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
        cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || len != 8) {
        return VIRTIO_NET_ERR;
    }
    want = ld64(d);
    if (want & ~acked) {
        return VIRTIO_NET_ERR;
    }
    n->guest_offloads = want;
    virtio_net_apply_offloads(n);
    return VIRTIO_NET_OK;
}

static uint8_t virtio_net_ctrl_cmd(struct virtio_net *n, uint8_t cls, uint8_t cmd,
                                   const uint8_t *d, size_t len)
{
    switch (cls) {
    case VIRTIO_NET_CTRL_RX:
        return virtio_net_ctrl_rx(n, cmd, d, len);
    case VIRTIO_NET_CTRL_MAC:
        return virtio_net_ctrl_mac(n, cmd, d, len);
    case VIRTIO_NET_CTRL_VLAN:
        return virtio_net_ctrl_vlan(n, cmd, d, len);
    case VIRTIO_NET_CTRL_ANNOUNCE:
        if (cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK || !(n->status & VIRTIO_NET_S_ANNOUNCE)) {
            return VIRTIO_NET_ERR;
        }
        n->status &= ~VIRTIO_NET_S_ANNOUNCE;
        virtio_net_update_config(n);
        return VIRTIO_NET_OK;
    case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
        return virtio_net_ctrl_offloads(n, cmd, d, len);
    default:
        return VIRTIO_NET_ERR;   /* MQ: one queue pair, not offered */
    }
}

static void virtio_net_handle_ctrl(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_net *n = to_net(vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *e;

    while ((e = virtqueue_pop(vq, sizeof(*e)))) {
        size_t out = iov_size(e->out_sg, e->out_num);
        uint8_t head[2], ack = VIRTIO_NET_ERR;
        g_autofree uint8_t *data = NULL;

        if (out < sizeof(head) || iov_size(e->in_sg, e->in_num) < 1) {
            virtio_error(vdev, "virtio-net control command without its header or ack");
            g_free(e);
            break;
        }
        iov_to_buf(e->out_sg, e->out_num, 0, head, sizeof(head));
        if (out - sizeof(head) <= VIRTIO_NET_CTRL_MAX) {
            data = g_malloc(out - sizeof(head) + 1);
            iov_to_buf(e->out_sg, e->out_num, sizeof(head), data, out - sizeof(head));
            ack = virtio_net_ctrl_cmd(n, head[0], head[1], data, out - sizeof(head));
        }
        iov_from_buf(e->in_sg, e->in_num, 0, &ack, sizeof(ack));
        virtqueue_push(vq, e, sizeof(ack));
        g_free(e);
    }
    virtqueue_notify(vq);
}

/* ---- link ---- */

/* set_link (QMP, issue 10): the guest sees the cable through the config
 * status and a config interrupt (section 5.1.4). */
static void virtio_net_link_status_changed(struct net_client *nc)
{
    struct virtio_net *n = container_of(nc, struct virtio_net, nc);
    uint16_t old = n->status;

    if (nc->link_down) {
        n->status &= ~VIRTIO_NET_S_LINK_UP;
    } else {
        n->status |= VIRTIO_NET_S_LINK_UP;
    }
    if (n->status != old) {
        virtio_net_update_config(n);
        if (virtio_driver_ok(&n->vdev)) {
            virtio_notify_config(&n->vdev);
        }
    }
}

static const struct net_client_ops virtio_net_nic_ops = {
    .type = NET_CLIENT_NIC,
    .type_name = "nic",
    .receive = virtio_net_receive,
    .link_status_changed = virtio_net_link_status_changed,
};

/* ---- virtio callbacks ---- */

static void virtio_net_set_features(struct virtio_device *vdev, uint64_t features)
{
    struct virtio_net *n = to_net(vdev);
    bool v1 = (features >> VIRTIO_F_VERSION_1) & 1;

    n->mergeable = (features >> VIRTIO_NET_F_MRG_RXBUF) & 1;
    n->guest_hdr_len = v1 || n->mergeable ? VIRTIO_NET_HDR_MRG_LEN : VIRTIO_NET_HDR_LEN;
    n->host_hdr_len = 0;
    if (net_peer_has_vnet_hdr(&n->nc)) {
        n->host_hdr_len = n->guest_hdr_len;
        net_peer_set_vnet_hdr_len(&n->nc, n->guest_hdr_len);
    }
    n->guest_offloads = features & virtio_net_offload_bits();
    virtio_net_apply_offloads(n);
    /* Without VLAN filtering every VLAN passes (section 5.1.6.5.3). */
    memset(n->vlans, (features >> VIRTIO_NET_F_CTRL_VLAN) & 1 ? 0 : 0xff, sizeof(n->vlans));
}

/* A legacy driver without CTRL_MAC_ADDR sets the MAC in config space
 * (section 5.1.4.2); every other field is the device's. */
static void virtio_net_config_written(struct virtio_device *vdev, unsigned offset,
                                      unsigned len)
{
    struct virtio_net *n = to_net(vdev);

    if (offset < NET_MAC_LEN && !virtio_has_feature(vdev, VIRTIO_F_VERSION_1) &&
        !virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_MAC_ADDR)) {
        memcpy(n->mac, vdev->config + VIRTIO_NET_CFG_MAC, NET_MAC_LEN);
    }
    virtio_net_update_config(n);
}

static void virtio_net_status_changed(struct virtio_device *vdev, uint8_t old_status)
{
    struct virtio_net *n = to_net(vdev);

    if (virtio_driver_ok(vdev)) {
        net_queue_flush(&n->nc);     /* frames kept until the driver came */
    } else {
        virtio_net_tx_cancel(n);
    }
}

static void virtio_net_reset(struct virtio_device *vdev)
{
    struct virtio_net *n = to_net(vdev);

    virtio_net_tx_cancel(n);
    /* No filter until the driver sets one: QEMU starts promiscuous. */
    n->promisc = true;
    n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = false;
    memset(&n->mac_table, 0, sizeof(n->mac_table));
    memset(n->vlans, 0xff, sizeof(n->vlans));
    memcpy(n->mac, n->conf_mac, NET_MAC_LEN);
    n->status &= ~VIRTIO_NET_S_ANNOUNCE;
    n->mergeable = false;
    n->guest_hdr_len = VIRTIO_NET_HDR_LEN;
    n->host_hdr_len = 0;
    n->guest_offloads = 0;
    virtio_net_update_config(n);
}

static void virtio_net_cleanup(struct virtio_device *vdev)
{
    struct virtio_net *n = to_net(vdev);

    virtio_net_tx_cancel(n);
    net_macaddr_release(n->conf_mac);
    if (n->nc.ops) {
        net_client_uninit(&n->nc);
    }
    g_free(n->rx_elems);
}

static const struct virtio_dev_ops virtio_net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .pci_class = 0x020000,           /* network controller, Ethernet */
    .config_size = VIRTIO_NET_CFG_SIZE,
    .config_written = virtio_net_config_written,
    .set_features = virtio_net_set_features,
    .status_changed = virtio_net_status_changed,
    .reset = virtio_net_reset,
    .cleanup = virtio_net_cleanup,
};

/* ---- creation ---- */

#define BIT(b) (1ull << (b))

static uint64_t virtio_net_features(const struct dev_config *cfg, bool vnet_hdr)
{
    static const struct { const char *prop; unsigned bit; } ctrl[] = {
        { "ctrl_rx", VIRTIO_NET_F_CTRL_RX },
        { "ctrl_vlan", VIRTIO_NET_F_CTRL_VLAN },
        { "ctrl_rx_extra", VIRTIO_NET_F_CTRL_RX_EXTRA },
        { "ctrl_mac_addr", VIRTIO_NET_F_CTRL_MAC_ADDR },
        { "guest_announce", VIRTIO_NET_F_GUEST_ANNOUNCE },
    };
    static const struct { const char *prop; unsigned bit; } host[] = {
        { "gso", VIRTIO_NET_F_GSO },
        { "host_tso4", VIRTIO_NET_F_HOST_TSO4 },
        { "host_tso6", VIRTIO_NET_F_HOST_TSO6 },
        { "host_ecn", VIRTIO_NET_F_HOST_ECN },
        { "host_ufo", VIRTIO_NET_F_HOST_UFO },
    }, guest[] = {
        { "guest_tso4", VIRTIO_NET_F_GUEST_TSO4 },
        { "guest_tso6", VIRTIO_NET_F_GUEST_TSO6 },
        { "guest_ecn", VIRTIO_NET_F_GUEST_ECN },
        { "guest_ufo", VIRTIO_NET_F_GUEST_UFO },
    };
    uint64_t f = BIT(VIRTIO_NET_F_MAC);
    bool cvq = dev_config_bool(cfg, "ctrl_vq");

    if (dev_config_bool(cfg, "mrg_rxbuf")) {
        f |= BIT(VIRTIO_NET_F_MRG_RXBUF);
    }
    if (dev_config_bool(cfg, "status")) {
        f |= BIT(VIRTIO_NET_F_STATUS);
    }
    /* Features that need another are offered only with it (section 5.1.3.1). */
    if (cvq) {
        f |= BIT(VIRTIO_NET_F_CTRL_VQ);
        for (unsigned i = 0; i < G_N_ELEMENTS(ctrl); i++) {
            f |= dev_config_bool(cfg, ctrl[i].prop) ? BIT(ctrl[i].bit) : 0;
        }
    }
    /* Offloads only when the back end carries the header that describes
     * them (tap); a socket passes plain, checksummed frames. */
    if (vnet_hdr && dev_config_bool(cfg, "csum")) {
        f |= BIT(VIRTIO_NET_F_CSUM);
        for (unsigned i = 0; i < G_N_ELEMENTS(host); i++) {
            f |= dev_config_bool(cfg, host[i].prop) ? BIT(host[i].bit) : 0;
        }
    }
    if (vnet_hdr && dev_config_bool(cfg, "guest_csum")) {
        f |= BIT(VIRTIO_NET_F_GUEST_CSUM);
        for (unsigned i = 0; i < G_N_ELEMENTS(guest); i++) {
            f |= dev_config_bool(cfg, guest[i].prop) ? BIT(guest[i].bit) : 0;
        }
    }
    /* Offered whatever the back end, as QEMU's: without GUEST_* offloads the
     * driver can only switch none of them. */
    if (cvq && dev_config_bool(cfg, "ctrl_guest_offloads")) {
        f |= BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
    }
    if (dev_config_uint(cfg, "host_mtu")) {
        f |= BIT(VIRTIO_NET_F_MTU);
    }
    return f;
}

static int virtio_net_queue_size(const struct dev_config *cfg, const char *prop,
                                 uint16_t *out, GError **errp)
{
    uint64_t v = dev_config_uint(cfg, prop);

    if (v < 256 || v > VIRTQUEUE_MAX_SIZE || (v & (v - 1))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Invalid %s (= %" G_GUINT64_FORMAT "), must be a power of 2 between "
                    "256 and %u.", prop, v, VIRTQUEUE_MAX_SIZE);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* speed= (Mb/s, -1 unknown) and duplex= ("half", "full"): config fields
 * behind SPEED_DUPLEX (section 5.1.4). */
static int virtio_net_speed_duplex(struct virtio_net *n, const struct dev_config *cfg,
                                   uint64_t *features, GError **errp)
{
    const char *speed = dev_config_str(cfg, "speed");
    const char *duplex = dev_config_str(cfg, "duplex");
    char *end;
    long long v = -1;

    n->speed = UINT32_MAX;
    n->duplex = 0xff;
    if (duplex) {
        if (strcmp(duplex, "half") && strcmp(duplex, "full")) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "'duplex' must be 'half' or 'full'");
            return -EINVAL;
        }
        n->duplex = !strcmp(duplex, "full");
        *features |= BIT(VIRTIO_NET_F_SPEED_DUPLEX);
    }
    if (speed) {
        v = strtoll(speed, &end, 0);
        if (end == speed || *end || v < -1 || v > INT32_MAX) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "'speed' must be between 0 and INT_MAX");
            return -EINVAL;
        }
    }
    if (v >= 0) {
        n->speed = v;
        *features |= BIT(VIRTIO_NET_F_SPEED_DUPLEX);
    }
    return 0;
}

struct virtio_device *virtio_net_create(const struct dev_config *cfg, GError **errp)
{
    /* QEMU names the inner device in property errors for both types. */
    static const char owner[] = "virtio-net-device";
    struct virtio_net *n = g_new0(struct virtio_net, 1);
    const char *netdev = dev_config_str(cfg, "netdev");
    g_autofree char *name = NULL;
    uint16_t rxq, txq;
    uint64_t features;
    bool ctrl_vq = dev_config_bool(cfg, "ctrl_vq");

    if (virtio_net_queue_size(cfg, "rx_queue_size", &rxq, errp) < 0 ||
        virtio_net_queue_size(cfg, "tx_queue_size", &txq, errp) < 0) {
        g_free(n);
        return NULL;
    }
    /* Back ends other than vhost-user take at most 256 (QEMU). */
    txq = MIN(txq, 256);
    if (net_nic_macaddr(owner, dev_config_str(cfg, "mac"), n->conf_mac, errp) < 0) {
        g_free(n);
        return NULL;
    }
    name = cfg->id ? g_strdup(cfg->id) : net_nic_default_name(cfg->type->name);
    net_client_init(&n->nc, &virtio_net_nic_ops, cfg->type->name, name, NULL);
    net_client_set_info(&n->nc, "model=%s,macaddr=%02x:%02x:%02x:%02x:%02x:%02x",
                        cfg->type->name, n->conf_mac[0], n->conf_mac[1], n->conf_mac[2],
                        n->conf_mac[3], n->conf_mac[4], n->conf_mac[5]);
    if (netdev && net_nic_attach(&n->nc, owner, netdev, errp) < 0) {
        goto fail;
    }
    features = virtio_net_features(cfg, net_peer_has_vnet_hdr(&n->nc));
    if (virtio_net_speed_duplex(n, cfg, &features, errp) < 0) {
        goto fail;
    }
    n->mtu = dev_config_uint(cfg, "host_mtu");
    n->status = VIRTIO_NET_S_LINK_UP;
    n->tx_burst = VIRTIO_NET_TX_BURST;
    n->rx_elems = g_new(struct virtq_elem *, VIRTQUEUE_MAX_SIZE);

    virtio_init(&n->vdev, &virtio_net_ops, cfg, ctrl_vq ? 3 : 2, rxq, features);
    n->vdev.vqs[VIRTIO_NET_RXQ].handle = virtio_net_handle_rx;
    n->vdev.vqs[VIRTIO_NET_TXQ].handle = virtio_net_handle_tx;
    n->vdev.vqs[VIRTIO_NET_TXQ].num_max = n->vdev.vqs[VIRTIO_NET_TXQ].num = txq;
    if (ctrl_vq) {
        struct virtqueue *cq = &n->vdev.vqs[VIRTIO_NET_CTRLQ];

        cq->handle = virtio_net_handle_ctrl;
        cq->num_max = cq->num = VIRTIO_NET_CTRL_QUEUE_SIZE;
    }
    virtio_net_reset(&n->vdev);
    return &n->vdev;

fail:
    net_macaddr_release(n->conf_mac);
    net_client_uninit(&n->nc);
    g_free(n);
    return NULL;
}

struct net_client *virtio_net_client(struct virtio_device *vdev)
{
    return &to_net(vdev)->nc;
}

int virtio_net_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    return virtio_plug_new(m, cfg, virtio_net_create(cfg, errp), errp);
}
