/* common/jsonutil.c: exact int64 numbers in cJSON output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/jsonutil.h"

static void assert_prints(cJSON *item, const char *want)
{
    assert_non_null(item);
    char *s = cJSON_PrintUnformatted(item);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void test_create_exact(void **state)
{
    (void)state;
    cJSON *v = json_create_int64(1795505415300803612LL);
    assert_true(cJSON_IsRaw(v));
    /* A double would print 1795505415300803584. */
    assert_prints(v, "1795505415300803612");
    cJSON_Delete(v);
}

static void test_create_limits(void **state)
{
    (void)state;
    cJSON *max = json_create_int64(INT64_MAX);
    cJSON *min = json_create_int64(INT64_MIN);
    cJSON *zero = json_create_int64(0);
    cJSON *neg = json_create_int64(-42);
    assert_prints(max, "9223372036854775807");
    assert_prints(min, "-9223372036854775808");
    assert_prints(zero, "0");
    assert_prints(neg, "-42");
    cJSON_Delete(max);
    cJSON_Delete(min);
    cJSON_Delete(zero);
    cJSON_Delete(neg);
}

static void test_add_to_object(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "a", "x");
    cJSON *item = json_add_int64(o, "Size", 9007199254740993LL);
    assert_non_null(item);
    assert_ptr_equal(cJSON_GetObjectItemCaseSensitive(o, "Size"), item);
    json_add_int64(o, "neg", -1);
    assert_prints(o, "{\"a\":\"x\",\"Size\":9007199254740993,\"neg\":-1}");
    cJSON_Delete(o);
}

static void test_output_parses_back(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    json_add_int64(o, "n", 123456789);
    char *s = cJSON_PrintUnformatted(o);
    cJSON *back = cJSON_Parse(s);
    assert_non_null(back);
    cJSON *n = cJSON_GetObjectItemCaseSensitive(back, "n");
    assert_true(cJSON_IsNumber(n));
    assert_int_equal(n->valueint, 123456789);
    cJSON_Delete(back);
    free(s);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_exact),
        cmocka_unit_test(test_create_limits),
        cmocka_unit_test(test_add_to_object),
        cmocka_unit_test(test_output_parses_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
