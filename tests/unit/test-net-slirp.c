/*
 * -netdev user (net/slirp.c) against a fake NIC on the netdev seam: the
 * test plays the guest with hand-built frames.  DHCP offers the addresses
 * of net=, ARP and ICMP echo for the virtual host are answered, UDP reaches
 * a socket on the host's loopback and the answer comes back as a frame
 * (through the main loop), restrict=on blocks it, a UDP hostfwd delivers a
 * host datagram to the guest, a guestfwd connection writes to its chardev
 * (under restrict=on, which lets it through), an idle stack lets the main loop sleep,
 * hostfwd_add/remove and info usernet print
 * QEMU's text, and options fail with QEMU 7.2's messages.
 *
 * All traffic stays on 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "chardev/chardev.h"
#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"
#include "tests/unit/net-fake.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define GUEST_IP        IP4(10, 0, 2, 15)
#define HOST_IP         IP4(10, 0, 2, 2)
#define GUEST_PORT      40000

/* ---- the fake NIC (tests/unit/net-fake.h): what the user stack sent ---- */

static struct net_fake nic;

static int user_init(const char *opts, GError **errp)
{
    return net_fake_netdev_new(net_user_check, net_user_init, opts, errp);
}

/* A user netdev "u0" with opts, the fake NIC as its peer. */
static struct net_client *user_start(const char *opts)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *all = g_strdup_printf("user,id=u0%s%s", *opts ? "," : "", opts);
    struct net_client *u;

    g_assert_cmpint(user_init(all, &err), ==, 0);
    g_assert_no_error(err);
    u = net_netdev_find("u0");
    g_assert_nonnull(u);
    g_assert_cmpstr(u->ops->type_name, ==, "user");
    net_fake_init(&nic, &net_fake_nic_ops, "fake-nic", "nic0", u);
    g_assert_true(u->peer == &nic.nc);
    return u;
}

static void user_stop(struct net_client *u)
{
    net_fake_fini(&nic);
    net_client_uninit(u);
    g_assert_null(net_netdev_find("u0"));
}

static void guest_send(const uint8_t *f, size_t len)
{
    struct iovec iov = { .iov_base = (void *)f, .iov_len = len };

    g_assert_cmpint(net_send(&nic.nc, &iov, 1, NULL), ==, len);
}

/* ---- frames ---- */

static uint16_t get16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* The Internet checksum of p, starting from sum (a pseudo header). */
static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i < n; i += 2) {
        sum += p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

static size_t eth_hdr(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, type);
    return 14;
}

/* Ethernet + IPv4 around the l4 bytes; UDP and TCP get their checksum.  Padded to 60. */
static size_t ip_frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto,
                       const uint8_t *l4, size_t l4len)
{
    size_t off = eth_hdr(f, bcast_mac, 0x0800);
    uint8_t *ip = f + off, *p = ip + 20;

    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, 20 + l4len);
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, csum(ip, 20, 0));
    memcpy(p, l4, l4len);
    if (proto == 17 || proto == 6) {
        uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
                          proto + l4len;
        uint16_t c = csum(p, l4len, pseudo);

        put16(p + (proto == 6 ? 16 : 6), c ? c : 0xffff);
    }
    off += 20 + l4len;
    if (off < 60) {
        memset(f + off, 0, 60 - off);
        off = 60;
    }
    return off;
}

static size_t udp_frame(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                        const void *data, size_t len)
{
    uint8_t l4[1500];

    put16(l4, sport);
    put16(l4 + 2, dport);
    put16(l4 + 4, 8 + len);
    put16(l4 + 6, 0);
    memcpy(l4 + 8, data, len);
    return ip_frame(f, src, dst, 17, l4, 8 + len);
}

static size_t tcp_frame(uint8_t *f, uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack,
                        uint8_t flags, const char *data, size_t len)
{
    uint8_t l4[256] = { 0 };

    put16(l4, GUEST_PORT);
    put16(l4 + 2, dport);
    put32(l4 + 4, seq);
    put32(l4 + 8, ack);
    l4[12] = 5 << 4;
    l4[13] = flags;
    put16(l4 + 14, 65535);
    memcpy(l4 + 20, data, len);
    return ip_frame(f, GUEST_IP, dst, 6, l4, 20 + len);
}

/* The guest asks who has tip: its own address and MAC go into the stack's ARP table. */
static void guest_arp(uint32_t tip)
{
    uint8_t f[60] = { 0 };
    uint8_t *a = f + eth_hdr(f, bcast_mac, 0x0806);

    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    memcpy(a + 8, guest_mac, 6);
    put32(a + 14, GUEST_IP);
    put32(a + 24, tip);
    guest_send(f, sizeof(f));
}

static bool timed_out;

static gboolean loop_deadline(gpointer opaque)
{
    timed_out = true;
    return G_SOURCE_REMOVE;
}

/* The first frame from the stack with the Ethertype, IP protocol and UDP
 * destination port given (0: any), waiting in the main loop up to 2 s. */
static GByteArray *wait_frame(uint16_t type, uint8_t proto, uint16_t dport)
{
    guint deadline;

    timed_out = false;
    deadline = g_timeout_add(2000, loop_deadline, NULL);
    for (;;) {
        for (unsigned i = 0; i < nic.frames->len; i++) {
            GByteArray *f = g_ptr_array_index(nic.frames, i);
            const uint8_t *ip = f->data + 14;

            if (f->len < 14 || get16(f->data + 12) != type) {
                continue;
            }
            if (type == 0x0800 && (f->len < 42 || ip[9] != proto ||
                                   (dport && get16(ip + 22) != dport))) {
                continue;
            }
            g_source_remove(deadline);
            g_byte_array_ref(f);
            g_ptr_array_remove_index(nic.frames, i);
            return f;
        }
        if (timed_out) {
            return NULL;
        }
        g_main_context_iteration(NULL, TRUE);
    }
}

/* ---- host sockets ---- */

/* A UDP socket bound to 127.0.0.1 (port 0: any); its port in *port. */
static int udp_socket(uint16_t *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*port) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A loopback port nothing listens on now. */
static uint16_t free_port(void)
{
    uint16_t port = 0;

    close(udp_socket(&port));
    return port;
}

/* A datagram on fd within ms, or -1; the sender in *from. */
static ssize_t udp_recv(int fd, char *buf, size_t size, int ms, struct sockaddr_in *from)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    socklen_t len = sizeof(*from);

    if (poll(&pfd, 1, ms) != 1) {
        return -1;
    }
    return recvfrom(fd, buf, size, 0, (struct sockaddr *)from, &len);
}

/* ---- DHCP ---- */

#define BOOTP_LEN 548           /* op .. 312 bytes of options: slirp's minimum */

/* The value of DHCP option code in a BOOTP message, or NULL. */
static const uint8_t *dhcp_option(const uint8_t *bootp, size_t len, uint8_t code)
{
    for (size_t i = 240; i + 1 < len && bootp[i] != 255;) {
        if (bootp[i] == 0) {
            i++;
            continue;
        }
        if (bootp[i] == code) {
            return bootp + i + 2;
        }
        i += 2 + bootp[i + 1];
    }
    return NULL;
}

/* DISCOVER (split over two iovecs, as a NIC may hand it over), then the OFFER's
 * address, router and DNS server. */
static void dhcp_expect(uint32_t yiaddr, uint32_t router, uint32_t dns)
{
    uint8_t bootp[BOOTP_LEN] = { 0 }, f[1514];
    size_t len;
    struct iovec iov[2];
    GByteArray *r;
    const uint8_t *b, *opt;

    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    put32(bootp + 4, 0x1234abcd);
    memcpy(bootp + 28, guest_mac, 6);
    put32(bootp + 236, 0x63825363);
    bootp[240] = 53;
    bootp[241] = 1;
    bootp[242] = 1;
    bootp[243] = 255;
    len = udp_frame(f, 0, 68, 0xffffffff, 67, bootp, sizeof(bootp));
    iov[0] = (struct iovec){ .iov_base = f, .iov_len = 20 };
    iov[1] = (struct iovec){ .iov_base = f + 20, .iov_len = len - 20 };
    g_assert_cmpint(net_send(&nic.nc, iov, 2, NULL), ==, len);

    r = wait_frame(0x0800, 17, 68);
    g_assert_nonnull(r);
    b = r->data + 14 + 20 + 8;
    g_assert_cmpuint(r->len, >=, 14 + 20 + 8 + 244);
    g_assert_cmpuint(b[0], ==, 2);
    g_assert_cmphex(get32(b + 4), ==, 0x1234abcd);
    g_assert_cmphex(get32(b + 16), ==, yiaddr);
    opt = dhcp_option(b, r->len - 42, 53);
    g_assert_nonnull(opt);
    g_assert_cmpuint(opt[0], ==, 2);         /* OFFER */
    opt = dhcp_option(b, r->len - 42, 3);
    g_assert_nonnull(opt);
    g_assert_cmphex(get32(opt), ==, router);
    opt = dhcp_option(b, r->len - 42, 6);
    g_assert_nonnull(opt);
    g_assert_cmphex(get32(opt), ==, dns);
    g_byte_array_unref(r);
}

static void test_dhcp_default(void)
{
    struct net_client *u = user_start("");

    g_assert_cmpstr(u->info_str, ==, "net=10.0.2.0,restrict=off");
    dhcp_expect(GUEST_IP, HOST_IP, IP4(10, 0, 2, 3));
    user_stop(u);
}

static void test_dhcp_net(void)
{
    struct net_client *u = user_start("net=192.168.76.0/24");

    g_assert_cmpstr(u->info_str, ==, "net=192.168.76.0,restrict=off");
    dhcp_expect(IP4(192, 168, 76, 15), IP4(192, 168, 76, 2), IP4(192, 168, 76, 3));
    user_stop(u);
}

/* ---- ARP, ICMP ---- */

static void test_arp(void)
{
    struct net_client *u = user_start("");
    GByteArray *r;
    const uint8_t *a;

    guest_arp(HOST_IP);
    r = wait_frame(0x0806, 0, 0);
    g_assert_nonnull(r);
    a = r->data + 14;
    g_assert_cmpmem(r->data, 6, guest_mac, 6);
    g_assert_cmpuint(get16(a + 6), ==, 2);            /* reply */
    g_assert_cmphex(get32(a + 14), ==, HOST_IP);
    g_assert_cmpmem(a + 8, 6, r->data + 6, 6);        /* sender MAC = frame's source */
    g_assert_cmpmem(a + 18, 6, guest_mac, 6);
    g_assert_cmphex(get32(a + 24), ==, GUEST_IP);
    g_byte_array_unref(r);
    user_stop(u);
}

static void test_icmp_echo(void)
{
    struct net_client *u = user_start("");
    uint8_t icmp[16] = { 8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, 'p', 'i', 'n', 'g', 1, 2, 3, 4 };
    uint8_t f[128];
    GByteArray *r;
    const uint8_t *ip;
    size_t len;

    guest_arp(HOST_IP);
    g_byte_array_unref(wait_frame(0x0806, 0, 0));
    put16(icmp + 2, csum(icmp, sizeof(icmp), 0));
    len = ip_frame(f, GUEST_IP, HOST_IP, 1, icmp, sizeof(icmp));
    guest_send(f, len);
    r = wait_frame(0x0800, 1, 0);
    g_assert_nonnull(r);
    ip = r->data + 14;
    g_assert_cmphex(get32(ip + 12), ==, HOST_IP);
    g_assert_cmphex(get32(ip + 16), ==, GUEST_IP);
    g_assert_cmpuint(ip[20], ==, 0);                  /* echo reply */
    g_assert_cmpmem(ip + 24, 12, icmp + 4, 12);       /* id, seq, data */
    g_assert_cmphex(csum(ip + 20, get16(ip + 2) - 20, 0), ==, 0);
    g_byte_array_unref(r);
    user_stop(u);
}

/* ---- IPv6 ---- */

/* The guest's link-local address, from its MAC (EUI-64). */
static const uint8_t guest_ll6[16] = {
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56,
};

/* Ethernet + IPv6 around an ICMPv6 message, its checksum filled in
 * (RFC 4443 2.3: over the pseudo header of RFC 8200 8.1). */
static size_t icmp6_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *dst,
                          uint8_t *icmp, size_t len)
{
    size_t off = eth_hdr(f, dmac, 0x86dd);
    uint8_t *ip = f + off;
    uint32_t pseudo = len + 58;

    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, len);
    ip[6] = 58;
    ip[7] = 255;                    /* neighbour discovery wants 255 */
    memcpy(ip + 8, guest_ll6, 16);
    memcpy(ip + 24, dst, 16);
    for (unsigned i = 0; i < 32; i += 2) {
        pseudo += get16(ip + 8 + i);
    }
    put16(icmp + 2, 0);
    put16(icmp + 2, csum(icmp, len, pseudo));
    memcpy(ip + 40, icmp, len);
    return off + 40 + len;
}

/* The first IPv6 frame carrying ICMPv6 of type, waiting up to 2 s. */
static GByteArray *wait_icmp6(uint8_t type)
{
    for (;;) {
        GByteArray *f = wait_frame(0x86dd, 0, 0);

        if (!f) {
            return NULL;
        }
        if (f->len >= 14 + 40 + 4 && f->data[14 + 6] == 58 && f->data[14 + 40] == type) {
            return f;
        }
        g_byte_array_unref(f);
    }
}

/*
 * A router solicitation is answered with an advertisement of the
 * ipv6-prefix (RFC 4861 4.2 and 4.6.2), and an echo request to the
 * virtual host's address prefix::2 with its reply.
 */
static void check_ipv6(const char *opts, const uint8_t prefix[8])
{
    static const uint8_t all_routers[16] = { 0xff, 0x02, [15] = 2 };
    static const uint8_t all_routers_mac[6] = { 0x33, 0x33, 0, 0, 0, 2 };
    struct net_client *u = user_start(opts);
    uint8_t rs[16] = { 133, 0, 0, 0, 0, 0, 0, 0, 1, 1 };    /* + source link-layer */
    uint8_t echo[12] = { 128, 0, 0, 0, 0x43, 0x21, 0, 7, 'v', '6', '!', '?' };
    uint8_t host6[16] = { 0 }, router_mac[6], f[256];
    const uint8_t *ra, *opt;
    GByteArray *r;
    bool found = false;

    memcpy(rs + 10, guest_mac, 6);
    guest_send(f, icmp6_frame(f, all_routers_mac, all_routers, rs, sizeof(rs)));
    r = wait_icmp6(134);
    g_assert_nonnull(r);
    memcpy(router_mac, r->data + 6, 6);
    ra = r->data + 14 + 40;
    /* Options after the 16-byte header: find the prefix information. */
    for (opt = ra + 16; opt + 8 <= r->data + r->len && opt[1]; opt += opt[1] * 8) {
        if (opt[0] == 3 && opt[1] == 4) {
            g_assert_cmpmem(opt + 16, 8, prefix, 8);
            g_assert_cmpuint(opt[2], ==, 64);
            found = true;
        }
    }
    g_assert_true(found);
    g_byte_array_unref(r);

    memcpy(host6, prefix, 8);
    host6[15] = 2;
    guest_send(f, icmp6_frame(f, router_mac, host6, echo, sizeof(echo)));
    r = wait_icmp6(129);
    g_assert_nonnull(r);
    g_assert_cmpmem(r->data + 14 + 8, 16, host6, 16);          /* from prefix::2 */
    g_assert_cmpmem(r->data + 14 + 24, 16, guest_ll6, 16);
    g_assert_cmpmem(r->data + 14 + 44, 8, echo + 4, 8);        /* id, seq, data */
    g_byte_array_unref(r);
    user_stop(u);
}

static void test_ipv6(void)
{
    static const uint8_t fec0[8] = { 0xfe, 0xc0 };
    static const uint8_t fd00[8] = { 0xfd, 0x00, 0, 0x12, 0, 0x34 };

    check_ipv6("", fec0);
    check_ipv6("ipv6-net=fd00:12:34::/64", fd00);
}

/* ---- UDP ---- */

/* The guest's datagram to 10.0.2.2:port reaches 127.0.0.1:port. */
static bool udp_to_host(int fd, uint16_t port, struct sockaddr_in *from)
{
    uint8_t f[128];
    char buf[64];
    size_t len = udp_frame(f, GUEST_IP, GUEST_PORT, HOST_IP, port, "hello", 5);
    ssize_t n;

    guest_send(f, len);
    n = udp_recv(fd, buf, sizeof(buf), 300, from);
    if (n < 0) {
        return false;
    }
    g_assert_cmpint(n, ==, 5);
    g_assert_cmpmem(buf, 5, "hello", 5);
    return true;
}

static void test_udp_to_host(void)
{
    struct net_client *u = user_start("");
    uint16_t port = 0;
    int fd = udp_socket(&port);
    struct sockaddr_in from;
    GByteArray *r;
    const uint8_t *ip;

    guest_arp(HOST_IP);
    g_byte_array_unref(wait_frame(0x0806, 0, 0));
    g_assert_true(udp_to_host(fd, port, &from));
    /* The answer comes back through the stack's socket and the main loop. */
    g_assert_cmpint(sendto(fd, "world", 5, 0, (struct sockaddr *)&from, sizeof(from)), ==, 5);
    r = wait_frame(0x0800, 17, GUEST_PORT);
    g_assert_nonnull(r);
    ip = r->data + 14;
    g_assert_cmphex(get32(ip + 12), ==, HOST_IP);
    g_assert_cmphex(get32(ip + 16), ==, GUEST_IP);
    g_assert_cmpuint(get16(ip + 20), ==, port);
    g_assert_cmpmem(ip + 28, get16(ip + 24) - 8, "world", 5);
    g_byte_array_unref(r);
    close(fd);
    user_stop(u);
}

static void test_udp_restricted(void)
{
    struct net_client *u = user_start("restrict=on");
    uint16_t port = 0;
    int fd = udp_socket(&port);
    struct sockaddr_in from;

    g_assert_cmpstr(u->info_str, ==, "net=10.0.2.0,restrict=on");
    guest_arp(HOST_IP);
    g_byte_array_unref(wait_frame(0x0806, 0, 0));
    g_assert_false(udp_to_host(fd, port, &from));
    close(fd);
    user_stop(u);
}

/* hostfwd=udp:127.0.0.1:P-:7000 (restricted, as hostfwd still works there):
 * a host datagram to P arrives at the guest's 10.0.2.15:7000. */
static void test_hostfwd_udp(void)
{
    uint16_t hport = free_port(), sport = 0;
    g_autofree char *opts = g_strdup_printf("restrict=y,hostfwd=udp:127.0.0.1:%u-:7000", hport);
    struct net_client *u = user_start(opts);
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(hport) };
    int fd = udp_socket(&sport);
    GByteArray *r;
    const uint8_t *ip;

    guest_arp(HOST_IP);
    g_byte_array_unref(wait_frame(0x0806, 0, 0));
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(sendto(fd, "fwd!", 4, 0, (struct sockaddr *)&dst, sizeof(dst)), ==, 4);
    r = wait_frame(0x0800, 17, 7000);
    g_assert_nonnull(r);
    ip = r->data + 14;
    g_assert_cmpmem(r->data, 6, guest_mac, 6);
    g_assert_cmphex(get32(ip + 16), ==, GUEST_IP);
    g_assert_cmpmem(ip + 28, get16(ip + 24) - 8, "fwd!", 4);
    g_byte_array_unref(r);
    close(fd);
    user_stop(u);
    /* The stack is gone: its forwarded port is free again. */
    close(udp_socket(&hport));
}

/* guestfwd=tcp:10.0.2.100:1234-chardev:ID: what the guest sends on a
 * connection to 10.0.2.100:1234 is written to the chardev (a file here). */
static void test_guestfwd_chardev(void)
{
    g_autofree char *dir = g_dir_make_tmp("hyvm-slirp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "out", NULL);
    g_autofree char *chr = g_strdup_printf("file,id=gf1,path=%s", path);
    g_autofree char *got = NULL;
    const uint32_t server = IP4(10, 0, 2, 100);
    const char *msg = "hi guestfwd";
    GError *err = NULL;
    struct net_client *u;
    uint8_t f[256];
    GByteArray *r;
    uint32_t seq;

    g_assert_nonnull(chardev_new_from_opts(chr, &err));
    g_assert_no_error(err);
    u = user_start("restrict=on,guestfwd=tcp:10.0.2.100:1234-chardev:gf1");
    guest_arp(HOST_IP);
    g_byte_array_unref(wait_frame(0x0806, 0, 0));
    guest_send(f, tcp_frame(f, server, 1234, 1000, 0, 0x02, "", 0));            /* SYN */
    r = wait_frame(0x0800, 6, GUEST_PORT);
    g_assert_nonnull(r);
    g_assert_cmphex(r->data[14 + 33] & 0x12, ==, 0x12);                          /* SYN+ACK */
    g_assert_cmpuint(get32(r->data + 14 + 28), ==, 1001);
    seq = get32(r->data + 14 + 24);
    g_byte_array_unref(r);
    guest_send(f, tcp_frame(f, server, 1234, 1001, seq + 1, 0x18, msg, strlen(msg)));
    for (unsigned i = 0; i < 200 && !(got && strlen(got) == strlen(msg)); i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
        g_free(got);
        got = NULL;
        g_file_get_contents(path, &got, NULL, NULL);
    }
    g_assert_cmpstr(got, ==, msg);
    user_stop(u);
    g_unlink(path);
    g_rmdir(dir);
}

/* An idle stack with a listening hostfwd socket lets the main loop sleep. */
static void test_idle(void)
{
    g_autofree char *opts = g_strdup_printf("hostfwd=tcp:127.0.0.1:%u-:22", free_port());
    struct net_client *u = user_start(opts);
    unsigned n = 0;

    timed_out = false;
    g_timeout_add(300, loop_deadline, NULL);
    while (!timed_out) {
        g_main_context_iteration(NULL, TRUE);
        n++;
    }
    g_assert_cmpuint(n, <, 10);
    user_stop(u);
}

/* ---- monitor ---- */

static void expect_err(int ret, GError *err, const char *msg)
{
    g_assert_cmpint(ret, <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
}

/* expr fails with msg in err (evaluated before err is looked at). */
#define EXPECT_ERR(expr, msg)                   \
    do {                                        \
        int ret_ = (expr);                      \
                                                \
        expect_err(ret_, err, msg);             \
        g_clear_error(&err);                    \
    } while (0)

static void test_hostfwd_monitor(void)
{
    struct net_fake other;
    uint16_t port = free_port();
    g_autofree char *rule = g_strdup_printf("tcp:127.0.0.1:%u-:22", port);
    g_autofree char *key = g_strdup_printf("tcp:127.0.0.1:%u", port);
    g_autofree char *msg = NULL;
    g_autoptr(GString) out = g_string_new("");
    GError *err = NULL;
    struct net_client *u;

    EXPECT_ERR(net_user_hostfwd_add(NULL, rule, &err), "user mode network stack not in use");
    u = user_start("");
    net_fake_init(&other, &net_fake_backend_ops, "socket", "s0", NULL);

    g_assert_cmpint(net_user_hostfwd_add(NULL, rule, &err), ==, 0);
    g_assert_no_error(err);
    net_user_info_usernet(out);
    g_assert_true(g_str_has_prefix(out->str, "Hub -1 (u0):\n  Protocol[State]"));
    g_assert_nonnull(strstr(out->str, "TCP[HOST_FORWARD]"));
    msg = g_strdup_printf("Could not set up host forwarding rule '%s'", rule);
    EXPECT_ERR(net_user_hostfwd_add("u0", rule, &err), msg);

    g_string_truncate(out, 0);
    g_assert_cmpint(net_user_hostfwd_remove(NULL, key, out, &err), ==, 0);
    g_assert_cmpint(net_user_hostfwd_remove("u0", key, out, &err), ==, 0);
    g_assert_no_error(err);
    g_free(msg);
    msg = g_strdup_printf("host forwarding rule for %s removed\n"
                          "host forwarding rule for %s not found\n", key, key);
    g_assert_cmpstr(out->str, ==, msg);
    g_string_truncate(out, 0);
    net_user_info_usernet(out);
    g_assert_null(strstr(out->str, "HOST_FORWARD"));

    EXPECT_ERR(net_user_hostfwd_add("nope", rule, &err), "unrecognized netdev id 'nope'");
    EXPECT_ERR(net_user_hostfwd_remove("s0", key, out, &err), "invalid device specified");
    EXPECT_ERR(net_user_hostfwd_add(NULL, "foo", &err),
               "Invalid host forwarding rule 'foo' (No : separators)");
    EXPECT_ERR(net_user_hostfwd_add(NULL, "tcp::1x-:22", &err),
               "Invalid host forwarding rule 'tcp::1x-:22' (Bad host port)");
    EXPECT_ERR(net_user_hostfwd_remove(NULL, "tcp::0x10", out, &err), "invalid format");
    net_fake_fini(&other);
    user_stop(u);
}

/* ---- options ---- */

static void test_options(void)
{
    static const struct { const char *opts, *msg; } bad[] = {
        { "net=1.2.3.4.5", "Failed to parse netmask" },
        { "net=10.0.2.0/33", "Invalid netmask provided (must be in range 4-32)" },
        { "net=10.0.2.0/24x", "Failed to parse netmask (trailing chars)" },
        { "host=10.0.3.2", "Host doesn't belong to network" },
        { "dns=10.0.2.2", "DNS must be different from host" },
        { "restrict=on,dns=8.8.8.8", "DNS doesn't belong to network" },
        { "dhcpstart=10.0.2.3", "DHCP must be different from host and DNS" },
        { "ipv4=off,net=10.0.0.0/8", "IPv4 disabled but netmask/host/dns provided" },
        { "ipv4=off,ipv6=off", "IPv4 and IPv6 disabled" },
        { "ipv6=n,ipv6-host=fec0::5", "IPv6 disabled but prefix/host6/dns6 provided" },
        { "ipv6-host=fec1::1", "IPv6 Host doesn't belong to network" },
        { "ipv6-prefixlen=127", "Invalid IPv6 prefix provided "
                                "(IPv6 prefix length must be between 0 and 126)" },
        { "ipv6-prefixlen=abc", "Parameter 'ipv6-prefixlen' expects an int64 value" },
        { "foo=1,ipv4=maybe", "Parameter 'ipv4' expects 'on' or 'off'" },
        { "ipv6-net=fec1::/x", "Parameter 'ipv6-prefixlen' expects a number" },
        { "ipv6-net=zz/64", "Failed to parse IPv6 prefix" },
        { "ipv6-net=fec1::/64,ipv6-host=fec0::2", "IPv6 Host doesn't belong to network" },
        { "domainname=", "'domainname' parameter cannot be empty" },
        { "foo=1", "Invalid parameter 'foo'" },
        { "vlan=1", "Invalid parameter 'vlan'" },
        { "hostfwd=tcp::abc-:22", "Invalid host forwarding rule 'tcp::abc-:22' (Bad host port)" },
        { "hostfwd=unix:/tmp/x-:22",
          "Invalid host forwarding rule 'unix:/tmp/x-:22' (Bad protocol name)" },
        { "hostfwd=tcp::1234-:0", "Invalid host forwarding rule 'tcp::1234-:0' (Bad guest port)" },
        { "hostfwd=tcp::1234-", "Invalid host forwarding rule 'tcp::1234-' (Missing guest address)" },
        { "hostfwd=tcp::1-:2,guestfwd=x", "Invalid guest forwarding rule 'x'" },
        { "guestfwd=tcp:10.0.2.100:0-cmd:cat",
          "Invalid guest forwarding rule 'tcp:10.0.2.100:0-cmd:cat'" },
    };
    g_autofree char *long_name = g_strnfill(256, 'a');
    g_autofree char *opts = g_strdup_printf("user,id=u1,hostname=%s", long_name);
    GError *err = NULL;

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *o = g_strdup_printf("user,id=u1,%s", bad[i].opts);

        EXPECT_ERR(user_init(o, &err), bad[i].msg);
        g_assert_null(net_netdev_find("u1"));
    }
    EXPECT_ERR(user_init(opts, &err), "'vhostname' parameter cannot exceed 255 bytes");
    g_assert_cmpint(user_init("user,id=u1,smb=/tmp", &err), ==, -ENOTSUP);
    g_assert_error(err, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED);
    g_assert_nonnull(strstr(err->message, "smb"));
    g_clear_error(&err);
    /* Rules that only fail when set up: at init, and nothing is left behind. */
    EXPECT_ERR(user_init("user,id=u1,guestfwd=tcp:10.0.2.100:1234-chardev:nope", &err),
               "Could not open guest forwarding device 'guestfwd.tcp.1234'");
    g_assert_null(net_netdev_find("u1"));
}

static void test_options_valid(void)
{
    GError *err = NULL;
    struct net_client *u;

    g_assert_cmpint(user_init("user,id=u1,restrict=n,hostname=vm,domainname=x.test,"
                              "dnssearch=a.test,dnssearch=b.test,tftp=/nonexistent,"
                              "bootfile=pxe,ip=10.0.5.0,ipv6-net=fec1::/48,"
                              "ipv6-host=fec1:0:0:1::2,hostfwd=tcp:127.0.0.1:0-:22,"
                              "guestfwd=tcp:10.0.5.100:1234-cmd:cat", &err), ==, 0);
    g_assert_no_error(err);
    u = net_netdev_find("u1");
    g_assert_nonnull(u);
    g_assert_cmpstr(u->info_str, ==, "net=10.0.5.0,restrict=off");
    net_client_uninit(u);

    g_assert_nonnull(chardev_new_from_opts("null,id=gf0", &err));
    g_assert_no_error(err);
    g_assert_cmpint(user_init("user,id=u1,guestfwd=tcp:10.0.2.100:1234-chardev:gf0", &err), ==,
                    0);
    g_assert_no_error(err);
    net_client_uninit(net_netdev_find("u1"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net-slirp/dhcp/default", test_dhcp_default);
    g_test_add_func("/net-slirp/dhcp/net", test_dhcp_net);
    g_test_add_func("/net-slirp/arp", test_arp);
    g_test_add_func("/net-slirp/icmp-echo", test_icmp_echo);
    g_test_add_func("/net-slirp/ipv6", test_ipv6);
    g_test_add_func("/net-slirp/udp/to-host", test_udp_to_host);
    g_test_add_func("/net-slirp/udp/restricted", test_udp_restricted);
    g_test_add_func("/net-slirp/hostfwd/udp", test_hostfwd_udp);
    g_test_add_func("/net-slirp/idle", test_idle);
    g_test_add_func("/net-slirp/guestfwd/chardev", test_guestfwd_chardev);
    g_test_add_func("/net-slirp/hostfwd/monitor", test_hostfwd_monitor);
    g_test_add_func("/net-slirp/options/errors", test_options);
    g_test_add_func("/net-slirp/options/valid", test_options_valid);
    return g_test_run();
}
