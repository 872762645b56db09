/* Path-level wrappers around safe_remove_tree (storage/safe_path.c), which
 * does the openat/unlinkat walk without following symlinks. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_path.h"

/* Splits path into its parent directory (opened) and last component. */
static int open_parent(const char *path, char *base, size_t baselen)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, path, len);
    buf[len] = '\0';
    char *slash = strrchr(buf, '/');
    const char *name = slash ? slash + 1 : buf;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strlen(name) >= baselen)
        return -EINVAL;
    memcpy(base, name, strlen(name) + 1);
    const char *dir = ".";
    if (slash == buf)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = buf;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int fs_rm_rf(const char *path)
{
    char base[NAME_MAX + 1];
    int dfd = open_parent(path, base, sizeof(base));
    if (dfd == -ENOENT)
        return 0;
    if (dfd < 0)
        return dfd;
    int r = safe_remove_tree(dfd, base);
    close(dfd);
    return r;
}

/* One pass over the directory; *ret_seen counts entries found. */
static int empty_pass(DIR *d, unsigned *ret_seen)
{
    rewinddir(d);
    *ret_seen = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de)
            return errno ? -errno : 0;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        (*ret_seen)++;
        int r = safe_remove_tree(dirfd(d), de->d_name);
        if (r < 0)
            return r;
    }
}

int fs_empty_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? -ENOTDIR : -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        close(fd);
        return r;
    }
    /* Removing entries while reading the stream may skip some: repeat until
     * a pass finds nothing left. */
    int r = 0;
    unsigned seen = 1;
    for (int pass = 0; pass < 8 && seen > 0 && r == 0; pass++)
        r = empty_pass(d, &seen);
    if (r == 0 && seen > 0)
        r = -ENOTEMPTY;
    closedir(d);
    return r;
}

int fs_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

bool fs_is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
