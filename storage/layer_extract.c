/* Layer extraction: the loop over the members of a layer tar. Reading and
 * hashing are in layer_stream.c, writing one member in layer_entry.c,
 * whiteouts in whiteout.c, confined path resolution in safe_path.c. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "layer_extract_int.h"

#define WH_PREFIX      ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE      ".wh..wh..opq"

bool extract_stopped(const struct extract_ctx *x)
{
    return x->stop && atomic_load_explicit(x->stop, memory_order_relaxed);
}

int extract_cancelled(struct extract_ctx *x)
{
    return berr_set(x->err, 500, ECANCELED, "layer extraction cancelled");
}

int extract_status(int r)
{
    switch (-r) {
    case ENOTDIR:
    case EISDIR:
    case EEXIST:
    case ENOENT:
    case ELOOP:
    case ENAMETOOLONG:
    case ENOTEMPTY:
    case EINVAL:
    case ERANGE:
    case E2BIG:
        return 400;
    default:
        return 500;
    }
}

const char *extract_reason(int r, char buf[128])
{
    const char *s = strerrordesc_np(-r);
    if (!s)
        snprintf(buf, 128, "error %d", -r);
    else
        snprintf(buf, 128, "%s", s);
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

int extract_fail(struct extract_ctx *x, int r, const char *what)
{
    char why[128];
    int status = extract_status(r);
    bool bad = status == 400;
    return berr_set(x->err, status, -r, "%s%s%s%s '%s': %s", bad ? "invalid " : "",
                    bad ? x->label : "", bad ? ": " : "", what, x->name, extract_reason(r, why));
}

int extract_join(const struct extract_ctx *x, const char *clean, char *out, size_t outlen)
{
    const char *pre = x->prefix ? x->prefix : "";
    int n = snprintf(out, outlen, "%s%s%s", pre, *pre && *clean ? "/" : "", clean);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* A component ".wh..wh.*" other than a final ".wh..wh..opq": AUFS metadata
 * (.wh..wh.plnk, .wh..wh.orph, ...), which Docker skips too. */
static bool is_aufs_meta(const char *path)
{
    for (const char *p = path; p;) {
        const char *end = strchrnul(p, '/');
        if (strncmp(p, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0 &&
            !(*end == '\0' && strcmp(p, WH_OPAQUE) == 0))
            return true;
        p = *end ? end + 1 : NULL;
    }
    return false;
}

/* The member's name, cleaned, below the prefix, into x->path; 1 when it
 * is the root of the extraction ("./"), which Docker leaves alone too. */
static int member_path(struct extract_ctx *x)
{
    char clean[SAFE_PATH_MAX];
    if (!x->name)
        return berr_set(x->err, 400, EINVAL, "invalid %s: a member has no name", x->label);
    int r = safe_path_clean(x->name, clean, sizeof(clean));
    if (r == -EINVAL)
        return berr_set(x->err, 400, EINVAL, "invalid %s: path '%s' escapes the root", x->label,
                        x->name);
    if (r == 0 && !clean[0])
        return 1;
    if (r == 0)
        r = extract_join(x, clean, x->path, sizeof(x->path));
    if (r < 0)
        return berr_set(x->err, 400, -r, "invalid %s: path '%s' is too long", x->label, x->name);
    return 0;
}

static int extract_member(struct extract_ctx *x, struct archive_entry *e)
{
    x->name = archive_entry_pathname(e);
    int r = member_path(x);
    if (r != 0)
        return r < 0 ? r : 0;
    if (x->literal)
        return entry_write(x, e);
    if (is_aufs_meta(x->path))
        return 0;
    const char *slash = strrchr(x->path, '/');
    const char *base = slash ? slash + 1 : x->path;
    const char *target = NULL;
    int kind = whiteout_kind(base, &target);
    if (kind)
        return whiteout_apply(x, kind, target);
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
        return berr_set(x->err, 400, EINVAL, "invalid layer: invalid whiteout '%s'", x->name);
    return entry_write(x, e);
}

static int extract_members(struct extract_ctx *x)
{
    for (;;) {
        struct archive_entry *e;
        if (extract_stopped(x))
            return extract_cancelled(x);
        int r = layer_stream_next(x->stream, &e, x->err);
        if (r <= 0)
            return r;
        if ((r = extract_member(x, e)) < 0)
            return r;
    }
}

/* Directory times, now that nothing will be added below them. A directory
 * a later member replaced or removed is skipped. */
static int apply_dir_times(struct extract_ctx *x)
{
    for (size_t i = 0; i < x->ndirs; i++) {
        _cleanup_close_ int dfd = -1;
        const char *base;
        struct stat st;
        if (extract_stopped(x))
            return extract_cancelled(x);
        if (safe_open_parent(x->rootfd, x->dirs[i].path, false, &dfd, &base) < 0 ||
            fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (utimensat(dfd, base, x->dirs[i].ts, AT_SYMLINK_NOFOLLOW) < 0) {
            x->name = x->dirs[i].path;
            return extract_fail(x, -errno, "set times of");
        }
    }
    return 0;
}

void extract_ctx_done(struct extract_ctx *x)
{
    layer_stream_free(x->stream);
    path_set_done(&x->created);
    for (size_t i = 0; i < x->ndirs; i++)
        free(x->dirs[i].path);
    free(x->dirs);
    safe_closep(&x->rootfd);
}

int extract_archive(struct extract_ctx *x, const char *src_path, const struct layer_stream_opts *o,
                    struct extract_result *res)
{
    int r = layer_stream_open(src_path, o, &x->stream, x->err);
    if (r == 0)
        r = extract_members(x);
    if (r == 0)
        r = layer_stream_finish(x->stream, res->diff_id, &res->tar_size, x->err);
    if (r == 0)
        r = apply_dir_times(x);
    res->content_size = x->content_size;
    return r;
}

static int extract_run(struct extract_ctx *x, const char *src_path, const char *dst_dir,
                       const struct extract_opts *opts, struct extract_result *res)
{
    if (opts->whiteouts != WHITEOUT_OVERLAY && opts->whiteouts != WHITEOUT_VFS)
        return berr_set(x->err, 500, EINVAL, "invalid whiteout mode %d", (int)opts->whiteouts);
    x->rootfd = open(dst_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (x->rootfd < 0)
        return berr_errno(x->err, errno == ENOENT ? 404 : 500, errno, "open layer directory '%s'",
                          dst_dir);
    /* opts->compression is a hint only: the magic bytes decide, as in
     * Docker's DecompressStream, so a mislabelled layer still extracts. */
    struct layer_stream_opts so = {.progress = opts->progress_bytes, .stop = opts->stop};
    return extract_archive(x, src_path, &so, res);
}

int layer_extract(const char *src_path, const char *dst_dir, const struct extract_opts *opts,
                  struct extract_result *ret, struct berr *err)
{
    static const struct extract_opts defaults = {.whiteouts = WHITEOUT_OVERLAY, .compression = -1};
    struct extract_ctx x = {
        .rootfd = -1, .err = err, .name = "", .label = "layer", .force_uid = -1, .force_gid = -1};
    struct extract_result res = {.tar_size = 0};
    if (!opts)
        opts = &defaults;
    x.whiteouts = opts->whiteouts;
    x.stop = opts->stop;
    int r = extract_run(&x, src_path, dst_dir, opts, &res);
    extract_ctx_done(&x);
    if (r == 0)
        *ret = res;
    return r;
}
