/* The end of every prune endpoint (images, containers): Docker's
 * "<type> prune" event with the bytes reclaimed, and the reply body. */
#ifndef BERTH_HANDLERS_PRUNE_REPLY_H
#define BERTH_HANDLERS_PRUNE_REPLY_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/events.h"

/* Publishes the event and returns {"<key>": deleted, "SpaceReclaimed": n};
 * an empty list becomes null, as Docker sends it. Takes deleted. */
cJSON *prune_reply(struct evbus *events, const char *type, const char *key, cJSON *deleted,
                   int64_t reclaimed);

#endif
