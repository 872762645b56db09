/* Route table and matching: method + path pattern -> handler.
 *
 * Patterns are literal segments and parameters: "{name}" matches one path
 * segment, "{name*}" one or more segments (image references carry '/'), e.g.
 * "/images/{name*}/json". Matching is on the decoded path. */
#ifndef BERTH_SERVER_ROUTER_H
#define BERTH_SERVER_ROUTER_H

#include <stddef.h>

#include "http.h"

enum srv_route_flags {
    SRV_ROUTE_STREAM_BODY = 1 << 0, /* body goes to req->on_body instead of being buffered */
};

struct srv_route {
    enum srv_method method;
    const char *pattern;
    srv_handler_fn handler;
    unsigned flags;
};

struct srv_router {
    const struct srv_route *routes;
    size_t nroutes;
    int api_min_minor; /* API 1.x bounds accepted in /v1.x/ prefixes */
    int api_max_minor;
};

enum srv_route_result {
    SRV_ROUTE_FOUND,
    SRV_ROUTE_NOT_FOUND,
    SRV_ROUTE_BAD_VERSION, /* message in err */
};

/* Strips an optional /vX.Y prefix (filling api_*), then matches. On success
 * params point into params_buf (decoded path copy owned by the caller). */
enum srv_route_result srv_router_match(const struct srv_router *r, struct srv_req *req,
                                       const char *path, char *params_buf, size_t params_buf_len,
                                       const struct srv_route **ret_route, struct berr *err);

/* Matches one pattern against a path without a version prefix. Exposed for tests. */
int srv_route_match_path(const char *pattern, const char *path, char *scratch, size_t scratch_len,
                         const char **params, size_t *nparams);

const char *srv_method_name(enum srv_method m);

#endif
