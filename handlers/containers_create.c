/* POST /containers/create?name=&platform=: moby's ContainerCreate. The body
 * is a Config with HostConfig and NetworkingConfig members. The image must be
 * present (404 "No such image" makes the CLI pull and retry); its config is
 * merged in; HostConfig is validated before anything is written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "containers.h"
#include "containers_shape.h"
#include "runtime/caps.h"
#include "runtime/ctr_config.h"
#include "runtime/ctr_validate.h"
#include "runtime/secopt.h"

static int new_id(char out[CTR_ID_LEN + 1])
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* The request body without HostConfig/NetworkingConfig is the Config. */
static int split_body(cJSON *body, struct container *c, struct berr *err)
{
    c->host_config = cJSON_DetachItemFromObjectCaseSensitive(body, "HostConfig");
    c->net_config = cJSON_DetachItemFromObjectCaseSensitive(body, "NetworkingConfig");
    if (c->host_config && cJSON_IsNull(c->host_config)) {
        cJSON_Delete(c->host_config);
        c->host_config = NULL;
    }
    if (!c->host_config && !(c->host_config = cJSON_CreateObject()))
        return berr_set(err, 500, ENOMEM, "out of memory");
    c->config = body;
    return 0;
}

/* Inspect shows these HostConfig members even when the client sent none
 * (docker-py reads LogConfig.Type after run). */
static void normalise_host_config(struct container *c)
{
    cJSON *hc = c->host_config;
    cJSON *lc = cJSON_GetObjectItemCaseSensitive(hc, "LogConfig");
    if (!cJSON_IsObject(lc)) {
        cJSON_DeleteItemFromObjectCaseSensitive(hc, "LogConfig");
        lc = cJSON_AddObjectToObject(hc, "LogConfig");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(lc, "Type");
    cJSON_AddStringToObject(lc, "Type", c->hc.log_type);
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(lc, "Config"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(lc, "Config");
        cJSON_AddObjectToObject(lc, "Config");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(hc, "NetworkMode");
    cJSON_AddStringToObject(hc, "NetworkMode", c->hc.network_mode);
    if (!cJSON_GetObjectItemCaseSensitive(hc, "RestartPolicy")) {
        cJSON *rp = cJSON_AddObjectToObject(hc, "RestartPolicy");
        cJSON_AddStringToObject(rp, "Name", "no");
        cJSON_AddNumberToObject(rp, "MaximumRetryCount", 0);
    }
}

static int set_default_hostname(struct container *c)
{
    const char *h = json_get_str(c->config, "Hostname");
    if (h && *h)
        return 0;
    char short_id[13];
    snprintf(short_id, sizeof(short_id), "%.12s", c->id);
    /* --network host shares the host's name, as Docker does */
    char host[256] = "";
    if (!strcmp(c->hc.network_mode, "host"))
        gethostname(host, sizeof(host) - 1);
    cJSON *v = cJSON_CreateString(*host ? host : short_id);
    if (!v)
        return -ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(c->config, "Hostname"))
        cJSON_ReplaceItemInObjectCaseSensitive(c->config, "Hostname", v);
    else
        cJSON_AddItemToObject(c->config, "Hostname", v);
    return 0;
}

/* What the reply needs once the create job is done. */
struct create_ctx {
    struct ctr_req_ctx base; /* first: ctr_req_abort_ignore frees it */
    struct cg_warnings warn;
};

/* Capabilities, security options, resources and log options fail at
 * create, not at start, as Docker's do. */
static int check_settings(const struct rt *rt, struct container *c, struct cg_warnings *warn,
                          struct berr *err)
{
    uint64_t mask = 0;
    uint64_t bounding = rt->cap_bounding; /* read once at startup: no file read here */
    if (caps_compute((const char *const *)c->hc.cap_add.v, c->hc.cap_add.n,
                     (const char *const *)c->hc.cap_drop.v, c->hc.cap_drop.n, c->hc.privileged,
                     bounding, &mask, err) < 0)
        return -EINVAL;
    struct secopt so;
    if (secopt_parse((const char *const *)c->hc.security_opt.v, c->hc.security_opt.n, &so, err) < 0)
        return -EINVAL;
    secopt_done(&so);
    struct logw_opts lo;
    if (ctr_resources_validate(rt, c, false, warn, err) < 0 || ctr_log_opts(c, &lo, err) < 0)
        return -EINVAL;
    return 0;
}

static int build(struct engine *e, struct srv_req *req, cJSON *body, struct image **ret_img,
                 struct container **ret, struct cg_warnings *warn, struct berr *err)
{
    const char *image = json_get_str(body, "Image");
    if (!image || !*image)
        return berr_set(err, 400, EINVAL, "No image specified");
    struct image *img = store_image_lookup(e->store, image, err);
    if (!img)
        return -ENOENT;
    char id[CTR_ID_LEN + 1], name[256];
    const char *qname = srv_req_query(req, "name");
    if (new_id(id) < 0)
        return berr_set(err, 500, EIO, "cannot generate a container id");
    if (qname && *qname)
        snprintf(name, sizeof(name), "%s", qname[0] == '/' ? qname + 1 : qname);
    else
        ctr_name_generate(&e->rt.ctrs, name, sizeof(name));
    if (ctr_name_check(&e->rt.ctrs, name, err) < 0)
        return -EINVAL;
    struct container *c = ctr_new(id, name, e->rt.ctrs.root);
    if (!c || !(c->image_name = strdup(image)))
        return ctr_unref(c), berr_set(err, 500, ENOMEM, "out of memory");
    snprintf(c->image_id, sizeof(c->image_id), "%s", img->id);
    c->created_ns = time_now_ns();
    *ret = c; /* from here the caller frees c on failure */
    if (split_body(body, c, err) < 0)
        return -ENOMEM;
    const cJSON *icfg = cJSON_GetObjectItemCaseSensitive(img->config.json, "config");
    if (ctr_config_merge(c->config, icfg, err) < 0 ||
        ctr_hostcfg_parse(c->host_config, &c->hc, err) < 0 ||
        check_settings(&e->rt, c, warn, err) < 0)
        return -EINVAL;
    normalise_host_config(c);
    if (set_default_hostname(c) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    *ret_img = img;
    return 0;
}

static void created(void *ud, const struct berr *err)
{
    struct srv_req *req = ud;
    struct create_ctx *ctx = req->data;
    req->on_abort = NULL;
    if (err->status) {
        srv_reply_berr(req, err);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Id", ctx->base.id);
        ctr_add_warnings(o, &ctx->warn);
        srv_reply_json(req, 201, o);
    }
    free(ctx);
}

void h_containers_create(struct srv_req *req)
{
    if (!ctr_ready(req))
        return;
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    cJSON *body = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        srv_reply_error(req, 400, "config cannot be empty in order to create a container");
        return;
    }
    struct container *c = NULL;
    struct image *img = NULL;
    struct create_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx || build(e, req, body, &img, &c, &ctx->warn, &err) < 0) {
        if (!ctx)
            berr_set(&err, 500, ENOMEM, "out of memory");
        free(ctx);
        if (c)
            ctr_unref(c); /* owns body now */
        else
            cJSON_Delete(body);
        srv_reply_berr(req, &err);
        return;
    }
    snprintf(ctx->base.id, sizeof(ctx->base.id), "%s", c->id);
    req->data = ctx;
    req->on_abort = ctr_req_abort_ignore;
    rt_create(&e->rt, c, img, created, req);
}
