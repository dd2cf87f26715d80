/*
 * The netdev seam's own parts: hubs passing frames between their ports,
 * "info network" in QEMU's layout, netdev_add / netdev_del, and -nic /
 * -net / the default network turned into back ends, hub ports and NIC
 * devices at start-up, with QEMU's names, order and messages.  Fake
 * clients stand in for NICs and back ends.
 */
#include <string.h>

#include <glib.h>

#include "hw/device.h"
#include "net/net.h"
#include "system/error.h"
#include "system/keyval.h"
#include "tests/unit/net-fake.h"

/* A fake NIC whose "info network" text is info. */
static void fake_init(struct net_fake *f, const char *name, const char *info)
{
    net_fake_init(f, &net_fake_nic_ops, "fake-nic", name, NULL);
    net_client_set_info(&f->nc, "%s", info);
}

static void send_bytes(struct net_client *from, const char *s)
{
    struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) };

    g_assert_cmpint(net_send(from, &iov, 1, NULL), ==, (ssize_t)strlen(s));
}

static void assert_info_network(const char *want)
{
    g_autoptr(GString) out = g_string_new(NULL);

    net_info_network(out);
    g_assert_cmpstr(out->str, ==, want);
}

static struct kv_list *kv(const char *s)
{
    GError *err = NULL;
    struct kv_list *l = kv_parse(s, "type", &err);

    g_assert_no_error(err);
    return l;
}

/* A frame into one port goes out of every other port, not back. */
static void test_hub_forwards(void)
{
    struct net_fake a, b, c;
    struct net_client *pa, *pb, *pc;

    fake_init(&a, "a", "model=fake");
    fake_init(&b, "b", "model=fake");
    fake_init(&c, "c", "model=fake");
    pa = net_hub_add_port(5, NULL);
    pb = net_hub_add_port(5, NULL);
    pc = net_hub_add_port(5, NULL);
    g_assert_cmpstr(pa->name, ==, "hub5port0");
    g_assert_cmpstr(pc->name, ==, "hub5port2");
    a.nc.peer = pa, pa->peer = &a.nc;
    b.nc.peer = pb, pb->peer = &b.nc;
    c.nc.peer = pc, pc->peer = &c.nc;

    send_bytes(&a.nc, "from-a");
    g_assert_cmpuint(a.frames->len, ==, 0);
    g_assert_cmpuint(b.frames->len, ==, 1);
    g_assert_cmpuint(c.frames->len, ==, 1);
    g_assert_cmpmem(((GByteArray *)b.frames->pdata[0])->data, 6, "from-a", 6);

    /* A "frame" naming the same bytes many times over is no frame. */
    {
        static char page[4096];
        struct iovec big[32];

        for (unsigned i = 0; i < 32; i++) {
            big[i] = (struct iovec){ .iov_base = page, .iov_len = sizeof(page) };
        }
        g_assert_cmpint(net_send(&a.nc, big, 32, NULL), ==, 32 * 4096);
        g_assert_cmpuint(b.frames->len, ==, 1);
        g_assert_cmpint(net_send(&a.nc, big, NET_FRAME_MAX / 4096, NULL), ==,
                        NET_FRAME_MAX / 4096 * 4096);
        g_assert_cmpuint(b.frames->len, ==, 2);
        g_ptr_array_remove_index(b.frames, 1);
        g_ptr_array_remove_index(c.frames, 1);
    }

    /* A port's link down: nothing leaves through it. */
    g_assert_cmpint(net_set_link("b", false, NULL), ==, 0);
    send_bytes(&c.nc, "from-c");
    g_assert_cmpuint(a.frames->len, ==, 1);
    g_assert_cmpuint(b.frames->len, ==, 1);

    assert_info_network("hub 5\n"
                        " \\ hub5port2: c: index=0,type=nic,model=fake\n"
                        " \\ hub5port1: b: index=0,type=nic,model=fake\n"
                        " \\ hub5port0: a: index=0,type=nic,model=fake\n");
    net_fake_fini(&a);
    net_fake_fini(&b);
    net_fake_fini(&c);
    net_cleanup();
    g_assert_null(net_client_next(NULL));
}

/* A NIC with its back end under it, then a back end alone. */
static void test_info_network_layout(void)
{
    struct net_fake nic;
    GError *err = NULL;

    g_assert_cmpint(net_netdev_add(kv("hubport,id=h0,hubid=1"), &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(net_netdev_add(kv("hubport,id=h1,hubid=1"), &err), ==, 0);
    fake_init(&nic, "virtio-net-pci.0", "model=virtio-net-pci,macaddr=52:54:00:12:34:56");
    g_assert_cmpint(net_nic_attach(&nic.nc, "virtio-net-device", "h0", &err), ==, 0);

    assert_info_network("hub 1\n"
                        " \\ h1\n"
                        " \\ h0: virtio-net-pci.0: index=0,type=nic,"
                        "model=virtio-net-pci,macaddr=52:54:00:12:34:56\n");

    /* A second NIC cannot take h0. */
    struct net_fake other;
    fake_init(&other, "nic2", "model=fake");
    g_assert_cmpint(net_nic_attach(&other.nc, "virtio-net-device", "h0", &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "Property 'virtio-net-device.netdev' can't take value 'h0', it's in use");
    g_clear_error(&err);
    net_fake_fini(&other);
    net_fake_fini(&nic);
    net_cleanup();
}

static void test_netdev_add_del(void)
{
    static const struct {
        const char *opts, *msg;
    } bad[] = {
        { "hubport,id=n1,hubid=0", "Duplicate ID 'n1' for netdev" },
        { "hubport,id=9bad,hubid=0", "Parameter 'id' expects an identifier" },
        { "hubport,id=n2", "Parameter 'hubid' is missing" },
        { "hubport,id=n2,hubid=99999999999", "Parameter 'hubid' expects int32_t" },
        { "hubport,id=n2,hubid=1x", "Parameter 'hubid' expects an int64 value" },
    };
    struct net_fake nic;
    GError *err = NULL;

    g_assert_cmpint(net_netdev_add(kv("hubport,id=n1,hubid=0"), &err), ==, 0);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(net_netdev_add(kv(bad[i].opts), &err), <, 0);
        g_assert_cmpstr(err->message, ==, bad[i].msg);
        g_clear_error(&err);
    }
    g_assert_cmpint(net_netdev_add(kv("hubport,id=n2,hubid=-5"), &err), ==, 0);
    g_assert_cmpstr(net_netdev_find("n2")->info_str, ==, "hub=-5");
    g_assert_cmpint(net_netdev_add(kv("vde,id=n3"), &err), <, 0);
    g_assert_true(g_error_matches(err, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED));
    g_clear_error(&err);

    /* Deleting a NIC's back end pulls its cable. */
    fake_init(&nic, "nic0", "model=fake");
    g_assert_cmpint(net_nic_attach(&nic.nc, "virtio-net-device", "n1", &err), ==, 0);
    g_assert_cmpint(net_netdev_del("n1", &err), ==, 0);
    g_assert_true(nic.nc.link_down);
    g_assert_true(nic.link_changed);
    g_assert_null(nic.nc.peer);
    g_assert_null(net_netdev_find("n1"));
    g_assert_cmpint(net_netdev_del("n1", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Device 'n1' not found");
    g_clear_error(&err);
    /* A NIC is not a netdev. */
    g_assert_cmpint(net_netdev_del("nic0", &err), <, 0);
    g_clear_error(&err);
    /* The id is free again. */
    g_assert_cmpint(net_netdev_add(kv("hubport,id=n1,hubid=0"), &err), ==, 0);
    net_fake_fini(&nic);
    net_cleanup();
}

/* The NIC devices -nic / -net make, in the order QEMU's board makes them. */
static GPtrArray *nic_devices(const char *const *args, const char *model, bool nodefaults,
                              GError **errp)
{
    GPtrArray *devs = g_ptr_array_new_with_free_func((GDestroyNotify)dev_config_free);

    net_nic_cli_clear();
    for (unsigned i = 0; args[i]; i += 2) {
        g_assert_cmpint(net_nic_cli_add(args[i], args[i + 1], errp), ==, 0);
    }
    if (net_nic_init(model, nodefaults, devs, errp) < 0) {
        g_ptr_array_free(devs, TRUE);
        return NULL;
    }
    return devs;
}

static const char *dev_prop(GPtrArray *devs, unsigned i, const char *key)
{
    const struct dev_config *dc = g_ptr_array_index(devs, i);

    return kv_get(dc->props, key);
}

/* Start-up with the -nic / -net options given so far fails with msg;
 * they are cleared after. */
static void assert_nic_init_error(const char *msg)
{
    GError *err = NULL;
    GPtrArray *devs = g_ptr_array_new();

    g_assert_cmpint(net_nic_init("virtio-net-pci", true, devs, &err), <, 0);
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);
    g_ptr_array_free(devs, TRUE);
    net_nic_cli_clear();
    net_cleanup();
}

static void test_nic_options(void)
{
    /* -nic pairs a back end and a NIC directly; -net puts both on hub 0. */
    static const char *const args[] = {
        "net", "nic,macaddr=52:54:00:00:00:07",
        "net", "hubport,hubid=7",
        "nic", "hubport,hubid=8,id=mine,model=virtio-net-pci,mac=52:54:00:00:00:09",
        NULL,
    };
    GError *err = NULL;
    GPtrArray *devs = nic_devices(args, "virtio-net-pci", true, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(devs->len, ==, 2);
    /* -nic's NIC first, as QEMU's. */
    g_assert_cmpstr(((struct dev_config *)devs->pdata[0])->type->name, ==, "virtio-net-pci");
    g_assert_cmpstr(dev_prop(devs, 0, "netdev"), ==, "mine");
    g_assert_cmpstr(dev_prop(devs, 0, "mac"), ==, "52:54:00:00:00:09");
    g_assert_cmpstr(dev_prop(devs, 1, "netdev"), ==, "hub0port0");
    g_assert_cmpstr(dev_prop(devs, 1, "mac"), ==, "52:54:00:00:00:07");
    g_assert_cmpstr(((struct dev_config *)devs->pdata[1])->spec, ==,
                    "-net nic,macaddr=52:54:00:00:00:07");
    /* The -net back end got an anonymous name and port 1. */
    struct net_client *port1 = net_netdev_find("hub0port1");
    g_assert_nonnull(port1);
    g_assert_nonnull(port1->peer);
    g_assert_cmpstr(port1->peer->name, ==, "#net0");
    g_ptr_array_free(devs, TRUE);
    net_cleanup();
}

static void test_nic_default_and_errors(void)
{
    static const char *const none[] = { NULL };
    static const char *const e1000[] = { "nic", "hubport,hubid=1,model=e1000", NULL };
    static const char *const off[] = { "nic", "none", NULL };
    GError *err = NULL;
    GPtrArray *devs;

    /* No -nic/-net: QEMU's "-net nic -net user". */
    devs = nic_devices(none, "virtio-net-pci", false, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(devs->len, ==, 1);
    g_assert_cmpstr(dev_prop(devs, 0, "netdev"), ==, "hub0port0");
    g_assert_true(net_nic_default_used());
    g_assert_nonnull(net_netdev_find("hub0port1"));
    g_assert_cmpint(net_netdev_find("hub0port1")->peer->ops->type, ==, NET_CLIENT_USER);
    g_ptr_array_free(devs, TRUE);
    net_cleanup();
    /* -nodefaults or -nic none: nothing. */
    devs = nic_devices(none, "virtio-net-pci", true, &err);
    g_assert_cmpuint(devs->len, ==, 0);
    g_ptr_array_free(devs, TRUE);
    devs = nic_devices(off, "virtio-net-pci", false, &err);
    g_assert_cmpuint(devs->len, ==, 0);
    g_assert_false(net_nic_default_used());
    g_ptr_array_free(devs, TRUE);
    net_cleanup();

    devs = nic_devices(e1000, "virtio-net-pci", true, &err);
    g_assert_null(devs);
    g_assert_cmpstr(err->message, ==, "Unsupported NIC model: e1000 (hyvm's is virtio-net-pci)");
    g_clear_error(&err);
    net_cleanup();

    /* A board without NICs (microvm) makes no device. */
    devs = nic_devices((const char *const[]){ "nic", "hubport,hubid=2", NULL }, NULL, true,
                       &err);
    g_assert_no_error(err);
    g_assert_cmpuint(devs->len, ==, 0);
    g_ptr_array_free(devs, TRUE);
    net_cleanup();

    g_assert_cmpint(net_nic_cli_add("nic", "hubport,hubid=1,mac=52:54", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "invalid syntax for ethernet address");
    g_clear_error(&err);
    g_assert_cmpint(net_nic_cli_add("net", "nic,name=x", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'name'");
    g_clear_error(&err);
    g_assert_cmpint(net_nic_cli_add("nic", "hubport,hubid=1,id=d", &err), ==, 0);
    g_assert_cmpint(net_nic_cli_add("net", "hubport,hubid=1,id=d", &err), ==, 0);
    g_assert_cmpint(net_nic_cli_add("nic", "hubport,hubid=1,id=d", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Duplicate ID 'd' for nic");
    g_clear_error(&err);
    /* -nic's d and -net's d both want to be netdev d. */
    assert_nic_init_error("-net hubport,hubid=1,id=d: Duplicate ID 'd'");
    g_assert_cmpint(net_nic_cli_add("net", "nic,netdev=nope", &err), ==, 0);
    assert_nic_init_error("-net nic,netdev=nope: netdev 'nope' not found");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/hub/forwards", test_hub_forwards);
    g_test_add_func("/net/info-network", test_info_network_layout);
    g_test_add_func("/net/netdev-add-del", test_netdev_add_del);
    g_test_add_func("/net/nic-options", test_nic_options);
    g_test_add_func("/net/nic-default-and-errors", test_nic_default_and_errors);
    return g_test_run();
}
