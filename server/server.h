/* The HTTP server: listeners, connections, limits, graceful shutdown.
 * Knows HTTP and the route table, nothing about Docker objects. */
#ifndef BERTH_SERVER_SERVER_H
#define BERTH_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "common/berr.h"
#include "router.h"

struct srv_limits {
    size_t max_header_bytes;    /* request line + headers; beyond -> 431 */
    size_t max_body_bytes;      /* buffered (JSON) bodies; beyond -> 413 */
    unsigned header_timeout_ms; /* whole request head must arrive in this time -> 408 */
    unsigned idle_timeout_ms;   /* keep-alive idle, and body inactivity */
    unsigned max_connections;   /* beyond -> 503 and close */
    size_t stream_high_water;   /* queued output above which producers should wait */
    unsigned shutdown_grace_ms; /* streams still open after this are cut at shutdown */
};

struct srv_options {
    struct srv_limits limits;
    const struct srv_router *router;
    void *ctx;                 /* handed to handlers via srv_req_ctx() */
    const char *extra_headers; /* "Name: value\r\n" lines sent on every response */
};

struct srv_server;

struct srv_server *srv_new(uv_loop_t *loop, const struct srv_options *opt);

/* Listens on "unix:///path" (mode 0660, group gid unless (gid_t)-1) or
 * "tcp://host:port". Several listeners may be added. */
int srv_listen(struct srv_server *srv, const char *addr, gid_t gid, struct berr *err);

/* Serves an already connected socket (tests, fuzzing). Takes the fd. */
int srv_adopt_fd(struct srv_server *srv, int fd, struct berr *err);

/* Stops accepting, aborts streams and closes every connection once its
 * handler has ended; calls done when the last one is gone. */
void srv_shutdown(struct srv_server *srv, void (*done)(void *arg), void *arg);

/* Frees the server; only after shutdown completed. */
void srv_free(struct srv_server *srv);

/* Live connection count (for /info and tests). */
size_t srv_connection_count(const struct srv_server *srv);

/* Replaces limits at runtime (reload). */
void srv_set_limits(struct srv_server *srv, const struct srv_limits *limits);

#endif
