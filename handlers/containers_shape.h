/* Pieces of Docker's container documents shared by inspect and list. */
#ifndef BERTH_HANDLERS_CONTAINERS_SHAPE_H
#define BERTH_HANDLERS_CONTAINERS_SHAPE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/cgroup.h"
#include "runtime/container.h"

/* Mounts: [{Type, Source, Destination, Mode, RW, Propagation}]. */
cJSON *ctr_mounts_json(const struct container *c);
/* NetworkSettings; full adds the inspect-only members. */
cJSON *ctr_network_settings_json(const struct container *c, bool full);
/* "Up 5 minutes", "Exited (0) 3 seconds ago", "Created", ... */
void ctr_status_text(const struct container *c, int64_t now_ns, char *out, size_t outlen);
/* {"Warnings": [...]} member of create and update replies (warn may be NULL). */
void ctr_add_warnings(cJSON *o, const struct cg_warnings *warn);
/* Docker's units.HumanDuration. */
void human_duration(int64_t ns, char *out, size_t outlen);

#endif
