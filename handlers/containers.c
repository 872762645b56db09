/* Helpers shared by the container handlers. */
#include "containers.h"

bool ctr_ready(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    if (e->store && e->rt.ctrs.root)
        return true;
    srv_reply_error(req, 503, "the container runtime is not available");
    return false;
}

struct container *ctr_from_req(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    if (!ctr_ready(req))
        return NULL;
    struct container *c = ctr_lookup(&e->rt.ctrs, req->params[0], &err);
    if (!c)
        srv_reply_berr(req, &err);
    return c;
}

void ctr_req_abort_ignore(struct srv_req *req)
{
    (void)req; /* the pending callback still ends the request */
}

void ctr_reply_204(void *ud, const struct berr *err)
{
    struct srv_req *req = ud;
    req->on_abort = NULL;
    if (err->status)
        srv_reply_berr(req, err);
    else
        srv_reply_empty(req, 204);
}
