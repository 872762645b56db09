/* Attached clients: the fan-out of a container's output, its stdin, and
 * the terminal's size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/macros.h"
#include "ctr_internal.h"

void rt_attach(struct container *c, struct ctr_attach *a)
{
    a->c = c;
    a->blocked = false;
    list_add_tail(&c->attaches, &a->link);
}

void rt_attach_block(struct ctr_attach *a, bool blocked)
{
    if (a->blocked == blocked)
        return;
    a->blocked = blocked;
    if (a->c && a->c->rt)
        ctr_out_update(a->c->rt);
}

void rt_detach(struct ctr_attach *a)
{
    list_del(&a->link);
    rt_attach_block(a, false); /* a client that left never holds output back */
    a->c = NULL;
}

bool ctr_attach_blocked(const struct container *c)
{
    for (const struct list *it = c->attaches.next; it != &c->attaches; it = it->next)
        if (container_of(it, struct ctr_attach, link)->blocked)
            return true;
    return false;
}

void ctr_attach_output(struct container *c, int stream, const char *data, size_t len)
{
    struct list *it = c->attaches.next;
    while (it != &c->attaches) {
        struct ctr_attach *a = container_of(it, struct ctr_attach, link);
        it = it->next;
        if (a->want[stream])
            a->out(a->ud, stream, data, len);
    }
}

void ctr_attach_end_all(struct container *c)
{
    while (!list_empty(&c->attaches)) {
        struct ctr_attach *a = container_of(c->attaches.next, struct ctr_attach, link);
        list_del(&a->link);
        a->blocked = false;
        a->c = NULL;
        a->end(a->ud);
    }
}

struct stdin_write {
    uv_write_t req;
    char data[];
};

static void stdin_drained(struct container *c)
{
    struct list *it = c->attaches.next;
    while (it != &c->attaches) {
        struct ctr_attach *a = container_of(it, struct ctr_attach, link);
        it = it->next;
        if (a->stdin_drained)
            a->stdin_drained(a->ud);
    }
}

static void written(uv_write_t *w, int status)
{
    struct ctr_runtime *r = w->handle->data;
    (void)status; /* a container that closed its stdin drops the rest */
    if (status != UV_ECANCELED && uv_stream_get_write_queue_size(w->handle) < RT_STDIN_LOW_WATER)
        stdin_drained(r->c);
    free(w);
}

/* Where stdin goes: the pipe, or the terminal's master; NULL once closed. */
static uv_stream_t *stdin_stream(struct ctr_runtime *r)
{
    if (r->tty)
        return r->out_open[0] ? (uv_stream_t *)&r->out[0] : NULL;
    return r->in_open ? (uv_stream_t *)&r->in : NULL;
}

static int write_stdin(uv_stream_t *s, const char *data, size_t len)
{
    struct stdin_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return -ENOMEM;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, s, &b, 1, written);
    if (rc < 0)
        free(w);
    return rc;
}

ssize_t rt_stdin_write(struct container *c, const char *data, size_t len)
{
    uv_stream_t *s = c->rt ? stdin_stream(c->rt) : NULL;
    if (s) {
        int rc = write_stdin(s, data, len);
        return rc < 0 ? rc : (ssize_t)uv_stream_get_write_queue_size(s);
    }
    if (c->rt || c->stdin_close_pending)
        return 0; /* stdin closed: drop */
    char *p = realloc(c->stdin_pending, c->stdin_pending_len + len);
    if (!p)
        return -ENOMEM;
    memcpy(p + c->stdin_pending_len, data, len);
    c->stdin_pending = p;
    c->stdin_pending_len += len;
    return (ssize_t)c->stdin_pending_len;
}

static void close_stdin(struct ctr_runtime *r)
{
    if (!uv_is_closing((uv_handle_t *)&r->in))
        uv_close((uv_handle_t *)&r->in, ctr_handle_closed);
}

/* The shutdown request completes once every queued write is done (its
 * SHUT_WR fails on a pipe, which is fine: closing is the end of input). */
static void stdin_written_out(uv_shutdown_t *req, int status)
{
    (void)status;
    close_stdin(req->handle->data);
}

void ctr_stdin_shut(struct ctr_runtime *r, bool drain)
{
    bool was_open = r->in_open;
    r->in_open = false;
    if (!was_open) {
        if (!drain && r->in.type == UV_NAMED_PIPE && r->in.data == r)
            close_stdin(r); /* the process is gone: drop a pending drain */
        return;
    }
    uv_stream_t *s = (uv_stream_t *)&r->in;
    if (drain && uv_stream_get_write_queue_size(s) > 0 &&
        uv_shutdown(&r->in_drain, s, stdin_written_out) == 0)
        return;
    close_stdin(r);
}

void rt_stdin_close(struct container *c)
{
    /* A terminal has no end of input to pass on: Docker leaves it open, so
     * a later attach still types into it. */
    if (json_get_bool(c->config, "Tty"))
        return;
    if (c->rt)
        ctr_stdin_shut(c->rt, true);
    else
        c->stdin_close_pending = true;
}

static void open_stdin_pipe(struct ctr_runtime *r)
{
    if (r->stdin_fd < 0 || uv_pipe_init(r->rt->loop, &r->in, 0) < 0)
        return;
    r->in.data = r;
    r->open_handles++;
    if (uv_pipe_open(&r->in, r->stdin_fd) < 0) {
        uv_close((uv_handle_t *)&r->in, ctr_handle_closed);
        return;
    }
    r->stdin_fd = -1;
    r->in_open = true;
}

void ctr_stdin_open(struct ctr_runtime *r)
{
    struct container *c = r->c;
    if (!r->tty)
        open_stdin_pipe(r);
    uv_stream_t *s = stdin_stream(r);
    if (!s)
        return;
    if (c->stdin_pending_len)
        write_stdin(s, c->stdin_pending, c->stdin_pending_len);
    free(c->stdin_pending);
    c->stdin_pending = NULL;
    c->stdin_pending_len = 0;
    if (c->stdin_close_pending)
        ctr_stdin_shut(r, true);
    c->stdin_close_pending = false;
}

struct logw *rt_log_writer(const struct container *c)
{
    return c->rt && !c->rt->log_closing ? c->rt->log : NULL;
}

int rt_resize(struct rt *rt, struct container *c, uint32_t h, uint32_t w, struct berr *err)
{
    struct ctr_runtime *r = c->rt;
    if (!r || r->exited)
        return berr_set(err, 409, EINVAL, "Container %s is not running", c->id);
    /* containerd's console takes 16 bits: larger values wrap, as there */
    struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
    uv_os_fd_t fd;
    if (r->tty && r->out_open[0] && uv_fileno((uv_handle_t *)&r->out[0], &fd) == 0 &&
        ioctl(fd, TIOCSWINSZ, &ws) < 0)
        return berr_errno(err, 500, errno, "resize the terminal of container %s", c->id);
    char hs[16], ws_s[16];
    snprintf(hs, sizeof(hs), "%u", (unsigned)h);
    snprintf(ws_s, sizeof(ws_s), "%u", (unsigned)w);
    const char *const extra[] = {"height", hs, "width", ws_s, NULL};
    rt_event(rt, c, "resize", extra);
    return 0;
}
