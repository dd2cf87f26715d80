/*
 * Run control, naming and logs: -nodefaults, -no-reboot, -no-shutdown,
 * -action, -watchdog-action, -S, -daemonize, -pidfile, -name, -D and -d.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <string.h>

#include "system/config.h"
#include "system/keyval.h"
#include "system/log.h"
#include "system/options-internal.h"
#include "system/vclock.h"

int opt_nodefaults(struct parse_state *s)
{
    s->c->nodefaults = true;
    s->c->default_serial = s->c->default_monitor = s->c->default_parallel = false;
    return 0;
}

/* The old spellings of -action reboot=shutdown and shutdown=pause: like
 * -action, the last of them on the command line wins. */
int opt_no_reboot(struct parse_state *s)
{
    s->c->actions.reboot = REBOOT_ACTION_SHUTDOWN;
    return 0;
}

int opt_no_shutdown(struct parse_state *s)
{
    s->c->actions.shutdown = SHUTDOWN_ACTION_PAUSE;
    return 0;
}

/* value's index in names, or -1 with QEMU's error for the key. */
static int action_value(struct parse_state *s, const char *key, const char *value,
                        const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        if (!strcmp(value, names[i])) {
            return i;
        }
    }
    return BAD(s, "Parameter '%s' does not accept value '%s'", key, value);
}

/* -action reboot=...,shutdown=...,panic=...,watchdog=... (QEMU's set-action). */
int opt_action(struct parse_state *s)
{
    static const char *const keys[] = { "reboot", "shutdown", "panic", "watchdog", NULL };
    struct kv_list *kv = opt_kv(s, NULL);
    struct vm_actions *a = &s->c->actions;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) < 0) {
        goto out;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        const char *k = kv->items[i].key, *v = kv->items[i].value;
        int val;

        if (!strcmp(k, "reboot")) {
            val = action_value(s, k, v, reboot_action_names);
            a->reboot = (enum reboot_action)val;
        } else if (!strcmp(k, "shutdown")) {
            val = action_value(s, k, v, shutdown_action_names);
            a->shutdown = (enum shutdown_action)val;
        } else if (!strcmp(k, "panic")) {
            val = action_value(s, k, v, panic_action_names);
            a->panic = (enum panic_action)val;
        } else {
            val = action_value(s, k, v, watchdog_action_names);
            a->watchdog = (enum watchdog_action)val;
        }
        if (val < 0) {
            goto out;
        }
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/*
 * -icount [shift=]N|auto[,sleep=on|off][,align=on|off]: the virtual clock
 * counts guest instructions, 2^N ns each (system/vclock.h).  As in QEMU,
 * without shift= icount stays off.
 */
int opt_icount(struct parse_state *s)
{
    static const char *const keys[] = { "shift", "align", "sleep", "rr", "rrfile",
                                        "rrsnapshot", NULL };
    struct kv_list *kv = opt_kv(s, "shift");
    const char *shift, *v;
    bool align = false, sleep = true;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) < 0 || check_bool(s, kv, "align", "") < 0 ||
        check_bool(s, kv, "sleep", "") < 0) {
        goto out;
    }
    if ((v = kv_get(kv, "align"))) {
        parse_bool(v, &align);
    }
    if ((v = kv_get(kv, "sleep"))) {
        parse_bool(v, &sleep);
    }
    shift = kv_get(kv, "shift");
    if (!shift) {
        if (kv_has(kv, "align")) {
            BAD(s, "Please specify shift option when using align");
            goto out;
        }
        ret = 0;
        goto out;
    }
    if (!strcmp(shift, "auto")) {
        s->c->icount_shift = VCLOCK_ICOUNT_AUTO;
    } else {
        uint64_t n;

        if (parse_uint(shift, &n) < 0 || n > VCLOCK_ICOUNT_MAX_SHIFT) {
            BAD(s, "icount: Invalid shift value");
            goto out;
        }
        s->c->icount_shift = (int)n;
    }
    if (align && !sleep) {
        BAD(s, "align=on and sleep=off are incompatible");
        goto out;
    }
    if (align) {
        NOT_YET(s, "icount align=on is not supported yet");
        goto out;
    }
    if (kv_has(kv, "rr") || kv_has(kv, "rrfile") || kv_has(kv, "rrsnapshot")) {
        NOT_YET(s, "record/replay is not supported yet");
        goto out;
    }
    s->c->icount = true;
    s->c->icount_sleep = sleep;
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/* -watchdog-action ACTION: -action watchdog=ACTION. */
int opt_watchdog_action(struct parse_state *s)
{
    int val = action_value(s, "watchdog", s->arg, watchdog_action_names);

    if (val < 0) {
        return -1;
    }
    s->c->actions.watchdog = (enum watchdog_action)val;
    return 0;
}

int opt_start_paused(struct parse_state *s)
{
    s->c->start_paused = true;
    return 0;
}

int opt_daemonize(struct parse_state *s)
{
    s->c->daemonize = true;
    return 0;
}

int opt_pidfile(struct parse_state *s)
{
    strv_set(&s->c->pidfile, s->arg);
    return 0;
}

int opt_name(struct parse_state *s)
{
    static const char *const keys[] = { "guest", "process", "debug-threads", NULL };
    struct kv_list *kv = opt_kv(s, "guest");
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) == 0 && check_bool(s, kv, "debug-threads", "") == 0) {
        strv_set(&s->c->name, kv_get(kv, "guest"));
        ret = 0;
    }
    kv_free(kv);
    return ret;
}

int opt_logfile(struct parse_state *s)
{
    strv_set(&s->c->logfile, s->arg);
    return 0;
}

int opt_log_items(struct parse_state *s)
{
    GError *err = NULL;

    if (!strcmp(s->arg, "help") || !strcmp(s->arg, "?")) {
        log_print_help();
        s->done = true;
        return 0;
    }
    if (log_parse_items(s->arg, &s->c->log_mask, &err) < 0) {
        return opt_wrap(s, err);
    }
    return 0;
}
