/* Layers: layer.json, the table, commit into layers/ and removal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/jsonutil.h"
#include "fsutil.h"
#include "store_internal.h"

/* ---- layer.json ---- */

char *store_layer_to_json(const struct layer *l)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = cJSON_AddStringToObject(o, "chain_id", l->chain_id) &&
              cJSON_AddStringToObject(o, "diff_id", l->diff_id) &&
              cJSON_AddStringToObject(o, "parent", l->parent) &&
              cJSON_AddStringToObject(o, "blob_digest", l->blob_digest) &&
              cJSON_AddStringToObject(o, "media_type", l->media_type) &&
              json_add_int64(o, "blob_size", l->blob_size) && json_add_int64(o, "size", l->size);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static int layer_fields(const cJSON *o, const char *text, struct layer *l)
{
    int r;
    if ((r = store_json_str(o, "chain_id", l->chain_id, sizeof(l->chain_id))) < 0 ||
        (r = store_json_str(o, "diff_id", l->diff_id, sizeof(l->diff_id))) < 0 ||
        (r = store_json_str(o, "parent", l->parent, sizeof(l->parent))) < 0 ||
        (r = store_json_str(o, "blob_digest", l->blob_digest, sizeof(l->blob_digest))) < 0 ||
        (r = store_json_str(o, "media_type", l->media_type, sizeof(l->media_type))) < 0)
        return r;
    if (cJSON_GetObjectItemCaseSensitive(o, "blob_size") &&
        (r = store_json_int64(o, text, "blob_size", &l->blob_size)) < 0)
        return r;
    return store_json_int64(o, text, "size", &l->size);
}

int store_layer_from_json(const char *text, size_t len, struct layer *ret, struct berr *err)
{
    memset(ret, 0, sizeof(*ret));
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return berr_set(err, 500, EINVAL, "layer.json is not a JSON object");
    }
    int r = layer_fields(o, text, ret);
    cJSON_Delete(o);
    if (r < 0)
        return berr_set(err, 500, EINVAL, "layer.json has a missing or malformed field");
    if (!store_layer_chain_ok(ret))
        return berr_set(err, 500, EINVAL, "layer.json: chain id %s does not follow from %s + %s",
                        ret->chain_id, ret->parent[0] ? ret->parent : "(base)", ret->diff_id);
    return 0;
}

/* chain = diff for a base layer, sha256(parent + " " + diff) otherwise. */
bool store_layer_chain_ok(const struct layer *l)
{
    if (!store_id_valid(l->chain_id) || !store_id_valid(l->diff_id) ||
        (l->parent[0] && !store_id_valid(l->parent)))
        return false;
    char chain[DIGEST_STR_MAX];
    digest_chain_id(l->parent, l->diff_id, chain);
    return strcmp(chain, l->chain_id) == 0;
}

/* ---- table (loop) ---- */

int store_layer_table_add(struct store *s, const struct layer *l)
{
    if (map_get(&s->layers, l->chain_id))
        return 0;
    struct layer *copy = malloc(sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    *copy = *l;
    copy->refs = 0;
    if (map_put(&s->layers, copy->chain_id, copy) < 0) {
        free(copy);
        return -ENOMEM;
    }
    return 0;
}

int store_layer_insert(struct store *s, const struct layer *l)
{
    if (!store_layer_chain_ok(l))
        return -EINVAL;
    return store_layer_table_add(s, l);
}

void store_layer_forget(struct store *s, const char *chain_id)
{
    struct layer *l = map_get(&s->layers, chain_id);
    if (!l || l->refs > 0) /* still used by an image: keep the table consistent */
        return;
    map_del(&s->layers, chain_id);
    free(l);
}

/* ---- disk (workers) ---- */

static int write_layer_json(const char *tmp_dir, const struct layer *l, struct berr *err)
{
    char path[STORE_PATH_MAX];
    snprintf(path, sizeof(path), "%s/layer.json", tmp_dir);
    char *text = store_layer_to_json(l);
    if (!text)
        return berr_set(err, 500, ENOMEM, "out of memory");
    /* Temp file, fsync, rename and fsync of tmp_dir: whole before it moves. */
    int r = atomic_write_file(path, text, strlen(text), 0600, err);
    free(text);
    return r;
}

int store_layer_commit_sync(const struct store *s, const char *tmp_dir, const struct layer *l,
                            struct berr *err)
{
    if (!store_layer_chain_ok(l))
        return berr_set(err, 500, EINVAL, "layer %s: inconsistent chain id", l->chain_id);
    char path[STORE_PATH_MAX];
    snprintf(path, sizeof(path), "%s/diff", tmp_dir);
    if (!fs_is_dir(path))
        return berr_set(err, 500, ENOENT, "layer %s: '%s' is not a directory", l->chain_id, path);
    int r = write_layer_json(tmp_dir, l, err);
    if (r < 0)
        return r;
    store_layer_dir(s, l->chain_id, path, sizeof(path));
    if (rename(tmp_dir, path) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY)
            return berr_errno(err, 500, errno, "register layer %s", l->chain_id);
        /* Another pull registered it first: theirs is as good as ours. A
         * failed removal is left to the tmp/ sweep at the next start. */
        (void)fs_rm_rf(tmp_dir);
        return 0;
    }
    store_path(s, path, sizeof(path), "layers");
    r = fs_fsync_dir(path);
    if (r < 0)
        return berr_errno(err, 500, -r, "sync '%s'", path);
    return 0;
}

int store_layer_remove_sync(const struct store *s, const char *chain_id, struct berr *err)
{
    char dir[STORE_PATH_MAX], tmp[STORE_PATH_MAX], layers[STORE_PATH_MAX];
    store_layer_dir(s, chain_id, dir, sizeof(dir));
    store_tmp_path(s, "rm-layer", tmp, sizeof(tmp));
    /* Out of layers/ in one step, so a crash never leaves a half-deleted
     * layer that looks registered; tmp/ is swept at the next start. */
    if (rename(dir, tmp) < 0)
        return errno == ENOENT ? 0 : berr_errno(err, 500, errno, "remove layer %s", chain_id);
    store_path(s, layers, sizeof(layers), "layers");
    int r = fs_fsync_dir(layers);
    if (r < 0)
        return berr_errno(err, 500, -r, "sync '%s'", layers);
    r = fs_rm_rf(tmp);
    if (r < 0)
        return berr_errno(err, 500, -r, "remove '%s'", tmp);
    return 0;
}

bool store_blob_unused(const struct store *s, const char *digest)
{
    void *v;
    for (size_t it = 0; map_next(&s->layers, &it, NULL, &v);) {
        if (strcmp(((const struct layer *)v)->blob_digest, digest) == 0)
            return false;
    }
    return true;
}

int store_blob_remove_sync(const struct store *s, const char *digest, struct berr *err)
{
    char path[STORE_PATH_MAX];
    store_blob_path(s, digest, path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
        return berr_errno(err, 500, errno, "remove blob %s", digest);
    return 0;
}
