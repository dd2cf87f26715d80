/*
 * The network's HMP commands (see qmp-net.h), their arguments read as
 * QEMU 7.2's monitor reads them (monitor/hmp.c's "s", "s?", "b", "O" and
 * "S" types) and their replies as its monitor/hmp-cmds.c and net/slirp.c
 * print them.
 *
 * QEMU reports argument-parsing errors with error_report() while the
 * calling monitor is current: under human-monitor-command they reach
 * stderr, not the reply, so hyvm prints those with error_report() too and
 * the reply holds only 'Try "help CMD"'.
 *
 * Threads: main thread, big lock held.
 */
#include <string.h>

#include "hw/device.h"
#include "net/net.h"
#include "qapi/hmp-internal.h"
#include "qapi/qmp-net.h"
#include "system/error.h"
#include "system/keyval.h"

/* ---- HMP arguments, read as QEMU's monitor reads them ---- */

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

/* A quoted string's escapes, QEMU's get_str(); false with the message
 * on stderr when it is broken. */
static bool hmp_quoted(const char **args, GString *out)
{
    const char *p = *args + 1;

    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            g_string_append_c(out, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            g_string_append_c(out, '\n');
            break;
        case 'r':
            g_string_append_c(out, '\r');
            break;
        case '\\':
        case '\'':
        case '"':
            g_string_append_c(out, *p);
            break;
        default:
            error_report("unsupported escape code: '\\%c'", *p ? *p : ' ');
            return false;
        }
    }
    if (*p != '"') {
        error_report("unterminated string");
        return false;
    }
    *args = p + 1;
    return true;
}

/*
 * The next string argument (a word, or a quoted string), as QEMU's "s"
 * argument type: NULL with "CMD: string expected" when there is none.
 */
static char *hmp_str_arg(struct hmp_ctx *x, const char **args)
{
    const char *p = skip_blanks(*args), *start = p;
    g_autoptr(GString) s = g_string_new(NULL);
    bool ok = *p != 0;

    if (ok && *p == '"') {
        ok = hmp_quoted(&p, s);
    } else {
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            p++;
        }
        g_string_append_len(s, start, p - start);
    }
    if (!ok) {
        hmp_printf(x, "%s: string expected\n", x->cmd->name);
        hmp_try_help(x);
        return NULL;
    }
    *args = p;
    return g_strdup(s->str);
}

/* An optional string argument ("s?"): NULL and nothing printed when the
 * line is over. */
static bool hmp_opt_str_arg(struct hmp_ctx *x, const char **args, char **out)
{
    *out = NULL;
    if (!*skip_blanks(*args)) {
        return true;
    }
    *out = hmp_str_arg(x, args);
    return *out != NULL;
}

/* Error: MESSAGE, as QEMU's hmp_handle_error(). */
static void hmp_net_error(struct hmp_ctx *x, GError *err)
{
    hmp_printf(x, "Error: %s\n", err->message);
    g_error_free(err);
}

/* ---- HMP commands ---- */

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(*list, s)) {
            return true;
        }
    }
    return false;
}

static bool is_help(const char *s)
{
    return s && (!strcmp(s, "help") || !strcmp(s, "?"));
}

static void hmp_netdev_help(struct hmp_ctx *x)
{
    g_autoptr(GString) out = g_string_new(NULL);

    net_netdev_help(out);
    hmp_puts(x, out->str);
}

/*
 * QEMU reads the options while parsing the line (errors on stderr, then
 * 'Try "help netdev_add"'), a bad or taken id included; the rest fails
 * in the command with "Error: ...".
 */
static struct kv_list *hmp_netdev_opts(struct hmp_ctx *x, const char **args)
{
    g_autofree char *str = NULL;
    struct kv_list *kv;
    const char *id;
    GError *err = NULL;

    if (!*skip_blanks(*args)) {
        return kv_parse("", "type", NULL);
    }
    str = hmp_str_arg(x, args);
    if (!str) {
        return NULL;
    }
    kv = kv_parse(str, "type", &err);
    if (!kv) {
        error_report_err(err);
        hmp_try_help(x);
        return NULL;
    }
    id = kv_get(kv, "id");
    if (id && !device_id_wellformed(id)) {
        error_report("Parameter 'id' expects an identifier");
    } else if (id && net_netdev_find(id)) {
        error_report("Duplicate ID '%s' for netdev", id);
    } else {
        return kv;
    }
    hmp_try_help(x);
    kv_free(kv);
    return NULL;
}

void hmp_netdev_add(struct hmp_ctx *x, const char *args)
{
    struct kv_list *kv = hmp_netdev_opts(x, &args);
    const char *type;
    GError *err = NULL;

    if (!kv) {
        return;
    }
    if (!hmp_no_args(x, args)) {
        goto out;
    }
    type = kv_get(kv, "type");
    if (is_help(type)) {
        hmp_netdev_help(x);
    } else if (!kv_get(kv, "id")) {
        hmp_puts(x, "Error: Parameter 'id' is missing\n");
    } else if (type && !in_list(type, qmp_net_netdev_types)) {
        hmp_printf(x, "Error: Parameter 'type' does not accept value '%s'\n", type);
    } else if (type && (!strcmp(type, "nic") || !strcmp(type, "none"))) {
        hmp_printf(x, "Error: network backend '%s' is not compiled into this binary\n", type);
    } else if (net_netdev_add(kv, &err) < 0) {
        hmp_net_error(x, err);
    }
out:
    kv_free(kv);
}

void hmp_netdev_del(struct hmp_ctx *x, const char *args)
{
    g_autofree char *id = hmp_str_arg(x, &args);
    GError *err = NULL;

    if (!id || !hmp_no_args(x, args)) {
        return;
    }
    if (!net_netdev_find(id)) {
        hmp_printf(x, "Error: Device '%s' not found\n", id);
        return;
    }
    if (net_netdev_del(id, &err) < 0) {
        hmp_net_error(x, err);
    }
}

/* "b" arguments: exactly on or off. */
static bool hmp_on_off_arg(struct hmp_ctx *x, const char **args, bool *on)
{
    const char *p = skip_blanks(*args), *start = p;

    while (*p > ' ' && *p < 0x7f) {
        p++;
    }
    if (p - start == 2 && !strncmp(start, "on", 2)) {
        *on = true;
    } else if (p - start == 3 && !strncmp(start, "off", 3)) {
        *on = false;
    } else {
        hmp_puts(x, "Expected 'on' or 'off'\n");
        hmp_try_help(x);
        return false;
    }
    *args = p;
    return true;
}

void hmp_set_link(struct hmp_ctx *x, const char *args)
{
    g_autofree char *name = hmp_str_arg(x, &args);
    GError *err = NULL;
    bool up;

    if (!name || !hmp_on_off_arg(x, &args, &up) || !hmp_no_args(x, args)) {
        return;
    }
    if (!qmp_net_client_find(name)) {
        hmp_printf(x, "Error: Device '%s' not found\n", name);
        return;
    }
    if (net_set_link(name, up, &err) < 0) {
        hmp_net_error(x, err);
    }
}

/* "hostfwd_add [netdev_id] rule": with one argument it is the rule. */
static bool hmp_hostfwd_args(struct hmp_ctx *x, const char **args, char **netdev, char **rule)
{
    char *first = hmp_str_arg(x, args), *second = NULL;

    if (!first || !hmp_opt_str_arg(x, args, &second) || !hmp_no_args(x, *args)) {
        g_free(first);
        g_free(second);
        return false;
    }
    *netdev = second ? first : NULL;
    *rule = second ? second : first;
    return true;
}

void hmp_hostfwd_add(struct hmp_ctx *x, const char *args)
{
    g_autofree char *netdev = NULL, *rule = NULL;
    GError *err = NULL;

    if (!hmp_hostfwd_args(x, &args, &netdev, &rule)) {
        return;
    }
    /* QEMU prints these with error_report(): no "Error: ". */
    if (net_user_hostfwd_add(netdev, rule, &err) < 0) {
        hmp_printf(x, "%s\n", err->message);
        g_error_free(err);
    }
}

void hmp_hostfwd_remove(struct hmp_ctx *x, const char *args)
{
    g_autofree char *netdev = NULL, *rule = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    GError *err = NULL;

    if (!hmp_hostfwd_args(x, &args, &netdev, &rule)) {
        return;
    }
    if (net_user_hostfwd_remove(netdev, rule, out, &err) < 0) {
        hmp_puts(x, out->str);
        hmp_printf(x, "%s\n", err->message);
        g_error_free(err);
        return;
    }
    hmp_puts(x, out->str);
}

/* QEMU's "object_add filter-dump,help". */
static const char filter_dump_help[] =
    "filter-dump options:\n"
    "  file=<string>\n"
    "  insert=<string>\n"
    "  maxlen=<uint32>\n"
    "  netdev=<string>\n"
    "  position=<string>\n"
    "  queue=<NetFilterDirection>\n"
    "  status=<string>\n";

static void hmp_object_help(struct hmp_ctx *x)
{
    hmp_puts(x, "List of user creatable objects:\n");
    for (const char *const *t = qmp_net_object_types; *t; t++) {
        hmp_printf(x, "  %s%s\n", *t, strcmp(*t, "filter-dump") ? " (not supported yet)" : "");
    }
}

void hmp_object_add(struct hmp_ctx *x, const char *args)
{
    const char *p = skip_blanks(args);
    struct kv_list *kv;
    const char *type;
    GError *err = NULL;

    /* "S": the rest of the line. */
    if (!*p) {
        hmp_printf(x, "%s: string expected\n", x->cmd->name);
        hmp_try_help(x);
        return;
    }
    kv = kv_parse(p, "qom-type", &err);
    if (!kv) {
        hmp_net_error(x, err);
        return;
    }
    type = kv_get(kv, "qom-type");
    /* QEMU's keyval has no empty implied value: ",id=x" names key "". */
    if (type && !*type) {
        hmp_puts(x, "Error: Invalid parameter ''\n");
    } else if (is_help(type)) {
        hmp_object_help(x);
    } else if (type && kv_has(kv, "help") && !strcmp(type, "filter-dump")) {
        hmp_puts(x, filter_dump_help);
    } else if (!qmp_net_object_check(kv, &err) || net_filter_add(kv, &err) < 0) {
        hmp_net_error(x, err);
    }
    kv_free(kv);
}

void hmp_object_del(struct hmp_ctx *x, const char *args)
{
    g_autofree char *id = hmp_str_arg(x, &args);
    GError *err = NULL;

    if (!id || !hmp_no_args(x, args)) {
        return;
    }
    if (qmp_net_object_del_rng(id, &err) || net_filter_del(id, &err) < 0) {
        hmp_net_error(x, err);
    }
}

void hmp_info_network(struct hmp_ctx *x, const char *args)
{
    g_autoptr(GString) out = g_string_new(NULL);

    if (hmp_no_args(x, args)) {
        net_info_network(out);
        hmp_puts(x, out->str);
    }
}

void hmp_info_usernet(struct hmp_ctx *x, const char *args)
{
    g_autoptr(GString) out = g_string_new(NULL);

    if (hmp_no_args(x, args)) {
        net_user_info_usernet(out);
        hmp_puts(x, out->str);
    }
}
