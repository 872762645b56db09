/* A container's writable layer, as storage/layer_archive.h reads it for
 * `docker diff` and `docker commit`. Loop thread (paths only). */
#ifndef BERTH_RUNTIME_CTR_LAYER_H
#define BERTH_RUNTIME_CTR_LAYER_H

#include "common/berr.h"
#include "container.h"
#include "rt.h"
#include "storage/layer_archive.h"

/* overlay2: <dir>/upper (there whether the container runs or not) over the
 * image's layer dirs, top first; vfs: <dir>/merged, the container's whole
 * root, against the image's top layer. 500 when the image is gone. */
int ctr_layer_src(const struct rt *rt, const struct container *c, struct layer_src *ret,
                  struct berr *err);

/* A job that reads the container's layer (commit) holds it from before it
 * is queued until it is done: a removal meanwhile waits for the last
 * release before it moves the directory away, as moby's commit holds its
 * own reference on the RW layer (the commit gets the whole layer, the
 * removal still succeeds). c must stay referenced while held. */
void rt_layer_hold(struct container *c);
void rt_layer_release(struct rt *rt, struct container *c);

#endif
