/* HTTP client connections: resolve, connect, TLS handshake, send the
 * request, parse the response with llhttp, keep the connection for reuse. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc_internal.h"
#include "macros.h"

#define IDLE_KEEP_MS    30000
#define PLAIN_HIGH_MARK (256 * 1024)

static const llhttp_settings_t *response_settings(void);
static void conn_process(struct hc_conn *c);

static void conn_unref(struct hc_conn *c)
{
    if (--c->refs > 0)
        return;
    tls_session_free(c->tls);
    buf_done(&c->plain);
    struct httpc_pool *p = c->pool;
    list_del(&c->all);
    p->nconns--;
    free(c);
    hc_pool_conn_gone(p);
}

static void handle_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

void hc_conn_close(struct hc_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    list_del(&c->link);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

/* Ends the current request with an error and drops the connection. */
static void conn_fail(struct hc_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_fail(struct hc_conn *c, int code, const char *fmt, ...)
{
    struct httpc_req *r = c->req;
    c->req = NULL;
    if (r) {
        struct berr err = {.status = 500};
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
        va_end(ap);
        r->conn = NULL;
        hc_req_finish(r, -code, &err);
    }
    hc_conn_close(c);
}

static void timer_cb(uv_timer_t *t)
{
    struct hc_conn *c = t->data;
    if (!c->req) {
        hc_conn_close(c); /* idle long enough */
        return;
    }
    conn_fail(c, ETIMEDOUT, "%s \"%s\": net/http: timeout awaiting response (i/o timeout)",
              c->connected ? "read" : "dial tcp", c->url.hostport);
}

static void arm_timer(struct hc_conn *c, unsigned ms)
{
    if (!c->closing)
        uv_timer_start(&c->timer, timer_cb, ms ? ms : 30000, 0);
}

/* ---- writing ---- */

struct hc_write {
    uv_write_t req;
    char data[];
};

static void write_cb(uv_write_t *w, int status)
{
    struct hc_conn *c = w->handle->data;
    free(container_of(w, struct hc_write, req));
    if (status < 0 && status != UV_ECANCELED)
        conn_fail(c, -status, "write to %s: %s", c->url.hostport, uv_strerror(status));
}

static int raw_send(struct hc_conn *c, const char *data, size_t len)
{
    if (len == 0)
        return 0;
    struct hc_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return -ENOMEM;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
    if (r < 0)
        free(w);
    return r;
}

static int flush_tls(struct hc_conn *c)
{
    struct buf *out = tls_outgoing(c->tls);
    int r = raw_send(c, out->data, out->len);
    buf_reset(out);
    return r;
}

static void send_request(struct hc_conn *c)
{
    struct httpc_req *r = c->req;
    struct berr err = {0};
    int rc;
    if (c->tls) {
        rc = tls_write(c->tls, r->wire.data, r->wire.len, &err);
        if (rc == 0)
            rc = flush_tls(c);
    } else {
        rc = raw_send(c, r->wire.data, r->wire.len);
    }
    if (rc < 0)
        conn_fail(c, EIO, "send request to %s: %s", c->url.hostport,
                  err.msg[0] ? err.msg : strerror(-rc));
    arm_timer(c, r->timeout_ms);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char shared[64 * 1024]; /* consumed or copied before read_cb returns */
    (void)h;
    (void)suggested;
    *b = uv_buf_init(shared, sizeof(shared));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void read_start(struct hc_conn *c)
{
    if (!c->reading && !c->closing && !c->eof &&
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
        c->reading = true;
}

static void read_stop(struct hc_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void step_handshake(struct hc_conn *c)
{
    struct berr err = {0};
    int r = tls_handshake(c->tls, &err);
    if (flush_tls(c) < 0 || r < 0) {
        conn_fail(c, EPROTO, "Get \"https://%s\": %s", c->url.hostport, err.msg);
        return;
    }
    if (r == 0) {
        c->handshaking = false;
        send_request(c);
    }
}

/* Moves decrypted bytes into c->plain; false when the connection failed. */
static bool pump_tls(struct hc_conn *c)
{
    char block[16 * 1024];
    while (c->plain.len < PLAIN_HIGH_MARK) {
        struct berr err = {0};
        ssize_t n = tls_read(c->tls, block, sizeof(block), &err);
        if (n == 0)
            break;
        if (n == -EPIPE) {
            c->eof = true;
            break;
        }
        if (n < 0) {
            conn_fail(c, EPROTO, "%s", err.msg);
            return false;
        }
        buf_append(&c->plain, block, (size_t)n);
    }
    return true;
}

static void on_eof(struct hc_conn *c)
{
    struct httpc_req *r = c->req;
    c->eof = true;
    read_stop(c);
    if (!r) {
        hc_conn_close(c);
        return;
    }
    if (c->plain.len > 0 && !r->paused)
        conn_process(c);
}

static void finish_eof(struct hc_conn *c)
{
    struct httpc_req *r = c->req;
    if (llhttp_message_needs_eof(&c->parser) && llhttp_finish(&c->parser) == HPE_OK &&
        c->msg_done) {
        hc_req_complete(r);
        return;
    }
    if (!r->got_bytes && c->reused && !r->retried) {
        /* The server dropped a kept-alive connection: start afresh once. */
        c->req = NULL;
        r->conn = NULL;
        r->retried = true;
        hc_conn_close(c);
        struct berr err = {0};
        if (hc_conn_open(r->pool, r, &err) < 0)
            hc_req_finish(r, -EIO, &err);
        return;
    }
    conn_fail(c, EIO, "read from %s: unexpected EOF", c->url.hostport);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct hc_conn *c = s->data;
    if (n == 0)
        return;
    if (n < 0 && n != UV_EOF) {
        conn_fail(c, (int)-n, "read from %s: %s", c->url.hostport, uv_strerror((int)n));
        return;
    }
    if (c->req)
        arm_timer(c, c->req->timeout_ms);
    if (n == UV_EOF) {
        on_eof(c);
        if (!c->closing && c->req && !c->req->paused)
            finish_eof(c);
        return;
    }
    if (c->tls) {
        tls_feed(c->tls, b->base, (size_t)n);
        if (c->handshaking) {
            step_handshake(c);
            if (c->handshaking || c->closing)
                return;
        }
        if (!pump_tls(c))
            return;
    } else {
        buf_append(&c->plain, b->base, (size_t)n);
    }
    if (!c->req) {
        hc_conn_close(c); /* bytes nobody asked for: the stream is out of step */
        return;
    }
    c->req->got_bytes = true;
    conn_process(c);
}

/* Parses buffered response bytes while the request is not paused. */
static void conn_process(struct hc_conn *c)
{
    while (c->req && !c->closing && !c->req->paused && c->plain.len > 0) {
        const char *data = c->plain.data;
        llhttp_errno_t e = llhttp_execute(&c->parser, data, c->plain.len);
        const char *pos = e == HPE_OK ? data + c->plain.len : llhttp_get_error_pos(&c->parser);
        if (e != HPE_OK && e != HPE_PAUSED) {
            conn_fail(c, EPROTO, "malformed HTTP response from %s: %s", c->url.hostport,
                      llhttp_errno_name(e));
            return;
        }
        buf_consume(&c->plain, (size_t)(pos - data));
        if (e == HPE_PAUSED)
            llhttp_resume(&c->parser);
        if (c->msg_done) {
            hc_req_complete(c->req);
            return;
        }
        if (c->tls && c->plain.len == 0 && !pump_tls(c))
            return;
    }
    if (!c->req || c->closing)
        return;
    if (c->req->paused || c->plain.len >= PLAIN_HIGH_MARK)
        read_stop(c);
    else if (c->eof)
        finish_eof(c);
    else
        read_start(c);
}

void hc_conn_resume(struct hc_conn *c)
{
    if (c->closing || !c->req)
        return;
    if (c->tls && c->plain.len == 0 && !pump_tls(c))
        return;
    conn_process(c);
}

/* ---- llhttp callbacks ---- */

static int on_header_part(llhttp_t *p, const char *at, size_t len)
{
    struct hc_conn *c = p->data;
    if (c->req->hdr.len + len > 256 * 1024)
        return HPE_USER;
    return buf_append(&c->req->hdr, at, len) < 0 ? HPE_USER : 0;
}

static int on_header_end(llhttp_t *p)
{
    return on_header_part(p, "", 1);
}

static int on_headers_complete(llhttp_t *p)
{
    struct hc_conn *c = p->data;
    struct httpc_req *r = c->req;
    r->status = llhttp_get_status_code(p);
    r->content_length = (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
    if (r->cb.on_head && r->cb.on_head(r, r->ud) < 0)
        return HPE_USER;
    return r->head_method ? 1 : 0; /* a HEAD response has no body whatever it says */
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct hc_conn *c = p->data;
    struct httpc_req *r = c->req;
    if (len == 0 || !r->cb.on_data)
        return 0;
    int rc = r->cb.on_data(r, at, len, r->ud);
    if (rc < 0)
        return HPE_USER;
    if (rc == HTTPC_PAUSE)
        r->paused = true;
    return r->paused ? HPE_PAUSED : 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct hc_conn *c = p->data;
    c->msg_done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t *response_settings(void)
{
    static llhttp_settings_t s;
    static bool ready;
    if (!ready) {
        llhttp_settings_init(&s);
        s.on_header_field = on_header_part;
        s.on_header_value = on_header_part;
        s.on_header_field_complete = on_header_end;
        s.on_header_value_complete = on_header_end;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        ready = true;
    }
    return &s;
}

/* ---- connecting ---- */

void hc_conn_assign(struct hc_conn *c, struct httpc_req *req)
{
    list_del(&c->link);
    c->req = req;
    req->conn = c;
    c->msg_done = false;
    llhttp_init(&c->parser, HTTP_RESPONSE, response_settings());
    c->parser.data = c;
    if (c->connected) {
        c->reused = true;
        send_request(c);
        read_start(c);
    }
}

static void connect_cb(uv_connect_t *cr, int status)
{
    struct hc_conn *c = cr->data;
    c->connecting = false;
    if (c->closing)
        return;
    if (status < 0) {
        conn_fail(c, -status, "dial tcp %s: connect: %s", c->url.hostport, uv_strerror(status));
        return;
    }
    c->connected = true;
    uv_tcp_nodelay(&c->tcp, 1);
    read_start(c);
    if (!c->url.tls) {
        send_request(c);
        return;
    }
    struct berr err = {0};
    if (tls_session_new(c->req->tls, c->url.host, &c->tls, &err) < 0) {
        conn_fail(c, EPROTO, "%s", err.msg);
        return;
    }
    c->handshaking = true;
    step_handshake(c);
}

static void resolved_cb(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
    struct hc_conn *c = g->data;
    if (status < 0 || c->closing || !c->req) {
        if (!c->closing)
            conn_fail(c, EHOSTUNREACH, "dial tcp: lookup %s: %s", c->url.host,
                      uv_strerror(status < 0 ? status : UV_ECANCELED));
        uv_freeaddrinfo(ai);
        conn_unref(c); /* the resolver's reference */
        return;
    }
    c->connect_req.data = c;
    c->connecting = true;
    int r = uv_tcp_connect(&c->connect_req, &c->tcp, ai->ai_addr, connect_cb);
    uv_freeaddrinfo(ai);
    if (r < 0) {
        c->connecting = false;
        conn_fail(c, -r, "dial tcp %s: %s", c->url.hostport, uv_strerror(r));
    }
    conn_unref(c);
}

int hc_conn_open(struct httpc_pool *p, struct httpc_req *req, struct berr *err)
{
    struct hc_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return berr_set(err, 500, ENOMEM, "out of memory");
    c->pool = p;
    c->url = req->parsed;
    hc_origin_key(&c->url, c->key, sizeof(c->key));
    list_init(&c->link);
    list_add_tail(&p->conns, &c->all);
    uv_tcp_init(p->loop, &c->tcp);
    uv_timer_init(p->loop, &c->timer);
    c->tcp.data = c->timer.data = c->gai.data = c;
    c->refs = 3; /* tcp, timer, the pending resolution */
    p->nconns++;
    hc_conn_assign(c, req);
    if (c->url.tls && !req->tls) {
        conn_fail(c, EINVAL, "no TLS configuration for https://%s", c->url.hostport);
        conn_unref(c);
        return 0;
    }
    char port[8];
    snprintf(port, sizeof(port), "%d", c->url.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int r = uv_getaddrinfo(p->loop, &c->gai, resolved_cb, c->url.host, port, &hints);
    if (r < 0) {
        conn_fail(c, EHOSTUNREACH, "dial tcp: lookup %s: %s", c->url.host, uv_strerror(r));
        conn_unref(c);
        return 0;
    }
    arm_timer(c, req->timeout_ms);
    return 0;
}

/* An idle connection to the same origin, if one is kept. */
struct hc_conn *hc_pool_take_idle(struct httpc_pool *p, const char *key)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &p->idle)
    {
        struct hc_conn *c = container_of(pos, struct hc_conn, link);
        if (strcmp(c->key, key) == 0 && !c->eof) {
            list_del(&c->link);
            uv_timer_stop(&c->timer);
            return c;
        }
    }
    return NULL;
}

/* The request finished cleanly: keep the connection if HTTP allows it. */
void hc_conn_release(struct hc_conn *c, bool keep)
{
    c->req = NULL;
    if (!keep || c->eof || c->plain.len > 0 || c->pool->closing) {
        hc_conn_close(c);
        return;
    }
    read_start(c); /* so a server-side close is noticed while idle */
    list_add_tail(&c->pool->idle, &c->link);
    arm_timer(c, IDLE_KEEP_MS);
}

bool hc_conn_keep_alive(struct hc_conn *c)
{
    return llhttp_should_keep_alive(&c->parser);
}

void hc_conn_cancel(struct hc_conn *c)
{
    if (c->req)
        conn_fail(c, ECANCELED, "request to %s cancelled: shutting down", c->url.hostport);
    else
        hc_conn_close(c);
}
