/* A tar of a path below a directory fd: docker cp's download (GET
 * /containers/{id}/archive) and docker export, and later build's COPY.
 * Blocking: workers only; resumable, so one job produces the next chunk and
 * returns (no thread waits on a slow client).
 *
 * Nothing is ever followed: every entry is reached from its directory's fd
 * with O_PATH|O_NOFOLLOW, its content read through that same inode
 * (reopened by /proc/self/fd), so a concurrent rename or symlink swap inside
 * the tree can change what is archived but never lead outside it. Entries
 * as moby's tar appender writes them: sorted per directory, directories
 * with a trailing "/", mtime in whole seconds, no user or group names,
 * hardlinked files once then as links, security.capability kept, sockets
 * left out. */
#ifndef BERTH_STORAGE_PATH_ARCHIVE_H
#define BERTH_STORAGE_PATH_ARCHIVE_H

#include <stdatomic.h>
#include <stddef.h>

#include "common/berr.h"
#include "common/buf.h"

struct path_archive;

struct path_archive_src {
    int dirfd;        /* holds the resource (duplicated, not taken) */
    const char *base; /* the resource's name in dirfd; "" for dirfd itself */
    /* The resource's name in the tar ("/" for the root, whose children are
     * then "/bin"...; "." gives "./" and "./x"), or NULL: the resource (a
     * directory) is left out and what it holds is named bare, as an export. */
    const char *top;
};

int path_archive_open(const struct path_archive_src *src, struct path_archive **ret,
                      struct berr *err);
/* Appends the archive's next bytes to out until it holds at least want
 * bytes or the archive is complete. 1: more to come; 0: complete; < 0:
 * failed (err). stop is polled (-ECANCELED). */
int path_archive_fill(struct path_archive *pa, struct buf *out, size_t want,
                      const atomic_bool *stop, struct berr *err);
void path_archive_free(struct path_archive *pa);

#endif
