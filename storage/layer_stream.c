/* The read side of layer extraction. libarchive is the only decompressor,
 * and never one that runs an external program: the outer reader has exactly
 * the gzip, zstd and none filters (plus bzip2 and xz for docker cp's
 * archives; each must register as ARCHIVE_OK, as WARN means "will exec an
 * external program") and the raw format, so its data blocks are
 * the uncompressed tar stream. Those blocks are hashed (the diff-id) and
 * handed to the inner reader, tar format only, through its read callback.
 * The source file is read here too, so the compressed bytes consumed can be
 * counted for progress bars. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "layer_extract_int.h"

#define SRC_BLOCK (128 * 1024)

struct layer_stream {
    int fd;
    struct archive *outer; /* file -> uncompressed bytes */
    struct archive *inner; /* uncompressed bytes -> tar entries */
    struct sha256 hash;
    bool hashing; /* hash initialised and not yet finalised */
    bool outer_eof;
    uint64_t tar_size;
    uint64_t src_size; /* bytes read from the source so far */
    _Atomic uint64_t *progress;
    const atomic_bool *stop;
    const char *label; /* "layer", "archive": what errors call the input */
    bool more_filters; /* bzip2 and xz too (docker cp's input) */
    bool cancelled;
    int src_errno;       /* a failed read(2) of the source file */
    char outer_msg[256]; /* why the outer reader failed */
    unsigned char block[SRC_BLOCK];
};

/* ---- outer reader: the compressed source file ---- */

static la_ssize_t src_read_cb(struct archive *a, void *data, const void **buf)
{
    struct layer_stream *s = data;
    ssize_t n;
    do
        n = read(s->fd, s->block, sizeof(s->block));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        s->src_errno = errno;
        archive_set_error(a, errno, "read: %s", strerror(errno));
        return -1;
    }
    s->src_size += (uint64_t)n;
    if (s->progress)
        atomic_fetch_add_explicit(s->progress, (uint64_t)n, memory_order_relaxed);
    *buf = s->block;
    return n;
}

static void outer_failed(struct layer_stream *s)
{
    const char *msg = archive_error_string(s->outer);
    snprintf(s->outer_msg, sizeof(s->outer_msg), "%s", msg ? msg : "cannot decompress");
}

/* The next block of uncompressed bytes, hashed and counted; *len = 0 at the
 * end. -1 when the outer reader failed (s->outer_msg says why). */
static int outer_next_block(struct layer_stream *s, const void **buf, size_t *len)
{
    *len = 0;
    while (!s->outer_eof) {
        la_int64_t off;
        if (s->stop && atomic_load_explicit(s->stop, memory_order_relaxed)) {
            s->cancelled = true;
            snprintf(s->outer_msg, sizeof(s->outer_msg), "cancelled");
            return -1;
        }
        int r = archive_read_data_block(s->outer, buf, len, &off);
        if (r == ARCHIVE_EOF) {
            s->outer_eof = true;
            *len = 0;
        } else if (r < ARCHIVE_WARN) {
            outer_failed(s);
            return -1;
        } else if (off < 0 || (uint64_t)off != s->tar_size) {
            snprintf(s->outer_msg, sizeof(s->outer_msg), "unexpected hole in decompressed data");
            return -1;
        } else if (*len > 0) {
            sha256_update(&s->hash, *buf, *len);
            s->tar_size += *len;
            return 0;
        }
    }
    return 0;
}

static int outer_open(struct layer_stream *s, struct berr *err)
{
    struct archive *a = s->outer = archive_read_new();
    if (!a)
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
        archive_read_support_filter_none(a) != ARCHIVE_OK ||
        (s->more_filters && (archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
                             archive_read_support_filter_xz(a) != ARCHIVE_OK)))
        return berr_set(err, 500, ENOTSUP,
                        "libarchive lacks a built-in decompressor; "
                        "refusing to run an external one");
    if (archive_read_support_format_raw(a) != ARCHIVE_OK ||
        archive_read_support_format_empty(a) != ARCHIVE_OK)
        return berr_set(err, 500, ENOTSUP, "libarchive lacks the raw format");
    struct archive_entry *e;
    int r = archive_read_open(a, s, NULL, src_read_cb, NULL);
    if (r == ARCHIVE_OK)
        r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF)
        s->outer_eof = true; /* an empty file: an empty layer */
    else if (r < ARCHIVE_WARN)
        return layer_stream_error(s, NULL, err);
    /* libarchive stacks decompressors (gzip in gzip...), multiplying what a
     * small blob expands to; Docker decompresses once, then wants a tar.
     * One decompressor over the client's own reader is the most allowed. */
    if (archive_filter_count(a) > 2)
        return berr_set(err, 400, EINVAL, "invalid %s: compressed more than once", s->label);
    return 0;
}

/* ---- inner reader: the tar stream ---- */

static la_ssize_t inner_read_cb(struct archive *a, void *data, const void **buf)
{
    struct layer_stream *s = data;
    size_t len;
    if (outer_next_block(s, buf, &len) < 0) {
        archive_set_error(a, EINVAL, "%s", s->outer_msg);
        return -1;
    }
    return (la_ssize_t)len;
}

static int inner_open(struct layer_stream *s, struct berr *err)
{
    struct archive *a = s->inner = archive_read_new();
    if (!a)
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_support_format_empty(a) != ARCHIVE_OK)
        return berr_set(err, 500, ENOTSUP, "libarchive lacks the tar format");
    if (archive_read_open(a, s, NULL, inner_read_cb, NULL) != ARCHIVE_OK)
        return layer_stream_error(s, NULL, err);
    return 0;
}

int layer_stream_open(const char *src_path, const struct layer_stream_opts *o,
                      struct layer_stream **ret, struct berr *err)
{
    struct layer_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return berr_set(err, 500, ENOMEM, "out of memory");
    s->progress = o->progress;
    s->stop = o->stop;
    s->label = o->label ? o->label : "layer";
    s->more_filters = o->more_filters;
    s->fd = open(src_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (s->fd < 0) {
        int r =
            berr_errno(err, errno == ENOENT ? 404 : 500, errno, "open %s '%s'", s->label, src_path);
        layer_stream_free(s);
        return r;
    }
    sha256_init(&s->hash);
    s->hashing = true;
    int r = outer_open(s, err);
    if (r == 0)
        r = inner_open(s, err);
    if (r < 0) {
        layer_stream_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

struct archive *layer_stream_tar(struct layer_stream *s)
{
    return s->inner;
}

int layer_stream_next(struct layer_stream *s, struct archive_entry **ret_entry, struct berr *err)
{
    /* WARN is fine here: a name that does not convert to the locale's
     * charset is still given, byte for byte. */
    int r = archive_read_next_header(s->inner, ret_entry);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r < ARCHIVE_WARN)
        return layer_stream_error(s, NULL, err);
    return 1;
}

int layer_stream_error(struct layer_stream *s, const char *entry, struct berr *err)
{
    struct archive *a = s->inner ? s->inner : s->outer;
    const char *msg = s->outer_msg[0] ? s->outer_msg : archive_error_string(a);
    char where[SAFE_PATH_MAX + 32] = "";
    if (entry)
        snprintf(where, sizeof(where), " at '%s'", entry);
    if (s->cancelled)
        return berr_set(err, 500, ECANCELED, "layer extraction cancelled");
    if (s->src_errno)
        return berr_errno(err, 500, s->src_errno, "read %s%s", s->label, where);
    if (archive_errno(a) == ENOMEM)
        return berr_set(err, 500, ENOMEM, "out of memory reading %s%s", s->label, where);
    return berr_set(err, 400, EINVAL, "invalid %s%s: %s", s->label, where,
                    msg ? msg : "truncated or corrupt tar archive");
}

/* Reads the source to its end, for the progress counter's sake, when the
 * decompressor stopped early (trailing bytes after a gzip member). */
static int src_drain(struct layer_stream *s)
{
    const void *buf;
    la_ssize_t n;
    while ((n = src_read_cb(s->outer, s, &buf)) > 0)
        ;
    return n < 0 ? -s->src_errno : 0;
}

int layer_stream_finish(struct layer_stream *s, char ret_diff_id[DIGEST_STR_MAX],
                        uint64_t *ret_tar_size, struct berr *err)
{
    const void *buf;
    size_t len;
    do {
        if (outer_next_block(s, &buf, &len) < 0)
            return layer_stream_error(s, NULL, err);
    } while (len > 0);
    if (src_drain(s) < 0)
        return berr_errno(err, 500, s->src_errno, "read %s", s->label);
    /* libarchive neither checks the gzip CRC nor complains about bytes
     * after the last member: a corrupt member that decodes to an early end
     * looks like a short stream followed by junk. Go's gzip reader, and so
     * Docker, refuses both. */
    if (archive_filter_code(s->outer, 0) != ARCHIVE_FILTER_NONE &&
        (uint64_t)archive_filter_bytes(s->outer, -1) < s->src_size)
        return berr_set(err, 400, EINVAL,
                        "invalid %s: corrupt compressed data, or data after its end", s->label);
    sha256_final(&s->hash, ret_diff_id);
    s->hashing = false;
    *ret_tar_size = s->tar_size;
    return 0;
}

void layer_stream_free(struct layer_stream *s)
{
    if (!s)
        return;
    /* The inner reader pulls from the outer one: free it first. */
    if (s->inner)
        archive_read_free(s->inner);
    if (s->outer)
        archive_read_free(s->outer);
    if (s->hashing)
        sha256_done(&s->hash);
    safe_closep(&s->fd);
    free(s);
}
