/* POST /containers/{name}/wait?condition=not-running|next-exit|removed. The
 * 200 and headers go out at once (the CLI sends this before start and
 * waits for them), the body when the condition holds. */
#include <stdlib.h>
#include <string.h>

#include "containers.h"

struct wait_req {
    struct ctr_waiter w;
    struct srv_req *req;
};

static void fired(void *ud, int exit_code, const char *error)
{
    struct wait_req *wr = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "StatusCode", exit_code);
    if (error && *error)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "Error"), "Message", error);
    else
        cJSON_AddNullToObject(o, "Error");
    wr->req->on_abort = NULL;
    srv_stream_write_json(wr->req, o);
    cJSON_Delete(o);
    srv_stream_end(wr->req);
    free(wr);
}

static void on_abort(struct srv_req *req)
{
    struct wait_req *wr = req->data;
    rt_wait_cancel(&wr->w);
    req->on_abort = NULL;
    srv_stream_end(req);
    free(wr);
}

static int parse_condition(const char *s, enum rt_wait_cond *ret)
{
    if (!s || !*s || !strcmp(s, "not-running"))
        *ret = WAIT_NOT_RUNNING;
    else if (!strcmp(s, "next-exit"))
        *ret = WAIT_NEXT_EXIT;
    else if (!strcmp(s, "removed"))
        *ret = WAIT_REMOVED;
    else
        return -1;
    return 0;
}

void h_containers_wait(struct srv_req *req)
{
    enum rt_wait_cond cond;
    const char *cs = srv_req_query(req, "condition");
    if (parse_condition(cs, &cond) < 0) {
        srv_reply_error(req, 400, "invalid condition: \"%s\"", cs);
        return;
    }
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct wait_req *wr = calloc(1, sizeof(*wr));
    if (!wr) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    wr->req = req;
    wr->w.cond = cond;
    wr->w.fn = fired;
    wr->w.ud = wr;
    req->data = wr;
    req->on_abort = on_abort;
    srv_stream_begin(req, 200, "application/json");
    rt_wait(&((struct engine *)srv_req_ctx(req))->rt, c, &wr->w);
}
