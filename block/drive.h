/*
 * -drive and -blockdev: from the command line's options to open nodes and
 * named backends, at start-up and for QMP's change/snapshot commands.
 *
 * Threads: main thread.
 */
#ifndef HYVM_DRIVE_H
#define HYVM_DRIVE_H

#include <stdbool.h>
#include <glib.h>

#include "block/block.h"

struct hyvm_config;
struct blk;

/* What -drive's cache=, cache.*, aio=, discard=, detect-zeroes= and friends
 * ask for, as open flags and backend settings. */
struct drive_mode {
    int flags;                  /* BDRV_O_* for the node */
    bool writeback;             /* false: each write is flushed (writethrough) */
    int detect_zeroes;          /* 0 off, 1 on, 2 unmap */
    bool snapshot;              /* a temporary overlay takes the writes */
};

/*
 * Reads the cache/aio/discard/... keys of a -drive or -blockdev into *m,
 * with QEMU's messages for bad values and combinations.
 */
int drive_mode_parse(const struct kv_list *kv, bool global_snapshot, struct drive_mode *m,
                     GError **errp);

/* -blockdev's argument, in dotted keys or JSON, as dotted key=value pairs. */
struct kv_list *blockdev_parse(const char *arg, GError **errp);

/*
 * Opens every -blockdev and -drive of cfg in order and makes the backends
 * the devices and QMP find by name.
 */
int drives_init(const struct hyvm_config *cfg, GError **errp);
/* Flushes and closes every backend and node (exit). */
void drives_close(void);

/*
 * The if=ide drives of the command line (-drive if=ide, -hda..-hdd,
 * -cdrom, and -drive without if= on pc), by channel and unit as QEMU's
 * drive_new placed them: the backend's id (e.g. "ide1-cd0"), or NULL for
 * none; *cdrom tells media=cdrom.  The IDE controller takes them.
 */
const char *drive_ide_get(unsigned bus, unsigned unit, bool *cdrom);
/* -hda FILE and friends reach cfg->drives as "file=FILE,index=N,media=..,"
 * DRIVE_SHORTCUT_KEY"=hda" so errors can name the option. */
#define DRIVE_SHORTCUT_KEY "x-hyvm-shortcut"

/* A -blockdev node by node-name, or NULL. */
struct bdrv *drive_find_node(const char *node_name);

/*
 * Opens filename as -drive would with mode (format NULL probes), with a
 * temporary qcow2 overlay when m->snapshot.
 */
struct bdrv *drive_open_image(const char *filename, const char *format,
                              const struct kv_list *opts, const struct drive_mode *m,
                              GError **errp);

#endif
