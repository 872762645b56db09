/* A running exec on the loop: the pidfd tells its exit (ExitCode and
 * "exec_die" at once, as moby records them when the exit event comes), the
 * stdout/stderr pipes go straight to the attached client (no log, as
 * Docker), read only while the client keeps up, and stdin is written to
 * its pipe. The client's session ends once the process has exited and its
 * output is drained: the exit code is known before the client sees EOF,
 * which is when the CLI asks for it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macros.h"
#include "ctr_exec_internal.h"

/* Output still open this long after the exit (a background child holds
 * it) is cut off, as moby waits 2 s for an exec's streams; a client that
 * holds reading back extends it, up to DRAIN_MAX_MS. */
#define DRAIN_GRACE_MS 2000
#define DRAIN_MAX_MS   10000
#define READ_CHUNK     (64 * 1024)

static void maybe_finish(struct exec_proc *p);

static void handle_closed(uv_handle_t *h)
{
    struct exec_proc *p = h->data;
    if (--p->handles > 0)
        return;
    struct rt_exec *e = p->e;
    e->proc = NULL;
    free(p);
    exec_unref(e);
}

static void close_handle(struct exec_proc *p, uv_handle_t *h)
{
    (void)p;
    if (!uv_is_closing(h))
        uv_close(h, handle_closed);
}

static void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    (void)h;
    (void)size;
    static char buf[READ_CHUNK]; /* the loop is single-threaded; data is consumed at once */
    *b = uv_buf_init(buf, sizeof(buf));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

void exec_proc_out_update(struct exec_proc *p)
{
    bool want = !p->blocked || !p->e->io;
    for (int i = 0; i < 2; i++) {
        if (!p->out_open[i] || p->out_eof[i] || p->reading[i] == want)
            continue;
        uv_stream_t *s = (uv_stream_t *)&p->out[i];
        if (want && uv_read_start(s, alloc_cb, read_cb) < 0)
            continue;
        if (!want)
            uv_read_stop(s);
        p->reading[i] = want;
    }
}

static void out_eof(struct exec_proc *p, int i)
{
    if (i == 0 && p->tty && p->out_open[0] && !p->exited && p->pty_hold < 0)
        p->pty_hold = ctr_pty_hold(&p->out[0]);
    p->out_eof[i] = true;
    p->reading[i] = false;
    if (p->out_open[i]) {
        p->out_open[i] = false;
        close_handle(p, (uv_handle_t *)&p->out[i]);
    }
    maybe_finish(p);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct exec_proc *p = s->data;
    int i = s == (uv_stream_t *)&p->out[0] ? 0 : 1;
    if (n < 0) {
        out_eof(p, i);
        return;
    }
    const struct rt_exec_io *io = p->e->io;
    if (n > 0 && io)
        io->out(io->ud, i + 1, b->base, (size_t)n); /* may block us */
}

static void drain_timeout(uv_timer_t *t)
{
    struct exec_proc *p = t->data;
    uint64_t waited = uv_now(t->loop) - p->exited_at_ms;
    if (p->blocked && p->e->io && waited < DRAIN_MAX_MS && !p->e->rt->shutting_down) {
        uint64_t left = DRAIN_MAX_MS - waited;
        uv_timer_start(t, drain_timeout, left < DRAIN_GRACE_MS ? left : DRAIN_GRACE_MS, 0);
        return;
    }
    for (int i = 0; i < 2; i++)
        if (!p->out_eof[i])
            out_eof(p, i);
}

static int exit_code_of(const siginfo_t *si)
{
    if (si->si_code == CLD_EXITED)
        return si->si_status;
    return 128 + si->si_status;
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct exec_proc *p = h->data;
    siginfo_t si = {0};
    (void)status;
    (void)events;
    if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) < 0 && errno != ECHILD)
        return;
    if (si.si_pid == 0 && errno != ECHILD)
        return;
    p->exited = true;
    p->exited_at_ms = uv_now(h->loop);
    close_handle(p, (uv_handle_t *)&p->poll);
    exec_exited(p->e, si.si_pid ? exit_code_of(&si) : 137);
    if (!p->out_eof[0] || !p->out_eof[1])
        uv_timer_start(&p->drain, drain_timeout, DRAIN_GRACE_MS, 0);
    maybe_finish(p);
}

static void maybe_finish(struct exec_proc *p)
{
    if (!p->exited || !p->out_eof[0] || !p->out_eof[1] || p->finished)
        return;
    p->finished = true;
    close(p->pidfd);
    p->pidfd = -1;
    if (p->pty_hold >= 0)
        close(p->pty_hold), p->pty_hold = -1;
    exec_proc_stdin_shut(p);
    close_handle(p, (uv_handle_t *)&p->drain);
    const struct rt_exec_io *io = p->e->io;
    p->e->io = NULL;
    if (io)
        io->end(io->ud);
}

/* ---- stdin ---------------------------------------------------------------- */

struct stdin_write {
    uv_write_t req;
    struct exec_proc *p;
    size_t len;
    char data[];
};

static void stdin_close_now(struct exec_proc *p)
{
    p->in_open = false;
    close_handle(p, (uv_handle_t *)&p->in);
}

/* Where stdin goes: the pipe, or the terminal's master; NULL once closed. */
static uv_stream_t *stdin_stream(struct exec_proc *p)
{
    if (p->tty)
        return p->out_open[0] ? (uv_stream_t *)&p->out[0] : NULL;
    return p->in_open && !p->in_shut_pending ? (uv_stream_t *)&p->in : NULL;
}

static void written(uv_write_t *req, int status)
{
    struct stdin_write *w = container_of(req, struct stdin_write, req);
    struct exec_proc *p = w->p;
    (void)status; /* a process that closed its stdin drops the rest */
    bool was_full = p->in_queued > RT_EXEC_STDIN_HIGH;
    p->in_queued -= w->len;
    free(w);
    if (p->in_shut_pending && p->in_queued == 0 && p->in_open) {
        stdin_close_now(p);
        return;
    }
    const struct rt_exec_io *io = p->e->io;
    if (was_full && p->in_queued <= RT_EXEC_STDIN_HIGH && io && io->stdin_ready)
        io->stdin_ready(io->ud);
}

int exec_proc_stdin_write(struct exec_proc *p, const char *data, size_t len)
{
    uv_stream_t *s = stdin_stream(p);
    if (!s)
        return 0;
    struct stdin_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return -ENOMEM;
    w->p = p;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, s, &b, 1, written);
    if (rc < 0) {
        free(w);
        return rc;
    }
    p->in_queued += len;
    return p->in_queued > RT_EXEC_STDIN_HIGH ? 1 : 0;
}

/* EOF once what is queued has been written: uv_close would cancel it. A
 * terminal has no end of input to pass on (and its master is the output). */
void exec_proc_stdin_shut(struct exec_proc *p)
{
    if (!p->in_open)
        return;
    if (p->in_queued > 0 && !p->exited) {
        p->in_shut_pending = true;
        return;
    }
    stdin_close_now(p);
}

/* ---- adoption ---------------------------------------------------------- */

static bool open_pipe(struct exec_proc *p, uv_pipe_t *h, int fd)
{
    if (fd < 0 || uv_pipe_init(p->e->rt->loop, h, 0) < 0)
        return false;
    h->data = p;
    p->handles++;
    if (uv_pipe_open(h, fd) < 0) {
        close(fd);
        close_handle(p, (uv_handle_t *)h);
        return false;
    }
    return true;
}

static void open_stdin(struct exec_proc *p, int fd)
{
    struct rt_exec *e = p->e;
    bool was_full = e->stdin_pending_len > RT_EXEC_STDIN_HIGH;
    int r = 0;
    p->in_open = !p->tty && open_pipe(p, &p->in, fd);
    if (e->stdin_pending_len)
        r = exec_proc_stdin_write(p, e->stdin_pending, e->stdin_pending_len);
    if (was_full && r != 1 && e->io && e->io->stdin_ready)
        e->io->stdin_ready(e->io->ud); /* else written() tells, once it drains */
    free(e->stdin_pending);
    e->stdin_pending = NULL;
    e->stdin_pending_len = 0;
    if (e->stdin_close_pending)
        exec_proc_stdin_shut(p);
}

void exec_proc_adopt(struct rt_exec *e, int pidfd, int fds[3], int pty_master)
{
    struct exec_proc *p = calloc(1, sizeof(*p));
    if (!p)
        abort(); /* a started process we can't track would be lost for good */
    uv_loop_t *loop = e->rt->loop;
    p->e = e;
    p->pidfd = pidfd;
    p->tty = pty_master >= 0;
    p->pty_hold = -1;
    e->proc = p;
    exec_ref(e);
    uv_timer_init(loop, &p->drain);
    p->drain.data = p;
    uv_poll_init(loop, &p->poll, pidfd);
    p->poll.data = p;
    p->handles = 2;
    uv_poll_start(&p->poll, UV_READABLE, poll_cb);
    /* a terminal merges stderr into its one output, sent as stdout (moby) */
    int out[2] = {p->tty ? pty_master : fds[1], p->tty ? -1 : fds[2]};
    for (int i = 0; i < 2; i++) {
        p->out_open[i] = open_pipe(p, &p->out[i], out[i]);
        p->out_eof[i] = !p->out_open[i];
    }
    open_stdin(p, p->tty ? -1 : fds[0]);
    exec_proc_out_update(p);
}

int exec_proc_resize(struct exec_proc *p, unsigned h, unsigned w)
{
    uv_os_fd_t fd;
    /* 16 bits, as containerd's console: larger values wrap there too */
    struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
    if (!p->tty || !p->out_open[0] || uv_fileno((uv_handle_t *)&p->out[0], &fd) < 0)
        return 0;
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}
