/* HTTP client requests and the connection pool. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth_version.h"
#include "httpc_internal.h"
#include "macros.h"

/* ---- URLs ---- */

static int parse_port(const char *s, size_t len, int *ret)
{
    int port = 0;
    if (len == 0 || len > 5)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        port = port * 10 + (s[i] - '0');
    }
    if (port < 1 || port > 65535)
        return -EINVAL;
    *ret = port;
    return 0;
}

static int split_authority(const char *a, size_t len, struct httpc_url *u)
{
    const char *host = a, *port = NULL;
    size_t hlen = len;
    if (len > 0 && a[0] == '[') { /* [IPv6]:port */
        const char *close = memchr(a, ']', len);
        if (!close)
            return -EINVAL;
        host = a + 1;
        hlen = (size_t)(close - a - 1);
        if (close + 1 < a + len) {
            if (close[1] != ':')
                return -EINVAL;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', len);
        if (colon) {
            hlen = (size_t)(colon - a);
            port = colon + 1;
        }
    }
    if (hlen == 0 || hlen >= sizeof(u->host))
        return -EINVAL;
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    u->port = u->tls ? 443 : 80;
    if (port && parse_port(port, (size_t)(a + len - port), &u->port) < 0)
        return -EINVAL;
    if (len >= sizeof(u->hostport))
        return -EINVAL;
    memcpy(u->hostport, a, len);
    u->hostport[len] = '\0';
    return 0;
}

int httpc_parse_url(const char *url, struct httpc_url *ret)
{
    memset(ret, 0, sizeof(*ret));
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0) {
        ret->tls = true;
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        rest = url + 7;
    } else {
        return -EINVAL;
    }
    size_t alen = strcspn(rest, "/?#");
    if (split_authority(rest, alen, ret) < 0)
        return -EINVAL;
    ret->path = rest[alen] == '/' ? rest + alen : "/";
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= ' ')
            return -EINVAL; /* no whitespace or control bytes on the wire */
    }
    return 0;
}

void hc_origin_key(const struct httpc_url *u, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s://%s:%d", u->tls ? "https" : "http", u->host, u->port);
}

/* ---- requests ---- */

static int build_wire(struct httpc_req *r, const struct httpc_opts *o)
{
    struct buf *w = &r->wire;
    const char *path = r->parsed.path;
    buf_printf(w, "%s %.*s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth/" BERTH_VERSION "\r\n",
               o->method, (int)strcspn(path, "#"), path, r->parsed.hostport);
    bool has_len = false;
    for (const char *const *h = o->headers; h && *h; h++) {
        if (strpbrk(*h, "\r\n"))
            return -EINVAL;
        has_len |= strncasecmp(*h, "Content-Length:", 15) == 0;
        buf_printf(w, "%s\r\n", *h);
    }
    bool wants_body = o->body_len || strcmp(o->method, "POST") == 0 ||
                      strcmp(o->method, "PUT") == 0 || strcmp(o->method, "PATCH") == 0;
    if (wants_body && !has_len)
        buf_printf(w, "Content-Length: %zu\r\n", o->body_len);
    buf_append(w, "\r\n", 2);
    if (o->body_len)
        buf_append(w, o->body, o->body_len);
    return w->data ? 0 : -ENOMEM;
}

static void req_free(struct httpc_req *r)
{
    if (r->tls)
        tls_conf_unref(r->tls);
    buf_done(&r->wire);
    buf_done(&r->hdr);
    free(r->url);
    free(r);
}

static struct httpc_req *req_new(struct httpc_pool *p, const struct httpc_opts *o,
                                 const struct httpc_cbs *cb, void *ud, struct berr *err)
{
    struct httpc_req *r = calloc(1, sizeof(*r));
    if (!r || !(r->url = strdup(o->url))) {
        free(r);
        berr_set(err, 500, ENOMEM, "out of memory");
        return NULL;
    }
    r->pool = p;
    r->cb = *cb;
    r->ud = ud;
    r->timeout_ms = o->timeout_ms;
    r->head_method = strcmp(o->method, "HEAD") == 0;
    r->content_length = -1;
    list_init(&r->link);
    if (httpc_parse_url(r->url, &r->parsed) < 0 || build_wire(r, o) < 0) {
        berr_set(err, 400, EINVAL, "invalid request URL or header: \"%s\"", o->url);
        req_free(r);
        return NULL;
    }
    if (o->tls) {
        r->tls = o->tls;
        tls_conf_ref(o->tls);
    }
    return r;
}

int httpc_start(struct httpc_pool *p, const struct httpc_opts *o, const struct httpc_cbs *cb,
                void *ud, struct httpc_req **ret, struct berr *err)
{
    if (p->closing)
        return berr_set(err, 503, ECANCELED, "shutting down");
    struct httpc_req *r = req_new(p, o, cb, ud, err);
    if (!r)
        return -EINVAL;
    char key[300];
    hc_origin_key(&r->parsed, key, sizeof(key));
    struct hc_conn *c = hc_pool_take_idle(p, key);
    if (c)
        hc_conn_assign(c, r);
    else if (hc_conn_open(p, r, err) < 0) {
        req_free(r);
        return -EIO;
    }
    if (ret)
        *ret = r;
    return 0;
}

/* on_done runs from the pool's idle handle: never inside the caller's stack. */
static void done_idle_cb(uv_idle_t *idle)
{
    struct httpc_pool *p = idle->data;
    while (!list_empty(&p->done)) {
        struct httpc_req *r = container_of(p->done.next, struct httpc_req, link);
        list_del(&r->link);
        r->cb.on_done(r, r->result, &r->err, r->ud);
        req_free(r);
    }
    uv_idle_stop(idle);
    hc_pool_conn_gone(p); /* a closing pool may be finished now */
}

void hc_req_finish(struct httpc_req *r, int result, const struct berr *err)
{
    if (r->finished)
        return;
    r->finished = true;
    r->result = result;
    if (err)
        r->err = *err;
    list_add_tail(&r->pool->done, &r->link);
    uv_idle_start(&r->pool->done_idle, done_idle_cb);
}

void hc_req_complete(struct httpc_req *r)
{
    struct hc_conn *c = r->conn;
    r->conn = NULL;
    if (c)
        hc_conn_release(c, hc_conn_keep_alive(c));
    hc_req_finish(r, 0, NULL);
}

/* ---- accessors ---- */

int httpc_status(const struct httpc_req *r)
{
    return r->status;
}

const char *httpc_header(const struct httpc_req *r, const char *name)
{
    const char *p = r->hdr.data, *end = p + r->hdr.len;
    while (p && p < end) {
        const char *value = p + strlen(p) + 1;
        if (value >= end)
            break;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

int64_t httpc_content_length(const struct httpc_req *r)
{
    return r->content_length;
}

const char *httpc_url(const struct httpc_req *r)
{
    return r->url;
}

void httpc_pause(struct httpc_req *r)
{
    r->paused = true;
}

void httpc_resume(struct httpc_req *r)
{
    if (!r->paused || r->finished)
        return;
    r->paused = false;
    if (r->conn)
        hc_conn_resume(r->conn);
}

void httpc_cancel(struct httpc_req *r)
{
    if (r->finished)
        return;
    struct hc_conn *c = r->conn;
    r->conn = NULL;
    if (c) {
        c->req = NULL;
        hc_conn_close(c); /* mid-response: the connection can't be reused */
    }
    struct berr err = {.status = 500};
    snprintf(err.msg, sizeof(err.msg), "request to %s cancelled", r->url);
    hc_req_finish(r, -ECANCELED, &err);
}

/* ---- pool ---- */

struct httpc_pool *httpc_pool_new(uv_loop_t *loop)
{
    struct httpc_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->loop = loop;
    list_init(&p->conns);
    list_init(&p->idle);
    list_init(&p->done);
    uv_idle_init(loop, &p->done_idle);
    p->done_idle.data = p;
    return p;
}

static void pool_free_cb(uv_handle_t *h)
{
    free(h->data);
}

void hc_pool_conn_gone(struct httpc_pool *p)
{
    if (!p->closing || p->nconns > 0 || !list_empty(&p->done) ||
        uv_is_closing((uv_handle_t *)&p->done_idle))
        return;
    uv_close((uv_handle_t *)&p->done_idle, pool_free_cb);
}

void httpc_pool_close(struct httpc_pool *p)
{
    p->closing = true;
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &p->conns)
    {
        hc_conn_cancel(container_of(pos, struct hc_conn, all));
    }
    hc_pool_conn_gone(p);
}
