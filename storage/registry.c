/* Registry sessions: endpoint discovery and authentication (moby's
 * registry.LookupPullEndpoints, then the /v2/ ping and token dance). */
#include "registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macros.h"
#include "registry_internal.h"

#define MAX_STEP_BODY (64 * 1024)

const char *registry_api_host(const char *domain)
{
    return strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
}

/* ---- insecure registries ---- */

static void host_only(const char *hostport, char *out, size_t outlen)
{
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        size_t n = close ? (size_t)(close - hostport - 1) : strlen(hostport);
        snprintf(out, outlen, "%.*s", (int)n, hostport + 1);
        return;
    }
    const char *colon = strchr(hostport, ':');
    size_t n = colon && !strchr(colon + 1, ':') ? (size_t)(colon - hostport) : strlen(hostport);
    snprintf(out, outlen, "%.*s", (int)n, hostport);
}

static bool ip_in_cidr(const char *ip, const char *cidr)
{
    char net[64];
    const char *slash = strchr(cidr, '/');
    if (!slash || (size_t)(slash - cidr) >= sizeof(net))
        return false;
    snprintf(net, sizeof(net), "%.*s", (int)(slash - cidr), cidr);
    int bits = atoi(slash + 1);
    unsigned char a[16], b[16];
    int fam = strchr(net, ':') ? AF_INET6 : AF_INET;
    size_t len = fam == AF_INET6 ? 16 : 4;
    if (inet_pton(fam, ip, a) != 1 || inet_pton(fam, net, b) != 1 || bits < 0 ||
        bits > (int)len * 8)
        return false;
    for (int i = 0; i < bits; i++) {
        unsigned char mask = (unsigned char)(0x80 >> (i % 8));
        if ((a[i / 8] & mask) != (b[i / 8] & mask))
            return false;
    }
    return true;
}

bool registry_is_insecure(const struct registry_opts *o, const char *hostport)
{
    char host[256];
    host_only(hostport, host, sizeof(host));
    if (strcmp(host, "localhost") == 0 || ip_in_cidr(host, "127.0.0.0/8") ||
        ip_in_cidr(host, "::1/128"))
        return true;
    for (size_t i = 0; o->insecure && i < o->insecure->n; i++) {
        const char *e = o->insecure->v[i];
        if (strcmp(e, hostport) == 0 || strcmp(e, host) == 0 || ip_in_cidr(host, e))
            return true;
    }
    return false;
}

/* ---- endpoints ---- */

static void add_endpoint(struct registry *r, const char *scheme_host, bool skip_verify)
{
    if (r->neps == REG_MAX_ENDPOINTS)
        return;
    struct endpoint *e = &r->eps[r->neps++];
    snprintf(e->base, sizeof(e->base), "%s", scheme_host);
    size_t n = strlen(e->base);
    while (n > 0 && e->base[n - 1] == '/')
        e->base[--n] = '\0';
    e->tls = strncmp(e->base, "https://", 8) == 0;
    const char *hp = strstr(e->base, "://") + 3;
    snprintf(e->hostport, sizeof(e->hostport), "%s", hp);
    e->skip_verify = skip_verify;
}

static void build_endpoints(struct registry *r)
{
    const char *api = registry_api_host(r->domain);
    char url[300];
    if (strcmp(r->domain, "docker.io") == 0) {
        for (size_t i = 0; i < r->mirrors.n; i++)
            add_endpoint(r, r->mirrors.v[i], false);
    }
    struct registry_opts o = {.insecure = &r->insecure};
    bool insecure = registry_is_insecure(&o, api);
    snprintf(url, sizeof(url), "https://%s", api);
    add_endpoint(r, url, insecure);
    if (insecure) {
        snprintf(url, sizeof(url), "http://%s", api);
        add_endpoint(r, url, false);
    }
}

/* ---- lifetime ---- */

void reg_ref(struct registry *r)
{
    r->refs++;
}

static void registry_free(struct registry *r)
{
    strv_done(&r->insecure);
    strv_done(&r->mirrors);
    free(r->certs_dir);
    free(r->domain);
    free(r->repo);
    free(r->actions);
    auth_config_done(&r->creds);
    auth_challenge_done(&r->chal);
    free(r->token);
    reg_tls_clear(r);
    free(r);
}

void reg_unref(struct registry *r)
{
    if (--r->refs == 0)
        registry_free(r);
}

static void call_ready(struct registry *r, int result, const struct berr *err)
{
    if (r->ready_called || r->closing)
        return;
    r->ready_called = true;
    r->ready(r, result, err, r->ready_ud);
}

void registry_close(struct registry *r)
{
    if (r->closing)
        return;
    r->closing = true;
    if (r->step_req)
        httpc_cancel(r->step_req);
    reg_req_cancel_all(r);
    reg_unref(r);
}

const char *registry_base(const struct registry *r)
{
    return r->cur < r->neps ? r->eps[r->cur].base : "";
}

bool registry_authenticated(const struct registry *r)
{
    return r->authed;
}

void reg_auth_header(const struct registry *r, struct buf *out)
{
    if (r->token)
        buf_printf(out, "Authorization: Bearer %s", r->token);
    else if (r->have_chal && strcmp(r->chal.scheme, "Basic") == 0 && r->creds.username)
        auth_basic_header(r->creds.username, r->creds.password, out);
}

/* ---- internal steps: one small request whose whole body we keep ---- */

struct step;
typedef void (*step_fn)(struct registry *r, struct step *s, int result, const struct berr *err);

struct step {
    struct registry *r;
    step_fn done;
    struct buf body;
    int status;
    char *www_auth;
    /* kept to try again after a dropped connection */
    char *url;
    char *auth_line;
    struct tls_conf *tls;
    int attempts;
};

static int step_head(struct httpc_req *h, void *ud)
{
    struct step *s = ud;
    s->status = httpc_status(h);
    const char *wa = httpc_header(h, "WWW-Authenticate");
    s->www_auth = wa ? strdup(wa) : NULL;
    return 0;
}

static int step_data(struct httpc_req *h, const char *d, size_t n, void *ud)
{
    struct step *s = ud;
    (void)h;
    if (s->body.len + n > MAX_STEP_BODY)
        return -1;
    buf_append(&s->body, d, n);
    return HTTPC_CONTINUE;
}

static void step_free(struct step *s)
{
    buf_done(&s->body);
    free(s->www_auth);
    free(s->url);
    free(s->auth_line);
    if (s->tls)
        tls_conf_unref(s->tls);
    free(s);
}

static int step_send(struct step *s);

static void step_done(struct httpc_req *h, int result, const struct berr *err, void *ud)
{
    struct step *s = ud;
    struct registry *r = s->r;
    (void)h;
    r->step_req = NULL;
    if (!r->closing && reg_retryable(result) && s->attempts <= r->retries) {
        buf_reset(&s->body);
        free(s->www_auth);
        s->www_auth = NULL;
        if (step_send(s) == 0)
            return; /* the new attempt holds the step and its reference */
    }
    if (!r->closing)
        s->done(r, s, result, err);
    step_free(s);
    reg_unref(r);
}

static const struct httpc_cbs step_cbs = {step_head, step_data, step_done};

static int step_send(struct step *s)
{
    struct registry *r = s->r;
    s->attempts++;
    const char *headers[] = {s->auth_line, NULL};
    struct httpc_opts o = {.method = "GET",
                           .url = s->url,
                           .headers = headers,
                           .tls = s->tls,
                           .timeout_ms = r->timeout_ms};
    return httpc_start(r->pool, &o, &step_cbs, s, &r->step_req, &r->last_err) < 0 ? -EIO : 0;
}

static int step_start(struct registry *r, const char *url, const char *auth_line,
                      struct tls_conf *tls, step_fn done)
{
    struct step *s = calloc(1, sizeof(*s));
    if (!s || !(s->url = strdup(url)) ||
        (auth_line && *auth_line && !(s->auth_line = strdup(auth_line)))) {
        if (s)
            step_free(s);
        return berr_set(&r->last_err, 500, ENOMEM, "out of memory");
    }
    s->r = r;
    s->done = done;
    if (tls) {
        s->tls = tls;
        tls_conf_ref(tls);
    }
    reg_ref(r);
    if (step_send(s) < 0) {
        reg_unref(r);
        step_free(s);
        return -EIO;
    }
    return 0;
}

/* ---- tokens ---- */

/* Ends a token fetch: the opening (if still waiting) and every request that
 * waited for the token learn the result. */
static void token_result(struct registry *r, int result, const struct berr *err)
{
    r->token_busy = false;
    call_ready(r, result, err);
    while (!list_empty(&r->auth_waiters)) {
        struct reg_req *q = container_of(r->auth_waiters.next, struct reg_req, auth_link);
        list_del(&q->auth_link);
        reg_req_reauthed(q, result, err);
    }
}

static void token_done(struct registry *r, struct step *s, int result, const struct berr *err)
{
    struct berr e = {0};
    if (result < 0) {
        token_result(r, result, err);
        return;
    }
    if (s->status == 401 || s->status == 403) {
        berr_set(&e, 401, EACCES, "unauthorized: %s",
                 r->creds.username ? "incorrect username or password" : "authentication required");
        token_result(r, -EACCES, &e);
        return;
    }
    if (s->status != 200) {
        berr_set(&e, 500, EPROTO, "token server %s answered %d", r->chal.realm, s->status);
        token_result(r, -EPROTO, &e);
        return;
    }
    free(r->token);
    r->token = NULL;
    if (auth_token_parse(s->body.data ? s->body.data : "", s->body.len, &r->token, &e) < 0) {
        token_result(r, -EPROTO, &e);
        return;
    }
    r->authed = r->creds.username != NULL;
    token_result(r, 0, NULL);
}

static void token_with_tls(struct registry *r, struct tls_conf *conf, const struct berr *err,
                           void *ud)
{
    char *url = ud;
    if (!conf && strncmp(url, "https://", 8) == 0) {
        token_result(r, -EIO, err);
    } else {
        struct buf basic = BUF_INIT;
        if (r->creds.username && r->creds.password)
            auth_basic_header(r->creds.username, r->creds.password, &basic);
        if (step_start(r, url, basic.data, conf, token_done) < 0)
            token_result(r, -EIO, &r->last_err);
        buf_done(&basic);
    }
    free(url);
}

/* Asks the realm for a token covering this repository's actions. */
static void fetch_token(struct registry *r)
{
    if (r->token_busy)
        return;
    r->token_busy = true;
    if (r->creds.registry_token) {
        free(r->token);
        r->token = strdup(r->creds.registry_token);
        token_result(r, 0, NULL);
        return;
    }
    struct buf scope = BUF_INIT, url = BUF_INIT;
    if (r->repo && r->actions && *r->actions)
        buf_printf(&scope, "repository:%s:%s", r->repo, r->actions);
    auth_token_url(&r->chal, scope.data, r->creds.username, &url);
    struct httpc_url u;
    if (!url.data || httpc_parse_url(url.data, &u) < 0) {
        struct berr e = {0};
        berr_set(&e, 500, EPROTO, "invalid token realm \"%s\"", r->chal.realm);
        token_result(r, -EPROTO, &e);
    } else if (u.tls) {
        reg_tls_get(r, u.hostport, false, token_with_tls, buf_steal(&url));
    } else {
        token_with_tls(r, NULL, NULL, buf_steal(&url));
    }
    buf_done(&scope);
    buf_done(&url);
}

void reg_reauth(struct registry *r, const char *challenge, struct reg_req *q)
{
    struct auth_challenge c;
    bool parsed = challenge && auth_challenge_parse(challenge, &c) == 0;
    if (!parsed || strcmp(c.scheme, "Bearer") != 0) {
        if (parsed)
            auth_challenge_done(&c);
        struct berr e = {0};
        berr_set(&e, 401, EACCES, "unauthorized: authentication required");
        reg_req_reauthed(q, -EACCES, &e);
        return;
    }
    list_add_tail(&r->auth_waiters, &q->auth_link);
    if (r->token_busy) {
        auth_challenge_done(&c);
        return;
    }
    auth_challenge_done(&r->chal);
    r->chal = c;
    r->have_chal = true;
    fetch_token(r);
}

/* ---- discovery ---- */

static void try_endpoint(struct registry *r);

static void next_endpoint(struct registry *r, const struct berr *err)
{
    if (err)
        r->last_err = *err;
    r->cur++;
    try_endpoint(r);
}

static void ping_done(struct registry *r, struct step *s, int result, const struct berr *err)
{
    if (result < 0) {
        next_endpoint(r, err); /* unreachable or not TLS: the next endpoint may work */
        return;
    }
    if (s->status == 200) {
        r->authed = r->creds.username != NULL && !r->actions; /* Basic login accepted */
        call_ready(r, 0, NULL);
        return;
    }
    if (s->status != 401 || !s->www_auth) {
        struct berr e = {0};
        berr_set(&e, 500, EPROTO, "%s/v2/ answered %d: not a registry", r->eps[r->cur].base,
                 s->status);
        next_endpoint(r, &e);
        return;
    }
    auth_challenge_done(&r->chal);
    r->have_chal = auth_challenge_parse(s->www_auth, &r->chal) == 0;
    if (r->have_chal && strcmp(r->chal.scheme, "Bearer") == 0) {
        fetch_token(r);
        return;
    }
    struct berr e = {0};
    if (!r->actions && r->creds.username) { /* a Basic login that the registry refused */
        berr_set(&e, 401, EACCES, "unauthorized: incorrect username or password");
        call_ready(r, -EACCES, &e);
        return;
    }
    call_ready(r, 0, NULL); /* Basic: each request carries the credentials */
}

static void ping_with_tls(struct registry *r, struct tls_conf *conf, const struct berr *err,
                          void *ud)
{
    (void)ud;
    struct endpoint *e = &r->eps[r->cur];
    if (e->tls && !conf) {
        next_endpoint(r, err);
        return;
    }
    char url[320];
    snprintf(url, sizeof(url), "%s/v2/", e->base);
    struct buf auth = BUF_INIT;
    if (r->creds.username && r->creds.password && !r->actions)
        auth_basic_header(r->creds.username, r->creds.password, &auth);
    if (step_start(r, url, auth.data, conf, ping_done) < 0)
        next_endpoint(r, NULL);
    buf_done(&auth);
}

static void try_endpoint(struct registry *r)
{
    if (r->closing)
        return;
    if (r->cur >= r->neps) {
        call_ready(r, -EHOSTUNREACH, &r->last_err);
        return;
    }
    struct endpoint *e = &r->eps[r->cur];
    if (e->tls)
        reg_tls_get(r, e->hostport, e->skip_verify, ping_with_tls, NULL);
    else
        ping_with_tls(r, NULL, NULL, NULL);
}

/* The TLS conf of the chosen endpoint (for requests), from the cache. */
struct tls_conf *reg_endpoint_tls(struct registry *r)
{
    struct endpoint *e = &r->eps[r->cur];
    char key[300];
    snprintf(key, sizeof(key), "%s|%d", e->hostport, e->skip_verify);
    return e->tls ? map_get(&r->tls, key) : NULL;
}

static int copy_strv(struct strv *dst, const struct strv *src)
{
    for (size_t i = 0; src && i < src->n; i++) {
        if (strv_push(dst, src->v[i]) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void copy_creds(struct auth_config *dst, const struct auth_config *src)
{
    memset(dst, 0, sizeof(*dst));
    if (!src)
        return;
    dst->username = src->username ? strdup(src->username) : NULL;
    dst->password = src->password ? strdup(src->password) : NULL;
    dst->identity_token = src->identity_token ? strdup(src->identity_token) : NULL;
    dst->registry_token = src->registry_token ? strdup(src->registry_token) : NULL;
}

int registry_open(uv_loop_t *loop, struct httpc_pool *pool, const struct registry_opts *o,
                  const char *domain, const char *repository, const char *actions,
                  const struct auth_config *creds, registry_ready_fn ready, void *ud,
                  struct registry **ret, struct berr *err)
{
    struct registry *r = calloc(1, sizeof(*r));
    if (!r)
        return berr_set(err, 500, ENOMEM, "out of memory");
    r->loop = loop;
    r->pool = pool;
    r->refs = 1;
    r->timeout_ms = o->timeout_ms;
    r->retries = o->retries;
    list_init(&r->reqs);
    list_init(&r->auth_waiters);
    r->certs_dir = o->certs_dir ? strdup(o->certs_dir) : NULL;
    r->domain = strdup(domain);
    r->repo = repository ? strdup(repository) : NULL;
    r->actions = actions ? strdup(actions) : NULL;
    copy_creds(&r->creds, creds);
    r->ready = ready;
    r->ready_ud = ud;
    if (!r->domain || copy_strv(&r->insecure, o->insecure) < 0 ||
        copy_strv(&r->mirrors, o->mirrors) < 0) {
        registry_free(r);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    build_endpoints(r);
    berr_set(&r->last_err, 500, EHOSTUNREACH, "no endpoint for %s", domain);
    *ret = r;
    try_endpoint(r);
    return 0;
}
