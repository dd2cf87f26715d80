/*
 * qcow2 check and repair against qemu-img check as the oracle: clean images
 * of many shapes give qemu-img's statistics; images corrupted on purpose
 * (leaked cluster, refcount zeroed under a used cluster, L2 entry past the
 * end of the file, COPIED flag wrong) give qemu-img's counts, and after our
 * repair qemu-img check answers as after its own repair.
 */
#include <stdlib.h>
#include <string.h>

#include "qcow2-oracle.h"

/* 1 MiB image, 64 KiB clusters, data in guest clusters 0 and 2.  Layout as
 * qemu-img 7.2 writes it: header 0, reftable 1, refblock 2, L1 3, L2 4,
 * data 5 and 6. */
static char *make_base(const char *name, const char *opts)
{
    char *p = oracle_path(name);

    oracle_must("qemu-img create -q -f qcow2 %s%s '%s' 1M", opts ? "-o " : "", opts ? opts : "",
                p);
    oracle_must("qemu-io -c 'write -q -P 0xaa 0 64k' -c 'write -q -P 0xbb 128k 64k' '%s'", p);
    return p;
}

static char *copy_of(const char *src, const char *name)
{
    char *p = oracle_path(name);
    oracle_must("cp '%s' '%s'", src, p);
    return p;
}

/* As hyvm-img check opens: BDRV_O_CHECK, read/write only to repair. */
static void our_check(const char *path, int fix, struct bdrv_check_result *res, int *ret)
{
    GError *err = NULL;
    struct bdrv *bs = bdrv_open(path, "qcow2", NULL, BDRV_O_CHECK | (fix ? BDRV_O_RDWR : 0),
                                &err);

    g_assert_no_error(err);

    *ret = bs->drv->check(bs, res, fix);
    bdrv_unref(bs);
}

/* Our read-only result equals qemu-img check --output=json's. */
static void assert_same_as_oracle(const char *path)
{
    JsonObject *o = NULL;
    struct bdrv_check_result res;
    int ret;

    oracle_check_json(path, &o);
    our_check(path, 0, &res, &ret);
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpint(res.corruptions, ==, oracle_int(o, "corruptions"));
    g_assert_cmpint(res.leaks, ==, oracle_int(o, "leaks"));
    g_assert_cmpint(res.check_errors, ==, oracle_int(o, "check-errors"));
    g_assert_true(res.has_bfi);
    g_assert_cmpint(res.total_clusters, ==, oracle_int(o, "total-clusters"));
    g_assert_cmpint(res.allocated_clusters, ==, oracle_int(o, "allocated-clusters"));
    g_assert_cmpint(res.fragmented_clusters, ==, oracle_int(o, "fragmented-clusters"));
    g_assert_cmpint(res.compressed_clusters, ==, oracle_int(o, "compressed-clusters"));
    g_assert_cmpint(res.image_end_offset, ==, oracle_int(o, "image-end-offset"));
    json_object_unref(o);
}

/* Our messages on stderr are qemu-img check's, line for line.  The child
 * re-runs the calling test from its start (building the same image in its
 * own directory) and stops here. */
static void assert_stderr_like_oracle(const char *path)
{
    g_autofree char *theirs = NULL;

    if (g_test_subprocess()) {
        struct bdrv_check_result res;
        int ret;
        our_check(path, 0, &res, &ret);
        oracle_teardown();
        exit(ret < 0);
    }
    oracle_run(NULL, &theirs, "qemu-img check '%s'", path);
    g_assert_cmpstr(theirs, !=, "");
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr(theirs);
}

/* Repairs a copy with qemu-img and the original with us: qemu-img check then
 * gives the same exit status and counts for both. */
static void assert_repair_like_oracle(const char *path, int fix, const char *mode)
{
    g_autofree char *theirs = g_strconcat(path, ".theirs", NULL);
    struct bdrv_check_result res;
    JsonObject *a = NULL, *b = NULL;
    int ret, rc_ours, rc_theirs;

    oracle_must("cp '%s' '%s'", path, theirs);
    oracle_run(NULL, NULL, "qemu-img check -q -r %s '%s'", mode, theirs);
    our_check(path, fix, &res, &ret);
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpint(res.leaks_fixed + res.corruptions_fixed, >, 0);

    rc_theirs = oracle_check_json(theirs, &a);
    rc_ours = oracle_check_json(path, &b);
    g_assert_cmpint(rc_ours, ==, rc_theirs);
    g_assert_cmpint(oracle_int(b, "corruptions"), ==, oracle_int(a, "corruptions"));
    g_assert_cmpint(oracle_int(b, "leaks"), ==, oracle_int(a, "leaks"));
    json_object_unref(a);
    json_object_unref(b);
}

static void test_clean_variants(void)
{
    static const char *const variants[] = {
        NULL,
        "cluster_size=512",
        "cluster_size=2M",
        "refcount_bits=1",
        "refcount_bits=64",
        "compat=0.10",
        "extended_l2=on",
    };

    if (!oracle_ready()) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(variants); i++) {
        g_autofree char *name = g_strdup_printf("v%zu.qcow2", i);
        g_autofree char *p = make_base(name, variants[i]);
        g_test_message("variant %s", variants[i] ? variants[i] : "default");
        assert_same_as_oracle(p);
    }
}

/* Compressed clusters, zero clusters and a snapshot sharing clusters. */
static void test_clean_compressed_snapshot(void)
{
    g_autofree char *p = NULL;

    if (!oracle_ready()) {
        return;
    }
    p = make_base("cs.qcow2", NULL);
    oracle_must("qemu-io -c 'write -q -c -P 0x11 256k 64k' -c 'write -q -c -P 0x22 320k 64k' "
                "-c 'write -q -z 448k 64k' '%s'", p);
    oracle_must("qemu-img snapshot -c snap1 '%s'", p);
    oracle_must("qemu-io -c 'write -q -P 0xcc 0 4k' '%s'", p);
    assert_same_as_oracle(p);
}

static void test_leak(void)
{
    g_autofree char *base = NULL, *p = NULL;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("base.qcow2", NULL);
    p = copy_of(base, "leak.qcow2");
    /* The L1 table's cluster (3) counted twice. */
    file_set_be(p, refcount_entry_offset(p, 3), 2, 2);
    assert_stderr_like_oracle(p);
    assert_same_as_oracle(p);
    assert_repair_like_oracle(p, BDRV_FIX_LEAKS, "leaks");
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
}

static void test_refcount_zero(void)
{
    g_autofree char *base = NULL, *p = NULL;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("base.qcow2", NULL);
    p = copy_of(base, "zero.qcow2");
    /* Data cluster 5 in use, refcount 0: only a rebuild repairs it safely. */
    file_set_be(p, refcount_entry_offset(p, 5), 2, 0);
    assert_stderr_like_oracle(p);
    assert_same_as_oracle(p);
    assert_repair_like_oracle(p, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS, "all");
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    /* And the data survived. */
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0xaa 0 64k' "
                               "-c 'read -q -P 0xbb 128k 64k' '%s'", p), ==, 0);
}

static void test_l2_outside(void)
{
    g_autofree char *base = NULL, *p = NULL;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("base.qcow2", NULL);
    p = copy_of(base, "out.qcow2");
    /* Guest cluster 2 mapped 1 GiB into a 448 KiB file. */
    file_set_be(p, l2_entry_offset(p, 2), 8, 0x8000000040000000ull);
    assert_stderr_like_oracle(p);
    assert_same_as_oracle(p);
    assert_repair_like_oracle(p, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS, "all");
}

static void test_copied_flag(void)
{
    g_autofree char *base = NULL, *p = NULL, *p2 = NULL;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("base.qcow2", NULL);
    p = copy_of(base, "copied.qcow2");
    /* Refcount 1 but COPIED clear on the L2 entry of guest cluster 0 ... */
    file_set_be(p, l2_entry_offset(p, 0), 8, file_be(p, l2_entry_offset(p, 0), 8) & ~(1ull << 63));
    assert_stderr_like_oracle(p);
    assert_same_as_oracle(p);
    assert_repair_like_oracle(p, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS, "all");
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);

    /* ... and on the L1 entry. */
    p2 = copy_of(base, "copied-l1.qcow2");
    file_set_be(p2, hdr_l1_offset(p2), 8, file_be(p2, hdr_l1_offset(p2), 8) & ~(1ull << 63));
    assert_same_as_oracle(p2);
    assert_repair_like_oracle(p2, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS, "all");
    g_assert_cmpint(oracle_check_json(p2, NULL), ==, 0);
}

/* A refcount table entry pointing at an unaligned block: rebuild. */
static void test_bad_reftable_entry(void)
{
    g_autofree char *base = NULL, *p = NULL;
    struct bdrv_check_result res;
    int ret;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("base.qcow2", NULL);
    p = copy_of(base, "reft.qcow2");
    file_set_be(p, hdr_reftable_offset(p), 8, file_be(p, hdr_reftable_offset(p), 8) + 512);
    /* qemu-img 7.2 gives up here ("ERROR writing refblock: Input/output
     * error": the corrupt bit it just set stops its own rebuild); ours
     * rebuilds, clears the corrupt bit and qemu-img then finds it clean. */
    our_check(p, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS, &res, &ret);
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpint(res.corruptions, ==, 0);
    g_assert_cmpint(res.corruptions_fixed, >, 0);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0xaa 0 64k' "
                               "-c 'read -q -P 0xbb 128k 64k' '%s'", p), ==, 0);
}

/* Leaks alone are not repaired by a read-only check, nor by -r without
 * permission: fix=0 changes nothing on disk. */
/* A dirty image with lazy refcounts is repaired when opened read/write. */
static void test_dirty_lazy_open(void)
{
    g_autofree char *p = NULL;
    JsonObject *info;
    struct bdrv *bs;

    if (!oracle_ready()) {
        return;
    }
    p = make_base("lazy.qcow2", "lazy_refcounts=on");
    /* incompatible_features bit 0 (byte 79) and a leaked L1 cluster. */
    file_set_be(p, 79, 1, file_be(p, 79, 1) | 1);
    file_set_be(p, refcount_entry_offset(p, 3), 2, 2);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 3);
    bs = open_qcow2(p, true);
    bdrv_unref(bs);
    g_assert_cmpint(file_be(p, 79, 1) & 1, ==, 0);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    info = oracle_info_json(p);
    g_assert_true(json_object_get_boolean_member(
        json_object_get_object_member(json_object_get_object_member(info, "format-specific"),
                                      "data"), "lazy-refcounts"));
    json_object_unref(info);
}

/* A (sparse) file too long for the in-memory refcounts: a clear error, no
 * huge allocation. */
static void test_huge_file(void)
{
    g_autofree char *p = NULL;
    struct bdrv_check_result res;
    int ret;

    if (!oracle_ready()) {
        return;
    }
    p = make_base("huge.qcow2", "cluster_size=512,refcount_bits=64");
    oracle_must("truncate -s 64G '%s'", p);
    our_check(p, 0, &res, &ret);
    g_assert_cmpint(ret, ==, -EFBIG);
    g_assert_cmpint(res.check_errors, ==, 1);
}

/* A v3 snapshot entry without the disk size in its extra data (qcow2.txt:
 * "Version 3 images must include extra data at least up to byte 55"). */
static void test_incomplete_snapshot_entry(void)
{
    g_autofree char *base = NULL, *p = NULL;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("incb.qcow2", NULL);
    oracle_must("qemu-img snapshot -c s1 '%s'", base);
    p = copy_of(base, "inc.qcow2");
    file_set_be(p, file_be(p, 64, 8) + 36, 4, 8);
    assert_stderr_like_oracle(p);
    assert_same_as_oracle(p);
    assert_repair_like_oracle(p, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS, "all");
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
}

/* An entry with more extra data than QEMU's 1024 bytes: plain check fails,
 * -r all cuts it down and rewrites the table, as qemu-img does. */
static void test_snapshot_extra_data_too_big(void)
{
    g_autofree char *base = NULL, *p = NULL;
    struct bdrv_check_result res;
    GError *err = NULL;
    struct bdrv *bs;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("bigxb.qcow2", NULL);
    oracle_must("qemu-img snapshot -c s1 '%s'", base);
    p = copy_of(base, "bigx.qcow2");
    file_set_be(p, file_be(p, 64, 8) + 36, 4, 2000);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-img check '%s'", p), ==, 1);
    bs = bdrv_open(p, "qcow2", NULL, BDRV_O_CHECK, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bs->drv->check(bs, &res, 0), <, 0);
    g_assert_cmpint(res.check_errors, ==, 1);
    bdrv_unref(bs);

    assert_repair_like_oracle(p, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS, "all");
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
}

/* A snapshot table that cannot be read (and is not to be repaired: -r
 * leaks) stops the check before any repair: counting without it would free
 * every cluster only the snapshot holds. */
static void test_unreadable_snapshot_table(void)
{
    g_autofree char *p = NULL, *before = NULL, *after = NULL;
    struct bdrv_check_result res;
    GError *err = NULL;
    struct bdrv *bs;
    int ret;

    if (!oracle_ready()) {
        return;
    }
    p = make_base("sntab.qcow2", NULL);
    oracle_must("qemu-img snapshot -c s1 '%s'", p);
    oracle_must("qemu-io -c 'write -q -P 0xcc 0 64k' '%s'", p);
    /* extra_data_size of entry 0 beyond QEMU's 1024-byte limit. */
    file_set_be(p, file_be(p, 64, 8) + 36, 4, 0x10000);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-img check '%s'", p), ==, 1);
    oracle_run(&before, NULL, "md5sum < '%s'", p);

    bs = bdrv_open(p, "qcow2", NULL, BDRV_O_RDWR | BDRV_O_CHECK, &err);
    g_assert_no_error(err);
    /* -r leaks: the table is not repaired, so nothing may be. */
    ret = bs->drv->check(bs, &res, BDRV_FIX_LEAKS);
    bdrv_unref(bs);
    g_assert_cmpint(ret, <, 0);
    g_assert_cmpint(res.check_errors, ==, 1);
    g_assert_cmpint(res.leaks_fixed + res.corruptions_fixed, ==, 0);
    oracle_run(&after, NULL, "md5sum < '%s'", p);
    g_assert_cmpstr(before, ==, after);
}

static void test_no_fix_no_change(void)
{
    g_autofree char *base = NULL, *p = NULL, *before = NULL, *after = NULL;
    struct bdrv_check_result res;
    int ret;

    if (!oracle_ready()) {
        return;
    }
    base = make_base("base.qcow2", NULL);
    p = copy_of(base, "ro.qcow2");
    file_set_be(p, refcount_entry_offset(p, 3), 2, 2);
    oracle_run(&before, NULL, "md5sum < '%s'", p);
    our_check(p, 0, &res, &ret);
    g_assert_cmpint(res.leaks, ==, 1);
    g_assert_cmpint(res.leaks_fixed, ==, 0);
    oracle_run(&after, NULL, "md5sum < '%s'", p);
    g_assert_cmpstr(before, ==, after);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    oracle_setup();
    g_test_add_func("/qcow2-check/clean-variants", test_clean_variants);
    g_test_add_func("/qcow2-check/clean-compressed-snapshot", test_clean_compressed_snapshot);
    g_test_add_func("/qcow2-check/leak", test_leak);
    g_test_add_func("/qcow2-check/refcount-zero", test_refcount_zero);
    g_test_add_func("/qcow2-check/l2-outside", test_l2_outside);
    g_test_add_func("/qcow2-check/copied-flag", test_copied_flag);
    g_test_add_func("/qcow2-check/bad-reftable-entry", test_bad_reftable_entry);
    g_test_add_func("/qcow2-check/no-fix-no-change", test_no_fix_no_change);
    g_test_add_func("/qcow2-check/dirty-lazy-open", test_dirty_lazy_open);
    g_test_add_func("/qcow2-check/huge-file", test_huge_file);
    g_test_add_func("/qcow2-check/unreadable-snapshot-table", test_unreadable_snapshot_table);
    g_test_add_func("/qcow2-check/incomplete-snapshot-entry", test_incomplete_snapshot_entry);
    g_test_add_func("/qcow2-check/snapshot-extra-data-too-big", test_snapshot_extra_data_too_big);
    ret = g_test_run();
    oracle_teardown();
    return ret;
}
