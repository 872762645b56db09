/* handlers/filters.c: Docker's `filters` query parameter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/macros.h"
#include "handlers/filters.h"

static void parse_ok(const char *json, struct filters *f)
{
    struct berr err = {0};
    assert_int_equal(filters_parse(json, f, &err), 0);
    assert_int_equal(err.status, 0);
}

static void parse_fails(const char *json)
{
    struct filters f;
    struct berr err = {0};
    assert_int_equal(filters_parse(json, &f, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_true(strncmp(err.msg, "invalid filters", 15) == 0);
    assert_null(f.v);
    assert_int_equal(f.n, 0);
}

static void assert_values(const struct filters *f, const char *key, size_t n, const char *first)
{
    const struct strv *v = filters_get(f, key);
    assert_non_null(v);
    assert_int_equal(v->n, n);
    if (first)
        assert_string_equal(v->v[0], first);
}

static void test_parse_empty(void **state)
{
    (void)state;
    struct filters f;
    parse_ok(NULL, &f);
    assert_int_equal(f.n, 0);
    parse_ok("", &f);
    assert_int_equal(f.n, 0);
    parse_ok("{}", &f);
    assert_int_equal(f.n, 0);
    filters_done(&f);
}

static void test_parse_map_form(void **state)
{
    (void)state;
    struct filters f;
    parse_ok("{\"label\":{\"a=b\":true},\"status\":{\"running\":true,\"paused\":true}}", &f);
    assert_int_equal(f.n, 2);
    assert_values(&f, "label", 1, "a=b");
    assert_values(&f, "status", 2, "running");
    assert_string_equal(filters_get(&f, "status")->v[1], "paused");
    filters_done(&f);
    assert_null(f.v);
    assert_int_equal(f.n, 0);
}

static void test_parse_list_form(void **state)
{
    (void)state;
    struct filters f;
    parse_ok("{\"label\":[\"a=b\",\"c\"],\"id\":[]}", &f);
    assert_values(&f, "label", 2, "a=b");
    assert_string_equal(filters_get(&f, "label")->v[1], "c");
    assert_values(&f, "id", 0, NULL);
    assert_false(filters_has(&f, "id"));
    assert_true(filters_has(&f, "label"));
    assert_false(filters_has(&f, "missing"));
    assert_null(filters_get(&f, "missing"));
    filters_done(&f);
}

static void test_parse_false_entries_dropped(void **state)
{
    (void)state;
    struct filters f;
    parse_ok("{\"status\":{\"running\":false,\"exited\":true,\"dead\":false}}", &f);
    assert_values(&f, "status", 1, "exited");
    assert_true(filters_match_exact(&f, "status", "exited"));
    assert_false(filters_match_exact(&f, "status", "running"));
    filters_done(&f);
}

static void test_parse_invalid_json(void **state)
{
    (void)state;
    parse_fails("{");
    parse_fails("not json");
    parse_fails("{\"label\":[\"a\"]");
}

static void test_parse_not_an_object(void **state)
{
    (void)state;
    parse_fails("[]");
    parse_fails("[\"label\"]");
    parse_fails("\"label\"");
    parse_fails("42");
    parse_fails("null");
}

static void test_parse_wrong_value_types(void **state)
{
    (void)state;
    parse_fails("{\"label\":\"a=b\"}");
    parse_fails("{\"label\":42}");
    parse_fails("{\"label\":null}");
    parse_fails("{\"label\":[1]}");
    parse_fails("{\"label\":[\"ok\",{}]}");
    parse_fails("{\"label\":{\"a\":\"yes\"}}");
    parse_fails("{\"label\":{\"a\":1}}");
    parse_fails("{\"ok\":[\"x\"],\"label\":{\"a\":null}}");
}

static void test_parse_error_names_key(void **state)
{
    (void)state;
    struct filters f;
    struct berr err = {0};
    assert_int_equal(filters_parse("{\"dangling\":7}", &f, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "'dangling'"));
}

static void test_validate(void **state)
{
    (void)state;
    static const char *const allowed[] = {"label", "status", NULL};
    struct filters f;
    struct berr err = {0};
    parse_ok("{\"label\":[\"a\"],\"status\":[\"running\"]}", &f);
    assert_int_equal(filters_validate(&f, allowed, &err), 0);
    filters_done(&f);

    parse_ok("{\"label\":[\"a\"],\"x\":[\"1\"]}", &f);
    assert_int_equal(filters_validate(&f, allowed, &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "invalid filter 'x'");
    filters_done(&f);
}

static void test_validate_empty_allowed(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    struct filters f;
    struct berr err = {0};
    parse_ok("{}", &f);
    assert_int_equal(filters_validate(&f, none, &err), 0);
    parse_ok("{\"labe\":[\"a\"]}", &f);
    assert_int_equal(filters_validate(&f, none, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid filter 'labe'");
    filters_done(&f);
}

static void test_match_exact(void **state)
{
    (void)state;
    struct filters f;
    parse_ok("{\"status\":[\"running\",\"paused\"]}", &f);
    assert_true(filters_match_exact(&f, "status", "running"));
    assert_true(filters_match_exact(&f, "status", "paused"));
    assert_false(filters_match_exact(&f, "status", "run"));
    assert_false(filters_match_exact(&f, "status", "runningx"));
    assert_false(filters_match_exact(&f, "status", NULL));
    /* An absent key does not filter. */
    assert_true(filters_match_exact(&f, "name", "anything"));
    assert_true(filters_match_exact(&f, "name", NULL));
    filters_done(&f);
}

static void test_match_fuzzy(void **state)
{
    (void)state;
    struct filters f;
    parse_ok("{\"id\":[\"abc\",\"f00\"]}", &f);
    assert_true(filters_match_fuzzy(&f, "id", "abc"));
    assert_true(filters_match_fuzzy(&f, "id", "abcdef0123"));
    assert_true(filters_match_fuzzy(&f, "id", "f00ba4"));
    assert_false(filters_match_fuzzy(&f, "id", "ab"));
    assert_false(filters_match_fuzzy(&f, "id", "xabc"));
    assert_false(filters_match_fuzzy(&f, "id", NULL));
    assert_true(filters_match_fuzzy(&f, "name", "anything"));
    filters_done(&f);
}

static const struct event_attr labels[] = {
    {"com.example.app", "web"},
    {"tier", "front"},
    {"empty", ""},
};

static bool labels_match(const char *json)
{
    struct filters f;
    parse_ok(json, &f);
    bool r = filters_match_labels(&f, "label", labels, ARRAY_SIZE(labels));
    filters_done(&f);
    return r;
}

static void test_match_labels_presence(void **state)
{
    (void)state;
    assert_true(labels_match("{}"));
    assert_true(labels_match("{\"label\":[\"tier\"]}"));
    assert_true(labels_match("{\"label\":[\"empty\"]}"));
    assert_false(labels_match("{\"label\":[\"missing\"]}"));
    /* A key prefix is not the key. */
    assert_false(labels_match("{\"label\":[\"ti\"]}"));
    assert_false(labels_match("{\"label\":[\"tier2\"]}"));
}

static void test_match_labels_value(void **state)
{
    (void)state;
    assert_true(labels_match("{\"label\":{\"com.example.app=web\":true}}"));
    assert_false(labels_match("{\"label\":[\"com.example.app=db\"]}"));
    assert_false(labels_match("{\"label\":[\"com.example.app=we\"]}"));
    assert_true(labels_match("{\"label\":[\"empty=\"]}"));
    assert_false(labels_match("{\"label\":[\"tier=\"]}"));
    assert_false(labels_match("{\"label\":[\"missing=web\"]}"));
}

static void test_match_labels_all_must_hold(void **state)
{
    (void)state;
    assert_true(labels_match("{\"label\":[\"tier=front\",\"com.example.app\"]}"));
    assert_false(labels_match("{\"label\":[\"tier=front\",\"missing\"]}"));
    assert_false(labels_match("{\"label\":[\"tier=back\",\"com.example.app=web\"]}"));
}

static void test_match_labels_no_attrs(void **state)
{
    (void)state;
    struct filters f;
    parse_ok("{\"label\":[\"a\"]}", &f);
    assert_false(filters_match_labels(&f, "label", NULL, 0));
    assert_true(filters_match_labels(&f, "other", NULL, 0));
    filters_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_map_form),
        cmocka_unit_test(test_parse_list_form),
        cmocka_unit_test(test_parse_false_entries_dropped),
        cmocka_unit_test(test_parse_invalid_json),
        cmocka_unit_test(test_parse_not_an_object),
        cmocka_unit_test(test_parse_wrong_value_types),
        cmocka_unit_test(test_parse_error_names_key),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_validate_empty_allowed),
        cmocka_unit_test(test_match_exact),
        cmocka_unit_test(test_match_fuzzy),
        cmocka_unit_test(test_match_labels_presence),
        cmocka_unit_test(test_match_labels_value),
        cmocka_unit_test(test_match_labels_all_must_hold),
        cmocka_unit_test(test_match_labels_no_attrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
