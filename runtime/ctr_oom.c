/* The live "oom" event: while a container runs, its cgroup's OOM
 * notification fd (v1 eventfd on memory.oom_control, v2 inotify on
 * memory.events) is polled on the loop. A wake-up only says "something
 * moved": the oom_kill counter is read on a worker and an event is published
 * when it rose, as Docker does on containerd's OOM event. Opening the fd and
 * reading the counter touch cgroupfs, so both run as jobs; each job holds
 * one of r->open_handles so the runtime outlives it.
 *
 * The kernel notifies as the cgroup enters OOM, before the killer has
 * picked its victim and counted the kill: a wake-up that finds the counter
 * unchanged looks again a few times, backing off (10 ms .. 320 ms). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macros.h"
#include "ctr_internal.h"

#define RECHECK_FIRST_MS 10
#define RECHECK_TRIES    6

struct oom_job {
    struct job job;
    struct ctr_runtime *r;
    struct cgroup cg;
    bool open_watch; /* also open the notification fd */
    int fd;
    uint64_t count;
    bool counted;
};

static void count_again(struct ctr_runtime *r);

static int oom_run(struct job *job)
{
    struct oom_job *oj = container_of(job, struct oom_job, job);
    if (oj->open_watch && (oj->fd = cgroup_oom_watch_fd(&oj->cg, &job->err)) < 0)
        return oj->fd;
    /* Read after the watch is armed: a kill in between is counted here. */
    oj->counted = cgroup_oom_kill_count(&oj->cg, &oj->count, &job->err) == 0;
    return 0;
}

void ctr_oom_seen(struct ctr_runtime *r, uint64_t count)
{
    if (r->finishing || count <= r->ooms_reported)
        return;
    r->ooms_reported = count;
    rt_event(r->rt, r->c, "oom", NULL);
}

static void oom_readable(uv_poll_t *p, int status, int events)
{
    struct ctr_runtime *r = p->data;
    char buf[4096]; /* eventfd: 8 bytes; inotify: whole events */
    (void)events;
    if (status < 0)
        return;
    while (read(r->oom_fd, buf, sizeof(buf)) > 0)
        ;
    r->oom_retries = 0;
    count_again(r);
}

static void recheck(uv_timer_t *t)
{
    count_again(t->data);
}

static void start_polling(struct ctr_runtime *r, int fd)
{
    if (r->cleanup_started || uv_poll_init(r->rt->loop, &r->oom_poll, fd) < 0) {
        close(fd);
        return;
    }
    r->oom_fd = fd;
    r->oom_poll.data = r;
    uv_timer_init(r->rt->loop, &r->oom_timer);
    r->oom_timer.data = r;
    r->open_handles += 2;
    r->oom_polling = true;
    uv_poll_start(&r->oom_poll, UV_READABLE, oom_readable);
}

/* After a wake-up: the kill is counted a moment after the notification. */
static void maybe_recheck(struct ctr_runtime *r, uint64_t count)
{
    if (!r->oom_polling || count > r->ooms_reported || r->oom_retries >= RECHECK_TRIES)
        return;
    uv_timer_start(&r->oom_timer, recheck, (uint64_t)RECHECK_FIRST_MS << r->oom_retries, 0);
    r->oom_retries++;
}

static void oom_done(struct job *job)
{
    struct oom_job *oj = container_of(job, struct oom_job, job);
    struct ctr_runtime *r = oj->r;
    if (oj->open_watch && job->result == 0)
        start_polling(r, oj->fd);
    else if (oj->open_watch)
        log_debug("container %.12s: no OOM watch: %s", r->c->id, job->err.msg);
    if (!oj->open_watch && oj->counted)
        maybe_recheck(r, oj->count);
    if (oj->counted)
        ctr_oom_seen(r, oj->count);
    r->oom_counting = false;
    if (r->oom_recount && !r->cleanup_started)
        count_again(r);
    free(oj);
    ctr_runtime_release(r);
}

static void queue(struct ctr_runtime *r, bool open_watch)
{
    struct oom_job *oj = calloc(1, sizeof(*oj));
    if (!oj)
        return;
    *oj = (struct oom_job){.r = r, .cg = r->cg, .open_watch = open_watch, .fd = -1};
    job_init(&oj->job, oom_run, oom_done);
    if (job_queue(r->rt->loop, &oj->job) < 0) {
        free(oj);
        return;
    }
    r->open_handles++;
    r->oom_counting = true;
    r->oom_recount = false;
}

/* One count in flight at a time; wake-ups meanwhile ask for one more. */
static void count_again(struct ctr_runtime *r)
{
    if (r->oom_counting) {
        r->oom_recount = true;
        return;
    }
    queue(r, false);
}

void ctr_oom_watch_start(struct ctr_runtime *r)
{
    queue(r, true);
}

void ctr_oom_watch_stop(struct ctr_runtime *r)
{
    if (!r->oom_polling)
        return;
    r->oom_polling = false;
    /* uv_close stops the poll at once, so the fd can go now. */
    uv_close((uv_handle_t *)&r->oom_poll, ctr_handle_closed);
    uv_close((uv_handle_t *)&r->oom_timer, ctr_handle_closed);
    close(r->oom_fd);
    r->oom_fd = -1;
}
