#include "body_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/job.h"
#include "common/macros.h"

#define FILL_LIMIT (1024 * 1024)

struct bf_job {
    struct job job;
    struct body_file *bf;
    struct buf data;
    bool final;
};

struct body_file {
    struct srv_req *req;
    char path[4096];
    uint64_t max_size, received;
    int fd;
    struct sha256 hash;
    struct buf fill;
    bool busy, paused, ended, cancelled, failed;
    bool cleaning; /* the cleanup job is queued: it alone frees bf */
    body_file_fn done;
    void *ud;
    struct body_file_result res;
    struct berr err;
    /* At most one of each is in flight, so they live here: no allocation
     * can fail between a failure and its report. */
    struct bf_job write;
    struct bf_job cleanup;
};

static int bf_run(struct job *job)
{
    struct bf_job *j = container_of(job, struct bf_job, job);
    struct body_file *bf = j->bf;
    if (bf->fd < 0) {
        bf->fd = open(bf->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (bf->fd < 0)
            return berr_errno(&job->err, 500, errno, "create '%s'", bf->path);
    }
    int r = fd_write_all(bf->fd, j->data.data, j->data.len);
    if (r < 0)
        return berr_errno(&job->err, 500, -r, "write '%s'", bf->path);
    if (j->data.len) /* the last buffer may be empty (and NULL) */
        sha256_update(&bf->hash, j->data.data, j->data.len);
    if (j->final) {
        sha256_final(&bf->hash, bf->res.digest);
        r = close(bf->fd) < 0 ? -errno : 0;
        bf->fd = -1;
        if (r < 0)
            return berr_errno(&job->err, 500, -r, "close '%s'", bf->path);
    }
    return 0;
}

/* Worker-side teardown after a failure or a cancel. */
static int bf_cleanup_run(struct job *job)
{
    struct bf_job *j = container_of(job, struct bf_job, job);
    if (j->bf->fd >= 0)
        close(j->bf->fd);
    unlink(j->bf->path);
    return 0;
}

static void bf_free(struct body_file *bf)
{
    if (!bf->res.digest[0])
        sha256_done(&bf->hash);
    buf_done(&bf->fill);
    buf_done(&bf->write.data);
    free(bf);
}

/* The request goes back to the caller before done runs: req->data is its
 * context again, and what is left of the body is discarded by the server,
 * so neither on_abort nor a late chunk can reach the freed body_file. */
static void finish(struct body_file *bf, int result)
{
    struct srv_req *req = bf->req;
    if (req->data == bf)
        req->data = bf->ud;
    req->on_body = NULL;
    bf->done(bf, result, result < 0 ? &bf->err : NULL, bf->ud);
}

static void cleanup_done(struct job *job)
{
    struct body_file *bf = container_of(job, struct bf_job, job)->bf;
    if (!bf->cancelled)
        finish(bf, -EIO);
    bf_free(bf);
}

/* Once per body_file: a failure, a cancel or both may ask for it. It never
 * reports synchronously, so callers may keep using bf until they return. */
static void start_cleanup(struct body_file *bf)
{
    if (bf->cleaning)
        return;
    bf->cleaning = true;
    job_init(&bf->cleanup.job, bf_cleanup_run, cleanup_done);
    /* uv_queue_work fails only for a NULL callback. */
    (void)job_queue(uv_default_loop(), &bf->cleanup.job);
}

static void flush(struct body_file *bf);

static void bf_done(struct job *job)
{
    struct body_file *bf = container_of(job, struct bf_job, job)->bf;
    bool final = bf->write.final;
    bf->busy = false;
    if (job->result < 0 && !bf->failed) {
        bf->failed = true;
        bf->err = job->err;
    }
    buf_done(&bf->write.data);
    if (bf->failed || bf->cancelled) {
        if (bf->paused && !bf->cancelled) { /* the rest of the body is read and discarded */
            bf->paused = false;
            srv_req_resume_body(bf->req);
        }
        start_cleanup(bf);
        return;
    }
    if (final) {
        bf->res.size = bf->received;
        finish(bf, 0);
        bf_free(bf);
        return;
    }
    flush(bf);
}

/* Hands the buffer to a worker when none is busy; resumes a paused body. */
static void flush(struct body_file *bf)
{
    if (bf->busy || bf->cleaning)
        return;
    bool last = bf->ended;
    if (bf->fill.len >= FILL_LIMIT || last) {
        bf->write.data = bf->fill;
        bf->fill = (struct buf)BUF_INIT;
        bf->write.final = last;
        job_init(&bf->write.job, bf_run, bf_done);
        bf->busy = true;
        (void)job_queue(uv_default_loop(), &bf->write.job);
    }
    if (bf->paused && bf->fill.len < FILL_LIMIT && !bf->ended) {
        bf->paused = false;
        srv_req_resume_body(bf->req);
    }
}

static int fail(struct body_file *bf, int status, int code, const char *msg)
{
    bf->failed = true;
    berr_set(&bf->err, status, code, "%s", msg);
    if (!bf->busy) /* else bf_done cleans up */
        start_cleanup(bf);
    return SRV_BODY_CONTINUE;
}

static int on_body(struct srv_req *req, const char *data, size_t len)
{
    struct body_file *bf = req->data;
    if (bf->failed || bf->cancelled)
        return SRV_BODY_CONTINUE; /* discard; the failure is reported once */
    if (!data) {
        bf->ended = true;
        flush(bf);
        return SRV_BODY_CONTINUE;
    }
    if (bf->max_size && bf->received + len > bf->max_size) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request body larger than %llu bytes",
                 (unsigned long long)bf->max_size);
        return fail(bf, 413, EFBIG, msg);
    }
    if (buf_append(&bf->fill, data, len) < 0)
        return fail(bf, 500, ENOMEM, "out of memory");
    bf->received += len;
    flush(bf);
    if (bf->fill.len >= FILL_LIMIT) {
        bf->paused = true; /* the worker is behind: stop reading the client */
        return SRV_BODY_PAUSE;
    }
    return SRV_BODY_CONTINUE;
}

int body_file_start(struct srv_req *req, const char *path, uint64_t max_size, body_file_fn done,
                    void *ud, struct berr *err)
{
    struct body_file *bf = calloc(1, sizeof(*bf));
    if (!bf)
        return berr_set(err, 500, ENOMEM, "out of memory");
    bf->req = req;
    snprintf(bf->path, sizeof(bf->path), "%s", path);
    bf->max_size = max_size;
    bf->fd = -1;
    bf->done = done;
    bf->ud = ud;
    bf->write.bf = bf->cleanup.bf = bf;
    sha256_init(&bf->hash);
    req->data = bf;
    req->on_body = on_body;
    return 0;
}

void *body_file_ud(const struct body_file *bf)
{
    return bf->ud;
}

const struct body_file_result *body_file_result(const struct body_file *bf)
{
    return &bf->res;
}

void body_file_cancel(struct body_file *bf)
{
    bf->cancelled = true;
    if (!bf->busy) /* else bf_done sees the flag */
        start_cleanup(bf);
}
