/* start, stop, restart, kill, wait, remove, rename (moby's
 * container_routes.go semantics: 304 for "already in that state", 409 for
 * operations on a container in the wrong state). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "containers.h"

void h_containers_start(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    if (c->st.status == CTR_PAUSED) {
        srv_reply_error(req, 409, "cannot start a paused container, try unpause instead");
        return;
    }
    if (ctr_is_running(c)) {
        srv_reply_empty(req, 304);
        return;
    }
    req->on_abort = ctr_req_abort_ignore;
    rt_start(&((struct engine *)srv_req_ctx(req))->rt, c, ctr_reply_204, req);
}

static int stop_params(struct srv_req *req, const char **ret_sig, int *ret_t)
{
    struct berr err = {0};
    int64_t t;
    const char *sig = srv_req_query(req, "signal");
    int signo;
    if (srv_req_query_int(req, "t", -1, &t, &err) < 0) {
        srv_reply_berr(req, &err);
        return -EINVAL;
    }
    if (sig && *sig && rt_signal_parse(sig, &signo) < 0) {
        srv_reply_error(req, 400, "Invalid signal: %s", sig);
        return -EINVAL;
    }
    *ret_sig = sig && *sig ? sig : NULL;
    *ret_t = t < -1 ? -1 : t > 1000000 ? 1000000 : (int)t;
    return 0;
}

void h_containers_stop(struct srv_req *req)
{
    const char *sig;
    int t;
    if (stop_params(req, &sig, &t) < 0)
        return;
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    if (!ctr_is_running(c)) {
        srv_reply_empty(req, 304);
        return;
    }
    req->on_abort = ctr_req_abort_ignore;
    rt_stop(&((struct engine *)srv_req_ctx(req))->rt, c, sig, t, ctr_reply_204, req);
}

struct restart_ctx {
    struct srv_req *req;
    struct rt *rt;
    struct container *c;
};

/* Docker reports a restart as kill/die/stop, start, then "restart". */
static void restart_started(void *ud, const struct berr *err)
{
    struct restart_ctx *rc = ud;
    if (!err->status)
        rt_event(rc->rt, rc->c, "restart", NULL);
    ctr_reply_204(rc->req, err);
    ctr_unref(rc->c);
    free(rc);
}

static void restart_stopped(void *ud, const struct berr *err)
{
    struct restart_ctx *rc = ud;
    if (!err->status && !rc->c->removed) {
        rt_start(rc->rt, rc->c, restart_started, rc);
        return;
    }
    ctr_reply_204(rc->req, err->status ? err : &(struct berr){404, "container removed"});
    ctr_unref(rc->c);
    free(rc);
}

void h_containers_restart(struct srv_req *req)
{
    const char *sig;
    int t;
    if (stop_params(req, &sig, &t) < 0)
        return;
    struct container *c = ctr_from_req(req);
    struct restart_ctx *rc = c ? calloc(1, sizeof(*rc)) : NULL;
    if (!rc) {
        if (c)
            srv_reply_error(req, 500, "out of memory");
        return;
    }
    *rc = (struct restart_ctx){req, &((struct engine *)srv_req_ctx(req))->rt, c};
    ctr_ref(c);
    req->on_abort = ctr_req_abort_ignore;
    if (ctr_is_running(c))
        rt_stop(rc->rt, c, sig, t, restart_stopped, rc);
    else
        restart_stopped(rc, &(struct berr){0});
}

void h_containers_kill(struct srv_req *req)
{
    const char *s = srv_req_query(req, "signal");
    int sig = SIGKILL;
    if (s && *s && rt_signal_parse(s, &sig) < 0) {
        srv_reply_error(req, 400, "Invalid signal: %s", s);
        return;
    }
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct berr err = {0};
    if (rt_kill(&((struct engine *)srv_req_ctx(req))->rt, c, sig, &err) < 0)
        srv_reply_berr(req, &err);
    else
        srv_reply_empty(req, 204);
}

void h_containers_delete(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    bool force = srv_req_query_bool(req, "force");
    if (ctr_is_running(c) && !force) {
        if (c->st.status == CTR_PAUSED) /* moby's cleanupContainer wording */
            srv_reply_error(req, 409,
                            "cannot remove container \"/%s\": container is paused and must be "
                            "unpaused first",
                            c->name);
        else
            srv_reply_error(req, 409,
                            "cannot remove container \"/%s\": container is %s: stop the "
                            "container before removing or force remove",
                            c->name, ctr_status_name(c->st.status));
        return;
    }
    req->on_abort = ctr_req_abort_ignore;
    rt_remove(&((struct engine *)srv_req_ctx(req))->rt, c, force, ctr_reply_204, req);
}

void h_containers_rename(struct srv_req *req)
{
    const char *name = srv_req_query(req, "name");
    if (!name || !*name) {
        srv_reply_error(req, 400, "Neither old nor new names may be empty");
        return;
    }
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    char old[260];
    snprintf(old, sizeof(old), "/%s", c->name);
    if (ctr_table_rename(&e->rt.ctrs, c, name, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    rt_save_config(&e->rt, c);
    const char *extra[] = {"oldName", old, NULL};
    rt_event(&e->rt, c, "rename", extra);
    srv_reply_empty(req, 204);
}
