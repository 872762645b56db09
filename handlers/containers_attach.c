/* POST /containers/{name}/attach?stream=&stdin=&stdout=&stderr=: the
 * connection is hijacked (101 UPGRADED); output goes out framed with
 * Docker's 8-byte stream header unless the container has a TTY; stdin bytes
 * go to the container. On the client's half-close: a non-TTY container with
 * StdinOnce gets its stdin closed and output keeps flowing; otherwise the
 * session ends (API-NOTES §4.4). The server closes when the process exits.
 *
 * A client that does not read makes the container wait, as Docker's attach
 * copy blocks: past ATTACH_HIGH_WATER bytes queued on the connection the
 * runtime stops reading the container's output until the queue drains
 * below the server's low-water mark (on_drain) or the client leaves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "containers.h"
#include "stream_frame.h"

#define ATTACH_HIGH_WATER (1024 * 1024)
struct attach_req {
    struct ctr_attach a;
    struct srv_req *req;
    struct container *c;
    bool tty, want_stdin, stdin_once, attached;
};

static void end_session(struct attach_req *ar)
{
    if (ar->attached)
        rt_detach(&ar->a);
    ar->attached = false;
    ar->req->on_abort = NULL;
    ar->req->on_drain = NULL;
    srv_hijack_end(ar->req);
    ctr_unref(ar->c);
    free(ar);
}

static void on_output(void *ud, int stream, const char *data, size_t len)
{
    struct attach_req *ar = ud;
    if (ar->tty)
        srv_raw_write(ar->req, data, len);
    else
        stream_frame_write(ar->req, stream, data, len);
    if (srv_req_queued(ar->req) > ATTACH_HIGH_WATER)
        rt_attach_block(&ar->a, true);
}

static void on_drain(struct srv_req *req)
{
    struct attach_req *ar = req->data;
    if (ar->attached)
        rt_attach_block(&ar->a, false);
}

static void on_end(void *ud)
{
    struct attach_req *ar = ud;
    ar->attached = false; /* the runtime already unlinked it */
    end_session(ar);
}

static void on_raw(struct srv_req *req, const char *data, ssize_t n)
{
    struct attach_req *ar = req->data;
    if (n > 0) {
        if (ar->want_stdin)
            rt_stdin_write(ar->c, data, (size_t)n);
        return;
    }
    if (!ar->want_stdin)
        return; /* nothing to send: the CLI half-closes at once */
    if (n == UV_EOF && ar->stdin_once && !ar->tty) {
        rt_stdin_close(ar->c);
        return;
    }
    if (n == UV_EOF && ar->stdin_once)
        rt_stdin_close(ar->c);
    end_session(ar);
}

static void on_abort(struct srv_req *req)
{
    end_session(req->data);
}

void h_containers_attach(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    if (c->st.status == CTR_EXITED || c->st.status == CTR_DEAD || c->st.status == CTR_REMOVING) {
        srv_reply_error(req, 409, "You cannot attach to a stopped container, start it first");
        return;
    }
    struct attach_req *ar = calloc(1, sizeof(*ar));
    if (!ar) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    ar->req = req;
    ar->c = c;
    ctr_ref(c);
    ar->tty = json_get_bool(c->config, "Tty");
    ar->stdin_once = json_get_bool(c->config, "StdinOnce");
    ar->want_stdin = srv_req_query_bool(req, "stdin") && json_get_bool(c->config, "OpenStdin");
    ar->a = (struct ctr_attach){
        .want = {false, srv_req_query_bool(req, "stdout"), srv_req_query_bool(req, "stderr")},
        .out = on_output,
        .end = on_end,
        .ud = ar};
    req->data = ar;
    req->on_abort = on_abort;
    req->on_drain = on_drain;
    const char *ctype = ar->tty || req->api_minor < 42
                            ? "application/vnd.docker.raw-stream"
                            : "application/vnd.docker.multiplexed-stream";
    srv_hijack(req, ctype, on_raw);
    rt_attach(c, &ar->a);
    ar->attached = true;
    struct engine *e = srv_req_ctx(req);
    rt_event(&e->rt, c, "attach", NULL);
}
