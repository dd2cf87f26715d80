/*
 * qcow2 internal snapshots with qemu-img as the oracle: snapshots qemu-img
 * made are listed alike and applied with their data; snapshots we make are
 * listed by qemu-img snapshot -l, applied by it, and leave qemu-img check
 * clean; delete by name and by id, and QEMU's error when not found.
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

static void assert_pattern(struct bdrv *bs, uint64_t off, uint64_t len, uint8_t pat)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, off, buf, len), >=, 0);
    for (uint64_t i = 0; i < len; i++) {
        if (buf[i] != pat) {
            g_error("byte %" G_GUINT64_FORMAT " is %#x, expected %#x", off + i, buf[i], pat);
        }
    }
}

static void write_pattern(struct bdrv *bs, uint64_t off, uint64_t len, uint8_t pat)
{
    g_autofree uint8_t *buf = g_malloc(len);

    memset(buf, pat, len);
    g_assert_cmpint(bdrv_pwrite(bs, off, buf, len), >=, 0);
}

static int create_snapshot(struct bdrv *bs, const char *name)
{
    struct bdrv_snapshot sn = { 0 };
    gint64 now = g_get_real_time();

    g_strlcpy(sn.name, name, sizeof(sn.name));
    sn.date_sec = (uint32_t)(now / G_USEC_PER_SEC);
    sn.date_nsec = (uint32_t)(now % G_USEC_PER_SEC) * 1000;
    return bs->drv->snapshot_create(bs, &sn);
}

/* "ID TAG" pairs of qemu-img snapshot -l, one per line. */
static char *oracle_snapshot_ids(const char *path)
{
    g_autofree char *out = NULL;
    g_autoptr(GString) s = g_string_new("");
    g_auto(GStrv) lines = NULL;

    g_assert_cmpint(oracle_run(&out, NULL, "qemu-img snapshot -l '%s'", path), ==, 0);
    lines = g_strsplit(out, "\n", -1);
    for (unsigned i = 2; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit_set(lines[i], " ", -1);
        unsigned n = 0;
        for (unsigned j = 0; f[j]; j++) {
            if (*f[j]) {
                g_string_append_printf(s, "%s%s", n++ ? " " : "", f[j]);
                if (n == 2) {
                    g_string_append_c(s, '\n');
                    break;
                }
            }
        }
    }
    return g_string_free(g_steal_pointer(&s), false);
}

static char *our_snapshot_ids(struct bdrv *bs)
{
    struct bdrv_snapshot *l = NULL;
    int n = bs->drv->snapshot_list(bs, &l);
    GString *s = g_string_new("");

    g_assert_cmpint(n, >=, 0);
    for (int i = 0; i < n; i++) {
        g_string_append_printf(s, "%s %s\n", l[i].id, l[i].name);
    }
    g_free(l);
    return g_string_free(s, false);
}

static void test_list_qemu_snapshots(void)
{
    g_autofree char *p = NULL, *theirs = NULL, *ours = NULL;
    struct bdrv_snapshot *l = NULL;
    struct bdrv *bs;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("list.qcow2", NULL, "4M");
    oracle_must("qemu-io -c 'write -q -P 0xaa 0 64k' '%s'", p);
    oracle_must("qemu-img snapshot -c s1 '%s'", p);
    oracle_must("qemu-io -c 'write -q -P 0xbb 0 64k' '%s'", p);
    oracle_must("qemu-img snapshot -c s2 '%s'", p);
    oracle_must("qemu-img snapshot -c s1 '%s'", p); /* names may repeat; IDs do not */

    bs = open_qcow2(p, false);
    ours = our_snapshot_ids(bs);
    theirs = oracle_snapshot_ids(p);
    g_assert_cmpstr(ours, ==, "1 s1\n2 s2\n3 s1\n");
    g_assert_cmpstr(ours, ==, theirs);
    g_assert_cmpint(bs->drv->snapshot_list(bs, &l), ==, 3);
    g_assert_cmpuint(l[0].vm_state_size, ==, 0);
    g_assert_cmpuint(l[0].vm_clock_nsec, ==, 0);
    g_assert_cmpuint(l[0].icount, ==, 0); /* qemu-img records 0 */
    g_assert_cmpuint(l[0].date_sec, >, 1500000000u);
    g_free(l);
    bdrv_unref(bs);
}

static void test_create_ours(void)
{
    static const char *const variants[] = { NULL, "compat=0.10", "cluster_size=4k",
                                            "refcount_bits=4,cluster_size=512" };

    if (!oracle_ready()) {
        return;
    }
    for (size_t v = 0; v < G_N_ELEMENTS(variants); v++) {
        g_autofree char *name = g_strdup_printf("ours%zu.qcow2", v);
        g_autofree char *p = make_image(name, variants[v], "16M");
        g_autofree char *ids = NULL;
        struct bdrv *bs;

        g_test_message("variant %s", variants[v] ? variants[v] : "default");
        bs = open_qcow2(p, true);
        write_pattern(bs, 0, 64 * 1024, 0x11);
        write_pattern(bs, 9 << 20, 64 * 1024, 0x12); /* another L2 table */
        g_assert_cmpint(create_snapshot(bs, "mine"), ==, 0);
        write_pattern(bs, 0, 64 * 1024, 0x22); /* copy on write */
        assert_pattern(bs, 9 << 20, 64 * 1024, 0x12);
        g_assert_cmpint(create_snapshot(bs, "second"), ==, 0);
        bdrv_unref(bs);

        ids = oracle_snapshot_ids(p);
        g_assert_cmpstr(ids, ==, "1 mine\n2 second\n");
        g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
        g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0x22 0 64k' '%s'", p),
                        ==, 0);
        /* qemu-img applies what we created. */
        oracle_must("qemu-img snapshot -a mine '%s'", p);
        g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0x11 0 64k' "
                                   "-c 'read -q -P 0x12 9M 64k' '%s'", p), ==, 0);
        g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    }
}

/* 1-bit refcounts cannot count a second reference: the snapshot is refused
 * and the image keeps no corruption (QEMU refuses too, leaking a cluster). */
static void test_create_refcount_bits_1(void)
{
    g_autofree char *p = NULL;
    JsonObject *o;
    struct bdrv *bs;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("rc1.qcow2", "refcount_bits=1", "1M");
    oracle_must("qemu-io -c 'write -q -P 0x11 0 64k' '%s'", p);
    bs = open_qcow2(p, true);
    g_assert_cmpint(create_snapshot(bs, "x"), <, 0);
    bdrv_unref(bs);
    oracle_check_json(p, &o);
    g_assert_cmpint(oracle_int(o, "corruptions"), ==, 0);
    g_assert_cmpint(oracle_int(o, "check-errors"), ==, 0);
    json_object_unref(o);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0x11 0 64k' '%s'", p), ==, 0);
}

static void test_goto(void)
{
    g_autofree char *p = NULL;
    struct bdrv *bs;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("goto.qcow2", NULL, "4M");
    oracle_must("qemu-io -c 'write -q -P 0xaa 0 128k' '%s'", p);
    oracle_must("qemu-img snapshot -c s1 '%s'", p);
    oracle_must("qemu-io -c 'write -q -P 0xbb 0 64k' -c 'write -q -P 0xbc 1M 64k' '%s'", p);
    oracle_must("qemu-img snapshot -c s2 '%s'", p);
    oracle_must("qemu-io -c 'write -q -P 0xcc 0 64k' '%s'", p);

    bs = open_qcow2(p, true);
    g_assert_cmpint(bs->drv->snapshot_goto(bs, "s1"), ==, 0);
    assert_pattern(bs, 0, 128 * 1024, 0xaa);
    assert_pattern(bs, 1 << 20, 64 * 1024, 0);
    /* Writing after apply copies on write: the snapshot keeps its data. */
    write_pattern(bs, 0, 4096, 0xdd);
    g_assert_cmpint(bs->drv->snapshot_goto(bs, "2"), ==, 0); /* by ID */
    assert_pattern(bs, 0, 64 * 1024, 0xbb);
    assert_pattern(bs, 1 << 20, 64 * 1024, 0xbc);
    g_assert_cmpint(bs->drv->snapshot_goto(bs, "nope"), ==, -ENOENT);
    bdrv_unref(bs);

    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0xbb 0 64k' '%s'", p), ==, 0);
    oracle_must("qemu-img snapshot -a s1 '%s'", p);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0xaa 0 128k' '%s'", p), ==,
                    0);
}

/* A snapshot taken at another virtual size brings that size back. */
static void test_goto_other_size(void)
{
    g_autofree char *p = NULL;
    JsonObject *info;
    struct bdrv *bs;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("size.qcow2", NULL, "1M");
    oracle_must("qemu-io -c 'write -q -P 0xaa 0 64k' '%s'", p);
    oracle_must("qemu-img snapshot -c small '%s'", p);
    oracle_must("qemu-img resize -q '%s' 3M", p);
    oracle_must("qemu-io -c 'write -q -P 0xbb 2M 64k' '%s'", p);

    bs = open_qcow2(p, true);
    g_assert_cmpint(bdrv_length(bs), ==, 3 << 20);
    g_assert_cmpint(bs->drv->snapshot_goto(bs, "small"), ==, 0);
    g_assert_cmpint(bdrv_length(bs), ==, 1 << 20);
    assert_pattern(bs, 0, 64 * 1024, 0xaa);
    bdrv_unref(bs);

    info = oracle_info_json(p);
    g_assert_cmpint(json_object_get_int_member(info, "virtual-size"), ==, 1 << 20);
    json_object_unref(info);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
}

/* A snapshot with VM state (QEMU's savevm): its L1 table is longer than the
 * disk needs (the state lies past the end), icount unrecorded. */
static void test_vmstate_snapshot(void)
{
    g_autofree char *p = NULL, *qemu = g_find_program_in_path("qemu-system-x86_64");
    struct bdrv_snapshot *l = NULL;
    GError *err = NULL;
    struct bdrv *bs;
    JsonObject *o;

    if (!oracle_ready()) {
        return;
    }
    if (!qemu) {
        g_test_skip("qemu-system-x86_64 not installed");
        return;
    }
    p = make_image("vm.qcow2", NULL, "1M");
    oracle_must("qemu-io -c 'write -q -P 0x44 0 64k' '%s'", p);
    oracle_must("printf 'savevm vmsnap\\nquit\\n' | timeout 30 qemu-system-x86_64 -M none "
                "-nodefaults -display none -drive file='%s',if=none,id=d0 -monitor stdio "
                ">/dev/null", p);
    oracle_must("qemu-io -c 'write -q -P 0x55 0 64k' '%s'", p);

    bs = open_qcow2(p, true);
    g_assert_cmpint(bs->drv->snapshot_list(bs, &l), ==, 1);
    g_assert_cmpstr(l[0].name, ==, "vmsnap");
    g_assert_cmpuint(l[0].vm_state_size, >, 0);
    g_assert_cmpuint(l[0].icount, ==, UINT64_MAX);
    g_free(l);
    g_assert_cmpint(bs->drv->snapshot_goto(bs, "vmsnap"), ==, 0);
    assert_pattern(bs, 0, 64 * 1024, 0x44);
    g_assert_cmpint(bdrv_length(bs), ==, 1 << 20);
    bdrv_unref(bs);
    g_assert_cmpint(oracle_check_json(p, NULL), ==, 0);
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0x44 0 64k' '%s'", p), ==, 0);

    bs = open_qcow2(p, true);
    g_assert_cmpint(bs->drv->snapshot_delete(bs, NULL, "vmsnap", &err), ==, 0);
    g_assert_no_error(err);
    bdrv_unref(bs);
    g_assert_cmpint(oracle_check_json(p, &o), ==, 0);
    g_assert_cmpint(oracle_int(o, "leaks"), ==, 0);
    json_object_unref(o);
}

static void test_delete(void)
{
    g_autofree char *p = NULL, *ids = NULL;
    GError *err = NULL;
    struct bdrv *bs;
    JsonObject *o;

    if (!oracle_ready()) {
        return;
    }
    p = make_image("del.qcow2", NULL, "4M");
    oracle_must("qemu-io -c 'write -q -P 0xaa 0 64k' '%s'", p);
    oracle_must("qemu-img snapshot -c s1 '%s'", p);
    oracle_must("qemu-io -c 'write -q -P 0xbb 0 64k' '%s'", p);
    oracle_must("qemu-img snapshot -c s2 '%s'", p);
    oracle_must("qemu-img snapshot -c s3 '%s'", p);

    bs = open_qcow2(p, true);
    g_assert_cmpint(bs->drv->snapshot_delete(bs, NULL, "s1", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(bs->drv->snapshot_delete(bs, "3", NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(bs->drv->snapshot_delete(bs, NULL, "s1", &err), ==, -ENOENT);
    g_assert_nonnull(err);
    /* qemu-img prints "Could not delete snapshot 's1': snapshot not found". */
    g_assert_cmpstr(err->message, ==, "snapshot not found");
    g_clear_error(&err);
    /* Both given: both must match the same snapshot. */
    g_assert_cmpint(bs->drv->snapshot_delete(bs, "2", "s1", &err), ==, -ENOENT);
    g_clear_error(&err);
    assert_pattern(bs, 0, 64 * 1024, 0xbb);
    bdrv_unref(bs);

    ids = oracle_snapshot_ids(p);
    g_assert_cmpstr(ids, ==, "2 s2\n");
    g_assert_cmpint(oracle_check_json(p, &o), ==, 0);
    json_object_unref(o);

    /* Deleting the last snapshot gives back the clusters it held. */
    bs = open_qcow2(p, true);
    g_assert_cmpint(bs->drv->snapshot_delete(bs, NULL, "s2", &err), ==, 0);
    bdrv_unref(bs);
    g_assert_cmpint(oracle_check_json(p, &o), ==, 0);
    g_assert_cmpint(oracle_int(o, "leaks"), ==, 0);
    g_assert_cmpint(oracle_int(o, "allocated-clusters"), ==, 1);
    json_object_unref(o);
    /* Data clusters are exclusive again: COPIED restored, writes in place. */
    g_assert_cmpint(oracle_run(NULL, NULL, "qemu-io -c 'read -q -P 0xbb 0 64k' '%s'", p), ==, 0);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    oracle_setup();
    g_test_add_func("/qcow2-snapshot/list-qemu-snapshots", test_list_qemu_snapshots);
    g_test_add_func("/qcow2-snapshot/create-ours", test_create_ours);
    g_test_add_func("/qcow2-snapshot/create-refcount-bits-1", test_create_refcount_bits_1);
    g_test_add_func("/qcow2-snapshot/goto", test_goto);
    g_test_add_func("/qcow2-snapshot/goto-other-size", test_goto_other_size);
    g_test_add_func("/qcow2-snapshot/delete", test_delete);
    g_test_add_func("/qcow2-snapshot/vmstate", test_vmstate_snapshot);
    ret = g_test_run();
    oracle_teardown();
    return ret;
}
