/*
 * -netdev tap: QEMU 7.2's option checks and messages (checked against
 * qemu-system-x86_64), then, where the machine allows it (root with
 * CAP_NET_ADMIN and /dev/net/tun), real taps in a network namespace each
 * test makes in a child process, so that nothing touches the host's
 * network: frames from a fake NIC reach the namespace's kernel and the
 * kernel's reach the NIC, plain and behind a 12-byte vnet header, with
 * flow control and checksum offload; fd=, scripts, and the errors of a
 * host without /dev/net/tun or without CAP_NET_ADMIN.
 *
 * A child reports through its exit status: 0 passed, a failed assertion
 * aborts, CHILD_SKIP_* says what the machine lacks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"
#include "tests/unit/net-fake.h"

enum {
    CHILD_SKIP_NETNS = 77,       /* no network namespace (CAP_SYS_ADMIN) */
    CHILD_SKIP_TUN,              /* no /dev/net/tun */
    CHILD_SKIP_TAP,              /* taps not allowed (CAP_NET_ADMIN) */
    CHILD_SKIP_MOUNTNS,          /* no mount namespace */
};

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- options ---- */

static int tap_check(const char *opts, GError **errp)
{
    return net_fake_netdev_new(net_tap_check, NULL, opts, errp);
}

static int tap_init(const char *opts, GError **errp)
{
    return net_fake_netdev_new(NULL, net_tap_init, opts, errp);
}

static void assert_init_error(const char *opts, const char *msg)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(tap_init(opts, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
    g_assert_null(net_netdev_find("t0"));
}

static void test_options(void)
{
    static const struct {
        const char *opts, *msg;
        int code;
    } bad[] = {
        { "tap,id=t0,foo=1", "Invalid parameter 'foo'", HYVM_ERROR_FAILED },
        { "tap,id=t0,vnet_hdr=maybe", "Parameter 'vnet_hdr' expects 'on' or 'off'",
          HYVM_ERROR_FAILED },
        { "tap,id=t0,vhost=x", "Parameter 'vhost' expects 'on' or 'off'", HYVM_ERROR_FAILED },
        { "tap,id=t0,queues=abc", "Parameter 'queues' expects a uint64 value",
          HYVM_ERROR_FAILED },
        { "tap,id=t0,queues=4294967296", "Parameter 'queues' expects uint32_t",
          HYVM_ERROR_FAILED },
        { "tap,id=t0,poll-us=abc", "Parameter 'poll-us' expects a uint64 value",
          HYVM_ERROR_FAILED },
        { "tap,id=t0,sndbuf=-1", "Parameter 'sndbuf' expects a size value", HYVM_ERROR_FAILED },
        { "tap,id=t0,fd=3,ifname=x",
          "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= "
          "are invalid with fd=", HYVM_ERROR_FAILED },
        { "tap,id=t0,fd=3,fds=4",
          "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= "
          "are invalid with fd=", HYVM_ERROR_FAILED },
        { "tap,id=t0,fds=3,script=no",
          "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are "
          "invalid with fds=", HYVM_ERROR_FAILED },
        { "tap,id=t0,helper=/bin/true,ifname=x",
          "ifname=, script=, downscript=, vnet_hdr=, queues=, and vhostfds= are invalid "
          "with helper=", HYVM_ERROR_FAILED },
        { "tap,id=t0,vhostfds=3", "vhostfds= is invalid if fds= wasn't specified",
          HYVM_ERROR_FAILED },
        { "tap,id=t0,fd=abc", "Invalid file descriptor number 'abc'", HYVM_ERROR_FAILED },
        { "tap,id=t0,fd=-1", "Invalid file descriptor number '-1'", HYVM_ERROR_FAILED },
        { "tap,id=t0,fd=3x", "Invalid file descriptor number '3x'", HYVM_ERROR_FAILED },
        { "tap,id=t0,fd=99999999999", "Invalid file descriptor number '99999999999'",
          HYVM_ERROR_FAILED },
        { "tap,id=t0,fds=abc", "Invalid file descriptor number 'abc'", HYVM_ERROR_FAILED },
        { "tap,id=t0,fds=3:4", "multiqueue tap is not supported: fds= takes one file "
          "descriptor, not 2", HYVM_ERROR_UNSUPPORTED },
        { "tap,id=t0,vhost=on", "vhost-net is not supported: use vhost=off (the default)",
          HYVM_ERROR_UNSUPPORTED },
        { "tap,id=t0,vhostforce=on", "vhost-net is not supported: use vhost=off (the default)",
          HYVM_ERROR_UNSUPPORTED },
        { "tap,id=t0,queues=2", "multiqueue tap is not supported: queues=2, only queues=1",
          HYVM_ERROR_UNSUPPORTED },
        { "tap,id=t0,queues=0", "queues=0: a tap needs one queue", HYVM_ERROR_FAILED },
        { "tap,id=t0,helper=/usr/lib/qemu/qemu-bridge-helper",
          "the bridge helper (helper=, br=) is not supported: create the tap beforehand "
          "and use ifname= or fd=", HYVM_ERROR_UNSUPPORTED },
        { "tap,id=t0,br=br0",
          "the bridge helper (helper=, br=) is not supported: create the tap beforehand "
          "and use ifname= or fd=", HYVM_ERROR_UNSUPPORTED },
    };
    static const char *const good[] = {
        "tap,id=t0",
        "tap,id=t0,ifname=tap9,script=no,downscript=no,vnet_hdr=off,sndbuf=1M",
        "tap,id=t0,vhost=off,queues=1,poll-us=10,vhostforce=off",
        "tap,id=t0,fd=3,vhost=off,sndbuf=0",
        "tap,id=t0,fds=+3",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_cmpint(tap_check(bad[i].opts, &err), <, 0);
        g_assert_error(err, HYVM_ERROR, bad[i].code);
        g_assert_cmpstr(err->message, ==, bad[i].msg);
        /* init checks the same way and creates nothing. */
        assert_init_error(bad[i].opts, bad[i].msg);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_cmpint(tap_check(good[i], &err), ==, 0);
        g_assert_no_error(err);
    }
}

/* fd= that is no tap: QEMU's messages, nothing created. */
static void test_fd_errors(void)
{
    int fd = open("/dev/null", O_RDWR);
    int closed = dup(fd);
    g_autofree char *o1 = g_strdup_printf("tap,id=t0,fd=%d", fd);
    g_autofree char *m1 = g_strdup_printf("Unable to query TUNGETIFF on FD %d: %s", fd,
                                          g_strerror(ENOTTY));
    g_autofree char *o2 = NULL, *m2 = NULL;

    g_assert_cmpint(fd, >=, 0);
    close(closed);
    o2 = g_strdup_printf("tap,id=t0,fd=%d", closed);
    m2 = g_strdup_printf("t0: Can't use file descriptor %d: %s", closed, g_strerror(EBADF));
    assert_init_error(o1, m1);
    assert_init_error(o2, m2);
    close(fd);          /* may already be closed by the failed init, as QEMU's */
}

/* ---- a fake NIC (tests/unit/net-fake.h) ---- */

static struct net_fake nic;

static void loop_for(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(200);
    }
}

/* ---- frames ---- */

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += p[i] << 8 | p[i + 1];
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

/* hdr_len zero bytes, then Ethernet/IPv4/UDP from the guest (no UDP checksum). */
static GByteArray *udp_frame(unsigned hdr_len, const uint8_t dst_mac[6], const char *src,
                             const char *dst, uint16_t sport, uint16_t dport, const char *data)
{
    size_t dlen = strlen(data), iplen = 20 + 8 + dlen;
    GByteArray *f = g_byte_array_sized_new(hdr_len + 14 + iplen);
    uint8_t *p;
    struct in_addr a;

    g_byte_array_set_size(f, hdr_len + 14 + iplen);
    memset(f->data, 0, f->len);
    p = f->data + hdr_len;
    memcpy(p, dst_mac, 6);
    memcpy(p + 6, guest_mac, 6);
    p[12] = 0x08;
    p += 14;
    p[0] = 0x45;
    p[2] = iplen >> 8;
    p[3] = iplen & 0xff;
    p[8] = 64;
    p[9] = IPPROTO_UDP;
    g_assert_true(inet_aton(src, &a));
    memcpy(p + 12, &a, 4);
    g_assert_true(inet_aton(dst, &a));
    memcpy(p + 16, &a, 4);
    p[10] = ip_csum(p, 20) >> 8;
    p[11] = ip_csum(p, 20) & 0xff;
    p += 20;
    p[0] = sport >> 8;
    p[1] = sport & 0xff;
    p[2] = dport >> 8;
    p[3] = dport & 0xff;
    p[4] = (8 + dlen) >> 8;
    p[5] = (8 + dlen) & 0xff;
    memcpy(p + 8, data, dlen);
    return f;
}

/* The UDP payload of a received frame to dport, or NULL. */
static const char *udp_payload(GByteArray *f, unsigned hdr_len, uint16_t dport, size_t *len)
{
    const uint8_t *p = f->data + hdr_len;
    size_t ihl;

    if (f->len < hdr_len + 14 + 20 + 8 || p[12] != 0x08 || p[13] != 0 || p[14 + 9] != 17) {
        return NULL;
    }
    ihl = (p[14] & 0xf) * 4;
    if (f->len < hdr_len + 14 + ihl + 8 ||
        (p[14 + ihl + 2] << 8 | p[14 + ihl + 3]) != dport) {
        return NULL;
    }
    *len = f->len - hdr_len - 14 - ihl - 8;
    return (const char *)p + 14 + ihl + 8;
}

/* Frames to dport the NIC got, from index *from on; the first one's
 * index in *from. */
static GByteArray *nic_find_udp(unsigned hdr_len, uint16_t dport, unsigned *from)
{
    size_t len;

    for (unsigned i = *from; i < nic.frames->len; i++) {
        if (udp_payload(nic.frames->pdata[i], hdr_len, dport, &len)) {
            *from = i;
            return nic.frames->pdata[i];
        }
    }
    return NULL;
}

/* ---- the namespace's side ---- */

static void ifreq_addr(struct ifreq *ifr, const char *addr)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr->ifr_addr;

    memset(&ifr->ifr_addr, 0, sizeof(ifr->ifr_addr));
    sin->sin_family = AF_INET;
    g_assert_true(inet_aton(addr, &sin->sin_addr));
}

/* ifname up with addr/24, guest_ip a permanent neighbour at guest_mac;
 * the interface's MAC in mac. */
static void link_setup(const char *ifname, const char *addr, const char *guest_ip,
                       uint8_t mac[6])
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = { 0 };
    struct arpreq arp = { 0 };

    g_assert_cmpint(s, >=, 0);
    g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    ifreq_addr(&ifr, addr);
    g_assert_cmpint(ioctl(s, SIOCSIFADDR, &ifr), ==, 0);
    ifreq_addr(&ifr, "255.255.255.0");
    g_assert_cmpint(ioctl(s, SIOCSIFNETMASK, &ifr), ==, 0);
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    g_assert_cmpint(ioctl(s, SIOCGIFHWADDR, &ifr), ==, 0);
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);

    ((struct sockaddr_in *)&arp.arp_pa)->sin_family = AF_INET;
    g_assert_true(inet_aton(guest_ip, &((struct sockaddr_in *)&arp.arp_pa)->sin_addr));
    arp.arp_ha.sa_family = ARPHRD_ETHER;
    memcpy(arp.arp_ha.sa_data, guest_mac, 6);
    arp.arp_flags = ATF_COM | ATF_PERM;
    g_strlcpy(arp.arp_dev, ifname, sizeof(arp.arp_dev));
    g_assert_cmpint(ioctl(s, SIOCSARP, &arp), ==, 0);
    close(s);
}

static int udp_bind(const char *addr, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    g_assert_true(inet_aton(addr, &sa.sin_addr));
    g_assert_cmpint(bind(s, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return s;
}

static void udp_send(int s, const char *addr, uint16_t port, const char *data)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

    g_assert_true(inet_aton(addr, &sa.sin_addr));
    g_assert_cmpint(sendto(s, data, strlen(data), 0, (struct sockaddr *)&sa, sizeof(sa)), ==,
                    (ssize_t)strlen(data));
}

/* A frame from the NIC reaches a socket of the namespace. */
static void check_nic_to_kernel(unsigned hdr_len, const uint8_t host_mac[6],
                                const char *host_ip, const char *guest_ip, const char *data)
{
    int s = udp_bind(host_ip, 7777);
    g_autoptr(GByteArray) f = udp_frame(hdr_len, host_mac, guest_ip, host_ip, 1234, 7777,
                                        data);
    struct iovec iov[2] = {
        { .iov_base = f->data, .iov_len = 5 },
        { .iov_base = f->data + 5, .iov_len = f->len - 5 },
    };
    struct pollfd pfd = { .fd = s, .events = POLLIN };
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    char buf[256];
    ssize_t n;

    g_assert_cmpint(net_send(&nic.nc, iov, 2, NULL), ==, (ssize_t)f->len);
    g_assert_cmpint(poll(&pfd, 1, 2000), ==, 1);
    n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
    g_assert_cmpmem(buf, n, data, strlen(data));
    g_assert_cmpstr(inet_ntoa(from.sin_addr), ==, guest_ip);
    g_assert_cmpint(ntohs(from.sin_port), ==, 1234);
    close(s);
}

/* A datagram the namespace sends to the guest reaches the NIC as a frame
 * (behind hdr_len bytes of header); returns the header's flags byte. */
static uint8_t check_kernel_to_nic(unsigned hdr_len, const uint8_t host_mac[6],
                                   const char *host_ip, const char *guest_ip,
                                   const char *data)
{
    int s = udp_bind(host_ip, 0);
    unsigned at = 0;
    GByteArray *f;
    const char *pl;
    size_t len;

    g_ptr_array_set_size(nic.frames, 0);
    udp_send(s, guest_ip, 5555, data);
    NET_FAKE_LOOP_UNTIL(nic_find_udp(hdr_len, 5555, &at));
    f = nic.frames->pdata[at];
    g_assert_cmpmem(f->data + hdr_len, 6, guest_mac, 6);
    g_assert_cmpmem(f->data + hdr_len + 6, 6, host_mac, 6);
    pl = udp_payload(f, hdr_len, 5555, &len);
    g_assert_cmpmem(pl, len, data, strlen(data));
    close(s);
    return hdr_len ? f->data[0] : 0;
}

/* The NIC refuses: the tap stops after one frame; then all arrive in order. */
static void check_flow_control(unsigned hdr_len, const char *host_ip, const char *guest_ip)
{
    static const char *const data[] = { "fc-zero", "fc-one", "fc-two" };
    int s = udp_bind(host_ip, 0);
    unsigned at = 0;
    size_t len;

    g_ptr_array_set_size(nic.frames, 0);
    nic.refuse = true;
    for (unsigned i = 0; i < G_N_ELEMENTS(data); i++) {
        udp_send(s, guest_ip, 5555, data[i]);
    }
    NET_FAKE_LOOP_UNTIL(net_queue_len(&nic.nc) == 1);
    loop_for(50);
    g_assert_cmpuint(net_queue_len(&nic.nc), ==, 1);     /* reading stopped */
    nic.refuse = false;
    net_queue_flush(&nic.nc);
    for (unsigned i = 0; i < G_N_ELEMENTS(data); i++, at++) {
        const char *pl;

        NET_FAKE_LOOP_UNTIL(nic_find_udp(hdr_len, 5555, &at));
        pl = udp_payload(nic.frames->pdata[at], hdr_len, 5555, &len);
        g_assert_cmpmem(pl, len, data[i], strlen(data[i]));
    }
    close(s);
}

/* ethtool's tx-checksumming of ifname: what TUNSETOFFLOAD's TUN_F_CSUM set. */
static bool tx_csum(const char *ifname)
{
    struct ethtool_value ev = { .cmd = ETHTOOL_GTXCSUM };
    struct ifreq ifr = { .ifr_data = (void *)&ev };
    int s = socket(AF_INET, SOCK_DGRAM, 0);

    g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    g_assert_cmpint(ioctl(s, SIOCETHTOOL, &ifr), ==, 0);
    close(s);
    return ev.data;
}

/* ---- children in a network namespace ---- */

static void write_sysctl(const char *path, const char *v)
{
    int fd = open(path, O_WRONLY);

    if (fd >= 0) {
        g_assert_cmpint(write(fd, v, strlen(v)), ==, (ssize_t)strlen(v));
        close(fd);
    }
}

/* In the child: a fresh network namespace where taps can be made, or an
 * exit status saying what is missing. */
static void child_enter_netns(void)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    int fd;

    if (unshare(CLONE_NEWNET) < 0) {
        _exit(CHILD_SKIP_NETNS);
    }
    fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0) {
        _exit(CHILD_SKIP_TUN);
    }
    g_strlcpy(ifr.ifr_name, "hyvmprobe", IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        _exit(CHILD_SKIP_TAP);
    }
    close(fd);
    /* No IPv6 chatter (router solicitations) among the frames we look at. */
    write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
}

static void run_in_child(void (*fn)(const void *), const void *arg)
{
    static const char *const why[] = {
        [CHILD_SKIP_NETNS - CHILD_SKIP_NETNS] = "cannot create a network namespace "
                                                "(needs root with CAP_SYS_ADMIN)",
        [CHILD_SKIP_TUN - CHILD_SKIP_NETNS] = "no /dev/net/tun on this host",
        [CHILD_SKIP_TAP - CHILD_SKIP_NETNS] = "cannot create a tap (needs CAP_NET_ADMIN)",
        [CHILD_SKIP_MOUNTNS - CHILD_SKIP_NETNS] = "cannot create a mount namespace",
    };
    int status;
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        child_enter_netns();
        fn(arg);
        _exit(0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) >= CHILD_SKIP_NETNS &&
        WEXITSTATUS(status) <= CHILD_SKIP_MOUNTNS) {
        g_test_skip(why[WEXITSTATUS(status) - CHILD_SKIP_NETNS]);
        return;
    }
    if (WIFSIGNALED(status)) {
        g_test_message("child killed by signal %d", WTERMSIG(status));
    }
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* Frames both ways through hyvmtap0: plain (the NIC never sets a header
 * length) or with the 12-byte header of mergeable RX buffers. */
static void child_traffic(const void *arg)
{
    unsigned hdr_len = GPOINTER_TO_UINT(arg);
    g_autoptr(GError) err = NULL;
    struct net_offloads on = { .csum = true, .tso4 = true }, off = { 0 };
    struct net_client *nc;
    uint8_t host_mac[6];

    g_assert_cmpint(tap_init("tap,id=t0,ifname=hyvmtap0,script=no,downscript=no", &err), ==,
                    0);
    g_assert_no_error(err);
    nc = net_netdev_find("t0");
    g_assert_nonnull(nc);
    g_assert_cmpstr(nc->ops->type_name, ==, "tap");
    g_assert_cmpint(nc->ops->type, ==, NET_CLIENT_TAP);
    g_assert_cmpstr(nc->info_str, ==, "ifname=hyvmtap0,script=no,downscript=no");
    g_assert_cmpuint(if_nametoindex("hyvmtap0"), !=, 0);
    net_fake_nic_attach(&nic, "t0");
    /* Every Linux since 2.6.27 offers IFF_VNET_HDR. */
    g_assert_true(net_peer_has_vnet_hdr(&nic.nc));
    if (hdr_len) {
        net_peer_set_vnet_hdr_len(&nic.nc, hdr_len);
        g_assert_cmpuint(nc->vnet_hdr_len, ==, hdr_len);
    }
    link_setup("hyvmtap0", "10.0.2.1", "10.0.2.15", host_mac);

    check_nic_to_kernel(hdr_len, host_mac, "10.0.2.1", "10.0.2.15", "hello kernel");
    g_assert_cmpuint(check_kernel_to_nic(hdr_len, host_mac, "10.0.2.1", "10.0.2.15",
                                         "hello guest"), ==, 0);
    check_flow_control(hdr_len, "10.0.2.1", "10.0.2.15");

    if (hdr_len) {
        /* Checksum offload on: the kernel leaves the UDP checksum to the
         * guest and says so in the header (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
        g_assert_false(tx_csum("hyvmtap0"));
        net_peer_set_offloads(&nic.nc, &on);
        g_assert_true(tx_csum("hyvmtap0"));
        g_assert_cmpuint(check_kernel_to_nic(hdr_len, host_mac, "10.0.2.1", "10.0.2.15",
                                             "partial"), ==, 1);
        net_peer_set_offloads(&nic.nc, &off);
        g_assert_false(tx_csum("hyvmtap0"));
    }

    net_fake_fini(&nic);
    net_client_uninit(nc);
    g_assert_null(net_netdev_find("t0"));
    g_assert_cmpuint(if_nametoindex("hyvmtap0"), ==, 0);    /* gone with its fd */
}

static void test_traffic_plain(void)
{
    run_in_child(child_traffic, GUINT_TO_POINTER(0));
}

static void test_traffic_vnet_hdr(void)
{
    run_in_child(child_traffic, GUINT_TO_POINTER(12));
}

/* The test's own tap; flags decide IFF_VNET_HDR. */
static int open_tap(const char *name, short flags)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | flags };
    int fd = open("/dev/net/tun", O_RDWR);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
    g_assert_cmpint(ioctl(fd, TUNSETIFF, &ifr), ==, 0);
    return fd;
}

/* fd= and fds= with taps the test opened; vnet_hdr= on and off. */
static void child_fd(const void *arg)
{
    g_autoptr(GError) err = NULL;
    int fd = open_tap("hyvmtap1", 0), vfd = open_tap("hyvmtap2", IFF_VNET_HDR);
    g_autofree char *opts = g_strdup_printf("tap,id=t0,fd=%d", fd);
    g_autofree char *vopts = g_strdup_printf("tap,id=t1,fds=%d,sndbuf=64k", vfd);
    g_autofree char *info = g_strdup_printf("fd=%d", fd);
    struct net_client *nc;
    uint8_t host_mac[6];

    g_assert_cmpint(tap_init(opts, &err), ==, 0);
    g_assert_no_error(err);
    nc = net_netdev_find("t0");
    g_assert_cmpstr(nc->info_str, ==, info);
    g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    net_fake_nic_attach(&nic, "t0");
    g_assert_false(net_peer_has_vnet_hdr(&nic.nc));
    link_setup("hyvmtap1", "10.0.3.1", "10.0.3.15", host_mac);
    check_nic_to_kernel(0, host_mac, "10.0.3.1", "10.0.3.15", "by fd");
    check_kernel_to_nic(0, host_mac, "10.0.3.1", "10.0.3.15", "to fd");
    net_fake_fini(&nic);
    net_client_uninit(nc);
    g_assert_cmpint(fcntl(fd, F_GETFD), <, 0);      /* the back end closed it */

    /* fds= with one tap: its IFF_VNET_HDR is ours. */
    g_assert_cmpint(tap_init(vopts, &err), ==, 0);
    g_assert_no_error(err);
    nc = net_netdev_find("t1");
    net_fake_nic_attach(&nic, "t1");
    g_assert_true(net_peer_has_vnet_hdr(&nic.nc));
    net_fake_fini(&nic);
    net_client_uninit(nc);

    /* ifname= with vnet_hdr=off: plain frames whatever the kernel offers;
     * vnet_hdr=on: required, and every Linux has it. */
    g_assert_cmpint(tap_init("tap,id=t2,ifname=hyvmtap5,script=no,downscript=no,"
                             "vnet_hdr=off", &err), ==, 0);
    nc = net_netdev_find("t2");
    g_assert_false(nc->ops->has_vnet_hdr(nc));
    net_client_uninit(nc);
    g_assert_cmpint(tap_init("tap,id=t3,ifname=hyvmtap5,script=no,downscript=no,"
                             "vnet_hdr=on", &err), ==, 0);
    nc = net_netdev_find("t3");
    g_assert_true(nc->ops->has_vnet_hdr(nc));
    net_client_uninit(nc);
    g_assert_no_error(err);
}

static void test_fd(void)
{
    run_in_child(child_fd, NULL);
}

static char *write_script(const char *dir, const char *name, const char *body)
{
    char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);

    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_assert_cmpint(chmod(path, 0755), ==, 0);
    return path;
}

static void child_scripts(const void *arg)
{
    const char *dir = arg;
    g_autofree char *up_log = g_build_filename(dir, "up.log", NULL);
    g_autofree char *down_log = g_build_filename(dir, "down.log", NULL);
    g_autofree char *up_body = g_strdup_printf("echo \"$1\" > %s", up_log);
    g_autofree char *down_body = g_strdup_printf("echo \"$1\" > %s", down_log);
    g_autofree char *up = write_script(dir, "up", up_body);
    g_autofree char *down = write_script(dir, "down", down_body);
    g_autofree char *bad = write_script(dir, "bad", "exit 3");
    g_autofree char *opts = g_strdup_printf("tap,id=t0,ifname=hyvmtap3,script=%s,"
                                            "downscript=%s", up, down);
    g_autofree char *info = g_strdup_printf("ifname=hyvmtap3,script=%s,downscript=%s", up,
                                            down);
    g_autofree char *bad_opts = g_strdup_printf("tap,id=t0,ifname=hyvmtap4,script=%s", bad);
    g_autofree char *bad_msg = g_strdup_printf("network script %s failed with status 768",
                                               bad);
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    struct net_client *nc;

    g_assert_cmpint(tap_init(opts, &err), ==, 0);
    g_assert_no_error(err);
    nc = net_netdev_find("t0");
    g_assert_cmpstr(nc->info_str, ==, info);
    g_assert_true(g_file_get_contents(up_log, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "hyvmtap3\n");
    g_assert_false(g_file_test(down_log, G_FILE_TEST_EXISTS));
    net_client_uninit(nc);
    g_free(text);
    g_assert_true(g_file_get_contents(down_log, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "hyvmtap3\n");

    /* A failing script: QEMU's raw wait status; the tap goes again. */
    assert_init_error(bad_opts, bad_msg);
    g_assert_cmpuint(if_nametoindex("hyvmtap4"), ==, 0);
    g_unlink(up_log);
    g_unlink(down_log);
    g_unlink(up);
    g_unlink(down);
    g_unlink(bad);
}

static void test_scripts(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-net-tap-XXXXXX", NULL);

    g_assert_nonnull(dir);
    run_in_child(child_scripts, dir);
    /* The child removes its files unless it failed half-way. */
    for (const char *const *n = (const char *const[]){ "up", "down", "bad", "up.log",
                                                       "down.log", NULL }; *n; n++) {
        g_autofree char *p = g_build_filename(dir, *n, NULL);

        g_unlink(p);
    }
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Without CAP_NET_ADMIN the kernel refuses to make a tap: QEMU's message. */
static void child_no_net_admin(const void *arg)
{
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct d[2];

    g_assert_cmpint(syscall(SYS_capget, &h, d), ==, 0);
    d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
    g_assert_cmpint(syscall(SYS_capset, &h, d), ==, 0);
    assert_init_error("tap,id=t0,ifname=hyvmtap0,script=no,downscript=no",
                      "could not configure /dev/net/tun (hyvmtap0): Operation not permitted");
    assert_init_error("tap,id=t0,script=no,downscript=no",
                      "could not configure /dev/net/tun: Operation not permitted");
}

static void test_no_net_admin(void)
{
    run_in_child(child_no_net_admin, NULL);
}

/* A host without /dev/net/tun (an empty /dev/net in a mount namespace). */
static void child_no_tun(const void *arg)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("none", "/dev/net", "tmpfs", 0, NULL) < 0) {
        _exit(CHILD_SKIP_MOUNTNS);
    }
    assert_init_error("tap,id=t0,ifname=hyvmtap0,script=no,downscript=no",
                      "could not open /dev/net/tun: No such file or directory");
}

static void test_no_tun(void)
{
    run_in_child(child_no_tun, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net-tap/options", test_options);
    g_test_add_func("/net-tap/fd-errors", test_fd_errors);
    g_test_add_func("/net-tap/traffic-plain", test_traffic_plain);
    g_test_add_func("/net-tap/traffic-vnet-hdr", test_traffic_vnet_hdr);
    g_test_add_func("/net-tap/fd", test_fd);
    g_test_add_func("/net-tap/scripts", test_scripts);
    g_test_add_func("/net-tap/no-net-admin", test_no_net_admin);
    g_test_add_func("/net-tap/no-tun", test_no_tun);
    return g_test_run();
}
