/* Request target parsing: percent-decoding of the path and the query string. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the decoded bytes and a NUL. A malformed escape or an encoded NUL is -EINVAL. */
int srv_url_decode(const char *in, size_t len, struct buf *out, bool plus_is_space)
{
    if (buf_reserve(out, len + 1) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '%') {
            int hi = i + 2 < len ? hexval(in[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -EINVAL;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus_is_space) {
            ch = ' ';
        }
        out->data[out->len++] = ch;
    }
    out->data[out->len++] = '\0';
    return 0;
}

struct kv_off {
    size_t k, v;
};

static int parse_query(struct srv_conn *c, const char *q, size_t qlen, struct kv_off **ret,
                       size_t *ret_n)
{
    size_t n = 0, cap = 0;
    struct kv_off *offs = NULL;
    const char *end = q + qlen;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if (stop > q) {
            const char *eq = memchr(q, '=', (size_t)(stop - q));
            const char *kend = eq ? eq : stop;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                struct kv_off *p = realloc(offs, cap * sizeof(*offs));
                if (!p)
                    return free(offs), -ENOMEM;
                offs = p;
            }
            offs[n].k = c->scratch.len;
            if (srv_url_decode(q, (size_t)(kend - q), &c->scratch, true) < 0)
                return free(offs), -EINVAL;
            offs[n].v = c->scratch.len;
            const char *v = eq ? eq + 1 : stop;
            if (srv_url_decode(v, (size_t)(stop - v), &c->scratch, true) < 0)
                return free(offs), -EINVAL;
            n++;
        }
        q = stop + (amp ? 1 : 0);
    }
    *ret = offs;
    *ret_n = n;
    return 0;
}

/* Decodes the target into c->scratch (path, then query pairs) and fills
 * c->query_kv. The path offset in scratch is returned (always 0). */
int srv_parse_request_target(struct srv_conn *c, size_t *ret_path_off)
{
    const char *t = c->url.data ? c->url.data : "";
    if (t[0] != '/')
        return -EINVAL;
    const char *qm = strchr(t, '?');
    size_t plen = qm ? (size_t)(qm - t) : strlen(t);
    buf_reset(&c->scratch);
    if (srv_url_decode(t, plen, &c->scratch, false) < 0)
        return -EINVAL;
    struct kv_off *offs = NULL;
    size_t n = 0;
    if (qm && parse_query(c, qm + 1, strlen(qm + 1), &offs, &n) < 0)
        return -EINVAL;
    if (n > c->query_cap) {
        struct srv_kv *p = realloc(c->query_kv, n * sizeof(*p));
        if (!p)
            return free(offs), -ENOMEM;
        c->query_kv = p;
        c->query_cap = n;
    }
    /* scratch no longer grows: pointers into it are stable from here. */
    for (size_t i = 0; i < n; i++) {
        c->query_kv[i].key = c->scratch.data + offs[i].k;
        c->query_kv[i].value = c->scratch.data + offs[i].v;
    }
    free(offs);
    c->req.query = c->query_kv;
    c->req.nquery = n;
    *ret_path_off = 0;
    return 0;
}
