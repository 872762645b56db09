/* Internal: connection and server state shared by the server's files. */
#ifndef BERTH_SERVER_CONN_H
#define BERTH_SERVER_CONN_H

#include <llhttp.h>
#include <stdbool.h>
#include <uv.h>

#include "common/buf.h"
#include "common/list.h"
#include "server.h"

enum resp_state {
    RESP_NONE,   /* nothing sent yet */
    RESP_STREAM, /* chunked stream in progress */
    RESP_HIJACK, /* raw bidirectional */
};

struct srv_conn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    struct srv_server *srv;
    struct list link;        /* srv->conns */
    struct list resume_link; /* srv->resume_queue while queued */
    llhttp_t parser;
    int refs; /* one per open uv handle, one while a request is active */

    bool is_unix;
    bool closing;       /* uv_close issued */
    bool broken;        /* a write failed: closed on the next loop turn */
    bool shutting_down; /* uv_shutdown issued (write side closing) */
    bool shutdown_done;
    bool close_after_shutdown;
    bool reading;
    bool eof;           /* client closed its write side */
    bool in_execute;    /* inside conn_execute (no re-entry) */
    bool parser_paused; /* llhttp paused; new bytes go to pending */
    bool body_paused;   /* streamed-body consumer asked to wait */
    bool keep_alive;

    /* the current request */
    bool req_active;
    bool dispatched;    /* handler owns the request */
    bool msg_complete;  /* llhttp finished the message (body included) */
    bool hijack_paused; /* raw reads stopped by the handler */
    bool eof_delivered; /* on_raw(UV_EOF) was called */
    bool header_overflow;
    bool body_overflow;
    bool expect_continue;
    enum resp_state resp;
    const struct srv_route *route;
    enum srv_route_result route_result;
    struct berr route_err;
    int fail_status; /* error found while parsing, answered before closing */
    char fail_msg[128];
    struct buf pending; /* bytes received while paused */
    struct buf url;
    struct buf hdr; /* "name\0value\0" pairs */
    struct buf body;
    struct buf scratch; /* decoded path and query strings */
    struct buf params;  /* router parameter strings */
    struct buf out_headers;
    struct srv_kv *hdr_kv;
    size_t hdr_cap;
    struct srv_kv *query_kv;
    size_t query_cap;
    struct srv_req req;
};

struct srv_server {
    uv_loop_t *loop;
    struct srv_limits limits;
    const struct srv_router *router;
    void *ctx;
    char *extra_headers;
    size_t extra_headers_len;
    struct list listeners;
    size_t nlisteners; /* open or closing: counted until their close callback */
    struct list conns;
    size_t nconns;
    struct list resume_queue;
    uv_idle_t resume_idle;
    uv_idle_t spin_idle; /* keeps epoll non-blocking shortly after I/O */
    uint64_t last_io_ns;
    bool spinning;
    bool shutting_down;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    uv_timer_t shutdown_timer;
    bool closing_handles;
    int handles_closed;
    char date[64];
    uint64_t date_sec;
};

/* conn.c */
struct srv_conn *srv_conn_new(struct srv_server *srv, bool is_unix);
void srv_conn_start(struct srv_conn *c);
void srv_conn_close(struct srv_conn *c);
void srv_conn_close_graceful(struct srv_conn *c);
void srv_conn_request_end(struct srv_conn *c);
void srv_conn_resume(struct srv_conn *c);
void srv_conn_queue_resume(struct srv_conn *c);
void srv_conn_abort_request(struct srv_conn *c);
void srv_conn_read_start(struct srv_conn *c);
void srv_conn_read_stop(struct srv_conn *c);
void srv_conn_shutdown_write(struct srv_conn *c);
/* A write failed: stop writing now, close (and abort) on the next loop turn,
 * so handlers never see on_abort from inside their own srv_* call. */
void srv_conn_break(struct srv_conn *c);

/* response.c */
int srv_conn_write(struct srv_conn *c, const void *data, size_t len);
void srv_send_simple_error(struct srv_conn *c, int status, const char *msg);
const char *srv_status_reason(int status);

/* query.c */
int srv_url_decode(const char *in, size_t len, struct buf *out, bool plus_is_space);
int srv_parse_request_target(struct srv_conn *c, size_t *ret_path_off);

/* server.c */
void srv_server_conn_gone(struct srv_server *srv, struct srv_conn *c);
void srv_check_shutdown_done(struct srv_server *srv);
void srv_server_wake_resume(struct srv_server *srv);
/* Called on every read: spin briefly instead of sleeping (see server.c). */
void srv_server_note_io(struct srv_server *srv);
const char *srv_date_header(struct srv_server *srv);

#endif
