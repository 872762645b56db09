/* runtime/cgroup_limits.c and cgroup_devices.c: Docker's resource checks
 * and device rule parsing (pure: a hand-made host, no filesystem). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/cgroup.h"

static struct cg_host v1_host(void)
{
    struct cg_host h = {.version = 1, .ncpu = 2, .cpus = "0-1", .mems = "0"};
    h.memory = h.swap = h.swappiness = h.oom_kill_disable = h.cpu_cfs = h.cpu_shares = true;
    h.cpuset = h.pids = h.blkio_weight = h.blkio_throttle = h.freezer = true;
    return h;
}

/* Validates lim on h; returns the error message ("" when valid). */
static const char *check(const struct cg_host *h, struct cg_limits *lim, bool update)
{
    static struct berr err;
    berr_clear(&err);
    int r = cgroup_validate(h, lim, update, NULL, &err);
    if (r < 0)
        assert_int_equal(err.status, 400);
    return r < 0 ? err.msg : "";
}

static void test_memory(void **state)
{
    (void)state;
    struct cg_host h = v1_host();
    struct cg_limits l = CG_LIMITS_INIT;
    l.memory = 1 << 20;
    assert_string_equal(check(&h, &l, false), "Minimum memory limit allowed is 6MB");
    l = (struct cg_limits)CG_LIMITS_INIT; /* validation adapts lim in place */
    l.memory = 64 << 20;
    l.memory_reservation = 128 << 20;
    assert_string_equal(check(&h, &l, false), "Minimum memory limit can not be less than memory "
                                              "reservation limit, see usage");
    l.memory_reservation = 1 << 20;
    assert_string_equal(check(&h, &l, false), "Minimum memory reservation allowed is 6MB");
    l = (struct cg_limits)CG_LIMITS_INIT;
    l.memory = 64 << 20;
    l.memory_swap = 32 << 20;
    assert_string_equal(check(&h, &l, false),
                        "Minimum memoryswap limit should be larger than memory limit, see usage");
    l = (struct cg_limits)CG_LIMITS_INIT;
    l.memory_swap = 64 << 20;
    assert_string_equal(check(&h, &l, false), "You should always set the Memory limit when using "
                                              "Memoryswap limit, see usage");
    assert_string_equal(check(&h, &l, true), "");
    l = (struct cg_limits)CG_LIMITS_INIT;
    l.memory_swappiness = 101;
    assert_string_equal(check(&h, &l, false),
                        "Invalid value: 101, valid memory swappiness range is 0-100");
}

static void test_default_swap(void **state)
{
    (void)state;
    struct cg_host h = v1_host();
    struct cg_limits l = CG_LIMITS_INIT;
    l.memory = 64 << 20;
    assert_string_equal(check(&h, &l, false), "");
    assert_int_equal(l.memory_swap, 128 << 20);
    l.memory_swap = 0;
    assert_string_equal(check(&h, &l, true), ""); /* update keeps what is stored */
    assert_int_equal(l.memory_swap, 0);
}

static void test_cpu(void **state)
{
    (void)state;
    struct cg_host h = v1_host();
    struct cg_limits l = CG_LIMITS_INIT;
    l.nano_cpus = 3000000000;
    assert_string_equal(check(&h, &l, false),
                        "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
    l.nano_cpus = 1000000000;
    l.cpu_period = 100000;
    assert_string_equal(check(&h, &l, false),
                        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    l.cpu_period = 0;
    l.cpu_quota = 50000;
    assert_string_equal(check(&h, &l, false),
                        "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    l = (struct cg_limits)CG_LIMITS_INIT;
    l.cpu_period = 500;
    assert_string_equal(check(&h, &l, false), "CPU cfs period can not be less than 1ms (i.e. "
                                              "1000) or larger than 1s (i.e. 1000000)");
    l.cpu_period = 0;
    l.cpu_quota = 999;
    assert_string_equal(check(&h, &l, false), "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    l = (struct cg_limits)CG_LIMITS_INIT;
    l.cpu_shares = 1;
    assert_string_equal(check(&h, &l, false), "");
    assert_int_equal(l.cpu_shares, 2);
}

static void test_cpuset(void **state)
{
    (void)state;
    struct cg_host h = v1_host();
    struct cg_limits l = CG_LIMITS_INIT;
    l.cpuset_cpus = "0-3";
    assert_string_equal(check(&h, &l, false),
                        "Requested CPUs are not available - requested 0-3, available: 0-1");
    l.cpuset_cpus = "1,0";
    assert_string_equal(check(&h, &l, false), "");
    l.cpuset_cpus = "a";
    assert_string_equal(check(&h, &l, false), "Invalid value a for cpuset cpus: invalid format: a");
    l.cpuset_cpus = "1-0";
    assert_string_equal(check(&h, &l, false),
                        "Invalid value 1-0 for cpuset cpus: invalid format: 1-0");
    l.cpuset_cpus = NULL;
    l.cpuset_mems = "1";
    assert_string_equal(check(&h, &l, false),
                        "Requested memory nodes are not available - requested 1, available: 0");
}

static void test_blkio(void **state)
{
    (void)state;
    struct cg_host h = v1_host();
    struct cg_limits l = CG_LIMITS_INIT;
    l.blkio_weight = 5;
    assert_string_equal(check(&h, &l, false), "Range of blkio weight is from 10 to 1000");
    struct cg_throttle wd = {"/dev/sda", 2000};
    l.blkio_weight = 0;
    l.weight_device = &wd;
    l.nweight_device = 1;
    assert_string_equal(check(&h, &l, false), "Range of blkio weight is from 10 to 1000");
}

static void test_v2_host_warnings(void **state)
{
    (void)state;
    struct cg_host h = v1_host();
    h.version = 2;
    h.swappiness = h.oom_kill_disable = false;
    struct cg_limits l = CG_LIMITS_INIT;
    l.memory_swappiness = 60;
    l.oom_kill_disable = true;
    struct cg_warnings w = {0};
    struct berr err = {0};
    assert_int_equal(cgroup_validate(&h, &l, false, &w, &err), 0);
    assert_int_equal(l.memory_swappiness, -1);
    assert_false(l.oom_kill_disable);
    assert_int_equal(w.n, 2);
    assert_non_null(strstr(w.msg[0], "Memory swappiness discarded"));
    assert_string_equal(w.msg[1], "Your kernel does not support OomKillDisable. OomKillDisable "
                                  "discarded.");
    h.pids = false;
    l = (struct cg_limits)CG_LIMITS_INIT;
    l.pids_limit = 10;
    w.n = 0;
    assert_int_equal(cgroup_validate(&h, &l, false, &w, &err), 0);
    assert_int_equal(l.pids_limit, 0);
    assert_int_equal(w.n, 1);
}

static void test_dev_rules(void **state)
{
    (void)state;
    struct cg_dev_rule r;
    struct berr err = {0};
    assert_int_equal(cgroup_dev_rule_parse("c 1:3 rwm", &r, &err), 0);
    assert_int_equal(r.type, 'c');
    assert_int_equal(r.major, 1);
    assert_int_equal(r.minor, 3);
    assert_string_equal(r.access, "rwm");
    assert_int_equal(cgroup_dev_rule_parse("b *:* m", &r, &err), 0);
    assert_int_equal(r.major, -1);
    assert_int_equal(r.minor, -1);
    assert_int_equal(cgroup_dev_rule_parse("c 136:* rw", &r, &err), 0);
    assert_int_equal(cgroup_dev_rule_parse("a", &r, &err), 0);
    assert_int_equal(r.type, 'a');
    static const char *const bad[] = {"x 1:3 rwm", "c 1:3 rwx", "c 1 rwm", "c 1:3",
                                      "c -1:3 r",  "c 1:3 rr",  "",        "c 1:3 rwm "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cgroup_dev_rule_parse(bad[i], &r, &err), -EINVAL);
        assert_int_equal(err.status, 400);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory),    cmocka_unit_test(test_default_swap),
        cmocka_unit_test(test_cpu),       cmocka_unit_test(test_cpuset),
        cmocka_unit_test(test_blkio),     cmocka_unit_test(test_v2_host_warnings),
        cmocka_unit_test(test_dev_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
