/* What every prune endpoint (images, containers) shares: Docker's `until`
 * and `label`/`label!` filters, and at the end the "<type> prune" event
 * with the bytes reclaimed and the reply body. */
#ifndef BERTH_HANDLERS_PRUNE_REPLY_H
#define BERTH_HANDLERS_PRUNE_REPLY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "common/events.h"
#include "filters.h"

/* The `until` filter (at most one): *has set and *until_ns filled when
 * given; 400 with Docker's wording otherwise. */
int prune_until(const struct filters *f, bool *has, int64_t *until_ns, struct berr *err);

/* moby's matchLabels: every `label` holds and not every `label!` does. */
bool prune_labels_match(const struct filters *f, const struct event_attr *attrs, size_t n);

/* Publishes the event and returns {"<key>": deleted, "SpaceReclaimed": n};
 * an empty list becomes null, as Docker sends it. Takes deleted. */
cJSON *prune_reply(struct evbus *events, const char *type, const char *key, cJSON *deleted,
                   int64_t reclaimed);

#endif
