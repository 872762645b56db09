/* server/request.c: query and header accessors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "server/http.h"

static const struct srv_kv query[] = {
    {"one", "1"},
    {"zero", "0"},
    {"empty", ""},
    {"no", "no"},
    {"NO", "NO"},
    {"false", "False"},
    {"none", "NONE"},
    {"yes", "yes"},
    {"true", "true"},
    {"padded", "  no  "},
    {"padded1", " 1\t"},
    {"spaces", "   "},
    {"word", "nope"},
    {"two", "2"},
    {"neg", "-42"},
    {"big", "9223372036854775807"},
    {"over", "9223372036854775808"},
    {"junk", "12abc"},
    {"abc", "abc"},
    {"dup", "first"},
    {"dup", "second"},
    {"float", "1.5"},
};

static const struct srv_kv headers[] = {
    {"Content-Type", "application/json"},
    {"X-Registry-Auth", "e30="},
    {"host", "localhost"},
};

static struct srv_req make_req(void)
{
    struct srv_req req;
    memset(&req, 0, sizeof(req));
    req.query = query;
    req.nquery = ARRAY_SIZE(query);
    req.headers = headers;
    req.nheaders = ARRAY_SIZE(headers);
    return req;
}

static void test_query_lookup(void **state)
{
    (void)state;
    struct srv_req req = make_req();
    assert_string_equal(srv_req_query(&req, "one"), "1");
    assert_string_equal(srv_req_query(&req, "empty"), "");
    assert_null(srv_req_query(&req, "missing"));
    /* The first of repeated keys wins. */
    assert_string_equal(srv_req_query(&req, "dup"), "first");
    /* Query keys are case-sensitive. */
    assert_string_equal(srv_req_query(&req, "no"), "no");
    assert_string_equal(srv_req_query(&req, "NO"), "NO");
    assert_null(srv_req_query(&req, "ONE"));
}

static void test_query_bool_false_values(void **state)
{
    (void)state;
    struct srv_req req = make_req();
    assert_false(srv_req_query_bool(&req, "missing"));
    assert_false(srv_req_query_bool(&req, "zero"));
    assert_false(srv_req_query_bool(&req, "empty"));
    assert_false(srv_req_query_bool(&req, "no"));
    assert_false(srv_req_query_bool(&req, "NO"));
    assert_false(srv_req_query_bool(&req, "false"));
    assert_false(srv_req_query_bool(&req, "none"));
    assert_false(srv_req_query_bool(&req, "padded"));
    assert_false(srv_req_query_bool(&req, "spaces"));
}

static void test_query_bool_true_values(void **state)
{
    (void)state;
    struct srv_req req = make_req();
    assert_true(srv_req_query_bool(&req, "one"));
    assert_true(srv_req_query_bool(&req, "yes"));
    assert_true(srv_req_query_bool(&req, "true"));
    assert_true(srv_req_query_bool(&req, "padded1"));
    assert_true(srv_req_query_bool(&req, "two"));
    /* Anything else is true, as moby's BoolValue. */
    assert_true(srv_req_query_bool(&req, "word"));
    assert_true(srv_req_query_bool(&req, "abc"));
}

static void test_query_bool_empty_request(void **state)
{
    (void)state;
    struct srv_req req;
    memset(&req, 0, sizeof(req));
    assert_false(srv_req_query_bool(&req, "one"));
}

static int64_t query_int_ok(const char *key, int64_t def)
{
    struct srv_req req = make_req();
    struct berr err = {0};
    int64_t v = 12345;
    assert_int_equal(srv_req_query_int(&req, key, def, &v, &err), 0);
    assert_int_equal(err.status, 0);
    return v;
}

static void assert_query_int_fails(const char *key)
{
    struct srv_req req = make_req();
    struct berr err = {0};
    int64_t v = 777;
    assert_int_equal(srv_req_query_int(&req, key, 5, &v, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, key));
    assert_int_equal(v, 777);
}

static void test_query_int_values(void **state)
{
    (void)state;
    assert_int_equal(query_int_ok("one", 7), 1);
    assert_int_equal(query_int_ok("zero", 7), 0);
    assert_int_equal(query_int_ok("neg", 7), -42);
    assert_true(query_int_ok("big", 7) == INT64_MAX);
}

static void test_query_int_default(void **state)
{
    (void)state;
    assert_int_equal(query_int_ok("missing", 7), 7);
    assert_int_equal(query_int_ok("missing", -1), -1);
    assert_int_equal(query_int_ok("empty", 9), 9);
}

static void test_query_int_garbage(void **state)
{
    (void)state;
    assert_query_int_fails("abc");
    assert_query_int_fails("junk");
    assert_query_int_fails("float");
    assert_query_int_fails("over");
    assert_query_int_fails("spaces");
}

static void test_query_int_message(void **state)
{
    (void)state;
    struct srv_req req = make_req();
    struct berr err = {0};
    int64_t v;
    assert_int_equal(srv_req_query_int(&req, "abc", 0, &v, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid value for abc: 'abc'");
}

static void test_header_case_insensitive(void **state)
{
    (void)state;
    struct srv_req req = make_req();
    assert_string_equal(srv_req_header(&req, "Content-Type"), "application/json");
    assert_string_equal(srv_req_header(&req, "content-type"), "application/json");
    assert_string_equal(srv_req_header(&req, "CONTENT-TYPE"), "application/json");
    assert_string_equal(srv_req_header(&req, "x-registry-auth"), "e30=");
    assert_string_equal(srv_req_header(&req, "Host"), "localhost");
}

static void test_header_missing(void **state)
{
    (void)state;
    struct srv_req req = make_req();
    assert_null(srv_req_header(&req, "Content-Length"));
    assert_null(srv_req_header(&req, "Content-Typ"));
    assert_null(srv_req_header(&req, "Content-Type2"));
    req.nheaders = 0;
    assert_null(srv_req_header(&req, "Content-Type"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_lookup),
        cmocka_unit_test(test_query_bool_false_values),
        cmocka_unit_test(test_query_bool_true_values),
        cmocka_unit_test(test_query_bool_empty_request),
        cmocka_unit_test(test_query_int_values),
        cmocka_unit_test(test_query_int_default),
        cmocka_unit_test(test_query_int_garbage),
        cmocka_unit_test(test_query_int_message),
        cmocka_unit_test(test_header_case_insensitive),
        cmocka_unit_test(test_header_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
