/* Paths inside the container's root, and mounts on them.
 *
 * The image decides what its paths are: /proc, /etc/hosts or a volume
 * target may be a symlink to "../../../etc" or "/" of the host. Before
 * pivot_root every target is therefore opened with openat2(RESOLVE_IN_ROOT),
 * which resolves symlinks and ".." as if the rootfs were "/", and the mount
 * is made on the resulting fd through /proc/self/fd/N. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

/* Deepest directory chain fs_mkdir_in_root() creates. */
#define MKDIR_DEPTH_MAX 64

const char *fdpath(struct fdpath *p, int fd)
{
    snprintf(p->s, sizeof(p->s), "/proc/self/fd/%d", fd);
    return p->s;
}

int fs_open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    long fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

/* Splits path into its parent (in buf) and last component; returns NULL for
 * a path without one ("/"). */
static const char *split_last(const char *path, char *buf, size_t size)
{
    size_t n = strnlen(path, size);
    if (n >= size)
        return NULL;
    memcpy(buf, path, n + 1);
    while (n > 0 && buf[n - 1] == '/')
        buf[--n] = '\0';
    char *slash = strrchr(buf, '/');
    if (n == 0 || !slash || !slash[1])
        return NULL;
    *slash = '\0';
    return slash + 1;
}

static int mkdir_depth(int rootfd, const char *path, mode_t mode, int depth)
{
    char parent[4096];
    int fd = fs_open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
    if (fd != -ENOENT)
        return fd;
    const char *name = split_last(path, parent, sizeof(parent));
    if (!name || depth >= MKDIR_DEPTH_MAX)
        return -ENOENT;
    int pfd = mkdir_depth(rootfd, parent, mode, depth + 1);
    if (pfd < 0)
        return pfd;
    /* name is one component: mkdirat never follows a symlink there (a
     * dangling one gives EEXIST, and the reopen below confines it). */
    int r = mkdirat(pfd, name, mode);
    int e = errno;
    close(pfd);
    if (r < 0 && e != EEXIST)
        return -e;
    return fs_open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
}

int fs_mkdir_in_root(int rootfd, const char *path, mode_t mode)
{
    return mkdir_depth(rootfd, path, mode, 0);
}

int fs_mkfile_in_root(int rootfd, const char *path)
{
    char parent[4096];
    int fd = fs_open_in_root(rootfd, path, O_PATH);
    if (fd != -ENOENT)
        return fd;
    const char *name = split_last(path, parent, sizeof(parent));
    if (!name)
        return -EINVAL;
    int pfd = fs_mkdir_in_root(rootfd, parent, 0755);
    if (pfd < 0)
        return pfd;
    int nfd = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    int e = errno;
    close(pfd);
    if (nfd < 0 && e != EEXIST)
        return -e;
    if (nfd >= 0)
        close(nfd);
    return fs_open_in_root(rootfd, path, O_PATH);
}

int fs_mount(int rootfd, const char *src, const char *target, const char *fstype,
             unsigned long flags, const char *data)
{
    struct fdpath p;
    int fd = fs_mkdir_in_root(rootfd, target, 0755);
    if (fd < 0)
        return init_fail_errno(-fd, "error mounting \"%s\" to rootfs at \"%s\": mkdir", fstype,
                               target);
    int r = mount(src, fdpath(&p, fd), fstype, flags, data);
    int e = errno;
    close(fd);
    if (r < 0)
        return init_fail_errno(e, "error mounting \"%s\" to rootfs at \"%s\"", fstype, target);
    return 0;
}

/* The MS_* flags a bind remount must repeat so as not to clear them. */
static unsigned long mount_flags_of(int fd)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (fstatvfs(fd, &sv) < 0)
        return 0;
    f |= (sv.f_flag & ST_RDONLY) ? MS_RDONLY : 0;
    f |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
    f |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
    f |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
    return f;
}

/* Reopened after the mount: an fd taken before it still names the
 * directory underneath, not the new mount. */
int fs_remount(int rootfd, const char *target, unsigned long flags)
{
    struct fdpath p;
    int fd = fs_open_in_root(rootfd, target, O_PATH);
    if (fd < 0)
        return init_fail_errno(-fd, "remount \"%s\"", target);
    flags |= mount_flags_of(fd);
    int r = mount(NULL, fdpath(&p, fd), NULL, MS_BIND | MS_REMOUNT | flags, NULL);
    int e = errno;
    close(fd);
    if (r < 0)
        return init_fail_errno(e, "remount \"%s\"", target);
    return 0;
}

int fs_propagate(int rootfd, const char *target, unsigned long propagation)
{
    struct fdpath p;
    int fd = fs_open_in_root(rootfd, target, O_PATH);
    if (fd < 0)
        return init_fail_errno(-fd, "set propagation of \"%s\"", target);
    int r = mount(NULL, fdpath(&p, fd), NULL, propagation, NULL);
    int e = errno;
    close(fd);
    if (r < 0)
        return init_fail_errno(e, "set propagation of \"%s\"", target);
    return 0;
}

int fs_bind(int rootfd, const char *src, const char *target, unsigned long flags,
            unsigned long propagation)
{
    struct stat st;
    struct fdpath p;
    if (stat(src, &st) < 0)
        return init_fail_errno(errno, "error mounting \"%s\" to rootfs at \"%s\": stat %s", src,
                               target, src);
    int fd = S_ISDIR(st.st_mode) ? fs_mkdir_in_root(rootfd, target, 0755)
                                 : fs_mkfile_in_root(rootfd, target);
    if (fd < 0)
        return init_fail_errno(-fd, "error mounting \"%s\" to rootfs at \"%s\": create target", src,
                               target);
    int r = mount(src, fdpath(&p, fd), NULL, MS_BIND | (flags & MS_REC), NULL);
    int e = errno;
    close(fd);
    if (r < 0)
        return init_fail_errno(e, "error mounting \"%s\" to rootfs at \"%s\"", src, target);
    unsigned long extra = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (extra && (r = fs_remount(rootfd, target, extra)) < 0)
        return r;
    return propagation ? fs_propagate(rootfd, target, propagation) : 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

static bool path_under(const char *path, const char *mnt)
{
    size_t n = strlen(mnt);
    if (!strcmp(mnt, "/"))
        return true;
    return !strncmp(path, mnt, n) && (path[n] == '/' || path[n] == '\0');
}

/* The mount holding path (the last, so topmost, of the longest mount points
 * above it): its mount point into mnt and its optional fields into opts. */
static int source_mount(const char *path, char *mnt, size_t mnt_size, char *opts, size_t opts_size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -errno;
    char line[8192];
    size_t best = 0;
    while (fgets(line, sizeof(line), f)) {
        char point[4096], rest[4096] = "";
        if (sscanf(line, "%*s %*s %*s %*s %4095s %*s %4095[^\n]", point, rest) < 1)
            continue;
        unescape_octal(point);
        size_t n = strlen(point);
        if (!path_under(path, point) || n < best)
            continue;
        best = n;
        snprintf(mnt, mnt_size, "%s", point);
        char *dash = strncmp(rest, "- ", 2) ? strstr(rest, " - ") : rest;
        snprintf(opts, opts_size, "%.*s", dash ? (int)(dash - rest) : (int)strlen(rest), rest);
    }
    fclose(f);
    return best ? 0 : -ENOENT;
}

int fs_check_source_propagation(const char *source, bool want_shared)
{
    char real[4096], mnt[4096], opts[4096];
    if (!realpath(source, real))
        return init_fail_errno(errno, "error evaluating symlinks from mount source \"%s\"", source);
    int r = source_mount(real, mnt, sizeof(mnt), opts, sizeof(opts));
    if (r < 0)
        return init_fail_errno(-r, "finding the mount of %s", real);
    if (strstr(opts, "shared:") || (!want_shared && strstr(opts, "master:")))
        return 0;
    return init_fail(EINVAL, "path %s is mounted on %s but it is not a %s mount", source, mnt,
                     want_shared ? "shared" : "shared or slave");
}
