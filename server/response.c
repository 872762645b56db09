/* Writing responses: one-shot replies, chunked streams, and the write path
 * with its backpressure notifications. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/macros.h"
#include "conn.h"

struct wreq {
    uv_write_t req;
    struct srv_conn *c;
    char data[];
};

const char *srv_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "UPGRADED";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Request Entity Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

static void notify_drain(struct srv_conn *c)
{
    size_t low = c->srv->limits.stream_high_water / 4;
    if (c->closing || !c->req_active || !c->dispatched || !c->req.on_drain)
        return;
    if (c->h.stream.write_queue_size <= low)
        c->req.on_drain(&c->req);
}

static void write_cb(uv_write_t *w, int status)
{
    struct wreq *wr = container_of(w, struct wreq, req);
    struct srv_conn *c = wr->c;
    free(wr);
    if (status < 0) {
        srv_conn_close(c); /* the client is gone */
        return;
    }
    notify_drain(c);
}

int srv_conn_write(struct srv_conn *c, const void *data, size_t len)
{
    if (c->closing || c->shutting_down || c->broken)
        return -EPIPE;
    if (len == 0)
        return 0;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    if (c->h.stream.write_queue_size == 0) {
        /* Fast path: most replies fit the socket buffer at once. */
        int n = uv_try_write(&c->h.stream, &b, 1);
        if (n == (int)len)
            return 0;
        if (n > 0) {
            data = (const char *)data + n;
            len -= (size_t)n;
        } else if (n != UV_EAGAIN) {
            srv_conn_break(c);
            return -EPIPE;
        }
    }
    struct wreq *wr = malloc(sizeof(*wr) + len);
    if (!wr)
        return -ENOMEM;
    wr->c = c;
    memcpy(wr->data, data, len);
    b = uv_buf_init(wr->data, (unsigned)len);
    int r = uv_write(&wr->req, &c->h.stream, &b, 1, write_cb);
    if (r < 0) {
        free(wr);
        srv_conn_break(c);
        return -EPIPE;
    }
    return 0;
}

const char *srv_date_header(struct srv_server *srv)
{
    time_t now = time(NULL);
    if ((uint64_t)now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof(srv->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        srv->date_sec = (uint64_t)now;
    }
    return srv->date;
}

static bool will_close(const struct srv_conn *c)
{
    return !c->keep_alive || c->eof || c->srv->shutting_down ||
           (c->req.upgrade && c->resp != RESP_HIJACK) || !c->msg_complete;
}

/* Appends n in decimal without printf (this runs for every response). */
static void append_u64(struct buf *out, uint64_t n)
{
    char digits[24];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    buf_append(out, digits + i, sizeof(digits) - i);
}

static void append_status_line(struct buf *out, int status)
{
    char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), ' '};
    buf_append(out, "HTTP/1.1 ", 9);
    buf_append(out, code, 4);
    buf_append_str(out, srv_status_reason(status));
    buf_append(out, "\r\n", 2);
}

/* Status line and headers; clen < 0 means chunked. */
static void build_head(struct srv_conn *c, struct buf *out, int status, const char *ctype,
                       long long clen)
{
    append_status_line(out, status);
    buf_append(out, c->srv->extra_headers, c->srv->extra_headers_len);
    buf_append_str(out, srv_date_header(c->srv));
    if (ctype) {
        buf_append(out, "Content-Type: ", 14);
        buf_append_str(out, ctype);
        buf_append(out, "\r\n", 2);
    }
    if (clen < 0) {
        buf_append(out, "Transfer-Encoding: chunked\r\n", 28);
    } else if (status != 204 && status != 304) {
        buf_append(out, "Content-Length: ", 16);
        append_u64(out, (uint64_t)clen);
        buf_append(out, "\r\n", 2);
    }
    if (will_close(c))
        buf_append(out, "Connection: close\r\n", 19);
    buf_append(out, c->out_headers.data, c->out_headers.len);
    buf_append(out, "\r\n", 2);
}

/* The loop is single-threaded and srv_conn_write copies what it cannot send
 * at once, so one scratch buffer serves every response without allocating. */
static struct buf *scratch_buf(void)
{
    static struct buf scratch = BUF_INIT;
    buf_reset(&scratch);
    if (scratch.cap > 1024 * 1024)
        buf_done(&scratch); /* don't keep a large body's worth of memory */
    return &scratch;
}

/* A reply is legal once, from the handler that owns the request. */
static bool owns_request(struct srv_req *req, const char *what)
{
    struct srv_conn *c = req->conn;
    if (c->req_active && c->dispatched && c->resp == RESP_NONE)
        return true;
    log_error("%s on a request that is not awaiting a reply, ignoring", what);
    return false;
}

/* An aborted request may still write: at daemon shutdown the client is
 * there and gets a properly ended stream; a vanished client's connection is
 * already closing, which drops the bytes. */
static bool can_write(const struct srv_conn *c)
{
    return !c->closing && !c->shutting_down && !c->broken;
}

void srv_reply(struct srv_req *req, int status, const char *ctype, const void *body, size_t len)
{
    struct srv_conn *c = req->conn;
    if (!owns_request(req, "reply"))
        return;
    if (can_write(c)) {
        struct buf *out = scratch_buf();
        build_head(c, out, status, len || ctype ? ctype : NULL, (long long)len);
        bool with_body = req->method != SRV_HEAD && status != 204 && status != 304;
        if (with_body)
            buf_append(out, body, len);
        srv_conn_write(c, out->data, out->len);
    }
    srv_conn_request_end(c);
}

void srv_reply_empty(struct srv_req *req, int status)
{
    srv_reply(req, status, NULL, NULL, 0);
}

void srv_reply_json(struct srv_req *req, int status, cJSON *json)
{
    char *s = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!s) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    line[n] = '\n';
    srv_reply(req, status, "application/json", line, n + 1);
    free(line);
}

static char *error_body(const char *msg, size_t *ret_len)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    memcpy(line + n, "\n", 2);
    *ret_len = n + 1;
    return line;
}

void srv_reply_error(struct srv_req *req, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status == 304) {
        srv_reply_empty(req, 304);
        return;
    }
    size_t len = 0;
    char *body = error_body(msg, &len);
    srv_reply(req, status, "application/json", body ? body : "", body ? len : 0);
    free(body);
}

void srv_reply_berr(struct srv_req *req, const struct berr *err)
{
    srv_reply_error(req, err->status ? err->status : 500, "%s", err->msg);
}

void srv_send_simple_error(struct srv_conn *c, int status, const char *msg)
{
    if (c->closing || c->shutting_down)
        return;
    size_t len = 0;
    char *body = error_body(msg, &len);
    struct buf out = BUF_INIT;
    c->keep_alive = false;
    buf_reset(&c->out_headers);
    build_head(c, &out, status, "application/json", (long long)len);
    buf_append(&out, body, len);
    srv_conn_write(c, out.data, out.len);
    buf_done(&out);
    free(body);
}

int srv_stream_begin(struct srv_req *req, int status, const char *ctype)
{
    struct srv_conn *c = req->conn;
    if (!owns_request(req, "stream"))
        return -EINVAL;
    c->resp = RESP_STREAM;
    if (!can_write(c))
        return -EPIPE;
    struct buf out = BUF_INIT;
    build_head(c, &out, status, ctype, -1);
    int r = srv_conn_write(c, out.data, out.len);
    buf_done(&out);
    return r;
}

int srv_stream_write(struct srv_req *req, const void *data, size_t len)
{
    struct srv_conn *c = req->conn;
    if (c->resp != RESP_STREAM || !can_write(c))
        return -EPIPE;
    if (len == 0)
        return 0; /* an empty chunk would end the stream */
    struct buf out = BUF_INIT;
    buf_printf(&out, "%zx\r\n", len);
    buf_append(&out, data, len);
    buf_append(&out, "\r\n", 2);
    int r = out.data ? srv_conn_write(c, out.data, out.len) : -ENOMEM;
    buf_done(&out);
    return r;
}

int srv_stream_write_json(struct srv_req *req, const cJSON *json)
{
    char *s = cJSON_PrintUnformatted(json);
    if (!s)
        return -ENOMEM;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return -ENOMEM;
    }
    memcpy(line + n, "\n", 2);
    int r = srv_stream_write(req, line, n + 1);
    free(line);
    return r;
}

void srv_stream_end(struct srv_req *req)
{
    struct srv_conn *c = req->conn;
    if (!c->req_active || c->resp != RESP_STREAM) {
        log_error("stream end without a stream, ignoring");
        return;
    }
    if (can_write(c))
        srv_conn_write(c, "0\r\n\r\n", 5);
    srv_conn_request_end(c);
}

size_t srv_req_queued(const struct srv_req *req)
{
    const struct srv_conn *c = req->conn;
    return c->closing ? 0 : c->h.stream.write_queue_size;
}

int srv_add_header(struct srv_req *req, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return -EINVAL;
    struct buf *h = &req->conn->out_headers;
    buf_append_str(h, name);
    buf_append(h, ": ", 2);
    buf_append_str(h, value);
    return buf_append(h, "\r\n", 2);
}

int srv_add_header_lines(struct srv_req *req, const char *lines, size_t len)
{
    return buf_append(&req->conn->out_headers, lines, len);
}
