/*
 * QEMU-compatible image locks: the bytes each kind of open holds (QEMU's
 * layout, checked against what qemu-io and qemu-system-x86_64 hold), two
 * opens in this process conflicting as two processes would (OFD locks
 * belong to the open file description), reopen, and the real qemu-img and
 * qemu-io on both sides when they are installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "block/block.h"
#include "file-node.h"
#include "block/file-lock.h"


static char *tmpdir;

static char *make_image(const char *name)
{
    char *path = g_build_filename(tmpdir, name, NULL);

    g_assert_true(g_file_set_contents(path, "", 0, NULL));
    g_assert_cmpint(truncate(path, 1 << 20), ==, 0);
    return path;
}

/*
 * The lock bytes another description sees: bit i for byte 100 + i ("holds
 * permission i"), bit 4 + i for byte 200 + i ("does not share i").
 */
static unsigned lock_layout(const char *path)
{
    int fd = open(path, O_RDONLY);
    unsigned bits = 0;

    g_assert_cmpint(fd, >=, 0);
    for (int i = 0; i < 8; i++) {
        struct flock fl = {
            .l_type = F_WRLCK,
            .l_whence = SEEK_SET,
            .l_start = (i < 4 ? 100 : 196) + i,
            .l_len = 1,
        };

        g_assert_cmpint(fcntl(fd, F_OFD_GETLK, &fl), ==, 0);
        if (fl.l_type != F_UNLCK) {
            bits |= 1u << i;
        }
    }
    close(fd);
    return bits;
}

#define HOLD(p) (1u << (p == BLK_PERM_CONSISTENT_READ ? 0 : p == BLK_PERM_WRITE ? 1 : \
                        p == BLK_PERM_WRITE_UNCHANGED ? 2 : 3))
#define UNSHARE(p) (HOLD(p) << 4)

static void expect_layout(const char *path, int flags, bool metadata, const char *extra,
                          unsigned want)
{
    GError *err = NULL;
    struct bdrv *bs = file_node_open(path, flags, extra, &err);

    g_assert_no_error(err);
    if (metadata) {
        g_assert_cmpint(bdrv_file_lock_metadata(bs, &err), ==, 0);
        g_assert_no_error(err);
    }
    g_assert_cmphex(lock_layout(path), ==, want);
    file_node_close(bs);
    g_assert_cmphex(lock_layout(path), ==, 0);
}

/* What QEMU 7.2 holds, as /proc/locks shows for the same opens. */
static void test_layout(void)
{
    g_autofree char *path = make_image("layout.img");
    const unsigned r = HOLD(BLK_PERM_CONSISTENT_READ), w = HOLD(BLK_PERM_WRITE);
    const unsigned rs = HOLD(BLK_PERM_RESIZE);
    const unsigned nw = UNSHARE(BLK_PERM_WRITE), nrs = UNSHARE(BLK_PERM_RESIZE);

    /* qemu-io / qemu-system on qcow2: 100-101, 103, 201, 203. */
    expect_layout(path, BDRV_O_RDWR, true, NULL, r | w | rs | nw | nrs);
    /* qemu-io -r on qcow2: 100, 201, 203; qemu-img info (no I/O): 201, 203. */
    expect_layout(path, 0, true, NULL, r | nw | nrs);
    expect_layout(path, BDRV_O_NO_IO, true, NULL, nw | nrs);
    /* -U: only 100. */
    expect_layout(path, BDRV_O_FORCE_SHARE, true, NULL, r);
    /* qemu-io on raw: 100-101; qemu-io -r on raw: 100. */
    expect_layout(path, BDRV_O_RDWR, false, NULL, r | w);
    expect_layout(path, 0, false, NULL, r);
    /* locking=off, BDRV_O_NO_LOCK: nothing. */
    expect_layout(path, BDRV_O_RDWR, true, "locking=off", 0);
    expect_layout(path, BDRV_O_RDWR | BDRV_O_NO_LOCK, true, NULL, 0);
    expect_layout(path, BDRV_O_RDWR, true, "locking=on", r | w | rs | nw | nrs);
}

static void test_names(void)
{
    g_autofree char *all = file_lock_perm_names(BLK_PERM_ALL);
    g_autofree char *one = file_lock_perm_names(BLK_PERM_WRITE);

    g_assert_cmpstr(all, ==, "consistent read, write, write unchanged, resize");
    g_assert_cmpstr(one, ==, "write");
}

/* Two opens in one process are two descriptions: they conflict. */
static void test_conflict(void)
{
    g_autofree char *path = make_image("conflict.img");
    g_autofree char *hint = g_strdup_printf("\nIs another process using the image [%s]?", path);
    g_autofree char *want_w = g_strdup_printf("Failed to get \"write\" lock%s", hint);
    g_autofree char *want_sw = g_strdup_printf("Failed to get shared \"write\" lock%s", hint);
    GError *err = NULL;
    struct bdrv *a, *b;
    unsigned held;

    a = file_node_open(path, BDRV_O_RDWR, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_metadata(a, &err), ==, 0);
    held = lock_layout(path);

    g_assert_null(file_node_open(path, BDRV_O_RDWR, NULL, &err));
    g_assert_cmpstr(err->message, ==, want_w);
    g_clear_error(&err);

    /* A reader passes the file-level check, then its format refuses to
     * share "write" with a writer. */
    b = file_node_open(path, 0, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_metadata(b, &err), ==, -EAGAIN);
    g_assert_cmpstr(err->message, ==, want_sw);
    g_clear_error(&err);
    file_node_close(b);
    /* The failure left a's bytes alone. */
    g_assert_cmphex(lock_layout(path), ==, held);

    b = file_node_open(path, BDRV_O_FORCE_SHARE, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_metadata(b, &err), ==, 0);
    g_assert_no_error(err);
    file_node_close(b);

    /* A device user refusing to share "write" on a raw image. */
    file_node_close(a);
    a = file_node_open(path, BDRV_O_RDWR, NULL, &err);
    g_assert_cmpint(bdrv_file_lock_unshare(a, BLK_PERM_WRITE, &err), ==, 0);
    g_assert_null(file_node_open(path, BDRV_O_RDWR, NULL, &err));
    g_assert_cmpstr(err->message, ==, want_w);
    g_clear_error(&err);
    b = file_node_open(path, 0, NULL, &err);
    g_assert_no_error(err);
    file_node_close(b);
    file_node_close(a);

    b = file_node_open(path, BDRV_O_RDWR, NULL, &err);
    g_assert_no_error(err);
    file_node_close(b);
}

static void test_reopen(void)
{
    g_autofree char *path = make_image("reopen.img");
    g_autofree char *want = g_strdup_printf(
        "Failed to get \"write\" lock\nIs another process using the image [%s]?", path);
    const unsigned ro = HOLD(BLK_PERM_CONSISTENT_READ) | UNSHARE(BLK_PERM_WRITE) |
                        UNSHARE(BLK_PERM_RESIZE);
    const unsigned rw = ro | HOLD(BLK_PERM_WRITE) | HOLD(BLK_PERM_RESIZE);
    GError *err = NULL;
    struct bdrv *a, *b;
    uint64_t perm, shared;

    a = file_node_open(path, 0, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_metadata(a, &err), ==, 0);
    g_assert_cmphex(lock_layout(path), ==, ro);
    g_assert_cmpint(fcntl(bdrv_file_fd(a), F_GETFL) & O_ACCMODE, ==, O_RDONLY);

    g_assert_cmpint(bdrv_file_reopen(a, BDRV_O_RDWR, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmphex(lock_layout(path), ==, rw);
    g_assert_cmpint(fcntl(bdrv_file_fd(a), F_GETFL) & O_ACCMODE, ==, O_RDWR);
    g_assert_false(a->read_only);
    bdrv_file_get_perm(a, &perm, &shared);
    g_assert_cmphex(perm, ==, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_RESIZE);
    g_assert_cmphex(shared, ==, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED);

    g_assert_cmpint(bdrv_file_reopen(a, 0, &err), ==, 0);
    g_assert_cmphex(lock_layout(path), ==, ro);
    g_assert_true(a->read_only);

    /* Another reader keeps us from becoming a writer; nothing changes. */
    b = file_node_open(path, 0, NULL, &err);
    g_assert_cmpint(bdrv_file_lock_metadata(b, &err), ==, 0);
    g_assert_cmpint(bdrv_file_reopen(a, BDRV_O_RDWR, &err), ==, -EAGAIN);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    g_assert_true(a->read_only);
    g_assert_cmpint(fcntl(bdrv_file_fd(a), F_GETFL) & O_ACCMODE, ==, O_RDONLY);
    file_node_close(b);
    g_assert_cmphex(lock_layout(path), ==, ro);
    file_node_close(a);
}

/* Creating over an image in use fails without emptying it. */
static void test_create_held(void)
{
    g_autofree char *path = make_image("create.img");
    struct kv_list *opts = kv_parse("size=4096", NULL, NULL);
    GError *err = NULL;
    struct bdrv *a;
    struct stat st;

    a = file_node_open(path, BDRV_O_RDWR, NULL, &err);
    g_assert_cmpint(bdrv_file_lock_metadata(a, &err), ==, 0);
    g_assert_cmpint(bdrv_file.create(path, opts, &err), <, 0);
    g_assert_true(g_str_has_prefix(err->message, "Failed to get \"write\" lock\n"));
    g_clear_error(&err);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 1 << 20);
    file_node_close(a);
    g_assert_cmpint(bdrv_file.create(path, opts, &err), ==, 0);
    kv_free(opts);
}

static bool have(const char *prog)
{
    g_autofree char *p = g_find_program_in_path(prog);

    return p != NULL;
}

static char *make_qcow2(const char *name)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", path, "1M", NULL };
    int status;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, NULL, &status, NULL));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return path;
}

static bool run_qemu_img_info(const char *path, bool force_share, char **err_out)
{
    const char *argv[] = { "qemu-img", "info", force_share ? "-U" : path, path, NULL };
    int status;

    if (!force_share) {
        argv[3] = NULL;
    }
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, err_out, &status, NULL));
    return g_spawn_check_wait_status(status, NULL);
}

/* We hold the image: qemu-img info fails as it does against QEMU. */
static void test_qemu_img_vs_us(void)
{
    g_autofree char *path = NULL;
    g_autofree char *want = NULL;
    char *err_out = NULL;
    GError *err = NULL;
    struct bdrv *a;

    if (!have("qemu-img")) {
        g_test_skip("qemu-img not installed");
        return;
    }
    path = make_qcow2("held.qcow2");
    a = file_node_open(path, BDRV_O_RDWR, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_metadata(a, &err), ==, 0);

    g_assert_false(run_qemu_img_info(path, false, &err_out));
    want = g_strdup_printf("qemu-img: Could not open '%s': Failed to get shared \"write\" lock\n"
                           "Is another process using the image [%s]?\n", path, path);
    g_assert_cmpstr(err_out, ==, want);
    g_free(err_out);
    g_assert_true(run_qemu_img_info(path, true, &err_out));
    g_free(err_out);
    file_node_close(a);
    g_assert_true(run_qemu_img_info(path, false, &err_out));
    g_free(err_out);
}

/* qemu-io holds the image writable: we fail as qemu-img would. */
static void test_us_vs_qemu_io(void)
{
    g_autofree char *path = NULL;
    g_autofree char *hint = NULL;
    g_autofree char *want = NULL;
    const char *argv[] = { "qemu-io", "-f", "qcow2", NULL, NULL };
    GError *err = NULL;
    struct bdrv *b;
    GPid pid;
    int in, status;

    if (!have("qemu-io") || !have("qemu-img")) {
        g_test_skip("qemu-io not installed");
        return;
    }
    path = make_qcow2("qemu-io.qcow2");
    argv[3] = path;
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                           G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                           G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, &in,
                                           NULL, NULL, NULL));
    /* qemu-io waits on its stdin once the image is open and locked. */
    for (int i = 0; i < 500 && !(lock_layout(path) & HOLD(BLK_PERM_WRITE)); i++) {
        g_usleep(10000);
    }
    /* 100-101, 103, 201, 203 */
    g_assert_cmphex(lock_layout(path), ==, HOLD(BLK_PERM_CONSISTENT_READ) | HOLD(BLK_PERM_WRITE) |
                    HOLD(BLK_PERM_RESIZE) | UNSHARE(BLK_PERM_WRITE) | UNSHARE(BLK_PERM_RESIZE));

    hint = g_strdup_printf("\nIs another process using the image [%s]?", path);
    g_assert_null(file_node_open(path, BDRV_O_RDWR, NULL, &err));
    want = g_strdup_printf("Failed to get \"write\" lock%s", hint);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    g_free(want);

    b = file_node_open(path, 0, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_metadata(b, &err), <, 0);
    want = g_strdup_printf("Failed to get shared \"write\" lock%s", hint);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    file_node_close(b);

    b = file_node_open(path, BDRV_O_FORCE_SHARE, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_metadata(b, &err), ==, 0);
    file_node_close(b);

    close(in); /* EOF: qemu-io quits */
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    b = file_node_open(path, BDRV_O_RDWR, NULL, &err);
    g_assert_no_error(err);
    file_node_close(b);
}

/* A guest disk in QEMU and one in hyvm keep each other off the image. */
static void test_qemu_system(void)
{
    g_autofree char *path = make_image("vm.img");
    g_autofree char *drive = g_strdup_printf("file=%s,format=raw,if=virtio", path);
    g_autofree char *want = NULL;
    const char *argv[] = { "qemu-system-x86_64", "-S", "-nodefaults", "-display", "none",
                           "-monitor", "none", "-drive", drive, NULL };
    char *err_out = NULL;
    GError *err = NULL;
    struct bdrv *a;
    GPid pid;
    int status;

    if (!have("qemu-system-x86_64")) {
        g_test_skip("qemu-system-x86_64 not installed");
        return;
    }
    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, &pid, NULL));
    for (int i = 0; i < 500 && !(lock_layout(path) & HOLD(BLK_PERM_WRITE)); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            g_spawn_close_pid(pid);
            g_test_skip("qemu-system-x86_64 does not start here");
            return;
        }
        g_usleep(10000);
    }
    /* virtio-blk on raw: holds read and write, shares all but write. */
    g_assert_cmphex(lock_layout(path), ==,
                    HOLD(BLK_PERM_CONSISTENT_READ) | HOLD(BLK_PERM_WRITE) |
                    UNSHARE(BLK_PERM_WRITE));
    g_assert_null(file_node_open(path, BDRV_O_RDWR, NULL, &err));
    want = g_strdup_printf("Failed to get \"write\" lock\n"
                           "Is another process using the image [%s]?", path);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    /* Readers of a raw image pass, as qemu-img info does. */
    a = file_node_open(path, 0, NULL, &err);
    g_assert_no_error(err);
    file_node_close(a);
    kill(pid, SIGTERM);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);

    /* Now we are the guest's disk: QEMU's start fails. */
    a = file_node_open(path, BDRV_O_RDWR, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_file_lock_unshare(a, BLK_PERM_WRITE, &err), ==, 0);
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err_out, &status, NULL));
    g_assert_false(g_spawn_check_wait_status(status, NULL));
    g_free(want);
    want = g_strdup_printf("qemu-system-x86_64: -drive %s: Failed to get \"write\" lock\n"
                           "Is another process using the image [%s]?\n", drive, path);
    g_assert_cmpstr(err_out, ==, want);
    g_free(err_out);
    file_node_close(a);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("hyvm-file-lock-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/file-lock/layout", test_layout);
    g_test_add_func("/file-lock/names", test_names);
    g_test_add_func("/file-lock/conflict", test_conflict);
    g_test_add_func("/file-lock/reopen", test_reopen);
    g_test_add_func("/file-lock/create-held", test_create_held);
    g_test_add_func("/file-lock/qemu-img-vs-us", test_qemu_img_vs_us);
    g_test_add_func("/file-lock/us-vs-qemu-io", test_us_vs_qemu_io);
    g_test_add_func("/file-lock/qemu-system", test_qemu_system);
    ret = g_test_run();
    tmpdir_remove(tmpdir);
    g_free(tmpdir);
    return ret;
}
