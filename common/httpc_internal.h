/* Internal: state shared by httpc.c (requests, pool) and httpc_conn.c (I/O). */
#ifndef BERTH_COMMON_HTTPC_INTERNAL_H
#define BERTH_COMMON_HTTPC_INTERNAL_H

#include <llhttp.h>

#include "buf.h"
#include "httpc.h"
#include "list.h"

struct hc_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    uv_connect_t connect_req;
    struct httpc_pool *pool;
    struct list link; /* pool->idle while idle, else self-linked */
    struct list all;  /* pool->conns, from open to free */
    char key[300];    /* "https://host:port": connections are reused per key */
    struct httpc_url url;
    struct tls_session *tls;
    llhttp_t parser;
    struct httpc_req *req; /* the request being served */
    struct buf plain;      /* response bytes not yet parsed */
    int refs;              /* open handles (tcp, timer) */
    bool closing, connecting, connected, handshaking, reading, eof, msg_done;
    bool reused; /* served an earlier request: a silent close means "stale" */
};

struct httpc_req {
    struct httpc_pool *pool;
    struct hc_conn *conn;
    struct list link; /* pool->done while its on_done is queued */
    struct httpc_cbs cb;
    void *ud;
    char *url;
    struct httpc_url parsed;
    struct buf wire; /* the serialised request */
    struct tls_conf *tls;
    unsigned timeout_ms;
    bool head_method, paused, finished, retried, got_bytes;
    int status;
    int64_t content_length;
    struct buf hdr; /* "name\0value\0" pairs */
    int result;
    struct berr err;
};

struct httpc_pool {
    uv_loop_t *loop;
    struct list conns;
    struct list idle;
    struct list done;
    size_t nconns;
    uv_idle_t done_idle;
    bool closing;
};

/* httpc_conn.c */
int hc_conn_open(struct httpc_pool *p, struct httpc_req *req, struct berr *err);
void hc_conn_assign(struct hc_conn *c, struct httpc_req *req);
void hc_conn_close(struct hc_conn *c);
void hc_conn_resume(struct hc_conn *c);
void hc_conn_release(struct hc_conn *c, bool keep);
bool hc_conn_keep_alive(struct hc_conn *c);
void hc_conn_cancel(struct hc_conn *c);
struct hc_conn *hc_pool_take_idle(struct httpc_pool *p, const char *key);

/* httpc.c */
void hc_req_finish(struct httpc_req *r, int result, const struct berr *err);
void hc_req_complete(struct httpc_req *r);
void hc_pool_conn_gone(struct httpc_pool *p);
void hc_origin_key(const struct httpc_url *u, char *out, size_t outlen);

#endif
