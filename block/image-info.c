/*
 * QEMU's ImageInfo: what qemu-img info --output=json prints and what
 * query-block shows under "image", with members in QEMU 7.2's order.
 *
 * Threads: the caller's; no I/O in flight on the node changes its metadata.
 */
#include <string.h>

#include "block/image-info.h"

static void image_info_snapshots(struct bdrv *bs, JsonBuilder *b)
{
    struct bdrv_snapshot *list = NULL;
    int n;

    if (!bs->drv->snapshot_list) {
        return;
    }
    n = bs->drv->snapshot_list(bs, &list);
    if (n > 0) {
        json_builder_set_member_name(b, "snapshots");
        json_builder_begin_array(b);
        for (int i = 0; i < n; i++) {
            const struct bdrv_snapshot *sn = &list[i];

            json_builder_begin_object(b);
            if (sn->icount != UINT64_MAX) {
                json_builder_set_member_name(b, "icount");
                json_builder_add_int_value(b, (int64_t)sn->icount);
            }
            json_builder_set_member_name(b, "vm-clock-nsec");
            json_builder_add_int_value(b, (int64_t)(sn->vm_clock_nsec % 1000000000));
            json_builder_set_member_name(b, "name");
            json_builder_add_string_value(b, sn->name);
            json_builder_set_member_name(b, "date-sec");
            json_builder_add_int_value(b, sn->date_sec);
            json_builder_set_member_name(b, "date-nsec");
            json_builder_add_int_value(b, sn->date_nsec);
            json_builder_set_member_name(b, "vm-clock-sec");
            json_builder_add_int_value(b, (int64_t)(sn->vm_clock_nsec / 1000000000));
            json_builder_set_member_name(b, "id");
            json_builder_add_string_value(b, sn->id);
            json_builder_set_member_name(b, "vm-state-size");
            json_builder_add_int_value(b, (int64_t)sn->vm_state_size);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
    }
    g_free(list);
}

static void image_info_members(struct bdrv *bs, JsonBuilder *b, bool with_backing_image)
{
    uint32_t cluster = bs->drv->cluster_size ? bs->drv->cluster_size(bs) : 0;
    int64_t actual = bdrv_allocated_size(bs);

    if (with_backing_image && bs->backing) {
        json_builder_set_member_name(b, "backing-image");
        json_builder_begin_object(b);
        image_info_members(bs->backing, b, true);
        json_builder_end_object(b);
    }
    if (bs->backing_file[0] && bs->backing_format[0]) {
        json_builder_set_member_name(b, "backing-filename-format");
        json_builder_add_string_value(b, bs->backing_format);
    }
    image_info_snapshots(bs, b);
    json_builder_set_member_name(b, "virtual-size");
    json_builder_add_int_value(b, bdrv_length(bs));
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, bs->filename);
    if (cluster) {
        json_builder_set_member_name(b, "cluster-size");
        json_builder_add_int_value(b, cluster);
    }
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, bs->drv->name);
    if (actual >= 0) {
        json_builder_set_member_name(b, "actual-size");
        json_builder_add_int_value(b, actual);
    }
    if (bs->drv->info_specific) {
        json_builder_set_member_name(b, "format-specific");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, bs->drv->name);
        json_builder_set_member_name(b, "data");
        json_builder_begin_object(b);
        bs->drv->info_specific(bs, b);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    if (bs->backing_file[0]) {
        g_autofree char *full = bdrv_backing_path(bs);

        json_builder_set_member_name(b, "full-backing-filename");
        json_builder_add_string_value(b, full);
        json_builder_set_member_name(b, "backing-filename");
        json_builder_add_string_value(b, bs->backing_file);
    }
    if (bs->encrypted) {
        json_builder_set_member_name(b, "encrypted");
        json_builder_add_boolean_value(b, true);
    }
    json_builder_set_member_name(b, "dirty-flag");
    json_builder_add_boolean_value(b, bs->drv->is_dirty ? bs->drv->is_dirty(bs) : false);
}

JsonNode *bdrv_image_info(struct bdrv *bs, bool with_backing_image)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    image_info_members(bs, b, with_backing_image);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
