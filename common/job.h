/* Loop <-> worker-thread jobs.
 *
 * A job carries copies of what its worker needs; run() executes on a libuv
 * pool thread and must touch no uv handle and no engine table; it reports
 * failure in job->err (and its return code). done() runs on the loop thread
 * and applies the result; it always runs, with cancelled set when the job was
 * cancelled before starting or was asked to stop. done() owns the job memory. */
#ifndef BERTH_COMMON_JOB_H
#define BERTH_COMMON_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "berr.h"

struct job;
typedef int (*job_run_fn)(struct job *job);
typedef void (*job_done_fn)(struct job *job);

struct job {
    uv_work_t work;
    job_run_fn run;
    job_done_fn done;
    int result;       /* return value of run(), or -ECANCELED */
    bool cancelled;   /* set on the loop thread before done() */
    atomic_bool stop; /* polled by long-running run() functions */
    struct berr err;
};

/* Initialises the job fields; embed struct job in a larger struct. */
void job_init(struct job *job, job_run_fn run, job_done_fn done);

/* Queues the job; returns 0 or a negative libuv error (done() is not called then). */
int job_queue(uv_loop_t *loop, struct job *job);

/* Cancels a queued job, or asks a running one to stop (it sees job_should_stop()). */
void job_cancel(struct job *job);

static inline bool job_should_stop(struct job *job)
{
    return atomic_load_explicit(&job->stop, memory_order_relaxed);
}

/* Sizes the libuv pool; must run before the first job is queued. */
void job_pool_configure(unsigned threads);

#endif
