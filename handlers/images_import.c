/* POST /images/create?fromSrc=-&repo=&tag=&changes=&message=&platform=:
 * moby's ImportImage. The body is a rootfs tar (plain, gzip or zstd); it
 * becomes the single layer of a new image whose config is made here: the
 * platform (the host's unless `platform` says otherwise), created now, one
 * history entry with the comment ("Imported from -" unless `message`), and a
 * container config built from the `changes` (Dockerfile instructions, as
 * moby's BuildFromConfig). The layer is staged, committed and the config
 * written in one worker job; the loop then inserts, tags and answers
 * {"status":"sha256:<id>"} once the tag is on disk. Events: tag, import.
 *
 * Bad parameters are answered only after the body has been read (and
 * dropped): a client still writing a large tar would otherwise see its
 * write fail instead of the message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth_version.h"
#include "body_file.h"
#include "common/buf.h"
#include "common/jsonutil.h"
#include "common/job.h"
#include "common/macros.h"
#include "common/timeutil.h"
#include "engine.h"
#include "images.h"
#include "images_json.h"
#include "progress.h"
#include "storage/image_archive.h"

/* ---- parameters (loop) ---- */

struct import_req {
    struct srv_req *req; /* NULL once the request has ended */
    struct engine *e;
    struct store *s;
    bool has_ref, busy, committed;
    struct image_ref ref;
    struct platform plat;
    cJSON *config; /* the container config the changes made */
    char *comment;
    char body[IA_PATH_MAX];
    struct body_file_result src;
    struct job job;
    struct staged_layer staged;
    char *image_config; /* written by the job */
    size_t image_config_len;
    char id[DIGEST_STR_MAX];
};

static void ir_free(struct import_req *ir)
{
    cJSON_Delete(ir->config);
    free(ir->comment);
    free(ir->image_config);
    free(ir);
}

/* moby's container.Config with nothing set, fields in its order. */
static cJSON *empty_container_config(void)
{
    static const char *const strings[] = {"Hostname", "Domainname", "User"};
    static const char *const flags[] = {"AttachStdin", "AttachStdout", "AttachStderr",
                                        "Tty",         "OpenStdin",    "StdinOnce"};
    cJSON *c = cJSON_CreateObject();
    for (size_t i = 0; c && i < ARRAY_SIZE(strings); i++)
        cJSON_AddStringToObject(c, strings[i], "");
    for (size_t i = 0; c && i < ARRAY_SIZE(flags); i++)
        cJSON_AddFalseToObject(c, flags[i]);
    if (c &&
        (!cJSON_AddNullToObject(c, "Env") || !cJSON_AddNullToObject(c, "Cmd") ||
         !cJSON_AddStringToObject(c, "Image", "") || !cJSON_AddNullToObject(c, "Volumes") ||
         !cJSON_AddStringToObject(c, "WorkingDir", "") || !cJSON_AddNullToObject(c, "Entrypoint") ||
         !cJSON_AddNullToObject(c, "OnBuild") || !cJSON_AddNullToObject(c, "Labels"))) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

int images_repo_tag(const char *repo, const char *tag, struct image_ref *ret, bool *has_ref,
                    struct berr *err)
{
    *has_ref = false;
    if (!repo || !*repo)
        return 0;
    if (ref_parse(repo, ret, err) < 0)
        return -EINVAL;
    if (ret->digest[0])
        return berr_set(err, 400, EINVAL, "cannot import digest reference");
    if (tag && *tag) {
        if (!ref_tag_valid(tag))
            return berr_set(err, 400, EINVAL, "invalid tag format");
        snprintf(ret->tag, sizeof(ret->tag), "%s", tag);
    }
    ref_default_tag(ret);
    *has_ref = true;
    return 0;
}

static int import_ref(struct srv_req *req, struct import_req *ir, struct berr *err)
{
    return images_repo_tag(srv_req_query(req, "repo"), srv_req_query(req, "tag"), &ir->ref,
                           &ir->has_ref, err);
}

static int import_changes(struct srv_req *req, struct import_req *ir, struct berr *err)
{
    const char **changes = calloc(req->nquery ? req->nquery : 1, sizeof(*changes));
    size_t n = 0;
    if (!changes || !(ir->config = empty_container_config())) {
        free(changes);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].key, "changes") == 0)
            changes[n++] = req->query[i].value;
    int r = images_apply_changes(ir->config, changes, n, err);
    free(changes);
    return r;
}

static int import_params(struct srv_req *req, struct import_req *ir, struct berr *err)
{
    const char *src = srv_req_query(req, "fromSrc");
    const char *msg = srv_req_query(req, "message");
    const char *plat = srv_req_query(req, "platform");
    if (strcmp(src, "-") != 0)
        return berr_set(err, 501, ENOTSUP,
                        "importing from a URL is not supported: send the archive as the request "
                        "body (fromSrc=-)");
    int r = import_ref(req, ir, err);
    if (r == 0 && (r = platform_parse(plat ? plat : "", &ir->plat, err)) == 0 &&
        strcmp(ir->plat.os, "linux") != 0)
        r = berr_set(err, 400, EINVAL,
                     "image operating system \"%s\" cannot be used on this "
                     "platform",
                     ir->plat.os);
    if (r == 0)
        r = import_changes(req, ir, err);
    struct buf c = BUF_INIT;
    if (r == 0 &&
        buf_printf(&c, "%s%s", msg && *msg ? "" : "Imported from ", msg && *msg ? msg : src) < 0)
        r = berr_set(err, 500, ENOMEM, "out of memory");
    ir->comment = buf_steal(&c);
    return r;
}

/* ---- answering a bad request after its body ---- */

struct deferred_error {
    struct berr err;
};

static void deferred_reply(struct srv_req *req)
{
    struct deferred_error *d = req->data;
    req->on_body = NULL;
    req->on_abort = NULL;
    req->data = NULL;
    srv_reply_berr(req, &d->err);
    free(d);
}

static int drain_body(struct srv_req *req, const char *data, size_t len)
{
    (void)len;
    if (!data)
        deferred_reply(req);
    return SRV_BODY_CONTINUE;
}

/* The body is read and dropped first: a client still writing it would
 * otherwise get a broken pipe instead of the message. */
static void reply_after_body(struct srv_req *req, const struct berr *err)
{
    struct deferred_error *d = malloc(sizeof(*d));
    if (!d) {
        srv_reply_berr(req, err);
        return;
    }
    d->err = *err;
    req->data = d;
    req->on_body = drain_body;
    req->on_abort = deferred_reply;
}

/* ---- the job: layer, config, image (worker) ---- */

static cJSON *history_entry(const char *created, const char *comment)
{
    cJSON *h = cJSON_CreateObject();
    if (h && (!cJSON_AddStringToObject(h, "created", created) ||
              !cJSON_AddStringToObject(h, "comment", comment))) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

/* moby's image.Image of an import, fields in its order. */
static char *image_config_json(const struct import_req *ir, const char *diff_id)
{
    char created[TIME_RFC3339_MAX];
    time_format_rfc3339nano(time_now_ns(), created);
    cJSON *o = cJSON_CreateObject();
    cJSON *rootfs = cJSON_CreateObject();
    cJSON *history = cJSON_CreateArray();
    bool ok = o && rootfs && history && cJSON_AddStringToObject(o, "comment", ir->comment) &&
              cJSON_AddStringToObject(o, "created", created) &&
              cJSON_AddStringToObject(o, "docker_version", BERTH_VERSION) &&
              cJSON_AddItemReferenceToObject(o, "config", ir->config) &&
              cJSON_AddStringToObject(o, "architecture", ir->plat.architecture) &&
              (!ir->plat.variant[0] || cJSON_AddStringToObject(o, "variant", ir->plat.variant)) &&
              cJSON_AddStringToObject(o, "os", ir->plat.os) &&
              cJSON_AddStringToObject(rootfs, "type", "layers") &&
              cJSON_AddItemToObject(rootfs, "diff_ids",
                                    cJSON_CreateStringArray((const char *[]){diff_id}, 1)) &&
              cJSON_AddItemToObject(o, "rootfs", rootfs);
    rootfs = ok ? NULL : rootfs;
    ok = ok && cJSON_AddItemToArray(history, history_entry(created, ir->comment)) &&
         cJSON_AddItemToObject(o, "history", history);
    history = ok ? NULL : history;
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(rootfs);
    cJSON_Delete(history);
    cJSON_Delete(o);
    return text;
}

static int import_run(struct job *job)
{
    struct import_req *ir = container_of(job, struct import_req, job);
    struct stage_opts o = {.src = ir->body,
                           .src_digest = ir->src.digest,
                           .src_size = (int64_t)ir->src.size,
                           .parent_chain = "",
                           .stop = &job->stop};
    int r = image_archive_stage_layer(ir->s, &o, &ir->staged, &job->err);
    if (r == 0 && (r = image_archive_commit_layer(ir->s, &ir->staged, &job->err)) < 0)
        image_archive_discard_layer(&ir->staged);
    if (r < 0) {
        (void)unlink(ir->body);
        return r;
    }
    ir->committed = true;
    ir->image_config = image_config_json(ir, ir->staged.layer.diff_id);
    if (!ir->image_config)
        return berr_set(&job->err, 500, ENOMEM, "out of memory");
    ir->image_config_len = strlen(ir->image_config);
    struct image img = {.loaded_ns = time_now_ns()};
    sha256_digest(ir->image_config, ir->image_config_len, ir->id);
    snprintf(img.id, sizeof(img.id), "%s", ir->id);
    return store_image_write_sync(ir->s, &img, ir->image_config, ir->image_config_len, &job->err);
}

/* ---- registering and answering (loop) ---- */

static void answer(struct import_req *ir, const struct berr *err)
{
    struct srv_req *req = ir->req;
    if (!req)
        return;
    req->on_abort = NULL;
    ir->req = NULL;
    if (err) {
        srv_reply_berr(req, err);
        return;
    }
    cJSON *status = progress_status(ir->id, NULL);
    srv_stream_begin(req, 200, "application/json");
    if (status)
        srv_stream_write_json(req, status);
    cJSON_Delete(status);
    srv_stream_end(req);
}

static void refs_saved(void *ud, int result, const struct berr *err)
{
    struct import_req *ir = ud;
    answer(ir, result < 0 ? err : NULL);
    ir_free(ir);
}

static int register_image(struct import_req *ir, struct berr *err)
{
    struct image_config c;
    struct image *img;
    int r = image_config_parse(ir->image_config, ir->image_config_len, &c, err);
    if (r == 0 && (r = store_image_insert(ir->s, &c, ir->id, &img, err)) < 0)
        image_config_done(&c);
    if (r == 0 && ir->has_ref && (r = store_tag(ir->s, img, &ir->ref, err)) == 0) {
        char fam[REF_STRING_MAX];
        ref_familiar_string(&ir->ref, fam, sizeof(fam));
        images_event(ir->e, "tag", img->id, img, fam);
    }
    if (r == 0)
        images_event(ir->e, "import", img->id, img, img->id);
    return r;
}

/* What the job put on disk enters the tables even when the client left. */
static void import_done(struct job *job)
{
    struct import_req *ir = container_of(job, struct import_req, job);
    struct berr err = job->err;
    int r = job->result;
    ir->busy = false;
    if (ir->committed && store_layer_insert(ir->s, &ir->staged.layer) < 0 && r == 0)
        r = berr_set(&err, 500, ENOMEM, "out of memory");
    if (r == 0)
        r = register_image(ir, &err);
    if (r < 0) {
        answer(ir, &err);
        ir_free(ir);
        return;
    }
    store_refs_saved(ir->s, refs_saved, ir); /* answered once the tag is on disk */
}

static void body_done(struct body_file *bf, int result, const struct berr *err, void *ud)
{
    struct import_req *ir = ud;
    if (result < 0) {
        answer(ir, err);
        ir_free(ir);
        return;
    }
    ir->src = *body_file_result(bf);
    ir->busy = true;
    job_init(&ir->job, import_run, import_done);
    (void)job_queue(ir->e->loop, &ir->job); /* fails only for a NULL callback */
}

static void on_abort(struct srv_req *req)
{
    struct import_req *ir = req->on_body ? body_file_ud(req->data) : req->data;
    bool in_body = req->on_body != NULL;
    if (in_body)
        body_file_cancel(req->data);
    req->on_abort = NULL;
    ir->req = NULL;
    srv_reply_error(req, 500, "client gone");
    if (in_body)
        ir_free(ir);
    else if (ir->busy)
        job_cancel(&ir->job); /* import_done frees */
}

void images_import(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    struct import_req *ir = calloc(1, sizeof(*ir));
    struct berr err = {0};
    if (!ir) {
        berr_set(&err, 500, ENOMEM, "out of memory");
        reply_after_body(req, &err);
        return;
    }
    ir->e = e;
    ir->s = e->store;
    if (import_params(req, ir, &err) < 0) {
        ir_free(ir);
        reply_after_body(req, &err);
        return;
    }
    store_tmp_path(ir->s, "import", ir->body, sizeof(ir->body));
    if (body_file_start(req, ir->body, 0, body_done, ir, &err) < 0) {
        ir_free(ir);
        reply_after_body(req, &err);
        return;
    }
    ir->req = req;
    req->on_abort = on_abort;
}
