/* GET /images/get?names=..&names=.. and GET /images/{name}/get: moby's
 * getImagesGet. Names are resolved on the loop (404 before any byte), the
 * archive is built on a worker into tmp/, then streamed to the client as
 * 200 application/x-tar, one chunk read on a worker at a time and only while
 * the client keeps up. The file is removed afterwards, also when the client
 * leaves. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/job.h"
#include "common/macros.h"
#include "engine.h"
#include "images.h"
#include "images_json.h"
#include "progress.h"
#include "storage/image_archive.h"

#define CHUNK      (256 * 1024)
#define HIGH_WATER (1024 * 1024) /* queued to the client: stop reading above */

enum save_phase { SAVE_BUILD, SAVE_READ, SAVE_CLEANUP };

struct save_req {
    struct srv_req *req; /* NULL once the request has ended */
    struct engine *e;
    struct save_image *imgs;
    size_t nimgs;
    char path[IA_PATH_MAX];
    struct job job; /* one at a time: build, reads, cleanup */
    enum save_phase phase;
    bool busy;      /* job in flight */
    bool streaming; /* the 200 went out */
    bool draining;  /* waiting for the client to take what is queued */
    int fd;
    uint64_t off;
    ssize_t got;
    char buf[CHUNK];
};

/* ---- naming the images (loop) ---- */

static struct save_image *entry_for(struct save_req *sr, const struct store *s,
                                    const struct image *img)
{
    for (size_t i = 0; i < sr->nimgs; i++)
        if (strcmp(sr->imgs[i].id, img->id) == 0)
            return &sr->imgs[i];
    struct save_image *v = realloc(sr->imgs, (sr->nimgs + 1) * sizeof(*v));
    if (!v)
        return NULL;
    sr->imgs = v;
    struct save_image *si = memset(&v[sr->nimgs++], 0, sizeof(*si));
    snprintf(si->id, sizeof(si->id), "%s", img->id);
    char path[IA_PATH_MAX];
    store_blob_path(s, img->id, path, sizeof(path));
    si->config_path = strdup(path);
    si->layers = calloc(img->nchain ? img->nchain : 1, sizeof(*si->layers));
    if (!si->config_path || !si->layers)
        return NULL;
    for (size_t i = 0; i < img->nchain; i++) {
        const struct layer *l = store_layer(s, img->chain[i]);
        struct save_layer *sl = &si->layers[si->nlayers++];
        snprintf(sl->diff_id, sizeof(sl->diff_id), "%s", l->diff_id);
        if (l->blob_digest[0]) {
            store_blob_path(s, l->blob_digest, path, sizeof(path));
            if (!(sl->blob = strdup(path)))
                return NULL;
        }
        store_layer_diff_dir(s, l->chain_id, path, sizeof(path));
        sl->full_root = s->driver == STORE_VFS && l->parent[0];
        if (!(sl->diff_dir = strdup(path)))
            return NULL;
    }
    return si;
}

/* One image, with the tag to record (NULL: none, e.g. named by ID). */
static int add(struct save_req *sr, const struct store *s, const struct image *img,
               const char *full_tag, struct berr *err)
{
    struct save_image *si = entry_for(sr, s, img);
    if (!si)
        return berr_set(err, 500, ENOMEM, "out of memory");
    for (size_t i = 0; full_tag && i < si->refs.n; i++)
        if (strcmp(si->refs.v[i], full_tag) == 0)
            return 0;
    if (full_tag && strv_push(&si->refs, full_tag) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A bare repository name means every tag of it, as moby's
 * ReferencesByName; 0 with *ret_n = 0 when it has none. */
static int add_repository(struct save_req *sr, const struct store *s, const struct image_ref *ref,
                          size_t *ret_n, struct berr *err)
{
    char name[REF_STRING_MAX];
    ref_name(ref, name, sizeof(name));
    size_t len = strlen(name);
    struct strv tags = {0};
    const char *k;
    void *v;
    int r = 0;
    for (size_t i = 0; r == 0 && map_next(&s->refs, &i, &k, &v);)
        if (strncmp(k, name, len) == 0 && k[len] == ':')
            r = strv_push(&tags, k);
    if (r == 0 && tags.n)
        qsort(tags.v, tags.n, sizeof(*tags.v), cmp_str);
    for (size_t i = 0; r == 0 && i < tags.n; i++)
        r = add(sr, s, map_get(&s->refs, tags.v[i]), tags.v[i], err);
    *ret_n = tags.n;
    strv_done(&tags);
    return r == -ENOMEM ? berr_set(err, 500, ENOMEM, "out of memory") : r;
}

/* moby's parseNames: an ID (or prefix) names the image alone, "repo:tag"
 * the image with that tag, "repo@digest" the image without one, a bare
 * "repo" every tag of it (else an ID prefix). */
static int add_name(struct save_req *sr, const struct store *s, const char *name, struct berr *err)
{
    struct image_ref ref;
    struct berr ignored;
    if (!ref_is_full_id(name) && ref_parse(name, &ref, &ignored) == 0 && !ref.digest[0]) {
        size_t n = 0;
        if (!ref.tag[0] && add_repository(sr, s, &ref, &n, err) < 0)
            return -EIO;
        if (n)
            return 0;
    }
    struct image *img = store_image_lookup(s, name, err);
    if (!img)
        return -ENOENT;
    if (ref_is_full_id(name) || ref_parse(name, &ref, &ignored) < 0 || !ref.tag[0] || ref.digest[0])
        return add(sr, s, img, NULL, err);
    char full[REF_STRING_MAX];
    ref_string(&ref, full, sizeof(full));
    return add(sr, s, img, map_get(&s->refs, full) == img ? full : NULL, err);
}

/* ---- teardown ---- */

static void sr_free(struct save_req *sr)
{
    for (size_t i = 0; i < sr->nimgs; i++)
        save_image_done(&sr->imgs[i]);
    free(sr->imgs);
    free(sr);
}

static int cleanup_run(struct job *job)
{
    struct save_req *sr = container_of(job, struct save_req, job);
    if (sr->fd >= 0)
        close(sr->fd);
    unlink(sr->path);
    return 0;
}

static void job_done_cb(struct job *job);

static void start_job(struct save_req *sr, enum save_phase phase, job_run_fn run)
{
    sr->phase = phase;
    sr->busy = true;
    job_init(&sr->job, run, job_done_cb);
    (void)job_queue(sr->e->loop, &sr->job); /* fails only for a NULL callback */
}

static void finish(struct save_req *sr)
{
    if (sr->req) {
        sr->req->on_abort = sr->req->on_drain = NULL;
        srv_stream_end(sr->req);
        sr->req = NULL;
    }
    start_job(sr, SAVE_CLEANUP, cleanup_run);
}

/* ---- streaming the file ---- */

static int read_run(struct job *job)
{
    struct save_req *sr = container_of(job, struct save_req, job);
    if (sr->fd < 0 && (sr->fd = open(sr->path, O_RDONLY | O_CLOEXEC)) < 0)
        return berr_errno(&job->err, 500, errno, "open '%s'", sr->path);
    do
        sr->got = pread(sr->fd, sr->buf, sizeof(sr->buf), (off_t)sr->off);
    while (sr->got < 0 && errno == EINTR);
    return sr->got < 0 ? berr_errno(&job->err, 500, errno, "read '%s'", sr->path) : 0;
}

static void next_chunk(struct save_req *sr)
{
    if (srv_req_queued(sr->req) > HIGH_WATER) {
        sr->draining = true; /* on_drain resumes */
        return;
    }
    start_job(sr, SAVE_READ, read_run);
}

static void on_drain(struct srv_req *req)
{
    struct save_req *sr = req->data;
    if (!sr->draining)
        return;
    sr->draining = false;
    next_chunk(sr);
}

/* A failure after the first byte: the tar cannot carry it; moby appends
 * its JSON error to the stream, which is what a client sees. */
static void read_done(struct save_req *sr, struct job *job)
{
    if (job->result < 0) {
        cJSON *j = progress_error(job->err.msg);
        if (j)
            srv_stream_write_json(sr->req, j);
        cJSON_Delete(j);
        finish(sr);
        return;
    }
    if (sr->got == 0 || srv_stream_write(sr->req, sr->buf, (size_t)sr->got) < 0) {
        finish(sr);
        return;
    }
    sr->off += (uint64_t)sr->got;
    next_chunk(sr);
}

/* ---- building ---- */

static int build_run(struct job *job)
{
    struct save_req *sr = container_of(job, struct save_req, job);
    return image_archive_save(sr->imgs, sr->nimgs, sr->path, &job->stop, &job->err);
}

static void build_done(struct save_req *sr, struct job *job)
{
    if (job->result < 0) {
        sr->req->on_abort = NULL;
        srv_reply_berr(sr->req, &job->err);
        sr->req = NULL;
        sr_free(sr); /* image_archive_save removed its file */
        return;
    }
    for (size_t i = 0; i < sr->nimgs; i++) {
        const struct image *img = store_image_by_id(sr->e->store, sr->imgs[i].id);
        images_event(sr->e, "save", sr->imgs[i].id, img, sr->imgs[i].id);
    }
    srv_stream_begin(sr->req, 200, "application/x-tar");
    sr->streaming = true;
    sr->req->on_drain = on_drain;
    next_chunk(sr);
}

static void job_done_cb(struct job *job)
{
    struct save_req *sr = container_of(job, struct save_req, job);
    sr->busy = false;
    if (sr->phase == SAVE_CLEANUP) {
        sr_free(sr);
        return;
    }
    if (!sr->req) { /* the client left while the job ran */
        if (sr->phase == SAVE_BUILD && job->result < 0)
            sr_free(sr);
        else
            start_job(sr, SAVE_CLEANUP, cleanup_run);
        return;
    }
    if (sr->phase == SAVE_BUILD)
        build_done(sr, job);
    else
        read_done(sr, job);
}

/* The client left (or the daemon stops): end the request now, and let the
 * job in flight, or the cleanup, release the rest. */
static void on_abort(struct srv_req *req)
{
    struct save_req *sr = req->data;
    bool streaming = sr->streaming;
    req->on_abort = req->on_drain = NULL;
    sr->req = NULL;
    if (streaming)
        srv_stream_end(req);
    else
        srv_reply_error(req, 500, "client gone");
    if (sr->busy)
        job_cancel(&sr->job);
    else
        start_job(sr, SAVE_CLEANUP, cleanup_run);
}

static void save(struct srv_req *req, const char *const *names, size_t n)
{
    struct engine *e = srv_req_ctx(req);
    struct store *s = images_store(req);
    if (!s)
        return;
    struct save_req *sr = calloc(1, sizeof(*sr));
    struct berr err = {0};
    if (!sr) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    sr->e = e;
    sr->fd = -1;
    for (size_t i = 0; i < n; i++) {
        if (add_name(sr, s, names[i], &err) < 0) {
            sr_free(sr);
            srv_reply_berr(req, &err);
            return;
        }
    }
    store_tmp_path(s, "save", sr->path, sizeof(sr->path));
    sr->req = req;
    req->data = sr;
    req->on_abort = on_abort;
    start_job(sr, SAVE_BUILD, build_run);
}

void h_images_get(struct srv_req *req)
{
    const char **names = calloc(req->nquery ? req->nquery : 1, sizeof(*names));
    size_t n = 0;
    if (!names) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].key, "names") == 0)
            names[n++] = req->query[i].value;
    save(req, names, n);
    free(names);
}

void h_images_get_one(struct srv_req *req)
{
    const char *name = req->params[0];
    save(req, &name, 1);
}
