#include "fs_copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/map.h"

struct copy_ctx {
    int droot;        /* the destination root, for hardlink targets */
    struct map links; /* "dev:ino" -> first path copied (for hardlinks) */
    struct berr *err;
    char buf[128 * 1024];
};

static int copy_xattrs(int sfd, int dfd)
{
    char names[4096], value[4096];
    ssize_t n = flistxattr(sfd, names, sizeof(names));
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
        ssize_t vlen = fgetxattr(sfd, names + off, value, sizeof(value));
        if (vlen >= 0 && fsetxattr(dfd, names + off, value, (size_t)vlen, 0) < 0 &&
            errno != ENOTSUP)
            return -errno;
    }
    return 0;
}

static int copy_file(struct copy_ctx *c, int sdir, int ddir, const char *name,
                     const struct stat *st)
{
    int sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return -errno;
    int dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = dfd < 0 ? -errno : 0;
    ssize_t n;
    while (r == 0 && (n = read(sfd, c->buf, sizeof(c->buf))) != 0) {
        if (n < 0) {
            r = errno == EINTR ? 0 : -errno;
            continue;
        }
        for (ssize_t off = 0; r == 0 && off < n;) {
            ssize_t w = write(dfd, c->buf + off, (size_t)(n - off));
            r = w < 0 ? -errno : 0;
            off += w > 0 ? w : 0;
        }
    }
    if (r == 0)
        r = copy_xattrs(sfd, dfd);
    if (r == 0 && (fchown(dfd, st->st_uid, st->st_gid) < 0 || fchmod(dfd, st->st_mode & 07777) < 0))
        r = -errno;
    close(sfd);
    if (dfd >= 0)
        close(dfd);
    return r;
}

static int copy_meta(int ddir, const char *name, const struct stat *st)
{
    if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
        return -errno;
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    return utimensat(ddir, name, times, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int copy_dir(struct copy_ctx *c, int sdir, int ddir, const char *path);

/* A second name of an inode already copied becomes a hardlink again. */
static int try_hardlink(struct copy_ctx *c, int ddir, const char *name, const char *path,
                        const struct stat *st, bool *done)
{
    *done = false;
    if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
        return 0;
    char key[64];
    snprintf(key, sizeof(key), "%lu:%lu", (unsigned long)st->st_dev, (unsigned long)st->st_ino);
    const char *first = map_get(&c->links, key);
    if (!first) {
        char *copy = strdup(path);
        return copy && map_put(&c->links, key, copy) == 0 ? 0 : -ENOMEM;
    }
    *done = true;
    return linkat(c->droot, first, ddir, name, 0) < 0 ? -errno : 0;
}

static int copy_entry(struct copy_ctx *c, int sdir, int ddir, const char *name, const char *path)
{
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    bool linked;
    int r = try_hardlink(c, ddir, name, path, &st, &linked);
    if (r < 0 || linked)
        return r;
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(ddir, name, 0700) < 0 && errno != EEXIST)
            return -errno;
        int s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = s2 < 0 || d2 < 0 ? -errno : copy_dir(c, s2, d2, path);
        if (r == 0)
            r = copy_xattrs(s2, d2);
        if (s2 >= 0)
            close(s2);
        if (d2 >= 0)
            close(d2);
    } else if (S_ISREG(st.st_mode)) {
        r = copy_file(c, sdir, ddir, name, &st);
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        r = symlinkat(target, ddir, name) < 0 ? -errno : 0;
    } else {
        r = mknodat(ddir, name, st.st_mode, st.st_rdev) < 0 ? -errno : 0;
    }
    return r == 0 ? copy_meta(ddir, name, &st) : r;
}

static int copy_dir(struct copy_ctx *c, int sdir, int ddir, const char *path)
{
    int fd = dup(sdir);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char child[4096];
        snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "", de->d_name);
        r = copy_entry(c, sdir, ddir, de->d_name, child);
        if (r < 0 && !c->err->msg[0])
            berr_errno(c->err, 500, -r, "copy '%s'", child);
    }
    closedir(d);
    return r;
}

int fs_copy_tree(const char *src, const char *dst, struct berr *err)
{
    struct copy_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return berr_set(err, 500, ENOMEM, "out of memory");
    c->err = err;
    err->msg[0] = '\0';
    int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    c->droot = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = s < 0 || c->droot < 0 ? berr_errno(err, 500, errno, "open '%s' or '%s'", src, dst)
                                  : copy_dir(c, s, c->droot, "");
    if (r == 0) {
        struct stat st;
        if (fstat(s, &st) == 0 && (fchown(c->droot, st.st_uid, st.st_gid) < 0 ||
                                   fchmod(c->droot, st.st_mode & 07777) < 0))
            r = berr_errno(err, 500, errno, "copy ownership of '%s'", src);
    }
    if (r < 0 && !err->status)
        err->status = 500;
    if (s >= 0)
        close(s);
    if (c->droot >= 0)
        close(c->droot);
    void *v;
    for (size_t it = 0; map_next(&c->links, &it, NULL, &v);)
        free(v);
    map_done(&c->links);
    free(c);
    return r;
}
