/* common/timeutil.c: Docker's time formats and the since/until parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeutil.h"

#define SEC 1000000000LL
#define T0  (1700000000LL * SEC) /* 2023-11-14T22:13:20Z */

static void assert_nano(int64_t ns, const char *want)
{
    char out[TIME_RFC3339_MAX];
    time_format_rfc3339nano(ns, out);
    assert_string_equal(out, want);
}

static void assert_fixed(int64_t ns, const char *want)
{
    char out[TIME_RFC3339_MAX];
    time_format_rfc3339nano_fixed(ns, out);
    assert_string_equal(out, want);
}

static void test_nano_without_fraction(void **state)
{
    (void)state;
    assert_nano(0, "1970-01-01T00:00:00Z");
    assert_nano(T0, "2023-11-14T22:13:20Z");
}

static void test_nano_trims_trailing_zeros(void **state)
{
    (void)state;
    assert_nano(T0 + 500000000, "2023-11-14T22:13:20.5Z");
    assert_nano(T0 + 120000000, "2023-11-14T22:13:20.12Z");
    assert_nano(T0 + 123456789, "2023-11-14T22:13:20.123456789Z");
    assert_nano(T0 + 100, "2023-11-14T22:13:20.0000001Z");
    assert_nano(T0 + 1, "2023-11-14T22:13:20.000000001Z");
}

static void test_nano_before_epoch(void **state)
{
    (void)state;
    assert_nano(-1, "1969-12-31T23:59:59.999999999Z");
    assert_nano(-SEC, "1969-12-31T23:59:59Z");
    assert_nano(-SEC / 2, "1969-12-31T23:59:59.5Z");
}

static void test_fixed_nine_digits(void **state)
{
    (void)state;
    assert_fixed(0, "1970-01-01T00:00:00.000000000Z");
    assert_fixed(T0 + 500000000, "2023-11-14T22:13:20.500000000Z");
    assert_fixed(T0 + 1, "2023-11-14T22:13:20.000000001Z");
    assert_fixed(1795505415300803612LL, "2026-11-24T07:30:15.300803612Z");
}

static void assert_parses(const char *s, int64_t want)
{
    int64_t ns = -7;
    assert_int_equal(time_parse_unix(s, &ns), 0);
    assert_true(ns == want);
}

static void assert_parse_fails(const char *s)
{
    int64_t ns = -7;
    if (time_parse_unix(s, &ns) != -EINVAL)
        fail_msg("'%s' accepted", s);
    assert_true(ns == -7);
}

static void test_parse_seconds(void **state)
{
    (void)state;
    assert_parses("1700000000", T0);
    assert_parses("0", 0);
    assert_parses("000", 0);
}

static void test_parse_fraction(void **state)
{
    (void)state;
    assert_parses("1700000000.5", T0 + 500000000);
    assert_parses("1700000000.000000001", T0 + 1);
    assert_parses("1700000000.123456789", T0 + 123456789);
    assert_parses("1700000000.05", T0 + 50000000);
    assert_parses("1700000000.0", T0);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    assert_parse_fails("");
    assert_parse_fails("abc");
    assert_parse_fails("1.2.3");
    assert_parse_fails("1.");
    assert_parse_fails(".5");
    assert_parse_fails("-1");
    assert_parse_fails("+1");
    assert_parse_fails(" 1");
    assert_parse_fails("1 ");
    assert_parse_fails("1e9");
    assert_parse_fails("12abc");
    assert_parse_fails("1700000000.1234567890");
    assert_parse_fails("1.x");
}

static void test_parse_overflow(void **state)
{
    (void)state;
    assert_parse_fails("99999999999999999999");
    assert_parse_fails("999999999999999999");
    assert_parses("9000000000", 9000000000LL * SEC);
}

static void test_now(void **state)
{
    (void)state;
    int64_t a = time_now_ns();
    int64_t b = time_now_ns();
    assert_true(a > T0);
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nano_without_fraction),
        cmocka_unit_test(test_nano_trims_trailing_zeros),
        cmocka_unit_test(test_nano_before_epoch),
        cmocka_unit_test(test_fixed_nine_digits),
        cmocka_unit_test(test_parse_seconds),
        cmocka_unit_test(test_parse_fraction),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_overflow),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
