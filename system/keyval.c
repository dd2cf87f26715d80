/*
 * QEMU's key=value option syntax and its number spellings (see keyval.h).
 *
 * Threads: pure functions on their arguments; called from the main thread
 * while parsing the command line and from QMP/HMP handlers later.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "system/error.h"
#include "system/keyval.h"

static void kv_add(GArray *a, char *key, char *value)
{
    struct kv_pair p = { key, value };

    g_array_append_val(a, p);
}

/*
 * Reads one comma-separated element starting at *s into a fresh string,
 * turning ",," into ",".  Stops at a single comma (skipped) or the end.
 * When stop_at_eq is set it also stops before '=' (a key never holds one).
 */
static char *kv_take(const char **s, bool stop_at_eq)
{
    GString *out = g_string_new(NULL);
    const char *p = *s;

    while (*p) {
        if (*p == ',') {
            if (p[1] == ',') {
                g_string_append_c(out, ',');
                p += 2;
                continue;
            }
            break;
        }
        if (stop_at_eq && *p == '=') {
            break;
        }
        g_string_append_c(out, *p++);
    }
    *s = p;
    return g_string_free(out, FALSE);
}

struct kv_list *kv_parse(const char *str, const char *implied_key, GError **errp)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(struct kv_pair));
    struct kv_list *l;
    const char *p = str;
    bool first = true;

    /* An empty string has no elements; "a," ends with an empty one QEMU
     * also skips. */
    while (*p) {
        char *key = kv_take(&p, true);

        if (*p == '=') {
            char *value;

            p++;
            value = kv_take(&p, false);
            if (!*key) {
                g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                            "Invalid parameter '%s'", key);
                g_free(key);
                g_free(value);
                goto fail;
            }
            kv_add(a, key, value);
        } else if (first && implied_key) {
            /* "pc" in "-M pc,..." is type=pc; it may be empty ("-accel ''"). */
            kv_add(a, g_strdup(implied_key), key);
        } else if (!*key) {
            /* ",x" or "a,,,b" leaves an empty element: nothing to set. */
            g_free(key);
        } else if (g_str_has_prefix(key, "no") && key[2]) {
            /* The old short form: "nowait" is wait=off. */
            kv_add(a, g_strdup(key + 2), g_strdup("off"));
            g_free(key);
        } else {
            kv_add(a, key, g_strdup("on"));
        }
        first = false;
        if (*p == ',') {
            p++;
        }
    }
    l = g_new0(struct kv_list, 1);
    l->n = a->len;
    l->items = (struct kv_pair *)g_array_free(a, FALSE);
    return l;

fail:
    for (unsigned i = 0; i < a->len; i++) {
        g_free(g_array_index(a, struct kv_pair, i).key);
        g_free(g_array_index(a, struct kv_pair, i).value);
    }
    g_array_free(a, TRUE);
    return NULL;
}

struct kv_list *kv_new(void)
{
    return g_new0(struct kv_list, 1);
}

void kv_append(struct kv_list *l, const char *key, const char *value)
{
    l->items = g_renew(struct kv_pair, l->items, l->n + 1);
    l->items[l->n].key = g_strdup(key);
    l->items[l->n].value = g_strdup(value);
    l->n++;
}

void kv_free(struct kv_list *l)
{
    if (!l) {
        return;
    }
    for (unsigned i = 0; i < l->n; i++) {
        g_free(l->items[i].key);
        g_free(l->items[i].value);
    }
    g_free(l->items);
    g_free(l);
}

const char *kv_get(const struct kv_list *l, const char *key)
{
    for (unsigned i = l ? l->n : 0; i-- > 0;) {
        if (!strcmp(l->items[i].key, key)) {
            return l->items[i].value;
        }
    }
    return NULL;
}

bool kv_has(const struct kv_list *l, const char *key)
{
    return kv_get(l, key) != NULL;
}

bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "on", "yes", "true" };
    static const char *const no[] = { "off", "no", "false" };

    for (unsigned i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (!strcmp(s, yes[i])) {
            *out = true;
            return true;
        }
        if (!strcmp(s, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Powers of 1024 by suffix letter, as QEMU's size parser; 0 when not one. */
static uint64_t size_suffix(char c)
{
    switch (c) {
    case 'b': case 'B': return 1;
    case 'k': case 'K': return 1ull << 10;
    case 'm': case 'M': return 1ull << 20;
    case 'g': case 'G': return 1ull << 30;
    case 't': case 'T': return 1ull << 40;
    case 'p': case 'P': return 1ull << 50;
    case 'e': case 'E': return 1ull << 60;
    }
    return 0;
}

/*
 * QEMU's rules: digits (or 0x hex, which takes no fraction), an optional
 * ".fraction", an optional suffix, nothing after.  A fraction needs a
 * scale above one byte ("1.5" bytes is refused, "1.5k" is 1536).  Returns
 * 0, -EINVAL for a malformed string or -ERANGE when it does not fit 64 bits.
 */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
    const char *p = s;
    uint64_t val = 0, mul;
    double frac = 0;
    bool hex = false, has_frac = false;

    if (!g_ascii_isdigit(*p)) {
        return -EINVAL;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        hex = true;
        p += 2;
        if (!g_ascii_isxdigit(*p)) {
            return -EINVAL;
        }
    }
    for (; hex ? g_ascii_isxdigit(*p) : g_ascii_isdigit(*p); p++) {
        unsigned d = g_ascii_xdigit_value(*p);

        if (val > (UINT64_MAX - d) / (hex ? 16 : 10)) {
            return -ERANGE;
        }
        val = val * (hex ? 16 : 10) + d;
    }
    if (*p == '.') {
        double scale = 0.1;

        if (hex || !g_ascii_isdigit(p[1])) {
            return -EINVAL;
        }
        has_frac = true;
        for (p++; g_ascii_isdigit(*p); p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    mul = size_suffix(*p);
    if (mul) {
        p++;
    } else {
        mul = default_unit ? default_unit : 1;
    }
    if (*p) {
        return -EINVAL;
    }
    if (has_frac && mul == 1) {
        return -EINVAL;
    }
    if (val > UINT64_MAX / mul) {
        return -ERANGE;
    }
    val *= mul;
    if (has_frac) {
        /* The fraction adds less than one unit of mul; the double is exact
         * enough for the sizes anyone writes and is checked for overflow. */
        double extra = frac * (double)mul;

        if (extra >= (double)(UINT64_MAX - val)) {
            return -ERANGE;
        }
        val += (uint64_t)extra;
    }
    *out = val;
    return 0;
}

int parse_uint(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    /* strtoull takes a sign and leading blanks; an unsigned option takes
     * neither. */
    if (!g_ascii_isdigit(*s)) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno == ERANGE) {
        return -ERANGE;
    }
    if (end == s || *end) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}
