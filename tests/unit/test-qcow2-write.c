/*
 * Writing qcow2: random writes, zero writes, discards and compressed writes
 * on images this driver creates (several layouts, a backing file), checked
 * against a byte-array model; then QEMU is the judge: `qemu-img check` finds
 * nothing and `qemu-img compare` with a raw copy of the model says identical.
 * Also: concurrent writers into shared clusters, and the empty image layout
 * QEMU makes.  The qemu-img parts skip when it is not installed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "file-node.h"

static char *tmpdir;
static bool have_qemu;

static char *path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* Runs a command; returns its exit status (-1 when it did not run). */
static int run_status(char **out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int run_status(char **out, const char *fmt, ...)
{
    g_autofree char *cmd = NULL, *o = NULL, *e = NULL;
    int status = 0;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!g_spawn_command_line_sync(cmd, &o, &e, &status, NULL)) {
        return -1;
    }
    if (out) {
        *out = g_strconcat(o, e, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static struct bdrv *create_and_open(const char *name, const char *opts, uint64_t size)
{
    g_autofree char *p = path(name);
    g_autofree char *full = g_strdup_printf("size=%" PRIu64 "%s%s", size, opts[0] ? "," : "",
                                            opts);
    g_autoptr(GError) err = NULL;
    struct kv_list *kv = kv_parse(full, NULL, &err);
    struct bdrv *bs;

    g_assert_no_error(err);
    g_assert_cmpint(bdrv_qcow2.create(p, kv, &err), ==, 0);
    g_assert_no_error(err);
    kv_free(kv);
    bs = bdrv_open(p, "qcow2", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    return bs;
}

static void judge(const char *name, const uint8_t *model, uint64_t size)
{
    g_autofree char *img = path(name), *raw = path("model.raw");
    g_autofree char *out = NULL, *out2 = NULL;
    int st;

    if (!have_qemu) {
        return;
    }
    g_assert_true(g_file_set_contents(raw, (const char *)model, size, NULL));
    st = run_status(&out, "qemu-img check -f qcow2 %s", img);
    if (st != 0) {
        g_printerr("qemu-img check exit %d:\n%s", st, out);
        g_assert_not_reached();
    }
    st = run_status(&out2, "qemu-img compare -f qcow2 -F raw %s %s", img, raw);
    if (st != 0) {
        g_printerr("qemu-img compare exit %d:\n%s", st, out2);
        g_assert_not_reached();
    }
}

static void verify(struct bdrv *bs, const uint8_t *model, uint64_t size)
{
    g_autofree uint8_t *buf = g_malloc(size);

    g_assert_cmpint(bdrv_pread(bs, 0, buf, size), ==, 0);
    for (uint64_t i = 0; i < size; i++) {
        if (buf[i] != model[i]) {
            g_printerr("mismatch at %#" PRIx64 ": %#x, model %#x\n", i, buf[i], model[i]);
            g_assert_not_reached();
        }
    }
}

/* One random operation on bs and the model. */
static void random_op(struct bdrv *bs, uint8_t *model, uint64_t size, uint32_t cs, GRand *r,
                      int version)
{
    int kind = g_rand_int_range(r, 0, 100);
    uint64_t off = g_rand_int_range(r, 0, (gint32)size);
    uint64_t want = (uint64_t)g_rand_int_range(r, 1, 3 * cs + 5000);
    uint64_t len = MIN(size - off, want);

    if (kind < 55) {
        g_autofree uint8_t *buf = g_malloc(len);
        uint8_t v = (uint8_t)g_rand_int(r);

        for (uint64_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)(v + i / 512);
        }
        g_assert_cmpint(bdrv_pwrite(bs, off, buf, len), ==, 0);
        memcpy(model + off, buf, len);
    } else if (kind < 70) {
        int flags = g_rand_boolean(r) ? BDRV_REQ_MAY_UNMAP : 0;

        g_assert_cmpint(bdrv_pwrite_zeroes(bs, off, len, flags), ==, 0);
        memset(model + off, 0, len);
    } else if (kind < 82) {
        /* Whole clusters inside the range are discarded; they read as zeroes
         * (v3: zero flag; here no backing shows through on v2). */
        uint64_t a = (off + cs - 1) / cs * cs, b = (off + len) / cs * cs;

        if (off + len == size) {
            b = size;
        }
        g_assert_cmpint(bdrv_discard(bs, off, len), ==, 0);
        if (b > a) {
            memset(model + a, 0, b - a);
        }
        (void)version;
    } else if (kind < 88) {
        uint64_t c = off / cs * cs;
        uint64_t n = MIN((uint64_t)cs, size - c);
        g_autofree uint8_t *buf = g_malloc(n);

        /* Compressible: a few runs; sometimes random (stored plain). */
        for (uint64_t i = 0; i < n; i++) {
            buf[i] = g_rand_int_range(r, 0, 8) == 0 ? (uint8_t)g_rand_int(r) : (uint8_t)(i / 100);
        }
        g_assert_cmpint(bdrv_pwrite_compressed(bs, c, n, buf), ==, 0);
        memcpy(model + c, buf, n);
    } else {
        g_autofree uint8_t *buf = g_malloc(len);

        g_assert_cmpint(bdrv_pread(bs, off, buf, len), ==, 0);
        g_assert_true(memcmp(buf, model + off, len) == 0);
    }
}

static void random_run(const char *opts, uint64_t size, uint32_t cs, int version, int seeds,
                       int ops)
{
    for (int seed = 1; seed <= seeds; seed++) {
        GRand *r = g_rand_new_with_seed(seed);
        g_autofree uint8_t *model = g_malloc0(size);
        struct bdrv *bs = create_and_open("w.qcow2", opts, size);
        g_autoptr(GError) err = NULL;

        for (int i = 0; i < ops; i++) {
            random_op(bs, model, size, cs, r, version);
        }
        g_assert_cmpint(bdrv_flush(bs), ==, 0);
        verify(bs, model, size);
        bdrv_unref(bs);
        judge("w.qcow2", model, size);
        {
            g_autofree char *p = path("w.qcow2");

            bs = bdrv_open(p, "qcow2", NULL, 0, &err);
            g_assert_no_error(err);
            verify(bs, model, size);
            bdrv_unref(bs);
        }
        g_rand_free(r);
    }
}

static void test_default(void) { random_run("", 8 << 20, 65536, 3, 2, 300); }
static void test_v2(void) { random_run("compat=0.10", 4 << 20, 65536, 2, 2, 300); }
static void test_small_clusters(void)
{
    /* 512-byte clusters with 1-bit refcounts: refcount blocks and the
     * refcount table grow as the image does. */
    random_run("cluster_size=512,refcount_bits=1", 3 << 20, 512, 3, 3, 300);
}
static void test_refcount_64(void)
{
    random_run("cluster_size=512,refcount_bits=64", 1 << 20, 512, 3, 3, 300);
}
static void test_extended_l2(void) { random_run("extended_l2=on", 8 << 20, 65536, 3, 2, 250); }
static void test_lazy(void) { random_run("lazy_refcounts=on", 4 << 20, 65536, 3, 2, 200); }
static void test_zstd(void) { random_run("compression_type=zstd", 4 << 20, 65536, 3, 2, 200); }
static void test_2m(void) { random_run("cluster_size=2M", 16 << 20, 2 << 20, 3, 1, 25); }

/* Writes over a backing file: partial clusters copy the backing's bytes. */
static void test_backing(void)
{
    g_autofree char *base = path("base.qcow2"), *top = path("top.qcow2");
    const uint64_t size = 4 << 20;
    g_autofree uint8_t *model = g_malloc(size);
    g_autoptr(GError) err = NULL;
    GRand *r = g_rand_new_with_seed(7);
    struct bdrv *bs;
    struct kv_list *kv;

    if (!have_qemu) {
        g_test_skip("qemu-img not installed");
        return;
    }
    g_assert_cmpint(run_status(NULL, "qemu-img create -f qcow2 %s 3M", base), ==, 0);
    g_assert_cmpint(run_status(NULL, "qemu-io -f qcow2 -c 'write -P 0x5a 0 3M' %s", base), ==,
                    0);
    {
        g_autofree char *o = g_strdup_printf("size=%" PRIu64 ",backing_file=%s,backing_fmt=qcow2",
                                             size, base);

        kv = kv_parse(o, NULL, &err);
    }
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_qcow2.create(top, kv, &err), ==, 0);
    kv_free(kv);
    memset(model, 0x5a, 3 << 20);
    memset(model + (3 << 20), 0, size - (3 << 20));
    bs = bdrv_open(top, "qcow2", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_nonnull(bs->backing);
    for (int i = 0; i < 300; i++) {
        random_op(bs, model, size, 65536, r, 3);
    }
    verify(bs, model, size);
    bdrv_unref(bs);
    judge("top.qcow2", model, size);
    g_rand_free(r);
}

/* Writes after qemu-img made an internal snapshot: shared clusters and L2
 * tables are copied before they change, and the snapshot keeps its bytes. */
static void test_snapshot_cow(void)
{
    const uint64_t size = 4 << 20;
    g_autofree uint8_t *model = g_malloc0(size), *snap = NULL;
    g_autofree char *p = path("s.qcow2"), *raw = path("snap.raw");
    g_autoptr(GError) err = NULL;
    GRand *r = g_rand_new_with_seed(11);
    struct bdrv *bs;

    if (!have_qemu) {
        g_test_skip("qemu-img not installed");
        g_rand_free(r);
        return;
    }
    bs = create_and_open("s.qcow2", "", size);
    for (int i = 0; i < 150; i++) {
        random_op(bs, model, size, 65536, r, 3);
    }
    bdrv_unref(bs);
    snap = g_memdup2(model, size);
    g_assert_cmpint(run_status(NULL, "qemu-img snapshot -c s1 %s", p), ==, 0);
    bs = bdrv_open(p, "qcow2", NULL, BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 250; i++) {
        random_op(bs, model, size, 65536, r, 3);
    }
    verify(bs, model, size);
    bdrv_unref(bs);
    judge("s.qcow2", model, size);
    g_assert_cmpint(run_status(NULL, "qemu-img convert -l snapshot.name=s1 -O raw %s %s", p,
                               raw), ==, 0);
    {
        g_autofree char *got = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(raw, &got, &len, NULL));
        g_assert_cmpint(len, ==, size);
        g_assert_true(memcmp(got, snap, size) == 0);
    }
    g_rand_free(r);
}

/* Several threads writing interleaved 4k pieces of the same clusters. */
struct writer {
    struct bdrv *bs;
    int id;
};

static gpointer writer_thread(gpointer opaque)
{
    struct writer *w = opaque;
    uint8_t buf[4096];

    memset(buf, 0x10 + w->id, sizeof(buf));
    for (uint64_t off = w->id * 4096; off < (4 << 20); off += 4 * 4096) {
        g_assert_cmpint(bdrv_pwrite(w->bs, off, buf, sizeof(buf)), ==, 0);
    }
    return NULL;
}

static void test_threads(void)
{
    const uint64_t size = 4 << 20;
    g_autofree uint8_t *model = g_malloc(size);
    struct bdrv *bs = create_and_open("t.qcow2", "", size);
    struct writer w[4];
    GThread *t[4];

    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){ bs, i };
        t[i] = g_thread_new("writer", writer_thread, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(t[i]);
    }
    for (uint64_t off = 0; off < size; off += 4096) {
        memset(model + off, 0x10 + (int)((off / 4096) % 4), 4096);
    }
    verify(bs, model, size);
    bdrv_unref(bs);
    judge("t.qcow2", model, size);
}

/*
 * kill -9 in the middle of random writes: `qemu-img check` may find leaked
 * clusters (exit 3) but never corruption.  With lazy refcounts the image is
 * dirty after the kill and our open repairs it first, as QEMU's does.
 */
static void kill_run(const char *opts, uint64_t size, uint32_t cs, bool lazy, int runs)
{
    /* QCOW2_KILL_RUNS=N for a longer soak than the unit test's few runs. */
    if (g_getenv("QCOW2_KILL_RUNS")) {
        runs = atoi(g_getenv("QCOW2_KILL_RUNS"));
    }
    for (int run = 0; run < runs; run++) {
        g_autofree char *p = path("k.qcow2");
        g_autofree char *out = NULL;
        struct bdrv *bs = create_and_open("k.qcow2", opts, size);
        pid_t pid;
        int st;

        bdrv_unref(bs);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            GRand *r = g_rand_new_with_seed(100 + run);
            uint8_t *model = g_malloc0(size);

            bs = bdrv_open(p, "qcow2", NULL, BDRV_O_RDWR, NULL);
            if (!bs) {
                _exit(1);
            }
            for (;;) {
                random_op(bs, model, size, cs, r, 3);
            }
        }
        g_usleep(20000 + 15000 * (run % 7));
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        g_assert_true(WIFSIGNALED(st));
        if (lazy) {
            g_autoptr(GError) err = NULL;

            bs = bdrv_open(p, "qcow2", NULL, BDRV_O_RDWR, &err);
            g_assert_no_error(err);
            g_assert_false(bdrv_qcow2.is_dirty(bs));
            bdrv_unref(bs);
        }
        if (!have_qemu) {
            continue;
        }
        st = run_status(&out, "qemu-img check -f qcow2 %s", p);
        if (st != 0 && st != 3) {
            g_printerr("run %d: qemu-img check exit %d:\n%s", run, st, out);
            g_assert_not_reached();
        }
    }
}

static void test_kill(void) { kill_run("", 8 << 20, 65536, false, 4); }
static void test_kill_small(void) { kill_run("cluster_size=512", 2 << 20, 512, false, 3); }
static void test_kill_lazy(void) { kill_run("lazy_refcounts=on", 8 << 20, 65536, true, 2); }

/* An empty image is laid out as QEMU's: header, refcount table, refcount
 * block, L1 table, with the same bytes. */
static void test_empty_layout(void)
{
    g_autofree char *ours = path("e1.qcow2"), *theirs = path("e2.qcow2");
    static const char *const variants[] = { "", "compat=0.10", "cluster_size=4096",
                                            "refcount_bits=1,lazy_refcounts=on",
                                            "extended_l2=on,compression_type=zstd" };

    if (!have_qemu) {
        g_test_skip("qemu-img not installed");
        return;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(variants); i++) {
        g_autofree char *a = NULL, *b = NULL;
        gsize la, lb;
        struct bdrv *bs = create_and_open("e1.qcow2", variants[i], 1 << 30);

        bdrv_unref(bs);
        g_assert_cmpint(run_status(NULL, "qemu-img create -f qcow2 %s%s %s 1G",
                                   variants[i][0] ? "-o " : "", variants[i], theirs), ==, 0);
        g_assert_true(g_file_get_contents(ours, &a, &la, NULL));
        g_assert_true(g_file_get_contents(theirs, &b, &lb, NULL));
        if (la != lb || memcmp(a, b, la)) {
            g_printerr("layout differs for '%s' (%zu vs %zu bytes)\n", variants[i], la, lb);
            g_assert_not_reached();
        }
    }
}

int main(int argc, char **argv)
{
    g_autofree char *qi = g_find_program_in_path("qemu-img");
    int ret;

    g_test_init(&argc, &argv, NULL);
    have_qemu = qi != NULL;
    tmpdir = g_dir_make_tmp("test-qcow2-write-XXXXXX", NULL);
    g_test_add_func("/qcow2-write/empty-layout", test_empty_layout);
    g_test_add_func("/qcow2-write/random/default", test_default);
    g_test_add_func("/qcow2-write/random/v2", test_v2);
    g_test_add_func("/qcow2-write/random/cluster-512-refcount-1", test_small_clusters);
    g_test_add_func("/qcow2-write/random/cluster-512-refcount-64", test_refcount_64);
    g_test_add_func("/qcow2-write/random/extended-l2", test_extended_l2);
    g_test_add_func("/qcow2-write/random/lazy-refcounts", test_lazy);
    g_test_add_func("/qcow2-write/random/zstd", test_zstd);
    g_test_add_func("/qcow2-write/random/cluster-2m", test_2m);
    g_test_add_func("/qcow2-write/backing", test_backing);
    g_test_add_func("/qcow2-write/threads", test_threads);
    g_test_add_func("/qcow2-write/snapshot-cow", test_snapshot_cow);
    g_test_add_func("/qcow2-write/kill/default", test_kill);
    g_test_add_func("/qcow2-write/kill/cluster-512", test_kill_small);
    g_test_add_func("/qcow2-write/kill/lazy-refcounts", test_kill_lazy);
    ret = g_test_run();
    tmpdir_remove(tmpdir);
    return ret;
}
