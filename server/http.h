/* The HTTP API that handlers program against.
 *
 * A request lives from its first byte until the handler ends it with exactly
 * one of: srv_reply*(), srv_stream_end(), or srv_hijack_end(). After that call
 * the request memory is reused for the next request on the connection, so the
 * handler must not touch req again. If the client disappears (or the daemon
 * shuts down) while a handler still owns the request, req->aborted is set and
 * on_abort runs; the handler must still end the request. Its writes still
 * reach a client that is there (daemon shutdown) and are dropped for one
 * that is gone. Everything here runs on the loop thread only. */
#ifndef BERTH_SERVER_HTTP_H
#define BERTH_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "common/berr.h"

struct srv_req;
struct srv_conn;
struct srv_server;

enum srv_method { SRV_GET, SRV_HEAD, SRV_POST, SRV_PUT, SRV_DELETE, SRV_OTHER };

struct srv_kv {
    const char *key;
    const char *value;
};

#define SRV_MAX_PARAMS 4

/* Return values of a body consumer. */
#define SRV_BODY_CONTINUE 0
#define SRV_BODY_PAUSE    1

typedef void (*srv_handler_fn)(struct srv_req *req);
/* Streamed request body: data chunks, then (NULL, 0) at the end of the body.
 * Return SRV_BODY_PAUSE to stop reading until srv_req_resume_body(). */
typedef int (*srv_body_fn)(struct srv_req *req, const char *data, size_t len);
typedef void (*srv_event_fn)(struct srv_req *req);
/* Raw bytes on a hijacked connection; n < 0 is UV_EOF (client half-close) or an error. */
typedef void (*srv_raw_read_fn)(struct srv_req *req, const char *data, ssize_t n);

struct srv_req {
    struct srv_conn *conn;
    struct srv_server *server;
    enum srv_method method;
    const char *path;       /* decoded, without the /vX.Y prefix or query */
    const char *raw_target; /* the request target as sent */
    int api_major, api_minor;
    bool api_versioned; /* the path carried /vX.Y */
    const struct srv_kv *query;
    size_t nquery;
    const struct srv_kv *headers;
    size_t nheaders;
    const char *params[SRV_MAX_PARAMS]; /* path parameters matched by the router */
    size_t nparams;
    const char *body; /* buffered body (NUL-terminated), for non-streaming routes */
    size_t body_len;
    bool upgrade; /* Connection: Upgrade + Upgrade: tcp */
    bool aborted; /* client gone or daemon shutting down */

    /* handler-owned */
    void *data;
    srv_event_fn on_abort;  /* the client went away / shutdown; end the request */
    srv_event_fn on_drain;  /* output queue fell below the low watermark */
    srv_body_fn on_body;    /* set by streaming-body handlers */
    srv_raw_read_fn on_raw; /* set by srv_hijack */
};

/* Request accessors. Names are matched case-insensitively for headers. */
const char *srv_req_header(const struct srv_req *req, const char *name);
const char *srv_req_query(const struct srv_req *req, const char *key);
/* moby's BoolValue: false iff absent or one of "", 0, no, false, none. */
bool srv_req_query_bool(const struct srv_req *req, const char *key);
/* Parses an integer query value; absent -> def. 0, or -EINVAL with a 400 in err. */
int srv_req_query_int(const struct srv_req *req, const char *key, int64_t def, int64_t *ret,
                      struct berr *err);
/* The handler context registered with the server (the engine). */
void *srv_req_ctx(const struct srv_req *req);
/* Peer is a unix socket client (vs tcp). */
bool srv_req_is_unix(const struct srv_req *req);

/* Adds a response header line before the reply starts. */
int srv_add_header(struct srv_req *req, const char *name, const char *value);
/* Adds ready-made, trusted "Name: value\r\n" lines (constant headers). */
int srv_add_header_lines(struct srv_req *req, const char *lines, size_t len);

/* One-shot replies; each ends the request. */
void srv_reply(struct srv_req *req, int status, const char *ctype, const void *body, size_t len);
void srv_reply_empty(struct srv_req *req, int status);
/* Serialises and frees json; Docker-style trailing newline. */
void srv_reply_json(struct srv_req *req, int status, cJSON *json);
/* {"message": "..."} with the given status (304 sends no body). */
void srv_reply_error(struct srv_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void srv_reply_berr(struct srv_req *req, const struct berr *err);

/* Streaming (chunked) response. Headers are flushed at once. */
int srv_stream_begin(struct srv_req *req, int status, const char *ctype);
/* Queues one chunk; returns 0, or a negative errno once the client is gone. */
int srv_stream_write(struct srv_req *req, const void *data, size_t len);
int srv_stream_write_json(struct srv_req *req, const cJSON *json); /* one line + "\n" */
void srv_stream_end(struct srv_req *req);
/* Bytes queued to the client and not yet written. */
size_t srv_req_queued(const struct srv_req *req);

/* Resume reading a streamed body after SRV_BODY_PAUSE. */
void srv_req_resume_body(struct srv_req *req);

/* Hijack: answers 101 UPGRADED (or 200 OK when no upgrade was asked) with the
 * given content type; from then on bytes flow raw both ways. */
int srv_hijack(struct srv_req *req, const char *ctype, srv_raw_read_fn on_raw);
int srv_raw_write(struct srv_req *req, const void *data, size_t len);
void srv_raw_read_stop(struct srv_req *req);
void srv_raw_read_start(struct srv_req *req);
/* Half-close: flushes queued output then shuts down our write side. */
void srv_raw_shutdown(struct srv_req *req);
/* Ends a hijacked request: flushes queued output, then closes the connection. */
void srv_hijack_end(struct srv_req *req);

#endif
