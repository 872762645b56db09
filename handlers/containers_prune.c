/* POST /containers/prune?filters=: moby's ContainersPrune. Every container
 * that is not running and matches the filters (until, label, label!) is
 * removed the way DELETE /containers/{id} removes it (one `destroy` event
 * each); failures are logged and skipped. SpaceReclaimed adds up their
 * writable layers, measured before removal, and a container `prune` event
 * (attribute `reclaimed`) closes the operation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "containers.h"
#include "filters.h"
#include "prune_reply.h"
#include "runtime/ctr_manage.h"

/* moby refuses a second prune while one runs (daemon.pruneRunning). */
static bool prune_running;

struct prune {
    struct srv_req *req;
    struct engine *e;
    struct container **cs; /* candidates, each with a reference */
    int64_t *sizes;
    size_t n, next;
    bool sync, pending; /* rt_remove may answer before it returns */
    cJSON *deleted;
    int64_t reclaimed;
};

struct prune_query {
    struct filters f;
    bool has_until;
    int64_t until_ns;
};

static int parse_query(struct srv_req *req, struct prune_query *q, struct berr *err)
{
    static const char *const allowed[] = {"label", "label!", "until", NULL};
    if (filters_parse(srv_req_query(req, "filters"), &q->f, err) < 0 ||
        filters_validate(&q->f, allowed, err) < 0)
        return -EINVAL;
    return prune_until(&q->f, &q->has_until, &q->until_ns, err);
}

/* The container's labels as event attributes, for prune_labels_match(). */
static bool labels_match(const struct prune_query *q, const struct container *c)
{
    struct event_attr attrs[128];
    size_t n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(c->config, "Labels"))
    {
        if (n < 128 && cJSON_IsString(l))
            attrs[n++] = (struct event_attr){l->string, l->valuestring};
    }
    return prune_labels_match(&q->f, attrs, n);
}

/* Not running, not being created, started or removed right now. */
static bool removable(const struct container *c)
{
    return !c->removed && !ctr_is_running(c) && !c->creating && !c->starting &&
           c->st.status != CTR_REMOVING;
}

static bool candidate(const struct prune_query *q, const struct container *c)
{
    if (!removable(c))
        return false;
    if (q->has_until && c->created_ns > q->until_ns)
        return false;
    return labels_match(q, c);
}

static void prune_free(struct prune *p)
{
    for (size_t i = 0; i < p->n; i++)
        ctr_unref(p->cs[i]);
    free(p->cs);
    free(p->sizes);
    cJSON_Delete(p->deleted);
    free(p);
}

static void finish(struct prune *p)
{
    cJSON *o =
        prune_reply(p->e->events, "container", "ContainersDeleted", p->deleted, p->reclaimed);
    p->deleted = NULL;
    prune_running = false;
    p->req->on_abort = NULL;
    srv_reply_json(p->req, 200, o);
    prune_free(p);
}

static void remove_next(struct prune *p);

static void removed(void *ud, const struct berr *err)
{
    struct prune *p = ud;
    struct container *c = p->cs[p->next];
    if (err->status) {
        log_warn("failed to prune container %.12s: %s", c->id, err->msg);
    } else {
        cJSON_AddItemToArray(p->deleted, cJSON_CreateString(c->id));
        if (p->sizes[p->next] > 0)
            p->reclaimed += p->sizes[p->next];
    }
    p->next++;
    p->pending = false;
    if (!p->sync)
        remove_next(p);
}

/* One removal at a time, in list order (as moby's loop). */
static void remove_next(struct prune *p)
{
    while (p->next < p->n) {
        struct container *c = p->cs[p->next];
        if (!removable(c)) { /* started or removed while its size was measured */
            p->next++;
            continue;
        }
        p->sync = p->pending = true;
        rt_remove(&p->e->rt, c, false, removed, p);
        p->sync = false;
        if (p->pending)
            return;
    }
    finish(p);
}

static void sizes_done(void *ud, const int64_t *size_rw, size_t n)
{
    struct prune *p = ud;
    for (size_t i = 0; i < p->n; i++)
        p->sizes[i] = i < n ? size_rw[i] : -1;
    remove_next(p);
}

static int collect(struct prune *p, const struct prune_query *q)
{
    struct ctr_table *t = &p->e->rt.ctrs;
    p->cs = calloc(t->by_id.len + 1, sizeof(*p->cs));
    p->sizes = calloc(t->by_id.len + 1, sizeof(*p->sizes));
    p->deleted = cJSON_CreateArray();
    if (!p->cs || !p->sizes || !p->deleted)
        return -ENOMEM;
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&t->by_id, &i, &k, &v);) {
        if (candidate(q, v)) {
            ctr_ref(v);
            p->cs[p->n++] = v;
        }
    }
    return 0;
}

void h_containers_prune(struct srv_req *req)
{
    if (!ctr_ready(req))
        return;
    struct prune_query q = {0};
    struct berr err = {0};
    if (parse_query(req, &q, &err) < 0) {
        filters_done(&q.f);
        srv_reply_berr(req, &err);
        return;
    }
    if (prune_running) {
        filters_done(&q.f);
        srv_reply_error(req, 409, "a prune operation is already running");
        return;
    }
    struct prune *p = calloc(1, sizeof(*p));
    if (p) {
        p->req = req;
        p->e = srv_req_ctx(req);
    }
    int rc = p ? collect(p, &q) : -ENOMEM;
    filters_done(&q.f);
    if (rc < 0) {
        if (p)
            prune_free(p);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    prune_running = true;
    req->on_abort = ctr_req_abort_ignore; /* the removals still run to their end */
    rt_sizes(&p->e->rt, p->cs, p->n, sizes_done, p);
}
