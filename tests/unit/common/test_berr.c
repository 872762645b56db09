/* common/berr.c: the error object, wrapping and the errno -> HTTP mapping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/berr.h"

/* An error whose bytes after the message are a canary, to see overflows
 * even without ASan. */
struct guarded {
    struct berr err;
    char canary[64];
};

static void guard(struct guarded *g)
{
    memset(g, 0x5a, sizeof(*g));
    berr_clear(&g->err);
}

static void assert_guard_intact(const struct guarded *g)
{
    for (size_t i = 0; i < sizeof(g->canary); i++)
        assert_int_equal((unsigned char)g->canary[i], 0x5a);
    assert_true(strnlen(g->err.msg, BERR_MSG_MAX) < BERR_MSG_MAX);
}

static void fill(char *s, size_t n, char c)
{
    memset(s, c, n);
    s[n] = '\0';
}

static void test_set(void **state)
{
    (void)state;
    struct berr err;
    berr_clear(&err);
    assert_int_equal(berr_set(&err, 404, ENOENT, "no such container: %s", "web"), -ENOENT);
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg, "no such container: web");
}

static void test_errno_appends_strerror(void **state)
{
    (void)state;
    struct berr err;
    char want[256];
    assert_int_equal(berr_errno(&err, 500, EACCES, "open '%s'", "/x"), -EACCES);
    assert_int_equal(err.status, 500);
    snprintf(want, sizeof(want), "open '/x': %s", strerror(EACCES));
    assert_string_equal(err.msg, want);
}

static void test_clear(void **state)
{
    (void)state;
    struct berr err;
    berr_set(&err, 409, EEXIST, "conflict");
    berr_clear(&err);
    assert_int_equal(err.status, 0);
    assert_string_equal(err.msg, "");
}

static void test_wrap(void **state)
{
    (void)state;
    struct berr err;
    berr_set(&err, 404, ENOENT, "no such file");
    berr_wrap(&err, "mount layer '%s'", "abc");
    assert_string_equal(err.msg, "mount layer 'abc': no such file");
    assert_int_equal(err.status, 404);
    berr_wrap(&err, "start container %d", 7);
    assert_string_equal(err.msg, "start container 7: mount layer 'abc': no such file");
}

static void test_wrap_empty_message(void **state)
{
    (void)state;
    struct berr err;
    berr_clear(&err);
    berr_wrap(&err, "ctx");
    assert_string_equal(err.msg, "ctx: ");
}

static void test_set_truncates(void **state)
{
    (void)state;
    struct guarded g;
    char big[1000];
    guard(&g);
    fill(big, 900, 'a');
    berr_set(&g.err, 500, EIO, "%s", big);
    assert_int_equal(strlen(g.err.msg), BERR_MSG_MAX - 1);
    assert_guard_intact(&g);
}

static void test_errno_truncates(void **state)
{
    (void)state;
    struct guarded g;
    char big[1000];
    guard(&g);
    fill(big, BERR_MSG_MAX - 3, 'b');
    berr_errno(&g.err, 500, EIO, "%s", big);
    assert_int_equal(strlen(g.err.msg), BERR_MSG_MAX - 1);
    assert_memory_equal(g.err.msg + BERR_MSG_MAX - 3, ": ", 2);
    assert_guard_intact(&g);

    guard(&g);
    fill(big, 900, 'b');
    berr_errno(&g.err, 500, EIO, "%s", big);
    assert_int_equal(strlen(g.err.msg), BERR_MSG_MAX - 1);
    assert_guard_intact(&g);
}

static void test_wrap_long_cause(void **state)
{
    (void)state;
    struct guarded g;
    char cause[BERR_MSG_MAX];
    guard(&g);
    fill(cause, BERR_MSG_MAX - 1, 'c');
    berr_set(&g.err, 500, EIO, "%s", cause);
    berr_wrap(&g.err, "ctx");
    /* The context comes first; the cause is cut at the end. */
    assert_int_equal(strlen(g.err.msg), BERR_MSG_MAX - 1);
    assert_memory_equal(g.err.msg, "ctx: ccc", 8);
    assert_int_equal(g.err.msg[BERR_MSG_MAX - 2], 'c');
    assert_guard_intact(&g);
}

static void test_wrap_long_context(void **state)
{
    (void)state;
    struct guarded g;
    char ctx[1000];
    guard(&g);
    berr_set(&g.err, 500, EIO, "cause");
    fill(ctx, 900, 'x');
    berr_wrap(&g.err, "%s", ctx);
    assert_int_equal(strlen(g.err.msg), BERR_MSG_MAX - 1);
    assert_int_equal(g.err.msg[BERR_MSG_MAX - 2], 'x');
    assert_guard_intact(&g);
}

static void test_wrap_context_near_limit(void **state)
{
    (void)state;
    char ctx[BERR_MSG_MAX];
    for (size_t n = BERR_MSG_MAX - 4; n < BERR_MSG_MAX; n++) {
        struct guarded g;
        guard(&g);
        berr_set(&g.err, 500, EIO, "cause");
        fill(ctx, n, 'y');
        berr_wrap(&g.err, "%s", ctx);
        assert_int_equal(strlen(g.err.msg), n + 7 < BERR_MSG_MAX ? n + 7 : BERR_MSG_MAX - 1);
        assert_memory_equal(g.err.msg, ctx, n < BERR_MSG_MAX - 1 ? n : BERR_MSG_MAX - 1);
        assert_guard_intact(&g);
    }
}

static void test_status_for_errno(void **state)
{
    (void)state;
    assert_int_equal(berr_status_for_errno(-ENOENT), 404);
    assert_int_equal(berr_status_for_errno(-EEXIST), 409);
    assert_int_equal(berr_status_for_errno(-EBUSY), 409);
    assert_int_equal(berr_status_for_errno(-EINVAL), 400);
    assert_int_equal(berr_status_for_errno(-EACCES), 403);
    assert_int_equal(berr_status_for_errno(-EPERM), 403);
    assert_int_equal(berr_status_for_errno(-ENOSYS), 501);
    assert_int_equal(berr_status_for_errno(-EOPNOTSUPP), 501);
    assert_int_equal(berr_status_for_errno(-ENOTSUP), 501);
    assert_int_equal(berr_status_for_errno(-EIO), 500);
    assert_int_equal(berr_status_for_errno(-ENOMEM), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_errno_appends_strerror),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_wrap_empty_message),
        cmocka_unit_test(test_set_truncates),
        cmocka_unit_test(test_errno_truncates),
        cmocka_unit_test(test_wrap_long_cause),
        cmocka_unit_test(test_wrap_long_context),
        cmocka_unit_test(test_wrap_context_near_limit),
        cmocka_unit_test(test_status_for_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
