/* One `docker stats` sample on a worker: the container's cgroup files and
 * /proc/stat read back to back. The job holds copies only (the cgroup
 * paths), so a container that exits or is removed meanwhile costs nothing
 * but a sample of zeros. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/macros.h"
#include "common/timeutil.h"
#include "ctr_internal.h"
#include "ctr_stats.h"

struct rt_stats_op {
    struct job job;
    struct cgroup cg;
    struct ctr_stats_sample s;
    rt_stats_fn fn; /* NULL once cancelled */
    void *ud;
};

static int sample_run(struct job *job)
{
    struct rt_stats_op *op = container_of(job, struct rt_stats_op, job);
    struct ctr_stats_sample *s = &op->s;
    struct berr ignored = {0};
    cgroup_stats(&op->cg, &s->cg, &ignored);
    if (cgroup_system_cpu_ns(NULL, &s->system_cpu_ns, &ignored) < 0)
        s->system_cpu_ns = 0;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    s->online_cpus = n > 0 ? (uint32_t)n : 0;
    s->read_ns = time_now_ns();
    return 0;
}

static void sample_done(struct job *job)
{
    struct rt_stats_op *op = container_of(job, struct rt_stats_op, job);
    if (op->fn && !job->cancelled)
        op->fn(op->ud, &op->s);
    else if (op->fn) /* never ran: a sample of nothing rather than none */
        op->fn(op->ud, &(struct ctr_stats_sample){.running = false});
    free(op);
}

int rt_stats_sample(struct rt *rt, struct container *c, rt_stats_fn fn, void *ud,
                    struct rt_stats_op **ret_op)
{
    if (!c->rt || c->rt->exited || !ctr_is_running(c) || c->st.status == CTR_RESTARTING)
        return -ESRCH;
    struct rt_stats_op *op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->cg = c->rt->cg;
    op->s.running = true;
    op->s.cg_version = op->cg.version;
    op->fn = fn;
    op->ud = ud;
    job_init(&op->job, sample_run, sample_done);
    if (job_queue(rt->loop, &op->job) < 0) {
        free(op);
        return -EAGAIN;
    }
    *ret_op = op;
    return 0;
}

void rt_stats_cancel(struct rt_stats_op *op)
{
    op->fn = NULL;
    op->ud = NULL;
}
