/* server/query.c: percent-decoding and request-target parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/conn.h"

/* ---- srv_url_decode ---- */

/* Decodes s into a fresh buffer; returns the result code, output in out. */
static int decode(const char *s, bool plus_is_space, struct buf *out)
{
    *out = (struct buf)BUF_INIT;
    return srv_url_decode(s, strlen(s), out, plus_is_space);
}

static void assert_decodes(const char *in, bool plus_is_space, const char *want)
{
    struct buf b;
    assert_int_equal(decode(in, plus_is_space, &b), 0);
    assert_int_equal(b.len, strlen(want) + 1); /* the NUL is part of the output */
    assert_string_equal(b.data, want);
    buf_done(&b);
}

static void assert_decode_fails(const char *in)
{
    struct buf b;
    assert_int_equal(decode(in, true, &b), -EINVAL);
    buf_done(&b);
}

static void test_decode_plain(void **state)
{
    (void)state;
    assert_decodes("/containers/json", false, "/containers/json");
    assert_decodes("", false, "");
}

static void test_decode_escapes(void **state)
{
    (void)state;
    assert_decodes("a%2Fb", false, "a/b");
    assert_decodes("a%2fb", false, "a/b");
    assert_decodes("%7B%22a%22%3A1%7D", false, "{\"a\":1}");
    assert_decodes("%25", false, "%");
    assert_decodes("x%20", false, "x ");
}

static void test_decode_plus(void **state)
{
    (void)state;
    assert_decodes("a+b", true, "a b");
    assert_decodes("a+b", false, "a+b");
    assert_decodes("a%2Bb", true, "a+b");
}

static void test_decode_malformed(void **state)
{
    (void)state;
    assert_decode_fails("%zz");
    assert_decode_fails("a%g1");
    assert_decode_fails("a%1");
    assert_decode_fails("a%");
    assert_decode_fails("%00");
    assert_decode_fails("ab%00cd");
}

static void test_decode_appends(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(srv_url_decode("ab", 2, &b, false), 0);
    assert_int_equal(srv_url_decode("c%41", 4, &b, false), 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "ab\0cA\0", 6);
    buf_done(&b);
}

static void test_decode_length_bounded(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    /* Only the first len bytes count: "%4" is truncated, not "%41". */
    assert_int_equal(srv_url_decode("x%41", 3, &b, false), -EINVAL);
    buf_reset(&b);
    assert_int_equal(srv_url_decode("abcdef", 3, &b, false), 0);
    assert_string_equal(b.data, "abc");
    buf_done(&b);
}

/* ---- srv_parse_request_target ---- */

static int setup_conn(void **state)
{
    struct srv_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    *state = c;
    return 0;
}

static int teardown_conn(void **state)
{
    struct srv_conn *c = *state;
    buf_done(&c->url);
    buf_done(&c->scratch);
    free(c->query_kv);
    free(c);
    return 0;
}

static int parse(struct srv_conn *c, const char *target)
{
    buf_reset(&c->url);
    assert_int_equal(buf_append_str(&c->url, target), 0);
    size_t off = 99;
    int r = srv_parse_request_target(c, &off);
    if (r == 0)
        assert_int_equal(off, 0);
    return r;
}

static void assert_kv(const struct srv_conn *c, size_t i, const char *key, const char *value)
{
    assert_true(i < c->req.nquery);
    assert_string_equal(c->req.query[i].key, key);
    assert_string_equal(c->req.query[i].value, value);
}

static void test_target_path_only(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/containers/json"), 0);
    assert_string_equal(c->scratch.data, "/containers/json");
    assert_int_equal(c->req.nquery, 0);
}

static void test_target_path_decoded_without_plus(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/images/a%2Fb+c/json?x=1"), 0);
    assert_string_equal(c->scratch.data, "/images/a/b+c/json");
}

static void test_target_query(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/containers/json?all=1&filters=%7B%22a%22%3A1%7D&q=a+b"), 0);
    assert_string_equal(c->scratch.data, "/containers/json");
    assert_int_equal(c->req.nquery, 3);
    assert_ptr_equal(c->req.query, c->query_kv);
    assert_kv(c, 0, "all", "1");
    assert_kv(c, 1, "filters", "{\"a\":1}");
    assert_kv(c, 2, "q", "a b");
}

static void test_target_repeated_keys(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/x?t=a&t=b&t=c"), 0);
    assert_int_equal(c->req.nquery, 3);
    assert_kv(c, 0, "t", "a");
    assert_kv(c, 1, "t", "b");
    assert_kv(c, 2, "t", "c");
}

static void test_target_key_without_value(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/x?a=1&&b&c="), 0);
    assert_int_equal(c->req.nquery, 3);
    assert_kv(c, 0, "a", "1");
    assert_kv(c, 1, "b", "");
    assert_kv(c, 2, "c", "");
}

static void test_target_empty_pairs(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/x?"), 0);
    assert_int_equal(c->req.nquery, 0);
    assert_int_equal(parse(c, "/x?&&&"), 0);
    assert_int_equal(c->req.nquery, 0);
    assert_string_equal(c->scratch.data, "/x");
}

static void test_target_value_with_equals(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/x?label=a=b"), 0);
    assert_int_equal(c->req.nquery, 1);
    assert_kv(c, 0, "label", "a=b");
}

static void test_target_many_pairs(void **state)
{
    struct srv_conn *c = *state;
    char target[512] = "/x?";
    for (int i = 0; i < 40; i++)
        snprintf(target + strlen(target), sizeof(target) - strlen(target), "k%d=v%d&", i, i);
    assert_int_equal(parse(c, target), 0);
    assert_int_equal(c->req.nquery, 40);
    assert_kv(c, 0, "k0", "v0");
    assert_kv(c, 39, "k39", "v39");
}

static void test_target_reparse_resets(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/first?a=1&b=2"), 0);
    assert_int_equal(parse(c, "/second?c=3"), 0);
    assert_string_equal(c->scratch.data, "/second");
    assert_int_equal(c->req.nquery, 1);
    assert_kv(c, 0, "c", "3");
}

static void test_target_malformed(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "/x%zz"), -EINVAL);
    assert_int_equal(parse(c, "/x?a=%zz"), -EINVAL);
    assert_int_equal(parse(c, "/x?%00=1"), -EINVAL);
    assert_int_equal(parse(c, "/x?a=%"), -EINVAL);
}

static void test_target_not_origin_form(void **state)
{
    struct srv_conn *c = *state;
    assert_int_equal(parse(c, "x"), -EINVAL);
    assert_int_equal(parse(c, "http://h/x"), -EINVAL);
    assert_int_equal(parse(c, "*"), -EINVAL);
}

#define CONN_TEST(f) cmocka_unit_test_setup_teardown(f, setup_conn, teardown_conn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_plain),
        cmocka_unit_test(test_decode_escapes),
        cmocka_unit_test(test_decode_plus),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_decode_appends),
        cmocka_unit_test(test_decode_length_bounded),
        CONN_TEST(test_target_path_only),
        CONN_TEST(test_target_path_decoded_without_plus),
        CONN_TEST(test_target_query),
        CONN_TEST(test_target_repeated_keys),
        CONN_TEST(test_target_key_without_value),
        CONN_TEST(test_target_empty_pairs),
        CONN_TEST(test_target_value_with_equals),
        CONN_TEST(test_target_many_pairs),
        CONN_TEST(test_target_reparse_resets),
        CONN_TEST(test_target_malformed),
        CONN_TEST(test_target_not_origin_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
