/* Images: the table, images/<id>.json records and their deletion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/timeutil.h"
#include "fsutil.h"
#include "store_internal.h"

/* ---- records ---- */

char *store_image_record_json(const char *id, char *const *chain, size_t nchain, const char *parent,
                              int64_t loaded_ns, int64_t size)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "chain");
    bool ok = arr && cJSON_AddStringToObject(o, "id", id);
    for (size_t i = 0; ok && i < nchain; i++) {
        cJSON *item = cJSON_CreateString(chain[i]);
        ok = item && cJSON_AddItemToArray(arr, item);
    }
    ok = ok && cJSON_AddStringToObject(o, "parent", parent) &&
         json_add_int64(o, "loaded", loaded_ns) && json_add_int64(o, "size", size);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static void free_chain(char **chain, size_t n)
{
    for (size_t i = 0; chain && i < n; i++)
        free(chain[i]);
    free(chain);
}

/* Chain ids of the config's diff_ids; with s, each must be in the table. */
int store_image_chain(const struct store *s, const struct image_config *c, char ***ret_chain,
                      struct berr *err)
{
    char **chain = calloc(c->ndiff_ids ? c->ndiff_ids : 1, sizeof(*chain));
    if (!chain)
        return berr_set(err, 500, ENOMEM, "out of memory");
    const char *prev = "";
    for (size_t i = 0; i < c->ndiff_ids; i++) {
        char cur[DIGEST_STR_MAX];
        digest_chain_id(prev, c->diff_ids[i], cur);
        if (s && !map_get(&s->layers, cur)) {
            free_chain(chain, i);
            return berr_set(err, 404, ENOENT, "layer %s (diff %s) not present", cur,
                            c->diff_ids[i]);
        }
        if (!(chain[i] = strdup(cur))) {
            free_chain(chain, i);
            return berr_set(err, 500, ENOMEM, "out of memory");
        }
        prev = chain[i];
    }
    *ret_chain = chain;
    return 0;
}

/* ---- table (loop) ---- */

void store_image_free(struct image *img)
{
    if (!img)
        return;
    image_config_done(&img->config);
    free_chain(img->chain, img->nchain);
    strv_done(&img->tags);
    strv_done(&img->digests);
    free(img);
}

/* Takes its layers and enters the table; size is recomputed from them. */
int store_image_attach(struct store *s, struct image *img)
{
    if (map_put(&s->images, img->id, img) < 0)
        return -ENOMEM;
    img->size = 0;
    for (size_t i = 0; i < img->nchain; i++) {
        struct layer *l = map_get(&s->layers, img->chain[i]);
        l->refs++;
        img->size += l->size;
    }
    return 0;
}

int store_image_insert(struct store *s, struct image_config *config, const char *id,
                       struct image **ret, struct berr *err)
{
    if (!store_id_valid(id))
        return berr_set(err, 400, EINVAL, "invalid image ID '%s'", id ? id : "");
    struct image *img = map_get(&s->images, id);
    if (img) { /* the same config again, e.g. pulled under another name */
        image_config_done(config);
        *ret = img;
        return 0;
    }
    char **chain = NULL;
    int r = store_image_chain(s, config, &chain, err);
    if (r < 0)
        return r;
    if (!(img = calloc(1, sizeof(*img)))) {
        free_chain(chain, config->ndiff_ids);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    snprintf(img->id, sizeof(img->id), "%s", id);
    img->chain = chain;
    img->nchain = config->ndiff_ids;
    img->loaded_ns = time_now_ns();
    img->config = *config;
    if (store_image_attach(s, img) < 0) {
        img->config = (struct image_config){0}; /* stays the caller's */
        store_image_free(img);
        return berr_set(err, 500, ENOMEM, "out of memory");
    }
    memset(config, 0, sizeof(*config));
    *ret = img;
    return 0;
}

/* ---- deletion of the record and config blob (job) ---- */

struct image_delete_job {
    struct store_job sj;
    char id[DIGEST_STR_MAX];
    uintptr_t seq;
    char record[STORE_PATH_MAX];
    char blob[STORE_PATH_MAX];
    char dir[STORE_PATH_MAX]; /* images/ */
};

static int unlink_missing_ok(const char *path, struct berr *err)
{
    if (unlink(path) < 0 && errno != ENOENT)
        return berr_errno(err, 500, errno, "remove '%s'", path);
    return 0;
}

static int image_delete_run(struct job *job)
{
    struct image_delete_job *dj = container_of(job, struct image_delete_job, sj.job);
    struct store_shared *sh = dj->sj.shared;
    int r = 0;
    pthread_mutex_lock(&sh->tomb_lock);
    /* Skip when the image was written again (or removed again) since. */
    if ((uintptr_t)map_get(&sh->tombs, dj->id) == dj->seq) {
        map_del(&sh->tombs, dj->id);
        r = unlink_missing_ok(dj->record, &job->err);
        if (r == 0)
            r = unlink_missing_ok(dj->blob, &job->err);
    }
    pthread_mutex_unlock(&sh->tomb_lock);
    if (r == 0 && (r = fs_fsync_dir(dj->dir)) < 0) /* or the image is back after a crash */
        berr_errno(&job->err, 500, -r, "sync '%s'", dj->dir);
    return r;
}

static void image_delete_done(struct job *job)
{
    struct image_delete_job *dj = container_of(job, struct image_delete_job, sj.job);
    /* No caller is left to report to: a leftover record comes back as an
     * untagged image at the next start, which the user can remove again. */
    if (job->result < 0 && !job->cancelled)
        log_error("image %s: %s", dj->id, job->err.msg);
    store_job_finish(&dj->sj);
    free(dj);
}

static uintptr_t tomb_set(struct store_shared *sh, const char *id)
{
    pthread_mutex_lock(&sh->tomb_lock);
    uintptr_t seq = ++sh->tomb_seq;
    if (map_put(&sh->tombs, id, (void *)seq) < 0)
        seq = 0;
    pthread_mutex_unlock(&sh->tomb_lock);
    return seq;
}

static void tomb_clear(struct store_shared *sh, const char *id)
{
    pthread_mutex_lock(&sh->tomb_lock);
    map_del(&sh->tombs, id);
    pthread_mutex_unlock(&sh->tomb_lock);
}

static void queue_image_delete(struct store *s, const char *id)
{
    struct store_full *sf = store_full(s);
    struct image_delete_job *dj = calloc(1, sizeof(*dj));
    if (!dj || !(dj->seq = tomb_set(sf->shared, id))) {
        free(dj);
        log_error("image %s: out of memory, its record stays on disk", id);
        return;
    }
    snprintf(dj->id, sizeof(dj->id), "%s", id);
    store_image_record_path(s, id, dj->record, sizeof(dj->record));
    store_blob_path(s, id, dj->blob, sizeof(dj->blob));
    store_path(s, dj->dir, sizeof(dj->dir), "images");
    int r = store_job_queue(sf, &dj->sj, image_delete_run, image_delete_done);
    if (r < 0) {
        tomb_clear(sf->shared, id);
        log_error("image %s: cannot queue removal: %s", id, uv_strerror(r));
        free(dj);
    }
}

int store_image_remove(struct store *s, struct image *img, struct strv *ret_unused_layers,
                       struct berr *err)
{
    if (map_get(&s->images, img->id) != img)
        return berr_set(err, 404, ENOENT, "No such image: %s", img->id);
    if (img->tags.n || img->digests.n)
        return berr_set(err, 409, EBUSY,
                        "conflict: unable to remove image %.12s: still referenced by %zu tag(s) "
                        "and %zu digest(s)",
                        digest_hex(img->id), img->tags.n, img->digests.n);
    for (size_t i = 0; i < img->nchain; i++) {
        struct layer *l = map_get(&s->layers, img->chain[i]);
        /* An allocation failure leaves a layer on disk, nothing worse. */
        if (l && --l->refs <= 0 && ret_unused_layers)
            (void)strv_push(ret_unused_layers, l->chain_id);
    }
    map_del(&s->images, img->id);
    queue_image_delete(s, img->id);
    store_image_free(img);
    return 0;
}

/* ---- writing (worker) ---- */

static int write_blob(const struct store *s, const char *id, const char *data, size_t len,
                      struct berr *err)
{
    if (store_blob_exists_sync(s, id))
        return 0;
    char path[STORE_PATH_MAX];
    store_blob_path(s, id, path, sizeof(path));
    return atomic_write_file(path, data, len, 0644, err);
}

static int write_record(const struct store *s, const char *id, const struct image *img,
                        char *const *chain, size_t nchain, struct berr *err)
{
    int64_t loaded = img->loaded_ns ? img->loaded_ns : time_now_ns();
    char *text = store_image_record_json(id, chain, nchain, img->parent, loaded, img->size);
    if (!text)
        return berr_set(err, 500, ENOMEM, "out of memory");
    char path[STORE_PATH_MAX];
    store_image_record_path(s, id, path, sizeof(path));
    int r = atomic_write_file(path, text, strlen(text), 0600, err);
    free(text);
    return r;
}

/* img->chain may be left empty: it is then computed from the config. */
int store_image_write_sync(const struct store *s, const struct image *img, const char *config,
                           size_t config_len, struct berr *err)
{
    char id[DIGEST_STR_MAX];
    sha256_digest(config, config_len, id);
    if (img->id[0] && strcmp(img->id, id) != 0)
        return berr_set(err, 400, EINVAL, "image config digest %s does not match image ID %s", id,
                        img->id);
    /* Before writing: a removal of the same ID queued earlier must not
     * delete what is written now. */
    tomb_clear(store_full(s)->shared, id);
    int r = write_blob(s, id, config, config_len, err);
    if (r < 0 || img->nchain > 0)
        return r < 0 ? r : write_record(s, id, img, img->chain, img->nchain, err);
    struct image_config c;
    if ((r = image_config_parse(config, config_len, &c, err)) < 0)
        return r;
    char **chain = NULL;
    r = store_image_chain(NULL, &c, &chain, err);
    if (r == 0)
        r = write_record(s, id, img, chain, c.ndiff_ids, err);
    free_chain(chain, c.ndiff_ids);
    image_config_done(&c);
    return r;
}
