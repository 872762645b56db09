/* runtime/ctr_restart.c: Docker's restart manager as pure functions — the
 * backoff sequence (100 ms doubling to a minute, back to 100 ms after a run
 * of 10 s) and which policies restart after an exit and at daemon start
 * (moby restartmanager.ShouldRestart and restore()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime/ctr_internal.h"

#define SEC_NS   1000000000LL
#define SHORT_NS (1 * SEC_NS)

static void backoff_doubles_to_a_minute(void **state)
{
    (void)state;
    static const int64_t want[] = {100,   200,   400,   800,   1600,  3200, 6400,
                                   12800, 25600, 51200, 60000, 60000, 60000};
    int64_t d = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        d = ctr_restart_next_delay(d, SHORT_NS);
        assert_int_equal(d, want[i]);
    }
}

static void backoff_resets_after_ten_seconds(void **state)
{
    (void)state;
    assert_int_equal(ctr_restart_next_delay(51200, 10 * SEC_NS), 100);
    assert_int_equal(ctr_restart_next_delay(60000, 3600 * SEC_NS), 100);
    /* just under the threshold keeps doubling */
    assert_int_equal(ctr_restart_next_delay(51200, 10 * SEC_NS - 1), 60000);
    assert_int_equal(ctr_restart_next_delay(400, 9 * SEC_NS), 800);
    /* after a reset the sequence starts over */
    int64_t d = ctr_restart_next_delay(60000, 11 * SEC_NS);
    assert_int_equal(d, 100);
    assert_int_equal(ctr_restart_next_delay(d, SHORT_NS), 200);
}

static void backoff_first_delay(void **state)
{
    (void)state;
    assert_int_equal(ctr_restart_next_delay(0, 0), 100);
    assert_int_equal(ctr_restart_next_delay(-5, SHORT_NS), 100);
}

static struct restart_facts facts(enum ctr_restart p, int max, int count, int code, bool manual)
{
    return (struct restart_facts){p, max, count, code, manual};
}

static void after_exit_policies(void **state)
{
    (void)state;
    struct restart_facts f = facts(RESTART_NO, 0, 0, 1, false);
    assert_false(ctr_restart_after_exit(&f));
    f = facts(RESTART_ALWAYS, 0, 7, 0, false);
    assert_true(ctr_restart_after_exit(&f));
    f = facts(RESTART_ALWAYS, 0, 0, 137, true); /* docker stop */
    assert_false(ctr_restart_after_exit(&f));
    f = facts(RESTART_UNLESS_STOPPED, 0, 0, 0, false);
    assert_true(ctr_restart_after_exit(&f));
    f = facts(RESTART_UNLESS_STOPPED, 0, 0, 143, true);
    assert_false(ctr_restart_after_exit(&f));
}

static void on_failure_counts_retries(void **state)
{
    (void)state;
    struct restart_facts f = facts(RESTART_ON_FAILURE, 2, 0, 0, false);
    assert_false(ctr_restart_after_exit(&f)); /* success: done */
    f = facts(RESTART_ON_FAILURE, 2, 0, 1, false);
    assert_true(ctr_restart_after_exit(&f));
    f.restart_count = 1;
    assert_true(ctr_restart_after_exit(&f));
    f.restart_count = 2; /* on-failure:2 ends with RestartCount 2 */
    assert_false(ctr_restart_after_exit(&f));
    f = facts(RESTART_ON_FAILURE, 0, 1000, 1, false); /* no limit */
    assert_true(ctr_restart_after_exit(&f));
    f = facts(RESTART_ON_FAILURE, 0, 0, 1, true);
    assert_false(ctr_restart_after_exit(&f));
}

static void at_boot_follows_moby_restore(void **state)
{
    (void)state;
    struct restart_facts f = facts(RESTART_ALWAYS, 0, 0, 137, true);
    assert_true(ctr_restart_at_boot(&f)); /* always: even after docker stop */
    f = facts(RESTART_UNLESS_STOPPED, 0, 0, 255, false);
    assert_true(ctr_restart_at_boot(&f));
    f.manually_stopped = true;
    assert_false(ctr_restart_at_boot(&f));
    f = facts(RESTART_ON_FAILURE, 3, 1, 255, false);
    assert_true(ctr_restart_at_boot(&f));
    f.restart_count = 3;
    assert_false(ctr_restart_at_boot(&f));
    f = facts(RESTART_ON_FAILURE, 0, 0, 0, false);
    assert_false(ctr_restart_at_boot(&f));
    f = facts(RESTART_NO, 0, 0, 255, false);
    assert_false(ctr_restart_at_boot(&f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_to_a_minute),
        cmocka_unit_test(backoff_resets_after_ten_seconds),
        cmocka_unit_test(backoff_first_delay),
        cmocka_unit_test(after_exit_policies),
        cmocka_unit_test(on_failure_counts_retries),
        cmocka_unit_test(at_boot_follows_moby_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
