/* Internal: state shared by registry.c (endpoints, authentication),
 * registry_req.c (requests) and registry_tls.c (trust per host). */
#ifndef BERTH_STORAGE_REGISTRY_INTERNAL_H
#define BERTH_STORAGE_REGISTRY_INTERNAL_H

#include <errno.h>

#include "common/list.h"
#include "common/map.h"
#include "registry.h"

#define REG_MAX_ENDPOINTS 8

struct endpoint {
    char base[300];     /* "https://host:port" */
    char hostport[264]; /* certs.d directory name and Host header */
    bool tls;
    bool skip_verify;
};

struct registry {
    uv_loop_t *loop;
    struct httpc_pool *pool;
    struct strv insecure, mirrors;
    char *certs_dir;
    unsigned timeout_ms;
    int retries;
    char *domain, *repo, *actions;
    struct auth_config creds;
    struct endpoint eps[REG_MAX_ENDPOINTS];
    size_t neps, cur;
    struct map tls; /* "host|verify" -> struct tls_conf* */
    struct auth_challenge chal;
    bool have_chal;
    char *token; /* Bearer token */
    bool authed; /* credentials were checked and accepted */
    registry_ready_fn ready;
    void *ready_ud;
    bool ready_called, closing;
    struct list reqs;           /* live struct reg_req */
    int refs;                   /* the owner, plus each internal step in flight */
    struct httpc_req *step_req; /* ping or token request in flight */
    bool token_busy;            /* a token request is in flight */
    struct list auth_waiters;   /* struct reg_req waiting for a fresh token */
    struct berr last_err;
};

struct reg_req {
    struct registry *r;
    struct list link;
    char *method;
    char *url;
    struct strv headers;
    char *body;
    size_t body_len;
    unsigned flags;
    struct reg_cbs cb;
    void *ud;
    struct list auth_link; /* r->auth_waiters while waiting for a token */
    struct httpc_req *h;
    int redirects, attempts;
    bool auth_retried, collecting_error, finished, passed_head, other_host;
    bool tls_pending, cancel_requested;
    int status;
    struct buf errbody;
};

/* Connection-level failures worth another attempt (not TLS or HTTP errors,
 * which the next attempt would meet again). */
static inline bool reg_retryable(int result)
{
    return result == -EIO || result == -ECONNRESET || result == -ETIMEDOUT || result == -EPIPE;
}

/* registry.c */
void reg_ref(struct registry *r);
void reg_unref(struct registry *r);
/* After a 401 mid-operation: gets a token for the new challenge, then calls
 * reg_req_reauthed(q, ...). Requests arriving meanwhile share one fetch. */
void reg_reauth(struct registry *r, const char *challenge, struct reg_req *q);
/* The Authorization header for requests to the endpoint ("" when anonymous). */
void reg_auth_header(const struct registry *r, struct buf *out);

/* The chosen endpoint's trust (NULL for http). */
struct tls_conf *reg_endpoint_tls(struct registry *r);

/* registry_tls.c: trust for a host, built on a worker the first time. */
typedef void (*reg_tls_fn)(struct registry *r, struct tls_conf *conf, const struct berr *err,
                           void *ud);
void reg_tls_get(struct registry *r, const char *hostport, bool skip_verify, reg_tls_fn done,
                 void *ud);
void reg_tls_clear(struct registry *r);

/* registry_req.c */
void reg_req_cancel_all(struct registry *r);
void reg_req_reauthed(struct reg_req *q, int result, const struct berr *err);

#endif
