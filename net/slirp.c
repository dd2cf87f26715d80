/*
 * -netdev user, as QEMU 7.2's: libslirp 4.7 gives the guest a NATed
 * network (DHCP, DNS forwarding, TFTP, ARP and ICMP for the virtual host)
 * whose TCP and UDP reach the host's sockets; hostfwd= rules forward host
 * ports to the guest and guestfwd= connects a guest address to a chardev or
 * a command.  Frames are plain Ethernet (no virtio-net header).
 *
 * Main loop: one GSource per stack asks libslirp for its sockets and
 * timeout in prepare() and hands the poll results back in dispatch(); each
 * libslirp timer is a GSource with a ready time on the monotonic clock,
 * the same clock libslirp reads.  A frame from a vCPU thread wakes the loop
 * so that a socket libslirp just opened is polled at once.
 *
 * Options are checked in full by net_user_check (QEMU's messages, in
 * QEMU's order); init only binds and connects.
 *
 * Threads: big lock held: the main thread's glib loop (sockets, timers,
 * chardev input, the monitor) and vCPU threads (frames from the NIC).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slirp/libslirp.h>

#include "chardev/chardev.h"
#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/log.h"

struct net_user {
    struct net_client nc;
    Slirp *slirp;
    GSource *poll_src;
    GArray *pollfds;            /* GPollFD, attached to poll_src until the next prepare */
    int64_t deadline;           /* µs, monotonic: libslirp's timers want a poll; or -1 */
    GSList *guestfwds;          /* struct net_user_guestfwd * */
};

struct net_user_poll_source {
    GSource base;
    struct net_user *s;
};

struct net_user_timer {
    GSource base;
    struct net_user *s;
    SlirpTimerId id;
    void *cb_opaque;
};

/* A guestfwd= to a chardev: the guest's connection to server:port. */
struct net_user_guestfwd {
    struct char_fe fe;
    struct net_user *s;
    struct in_addr server;
    int port;
};

/* Every stack, in creation order (hostfwd_add without a netdev takes the first). */
static GList *net_user_stacks;

/* What -netdev user's options say, checked. */
struct net_user_opts {
    bool restricted, ipv4, ipv6;
    struct in_addr net, mask, host, dhcp, dns;
    struct in6_addr prefix6, host6, dns6;
    int prefix6_len;
    const char *hostname, *domainname, *tftp, *bootfile, *tftp_server_name;
    GPtrArray *dnssearch;       /* const char *, NULL-terminated */
    GPtrArray *hostfwd, *guestfwd;  /* const char *, in QEMU's order (last given first) */
};

static void net_user_err(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void net_user_err(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(HYVM_ERROR, HYVM_ERROR_FAILED, fmt, ap));
    va_end(ap);
}

/* ---- parsing helpers ---- */

/* The text of *pp up to sep (a new string), *pp moved past sep; NULL if no sep. */
static char *net_user_sep(const char **pp, int sep)
{
    const char *end = strchr(*pp, sep);
    char *part;

    if (!end) {
        return NULL;
    }
    part = g_strndup(*pp, end - *pp);
    *pp = end + 1;
    return part;
}

/* strtol over the whole string, as QEMU 7.2's rules read ports ("" is 0). */
static bool net_user_long(const char *s, int base, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, base);
    return !*end && !errno;
}

/* QEMU's booleans, y/n included. */
static int net_user_bool(const struct kv_list *kv, const char *key, bool *out,
                         bool *given, GError **errp)
{
    const char *v = kv_get(kv, key);

    *given = v != NULL;
    if (!v) {
        return 0;
    }
    if (parse_bool(v, out)) {
        return 0;
    }
    if (!strcmp(v, "y") || !strcmp(v, "n")) {
        *out = *v == 'y';
        return 0;
    }
    net_user_err(errp, "Parameter '%s' expects 'on' or 'off'", key);
    return -EINVAL;
}

static bool net_user_in6_same_net(const struct in6_addr *a, const struct in6_addr *b,
                                  int len)
{
    for (int i = 0; i < len; i++) {
        int bit = 0x80 >> (i % 8);

        if ((a->s6_addr[i / 8] & bit) != (b->s6_addr[i / 8] & bit)) {
            return false;
        }
    }
    return true;
}

/* ---- host forwarding rules ---- */

struct net_user_fwd {
    bool udp;
    struct sockaddr_in host, guest;
};

/* "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport": NULL when valid,
 * else QEMU's reason. */
static const char *net_user_hostfwd_syntax(const char *rule, struct net_user_fwd *f)
{
    g_autofree char *proto = NULL, *haddr = NULL, *hport = NULL, *gaddr = NULL;
    const char *p = rule;
    long port;

    memset(f, 0, sizeof(*f));
    f->host.sin_family = f->guest.sin_family = AF_INET;
    if (!(proto = net_user_sep(&p, ':'))) {
        return "No : separators";
    }
    if (strcmp(proto, "tcp") && *proto && strcmp(proto, "udp")) {
        return "Bad protocol name";
    }
    f->udp = !strcmp(proto, "udp");
    if (!(haddr = net_user_sep(&p, ':'))) {
        return "Missing : separator";
    }
    if (*haddr && !inet_aton(haddr, &f->host.sin_addr)) {
        return "Bad host address";
    }
    if (!(hport = net_user_sep(&p, '-'))) {
        return "Bad host port separator";
    }
    if (!net_user_long(hport, 0, &port) || port < 0 || port > 65535) {
        return "Bad host port";
    }
    f->host.sin_port = htons(port);
    if (!(gaddr = net_user_sep(&p, ':'))) {
        return "Missing guest address";
    }
    if (*gaddr && !inet_aton(gaddr, &f->guest.sin_addr)) {
        return "Bad guest address";
    }
    if (!net_user_long(p, 0, &port) || port < 1 || port > 65535) {
        return "Bad guest port";
    }
    f->guest.sin_port = htons(port);
    return NULL;
}

static int net_user_hostfwd_check(const char *rule, struct net_user_fwd *f, GError **errp)
{
    const char *reason = net_user_hostfwd_syntax(rule, f);

    if (reason) {
        net_user_err(errp, "Invalid host forwarding rule '%s' (%s)", rule, reason);
        return -EINVAL;
    }
    return 0;
}

/* A guest address 0 means the first DHCP address (libslirp fills it in). */
static int net_user_hostfwd_setup(struct net_user *s, const char *rule, GError **errp)
{
    struct net_user_fwd f;

    if (net_user_hostfwd_check(rule, &f, errp) < 0) {
        return -EINVAL;
    }
    if (slirp_add_hostxfwd(s->slirp, (struct sockaddr *)&f.host, sizeof(f.host),
                           (struct sockaddr *)&f.guest, sizeof(f.guest),
                           f.udp ? SLIRP_HOSTFWD_UDP : 0) < 0) {
        net_user_err(errp, "Could not set up host forwarding rule '%s'", rule);
        return -EADDRINUSE;
    }
    return 0;
}

/* ---- guest forwarding rules ---- */

/* "[tcp]:[server]:port-DEV": the server and port, and DEV at *dev. */
static int net_user_guestfwd_syntax(const char *rule, struct in_addr *server, int *port,
                                    const char **dev, GError **errp)
{
    g_autofree char *proto = NULL, *addr = NULL, *pstr = NULL;
    const char *p = rule;
    long v;

    server->s_addr = 0;
    if (!(proto = net_user_sep(&p, ':')) || (strcmp(proto, "tcp") && *proto) ||
        !(addr = net_user_sep(&p, ':')) || (*addr && !inet_aton(addr, server)) ||
        !(pstr = net_user_sep(&p, '-')) || !net_user_long(pstr, 10, &v) || v < 1 ||
        v > 65535) {
        net_user_err(errp, "Invalid guest forwarding rule '%s'", rule);
        return -EINVAL;
    }
    *port = v;
    *dev = p;
    return 0;
}

static int net_user_guestfwd_can_receive(void *opaque)
{
    struct net_user_guestfwd *fwd = opaque;

    return MIN(slirp_socket_can_recv(fwd->s->slirp, fwd->server, fwd->port), INT_MAX);
}

static void net_user_guestfwd_receive(void *opaque, const uint8_t *buf, int len)
{
    struct net_user_guestfwd *fwd = opaque;

    slirp_socket_recv(fwd->s->slirp, fwd->server, fwd->port, buf, len);
}

/* What the guest sent to server:port goes to the chardev. */
static ssize_t net_user_guestfwd_write(const void *buf, size_t len, void *opaque)
{
    struct net_user_guestfwd *fwd = opaque;

    return chr_fe_write_all(&fwd->fe, buf, MIN(len, (size_t)INT_MAX));
}

static void net_user_guestfwd_free(gpointer data)
{
    struct net_user_guestfwd *fwd = data;

    chr_fe_deinit(&fwd->fe);
    g_free(fwd);
}

static int net_user_guestfwd_chardev(struct net_user *s, const char *rule,
                                     struct in_addr server, int port, const char *dev,
                                     GError **errp)
{
    g_autofree char *label = g_strdup_printf("guestfwd.tcp.%d", port);
    g_autoptr(GError) err = NULL;
    struct chardev *chr = chardev_new_from_cli(dev, label, &err);
    struct net_user_guestfwd *fwd;

    if (!chr) {
        if (err) {
            error_report("%s", err->message);
        }
        net_user_err(errp, "Could not open guest forwarding device '%s'", label);
        return -EINVAL;
    }
    fwd = g_new0(struct net_user_guestfwd, 1);
    if (chr_fe_init(&fwd->fe, chr, errp) < 0) {
        g_free(fwd);
        return -EBUSY;
    }
    if (slirp_add_guestfwd(s->slirp, net_user_guestfwd_write, fwd, &server, port) < 0) {
        net_user_err(errp, "Conflicting/invalid host:port in guest forwarding rule '%s'",
                     rule);
        net_user_guestfwd_free(fwd);
        return -EINVAL;
    }
    fwd->s = s;
    fwd->server = server;
    fwd->port = port;
    chr_fe_set_handlers(&fwd->fe, net_user_guestfwd_can_receive, net_user_guestfwd_receive,
                        NULL, fwd);
    s->guestfwds = g_slist_append(s->guestfwds, fwd);
    return 0;
}

/* "cmd:COMMAND" runs COMMAND for every connection; anything else names a chardev. */
static int net_user_guestfwd_setup(struct net_user *s, const char *rule, GError **errp)
{
    struct in_addr server;
    const char *dev;
    int port;

    if (net_user_guestfwd_syntax(rule, &server, &port, &dev, errp) < 0) {
        return -EINVAL;
    }
    if (g_str_has_prefix(dev, "cmd:")) {
        if (slirp_add_exec(s->slirp, dev + 4, &server, port) < 0) {
            net_user_err(errp, "Conflicting/invalid host:port in guest forwarding rule '%s'",
                         rule);
            return -EINVAL;
        }
        return 0;
    }
    return net_user_guestfwd_chardev(s, rule, server, port, dev, errp);
}

/* ---- options ---- */

static const char *const net_user_keys[] = {
    "type", "id", "hostname", "restrict", "ipv4", "ipv6", "ip", "net", "host", "tftp",
    "bootfile", "dhcpstart", "dns", "dnssearch", "domainname", "ipv6-prefix",
    "ipv6-prefixlen", "ipv6-host", "ipv6-dns", "smb", "smbserver", "hostfwd", "guestfwd",
    "tftp-server-name", NULL,
};

static void net_user_opts_free(struct net_user_opts *o)
{
    g_ptr_array_free(o->dnssearch, TRUE);
    g_ptr_array_free(o->hostfwd, TRUE);
    g_ptr_array_free(o->guestfwd, TRUE);
}

/* Keys, booleans, numbers and the repeated keys, as QEMU's QAPI reads them. */
static int net_user_parse_keys(const struct kv_list *kv, struct net_user_opts *o,
                               GError **errp)
{
    bool has4, has6, has_r, v4 = false, v6 = false;
    const char *v;

    o->dnssearch = g_ptr_array_new();
    o->hostfwd = g_ptr_array_new();
    o->guestfwd = g_ptr_array_new();
    for (unsigned i = 0; i < kv->n; i++) {
        const struct kv_pair *it = &kv->items[i];

        if (!g_strv_contains(net_user_keys, it->key)) {
            net_user_err(errp, "Invalid parameter '%s'", it->key);
            return -EINVAL;
        }
        if (!strcmp(it->key, "dnssearch")) {
            g_ptr_array_add(o->dnssearch, it->value);
        } else if (!strcmp(it->key, "hostfwd")) {
            g_ptr_array_insert(o->hostfwd, 0, it->value);
        } else if (!strcmp(it->key, "guestfwd")) {
            g_ptr_array_insert(o->guestfwd, 0, it->value);
        }
    }
    g_ptr_array_add(o->dnssearch, NULL);
    if (net_user_bool(kv, "restrict", &o->restricted, &has_r, errp) < 0 ||
        net_user_bool(kv, "ipv4", &v4, &has4, errp) < 0 ||
        net_user_bool(kv, "ipv6", &v6, &has6, errp) < 0) {
        return -EINVAL;
    }
    o->ipv4 = !((has6 && v6 && !has4) || (has4 && !v4));
    o->ipv6 = !((has4 && v4 && !has6) || (has6 && !v6));
    o->prefix6_len = 0;
    if ((v = kv_get(kv, "ipv6-prefixlen"))) {
        char *end;
        long long n;

        errno = 0;
        n = strtoll(v, &end, 0);
        if (!*v || *end || errno) {
            net_user_err(errp, "Parameter 'ipv6-prefixlen' expects an int64 value");
            return -EINVAL;
        }
        o->prefix6_len = n < INT_MIN || n > INT_MAX ? -1 : (int)n;
    }
    o->hostname = kv_get(kv, "hostname");
    o->domainname = kv_get(kv, "domainname");
    o->tftp = kv_get(kv, "tftp");
    o->bootfile = kv_get(kv, "bootfile");
    o->tftp_server_name = kv_get(kv, "tftp-server-name");
    return 0;
}

/* The class mask QEMU picks for net= without a /mask. */
static uint32_t net_user_class_mask(uint32_t a)
{
    if (!(a & 0x80000000)) {
        return 0xff000000;
    } else if ((a & 0xfff00000) == 0xac100000) {
        return 0xfff00000;
    } else if ((a & 0xc0000000) == 0x80000000) {
        return 0xffff0000;
    } else if ((a & 0xffff0000) == 0xc0a80000) {
        return 0xffff0000;
    } else if ((a & 0xffff0000) == 0xc6120000) {
        return 0xfffe0000;
    } else if ((a & 0xe0000000) == 0xe0000000) {
        return 0xffffff00;
    }
    return 0xfffffff0;
}

/* net=ADDR[/BITS|/MASK]; host, DHCP and DNS move into it. */
static int net_user_parse_net(const char *vnet, struct net_user_opts *o, GError **errp)
{
    const char *p = vnet;
    g_autofree char *addr = net_user_sep(&p, '/');

    if (!addr) {
        if (!inet_aton(vnet, &o->net)) {
            net_user_err(errp, "Failed to parse netmask");
            return -EINVAL;
        }
        o->mask.s_addr = htonl(net_user_class_mask(ntohl(o->net.s_addr)));
    } else {
        long bits;
        char *end;

        if (!inet_aton(addr, &o->net)) {
            net_user_err(errp, "Failed to parse netmask");
            return -EINVAL;
        }
        bits = strtol(p, &end, 10);
        if (*end) {
            if (!inet_aton(p, &o->mask)) {
                net_user_err(errp, "Failed to parse netmask (trailing chars)");
                return -EINVAL;
            }
        } else if (bits < 4 || bits > 32) {
            net_user_err(errp, "Invalid netmask provided (must be in range 4-32)");
            return -EINVAL;
        } else {
            o->mask.s_addr = htonl((uint32_t)(0xffffffffull << (32 - bits)));
        }
    }
    o->net.s_addr &= o->mask.s_addr;
    o->host.s_addr = o->net.s_addr | (htonl(0x0202) & ~o->mask.s_addr);
    o->dhcp.s_addr = o->net.s_addr | (htonl(0x020f) & ~o->mask.s_addr);
    o->dns.s_addr = o->net.s_addr | (htonl(0x0203) & ~o->mask.s_addr);
    return 0;
}

static bool net_user_in_net(const struct net_user_opts *o, struct in_addr a)
{
    return (a.s_addr & o->mask.s_addr) == o->net.s_addr;
}

static int net_user_parse_ipv4(const struct kv_list *kv, struct net_user_opts *o,
                               GError **errp)
{
    const char *host = kv_get(kv, "host"), *dns = kv_get(kv, "dns");
    const char *dhcp = kv_get(kv, "dhcpstart"), *smbserver = kv_get(kv, "smbserver");
    g_autofree char *vnet = kv_get(kv, "net") ? g_strdup(kv_get(kv, "net")) :
                            kv_get(kv, "ip") ? g_strdup_printf("%s/24", kv_get(kv, "ip")) :
                            NULL;
    struct in_addr smb;

    o->net.s_addr = htonl(0x0a000200);      /* 10.0.2.0/24, historic slirp */
    o->mask.s_addr = htonl(0xffffff00);
    o->host.s_addr = htonl(0x0a000202);
    o->dhcp.s_addr = htonl(0x0a00020f);
    o->dns.s_addr = htonl(0x0a000203);
    if (!o->ipv4 && (vnet || host || dns)) {
        net_user_err(errp, "IPv4 disabled but netmask/host/dns provided");
        return -EINVAL;
    }
    if (!o->ipv6 && (kv_get(kv, "ipv6-prefix") || kv_get(kv, "ipv6-host") ||
                     kv_get(kv, "ipv6-dns"))) {
        net_user_err(errp, "IPv6 disabled but prefix/host6/dns6 provided");
        return -EINVAL;
    }
    if (!o->ipv4 && !o->ipv6) {
        net_user_err(errp, "IPv4 and IPv6 disabled");
        return -EINVAL;
    }
    if (vnet && net_user_parse_net(vnet, o, errp) < 0) {
        return -EINVAL;
    }
    if (host && !inet_aton(host, &o->host)) {
        net_user_err(errp, "Failed to parse host");
        return -EINVAL;
    }
    if (!net_user_in_net(o, o->host)) {
        net_user_err(errp, "Host doesn't belong to network");
        return -EINVAL;
    }
    if (dns && !inet_aton(dns, &o->dns)) {
        net_user_err(errp, "Failed to parse DNS");
        return -EINVAL;
    }
    if (o->restricted && !net_user_in_net(o, o->dns)) {
        net_user_err(errp, "DNS doesn't belong to network");
        return -EINVAL;
    }
    if (o->dns.s_addr == o->host.s_addr) {
        net_user_err(errp, "DNS must be different from host");
        return -EINVAL;
    }
    if (dhcp && !inet_aton(dhcp, &o->dhcp)) {
        net_user_err(errp, "Failed to parse DHCP start address");
        return -EINVAL;
    }
    if (!net_user_in_net(o, o->dhcp)) {
        net_user_err(errp, "DHCP doesn't belong to network");
        return -EINVAL;
    }
    if (o->dhcp.s_addr == o->host.s_addr || o->dhcp.s_addr == o->dns.s_addr) {
        net_user_err(errp, "DHCP must be different from host and DNS");
        return -EINVAL;
    }
    if (smbserver && !inet_aton(smbserver, &smb)) {
        net_user_err(errp, "Failed to parse SMB address");
        return -EINVAL;
    }
    return 0;
}

static int net_user_parse_ipv6(const struct kv_list *kv, struct net_user_opts *o,
                               GError **errp)
{
    const char *prefix = kv_get(kv, "ipv6-prefix") ?: "fec0::";
    const char *host = kv_get(kv, "ipv6-host"), *dns = kv_get(kv, "ipv6-dns");

    if (inet_pton(AF_INET6, prefix, &o->prefix6) != 1) {
        net_user_err(errp, "Failed to parse IPv6 prefix");
        return -EINVAL;
    }
    if (!o->prefix6_len) {
        o->prefix6_len = 64;
    }
    if (o->prefix6_len < 0 || o->prefix6_len > 126) {
        net_user_err(errp, "Invalid IPv6 prefix provided "
                     "(IPv6 prefix length must be between 0 and 126)");
        return -EINVAL;
    }
    o->host6 = o->prefix6;
    o->host6.s6_addr[15] |= 2;
    if (host && inet_pton(AF_INET6, host, &o->host6) != 1) {
        net_user_err(errp, "Failed to parse IPv6 host");
        return -EINVAL;
    }
    if (host && !net_user_in6_same_net(&o->prefix6, &o->host6, o->prefix6_len)) {
        net_user_err(errp, "IPv6 Host doesn't belong to network");
        return -EINVAL;
    }
    o->dns6 = o->prefix6;
    o->dns6.s6_addr[15] |= 3;
    if (dns && inet_pton(AF_INET6, dns, &o->dns6) != 1) {
        net_user_err(errp, "Failed to parse IPv6 DNS");
        return -EINVAL;
    }
    if (dns && o->restricted &&
        !net_user_in6_same_net(&o->prefix6, &o->dns6, o->prefix6_len)) {
        net_user_err(errp, "IPv6 DNS doesn't belong to network");
        return -EINVAL;
    }
    return 0;
}

static int net_user_parse_names(const struct net_user_opts *o, GError **errp)
{
    if (o->domainname && !*o->domainname) {
        net_user_err(errp, "'domainname' parameter cannot be empty");
        return -EINVAL;
    }
    if (o->domainname && strlen(o->domainname) > 255) {
        net_user_err(errp, "'domainname' parameter cannot exceed 255 bytes");
        return -EINVAL;
    }
    if (o->hostname && strlen(o->hostname) > 255) {
        net_user_err(errp, "'vhostname' parameter cannot exceed 255 bytes");
        return -EINVAL;
    }
    if (o->tftp_server_name && strlen(o->tftp_server_name) > 255) {
        net_user_err(errp, "'tftp-server-name' parameter cannot exceed 255 bytes");
        return -EINVAL;
    }
    return 0;
}

/* Everything QEMU checks before and while it sets the stack up, in its
 * order: addresses, names, then guestfwd= and hostfwd= rules (the last
 * given first), then smb=. */
static int net_user_parse(const struct kv_list *kv, struct net_user_opts *o, GError **errp)
{
    struct in_addr server;
    struct net_user_fwd f;
    const char *dev;
    int port;

    if (net_user_parse_keys(kv, o, errp) < 0 || net_user_parse_ipv4(kv, o, errp) < 0 ||
        net_user_parse_ipv6(kv, o, errp) < 0 || net_user_parse_names(o, errp) < 0) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < o->guestfwd->len; i++) {
        if (net_user_guestfwd_syntax(g_ptr_array_index(o->guestfwd, i), &server, &port,
                                     &dev, errp) < 0) {
            return -EINVAL;
        }
    }
    for (unsigned i = 0; i < o->hostfwd->len; i++) {
        if (net_user_hostfwd_check(g_ptr_array_index(o->hostfwd, i), &f, errp) < 0) {
            return -EINVAL;
        }
    }
    if (kv_get(kv, "smb")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "smb= is not supported (hyvm runs no smbd)");
        return -ENOTSUP;
    }
    return 0;
}

int net_user_check(const struct kv_list *kv, GError **errp)
{
    struct net_user_opts o = { 0 };
    int ret = net_user_parse(kv, &o, errp);

    net_user_opts_free(&o);
    return ret;
}

/* ---- libslirp callbacks ---- */

static ssize_t net_user_send_packet(const void *pkt, size_t len, void *opaque)
{
    struct net_user *s = opaque;
    struct iovec iov = { .iov_base = (void *)pkt, .iov_len = len };

    /* A NIC without RX buffers queues it in net.c: nothing to wait for here. */
    net_send(&s->nc, &iov, 1, NULL);
    return len;
}

static void net_user_guest_error(const char *msg, void *opaque)
{
    if (log_enabled(LOG_GUEST_ERROR)) {
        hyvm_log("%s", msg);
    }
}

/* libslirp's clock and its timers' ready times are both g_get_monotonic_time(). */
static int64_t net_user_clock_get_ns(void *opaque)
{
    return g_get_monotonic_time() * 1000;
}

static void net_user_init_completed(Slirp *slirp, void *opaque)
{
    ((struct net_user *)opaque)->slirp = slirp;
}

static gboolean net_user_timer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    struct net_user_timer *t = (struct net_user_timer *)src;

    g_source_set_ready_time(src, -1);
    slirp_handle_timer(t->s->slirp, t->id, t->cb_opaque);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs net_user_timer_funcs = {
    .dispatch = net_user_timer_dispatch,
};

static void *net_user_timer_new(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    GSource *src = g_source_new(&net_user_timer_funcs, sizeof(struct net_user_timer));
    struct net_user_timer *t = (struct net_user_timer *)src;

    t->s = opaque;
    t->id = id;
    t->cb_opaque = cb_opaque;
    g_source_set_ready_time(src, -1);
    g_source_attach(src, NULL);
    return t;
}

static void net_user_timer_free(void *timer, void *opaque)
{
    GSource *src = timer;

    g_source_destroy(src);
    g_source_unref(src);
}

static void net_user_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    g_source_set_ready_time(timer, MAX(expire_ms, 0) * 1000);
}

/* Sockets are polled through slirp_pollfds_fill(): nothing to register. */
static void net_user_register_poll_fd(int fd, void *opaque)
{
}

static void net_user_unregister_poll_fd(int fd, void *opaque)
{
}

/* A guest TCP connection has room again: guestfwd chardevs may read. */
static void net_user_notify(void *opaque)
{
    struct net_user *s = opaque;

    for (GSList *l = s->guestfwds; l; l = l->next) {
        chr_fe_accept_input(&((struct net_user_guestfwd *)l->data)->fe);
    }
    g_main_context_wakeup(NULL);
}

static const SlirpCb net_user_callbacks = {
    .send_packet = net_user_send_packet,
    .guest_error = net_user_guest_error,
    .clock_get_ns = net_user_clock_get_ns,
    .timer_free = net_user_timer_free,
    .timer_mod = net_user_timer_mod,
    .register_poll_fd = net_user_register_poll_fd,
    .unregister_poll_fd = net_user_unregister_poll_fd,
    .notify = net_user_notify,
    .init_completed = net_user_init_completed,
    .timer_new_opaque = net_user_timer_new,
};

/* ---- the poll source ---- */

static int net_user_add_poll(int fd, int events, void *opaque)
{
    GArray *pollfds = opaque;
    GPollFD pfd = {
        .fd = fd,
        .events = (events & SLIRP_POLL_IN ? G_IO_IN : 0) |
                  (events & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
                  (events & SLIRP_POLL_PRI ? G_IO_PRI : 0) |
                  (events & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
                  (events & SLIRP_POLL_HUP ? G_IO_HUP : 0),
    };

    g_array_append_val(pollfds, pfd);
    return pollfds->len - 1;
}

static int net_user_get_revents(int idx, void *opaque)
{
    GArray *pollfds = opaque;
    int r;

    if (idx < 0 || (unsigned)idx >= pollfds->len) {
        return 0;
    }
    r = g_array_index(pollfds, GPollFD, idx).revents;
    return (r & G_IO_IN ? SLIRP_POLL_IN : 0) | (r & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
           (r & G_IO_PRI ? SLIRP_POLL_PRI : 0) | (r & G_IO_ERR ? SLIRP_POLL_ERR : 0) |
           (r & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

/* Rebuilds the poll set each iteration: libslirp's sockets come and go. */
static gboolean net_user_poll_prepare(GSource *src, gint *timeout)
{
    struct net_user *s = ((struct net_user_poll_source *)src)->s;
    uint32_t t = UINT32_MAX;

    for (unsigned i = 0; i < s->pollfds->len; i++) {
        g_source_remove_poll(src, &g_array_index(s->pollfds, GPollFD, i));
    }
    g_array_set_size(s->pollfds, 0);
    slirp_pollfds_fill(s->slirp, &t, net_user_add_poll, s->pollfds);
    for (unsigned i = 0; i < s->pollfds->len; i++) {
        g_source_add_poll(src, &g_array_index(s->pollfds, GPollFD, i));
    }
    s->deadline = t == UINT32_MAX ? -1 : g_source_get_time(src) + (int64_t)t * 1000;
    *timeout = t == UINT32_MAX ? -1 : (gint)t;
    return FALSE;
}

static gboolean net_user_poll_check(GSource *src)
{
    struct net_user *s = ((struct net_user_poll_source *)src)->s;

    for (unsigned i = 0; i < s->pollfds->len; i++) {
        if (g_array_index(s->pollfds, GPollFD, i).revents) {
            return TRUE;
        }
    }
    return s->deadline >= 0 && g_source_get_time(src) >= s->deadline;
}

static gboolean net_user_poll_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    struct net_user *s = ((struct net_user_poll_source *)src)->s;

    slirp_pollfds_poll(s->slirp, 0, net_user_get_revents, s->pollfds);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs net_user_poll_funcs = {
    .prepare = net_user_poll_prepare,
    .check = net_user_poll_check,
    .dispatch = net_user_poll_dispatch,
};

/* ---- the client ---- */

static ssize_t net_user_receive(struct net_client *nc, const struct iovec *iov, unsigned cnt)
{
    struct net_user *s = container_of(nc, struct net_user, nc);
    g_autofree uint8_t *flat = NULL;
    const uint8_t *buf = cnt ? iov[0].iov_base : NULL;
    size_t size = 0;

    for (unsigned i = 0; i < cnt; i++) {
        size += iov[i].iov_len;
    }
    if (size > INT_MAX) {
        return size;            /* no Ethernet frame is that big: dropped */
    }
    if (cnt > 1) {
        size_t off = 0;

        buf = flat = g_malloc(size);
        for (unsigned i = 0; i < cnt; i++) {
            memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
        }
    }
    slirp_input(s->slirp, buf, size);
    /* From a vCPU thread: the main loop polls the sockets this frame opened now. */
    if (!g_main_context_is_owner(g_main_context_default())) {
        g_main_context_wakeup(NULL);
    }
    return size;
}

static void net_user_cleanup(struct net_client *nc)
{
    struct net_user *s = container_of(nc, struct net_user, nc);

    net_user_stacks = g_list_remove(net_user_stacks, s);
    g_source_destroy(s->poll_src);
    g_source_unref(s->poll_src);
    g_slist_free_full(s->guestfwds, net_user_guestfwd_free);
    slirp_cleanup(s->slirp);
    g_array_free(s->pollfds, TRUE);
    g_free(s);
}

static const struct net_client_ops net_user_ops = {
    .type = NET_CLIENT_USER,
    .type_name = "user",
    .receive = net_user_receive,
    .cleanup = net_user_cleanup,
};

static struct net_user *net_user_new(const char *id, const struct net_user_opts *o)
{
    struct net_user *s = g_new0(struct net_user, 1);
    SlirpConfig cfg = {
        .version = 4,
        .restricted = o->restricted,
        .in_enabled = o->ipv4,
        .vnetwork = o->net,
        .vnetmask = o->mask,
        .vhost = o->host,
        .in6_enabled = o->ipv6,
        .vprefix_addr6 = o->prefix6,
        .vprefix_len = o->prefix6_len,
        .vhost6 = o->host6,
        .vhostname = o->hostname,
        .tftp_server_name = o->tftp_server_name,
        .tftp_path = o->tftp,
        .bootfile = o->bootfile,
        .vdhcp_start = o->dhcp,
        .vnameserver = o->dns,
        .vnameserver6 = o->dns6,
        .vdnssearch = o->dnssearch->len > 1 ? (const char **)o->dnssearch->pdata : NULL,
        .vdomainname = o->domainname,
    };

    net_client_init(&s->nc, &net_user_ops, "user", id, NULL);
    net_client_set_info(&s->nc, "net=%s,restrict=%s", inet_ntoa(o->net),
                        o->restricted ? "on" : "off");
    s->pollfds = g_array_new(FALSE, FALSE, sizeof(GPollFD));
    s->deadline = -1;
    s->slirp = slirp_new(&cfg, &net_user_callbacks, s);
    s->poll_src = g_source_new(&net_user_poll_funcs, sizeof(struct net_user_poll_source));
    ((struct net_user_poll_source *)s->poll_src)->s = s;
    g_source_attach(s->poll_src, NULL);
    net_user_stacks = g_list_append(net_user_stacks, s);
    return s;
}

int net_user_init(const char *id, const struct kv_list *kv, GError **errp)
{
    struct net_user_opts o = { 0 };
    struct net_user *s;
    int ret = net_user_parse(kv, &o, errp);

    if (ret < 0) {
        net_user_opts_free(&o);
        return ret;
    }
    s = net_user_new(id, &o);
    for (unsigned i = 0; ret == 0 && i < o.guestfwd->len; i++) {
        ret = net_user_guestfwd_setup(s, g_ptr_array_index(o.guestfwd, i), errp);
    }
    for (unsigned i = 0; ret == 0 && i < o.hostfwd->len; i++) {
        ret = net_user_hostfwd_setup(s, g_ptr_array_index(o.hostfwd, i), errp);
    }
    net_user_opts_free(&o);
    if (ret < 0) {
        net_client_uninit(&s->nc);
    }
    return ret;
}

/* ---- monitor ---- */

/* The stack named netdev, or the first one; QEMU's messages. */
static struct net_user *net_user_lookup(const char *netdev, GError **errp)
{
    struct net_client *nc;

    if (!netdev) {
        if (!net_user_stacks) {
            net_user_err(errp, "user mode network stack not in use");
            return NULL;
        }
        return net_user_stacks->data;
    }
    nc = net_netdev_find(netdev);
    if (!nc) {
        net_user_err(errp, "unrecognized netdev id '%s'", netdev);
        return NULL;
    }
    if (nc->ops->type != NET_CLIENT_USER) {
        net_user_err(errp, "invalid device specified");
        return NULL;
    }
    return container_of(nc, struct net_user, nc);
}

int net_user_hostfwd_add(const char *netdev, const char *rule, GError **errp)
{
    struct net_user *s = net_user_lookup(netdev, errp);

    return s ? net_user_hostfwd_setup(s, rule, errp) : -ENOENT;
}

/* "[tcp|udp]:[hostaddr]:hostport", the port a whole decimal int. */
static bool net_user_hostfwd_remove_syntax(const char *rule, struct net_user_fwd *f)
{
    g_autofree char *proto = NULL, *haddr = NULL;
    const char *p = rule;
    long port;

    memset(f, 0, sizeof(*f));
    f->host.sin_family = AF_INET;
    if (!(proto = net_user_sep(&p, ':')) ||
        (strcmp(proto, "tcp") && *proto && strcmp(proto, "udp")) ||
        !(haddr = net_user_sep(&p, ':')) || (*haddr && !inet_aton(haddr, &f->host.sin_addr)) ||
        !*p || !net_user_long(p, 10, &port) || port < INT_MIN || port > INT_MAX) {
        return false;
    }
    f->udp = !strcmp(proto, "udp");
    f->host.sin_port = htons((uint16_t)port);
    return true;
}

int net_user_hostfwd_remove(const char *netdev, const char *rule, GString *out,
                            GError **errp)
{
    struct net_user *s = net_user_lookup(netdev, errp);
    struct net_user_fwd f;
    int err;

    if (!s) {
        return -ENOENT;
    }
    if (!net_user_hostfwd_remove_syntax(rule, &f)) {
        net_user_err(errp, "invalid format");
        return -EINVAL;
    }
    err = slirp_remove_hostxfwd(s->slirp, (struct sockaddr *)&f.host, sizeof(f.host),
                                f.udp ? SLIRP_HOSTFWD_UDP : 0);
    g_string_append_printf(out, "host forwarding rule for %s %s\n", rule,
                           err ? "not found" : "removed");
    return 0;
}

/* QEMU's hub id of a stack on a -net hub: its port's info says "hub=N". */
static int net_user_hub_id(const struct net_user *s)
{
    unsigned id;

    if (s->nc.peer && s->nc.peer->ops->type == NET_CLIENT_HUBPORT && s->nc.peer->info_str &&
        sscanf(s->nc.peer->info_str, "hub=%u", &id) == 1) {
        return id;
    }
    return -1;
}

void net_user_info_usernet(GString *out)
{
    for (GList *l = net_user_stacks; l; l = l->next) {
        struct net_user *s = l->data;
        g_autofree char *info = slirp_connection_info(s->slirp);

        g_string_append_printf(out, "Hub %d (%s):\n%s", net_user_hub_id(s), s->nc.name, info);
    }
}
