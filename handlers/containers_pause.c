/* POST /containers/{name}/pause and /unpause: moby's postContainersPause
 * and postContainersUnpause, 204 once the freezer has done its work. */
#include "containers.h"

static void freeze_replied(void *ud, const struct berr *err)
{
    struct srv_req *req = ud;
    req->on_abort = NULL;
    if (err->status)
        srv_reply_berr(req, err);
    else
        srv_reply_empty(req, 204);
}

void h_containers_pause(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    req->on_abort = ctr_req_abort_ignore; /* the freeze still runs to its end */
    rt_pause(&((struct engine *)srv_req_ctx(req))->rt, c, freeze_replied, req);
}

void h_containers_unpause(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    req->on_abort = ctr_req_abort_ignore;
    rt_unpause(&((struct engine *)srv_req_ctx(req))->rt, c, freeze_replied, req);
}
