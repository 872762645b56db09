/* Extracting a layer tar (plain, gzip or zstd) into a directory, safely.
 * Blocking: runs on worker threads only.
 *
 * libarchive is only the reader; every entry is written with *at calls
 * below the layer's root fd, resolving paths with openat2(RESOLVE_IN_ROOT),
 * so a symlink planted by an earlier entry can't lead outside. Names with
 * ".." and hardlinks that leave the tree are refused with a clear error;
 * absolute names and hardlink targets are taken relative to the root, as
 * Docker does; absolute symlinks inside images (/var/run -> /run) are legal
 * as link contents. Ownership, modes, mtimes, xattrs, hardlinks and device
 * nodes are kept. OCI whiteouts become overlay whiteouts (char 0/0 devices,
 * trusted.overlay.opaque=y) or, for vfs, are applied by deleting from the
 * directory (which then already holds the parent layers). No external
 * decompressor program is ever run. */
#ifndef BERTH_STORAGE_LAYER_EXTRACT_H
#define BERTH_STORAGE_LAYER_EXTRACT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/berr.h"
#include "digest.h"

enum whiteout_mode {
    WHITEOUT_OVERLAY, /* store as overlayfs whiteouts (lowerdir of overlay) */
    WHITEOUT_VFS,     /* delete from the target, which holds the lower layers */
};

struct extract_opts {
    enum whiteout_mode whiteouts;
    int compression;                  /* from layer_compression(); -1 = detect */
    const atomic_bool *stop;          /* polled; set -> -ECANCELED */
    _Atomic uint64_t *progress_bytes; /* compressed bytes consumed so far (for progress bars) */
};

struct extract_result {
    char diff_id[DIGEST_STR_MAX]; /* sha256 of the uncompressed tar stream */
    uint64_t tar_size;            /* uncompressed bytes */
    uint64_t content_size;        /* sum of regular file sizes written */
};

/* Extracts the archive file at src_path into the existing directory
 * dst_dir (which should be empty, or hold the lower layers in vfs mode). */
int layer_extract(const char *src_path, const char *dst_dir, const struct extract_opts *opts,
                  struct extract_result *ret, struct berr *err);

/* The whiteout mapping alone, for tests: returns 1 and fills ret_target
 * (the name being deleted) for ".wh.<name>", 2 for ".wh..wh..opq", 0 otherwise. */
int whiteout_kind(const char *basename, const char **ret_target);

#endif
