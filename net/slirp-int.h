/*
 * -netdev user's insides shared by net/slirp.c (the stack on the main
 * loop, the monitor) and net/slirp-opts.c (its options and forwarding
 * rules, read with QEMU 7.2's rules and messages).  Private to the two.
 *
 * Threads: as net/slirp.c: big lock held.
 */
#ifndef HYVM_NET_SLIRP_INT_H
#define HYVM_NET_SLIRP_INT_H

#include <stdbool.h>
#include <netinet/in.h>
#include <glib.h>

struct kv_list;

/* What -netdev user's options say, checked. */
struct net_user_opts {
    bool restricted, ipv4, ipv6;
    struct in_addr net, mask, host, dhcp, dns;
    struct in6_addr prefix6, host6, dns6;
    char *prefix6_str;          /* ipv6-prefix=, or ipv6-net='s address; NULL: fec0:: */
    int prefix6_len;
    const char *hostname, *domainname, *tftp, *bootfile, *tftp_server_name;
    GPtrArray *dnssearch;       /* const char *, NULL-terminated */
    GPtrArray *hostfwd, *guestfwd;  /* const char *, in QEMU's order (last given first) */
};

/* A host forwarding rule: a guest address 0 means the first DHCP address. */
struct net_user_fwd {
    bool udp;
    struct sockaddr_in host, guest;
};

/* A HYVM_ERROR_FAILED error in errp. */
void net_user_error(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * Everything QEMU checks before and while it sets a stack up, in its order:
 * addresses, names, then the guestfwd= and hostfwd= rules' syntax, then
 * smb= (refused).  o points into kv; free it with net_user_opts_free even
 * when parsing failed.
 */
int net_user_opts_parse(const struct kv_list *kv, struct net_user_opts *o, GError **errp);
void net_user_opts_free(struct net_user_opts *o);

/* "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" (QEMU's
 * "Invalid host forwarding rule 'x' (reason)"). */
int net_user_hostfwd_parse(const char *rule, struct net_user_fwd *f, GError **errp);
/* hostfwd_remove's "[tcp|udp]:[hostaddr]:hostport"; false: QEMU's "invalid format". */
bool net_user_hostfwd_remove_parse(const char *rule, struct net_user_fwd *f);
/* "[tcp]:[server]:port-DEV": DEV ("cmd:..." or a chardev) at *dev. */
int net_user_guestfwd_parse(const char *rule, struct in_addr *server, int *port,
                            const char **dev, GError **errp);

#endif
