/*
 * The devices with a bootindex=, kept sorted by index (boot-order.h).
 */
#include <errno.h>

#include "machine/boot-order.h"
#include "system/error.h"

struct boot_entry {
    int32_t index;
    char *path;
};

static GArray *entries;         /* struct boot_entry, ascending index */

int boot_order_add(int32_t bootindex, const char *fw_path, GError **errp)
{
    struct boot_entry e = { bootindex, NULL };
    unsigned i;

    if (bootindex < 0) {
        return 0;
    }
    if (!entries) {
        entries = g_array_new(false, false, sizeof(struct boot_entry));
    }
    for (i = 0; i < entries->len; i++) {
        const struct boot_entry *o = &g_array_index(entries, struct boot_entry, i);

        if (o->index == bootindex) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "The bootindex %d has already been used", bootindex);
            return -EEXIST;
        }
        if (o->index > bootindex) {
            break;
        }
    }
    e.path = g_strdup(fw_path);
    g_array_insert_val(entries, i, e);
    return 0;
}

/* QEMU's get_boot_devices_list(): the paths joined by '\n', the last one
 * ended by a NUL that the file's length counts. */
char *boot_order_file(bool strict, size_t *len)
{
    GString *s = g_string_new(NULL);

    for (unsigned i = 0; entries && i < entries->len; i++) {
        g_string_append_printf(s, "%s%s", i ? "\n" : "",
                               g_array_index(entries, struct boot_entry, i).path);
    }
    /* QEMU's get_boot_devices_list() adds HALT only after a device. */
    if (strict && s->len) {
        g_string_append(s, "\nHALT");
    }
    if (!s->len) {
        g_string_free(s, true);
        *len = 0;
        return NULL;
    }
    *len = s->len + 1;
    return g_string_free(s, false);
}

unsigned boot_order_count(void)
{
    return entries ? entries->len : 0;
}

void boot_order_clear(void)
{
    for (unsigned i = 0; entries && i < entries->len; i++) {
        g_free(g_array_index(entries, struct boot_entry, i).path);
    }
    if (entries) {
        g_array_set_size(entries, 0);
    }
}
