#include "safe_path.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define SYMLINK_MAX_FOLLOW 40 /* the kernel's MAXSYMLINKS */

bool safe_path__no_openat2;
static atomic_bool openat2_missing;

/* ---- names ---- */

static int append_component(char *out, size_t outlen, size_t *n, const char *p, size_t len)
{
    size_t need = *n + (*n > 0) + len;
    if (need >= outlen)
        return -ENAMETOOLONG;
    if (*n > 0)
        out[(*n)++] = '/';
    memcpy(out + *n, p, len);
    *n += len;
    return 0;
}

int safe_path_clean(const char *name, char *out, size_t outlen)
{
    size_t n = 0;
    if (outlen == 0)
        return -ENAMETOOLONG;
    for (const char *p = name; *p;) {
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return -EINVAL;
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            int r = append_component(out, outlen, &n, p, len);
            if (r < 0)
                return r;
        }
        p = *end ? end + 1 : end;
    }
    out[n] = '\0';
    return 0;
}

/* ---- resolution with openat2 ---- */

static int openat2_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    /* EAGAIN: a concurrent rename raced with ".." resolution; try again. */
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN || tries >= 16)
            return -errno;
    }
}

/* ---- the same in userspace: one component at a time, never following a
 * symlink in the kernel; link contents are spliced into the unresolved rest,
 * an absolute one restarting at the root, and ".." stops at the root. ---- */

struct walk {
    int rootfd;
    int cur;          /* directory reached so far; rootfd is not owned */
    unsigned depth;   /* directories below the root on the way to cur */
    unsigned links;   /* symlinks followed */
    const char *next; /* unresolved rest, inside todo */
    char todo[SAFE_PATH_MAX];
};

static void walk_move(struct walk *w, int fd)
{
    if (w->cur != w->rootfd)
        close(w->cur);
    w->cur = fd;
}

static int walk_dotdot(struct walk *w)
{
    if (w->depth == 0)
        return 0; /* ".." of the root is the root */
    int fd = openat(w->cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    walk_move(w, fd);
    w->depth--;
    return 0;
}

static int walk_splice(struct walk *w, const char *target)
{
    char joined[SAFE_PATH_MAX];
    int n = snprintf(joined, sizeof(joined), "%s/%s", target, w->next);
    if (n < 0 || (size_t)n >= sizeof(joined))
        return -ENAMETOOLONG;
    memcpy(w->todo, joined, (size_t)n + 1);
    w->next = w->todo;
    return 0;
}

/* Takes fd, a symlink met on the way, and continues at its target. */
static int walk_symlink(struct walk *w, int fd)
{
    char target[SAFE_PATH_MAX];
    ssize_t n = readlinkat(fd, "", target, sizeof(target));
    int r = n < 0 ? -errno : 0;
    close(fd);
    if (r < 0)
        return r;
    if ((size_t)n >= sizeof(target))
        return -ENAMETOOLONG;
    if (n == 0)
        return -ENOENT;
    if (++w->links > SYMLINK_MAX_FOLLOW)
        return -ELOOP;
    target[n] = '\0';
    if (target[0] == '/') {
        walk_move(w, w->rootfd);
        w->depth = 0;
    }
    return walk_splice(w, target);
}

static int walk_component(struct walk *w, const char *comp, bool last, int flags)
{
    if (strcmp(comp, ".") == 0)
        return 0;
    if (strcmp(comp, "..") == 0)
        return walk_dotdot(w);
    int fd = openat(w->cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW)))
        return walk_symlink(w, fd);
    if (!S_ISDIR(st.st_mode) && (!last || (flags & O_DIRECTORY))) {
        close(fd);
        return -ENOTDIR;
    }
    walk_move(w, fd);
    w->depth++;
    return 0;
}

/* Takes the next component off w->next into comp; false when none is left. */
static int walk_take(struct walk *w, char comp[NAME_MAX + 1], bool *ret_last)
{
    const char *p = w->next;
    while (*p == '/')
        p++;
    if (!*p)
        return 0;
    const char *end = strchrnul(p, '/');
    if ((size_t)(end - p) > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(comp, p, (size_t)(end - p));
    comp[end - p] = '\0';
    while (*end == '/')
        end++;
    w->next = end;
    *ret_last = !*end;
    return 1;
}

static int walk_in_root(int rootfd, const char *path, int flags)
{
    _cleanup_free_ struct walk *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    if (strlen(path) >= sizeof(w->todo))
        return -ENAMETOOLONG;
    *w = (struct walk){.rootfd = rootfd, .cur = rootfd, .next = w->todo};
    strcpy(w->todo, path);
    char comp[NAME_MAX + 1];
    bool last;
    int r;
    while ((r = walk_take(w, comp, &last)) > 0 && (r = walk_component(w, comp, last, flags)) == 0)
        ;
    if (r < 0) {
        walk_move(w, w->rootfd);
        return r;
    }
    if (w->cur != rootfd)
        return w->cur;
    r = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return r < 0 ? -errno : r;
}

int safe_open_in_root(int rootfd, const char *path, int flags)
{
    if (!safe_path__no_openat2 && !atomic_load(&openat2_missing)) {
        int fd = openat2_in_root(rootfd, path, flags);
        if (fd != -ENOSYS)
            return fd;
        /* Old kernel, or a seccomp filter that does not know openat2. */
        atomic_store(&openat2_missing, true);
    }
    return walk_in_root(rootfd, path, flags);
}

/* ---- parents ---- */

/* name is missing in dirfd (the resolved directory of prefix): makes it. A
 * name that exists although resolving it failed is a dangling symlink. */
static int mkdir_one(int dirfd, const char *name)
{
    if (mkdirat(dirfd, name, 0755) < 0)
        return errno == EEXIST ? -ENOTDIR : -errno;
    /* Exactly 0755 root:root whatever the umask or a setgid parent say. */
    if (fchownat(dirfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(dirfd, name, 0755, 0) < 0)
        return -errno;
    int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Opens the first k components of parent (k = 0: the root). */
static int open_prefix(int rootfd, char *parent, const size_t *ends, size_t k)
{
    if (k == 0)
        return safe_open_in_root(rootfd, "", O_PATH | O_DIRECTORY);
    char saved = parent[ends[k - 1]];
    parent[ends[k - 1]] = '\0';
    int fd = safe_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
    parent[ends[k - 1]] = saved;
    return fd;
}

/* How many leading components of parent (which does not resolve, itself)
 * resolve: a binary search, as a prefix that resolves has prefixes that do. */
static int existing_prefix(int rootfd, char *parent, const size_t *ends, size_t n, size_t *ret)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        int fd = open_prefix(rootfd, parent, ends, mid);
        if (fd >= 0) {
            close(fd);
            lo = mid;
        } else if (fd == -ENOENT) {
            hi = mid;
        } else {
            return fd;
        }
    }
    *ret = lo;
    return 0;
}

/* Makes the missing directories of parent. The first is made inside its
 * predecessor as resolved from the root, so inside the root whatever
 * symlinks lie on the way; the rest go into the fresh, empty directories. */
static int mkdir_parents(int rootfd, char *parent)
{
    size_t ends[SAFE_PATH_MAX / 2 + 1], n = 0, k;
    for (size_t i = 0;; i++)
        if (parent[i] == '/' || parent[i] == '\0') {
            ends[n++] = i;
            if (!parent[i])
                break;
        }
    int r = existing_prefix(rootfd, parent, ends, n, &k);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = open_prefix(rootfd, parent, ends, k);
    for (; fd >= 0 && k < n; k++) {
        size_t start = k ? ends[k - 1] + 1 : 0;
        char saved = parent[ends[k]];
        parent[ends[k]] = '\0';
        int next = mkdir_one(fd, parent + start);
        parent[ends[k]] = saved;
        close(fd);
        fd = next;
    }
    return fd < 0 ? fd : TAKE_FD(fd);
}

int safe_open_parent(int rootfd, const char *path, bool mkdir_implied, int *ret_fd,
                     const char **ret_base)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    char parent[SAFE_PATH_MAX];
    if (len >= sizeof(parent))
        return -ENAMETOOLONG;
    memcpy(parent, path, len);
    parent[len] = '\0';
    int fd = safe_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
    if (fd == -ENOENT && mkdir_implied)
        fd = mkdir_parents(rootfd, parent);
    if (fd < 0)
        return fd;
    *ret_fd = fd;
    *ret_base = slash ? slash + 1 : path;
    return 0;
}

/* ---- removal ----
 * Depth-first, one directory stream per level, never following a symlink.
 * Below SAFE_RM_MAX_DEPTH levels a directory is not descended into but
 * renamed into the top of the tree being removed, and a later pass over the
 * top takes it: any depth is removed with a bounded number of open fds. */

struct rm {
    int topfd; /* the directory being removed */
    unsigned long seq;
    bool progress; /* this pass removed or moved something */
};

static int remove_tree(struct rm *rm, int parent, const char *name, unsigned depth);

static bool is_dot_or_dotdot(const char *name)
{
    return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static int move_to_top(struct rm *rm, int parent, const char *name)
{
    for (int tries = 0; tries < 1000; tries++) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), ".rm-%lu", rm->seq++);
        if (renameat(parent, name, rm->topfd, tmp) == 0) {
            rm->progress = true;
            return 0;
        }
        if (errno != EEXIST && errno != ENOTEMPTY)
            return -errno;
    }
    return -EEXIST;
}

/* Removes every child of dirfd. */
static int empty_fd(struct rm *rm, int dirfd, unsigned depth)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        safe_closep(&fd);
        return -errno;
    }
    int r;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            r = errno ? -errno : 0;
            break;
        }
        if (is_dot_or_dotdot(de->d_name))
            continue;
        if ((r = remove_tree(rm, dirfd, de->d_name, depth + 1)) < 0)
            break;
    }
    closedir(d);
    return r;
}

static int remove_dir(struct rm *rm, int parent, const char *name, unsigned depth)
{
    _cleanup_close_ int fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    /* A second pass covers entries a directory stream may skip while its
     * directory is being emptied. */
    for (int pass = 0; pass < 3; pass++) {
        int r = empty_fd(rm, fd, depth);
        if (r < 0)
            return r;
        if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
            rm->progress = true;
            return 0;
        }
        if (errno != ENOTEMPTY)
            return -errno;
    }
    return -ENOTEMPTY;
}

static int remove_tree(struct rm *rm, int parent, const char *name, unsigned depth)
{
    if (unlinkat(parent, name, 0) == 0) {
        rm->progress = true;
        return 0;
    }
    if (errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return -errno;
    if (depth >= SAFE_RM_MAX_DEPTH)
        return move_to_top(rm, parent, name);
    return remove_dir(rm, parent, name, depth);
}

int safe_remove_tree(int dirfd, const char *name)
{
    struct rm rm = {.topfd = -1};
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return -errno;
    _cleanup_close_ int top = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0)
        return errno == ENOENT ? 0 : -errno;
    rm.topfd = top;
    /* Each pass takes SAFE_RM_MAX_DEPTH levels off every deeper branch. */
    do {
        rm.progress = false;
        int r = empty_fd(&rm, top, 0);
        if (r < 0)
            return r;
        if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return 0;
        if (errno != ENOTEMPTY)
            return -errno;
    } while (rm.progress);
    return -ENOTEMPTY;
}
