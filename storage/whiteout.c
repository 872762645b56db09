/* OCI whiteouts in layer tars: ".wh.<name>" deletes <name> of the lower
 * layers, ".wh..wh..opq" hides every lower child of its directory; other
 * ".wh..wh.*" names are AUFS metadata and are skipped by the caller.
 * Overlay mode stores them as overlayfs does (0/0 character device, the
 * trusted.overlay.opaque xattr); vfs mode deletes from the target, which
 * already holds the lower layers. A whiteout never applies to what the same
 * layer wrote (OCI image spec, "Whiteouts"). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "layer_extract_int.h"

#define WH_PREFIX      ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE      ".wh..wh..opq"
#define OVERLAY_OPAQUE "trusted.overlay.opaque"

int whiteout_kind(const char *basename, const char **ret_target)
{
    if (strcmp(basename, WH_OPAQUE) == 0)
        return 2;
    if (strncmp(basename, WH_PREFIX, strlen(WH_PREFIX)) != 0 ||
        strncmp(basename, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
        return 0;
    const char *t = basename + strlen(WH_PREFIX);
    if (!*t || strcmp(t, ".") == 0 || strcmp(t, "..") == 0 || strchr(t, '/'))
        return 0;
    if (ret_target)
        *ret_target = t;
    return 1;
}

/* ---- the set of paths written by this layer ---- */

static uint64_t hash_path(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static size_t find_slot(char **slots, size_t cap, const char *path, size_t len)
{
    size_t i = (size_t)hash_path(path, len) & (cap - 1);
    while (slots[i] && !(strncmp(slots[i], path, len) == 0 && slots[i][len] == '\0'))
        i = (i + 1) & (cap - 1);
    return i;
}

static int path_set_grow(struct path_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i])
            slots[find_slot(slots, cap, s->slots[i], strlen(s->slots[i]))] = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

/* 1 when added, 0 when already there. */
static int path_set_add(struct path_set *s, const char *path, size_t len)
{
    if ((s->count + 1) * 2 > s->cap && path_set_grow(s) < 0)
        return -ENOMEM;
    size_t i = find_slot(s->slots, s->cap, path, len);
    if (s->slots[i])
        return 0;
    if (!(s->slots[i] = strndup(path, len)))
        return -ENOMEM;
    s->count++;
    return 1;
}

int path_set_add_tree(struct path_set *s, const char *path)
{
    /* Ancestors of a path already there were added with it. */
    for (size_t len = strlen(path); len > 0;) {
        int r = path_set_add(s, path, len);
        if (r <= 0)
            return r;
        while (len > 0 && path[len - 1] != '/')
            len--;
        if (len > 0)
            len--;
    }
    return 0;
}

bool path_set_has(const struct path_set *s, const char *path)
{
    if (s->cap == 0)
        return false;
    return s->slots[find_slot(s->slots, s->cap, path, strlen(path))] != NULL;
}

void path_set_done(struct path_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    *s = (struct path_set){0};
}

/* ---- overlay mode ---- */

static int overlay_whiteout(struct extract_ctx *x, int dfd, const char *target)
{
    struct stat st;
    if (fstatat(dfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0; /* this layer's own: the whiteout is for lower layers */
    if (errno != ENOENT)
        return extract_fail(x, -errno, "apply whiteout");
    if (mknodat(dfd, target, S_IFCHR, makedev(0, 0)) < 0)
        return extract_fail(x, -errno, "create whiteout");
    return 0;
}

static int overlay_opaque(struct extract_ctx *x, int dfd)
{
    _cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE, "y", 1, 0) < 0)
        return extract_fail(x, -errno, "mark opaque");
    return 0;
}

/* ---- vfs mode ---- */

static int vfs_whiteout(struct extract_ctx *x, int dfd, const char *base, const char *target)
{
    /* x->path is "<dir>/.wh.<target>": the victim's path is that, minus ".wh.". */
    char victim[SAFE_PATH_MAX];
    size_t dirlen = (size_t)(base - x->path);
    memcpy(victim, x->path, dirlen);
    strcpy(victim + dirlen, target);
    if (path_set_has(&x->created, victim))
        return 0;
    int r = safe_remove_tree(dfd, target);
    return r < 0 ? extract_fail(x, r, "apply whiteout") : 0;
}

struct names {
    char **v;
    size_t n;
    size_t cap;
};

static void names_done(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int names_add(struct names *l, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(name)))
        return -ENOMEM;
    l->n++;
    return 0;
}

/* The children of dirfd, read before anything is deleted from it. */
static int list_children(int dirfd, struct names *ret)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        safe_closep(&fd);
        return -errno;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (errno = 0, de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            r = names_add(ret, de->d_name);
    if (r == 0 && errno)
        r = -errno;
    closedir(d);
    return r;
}

static bool is_dir_at(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Deletes the children of dirfd (whose path is path) that lower layers
 * left; the directories this layer wrote go on todo, to be pruned too. */
static int prune_dir(struct extract_ctx *x, int dirfd, const char *path, struct names *todo)
{
    struct names kids = {0};
    char child[SAFE_PATH_MAX];
    int r = list_children(dirfd, &kids);
    for (size_t i = 0; r == 0 && i < kids.n; i++) {
        int n = snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "", kids.v[i]);
        /* Too long for a member name: it can't be this layer's. */
        if (n < 0 || (size_t)n >= sizeof(child) || !path_set_has(&x->created, child))
            r = safe_remove_tree(dirfd, kids.v[i]);
        else if (is_dir_at(dirfd, kids.v[i]))
            r = names_add(todo, child);
    }
    names_done(&kids);
    return r;
}

/* Depth-first with a list of paths rather than recursion, so no fd is held
 * per level however deep the tree. */
static int vfs_opaque(struct extract_ctx *x, int dfd, const char *base)
{
    char dir[SAFE_PATH_MAX];
    size_t len = base > x->path ? (size_t)(base - x->path) - 1 : 0;
    memcpy(dir, x->path, len);
    dir[len] = '\0';
    struct names todo = {0};
    int r = prune_dir(x, dfd, dir, &todo);
    while (r == 0 && todo.n > 0) {
        char *path = todo.v[--todo.n];
        int fd = safe_open_in_root(x->rootfd, path, O_PATH | O_DIRECTORY);
        r = fd < 0 ? fd : prune_dir(x, fd, path, &todo);
        safe_closep(&fd);
        free(path);
    }
    names_done(&todo);
    return r < 0 ? extract_fail(x, r, "apply opaque whiteout") : 0;
}

int whiteout_apply(struct extract_ctx *x, int kind, const char *target)
{
    _cleanup_close_ int dfd = -1;
    const char *base;
    bool overlay = x->whiteouts == WHITEOUT_OVERLAY;
    int r = safe_open_parent(x->rootfd, x->path, overlay, &dfd, &base);
    if (!overlay && (r == -ENOENT || r == -ENOTDIR))
        return 0; /* nothing below it to delete */
    if (r < 0)
        return extract_fail(x, r, "open the directory of whiteout");
    if (overlay)
        return kind == 2 ? overlay_opaque(x, dfd) : overlay_whiteout(x, dfd, target);
    return kind == 2 ? vfs_opaque(x, dfd, base) : vfs_whiteout(x, dfd, base, target);
}
