/* The walk behind layer_archive.h, shared by the tar writer and the
 * changes list. Not for use outside storage/layer_*.c. Workers only. */
#ifndef BERTH_STORAGE_LAYER_WALK_H
#define BERTH_STORAGE_LAYER_WALK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "common/berr.h"
#include "layer_archive.h"

/* One entry of the layer, in walk order: sorted by name, a directory right
 * before what it holds. A directory is always given before any entry below
 * it, even one that is not a change itself (vfs: a directory whose content
 * changed; overlay: /etc holding only mount stubs plus real changes). */
struct lw_entry {
    const char *path;      /* relative to the root, no leading '/': "etc/passwd" */
    int dfd;               /* directory holding it in src->top; -1 for a vfs deletion */
    const char *name;      /* its name in dfd */
    const struct stat *st; /* the entry in src->top; NULL for a vfs deletion */
    bool whiteout;         /* path is deleted (overlay: st is the 0/0 device) */
    bool opaque;           /* overlay directory hiding what the lower layers hold there */
    bool stub_parent;      /* a directory the runtime writes mount stubs into (/etc) */
    int change;            /* vfs: LAYER_ADDED or LAYER_MODIFIED; -1 on overlay */
};

/* Returns 0 to go on, or a negative errno (with err set) to stop the walk. */
typedef int (*lw_visit_fn)(void *ud, const struct lw_entry *e);

/* Walks src (overlay upper dir, or vfs root against its image) calling
 * visit for each entry. Entries that vanish while a running container
 * writes are skipped. stop is polled (-ECANCELED). */
int layer_walk(const struct layer_src *src, const atomic_bool *stop, lw_visit_fn visit, void *ud,
               struct berr *err);

/* The overlay whiteout form: a character device 0/0. */
bool lw_is_whiteout(const struct stat *st);
/* Opaque mark (trusted.overlay.opaque or user.overlay.opaque = "y") of the
 * directory open as fd (any kind of fd, O_PATH included). */
bool lw_is_opaque(int fd);

#endif
