/*
 * QMP input checked the way QEMU 7.2 checks it, before json-glib builds the
 * tree: the same grammar, the same verdicts, the same words.  QEMU's JSON
 * is a little wider than RFC 8259 (single-quoted strings, \' escapes) and
 * a little stricter in places json-glib is lax (escapes, number syntax,
 * UTF-8), so neither json-glib's acceptance nor its errors would match.
 *
 * Two stages, as in QEMU:
 *   lexing  - any byte that cannot continue a token is an error at once:
 *             "stray 'TOKEN'" with the token's text up to that byte;
 *   parsing - in document order, the first of: "expecting value",
 *             "premature EOI",
 *             "invalid keyword 'x'", "key is not a string in object",
 *             "missing : in object pair", "expected separator in dict",
 *             "expected separator in list", and the string checks
 *             ("invalid escape sequence in string", "\uXXXX is not a valid
 *             Unicode character", "invalid UTF-8 sequence in string").
 *
 * While checking, the text is rewritten for json-glib (qmp.h).
 *
 * Threads: main thread (each call is self-contained).
 */
#include <errno.h>
#include <string.h>

#include "qapi/qmp-internal.h"

enum tok_type {
    TOK_LCURLY, TOK_RCURLY, TOK_LSQUARE, TOK_RSQUARE, TOK_COLON, TOK_COMMA,
    TOK_STRING, TOK_INTEGER, TOK_FLOAT, TOK_KEYWORD, TOK_END,
};

struct tok {
    enum tok_type type;
    size_t start, len;
};

struct json_check {
    const char *text;
    size_t len;
    GArray *toks;       /* struct tok */
    guint pos;          /* next token for the parser */
    char *err;          /* the first error, QEMU's words */
    size_t resume;      /* after a lexing error: where lexing starts again */
    GString *out;       /* the rewritten text */
    unsigned depth;
};

static void check_error(struct json_check *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void check_error(struct json_check *c, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (c->err) {
        return;     /* the first error wins, as in QEMU's parser */
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    c->err = g_strdup_printf("JSON parse error, %s", msg);
}

/* ---- the lexer ---- */

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Length of the number at p, or 0 with *bad = the length up to and
 * including the byte that broke it.  Grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?; a digit right after a leading 0 is an error. */
static size_t lex_number(const char *p, size_t n, bool *is_float, size_t *bad)
{
    size_t i = 0;

    *is_float = false;
    if (p[i] == '-') {
        i++;
    }
    if (i >= n || !g_ascii_isdigit(p[i])) {
        *bad = MIN(i + 1, n);
        return 0;
    }
    if (p[i] == '0') {
        i++;
        if (i < n && g_ascii_isdigit(p[i])) {
            *bad = i + 1;
            return 0;
        }
    } else {
        while (i < n && g_ascii_isdigit(p[i])) {
            i++;
        }
    }
    if (i < n && p[i] == '.') {
        *is_float = true;
        i++;
        if (i >= n || !g_ascii_isdigit(p[i])) {
            *bad = MIN(i + 1, n);
            return 0;
        }
        while (i < n && g_ascii_isdigit(p[i])) {
            i++;
        }
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        *is_float = true;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) {
            i++;
        }
        if (i >= n || !g_ascii_isdigit(p[i])) {
            *bad = MIN(i + 1, n);
            return 0;
        }
        while (i < n && g_ascii_isdigit(p[i])) {
            i++;
        }
    }
    return i;
}

/* Length of the string token at p (quotes included), or 0 with *bad.
 * Control characters and the bytes 0xFE/0xFF, which no UTF-8 text holds,
 * end the lexer's patience; everything else is left to the parser. */
static size_t lex_string(const char *p, size_t n, size_t *bad)
{
    char quote = p[0];

    for (size_t i = 1; i < n; i++) {
        unsigned char ch = p[i];

        if (ch < 0x20 || ch >= 0xfe) {
            *bad = i + 1;
            return 0;
        }
        if (ch == '\\') {
            i++;
            if (i < n && ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0xfe)) {
                *bad = i + 1;
                return 0;
            }
        } else if (ch == quote) {
            return i + 1;
        }
    }
    *bad = n;
    return 0;
}

static bool lex(struct json_check *c)
{
    const char *t = c->text;
    size_t i = 0, n = c->len;

    while (i < n) {
        struct tok k = { .start = i, .len = 1 };
        size_t bad = 0;
        bool is_float;
        char ch = t[i];

        if (is_ws(ch)) {
            i++;
            continue;
        }
        switch (ch) {
        case '{': k.type = TOK_LCURLY; break;
        case '}': k.type = TOK_RCURLY; break;
        case '[': k.type = TOK_LSQUARE; break;
        case ']': k.type = TOK_RSQUARE; break;
        case ':': k.type = TOK_COLON; break;
        case ',': k.type = TOK_COMMA; break;
        case '"':
        case '\'':
            k.type = TOK_STRING;
            k.len = lex_string(t + i, n - i, &bad);
            break;
        default:
            if (ch == '-' || g_ascii_isdigit(ch)) {
                k.len = lex_number(t + i, n - i, &is_float, &bad);
                k.type = is_float ? TOK_FLOAT : TOK_INTEGER;
            } else if (ch >= 'a' && ch <= 'z') {
                k.type = TOK_KEYWORD;
                for (k.len = 0; i + k.len < n && t[i + k.len] >= 'a' && t[i + k.len] <= 'z';
                     k.len++) {
                }
            } else {
                k.len = 0;
                bad = 1;
            }
            break;
        }
        if (!k.len) {
            check_error(c, "stray '%.*s'", (int)bad, t + i);
            /* QEMU's lexer then drops input up to the next structural
             * character or white space and starts afresh there. */
            for (i += bad; i < n && !strchr("{}[],: \t\r\n", t[i]); i++) {
            }
            c->resume = i;
            return false;
        }
        g_array_append_val(c->toks, k);
        i += k.len;
    }
    return true;
}

/* ---- the parser ---- */

static const struct tok *peek(struct json_check *c)
{
    static const struct tok end = { .type = TOK_END };

    return c->pos < c->toks->len ? &g_array_index(c->toks, struct tok, c->pos) : &end;
}

static const struct tok *next(struct json_check *c)
{
    const struct tok *k = peek(c);

    if (c->pos < c->toks->len) {
        c->pos++;
    }
    return k;
}

static int hex4(const char *p, size_t avail)
{
    int v = 0;

    if (avail < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(p[i]);

        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* One UTF-8 sequence at p: its length, or 0 when it is not the shortest
 * form of a scalar value (QEMU refuses overlong forms and surrogates). */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
    gunichar cp = g_utf8_get_char_validated((const char *)p, avail);

    if (cp == (gunichar)-1 || cp == (gunichar)-2) {
        return 0;
    }
    return g_utf8_skip[*p];
}

/* Checks a string token's contents and writes it as a double-quoted JSON
 * string json-glib reads; \u0000 becomes the NUL marker. */
static void parse_string(struct json_check *c, const struct tok *k)
{
    const char *p = c->text + k->start + 1;
    const char *end = c->text + k->start + k->len - 1;   /* the closing quote */
    const char *tag = qmp_json_marker();

    g_string_append_c(c->out, '"');
    while (p < end && !c->err) {
        if (*p == '\\') {
            const char *esc = p;

            p++;
            switch (*p) {
            case '"': g_string_append(c->out, "\\\""); p++; break;
            case '\'': g_string_append_c(c->out, '\''); p++; break;
            case '\\': g_string_append(c->out, "\\\\"); p++; break;
            case '/': g_string_append_c(c->out, '/'); p++; break;
            case 'b': g_string_append(c->out, "\\b"); p++; break;
            case 'f': g_string_append(c->out, "\\f"); p++; break;
            case 'n': g_string_append(c->out, "\\n"); p++; break;
            case 'r': g_string_append(c->out, "\\r"); p++; break;
            case 't': g_string_append(c->out, "\\t"); p++; break;
            case 'u': {
                int cp = hex4(p + 1, end - p - 1);
                int len = 6;

                if (cp >= 0xd800 && cp <= 0xdbff && end - esc >= 12 && esc[6] == '\\' &&
                    esc[7] == 'u') {
                    int lo = hex4(esc + 8, end - esc - 8);

                    if (lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        len = 12;
                    }
                }
                if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
                    check_error(c, "%.*s is not a valid Unicode character",
                                (int)MIN(6, end + 1 - esc), esc);
                    break;
                }
                if (cp == 0) {
                    g_string_append_printf(c->out, "\\ue000%sN", tag + 3);
                } else {
                    g_string_append_unichar(c->out, cp);
                }
                p = esc + len;
                break;
            }
            default:
                check_error(c, "invalid escape sequence in string");
                break;
            }
        } else if ((unsigned char)*p < 0x80) {
            if (*p == '"') {
                g_string_append(c->out, "\\\"");
            } else {
                g_string_append_c(c->out, *p);
            }
            p++;
        } else if ((unsigned char)p[0] == 0xc0 && end - p >= 2 &&
                   (unsigned char)p[1] == 0x80) {
            /* Modified UTF-8's NUL, which QEMU reads as U+0000. */
            g_string_append_printf(c->out, "\\ue000%sN", tag + 3);
            p += 2;
        } else {
            size_t l = utf8_len((const unsigned char *)p, end - p);

            if (!l) {
                check_error(c, "invalid UTF-8 sequence in string");
                break;
            }
            g_string_append_len(c->out, p, l);
            p += l;
        }
    }
    g_string_append_c(c->out, '"');
}

/* An integer that does not fit int64 stays exact as a uint64 when it fits
 * that, else becomes a double: QEMU's rules, through the markers. */
static void write_integer(struct json_check *c, const struct tok *k)
{
    g_autofree char *lit = g_strndup(c->text + k->start, k->len);
    char *endp;

    errno = 0;
    (void)g_ascii_strtoll(lit, &endp, 10);
    if (errno != ERANGE) {
        g_string_append(c->out, lit);
        return;
    }
    if (lit[0] != '-') {
        errno = 0;
        (void)g_ascii_strtoull(lit, &endp, 10);
        if (errno != ERANGE) {
            g_string_append_printf(c->out, "\"\\ue000%s%s\"", qmp_json_marker() + 3, lit);
            return;
        }
    }
    g_string_append_printf(c->out, "%s.0", lit);
}

static bool parse_value(struct json_check *c);

static void parse_object(struct json_check *c)
{
    const struct tok *k;

    g_string_append_c(c->out, '{');
    if (peek(c)->type == TOK_RCURLY) {
        next(c);
        g_string_append_c(c->out, '}');
        return;
    }
    for (;;) {
        /* A pair: a string key, a colon, a value. */
        k = peek(c);
        if (!parse_value(c)) {
            return;
        }
        if (k->type != TOK_STRING) {
            check_error(c, "key is not a string in object");
            return;
        }
        k = next(c);
        if (k->type != TOK_COLON) {
            check_error(c, k->type == TOK_END ? "premature EOI" : "missing : in object pair");
            return;
        }
        g_string_append_c(c->out, ':');
        if (!parse_value(c)) {
            return;
        }
        k = next(c);
        if (k->type == TOK_RCURLY) {
            g_string_append_c(c->out, '}');
            return;
        }
        if (k->type != TOK_COMMA) {
            check_error(c, k->type == TOK_END ? "premature EOI" : "expected separator in dict");
            return;
        }
        g_string_append_c(c->out, ',');
    }
}

static void parse_array(struct json_check *c)
{
    const struct tok *k;

    g_string_append_c(c->out, '[');
    if (peek(c)->type == TOK_RSQUARE) {
        next(c);
        g_string_append_c(c->out, ']');
        return;
    }
    for (;;) {
        if (!parse_value(c)) {
            return;
        }
        k = next(c);
        if (k->type == TOK_RSQUARE) {
            g_string_append_c(c->out, ']');
            return;
        }
        if (k->type != TOK_COMMA) {
            check_error(c, k->type == TOK_END ? "premature EOI" : "expected separator in list");
            return;
        }
        g_string_append_c(c->out, ',');
    }
}

static bool parse_value(struct json_check *c)
{
    const struct tok *k = next(c);
    const char *s = c->text + k->start;

    switch (k->type) {
    case TOK_LCURLY:
    case TOK_LSQUARE:
        /* The splitter caps nesting before this runs; this is a backstop. */
        if (++c->depth > 1024) {
            check_error(c, "expecting value");
            return false;
        }
        if (k->type == TOK_LCURLY) {
            parse_object(c);
        } else {
            parse_array(c);
        }
        c->depth--;
        break;
    case TOK_STRING:
        parse_string(c, k);
        break;
    case TOK_INTEGER:
        write_integer(c, k);
        break;
    case TOK_FLOAT:
        g_string_append_len(c->out, s, k->len);
        break;
    case TOK_KEYWORD:
        if ((k->len == 4 && !strncmp(s, "true", 4)) ||
            (k->len == 5 && !strncmp(s, "false", 5)) ||
            (k->len == 4 && !strncmp(s, "null", 4))) {
            g_string_append_len(c->out, s, k->len);
        } else {
            check_error(c, "invalid keyword '%.*s'", (int)k->len, s);
        }
        break;
    case TOK_END:
        /* Only -device's JSON can end early: QMP input is whole values. */
        check_error(c, "premature EOI");
        break;
    default:
        check_error(c, "expecting value");
        break;
    }
    return !c->err;
}

char *qmp_json_prepare(const char *text, size_t len, char **desc, size_t *resume)
{
    struct json_check c = {
        .text = text, .len = len, .resume = len,
        .toks = g_array_new(FALSE, FALSE, sizeof(struct tok)),
        .out = g_string_sized_new(len + 16),
    };

    if (lex(&c) && parse_value(&c) && c.pos < c.toks->len) {
        /* Tokens after the value: the caller decides (QMP never has any). */
        c.resume = g_array_index(c.toks, struct tok, c.pos).start;
    }
    g_array_free(c.toks, TRUE);
    *resume = c.resume;
    if (c.err) {
        *desc = c.err;
        g_string_free(c.out, TRUE);
        return NULL;
    }
    *desc = NULL;
    return g_string_free(c.out, FALSE);
}
