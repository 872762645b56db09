/* json-file log driver, reader side: the body of GET /containers/{id}/logs.
 *
 * A reader walks the log's files in order (x.log.N oldest ... x.log), picks
 * the entries the options select and formats them as Docker does: stdcopy
 * frames (8-byte header: stream, 0, 0, 0, big-endian length) for non-TTY
 * containers, raw bytes for TTY ones; with timestamps each entry starts with
 * its time in RFC3339Nano with nine fixed digits and a space.
 *
 * File reading and formatting run on the libuv pool, one job at a time,
 * each producing one chunk of at most about chunk_size bytes; the next job
 * starts only when the consumer calls logread_next(), so a slow client never
 * makes the daemon buffer more than a chunk.
 *
 * With a live writer the reader takes its files from the writer (no race
 * with rotation), and in follow mode keeps reading what the writer adds,
 * across rotations, until the writer closes. Every function here runs on
 * the loop thread; the reader's fds are closed on the pool (a follower's
 * is often the last fd of an unlinked file, whose close is slow). */
#ifndef BERTH_RUNTIME_LOGREAD_H
#define BERTH_RUNTIME_LOGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/berr.h"
#include "runtime/logfile.h"

#define LOGREAD_CHUNK (128 * 1024)

struct logread_opts {
    bool show_stdout;
    bool show_stderr;
    int64_t since_ns;  /* entries before it are skipped; 0: no bound */
    int64_t until_ns;  /* reading stops at the first entry after it; 0: no bound */
    bool timestamps;   /* prefix each entry with its fixed-width time and a space */
    int64_t tail;      /* last N entries of the whole log (any stream); -1: all */
    bool follow;       /* keep reading while the writer lives */
    bool tty;          /* raw output instead of stdcopy frames */
    size_t chunk_size; /* 0: LOGREAD_CHUNK */
};

/* Query forms of since/until: "<unix seconds>[.<fraction>]" (what the CLI
 * sends; a leading '-' is allowed) or RFC3339 with optional fraction and
 * "Z" or "+hh:mm". "" gives 0 (no bound). Returns 0 or -EINVAL. */
int logread_parse_time(const char *s, int64_t *ret_ns);

/* tail as moby reads it: a number N >= 0, anything else ("all", "", -1,
 * junk) means all (-1). */
int64_t logread_parse_tail(const char *s);

/* 400 "You must choose at least one stream" when neither stream is asked. */
int logread_check_opts(const struct logread_opts *o, struct berr *err);

struct logread;

/* A chunk of formatted output; data is malloc'd and now the consumer's
 * (free() it once written). No further chunk comes until logread_next(). */
typedef void (*logread_chunk_fn)(void *ud, char *data, size_t len);

/* The end: status 0, or a negative errno when reading failed. Called exactly
 * once unless logread_cancel() came first; possibly right after the last
 * chunk, while the consumer is still writing it. The reader is freed when
 * it returns: do not call logread_next/cancel on it any more. */
typedef void (*logread_end_fn)(void *ud, int status);

/* Starts reading the log at path (files that do not exist read as empty).
 * writer: the container's live writer, or NULL when it is not running (a
 * follow then ends at EOF); it must stay valid until it sends LOGW_EV_CLOSED,
 * which the reader handles itself. The first chunk is produced without a
 * logread_next(). Callbacks come only from the loop, never from inside
 * logread_start/next/cancel. Returns NULL when out of memory (no callbacks). */
struct logread *logread_start(uv_loop_t *loop, const struct logread_opts *opts, const char *path,
                              struct logw *writer, logread_chunk_fn on_chunk, logread_end_fn on_end,
                              void *ud);

/* The consumer has taken the last chunk (written it, or queued it below its
 * own watermark): produce the next one. May be called inside on_chunk. */
void logread_next(struct logread *r);

/* The consumer is gone: no callback runs any more; memory is released once
 * a job in flight returns. May be called inside on_chunk, not after on_end. */
void logread_cancel(struct logread *r);

/* ---- internal (logread_scan.c), exposed for the tests ---- */

struct logread__entry {
    int stream;     /* 1 stdout, 2 stderr, 0 other */
    int64_t ts;     /* ns; 0 when absent or not parsed */
    size_t log_len; /* unescaped "log" bytes written at dst */
    bool has_log;
};

/* Parses one json-file line (without its '\n'); the unescaped "log" text
 * goes to dst, which has room for n bytes. want_time: parse "time" too.
 * Fast path for the writer's key order, slower path for any other object.
 * Returns 0 or -EINVAL for a malformed line. */
int logread__parse_line(const char *p, size_t n, char *dst, bool want_time,
                        struct logread__entry *e);

/* RFC3339 with optional fraction (up to 9 digits used) and Z or offset. */
int logread__parse_rfc3339(const char *s, size_t n, int64_t *ret_ns);

#define LOGREAD__TS_LEN 30 /* "2006-01-02T15:04:05.000000000Z" */

struct logread__tscache {
    int64_t sec;
    bool valid;
    char base[20]; /* "YYYY-MM-DDTHH:MM:SS" */
};

/* Docker's RFC3339NanoFixed in UTC: always LOGREAD__TS_LEN bytes. */
void logread__format_fixed(char *out, int64_t ns, struct logread__tscache *tc);

/* ---- internal (logread_io.c): the pool thread's side of a reader ---- */

struct job;

struct logread__file {
    int fd;        /* -1 once passed */
    int64_t limit; /* bytes known complete (the live file), -1: read to EOF */
};

/* Owned by the job while one runs, by the loop otherwise. */
struct logread__cursor {
    const struct logread_opts *o;
    const char *path;
    struct logread__file *files; /* oldest first */
    int nfiles;
    int cur;
    int64_t off; /* next byte of files[cur] to read */
    char *ibuf;  /* bytes read, not yet consumed: [ipos, ilen) */
    size_t icap, ipos, ilen, scan;
    bool skip_line; /* inside a line too long to keep: drop up to its '\n' */
    bool opened, positioned;
    char *out; /* chunk being assembled, handed to the consumer */
    size_t olen, ocap;
    bool caught_up; /* every file read up to its limit / EOF */
    bool until_hit;
    struct logread__tscache tc;
};

/* Opens x.log.N ... x.log.1 and x.log by name (no writer running). */
int logread__open_names(struct logread__cursor *c);
/* Positions the cursor at the start of the last n lines of all the files. */
int logread__seek_tail(struct logread__cursor *c, int64_t n);
/* Reads and formats until a chunk is full, the files are exhausted, or a
 * bounded amount of input was skipped; honours job_should_stop(). */
int logread__fill_chunk(struct logread__cursor *c, struct job *job);
/* Appends a file: on success the cursor owns fd; on failure (-ENOMEM) the
 * caller still does, and closes it (off the loop when on the loop). */
int logread__add_file(struct logread__cursor *c, int fd, int64_t limit);
/* Forgets files already passed, so a long follow does not grow the array. */
void logread__compact(struct logread__cursor *c);
/* Frees the cursor; fds still open are closed right here, so a caller on
 * the loop first hands them to logfile__close_later(). */
void logread__cursor_done(struct logread__cursor *c);

#endif
