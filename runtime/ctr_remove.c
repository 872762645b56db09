/* Remove: a running container is killed first (force), then its directory
 * (root filesystem, logs, records) is unmounted and renamed into the trash
 * on a worker and it leaves the table; "removed" waiters and the destroy
 * event follow at once, and the trash is emptied by a second job (what a
 * crash leaves there goes at the next start: rt_init). A rename is one
 * metadata operation, deleting a container layer is many. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macros.h"
#include "storage/fsutil.h"
#include "ctr_internal.h"
#include "exec.h"

struct remove_job {
    struct job job;
    struct rt *rt;
    struct container *c;
    char *dir;
    char trash[4200]; /* where dir went; "" when it was deleted in place */
    rt_done_fn done;
    void *ud;
};

static int remove_run(struct job *job)
{
    struct remove_job *rj = container_of(job, struct remove_job, job);
    if (ctr_rootfs_unmount_sync(rj->dir) == 0 && rename(rj->dir, rj->trash) == 0)
        return 0;
    rj->trash[0] = '\0'; /* no trash dir, or another filesystem: delete here */
    return ctr_rootfs_remove_sync(rj->dir, &job->err);
}

struct trash_job {
    struct job job;
    char path[4200];
};

static int trash_run(struct job *job)
{
    struct trash_job *tj = container_of(job, struct trash_job, job);
    int r = fs_rm_rf(tj->path);
    if (r < 0)
        log_warn("emptying the trash: %s: %s", tj->path, strerror(-r));
    return 0;
}

static void trash_done(struct job *job)
{
    free(container_of(job, struct trash_job, job));
}

static void empty_trash(struct rt *rt, const char *path)
{
    struct trash_job *tj = calloc(1, sizeof(*tj));
    if (!tj)
        return; /* left for the next start */
    snprintf(tj->path, sizeof(tj->path), "%s", path);
    job_init(&tj->job, trash_run, trash_done);
    (void)job_queue(rt->loop, &tj->job);
}

static void remove_done(struct job *job)
{
    struct remove_job *rj = container_of(job, struct remove_job, job);
    struct container *c = rj->c;
    struct rt *rt = rj->rt;
    if (job->result < 0) {
        c->st.status = CTR_DEAD;
        snprintf(c->st.error, sizeof(c->st.error), "%s", job->err.msg);
        rj->done(rj->ud, &job->err);
    } else {
        struct image *img = store_image_by_id(rt->store, c->image_id);
        if (img && img->users > 0)
            img->users--;
        rt_event(rt, c, "destroy", NULL);
        ctr_table_remove(&rt->ctrs, c);
        rt_exec_container_removed(rt, c);
        ctr_attach_end_all(c); /* sessions waiting for a start that won't come */
        ctr_waiters_fire(c, true);
        rj->done(rj->ud, &(struct berr){0});
        if (rj->trash[0])
            empty_trash(rt, rj->trash);
    }
    ctr_unref(c);
    free(rj->dir);
    free(rj);
}

static void remove_now(struct rt *rt, struct container *c, rt_done_fn done, void *ud)
{
    struct remove_job *rj = calloc(1, sizeof(*rj));
    if (!rj || !(rj->dir = strdup(c->dir))) {
        free(rj);
        done(ud, &(struct berr){500, "out of memory"});
        return;
    }
    rj->rt = rt;
    rj->c = c;
    snprintf(rj->trash, sizeof(rj->trash), "%s/trash/%s", rt->data_root, c->id);
    rj->done = done;
    rj->ud = ud;
    ctr_ref(c);
    ctr_restart_cancel(c);
    c->st.status = CTR_REMOVING;
    job_init(&rj->job, remove_run, remove_done);
    if (c->saves_in_flight || c->layer_readers)
        c->remove_after_saves = &rj->job; /* queued by the last save or layer reader */
    else
        (void)job_queue(rt->loop, &rj->job);
}

/* Force removal kills as Docker's rm -f does: one SIGKILL ("kill" then
 * "die", no "stop" event and no grace period), then removal once the
 * process is gone and its cleanup is done. */
struct remove_wait {
    struct ctr_waiter w;
    struct rt *rt;
    struct container *c;
    rt_done_fn done;
    void *ud;
};

static void killed(void *ud, int exit_code, const char *error)
{
    struct remove_wait *rw = ud;
    (void)exit_code;
    (void)error;
    if (rw->c->removed)
        rw->done(rw->ud, &(struct berr){0});
    else
        rt_remove(rw->rt, rw->c, false, rw->done, rw->ud);
    ctr_unref(rw->c);
    free(rw);
}

void rt_remove(struct rt *rt, struct container *c, bool force, rt_done_fn done, void *ud)
{
    struct berr err = {0};
    if (c->st.status == CTR_REMOVING || c->creating || c->starting || c->fs_busy) {
        berr_set(&err, 409, EBUSY,
                 "removal of container %s is already in progress or it is "
                 "being started or copied from",
                 c->id);
        done(ud, &err);
        return;
    }
    if (!c->rt) {
        remove_now(rt, c, done, ud);
        return;
    }
    struct remove_wait *rw = force ? calloc(1, sizeof(*rw)) : NULL;
    if (!rw) {
        if (force)
            berr_set(&err, 500, ENOMEM, "out of memory");
        else if (c->st.status == CTR_PAUSED)
            berr_set(&err, 409, EBUSY,
                     "cannot remove container \"/%s\": container is paused and must be "
                     "unpaused first",
                     c->name);
        else
            berr_set(&err, 409, EBUSY,
                     "cannot remove container \"/%s\": container is running: "
                     "stop the container before removing or force remove",
                     c->name);
        done(ud, &err);
        return;
    }
    *rw = (struct remove_wait){{.cond = WAIT_NOT_RUNNING, .fn = killed, .ud = rw}, rt, c, done, ud};
    ctr_ref(c);
    ctr_restart_cancel(c);
    c->st.manually_stopped = true; /* a restart policy must not bring it back */
    if (ctr_is_running(c) && rt_kill(rt, c, SIGKILL, &err) < 0)
        log_warn("rm -f %.12s: %s", c->id, err.msg);
    rt_wait(rt, c, &rw->w);
}
