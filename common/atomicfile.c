#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fd_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode, struct berr *err)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)gettid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return berr_set(err, 500, ENAMETOOLONG, "path too long: '%s'", path);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return berr_errno(err, 500, errno, "create '%s'", tmp);
    int r = fd_write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return berr_errno(err, 500, -r, "write '%s'", path);
    }
    r = fsync_parent_dir(path);
    if (r < 0)
        return berr_errno(err, 500, -r, "sync directory of '%s'", path);
    return 0;
}

int write_new_file(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                   struct berr *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return berr_errno(err, 500, errno, "create '%s'", path);
    int r = fd_write_all(fd, data, len);
    if (r == 0 && sync && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0)
        return berr_errno(err, 500, -r, "write '%s'", path);
    return 0;
}

int fsync_dir(const char *dir, struct berr *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = fd < 0 || fsync(fd) < 0 ? -errno : 0;
    if (fd >= 0)
        close(fd);
    return r < 0 ? berr_errno(err, 500, -r, "sync directory '%s'", dir) : 0;
}

static int read_fd_all(int fd, size_t max, char **ret_data, size_t *ret_len)
{
    size_t cap = 4096, len = 0;
    char *data = malloc(cap);
    if (!data)
        return -ENOMEM;
    for (;;) {
        if (len + 1 >= cap) {
            char *p = realloc(data, cap * 2);
            if (!p) {
                free(data);
                return -ENOMEM;
            }
            data = p;
            cap *= 2;
        }
        ssize_t got = read(fd, data + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int r = -errno;
            free(data);
            return r;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len > max) { /* stop as soon as the limit is passed */
            free(data);
            return -EFBIG;
        }
    }
    data[len] = '\0';
    *ret_data = data;
    *ret_len = len;
    return 0;
}

int read_file_all(const char *path, size_t max, char **ret_data, size_t *ret_len, struct berr *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_errno(err, errno == ENOENT ? 404 : 500, errno, "open '%s'", path);
    char *data = NULL;
    size_t len = 0;
    int r = read_fd_all(fd, max, &data, &len);
    close(fd);
    if (r < 0)
        return berr_errno(err, 500, -r, "read '%s'", path);
    *ret_data = data;
    if (ret_len)
        *ret_len = len;
    return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(tmp, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
