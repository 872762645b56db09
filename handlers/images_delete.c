/* DELETE /images/{name}?force&noprune and POST /images/prune?filters, as
 * moby's daemon/images/image_delete.go and image_prune.go (graphdriver
 * store).
 *
 * Everything that decides runs on the loop: references and images leave the
 * store's tables at once, and so do the layers no image uses any more, so no
 * pull can pick up a layer that is about to vanish. Only the layer
 * directories are removed on a worker; the reply waits for that, so a client
 * that gets its answer finds the disk clean. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/job.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/macros.h"
#include "engine.h"
#include "images.h"
#include "images_json.h"
#include "prune_reply.h"

/* One delete or prune request: what it did, and the layers left to remove. */
struct rmi {
    struct job job;
    struct srv_req *req;
    struct engine *e;
    struct store *s;
    cJSON *records;     /* [{"Untagged": ...} | {"Deleted": ...}] in moby's order */
    struct strv layers; /* chain ids already out of the table */
    struct strv blobs;  /* their compressed blobs no other layer keeps */
    int64_t reclaimed;  /* their sizes */
    bool prune;
    struct berr err; /* a delete that failed after changing something */
};

/* moby refuses a second prune while one runs (images/image_prune.go). */
static bool prune_running;

/* ---- references ---- */

static void record(struct rmi *r, const char *key, const char *value)
{
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, key, value) && cJSON_AddItemToArray(r->records, o))
        return;
    cJSON_Delete(o);
}

/* isImageIDPrefix: the name is (a prefix of) "sha256:<hex>" or of <hex>. */
static bool is_id_prefix(const char *id, const char *name)
{
    size_t n = strlen(name);
    return strncmp(id, name, n) == 0 || strncmp(digest_hex(id), name, n) == 0;
}

static void repo_name(const char *full, char *out, size_t outlen)
{
    struct image_ref ref;
    struct berr err;
    if (ref_parse(full, &ref, &err) < 0)
        snprintf(out, outlen, "%s", full);
    else
        ref_name(&ref, out, outlen);
}

/* isSingleReference: at most one tag, and every reference in one repository. */
static bool is_single_reference(const struct image *img)
{
    size_t n = img->tags.n + img->digests.n;
    if (n <= 1)
        return n == 1;
    if (img->tags.n > 1)
        return false;
    char first[REF_STRING_MAX], other[REF_STRING_MAX];
    repo_name(img->tags.n ? img->tags.v[0] : img->digests.v[0], first, sizeof(first));
    for (size_t i = 0; i < img->digests.n; i++) {
        repo_name(img->digests.v[i], other, sizeof(other));
        if (strcmp(first, other) != 0)
            return false;
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A copy of the image's references in moby's lexical order, so removing them
 * one by one does not disturb the iteration. */
static int refs_snapshot(const struct image *img, struct strv *ret)
{
    *ret = (struct strv){0};
    for (size_t i = 0; i < img->tags.n + img->digests.n; i++) {
        const char *ref = i < img->tags.n ? img->tags.v[i] : img->digests.v[i - img->tags.n];
        if (strv_push(ret, ref) < 0) {
            strv_done(ret);
            return -ENOMEM;
        }
    }
    if (ret->n)
        qsort(ret->v, ret->n, sizeof(*ret->v), cmp_str);
    return 0;
}

/* Removes one reference (full form) and records it; event is moby's untag
 * event, which it sends for every removal but the digest clean-up's. */
static int untag(struct rmi *r, const struct image *img, const char *full, bool event,
                 struct berr *err)
{
    struct image_ref ref;
    if (ref_parse(full, &ref, err) < 0 || store_untag(r->s, &ref, err) < 0)
        return -EINVAL;
    char fam[REF_STRING_MAX];
    ref_familiar_string(&ref, fam, sizeof(fam));
    record(r, "Untagged", fam);
    if (event)
        images_event(r->e, "untag", img->id, img, img->id);
    return 0;
}

static int untag_all(struct rmi *r, const struct image *img, struct berr *err)
{
    struct strv refs;
    if (refs_snapshot(img, &refs) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < refs.n; i++)
        rc = untag(r, img, refs.v[i], true, err);
    strv_done(&refs);
    return rc;
}

/* ---- conflicts ---- */

enum conflict {
    CONFLICT_CHILD = 1 << 0,     /* hard: an image names it as parent */
    CONFLICT_CONTAINER = 1 << 1, /* hard: containers use it */
    CONFLICT_REFERENCE = 1 << 2, /* soft: it still has references */
};

static bool has_children(const struct store *s, const struct image *img)
{
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&s->images, &i, &key, &v);) {
        if (strcmp(((const struct image *)v)->parent, img->id) == 0)
            return true;
    }
    return false;
}

/* checkImageDeleteConflict. The store counts containers without telling
 * running from stopped ones, and deleting the layers under any container
 * would break it, so a container is always a hard conflict here. */
static int check_conflict(const struct rmi *r, const struct image *img, unsigned mask,
                          bool *ret_used, struct berr *err)
{
    const char *hex = digest_hex(img->id);
    *ret_used = false;
    if ((mask & CONFLICT_CHILD) && has_children(r->s, img))
        return berr_set(err, 409, EBUSY,
                        "conflict: unable to delete %.12s (cannot be forced) - image has "
                        "dependent child images",
                        hex);
    if ((mask & CONFLICT_CONTAINER) && img->users > 0) {
        *ret_used = true;
        return berr_set(err, 409, EBUSY,
                        "conflict: unable to delete %.12s (cannot be forced) - image is being "
                        "used by %d container(s)",
                        hex, img->users);
    }
    if ((mask & CONFLICT_REFERENCE) && img->tags.n + img->digests.n > 0)
        return berr_set(err, 409, EBUSY,
                        "conflict: unable to delete %.12s (must be forced) - image is "
                        "referenced in multiple repositories",
                        hex);
    return 0;
}

/* ---- deletion ---- */

/* Takes the image's now unused layers out of the table (top layer first, as
 * moby lists them) and queues their directories for the worker. */
static void drop_layers(struct rmi *r, struct strv *unused)
{
    for (size_t i = unused->n; i-- > 0;) {
        const struct layer *l = store_layer(r->s, unused->v[i]);
        if (!l)
            continue;
        record(r, "Deleted", l->chain_id);
        r->reclaimed += l->size;
        /* On ENOMEM the directory stays: an orphan the next start reloads. */
        if (strv_push(&r->layers, l->chain_id) < 0)
            log_error("layer %s: out of memory, its directory stays", l->chain_id);
        char blob[DIGEST_STR_MAX];
        snprintf(blob, sizeof(blob), "%s", l->blob_digest);
        store_layer_forget(r->s, unused->v[i]);
        if (blob[0] && store_blob_unused(r->s, blob) && strv_push(&r->blobs, blob) < 0)
            log_error("blob %s: out of memory, it stays", blob);
    }
}

static int delete_image(struct rmi *r, struct image *img, bool force, bool prune, bool quiet,
                        struct berr *err);

/* imageDeleteHelper's second half: references, the image, its layers, and
 * (prune) its parent, quietly. */
static int remove_image(struct rmi *r, struct image *img, bool prune, struct berr *err)
{
    char id[DIGEST_STR_MAX], parent[DIGEST_STR_MAX];
    snprintf(id, sizeof(id), "%s", img->id);
    snprintf(parent, sizeof(parent), "%s", img->parent);
    struct strv unused = {0};
    if (untag_all(r, img, err) < 0 || store_image_remove(r->s, img, &unused, err) < 0) {
        strv_done(&unused);
        return -EIO;
    }
    images_last_tag_forget(id);
    images_event(r->e, "delete", id, NULL, id);
    record(r, "Deleted", id);
    drop_layers(r, &unused);
    strv_done(&unused);
    struct image *p = prune && parent[0] ? store_image_by_id(r->s, parent) : NULL;
    return p ? delete_image(r, p, false, true, true, err) : 0;
}

/* imageDeleteHelper: quiet (after an untag, and for parents) keeps an image
 * that is still wanted instead of failing. */
static int delete_image(struct rmi *r, struct image *img, bool force, bool prune, bool quiet,
                        struct berr *err)
{
    bool used;
    unsigned mask = CONFLICT_CHILD | CONFLICT_CONTAINER | (force ? 0 : CONFLICT_REFERENCE);
    int rc = check_conflict(r, img, mask, &used, err);
    if (rc < 0) {
        bool dangling = img->tags.n + img->digests.n == 0 && !has_children(r->s, img);
        if (quiet && (!dangling || used)) {
            berr_clear(err);
            return 0;
        }
        return rc;
    }
    return remove_image(r, img, prune, err);
}

/* After a tag went: if no tag of that repository is left, its digest
 * references go too (they would only keep a nameless image alive). */
static int untag_repo_digests(struct rmi *r, const struct image *img, const char *name,
                              struct berr *err)
{
    char other[REF_STRING_MAX];
    for (size_t i = 0; i < img->tags.n; i++) {
        repo_name(img->tags.v[i], other, sizeof(other));
        if (strcmp(other, name) == 0)
            return 0;
    }
    struct strv refs;
    if (refs_snapshot(img, &refs) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < refs.n; i++) {
        repo_name(refs.v[i], other, sizeof(other));
        if (strchr(refs.v[i], '@') && strcmp(other, name) == 0)
            rc = untag(r, img, refs.v[i], false, err);
    }
    strv_done(&refs);
    return rc;
}

/* The name is a reference: untag it; the image goes with its last one. */
static int delete_by_ref(struct rmi *r, struct image *img, const char *name, bool force, bool prune,
                         struct berr *err)
{
    if (!force && is_single_reference(img) && img->users > 0)
        return berr_set(err, 409, EBUSY,
                        "conflict: unable to remove repository reference \"%s\" (must force) - "
                        "container is using its referenced image %.12s",
                        name, digest_hex(img->id));
    struct image_ref ref;
    if (ref_parse(name, &ref, err) < 0)
        return -EINVAL;
    if (ref.digest[0]) /* name:tag@digest is stored by its digest only */
        ref.tag[0] = '\0';
    ref_default_tag(&ref);
    char full[REF_STRING_MAX], repo[REF_STRING_MAX];
    ref_string(&ref, full, sizeof(full));
    ref_name(&ref, repo, sizeof(repo));
    if (untag(r, img, full, true, err) < 0)
        return -EINVAL;
    if (!ref.digest[0] && untag_repo_digests(r, img, repo, err) < 0)
        return -EIO;
    if (img->tags.n + img->digests.n > 0)
        return 0;
    return delete_image(r, img, force, prune, true, err);
}

/* The name is an ID: references in one repository go with it; more need force. */
static int delete_by_id(struct rmi *r, struct image *img, bool force, bool prune, struct berr *err)
{
    if (is_single_reference(img)) {
        bool used;
        if (check_conflict(r, img, CONFLICT_CHILD | CONFLICT_CONTAINER, &used, err) < 0 ||
            untag_all(r, img, err) < 0)
            return -EBUSY;
    }
    return delete_image(r, img, force, prune, false, err);
}

/* ImageDelete. */
static int image_delete(struct rmi *r, const char *name, bool force, bool prune, struct berr *err)
{
    struct image *img = store_image_lookup(r->s, name, err);
    if (!img)
        return -ENOENT;
    if (is_id_prefix(img->id, name))
        return delete_by_id(r, img, force, prune, err);
    return delete_by_ref(r, img, name, force, prune, err);
}

/* ---- the request and its layer job ---- */

static struct rmi *rmi_new(struct srv_req *req, struct store *s, bool prune)
{
    struct rmi *r = calloc(1, sizeof(*r));
    if (r && !(r->records = cJSON_CreateArray())) {
        free(r);
        r = NULL;
    }
    if (!r)
        return NULL;
    r->req = req;
    r->e = srv_req_ctx(req);
    r->s = s;
    r->prune = prune;
    return r;
}

static void rmi_free(struct rmi *r)
{
    cJSON_Delete(r->records);
    strv_done(&r->layers);
    strv_done(&r->blobs);
    free(r);
}

static void reply_prune(struct rmi *r)
{
    cJSON *o = prune_reply(r->e->events, "image", "ImagesDeleted", r->records, r->reclaimed);
    r->records = NULL;
    prune_running = false;
    srv_reply_json(r->req, 200, o);
}

/* Ends the request: the records, or the error that stopped the delete. */
static void rmi_reply(struct rmi *r)
{
    if (r->prune) {
        reply_prune(r);
    } else if (r->err.status) {
        srv_reply_berr(r->req, &r->err);
    } else {
        srv_reply_json(r->req, 200, r->records);
        r->records = NULL;
    }
    rmi_free(r);
}

static int layers_run(struct job *job)
{
    struct rmi *r = container_of(job, struct rmi, job);
    int rc = 0;
    for (size_t i = 0; i < r->layers.n; i++) {
        struct berr err = {0};
        /* Keep going: one stuck directory must not keep the others. */
        if (store_layer_remove_sync(r->s, r->layers.v[i], &err) < 0 && rc == 0) {
            rc = -EIO;
            job->err = err;
        }
    }
    for (size_t i = 0; i < r->blobs.n; i++) {
        struct berr err = {0};
        if (store_blob_remove_sync(r->s, r->blobs.v[i], &err) < 0 && rc == 0) {
            rc = -EIO;
            job->err = err;
        }
    }
    return rc;
}

static void layers_done(struct job *job)
{
    struct rmi *r = container_of(job, struct rmi, job);
    if (job->result < 0 && !job->cancelled) {
        log_error("image layers not removed: %s", job->err.msg);
        if (!r->prune && !r->err.status)
            r->err = job->err;
    }
    rmi_reply(r);
}

/* Removes the dropped layers' directories, then replies. */
static void rmi_finish(struct rmi *r)
{
    if (r->layers.n == 0) {
        rmi_reply(r);
        return;
    }
    job_init(&r->job, layers_run, layers_done);
    if (job_queue(r->e->loop, &r->job) < 0) {
        log_error("image layers not removed: cannot queue work");
        rmi_reply(r); /* the directories stay as orphans, found again at start */
    }
}

static bool blank(const char *s)
{
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    return *s == '\0';
}

void h_images_delete(struct srv_req *req)
{
    struct store *s = images_store(req);
    if (!s)
        return;
    const char *name = req->params[0];
    if (blank(name)) {
        srv_reply_error(req, 400, "image name cannot be blank");
        return;
    }
    struct rmi *r = rmi_new(req, s, false);
    if (!r) {
        srv_reply_error(req, 500, "out of memory");
        return;
    }
    bool force = srv_req_query_bool(req, "force");
    bool prune = !srv_req_query_bool(req, "noprune");
    if (image_delete(r, name, force, prune, &r->err) == 0)
        berr_clear(&r->err);
    else if (!r->err.status)
        berr_set(&r->err, 500, EIO, "image %s: delete failed", name);
    rmi_finish(r); /* layers dropped before a failure are still removed */
}

/* ---- prune ---- */

static const char *const prune_filters[] = {"dangling", "label", "label!", "until", NULL};

struct prune_query {
    struct filters f;
    bool dangling_only;
    bool has_until;
    int64_t until_ns;
};

static int parse_prune(struct srv_req *req, struct prune_query *q, struct berr *err)
{
    if (filters_parse(srv_req_query(req, "filters"), &q->f, err) < 0)
        return -EINVAL;
    int rc = filters_validate(&q->f, prune_filters, err);
    if (rc == 0)
        rc = images_filter_bool(&q->f, "dangling", true, &q->dangling_only, err);
    return rc < 0 ? rc : prune_until(&q->f, &q->has_until, &q->until_ns, err);
}

static bool image_labels_match(const struct prune_query *q, const struct image *img)
{
    if (!images_config(img))
        return true;
    size_t n;
    struct event_attr *attrs = images_label_attrs(img, &n);
    bool ok = prune_labels_match(&q->f, attrs, n);
    free(attrs);
    return ok;
}

static bool prune_candidate(const struct prune_query *q, const struct image *img,
                            const struct map *parents)
{
    bool children = map_get(parents, img->id) != NULL;
    if (q->dangling_only && children) /* dangling prunes look at heads only */
        return false;
    if (img->tags.n + img->digests.n == 0 && children) /* intermediate */
        return false;
    if (q->has_until && (!img->config.created_ns || img->config.created_ns > q->until_ns))
        return false;
    return image_labels_match(q, img);
}

/* imageDeleteFailed: conflicts are expected and silent, the rest is logged.
 * A reference gone with an earlier one (digests leave with the repository's
 * last tag) is expected too. */
static void prune_one(struct rmi *r, const char *name)
{
    struct berr err = {0};
    if (image_delete(r, name, false, true, &err) < 0 && err.status != 409 && err.status != 404)
        log_warn("failed to prune image %s: %s", name, err.msg);
}

static void prune_image(struct rmi *r, const struct prune_query *q, const char *id)
{
    struct image *img = store_image_by_id(r->s, id);
    if (!img) /* gone with an earlier one (a pruned parent) */
        return;
    if (img->tags.n + img->digests.n == 0) {
        prune_one(r, digest_hex(id));
        return;
    }
    /* dangling=true: only images whose references are all digests. */
    if (q->dangling_only && img->tags.n > 0)
        return;
    struct strv refs;
    if (refs_snapshot(img, &refs) < 0)
        return;
    for (size_t i = 0; i < refs.n; i++)
        prune_one(r, refs.v[i]);
    strv_done(&refs);
}

/* Ids first: deleting changes the table being walked. */
static int prune_all(struct rmi *r, const struct prune_query *q)
{
    struct map parents;
    struct strv ids = {0};
    if (images_parent_set(r->s, &parents) < 0)
        return -ENOMEM;
    const char *key;
    void *v;
    int rc = 0;
    for (size_t i = 0; rc == 0 && map_next(&r->s->images, &i, &key, &v);) {
        if (prune_candidate(q, v, &parents))
            rc = strv_push(&ids, key);
    }
    map_done(&parents);
    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        prune_image(r, q, ids.v[i]);
    strv_done(&ids);
    return rc;
}

void h_images_prune(struct srv_req *req)
{
    struct store *s = images_store(req);
    if (!s)
        return;
    if (prune_running) {
        srv_reply_error(req, 409, "a prune operation is already running");
        return;
    }
    struct prune_query q = {0};
    struct berr err = {0};
    struct rmi *r = NULL;
    if (parse_prune(req, &q, &err) < 0 || !(r = rmi_new(req, s, true))) {
        filters_done(&q.f);
        if (!err.status)
            berr_set(&err, 500, ENOMEM, "out of memory");
        srv_reply_berr(req, &err);
        return;
    }
    prune_running = true;
    if (prune_all(r, &q) < 0)
        log_error("image prune: out of memory, stopped early");
    filters_done(&q.f);
    rmi_finish(r);
}
