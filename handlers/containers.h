/* Container endpoints: create, inspect, list, start, stop, kill, restart,
 * wait, remove, rename, prune, logs, attach, top, update, pause, unpause,
 * stats. */
#ifndef BERTH_HANDLERS_CONTAINERS_H
#define BERTH_HANDLERS_CONTAINERS_H

#include <cjson/cJSON.h>

#include "engine.h"
#include "runtime/container.h"
#include "runtime/rt.h"
#include "server/http.h"

/* A request that waits on the runtime and answers later. */
struct ctr_req_ctx {
    char id[CTR_ID_LEN + 1];
};

/* The container named by the first path parameter; replies 404 itself and
 * returns NULL when absent. */
struct container *ctr_from_req(struct srv_req *req);

/* False (503 sent) when the engine has no container runtime (fuzzing). */
bool ctr_ready(struct srv_req *req);

/* on_abort for requests whose runtime operation must still run to the end
 * (create, start, stop): the reply is simply dropped. */
void ctr_req_abort_ignore(struct srv_req *req);
/* An rt_done_fn for operations that answer 204 (start, stop, pause, ...):
 * the error, or 204 with no body; ud is the request. */
void ctr_reply_204(void *ud, const struct berr *err);

void h_containers_create(struct srv_req *req);

/* containers_json.c */
void h_containers_inspect(struct srv_req *req);
void h_containers_list(struct srv_req *req);
cJSON *ctr_inspect_json(struct engine *e, const struct container *c);

/* containers_lifecycle.c */
void h_containers_start(struct srv_req *req);
void h_containers_stop(struct srv_req *req);
void h_containers_restart(struct srv_req *req);
void h_containers_kill(struct srv_req *req);
void h_containers_wait(struct srv_req *req);
void h_containers_delete(struct srv_req *req);
void h_containers_rename(struct srv_req *req);
void h_containers_prune(struct srv_req *req);

/* containers_logs.c */
void h_containers_logs(struct srv_req *req);

/* containers_attach.c */
void h_containers_attach(struct srv_req *req);

/* containers_resize.c */
void h_containers_resize(struct srv_req *req);

/* containers_top.c */
void h_containers_top(struct srv_req *req);

/* containers_update.c */
void h_containers_update(struct srv_req *req);

/* containers_pause.c */
void h_containers_pause(struct srv_req *req);
void h_containers_unpause(struct srv_req *req);

/* containers_stats.c */
void h_containers_stats(struct srv_req *req);

/* containers_changes.c: GET /containers/{name}/changes (`docker diff`) */
void h_containers_changes(struct srv_req *req);

/* commit.c: POST /commit (`docker commit`) */
void h_commit(struct srv_req *req);

/* containers_prune.c: h_containers_prune, declared with the lifecycle. */

/* exec.c, exec_start.c: POST /containers/{name}/exec, /exec/{id}/... */
void h_exec_create(struct srv_req *req);
void h_exec_inspect(struct srv_req *req);
void h_exec_resize(struct srv_req *req);
void h_exec_start(struct srv_req *req);
struct rt_exec;
/* The exec named by the first path parameter (check: moby's state checks
 * for start and resize); replies 404/409 itself and returns NULL. */
struct rt_exec *exec_from_req(struct srv_req *req, bool check);
/* A POST /exec/{id}/start body (container.ExecStartOptions); 400. */
struct exec_start_body {
    bool detach, tty, has_console;
    unsigned console_hw[2];
};
int exec_start_parse(const struct srv_req *req, struct exec_start_body *ret, struct berr *err);

/* containers_archive.c (docker cp) and containers_export.c */
void h_containers_archive_head(struct srv_req *req);
void h_containers_archive_get(struct srv_req *req);
void h_containers_archive_put(struct srv_req *req);
void h_containers_export(struct srv_req *req);

/* Every container's /containers/json summary with SizeRw and SizeRootFs
 * (layers measured on a worker), handed to done, which owns arr and ends
 * the request (docker system df). */
typedef void (*ctr_summaries_fn)(struct srv_req *req, cJSON *arr);
void ctr_summaries_sized(struct srv_req *req, ctr_summaries_fn done);

#endif
