/* Paths below a root directory fd, resolved so that nothing leaves it:
 * openat2(RESOLVE_IN_ROOT) where the kernel has it, else a userspace walk
 * with the same meaning (symlinks, absolute ones included, and ".." are
 * resolved as if the root fd were "/"). Used by layer extraction, where an
 * earlier tar entry may have planted a symlink that points anywhere. */
#ifndef BERTH_STORAGE_SAFE_PATH_H
#define BERTH_STORAGE_SAFE_PATH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define SAFE_PATH_MAX 4096

/* Cleanup attributes (STYLE habit 6); each accepts NULL / -1 and keeps errno. */
static inline void safe_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
        *fd = -1;
    }
}

static inline void safe_freep(void *p)
{
    int saved = errno;
    free(*(void **)p);
    errno = saved;
}

#ifndef _cleanup_close_
#define _cleanup_close_ __attribute__((cleanup(safe_closep)))
#endif
#ifndef _cleanup_free_
#define _cleanup_free_ __attribute__((cleanup(safe_freep)))
#endif
#ifndef TAKE_FD
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _fd_ = (fd);                                                                           \
        (fd) = -1;                                                                                 \
        _fd_;                                                                                      \
    })
#endif

/* Normalises a tar member name into out (as Go's filepath.Clean, minus the
 * ".." folding): leading, repeated and trailing '/' and "." components are
 * dropped, so "/etc//./x/" becomes "etc/x" and "./" becomes "" (the root).
 * -EINVAL when any component is "..", -ENAMETOOLONG when a component is over
 * NAME_MAX or the result does not fit in outlen. */
int safe_path_clean(const char *name, char *out, size_t outlen);

/* Opens path (relative, as from safe_path_clean; "" is the root) below
 * rootfd as if rootfd were "/". flags: O_PATH plus O_DIRECTORY (follows a
 * final symlink, which must lead to a directory) or O_NOFOLLOW (opens a final
 * symlink itself). Returns the fd (O_CLOEXEC) or a negative errno. */
int safe_open_in_root(int rootfd, const char *path, int flags);

/* Opens the directory holding the last component of a clean, non-empty path
 * (O_PATH) and points *ret_base at that component inside path. With
 * mkdir_implied, missing directories on the way are created 0755 root:root,
 * as Docker does for members whose parents the archive does not list. */
int safe_open_parent(int rootfd, const char *path, bool mkdir_implied, int *ret_fd,
                     const char **ret_base);

/* rm -rf of name in dirfd that never follows a symlink; a missing name is
 * success. Any depth: directories nested deeper than SAFE_RM_MAX_DEPTH
 * below name are moved up into name (as ".rm-<n>") and removed from there,
 * so at most SAFE_RM_MAX_DEPTH directories are open at once. */
#define SAFE_RM_MAX_DEPTH 128
int safe_remove_tree(int dirfd, const char *name);

/* Tests: take the userspace walk even when openat2 exists. */
extern bool safe_path__no_openat2;

#endif
