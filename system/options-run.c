/*
 * Run control, naming and logs: -nodefaults, -no-reboot, -no-shutdown, -S,
 * -daemonize, -pidfile, -name, -D and -d.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <string.h>

#include "system/config.h"
#include "system/keyval.h"
#include "system/log.h"
#include "system/options-internal.h"

int opt_nodefaults(struct parse_state *s)
{
    s->c->nodefaults = true;
    s->c->default_serial = s->c->default_monitor = s->c->default_parallel = false;
    return 0;
}

int opt_no_reboot(struct parse_state *s)
{
    s->c->no_reboot = true;
    return 0;
}

int opt_no_shutdown(struct parse_state *s)
{
    s->c->no_shutdown = true;
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
