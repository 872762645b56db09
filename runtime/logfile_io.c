/* The json-file writer's pool half: turns a batch of raw records into
 * Docker's json-file entries (moby's copier line splitting, JSON encoding)
 * and writes them, rotating and closing files as it goes. Everything here
 * runs in the writer's job, on a libuv pool thread, and touches only w->io
 * and the immutable path and options (see logfile_int.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/macros.h"
#include "logfile_int.h"

/* ---- files ---- */

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

static void io_set_err(struct lw_io *io, int r)
{
    if (!io->err)
        io->err = r;
}

/* Drops the rest of the batch: the container keeps running without a log. */
static void io_fail(struct lw_io *io, int r)
{
    io_set_err(io, r);
    io->off = io->batch.len;
    io->rpos = 0;
    io->out.len = 0;
}

/* ---- line splitting and encoding ---- */

static const char *io_time(struct lw_io *io, int64_t ts, size_t *ret_len)
{
    struct lw_tsfmt *f = &io->tf;
    if (!f->valid || f->ts != ts) {
        f->len = logfile__format_time(f->s, ts, &f->tc);
        f->ts = ts;
        f->valid = true;
    }
    *ret_len = f->len;
    return f->s;
}

/* Appends one entry to io->out; text may point into a stream's line[]. */
static void io_emit(struct lw_io *io, int stream, const char *text, size_t len, bool newline,
                    int64_t ts)
{
    if (buf_reserve(&io->out, LOGFILE__ENTRY_MAX(len)) < 0)
        return io_set_err(io, -ENOMEM);
    size_t tl;
    const char *t = io_time(io, ts, &tl);
    io->out.len +=
        logfile__encode_ts(io->out.data + io->out.len, stream, text, len, newline, t, tl);
}

/* A line that ends in this record: its earlier bytes may wait in line[]. */
static void io_complete_line(struct lw_io *io, int stream, const char *data, size_t n, int64_t ts)
{
    struct lw_stream *s = &io->st[stream - 1];
    const char *text = data;
    if (s->len > 0) {
        memcpy(s->line + s->len, data, n);
        text = s->line;
        n += s->len;
    }
    io_emit(io, stream, text, n, true, s->in_partial ? s->partial_ts : ts);
    s->len = 0;
    s->in_partial = false;
}

/* Every piece of a split line carries the time of the first piece. */
static void io_partial(struct lw_io *io, int stream, const char *data, size_t n, int64_t ts)
{
    struct lw_stream *s = &io->st[stream - 1];
    memcpy(s->line + s->len, data, n);
    if (!s->in_partial) {
        s->in_partial = true;
        s->partial_ts = ts;
    }
    io_emit(io, stream, s->line, s->len + n, false, s->partial_ts);
    s->len = 0;
}

/* Consumes bytes up to and including at most one entry, as moby's copier
 * cuts them: at a '\n', or where a line fills LOGW_LINE_MAX bytes (written
 * as a partial entry of exactly that size). Returns the bytes used. */
static size_t io_split_step(struct lw_io *io, int stream, const char *d, size_t n, int64_t ts)
{
    struct lw_stream *s = &io->st[stream - 1];
    size_t room = LOGW_LINE_MAX - s->len;
    size_t scan = n < room ? n : room;
    const char *nl = memchr(d, '\n', scan);
    if (nl) {
        size_t used = (size_t)(nl - d) + 1;
        io_complete_line(io, stream, d, used - 1, ts);
        return used;
    }
    if (scan == room) {
        io_partial(io, stream, d, room, ts);
        return room;
    }
    memcpy(s->line + s->len, d, n);
    s->len += n;
    return n;
}

/* The stream's pipe ended: its unfinished line goes out as a partial entry. */
static void io_flush_stream(struct lw_io *io, int stream, int64_t ts)
{
    struct lw_stream *s = &io->st[stream - 1];
    if (s->len > 0)
        io_partial(io, stream, s->line + s->len, 0, ts);
    s->in_partial = false;
}

/* Encodes entries into io->out until it holds LW_OUT_CHUNK bytes or the
 * batch is consumed; with limit, also stops once the live file would reach
 * max-size with what is gathered: moby checks the size before each entry,
 * so the entry that crosses it still goes to the old file. */
static void io_encode(struct logw *w, struct lw_io *io, bool limit)
{
    while (io->off < io->batch.len && io->out.len < LW_OUT_CHUNK) {
        if (limit && io->size + (int64_t)io->out.len >= w->opts.max_size)
            return;
        struct lw_rec h;
        memcpy(&h, io->batch.data + io->off, sizeof(h));
        const char *d = io->batch.data + io->off + sizeof(h);
        if (h.flush)
            io_flush_stream(io, h.stream, h.ts);
        else if (io->rpos < h.len)
            io->rpos += io_split_step(io, h.stream, d + io->rpos, h.len - io->rpos, h.ts);
        if (h.flush || io->rpos == h.len) {
            io->off += sizeof(h) + h.len;
            io->rpos = 0;
        }
    }
}

static int io_write_out(struct lw_io *io)
{
    int r = fd_write_all(io->fd, io->out.data, io->out.len);
    if (r < 0)
        return r;
    io->size += (int64_t)io->out.len;
    io->written = io->written || io->out.len > 0;
    io->out.len = 0;
    return 0;
}

/* Writes the batch, rotating at most once per job so that every rotation
 * reaches followers as its own event, with the fd of the new file. */
static void io_write_batch(struct logw *w, struct lw_io *io)
{
    bool limit = w->opts.max_size > 0;
    while (io->off < io->batch.len) {
        if (io->fd < 0) {
            int r = io_open(w, io);
            if (r < 0)
                return io_fail(io, r);
        }
        if (limit && io->size >= w->opts.max_size) {
            if (io->rotated)
                return; /* the rest goes in the next job */
            int r = io_rotate(w, io);
            if (r < 0)
                io_set_err(io, r);
            /* Could not shift the files: keep appending rather than lose data. */
            limit = !(r < 0 && io->fd >= 0);
            continue;
        }
        io_encode(w, io, limit);
        int r = io_write_out(io);
        if (r < 0)
            return io_fail(io, r);
    }
}

/* ---- snapshots for readers ---- */

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

int logfile__work(struct job *job)
{
    struct logw *w = container_of(job, struct logw, job);
    struct lw_io *io = &w->io;
    if (io->fd < 0 && !io->final) {
        int r = io_open(w, io);
        if (r < 0)
            io_set_err(io, r);
    }
    io_write_batch(w, io);
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &io->snaps)
        io_snapshot(w, io, container_of(pos, struct logw_snap, node));
    /* A file opened by this job stays open until the next one, so that
     * followers get its fd with the ROTATED event. Closing here, not on
     * the loop, also keeps the page-cache release of a file already
     * unlinked by rotation off the loop thread. */
    if (io->final && io->off == io->batch.len && !io->rotated) {
        if (io->fd >= 0)
            close(io->fd);
        io->fd = -1;
        io->closed = true;
    }
    return 0;
}
