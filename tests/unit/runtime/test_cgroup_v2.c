/* runtime/cgroup*.c, v2 backend against a fake cgroupfs tree: plain
 * directories and files, so every value written can be read back. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/cgroup.h"
#include "unit_helpers.h"

#define ALL_CTRLS "+cpu +cpuset +io +memory +pids +hugetlb"

struct fixture {
    char root[UNIT_PATH_MAX];
    struct cg_host host;
    struct cgroup cg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    unit_mkdtemp(f->root);
    unit_put(f->root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    unit_put(f->root, "cgroup.subtree_control", "");
    unit_put(f->root, "cpuset.cpus.effective", "0-3\n");
    unit_put(f->root, "cpuset.mems.effective", "0\n");
    struct berr err = {0};
    assert_int_equal(cgroup_detect(f->root, &f->host, &err), 0);
    assert_int_equal(cgroup_init(&f->cg, &f->host, NULL, "abc123", &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_rm_rf(f->root);
    free(f);
    return 0;
}

static void create(struct fixture *f, const struct cg_limits *lim)
{
    struct berr err = {0};
    struct cg_warnings w = {0};
    int r = cgroup_create(&f->cg, lim, &w, &err);
    if (r < 0)
        fail_msg("create: %s", err.msg);
}

static void test_detect(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->host.version, 2);
    assert_int_equal(f->host.v2_mask,
                     CG2_CPU | CG2_CPUSET | CG2_IO | CG2_MEMORY | CG2_PIDS | CG2_HUGETLB);
    assert_true(f->host.memory && f->host.swap && f->host.cpu_cfs && f->host.pids);
    assert_false(f->host.swappiness || f->host.oom_kill_disable);
    assert_string_equal(f->host.cpus, "0-3");
    assert_string_equal(f->host.mems, "0");
    assert_string_equal(f->cg.rel, "berth/abc123");
    char want[UNIT_PATH_MAX];
    unit_path(want, f->root, "berth/abc123");
    assert_string_equal(f->cg.dir[0], want);
}

static void test_create_all_limits(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    lim.memory = 64 << 20;
    lim.memory_swap = 128 << 20;
    lim.memory_reservation = 32 << 20;
    lim.cpu_shares = 512;
    lim.nano_cpus = 1500000000;
    lim.cpuset_cpus = "0-1";
    lim.cpuset_mems = "0";
    lim.pids_limit = 20;
    create(f, &lim);
    char parent[UNIT_PATH_MAX];
    unit_path(parent, f->root, "berth");
    assert_string_equal(unit_get(f->root, "cgroup.subtree_control"), ALL_CTRLS);
    assert_string_equal(unit_get(parent, "cgroup.subtree_control"), ALL_CTRLS);
    const char *leaf = f->cg.dir[0];
    assert_string_equal(unit_get(leaf, "cgroup.subtree_control"), "<absent>");
    assert_string_equal(unit_get(leaf, "memory.max"), "67108864");
    assert_string_equal(unit_get(leaf, "memory.swap.max"), "67108864");
    assert_string_equal(unit_get(leaf, "memory.low"), "33554432");
    assert_string_equal(unit_get(leaf, "cpu.weight"), "20");
    assert_string_equal(unit_get(leaf, "cpu.max"), "150000 100000");
    assert_string_equal(unit_get(leaf, "cpuset.cpus"), "0-1");
    assert_string_equal(unit_get(leaf, "cpuset.mems"), "0");
    assert_string_equal(unit_get(leaf, "pids.max"), "20");
    assert_string_equal(unit_get(leaf, "io.max"), "<absent>");
}

static void test_defaults_write_little(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct cg_warnings w = {0};
    struct berr err = {0};
    assert_int_equal(cgroup_create(&f->cg, &lim, &w, &err), 0);
    const char *leaf = f->cg.dir[0];
    assert_string_equal(unit_get(leaf, "pids.max"), "max");
    assert_string_equal(unit_get(leaf, "memory.max"), "<absent>");
    assert_string_equal(unit_get(leaf, "memory.swap.max"), "<absent>");
    assert_string_equal(unit_get(leaf, "cpu.max"), "<absent>");
    assert_string_equal(unit_get(leaf, "cpu.weight"), "<absent>");
    /* A fake tree is not cgroup2fs: no BPF program, and a warning says so. */
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.msg[0], "device rules not applied"));
}

static void test_shares_to_weight(void **state)
{
    (void)state;
    assert_int_equal(cgroup_shares_to_weight(0), 0);
    assert_int_equal(cgroup_shares_to_weight(2), 1);
    assert_int_equal(cgroup_shares_to_weight(1024), 39);
    assert_int_equal(cgroup_shares_to_weight(512), 20);
    assert_int_equal(cgroup_shares_to_weight(262144), 10000);
}

static void test_swap_math(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    const char *leaf = f->cg.dir[0];
    lim.memory = 64 << 20;
    lim.memory_swap = -1;
    create(f, &lim);
    assert_string_equal(unit_get(leaf, "memory.swap.max"), "max");
    lim.memory_swap = 64 << 20; /* swap == memory: no swap at all */
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(leaf, "memory.swap.max"), "0");
    lim.memory = 128 << 20;
    lim.memory_swap = 512 << 20;
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(leaf, "memory.max"), "134217728");
    assert_string_equal(unit_get(leaf, "memory.swap.max"), "402653184");
    lim.memory_swap = 64 << 20; /* below memory */
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), -EINVAL);
    assert_int_equal(err.status, 400);
}

static void test_pids_unlimited(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    lim.pids_limit = 50;
    create(f, &lim);
    assert_string_equal(unit_get(f->cg.dir[0], "pids.max"), "50");
    lim.pids_limit = -1;
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(f->cg.dir[0], "pids.max"), "max");
    lim.pids_limit = 0;
    unit_put(f->cg.dir[0], "pids.max", "7");
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(f->cg.dir[0], "pids.max"), "max");
}

static void test_cpu_max_forms(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    const char *leaf = f->cg.dir[0];
    lim.cpu_quota = 50000;
    create(f, &lim);
    assert_string_equal(unit_get(leaf, "cpu.max"), "50000");
    lim.cpu_quota = 0;
    lim.cpu_period = 20000;
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(leaf, "cpu.max"), "max 20000");
    lim.cpu_quota = 30000;
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(leaf, "cpu.max"), "30000 20000");
    lim.cpu_quota = -1;
    lim.cpu_period = 100000;
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(leaf, "cpu.max"), "max 100000");
}

static void test_io(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    const char *leaf = f->cg.dir[0];
    struct cg_throttle rb = {"/dev/null", 1048576}, wb = {"/dev/null", 2097152};
    struct cg_throttle ri = {"/dev/null", 100}, wi = {"/dev/null", 200};
    lim.blkio_weight = 500;
    lim.read_bps = &rb, lim.nread_bps = 1;
    lim.write_bps = &wb, lim.nwrite_bps = 1;
    lim.read_iops = &ri, lim.nread_iops = 1;
    lim.write_iops = &wi, lim.nwrite_iops = 1;
    create(f, &lim);
    assert_string_equal(unit_get(leaf, "io.weight"), "default 4950");
    assert_string_equal(unit_get(leaf, "io.max"),
                        "1:3 rbps=1048576 wbps=2097152 riops=100 wiops=200");
    /* With BFQ the blkio scale goes to io.bfq.weight unchanged. */
    unit_put(leaf, "io.bfq.weight", "100");
    struct cg_limits w = CG_LIMITS_INIT;
    w.blkio_weight = 300;
    assert_int_equal(cgroup_update(&f->cg, &w, NULL, &err), 0);
    assert_string_equal(unit_get(leaf, "io.bfq.weight"), "300");
}

static void test_io_bad_device(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    struct cg_throttle rb = {"/dev/does-not-exist", 1};
    lim.read_bps = &rb, lim.nread_bps = 1;
    assert_int_equal(cgroup_create(&f->cg, &lim, NULL, &err), -ENOENT);
    assert_int_equal(err.status, 404);
    assert_non_null(strstr(err.msg, "/dev/does-not-exist"));
}

static void test_update_memory(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    lim.memory = 64 << 20;
    create(f, &lim);
    lim.memory = 256 << 20;
    lim.memory_swap = 512 << 20;
    lim.memory_swappiness = 10;
    lim.oom_kill_disable = true;
    struct cg_warnings w = {0};
    assert_int_equal(cgroup_update(&f->cg, &lim, &w, &err), 0);
    assert_string_equal(unit_get(f->cg.dir[0], "memory.max"), "268435456");
    assert_string_equal(unit_get(f->cg.dir[0], "memory.swap.max"), "268435456");
    assert_int_equal(w.n, 2); /* swappiness and OomKillDisable are v1 only */
    assert_non_null(strstr(w.msg[1], "OomKillDisable"));
}

static void test_custom_parent(void **state)
{
    struct fixture *f = *state;
    struct berr err = {0};
    assert_int_equal(cgroup_init(&f->cg, &f->host, "/custom/nested/", "abc", &err), 0);
    assert_string_equal(f->cg.rel, "custom/nested/abc");
    struct cg_limits lim = CG_LIMITS_INIT;
    create(f, &lim);
    char p[UNIT_PATH_MAX];
    unit_path(p, f->root, "custom/nested");
    assert_string_equal(unit_get(p, "cgroup.subtree_control"), ALL_CTRLS);
    unit_path(p, f->root, "custom");
    assert_string_equal(unit_get(p, "cgroup.subtree_control"), ALL_CTRLS);
    assert_int_equal(cgroup_init(&f->cg, &f->host, "a/../../etc", "abc", &err), -EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(cgroup_init(&f->cg, &f->host, NULL, "../x", &err), -EINVAL);
}

static void test_freeze_procs_kill(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    const char *leaf = f->cg.dir[0];
    assert_int_equal(cgroup_freeze(&f->cg, true, &err), 0);
    assert_string_equal(unit_get(leaf, "cgroup.freeze"), "1");
    assert_int_equal(cgroup_freeze(&f->cg, false, &err), 0);
    assert_string_equal(unit_get(leaf, "cgroup.freeze"), "0");
    assert_int_equal(cgroup_add_pid(&f->cg, 4242, &err), 0);
    assert_string_equal(unit_get(leaf, "cgroup.procs"), "4242");
    unit_put(leaf, "cgroup.procs", "12\n34\n");
    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(cgroup_pids(&f->cg, &pids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pids[0], 12);
    assert_int_equal(pids[1], 34);
    free(pids);
    unit_put(leaf, "cgroup.procs", ""); /* never SIGKILL made-up pids */
    assert_int_equal(cgroup_kill_all(&f->cg, &err), 0);
    int fd = cgroup_leaf_fd(&f->cg, &err);
    assert_true(fd >= 0);
    close(fd);
}

/* cgroupfs drops a cgroup's files with rmdir; a fake tree must unlink them. */
static void unlink_files(const char *dir)
{
    static const char *const names[] = {"cgroup.freeze", "cgroup.procs", "pids.max",
                                        "memory.events"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[UNIT_PATH_MAX];
        unit_path(p, dir, names[i]);
        unlink(p);
    }
}

static void test_remove(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    char sub[UNIT_PATH_MAX];
    unit_path(sub, f->cg.dir[0], "inner");
    assert_int_equal(mkdir(sub, 0755), 0); /* a cgroup the container made */
    unlink_files(f->cg.dir[0]);
    assert_int_equal(cgroup_remove(&f->cg, &err), 0);
    assert_int_equal(access(f->cg.dir[0], F_OK), -1);
    char parent[UNIT_PATH_MAX];
    unit_path(parent, f->root, "berth");
    assert_int_equal(access(parent, F_OK), 0); /* shared parent stays */
    assert_int_equal(cgroup_remove(&f->cg, &err), 0);
}

static void test_oom(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    const char *leaf = f->cg.dir[0];
    unit_put(leaf, "memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n");
    uint64_t n = 99;
    assert_int_equal(cgroup_oom_kill_count(&f->cg, &n, &err), 0);
    assert_int_equal(n, 0);
    int fd = cgroup_oom_watch_fd(&f->cg, &err);
    assert_true(fd >= 0);
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    unit_put(leaf, "memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n");
    assert_int_equal(poll(&pfd, 1, 1000), 1);
    assert_int_equal(cgroup_oom_kill_count(&f->cg, &n, &err), 0);
    assert_int_equal(n, 2);
    close(fd);
}

static void test_stats(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    const char *leaf = f->cg.dir[0];
    unit_put(leaf, "memory.current", "1048576\n");
    unit_put(leaf, "memory.max", "max\n");
    unit_put(leaf, "memory.stat", "anon 4096\nfile 8192\ninactive_file 100\n");
    unit_put(leaf, "cpu.stat",
             "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\n"
             "nr_throttled 1\nthrottled_usec 20\n");
    unit_put(leaf, "pids.current", "3\n");
    unit_put(leaf, "pids.max", "20\n");
    unit_put(leaf, "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
    unit_put(leaf, "memory.events", "low 0\nhigh 0\nmax 9\noom 4\noom_kill 2\n");
    struct cg_stats s;
    assert_int_equal(cgroup_stats(&f->cg, &s, &err), 0);
    assert_int_equal(s.mem_usage, 1048576);
    assert_int_equal(s.mem_limit, 0);
    assert_int_equal(s.nmem_stat, 3);
    assert_string_equal(s.mem_stat[2].key, "inactive_file");
    assert_int_equal(s.mem_stat[2].value, 100);
    assert_int_equal(s.cpu_total_ns, 1500000);
    assert_int_equal(s.cpu_system_ns, 500000);
    assert_int_equal(s.throttled_periods, 1);
    assert_int_equal(s.pids_current, 3);
    assert_int_equal(s.pids_limit, 20);
    assert_int_equal(s.nio, 2);
    assert_string_equal(s.io[1].op, "write");
    assert_int_equal(s.io[1].value, 20);
    assert_int_equal(s.nio_ops, 0);     /* Docker reports bytes only on v2 */
    assert_int_equal(s.mem_failcnt, 4); /* memory.events "oom", not "oom_kill" */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_all_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_write_little, setup, teardown),
        cmocka_unit_test(test_shares_to_weight),
        cmocka_unit_test_setup_teardown(test_swap_math, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pids_unlimited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_max_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_bad_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze_procs_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
