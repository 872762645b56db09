/* Registry requests: authorization, one re-authentication on 401, redirects
 * (the Bearer token never follows to another host), retries of connection
 * failures, and registry error bodies turned into messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/macros.h"
#include "registry_internal.h"

#define MAX_REDIRECTS  5
#define MAX_ERROR_BODY (64 * 1024)

static void send_attempt(struct reg_req *q);

static void req_free(struct reg_req *q)
{
    struct registry *r = q->r;
    list_del(&q->link);
    list_del(&q->auth_link);
    free(q->method);
    free(q->url);
    strv_done(&q->headers);
    free(q->body);
    buf_done(&q->errbody);
    free(q);
    reg_unref(r);
}

static void finish(struct reg_req *q, int result, const struct berr *err)
{
    if (q->finished)
        return;
    q->finished = true;
    struct berr none = {0};
    q->cb.on_done(q, result, err ? err : &none, q->ud);
    req_free(q);
}

void registry_error_text(const char *body, size_t len, char *out, size_t outlen, char *ret_code,
                         size_t codelen)
{
    out[0] = '\0';
    if (ret_code && codelen)
        ret_code[0] = '\0';
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
    const cJSON *first = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(first, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(first, "message");
    if (cJSON_IsString(code) && ret_code)
        snprintf(ret_code, codelen, "%s", code->valuestring);
    if (cJSON_IsString(msg) && cJSON_IsString(code)) {
        /* Docker prints "<code lower-cased and spaced>: <message>" e.g. "denied: ..." */
        char lower[64];
        size_t i = 0;
        for (const char *c = code->valuestring; *c && i + 1 < sizeof(lower); c++)
            lower[i++] = *c == '_' ? ' ' : (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        lower[i] = '\0';
        snprintf(out, outlen, "%s: %s", lower, msg->valuestring);
    } else if (cJSON_IsString(msg)) {
        snprintf(out, outlen, "%s", msg->valuestring);
    }
    cJSON_Delete(j);
}

static int status_for(int http_status)
{
    switch (http_status) {
    case 401:
    case 403:
        return 403;
    case 404:
        return 404;
    case 400:
        return 400;
    default:
        return 500;
    }
}

/* A non-2xx final answer: the body, if any, says why. */
static void finish_with_status(struct reg_req *q)
{
    char text[400], code[64];
    registry_error_text(q->errbody.data ? q->errbody.data : "", q->errbody.len, text, sizeof(text),
                        code, sizeof(code));
    struct berr err = {0};
    if (!text[0])
        snprintf(text, sizeof(text), "unexpected status %d from %s %s", q->status, q->method,
                 q->url);
    berr_set(&err, status_for(q->status), EPROTO, "%s", text);
    finish(q,
           q->status == 404                       ? -ENOENT
           : q->status == 401 || q->status == 403 ? -EACCES
                                                  : -EPROTO,
           &err);
}

static bool is_redirect(int s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* Resolves a Location (absolute, or absolute path on the current origin). */
static char *resolve_location(const char *current, const char *loc)
{
    if (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0)
        return strdup(loc);
    if (loc[0] != '/')
        return NULL;
    struct httpc_url u;
    if (httpc_parse_url(current, &u) < 0)
        return NULL;
    struct buf out = BUF_INIT;
    buf_printf(&out, "%s://%s%s", u.tls ? "https" : "http", u.hostport, loc);
    return buf_steal(&out);
}

static bool same_origin(const char *a, const char *b)
{
    struct httpc_url ua, ub;
    return httpc_parse_url(a, &ua) == 0 && httpc_parse_url(b, &ub) == 0 && ua.tls == ub.tls &&
           ua.port == ub.port && strcmp(ua.host, ub.host) == 0;
}

/* ---- httpc callbacks ---- */

static int on_head(struct httpc_req *h, void *ud)
{
    struct reg_req *q = ud;
    q->status = httpc_status(h);
    if (q->status == 401 || is_redirect(q->status))
        return 0; /* handled in on_done */
    if ((q->flags & REG_ANY_STATUS) || (q->status >= 200 && q->status < 300)) {
        q->passed_head = true;
        return q->cb.on_head ? q->cb.on_head(q, q->ud) : 0;
    }
    q->collecting_error = true;
    return 0;
}

static int on_data(struct httpc_req *h, const char *d, size_t n, void *ud)
{
    struct reg_req *q = ud;
    (void)h;
    if (q->passed_head)
        return q->cb.on_data ? q->cb.on_data(q, d, n, q->ud) : HTTPC_CONTINUE;
    if (q->errbody.len + n <= MAX_ERROR_BODY)
        buf_append(&q->errbody, d, n);
    return HTTPC_CONTINUE;
}

static void follow_redirect(struct reg_req *q, struct httpc_req *h)
{
    const char *loc = httpc_header(h, "Location");
    char *next = loc ? resolve_location(q->url, loc) : NULL;
    struct berr err = {0};
    if (!next || ++q->redirects > MAX_REDIRECTS) {
        free(next);
        berr_set(&err, 500, EPROTO, "%s %s: bad or too many redirects", q->method, q->url);
        finish(q, -EPROTO, &err);
        return;
    }
    /* Blobs are often served from a CDN: credentials stay with the registry. */
    q->other_host = q->other_host || !same_origin(q->url, next);
    free(q->url);
    q->url = next;
    send_attempt(q);
}

void reg_req_reauthed(struct reg_req *q, int result, const struct berr *err)
{
    if (result < 0) {
        finish(q, result, err);
        return;
    }
    send_attempt(q);
}

static void on_done(struct httpc_req *h, int result, const struct berr *err, void *ud)
{
    struct reg_req *q = ud;
    q->h = NULL;
    if (q->finished)
        return;
    if (result < 0) {
        bool retry = !q->passed_head && reg_retryable(result) && q->attempts <= q->r->retries;
        if (retry) {
            send_attempt(q);
            return;
        }
        finish(q, result, err);
        return;
    }
    if (q->status == 401 && !q->auth_retried && !q->other_host) {
        q->auth_retried = true;
        reg_reauth(q->r, httpc_header(h, "WWW-Authenticate"), q);
        return;
    }
    if (is_redirect(q->status) && !q->passed_head) {
        follow_redirect(q, h);
        return;
    }
    if (!q->passed_head) {
        finish_with_status(q);
        return;
    }
    finish(q, 0, NULL);
}

static const struct httpc_cbs hcbs = {on_head, on_data, on_done};

static void send_now(struct reg_req *q, struct tls_conf *tls)
{
    struct registry *r = q->r;
    q->attempts++;
    q->status = 0;
    q->passed_head = q->collecting_error = false;
    buf_reset(&q->errbody);
    struct buf auth = BUF_INIT;
    if (!q->other_host)
        reg_auth_header(r, &auth);
    const char **headers = calloc(q->headers.n + 2, sizeof(*headers));
    struct berr err = {0};
    if (!headers) {
        buf_done(&auth);
        berr_set(&err, 500, ENOMEM, "out of memory");
        finish(q, -ENOMEM, &err);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < q->headers.n; i++)
        headers[n++] = q->headers.v[i];
    if (auth.len)
        headers[n++] = auth.data;
    struct httpc_opts o = {.method = q->method,
                           .url = q->url,
                           .headers = headers,
                           .body = q->body,
                           .body_len = q->body_len,
                           .tls = tls,
                           .timeout_ms = r->timeout_ms};
    int rc = httpc_start(r->pool, &o, &hcbs, q, &q->h, &err);
    free(headers);
    buf_done(&auth);
    if (rc < 0)
        finish(q, rc, &err);
}

static void tls_ready(struct registry *r, struct tls_conf *conf, const struct berr *err, void *ud)
{
    struct reg_req *q = ud;
    (void)r;
    q->tls_pending = false;
    if (q->cancel_requested) {
        struct berr e = {0};
        berr_set(&e, 500, ECANCELED, "cancelled");
        finish(q, -ECANCELED, &e);
    } else if (!conf) {
        finish(q, -EPROTO, err);
    } else {
        send_now(q, conf);
    }
}

/* https URLs need trust: the endpoint's, or for another host (a redirect
 * to a CDN) one built for that host. */
static void send_attempt(struct reg_req *q)
{
    struct httpc_url u;
    if (httpc_parse_url(q->url, &u) < 0 || !u.tls) {
        send_now(q, NULL);
        return;
    }
    struct tls_conf *tls = q->other_host ? NULL : reg_endpoint_tls(q->r);
    if (tls) {
        send_now(q, tls);
        return;
    }
    q->tls_pending = true;
    reg_tls_get(q->r, u.hostport, false, tls_ready, q);
}

int registry_request(struct registry *r, const char *method, const char *path,
                     const char *const *headers, const void *body, size_t body_len, unsigned flags,
                     const struct reg_cbs *cb, void *ud, struct reg_req **ret, struct berr *err)
{
    if (r->closing || r->cur >= r->neps)
        return berr_set(err, 500, ECANCELED, "registry session is not open");
    struct reg_req *q = calloc(1, sizeof(*q));
    if (!q)
        return berr_set(err, 500, ENOMEM, "out of memory");
    q->r = r;
    list_init(&q->auth_link);
    list_add_tail(&r->reqs, &q->link);
    reg_ref(r);
    q->method = strdup(method);
    struct buf url = BUF_INIT;
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
        buf_append_str(&url, path);
    else
        buf_printf(&url, "%s%s", r->eps[r->cur].base, path);
    q->url = buf_steal(&url);
    for (const char *const *h = headers; h && *h; h++)
        strv_push(&q->headers, *h);
    if (body_len) {
        q->body = malloc(body_len);
        if (q->body)
            memcpy(q->body, body, body_len);
        q->body_len = body_len;
    }
    q->flags = flags;
    q->cb = *cb;
    q->ud = ud;
    if (!q->method || !q->url || (body_len && !q->body)) {
        req_free(q);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    q->other_host = !same_origin(q->url, r->eps[r->cur].base);
    if (ret)
        *ret = q;
    send_attempt(q);
    return 0;
}

int reg_req_status(const struct reg_req *q)
{
    return q->status;
}

const char *reg_req_header(const struct reg_req *q, const char *name)
{
    return q->h ? httpc_header(q->h, name) : NULL;
}

int64_t reg_req_content_length(const struct reg_req *q)
{
    return q->h ? httpc_content_length(q->h) : -1;
}

void reg_req_pause(struct reg_req *q)
{
    if (q->h)
        httpc_pause(q->h);
}

void reg_req_resume(struct reg_req *q)
{
    if (q->h)
        httpc_resume(q->h);
}

void reg_req_cancel(struct reg_req *q)
{
    if (q->finished)
        return;
    if (q->tls_pending) {
        q->cancel_requested = true; /* tls_ready finishes it */
        return;
    }
    if (q->h) {
        httpc_cancel(q->h); /* on_done follows with -ECANCELED */
        return;
    }
    struct berr err = {0};
    berr_set(&err, 500, ECANCELED, "cancelled");
    finish(q, -ECANCELED, &err);
}

void reg_req_cancel_all(struct registry *r)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &r->reqs)
    {
        reg_req_cancel(container_of(pos, struct reg_req, link));
    }
}
