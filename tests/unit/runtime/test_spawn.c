/* runtime/spawn.c + berth-init: really runs containers on a busybox root
 * and checks what a process inside sees. Needs root (skipped otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/spawn.h"
#include "unit_helpers.h"

/* Docker's default capability set. */
#define DOCKER_CAPS 0xa80425fbull
#define ALL_NS                                                                                     \
    (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

static char root[UNIT_PATH_MAX];
static int place_calls;
static pid_t placed_pid;

static const char *const docker_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};

struct run {
    int r;
    int exit_code;
    char out[8192];
    struct berr err;
};

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static void make_root(void)
{
    static const char *const applets[] = {"sh",    "echo",     "cat",  "id",  "hostname", "ls",
                                          "sleep", "touch",    "grep", "pwd", "mkdir",    "true",
                                          "head",  "readlink", "cut",  "tty", "stty",     "stat"};
    char p[UNIT_PATH_MAX];
    unit_mkdtemp(root);
    assert_int_equal(chmod(root, 0755), 0);
    for (const char *d = "bin\0etc\0tmp\0home\0"; *d; d += strlen(d) + 1) {
        unit_path(p, root, d);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    unit_path(p, root, "bin/busybox");
    copy_file("/bin/busybox", p, 0755);
    for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
        char link[UNIT_PATH_MAX + 16];
        snprintf(link, sizeof(link), "%s/bin/%s", root, applets[i]);
        assert_int_equal(symlink("busybox", link), 0);
    }
    unit_path(p, root, "etc/passwd");
    unit_write_file(p, "root:x:0:0:root:/root:/bin/sh\n"
                       "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                       "u1000:x:1000:1000::/home/u1000:/bin/sh\n");
    unit_path(p, root, "etc/group");
    unit_write_file(p, "root:x:0:\nusers:x:100:u1000\ng1000:x:1000:\nnogroup:x:65534:\n");
    unit_path(p, root, "etc/noexec");
    unit_write_file(p, "not a program\n");
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || access("/bin/busybox", X_OK) != 0)
        return 0;
    make_root();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (root[0])
        unit_rm_rf(root);
    return 0;
}

static void need_root(void)
{
    if (!root[0])
        skip();
}

static int place_cb(pid_t pid, void *ud, struct berr *err)
{
    (void)err;
    (void)ud;
    place_calls++;
    placed_pid = pid;
    return 0;
}

static int place_cb_mt(pid_t pid, void *ud, struct berr *err)
{
    (void)ud;
    (void)err;
    return pid > 0 ? 0 : -EINVAL;
}

static void base_plan(struct spawn_plan *p, const char *const *argv)
{
    spawn_plan_init(p);
    p->rootfs = root;
    p->clone_flags = ALL_NS;
    p->masked_paths = spawn_default_masked_paths;
    p->readonly_paths = spawn_default_readonly_paths;
    p->hostname = "berthtest";
    p->caps = DOCKER_CAPS;
    p->env = docker_env;
    p->argv = argv;
}

static void drain(int fd, char *out, size_t size)
{
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && ((n = read(fd, out + got, size - 1 - got)) > 0 || errno == EINTR))
        got += n > 0 ? (size_t)n : 0;
    out[got] = '\0';
}

static int wait_exit(int pidfd)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    assert_int_equal(waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED), 0);
    close(pidfd);
    return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

/* Spawns with stdout+stderr on one pipe, collects the output and the exit. */
static void run(struct spawn_plan *p, spawn_place_fn place, void *ud, struct run *out)
{
    int fds[2];
    struct spawn_result res = {0, -1};
    memset(out, 0, sizeof(*out));
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    p->stdout_fd = fds[1];
    p->stderr_fd = fds[1];
    out->r = spawn_container(p, place ? place : place_cb, ud, &res, &out->err);
    close(fds[1]);
    if (out->r == 0) {
        drain(fds[0], out->out, sizeof(out->out));
        out->exit_code = wait_exit(res.pidfd);
    }
    close(fds[0]);
}

static void run_cmd(const char *cmd, struct run *out)
{
    const char *const argv[] = {"sh", "-c", cmd, NULL};
    struct spawn_plan p;
    base_plan(&p, argv);
    run(&p, NULL, NULL, out);
}

static void test_echo(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"echo", "hi", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    place_calls = 0;
    run(&p, NULL, NULL, &o);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "hi\n");
    assert_int_equal(o.exit_code, 0);
    assert_int_equal(place_calls, 1);
    assert_true(placed_pid > 0);
}

static void test_exit_code_pid_hostname(void **state)
{
    (void)state;
    need_root();
    struct run o;
    run_cmd("exit 3", &o);
    assert_int_equal(o.r, 0);
    assert_int_equal(o.exit_code, 3);
    run_cmd("echo $$; hostname; pwd", &o);
    assert_string_equal(o.out, "1\nberthtest\n/\n");
}

static void run_as(const char *user, const char *cmd, struct run *o)
{
    const char *const argv[] = {"sh", "-c", cmd, NULL};
    struct spawn_plan p;
    base_plan(&p, argv);
    p.user = user;
    run(&p, NULL, NULL, o);
}

static void test_users(void **state)
{
    (void)state;
    need_root();
    struct run o;
    run_as("1000:1000", "id; echo $HOME", &o);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "uid=1000(u1000) gid=1000(g1000) groups=1000(g1000)\n/home/u1000\n");
    run_as("u1000", "id", &o);
    assert_string_equal(o.out, "uid=1000(u1000) gid=1000(g1000) groups=100(users),1000(g1000)\n");
    run_as("", "id; echo $HOME", &o);
    assert_string_equal(o.out, "uid=0(root) gid=0(root) groups=0(root)\n/root\n");
    run_as("4321", "id -u; id -g; echo $HOME", &o); /* no entry: gid 0, HOME=/ */
    assert_string_equal(o.out, "4321\n0\n/\n");
    run_as("nobody:users", "id -u; id -g", &o);
    assert_string_equal(o.out, "65534\n100\n");
}

static void test_unknown_user_and_group(void **state)
{
    (void)state;
    need_root();
    struct run o;
    run_as("nosuch", "id", &o);
    assert_true(o.r < 0);
    assert_string_equal(o.err.msg,
                        "unable to find user nosuch: no matching entries in passwd file");
    run_as("u1000:nogrp", "id", &o);
    assert_true(o.r < 0);
    assert_string_equal(o.err.msg, "unable to find group nogrp: no matching entries in group file");
}

static void test_group_add(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"id", "-G", NULL};
    const char *const add[] = {"users", "777", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.user = "1000:1000";
    p.group_add = add;
    run(&p, NULL, NULL, &o);
    assert_string_equal(o.out, "1000 100 777\n");
}

static void test_no_fd_leak(void **state)
{
    (void)state;
    need_root();
    struct run o;
    int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    assert_true(leak >= 0);
    const char *const argv[] = {"ls", "/proc/self/fd", NULL};
    struct spawn_plan p;
    base_plan(&p, argv);
    run(&p, NULL, NULL, &o);
    close(leak);
    assert_string_equal(o.out, "0\n1\n2\n3\n");
}

/* With --init, PID 1 is berth-init: its /proc/1/exe is the sealed memfd, not
 * a host file, and can't be written. */
static void test_init_exe_is_sealed_memfd(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"sh", "-c",
                                "readlink /proc/1/exe; echo x >/proc/1/exe || echo denied", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.init = true;
    run(&p, NULL, NULL, &o);
    assert_non_null(strstr(o.out, "/memfd:berth-init (deleted)\n"));
    assert_non_null(strstr(o.out, "denied\n"));
}

static void expect_exec_error(const char *cmd, const char *want, int code)
{
    const char *const argv[] = {cmd, NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    run(&p, NULL, NULL, &o);
    assert_true(o.r < 0);
    if (!strstr(o.err.msg, want))
        fail_msg("message '%s' lacks '%s'", o.err.msg, want);
    assert_non_null(strstr(o.err.msg, "failed to create task for container"));
    assert_int_equal(o.err.status, 400);
    assert_int_equal(spawn_exit_code_for_error(o.err.msg), code);
}

static void test_exec_errors(void **state)
{
    (void)state;
    need_root();
    expect_exec_error("nosuchcmd", "exec: \"nosuchcmd\": executable file not found in $PATH", 127);
    expect_exec_error("/nosuch", "exec: \"/nosuch\": stat /nosuch: no such file or directory", 127);
    expect_exec_error("/etc/noexec", "exec: \"/etc/noexec\": permission denied", 126);
    expect_exec_error("/etc", "exec: \"/etc\": is a directory", 126);
}

static void test_masked_and_readonly_paths(void **state)
{
    (void)state;
    need_root();
    struct run o;
    run_cmd("cat /proc/keys /proc/timer_list; ls /sys/firmware; echo end", &o);
    assert_string_equal(o.out, "end\n");
    run_cmd("echo x > /proc/sys/kernel/domainname", &o);
    assert_int_not_equal(o.exit_code, 0);
    assert_non_null(strstr(o.out, "Read-only file system"));
}

static void test_caps_and_nnp(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"grep", "-E", "^(CapEff|CapBnd|CapPrm|NoNewPrivs)",
                                "/proc/self/status", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    run(&p, NULL, NULL, &o);
    assert_string_equal(o.out, "CapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n"
                               "CapBnd:\t00000000a80425fb\nNoNewPrivs:\t0\n");
    base_plan(&p, argv);
    p.no_new_privs = true;
    p.caps = 1ull << 0; /* CAP_CHOWN only */
    run(&p, NULL, NULL, &o);
    assert_string_equal(o.out, "CapPrm:\t0000000000000001\nCapEff:\t0000000000000001\n"
                               "CapBnd:\t0000000000000001\nNoNewPrivs:\t1\n");
    /* A non-root user keeps the bounding set; exec clears the rest (Docker). */
    base_plan(&p, argv);
    p.user = "1000";
    run(&p, NULL, NULL, &o);
    assert_string_equal(o.out, "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
                               "CapBnd:\t00000000a80425fb\nNoNewPrivs:\t0\n");
}

/* -t: runs argv with a terminal made inside the container, writes input to
 * the master, and collects the output until EIO (the last slave closed). */
static void run_tty(struct spawn_plan *p, const char *input, struct run *out)
{
    struct spawn_result res;
    memset(out, 0, sizeof(*out));
    p->tty = true;
    out->r = spawn_container(p, NULL, NULL, &res, &out->err);
    if (out->r != 0) {
        assert_int_equal(res.pty_master, -1);
        return;
    }
    assert_true(res.pty_master >= 0);
    assert_true(fcntl(res.pty_master, F_GETFD) & FD_CLOEXEC);
    if (input)
        assert_int_equal(write(res.pty_master, input, strlen(input)), (ssize_t)strlen(input));
    drain(res.pty_master, out->out, sizeof(out->out));
    close(res.pty_master);
    out->exit_code = wait_exit(res.pidfd);
}

static void tty_cmd(const char *user, uint16_t rows, uint16_t cols, const char *cmd, struct run *o)
{
    const char *const argv[] = {"sh", "-c", cmd, NULL};
    struct spawn_plan p;
    base_plan(&p, argv);
    p.user = user;
    p.tty_rows = rows;
    p.tty_cols = cols;
    run_tty(&p, NULL, o);
}

/* The command leads a new session with the container's own /dev/pts/0 as
 * its controlling terminal (field 7 of /proc/self/stat, tty_nr, is set),
 * on fds 0-2; onlcr turns "\n" into "\r\n". */
static void test_tty(void **state)
{
    (void)state;
    need_root();
    struct run o;
    tty_cmd(NULL, 0, 0,
            "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all; cut -d' ' -f6,7 /proc/self/stat",
            &o);
    assert_int_equal(o.r, 0);
    assert_int_equal(o.exit_code, 0);
    int sid = -1, tty_nr = 0;
    if (sscanf(o.out, "/dev/pts/0\r\nall\r\n%d %d\r\n", &sid, &tty_nr) != 2)
        fail_msg("unexpected output '%s'", o.out);
    assert_int_equal(sid, 1);
    assert_int_not_equal(tty_nr, 0);
}

/* The plan's size is the terminal's from the start; 0x0 is the kernel's. */
static void test_tty_size(void **state)
{
    (void)state;
    need_root();
    struct run o;
    tty_cmd(NULL, 40, 120, "stty size", &o);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "40 120\r\n");
}

/* The slave belongs to the user (runc's fixStdioPermissions): uid changed,
 * the devpts mount's tty gid 5 and mode 0620 kept; the user can write to
 * /dev/tty. */
static void test_tty_owner(void **state)
{
    (void)state;
    need_root();
    struct run o;
    tty_cmd("1000:1000", 0, 0, "stat -c '%u %g %a' $(tty); echo hi >/dev/tty", &o);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "1000 5 620\r\nhi\r\n");
    tty_cmd(NULL, 0, 0, "stat -c '%u %g %a' $(tty)", &o);
    assert_string_equal(o.out, "0 5 620\r\n");
}

/* Input written to the master reaches an interactive shell. */
static void test_tty_input(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"sh", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    run_tty(&p, "echo $((6*7))\nexit 7\n", &o);
    assert_int_equal(o.r, 0);
    if (!strstr(o.out, "\r\n42\r\n"))
        fail_msg("unexpected output '%s'", o.out);
    assert_int_equal(o.exit_code, 7);
}

/* Reads the master until want has been seen (or EOF/EIO); returns the
 * bytes read. */
static size_t read_until(int fd, const char *want, char *out, size_t size)
{
    size_t got = 0;
    out[0] = '\0';
    while (got < size - 1 && !strstr(out, want)) {
        ssize_t n = read(fd, out + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        out[got] = '\0';
    }
    return got;
}

/* ^C written to the master (ISIG) sends SIGINT to the terminal's
 * foreground process group: the command's. */
static void test_tty_intr(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {
        "sh", "-c", "trap 'echo got-INT; exit 9' INT; echo ready; while :; do sleep 1; done", NULL};
    struct spawn_plan p;
    struct spawn_result res;
    struct berr err;
    char out[256];
    base_plan(&p, argv);
    p.tty = true;
    assert_int_equal(spawn_container(&p, NULL, NULL, &res, &err), 0);
    read_until(res.pty_master, "ready\r\n", out, sizeof(out));
    assert_string_equal(out, "ready\r\n");
    assert_int_equal(write(res.pty_master, "\003", 1), 1);
    drain(res.pty_master, out, sizeof(out));
    close(res.pty_master);
    assert_non_null(strstr(out, "got-INT\r\n"));
    assert_int_equal(wait_exit(res.pidfd), 9);
}

/* With --init, PID 1 keeps no slave fd: the master reads EIO as soon as the
 * command has let go of the terminal, while the container still runs. */
static void test_tty_init_releases_terminal(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"sh", "-c", "echo hi; exec sleep 30 </dev/null >/dev/null 2>&1",
                                NULL};
    struct spawn_plan p;
    struct spawn_result res;
    struct berr err;
    char out[64];
    base_plan(&p, argv);
    p.init = true;
    p.tty = true;
    assert_int_equal(spawn_container(&p, NULL, NULL, &res, &err), 0);
    drain(res.pty_master, out, sizeof(out));
    assert_string_equal(out, "hi\r\n");
    siginfo_t info = {0};
    assert_int_equal(waitid(P_PIDFD, (id_t)res.pidfd, &info, WEXITED | WNOHANG), 0);
    assert_int_equal(info.si_pid, 0); /* still running */
    /* checked before the master is closed: that hangs the terminal up and
     * SIGHUPs the command, its session leader (the daemon keeps it) */
    close(res.pty_master);
    syscall(SYS_pidfd_send_signal, res.pidfd, SIGKILL, NULL, 0);
    wait_exit(res.pidfd);
}

/* A failure after the terminal was handed over still fails the spawn, and
 * the master received is closed (no fd left behind). */
static void test_tty_failure_after_handover(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"nosuchcmd", NULL};
    struct spawn_plan p;
    struct run o;
    int before = open("/dev/null", O_RDONLY | O_CLOEXEC);
    base_plan(&p, argv);
    run_tty(&p, NULL, &o);
    assert_true(o.r < 0);
    assert_non_null(strstr(o.err.msg, "executable file not found in $PATH"));
    int after = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_int_equal(after, before + 1); /* the lowest free fd did not move */
    close(after);
    close(before);
}

static void test_rlimits_and_oom_score(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj",
                                NULL};
    const struct spawn_rlimit rl[] = {{RLIMIT_NOFILE, 512, 1000}};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.rlimits = rl;
    p.n_rlimits = 1;
    p.oom_score_adj = 500;
    p.set_oom_score_adj = true;
    run(&p, NULL, NULL, &o);
    assert_string_equal(o.out, "512\n1000\n500\n");
}

static void test_readonly_rootfs(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"sh", "-c", "touch /x; echo rc=$?; touch /dev/shm/y && echo shm",
                                NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.readonly_rootfs = true;
    run(&p, NULL, NULL, &o);
    assert_non_null(strstr(o.out, "Read-only file system"));
    assert_non_null(strstr(o.out, "rc=1\nshm\n"));
}

static void test_user_mounts(void **state)
{
    (void)state;
    need_root();
    char host[UNIT_PATH_MAX], file[UNIT_PATH_MAX];
    unit_mkdtemp(host);
    unit_path(file, host, "data.txt");
    unit_write_file(file, "payload\n");
    struct spawn_mount m[] = {
        {host, "/data/ro", "bind", NULL, MS_RDONLY, 0},
        {"tmpfs", "/scratch", "tmpfs", "size=1m,mode=1777", MS_NOSUID, 0},
    };
    const char *const argv[] = {"sh", "-c",
                                "cat /data/ro/data.txt; touch /data/ro/y || echo ro; "
                                "grep ' /scratch ' /proc/mounts; touch /scratch/z && echo rw",
                                NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.mounts = m;
    p.n_mounts = 2;
    run(&p, NULL, NULL, &o);
    assert_int_equal(o.r, 0);
    assert_non_null(strstr(o.out, "payload\n"));
    assert_non_null(strstr(o.out, "ro\n"));
    assert_non_null(strstr(o.out, "tmpfs /scratch tmpfs rw,nosuid,relatime,size=1024k"));
    assert_non_null(strstr(o.out, "rw\n"));
    unit_rm_rf(host);
}

/* An image's symlink can't send a mount outside the root: "/escape" points
 * at the host's "/" by "..", but resolves inside the container's root. */
static void test_mount_target_symlink_confined(void **state)
{
    (void)state;
    need_root();
    char link[UNIT_PATH_MAX], made[UNIT_PATH_MAX];
    unit_path(link, root, "escape");
    unit_path(made, root, "berth-escape-test");
    assert_int_equal(symlink("../../../../../../../..", link), 0);
    struct spawn_mount m = {"tmpfs", "/escape/berth-escape-test", "tmpfs", NULL, 0, 0};
    const char *const argv[] = {"true", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.mounts = &m;
    p.n_mounts = 1;
    run(&p, NULL, NULL, &o);
    unlink(link);
    assert_int_equal(o.r, 0);
    assert_int_equal(access("/berth-escape-test", F_OK), -1);
    assert_int_equal(rmdir(made), 0);
}

static void test_etc_files_and_cwd(void **state)
{
    (void)state;
    need_root();
    char host[UNIT_PATH_MAX], hosts[UNIT_PATH_MAX];
    unit_mkdtemp(host);
    unit_path(hosts, host, "hosts");
    unit_write_file(hosts, "127.0.0.1 localhost berthtest\n");
    const char *const argv[] = {"sh", "-c", "cat /etc/hosts; pwd; ls /dev", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.hosts_path = hosts;
    p.cwd = "/work/dir";
    run(&p, NULL, NULL, &o);
    assert_string_equal(o.out, "127.0.0.1 localhost berthtest\n/work/dir\n"
                               "fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\n"
                               "stdout\ntty\nurandom\nzero\n");
    unit_rm_rf(host);
}

static void test_init_mode(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"sh", "-c", "(sleep 0.1 &); echo $$; exit 5", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.init = true;
    run(&p, NULL, NULL, &o);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "2\n");
    assert_int_equal(o.exit_code, 5);
}

/* SIGTERM to berth-init as PID 1 reaches the command, whose death by it
 * becomes init's exit status 128+15. */
static void test_init_forwards_signals(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"sleep", "30", NULL};
    struct spawn_plan p;
    struct spawn_result res;
    struct berr err;
    base_plan(&p, argv);
    p.init = true;
    assert_int_equal(spawn_container(&p, NULL, NULL, &res, &err), 0);
    usleep(100 * 1000);
    assert_int_equal(syscall(SYS_pidfd_send_signal, res.pidfd, SIGTERM, NULL, 0), 0);
    assert_int_equal(wait_exit(res.pidfd), 128 + SIGTERM);
}

static void test_seccomp(void **state)
{
    (void)state;
    need_root();
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdir, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdirat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    const char *const argv[] = {"sh", "-c", "mkdir /tmp/d || echo denied", NULL};
    struct spawn_plan p;
    struct run o;
    for (int nnp = 0; nnp < 2; nnp++) {
        base_plan(&p, argv);
        p.seccomp = f;
        p.seccomp_len = sizeof(f);
        p.no_new_privs = nnp;
        run(&p, NULL, NULL, &o);
        assert_int_equal(o.r, 0);
        assert_non_null(strstr(o.out, "Operation not permitted"));
        assert_non_null(strstr(o.out, "denied\n"));
    }
}

/* cgroup v1: place() puts the process in a cgroup before berth-init goes on,
 * and the container sees its own limit at the usual path. */
static int place_v1(pid_t pid, void *ud, struct berr *err)
{
    char path[UNIT_PATH_MAX + 16], val[32];
    snprintf(path, sizeof(path), "%s/cgroup.procs", (const char *)ud);
    snprintf(val, sizeof(val), "%d", (int)pid);
    FILE *f = fopen(path, "we");
    if (!f || fputs(val, f) < 0 || fclose(f) != 0)
        return berr_errno(err, 500, errno, "place %d", (int)pid);
    return 0;
}

static void test_cgroup_v1_bind(void **state)
{
    (void)state;
    need_root();
    char cg[UNIT_PATH_MAX], lim[UNIT_PATH_MAX + 32];
    snprintf(cg, sizeof(cg), "/sys/fs/cgroup/memory/berth-unit-%d", (int)getpid());
    if (mkdir(cg, 0755) < 0)
        skip();
    snprintf(lim, sizeof(lim), "%s/memory.limit_in_bytes", cg);
    unit_write_file(lim, "67108864");
    struct spawn_bind b = {cg, "/sys/fs/cgroup/memory"};
    const char *const argv[] = {"sh", "-c",
                                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                                "echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes || echo ro",
                                NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.cgroup_binds = &b;
    p.n_cgroup_binds = 1;
    run(&p, place_v1, cg, &o);
    rmdir(cg);
    assert_int_equal(o.r, 0);
    assert_non_null(strstr(o.out, "67108864\n"));
    assert_non_null(strstr(o.out, "ro\n"));
}

static int place_fail(pid_t pid, void *ud, struct berr *err)
{
    *(pid_t *)ud = pid;
    return berr_set(err, 500, EIO, "placement failed");
}

static void test_place_failure_kills_child(void **state)
{
    (void)state;
    need_root();
    const char *const argv[] = {"true", NULL};
    struct spawn_plan p;
    struct run o;
    pid_t pid = 0;
    base_plan(&p, argv);
    run(&p, place_fail, &pid, &o);
    assert_int_equal(o.r, -EIO);
    assert_string_equal(o.err.msg, "placement failed");
    assert_true(pid > 0);
    assert_int_equal(kill(pid, 0), -1); /* killed and reaped */
    assert_int_equal(errno, ESRCH);
}

/* cgroup v2: CLONE_INTO_CGROUP places the child at clone time, and the new
 * cgroup namespace makes that cgroup the container's root. This host's
 * cgroup2 mount is /sys/fs/cgroup/unified (no controllers, but enough). */
static void test_clone_into_cgroup_v2(void **state)
{
    (void)state;
    need_root();
    char cg[UNIT_PATH_MAX];
    snprintf(cg, sizeof(cg), "/sys/fs/cgroup/unified/berth-unit-%d", (int)getpid());
    if (mkdir(cg, 0755) < 0)
        skip();
    const char *const argv[] = {
        "sh", "-c", "grep '^0::' /proc/self/cgroup; ls /sys/fs/cgroup/cgroup.procs", NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.cgroup2 = true;
    p.cgroup_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(p.cgroup_fd >= 0);
    run(&p, NULL, NULL, &o);
    close(p.cgroup_fd);
    rmdir(cg);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "0::/\n/sys/fs/cgroup/cgroup.procs\n");
}

static void test_privileged(void **state)
{
    (void)state;
    need_root();
    if (access("/dev/kmsg", F_OK) != 0)
        skip();
    const char *const argv[] = {"sh", "-c",
                                "ls /dev/kmsg; grep CapBnd /proc/self/status; "
                                "grep -c ' /sys sysfs rw' /proc/mounts",
                                NULL};
    struct spawn_plan p;
    struct run o;
    base_plan(&p, argv);
    p.privileged = true;
    p.caps = ~0ull; /* what the bounding set has */
    run(&p, NULL, NULL, &o);
    assert_int_equal(o.r, 0);
    assert_non_null(strstr(o.out, "/dev/kmsg\n"));
    char want[256];
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    want[0] = '\0';
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "CapBnd:", 7) == 0)
            snprintf(want, sizeof(want), "%s", line);
    if (f)
        fclose(f);
    assert_non_null(strstr(o.out, want));
    assert_non_null(strstr(o.out, "1\n"));
}

static void *spawn_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        struct run o;
        const char *const argv[] = {"echo", "x", NULL};
        struct spawn_plan p;
        base_plan(&p, argv);
        run(&p, place_cb_mt, NULL, &o);
        if (o.r != 0 || strcmp(o.out, "x\n") != 0 || o.exit_code != 0)
            return (void *)1;
    }
    return NULL;
}

/* Worker threads spawn at the same time. */
static void test_concurrent_spawns(void **state)
{
    (void)state;
    need_root();
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, spawn_many, NULL), 0);
    for (int i = 0; i < 3; i++) {
        void *ret;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
}

struct exec_target {
    struct spawn_result res;
    char paths[6][64];
    struct spawn_nsjoin joins[6];
};

/* A running container (sleep) and the namespaces an exec plan joins. */
static void exec_target_start(struct exec_target *t)
{
    static const char *const argv[] = {"sleep", "30", NULL};
    static const char *const names[] = {"ipc", "uts", "net", "pid", "cgroup", "mnt"};
    static const uint32_t types[] = {CLONE_NEWIPC, CLONE_NEWUTS,    CLONE_NEWNET,
                                     CLONE_NEWPID, CLONE_NEWCGROUP, CLONE_NEWNS};
    struct spawn_plan p;
    struct berr err;
    base_plan(&p, argv);
    assert_int_equal(spawn_container(&p, NULL, NULL, &t->res, &err), 0);
    for (int i = 0; i < 6; i++) {
        snprintf(t->paths[i], sizeof(t->paths[i]), "/proc/%d/ns/%s", (int)t->res.pid, names[i]);
        t->joins[i] = (struct spawn_nsjoin){types[i], t->paths[i]};
    }
}

static void exec_target_stop(struct exec_target *t)
{
    syscall(SYS_pidfd_send_signal, t->res.pidfd, SIGKILL, NULL, 0);
    wait_exit(t->res.pidfd);
}

static void exec_plan(struct spawn_plan *e, struct exec_target *t, const char *const *argv)
{
    base_plan(e, argv);
    e->mode = SPAWN_MODE_EXEC;
    e->clone_flags = 0;
    e->rootfs = NULL;
    e->ns_join = t->joins;
    e->n_ns_join = 6;
}

/* docker exec: berth-init joins the running container's namespaces. */
static void test_exec_mode(void **state)
{
    (void)state;
    need_root();
    struct exec_target t;
    exec_target_start(&t);
    const char *const eargv[] = {"sh", "-c", "hostname; echo $$; cat /proc/1/comm", NULL};
    struct spawn_plan e;
    struct run o;
    exec_plan(&e, &t, eargv);
    run(&e, NULL, NULL, &o);
    exec_target_stop(&t);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "berthtest\n2\nsleep\n");
}

/* docker exec -t: the terminal comes from the container's devpts (its
 * first pty: /dev/pts/0), sized by the plan; the forked command leads its
 * own session with it as controlling terminal, and its exit status is
 * berth-init's. */
static void test_exec_mode_tty(void **state)
{
    (void)state;
    need_root();
    struct exec_target t;
    exec_target_start(&t);
    const char *const eargv[] = {
        "sh", "-c", "tty; stty size; echo $$; cut -d' ' -f6 /proc/self/stat; exit 3", NULL};
    struct spawn_plan e;
    struct run o;
    exec_plan(&e, &t, eargv);
    e.tty_rows = 24;
    e.tty_cols = 80;
    run_tty(&e, NULL, &o);
    exec_target_stop(&t);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.out, "/dev/pts/0\r\n24 80\r\n2\r\n2\r\n");
    assert_int_equal(o.exit_code, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_exit_code_pid_hostname),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_unknown_user_and_group),
        cmocka_unit_test(test_group_add),
        cmocka_unit_test(test_no_fd_leak),
        cmocka_unit_test(test_init_exe_is_sealed_memfd),
        cmocka_unit_test(test_exec_errors),
        cmocka_unit_test(test_masked_and_readonly_paths),
        cmocka_unit_test(test_caps_and_nnp),
        cmocka_unit_test(test_tty),
        cmocka_unit_test(test_tty_size),
        cmocka_unit_test(test_tty_owner),
        cmocka_unit_test(test_tty_input),
        cmocka_unit_test(test_tty_intr),
        cmocka_unit_test(test_tty_init_releases_terminal),
        cmocka_unit_test(test_tty_failure_after_handover),
        cmocka_unit_test(test_rlimits_and_oom_score),
        cmocka_unit_test(test_readonly_rootfs),
        cmocka_unit_test(test_user_mounts),
        cmocka_unit_test(test_mount_target_symlink_confined),
        cmocka_unit_test(test_etc_files_and_cwd),
        cmocka_unit_test(test_init_mode),
        cmocka_unit_test(test_init_forwards_signals),
        cmocka_unit_test(test_seccomp),
        cmocka_unit_test(test_cgroup_v1_bind),
        cmocka_unit_test(test_place_failure_kills_child),
        cmocka_unit_test(test_clone_into_cgroup_v2),
        cmocka_unit_test(test_privileged),
        cmocka_unit_test(test_concurrent_spawns),
        cmocka_unit_test(test_exec_mode),
        cmocka_unit_test(test_exec_mode_tty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
