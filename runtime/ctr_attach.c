/* Attached clients: the fan-out of a container's output, and its stdin. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void written(uv_write_t *w, int status)
{
    (void)status; /* a container that closed its stdin drops the rest */
    free(w);
}

static int write_pipe(struct ctr_runtime *r, const char *data, size_t len)
{
    struct stdin_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return -ENOMEM;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&r->in, &b, 1, written);
    if (rc < 0)
        free(w);
    return rc;
}

int rt_stdin_write(struct container *c, const char *data, size_t len)
{
    if (c->rt && c->rt->in_open)
        return write_pipe(c->rt, data, len);
    if (c->rt || c->stdin_close_pending)
        return 0; /* stdin closed: drop */
    char *p = realloc(c->stdin_pending, c->stdin_pending_len + len);
    if (!p)
        return -ENOMEM;
    memcpy(p + c->stdin_pending_len, data, len);
    c->stdin_pending = p;
    c->stdin_pending_len += len;
    return 0;
}

void ctr_stdin_shut(struct ctr_runtime *r)
{
    if (!r->in_open)
        return;
    r->in_open = false;
    uv_close((uv_handle_t *)&r->in, ctr_handle_closed);
}

void rt_stdin_close(struct container *c)
{
    if (c->rt)
        ctr_stdin_shut(c->rt);
    else
        c->stdin_close_pending = true;
}

void ctr_stdin_open(struct ctr_runtime *r)
{
    struct container *c = r->c;
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
    if (c->stdin_pending_len)
        write_pipe(r, c->stdin_pending, c->stdin_pending_len);
    free(c->stdin_pending);
    c->stdin_pending = NULL;
    c->stdin_pending_len = 0;
    if (c->stdin_close_pending)
        ctr_stdin_shut(r);
    c->stdin_close_pending = false;
}

struct logw *rt_log_writer(const struct container *c)
{
    return c->rt && !c->rt->log_closing ? c->rt->log : NULL;
}
