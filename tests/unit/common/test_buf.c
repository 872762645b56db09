/* common/buf.c: the growable byte buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"

static void test_append(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    assert_int_equal(buf_append(&b, ", world!!", 7), 0);
    assert_int_equal(b.len, 12);
    assert_string_equal(b.data, "hello, world");
    assert_true(b.cap > b.len);
    buf_done(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_append_empty_allocates(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    buf_done(&b);
}

static void test_append_binary(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_append(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 4);
    buf_done(&b);
}

static void test_growth(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char chunk[100];
    memset(chunk, 'q', sizeof(chunk));
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
    assert_int_equal(b.len, 100000);
    assert_true(b.cap >= b.len + 1);
    assert_int_equal(b.data[99999], 'q');
    assert_int_equal(b.data[100000], '\0');
    buf_done(&b);
}

static void test_reserve(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_reserve(&b, 1000), 0);
    assert_true(b.cap >= 1001);
    assert_int_equal(b.len, 0);
    size_t cap = b.cap;
    char *data = b.data;
    assert_int_equal(buf_append(&b, "x", 1), 0);
    assert_int_equal(b.cap, cap);
    assert_ptr_equal(b.data, data);
    buf_done(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
    assert_int_equal(buf_printf(&b, ",%05.1f", 3.14159), 0);
    assert_string_equal(b.data, "n=42,003.1");
    assert_int_equal(b.len, 10);
    buf_done(&b);
}

static void test_printf_long(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char big[3000];
    memset(big, 'L', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(buf_append_str(&b, "<"), 0);
    assert_int_equal(buf_printf(&b, "%s>", big), 0);
    assert_int_equal(b.len, 3001);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[2999], 'L');
    assert_int_equal(b.data[3000], '>');
    assert_int_equal(b.data[3001], '\0');
    buf_done(&b);
}

static void test_consume(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "headerbody"), 0);
    buf_consume(&b, 6);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "body");
    buf_consume(&b, 0);
    assert_string_equal(b.data, "body");
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_done(&b);
}

static void test_reset_keeps_storage(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append_str(&b, "d"), 0);
    assert_string_equal(b.data, "d");
    buf_done(&b);

    struct buf empty = BUF_INIT;
    buf_reset(&empty);
    assert_null(empty.data);
}

static void test_steal(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "mine"), 0);
    char *p = buf_steal(&b);
    assert_string_equal(p, "mine");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(p);
    /* The buffer is reusable afterwards. */
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    buf_done(&b);
    buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_append_empty_allocates),
        cmocka_unit_test(test_append_binary),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_long),
        cmocka_unit_test(test_consume),
        cmocka_unit_test(test_reset_keeps_storage),
        cmocka_unit_test(test_steal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
