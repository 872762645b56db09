/* Server object: the connection set, the resume queue, graceful shutdown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "conn.h"
#include "listener.h"

static void resume_idle_cb(uv_idle_t *idle)
{
    struct srv_server *srv = idle->data;
    /* Detach the queue first: resuming may queue other connections again. */
    struct list batch;
    list_init(&batch);
    if (!list_empty(&srv->resume_queue)) {
        batch.next = srv->resume_queue.next;
        batch.prev = srv->resume_queue.prev;
        batch.next->prev = &batch;
        batch.prev->next = &batch;
        list_init(&srv->resume_queue);
    }
    while (!list_empty(&batch)) {
        struct srv_conn *c = container_of(batch.next, struct srv_conn, resume_link);
        list_del(&c->resume_link);
        srv_conn_resume(c);
    }
    if (list_empty(&srv->resume_queue))
        uv_idle_stop(idle);
}

void srv_server_wake_resume(struct srv_server *srv)
{
    if (!srv->closing_handles)
        uv_idle_start(&srv->resume_idle, resume_idle_cb);
}

/* A request often follows the previous response within tens of
 * microseconds. Sleeping in epoll in between costs a cross-CPU wake-up on
 * both sides, more than the request itself; so for SPIN_NS after the last
 * read the loop polls without blocking (an active idle handle makes libuv
 * use a zero timeout), then sleeps as usual. Go's runtime, which dockerd
 * uses, spins for the same reason. */
#define SPIN_NS (50 * 1000)

static void spin_cb(uv_idle_t *h)
{
    struct srv_server *srv = h->data;
    if (uv_hrtime() - srv->last_io_ns > SPIN_NS || srv->closing_handles) {
        uv_idle_stop(h);
        srv->spinning = false;
    }
}

void srv_server_note_io(struct srv_server *srv)
{
    srv->last_io_ns = uv_hrtime();
    if (!srv->spinning && !srv->closing_handles) {
        srv->spinning = true;
        uv_idle_start(&srv->spin_idle, spin_cb);
    }
}

struct srv_server *srv_new(uv_loop_t *loop, const struct srv_options *opt)
{
    struct srv_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->extra_headers = strdup(opt->extra_headers ? opt->extra_headers : "");
    if (!srv->extra_headers) {
        free(srv);
        return NULL;
    }
    srv->extra_headers_len = strlen(srv->extra_headers);
    srv->loop = loop;
    srv->limits = opt->limits;
    srv->router = opt->router;
    srv->ctx = opt->ctx;
    list_init(&srv->listeners);
    list_init(&srv->conns);
    list_init(&srv->resume_queue);
    uv_idle_init(loop, &srv->resume_idle);
    srv->resume_idle.data = srv;
    uv_idle_init(loop, &srv->spin_idle);
    srv->spin_idle.data = srv;
    uv_timer_init(loop, &srv->shutdown_timer);
    srv->shutdown_timer.data = srv;
    return srv;
}

void srv_set_limits(struct srv_server *srv, const struct srv_limits *limits)
{
    srv->limits = *limits;
}

size_t srv_connection_count(const struct srv_server *srv)
{
    return srv->nconns;
}

static void server_handle_closed(uv_handle_t *h)
{
    struct srv_server *srv = h->data;
    if (++srv->handles_closed == 3 && srv->shutdown_done)
        srv->shutdown_done(srv->shutdown_arg);
}

void srv_check_shutdown_done(struct srv_server *srv)
{
    if (!srv->shutting_down || srv->nconns > 0 || srv->nlisteners > 0 || srv->closing_handles)
        return;
    srv->closing_handles = true;
    uv_close((uv_handle_t *)&srv->spin_idle, server_handle_closed);
    uv_close((uv_handle_t *)&srv->resume_idle, server_handle_closed);
    uv_close((uv_handle_t *)&srv->shutdown_timer, server_handle_closed);
}

void srv_server_conn_gone(struct srv_server *srv, struct srv_conn *c)
{
    list_del(&c->link);
    srv->nconns--;
    srv_check_shutdown_done(srv);
}

/* Handlers that did not end their requests in time lose their connections. */
static void shutdown_timer_cb(uv_timer_t *t)
{
    struct srv_server *srv = t->data;
    struct list *pos, *tmp;
    log_warn("%zu connection(s) still open after the shutdown grace period, closing them",
             srv->nconns);
    list_for_each_safe(pos, tmp, &srv->conns)
    {
        srv_conn_close(container_of(pos, struct srv_conn, link));
    }
}

void srv_shutdown(struct srv_server *srv, void (*done)(void *arg), void *arg)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    srv->shutdown_done = done;
    srv->shutdown_arg = arg;
    srv_listeners_close(srv);
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &srv->conns)
    {
        struct srv_conn *c = container_of(pos, struct srv_conn, link);
        if (c->req_active && c->dispatched)
            srv_conn_abort_request(c); /* the handler ends it; then it closes */
        else
            srv_conn_close_graceful(c);
    }
    uv_timer_start(&srv->shutdown_timer, shutdown_timer_cb, srv->limits.shutdown_grace_ms, 0);
    srv_check_shutdown_done(srv);
}

void srv_free(struct srv_server *srv)
{
    if (!srv)
        return;
    free(srv->extra_headers);
    free(srv);
}

int srv_adopt_fd(struct srv_server *srv, int fd, struct berr *err)
{
    struct srv_conn *c = srv_conn_new(srv, true);
    if (!c) {
        close(fd);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    int r = uv_pipe_open(&c->h.pipe, fd);
    if (r < 0) {
        close(fd);
        srv_conn_close(c);
        return berr_set(err, 500, -r, "adopt fd %d: %s", fd, uv_strerror(r));
    }
    srv_conn_start(c);
    return 0;
}
