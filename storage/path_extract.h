/* docker cp's upload: extracting a tar (plain, gzip, bzip2, xz or zstd)
 * into a directory below a root fd, which is the container's filesystem.
 * Blocking: workers only.
 *
 * Every member is written as layer extraction writes one (layer_entry.c):
 * its path is the destination joined with the member's cleaned name,
 * resolved inside the root (openat2 RESOLVE_IN_ROOT, or the same walk in
 * userspace), so a symlink in the container, or one planted by an earlier
 * member, can lead anywhere in the container but never out of it; ".." in
 * a name is refused, absolute names are taken below the destination, as
 * Docker joins them. Unlike a layer, ".wh." names are plain files. */
#ifndef BERTH_STORAGE_PATH_EXTRACT_H
#define BERTH_STORAGE_PATH_EXTRACT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/berr.h"

struct path_extract_opts {
    const char *dest; /* clean path of the destination directory below the root ("" = root) */
    bool no_overwrite_dir_nondir; /* a directory and a non-directory may not replace each other */
    int64_t uid, gid;             /* >= 0: the owner of every member (copyUIDGID); else its own */
    const atomic_bool *stop;      /* polled: -ECANCELED */
};

/* Extracts the archive file src_path below rootfd (not taken). 400 for a
 * bad archive or a member that conflicts with what is there. */
int path_extract(const char *src_path, int rootfd, const struct path_extract_opts *o,
                 struct berr *err);

#endif
