/* Connection hijack: after the 101 (or 200) answer the socket carries raw
 * bytes both ways, as attach and exec need. Half-closes are passed through:
 * the client's arrives as on_raw(UV_EOF); ours is srv_raw_shutdown(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "conn.h"

int srv_hijack(struct srv_req *req, const char *ctype, srv_raw_read_fn on_raw)
{
    struct srv_conn *c = req->conn;
    if (!c->req_active || !c->dispatched || c->resp != RESP_NONE)
        return -EINVAL;
    c->resp = RESP_HIJACK;
    req->on_raw = on_raw;
    uv_timer_stop(&c->timer);
    if (c->closing || c->shutting_down)
        return -EPIPE;
    struct buf out = BUF_INIT;
    if (req->upgrade)
        buf_printf(&out,
                   "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\n"
                   "Upgrade: tcp\r\n",
                   ctype);
    else
        buf_printf(&out, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n", ctype);
    buf_append(&out, c->out_headers.data, c->out_headers.len);
    buf_append(&out, "\r\n", 2);
    int r = srv_conn_write(c, out.data, out.len);
    buf_done(&out);
    /* Bytes that followed the request are the start of the raw stream; hand
     * them over on the next loop turn, once the handler has set up. */
    if (c->pending.len > 0 || c->eof)
        srv_conn_queue_resume(c);
    else
        srv_conn_read_start(c);
    return r;
}

int srv_raw_write(struct srv_req *req, const void *data, size_t len)
{
    struct srv_conn *c = req->conn;
    if (c->resp != RESP_HIJACK)
        return -EPIPE;
    return srv_conn_write(c, data, len);
}

void srv_raw_read_stop(struct srv_req *req)
{
    struct srv_conn *c = req->conn;
    c->hijack_paused = true;
    srv_conn_read_stop(c);
}

void srv_raw_read_start(struct srv_req *req)
{
    struct srv_conn *c = req->conn;
    if (!c->hijack_paused)
        return;
    c->hijack_paused = false;
    srv_conn_queue_resume(c);
}

void srv_raw_shutdown(struct srv_req *req)
{
    struct srv_conn *c = req->conn;
    if (c->resp == RESP_HIJACK)
        srv_conn_shutdown_write(c);
}

void srv_hijack_end(struct srv_req *req)
{
    struct srv_conn *c = req->conn;
    if (!c->req_active || c->resp != RESP_HIJACK) {
        log_error("hijack end on a request that is not hijacked, ignoring");
        return;
    }
    srv_conn_request_end(c);
}
