/* `docker diff`: the changes of a layer against the image below it, with
 * moby's rules (layer_archive.h). The walk gives each directory before what
 * it holds, so the directories above the current entry are a stack. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer_walk.h"
#include "safe_path.h"

/* A directory above the current entry: listed as a change yet or not. */
struct dir_mark {
    size_t len; /* of its path */
    bool recorded;
};

struct changes_ctx {
    const struct layer_src *src;
    struct layer_changes *out;
    struct berr *err;
    int *lower_fds; /* overlay: src->lowers opened, top first */
    size_t nlowers;
    struct dir_mark *stack;
    size_t depth, cap;
};

void layer_changes_done(struct layer_changes *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].path);
    free(c->v);
    *c = (struct layer_changes){0};
}

static int add_change(struct changes_ctx *cx, const char *path, size_t len,
                      enum layer_change_kind kind)
{
    struct layer_changes *c = cx->out;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct layer_change *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return berr_set(cx->err, 500, ENOMEM, "out of memory");
        c->v = v;
        c->cap = cap;
    }
    char *p = malloc(len + 2);
    if (!p)
        return berr_set(cx->err, 500, ENOMEM, "out of memory");
    p[0] = '/';
    memcpy(p + 1, path, len);
    p[len + 1] = '\0';
    c->v[c->n++] = (struct layer_change){.path = p, .kind = kind};
    return 0;
}

static size_t components(const char *path)
{
    size_t n = 1;
    for (const char *p = path; *p; p++)
        n += *p == '/';
    return n;
}

static int push_dir(struct changes_ctx *cx, size_t len, bool recorded)
{
    if (cx->depth == cx->cap) {
        size_t cap = cx->cap ? cx->cap * 2 : 32;
        struct dir_mark *v = realloc(cx->stack, cap * sizeof(*v));
        if (!v)
            return berr_set(cx->err, 500, ENOMEM, "out of memory");
        cx->stack = v;
        cx->cap = cap;
    }
    cx->stack[cx->depth++] = (struct dir_mark){.len = len, .recorded = recorded};
    return 0;
}

/* ---- the image's layers (overlay) ---- */

/* True when a lower layer hides everything below path's ancestors there:
 * one of them is a whiteout, an opaque directory or not a directory. */
static bool hidden_in_layer(int layer_fd, const char *path)
{
    char a[SAFE_PATH_MAX];
    snprintf(a, sizeof(a), "%s", path);
    for (char *slash = strchr(a, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int fd = safe_open_in_root(layer_fd, a, O_PATH | O_NOFOLLOW);
        *slash = '/';
        if (fd < 0)
            return false;
        struct stat st;
        bool hides = fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || lw_is_opaque(fd);
        close(fd);
        if (hides)
            return true;
    }
    return false;
}

/* 1 with *st when the image has path (its layers merged as overlay does),
 * 0 when not, or a negative errno. */
static int lower_lookup(const struct changes_ctx *cx, const char *path, struct stat *st)
{
    for (size_t i = 0; i < cx->nlowers; i++) {
        int fd = safe_open_in_root(cx->lower_fds[i], path, O_PATH | O_NOFOLLOW);
        if (fd >= 0) {
            int r = fstat(fd, st) < 0 ? -errno : !lw_is_whiteout(st);
            close(fd);
            return r;
        }
        if (fd != -ENOENT && fd != -ENOTDIR && fd != -ELOOP)
            return fd;
        if (hidden_in_layer(cx->lower_fds[i], path))
            return 0;
    }
    return 0;
}

/* moby: a directory the image has with the same size, mode and mtime is
 * not a change by itself. /etc's times are the runtime's (it writes mount
 * stubs there), so only its mode counts. */
static bool same_dir(const struct lw_entry *e, const struct stat *lower)
{
    const struct stat *u = e->st;
    if (!S_ISDIR(u->st_mode) || !S_ISDIR(lower->st_mode) || u->st_mode != lower->st_mode)
        return false;
    if (e->stub_parent)
        return true;
    const struct timespec *a = &u->st_mtim, *b = &lower->st_mtim;
    bool same_time =
        a->tv_sec == b->tv_sec && (a->tv_nsec == b->tv_nsec || a->tv_nsec == 0 || b->tv_nsec == 0);
    return u->st_size == lower->st_size && same_time;
}

/* 1: not listed (an unchanged directory); 0 with *kind; or -errno. */
static int overlay_kind(struct changes_ctx *cx, const struct lw_entry *e,
                        enum layer_change_kind *kind)
{
    if (e->whiteout || e->opaque) {
        *kind = LAYER_DELETED;
        return 0;
    }
    struct stat lower;
    int found = lower_lookup(cx, e->path, &lower);
    if (found < 0)
        return berr_errno(cx->err, 500, -found, "look up '%s' in the image's layers", e->path);
    if (!found && e->stub_parent) { /* Docker's init layer has it, as made here */
        found = 1;
        lower = *e->st;
    }
    *kind = found ? LAYER_MODIFIED : LAYER_ADDED;
    return found && same_dir(e, &lower);
}

/* ---- visiting ---- */

static int overlay_visit(struct changes_ctx *cx, const struct lw_entry *e, size_t len)
{
    enum layer_change_kind kind = LAYER_MODIFIED;
    int skip = overlay_kind(cx, e, &kind);
    bool dir = !e->whiteout && S_ISDIR(e->st->st_mode);
    if (skip < 0)
        return skip;
    if (skip)
        return push_dir(cx, len, false);
    int r = 0;
    /* The parent of an addition or deletion is listed once, as modified. */
    if (kind != LAYER_MODIFIED && cx->depth > 0 && !cx->stack[cx->depth - 1].recorded) {
        struct dir_mark *parent = &cx->stack[cx->depth - 1];
        parent->recorded = true;
        r = add_change(cx, e->path, parent->len, LAYER_MODIFIED);
    }
    if (r == 0)
        r = add_change(cx, e->path, len, kind);
    return r == 0 && dir ? push_dir(cx, len, true) : r;
}

static int visit(void *ud, const struct lw_entry *e)
{
    struct changes_ctx *cx = ud;
    size_t len = strlen(e->path), level = components(e->path);
    if (cx->depth >= level) /* leaving the directories this entry is not in */
        cx->depth = level - 1;
    if (!cx->src->full_tree)
        return overlay_visit(cx, e, len);
    int r = add_change(cx, e->path, len, e->whiteout ? LAYER_DELETED : e->change);
    return r == 0 && !e->whiteout && S_ISDIR(e->st->st_mode) ? push_dir(cx, len, true) : r;
}

static int open_lowers(struct changes_ctx *cx)
{
    cx->lower_fds = calloc(cx->src->nlowers ? cx->src->nlowers : 1, sizeof(int));
    if (!cx->lower_fds)
        return berr_set(cx->err, 500, ENOMEM, "out of memory");
    for (; cx->nlowers < cx->src->nlowers; cx->nlowers++) {
        const char *dir = cx->src->lowers[cx->nlowers];
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return berr_errno(cx->err, 500, errno, "open image layer '%s'", dir);
        cx->lower_fds[cx->nlowers] = fd;
    }
    return 0;
}

int layer_changes_sync(const struct layer_src *src, const atomic_bool *stop,
                       struct layer_changes *ret, struct berr *err)
{
    *ret = (struct layer_changes){0};
    struct changes_ctx cx = {.src = src, .out = ret, .err = err};
    int r = src->full_tree ? 0 : open_lowers(&cx);
    if (r == 0)
        r = layer_walk(src, stop, visit, &cx, err);
    for (size_t i = 0; i < cx.nlowers; i++)
        close(cx.lower_fds[i]);
    free(cx.lower_fds);
    free(cx.stack);
    if (r < 0)
        layer_changes_done(ret);
    return r;
}
