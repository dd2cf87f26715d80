/*
 * qcow2 amend, resize (truncate) and measure against qemu-img: measure's
 * numbers equal qemu-img measure's for sizes, cluster sizes, refcount widths,
 * preallocation and input images; amend's compat up/downgrade, refcount_bits
 * rewrite and lazy_refcounts leave images qemu-img info describes alike and
 * qemu-img check finds clean; refusals carry QEMU's messages; resize grows and
 * shrinks as qemu-img info then reports.
 */
#include <stdlib.h>
#include <string.h>

#include "qcow2-oracle.h"

static char *make_image(const char *name, const char *opts, const char *size)
{
    char *p = oracle_path(name);

    oracle_must("qemu-img create -q -f qcow2 %s%s '%s' %s", opts ? "-o " : "", opts ? opts : "",
                p, size);
    return p;
}

static JsonObject *format_specific(JsonObject *info)
{
    return json_object_get_object_member(
        json_object_get_object_member(info, "format-specific"), "data");
}

/* ---- measure ---- */

static void assert_measure(const char *opts, uint64_t size)
{
    g_autofree char *out = NULL, *err_out = NULL;
    g_autofree char *spec = g_strdup_printf("size=%" G_GUINT64_FORMAT "%s%s", size,
                                            opts ? "," : "", opts ? opts : "");
    struct kv_list *kv = kv_parse(opts ? opts : "", NULL, NULL);
    struct bdrv_measure m = { 0 };
    GError *err = NULL;
    JsonParser *jp = json_parser_new();
    JsonObject *o;
    int rc, ret;

    rc = oracle_run(&out, &err_out, "qemu-img measure --output=json -O qcow2 --size %"
                    G_GUINT64_FORMAT " %s%s", size, opts ? "-o " : "", opts ? opts : "");
    ret = bdrv_qcow2.measure(kv, NULL, size, &m, &err);
    if (rc != 0) {
        /* Refused by both, in the same words. */
        g_autofree char *want = NULL;
        g_assert_cmpint(ret, <, 0);
        want = g_strdup_printf("qemu-img: %s\n", err->message);
        g_assert_cmpstr(err_out, ==, want);
        g_clear_error(&err);
    } else {
        g_assert_cmpint(ret, ==, 0);
        g_assert_no_error(err);
        g_assert_true(json_parser_load_from_data(jp, out, -1, NULL));
        o = json_node_get_object(json_parser_get_root(jp));
        if ((int64_t)m.required != json_object_get_int_member(o, "required") ||
            (int64_t)m.fully_allocated != json_object_get_int_member(o, "fully-allocated")) {
            g_error("measure %s: ours %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT ", qemu-img %s",
                    spec, m.required, m.fully_allocated, out);
        }
    }
    g_object_unref(jp);
    kv_free(kv);
}

static void test_measure_sizes(void)
{
    static const uint64_t sizes[] = { 0, (1ull << 30) + 512, 100ull << 30,
                                      (16ull << 40) - 65536 };
    static const char *const opts[] = {
        NULL, "cluster_size=512", "cluster_size=2M", "refcount_bits=64", "compat=0.10",
        "preallocation=full",
        "extended_l2=on", "cluster_size=16k,extended_l2=on,refcount_bits=8",
    };

    if (!oracle_ready()) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        for (size_t j = 0; j < G_N_ELEMENTS(sizes); j++) {
            assert_measure(opts[i], sizes[j]);
        }
    }
}

static void test_measure_errors(void)
{
    static const struct {
        const char *opts;
        uint64_t size;
        const char *msg;
    } cases[] = {
        { "cluster_size=3k", 1 << 20, "Cluster size must be a power of two between 512 and 2048k" },
        { "cluster_size=512", 100ull << 40,
          "The image size is too large (try using a larger cluster size)" },
        { "compat=3", 1 << 20, "Invalid compatibility level: '3'" },
        { "refcount_bits=3", 1 << 20,
          "Refcount width must be a power of two and may not exceed 64 bits" },
        { "refcount_bits=8,compat=0.10", 1 << 20,
          "Different refcount widths than 16 bits require compatibility level 1.1 or above "
          "(use compat=1.1 or greater)" },
        { "preallocation=foo", 1 << 20, "invalid parameter value: foo" },
    };

    if (!oracle_ready()) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *err_out = NULL;
        g_autofree char *want = g_strdup_printf("qemu-img: %s\n", cases[i].msg);
        struct kv_list *kv = kv_parse(cases[i].opts, NULL, NULL);
        struct bdrv_measure m;
        GError *err = NULL;

        g_assert_cmpint(oracle_run(NULL, &err_out, "qemu-img measure -O qcow2 --size %"
                                   G_GUINT64_FORMAT " -o %s", cases[i].size, cases[i].opts),
                        ==, 1);
        g_assert_cmpstr(err_out, ==, want);
        g_assert_cmpint(bdrv_qcow2.measure(kv, NULL, cases[i].size, &m, &err), <, 0);
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, cases[i].msg);
        g_clear_error(&err);
        kv_free(kv);
    }
}

/* An input image: only its allocated data counts toward "required". */
static void test_measure_input(void)
{
    static const char *const opts[] = { NULL, "cluster_size=4k", "preallocation=falloc" };
    g_autofree char *raw = NULL, *q = NULL;

    if (!oracle_ready()) {
        return;
    }
    raw = oracle_path("in.raw");
    q = make_image("in.qcow2", NULL, "64M");
    oracle_must("truncate -s 64M '%s'", raw);
    oracle_must("qemu-io -f raw -c 'write -q -P 1 0 100k' -c 'write -q -P 2 5M 1M' "
                "-c 'write -q -P 3 63M 4k' '%s'", raw);
    oracle_must("qemu-io -c 'write -q -P 1 1M 300k' -c 'write -q -z 10M 1M' "
                "-c 'write -q -c -P 5 20M 64k' '%s'", q);

    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        const char *inputs[][2] = { { raw, "raw" }, { q, "qcow2" } };
        for (size_t j = 0; j < 2; j++) {
            g_autofree char *out = NULL;
            struct kv_list *kv = kv_parse(opts[i] ? opts[i] : "", NULL, NULL);
            struct bdrv_measure m = { 0 };
            GError *err = NULL;
            JsonParser *jp = json_parser_new();
            struct bdrv *in = bdrv_open(inputs[j][0], inputs[j][1], NULL, 0, &err);
            JsonObject *o;

            g_assert_no_error(err);
            g_assert_cmpint(oracle_run(&out, NULL, "qemu-img measure --output=json -O qcow2 "
                                       "-f %s %s%s '%s'", inputs[j][1], opts[i] ? "-o " : "",
                                       opts[i] ? opts[i] : "", inputs[j][0]), ==, 0);
            g_assert_true(json_parser_load_from_data(jp, out, -1, NULL));
            o = json_node_get_object(json_parser_get_root(jp));
            g_assert_cmpint(bdrv_qcow2.measure(kv, in, 0, &m, &err), ==, 0);
            g_assert_cmpint(m.required, ==, json_object_get_int_member(o, "required"));
            g_assert_cmpint(m.fully_allocated, ==,
                            json_object_get_int_member(o, "fully-allocated"));
            bdrv_unref(in);
            g_object_unref(jp);
            kv_free(kv);
        }
    }
}

/* An input with a backing chain counts the data of the whole chain; with
 * -o backing_file, every cluster (the new backing may share nothing). */
static void test_measure_chain(void)
{
    static const char *const opts[] = { NULL, "backing_file=whatever.qcow2" };
    g_autofree char *base = NULL, *top = NULL;

    if (!oracle_ready()) {
        return;
    }
    base = oracle_path("chain-base.raw");
    top = oracle_path("chain-top.qcow2");
    oracle_must("truncate -s 8M '%s' && qemu-io -f raw -c 'write -q -P 1 1M 1M' '%s'", base, base);
    oracle_must("qemu-img create -q -f qcow2 -b '%s' -F raw '%s' 16M", base, top);
    oracle_must("qemu-io -c 'write -q -P 2 0 64k' -c 'write -q -z 1M 64k' "
                "-c 'write -q -P 3 12M 1M' '%s'", top);
    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *out = NULL;
        struct kv_list *kv = kv_parse(opts[i] ? opts[i] : "", NULL, NULL);
        struct bdrv_measure m = { 0 };
        GError *err = NULL;
        JsonParser *jp = json_parser_new();
        struct bdrv *in = bdrv_open(top, "qcow2", NULL, 0, &err);
        JsonObject *o;

        g_assert_no_error(err);
        g_assert_cmpint(oracle_run(&out, NULL, "qemu-img measure --output=json -O qcow2 %s%s "
                                   "'%s'", opts[i] ? "-o " : "", opts[i] ? opts[i] : "", top),
                        ==, 0);
        g_assert_true(json_parser_load_from_data(jp, out, -1, NULL));
        o = json_node_get_object(json_parser_get_root(jp));
        g_assert_cmpint(bdrv_qcow2.measure(kv, in, 0, &m, &err), ==, 0);
        g_assert_cmpint(m.required, ==, json_object_get_int_member(o, "required"));
        g_assert_cmpint(m.fully_allocated, ==, json_object_get_int_member(o, "fully-allocated"));
        bdrv_unref(in);
        g_object_unref(jp);
        kv_free(kv);
    }
}

/* ---- amend ---- */

static int amend(const char *path, const char *opts, GError **err)
{
    struct kv_list *kv = kv_parse(opts, NULL, NULL);
    struct bdrv *bs = open_qcow2(path, true);
    int ret = bs->drv->amend(bs, kv, false, err);

    bdrv_unref(bs);
    kv_free(kv);
    return ret;
}

static void test_amend_compat(void)
{
    g_autofree char *p = NULL;
    JsonObject *info;
    GError *err = NULL;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("compat.qcow2", NULL, "4M");
    oracle_must("qemu-io -c 'write -q -P 7 0 64k' -c 'write -q -z 1M 128k' '%s'", p);
    oracle_must("qemu-img snapshot -c s1 '%s'", p);

    g_assert_cmpint(amend(p, "compat=0.10", &err), ==, 0);
    g_assert_no_error(err);
    info = oracle_info_json(p);
    g_assert_cmpstr(json_object_get_string_member(format_specific(info), "compat"), ==, "0.10");
    json_object_unref(info);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 7 0 64k' "
                               "-c 'read -q -P 0 1M 128k' '%s'", p), ==, 0);

    g_assert_cmpint(amend(p, "compat=1.1,lazy_refcounts=on", &err), ==, 0);
    g_assert_no_error(err);
    info = oracle_info_json(p);
    g_assert_cmpstr(json_object_get_string_member(format_specific(info), "compat"), ==, "1.1");
    g_assert_true(json_object_get_boolean_member(format_specific(info), "lazy-refcounts"));
    json_object_unref(info);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);

    g_assert_cmpint(amend(p, "lazy_refcounts=off", &err), ==, 0);
    info = oracle_info_json(p);
    g_assert_false(json_object_get_boolean_member(format_specific(info), "lazy-refcounts"));
    json_object_unref(info);
    oracle_must("qemu-img snapshot -a s1 '%s'", p);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 7 0 64k' '%s'", p), ==, 0);
}

static void test_amend_refcount_bits(void)
{
    static const int widths[] = { 64, 1, 8, 16 };
    g_autofree char *p = NULL;
    GError *err = NULL;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("rcbits.qcow2", "cluster_size=4k", "32M");
    oracle_must("qemu-io -c 'write -q -P 9 0 1M' -c 'write -q -P 10 20M 3M' '%s'", p);
    for (size_t i = 0; i < G_N_ELEMENTS(widths); i++) {
        g_autofree char *o = g_strdup_printf("refcount_bits=%d", widths[i]);
        JsonObject *info;

        g_test_message("%s", o);
        g_assert_cmpint(amend(p, o, &err), ==, 0);
        g_assert_no_error(err);
        info = oracle_info_json(p);
        g_assert_cmpint(json_object_get_int_member(format_specific(info), "refcount-bits"), ==,
                        widths[i]);
        json_object_unref(info);
        g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
        g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 9 0 1M' "
                                   "-c 'read -q -P 10 20M 3M' '%s'", p), ==, 0);
    }

    /* A refcount of 2 does not fit one bit: QEMU's refusal. */
    oracle_must("qemu-img snapshot -c s '%s'", p);
    g_assert_cmpint(amend(p, "refcount_bits=1", &err), <, 0);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "Cannot decrease refcount entry width to 1 "
                                   "bits: Cluster at offset "));
    g_clear_error(&err);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
}

/* Downgrading with a backing file: zero clusters must keep hiding the
 * backing data, so they become allocated clusters of zeroes. */
static void test_amend_downgrade_backing(void)
{
    g_autofree char *base = NULL, *top = NULL;
    GError *err = NULL;
    JsonObject *o;

    if (!oracle_ready()) {
        return;
    }
    base = oracle_path("backing.raw");
    top = oracle_path("top.qcow2");
    oracle_must("truncate -s 1M '%s' && qemu-io -f raw -c 'write -q -P 0x66 0 1M' '%s'", base,
                base);
    oracle_must("qemu-img create -q -f qcow2 -b '%s' -F raw '%s'", base, top);
    oracle_must("qemu-io -c 'write -q -z 0 128k' -c 'write -q -P 0x77 256k 64k' '%s'", top);
    oracle_must("qemu-img snapshot -c s '%s'", top); /* shared L2 table: refcount 2 */
    g_assert_cmpint(amend(top, "compat=0.10", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(oracle_check_json(top, &o), ==, 0);
    g_assert_cmpint(oracle_int(o, "leaks"), ==, 0);
    json_object_unref(o);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0 0 128k' "
                               "-c 'read -q -P 0x77 256k 64k' -c 'read -q -P 0x66 512k 64k' '%s'",
                               top), ==, 0);
    oracle_must("qemu-img snapshot -a s '%s'", top);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0 0 128k' '%s'", top), ==, 0);
}

/* What QEMU refuses, with its words (qemu-img prints "qemu-img: " first). */
static void test_amend_refusals(void)
{
    static const struct {
        const char *create, *opts, *msg;
    } cases[] = {
        { NULL, "cluster_size=4096",
          "Invalid parameter 'cluster_size'\nThis option is only supported for image creation" },
        { NULL, "compat=0.10,refcount_bits=8", "Refcount widths other than 16 bits require "
          "compatibility level 1.1 or above (use compat=1.1 or greater)" },
        { NULL, "compat=0.10,lazy_refcounts=on", "Lazy refcounts only supported with "
          "compatibility level 1.1 and above (use compat=1.1 or greater)" },
        { NULL, "refcount_bits=3", "Refcount width must be a power of two and may not exceed 64 "
          "bits" },
        { NULL, "compat=2", "Unknown compatibility level 2" },
        { NULL, "foo=bar", "Invalid parameter 'foo'" },
        { NULL, "lazy_refcounts=maybe", "Parameter 'lazy_refcounts' expects 'on' or 'off'" },
        { NULL, "backing_file=x.qcow2", "Cannot amend the backing file\nYou can use 'qemu-img "
          "rebase' instead." },
        { "refcount_bits=8", "compat=0.10", "compat=0.10 requires refcount_bits=16" },
        { "extended_l2=on", "compat=0.10", "Cannot downgrade an image with incompatible "
          "features 0x10 set" },
    };

    if (!oracle_ready()) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("ref%zu.qcow2", i);
        g_autofree char *p = make_image(name, cases[i].create, "1M");
        g_autofree char *q = g_strconcat(p, ".q", NULL);
        g_autofree char *err_out = NULL;
        g_autofree char *want = g_strdup_printf("qemu-img: %s\n", cases[i].msg);
        GError *err = NULL;

        oracle_must("cp '%s' '%s'", p, q);
        g_assert_cmpint(oracle_run(NULL, &err_out, "qemu-img amend -o %s '%s'", cases[i].opts,
                                   q), ==, 1);
        g_assert_cmpstr(err_out, ==, want);
        g_assert_cmpint(amend(p, cases[i].opts, &err), <, 0);
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, cases[i].msg);
        g_clear_error(&err);
        g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    }
}

/* A snapshot of another size would be misread by v2 programs. */
static void test_amend_downgrade_snapshot_size(void)
{
    g_autofree char *p = NULL, *err_out = NULL;
    GError *err = NULL;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("snsize.qcow2", NULL, "1M");
    oracle_must("qemu-img snapshot -c s '%s' && qemu-img resize -q '%s' 2M", p, p);
    g_assert_cmpint(oracle_run(NULL, &err_out, "cp '%s' '%s.q' && qemu-img amend -o compat=0.10 "
                               "'%s.q'", p, p, p), ==, 1);
    g_assert_cmpstr(err_out, ==, "qemu-img: Internal snapshots prevent downgrade of image\n");
    g_assert_cmpint(amend(p, "compat=0.10", &err), ==, -ENOTSUP);
    g_assert_cmpstr(err->message, ==, "Internal snapshots prevent downgrade of image");
    g_clear_error(&err);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
}

/* zstd compression type: dropped on downgrade unless compressed clusters
 * use it. */
static void test_amend_downgrade_zstd(void)
{
    g_autofree char *p = NULL, *p2 = NULL;
    GError *err = NULL;
    JsonObject *info;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("zstd.qcow2", "compression_type=zstd", "1M");
    g_assert_cmpint(amend(p, "compat=0.10", &err), ==, 0);
    g_assert_no_error(err);
    info = oracle_info_json(p);
    g_assert_cmpstr(json_object_get_string_member(format_specific(info), "compat"), ==, "0.10");
    json_object_unref(info);

    p2 = make_image("zstd2.qcow2", "compression_type=zstd", "1M");
    oracle_must("qemu-io -c 'write -q -c -P 3 0 64k' '%s'", p2);
    g_assert_cmpint(amend(p2, "compat=0.10", &err), <, 0);
    g_assert_cmpstr(err->message, ==, "Cannot downgrade an image with zstd compression type "
                    "and existing compressed clusters");
    g_clear_error(&err);
    g_assert_cmpint(oracle_check_json(p2, NULL), ==, 0);
}

/* ---- resize ---- */

static int64_t virtual_size(const char *p)
{
    JsonObject *info = oracle_info_json(p);
    int64_t v = json_object_get_int_member(info, "virtual-size");

    json_object_unref(info);
    return v;
}

static int truncate_to(const char *p, uint64_t size, bool shrink, const char *prealloc,
                       GError **err)
{
    struct bdrv *bs = open_qcow2(p, true);
    int ret = bs->drv->truncate(bs, size, shrink, prealloc, err);

    bdrv_unref(bs);
    return ret;
}

static void test_resize(void)
{
    static const char *const opts[] = { NULL, "cluster_size=512", "compat=0.10" };

    if (!oracle_ready()) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *name = g_strdup_printf("rs%zu.qcow2", i);
        g_autofree char *p = make_image(name, opts[i], "10M");
        GError *err = NULL;
        JsonObject *o;

        g_test_message("variant %s", opts[i] ? opts[i] : "default");
        oracle_must("qemu-io -c 'write -q -P 1 0 64k' -c 'write -q -P 2 9M 64k' '%s'", p);

        /* Grow, across many L2 tables with small clusters. */
        g_assert_cmpint(truncate_to(p, 300 << 20, false, NULL, &err), ==, 0);
        g_assert_no_error(err);
        g_assert_cmpint(virtual_size(p), ==, 300 << 20);
        g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
        oracle_must("qemu-io -c 'write -q -P 3 299M 64k' '%s'", p);

        /* Shrink only when asked; then data past the end is gone. */
        g_assert_cmpint(truncate_to(p, 5 << 20, false, NULL, &err), ==, -EINVAL);
        g_assert_cmpstr(err->message, ==, "Use the --shrink option to perform a shrink "
                        "operation.");
        g_clear_error(&err);
        g_assert_cmpint(truncate_to(p, 5 << 20, true, "metadata", &err), ==, -EINVAL);
        g_assert_cmpstr(err->message, ==, "Preallocation can't be used for shrinking an image");
        g_clear_error(&err);
        /* qemu-img's own shrink of 512-byte clusters takes seconds: skipped. */
        bool small = opts[i] && strstr(opts[i], "512");
        if (!small) {
            oracle_must("cp '%s' '%s.q' && qemu-img resize -q --shrink '%s.q' 5M", p, p, p);
        }
        g_assert_cmpint(truncate_to(p, 5 << 20, true, NULL, &err), ==, 0);
        g_assert_no_error(err);
        g_assert_cmpint(virtual_size(p), ==, 5 << 20);
        if (!small) {
            g_assert_cmpint(oracle_run(NULL, NULL, "qemu-img compare -q '%s' '%s.q'", p, p), ==,
                            0);
            /* The free tail of the file is cut as qemu-img cuts it. */
            GStatBuf a, b;
            g_autofree char *q = g_strconcat(p, ".q", NULL);
            g_assert_cmpint(g_stat(p, &a), ==, 0);
            g_assert_cmpint(g_stat(q, &b), ==, 0);
            g_assert_cmpint(a.st_size, ==, b.st_size);
        }
        g_assert_cmpint(oracle_check_json(p, &o), ==, 0);
        g_assert_cmpint(oracle_int(o, "allocated-clusters"), ==,
                        65536 / (opts[i] && strstr(opts[i], "512") ? 512 : 65536));
        json_object_unref(o);
        g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 1 0 64k' '%s'", p), ==, 0);

        /* Grow again: the old data does not come back. */
        g_assert_cmpint(truncate_to(p, 10 << 20, false, "off", &err), ==, 0);
        g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0 9M 64k' '%s'", p), ==, 0);
        g_assert_cmpint(truncate_to(p, (10 << 20) + 100, false, NULL, &err), ==, -EINVAL);
        g_assert_cmpstr(err->message, ==, "The new size must be a multiple of 512");
        g_clear_error(&err);
    }
}

static void test_resize_prealloc(void)
{
    static const char *const modes[] = { "metadata", "falloc", "full" };

    if (!oracle_ready()) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autofree char *name = g_strdup_printf("pa%zu.qcow2", i);
        g_autofree char *p = make_image(name, NULL, "1M");
        GError *err = NULL;
        JsonObject *o;

        oracle_must("qemu-io -c 'write -q -P 1 0 64k' '%s'", p);
        g_assert_cmpint(truncate_to(p, 9 << 20, false, modes[i], &err), ==, 0);
        g_assert_no_error(err);
        g_assert_cmpint(virtual_size(p), ==, 9 << 20);
        g_assert_cmpint(oracle_check_json(p, &o), ==, 0);
        /* The grown 8 MiB are allocated (128 clusters) besides the old one. */
        g_assert_cmpint(oracle_int(o, "allocated-clusters"), ==, 1 + 128);
        json_object_unref(o);
        g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 1 0 64k' "
                                   "-c 'read -q -P 0 1M 8M' '%s'", p), ==, 0);
    }
}

/* amend size= is a truncate to exactly that size (shrinking included). */
static void test_amend_size(void)
{
    g_autofree char *p = NULL;
    GError *err = NULL;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("asize.qcow2", NULL, "10M");
    g_assert_cmpint(amend(p, "size=5M", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(virtual_size(p), ==, 5 << 20);
    g_assert_cmpint(amend(p, "size=20M", &err), ==, 0);
    g_assert_cmpint(virtual_size(p), ==, 20 << 20);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    oracle_setup();
    g_test_add_func("/qcow2-amend/measure-sizes", test_measure_sizes);
    g_test_add_func("/qcow2-amend/measure-errors", test_measure_errors);
    g_test_add_func("/qcow2-amend/measure-input", test_measure_input);
    g_test_add_func("/qcow2-amend/measure-chain", test_measure_chain);
    g_test_add_func("/qcow2-amend/compat", test_amend_compat);
    g_test_add_func("/qcow2-amend/refcount-bits", test_amend_refcount_bits);
    g_test_add_func("/qcow2-amend/refusals", test_amend_refusals);
    g_test_add_func("/qcow2-amend/downgrade-backing", test_amend_downgrade_backing);
    g_test_add_func("/qcow2-amend/downgrade-zstd", test_amend_downgrade_zstd);
    g_test_add_func("/qcow2-amend/downgrade-snapshot-size", test_amend_downgrade_snapshot_size);
    g_test_add_func("/qcow2-amend/size", test_amend_size);
    g_test_add_func("/qcow2-amend/resize", test_resize);
    g_test_add_func("/qcow2-amend/resize-prealloc", test_resize_prealloc);
    ret = g_test_run();
    oracle_teardown();
    return ret;
}
