#include "router.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 64

struct segs {
    const char *s[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
    size_t n;
};

const char *srv_method_name(enum srv_method m)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OTHER"};
    return names[m];
}

/* Splits "/a/b/c" into a, b, c. Fails on too many segments or no leading slash. */
static int split(const char *p, struct segs *out)
{
    out->n = 0;
    if (*p != '/')
        return -EINVAL;
    while (*p == '/') {
        p++;
        if (out->n == MAX_SEGMENTS)
            return -E2BIG;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        out->s[out->n] = p;
        out->len[out->n] = len;
        out->n++;
        p += len;
    }
    return 0;
}

static bool is_param(const char *s, size_t len, bool *greedy)
{
    if (len < 3 || s[0] != '{' || s[len - 1] != '}')
        return false;
    *greedy = s[len - 2] == '*';
    return true;
}

struct match_state {
    const struct segs *pat, *path;
    char *scratch;
    size_t scratch_len, used;
    const char **params;
    size_t nparams;
};

/* Copies path segments [from, to) joined by '/' into scratch as a parameter. */
static int push_param(struct match_state *m, size_t from, size_t to)
{
    if (m->nparams == SRV_MAX_PARAMS)
        return -E2BIG;
    const char *start = m->path->s[from];
    const char *end = m->path->s[to - 1] + m->path->len[to - 1];
    size_t len = (size_t)(end - start);
    if (m->used + len + 1 > m->scratch_len)
        return -E2BIG;
    char *dst = m->scratch + m->used;
    memcpy(dst, start, len);
    dst[len] = '\0';
    m->used += len + 1;
    m->params[m->nparams++] = dst;
    return 0;
}

static bool match_from(struct match_state *m, size_t pi, size_t si)
{
    const struct segs *pat = m->pat, *path = m->path;
    if (pi == pat->n)
        return si == path->n;
    if (si == path->n)
        return false;
    bool greedy = false;
    if (!is_param(pat->s[pi], pat->len[pi], &greedy)) {
        if (pat->len[pi] != path->len[si] || memcmp(pat->s[pi], path->s[si], pat->len[pi]) != 0)
            return false;
        return match_from(m, pi + 1, si + 1);
    }
    size_t remaining_pat = pat->n - pi - 1;
    if (path->n - si < remaining_pat + 1)
        return false;
    /* A parameter never spans an empty segment ("a//b", trailing slash). */
    size_t max_take = 0;
    size_t limit = greedy ? path->n - si - remaining_pat : 1;
    while (max_take < limit && path->len[si + max_take] > 0)
        max_take++;
    for (size_t take = max_take; take >= 1; take--) {
        size_t saved_used = m->used, saved_n = m->nparams;
        if (push_param(m, si, si + take) == 0 && match_from(m, pi + 1, si + take))
            return true;
        m->used = saved_used;
        m->nparams = saved_n;
    }
    return false;
}

int srv_route_match_path(const char *pattern, const char *path, char *scratch, size_t scratch_len,
                         const char **params, size_t *nparams)
{
    struct segs pat, p;
    if (split(pattern, &pat) < 0 || split(path, &p) < 0)
        return 0;
    struct match_state m = {&pat, &p, scratch, scratch_len, 0, params, 0};
    if (!match_from(&m, 0, 0))
        return 0;
    *nparams = m.nparams;
    return 1;
}

/* Compares dotted version strings numerically, as moby's versions package does. */
static int version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10);
        long y = strtol(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
        if ((*a && !isdigit((unsigned char)*a)) || (*b && !isdigit((unsigned char)*b)))
            break;
    }
    return 0;
}

/* Recognises "/v<digits and dots>/" and returns the length of the prefix
 * (without the trailing slash), or 0. */
static size_t version_prefix_len(const char *path)
{
    if (path[0] != '/' || path[1] != 'v')
        return 0;
    size_t i = 2;
    while (isdigit((unsigned char)path[i]) || path[i] == '.')
        i++;
    if (i == 2 || path[i] != '/')
        return 0;
    return i;
}

static int check_version(const struct srv_router *r, struct srv_req *req, const char *v,
                         struct berr *err)
{
    char min[16], max[16];
    snprintf(min, sizeof(min), "1.%d", r->api_min_minor);
    snprintf(max, sizeof(max), "1.%d", r->api_max_minor);
    if (version_compare(v, max) > 0)
        return berr_set(err, 400, EINVAL,
                        "client version %s is too new. Maximum supported API version is %s", v,
                        max);
    if (version_compare(v, min) < 0)
        return berr_set(err, 400, EINVAL,
                        "client version %s is too old. Minimum supported API version is %s, "
                        "please upgrade your client to a newer version",
                        v, min);
    char *end;
    req->api_major = (int)strtol(v, &end, 10);
    req->api_minor = *end == '.' ? (int)strtol(end + 1, NULL, 10) : 0;
    req->api_versioned = true;
    return 0;
}

static const struct srv_route *find_route(const struct srv_router *r, struct srv_req *req,
                                          const char *path, char *params_buf, size_t params_buf_len)
{
    for (size_t i = 0; i < r->nroutes; i++) {
        const struct srv_route *rt = &r->routes[i];
        if (rt->method == req->method &&
            srv_route_match_path(rt->pattern, path, params_buf, params_buf_len, req->params,
                                 &req->nparams))
            return rt;
    }
    return NULL;
}

enum srv_route_result srv_router_match(const struct srv_router *r, struct srv_req *req,
                                       const char *path, char *params_buf, size_t params_buf_len,
                                       const struct srv_route **ret_route, struct berr *err)
{
    req->api_major = 1;
    req->api_minor = r->api_max_minor;
    req->api_versioned = false;
    char v[32] = "";
    size_t vlen = version_prefix_len(path);
    if (vlen > 0) {
        size_t n = vlen - 2 < sizeof(v) - 1 ? vlen - 2 : sizeof(v) - 1;
        memcpy(v, path + 2, n);
        v[n] = '\0';
        path += vlen;
    }
    req->path = path;
    /* As moby: unknown paths are 404 whatever the version; the version is
     * checked (middleware) only once a route matched. */
    const struct srv_route *rt = find_route(r, req, path, params_buf, params_buf_len);
    if (!rt)
        return SRV_ROUTE_NOT_FOUND;
    if (vlen > 0 && check_version(r, req, v, err) < 0)
        return SRV_ROUTE_BAD_VERSION;
    *ret_route = rt;
    return SRV_ROUTE_FOUND;
}
