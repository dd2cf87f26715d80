/*
 * A net_client of the test's own for the networking unit tests: a fake NIC
 * or a fake back end on the netdev seam (net/net.h) that keeps a copy of
 * every frame it receives and records what its peer tells it.  One struct
 * serves both sides; each test sets only the fields it looks at.
 * Single-threaded: the tests run with the big lock held.
 */
#ifndef HYVM_TESTS_NET_FAKE_H
#define HYVM_TESTS_NET_FAKE_H

#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "net/net.h"
#include "system/keyval.h"

struct net_fake {
    struct net_client nc;
    GPtrArray *frames;              /* GByteArray: what it received, vnet header included */
    bool refuse;                    /* receive says "cannot take it now" (0) */
    bool vnet;                      /* a back end whose frames carry a virtio-net header */
    unsigned hdr_len;               /* the header length its NIC set */
    struct net_offloads offloads;   /* the offloads its NIC set */
    bool link_changed;              /* link_status_changed ran */
    unsigned sent_done;             /* its frames that went through after net_send gave 0 */
};

static inline struct net_fake *net_fake_of(struct net_client *nc)
{
    return container_of(nc, struct net_fake, nc);
}

static inline ssize_t net_fake_receive(struct net_client *nc, const struct iovec *iov,
                                       unsigned cnt)
{
    struct net_fake *f = net_fake_of(nc);
    GByteArray *b;

    if (f->refuse) {
        return 0;
    }
    b = g_byte_array_new();
    for (unsigned i = 0; i < cnt; i++) {
        g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
    }
    g_ptr_array_add(f->frames, b);
    return b->len;
}

static inline void net_fake_link_changed(struct net_client *nc)
{
    net_fake_of(nc)->link_changed = true;
}

static inline bool net_fake_has_vnet_hdr(struct net_client *nc)
{
    return net_fake_of(nc)->vnet;
}

static inline void net_fake_set_vnet_hdr_len(struct net_client *nc, unsigned len)
{
    net_fake_of(nc)->hdr_len = len;
}

static inline void net_fake_set_offloads(struct net_client *nc, const struct net_offloads *o)
{
    net_fake_of(nc)->offloads = *o;
}

/* A net_sent_cb for net_send(): counts the fake's frames that went late. */
static inline void net_fake_sent(struct net_client *nc, ssize_t ret)
{
    net_fake_of(nc)->sent_done++;
}

static const struct net_client_ops net_fake_nic_ops G_GNUC_UNUSED = {
    .type = NET_CLIENT_NIC, .type_name = "nic",
    .receive = net_fake_receive, .link_status_changed = net_fake_link_changed,
};

/* A back end as -netdev socket shows in "info network"; vnet says whether
 * it takes a virtio-net header. */
static const struct net_client_ops net_fake_backend_ops G_GNUC_UNUSED = {
    .type = NET_CLIENT_SOCKET, .type_name = "socket",
    .receive = net_fake_receive, .link_status_changed = net_fake_link_changed,
    .has_vnet_hdr = net_fake_has_vnet_hdr, .set_vnet_hdr_len = net_fake_set_vnet_hdr_len,
    .set_offloads = net_fake_set_offloads,
};

/* Registers f (zeroed first) as client name of model, linked to peer when
 * peer is not NULL. */
static inline void net_fake_init(struct net_fake *f, const struct net_client_ops *ops,
                                 const char *model, const char *name, struct net_client *peer)
{
    memset(f, 0, sizeof(*f));
    f->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    net_client_init(&f->nc, ops, model, name, peer);
}

/* Unregisters f; again is a no-op (a test may take a back end away before
 * its teardown does). */
static inline void net_fake_fini(struct net_fake *f)
{
    if (f->frames) {
        net_client_uninit(&f->nc);
        g_ptr_array_free(f->frames, TRUE);
        f->frames = NULL;
    }
}

/* f as NIC "test-nic.0" on -netdev id netdev, as a device's netdev= does. */
static inline void net_fake_nic_attach(struct net_fake *f, const char *netdev)
{
    g_autoptr(GError) err = NULL;

    net_fake_init(f, &net_fake_nic_ops, "test-nic", "test-nic.0", NULL);
    g_assert_cmpint(net_nic_attach(&f->nc, "test-nic", netdev, &err), ==, 0);
    g_assert_no_error(err);
}

/* The i-th frame f received (there must be one). */
static inline GByteArray *net_fake_frame(const struct net_fake *f, unsigned i)
{
    g_assert_cmpuint(i, <, f->frames->len);
    return g_ptr_array_index(f->frames, i);
}

/*
 * A real back end from -netdev style opts ("tap,id=t0,..."): check (when
 * not NULL) then init (when not NULL) as net.c calls them, the first
 * failure's result returned.
 */
static inline int net_fake_netdev_new(int (*check)(const struct kv_list *kv, GError **errp),
                                      int (*init)(const char *id, const struct kv_list *kv,
                                                  GError **errp),
                                      const char *opts, GError **errp)
{
    g_autoptr(GError) err = NULL;
    struct kv_list *kv = kv_parse(opts, "type", &err);
    int ret = 0;

    g_assert_no_error(err);
    if (check) {
        ret = check(kv, errp);
    }
    if (ret == 0 && init) {
        ret = init(kv_get(kv, "id"), kv, errp);
    }
    kv_free(kv);
    return ret;
}

/* Runs the main loop until cond holds, failing the test after 2 s. */
#define NET_FAKE_LOOP_UNTIL(cond)                                              \
    do {                                                                       \
        gint64 end_ = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;             \
        while (!(cond) && g_get_monotonic_time() < end_) {                     \
            g_main_context_iteration(NULL, FALSE);                             \
            g_usleep(100);                                                     \
        }                                                                      \
        g_assert_true(cond);                                                   \
    } while (0)

#endif
