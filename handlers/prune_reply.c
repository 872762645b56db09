#include "prune_reply.h"

#include <stdio.h>

#include "common/jsonutil.h"

cJSON *prune_reply(struct evbus *events, const char *type, const char *key, cJSON *deleted,
                   int64_t reclaimed)
{
    char n[24];
    snprintf(n, sizeof(n), "%lld", (long long)reclaimed);
    const char *attrs[] = {"reclaimed", n, NULL};
    (void)evbus_publish(events, type, "prune", "", attrs);
    cJSON *o = cJSON_CreateObject();
    if (cJSON_GetArraySize(deleted) == 0) {
        cJSON_Delete(deleted);
        deleted = cJSON_CreateNull();
    }
    cJSON_AddItemToObject(o, key, deleted);
    json_add_int64(o, "SpaceReclaimed", reclaimed);
    return o;
}
