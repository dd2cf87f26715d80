/*
 * -kernel, -initrd, -append, -bios, -L, -boot and -rtc: what the guest
 * boots and the clock it starts with.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <stdio.h>
#include <string.h>

#include "machine/machine.h"
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
        for (unsigned i = 0; firmware_data_dirs[i]; i++) {
            printf("%s\n", firmware_data_dirs[i]);
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

int opt_boot(struct parse_state *s)
{
    static const char *const keys[] = {
        "order", "once", "menu", "splash", "splash-time", "reboot-timeout", "strict", NULL,
    };
    struct kv_list *kv = opt_kv(s, "order");
    const char *k, *v;
    uint64_t n;
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
    if (((v = kv_get(kv, "splash-time")) && parse_uint(v, &n) < 0)) {
        BAD(s, "Parameter 'boot.splash-time' expects integer");
        goto out;
    }
    if (((v = kv_get(kv, "reboot-timeout")) && parse_uint(v, &n) < 0)) {
        BAD(s, "Parameter 'boot.reboot-timeout' expects integer");
        goto out;
    }
    /* order/once/strict choose among boot devices, of which -kernel is the
     * only one yet; a boot menu, splash and reboot timeout are firmware's. */
    if (((v = kv_get(kv, "menu")) && parse_bool(v, &b) && b) || kv_has(kv, "splash") ||
        kv_has(kv, "splash-time") || kv_has(kv, "reboot-timeout")) {
        NOT_YET(s, "the boot menu, splash and reboot-timeout are not supported yet");
        goto out;
    }
    if ((v = kv_get(kv, "order"))) {
        strv_set(&s->c->boot_order, v);
    }
    ret = 0;
out:
    kv_free(kv);
    return ret;
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
