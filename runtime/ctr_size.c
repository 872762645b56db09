/* Size of a container's writable layer, as Docker reports SizeRw: the
 * bytes of the files in it, directories not counted and each hard-linked
 * inode once (moby's directory.Size for overlay2; its naive diff, the
 * changes against the image, for vfs). Walks run on a worker. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macros.h"
#include "ctr_internal.h"
#include "ctr_manage.h"

#define WALK_DEPTH_MAX 512 /* deeper trees are not entered (fds stay bounded) */

/* Inodes with several links already counted (open addressing). */
struct ino_set {
    ino_t *v;
    size_t cap, n;
};

/* True when ino was new (and is now in the set). */
static bool ino_add(struct ino_set *s, ino_t ino)
{
    if (s->n * 2 >= s->cap) {
        struct ino_set g = {calloc(s->cap ? s->cap * 2 : 64, sizeof(ino_t)),
                            s->cap ? s->cap * 2 : 64, 0};
        if (!g.v)
            return true; /* no memory: may count a link twice, never fails */
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i])
                ino_add(&g, s->v[i]);
        free(s->v);
        *s = g;
    }
    size_t i = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    for (; s->v[i]; i = (i + 1) & (s->cap - 1))
        if (s->v[i] == ino)
            return false;
    s->v[i] = ino;
    s->n++;
    return true;
}

struct walk {
    dev_t dev; /* the tree's filesystem: mounts below are not entered */
    struct ino_set seen;
    int64_t total;
};

/* vfs: unchanged when base has the same kind of entry with the same
 * owner, mode, device, size and mtime (moby's ChangesDirs test). */
static bool same_as_base(int bfd, const char *name, const struct stat *st)
{
    struct stat b;
    if (bfd < 0 || fstatat(bfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    return b.st_mode == st->st_mode && b.st_uid == st->st_uid && b.st_gid == st->st_gid &&
           b.st_rdev == st->st_rdev && b.st_size == st->st_size &&
           b.st_mtim.tv_sec == st->st_mtim.tv_sec && b.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

static void count(struct walk *w, const struct stat *st)
{
    if (st->st_size <= 0)
        return;
    if (st->st_nlink > 1 && !ino_add(&w->seen, st->st_ino))
        return;
    w->total += st->st_size;
}

static void walk_dir(struct walk *w, int dfd, int bfd, int depth);

static void enter(struct walk *w, int dfd, int bfd, const char *name, int depth)
{
    if (depth >= WALK_DEPTH_MAX)
        return;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    int bsub = bfd >= 0 ? openat(bfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    walk_dir(w, fd, bsub, depth + 1); /* takes fd */
    if (bsub >= 0)
        close(bsub);
}

/* Walks the directory open as dfd (closed here); entries that vanish while
 * the container writes are skipped. */
static void walk_dir(struct walk *w, int dfd, int bfd, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        struct stat st;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != w->dev)
            continue;
        if (S_ISDIR(st.st_mode))
            enter(w, dirfd(d), bfd, n, depth);
        else if (!same_as_base(bfd, n, &st))
            count(w, &st);
    }
    closedir(d);
}

int64_t ctr_rw_size_sync(const char *dir, const char *base)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    int bfd = base ? open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    struct walk w = {.dev = st.st_dev};
    walk_dir(&w, fd, bfd, 0);
    if (bfd >= 0)
        close(bfd);
    free(w.seen.v);
    return w.total;
}

/* ---- the job --------------------------------------------------------------- */

struct size_item {
    char *dir, *base;
};

struct size_job {
    struct job job;
    struct size_item *items;
    int64_t *sizes;
    size_t n;
    rt_sizes_fn done;
    void *ud;
};

static int size_run(struct job *job)
{
    struct size_job *sj = container_of(job, struct size_job, job);
    for (size_t i = 0; i < sj->n && !job_should_stop(job); i++) {
        int64_t s = sj->items[i].dir ? ctr_rw_size_sync(sj->items[i].dir, sj->items[i].base) : -1;
        sj->sizes[i] = s < 0 ? -1 : s;
    }
    return 0;
}

static void size_job_free(struct size_job *sj)
{
    for (size_t i = 0; i < sj->n; i++) {
        free(sj->items[i].dir);
        free(sj->items[i].base);
    }
    free(sj->items);
    free(sj->sizes);
    free(sj);
}

static void size_done(struct job *job)
{
    struct size_job *sj = container_of(job, struct size_job, job);
    sj->done(sj->ud, sj->sizes, sj->n);
    size_job_free(sj);
}

/* overlay2: <dir>/upper; vfs: <dir>/merged against the image's top layer
 * (each vfs layer is a whole tree). NULL dir on no memory. */
static void fill_item(struct rt *rt, const struct container *c, struct size_item *it)
{
    char p[4096];
    bool vfs = rt->store->driver == STORE_VFS;
    snprintf(p, sizeof(p), "%s/%s", c->dir, vfs ? "merged" : "upper");
    it->dir = strdup(p);
    const struct image *img = vfs ? store_image_by_id(rt->store, c->image_id) : NULL;
    if (img && img->nchain) {
        store_layer_diff_dir(rt->store, img->chain[img->nchain - 1], p, sizeof(p));
        if (!(it->base = strdup(p))) {
            free(it->dir);
            it->dir = NULL;
        }
    }
}

static void sizes_unknown(size_t n, rt_sizes_fn done, void *ud)
{
    int64_t *v = calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++)
        v[i] = -1;
    done(ud, v, v ? n : 0);
    free(v);
}

void rt_sizes(struct rt *rt, struct container *const *cs, size_t n, rt_sizes_fn done, void *ud)
{
    struct size_job *sj = n ? calloc(1, sizeof(*sj)) : NULL;
    if (sj) {
        sj->items = calloc(n, sizeof(*sj->items));
        sj->sizes = calloc(n, sizeof(*sj->sizes));
    }
    if (!sj || !sj->items || !sj->sizes) {
        if (sj)
            size_job_free(sj);
        sizes_unknown(n, done, ud);
        return;
    }
    sj->n = n;
    sj->done = done;
    sj->ud = ud;
    for (size_t i = 0; i < n; i++)
        fill_item(rt, cs[i], &sj->items[i]);
    job_init(&sj->job, size_run, size_done);
    if (job_queue(rt->loop, &sj->job) < 0) {
        size_job_free(sj);
        sizes_unknown(n, done, ud);
    }
}

int64_t rt_image_size(const struct rt *rt, const struct container *c)
{
    const struct image *img = store_image_by_id(rt->store, c->image_id);
    return img ? img->size : 0;
}
