/* GET /containers/{name}/changes (`docker diff`): moby's []archive.Change,
 * [{"Path": "/x", "Kind": 1}] with Kind 0 modified, 1 added, 2 deleted,
 * and null when nothing changed (moby's nil slice). The container may be
 * running or not; its layer is walked on a worker (storage/layer_archive.h
 * has the rules). */
#include <errno.h>
#include <stdlib.h>

#include "common/job.h"
#include "common/macros.h"
#include "containers.h"
#include "runtime/ctr_layer.h"

struct changes_req {
    struct job job;
    struct srv_req *req;
    struct layer_src src;
    struct layer_changes out;
};

static int changes_run(struct job *job)
{
    struct changes_req *cr = container_of(job, struct changes_req, job);
    return layer_changes_sync(&cr->src, &job->stop, &cr->out, &job->err);
}

static cJSON *changes_json(const struct layer_changes *ch)
{
    if (ch->n == 0)
        return cJSON_CreateNull();
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < ch->n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "Path", ch->v[i].path) ||
            !cJSON_AddNumberToObject(o, "Kind", ch->v[i].kind) || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static void changes_free(struct changes_req *cr)
{
    layer_src_done(&cr->src);
    layer_changes_done(&cr->out);
    free(cr);
}

static void changes_done(struct job *job)
{
    struct changes_req *cr = container_of(job, struct changes_req, job);
    struct srv_req *req = cr->req;
    req->on_abort = NULL;
    cJSON *arr = job->result < 0 ? NULL : changes_json(&cr->out);
    if (job->result < 0)
        srv_reply_berr(req, &job->err);
    else if (!arr)
        srv_reply_error(req, 500, "out of memory");
    else
        srv_reply_json(req, 200, arr);
    changes_free(cr);
}

void h_containers_changes(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    struct changes_req *cr = calloc(1, sizeof(*cr));
    if (!cr) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    cr->req = req;
    if (ctr_layer_src(&e->rt, c, &cr->src, &err) < 0) {
        changes_free(cr);
        srv_reply_berr(req, &err);
        return;
    }
    job_init(&cr->job, changes_run, changes_done);
    if (job_queue(e->loop, &cr->job) < 0) {
        changes_free(cr);
        srv_reply_error(req, 500, "cannot queue the walk of the container's layer");
        return;
    }
    req->on_abort = ctr_req_abort_ignore; /* the job still ends the request */
}
