/* POST /containers/{name}/update: moby's postContainerUpdate. The body is
 * checked before the container is looked up, as Docker does; the reply is
 * {"Warnings":[...]}. */
#include "containers.h"
#include "containers_shape.h"
#include "runtime/ctr_manage.h"

static void update_done(void *ud, const struct berr *err, const struct cg_warnings *warn)
{
    struct srv_req *req = ud;
    req->on_abort = NULL;
    if (err->status) {
        srv_reply_berr(req, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    ctr_add_warnings(o, warn);
    srv_reply_json(req, 200, o);
}

void h_containers_update(struct srv_req *req)
{
    if (!ctr_ready(req))
        return;
    struct engine *e = srv_req_ctx(req);
    struct ctr_update u;
    struct berr err = {0};
    if (rt_update_parse(&e->rt, req->body, req->body_len, &u, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    struct container *c = ctr_from_req(req);
    if (!c) {
        ctr_update_done(&u);
        return;
    }
    req->on_abort = ctr_req_abort_ignore; /* the update still runs to its end */
    rt_update(&e->rt, c, &u, update_done, req);
}
