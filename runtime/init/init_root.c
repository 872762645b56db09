/* The container's root: standard filesystems, user mounts and the
 * per-container /etc files are mounted under plan->rootfs (confined with
 * RESOLVE_IN_ROOT, see init_fs.c), then pivot_root makes it "/", and masked
 * and read-only paths and a read-only root are applied from inside. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#define PROC_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* sysfs shows the network namespace it is mounted from; where that is not
 * allowed (a shared network namespace) the host's is bound instead. */
static int mount_sys(int rootfd, const struct spawn_plan *plan)
{
    unsigned long flags = PROC_FLAGS | (plan->privileged ? 0 : MS_RDONLY);
    struct fdpath p;
    int fd = fs_mkdir_in_root(rootfd, "/sys", 0755);
    if (fd < 0)
        return init_fail_errno(-fd, "error mounting \"sysfs\" to rootfs at \"/sys\": mkdir");
    int r = mount("sysfs", fdpath(&p, fd), "sysfs", flags, NULL);
    int e = errno;
    close(fd);
    if (r == 0)
        return 0;
    if (e != EPERM && e != EBUSY)
        return init_fail_errno(e, "error mounting \"sysfs\" to rootfs at \"/sys\"");
    return fs_bind(rootfd, "/sys", "/sys", MS_REC | (flags & MS_RDONLY), 0);
}

/* cgroup v2: the cgroup namespace made at clone (after CLONE_INTO_CGROUP)
 * shows the container's cgroup as the root. v1: a tmpfs holding a read-only
 * bind of each of the container's controller directories. */
static int mount_cgroup(int rootfd, const struct spawn_plan *plan)
{
    unsigned long ro = plan->privileged ? 0 : MS_RDONLY;
    if (plan->cgroup2)
        return fs_mount(rootfd, "cgroup2", "/sys/fs/cgroup", "cgroup2", PROC_FLAGS | ro, NULL);
    if (plan->n_cgroup_binds == 0)
        return 0;
    int r = fs_mount(rootfd, "tmpfs", "/sys/fs/cgroup", "tmpfs", PROC_FLAGS, "mode=755");
    for (size_t i = 0; i < plan->n_cgroup_binds && r == 0; i++)
        r = fs_bind(rootfd, plan->cgroup_binds[i].host, plan->cgroup_binds[i].container,
                    PROC_FLAGS | ro, 0);
    if (r == 0 && ro)
        r = fs_remount(rootfd, "/sys/fs/cgroup", MS_RDONLY);
    return r;
}

static size_t path_depth(const char *p)
{
    size_t n = 0;
    for (; *p; p++)
        n += (*p == '/' && p[1] && p[1] != '/');
    return n;
}

/* Shallow targets first (Docker sorts mounts by depth), so that a mount
 * on /data/sub is not hidden by a later one on /data. */
static size_t *mounts_order(const struct spawn_plan *plan)
{
    size_t *idx = calloc(plan->n_mounts + 1, sizeof(*idx));
    for (size_t i = 0; idx && i < plan->n_mounts; i++) {
        size_t j = i, d = path_depth(plan->mounts[i].target);
        for (; j > 0 && path_depth(plan->mounts[idx[j - 1]].target) > d; j--)
            idx[j] = idx[j - 1];
        idx[j] = i;
    }
    return idx;
}

static int mount_one(int rootfd, const struct spawn_mount *m)
{
    if (!m->target || !m->source || !m->fstype || m->target[0] != '/')
        return init_fail(EINVAL, "invalid mount: target \"%s\"", m->target ? m->target : "");
    if (strcmp(m->fstype, "bind") == 0)
        return fs_bind(rootfd, m->source, m->target, m->flags, m->propagation);
    int r = fs_mount(rootfd, m->source, m->target, m->fstype, m->flags & ~MS_REC, m->data);
    if (r == 0 && m->propagation)
        r = fs_propagate(rootfd, m->target, m->propagation);
    return r;
}

static int mount_user(int rootfd, const struct spawn_plan *plan)
{
    size_t *idx = mounts_order(plan);
    if (!idx)
        return init_fail(ENOMEM, "mounts: out of memory");
    int r = 0;
    for (size_t i = 0; i < plan->n_mounts && r == 0; i++)
        r = mount_one(rootfd, &plan->mounts[idx[i]]);
    free(idx);
    return r;
}

static bool has_mount_on(const struct spawn_plan *plan, const char *target)
{
    for (size_t i = 0; i < plan->n_mounts; i++)
        if (plan->mounts[i].target && strcmp(plan->mounts[i].target, target) == 0)
            return true;
    return false;
}

/* /etc/hosts, /etc/hostname, /etc/resolv.conf: writable unless the root is
 * read-only (as Docker), and left alone when the user mounts over them. */
static int mount_etc(int rootfd, const struct spawn_plan *plan)
{
    const char *src[] = {plan->hosts_path, plan->hostname_path, plan->resolv_path};
    const char *dst[] = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"};
    unsigned long ro = plan->readonly_rootfs ? MS_RDONLY : 0;
    for (size_t i = 0; i < 3; i++) {
        if (!src[i] || has_mount_on(plan, dst[i]))
            continue;
        int r = fs_bind(rootfd, src[i], dst[i], ro, 0);
        if (r < 0)
            return r;
    }
    return 0;
}

static int mount_all(int rootfd, const struct spawn_plan *plan)
{
    int r = fs_mount(rootfd, "proc", "/proc", "proc", PROC_FLAGS, NULL);
    if (r == 0)
        r = dev_setup(rootfd, plan);
    if (r == 0)
        r = mount_sys(rootfd, plan);
    if (r == 0)
        r = mount_cgroup(rootfd, plan);
    if (r == 0)
        r = mount_user(rootfd, plan);
    if (r == 0)
        r = mount_etc(rootfd, plan);
    return r;
}

/* pivot_root(".", ".") stacks the old root on top of the new one, and "."
 * then names the old root only through an fd taken before (the kernel makes
 * no promise about the cwd). The old root is made a slave first so that its
 * detach does not propagate to the host's mounts, then dropped. */
static int pivot(int rootfd)
{
    int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0)
        return init_fail_errno(errno, "open old root");
    int r = 0;
    if (fchdir(rootfd) < 0)
        r = init_fail_errno(errno, "chdir to rootfs");
    if (r == 0 && syscall(SYS_pivot_root, ".", ".") < 0)
        r = init_fail_errno(errno, "pivot_root");
    if (r == 0 && fchdir(oldroot) < 0)
        r = init_fail_errno(errno, "chdir to old root");
    if (r == 0 && mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        r = init_fail_errno(errno, "make old root slave");
    if (r == 0 && umount2(".", MNT_DETACH) < 0)
        r = init_fail_errno(errno, "unmount old root");
    if (r == 0 && chdir("/") < 0)
        r = init_fail_errno(errno, "chdir /");
    close(oldroot);
    return r;
}

/* A masked file gets /dev/null on top, a masked directory an empty
 * read-only tmpfs; paths this kernel lacks are skipped. */
static int mask_path(int rootfd, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno == ENOENT ? 0 : init_fail_errno(errno, "mask %s", path);
    if (S_ISDIR(st.st_mode))
        return fs_mount(rootfd, "tmpfs", path, "tmpfs", MS_RDONLY, NULL);
    return fs_bind(rootfd, "/dev/null", path, 0, 0);
}

static int readonly_path(int rootfd, const char *path)
{
    if (access(path, F_OK) < 0)
        return errno == ENOENT ? 0 : init_fail_errno(errno, "readonly %s", path);
    return fs_bind(rootfd, path, path, MS_REC | MS_RDONLY, 0);
}

static int finish_root(const struct spawn_plan *plan)
{
    int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return init_fail_errno(errno, "open /");
    int r = 0;
    const char *cwd = plan->cwd && *plan->cwd ? plan->cwd : "/";
    int fd = fs_mkdir_in_root(rootfd, cwd, 0755);
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; !plan->privileged && plan->masked_paths && plan->masked_paths[i] && !r; i++)
        r = mask_path(rootfd, plan->masked_paths[i]);
    for (size_t i = 0; !plan->privileged && plan->readonly_paths && plan->readonly_paths[i] && !r;
         i++)
        r = readonly_path(rootfd, plan->readonly_paths[i]);
    if (r == 0 && plan->readonly_rootfs)
        r = fs_remount(rootfd, "/", MS_RDONLY);
    close(rootfd);
    return r;
}

/* Docker's root propagation: "shared" when a mount asks for [r]shared (its
 * peers must stay peers of the host's), otherwise rslave. Sources of shared
 * and slave binds are checked first, as dockerd does before it starts. */
static int root_propagation(const struct spawn_plan *plan)
{
    unsigned long prop = MS_SLAVE | MS_REC;
    for (size_t i = 0; i < plan->n_mounts; i++) {
        const struct spawn_mount *m = &plan->mounts[i];
        if (!(m->propagation & (MS_SHARED | MS_SLAVE)) || strcmp(m->fstype, "bind"))
            continue;
        int r = fs_check_source_propagation(m->source, !(m->propagation & MS_SLAVE));
        if (r < 0)
            return r;
        if (m->propagation & MS_SHARED)
            prop = MS_SHARED;
    }
    if (mount(NULL, "/", NULL, prop, NULL) < 0)
        return init_fail_errno(errno, "set root propagation");
    return 0;
}

/* The mount holding the rootfs (the overlay itself, or the filesystem a vfs
 * copy lives on) is made private in this namespace, so that nothing mounted
 * on or under the rootfs reaches a peer on the host when / stays shared. */
static int rootfs_parent_private(const char *rootfs)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", rootfs);
    for (;;) {
        if (mount(NULL, path, NULL, MS_PRIVATE, NULL) == 0)
            return 0;
        char *slash = strrchr(path, '/');
        if (errno != EINVAL || !slash)
            return init_fail_errno(errno, "make the rootfs mount private");
        if (slash == path)
            return mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0
                       ? init_fail_errno(errno, "make the rootfs mount private")
                       : 0;
        *slash = '\0';
    }
}

int root_setup(const struct spawn_plan *plan)
{
    init_step = SPAWN_STEP_MOUNTS;
    if (!plan->rootfs || plan->rootfs[0] != '/')
        return init_fail(EINVAL, "rootfs: not an absolute path");
    /* Nothing mounted from here on may propagate back to the host. */
    int r = root_propagation(plan);
    if (r == 0)
        r = rootfs_parent_private(plan->rootfs);
    if (r < 0)
        return r;
    if (mount(plan->rootfs, plan->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return init_fail_errno(errno, "bind rootfs %s", plan->rootfs);
    int rootfd = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return init_fail_errno(errno, "open rootfs %s", plan->rootfs);
    r = mount_all(rootfd, plan);
    if (r == 0)
        r = pivot(rootfd);
    close(rootfd);
    return r == 0 ? finish_root(plan) : r;
}
