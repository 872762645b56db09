/* Container root filesystems (workers only). */
#ifndef BERTH_RUNTIME_CTR_ROOTFS_H
#define BERTH_RUNTIME_CTR_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"

struct ctr_rootfs {
    const char *dir; /* <root>/containers/<id> */
    char **layers;   /* layer diff dirs, base first */
    size_t nlayers;
    bool vfs;
    /* --ipc shareable: a tmpfs of shm_size bytes on <dir>/shm, bound on the
     * container's /dev/shm and on those of the containers that join it. */
    bool shm;
    unsigned long long shm_size;
};

/* At create: upper/work/merged for overlay; a copy of the image for vfs. */
int ctr_rootfs_prepare_sync(const struct ctr_rootfs *fs, struct berr *err);
/* At start: mounts the overlay on <dir>/merged (vfs: nothing to mount) and
 * the shareable /dev/shm, and returns the root's path. */
int ctr_rootfs_mount_sync(const struct ctr_rootfs *fs, char *ret_path, size_t len,
                          struct berr *err);
/* docker cp and export: the root as a detached mount (attached nowhere,
 * gone when the last fd closes): with mounted (the container runs), a clone
 * of the mount it runs on, so writes land in its view; else (or when it has
 * stopped meanwhile) a fresh overlay of its layers, which the caller must
 * keep from racing a start. vfs: a clone of its directory. */
int ctr_rootfs_open_detached_sync(const struct ctr_rootfs *fs, bool mounted, int *ret_fd,
                                  struct berr *err);
/* After exit: lazy unmount of the root and the shareable shm; 0 when not
 * mounted. */
int ctr_rootfs_unmount_sync(const char *dir);
/* On remove: unmount and delete the container directory. */
int ctr_rootfs_remove_sync(const char *dir, struct berr *err);

#endif
