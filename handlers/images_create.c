/* POST /images/create?fromImage=...: pull with Docker's progress stream. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "images.h"
#include "progress.h"

struct pull_client {
    struct pull_listener l;
    struct srv_req *req;
    struct engine *e;
    bool streaming;
};

static const char *state_text(enum pull_layer_state s)
{
    switch (s) {
    case PULL_LAYER_QUEUED:
        return "Pulling fs layer";
    case PULL_LAYER_WAITING:
        return "Waiting";
    case PULL_LAYER_EXISTS:
        return "Already exists";
    case PULL_LAYER_DOWNLOADING:
        return "Downloading";
    case PULL_LAYER_VERIFYING:
        return "Verifying Checksum";
    case PULL_LAYER_DOWNLOADED:
        return "Download complete";
    case PULL_LAYER_EXTRACTING:
        return "Extracting";
    case PULL_LAYER_COMPLETE:
        return "Pull complete";
    }
    return "";
}

static cJSON *render(const struct pull_event *ev)
{
    char text[REF_STRING_MAX + 64];
    switch (ev->kind) {
    case PULL_EV_RESOLVED:
        return progress_status(ev->text, ev->id);
    case PULL_EV_LAYER: {
        bool counts = ev->state == PULL_LAYER_DOWNLOADING || ev->state == PULL_LAYER_EXTRACTING;
        return progress_detail(state_text(ev->state), ev->id, counts ? ev->current : -1,
                               counts ? ev->total : -1);
    }
    case PULL_EV_DIGEST:
        snprintf(text, sizeof(text), "Digest: %s", ev->text);
        return progress_status(text, NULL);
    case PULL_EV_STATUS:
        snprintf(text, sizeof(text), "Status: %s %s",
                 ev->up_to_date ? "Image is up to date for" : "Downloaded newer image for",
                 ev->text);
        return progress_status(text, NULL);
    }
    return NULL;
}

static void ensure_stream(struct pull_client *c)
{
    if (!c->streaming) {
        c->streaming = true;
        srv_stream_begin(c->req, 200, "application/json");
    }
}

static void on_event(struct pull_listener *l, const struct pull_event *ev)
{
    struct pull_client *c = l->data;
    ensure_stream(c);
    cJSON *j = render(ev);
    if (j)
        srv_stream_write_json(c->req, j);
    cJSON_Delete(j);
}

static void publish_pull(struct engine *e, struct image *img, struct srv_req *req)
{
    (void)req;
    if (!img || img->tags.n == 0)
        return;
    struct image_ref ref;
    struct berr err = {0};
    char name[REF_STRING_MAX];
    if (ref_parse(img->tags.v[img->tags.n - 1], &ref, &err) < 0)
        return;
    ref_familiar_string(&ref, name, sizeof(name));
    const char *attrs[] = {"name", name, NULL};
    evbus_publish(e->events, "image", "pull", name, attrs);
}

static void on_done(struct pull_listener *l, int result, const struct berr *err, struct image *img)
{
    struct pull_client *c = l->data;
    if (result < 0 && !c->streaming) {
        srv_reply_berr(c->req, err); /* nothing streamed yet: a plain HTTP error */
    } else if (result < 0) {
        cJSON *j = progress_error(err->msg);
        srv_stream_write_json(c->req, j);
        cJSON_Delete(j);
        srv_stream_end(c->req);
    } else {
        publish_pull(c->e, img, c->req);
        ensure_stream(c);
        srv_stream_end(c->req);
    }
    free(c);
}

static void on_abort(struct srv_req *req)
{
    struct pull_client *c = req->data;
    pull_detach(&c->l); /* the last client leaving cancels the pull */
    if (c->streaming)
        srv_stream_end(req);
    else
        srv_reply_error(req, 500, "client gone");
    free(c);
}

/* fromImage + tag as moby combines them: a "sha256:" tag is a digest. */
static int pull_reference(struct srv_req *req, struct image_ref *ref, struct berr *err)
{
    const char *image = srv_req_query(req, "fromImage");
    const char *tag = srv_req_query(req, "tag");
    if (ref_parse(image, ref, err) < 0)
        return -EINVAL;
    if (tag && *tag) {
        if (strncmp(tag, "sha256:", 7) == 0) {
            if (!ref_digest_valid(tag))
                return berr_set(err, 400, EINVAL, "invalid reference format");
            snprintf(ref->digest, sizeof(ref->digest), "%s", tag);
            ref->tag[0] = '\0';
        } else {
            if (!ref_tag_valid(tag))
                return berr_set(err, 400, EINVAL, "invalid reference format");
            snprintf(ref->tag, sizeof(ref->tag), "%s", tag);
        }
    }
    return 0;
}

void images_pull(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    struct berr err = {0};
    struct image_ref ref;
    struct platform plat;
    if (pull_reference(req, &ref, &err) < 0 ||
        platform_parse(srv_req_query(req, "platform") ? srv_req_query(req, "platform") : "", &plat,
                       &err) < 0) {
        srv_reply_berr(req, &err);
        return;
    }
    if (!ref.tag[0] && !ref.digest[0]) {
        images_pull_all_tags(req, &ref, &plat);
        return;
    }
    struct auth_config creds;
    auth_config_decode_header(srv_req_header(req, "X-Registry-Auth"), &creds);
    struct pull_client *c = calloc(1, sizeof(*c));
    if (!c) {
        auth_config_done(&creds);
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    c->req = req;
    c->e = e;
    c->l = (struct pull_listener){.on_event = on_event, .on_done = on_done, .data = c};
    req->data = c;
    req->on_abort = on_abort;
    int r = pull_start(&e->pulls, &ref, &plat, &creds, &c->l, &err);
    auth_config_done(&creds);
    if (r < 0) {
        req->on_abort = NULL;
        free(c);
        srv_reply_berr(req, &err);
    }
}

void h_images_create(struct srv_req *req)
{
    struct engine *e = srv_req_ctx(req);
    if (!e->store || !e->http) { /* an engine built without storage (test harnesses) */
        srv_reply_error(req, 500, "image store not available");
        return;
    }
    const char *image = srv_req_query(req, "fromImage");
    if (image && *image) {
        images_pull(req);
        return;
    }
    if (srv_req_query(req, "fromSrc")) {
        images_import(req);
        return;
    }
    srv_reply_error(req, 400, "fromImage or fromSrc must be given");
}
