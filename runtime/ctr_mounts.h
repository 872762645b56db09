/* The container's mounts from HostConfig.Binds ("src:dst[:opts]"),
 * HostConfig.Mounts (--mount) and HostConfig.Tmpfs, validated as Docker
 * does (pure: sources are checked on the filesystem by the create job). */
#ifndef BERTH_RUNTIME_CTR_MOUNTS_H
#define BERTH_RUNTIME_CTR_MOUNTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/berr.h"
#include "ctr_hostcfg.h"

int ctr_mounts_parse(const cJSON *hc, struct ctr_mount **ret, size_t *ret_n, struct berr *err);
void ctr_mounts_free(struct ctr_mount *m, size_t n);

#endif
