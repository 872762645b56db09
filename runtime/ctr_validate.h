/* Create- and update-time checks of a container's settings (loop thread,
 * pure: the host's cgroup features were read at startup). */
#ifndef BERTH_RUNTIME_CTR_VALIDATE_H
#define BERTH_RUNTIME_CTR_VALIDATE_H

#include <stdbool.h>

#include "cgroup.h"
#include "container.h"
#include "logfile.h"

struct rt;

/* Docker's resource checks (400 with its wording) on c->hc.res; on success
 * the values Docker would store (defaults, discarded features) replace
 * those in c->hc and c->host_config, and warn holds the notes for the
 * client. update: `docker update` rules (no create-time defaults). */
int ctr_resources_validate(const struct rt *rt, struct container *c, bool update,
                           struct cg_warnings *warn, struct berr *err);

/* The json-file options of c's LogConfig, checked as Docker checks them at
 * create (400 "unknown log opt ...", "invalid size ..."). */
int ctr_log_opts(const struct container *c, struct logw_opts *ret, struct berr *err);

#endif
