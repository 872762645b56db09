/* References: tag/untag and repositories.json.
 *
 *   {"Repositories": {"docker.io/library/busybox":
 *                       {"docker.io/library/busybox:latest": "sha256:...",
 *                        "docker.io/library/busybox@sha256:...": "sha256:..."}}}
 *
 * Changes are written by one job at a time: a change while a write is in
 * flight only marks the table dirty, and the job's completion writes again,
 * so a burst costs at most two writes. Each snapshot carries a sequence
 * number and only a newer one replaces the file, which keeps a late job from
 * overwriting what store_flush_sync wrote. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/log.h"
#include "common/macros.h"
#include "store_internal.h"

int store_strv_remove(struct strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i], s) != 0)
            continue;
        free(v->v[i]);
        memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof(*v->v));
        v->n--;
        return 0;
    }
    return -ENOENT;
}

/* ---- serialising ---- */

/* "docker.io/library/x:tag" or "...@sha256:..." -> length of the name. */
static size_t ref_name_len(const char *full)
{
    const char *at = strchr(full, '@');
    if (at)
        return (size_t)(at - full);
    const char *slash = strrchr(full, '/');
    const char *colon = strrchr(slash ? slash : full, ':');
    return colon ? (size_t)(colon - full) : strlen(full);
}

static bool add_ref(cJSON *repos, const char *full, const char *id)
{
    char name[REF_STRING_MAX];
    snprintf(name, sizeof(name), "%.*s", (int)ref_name_len(full), full);
    cJSON *repo = cJSON_GetObjectItemCaseSensitive(repos, name);
    if (!repo && !(repo = cJSON_AddObjectToObject(repos, name)))
        return false;
    return cJSON_AddStringToObject(repo, full, id) != NULL;
}

static char *refs_serialize(const struct store *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *repos = cJSON_AddObjectToObject(root, "Repositories");
    bool ok = repos != NULL;
    const char *key;
    void *v;
    for (size_t i = 0; ok && map_next(&s->refs, &i, &key, &v);)
        ok = add_ref(repos, key, ((struct image *)v)->id);
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* Worker or shutdown: writes a snapshot unless a newer one is on disk. */
static int refs_write(struct store_shared *sh, const char *path, const char *text, uint64_t seq,
                      struct berr *err)
{
    int r = 0;
    pthread_mutex_lock(&sh->refs_lock);
    if (seq > sh->refs_written) {
        r = atomic_write_file(path, text, strlen(text), 0600, err);
        if (r == 0)
            sh->refs_written = seq;
    }
    pthread_mutex_unlock(&sh->refs_lock);
    return r;
}

/* ---- the coalescing write job ---- */

struct refs_job {
    struct store_job sj;
    uint64_t seq;
    uint64_t covers; /* reference changes this snapshot includes */
    char *text;
    char path[STORE_PATH_MAX];
};

static void refs_start(struct store *s);

struct refs_waiter {
    struct list link;
    uint64_t needs; /* the change count that must be on disk */
    store_saved_fn done;
    void *ud;
};

/* Tells the waiters whose changes a finished write covered (or all of them
 * about a failure). */
static void notify_waiters(struct store_full *sf, uint64_t covered, int result,
                           const struct berr *err)
{
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &sf->refs_waiters)
    {
        struct refs_waiter *w = container_of(pos, struct refs_waiter, link);
        if (result == 0 && w->needs > covered)
            continue;
        list_del(&w->link);
        w->done(w->ud, result, err);
        free(w);
    }
}

void store_refs_drop_waiters(struct store_full *sf)
{
    while (!list_empty(&sf->refs_waiters)) {
        struct refs_waiter *w = container_of(sf->refs_waiters.next, struct refs_waiter, link);
        list_del(&w->link);
        free(w);
    }
}

void store_refs_saved(struct store *s, store_saved_fn done, void *ud)
{
    struct store_full *sf = store_full(s);
    if (!s->refs_dirty && !s->refs_writing) {
        done(ud, 0, NULL);
        return;
    }
    struct refs_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        struct berr e = {0};
        berr_set(&e, 500, ENOMEM, "out of memory");
        done(ud, -ENOMEM, &e);
        return;
    }
    w->needs = sf->refs_changes;
    w->done = done;
    w->ud = ud;
    list_add_tail(&sf->refs_waiters, &w->link);
}

static int refs_job_run(struct job *job)
{
    struct refs_job *rj = container_of(job, struct refs_job, sj.job);
    return refs_write(rj->sj.shared, rj->path, rj->text, rj->seq, &job->err);
}

static void refs_job_done(struct job *job)
{
    struct refs_job *rj = container_of(job, struct refs_job, sj.job);
    struct store_full *sf = rj->sj.owner;
    bool failed = job->result < 0 && !job->cancelled;
    if (failed) /* the waiters hear of it; a later change retries */
        log_error("references not saved: %s", job->err.msg);
    uint64_t covered = rj->covers;
    struct berr err = job->err;
    store_job_finish(&rj->sj);
    free(rj->text);
    free(rj);
    if (!sf)
        return;
    sf->pub.refs_writing = false;
    notify_waiters(sf, covered, failed ? -EIO : 0, failed ? &err : NULL);
    if (failed) /* kept dirty: retried with the next change, or at flush */
        sf->pub.refs_dirty = true;
    else if (sf->pub.refs_dirty)
        refs_start(&sf->pub);
}

static void refs_start(struct store *s)
{
    struct store_full *sf = store_full(s);
    struct refs_job *rj = calloc(1, sizeof(*rj));
    if (rj && (rj->text = refs_serialize(s))) {
        rj->seq = ++sf->refs_seq;
        rj->covers = sf->refs_changes;
        store_path(s, rj->path, sizeof(rj->path), "repositories.json");
        s->refs_dirty = false;
        s->refs_writing = true;
        if (store_job_queue(sf, &rj->sj, refs_job_run, refs_job_done) == 0)
            return;
        s->refs_writing = false;
    }
    log_error("references not saved: cannot start the write");
    s->refs_dirty = true;
    if (rj)
        free(rj->text);
    free(rj);
}

static void refs_changed(struct store *s)
{
    store_full(s)->refs_changes++;
    s->refs_dirty = true;
    if (!s->refs_writing)
        refs_start(s);
}

int store_flush_sync(struct store *s, struct berr *err)
{
    if (!s->refs_dirty && !s->refs_writing)
        return 0;
    struct store_full *sf = store_full(s);
    char *text = refs_serialize(s);
    if (!text)
        return berr_set(err, 500, ENOMEM, "out of memory");
    char path[STORE_PATH_MAX];
    store_path(s, path, sizeof(path), "repositories.json");
    int r = refs_write(sf->shared, path, text, ++sf->refs_seq, err);
    free(text);
    if (r == 0)
        s->refs_dirty = false;
    return r;
}

/* ---- tag / untag (loop) ---- */

static struct strv *ref_list(struct image *img, const char *full)
{
    return strchr(full, '@') ? &img->digests : &img->tags;
}

/* moby's reference store refuses these (reference/store.go AddTag, addReference). */
static int check_taggable(const struct image_ref *ref, struct berr *err)
{
    if (ref->tag[0] && ref->digest[0])
        return berr_set(err, 400, EINVAL, "refusing to create a tag with a digest reference");
    if (strcmp(ref->domain, REF_DEFAULT_DOMAIN) == 0 && strcmp(ref->path, "library/sha256") == 0)
        return berr_set(err, 400, EINVAL,
                        "refusing to create an ambiguous tag using digest algorithm as name");
    return 0;
}

int store_tag(struct store *s, struct image *img, const struct image_ref *ref, struct berr *err)
{
    int r = check_taggable(ref, err);
    if (r < 0)
        return r;
    struct image_ref copy = *ref;
    ref_default_tag(&copy);
    char full[REF_STRING_MAX];
    ref_string(&copy, full, sizeof(full));
    struct image *old = map_get(&s->refs, full);
    if (old == img)
        return 0;
    if (strv_push(ref_list(img, full), full) < 0)
        return berr_set(err, 500, ENOMEM, "out of memory");
    if (map_put(&s->refs, full, img) < 0) {
        store_strv_remove(ref_list(img, full), full);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    if (old)
        store_strv_remove(ref_list(old, full), full);
    refs_changed(s);
    return 0;
}

int store_untag(struct store *s, const struct image_ref *ref, struct berr *err)
{
    struct image_ref copy = *ref;
    ref_default_tag(&copy);
    char full[REF_STRING_MAX];
    ref_string(&copy, full, sizeof(full));
    struct image *img = map_del(&s->refs, full);
    if (!img) {
        ref_familiar_string(&copy, full, sizeof(full));
        return berr_set(err, 404, ENOENT, "No such image: %s", full);
    }
    store_strv_remove(ref_list(img, full), full);
    refs_changed(s);
    return 0;
}

/* ---- loading (startup) ---- */

/* A reference as we write it: canonical, tag or digest (not both). */
static bool ref_key_valid(const char *full)
{
    struct image_ref ref;
    struct berr err;
    char again[REF_STRING_MAX];
    if (ref_parse(full, &ref, &err) < 0 || (!ref.tag[0]) == (!ref.digest[0]))
        return false;
    ref_string(&ref, again, sizeof(again));
    return strcmp(again, full) == 0;
}

static int load_ref(struct store *s, const cJSON *entry, struct strv *w)
{
    const char *full = entry->string;
    if (!ref_key_valid(full)) {
        store_warn(w, "reference '%s' dropped: invalid reference", full);
        return 0;
    }
    struct image *img = cJSON_IsString(entry) ? map_get(&s->images, entry->valuestring) : NULL;
    if (!img) {
        store_warn(w, "reference %s dropped: unknown image %s", full,
                   cJSON_IsString(entry) ? entry->valuestring : "(not a string)");
        return 0;
    }
    if (map_get(&s->refs, full))
        return 0;
    if (strv_push(ref_list(img, full), full) < 0 || map_put(&s->refs, full, img) < 0)
        return -ENOMEM;
    return 0;
}

static int load_refs_json(struct store *s, const cJSON *root, struct strv *w)
{
    const cJSON *repos = cJSON_GetObjectItemCaseSensitive(root, "Repositories");
    if (!cJSON_IsObject(repos)) {
        store_warn(w, "repositories.json: no \"Repositories\" object, references dropped");
        return 0;
    }
    const cJSON *repo, *entry;
    cJSON_ArrayForEach(repo, repos)
    {
        if (!cJSON_IsObject(repo)) {
            store_warn(w, "repositories.json: '%s' is not an object, skipped", repo->string);
            continue;
        }
        cJSON_ArrayForEach(entry, repo)
        {
            int r = load_ref(s, entry, w);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int store_refs_load(struct store *s, struct strv *warnings)
{
    char path[STORE_PATH_MAX], *text = NULL;
    size_t len = 0;
    struct berr err = {0};
    store_path(s, path, sizeof(path), "repositories.json");
    int r = read_file_all(path, STORE_REPOS_MAX, &text, &len, &err);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        store_warn(warnings, "references not loaded: %s", err.msg);
        return r == -ENOMEM ? r : 0;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) {
        store_warn(warnings, "repositories.json is not valid JSON, references dropped");
        return 0;
    }
    r = load_refs_json(s, root, warnings);
    cJSON_Delete(root);
    return r;
}
