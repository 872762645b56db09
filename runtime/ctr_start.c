/* Start: the loop copies what the worker needs into a start job; the worker
 * mounts the root, creates the cgroup, compiles the seccomp filter, makes
 * the stdio pipes and spawns berth-init; the loop then adopts the process
 * (ctr_proc.c). A failure undoes everything the worker did. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/job.h"
#include "common/log.h"
#include "common/macros.h"
#include "ctr_internal.h"
#include "ctr_rootfs.h"
#include "seccomp.h"
#include "spawn.h"

static void start_job_free(struct start_job *sj)
{
    start_plan_done(&sj->sp);
    for (size_t i = 0; i < sj->fs.nlayers; i++)
        free(sj->fs.layers[i]);
    free(sj->fs.layers);
    free(sj->sec.json);
    for (int i = 0; i < 3; i++)
        if (sj->parent_fds[i] >= 0)
            close(sj->parent_fds[i]);
    if (sj->pidfd >= 0)
        close(sj->pidfd);
    if (sj->pty_master >= 0)
        close(sj->pty_master);
    free(sj);
}

static int place_cb(pid_t pid, void *ud, struct berr *err)
{
    struct start_job *sj = ud;
    if (sj->cg_v2)
        return 0; /* CLONE_INTO_CGROUP placed it */
    return cgroup_add_pid(&sj->cg, pid, err);
}

static int make_pipes(struct start_job *sj, int child_fds[3], struct berr *err)
{
    for (int i = 0; i < 3 && !sj->sp.plan.tty; i++) { /* a tty: the master does all */
        int p[2];
        if (i == 0 && !sj->open_stdin)
            continue;
        if (pipe2(p, O_CLOEXEC) < 0)
            return berr_errno(err, 500, errno, "creating stdio pipes");
        child_fds[i] = i == 0 ? p[0] : p[1];
        sj->parent_fds[i] = i == 0 ? p[1] : p[0];
    }
    return 0;
}

int ctr_seccomp_compile(const struct plan_seccomp *sec, struct spawn_plan *plan,
                        struct seccomp_bpf *bpf, struct berr *err)
{
    if (!sec->want)
        return 0;
    struct seccomp_profile *custom = NULL;
    if (sec->json && seccomp_profile_parse_json(sec->json, strlen(sec->json), &custom, err) < 0)
        return -EINVAL;
    int r = seccomp_build(custom ? custom : seccomp_default_profile(), sec->caps, bpf, err);
    seccomp_profile_free(custom);
    if (r == 0) {
        plan->seccomp = bpf->len ? bpf->data : NULL;
        plan->seccomp_len = bpf->len;
    }
    return r;
}

static int spawn_it(struct start_job *sj, struct berr *err)
{
    int child_fds[3] = {-1, -1, -1};
    struct seccomp_bpf bpf = {0};
    int r = make_pipes(sj, child_fds, err);
    if (r == 0)
        r = ctr_seccomp_compile(&sj->sec, &sj->sp.plan, &bpf, err);
    if (r == 0 && sj->cg_v2 && (sj->sp.plan.cgroup_fd = cgroup_leaf_fd(&sj->cg, err)) < 0)
        r = -EIO;
    sj->sp.plan.stdin_fd = child_fds[0];
    sj->sp.plan.stdout_fd = child_fds[1];
    sj->sp.plan.stderr_fd = child_fds[2];
    struct spawn_result res = {.pidfd = -1};
    if (r == 0)
        r = spawn_container(&sj->sp.plan, place_cb, sj, &res, err);
    for (int i = 0; i < 3; i++)
        if (child_fds[i] >= 0)
            close(child_fds[i]);
    if (sj->sp.plan.cgroup_fd >= 0)
        close(sj->sp.plan.cgroup_fd);
    sj->sp.plan.cgroup_fd = -1;
    seccomp_bpf_done(&bpf);
    sj->pid = res.pid;
    sj->pidfd = res.pidfd;
    sj->pty_master = res.pty_master;
    return r;
}

static int start_run(struct job *job)
{
    struct start_job *sj = container_of(job, struct start_job, job);
    char root[4096];
    if (ctr_rootfs_mount_sync(&sj->fs, root, sizeof(root), &job->err) < 0)
        return -EIO;
    sj->sp.plan.rootfs = root;
    struct cg_warnings warn = {0};
    int r = cgroup_create(&sj->cg, &sj->limits, &warn, &job->err);
    if (r == 0 && (r = spawn_it(sj, &job->err)) < 0) {
        struct berr ignored = {0};
        cgroup_kill_all(&sj->cg, &ignored);
        cgroup_remove(&sj->cg, &ignored);
    }
    sj->sp.plan.rootfs = NULL;
    if (r < 0)
        ctr_rootfs_unmount_sync(sj->fs.dir);
    return r;
}

static void start_failed_removed(void *ud, const struct berr *err)
{
    (void)err;
    ctr_unref(ud);
}

/* A start that failed leaves the container "created" with Docker's exit
 * code for the cause (127 not found, 126 not executable) and the message in
 * State.Error. */
static void record_start_failure(struct rt *rt, struct container *c, const struct berr *err)
{
    c->st.exit_code = spawn_exit_code_for_error(err->msg);
    snprintf(c->st.error, sizeof(c->st.error), "%s", err->msg);
    if (c->st.status == CTR_RESTARTING)
        c->st.status = CTR_EXITED;
    rt_save_state(rt, c);
    ctr_attach_end_all(c);
    ctr_waiters_fire(c, false);
    if (c->hc.auto_remove && !c->removed) {
        ctr_ref(c);
        rt_remove(rt, c, true, start_failed_removed, c);
    }
}

static void start_done(struct job *job)
{
    struct start_job *sj = container_of(job, struct start_job, job);
    struct container *c = sj->c;
    struct berr err = job->err;
    c->starting = false;
    if (job->result == 0 && !c->removed) {
        ctr_proc_adopt(sj->rt, c, sj); /* takes the pidfd and the pipes */
    } else if (job->result == 0) {
        berr_set(&err, 404, ENOENT, "No such container: %s", c->id);
    } else {
        if (!err.status)
            berr_set(&err, 500, ECANCELED, "start cancelled");
        record_start_failure(sj->rt, c, &err);
    }
    if (sj->done)
        sj->done(sj->ud, &err);
    ctr_unref(c);
    start_job_free(sj);
}

void rt_start(struct rt *rt, struct container *c, rt_done_fn done, void *ud)
{
    struct berr err = {0};
    if (c->creating || c->starting || c->fs_busy || c->st.status == CTR_REMOVING) {
        berr_set(&err, 409, EBUSY,
                 "container %s is busy (being created, started, removed or copied from)", c->id);
        done(ud, &err);
        return;
    }
    struct start_job *sj = calloc(1, sizeof(*sj));
    if (!sj) {
        done(ud, &(struct berr){500, "out of memory"});
        return;
    }
    *sj = (struct start_job){.rt = rt,
                             .c = c,
                             .done = done,
                             .ud = ud,
                             .pidfd = -1,
                             .parent_fds = {-1, -1, -1},
                             .pty_master = -1};
    if (start_plan_build(rt, c, sj, &err) < 0) {
        start_job_free(sj);
        record_start_failure(rt, c, &err); /* run --rm waits on this */
        done(ud, &err);
        return;
    }
    c->starting = true;
    ctr_ref(c);
    job_init(&sj->job, start_run, start_done);
    (void)job_queue(rt->loop, &sj->job);
}
