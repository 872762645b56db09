/* json-file log driver, writer side.
 *
 * A container's stdout/stderr chunks, read from its pipes on the loop
 * thread, become Docker's json-file lines in <dir>/<id>-json.log:
 *
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-24T10:00:00.123456789Z"}\n
 *
 * Lines are split as moby's copier does: one entry per '\n'-terminated line
 * (the '\n' kept in "log"); a line that reaches LOGW_LINE_MAX bytes without
 * a newline, or that is pending when its pipe ends, is written as a partial
 * entry without the '\n'. Every piece of a split line carries the time of
 * the first piece.
 *
 * The loop thread only copies each raw chunk, with its stream and receive
 * time, into a pending buffer; everything else (line splitting, JSON
 * encoding, open, write, rotation, close) runs in one job at a time on the
 * libuv pool, which takes whatever accumulated meanwhile as one batch. The
 * pending buffer is bounded: past LOGW_HIGH_WATER raw bytes logw_write()
 * returns LOGW_FULL and the caller stops reading the pipe until the drain
 * callback. No log-file fd is ever closed on the loop thread: closing the
 * last fd of a file rotation has unlinked frees its page cache, which can
 * take tens of milliseconds.
 *
 * Every logw_ function runs on the loop thread; the logfile__ encoding
 * helpers are pure and run anywhere. */
#ifndef BERTH_RUNTIME_LOGFILE_H
#define BERTH_RUNTIME_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/berr.h"
#include "common/list.h"

#define LOGW_LINE_MAX   (16 * 1024) /* moby's copier buffer size */
#define LOGW_HIGH_WATER (1024 * 1024)
#define LOGW_LOW_WATER  (256 * 1024)

/* logw_write() result: data accepted, stop reading until the drain callback. */
#define LOGW_FULL 1

enum logw_stream { LOGW_STDOUT = 1, LOGW_STDERR = 2 };

/* ---- LogConfig options ---- */

struct logw_opts {
    int64_t max_size; /* bytes; -1: never rotate */
    int max_file;     /* files kept in total, counting the live one (>= 1) */
    bool compress;    /* accepted as Docker does; rotated files stay plain */
};

/* Defaults: no rotation, one file. */
void logw_opts_init(struct logw_opts *o);

/* Applies one LogConfig.Config entry. Unknown keys and bad values fail with
 * Docker's messages and status 400, e.g. "unknown log opt 'foo' for
 * json-file log driver", "invalid size: '1x'", "max-file cannot be less
 * than 1". Docker's label/env/tag keys are accepted and ignored. */
int logw_opts_set(struct logw_opts *o, const char *key, const char *value, struct berr *err);

/* Cross-option checks once every key is set (compress needs rotation). */
int logw_opts_check(const struct logw_opts *o, struct berr *err);

/* Parses a size as Docker's units.FromHumanSize ("10m" = 10,000,000 bytes). */
int logw_parse_size(const char *s, int64_t *ret_bytes);

/* The log path Docker reports in inspect's LogPath: "<dir>/<id>-json.log"
 * (malloc'd into *ret_path). */
int logw_path_for(const char *dir, const char *id, char **ret_path);

/* ---- writer ---- */

struct logw;

typedef void (*logw_drain_fn)(struct logw *w, void *ud);
/* status: 0, or the first write error the log met (the log was still closed). */
typedef void (*logw_done_fn)(void *ud, int status);

/* Creates a writer appending to path (a container restart re-opens the same
 * file). The file is opened on the pool right away; an open or write error
 * does not stop the container: it drops data and is kept in logw_error(). */
int logw_open(uv_loop_t *loop, const char *path, const struct logw_opts *opts, struct logw **ret_w,
              struct berr *err);

/* The callback that resumes reading once a LOGW_FULL writer has drained. */
void logw_set_drain(struct logw *w, logw_drain_fn cb, void *ud);

/* Takes a raw chunk of a container stream (LOGW_STDOUT / LOGW_STDERR) read
 * at ts_ns. Always consumes all of data. Returns 0, LOGW_FULL (stop reading
 * until drain), or -EINVAL (bad stream) / -EPIPE (writer closing). */
int logw_write(struct logw *w, int stream, const char *data, size_t len, int64_t ts_ns);

/* Writes the stream's pending partial line, if any, as a partial entry:
 * call it when that pipe reaches EOF. Returns like logw_write. */
int logw_flush_partial(struct logw *w, int stream, int64_t ts_ns);

/* Flushes partial lines and everything pending, closes the file, sends
 * LOGW_EV_CLOSED to subscribers, calls done (if not NULL) and frees w.
 * w must not be used after this call. */
void logw_close(struct logw *w, logw_done_fn done, void *ud);

const char *logw_path(const struct logw *w);
/* First open/write/rotate error met (negative errno), 0 if none. */
int logw_error(const struct logw *w);
/* Raw bytes taken and not yet encoded and on disk (pending plus the rest
 * of the batch in flight; record headers included). */
size_t logw_buffered(const struct logw *w);

/* ---- followers ---- */

enum logw_event_type {
    LOGW_EV_DATA,    /* new entries reached the live file; size: its length */
    LOGW_EV_ROTATED, /* writing moved to a fresh live file; fd: that file */
    LOGW_EV_CLOSED,  /* the writer is gone (sent once, then unsubscribed) */
};

struct logw_event {
    enum logw_event_type type;
    int64_t size; /* LOGW_EV_DATA: complete bytes in the live file */
    int fd;       /* LOGW_EV_ROTATED: readable fd of the new live file, valid
                   * only during the callback (dup it to keep it), or -1 */
};

typedef void (*logw_event_fn)(void *ud, const struct logw_event *ev);

/* Caller-owned subscription: embed it; no allocation. Events arrive on the
 * loop thread after each write batch; a ROTATED event comes before the DATA
 * event of the same batch, so data still unread in the old file is complete.
 * A callback may unsubscribe its own sub but no other. */
struct logw_sub {
    struct list node;
    logw_event_fn cb;
    void *ud;
};

void logw_subscribe(struct logw *w, struct logw_sub *sub, logw_event_fn cb, void *ud);
void logw_unsubscribe(struct logw *w, struct logw_sub *sub);

/* ---- internal: consistent view of the files, for logread.c ---- */

/* Readable fds of the log's files, oldest first; the last is the live file
 * (when the writer has one open), complete up to live_size bytes. */
struct logw_snapshot {
    int *fds;
    int nfds;
    bool has_live;
    int64_t live_size;
    int max_file;
};

/* status 0: snap is the receiver's (close the fds, free(snap->fds)) and sub
 * is subscribed from that moment on; status < 0 (writer closing): no
 * snapshot, no subscription — read the files by name. */
typedef void (*logw_snap_fn)(void *ud, int status, struct logw_snapshot *snap);

struct logw_snap;

/* Opens the files from the writer's own job, so that no rotation runs while
 * they are opened; cb is called exactly once unless cancelled first. */
struct logw_snap *logw__snapshot(struct logw *w, struct logw_sub *sub, logw_event_fn ev_cb,
                                 logw_snap_fn cb, void *ud);
/* Before cb ran: cb will not run; fds are closed by the writer. */
void logw__snapshot_cancel(struct logw_snap *s);

/* ---- internal: entry encoding (logfile_fmt.c) ---- */

struct logfile__tscache {
    int64_t sec;
    char base[24]; /* "YYYY-MM-DDTHH:MM:SS" of sec */
};

/* Worst-case encoded size of an entry with len bytes of log text. */
#define LOGFILE__ENTRY_MAX(len) (6 * (size_t)(len) + 96)

/* Longest time logfile__format_time writes (a 5-digit year included). */
#define LOGFILE__TIME_MAX 34

/* Encodes one entry at out (LOGFILE__ENTRY_MAX(len) bytes available);
 * newline adds the '\n' a complete line keeps in "log". Returns its length. */
size_t logfile__encode(char *out, int stream, const char *text, size_t len, bool newline,
                       int64_t ts_ns, struct logfile__tscache *tc);

/* The same with the time already formatted (tslen <= LOGFILE__TIME_MAX). */
size_t logfile__encode_ts(char *out, int stream, const char *text, size_t len, bool newline,
                          const char *ts, size_t tslen);

/* JSON string body as Go's encoding/json writes it (no quotes). */
size_t logfile__escape(char *out, const char *s, size_t len);

/* Go's time.RFC3339Nano in UTC; returns the length (no NUL). */
size_t logfile__format_time(char *out, int64_t ts_ns, struct logfile__tscache *tc);

/* ---- internal: closing log-file fds off the loop (logfile_close.c) ---- */

/* Takes fds (malloc'd; entries < 0 are skipped) and closes them in a pool
 * job, then frees the array: the last close of a file that rotation has
 * unlinked frees its page cache, far too slow for the loop thread. Without
 * memory for the job they are closed right here (better a stall than a
 * leak). fds may be NULL when n is 0. */
void logfile__close_later(uv_loop_t *loop, int *fds, int n);

/* Same for one fd (a no-op for fd < 0). */
void logfile__close_fd_later(uv_loop_t *loop, int fd);

#endif
