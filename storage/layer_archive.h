/* A layer read back from disk as a change set: the `docker diff` list of a
 * container, and the OCI layer tar that commit (and later build and push)
 * registers. Workers only (directory walks and file reads).
 *
 * Two shapes of source, as the storage drivers keep them:
 *
 *   overlay2  top is an overlay upper dir (a container's, or a stored
 *             layer's diff/): whiteouts are 0/0 character devices, opaque
 *             directories carry trusted.overlay.opaque=y (user.overlay.opaque
 *             with userxattr mounts). The tar turns them back into OCI form:
 *             ".wh.<name>" entries and "<dir>/.wh..wh..opq" after the
 *             directory. lowers are the image's layer dirs, for `changes`.
 *   vfs       top is a container's whole root, compared with lowers[0], the
 *             image's top layer (each vfs layer is a whole tree), as moby's
 *             naive diff does: deletions become ".wh.<name>" entries.
 *
 * Every walk is fd-relative and never follows a symlink; entries come in
 * sorted order (a directory before its children), so the same tree always
 * gives the same tar. A container's root also holds what the runtime put
 * there to mount over (/proc, /sys, /dev, /etc/hosts, /etc/hostname,
 * /etc/resolv.conf, /.dockerenv): Docker keeps those in a separate "init"
 * layer, so with `container` set they are left out of both the changes and
 * the tar, and /etc counts as present in the image. */
#ifndef BERTH_STORAGE_LAYER_ARCHIVE_H
#define BERTH_STORAGE_LAYER_ARCHIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "digest.h"

/* sha256 of an empty tar (two zero blocks): moby's layer.EmptyLayer. */
#define LAYER_EMPTY_DIFF_ID                                                                        \
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

struct layer_src {
    char *top;      /* overlay: the upper dir; vfs: the container's whole root */
    char **lowers;  /* overlay: the image's layer dirs, top first; vfs: [0] = image's top layer */
    size_t nlowers; /* vfs: 0 when the image has no layer (everything is added) */
    bool full_tree; /* vfs */
    bool container; /* top is a container's: leave out the runtime's mount stubs */
};

void layer_src_done(struct layer_src *s);

/* ---- changes (`docker diff`) ---- */

enum layer_change_kind { LAYER_MODIFIED = 0, LAYER_ADDED = 1, LAYER_DELETED = 2 };

struct layer_change {
    char *path; /* absolute: "/etc/passwd" */
    enum layer_change_kind kind;
};

struct layer_changes {
    struct layer_change *v;
    size_t n, cap;
};

/* moby's changes for the source, in walk order. overlay (moby's
 * OverlayChanges): a whiteout is deleted; an opaque directory is reported
 * deleted (its lower content is gone) and what it holds again is listed
 * below it; any other entry is added, or modified when the image's layers
 * have the path (a directory with the same size, mode and mtime there is
 * not listed for itself); the parent of an addition or deletion is listed
 * as modified once. vfs (moby's ChangesDirs): entries that differ in mode,
 * owner, device, size, mtime or file capability (directories: mode and
 * owner only), each directory with changes below it as modified. stop is
 * polled (-ECANCELED). */
int layer_changes_sync(const struct layer_src *src, const atomic_bool *stop,
                       struct layer_changes *ret, struct berr *err);
void layer_changes_done(struct layer_changes *c);

/* ---- the layer tar ---- */

struct layer_tar_opts {
    bool gzip;               /* compress the file written (the diff ID stays the tar's) */
    const atomic_bool *stop; /* -ECANCELED */
};

struct layer_tar_result {
    char diff_id[DIGEST_STR_MAX]; /* sha256 of the uncompressed tar */
    char digest[DIGEST_STR_MAX];  /* sha256 of the file written */
    uint64_t tar_size;            /* uncompressed bytes */
    uint64_t file_size;           /* bytes written to the file */
    uint64_t entries;             /* tar members; 0 is an empty layer */
};

/* Writes the layer tar of src to out_path (created, must not exist; fsynced;
 * removed on failure). Members as moby writes them: names relative without
 * a leading '/', owner, mode and mtime (whole seconds) kept, no user names,
 * hardlinks inside the layer as links, security.capability (a v3 one as v2)
 * and user.* xattrs kept, sockets left out. A regular file that changes
 * while it is read is cut or zero-padded to the size first seen. */
int layer_tar_write_sync(const struct layer_src *src, const char *out_path,
                         const struct layer_tar_opts *o, struct layer_tar_result *ret,
                         struct berr *err);

#endif
