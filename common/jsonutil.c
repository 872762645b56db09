#include "jsonutil.h"

#include <inttypes.h>
#include <stdio.h>

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
