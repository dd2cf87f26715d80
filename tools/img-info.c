/*
 * hyvm-img info: qemu-img info's options and its two outputs, the human
 * dump (QEMU 7.2's bdrv_image_info_dump) and --output=json, from the
 * ImageInfo object block/image-info.c builds (the same query-block shows).
 *
 * Threads: main thread.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "block/image-info.h"
#include "tools/img-common.h"
#include "tools/img.h"

static int64_t img_obj_int(JsonObject *o, const char *name, int64_t def)
{
    return json_object_has_member(o, name) ? json_object_get_int_member(o, name) : def;
}

static const char *img_obj_str(JsonObject *o, const char *name)
{
    return json_object_has_member(o, name) ? json_object_get_string_member(o, name) : NULL;
}

static bool img_obj_bool(JsonObject *o, const char *name)
{
    return json_object_has_member(o, name) && json_object_get_boolean_member(o, name);
}

/* A snapshot of info's JSON back into the struct the row printer takes. */
static void img_snapshot_from_json(JsonObject *o, struct bdrv_snapshot *sn)
{
    memset(sn, 0, sizeof(*sn));
    g_strlcpy(sn->id, img_obj_str(o, "id") ? img_obj_str(o, "id") : "", sizeof(sn->id));
    g_strlcpy(sn->name, img_obj_str(o, "name") ? img_obj_str(o, "name") : "",
              sizeof(sn->name));
    sn->vm_state_size = (uint64_t)img_obj_int(o, "vm-state-size", 0);
    sn->date_sec = (uint32_t)img_obj_int(o, "date-sec", 0);
    sn->date_nsec = (uint32_t)img_obj_int(o, "date-nsec", 0);
    sn->vm_clock_nsec = (uint64_t)img_obj_int(o, "vm-clock-sec", 0) * 1000000000 +
                        (uint64_t)img_obj_int(o, "vm-clock-nsec", 0);
    sn->icount = json_object_has_member(o, "icount")
                     ? (uint64_t)json_object_get_int_member(o, "icount") : UINT64_MAX;
}

static void img_dump_value(JsonNode *node, int level);

/* QEMU's dump_qdict: "key: value", '-' in keys shown as ' ', nesting by 4. */
static void img_dump_object(JsonObject *obj, int level)
{
    guint n;
    const char **names = img_json_members(obj, &n);

    for (guint i = 0; i < n; i++) {
        JsonNode *v = json_object_get_member(obj, names[i]);
        bool composite = JSON_NODE_HOLDS_OBJECT(v) || JSON_NODE_HOLDS_ARRAY(v);
        char *key = g_strdup(names[i]);

        g_strdelimit(key, "-", ' ');
        printf("%*s%s:%c", level * 4, "", key, composite ? '\n' : ' ');
        img_dump_value(v, level + 1);
        g_free(key);
    }
    g_free(names);
}

static void img_dump_value(JsonNode *node, int level)
{
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        img_dump_object(json_node_get_object(node), level);
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);

        for (guint i = 0; i < json_array_get_length(a); i++) {
            JsonNode *e = json_array_get_element(a, i);
            bool composite = JSON_NODE_HOLDS_OBJECT(e) || JSON_NODE_HOLDS_ARRAY(e);

            printf("%*s[%u]:%c", level * 4, "", i, composite ? '\n' : ' ');
            img_dump_value(e, level + 1);
        }
    } else if (JSON_NODE_HOLDS_VALUE(node)) {
        switch (json_node_get_value_type(node)) {
        case G_TYPE_BOOLEAN:
            printf("%s\n", json_node_get_boolean(node) ? "true" : "false");
            break;
        case G_TYPE_STRING:
            printf("%s\n", json_node_get_string(node));
            break;
        case G_TYPE_DOUBLE:
            printf("%g\n", json_node_get_double(node));
            break;
        default:
            printf("%" G_GINT64_FORMAT "\n", json_node_get_int(node));
        }
    } else {
        printf("null\n");
    }
}

static void img_dump_snapshots(JsonArray *snaps)
{
    printf("Snapshot list:\n");
    img_snapshot_dump(NULL);
    printf("\n");
    for (guint i = 0; i < json_array_get_length(snaps); i++) {
        struct bdrv_snapshot sn;

        img_snapshot_from_json(json_array_get_object_element(snaps, i), &sn);
        img_snapshot_dump(&sn);
        printf("\n");
    }
}

/* bdrv_image_info_dump of QEMU 7.2. */
static void img_info_dump(JsonObject *o)
{
    int64_t vsize = img_obj_int(o, "virtual-size", 0);
    char *vs = img_size_to_str((uint64_t)vsize);
    char *ds = json_object_has_member(o, "actual-size")
                   ? img_size_to_str((uint64_t)img_obj_int(o, "actual-size", 0))
                   : g_strdup("unavailable");
    const char *bf = img_obj_str(o, "backing-filename");
    const char *full = img_obj_str(o, "full-backing-filename");

    printf("image: %s\nfile format: %s\nvirtual size: %s (%" G_GINT64_FORMAT " bytes)\n"
           "disk size: %s\n", img_obj_str(o, "filename"), img_obj_str(o, "format"), vs, vsize,
           ds);
    g_free(vs);
    g_free(ds);
    if (img_obj_bool(o, "encrypted")) {
        printf("encrypted: yes\n");
    }
    if (json_object_has_member(o, "cluster-size")) {
        printf("cluster_size: %" G_GINT64_FORMAT "\n", img_obj_int(o, "cluster-size", 0));
    }
    if (img_obj_bool(o, "dirty-flag")) {
        printf("cleanly shut down: no\n");
    }
    if (bf) {
        printf("backing file: %s", bf);
        if (!full) {
            printf(" (cannot determine actual path)");
        } else if (strcmp(bf, full)) {
            printf(" (actual path: %s)", full);
        }
        printf("\n");
    }
    if (img_obj_str(o, "backing-filename-format")) {
        printf("backing file format: %s\n", img_obj_str(o, "backing-filename-format"));
    }
    if (json_object_has_member(o, "snapshots")) {
        img_dump_snapshots(json_object_get_array_member(o, "snapshots"));
    }
    if (json_object_has_member(o, "format-specific")) {
        JsonObject *fs = json_object_get_object_member(o, "format-specific");

        printf("Format specific information:\n");
        if (json_object_has_member(fs, "data")) {
            img_dump_value(json_object_get_member(fs, "data"), 1);
        }
    }
}

struct img_info_args {
    const char *fmt;
    const char *filename;
    bool json;
    bool chain;
    bool force_share;
};

/*
 * Collects the ImageInfo of the image and, with --backing-chain, of each
 * backing image below it.  As QEMU 7.2, each image is opened alone and the
 * next one is the previous one's full-backing-filename, so a loop shows as
 * that name coming back.  NULL after printing the error.
 */
static GPtrArray *img_info_collect(const struct img_info_args *a)
{
    GPtrArray *infos = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char *filename = g_strdup(a->filename);
    char *fmt = g_strdup(a->fmt);

    while (filename) {
        struct bdrv *bs;
        JsonObject *o;
        JsonNode *info;

        if (g_hash_table_contains(seen, filename)) {
            img_error("Backing file '%s' creates an infinite loop.", filename);
            goto fail;
        }
        g_hash_table_add(seen, g_strdup(filename));
        bs = img_open(filename, fmt, BDRV_O_NO_BACKING | BDRV_O_NO_IO, a->force_share);
        if (!bs) {
            goto fail;
        }
        info = bdrv_image_info(bs, false);
        bdrv_unref(bs);
        g_ptr_array_add(infos, info);
        g_free(filename);
        g_free(fmt);
        filename = fmt = NULL;
        if (!a->chain) {
            break;
        }
        o = json_node_get_object(info);
        if (json_object_has_member(o, "full-backing-filename")) {
            filename = g_strdup(json_object_get_string_member(o, "full-backing-filename"));
        } else if (json_object_has_member(o, "backing-filename")) {
            img_error("Could not determine absolute backing filename, but backing filename "
                      "'%s' present", json_object_get_string_member(o, "backing-filename"));
            goto fail;
        }
        if (json_object_has_member(o, "backing-filename-format")) {
            fmt = g_strdup(json_object_get_string_member(o, "backing-filename-format"));
        }
    }
    g_hash_table_destroy(seen);
    return infos;
fail:
    g_free(filename);
    g_free(fmt);
    g_hash_table_destroy(seen);
    g_ptr_array_free(infos, TRUE);
    return NULL;
}

int img_info(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, IMG_OPT_BACKING_CHAIN },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct img_info_args a = { 0 };
    GPtrArray *infos;
    int c;

    while ((c = img_getopt(argc, argv, ":f:hU", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            a.fmt = optarg;
            break;
        case 'U':
            a.force_share = true;
            break;
        case IMG_OPT_OUTPUT:
            if (img_parse_output(optarg, &a.json) < 0) {
                return 1;
            }
            break;
        case IMG_OPT_BACKING_CHAIN:
            a.chain = true;
            break;
        }
    }
    a.filename = img_one_filename(argc, argv);
    infos = img_info_collect(&a);
    if (!infos) {
        return 1;
    }
    if (a.json && a.chain) {
        JsonArray *arr = json_array_new();
        JsonNode *root = json_node_new(JSON_NODE_ARRAY);

        for (guint i = 0; i < infos->len; i++) {
            json_array_add_element(arr, json_node_ref(g_ptr_array_index(infos, i)));
        }
        json_node_take_array(root, arr);
        img_json_print(root);
        json_node_unref(root);
    } else if (a.json) {
        img_json_print(g_ptr_array_index(infos, 0));
    } else {
        for (guint i = 0; i < infos->len; i++) {
            if (i) {
                printf("\n");
            }
            img_info_dump(json_node_get_object(g_ptr_array_index(infos, i)));
        }
    }
    g_ptr_array_free(infos, TRUE);
    return 0;
}
