/* A running container's process on the loop: its pidfd (exit), its stdout
 * and stderr pipes (into the json-file log, throttled by the log's bounded
 * buffer), and the end of it all: once the process has exited and its output
 * is drained and written, a worker removes the cgroup and unmounts the root,
 * then the container is marked exited (ctr_ops.c takes over from there). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/timeutil.h"
#include "ctr_internal.h"
#include "ctr_validate.h"

/* Output still open this long after the process exited (a daemonised child
 * in a shared pid namespace holds it) is cut off. While an attached client
 * or the log holds reading back, the grace is extended, up to Docker's 10 s
 * wait for its log copier. */
#define DRAIN_GRACE_MS 2000
#define DRAIN_MAX_MS   10000
#define READ_CHUNK     (64 * 1024)

struct cleanup_job {
    struct job job;
    struct ctr_runtime *r;
    char *dir;
    uint64_t ooms;
};

static void maybe_finish(struct ctr_runtime *r);

void ctr_runtime_release(struct ctr_runtime *r)
{
    if (--r->open_handles == 0 && r->finishing) {
        struct container *c = r->c;
        free(r);
        ctr_unref(c);
    }
}

void ctr_handle_closed(uv_handle_t *h)
{
    ctr_runtime_release(h->data);
}

static void close_handle(struct ctr_runtime *r, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, ctr_handle_closed);
    (void)r;
}

static void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    (void)h;
    (void)size;
    static char buf[READ_CHUNK]; /* the loop is single-threaded; data is consumed at once */
    *b = uv_buf_init(buf, sizeof(buf));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static bool output_held(const struct ctr_runtime *r)
{
    return r->log_full || ctr_attach_blocked(r->c);
}

void ctr_out_update(struct ctr_runtime *r)
{
    bool want = !output_held(r);
    for (int i = 0; i < 2; i++) {
        if (!r->out_open[i] || r->out_eof[i] || r->reading[i] == want)
            continue;
        uv_stream_t *s = (uv_stream_t *)&r->out[i];
        if (want && uv_read_start(s, alloc_cb, read_cb) < 0)
            continue;
        if (!want)
            uv_read_stop(s);
        r->reading[i] = want;
    }
}

static void log_drained(struct logw *w, void *ud)
{
    struct ctr_runtime *r = ud;
    (void)w;
    r->log_full = false;
    ctr_out_update(r);
}

int ctr_pty_hold(uv_pipe_t *master)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)master, &fd) < 0)
        return -1;
    return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static void pipe_eof(struct ctr_runtime *r, int i)
{
    if (i == 0 && r->tty && r->out_open[0] && !r->exited && r->pty_hold < 0)
        r->pty_hold = ctr_pty_hold(&r->out[0]);
    r->out_eof[i] = true;
    r->reading[i] = false;
    if (r->log)
        logw_flush_partial(r->log, i + 1, time_now_ns());
    if (r->out_open[i]) {
        r->out_open[i] = false;
        close_handle(r, (uv_handle_t *)&r->out[i]);
    }
    maybe_finish(r);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ctr_runtime *r = s->data;
    int i = s == (uv_stream_t *)&r->out[0] ? 0 : 1;
    if (n < 0) {
        pipe_eof(r, i);
        return;
    }
    if (n == 0)
        return;
    ctr_attach_output(r->c, i + 1, b->base, (size_t)n);
    if (r->log && logw_write(r->log, i + 1, b->base, (size_t)n, time_now_ns()) == LOGW_FULL)
        r->log_full = true;
    ctr_out_update(r); /* a client or the log may have filled up */
}

static int exit_code_of(const siginfo_t *si)
{
    if (si->si_code == CLD_EXITED)
        return si->si_status;
    return 128 + si->si_status;
}

static void drain_timeout(uv_timer_t *t)
{
    struct ctr_runtime *r = t->data;
    uint64_t waited = uv_now(r->rt->loop) - r->exited_at_ms;
    if (output_held(r) && waited < DRAIN_MAX_MS && !r->rt->shutting_down) {
        uint64_t left = DRAIN_MAX_MS - waited;
        uv_timer_start(t, drain_timeout, left < DRAIN_GRACE_MS ? left : DRAIN_GRACE_MS, 0);
        return;
    }
    for (int i = 0; i < 2; i++)
        if (!r->out_eof[i])
            pipe_eof(r, i);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct ctr_runtime *r = p->data;
    siginfo_t si = {0};
    (void)status;
    (void)events;
    if (waitid((idtype_t)P_PIDFD, (id_t)r->pidfd, &si, WEXITED | WNOHANG) < 0 && errno != ECHILD)
        return;
    if (si.si_pid == 0 && errno != ECHILD)
        return;
    r->exited = true;
    r->exited_at_ms = uv_now(r->rt->loop);
    r->exit_code = si.si_pid ? exit_code_of(&si) : 137;
    close_handle(r, (uv_handle_t *)&r->poll);
    if (!r->out_eof[0] || !r->out_eof[1])
        uv_timer_start(&r->stop_timer, drain_timeout, DRAIN_GRACE_MS, 0);
    maybe_finish(r);
}

static int cleanup_run(struct job *job)
{
    struct cleanup_job *cj = container_of(job, struct cleanup_job, job);
    struct berr err = {0};
    cgroup_oom_kill_count(&cj->r->cg, &cj->ooms, &err);
    cgroup_kill_all(&cj->r->cg, &err);
    if (cgroup_remove(&cj->r->cg, &err) < 0)
        log_warn("container %.12s: %s", cj->r->c->id, err.msg);
    ctr_rootfs_unmount_sync(cj->dir);
    return 0;
}

static void cleanup_done(struct job *job)
{
    struct cleanup_job *cj = container_of(job, struct cleanup_job, job);
    struct ctr_runtime *r = cj->r;
    struct container *c = r->c;
    c->st.oom_killed = cj->ooms > 0;
    ctr_oom_seen(r, cj->ooms); /* one the watch has not reported yet: before "die" */
    c->st.status = CTR_EXITED;
    c->st.exit_code = r->exit_code;
    c->st.finished_ns = time_now_ns();
    c->st.pid = 0;
    c->rt = NULL;
    r->rt->nrunning--;
    r->finishing = true;
    close_handle(r, (uv_handle_t *)&r->stop_timer);
    ctr_attach_end_all(c);
    ctr_after_exit(r->rt, c);
    ctr_stopped(r); /* r is freed by the last handle close */
    free(cj->dir);
    free(cj);
}

static void log_closed(void *ud, int status)
{
    struct ctr_runtime *r = ud;
    (void)status;
    r->log = NULL;
    r->log_closed = true;
    maybe_finish(r);
}

static void maybe_finish(struct ctr_runtime *r)
{
    if (!r->exited || !r->out_eof[0] || !r->out_eof[1] || r->finishing)
        return;
    if (!r->log_closed) {
        if (r->log && !r->log_closing) {
            r->log_closing = true;
            logw_close(r->log, log_closed, r);
        } else if (!r->log) {
            r->log_closed = true;
        }
        if (!r->log_closed)
            return;
    }
    if (r->cleanup_started || r->freezing)
        return; /* a freezer job must not freeze the cgroup behind the cleanup's kill */
    r->cleanup_started = true;
    uv_timer_stop(&r->stop_timer);
    if (r->stdin_fd >= 0)
        close(r->stdin_fd), r->stdin_fd = -1;
    if (r->pty_hold >= 0)
        close(r->pty_hold), r->pty_hold = -1;
    ctr_stdin_shut(r, false);
    ctr_oom_watch_stop(r);
    close(r->pidfd);
    r->pidfd = -1;
    struct cleanup_job *cj = calloc(1, sizeof(*cj));
    if (!cj || !(cj->dir = strdup(r->c->dir)))
        abort(); /* no memory for the last step: nothing sane is left to do */
    cj->r = r;
    job_init(&cj->job, cleanup_run, cleanup_done);
    (void)job_queue(r->rt->loop, &cj->job);
}

void ctr_proc_freeze_done(struct ctr_runtime *r)
{
    maybe_finish(r);
}

int ctr_proc_signal(struct container *c, int sig)
{
    if (!c->rt || c->rt->exited)
        return -ESRCH;
    if (syscall(SYS_pidfd_send_signal, c->rt->pidfd, sig, NULL, 0) < 0)
        return -errno;
    return 0;
}

static int open_log(struct ctr_runtime *r, struct berr *err)
{
    struct container *c = r->c;
    if (strcmp(c->hc.log_type, "json-file"))
        return 0;
    struct logw_opts o;
    if (ctr_log_opts(c, &o, err) < 0)
        return -EINVAL;
    char *path = NULL;
    if (logw_path_for(c->dir, c->id, &path) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    int rc = logw_open(r->rt->loop, path, &o, &r->log, err);
    free(path);
    if (rc == 0)
        logw_set_drain(r->log, log_drained, r);
    return rc;
}

/* The stdout and stderr pipes, or the terminal's master as stdout (the
 * pty merges stderr into it, and json-file logs it as stdout, as Docker). A
 * read error ends an output: EOF for a pipe, EIO for the master once the
 * last slave fd in the container is closed. */
static void open_pipes(struct ctr_runtime *r, struct start_job *sj)
{
    uv_loop_t *loop = r->rt->loop;
    int *src[2] = {r->tty ? &sj->pty_master : &sj->parent_fds[1],
                   r->tty ? NULL : &sj->parent_fds[2]};
    for (int i = 0; i < 2; i++) {
        int fd = src[i] ? *src[i] : -1;
        r->out_eof[i] = true;
        if (fd < 0 || uv_pipe_init(loop, &r->out[i], 0) < 0)
            continue;
        r->out[i].data = r;
        r->open_handles++;
        if (uv_pipe_open(&r->out[i], fd) < 0) {
            close_handle(r, (uv_handle_t *)&r->out[i]);
            continue;
        }
        *src[i] = -1;
        r->out_open[i] = true;
        r->out_eof[i] = false;
    }
    ctr_out_update(r);
}

/* A start by the user (or at daemon start) rather than by the restart policy
 * begins a fresh restart history, as moby's ResetRestartManager. */
static void reset_restart_history(struct container *c)
{
    c->st.restart_count = 0;
    c->st.manually_stopped = false;
    c->restart_delay_ms = 0;
}

static void mark_running(struct rt *rt, struct container *c, pid_t pid)
{
    if (c->st.status != CTR_RESTARTING)
        reset_restart_history(c);
    c->st.status = CTR_RUNNING;
    c->st.pid = pid;
    c->st.started_ns = time_now_ns();
    c->st.has_been_started = true;
    c->st.exit_code = 0;
    c->st.oom_killed = false;
    c->st.error[0] = 0;
    rt->nrunning++;
    rt_save_state(rt, c);
    rt_event(rt, c, "start", NULL);
}

static void stopped_at_shutdown(void *ud, const struct berr *err)
{
    (void)ud;
    (void)err;
}

void ctr_proc_adopt(struct rt *rt, struct container *c, struct start_job *sj)
{
    struct ctr_runtime *r = calloc(1, sizeof(*r));
    if (!r)
        abort(); /* a started process we can't track would be lost for good */
    *r = (struct ctr_runtime){.rt = rt,
                              .c = c,
                              .pid = sj->pid,
                              .pidfd = sj->pidfd,
                              .stdin_fd = sj->parent_fds[0],
                              .tty = sj->sp.plan.tty,
                              .pty_hold = -1,
                              .oom_fd = -1,
                              .cg = sj->cg};
    sj->pidfd = -1;
    sj->parent_fds[0] = -1;
    list_init(&r->stop_waiters);
    ctr_ref(c);
    c->rt = r;
    struct berr err = {0};
    if (open_log(r, &err) < 0)
        log_warn("container %.12s: no log: %s", c->id, err.msg);
    uv_timer_init(rt->loop, &r->stop_timer);
    r->stop_timer.data = r;
    uv_poll_init(rt->loop, &r->poll, r->pidfd);
    r->poll.data = r;
    r->open_handles += 2;
    uv_poll_start(&r->poll, UV_READABLE, poll_cb);
    open_pipes(r, sj);
    ctr_stdin_open(r);
    mark_running(rt, c, sj->pid);
    ctr_oom_watch_start(r);
    if (rt->shutting_down) /* started while the daemon stops: stop it too */
        ctr_stop_by_daemon(rt, c, stopped_at_shutdown, NULL);
}
