/*
 * QEMU's key=value syntax and number spellings (system/keyval.c).
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "system/error.h"
#include "system/keyval.h"

static struct kv_list *parse_ok(const char *s, const char *implied)
{
    g_autoptr(GError) err = NULL;
    struct kv_list *kv = kv_parse(s, implied, &err);

    g_assert_no_error(err);
    g_assert_nonnull(kv);
    return kv;
}

static void assert_pair(const struct kv_list *kv, unsigned i, const char *key,
                        const char *value)
{
    g_assert_cmpuint(i, <, kv->n);
    g_assert_cmpstr(kv->items[i].key, ==, key);
    g_assert_cmpstr(kv->items[i].value, ==, value);
}

static void test_implied_key(void)
{
    struct kv_list *kv = parse_ok("pc,accel=kvm", "type");

    g_assert_cmpuint(kv->n, ==, 2);
    assert_pair(kv, 0, "type", "pc");
    assert_pair(kv, 1, "accel", "kvm");
    g_assert_cmpstr(kv_get(kv, "type"), ==, "pc");
    kv_free(kv);

    /* Only the first element can be the implied value. */
    kv = parse_ok("a,b", "x");
    g_assert_cmpuint(kv->n, ==, 2);
    assert_pair(kv, 0, "x", "a");
    assert_pair(kv, 1, "b", "on");
    kv_free(kv);

    /* A first element with '=' names its key. */
    kv = parse_ok("type=microvm,x=1", "type");
    g_assert_cmpuint(kv->n, ==, 2);
    assert_pair(kv, 0, "type", "microvm");
    kv_free(kv);

    /* Without an implied key a bare word is a boolean. */
    kv = parse_ok("server", NULL);
    g_assert_cmpuint(kv->n, ==, 1);
    assert_pair(kv, 0, "server", "on");
    kv_free(kv);
}

static void test_comma_escape(void)
{
    struct kv_list *kv = parse_ok("file,path=a,,b,,,,c,append=on", "backend");

    g_assert_cmpuint(kv->n, ==, 3);
    assert_pair(kv, 0, "backend", "file");
    assert_pair(kv, 1, "path", "a,b,,c");
    assert_pair(kv, 2, "append", "on");
    kv_free(kv);

    kv = parse_ok("a,,b", "x");
    g_assert_cmpuint(kv->n, ==, 1);
    assert_pair(kv, 0, "x", "a,b");
    kv_free(kv);

    /* '=' inside a value is part of it. */
    kv = parse_ok("opt=a=b", NULL);
    assert_pair(kv, 0, "opt", "a=b");
    kv_free(kv);
}

static void test_old_booleans(void)
{
    struct kv_list *kv = parse_ok("socket,path=/tmp/s,server,nowait", "backend");

    g_assert_cmpuint(kv->n, ==, 4);
    assert_pair(kv, 2, "server", "on");
    assert_pair(kv, 3, "wait", "off");
    kv_free(kv);

    /* "nodelay" is delay=off, as in QEMU; "no" alone is a key. */
    kv = parse_ok("x,nodelay,no", "backend");
    assert_pair(kv, 1, "delay", "off");
    assert_pair(kv, 2, "no", "on");
    kv_free(kv);
}

static void test_edges(void)
{
    g_autoptr(GError) err = NULL;
    struct kv_list *kv;

    kv = parse_ok("", "x");
    g_assert_cmpuint(kv->n, ==, 0);
    g_assert_null(kv_get(kv, "x"));
    g_assert_false(kv_has(kv, "x"));
    kv_free(kv);

    /* A trailing comma and an empty middle element set nothing. */
    kv = parse_ok("a,", "x");
    g_assert_cmpuint(kv->n, ==, 1);
    kv_free(kv);

    kv = parse_ok("key=", NULL);
    assert_pair(kv, 0, "key", "");
    g_assert_true(kv_has(kv, "key"));
    kv_free(kv);

    /* The last value given wins for kv_get; all are kept in order. */
    kv = parse_ok("a=1,b=2,a=3", NULL);
    g_assert_cmpuint(kv->n, ==, 3);
    g_assert_cmpstr(kv_get(kv, "a"), ==, "3");
    g_assert_cmpstr(kv_get(kv, "b"), ==, "2");
    kv_free(kv);

    g_assert_null(kv_parse("a,=b", "x", &err));
    g_assert_error(err, HYVM_ERROR, HYVM_ERROR_FAILED);
    g_assert_cmpstr(err->message, ==, "Invalid parameter ''");
    kv_free(NULL);
}

static void test_bool(void)
{
    static const struct { const char *s; bool ok, v; } cases[] = {
        { "on", true, true }, { "yes", true, true }, { "true", true, true },
        { "off", true, false }, { "no", true, false }, { "false", true, false },
        { "On", false, false }, { "1", false, false }, { "", false, false },
        { "onn", false, false }, { "y", false, false },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        bool v = !cases[i].v;

        g_assert_cmpint(parse_bool(cases[i].s, &v), ==, cases[i].ok);
        if (cases[i].ok) {
            g_assert_cmpint(v, ==, cases[i].v);
        }
    }
}

static void test_size(void)
{
    static const struct { const char *s; uint64_t unit; int ret; uint64_t v; } cases[] = {
        { "0", 1, 0, 0 },
        { "1", 1, 0, 1 },
        { "1", 1 << 20, 0, 1 << 20 },
        { "1b", 1 << 20, 0, 1 },
        { "1k", 1, 0, 1024 },
        { "1K", 1, 0, 1024 },
        { "2M", 1, 0, 2ull << 20 },
        { "3G", 1, 0, 3ull << 30 },
        { "1T", 1, 0, 1ull << 40 },
        { "1P", 1, 0, 1ull << 50 },
        { "1E", 1, 0, 1ull << 60 },
        { "15E", 1, 0, 15ull << 60 },
        { "1.5G", 1, 0, 3ull << 29 },
        { "1.5k", 1, 0, 1536 },
        { "0.5M", 1, 0, 512 << 10 },
        { "1.5", 1 << 20, 0, 3 << 19 },
        { "0x10", 1, 0, 16 },
        { "0x10k", 1, 0, 16 << 10 },
        { "18446744073709551615", 1, 0, UINT64_MAX },
        /* A fraction of a byte means nothing. */
        { "1.5", 1, -EINVAL, 0 },
        { "16E", 1, -ERANGE, 0 },
        { "18446744073709551616", 1, -ERANGE, 0 },
        { "99999999999999T", 1, -ERANGE, 0 },
        { "-1", 1, -EINVAL, 0 },
        { "1Q", 1, -EINVAL, 0 },
        { "", 1, -EINVAL, 0 },
        { "foo", 1, -EINVAL, 0 },
        { " 1", 1, -EINVAL, 0 },
        { "1 ", 1, -EINVAL, 0 },
        { "1.", 1, -EINVAL, 0 },
        { ".5k", 1, -EINVAL, 0 },
        { "0x1.5k", 1, -EINVAL, 0 },
        { "0x", 1, -EINVAL, 0 },
        { "1kk", 1, -EINVAL, 0 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t v = 12345;
        int ret = parse_size(cases[i].s, cases[i].unit, &v);

        if (ret != cases[i].ret || (ret == 0 && v != cases[i].v)) {
            g_test_message("parse_size(\"%s\", %" G_GUINT64_FORMAT "): %d, %" G_GUINT64_FORMAT,
                           cases[i].s, cases[i].unit, ret, v);
            g_test_fail();
        }
        if (ret < 0) {
            g_assert_cmpuint(v, ==, 12345);
        }
    }
}

static void test_uint(void)
{
    static const struct { const char *s; int ret; uint64_t v; } cases[] = {
        { "0", 0, 0 }, { "42", 0, 42 }, { "0x1f", 0, 31 }, { "0X10", 0, 16 },
        { "010", 0, 8 }, { "18446744073709551615", 0, UINT64_MAX },
        { "18446744073709551616", -ERANGE, 0 }, { "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 },
        { "", -EINVAL, 0 }, { "1a", -EINVAL, 0 }, { " 1", -EINVAL, 0 }, { "0x", -EINVAL, 0 },
        { "zz", -EINVAL, 0 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t v = 0;
        int ret = parse_uint(cases[i].s, &v);

        if (ret != cases[i].ret || (ret == 0 && v != cases[i].v)) {
            g_test_message("parse_uint(\"%s\"): %d, %" G_GUINT64_FORMAT, cases[i].s, ret, v);
            g_test_fail();
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/keyval/implied-key", test_implied_key);
    g_test_add_func("/keyval/comma-escape", test_comma_escape);
    g_test_add_func("/keyval/old-booleans", test_old_booleans);
    g_test_add_func("/keyval/edges", test_edges);
    g_test_add_func("/keyval/bool", test_bool);
    g_test_add_func("/keyval/size", test_size);
    g_test_add_func("/keyval/uint", test_uint);
    return g_test_run();
}
