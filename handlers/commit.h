/* `docker commit`: the new image's Config and its image config document,
 * as moby's CreateImageFromContainer and image.NewChildImage make them.
 * Pure JSON work (commit_config.c), callable from a worker. */
#ifndef BERTH_HANDLERS_COMMIT_H
#define BERTH_HANDLERS_COMMIT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/berr.h"

/* The new image's Config: base (the request's Config, or NULL for the
 * container's own) with the changes (Dockerfile instructions) applied,
 * then merged with the container's Config (moby's merge: what the base
 * leaves empty comes from the container), Labels at least {}, in
 * container.Config's shape. 400 with moby's message for a bad change. */
int commit_new_config(const cJSON *base, const cJSON *ctr_config, const char *const *changes,
                      size_t nchanges, cJSON **ret, struct berr *err);

/* container.Config as moby serialises it: every field in its order, the
 * omitempty ones only when set. NULL on no memory. */
cJSON *commit_config_shape(const cJSON *src);

struct commit_info {
    const char *container_id;
    const char *author;  /* "" for none */
    const char *comment; /* "" for none */
    const char *created; /* RFC 3339, the history entry's and the image's */
    const char *diff_id; /* the new layer; NULL when it is empty (no layer) */
    const char *docker_version;
};

/* The image config text (its sha256 is the image ID): the parent's rootfs
 * with diff_id appended, its history with one entry (created_by: the
 * container's Cmd joined by spaces; empty_layer when there is no layer),
 * its platform; config and container_config; top-level keys sorted, as
 * moby's Image.MarshalJSON writes them. NULL on no memory. */
char *commit_image_config(const cJSON *parent, const cJSON *config, const cJSON *ctr_config,
                          const struct commit_info *ci);

#endif
