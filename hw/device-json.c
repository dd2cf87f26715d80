/*
 * The JSON form of -device ('-device {"driver":"isa-serial","id":"s0"}'):
 * a reader for the one flat object QEMU takes there, with QEMU's "JSON
 * parse error, ..." messages.  Nested values are checked for syntax and
 * kept as JSON_NESTED so the caller can name the property they are wrong
 * for.  hw/device.c checks the members against the device table.
 *
 * Threads: main thread, while parsing the command line.
 */
#include <stdbool.h>
#include <string.h>

#include "hw/device-internal.h"
#include "system/error.h"

struct json_reader {
    const char *p;
    GPtrArray *members;  /* struct json_member * */
};

static void json_member_free(gpointer data)
{
    struct json_member *m = data;

    g_free(m->key);
    g_free(m->text);
    g_free(m);
}

static void json_ws(struct json_reader *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r') {
        r->p++;
    }
}

static bool json_error(GError **errp, const char *what)
{
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "JSON parse error, %s", what);
    return false;
}

/* A string in double quotes or, as QEMU also takes, single quotes (RFC 8259
 * section 7 for the escapes). */
static bool json_string(struct json_reader *r, char **out, GError **errp)
{
    char quote = *r->p++;
    GString *s = g_string_new(NULL);

    while (*r->p != quote) {
        unsigned char c = *r->p;

        if (!c) {
            g_string_free(s, TRUE);
            return json_error(errp, "missing terminating quote");
        }
        if (c < 0x20) {
            g_string_free(s, TRUE);
            return json_error(errp, "invalid control character in string");
        }
        if (c != '\\') {
            g_string_append_c(s, c);
            r->p++;
            continue;
        }
        r->p++;
        switch (*r->p) {
        case '"': case '\'': case '\\': case '/':
            g_string_append_c(s, *r->p);
            break;
        case 'b': g_string_append_c(s, '\b'); break;
        case 'f': g_string_append_c(s, '\f'); break;
        case 'n': g_string_append_c(s, '\n'); break;
        case 'r': g_string_append_c(s, '\r'); break;
        case 't': g_string_append_c(s, '\t'); break;
        case 'u': {
            unsigned cp = 0;

            for (int i = 1; i <= 4; i++) {
                if (!g_ascii_isxdigit(r->p[i])) {
                    g_string_free(s, TRUE);
                    return json_error(errp, "invalid escape sequence in string");
                }
                cp = cp * 16 + g_ascii_xdigit_value(r->p[i]);
            }
            if (!cp || (cp >= 0xd800 && cp <= 0xdfff)) {
                /* NUL and lone surrogates cannot be C strings or UTF-8. */
                g_string_free(s, TRUE);
                return json_error(errp, "invalid escape sequence in string");
            }
            g_string_append_unichar(s, cp);
            r->p += 4;
            break;
        }
        default:
            g_string_free(s, TRUE);
            return json_error(errp, "invalid escape sequence in string");
        }
        r->p++;
    }
    r->p++;
    *out = g_string_free(s, FALSE);
    return true;
}

/* Skips a nested array or object, checking its syntax, for an error that
 * names the property instead of the syntax. */
static bool json_skip_value(struct json_reader *r, GError **errp);

static bool json_skip_nested(struct json_reader *r, GError **errp)
{
    char close = *r->p == '{' ? '}' : ']';
    bool object = close == '}';

    r->p++;
    json_ws(r);
    if (*r->p == close) {
        r->p++;
        return true;
    }
    for (;;) {
        json_ws(r);
        if (object) {
            g_autofree char *key = NULL;

            if (*r->p != '"' && *r->p != '\'') {
                return json_error(errp, "expecting string as key");
            }
            if (!json_string(r, &key, errp)) {
                return false;
            }
            json_ws(r);
            if (*r->p != ':') {
                return json_error(errp, "missing : in object pair");
            }
            r->p++;
        }
        if (!json_skip_value(r, errp)) {
            return false;
        }
        json_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == close) {
            r->p++;
            return true;
        }
        return json_error(errp, object ? "expecting ',' or '}'" : "expecting ',' or ']'");
    }
}

static bool json_scalar(struct json_reader *r, enum json_kind *kind, char **text,
                        GError **errp)
{
    static const struct { const char *word; enum json_kind kind; const char *text; } words[] = {
        { "true", JSON_BOOL, "on" }, { "false", JSON_BOOL, "off" }, { "null", JSON_NULL, "" },
    };
    const char *start;

    json_ws(r);
    if (*r->p == '"' || *r->p == '\'') {
        *kind = JSON_STRING;
        return json_string(r, text, errp);
    }
    if (*r->p == '{' || *r->p == '[') {
        *kind = JSON_NESTED;
        *text = NULL;
        return json_skip_nested(r, errp);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(words); i++) {
        size_t n = strlen(words[i].word);

        if (!strncmp(r->p, words[i].word, n) && !g_ascii_isalnum(r->p[n])) {
            r->p += n;
            *kind = words[i].kind;
            *text = g_strdup(words[i].text);
            return true;
        }
    }
    /* RFC 8259 section 6: -? int frac? exp? */
    start = r->p;
    if (*r->p == '-') {
        r->p++;
    }
    if (!g_ascii_isdigit(*r->p)) {
        r->p = start;
        return json_error(errp, "expecting value");
    }
    while (g_ascii_isdigit(*r->p)) {
        r->p++;
    }
    if (*r->p == '.') {
        r->p++;
        if (!g_ascii_isdigit(*r->p)) {
            return json_error(errp, "invalid number");
        }
        while (g_ascii_isdigit(*r->p)) {
            r->p++;
        }
    }
    if (*r->p == 'e' || *r->p == 'E') {
        r->p++;
        if (*r->p == '+' || *r->p == '-') {
            r->p++;
        }
        if (!g_ascii_isdigit(*r->p)) {
            return json_error(errp, "invalid number");
        }
        while (g_ascii_isdigit(*r->p)) {
            r->p++;
        }
    }
    *kind = JSON_NUMBER;
    *text = g_strndup(start, r->p - start);
    return true;
}

static bool json_skip_value(struct json_reader *r, GError **errp)
{
    enum json_kind kind;
    char *text = NULL;
    bool ok = json_scalar(r, &kind, &text, errp);

    g_free(text);
    return ok;
}

/* Reads the whole argument as one object into r->members. */
static bool json_parse_object(struct json_reader *r, GError **errp)
{
    json_ws(r);
    if (*r->p != '{') {
        return json_error(errp, "expecting '{'");
    }
    r->p++;
    json_ws(r);
    if (*r->p == '}') {
        r->p++;
    } else {
        for (;;) {
            struct json_member *m;
            char *key = NULL;

            json_ws(r);
            if (*r->p != '"' && *r->p != '\'') {
                return json_error(errp, "expecting string as key");
            }
            if (!json_string(r, &key, errp)) {
                return false;
            }
            json_ws(r);
            if (*r->p != ':') {
                g_free(key);
                return json_error(errp, "missing : in object pair");
            }
            r->p++;
            m = g_new0(struct json_member, 1);
            m->key = key;
            g_ptr_array_add(r->members, m);
            if (!json_scalar(r, &m->kind, &m->text, errp)) {
                return false;
            }
            json_ws(r);
            if (*r->p == ',') {
                r->p++;
                continue;
            }
            if (*r->p == '}') {
                r->p++;
                break;
            }
            return json_error(errp, "expecting ',' or '}'");
        }
    }
    json_ws(r);
    if (*r->p) {
        return json_error(errp, "unexpected text after the object");
    }
    return true;
}

GPtrArray *dev_json_read_object(const char *text, GError **errp)
{
    struct json_reader r = { .p = text, .members = g_ptr_array_new_with_free_func(
                                              json_member_free) };

    if (!json_parse_object(&r, errp)) {
        g_ptr_array_free(r.members, TRUE);
        return NULL;
    }
    return r.members;
}
