/* The JSON half of `docker commit` (commit.h): moby's
 * CreateImageFromContainer (BuildFromConfig of the changes, then merge with
 * the container's Config) and image.NewChildImage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "common/buf.h"
#include "common/macros.h"
#include "images.h"
#include "images_json.h"
#include "runtime/ctr_config.h"
#include "storage/manifest.h"

/* ---- Config ---- */

static bool empty_value(const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return true;
    if (cJSON_IsString(v))
        return !*v->valuestring;
    if (cJSON_IsNumber(v))
        return v->valuedouble == 0;
    return (cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child;
}

cJSON *commit_config_shape(const cJSON *src)
{
    static const char *const omitempty[] = {"ExposedPorts",    "Healthcheck", "ArgsEscaped",
                                            "NetworkDisabled", "MacAddress",  "StopSignal",
                                            "StopTimeout",     "Shell"};
    cJSON *o = images_config_shape(src);
    for (size_t i = 0; o && i < ARRAY_SIZE(omitempty); i++)
        if (empty_value(cJSON_GetObjectItemCaseSensitive(o, omitempty[i])))
            cJSON_DeleteItemFromObjectCaseSensitive(o, omitempty[i]);
    return o;
}

/* moby's merge leaves Labels a map, empty at least. */
static int labels_object(cJSON *cfg)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(cfg, "Labels");
    if (cJSON_IsObject(l))
        return 0;
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "Labels");
    return cJSON_AddObjectToObject(cfg, "Labels") ? 0 : -ENOMEM;
}

int commit_new_config(const cJSON *base, const cJSON *ctr_config, const char *const *changes,
                      size_t nchanges, cJSON **ret, struct berr *err)
{
    *ret = NULL;
    cJSON *cfg = cJSON_Duplicate(base ? base : ctr_config, true);
    if (!cfg)
        cfg = cJSON_CreateObject();
    int r = cfg ? images_apply_changes(cfg, changes, nchanges, err) : -ENOMEM;
    if (r == 0 && (ctr_config_fill(cfg, ctr_config) < 0 || labels_object(cfg) < 0))
        r = -ENOMEM;
    cJSON *shaped = r == 0 ? commit_config_shape(cfg) : NULL;
    if (r == 0 && !shaped)
        r = -ENOMEM;
    cJSON_Delete(cfg);
    if (r == -ENOMEM)
        berr_set(err, 500, ENOMEM, "out of memory");
    *ret = shaped;
    return r;
}

/* ---- the image config ---- */

static bool add(cJSON *o, const char *key, cJSON *item)
{
    if (item && cJSON_AddItemToObject(o, key, item))
        return true;
    cJSON_Delete(item);
    return false;
}

static bool add_str(cJSON *o, const char *key, const char *v, bool omitempty)
{
    return (omitempty && (!v || !*v)) || add(o, key, cJSON_CreateString(v ? v : ""));
}

static bool add_copy(cJSON *o, const char *key, const cJSON *v)
{
    return !v || add(o, key, cJSON_Duplicate(v, true));
}

/* moby's history entry: the container's command as created_by. */
static cJSON *history_entry(const cJSON *ctr_config, const struct commit_info *ci)
{
    struct buf by = BUF_INIT;
    const cJSON *arg, *cmd = cJSON_GetObjectItemCaseSensitive(ctr_config, "Cmd");
    const cJSON *args = cJSON_IsArray(cmd) ? cmd : NULL;
    cJSON_ArrayForEach(arg, args)
    {
        if (cJSON_IsString(arg) && buf_printf(&by, "%s%s", by.len ? " " : "", arg->valuestring) < 0)
            break;
    }
    cJSON *h = cJSON_CreateObject();
    bool ok = h && add_str(h, "created", ci->created, false) &&
              add_str(h, "author", ci->author, true) && add_str(h, "created_by", by.data, true) &&
              add_str(h, "comment", ci->comment, true) &&
              (ci->diff_id || add(h, "empty_layer", cJSON_CreateTrue()));
    buf_done(&by);
    if (!ok) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

static cJSON *history(const cJSON *parent, const cJSON *ctr_config, const struct commit_info *ci)
{
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(parent, "history");
    cJSON *h = cJSON_IsArray(ph) ? cJSON_Duplicate(ph, true) : cJSON_CreateArray();
    cJSON *entry = h ? history_entry(ctr_config, ci) : NULL;
    if (!entry || !cJSON_AddItemToArray(h, entry)) {
        cJSON_Delete(entry);
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

static cJSON *rootfs(const cJSON *parent, const char *diff_id)
{
    const cJSON *prf = cJSON_GetObjectItemCaseSensitive(parent, "rootfs");
    const cJSON *pids = cJSON_GetObjectItemCaseSensitive(prf, "diff_ids");
    cJSON *ids = cJSON_IsArray(pids) ? cJSON_Duplicate(pids, true) : cJSON_CreateArray();
    if (ids && diff_id && !cJSON_AddItemToArray(ids, cJSON_CreateString(diff_id))) {
        cJSON_Delete(ids);
        return NULL;
    }
    cJSON *o = ids ? cJSON_CreateObject() : NULL;
    bool ok = o && add_str(o, "type", "layers", false) &&
              (!cJSON_GetArraySize(ids) || cJSON_AddItemToObject(o, "diff_ids", ids));
    if (ok && !cJSON_GetArraySize(ids))
        cJSON_Delete(ids);
    if (!ok) {
        cJSON_Delete(ids);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static const char *parent_str(const cJSON *parent, const char *key, const char *def)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(parent, key));
    return v && *v ? v : def;
}

/* Keys added in sorted order: moby sorts the top level. */
static bool add_all(cJSON *o, const cJSON *parent, const cJSON *config, const cJSON *ctr_config,
                    const struct commit_info *ci)
{
    struct platform host;
    platform_host(&host);
    return add_str(o, "architecture", parent_str(parent, "architecture", host.architecture),
                   false) &&
           add_str(o, "author", ci->author, true) && add_str(o, "comment", ci->comment, true) &&
           add(o, "config", commit_config_shape(config)) &&
           add_str(o, "container", ci->container_id, false) &&
           add(o, "container_config", commit_config_shape(ctr_config)) &&
           add_str(o, "created", ci->created, false) &&
           add_str(o, "docker_version", ci->docker_version, false) &&
           add(o, "history", history(parent, ctr_config, ci)) &&
           add_str(o, "os", parent_str(parent, "os", "linux"), false) &&
           add_copy(o, "os.features", cJSON_GetObjectItemCaseSensitive(parent, "os.features")) &&
           add_str(o, "os.version", parent_str(parent, "os.version", ""), true) &&
           add(o, "rootfs", rootfs(parent, ci->diff_id)) &&
           add_str(o, "variant", parent_str(parent, "variant", ""), true);
}

char *commit_image_config(const cJSON *parent, const cJSON *config, const cJSON *ctr_config,
                          const struct commit_info *ci)
{
    cJSON *o = cJSON_CreateObject();
    char *text = o && add_all(o, parent, config, ctr_config, ci) ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}
