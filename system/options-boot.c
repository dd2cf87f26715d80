/*
 * -kernel, -initrd, -append, -bios, -L, -boot and -rtc: what the guest
 * boots and the clock it starts with.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "machine/machine.h"
#include "system/datadir.h"
#include "machine/smbios.h"
#include "system/config.h"
#include "system/keyval.h"
#include "system/options-internal.h"

int opt_kernel(struct parse_state *s)
{
    strv_set(&s->c->kernel, s->arg);
    return 0;
}

int opt_initrd(struct parse_state *s)
{
    strv_set(&s->c->initrd, s->arg);
    return 0;
}

int opt_append(struct parse_state *s)
{
    strv_set(&s->c->append, s->arg);
    return 0;
}

/* The image is looked up (-L may follow) and loaded when the machine is
 * built, as QEMU does (machine/pc-firmware.c). */
int opt_bios(struct parse_state *s)
{
    strv_set(&s->c->bios, s->arg);
    return 0;
}

/* -L help lists the directories searched after the -L ones, as QEMU. */
int opt_datadir(struct parse_state *s)
{
    if (!strcmp(s->arg, "help")) {
        for (unsigned i = 0; datadir_defaults[i]; i++) {
            printf("%s\n", datadir_defaults[i]);
        }
        s->done = true;
        return 0;
    }
    g_ptr_array_add(s->c->datadirs, g_strdup(s->arg));
    return 0;
}

/* Boot devices a to p as QEMU's validate_bootdevices(): a and b floppy,
 * c disk, d CD-ROM, n to p network; each at most once. */
static int check_boot_devices(struct parse_state *s, const char *devs)
{
    unsigned seen = 0;

    for (const char *p = devs; *p; p++) {
        if (*p < 'a' || *p > 'p') {
            return BAD(s, "Invalid boot device '%c'", *p);
        }
        if (seen & (1u << (*p - 'a'))) {
            return BAD(s, "Boot device '%c' was given twice", *p);
        }
        seen |= 1u << (*p - 'a');
    }
    return 0;
}

/* A decimal integer within [min, max], as QEMU's -boot numbers. */
static bool boot_number(const char *v, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    int64_t n;

    errno = 0;
    n = g_ascii_strtoll(v, &end, 0);
    if (errno || end == v || *end) {
        return false;
    }
    *out = n < min || n > max ? INT64_MIN : n;
    return true;
}

/*
 * -boot: order and once become the CMOS boot bytes (hw/rtc.c), menu,
 * splash-time and reboot-timeout fw_cfg items for SeaBIOS
 * (machine/pc-fw-cfg.c), strict the bootorder file's "HALT".  QEMU checks
 * the two times when it builds fw_cfg; its words are used here.
 */
int opt_boot(struct parse_state *s)
{
    static const char *const keys[] = {
        "order", "once", "menu", "splash", "splash-time", "reboot-timeout", "strict", NULL,
    };
    struct kv_list *kv = opt_kv(s, "order");
    const char *k, *v;
    int64_t n;
    bool b;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    k = kv_unknown_key(kv, keys);
    if (k) {
        BAD(s, "Parameter 'boot.%s' is unexpected", k);
        goto out;
    }
    if ((v = kv_get(kv, "order")) && check_boot_devices(s, v) < 0) {
        goto out;
    }
    if ((v = kv_get(kv, "once")) && check_boot_devices(s, v) < 0) {
        goto out;
    }
    if (check_bool(s, kv, "menu", "boot.") < 0 || check_bool(s, kv, "strict", "boot.") < 0) {
        goto out;
    }
    if ((v = kv_get(kv, "splash-time"))) {
        if (!boot_number(v, 0, 0xffff, &n)) {
            BAD(s, "Parameter 'boot.splash-time' expects integer");
            goto out;
        }
        if (n == INT64_MIN) {
            BAD(s, "splash-time is invalid,it should be a value between 0 and 65535");
            goto out;
        }
        s->c->boot_has_splash_time = true;
        s->c->boot_splash_time = n;
    }
    if ((v = kv_get(kv, "reboot-timeout"))) {
        if (!boot_number(v, -1, 0xffff, &n)) {
            BAD(s, "Parameter 'boot.reboot-timeout' expects integer");
            goto out;
        }
        if (n == INT64_MIN) {
            BAD(s, "reboot timeout is invalid,it should be a value between -1 and 65535");
            goto out;
        }
        s->c->boot_has_reboot_timeout = true;
        s->c->boot_reboot_timeout = n;
    }
    /* A splash picture would need a display to show it on. */
    if (kv_has(kv, "splash")) {
        NOT_YET(s, "a boot splash picture (-boot splash=) is not supported yet");
        goto out;
    }
    if ((v = kv_get(kv, "menu")) && parse_bool(v, &b)) {
        s->c->boot_menu = b;
    }
    if ((v = kv_get(kv, "strict")) && parse_bool(v, &b)) {
        s->c->boot_strict = b;
    }
    if ((v = kv_get(kv, "order"))) {
        strv_set(&s->c->boot_order, v);
    }
    if ((v = kv_get(kv, "once"))) {
        strv_set(&s->c->boot_once, v);
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
}

/* -uuid: 8-4-4-4-12 hex digits (QEMU's qemu_uuid_parse), for fw_cfg's
 * FW_CFG_UUID, SMBIOS type 1 and query-uuid. */
int opt_uuid(struct parse_state *s)
{
    static const unsigned groups[] = { 8, 4, 4, 4, 12 };
    const char *p = s->arg;
    unsigned at = 0;

    for (unsigned g = 0; g < G_N_ELEMENTS(groups); g++) {
        for (unsigned i = 0; i < groups[g]; i += 2) {
            if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1])) {
                return BAD(s, "failed to parse UUID string: wrong format");
            }
            s->c->uuid[at++] = g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]);
            p += 2;
        }
        if (g < G_N_ELEMENTS(groups) - 1 && *p++ != '-') {
            return BAD(s, "failed to parse UUID string: wrong format");
        }
    }
    if (*p) {
        return BAD(s, "failed to parse UUID string: wrong format");
    }
    s->c->has_uuid = true;
    return 0;
}

/* -smbios: checked here in QEMU's words, applied when the machine builds
 * its SMBIOS tables (machine/smbios.c). */
int opt_smbios(struct parse_state *s)
{
    GError *err = NULL;

    if (smbios_fields_parse(NULL, s->arg, &err) < 0) {
        return opt_wrap(s, err);
    }
    if (!s->c->smbios) {
        s->c->smbios = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(s->c->smbios, g_strdup(s->arg));
    return 0;
}

/* "2006-06-17T16:01:21" or "2006-06-17", the formats QEMU's -rtc takes. */
static bool rtc_date_ok(const char *v)
{
    int y, mo, d, h, mi, sec, n = -1;

    if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 &&
        n == (int)strlen(v)) {
        return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 61;
    }
    n = -1;
    if (sscanf(v, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == (int)strlen(v)) {
        return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
    }
    return false;
}

int opt_rtc(struct parse_state *s)
{
    static const char *const keys[] = { "base", "clock", "driftfix", NULL };
    static const char *const clocks[] = { "host", "rt", "vm", NULL };
    static const char *const drifts[] = { "none", "slew", NULL };
    struct kv_list *kv = opt_kv(s, "base");
    const char *base, *clock, *drift;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (check_keys(s, kv, keys) < 0) {
        goto out;
    }
    base = kv_get(kv, "base");
    clock = kv_get(kv, "clock");
    drift = kv_get(kv, "driftfix");
    if (base && strcmp(base, "utc") && strcmp(base, "localtime") && !rtc_date_ok(base)) {
        BAD(s, "invalid datetime format; valid formats: '2006-06-17T16:01:21' or "
            "'2006-06-17'");
        goto out;
    }
    if (clock && !in_list(clock, clocks)) {
        BAD(s, "invalid option value '%s'", clock);
        goto out;
    }
    if (drift && !in_list(drift, drifts)) {
        BAD(s, "invalid option value '%s'", drift);
        goto out;
    }
    /* The RTC (hw/rtc.c) does not slew lost ticks. */
    if (drift && strcmp(drift, "none")) {
        NOT_YET(s, "an RTC with driftfix=slew is not supported yet");
        goto out;
    }
    if (clock) {
        s->c->rtc_clock_vm = !strcmp(clock, "vm");
    }
    if (base) {
        strv_set(&s->c->rtc_base, base);
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
}
