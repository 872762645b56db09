#include "job.h"

#include "macros.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void job_work_cb(uv_work_t *w)
{
    struct job *job = container_of(w, struct job, work);
    if (job_should_stop(job)) {
        job->result = -ECANCELED;
        return;
    }
    job->result = job->run(job);
}

static void job_after_cb(uv_work_t *w, int status)
{
    struct job *job = container_of(w, struct job, work);
    if (status == UV_ECANCELED) {
        job->result = -ECANCELED;
        berr_set(&job->err, 500, ECANCELED, "operation cancelled");
    }
    job->cancelled = job->result == -ECANCELED || job_should_stop(job);
    job->done(job);
}

void job_init(struct job *job, job_run_fn run, job_done_fn done)
{
    memset(&job->work, 0, sizeof(job->work));
    job->run = run;
    job->done = done;
    job->result = 0;
    job->cancelled = false;
    atomic_init(&job->stop, false);
    berr_clear(&job->err);
}

int job_queue(uv_loop_t *loop, struct job *job)
{
    return uv_queue_work(loop, &job->work, job_work_cb, job_after_cb);
}

void job_cancel(struct job *job)
{
    atomic_store(&job->stop, true);
    /* Fails harmlessly with UV_EBUSY once the job runs; run() then polls stop. */
    uv_cancel((uv_req_t *)&job->work);
}

void job_pool_configure(unsigned threads)
{
    char v[16];
    snprintf(v, sizeof(v), "%u", threads ? threads : 4);
    /* libuv reads this once, when the first work request is queued. */
    setenv("UV_THREADPOOL_SIZE", v, 0);
}
