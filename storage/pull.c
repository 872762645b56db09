/* A pull as a whole: listeners, manifest and config resolution, layer
 * scheduling (concurrent downloads, ordered extraction) and registration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macros.h"
#include "common/timeutil.h"
#include "pull_internal.h"

/* ---- lifetime ---- */

void pull_ref(struct pull *p)
{
    p->refs++;
}

static void pull_free(struct pull *p)
{
    for (size_t i = 0; i < p->nlayers; i++)
        pull_layer_release(&p->layers[i]);
    free(p->layers);
    manifest_done(&p->man);
    image_config_done(&p->cfg);
    free(p->config);
    buf_done(&p->body);
    auth_config_done(&p->creds);
    free(p);
}

static void timer_closed(uv_handle_t *h)
{
    pull_unref(h->data);
}

void pull_unref(struct pull *p)
{
    if (--p->refs > 0)
        return;
    if (p->timer_open) { /* the timer's close callback drops the last reference */
        p->timer_open = false;
        p->refs = 1;
        uv_close((uv_handle_t *)&p->progress_timer, timer_closed);
        return;
    }
    pull_free(p);
}

/* ---- events ---- */

void pull_emit(struct pull *p, const struct pull_event *ev)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &p->listeners)
    {
        struct pull_listener *l = container_of(pos, struct pull_listener, link);
        l->on_event(l, ev);
    }
}

void pull_emit_layer(struct pull_layer *pl, enum pull_layer_state state)
{
    pl->state = state;
    struct pull_event ev = {.kind = PULL_EV_LAYER,
                            .id = pl->short_id,
                            .state = state,
                            .current = pl->current,
                            .total = pl->total};
    pull_emit(pl->p, &ev);
}

static const char *tag_or_digest(const struct pull *p)
{
    return p->ref.digest[0] ? p->ref.digest : p->ref.tag;
}

static void emit_resolved(struct pull *p)
{
    char name[REF_STRING_MAX], text[REF_STRING_MAX + 16];
    ref_familiar_name(&p->ref, name, sizeof(name));
    snprintf(text, sizeof(text), "Pulling from %s", name);
    struct pull_event ev = {.kind = PULL_EV_RESOLVED, .id = tag_or_digest(p), .text = text};
    pull_emit(p, &ev);
}

/* A late listener sees where the pull stands. */
static void replay(struct pull *p, struct pull_listener *l)
{
    if (!p->resolved)
        return;
    char name[REF_STRING_MAX], text[REF_STRING_MAX + 16];
    ref_familiar_name(&p->ref, name, sizeof(name));
    snprintf(text, sizeof(text), "Pulling from %s", name);
    struct pull_event ev = {.kind = PULL_EV_RESOLVED, .id = tag_or_digest(p), .text = text};
    l->on_event(l, &ev);
    for (size_t i = 0; i < p->nlayers; i++) {
        struct pull_layer *pl = &p->layers[i];
        struct pull_event le = {.kind = PULL_EV_LAYER,
                                .id = pl->short_id,
                                .state = pl->state,
                                .current = pl->current,
                                .total = pl->total};
        l->on_event(l, &le);
    }
}

/* ---- ending ---- */

static void finish(struct pull *p, int result, const struct berr *err, struct image *img)
{
    if (p->finished)
        return;
    p->finished = true;
    map_del(&p->ctx->active, p->key);
    if (p->timer_open)
        uv_timer_stop(&p->progress_timer);
    for (size_t i = 0; i < p->nlayers; i++)
        pull_layer_cancel(&p->layers[i]);
    if (p->req)
        reg_req_cancel(p->req);
    while (!list_empty(&p->listeners)) {
        struct pull_listener *l = container_of(p->listeners.next, struct pull_listener, link);
        list_del(&l->link);
        l->pull = NULL;
        l->on_done(l, result, err, img);
    }
    if (p->reg) {
        registry_close(p->reg);
        p->reg = NULL;
    }
    pull_unref(p);
}

void pull_fail(struct pull *p, int result, const struct berr *err)
{
    finish(p, result, err, NULL);
}

/* ---- registration ---- */

struct commit_job {
    struct job job;
    struct pull *p;
    struct image img;
};

static int commit_run(struct job *job)
{
    struct commit_job *cj = container_of(job, struct commit_job, job);
    struct pull *p = cj->p;
    return store_image_write_sync(p->ctx->store, &cj->img, p->config, p->config_len, &job->err);
}

static void tag_pulled(struct pull *p, struct image *img, bool *ret_up_to_date)
{
    struct store *s = p->ctx->store;
    struct image_ref named = p->ref;
    struct berr err = {0};
    *ret_up_to_date = false;
    if (named.tag[0]) {
        named.digest[0] = '\0';
        char full[REF_STRING_MAX];
        ref_string(&named, full, sizeof(full));
        *ret_up_to_date = map_get(&s->refs, full) == img;
        store_tag(s, img, &named, &err);
    }
    struct image_ref by_digest = p->ref;
    by_digest.tag[0] = '\0';
    snprintf(by_digest.digest, sizeof(by_digest.digest), "%s", p->top_digest);
    store_tag(s, img, &by_digest, &err);
}

static void emit_end(struct pull *p, bool up_to_date)
{
    struct pull_event d = {.kind = PULL_EV_DIGEST, .text = p->top_digest};
    pull_emit(p, &d);
    char name[REF_STRING_MAX];
    ref_familiar_string(&p->ref, name, sizeof(name));
    struct pull_event st = {.kind = PULL_EV_STATUS, .text = name, .up_to_date = up_to_date};
    pull_emit(p, &st);
}

static void refs_saved(void *ud, int result, const struct berr *err)
{
    struct pull *p = ud;
    if (p->finished) {
        pull_unref(p);
        return;
    }
    if (result < 0) {
        pull_fail(p, result, err);
    } else {
        emit_end(p, p->up_to_date);
        finish(p, 0, NULL, store_image_by_id(p->ctx->store, p->image_id));
    }
    pull_unref(p);
}

static void commit_done(struct job *job)
{
    struct commit_job *cj = container_of(job, struct commit_job, job);
    struct pull *p = cj->p;
    struct store *s = p->ctx->store;
    int result = job->result;
    struct berr job_err = job->err;
    free(cj);
    if (result < 0 || p->finished) {
        if (!p->finished)
            pull_fail(p, result, &job_err);
        pull_unref(p);
        return;
    }
    struct berr err = {0};
    struct image *img = store_image_by_id(s, p->image_id);
    bool had_layers_only = img == NULL;
    if (!img && store_image_insert(s, &p->cfg, p->image_id, &img, &err) < 0) {
        pull_fail(p, -EIO, &err);
        pull_unref(p);
        return;
    }
    tag_pulled(p, img, &p->up_to_date);
    p->up_to_date = p->up_to_date && !had_layers_only;
    /* Success is reported only once the references are on disk. */
    store_refs_saved(s, refs_saved, p);
}

static void commit_image(struct pull *p)
{
    struct commit_job *cj = calloc(1, sizeof(*cj));
    if (!cj) {
        struct berr e = {0};
        berr_set(&e, 500, ENOMEM, "out of memory");
        pull_fail(p, -ENOMEM, &e);
        return;
    }
    cj->p = p;
    snprintf(cj->img.id, sizeof(cj->img.id), "%s", p->image_id);
    cj->img.loaded_ns = time_now_ns();
    job_init(&cj->job, commit_run, commit_done);
    pull_ref(p);
    job_queue(p->ctx->loop, &cj->job);
}

/* ---- scheduling ---- */

static void tick_extract(uv_timer_t *t)
{
    struct pull *p = t->data;
    if (!p->extracting || p->next_extract >= p->nlayers)
        return;
    struct pull_layer *pl = &p->layers[p->next_extract];
    pl->current = (int64_t)atomic_load(&pl->extract_bytes);
    pull_emit_layer(pl, PULL_LAYER_EXTRACTING);
}

/* Called whenever a layer moves on: starts waiting downloads up to the
 * limit, extracts the next layer in order once it is downloaded, and
 * registers the image when every layer is in place. */
void pull_layers_progress(struct pull *p)
{
    if (p->finished)
        return;
    for (size_t i = 0; i < p->nlayers && p->downloading < p->ctx->max_downloads; i++) {
        struct pull_layer *pl = &p->layers[i];
        if (pl->state == PULL_LAYER_QUEUED || pl->state == PULL_LAYER_WAITING)
            pull_layer_download(pl);
    }
    while (p->next_extract < p->nlayers && p->layers[p->next_extract].done)
        p->next_extract++;
    if (p->next_extract == p->nlayers) {
        if (!p->extracting) {
            p->extracting = true; /* once */
            commit_image(p);
        }
        return;
    }
    struct pull_layer *next = &p->layers[p->next_extract];
    if (!p->extracting && next->downloaded)
        pull_layer_extract(next);
}

static int plan_layers(struct pull *p, struct berr *err)
{
    if (p->man.nlayers != p->cfg.ndiff_ids)
        return berr_set(err, 500, EBADMSG,
                        "image %s: manifest lists %zu layers, config %zu diff IDs", p->image_id,
                        p->man.nlayers, p->cfg.ndiff_ids);
    p->layers = calloc(p->man.nlayers ? p->man.nlayers : 1, sizeof(*p->layers));
    if (!p->layers)
        return berr_set(err, 500, ENOMEM, "out of memory");
    p->nlayers = p->man.nlayers;
    char parent[DIGEST_STR_MAX] = "";
    for (size_t i = 0; i < p->nlayers; i++) {
        struct pull_layer *pl = &p->layers[i];
        pl->p = p;
        pl->index = i;
        pl->fd = -1;
        pl->desc = p->man.layers[i];
        snprintf(pl->diff_id, sizeof(pl->diff_id), "%s", p->cfg.diff_ids[i]);
        snprintf(pl->parent_chain, sizeof(pl->parent_chain), "%s", parent);
        digest_chain_id(parent, pl->diff_id, pl->chain_id);
        snprintf(parent, sizeof(parent), "%s", pl->chain_id);
        snprintf(pl->short_id, sizeof(pl->short_id), "%.12s", digest_hex(pl->desc.digest));
        if (pl->desc.foreign)
            return berr_set(err, 500, ENOTSUP, "layer %s is a foreign layer: not supported",
                            pl->desc.digest);
    }
    return 0;
}

static void start_layers(struct pull *p)
{
    struct berr err = {0};
    if (plan_layers(p, &err) < 0) {
        pull_fail(p, -EIO, &err);
        return;
    }
    p->resolved = true;
    emit_resolved(p);
    int queued = 0;
    for (size_t i = 0; i < p->nlayers; i++) {
        struct pull_layer *pl = &p->layers[i];
        if (store_layer(p->ctx->store, pl->chain_id)) {
            pl->done = pl->downloaded = true;
            pull_emit_layer(pl, PULL_LAYER_EXISTS);
        } else {
            pull_emit_layer(pl, PULL_LAYER_QUEUED); /* "Pulling fs layer" */
        }
    }
    /* Beyond the concurrent download limit a layer shows "Waiting". */
    for (size_t i = 0; i < p->nlayers; i++) {
        struct pull_layer *pl = &p->layers[i];
        if (pl->state == PULL_LAYER_QUEUED && queued++ >= p->ctx->max_downloads)
            pull_emit_layer(pl, PULL_LAYER_WAITING);
    }
    uv_timer_init(p->ctx->loop, &p->progress_timer);
    p->progress_timer.data = p;
    p->timer_open = true;
    uv_timer_start(&p->progress_timer, tick_extract, 200, 200);
    pull_layers_progress(p);
}

/* ---- manifest and config ---- */

static void fetch(struct pull *p, const char *what, const char *digest_or_tag, bool manifest);

static int body_data(struct reg_req *q, const char *d, size_t n, void *ud)
{
    struct pull *p = ud;
    (void)q;
    size_t limit = p->man.kind == MANIFEST_IMAGE && p->man.config.digest[0] ? CONFIG_MAX_BYTES
                                                                            : MANIFEST_MAX_BYTES;
    if (p->body.len + n > limit)
        return -1;
    buf_append(&p->body, d, n);
    return HTTPC_CONTINUE;
}

static int body_head(struct reg_req *q, void *ud)
{
    struct pull *p = ud;
    const char *ct = reg_req_header(q, "Content-Type");
    const char *dg = reg_req_header(q, "Docker-Content-Digest");
    snprintf(p->content_type, sizeof(p->content_type), "%s", ct ? ct : "");
    snprintf(p->header_digest, sizeof(p->header_digest), "%s", dg ? dg : "");
    return 0;
}

/* Docker's wording for the errors users see most. */
static void explain_fetch_error(struct pull *p, int result, const struct berr *in, struct berr *out)
{
    char name[REF_STRING_MAX];
    ref_familiar_name(&p->ref, name, sizeof(name));
    if (result == -EACCES || (in->status == 404 && strstr(in->msg, "repository name not known")))
        berr_set(out, 404, ENOENT,
                 "pull access denied for %s, repository does not exist or may require "
                 "'docker login': %s",
                 name, in->msg);
    else if (result == -ENOENT)
        berr_set(out, 404, ENOENT, "manifest for %s:%s not found: %s", name, tag_or_digest(p),
                 in->msg);
    else
        *out = *in;
}

/* Manifests (up to 4 MB) and configs (up to 8 MB) are hashed and parsed on
 * a worker: the loop only routes the results. */
struct verify_job {
    struct job job;
    struct pull *p;
    bool config;
    struct buf body;
    char expected[REF_TAG_MAX + DIGEST_STR_MAX]; /* digest asked for ("" for a tag) */
    char header_digest[DIGEST_STR_MAX];
    char content_type[128];
    char digest[DIGEST_STR_MAX];
    struct manifest man;
    struct image_config cfg;
};

static int verify_run(struct job *job)
{
    struct verify_job *vj = container_of(job, struct verify_job, job);
    const char *body = vj->body.data ? vj->body.data : "";
    struct berr *err = &job->err;
    sha256_digest(body, vj->body.len, vj->digest);
    const char *what = vj->config ? "image config" : "manifest";
    if (vj->expected[0] && strcmp(vj->expected, vj->digest) != 0)
        return berr_set(err, 500, EBADMSG, "%s verification failed for digest %s", what,
                        vj->expected);
    if (!vj->config && strncmp(vj->header_digest, "sha256:", 7) == 0 &&
        strcmp(vj->header_digest, vj->digest) != 0)
        return berr_set(err, 500, EBADMSG,
                        "manifest digest %s does not match Docker-Content-Digest %s", vj->digest,
                        vj->header_digest);
    if (vj->config)
        return image_config_parse(body, vj->body.len, &vj->cfg, err);
    return manifest_parse(body, vj->body.len, vj->content_type, &vj->man, err);
}

static void got_index(struct pull *p, struct manifest *index)
{
    const struct descriptor *d;
    struct berr err = {0};
    if (manifest_select(index, &p->plat, &d, &err) < 0) {
        manifest_done(index);
        pull_fail(p, -ENOENT, &err);
        return;
    }
    char child[DIGEST_STR_MAX];
    snprintf(child, sizeof(child), "%s", d->digest);
    manifest_done(index);
    p->from_index = true;
    fetch(p, "manifest", child, true);
}

static void manifest_checked(struct pull *p, struct verify_job *vj)
{
    if (!p->from_index)
        snprintf(p->top_digest, sizeof(p->top_digest), "%s", vj->digest);
    struct manifest m = vj->man;
    memset(&vj->man, 0, sizeof(vj->man));
    if (m.kind == MANIFEST_INDEX) {
        if (p->from_index) {
            struct berr err = {0};
            manifest_done(&m);
            berr_set(&err, 500, EBADMSG, "nested manifest lists are not supported");
            pull_fail(p, -EBADMSG, &err);
            return;
        }
        got_index(p, &m);
        return;
    }
    p->man = m;
    fetch(p, "config", p->man.config.digest, false);
}

static int check_platform(struct pull *p, struct berr *err)
{
    if (p->from_index)
        return 0;
    char want[128], got[128];
    struct platform have = {0};
    snprintf(have.os, sizeof(have.os), "%s", p->cfg.os);
    snprintf(have.architecture, sizeof(have.architecture), "%s", p->cfg.architecture);
    snprintf(have.variant, sizeof(have.variant), "%s", p->cfg.variant);
    platform_string(&p->plat, want, sizeof(want));
    platform_string(&have, got, sizeof(got));
    if (strcmp(p->plat.os, have.os) != 0 || strcmp(p->plat.architecture, have.architecture) != 0)
        return berr_set(err, 404, ENOENT,
                        "image with reference %s was found but does not match the specified "
                        "platform: wanted %s, actual: %s",
                        tag_or_digest(p), want, got);
    return 0;
}

static void config_checked(struct pull *p, struct verify_job *vj)
{
    struct berr err = {0};
    p->cfg = vj->cfg;
    memset(&vj->cfg, 0, sizeof(vj->cfg));
    if (check_platform(p, &err) < 0) {
        pull_fail(p, -ENOENT, &err);
        return;
    }
    snprintf(p->image_id, sizeof(p->image_id), "%s", vj->digest);
    p->config_len = vj->body.len;
    p->config = buf_steal(&vj->body);
    start_layers(p);
}

static void verify_done(struct job *job)
{
    struct verify_job *vj = container_of(job, struct verify_job, job);
    struct pull *p = vj->p;
    bool live = !p->finished && !job->cancelled;
    if (live && job->result < 0)
        pull_fail(p, -EBADMSG, &job->err);
    else if (live && vj->config)
        config_checked(p, vj);
    else if (live)
        manifest_checked(p, vj);
    manifest_done(&vj->man);
    image_config_done(&vj->cfg);
    buf_done(&vj->body);
    free(vj);
    pull_unref(p);
}

static void verify_body(struct pull *p, bool config)
{
    struct verify_job *vj = calloc(1, sizeof(*vj));
    if (!vj) {
        struct berr e = {0};
        berr_set(&e, 500, ENOMEM, "out of memory");
        pull_fail(p, -ENOMEM, &e);
        return;
    }
    vj->p = p;
    vj->config = config;
    vj->body = p->body;
    p->body = (struct buf)BUF_INIT;
    const char *expected = config ? p->man.config.digest : p->requested;
    if (strncmp(expected, "sha256:", 7) == 0)
        snprintf(vj->expected, sizeof(vj->expected), "%s", expected);
    snprintf(vj->header_digest, sizeof(vj->header_digest), "%s", p->header_digest);
    snprintf(vj->content_type, sizeof(vj->content_type), "%s", p->content_type);
    job_init(&vj->job, verify_run, verify_done);
    pull_ref(p);
    job_queue(p->ctx->loop, &vj->job);
}

static void body_done(struct reg_req *q, int result, const struct berr *err, void *ud)
{
    struct pull *p = ud;
    (void)q;
    p->req = NULL;
    if (p->finished) {
        pull_unref(p);
        return;
    }
    if (result < 0) {
        struct berr e = {0};
        explain_fetch_error(p, result, err, &e);
        pull_fail(p, result, &e);
    } else {
        verify_body(p, p->man.kind == MANIFEST_IMAGE && p->man.config.digest[0]);
    }
    pull_unref(p);
}

static const struct reg_cbs body_cbs = {body_head, body_data, body_done};

static void fetch(struct pull *p, const char *what, const char *digest_or_tag, bool manifest)
{
    char path[REF_PATH_MAX + REF_TAG_MAX + DIGEST_STR_MAX + 32];
    snprintf(path, sizeof(path), "/v2/%s/%s/%s", ref_repository(&p->ref),
             manifest ? "manifests" : "blobs", digest_or_tag);
    struct buf accept = BUF_INIT;
    buf_append_str(&accept, "Accept: ");
    for (const char *const *t = manifest_accept_types; *t; t++)
        buf_printf(&accept, "%s%s", t == manifest_accept_types ? "" : ", ", *t);
    const char *headers[] = {manifest ? accept.data : NULL, NULL};
    if (manifest)
        snprintf(p->requested, sizeof(p->requested), "%s", digest_or_tag);
    buf_reset(&p->body);
    p->content_type[0] = p->header_digest[0] = '\0';
    struct berr err = {0};
    pull_ref(p);
    if (registry_request(p->reg, "GET", path, headers, NULL, 0, 0, &body_cbs, p, &p->req, &err) <
        0) {
        pull_unref(p);
        berr_wrap(&err, "fetch %s", what);
        pull_fail(p, -EIO, &err);
    }
    buf_done(&accept);
}

/* ---- opening ---- */

static void opened(struct registry *r, int result, const struct berr *err, void *ud)
{
    struct pull *p = ud;
    (void)r;
    if (result < 0) {
        struct berr e = {0};
        explain_fetch_error(p, result, err, &e);
        pull_fail(p, result, &e);
        return;
    }
    fetch(p, "manifest", tag_or_digest(p), true);
}

static void make_key(const struct image_ref *ref, const struct platform *plat, char *out,
                     size_t outlen)
{
    char r[REF_STRING_MAX], pl[128];
    ref_string(ref, r, sizeof(r));
    platform_string(plat, pl, sizeof(pl));
    snprintf(out, outlen, "%s|%s", r, pl);
}

static void attach(struct pull *p, struct pull_listener *l)
{
    l->pull = p;
    list_add_tail(&p->listeners, &l->link);
}

int pull_start(struct pull_ctx *ctx, const struct image_ref *ref, const struct platform *plat,
               const struct auth_config *creds, struct pull_listener *l, struct berr *err)
{
    char key[REF_STRING_MAX + 160];
    make_key(ref, plat, key, sizeof(key));
    struct pull *p = map_get(&ctx->active, key);
    if (p) {
        attach(p, l);
        replay(p, l);
        return 0;
    }
    p = calloc(1, sizeof(*p));
    if (!p || map_put(&ctx->active, key, p) < 0) {
        free(p);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    p->ctx = ctx;
    p->refs = 1;
    snprintf(p->key, sizeof(p->key), "%s", key);
    p->ref = *ref;
    p->plat = *plat;
    list_init(&p->listeners);
    attach(p, l);
    auth_config_from_json(NULL, &p->creds);
    if (creds) {
        p->creds.username = creds->username ? strdup(creds->username) : NULL;
        p->creds.password = creds->password ? strdup(creds->password) : NULL;
        p->creds.registry_token = creds->registry_token ? strdup(creds->registry_token) : NULL;
        p->creds.identity_token = creds->identity_token ? strdup(creds->identity_token) : NULL;
    }
    if (registry_open(ctx->loop, ctx->pool, &ctx->reg, ref->domain, ref_repository(ref), "pull",
                      &p->creds, opened, p, &p->reg, err) < 0) {
        map_del(&ctx->active, key);
        list_del(&l->link);
        l->pull = NULL;
        pull_free(p);
        return -EIO;
    }
    return 0;
}

void pull_detach(struct pull_listener *l)
{
    struct pull *p = l->pull;
    if (!p)
        return;
    list_del(&l->link);
    l->pull = NULL;
    if (list_empty(&p->listeners) && !p->finished) {
        struct berr e = {0};
        berr_set(&e, 500, ECANCELED, "pull cancelled: no client left");
        pull_fail(p, -ECANCELED, &e);
    }
}

void pull_cancel_all(struct pull_ctx *ctx)
{
    const char *k;
    void *v;
    struct berr e = {0};
    berr_set(&e, 503, ECANCELED, "pull cancelled: the daemon is shutting down");
    for (size_t it = 0; map_next(&ctx->active, &it, &k, &v);)
        pull_fail(v, -ECANCELED, &e);
}
