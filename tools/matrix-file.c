/*
 * The matrix file: glib's key file format (like a .desktop or .ini file),
 * read into cases, each with its command line and expectations.
 *
 *   [matrix]                  the axes and what every case shares
 *   kernels=bzImage-6.1;bzImage-6.6     -kernel, one axis value per entry
 *   initrds=initrd.gz                   -initrd
 *   machines=microvm;pc                 -M
 *   accels=tcg;kvm                      -accel (kvm cases are skipped where
 *                                       KVM has no hardware virtualization)
 *   smp=1;4                             -smp
 *   extra=;-cpu max;-M acpi=off         options after the fixed part, split
 *                                       as a shell splits; an empty entry is
 *                                       a variant without options
 *   memory=256M                         -m (default: hyvm's own)
 *   append=console=ttyS0 panic=-1       -append
 *   timeout=300                         seconds before the VM is killed
 *   expect=^Linux version;login:        regexes that must all match the log
 *   reject=Kernel panic;BUG:            regexes none of which may match
 *   exit-status=0                       the VM's expected exit status
 *   stop-on-match=false                 true: end the VM once every expect
 *                                       matched, and pass
 *   hyvm=../build/hyvm                  the binary (--hyvm overrides it)
 *   name=nightly                        the JUnit suite's name (default:
 *                                       the file's name without extension)
 *
 *   [case pc-acpi]            settings for the cases it selects
 *   machine=pc                selectors, each a list of axis values; a case
 *   accel=tcg                 must match every selector given: kernel=,
 *                             initrd=, machine=, accel=, smp=, extra-index=
 *                             (the extra axis' entry, from 0), and name=, a
 *                             regex searched in the case's name
 *   expect=ACPI: PCI Root     memory, append, timeout, expect, reject,
 *                             exit-status, stop-on-match as above, replacing
 *                             the [matrix] value; extra= appends options;
 *                             skip=REASON (or true) skips the cases
 *
 *   [extra-case smoke]        one more case, named "smoke", outside the
 *   kernel=vmlinuz            product: kernel, initrd, machine, accel, smp
 *   machine=microvm           (one value each), extra (its options) and the
 *                             settings keys; the rest comes from [matrix]
 *
 * The cases are the cartesian product of the axes given, in the order
 * kernels, initrds, machines, accels, smp, extra (the last varies
 * fastest), then the [extra-case] groups in file order; [case] groups
 * apply in file order, a later one winning.  An axis not given adds
 * nothing to the command line (hyvm's default holds) nor to the name.  A
 * case is named by its axis values joined with '/': the kernel and initrd
 * by their file names (by the paths as written when two file names are
 * the same), "smpN", the extra entry by its index:
 * "bzImage-6.1/initrd.gz/pc/tcg/smp4/2".
 *
 * Values are taken as written, without the key file's escapes, so a
 * regex's backslashes are its own.  Lists are split at each ';' not after
 * a backslash; entries lose the spaces around them and a last empty entry
 * (after a trailing ';') is dropped.  In the axes kernels..smp '\;' stands
 * for ';'; in expect, reject and extra the backslash stays, and PCRE and
 * the shell split read '\;' as ';' themselves.  Relative paths (kernels,
 * initrds, hyvm= with a '/') are relative to the file's directory.
 *
 * Regexes are PCRE, multi-line (^ and $ match at each line, which ends at
 * \n, \r or \r\n) and byte-wise (the log need not be UTF-8).
 *
 * Every case runs
 *   hyvm [-M m] [-accel a] [-smp n] [-m mem] [-kernel k] [-initrd i]
 *        [-append text] -nographic -nic none -no-reboot [extra...]
 * -nographic puts the serial console on stdout; -nic none leaves out the
 * default NIC (a matrix adds -nic/-netdev in extra); -no-reboot makes a
 * guest's reboot end the VM, so a kernel that panics with panic=-1 ends
 * instead of booting again.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/matrix.h"

#define DEFAULT_TIMEOUT_S 300
#define REGEX_FLAGS (G_REGEX_MULTILINE | G_REGEX_RAW | G_REGEX_NEWLINE_ANYCRLF | G_REGEX_OPTIMIZE)

enum axis { AX_KERNEL, AX_INITRD, AX_MACHINE, AX_ACCEL, AX_SMP, AX_EXTRA, N_AXES };

static const struct {
    const char *list_key;       /* in [matrix] */
    const char *one_key;        /* a selector in [case], a value in [extra-case] */
    bool path;
} axis_keys[N_AXES] = {
    [AX_KERNEL] = { "kernels", "kernel", true },
    [AX_INITRD] = { "initrds", "initrd", true },
    [AX_MACHINE] = { "machines", "machine", false },
    [AX_ACCEL] = { "accels", "accel", false },
    [AX_SMP] = { "smp", "smp", false },
    [AX_EXTRA] = { "extra", "extra-index", false },
};

/* Keys of struct matrix_settings, in every group. */
static const char *const settings_keys[] = {
    "memory", "append", "timeout", "expect", "reject", "exit-status", "stop-on-match", NULL
};

struct axis_value {
    char *written;              /* as in the file */
    char *value;                /* on the command line (a path resolved) */
    char *label;                /* in the case's name */
};

struct loader {
    const char *path;
    char *dir;
    char *text;
    GKeyFile *kf;
    struct matrix *m;
    GPtrArray *axis[N_AXES];    /* struct axis_value *, NULL: no such axis */
};

/* ---- errors that name the place ---- */

/* The line of key in group (of the group header when key is NULL), or 0.
 * GKeyFile keeps no line numbers; the text is short, so it is scanned. */
static unsigned line_of(const struct loader *ld, const char *group, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(ld->text, "\n", -1);
    bool in_group = false;

    for (unsigned i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        size_t n = strlen(l);

        if (l[0] == '[' && n > 1 && l[n - 1] == ']') {
            l[n - 1] = 0;
            in_group = !strcmp(l + 1, group);
            if (in_group && !key) {
                return i + 1;
            }
        } else if (in_group && key && l[0] != '#') {
            char *eq = strchr(l, '=');

            if (eq) {
                *eq = 0;
                if (!strcmp(g_strchomp(l), key)) {
                    return i + 1;
                }
            }
        }
    }
    return 0;
}

static bool G_GNUC_PRINTF(5, 6) fail(const struct loader *ld, GError **errp, const char *group,
                                     const char *key, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    unsigned line = group ? line_of(ld, group, key) : 0;
    g_autofree char *where = line ? g_strdup_printf("%s:%u", ld->path, line)
                                  : g_strdup(ld->path);
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!group) {
        g_set_error(errp, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: %s", where, msg);
    } else if (!key) {
        g_set_error(errp, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: [%s]: %s",
                    where, group, msg);
    } else {
        g_set_error(errp, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: [%s] %s: %s",
                    where, group, key, msg);
    }
    return false;
}

/* ---- values ---- */

/* The entries of a list value (see the top of the file); NULL with an
 * error for an empty list, or an empty entry where allow_empty is false. */
static GPtrArray *split_list(const struct loader *ld, const char *group, const char *key,
                             bool keep_backslash, bool allow_empty, GError **errp)
{
    g_autofree char *raw = g_key_file_get_value(ld->kf, group, key, NULL);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) cur = g_string_new(NULL);

    for (const char *p = raw; ; p++) {
        if (*p == '\\' && p[1] == ';') {
            if (keep_backslash) {
                g_string_append_c(cur, '\\');
            }
            g_string_append_c(cur, ';');
            p++;
        } else if (*p == ';' || !*p) {
            char *e = g_strstrip(g_strdup(cur->str));

            g_string_truncate(cur, 0);
            if (!*p && !*e && out->len > 0 && p > raw && p[-1] == ';') {
                g_free(e);      /* after a trailing ';' */
                break;
            }
            if (!*e && !allow_empty) {
                g_free(e);
                fail(ld, errp, group, key, out->len == 0 && !*p ? "empty list"
                     : "empty entry (entry %u)", out->len + 1);
                return NULL;
            }
            g_ptr_array_add(out, e);
            if (!*p) {
                break;
            }
        } else {
            g_string_append_c(cur, *p);
        }
    }
    if (out->len == 1 && !*(char *)out->pdata[0]) {
        fail(ld, errp, group, key, "empty list");
        return NULL;
    }
    return g_steal_pointer(&out);
}

static char *get_raw(const struct loader *ld, const char *group, const char *key)
{
    char *v = g_key_file_get_value(ld->kf, group, key, NULL);

    return v ? g_strstrip(v) : NULL;
}

static GPtrArray *compile_regexes(const struct loader *ld, const char *group, const char *key,
                                  GError **errp)
{
    g_autoptr(GPtrArray) src = split_list(ld, group, key, true, false, errp);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);

    if (!src) {
        return NULL;
    }
    for (unsigned i = 0; i < src->len; i++) {
        g_autoptr(GError) err = NULL;
        GRegex *re = g_regex_new(src->pdata[i], REGEX_FLAGS, 0, &err);

        if (!re) {
            fail(ld, errp, group, key, "bad regex '%s': %s", (char *)src->pdata[i],
                 err->message);
            return NULL;
        }
        g_ptr_array_add(out, re);
    }
    return g_steal_pointer(&out);
}

static bool parse_uint(const struct loader *ld, const char *group, const char *key,
                       unsigned min, unsigned max, unsigned *out, GError **errp)
{
    g_autofree char *v = get_raw(ld, group, key);
    guint64 n;

    if (!g_ascii_string_to_unsigned(v, 10, min, max, &n, NULL)) {
        return fail(ld, errp, group, key, "'%s' is not a whole number from %u to %u", v, min,
                    max);
    }
    *out = n;
    return true;
}

static bool parse_bool(const struct loader *ld, const char *group, const char *key, bool *out,
                       GError **errp)
{
    g_autofree char *v = get_raw(ld, group, key);

    if (!strcmp(v, "true")) {
        *out = true;
    } else if (!strcmp(v, "false")) {
        *out = false;
    } else {
        return fail(ld, errp, group, key, "'%s' is neither true nor false", v);
    }
    return true;
}

/* Options split as a shell splits them (quotes, backslashes), appended to
 * out. */
static bool shell_split(const struct loader *ld, const char *group, const char *key,
                        const char *s, GPtrArray *out, GError **errp)
{
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) argv = NULL;
    int argc;

    if (!*s) {
        return true;
    }
    if (!g_shell_parse_argv(s, &argc, &argv, &err)) {
        return fail(ld, errp, group, key, "cannot split '%s': %s", s, err->message);
    }
    for (int i = 0; i < argc; i++) {
        g_ptr_array_add(out, g_strdup(argv[i]));
    }
    return true;
}

static char *resolve_path(const struct loader *ld, const char *p)
{
    return g_canonicalize_filename(p, ld->dir);
}

/* ---- settings ---- */

static void settings_init(struct matrix_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->expect = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);
    s->reject = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);
    s->extra = g_ptr_array_new_with_free_func(g_free);
    s->timeout_s = DEFAULT_TIMEOUT_S;
}

static void settings_clear(struct matrix_settings *s)
{
    g_free(s->memory);
    g_free(s->append);
    g_clear_pointer(&s->expect, g_ptr_array_unref);
    g_clear_pointer(&s->reject, g_ptr_array_unref);
    g_clear_pointer(&s->extra, g_ptr_array_unref);
    g_free(s->skip);
}

static GPtrArray *regexes_copy(GPtrArray *a)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);

    for (unsigned i = 0; i < a->len; i++) {
        g_ptr_array_add(out, g_regex_ref(a->pdata[i]));
    }
    return out;
}

static void settings_copy(struct matrix_settings *dst, const struct matrix_settings *src)
{
    *dst = *src;
    dst->memory = g_strdup(src->memory);
    dst->append = g_strdup(src->append);
    dst->skip = g_strdup(src->skip);
    dst->expect = regexes_copy(src->expect);
    dst->reject = regexes_copy(src->reject);
    dst->extra = g_ptr_array_new_with_free_func(g_free);
    for (unsigned i = 0; i < src->extra->len; i++) {
        g_ptr_array_add(dst->extra, g_strdup(src->extra->pdata[i]));
    }
}

/* Applies the settings keys group has to s; extra= (in [case] and
 * [extra-case]) and skip= only when with_case_keys. */
static bool settings_read(const struct loader *ld, const char *group, bool with_case_keys,
                          struct matrix_settings *s, GError **errp)
{
    GKeyFile *kf = ld->kf;
    GPtrArray *re;

    if (g_key_file_has_key(kf, group, "memory", NULL)) {
        g_free(s->memory);
        s->memory = get_raw(ld, group, "memory");
        if (!*s->memory) {
            return fail(ld, errp, group, "memory", "empty value");
        }
    }
    if (g_key_file_has_key(kf, group, "append", NULL)) {
        g_free(s->append);
        s->append = get_raw(ld, group, "append");
    }
    if (g_key_file_has_key(kf, group, "timeout", NULL) &&
        !parse_uint(ld, group, "timeout", 1, 7 * 24 * 3600, &s->timeout_s, errp)) {
        return false;
    }
    if (g_key_file_has_key(kf, group, "exit-status", NULL)) {
        unsigned st;

        if (!parse_uint(ld, group, "exit-status", 0, 255, &st, errp)) {
            return false;
        }
        s->exit_status = st;
    }
    if (g_key_file_has_key(kf, group, "stop-on-match", NULL) &&
        !parse_bool(ld, group, "stop-on-match", &s->stop_on_match, errp)) {
        return false;
    }
    if (g_key_file_has_key(kf, group, "expect", NULL)) {
        if (!(re = compile_regexes(ld, group, "expect", errp))) {
            return false;
        }
        g_ptr_array_unref(s->expect);
        s->expect = re;
    }
    if (g_key_file_has_key(kf, group, "reject", NULL)) {
        if (!(re = compile_regexes(ld, group, "reject", errp))) {
            return false;
        }
        g_ptr_array_unref(s->reject);
        s->reject = re;
    }
    if (with_case_keys && g_key_file_has_key(kf, group, "extra", NULL)) {
        g_autofree char *v = get_raw(ld, group, "extra");

        if (!shell_split(ld, group, "extra", v, s->extra, errp)) {
            return false;
        }
    }
    if (with_case_keys && g_key_file_has_key(kf, group, "skip", NULL)) {
        g_autofree char *v = get_raw(ld, group, "skip");

        g_clear_pointer(&s->skip, g_free);
        if (!strcmp(v, "true") || !*v) {
            s->skip = g_strdup_printf("skip= in [%s]", group);
        } else if (strcmp(v, "false")) {
            s->skip = g_steal_pointer(&v);
        }
    }
    return true;
}

/* ---- the keys a group may have ---- */

static bool in_list(const char *const *list, const char *s)
{
    for (unsigned i = 0; list[i]; i++) {
        if (!strcmp(list[i], s)) {
            return true;
        }
    }
    return false;
}

enum group_kind { GROUP_MATRIX, GROUP_CASE, GROUP_EXTRA_CASE };

static bool key_allowed(enum group_kind kind, const char *key)
{
    static const char *const matrix_only[] = { "hyvm", "name", NULL };
    static const char *const case_keys[] = { "extra", "skip", NULL };

    if (in_list(settings_keys, key)) {
        return true;
    }
    for (unsigned a = 0; a < N_AXES; a++) {
        if (kind == GROUP_MATRIX && !strcmp(key, axis_keys[a].list_key)) {
            return true;
        }
        if (kind == GROUP_CASE && !strcmp(key, axis_keys[a].one_key)) {
            return true;
        }
        if (kind == GROUP_EXTRA_CASE && a != AX_EXTRA && !strcmp(key, axis_keys[a].one_key)) {
            return true;
        }
    }
    if (kind == GROUP_MATRIX) {
        return in_list(matrix_only, key);
    }
    return in_list(case_keys, key) || (kind == GROUP_CASE && !strcmp(key, "name"));
}

static bool check_keys(const struct loader *ld, const char *group, enum group_kind kind,
                       GError **errp)
{
    g_auto(GStrv) keys = g_key_file_get_keys(ld->kf, group, NULL, NULL);

    for (unsigned i = 0; keys && keys[i]; i++) {
        if (!key_allowed(kind, keys[i])) {
            return fail(ld, errp, group, keys[i], "unknown key (see hyvm-matrix --help)");
        }
    }
    return true;
}

/* ---- axes and cases ---- */

static void axis_value_free(struct axis_value *v)
{
    g_free(v->written);
    g_free(v->value);
    g_free(v->label);
    g_free(v);
}

static bool read_axis(struct loader *ld, enum axis a, GError **errp)
{
    const char *key = axis_keys[a].list_key;
    g_autoptr(GPtrArray) entries = NULL;
    GPtrArray *vals;

    if (!g_key_file_has_key(ld->kf, "matrix", key, NULL)) {
        return true;
    }
    entries = split_list(ld, "matrix", key, a == AX_EXTRA, a == AX_EXTRA, errp);
    if (!entries) {
        return false;
    }
    vals = ld->axis[a] = g_ptr_array_new_with_free_func((GDestroyNotify)axis_value_free);
    for (unsigned i = 0; i < entries->len; i++) {
        const char *e = entries->pdata[i];
        struct axis_value *v = g_new0(struct axis_value, 1);

        g_ptr_array_add(vals, v);
        v->written = g_strdup(e);
        for (unsigned j = 0; j < i && a != AX_EXTRA; j++) {
            if (!strcmp(e, ((struct axis_value *)vals->pdata[j])->written)) {
                return fail(ld, errp, "matrix", key, "'%s' is listed twice", e);
            }
        }
        if (a == AX_EXTRA) {
            g_autoptr(GPtrArray) check = g_ptr_array_new_with_free_func(g_free);

            if (!shell_split(ld, "matrix", key, e, check, errp)) {
                return false;
            }
            v->value = g_strdup(e);
            v->label = g_strdup_printf("%u", i);
        } else if (axis_keys[a].path) {
            v->value = resolve_path(ld, e);
            if (!g_file_test(v->value, G_FILE_TEST_IS_REGULAR)) {
                return fail(ld, errp, "matrix", key, "no such file: %s", v->value);
            }
            v->label = g_path_get_basename(e);
        } else if (a == AX_SMP) {
            if (!g_ascii_isdigit(e[0])) {
                return fail(ld, errp, "matrix", key, "'%s' does not start with a CPU count", e);
            }
            v->value = g_strdup(e);
            v->label = g_strdup_printf("smp%s", e);
        } else {
            v->value = g_strdup(e);
            v->label = g_strdup(e);
        }
    }
    /* Two files of the same name in different folders: their paths as
     * written tell them apart. */
    if (axis_keys[a].path) {
        for (unsigned i = 0; i < vals->len; i++) {
            for (unsigned j = 0; j < vals->len; j++) {
                struct axis_value *x = vals->pdata[i], *y = vals->pdata[j];
                g_autofree char *xbase = g_path_get_basename(x->written);
                g_autofree char *ybase = g_path_get_basename(y->written);

                if (i != j && !strcmp(xbase, ybase)) {
                    g_free(x->label);
                    x->label = g_strdup(x->written);
                }
            }
        }
    }
    return true;
}

/* Only kvm in the accelerator list: no software CPU to fall back on. */
static bool accel_needs_kvm(const char *accel)
{
    g_auto(GStrv) names = NULL;

    if (!accel) {
        return false;
    }
    names = g_strsplit(accel, ":", -1);
    for (unsigned i = 0; names[i]; i++) {
        size_t n = strcspn(names[i], ",");

        if (n != 3 || strncmp(names[i], "kvm", 3)) {
            return false;
        }
    }
    return names[0] != NULL;
}

static void case_free(struct matrix_case *c)
{
    g_free(c->name);
    g_free(c->kernel);
    g_free(c->initrd);
    g_free(c->machine);
    g_free(c->accel);
    g_free(c->smp);
    settings_clear(&c->set);
    g_strfreev(c->argv);
    g_free(c->log_path);
    g_free(c->reason);
    if (c->log) {
        g_string_free(c->log, TRUE);
    }
    g_free(c);
}

static void add_product(struct loader *ld, const struct matrix_settings *common)
{
    unsigned idx[N_AXES] = { 0 };
    bool any = false;

    for (unsigned a = 0; a < N_AXES; a++) {
        any |= ld->axis[a] != NULL;
    }
    if (!any) {
        return;
    }
    for (;;) {
        struct matrix_case *c = g_new0(struct matrix_case, 1);
        g_autoptr(GPtrArray) parts = g_ptr_array_new();
        struct axis_value *v[N_AXES] = { NULL };

        for (unsigned a = 0; a < N_AXES; a++) {
            if (ld->axis[a]) {
                v[a] = ld->axis[a]->pdata[idx[a]];
                g_ptr_array_add(parts, v[a]->label);
            }
        }
        g_ptr_array_add(parts, NULL);
        c->name = g_strjoinv("/", (char **)parts->pdata);
        c->kernel = v[AX_KERNEL] ? g_strdup(v[AX_KERNEL]->value) : NULL;
        c->initrd = v[AX_INITRD] ? g_strdup(v[AX_INITRD]->value) : NULL;
        c->machine = v[AX_MACHINE] ? g_strdup(v[AX_MACHINE]->value) : NULL;
        c->accel = v[AX_ACCEL] ? g_strdup(v[AX_ACCEL]->value) : NULL;
        c->smp = v[AX_SMP] ? g_strdup(v[AX_SMP]->value) : NULL;
        c->extra_index = v[AX_EXTRA] ? (int)idx[AX_EXTRA] : -1;
        settings_copy(&c->set, common);
        if (v[AX_EXTRA]) {
            /* Checked by read_axis. */
            shell_split(ld, "matrix", "extra", v[AX_EXTRA]->value, c->set.extra, NULL);
        }
        g_ptr_array_add(ld->m->cases, c);

        /* The next combination, the last axis fastest. */
        int a = N_AXES - 1;

        for (; a >= 0; a--) {
            if (ld->axis[a] && ++idx[a] < ld->axis[a]->len) {
                break;
            }
            idx[a] = 0;
        }
        if (a < 0) {
            return;
        }
    }
}

static bool add_extra_case(struct loader *ld, const char *group, const char *name,
                           const struct matrix_settings *common, GError **errp)
{
    struct matrix_case *c = g_new0(struct matrix_case, 1);
    char **slot[] = { [AX_KERNEL] = &c->kernel, [AX_INITRD] = &c->initrd,
                      [AX_MACHINE] = &c->machine, [AX_ACCEL] = &c->accel, [AX_SMP] = &c->smp };

    g_ptr_array_add(ld->m->cases, c);
    c->name = g_strdup(name);
    c->extra_index = -1;
    c->explicit_case = true;
    settings_copy(&c->set, common);
    for (unsigned a = 0; a < AX_EXTRA; a++) {
        g_autofree char *v = NULL;

        if (!g_key_file_has_key(ld->kf, group, axis_keys[a].one_key, NULL)) {
            continue;
        }
        v = get_raw(ld, group, axis_keys[a].one_key);
        if (!*v) {
            return fail(ld, errp, group, axis_keys[a].one_key, "empty value");
        }
        if (axis_keys[a].path) {
            *slot[a] = resolve_path(ld, v);
            if (!g_file_test(*slot[a], G_FILE_TEST_IS_REGULAR)) {
                return fail(ld, errp, group, axis_keys[a].one_key, "no such file: %s", *slot[a]);
            }
        } else if (a == AX_SMP && !g_ascii_isdigit(v[0])) {
            return fail(ld, errp, group, "smp", "'%s' does not start with a CPU count", v);
        } else {
            *slot[a] = g_steal_pointer(&v);
        }
    }
    return settings_read(ld, group, true, &c->set, errp);
}

/* Does the selector value list of key in group hold the case's value on
 * axis a? */
static bool selector_has(const struct loader *ld, const char *group, enum axis a,
                         const struct matrix_case *c, GPtrArray *entries)
{
    g_autofree char *base = NULL, *smp_label = NULL, *index = NULL;
    const char *value = NULL;

    switch (a) {
    case AX_KERNEL:
    case AX_INITRD:
        value = a == AX_KERNEL ? c->kernel : c->initrd;
        base = value ? g_path_get_basename(value) : NULL;
        break;
    case AX_MACHINE:
        value = c->machine;
        break;
    case AX_ACCEL:
        value = c->accel;
        break;
    case AX_SMP:
        value = c->smp;
        smp_label = value ? g_strdup_printf("smp%s", value) : NULL;
        break;
    case AX_EXTRA:
        index = c->extra_index >= 0 ? g_strdup_printf("%d", c->extra_index) : NULL;
        value = index;
        break;
    default:
        break;
    }
    if (!value) {
        return false;
    }
    for (unsigned i = 0; i < entries->len; i++) {
        const char *e = entries->pdata[i];
        g_autofree char *as_path = axis_keys[a].path ? resolve_path(ld, e) : NULL;

        if (!strcmp(e, value) || (base && !strcmp(e, base)) ||
            (smp_label && !strcmp(e, smp_label)) || (as_path && !strcmp(as_path, value))) {
            return true;
        }
    }
    return false;
}

static bool apply_case_group(struct loader *ld, const char *group, GError **errp)
{
    GPtrArray *sel[N_AXES] = { NULL };
    g_autoptr(GRegex) name_re = NULL;
    unsigned selectors = 0, selected = 0;
    bool ok = false;

    for (unsigned a = 0; a < N_AXES; a++) {
        if (g_key_file_has_key(ld->kf, group, axis_keys[a].one_key, NULL)) {
            sel[a] = split_list(ld, group, axis_keys[a].one_key, false, false, errp);
            if (!sel[a]) {
                goto out;
            }
            selectors++;
        }
    }
    if (g_key_file_has_key(ld->kf, group, "name", NULL)) {
        g_autofree char *v = get_raw(ld, group, "name");
        g_autoptr(GError) err = NULL;

        name_re = g_regex_new(v, REGEX_FLAGS, 0, &err);
        if (!name_re) {
            fail(ld, errp, group, "name", "bad regex '%s': %s", v, err->message);
            goto out;
        }
        selectors++;
    }
    if (!selectors) {
        fail(ld, errp, group, NULL, "selects no case: give machine=, accel=, kernel=, "
             "initrd=, smp=, extra-index= or name=");
        goto out;
    }
    for (unsigned i = 0; i < ld->m->cases->len; i++) {
        struct matrix_case *c = ld->m->cases->pdata[i];
        bool match = !name_re || g_regex_match(name_re, c->name, 0, NULL);

        for (unsigned a = 0; a < N_AXES && match; a++) {
            match = !sel[a] || selector_has(ld, group, a, c, sel[a]);
        }
        if (match) {
            selected++;
            if (!settings_read(ld, group, true, &c->set, errp)) {
                goto out;
            }
        }
    }
    if (!selected) {
        fail(ld, errp, group, NULL, "selects no case");
        goto out;
    }
    ok = true;
out:
    for (unsigned a = 0; a < N_AXES; a++) {
        if (sel[a]) {
            g_ptr_array_unref(sel[a]);
        }
    }
    return ok;
}

/* The fixed part of the command line: see the top of the file. */
static const char *const fixed_args[] = { "-nographic", "-nic", "none", "-no-reboot" };

static void case_build_argv(struct matrix_case *c)
{
    GPtrArray *argv = g_ptr_array_new();
    const struct {
        const char *opt, *val;
    } opts[] = {
        { "-M", c->machine }, { "-accel", c->accel }, { "-smp", c->smp },
        { "-m", c->set.memory }, { "-kernel", c->kernel }, { "-initrd", c->initrd },
        { "-append", c->set.append },
    };

    g_ptr_array_add(argv, g_strdup("hyvm"));    /* matrix_set_binary's */
    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++) {
        if (opts[i].val) {
            g_ptr_array_add(argv, g_strdup(opts[i].opt));
            g_ptr_array_add(argv, g_strdup(opts[i].val));
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(fixed_args); i++) {
        g_ptr_array_add(argv, g_strdup(fixed_args[i]));
    }
    for (unsigned i = 0; i < c->set.extra->len; i++) {
        g_ptr_array_add(argv, g_strdup(c->set.extra->pdata[i]));
    }
    g_ptr_array_add(argv, NULL);
    c->argv = (char **)g_ptr_array_free(argv, FALSE);
    c->needs_kvm = accel_needs_kvm(c->accel);
}

static bool load_groups(struct loader *ld, GError **errp)
{
    g_auto(GStrv) groups = g_key_file_get_groups(ld->kf, NULL);
    struct matrix_settings common;
    bool ok = false;

    settings_init(&common);
    if (!g_key_file_has_group(ld->kf, "matrix")) {
        fail(ld, errp, NULL, NULL, "no [matrix] group");
        goto out;
    }
    for (unsigned i = 0; groups[i]; i++) {
        const char *g = groups[i];
        enum group_kind kind;

        if (!strcmp(g, "matrix")) {
            kind = GROUP_MATRIX;
        } else if (g_str_has_prefix(g, "case ") && g[5]) {
            kind = GROUP_CASE;
        } else if (g_str_has_prefix(g, "extra-case ") && g[11]) {
            kind = GROUP_EXTRA_CASE;
        } else {
            fail(ld, errp, g, NULL, "unknown group: [matrix], [case NAME] or "
                 "[extra-case NAME]");
            goto out;
        }
        if (!check_keys(ld, g, kind, errp)) {
            goto out;
        }
    }
    if (!settings_read(ld, "matrix", false, &common, errp)) {
        goto out;
    }
    for (unsigned a = 0; a < N_AXES; a++) {
        if (!read_axis(ld, a, errp)) {
            goto out;
        }
    }
    if (g_key_file_has_key(ld->kf, "matrix", "hyvm", NULL)) {
        g_autofree char *h = get_raw(ld, "matrix", "hyvm");

        if (!*h) {
            fail(ld, errp, "matrix", "hyvm", "empty value");
            goto out;
        }
        ld->m->hyvm = strchr(h, '/') ? resolve_path(ld, h) : g_steal_pointer(&h);
    }
    if (g_key_file_has_key(ld->kf, "matrix", "name", NULL)) {
        g_free(ld->m->name);
        ld->m->name = get_raw(ld, "matrix", "name");
    }
    add_product(ld, &common);
    for (unsigned i = 0; groups[i]; i++) {
        if (g_str_has_prefix(groups[i], "extra-case ")) {
            const char *name = groups[i] + 11;

            for (unsigned j = 0; j < ld->m->cases->len; j++) {
                if (!strcmp(((struct matrix_case *)ld->m->cases->pdata[j])->name, name)) {
                    fail(ld, errp, groups[i], NULL, "a case named '%s' exists already", name);
                    goto out;
                }
            }
            if (!add_extra_case(ld, groups[i], name, &common, errp)) {
                goto out;
            }
        }
    }
    if (ld->m->cases->len == 0) {
        fail(ld, errp, "matrix", NULL, "no cases: give an axis (kernels=, machines=, ...) or "
             "an [extra-case NAME] group");
        goto out;
    }
    for (unsigned i = 0; groups[i]; i++) {
        if (g_str_has_prefix(groups[i], "case ") && !apply_case_group(ld, groups[i], errp)) {
            goto out;
        }
    }
    for (unsigned i = 0; i < ld->m->cases->len; i++) {
        struct matrix_case *c = ld->m->cases->pdata[i];

        if (c->set.stop_on_match && c->set.expect->len == 0) {
            fail(ld, errp, NULL, NULL, "case %s: stop-on-match=true without expect=", c->name);
            goto out;
        }
        case_build_argv(c);
    }
    ok = true;
out:
    settings_clear(&common);
    return ok;
}

struct matrix *matrix_load(const char *path, GError **errp)
{
    struct loader ld = { .path = path };
    g_autoptr(GError) err = NULL;
    struct matrix *m = g_new0(struct matrix, 1);
    g_autofree char *base = g_path_get_basename(path);
    gsize len;
    bool ok = false;

    m->path = g_strdup(path);
    m->cases = g_ptr_array_new_with_free_func((GDestroyNotify)case_free);
    m->name = g_strndup(base, strcspn(base, "."));
    ld.m = m;
    {
        /* Absolute: a command line in a report runs from any folder. */
        g_autofree char *dir = g_path_get_dirname(path);

        ld.dir = g_canonicalize_filename(dir, NULL);
    }
    ld.kf = g_key_file_new();
    if (!g_file_get_contents(path, &ld.text, &len, &err)) {
        g_set_error(errp, G_FILE_ERROR, err->code, "%s", err->message);
        goto out;
    }
    if (!g_key_file_load_from_data(ld.kf, ld.text, len, G_KEY_FILE_NONE, &err)) {
        /* GKeyFile's messages quote the line but give no number. */
        g_set_error(errp, G_KEY_FILE_ERROR, err->code, "%s: %s", path, err->message);
        goto out;
    }
    ok = load_groups(&ld, errp);
out:
    g_free(ld.dir);
    g_free(ld.text);
    g_key_file_free(ld.kf);
    for (unsigned a = 0; a < N_AXES; a++) {
        if (ld.axis[a]) {
            g_ptr_array_unref(ld.axis[a]);
        }
    }
    if (!ok) {
        matrix_free(g_steal_pointer(&m));
    }
    return m;
}

void matrix_free(struct matrix *m)
{
    if (!m) {
        return;
    }
    g_free(m->path);
    g_free(m->name);
    g_free(m->hyvm);
    g_ptr_array_unref(m->cases);
    g_free(m);
}

void matrix_set_binary(struct matrix *m, const char *hyvm)
{
    for (unsigned i = 0; i < m->cases->len; i++) {
        struct matrix_case *c = m->cases->pdata[i];

        g_free(c->argv[0]);
        c->argv[0] = g_strdup(hyvm);
    }
}

char *matrix_case_cmdline(const struct matrix_case *c)
{
    GString *s = g_string_new(NULL);

    for (unsigned i = 0; c->argv[i]; i++) {
        g_autofree char *q = g_shell_quote(c->argv[i]);
        /* g_shell_quote quotes everything; plain words read better bare. */
        bool plain = c->argv[i][0] && strspn(c->argv[i], "abcdefghijklmnopqrstuvwxyz"
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                             "-_./,=:+@%") == strlen(c->argv[i]);

        if (i) {
            g_string_append_c(s, ' ');
        }
        g_string_append(s, plain ? c->argv[i] : q);
    }
    return g_string_free(s, FALSE);
}
