/* /dev of a container: a tmpfs with Docker's default nodes and links (or,
 * privileged, every host device), devpts, shm and mqueue. Runs before
 * pivot_root, so "/dev" is still the host's. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

struct dev_node {
    const char *name;
    unsigned major, minor;
};

static const struct dev_node default_nodes[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const char *const default_links[][2] = {
    {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
};

/* The privileged walk runs from nftw, which passes no user pointer. */
static int walk_devfd = -1;
static int walk_err;

/* mknod, or a bind of the host's node where mknod is refused. */
static int make_node(int devfd, const char *name, mode_t mode, dev_t dev, uid_t uid, gid_t gid)
{
    struct fdpath p;
    char host[4096];
    if (mknodat(devfd, name, mode, dev) == 0 || errno == EEXIST)
        return fchownat(devfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    if (errno != EPERM)
        return -errno;
    int fd = openat(devfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    snprintf(host, sizeof(host), "/dev/%s", name);
    int r = mount(host, fdpath(&p, fd), NULL, MS_BIND, NULL);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

static int default_devices(int devfd)
{
    for (size_t i = 0; i < sizeof(default_nodes) / sizeof(default_nodes[0]); i++) {
        const struct dev_node *n = &default_nodes[i];
        int r = make_node(devfd, n->name, S_IFCHR | 0666, makedev(n->major, n->minor), 0, 0);
        if (r < 0)
            return init_fail_errno(-r, "create device /dev/%s", n->name);
    }
    return 0;
}

/* Skips what the container gets its own of, as runc's HostDevices does. */
static int host_dev_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const char *rel = path + strlen("/dev/");
    const char *base = path + ftw->base;
    if (ftw->level == 0)
        return FTW_CONTINUE;
    if (type == FTW_D) {
        if (ftw->level == 1 && (!strcmp(base, "pts") || !strcmp(base, "shm") ||
                                !strcmp(base, "mqueue") || !strcmp(base, "fd")))
            return FTW_SKIP_SUBTREE;
        if (mkdirat(walk_devfd, rel, 0755) < 0 && errno != EEXIST)
            walk_err = errno;
        return walk_err ? FTW_STOP : FTW_CONTINUE;
    }
    if ((!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode)) || !strcmp(rel, "console"))
        return FTW_CONTINUE;
    int r = make_node(walk_devfd, rel, st->st_mode, st->st_rdev, st->st_uid, st->st_gid);
    if (r < 0 && r != -EEXIST)
        walk_err = -r;
    return walk_err ? FTW_STOP : FTW_CONTINUE;
}

static int host_devices(int devfd)
{
    walk_devfd = devfd;
    walk_err = 0;
    if (nftw("/dev", host_dev_cb, 32, FTW_PHYS | FTW_ACTIONRETVAL) < 0 && !walk_err)
        walk_err = errno;
    if (walk_err)
        return init_fail_errno(walk_err, "copy host devices");
    return 0;
}

static int dev_links(int devfd)
{
    for (size_t i = 0; i < sizeof(default_links) / sizeof(default_links[0]); i++) {
        if (symlinkat(default_links[i][0], devfd, default_links[i][1]) < 0 && errno != EEXIST)
            return init_fail_errno(errno, "symlink /dev/%s", default_links[i][1]);
    }
    /* Docker links core only where the kernel has /proc/kcore. */
    if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", devfd, "core") < 0 &&
        errno != EEXIST)
        return init_fail_errno(errno, "symlink /dev/core");
    return 0;
}

/* /dev/shm: the container's own tmpfs (--ipc private), the host directory
 * an IPC namespace shares (shareable, host, container:<c>) or nothing
 * (--ipc none), as Docker does. */
static int dev_shm(int rootfd, const struct spawn_plan *plan)
{
    char opts[64];
    unsigned long long size = plan->shm_size ? plan->shm_size : SPAWN_SHM_DEFAULT;
    if (plan->no_shm)
        return 0;
    if (plan->shm_path)
        return fs_bind(rootfd, plan->shm_path, "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
    snprintf(opts, sizeof(opts), "mode=1777,size=%llu", size);
    return fs_mount(rootfd, "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts);
}

static int dev_submounts(int rootfd, const struct spawn_plan *plan)
{
    int r = fs_mount(rootfd, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                     "newinstance,ptmxmode=0666,mode=0620,gid=5");
    if (r == 0)
        r = dev_shm(rootfd, plan);
    if (r == 0)
        r = fs_mount(rootfd, "mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     NULL);
    return r;
}

int dev_setup(int rootfd, const struct spawn_plan *plan)
{
    int r = fs_mount(rootfd, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                     "mode=755,size=65536k");
    if (r < 0)
        return r;
    /* Reopened: the fd must name the new tmpfs, not the directory under it. */
    int devfd = fs_open_in_root(rootfd, "/dev", O_DIRECTORY | O_RDONLY);
    if (devfd < 0)
        return init_fail_errno(-devfd, "open /dev");
    r = plan->privileged ? host_devices(devfd) : default_devices(devfd);
    if (r == 0)
        r = dev_links(devfd);
    close(devfd);
    return r == 0 ? dev_submounts(rootfd, plan) : r;
}
