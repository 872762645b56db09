/* handlers/detach_keys.c: Docker's detach key syntax and the input filter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "handlers/detach_keys.h"

static struct detach_keys parsed(const char *spec)
{
    struct detach_keys k;
    struct berr err = {0};
    assert_int_equal(detach_keys_parse(spec, &k, &err), 0);
    return k;
}

static void test_parse(void **state)
{
    (void)state;
    struct detach_keys k = parsed(NULL);
    assert_int_equal(k.len, 2);
    assert_int_equal(k.seq[0], 16); /* ctrl-p */
    assert_int_equal(k.seq[1], 17); /* ctrl-q */
    k = parsed("ctrl-a,X,ctrl-@,ctrl-[,CTRL-_");
    assert_int_equal(k.len, 5);
    assert_memory_equal(k.seq, "\x01X\x00\x1b\x1f", 5);
}

static void test_parse_refuses(void **state)
{
    (void)state;
    const char *bad[] = {"ctrl-", "ctrl-1", "ab", "a,,b", ",", "ctrl-pp", "ctrl-p,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct detach_keys k = {.len = 7};
        struct berr err = {0};
        assert_int_equal(detach_keys_parse(bad[i], &k, &err), -EINVAL);
        assert_int_equal(err.status, 400);
        assert_non_null(strstr(err.msg, "Invalid detach keys"));
        assert_int_equal(k.len, 7); /* unchanged */
    }
}

/* Feeds s in pieces of `step` bytes; returns what passes, sets *det. */
static size_t feed(struct detach_keys *k, const char *s, size_t step, char *out, bool *det)
{
    size_t o = 0, n = strlen(s);
    for (size_t i = 0; i < n && !*det; i += step) {
        size_t len = n - i < step ? n - i : step;
        o += detach_keys_filter(k, s + i, len, out + o, det);
    }
    return o;
}

static void test_filter_any_split(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 8; step++) {
        struct detach_keys k = parsed(NULL);
        char out[64];
        bool det = false;
        size_t n = feed(&k, "ab\x10x\x10\x10\x11zz", step, out, &det);
        assert_true(det);
        /* a broken sequence is passed on; a repeated first key restarts it */
        assert_int_equal(n, 5);
        assert_memory_equal(out, "ab\x10x\x10", 5);
    }
}

static void test_filter_flush(void **state)
{
    (void)state;
    struct detach_keys k = parsed("a,b,c");
    char out[64];
    bool det = false;
    assert_int_equal(detach_keys_filter(&k, "xab", 3, out, &det), 1);
    assert_false(det);
    assert_int_equal(detach_keys_flush(&k, out), 2);
    assert_memory_equal(out, "ab", 2);
    assert_int_equal(detach_keys_flush(&k, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_filter_any_split),
        cmocka_unit_test(test_filter_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
