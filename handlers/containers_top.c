/* GET /containers/{name}/top?ps_args=: moby's ContainerTopOKBody,
 * {"Titles":[...],"Processes":[[...],...]}. */
#include "containers.h"
#include "runtime/ctr_manage.h"

static cJSON *strv_json(const struct strv *v)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < v->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v->v[i]));
    return a;
}

static void top_done(void *ud, const struct berr *err, const struct ctr_top *top)
{
    struct srv_req *req = ud;
    req->on_abort = NULL;
    if (err->status) {
        srv_reply_berr(req, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "Titles", strv_json(&top->titles));
    cJSON *procs = cJSON_AddArrayToObject(o, "Processes");
    for (size_t i = 0; i < top->nrows; i++)
        cJSON_AddItemToArray(procs, strv_json(&top->rows[i]));
    srv_reply_json(req, 200, o);
}

void h_containers_top(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    req->on_abort = ctr_req_abort_ignore; /* the ps job still ends the request */
    rt_top(&((struct engine *)srv_req_ctx(req))->rt, c, srv_req_query(req, "ps_args"), top_done,
           req);
}
