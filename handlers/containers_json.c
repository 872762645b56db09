/* GET /containers/{name}/json (ContainerJSON) and the shared pieces of the
 * container documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "containers.h"
#include "containers_shape.h"
#include "runtime/ctr_config.h"
#include "runtime/ctr_manage.h"
#include "runtime/exec.h"

static void add_time(cJSON *o, const char *key, int64_t ns)
{
    char t[TIME_RFC3339_MAX];
    if (ns)
        time_format_rfc3339nano(ns, t);
    else
        snprintf(t, sizeof(t), "0001-01-01T00:00:00Z");
    cJSON_AddStringToObject(o, key, t);
}

static cJSON *state_json(const struct container *c)
{
    cJSON *s = cJSON_CreateObject();
    const struct ctr_state *st = &c->st;
    cJSON_AddStringToObject(s, "Status", ctr_status_name(st->status));
    cJSON_AddBoolToObject(s, "Running", ctr_is_running(c));
    cJSON_AddBoolToObject(s, "Paused", st->status == CTR_PAUSED);
    cJSON_AddBoolToObject(s, "Restarting", st->status == CTR_RESTARTING);
    cJSON_AddBoolToObject(s, "OOMKilled", st->oom_killed);
    cJSON_AddBoolToObject(s, "Dead", st->status == CTR_DEAD);
    cJSON_AddNumberToObject(s, "Pid", ctr_is_running(c) ? st->pid : 0);
    cJSON_AddNumberToObject(s, "ExitCode", st->exit_code);
    cJSON_AddStringToObject(s, "Error", st->error);
    add_time(s, "StartedAt", st->started_ns);
    add_time(s, "FinishedAt", st->finished_ns);
    return s;
}

static void add_path(cJSON *o, const char *key, const struct container *c, const char *file)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", c->dir, file);
    cJSON_AddStringToObject(o, key, p);
}

static cJSON *graph_driver(struct engine *e, const struct container *c)
{
    cJSON *g = cJSON_CreateObject(), *d = cJSON_CreateObject();
    bool vfs = e->store->driver == STORE_VFS;
    cJSON_AddStringToObject(g, "Name", vfs ? "vfs" : "overlay2");
    cJSON_AddItemToObject(g, "Data", d);
    if (vfs)
        return g;
    struct image *img = store_image_by_id(e->store, c->image_id);
    char lower[8192] = "", p[4096];
    size_t n = 0;
    for (size_t i = img ? img->nchain : 0; i > 0 && n < sizeof(lower); i--) {
        store_layer_diff_dir(e->store, img->chain[i - 1], p, sizeof(p));
        n += (size_t)snprintf(lower + n, sizeof(lower) - n, "%s%s", n ? ":" : "", p);
    }
    cJSON_AddStringToObject(d, "LowerDir", lower);
    add_path(d, "MergedDir", c, "merged");
    add_path(d, "UpperDir", c, "upper");
    add_path(d, "WorkDir", c, "work");
    return g;
}

static void add_path_args(cJSON *o, const struct container *c)
{
    struct strv argv = {0};
    struct berr err = {0};
    ctr_config_argv(c->config, &argv, &err);
    cJSON_AddStringToObject(o, "Path", argv.n ? argv.v[0] : "");
    cJSON *args = cJSON_AddArrayToObject(o, "Args");
    for (size_t i = 1; i < argv.n; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(argv.v[i]));
    strv_done(&argv);
}

static void add_files(cJSON *o, const struct container *c)
{
    add_path(o, "ResolvConfPath", c, "resolv.conf");
    add_path(o, "HostnamePath", c, "hostname");
    add_path(o, "HostsPath", c, "hosts");
    char log[4200];
    snprintf(log, sizeof(log), "%s-json.log", c->id);
    add_path(o, "LogPath", c, log);
}

/* null when there are none, as moby's nil slice */
static void add_exec_ids(cJSON *o, struct engine *e, const struct container *c)
{
    struct strv ids = {0};
    cJSON *arr = NULL;
    if (rt_exec_live_ids(&e->rt, c, &ids) == 0 && ids.n)
        arr = cJSON_CreateStringArray((const char *const *)ids.v, (int)ids.n);
    strv_done(&ids);
    cJSON_AddItemToObject(o, "ExecIDs", arr ? arr : cJSON_CreateNull());
}

cJSON *ctr_inspect_json(struct engine *e, const struct container *c)
{
    cJSON *o = cJSON_CreateObject();
    char name[260];
    cJSON_AddStringToObject(o, "Id", c->id);
    add_time(o, "Created", c->created_ns);
    add_path_args(o, c);
    cJSON_AddItemToObject(o, "State", state_json(c));
    cJSON_AddStringToObject(o, "Image", c->image_id);
    add_files(o, c);
    snprintf(name, sizeof(name), "/%s", c->name);
    cJSON_AddStringToObject(o, "Name", name);
    cJSON_AddNumberToObject(o, "RestartCount", c->st.restart_count);
    cJSON_AddStringToObject(o, "Driver", e->store->driver == STORE_VFS ? "vfs" : "overlay2");
    cJSON_AddStringToObject(o, "Platform", "linux");
    cJSON_AddStringToObject(o, "MountLabel", "");
    cJSON_AddStringToObject(o, "ProcessLabel", "");
    cJSON_AddStringToObject(o, "AppArmorProfile", "");
    add_exec_ids(o, e, c);
    cJSON_AddItemToObject(o, "HostConfig", cJSON_Duplicate(c->host_config, true));
    cJSON_AddItemToObject(o, "GraphDriver", graph_driver(e, c));
    cJSON_AddItemToObject(o, "Mounts", ctr_mounts_json(c));
    cJSON_AddItemToObject(o, "Config", cJSON_Duplicate(c->config, true));
    cJSON_AddItemToObject(o, "NetworkSettings", ctr_network_settings_json(c, true));
    return o;
}

/* inspect --size: the document as it was asked for, sizes added once
 * measured on a worker. */
struct inspect_size {
    struct srv_req *req;
    cJSON *doc;
    int64_t image_size;
};

static void inspect_sized(void *ud, const int64_t *size_rw, size_t n)
{
    struct inspect_size *is = ud;
    int64_t rw = n > 0 && size_rw[0] > 0 ? size_rw[0] : 0;
    json_add_int64(is->doc, "SizeRw", rw);
    json_add_int64(is->doc, "SizeRootFs", rw + is->image_size);
    is->req->on_abort = NULL;
    srv_reply_json(is->req, 200, is->doc);
    free(is);
}

void h_containers_inspect(struct srv_req *req)
{
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct engine *e = srv_req_ctx(req);
    cJSON *doc = ctr_inspect_json(e, c);
    if (!srv_req_query_bool(req, "size")) {
        srv_reply_json(req, 200, doc);
        return;
    }
    struct inspect_size *is = calloc(1, sizeof(*is));
    if (!is) {
        cJSON_Delete(doc);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    *is = (struct inspect_size){req, doc, rt_image_size(&e->rt, c)};
    req->on_abort = ctr_req_abort_ignore; /* inspect_sized still ends the request */
    rt_sizes(&e->rt, &c, 1, inspect_sized, is);
}
