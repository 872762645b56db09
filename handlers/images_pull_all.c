/* `docker pull --all-tags`: the API's fromImage without a tag. Lists the
 * repository's tags, pulls each in turn into one progress stream, and ends
 * with a single status line, as moby's pullRepository does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"
#include "engine.h"
#include "images.h"
#include "progress.h"

#define MAX_TAGS_BODY (4 * 1024 * 1024)

struct all_tags {
    struct srv_req *req;
    struct engine *e;
    struct image_ref repo;
    struct platform plat;
    struct auth_config creds;
    struct registry *reg;
    struct reg_req *list_req;
    struct buf body;
    struct strv tags;
    size_t next;
    bool streaming, any_new, aborted;
    struct pull_listener l;
};

static void all_free(struct all_tags *a)
{
    if (a->reg)
        registry_close(a->reg);
    auth_config_done(&a->creds);
    buf_done(&a->body);
    strv_done(&a->tags);
    free(a);
}

static void ensure_stream(struct all_tags *a)
{
    if (!a->streaming) {
        a->streaming = true;
        srv_stream_begin(a->req, 200, "application/json");
    }
}

static void end_with(struct all_tags *a, int result, const struct berr *err)
{
    struct srv_req *req = a->req;
    if (result < 0 && !a->streaming) {
        srv_reply_berr(req, err);
    } else {
        ensure_stream(a);
        cJSON *j;
        if (result < 0) {
            j = progress_error(err->msg);
        } else {
            char name[REF_STRING_MAX], text[REF_STRING_MAX + 64];
            ref_familiar_name(&a->repo, name, sizeof(name));
            snprintf(text, sizeof(text), "Status: %s %s",
                     a->any_new ? "Downloaded newer image for" : "Image is up to date for", name);
            j = progress_status(text, NULL);
        }
        srv_stream_write_json(req, j);
        cJSON_Delete(j);
        srv_stream_end(req);
    }
    all_free(a);
}

static void pull_next(struct all_tags *a);

/* Per-tag events pass through, except each tag's own final status. */
static void tag_event(struct pull_listener *l, const struct pull_event *ev)
{
    struct all_tags *a = l->data;
    if (ev->kind == PULL_EV_STATUS) {
        a->any_new |= !ev->up_to_date;
        return;
    }
    ensure_stream(a);
    cJSON *j = NULL;
    if (ev->kind == PULL_EV_DIGEST) {
        char text[DIGEST_STR_MAX + 16];
        snprintf(text, sizeof(text), "Digest: %s", ev->text);
        j = progress_status(text, NULL);
    } else if (ev->kind == PULL_EV_RESOLVED) {
        j = progress_status(ev->text, ev->id);
    } else {
        static const char *const names[] = {
            "Pulling fs layer",   "Waiting",           "Already exists", "Downloading",
            "Verifying Checksum", "Download complete", "Extracting",     "Pull complete"};
        bool counts = ev->state == PULL_LAYER_DOWNLOADING || ev->state == PULL_LAYER_EXTRACTING;
        j = progress_detail(names[ev->state], ev->id, counts ? ev->current : -1,
                            counts ? ev->total : -1);
    }
    srv_stream_write_json(a->req, j);
    cJSON_Delete(j);
}

static void tag_done(struct pull_listener *l, int result, const struct berr *err, struct image *img)
{
    struct all_tags *a = l->data;
    (void)img;
    if (result < 0) {
        end_with(a, result, err);
        return;
    }
    pull_next(a);
}

static void pull_next(struct all_tags *a)
{
    if (a->next == a->tags.n) {
        end_with(a, 0, NULL);
        return;
    }
    struct image_ref ref = a->repo;
    snprintf(ref.tag, sizeof(ref.tag), "%s", a->tags.v[a->next++]);
    a->l = (struct pull_listener){.on_event = tag_event, .on_done = tag_done, .data = a};
    struct berr err = {0};
    if (pull_start(&a->e->pulls, &ref, &a->plat, &a->creds, &a->l, &err) < 0)
        end_with(a, -EIO, &err);
}

static int parse_tags(struct all_tags *a, struct berr *err)
{
    cJSON *j = cJSON_ParseWithLength(a->body.data ? a->body.data : "", a->body.len);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        if (cJSON_IsString(t) && ref_tag_valid(t->valuestring))
            strv_push(&a->tags, t->valuestring);
    }
    cJSON_Delete(j);
    if (a->tags.n == 0)
        return berr_set(err, 404, ENOENT, "no tags found in repository %s", a->repo.path);
    return 0;
}

static int list_data(struct reg_req *q, const char *d, size_t n, void *ud)
{
    struct all_tags *a = ud;
    (void)q;
    if (a->body.len + n > MAX_TAGS_BODY)
        return -1;
    buf_append(&a->body, d, n);
    return HTTPC_CONTINUE;
}

static void list_done(struct reg_req *q, int result, const struct berr *err, void *ud)
{
    struct all_tags *a = ud;
    (void)q;
    a->list_req = NULL;
    if (a->aborted) {
        all_free(a);
        return;
    }
    struct berr e = {0};
    if (result < 0)
        end_with(a, result, err);
    else if (parse_tags(a, &e) < 0)
        end_with(a, -ENOENT, &e);
    else
        pull_next(a);
}

static const struct reg_cbs list_cbs = {NULL, list_data, list_done};

static void opened(struct registry *r, int result, const struct berr *err, void *ud)
{
    struct all_tags *a = ud;
    (void)r;
    if (result < 0) {
        end_with(a, result, err);
        return;
    }
    char path[REF_PATH_MAX + 32];
    snprintf(path, sizeof(path), "/v2/%s/tags/list", ref_repository(&a->repo));
    struct berr e = {0};
    if (registry_request(a->reg, "GET", path, NULL, NULL, 0, 0, &list_cbs, a, &a->list_req, &e) < 0)
        end_with(a, -EIO, &e);
}

static void on_abort(struct srv_req *req)
{
    struct all_tags *a = req->data;
    if (a->l.pull) {
        pull_detach(&a->l);
    } else if (a->list_req) {
        a->aborted = true; /* list_done frees */
        reg_req_cancel(a->list_req);
        srv_reply_error(req, 500, "client gone");
        return;
    }
    end_with(a, -ECANCELED, &(struct berr){500, "client gone"});
}

void images_pull_all_tags(struct srv_req *req, const struct image_ref *repo,
                          const struct platform *plat)
{
    struct engine *e = srv_req_ctx(req);
    struct all_tags *a = calloc(1, sizeof(*a));
    if (!a) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    a->req = req;
    a->e = e;
    a->repo = *repo;
    a->plat = *plat;
    auth_config_decode_header(srv_req_header(req, "X-Registry-Auth"), &a->creds);
    req->data = a;
    req->on_abort = on_abort;
    struct berr err = {0};
    if (registry_open(e->loop, e->http, &e->pulls.reg, repo->domain, ref_repository(repo), "pull",
                      &a->creds, opened, a, &a->reg, &err) < 0) {
        req->on_abort = NULL;
        a->reg = NULL;
        end_with(a, -EIO, &err);
    }
}
