/* Streaming a container's files as a tar; see containers_tar.h.
 *
 * Jobs, one at a time: OPEN (the view, the path and its stat, the
 * archive's start), FILL (the next chunk) until the end, then CLEANUP (the
 * archive and the view's fds: closing the last one dissolves the view's
 * mounts), after which the loop gives the container back. */
#include "containers_tar.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/job.h"
#include "common/jsonutil.h"
#include "common/macros.h"
#include "common/timeutil.h"
#include "containers.h"
#include "runtime/ctr_fs.h"
#include "storage/path_archive.h"
#include "storage/path_resolve.h"

#define CHUNK      (256 * 1024)
#define HIGH_WATER (1024 * 1024) /* queued to the client: stop making more above */

enum tar_phase { TAR_OPEN, TAR_FILL, TAR_CLEANUP };

struct ctr_tar {
    struct srv_req *req; /* NULL once the request has ended */
    struct engine *e;
    enum ctr_tar_kind kind;
    char *path; /* as asked (STAT, PATH) */
    char *name; /* the container as the request named it */
    struct ctr_fs fs;
    int rootfd;
    struct path_archive *pa;
    struct path_stat st;
    struct job job;
    enum tar_phase phase;
    bool busy, streaming, draining, more;
    struct buf chunk;
};

static void job_done_cb(struct job *job);

static void start_job(struct ctr_tar *t, enum tar_phase phase, job_run_fn run)
{
    t->phase = phase;
    t->busy = true;
    job_init(&t->job, run, job_done_cb);
    (void)job_queue(t->e->loop, &t->job); /* fails only for a NULL callback */
}

/* ---- worker ---- */

/* moby's containerFileNotFound, for a path that does not resolve. */
static int not_found(struct ctr_tar *t, int r, struct berr *err)
{
    if (r == -ENOENT)
        return berr_set(err, 404, ENOENT, "Could not find the file %s in container %s", t->path,
                        t->name);
    char why[128];
    snprintf(why, sizeof(why), "%s", strerror(-r));
    why[0] = (char)tolower((unsigned char)why[0]); /* Go's wording: "not a directory" */
    return berr_set(err, r == -ENAMETOOLONG || r == -ELOOP ? 400 : 500, -r, "stat %s: %s", t->path,
                    why);
}

static int open_path(struct ctr_tar *t, struct berr *err)
{
    struct path_target pt;
    int r = path_target_open(t->rootfd, t->path, &pt);
    if (r == 0)
        r = path_target_stat(t->rootfd, &pt, &t->st);
    if (r < 0) {
        path_target_close(&pt);
        return not_found(t, r, err);
    }
    if (t->kind == CTR_TAR_PATH) {
        /* Named as moby's TarResourceRebase names it: the last element as
         * asked: "/" for the root, "." for "dir/." ("./", "./x"...). */
        struct path_archive_src src = {.dirfd = pt.dirfd, .base = pt.base, .top = pt.name};
        r = path_archive_open(&src, &t->pa, err);
    }
    path_target_close(&pt);
    return r;
}

/* Closing the view's last fd dissolves its mounts. Done by the job that
 * ends the work, before the client hears the end: a start or rm it sends
 * next must not find the view still there. */
static void close_view(struct ctr_tar *t)
{
    path_archive_free(t->pa);
    t->pa = NULL;
    if (t->rootfd >= 0)
        close(t->rootfd);
    t->rootfd = -1;
}

/* The next chunk; the view is closed after the last. */
static int fill(struct ctr_tar *t, struct job *job)
{
    buf_reset(&t->chunk);
    int r = path_archive_fill(t->pa, &t->chunk, CHUNK, &job->stop, &job->err);
    t->more = r > 0;
    if (!t->more)
        close_view(t);
    return r < 0 ? r : 0;
}

/* The first chunk is made here too, so that a resource gone since its stat
 * (or unreadable) is an HTTP error rather than an empty archive. */
static int open_run(struct job *job)
{
    struct ctr_tar *t = container_of(job, struct ctr_tar, job);
    int r = ctr_fs_open_sync(&t->fs, &t->rootfd, &job->err) < 0 ? -EIO : 0;
    struct path_archive_src src = {.dirfd = t->rootfd, .base = "", .top = NULL};
    if (r == 0)
        r = t->kind != CTR_TAR_EXPORT ? open_path(t, &job->err)
                                      : path_archive_open(&src, &t->pa, &job->err);
    if (r < 0 || t->kind == CTR_TAR_STAT) {
        close_view(t);
        return r;
    }
    return fill(t, job);
}

static int fill_run(struct job *job)
{
    return fill(container_of(job, struct ctr_tar, job), job);
}

static int cleanup_run(struct job *job)
{
    close_view(container_of(job, struct ctr_tar, job));
    return 0;
}

/* ---- loop ---- */

static void tar_free(struct ctr_tar *t)
{
    ctr_fs_release(&t->fs);
    buf_done(&t->chunk);
    free(t->path);
    free(t->name);
    free(t);
}

/* Once the last job has closed the view, the container is given back
 * before the client hears the end; a stream cut short (the client left)
 * has a cleanup job close it. */
static void finish(struct ctr_tar *t)
{
    struct srv_req *req = t->req;
    req->on_abort = req->on_drain = NULL;
    t->req = NULL;
    if (t->rootfd >= 0 || t->pa) {
        srv_stream_end(req);
        start_job(t, TAR_CLEANUP, cleanup_run);
        return;
    }
    ctr_fs_release(&t->fs);
    srv_stream_end(req);
    tar_free(t);
}

static void next_chunk(struct ctr_tar *t)
{
    if (srv_req_queued(t->req) > HIGH_WATER) {
        t->draining = true; /* on_drain resumes */
        return;
    }
    start_job(t, TAR_FILL, fill_run);
}

static void on_drain(struct srv_req *req)
{
    struct ctr_tar *t = req->data;
    if (!t->draining)
        return;
    t->draining = false;
    next_chunk(t);
}

/* A failure after the first byte: the tar is cut short, which clients
 * report as an unexpected end of the archive, as with moby's. */
static void fill_done(struct ctr_tar *t, struct job *job)
{
    if (job->result < 0 ||
        (t->chunk.len && srv_stream_write(t->req, t->chunk.data, t->chunk.len) < 0) || !t->more) {
        finish(t);
        return;
    }
    next_chunk(t);
}

/* X-Docker-Container-Path-Stat: base64 of moby's ContainerPathStat JSON. */
static int add_stat_header(struct ctr_tar *t)
{
    char mtime[TIME_RFC3339_MAX];
    time_format_rfc3339nano(t->st.mtime_ns, mtime);
    cJSON *j = cJSON_CreateObject();
    char *text = NULL;
    struct buf b64 = BUF_INIT;
    if (j && cJSON_AddStringToObject(j, "name", t->st.name) &&
        json_add_int64(j, "size", t->st.size) && json_add_int64(j, "mode", t->st.mode) &&
        cJSON_AddStringToObject(j, "mtime", mtime) &&
        cJSON_AddStringToObject(j, "linkTarget", t->st.link_target))
        text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int r = text && base64_encode(text, strlen(text), &b64) == 0 && b64.data
                ? srv_add_header(t->req, "X-Docker-Container-Path-Stat", b64.data)
                : -ENOMEM;
    free(text);
    buf_done(&b64);
    return r;
}

static void open_done(struct ctr_tar *t, struct job *job)
{
    struct srv_req *req = t->req;
    struct berr oom = {500, "out of memory"};
    const struct berr *err = job->result < 0 ? &job->err : NULL;
    if (!err && t->kind != CTR_TAR_EXPORT && add_stat_header(t) < 0)
        err = &oom;
    if (err || t->kind == CTR_TAR_STAT) {
        req->on_abort = NULL;
        t->req = NULL;
        if (err)
            srv_reply_berr(req, err);
        else
            srv_reply_empty(req, 200);
        if (t->rootfd >= 0 || t->pa) { /* still open: a stream that failed to start */
            start_job(t, TAR_CLEANUP, cleanup_run);
            return;
        }
        ctr_fs_release(&t->fs);
        tar_free(t);
        return;
    }
    if (!t->fs.c->removed)
        rt_event(&t->e->rt, t->fs.c, t->kind == CTR_TAR_EXPORT ? "export" : "archive-path", NULL);
    srv_stream_begin(req, 200, "application/x-tar");
    t->streaming = true;
    req->on_drain = on_drain;
    fill_done(t, job); /* the first chunk */
}

static void job_done_cb(struct job *job)
{
    struct ctr_tar *t = container_of(job, struct ctr_tar, job);
    t->busy = false;
    if (t->phase == TAR_CLEANUP) {
        tar_free(t);
        return;
    }
    if (!t->req) { /* the client left while the job ran */
        start_job(t, TAR_CLEANUP, cleanup_run);
        return;
    }
    if (t->phase == TAR_OPEN)
        open_done(t, job);
    else
        fill_done(t, job);
}

/* The client left (or the daemon stops): end the request now; the job in
 * flight, or the cleanup, releases the rest. */
static void on_abort(struct srv_req *req)
{
    struct ctr_tar *t = req->data;
    req->on_abort = req->on_drain = NULL;
    t->req = NULL;
    if (t->streaming)
        srv_stream_end(req);
    else
        srv_reply_error(req, 500, "client gone");
    if (t->busy)
        job_cancel(&t->job);
    else
        start_job(t, TAR_CLEANUP, cleanup_run);
}

void ctr_tar_start(struct srv_req *req, enum ctr_tar_kind kind, const char *path)
{
    struct engine *e = srv_req_ctx(req);
    struct container *c = ctr_from_req(req);
    if (!c)
        return;
    struct ctr_tar *t = calloc(1, sizeof(*t));
    struct berr err = {0};
    if (!t || !(t->name = strdup(req->params[0])) || (path && !(t->path = strdup(path)))) {
        if (t)
            free(t->name);
        free(t);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    t->e = e;
    t->kind = kind;
    t->rootfd = -1;
    if (ctr_fs_prepare(&e->rt, c, kind != CTR_TAR_EXPORT, &t->fs, &err) < 0) {
        tar_free(t);
        srv_reply_berr(req, &err);
        return;
    }
    t->req = req;
    req->data = t;
    req->on_abort = on_abort;
    start_job(t, TAR_OPEN, open_run);
}
