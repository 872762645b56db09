/* POST /exec/{id}/start: detached (200 once the process runs) or attached:
 * the connection is hijacked (101 UPGRADED with `Upgrade: tcp`, else 200,
 * as moby), output goes out framed with Docker's 8-byte header unless the
 * start asked for a TTY, stdin bytes go to the process and the client's
 * half-close is its EOF (a TTY session ends there instead, as moby's
 * CopyStreams). The connection closes once the process has exited and its
 * output is drained; its exit code is recorded by then (the CLI asks for it
 * next). A failure to start after the hijack is written in-band, as moby
 * writes err + "\r\n" to the stdout stream.
 *
 * moby checks "already running" / "has already run" after hijacking and
 * writes them in-band; here every refusal is a plain HTTP error (409)
 * before the hijack, which clients read more easily.
 *
 * Detach keys (the exec's DetachKeys, default ctrl-p,ctrl-q) end a TTY
 * session and leave the process running; as in moby they apply to TTY
 * execs only. A client that does not read makes the process wait: past
 * EXEC_HIGH_WATER bytes queued on the connection its output is not read
 * until the queue drains (on_drain) or the client leaves. */
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "detach_keys.h"
#include "runtime/exec.h"
#include "stream_frame.h"

#define EXEC_HIGH_WATER (1024 * 1024)

struct start_req {
    struct srv_req *req;
    struct rt_exec *x;
    struct rt_exec_io io;
    bool raw;     /* no framing (the start's Tty) */
    bool keys_on; /* detach keys apply (the exec's Tty) */
    struct detach_keys keys;
};

static void session_end(struct start_req *s)
{
    s->req->on_abort = NULL;
    s->req->on_drain = NULL;
    srv_hijack_end(s->req);
    free(s);
}

static void on_output(void *ud, int stream, const char *data, size_t len)
{
    struct start_req *s = ud;
    if (s->raw)
        srv_raw_write(s->req, data, len);
    else
        stream_frame_write(s->req, stream, data, len);
    if (srv_req_queued(s->req) > EXEC_HIGH_WATER)
        rt_exec_io_block(s->x, true);
}

static void on_drain(struct srv_req *req)
{
    struct start_req *s = req->data;
    rt_exec_io_block(s->x, false);
}

static void on_end(void *ud)
{
    session_end(ud);
}

static void on_started(void *ud, const struct berr *err)
{
    struct start_req *s = ud;
    if (!err->status)
        return;
    size_t n = strlen(err->msg);
    char line[sizeof(err->msg) + 2];
    memcpy(line, err->msg, n);
    memcpy(line + n, "\r\n", 2);
    on_output(s, 1, line, n + 2);
    session_end(s); /* the runtime calls nothing more */
}

/* The process is behind on its stdin: stop reading the client until it
 * catches up (stdin_ready). */
static void stdin_to(struct start_req *s, const char *data, size_t n)
{
    if (rt_exec_stdin_write(s->x, data, n) == 1)
        srv_raw_read_stop(s->req);
}

static void stdin_ready(void *ud)
{
    struct start_req *s = ud;
    srv_raw_read_start(s->req);
}

static void stdin_data(struct start_req *s, const char *data, size_t n)
{
    if (!s->keys_on) {
        stdin_to(s, data, n);
        return;
    }
    char out[64 * 1024 + DETACH_KEYS_MAX];
    bool detached = false;
    while (n > 0 && !detached) {
        size_t chunk = n < 64 * 1024 ? n : 64 * 1024;
        size_t m = detach_keys_filter(&s->keys, data, chunk, out, &detached);
        if (m)
            stdin_to(s, out, m);
        data += chunk;
        n -= chunk;
    }
    if (detached) {
        rt_exec_io_detach(s->x, true); /* the process keeps running */
        session_end(s);
    }
}

static void on_raw(struct srv_req *req, const char *data, ssize_t n)
{
    struct start_req *s = req->data;
    if (!s->x->open_stdin)
        return; /* nothing to send: the CLI half-closes at once */
    if (n > 0) {
        stdin_data(s, data, (size_t)n);
        return;
    }
    char held[DETACH_KEYS_MAX];
    size_t m = s->keys_on ? detach_keys_flush(&s->keys, held) : 0;
    if (m)
        stdin_to(s, held, m);
    if (n == UV_EOF && !s->x->tty) {
        rt_exec_stdin_close(s->x); /* EOF to the process; output goes on */
        return;
    }
    rt_exec_io_detach(s->x, false);
    session_end(s);
}

static void on_abort(struct srv_req *req)
{
    struct start_req *s = req->data;
    rt_exec_io_detach(s->x, false);
    session_end(s);
}

/* ---- detached ------------------------------------------------------------- */

static void detached_started(void *ud, const struct berr *err)
{
    struct start_req *s = ud;
    s->req->on_abort = NULL;
    if (err->status)
        srv_reply_berr(s->req, err);
    else
        srv_reply_empty(s->req, 200);
    free(s);
}

static void detached_abort(struct srv_req *req)
{
    struct start_req *s = req->data;
    rt_exec_io_detach(s->x, false); /* the process still starts */
    req->on_abort = NULL;
    srv_reply_empty(req, 200);
    free(s);
}

static void start_detached(struct srv_req *req, struct start_req *s,
                           const struct exec_start_body *b)
{
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    s->io = (struct rt_exec_io){.started = detached_started, .ud = s};
    if (rt_exec_start(&e->rt, s->x, &s->io, false, b->has_console ? b->console_hw : NULL, &err) <
        0) {
        free(s);
        srv_reply_berr(req, &err);
        return;
    }
    req->data = s;
    req->on_abort = detached_abort;
}

static void start_attached(struct srv_req *req, struct start_req *s,
                           const struct exec_start_body *b)
{
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    if (s->x->n_detach) {
        memcpy(s->keys.seq, s->x->detach, s->x->n_detach);
        s->keys.len = s->x->n_detach;
    } else {
        detach_keys_parse(NULL, &s->keys, &err); /* the default */
    }
    s->io = (struct rt_exec_io){.started = on_started,
                                .out = on_output,
                                .end = on_end,
                                .stdin_ready = stdin_ready,
                                .ud = s};
    if (rt_exec_start(&e->rt, s->x, &s->io, true, b->has_console ? b->console_hw : NULL, &err) <
        0) {
        free(s);
        srv_reply_berr(req, &err);
        return;
    }
    req->data = s;
    req->on_abort = on_abort;
    req->on_drain = on_drain;
    const char *ctype = b->tty || req->api_minor < 42 ? "application/vnd.docker.raw-stream"
                                                      : "application/vnd.docker.multiplexed-stream";
    srv_hijack(req, ctype, on_raw);
}

void h_exec_start(struct srv_req *req)
{
    struct exec_start_body b;
    struct berr err = {0};
    if (exec_start_parse(req, &b, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    struct rt_exec *x = exec_from_req(req, true);
    if (!x)
        return;
    struct start_req *s = calloc(1, sizeof(*s));
    if (!s) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    *s = (struct start_req){.req = req, .x = x, .raw = b.tty, .keys_on = x->tty};
    if (b.detach)
        start_detached(req, s, &b);
    else
        start_attached(req, s, &b);
}
