/* Files the daemon owns at startup: the pidfile and data-root locks, and
 * the persistent engine ID. Blocking; used before the loop starts. */
#ifndef BERTH_COMMON_DAEMONFILES_H
#define BERTH_COMMON_DAEMONFILES_H

#include <stddef.h>

#include "berr.h"

/* Takes an exclusive lock on path (created if needed) and writes our pid.
 * Returns the fd to keep open, or a negative errno with a message. */
int daemon_lock_pidfile(const char *path, struct berr *err);

/* Locks <data_root>/berthd.lock so two daemons never share a data root. */
int daemon_lock_data_root(const char *data_root, struct berr *err);

/* Reads <data_root>/engine-id, creating a random UUID there the first time. */
int daemon_engine_id(const char *data_root, char *out, size_t outlen, struct berr *err);

#endif
