/* docker cp's path rules (moby's container.ResolvePath, StatPath and
 * symlink.FollowSymlinkInScope), on a root fd; see path_resolve.h. */
#include "path_resolve.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FOLLOW_MAX_LINKS 255 /* moby's maxSymlinkLimit */

/* Go's os.FileMode bits. */
#define GO_MODE_DIR         (1u << 31)
#define GO_MODE_SYMLINK     (1u << 27)
#define GO_MODE_DEVICE      (1u << 26)
#define GO_MODE_NAMED_PIPE  (1u << 25)
#define GO_MODE_SOCKET      (1u << 24)
#define GO_MODE_SETUID      (1u << 23)
#define GO_MODE_SETGID      (1u << 22)
#define GO_MODE_CHAR_DEVICE (1u << 21)
#define GO_MODE_STICKY      (1u << 20)

/* ---- names ---- */

/* Takes the next component of *p (skipping slashes) into comp: 1, 0 at
 * the end, or -ENAMETOOLONG. */
static int next_component(const char **p, char comp[NAME_MAX + 1])
{
    const char *s = *p;
    while (*s == '/')
        s++;
    if (!*s)
        return 0;
    size_t len = strcspn(s, "/");
    if (len > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(comp, s, len);
    comp[len] = '\0';
    *p = s + len;
    return 1;
}

/* Drops the last component of an absolute path held as "" (root) or "/a/b". */
static void pop_component(char *res, size_t *len)
{
    while (*len > 0 && res[*len - 1] != '/')
        (*len)--;
    if (*len > 0)
        (*len)--;
    res[*len] = '\0';
}

static int push_component(char *res, size_t *len, size_t cap, const char *comp)
{
    size_t n = strlen(comp);
    if (*len + 1 + n >= cap)
        return -ENAMETOOLONG;
    res[(*len)++] = '/';
    memcpy(res + *len, comp, n + 1);
    *len += n;
    return 0;
}

/* The last element of path, as Go's filepath.Base, without allocating. */
static void base_span(const char *path, const char **ret, size_t *ret_len)
{
    size_t end = strlen(path);
    while (end > 0 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    *ret = path + start;
    *ret_len = end - start;
}

void path_base(const char *path, char out[NAME_MAX + 2])
{
    const char *b;
    size_t len;
    base_span(path, &b, &len);
    if (!*path)
        len = 0, b = ".";
    else if (len == 0)
        b = "/", len = 1; /* only slashes */
    if (len > NAME_MAX + 1)
        len = NAME_MAX + 1;
    memcpy(out, *path ? b : ".", *path ? len : 1);
    out[*path ? len : 1] = '\0';
}

static bool names_current_dir(const char *path)
{
    const char *b;
    size_t len;
    base_span(path, &b, &len);
    return !*path || (len == 1 && b[0] == '.');
}

int path_abs_clean(const char *path, char *out, size_t outlen)
{
    char comp[NAME_MAX + 1];
    size_t len = 0;
    if (outlen < 4)
        return -ENAMETOOLONG;
    int r;
    out[0] = '\0';
    for (const char *p = path; (r = next_component(&p, comp)) > 0;) {
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0)
            pop_component(out, &len);
        else if (push_component(out, &len, outlen - 3, comp) < 0)
            return -ENAMETOOLONG;
    }
    if (r < 0)
        return r;
    if (len == 0)
        out[len++] = '/';
    if (names_current_dir(path))
        len += (size_t)sprintf(out + len, "%s.", out[len - 1] == '/' ? "" : "/");
    if (out[len - 1] != '/' && *path && path[strlen(path) - 1] == '/')
        out[len++] = '/';
    out[len] = '\0';
    return 0;
}

/* ---- following symlinks in scope ---- */

struct follow {
    int rootfd;
    char res[SAFE_PATH_MAX]; /* resolved so far: "" (the root) or "/a/b" */
    size_t len;
    char todo[SAFE_PATH_MAX]; /* the rest, still to resolve */
    const char *p;
    unsigned links;
};

/* fd is the symlink just reached as the last component of res. */
static int follow_link(struct follow *f, int fd)
{
    char target[SAFE_PATH_MAX], rest[SAFE_PATH_MAX];
    ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    if (++f->links > FOLLOW_MAX_LINKS)
        return -ELOOP;
    pop_component(f->res, &f->len);
    if (target[0] == '/')
        f->len = 0, f->res[0] = '\0';
    int k = snprintf(rest, sizeof(rest), "%s/%s", target, f->p);
    if (k < 0 || (size_t)k >= sizeof(rest))
        return -ENAMETOOLONG;
    memcpy(f->todo, rest, (size_t)k + 1);
    f->p = f->todo;
    return 0;
}

static int follow_step(struct follow *f, const char *comp)
{
    if (strcmp(comp, ".") == 0)
        return 0;
    if (strcmp(comp, "..") == 0) {
        pop_component(f->res, &f->len);
        return 0;
    }
    int r = push_component(f->res, &f->len, sizeof(f->res), comp);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = safe_open_in_root(f->rootfd, f->res + 1, O_PATH | O_NOFOLLOW);
    if (fd == -ENOENT || fd == -ENOTDIR)
        return 0; /* kept as it is, as moby does for what does not exist */
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return fd < 0 ? fd : -errno;
    return S_ISLNK(st.st_mode) ? follow_link(f, fd) : 0;
}

int path_follow_in_root(int rootfd, const char *abs, char *out, size_t outlen)
{
    _cleanup_free_ struct follow *f = calloc(1, sizeof(*f));
    char comp[NAME_MAX + 1];
    if (!f)
        return -ENOMEM;
    if (strlen(abs) >= sizeof(f->todo))
        return -ENAMETOOLONG;
    f->rootfd = rootfd;
    strcpy(f->todo, abs);
    f->p = f->todo;
    int r;
    while ((r = next_component(&f->p, comp)) > 0)
        if ((r = follow_step(f, comp)) < 0)
            return r;
    if (r < 0)
        return r;
    int n = snprintf(out, outlen, "%s", f->len ? f->res : "/");
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* ---- targets ---- */

int path_target_open(int rootfd, const char *path, struct path_target *t)
{
    t->dirfd = -1;
    int r = path_abs_clean(path, t->abs, sizeof(t->abs));
    if (r < 0)
        return r;
    path_base(t->abs, t->name);
    snprintf(t->rel, sizeof(t->rel), "%s", t->abs + 1);
    const char *slash = strrchr(t->abs, '/');
    const char *base = slash + 1;
    if (strlen(base) > NAME_MAX)
        return -ENAMETOOLONG;
    snprintf(t->base, sizeof(t->base), "%s", strcmp(base, ".") == 0 ? "" : base);
    /* The directory part, every symlink in it followed (inside the root). */
    char dir[SAFE_PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - t->abs), t->abs + 1);
    int fd = safe_open_in_root(rootfd, slash == t->abs ? "" : dir, O_PATH | O_DIRECTORY);
    if (fd < 0)
        return fd;
    t->dirfd = fd;
    return 0;
}

void path_target_close(struct path_target *t)
{
    safe_closep(&t->dirfd);
}

uint32_t path_go_mode(unsigned st_mode)
{
    uint32_t m = st_mode & 0777;
    switch (st_mode & S_IFMT) {
    case S_IFBLK:
        m |= GO_MODE_DEVICE;
        break;
    case S_IFCHR:
        m |= GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE;
        break;
    case S_IFDIR:
        m |= GO_MODE_DIR;
        break;
    case S_IFIFO:
        m |= GO_MODE_NAMED_PIPE;
        break;
    case S_IFLNK:
        m |= GO_MODE_SYMLINK;
        break;
    case S_IFSOCK:
        m |= GO_MODE_SOCKET;
        break;
    }
    m |= (st_mode & S_ISUID ? GO_MODE_SETUID : 0) | (st_mode & S_ISGID ? GO_MODE_SETGID : 0) |
         (st_mode & S_ISVTX ? GO_MODE_STICKY : 0);
    return m;
}

int path_target_stat(int rootfd, const struct path_target *t, struct path_stat *ret)
{
    struct stat st;
    int r = t->base[0] ? fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW)
                       : fstatat(t->dirfd, "", &st, AT_EMPTY_PATH);
    if (r < 0)
        return -errno;
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->name, t->name, sizeof(ret->name));
    ret->size = st.st_size;
    ret->mode = path_go_mode(st.st_mode);
    ret->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode))
        return path_follow_in_root(rootfd, t->abs, ret->link_target, sizeof(ret->link_target));
    return 0;
}
