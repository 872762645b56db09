#include "system.h"

#include <errno.h>
#include <string.h>

#include "berth_version.h"
#include "common/jsonutil.h"
#include "containers.h"
#include "engine.h"
#include "images.h"
#include "images_json.h"

void h_ping(struct srv_req *req)
{
    /* Builder-Version 1 = classic builder: POST /build (API-NOTES 4.9). */
    static const char headers[] = "Cache-Control: no-cache, no-store, must-revalidate\r\n"
                                  "Pragma: no-cache\r\nBuilder-Version: 1\r\nSwarm: inactive\r\n";
    srv_add_header_lines(req, headers, sizeof(headers) - 1);
    bool head = req->method == SRV_HEAD;
    srv_reply(req, 200, "text/plain; charset=utf-8", head ? NULL : "OK", head ? 0 : 2);
}

static void add_version_fields(cJSON *o, const struct engine *e, bool strings_only)
{
    cJSON_AddStringToObject(o, "ApiVersion", BERTH_API_VERSION);
    cJSON_AddStringToObject(o, "MinAPIVersion", BERTH_API_MIN);
    cJSON_AddStringToObject(o, "GitCommit", BERTH_GIT_COMMIT);
    cJSON_AddStringToObject(o, "GoVersion", "");
    cJSON_AddStringToObject(o, "Os", "linux");
    cJSON_AddStringToObject(o, "Arch", e->host.goarch);
    cJSON_AddStringToObject(o, "KernelVersion", e->host.kernel);
    cJSON_AddStringToObject(o, "BuildTime", BERTH_BUILD_TIME);
    /* Components[].Details is map[string]string in the Go client. */
    if (strings_only)
        cJSON_AddStringToObject(o, "Experimental", "false");
    else
        cJSON_AddBoolToObject(o, "Experimental", false);
}

void h_version(struct srv_req *req)
{
    const struct engine *e = srv_req_ctx(req);
    cJSON *o = cJSON_CreateObject();
    cJSON *platform = cJSON_AddObjectToObject(o, "Platform");
    cJSON_AddStringToObject(platform, "Name", "berth");
    cJSON *components = cJSON_AddArrayToObject(o, "Components");
    cJSON *engine = cJSON_CreateObject();
    cJSON_AddStringToObject(engine, "Name", "Engine");
    cJSON_AddStringToObject(engine, "Version", BERTH_VERSION);
    add_version_fields(cJSON_AddObjectToObject(engine, "Details"), e, true);
    cJSON_AddItemToArray(components, engine);
    cJSON_AddStringToObject(o, "Version", BERTH_VERSION);
    add_version_fields(o, e, false);
    srv_reply_json(req, 200, o);
}

static const char *const df_types[] = {"container", "image", "volume", "build-cache", NULL};

static int check_df_types(struct srv_req *req, struct berr *err)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, "type") != 0)
            continue;
        bool ok = false;
        for (const char *const *t = df_types; *t && !ok; t++)
            ok = strcmp(*t, req->query[i].value) == 0;
        if (!ok)
            return berr_set(err, 400, EINVAL, "unknown object type: %s", req->query[i].value);
    }
    return 0;
}

/* Images come from the image store (an engine run without one, as the spec
 * and fuzz harnesses do, reports none), containers from the runtime with
 * their layers measured on a worker; volumes once that store exists. */
static void df_reply(struct srv_req *req, cJSON *containers)
{
    const struct engine *e = srv_req_ctx(req);
    const struct store *s = e ? e->store : NULL;
    cJSON *images = s ? images_df_summaries(s, req->api_minor) : cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    if (!o || !images || !containers) {
        cJSON_Delete(o);
        cJSON_Delete(images);
        cJSON_Delete(containers);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    json_add_int64(o, "LayersSize", s ? images_layers_size(s) : 0);
    cJSON_AddItemToObject(o, "Images", images);
    cJSON_AddItemToObject(o, "Containers", containers);
    cJSON_AddArrayToObject(o, "Volumes");
    cJSON_AddArrayToObject(o, "BuildCache");
    srv_reply_json(req, 200, o);
}

void h_system_df(struct srv_req *req)
{
    const struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    if (check_df_types(req, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    if (e && e->store && e->rt.ctrs.root)
        ctr_summaries_sized(req, df_reply);
    else
        df_reply(req, cJSON_CreateArray());
}
