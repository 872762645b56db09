/* berth-init entry point: reads the plan on fd 3 and runs the steps in the
 * order the kernel's permission rules impose (see run_identity()). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

int init_step = SPAWN_STEP_PLAN;

static struct {
    bool set;
    int step, err;
    char msg[SPAWN_STATUS_MSG_MAX];
} failure;

const char *init_strerror(int err)
{
    static char buf[128];
    snprintf(buf, sizeof(buf), "%s", strerror(err));
    /* glibc capitalises, Go (and so Docker's messages) does not. */
    if (isupper((unsigned char)buf[0]) && !isupper((unsigned char)buf[1]))
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

static int fail_v(int err, bool with_errno, const char *fmt, va_list ap)
{
    if (failure.set)
        return -err;
    failure.set = true;
    failure.step = init_step;
    failure.err = err;
    vsnprintf(failure.msg, sizeof(failure.msg), fmt, ap);
    if (with_errno) {
        size_t n = strlen(failure.msg);
        snprintf(failure.msg + n, sizeof(failure.msg) - n, ": %s", init_strerror(err));
    }
    return -err;
}

int init_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fail_v(err, false, fmt, ap);
    va_end(ap);
    return r;
}

int init_fail_errno(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fail_v(err, true, fmt, ap);
    va_end(ap);
    return r;
}

void init_report(void)
{
    uint8_t rec[sizeof(struct spawn_status) + SPAWN_STATUS_MSG_MAX];
    if (!failure.set)
        return;
    size_t n = spawn_status_encode(rec, failure.step, failure.err, failure.msg);
    const uint8_t *p = rec;
    while (n > 0) {
        ssize_t w = write(SPAWN_PLAN_FD, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* The daemon shuts its side down after the plan: EOF ends it. */
static int read_plan(uint8_t **ret_buf, size_t *ret_len)
{
    size_t len = 0, cap = 64 * 1024;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf && len == cap && cap < SPAWN_PLAN_MAX) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
        if (!buf)
            return init_fail(ENOMEM, "read plan: out of memory");
        if (len == cap)
            return init_fail(E2BIG, "read plan: too large");
        ssize_t r = read(SPAWN_PLAN_FD, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return init_fail_errno(errno, "read plan");
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

/* The daemon cloned us with every signal blocked; ignored dispositions (the
 * daemon ignores SIGPIPE) survive exec, so reset them all. */
static void reset_signals(void)
{
    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int set_limits(const struct spawn_plan *plan)
{
    init_step = SPAWN_STEP_RLIMITS;
    for (size_t i = 0; i < plan->n_rlimits; i++) {
        const struct spawn_rlimit *l = &plan->rlimits[i];
        struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard};
        if (setrlimit((__rlimit_resource_t)l->resource, &rl) < 0)
            return init_fail_errno(errno, "setrlimit %u", l->resource);
    }
    if (!plan->set_oom_score_adj)
        return 0;
    char val[16];
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    int n = snprintf(val, sizeof(val), "%d", plan->oom_score_adj);
    if (fd < 0 || write(fd, val, (size_t)n) != n) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return init_fail_errno(e, "write oom_score_adj %d", plan->oom_score_adj);
    }
    close(fd);
    return 0;
}

static int set_hostname(const struct spawn_plan *plan)
{
    init_step = SPAWN_STEP_HOSTNAME;
    if (!(plan->clone_flags & CLONE_NEWUTS))
        return 0;
    if (plan->hostname && *plan->hostname &&
        sethostname(plan->hostname, strlen(plan->hostname)) < 0)
        return init_fail_errno(errno, "sethostname %s", plan->hostname);
    if (plan->domainname && *plan->domainname &&
        setdomainname(plan->domainname, strlen(plan->domainname)) < 0)
        return init_fail_errno(errno, "setdomainname %s", plan->domainname);
    return 0;
}

static int load_seccomp(const struct spawn_plan *plan)
{
    init_step = SPAWN_STEP_SECCOMP;
    return plan->seccomp_len ? seccomp_load(plan->seccomp, plan->seccomp_len) : 0;
}

static int change_dir(const struct spawn_plan *plan)
{
    init_step = SPAWN_STEP_CWD;
    const char *cwd = plan->cwd && *plan->cwd ? plan->cwd : "/";
    if (chdir(cwd) < 0)
        return init_fail_errno(errno, "chdir to cwd (\"%s\") set in config.json failed", cwd);
    return 0;
}

/* runc's order. Without no_new_privs, loading seccomp needs CAP_SYS_ADMIN,
 * so it is loaded first, while we are still root with every capability (the
 * filter must then allow setgroups/setresuid/capset, as Docker's does). With
 * no_new_privs it is loaded last, so that as few syscalls as possible run
 * under it. The user switch happens before the capability sets are trimmed
 * (PR_SET_KEEPCAPS keeps them across setresuid), and the command is looked
 * up afterwards, with the user's permissions. */
static int run_identity(const struct spawn_plan *plan, const struct init_user *user,
                        char **ret_path)
{
    int r = plan->no_new_privs ? 0 : load_seccomp(plan);
    init_step = SPAWN_STEP_CAPS;
    if (r == 0)
        r = caps_bound(plan->caps);
    if (r == 0)
        r = caps_switch_user(user, plan->caps);
    if (r == 0)
        r = change_dir(plan);
    init_step = SPAWN_STEP_EXEC;
    if (r == 0)
        r = exec_lookup(plan->argv[0], plan->env, ret_path);
    init_step = SPAWN_STEP_CAPS;
    if (r == 0 && plan->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        r = init_fail_errno(errno, "set no_new_privs");
    if (r == 0 && plan->no_new_privs)
        r = load_seccomp(plan);
    return r;
}

/* On cgroup v1 the daemon joins the container's cgroups after the clone
 * (its place() step), so a private cgroup namespace is made here, once the
 * plan (sent after that step) has been read: its root is then the
 * container's own cgroup, as with runc. v2 clones straight into it. */
static int cgroup_ns(const struct spawn_plan *plan)
{
    if (plan->mode != SPAWN_MODE_RUN || plan->cgroup2 || !(plan->clone_flags & CLONE_NEWCGROUP))
        return 0;
    if (unshare(CLONE_NEWCGROUP) < 0)
        return init_fail_errno(errno, "unshare the cgroup namespace");
    return 0;
}

static int run(const struct spawn_plan *plan)
{
    bool joined_pid = false;
    struct init_user user = {0};
    char *path = NULL;
    init_step = SPAWN_STEP_NAMESPACES;
    int r = ns_join_all(plan, &joined_pid);
    if (r == 0)
        r = cgroup_ns(plan);
    if (r == 0)
        r = ns_loopback_up(plan);
    /* A joined pid namespace takes effect for children only, and /proc
     * shows the namespace of the process that mounts it: a container that
     * joins one (--pid container:<c>) is set up by a child. */
    if (r == 0 && joined_pid && plan->mode == SPAWN_MODE_RUN && (r = init_fork_parent()) == 0)
        joined_pid = false;
    if (r == 0 && plan->mode == SPAWN_MODE_RUN)
        r = root_setup(plan);
    if (r == 0 && plan->mode == SPAWN_MODE_RUN)
        r = set_hostname(plan);
    if (r == 0) /* an exec gets the container's ulimits too, as Docker's */
        r = set_limits(plan);
    init_step = SPAWN_STEP_USER;
    if (r == 0)
        r = user_resolve(plan->user, plan->group_add, &user);
    if (r == 0)
        r = tty_setup(plan, user.uid);
    if (r == 0)
        r = run_identity(plan, &user, &path);
    if (r < 0)
        return r;
    init_rearm_parent_death();
    init_step = SPAWN_STEP_EXEC;
    char **envp = exec_env(plan->env, user.home);
    if (!envp)
        return init_fail(ENOMEM, "build environment: out of memory");
    return exec_command(plan, path, envp, plan->init || joined_pid);
}

int main(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct spawn_plan plan;

    /* fd 3 came without close-on-exec (dup2); the user's command must not
     * inherit it, and its closing is what tells the daemon "executed". */
    if (fcntl(SPAWN_PLAN_FD, F_SETFD, FD_CLOEXEC) < 0)
        return 127;
    reset_signals();
    umask(0);
    int r = read_plan(&buf, &len);
    if (r == 0 && (r = spawn_plan_decode(buf, len, &plan)) < 0)
        init_fail(-r, "decode plan: malformed");
    if (r == 0)
        run(&plan);
    init_report();
    return 127;
}
