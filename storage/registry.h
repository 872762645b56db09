/* Registry client (distribution API v2) on the loop: endpoint discovery,
 * authentication (anonymous, basic, Bearer tokens), redirects, and requests
 * whose bodies stream to the caller with backpressure.
 *
 * A `struct registry` serves one repository for one operation (a pull, a
 * push, a login). registry_open() finds a working endpoint — mirrors first
 * for docker.io, then https://host, then http://host when the registry is
 * insecure (configured, or loopback) — and authenticates; `ready` is called
 * once, later, with the result. Requests are made after that. */
#ifndef BERTH_STORAGE_REGISTRY_H
#define BERTH_STORAGE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/berr.h"
#include "common/config.h"
#include "common/httpc.h"
#include "registry_auth.h"

struct registry_opts {
    const struct strv *insecure; /* "host[:port]" or CIDR entries */
    const struct strv *mirrors;  /* docker.io mirrors, "https://mirror[:port]" */
    const char *certs_dir; /* Docker's certs.d layout: <dir>/<host[:port]>/ with CA .crt files and a
                              .cert/.key client pair */
    unsigned timeout_ms;   /* per connection/inactivity; 0 = 30 s */
    int retries;           /* extra attempts for connection-level failures */
};

struct registry;
struct reg_req;

typedef void (*registry_ready_fn)(struct registry *r, int result, const struct berr *err, void *ud);

int registry_open(uv_loop_t *loop, struct httpc_pool *pool, const struct registry_opts *o,
                  const char *domain, const char *repository, const char *actions,
                  const struct auth_config *creds, registry_ready_fn ready, void *ud,
                  struct registry **ret, struct berr *err);
/* Cancels its requests; memory goes once they have reported. */
void registry_close(struct registry *r);

/* The base URL chosen ("https://127.0.0.1:5000"), after ready. */
const char *registry_base(const struct registry *r);
/* Whether credentials were accepted by the registry (login). */
bool registry_authenticated(const struct registry *r);

enum reg_flags {
    REG_ANY_STATUS = 1 << 0, /* hand every status to the caller (HEAD probes, uploads) */
};

struct reg_cbs {
    int (*on_head)(struct reg_req *q, void *ud);
    int (*on_data)(struct reg_req *q, const char *data, size_t len, void *ud);
    /* result 0: the final response arrived whole. Without REG_ANY_STATUS a
     * non-2xx status ends the request with an error built from the
     * registry's {"errors":[...]} body (message and code in err). */
    void (*on_done)(struct reg_req *q, int result, const struct berr *err, void *ud);
};

/* path is relative to the endpoint ("/v2/library/busybox/manifests/latest")
 * or an absolute URL (upload locations). headers: "Name: value", NULL-terminated. */
int registry_request(struct registry *r, const char *method, const char *path,
                     const char *const *headers, const void *body, size_t body_len, unsigned flags,
                     const struct reg_cbs *cb, void *ud, struct reg_req **ret, struct berr *err);

int reg_req_status(const struct reg_req *q);
const char *reg_req_header(const struct reg_req *q, const char *name);
int64_t reg_req_content_length(const struct reg_req *q);
void reg_req_pause(struct reg_req *q);
void reg_req_resume(struct reg_req *q);
void reg_req_cancel(struct reg_req *q);

/* Registry error JSON ({"errors":[{"code","message","detail"}]}) to text:
 * "<message>" or "<code>: <message>"; the first error's code in ret_code. */
void registry_error_text(const char *body, size_t len, char *out, size_t outlen, char *ret_code,
                         size_t codelen);

/* Whether plain HTTP may be used for this host[:port] (loopback or listed). */
bool registry_is_insecure(const struct registry_opts *o, const char *hostport);

/* "docker.io" pulls go to registry-1.docker.io. */
const char *registry_api_host(const char *domain);

#endif
