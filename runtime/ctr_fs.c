/* docker cp's and export's view of a container's filesystem; see ctr_fs.h. */
#include "ctr_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/jsonutil.h"
#include "ctr_layer.h"
#include "storage/safe_path.h"

/* ---- the snapshot (loop) ---- */

static int add_mount(struct ctr_fs *fs, const char *source, const char *target, bool ro,
                     bool is_volume)
{
    struct ctr_fs_mount *m = &fs->mounts[fs->nmounts];
    *m = (struct ctr_fs_mount){
        .source = strdup(source), .target = strdup(target), .readonly = ro, .is_volume = is_volume};
    if (!m->source || !m->target) {
        free(m->source);
        free(m->target);
        return -ENOMEM;
    }
    fs->nmounts++;
    return 0;
}

static bool user_mounts_on(const struct container *c, const char *target)
{
    for (size_t i = 0; i < c->hc.nmounts; i++)
        if (strcmp(c->hc.mounts[i].target, target) == 0)
            return true;
    return false;
}

static size_t depth_of(const char *path)
{
    size_t n = 0;
    for (const char *p = path; *p; p++)
        n += *p == '/' && p[1] && p[1] != '/';
    return n;
}

static int cmp_depth(const void *a, const void *b)
{
    size_t da = depth_of(((const struct ctr_fs_mount *)a)->target);
    size_t db = depth_of(((const struct ctr_fs_mount *)b)->target);
    return da < db ? -1 : da > db;
}

/* Volumes and binds (tmpfs left out), then the network files, as moby's
 * setupMounts; parents before what is mounted inside them. */
static int snapshot_mounts(struct rt *rt, const struct container *c, struct ctr_fs *fs)
{
    static const char *const net[] = {"hosts", "hostname", "resolv.conf"};
    char src[4200], dst[64];
    if (!(fs->mounts = calloc(c->hc.nmounts + 3, sizeof(*fs->mounts))))
        return -ENOMEM;
    for (size_t i = 0; i < c->hc.nmounts; i++) {
        const struct ctr_mount *m = &c->hc.mounts[i];
        if (m->type == MNT_TMPFS)
            continue;
        if (m->type == MNT_VOLUME)
            snprintf(src, sizeof(src), "%s/volumes/%s/_data", rt->data_root, m->source);
        if (add_mount(fs, m->type == MNT_VOLUME ? src : m->source, m->target, m->readonly, true) <
            0)
            return -ENOMEM;
    }
    qsort(fs->mounts, fs->nmounts, sizeof(*fs->mounts), cmp_depth);
    for (size_t i = 0; i < 3; i++) {
        snprintf(src, sizeof(src), "%s/%s", c->dir, net[i]);
        snprintf(dst, sizeof(dst), "/etc/%s", net[i]);
        if (!user_mounts_on(c, dst) && add_mount(fs, src, dst, c->hc.readonly_rootfs, false) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int snapshot_root(struct rt *rt, const struct container *c, struct ctr_fs *fs)
{
    struct image *img = store_image_by_id(rt->store, c->image_id);
    fs->root.vfs = rt->store->driver == STORE_VFS;
    if (!(fs->root.dir = strdup(c->dir)))
        return -ENOMEM;
    if (!img)
        return 0; /* a root that is mounted, or an upper dir over nothing */
    if (!(fs->root.layers = calloc(img->nchain + 1, sizeof(char *))))
        return -ENOMEM;
    for (size_t i = 0; i < img->nchain; i++) {
        char p[4096];
        store_layer_diff_dir(rt->store, img->chain[i], p, sizeof(p));
        if (!(fs->root.layers[fs->root.nlayers++] = strdup(p)))
            return -ENOMEM;
    }
    return 0;
}

int ctr_fs_prepare(struct rt *rt, struct container *c, bool with_mounts, struct ctr_fs *ret,
                   struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    if (c->st.status == CTR_RESTARTING)
        return berr_set(err, 409, EBUSY,
                        "Container %s is restarting, wait until the container is running", c->id);
    if (c->creating || c->starting || c->st.status == CTR_REMOVING)
        return berr_set(err, 409, EBUSY, "container %s is busy (being created, started or removed)",
                        c->id);
    ret->running = c->st.status == CTR_RUNNING || c->st.status == CTR_PAUSED;
    ret->readonly_rootfs = c->hc.readonly_rootfs;
    const char *user = json_get_str(c->config, "User");
    int r = (ret->user = strdup(user ? user : "")) ? 0 : -ENOMEM;
    if (r == 0)
        r = snapshot_root(rt, c, ret);
    if (r == 0 && with_mounts)
        r = snapshot_mounts(rt, c, ret);
    ret->c = c;
    ret->rt = rt;
    ctr_ref(c);
    /* a running container's rm -f waits for the copy, as for a commit:
     * its upper dir is not deleted under the reader */
    rt_layer_hold(c);
    if (!ret->running)
        c->fs_busy++;
    if (r < 0) {
        ctr_fs_release(ret);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    return 0;
}

void ctr_fs_release(struct ctr_fs *fs)
{
    for (size_t i = 0; i < fs->nmounts; i++) {
        free(fs->mounts[i].source);
        free(fs->mounts[i].target);
    }
    free(fs->mounts);
    for (size_t i = 0; i < fs->root.nlayers; i++)
        free(fs->root.layers[i]);
    free(fs->root.layers);
    free((char *)fs->root.dir);
    free(fs->user);
    if (fs->c) {
        if (!fs->running)
            fs->c->fs_busy--;
        rt_layer_release(fs->rt, fs->c);
        ctr_unref(fs->c);
    }
    memset(fs, 0, sizeof(*fs));
}

/* ---- the view (worker) ---- */

/* The mount point for m below the root, resolved inside it (a symlink on
 * the way cannot send the mount elsewhere), made when missing as moby's
 * createIfNotExists does. -ENOENT (skipped) for a missing network file. */
static int open_target(int rootfd, const struct ctr_fs_mount *m, bool dir)
{
    const char *rel = m->target + 1;
    int fd = safe_open_in_root(rootfd, rel, O_PATH);
    if (fd != -ENOENT || !m->is_volume)
        return fd;
    _cleanup_close_ int pfd = -1;
    const char *base;
    int r = safe_open_parent(rootfd, rel, true, &pfd, &base);
    if (r < 0)
        return r;
    if (dir ? mkdirat(pfd, base, 0755) : mknodat(pfd, base, S_IFREG | 0755, 0))
        if (errno != EEXIST)
            return -errno;
    return safe_open_in_root(rootfd, rel, O_PATH);
}

static int attach(int rootfd, const struct ctr_fs_mount *m)
{
    struct stat st;
    if (stat(m->source, &st) < 0)
        return m->is_volume ? -errno : 0; /* no network file: nothing to show */
    _cleanup_close_ int tfd = open_target(rootfd, m, S_ISDIR(st.st_mode));
    if (tfd == -ENOENT && !m->is_volume)
        return 0;
    if (tfd < 0)
        return tfd;
    _cleanup_close_ int bfd = (int)syscall(SYS_open_tree, AT_FDCWD, m->source,
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (bfd < 0)
        return -errno;
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    if (m->readonly &&
        syscall(SYS_mount_setattr, bfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0)
        return -errno;
    if (syscall(SYS_move_mount, bfd, "", tfd, "",
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return -errno;
    return 0;
}

/* A read-only root stays so in the view, whatever path a copy takes to it
 * (a symlink swapped after moby's check): the kernel refuses the write. */
static int root_readonly(int mfd)
{
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    return syscall(SYS_mount_setattr, mfd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 ? -errno : 0;
}

int ctr_fs_open_sync(const struct ctr_fs *fs, int *ret_rootfd, struct berr *err)
{
    int mfd = -1;
    if (ctr_rootfs_open_detached_sync(&fs->root, fs->running, &mfd, err) < 0)
        return -EIO;
    for (size_t i = 0; i < fs->nmounts; i++) {
        int r = attach(mfd, &fs->mounts[i]);
        if (r < 0) {
            close(mfd);
            return berr_errno(err, 500, -r, "mounting %s on %s for the copy", fs->mounts[i].source,
                              fs->mounts[i].target);
        }
    }
    /* After the mounts, whose missing mount points may have to be made;
     * the attribute is the root mount's alone, not theirs. */
    int r = fs->readonly_rootfs ? root_readonly(mfd) : 0;
    if (r < 0) {
        close(mfd);
        return berr_errno(err, 500, -r, "making the copy's view of the root read-only");
    }
    *ret_rootfd = mfd;
    return 0;
}
