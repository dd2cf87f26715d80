/*
 * Choosing the accelerator, once, at start-up (DESIGN.md, "Accelerator").
 *
 * - An explicit list (-accel kvm -accel tcg, -accel kvm:tcg, -M accel=,
 *   -enable-kvm) is tried in order; each backend passed over gets one line
 *   on stderr saying why.  An explicit "kvm" takes any KVM that opens.
 * - No list is "auto": KVM only when the probe finds hardware
 *   virtualization behind it, else the software CPU, with one line saying
 *   why KVM was not used.
 *
 * The software CPU ("tcg") is a later issue; until it is built, a host
 * where KVM does not qualify has no accelerator to run on.
 *
 * Threads: main thread, at start-up.
 */
#include <stdio.h>
#include <string.h>

#include "accel/accel.h"
#include "system/error.h"

const struct accel_host_facts accel_default_host = {
    .dev_kvm = "/dev/kvm",
    .cpuinfo = "/proc/cpuinfo",
    .sys_module = "/sys/module",
};

struct accel_entry {
    const char *name;
    const struct accel_ops *ops;   /* NULL: known, not built yet */
};

static const struct accel_entry accels[] = {
    /* In QEMU's "-accel help" order. */
    { "tcg", &accel_tcg_ops },
    { "kvm", &accel_kvm_ops },
};

static const struct accel_entry *accel_find(const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(accels); i++) {
        if (!strcmp(accels[i].name, name)) {
            return &accels[i];
        }
    }
    return NULL;
}

bool accel_name_known(const char *name)
{
    return accel_find(name) != NULL;
}

/* QEMU's layout, which tools grep: a header, then one name per line. */
void accel_print_help(void)
{
    printf("Accelerators supported in QEMU binary:\n");
    for (unsigned i = 0; i < G_N_ELEMENTS(accels); i++) {
        if (accels[i].ops) {
            printf("%s\n", accels[i].name);
        }
    }
}

static const struct accel_ops *choose_auto(const struct accel_host_facts *host, GError **errp)
{
    g_autofree char *why = NULL;

    if (accel_kvm_ops.probe(host, true, &why) == 0) {
        return &accel_kvm_ops;
    }
    /* The software CPU takes over, after this one line. */
    warn_report("KVM is not used: %s; using the software CPU (tcg)", why);
    return &accel_tcg_ops;
}

const struct accel_ops *accel_choose(const char *const *names, unsigned n,
                                     const struct accel_host_facts *host, GError **errp)
{
    g_autofree char *last_why = NULL;

    if (n == 0) {
        return choose_auto(host, errp);
    }
    for (unsigned i = 0; i < n; i++) {
        const struct accel_entry *e = accel_find(names[i]);
        char *why = NULL;

        if (!e) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "invalid accelerator %s",
                        names[i]);
            return NULL;
        }
        if (!e->ops) {
            why = g_strdup_printf("accelerator %s is not supported yet", e->name);
        } else if (e->ops->probe(host, false, &why) == 0) {
            return e->ops;
        }
        g_free(last_why);
        last_why = why;
        if (i + 1 < n) {
            warn_report("%s; trying %s", why, names[i + 1]);
        }
    }
    g_set_error(errp, HYVM_ERROR, n > 1 ? HYVM_ERROR_FAILED : HYVM_ERROR_UNSUPPORTED,
                n > 1 ? "no accelerator to run on: %s" : "%s", last_why);
    return NULL;
}
