/* One layer of a pull: download into tmp/ (written and hashed on workers,
 * one job at a time, while the next buffer fills), verify digest and size,
 * move into blobs/, extract on a worker, check the diff ID, commit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/macros.h"
#include "fs_copy.h"
#include "fsutil.h"
#include "pull_internal.h"

#define FILL_LIMIT    (1024 * 1024) /* hand a buffer to a worker at this size */
#define EMIT_EVERY_MS 100

/* ---- the sink's write jobs ---- */

struct write_job {
    struct job job;
    struct pull_layer *pl;
    struct buf data;
    bool final;
    char digest[DIGEST_STR_MAX];
};

static int open_tmp(struct pull_layer *pl, struct berr *err)
{
    if (pl->fd >= 0)
        return 0;
    pl->fd = open(pl->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return pl->fd < 0 ? berr_errno(err, 500, errno, "create '%s'", pl->tmp_path) : 0;
}

/* The last job checks what arrived against the descriptor, then publishes
 * the blob by rename: blobs/ never holds a partial or wrong file. */
static int finish_blob(struct write_job *wj)
{
    struct pull_layer *pl = wj->pl;
    struct berr *err = &wj->job.err;
    sha256_final(&pl->hash, wj->digest);
    if (fsync(pl->fd) < 0)
        return berr_errno(err, 500, errno, "sync '%s'", pl->tmp_path);
    close(pl->fd);
    pl->fd = -1;
    if (pl->received != (uint64_t)pl->desc.size)
        return berr_set(err, 500, EBADMSG,
                        "failed to register layer: blob %s is %llu bytes, manifest says %lld",
                        pl->desc.digest, (unsigned long long)pl->received,
                        (long long)pl->desc.size);
    if (strcmp(wj->digest, pl->desc.digest) != 0)
        return berr_set(err, 500, EBADMSG, "filesystem layer verification failed for digest %s",
                        pl->desc.digest);
    if (rename(pl->tmp_path, pl->blob_path) < 0)
        return berr_errno(err, 500, errno, "store blob %s", pl->desc.digest);
    char dir[PULL_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", pl->blob_path);
    *strrchr(dir, '/') = '\0';
    return fs_fsync_dir(dir) < 0 ? berr_errno(err, 500, errno, "sync '%s'", dir) : 0;
}

static int write_run(struct job *job)
{
    struct write_job *wj = container_of(job, struct write_job, job);
    struct pull_layer *pl = wj->pl;
    int r = open_tmp(pl, &job->err);
    if (r == 0 && wj->data.len) {
        r = fd_write_all(pl->fd, wj->data.data, wj->data.len);
        if (r < 0)
            berr_errno(&job->err, 500, -r, "write '%s'", pl->tmp_path);
        else
            sha256_update(&pl->hash, wj->data.data, wj->data.len);
    }
    if (r == 0 && wj->final)
        r = finish_blob(wj);
    if (r < 0 && pl->fd >= 0) {
        close(pl->fd);
        pl->fd = -1;
    }
    if (r < 0)
        unlink(pl->tmp_path);
    return r;
}

static void flush_fill(struct pull_layer *pl, bool final);

static void write_done(struct job *job)
{
    struct write_job *wj = container_of(job, struct write_job, job);
    struct pull_layer *pl = wj->pl;
    struct pull *p = pl->p;
    pl->write_busy = false;
    if (job->result < 0 || job->cancelled) {
        if (!job->cancelled)
            pull_fail(p, job->result, &job->err);
    } else if (wj->final) {
        pl->downloaded = true;
        p->downloading--;
        pull_emit_layer(pl, PULL_LAYER_DOWNLOADED);
        pull_layers_progress(p);
    } else if (!p->finished) {
        flush_fill(pl, false);
    }
    buf_done(&wj->data);
    free(wj);
    pull_unref(p);
}

/* Hands the filled buffer to a worker when none is busy; resumes the
 * download once the buffer has room again. */
static void flush_fill(struct pull_layer *pl, bool final)
{
    struct pull *p = pl->p;
    if (pl->write_busy || p->finished)
        return;
    bool last = final || (pl->req_finished && !pl->failed);
    if (pl->fill.len < FILL_LIMIT && !last)
        goto resume;
    struct write_job *wj = calloc(1, sizeof(*wj));
    if (!wj) {
        struct berr e = {0};
        berr_set(&e, 500, ENOMEM, "out of memory");
        pull_fail(p, -ENOMEM, &e);
        return;
    }
    wj->pl = pl;
    wj->data = pl->fill;
    pl->fill = (struct buf)BUF_INIT;
    wj->final = last;
    job_init(&wj->job, write_run, write_done);
    pull_ref(p);
    pl->write_busy = true;
    job_queue(p->ctx->loop, &wj->job);
resume:
    if (pl->paused && pl->req && pl->fill.len < FILL_LIMIT) {
        pl->paused = false;
        reg_req_resume(pl->req);
    }
}

/* ---- the download request ---- */

static void emit_progress(struct pull_layer *pl, bool force)
{
    uint64_t now = uv_now(pl->p->ctx->loop);
    if (!force && now - pl->last_emit_ms < EMIT_EVERY_MS)
        return;
    pl->last_emit_ms = now;
    pl->current = (int64_t)pl->received;
    pl->total = pl->desc.size;
    pull_emit_layer(pl, PULL_LAYER_DOWNLOADING);
}

static int dl_data(struct reg_req *q, const char *d, size_t n, void *ud)
{
    struct pull_layer *pl = ud;
    (void)q;
    if (pl->received + n > (uint64_t)pl->desc.size)
        return -1; /* more than the manifest promised: stop at once */
    buf_append(&pl->fill, d, n);
    pl->received += n;
    emit_progress(pl, false);
    if (pl->fill.len >= FILL_LIMIT) {
        flush_fill(pl, false);
        if (pl->fill.len >= FILL_LIMIT) { /* the worker is still busy: wait */
            pl->paused = true;
            return HTTPC_PAUSE;
        }
    }
    return HTTPC_CONTINUE;
}

static void dl_done(struct reg_req *q, int result, const struct berr *err, void *ud)
{
    struct pull_layer *pl = ud;
    struct pull *p = pl->p;
    (void)q;
    pl->req = NULL;
    pl->req_finished = true;
    if (result < 0) {
        pl->failed = true;
        if (result != -ECANCELED)
            pull_fail(p, result, err);
    } else if (!p->finished) {
        emit_progress(pl, true);
        pull_emit_layer(pl, PULL_LAYER_VERIFYING);
        flush_fill(pl, true);
    }
    pull_unref(p);
}

static const struct reg_cbs dl_cbs = {NULL, dl_data, dl_done};

void pull_layer_download(struct pull_layer *pl)
{
    struct pull *p = pl->p;
    char path[REF_PATH_MAX + DIGEST_STR_MAX + 32];
    snprintf(path, sizeof(path), "/v2/%s/blobs/%s", ref_repository(&p->ref), pl->desc.digest);
    store_blob_path(p->ctx->store, pl->desc.digest, pl->blob_path, sizeof(pl->blob_path));
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "blob-%.12s", digest_hex(pl->desc.digest));
    store_tmp_path(p->ctx->store, prefix, pl->tmp_path, sizeof(pl->tmp_path));
    sha256_init(&pl->hash);
    pl->fd = -1;
    p->downloading++;
    pull_ref(p);
    struct berr err = {0};
    if (registry_request(p->reg, "GET", path, NULL, NULL, 0, 0, &dl_cbs, pl, &pl->req, &err) < 0) {
        pull_unref(p);
        pull_fail(p, -EIO, &err);
        return;
    }
    pl->current = 0;
    pl->total = pl->desc.size;
    emit_progress(pl, true);
}

/* ---- extraction ---- */

struct extract_job {
    struct job job;
    struct pull_layer *pl;
    const struct store *store;
    enum whiteout_mode mode;
    char tmp_dir[PULL_PATH_MAX];
    struct extract_result res;
    struct layer layer;
};

static int extract_into(struct extract_job *ej, const char *diff)
{
    struct pull_layer *pl = ej->pl;
    if (ej->mode == WHITEOUT_VFS && pl->parent_chain[0]) {
        char parent[PULL_PATH_MAX];
        store_layer_diff_dir(ej->store, pl->parent_chain, parent, sizeof(parent));
        int r = fs_copy_tree(parent, diff, &ej->job.err); /* vfs: each layer is a full root */
        if (r < 0)
            return r;
    }
    struct extract_opts o = {
        .whiteouts = ej->mode,
        .compression = layer_compression(pl->desc.media_type),
        .stop = &pl->stop,
        .progress_bytes = &pl->extract_bytes,
    };
    return layer_extract(pl->blob_path, diff, &o, &ej->res, &ej->job.err);
}

static int extract_run(struct job *job)
{
    struct extract_job *ej = container_of(job, struct extract_job, job);
    struct pull_layer *pl = ej->pl;
    char diff[PULL_PATH_MAX + 8];
    snprintf(diff, sizeof(diff), "%s/diff", ej->tmp_dir);
    int r = mkdir_p(diff, 0755) < 0 ? berr_errno(&job->err, 500, errno, "create '%s'", diff) : 0;
    if (r == 0)
        r = extract_into(ej, diff);
    if (r == 0 && strcmp(ej->res.diff_id, pl->diff_id) != 0)
        r = berr_set(&job->err, 500, EBADMSG,
                     "layer %s: diff ID mismatch: the image config says %s, the layer is %s",
                     pl->desc.digest, pl->diff_id, ej->res.diff_id);
    if (r == 0) {
        struct layer *l = &ej->layer;
        snprintf(l->chain_id, sizeof(l->chain_id), "%s", pl->chain_id);
        snprintf(l->diff_id, sizeof(l->diff_id), "%s", pl->diff_id);
        snprintf(l->parent, sizeof(l->parent), "%s", pl->parent_chain);
        snprintf(l->blob_digest, sizeof(l->blob_digest), "%s", pl->desc.digest);
        snprintf(l->media_type, sizeof(l->media_type), "%s", pl->desc.media_type);
        l->blob_size = pl->desc.size;
        l->size = (int64_t)ej->res.content_size;
        r = store_layer_commit_sync(ej->store, ej->tmp_dir, l, &job->err);
    }
    if (r < 0)
        fs_rm_rf(ej->tmp_dir);
    return r;
}

static void extract_done(struct job *job)
{
    struct extract_job *ej = container_of(job, struct extract_job, job);
    struct pull_layer *pl = ej->pl;
    struct pull *p = pl->p;
    p->extracting = false;
    if (job->result < 0 || job->cancelled) {
        if (!job->cancelled)
            pull_fail(p, job->result, &job->err);
    } else if (store_layer_insert(p->ctx->store, &ej->layer) < 0) {
        struct berr e = {0};
        berr_set(&e, 500, ENOMEM, "out of memory");
        pull_fail(p, -ENOMEM, &e);
    } else {
        pl->done = true;
        pl->current = pl->total = pl->desc.size;
        pull_emit_layer(pl, PULL_LAYER_COMPLETE);
        p->next_extract++;
        pull_layers_progress(p);
    }
    free(ej);
    pull_unref(p);
}

void pull_layer_extract(struct pull_layer *pl)
{
    struct pull *p = pl->p;
    struct extract_job *ej = calloc(1, sizeof(*ej));
    if (!ej) {
        struct berr e = {0};
        berr_set(&e, 500, ENOMEM, "out of memory");
        pull_fail(p, -ENOMEM, &e);
        return;
    }
    ej->pl = pl;
    ej->store = p->ctx->store;
    ej->mode = p->ctx->store->driver == STORE_VFS ? WHITEOUT_VFS : WHITEOUT_OVERLAY;
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "layer-%.12s", digest_hex(pl->chain_id));
    store_tmp_path(p->ctx->store, prefix, ej->tmp_dir, sizeof(ej->tmp_dir));
    atomic_store(&pl->extract_bytes, 0);
    p->extracting = true;
    pl->current = 0;
    pl->total = pl->desc.size;
    pull_emit_layer(pl, PULL_LAYER_EXTRACTING);
    job_init(&ej->job, extract_run, extract_done);
    pull_ref(p);
    if (job_queue(p->ctx->loop, &ej->job) < 0) {
        p->extracting = false;
        free(ej);
        pull_unref(p);
        struct berr e = {0};
        berr_set(&e, 500, EIO, "cannot queue work");
        pull_fail(p, -EIO, &e);
    }
}

/* ---- teardown ---- */

void pull_layer_cancel(struct pull_layer *pl)
{
    atomic_store(&pl->stop, true);
    if (pl->req) {
        pl->failed = true;
        reg_req_cancel(pl->req);
    }
}

/* A cancelled download leaves an open, partial temp file: a detached job
 * closes and removes it, so the loop never blocks on the unlink. */
struct cleanup_job {
    struct job job;
    int fd;
    char path[PULL_PATH_MAX];
};

static int cleanup_run(struct job *job)
{
    struct cleanup_job *cj = container_of(job, struct cleanup_job, job);
    close(cj->fd);
    unlink(cj->path);
    return 0;
}

static void cleanup_done(struct job *job)
{
    free(container_of(job, struct cleanup_job, job));
}

void pull_layer_release(struct pull_layer *pl)
{
    buf_done(&pl->fill);
    if (pl->fd < 0)
        return;
    struct cleanup_job *cj = calloc(1, sizeof(*cj));
    if (!cj)
        return; /* the file goes with the next start's sweep of tmp/ */
    cj->fd = pl->fd;
    snprintf(cj->path, sizeof(cj->path), "%s", pl->tmp_path);
    pl->fd = -1;
    job_init(&cj->job, cleanup_run, cleanup_done);
    if (job_queue(pl->p->ctx->loop, &cj->job) < 0)
        free(cj);
}
