/* Paths asked of a container's filesystem by docker cp (GET/HEAD/PUT
 * /containers/{id}/archive), with moby's rules, resolved below a root fd
 * (the container's filesystem) so that no symlink ever leads out of it.
 * Blocking (workers), except the pure name helpers. */
#ifndef BERTH_STORAGE_PATH_RESOLVE_H
#define BERTH_STORAGE_PATH_RESOLVE_H

#include <limits.h>
#include <stdint.h>

#include "safe_path.h"

/* moby's PreserveTrailingDotOrSeparator(filepath.Join("/", path), path):
 * absolute and lexically clean (".." folded, never above "/"), with a
 * trailing "/" or "/." of path kept. -ENAMETOOLONG. */
int path_abs_clean(const char *path, char *out, size_t outlen);

/* Go's filepath.Base: the last element, "/" for the root, "." for "". */
void path_base(const char *path, char out[NAME_MAX + 2]);

/* moby's FollowSymlinkInScope on an absolute path: every symlink on the
 * way followed inside the root (an absolute target restarts at the root,
 * ".." stops there), missing components kept as they are; the result is
 * absolute. -ELOOP after 255 links. */
int path_follow_in_root(int rootfd, const char *abs, char *out, size_t outlen);

/* A resource asked for by path (moby's ResolvePath): the directory part of
 * its absolute form resolved with every symlink followed, the last part
 * not, unless it is "" or "." (a path ending in "/" or "/."), which name
 * the directory itself. */
struct path_target {
    char abs[SAFE_PATH_MAX]; /* path_abs_clean(path) */
    char name[NAME_MAX + 2]; /* path_base(abs): the stat's name */
    int dirfd;               /* the resolved directory part (O_PATH), or -1 */
    char base[NAME_MAX + 1]; /* the last part; "" for the directory itself */
    char rel[SAFE_PATH_MAX]; /* abs without its leading "/", for safe_open_in_root */
};

/* Fills t; a negative errno (-ENOENT for a missing directory part) with t
 * closed. */
int path_target_open(int rootfd, const char *path, struct path_target *t);
void path_target_close(struct path_target *t);

/* What X-Docker-Container-Path-Stat carries. */
struct path_stat {
    char name[NAME_MAX + 2];
    int64_t size;
    uint32_t mode; /* Go's os.FileMode bits */
    int64_t mtime_ns;
    char link_target[SAFE_PATH_MAX]; /* "" unless the resource is a symlink */
};

/* lstat of the resource (the directory itself for a trailing "/" or "/."),
 * and for a symlink its target followed all the way, as moby's StatPath. */
int path_target_stat(int rootfd, const struct path_target *t, struct path_stat *ret);

/* Go's os.FileMode for a st_mode. */
uint32_t path_go_mode(unsigned st_mode);

#endif
