/*
 * -drive, -blockdev, the disk shortcuts (-hda, -cdrom...), -snapshot, -netdev,
 * -nic and -net.  Drives are checked here with QEMU's messages and opened at
 * start-up (block/drive.c), on IDE, virtio or for -device (if=none);
 * SCSI and floppy disks are refused as not supported yet.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "block/drive.h"
#include "net/net.h"
#include "system/config.h"
#include "system/keyval.h"
#include "system/options-internal.h"

int opt_drive(struct parse_state *s)
{
    static const char *const keys[] = {
        "file", "if", "bus", "unit", "index", "media", "snapshot", "cache", "aio", "format",
        "rerror", "werror", "copy-on-read", "serial", "addr", "readonly", "read-only",
        "discard", "detect-zeroes", "id", "node-name", "driver", "auto-read-only",
        "force-share", "locking", "throttling.iops-total", "bps", "iops", NULL,
    };
    static const char *const ifs[] = {
        "none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen", NULL,
    };
    static const char *const medias[] = { "disk", "cdrom", NULL };
    static const char *const caches[] = {
        "none", "writeback", "writethrough", "directsync", "unsafe", NULL,
    };
    static const char *const aios[] = { "threads", "native", "io_uring", NULL };
    static const char *const formats[] = {
        "raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vhdx", "vpc", "luks", "dmg",
        "parallels", "bochs", "cloop", "file", "host_device", "host_cdrom", "nbd", "null-co",
        "null-aio", "blkdebug", "blkverify", "quorum", "throttle", "copy-on-read",
        "compress", NULL,
    };
    static const char *const discards[] = { "ignore", "off", "unmap", "on", NULL };
    static const char *const werrors[] = { "ignore", "stop", "report", "enospc", NULL };
    static const char *const rerrors[] = { "ignore", "stop", "report", NULL };
    static const char *const bools[] = {
        "snapshot", "readonly", "read-only", "copy-on-read", "auto-read-only",
        "force-share", NULL,
    };
    static const char *const ints[] = { "bus", "unit", "index", NULL };
    struct kv_list *kv = opt_kv(s, NULL);
    const char *v;
    uint64_t n;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        const char *k = kv->items[i].key;

        /* Dotted keys (file.filename, cache.direct) go to block drivers. */
        if (!in_list(k, keys) && !strchr(k, '.')) {
            BAD(s, "Invalid parameter '%s'", k);
            goto out;
        }
    }
    for (unsigned i = 0; bools[i]; i++) {
        if (check_bool(s, kv, bools[i], "") < 0) {
            goto out;
        }
    }
    for (unsigned i = 0; ints[i]; i++) {
        if ((v = kv_get(kv, ints[i])) && parse_uint(v, &n) < 0) {
            BAD(s, "Parameter '%s' expects a number", ints[i]);
            goto out;
        }
    }
    if ((v = kv_get(kv, "if")) && !in_list(v, ifs)) {
        BAD(s, "unsupported bus type '%s'", v);
        goto out;
    }
    if ((v = kv_get(kv, "media")) && !in_list(v, medias)) {
        BAD(s, "'%s' invalid media", v);
        goto out;
    }
    if ((v = kv_get(kv, "cache")) && !in_list(v, caches)) {
        BAD(s, "invalid cache option");
        goto out;
    }
    if ((v = kv_get(kv, "aio")) && !in_list(v, aios)) {
        BAD(s, "invalid aio option");
        goto out;
    }
    if ((v = kv_get(kv, "format")) && !in_list(v, formats)) {
        BAD(s, "Unknown driver '%s'", v);
        goto out;
    }
    if ((v = kv_get(kv, "discard")) && !in_list(v, discards)) {
        BAD(s, "Invalid discard option");
        goto out;
    }
    if ((v = kv_get(kv, "werror")) && !in_list(v, werrors)) {
        BAD(s, "'%s' invalid write error action", v);
        goto out;
    }
    if ((v = kv_get(kv, "rerror")) && !in_list(v, rerrors)) {
        BAD(s, "'%s' invalid read error action", v);
        goto out;
    }
    /* A plain path that is not there fails as QEMU's open does; protocol
     * names ("nbd:...", "json:{...}") are the block layer's to check. */
    v = kv_get(kv, "file");
    if (v && *v && (v[0] == '/' || !strchr(v, ':')) && access(v, F_OK) < 0) {
        BAD(s, "Could not open '%s': %s", v, g_strerror(errno));
        goto out;
    }
    {
        struct drive_mode m;
        GError *err = NULL;

        if (drive_mode_parse(kv, s->c->snapshot, &m, &err) < 0) {
            BAD(s, "%s", err->message);
            g_error_free(err);
            goto out;
        }
    }
    /* if=ide (QEMU's default on pc; block/drive.c places it on the PIIX3's
     * channels) and if=virtio (a virtio-blk-pci for the drive). */
    v = kv_get(kv, "if");
    if (v && (!strcmp(v, "scsi") || !strcmp(v, "floppy"))) {
        NOT_YET(s, "%s disks are not supported yet; use if=ide, if=virtio or if=none", v);
        goto out;
    }
    if (v && strcmp(v, "none") && strcmp(v, "virtio") && strcmp(v, "ide")) {
        NOT_YET(s, "if=%s is not supported yet; use if=ide, if=virtio or if=none", v);
        goto out;
    }
    g_ptr_array_add(s->c->drives, g_strdup(s->arg));
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/* -hda..-hdd FILE and -cdrom FILE: QEMU's drive_add(IF_DEFAULT, index,
 * FILE, "media=disk" / "media=cdrom"), index 0-3 (-cdrom is 2). */
int opt_disk_shortcut(struct parse_state *s)
{
    static const char *const names[] = { "hda", "hdb", "hdc", "hdd", "cdrom", NULL };
    const char *name = s->opt + strspn(s->opt, "-");
    GString *d;
    unsigned i;

    for (i = 0; names[i] && strcmp(names[i], name); i++) {
    }
    if (!names[i]) {
        return NOT_YET(s, "floppy disks are not supported yet");
    }
    if (*s->arg && access(s->arg, F_OK) < 0) {
        return BAD(s, "Could not open '%s': %s", s->arg, g_strerror(errno));
    }
    d = g_string_new("file=");
    for (const char *p = s->arg; *p; p++) {
        g_string_append_c(d, *p);
        if (*p == ',') {
            g_string_append_c(d, ',');  /* ",," is a comma in the value */
        }
    }
    g_string_append_printf(d, ",index=%u,media=%s," DRIVE_SHORTCUT_KEY "=%s", i == 4 ? 2 : i,
                           i == 4 ? "cdrom" : "disk", name);
    g_ptr_array_add(s->c->drives, g_string_free(d, FALSE));
    return 0;
}

int opt_blockdev(struct parse_state *s)
{
    GError *err = NULL;
    struct kv_list *kv = blockdev_parse(s->arg, &err);
    struct drive_mode m;
    int ret = -1;

    if (!kv) {
        BAD(s, "%s", err->message);
        g_error_free(err);
        return -1;
    }
    if (!kv_get(kv, "driver")) {
        BAD(s, "Parameter 'driver' is missing");
    } else if (!kv_get(kv, "node-name")) {
        BAD(s, "'node-name' must be specified for the root node");
    } else if (drive_mode_parse(kv, false, &m, &err) < 0) {
        BAD(s, "%s", err->message);
        g_error_free(err);
    } else {
        g_ptr_array_add(s->c->blockdevs, g_strdup(s->arg));
        ret = 0;
    }
    kv_free(kv);
    return ret;
}

int opt_snapshot(struct parse_state *s)
{
    s->c->snapshot = true;
    return 0;
}

/* QEMU 7.2's -netdev types (NetClientDriver); "nic" and "none" are -net's. */
static const char *const netdev_types[] = {
    "user", "tap", "bridge", "l2tpv3", "socket", "stream", "dgram", "vde", "netmap",
    "vhost-user", "vhost-vdpa", "hubport", NULL,
};

/* QEMU's list, the types not built yet marked (net/net.c). */
static void print_netdev_help(void)
{
    net_print_netdev_help();
}

static int check_net_type(struct parse_state *s, const struct kv_list *kv, bool nic)
{
    const char *type = kv_get(kv, "type");

    if (!type || !*type) {
        return BAD(s, "Parameter 'type' is missing");
    }
    if (!in_list(type, netdev_types) && !(nic && !strcmp(type, "nic"))) {
        return BAD(s, "Parameter 'type' does not accept value '%s'", type);
    }
    return 0;
}

int opt_netdev(struct parse_state *s)
{
    struct kv_list *kv;
    GError *err = NULL;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        print_netdev_help();
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "type");
    if (!kv) {
        return -1;
    }
    if (check_net_type(s, kv, false) < 0) {
        goto out;
    }
    if (!kv_get(kv, "id")) {
        BAD(s, "Parameter 'id' is missing");
        goto out;
    }
    /* net/net.c checks the type's own options and keeps them for start-up
     * (net_init_clients); a type not built yet is refused there. */
    ret = net_cli_add(s->arg, &err) < 0 ? opt_wrap(s, err) : 0;
out:
    kv_free(kv);
    return ret;
}

/* -nic and -net: net/nic-options.c keeps them for start-up. */
int opt_nic(struct parse_state *s)
{
    bool is_net = !strcmp(s->opt + strspn(s->opt, "-"), "net");
    struct kv_list *kv;
    GError *err = NULL;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        print_netdev_help();
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "type");
    if (!kv) {
        return -1;
    }
    /* -nic without a type is user networking (net/nic-options.c). */
    if ((is_net || kv_get(kv, "type")) && g_strcmp0(kv_get(kv, "type"), "none") &&
        check_net_type(s, kv, is_net) < 0) {
        goto out;
    }
    ret = net_nic_cli_add(is_net ? "net" : "nic", s->arg, &err);
    if (ret < 0) {
        ret = opt_wrap(s, err);
    } else if (ret == 1) {
        s->done = true;
        ret = 0;
    }
out:
    kv_free(kv);
    return ret;
}
