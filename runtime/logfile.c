/* json-file writer: line splitting and batching on the loop thread, disk
 * I/O in one pool job at a time (see logfile.h).
 *
 * Ownership: while a job is in flight (w->busy) the pool thread owns w->io
 * (fd, file size, batch) and reads only the immutable path and options; the
 * loop thread touches everything else. The loop formats into w->pending;
 * when no job runs, pending and the written-out batch swap buffers, so a
 * steady stream needs no allocation. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/job.h"
#include "common/macros.h"
#include "common/timeutil.h"

struct lw_stream {
    size_t len;         /* bytes of an unfinished line in line[] */
    bool in_partial;    /* a partial entry of the current line was written */
    int64_t partial_ts; /* time of its first piece, shared by the others */
    char line[LOGW_LINE_MAX];
};

struct logw_snap {
    struct list node;
    struct logw_sub *sub;
    logw_event_fn ev_cb;
    logw_snap_fn cb; /* NULL once cancelled */
    void *ud;
    int status;
    struct logw_snapshot res;
};

/* What the pool thread owns while a job runs. */
struct lw_io {
    int fd;
    int64_t size;     /* bytes in the live file */
    struct buf batch; /* entries being written: [off, len) still to go */
    size_t off;
    bool rotated; /* this job moved to a new live file */
    bool written; /* this job added bytes to the live file */
    bool final;   /* close the file once the batch is out */
    bool closed;
    struct list snaps; /* snapshot requests served by this job */
    int err;
};

struct logw {
    uv_loop_t *loop;
    char *path;
    struct logw_opts opts;
    struct logfile__tscache tc;
    struct buf pending;
    struct job job;
    bool busy;
    struct lw_io io;
    int err;
    bool open_failed;
    size_t inflight; /* batch bytes handed to the running job */
    bool full;
    logw_drain_fn drain_cb;
    void *drain_ud;
    struct list subs;
    struct list snaps; /* requests waiting for the next job */
    bool closing;
    logw_done_fn done_cb;
    void *done_ud;
    struct lw_stream st[2];
};

static void lw_kick(struct logw *w);

/* ---- pool thread ---- */

static int io_open(struct logw *w, struct lw_io *io)
{
    /* O_RDWR: followers read through dups of this fd (see LOGW_EV_ROTATED). */
    int fd = open(w->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    io->fd = fd;
    io->size = st.st_size;
    io->rotated = true; /* a new live file for followers */
    return 0;
}

static int rename_keep_enoent(const char *from, const char *to)
{
    if (rename(from, to) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

/* Shifts x.log.N-1 ... x.log.1 and x.log up by one, dropping the oldest,
 * as moby's loggerutils rotate(); with max-file 1 the file starts over.
 * The live file is unlinked rather than truncated so that a follower still
 * reading it through its fd loses nothing. */
static int io_shift_files(struct logw *w)
{
    size_t plen = strlen(w->path) + 16;
    char from[plen], to[plen];
    int r = 0;
    if (w->opts.max_file < 2)
        return unlink(w->path) < 0 && errno != ENOENT ? -errno : 0;
    snprintf(to, plen, "%s.%d", w->path, w->opts.max_file - 1);
    if (unlink(to) < 0 && errno != ENOENT)
        r = -errno;
    for (int i = w->opts.max_file - 1; i > 1 && r == 0; i--) {
        snprintf(from, plen, "%s.%d", w->path, i - 1);
        snprintf(to, plen, "%s.%d", w->path, i);
        r = rename_keep_enoent(from, to);
    }
    snprintf(to, plen, "%s.1", w->path);
    return r ? r : rename_keep_enoent(w->path, to);
}

static int io_rotate(struct logw *w, struct lw_io *io)
{
    int r = io_shift_files(w);
    if (r < 0)
        return r;
    close(io->fd);
    io->fd = -1;
    return io_open(w, io);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* How much of the batch goes to the live file before it must rotate: moby
 * checks the size before each entry, so the entry that crosses max-size is
 * still written to the old file. */
static size_t io_segment(struct logw *w, struct lw_io *io)
{
    const char *b = io->batch.data;
    size_t p = io->off, len = io->batch.len;
    if (w->opts.max_size <= 0)
        return len - p;
    int64_t cur = io->size;
    while (p < len && cur < w->opts.max_size) {
        const char *nl = memchr(b + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - b) + 1 : len;
        cur += (int64_t)(e - p);
        p = e;
    }
    return p - io->off;
}

static void io_fail(struct lw_io *io, int r)
{
    if (!io->err)
        io->err = r;
    io->off = io->batch.len; /* drop the batch: the container keeps running */
}

/* Writes the batch, rotating at most once per job so that every rotation
 * reaches followers as its own event, with the fd of the new file. */
static void io_write_batch(struct logw *w, struct lw_io *io)
{
    bool rotate_failed = false;
    while (io->off < io->batch.len) {
        if (io->fd < 0) {
            int r = io_open(w, io);
            if (r < 0)
                return io_fail(io, r);
        }
        if (w->opts.max_size > 0 && io->size >= w->opts.max_size && !rotate_failed) {
            if (io->rotated)
                return; /* the rest goes in the next job */
            int r = io_rotate(w, io);
            if (r < 0 && !io->err)
                io->err = r;
            /* Could not shift the files: keep appending rather than lose data. */
            rotate_failed = r < 0 && io->fd >= 0;
            continue;
        }
        size_t n = rotate_failed ? io->batch.len - io->off : io_segment(w, io);
        int r = write_all(io->fd, io->batch.data + io->off, n);
        if (r < 0)
            return io_fail(io, r);
        io->off += n;
        io->size += (int64_t)n;
        io->written = true;
    }
}

static bool snap_add_fd(struct logw_snapshot *s, int fd)
{
    int *p = realloc(s->fds, sizeof(int) * (size_t)(s->nfds + 1));
    if (!p) {
        close(fd);
        return false;
    }
    s->fds = p;
    s->fds[s->nfds++] = fd;
    return true;
}

static void io_snapshot(struct logw *w, struct lw_io *io, struct logw_snap *s)
{
    size_t plen = strlen(w->path) + 16;
    char name[plen];
    s->res.max_file = w->opts.max_file;
    for (int i = w->opts.max_file - 1; i >= 1; i--) {
        snprintf(name, plen, "%s.%d", w->path, i);
        int fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            snap_add_fd(&s->res, fd);
    }
    int live = io->fd >= 0 ? fcntl(io->fd, F_DUPFD_CLOEXEC, 3) : -1;
    if (live >= 0 && snap_add_fd(&s->res, live)) {
        s->res.has_live = true;
        s->res.live_size = io->size;
    }
    s->status = 0;
}

static int lw_work(struct job *job)
{
    struct logw *w = container_of(job, struct logw, job);
    struct lw_io *io = &w->io;
    if (io->fd < 0 && !io->final) {
        int r = io_open(w, io);
        if (r < 0 && !io->err)
            io->err = r;
    }
    io_write_batch(w, io);
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &io->snaps)
        io_snapshot(w, io, container_of(pos, struct logw_snap, node));
    /* A file opened by this job stays open until the next one, so that
     * followers get its fd with the ROTATED event. */
    if (io->final && io->off == io->batch.len && !io->rotated) {
        if (io->fd >= 0)
            close(io->fd);
        io->fd = -1;
        io->closed = true;
    }
    return 0;
}

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

static void snap_discard(struct logw_snap *s)
{
    for (int i = 0; i < s->res.nfds; i++)
        close(s->res.fds[i]);
    free(s->res.fds);
    free(s);
}

/* Subscribes before handing over the snapshot, so that the receiver sees
 * every batch written after the files were opened, and none before. */
static void snap_deliver(struct logw *w, struct logw_snap *s)
{
    list_del(&s->node);
    logw_snap_fn cb = s->cb;
    if (!cb)
        return snap_discard(s);
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
        io->off = 0;
    }
    lw_take_snaps(w);
    io->rotated = io->written = false;
    io->err = 0;
    io->final = w->closing && w->pending.len == 0;
    w->inflight = io->batch.len - io->off;
    w->busy = true;
    job_init(&w->job, lw_work, lw_done);
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

/* Appends one entry to pending; text may point into the stream's line[]. */
static void lw_emit(struct logw *w, int stream, const char *text, size_t len, bool newline,
                    int64_t ts)
{
    if (buf_reserve(&w->pending, LOGFILE__ENTRY_MAX(len)) < 0) {
        if (!w->err)
            w->err = -ENOMEM;
        return;
    }
    w->pending.len +=
        logfile__encode(w->pending.data + w->pending.len, stream, text, len, newline, ts, &w->tc);
}

/* A line that ends in this chunk: its earlier bytes may wait in line[]. */
static void lw_complete_line(struct logw *w, int stream, const char *data, size_t n, int64_t ts)
{
    struct lw_stream *s = &w->st[stream - 1];
    const char *text = data;
    if (s->len > 0) {
        memcpy(s->line + s->len, data, n);
        text = s->line;
        n += s->len;
    }
    lw_emit(w, stream, text, n, true, s->in_partial ? s->partial_ts : ts);
    s->len = 0;
    s->in_partial = false;
}

static void lw_partial(struct logw *w, int stream, const char *data, size_t n, int64_t ts)
{
    struct lw_stream *s = &w->st[stream - 1];
    memcpy(s->line + s->len, data, n);
    if (!s->in_partial) {
        s->in_partial = true;
        s->partial_ts = ts;
    }
    lw_emit(w, stream, s->line, s->len + n, false, s->partial_ts);
    s->len = 0;
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
    struct lw_stream *s = &w->st[stream - 1];
    while (len > 0) {
        /* moby's copier holds LOGW_LINE_MAX bytes: a line that fills them
         * without a newline goes out as a partial entry of exactly that size. */
        size_t room = LOGW_LINE_MAX - s->len;
        size_t scan = len < room ? len : room;
        const char *nl = memchr(data, '\n', scan);
        size_t used;
        if (nl) {
            used = (size_t)(nl - data) + 1;
            lw_complete_line(w, stream, data, used - 1, ts_ns);
        } else if (scan == room) {
            used = room;
            lw_partial(w, stream, data, used, ts_ns);
        } else {
            used = len;
            memcpy(s->line + s->len, data, used);
            s->len += used;
        }
        data += used;
        len -= used;
    }
    return lw_result(w);
}

int logw_flush_partial(struct logw *w, int stream, int64_t ts_ns)
{
    if (stream != LOGW_STDOUT && stream != LOGW_STDERR)
        return -EINVAL;
    if (w->closing)
        return -EPIPE;
    struct lw_stream *s = &w->st[stream - 1];
    if (s->len > 0)
        lw_partial(w, stream, s->line + s->len, 0, ts_ns);
    s->in_partial = false;
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
