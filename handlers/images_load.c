/* POST /images/load?quiet=: moby's postImagesLoad (graphdriver store).
 *
 * The body goes to a file below tmp/ (body_file), then workers split and
 * read it (image_archive_read), extract every layer the store lacks into
 * tmp/, one at a time, each checked against its diff ID, and only when all
 * of them are good commit the layers and write the image configs, so a bad
 * archive registers nothing. The loop then inserts, tags, reports and
 * publishes a `load` event per image.
 *
 * Output: {"stream":"Loaded image: busybox:latest\n"} per tag ("Loaded image
 * ID: sha256:..." for an untagged image); with quiet=0 also a "Loading layer"
 * progress bar per extracted layer. quiet defaults to true, as moby's
 * BoolValueOrDefault. Errors before the first byte are plain HTTP errors,
 * after it in-band. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body_file.h"
#include "common/job.h"
#include "common/macros.h"
#include "common/timeutil.h"
#include "engine.h"
#include "images.h"
#include "images_json.h"
#include "progress.h"
#include "storage/fsutil.h"
#include "storage/image_archive.h"

#define PROGRESS_EVERY_MS 100

enum load_phase { LOAD_BODY, LOAD_SCAN, LOAD_STAGE, LOAD_COMMIT, LOAD_CLEANUP };

struct load_req {
    struct srv_req *req; /* NULL once the request has ended */
    struct engine *e;
    struct store *s;
    bool quiet, streaming, failed;
    int refs; /* the cleanup job and the timer's close */
    char body[IA_PATH_MAX];
    char work_dir[IA_PATH_MAX + 8];
    struct load_plan plan;
    struct staged_layer *staged; /* per plan layer; dir[0] once staged */
    size_t next;                 /* next plan layer to look at */
    size_t committed;            /* staged layers now in layers/ */
    size_t written;              /* images whose config and record are on disk */
    struct job job;              /* one at a time, per phase */
    enum load_phase phase;
    bool busy;
    /* the layer being staged */
    struct stage_opts stage;
    char parent_dir[IA_PATH_MAX + 8];
    char short_id[16];
    _Atomic uint64_t progress;
    uv_timer_t timer;
    bool timer_open;
};

static void job_done_cb(struct job *job);

static void start_job(struct load_req *lr, enum load_phase phase, job_run_fn run)
{
    lr->phase = phase;
    lr->busy = true;
    job_init(&lr->job, run, job_done_cb);
    (void)job_queue(lr->e->loop, &lr->job); /* fails only for a NULL callback */
}

/* ---- output ---- */

static void emit(struct load_req *lr, cJSON *j)
{
    if (lr->req && j) {
        if (!lr->streaming) {
            lr->streaming = true;
            srv_stream_begin(lr->req, 200, "application/json");
        }
        srv_stream_write_json(lr->req, j);
    }
    cJSON_Delete(j);
}

static void emit_text(struct load_req *lr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One {"stream": text} line, as moby's stdout writer frames it. */
static void emit_text(struct load_req *lr, const char *fmt, ...)
{
    char text[2 * REF_STRING_MAX + 96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    emit(lr, progress_stream(text));
}

static void emit_progress(struct load_req *lr, uint64_t current)
{
    if (!lr->quiet)
        emit(lr,
             progress_detail("Loading layer", lr->short_id, (int64_t)current, lr->stage.src_size));
}

/* ---- teardown ---- */

static void lr_unref(struct load_req *lr)
{
    if (--lr->refs > 0)
        return;
    load_plan_done(&lr->plan);
    free(lr->staged);
    free(lr);
}

static void timer_closed(uv_handle_t *h)
{
    lr_unref(h->data);
}

static int cleanup_run(struct job *job)
{
    struct load_req *lr = container_of(job, struct load_req, job);
    for (size_t i = 0; lr->failed && lr->staged && i < lr->plan.nlayers; i++)
        if (i >= lr->committed)
            image_archive_discard_layer(&lr->staged[i]);
    (void)fs_rm_rf(lr->work_dir);
    (void)unlink(lr->body);
    return 0;
}

/* Ends the request if it is still ours, then removes what is in tmp/. */
static void finish(struct load_req *lr, const struct berr *err)
{
    if (lr->req) {
        lr->req->on_abort = NULL;
        if (err && !lr->streaming) {
            srv_reply_berr(lr->req, err);
        } else {
            if (err)
                emit(lr, progress_error(err->msg));
            if (!lr->streaming)
                srv_stream_begin(lr->req, 200, "application/json");
            srv_stream_end(lr->req);
        }
        lr->req = NULL;
    }
    lr->failed = lr->failed || err;
    if (lr->timer_open) {
        lr->refs++;
        lr->timer_open = false;
        uv_close((uv_handle_t *)&lr->timer, timer_closed);
    }
    start_job(lr, LOAD_CLEANUP, cleanup_run);
}

/* ---- registering (loop) ---- */

static void announce_tag(struct load_req *lr, struct image *img, const char *full)
{
    struct store *s = lr->s;
    struct image_ref ref;
    struct berr err = {0};
    char fam[REF_STRING_MAX];
    if (ref_parse(full, &ref, &err) < 0)
        return; /* checked when the archive was read */
    ref_familiar_string(&ref, fam, sizeof(fam));
    struct image *prev = map_get(&s->refs, full);
    if (prev && prev != img)
        emit_text(lr,
                  "The image %s already exists, renaming the old one with ID %s to empty "
                  "string\n",
                  fam, prev->id);
    if (store_tag(s, img, &ref, &err) == 0)
        emit_text(lr, "Loaded image: %s\n", fam);
}

static int register_image(struct load_req *lr, struct load_image *li, struct berr *err)
{
    struct image_config c;
    struct image *img;
    int r = image_config_parse(li->config, li->config_len, &c, err);
    if (r == 0 && (r = store_image_insert(lr->s, &c, li->id, &img, err)) < 0)
        image_config_done(&c);
    if (r < 0)
        return r;
    for (size_t i = 0; i < li->refs.n; i++)
        announce_tag(lr, img, li->refs.v[i]);
    if (li->refs.n == 0)
        emit_text(lr, "Loaded image ID: %s\n", img->id);
    images_event(lr->e, "load", img->id, img, img->id);
    return 0;
}

static void refs_saved(void *ud, int result, const struct berr *err)
{
    struct load_req *lr = ud;
    finish(lr, result < 0 ? err : NULL);
}

/* What the commit job put on disk enters the tables, whether or not the
 * client is still there: the store must match its directory. */
static void commit_done(struct load_req *lr, struct job *job)
{
    struct berr err = job->err;
    int r = job->result;
    for (size_t i = 0; i < lr->committed; i++)
        if (lr->staged[i].dir[0] && store_layer_insert(lr->s, &lr->staged[i].layer) < 0 && r == 0)
            r = berr_set(&err, 500, ENOMEM, "out of memory");
    for (size_t i = 0; i < lr->written; i++) {
        struct berr e = {0};
        if (register_image(lr, &lr->plan.images[i], &e) < 0 && r == 0) {
            r = -EIO;
            err = e;
        }
    }
    if (r < 0) {
        finish(lr, &err);
        return;
    }
    store_refs_saved(lr->s, refs_saved, lr); /* success only once the tags are on disk */
}

/* ---- committing (worker) ---- */

static int commit_run(struct job *job)
{
    struct load_req *lr = container_of(job, struct load_req, job);
    const struct load_plan *p = &lr->plan;
    for (; lr->committed < p->nlayers; lr->committed++) {
        const struct staged_layer *sl = &lr->staged[lr->committed];
        if (sl->dir[0] && image_archive_commit_layer(lr->s, sl, &job->err) < 0)
            return -EIO;
    }
    for (; lr->written < p->nimages; lr->written++) {
        const struct load_image *li = &p->images[lr->written];
        struct image img = {.loaded_ns = time_now_ns()};
        snprintf(img.id, sizeof(img.id), "%s", li->id);
        int r = store_image_write_sync(lr->s, &img, li->config, li->config_len, &job->err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- staging, one layer at a time ---- */

static int stage_run(struct job *job)
{
    struct load_req *lr = container_of(job, struct load_req, job);
    return image_archive_stage_layer(lr->s, &lr->stage, &lr->staged[lr->next], &job->err);
}

static void tick(uv_timer_t *t)
{
    struct load_req *lr = t->data;
    if (lr->phase == LOAD_STAGE && lr->busy)
        emit_progress(lr, atomic_load(&lr->progress));
}

static size_t plan_index(const struct load_plan *p, const char *chain)
{
    for (size_t i = 0; i < p->nlayers; i++)
        if (strcmp(p->layers[i].chain_id, chain) == 0)
            return i;
    return SIZE_MAX;
}

/* vfs stacks by copy: the parent's tree is staged in this load or committed. */
static void parent_dir(struct load_req *lr, const struct load_layer *l)
{
    lr->parent_dir[0] = '\0';
    if (!l->parent[0])
        return;
    size_t k = plan_index(&lr->plan, l->parent);
    if (k != SIZE_MAX && lr->staged[k].dir[0])
        snprintf(lr->parent_dir, sizeof(lr->parent_dir), "%s/diff", lr->staged[k].dir);
    else
        store_layer_diff_dir(lr->s, l->parent, lr->parent_dir, sizeof(lr->parent_dir));
}

static void stage_layer(struct load_req *lr, const struct load_layer *l)
{
    parent_dir(lr, l);
    lr->stage = (struct stage_opts){
        .src = l->src,
        .src_digest = l->digest,
        .src_size = l->size,
        .media_type = l->media_type,
        .parent_chain = l->parent,
        .parent_dir = lr->parent_dir,
        .want_diff_id = l->diff_id,
        .stop = &lr->job.stop,
        .progress = &lr->progress,
    };
    snprintf(lr->short_id, sizeof(lr->short_id), "%.12s", digest_hex(l->diff_id));
    atomic_store(&lr->progress, 0);
    emit_progress(lr, 0);
    start_job(lr, LOAD_STAGE, stage_run); /* job_init keeps job.stop's address */
}

/* The next layer the store lacks, or the commit once all are staged. */
static void stage_next(struct load_req *lr)
{
    for (; lr->next < lr->plan.nlayers; lr->next++) {
        const struct load_layer *l = &lr->plan.layers[lr->next];
        if (!store_layer(lr->s, l->chain_id)) {
            stage_layer(lr, l);
            return;
        }
    }
    start_job(lr, LOAD_COMMIT, commit_run);
}

static void stage_done(struct load_req *lr, struct job *job)
{
    if (job->result < 0) {
        finish(lr, &job->err);
        return;
    }
    emit_progress(lr, (uint64_t)lr->stage.src_size);
    lr->next++;
    stage_next(lr);
}

/* ---- reading the archive ---- */

static int scan_run(struct job *job)
{
    struct load_req *lr = container_of(job, struct load_req, job);
    int r = image_archive_read(lr->body, lr->work_dir, &job->stop, &lr->plan, &job->err);
    (void)unlink(lr->body); /* split into work_dir, or useless */
    return r;
}

static void scan_done(struct load_req *lr, struct job *job)
{
    if (job->result < 0) {
        finish(lr, &job->err);
        return;
    }
    lr->staged = calloc(lr->plan.nlayers ? lr->plan.nlayers : 1, sizeof(*lr->staged));
    if (!lr->staged) {
        struct berr err;
        berr_set(&err, 500, ENOMEM, "out of memory");
        finish(lr, &err);
        return;
    }
    if (!lr->quiet && uv_timer_init(lr->e->loop, &lr->timer) == 0) {
        lr->timer.data = lr;
        lr->timer_open = true;
        uv_timer_start(&lr->timer, tick, PROGRESS_EVERY_MS, PROGRESS_EVERY_MS);
    }
    stage_next(lr);
}

static void job_done_cb(struct job *job)
{
    struct load_req *lr = container_of(job, struct load_req, job);
    lr->busy = false;
    if (lr->phase == LOAD_CLEANUP) {
        lr_unref(lr);
        return;
    }
    if (lr->phase == LOAD_COMMIT) {
        commit_done(lr, job);
        return;
    }
    if (!lr->req || job->cancelled) { /* the client left: drop what was staged */
        finish(lr, &job->err);
        return;
    }
    if (lr->phase == LOAD_SCAN)
        scan_done(lr, job);
    else
        stage_done(lr, job);
}

/* ---- the request ---- */

static void body_done(struct body_file *bf, int result, const struct berr *err, void *ud)
{
    struct load_req *lr = ud;
    (void)bf;
    if (result < 0) {
        lr->req->on_abort = NULL;
        srv_reply_berr(lr->req, err);
        free(lr); /* body_file removed the file */
        return;
    }
    start_job(lr, LOAD_SCAN, scan_run);
}

static void on_abort(struct srv_req *req)
{
    struct load_req *lr = req->on_body ? body_file_ud(req->data) : req->data;
    bool in_body = req->on_body != NULL;
    req->on_abort = NULL;
    if (in_body) {
        body_file_cancel(req->data);
        srv_reply_error(req, 500, "client gone");
        free(lr);
        return;
    }
    if (lr->streaming)
        srv_stream_end(req);
    else
        srv_reply_error(req, 500, "client gone");
    lr->req = NULL;
    if (lr->busy && lr->phase != LOAD_COMMIT && lr->phase != LOAD_CLEANUP)
        job_cancel(&lr->job);
}

void h_images_load(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    struct store *s = images_store(req);
    if (!s)
        return;
    struct load_req *lr = calloc(1, sizeof(*lr));
    struct berr err = {0};
    if (!lr) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    lr->req = req;
    lr->e = e;
    lr->s = s;
    lr->refs = 1;
    lr->phase = LOAD_BODY;
    lr->quiet = !srv_req_query(req, "quiet") || srv_req_query_bool(req, "quiet");
    store_tmp_path(s, "load", lr->body, sizeof(lr->body));
    snprintf(lr->work_dir, sizeof(lr->work_dir), "%s.d", lr->body);
    if (body_file_start(req, lr->body, 0, body_done, lr, &err) < 0) {
        free(lr);
        srv_reply_berr(req, &err);
        return;
    }
    req->on_abort = on_abort;
}
