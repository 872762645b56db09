/* Connection lifecycle and request parsing.
 *
 * One request at a time per connection. llhttp is paused after each complete
 * message (and when a streamed-body consumer asks to wait); bytes that arrive
 * meanwhile are kept in c->pending and parsed when the request ends. Memory
 * is freed only when the last reference is gone: one reference per open uv
 * handle (stream, timer) and one while a request is active. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/macros.h"
#include "conn.h"

#define MAX_HEADERS      256
#define PENDING_READ_MAX (64 * 1024) /* bytes buffered while a handler runs */
#define LARGE_BUF_RELEASE                                                                          \
    (64 * 1024) /* per-request buffers above this are freed between requests */

static const llhttp_settings_t *parser_settings(void);

static void conn_unref(struct srv_conn *c)
{
    if (--c->refs > 0)
        return;
    srv_server_conn_gone(c->srv, c);
    buf_done(&c->pending);
    buf_done(&c->url);
    buf_done(&c->hdr);
    buf_done(&c->body);
    buf_done(&c->scratch);
    buf_done(&c->params);
    buf_done(&c->out_headers);
    free(c->hdr_kv);
    free(c->query_kv);
    free(c);
}

static void handle_close_cb(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void timer_cb(uv_timer_t *t);

struct srv_conn *srv_conn_new(struct srv_server *srv, bool is_unix)
{
    struct srv_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->srv = srv;
    c->is_unix = is_unix;
    list_init(&c->resume_link);
    llhttp_init(&c->parser, HTTP_REQUEST, parser_settings());
    c->parser.data = c;
    uv_timer_init(srv->loop, &c->timer);
    c->timer.data = c;
    if (is_unix)
        uv_pipe_init(srv->loop, &c->h.pipe, 0);
    else
        uv_tcp_init(srv->loop, &c->h.tcp);
    c->h.handle.data = c;
    c->refs = 2;
    list_add_tail(&srv->conns, &c->link);
    srv->nconns++;
    return c;
}

static void arm_timer(struct srv_conn *c, unsigned ms)
{
    if (!c->closing && ms > 0)
        uv_timer_start(&c->timer, timer_cb, ms, 0);
}

void srv_conn_start(struct srv_conn *c)
{
    arm_timer(c, c->srv->limits.idle_timeout_ms);
    srv_conn_read_start(c);
}

/* Ends a request that no handler owns (parse error, timeout, close). */
static void drop_undispatched(struct srv_conn *c)
{
    if (!c->req_active || c->dispatched)
        return;
    c->req_active = false;
    c->refs--; /* never the last: handles still hold references here */
}

void srv_conn_abort_request(struct srv_conn *c)
{
    if (!c->req_active)
        return;
    if (!c->dispatched) {
        drop_undispatched(c);
        return;
    }
    if (c->req.aborted)
        return;
    c->req.aborted = true;
    if (c->req.on_abort)
        c->req.on_abort(&c->req);
}

void srv_conn_close(struct srv_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    list_del(&c->resume_link);
    srv_conn_abort_request(c);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, handle_close_cb);
    if (!uv_is_closing(&c->h.handle))
        uv_close(&c->h.handle, handle_close_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct srv_conn *c = req->data;
    c->shutdown_done = true;
    if (c->close_after_shutdown || status < 0)
        srv_conn_close(c);
}

/* Stops our write side once queued output is flushed. */
void srv_conn_shutdown_write(struct srv_conn *c)
{
    if (c->closing || c->shutting_down)
        return;
    c->shutting_down = true;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, &c->h.stream, shutdown_cb) < 0) {
        c->shutdown_done = true;
        srv_conn_close(c);
    }
}

void srv_conn_close_graceful(struct srv_conn *c)
{
    if (c->closing)
        return;
    if (c->broken) { /* nothing more can be written: close at once */
        srv_conn_close(c);
        return;
    }
    c->close_after_shutdown = true;
    if (c->shutting_down) {
        if (c->shutdown_done)
            srv_conn_close(c);
        return;
    }
    srv_conn_read_stop(c);
    /* A client that never reads could hold the flush forever. */
    arm_timer(c, c->srv->limits.idle_timeout_ms ? c->srv->limits.idle_timeout_ms : 5000);
    srv_conn_shutdown_write(c);
}

static void reset_request(struct srv_conn *c)
{
    struct buf *bufs[] = {&c->url, &c->hdr, &c->body, &c->scratch, &c->params, &c->out_headers};
    for (size_t i = 0; i < ARRAY_SIZE(bufs); i++) {
        if (bufs[i]->cap > LARGE_BUF_RELEASE)
            buf_done(bufs[i]);
        else
            buf_reset(bufs[i]);
    }
    memset(&c->req, 0, sizeof(c->req));
    c->req.conn = c;
    c->req.server = c->srv;
    c->dispatched = false;
    c->header_overflow = c->body_overflow = false;
    c->expect_continue = false;
    c->msg_complete = false;
    c->body_paused = false;
    c->hijack_paused = false;
    c->eof_delivered = false;
    c->resp = RESP_NONE;
    c->route = NULL;
    c->route_result = SRV_ROUTE_NOT_FOUND;
    c->fail_status = 0;
}

void srv_conn_request_end(struct srv_conn *c)
{
    bool upgrade_unused = c->req.upgrade && c->resp != RESP_HIJACK;
    bool must_close = !c->keep_alive || c->eof || c->broken || c->req.aborted ||
                      c->srv->shutting_down || upgrade_unused || c->resp == RESP_HIJACK ||
                      !c->msg_complete;
    c->req_active = false;
    c->dispatched = false;
    c->resp = RESP_NONE;
    if (must_close)
        srv_conn_close_graceful(c);
    else if (!c->in_execute && c->pending.len == 0)
        srv_conn_resume(c);
    else if (!c->in_execute)
        srv_conn_queue_resume(c);
    conn_unref(c);
}

void srv_conn_read_stop(struct srv_conn *c)
{
    if (!c->reading)
        return;
    c->reading = false;
    uv_read_stop(&c->h.stream);
}

static void hijack_deliver(struct srv_conn *c, const char *data, size_t len)
{
    if (len == 0)
        return;
    if (c->hijack_paused || !c->req.on_raw || c->pending.len > 0) {
        buf_append(&c->pending, data, len);
        if (c->pending.len > PENDING_READ_MAX)
            srv_conn_read_stop(c);
        return;
    }
    c->req.on_raw(&c->req, data, (ssize_t)len);
}

/* Delivers buffered raw bytes, then the client's half-close, unless the
 * handler paused reading. */
static void hijack_flush(struct srv_conn *c)
{
    if (c->hijack_paused || !c->req.on_raw || c->closing)
        return;
    if (c->pending.len > 0) {
        struct buf data = c->pending;
        c->pending = (struct buf)BUF_INIT;
        c->req.on_raw(&c->req, data.data, (ssize_t)data.len);
        buf_done(&data);
    }
    if (c->eof && !c->eof_delivered && c->pending.len == 0 && !c->closing && c->req_active &&
        c->resp == RESP_HIJACK) {
        c->eof_delivered = true;
        c->req.on_raw(&c->req, NULL, UV_EOF);
    }
}

static void on_eof(struct srv_conn *c)
{
    c->eof = true;
    srv_conn_read_stop(c);
    if (c->resp == RESP_HIJACK) {
        hijack_flush(c);
        return;
    }
    if (c->req_active && c->body_paused)
        return; /* the rest of the body is in pending; finish it first */
    if (c->req_active && c->dispatched && c->msg_complete) {
        srv_conn_abort_request(c); /* the client gave up waiting */
        return;
    }
    srv_conn_close(c);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    /* One buffer serves every connection: read_cb consumes or copies the
     * bytes before returning, and the loop is single-threaded. */
    static char shared[64 * 1024];
    (void)h;
    (void)suggested;
    b->base = shared;
    b->len = sizeof(shared);
}

void srv_conn_read_start(struct srv_conn *c)
{
    if (c->reading || c->closing || c->eof)
        return;
    if (c->shutting_down && c->resp != RESP_HIJACK)
        return;
    if (uv_read_start(&c->h.stream, alloc_cb, read_cb) == 0)
        c->reading = true;
}

static void conn_execute(struct srv_conn *c, const char *data, size_t len);

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct srv_conn *c = s->data;
    if (n == 0)
        return;
    srv_server_note_io(c->srv);
    if (n < 0) {
        if (n == UV_EOF)
            on_eof(c);
        else
            srv_conn_close(c);
        return;
    }
    if (c->resp == RESP_HIJACK) {
        hijack_deliver(c, b->base, (size_t)n);
        return;
    }
    if (c->parser_paused) {
        buf_append(&c->pending, b->base, (size_t)n);
        if (c->body_paused || c->pending.len > PENDING_READ_MAX)
            srv_conn_read_stop(c);
        return;
    }
    conn_execute(c, b->base, (size_t)n);
}

/* Resumes parsing (or raw delivery) after a pause: request ended, body
 * consumer caught up, or a hijack started with bytes already buffered. */
void srv_conn_resume(struct srv_conn *c)
{
    list_del(&c->resume_link);
    if (c->closing)
        return;
    if (c->broken) {
        srv_conn_close(c);
        return;
    }
    if (c->resp == RESP_HIJACK) {
        hijack_flush(c);
        if (!c->hijack_paused && !c->closing)
            srv_conn_read_start(c);
        return;
    }
    if (c->shutting_down || c->body_paused)
        return;
    if (c->parser_paused) {
        if (c->req_active && c->msg_complete)
            return; /* a handler still owns a complete request */
        llhttp_resume(&c->parser);
        c->parser_paused = false;
        struct buf data = c->pending;
        c->pending = (struct buf)BUF_INIT;
        conn_execute(c, data.data ? data.data : "", data.len);
        buf_done(&data);
        return;
    }
    srv_conn_read_start(c);
}

void srv_conn_break(struct srv_conn *c)
{
    if (c->broken || c->closing)
        return;
    c->broken = true;
    srv_conn_read_stop(c);
    srv_conn_queue_resume(c);
}

void srv_conn_queue_resume(struct srv_conn *c)
{
    if (c->closing || !list_empty(&c->resume_link))
        return;
    list_add_tail(&c->srv->resume_queue, &c->resume_link);
    srv_server_wake_resume(c->srv);
}

static void parse_error(struct srv_conn *c, llhttp_errno_t e)
{
    if (c->req_active && c->dispatched) {
        /* The handler owns the request; it is told and ends it. */
        c->keep_alive = false;
        srv_conn_abort_request(c);
        srv_conn_close(c);
        return;
    }
    int status = c->fail_status ? c->fail_status : 400;
    const char *msg = c->fail_status ? c->fail_msg : llhttp_errno_name(e);
    drop_undispatched(c);
    char text[160];
    if (!c->fail_status)
        snprintf(text, sizeof(text), "malformed HTTP request: %s", msg);
    srv_send_simple_error(c, status, c->fail_status ? msg : text);
    srv_conn_close_graceful(c);
}

/* Handles a pause returned by llhttp. Returns true to keep parsing. */
static bool after_pause(struct srv_conn *c, llhttp_errno_t e, const char **data, size_t *len)
{
    const char *pos = llhttp_get_error_pos(&c->parser);
    size_t used = pos ? (size_t)(pos - *data) : *len;
    *data += used;
    *len -= used;
    c->parser_paused = true;
    if (c->resp == RESP_HIJACK) {
        buf_append(&c->pending, *data, *len); /* raw stream bytes */
        if (c->pending.len)
            srv_conn_queue_resume(c);
        return false;
    }
    if (c->req_active) {
        buf_append(&c->pending, *data, *len);
        if (c->body_paused)
            srv_conn_read_stop(c);
        return false;
    }
    if (e == HPE_PAUSED_UPGRADE)
        return false; /* upgrade answered without hijack: the connection closes */
    llhttp_resume(&c->parser);
    c->parser_paused = false;
    return *len > 0;
}

static void conn_execute(struct srv_conn *c, const char *data, size_t len)
{
    c->in_execute = true;
    while (!c->closing && !c->shutting_down) {
        llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
        if (e == HPE_OK)
            break;
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
            if (after_pause(c, e, &data, &len))
                continue;
            break;
        }
        parse_error(c, e);
        break;
    }
    c->in_execute = false;
    if (c->closing || c->shutting_down || c->parser_paused)
        return;
    if (!c->req_active)
        arm_timer(c, c->srv->limits.idle_timeout_ms);
    srv_conn_read_start(c);
}

static void timer_cb(uv_timer_t *t)
{
    struct srv_conn *c = t->data;
    if (c->shutting_down || c->resp == RESP_HIJACK) {
        srv_conn_close(c);
        return;
    }
    if (c->req_active && !c->dispatched) {
        drop_undispatched(c);
        srv_send_simple_error(c, 408, "timed out reading the request");
        srv_conn_close_graceful(c);
        return;
    }
    if (c->req_active) {
        /* A streamed body stalled. */
        c->keep_alive = false;
        srv_conn_abort_request(c);
        srv_conn_close(c);
        return;
    }
    srv_conn_close(c); /* idle keep-alive connection */
}

/* ---- llhttp callbacks ---- */

static struct srv_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static int fail(struct srv_conn *c, int status, const char *msg)
{
    c->fail_status = status;
    snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", msg);
    return HPE_USER;
}

static int count_header_bytes(struct srv_conn *c, size_t len)
{
    if (c->url.len + c->hdr.len + len > c->srv->limits.max_header_bytes) {
        c->header_overflow = true;
        return fail(c, 431, "request header fields too large");
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct srv_conn *c = conn_of(p);
    reset_request(c);
    c->req_active = true;
    c->refs++;
    arm_timer(c, c->srv->limits.header_timeout_ms);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct srv_conn *c = conn_of(p);
    if (count_header_bytes(c, len))
        return HPE_USER;
    return buf_append(&c->url, at, len) < 0 ? HPE_USER : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct srv_conn *c = conn_of(p);
    if (count_header_bytes(c, len + 1))
        return HPE_USER;
    return buf_append(&c->hdr, at, len) < 0 ? HPE_USER : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    return on_header_field(p, at, len);
}

/* Each name and each value ends with a NUL, an empty value included, so the
 * header block is a flat list of NUL-terminated strings, two per header. */
static int on_header_part_complete(llhttp_t *p)
{
    struct srv_conn *c = conn_of(p);
    if (count_header_bytes(c, 1))
        return HPE_USER;
    return buf_append(&c->hdr, "", 1) < 0 ? HPE_USER : 0;
}

static int index_headers(struct srv_conn *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->hdr.len; i++)
        n += c->hdr.data[i] == '\0';
    n /= 2;
    if (n > MAX_HEADERS)
        return fail(c, 431, "too many request header fields");
    if (n > c->hdr_cap) {
        struct srv_kv *kv = realloc(c->hdr_kv, n * sizeof(*kv));
        if (!kv)
            return fail(c, 500, "out of memory");
        c->hdr_kv = kv;
        c->hdr_cap = n;
    }
    const char *s = c->hdr.data;
    for (size_t i = 0; i < n; i++) {
        c->hdr_kv[i].key = s;
        s += strlen(s) + 1;
        c->hdr_kv[i].value = s;
        s += strlen(s) + 1;
    }
    c->req.headers = c->hdr_kv;
    c->req.nheaders = n;
    return 0;
}

static enum srv_method method_of(uint8_t m)
{
    switch (m) {
    case HTTP_GET:
        return SRV_GET;
    case HTTP_HEAD:
        return SRV_HEAD;
    case HTTP_POST:
        return SRV_POST;
    case HTTP_PUT:
        return SRV_PUT;
    case HTTP_DELETE:
        return SRV_DELETE;
    default:
        return SRV_OTHER;
    }
}

static int route_request(struct srv_conn *c)
{
    size_t path_off;
    if (srv_parse_request_target(c, &path_off) < 0)
        return fail(c, 400, "malformed request target");
    buf_reset(&c->params);
    if (buf_reserve(&c->params, c->scratch.len + SRV_MAX_PARAMS + 1) < 0)
        return fail(c, 500, "out of memory");
    c->req.raw_target = c->url.data;
    c->route_result = srv_router_match(c->srv->router, &c->req, c->scratch.data + path_off,
                                       c->params.data, c->params.cap, &c->route, &c->route_err);
    return 0;
}

static bool body_expected(llhttp_t *p)
{
    return (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
}

static int on_headers_complete(llhttp_t *p)
{
    struct srv_conn *c = conn_of(p);
    c->req.method = method_of(llhttp_get_method(p));
    c->req.upgrade = llhttp_get_upgrade(p);
    if (index_headers(c) || route_request(c))
        return HPE_USER;
    c->keep_alive = llhttp_should_keep_alive(p);
    bool routed = c->route_result == SRV_ROUTE_FOUND;
    bool streamed = routed && (c->route->flags & SRV_ROUTE_STREAM_BODY);
    if (routed && !streamed && (p->flags & F_CONTENT_LENGTH) &&
        p->content_length > c->srv->limits.max_body_bytes)
        return fail(c, 413, "request body too large");
    if (!body_expected(p)) {
        uv_timer_stop(&c->timer);
    } else {
        arm_timer(c, c->srv->limits.idle_timeout_ms);
        const char *expect = srv_req_header(&c->req, "Expect");
        if (routed && expect && strcasecmp(expect, "100-continue") == 0)
            srv_conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    if (streamed) {
        c->dispatched = true;
        c->route->handler(&c->req);
    }
    return 0;
}

static bool is_streamed(const struct srv_conn *c)
{
    return c->route_result == SRV_ROUTE_FOUND && (c->route->flags & SRV_ROUTE_STREAM_BODY);
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct srv_conn *c = conn_of(p);
    /* llhttp re-reports an open body span with zero bytes when execution
     * resumes on an empty buffer; pausing on that would stall forever. */
    if (len == 0)
        return 0;
    arm_timer(c, c->srv->limits.idle_timeout_ms);
    if (c->route_result != SRV_ROUTE_FOUND)
        return 0; /* answered with an error once complete; body discarded */
    if (!is_streamed(c)) {
        if (c->body.len + len > c->srv->limits.max_body_bytes)
            return fail(c, 413, "request body too large");
        return buf_append(&c->body, at, len) < 0 ? fail(c, 500, "out of memory") : 0;
    }
    if (!c->req_active || c->req.aborted || !c->req.on_body)
        return 0; /* the handler already answered: discard */
    if (c->req.on_body(&c->req, at, len) == SRV_BODY_PAUSE) {
        c->body_paused = true;
        return HPE_PAUSED;
    }
    return 0;
}

static void dispatch(struct srv_conn *c)
{
    c->dispatched = true;
    c->req.body = c->body.data ? c->body.data : "";
    c->req.body_len = c->body.len;
    switch (c->route_result) {
    case SRV_ROUTE_FOUND:
        c->route->handler(&c->req);
        break;
    case SRV_ROUTE_BAD_VERSION:
        srv_reply_berr(&c->req, &c->route_err);
        break;
    case SRV_ROUTE_NOT_FOUND:
        srv_reply_error(&c->req, 404, "page not found");
        break;
    }
}

static int on_message_complete(llhttp_t *p)
{
    struct srv_conn *c = conn_of(p);
    uv_timer_stop(&c->timer);
    c->msg_complete = true;
    if (!is_streamed(c))
        dispatch(c);
    else if (c->req_active && !c->req.aborted && c->req.on_body)
        c->req.on_body(&c->req, NULL, 0);
    return HPE_PAUSED; /* one request at a time */
}

static const llhttp_settings_t *parser_settings(void)
{
    static llhttp_settings_t s;
    static bool ready;
    if (!ready) {
        llhttp_settings_init(&s);
        s.on_message_begin = on_message_begin;
        s.on_url = on_url;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        s.on_header_field_complete = on_header_part_complete;
        s.on_header_value_complete = on_header_part_complete;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        ready = true;
    }
    return &s;
}

void srv_req_resume_body(struct srv_req *req)
{
    struct srv_conn *c = req->conn;
    if (!c->body_paused)
        return;
    c->body_paused = false;
    srv_conn_queue_resume(c);
}
