/*
 * What the back ends of chardev/ share with chardev.c: the ops table each
 * one fills, the parsed options they read, and the helpers that pass bytes
 * and events on to the front end.  Front ends use chardev/chardev.h only.
 *
 * Threads: everything here runs with the big lock held.  Back-end sources
 * (fd watches, timers) run on the main thread; ->write and ->accept_input
 * may be called from a vCPU thread.
 */
#ifndef HYVM_CHARDEV_INTERNAL_H
#define HYVM_CHARDEV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "chardev/chardev.h"

#include "system/container-of.h"

/* The options of one chardev after parsing, and where they came from. */
struct chr_opts {
    char *where;            /* "-chardev ARG" / "-serial SPEC": error prefix */
    GPtrArray *keys;
    GPtrArray *values;
};

/* The last value given for key, or NULL. */
const char *chr_opt_get(const struct chr_opts *o, const char *key);
/* A boolean option (on/off/yes/no/true/false); def when absent. */
int chr_opt_bool(const struct chr_opts *o, const char *key, bool def,
                 bool *out, GError **errp);
/* A non-negative number; def when absent. */
int chr_opt_uint(const struct chr_opts *o, const char *key, uint64_t def,
                 uint64_t *out, GError **errp);
/* Sets *errp to "WHERE: message" (code: HYVM_ERROR_FAILED/UNSUPPORTED). */
void chr_error(GError **errp, const struct chr_opts *o, int code,
               const char *fmt, ...) G_GNUC_PRINTF(4, 5);

struct chardev_ops {
    const char *name;       /* the backend= name */
    size_t size;            /* of the struct embedding struct chardev */
    /* Opens the back end; chr->id is set, nothing is registered yet. */
    int (*open)(struct chardev *chr, const struct chr_opts *o, GError **errp);
    /*
     * Writes all of buf; returns len or -errno.  A back end with nobody at
     * the other end (socket without a client, pty nobody opened) drops the
     * bytes and returns len, as a serial line without a cable would.
     */
    int (*write)(struct chardev *chr, const uint8_t *buf, int len);
    /* fe has room again: resume reading.  Optional. */
    void (*accept_input)(struct chardev *chr, struct char_fe *fe);
    /* Releases what open took; the struct itself stays (see chardev.c). */
    void (*close)(struct chardev *chr);
    /* Mux only: a front end joins, sets its handlers, leaves. */
    int (*fe_attach)(struct chardev *chr, struct char_fe *fe, GError **errp);
    void (*fe_handlers_set)(struct chardev *chr, struct char_fe *fe);
    void (*fe_detach)(struct chardev *chr, struct char_fe *fe);
    /*
     * query-chardev's "filename" in QEMU's spelling ("pty:/dev/pts/3",
     * "disconnected:unix:PATH,server=on"); g_free it.  Optional: the
     * back end's name ("null", "file") otherwise.
     */
    char *(*filename)(struct chardev *chr);
    /* Whether a front end is attached, for a back end that keeps its own
     * list (the mux).  Optional: chr->fe != NULL otherwise. */
    bool (*has_fe)(struct chardev *chr);
};

struct chardev {
    char *id;
    const struct chardev_ops *ops;
    struct char_fe *fe;     /* the one front end of a non-mux back end */
    bool be_open;           /* connected: front ends got CHR_EVENT_OPENED */
    bool closed;            /* chardev_cleanup_all() ran */
};

extern const struct chardev_ops chr_null_ops;
extern const struct chardev_ops chr_file_ops;
extern const struct chardev_ops chr_pipe_ops;
extern const struct chardev_ops chr_stdio_ops;
extern const struct chardev_ops chr_socket_ops;
extern const struct chardev_ops chr_pty_ops;
extern const struct chardev_ops chr_mux_ops;

/* Back end to front end. */
int chr_be_can_receive(struct chardev *chr);
void chr_be_receive(struct chardev *chr, const uint8_t *buf, int len);
/* OPENED/CLOSED also update chr->be_open; an event nobody hears is dropped. */
void chr_be_event(struct chardev *chr, enum chr_event event);

/* Adds an opened chardev to the registry chardev_find() searches. */
void chr_register(struct chardev *chr);
/* Creates the mux ID over base (char-mux.c); registers it. */
struct chardev *chr_mux_create(const char *id, struct chardev *base, GError **errp);

/*
 * Reading an fd into the front end: a glib watch that reads only as many
 * bytes as the front end can take and sleeps while it can take none, until
 * chr_reader_kick().  on_eof runs once on end of file or a read error
 * (err = 0 or an errno); the reader is stopped by then.
 */
struct chr_reader {
    struct chardev *chr;
    int fd;
    guint watch;            /* 0 while stopped or throttled */
    bool active;            /* started and not stopped */
    void (*on_eof)(struct chardev *chr, int err);
};
void chr_reader_start(struct chr_reader *r, struct chardev *chr, int fd,
                      void (*on_eof)(struct chardev *chr, int err));
void chr_reader_stop(struct chr_reader *r);
void chr_reader_kick(struct chr_reader *r);

/*
 * Writes all of buf to fd, waiting in poll() when it is full (the caller
 * holds the big lock, as QEMU's write_all does).  Sockets use MSG_NOSIGNAL.
 * Returns len or -errno.
 */
int chr_fd_write_all(int fd, const uint8_t *buf, int len, bool is_socket);

#endif
