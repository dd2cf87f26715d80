/*
 * Character devices: back ends (stdio, null, file, pipe, socket, pty, mux)
 * and the front ends that use them (16550 UART, debugcon, the monitor).
 *
 * Threads: back ends live on the main thread's glib loop.  A front end writes
 * with the big lock held, from a vCPU thread or the main thread; receive
 * callbacks run on the main thread with the big lock held.
 */
#ifndef HYVM_CHARDEV_H
#define HYVM_CHARDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct chardev;

enum chr_event {
    CHR_EVENT_OPENED,   /* a client connected / the back end is ready */
    CHR_EVENT_CLOSED,   /* the client went away */
    CHR_EVENT_BREAK,    /* serial break (Ctrl-A b on the mux) */
    CHR_EVENT_MUX_IN,   /* this front end now has the mux's focus */
    CHR_EVENT_MUX_OUT,  /* this front end lost the mux's focus */
};

/*
 * A front end's end of a chardev.  Zero-initialise it; a front end with no
 * chardev (chr == NULL) discards writes.
 */
struct char_fe {
    struct chardev *chr;
    int (*can_receive)(void *opaque);   /* bytes it can take now */
    void (*receive)(void *opaque, const uint8_t *buf, int len);
    void (*event)(void *opaque, enum chr_event event);
    void *opaque;
    int mux_index;                      /* which front end of a mux, or -1 */
};

/* Attaches a front end; on a mux each call adds one more front end. */
int chr_fe_init(struct char_fe *fe, struct chardev *chr, GError **errp);
void chr_fe_set_handlers(struct char_fe *fe,
                         int (*can_receive)(void *opaque),
                         void (*receive)(void *opaque, const uint8_t *buf, int len),
                         void (*event)(void *opaque, enum chr_event event),
                         void *opaque);
/* Writes all of buf unless the back end fails; returns len or -errno. */
int chr_fe_write_all(struct char_fe *fe, const uint8_t *buf, int len);
/* Front end has room again: the back end resumes reading. */
void chr_fe_accept_input(struct char_fe *fe);
void chr_fe_deinit(struct char_fe *fe);

/*
 * -chardev BACKEND,id=ID,...: stdio (signal=on|off, mux=on), null, file
 * (path=, append=), pipe (path=), socket (path= | host=,port=; server,
 * wait, nodelay, reconnect; telnet refused as not supported yet), pty,
 * and mux=on on any of them.
 */
struct chardev *chardev_new_from_opts(const char *optarg, GError **errp);
/*
 * The short spelling of -serial/-monitor/-qmp: "stdio", "mon:stdio", "null",
 * "none" (returns NULL with no error), "file:PATH", "pipe:PATH", "pty",
 * "unix:PATH[,server=on,wait=off]", "tcp:HOST:PORT[,server,nowait]",
 * "chardev:ID".  label names the new chardev ("serial0", "monitor0").
 */
struct chardev *chardev_new_from_cli(const char *spec, const char *label,
                                     GError **errp);
struct chardev *chardev_find(const char *id);
const char *chardev_label(const struct chardev *chr);
/* The backend= name: "socket", "null", "stdio", "mux", ... */
const char *chardev_backend_name(const struct chardev *chr);
/* True for a mux created by "mon:" or mux=on (the monitor joins it). */
bool chardev_is_mux(const struct chardev *chr);

/*
 * Calls cb for every live chardev in creation order (query-chardev,
 * info chardev).  Main thread, big lock held.
 */
void chardev_foreach(void (*cb)(struct chardev *chr, void *opaque), void *opaque);
/* QEMU's "filename" of chr: "stdio", "null", "file", "pipe", "mux",
 * "pty:/dev/pts/N", "unix:PATH,server=on" (prefixed "disconnected:" while
 * no client is connected); g_free it. */
char *chardev_filename(struct chardev *chr);
/* query-chardev's "frontend-open": a front end is attached. */
bool chardev_frontend_open(struct chardev *chr);

/* Closes every back end and restores the terminal; safe to call twice. */
void chardev_cleanup_all(void);
/* Terminal restore only, for signal/abort paths (async-signal-safe). */
void chardev_restore_terminal(void);

#endif
