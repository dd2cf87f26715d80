/*
 * QMP's JSON on the wire: the splitter that cuts a byte stream into
 * top-level values, and the writer that spells a value as QEMU does.
 *
 * QEMU's lexer (qobject/json-lexer.c) ends a value when its braces and
 * brackets balance; a bare scalar ends at the next delimiter.  A value
 * longer than QEMU's MAX_TOKEN_SIZE (64 MiB) or nested deeper than its
 * MAX_NESTING (1024) is refused with an error and dropped up to where it
 * closes, so a client can never make us buffer without bound.
 *
 * Threads: called by one session at a time on the main thread.
 */
#include <errno.h>
#include <string.h>

#include "qapi/qmp-internal.h"

void json_splitter_init(struct json_splitter *s,
                        void (*emit)(void *opaque, const char *text, size_t len,
                                     const char *error),
                        void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->buf = g_string_new(NULL);
    s->emit = emit;
    s->opaque = opaque;
}

void json_splitter_reset(struct json_splitter *s)
{
    g_string_truncate(s->buf, 0);
    s->depth = 0;
    s->in_string = s->escape = s->in_scalar = s->overflow = false;
}

void json_splitter_destroy(struct json_splitter *s)
{
    if (s->buf) {
        g_string_free(s->buf, TRUE);
        s->buf = NULL;
    }
}

static void splitter_flush(struct json_splitter *s)
{
    if (!s->overflow && s->buf->len) {
        s->emit(s->opaque, s->buf->str, s->buf->len, NULL);
    }
    json_splitter_reset(s);
}

static bool is_delimiter(char c)
{
    return strchr(" \t\r\n{}[]\"',:", c) != NULL;
}

/* Refuses the value being read; the rest of it is skipped, not stored. */
static void splitter_overflow(struct json_splitter *s, const char *why)
{
    if (!s->overflow) {
        s->emit(s->opaque, NULL, 0, why);
        s->overflow = true;
        g_string_truncate(s->buf, 0);
    }
}

void json_splitter_feed(struct json_splitter *s, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        bool top = s->depth == 0 && !s->in_string;

        /* A bare scalar (number, keyword) ends at the next delimiter. */
        if (s->in_scalar && is_delimiter(c)) {
            splitter_flush(s);
            top = true;
        }
        if (top && !s->in_scalar && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            continue;
        }
        if (!s->overflow) {
            if (s->buf->len >= QMP_INPUT_MAX) {
                splitter_overflow(s, "JSON token size limit exceeded");
            } else {
                g_string_append_c(s->buf, c);
            }
        }
        if (s->in_string) {
            if (s->escape) {
                s->escape = false;
            } else if (c == '\\') {
                s->escape = true;
            } else if (c == s->quote) {
                s->in_string = false;
                if (s->depth == 0) {
                    splitter_flush(s);
                }
            }
            continue;
        }
        switch (c) {
        case '"':
        case '\'':
            /* QEMU takes single-quoted strings too. */
            s->in_string = true;
            s->quote = c;
            break;
        case '{':
        case '[':
            if (++s->depth > QMP_NESTING_MAX) {
                splitter_overflow(s, "JSON nesting depth limit exceeded");
            }
            break;
        case '}':
        case ']':
            /* A stray closer on its own is a value json-glib will refuse. */
            if (s->depth == 0 || --s->depth == 0) {
                splitter_flush(s);
            }
            break;
        default:
            if (s->depth == 0) {
                s->in_scalar = true;
            }
            break;
        }
    }
}

/* ---- markers ----
 *
 * What json-glib cannot hold is carried through it as a string that starts
 * with a private-use character and this process's random tag (see
 * qmp-json-check.c, which writes them, and qmp_json_append_string, which turns them
 * back): a uint64 beyond int64 ("TAG" + digits, the whole string) and a
 * NUL character inside a string ("TAG" + "N").  A client cannot forge the
 * tag, so nothing it sends is changed on the way back.
 */

static char marker_tag[32];

const char *qmp_json_marker(void)
{
    if (!marker_tag[0]) {
        /* U+E000 in UTF-8, then 16 random hex digits and ':'. */
        g_snprintf(marker_tag, sizeof(marker_tag), "\xee\x80\x80%08x%08x:",
                   g_random_int(), g_random_int());
    }
    return marker_tag;
}

bool qmp_json_u64(const char *s, uint64_t *v)
{
    size_t tag_len = marker_tag[0] ? strlen(marker_tag) : 0;
    char *end;

    if (!tag_len || !g_str_has_prefix(s, marker_tag) || !g_ascii_isdigit(s[tag_len])) {
        return false;
    }
    *v = g_ascii_strtoull(s + tag_len, &end, 10);
    return !*end;
}

/* ---- the writer ---- */

/* QEMU writes printable ASCII as is and everything else as \uXXXX
 * (upper-case hex, a surrogate pair above the BMP); bad UTF-8 as U+FFFD. */
void qmp_json_append_string(GString *out, const char *s)
{
    const char *end = s + strlen(s);
    size_t tag_len = marker_tag[0] ? strlen(marker_tag) : 0;

    if (tag_len && g_str_has_prefix(s, marker_tag) && g_ascii_isdigit(s[tag_len])) {
        g_string_append(out, s + tag_len);      /* a uint64 */
        return;
    }

    g_string_append_c(out, '"');
    while (s < end) {
        gunichar cp = g_utf8_get_char_validated(s, end - s);

        if (cp == (gunichar)-1 || cp == (gunichar)-2) {
            g_string_append(out, "\\uFFFD");
            s++;
            continue;
        }
        if (tag_len && cp == 0xe000 && !strncmp(s, marker_tag, tag_len) &&
            s[tag_len] == 'N') {
            g_string_append(out, "\\u0000");
            s += tag_len + 1;
            continue;
        }
        s = g_utf8_next_char(s);
        switch (cp) {
        case '"':  g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (cp >= 0x20 && cp <= 0x7e) {
                g_string_append_c(out, (char)cp);
            } else if (cp >= 0x10000) {
                cp -= 0x10000;
                g_string_append_printf(out, "\\u%04X\\u%04X",
                                       0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            } else {
                g_string_append_printf(out, "\\u%04X", cp);
            }
        }
    }
    g_string_append_c(out, '"');
}

static void append_node(GString *out, JsonNode *node)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object(node);
        GList *names = json_object_get_members(o);   /* insertion order */

        g_string_append_c(out, '{');
        for (GList *l = names; l; l = l->next) {
            qmp_json_append_string(out, l->data);
            g_string_append(out, ": ");
            append_node(out, json_object_get_member(o, l->data));
            if (l->next) {
                g_string_append(out, ", ");
            }
        }
        g_string_append_c(out, '}');
        g_list_free(names);
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(node);
        guint n = json_array_get_length(a);

        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
            append_node(out, json_array_get_element(a, i));
            if (i + 1 < n) {
                g_string_append(out, ", ");
            }
        }
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(node)) {
        case G_TYPE_INT64:
            g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
            break;
        case G_TYPE_DOUBLE: {
            /* QEMU prints a double with %.17g in the C locale. */
            char buf[G_ASCII_DTOSTR_BUF_SIZE];

            g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.17g",
                                                 json_node_get_double(node)));
            break;
        }
        case G_TYPE_BOOLEAN:
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
            break;
        case G_TYPE_STRING:
            qmp_json_append_string(out, json_node_get_string(node));
            break;
        default:
            g_string_append(out, "null");
            break;
        }
        break;
    }
}

char *qmp_to_json(JsonNode *node)
{
    GString *out = g_string_new(NULL);

    append_node(out, node);
    return g_string_free(out, FALSE);
}

/* json-glib's error codes in the words of QEMU's json-parser.c. */
char *qmp_parse_error_desc(const GError *err, const char *text, size_t len)
{
    const char *what = "expecting value";

    if (err->domain == JSON_PARSER_ERROR) {
        switch (err->code) {
        case JSON_PARSER_ERROR_MISSING_COLON:
            what = "missing : in object pair";
            break;
        case JSON_PARSER_ERROR_MISSING_COMMA:
            what = text[0] == '[' ? "expected separator in list"
                                  : "expected separator in dict";
            break;
        case JSON_PARSER_ERROR_INVALID_BAREWORD:
            if (text[0] != '{' && text[0] != '[' && len < 256) {
                return g_strdup_printf("JSON parse error, invalid keyword '%.*s'",
                                       (int)len, text);
            }
            break;
        default:
            break;
        }
    }
    return g_strdup_printf("JSON parse error, %s", what);
}
