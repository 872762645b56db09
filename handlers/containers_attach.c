/* POST /containers/{name}/attach?stream=&stdin=&stdout=&stderr=&detachKeys=:
 * the connection is hijacked (101 UPGRADED); output goes out framed with
 * Docker's 8-byte stream header unless the container has a TTY; stdin bytes
 * go to the container. On the client's half-close: a non-TTY container with
 * StdinOnce gets its stdin closed and output keeps flowing; otherwise the
 * session ends (API-NOTES §4.4). The server closes when the process exits.
 *
 * With a TTY, stdin passes through the detach keys (detachKeys, default
 * ctrl-p,ctrl-q), as moby's copyEscapable: the whole sequence ends the
 * session while the container keeps running. The docker CLI matches the
 * keys itself and just closes; the daemon does it for every other client.
 * A session the client ends while the container runs (keys, close) is
 * published as "detach", as moby does.
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
#include "detach_keys.h"
#include "stream_frame.h"

#define ATTACH_HIGH_WATER (1024 * 1024)
#define KEYS_CHUNK        4096

struct attach_req {
    struct ctr_attach a;
    struct srv_req *req;
    struct container *c;
    struct engine *e;
    struct detach_keys keys;
    bool tty, want_stdin, stdin_once, attached;
    bool stdin_held; /* the client is not read while the process lags behind */
};

/* by_client: the client ended it (detach keys, close) rather than the
 * container's exit. */
static void end_session(struct attach_req *ar, bool by_client)
{
    if (by_client && ar->c->rt && ctr_is_running(ar->c))
        rt_event(&ar->e->rt, ar->c, "detach", NULL);
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
    end_session(ar, false);
}

/* Input for the process; past the runtime's high-water mark the client is
 * not read until stdin_drained, so a client that sends faster than the
 * process reads can't grow the daemon. */
static void send_stdin(struct attach_req *ar, const char *data, size_t n)
{
    if (rt_stdin_write(ar->c, data, n) > RT_STDIN_HIGH_WATER && !ar->stdin_held) {
        ar->stdin_held = true;
        srv_raw_read_stop(ar->req);
    }
}

static void stdin_drained(void *ud)
{
    struct attach_req *ar = ud;
    if (!ar->stdin_held)
        return;
    ar->stdin_held = false;
    srv_raw_read_start(ar->req);
}

/* A TTY's input through the detach key filter; true once detached (the
 * bytes before the sequence are passed on, the rest dropped). */
static bool tty_input(struct attach_req *ar, const char *data, size_t n)
{
    char out[KEYS_CHUNK + DETACH_KEYS_MAX];
    bool detached = false;
    for (size_t off = 0; off < n && !detached;) {
        size_t len = n - off < KEYS_CHUNK ? n - off : KEYS_CHUNK;
        size_t o = detach_keys_filter(&ar->keys, data + off, len, out, &detached);
        if (o)
            send_stdin(ar, out, o);
        off += len;
    }
    return detached;
}

/* TTY stdin: the detach keys end the session, as does the end of input (a
 * sequence cut short by it is passed on, as moby's escape proxy does). */
static void tty_raw(struct attach_req *ar, const char *data, ssize_t n)
{
    if (n > 0 && !tty_input(ar, data, (size_t)n))
        return;
    char held[DETACH_KEYS_MAX];
    size_t h = n > 0 ? 0 : detach_keys_flush(&ar->keys, held);
    if (h)
        send_stdin(ar, held, h);
    end_session(ar, true);
}

static void on_raw(struct srv_req *req, const char *data, ssize_t n)
{
    struct attach_req *ar = req->data;
    if (!ar->want_stdin)
        return; /* nothing to send: the CLI half-closes at once */
    if (ar->tty)
        tty_raw(ar, data, n);
    else if (n > 0)
        send_stdin(ar, data, (size_t)n);
    else if (n == UV_EOF && ar->stdin_once)
        rt_stdin_close(ar->c); /* run -i: output keeps flowing */
    else
        end_session(ar, false);
}

static void on_abort(struct srv_req *req)
{
    end_session(req->data, true);
}

/* moby's checks, in its order: keys, then the container's state. */
static struct container *attach_target(struct srv_req *req, struct detach_keys *keys)
{
    struct berr err = {0};
    if (detach_keys_parse(srv_req_query(req, "detachKeys"), keys, &err) < 0) {
        srv_reply_berr(req, &err);
        return NULL;
    }
    struct container *c = ctr_from_req(req);
    if (!c)
        return NULL;
    const char *name = req->params[0];
    /* an exited container is attached to before its next start (docker
     * start -ai); the CLI itself refuses `docker attach` to one */
    if (c->st.status == CTR_DEAD || c->st.status == CTR_REMOVING)
        srv_reply_error(req, 409, "You cannot attach to a stopped container, start it first");
    else if (c->st.status == CTR_PAUSED)
        srv_reply_error(req, 409, "container %s is paused, unpause the container before attach",
                        name);
    else if (c->st.status == CTR_RESTARTING)
        srv_reply_error(req, 409, "container %s is restarting, wait until the container is running",
                        name);
    else
        return c;
    return NULL;
}

void h_containers_attach(struct srv_req *req)
{
    struct detach_keys keys;
    struct container *c = attach_target(req, &keys);
    if (!c)
        return;
    struct attach_req *ar = calloc(1, sizeof(*ar));
    if (!ar) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    ar->req = req;
    ar->c = c;
    ar->e = srv_req_ctx(req);
    ar->keys = keys;
    ctr_ref(c);
    ar->tty = json_get_bool(c->config, "Tty");
    ar->stdin_once = json_get_bool(c->config, "StdinOnce");
    ar->want_stdin = srv_req_query_bool(req, "stdin") && json_get_bool(c->config, "OpenStdin");
    ar->a = (struct ctr_attach){
        .want = {false, srv_req_query_bool(req, "stdout"), srv_req_query_bool(req, "stderr")},
        .out = on_output,
        .end = on_end,
        .stdin_drained = stdin_drained,
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
    rt_event(&ar->e->rt, c, "attach", NULL);
}
