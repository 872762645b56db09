/* Writing one tar member below the layer root. Its parent directory is
 * resolved inside the root (safe_open_parent), the last component is made
 * relative to that directory with an *at call that never follows a symlink,
 * and an existing non-directory there is replaced. Then, in Docker's order,
 * owner (chown clears setuid bits and file capabilities, so it comes first),
 * xattrs, mode and times; directory times wait until the end, since adding
 * children changes them. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "layer_extract_int.h"

/* docker cp's noOverwriteDirNonDir, in Docker's words (container paths). */
static int dir_nondir_conflict(struct extract_ctx *x, bool existing_dir)
{
    const char *pre = x->prefix ? x->prefix : "";
    if (existing_dir)
        return berr_set(x->err, 400, EEXIST,
                        "cannot overwrite directory \"/%s\" with non-directory \"/%s\"", x->path,
                        pre);
    return berr_set(x->err, 400, EEXIST,
                    "cannot overwrite non-directory \"/%s\" with directory \"/%s\"", x->path, pre);
}

/* 1: an existing directory is kept (keep_dir); 0: the name is free. */
static int replace_existing(struct extract_ctx *x, int dfd, const char *base, bool keep_dir)
{
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : extract_fail(x, -errno, "inspect");
    if (x->no_overwrite_dir_nondir && S_ISDIR(st.st_mode) != keep_dir)
        return dir_nondir_conflict(x, S_ISDIR(st.st_mode));
    if (keep_dir && S_ISDIR(st.st_mode))
        return 1;
    int r = safe_remove_tree(dfd, base);
    return r < 0 ? extract_fail(x, r, "replace") : 0;
}

/* ---- metadata ---- */

static int check_owner(struct extract_ctx *x, struct archive_entry *e)
{
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    /* (uid_t)-1 would mean "leave unchanged" to chown. */
    if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
        return berr_set(x->err, 400, EINVAL, "invalid %s: '%s' has an invalid owner %lld:%lld",
                        x->label, x->name, (long long)uid, (long long)gid);
    return 0;
}

static bool xattr_skipped(const char *name)
{
    /* overlayfs' own attributes (user.* with userxattr) belong to the
     * storage driver: a layer must not forge whiteouts, opaque directories
     * or redirects with them. */
    return strncmp(name, "trusted.overlay.", strlen("trusted.overlay.")) == 0 ||
           strncmp(name, "user.overlay.", strlen("user.overlay.")) == 0;
}

static int set_xattrs(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base,
                      int fd)
{
    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    char proc[64 + NAME_MAX];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, base);
    const char *name;
    const void *value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (xattr_skipped(name))
            continue;
        int r =
            fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(proc, name, value, size, 0);
        /* As Docker: refused (user.* on a symlink, an LSM) or unsupported
         * attributes are dropped, not fatal. */
        if (r < 0 && errno != EPERM && errno != ENOTSUP)
            return extract_fail(x, -errno, "set extended attribute on");
    }
    return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    ts[0] = ts[1];
    /* Docker never sets an access time before the modification time. */
    if (archive_entry_atime_is_set(e)) {
        struct timespec a = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
        if (a.tv_sec > ts[1].tv_sec || (a.tv_sec == ts[1].tv_sec && a.tv_nsec > ts[1].tv_nsec))
            ts[0] = a;
    }
}

static int defer_dir_times(struct extract_ctx *x, const struct timespec ts[2])
{
    if (x->ndirs == x->capdirs) {
        size_t cap = x->capdirs ? x->capdirs * 2 : 64;
        struct dir_times *v = realloc(x->dirs, cap * sizeof(*v));
        if (!v)
            return berr_set(x->err, 500, ENOMEM, "out of memory");
        x->dirs = v;
        x->capdirs = cap;
    }
    struct dir_times *d = &x->dirs[x->ndirs];
    if (!(d->path = strdup(x->path)))
        return berr_set(x->err, 500, ENOMEM, "out of memory");
    memcpy(d->ts, ts, sizeof(d->ts));
    x->ndirs++;
    return 0;
}

static int set_mode_times(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base,
                          int fd, mode_t type)
{
    mode_t mode = archive_entry_perm(e) & 07777;
    if (!S_ISLNK(type) && (fd >= 0 ? fchmod(fd, mode) : fchmodat(dfd, base, mode, 0)) < 0)
        return extract_fail(x, -errno, "chmod");
    struct timespec ts[2];
    entry_times(e, ts);
    if (S_ISDIR(type))
        return defer_dir_times(x, ts);
    if (utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return extract_fail(x, -errno, "set times of");
    return 0;
}

/* fd: the member opened (regular file, directory) or -1; type: its S_IFMT. */
static int entry_finish(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base,
                        int fd, mode_t type)
{
    uid_t uid = (uid_t)(x->force_uid >= 0 ? x->force_uid : archive_entry_uid(e));
    gid_t gid = (gid_t)(x->force_gid >= 0 ? x->force_gid : archive_entry_gid(e));
    if (fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return extract_fail(x, -errno, "chown");
    int r = set_xattrs(x, e, dfd, base, fd);
    return r < 0 ? r : set_mode_times(x, e, dfd, base, fd, type);
}

/* ---- members by type ---- */

static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Copies the member's data blocks at their offsets: holes of sparse files
 * stay holes, and the final size is set for a trailing one. */
static int copy_data(struct extract_ctx *x, struct archive_entry *e, int fd)
{
    struct archive *a = layer_stream_tar(x->stream);
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        if (extract_stopped(x))
            return extract_cancelled(x);
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return layer_stream_error(x->stream, x->name, x->err);
        if ((r = pwrite_all(fd, buf, len, (off_t)off)) < 0)
            return extract_fail(x, r, "write");
    }
    if (archive_entry_size(e) > 0 && ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
        return extract_fail(x, -errno, "write");
    return 0;
}

static int write_file(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base)
{
    int r = replace_existing(x, dfd, base, false);
    if (r < 0)
        return r;
    _cleanup_close_ int fd =
        openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return extract_fail(x, -errno, "create");
    if ((r = copy_data(x, e, fd)) < 0 || (r = entry_finish(x, e, dfd, base, fd, S_IFREG)) < 0)
        return r;
    x->content_size += (uint64_t)archive_entry_size(e);
    return 0;
}

static int write_dir(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base)
{
    int r = replace_existing(x, dfd, base, true);
    if (r < 0)
        return r;
    if (r == 0 && mkdirat(dfd, base, 0700) < 0)
        return extract_fail(x, -errno, "create directory");
    _cleanup_close_ int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return extract_fail(x, -errno, "open directory");
    return entry_finish(x, e, dfd, base, fd, S_IFDIR);
}

static int write_symlink(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base)
{
    /* Stored as is: an absolute target (/var/run -> /run) is legal, and
     * every later resolution goes through RESOLVE_IN_ROOT anyway. */
    const char *target = archive_entry_symlink(e);
    if (!target || !*target)
        return berr_set(x->err, 400, EINVAL, "invalid %s: symlink '%s' has no target", x->label,
                        x->name);
    int r = replace_existing(x, dfd, base, false);
    if (r < 0)
        return r;
    if (symlinkat(target, dfd, base) < 0)
        return extract_fail(x, -errno, "create symlink");
    return entry_finish(x, e, dfd, base, -1, S_IFLNK);
}

static int write_node(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base)
{
    mode_t type = archive_entry_filetype(e);
    dev_t dev = 0;
    if (type != AE_IFIFO)
        dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    int r = replace_existing(x, dfd, base, false);
    if (r < 0)
        return r;
    if (mknodat(dfd, base, type | 0600, dev) < 0)
        return extract_fail(x, -errno, "create device node");
    return entry_finish(x, e, dfd, base, -1, type);
}

static int hardlink_fail(struct extract_ctx *x, int r, const char *link)
{
    char why[128];
    int status = extract_status(r);
    return berr_set(x->err, status, -r, "%s%s%shardlink '%s' to '%s': %s",
                    status == 400 ? "invalid " : "", status == 400 ? x->label : "",
                    status == 400 ? ": " : "", x->name, link, extract_reason(r, why));
}

/* Links tfd (an O_PATH fd) as base in dfd. AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH (ENOENT without it); /proc's magic link does not. */
static int link_fd(int tfd, int dfd, const char *base)
{
    if (linkat(tfd, "", dfd, base, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOENT)
        return -errno;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tfd);
    return linkat(AT_FDCWD, proc, dfd, base, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/* Hardlink targets are names in the same archive: relative to the root
 * (a leading '/' is dropped, as Docker joins them to the root) or, for
 * docker cp, to the destination directory, resolved
 * inside it; a ".." or a symlink leading out cannot reach anything else. */
static int write_hardlink(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base,
                          const char *link)
{
    char clean[SAFE_PATH_MAX], target[SAFE_PATH_MAX];
    int r = safe_path_clean(link, clean, sizeof(clean));
    if (r == -EINVAL)
        return berr_set(x->err, 400, EINVAL, "invalid %s: hardlink '%s' to '%s' escapes the root",
                        x->label, x->name, link);
    if (r == 0 && !clean[0])
        r = -EISDIR;
    if (r == 0) /* a name in the same archive: below the same prefix */
        r = extract_join(x, clean, target, sizeof(target));
    if (r < 0)
        return hardlink_fail(x, r, link);
    _cleanup_close_ int tfd = safe_open_in_root(x->rootfd, target, O_PATH | O_NOFOLLOW);
    struct stat st, cur;
    if (tfd < 0 || fstat(tfd, &st) < 0)
        return hardlink_fail(x, tfd < 0 ? tfd : -errno, link);
    if (S_ISDIR(st.st_mode))
        return hardlink_fail(x, -EISDIR, link);
    bool same = fstatat(dfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_dev == st.st_dev &&
                cur.st_ino == st.st_ino;
    if (!same && ((r = replace_existing(x, dfd, base, false)) < 0))
        return r;
    if (!same && (r = link_fd(tfd, dfd, base)) < 0)
        return hardlink_fail(x, r, link);
    return entry_finish(x, e, dfd, base, -1, st.st_mode & S_IFMT);
}

static int write_by_type(struct extract_ctx *x, struct archive_entry *e, int dfd, const char *base)
{
    const char *link = archive_entry_hardlink(e);
    if (link)
        return write_hardlink(x, e, dfd, base, link);
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return write_file(x, e, dfd, base);
    case AE_IFDIR:
        return write_dir(x, e, dfd, base);
    case AE_IFLNK:
        return write_symlink(x, e, dfd, base);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        return write_node(x, e, dfd, base);
    default:
        return berr_set(x->err, 400, EINVAL, "invalid layer: '%s' has an unsupported type 0%o",
                        x->name, (unsigned)archive_entry_filetype(e));
    }
}

int entry_write(struct extract_ctx *x, struct archive_entry *e)
{
    _cleanup_close_ int dfd = -1;
    const char *base;
    int r = check_owner(x, e);
    if (r < 0)
        return r;
    if ((r = safe_open_parent(x->rootfd, x->path, true, &dfd, &base)) < 0)
        return extract_fail(x, r, "create the parent directories of");
    if ((r = write_by_type(x, e, dfd, base)) < 0)
        return r;
    if (x->whiteouts == WHITEOUT_VFS && path_set_add_tree(&x->created, x->path) < 0)
        return berr_set(x->err, 500, ENOMEM, "out of memory");
    return 0;
}
