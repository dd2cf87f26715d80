/*
 * Where firmware images and option ROMs are found, as QEMU's
 * qemu_find_file() finds them: the name itself when it is a readable
 * path, then each -L directory in order, then QEMU's data directories on
 * Debian (`-L help` prints them).  -bios, the VGA's romfile= and every
 * other ROM go through here.
 */
#ifndef HYVM_DATADIR_H
#define HYVM_DATADIR_H

#include <glib.h>

/* QEMU's data directories in its order: qemu-system-data's, seabios's,
 * ipxe-qemu's; NULL-terminated. */
extern const char *const datadir_defaults[];

/* The readable file name resolves to, newly allocated, or NULL.  dirs
 * (char *, may be NULL) are the -L directories. */
char *datadir_find(const GPtrArray *dirs, const char *name);

#endif
