/* GET /events: Docker's event stream with since/until replay and filters. */
#ifndef BERTH_HANDLERS_EVENTS_H
#define BERTH_HANDLERS_EVENTS_H

#include <stdbool.h>

#include "common/events.h"
#include "filters.h"
#include "server/http.h"

void h_events(struct srv_req *req);

/* moby's event filter (daemon/events/filter.go Include). */
bool events_filter_match(const struct filters *f, const struct event *ev);

/* The JSON object Docker sends for one event (caller frees). */
cJSON *events_to_json(const struct event *ev);

#endif
