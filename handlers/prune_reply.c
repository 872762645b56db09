#include "prune_reply.h"

#include <stdio.h>

#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "images_json.h"

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

int prune_until(const struct filters *f, bool *has, int64_t *until_ns, struct berr *err)
{
    const struct strv *until = filters_get(f, "until");
    if (!until)
        return 0;
    if (until->n != 1)
        return berr_set(err, 400, EINVAL,
                        until->n ? "more than one until filter specified"
                                 : "invalid filter 'until'");
    *has = true;
    return images_parse_until(until->v[0], time_now_ns(), until_ns, err);
}

bool prune_labels_match(const struct filters *f, const struct event_attr *attrs, size_t n)
{
    return filters_match_labels(f, "label", attrs, n) &&
           !(filters_get(f, "label!") && filters_match_labels(f, "label!", attrs, n));
}
