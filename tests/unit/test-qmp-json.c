/*
 * QMP without sockets: the JSON splitter, QEMU's spelling of values, and a
 * session's transcript (greeting, negotiation, id echo, errors, events).
 */
#include <string.h>

#include "hyvm-version.h"
#include "qapi/qmp.h"
#include "system/main-loop.h"
#include "system/runstate.h"

/* ---- splitter ---- */

static void collect(void *opaque, const char *text, size_t len, const char *error)
{
    GPtrArray *out = opaque;

    g_ptr_array_add(out, error ? g_strdup_printf("ERR:%s", error) : g_strndup(text, len));
}

static GPtrArray *split(const char *const *chunks)
{
    struct json_splitter s;
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    json_splitter_init(&s, collect, out);
    for (; *chunks; chunks++) {
        json_splitter_feed(&s, *chunks, strlen(*chunks));
    }
    json_splitter_destroy(&s);
    return out;
}

static void test_split_values(void)
{
    /* Braces inside strings and escaped quotes do not count. */
    const char *in[] = { "{\"a\": \"}{\\\"\"}  [1, [2]]\r\n", "{\"b\":", " {}}", "12 ",
                         "\"x\\\\\"", "]", NULL };
    g_autoptr(GPtrArray) out = split(in);

    g_assert_cmpuint(out->len, ==, 6);
    g_assert_cmpstr(g_ptr_array_index(out, 0), ==, "{\"a\": \"}{\\\"\"}");
    g_assert_cmpstr(g_ptr_array_index(out, 1), ==, "[1, [2]]");
    g_assert_cmpstr(g_ptr_array_index(out, 2), ==, "{\"b\": {}}");
    g_assert_cmpstr(g_ptr_array_index(out, 3), ==, "12");
    g_assert_cmpstr(g_ptr_array_index(out, 4), ==, "\"x\\\\\"");
    g_assert_cmpstr(g_ptr_array_index(out, 5), ==, "]");
}

static void test_split_byte_by_byte(void)
{
    const char *msg = "{\"execute\":\"x\",\"id\":[1,\"]\"]}{}";
    struct json_splitter s;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

    json_splitter_init(&s, collect, out);
    for (size_t i = 0; i < strlen(msg); i++) {
        json_splitter_feed(&s, msg + i, 1);
    }
    json_splitter_destroy(&s);
    g_assert_cmpuint(out->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(out, 0), ==, "{\"execute\":\"x\",\"id\":[1,\"]\"]}");
    g_assert_cmpstr(g_ptr_array_index(out, 1), ==, "{}");
}

static void test_split_nesting_limit(void)
{
    struct json_splitter s;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *open = g_strnfill(QMP_NESTING_MAX + 10, '[');
    g_autofree char *close = g_strnfill(QMP_NESTING_MAX + 10, ']');

    json_splitter_init(&s, collect, out);
    json_splitter_feed(&s, open, strlen(open));
    json_splitter_feed(&s, close, strlen(close));
    json_splitter_feed(&s, "{}", 2);
    json_splitter_destroy(&s);
    /* One error for the deep value, then the splitter works again. */
    g_assert_cmpuint(out->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(out, 0), ==, "ERR:JSON nesting depth limit exceeded");
    g_assert_cmpstr(g_ptr_array_index(out, 1), ==, "{}");
}

static void test_split_size_limit(void)
{
    struct json_splitter s;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    size_t chunk = 1 << 20;
    g_autofree char *fill = g_strnfill(chunk, 'a');

    json_splitter_init(&s, collect, out);
    json_splitter_feed(&s, "[\"", 2);
    for (unsigned i = 0; i < (QMP_INPUT_MAX / chunk) + 4; i++) {
        json_splitter_feed(&s, fill, chunk);
        /* Memory stays bounded while the rest of the value is skipped. */
        g_assert_cmpuint(s.buf->len, <=, QMP_INPUT_MAX);
    }
    json_splitter_feed(&s, "\"]{}", 4);
    json_splitter_destroy(&s);
    g_assert_cmpuint(out->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(out, 0), ==, "ERR:JSON token size limit exceeded");
    g_assert_cmpstr(g_ptr_array_index(out, 1), ==, "{}");
}

/* ---- writer ---- */

static char *reencode(const char *json)
{
    g_autoptr(JsonParser) p = json_parser_new();

    g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
    return qmp_to_json(json_parser_get_root(p));
}

static void test_writer(void)
{
    static const struct { const char *in, *out; } cases[] = {
        { "{\"b\":1,\"a\":[true,null,-7,1.5]}", "{\"b\": 1, \"a\": [true, null, -7, 1.5]}" },
        { "[]", "[]" },
        { "{}", "{}" },
        { "1e3", "1000" },
        /* QEMU's escapes: upper-case \u, surrogate pairs, "/" as is. */
        { "\"a/\\u00e9\\u0001\\n\\t\\\"\\\\ \\ud83d\\ude00\"",
          "\"a/\\u00E9\\u0001\\n\\t\\\"\\\\ \\uD83D\\uDE00\"" },
        { "\"\\u007f\"", "\"\\u007F\"" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = reencode(cases[i].in);

        g_assert_cmpstr(got, ==, cases[i].out);
    }
}

/* Integers beyond int64 come back as QEMU writes them: a uint64 exactly,
 * anything larger or more negative as a double; strings are untouched. */
static void test_big_numbers(void)
{
    static const struct { const char *in, *out; } cases[] = {
        { "[18446744073709551615]", "[18446744073709551615]" },
        { "[9223372036854775808]", "[9223372036854775808]" },
        { "[9223372036854775807]", "[9223372036854775807]" },
        { "[-9223372036854775808]", "[-9223372036854775808]" },
        { "[-9223372036854775809]", "[-9.2233720368547758e+18]" },
        { "[18446744073709551616]", "[1.8446744073709552e+19]" },
        { "[123456789012345678901234567890]", "[1.2345678901234568e+29]" },
        { "{\"id\": 18446744073709551615, \"s\": \"18446744073709551615\"}",
          "{\"id\": 18446744073709551615, \"s\": \"18446744073709551615\"}" },
        /* A private-use character a client sends stays a string. */
        { "[\"\\ue00012345\"]", "[\"\\uE00012345\"]" },
        { "[0.1, -0, 1e3]", "[0.10000000000000001, 0, 1000]" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *desc = NULL;
        size_t resume;
        g_autofree char *wide = qmp_json_prepare(cases[i].in, strlen(cases[i].in), &desc,
                                                 &resume);
        g_autofree char *got = NULL;

        g_assert_null(desc);
        got = reencode(wide);

        g_assert_cmpstr(got, ==, cases[i].out);
    }
}

/* ---- a session ---- */

static void out_append(void *opaque, const char *text, size_t len)
{
    g_string_append_len(opaque, text, len);
}

static GString *transcript;
static struct qmp_session *sess;

static const char *ask(const char *in)
{
    g_string_truncate(transcript, 0);
    qmp_session_feed(sess, in, strlen(in));
    return transcript->str;
}

static void test_session(void)
{
    g_autofree char *greeting = qmp_greeting();

    transcript = g_string_new(NULL);
    sess = qmp_session_new(out_append, transcript);
    qmp_session_open(sess);
    g_assert_cmpstr(transcript->str, ==,
                    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                    "\"major\": 7}, \"package\": \"hyvm " HYVM_VERSION "\"}, "
                    "\"capabilities\": [\"oob\"]}}\r\n");
    g_assert_true(g_str_has_prefix(transcript->str, greeting));

    g_assert_cmpstr(ask("{\"execute\": \"query-status\", \"id\": 5}"), ==,
                    "{\"id\": 5, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                    "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"qmp_capabilities\", \"id\": [1, {\"a\": 2}]}"), ==,
                    "{\"return\": {}, \"id\": [1, {\"a\": 2}]}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"qmp_capabilities\"}"), ==,
                    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities "
                    "negotiation is already complete, command ignored\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"nosuch\", \"id\": \"s\"}"), ==,
                    "{\"id\": \"s\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                    "\"The command nosuch has not been found\"}}\r\n");
    g_assert_cmpstr(ask("[1]"), ==, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"QMP input must be a JSON object\"}}\r\n");
    g_assert_cmpstr(ask("{}"), ==, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"QMP input lacks member 'execute'\"}}\r\n");
    g_assert_cmpstr(ask("{\"foo\": 1}"), ==, "{\"error\": {\"class\": \"GenericError\", "
                    "\"desc\": \"QMP input member 'foo' is unexpected\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": 1}"), ==, "{\"error\": {\"class\": \"GenericError\", "
                    "\"desc\": \"QMP input member 'execute' must be a string\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"stop\", \"arguments\": []}"), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"QMP input member 'arguments' must be an object\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"query-status\", \"arguments\": {\"x\": 1}}"), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"Parameter 'x' is unexpected\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"human-monitor-command\"}"), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"Parameter 'command-line' is missing\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"human-monitor-command\", "
                        "\"arguments\": {\"command-line\": 5}}"), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"Invalid parameter type for 'command-line', expected: string\"}}\r\n");
    /* A parse error answers and the session goes on. */
    g_assert_cmpstr(ask("{\"a\" 1}"), ==, "{\"error\": {\"class\": \"GenericError\", "
                    "\"desc\": \"JSON parse error, missing : in object pair\"}}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"query-status\", \"id\": null}"), ==,
                    "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, "
                    "\"running\": false}, \"id\": null}\r\n");
    g_assert_cmpstr(ask("{\"execute\": \"query-version\"}"), ==,
                    "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
                    "\"package\": \"hyvm " HYVM_VERSION "\"}}\r\n");
    g_assert_nonnull(strstr(ask("{\"execute\": \"query-commands\"}"),
                            "{\"name\": \"query-status\"}"));

    /* RESUME goes out before cont's return, STOP before stop's. */
    ask("{\"execute\": \"cont\", \"id\": 1}");
    g_assert_true(g_str_has_prefix(transcript->str, "{\"timestamp\": {\"seconds\": "));
    g_assert_true(g_str_has_suffix(transcript->str,
                                   "\"event\": \"RESUME\"}\r\n{\"return\": {}, \"id\": 1}\r\n"));
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "running");
    ask("{\"execute\": \"stop\"}");
    g_assert_true(g_str_has_suffix(transcript->str,
                                   "\"event\": \"STOP\"}\r\n{\"return\": {}}\r\n"));
    g_assert_cmpstr(ask("{\"execute\": \"stop\"}"), ==, "{\"return\": {}}\r\n");

    /* A new client starts over with negotiation. */
    qmp_session_close(sess);
    qmp_session_open(sess);
    g_assert_true(g_str_has_prefix(
        ask("{\"execute\": \"query-status\"}"),
        "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting"));
    ask("{\"execute\": \"qmp_capabilities\"}");

    /* quit: SHUTDOWN with its reason, then the return. */
    ask("{\"execute\": \"quit\"}");
    g_assert_true(g_str_has_suffix(transcript->str,
                                   "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
                                   "\"reason\": \"host-qmp-quit\"}}\r\n{\"return\": {}}\r\n"));
    g_assert_true(vm_exit_requested());

    qmp_session_free(sess);
    g_string_free(transcript, TRUE);
}

#define PARSE_ERR(what) "{\"error\": {\"class\": \"GenericError\", \"desc\": " \
                        "\"JSON parse error, " what "\"}}\r\n"

/* Malformed input gets QEMU 7.2's verdicts, word for word and line for
 * line (the transcripts were taken from qemu-system-x86_64 itself), and
 * the session goes on working. */
static void test_parse_errors(void)
{
    static const struct { const char *in, *out; } cases[] = {
        { "{\"execute\": \"query-name\", \"id\": tru}", PARSE_ERR("invalid keyword 'tru'") },
        { "{\"execute\": \"query-name\",}", PARSE_ERR("expecting value") },
        { "{\"execute\": \"query-name\" \"x\": 1}", PARSE_ERR("expected separator in dict") },
        { "{\"id\": [1 2]}", PARSE_ERR("expected separator in list") },
        { "{\"id\": {\"a\"}}", PARSE_ERR("missing : in object pair") },
        { "{1: 2}", PARSE_ERR("key is not a string in object") },
        { "{\"id\": \"\\x\"}", PARSE_ERR("invalid escape sequence in string") },
        { "{\"id\": \"\\ud800\"}", PARSE_ERR("\\\\ud800 is not a valid Unicode character") },
        { "{\"id\": \"\\u12\"}", PARSE_ERR("\\\\u12\\\" is not a valid Unicode character") },
        { "{\"id\": \"\xc3\"}", PARSE_ERR("invalid UTF-8 sequence in string") },
        /* A lexing error; what follows it is read again as new input. */
        { "{\"id\": 01}", PARSE_ERR("stray '01'") PARSE_ERR("expecting value") },
        { "{\"id\": -}", PARSE_ERR("stray '-}'") },
        { "{\"id\": 1e}", PARSE_ERR("stray '1e}'") },
        { "{\"id\": @}", PARSE_ERR("stray '@'") PARSE_ERR("expecting value") },
        { "{\"id\": True}", PARSE_ERR("stray 'T'") PARSE_ERR("expecting value") },
        { "{\"id\": \"a\tb\"}", PARSE_ERR("stray '\\\"a\\t'") PARSE_ERR("expecting value") },
        /* What QEMU accepts: NUL (escaped or modified UTF-8), exponents. */
        { "{\"execute\": \"query-name\", \"id\": \"\\u0000\"}",
          "{\"return\": {}, \"id\": \"\\u0000\"}\r\n" },
        { "{\"execute\": \"query-name\", \"id\": \"a\xc0\x80\"}",
          "{\"return\": {}, \"id\": \"a\\u0000\"}\r\n" },
        { "{\"execute\": \"query-name\", \"id\": 1E+2}", "{\"return\": {}, \"id\": 100}\r\n" },
        { "{'execute': 'query-name', 'id': 'it\\'s }'}",
          "{\"return\": {}, \"id\": \"it's }\"}\r\n" },
        { "{\"execute\": \"query-name\", \"control\": {}}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"QMP input member 'control' is unexpected\"}}\r\n" },
    };

    transcript = g_string_new(NULL);
    sess = qmp_session_new(out_append, transcript);
    qmp_session_open(sess);
    ask("{\"execute\": \"qmp_capabilities\"}");
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpstr(ask(cases[i].in), ==, cases[i].out);
    }
    qmp_session_free(sess);
    g_string_free(transcript, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* Events are sent at once by a thread holding the big lock, as the main thread does. */
    bql_lock();
    g_test_add_func("/qmp/split/values", test_split_values);
    g_test_add_func("/qmp/split/byte-by-byte", test_split_byte_by_byte);
    g_test_add_func("/qmp/split/nesting-limit", test_split_nesting_limit);
    g_test_add_func("/qmp/split/size-limit", test_split_size_limit);
    g_test_add_func("/qmp/writer", test_writer);
    g_test_add_func("/qmp/big-numbers", test_big_numbers);
    g_test_add_func("/qmp/parse-errors", test_parse_errors);
    g_test_add_func("/qmp/session", test_session);
    return g_test_run();
}
