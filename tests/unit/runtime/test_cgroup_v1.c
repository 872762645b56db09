/* runtime/cgroup*.c, v1 backend against a fake tree of per-controller
 * hierarchies (cpu and cpuacct co-mounted, as many hosts do). */
#include <dirent.h>
#include <errno.h>
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

struct fixture {
    char root[UNIT_PATH_MAX];
    struct cg_host host;
    struct cgroup cg;
};

static void hier(struct fixture *f, const char *name, char out[UNIT_PATH_MAX])
{
    unit_path(out, f->root, name);
    assert_int_equal(mkdir(out, 0755), 0);
}

static void make_tree(struct fixture *f)
{
    static const char *const plain[] = {"cpuset", "devices", "freezer", "blkio", "pids"};
    char d[UNIT_PATH_MAX];
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        hier(f, plain[i], d);
    hier(f, "cpu,cpuacct", d);
    unit_put(d, "cpu.cfs_quota_us", "-1\n");
    unit_put(d, "cpu.shares", "1024\n");
    hier(f, "memory", d);
    unit_put(d, "memory.limit_in_bytes", "9223372036854771712\n");
    unit_put(d, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
    unit_put(d, "memory.swappiness", "60\n");
    unit_put(d, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
    hier(f, "unified", d); /* hybrid: cgroup2 mount with no v1 controller name */
    unit_put(d, "cgroup.controllers", "hugetlb\n");
    unit_path(d, f->root, "cpuset");
    unit_put(d, "cpuset.cpus", "0-3\n");
    unit_put(d, "cpuset.mems", "0\n");
    unit_path(d, f->root, "blkio");
    unit_put(d, "blkio.throttle.read_bps_device", "");
    char link[UNIT_PATH_MAX];
    unit_path(link, f->root, "cpu");
    assert_int_equal(symlink("cpu,cpuacct", link), 0);
    unit_path(link, f->root, "cpuacct");
    assert_int_equal(symlink("cpu,cpuacct", link), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    unit_mkdtemp(f->root);
    make_tree(f);
    struct berr err = {0};
    assert_int_equal(cgroup_detect(f->root, &f->host, &err), 0);
    assert_int_equal(cgroup_init(&f->cg, &f->host, NULL, "abc", &err), 0);
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
    if (cgroup_create(&f->cg, lim, NULL, &err) < 0)
        fail_msg("create: %s", err.msg);
}

static void test_detect(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->host.version, 1);
    assert_int_equal(f->host.v1_mask, (1u << CG_NCTRL) - 1);
    /* cpu and cpuacct are one hierarchy: only one of them is primary. */
    assert_int_equal(__builtin_popcount(f->host.v1_primary), CG_NCTRL - 1);
    struct stat a, b;
    assert_int_equal(stat(f->host.v1_dir[CG_CPU], &a), 0);
    assert_int_equal(stat(f->host.v1_dir[CG_CPUACCT], &b), 0);
    assert_true(a.st_ino == b.st_ino);
    assert_true(f->host.memory && f->host.swap && f->host.swappiness);
    assert_true(f->host.oom_kill_disable && f->host.cpu_cfs && f->host.cpu_shares);
    assert_true(f->host.blkio_throttle);
    assert_false(f->host.blkio_weight);
    assert_string_equal(f->host.cpus, "0-3");
    assert_string_equal(f->host.mems, "0");
}

static void test_create_all_limits(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    lim.memory = 64 << 20;
    lim.memory_swap = 128 << 20;
    lim.memory_reservation = 32 << 20;
    lim.memory_swappiness = 10;
    lim.oom_kill_disable = true;
    lim.cpu_shares = 512;
    lim.nano_cpus = 1500000000;
    lim.cpuset_cpus = "0-1";
    lim.pids_limit = 20;
    create(f, &lim);
    const char *mem = f->cg.dir[CG_MEMORY];
    assert_string_equal(unit_get(mem, "memory.limit_in_bytes"), "67108864");
    assert_string_equal(unit_get(mem, "memory.memsw.limit_in_bytes"), "134217728");
    assert_string_equal(unit_get(mem, "memory.soft_limit_in_bytes"), "33554432");
    assert_string_equal(unit_get(mem, "memory.swappiness"), "10");
    assert_string_equal(unit_get(mem, "memory.oom_control"), "1");
    const char *cpu = f->cg.dir[CG_CPU];
    assert_string_equal(unit_get(cpu, "cpu.shares"), "512");
    assert_string_equal(unit_get(cpu, "cpu.cfs_period_us"), "100000");
    assert_string_equal(unit_get(cpu, "cpu.cfs_quota_us"), "150000");
    assert_string_equal(unit_get(f->cg.dir[CG_CPUSET], "cpuset.cpus"), "0-1");
    assert_string_equal(unit_get(f->cg.dir[CG_PIDS], "pids.max"), "20");
    assert_string_equal(unit_get(f->cg.dir[CG_DEVICES], "devices.deny"), "a");
    /* Each rule is its own write; the fake file keeps the last one. */
    assert_string_equal(unit_get(f->cg.dir[CG_DEVICES], "devices.allow"), "c 10:200 rwm");
    for (int c = 0; c < CG_NCTRL; c++)
        assert_int_equal(access(f->cg.dir[c], F_OK), 0);
}

static void test_cpuset_copy_down(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    char parent[UNIT_PATH_MAX];
    unit_path(parent, f->root, "cpuset/berth");
    assert_int_equal(mkdir(parent, 0755), 0);
    unit_put(parent, "cpuset.cpus", "\n"); /* what the kernel shows in a new cpuset */
    create(f, &lim);
    assert_string_equal(unit_get(parent, "cpuset.cpus"), "0-3\n");
    assert_string_equal(unit_get(parent, "cpuset.mems"), "0\n");
    assert_string_equal(unit_get(f->cg.dir[CG_CPUSET], "cpuset.cpus"), "0-3\n");
    assert_string_equal(unit_get(f->cg.dir[CG_CPUSET], "cpuset.mems"), "0\n");
}

static void test_privileged_devices(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    lim.privileged = true;
    create(f, &lim);
    assert_string_equal(unit_get(f->cg.dir[CG_DEVICES], "devices.allow"), "a");
    assert_string_equal(unit_get(f->cg.dir[CG_DEVICES], "devices.deny"), "<absent>");
}

static void test_extra_device_rule(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct cg_dev_rule rule;
    struct berr err = {0};
    assert_int_equal(cgroup_dev_rule_parse("c 10:229 rw", &rule, &err), 0);
    lim.devices = &rule;
    lim.ndevices = 1;
    create(f, &lim);
    assert_string_equal(unit_get(f->cg.dir[CG_DEVICES], "devices.allow"), "c 10:229 rw");
}

static void test_update_swap_and_unlimited(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    lim.memory = 64 << 20;
    lim.memory_swap = 128 << 20;
    create(f, &lim);
    const char *mem = f->cg.dir[CG_MEMORY];
    lim.memory = 256 << 20; /* growing: memsw is raised first */
    lim.memory_swap = 512 << 20;
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(mem, "memory.limit_in_bytes"), "268435456");
    assert_string_equal(unit_get(mem, "memory.memsw.limit_in_bytes"), "536870912");
    lim.memory_swap = -1;
    lim.pids_limit = 0;
    assert_int_equal(cgroup_update(&f->cg, &lim, NULL, &err), 0);
    assert_string_equal(unit_get(mem, "memory.memsw.limit_in_bytes"), "-1");
    assert_string_equal(unit_get(f->cg.dir[CG_PIDS], "pids.max"), "max");
}

static void test_blkio(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    const char *blk = f->cg.dir[CG_BLKIO];
    struct cg_limits w = CG_LIMITS_INIT;
    w.blkio_weight = 300;
    /* Neither weight file (mq-deadline/none): an error only when asked. */
    assert_int_equal(cgroup_update(&f->cg, &w, NULL, &err), -EOPNOTSUPP);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "blkio weight is not supported"));
    unit_put(blk, "blkio.bfq.weight", "100\n");
    assert_int_equal(cgroup_update(&f->cg, &w, NULL, &err), 0);
    assert_string_equal(unit_get(blk, "blkio.bfq.weight"), "300");
    unit_put(blk, "blkio.weight", "500\n");
    struct cg_throttle wd = {"/dev/null", 700};
    w.weight_device = &wd;
    w.nweight_device = 1;
    assert_int_equal(cgroup_update(&f->cg, &w, NULL, &err), 0);
    assert_string_equal(unit_get(blk, "blkio.weight"), "300");
    assert_string_equal(unit_get(blk, "blkio.weight_device"), "1:3 700");
    struct cg_throttle rb = {"/dev/null", 1048576};
    struct cg_limits t = CG_LIMITS_INIT;
    t.write_iops = &rb;
    t.nwrite_iops = 1;
    assert_int_equal(cgroup_update(&f->cg, &t, NULL, &err), 0);
    assert_string_equal(unit_get(blk, "blkio.throttle.write_iops_device"), "1:3 1048576");
}

static void test_oom_freeze_pids(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    const char *mem = f->cg.dir[CG_MEMORY];
    uint64_t n = 9;
    unit_put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    assert_int_equal(cgroup_oom_kill_count(&f->cg, &n, &err), 0);
    assert_int_equal(n, 3);
    unit_put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n"); /* kernel < 4.13 */
    assert_int_equal(cgroup_oom_kill_count(&f->cg, &n, &err), 0);
    assert_int_equal(n, 0);
    int efd = cgroup_oom_watch_fd(&f->cg, &err);
    assert_true(efd >= 0);
    int a = -1, b = -1;
    assert_int_equal(sscanf(unit_get(mem, "cgroup.event_control"), "%d %d", &a, &b), 2);
    assert_int_equal(a, efd);
    close(efd);
    assert_int_equal(cgroup_freeze(&f->cg, true, &err), 0);
    assert_string_equal(unit_get(f->cg.dir[CG_FREEZER], "freezer.state"), "FROZEN");
    assert_int_equal(cgroup_freeze(&f->cg, false, &err), 0);
    assert_string_equal(unit_get(f->cg.dir[CG_FREEZER], "freezer.state"), "THAWED");
    assert_int_equal(cgroup_add_pid(&f->cg, 4242, &err), 0);
    for (int c = 0; c < CG_NCTRL; c++)
        assert_string_equal(unit_get(f->cg.dir[c], "cgroup.procs"), "4242");
    unit_put(f->cg.dir[CG_PIDS], "cgroup.procs", "7\n8\n9\n");
    pid_t *pids = NULL;
    size_t np = 0;
    assert_int_equal(cgroup_pids(&f->cg, &pids, &np, &err), 0);
    assert_int_equal(np, 3);
    assert_int_equal(pids[2], 9);
    free(pids);
    assert_int_equal(cgroup_leaf_fd(&f->cg, &err), -EOPNOTSUPP);
}

static void test_kernel_refusal_message(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    /* A directory where a file should be makes the write fail. */
    char p[UNIT_PATH_MAX];
    unit_path(p, f->cg.dir[CG_PIDS], "pids.max");
    unlink(p);
    assert_int_equal(mkdir(p, 0755), 0);
    lim.pids_limit = 5;
    assert_true(cgroup_update(&f->cg, &lim, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "pids.max"));
    assert_int_equal(rmdir(p), 0);
}

static void test_stats(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    unit_put(f->cg.dir[CG_MEMORY], "memory.usage_in_bytes", "4096\n");
    unit_put(f->cg.dir[CG_MEMORY], "memory.limit_in_bytes", "9223372036854771712\n");
    unit_put(f->cg.dir[CG_MEMORY], "memory.stat", "cache 1\nrss 2\n");
    unit_put(f->cg.dir[CG_CPUACCT], "cpuacct.usage", "123456\n");
    unit_put(f->cg.dir[CG_CPUACCT], "cpuacct.usage_percpu", "100000 23456 \n");
    unit_put(f->cg.dir[CG_PIDS], "pids.current", "2\n");
    unit_put(f->cg.dir[CG_PIDS], "pids.max", "max\n");
    unit_put(f->cg.dir[CG_BLKIO], "blkio.throttle.io_service_bytes",
             "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n");
    unit_put(f->cg.dir[CG_BLKIO], "blkio.throttle.io_serviced",
             "8:0 Read 1\n8:0 Write 2\n8:0 Sync 3\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 3\n"
             "Total 3\n");
    unit_put(f->cg.dir[CG_MEMORY], "memory.failcnt", "7\n");
    struct cg_stats s;
    assert_int_equal(cgroup_stats(&f->cg, &s, &err), 0);
    assert_int_equal(s.mem_usage, 4096);
    assert_int_equal(s.mem_limit, 0);
    assert_int_equal(s.nmem_stat, 2);
    assert_int_equal(s.cpu_total_ns, 123456);
    assert_int_equal(s.npercpu, 2);
    assert_int_equal(s.percpu_ns[1], 23456);
    assert_int_equal(s.pids_current, 2);
    assert_int_equal(s.pids_limit, 0);
    assert_int_equal(s.nio, 3);
    assert_string_equal(s.io[1].op, "Write");
    assert_int_equal(s.nio_ops, 6); /* every per-device line, not the grand total */
    assert_string_equal(s.io_ops[2].op, "Sync");
    assert_int_equal(s.io_ops[2].value, 3);
    assert_int_equal(s.mem_failcnt, 7);
}

static void unlink_all(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[UNIT_PATH_MAX];
        if (de->d_type != DT_REG)
            continue;
        unit_path(p, dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

static void test_remove(void **state)
{
    struct fixture *f = *state;
    struct cg_limits lim = CG_LIMITS_INIT;
    struct berr err = {0};
    create(f, &lim);
    for (int c = 0; c < CG_NCTRL; c++)
        unlink_all(f->cg.dir[c]); /* cgroupfs drops them with the dir */
    assert_int_equal(cgroup_remove(&f->cg, &err), 0);
    for (int c = 0; c < CG_NCTRL; c++)
        assert_int_equal(access(f->cg.dir[c], F_OK), -1);
    assert_int_equal(cgroup_remove(&f->cg, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_all_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpuset_copy_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_privileged_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extra_device_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_swap_and_unlimited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blkio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_freeze_pids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_refusal_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
