/* POST /containers/{name}/resize?h=&w=: the terminal's window size (moby's
 * postContainersResize). h and w are unsigned 32-bit decimals: anything
 * else is 400 "invalid resize height|width "<v>": invalid syntax|value out of
 * range", as moby's Uint32Value words it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"

/* 0, -EINVAL (syntax) or -ERANGE. "-0" is 0, as Go's ParseUint after
 * moby strips the sign; other negative numbers are out of range. */
static int parse_u32(const char *s, uint32_t *ret)
{
    bool neg = s && *s == '-';
    const char *p = neg ? s + 1 : s;
    if (!p || !*p || strspn(p, "0123456789") != strlen(p))
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(p, NULL, 10);
    if (errno == ERANGE || v > UINT32_MAX || (neg && v > 0))
        return -ERANGE;
    *ret = (uint32_t)v;
    return 0;
}

static bool size_param(struct srv_req *req, const char *key, const char *what, uint32_t *ret)
{
    const char *s = srv_req_query(req, key);
    int r = parse_u32(s, ret);
    if (r < 0)
        srv_reply_error(req, 400, "invalid resize %s \"%s\": %s", what, s ? s : "",
                        r == -ERANGE ? "value out of range" : "invalid syntax");
    return r == 0;
}

void h_containers_resize(struct srv_req *req)
{
    uint32_t h = 0, w = 0;
    if (!size_param(req, "h", "height", &h) || !size_param(req, "w", "width", &w))
        return;
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct berr err = {0};
    struct engine *e = srv_req_ctx(req);
    if (rt_resize(&e->rt, c, h, w, &err) < 0)
        srv_reply_berr(req, &err);
    else
        srv_reply_empty(req, 200);
}
