/* Closing log-file fds on the libuv pool. A follower's dup is often the
 * last fd of a file that rotation has already unlinked; its close() then
 * frees the file's page cache (100 MB for max-size=100m), measured at
 * 6-33 ms: a stall the loop thread must never take. */
#include <stdlib.h>
#include <unistd.h>

#include "common/job.h"
#include "common/macros.h"
#include "logfile.h"

struct close_job {
    struct job job;
    int *fds;
    int n;
};

static int close_run(struct job *job)
{
    struct close_job *cj = container_of(job, struct close_job, job);
    for (int i = 0; i < cj->n; i++)
        if (cj->fds[i] >= 0)
            close(cj->fds[i]);
    return 0;
}

/* Runs after close_run, or instead of it if the pool was cancelled (only at
 * shutdown): then close here, so no fd leaks. */
static void close_done(struct job *job)
{
    struct close_job *cj = container_of(job, struct close_job, job);
    if (job->cancelled)
        close_run(job);
    free(cj->fds);
    free(cj);
}

static bool any_open(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            return true;
    return false;
}

void logfile__close_later(uv_loop_t *loop, int *fds, int n)
{
    if (n <= 0 || !any_open(fds, n)) {
        free(fds);
        return;
    }
    struct close_job *cj = malloc(sizeof(*cj));
    if (!cj) {
        for (int i = 0; i < n; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(fds);
        return;
    }
    cj->fds = fds;
    cj->n = n;
    job_init(&cj->job, close_run, close_done);
    /* uv_queue_work fails only without a work callback. */
    (void)job_queue(loop, &cj->job);
}

void logfile__close_fd_later(uv_loop_t *loop, int fd)
{
    if (fd < 0)
        return;
    int *fds = malloc(sizeof(int));
    if (!fds) {
        close(fd);
        return;
    }
    fds[0] = fd;
    logfile__close_later(loop, fds, 1);
}
