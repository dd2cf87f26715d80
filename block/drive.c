/*
 * -drive and -blockdev: cache modes to open flags, the temporary overlay of
 * snapshot=on / -snapshot, -blockdev's node graph, and the named backends
 * made at start-up.
 *
 * Threads: main thread (start-up, QMP, exit).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block-backend.h"
#include "block/drive.h"
#include "hw/device.h"
#include "system/config.h"
#include "system/error.h"
#include "system/keyval.h"

/* -blockdev nodes by node-name, in the order they were made. */
static GPtrArray *blockdev_nodes;

/* The if=ide drives by channel and unit: -drive id and media (drive_ide_get). */
#define DRIVE_IDE_BUSES 2
#define DRIVE_IDE_UNITS 2
static struct {
    char *id;
    bool cdrom;
} ide_slots[DRIVE_IDE_BUSES][DRIVE_IDE_UNITS];

const char *drive_ide_get(unsigned bus, unsigned unit, bool *cdrom)
{
    if (bus >= DRIVE_IDE_BUSES || unit >= DRIVE_IDE_UNITS) {
        return NULL;
    }
    if (cdrom) {
        *cdrom = ide_slots[bus][unit].cdrom;
    }
    return ide_slots[bus][unit].id;
}

static void drive_ide_clear(void)
{
    for (unsigned b = 0; b < DRIVE_IDE_BUSES; b++) {
        for (unsigned u = 0; u < DRIVE_IDE_UNITS; u++) {
            g_free(ide_slots[b][u].id);
            ide_slots[b][u].id = NULL;
        }
    }
}

static int mode_bool(const struct kv_list *kv, const char *key, bool *out, GError **errp)
{
    const char *v = kv_get(kv, key);

    if (v && !parse_bool(v, out)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects 'on' or 'off'",
                    key);
        return -1;
    }
    return 0;
}

/* cache=MODE as QEMU spells out each one in cache.* terms. */
static int cache_mode(const char *mode, bool *direct, bool *no_flush, bool *writeback)
{
    static const struct {
        const char *name;
        bool direct, no_flush, writeback;
    } modes[] = {
        { "writeback", false, false, true },  { "none", true, false, true },
        { "writethrough", false, false, false }, { "directsync", true, false, false },
        { "unsafe", false, true, true },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (!strcmp(mode, modes[i].name)) {
            *direct = modes[i].direct;
            *no_flush = modes[i].no_flush;
            *writeback = modes[i].writeback;
            return 0;
        }
    }
    return -1;
}

int drive_mode_parse(const struct kv_list *kv, bool global_snapshot, struct drive_mode *m,
                     GError **errp)
{
    bool direct = false, no_flush = false, writeback = true;
    bool ro = false, snapshot = global_snapshot, force_share = false;
    const char *v;

    memset(m, 0, sizeof(*m));
    if ((v = kv_get(kv, "cache")) && cache_mode(v, &direct, &no_flush, &writeback) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "invalid cache option");
        return -1;
    }
    if (mode_bool(kv, "cache.direct", &direct, errp) < 0 ||
        mode_bool(kv, "cache.no-flush", &no_flush, errp) < 0 ||
        mode_bool(kv, "cache.writeback", &writeback, errp) < 0 ||
        mode_bool(kv, "readonly", &ro, errp) < 0 || mode_bool(kv, "read-only", &ro, errp) < 0 ||
        mode_bool(kv, "snapshot", &snapshot, errp) < 0 ||
        mode_bool(kv, "force-share", &force_share, errp) < 0) {
        return -1;
    }
    if (!g_strcmp0(kv_get(kv, "media"), "cdrom")) {
        ro = true;
    }
    m->flags = ro ? 0 : BDRV_O_RDWR;
    m->flags |= direct ? BDRV_O_NOCACHE : 0;
    m->flags |= no_flush ? BDRV_O_NO_FLUSH : 0;
    m->writeback = writeback;
    m->snapshot = snapshot;
    if ((v = kv_get(kv, "aio"))) {
        if (!strcmp(v, "native")) {
            if (!direct) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                            "aio=native was specified, but it requires cache.direct=on, "
                            "which was not specified.");
                return -1;
            }
            m->flags |= BDRV_O_NATIVE_AIO;
        } else if (!strcmp(v, "io_uring")) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                        "aio=io_uring is not supported; use threads or native");
            return -1;
        } else if (strcmp(v, "threads")) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "invalid aio option");
            return -1;
        }
    }
    if ((v = kv_get(kv, "discard"))) {
        if (!strcmp(v, "unmap") || !strcmp(v, "on")) {
            m->flags |= BDRV_O_UNMAP;
        } else if (strcmp(v, "ignore") && strcmp(v, "off")) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid discard option");
            return -1;
        }
    }
    if ((v = kv_get(kv, "detect-zeroes"))) {
        if (!strcmp(v, "on")) {
            m->detect_zeroes = 1;
        } else if (!strcmp(v, "unmap")) {
            m->detect_zeroes = 2;
        } else if (strcmp(v, "off")) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "invalid parameter value: %s", v);
            return -1;
        }
    }
    if (force_share) {
        if (!ro) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "force-share=on can only be used with read-only images");
            return -1;
        }
        m->flags |= BDRV_O_FORCE_SHARE;
    }
    if ((v = kv_get(kv, "locking")) || (v = kv_get(kv, "file.locking"))) {
        bool on = true;

        if (strcmp(v, "auto") && !parse_bool(v, &on)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter 'locking' does not accept value '%s'", v);
            return -1;
        }
        m->flags |= on ? 0 : BDRV_O_NO_LOCK;
    }
    return 0;
}

/* JSON members flattened into dotted keys ({"file":{"driver":"file"}} is
 * file.driver=file), as -blockdev's two spellings mean the same. */
static void blockdev_flatten(JsonObject *o, const char *prefix, GArray *out)
{
    GList *members = json_object_get_members(o);

    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        JsonNode *n = json_object_get_member(o, name);
        char *key = prefix ? g_strdup_printf("%s.%s", prefix, name) : g_strdup(name);
        struct kv_pair p = { key, NULL };

        if (JSON_NODE_HOLDS_OBJECT(n)) {
            blockdev_flatten(json_node_get_object(n), key, out);
            g_free(key);
            continue;
        }
        if (JSON_NODE_HOLDS_VALUE(n)) {
            GType t = json_node_get_value_type(n);

            if (t == G_TYPE_BOOLEAN) {
                p.value = g_strdup(json_node_get_boolean(n) ? "on" : "off");
            } else if (t == G_TYPE_INT64) {
                p.value = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
            } else if (t == G_TYPE_DOUBLE) {
                p.value = g_strdup_printf("%.17g", json_node_get_double(n));
            } else {
                p.value = g_strdup(json_node_get_string(n));
            }
        } else {
            p.value = g_strdup(""); /* null: "no backing" and the like */
        }
        g_array_append_val(out, p);
    }
    g_list_free(members);
}

struct kv_list *blockdev_parse(const char *arg, GError **errp)
{
    g_autoptr(JsonParser) parser = NULL;
    struct kv_list *l;
    GArray *pairs;
    JsonNode *root;

    if (arg[0] != '{') {
        return kv_parse(arg, NULL, errp);
    }
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, arg, -1, errp)) {
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Invalid parameter type, expected 'object'");
        return NULL;
    }
    pairs = g_array_new(FALSE, FALSE, sizeof(struct kv_pair));
    blockdev_flatten(json_node_get_object(root), NULL, pairs);
    l = g_new0(struct kv_list, 1);
    l->n = pairs->len;
    l->items = (struct kv_pair *)g_array_free(pairs, FALSE);
    return l;
}

/* The directory QEMU puts -snapshot overlays in: $TMPDIR, else /var/tmp. */
static char *drive_tmp_overlay_name(void)
{
    const char *dir = g_getenv("TMPDIR");

    return g_build_filename(dir && *dir ? dir : "/var/tmp", "vl.XXXXXX", NULL);
}

/*
 * snapshot=on: a qcow2 overlay over the image in a temporary file that is
 * unlinked at once, so writes go there and vanish with the process.
 */
static struct bdrv *drive_open_overlay(const char *filename, const char *fmt,
                                       const struct kv_list *opts, const struct drive_mode *m,
                                       GError **errp)
{
    g_autofree char *tmp = drive_tmp_overlay_name();
    char *real = realpath(filename, NULL);
    struct kv_list *copts = g_new0(struct kv_list, 1);
    struct bdrv *base, *top = NULL;
    int64_t len;
    int fd;

    base = bdrv_open(filename, fmt, opts,
                     (m->flags & ~BDRV_O_RDWR) | BDRV_O_NO_BACKING | BDRV_O_NO_IO, errp);
    if (!base) {
        goto out;
    }
    len = bdrv_length(base);
    fmt = base->drv->name;
    bdrv_unref(base);
    fd = mkstemp(tmp);
    if (fd < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Could not get temporary filename: %s", g_strerror(errno));
        goto out;
    }
    close(fd);
    copts->items = g_new0(struct kv_pair, 2);
    copts->items[0] = (struct kv_pair){ g_strdup("backing_file"),
                                        g_strdup(real ? real : filename) };
    copts->items[1] = (struct kv_pair){ g_strdup("backing_fmt"), g_strdup(fmt) };
    copts->n = 2;
    if (len >= 0 && bdrv_create("qcow2", tmp, (uint64_t)len, copts, errp) == 0) {
        top = bdrv_open(tmp, "qcow2", NULL, (m->flags | BDRV_O_RDWR) & ~BDRV_O_PROBED_RAW,
                        errp);
    }
    unlink(tmp);
out:
    kv_free(copts);
    free(real);
    return top;
}

struct bdrv *drive_open_image(const char *filename, const char *format,
                              const struct kv_list *opts, const struct drive_mode *m,
                              GError **errp)
{
    if (m->snapshot) {
        return drive_open_overlay(filename, format, opts, m, errp);
    }
    return bdrv_open(filename, format, opts, m->flags, errp);
}

struct bdrv *drive_find_node(const char *node_name)
{
    for (unsigned i = 0; blockdev_nodes && i < blockdev_nodes->len; i++) {
        struct bdrv *bs = g_ptr_array_index(blockdev_nodes, i);

        if (!strcmp(bs->node_name, node_name)) {
            return bs;
        }
    }
    return NULL;
}

/* The node-name of a -blockdev, checked as QEMU does (letters, digits,
 * '-', '.', '_', starting with a letter; at most 31 characters). */
static bool node_name_valid(const char *n)
{
    if (!g_ascii_isalpha(n[0]) || strlen(n) > 31) {
        return false;
    }
    for (const char *p = n; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_') {
            return false;
        }
    }
    return true;
}

/* Opens one -blockdev: a protocol node (driver=file,filename=...) or a
 * format node over file=NODE or over file.driver=...,file.filename=... */
static struct bdrv *blockdev_open(const struct kv_list *kv, GError **errp)
{
    const char *driver = kv_get(kv, "driver");
    const char *name = kv_get(kv, "node-name");
    const struct block_driver *drv;
    const char *file, *v;
    struct drive_mode m;
    struct bdrv *bs;

    if (!driver) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'driver' is missing");
        return NULL;
    }
    if (!(drv = bdrv_find_format(driver))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Parameter 'driver' does not accept value '%s'", driver);
        return NULL;
    }
    if (!name) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "'node-name' must be specified for the root node");
        return NULL;
    }
    if (!node_name_valid(name)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid node-name: '%s'", name);
        return NULL;
    }
    if (drive_find_node(name)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Duplicate nodes with node-name='%s'",
                    name);
        return NULL;
    }
    if (drive_mode_parse(kv, false, &m, errp) < 0) {
        return NULL;
    }
    if ((v = kv_get(kv, "backing")) && *v) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "backing=NODE is not supported yet; the image's own backing file is used");
        return NULL;
    }
    if (v) {
        m.flags |= BDRV_O_NO_BACKING; /* "backing": null */
    }
    if (drv->is_protocol) {
        if (!(file = kv_get(kv, "filename"))) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'filename' is missing");
            return NULL;
        }
        bs = bdrv_open(file, driver, kv, m.flags, errp);
    } else if ((file = kv_get(kv, "file"))) {
        struct bdrv *child = drive_find_node(file);

        if (!child) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Cannot find device=%s nor node-name=%s", file, file);
            return NULL;
        }
        bdrv_ref(child);
        bs = bdrv_open_on(child, driver, kv, m.flags, errp);
    } else if ((file = kv_get(kv, "file.filename"))) {
        bs = bdrv_open(file, driver, kv, m.flags, errp);
    } else {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'file' is missing");
        return NULL;
    }
    if (bs) {
        g_free(bs->node_name);
        bs->node_name = g_strdup(name);
    }
    return bs;
}

/* Backends made for -drive, closed at exit. */
static GPtrArray *drive_backends;

/* Makes the named backend of a -drive over bs (NULL: an empty drive); takes
 * over the caller's reference to bs. */
static int drive_attach(const char *id, struct bdrv *bs, const struct drive_mode *m,
                        GError **errp)
{
    struct blk *blk;

    if (blk_by_name(id)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Duplicate ID '%s' for drive", id);
        bdrv_unref(bs);
        return -1;
    }
    blk = blk_new(bs, (m->flags & BDRV_O_RDWR) ? BLK_PERM_WRITE : 0);
    bdrv_unref(bs);
    if (!blk_set_name(blk, id, errp)) {
        blk_unref(blk);
        return -1;
    }
    blk_set_enable_write_cache(blk, m->writeback);
    blk_set_detect_zeroes(blk, (enum blk_detect_zeroes)m->detect_zeroes);
    if (!drive_backends) {
        drive_backends = g_ptr_array_new();
    }
    g_ptr_array_add(drive_backends, blk);
    return 0;
}

void drives_close(void)
{
    drive_ide_clear();
    for (unsigned i = 0; drive_backends && i < drive_backends->len; i++) {
        struct blk *blk = g_ptr_array_index(drive_backends, i);

        blk_drain(blk);
        if (blk_bs(blk)) {
            blk_flush(blk);
        }
        blk_unref(blk);
    }
    if (drive_backends) {
        g_ptr_array_free(drive_backends, TRUE);
        drive_backends = NULL;
    }
    for (unsigned i = 0; blockdev_nodes && i < blockdev_nodes->len; i++) {
        struct bdrv *bs = g_ptr_array_index(blockdev_nodes, i);

        bdrv_flush(bs);
        bdrv_unref(bs);
    }
    if (blockdev_nodes) {
        g_ptr_array_free(blockdev_nodes, TRUE);
        blockdev_nodes = NULL;
    }
}

/* The id QEMU gives a -drive without one: "<if><index>", e.g. "none0". */
static char *drive_default_id(const char *iface, unsigned *counter)
{
    return g_strdup_printf("%s%u", iface, (*counter)++);
}

/*
 * The unit of an if=virtio drive as QEMU's drive_new picks it: index=,
 * else unit=, else the first one no earlier virtio drive took.  units
 * holds the taken ones.
 */
static int drive_virtio_unit(const struct kv_list *kv, GHashTable *units, unsigned *unit,
                             GError **errp)
{
    const char *index = kv_get(kv, "index"), *u = kv_get(kv, "unit");

    if (index && (u || (kv_get(kv, "bus") && strtoul(kv_get(kv, "bus"), NULL, 0)))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "index cannot be used with bus and unit");
        return -1;
    }
    if (index || u) {
        *unit = strtoul(index ? index : u, NULL, 0);
    } else {
        for (*unit = 0; g_hash_table_contains(units, GUINT_TO_POINTER(*unit + 1)); (*unit)++) {
        }
    }
    if (g_hash_table_contains(units, GUINT_TO_POINTER(*unit + 1))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "drive with bus=0, unit=%u (index=%d) exists", *unit,
                    index ? (int)*unit : -1);
        return -1;
    }
    g_hash_table_add(units, GUINT_TO_POINTER(*unit + 1));
    return 0;
}

static unsigned drive_uint(const struct kv_list *kv, const char *key, unsigned dflt)
{
    const char *v = kv_get(kv, key);

    return v ? (unsigned)strtoul(v, NULL, 0) : dflt;
}

/*
 * Where an if=ide drive goes, as QEMU's drive_new: index= (two units a
 * bus), else bus= and unit=, else the first free unit from bus= on.  The
 * PIIX3 has two buses; -M microvm has none.
 */
static int drive_ide_place(const struct hyvm_config *cfg, const struct kv_list *kv,
                           unsigned *bus, unsigned *unit, GError **errp)
{
    const char *index = kv_get(kv, "index");
    int idx = index ? (int)strtoul(index, NULL, 0) : -1;

    if (index && (kv_get(kv, "bus") || kv_get(kv, "unit"))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "index cannot be used with bus and unit");
        return -1;
    }
    if (index) {
        *bus = idx / DRIVE_IDE_UNITS;
        *unit = idx % DRIVE_IDE_UNITS;
    } else {
        *bus = drive_uint(kv, "bus", 0);
        if (kv_get(kv, "unit")) {
            *unit = drive_uint(kv, "unit", 0);
        } else {
            *unit = 0;
            while (drive_ide_get(*bus, *unit, NULL)) {
                if (++*unit >= DRIVE_IDE_UNITS) {
                    *unit = 0;
                    ++*bus;
                }
            }
        }
    }
    if (*unit >= DRIVE_IDE_UNITS) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "unit %u too big (max is %d)", *unit,
                    DRIVE_IDE_UNITS - 1);
        return -1;
    }
    if (drive_ide_get(*bus, *unit, NULL)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "drive with bus=%u, unit=%u (index=%d) exists", *bus, *unit, idx);
        return -1;
    }
    if (*bus >= DRIVE_IDE_BUSES || !strcmp(cfg->machine, "microvm")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "machine type does not support if=ide,bus=%u,unit=%u", *bus, *unit);
        return -1;
    }
    return 0;
}

/* QEMU's default interface for -drive without if= (and -hda, -cdrom):
 * IDE on pc; none on microvm, which has no disk controller. */
static const char *drive_default_if(const struct hyvm_config *cfg)
{
    return !strcmp(cfg->machine, "microvm") ? "none" : "ide";
}

/*
 * The id of a -drive without if= on microvm: "none<bus><unit>", one unit a
 * bus (index= is the bus), the first free from bus= on, as QEMU's
 * drive_new names it.  taken holds the (bus, unit) pairs used.
 */
static char *drive_default_none_id(const struct kv_list *kv, GHashTable *taken, GError **errp)
{
    const char *index = kv_get(kv, "index");
    unsigned bus = drive_uint(kv, "bus", 0), unit = drive_uint(kv, "unit", 0);

    if (index) {
        bus = drive_uint(kv, "index", 0);
        unit = 0;
    } else if (!kv_get(kv, "unit")) {
        while (g_hash_table_contains(taken, GUINT_TO_POINTER((bus << 8 | unit) + 1))) {
            bus++;
        }
    }
    if (g_hash_table_contains(taken, GUINT_TO_POINTER((bus << 8 | unit) + 1))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "drive with bus=%u, unit=%u (index=%d) exists", bus, unit,
                    index ? (int)bus : -1);
        return NULL;
    }
    g_hash_table_add(taken, GUINT_TO_POINTER((bus << 8 | unit) + 1));
    return g_strdup_printf("none%u%u", bus, unit);
}

/* if=virtio: QEMU adds "-device virtio-blk-pci,drive=ID" after the -device
 * list, so the function takes the first slot left free. */
static int drive_add_virtio_device(const struct hyvm_config *cfg, const char *arg,
                                   const char *id, GError **errp)
{
    g_autofree char *opt = g_strdup_printf("virtio-blk-pci,drive=%s", id);
    struct dev_config *dc = dev_config_parse(opt, errp);

    if (!dc) {
        return -1;
    }
    /* Its errors name the -drive the user wrote, as QEMU's do. */
    g_free(dc->spec);
    dc->spec = g_strdup_printf("-drive %s", arg);
    g_ptr_array_add(cfg->devices, dc);
    return 0;
}

/* One -drive: its node (none when no file= is given: an empty drive). */
static int drive_init_one(const struct hyvm_config *cfg, const char *arg,
                          unsigned *none_count, GHashTable *virtio_units,
                          GHashTable *none_units, GError **errp)
{
    struct kv_list *kv = kv_parse(arg, NULL, errp);
    const char *file, *v;
    struct drive_mode m;
    struct bdrv *bs = NULL;
    g_autofree char *id = NULL;
    const char *iface;
    bool virtio, ide, cdrom;
    unsigned unit = 0, bus = 0;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (drive_mode_parse(kv, cfg->snapshot, &m, errp) < 0) {
        goto out;
    }
    iface = kv_get(kv, "if") ? kv_get(kv, "if") : drive_default_if(cfg);
    virtio = !strcmp(iface, "virtio");
    ide = !strcmp(iface, "ide");
    cdrom = !g_strcmp0(kv_get(kv, "media"), "cdrom");
    if (virtio && drive_virtio_unit(kv, virtio_units, &unit, errp) < 0) {
        goto out;
    }
    if (ide && drive_ide_place(cfg, kv, &bus, &unit, errp) < 0) {
        goto out;
    }
    if ((v = kv_get(kv, "id"))) {
        id = g_strdup(v);
    } else if (ide) {
        id = g_strdup_printf("ide%u-%s%u", bus, cdrom ? "cd" : "hd", unit);
    } else if (!kv_get(kv, "if")) {
        id = drive_default_none_id(kv, none_units, errp);
        if (!id) {
            goto out;
        }
    } else {
        id = virtio ? g_strdup_printf("virtio%u", unit) : drive_default_id("none", none_count);
    }
    file = kv_get(kv, "file");
    if (file && *file) {
        bs = drive_open_image(file, kv_get(kv, "format"), kv, &m, errp);
        if (!bs) {
            goto out;
        }
    }
    ret = drive_attach(id, bs, &m, errp);
    if (ret == 0 && virtio) {
        ret = drive_add_virtio_device(cfg, arg, id, errp);
    }
    if (ret == 0 && ide) {
        ide_slots[bus][unit].id = g_strdup(id);
        ide_slots[bus][unit].cdrom = cdrom;
    }
out:
    kv_free(kv);
    return ret;
}

static bool drive_ide_device_given(const struct hyvm_config *cfg)
{
    for (unsigned i = 0; cfg->devices && i < cfg->devices->len; i++) {
        const struct dev_config *dc = g_ptr_array_index(cfg->devices, i);

        if (!strcmp(dc->type->name, "ide-hd") || !strcmp(dc->type->name, "ide-cd")) {
            return true;
        }
    }
    return false;
}

/* Errors name the option as written: "-drive ARG" or "-hda FILE" (the
 * shortcuts come as a -drive with DRIVE_SHORTCUT_KEY saying which). */
static void drive_prefix_error(const char *arg, GError **errp)
{
    struct kv_list *kv = kv_parse(arg, NULL, NULL);
    const char *opt = kv ? kv_get(kv, DRIVE_SHORTCUT_KEY) : NULL;

    if (opt) {
        g_prefix_error(errp, "-%s %s: ", opt, kv_get(kv, "file"));
    } else {
        g_prefix_error(errp, "-drive %s: ", arg);
    }
    kv_free(kv);
}

int drives_init(const struct hyvm_config *cfg, GError **errp)
{
    g_autoptr(GHashTable) virtio_units = g_hash_table_new(NULL, NULL);
    g_autoptr(GHashTable) none_units = g_hash_table_new(NULL, NULL);
    unsigned none_count = 0;

    if (!blockdev_nodes) {
        blockdev_nodes = g_ptr_array_new();
    }
    for (unsigned i = 0; i < cfg->blockdevs->len; i++) {
        struct kv_list *kv = blockdev_parse(g_ptr_array_index(cfg->blockdevs, i), errp);
        struct bdrv *bs = kv ? blockdev_open(kv, errp) : NULL;

        kv_free(kv);
        if (!bs) {
            g_prefix_error(errp, "-blockdev %s: ", (char *)g_ptr_array_index(cfg->blockdevs, i));
            return -1;
        }
        g_ptr_array_add(blockdev_nodes, bs);
    }
    for (unsigned i = 0; i < cfg->drives->len; i++) {
        const char *arg = g_ptr_array_index(cfg->drives, i);

        if (drive_init_one(cfg, arg, &none_count, virtio_units, none_units, errp) < 0) {
            drive_prefix_error(arg, errp);
            return -1;
        }
    }
    /* QEMU's default CD-ROM (vl.c's default_drive): an empty drive at
     * index 2 of pc's IDE, unless -nodefaults, a drive is there or a
     * -device ide-hd/ide-cd is given. */
    if (strcmp(cfg->machine, "microvm") && !cfg->nodefaults && !drive_ide_get(1, 0, NULL) &&
        !drive_ide_device_given(cfg) &&
        drive_init_one(cfg, "index=2,media=cdrom", &none_count, virtio_units, none_units,
                       errp) < 0) {
        return -1;
    }
    return 0;
}
