/*
 * hyvm-img snapshot: qemu-img snapshot's -l / -c / -a / -d over the
 * driver's internal snapshot callbacks, with qemu-img's table and messages.
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "tools/img-common.h"
#include "tools/img.h"

enum img_snapshot_action { SNAP_NONE, SNAP_LIST, SNAP_CREATE, SNAP_APPLY, SNAP_DELETE };

static int img_snapshot_list(struct bdrv *bs, struct bdrv_snapshot **list)
{
    *list = NULL;
    if (!bs->drv->snapshot_list) {
        return -ENOTSUP;
    }
    return bs->drv->snapshot_list(bs, list);
}

/* qemu-img snapshot -l: nothing at all when there are none. */
static int img_snapshot_print(struct bdrv *bs)
{
    struct bdrv_snapshot *list;
    int n = img_snapshot_list(bs, &list);

    if (n > 0) {
        printf("Snapshot list:\n");
        img_snapshot_dump(NULL);
        printf("\n");
        for (int i = 0; i < n; i++) {
            img_snapshot_dump(&list[i]);
            printf("\n");
        }
    }
    g_free(list);
    return 0;
}

static int img_snapshot_create(struct bdrv *bs, const char *name)
{
    struct bdrv_snapshot sn;
    struct timeval tv;
    int ret = -ENOTSUP;

    memset(&sn, 0, sizeof(sn));
    g_strlcpy(sn.name, name, sizeof(sn.name));
    gettimeofday(&tv, NULL);
    sn.date_sec = (uint32_t)tv.tv_sec;
    sn.date_nsec = (uint32_t)tv.tv_usec * 1000;
    if (bs->drv->snapshot_create) {
        ret = bs->drv->snapshot_create(bs, &sn);
    }
    if (ret) {
        img_error("Could not create snapshot '%s': %d (%s)", name, ret, g_strerror(-ret));
        return 1;
    }
    return 0;
}

static int img_snapshot_apply(struct bdrv *bs, const char *name)
{
    int ret;

    if (!bs->drv->snapshot_goto) {
        img_error("Could not apply snapshot '%s': Block driver does not support snapshots",
                  name);
        return 1;
    }
    ret = bs->drv->snapshot_goto(bs, name);
    if (ret < 0) {
        img_error("Could not apply snapshot '%s': Failed to load snapshot: %s", name,
                  g_strerror(-ret));
        return 1;
    }
    return 0;
}

/* QEMU's bdrv_snapshot_find: by name. */
static int img_snapshot_delete(struct bdrv *bs, const char *name)
{
    struct bdrv_snapshot *list, found;
    int n = img_snapshot_list(bs, &list), ret = 1;
    GError *err = NULL;
    bool hit = false;

    for (int i = 0; i < n && !hit; i++) {
        if (!strcmp(list[i].name, name)) {
            found = list[i];
            hit = true;
        }
    }
    g_free(list);
    if (!hit) {
        img_error("Could not delete snapshot '%s': snapshot not found", name);
        return 1;
    }
    if (!bs->drv->snapshot_delete) {
        img_error("Could not delete snapshot '%s': Block driver does not support snapshots",
                  name);
        return 1;
    }
    if (bs->drv->snapshot_delete(bs, found.id, found.name, &err) < 0) {
        img_error("Could not delete snapshot '%s': %s", name,
                  err ? err->message : "Failed to delete snapshot");
        g_clear_error(&err);
    } else {
        ret = 0;
    }
    return ret;
}

static void img_snapshot_set(enum img_snapshot_action *action, enum img_snapshot_action a)
{
    if (*action != SNAP_NONE) {
        img_error_exit("Cannot mix '-l', '-a', '-c', '-d'");
    }
    *action = a;
}

int img_snapshot(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    enum img_snapshot_action action = SNAP_NONE;
    const char *name = NULL;
    bool force_share = false;
    int flags = BDRV_O_RDWR;
    struct bdrv *bs;
    int c, ret = 0;

    while ((c = img_getopt(argc, argv, ":la:c:d:hqU", long_opts, 1)) != -1) {
        switch (c) {
        case 'l':
            img_snapshot_set(&action, SNAP_LIST);
            flags &= ~BDRV_O_RDWR;
            break;
        case 'a':
            img_snapshot_set(&action, SNAP_APPLY);
            name = optarg;
            break;
        case 'c':
            img_snapshot_set(&action, SNAP_CREATE);
            name = optarg;
            break;
        case 'd':
            img_snapshot_set(&action, SNAP_DELETE);
            name = optarg;
            break;
        case 'q':
            /* qemu-img's snapshot prints nothing but the list and errors. */
            break;
        case 'U':
            force_share = true;
            break;
        }
    }
    bs = img_open(img_one_filename(argc, argv), NULL, flags, force_share);
    if (!bs) {
        return 1;
    }
    switch (action) {
    case SNAP_LIST:
        ret = img_snapshot_print(bs);
        break;
    case SNAP_CREATE:
        ret = img_snapshot_create(bs, name);
        break;
    case SNAP_APPLY:
        ret = img_snapshot_apply(bs, name);
        break;
    case SNAP_DELETE:
        ret = img_snapshot_delete(bs, name);
        break;
    case SNAP_NONE:
        break;
    }
    bdrv_unref(bs);
    return ret;
}
