/* The loop-thread half of a log reader: a small state machine that runs
 * one read job at a time, hands chunks to the consumer, waits for it to ask
 * for more, and in follow mode waits for the writer's events.
 *
 * While a job runs it owns the cursor; writer events that arrive meanwhile
 * are recorded in ev_* and merged into the cursor once the job is back.
 * Lifetime: the reader is freed right after on_end, or on cancel once no
 * job is in flight and no callback is running. */
#include "logread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/job.h"
#include "common/macros.h"

struct logread {
    uv_loop_t *loop;
    struct logread_opts o;
    char *path;
    logread_chunk_fn on_chunk;
    logread_end_fn on_end;
    void *ud;

    struct logw *w; /* NULL once the writer has closed */
    struct logw_sub sub;
    bool subscribed;
    struct logw_snap *snap; /* snapshot requested, not yet delivered */
    int max_file;

    /* Writer events not yet merged into the cursor. */
    int *ev_fds; /* new live files, in order */
    int ev_nfds;
    int64_t ev_size; /* size of the newest live file */
    bool ev_size_set;
    bool has_live; /* the cursor's last file is the writer's live file */

    struct logread__cursor c;
    struct job job;
    bool busy;      /* a job owns the cursor */
    bool want;      /* the consumer is ready for a chunk */
    bool caught_up; /* the last job found nothing more to read */
    bool in_cb;
    bool last_chunk; /* the chunk being delivered is followed by on_end */
    bool cancelled;
    bool ended;
};

static void lr_kick(struct logread *r);

/* Hands every fd the reader holds to a pool job: a follower's fd is often
 * the last one of a file rotation has unlinked, and that close() frees the
 * file's page cache (milliseconds of stall on the loop). Only without
 * memory for the list do they get closed below, on the loop. */
static void lr_close_fds(struct logread *r)
{
    struct logread__cursor *c = &r->c;
    int *fds = malloc(sizeof(int) * (size_t)(r->ev_nfds + c->nfiles + 1));
    int n = 0;
    if (!fds)
        return;
    for (int i = 0; i < r->ev_nfds; i++)
        fds[n++] = r->ev_fds[i];
    r->ev_nfds = 0;
    for (int i = 0; i < c->nfiles; i++) {
        fds[n++] = c->files[i].fd;
        c->files[i].fd = -1;
    }
    logfile__close_later(r->loop, fds, n);
}

static void lr_free(struct logread *r)
{
    lr_close_fds(r);
    for (int i = 0; i < r->ev_nfds; i++)
        close(r->ev_fds[i]);
    free(r->ev_fds);
    logread__cursor_done(&r->c);
    free(r->path);
    free(r);
}

static void lr_detach(struct logread *r)
{
    if (r->snap)
        logw__snapshot_cancel(r->snap);
    r->snap = NULL;
    if (r->subscribed && r->w)
        logw_unsubscribe(r->w, &r->sub);
    r->subscribed = false;
    r->w = NULL;
}

/* Applies recorded writer events to the cursor; true if there is more to
 * read than the last job saw. */
static bool lr_merge(struct logread *r)
{
    struct logread__cursor *c = &r->c;
    bool changed = false;
    if (r->ev_nfds > 0) {
        logread__compact(c);
        if (r->has_live && c->nfiles > 0)
            c->files[c->nfiles - 1].limit = -1; /* no longer written: read to EOF */
        for (int i = 0; i < r->ev_nfds; i++)
            if (logread__add_file(c, r->ev_fds[i], i == r->ev_nfds - 1 ? 0 : -1) < 0)
                logfile__close_fd_later(r->loop, r->ev_fds[i]);
        r->ev_nfds = 0;
        r->has_live = true;
        changed = true;
    }
    if (r->ev_size_set && r->has_live && c->nfiles > 0) {
        struct logread__file *live = &c->files[c->nfiles - 1];
        if (r->ev_size > live->limit) {
            live->limit = r->ev_size;
            changed = true;
        }
    }
    r->ev_size_set = false;
    return changed;
}

static void lr_end(struct logread *r, int status)
{
    r->ended = true;
    lr_detach(r);
    r->on_end(r->ud, status);
    lr_free(r);
}

static int lr_work(struct job *job)
{
    struct logread *r = container_of(job, struct logread, job);
    struct logread__cursor *c = &r->c;
    if (!c->opened) {
        c->opened = true;
        int e = logread__open_names(c);
        if (e < 0)
            return e;
    }
    if (!c->positioned) {
        c->positioned = true;
        if (r->o.tail >= 0) {
            int e = logread__seek_tail(c, r->o.tail);
            if (e < 0)
                return e;
        }
    }
    return logread__fill_chunk(c, job);
}

/* Hands the chunk over; false if the consumer cancelled meanwhile (r freed). */
static bool lr_deliver(struct logread *r, bool end)
{
    char *out = r->c.out;
    size_t len = r->c.olen;
    r->c.out = NULL;
    r->c.olen = r->c.ocap = 0;
    if (len == 0) {
        free(out);
        return true;
    }
    r->want = false;
    r->last_chunk = end; /* a logread_next() inside the callback must not start a job */
    r->in_cb = true;
    r->on_chunk(r->ud, out, len);
    r->in_cb = false;
    if (r->cancelled) {
        lr_free(r);
        return false;
    }
    return true;
}

static void lr_done(struct job *job)
{
    struct logread *r = container_of(job, struct logread, job);
    r->busy = false;
    if (r->cancelled) {
        lr_free(r);
        return;
    }
    int st = job->result;
    bool more = lr_merge(r);
    r->caught_up = r->c.caught_up && !more;
    bool end = st < 0 || r->c.until_hit || (r->caught_up && !(r->o.follow && r->w));
    if (!lr_deliver(r, end))
        return;
    if (end)
        return lr_end(r, st < 0 ? st : 0);
    lr_kick(r);
}

/* Starts a job when the consumer wants data and there may be some; in
 * follow mode a caught-up reader waits here for the writer's events. An
 * ending reader still runs one job, so on_end always comes from a job's
 * completion and never from inside the caller's logread_next(). */
static void lr_kick(struct logread *r)
{
    if (r->busy || !r->want || r->cancelled || r->ended || r->snap)
        return;
    if (lr_merge(r))
        r->caught_up = false;
    if (r->caught_up && r->o.follow && r->w)
        return;
    r->busy = true;
    job_init(&r->job, lr_work, lr_done);
    /* uv_queue_work fails only without a work callback. */
    (void)job_queue(r->loop, &r->job);
}

static void lr_add_ev_fd(struct logread *r, int fd)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup_fd < 0)
        return;
    /* A reader far behind keeps at most max-file files the writer has
     * moved past; older ones are gone for Docker's readers too. */
    if (r->ev_nfds > 0 && r->ev_nfds >= r->max_file + 1) {
        logfile__close_fd_later(r->loop, r->ev_fds[0]);
        memmove(r->ev_fds, r->ev_fds + 1, sizeof(int) * (size_t)(r->ev_nfds - 1));
        r->ev_nfds--;
    }
    int *p = realloc(r->ev_fds, sizeof(int) * (size_t)(r->ev_nfds + 1));
    if (!p) {
        logfile__close_fd_later(r->loop, dup_fd);
        return;
    }
    r->ev_fds = p;
    r->ev_fds[r->ev_nfds++] = dup_fd;
}

static void lr_event(void *ud, const struct logw_event *ev)
{
    struct logread *r = ud;
    switch (ev->type) {
    case LOGW_EV_CLOSED:
        r->subscribed = false; /* the writer already dropped us */
        r->w = NULL;
        break;
    case LOGW_EV_ROTATED:
        if (r->o.follow && ev->fd >= 0)
            lr_add_ev_fd(r, ev->fd);
        break;
    case LOGW_EV_DATA:
        if (r->o.follow) {
            r->ev_size = ev->size;
            r->ev_size_set = true;
        }
        break;
    }
    lr_kick(r);
}

static void lr_snap(void *ud, int status, struct logw_snapshot *snap)
{
    struct logread *r = ud;
    r->snap = NULL;
    if (status < 0) {
        r->w = NULL; /* the writer is closing: read the files by name */
    } else {
        r->subscribed = true;
        r->c.opened = true;
        r->has_live = snap->has_live;
        r->max_file = snap->max_file;
        for (int i = 0; i < snap->nfds; i++) {
            bool live = snap->has_live && i == snap->nfds - 1;
            if (logread__add_file(&r->c, snap->fds[i], live ? snap->live_size : -1) < 0)
                logfile__close_fd_later(r->loop, snap->fds[i]);
        }
        free(snap->fds);
    }
    lr_kick(r);
}

struct logread *logread_start(uv_loop_t *loop, const struct logread_opts *opts, const char *path,
                              struct logw *writer, logread_chunk_fn on_chunk, logread_end_fn on_end,
                              void *ud)
{
    struct logread *r = calloc(1, sizeof(*r));
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return NULL;
    }
    r->loop = loop;
    r->o = *opts;
    r->on_chunk = on_chunk;
    r->on_end = on_end;
    r->ud = ud;
    r->c.o = &r->o;
    r->c.path = r->path;
    r->want = true;
    if (writer) {
        r->w = writer;
        r->snap = logw__snapshot(writer, &r->sub, lr_event, lr_snap, r);
        if (!r->snap)
            r->w = NULL;
    }
    lr_kick(r);
    return r;
}

void logread_next(struct logread *r)
{
    if (r->ended || r->cancelled || r->last_chunk)
        return;
    r->want = true;
    lr_kick(r);
}

void logread_cancel(struct logread *r)
{
    if (r->cancelled || r->ended)
        return;
    r->cancelled = true;
    lr_detach(r);
    if (r->busy) {
        job_cancel(&r->job); /* lr_done frees */
        return;
    }
    if (!r->in_cb)
        lr_free(r);
}
