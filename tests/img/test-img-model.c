/*
 * Model test of the qcow2 driver through the block layer (issue 8, "Tests" 3).
 *
 * Random sequences of writes, reads, write-zeroes, discards, compressed writes,
 * flushes and re-opens go to a qcow2 image through block.h and to an in-memory
 * copy, the model.  Every read must return what the model holds.  At the end
 * the image is read whole, re-opened read-only and read again, and QEMU judges
 * the file: `qemu-img check` exits 0 and `qemu-img compare` finds it equal to
 * the model written out as a raw file.
 *
 * What a discard leaves is not fixed by the block layer's contract: each byte
 * must read either as before, as zero, or (qcow2 v2 over a backing, which
 * deallocates) as the backing's byte; the model then takes what was read and
 * later reads must agree with it.
 *
 * Threads: the "threads" cases run four writer threads at once on one node;
 * each owns interleaved 1536-byte stripes, so they share clusters (the
 * allocation and copy-on-write races a driver must serialize) but never bytes.
 *
 * HYVM_MODEL_SEED=N changes the random streams; HYVM_MODEL_OPS=N the length.
 * A failure prints the seed, the operation number and the range.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "system/keyval.h"

#define STRIPE 1536
#define NTHREADS 4

struct model_case {
    const char *name;
    const char *opts;      /* qcow2 create options */
    uint64_t size;
    const char *backing;   /* NULL, "raw" or "qcow2" */
    int threads;           /* 0: one thread with reopen/discard/compressed ops */
    int open_flags;        /* added to BDRV_O_RDWR: BDRV_O_NOCACHE (O_DIRECT, bounced) */
};

struct model {
    const struct model_case *mc;
    char *dir;
    char *path;            /* the qcow2 under test */
    char *base;            /* its backing, or NULL */
    uint32_t cluster;
    struct bdrv *bs;
    uint8_t *data;         /* what reads must return */
    uint8_t *backing_data; /* the backing's bytes (zero past its end), or NULL */
    guint32 seed;
    unsigned ops;
};

static guint32 model_seed(void)
{
    const char *s = g_getenv("HYVM_MODEL_SEED");

    return s ? (guint32)strtoul(s, NULL, 0) : 0x600d5eed;
}

static unsigned model_ops(void)
{
    const char *s = g_getenv("HYVM_MODEL_OPS");

    return s ? (unsigned)strtoul(s, NULL, 0) : 1200;
}

static struct bdrv *model_try_open(const char *path, const char *fmt, int flags, GError **errp)
{
    return bdrv_open(path, fmt, NULL, flags, errp);
}

static struct bdrv *model_open(const char *path, const char *fmt, int flags)
{
    GError *err = NULL;
    struct bdrv *bs = model_try_open(path, fmt, flags, &err);

    if (!bs) {
        g_test_message("bdrv_open %s: %s", path, err ? err->message : "(no error set)");
        g_clear_error(&err);
    }
    g_assert_nonnull(bs);
    return bs;
}

static uint32_t opt_cluster(const char *opts)
{
    struct kv_list *l = kv_parse(opts, NULL, NULL);
    const char *cs = l ? kv_get(l, "cluster_size") : NULL;
    uint64_t v = 65536;

    if (cs) {
        g_assert_cmpint(parse_size(cs, 1, &v), ==, 0);
    }
    kv_free(l);
    return (uint32_t)v;
}

/* The backing: random data in random places, the rest zero; 3/4 of the overlay's size
 * so that reads past its end must come back zero. */
static void model_make_backing(struct model *m, GRand *r)
{
    uint64_t bsize = m->mc->size / 4 * 3;
    GError *err = NULL;
    struct bdrv *b;
    int ret;

    m->base = g_build_filename(m->dir, "base.img", NULL);
    ret = bdrv_create(m->mc->backing, m->base, bsize, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(ret, ==, 0);
    b = model_open(m->base, m->mc->backing, BDRV_O_RDWR);
    m->backing_data = g_malloc0(m->mc->size);
    for (int i = 0; i < 40; i++) {
        uint64_t len = g_rand_int_range(r, 1, 200000);
        uint64_t off = g_rand_int_range(r, 0, (gint32)(bsize - len));

        for (uint64_t k = 0; k < len; k++) {
            m->backing_data[off + k] = (uint8_t)g_rand_int(r);
        }
        g_assert_cmpint(bdrv_pwrite(b, off, m->backing_data + off, len), ==, 0);
    }
    bdrv_unref(b);
    memcpy(m->data, m->backing_data, m->mc->size);
}

/* false: the driver does not create this variant (-ENOTSUP); the case is skipped. */
static bool model_setup(struct model *m, const struct model_case *mc)
{
    GError *err = NULL;
    struct kv_list *opts;
    GString *o = g_string_new(mc->opts);
    GRand *r;
    int ret;

    memset(m, 0, sizeof(*m));
    m->mc = mc;
    m->seed = model_seed();
    m->ops = model_ops();
    m->dir = g_dir_make_tmp("hyvm-model-XXXXXX", &err);
    g_assert_no_error(err);
    m->path = g_build_filename(m->dir, "top.qcow2", NULL);
    m->cluster = opt_cluster(mc->opts);
    m->data = g_malloc0(mc->size);
    r = g_rand_new_with_seed(m->seed ^ 0xba5e);
    if (mc->backing) {
        model_make_backing(m, r);
        g_string_append_printf(o, "%sbacking_file=%s,backing_fmt=%s", o->len ? "," : "",
                               m->base, mc->backing);
    }
    g_rand_free(r);
    opts = kv_parse(o->str, NULL, &err);
    g_assert_no_error(err);
    ret = bdrv_create("qcow2", m->path, mc->size, opts, &err);
    kv_free(opts);
    g_string_free(o, TRUE);
    if (ret == -ENOTSUP) {
        g_test_skip(err ? err->message : "not supported");
        g_clear_error(&err);
        return false;
    }
    if (ret < 0) {
        g_test_message("bdrv_create qcow2 %s: %s", mc->opts, err ? err->message : "?");
    }
    g_assert_no_error(err);
    g_assert_cmpint(ret, ==, 0);
    m->bs = model_try_open(m->path, "qcow2", BDRV_O_RDWR | mc->open_flags, &err);
    if (!m->bs && (mc->open_flags & BDRV_O_NOCACHE)) {
        /* O_DIRECT is refused by some file systems (tmpfs): nothing to test there. */
        g_test_skip(err ? err->message : "no O_DIRECT");
        g_clear_error(&err);
        return false;
    }
    g_assert_no_error(err);
    g_assert_nonnull(m->bs);
    g_assert_cmpint(bdrv_length(m->bs), ==, mc->size);
    return true;
}

static void model_teardown(struct model *m)
{
    if (m->bs) {
        bdrv_unref(m->bs);
    }
    g_unlink(m->path);
    if (m->base) {
        g_unlink(m->base);
    }
    {
        char *raw = g_build_filename(m->dir, "model.raw", NULL);

        g_unlink(raw);
        g_free(raw);
    }
    g_rmdir(m->dir);
    g_free(m->dir);
    g_free(m->path);
    g_free(m->base);
    g_free(m->data);
    g_free(m->backing_data);
}

/* Reads [off, off+len) and compares with the model; names the first differing byte. */
static bool model_verify(struct model *m, struct bdrv *bs, uint64_t off, uint64_t len,
                         const char *when, unsigned op)
{
    uint8_t *buf = g_malloc(len ? len : 1);
    int ret = bdrv_pread(bs, off, buf, len);
    bool good = ret == 0;

    if (ret < 0) {
        g_test_message("%s (seed 0x%x, op %u): read %#" G_GINT64_MODIFIER "x+%#"
                       G_GINT64_MODIFIER "x failed: %s", when, m->seed, op, off, len,
                       g_strerror(-ret));
    }
    for (uint64_t i = 0; good && i < len; i++) {
        if (buf[i] != m->data[off + i]) {
            g_test_message("%s (seed 0x%x, op %u): read %#" G_GINT64_MODIFIER "x+%#"
                           G_GINT64_MODIFIER "x: byte %#" G_GINT64_MODIFIER
                           "x is %#x, model %#x (cluster size %u)", when, m->seed, op, off,
                           len, off + i, buf[i], m->data[off + i], m->cluster);
            good = false;
        }
    }
    g_free(buf);
    return good;
}

static uint64_t pick_len(GRand *r, uint32_t cluster)
{
    switch (g_rand_int_range(r, 0, 10)) {
    case 0: case 1: case 2: case 3: case 4:
        return g_rand_int_range(r, 1, 4097);
    case 5: case 6:
        return g_rand_int_range(r, 1, 2 * (gint32)cluster + 2);
    case 7:
        return cluster;
    default:
        return g_rand_int_range(r, 1, 256 * 1024);
    }
}

static uint64_t pick_off(GRand *r, uint64_t size, uint64_t len, uint32_t cluster, bool aligned)
{
    uint64_t off = (uint64_t)g_rand_double_range(r, 0, (double)(size - len + 1));

    if (aligned || g_rand_int_range(r, 0, 4) == 0) {
        off -= off % cluster;
    }
    return MIN(off, size - len);
}

/* After a discard: each byte reads as before, zero, or the backing's byte. */
static bool model_after_discard(struct model *m, uint64_t off, uint64_t len, unsigned op)
{
    uint8_t *buf = g_malloc(len);
    bool good = bdrv_pread(m->bs, off, buf, len) == 0;

    for (uint64_t i = 0; good && i < len; i++) {
        uint8_t b = buf[i];

        if (b != m->data[off + i] && b != 0 &&
            !(m->backing_data && b == m->backing_data[off + i])) {
            g_test_message("discard (seed 0x%x, op %u) %#" G_GINT64_MODIFIER "x+%#"
                           G_GINT64_MODIFIER "x: byte %#" G_GINT64_MODIFIER "x reads %#x: "
                           "neither the old %#x, zero nor the backing's", m->seed, op, off,
                           len, off + i, b, m->data[off + i]);
            good = false;
        }
    }
    if (good) {
        memcpy(m->data + off, buf, len);
    }
    g_free(buf);
    return good;
}

static bool model_step(struct model *m, GRand *r, unsigned op)
{
    uint64_t size = m->mc->size;
    int kind = g_rand_int_range(r, 0, 100);
    uint64_t len = MIN(pick_len(r, m->cluster), size);
    uint64_t off = pick_off(r, size, len, m->cluster, false);
    int ret;

    if (kind < 45) {
        for (uint64_t i = 0; i < len; i++) {
            m->data[off + i] = (uint8_t)g_rand_int(r);
        }
        ret = bdrv_pwrite(m->bs, off, m->data + off, len);
        if (ret < 0) {
            g_test_message("write (seed 0x%x, op %u) %#" G_GINT64_MODIFIER "x+%#"
                           G_GINT64_MODIFIER "x: %s", m->seed, op, off, len, g_strerror(-ret));
            return false;
        }
        return true;
    }
    if (kind < 70) {
        return model_verify(m, m->bs, off, len, "read", op);
    }
    if (kind < 80) {
        int flags = g_rand_boolean(r) ? BDRV_REQ_MAY_UNMAP : 0;

        ret = bdrv_pwrite_zeroes(m->bs, off, len, flags);
        if (ret < 0) {
            g_test_message("write_zeroes (seed 0x%x, op %u): %s", m->seed, op,
                           g_strerror(-ret));
            return false;
        }
        memset(m->data + off, 0, len);
        return true;
    }
    if (kind < 88) {
        ret = bdrv_discard(m->bs, off, len);
        if (ret < 0 && ret != -ENOTSUP) {
            g_test_message("discard (seed 0x%x, op %u): %s", m->seed, op, g_strerror(-ret));
            return false;
        }
        return model_after_discard(m, off, len, op);
    }
    if (kind < 93) {
        /* A whole cluster compressed; a driver may refuse an allocated one (QEMU does),
         * and then the old contents stay. */
        uint8_t *buf = g_malloc(m->cluster);

        if (size < m->cluster) {
            g_free(buf);
            return true;
        }
        off = pick_off(r, size, m->cluster, m->cluster, true);
        if (off % m->cluster || size - off < m->cluster) {
            g_free(buf);
            return true;
        }
        /* Compressible: runs of a few random bytes. */
        for (uint32_t i = 0; i < m->cluster; i += 64) {
            memset(buf + i, (int)g_rand_int_range(r, 0, 4), 64);
        }
        ret = bdrv_pwrite_compressed(m->bs, off, m->cluster, buf);
        if (ret == 0) {
            memcpy(m->data + off, buf, m->cluster);
        }
        g_free(buf);
        return model_verify(m, m->bs, off, m->cluster, "after compressed write", op);
    }
    if (kind < 97) {
        ret = bdrv_flush(m->bs);
        if (ret < 0) {
            g_test_message("flush (op %u): %s", op, g_strerror(-ret));
        }
        return ret == 0;
    }
    bdrv_unref(m->bs);
    m->bs = model_open(m->path, "qcow2", BDRV_O_RDWR | m->mc->open_flags);
    return bdrv_length(m->bs) == (int64_t)size;
}

struct stripe_worker {
    struct model *m;
    int idx;
    bool good;
    GThread *thread;
};

/* One of NTHREADS: writes, zeroes and reads inside the stripes it owns. */
static gpointer stripe_worker_run(gpointer opaque)
{
    struct stripe_worker *w = opaque;
    struct model *m = w->m;
    uint64_t nstripes = m->mc->size / STRIPE;
    GRand *r = g_rand_new_with_seed(m->seed + 1 + w->idx);

    w->good = true;
    for (unsigned op = 0; op < m->ops && w->good; op++) {
        uint64_t s = (uint64_t)g_rand_double_range(r, 0, (double)(nstripes / NTHREADS));
        uint64_t start = (s * NTHREADS + w->idx) * STRIPE;
        uint64_t off = start + g_rand_int_range(r, 0, STRIPE);
        uint64_t len = g_rand_int_range(r, 1, (gint32)(start + STRIPE - off) + 1);
        int kind = g_rand_int_range(r, 0, 10);
        int ret;

        if (start + STRIPE > m->mc->size) {
            continue;
        }
        if (kind < 6) {
            for (uint64_t i = 0; i < len; i++) {
                m->data[off + i] = (uint8_t)g_rand_int(r);
            }
            ret = bdrv_pwrite(m->bs, off, m->data + off, len);
        } else if (kind < 7) {
            memset(m->data + off, 0, len);
            ret = bdrv_pwrite_zeroes(m->bs, off, len, BDRV_REQ_MAY_UNMAP);
        } else {
            ret = model_verify(m, m->bs, off, len, "threaded read", op) ? 0 : -EIO;
        }
        if (ret < 0) {
            g_test_message("thread %d op %u at %#" G_GINT64_MODIFIER "x+%#" G_GINT64_MODIFIER
                           "x: %s", w->idx, op, off, len, g_strerror(-ret));
            w->good = false;
        }
    }
    g_rand_free(r);
    return NULL;
}

static bool model_run_threads(struct model *m)
{
    struct stripe_worker w[NTHREADS];
    bool good = true;

    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct stripe_worker){ .m = m, .idx = i };
        w[i].thread = g_thread_new("model-writer", stripe_worker_run, &w[i]);
    }
    for (int i = 0; i < NTHREADS; i++) {
        g_thread_join(w[i].thread);
        good &= w[i].good;
    }
    return good;
}

/* QEMU's verdict on the file: check exit 0, compare equal to the model. */
static void model_qemu_judges(struct model *m)
{
    char *qemu_img = g_find_program_in_path(g_getenv("QEMU_IMG") ? g_getenv("QEMU_IMG")
                                                                  : "qemu-img");
    char *raw = g_build_filename(m->dir, "model.raw", NULL);
    char *out = NULL, *err = NULL;
    GError *gerr = NULL;
    int status = 0;

    if (!qemu_img) {
        g_test_message("qemu-img not found: the file is not checked by QEMU");
        g_free(raw);
        return;
    }
    g_assert_true(g_file_set_contents(raw, (const char *)m->data, (gssize)m->mc->size, NULL));
    {
        const char *argv[] = { qemu_img, "check", m->path, NULL };

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &status, &gerr));
        if (!g_spawn_check_wait_status(status, NULL)) {
            g_test_message("qemu-img check %s (seed 0x%x):\n%s%s", m->path, m->seed, out, err);
            g_test_fail();
        }
        g_free(out);
        g_free(err);
    }
    {
        const char *argv[] = { qemu_img, "compare", "-f", "raw", "-F", "qcow2", raw, m->path,
                               NULL };

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &status, &gerr));
        if (!g_spawn_check_wait_status(status, NULL)) {
            g_test_message("qemu-img compare model.raw %s (seed 0x%x):\n%s%s", m->path,
                           m->seed, out, err);
            g_test_fail();
        }
        g_free(out);
        g_free(err);
    }
    g_free(qemu_img);
    g_free(raw);
}

static void test_model(gconstpointer data)
{
    const struct model_case *mc = data;
    struct model m;
    bool good = true;
    GRand *r;

    if (!model_setup(&m, mc)) {
        model_teardown(&m);
        return;
    }
    if (mc->threads) {
        good = model_run_threads(&m);
    } else {
        r = g_rand_new_with_seed(m.seed);
        for (unsigned op = 0; op < m.ops && good; op++) {
            good = model_step(&m, r, op);
        }
        g_rand_free(r);
    }
    g_assert_true(good);
    g_assert_true(model_verify(&m, m.bs, 0, mc->size, "whole image at the end", m.ops));
    g_assert_cmpint(bdrv_flush(m.bs), ==, 0);
    bdrv_unref(m.bs);
    m.bs = model_open(m.path, "qcow2", 0);
    g_assert_true(model_verify(&m, m.bs, 0, mc->size, "whole image re-opened read-only",
                               m.ops));
    bdrv_unref(m.bs);
    m.bs = NULL;
    model_qemu_judges(&m);
    model_teardown(&m);
}

static const struct model_case model_cases[] = {
    { "v3", "", 32 << 20, NULL, 0 },
    { "v2", "compat=0.10", 32 << 20, NULL, 0 },
    { "cluster-512", "cluster_size=512", 4 << 20, NULL, 0 },
    { "cluster-4k-refcount-64", "cluster_size=4k,refcount_bits=64", 16 << 20, NULL, 0 },
    { "cluster-512-refcount-64", "cluster_size=512,refcount_bits=64", 4 << 20, NULL, 0 },
    { "cluster-2M", "cluster_size=2M", 24 << 20, NULL, 0 },
    { "refcount-1", "refcount_bits=1", 16 << 20, NULL, 0 },
    { "lazy-refcounts", "lazy_refcounts=on", 16 << 20, NULL, 0 },
    { "extended-l2", "extended_l2=on", 16 << 20, NULL, 0 },
    { "zstd", "compression_type=zstd", 16 << 20, NULL, 0 },
    { "backing-qcow2", "", 16 << 20, "qcow2", 0 },
    { "backing-raw", "cluster_size=4k", 8 << 20, "raw", 0 },
    { "v2-backing-qcow2", "compat=0.10", 16 << 20, "qcow2", 0 },
    { "threads", "", 8 << 20, NULL, NTHREADS },
    { "threads-cluster-4k", "cluster_size=4k", 4 << 20, NULL, NTHREADS },
    { "threads-backing", "", 8 << 20, "qcow2", NTHREADS },
    { "direct", "", 8 << 20, NULL, 0, BDRV_O_NOCACHE },
    { "direct-cluster-512-backing", "cluster_size=512", 4 << 20, "qcow2", 0, BDRV_O_NOCACHE },
    { "direct-threads", "cluster_size=4k", 4 << 20, NULL, NTHREADS, BDRV_O_NOCACHE },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(model_cases); i++) {
        char *path = g_strdup_printf("/img/model/%s", model_cases[i].name);

        g_test_add_data_func(path, &model_cases[i], test_model);
        g_free(path);
    }
    return g_test_run();
}
