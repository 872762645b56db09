/* Small-file I/O on cgroupfs: every value is one write() of the whole
 * string (the kernel parses each write as a unit), reads are bounded. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"

#define CG_READ_MAX (4u << 20)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int join(char *out, size_t size, const char *dir, const char *file, struct berr *err)
{
    int n = snprintf(out, size, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= size)
        return berr_set(err, 400, ENAMETOOLONG, "cgroup: path too long: %s/%s", dir, file);
    return 0;
}

/* Values the kernel rejects are the user's to fix. */
static int status_for_write(int e)
{
    return e == EINVAL || e == EBUSY || e == ERANGE || e == EOVERFLOW || e == ENOSPC ? 400 : 500;
}

int cg__write(const char *dir, const char *file, const char *value, struct berr *err)
{
    char path[CG_PATH_MAX + 64];
    int r = join(path, sizeof(path), dir, file, err);
    if (r < 0)
        return r;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        /* cgroupfs answers EACCES for a file it does not have. */
        if (e == EACCES && access(path, F_OK) < 0)
            return berr_set(err, 500, ENOENT, "cgroup: %s is not supported by this kernel (%s)",
                            file, dir);
        return berr_errno(err, 500, e, "cgroup: open %s", path);
    }
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int e = n < 0 ? errno : EIO;
    close(fd);
    if (n == (ssize_t)len)
        return 0;
    return berr_errno(err, status_for_write(e), e, "cgroup: write %s=%s", file, value);
}

int cg__writef(struct berr *err, const char *dir, const char *file, const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value))
        return berr_set(err, 400, E2BIG, "cgroup: value for %s too long", file);
    return cg__write(dir, file, value, err);
}

int cg__read(const char *dir, const char *file, char *buf, size_t size, struct berr *err)
{
    char path[CG_PATH_MAX + 64];
    int r = join(path, sizeof(path), dir, file, err);
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_errno(err, errno == ENOENT ? 404 : 500, errno, "cgroup: open %s", path);
    size_t len = 0;
    ssize_t n = 0;
    while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    int e = errno;
    close(fd);
    buf[len] = '\0';
    if (n < 0)
        return berr_errno(err, 500, e, "cgroup: read %s", path);
    return 0;
}

int cg__read_all(const char *dir, const char *file, char **ret, struct berr *err)
{
    size_t size = 4096;
    char *buf = NULL;
    for (;;) {
        char *nb = realloc(buf, size);
        if (!nb) {
            free(buf);
            return berr_set(err, 500, ENOMEM, "out of memory");
        }
        buf = nb;
        int r = cg__read(dir, file, buf, size, err);
        if (r < 0 || strlen(buf) + 1 < size || size >= CG_READ_MAX) {
            if (r < 0)
                free(buf);
            else
                *ret = buf;
            return r;
        }
        size *= 2; /* filled the buffer: the file may be longer */
    }
}

int cg__read_u64(const char *dir, const char *file, uint64_t *ret, struct berr *err)
{
    char buf[64];
    int r = cg__read(dir, file, buf, sizeof(buf), err);
    if (r < 0)
        return r;
    if (strncmp(buf, "max", 3) == 0) {
        *ret = UINT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || end == buf)
        return berr_set(err, 500, EINVAL, "cgroup: %s/%s: not a number: '%.32s'", dir, file, buf);
    *ret = v;
    return 0;
}

bool cg__exists(const char *dir, const char *file)
{
    char path[CG_PATH_MAX + 64];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, file);
    return n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0;
}

int cg__key_u64(const char *text, const char *key, uint64_t *ret)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            *ret = strtoull(p + klen + 1, NULL, 10);
            return 0;
        }
    }
    return -ENOENT;
}

int cg__mkdir_p(const char *root, const char *path, struct berr *err)
{
    char buf[CG_PATH_MAX];
    size_t rootlen = strlen(root);
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return berr_set(err, 400, ENAMETOOLONG, "cgroup: path too long: %s", path);
    if (strncmp(buf, root, rootlen) != 0 || buf[rootlen] != '/')
        return berr_set(err, 500, EINVAL, "cgroup: %s is not under %s", path, root);
    for (char *p = buf + rootlen + 1;; p++) {
        p = strchr(p, '/');
        if (p)
            *p = '\0';
        int rc = mkdir(buf, 0755);
        int e = errno;
        if (rc < 0 && e != EEXIST)
            return berr_errno(err, 500, e, "cgroup: mkdir %s", buf);
        if (!p)
            return 0;
        *p = '/';
    }
}

static int rmdir_retry(const char *path, struct berr *err)
{
    for (int i = 0; i < 100; i++) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            break;
        sleep_ms(10); /* the last task may still be exiting */
    }
    return berr_errno(err, errno == EBUSY ? 409 : 500, errno, "cgroup: remove %s", path);
}

int cg__rmdir_tree(const char *path, struct berr *err)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : berr_errno(err, 500, errno, "cgroup: open %s", path);
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[CG_PATH_MAX];
        if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub))
            r = berr_set(err, 500, ENAMETOOLONG, "cgroup: path too long under %s", path);
        else
            r = cg__rmdir_tree(sub, err);
    }
    closedir(d);
    return r < 0 ? r : rmdir_retry(path, err);
}

int cg__read_pids(const char *dir, pid_t **ret, size_t *ret_n, struct berr *err)
{
    char *text = NULL;
    int r = cg__read_all(dir, "cgroup.procs", &text, err);
    if (r < 0)
        return r;
    size_t n = 0, cap = 0;
    pid_t *pids = NULL;
    for (char *p = text, *end; *p; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            pid_t *np = realloc(pids, cap * sizeof(*pids));
            if (!np) {
                free(pids);
                free(text);
                return berr_set(err, 500, ENOMEM, "out of memory");
            }
            pids = np;
        }
        pids[n++] = (pid_t)v;
    }
    free(text);
    *ret = pids;
    *ret_n = n;
    return 0;
}

int cg__kill_loop(const char *dir, struct berr *err)
{
    /* A process may fork between our read and our kill: repeat until the
     * list stays empty (each round kills the parents of the next). */
    for (int round = 0; round < 200; round++) {
        pid_t *pids = NULL;
        size_t n = 0;
        int r = cg__read_pids(dir, &pids, &n, err);
        if (r < 0)
            return r == -ENOENT ? 0 : r;
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
        free(pids);
        if (n == 0)
            return 0;
        sleep_ms(10);
    }
    return berr_set(err, 500, EBUSY, "cgroup: processes remain in %s after SIGKILL", dir);
}

int cg__wait_key(const char *dir, const char *file, const char *key, uint64_t want,
                 struct berr *err)
{
    for (int i = 0; i < 200; i++) {
        char buf[512];
        uint64_t v;
        struct berr ignored = {0};
        if (cg__read(dir, file, buf, sizeof(buf), &ignored) < 0)
            return 0; /* no such file (older kernel, fake tree): nothing to wait on */
        if (cg__key_u64(buf, key, &v) < 0 || v == want)
            return 0;
        sleep_ms(10);
    }
    return berr_set(err, 500, ETIMEDOUT, "cgroup: %s/%s: timed out waiting for %s %" PRIu64, dir,
                    file, key, want);
}

int cg__devnum(const char *path, char out[32], struct berr *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return berr_errno(err, errno == ENOENT ? 404 : 400, errno, "cgroup: stat device %s", path);
    if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
        return berr_set(err, 400, EINVAL, "cgroup: %s is not a device", path);
    snprintf(out, 32, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
    return 0;
}

void cg__warn(struct cg_warnings *w, const char *fmt, ...)
{
    if (!w || w->n >= CG_WARN_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg[w->n++], sizeof(w->msg[0]), fmt, ap);
    va_end(ap);
}

/* The same two files under v1 and v2; unset lists leave the parent's. */
int cg__apply_cpuset(const char *dir, const struct cg_limits *lim, struct berr *err)
{
    int r = 0;
    if (lim->cpuset_cpus && *lim->cpuset_cpus)
        r = cg__write(dir, "cpuset.cpus", lim->cpuset_cpus, err);
    if (r == 0 && lim->cpuset_mems && *lim->cpuset_mems)
        r = cg__write(dir, "cpuset.mems", lim->cpuset_mems, err);
    return r;
}
