/*
 * -netdev user's options and forwarding rules, read as QEMU 7.2 reads them:
 * QAPI's typed members (booleans with y/n, ipv6-prefixlen an int64),
 * ipv6-net= split first, unknown keys last; then net_slirp_init's address
 * checks and the hostfwd=/guestfwd= syntax, each with QEMU's message.
 * Nothing here opens anything: net_user_check is all of it.
 *
 * Threads: any (pure parsing); callers hold the big lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "net/slirp-int.h"
#include "system/error.h"
#include "system/keyval.h"

void net_user_error(GError **errp, const char *fmt, ...)
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
    net_user_error(errp, "Parameter '%s' expects 'on' or 'off'", key);
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

int net_user_hostfwd_parse(const char *rule, struct net_user_fwd *f, GError **errp)
{
    const char *reason = net_user_hostfwd_syntax(rule, f);

    if (reason) {
        net_user_error(errp, "Invalid host forwarding rule '%s' (%s)", rule, reason);
        return -EINVAL;
    }
    return 0;
}

/* ---- guest forwarding rules ---- */

/* "[tcp]:[server]:port-DEV": the server and port, and DEV at *dev. */
int net_user_guestfwd_parse(const char *rule, struct in_addr *server, int *port,
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
        net_user_error(errp, "Invalid guest forwarding rule '%s'", rule);
        return -EINVAL;
    }
    *port = v;
    *dev = p;
    return 0;
}

/* ---- options ---- */

static const char *const net_user_keys[] = {
    "type", "id", "hostname", "restrict", "ipv4", "ipv6", "ip", "net", "host", "tftp",
    "bootfile", "dhcpstart", "dns", "dnssearch", "domainname", "ipv6-net", "ipv6-prefix",
    "ipv6-prefixlen", "ipv6-host", "ipv6-dns", "smb", "smbserver", "hostfwd", "guestfwd",
    "tftp-server-name", NULL,
};

void net_user_opts_free(struct net_user_opts *o)
{
    g_free(o->prefix6_str);
    g_ptr_array_free(o->dnssearch, TRUE);
    g_ptr_array_free(o->hostfwd, TRUE);
    g_ptr_array_free(o->guestfwd, TRUE);
}

/* ipv6-prefixlen=, a QAPI int64 (0 for QEMU's default, 64). */
static int net_user_parse_prefixlen(const char *v, struct net_user_opts *o, GError **errp)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 0);
    if (!*v || *end || errno) {
        net_user_error(errp, "Parameter 'ipv6-prefixlen' expects an int64 value");
        return -EINVAL;
    }
    o->prefix6_len = n < INT_MIN || n > INT_MAX ? -1 : (int)n;
    return 0;
}

/* ipv6-net=ADDR[/LEN], QEMU's shorthand for ipv6-prefix= and ipv6-prefixlen=
 * (LEN 64 when left out), read before anything else as QEMU does. */
static int net_user_parse_ipv6_net(const char *v, struct net_user_opts *o, GError **errp)
{
    const char *slash = strchr(v, '/');
    unsigned long n = 64;

    if (slash) {
        char *end;

        errno = 0;
        n = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || errno) {
            net_user_error(errp, "Parameter 'ipv6-prefixlen' expects a number");
            return -EINVAL;
        }
    }
    g_free(o->prefix6_str);     /* it wins over ipv6-prefix= */
    o->prefix6_str = slash ? g_strndup(v, slash - v) : g_strdup(v);
    o->prefix6_len = n > INT_MAX ? -1 : (int)n;
    return 0;
}

/* Keys, booleans, numbers and the repeated keys, as QEMU's QAPI reads
 * them: ipv6-net= first, the typed members in schema order, unknown keys last. */
static int net_user_parse_keys(const struct kv_list *kv, struct net_user_opts *o,
                               GError **errp)
{
    bool has4, has6, has_r, v4 = false, v6 = false;
    const char *v;

    o->dnssearch = g_ptr_array_new();
    o->hostfwd = g_ptr_array_new();
    o->guestfwd = g_ptr_array_new();
    o->prefix6_str = g_strdup(kv_get(kv, "ipv6-prefix"));
    if ((v = kv_get(kv, "ipv6-net")) && net_user_parse_ipv6_net(v, o, errp) < 0) {
        return -EINVAL;
    }
    if (net_user_bool(kv, "restrict", &o->restricted, &has_r, errp) < 0 ||
        net_user_bool(kv, "ipv4", &v4, &has4, errp) < 0 ||
        net_user_bool(kv, "ipv6", &v6, &has6, errp) < 0) {
        return -EINVAL;
    }
    if (!kv_has(kv, "ipv6-net") && (v = kv_get(kv, "ipv6-prefixlen")) &&
        net_user_parse_prefixlen(v, o, errp) < 0) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        const struct kv_pair *it = &kv->items[i];

        if (!g_strv_contains(net_user_keys, it->key)) {
            net_user_error(errp, "Invalid parameter '%s'", it->key);
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
    o->ipv4 = !((has6 && v6 && !has4) || (has4 && !v4));
    o->ipv6 = !((has4 && v4 && !has6) || (has6 && !v6));
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
            net_user_error(errp, "Failed to parse netmask");
            return -EINVAL;
        }
        o->mask.s_addr = htonl(net_user_class_mask(ntohl(o->net.s_addr)));
    } else {
        long bits;
        char *end;

        if (!inet_aton(addr, &o->net)) {
            net_user_error(errp, "Failed to parse netmask");
            return -EINVAL;
        }
        bits = strtol(p, &end, 10);
        if (*end) {
            if (!inet_aton(p, &o->mask)) {
                net_user_error(errp, "Failed to parse netmask (trailing chars)");
                return -EINVAL;
            }
        } else if (bits < 4 || bits > 32) {
            net_user_error(errp, "Invalid netmask provided (must be in range 4-32)");
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
        net_user_error(errp, "IPv4 disabled but netmask/host/dns provided");
        return -EINVAL;
    }
    if (!o->ipv6 && (o->prefix6_str || kv_get(kv, "ipv6-host") ||
                     kv_get(kv, "ipv6-dns"))) {
        net_user_error(errp, "IPv6 disabled but prefix/host6/dns6 provided");
        return -EINVAL;
    }
    if (!o->ipv4 && !o->ipv6) {
        net_user_error(errp, "IPv4 and IPv6 disabled");
        return -EINVAL;
    }
    if (vnet && net_user_parse_net(vnet, o, errp) < 0) {
        return -EINVAL;
    }
    if (host && !inet_aton(host, &o->host)) {
        net_user_error(errp, "Failed to parse host");
        return -EINVAL;
    }
    if (!net_user_in_net(o, o->host)) {
        net_user_error(errp, "Host doesn't belong to network");
        return -EINVAL;
    }
    if (dns && !inet_aton(dns, &o->dns)) {
        net_user_error(errp, "Failed to parse DNS");
        return -EINVAL;
    }
    if (o->restricted && !net_user_in_net(o, o->dns)) {
        net_user_error(errp, "DNS doesn't belong to network");
        return -EINVAL;
    }
    if (o->dns.s_addr == o->host.s_addr) {
        net_user_error(errp, "DNS must be different from host");
        return -EINVAL;
    }
    if (dhcp && !inet_aton(dhcp, &o->dhcp)) {
        net_user_error(errp, "Failed to parse DHCP start address");
        return -EINVAL;
    }
    if (!net_user_in_net(o, o->dhcp)) {
        net_user_error(errp, "DHCP doesn't belong to network");
        return -EINVAL;
    }
    if (o->dhcp.s_addr == o->host.s_addr || o->dhcp.s_addr == o->dns.s_addr) {
        net_user_error(errp, "DHCP must be different from host and DNS");
        return -EINVAL;
    }
    if (smbserver && !inet_aton(smbserver, &smb)) {
        net_user_error(errp, "Failed to parse SMB address");
        return -EINVAL;
    }
    return 0;
}

static int net_user_parse_ipv6(const struct kv_list *kv, struct net_user_opts *o,
                               GError **errp)
{
    const char *prefix = o->prefix6_str ?: "fec0::";
    const char *host = kv_get(kv, "ipv6-host"), *dns = kv_get(kv, "ipv6-dns");

    if (inet_pton(AF_INET6, prefix, &o->prefix6) != 1) {
        net_user_error(errp, "Failed to parse IPv6 prefix");
        return -EINVAL;
    }
    if (!o->prefix6_len) {
        o->prefix6_len = 64;
    }
    if (o->prefix6_len < 0 || o->prefix6_len > 126) {
        net_user_error(errp, "Invalid IPv6 prefix provided "
                     "(IPv6 prefix length must be between 0 and 126)");
        return -EINVAL;
    }
    o->host6 = o->prefix6;
    o->host6.s6_addr[15] |= 2;
    if (host && inet_pton(AF_INET6, host, &o->host6) != 1) {
        net_user_error(errp, "Failed to parse IPv6 host");
        return -EINVAL;
    }
    if (host && !net_user_in6_same_net(&o->prefix6, &o->host6, o->prefix6_len)) {
        net_user_error(errp, "IPv6 Host doesn't belong to network");
        return -EINVAL;
    }
    o->dns6 = o->prefix6;
    o->dns6.s6_addr[15] |= 3;
    if (dns && inet_pton(AF_INET6, dns, &o->dns6) != 1) {
        net_user_error(errp, "Failed to parse IPv6 DNS");
        return -EINVAL;
    }
    if (dns && o->restricted &&
        !net_user_in6_same_net(&o->prefix6, &o->dns6, o->prefix6_len)) {
        net_user_error(errp, "IPv6 DNS doesn't belong to network");
        return -EINVAL;
    }
    return 0;
}

static int net_user_parse_names(const struct net_user_opts *o, GError **errp)
{
    if (o->domainname && !*o->domainname) {
        net_user_error(errp, "'domainname' parameter cannot be empty");
        return -EINVAL;
    }
    if (o->domainname && strlen(o->domainname) > 255) {
        net_user_error(errp, "'domainname' parameter cannot exceed 255 bytes");
        return -EINVAL;
    }
    if (o->hostname && strlen(o->hostname) > 255) {
        net_user_error(errp, "'vhostname' parameter cannot exceed 255 bytes");
        return -EINVAL;
    }
    if (o->tftp_server_name && strlen(o->tftp_server_name) > 255) {
        net_user_error(errp, "'tftp-server-name' parameter cannot exceed 255 bytes");
        return -EINVAL;
    }
    return 0;
}

/* Everything QEMU checks before and while it sets the stack up, in its
 * order: addresses, names, then guestfwd= and hostfwd= rules (the last
 * given first), then smb=. */
int net_user_opts_parse(const struct kv_list *kv, struct net_user_opts *o, GError **errp)
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
        if (net_user_guestfwd_parse(g_ptr_array_index(o->guestfwd, i), &server, &port,
                                     &dev, errp) < 0) {
            return -EINVAL;
        }
    }
    for (unsigned i = 0; i < o->hostfwd->len; i++) {
        if (net_user_hostfwd_parse(g_ptr_array_index(o->hostfwd, i), &f, errp) < 0) {
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
    int ret = net_user_opts_parse(kv, &o, errp);

    net_user_opts_free(&o);
    return ret;
}

/* "[tcp|udp]:[hostaddr]:hostport", the port a whole decimal int. */
bool net_user_hostfwd_remove_parse(const char *rule, struct net_user_fwd *f)
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
