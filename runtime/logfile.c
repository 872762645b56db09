/* json-file writer, loop half: takes raw chunks from the container's
 * pipes and runs one pool job at a time (logfile_io.c) that splits,
 * encodes and writes them (see logfile.h and logfile_int.h).
 *
 * The loop only copies what it read into w->pending, with the stream and
 * receive time; when no job runs, pending and the consumed batch swap
 * buffers, so a steady stream needs no allocation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"
#include "common/timeutil.h"
#include "logfile_int.h"

static void lw_kick(struct logw *w);

/* ---- loop thread ---- */

static void lw_notify(struct logw *w, enum logw_event_type type, int64_t size, int fd)
{
    struct logw_event ev = {.type = type, .size = size, .fd = fd};
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &w->subs)
    {
        struct logw_sub *sub = container_of(pos, struct logw_sub, node);
        if (type == LOGW_EV_CLOSED)
            list_del(pos);
        sub->cb(sub->ud, &ev);
    }
}

/* A snapshot nobody takes: its fds may be the last ones of files rotation
 * has unlinked, so they are closed on the pool. */
static void snap_discard(struct logw *w, struct logw_snap *s)
{
    logfile__close_later(w->loop, s->res.fds, s->res.nfds);
    free(s);
}

/* Subscribes before handing over the snapshot, so that the receiver sees
 * every batch written after the files were opened, and none before. */
static void snap_deliver(struct logw *w, struct logw_snap *s)
{
    list_del(&s->node);
    logw_snap_fn cb = s->cb;
    if (!cb)
        return snap_discard(w, s);
    if (s->status == 0)
        logw_subscribe(w, s->sub, s->ev_cb, s->ud);
    struct logw_snapshot res = s->res;
    int status = s->status;
    void *ud = s->ud;
    free(s);
    cb(ud, status, status == 0 ? &res : NULL);
}

static void lw_finish(struct logw *w)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &w->snaps)
        snap_deliver(w, container_of(pos, struct logw_snap, node));
    lw_notify(w, LOGW_EV_CLOSED, w->io.size, -1);
    logw_done_fn cb = w->done_cb;
    void *ud = w->done_ud;
    int err = w->err;
    buf_done(&w->pending);
    buf_done(&w->io.batch);
    buf_done(&w->io.out);
    free(w->path);
    free(w);
    if (cb)
        cb(ud, err);
}

static void lw_maybe_drain(struct logw *w)
{
    if (!w->full || w->pending.len >= LOGW_LOW_WATER || w->closing)
        return;
    w->full = false;
    if (w->drain_cb)
        w->drain_cb(w, w->drain_ud);
}

static void lw_done(struct job *job)
{
    struct logw *w = container_of(job, struct logw, job);
    struct lw_io *io = &w->io;
    /* busy stays set while callbacks run: a snapshot or close they request
     * is taken by the next job, not mixed into this one's results. */
    if (io->err && !w->err)
        w->err = io->err;
    w->open_failed = io->fd < 0 && !io->closed;
    if (io->rotated)
        lw_notify(w, LOGW_EV_ROTATED, 0, io->fd);
    if (io->written || io->rotated)
        lw_notify(w, LOGW_EV_DATA, io->size, -1);
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &io->snaps)
        snap_deliver(w, container_of(pos, struct logw_snap, node));
    if (io->closed)
        return lw_finish(w);
    w->busy = false;
    lw_kick(w);
    lw_maybe_drain(w);
}

static bool lw_has_work(const struct logw *w)
{
    return w->pending.len > 0 || w->io.off < w->io.batch.len || !list_empty(&w->snaps) ||
           w->closing || (w->io.fd < 0 && !w->open_failed);
}

static void lw_take_snaps(struct logw *w)
{
    while (!list_empty(&w->snaps)) {
        struct list *n = w->snaps.next;
        list_del(n);
        list_add_tail(&w->io.snaps, n);
    }
}

/* Starts a job if none runs and there is anything to do. A file that
 * failed to open is retried only when there is data for it. */
static void lw_kick(struct logw *w)
{
    struct lw_io *io = &w->io;
    if (w->busy || !lw_has_work(w))
        return;
    if (io->off == io->batch.len) {
        struct buf t = io->batch;
        io->batch = w->pending;
        w->pending = t;
        buf_reset(&w->pending);
        io->off = io->rpos = 0;
    }
    lw_take_snaps(w);
    io->rotated = io->written = false;
    io->err = 0;
    io->final = w->closing && w->pending.len == 0;
    w->inflight = io->batch.len - io->off;
    w->busy = true;
    job_init(&w->job, logfile__work, lw_done);
    /* uv_queue_work fails only without a work callback. */
    (void)job_queue(w->loop, &w->job);
}

int logw_open(uv_loop_t *loop, const char *path, const struct logw_opts *opts, struct logw **ret_w,
              struct berr *err)
{
    struct logw *w = calloc(1, sizeof(*w));
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return berr_set(err, 500, ENOMEM, "log file '%s': out of memory", path);
    }
    w->loop = loop;
    w->opts = *opts;
    if (w->opts.max_file < 1)
        w->opts.max_file = 1;
    w->io.fd = -1;
    list_init(&w->subs);
    list_init(&w->snaps);
    list_init(&w->io.snaps);
    lw_kick(w); /* opens the file now, as Docker creates it at start */
    *ret_w = w;
    return 0;
}

void logw_set_drain(struct logw *w, logw_drain_fn cb, void *ud)
{
    w->drain_cb = cb;
    w->drain_ud = ud;
}

/* Queues a raw record for the job; the loop does no more than this copy. */
static void lw_append(struct logw *w, int stream, bool flush, const char *data, size_t len,
                      int64_t ts)
{
    struct lw_rec h = {.ts = ts, .len = len, .stream = stream, .flush = flush};
    if (buf_reserve(&w->pending, sizeof(h) + len) < 0) {
        if (!w->err)
            w->err = -ENOMEM;
        return;
    }
    memcpy(w->pending.data + w->pending.len, &h, sizeof(h));
    if (len)
        memcpy(w->pending.data + w->pending.len + sizeof(h), data, len);
    w->pending.len += sizeof(h) + len;
}

static int lw_result(struct logw *w)
{
    lw_kick(w);
    if (w->pending.len >= LOGW_HIGH_WATER)
        w->full = true;
    return w->full ? LOGW_FULL : 0;
}

int logw_write(struct logw *w, int stream, const char *data, size_t len, int64_t ts_ns)
{
    if (stream != LOGW_STDOUT && stream != LOGW_STDERR)
        return -EINVAL;
    if (w->closing)
        return -EPIPE;
    if (len > 0)
        lw_append(w, stream, false, data, len, ts_ns);
    return lw_result(w);
}

int logw_flush_partial(struct logw *w, int stream, int64_t ts_ns)
{
    if (stream != LOGW_STDOUT && stream != LOGW_STDERR)
        return -EINVAL;
    if (w->closing)
        return -EPIPE;
    lw_append(w, stream, true, NULL, 0, ts_ns);
    return lw_result(w);
}

void logw_close(struct logw *w, logw_done_fn done, void *ud)
{
    int64_t now = time_now_ns();
    logw_flush_partial(w, LOGW_STDOUT, now);
    logw_flush_partial(w, LOGW_STDERR, now);
    w->closing = true;
    w->done_cb = done;
    w->done_ud = ud;
    lw_kick(w);
}

const char *logw_path(const struct logw *w)
{
    return w->path;
}

int logw_error(const struct logw *w)
{
    return w->err;
}

size_t logw_buffered(const struct logw *w)
{
    return w->pending.len + (w->busy ? w->inflight : 0);
}

void logw_subscribe(struct logw *w, struct logw_sub *sub, logw_event_fn cb, void *ud)
{
    sub->cb = cb;
    sub->ud = ud;
    list_add_tail(&w->subs, &sub->node);
}

void logw_unsubscribe(struct logw *w, struct logw_sub *sub)
{
    (void)w;
    list_del(&sub->node);
}

struct logw_snap *logw__snapshot(struct logw *w, struct logw_sub *sub, logw_event_fn ev_cb,
                                 logw_snap_fn cb, void *ud)
{
    struct logw_snap *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->sub = sub;
    s->ev_cb = ev_cb;
    s->cb = cb;
    s->ud = ud;
    s->status = -ESHUTDOWN; /* unless a job serves it */
    list_add_tail(&w->snaps, &s->node);
    lw_kick(w);
    return s;
}

void logw__snapshot_cancel(struct logw_snap *s)
{
    s->cb = NULL;
}
