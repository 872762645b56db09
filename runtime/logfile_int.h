/* json-file writer internals shared by its loop half (logfile.c) and its
 * pool half (logfile_io.c). Nothing outside runtime/logfile*.c uses this.
 *
 * The loop appends what it reads from a container's pipes to w->pending as
 * raw records (struct lw_rec followed by the bytes); a job takes them as
 * one batch and does everything else on the pool: line splitting, JSON
 * encoding, writing, rotation, closing. While a job runs (w->busy) the pool
 * thread owns w->io and reads only the immutable path and options; the loop
 * touches everything else. */
#ifndef BERTH_RUNTIME_LOGFILE_INT_H
#define BERTH_RUNTIME_LOGFILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/job.h"
#include "common/list.h"
#include "runtime/logfile.h"

/* Encoded bytes a job gathers before each write(): big enough for few
 * syscalls, small enough that memory stays bounded whatever the batch
 * expands to (a line of "\n" encodes to ~60 bytes). */
#define LW_OUT_CHUNK (256 * 1024)

/* Header of a raw record in pending / batch (copied, never cast in place:
 * records are not aligned). */
struct lw_rec {
    int64_t ts; /* receive time of the bytes */
    size_t len; /* bytes following the header */
    int stream; /* LOGW_STDOUT / LOGW_STDERR */
    bool flush; /* no bytes: the stream's pipe ended, flush its partial line */
};

/* moby's copier state for one stream, on the pool side. */
struct lw_stream {
    size_t len;         /* bytes of an unfinished line in line[] */
    bool in_partial;    /* a partial entry of the current line was written */
    int64_t partial_ts; /* time of its first piece, shared by the others */
    char line[LOGW_LINE_MAX];
};

/* The last time formatted: a record's lines share their receive time, so
 * a batch formats it once per record instead of once per line. */
struct lw_tsfmt {
    bool valid;
    int64_t ts;
    size_t len;
    char s[48];
    struct logfile__tscache tc;
};

struct logw_snap {
    struct list node;
    struct logw_sub *sub;
    logw_event_fn ev_cb;
    logw_snap_fn cb; /* NULL once cancelled */
    void *ud;
    int status;
    struct logw_snapshot res;
};

/* What the pool thread owns while a job runs. */
struct lw_io {
    int fd;
    int64_t size;     /* bytes in the live file */
    struct buf batch; /* raw records: [off, len) still to go */
    size_t off;       /* header of the current record */
    size_t rpos;      /* bytes of that record already split */
    struct buf out;   /* entries encoded, not yet written */
    struct lw_stream st[2];
    struct lw_tsfmt tf;
    bool rotated; /* this job moved to a new live file */
    bool written; /* this job added bytes to the live file */
    bool final;   /* close the file once the batch is out */
    bool closed;
    struct list snaps; /* snapshot requests served by this job */
    int err;
};

struct logw {
    uv_loop_t *loop;
    char *path;
    struct logw_opts opts;
    struct buf pending; /* raw records taken since the last job started */
    struct job job;
    bool busy;
    struct lw_io io;
    int err;
    bool open_failed;
    size_t inflight; /* raw batch bytes handed to the running job */
    bool full;
    logw_drain_fn drain_cb;
    void *drain_ud;
    struct list subs;
    struct list snaps; /* requests waiting for the next job */
    bool closing;
    logw_done_fn done_cb;
    void *done_ud;
};

/* The job body (logfile_io.c): writes the batch, serves io->snaps, closes
 * the file when io->final. Runs on the pool. */
int logfile__work(struct job *job);

#endif
