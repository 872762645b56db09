/* Image endpoints: create (pull, import), list, inspect, history, tag,
 * remove, prune, save, load. */
#ifndef BERTH_HANDLERS_IMAGES_H
#define BERTH_HANDLERS_IMAGES_H

#include <stdint.h>

#include "server/http.h"
#include "storage/manifest.h"
#include "storage/reference.h"
#include "storage/store.h"

void h_images_create(struct srv_req *req);

/* images_create.c */
void images_pull(struct srv_req *req);
/* images_pull_all.c: `docker pull -a` (no tag): every tag of the repository. */
void images_pull_all_tags(struct srv_req *req, const struct image_ref *repo,
                          const struct platform *plat);

/* images_list.c: GET /images/json */
void h_images_list(struct srv_req *req);
/* The Images of GET /system/df: top-level images as ImageSummary, newest
 * first, with SharedSize and Containers counted. NULL when out of memory. */
cJSON *images_df_summaries(const struct store *s, int api_minor);

/* images_inspect.c: GET /images/{name}/json, GET /images/{name}/history */
void h_images_inspect(struct srv_req *req);
void h_images_history(struct srv_req *req);

/* images_tag.c: POST /images/{name}/tag */
void h_images_tag(struct srv_req *req);
/* When the image was last tagged through the API in this daemon's life (ns;
 * 0 = never), Docker's Metadata.LastTagTime. */
int64_t images_last_tag_ns(const char *id);
void images_last_tag_forget(const char *id);

/* images_delete.c: DELETE /images/{name}, POST /images/prune */
void h_images_delete(struct srv_req *req);
void h_images_prune(struct srv_req *req);

/* images_save.c: GET /images/get?names=... and GET /images/{name}/get */
void h_images_get(struct srv_req *req);
void h_images_get_one(struct srv_req *req);

/* images_load.c: POST /images/load?quiet= (streamed body) */
void h_images_load(struct srv_req *req);

/* images_import.c: POST /images/create?fromSrc=... (h_images_create's other
 * half); the request body is the rootfs tar. */
void images_import(struct srv_req *req);
/* httputils.RepoTagReference, for import and commit: repo NULL or "" is
 * no reference (0, *has_ref false); else a name without digest, tag added
 * ("latest" by default). 400 for a malformed name or tag, and "cannot
 * import digest reference" (moby's wording for both) for a digest. */
int images_repo_tag(const char *repo, const char *tag, struct image_ref *ret, bool *has_ref,
                    struct berr *err);
/* images_changes.c: applies Dockerfile instructions (the `changes` of import and commit:
 * CMD ENTRYPOINT ENV EXPOSE HEALTHCHECK LABEL ONBUILD STOPSIGNAL USER VOLUME
 * WORKDIR) to a container config object, as moby's BuildFromConfig. 400 with
 * moby's message for anything else or a malformed one. */
int images_apply_changes(cJSON *config, const char *const *changes, size_t n, struct berr *err);

#endif
