/* Walking a layer for layer_archive.h: an overlay upper dir as it is, or a
 * vfs root side by side with its image's tree. Everything is opened
 * relative to a directory fd with O_NOFOLLOW (a running container may swap
 * a directory for a symlink at any moment: the walk never leaves the tree),
 * and no mount below the root is entered. Names are sorted so the order
 * never depends on the filesystem. One fd is held per directory level. */
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

#include "common/config.h" /* struct strv */
#include "common/macros.h"
#include "layer_walk.h"
#include "safe_path.h"

#define LW_DEPTH_MAX 512

/* What the runtime creates in a container's root to mount over; Docker
 * keeps them in the container's init layer, below its writable layer. */
static const char *const mount_stubs[] = {
    "proc", "sys", "dev", ".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf",
};

static bool is_stub(const char *path)
{
    for (size_t i = 0; i < ARRAY_SIZE(mount_stubs); i++)
        if (strcmp(path, mount_stubs[i]) == 0)
            return true;
    return false;
}

static bool is_stub_parent(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < ARRAY_SIZE(mount_stubs); i++)
        if (strncmp(mount_stubs[i], path, n) == 0 && mount_stubs[i][n] == '/')
            return true;
    return false;
}

bool lw_is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

bool lw_is_opaque(int fd)
{
    static const char *const names[] = {"trusted.overlay.opaque", "user.overlay.opaque"};
    char proc[64], v[2];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (getxattr(proc, names[i], v, sizeof(v)) == 1 && v[0] == 'y')
            return true;
    return false;
}

/* ---- the walker ---- */

/* A directory being walked; pending until given to visit. */
struct lw_frame {
    int parent_fd;
    const char *name;
    struct stat st;
    size_t path_len;
    bool pending;
    bool stub_parent;
    int change;
};

struct walker {
    const struct layer_src *src;
    const atomic_bool *stop;
    lw_visit_fn visit;
    void *ud;
    struct berr *err;
    dev_t dev; /* the root's filesystem */
    char path[SAFE_PATH_MAX];
    size_t len;
    struct lw_frame frames[LW_DEPTH_MAX];
    size_t depth;
};

static int fail(struct walker *w, int r, const char *what)
{
    return berr_errno(w->err, 500, -r, "%s '%s/%s'", what, w->src->top, w->path);
}

static int path_push(struct walker *w, const char *name, size_t *saved)
{
    *saved = w->len;
    int n = snprintf(w->path + w->len, sizeof(w->path) - w->len, "%s%s", w->len ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof(w->path) - w->len)
        return berr_set(w->err, 500, ENAMETOOLONG, "path too long below '%s'", w->src->top);
    w->len += (size_t)n;
    return 0;
}

static void path_pop(struct walker *w, size_t saved)
{
    w->len = saved;
    w->path[saved] = '\0';
}

/* Gives the pending directories above the current entry to visit first. */
static int flush_pending(struct walker *w)
{
    for (size_t i = 0; i < w->depth; i++) {
        struct lw_frame *f = &w->frames[i];
        if (!f->pending)
            continue;
        char saved = w->path[f->path_len];
        w->path[f->path_len] = '\0';
        struct lw_entry e = {.path = w->path,
                             .dfd = f->parent_fd,
                             .name = f->name,
                             .st = &f->st,
                             .stub_parent = f->stub_parent,
                             .change = f->change};
        int r = w->visit(w->ud, &e);
        w->path[f->path_len] = saved;
        f->pending = false;
        if (r < 0)
            return r;
    }
    return 0;
}

static int emit(struct walker *w, struct lw_entry *e)
{
    int r = flush_pending(w);
    e->path = w->path;
    return r < 0 ? r : w->visit(w->ud, e);
}

static int frame_push(struct walker *w, const struct lw_frame *f)
{
    if (w->depth == LW_DEPTH_MAX)
        return berr_set(w->err, 500, ELOOP, "directories nested deeper than %d levels at '%s'",
                        LW_DEPTH_MAX, w->path);
    w->frames[w->depth] = *f;
    w->frames[w->depth].path_len = w->len;
    w->depth++;
    return 0;
}

static bool stopped(const struct walker *w)
{
    return w->stop && atomic_load_explicit(w->stop, memory_order_relaxed);
}

/* ---- directory listings ---- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A container's mount stubs are left out (only the top levels hold them). */
static bool keep_name(const struct walker *w, const char *name)
{
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    if (!w->src->container || w->depth > 1)
        return true;
    char child[SAFE_PATH_MAX];
    int n = snprintf(child, sizeof(child), "%s%s%s", w->path, w->len ? "/" : "", name);
    return n < 0 || (size_t)n >= sizeof(child) || !is_stub(child); /* too long: no stub */
}

/* The names in the directory open as fd, sorted (fd stays open). */
static int read_names(struct walker *w, int fd, struct strv *ret)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
    if (!d) {
        int r = -errno;
        if (dup_fd >= 0)
            close(dup_fd);
        return fail(w, r, "read directory");
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (errno = 0, de = readdir(d)))
        if (keep_name(w, de->d_name))
            r = strv_push(ret, de->d_name);
    if (r == 0 && errno)
        r = fail(w, -errno, "read directory");
    closedir(d);
    if (r == -ENOMEM)
        return berr_set(w->err, 500, ENOMEM, "out of memory");
    if (r == 0 && ret->n > 1)
        qsort(ret->v, ret->n, sizeof(*ret->v), cmp_names);
    return r;
}

/* A subdirectory, opened; 0 with *ret_fd -1 when it vanished, became
 * something else or is another filesystem (a mount is not entered). */
static int open_subdir(struct walker *w, int dfd, const char *name, struct stat *st, int *ret_fd)
{
    *ret_fd = -1;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : fail(w, -errno, "open");
    if (fstat(fd, st) < 0) {
        int r = fail(w, -errno, "stat");
        close(fd);
        return r;
    }
    if (st->st_dev != w->dev) {
        close(fd);
        return 0;
    }
    *ret_fd = fd;
    return 0;
}

/* ---- overlay: the upper dir as it is ---- */

static int walk_upper(struct walker *w, int fd);

static int upper_dir(struct walker *w, int dfd, const char *name)
{
    struct stat st;
    int fd, r = open_subdir(w, dfd, name, &st, &fd);
    if (r < 0 || fd < 0)
        return r;
    bool opaque = lw_is_opaque(fd);
    struct lw_frame f = {.parent_fd = dfd, .name = name, .st = st, .change = -1};
    f.stub_parent = w->src->container && is_stub_parent(w->path);
    /* /etc holding only mount stubs is not a change of the container's */
    f.pending = f.stub_parent && !opaque;
    if (!f.pending) {
        struct lw_entry e = {.dfd = dfd,
                             .name = name,
                             .st = &st,
                             .opaque = opaque,
                             .stub_parent = f.stub_parent,
                             .change = -1};
        r = emit(w, &e);
    }
    if (r == 0 && (r = frame_push(w, &f)) == 0) {
        r = walk_upper(w, fd);
        w->depth--;
    }
    close(fd);
    return r;
}

static int upper_entry(struct walker *w, int dfd, const char *name)
{
    size_t saved;
    int r = stopped(w) ? berr_set(w->err, 500, ECANCELED, "cancelled") : path_push(w, name, &saved);
    if (r < 0)
        return r;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        r = errno == ENOENT ? 0 : fail(w, -errno, "stat");
    } else if (S_ISDIR(st.st_mode)) {
        r = upper_dir(w, dfd, name);
    } else {
        struct lw_entry e = {.dfd = dfd, .name = name, .st = &st, .change = -1};
        e.whiteout = lw_is_whiteout(&st);
        r = emit(w, &e);
    }
    path_pop(w, saved);
    return r;
}

static int walk_upper(struct walker *w, int fd)
{
    struct strv names = {0};
    int r = read_names(w, fd, &names);
    for (size_t i = 0; r == 0 && i < names.n; i++)
        r = upper_entry(w, fd, names.v[i]);
    strv_done(&names);
    return r;
}

/* ---- vfs: the container's root against the image's tree ---- */

static int walk_pair(struct walker *w, int nfd, int ofd);

/* Go's times compared as moby's sameFsTime: equal, or the same second with
 * one side whole (tar keeps no fraction). */
static bool same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec &&
           (a->tv_nsec == b->tv_nsec || a->tv_nsec == 0 || b->tv_nsec == 0);
}

static ssize_t capability_at(int dfd, const char *name, char *buf, size_t len)
{
    char proc[64 + NAME_MAX];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, name);
    ssize_t n = lgetxattr(proc, "security.capability", buf, len);
    return n < 0 ? 0 : n;
}

/* moby's statDifferent, plus the file capability as its walker compares. */
static bool differs(int nfd, int ofd, const char *name, const struct stat *n, const struct stat *o)
{
    if (n->st_mode != o->st_mode || n->st_uid != o->st_uid || n->st_gid != o->st_gid ||
        n->st_rdev != o->st_rdev)
        return true;
    if (S_ISDIR(n->st_mode)) /* size and mtime of directories are no measure of change */
        return false;
    if (n->st_size != o->st_size || !same_time(&n->st_mtim, &o->st_mtim))
        return true;
    if (!S_ISREG(n->st_mode))
        return false;
    char a[64], b[64];
    ssize_t la = capability_at(nfd, name, a, sizeof(a)),
            lb = capability_at(ofd, name, b, sizeof(b));
    return la != lb || memcmp(a, b, (size_t)la) != 0;
}

static int pair_dir(struct walker *w, int nfd, int ofd, const char *name, const struct stat *old)
{
    struct stat st;
    int fd, r = open_subdir(w, nfd, name, &st, &fd);
    if (r < 0 || fd < 0)
        return r;
    int old_fd = -1;
    if (old && S_ISDIR(old->st_mode))
        old_fd = openat(ofd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct lw_frame f = {.parent_fd = nfd, .name = name, .st = st};
    f.change = old ? LAYER_MODIFIED : LAYER_ADDED;
    f.stub_parent = w->src->container && is_stub_parent(w->path);
    /* An unchanged directory is given only if something below it changed. */
    f.pending = old ? !differs(nfd, ofd, name, &st, old) : f.stub_parent;
    if (!f.pending) {
        struct lw_entry e = {.dfd = nfd, .name = name, .st = &st, .change = f.change};
        e.stub_parent = f.stub_parent;
        r = emit(w, &e);
    }
    if (r == 0 && (r = frame_push(w, &f)) == 0) {
        r = walk_pair(w, fd, old_fd);
        w->depth--;
    }
    if (old_fd >= 0)
        close(old_fd);
    close(fd);
    return r;
}

/* name in the container's root, and maybe in the image's (ofd >= 0). */
static int pair_entry(struct walker *w, int nfd, int ofd, const char *name)
{
    size_t saved;
    int r = stopped(w) ? berr_set(w->err, 500, ECANCELED, "cancelled") : path_push(w, name, &saved);
    if (r < 0)
        return r;
    struct stat st, old;
    bool in_old = ofd >= 0 && fstatat(ofd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (fstatat(nfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        r = errno == ENOENT ? 0 : fail(w, -errno, "stat");
    } else if (S_ISDIR(st.st_mode)) {
        r = pair_dir(w, nfd, ofd, name, in_old ? &old : NULL);
    } else if (!in_old || differs(nfd, ofd, name, &st, &old)) {
        struct lw_entry e = {.dfd = nfd, .name = name, .st = &st};
        e.change = in_old ? LAYER_MODIFIED : LAYER_ADDED;
        r = emit(w, &e);
    }
    path_pop(w, saved);
    return r;
}

static int pair_deleted(struct walker *w, const char *name)
{
    size_t saved;
    int r = path_push(w, name, &saved);
    if (r < 0)
        return r;
    struct lw_entry e = {.dfd = -1, .name = name, .whiteout = true, .change = LAYER_DELETED};
    r = emit(w, &e);
    path_pop(w, saved);
    return r;
}

/* The two sorted listings merged: only in the image -> deleted. */
static int walk_pair(struct walker *w, int nfd, int ofd)
{
    struct strv nn = {0}, on = {0};
    int r = read_names(w, nfd, &nn);
    if (r == 0 && ofd >= 0)
        r = read_names(w, ofd, &on);
    size_t i = 0, j = 0;
    while (r == 0 && (i < nn.n || j < on.n)) {
        int c = i == nn.n ? 1 : j == on.n ? -1 : strcmp(nn.v[i], on.v[j]);
        if (c > 0)
            r = pair_deleted(w, on.v[j++]);
        else
            r = pair_entry(w, nfd, c == 0 ? ofd : -1, nn.v[i++]);
        j += c == 0;
    }
    strv_done(&nn);
    strv_done(&on);
    return r;
}

/* ---- entry point ---- */

static int open_root(const char *path, struct berr *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        berr_errno(err, 500, errno, "open '%s'", path);
    return fd < 0 ? -EIO : fd;
}

int layer_walk(const struct layer_src *src, const atomic_bool *stop, lw_visit_fn visit, void *ud,
               struct berr *err)
{
    struct walker *w = calloc(1, sizeof(*w));
    if (!w)
        return berr_set(err, 500, ENOMEM, "out of memory");
    *w = (struct walker){.src = src, .stop = stop, .visit = visit, .ud = ud, .err = err};
    struct stat st;
    int fd = open_root(src->top, err), ofd = -1, r = 0;
    if (fd >= 0 && fstat(fd, &st) < 0)
        r = berr_errno(err, 500, errno, "stat '%s'", src->top);
    if (fd >= 0 && r == 0 && src->full_tree && src->nlowers > 0 &&
        (ofd = open_root(src->lowers[0], err)) < 0)
        r = ofd;
    if (fd >= 0 && r == 0) {
        w->dev = st.st_dev;
        r = src->full_tree ? walk_pair(w, fd, ofd) : walk_upper(w, fd);
    }
    if (ofd >= 0)
        close(ofd);
    if (fd >= 0)
        close(fd);
    free(w);
    return fd < 0 ? fd : r;
}

void layer_src_done(struct layer_src *s)
{
    for (size_t i = 0; i < s->nlowers; i++)
        free(s->lowers[i]);
    free(s->lowers);
    free(s->top);
    *s = (struct layer_src){0};
}
