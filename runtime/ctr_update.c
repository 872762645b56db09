/* `docker update`, as moby's ContainerUpdate: the request is checked on its
 * own first (verifyContainerSettings, update=true), then merged into the
 * container's HostConfig with Docker's rules (0 = unchanged) and conflicts
 * (409), written live to a running container's cgroup on a worker, and
 * only then kept, persisted and announced with the `update` event. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/macros.h"
#include "ctr_internal.h"
#include "ctr_manage.h"

/* ---- parsing the request --------------------------------------------------- */

static const char *const int_keys[] = {
    "Memory",           "MemorySwap",   "MemoryReservation", "NanoCpus",
    "CpuShares",        "CpuPeriod",    "CpuQuota",          "PidsLimit",
    "BlkioWeight",      "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime",
    "MemorySwappiness", "CpuCount",     "CpuPercent",
};

/* Go's decoder refuses a value of the wrong type; null leaves the field
 * alone. Docker's message names the field. */
static int check_type(const cJSON *o, const char *key, int type, struct berr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    bool ok = (v->type & 0xff) == type;
    if (ok && type == cJSON_Number)
        ok = v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 && /* false for NaN */
             v->valuedouble == (double)(int64_t)v->valuedouble;
    if (ok)
        return 0;
    const char *go = type == cJSON_Number ? "int64" : type == cJSON_String ? "string" : "struct";
    char what[48]; /* Go names a number by its value: "number 1.5" */
    if (cJSON_IsNumber(v))
        snprintf(what, sizeof(what), "number %.17g", v->valuedouble);
    else
        snprintf(what, sizeof(what), "%s", json_kind_name(v));
    return berr_set(err, 400, EINVAL,
                    "invalid JSON: json: cannot unmarshal %s into Go struct field "
                    "UpdateConfig.%s of type %s",
                    what, key, go);
}

static int check_types(const cJSON *body, struct berr *err)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(int_keys); i++)
        r = check_type(body, int_keys[i], cJSON_Number, err);
    if (r == 0)
        r = check_type(body, "CpusetCpus", cJSON_String, err);
    if (r == 0)
        r = check_type(body, "CpusetMems", cJSON_String, err);
    if (r == 0)
        r = check_type(body, "RestartPolicy", cJSON_Object, err);
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(body, "RestartPolicy");
    if (r == 0)
        r = check_type(rp, "Name", cJSON_String, err);
    if (r == 0)
        r = check_type(rp, "MaximumRetryCount", cJSON_Number, err);
    return r;
}

/* A policy with a name replaces the container's; its checks and wording
 * are the create ones (ctr_hostcfg_parse of just that member). */
static int parse_restart(const cJSON *body, struct ctr_update *u, struct berr *err)
{
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(body, "RestartPolicy");
    const char *name = json_get_str(rp, "Name");
    if (!name || !*name)
        return 0;
    cJSON *mini = cJSON_CreateObject();
    cJSON *copy = cJSON_Duplicate(rp, true);
    if (!mini || !copy || !cJSON_AddItemToObject(mini, "RestartPolicy", copy)) {
        cJSON_Delete(mini);
        cJSON_Delete(copy);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    struct ctr_hostcfg hc = {0};
    int r = ctr_hostcfg_parse(mini, &hc, err);
    cJSON_Delete(mini);
    if (r < 0)
        return r;
    u->has_restart = true;
    u->restart = cJSON_CreateObject();
    if (!u->restart || !cJSON_AddStringToObject(u->restart, "Name", ctr_restart_name(hc.restart)) ||
        !json_add_int64(u->restart, "MaximumRetryCount", hc.restart_max))
        r = berr_set(err, 500, ENOMEM, "out of memory");
    ctr_hostcfg_done(&hc);
    return r;
}

/* Docker keeps what verifyPlatformContainerResources adjusted (features
 * the host lacks are dropped): the merge uses those values. */
static void keep_adjusted(struct ctr_update *u, const struct cg_limits *l)
{
    struct ctr_resources *r = &u->res;
    r->memory = l->memory;
    r->memory_swap = l->memory_swap;
    r->memory_reservation = l->memory_reservation;
    r->cpu_shares = l->cpu_shares;
    r->cpu_period = l->cpu_period;
    r->cpu_quota = l->cpu_quota;
    r->blkio_weight = l->blkio_weight;
    if (u->has_pids && l->pids_limit == 0 && r->pids_limit > 0)
        u->has_pids = false; /* no pids controller: moby drops PidsLimit */
    r->pids_limit = l->pids_limit;
    if (!l->cpuset_cpus && r->cpuset_cpus)
        r->cpuset_cpus[0] = '\0';
    if (!l->cpuset_mems && r->cpuset_mems)
        r->cpuset_mems[0] = '\0';
}

static int check_limits(const struct rt *rt, struct ctr_update *u, struct berr *err)
{
    struct ctr_hostcfg tmp = {.res = u->res};
    struct cg_limits lim;
    ctr_limits_from(&tmp, &lim);
    lim.privileged = false;
    if (cgroup_validate(&rt->cg, &lim, true, &u->warn, err) < 0)
        return -EINVAL;
    keep_adjusted(u, &lim);
    return 0;
}

/* PidsLimit: present means set; 0 and below mean unlimited (moby's
 * postContainerUpdate). */
static void parse_pids(const cJSON *body, struct ctr_update *u)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "PidsLimit");
    u->has_pids = cJSON_IsNumber(p);
    u->res.pids_limit = u->has_pids && p->valuedouble > 0 ? (int64_t)p->valuedouble : 0;
}

static int parse_body(const struct rt *rt, const cJSON *body, struct ctr_update *u,
                      struct berr *err)
{
    if (!cJSON_IsObject(body))
        return berr_set(err, 400, EINVAL,
                        "invalid JSON: json: cannot unmarshal %s into Go value of type "
                        "container.UpdateConfig",
                        json_kind_name(body));
    int r = check_types(body, err);
    if (r == 0)
        r = ctr_resources_parse(body, &u->res, err);
    if (r < 0)
        return r;
    parse_pids(body, u);
    r = check_limits(rt, u, err);
    return r < 0 ? r : parse_restart(body, u, err);
}

int rt_update_parse(const struct rt *rt, const char *body, size_t len, struct ctr_update *u,
                    struct berr *err)
{
    memset(u, 0, sizeof(*u));
    u->res.memory_swappiness = -1;
    if (!body || len == 0) /* moby: an empty body is no error */
        return 0;
    cJSON *j = cJSON_ParseWithLength(body, len);
    int r = j ? parse_body(rt, j, u, err)
              : berr_set(err, 400, EINVAL, "invalid JSON: the request body is not a JSON document");
    cJSON_Delete(j);
    if (r < 0)
        ctr_update_done(u);
    return r < 0 ? r : 0;
}

void ctr_update_done(struct ctr_update *u)
{
    ctr_resources_done(&u->res);
    cJSON_Delete(u->restart);
    u->restart = NULL;
}

/* ---- merging --------------------------------------------------------------- */

static bool restart_is_none(const cJSON *rp)
{
    const char *n = json_get_str(rp, "Name");
    return !n || !*n || !strcmp(n, "no");
}

/* container.UpdateContainer's refusals. */
static int conflicts(const struct container *c, const struct ctr_update *u, struct berr *err)
{
    const struct ctr_resources *cur = &c->hc.res, *r = &u->res;
    const char *m = NULL;
    if (r->nano_cpus > 0 && cur->cpu_period > 0)
        m = "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set";
    else if (r->nano_cpus > 0 && cur->cpu_quota > 0)
        m = "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set";
    else if (r->cpu_period > 0 && cur->nano_cpus > 0)
        m = "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set";
    else if (r->cpu_quota > 0 && cur->nano_cpus > 0)
        m = "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set";
    else if (r->memory != 0 && r->memory > cur->memory_swap && r->memory_swap == 0)
        m = "Memory limit should be smaller than already set memoryswap limit, update the "
            "memoryswap at the same time";
    else if (u->restart && c->hc.auto_remove && !restart_is_none(u->restart))
        m = "Restart policy cannot be updated because AutoRemove is enabled for the container";
    return m ? berr_set(err, 409, EBUSY, "Cannot update container %s: %s", c->id, m) : 0;
}

static int set_item(cJSON *doc, const char *key, cJSON *v)
{
    if (!v)
        return -ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(doc, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(doc, key, v) ? 0 : -ENOMEM;
    return cJSON_AddItemToObject(doc, key, v) ? 0 : -ENOMEM;
}

static int set_nonzero(cJSON *doc, const char *key, int64_t v)
{
    return v ? set_item(doc, key, json_create_int64(v)) : 0;
}

static int set_nonempty(cJSON *doc, const char *key, const char *v)
{
    return v && *v ? set_item(doc, key, cJSON_CreateString(v)) : 0;
}

static int merge_doc(cJSON *doc, const struct ctr_update *u)
{
    const struct ctr_resources *r = &u->res;
    int rc = set_nonzero(doc, "BlkioWeight", r->blkio_weight);
    rc = rc ? rc : set_nonzero(doc, "CpuShares", r->cpu_shares);
    rc = rc ? rc : set_nonzero(doc, "NanoCpus", r->nano_cpus);
    rc = rc ? rc : set_nonzero(doc, "CpuPeriod", r->cpu_period);
    rc = rc ? rc : set_nonzero(doc, "CpuQuota", r->cpu_quota);
    rc = rc ? rc : set_nonempty(doc, "CpusetCpus", r->cpuset_cpus);
    rc = rc ? rc : set_nonempty(doc, "CpusetMems", r->cpuset_mems);
    rc = rc ? rc : set_nonzero(doc, "Memory", r->memory);
    rc = rc ? rc : set_nonzero(doc, "MemorySwap", r->memory_swap);
    rc = rc ? rc : set_nonzero(doc, "MemoryReservation", r->memory_reservation);
    if (rc == 0 && u->has_pids)
        rc = set_item(doc, "PidsLimit", json_create_int64(r->pids_limit));
    if (rc == 0 && u->restart)
        rc = set_item(doc, "RestartPolicy", cJSON_Duplicate(u->restart, true));
    return rc;
}

/* ---- one update of one container -------------------------------------------- */

struct update_op {
    struct list link; /* ops: in flight and waiting, oldest first */
    struct job job;
    struct rt *rt;
    struct container *c;
    struct ctr_update u;
    cJSON *doc;            /* the merged HostConfig */
    struct ctr_hostcfg hc; /* parsed from doc */
    struct cgroup cg;
    struct cg_limits lim, old; /* old: to put back if the kernel refuses */
    bool started;
    rt_update_fn done;
    void *ud;
};

/* Updates of one container run in arrival order: each merges into what
 * the previous one left. */
static struct list ops = {&ops, &ops};

static void op_start(struct update_op *op);

static void op_finish(struct update_op *op, const struct berr *err)
{
    struct container *c = op->c;
    list_del(&op->link);
    op->done(op->ud, err, &op->u.warn);
    cJSON_Delete(op->doc);
    ctr_hostcfg_done(&op->hc);
    ctr_update_done(&op->u);
    free(op);
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &ops)
    {
        struct update_op *next = container_of(pos, struct update_op, link);
        if (next->c == c && !next->started) {
            op_start(next);
            break;
        }
    }
    ctr_unref(c);
}

/* The new HostConfig becomes the container's (the old parsed one goes: no
 * start job borrows it, as a running or stopped container has none). */
static void op_commit(struct update_op *op)
{
    struct container *c = op->c;
    cJSON_Delete(c->host_config);
    c->host_config = op->doc;
    op->doc = NULL;
    ctr_hostcfg_done(&c->hc);
    c->hc = op->hc;
    memset(&op->hc, 0, sizeof(op->hc));
    rt_save_config(op->rt, c);
    rt_event(op->rt, c, "update", NULL);
    op_finish(op, &(struct berr){0});
}

static int update_run(struct job *job)
{
    struct update_op *op = container_of(job, struct update_op, job);
    int r = cgroup_update(&op->cg, &op->lim, &op->u.warn, &job->err);
    if (r < 0) {
        struct berr ignored = {0};
        struct cg_warnings w = {0};
        cgroup_update(&op->cg, &op->old, &w, &ignored);
    }
    return r;
}

static bool live(const struct container *c)
{
    return c->rt && !c->rt->exited && c->st.status != CTR_RESTARTING;
}

static void update_done(struct job *job)
{
    struct update_op *op = container_of(job, struct update_op, job);
    struct berr err = {0};
    if (job->cancelled)
        berr_set(&err, 500, ECANCELED, "Cannot update container %s: cancelled", op->c->id);
    else if (op->c->removed) /* removed (force) while the job ran */
        berr_set(&err, 404, ENOENT, "No such container: %s", op->c->id);
    else if (job->result < 0 && live(op->c))
        /* A container that exited meanwhile keeps the config for its next start. */
        berr_set(&err, job->err.status ? job->err.status : 500, EIO,
                 "Cannot update container %s: %s", op->c->id, job->err.msg);
    if (err.status)
        op_finish(op, &err);
    else
        op_commit(op);
}

static int state_check(const struct container *c, struct berr *err)
{
    if (c->removed)
        return berr_set(err, 404, ENOENT, "No such container: %s", c->id);
    if (c->st.status == CTR_REMOVING || c->st.status == CTR_DEAD)
        return berr_set(err, 409, EBUSY,
                        "Cannot update container %s: container is marked for removal and "
                        "cannot be \"update\"",
                        c->id);
    if (c->starting || c->creating)
        return berr_set(err, 409, EBUSY,
                        "Cannot update container %s: the container is being started, try again",
                        c->id);
    return 0;
}

/* Loop: the merged document parsed the way config.json is loaded. */
static int op_merge(struct update_op *op, struct berr *err)
{
    struct container *c = op->c;
    if (state_check(c, err) < 0 || conflicts(c, &op->u, err) < 0)
        return -EINVAL;
    op->doc = c->host_config ? cJSON_Duplicate(c->host_config, true) : cJSON_CreateObject();
    if (!op->doc || merge_doc(op->doc, &op->u) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (ctr_hostcfg_parse(op->doc, &op->hc, err) < 0) {
        berr_wrap(err, "Cannot update container %s", c->id);
        return -EINVAL;
    }
    return 0;
}

static void op_start(struct update_op *op)
{
    struct berr err = {0};
    op->started = true;
    if (op_merge(op, &err) < 0) {
        op_finish(op, &err);
        return;
    }
    if (!live(op->c)) {
        op_commit(op);
        return;
    }
    op->cg = op->c->rt->cg;
    ctr_limits_from(&op->hc, &op->lim);
    ctr_limits_from(&op->c->hc, &op->old);
    job_init(&op->job, update_run, update_done);
    if (job_queue(op->rt->loop, &op->job) < 0) {
        berr_set(&err, 500, EAGAIN, "Cannot update container %s: cannot queue work", op->c->id);
        op_finish(op, &err);
    }
}

void rt_update(struct rt *rt, struct container *c, struct ctr_update *u, rt_update_fn done,
               void *ud)
{
    struct update_op *op = calloc(1, sizeof(*op));
    if (!op) {
        done(ud, &(struct berr){500, "out of memory"}, &u->warn);
        ctr_update_done(u);
        return;
    }
    op->rt = rt;
    op->c = c;
    op->u = *u;
    memset(u, 0, sizeof(*u));
    op->done = done;
    op->ud = ud;
    ctr_ref(c);
    bool busy = false;
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &ops)
    {
        busy = busy || container_of(pos, struct update_op, link)->c == c;
    }
    list_add_tail(&ops, &op->link);
    if (!busy)
        op_start(op);
}
