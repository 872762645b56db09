/* Internals of layer extraction, shared by layer_extract.c (the loop),
 * layer_stream.c (decompression and diff-id), layer_entry.c (writing one
 * member), whiteout.c and path_extract.c (docker cp's archives, written the
 * same way). Not for use outside those. */
#ifndef BERTH_STORAGE_LAYER_EXTRACT_INT_H
#define BERTH_STORAGE_LAYER_EXTRACT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "layer_extract.h"
#include "safe_path.h"

/* ---- layer_stream.c: source file -> libarchive decompression -> tar ----
 * Two chained readers: the outer one (filters gzip, zstd, none; format raw)
 * turns the file into uncompressed bytes, which are hashed and counted as
 * they are handed, through archive_read_open callbacks, to the inner one
 * (format tar, no filter) that yields the entries. */
struct layer_stream;

struct layer_stream_opts {
    _Atomic uint64_t *progress; /* compressed bytes consumed, or NULL */
    const atomic_bool *stop;    /* polled at every block (-ECANCELED) */
    const char *label;          /* what errors call the input; NULL: "layer" */
    bool more_filters;          /* bzip2 and xz as well as gzip and zstd */
};

int layer_stream_open(const char *src_path, const struct layer_stream_opts *o,
                      struct layer_stream **ret, struct berr *err);
/* The tar reader: entries and their data come from here. */
struct archive *layer_stream_tar(struct layer_stream *s);
/* 1 with *ret_entry set, 0 at the end of the archive, or a negative errno. */
int layer_stream_next(struct layer_stream *s, struct archive_entry **ret_entry, struct berr *err);
/* Fills err for a failure of the tar reader (cancelled, a read of the
 * source -> 500, anything else is a bad layer -> 400), naming entry when not
 * NULL. */
int layer_stream_error(struct layer_stream *s, const char *entry, struct berr *err);
/* Reads what is left (data past the tar end-of-archive blocks counts in the
 * diff-id too) and gives the digest of the uncompressed stream and its size. */
int layer_stream_finish(struct layer_stream *s, char ret_diff_id[DIGEST_STR_MAX],
                        uint64_t *ret_tar_size, struct berr *err);
void layer_stream_free(struct layer_stream *s);

/* ---- whiteout.c: a set of the paths this layer wrote ---- */
struct path_set {
    char **slots; /* open addressing; NULL = free */
    size_t cap;   /* a power of two, or 0 */
    size_t count;
};

/* Adds path and every ancestor of it. */
int path_set_add_tree(struct path_set *s, const char *path);
bool path_set_has(const struct path_set *s, const char *path);
void path_set_done(struct path_set *s);

/* ---- the extraction of one layer ---- */
struct dir_times {
    char *path;
    struct timespec ts[2];
};

struct extract_ctx {
    int rootfd;
    enum whiteout_mode whiteouts;
    /* docker cp (path_extract.c): members land below prefix, a directory
     * below the root ("" for layers), whose symlinks still resolve inside
     * the root; ".wh." names are plain files (literal); the owner may be
     * forced (copyUIDGID); a directory and a non-directory may not replace
     * each other (no_overwrite_dir_nondir). */
    const char *prefix;
    const char *label; /* "layer", "archive": errors say "invalid <label>: ..." */
    bool literal;
    bool no_overwrite_dir_nondir;
    int64_t force_uid, force_gid; /* < 0: the member's own */
    const atomic_bool *stop;
    struct berr *err;
    struct layer_stream *stream;
    struct path_set created; /* vfs: the paths this layer wrote, with ancestors */
    struct dir_times *dirs;  /* directory times, applied after their children */
    size_t ndirs;
    size_t capdirs;
    uint64_t content_size;
    const char *name;         /* the member's name as in the archive */
    char path[SAFE_PATH_MAX]; /* the same, cleaned */
};

/* layer_entry.c: creates the current member (x->name, x->path). */
int entry_write(struct extract_ctx *x, struct archive_entry *e);

/* whiteout.c: applies ".wh.<target>" (kind 1) or ".wh..wh..opq" (kind 2). */
int whiteout_apply(struct extract_ctx *x, int kind, const char *target);

/* layer_extract.c: reads src_path and writes every member below x->rootfd
 * (opened by the caller, closed by extract_ctx_done), then the directory
 * times. */
int extract_archive(struct extract_ctx *x, const char *src_path, const struct layer_stream_opts *o,
                    struct extract_result *res);
void extract_ctx_done(struct extract_ctx *x);
/* prefix + "/" + clean (or either alone) into out; -ENAMETOOLONG. */
int extract_join(const struct extract_ctx *x, const char *clean, char *out, size_t outlen);

/* layer_extract.c: helpers for the parts above. */
bool extract_stopped(const struct extract_ctx *x);
int extract_cancelled(struct extract_ctx *x);
/* Fills x->err for a failed syscall r on the current member: "<what> '<name>':
 * <reason>", 400 when the layer's content is the cause, else 500. */
int extract_fail(struct extract_ctx *x, int r, const char *what);
/* 400 when the failure r (a negative errno) comes from the layer's content
 * (ENOTDIR, ELOOP, ...), else 500 (I/O, ENOSPC, ENOMEM, ...). */
int extract_status(int r);
/* strerror(-r) in Go's lowercase form, as Docker prints it:
 * "no space left on device". */
const char *extract_reason(int r, char buf[128]);

#endif
