/* GET /containers/{name}/stats: Docker's StatsResponse shaped from runtime
 * samples (containers_stats_json.c) and streamed once a second
 * (containers_stats.c). */
#ifndef BERTH_HANDLERS_CONTAINERS_STATS_H
#define BERTH_HANDLERS_CONTAINERS_STATS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "runtime/ctr_stats.h"

struct stats_view {
    const char *name; /* without the leading "/" */
    const char *id;
    const struct ctr_stats_sample *cur; /* !running: Docker's empty sample (name and id) */
    const struct ctr_stats_sample *pre; /* the previous one sent, or NULL */
    uint64_t host_mem;                  /* the limit shown for a container without one */
};

/* The JSON document moby encodes for this sample, Go's omitempty rules
 * included: cgroup v1 gives every blkio list (empty, not null) with
 * "Read"/"Write" ops, percpu_usage, max_usage and failcnt; v2 gives only
 * io_service_bytes_recursive with lower-case ops, and failcnt from the oom
 * count. precpu_stats and preread come from pre. */
cJSON *ctr_stats_json(const struct stats_view *v);

#endif
