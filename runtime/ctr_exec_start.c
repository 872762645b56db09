/* Exec start: the loop builds the plan from the container (its process's
 * environment, user, limits and security, through ctr_plan.c as its own
 * start does; every one of its namespaces to join; its cgroup), a worker
 * makes the pipes, compiles the seccomp filter and spawns berth-init in
 * exec mode; the loop then watches the process (ctr_exec_io.c). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/job.h"
#include "common/macros.h"
#include "ctr_exec_internal.h"
#include "seccomp.h"
#include "spawn.h"

struct exec_job {
    struct job job;
    struct rt_exec *e;
    struct start_plan sp;
    struct plan_seccomp sec;
    struct cgroup cg;
    bool cg_v2, attach;
    bool want[3]; /* a pipe for stdin, stdout, stderr */
    /* results */
    pid_t pid;
    int pidfd;
    int parent_fds[3]; /* stdin write end, stdout and stderr read ends */
    int pty_master;    /* Tty: the terminal's master instead of the pipes */
};

/* Every namespace of the container, /proc/<pid>/ns/<name>. pid_for_children
 * names the pid namespace its processes are in even when the tracked pid
 * is the fork parent of one that joined another's (--pid container:<c>).
 * The mount namespace is joined last (init_ns.c). */
static const struct {
    const char *name;
    uint32_t type;
} exec_ns[] = {
    {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},       {"pid_for_children", CLONE_NEWPID},
    {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
};

static void exec_job_free(struct exec_job *xj)
{
    start_plan_done(&xj->sp);
    free(xj->sec.json);
    for (int i = 0; i < 3; i++)
        if (xj->parent_fds[i] >= 0)
            close(xj->parent_fds[i]);
    if (xj->pidfd >= 0)
        close(xj->pidfd);
    if (xj->pty_master >= 0)
        close(xj->pty_master);
    free(xj);
}

static int plan_ns(struct start_plan *sp, pid_t pid)
{
    sp->joins = calloc(ARRAY_SIZE(exec_ns), sizeof(*sp->joins));
    if (!sp->joins)
        return -ENOMEM;
    for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, exec_ns[i].name);
        const char *kept = start_plan_keep(sp, p);
        if (!kept)
            return -ENOMEM;
        sp->joins[i] = (struct spawn_nsjoin){exec_ns[i].type, kept};
    }
    sp->plan.ns_join = sp->joins;
    sp->plan.n_ns_join = ARRAY_SIZE(exec_ns);
    return 0;
}

static int plan_build(struct rt *rt, struct rt_exec *e, struct exec_job *xj, struct berr *err)
{
    struct container *c = e->c;
    struct start_plan *sp = &xj->sp;
    spawn_plan_init(&sp->plan);
    sp->plan.mode = SPAWN_MODE_EXEC;
    xj->cg = c->rt->cg;
    xj->cg_v2 = rt->cg.version == 2;
    sp->plan.cgroup2 = xj->cg_v2;
    /* a tty is the process's stdio whatever is attached (moby) */
    xj->want[0] = xj->attach && e->open_stdin && !e->tty;
    xj->want[1] = xj->attach && e->open_stdout && !e->tty;
    xj->want[2] = xj->attach && e->open_stderr && !e->tty;
    if (e->tty && e->has_console) { /* the size from the first byte */
        sp->plan.tty_rows = (uint16_t)e->console_h;
        sp->plan.tty_cols = (uint16_t)e->console_w;
    }
    if (ctr_plan_security(rt, c, e->privileged, &sp->plan, &xj->sec, err) < 0)
        return -EINVAL;
    if (ctr_plan_argv_env(c, &e->argv, e->tty, &e->env, sp) < 0 ||
        ctr_plan_user(c, e->user, e->workdir, sp) < 0 || ctr_plan_limits(c, sp) < 0 ||
        plan_ns(sp, c->st.pid) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    return 0;
}

/* ---- worker ------------------------------------------------------------- */

static int place_cb(pid_t pid, void *ud, struct berr *err)
{
    struct exec_job *xj = ud;
    if (xj->cg_v2)
        return 0; /* CLONE_INTO_CGROUP placed it */
    return cgroup_add_pid(&xj->cg, pid, err);
}

static int make_pipes(struct exec_job *xj, int child[3], struct berr *err)
{
    for (int i = 0; i < 3; i++) {
        int p[2];
        if (!xj->want[i])
            continue;
        if (pipe2(p, O_CLOEXEC) < 0)
            return berr_errno(err, 500, errno, "creating stdio pipes");
        child[i] = i == 0 ? p[0] : p[1];
        xj->parent_fds[i] = i == 0 ? p[1] : p[0];
    }
    return 0;
}

static int exec_run(struct job *job)
{
    struct exec_job *xj = container_of(job, struct exec_job, job);
    struct spawn_plan *plan = &xj->sp.plan;
    int child[3] = {-1, -1, -1};
    struct seccomp_bpf bpf = {0};
    int r = make_pipes(xj, child, &job->err);
    if (r == 0)
        r = ctr_seccomp_compile(&xj->sec, plan, &bpf, &job->err);
    if (r == 0 && xj->cg_v2 && (plan->cgroup_fd = cgroup_leaf_fd(&xj->cg, &job->err)) < 0)
        r = -EIO;
    plan->stdin_fd = child[0];
    plan->stdout_fd = child[1];
    plan->stderr_fd = child[2];
    struct spawn_result res = {.pidfd = -1, .pty_master = -1};
    if (r == 0)
        r = spawn_container(plan, place_cb, xj, &res, &job->err);
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0)
            close(child[i]);
    if (plan->cgroup_fd >= 0)
        close(plan->cgroup_fd);
    plan->cgroup_fd = -1;
    seccomp_bpf_done(&bpf);
    xj->pid = res.pid;
    xj->pidfd = res.pidfd;
    xj->pty_master = res.pty_master;
    return r;
}

/* ---- back on the loop --------------------------------------------------- */

static void exec_job_done(struct job *job)
{
    struct exec_job *xj = container_of(job, struct exec_job, job);
    struct rt_exec *e = xj->e;
    if (job->result == 0) {
        e->pid = xj->pid;
        e->running = true;
        exec_proc_adopt(e, xj->pidfd, xj->parent_fds, xj->pty_master); /* takes the fds */
        xj->pidfd = xj->pty_master = -1;
        xj->parent_fds[0] = xj->parent_fds[1] = xj->parent_fds[2] = -1;
        /* a resize that came while the spawn ran was only recorded (the
         * CLI sends one right after the 101); the same size is a no-op */
        if (e->tty && e->has_console)
            (void)exec_proc_resize(e->proc, e->console_h, e->console_w);
        const struct rt_exec_io *io = e->io;
        if (!xj->attach)
            e->io = NULL; /* detached: nothing more to tell */
        if (io)
            io->started(io->ud, &(struct berr){0});
    } else {
        if (!job->err.status)
            berr_set(&job->err, 500, ECANCELED, "exec start cancelled");
        exec_start_failed(e, &job->err);
    }
    exec_unref(e);
    exec_job_free(xj);
}

int exec_spawn(struct rt *rt, struct rt_exec *e, bool attach, struct berr *err)
{
    struct exec_job *xj = calloc(1, sizeof(*xj));
    if (!xj)
        return berr_set(err, 500, ENOMEM, "out of memory");
    *xj = (struct exec_job){
        .e = e, .attach = attach, .pidfd = -1, .parent_fds = {-1, -1, -1}, .pty_master = -1};
    if (plan_build(rt, e, xj, err) < 0) {
        exec_job_free(xj);
        return -EINVAL;
    }
    exec_ref(e);
    job_init(&xj->job, exec_run, exec_job_done);
    if (job_queue(rt->loop, &xj->job) < 0) {
        exec_unref(e);
        exec_job_free(xj);
        return berr_set(err, 500, EIO, "cannot queue the exec start");
    }
    return 0;
}
