#include "daemonfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "atomicfile.h"

static int lock_file(const char *path, int *ret_fd)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

int daemon_lock_pidfile(const char *path, struct berr *err)
{
    int fd = -1;
    int r = lock_file(path, &fd);
    if (r == -EWOULDBLOCK)
        return berr_set(err, 409, EBUSY,
                        "pid file found, ensure berthd is not running or delete %s", path);
    if (r < 0)
        return berr_errno(err, 500, -r, "open pid file '%s'", path);
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        r = -errno;
        close(fd);
        return berr_errno(err, 500, -r, "write pid file '%s'", path);
    }
    return fd;
}

int daemon_lock_data_root(const char *data_root, struct berr *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/berthd.lock", data_root);
    int fd = -1;
    int r = lock_file(path, &fd);
    if (r == -EWOULDBLOCK)
        return berr_set(err, 409, EBUSY, "another berthd is using the data root %s", data_root);
    if (r < 0)
        return berr_errno(err, 500, -r, "lock '%s'", path);
    return fd;
}

static int new_uuid(char *out, size_t outlen)
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -EIO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, outlen, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

int daemon_engine_id(const char *data_root, char *out, size_t outlen, struct berr *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/engine-id", data_root);
    char *text = NULL;
    struct berr ignored = {0};
    if (read_file_all(path, 256, &text, NULL, &ignored) == 0) {
        text[strcspn(text, "\r\n")] = '\0';
        bool ok = strlen(text) == 36;
        if (ok)
            snprintf(out, outlen, "%s", text);
        free(text);
        if (ok)
            return 0;
    }
    if (new_uuid(out, outlen) < 0)
        return berr_set(err, 500, EIO, "cannot generate an engine ID");
    char line[64];
    int n = snprintf(line, sizeof(line), "%s\n", out);
    return atomic_write_file(path, line, (size_t)n, 0644, err);
}
