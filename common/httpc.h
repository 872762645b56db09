/* HTTP/1.1 client on the libuv loop (registry traffic): plain TCP or TLS
 * (tls.h), responses parsed by llhttp, bodies streamed to the caller with
 * backpressure, keep-alive connections pooled per origin.
 *
 * Callbacks run on the loop thread. on_done runs exactly once per request,
 * always from a later loop turn than httpc_start/httpc_cancel, and the
 * request is freed right after it returns. */
#ifndef BERTH_COMMON_HTTPC_H
#define BERTH_COMMON_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "berr.h"
#include "tls.h"

#define HTTPC_CONTINUE 0
#define HTTPC_PAUSE    1

struct httpc_pool;
struct httpc_req;

struct httpc_opts {
    const char *method;
    const char *url;            /* http(s)://host[:port]/path[?query] */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const void *body;           /* copied; may be NULL */
    size_t body_len;
    struct tls_conf *tls; /* trust for https URLs */
    unsigned timeout_ms;  /* connect and inactivity limit; 0 = 30 s */
};

struct httpc_cbs {
    /* Status and headers are available; a negative return aborts. */
    int (*on_head)(struct httpc_req *r, void *ud);
    /* Body bytes; return HTTPC_PAUSE to stop reading until httpc_resume(). */
    int (*on_data)(struct httpc_req *r, const char *data, size_t len, void *ud);
    /* result is 0 once the whole response arrived, else a negative errno
     * with a message in err (e.g. "dial tcp 127.0.0.1:1: connect: connection refused"). */
    void (*on_done)(struct httpc_req *r, int result, const struct berr *err, void *ud);
};

struct httpc_pool *httpc_pool_new(uv_loop_t *loop);
/* Cancels every request, closes every connection; frees itself once they are gone. */
void httpc_pool_close(struct httpc_pool *p);

int httpc_start(struct httpc_pool *p, const struct httpc_opts *o, const struct httpc_cbs *cb,
                void *ud, struct httpc_req **ret, struct berr *err);

int httpc_status(const struct httpc_req *r);
/* First header of that name (case-insensitive), or NULL. */
const char *httpc_header(const struct httpc_req *r, const char *name);
/* -1 when the response has no Content-Length. */
int64_t httpc_content_length(const struct httpc_req *r);
const char *httpc_url(const struct httpc_req *r);

void httpc_pause(struct httpc_req *r);
void httpc_resume(struct httpc_req *r);
/* Ends the request with -ECANCELED (on_done follows on a later turn). */
void httpc_cancel(struct httpc_req *r);

/* Splits a URL. Exposed for tests; 0 or -EINVAL. */
struct httpc_url {
    bool tls;
    char host[256]; /* without brackets for IPv6 */
    int port;
    char hostport[264]; /* as in the Host header */
    const char *path;   /* points into the URL: "/..." (or "/" when empty) */
};
int httpc_parse_url(const char *url, struct httpc_url *ret);

#endif
