/*
 * The QMP server: sessions (one per connected client) and the monitors
 * that put a session on a chardev, the greeting, capabilities negotiation,
 * the checks QEMU makes on each input before dispatch, and events.
 *
 * The transcript follows QEMU 7.2 byte for byte: one reply per line ending
 * in "\r\n", members in the order QEMU prints them ({"return", "id"} but
 * {"id", "error"}), events as {"timestamp", "event", "data"}.  An event a
 * command causes goes out before the command's return, since handlers emit
 * it synchronously.
 *
 * Threads: main thread with the big lock held; qmp_event_emit() also from
 * a vCPU thread, which takes the big lock if it does not hold it.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "chardev/chardev.h"
#include "hyvm-version.h"
#include "qapi/qmp-internal.h"
#include "system/main-loop.h"
#include "system/runstate.h"

struct qmp_session {
    struct json_splitter split;
    bool negotiated;
    bool open;
    qmp_output_fn out;
    void *opaque;
};

struct qmp_monitor {
    struct char_fe fe;
    struct qmp_session *session;
};

static void on_runstate(void *opaque, enum run_state old, enum run_state now);
static void on_vm_request(void *opaque, enum vm_request req, enum shutdown_cause cause);

static GPtrArray *sessions;     /* struct qmp_session *: every open one */
static GPtrArray *monitors;     /* struct qmp_monitor * */
static bool listeners_added;

G_DEFINE_QUARK(hyvm-qmp-error-quark, qmp_error)

const char *qmp_error_class_name(int code)
{
    static const char *const names[] = {
        [QMP_ERROR_GENERIC] = "GenericError",
        [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
        [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
        [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
        [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
    };

    if (code < 0 || code >= (int)G_N_ELEMENTS(names) || !names[code]) {
        return "GenericError";
    }
    return names[code];
}

/* ---- output ---- */

static void session_send(struct qmp_session *s, JsonObject *obj)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), obj);
    g_autofree char *text = qmp_to_json(node);
    g_autofree char *line = g_strconcat(text, "\r\n", NULL);

    s->out(s->opaque, line, strlen(line));
    json_node_unref(node);
}

static JsonObject *version_object(void)
{
    JsonObject *v = json_object_new();
    JsonObject *q = json_object_new();
    unsigned major = 0, minor = 0, micro = 0;

    sscanf(HYVM_QEMU_VERSION, "%u.%u.%u", &major, &minor, &micro);
    json_object_set_int_member(q, "micro", micro);
    json_object_set_int_member(q, "minor", minor);
    json_object_set_int_member(q, "major", major);
    json_object_set_object_member(v, "qemu", q);
    json_object_set_string_member(v, "package", "hyvm " HYVM_VERSION);
    return v;
}

JsonNode *qmp_version_node(void)
{
    return json_node_init_object(json_node_alloc(), version_object());
}

static JsonObject *greeting_object(void)
{
    JsonObject *g = json_object_new();
    JsonObject *qmp = json_object_new();
    JsonArray *caps = json_array_new();

    json_object_set_object_member(qmp, "version", version_object());
    json_array_add_string_element(caps, "oob");
    json_object_set_array_member(qmp, "capabilities", caps);
    json_object_set_object_member(g, "QMP", qmp);
    return g;
}

char *qmp_greeting(void)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), greeting_object());
    char *text = qmp_to_json(node);

    json_node_unref(node);
    return text;
}

static void send_error(struct qmp_session *s, JsonNode *id, int cls, const char *desc)
{
    JsonObject *reply = json_object_new();
    JsonObject *err = json_object_new();

    if (id) {
        json_object_set_member(reply, "id", json_node_copy(id));
    }
    json_object_set_string_member(err, "class", qmp_error_class_name(cls));
    json_object_set_string_member(err, "desc", desc);
    json_object_set_object_member(reply, "error", err);
    session_send(s, reply);
    json_object_unref(reply);
}

static void send_return(struct qmp_session *s, JsonNode *id, JsonNode *ret)
{
    JsonObject *reply = json_object_new();

    json_object_set_member(reply, "return", ret);
    if (id) {
        json_object_set_member(reply, "id", json_node_copy(id));
    }
    session_send(s, reply);
    json_object_unref(reply);
}

/* ---- input ---- */

static bool node_is_string(JsonNode *n)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

/* One top-level value from the splitter, or a limit error. */
static void session_handle(void *opaque, const char *text, size_t len, const char *error)
{
    struct qmp_session *s = opaque;
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *copy = NULL;
    JsonObject *req, *args;
    JsonNode *root, *id, *exec, *argn, *ret;
    const struct qmp_command *cmd;
    const char *name;
    g_autoptr(GList) members = NULL;
    g_autoptr(JsonObject) empty = NULL;

    if (error) {
        send_error(s, NULL, QMP_ERROR_GENERIC, error);
        return;
    }
    {
        char *desc = NULL;
        size_t resume;

        copy = qmp_json_prepare(text, len, &desc, &resume);
        if (!copy) {
            send_error(s, NULL, QMP_ERROR_GENERIC, desc);
            g_free(desc);
            if (resume < len) {
                /* What follows a lexing error is read as fresh input, as
                 * QEMU does; a value it leaves unfinished is dropped. */
                struct json_splitter rest;

                json_splitter_init(&rest, session_handle, s);
                json_splitter_feed(&rest, text + resume, len - resume);
                json_splitter_destroy(&rest);
            }
            return;
        }
    }
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, copy, -1, &err)) {
        /* The check above accepts only what json-glib reads; this is a
         * backstop that still answers in QEMU's words. */
        g_autofree char *desc = qmp_parse_error_desc(err, text, len);

        send_error(s, NULL, QMP_ERROR_GENERIC, desc);
        return;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        send_error(s, NULL, QMP_ERROR_GENERIC, "QMP input must be a JSON object");
        return;
    }
    req = json_node_get_object(root);
    id = json_object_get_member(req, "id");
    /* QEMU's qmp_dispatch_check_obj(): members first, in input order. */
    members = json_object_get_members(req);
    for (GList *l = members; l; l = l->next) {
        const char *m = l->data;
        JsonNode *v = json_object_get_member(req, m);

        if (!strcmp(m, "execute") || !strcmp(m, "exec-oob")) {
            if (!node_is_string(v)) {
                g_autofree char *d = g_strdup_printf(
                    "QMP input member '%s' must be a string", m);
                send_error(s, id, QMP_ERROR_GENERIC, d);
                return;
            }
        } else if (!strcmp(m, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(v)) {
                send_error(s, id, QMP_ERROR_GENERIC,
                           "QMP input member 'arguments' must be an object");
                return;
            }
        } else if (strcmp(m, "id")) {
            g_autofree char *d = g_strdup_printf("QMP input member '%s' is unexpected", m);

            send_error(s, id, QMP_ERROR_GENERIC, d);
            return;
        }
    }
    exec = json_object_get_member(req, "execute");
    if (!exec) {
        if (json_object_has_member(req, "exec-oob")) {
            send_error(s, id, QMP_ERROR_GENERIC,
                       "The command exec-oob does not support OOB");
            return;
        }
        send_error(s, id, QMP_ERROR_GENERIC, "QMP input lacks member 'execute'");
        return;
    }
    name = json_node_get_string(exec);
    if (!s->negotiated && strcmp(name, "qmp_capabilities")) {
        send_error(s, id, QMP_ERROR_COMMAND_NOT_FOUND,
                   "Expecting capabilities negotiation with 'qmp_capabilities'");
        return;
    }
    cmd = qmp_command_find(name);
    if (!cmd) {
        g_autofree char *d = g_strdup_printf("The command %s has not been found", name);

        send_error(s, id, QMP_ERROR_COMMAND_NOT_FOUND, d);
        return;
    }
    argn = json_object_get_member(req, "arguments");
    args = argn ? json_node_get_object(argn) : (empty = json_object_new());
    if (!qmp_check_args(cmd, args, &err)) {
        send_error(s, id, err->code, err->message);
        return;
    }
    if (!strcmp(name, "qmp_capabilities")) {
        if (s->negotiated) {
            send_error(s, id, QMP_ERROR_COMMAND_NOT_FOUND,
                       "Capabilities negotiation is already complete, command ignored");
            return;
        }
        s->negotiated = true;
    }
    ret = cmd->run(args, &err);
    if (!ret) {
        send_error(s, id, err ? err->code : QMP_ERROR_GENERIC,
                   err ? err->message : "command failed");
        return;
    }
    send_return(s, id, ret);
}

struct qmp_session *qmp_session_new(qmp_output_fn out, void *opaque)
{
    struct qmp_session *s = g_new0(struct qmp_session, 1);

    /* The events every session may receive come from the run state. */
    if (!listeners_added) {
        runstate_add_listener(on_runstate, NULL);
        runstate_add_request_listener(on_vm_request, NULL);
        listeners_added = true;
    }
    json_splitter_init(&s->split, session_handle, s);
    s->out = out;
    s->opaque = opaque;
    if (!sessions) {
        sessions = g_ptr_array_new();
    }
    g_ptr_array_add(sessions, s);
    return s;
}

void qmp_session_free(struct qmp_session *s)
{
    if (!s) {
        return;
    }
    g_ptr_array_remove(sessions, s);
    json_splitter_destroy(&s->split);
    g_free(s);
}

void qmp_session_open(struct qmp_session *s)
{
    JsonObject *g = greeting_object();

    json_splitter_reset(&s->split);
    s->negotiated = false;
    s->open = true;
    session_send(s, g);
    json_object_unref(g);
}

void qmp_session_close(struct qmp_session *s)
{
    json_splitter_reset(&s->split);
    s->negotiated = false;
    s->open = false;
}

void qmp_session_feed(struct qmp_session *s, const char *buf, size_t len)
{
    json_splitter_feed(&s->split, buf, len);
}

/* ---- events ---- */

static void event_broadcast(JsonObject *ev)
{
    for (unsigned i = 0; sessions && i < sessions->len; i++) {
        struct qmp_session *s = g_ptr_array_index(sessions, i);

        if (s->negotiated) {
            session_send(s, ev);
        }
    }
}

/*
 * Events from threads without the big lock wait here, in order, for the
 * main thread: an idle callback sends them, and qmp_cleanup_all() sends
 * what is left before the monitors close, so an event raised just before
 * the VM ends (a triple fault under -no-reboot) still reaches clients.
 */
static GMutex deferred_lock;
static GQueue deferred_events = G_QUEUE_INIT;

static void deferred_flush(void)
{
    for (;;) {
        JsonObject *ev;

        g_mutex_lock(&deferred_lock);
        ev = g_queue_pop_head(&deferred_events);
        g_mutex_unlock(&deferred_lock);
        if (!ev) {
            return;
        }
        event_broadcast(ev);
        json_object_unref(ev);
    }
}

static gboolean event_deferred(gpointer data)
{
    deferred_flush();
    return G_SOURCE_REMOVE;
}

void qmp_event_emit(const char *name, JsonObject *data)
{
    JsonObject *ev = json_object_new();
    JsonObject *ts = json_object_new();
    struct timeval tv;

    gettimeofday(&tv, NULL);
    json_object_set_int_member(ts, "seconds", tv.tv_sec);
    json_object_set_int_member(ts, "microseconds", tv.tv_usec);
    json_object_set_object_member(ev, "timestamp", ts);
    json_object_set_string_member(ev, "event", name);
    if (data) {
        json_object_set_object_member(ev, "data", data);
    }
    /*
     * A thread without the big lock (a vCPU reporting a guest poweroff)
     * must not wait for it here: the main thread may hold it while it
     * waits for that vCPU to park.  The main loop sends the event instead.
     */
    if (!bql_locked()) {
        g_mutex_lock(&deferred_lock);
        g_queue_push_tail(&deferred_events, ev);
        g_mutex_unlock(&deferred_lock);
        g_idle_add(event_deferred, NULL);
        return;
    }
    deferred_flush();       /* earlier events first */
    event_broadcast(ev);
    json_object_unref(ev);
}

static void on_runstate(void *opaque, enum run_state old, enum run_state now)
{
    if (old == RUN_STATE_RUNNING) {
        qmp_event_emit("STOP", NULL);
    } else if (now == RUN_STATE_RUNNING) {
        qmp_event_emit("RESUME", NULL);
    }
}

static const char *const cause_names[] = {
    [SHUTDOWN_CAUSE_NONE] = "none",
    [SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
    [SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal",
    [SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset",
    [SHUTDOWN_CAUSE_GUEST_PANIC] = "guest-panic",
    [SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "subsystem-reset",
    [SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
};

/* QEMU's shutdown_caused_by_guest(): the guest-* causes. */
static bool cause_is_guest(enum shutdown_cause c)
{
    return c == SHUTDOWN_CAUSE_GUEST_SHUTDOWN || c == SHUTDOWN_CAUSE_GUEST_RESET ||
           c == SHUTDOWN_CAUSE_GUEST_PANIC;
}

static void on_vm_request(void *opaque, enum vm_request req, enum shutdown_cause cause)
{
    JsonObject *data;

    if (req == VM_REQUEST_POWERDOWN) {
        qmp_event_emit("POWERDOWN", NULL);
        return;
    }
    if (req == VM_REQUEST_WATCHDOG) {
        data = json_object_new();
        json_object_set_string_member(data, "action",
                                      watchdog_action_names[runstate_actions()->watchdog]);
        qmp_event_emit("WATCHDOG", data);
        return;
    }
    if (req == VM_REQUEST_PANIC_PAUSE || req == VM_REQUEST_PANIC_POWEROFF ||
        req == VM_REQUEST_PANIC_RUN || req == VM_REQUEST_CRASHLOADED) {
        data = json_object_new();
        json_object_set_string_member(data, "action",
                                      req == VM_REQUEST_PANIC_PAUSE ? "pause"
                                      : req == VM_REQUEST_PANIC_POWEROFF ? "poweroff"
                                                                         : "run");
        qmp_event_emit(req == VM_REQUEST_CRASHLOADED ? "GUEST_CRASHLOADED"
                                                     : "GUEST_PANICKED", data);
        return;
    }
    data = json_object_new();

    json_object_set_boolean_member(data, "guest", cause_is_guest(cause));
    json_object_set_string_member(data, "reason",
                                  cause < G_N_ELEMENTS(cause_names) && cause_names[cause]
                                      ? cause_names[cause] : "none");
    qmp_event_emit(req == VM_REQUEST_RESET ? "RESET" : "SHUTDOWN", data);
}

/* ---- monitors on chardevs ---- */

static void monitor_out(void *opaque, const char *text, size_t len)
{
    struct qmp_monitor *mon = opaque;

    chr_fe_write_all(&mon->fe, (const uint8_t *)text, (int)len);
}

static int monitor_can_receive(void *opaque)
{
    return 4096;
}

static void monitor_receive(void *opaque, const uint8_t *buf, int len)
{
    struct qmp_monitor *mon = opaque;

    qmp_session_feed(mon->session, (const char *)buf, len);
}

static void monitor_event(void *opaque, enum chr_event event)
{
    struct qmp_monitor *mon = opaque;

    if (event == CHR_EVENT_OPENED) {
        qmp_session_open(mon->session);
    } else if (event == CHR_EVENT_CLOSED) {
        qmp_session_close(mon->session);
    }
}

int monitor_new_qmp(struct chardev *chr, GError **errp)
{
    struct qmp_monitor *mon = g_new0(struct qmp_monitor, 1);

    mon->session = qmp_session_new(monitor_out, mon);
    if (chr_fe_init(&mon->fe, chr, errp) < 0) {
        qmp_session_free(mon->session);
        g_free(mon);
        return -1;
    }
    if (!monitors) {
        monitors = g_ptr_array_new();
    }
    g_ptr_array_add(monitors, mon);
    chr_fe_set_handlers(&mon->fe, monitor_can_receive, monitor_receive, monitor_event, mon);
    return 0;
}

void qmp_cleanup_all(void)
{
    deferred_flush();
    for (unsigned i = 0; monitors && i < monitors->len; i++) {
        struct qmp_monitor *mon = g_ptr_array_index(monitors, i);

        chr_fe_deinit(&mon->fe);
        qmp_session_free(mon->session);
        g_free(mon);
    }
    if (monitors) {
        g_ptr_array_free(monitors, TRUE);
        monitors = NULL;
    }
}
