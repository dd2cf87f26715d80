/*
 * The device table: every device a user can name with -device or -global,
 * "-device help" and "-device DRIVER,help", checking a -device argument
 * (key=value or JSON) against the table, -global defaults and the typed
 * lookups realize() uses.
 *
 * Threads: main thread only (command-line parsing and machine creation).
 * The -global list is written while parsing and read while realizing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "system/error.h"
#include "system/keyval.h"

#define CHARDEV_DESC "ID of a chardev to use as a backend"
#define DRIVE_DESC "Node name or ID of a block device to use as a backend"
#define NETDEV_DESC "ID of a netdev to use as a backend"
#define MAC_DESC "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56"
#define ADDR_DESC "Slot and optional function number, example: 06.0 or 06"

/* Defaults as QEMU's: -1 (4294967295) means "pick by index" on isa-serial. */
static const struct dev_prop isa_serial_props[] = {
    { "chardev", DEV_PROP_CHARDEV, NULL, CHARDEV_DESC },
    { "index", DEV_PROP_UINT32, "4294967295", NULL },
    { "iobase", DEV_PROP_UINT32, "4294967295", NULL },
    { "irq", DEV_PROP_UINT32, "4294967295", NULL },
    { NULL },
};

/* 0x501 and 2: the port kvm-unit-tests and QEMU's default use. */
static const struct dev_prop isa_debug_exit_props[] = {
    { "iobase", DEV_PROP_UINT32, "1281", NULL },
    { "iosize", DEV_PROP_UINT32, "2", NULL },
    { NULL },
};

/* Port 0xe9 (233), Bochs' debug console; reads return readback. */
static const struct dev_prop isa_debugcon_props[] = {
    { "chardev", DEV_PROP_CHARDEV, NULL, CHARDEV_DESC },
    { "iobase", DEV_PROP_UINT32, "233", NULL },
    { "readback", DEV_PROP_UINT32, "233", NULL },
    { NULL },
};

static const struct dev_prop no_props[] = {
    { NULL },
};

/* The devices of later issues list the properties users name most. */
static const struct dev_prop virtio_blk_pci_props[] = {
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },
    { "num-queues", DEV_PROP_UINT16, "65535", NULL },
    { "serial", DEV_PROP_STR, NULL, NULL },
    { NULL },
};

static const struct dev_prop virtio_blk_props[] = {
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },
    { "num-queues", DEV_PROP_UINT16, "65535", NULL },
    { "serial", DEV_PROP_STR, NULL, NULL },
    { NULL },
};

static const struct dev_prop nic_pci_props[] = {
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { "mac", DEV_PROP_STR, NULL, MAC_DESC },
    { "netdev", DEV_PROP_NETDEV, NULL, NETDEV_DESC },
    { NULL },
};

static const struct dev_prop nic_props[] = {
    { "mac", DEV_PROP_STR, NULL, MAC_DESC },
    { "netdev", DEV_PROP_NETDEV, NULL, NETDEV_DESC },
    { NULL },
};

static const struct dev_prop pci_props[] = {
    { "addr", DEV_PROP_STR, NULL, ADDR_DESC },
    { NULL },
};

static const struct dev_prop virtio_serial_port_props[] = {
    { "chardev", DEV_PROP_CHARDEV, NULL, CHARDEV_DESC },
    { "name", DEV_PROP_STR, NULL, NULL },
    { "nr", DEV_PROP_UINT32, "4294967295", NULL },
    { NULL },
};

static const struct dev_prop ide_props[] = {
    { "drive", DEV_PROP_DRIVE, NULL, DRIVE_DESC },
    { "serial", DEV_PROP_STR, NULL, NULL },
    { NULL },
};

static const struct device_type device_types[] = {
    { .name = "isa-serial", .bus = "ISA", .category = DEV_CAT_INPUT,
      .props = isa_serial_props, .realize = serial_realize },
    { .name = "isa-debug-exit", .bus = "ISA", .category = DEV_CAT_MISC,
      .props = isa_debug_exit_props, .realize = isa_debug_exit_realize },
    { .name = "isa-debugcon", .bus = "ISA", .category = DEV_CAT_MISC,
      .props = isa_debugcon_props, .realize = debugcon_realize },
    { .name = "pc-testdev", .bus = "ISA", .category = DEV_CAT_MISC,
      .props = no_props, .realize = pc_testdev_realize },

    /* Built by later issues: named here so -device refuses them clearly. */
    { .name = "virtio-blk-pci", .bus = "PCI", .category = DEV_CAT_STORAGE,
      .alias = "virtio-blk", .props = virtio_blk_pci_props },
    { .name = "virtio-blk-device", .bus = "virtio-bus", .category = DEV_CAT_STORAGE,
      .props = virtio_blk_props },
    { .name = "ide-hd", .bus = "IDE", .category = DEV_CAT_STORAGE,
      .desc = "virtual IDE disk", .props = ide_props },
    { .name = "ide-cd", .bus = "IDE", .category = DEV_CAT_STORAGE,
      .desc = "virtual IDE CD-ROM", .props = ide_props },
    { .name = "virtio-net-pci", .bus = "PCI", .category = DEV_CAT_NETWORK,
      .alias = "virtio-net", .props = nic_pci_props },
    { .name = "virtio-net-device", .bus = "virtio-bus", .category = DEV_CAT_NETWORK,
      .props = nic_props },
    { .name = "e1000", .bus = "PCI", .category = DEV_CAT_NETWORK,
      .alias = "e1000-82540em", .desc = "Intel Gigabit Ethernet", .props = nic_pci_props },
    { .name = "i8042", .bus = "ISA", .category = DEV_CAT_INPUT, .props = no_props },
    { .name = "virtio-serial-pci", .bus = "PCI", .category = DEV_CAT_INPUT,
      .alias = "virtio-serial", .props = pci_props },
    { .name = "virtio-serial-device", .bus = "virtio-bus", .category = DEV_CAT_INPUT,
      .props = no_props },
    { .name = "virtconsole", .bus = "virtio-serial-bus", .category = DEV_CAT_INPUT,
      .props = virtio_serial_port_props },
    { .name = "virtserialport", .bus = "virtio-serial-bus", .category = DEV_CAT_INPUT,
      .props = virtio_serial_port_props },
    { .name = "VGA", .bus = "PCI", .category = DEV_CAT_DISPLAY, .props = pci_props },
    { .name = "virtio-rng-pci", .bus = "PCI", .category = DEV_CAT_MISC,
      .alias = "virtio-rng", .props = pci_props },
    { .name = "virtio-rng-device", .bus = "virtio-bus", .category = DEV_CAT_MISC,
      .props = no_props },
};

static const char *const category_names[DEV_CAT__MAX] = {
    [DEV_CAT_CONTROLLER] = "Controller/Bridge/Hub devices",
    [DEV_CAT_USB] = "USB devices",
    [DEV_CAT_STORAGE] = "Storage devices",
    [DEV_CAT_NETWORK] = "Network devices",
    [DEV_CAT_INPUT] = "Input devices",
    [DEV_CAT_DISPLAY] = "Display devices",
    [DEV_CAT_SOUND] = "Sound devices",
    [DEV_CAT_MISC] = "Misc devices",
    [DEV_CAT_CPU] = "CPU devices",
    [DEV_CAT_WATCHDOG] = "Watchdog devices",
    [DEV_CAT_UNCATEGORIZED] = "Uncategorized devices",
};

const struct device_type *device_type_find(const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(device_types); i++) {
        const struct device_type *t = &device_types[i];

        if (!strcmp(t->name, name) || (t->alias && !strcmp(t->alias, name))) {
            return t;
        }
    }
    return NULL;
}

static int type_cmp(const void *a, const void *b)
{
    const struct device_type *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

/* QEMU's layout: a heading per category, devices sorted by name, a blank
 * line between categories; tools such as libvirt have parsed it. */
void device_print_help(void)
{
    const struct device_type *sorted[G_N_ELEMENTS(device_types)];
    bool first = true;

    for (unsigned i = 0; i < G_N_ELEMENTS(device_types); i++) {
        sorted[i] = &device_types[i];
    }
    qsort(sorted, G_N_ELEMENTS(sorted), sizeof(sorted[0]), type_cmp);
    for (unsigned c = 0; c < DEV_CAT__MAX; c++) {
        bool heading = false;

        for (unsigned i = 0; i < G_N_ELEMENTS(sorted); i++) {
            const struct device_type *t = sorted[i];

            if (t->category != c) {
                continue;
            }
            if (!heading) {
                printf("%s%s:\n", first ? "" : "\n", category_names[c]);
                heading = true;
                first = false;
            }
            printf("name \"%s\", bus %s", t->name, t->bus);
            if (t->alias) {
                printf(", alias \"%s\"", t->alias);
            }
            if (t->desc || !t->realize) {
                printf(", desc \"%s%s%s\"", t->desc ? t->desc : "",
                       t->desc && !t->realize ? " " : "",
                       t->realize ? "" : "(not supported yet)");
            }
            printf("\n");
        }
    }
}

static const char *prop_type_name(enum dev_prop_type t)
{
    switch (t) {
    case DEV_PROP_BOOL: return "bool";
    case DEV_PROP_UINT8: return "uint8";
    case DEV_PROP_UINT16: return "uint16";
    case DEV_PROP_UINT32: return "uint32";
    case DEV_PROP_UINT64: return "uint64";
    case DEV_PROP_SIZE: return "size";
    case DEV_PROP_STR:
    case DEV_PROP_CHARDEV:
    case DEV_PROP_DRIVE:
    case DEV_PROP_NETDEV:
        break;
    }
    return "str";
}

static int prop_cmp(const void *a, const void *b)
{
    const struct dev_prop *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

/* "  name=<type>" padded to 24 columns, " - ", the description and the
 * default as JSON (strings quoted), as QEMU prints object properties. */
void device_print_props(const struct device_type *t)
{
    GPtrArray *props = g_ptr_array_new();

    for (const struct dev_prop *p = t->props; p && p->name; p++) {
        g_ptr_array_add(props, (gpointer)p);
    }
    if (!props->len) {
        printf("There are no options for %s.\n", t->name);
        g_ptr_array_free(props, TRUE);
        return;
    }
    qsort(props->pdata, props->len, sizeof(gpointer), prop_cmp);
    printf("%s options:\n", t->name);
    for (unsigned i = 0; i < props->len; i++) {
        const struct dev_prop *p = g_ptr_array_index(props, i);
        GString *line = g_string_new(NULL);

        g_string_append_printf(line, "  %s=<%s>", p->name, prop_type_name(p->type));
        if (p->desc || p->defval) {
            while (line->len < 24) {
                g_string_append_c(line, ' ');
            }
            g_string_append(line, " - ");
        }
        if (p->desc) {
            g_string_append(line, p->desc);
        }
        if (p->defval) {
            bool quote = !strcmp(prop_type_name(p->type), "str");

            g_string_append_printf(line, " (default: %s%s%s)", quote ? "\"" : "", p->defval,
                                   quote ? "\"" : "");
        }
        printf("%s\n", line->str);
        g_string_free(line, TRUE);
    }
    g_ptr_array_free(props, TRUE);
}

static const struct dev_prop *prop_find(const struct device_type *t, const char *name)
{
    for (const struct dev_prop *p = t->props; p && p->name; p++) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

static uint64_t prop_max(enum dev_prop_type t)
{
    switch (t) {
    case DEV_PROP_UINT8: return UINT8_MAX;
    case DEV_PROP_UINT16: return UINT16_MAX;
    case DEV_PROP_UINT32: return UINT32_MAX;
    default: return UINT64_MAX;
    }
}

/* QEMU names the C type in range errors: "expects uint32_t". */
static const char *prop_ctype(enum dev_prop_type t)
{
    switch (t) {
    case DEV_PROP_UINT8: return "uint8_t";
    case DEV_PROP_UINT16: return "uint16_t";
    case DEV_PROP_UINT32: return "uint32_t";
    default: return "uint64";
    }
}

static bool prop_is_uint(enum dev_prop_type t)
{
    return t == DEV_PROP_UINT8 || t == DEV_PROP_UINT16 || t == DEV_PROP_UINT32 ||
           t == DEV_PROP_UINT64;
}

/*
 * Checks a key=value spelling of a property value and returns it in the
 * form the getters read (booleans as "on"/"off"), or NULL with *errp set.
 */
static char *prop_check_text(const struct dev_prop *p, const char *value, GError **errp)
{
    uint64_t v;
    bool b;

    if (prop_is_uint(p->type)) {
        int ret = parse_uint(value, &v);

        if (ret == -EINVAL && value[0] == '-' && parse_uint(value + 1, &v) == 0) {
            ret = -ERANGE;    /* a negative number: out of the type's range */
        }
        if (ret == -EINVAL) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' expects integer", p->name);
            return NULL;
        }
        if (ret < 0 || v > prop_max(p->type)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects %s",
                        p->name, prop_ctype(p->type));
            return NULL;
        }
        return g_strdup(value);
    }
    switch (p->type) {
    case DEV_PROP_BOOL:
        if (!parse_bool(value, &b)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' expects 'on' or 'off'", p->name);
            return NULL;
        }
        return g_strdup(b ? "on" : "off");
    case DEV_PROP_SIZE:
        if (parse_size(value, 1, &v) < 0) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Parameter '%s' expects a non-negative number below 2^64", p->name);
            return NULL;
        }
        return g_strdup_printf("%" G_GUINT64_FORMAT, v);
    default:
        return g_strdup(value);
    }
}

/* -------- The JSON form of -device: one flat object. -------- */

enum json_kind { JSON_STRING, JSON_NUMBER, JSON_BOOL, JSON_NULL, JSON_NESTED };

struct json_member {
    char *key;
    enum json_kind kind;
    char *text;          /* string contents, number as written, "on"/"off" */
};

struct json_reader {
    const char *p;
    GPtrArray *members;  /* struct json_member * */
};

static void json_member_free(gpointer data)
{
    struct json_member *m = data;

    g_free(m->key);
    g_free(m->text);
    g_free(m);
}

static void json_ws(struct json_reader *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r') {
        r->p++;
    }
}

static bool json_error(GError **errp, const char *what)
{
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "JSON parse error, %s", what);
    return false;
}

/* A string in double quotes or, as QEMU also takes, single quotes (RFC 8259
 * section 7 for the escapes). */
static bool json_string(struct json_reader *r, char **out, GError **errp)
{
    char quote = *r->p++;
    GString *s = g_string_new(NULL);

    while (*r->p != quote) {
        unsigned char c = *r->p;

        if (!c) {
            g_string_free(s, TRUE);
            return json_error(errp, "missing terminating quote");
        }
        if (c < 0x20) {
            g_string_free(s, TRUE);
            return json_error(errp, "invalid control character in string");
        }
        if (c != '\\') {
            g_string_append_c(s, c);
            r->p++;
            continue;
        }
        r->p++;
        switch (*r->p) {
        case '"': case '\'': case '\\': case '/':
            g_string_append_c(s, *r->p);
            break;
        case 'b': g_string_append_c(s, '\b'); break;
        case 'f': g_string_append_c(s, '\f'); break;
        case 'n': g_string_append_c(s, '\n'); break;
        case 'r': g_string_append_c(s, '\r'); break;
        case 't': g_string_append_c(s, '\t'); break;
        case 'u': {
            unsigned cp = 0;

            for (int i = 1; i <= 4; i++) {
                if (!g_ascii_isxdigit(r->p[i])) {
                    g_string_free(s, TRUE);
                    return json_error(errp, "invalid escape sequence in string");
                }
                cp = cp * 16 + g_ascii_xdigit_value(r->p[i]);
            }
            if (!cp || (cp >= 0xd800 && cp <= 0xdfff)) {
                /* NUL and lone surrogates cannot be C strings or UTF-8. */
                g_string_free(s, TRUE);
                return json_error(errp, "invalid escape sequence in string");
            }
            g_string_append_unichar(s, cp);
            r->p += 4;
            break;
        }
        default:
            g_string_free(s, TRUE);
            return json_error(errp, "invalid escape sequence in string");
        }
        r->p++;
    }
    r->p++;
    *out = g_string_free(s, FALSE);
    return true;
}

/* Skips a nested array or object, checking its syntax, for an error that
 * names the property instead of the syntax. */
static bool json_skip_value(struct json_reader *r, GError **errp);

static bool json_skip_nested(struct json_reader *r, GError **errp)
{
    char close = *r->p == '{' ? '}' : ']';
    bool object = close == '}';

    r->p++;
    json_ws(r);
    if (*r->p == close) {
        r->p++;
        return true;
    }
    for (;;) {
        json_ws(r);
        if (object) {
            g_autofree char *key = NULL;

            if (*r->p != '"' && *r->p != '\'') {
                return json_error(errp, "expecting string as key");
            }
            if (!json_string(r, &key, errp)) {
                return false;
            }
            json_ws(r);
            if (*r->p != ':') {
                return json_error(errp, "missing : in object pair");
            }
            r->p++;
        }
        if (!json_skip_value(r, errp)) {
            return false;
        }
        json_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == close) {
            r->p++;
            return true;
        }
        return json_error(errp, object ? "expecting ',' or '}'" : "expecting ',' or ']'");
    }
}

static bool json_scalar(struct json_reader *r, enum json_kind *kind, char **text,
                        GError **errp)
{
    static const struct { const char *word; enum json_kind kind; const char *text; } words[] = {
        { "true", JSON_BOOL, "on" }, { "false", JSON_BOOL, "off" }, { "null", JSON_NULL, "" },
    };
    const char *start;

    json_ws(r);
    if (*r->p == '"' || *r->p == '\'') {
        *kind = JSON_STRING;
        return json_string(r, text, errp);
    }
    if (*r->p == '{' || *r->p == '[') {
        *kind = JSON_NESTED;
        *text = NULL;
        return json_skip_nested(r, errp);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(words); i++) {
        size_t n = strlen(words[i].word);

        if (!strncmp(r->p, words[i].word, n) && !g_ascii_isalnum(r->p[n])) {
            r->p += n;
            *kind = words[i].kind;
            *text = g_strdup(words[i].text);
            return true;
        }
    }
    /* RFC 8259 section 6: -? int frac? exp? */
    start = r->p;
    if (*r->p == '-') {
        r->p++;
    }
    if (!g_ascii_isdigit(*r->p)) {
        r->p = start;
        return json_error(errp, "expecting value");
    }
    while (g_ascii_isdigit(*r->p)) {
        r->p++;
    }
    if (*r->p == '.') {
        r->p++;
        if (!g_ascii_isdigit(*r->p)) {
            return json_error(errp, "invalid number");
        }
        while (g_ascii_isdigit(*r->p)) {
            r->p++;
        }
    }
    if (*r->p == 'e' || *r->p == 'E') {
        r->p++;
        if (*r->p == '+' || *r->p == '-') {
            r->p++;
        }
        if (!g_ascii_isdigit(*r->p)) {
            return json_error(errp, "invalid number");
        }
        while (g_ascii_isdigit(*r->p)) {
            r->p++;
        }
    }
    *kind = JSON_NUMBER;
    *text = g_strndup(start, r->p - start);
    return true;
}

static bool json_skip_value(struct json_reader *r, GError **errp)
{
    enum json_kind kind;
    char *text = NULL;
    bool ok = json_scalar(r, &kind, &text, errp);

    g_free(text);
    return ok;
}

/* Reads the whole argument as one object into r->members. */
static bool json_parse_object(struct json_reader *r, GError **errp)
{
    json_ws(r);
    if (*r->p != '{') {
        return json_error(errp, "expecting '{'");
    }
    r->p++;
    json_ws(r);
    if (*r->p == '}') {
        r->p++;
    } else {
        for (;;) {
            struct json_member *m;
            char *key = NULL;

            json_ws(r);
            if (*r->p != '"' && *r->p != '\'') {
                return json_error(errp, "expecting string as key");
            }
            if (!json_string(r, &key, errp)) {
                return false;
            }
            json_ws(r);
            if (*r->p != ':') {
                g_free(key);
                return json_error(errp, "missing : in object pair");
            }
            r->p++;
            m = g_new0(struct json_member, 1);
            m->key = key;
            g_ptr_array_add(r->members, m);
            if (!json_scalar(r, &m->kind, &m->text, errp)) {
                return false;
            }
            json_ws(r);
            if (*r->p == ',') {
                r->p++;
                continue;
            }
            if (*r->p == '}') {
                r->p++;
                break;
            }
            return json_error(errp, "expecting ',' or '}'");
        }
    }
    json_ws(r);
    if (*r->p) {
        return json_error(errp, "unexpected text after the object");
    }
    return true;
}

/* Checks a JSON-typed value against the property, QEMU's input-visitor
 * wording, and returns its text form. */
static char *prop_check_json(const struct dev_prop *p, const struct json_member *m,
                             GError **errp)
{
    if (prop_is_uint(p->type) || p->type == DEV_PROP_SIZE) {
        uint64_t v;

        if (m->kind != JSON_NUMBER || parse_uint(m->text, &v) < 0 ||
            (m->text[0] == '0' && m->text[1])) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects uint64",
                        p->name);
            return NULL;
        }
        if (v > prop_max(p->type)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects %s",
                        p->name, prop_ctype(p->type));
            return NULL;
        }
        return g_strdup(m->text);
    }
    if (p->type == DEV_PROP_BOOL) {
        if (m->kind != JSON_BOOL) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects boolean",
                        p->name);
            return NULL;
        }
        return g_strdup(m->text);
    }
    if (m->kind != JSON_STRING) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' expects string",
                    p->name);
        return NULL;
    }
    return g_strdup(m->text);
}

/* -------- Building a dev_config. -------- */

/* QEMU's rule for id=: a letter, then letters, digits, '-', '.', '_'. */
static bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(*id)) {
        return false;
    }
    for (id++; *id; id++) {
        if (!g_ascii_isalnum(*id) && !strchr("-._", *id)) {
            return false;
        }
    }
    return true;
}

static const struct device_type *find_driver(const char *name, GError **errp)
{
    const struct device_type *t;

    if (!name || !*name) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'driver' is missing");
        return NULL;
    }
    t = device_type_find(name);
    if (!t) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "'%s' is not a valid device model name", name);
    }
    return t;
}

static const struct device_type *find_buildable(const char *name, GError **errp)
{
    const struct device_type *t = find_driver(name, errp);

    if (t && !t->realize) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "device '%s' is not supported yet", t->name);
        return NULL;
    }
    return t;
}

/* Properties every device takes that hyvm does not act on yet. */
static bool generic_unsupported(const char *key)
{
    return !strcmp(key, "bus") || !strcmp(key, "failover_pair_id") ||
           !strcmp(key, "hotplugged") || !strcmp(key, "hotpluggable");
}

static bool check_prop_name(const struct device_type *t, const char *key,
                            const struct dev_prop **out, GError **errp)
{
    if (generic_unsupported(key)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "property '%s' of %s is not supported yet", key, t->name);
        return false;
    }
    *out = prop_find(t, key);
    if (!*out) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Property '%s.%s' not found",
                    t->name, key);
        return false;
    }
    return true;
}

static bool check_id(const char *id, GError **errp)
{
    if (!id_wellformed(id)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Parameter 'id' expects an identifier");
        return false;
    }
    return true;
}

static struct dev_config *dev_config_from_json(const char *optarg, GError **errp)
{
    struct json_reader r = { .p = optarg, .members = g_ptr_array_new_with_free_func(
                                              json_member_free) };
    const struct json_member *driver = NULL, *id = NULL;
    struct dev_config *c = NULL;
    GArray *props;

    if (!json_parse_object(&r, errp)) {
        goto out;
    }
    for (unsigned i = 0; i < r.members->len; i++) {
        const struct json_member *m = g_ptr_array_index(r.members, i);

        if (!strcmp(m->key, "driver")) {
            driver = m;
        } else if (!strcmp(m->key, "id")) {
            id = m;
        }
    }
    if (driver && driver->kind != JSON_STRING) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'driver' expects string");
        goto out;
    }
    c = g_new0(struct dev_config, 1);
    c->type = find_buildable(driver ? driver->text : NULL, errp);
    if (!c->type) {
        goto fail;
    }
    if (id) {
        if (id->kind != JSON_STRING) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'id' expects string");
            goto fail;
        }
        if (!check_id(id->text, errp)) {
            goto fail;
        }
        c->id = g_strdup(id->text);
    }
    props = g_array_new(FALSE, FALSE, sizeof(struct kv_pair));
    c->props = g_new0(struct kv_list, 1);
    for (unsigned i = 0; i < r.members->len; i++) {
        const struct json_member *m = g_ptr_array_index(r.members, i);
        const struct dev_prop *p;
        struct kv_pair kv;

        if (m == driver || m == id || !strcmp(m->key, "driver") || !strcmp(m->key, "id")) {
            continue;
        }
        if (!check_prop_name(c->type, m->key, &p, errp) ||
            !(kv.value = prop_check_json(p, m, errp))) {
            c->props->n = props->len;
            c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
            goto fail;
        }
        kv.key = g_strdup(m->key);
        g_array_append_val(props, kv);
    }
    c->props->n = props->len;
    c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
    goto out;

fail:
    dev_config_free(c);
    c = NULL;
out:
    g_ptr_array_free(r.members, TRUE);
    return c;
}

static struct dev_config *dev_config_from_keyval(const char *optarg, GError **errp)
{
    struct kv_list *kv = kv_parse(optarg, "driver", errp);
    struct dev_config *c;
    GArray *props;

    if (!kv) {
        return NULL;
    }
    c = g_new0(struct dev_config, 1);
    c->type = find_buildable(kv_get(kv, "driver"), errp);
    if (!c->type) {
        goto fail;
    }
    props = g_array_new(FALSE, FALSE, sizeof(struct kv_pair));
    c->props = g_new0(struct kv_list, 1);
    for (unsigned i = 0; i < kv->n; i++) {
        const struct kv_pair *in = &kv->items[i];
        const struct dev_prop *p;
        struct kv_pair out;

        if (!strcmp(in->key, "driver")) {
            continue;
        }
        if (!strcmp(in->key, "id")) {
            if (!check_id(in->value, errp)) {
                goto fail_props;
            }
            g_free(c->id);
            c->id = g_strdup(in->value);
            continue;
        }
        if (!check_prop_name(c->type, in->key, &p, errp) ||
            !(out.value = prop_check_text(p, in->value, errp))) {
            goto fail_props;
        }
        out.key = g_strdup(in->key);
        g_array_append_val(props, out);
    }
    c->props->n = props->len;
    c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
    kv_free(kv);
    return c;

fail_props:
    c->props->n = props->len;
    c->props->items = (struct kv_pair *)g_array_free(props, FALSE);
fail:
    kv_free(kv);
    dev_config_free(c);
    return NULL;
}

struct dev_config *dev_config_parse(const char *optarg, GError **errp)
{
    const char *p = optarg;

    /* QEMU takes the JSON form when the argument starts with '{'. */
    while (*p == ' ' || *p == '\t' || *p == '\n') {
        p++;
    }
    return *p == '{' ? dev_config_from_json(optarg, errp)
                     : dev_config_from_keyval(optarg, errp);
}

void dev_config_free(struct dev_config *c)
{
    if (!c) {
        return;
    }
    g_free(c->id);
    kv_free(c->props);
    g_free(c);
}

/* -------- -global -------- */

struct device_global {
    const struct device_type *type;
    char *prop;
    char *value;
};

static GPtrArray *device_globals;   /* struct device_global *, in command-line order */

static void device_global_free(gpointer data)
{
    struct device_global *g = data;

    g_free(g->prop);
    g_free(g->value);
    g_free(g);
}

/* "DRIVER.PROP=VALUE", or driver=,property=,value= as QEMU also takes. */
int device_global_add(const char *optarg, GError **errp)
{
    g_autofree char *driver = NULL, *prop = NULL, *value = NULL;
    const char *eq = strchr(optarg, '=');
    const struct device_type *t;
    const struct dev_prop *p;
    struct device_global *g;
    char *checked;

    if (eq && g_str_has_prefix(optarg, "driver=")) {
        struct kv_list *kv = kv_parse(optarg, NULL, errp);

        if (!kv) {
            return -EINVAL;
        }
        for (unsigned i = 0; i < kv->n; i++) {
            const char *k = kv->items[i].key;

            if (strcmp(k, "driver") && strcmp(k, "property") && strcmp(k, "value")) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid parameter '%s'", k);
                kv_free(kv);
                return -EINVAL;
            }
        }
        driver = g_strdup(kv_get(kv, "driver"));
        prop = g_strdup(kv_get(kv, "property"));
        value = g_strdup(kv_get(kv, "value"));
        kv_free(kv);
        if (!prop || !value) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter '%s' is missing",
                        !prop ? "property" : "value");
            return -EINVAL;
        }
    } else {
        const char *dot = strchr(optarg, '.');

        if (!eq || !dot || dot > eq || dot == optarg || dot + 1 == eq) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Invalid format: expected DRIVER.PROPERTY=VALUE");
            return -EINVAL;
        }
        driver = g_strndup(optarg, dot - optarg);
        prop = g_strndup(dot + 1, eq - dot - 1);
        value = g_strdup(eq + 1);
    }
    t = find_driver(driver, errp);
    if (!t || !check_prop_name(t, prop, &p, errp)) {
        return -EINVAL;
    }
    checked = prop_check_text(p, value, errp);
    if (!checked) {
        return -EINVAL;
    }
    if (!device_globals) {
        device_globals = g_ptr_array_new_with_free_func(device_global_free);
    }
    g = g_new0(struct device_global, 1);
    g->type = t;
    g->prop = g_steal_pointer(&prop);
    g->value = checked;
    g_ptr_array_add(device_globals, g);
    return 0;
}

void device_globals_clear(void)
{
    if (device_globals) {
        g_ptr_array_free(device_globals, TRUE);
        device_globals = NULL;
    }
}

/* -device's value, else the last -global for it, else the table default. */
static const char *dev_config_lookup(const struct dev_config *c, const char *name)
{
    const struct dev_prop *p;
    const char *v = c->props ? kv_get(c->props, name) : NULL;

    if (v) {
        return v;
    }
    for (unsigned i = device_globals ? device_globals->len : 0; i-- > 0;) {
        const struct device_global *g = g_ptr_array_index(device_globals, i);

        if (g->type == c->type && !strcmp(g->prop, name)) {
            return g->value;
        }
    }
    p = prop_find(c->type, name);
    return p ? p->defval : NULL;
}

uint64_t dev_config_uint(const struct dev_config *c, const char *name)
{
    const char *v = dev_config_lookup(c, name);
    uint64_t n = 0;

    if (v && parse_uint(v, &n) < 0) {
        n = 0;
    }
    return n;
}

bool dev_config_bool(const struct dev_config *c, const char *name)
{
    const char *v = dev_config_lookup(c, name);
    bool b = false;

    return v && parse_bool(v, &b) && b;
}

const char *dev_config_str(const struct dev_config *c, const char *name)
{
    return dev_config_lookup(c, name);
}
