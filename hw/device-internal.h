/*
 * Shared by the hw/device*.c files; not for the rest of hyvm.  The JSON
 * reader of hw/device-json.c, which hw/device.c uses for the JSON form of
 * -device.
 *
 * Threads: main thread, while parsing the command line.
 */
#ifndef HYVM_DEVICE_INTERNAL_H
#define HYVM_DEVICE_INTERNAL_H

#include <glib.h>

enum json_kind { JSON_STRING, JSON_NUMBER, JSON_BOOL, JSON_NULL, JSON_NESTED };

struct json_member {
    char *key;
    enum json_kind kind;
    char *text;          /* string contents, number as written, "on"/"off" */
};

/*
 * Reads text as one JSON object whose values are scalars (nested arrays
 * and objects are syntax-checked and kept as JSON_NESTED with text NULL).
 * Returns its members in order, struct json_member * freed with the
 * array, or NULL with *errp set.
 */
GPtrArray *dev_json_read_object(const char *text, GError **errp);

#endif
