/*
 * virtio-net against a fake transport, guest RAM of the test's own and a
 * fake back end on the netdev seam: TX frames reach the back end without
 * the virtio-net header (with it for a back end that takes one), RX frames
 * land in the guest's buffers behind a correct header with and without
 * mergeable buffers, the receive filter and the control queue's acks,
 * flow control both ways, link changes, malformed chains that break the
 * device instead of the host, and QEMU's names and messages.  Then
 * -netdev socket over a socketpair and over TCP and UDP on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "hw/device.h"
#include "hw/virtio/virtio-net.h"
#include "hw/virtio/virtio.h"
#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/memory.h"
#include "tests/unit/net-fake.h"
#include "tests/unit/virtio-driver.h"

#define RAM_SIZE        (16ull << 20)
#define QUEUE_BASE      0x10000ull      /* queue i's rings at QUEUE_BASE + i * 0x4000 */
#define BUF_BASE        0x100000ull     /* buffers the driver hands over */
#define QSIZE           16

#define F(b) (1ull << (b))

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct tq queues[3];

static void tq_setup(struct virtio_device *vdev, unsigned i)
{
    tq_setup_at(&queues[i], vdev, i, QUEUE_BASE + i * VD_QUEUE_STRIDE, QSIZE);
}

/* ---- the fake back end (tests/unit/net-fake.h): what the NIC sent ---- */

static struct net_fake peer;

static void peer_init(bool vnet)
{
    net_fake_init(&peer, &net_fake_backend_ops, "fake", "p0", NULL);
    peer.vnet = vnet;
}

/* A frame from the back end to the guest: net_send's result. */
static ssize_t peer_send(const uint8_t *frame, size_t len)
{
    struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

    return net_send(&peer.nc, &iov, 1, net_fake_sent);
}

static GByteArray *peer_frame(unsigned i)
{
    return net_fake_frame(&peer, i);
}

/* ---- the device ---- */

static struct dev_config cfg;

/* A NIC as a driver sets it up: features acked, queues live, DRIVER_OK.
 * legacy: a legacy driver (no VERSION_1). */
static struct virtio_device *net_start_full(const char *opts, uint64_t acked, bool legacy)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev;
    g_autofree char *all = g_strdup_printf("netdev=p0,mac=52:54:00:aa:bb:cc%s%s",
                                           opts ? "," : "", opts ? opts : "");

    cfg.type = device_type_find("virtio-net-device");
    g_assert_nonnull(cfg.type);
    cfg.props = kv_parse(all, NULL, &err);
    g_assert_no_error(err);
    vdev = virtio_net_create(&cfg, &err);
    g_assert_no_error(err);
    vdev->legacy = legacy;
    vd_driver_start(vdev, acked | (legacy ? 0 : F(VIRTIO_F_VERSION_1)), queues, QUEUE_BASE,
                    QSIZE);
    return vdev;
}

static struct virtio_device *net_start(const char *opts, uint64_t acked)
{
    return net_start_full(opts, acked, false);
}

static void net_stop(struct virtio_device *vdev)
{
    virtio_device_free(vdev);
    kv_free(cfg.props);
    cfg.props = NULL;
    net_fake_fini(&peer);
}

/* An Ethernet frame of len bytes to dst, payload bytes counting up from seed. */
static uint8_t *make_frame(const uint8_t *dst, size_t len, uint8_t seed)
{
    uint8_t *f = g_malloc(len);

    memcpy(f, dst, 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
    f[12] = 0x08;
    f[13] = 0x00;
    for (size_t i = 14; i < len; i++) {
        f[i] = seed + i;
    }
    return f;
}

static void put_bytes(uint64_t gpa, const void *p, size_t len)
{
    if (len) {
        memcpy(ram_hva(gpa, len), p, len);
    }
}

static bool bytes_at(uint64_t gpa, const void *p, size_t len)
{
    return !memcmp(ram_hva(gpa, len), p, len);
}

/* Posts n receive buffers of len bytes each at BUF_BASE + 0x10000 + i * 0x1000. */
static void post_rx(unsigned n, uint32_t len, bool kick)
{
    for (unsigned i = 0; i < n; i++) {
        struct buf b = { BUF_BASE + 0x10000 + i * 0x1000ull, len, true };

        memset(ram_hva(b.gpa, len), 0xee, len);
        tq_add_chain(&queues[VIRTIO_NET_RXQ], &b, 1, kick && i + 1 == n);
    }
}

/* A control command; returns the ack the device wrote. */
static uint8_t ctrl(uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
    struct tq *q = &queues[VIRTIO_NET_CTRLQ];
    uint64_t g = BUF_BASE + 0x8000;
    struct buf b[3] = {
        { g, 2, false }, { g + 0x100, len, false }, { g + 0x800, 1, true },
    };
    uint8_t head[2] = { cls, cmd };

    put_bytes(g, head, 2);
    put_bytes(g + 0x100, data, len);
    put8(g + 0x800, 0xaa);
    if (len) {
        tq_add_chain(q, b, 3, true);
    } else {
        b[1] = b[2];
        tq_add_chain(q, b, 2, true);
    }
    g_assert_cmpuint(tq_used_idx(q), ==, q->avail_idx);
    g_assert_cmpuint(tq_used_len(q, q->avail_idx - 1), ==, 1);
    return *(uint8_t *)ram_hva(g + 0x800, 1);
}

/* A command the device must ack with VIRTIO_NET_OK. */
static void ctrl_ok(uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
    g_assert_cmpuint(ctrl(cls, cmd, data, len), ==, VIRTIO_NET_OK);
}

/* ---- TX ---- */

static void test_tx_strips_header(void)
{
    struct tq *q = &queues[VIRTIO_NET_TXQ];
    g_autofree uint8_t *f1 = make_frame(bcast, 60, 1);
    g_autofree uint8_t *f2 = make_frame(bcast, 1514, 2);
    struct virtio_device *vdev;
    uint8_t hdr[12] = { 0 };

    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_MRG_RXBUF));
    /* A socket takes no header: no offloads are offered. */
    g_assert_false(vdev->host_features & F(VIRTIO_NET_F_CSUM));
    g_assert_false(vdev->host_features & F(VIRTIO_NET_F_GUEST_CSUM));
    g_assert_false(vdev->host_features & F(VIRTIO_NET_F_HOST_TSO4));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_MAC));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_STATUS));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_CTRL_VQ));
    /* As QEMU, the offloads control is offered anyway (no offload to switch). */
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));

    /* Header and frame in separate buffers, then together, then the header
     * split across two buffers. */
    put_bytes(BUF_BASE, hdr, 12);
    put_bytes(BUF_BASE + 0x100, f1, 60);
    tq_add_chain(q, (struct buf[]){ { BUF_BASE, 12, false }, { BUF_BASE + 0x100, 60, false } }, 2,
           true);
    put_bytes(BUF_BASE + 0x1000, hdr, 12);
    put_bytes(BUF_BASE + 0x100c, f2, 1514);
    tq_add_chain(q, (struct buf[]){ { BUF_BASE + 0x1000, 12 + 1514, false } }, 1, true);
    put_bytes(BUF_BASE + 0x3000, hdr, 12);
    put_bytes(BUF_BASE + 0x300c, f1, 60);
    tq_add_chain(q, (struct buf[]){ { BUF_BASE + 0x3000, 5, false },
                              { BUF_BASE + 0x3005, 7 + 60, false } }, 2, true);

    g_assert_cmpuint(peer.frames->len, ==, 3);
    g_assert_cmpuint(peer_frame(0)->len, ==, 60);
    g_assert_cmpmem(peer_frame(0)->data, 60, f1, 60);
    g_assert_cmpmem(peer_frame(1)->data, peer_frame(1)->len, f2, 1514);
    g_assert_cmpmem(peer_frame(2)->data, peer_frame(2)->len, f1, 60);
    g_assert_cmpuint(tq_used_idx(q), ==, 3);
    g_assert_cmpuint(tq_used_id(q, 0), ==, 0);
    g_assert_cmpuint(tq_used_len(q, 0), ==, 0);
    g_assert_cmpuint(notifies, >=, 1);
    net_stop(vdev);
}

/* A back end with a header (tap) gets it, offers the offloads, and hears
 * the header length and the guest's offloads. */
static void test_tx_vnet_peer(void)
{
    struct tq *q = &queues[VIRTIO_NET_TXQ];
    g_autofree uint8_t *f = make_frame(bcast, 100, 3);
    struct virtio_device *vdev;
    uint8_t hdr[12] = { VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0, 0 };
    uint8_t off[8] = { 0 };

    peer_init(true);
    vdev = net_start(NULL, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
                           F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_CTRL_VQ) |
                           F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_CSUM));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_HOST_TSO6));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_GUEST_CSUM));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
    g_assert_cmpuint(peer.hdr_len, ==, 12);
    g_assert_true(peer.offloads.csum);
    g_assert_true(peer.offloads.tso4);
    g_assert_false(peer.offloads.tso6);

    put_bytes(BUF_BASE, hdr, 12);
    put_bytes(BUF_BASE + 12, f, 100);
    tq_add_chain(q, (struct buf[]){ { BUF_BASE, 112, false } }, 1, true);
    g_assert_cmpuint(peer.frames->len, ==, 1);
    g_assert_cmpmem(peer_frame(0)->data, 12, hdr, 12);
    g_assert_cmpmem(peer_frame(0)->data + 12, 100, f, 100);

    /* The guest turns its offloads off, then asks for one it did not ack. */
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
                          off, 8), ==, VIRTIO_NET_OK);
    g_assert_false(peer.offloads.csum);
    off[1] = 1u << (VIRTIO_NET_F_GUEST_TSO6 - 8);
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
                          off, 8), ==, VIRTIO_NET_ERR);

    /* RX: the back end's header goes to the guest, num_buffers ours. */
    {
        uint8_t in[12 + 60];
        g_autofree uint8_t *rf = make_frame(our_mac, 60, 4);

        memcpy(in, hdr, 12);
        memcpy(in + 12, rf, 60);
        post_rx(1, 2048, true);
        g_assert_cmpint(peer_send(in, sizeof(in)), ==, sizeof(in));
        g_assert_true(bytes_at(BUF_BASE + 0x10000, hdr, 10));
        g_assert_cmpuint(get16(BUF_BASE + 0x10000 + 10), ==, 1);
        g_assert_true(bytes_at(BUF_BASE + 0x10000 + 12, rf, 60));
    }
    net_stop(vdev);
}

/* No netdev: frames are dropped, the queue keeps moving. */
static void test_tx_no_peer(void)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev;
    struct tq *q = &queues[VIRTIO_NET_TXQ];

    cfg.type = device_type_find("virtio-net-pci");
    cfg.props = NULL;
    vdev = virtio_net_create(&cfg, &err);
    g_assert_no_error(err);
    vdev->transport = &fake_transport;
    virtio_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    virtio_set_guest_features(vdev, F(VIRTIO_F_VERSION_1));
    virtio_set_status(vdev, 11);
    tq_setup(vdev, VIRTIO_NET_TXQ);
    virtio_set_status(vdev, 15);
    g_assert_null(virtio_net_client(vdev)->peer);
    tq_add_chain(q, (struct buf[]){ { BUF_BASE, 72, false } }, 1, true);
    g_assert_cmpuint(tq_used_idx(q), ==, 1);
    g_assert_false(vdev->broken);
    virtio_device_free(vdev);
}

/* The back end cannot take a frame: TX waits for it, keeps the order, and
 * carries on when it goes through. */
static void test_tx_flow_control(void)
{
    struct tq *q = &queues[VIRTIO_NET_TXQ];
    struct virtio_device *vdev;

    peer_init(false);
    vdev = net_start(NULL, 0);
    peer.refuse = true;
    for (unsigned i = 0; i < 3; i++) {
        g_autofree uint8_t *f = make_frame(bcast, 60, i);

        put_bytes(BUF_BASE + i * 0x100, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
        put_bytes(BUF_BASE + i * 0x100 + 12, f, 60);
        tq_add_chain(q, (struct buf[]){ { BUF_BASE + i * 0x100, 72, false } }, 1, true);
    }
    /* The first was taken into the back end's queue; the rest wait. */
    g_assert_cmpuint(net_queue_len(&peer.nc), ==, 1);
    g_assert_cmpuint(peer.frames->len, ==, 0);
    g_assert_cmpuint(tq_used_idx(q), ==, 1);
    peer.refuse = false;
    g_assert_true(net_queue_flush(&peer.nc));
    g_assert_cmpuint(peer.frames->len, ==, 3);
    g_assert_cmpuint(tq_used_idx(q), ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpuint(peer_frame(i)->data[14], ==, (uint8_t)(i + 14));
    }
    net_stop(vdev);
}

/* More chains than one run sends: the rest go from the main loop. */
static void test_tx_burst_deferred(void)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev;
    unsigned sent = 0;

    peer_init(false);
    cfg.type = device_type_find("virtio-net-device");
    cfg.props = kv_parse("netdev=p0", NULL, &err);
    vdev = virtio_net_create(&cfg, &err);
    g_assert_no_error(err);
    vdev->transport = &fake_transport;
    virtio_set_status(vdev, 3);
    virtio_set_guest_features(vdev, F(VIRTIO_F_VERSION_1));
    virtio_set_status(vdev, 11);
    /* A full 256-entry ring: one run sends the bound (256), the device
     * stops asking for kicks, and what the guest adds meanwhile goes from
     * the main loop. */
    vdev->vqs[VIRTIO_NET_TXQ].num = 256;
    vdev->vqs[VIRTIO_NET_TXQ].desc = 0x200000;
    vdev->vqs[VIRTIO_NET_TXQ].avail = 0x210000;
    vdev->vqs[VIRTIO_NET_TXQ].used = 0x220000;
    memset(ram_hva(0x200000, 0x30000), 0, 0x30000);
    g_assert_true(virtqueue_enable(&vdev->vqs[VIRTIO_NET_TXQ]));
    virtio_set_status(vdev, 15);
    for (unsigned i = 0; i < 256; i++) {
        put64(0x200000 + 16 * i, BUF_BASE);
        put32(0x200000 + 16 * i + 8, 72);
        put16(0x200000 + 16 * i + 12, 0);
        put16(0x210000 + 4 + 2 * i, i);
    }
    put16(0x210000 + 2, 256);
    virtio_queue_kick(vdev, VIRTIO_NET_TXQ);
    g_assert_cmpuint(peer.frames->len, ==, 256);
    g_assert_cmpuint(get16(0x220000 + 2), ==, 256);
    g_assert_cmpuint(get16(0x220000) & VRING_USED_F_NO_NOTIFY, ==, VRING_USED_F_NO_NOTIFY);
    for (unsigned i = 256; i < 300; i++) {
        put16(0x210000 + 4 + 2 * (i % 256), i % 256);
    }
    put16(0x210000 + 2, 300);
    for (unsigned i = 0; i < 100 && peer.frames->len < 300; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    sent = peer.frames->len;
    g_assert_cmpuint(sent, ==, 300);
    g_assert_cmpuint(get16(0x220000 + 2), ==, 300);
    net_stop(vdev);
}

/* The header and frame cut at random places over up to 8 buffers: the
 * back end always gets the frame alone and whole. */
static void test_tx_random_layouts(void)
{
    struct tq *q = &queues[VIRTIO_NET_TXQ];
    GRand *r = g_rand_new_with_seed(99);
    struct virtio_device *vdev;

    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_MRG_RXBUF));
    for (unsigned iter = 0; iter < 300; iter++) {
        unsigned len = g_rand_int_range(r, 14, 1515), total = 12 + len, n = 0, off = 0;
        g_autofree uint8_t *f = make_frame(bcast, len, iter);
        struct buf b[8];

        memset(ram_hva(BUF_BASE, 12), 0, 12);
        put_bytes(BUF_BASE + 12, f, len);
        while (off < total) {
            unsigned piece = total - off;

            if (n < 7) {
                piece = g_rand_int_range(r, 1, piece + 1);
            }

            b[n++] = (struct buf){ BUF_BASE + off, piece, false };
            off += piece;
        }
        tq_add_chain(q, b, n, true);
        g_assert_false(vdev->broken);
        g_assert_cmpuint(peer.frames->len, ==, iter + 1);
        g_assert_cmpmem(peer_frame(iter)->data, peer_frame(iter)->len, f, len);
    }
    g_rand_free(r);
    net_stop(vdev);
}

/* ---- RX ---- */

static void test_rx_mergeable(void)
{
    struct tq *q = &queues[VIRTIO_NET_RXQ];
    g_autofree uint8_t *f = make_frame(our_mac, 250, 5);
    struct virtio_device *vdev;
    uint64_t b0 = BUF_BASE + 0x10000;

    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_MRG_RXBUF));
    post_rx(4, 100, true);
    g_assert_cmpint(peer_send(f, 250), ==, 250);
    /* 12-byte header then 250 bytes over three 100-byte buffers. */
    g_assert_cmpuint(tq_used_idx(q), ==, 3);
    g_assert_cmpuint(tq_used_len(q, 0), ==, 100);
    g_assert_cmpuint(tq_used_len(q, 1), ==, 100);
    g_assert_cmpuint(tq_used_len(q, 2), ==, 62);
    g_assert_cmpuint(*(uint8_t *)ram_hva(b0, 1), ==, 0);   /* flags */
    g_assert_cmpuint(get16(b0 + 10), ==, 3);           /* num_buffers */
    g_assert_true(bytes_at(b0 + 12, f, 88));
    g_assert_true(bytes_at(b0 + 0x1000, f + 88, 100));
    g_assert_true(bytes_at(b0 + 0x2000, f + 188, 62));
    g_assert_cmpuint(notifies, >=, 1);
    net_stop(vdev);
}

static void test_rx_not_mergeable(void)
{
    struct tq *q = &queues[VIRTIO_NET_RXQ];
    g_autofree uint8_t *f = make_frame(our_mac, 60, 6);
    g_autofree uint8_t *big = make_frame(our_mac, 1514, 7);
    struct virtio_device *vdev;
    uint64_t b0 = BUF_BASE + 0x10000;

    /* 1.x without MRG_RXBUF: a 12-byte header with num_buffers 1. */
    peer_init(false);
    vdev = net_start("mrg_rxbuf=off", 0);
    g_assert_false(vdev->host_features & F(VIRTIO_NET_F_MRG_RXBUF));
    post_rx(1, 1526, true);
    g_assert_cmpint(peer_send(f, 60), ==, 60);
    g_assert_cmpuint(tq_used_idx(q), ==, 1);
    g_assert_cmpuint(tq_used_len(q, 0), ==, 72);
    g_assert_cmpuint(get16(b0 + 10), ==, 1);
    g_assert_true(bytes_at(b0 + 12, f, 60));
    /* A frame larger than a chain is dropped, the chain kept. */
    post_rx(1, 200, true);
    g_assert_cmpint(peer_send(big, 1514), ==, 1514);
    g_assert_cmpuint(tq_used_idx(q), ==, 1);
    net_stop(vdev);

    /* A legacy driver without MRG_RXBUF: the 10-byte header. */
    peer_init(false);
    vdev = net_start_full(NULL, 0, true);
    post_rx(1, 1526, true);
    g_assert_cmpint(peer_send(f, 60), ==, 60);
    g_assert_cmpuint(tq_used_len(q, 0), ==, 70);
    g_assert_true(bytes_at(b0 + 10, f, 60));
    net_stop(vdev);
}

/* No buffers: the frame waits in the NIC's queue and the back end's callback
 * runs once the guest posts buffers. */
static void test_rx_waits_for_buffers(void)
{
    struct tq *q = &queues[VIRTIO_NET_RXQ];
    g_autofree uint8_t *f = make_frame(our_mac, 300, 8);
    struct virtio_device *vdev;

    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_MRG_RXBUF));
    g_assert_cmpint(peer_send(f, 300), ==, 0);
    post_rx(1, 100, true);   /* not enough yet: 312 bytes needed */
    g_assert_cmpuint(tq_used_idx(q), ==, 0);
    g_assert_cmpuint(net_queue_len(virtio_net_client(vdev)), ==, 1);
    /* The device asked for kicks (event idx off: no NO_NOTIFY flag). */
    g_assert_cmpuint(get16(q->used) & VRING_USED_F_NO_NOTIFY, ==, 0);
    post_rx(3, 100, true);
    g_assert_cmpuint(tq_used_idx(q), ==, 4);
    g_assert_cmpuint(peer.sent_done, ==, 1);
    g_assert_cmpuint(net_queue_len(virtio_net_client(vdev)), ==, 0);
    net_stop(vdev);
}

/* Frames before DRIVER_OK wait for it. */
static void test_rx_before_driver_ok(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *f = make_frame(our_mac, 60, 9);
    struct virtio_device *vdev;

    peer_init(false);
    cfg.type = device_type_find("virtio-net-device");
    cfg.props = kv_parse("netdev=p0,mac=52:54:00:aa:bb:cc", NULL, &err);
    vdev = virtio_net_create(&cfg, &err);
    g_assert_no_error(err);
    vdev->transport = &fake_transport;
    g_assert_cmpint(peer_send(f, 60), ==, 0);
    virtio_set_status(vdev, 3);
    virtio_set_guest_features(vdev, F(VIRTIO_F_VERSION_1));
    virtio_set_status(vdev, 11);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        tq_setup(vdev, i);
    }
    post_rx(1, 2048, false);
    virtio_set_status(vdev, 15);
    g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_NET_RXQ]), ==, 1);
    g_assert_cmpuint(peer.sent_done, ==, 1);
    net_stop(vdev);
}

/* Random buffer and frame sizes: what the guest reassembles from the used
 * chains (header, num_buffers, lengths) is always the frame sent. */
static void test_rx_random_layouts(void)
{
    struct tq *q = &queues[VIRTIO_NET_RXQ];
    GRand *r = g_rand_new_with_seed(1234);
    struct virtio_device *vdev;
    uint16_t used = 0;

    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_MRG_RXBUF));
    for (unsigned iter = 0; iter < 300; iter++) {
        unsigned len = g_rand_int_range(r, 14, 1200), posted = 0, nb;
        g_autofree uint8_t *f = make_frame(our_mac, len, iter);
        g_autoptr(GByteArray) got = g_byte_array_new();
        uint64_t first;
        ssize_t ret;

        /* Buffers of 100..300 bytes until the frame fits (at most 13 of
         * them), each in its own 0x1000 slot of the posting area. */
        ret = peer_send(f, len);
        while (ret == 0 || (ret > 0 && tq_used_idx(q) == used)) {
            uint16_t slot = q->avail_idx % QSIZE;
            struct buf b = { BUF_BASE + 0x10000 + slot * 0x1000ull,
                             g_rand_int_range(r, 100, 301), true };

            g_assert_cmpuint(posted, <, QSIZE);
            tq_add_chain(q, &b, 1, true);
            posted++;
            ret = 1;
        }
        g_assert_false(vdev->broken);
        first = BUF_BASE + 0x10000 + (tq_used_id(q, used) % QSIZE) * 0x1000ull;
        nb = get16(first + 10);
        g_assert_cmpuint(nb, ==, (uint16_t)(tq_used_idx(q) - used));
        for (unsigned i = 0; i < nb; i++) {
            uint16_t id = tq_used_id(q, used + i);
            uint32_t l = tq_used_len(q, used + i), skip = i ? 0 : 12;

            g_byte_array_append(got, ram_hva(BUF_BASE + 0x10000 + id * 0x1000ull + skip,
                                             l - skip), l - skip);
        }
        g_assert_cmpmem(got->data, got->len, f, len);
        used = tq_used_idx(q);
    }
    g_rand_free(r);
    net_stop(vdev);
}

/* ---- filter and control queue ---- */

static bool delivered(const uint8_t *dst, uint16_t vlan)
{
    struct tq *q = &queues[VIRTIO_NET_RXQ];
    uint16_t before = tq_used_idx(q);
    g_autofree uint8_t *f = make_frame(dst, 64, 10);

    if (vlan) {
        f[12] = 0x81;
        f[13] = 0x00;
        f[14] = vlan >> 8;
        f[15] = vlan;
    }
    post_rx(1, 2048, false);
    g_assert_cmpint(peer_send(f, 64), ==, 64);
    if (tq_used_idx(q) != before) {
        return true;
    }
    /* Not taken: the buffer goes back to the driver's side unused. */
    queues[VIRTIO_NET_RXQ].avail_idx--;
    queues[VIRTIO_NET_RXQ].next_desc = (queues[VIRTIO_NET_RXQ].next_desc + QSIZE - 1) % QSIZE;
    put16(q->avail + 2, q->avail_idx);
    return false;
}

static void test_rx_filter(void)
{
    const uint8_t other[6] = { 0x52, 0x54, 0x00, 0x01, 0x02, 0x03 };
    const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
    const uint8_t mcast2[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
    uint8_t table[4 + 4 + 6 + 4 + 6];
    const uint8_t on = 1, off = 0;
    struct virtio_device *vdev;
    uint8_t vid[2] = { 5, 0 };

    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
                           F(VIRTIO_NET_F_CTRL_VLAN) | F(VIRTIO_NET_F_CTRL_RX_EXTRA));
    /* Promiscuous until the driver sets a filter, as QEMU's reset. */
    g_assert_true(delivered(other, 0));
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1);
    g_assert_false(delivered(other, 0));
    g_assert_true(delivered(our_mac, 0));
    g_assert_true(delivered(bcast, 0));
    g_assert_false(delivered(mcast, 0));

    /* The MAC table: one unicast and one multicast address. */
    table[0] = 1, table[1] = table[2] = table[3] = 0;
    memcpy(table + 4, other, 6);
    table[10] = 1, table[11] = table[12] = table[13] = 0;
    memcpy(table + 14, mcast, 6);
    ctrl_ok(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 20);
    g_assert_true(delivered(other, 0));
    g_assert_true(delivered(mcast, 0));
    g_assert_false(delivered(mcast2, 0));
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1);
    g_assert_true(delivered(mcast2, 0));
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, &on, 1);
    g_assert_false(delivered(mcast2, 0));
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1);
    g_assert_false(delivered(bcast, 0));
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI, &on, 1);
    g_assert_false(delivered(our_mac, 0));
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI, &off, 1);

    /* VLAN filtering: a tagged frame passes once its VLAN is added. */
    g_assert_false(delivered(our_mac, 5));
    ctrl_ok(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, vid, 2);
    g_assert_true(delivered(our_mac, 5));
    ctrl_ok(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_DEL, vid, 2);
    g_assert_false(delivered(our_mac, 5));

    /* Promiscuous takes everything again. */
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1);
    g_assert_true(delivered(other, 7));
    net_stop(vdev);
}

static void test_ctrl_acks(void)
{
    const uint8_t newmac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    uint8_t bad_table[8] = { 200, 0, 0, 0 };    /* 200 entries, no data */
    uint8_t over[4 + 65 * 6 + 4];
    uint8_t vid[2] = { 0x00, 0x10 };           /* 4096: out of range */
    struct virtio_device *vdev;

    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
                           F(VIRTIO_NET_F_CTRL_MAC_ADDR) | F(VIRTIO_NET_F_CTRL_VLAN) |
                           F(VIRTIO_NET_F_GUEST_ANNOUNCE));
    /* MAC_ADDR_SET: the config shows it and the filter follows it. */
    ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, "\0", 1);
    ctrl_ok(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac, 6);
    g_assert_cmpmem(vdev->config, 6, newmac, 6);
    g_assert_true(delivered(newmac, 0));
    g_assert_false(delivered(our_mac, 0));
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac, 5), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, bad_table, 8),
                     ==, VIRTIO_NET_ERR);
    /* 65 unicast entries overflow to "all unicast", as QEMU. */
    memset(over, 0, sizeof(over));
    over[0] = 65;
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, over,
                          sizeof(over)), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, vid, 2), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_RX, 9, "\1", 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl(42, 0, "\1", 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_MQ, 0, "\1\0", 2), ==, VIRTIO_NET_ERR);
    /* Announce ack: an error unless the device asked for an announcement. */
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0),
                     ==, VIRTIO_NET_ERR);
    g_assert_false(vdev->broken);
    /* Offloads control without the feature. */
    g_assert_cmpuint(ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, "\0\0\0\0\0\0\0\0", 8), ==,
                     VIRTIO_NET_ERR);
    /* A reset brings the configured MAC back. */
    virtio_set_status(vdev, 0);
    g_assert_cmpmem(vdev->config, 6, our_mac, 6);
    net_stop(vdev);
}

/* ---- config, link, legacy MAC ---- */

static void test_config_and_link(void)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev;
    unsigned before;

    peer_init(false);
    vdev = net_start("host_mtu=1400,speed=1000,duplex=full", F(VIRTIO_NET_F_STATUS));
    g_assert_cmpmem(vdev->config, 6, our_mac, 6);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_STATUS, 2), ==,
                     VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_MAX_VQ_PAIRS, 2), ==, 1);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_MTU, 2), ==, 1400);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_SPEED, 4), ==, 1000);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_DUPLEX, 1), ==, 1);
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_MTU));
    g_assert_true(vdev->host_features & F(VIRTIO_NET_F_SPEED_DUPLEX));
    g_assert_false(vdev->host_features & F(VIRTIO_NET_F_MQ));

    /* set_link on the netdev: the NIC's status follows, config interrupt. */
    before = notifies;
    g_assert_cmpint(net_set_link("p0", false, &err), ==, 0);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_STATUS, 2), ==, 0);
    g_assert_cmpuint(notifies, ==, before + 1);
    g_assert_true(vdev->isr & VIRTIO_ISR_CONFIG);
    {
        g_autofree uint8_t *f = make_frame(our_mac, 60, 1);

        post_rx(1, 2048, false);
        g_assert_cmpint(peer_send(f, 60), ==, 60);       /* dropped: link down */
        g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_NET_RXQ]), ==, 0);
    }
    g_assert_cmpint(net_set_link("virtio-net-device.0", true, &err), ==, 0);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_STATUS, 2), ==,
                     VIRTIO_NET_S_LINK_UP);
    g_assert_cmpint(net_set_link("nope", true, &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Device 'nope' not found");
    /* The guest cannot write the status. */
    virtio_config_write(vdev, VIRTIO_NET_CFG_STATUS, 0, 2);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_NET_CFG_STATUS, 2), ==,
                     VIRTIO_NET_S_LINK_UP);
    net_stop(vdev);

    /* A legacy driver without CTRL_MAC_ADDR writes the MAC in config space. */
    peer_init(false);
    vdev = net_start_full(NULL, 0, true);
    virtio_config_write(vdev, 0, 0x44332202, 4);
    virtio_config_write(vdev, 4, 0x6655, 2);
    g_assert_cmpuint(virtio_config_read(vdev, 0, 4), ==, 0x44332202);
    {
        const uint8_t m[6] = { 0x02, 0x22, 0x33, 0x44, 0x55, 0x66 };
        g_autofree uint8_t *f = make_frame(m, 60, 1);

        ctrl_ok(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, "\0", 1);
        post_rx(1, 2048, true);
        g_assert_cmpint(peer_send(f, 60), ==, 60);
        g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_NET_RXQ]), ==, 1);
    }
    net_stop(vdev);
}

/* ---- malformed chains ---- */

static void test_malformed(void)
{
    struct virtio_device *vdev;
    g_autofree uint8_t *f = make_frame(our_mac, 60, 1);

    /* A TX chain shorter than the header. */
    peer_init(false);
    vdev = net_start(NULL, 0);
    tq_add_chain(&queues[VIRTIO_NET_TXQ], (struct buf[]){ { BUF_BASE, 4, false } }, 1, true);
    g_assert_true(vdev->broken);
    g_assert_cmpuint(peer.frames->len, ==, 0);
    net_stop(vdev);

    /* A TX chain with only a device-writable buffer. */
    peer_init(false);
    vdev = net_start(NULL, 0);
    tq_add_chain(&queues[VIRTIO_NET_TXQ], (struct buf[]){ { BUF_BASE, 100, true } }, 1, true);
    g_assert_true(vdev->broken);
    net_stop(vdev);

    /* A TX buffer outside guest RAM. */
    peer_init(false);
    vdev = net_start(NULL, 0);
    tq_add_chain(&queues[VIRTIO_NET_TXQ], (struct buf[]){ { RAM_SIZE - 8, 100, false } }, 1, true);
    g_assert_true(vdev->broken);
    net_stop(vdev);

    /* An RX chain with nothing the device may write. */
    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_MRG_RXBUF));
    tq_add_chain(&queues[VIRTIO_NET_RXQ], (struct buf[]){ { BUF_BASE, 100, false } }, 1, true);
    g_assert_cmpint(peer_send(f, 60), ==, 60);
    g_assert_true(vdev->broken);
    net_stop(vdev);

    /* An RX buffer too small for the header. */
    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_MRG_RXBUF));
    post_rx(1, 8, true);
    g_assert_cmpint(peer_send(f, 60), ==, 60);
    g_assert_true(vdev->broken);
    /* A broken device takes nothing more and does not crash on kicks. */
    post_rx(1, 2048, true);
    g_assert_cmpint(peer_send(f, 60), ==, 0);
    net_stop(vdev);

    /* A control command without the ack buffer, or without its header. */
    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_CTRL_VQ));
    tq_add_chain(&queues[VIRTIO_NET_CTRLQ], (struct buf[]){ { BUF_BASE, 3, false } }, 1, true);
    g_assert_true(vdev->broken);
    net_stop(vdev);
    peer_init(false);
    vdev = net_start(NULL, F(VIRTIO_NET_F_CTRL_VQ));
    tq_add_chain(&queues[VIRTIO_NET_CTRLQ], (struct buf[]){ { BUF_BASE, 1, false },
                                                      { BUF_BASE + 8, 1, true } }, 2, true);
    g_assert_true(vdev->broken);
    net_stop(vdev);
}

/* ---- names, MACs, messages ---- */

static struct virtio_device *create(const char *type, const char *opts, GError **errp)
{
    struct dev_config c = { .type = device_type_find(type) };
    struct virtio_device *vdev;
    GError *err = NULL;

    c.props = opts ? kv_parse(opts, NULL, &err) : NULL;
    g_assert_no_error(err);
    vdev = virtio_net_create(&c, errp);
    kv_free(c.props);
    return vdev;
}

static void test_names_and_errors(void)
{
    struct virtio_device *a, *b, *c;
    GError *err = NULL;

    peer_init(false);
    a = create("virtio-net-pci", NULL, &err);
    g_assert_no_error(err);
    b = create("virtio-net-pci", "netdev=p0", &err);
    g_assert_no_error(err);
    /* QEMU's defaults: 52:54:00:12:34:56, then :57; names model.N. */
    g_assert_cmpmem(a->config, 6, "\x52\x54\x00\x12\x34\x56", 6);
    g_assert_cmpmem(b->config, 6, "\x52\x54\x00\x12\x34\x57", 6);
    g_assert_cmpstr(virtio_net_client(a)->name, ==, "virtio-net-pci.0");
    g_assert_cmpstr(virtio_net_client(b)->name, ==, "virtio-net-pci.1");
    g_assert_true(virtio_net_client(b)->peer == &peer.nc);

    c = create("virtio-net-pci", "netdev=p0", &err);
    g_assert_null(c);
    g_assert_cmpstr(err->message, ==,
                    "Property 'virtio-net-device.netdev' can't take value 'p0', it's in use");
    g_clear_error(&err);
    c = create("virtio-net-device", "netdev=zz", &err);
    g_assert_null(c);
    g_assert_cmpstr(err->message, ==, "Property 'virtio-net-device.netdev' can't find value "
                    "'zz'");
    g_clear_error(&err);
    c = create("virtio-net-pci", "mac=52:54:00:00:00:zz", &err);
    g_assert_null(c);
    g_assert_cmpstr(err->message, ==, "Property 'virtio-net-device.mac' doesn't take value "
                    "'52:54:00:00:00:zz'");
    g_clear_error(&err);
    c = create("virtio-net-pci", "rx_queue_size=100", &err);
    g_assert_null(c);
    g_assert_cmpstr(err->message, ==,
                    "Invalid rx_queue_size (= 100), must be a power of 2 between 256 and 1024.");
    g_clear_error(&err);
    c = create("virtio-net-pci", "duplex=quarter", &err);
    g_assert_null(c);
    g_assert_cmpstr(err->message, ==, "'duplex' must be 'half' or 'full'");
    g_clear_error(&err);
    /* id= names the NIC. */
    {
        struct dev_config dc = { .type = device_type_find("virtio-net-pci"), .id = "nic9" };

        c = virtio_net_create(&dc, &err);
        g_assert_no_error(err);
        g_assert_cmpstr(virtio_net_client(c)->name, ==, "nic9");
        /* Its default MAC skips the ones in use. */
        g_assert_cmpmem(c->config, 6, "\x52\x54\x00\x12\x34\x58", 6);
        virtio_device_free(c);
    }
    virtio_device_free(b);
    g_assert_null(peer.nc.peer);
    virtio_device_free(a);
    net_fake_fini(&peer);
}

/* ---- -netdev socket ---- */

/* A NIC of the test's own on the socket back end. */
static struct net_fake nic;

static ssize_t nic_send(const void *p, size_t len)
{
    struct iovec iov[2] = {
        { .iov_base = (void *)p, .iov_len = 7 },
        { .iov_base = (uint8_t *)p + 7, .iov_len = len - 7 },
    };

    return net_send(&nic.nc, iov, 2, NULL);
}

static int netdev_add(const char *opts, GError **errp)
{
    return net_fake_netdev_new(NULL, net_socket_init, opts, errp);
}

static void write_all(int fd, const void *p, size_t len)
{
    g_assert_cmpint(write(fd, p, len), ==, (ssize_t)len);
}

/* Reads one length-prefixed frame from a stream. */
static GByteArray *read_frame(int fd)
{
    GByteArray *f = g_byte_array_new();
    uint8_t be[4];
    uint32_t len, got = 0;

    g_assert_cmpint(recv(fd, be, 4, MSG_WAITALL), ==, 4);
    len = (uint32_t)be[0] << 24 | be[1] << 16 | be[2] << 8 | be[3];
    g_byte_array_set_size(f, len);
    while (got < len) {
        ssize_t n = recv(fd, f->data + got, len - got, 0);

        g_assert_cmpint(n, >, 0);
        got += n;
    }
    return f;
}

static void test_socket_stream_fd(void)
{
    g_autofree uint8_t *f1 = make_frame(bcast, 60, 1);
    g_autofree uint8_t *f2 = make_frame(our_mac, 1514, 2);
    g_autoptr(GError) err = NULL;
    g_autofree char *opts = NULL;
    uint8_t wire[4 + 60 + 4 + 1514];
    g_autoptr(GByteArray) got = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    opts = g_strdup_printf("socket,id=s0,fd=%d", sv[0]);
    g_assert_cmpint(netdev_add(opts, &err), ==, 0);
    g_assert_no_error(err);
    net_fake_nic_attach(&nic, "s0");

    /* Host to guest: two frames in one write, then one split byte by byte. */
    wire[0] = 0; wire[1] = 0; wire[2] = 0; wire[3] = 60;
    memcpy(wire + 4, f1, 60);
    wire[64] = 0; wire[65] = 0; wire[66] = 1514 >> 8; wire[67] = 1514 & 0xff;
    memcpy(wire + 68, f2, 1514);
    write_all(sv[1], wire, sizeof(wire));
    NET_FAKE_LOOP_UNTIL(nic.frames->len == 2);
    g_assert_cmpmem(((GByteArray *)nic.frames->pdata[0])->data, 60, f1, 60);
    g_assert_cmpmem(((GByteArray *)nic.frames->pdata[1])->data,
                    ((GByteArray *)nic.frames->pdata[1])->len, f2, 1514);
    for (unsigned i = 0; i < 64; i++) {
        write_all(sv[1], wire + i, 1);
        g_main_context_iteration(NULL, FALSE);
    }
    NET_FAKE_LOOP_UNTIL(nic.frames->len == 3);

    /* The NIC cannot take frames: reading stops, then resumes. */
    nic.refuse = true;
    write_all(sv[1], wire, 64);
    write_all(sv[1], wire, 64);
    NET_FAKE_LOOP_UNTIL(net_queue_len(&nic.nc) >= 1);
    nic.refuse = false;
    net_queue_flush(&nic.nc);
    NET_FAKE_LOOP_UNTIL(nic.frames->len == 5);

    /* Guest to host: the length word, then the frame. */
    g_assert_cmpint(nic_send(f2, 1514), ==, 1514);
    got = read_frame(sv[1]);
    g_assert_cmpmem(got->data, got->len, f2, 1514);

    /* A length beyond any frame ends the connection: the link goes down. */
    write_all(sv[1], "\xff\xff\xff\xff", 4);
    NET_FAKE_LOOP_UNTIL(net_netdev_find("s0")->link_down);
    close(sv[1]);
    net_fake_fini(&nic);
    net_cleanup();
    g_assert_null(net_netdev_find("s0"));
}

static uint16_t free_port(int type)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, type, 0);

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static int tcp_connect(uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void test_socket_listen_connect(void)
{
    g_autofree uint8_t *f = make_frame(bcast, 100, 3);
    g_autoptr(GError) err = NULL;
    uint16_t port = free_port(SOCK_STREAM);
    g_autofree char *opts = g_strdup_printf("socket,id=l0,listen=127.0.0.1:%u", port);
    g_autofree char *copts = g_strdup_printf("socket,id=c0,connect=127.0.0.1:%u", port);
    g_autoptr(GByteArray) got = NULL;
    uint8_t wire[4 + 100];
    struct net_client *l0;
    int fd;

    g_assert_cmpint(netdev_add(opts, &err), ==, 0);
    g_assert_no_error(err);
    net_fake_nic_attach(&nic, "l0");
    l0 = net_netdev_find("l0");
    /* Down until a client connects: the guest's frames are lost. */
    g_assert_true(l0->link_down);
    g_assert_cmpint(nic_send(f, 100), ==, 100);
    fd = tcp_connect(port);
    NET_FAKE_LOOP_UNTIL(!l0->link_down);
    g_assert_true(g_str_has_prefix(l0->info_str, "socket: connection from 127.0.0.1:"));
    g_assert_cmpint(nic_send(f, 100), ==, 100);
    got = read_frame(fd);
    g_assert_cmpmem(got->data, got->len, f, 100);
    wire[0] = wire[1] = wire[2] = 0;
    wire[3] = 100;
    memcpy(wire + 4, f, 100);
    write_all(fd, wire, sizeof(wire));
    NET_FAKE_LOOP_UNTIL(nic.frames->len == 1);
    /* The client leaves; the next one is accepted. */
    close(fd);
    NET_FAKE_LOOP_UNTIL(l0->link_down);
    fd = tcp_connect(port);
    NET_FAKE_LOOP_UNTIL(!l0->link_down);
    close(fd);
    net_fake_fini(&nic);
    net_cleanup();

    /* connect= to a listener of the test's: queued while connecting, then
     * frames both ways. */
    {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), cfd;
        g_autoptr(GByteArray) got2 = NULL;

        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(listen(lfd, 1), ==, 0);
        g_assert_cmpint(netdev_add(copts, &err), ==, 0);
        g_assert_no_error(err);
        net_fake_nic_attach(&nic, "c0");
        g_assert_cmpint(nic_send(f, 100), >=, 0);
        cfd = accept(lfd, NULL, NULL);
        g_assert_cmpint(cfd, >=, 0);
        NET_FAKE_LOOP_UNTIL(net_queue_len(net_netdev_find("c0")) == 0);
        got2 = read_frame(cfd);
        g_assert_cmpmem(got2->data, got2->len, f, 100);
        write_all(cfd, wire, sizeof(wire));
        NET_FAKE_LOOP_UNTIL(nic.frames->len == 1);
        close(cfd);
        close(lfd);
        net_fake_fini(&nic);
        net_cleanup();
    }
}

static void test_socket_udp(void)
{
    g_autofree uint8_t *f = make_frame(bcast, 80, 4);
    g_autoptr(GError) err = NULL;
    uint16_t lport = free_port(SOCK_DGRAM), rport = free_port(SOCK_DGRAM);
    g_autofree char *opts = g_strdup_printf("socket,id=u0,udp=127.0.0.1:%u,"
                                            "localaddr=127.0.0.1:%u", rport, lport);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(rport),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(lport),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    uint8_t buf[2048];
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(netdev_add(opts, &err), ==, 0);
    g_assert_no_error(err);
    net_fake_nic_attach(&nic, "u0");
    g_assert_cmpint(nic_send(f, 80), ==, 80);
    g_assert_cmpint(recv(fd, buf, sizeof(buf), 0), ==, 80);
    g_assert_cmpmem(buf, 80, f, 80);
    g_assert_cmpint(sendto(fd, f, 80, 0, (struct sockaddr *)&to, sizeof(to)), ==, 80);
    NET_FAKE_LOOP_UNTIL(nic.frames->len == 1);
    g_assert_cmpmem(((GByteArray *)nic.frames->pdata[0])->data, 80, f, 80);
    close(fd);
    net_fake_fini(&nic);
    net_cleanup();
}

/* QEMU 7.2's messages for -netdev socket. */
static void test_socket_errors(void)
{
    static const struct { const char *opts, *msg; } cases[] = {
        { "socket,id=e", "exactly one of listen=, connect=, mcast= or udp= is required" },
        { "socket,id=e,listen=:1,connect=:2",
          "exactly one of listen=, connect=, mcast= or udp= is required" },
        { "socket,id=e,listen=:1,localaddr=1.2.3.4:5",
          "localaddr= is only valid with mcast= or udp=" },
        { "socket,id=e,udp=127.0.0.1:5", "localaddr= is mandatory with udp=" },
        { "socket,id=e,listen=foo", "host address 'foo' doesn't contain ':' separating host "
          "from port" },
        { "socket,id=e,listen=127.0.0.1:abc", "port number 'abc' is invalid" },
        { "socket,id=e,listen=1.2.3.999:1", "host address '1.2.3.999' is not a valid IPv4 "
          "address" },
        { "socket,id=e,listen=nosuchhost.invalid:1",
          "can't resolve host address 'nosuchhost.invalid'" },
        { "socket,id=e,mcast=127.0.0.1:5555", "specified mcastaddr 127.0.0.1 (0x7f000001) "
          "does not contain a multicast address" },
        { "socket,id=e,listen=192.0.2.1:5555", "can't bind ip=192.0.2.1 to socket: Cannot "
          "assign requested address" },
        { "socket,id=e,listen=:1,foo=2", "Invalid parameter 'foo'" },
        { "socket,id=e,fd=999", "e: Can't use file descriptor 999: Bad file descriptor" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;

        g_assert_cmpint(netdev_add(cases[i].opts, &err), <, 0);
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, cases[i].msg);
        g_error_free(err);
    }
    g_assert_null(net_client_next(NULL));
}

/* -netdev from the command line: kept at parse time, created at start-up. */
static void test_netdev_cli(void)
{
    g_autoptr(GError) err = NULL;
    uint16_t port = free_port(SOCK_STREAM);
    g_autofree char *ok = g_strdup_printf("socket,id=n1,listen=127.0.0.1:%u", port);

    net_cli_clear();
    g_assert_cmpint(net_cli_add(ok, &err), ==, 0);
    g_assert_cmpint(net_cli_add(ok, &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Duplicate ID 'n1' for netdev");
    g_clear_error(&err);
    g_assert_cmpint(net_cli_add("vde,id=u1", &err), <, 0);
    g_assert_true(g_error_matches(err, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED));
    g_clear_error(&err);
    g_assert_cmpint(net_cli_add("socket,id=9x,listen=:1", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Parameter 'id' expects an identifier");
    g_clear_error(&err);
    g_assert_cmpint(net_init_clients(&err), ==, 0);
    g_assert_no_error(err);
    g_assert_nonnull(net_netdev_find("n1"));
    net_cleanup();
    net_cli_clear();

    /* A creation error names the option as given. */
    g_assert_cmpint(net_cli_add("socket,id=n2,listen=192.0.2.1:9", &err), ==, 0);
    g_assert_cmpint(net_init_clients(&err), <, 0);
    g_assert_cmpstr(err->message, ==, "-netdev socket,id=n2,listen=192.0.2.1:9: can't bind "
                    "ip=192.0.2.1 to socket: Cannot assign requested address");
    net_cli_clear();
    net_cleanup();
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;

    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, &err), ==, 0);
    g_test_add_func("/virtio-net/tx/strips-header", test_tx_strips_header);
    g_test_add_func("/virtio-net/tx/vnet-peer", test_tx_vnet_peer);
    g_test_add_func("/virtio-net/tx/no-peer", test_tx_no_peer);
    g_test_add_func("/virtio-net/tx/flow-control", test_tx_flow_control);
    g_test_add_func("/virtio-net/tx/burst-deferred", test_tx_burst_deferred);
    g_test_add_func("/virtio-net/tx/random-layouts", test_tx_random_layouts);
    g_test_add_func("/virtio-net/rx/mergeable", test_rx_mergeable);
    g_test_add_func("/virtio-net/rx/not-mergeable", test_rx_not_mergeable);
    g_test_add_func("/virtio-net/rx/waits-for-buffers", test_rx_waits_for_buffers);
    g_test_add_func("/virtio-net/rx/before-driver-ok", test_rx_before_driver_ok);
    g_test_add_func("/virtio-net/rx/filter", test_rx_filter);
    g_test_add_func("/virtio-net/rx/random-layouts", test_rx_random_layouts);
    g_test_add_func("/virtio-net/ctrl/acks", test_ctrl_acks);
    g_test_add_func("/virtio-net/config-and-link", test_config_and_link);
    g_test_add_func("/virtio-net/malformed", test_malformed);
    g_test_add_func("/virtio-net/names-and-errors", test_names_and_errors);
    g_test_add_func("/net/socket/stream-fd", test_socket_stream_fd);
    g_test_add_func("/net/socket/listen-connect", test_socket_listen_connect);
    g_test_add_func("/net/socket/udp", test_socket_udp);
    g_test_add_func("/net/socket/errors", test_socket_errors);
    g_test_add_func("/net/netdev-cli", test_netdev_cli);
    return g_test_run();
}
