/* GET /containers/json?all=&limit=&size=&filters=: moby's Containers. Newest
 * first; stopped containers only with all=1 (or a filter that implies it:
 * status, exited, before, since, limit). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "containers.h"
#include "containers_shape.h"
#include "filters.h"
#include "runtime/ctr_config.h"
#include "runtime/ctr_manage.h"

struct list_opts {
    bool all, size;
    int64_t limit;
    struct filters f;
    int64_t before_ns, since_ns; /* 0 = unset */
    struct engine *e;
};

static bool match_labels(const struct list_opts *o, const struct container *c)
{
    if (!filters_has(&o->f, "label"))
        return true;
    struct event_attr attrs[128];
    size_t n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(c->config, "Labels"))
    {
        if (n < 128 && cJSON_IsString(l))
            attrs[n++] = (struct event_attr){l->string, l->valuestring};
    }
    return filters_match_labels(&o->f, "label", attrs, n);
}

static bool match_exited(const struct list_opts *o, const struct container *c)
{
    const struct strv *v = filters_get(&o->f, "exited");
    if (!v)
        return true;
    if (c->st.status != CTR_EXITED)
        return false;
    for (size_t i = 0; i < v->n; i++)
        if (atoi(v->v[i]) == c->st.exit_code)
            return true;
    return false;
}

static bool match_ancestor(const struct list_opts *o, const struct container *c)
{
    const struct strv *v = filters_get(&o->f, "ancestor");
    if (!v)
        return true;
    for (size_t i = 0; i < v->n; i++) {
        struct berr err = {0};
        struct image *img = store_image_lookup(o->e->store, v->v[i], &err);
        if (img && !strcmp(img->id, c->image_id))
            return true;
    }
    return false;
}

static bool match(const struct list_opts *o, const struct container *c)
{
    char name[260];
    snprintf(name, sizeof(name), "/%s", c->name);
    if (!o->all && !ctr_is_running(c))
        return false;
    if (o->before_ns && c->created_ns >= o->before_ns)
        return false;
    if (o->since_ns && c->created_ns <= o->since_ns)
        return false;
    return (!filters_has(&o->f, "id") || filters_match_fuzzy(&o->f, "id", c->id)) &&
           (!filters_has(&o->f, "name") || filters_match_fuzzy(&o->f, "name", name)) &&
           (!filters_has(&o->f, "status") ||
            filters_match_exact(&o->f, "status", ctr_status_name(c->st.status))) &&
           match_labels(o, c) && match_exited(o, c) && match_ancestor(o, c);
}

static void add_command(cJSON *o, const struct container *c)
{
    struct strv argv = {0};
    struct berr err = {0};
    char cmd[4096] = "";
    size_t n = 0;
    ctr_config_argv(c->config, &argv, &err);
    for (size_t i = 0; i < argv.n && n < sizeof(cmd); i++)
        n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s%s", i ? " " : "", argv.v[i]);
    strv_done(&argv);
    cJSON_AddStringToObject(o, "Command", cmd);
}

static cJSON *summary(const struct container *c, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(o, "Names");
    char name[260], status[128];
    snprintf(name, sizeof(name), "/%s", c->name);
    cJSON_AddItemToArray(names, cJSON_CreateString(name));
    cJSON_AddStringToObject(o, "Id", c->id);
    cJSON_AddStringToObject(o, "Image", c->image_name ? c->image_name : c->image_id);
    cJSON_AddStringToObject(o, "ImageID", c->image_id);
    add_command(o, c);
    json_add_int64(o, "Created", c->created_ns / 1000000000);
    cJSON_AddItemToObject(o, "Ports", cJSON_CreateArray());
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c->config, "Labels");
    cJSON_AddItemToObject(
        o, "Labels", cJSON_IsObject(labels) ? cJSON_Duplicate(labels, true) : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "State", ctr_status_name(c->st.status));
    ctr_status_text(c, now, status, sizeof(status));
    cJSON_AddStringToObject(o, "Status", status);
    cJSON *hc = cJSON_AddObjectToObject(o, "HostConfig");
    cJSON_AddStringToObject(hc, "NetworkMode", c->hc.network_mode);
    cJSON_AddItemToObject(o, "NetworkSettings", ctr_network_settings_json(c, false));
    cJSON_AddItemToObject(o, "Mounts", ctr_mounts_json(c));
    return o;
}

static int cmp_created(const void *a, const void *b)
{
    const struct container *x = *(struct container *const *)a, *y = *(struct container *const *)b;
    return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

static int ref_time(struct engine *e, const struct strv *v, int64_t *ret, struct berr *err)
{
    if (!v || v->n == 0)
        return 0;
    struct container *c = ctr_lookup(&e->rt.ctrs, v->v[0], err);
    if (!c)
        return -ENOENT;
    *ret = c->created_ns;
    return 0;
}

static int parse_opts(struct srv_req *req, struct list_opts *o, struct berr *err)
{
    static const char *const allowed[] = {"id",     "name",    "label",  "status",  "ancestor",
                                          "exited", "before",  "since",  "health",  "network",
                                          "volume", "publish", "expose", "is-task", NULL};
    o->e = srv_req_ctx(req);
    o->all = srv_req_query_bool(req, "all");
    o->size = srv_req_query_bool(req, "size");
    if (srv_req_query_int(req, "limit", -1, &o->limit, err) < 0 ||
        filters_parse(srv_req_query(req, "filters"), &o->f, err) < 0)
        return -EINVAL;
    if (filters_validate(&o->f, allowed, err) < 0 ||
        ref_time(o->e, filters_get(&o->f, "before"), &o->before_ns, err) < 0 ||
        ref_time(o->e, filters_get(&o->f, "since"), &o->since_ns, err) < 0)
        return -EINVAL;
    if (o->limit > 0 || filters_has(&o->f, "status") || filters_has(&o->f, "exited") ||
        o->before_ns || o->since_ns)
        o->all = true;
    return 0;
}

/* A size=1 list waiting for the writable layers to be measured. */
struct list_sizes {
    struct srv_req *req;
    cJSON *arr;
    int64_t *image_size; /* per summary, read when the list was made */
    ctr_summaries_fn done;
};

/* SizeRw as measured; SizeRootFs adds the image (moby: rw + image). A
 * layer that could not be measured counts as empty. */
static void sizes_done(void *ud, const int64_t *size_rw, size_t n)
{
    struct list_sizes *ls = ud;
    size_t i = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, ls->arr)
    {
        int64_t rw = i < n && size_rw[i] > 0 ? size_rw[i] : 0;
        json_add_int64(o, "SizeRw", rw);
        json_add_int64(o, "SizeRootFs", rw + ls->image_size[i]);
        i++;
    }
    ls->req->on_abort = NULL;
    ls->done(ls->req, ls->arr);
    free(ls->image_size);
    free(ls);
}

static void reply_list(struct srv_req *req, cJSON *arr)
{
    srv_reply_json(req, 200, arr);
}

/* Measures the listed containers' layers on a worker, then replies. */
static void reply_with_sizes(struct srv_req *req, struct engine *e, cJSON *arr,
                             struct container **v, size_t n, ctr_summaries_fn done)
{
    struct list_sizes *ls = calloc(1, sizeof(*ls));
    if (ls)
        ls->image_size = calloc(n + 1, sizeof(*ls->image_size));
    if (!ls || !ls->image_size) {
        free(ls);
        cJSON_Delete(arr);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        ls->image_size[i] = rt_image_size(&e->rt, v[i]);
    ls->req = req;
    ls->arr = arr;
    ls->done = done;
    req->on_abort = ctr_req_abort_ignore; /* sizes_done still ends the request */
    rt_sizes(&e->rt, v, n, sizes_done, ls);
}

void h_containers_list(struct srv_req *req)
{
    if (!ctr_ready(req))
        return;
    struct list_opts o = {0};
    struct berr err = {0};
    if (parse_opts(req, &o, &err) < 0) {
        filters_done(&o.f);
        srv_reply_berr(req, &err);
        return;
    }
    struct ctr_table *t = &o.e->rt.ctrs;
    struct container **v = calloc(t->by_id.len + 1, sizeof(*v));
    size_t n = 0;
    const char *k;
    void *val;
    for (size_t i = 0; v && map_next(&t->by_id, &i, &k, &val);)
        if (match(&o, val))
            v[n++] = val;
    qsort(v, n, sizeof(*v), cmp_created);
    cJSON *arr = cJSON_CreateArray();
    int64_t now = time_now_ns();
    if (o.limit > 0 && (int64_t)n > o.limit)
        n = (size_t)o.limit;
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, summary(v[i], now));
    filters_done(&o.f);
    if (o.size && v)
        reply_with_sizes(req, o.e, arr, v, n, reply_list);
    else
        srv_reply_json(req, 200, arr);
    free(v);
}

void ctr_summaries_sized(struct srv_req *req, ctr_summaries_fn done)
{
    struct engine *e = srv_req_ctx(req);
    struct ctr_table *t = &e->rt.ctrs;
    struct container **v = calloc(t->by_id.len + 1, sizeof(*v));
    cJSON *arr = cJSON_CreateArray();
    if (!v || !arr) {
        free(v);
        cJSON_Delete(arr);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    size_t n = 0;
    const char *k;
    void *val;
    for (size_t i = 0; map_next(&t->by_id, &i, &k, &val);)
        v[n++] = val;
    qsort(v, n, sizeof(*v), cmp_created);
    int64_t now = time_now_ns();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, summary(v[i], now));
    reply_with_sizes(req, e, arr, v, n, done);
    free(v);
}
