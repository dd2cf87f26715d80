/*
 * QMP's block commands: query-block, query-blockstats, block_resize,
 * blockdev-snapshot-sync, eject and blockdev-change-medium, over the named
 * backends of -drive (block/block-backend.h) and -blockdev's node names.
 *
 * Threads: main thread, big lock held (as every QMP handler).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/block-backend.h"
#include "block/drive.h"
#include "block/image-info.h"
#include "hw/ide.h"
#include "hw/virtio/virtio-blk.h"
#include "qapi/qmp-block.h"
#include "qapi/qmp-internal.h"

static JsonNode *empty_object(void)
{
    return json_node_init_object(json_node_alloc(), json_object_new());
}

static const char *arg_str(JsonObject *args, const char *name)
{
    return json_object_has_member(args, name) ? json_object_get_string_member(args, name)
                                              : NULL;
}

/* ---- query-block ---- */

static void add_int(JsonBuilder *b, const char *name, int64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

static void add_bool(JsonBuilder *b, const char *name, bool v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, v);
}

static void add_str(JsonBuilder *b, const char *name, const char *v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, v);
}

static unsigned backing_depth(struct bdrv *bs)
{
    unsigned n = 0;

    for (struct bdrv *b = bs->backing; b; b = b->backing) {
        n++;
    }
    return n;
}

/* BlockDeviceInfo, "inserted" of BlockInfo; QEMU 7.2's member order. */
static void block_device_info(struct blk *blk, struct bdrv *bs, JsonBuilder *b)
{
    static const char *const dz[] = { "off", "on", "unmap" };
    static const char *const throttle[] = { "iops_rd", "iops_wr", "iops", "bps_wr",
                                            "write_threshold", "bps", "bps_rd" };

    json_builder_begin_object(b);
    add_int(b, throttle[0], 0);
    add_str(b, "detect_zeroes", dz[blk_get_detect_zeroes(blk)]);
    json_builder_set_member_name(b, "image");
    json_builder_add_value(b, bdrv_image_info(bs, true));
    add_int(b, throttle[1], 0);
    add_bool(b, "ro", blk_is_read_only(blk));
    add_str(b, "node-name", bs->node_name);
    add_int(b, "backing_file_depth", backing_depth(bs));
    add_str(b, "drv", bs->drv->name);
    for (unsigned i = 2; i < G_N_ELEMENTS(throttle) - 2; i++) {
        add_int(b, throttle[i], 0);
    }
    if (bs->backing_file[0]) {
        add_str(b, "backing_file", bs->backing_file);
    }
    add_bool(b, "encrypted", bs->encrypted);
    add_int(b, "bps", 0);
    add_int(b, "bps_rd", 0);
    json_builder_set_member_name(b, "cache");
    json_builder_begin_object(b);
    add_bool(b, "no-flush", (bs->flags & BDRV_O_NO_FLUSH) != 0);
    add_bool(b, "direct", (bs->flags & BDRV_O_NOCACHE) != 0);
    add_bool(b, "writeback", blk_enable_write_cache(blk));
    json_builder_end_object(b);
    add_str(b, "file", bs->filename);
    json_builder_end_object(b);
}

JsonNode *qmp_query_block(JsonObject *args, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (struct blk *blk = blk_next(NULL); blk; blk = blk_next(blk)) {
        struct bdrv *bs = blk_bs(blk);

        const char *qdev = virtio_blk_qdev(blk) ? virtio_blk_qdev(blk) : ide_qdev(blk);
        bool tray_open = false, locked = false, cd = ide_is_cd(blk, &tray_open, &locked);

        json_builder_begin_object(b);
        /* A drive a guest device holds is not removable and has an I/O
         * status (QEMU's BlockInfo); a free one is removable. */
        if (qdev) {
            add_str(b, "io-status", "ok");
        }
        add_str(b, "device", blk_name(blk));
        add_bool(b, "locked", locked);
        add_bool(b, "removable", !qdev || cd);
        if (bs) {
            json_builder_set_member_name(b, "inserted");
            block_device_info(blk, bs, b);
        }
        if (qdev) {
            add_str(b, "qdev", qdev);
        }
        if (cd) {
            add_bool(b, "tray_open", tray_open);
        }
        add_str(b, "type", "unknown");
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

/* ---- query-blockstats ---- */

/* BlockDeviceStats with QEMU 7.2's members; a node without a backend above
 * it has no accounting of its own (all zero, account_* false). */
static void block_stats(const struct blk_stats *st, int64_t idle_ns, JsonBuilder *b)
{
    static const struct {
        const char *bytes, *ops, *failed, *invalid, *merged, *time;
    } kinds[BLK_ACCT_NR] = {
        [BLK_ACCT_READ] = { "rd_bytes", "rd_operations", "failed_rd_operations",
                            "invalid_rd_operations", "rd_merged", "rd_total_time_ns" },
        [BLK_ACCT_WRITE] = { "wr_bytes", "wr_operations", "failed_wr_operations",
                             "invalid_wr_operations", "wr_merged", "wr_total_time_ns" },
        [BLK_ACCT_FLUSH] = { NULL, "flush_operations", "failed_flush_operations",
                             "invalid_flush_operations", NULL, "flush_total_time_ns" },
        [BLK_ACCT_UNMAP] = { "unmap_bytes", "unmap_operations", "failed_unmap_operations",
                             "invalid_unmap_operations", "unmap_merged",
                             "unmap_total_time_ns" },
    };

    json_builder_begin_object(b);
    for (int k = 0; k < BLK_ACCT_NR; k++) {
        if (kinds[k].bytes) {
            add_int(b, kinds[k].bytes, st ? (int64_t)st->nr_bytes[k] : 0);
        }
        add_int(b, kinds[k].ops, st ? (int64_t)st->nr_ops[k] : 0);
        add_int(b, kinds[k].failed, st ? (int64_t)st->failed_ops[k] : 0);
        add_int(b, kinds[k].invalid, st ? (int64_t)st->invalid_ops[k] : 0);
        if (kinds[k].merged) {
            add_int(b, kinds[k].merged, st ? (int64_t)st->merged[k] : 0);
        }
        add_int(b, kinds[k].time, st ? (int64_t)st->total_time_ns[k] : 0);
    }
    add_int(b, "wr_highest_offset", st ? (int64_t)st->wr_highest_offset : 0);
    if (st && idle_ns >= 0) {
        add_int(b, "idle_time_ns", idle_ns);
    }
    add_bool(b, "account_invalid", st != NULL);
    add_bool(b, "account_failed", st != NULL);
    json_builder_set_member_name(b, "timed_stats");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
}

JsonNode *qmp_query_blockstats(JsonObject *args, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (struct blk *blk = blk_next(NULL); blk; blk = blk_next(blk)) {
        struct bdrv *bs = blk_bs(blk);

        json_builder_begin_object(b);
        add_str(b, "device", blk_name(blk));
        if (bs) {
            add_str(b, "node-name", bs->node_name);
        }
        json_builder_set_member_name(b, "stats");
        block_stats(blk_get_stats(blk), blk_idle_time_ns(blk), b);
        if (bs && bs->file) {
            json_builder_set_member_name(b, "parent");
            json_builder_begin_object(b);
            add_str(b, "node-name", bs->file->node_name);
            json_builder_set_member_name(b, "stats");
            block_stats(NULL, -1, b);
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

/* ---- finding what a command names ---- */

/* A backend by device= (or id=: no guest devices have ids for drives yet). */
static struct blk *find_blk(JsonObject *args, const char *key, GError **errp)
{
    const char *name = arg_str(args, key);
    struct blk *blk = name ? blk_by_name(name) : NULL;

    if (!blk) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found",
                    name ? name : "");
    }
    return blk;
}

/* device= or node-name=, as QEMU's bdrv_lookup_bs(); the backend too when
 * the node is one's root (so it can be swapped). */
static struct bdrv *lookup_bs(JsonObject *args, struct blk **blkp, GError **errp)
{
    const char *dev = arg_str(args, "device");
    const char *node = arg_str(args, "node-name");

    *blkp = NULL;
    if (dev) {
        struct blk *blk = blk_by_name(dev);

        if (blk) {
            if (!blk_bs(blk)) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Device '%s' has no medium",
                            dev);
                return NULL;
            }
            *blkp = blk;
            return blk_bs(blk);
        }
    }
    if (node) {
        struct bdrv *bs = drive_find_node(node);

        for (struct blk *blk = blk_next(NULL); !bs && blk; blk = blk_next(blk)) {
            if (blk_bs(blk) && !strcmp(blk_bs(blk)->node_name, node)) {
                bs = blk_bs(blk);
                *blkp = blk;
            }
        }
        if (bs) {
            return bs;
        }
    }
    g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Cannot find device='%s' nor node-name='%s'",
                dev ? dev : "", node ? node : "");
    return NULL;
}

/* Whether a -blockdev node or any node under a backend has that name. */
static bool node_name_in_use(const char *name)
{
    if (drive_find_node(name)) {
        return true;
    }
    for (struct blk *blk = blk_next(NULL); blk; blk = blk_next(blk)) {
        for (struct bdrv *bs = blk_bs(blk); bs; bs = bs->backing) {
            if (!strcmp(bs->node_name, name) ||
                (bs->file && !strcmp(bs->file->node_name, name))) {
                return true;
            }
        }
    }
    return false;
}

/* ---- block_resize ---- */

JsonNode *qmp_block_resize(JsonObject *args, GError **errp)
{
    int64_t size = json_object_get_int_member(args, "size");
    struct blk *blk;
    struct bdrv *bs = lookup_bs(args, &blk, errp);

    if (!bs) {
        return NULL;
    }
    if (size < 0) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Parameter 'size' expects a >0 size");
        return NULL;
    }
    if (bs->read_only) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Image is read-only");
        return NULL;
    }
    if (blk) {
        blk_drain(blk);
    }
    /* QMP's resize may shrink, as QEMU's does. */
    if (bdrv_truncate(bs, (uint64_t)size, true, "off", errp) < 0) {
        if (errp && *errp) {
            (*errp)->domain = QMP_ERROR;
            (*errp)->code = QMP_ERROR_GENERIC;
        }
        return NULL;
    }
    /* The guest's disk learns its new capacity. */
    if (blk) {
        virtio_blk_resized(blk);
    }
    return empty_object();
}

/* ---- eject, blockdev-change-medium ---- */

/* A disk a guest device holds (virtio-blk) has no medium to take out. */
static bool check_removable(struct blk *blk, GError **errp)
{
    if (virtio_blk_qdev(blk) || (ide_qdev(blk) && !ide_is_cd(blk, NULL, NULL))) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Device '%s' is not removable",
                    blk_name(blk));
        return false;
    }
    return true;
}

JsonNode *qmp_eject(JsonObject *args, GError **errp)
{
    struct blk *blk = find_blk(args, json_object_has_member(args, "device") ? "device" : "id",
                               errp);

    bool locked = false;

    if (!blk || !check_removable(blk, errp)) {
        return NULL;
    }
    /* A CD-ROM whose guest locked the tray is asked to open it instead
     * (QEMU's blockdev_do_action: force=true ejects anyway). */
    if (ide_is_cd(blk, NULL, &locked) && locked &&
        !(json_object_has_member(args, "force") && json_object_get_boolean_member(args, "force"))) {
        ide_cd_eject_request(blk);
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Device '%s' is locked and force was "
                    "not specified, wait for tray to open and try again", blk_name(blk));
        return NULL;
    }
    if (blk_bs(blk)) {
        blk_drain(blk);
        blk_remove_bs(blk);
    }
    ide_cd_medium_changed(blk, false);
    return empty_object();
}

static void qmp_error_from(GError **errp)
{
    if (errp && *errp) {
        (*errp)->domain = QMP_ERROR;
        (*errp)->code = QMP_ERROR_GENERIC;
    }
}

JsonNode *qmp_blockdev_change_medium(JsonObject *args, GError **errp)
{
    const char *filename = json_object_get_string_member(args, "filename");
    const char *format = arg_str(args, "format");
    const char *ro_mode = arg_str(args, "read-only-mode");
    struct blk *blk = find_blk(args, json_object_has_member(args, "device") ? "device" : "id",
                               errp);
    struct drive_mode m = { .flags = BDRV_O_RDWR, .writeback = true };
    struct bdrv *bs;

    if (!blk || !check_removable(blk, errp)) {
        return NULL;
    }
    if (blk_bs(blk)) {
        /* "retain" keeps what the old medium had. */
        m.flags = blk_bs(blk)->flags &
                  (BDRV_O_RDWR | BDRV_O_NOCACHE | BDRV_O_NO_FLUSH | BDRV_O_NATIVE_AIO);
        if (blk_is_read_only(blk)) {
            m.flags &= ~BDRV_O_RDWR;
        }
    }
    if (ro_mode && !strcmp(ro_mode, "read-only")) {
        m.flags &= ~BDRV_O_RDWR;
    } else if (ro_mode && !strcmp(ro_mode, "read-write")) {
        m.flags |= BDRV_O_RDWR;
    }
    bs = drive_open_image(filename, format, NULL, &m, errp);
    if (!bs) {
        qmp_error_from(errp);
        return NULL;
    }
    if (blk_bs(blk)) {
        blk_drain(blk);
        blk_remove_bs(blk);
    }
    blk_insert_bs(blk, bs);
    bdrv_unref(bs); /* the backend holds it now */
    ide_cd_medium_changed(blk, true);
    return empty_object();
}

/* ---- blockdev-snapshot-sync ---- */

/*
 * An external snapshot: a new overlay whose backing is the current node,
 * which stays open as it is (its lock too) under the overlay.
 */
JsonNode *qmp_blockdev_snapshot_sync(JsonObject *args, GError **errp)
{
    const char *file = json_object_get_string_member(args, "snapshot-file");
    const char *fmt = arg_str(args, "format");
    const char *mode = arg_str(args, "mode");
    const char *new_name = arg_str(args, "snapshot-node-name");
    struct blk *blk;
    struct bdrv *bs = lookup_bs(args, &blk, errp);
    struct bdrv *top;
    int flags;

    if (!bs) {
        return NULL;
    }
    fmt = fmt ? fmt : "qcow2";
    if (strcmp(fmt, "qcow2")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "format '%s' cannot have a backing file; use qcow2", fmt);
        return NULL;
    }
    if (!blk) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Node '%s' is not the root of a drive; snapshot its drive instead",
                    bs->node_name);
        return NULL;
    }
    if (new_name && (!*new_name || node_name_in_use(new_name))) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Duplicate nodes with node-name='%s'",
                    new_name);
        return NULL;
    }
    if (!mode || !strcmp(mode, "absolute-paths")) {
        struct kv_list opts = { 0 };
        struct kv_pair pairs[2] = {
            { (char *)"backing_file", bs->filename },
            { (char *)"backing_fmt", (char *)bs->drv->name },
        };
        int64_t len = bdrv_length(bs);

        opts.n = 2;
        opts.items = pairs;
        if (len < 0 || bdrv_create("qcow2", file, (uint64_t)len, &opts, errp) < 0) {
            qmp_error_from(errp);
            return NULL;
        }
    }
    flags = (bs->flags & ~BDRV_O_PROBED_RAW) | BDRV_O_NO_BACKING;
    top = bdrv_open(file, "qcow2", NULL, flags, errp);
    if (!top) {
        qmp_error_from(errp);
        return NULL;
    }
    top->flags &= ~BDRV_O_NO_BACKING;
    blk_drain(blk);
    bdrv_ref(bs);
    top->backing = bs;
    if (new_name) {
        g_free(top->node_name);
        top->node_name = g_strdup(new_name);
    }
    blk_remove_bs(blk);
    blk_insert_bs(blk, top);
    bdrv_unref(top);
    return empty_object();
}
