/*
 * Firmware and ROM file lookup (datadir.h).
 */
#include <unistd.h>

#include "system/datadir.h"

const char *const datadir_defaults[] = {
    "/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu", NULL,
};

static char *datadir_try(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);

    if (access(p, R_OK) == 0) {
        return p;
    }
    g_free(p);
    return NULL;
}

char *datadir_find(const GPtrArray *dirs, const char *name)
{
    char *p;

    if (access(name, R_OK) == 0) {
        return g_strdup(name);
    }
    for (unsigned i = 0; dirs && i < dirs->len; i++) {
        if ((p = datadir_try(g_ptr_array_index(dirs, i), name))) {
            return p;
        }
    }
    for (unsigned i = 0; datadir_defaults[i]; i++) {
        if ((p = datadir_try(datadir_defaults[i], name))) {
            return p;
        }
    }
    return NULL;
}
