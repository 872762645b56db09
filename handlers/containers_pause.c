/* POST /containers/{name}/pause and /unpause: moby's postContainersPause
 * and postContainersUnpause, 204 once the freezer has done its work. */
#include "containers.h"

void h_containers_pause(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    req->on_abort = ctr_req_abort_ignore; /* the freeze still runs to its end */
    rt_pause(&((struct engine *)srv_req_ctx(req))->rt, c, ctr_reply_204, req);
}

void h_containers_unpause(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    req->on_abort = ctr_req_abort_ignore;
    rt_unpause(&((struct engine *)srv_req_ctx(req))->rt, c, ctr_reply_204, req);
}
