/*
 * The human monitor (HMP): QEMU's "(qemu) " prompt on a chardev, the
 * command table and hmp_execute(), which QMP's human-monitor-command and the
 * interactive monitor share.  A command prints into a GString (struct
 * hmp_ctx); the monitor then writes that to its chardev.  The info
 * subcommands live in hmp-info.c, x and xp in hmp-mem.c, the network's
 * commands in hmp-net.c.
 *
 * Line editing is the minimum a person needs: printable characters are
 * echoed, backspace (DEL or ^H) erases one, ^U erases the line, Enter runs
 * it, and terminal escape sequences (arrow keys) are swallowed.  Output has
 * "\n" turned into "\r\n", as QEMU's monitor does, since the terminal under
 * it is raw.
 *
 * On a mux the monitor holds its output back while it does not have the
 * focus (CHR_EVENT_MUX_OUT) and lets it out, followed by a fresh prompt,
 * when Ctrl-A c brings it back (CHR_EVENT_MUX_IN).  That is how the banner
 * printed at start-up first shows when the user switches to the monitor.
 *
 * Threads: everything runs on the main thread with the big lock held (the
 * chardev's receive and event callbacks).
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "chardev/chardev.h"
#include "hyvm-version.h"
#include "qapi/hmp-internal.h"
#include "qapi/monitor.h"
#include "qapi/qmp-balloon.h"
#include "qapi/qmp-net.h"
#include "system/error.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "machine/machine.h"
#include "accel/accel.h"

#define HMP_LINE_MAX 1024
#define HMP_HELD_MAX (64 * 1024)

enum hmp_esc {
    HMP_ESC_NONE,
    HMP_ESC_START,      /* got ESC */
    HMP_ESC_SEQ,        /* got ESC [ or ESC O: until a final byte */
};

struct hmp {
    struct char_fe fe;
    char line[HMP_LINE_MAX];
    unsigned len;
    bool last_cr;           /* a "\r\n" Enter counts once */
    enum hmp_esc esc;
    bool mux_out;           /* a mux gave the focus to another front end */
    bool reset_seen;        /* the banner went out (QEMU's name) */
    GString *held;          /* output while mux_out */
};

static GPtrArray *monitors;

/* ---- output ---- */

/* Appends s with "\n" turned into "\r\n" (the terminal under it is raw). */
static void hmp_append(GString *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *s);
    }
}

void hmp_puts(struct hmp_ctx *x, const char *s)
{
    hmp_append(x->out, s);
}

void hmp_printf(struct hmp_ctx *x, const char *fmt, ...)
{
    g_autofree char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    hmp_append(x->out, s);
}

static void hmp_write(struct hmp *h, const char *s, size_t len)
{
    if (h->mux_out) {
        if (h->held->len + len <= HMP_HELD_MAX) {
            g_string_append_len(h->held, s, len);
        }
        return;
    }
    chr_fe_write_all(&h->fe, (const uint8_t *)s, len);
}

static void hmp_term_puts(struct hmp *h, const char *s)
{
    g_autoptr(GString) out = g_string_new(NULL);

    hmp_append(out, s);
    hmp_write(h, out->str, out->len);
}

static void hmp_prompt(struct hmp *h)
{
    hmp_term_puts(h, "(qemu) ");
}

/* ---- helpers for commands ---- */

static const struct hmp_cmd hmp_cmds[];

static bool hmp_name_matches(const char *names, const char *word)
{
    g_auto(GStrv) alts = g_strsplit(names, "|", -1);

    for (unsigned i = 0; alts[i]; i++) {
        if (!strcmp(alts[i], word)) {
            return true;
        }
    }
    return false;
}

static const struct hmp_cmd *hmp_find(const struct hmp_cmd *table, const char *word)
{
    for (; table->name; table++) {
        if (hmp_name_matches(table->name, word)) {
            return table;
        }
    }
    return NULL;
}

static void hmp_print_cmd(struct hmp_ctx *x, const char *prefix, const struct hmp_cmd *c)
{
    hmp_printf(x, "%s%s %s -- %s\n", prefix, c->name, c->params, c->help);
}

/* Splits off the first word of *s; NULL when none is left. */
static char *hmp_next_word(const char **s)
{
    const char *p = *s, *start;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (!*p) {
        *s = p;
        return NULL;
    }
    start = p;
    while (*p && *p != ' ' && *p != '\t') {
        p++;
    }
    *s = p;
    return g_strndup(start, p - start);
}

void hmp_try_help(struct hmp_ctx *x)
{
    hmp_printf(x, "Try \"help %s\" for more information\n", x->typed);
}

bool hmp_no_args(struct hmp_ctx *x, const char *args)
{
    while (*args == ' ' || *args == '\t') {
        args++;
    }
    if (*args) {
        hmp_printf(x, "%s: extraneous characters at the end of line\n", x->cmd->name);
        hmp_try_help(x);
        return false;
    }
    return true;
}

unsigned hmp_cpu_count(void)
{
    struct machine *m = machine_current();

    return m && m->cpus ? m->ncpus : 0;
}

bool hmp_cpu_state(unsigned index, struct x86_cpu_state *st)
{
    struct machine *m = machine_current();
    bool running;
    int ret;

    if (index >= hmp_cpu_count() || !m->cpus[index]) {
        return false;
    }
    /* A vCPU inside KVM_RUN has no readable registers: park them all,
     * and let them go again only if the VM was running. */
    running = runstate_is_running();
    if (running) {
        cpus_pause_all();
    }
    ret = m->accel->get_state(m->cpus[index], st);
    if (running) {
        cpus_resume_all();
    }
    return ret >= 0;
}

/* ---- commands ---- */

static void hmp_help(struct hmp_ctx *x, const char *args)
{
    g_autofree char *word = hmp_next_word(&args);
    g_autofree char *sub = NULL;
    const struct hmp_cmd *c;

    if (!word) {
        for (c = hmp_cmds; c->name; c++) {
            hmp_print_cmd(x, "", c);
        }
        return;
    }
    c = hmp_find(hmp_cmds, word);
    if (!c) {
        hmp_printf(x, "unknown command: '%s'\n", word);
        return;
    }
    if (strcmp(c->name, "info")) {
        hmp_print_cmd(x, "", c);
        return;
    }
    sub = hmp_next_word(&args);
    if (sub && !hmp_find(hmp_info_cmds, sub)) {
        hmp_printf(x, "unknown command: 'info %s'\n", sub);
        return;
    }
    for (const struct hmp_cmd *i = hmp_info_cmds; i->name; i++) {
        if (!sub || hmp_name_matches(i->name, sub)) {
            hmp_print_cmd(x, "info ", i);
        }
    }
}

static void hmp_info(struct hmp_ctx *x, const char *args)
{
    g_autofree char *word = hmp_next_word(&args);
    g_autofree char *topic = NULL;
    const struct hmp_cmd *c;
    struct hmp_ctx sub;

    if (!word) {
        for (c = hmp_info_cmds; c->name; c++) {
            hmp_print_cmd(x, "info ", c);
        }
        return;
    }
    c = hmp_find(hmp_info_cmds, word);
    if (!c) {
        hmp_printf(x, "unknown command: 'info %s'\n", word);
        return;
    }
    topic = g_strdup_printf("info %s", word);
    sub = (struct hmp_ctx){ .out = x->out, .cmd = c, .typed = topic };
    c->run(&sub, args);
}

static void hmp_stop(struct hmp_ctx *x, const char *args)
{
    if (!hmp_no_args(x, args)) {
        return;
    }
    /* As QEMU: stopping a VM that is not running changes nothing. */
    if (runstate_is_running()) {
        vm_stop(RUN_STATE_PAUSED);
    }
}

static void hmp_cont(struct hmp_ctx *x, const char *args)
{
    enum run_state s = runstate_get();

    if (!hmp_no_args(x, args)) {
        return;
    }
    if (s == RUN_STATE_SHUTDOWN || s == RUN_STATE_INTERNAL_ERROR ||
        s == RUN_STATE_GUEST_PANICKED) {
        hmp_puts(x, "Error: Resetting the Virtual Machine is required\n");
        return;
    }
    vm_start();
}

static void hmp_quit(struct hmp_ctx *x, const char *args)
{
    if (hmp_no_args(x, args)) {
        vm_request_exit(0, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    }
}

static void hmp_system_reset(struct hmp_ctx *x, const char *args)
{
    if (hmp_no_args(x, args)) {
        vm_request_reset(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    }
}

static void hmp_nmi(struct hmp_ctx *x, const char *args)
{
    struct machine *m = machine_current();

    if (!hmp_no_args(x, args)) {
        return;
    }
    if (!m || !m->accel || !m->accel->vcpu_nmi) {
        hmp_printf(x, "Error: this command is not currently supported\n");
        return;
    }
    for (unsigned i = 0; i < m->ncpus && m->cpus; i++) {
        m->accel->vcpu_nmi(m->cpus[i]);
    }
}

static void hmp_system_powerdown(struct hmp_ctx *x, const char *args)
{
    if (!hmp_no_args(x, args)) {
        return;
    }
    /* The request reaches a guest through an ACPI power button (ACPI 6.5,
     * 4.8.2.2.1): -M pc has one (hw/acpi-pm.c), microvm not yet. */
    if (!vm_request_powerdown()) {
        struct machine *m = machine_current();

        hmp_printf(x, "Error: The machine '%s' has no ACPI power button in hyvm yet\n",
                   m && m->type ? m->type->name : "none");
    }
}

static void hmp_gdbserver(struct hmp_ctx *x, const char *args)
{
    g_autofree char *dev = hmp_next_word(&args);

    if (!hmp_no_args(x, args)) {
        return;
    }
    /* QEMU's replies; "none" stops a server, and none is running. */
    if (dev && !strcmp(dev, "none")) {
        hmp_puts(x, "Disabled gdbserver\n");
        return;
    }
    hmp_printf(x, "Could not open gdbserver on device '%s': "
                  "gdbserver is not supported yet\n", dev ? dev : "tcp::1234");
}

/* Sorted by name, as QEMU's help lists them; texts are QEMU's. */
static const struct hmp_cmd hmp_cmds[] = {
    { "balloon", "target", "request VM to change its memory allocation (in MB)", hmp_balloon },
    { "cont|c", "", "resume emulation", hmp_cont },
    { "gdbserver", "[device]",
      "start gdbserver on given device (default 'tcp::1234'), stop with 'none'", hmp_gdbserver },
    { "help|?", "[cmd]", "show the help", hmp_help },
    { "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
      "redirect TCP or UDP connections from host to guest (requires -net user)",
      hmp_hostfwd_add },
    { "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
      "remove host-to-guest TCP or UDP redirection", hmp_hostfwd_remove },
    { "info", "[subcommand]", "show various information about the system state", hmp_info },
    { "netdev_add",
      "[user|tap|socket|stream|dgram|vde|bridge|hubport|netmap|vhost-user],id=str"
      "[,prop=value][,...]", "add host network device", hmp_netdev_add },
    { "netdev_del", "id", "remove host network device", hmp_netdev_del },
    { "nmi", "", "inject an NMI", hmp_nmi },
    { "object_add", "[qom-type=]type,id=str[,prop=value][,...]", "create QOM object",
      hmp_object_add },
    { "object_del", "id", "destroy QOM object", hmp_object_del },
    { "quit|q", "", "quit the emulator", hmp_quit },
    { "set_link", "name on|off", "change the link status of a network adapter", hmp_set_link },
    { "stop|s", "", "stop emulation", hmp_stop },
    { "system_powerdown", "", "send system power down event", hmp_system_powerdown },
    { "system_reset", "", "reset the system", hmp_system_reset },
    { "x", "/fmt addr", "virtual memory dump starting at 'addr'", hmp_x },
    { "xp", "/fmt addr", "physical memory dump starting at 'addr'", hmp_xp },
    { NULL },
};

/* The command word ends at a blank or at the '/' of "xp/x 0". */
static char *hmp_command_word(const char **s)
{
    const char *p = *s, *start;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    start = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '/') {
        p++;
    }
    *s = p;
    return p > start ? g_strndup(start, p - start) : NULL;
}

static void hmp_run_line(GString *out, const char *line)
{
    const char *args = line;
    g_autofree char *word = hmp_command_word(&args);
    const struct hmp_cmd *c;
    struct hmp_ctx x = { .out = out };

    if (!word) {
        return;
    }
    c = hmp_find(hmp_cmds, word);
    if (!c) {
        hmp_printf(&x, "unknown command: '%s'\n", word);
        return;
    }
    x.cmd = c;
    x.typed = word;
    c->run(&x, args);
}

char *hmp_execute(const char *line)
{
    GString *out = g_string_new(NULL);

    hmp_run_line(out, line);
    return g_string_free(out, FALSE);
}

/* ---- input ---- */

static void hmp_line(struct hmp *h)
{
    g_autoptr(GString) out = g_string_new(NULL);

    hmp_run_line(out, h->line);
    hmp_write(h, out->str, out->len);
}

static void hmp_key(struct hmp *h, uint8_t ch)
{
    bool was_cr = h->last_cr;

    h->last_cr = false;
    switch (h->esc) {
    case HMP_ESC_START:
        h->esc = (ch == '[' || ch == 'O') ? HMP_ESC_SEQ : HMP_ESC_NONE;
        return;
    case HMP_ESC_SEQ:
        /* ECMA-48 5.4: parameters and intermediates, then a final byte. */
        if (ch >= 0x40 && ch <= 0x7e) {
            h->esc = HMP_ESC_NONE;
        }
        return;
    case HMP_ESC_NONE:
        break;
    }
    switch (ch) {
    case '\n':
        if (was_cr) {
            return;
        }
        /* fall through */
    case '\r':
        h->last_cr = ch == '\r';
        h->line[h->len] = 0;
        hmp_term_puts(h, "\n");
        h->len = 0;
        hmp_line(h);
        if (!vm_exit_requested()) {
            hmp_prompt(h);
        }
        return;
    case 0x7f:
    case '\b':
        if (h->len) {
            h->len--;
            hmp_term_puts(h, "\b \b");
        }
        return;
    case 0x15:      /* ^U */
        while (h->len) {
            h->len--;
            hmp_term_puts(h, "\b \b");
        }
        return;
    case 0x1b:
        h->esc = HMP_ESC_START;
        return;
    default:
        if (ch >= 0x20 && ch < 0x7f && h->len < HMP_LINE_MAX - 1) {
            char c = ch;

            h->line[h->len++] = c;
            hmp_write(h, &c, 1);
        }
        return;
    }
}

static int hmp_can_receive(void *opaque)
{
    return HMP_LINE_MAX;
}

static void hmp_receive(void *opaque, const uint8_t *buf, int len)
{
    struct hmp *h = opaque;

    for (int i = 0; i < len; i++) {
        hmp_key(h, buf[i]);
    }
}

static void hmp_restart_line(struct hmp *h)
{
    h->len = 0;
    h->esc = HMP_ESC_NONE;
    h->last_cr = false;
}

static void hmp_event(void *opaque, enum chr_event event)
{
    struct hmp *h = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        hmp_restart_line(h);
        hmp_term_puts(h, "QEMU " HYVM_QEMU_VERSION " monitor - type 'help' for more information\n");
        if (!h->mux_out) {
            hmp_prompt(h);
        }
        h->reset_seen = true;
        break;
    case CHR_EVENT_MUX_IN:
        h->mux_out = false;
        if (h->reset_seen) {
            hmp_restart_line(h);
            if (h->held->len) {
                chr_fe_write_all(&h->fe, (const uint8_t *)h->held->str, h->held->len);
                g_string_truncate(h->held, 0);
            }
            hmp_prompt(h);
        }
        break;
    case CHR_EVENT_MUX_OUT:
        if (h->reset_seen && !h->mux_out) {
            hmp_term_puts(h, "\n");
        }
        h->mux_out = true;
        break;
    case CHR_EVENT_CLOSED:
        hmp_restart_line(h);
        break;
    case CHR_EVENT_BREAK:
        break;
    }
}

int monitor_new_hmp(struct chardev *chr, GError **errp)
{
    struct hmp *h = g_new0(struct hmp, 1);
    int ret;

    h->held = g_string_new(NULL);
    ret = chr_fe_init(&h->fe, chr, errp);
    if (ret < 0) {
        g_string_free(h->held, TRUE);
        g_free(h);
        return ret;
    }
    if (!monitors) {
        monitors = g_ptr_array_new();
    }
    g_ptr_array_add(monitors, h);
    chr_fe_set_handlers(&h->fe, hmp_can_receive, hmp_receive, hmp_event, h);
    return 0;
}

void monitor_cleanup_all(void)
{
    while (monitors && monitors->len) {
        struct hmp *h = g_ptr_array_steal_index(monitors, monitors->len - 1);

        chr_fe_deinit(&h->fe);
        g_string_free(h->held, TRUE);
        g_free(h);
    }
}
