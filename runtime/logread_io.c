/* The pool-thread half of a log reader: opening the files, finding the
 * start of a tail by reading backwards, and turning lines into output.
 * Everything here works on a cursor that the loop does not touch while a
 * job runs. Reads use pread at explicit offsets: a follower's fd may be a
 * dup of the writer's, sharing its file position. */
#include "logread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/job.h"

#define LR_IBUF_MIN  (1024 * 1024)
#define LR_LINE_MAX  (64 * 1024 * 1024) /* a longer "line" is dropped as malformed */
#define LR_JOB_INPUT (16 * 1024 * 1024) /* input a job may skip before yielding */
#define LR_TAIL_BLK  (64 * 1024)
#define LR_PROBE_MAX 100000

int logread__add_file(struct logread__cursor *c, int fd, int64_t limit)
{
    struct logread__file *f = realloc(c->files, sizeof(*f) * (size_t)(c->nfiles + 1));
    if (!f)
        return -ENOMEM;
    c->files = f;
    c->files[c->nfiles].fd = fd;
    c->files[c->nfiles].limit = limit;
    c->nfiles++;
    return 0;
}

void logread__compact(struct logread__cursor *c)
{
    if (c->cur == 0)
        return;
    memmove(c->files, c->files + c->cur, sizeof(*c->files) * (size_t)(c->nfiles - c->cur));
    c->nfiles -= c->cur;
    c->cur = 0;
}

static int open_rotated(const char *path, int i)
{
    char name[strlen(path) + 16];
    snprintf(name, sizeof(name), "%s.%d", path, i);
    return open(name, O_RDONLY | O_CLOEXEC);
}

/* Rotated files are numbered without gaps: probe x.log.1, x.log.2, ...
 * (newest first), then add them oldest first. */
int logread__open_names(struct logread__cursor *c)
{
    int *fds = NULL, n = 0, r = 0;
    for (int fd; n < LR_PROBE_MAX && (fd = open_rotated(c->path, n + 1)) >= 0;) {
        int *p = realloc(fds, sizeof(int) * (size_t)(n + 1));
        if (!p) {
            close(fd);
            r = -ENOMEM;
            break;
        }
        fds = p;
        fds[n++] = fd;
    }
    for (int k = n - 1; k >= 0; k--) {
        if (r == 0)
            r = logread__add_file(c, fds[k], -1);
        if (r < 0)
            close(fds[k]);
    }
    free(fds);
    if (r < 0)
        return r;
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    r = logread__add_file(c, fd, -1);
    if (r < 0)
        close(fd);
    return r;
}

static int ensure_ibuf(struct logread__cursor *c)
{
    if (c->ibuf)
        return 0;
    c->ibuf = malloc(LR_IBUF_MIN);
    if (!c->ibuf)
        return -ENOMEM;
    c->icap = LR_IBUF_MIN;
    return 0;
}

static int64_t file_end(const struct logread__file *f)
{
    if (f->limit >= 0)
        return f->limit;
    struct stat st;
    return fstat(f->fd, &st) < 0 ? -errno : st.st_size;
}

static ssize_t pread_full(int fd, char *p, size_t n, int64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, p + got, n - got, off + (int64_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static void start_at(struct logread__cursor *c, int i, int64_t off)
{
    for (int k = 0; k < i; k++) {
        if (c->files[k].fd >= 0)
            close(c->files[k].fd);
        c->files[k].fd = -1;
    }
    c->cur = i;
    c->off = off;
    c->ipos = c->ilen = c->scan = 0;
}

/* Counts newlines backwards from the end of file i; *need is how many
 * remain to be found. Returns 1 with *ret_off set when found, 0 when the
 * file start was reached, or a negative errno. */
static int tail_scan_file(struct logread__cursor *c, int i, int64_t *need, int64_t *ret_off)
{
    int64_t pos = file_end(&c->files[i]);
    if (pos < 0)
        return (int)pos;
    while (pos > 0) {
        size_t blk = pos < LR_TAIL_BLK ? (size_t)pos : LR_TAIL_BLK;
        ssize_t n = pread_full(c->files[i].fd, c->ibuf, blk, pos - (int64_t)blk);
        if (n < 0)
            return (int)n;
        if ((size_t)n < blk)
            return -EIO; /* the file shrank under us */
        for (const char *e = c->ibuf + blk; (e = memrchr(c->ibuf, '\n', (size_t)(e - c->ibuf)));) {
            if (--*need == 0) {
                *ret_off = pos - (int64_t)blk + (e - c->ibuf) + 1;
                return 1;
            }
        }
        pos -= (int64_t)blk;
    }
    return 0;
}

/* The start of the last n lines is just after the (n+1)-th newline from the
 * end, counting the one that ends the last complete line; a file start
 * counts as the boundary the previous file's last newline would be. */
int logread__seek_tail(struct logread__cursor *c, int64_t n)
{
    int r = ensure_ibuf(c);
    if (r < 0)
        return r;
    int64_t need = n + 1, off = 0;
    for (int i = c->nfiles - 1; i >= 0; i--) {
        r = tail_scan_file(c, i, &need, &off);
        if (r < 0)
            return r;
        if (r == 1) {
            start_at(c, i, off);
            return 0;
        }
    }
    start_at(c, 0, 0);
    return 0;
}

/* ---- reading forward ---- */

static int64_t read_room(const struct logread__cursor *c)
{
    const struct logread__file *f = &c->files[c->cur];
    int64_t room = (int64_t)(c->icap - c->ilen);
    if (f->limit >= 0 && f->limit - c->off < room)
        room = f->limit - c->off;
    return room > 0 ? room : 0;
}

/* Keeps the unfinished line at the front of ibuf, growing it for long
 * lines and dropping lines past LR_LINE_MAX. */
static int make_room(struct logread__cursor *c)
{
    if (c->ipos > 0) {
        memmove(c->ibuf, c->ibuf + c->ipos, c->ilen - c->ipos);
        c->ilen -= c->ipos;
        c->scan -= c->ipos;
        c->ipos = 0;
    }
    if (c->ilen < c->icap)
        return 0;
    if (c->icap >= LR_LINE_MAX) {
        c->skip_line = true;
        c->ilen = c->scan = 0;
        return 0;
    }
    char *p = realloc(c->ibuf, c->icap * 2);
    if (!p)
        return -ENOMEM;
    c->ibuf = p;
    c->icap *= 2;
    return 0;
}

static ssize_t read_more(struct logread__cursor *c)
{
    int r = make_room(c);
    if (r < 0)
        return r;
    int64_t room = read_room(c);
    if (room == 0)
        return 0;
    ssize_t n = pread_full(c->files[c->cur].fd, c->ibuf + c->ilen, (size_t)room, c->off);
    if (n > 0) {
        c->off += n;
        c->ilen += (size_t)n;
    }
    return n;
}

/* Moves to the next file; a truncated line at the end of this one (a crash
 * mid-write) is dropped. */
static bool next_file(struct logread__cursor *c)
{
    if (c->cur + 1 >= c->nfiles)
        return false;
    close(c->files[c->cur].fd);
    c->files[c->cur].fd = -1;
    start_at(c, c->cur + 1, 0);
    c->skip_line = false;
    return true;
}

static int reserve_out(struct logread__cursor *c, size_t need)
{
    if (c->olen + need <= c->ocap)
        return 0;
    /* Room for a whole chunk and its last entry: usually one malloc. */
    size_t chunk = c->o->chunk_size ? c->o->chunk_size : LOGREAD_CHUNK;
    size_t cap = c->ocap ? c->ocap : chunk + 64 * 1024;
    while (cap < c->olen + need)
        cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p)
        return -ENOMEM;
    c->out = p;
    c->ocap = cap;
    return 0;
}

static bool wanted(const struct logread__cursor *c, const struct logread__entry *e)
{
    if (!e->has_log || e->log_len == 0)
        return false;
    return (e->stream == 1 && c->o->show_stdout) || (e->stream == 2 && c->o->show_stderr);
}

static void put_header(char *h, int stream, size_t len)
{
    h[0] = (char)stream;
    h[1] = h[2] = h[3] = 0;
    h[4] = (char)(len >> 24);
    h[5] = (char)(len >> 16);
    h[6] = (char)(len >> 8);
    h[7] = (char)len;
}

/* Decodes one line straight into the output, behind room left for the
 * frame header and the timestamp, then fills those in or drops it all. */
static int emit_line(struct logread__cursor *c, const char *line, size_t len)
{
    const struct logread_opts *o = c->o;
    size_t hdr = o->tty ? 0 : 8, tsl = o->timestamps ? LOGREAD__TS_LEN + 1 : 0;
    int r = reserve_out(c, hdr + tsl + len);
    if (r < 0)
        return r;
    char *at = c->out + c->olen;
    struct logread__entry e;
    /* The time is always checked, so that a line is valid or not whatever
     * the options. */
    if (logread__parse_line(line, len, at + hdr + tsl, true, &e) < 0 || !wanted(c, &e))
        return 0;
    if (o->since_ns && e.ts < o->since_ns)
        return 0;
    if (o->until_ns && e.ts > o->until_ns) {
        c->until_hit = true;
        return 0;
    }
    if (tsl) {
        logread__format_fixed(at + hdr, e.ts, &c->tc);
        at[hdr + LOGREAD__TS_LEN] = ' ';
    }
    if (hdr)
        put_header(at, e.stream, tsl + e.log_len);
    c->olen += hdr + tsl + e.log_len;
    return 0;
}

/* Finds the next complete line; 1 with it, 0 when more input is needed. */
static int next_line(struct logread__cursor *c, const char **ret_line, size_t *ret_len)
{
    const char *nl = memchr(c->ibuf + c->scan, '\n', c->ilen - c->scan);
    if (!nl) {
        c->scan = c->ilen;
        return 0;
    }
    *ret_line = c->ibuf + c->ipos;
    *ret_len = (size_t)(nl - *ret_line);
    c->ipos = c->scan = (size_t)(nl - c->ibuf) + 1;
    return 1;
}

/* More input: 1 read, 0 caught up with every file, or a negative errno. */
static int refill(struct logread__cursor *c, size_t *budget)
{
    for (;;) {
        ssize_t n = read_more(c);
        if (n < 0)
            return (int)n;
        if (n > 0) {
            *budget = (size_t)n >= *budget ? 0 : *budget - (size_t)n;
            return 1;
        }
        if (!next_file(c))
            return 0;
    }
}

int logread__fill_chunk(struct logread__cursor *c, struct job *job)
{
    size_t chunk = c->o->chunk_size ? c->o->chunk_size : LOGREAD_CHUNK, budget = LR_JOB_INPUT;
    c->caught_up = false;
    if (c->cur >= c->nfiles) {
        c->caught_up = true;
        return 0;
    }
    int r = ensure_ibuf(c);
    while (r >= 0 && c->olen < chunk && !c->until_hit) {
        const char *line;
        size_t len;
        if (job && job_should_stop(job))
            return -ECANCELED;
        if (next_line(c, &line, &len)) {
            if (c->skip_line)
                c->skip_line = false;
            else
                r = emit_line(c, line, len);
            continue;
        }
        if (budget == 0)
            break;
        r = refill(c, &budget);
        if (r == 0)
            c->caught_up = true;
        if (r <= 0)
            break;
    }
    return r < 0 ? r : 0;
}

void logread__cursor_done(struct logread__cursor *c)
{
    for (int i = 0; i < c->nfiles; i++)
        if (c->files[i].fd >= 0)
            close(c->files[i].fd);
    free(c->files);
    free(c->ibuf);
    free(c->out);
    memset(c, 0, sizeof(*c));
}
