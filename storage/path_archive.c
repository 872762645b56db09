/* A resumable tar writer over a directory tree reached by fds; see
 * path_archive.h. The walk keeps one level per open directory (its fd and
 * its sorted names); a regular file's data is copied a block at a time, so
 * a fill can stop anywhere and the next one carries on. */
#include "path_archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/map.h"
#include "safe_path.h"

#define PA_MAX_DEPTH  256
#define PA_READ_BLOCK (64 * 1024)
#define XATTR_CAPS    "security.capability"

struct pa_level {
    int fd; /* the directory, O_RDONLY */
    char **names;
    size_t n, next;
    size_t plen; /* length of the tar-name prefix of its entries in pa->name */
};

struct path_archive {
    struct archive *a;
    struct buf *out; /* the fill's output; NULL outside a fill */
    struct berr *err;
    int srcfd;
    char *base, *top;
    bool started, finished;
    struct pa_level levels[PA_MAX_DEPTH];
    int depth;
    int filefd;       /* the regular file whose data is being copied, or -1 */
    int64_t left;     /* its bytes still to copy */
    struct map links; /* "dev:ino" -> first tar name, for files with nlink > 1 */
    char name[SAFE_PATH_MAX];
    char io[PA_READ_BLOCK];
};

/* ---- output ---- */

static la_ssize_t write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
    struct path_archive *pa = ud;
    /* Outside a fill (archive_write_free of an unfinished archive) the
     * bytes have nowhere to go. */
    if (pa->out && buf_append(pa->out, buf, len) < 0) {
        archive_set_error(a, ENOMEM, "out of memory");
        return -1;
    }
    return (la_ssize_t)len;
}

static int tar_failed(struct path_archive *pa)
{
    int code = archive_errno(pa->a) > 0 ? archive_errno(pa->a) : EIO;
    const char *why = archive_error_string(pa->a);
    return berr_set(pa->err, 500, code, "writing the archive: %s", why ? why : "failed");
}

static int fs_failed(struct path_archive *pa, int r, const char *what)
{
    return berr_errno(pa->err, 500, -r, "%s '%s'", what, pa->name);
}

/* ---- directories ---- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void level_done(struct pa_level *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    safe_closep(&l->fd);
    memset(l, 0, sizeof(*l));
    l->fd = -1;
}

static int add_name(struct pa_level *l, size_t *cap, const char *name)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        char **v = realloc(l->names, ncap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->names = v;
        *cap = ncap;
    }
    return (l->names[l->n] = strdup(name)) ? (l->n++, 0) : -ENOMEM;
}

/* Reads every name of l->fd, sorted as Go's ReadDir gives them. */
static int read_names(struct pa_level *l)
{
    int fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 3);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    size_t cap = 0;
    int r = 0;
    if (!d) {
        safe_closep(&fd);
        return -errno;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            r = -errno;
            break;
        }
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            (r = add_name(l, &cap, de->d_name)) < 0)
            break;
    }
    closedir(d);
    if (r == 0 && l->n > 1)
        qsort(l->names, l->n, sizeof(*l->names), cmp_names);
    return r;
}

/* Enters the directory pathfd (O_PATH), named pa->name (ending in "/" or
 * empty for a bare top), reopened through the same inode. */
static int push_dir(struct path_archive *pa, int pathfd)
{
    if (pa->depth == PA_MAX_DEPTH)
        return berr_set(pa->err, 500, ELOOP, "'%s': directories nested deeper than %d", pa->name,
                        PA_MAX_DEPTH);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
    struct pa_level *l = &pa->levels[pa->depth];
    *l = (struct pa_level){.fd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (l->fd < 0)
        return fs_failed(pa, -errno, "open directory");
    l->plen = strlen(pa->name);
    int r = read_names(l);
    if (r < 0) {
        level_done(l);
        return fs_failed(pa, r, "read directory");
    }
    pa->depth++;
    return 0;
}

/* ---- entries ---- */

static struct archive_entry *entry_from(const char *name, const struct stat *st)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return NULL;
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, st->st_mode & S_IFMT);
    archive_entry_set_perm(e, st->st_mode & 07777);
    archive_entry_set_uid(e, st->st_uid);
    archive_entry_set_gid(e, st->st_gid);
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0); /* moby truncates to seconds */
    if (S_ISREG(st->st_mode))
        archive_entry_set_size(e, st->st_size);
    if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
        archive_entry_set_rdevmajor(e, major(st->st_rdev));
        archive_entry_set_rdevminor(e, minor(st->st_rdev));
    }
    return e;
}

static int put_header(struct path_archive *pa, struct archive_entry *e)
{
    int r = archive_write_header(pa->a, e);
    archive_entry_free(e);
    return r < ARCHIVE_WARN ? tar_failed(pa) : 0;
}

static int put_symlink(struct path_archive *pa, int pathfd, const struct stat *st)
{
    char target[SAFE_PATH_MAX];
    ssize_t n = readlinkat(pathfd, "", target, sizeof(target) - 1);
    if (n < 0)
        return fs_failed(pa, -errno, "read link");
    target[n] = '\0';
    struct archive_entry *e = entry_from(pa->name, st);
    if (!e)
        return berr_set(pa->err, 500, ENOMEM, "out of memory");
    archive_entry_set_symlink(e, target);
    return put_header(pa, e);
}

/* 1 with the entry made a link to the first name of this inode; 0 when it
 * is the first (and now recorded). */
static int hardlink_seen(struct path_archive *pa, const struct stat *st, struct archive_entry *e)
{
    char key[48];
    snprintf(key, sizeof(key), "%lu:%lu", (unsigned long)st->st_dev, (unsigned long)st->st_ino);
    const char *first = map_get(&pa->links, key);
    if (first) {
        archive_entry_set_hardlink(e, first);
        archive_entry_set_size(e, 0);
        return 1;
    }
    char *copy = strdup(pa->name);
    if (!copy || map_put(&pa->links, key, copy) < 0) {
        free(copy);
        return -ENOMEM;
    }
    return 0;
}

static void add_caps(struct archive_entry *e, int fd)
{
    char caps[256];
    ssize_t n = fgetxattr(fd, XATTR_CAPS, caps, sizeof(caps));
    if (n > 0)
        archive_entry_xattr_add_entry(e, XATTR_CAPS, caps, (size_t)n);
}

static int put_file(struct path_archive *pa, int pathfd, const struct stat *st)
{
    struct archive_entry *e = entry_from(pa->name, st);
    if (!e)
        return berr_set(pa->err, 500, ENOMEM, "out of memory");
    int r = st->st_nlink > 1 ? hardlink_seen(pa, st, e) : 0;
    if (r != 0) {
        if (r < 0)
            archive_entry_free(e);
        return r < 0 ? berr_set(pa->err, 500, ENOMEM, "out of memory") : put_header(pa, e);
    }
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
    int fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        archive_entry_free(e);
        return fs_failed(pa, -errno, "open");
    }
    add_caps(e, fd);
    if ((r = put_header(pa, e)) < 0) {
        close(fd);
        return r;
    }
    pa->filefd = fd;
    pa->left = st->st_size;
    return 0;
}

static int put_plain(struct path_archive *pa, const struct stat *st)
{
    struct archive_entry *e = entry_from(pa->name, st);
    return e ? put_header(pa, e) : berr_set(pa->err, 500, ENOMEM, "out of memory");
}

/* A directory's entry ends in "/", as moby names it; then it is entered. */
static int put_dir(struct path_archive *pa, int pathfd, const struct stat *st)
{
    size_t len = strlen(pa->name);
    if (len && pa->name[len - 1] != '/') {
        if (len + 1 >= sizeof(pa->name))
            return berr_set(pa->err, 500, ENAMETOOLONG, "path too long: '%s'", pa->name);
        memcpy(pa->name + len, "/", 2);
    }
    int r = put_plain(pa, st);
    return r < 0 ? r : push_dir(pa, pathfd);
}

/* The entry name in dirfd ("" for dirfd itself), to be called pa->name. */
static int put_entry(struct path_archive *pa, int dirfd, const char *name)
{
    _cleanup_close_ int fd = *name ? openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                                   : fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    struct stat st;
    if (fd < 0 && errno == ENOENT && pa->depth > 0)
        return 0; /* gone since its directory was read: moby skips it too */
    if (fd < 0 || fstat(fd, &st) < 0)
        return fs_failed(pa, -errno, "stat");
    switch (st.st_mode & S_IFMT) {
    case S_IFSOCK:
        return 0;
    case S_IFLNK:
        return put_symlink(pa, fd, &st);
    case S_IFREG:
        return put_file(pa, fd, &st);
    case S_IFDIR:
        return put_dir(pa, fd, &st);
    default:
        return put_plain(pa, &st);
    }
}

/* ---- data ---- */

static int put_data(struct path_archive *pa, const char *buf, size_t len)
{
    while (len > 0) {
        la_ssize_t n = archive_write_data(pa->a, buf, len);
        if (n <= 0)
            return tar_failed(pa);
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One block of the current file; a file that shrank meanwhile is padded
 * with zeros, one that grew is cut, so the header's size holds. */
static int copy_block(struct path_archive *pa)
{
    size_t want = pa->left < (int64_t)sizeof(pa->io) ? (size_t)pa->left : sizeof(pa->io);
    ssize_t n;
    do
        n = read(pa->filefd, pa->io, want);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return fs_failed(pa, -errno, "read");
    if (n == 0) {
        memset(pa->io, 0, want);
        n = (ssize_t)want;
    }
    pa->left -= n;
    if (pa->left == 0)
        safe_closep(&pa->filefd);
    return put_data(pa, pa->io, (size_t)n);
}

/* ---- the walk ---- */

static int set_name(struct path_archive *pa, size_t plen, const char *name)
{
    size_t len = strlen(name);
    if (plen + len >= sizeof(pa->name))
        return berr_set(pa->err, 500, ENAMETOOLONG, "path too long: '%.*s%s'", (int)plen, pa->name,
                        name);
    memcpy(pa->name + plen, name, len + 1);
    return 0;
}

static int start(struct path_archive *pa)
{
    pa->started = true;
    if (pa->top)
        return set_name(pa, 0, pa->top) < 0 ? -EIO : put_entry(pa, pa->srcfd, pa->base);
    _cleanup_close_ int fd =
        *pa->base ? openat(pa->srcfd, pa->base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                  : fcntl(pa->srcfd, F_DUPFD_CLOEXEC, 3);
    pa->name[0] = '\0';
    return fd < 0 ? fs_failed(pa, -errno, "open directory") : push_dir(pa, fd);
}

static int finish(struct path_archive *pa)
{
    pa->finished = true;
    return archive_write_close(pa->a) == ARCHIVE_OK ? 0 : tar_failed(pa);
}

/* One step: a block of data, an entry, or leaving a directory. */
static int step(struct path_archive *pa)
{
    if (pa->filefd >= 0)
        return copy_block(pa);
    if (!pa->started)
        return start(pa);
    if (pa->depth == 0)
        return finish(pa);
    struct pa_level *l = &pa->levels[pa->depth - 1];
    if (l->next == l->n) {
        level_done(l);
        pa->depth--;
        return 0;
    }
    const char *name = l->names[l->next++];
    int r = set_name(pa, l->plen, name);
    return r < 0 ? r : put_entry(pa, l->fd, name);
}

int path_archive_fill(struct path_archive *pa, struct buf *out, size_t want,
                      const atomic_bool *stop, struct berr *err)
{
    pa->out = out;
    pa->err = err;
    int r = 0;
    while (r == 0 && !pa->finished && out->len < want) {
        if (stop && atomic_load_explicit(stop, memory_order_relaxed))
            r = berr_set(err, 500, ECANCELED, "archive cancelled");
        else
            r = step(pa);
    }
    pa->out = NULL;
    return r < 0 ? r : !pa->finished;
}

int path_archive_open(const struct path_archive_src *src, struct path_archive **ret,
                      struct berr *err)
{
    struct path_archive *pa = calloc(1, sizeof(*pa));
    if (!pa)
        return berr_set(err, 500, ENOMEM, "out of memory");
    pa->filefd = -1;
    pa->srcfd = fcntl(src->dirfd, F_DUPFD_CLOEXEC, 3);
    pa->base = strdup(src->base);
    pa->top = src->top ? strdup(src->top) : NULL;
    pa->a = archive_write_new();
    int r = 0;
    if (pa->srcfd < 0)
        r = berr_errno(err, 500, errno, "duplicating a directory fd");
    else if (!pa->base || (src->top && !pa->top) || !pa->a)
        r = berr_set(err, 500, ENOMEM, "out of memory");
    else if (archive_write_set_format_pax_restricted(pa->a) != ARCHIVE_OK ||
             archive_write_add_filter_none(pa->a) != ARCHIVE_OK ||
             archive_write_set_bytes_per_block(pa->a, 0) != ARCHIVE_OK ||
             archive_write_open(pa->a, pa, NULL, write_cb, NULL) != ARCHIVE_OK)
        r = berr_set(err, 500, EIO, "starting the archive: %s",
                     archive_error_string(pa->a) ? archive_error_string(pa->a) : "failed");
    if (r < 0) {
        path_archive_free(pa);
        return r;
    }
    *ret = pa;
    return 0;
}

void path_archive_free(struct path_archive *pa)
{
    if (!pa)
        return;
    if (pa->a)
        archive_write_free(pa->a);
    while (pa->depth > 0)
        level_done(&pa->levels[--pa->depth]);
    safe_closep(&pa->filefd);
    safe_closep(&pa->srcfd);
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&pa->links, &i, &k, &v);)
        free(v);
    map_done(&pa->links);
    free(pa->base);
    free(pa->top);
    free(pa);
}
