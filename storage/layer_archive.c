/* Writing a layer as an OCI/Docker layer tar (layer_archive.h). libarchive
 * formats the members into a callback that hashes the uncompressed stream
 * (the diff ID) and hands it on, when asked, to a second libarchive object
 * that only gzips (raw format, no timestamp: the same tree gives the same
 * blob), whose output is hashed again and written to the file. Neither
 * pads its last block: the tar ends with its two zero blocks, and nothing
 * trails the gzip stream. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/atomicfile.h"
#include "layer_walk.h"
#include "safe_path.h"

#define COPY_BLOCK      (128 * 1024)
#define XATTR_VALUE_MAX (64 * 1024)
#define CAPS_V2_SIZE    20 /* struct vfs_cap_data without the v3 rootid */

struct tar_out {
    struct archive *tar, *gz;
    struct archive_entry_linkresolver *links;
    int fd;
    const char *path;
    struct sha256 tar_hash, file_hash;
    struct layer_tar_result *res;
    const atomic_bool *stop;
    struct berr *err;
    char buf[COPY_BLOCK];
};

/* ---- output ---- */

static int write_file(struct tar_out *t, const void *buf, size_t n)
{
    int r = fd_write_all(t->fd, buf, n);
    if (r < 0)
        return berr_errno(t->err, 500, -r, "write '%s'", t->path);
    sha256_update(&t->file_hash, buf, n);
    t->res->file_size += n;
    return 0;
}

static la_ssize_t gz_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
    (void)a;
    return write_file(ud, buf, n) < 0 ? -1 : (la_ssize_t)n;
}

static la_ssize_t tar_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
    struct tar_out *t = ud;
    (void)a;
    sha256_update(&t->tar_hash, buf, n);
    t->res->tar_size += n;
    if (!t->gz)
        return write_file(t, buf, n) < 0 ? -1 : (la_ssize_t)n;
    if (archive_write_data(t->gz, buf, n) == (la_ssize_t)n)
        return (la_ssize_t)n;
    if (!t->err->status)
        berr_set(t->err, 500, EIO, "compress '%s': %s", t->path,
                 archive_error_string(t->gz) ? archive_error_string(t->gz) : "failed");
    return -1;
}

/* An error of a libarchive object, unless a callback already said why. */
static int la_failed(struct tar_out *t, struct archive *a, const char *what)
{
    if (t->err->status)
        return -EIO;
    const char *why = archive_error_string(a);
    return berr_set(t->err, 500, EIO, "%s '%s': %s", what, t->path, why ? why : "failed");
}

static int open_gzip(struct tar_out *t)
{
    struct archive_entry *e = archive_entry_new();
    int r = -ENOMEM;
    if (e && (t->gz = archive_write_new())) {
        archive_entry_set_pathname(e, "layer.tar");
        archive_entry_set_filetype(e, AE_IFREG);
        /* ARCHIVE_WARN would mean an external gzip program: refused */
        r = archive_write_set_format_raw(t->gz) == ARCHIVE_OK &&
                    archive_write_add_filter_gzip(t->gz) == ARCHIVE_OK &&
                    archive_write_set_options(t->gz, "gzip:!timestamp") == ARCHIVE_OK &&
                    archive_write_set_bytes_in_last_block(t->gz, 1) == ARCHIVE_OK &&
                    archive_write_open2(t->gz, t, NULL, gz_cb, NULL, NULL) == ARCHIVE_OK &&
                    archive_write_header(t->gz, e) == ARCHIVE_OK
                ? 0
                : la_failed(t, t->gz, "set up gzip for");
    }
    archive_entry_free(e);
    return r == -ENOMEM ? berr_set(t->err, 500, ENOMEM, "out of memory") : r;
}

static int open_out(struct tar_out *t, bool gzip)
{
    t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (t->fd < 0)
        return berr_errno(t->err, 500, errno, "create '%s'", t->path);
    int r = gzip ? open_gzip(t) : 0;
    if (r < 0)
        return r;
    t->tar = archive_write_new();
    t->links = archive_entry_linkresolver_new();
    if (!t->tar || !t->links)
        return berr_set(t->err, 500, ENOMEM, "out of memory");
    archive_entry_linkresolver_set_strategy(t->links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    if (archive_write_set_format_pax_restricted(t->tar) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(t->tar, 1) != ARCHIVE_OK ||
        archive_write_open2(t->tar, t, NULL, tar_cb, NULL, NULL) != ARCHIVE_OK)
        return la_failed(t, t->tar, "set up tar for");
    return 0;
}

/* Closes both writers (end blocks, gzip trailer) and syncs the file. */
static int close_out(struct tar_out *t)
{
    if (archive_write_close(t->tar) != ARCHIVE_OK)
        return la_failed(t, t->tar, "write");
    if (t->gz && archive_write_close(t->gz) != ARCHIVE_OK)
        return la_failed(t, t->gz, "write");
    if (fsync(t->fd) < 0)
        return berr_errno(t->err, 500, errno, "sync '%s'", t->path);
    return 0;
}

/* ---- members ---- */

static int put_header(struct tar_out *t, struct archive_entry *ae)
{
    if (archive_write_header(t->tar, ae) < ARCHIVE_WARN)
        return la_failed(t, t->tar, "write");
    t->res->entries++;
    return 0;
}

/* "<dir>/<prefix><base>" of path into out. */
static int sibling_name(const char *path, const char *prefix, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(out, outlen, "%.*s/%s%s", (int)(slash - path), path, prefix, slash + 1)
                  : snprintf(out, outlen, "%s%s", prefix, path);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* An empty regular file standing for a whiteout or an opaque mark. */
static int put_marker(struct tar_out *t, const char *name, mode_t perm, const struct stat *st)
{
    struct archive_entry *ae = archive_entry_new();
    if (!ae)
        return berr_set(t->err, 500, ENOMEM, "out of memory");
    archive_entry_set_pathname(ae, name);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, perm);
    archive_entry_set_size(ae, 0);
    if (st) {
        archive_entry_set_uid(ae, st->st_uid);
        archive_entry_set_gid(ae, st->st_gid);
    }
    int r = put_header(t, ae);
    archive_entry_free(ae);
    return r;
}

/* moby's form, ".wh.<name>", mode 0600, the device's owner; but no time
 * (moby copies the device's): a layer extracted and archived again then
 * hashes the same, its whiteout devices being made anew. */
static int put_whiteout(struct tar_out *t, const struct lw_entry *e)
{
    char name[SAFE_PATH_MAX + 8];
    if (sibling_name(e->path, ".wh.", name, sizeof(name)) < 0)
        return berr_set(t->err, 500, ENAMETOOLONG, "path too long: '%s'", e->path);
    return put_marker(t, name, 0600, e->st);
}

/* "<dir>/.wh..wh..opq" right after an opaque directory: moby gives it the
 * directory's permission bits and owner, and no time. */
static int put_opaque(struct tar_out *t, const struct lw_entry *e)
{
    char name[SAFE_PATH_MAX + 16];
    if (snprintf(name, sizeof(name), "%s/.wh..wh..opq", e->path) >= (int)sizeof(name))
        return berr_set(t->err, 500, ENAMETOOLONG, "path too long: '%s'", e->path);
    return put_marker(t, name, e->st->st_mode & 0777, e->st);
}

/* Which xattrs a layer keeps: file capabilities (a v3 one, tied to a user
 * namespace's root, as v2 as moby does) and user.* except overlayfs' own. */
static bool keep_xattr(const char *name)
{
    return strcmp(name, "security.capability") == 0 ||
           (strncmp(name, "user.", 5) == 0 && strncmp(name, "user.overlay.", 13) != 0);
}

static void add_xattr(struct archive_entry *ae, const char *proc, const char *name, char *value)
{
    ssize_t n = lgetxattr(proc, name, value, XATTR_VALUE_MAX);
    if (n < 0)
        return;
    if (strcmp(name, "security.capability") == 0 && n > CAPS_V2_SIZE && value[3] == 3) {
        value[3] = 2;
        n = CAPS_V2_SIZE;
    }
    archive_entry_xattr_add_entry(ae, name, value, (size_t)n);
}

static int add_xattrs(struct tar_out *t, struct archive_entry *ae, const struct lw_entry *e)
{
    char proc[64 + NAME_MAX];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", e->dfd, e->name);
    ssize_t len = llistxattr(proc, NULL, 0);
    if (len <= 0) /* none, unsupported, or vanished: nothing to keep */
        return 0;
    char *list = malloc((size_t)len + 1), *value = malloc(XATTR_VALUE_MAX);
    if (!list || !value) {
        free(list);
        free(value);
        return berr_set(t->err, 500, ENOMEM, "out of memory");
    }
    len = llistxattr(proc, list, (size_t)len);
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1)
        if (keep_xattr(list + i))
            add_xattr(ae, proc, list + i, value);
    free(list);
    free(value);
    return 0;
}

static void fill_entry(struct archive_entry *ae, const char *path, const struct stat *st)
{
    archive_entry_set_pathname(ae, path);
    archive_entry_set_mode(ae, st->st_mode);
    archive_entry_set_uid(ae, st->st_uid);
    archive_entry_set_gid(ae, st->st_gid);
    archive_entry_set_mtime(ae, st->st_mtim.tv_sec, 0); /* whole seconds, as moby */
    archive_entry_set_dev(ae, st->st_dev);
    archive_entry_set_ino64(ae, st->st_ino);
    archive_entry_set_nlink(ae, (unsigned)st->st_nlink);
    archive_entry_set_size(ae, S_ISREG(st->st_mode) ? st->st_size : 0);
    if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
        archive_entry_set_rdev(ae, st->st_rdev);
}

/* At most size bytes of fd; libarchive pads a file that shrank meanwhile. */
static int put_data(struct tar_out *t, int fd, int64_t size)
{
    while (size > 0) {
        if (t->stop && atomic_load_explicit(t->stop, memory_order_relaxed))
            return berr_set(t->err, 500, ECANCELED, "cancelled");
        size_t want = size < (int64_t)sizeof(t->buf) ? (size_t)size : sizeof(t->buf);
        ssize_t n = read(fd, t->buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berr_errno(t->err, 500, errno, "read a file for '%s'", t->path);
        if (n == 0)
            return 0;
        if (archive_write_data(t->tar, t->buf, (size_t)n) != n)
            return la_failed(t, t->tar, "write");
        size -= n;
    }
    return 0;
}

/* A regular file is opened first and described by what was opened, so a
 * swap by a running container is never followed. -ENOENT: gone, skip. */
static int open_member(const struct lw_entry *e, struct stat *st)
{
    *st = *e->st;
    if (!S_ISREG(st->st_mode))
        return -1;
    int fd = openat(e->dfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -ENOENT;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -ENOENT;
    }
    return fd;
}

static int describe(struct tar_out *t, struct archive_entry *ae, const struct lw_entry *e,
                    const struct stat *st)
{
    fill_entry(ae, e->path, st);
    if (S_ISLNK(st->st_mode)) {
        char target[SAFE_PATH_MAX];
        ssize_t n = readlinkat(e->dfd, e->name, target, sizeof(target) - 1);
        if (n < 0)
            return -ENOENT;
        target[n] = '\0';
        archive_entry_set_symlink(ae, target);
        return 0;
    }
    return add_xattrs(t, ae, e);
}

static int put_member(struct tar_out *t, const struct lw_entry *e)
{
    struct stat st;
    int fd = open_member(e, &st);
    if (fd == -ENOENT || S_ISSOCK(st.st_mode)) /* tar has no sockets */
        return 0;
    struct archive_entry *ae = archive_entry_new(), *spare = NULL;
    int r = ae ? describe(t, ae, e, &st) : berr_set(t->err, 500, ENOMEM, "out of memory");
    if (r == 0)
        archive_entry_linkify(t->links, &ae, &spare);
    if (r == 0 && ae)
        r = put_header(t, ae);
    /* a later link to the same inode is written as a hardlink, data-less */
    if (r == 0 && ae && fd >= 0 && !archive_entry_hardlink(ae))
        r = put_data(t, fd, st.st_size);
    if (r == 0 && e->opaque)
        r = put_opaque(t, e);
    if (fd >= 0)
        close(fd);
    archive_entry_free(ae);
    archive_entry_free(spare);
    return r == -ENOENT ? 0 : r;
}

static int visit(void *ud, const struct lw_entry *e)
{
    return e->whiteout ? put_whiteout(ud, e) : put_member(ud, e);
}

static void tar_out_free(struct tar_out *t)
{
    if (t->tar)
        archive_write_free(t->tar);
    if (t->gz)
        archive_write_free(t->gz);
    if (t->links)
        archive_entry_linkresolver_free(t->links);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

int layer_tar_write_sync(const struct layer_src *src, const char *out_path,
                         const struct layer_tar_opts *o, struct layer_tar_result *ret,
                         struct berr *err)
{
    *ret = (struct layer_tar_result){0};
    struct tar_out *t = calloc(1, sizeof(*t));
    if (!t)
        return berr_set(err, 500, ENOMEM, "out of memory");
    *t = (struct tar_out){.fd = -1, .path = out_path, .res = ret, .stop = o->stop, .err = err};
    sha256_init(&t->tar_hash);
    sha256_init(&t->file_hash);
    int r = open_out(t, o->gzip);
    if (r == 0)
        r = layer_walk(src, o->stop, visit, t, err);
    if (r == 0)
        r = close_out(t);
    if (r == 0) {
        sha256_final(&t->tar_hash, ret->diff_id);
        sha256_final(&t->file_hash, ret->digest);
    } else {
        sha256_done(&t->tar_hash);
        sha256_done(&t->file_hash);
        if (t->fd >= 0)
            unlink(out_path);
    }
    tar_out_free(t);
    return r;
}

/* Keeps a static libarchive link small.
 *
 * libarchive 3.6's pax writer calls one helper that lives in the same object
 * file as libarchive's table of every writer (zip, 7zip, xar, mtree...); a
 * static link resolving it would drag all of them in, with nettle, libxml2,
 * ICU and libstdc++ behind them (~2 MiB resident in an idle daemon). This
 * definition, with the same behaviour, satisfies the reference first: it
 * lives here because every user of the pax writer (this file, and the save
 * archive writer, which calls layer_tar_write_sync) links this object, so
 * it is always linked whenever the writer is. Were a future libarchive to
 * move other needed symbols into that object, the link would fail with a
 * duplicate symbol instead of silently growing. */
#ifdef BERTH_STATIC_LIBARCHIVE /* never interpose on a shared libarchive */
void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry,
                                                const char *format);

void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry,
                                                const char *format)
{
    const char *name = archive_entry_pathname(entry);
    archive_set_error(a, EINVAL, "%s: file type not supported by the %s format",
                      name ? name : "(unnamed)", format);
}

#endif
