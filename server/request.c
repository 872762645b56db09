/* Request accessors for handlers. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"

const char *srv_req_header(const struct srv_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].key, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

const char *srv_req_query(const struct srv_req *req, const char *key)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, key) == 0)
            return req->query[i].value;
    }
    return NULL;
}

bool srv_req_query_bool(const struct srv_req *req, const char *key)
{
    const char *v = srv_req_query(req, key);
    if (!v)
        return false;
    while (isspace((unsigned char)*v))
        v++;
    static const char *const falsy[] = {"", "0", "no", "false", "none"};
    size_t len = strlen(v);
    while (len > 0 && isspace((unsigned char)v[len - 1]))
        len--;
    for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++) {
        if (strlen(falsy[i]) == len && strncasecmp(v, falsy[i], len) == 0)
            return false;
    }
    return true;
}

int srv_req_query_int(const struct srv_req *req, const char *key, int64_t def, int64_t *ret,
                      struct berr *err)
{
    const char *v = srv_req_query(req, key);
    if (!v || !*v) {
        *ret = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v)
        return berr_set(err, 400, EINVAL, "invalid value for %s: '%s'", key, v);
    *ret = n;
    return 0;
}

void *srv_req_ctx(const struct srv_req *req)
{
    return req->server->ctx;
}

bool srv_req_is_unix(const struct srv_req *req)
{
    return req->conn->is_unix;
}
