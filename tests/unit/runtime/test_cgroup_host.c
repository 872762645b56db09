/* runtime/cgroup*.c on this host's real cgroupfs (root only): v1 limits,
 * placement, kill and removal; v2 freeze/kill and the BPF device program
 * on the hybrid "unified" cgroup2 mount. Skipped where not available.
 * Every cgroup made here is removed again, parent included. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/cgroup.h"

static char parent[64];

static void read_file(const char *dir, const char *name, char *buf, size_t size)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* A child that waits for a byte on the pipe, then runs probe (if any)
 * and exits with its result, or sleeps until killed. */
static pid_t spawn(int fds[2], int (*probe)(void))
{
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(fds[1]);
        if (read(fds[0], &c, 1) != 1)
            _exit(100);
        if (probe)
            _exit(probe());
        for (;;)
            pause();
    }
    close(fds[0]);
    return pid;
}

static void release(int fds[2])
{
    assert_int_equal(write(fds[1], "x", 1), 1);
    close(fds[1]);
}

static void rm_parent(const struct cgroup *cg)
{
    for (int c = 0; c < CG_NCTRL; c++) {
        char p[CG_PATH_MAX];
        const char *dir = cg->version == 2 ? cg->dir[0] : cg->dir[c];
        if (!*dir || (cg->version == 2 && c > 0))
            continue;
        snprintf(p, sizeof(p), "%s", dir);
        *strrchr(p, '/') = '\0'; /* the leaf's parent: <root>/<parent> */
        rmdir(p);
    }
}

static bool pids_has(const struct cgroup *cg, pid_t pid)
{
    pid_t *pids = NULL;
    size_t n = 0;
    struct berr err = {0};
    assert_int_equal(cgroup_pids(cg, &pids, &n, &err), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= pids[i] == pid;
    free(pids);
    return found;
}

static void kill_and_check(const struct cgroup *cg, pid_t pid)
{
    struct berr err = {0};
    if (cgroup_kill_all(cg, &err) < 0)
        fail_msg("kill_all: %s", err.msg);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    assert_false(pids_has(cg, pid));
}

static void test_v1_real(void **state)
{
    (void)state;
    struct cg_host host;
    struct berr err = {0};
    if (geteuid() != 0 || cgroup_detect("/sys/fs/cgroup", &host, &err) < 0 || host.version != 1 ||
        !(host.v1_mask & (1u << CG_MEMORY)) || !(host.v1_mask & (1u << CG_PIDS)))
        skip();
    struct cgroup cg;
    assert_int_equal(cgroup_init(&cg, &host, parent, "c1", &err), 0);
    struct cg_limits lim = CG_LIMITS_INIT;
    lim.memory = 64 << 20;
    lim.pids_limit = 20;
    if (cgroup_create(&cg, &lim, NULL, &err) < 0)
        fail_msg("create: %s", err.msg);
    char buf[4096];
    read_file(cg.dir[CG_MEMORY], "memory.limit_in_bytes", buf, sizeof(buf));
    assert_string_equal(buf, "67108864\n");
    read_file(cg.dir[CG_PIDS], "pids.max", buf, sizeof(buf));
    assert_string_equal(buf, "20\n");
    if (host.v1_mask & (1u << CG_DEVICES)) {
        read_file(cg.dir[CG_DEVICES], "devices.list", buf, sizeof(buf));
        assert_non_null(strstr(buf, "c *:* m\n"));
        assert_non_null(strstr(buf, "c 1:3 rwm\n"));
        assert_non_null(strstr(buf, "c 136:* rwm\n"));
        assert_null(strstr(buf, "a *:* rwm"));
    }
    if (host.v1_mask & (1u << CG_CPUSET)) { /* copied down, else tasks are refused */
        read_file(cg.dir[CG_CPUSET], "cpuset.cpus", buf, sizeof(buf));
        assert_true(buf[0] != '\n');
    }
    /* The kernel refuses a memory limit below usage is hard to provoke;
     * a bad cpuset is not. */
    struct cg_limits bad = CG_LIMITS_INIT;
    bad.cpuset_cpus = "4000";
    if (host.v1_mask & (1u << CG_CPUSET)) {
        assert_true(cgroup_update(&cg, &bad, NULL, &err) < 0);
        assert_int_equal(err.status, 400);
        assert_non_null(strstr(err.msg, "cpuset.cpus=4000"));
    }
    int fds[2];
    pid_t pid = spawn(fds, NULL);
    if (cgroup_add_pid(&cg, pid, &err) < 0)
        fail_msg("add_pid: %s", err.msg);
    release(fds);
    assert_true(pids_has(&cg, pid));
    int efd = cgroup_oom_watch_fd(&cg, &err);
    assert_true(efd >= 0);
    close(efd);
    uint64_t ooms = 9;
    assert_int_equal(cgroup_oom_kill_count(&cg, &ooms, &err), 0);
    assert_int_equal(ooms, 0);
    if (host.freezer) {
        assert_int_equal(cgroup_freeze(&cg, true, &err), 0);
        assert_int_equal(cgroup_freeze(&cg, false, &err), 0);
    }
    struct cg_stats s;
    assert_int_equal(cgroup_stats(&cg, &s, &err), 0);
    assert_int_equal(s.pids_current, 1);
    assert_int_equal(s.pids_limit, 20);
    assert_int_equal(s.mem_limit, 64 << 20);
    kill_and_check(&cg, pid);
    if (cgroup_remove(&cg, &err) < 0)
        fail_msg("remove: %s", err.msg);
    for (int c = 0; c < CG_NCTRL; c++)
        if (*cg.dir[c])
            assert_int_equal(access(cg.dir[c], F_OK), -1);
    rm_parent(&cg);
}

static int probe_devices(void)
{
    int ok = open("/dev/null", O_RDWR | O_CLOEXEC);
    int denied = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
    int e = errno;
    if (ok < 0)
        return 1;
    if (denied >= 0 || e != EPERM)
        return 2;
    return 0;
}

static void test_v2_unified_real(void **state)
{
    (void)state;
    struct cg_host host;
    struct berr err = {0};
    if (geteuid() != 0 || access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) < 0 ||
        cgroup_detect("/sys/fs/cgroup/unified", &host, &err) < 0 || host.version != 2)
        skip();
    host.v2_mask = 0; /* leave the host's subtree_control alone */
    struct cgroup cg;
    assert_int_equal(cgroup_init(&cg, &host, parent, "c2", &err), 0);
    struct cg_limits lim = CG_LIMITS_INIT;
    if (cgroup_create(&cg, &lim, NULL, &err) < 0) {
        if (strstr(err.msg, "BPF")) {
            print_message("no BPF here: %s\n", err.msg);
            rm_parent(&cg);
            skip();
        }
        fail_msg("create: %s", err.msg);
    }
    int fd = cgroup_leaf_fd(&cg, &err);
    assert_true(fd >= 0);
    close(fd);
    int fds[2];
    pid_t pid = spawn(fds, probe_devices);
    assert_int_equal(cgroup_add_pid(&cg, pid, &err), 0);
    release(fds);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0); /* /dev/null allowed, /dev/kmsg denied */
    pid = spawn(fds, NULL);
    assert_int_equal(cgroup_add_pid(&cg, pid, &err), 0);
    release(fds);
    assert_int_equal(cgroup_freeze(&cg, true, &err), 0);
    char buf[256];
    read_file(cg.dir[0], "cgroup.events", buf, sizeof(buf));
    assert_non_null(strstr(buf, "frozen 1"));
    assert_int_equal(cgroup_freeze(&cg, false, &err), 0);
    kill_and_check(&cg, pid);
    if (cgroup_remove(&cg, &err) < 0)
        fail_msg("remove: %s", err.msg);
    assert_int_equal(access(cg.dir[0], F_OK), -1);
    rm_parent(&cg);
}

int main(void)
{
    snprintf(parent, sizeof(parent), "berth-unittest-%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_real),
        cmocka_unit_test(test_v2_unified_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
