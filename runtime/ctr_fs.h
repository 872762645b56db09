/* A container's filesystem as docker cp and docker export see it (moby's
 * openContainerFS): its root and, for cp, its volumes, bind mounts and
 * network files (/etc/hosts, /etc/hostname, /etc/resolv.conf) mounted on
 * it, assembled as a detached mount tree that no other process sees and
 * that goes away with its last fd. For a running container the root is a
 * clone of the mount it runs on, so what cp writes is what it sees; for a
 * stopped one a fresh overlay of its layers, and meanwhile its start and
 * removal are refused (409) rather than racing a second mount. tmpfs
 * mounts are not part of the view, as in moby. */
#ifndef BERTH_RUNTIME_CTR_FS_H
#define BERTH_RUNTIME_CTR_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/berr.h"
#include "ctr_rootfs.h"
#include "rt.h"

struct ctr_fs_mount {
    char *source; /* host path */
    char *target; /* absolute path in the container */
    bool readonly;
    bool is_volume; /* a volume or bind (counts for the read-only checks); not a network file */
};

struct ctr_fs {
    struct ctr_rootfs root; /* own copies of dir and layers */
    bool running;           /* its root is mounted on <dir>/merged */
    bool readonly_rootfs;
    char *user; /* Config.User ("" when unset), for copyUIDGID */
    struct ctr_fs_mount *mounts;
    size_t nmounts;
    struct container *c; /* referenced; holds c->fs_busy when !running */
    struct rt *rt;       /* and its layer (rt_layer_hold) */
};

/* Loop: the snapshot a worker needs (with_mounts: cp's view; else the root
 * alone, as export). 409 for a restarting container, or one being created,
 * started or removed. */
int ctr_fs_prepare(struct rt *rt, struct container *c, bool with_mounts, struct ctr_fs *ret,
                   struct berr *err);
/* Loop: gives back what ctr_fs_prepare took. */
void ctr_fs_release(struct ctr_fs *fs);

/* Worker: the view; *ret_rootfd is its root (a directory fd). */
int ctr_fs_open_sync(const struct ctr_fs *fs, int *ret_rootfd, struct berr *err);

/* Worker: moby's checks before extracting into the resolved absolute path
 * abs: inside a read-only volume, or outside every volume of a container
 * with a read-only root, 400. */
int ctr_fs_check_writable(const struct ctr_fs *fs, const char *abs, struct berr *err);

/* Worker: copyUIDGID's owner, Config.User ("user[:group]", names or
 * numbers) through the container's own /etc/passwd and /etc/group; -1, -1
 * without a user (the archive's owners stay). */
int ctr_fs_user_sync(const struct ctr_fs *fs, int rootfd, int64_t *ret_uid, int64_t *ret_gid,
                     struct berr *err);

#endif
