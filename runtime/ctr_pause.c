/* Pause and unpause through the cgroup freezer (v1 freezer.state, v2
 * cgroup.freeze), as moby's containerPause/containerUnpause: the state is
 * checked, the cgroup frozen or thawed on a worker, then the status, the
 * state file and the `pause`/`unpause` event follow.
 *
 * Freezer operations on one container run one after the other in arrival
 * order, each checking the state the previous one left (moby holds the
 * container lock across the freeze). A stop or kill of a paused container
 * queues a thaw behind them, so the signal it sent is acted on: on cgroup
 * v1 a frozen task does not even die of SIGKILL until thawed. While a
 * freezer job runs, the container's exit cleanup waits (ctr_proc.c), so the
 * cgroup is never frozen behind the back of the cleanup's kill. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macros.h"
#include "ctr_internal.h"

enum freeze_kind { FREEZE_PAUSE, FREEZE_UNPAUSE, FREEZE_THAW_FOR_SIGNAL };

struct freeze_op {
    struct list link; /* ops: in flight and waiting, oldest first */
    struct job job;
    struct rt *rt;
    struct container *c;
    struct ctr_runtime *r; /* the process's runtime, held while the job runs */
    struct cgroup cg;
    enum freeze_kind kind;
    bool started;
    rt_done_fn done; /* NULL for a thaw after a signal */
    void *ud;
};

static struct list ops = {&ops, &ops};

static void op_start(struct freeze_op *op);

static bool has_ops(const struct container *c)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &ops)
    {
        if (container_of(pos, struct freeze_op, link)->c == c)
            return true;
    }
    return false;
}

static void start_next(const struct container *c)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &ops)
    {
        struct freeze_op *next = container_of(pos, struct freeze_op, link);
        if (next->c == c && !next->started) {
            op_start(next);
            return;
        }
    }
}

static void op_finish(struct freeze_op *op, const struct berr *err)
{
    struct container *c = op->c;
    list_del(&op->link);
    if (op->done)
        op->done(op->ud, err);
    else if (err->status)
        log_warn("container %.12s: thawing it for a signal: %s", c->id, err->msg);
    free(op);
    start_next(c);
    ctr_unref(c);
}

/* The process is there and has not exited (its cleanup has not begun). */
static bool live(const struct container *c)
{
    return c->rt && !c->rt->exited && !c->removed;
}

/* moby's checks, in its order; 0 when the operation applies, 1 when a
 * thaw for a signal has nothing to do. */
static int state_check(const struct freeze_op *op, struct berr *err)
{
    const struct container *c = op->c;
    enum ctr_status s = c->st.status;
    if (op->kind == FREEZE_THAW_FOR_SIGNAL)
        return s == CTR_PAUSED && live(c) ? 0 : 1;
    if (op->kind == FREEZE_UNPAUSE)
        return s == CTR_PAUSED && live(c)
                   ? 0
                   : berr_set(err, 409, EINVAL, "Container %s is not paused", c->id);
    if (!live(c) || (s != CTR_RUNNING && s != CTR_PAUSED))
        return berr_set(err, 409, EINVAL, "Container %s is not running", c->id);
    if (s == CTR_PAUSED)
        return berr_set(err, 409, EINVAL, "Container %s is already paused", c->id);
    return 0;
}

static int freeze_run(struct job *job)
{
    struct freeze_op *op = container_of(job, struct freeze_op, job);
    bool frozen = op->kind == FREEZE_PAUSE;
    int r = cgroup_freeze(&op->cg, frozen, &job->err);
    if (r < 0 && frozen) {
        /* Half frozen (v1 FREEZING that never settled) is worse than not
         * paused: put it back. */
        struct berr ignored = {0};
        cgroup_freeze(&op->cg, false, &ignored);
    }
    return r;
}

static void apply(struct freeze_op *op)
{
    struct container *c = op->c;
    bool pause = op->kind == FREEZE_PAUSE;
    c->st.status = pause ? CTR_PAUSED : CTR_RUNNING;
    rt_save_state(op->rt, c);
    rt_event(op->rt, c, pause ? "pause" : "unpause", NULL);
}

static void result_of(struct freeze_op *op, struct berr *err)
{
    struct job *job = &op->job;
    const char *verb = op->kind == FREEZE_PAUSE ? "cannot pause" : "Cannot unpause";
    if (job->cancelled)
        berr_set(err, 500, ECANCELED, "%s container %s: cancelled", verb, op->c->id);
    else if (job->result < 0)
        berr_set(err, 500, -job->result, "%s container %s: %s", verb, op->c->id, job->err.msg);
    else if (op->kind == FREEZE_PAUSE && op->r->exited)
        /* It exited while the freeze ran: nothing is paused any more. */
        berr_set(err, 409, EINVAL, "Container %s is not running", op->c->id);
}

static void freeze_done(struct job *job)
{
    struct freeze_op *op = container_of(job, struct freeze_op, job);
    struct ctr_runtime *r = op->r;
    struct berr err = {0};
    result_of(op, &err);
    if (!err.status)
        apply(op);
    r->freezing = false;
    ctr_proc_freeze_done(r); /* an exit waiting for the freezer goes on */
    ctr_runtime_release(r);
    op_finish(op, &err);
}

static void op_start(struct freeze_op *op)
{
    struct berr err = {0};
    op->started = true;
    int chk = state_check(op, &err);
    if (chk != 0) {
        op_finish(op, &err);
        return;
    }
    op->r = op->c->rt;
    op->cg = op->r->cg;
    job_init(&op->job, freeze_run, freeze_done);
    if (job_queue(op->rt->loop, &op->job) < 0) {
        berr_set(&err, 500, EAGAIN, "container %s: cannot queue the freezer work", op->c->id);
        op_finish(op, &err);
        return;
    }
    op->r->open_handles++; /* released in freeze_done */
    op->r->freezing = true;
}

static void op_add(struct rt *rt, struct container *c, enum freeze_kind kind, rt_done_fn done,
                   void *ud)
{
    struct freeze_op *op = calloc(1, sizeof(*op));
    if (!op) {
        if (done)
            done(ud, &(struct berr){500, "out of memory"});
        return;
    }
    *op = (struct freeze_op){.rt = rt, .c = c, .kind = kind, .done = done, .ud = ud};
    ctr_ref(c);
    bool busy = has_ops(c);
    list_add_tail(&ops, &op->link);
    if (!busy)
        op_start(op);
}

void rt_pause(struct rt *rt, struct container *c, rt_done_fn done, void *ud)
{
    op_add(rt, c, FREEZE_PAUSE, done, ud);
}

void rt_unpause(struct rt *rt, struct container *c, rt_done_fn done, void *ud)
{
    op_add(rt, c, FREEZE_UNPAUSE, done, ud);
}

void ctr_thaw_for_signal(struct rt *rt, struct container *c)
{
    if (c->st.status == CTR_PAUSED || has_ops(c))
        op_add(rt, c, FREEZE_THAW_FOR_SIGNAL, NULL, NULL);
}
