/* Merging an image's config into a create request's Config, the way Docker
 * does it (moby daemon/commit.go merge): the user's values win, the image
 * fills what the user left empty (Env and Labels key by key, ExposedPorts and
 * Volumes as unions, Healthcheck member by member), and an Entrypoint given
 * by the user drops the image's Cmd. */
#include "ctr_config.h"

#include <errno.h>
#include <string.h>

#include "common/jsonutil.h"

static bool empty_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return true;
    if (cJSON_IsString(v))
        return !*v->valuestring;
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return cJSON_GetArraySize(v) == 0;
    return false;
}

static int take_from_image(cJSON *cfg, const cJSON *img, const char *key)
{
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(img, key);
    if (!iv || cJSON_IsNull(iv) || !empty_member(cfg, key))
        return 0;
    cJSON *copy = cJSON_Duplicate(iv, true);
    if (!copy)
        return -ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(cfg, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(cfg, key, copy) ? 0 : -ENOMEM;
    return cJSON_AddItemToObject(cfg, key, copy) ? 0 : -ENOMEM;
}

static cJSON *ensure_member(cJSON *cfg, const char *key, bool array)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (v && (array ? cJSON_IsArray(v) : cJSON_IsObject(v)))
        return v;
    cJSON *fresh = array ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!fresh)
        return NULL;
    if (v)
        cJSON_ReplaceItemInObjectCaseSensitive(cfg, key, fresh);
    else
        cJSON_AddItemToObject(cfg, key, fresh);
    return fresh;
}

static bool env_has_key(const cJSON *env, const char *entry)
{
    size_t klen = strcspn(entry, "=");
    const cJSON *e;
    cJSON_ArrayForEach(e, env)
    {
        if (cJSON_IsString(e) && strlen(e->valuestring) >= klen &&
            !strncmp(e->valuestring, entry, klen) &&
            (e->valuestring[klen] == '=' || e->valuestring[klen] == 0))
            return true;
    }
    return false;
}

static int merge_env(cJSON *cfg, const cJSON *img)
{
    const cJSON *ienv = cJSON_GetObjectItemCaseSensitive(img, "Env");
    if (!cJSON_IsArray(ienv) || cJSON_GetArraySize(ienv) == 0)
        return 0;
    cJSON *env = ensure_member(cfg, "Env", true);
    if (!env)
        return -ENOMEM;
    const cJSON *e;
    cJSON_ArrayForEach(e, ienv)
    {
        if (!cJSON_IsString(e) || env_has_key(env, e->valuestring))
            continue;
        if (!cJSON_AddItemToArray(env, cJSON_CreateString(e->valuestring)))
            return -ENOMEM;
    }
    return 0;
}

/* Labels, ExposedPorts, Volumes: add the image's keys the user lacks. */
static int merge_keys(cJSON *cfg, const cJSON *img, const char *key)
{
    const cJSON *iobj = cJSON_GetObjectItemCaseSensitive(img, key);
    if (!cJSON_IsObject(iobj) || cJSON_GetArraySize(iobj) == 0)
        return 0;
    cJSON *obj = ensure_member(cfg, key, false);
    if (!obj)
        return -ENOMEM;
    const cJSON *e;
    cJSON_ArrayForEach(e, iobj)
    {
        if (cJSON_GetObjectItemCaseSensitive(obj, e->string))
            continue;
        if (!cJSON_AddItemToObject(obj, e->string, cJSON_Duplicate(e, true)))
            return -ENOMEM;
    }
    return 0;
}

/* Healthcheck: the user's, with each member it leaves empty or zero taken
 * from the image's (moby's merge). */
static int merge_healthcheck(cJSON *cfg, const cJSON *img)
{
    static const char *const fields[] = {"Test",        "Interval",      "Timeout",
                                         "StartPeriod", "StartInterval", "Retries"};
    const cJSON *ihc = cJSON_GetObjectItemCaseSensitive(img, "Healthcheck");
    cJSON *hc = cJSON_GetObjectItemCaseSensitive(cfg, "Healthcheck");
    if (!cJSON_IsObject(ihc))
        return 0;
    if (!cJSON_IsObject(hc))
        return take_from_image(cfg, img, "Healthcheck");
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(hc, fields[i]);
        bool unset = empty_member(hc, fields[i]) || (cJSON_IsNumber(u) && u->valuedouble == 0);
        if (unset && cJSON_GetObjectItemCaseSensitive(ihc, fields[i])) {
            cJSON_DeleteItemFromObjectCaseSensitive(hc, fields[i]);
            if (take_from_image(hc, ihc, fields[i]) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* Entrypoint and Cmd: a user Entrypoint makes the image's Cmd irrelevant. */
static int merge_command(cJSON *cfg, const cJSON *img)
{
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(cfg, "Entrypoint");
    if (!empty_member(cfg, "Entrypoint"))
        return 0;
    int r = take_from_image(cfg, img, "Cmd");
    if (r == 0 && (!ep || cJSON_IsNull(ep)))
        r = take_from_image(cfg, img, "Entrypoint");
    return r;
}

int ctr_config_fill(cJSON *cfg, const cJSON *img)
{
    /* Only what moby's merge() takes: OnBuild and Shell stay the image's. */
    static const char *const scalars[] = {"User", "WorkingDir", "StopSignal"};
    int r = 0;
    for (size_t i = 0; img && r == 0 && i < sizeof(scalars) / sizeof(scalars[0]); i++)
        r = take_from_image(cfg, img, scalars[i]);
    if (img && r == 0)
        r = merge_env(cfg, img);
    if (img && r == 0)
        r = merge_healthcheck(cfg, img);
    if (img && r == 0)
        r = merge_keys(cfg, img, "Labels");
    if (img && r == 0)
        r = merge_keys(cfg, img, "ExposedPorts");
    if (img && r == 0)
        r = merge_keys(cfg, img, "Volumes");
    if (img && r == 0)
        r = merge_command(cfg, img);
    return r;
}

int ctr_config_merge(cJSON *cfg, const cJSON *img, struct berr *err)
{
    if (ctr_config_fill(cfg, img) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (empty_member(cfg, "Cmd") && empty_member(cfg, "Entrypoint"))
        return berr_set(err, 400, EINVAL, "No command specified");
    return 0;
}

int ctr_config_argv(const cJSON *cfg, struct strv *ret, struct berr *err)
{
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(cfg, "Entrypoint");
    /* `--entrypoint ""` arrives as [""]: it only clears the image's. */
    bool ep_cleared = cJSON_GetArraySize(ep) == 1 && cJSON_IsString(cJSON_GetArrayItem(ep, 0)) &&
                      !*cJSON_GetArrayItem(ep, 0)->valuestring;
    if (!ep_cleared && json_get_strv(cfg, "Entrypoint", ret, err) < 0)
        return -EINVAL;
    if (json_get_strv(cfg, "Cmd", ret, err) < 0)
        return -EINVAL;
    if (ret->n == 0)
        return berr_set(err, 400, EINVAL, "No command specified");
    return 0;
}
