/*
 * -object filter-dump (net/filter.c, net/filter-dump.c) between a fake NIC
 * and a fake back end of the test's own: frames both ways land in a pcap
 * file the test parses (header fields, record lengths, bytes, times),
 * queue= picks a direction, status=off records nothing, maxlen= cuts,
 * the back end's virtio-net header is skipped, position=/insert= order
 * the list, object-del and a netdev going close the file, a write error
 * stops the dump once, and QEMU 7.2's messages for bad options.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "net/filter-internal.h"
#include "net/net.h"
#include "system/keyval.h"
#include "tests/unit/net-fake.h"

/* ---- the fake NIC and back end (tests/unit/net-fake.h) ---- */

static struct net_fake nic, be;
static char *tmpdir;

static void setup(void)
{
    g_autoptr(GError) err = NULL;

    tmpdir = g_dir_make_tmp("test-net-filter-XXXXXX", &err);
    g_assert_no_error(err);
    net_fake_init(&be, &net_fake_backend_ops, "fake", "b0", NULL);
    net_fake_nic_attach(&nic, "b0");
}

static void teardown(void)
{
    const char *name;
    GDir *d;

    net_fake_fini(&nic);
    net_fake_fini(&be);
    net_filter_cli_clear();
    d = g_dir_open(tmpdir, 0, NULL);
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(tmpdir, name, NULL);

        g_unlink(p);
    }
    g_dir_close(d);
    g_rmdir(tmpdir);
    g_free(tmpdir);
}

static char *tmp_file(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* A frame of len bytes, byte i = seed + i. */
static GByteArray *frame_new(size_t len, uint8_t seed)
{
    GByteArray *b = g_byte_array_sized_new(len);

    for (size_t i = 0; i < len; i++) {
        uint8_t c = seed + i;

        g_byte_array_append(b, &c, 1);
    }
    return b;
}

/* The back end sends toward the NIC: the netdev's "tx". */
static void be_send(const GByteArray *b)
{
    struct iovec iov = { .iov_base = b->data, .iov_len = b->len };

    g_assert_cmpint(net_send(&be.nc, &iov, 1, NULL), ==, b->len);
}

/* The NIC sends to the back end ("rx"), in two pieces cut at 7 so that a
 * 10- or 12-byte virtio-net header spans them. */
static void nic_send(const GByteArray *b)
{
    struct iovec iov[2] = {
        { .iov_base = b->data, .iov_len = MIN(7u, b->len) },
        { .iov_base = b->data + MIN(7u, b->len), .iov_len = b->len - MIN(7u, b->len) },
    };

    g_assert_cmpint(net_send(&nic.nc, iov, 2, NULL), ==, b->len);
}

/* ---- filters from options ---- */

/* -object ARGS, then start-up: 0 or the error's message in *msg. */
static int cli_filter(const char *args, char **msg)
{
    g_autoptr(GError) err = NULL;
    struct kv_list *kv = kv_parse(args, "qom-type", &err);
    int ret;

    g_assert_no_error(err);
    ret = net_filter_cli_add(kv, &err);
    if (ret < 0) {
        kv_free(kv);
    } else {
        ret = net_filters_init(&err);
    }
    if (msg) {
        *msg = err ? g_strdup(err->message) : NULL;
    }
    return ret;
}

static void cli_filter_ok(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void cli_filter_ok(const char *fmt, ...)
{
    g_autofree char *args = NULL;
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (cli_filter(args, &msg) < 0) {
        g_error("%s: %s", args, msg);
    }
}

/* -object filter-dump,id=id on b0 writing to tmpdir/file, opts after
 * (",queue=rx"): the file's path. */
static char *dump_add(const char *id, const char *file, const char *opts)
{
    char *path = tmp_file(file);

    cli_filter_ok("filter-dump,id=%s,netdev=b0,file=%s%s", id, path, opts);
    return path;
}

/* object-add with kv as the monitor gives it. */
static int qmp_filter(const char *args, char **msg)
{
    g_autoptr(GError) err = NULL;
    struct kv_list *kv = kv_parse(args, NULL, &err);
    int ret;

    g_assert_no_error(err);
    ret = net_filter_add(kv, &err);
    kv_free(kv);
    if (msg) {
        *msg = err ? g_strdup(err->message) : NULL;
    }
    return ret;
}

/* ---- reading the pcap file ---- */

struct rec {
    uint32_t sec, usec, caplen, len;
    const uint8_t *data;
};

struct pcap {
    gchar *buf;
    gsize size;
    uint32_t magic, snaplen, linktype, thiszone, sigfigs;
    uint16_t major, minor;
    GArray *recs;           /* struct rec */
};

static uint32_t rd32(const gchar *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint16_t rd16(const gchar *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

/* Reads path whole: the header, then records that end exactly at EOF. */
static void pcap_read(struct pcap *pc, const char *path)
{
    g_autoptr(GError) err = NULL;
    gsize at = 24;

    memset(pc, 0, sizeof(*pc));
    g_assert_true(g_file_get_contents(path, &pc->buf, &pc->size, &err));
    g_assert_cmpuint(pc->size, >=, 24);
    pc->magic = rd32(pc->buf);
    pc->major = rd16(pc->buf + 4);
    pc->minor = rd16(pc->buf + 6);
    pc->thiszone = rd32(pc->buf + 8);
    pc->sigfigs = rd32(pc->buf + 12);
    pc->snaplen = rd32(pc->buf + 16);
    pc->linktype = rd32(pc->buf + 20);
    pc->recs = g_array_new(FALSE, FALSE, sizeof(struct rec));
    while (at < pc->size) {
        struct rec r;

        g_assert_cmpuint(pc->size - at, >=, 16);
        r.sec = rd32(pc->buf + at);
        r.usec = rd32(pc->buf + at + 4);
        r.caplen = rd32(pc->buf + at + 8);
        r.len = rd32(pc->buf + at + 12);
        at += 16;
        g_assert_cmpuint(pc->size - at, >=, r.caplen);
        r.data = (const uint8_t *)pc->buf + at;
        at += r.caplen;
        g_array_append_val(pc->recs, r);
    }
}

static void pcap_free(struct pcap *pc)
{
    g_free(pc->buf);
    g_array_free(pc->recs, TRUE);
}

static const struct rec *pcap_rec(const struct pcap *pc, unsigned i)
{
    return &g_array_index(pc->recs, struct rec, i);
}

static void assert_header(const struct pcap *pc, uint32_t snaplen)
{
    g_assert_cmphex(pc->magic, ==, 0xa1b2c3d4);
    g_assert_cmpuint(pc->major, ==, 2);
    g_assert_cmpuint(pc->minor, ==, 4);
    g_assert_cmpuint(pc->thiszone, ==, 0);
    g_assert_cmpuint(pc->sigfigs, ==, 0);
    g_assert_cmpuint(pc->snaplen, ==, snaplen);
    g_assert_cmpuint(pc->linktype, ==, 1);
}

/* Record i holds the whole of b (from byte skip on). */
static void assert_rec(const struct pcap *pc, unsigned i, const GByteArray *b, size_t skip)
{
    const struct rec *r = pcap_rec(pc, i);

    g_assert_cmpuint(r->len, ==, b->len - skip);
    g_assert_cmpuint(r->caplen, ==, b->len - skip);
    g_assert_cmpmem(r->data, r->caplen, b->data + skip, b->len - skip);
}

/* path holds one record: the whole of b. */
static void assert_pcap_one(const char *path, const GByteArray *b)
{
    struct pcap pc;

    pcap_read(&pc, path);
    g_assert_cmpuint(pc.recs->len, ==, 1);
    assert_rec(&pc, 0, b, 0);
    pcap_free(&pc);
}

static unsigned open_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");

    g_assert_nonnull(d);
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

/* ---- running: filters of the test's own on the list ---- */

static GString *seen;

static void spy_frame(struct net_filter *f, bool tx, const struct iovec *iov, unsigned cnt,
                      unsigned hdr_len)
{
    g_string_append_printf(seen, "%s:%s:%u:%u ", f->id, tx ? "tx" : "rx", cnt, hdr_len);
}

static const struct net_filter_ops spy_ops = { .type = "spy", .frame = spy_frame };

/* As QEMU's: a netdev's filters see what it sends in list order, what it
 * receives in reverse order; off or the other queue: not called. */
static void test_run_order(void)
{
    struct net_filter spies[4] = {
        { .ops = &spy_ops, .id = "s0", .queue = NET_FILTER_ALL, .on = true },
        { .ops = &spy_ops, .id = "s1", .queue = NET_FILTER_TX, .on = true },
        { .ops = &spy_ops, .id = "s2", .queue = NET_FILTER_RX, .on = true },
        { .ops = &spy_ops, .id = "s3", .queue = NET_FILTER_ALL, .on = false },
    };
    g_autoptr(GByteArray) a = frame_new(60, 1);

    setup();
    seen = g_string_new(NULL);
    be.nc.vnet_hdr_len = 10;
    for (unsigned i = 0; i < G_N_ELEMENTS(spies); i++) {
        spies[i].netdev = &be.nc;
        be.nc.filters = g_list_append(be.nc.filters, &spies[i]);
    }
    be_send(a);
    g_assert_cmpstr(seen->str, ==, "s0:tx:1:10 s1:tx:1:10 ");
    g_string_truncate(seen, 0);
    nic_send(a);
    g_assert_cmpstr(seen->str, ==, "s2:rx:2:10 s0:rx:2:10 ");
    /* Filters on the receiving side see the frame as rx, with that side's
     * header length (none: a NIC). */
    g_string_truncate(seen, 0);
    nic.nc.filters = be.nc.filters;
    be.nc.filters = NULL;
    be_send(a);
    g_assert_cmpstr(seen->str, ==, "s2:rx:1:0 s0:rx:1:0 ");
    g_list_free(nic.nc.filters);
    nic.nc.filters = NULL;
    g_string_free(seen, TRUE);
    teardown();
}

/* ---- tests ---- */

static void test_both_directions(void)
{
    g_autofree char *path = NULL;
    g_autoptr(GByteArray) a = frame_new(60, 1);
    g_autoptr(GByteArray) b = frame_new(70, 100);
    gint64 t0, t1;
    struct pcap pc;

    setup();
    path = dump_add("f0", "all.pcap", "");
    t0 = g_get_real_time();
    be_send(a);
    nic_send(b);
    t1 = g_get_real_time();
    /* Frames pass the filter untouched. */
    g_assert_cmpuint(nic.frames->len, ==, 1);
    g_assert_cmpuint(be.frames->len, ==, 1);
    g_assert_cmpmem(((GByteArray *)be.frames->pdata[0])->data, 70, b->data, 70);

    pcap_read(&pc, path);
    assert_header(&pc, 65536);
    g_assert_cmpuint(pc.recs->len, ==, 2);
    assert_rec(&pc, 0, a, 0);
    assert_rec(&pc, 1, b, 0);
    for (unsigned i = 0; i < 2; i++) {
        const struct rec *r = pcap_rec(&pc, i);
        gint64 t = (gint64)r->sec * G_USEC_PER_SEC + r->usec;

        g_assert_cmpuint(r->usec, <, G_USEC_PER_SEC);
        g_assert_cmpint(t, >=, t0);
        g_assert_cmpint(t, <=, t1);
    }
    pcap_free(&pc);
    teardown();
}

/* queue=rx: what the back end receives (from the NIC); tx: what it sends. */
static void test_queue(void)
{
    g_autofree char *rx = NULL, *tx = NULL;
    g_autoptr(GByteArray) a = frame_new(60, 1);
    g_autoptr(GByteArray) b = frame_new(64, 50);

    setup();
    rx = dump_add("r", "rx.pcap", ",queue=rx");
    tx = dump_add("t", "tx.pcap", ",queue=tx");
    be_send(a);
    nic_send(b);
    assert_pcap_one(rx, b);
    assert_pcap_one(tx, a);
    teardown();
}

static void test_status_off(void)
{
    g_autofree char *path = NULL;
    g_autoptr(GByteArray) a = frame_new(60, 1);
    g_autoptr(GError) err = NULL;
    struct pcap pc;

    setup();
    path = dump_add("f", "off.pcap", ",status=off");
    be_send(a);
    nic_send(a);
    g_assert_cmpuint(nic.frames->len, ==, 1);
    g_assert_cmpuint(be.frames->len, ==, 1);
    pcap_read(&pc, path);
    assert_header(&pc, 65536);
    g_assert_cmpuint(pc.recs->len, ==, 0);
    pcap_free(&pc);

    /* qom-set status: bad values refused, on starts recording. */
    g_assert_cmpint(net_filter_set_status(net_filter_find("f"), "yes", &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "Invalid value for netfilter status, should be 'on' or 'off'");
    g_assert_cmpint(net_filter_set_status(net_filter_find("f"), "on", NULL), ==, 0);
    be_send(a);
    assert_pcap_one(path, a);
    teardown();
}

static void test_maxlen(void)
{
    g_autofree char *path = NULL;
    g_autoptr(GByteArray) a = frame_new(60, 1);
    g_autoptr(GByteArray) s = frame_new(8, 9);
    const struct rec *r;
    struct pcap pc;

    setup();
    path = dump_add("f", "cut.pcap", ",maxlen=0x0a");
    be_send(a);
    nic_send(s);
    pcap_read(&pc, path);
    assert_header(&pc, 10);
    g_assert_cmpuint(pc.recs->len, ==, 2);
    r = pcap_rec(&pc, 0);
    g_assert_cmpuint(r->len, ==, 60);
    g_assert_cmpuint(r->caplen, ==, 10);
    g_assert_cmpmem(r->data, 10, a->data, 10);
    /* A frame shorter than maxlen is kept whole. */
    assert_rec(&pc, 1, s, 0);
    pcap_free(&pc);
    teardown();
}

/* A back end with a 12-byte virtio-net header: the record is the Ethernet
 * frame behind it, both ways, and maxlen counts from there. */
static void test_vnet_hdr(void)
{
    g_autofree char *path = NULL, *cut = NULL;
    g_autoptr(GByteArray) a = frame_new(12 + 60, 3);
    g_autoptr(GByteArray) b = frame_new(12 + 42, 77);
    g_autoptr(GByteArray) tiny = frame_new(5, 0);
    const struct rec *r;
    struct pcap pc;

    setup();
    be.nc.vnet_hdr_len = 12;
    path = dump_add("f", "vnet.pcap", "");
    cut = dump_add("g", "vnet-cut.pcap", ",maxlen=20");
    be_send(a);
    nic_send(b);
    /* Less than a header: nothing to record, and no crash. */
    be_send(tiny);
    g_assert_cmpuint(nic.frames->len, ==, 2);

    pcap_read(&pc, path);
    g_assert_cmpuint(pc.recs->len, ==, 2);
    assert_rec(&pc, 0, a, 12);
    assert_rec(&pc, 1, b, 12);
    pcap_free(&pc);
    pcap_read(&pc, cut);
    g_assert_cmpuint(pc.recs->len, ==, 2);
    r = pcap_rec(&pc, 1);
    g_assert_cmpuint(r->len, ==, 42);
    g_assert_cmpuint(r->caplen, ==, 20);
    g_assert_cmpmem(r->data, 20, b->data + 12, 20);
    pcap_free(&pc);
    teardown();
}

/* A frame in more pieces than one writev() takes is still one record. */
static void test_many_pieces(void)
{
    g_autofree char *path = NULL;
    g_autoptr(GByteArray) a = frame_new(3000, 7);
    g_autofree struct iovec *iov = g_new(struct iovec, a->len);

    setup();
    path = dump_add("f", "pieces.pcap", "");
    for (unsigned i = 0; i < a->len; i++) {
        iov[i].iov_base = a->data + i;
        iov[i].iov_len = 1;
    }
    g_assert_cmpint(net_send(&be.nc, iov, a->len, NULL), ==, 3000);
    assert_pcap_one(path, a);
    teardown();
}

/* Parse-time errors: QEMU 7.2's words (the location is the caller's). */
static void test_parse_errors(void)
{
    static const struct {
        const char *args, *msg;
    } cases[] = {
        { "filter-dump,id=f", "Parameter 'netdev' is missing" },
        { "filter-dump,id=f,queue=foo,bogus=1", "Parameter 'netdev' is missing" },
        { "filter-dump,id=f,netdev=b0", "Parameter 'file' is missing" },
        { "filter-dump,id=f,netdev=b0,maxlen=abc", "Parameter 'file' is missing" },
        { "filter-dump,id=f,netdev=b0,queue=foo", "Parameter 'queue' does not accept value 'foo'" },
        { "filter-dump,id=f,netdev=b0,insert=x,queue=", "Parameter 'queue' does not accept "
          "value ''" },
        { "filter-dump,id=f,netdev=b0,insert=foo", "Parameter 'insert' does not accept value "
          "'foo'" },
        { "filter-dump,id=f,netdev=b0,file=x,maxlen=abc", "Parameter 'maxlen' expects a uint64 "
          "value" },
        { "filter-dump,id=f,netdev=b0,file=x,maxlen=-1", "Parameter 'maxlen' expects a uint64 "
          "value" },
        { "filter-dump,id=f,netdev=b0,file=x,maxlen=1k", "Parameter 'maxlen' expects a uint64 "
          "value" },
        { "filter-dump,id=f,netdev=b0,file=x,maxlen=", "Parameter 'maxlen' expects a uint64 "
          "value" },
        { "filter-dump,id=f,netdev=b0,file=x,maxlen=4294967296", "Parameter 'maxlen' expects "
          "uint32_t" },
        { "filter-dump,id=f,netdev=b0,file=x,maxlen=abc,queue=foo", "Parameter 'queue' does "
          "not accept value 'foo'" },
        { "filter-dump,id=f,netdev=b0,file=x,bogus=1", "Invalid parameter 'bogus'" },
        { "filter-dump,id=1f,netdev=b0,file=x", "Parameter 'id' expects an identifier" },
    };

    setup();
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *msg = NULL;

        g_assert_cmpint(cli_filter(cases[i].args, &msg), <, 0);
        g_assert_cmpstr(msg, ==, cases[i].msg);
    }
    /* Nothing was kept, nothing attached. */
    g_assert_cmpint(net_filters_init(NULL), ==, 0);
    g_assert_null(be.nc.filters);
    teardown();
}

/* Start-up errors: QEMU's words and order (status, maxlen, netdev,
 * position, then the file); a failed filter is not attached. */
static void test_init_errors(void)
{
    static const struct {
        const char *args, *msg;
    } cases[] = {
        { "status=foo,maxlen=0,netdev=nx", "Invalid value for netfilter status, should be "
          "'on' or 'off'" },
        { "status=,netdev=b0", "Invalid value for netfilter status, should be 'on' or 'off'" },
        { "maxlen=0,netdev=nx", "Property 'filter-dump.maxlen' doesn't take value '0'" },
        { "maxlen=0x0,netdev=b0", "Property 'filter-dump.maxlen' doesn't take value '0'" },
        { "netdev=nx,position=foo", "Parameter 'netdev' expects a network backend id" },
        { "netdev=,position=foo", "Parameter 'netdev' expects a network backend id" },
        { "netdev=test-nic.0", "Parameter 'netdev' expects a network backend id" },
        { "netdev=b0,position=foo", "Parameter 'position' expects 'head', 'tail' or 'id=<id>'" },
        { "netdev=b0,position=id=zz", "filter 'zz' not found" },
        { "netdev=b0,position=id=", "filter '' not found" },
    };
    unsigned fds;

    setup();
    fds = open_fds();
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = tmp_file("never.pcap");
        g_autofree char *args = g_strdup_printf("filter-dump,id=f,file=%s,%s", path,
                                                cases[i].args);
        g_autofree char *msg = NULL;

        g_assert_cmpint(cli_filter(args, &msg), <, 0);
        g_assert_cmpstr(msg, ==, cases[i].msg);
        /* The file is opened last: not even created. */
        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
        g_assert_null(net_filter_find("f"));
    }
    {
        g_autofree char *msg = NULL;

        g_assert_cmpint(cli_filter("filter-dump,id=f,netdev=b0,file=/nonexistent/d/x.pcap",
                                   &msg), <, 0);
        g_assert_cmpstr(msg, ==, "net dump: can't open /nonexistent/d/x.pcap: "
                        "No such file or directory");
        g_clear_pointer(&msg, g_free);
        g_assert_cmpint(cli_filter("filter-dump,id=f,netdev=b0,file=", &msg), <, 0);
        g_assert_cmpstr(msg, ==, "net dump: can't open : No such file or directory");
        g_clear_pointer(&msg, g_free);
        if (g_file_test("/dev/full", G_FILE_TEST_EXISTS)) {
            g_assert_cmpint(cli_filter("filter-dump,id=f,netdev=b0,file=/dev/full", &msg), <, 0);
            g_assert_cmpstr(msg, ==, "net dump write error: No space left on device");
        }
    }
    g_assert_null(be.nc.filters);
    g_assert_cmpuint(open_fds(), ==, fds);
    teardown();
}

/* Several -object filter-dump: the first bad one stops start-up; the
 * kept options are used once; -object with a taken id is refused. */
static void test_cli_list(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *p1 = NULL, *p2 = NULL, *a1 = NULL, *a2 = NULL;
    struct kv_list *kv;

    setup();
    p1 = tmp_file("1.pcap");
    p2 = tmp_file("2.pcap");
    kv = kv_parse("filter-dump,id=a,netdev=b0,file=x", "qom-type", NULL);
    g_assert_cmpint(net_filter_cli_add(kv, NULL), ==, 0);
    kv = kv_parse("filter-dump,id=a,netdev=b0,file=y", "qom-type", NULL);
    g_assert_cmpint(net_filter_cli_add(kv, &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Duplicate ID 'a' for object");
    kv_free(kv);
    g_clear_error(&err);
    /* A new parse starts from nothing. */
    net_filter_cli_clear();
    g_assert_cmpint(net_filters_init(NULL), ==, 0);
    g_assert_null(be.nc.filters);

    a1 = g_strdup_printf("filter-dump,id=a,netdev=b0,file=%s", p1);
    a2 = g_strdup_printf("filter-dump,id=c,netdev=b0,file=%s", p2);
    kv = kv_parse(a1, "qom-type", NULL);
    g_assert_cmpint(net_filter_cli_add(kv, NULL), ==, 0);
    kv = kv_parse("filter-dump,id=b,netdev=nx,file=x", "qom-type", NULL);
    g_assert_cmpint(net_filter_cli_add(kv, NULL), ==, 0);
    kv = kv_parse(a2, "qom-type", NULL);
    g_assert_cmpint(net_filter_cli_add(kv, NULL), ==, 0);
    g_assert_cmpint(net_filters_init(&err), <, 0);
    g_assert_cmpstr(err->message, ==, "Parameter 'netdev' expects a network backend id");
    g_assert_nonnull(net_filter_find("a"));
    g_assert_null(net_filter_find("c"));
    g_assert_false(g_file_test(p2, G_FILE_TEST_EXISTS));
    /* Used up: a second start-up creates nothing twice. */
    g_assert_cmpint(net_filters_init(NULL), ==, 0);
    g_assert_cmpuint(g_list_length(be.nc.filters), ==, 1);
    teardown();
}

/* object-add / object-del, QEMU's QMP messages. */
static void test_qmp(void)
{
    static const struct {
        const char *args, *msg;
    } bad[] = {
        { "qom-type=filter-dump,id=f2,netdev=b0,file=x,bogus=x",
          "Parameter 'bogus' is unexpected" },
        { "qom-type=filter-dump,id=f2,file=x", "Parameter 'netdev' is missing" },
        { "qom-type=filter-dump,id=3,netdev=b0,file=x", "Parameter 'id' expects an identifier" },
        { "qom-type=filter-dump,id=f2,netdev=nx,file=x",
          "Parameter 'netdev' expects a network backend id" },
    };
    g_autofree char *path = NULL, *args = NULL, *msg = NULL;
    g_autoptr(GByteArray) a = frame_new(60, 1);
    g_autoptr(GError) err = NULL;
    unsigned fds;

    setup();
    path = tmp_file("qmp.pcap");
    args = g_strdup_printf("qom-type=filter-dump,id=f1,netdev=b0,file=%s", path);
    fds = open_fds();
    g_assert_cmpint(qmp_filter(args, NULL), ==, 0);
    g_assert_cmpuint(open_fds(), ==, fds + 1);
    g_assert_cmpint(qmp_filter(args, &msg), <, 0);
    g_assert_cmpstr(msg, ==, "attempt to add duplicate property 'f1' to object "
                    "(type 'container')");
    g_clear_pointer(&msg, g_free);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(qmp_filter(bad[i].args, &msg), <, 0);
        g_assert_cmpstr(msg, ==, bad[i].msg);
        g_clear_pointer(&msg, g_free);
    }

    be_send(a);
    /* object-del stops the dump and closes the file. */
    g_assert_cmpint(net_filter_del("f1", NULL), ==, 0);
    g_assert_cmpuint(open_fds(), ==, fds);
    g_assert_null(be.nc.filters);
    be_send(a);
    nic_send(a);
    assert_pcap_one(path, a);
    g_assert_cmpint(net_filter_del("f1", &err), ==, -ENOENT);
    g_assert_cmpstr(err->message, ==, "object 'f1' not found");
    teardown();
}

/* The netdev goes (netdev_del): its filters go with it. */
static void test_netdev_gone(void)
{
    g_autofree char *path = NULL;
    unsigned fds;

    setup();
    path = tmp_file("gone.pcap");
    fds = open_fds();
    cli_filter_ok("filter-dump,id=f,netdev=b0,file=%s", path);
    cli_filter_ok("filter-dump,id=g,netdev=b0,file=%s.2", path);
    g_assert_cmpuint(open_fds(), ==, fds + 2);
    net_fake_fini(&be);
    g_assert_null(net_filter_find("f"));
    g_assert_null(net_filter_find("g"));
    g_assert_cmpuint(open_fds(), ==, fds);
    teardown();
}

/* position= and insert= order the list (and so the order frames are seen
 * in); "info network" lists them as QEMU 7.2 does. */
static void test_position(void)
{
    g_autofree char *msg = NULL;
    g_autoptr(GString) info = g_string_new(NULL);
    g_autofree char *want = NULL;
    struct net_fake be1;
    const char *order[] = { "b", "c", "a", "d" };
    GList *l;

    setup();
    net_fake_init(&be1, &net_fake_backend_ops, "fake", "b1", NULL);
    cli_filter_ok("filter-dump,id=a,netdev=b0,file=%s/a", tmpdir);
    cli_filter_ok("filter-dump,id=b,netdev=b0,file=%s/b,position=head,queue=rx", tmpdir);
    cli_filter_ok("filter-dump,id=c,netdev=b0,file=%s/c,position=id=a,insert=before", tmpdir);
    cli_filter_ok("filter-dump,id=d,netdev=b0,file=%s/d,position=id=a,insert=behind,"
                  "status=off,maxlen=100", tmpdir);
    l = be.nc.filters;
    for (unsigned i = 0; i < G_N_ELEMENTS(order); i++, l = l->next) {
        g_assert_nonnull(l);
        g_assert_cmpstr(((struct net_filter *)l->data)->id, ==, order[i]);
    }
    g_assert_null(l);

    g_assert_cmpint(cli_filter("filter-dump,id=e,netdev=b1,file=x,position=id=a", &msg), <, 0);
    g_assert_cmpstr(msg, ==, "filter 'a' belongs to a different netdev");

    net_filters_info(&be1.nc, info);
    g_assert_cmpstr(info->str, ==, "");
    net_filters_info(&be.nc, info);
    want = g_strdup_printf(
        "filters:\n"
        "  - b: type=filter-dump,file=%1$s/b,maxlen=65536,position=head,status=on,"
        "insert=behind,netdev=b0,queue=rx\n"
        "  - c: type=filter-dump,file=%1$s/c,maxlen=65536,position=id=a,status=on,"
        "insert=before,netdev=b0,queue=all\n"
        "  - a: type=filter-dump,file=%1$s/a,maxlen=65536,position=tail,status=on,"
        "insert=behind,netdev=b0,queue=all\n"
        "  - d: type=filter-dump,file=%1$s/d,maxlen=100,position=id=a,status=off,"
        "insert=behind,netdev=b0,queue=all\n", tmpdir);
    g_assert_cmpstr(info->str, ==, want);
    net_fake_fini(&be1);
    teardown();
}

/* A write that fails stops the dump, said once on stderr; frames flow on.
 * Run in a child: it lowers its file size limit. */
static void test_write_error_child(void)
{
    g_autofree char *path = NULL;
    g_autofree gchar *buf = NULL;
    g_autoptr(GByteArray) a = frame_new(60, 1);
    struct rlimit rl = { .rlim_cur = 24 + 16 + 60 + 30, .rlim_max = RLIM_INFINITY };
    gsize size;

    setup();
    path = dump_add("f", "full.pcap", "");
    signal(SIGXFSZ, SIG_IGN);
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &rl), ==, 0);
    for (unsigned i = 0; i < 4; i++) {
        be_send(a);
    }
    g_assert_cmpuint(nic.frames->len, ==, 4);
    /* The first record whole, the second cut where the write failed,
     * nothing after. */
    g_assert_true(g_file_get_contents(path, &buf, &size, NULL));
    g_assert_cmpuint(size, ==, rl.rlim_cur);
    g_assert_cmpuint(rd32(buf + 24 + 12), ==, 60);
    g_assert_cmpmem(buf + 24 + 16, 60, a->data, 60);
    teardown();
}

static void test_write_error(void)
{
    if (g_test_subprocess()) {
        test_write_error_child();
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*network dump write error - stopping dump\n*");
    g_test_trap_assert_stderr_unmatched("*stopping dump*stopping dump*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net-filter/run-order", test_run_order);
    g_test_add_func("/net-filter/both-directions", test_both_directions);
    g_test_add_func("/net-filter/queue", test_queue);
    g_test_add_func("/net-filter/status-off", test_status_off);
    g_test_add_func("/net-filter/maxlen", test_maxlen);
    g_test_add_func("/net-filter/vnet-hdr", test_vnet_hdr);
    g_test_add_func("/net-filter/many-pieces", test_many_pieces);
    g_test_add_func("/net-filter/parse-errors", test_parse_errors);
    g_test_add_func("/net-filter/init-errors", test_init_errors);
    g_test_add_func("/net-filter/cli-list", test_cli_list);
    g_test_add_func("/net-filter/qmp", test_qmp);
    g_test_add_func("/net-filter/netdev-gone", test_netdev_gone);
    g_test_add_func("/net-filter/position", test_position);
    g_test_add_func("/net-filter/write-error", test_write_error);
    return g_test_run();
}
