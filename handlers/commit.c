/* POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=
 * (`docker commit`), as moby's postCommit and CreateImageFromContainer: the
 * container's writable layer becomes a layer on top of its image's (a
 * container that changed nothing adds none: moby's empty layer), under a
 * Config made from the request's (optional JSON body) or the container's,
 * with the `changes` applied and merged with the container's Config
 * (commit.h). 201 {"Id": "sha256:..."}. Events: image `tag` when a repo is
 * given, container `commit` (comment, imageID, imageRef).
 *
 * Steps: parameters (loop) -> pause -> one worker job: the layer tar
 * (storage/layer_archive.h, gzip: it becomes the layer's blob), staged and
 * committed as import and load do, then the image config written -> the
 * store's tables (loop) -> unpause -> tag, events, and the reply once the
 * tag is on disk. A client that leaves does not stop the commit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "berth_version.h"
#include "commit.h"
#include "common/job.h"
#include "common/macros.h"
#include "common/timeutil.h"
#include "containers.h"
#include "images.h"
#include "images_json.h"
#include "runtime/ctr_layer.h"
#include "storage/image_archive.h"

struct commit_req {
    struct srv_req *req; /* NULL once answered */
    struct engine *e;
    struct container *c; /* referenced until the end */
    char ctr_id[CTR_ID_LEN + 1];
    bool pause;  /* pause=true (the default) */
    bool paused; /* paused by this commit, to be undone */
    void (*after_unpause)(struct commit_req *);
    bool has_ref;
    struct image_ref ref;
    char *author, *comment;
    cJSON *config;     /* the new image's Config */
    cJSON *ctr_config; /* the container's (container_config) */
    cJSON *parent;     /* the parent image's config document */
    char parent_id[DIGEST_STR_MAX];
    char parent_chain[DIGEST_STR_MAX]; /* its top layer; "" for none */
    char parent_dir[IA_PATH_MAX];      /* vfs: that layer's whole tree */
    struct layer_src src;
    bool layer_held; /* rt_layer_hold: a removal waits for the job */
    char blob[IA_PATH_MAX];
    struct job job;
    struct staged_layer staged;
    bool committed;
    char *image_config; /* written by the job */
    size_t image_config_len;
    char id[DIGEST_STR_MAX];
    int result; /* what ends the request, once unpaused */
    struct berr err;
};

static void cr_free(struct commit_req *cr)
{
    if (cr->c)
        ctr_unref(cr->c);
    free(cr->author);
    free(cr->comment);
    cJSON_Delete(cr->config);
    cJSON_Delete(cr->ctr_config);
    cJSON_Delete(cr->parent);
    layer_src_done(&cr->src);
    free(cr->image_config);
    free(cr);
}

static void answer(struct commit_req *cr, const struct berr *err)
{
    struct srv_req *req = cr->req;
    if (!req)
        return;
    req->on_abort = NULL;
    cr->req = NULL;
    if (err) {
        srv_reply_berr(req, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "Id", cr->id)) {
        cJSON_Delete(o);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    srv_reply_json(req, 201, o);
}

/* ---- parameters (loop) ---- */

/* httputils.CheckForJSON: a body, or a Content-Type, must be JSON. */
static int check_json(const struct srv_req *req, struct berr *err)
{
    const char *ct = srv_req_header(req, "Content-Type");
    if ((!ct || !*ct) && req->body_len == 0)
        return 0;
    size_t n = ct ? strcspn(ct, ";") : 0;
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (ct && n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 0;
    return berr_set(err, 400, EINVAL,
                    "unsupported Content-Type header (%s): must be 'application/json'",
                    ct ? ct : "");
}

/* The request's Config: NULL for none (no body, null, or an object with
 * no Config member: moby then takes the container's). */
static int body_config(const struct srv_req *req, cJSON **ret, struct berr *err)
{
    *ret = NULL;
    if (check_json(req, err) < 0)
        return -EINVAL;
    if (req->body_len == 0)
        return 0;
    cJSON *b = cJSON_ParseWithLength(req->body, req->body_len);
    if (!b || !(cJSON_IsObject(b) || cJSON_IsNull(b))) {
        cJSON_Delete(b);
        return berr_set(err, 400, EINVAL, "invalid JSON: the body must be a container Config");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(b, "HostConfig");
    cJSON_DeleteItemFromObjectCaseSensitive(b, "NetworkingConfig");
    if (cJSON_IsObject(b) && b->child)
        *ret = b;
    else
        cJSON_Delete(b);
    return 0;
}

static int commit_strings(struct srv_req *req, struct commit_req *cr, struct berr *err)
{
    const char *author = srv_req_query(req, "author");
    const char *comment = srv_req_query(req, "comment");
    const char *pause = srv_req_query(req, "pause");
    cr->author = strdup(author ? author : "");
    cr->comment = strdup(comment ? comment : "");
    if (!cr->author || !cr->comment)
        return berr_set(err, 500, ENOMEM, "out of memory");
    cr->pause = !pause || srv_req_query_bool(req, "pause"); /* BoolValueOrDefault(true) */
    return images_repo_tag(srv_req_query(req, "repo"), srv_req_query(req, "tag"), &cr->ref,
                           &cr->has_ref, err);
}

/* GetContainer, then moby's refusals. */
static struct container *commit_container(struct srv_req *req, struct berr *err)
{
    struct engine *e = srv_req_ctx(req);
    const char *name = srv_req_query(req, "container");
    if (!name || !*name) {
        berr_set(err, 400, EINVAL, "invalid name or ID supplied: \"%s\"", name ? name : "");
        return NULL;
    }
    struct container *c = ctr_lookup(&e->rt.ctrs, name, err);
    if (c && c->st.status == CTR_DEAD) {
        berr_set(err, 409, EBUSY, "You cannot commit container %s which is Dead", c->id);
        return NULL;
    }
    if (c && (c->st.status == CTR_REMOVING || c->removed)) {
        berr_set(err, 409, EBUSY, "You cannot commit container %s which is being removed", c->id);
        return NULL;
    }
    return c;
}

static int commit_changes(struct srv_req *req, struct commit_req *cr, cJSON *base, struct berr *err)
{
    const char **changes = calloc(req->nquery ? req->nquery : 1, sizeof(*changes));
    if (!changes)
        return berr_set(err, 500, ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].key, "changes") == 0)
            changes[n++] = req->query[i].value;
    int r = commit_new_config(base, cr->c->config, changes, n, &cr->config, err);
    free(changes);
    return r;
}

/* What the job reads: copies, so the loop may go on changing the tables. */
static int commit_sources(struct commit_req *cr, struct berr *err)
{
    struct rt *rt = &cr->e->rt;
    const struct image *img = store_image_by_id(rt->store, cr->c->image_id);
    if (!img)
        return berr_set(err, 500, ENOENT, "the image %s of container %s is gone", cr->c->image_id,
                        cr->c->id);
    snprintf(cr->parent_id, sizeof(cr->parent_id), "%s", img->id);
    if (img->nchain) {
        const char *top = img->chain[img->nchain - 1];
        snprintf(cr->parent_chain, sizeof(cr->parent_chain), "%s", top);
        if (rt->store->driver == STORE_VFS)
            store_layer_diff_dir(rt->store, top, cr->parent_dir, sizeof(cr->parent_dir));
    }
    cr->parent = cJSON_Duplicate(img->config.json, true);
    cr->ctr_config = cJSON_Duplicate(cr->c->config, true);
    if (!cr->parent || !cr->ctr_config)
        return berr_set(err, 500, ENOMEM, "out of memory");
    snprintf(cr->ctr_id, sizeof(cr->ctr_id), "%s", cr->c->id);
    store_tmp_path(rt->store, "commit", cr->blob, sizeof(cr->blob));
    return ctr_layer_src(rt, cr->c, &cr->src, err);
}

static int commit_params(struct srv_req *req, struct commit_req *cr, struct berr *err)
{
    cJSON *base = NULL;
    int r = body_config(req, &base, err);
    if (r == 0)
        r = commit_strings(req, cr, err);
    if (r == 0 && !(cr->c = commit_container(req, err)))
        r = -ENOENT;
    if (r == 0) {
        ctr_ref(cr->c);
        r = commit_changes(req, cr, base, err);
    }
    cJSON_Delete(base);
    return r == 0 ? commit_sources(cr, err) : r;
}

/* ---- the job: layer and image (worker) ---- */

static int register_layer(struct commit_req *cr, const struct layer_tar_result *res,
                          struct berr *err)
{
    struct stage_opts o = {.src = cr->blob,
                           .src_digest = res->digest,
                           .src_size = (int64_t)res->file_size,
                           .media_type = MT_DOCKER_LAYER,
                           .parent_chain = cr->parent_chain,
                           .parent_dir = cr->parent_dir,
                           .want_diff_id = res->diff_id,
                           .stop = &cr->job.stop};
    const struct store *s = cr->e->store;
    int r = image_archive_stage_layer(s, &o, &cr->staged, err);
    if (r == 0 && (r = image_archive_commit_layer(s, &cr->staged, err)) < 0)
        image_archive_discard_layer(&cr->staged);
    if (r < 0) {
        (void)unlink(cr->blob);
        return r;
    }
    cr->committed = true;
    return 0;
}

static int write_image(struct commit_req *cr, const char *diff_id, struct berr *err)
{
    char created[TIME_RFC3339_MAX];
    time_format_rfc3339nano(time_now_ns(), created);
    struct commit_info ci = {.container_id = cr->ctr_id,
                             .author = cr->author,
                             .comment = cr->comment,
                             .created = created,
                             .diff_id = diff_id,
                             .docker_version = BERTH_VERSION};
    cr->image_config = commit_image_config(cr->parent, cr->config, cr->ctr_config, &ci);
    if (!cr->image_config)
        return berr_set(err, 500, ENOMEM, "out of memory");
    cr->image_config_len = strlen(cr->image_config);
    sha256_digest(cr->image_config, cr->image_config_len, cr->id);
    struct image img = {.loaded_ns = time_now_ns()};
    snprintf(img.id, sizeof(img.id), "%s", cr->id);
    snprintf(img.parent, sizeof(img.parent), "%s", cr->parent_id);
    return store_image_write_sync(cr->e->store, &img, cr->image_config, cr->image_config_len, err);
}

static int commit_run(struct job *job)
{
    struct commit_req *cr = container_of(job, struct commit_req, job);
    struct layer_tar_opts o = {.gzip = true, .stop = &job->stop};
    struct layer_tar_result res;
    int r = layer_tar_write_sync(&cr->src, cr->blob, &o, &res, &job->err);
    if (r < 0)
        return r;
    bool empty = res.entries == 0; /* moby: an empty layer is not added */
    if (empty)
        (void)unlink(cr->blob);
    else if ((r = register_layer(cr, &res, &job->err)) < 0)
        return r;
    return write_image(cr, empty ? NULL : res.diff_id, &job->err);
}

/* ---- registering and answering (loop) ---- */

static void commit_unpause(struct commit_req *cr, void (*then)(struct commit_req *));

static void refs_saved(void *ud, int result, const struct berr *err)
{
    struct commit_req *cr = ud;
    answer(cr, result < 0 ? err : NULL);
    cr_free(cr);
}

static int tag_image(struct commit_req *cr, struct image *img, char *fam, size_t len,
                     struct berr *err)
{
    fam[0] = '\0';
    if (!cr->has_ref)
        return 0;
    int r = store_tag(cr->e->store, img, &cr->ref, err);
    if (r == 0) {
        ref_familiar_string(&cr->ref, fam, len);
        images_event(cr->e, "tag", img->id, img, fam);
    }
    return r;
}

static void commit_finish(struct commit_req *cr)
{
    struct image *img = cr->result == 0 ? store_image_by_id(cr->e->store, cr->id) : NULL;
    char fam[REF_STRING_MAX];
    if (cr->result == 0 && !img)
        cr->result = berr_set(&cr->err, 500, ENOENT, "image %s vanished", cr->id);
    if (cr->result == 0)
        cr->result = tag_image(cr, img, fam, sizeof(fam), &cr->err);
    if (cr->result < 0) {
        answer(cr, &cr->err);
        cr_free(cr);
        return;
    }
    const char *attrs[] = {"comment", cr->comment, "imageID", cr->id, "imageRef", fam, NULL};
    rt_event(&cr->e->rt, cr->c, "commit", attrs);
    store_refs_saved(cr->e->store, refs_saved, cr); /* answered once the tag is on disk */
}

static int register_image(struct commit_req *cr, struct berr *err)
{
    struct image_config c;
    struct image *img;
    int r = image_config_parse(cr->image_config, cr->image_config_len, &c, err);
    if (r == 0 && (r = store_image_insert(cr->e->store, &c, cr->id, &img, err)) < 0)
        image_config_done(&c);
    if (r == 0) /* the local parent, as moby's imageStore.SetParent */
        snprintf(img->parent, sizeof(img->parent), "%s", cr->parent_id);
    return r;
}

static void layer_let_go(struct commit_req *cr)
{
    if (cr->layer_held)
        rt_layer_release(&cr->e->rt, cr->c);
    cr->layer_held = false;
}

/* What the job put on disk enters the tables even when the client left. */
static void commit_done(struct job *job)
{
    struct commit_req *cr = container_of(job, struct commit_req, job);
    layer_let_go(cr);
    cr->result = job->result;
    cr->err = job->err;
    if (cr->committed && store_layer_insert(cr->e->store, &cr->staged.layer) < 0 && !cr->result)
        cr->result = berr_set(&cr->err, 500, ENOMEM, "out of memory");
    if (cr->result == 0)
        cr->result = register_image(cr, &cr->err);
    commit_unpause(cr, commit_finish);
}

static void commit_archive(struct commit_req *cr)
{
    job_init(&cr->job, commit_run, commit_done);
    rt_layer_hold(cr->c); /* a removal can't start before: the request checked, a pause holds it */
    cr->layer_held = true;
    if (job_queue(cr->e->loop, &cr->job) < 0) {
        layer_let_go(cr);
        cr->result = berr_set(&cr->err, 500, EIO, "cannot queue the commit job");
        commit_unpause(cr, commit_finish);
    }
}

/* ---- pausing (pause=true, Docker's default) ----
 *
 * moby pauses a running container that is not paused already for the
 * whole commit, so its layer is archived in one consistent state, and
 * unpauses afterwards only what it paused. */
static void on_paused(void *ud, const struct berr *err)
{
    struct commit_req *cr = ud;
    if (err && err->status) {
        cr->err = *err;
        cr->result = -EIO;
        commit_finish(cr);
        return;
    }
    cr->paused = true;
    commit_archive(cr);
}

static void commit_pause(struct commit_req *cr)
{
    struct container *c = cr->c;
    if (cr->pause && c->st.status == CTR_RUNNING && c->rt)
        rt_pause(&cr->e->rt, c, on_paused, cr);
    else
        commit_archive(cr);
}

static void on_unpaused(void *ud, const struct berr *err)
{
    struct commit_req *cr = ud;
    cr->paused = false;
    if (err && err->status && cr->result == 0) {
        cr->err = *err; /* the image exists; the reply says the unpause failed */
        cr->result = -EIO;
    }
    cr->after_unpause(cr);
}

static void commit_unpause(struct commit_req *cr, void (*then)(struct commit_req *))
{
    if (!cr->paused || cr->c->st.status != CTR_PAUSED) {
        then(cr);
        return;
    }
    cr->after_unpause = then;
    rt_unpause(&cr->e->rt, cr->c, on_unpaused, cr);
}

static void on_abort(struct srv_req *req)
{
    struct commit_req *cr = req->data;
    req->on_abort = NULL;
    cr->req = NULL; /* the commit goes on; its image stays */
    srv_reply_error(req, 500, "client gone");
}

void h_commit(struct srv_req *req)
{
    if (!ctr_ready(req))
        return;
    struct berr err = {0};
    struct commit_req *cr = calloc(1, sizeof(*cr));
    if (!cr) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    cr->e = srv_req_ctx(req);
    if (commit_params(req, cr, &err) < 0) {
        cr_free(cr);
        srv_reply_berr(req, &err);
        return;
    }
    cr->req = req;
    req->data = cr;
    req->on_abort = on_abort;
    commit_pause(cr);
}
