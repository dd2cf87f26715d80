/*
 * QMP, the JSON monitor: a server on any chardev (-qmp, -mon mode=control),
 * each client with its own capabilities negotiation, QEMU 7.2's transcript.
 *
 * Threads: the monitors and sessions live on the main thread with the big
 * lock held.  qmp_event_emit() may also be called from a vCPU thread that
 * holds the big lock (the chardev layer's rule for front-end writes).
 */
#ifndef HYVM_QMP_H
#define HYVM_QMP_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <glib.h>
#include <json-glib/json-glib.h>

struct chardev;
struct machine;

/* Starts a QMP monitor on chr; the greeting goes to each client that connects. */
int monitor_new_qmp(struct chardev *chr, GError **errp);
void qmp_cleanup_all(void);

/*
 * Sends {"timestamp": ..., "event": name[, "data": data]} to every client
 * that has negotiated capabilities.  Takes data (may be NULL).
 */
void qmp_event_emit(const char *name, JsonObject *data);

/* ---- the pieces below, without sockets (unit tests use them) ---- */

/*
 * Cuts a byte stream into top-level JSON values by tracking braces,
 * brackets, strings and escapes; json-glib parses each value.
 */
#define QMP_INPUT_MAX (64u << 20)   /* QEMU's MAX_TOKEN_SIZE */
#define QMP_NESTING_MAX 1024        /* QEMU's MAX_NESTING */

struct json_splitter {
    GString *buf;
    unsigned depth;
    bool in_string, escape, in_scalar;
    char quote;                     /* the quote that opened the string */
    bool overflow;                  /* dropping the rest of an oversized value */
    /* One complete value (text, len), or error != NULL for a limit hit. */
    void (*emit)(void *opaque, const char *text, size_t len, const char *error);
    void *opaque;
};
void json_splitter_init(struct json_splitter *s,
                        void (*emit)(void *opaque, const char *text, size_t len,
                                     const char *error),
                        void *opaque);
void json_splitter_feed(struct json_splitter *s, const char *buf, size_t len);
void json_splitter_reset(struct json_splitter *s);
void json_splitter_destroy(struct json_splitter *s);

/* A JSON value in QEMU's spelling: ": " and ", ", \uXXXX for non-ASCII. */
char *qmp_to_json(JsonNode *node);
/* One JSON string as QEMU writes it (qemu-img's JSON output too). */
void qmp_json_append_string(GString *out, const char *s);
/*
 * Checks one JSON text as QEMU's lexer and parser would.  On an error,
 * returns NULL and sets *desc to QEMU's words ("JSON parse error, stray
 * '@'"); after a lexing error *resume < len is where QEMU's lexer would
 * start reading again, as new input.  Otherwise returns the text of the
 * first value (*resume: where a second one starts, or len) for
 * json-glib, rewritten so that nothing is lost through it: integers beyond
 * int64 stay exact (uint64) or become doubles as in QEMU, and NUL
 * characters survive (qmp-json-check.c).
 */
char *qmp_json_prepare(const char *text, size_t len, char **desc, size_t *resume);
/* The private tag of the rewritten forms (qmp-json.c). */
const char *qmp_json_marker(void);
/* True, with *v, when a string node's text is a rewritten uint64 above
 * G_MAXINT64 (a number the client sent, not a string). */
bool qmp_json_u64(const char *s, uint64_t *v);

/* One client's state: negotiation and its input splitter. */
struct qmp_session;
typedef void (*qmp_output_fn)(void *opaque, const char *text, size_t len);
struct qmp_session *qmp_session_new(qmp_output_fn out, void *opaque);
void qmp_session_free(struct qmp_session *s);
/* A new client: negotiation starts over, the greeting is sent. */
void qmp_session_open(struct qmp_session *s);
/* The client went away: drop its input and negotiation. */
void qmp_session_close(struct qmp_session *s);
void qmp_session_feed(struct qmp_session *s, const char *buf, size_t len);
/* The greeting line, without "\r\n"; g_free it. */
char *qmp_greeting(void);

#endif
