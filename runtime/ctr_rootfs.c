/* A container's root filesystem: an overlay of the image's layers with a
 * per-container upper dir (overlay2), or a private copy of the image's top
 * layer (vfs, whose layers are each a whole tree). Workers only. */
#include "ctr_rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "storage/fs_copy.h"
#include "storage/fsutil.h"

static void sub(const char *dir, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", dir, name);
}

int ctr_rootfs_prepare_sync(const struct ctr_rootfs *fs, struct berr *err)
{
    static const char *const overlay_dirs[] = {"upper", "work", "merged", "empty"};
    char path[4096];
    if (mkdir(fs->dir, 0710) < 0 && errno != EEXIST)
        return berr_errno(err, 500, errno, "creating %s", fs->dir);
    if (!fs->vfs) {
        /* "empty" stands in for the lower layer of an image without any */
        for (size_t i = 0; i < (fs->nlayers ? 3u : 4u); i++) {
            sub(fs->dir, overlay_dirs[i], path, sizeof(path));
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return berr_errno(err, 500, errno, "creating %s", path);
        }
        return 0;
    }
    sub(fs->dir, "merged", path, sizeof(path));
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return berr_errno(err, 500, errno, "creating %s", path);
    if (fs->nlayers == 0)
        return 0;
    return fs_copy_tree(fs->layers[fs->nlayers - 1], path, err);
}

static int fsfd_set(int fsfd, const char *key, const char *value)
{
    return (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value, 0);
}

/* The new mount API takes each lower dir separately ("lowerdir+", Linux
 * 6.8), so many layers with long paths don't hit mount(2)'s one-page limit.
 * The result is a detached mount (*ret_mfd), attached nowhere yet. */
static int overlay_fsmount(const struct ctr_rootfs *fs, const char *upper, const char *work,
                           int *ret_mfd)
{
    int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0)
        return -errno;
    int r = 0;
    for (size_t i = fs->nlayers; r == 0 && i > 0; i--)
        r = fsfd_set(fsfd, "lowerdir+", fs->layers[i - 1]) < 0 ? -errno : 0;
    if (r == 0 && fs->nlayers == 0) {
        char empty[4096];
        sub(fs->dir, "empty", empty, sizeof(empty));
        r = fsfd_set(fsfd, "lowerdir+", empty) < 0 ? -errno : 0;
    }
    if (r == 0)
        r = fsfd_set(fsfd, "upperdir", upper) < 0 ? -errno : 0;
    if (r == 0)
        r = fsfd_set(fsfd, "workdir", work) < 0 ? -errno : 0;
    if (r == 0 && syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        r = -errno;
    int mfd = r == 0 ? (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0) : -1;
    if (r == 0 && mfd < 0)
        r = -errno;
    close(fsfd);
    if (r == 0)
        *ret_mfd = mfd;
    return r;
}

static int mount_overlay_fsconfig(const struct ctr_rootfs *fs, const char *upper, const char *work,
                                  const char *target)
{
    int mfd = -1;
    int r = overlay_fsmount(fs, upper, work, &mfd);
    if (r == 0 && syscall(SYS_move_mount, mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        r = -errno;
    if (mfd >= 0)
        close(mfd);
    return r;
}

static int mount_overlay_legacy(const struct ctr_rootfs *fs, const char *upper, const char *work,
                                const char *target)
{
    size_t cap = 64 + strlen(upper) + strlen(work) + strlen(fs->dir) + 16;
    for (size_t i = 0; i < fs->nlayers; i++)
        cap += strlen(fs->layers[i]) + 1;
    char *data = malloc(cap);
    if (!data)
        return -ENOMEM;
    size_t n = (size_t)snprintf(data, cap, "lowerdir=");
    for (size_t i = fs->nlayers; i > 0; i--)
        n += (size_t)snprintf(data + n, cap - n, "%s%s", fs->layers[i - 1], i > 1 ? ":" : "");
    if (fs->nlayers == 0)
        n += (size_t)snprintf(data + n, cap - n, "%s/empty", fs->dir);
    snprintf(data + n, cap - n, ",upperdir=%s,workdir=%s", upper, work);
    int r = mount("overlay", target, "overlay", 0, data) < 0 ? -errno : 0;
    free(data);
    return r;
}

/* Docker's shareable IPC: the daemon owns the /dev/shm tmpfs (the
 * container's own mount namespace would take it away when it exits). */
static int mount_shm(const struct ctr_rootfs *fs, struct berr *err)
{
    char path[4096], opts[64];
    sub(fs->dir, "shm", path, sizeof(path));
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return berr_errno(err, 500, errno, "creating %s", path);
    umount2(path, MNT_DETACH); /* a leftover of an unclean stop */
    snprintf(opts, sizeof(opts), "mode=1777,size=%llu", fs->shm_size);
    if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
        return berr_errno(err, 500, errno, "mounting shm tmpfs on %s", path);
    return 0;
}

int ctr_rootfs_mount_sync(const struct ctr_rootfs *fs, char *ret_path, size_t len, struct berr *err)
{
    if (fs->shm && mount_shm(fs, err) < 0)
        return -EIO;
    char upper[4096], work[4096];
    sub(fs->dir, "merged", ret_path, len);
    if (fs->vfs)
        return 0;
    sub(fs->dir, "upper", upper, sizeof(upper));
    sub(fs->dir, "work", work, sizeof(work));
    int r = mount_overlay_fsconfig(fs, upper, work, ret_path);
    if (r == -ENOSYS || r == -EINVAL)
        r = mount_overlay_legacy(fs, upper, work, ret_path);
    if (r < 0) {
        char shm[4096];
        sub(fs->dir, "shm", shm, sizeof(shm));
        if (fs->shm)
            umount2(shm, MNT_DETACH);
        return berr_errno(err, 500, -r, "mounting the container's overlay root at %s", ret_path);
    }
    return 0;
}

/* A clone of the root mounted on <dir>/merged (the running container's,
 * or vfs' plain directory); -ENOENT when no overlay is mounted there. */
static int clone_merged(const struct ctr_rootfs *fs, int *ret_fd)
{
    char merged[4096];
    struct statfs sfs;
    sub(fs->dir, "merged", merged, sizeof(merged));
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, merged, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (!fs->vfs && (fstatfs(fd, &sfs) < 0 || sfs.f_type != OVERLAYFS_SUPER_MAGIC)) {
        close(fd);
        return -ENOENT; /* it stopped since: no longer mounted */
    }
    *ret_fd = fd;
    return 0;
}

int ctr_rootfs_open_detached_sync(const struct ctr_rootfs *fs, bool mounted, int *ret_fd,
                                  struct berr *err)
{
    char upper[4096], work[4096];
    int r = fs->vfs || mounted ? clone_merged(fs, ret_fd) : -ENOENT;
    if (r == 0 || fs->vfs)
        return r < 0 ? berr_errno(err, 500, -r, "opening the root of %s", fs->dir) : 0;
    sub(fs->dir, "upper", upper, sizeof(upper));
    sub(fs->dir, "work", work, sizeof(work));
    r = overlay_fsmount(fs, upper, work, ret_fd);
    if (r < 0)
        return berr_errno(err, 500, -r, "mounting the overlay root of %s", fs->dir);
    return 0;
}

int ctr_rootfs_unmount_sync(const char *dir)
{
    char merged[4096], shm[4096];
    sub(dir, "shm", shm, sizeof(shm));
    if (umount2(shm, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return -errno;
    sub(dir, "merged", merged, sizeof(merged));
    if (umount2(merged, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return -errno;
    return 0;
}

int ctr_rootfs_remove_sync(const char *dir, struct berr *err)
{
    ctr_rootfs_unmount_sync(dir);
    int r = fs_rm_rf(dir);
    if (r < 0)
        return berr_errno(err, 500, -r, "removing %s", dir);
    return 0;
}
