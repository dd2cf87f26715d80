/*
 * Helpers for the qcow2 maintenance tests (check, snapshot, amend/resize/
 * measure): Debian's qemu-img and qemu-io as the oracle, raw patches of
 * image files (to corrupt them on purpose), and opening images through the
 * block layer.  A test without qemu-img is skipped, not passed.
 */
#ifndef HYVM_TEST_QCOW2_ORACLE_H
#define HYVM_TEST_QCOW2_ORACLE_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "block/block.h"

/* A strong reference: links the qcow2 driver out of the static library. */
extern const struct block_driver bdrv_qcow2;

static char *oracle_tmpdir;

/* Skips the current test unless qemu-img and qemu-io are installed. */
static inline bool oracle_ready(void)
{
    g_autofree char *img = g_find_program_in_path("qemu-img");
    g_autofree char *io = g_find_program_in_path("qemu-io");

    if (!img || !io) {
        g_test_skip("qemu-img/qemu-io not installed");
        return false;
    }
    g_assert(bdrv_find_format("qcow2") == &bdrv_qcow2);
    return true;
}

static inline char *oracle_path(const char *name)
{
    return g_build_filename(oracle_tmpdir, name, NULL);
}

/* Runs a shell command line; returns its exit status, stdout in *out and
 * stderr in *err when asked. */
static inline int oracle_run(char **out, char **err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static inline int oracle_run(char **out, char **err, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    g_autofree char *o = NULL, *e = NULL;
    GError *gerr = NULL;
    int status;
    const char *argv[] = { "/bin/sh", "-c", NULL, NULL };

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    argv[2] = cmd;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &o, &e, &status,
                      &gerr)) {
        g_error("spawn %s: %s", cmd, gerr->message);
    }
    if (out) {
        *out = g_steal_pointer(&o);
    }
    if (err) {
        *err = g_steal_pointer(&e);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Like oracle_run, but the command must succeed. */
#define oracle_must(...)                                    \
    do {                                                    \
        g_autofree char *e_ = NULL;                         \
        int rc_ = oracle_run(NULL, &e_, __VA_ARGS__);       \
        if (rc_ != 0) {                                     \
            g_error("command failed (%d): %s", rc_, e_);    \
        }                                                   \
    } while (0)

/* qemu-img check --output=json: the exit status, and the parsed object. */
static inline int oracle_check_json(const char *path, JsonObject **obj)
{
    g_autofree char *out = NULL;
    int rc = oracle_run(&out, NULL, "qemu-img check --output=json '%s'", path);
    JsonParser *p = json_parser_new();

    if (obj) {
        g_assert_true(json_parser_load_from_data(p, out, -1, NULL));
        *obj = json_object_ref(json_node_get_object(json_parser_get_root(p)));
    }
    g_object_unref(p);
    return rc;
}

static inline int64_t oracle_int(JsonObject *o, const char *member)
{
    return json_object_has_member(o, member) ? json_object_get_int_member(o, member) : 0;
}

/* qemu-img info --output=json: the parsed object. */
static inline JsonObject *oracle_info_json(const char *path)
{
    g_autofree char *out = NULL;
    JsonParser *p = json_parser_new();
    JsonObject *o;

    g_assert_cmpint(oracle_run(&out, NULL, "qemu-img info -U --output=json '%s'", path), ==, 0);
    g_assert_true(json_parser_load_from_data(p, out, -1, NULL));
    o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
    g_object_unref(p);
    return o;
}

/* ---- Big-endian patches of image files ---- */

static inline uint64_t file_be(const char *path, uint64_t off, unsigned bytes)
{
    uint8_t b[8] = { 0 };
    int fd = open(path, O_RDONLY);
    uint64_t v = 0;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, b, bytes, (off_t)off), ==, (ssize_t)bytes);
    close(fd);
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

static inline void file_set_be(const char *path, uint64_t off, unsigned bytes, uint64_t v)
{
    uint8_t b[8];
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    for (unsigned i = 0; i < bytes; i++) {
        b[bytes - 1 - i] = (uint8_t)(v >> (8 * i));
    }
    g_assert_cmpint(pwrite(fd, b, bytes, (off_t)off), ==, (ssize_t)bytes);
    close(fd);
}

/* Header fields (qcow2.txt "Header"). */
static inline unsigned hdr_cluster_bits(const char *p) { return (unsigned)file_be(p, 20, 4); }
static inline uint64_t hdr_l1_offset(const char *p) { return file_be(p, 40, 8); }
static inline uint64_t hdr_reftable_offset(const char *p) { return file_be(p, 48, 8); }

/* Offset of the 16-bit refcount entry of cluster idx (first refcount block). */
static inline uint64_t refcount_entry_offset(const char *p, uint64_t idx)
{
    uint64_t rb = file_be(p, hdr_reftable_offset(p), 8);
    g_assert_cmpuint(rb, !=, 0);
    return rb + idx * 2;
}

/* Offset of the L2 entry mapping guest cluster 0..(l2_size-1) of L1 entry 0. */
static inline uint64_t l2_entry_offset(const char *p, unsigned idx)
{
    uint64_t l2 = file_be(p, hdr_l1_offset(p), 8) & 0x00fffffffffffe00ull;
    g_assert_cmpuint(l2, !=, 0);
    return l2 + idx * 8ull;
}

/* ---- Block layer ---- */

static inline struct bdrv *open_qcow2(const char *path, bool rw)
{
    GError *err = NULL;
    struct bdrv *bs = bdrv_open(path, "qcow2", NULL, rw ? BDRV_O_RDWR : 0, &err);

    if (!bs) {
        g_error("open %s: %s", path, err->message);
    }
    return bs;
}

static inline void oracle_setup(void)
{
    oracle_tmpdir = g_dir_make_tmp("hyvm-qcow2-XXXXXX", NULL);
    g_assert_nonnull(oracle_tmpdir);
}

static inline void oracle_teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", oracle_tmpdir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(oracle_tmpdir);
}

#endif
