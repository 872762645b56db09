/* A container's Config: the create request merged with its image's config. */
#ifndef BERTH_RUNTIME_CTR_CONFIG_H
#define BERTH_RUNTIME_CTR_CONFIG_H

#include <cjson/cJSON.h>

#include "common/berr.h"
#include "common/config.h" /* struct strv */

/* Fills cfg (the request's Config object, changed in place) from img (the
 * image config's "config" member, may be NULL). 400 "No command specified"
 * when neither has Entrypoint or Cmd. */
int ctr_config_merge(cJSON *cfg, const cJSON *img, struct berr *err);
/* The merge alone, without the command check (commit merges the new
 * image's Config with the container's this way). 0 or -ENOMEM. */
int ctr_config_fill(cJSON *cfg, const cJSON *img);

/* Entrypoint + Cmd as the argv to execute. */
int ctr_config_argv(const cJSON *cfg, struct strv *ret, struct berr *err);

#endif
