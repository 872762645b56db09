#include "jsonutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

cJSON *json_create_int64(int64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, v);
    return cJSON_CreateRaw(num);
}

cJSON *json_add_int64(cJSON *obj, const char *key, int64_t v)
{
    cJSON *item = json_create_int64(v);
    if (item && !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

const char *json_get_str(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t json_get_int64(const cJSON *obj, const char *key, int64_t def)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (cJSON_IsNumber(v))
        return (int64_t)v->valuedouble;
    if (cJSON_IsRaw(v) && v->valuestring)
        return strtoll(v->valuestring, NULL, 10);
    return def;
}

bool json_get_bool(const cJSON *obj, const char *key)
{
    return obj && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

int json_get_strv(const cJSON *obj, const char *key, struct strv *out, struct berr *err)
{
    const cJSON *arr = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return berr_set(err, 400, EINVAL, "%s must be a list of strings", key);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsString(e))
            return berr_set(err, 400, EINVAL, "%s must be a list of strings", key);
        if (strv_push(out, e->valuestring) < 0)
            return berr_set(err, 500, ENOMEM, "out of memory");
    }
    return 0;
}

const char *json_kind_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "number";
}
