/* GET /images/{name}/json and GET /images/{name}/history, shaped as moby
 * v28's graphdriver image service answers API 1.47 clients. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "engine.h"
#include "images.h"
#include "images_json.h"

/* ---- Config: the image config's "config" with Docker's field set ---- */

enum cfg_default { CFG_STR, CFG_BOOL, CFG_NULL, CFG_OPTIONAL };

/* container.Config's order. Up to API 1.49 moby fills the keys that have a
 * default when the image lacks them (router/image/inspect_response.go
 * legacyConfigFields); the others appear only when the image sets them. */
static const struct {
    const char *key;
    enum cfg_default def;
} config_keys[] = {
    {"Hostname", CFG_STR},
    {"Domainname", CFG_STR},
    {"User", CFG_STR},
    {"AttachStdin", CFG_BOOL},
    {"AttachStdout", CFG_BOOL},
    {"AttachStderr", CFG_BOOL},
    {"ExposedPorts", CFG_OPTIONAL},
    {"Tty", CFG_BOOL},
    {"OpenStdin", CFG_BOOL},
    {"StdinOnce", CFG_BOOL},
    {"Env", CFG_NULL},
    {"Cmd", CFG_NULL},
    {"Healthcheck", CFG_OPTIONAL},
    {"ArgsEscaped", CFG_OPTIONAL},
    {"Image", CFG_STR},
    {"Volumes", CFG_NULL},
    {"WorkingDir", CFG_STR},
    {"Entrypoint", CFG_NULL},
    {"NetworkDisabled", CFG_OPTIONAL},
    {"MacAddress", CFG_OPTIONAL},
    {"OnBuild", CFG_NULL},
    {"Labels", CFG_NULL},
    {"StopSignal", CFG_OPTIONAL},
    {"StopTimeout", CFG_OPTIONAL},
    {"Shell", CFG_OPTIONAL},
};

static bool known_config_key(const char *key)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        if (strcmp(config_keys[i].key, key) == 0)
            return true;
    }
    return false;
}

static cJSON *config_default(enum cfg_default d)
{
    switch (d) {
    case CFG_STR:
        return cJSON_CreateString("");
    case CFG_BOOL:
        return cJSON_CreateFalse();
    case CFG_NULL:
        return cJSON_CreateNull();
    case CFG_OPTIONAL:
        break;
    }
    return NULL;
}

cJSON *images_config_shape(const cJSON *src)
{
    cJSON *out = cJSON_CreateObject();
    for (size_t i = 0; out && i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        const cJSON *have = cJSON_GetObjectItemCaseSensitive(src, config_keys[i].key);
        cJSON *v = have ? cJSON_Duplicate(have, true) : config_default(config_keys[i].def);
        if (v)
            cJSON_AddItemToObject(out, config_keys[i].key, v);
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, src)
    {
        if (out && it->string && !known_config_key(it->string))
            cJSON_AddItemToObject(out, it->string, cJSON_Duplicate(it, true));
    }
    return out;
}

/* ---- small fields ---- */

static const char *config_str(const struct image *img, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(img->config.json, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "+hh:mm" / "-hh:mm" at the end of an RFC 3339 time, in seconds; 0 for "Z". */
static int64_t zone_offset(const char *t)
{
    size_t n = strlen(t);
    if (n < 6 || (t[n - 6] != '+' && t[n - 6] != '-') || t[n - 3] != ':')
        return 0;
    int h = atoi(t + n - 5), m = atoi(t + n - 2);
    int64_t off = (int64_t)h * 3600 + (int64_t)m * 60;
    return t[n - 6] == '-' ? -off : off;
}

/* Go's Time.Format(RFC3339Nano) of the parsed "created": the instant in the
 * zone it was written in. "" when the config has none. */
static void created_string(const struct image *img, char *out, size_t outlen)
{
    const char *raw = config_str(img, "created");
    if (!*raw || img->config.created_ns == 0) {
        /* Absent, or outside int64 ns (Go's zero time): as written. */
        snprintf(out, outlen, "%s", raw);
        return;
    }
    int64_t off = zone_offset(raw);
    char t[TIME_RFC3339_MAX];
    time_format_rfc3339nano(img->config.created_ns + off * 1000000000LL, t);
    if (off == 0) {
        snprintf(out, outlen, "%s", t);
        return;
    }
    t[strlen(t) - 1] = '\0'; /* the "Z" */
    int64_t a = off < 0 ? -off : off;
    snprintf(out, outlen, "%s%c%02d:%02d", t, off < 0 ? '-' : '+', (int)(a / 3600),
             (int)(a % 3600 / 60));
}

/* moby: the config's comment, else the newest history entry's. */
static const char *comment_of(const struct image *img)
{
    const char *c = config_str(img, "comment");
    if (*c)
        return c;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(img->config.json, "history");
    int n = cJSON_GetArraySize(h);
    const cJSON *last = n > 0 ? cJSON_GetArrayItem(h, n - 1) : NULL;
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(last, "comment");
    return cJSON_IsString(lc) ? lc->valuestring : "";
}

/* Lower layers' diff dirs, nearest first, as overlay's lowerdir lists them. */
static char *lower_dirs(const struct store *s, const struct image *img)
{
    char *out = strdup(""), path[4096];
    for (size_t i = img->nchain - 1; out && i-- > 0;) {
        store_layer_diff_dir(s, img->chain[i], path, sizeof(path));
        char *next = NULL;
        if (asprintf(&next, "%s%s%s", out, *out ? ":" : "", path) < 0)
            next = NULL;
        free(out);
        out = next;
    }
    return out;
}

static void add_dir(cJSON *d, const char *key, const char *dir, const char *leaf)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, leaf) < 0)
        path = NULL;
    cJSON_AddStringToObject(d, key, path ? path : "");
    free(path);
}

/* overlay2's layer metadata for the top layer (vfs has none: null). */
static cJSON *graph_driver(const struct store *s, const struct image *img)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "Name", s->driver == STORE_VFS ? "vfs" : "overlay2");
    if (s->driver == STORE_VFS || img->nchain == 0) {
        cJSON_AddNullToObject(g, "Data");
        return g;
    }
    cJSON *d = cJSON_AddObjectToObject(g, "Data");
    const char *top = img->chain[img->nchain - 1];
    if (img->nchain > 1) {
        char *lower = lower_dirs(s, img);
        cJSON_AddStringToObject(d, "LowerDir", lower ? lower : "");
        free(lower);
    }
    char dir[4096];
    store_layer_dir(s, top, dir, sizeof(dir));
    add_dir(d, "MergedDir", dir, "merged");
    add_dir(d, "UpperDir", dir, "diff");
    add_dir(d, "WorkDir", dir, "work");
    return g;
}

static cJSON *rootfs(const struct image *img)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "Type", "layers");
    cJSON *layers = cJSON_AddArrayToObject(r, "Layers");
    for (size_t i = 0; i < img->config.ndiff_ids; i++)
        cJSON_AddItemToArray(layers, cJSON_CreateString(img->config.diff_ids[i]));
    return r;
}

static cJSON *metadata(const struct image *img)
{
    char t[TIME_RFC3339_MAX];
    int64_t ns = images_last_tag_ns(img->id);
    cJSON *m = cJSON_CreateObject();
    if (ns)
        time_format_rfc3339nano(ns, t);
    /* Go's zero time.Time: the image was never tagged through the API. */
    cJSON_AddStringToObject(m, "LastTagTime", ns ? t : "0001-01-01T00:00:00Z");
    return m;
}

/* ---- inspect ---- */

static void add_identity(cJSON *o, const struct image *img, int api_minor)
{
    char created[TIME_RFC3339_MAX + 8];
    created_string(img, created, sizeof(created));
    cJSON_AddStringToObject(o, "Id", img->id);
    cJSON_AddItemToObject(o, "RepoTags", images_familiar_list(&img->tags));
    cJSON_AddItemToObject(o, "RepoDigests", images_familiar_list(&img->digests));
    cJSON_AddStringToObject(o, "Parent", img->parent);
    cJSON_AddStringToObject(o, "Comment", comment_of(img));
    cJSON_AddStringToObject(o, "Created", created);
    if (api_minor < 45) { /* Container and ContainerConfig left in API 1.45 */
        cJSON_AddStringToObject(o, "Container", config_str(img, "container"));
        cJSON_AddItemToObject(o, "ContainerConfig",
                              images_config_shape(cJSON_GetObjectItemCaseSensitive(
                                  img->config.json, "container_config")));
    }
    cJSON_AddStringToObject(o, "DockerVersion", config_str(img, "docker_version"));
    cJSON_AddStringToObject(o, "Author", config_str(img, "author"));
}

static cJSON *inspect_json(const struct store *s, const struct image *img, int api_minor)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_identity(o, img, api_minor);
    cJSON_AddItemToObject(o, "Config", images_config_shape(images_config(img)));
    cJSON_AddStringToObject(o, "Architecture", img->config.architecture);
    if (img->config.variant[0])
        cJSON_AddStringToObject(o, "Variant", img->config.variant);
    cJSON_AddStringToObject(o, "Os", img->config.os);
    if (*config_str(img, "os.version"))
        cJSON_AddStringToObject(o, "OsVersion", config_str(img, "os.version"));
    json_add_int64(o, "Size", img->size);
    if (api_minor < 44)
        json_add_int64(o, "VirtualSize", img->size);
    cJSON_AddItemToObject(o, "GraphDriver", graph_driver(s, img));
    cJSON_AddItemToObject(o, "RootFS", rootfs(img));
    cJSON_AddItemToObject(o, "Metadata", metadata(img));
    return o;
}

void h_images_inspect(struct srv_req *req)
{
    struct store *s = images_store(req);
    if (!s)
        return;
    struct berr err = {0};
    const struct image *img = store_image_lookup(s, req->params[0], &err);
    if (!img) {
        srv_reply_berr(req, &err);
        return;
    }
    cJSON *o = inspect_json(s, img, req->api_minor);
    if (!o)
        srv_reply_error(req, 500, "out of memory");
    else
        srv_reply_json(req, 200, o);
}

/* ---- history ---- */

/* Go's Time.Unix: floor, also before 1970. */
static int64_t unix_sec(int64_t ns)
{
    return ns >= 0 ? ns / 1000000000LL : -((-ns + 999999999LL) / 1000000000LL);
}

static cJSON *history_item(const cJSON *h, int64_t size)
{
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(h, "created");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(h, "created_by");
    const cJSON *comment = cJSON_GetObjectItemCaseSensitive(h, "comment");
    int64_t ns = 0;
    if (cJSON_IsString(created) && parse_rfc3339(created->valuestring, &ns) < 0)
        ns = 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Comment", cJSON_IsString(comment) ? comment->valuestring : "");
    json_add_int64(o, "Created", unix_sec(ns));
    cJSON_AddStringToObject(o, "CreatedBy", cJSON_IsString(by) ? by->valuestring : "");
    cJSON_AddStringToObject(o, "Id", "<missing>");
    json_add_int64(o, "Size", size);
    cJSON_AddNullToObject(o, "Tags");
    return o;
}

/* Entries newest first; a non-empty entry takes the next layer's size. */
static int history_entries(const struct store *s, const struct image *img, cJSON *out,
                           struct berr *err)
{
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(img->config.json, "history"), *h;
    size_t layer = 0;
    cJSON_ArrayForEach(h, hist)
    {
        int64_t size = 0;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "empty_layer"))) {
            if (layer >= img->nchain)
                return berr_set(err, 500, EINVAL, "too many non-empty layers in History section");
            const struct layer *l = store_layer(s, img->chain[layer++]);
            size = l ? l->size : 0;
        }
        cJSON *item = history_item(h, size);
        if (!item)
            return berr_set(err, 500, ENOMEM, "out of memory");
        cJSON_InsertItemInArray(out, 0, item);
    }
    return 0;
}

/* The newest entry names the image and its tags; older ones its parents
 * (images built here), as far as they are known. */
static void name_entries(const struct store *s, const struct image *img, cJSON *out)
{
    cJSON *item;
    cJSON_ArrayForEach(item, out)
    {
        cJSON_ReplaceItemInObjectCaseSensitive(item, "Id", cJSON_CreateString(img->id));
        if (img->tags.n)
            cJSON_ReplaceItemInObjectCaseSensitive(item, "Tags", images_familiar_list(&img->tags));
        if (!img->parent[0] || !(img = store_image_by_id(s, img->parent)))
            break;
    }
}

void h_images_history(struct srv_req *req)
{
    struct store *s = images_store(req);
    if (!s)
        return;
    struct berr err = {0};
    const struct image *img = store_image_lookup(s, req->params[0], &err);
    cJSON *out = img ? cJSON_CreateArray() : NULL;
    if (img && !out)
        berr_set(&err, 500, ENOMEM, "out of memory");
    if (!out || history_entries(s, img, out, &err) < 0) {
        cJSON_Delete(out);
        srv_reply_berr(req, &err);
        return;
    }
    name_entries(s, img, out);
    srv_reply_json(req, 200, out);
}
