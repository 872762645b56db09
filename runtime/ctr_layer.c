/* The paths of a container's writable layer and of the image below it. */
#include "ctr_layer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/job.h"

void rt_layer_hold(struct container *c)
{
    c->layer_readers++;
}

void rt_layer_release(struct rt *rt, struct container *c)
{
    if (--c->layer_readers > 0 || c->saves_in_flight || !c->remove_after_saves)
        return;
    (void)job_queue(rt->loop, c->remove_after_saves); /* the removal that waited (ctr_remove.c) */
    c->remove_after_saves = NULL;
}

static int lowers_of(const struct store *s, const struct image *img, struct layer_src *ret)
{
    size_t n = ret->full_tree ? (img->nchain ? 1 : 0) : img->nchain;
    ret->lowers = calloc(n ? n : 1, sizeof(*ret->lowers));
    if (!ret->lowers)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char dir[4096];
        store_layer_diff_dir(s, img->chain[img->nchain - 1 - i], dir, sizeof(dir));
        if (!(ret->lowers[i] = strdup(dir)))
            return -ENOMEM;
        ret->nlowers++;
    }
    return 0;
}

int ctr_layer_src(const struct rt *rt, const struct container *c, struct layer_src *ret,
                  struct berr *err)
{
    *ret = (struct layer_src){.container = true, .full_tree = rt->store->driver == STORE_VFS};
    const struct image *img = store_image_by_id(rt->store, c->image_id);
    if (!img)
        return berr_set(err, 500, ENOENT, "the image %s of container %s is gone", c->image_id,
                        c->id);
    char top[4096];
    snprintf(top, sizeof(top), "%s/%s", c->dir, ret->full_tree ? "merged" : "upper");
    if (!(ret->top = strdup(top)) || lowers_of(rt->store, img, ret) < 0) {
        layer_src_done(ret);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    return 0;
}
