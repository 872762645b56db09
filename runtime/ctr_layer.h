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

#endif
