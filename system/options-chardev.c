/*
 * -chardev, -serial, -monitor, -qmp, -mon and -parallel: the character
 * devices and what sits on them; then -nographic, -display and -vga, which
 * decide where the console goes.  The chardev layer builds the backends.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <stdio.h>
#include <string.h>

#include "system/config.h"
#include "system/keyval.h"
#include "system/options-internal.h"

/* Every -chardev backend QEMU 7.2 has; the chardev layer says which of them
 * hyvm builds. */
static const char *const chardev_backends[] = {
    "null", "socket", "udp", "msmouse", "wctablet", "memory", "ringbuf", "file", "pipe",
    "stdio", "serial", "tty", "parallel", "parport", "pty", "vc", "braille", "spicevmc",
    "spiceport", "qemu-vdagent", "dbus", "testdev", NULL,
};

int opt_chardev(struct parse_state *s)
{
    struct kv_list *kv;
    const char *backend, *id;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        printf("Available chardev backend types:\n");
        for (unsigned i = 0; chardev_backends[i]; i++) {
            printf("  %s\n", chardev_backends[i]);
        }
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "backend");
    if (!kv) {
        return -1;
    }
    backend = kv_get(kv, "backend");
    id = kv_get(kv, "id");
    if (!backend || !*backend) {
        BAD(s, "chardev: \"backend\" is missing");
    } else if (!in_list(backend, chardev_backends)) {
        BAD(s, "'%s' is not a valid char driver name", backend);
    } else if (!id) {
        BAD(s, "chardev: no id specified");
    } else if (!strcmp(backend, "socket") && !kv_has(kv, "path") && !kv_has(kv, "port") &&
               !kv_has(kv, "fd")) {
        /* Caught here, before an accelerator is probed, as QEMU's own
         * parser does; the chardev layer checks the rest. */
        BAD(s, "chardev: socket needs path=PATH or host=HOST,port=PORT");
    } else if (g_hash_table_contains(s->chardev_ids, id)) {
        BAD(s, "Duplicate ID '%s' for chardev", id);
    } else {
        g_hash_table_add(s->chardev_ids, g_strdup(id));
        g_ptr_array_add(s->c->chardevs, g_strdup(s->arg));
        ret = 0;
    }
    kv_free(kv);
    return ret;
}

/*
 * The short spelling of -serial/-monitor (QEMU's qemu_chr_parse_compat):
 * "mon:" in front of any of them, then a name or "prefix:rest".  The
 * chardev layer builds it and says which forms it does not build yet.
 */
static int check_chardev_spec(struct parse_state *s, const char *spec)
{
    static const char *const words[] = {
        "none", "null", "stdio", "vc", "pty", "msmouse", "braille", "wctablet", NULL,
    };
    static const char *const prefixes[] = {
        "vc:", "file:", "pipe:", "unix:", "tcp:", "telnet:", "tn3270:", "websocket:",
        "udp:", "chardev:", "/dev/", NULL,
    };

    if (g_str_has_prefix(spec, "mon:")) {
        spec += 4;
    }
    if (in_list(spec, words)) {
        return 0;
    }
    for (unsigned i = 0; prefixes[i]; i++) {
        if (g_str_has_prefix(spec, prefixes[i])) {
            return 0;
        }
    }
    return BAD(s, "'%s' is not a valid char driver", spec);
}

int opt_serial(struct parse_state *s)
{
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    g_ptr_array_add(s->c->serials, g_strdup(s->arg));
    s->c->default_serial = false;
    return 0;
}

int opt_monitor(struct parse_state *s)
{
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    g_ptr_array_add(s->c->monitors, g_strdup(s->arg));
    s->c->default_monitor = false;
    return 0;
}

int opt_qmp(struct parse_state *s)
{
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    g_ptr_array_add(s->c->qmps, g_strdup(s->arg));
    s->c->default_monitor = false;
    return 0;
}

int opt_mon(struct parse_state *s)
{
    static const char *const keys[] = { "chardev", "mode", "pretty", "id", NULL };
    struct kv_list *kv = opt_kv(s, "chardev");
    const char *mode;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) < 0 || check_bool(s, kv, "pretty", "") < 0) {
        goto out;
    }
    mode = kv_get(kv, "mode");
    if (!kv_get(kv, "chardev")) {
        BAD(s, "Parameter 'chardev' is missing");
    } else if (mode && strcmp(mode, "readline") && strcmp(mode, "control")) {
        BAD(s, "Parameter 'mode' does not accept value '%s'", mode);
    } else {
        g_ptr_array_add(s->c->mons, g_strdup(s->arg));
        s->c->default_monitor = false;
        ret = 0;
    }
out:
    kv_free(kv);
    return ret;
}

int opt_parallel(struct parse_state *s)
{
    if (!strcmp(s->arg, "none")) {
        s->c->default_parallel = false;
        return 0;
    }
    if (check_chardev_spec(s, s->arg) < 0) {
        return -1;
    }
    return NOT_YET(s, "parallel ports are not supported yet");
}

/* -------- Display -------- */

int opt_nographic(struct parse_state *s)
{
    s->c->nographic = true;
    return 0;
}

int opt_display(struct parse_state *s)
{
    static const char *const others[] = {
        "default", "gtk", "sdl", "vnc", "curses", "egl-headless", "spice-app", "dbus",
        "cocoa", NULL,
    };
    struct kv_list *kv;
    const char *type;
    int ret = -1;

    if (!strcmp(s->arg, "help")) {
        printf("Available display backend types:\nnone\n");
        s->done = true;
        return 0;
    }
    kv = opt_kv(s, "type");
    if (!kv) {
        return -1;
    }
    type = kv_get(kv, "type");
    if (!type || (strcmp(type, "none") && !in_list(type, others))) {
        BAD(s, "Parameter 'type' does not accept value '%s'", type ? type : "");
    } else if (strcmp(type, "none")) {
        NOT_YET(s, "display '%s' is not supported yet; use -display none or -nographic",
                type);
    } else if (kv->n > 1) {
        const char *k = kv->items[0].key;

        for (unsigned i = 0; i < kv->n && !strcmp(k, "type"); i++) {
            k = kv->items[i].key;
        }
        BAD(s, "Parameter '%s' is unexpected", k);
    } else {
        strv_set(&s->c->display, "none");
        ret = 0;
    }
    kv_free(kv);
    return ret;
}

int opt_vga(struct parse_state *s)
{
    static const char *const known[] = {
        "std", "cirrus", "vmware", "qxl", "xenfb", "tcx", "cg3", "virtio", NULL,
    };

    if (!strcmp(s->arg, "help")) {
        printf("%-20s %s\n", "none", "no graphic card");
        printf("%-20s %s\n", "std", "standard VGA (default)");
        s->done = true;
        return 0;
    }
    if (!strcmp(s->arg, "none") || !strcmp(s->arg, "std")) {
        strv_set(&s->c->vga, s->arg);
        return 0;
    }
    if (!in_list(s->arg, known)) {
        return BAD(s, "unknown vga type: %s", s->arg);
    }
    return NOT_YET(s, "graphic card '%s' is not supported yet; use -vga std or -vga none",
                   s->arg);
}
