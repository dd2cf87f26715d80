/*
 * The machine types hyvm offers and what they share: the type table,
 * "-M help", -M property checks and loading -kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "accel/accel.h"
#include "machine/boot-file.h"
#include "machine/machine.h"
#include "machine/machine-internal.h"
#include "machine/linux-boot.h"
#include "machine/multiboot.h"
#include "machine/pvh.h"
#include "system/config.h"
#include "system/error.h"
#include "system/keyval.h"

static struct machine *current_machine;

struct machine *machine_current(void)
{
    return current_machine;
}

void machine_set_current(struct machine *m)
{
    current_machine = m;
}

static const struct machine_type *const machine_types[] = {
    &machine_microvm,
    &machine_pc_alias,
    &machine_pc,
};

const struct machine_type *machine_type_find(const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(machine_types); i++) {
        const struct machine_type *t = machine_types[i];

        if (!strcmp(t->name, name)) {
            return t;
        }
    }
    return NULL;
}

const struct machine_type *machine_type_at(unsigned i)
{
    return i < G_N_ELEMENTS(machine_types) ? machine_types[i] : NULL;
}

/* The type a name stands for: "pc" is an alias of "pc-i440fx-7.2". */
const struct machine_type *machine_type_resolve(const struct machine_type *t)
{
    return t->alias ? machine_type_find(t->alias) : t;
}

void machine_print_help(void)
{
    printf("Supported machines are:\n");
    for (unsigned i = 0; i < G_N_ELEMENTS(machine_types); i++) {
        const struct machine_type *t = machine_types[i];

        if (t->alias) {
            printf("%-20s %s (alias of %s)\n", t->name, t->desc, t->alias);
        } else {
            printf("%-20s %s%s\n", t->name, t->desc, t->is_default ? " (default)" : "");
        }
    }
}

void machine_print_props(const struct machine_type *t)
{
    t = machine_type_resolve(t);
    printf("%s-machine options:\n", t->name);
    for (const struct machine_prop *p = t->props; p->name; p++) {
        g_autofree char *lhs = g_strdup_printf("%s=<%s>", p->name, p->type);
        printf("  %-22s - %s%s\n", lhs, p->desc, p->supported ? "" : " (not supported yet)");
    }
}

static const struct machine_prop *prop_find(const struct machine_type *t, const char *name)
{
    for (const struct machine_prop *p = t->props; p->name; p++) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

/* Checks every -M property against the type; "type" and "accel" are the
 * option parser's.  Values of supported ones are checked by their users. */
int machine_check_props(const struct machine *m, GError **errp)
{
    const struct machine_type *t = m->type;

    for (unsigned i = 0; m->opts && i < m->opts->n; i++) {
        const struct kv_pair *kv = &m->opts->items[i];
        const struct machine_prop *p;

        if (!strcmp(kv->key, "type") || !strcmp(kv->key, "accel")) {
            continue;
        }
        p = prop_find(t, kv->key);
        if (!p) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "Property '%s-machine.%s' not found", t->name, kv->key);
            return -EINVAL;
        }
        if (!p->supported) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                        "-machine %s=%s: this property of %s is not supported yet",
                        kv->key, kv->value, t->name);
            return -ENOTSUP;
        }
        if (!strcmp(p->type, "bool") || !strcmp(p->type, "OnOffAuto")) {
            bool b;

            if (!parse_bool(kv->value, &b) &&
                !(!strcmp(p->type, "OnOffAuto") && !strcmp(kv->value, "auto"))) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                            "Parameter '%s' expects %s", kv->key,
                            !strcmp(p->type, "bool") ? "'on' or 'off'" : "'on', 'off' or 'auto'");
                return -EINVAL;
            }
        }
    }
    return 0;
}

bool machine_pit_enabled(const struct machine *m)
{
    return machine_prop_on(m, "pit", true);
}

bool machine_pic_enabled(const struct machine *m)
{
    return machine_prop_on(m, "pic", true);
}

bool machine_ioapic2_enabled(const struct machine *m)
{
    const struct machine_type *t = m->type ? machine_type_resolve(m->type) : NULL;

    if (t != &machine_microvm) {
        return false;
    }
    return machine_prop_on(m, "ioapic2", m->accel && !strcmp(m->accel->name, "tcg"));
}

/* on/off/auto property; auto and absent give dflt. */
bool machine_prop_on(const struct machine *m, const char *name, bool dflt)
{
    const char *v = m->opts ? kv_get(m->opts, name) : NULL;
    bool b;

    if (!v || !strcmp(v, "auto") || !parse_bool(v, &b)) {
        return dflt;
    }
    return b;
}

/*
 * The kernel file is mapped, not read (boot-file.h): the loaders copy from
 * the mapping what they place in RAM, and the page cache is all it costs
 * besides.
 */
int machine_load_kernel(struct machine *m, GError **errp)
{
    const char *path = m->cfg->kernel;
    g_autoptr(GError) err = NULL;
    struct boot_file f;
    int ret;

    if (!path) {
        return 0;
    }
    ret = boot_file_open(&f, path, &err);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "could not open kernel file '%s': %s", path, err->message);
        return ret;
    }
    if (multiboot_probe(f.data, f.len)) {
        ret = multiboot_load(m, path, f.data, f.len, errp);
        if (ret == 0 && m->type && m->type->kernel_loaded) {
            m->type->kernel_loaded(m);
        }
    } else if (pvh_probe(f.data, f.len)) {
        /* An ELF with Xen's PVH entry note (an uncompressed vmlinux) boots
         * there rather than as Multiboot's or Linux's. */
        ret = pvh_load(m, path, f.data, f.len, m->acpi_rsdp, errp);
        if (ret == 0 && m->type && m->type->kernel_loaded) {
            m->type->kernel_loaded(m);
        }
    } else if (linux_probe(f.data, f.len)) {
        ret = linux_load(m, path, f.data, f.len, m->acpi_rsdp, errp);
    } else {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "-kernel %s: invalid kernel header: neither a Multiboot image "
                    "nor a Linux kernel", path);
        ret = -EINVAL;
    }
    boot_file_close(&f);
    return ret;
}

struct reset_hook {
    void (*fn)(void *opaque);
    void *opaque;
};

void machine_add_reset(struct machine *m, void (*fn)(void *opaque), void *opaque)
{
    struct reset_hook h = { fn, opaque };

    if (!m->reset_hooks) {
        m->reset_hooks = g_array_new(FALSE, FALSE, sizeof(struct reset_hook));
    }
    g_array_append_val(m->reset_hooks, h);
}

void machine_reset(struct machine *m)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; m->reset_hooks && i < m->reset_hooks->len; i++) {
        const struct reset_hook *h = &g_array_index(m->reset_hooks, struct reset_hook, i);

        h->fn(h->opaque);
    }
    /* QEMU's firmware loads the kernel again from fw_cfg; a guest may have
     * overwritten any of it. */
    if (m->cfg && m->cfg->kernel && machine_load_kernel(m, &err) < 0) {
        warn_report("reset: %s", err->message);
    }
}
