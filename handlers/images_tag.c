/* POST /images/{name}/tag?repo=&tag=: moby's postImagesTag + TagImage. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/map.h"
#include "common/timeutil.h"
#include "engine.h"
#include "images.h"
#include "images_json.h"

/* image id -> last tag time (ns, stored in the pointer). Kept in memory only:
 * the store has no field for it, and Docker itself shows the zero time for
 * images that were pulled but never tagged. Loop thread only. */
static struct map tag_times = MAP_INIT;

int64_t images_last_tag_ns(const char *id)
{
    return (int64_t)(intptr_t)map_get(&tag_times, id);
}

void images_last_tag_forget(const char *id)
{
    map_del(&tag_times, id);
    if (tag_times.len == 0)
        map_done(&tag_times); /* nothing left behind once the last one goes */
}

/* httputils.RepoTagReference: repo (no digest) with tag, default "latest". */
static int tag_target(struct srv_req *req, struct image_ref *ret, struct berr *err)
{
    const char *repo = srv_req_query(req, "repo");
    const char *tag = srv_req_query(req, "tag");
    if (!repo || !*repo)
        return berr_set(err, 400, EINVAL, "repository name must have at least one component");
    if (ref_parse(repo, ret, err) < 0)
        return -EINVAL;
    if (ret->digest[0])
        return berr_set(err, 400, EINVAL, "cannot import digest reference");
    if (tag && *tag) {
        if (!ref_tag_valid(tag))
            return berr_set(err, 400, EINVAL, "invalid tag format");
        snprintf(ret->tag, sizeof(ret->tag), "%s", tag);
    }
    ref_default_tag(ret);
    char name[REF_STRING_MAX];
    ref_familiar_name(ret, name, sizeof(name));
    if (strcmp(name, "sha256") == 0)
        return berr_set(err, 400, EINVAL,
                        "refusing to create an ambiguous tag using digest algorithm as name");
    return 0;
}

void h_images_tag(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    struct store *s = images_store(req);
    if (!s)
        return;
    struct berr err = {0};
    struct image_ref ref;
    struct image *img = NULL;
    /* As moby: the new name is checked before the image is looked up. */
    if (tag_target(req, &ref, &err) < 0 || !(img = store_image_lookup(s, req->params[0], &err)) ||
        store_tag(s, img, &ref, &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    (void)map_put(&tag_times, img->id, (void *)(intptr_t)time_now_ns()); /* cosmetic on ENOMEM */
    char fam[REF_STRING_MAX];
    ref_familiar_string(&ref, fam, sizeof(fam));
    images_event(e, "tag", img->id, img, fam);
    srv_reply_empty(req, 201);
}
